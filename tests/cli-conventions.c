/* Groups 10 and 11 of the command-line tests. 10: the conventions a user expects. --version; mrigan help CMD;
 * --opt=value as well as --opt value; a mistyped command or option suggests the closest one; every help line aligned;
 * --resume extends a run's schedule with --epochs, and refuses a shorter one; --log-every lines when stderr is piped.
 * 11: small run folders: epoch snapshots hold the generators only; mrigan export writes one or both of them, as
 * float32 (translating exactly as the checkpoint) or float16 (the weights rounded to binary16, half the size). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mrigan/dist.h"

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
    char *version = (char *)read_file(tp(".stdout"), NULL);
    CHECK(rc == 0 && version && strstr(version, mg_dist_built() ? "over MPI" : "built without MPI"),
          "--version: exit %d, says whether it trains over MPI: %s", rc, version ? version : "");
    free(version);
    /* Started by an MPI launcher as one of two processes, a build without MPI says so rather than training twice
     * into one folder (a build with MPI would start MPI here: the suite mpi runs it under a real launcher). */
    if (!mg_dist_built()) {
        setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
        rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("X-mpi"), NULL);
        unsetenv("OMPI_COMM_WORLD_SIZE");
        CHECK(rc == 1 && err_has("one of 2 processes") && err_has("built without MPI") && !exists(tp("X-mpi")),
              "a build without MPI under a launcher of 2: exit %d, saying why, nothing written", rc);
    }
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
    char *config = (char *)read_file("X1/config.txt", NULL); /* what mrigan pick and the report read */
    CHECK(config && strstr(config, "\nepochs=2\n"), "config.txt after --resume --epochs 2:\n%s", config);
    free(config);
    rc = mrigan("train", "--resume", "X1", "--epochs", "1", NULL);
    config = (char *)read_file("X1/config.txt", NULL);
    CHECK(rc == 2 && err_has("has done 2 epochs") && ckpt_long("X1/latest.ckpt", "run.epochs") == 2 && config &&
              strstr(config, "\nepochs=2\n"),
          "--resume --epochs 1 after 2: exit %d", rc);
    free(config);
    /* on a terminal (script(1) gives the command one): translate and eval draw a bar with an ETA, train its bar with
     * the ETA of --max-iterations; piped, translate prints no bar */
    const char *root = getenv("MRIGAN_SOURCE_DIR");
#ifdef MRIGAN_SOURCE_DIR
    if (!root)
        root = MRIGAN_SOURCE_DIR;
#endif
    char vol[PATH_MAX / 2], sh[4 * PATH_MAX];
    snprintf(vol, sizeof vol, "%s/../shared/data/paired/mni152/nifti/MNI152_T1_2mm.nii.gz", root ? root : ".");
    if (access("/usr/bin/script", X_OK) == 0 && access(vol, R_OK) == 0) {
        snprintf(sh, sizeof sh,
                 "/usr/bin/script -qec \"'%s' translate --checkpoint X1/latest.ckpt --direction a2b --out XV "
                 "--threads 1 '%s'\" '%s' > /dev/null",
                 mrigan_bin, vol, tp("tty-translate.txt"));
        rc = system(sh);
        char *tty = (char *)read_file(tp("tty-translate.txt"), NULL);
        CHECK(rc == 0 && tty && strstr(tty, "mrigan translate [") && strstr(tty, "ETA") && strstr(tty, "slice"),
              "translate on a terminal: exit %d, no progress bar with an ETA", rc);
        free(tty);
        snprintf(sh, sizeof sh,
                 "/usr/bin/script -qec \"'%s' train --resume X1 --epochs 4 --max-iterations 6 --threads 1\" '%s' > "
                 "/dev/null",
                 mrigan_bin, tp("tty-train.txt"));
        rc = system(sh);
        tty = (char *)read_file(tp("tty-train.txt"), NULL);
        CHECK(rc == 0 && tty && strstr(tty, "it/s  ETA"), "train on a terminal: exit %d, no progress bar", rc);
        free(tty);
    } else {
        printf("skip the terminal checks: no /usr/bin/script or no %s\n", vol);
    }
    rc = mrigan("translate", "--checkpoint", "X1/latest.ckpt", "--direction", "a2b", "--out", "XV2", tp("P/T1"),
                ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0 && !err_has("[") && !err_has("ETA"), "translate piped: exit %d, a progress bar", rc);
    /* without --a and --b: the embedded phantom, validated on its own pairs */
    rc = mrigan("train", "--out", "X2", "--size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "1", "--epochs-decay",
                "0", "--threads", THREADS, "--backend", "cpu", NULL);
    CHECK(rc == 0 && exists("X2/val.csv") && exists("X2/best.ckpt") && exists("X2/samples/val_epoch_001.png") &&
              err_has("validation (paired)"),
          "the phantom run validates on its pairs: exit %d", rc);
    rc = mrigan("train", "--resume", "X1", "--size", "64", NULL);
    CHECK(rc == 2 && err_has("--size cannot be combined with --resume"), "--resume --size: exit %d", rc);
}

/* Whether a checkpoint has an entry whose name starts with prefix (the name follows its 2-byte length). */
static bool ckpt_has_prefix(const char *path, const char *prefix)
{
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    bool found = false;
    for (size_t i = 2; b && !found && i + strlen(prefix) <= n; i++)
        found = b[i - 2] > 0 && b[i - 1] == 0 && !memcmp(b + i, prefix, strlen(prefix));
    free(b);
    return found;
}

void test_export(void)
{
    /* X1 is group 10's run: two epochs, snapshots epoch_002.ckpt */
    CHECK(ckpt_has_prefix("X1/latest.ckpt", "D_A.") && ckpt_has_prefix("X1/epoch_002.ckpt", "G_BA.") &&
              !ckpt_has_prefix("X1/epoch_002.ckpt", "D_A.") && !ckpt_has_prefix("X1/epoch_002.ckpt", "opt_G"),
          "epoch snapshots hold the generators, latest.ckpt everything");
    int rc = mrigan("export", "--checkpoint", "X1/latest.ckpt", "--out", "X1/model.ckpt", NULL);
    CHECK(rc == 0 && err_has("MB"), "export: exit %d", rc);
    rc = mrigan("export", "--checkpoint", "X1/latest.ckpt", "--out", "X1/model16.ckpt", "--float16", "--direction",
                "a2b", NULL);
    CHECK(rc == 0, "export --float16 --direction a2b: exit %d", rc);
    rc = mrigan("export", "--checkpoint", "X1/latest.ckpt", "--out", "X1/latest.ckpt", NULL);
    CHECK(rc == 2 && err_has("the checkpoint itself"), "export onto its input: exit %d", rc);
    size_t n32 = 0, n16 = 0, nlatest = 0;
    free(read_file("X1/model.ckpt", &n32));
    free(read_file("X1/model16.ckpt", &n16));
    free(read_file("X1/latest.ckpt", &nlatest));
    CHECK(n32 > 0 && n32 < nlatest / 2 && n16 > 0 && n16 < n32 / 3, "sizes: latest %zu, export %zu, float16 a2b %zu",
          nlatest, n32, n16);
    /* the float32 export translates exactly as the checkpoint; the float16 one as its rounded weights allow */
    for (int k = 0; k < 3; k++) {
        const char *ckpt = k == 0 ? "X1/latest.ckpt" : k == 1 ? "X1/model.ckpt" : "X1/model16.ckpt";
        rc = mrigan("translate", "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("XT%d", k), tp("P/T1"),
                    ARGS_SPLICE, cpu_opts, NULL);
        CHECK(rc == 0, "translate with %s: exit %d", ckpt, rc);
    }
    CHECK(files_equal(tp("XT0/phantom_000.png"), tp("XT1/phantom_000.png")),
          "the float32 export translates differently from its checkpoint");
    CHECK(png_size_is(tp("XT2/phantom_000.png"), 64, 64), "the float16 export's translation");
    rc = mrigan("translate", "--checkpoint", "X1/model16.ckpt", "--direction", "b2a", "--out", tp("XT3"), tp("P/T2"),
                ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has("holds no B->A generator") && !exists(tp("XT3")), "b2a from an a2b export: exit %d", rc);
    rc = mrigan("eval", "--checkpoint", "X1/model16.ckpt", "--a", tp("P/T1"), "--b", tp("P/T2"), ARGS_SPLICE, cpu_opts,
                NULL);
    CHECK(rc == 0 && err_has("scoring a2b only"), "eval of an a2b export, both directions asked: exit %d", rc);
    rc = mrigan("eval", "--checkpoint", "X1/model16.ckpt", "--direction", "b2a", "--a", tp("P/T1"), "--b", tp("P/T2"),
                ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 2 && err_has("holds no B->A generator"), "eval b2a of an a2b export: exit %d", rc);
    rc = mrigan("train", "--resume", "X1", "--epochs", "3", NULL);
    CHECK(rc == 0, "the run still resumes after the exports: exit %d", rc);
}

/* The line of JSON row (direction, method, seed; seed < 0: any) in a bench quality file, as a new string; NULL when
 * none. */
static char *json_row_of(const char *json, const char *dir, const char *method, int seed)
{
    char want[128], want_seed[32];
    snprintf(want, sizeof want, "\"direction\": \"%s\", \"method\": \"%s\"", dir, method);
    snprintf(want_seed, sizeof want_seed, "\"seed\": %d,", seed);
    for (const char *p = json; p && (p = strstr(p, "{\"set\"")); p++) {
        size_t len = strcspn(p, "\n");
        char *line = strndup(p, len);
        if (line && strstr(line, want) && (seed < 0 || strstr(line, want_seed)))
            return line;
        free(line);
    }
    return NULL;
}

/* The JSON row of direction dir and method on the held-out pairs (held) or the training slices; NULL when absent. */
static char *json_row_split(const char *json, const char *dir, const char *method, bool held)
{
    char want[128];
    snprintf(want, sizeof want, "\"direction\": \"%s\", \"method\": \"%s\"", dir, method);
    for (const char *p = json; p && (p = strstr(p, "{\"set\"")); p++) {
        char *line = strndup(p, strcspn(p, "\n"));
        if (line && strstr(line, want) && !strstr(line, "\"split\": \"held-out\"") == !held)
            return line;
        free(line);
    }
    return NULL;
}

/* The number after key in text (the first one); NAN when absent. */
static double json_num(const char *text, const char *key)
{
    const char *p = text ? strstr(text, key) : NULL;
    return p ? atof(p + strlen(key)) : NAN;
}

/* mrigan bench quality on the phantom: the baselines' rows (identity as eval --identity scores it, the oracle
 * table above histogram matching above nothing), and with --train a model row, trained on renamed copies. */
void test_bench_quality(void)
{
    char sh[4 * PATH_MAX];
    snprintf(sh, sizeof sh, "'%s' bench quality --sets phantom128 --json '%s' > '%s'", mrigan_bin, tp("q.json"),
             tp("q.txt"));
    int rc = system(sh);
    char *json = (char *)read_file(tp("q.json"), NULL);
    double id = -1, hist = -1, oracle = -1;
    const char *p = json ? strstr(json, "\"method\": \"identity\"") : NULL;
    if (p && (p = strstr(p, "\"ssim\": ")))
        id = atof(p + 8);
    if (json && (p = strstr(json, "\"method\": \"histogram\"")) && (p = strstr(p, "\"ssim\": ")))
        hist = atof(p + 8);
    if (json && (p = strstr(json, "\"method\": \"oracle\"")) && (p = strstr(p, "\"ssim\": ")))
        oracle = atof(p + 8);
    CHECK(rc == 0 && id > 0.1 && hist > 0 && oracle > hist && oracle > id + 0.3,
          "bench quality: exit %d, SSIM identity %g, histogram %g, oracle %g", rc, id, hist, oracle);
    free(json);
    /* the whole-head phantom is rendered into a --bench-out whose parents do not exist yet */
    rc = mrigan("bench", "quality", "--sets", "phantom", "--bench-out", tp("QP/new/quality"), NULL);
    CHECK(rc == 0 && exists(tp("QP/new/quality/phantom-data/T2/phantom_047.png")),
          "bench quality --sets phantom into a new folder: exit %d", rc);
    /* the identity row is what eval --identity measures on the same pairs */
    snprintf(sh, sizeof sh,
             "'%s' eval --identity --direction a2b --a '%s/data/phantom/T1' --b '%s/data/phantom/T2' "
             "--json > '%s'",
             mrigan_bin, MRIGAN_SOURCE_DIR, MRIGAN_SOURCE_DIR, tp("id.json"));
    rc = system(sh);
    json = (char *)read_file(tp("id.json"), NULL);
    double eval_id = -2;
    if (json && (p = strstr(json, "\"ssim\": {\"mean\": ")))
        eval_id = atof(p + strlen("\"ssim\": {\"mean\": "));
    CHECK(rc == 0 && fabs(eval_id - id) < 1e-4, "eval --identity SSIM %g, bench quality's %g", eval_id, id);
    free(json);
    /* clang-format off */
    char *tiny[] = {"--size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "1", "--epochs-decay", "0",
                    "--threads", THREADS, "--backend", "cpu", "--upsample", "resize", "--lambda-structure", "1", NULL};
    /* clang-format on */
    int r2 = mrigan("bench", "quality", "--sets", "phantom128", "--train", "--bench-out", tp("QB"), "--json",
                    tp("qb.json"), ARGS_SPLICE, tiny, NULL);
    CHECK(r2 == 0 && exists(tp("QB/phantom128/A/n_000.png")) && !exists(tp("QB/phantom128/A/phantom_000.png")) &&
              exists(tp("QB/phantom128/run/latest.ckpt")),
          "bench quality --train: exit %d", r2);
    /* the grid: three slices of 128x128, two rows each under 11-pixel labels, four columns */
    CHECK(png_size_is(tp("QB/phantom128/grid.png"), 4 * 128, 6 * (128 + 11)), "bench quality --train: grid.png");
    /* --rescore: the model QB's --train left, scored again without training: the same rows (a translation option
     * left at its default), other rows with --guide-radius 0; the run folder is only read */
    char *config_before = (char *)read_file(tp("QB/phantom128/run/config.txt"), NULL);
    r2 = mrigan("bench", "quality", "--sets", "phantom128", "--rescore", "--bench-out", tp("QB"), "--json",
                tp("qr.json"), "--threads", THREADS, "--backend", "cpu", NULL);
    int r3 = mrigan("bench", "quality", "--sets", "phantom128", "--rescore", "--guide-radius", "0", "--bench-out",
                    tp("QB"), "--json", tp("qr0.json"), "--threads", THREADS, "--backend", "cpu", NULL);
    char *config_after = (char *)read_file(tp("QB/phantom128/run/config.txt"), NULL);
    CHECK(r2 == 0 && r3 == 0 && config_before && config_after && !strcmp(config_before, config_after) &&
              exists(tp("QB/phantom128/grid-rescored.png")),
          "bench quality --rescore: exit %d and %d (--guide-radius 0), config.txt kept, grid-rescored.png", r2, r3);
    char *trained = (char *)read_file(tp("qb.json"), NULL), *rescored = (char *)read_file(tp("qr.json"), NULL),
         *unfiltered = (char *)read_file(tp("qr0.json"), NULL);
    for (int d = 0; d < 2; d++) {
        const char *dir = d ? "b2a" : "a2b";
        char *t = json_row_of(trained, dir, "model", -1), *r = json_row_of(rescored, dir, "model", -1),
             *u = json_row_of(unfiltered, dir, "model", -1);
        const char *wt = t ? strstr(t, "\"whole\"") : NULL, *wr = r ? strstr(r, "\"whole\"") : NULL;
        CHECK(wt && wr && !strncmp(wt, wr, strcspn(wt, "}")) &&
                  json_num(t, "\"iterations\": ") == json_num(r, "\"iterations\": ") &&
                  json_num(t, "\"adversarial\": ") == json_num(r, "\"adversarial\": ") &&
                  json_num(r, "\"train_seconds\": ") == 0,
              "bench quality --rescore: %s should repeat the trained model's scores, iterations and adversarial "
              "loss:\n%s\n%s",
              dir, t, r);
        CHECK(u && json_num(u, "\"ssim\": ") != json_num(r, "\"ssim\": "),
              "bench quality --rescore --guide-radius 0: %s SSIM %g, the same as the filter's %g", dir,
              json_num(u, "\"ssim\": "), json_num(r, "\"ssim\": "));
        free(t);
        free(r);
        free(u);
    }
    free(trained);
    free(rescored);
    free(unfiltered);
    free(config_before);
    free(config_after);
    r2 = mrigan("bench", "quality", "--sets", "phantom128", "--rescore", "--bench-out", tp("QP/new"), NULL);
    CHECK(r2 != 0 && err_has("--rescore") && err_has("QP/new/phantom128/run"),
          "bench quality --rescore where no run was trained: exit %d", r2);
    /* --seeds: each seed's rows are what --seed alone gives (seed 1 is the run above), then their mean and the seed
     * with the lower adversarial loss */
    r2 = mrigan("bench", "quality", "--sets", "phantom128", "--train", "--seeds", "2,1", "--bench-out", tp("QS"),
                "--json", tp("qs.json"), ARGS_SPLICE, tiny, NULL);
    char *one = (char *)read_file(tp("qb.json"), NULL), *many = (char *)read_file(tp("qs.json"), NULL);
    for (int d = 0; d < 2; d++) {
        const char *dir = d ? "b2a" : "a2b";
        char *alone = json_row_of(one, dir, "model", 1), *s1 = json_row_of(many, dir, "model", 1),
             *s2 = json_row_of(many, dir, "model", 2), *mean = json_row_of(many, dir, "mean", -1),
             *pick = json_row_of(many, dir, "pick", -1);
        const char *whole_alone = alone ? strstr(alone, "\"whole\"") : NULL,
                   *whole_s1 = s1 ? strstr(s1, "\"whole\"") : NULL;
        CHECK(r2 == 0 && whole_alone && whole_s1 && !strncmp(whole_alone, whole_s1, strcspn(whole_alone, "}")),
              "bench quality --seeds 2,1: exit %d; %s seed 1 should equal --seed 1's row:\n%s\n%s", r2, dir, alone, s1);
        double m = json_num(mean, "\"ssim\": "), a1 = json_num(s1, "\"ssim\": "), a2 = json_num(s2, "\"ssim\": ");
        CHECK(fabs(m - (a1 + a2) / 2) < 2e-5 && json_num(mean, "\"seeds\": ") == 2,
              "bench quality --seeds: %s mean SSIM %g of %g and %g", dir, m, a1, a2);
        /* the texture ratio: positive for every model (a translation is never flat), the mean the seeds' mean */
        double tm = json_num(mean, "\"texture\": "), t1 = json_num(s1, "\"texture\": "),
               t2 = json_num(s2, "\"texture\": ");
        CHECK(t1 > 0 && t2 > 0 && fabs(tm - (t1 + t2) / 2) < 2e-4,
              "bench quality --seeds: %s mean texture %g of %g and %g", dir, tm, t1, t2);
        double adv1 = json_num(s1, "\"adversarial\": "), adv2 = json_num(s2, "\"adversarial\": ");
        int want = adv1 <= adv2 ? 1 : 2;
        CHECK(json_num(pick, "\"seed\": ") == want && json_num(pick, "\"ssim\": ") == (want == 1 ? a1 : a2),
              "bench quality --seeds: %s pick %s, adversarial %g (seed 1) and %g (seed 2)", dir, pick, adv1, adv2);
        free(alone);
        free(s1);
        free(s2);
        free(mean);
        free(pick);
    }
    free(one);
    free(many);
    CHECK(png_size_is(tp("QS/phantom128/seed-2/grid.png"), 4 * 128, 6 * (128 + 11)), "bench quality --seeds: grid.png");
    /* --holdout 0.25: 6 of the 24 pairs stay out of training (18 copies in A) and are scored apart; the two parts'
     * identity rows average, weighted by their slices, to the whole set's (JSON rounds to 5 digits) */
    r2 = mrigan("bench", "quality", "--sets", "phantom128", "--train", "--holdout", "0.25", "--bench-out", tp("QH"),
                "--json", tp("qh.json"), ARGS_SPLICE, tiny, NULL);
    char *hj = (char *)read_file(tp("qh.json"), NULL);
    char *id_train = json_row_split(hj, "a2b", "identity", false),
         *id_held = json_row_split(hj, "a2b", "identity", true), *m_held = json_row_split(hj, "b2a", "model", true);
    double st = json_num(id_train, "\"ssim\": "), s_held = json_num(id_held, "\"ssim\": ");
    CHECK(r2 == 0 && json_num(id_train, "\"slices\": ") == 18 && json_num(id_held, "\"slices\": ") == 6 &&
              json_num(m_held, "\"slices\": ") == 6 && fabs((18 * st + 6 * s_held) / 24 - id) < 2e-5,
          "bench quality --holdout 0.25: exit %d, identity SSIM %g on 18 and %g on 6 (all 24: %g), held model %s", r2,
          st, s_held, id, m_held);
    CHECK(exists(tp("QH/phantom128/A/n_017.png")) && !exists(tp("QH/phantom128/A/n_018.png")) &&
              exists(tp("QH/phantom128/B/n_017.png")) && !exists(tp("QH/phantom128/B/n_018.png")) &&
              png_size_is(tp("QH/phantom128/grid-held-out.png"), 4 * 128, 6 * (128 + 11)),
          "bench quality --holdout 0.25: 18 training copies a domain and the held-out grid");
    free(id_train);
    free(id_held);
    free(m_held);
    free(hj);
    r2 = mrigan("bench", "quality", "--sets", "phantom128", "--holdout", "0.95", NULL);
    CHECK(r2 == 2 && err_has("holdout"), "bench quality --holdout 0.95: exit %d", r2);
    r2 = mrigan("bench", "quality", "--sets", "phantom128", "--train", "--seeds", "1,1", NULL);
    CHECK(r2 == 2 && err_has("seed 1 twice"), "bench quality --seeds 1,1: exit %d", r2);
    r2 = mrigan("bench", "quality", "--sets", "phantom128", "--train", "--seeds", "1,2", "--seed", "3", NULL);
    CHECK(r2 == 2 && err_has("instead of --seed"), "bench quality --seeds with --seed: exit %d", r2);
    r2 = mrigan("bench", "quality", "--sets", "phantom128", "--a", "x", NULL);
    CHECK(r2 == 2 && err_has("the benchmark's own"), "bench quality --a: exit %d", r2);
    r2 = mrigan("bench", "quality", "--sets", "phantom128,nowhere", NULL);
    CHECK(r2 == 2 && err_has("'nowhere'"), "bench quality --sets nowhere: exit %d", r2);
}
