/* Group 10 of the command-line tests: the conventions a user expects. --version; mrigan help CMD; --opt=value as
 * well as --opt value; a mistyped command or option suggests the closest one; every help line aligned; --resume
 * extends a run's schedule with --epochs, and refuses a shorter one; --log-every lines when stderr is piped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char *small[] = {"--size", "32", "--ngf", "4", "--ndf", "4", "--backend", "cpu", "--threads", THREADS, NULL};

/* Every "  --option ..." line of a command's help starts its text in one column (or wraps it to the next line). */
static bool help_aligned(const char *cmd, char *why, size_t len)
{
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", tp("help-%s.txt", cmd));
    char sh[4 * PATH_MAX];
    snprintf(sh, sizeof sh, "'%s' %s --help > '%s'", mrigan_bin, cmd, out);
    if (system(sh) != 0)
        return snprintf(why, len, "%s --help failed", cmd), false;
    char *text = (char *)read_file(out, NULL);
    int column = -1, lines = 0;
    bool ok = text != NULL;
    for (char *line = text; ok && line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        if (!strncmp(line, "  --", 4)) {
            char *gap = strstr(line + 4, "  ");
            lines++;
            if (gap) { /* the text starts after the run of spaces */
                int col = (int)(gap - line) + (int)strspn(gap, " ");
                if (column < 0)
                    column = col;
                if (col != column)
                    ok = false,
                    snprintf(why, len, "%s --help: '%s' starts at column %d, not %d", cmd, line, col, column);
            }
        }
        line = end ? end + 1 : NULL;
    }
    if (ok && lines < 1)
        ok = false, snprintf(why, len, "%s --help: %d option lines", cmd, lines);
    free(text);
    return ok;
}

void test_conventions(void)
{
    int rc = mrigan("--version", NULL);
    CHECK(rc == 0, "--version: exit %d", rc);
    rc = mrigan("help", "translate", NULL);
    CHECK(rc == 0, "mrigan help translate: exit %d", rc);
    rc = mrigan("help", "tranlsate", NULL);
    CHECK(rc == 2 && err_has("did you mean 'translate'"), "mrigan help tranlsate: exit %d", rc);
    rc = mrigan("evl", NULL);
    CHECK(rc == 2 && err_has("did you mean 'eval'"), "mrigan evl: exit %d", rc);
    rc = mrigan("train", "--lamda-cycle", "5", NULL);
    CHECK(rc == 2 && err_has("did you mean '--lambda-cycle'"), "--lamda-cycle: exit %d", rc);
    rc = mrigan("eval", "--jsn", NULL);
    CHECK(rc == 2 && err_has("did you mean '--json'"), "eval --jsn: exit %d", rc);
    rc = mrigan("train", "--frobnicate", NULL);
    CHECK(rc == 2 && err_has("unknown option '--frobnicate'") && !err_has("did you mean"),
          "a word far from every option gets no suggestion: exit %d", rc);
    static const char *const cmds[] = {"train", "translate", "eval", "report", "phantom", "bench"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char why[400];
        CHECK(help_aligned(cmds[i], why, sizeof why), "%s", why);
    }

    /* --opt=value and --opt value; piped stderr gets a line every --log-every iterations */
    rc = mrigan("train", "--a", tp("P/T1"), "--b=" /* joined */, NULL);
    CHECK(rc != 0, "--b= with an empty value: exit %d", rc);
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"),
                "--out="
                "X1",
                "--epochs=1", "--epochs-decay", "0", "--log-every=4", ARGS_SPLICE, small, NULL);
    REQUIRE(rc == 0, "train with --opt=value options: exit %d", rc);
    int lines = 0;
    for (const char *p = last_err; p && (p = strstr(p, "iteration ")); p++)
        lines++;
    CHECK(lines == PHANTOM_COUNT / 4, "--log-every 4 over %d iterations: %d progress lines", PHANTOM_COUNT, lines);

    /* --resume --epochs: the finished run goes on for one more epoch; a shorter schedule is refused */
    rc = mrigan("train", "--resume", "X1", "--epochs", "2", ARGS_SPLICE, (char *[]){"--threads", THREADS, NULL}, NULL);
    CHECK(rc == 0 && err_has("schedule is now 2 + 0") && ckpt_long("X1/latest.ckpt", "run.epoch") == 3 &&
              ckpt_long("X1/latest.ckpt", "run.epochs") == 2 && exists("X1/epoch_002.ckpt"),
          "--resume --epochs 2: exit %d, run.epoch %ld", rc, ckpt_long("X1/latest.ckpt", "run.epoch"));
    rc = mrigan("train", "--resume", "X1", "--epochs", "1", NULL);
    CHECK(rc == 2 && err_has("has done 2 epochs") && ckpt_long("X1/latest.ckpt", "run.epochs") == 2,
          "--resume --epochs 1 after 2: exit %d", rc);
    rc = mrigan("train", "--resume", "X1", "--size", "64", NULL);
    CHECK(rc == 2 && err_has("--size cannot be combined with --resume"), "--resume --size: exit %d", rc);
}
