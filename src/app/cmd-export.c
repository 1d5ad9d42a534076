/* mrigan export: a translation-only model file from a training checkpoint: the generators of one or both
 * directions, optionally as float16 (mg_cyclegan_export). translate and eval read it like any checkpoint. */
#include <stdio.h>
#include <sys/stat.h>

#include "app-util.h"
#include "commands.h"
#include "mrigan/cyclegan.h"
#include "options.h"

static long export_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

int cmd_export(int argc, char **argv)
{
    const char *checkpoint = NULL, *out = NULL;
    int direction = 2;
    bool half = false;
    app_option table[] = {
        APP_FILE("checkpoint", &checkpoint, "checkpoint of a training run (latest.ckpt, best.ckpt, epoch_NNN.ckpt)"),
        APP_FILE("out", &out, "the model file to write"),
        APP_CHOICE("direction", &direction, "a2b|b2a|both", "which generators to keep (default both)"),
        APP_FLAG("float16", &half, true, "store the weights as float16: half the size"),
    };
    const int n_opts = sizeof table / sizeof *table;
    int n_pos = 0;
    app_parse_result pr = app_parse("export", argc, argv, table, n_opts, NULL, 0, &n_pos);
    if (pr == APP_PARSE_HELP) {
        printf("usage: mrigan export --checkpoint FILE --out FILE [--direction a2b|b2a|both] [--float16]\n\n"
               "Writes what translation needs of a training checkpoint: its configuration and the generators of\n"
               "the chosen directions, without discriminators, optimiser state or history pools. --float16\n"
               "halves the file again (translations then differ from the float32 model's by float16's rounding\n"
               "of the weights). mrigan translate and eval read the file like any checkpoint.\n\n");
        app_print_options(table, n_opts);
        return 0;
    }
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (!checkpoint || !out) {
        fprintf(stderr, "mrigan export: needs --checkpoint FILE and --out FILE (see mrigan export --help)\n");
        return 2;
    }
    app_inputs in = {0};
    int rc = app_inputs_add(&in, checkpoint);
    if (!rc && app_inputs_has(&in, out))
        rc = (fprintf(stderr, "mrigan export: --out %s is the checkpoint itself; choose another file\n", out), 2);
    app_inputs_free(&in);
    if (rc)
        return rc;
    mg_backend *be = NULL;
    mg_cyclegan m = {0};
    if (mg_backend_open("cpu", -1, 1, &be) != MG_OK) /* the weights only pass through host memory */
        return fprintf(stderr, "mrigan export: %s\n", mg_last_error()), 1;
    if (mg_cyclegan_open(checkpoint, be, &m) != MG_OK) {
        fprintf(stderr, "mrigan export: %s: %s\n", checkpoint, mg_last_error());
        mg_backend_free(be);
        return 1;
    }
    const unsigned dirs = direction == 2 ? 3u : direction == 0 ? 1u : 2u;
    if (mg_cyclegan_export(&m, out, dirs, half, app_base_name(checkpoint)) != MG_OK)
        rc = (fprintf(stderr, "mrigan export: %s\n", mg_last_error()), 1);
    else
        fprintf(stderr, "mrigan export: %s (%s%s): %.1f MB, from %s (%.1f MB)\n", out,
                direction == 2 ? "A->B and B->A"
                : direction    ? "B->A"
                               : "A->B",
                half ? ", float16" : "", export_file_size(out) / 1e6, checkpoint, export_file_size(checkpoint) / 1e6);
    mg_cyclegan_free(&m);
    mg_backend_free(be);
    return rc;
}
