/* Fuzzes the option parser of the subcommands, app_parse (src/app/options.c), with argument vectors that
 * cover every kind of option: it is the first code to see a user's command line, and each subcommand's
 * settings are only as sound as the ranges and choices it enforces. The input is split into arguments at
 * NUL bytes. Error messages go to stderr; tools/fuzz.sh runs with -close_fd_mask=2 to drop them. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/options.h"
#include "mrigan/trainer.h"

#define FUZZ_MAX_ARGS       64
#define FUZZ_MAX_POSITIONAL 2

typedef struct fuzz_settings {
    int count, mode;
    float rate;
    const char *dir, *file;
    bool verbose, flip;
} fuzz_settings;

/* After a successful parse every value must be one the table allows: the parser is what keeps the
 * subcommands' settings in range. */
static void fuzz_check_settings(const fuzz_settings *v, const app_option *table, const char *buf, size_t len)
{
    bool ok = v->count >= table[0].lo && v->count <= table[0].hi && v->rate >= table[1].lo && v->rate <= table[1].hi &&
              v->mode >= 0 && v->mode < mg_setting_choice_count(table[4].choices);
    /* a string value is an argument itself or follows its '=' */
    ok = ok && (!v->dir || (v->dir >= buf && v->dir < buf + len));
    ok = ok && (!v->file || (v->file >= buf && v->file < buf + len));
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1); /* the arguments, each NUL-terminated in place */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[FUZZ_MAX_ARGS] = {"fuzz"}; /* argv[0] is the subcommand */
    int argc = 1;
    for (char *p = buf; p < buf + size && argc < FUZZ_MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;

    fuzz_settings v = {.count = 1, .rate = 0.5f, .flip = true};
    /* fuzz_check_settings and the choice name below rely on this order */
    app_option table[] = {
        APP_INT("count", &v.count, -5, 1000, "an integer with a range"),
        APP_FLOAT("rate", &v.rate, 0, 1, "a number with a range"),
        APP_STRING("dir", &v.dir, "a string"),
        APP_FILE("file", &v.file, "a file"),
        APP_CHOICE("mode", &v.mode, "a|b|c", "a choice"),
        APP_FLAG("verbose", &v.verbose, true, "a flag"),
        APP_FLAG("no-flip", &v.flip, false, "a negated flag"),
    };
    const int n_opts = (int)(sizeof table / sizeof table[0]);
    const char *positional[FUZZ_MAX_POSITIONAL] = {0};
    int n_positional = -1;
    app_parse_result r = app_parse("fuzz", argc, argv, table, n_opts, positional, FUZZ_MAX_POSITIONAL, &n_positional);
    if (n_positional < 0 || n_positional > FUZZ_MAX_POSITIONAL)
        abort();
    if (r == APP_PARSE_OK) {
        fuzz_check_settings(&v, table, buf, size + 1);
        char name[16];
        (void)mg_setting_choice_name(table[4].choices, v.mode, name, sizeof name);
    }
    free(buf);
    return 0;
}
