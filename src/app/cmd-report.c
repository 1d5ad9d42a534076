/* mrigan report: writes the HTML report of a training run folder (report.h): configuration, loss and validation
 * curves, the chosen checkpoint, timings and sample grids in one self-contained file that a browser opens from
 * disk. mrigan train rewrites RUN_DIR/report.html after every epoch; this command (re)builds it on demand, for
 * example for a run made before reports existed. */
#include <stdio.h>

#include "base/file.h"
#include "commands.h"
#include "options.h"
#include "report.h"

int cmd_report(int argc, char **argv)
{
    const char *out = NULL, *pos[1];
    int n_pos = 0;
    app_option table[] = {
        APP_FILE("out", &out, "write the report here (default: RUN_DIR/report.html)"),
    };
    int n_opts = (int)(sizeof table / sizeof *table);
    app_parse_result pr = app_parse("report", argc, argv, table, n_opts, pos, 1, &n_pos);
    if (pr == APP_PARSE_HELP) {
        printf("usage: mrigan report RUN_DIR [--out FILE]\n"
               "Writes a self-contained HTML report of the training run in RUN_DIR (what mrigan train --out made):\n"
               "configuration, loss and validation curves, the chosen checkpoint, timings and sample grids.\n\n"
               "options:\n");
        app_print_options(table, n_opts);
        return 0;
    }
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (n_pos != 1) {
        fprintf(stderr, "mrigan report: give the run folder (see mrigan report --help)\n");
        return 2;
    }
    char err[1024], where[4200];
    if (report_write_to(pos[0], out, err, sizeof err) != 0) {
        fprintf(stderr, "mrigan report: %s\n", err);
        return 1;
    }
    if (!out && !mg_path_fmt(where, sizeof where, "%s/report.html", pos[0]))
        snprintf(where, sizeof where, "report.html in %.100s", pos[0]);
    printf("mrigan report: wrote %s\n", out ? out : where);
    return 0;
}
