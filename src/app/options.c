/* Option parsing for the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "mrigan/trainer.h"
#include "options.h"

app_option *app_find_option(app_option *opts, int n_opts, const char *name)
{
    for (int i = 0; i < n_opts; i++)
        if (!strcmp(opts[i].name, name))
            return &opts[i];
    return NULL;
}

static int choice_index(const char *choices, const char *value)
{
    size_t len = strlen(value);
    int index = 0;
    for (const char *p = choices; *p; index++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, value, n))
            return index;
        p += n + (bar ? 1 : 0);
    }
    return -1;
}

bool app_parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static bool opt_set(const char *cmd, app_option *o, const char *value)
{
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_INT:
        if (!app_parse_int(value, (long)o->lo, (long)o->hi, (int *)o->target)) {
            fprintf(stderr, "mrigan %s: --%s %s: expected an integer from %.0f to %.0f\n", cmd, o->name, value, o->lo,
                    o->hi);
            return false;
        }
        return true;
    case OPT_FLOAT: {
        double v = strtod(value, &end);
        if (end == value || *end || errno || !(v >= o->lo && v <= o->hi)) {
            fprintf(stderr, "mrigan %s: --%s %s: expected a number from %g to %g\n", cmd, o->name, value, o->lo, o->hi);
            return false;
        }
        *(float *)o->target = (float)v;
        return true;
    }
    case OPT_STRING: *(const char **)o->target = value; return true;
    case OPT_CHOICE: {
        int k = choice_index(o->choices, value);
        if (k < 0) {
            fprintf(stderr, "mrigan %s: --%s %s: expected one of %s\n", cmd, o->name, value, o->choices);
            return false;
        }
        *(int *)o->target = k;
        return true;
    }
    case OPT_FLAG: break;
    }
    return false;
}

app_parse_result app_parse(const char *cmd, int argc, char **argv, app_option *opts, int n_opts,
                           const char **positional, int max_positional, int *n_positional)
{
    *n_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
            return APP_PARSE_HELP;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == 0) {
            if (*n_positional >= max_positional) {
                fprintf(stderr, "mrigan %s: unexpected argument '%s' (see mrigan %s --help)\n", cmd, arg, cmd);
                return APP_PARSE_ERROR;
            }
            positional[(*n_positional)++] = arg;
            continue;
        }
        char name[64];
        const char *eq = strchr(arg + 2, '='), *value = NULL;
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), arg + 2);
        app_option *o = app_find_option(opts, n_opts, name);
        if (!o) {
            const char *names[256];
            int n = 0;
            for (int k = 0; k < n_opts && n < 256; k++)
                names[n++] = opts[k].name;
            const char *near = app_closest(name, names, n);
            if (near)
                fprintf(stderr, "mrigan %s: unknown option '--%s'; did you mean '--%s'? (see mrigan %s --help)\n", cmd,
                        name, near, cmd);
            else
                fprintf(stderr, "mrigan %s: unknown option '--%s' (see mrigan %s --help)\n", cmd, name, cmd);
            return APP_PARSE_ERROR;
        }
        o->seen = true;
        if (o->kind == OPT_FLAG) {
            if (eq) {
                fprintf(stderr, "mrigan %s: --%s takes no value\n", cmd, name);
                return APP_PARSE_ERROR;
            }
            *(bool *)o->target = o->flag_value;
            continue;
        }
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "mrigan %s: --%s needs a value\n", cmd, name);
            return APP_PARSE_ERROR;
        }
        if (!opt_set(cmd, o, value))
            return APP_PARSE_ERROR;
    }
    return APP_PARSE_OK;
}

/* "--name VALUE" as --help shows it. */
static void option_left(const app_option *o, char *left, size_t len)
{
    const char *arg = o->kind == OPT_FLAG     ? ""
                      : o->kind == OPT_CHOICE ? o->choices
                      : o->kind == OPT_STRING ? (o->meta ? o->meta : "DIR")
                                              : "N";
    snprintf(left, len, "--%s%s%s", o->name, *arg ? " " : "", arg);
}

void app_print_options(const app_option *opts, int n_opts)
{
    int width = 0; /* one column for every help text: the longest left side, up to a limit */
    for (int i = 0; i < n_opts; i++) {
        char left[128];
        option_left(&opts[i], left, sizeof left);
        int n = (int)strlen(left);
        width = n > width && n <= APP_HELP_COLUMN ? n : width;
    }
    for (int i = 0; i < n_opts; i++) {
        const app_option *o = &opts[i];
        char left[128];
        option_left(o, left, sizeof left);
        if ((int)strlen(left) > width) /* too long for the column: the help goes on the next line */
            printf("  %s\n  %-*s %s", left, width, "", o->help);
        else
            printf("  %-*s %s", width, left, o->help);
        if (o->def)
            printf(" (default: %s)", o->def);
        printf("\n");
    }
}

/* Edit distance (insertions, deletions, substitutions) between a and b, stopping at 9. */
static int option_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 9;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb] < 9 ? row[lb] : 9;
}

const char *app_closest(const char *word, const char *const *names, int n)
{
    const char *best = NULL;
    int best_d = 9;
    const int allowed = strlen(word) <= 4 ? 1 : strlen(word) <= 8 ? 2 : 3; /* a typo or two, not another word */
    for (int i = 0; i < n; i++) {
        int d = option_distance(word, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best_d <= allowed ? best : NULL;
}

void app_settings_options(mg_train_settings *s, app_option *table, char (*defaults)[32])
{
    static const app_opt_kind kinds[] = {
        [MG_SETTING_INT] = OPT_INT,       [MG_SETTING_FLOAT] = OPT_FLOAT, [MG_SETTING_STRING] = OPT_STRING,
        [MG_SETTING_CHOICE] = OPT_CHOICE, [MG_SETTING_FLAG] = OPT_FLAG,   [MG_SETTING_NOFLAG] = OPT_FLAG};
    mg_train_settings_default(s);
    for (int i = 0; i < MG_SET_COUNT; i++) {
        const mg_setting *d = &mg_settings[i];
        bool shown = (d->kind == MG_SETTING_INT || d->kind == MG_SETTING_FLOAT || d->kind == MG_SETTING_CHOICE) &&
                     (d->kind == MG_SETTING_CHOICE || (d->def >= d->lo && d->def <= d->hi));
        if (shown)
            mg_setting_format(s, (mg_setting_id)i, defaults[i], sizeof defaults[i]);
        table[i] = (app_option){.name = d->option,
                                .kind = kinds[d->kind],
                                .target = mg_setting_field(s, (mg_setting_id)i),
                                .lo = d->lo,
                                .hi = d->hi,
                                .choices = d->choices,
                                .help = d->help,
                                .flag_value = d->kind == MG_SETTING_FLAG,
                                .def = shown ? defaults[i] : NULL};
    }
}
