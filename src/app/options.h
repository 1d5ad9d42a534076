/* A small table-driven parser for subcommand options: "--name value", "--name=value", flags "--name",
 * positional arguments kept in order. Errors name the option and the accepted values. */
#ifndef MRIGAN_APP_OPTIONS_H
#define MRIGAN_APP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "mrigan/trainer.h"

typedef enum app_opt_kind { OPT_INT, OPT_FLOAT, OPT_STRING, OPT_FLAG, OPT_CHOICE } app_opt_kind;

typedef struct app_option {
    const char *name; /* without the leading dashes */
    app_opt_kind kind;
    void *target;        /* int *, float *, const char **, bool * (flags set it to `flag_value`) */
    double lo, hi;       /* range for OPT_INT and OPT_FLOAT */
    const char *choices; /* OPT_CHOICE: "a|b|c"; the target (int *) receives the index */
    const char *help;
    bool seen;        /* set when given on the command line */
    bool flag_value;  /* OPT_FLAG: the value to store (true for --x, false for --no-x) */
    const char *meta; /* OPT_STRING: the value's name in --help (default DIR) */
    const char *def;  /* --help shows "(default: def)" after the help when set */
} app_option;

/* A string option whose value is a file, shown as FILE in --help. */
#define APP_FILE(n, t, text)                                                                                           \
    {                                                                                                                  \
        .name = n, .kind = OPT_STRING, .target = t, .help = text, .meta = "FILE"                                       \
    }

/* Table entries. */
#define APP_INT(n, t, l, h, text)                                                                                      \
    {                                                                                                                  \
        .name = n, .kind = OPT_INT, .target = t, .lo = l, .hi = h, .help = text                                        \
    }
#define APP_FLOAT(n, t, l, h, text)                                                                                    \
    {                                                                                                                  \
        .name = n, .kind = OPT_FLOAT, .target = t, .lo = l, .hi = h, .help = text                                      \
    }
#define APP_STRING(n, t, text)                                                                                         \
    {                                                                                                                  \
        .name = n, .kind = OPT_STRING, .target = t, .help = text                                                       \
    }
#define APP_CHOICE(n, t, c, text)                                                                                      \
    {                                                                                                                  \
        .name = n, .kind = OPT_CHOICE, .target = t, .choices = c, .help = text                                         \
    }
#define APP_FLAG(n, t, v, text)                                                                                        \
    {                                                                                                                  \
        .name = n, .kind = OPT_FLAG, .target = t, .flag_value = v, .help = text                                        \
    }

typedef enum app_parse_result { APP_PARSE_OK, APP_PARSE_HELP, APP_PARSE_ERROR } app_parse_result;

/* Parses argv[1..argc-1] (argv[0] is the subcommand). Positional arguments go to positional (up to
 * max_positional; more is an error). Prints errors to stderr as "mrigan <cmd>: ...". */
app_parse_result app_parse(const char *cmd, int argc, char **argv, app_option *opts, int n_opts,
                           const char **positional, int max_positional, int *n_positional);
/* Prints "  --name VALUE  help" lines, the help texts aligned in one column (an option too long for it gets its
 * help on the next line). */
#define APP_HELP_COLUMN 30
void app_print_options(const app_option *opts, int n_opts);
/* The name among names[0..n) closest to word (a typo or two away), or NULL: the "did you mean" of a mistyped
 * option or command. */
const char *app_closest(const char *word, const char *const *names, int n);
/* A decimal integer in [lo, hi], the whole string; false (and *out untouched) otherwise. */
bool app_parse_int(const char *s, long lo, long hi, int *out);
app_option *app_find_option(app_option *opts, int n_opts, const char *name);

/* The option table of the training settings (mrigan/settings.def): table[i] is setting i, pointing into s (set
 * to the defaults); defaults[i] the default as --help shows it (MG_SET_COUNT of each). mrigan train's options,
 * and those bench quality trains with. */
void app_settings_options(mg_train_settings *s, app_option *table, char (*defaults)[32]);

#endif
