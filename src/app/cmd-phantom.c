/* mrigan phantom: writes a synthetic paired T1/T2 brain slice set (src/data/phantom.c does the work).
 *
 *   mrigan phantom --out DIR [--count N] [--size S] [--seed K] [--noise SIGMA] [--bias B] [--16bit]
 *
 * DIR/T1/phantom_000.png .. and DIR/T2/phantom_000.png .. (same name = same subject and slice), and
 * DIR/phantom.txt describing how the set was made, with this command line in it.
 */
#include "commands.h"
#include "options.h"

#include <mrigan/phantom.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct phantom_opts {
    const char *out;
    int count;
    int bit_depth;
    mg_phantom_config cfg;
} phantom_opts;

static void phantom_usage(FILE *f)
{
    fprintf(f,
            "usage: mrigan phantom --out DIR [--count N] [--size S | --width W --height H] [--seed K] [--noise SIGMA]\n"
            "                      [--bias B] [--16bit]\n"
            "Writes a synthetic paired T1-/T2-weighted axial brain slice set: DIR/T1/phantom_NNN.png and\n"
            "DIR/T2/phantom_NNN.png (the same name is the same subject), and DIR/phantom.txt saying how.\n"
            "  --out DIR      output folder, created if missing (required)\n"
            "  --count N      number of subjects, 1 to %d (default 24)\n"
            "  --size S       image side in pixels, a multiple of 4 from %d to %d (default 128)\n"
            "  --width W      images of width W instead of --size (with --height; same range, any side)\n"
            "  --height H     images of height H instead of --size (with --width; square pixels)\n"
            "  --seed K       seed, 0 to 2^64-1 (default 1); subject k is the same whatever --count is\n"
            "  --noise SIGMA  Rician noise relative to the largest signal, 0 to %g (default 0.02)\n"
            "  --bias B       bias field strength (log amplitude), 0 to %g (default 0.1)\n"
            "  --16bit        16-bit PNGs (default 8-bit)\n"
            "  --help         this text\n",
            MG_PHANTOM_MAX_COUNT, MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE, (double)MG_PHANTOM_MAX_NOISE,
            (double)MG_PHANTOM_MAX_BIAS);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9') /* strtoull would take "-1" */
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = (uint64_t)v;
    return true;
}

static bool parse_float(const char *s, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return false;
    *out = (float)v;
    return true;
}

/* Returns -1 to go on, else the exit status. */
static int phantom_parse(int argc, char **argv, phantom_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, takes_value = true;
        char range[96] = "";
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            phantom_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--16bit")) {
            o->bit_depth = 16;
            takes_value = false;
        } else if (!strcmp(a, "--out")) {
            ok = v && *v;
            o->out = v;
            snprintf(range, sizeof range, "a folder name");
        } else if (!strcmp(a, "--count")) {
            ok = v && app_parse_int(v, 1, MG_PHANTOM_MAX_COUNT, &o->count);
            snprintf(range, sizeof range, "an integer from 1 to %d", MG_PHANTOM_MAX_COUNT);
        } else if (!strcmp(a, "--size")) {
            ok = v && app_parse_int(v, MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE, &o->cfg.size) && o->cfg.size % 4 == 0;
            snprintf(range, sizeof range, "a multiple of 4 from %d to %d", MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE);
        } else if (!strcmp(a, "--width") || !strcmp(a, "--height")) {
            ok = v && app_parse_int(v, MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE,
                                    a[2] == 'w' ? &o->cfg.width : &o->cfg.height);
            snprintf(range, sizeof range, "an integer from %d to %d", MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE);
        } else if (!strcmp(a, "--seed")) {
            ok = v && parse_u64(v, &o->cfg.seed);
            snprintf(range, sizeof range, "an integer from 0 to 18446744073709551615");
        } else if (!strcmp(a, "--noise")) {
            ok = v && parse_float(v, 0.0f, MG_PHANTOM_MAX_NOISE, &o->cfg.noise);
            snprintf(range, sizeof range, "a number from 0 to %g", (double)MG_PHANTOM_MAX_NOISE);
        } else if (!strcmp(a, "--bias")) {
            ok = v && parse_float(v, 0.0f, MG_PHANTOM_MAX_BIAS, &o->cfg.bias);
            snprintf(range, sizeof range, "a number from 0 to %g", (double)MG_PHANTOM_MAX_BIAS);
        } else {
            fprintf(stderr, "mrigan phantom: unknown option '%s' (see mrigan phantom --help)\n", a);
            return 2;
        }
        if (!ok) {
            if (v)
                fprintf(stderr, "mrigan phantom: %s needs %s, not '%s'\n", a, range, v);
            else
                fprintf(stderr, "mrigan phantom: %s needs %s\n", a, range);
            return 2;
        }
        i += takes_value;
    }
    if (!o->out) {
        fprintf(stderr, "mrigan phantom: --out DIR is required (see mrigan phantom --help)\n");
        return 2;
    }
    return -1;
}

/* "mrigan phantom --out x ..." with arguments that need it in single quotes, for phantom.txt. */
static char *command_line(int argc, char **argv)
{
    size_t n = strlen("mrigan") + 1;
    for (int i = 0; i < argc; i++)
        n += 4 * strlen(argv[i]) + 3;
    char *s = malloc(n), *p = s;
    if (!s)
        return NULL;
    p += sprintf(p, "mrigan");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool plain = *a != '\0';
        for (const char *c = a; *c && plain; c++)
            plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=+,:@", *c) != NULL;
        *p++ = ' ';
        if (plain) {
            p += sprintf(p, "%s", a);
            continue;
        }
        *p++ = '\'';
        for (const char *c = a; *c; c++)
            p += *c == '\'' ? sprintf(p, "'\\''") : sprintf(p, "%c", *c);
        *p++ = '\'';
        *p = '\0';
    }
    return s;
}

int cmd_phantom(int argc, char **argv)
{
    phantom_opts o = {.count = 24, .bit_depth = 8};
    mg_phantom_config_default(&o.cfg);
    int rc = phantom_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char *cmd = command_line(argc, argv);
    if (!cmd) {
        fprintf(stderr, "mrigan phantom: out of memory\n");
        return 1;
    }
    if ((o.cfg.width > 0) != (o.cfg.height > 0)) {
        free(cmd);
        fprintf(stderr, "mrigan phantom: give both --width and --height, or neither\n");
        return 2;
    }
    mg_status st = mg_phantom_write(o.out, &o.cfg, o.count, o.bit_depth, cmd);
    free(cmd);
    if (st != MG_OK) {
        const char *msg = mg_last_error(); /* the library's messages start with "phantom: ", png-io's do not */
        fprintf(stderr, "mrigan %s%s\n", strncmp(msg, "phantom: ", 9) ? "phantom: " : "", msg);
        return 1;
    }
    printf("mrigan phantom: wrote %d T1/T2 pair%s of %dx%d (%d-bit, seed %llu) to %s/T1 and %s/T2; how they were "
           "made: %s/phantom.txt\n",
           o.count, o.count == 1 ? "" : "s", o.cfg.width > 0 ? o.cfg.width : o.cfg.size,
           o.cfg.height > 0 ? o.cfg.height : o.cfg.size, o.bit_depth, (unsigned long long)o.cfg.seed, o.out, o.out,
           o.out);
    return 0;
}
