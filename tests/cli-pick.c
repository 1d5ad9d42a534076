/* Group 13 of the command-line tests (see test-cli.c): mrigan pick names, of runs that differ in seed only, the one
 * with the lowest final adversarial loss, computed here from epochs.csv independently of the program; it refuses
 * unfinished runs, runs of another recipe, damaged losses and folders that hold no run, and writes nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* clang-format off */
static char *pick_opts[] = {"--size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "8", "--epochs-decay", "3",
                            "--lr", "5e-4", "--backend", "cpu", "--threads", THREADS, NULL};
/* clang-format on */

/* adv_AB + adv_BA averaged over the last tenth (at least one) of the epochs in dir/epochs.csv; NAN when unreadable. */
static double final_adversarial(const char *dir)
{
    char *text = (char *)read_file(tp("%s/epochs.csv", dir), NULL);
    if (!text)
        return NAN;
    int col_ab = -1, col_ba = -1, col = 0, n = 0;
    double v[64][2];
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    for (char *c = line; c && *c; col++) { /* the header: which columns hold the adversarial losses */
        size_t len = strcspn(c, ",");
        if (len == 6 && !strncmp(c, "adv_AB", 6))
            col_ab = col;
        if (len == 6 && !strncmp(c, "adv_BA", 6))
            col_ba = col;
        c += len + (c[len] == ',');
    }
    while (col_ab >= 0 && col_ba >= 0 && n < 64 && (line = strtok_r(NULL, "\n", &save))) {
        col = 0;
        for (char *c = line; *c; col++) {
            if (col == col_ab)
                v[n][0] = atof(c);
            if (col == col_ba)
                v[n][1] = atof(c);
            c += strcspn(c, ",");
            c += *c == ',';
        }
        n++;
    }
    free(text);
    if (n == 0)
        return NAN;
    int k = (n + 9) / 10;
    double sum = 0;
    for (int i = n - k; i < n; i++)
        sum += v[i][0] + v[i][1];
    return sum / k;
}

/* A copy of run folder from's config.txt and epochs.csv (all pick reads) in to, with text replaced by with in
 * file name (NULL: no change). */
static bool copy_run(const char *from, const char *to, const char *name, const char *text, const char *with)
{
    mkdir(tp("%s", to), 0777);
    static const char *files[] = {"config.txt", "epochs.csv"};
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        char src[PATH_MAX], dst[PATH_MAX];
        snprintf(src, sizeof src, "%s", tp("%s/%s", from, files[i]));
        snprintf(dst, sizeof dst, "%s", tp("%s/%s", to, files[i]));
        size_t n;
        char *s = (char *)read_file(src, &n);
        char *at = s && name && !strcmp(name, files[i]) ? strstr(s, text) : NULL;
        ok = ok && s && (!name || strcmp(name, files[i]) || at);
        if (ok && at) {
            char *out = malloc(n + strlen(with) + 1);
            size_t head = (size_t)(at - s);
            ok = out != NULL;
            if (ok) {
                memcpy(out, s, head);
                sprintf(out + head, "%s%s", with, at + strlen(text));
                ok = write_file(dst, out, strlen(out));
            }
            free(out);
        } else if (ok) {
            ok = write_file(dst, s, n);
        }
        free(s);
    }
    return ok;
}

/* The stdout of the last command. */
static char *last_stdout(void) { return (char *)read_file(tp(".stdout"), NULL); }

void test_pick(void)
{
    const char *runs[3] = {"S1", "S2", "S3"};
    double score[3];
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        char seed[8];
        snprintf(seed, sizeof seed, "%d", i + 1);
        rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("%s", runs[i]), "--seed", seed,
                    ARGS_SPLICE, pick_opts, NULL);
        score[i] = final_adversarial(runs[i]);
        /* the run names its own score, as pick computes it */
        const char *said = last_err ? strstr(last_err, "final adversarial loss ") : NULL;
        double told = said ? atof(said + strlen("final adversarial loss ")) : NAN;
        CHECK(rc == 0 && isfinite(score[i]) && fabs(told - score[i]) < 1e-4,
              "train %s: exit %d, final adversarial loss %g in epochs.csv, %g said", runs[i], rc, score[i], told);
    }
    REQUIRE(rc == 0, "the three runs are needed");
    int best = 0;
    for (int i = 1; i < 3; i++)
        best = score[i] < score[best] ? i : best;
    int files_before = count_files(tp("S1"));
    /* in either order, a run with the lowest score (seeds tied within the printed precision may be either); each
     * row shows its score, the picked one marked */
    for (int order = 0; order < 2; order++) {
        rc = order ? mrigan("pick", "S3", "S1", "S2", NULL) : mrigan("pick", "S1", "S2", "S3", NULL);
        char *out = last_stdout();
        const char *tail = out ? strstr(out, "pick: ") : NULL;
        int picked = -1;
        for (int i = 0; i < 3 && tail; i++)
            if (!strncmp(tail + 6, runs[i], 2) && tail[8] == '\n' && !tail[9])
                picked = i;
        CHECK(rc == 0 && picked >= 0 && score[picked] - score[best] < 5e-5,
              "pick (order %d): exit %d, want %s (%.5f), printed:\n%s", order, rc, runs[best], score[best],
              out ? out : "(nothing)");
        for (int i = 0; i < 3 && out && picked >= 0; i++) {
            char row[64];
            snprintf(row, sizeof row, "%.4f%s", score[i], i == picked ? "  <- pick" : "\n");
            CHECK(strstr(out, row) != NULL, "pick: no row with %s", row);
        }
        free(out);
    }
    CHECK(count_files(tp("S1")) == files_before, "pick wrote into a run folder");

    /* another recipe, an unfinished run, damaged losses: refused by name */
    REQUIRE(copy_run("S2", "T", "config.txt", "\nngf=4\n", "\nngf=8\n"), "copy S2 to T");
    rc = mrigan("pick", "S1", "T", NULL);
    CHECK(rc == 1 && err_has("--ngf") && err_has("--seed only"), "pick of another width: exit %d", rc);
    const char *last_row = NULL;
    char *epochs = (char *)read_file(tp("S2/epochs.csv"), NULL);
    if (epochs) { /* the last epoch's row, dropped */
        char *end = epochs + strlen(epochs) - 1;
        while (end > epochs && end[-1] != '\n')
            end--;
        last_row = strdup(end);
    }
    free(epochs);
    REQUIRE(last_row && copy_run("S2", "U", "epochs.csv", last_row, ""), "copy S2 to U");
    rc = mrigan("pick", "S1", "U", NULL);
    CHECK(rc == 1 && err_has("10 of 11 epochs") && err_has("--resume"), "pick of an unfinished run: exit %d", rc);
    char nan_row[256];
    snprintf(nan_row, sizeof nan_row, "%s", last_row);
    char *adv = strchr(nan_row, ',');
    for (int c = 1; adv && c < 6; c++) /* epoch,lr,seconds,s_per_iteration,D_A,D_B,adv_AB: the seventh cell */
        adv = strchr(adv + 1, ',');
    if (adv) {
        size_t len = strcspn(adv + 1, ",");
        memmove(adv + 4, adv + 1 + len, strlen(adv + 1 + len) + 1);
        memcpy(adv + 1, "nan", 3);
    }
    REQUIRE(adv && copy_run("S2", "W", "epochs.csv", last_row, nan_row), "copy S2 to W");
    rc = mrigan("pick", "S1", "W", NULL);
    CHECK(rc == 1 && err_has("W/epochs.csv") && err_has("not a number"), "pick of a NaN loss: exit %d", rc);
    free((void *)last_row);

    /* a run made before a setting existed ran with its default; other data paths are noted, not refused */
    REQUIRE(copy_run("S2", "V", "config.txt", "\ncycle_noise=0\n", "\n"), "copy S2 to V");
    rc = mrigan("pick", "S1", "V", NULL);
    CHECK(rc == 0, "pick of a run without cycle_noise in its config.txt: exit %d", rc);
    REQUIRE(copy_run("S2", "X", "config.txt", "\na=", "\na=/elsewhere"), "copy S2 to X");
    rc = mrigan("pick", "S1", "X", NULL);
    CHECK(rc == 0 && err_has("note") && err_has("/elsewhere"), "pick of a run on another --a: exit %d", rc);

    /* a run stopped and resumed compares like any other (its config.txt says the same across the resume) */
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("S4"), "--seed", "4", "--max-iterations",
                "20", ARGS_SPLICE, pick_opts, NULL);
    if (rc == 0)
        rc = mrigan("train", "--resume", tp("S4"), "--threads", THREADS, NULL);
    REQUIRE(rc == 0, "S4, stopped and resumed: exit %d", rc);
    rc = mrigan("pick", "S1", "S4", NULL);
    CHECK(rc == 0, "pick of a resumed run: exit %d", rc);
    REQUIRE(copy_run("S2", "Z", "config.txt", "\nepochs=8\n", "\nepochs=7\n"), "copy S2 to Z");
    rc = mrigan("pick", "S1", "Z", NULL);
    CHECK(rc == 1 && err_has("Z/config.txt") && err_has("epochs.csv holds 11"),
          "pick of a run past its schedule: "
          "exit %d",
          rc);

    rc = mrigan("pick", "S1", "P/T1", NULL);
    CHECK(rc == 1 && err_has("P/T1") && err_has("no training run"), "pick of a slice folder: exit %d", rc);
    rc = mrigan("pick", "S1", NULL);
    CHECK(rc == 2 && err_has("two to 64 run folders"), "pick of one run: exit %d", rc);
}
