/* Groups 7 and 8 of the end-to-end tests: nothing a user has is lost.
 *   7. crafted checkpoints (every run-state and model value out of range, NaN weights, a model of billions of
 *      parameters, weights that make the losses overflow) are refused with a message and leave latest.ckpt as
 *      it was; outputs never replace inputs (train --out on a run, translate --out on its input folder, eval
 *      --csv on an input); --overwrite clears only a run's files; stale temporary files go; one trainer per
 *      folder; a resume survives a lost losses.csv.
 *   8. crash safety: SIGKILL at many points of a run, inside saves and between them (a preloaded fwrite that
 *      kills, kill-at-write.c), leaves a latest.ckpt that loads and loses at most one save interval, and the
 *      resumed run ends exactly where the uninterrupted one does; a write failure (the file size limit, as a
 *      full disk) keeps the previous checkpoint and says so. */
#define _DEFAULT_SOURCE /* flock */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "mrigan/checkpoint.h"
#include "tmpdir.h"

/* A small run, stopped after 3 of its 12 iterations of epoch 1: the checkpoints below are crafted from it. */
static char *small_opts[] = {"--size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "2", "--epochs-decay", "0", NULL};

/* How craft() changes K0/latest.ckpt: a config key set to a value or dropped; or entries changed behind the
 * API's back (mg_ckpt_add refuses NaN): every value of entry key set to a number, its first value NaN or -1,
 * or every entry whose name starts with key reshaped to 1x1x16x64 (the 32x32 crops' 1024 values). */
typedef enum { SET, DROP, FILL, NAN_FIRST, NEGATIVE_FIRST, RESHAPE } craft_mode;

/* K0/latest.ckpt changed as mode says, saved as dir/latest.ckpt beside a copy of losses.csv. */
static bool craft(const char *dir, craft_mode mode, const char *key, const char *value)
{
    mg_ckpt c;
    if (mg_ckpt_load(tp("K0/latest.ckpt"), &c) != MG_OK)
        return false;
    bool ok = mode != SET || mg_ckpt_set(&c, key, value) == MG_OK;
    char *line = mode == DROP ? strstr(c.config, key) : NULL; /* "key=...\n", at the start of a line */
    if (line && (line == c.config || line[-1] == '\n') && line[strlen(key)] == '=')
        memmove(line, strchr(line, '\n') + 1, strlen(strchr(line, '\n') + 1) + 1);
    else
        ok = ok && mode != DROP;
    for (int i = 0; i < c.n_entries; i++) {
        mg_ckpt_entry *e = &c.entries[i];
        bool named = !strcmp(e->name, key);
        for (size_t k = 0; mode == FILL && named && k < e->numel; k++)
            e->data[k] = strtof(value, NULL);
        if (named && (mode == NAN_FIRST || mode == NEGATIVE_FIRST))
            e->data[0] = mode == NAN_FIRST ? NAN : -1.0f;
        if (mode == RESHAPE && !strncmp(e->name, key, strlen(key)) && e->numel == 1024)
            memcpy(e->shape, (const int[]){1, 1, 16, 64}, sizeof(int[4]));
    }
    mkdir(dir, 0777);
    char path[1024];
    snprintf(path, sizeof path, "%s/latest.ckpt", dir);
    ok = ok && mg_ckpt_save(&c, path) == MG_OK && copy_file(tp("K0/losses.csv"), tp("%s/losses.csv", dir));
    mg_ckpt_free(&c);
    return ok;
}

/* Resumes dir and expects exit 1 with needle in the message and latest.ckpt untouched. */
static void expect_refused_resume(const char *dir, const char *what, const char *needle)
{
    size_t n_before;
    unsigned char *before = read_file(tp("%s/latest.ckpt", dir), &n_before);
    int rc = mrigan("train", "--resume", dir, ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has(needle), "--resume with %s: exit %d (want 1, saying '%s')", what, rc, needle);
    size_t n_after;
    unsigned char *after = read_file(tp("%s/latest.ckpt", dir), &n_after);
    CHECK(before && after && n_before == n_after && !memcmp(before, after, n_after),
          "--resume with %s changed latest.ckpt", what);
    free(before);
    free(after);
}

static void test_crafted(void)
{
    static const char *const bad[][3] = {
        {"run.iter_in_epoch", "-1", "run.iter_in_epoch"},
        {"run.iter_in_epoch", "12", "iterations an epoch"},
        {"run.iteration", "9223372036854775000", "run.iteration"},
        {"run.size", "4294967328", "run.size"},
        {"run.epoch", "0", "run.epoch"},
        {"run.epoch", "4", "run.epoch"},
        {"run.best_epoch", "1", "run.best_epoch"},
        {"run.best_score", "nan", "run.best_score"},
        {"run.save_every", "0", "run.save_every"},
        {"run.save_every_iterations", "-1", "run.save_every_iterations"},
        {"run.best_metric", "-1", "run.best_metric"},
        {"run.load_size", "8", "run.load_size"},
        {"lr", "inf", "lr"},
        {"lr", "2", "--lr"},
        {"beta1", "1", "beta1"},
        {"beta2", "nan", "beta2"},
        {"lambda_cycle", "-1", "lambda_cycle"},
        {"pool_size", "-1", "pool_size"},
        {"ngf", "0", "ngf"},
        {"upsample", "bicubic", "upsample"},
        {"pad", "circular", "pad"},
        {"lambda_structure", "-1", "lambda_structure"},
        {"structure_eps", "0", "structure_eps"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char what[128];
        snprintf(what, sizeof what, "%s=%s", bad[i][0], bad[i][1]);
        CHECK(craft("K1", SET, bad[i][0], bad[i][1]), "crafting %s", what);
        expect_refused_resume("K1", what, bad[i][2]);
    }
    /* A losses.csv with the columns of a version without the structure losses: refused, not misread. */
    CHECK(craft("K1", SET, "ngf", "4"), "crafting an unchanged checkpoint");
    char *csv = (char *)read_file(tp("K1/losses.csv"), NULL), *cols = csv ? strstr(csv, ",ngf_AB,ngf_BA") : NULL;
    if (cols)
        memmove(cols, cols + 14, strlen(cols + 14) + 1);
    CHECK(cols && write_file(tp("K1/losses.csv"), csv, strlen(csv)), "writing an older losses.csv");
    free(csv);
    expect_refused_resume("K1", "an older losses.csv", "columns are not this version's");

    /* 20 G parameters from a 600-byte change: refused before anything is allocated. */
    mg_ckpt c;
    bool made = mg_ckpt_load(tp("K0/latest.ckpt"), &c) == MG_OK && mg_ckpt_set(&c, "ngf", "1024") == MG_OK &&
                mg_ckpt_set(&c, "depth", "10") == MG_OK && mg_ckpt_save(&c, tp("giant.ckpt")) == MG_OK;
    mg_ckpt_free(&c);
    int rc = made ? mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("giant.ckpt"), "--direction", "a2b",
                           "--out", tp("K1out"), tp("P/T1"), NULL)
                  : -1;
    CHECK(rc == 1 && err_has("parameter values"), "translate with ngf 1024, depth 10: exit %d", rc);
    CHECK(count_files(tp("K1out")) <= 0, "a refused translate wrote images");

    /* A NaN weight: translate refuses the checkpoint, naming the entry, and writes nothing. */
    CHECK(craft("K2", NAN_FIRST, "G_AB.down1.w", NULL), "crafting a NaN weight");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("K2/latest.ckpt"), "--direction", "a2b", "--out",
                tp("K2out"), tp("P/T1"), NULL);
    CHECK(rc == 1 && err_has("G_AB.down1.w") && err_has("NaN"), "translate with a NaN weight: exit %d", rc);
    CHECK(count_files(tp("K2out")) <= 0, "translate with a NaN weight wrote images");

    /* Finite weights so large that D_A's first layer overflows (its sums of 16 terms of 1e38) and the losses are
     * NaN at once: the run stops at that iteration, naming it and the loss, exits 1, and latest.ckpt stays the
     * good one it resumed from. */
    CHECK(craft("K3", FILL, "D_A.conv1.w", "1e38"), "crafting huge weights");
    expect_refused_resume("K3", "huge weights", "diverged at iteration 3");
    CHECK(err_has("loss is") && err_has("latest.ckpt of iteration 3 is kept"), "the divergence message: %s", last_err);

    /* Entries that are finite but impossible, and keys that are missing. */
    CHECK(craft("K1", NEGATIVE_FIRST, "opt_G.v.G_AB.down1.w", NULL), "crafting a negative second moment");
    expect_refused_resume("K1", "a negative Adam second moment", "negative");
    CHECK(craft("K1", RESHAPE, "pool_A.", NULL), "crafting pool images of another size");
    expect_refused_resume("K1", "16x64 pool images", "pool_A");
    CHECK(craft("K1", DROP, "run.size", NULL), "dropping run.size");
    expect_refused_resume("K1", "no run.size", "run.size");
    /* The boundaries are accepted: a key newer than the run (its default), the best epoch just before this one. */
    CHECK(craft("K1", DROP, "run.save_every_iterations", NULL), "dropping run.save_every_iterations");
    int rc1 = mrigan("train", "--resume", tp("K1"), "--max-iterations", "1", ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc1 == 0 && ckpt_long(tp("K1/latest.ckpt"), "run.save_every_iterations") == 100,
          "a checkpoint without run.save_every_iterations: exit %d", rc1);
    mg_ckpt e;
    made = mg_ckpt_load(tp("K0/latest.ckpt"), &e) == MG_OK && mg_ckpt_set(&e, "run.epoch", "2") == MG_OK &&
           mg_ckpt_set(&e, "run.iter_in_epoch", "0") == MG_OK && mg_ckpt_set(&e, "run.iteration", "12") == MG_OK &&
           mg_ckpt_set(&e, "run.best_epoch", "1") == MG_OK && mg_ckpt_set(&e, "run.best_score", "0.5") == MG_OK &&
           mg_ckpt_save(&e, tp("K1/latest.ckpt")) == MG_OK;
    mg_ckpt_free(&e);
    rc1 = made ? mrigan("train", "--resume", tp("K1"), "--max-iterations", "1", ARGS_SPLICE, cpu_opts, NULL) : -1;
    CHECK(rc1 == 0, "resuming at epoch 2 with the best epoch 1: exit %d", rc1);
}

/* Outputs never replace what the user has. */
static void test_outputs(void)
{
    size_t n_ckpt;
    unsigned char *ckpt = read_file(tp("K0/latest.ckpt"), &n_ckpt);
    int rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("K0"), ARGS_SPLICE, small_opts,
                    ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 2 && err_has("--resume") && err_has("--overwrite"), "train --out on a run: exit %d", rc);
    unsigned char *now = read_file(tp("K0/latest.ckpt"), NULL);
    CHECK(ckpt && now && !memcmp(ckpt, now, n_ckpt) && csv_rows(tp("K0/losses.csv")) == 3,
          "train --out on a run changed it");
    free(now);
    free(ckpt);

    /* --overwrite deletes the old run's files, and only those. */
    mkdir(tp("K4"), 0777);
    mkdir(tp("K4/samples"), 0777);
    CHECK(copy_file(tp("K0/latest.ckpt"), tp("K4/latest.ckpt")) &&
              copy_file(tp("K0/latest.ckpt"), tp("K4/epoch_007.ckpt")) && write_file(tp("K4/notes.txt"), "mine", 4) &&
              write_file(tp("K4/samples/epoch_007.png"), "x", 1) && write_file(tp("K4/val.csv"), "old\n", 4) &&
              write_file(tp("K4/epoch_010-keep.ckpt"), "mine", 4) &&
              write_file(tp("K4/samples/epoch_final_figure.png"), "mine", 4),
          "writing K4");
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("K4"), "--overwrite", "--max-iterations",
                "1", ARGS_SPLICE, small_opts, ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0 && !exists(tp("K4/epoch_007.ckpt")) && !exists(tp("K4/samples/epoch_007.png")) &&
              !exists(tp("K4/val.csv")) && exists(tp("K4/notes.txt")) && csv_rows(tp("K4/losses.csv")) == 1 &&
              exists(tp("K4/epoch_010-keep.ckpt")) && exists(tp("K4/samples/epoch_final_figure.png")),
          "train --overwrite: exit %d, or the old run's files stayed, or notes.txt went", rc);
    mkdir(tp("K5"), 0777);
    CHECK(write_file(tp("K5/notes.txt"), "mine", 4) && write_file(tp("K5/config.txt"), "mine", 4), "writing K5");
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("K5"), "--overwrite", ARGS_SPLICE,
                small_opts, ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 2 && err_has("no mrigan run") && count_files(tp("K5")) == 2, "--overwrite on a folder of files: %d",
          rc);
    /* The PatchGAN's three stride-2 layers and two 4x4 ones need 24 pixels: 16 used to fail at the first step. */
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("K6"), "--size", "16", ARGS_SPLICE, cpu_opts,
                NULL);
    CHECK(rc == 2 && err_has("--size") && !exists(tp("K6")), "--size 16: exit %d", rc);
    rc = mrigan("bench", "train", "--size", "16", "--iters", "1", ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 2 && err_has("--size"), "bench train --size 16: exit %d", rc);
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("K6"), "--epochs", "0", "--epochs-decay",
                "0", ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 2 && err_has("nothing to train") && !exists(tp("K6")), "--epochs 0 --epochs-decay 0: exit %d", rc);

    /* translate into its own input folder, or two inputs of one name into one folder */
    size_t n_in;
    unsigned char *in = read_file(tp("P/T1/phantom_000.png"), &n_in);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("K0/latest.ckpt"), "--direction", "a2b", "--out",
                tp("P/T1"), tp("P/T1"), NULL);
    CHECK(rc == 2 && err_has("would replace an input"), "translate --out DIR DIR: exit %d", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("K0/latest.ckpt"), "--direction", "a2b", "--out",
                tp("K7"), tp("P/T1/phantom_000.png"), tp("P/T1/phantom_000.png"), NULL);
    CHECK(rc == 2 && err_has("both be written") && !exists(tp("K7")), "translate of one input twice: exit %d", rc);
    /* two inputs of one name from two folders are kept apart, one subfolder each */
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("K0/latest.ckpt"), "--direction", "a2b", "--out",
                tp("K7"), tp("P/T1/phantom_000.png"), tp("P/T2/phantom_000.png"), NULL);
    CHECK(rc == 0 && exists(tp("K7/T1/phantom_000.png")) && exists(tp("K7/T2/phantom_000.png")) &&
              count_files(tp("K7")) == 2,
          "translate of two inputs of one name from two folders: exit %d", rc);
    /* eval --csv onto an input slice */
    rc = mrigan("eval", "--pred", tp("P/T1"), "--target", tp("P/T2"), "--csv", tp("P/T1/phantom_000.png"), NULL);
    CHECK(rc == 2 && err_has("is one of the inputs"), "eval --csv onto an input: exit %d", rc);
    now = read_file(tp("P/T1/phantom_000.png"), NULL);
    CHECK(in && now && !memcmp(in, now, n_in), "an input slice was changed");
    free(in);
    free(now);
}

/* Stale temporary files, the folder lock, and a resume without losses.csv. */
static void test_folder(void)
{
    CHECK(write_file(tp("K0/latest.ckpt.tmp-Ab12Cd"), "x", 1) &&
              write_file(tp("K0/samples/epoch_001.png.tmp-Xy34Zw"), "x", 1) &&
              write_file(tp("K0/notes.txt.tmp-abc123"), "mine", 4),
          "writing stale temporary files");
    int fd = open(tp("K0"), O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "locking K0");
    int rc = mrigan("train", "--resume", tp("K0"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has("another mrigan train"), "a second trainer in one folder: exit %d", rc);
    CHECK(exists(tp("K0/latest.ckpt.tmp-Ab12Cd")), "a refused trainer removed files of the one running");
    if (fd >= 0)
        close(fd);

    /* --resume in a folder without a run creates and removes nothing there */
    mkdir(tp("K9"), 0777);
    CHECK(write_file(tp("K9/config.txt.tmp-v2copy"), "mine", 4), "writing K9");
    rc = mrigan("train", "--resume", tp("K9"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has("not a run folder") && count_files(tp("K9")) == 1 &&
              exists(tp("K9/config.txt.tmp-v2copy")),
          "--resume in a folder without a run: exit %d", rc);
    /* a new run into a folder that another trainer holds */
    mkdir(tp("K9/new"), 0777);
    fd = open(tp("K9/new"), O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "locking K9/new");
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("K9/new"), ARGS_SPLICE, small_opts,
                ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has("another mrigan train"), "a new run where another trainer is: exit %d", rc);
    if (fd >= 0)
        close(fd);

    /* copies of K0 without losses.csv: the run goes on, with a warning */
    mkdir(tp("K8"), 0777);
    CHECK(copy_file(tp("K0/latest.ckpt"), tp("K8/latest.ckpt")), "copying K0");
    rc = mrigan("train", "--resume", tp("K8"), "--max-iterations", "10", ARGS_SPLICE, cpu_opts, NULL);
    char *text = (char *)read_file(tp("K8/epochs.csv"), NULL);
    int rows = csv_rows(tp("K8/losses.csv")), epochs = -1; /* lines after the header */
    for (char *p = text; p && *p; p++)
        epochs += *p == '\n';
    free(text);
    long it = ckpt_long(tp("K8/latest.ckpt"), "run.iteration");
    CHECK(rc == 0 && err_has("holds 0 of the checkpoint's 3 iterations") && rows == 10 && epochs == 1 && it == 13,
          "resume without losses.csv: exit %d, %d rows, %d epochs, iteration %ld", rc, rows, epochs, it);

    rc = mrigan("train", "--resume", tp("K0"), "--max-iterations", "1", ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0 && err_has("removed 2 temporary files") && !exists(tp("K0/latest.ckpt.tmp-Ab12Cd")) &&
              !exists(tp("K0/samples/epoch_001.png.tmp-Xy34Zw")) && exists(tp("K0/notes.txt.tmp-abc123")),
          "stale temporary files: exit %d", rc);
}

void test_safety(void)
{
    int rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("K0"), "--max-iterations", "3",
                    ARGS_SPLICE, small_opts, ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(rc == 0 && ckpt_long(tp("K0/latest.ckpt"), "run.iteration") == 3, "the small run K0: exit %d", rc);
    test_crafted();
    test_outputs();
    test_folder();
}

/* ------------------------------------------------------------------ 8. crash safety */
#define SAVE_EVERY  2
#define CRASH_ITERS 24 /* two epochs of 12 */
#define KILL_POINTS 14

static char *crash_opts[] = {"--a",
                             NULL,
                             "--b",
                             NULL,
                             "--size",
                             "32",
                             "--ngf",
                             "4",
                             "--ndf",
                             "4",
                             "--epochs",
                             "2",
                             "--epochs-decay",
                             "0",
                             "--save-every-iterations",
                             "2",
                             NULL};

/* Runs train into dir with the fwrite shim: killing at the Nth call (kill_at > 0) or counting the calls. */
static int train_with_shim(const char *shim, const char *dir, long kill_at, const char *count_to)
{
    char n[32], asan[512];
    snprintf(n, sizeof n, "%ld", kill_at);
    const char *old_asan = getenv("ASAN_OPTIONS");
    /* ASan wants its runtime first among the loaded libraries, and a preloaded one comes before it. */
    snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", old_asan ? old_asan : "", old_asan ? ":" : "");
    char *saved_asan = old_asan ? strdup(old_asan) : NULL;
    setenv("ASAN_OPTIONS", asan, 1);
    setenv("LD_PRELOAD", shim, 1);
    setenv("MRIGAN_TEST_KILL_AT", n, 1);
    if (count_to)
        setenv("MRIGAN_TEST_COUNT_TO", count_to, 1);
    int rc = mrigan("train", "--out", dir, ARGS_SPLICE, crash_opts, ARGS_SPLICE, cpu_opts, NULL);
    unsetenv("LD_PRELOAD");
    unsetenv("MRIGAN_TEST_KILL_AT");
    unsetenv("MRIGAN_TEST_COUNT_TO");
    if (saved_asan)
        setenv("ASAN_OPTIONS", saved_asan, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved_asan);
    return rc;
}

/* Temporary files of saves in dir (and dir/samples): what a kill inside a save leaves. */
static int count_tmp(const char *dir)
{
    int n = 0;
    for (int sub = 0; sub < 2; sub++) {
        DIR *d = opendir(sub ? tp("%s/samples", dir) : tp("%s", dir));
        for (struct dirent *e; d && (e = readdir(d));)
            n += strstr(e->d_name, ".tmp-") != NULL;
        if (d)
            closedir(d);
    }
    return n;
}

void test_crash(const char *shim)
{
    static char pa[1024], pb[1024]; /* tp() reuses its buffers */
    snprintf(pa, sizeof pa, "%s", tp("P/T1"));
    snprintf(pb, sizeof pb, "%s", tp("P/T2"));
    crash_opts[1] = pa;
    crash_opts[3] = pb;
    char counted[1024], why[256];
    snprintf(counted, sizeof counted, "%s", tp("fwrite-count"));
    int rc = train_with_shim(shim, tp("C0"), 0, counted);
    unsigned char *text = read_file(counted, NULL);
    long total = text ? atol((char *)text) : 0;
    free(text);
    REQUIRE(rc == 0 && total > 2 * KILL_POINTS, "the uninterrupted run: exit %d, %ld fwrite calls", rc, total);
    int inside_saves = 0;
    for (int k = 1; k <= KILL_POINTS; k++) {
        /* Points spread over the whole run, odd offsets so that they fall inside saves as well as between. */
        long at = total * k / (KILL_POINTS + 1) + k % 3;
        char dir[64];
        snprintf(dir, sizeof dir, "C%d", k);
        rc = train_with_shim(shim, tp("%s", dir), at, NULL);
        CHECK(rc == 128 + SIGKILL, "killed at fwrite %ld of %ld: exit %d", at, total, rc);
        inside_saves += count_tmp(dir) > 0;
        int done = csv_rows(tp("%s/losses.csv", dir)); /* a row is written as its iteration ends */
        long saved = exists(tp("%s/latest.ckpt", dir)) ? ckpt_long(tp("%s/latest.ckpt", dir), "run.iteration") : 0;
        CHECK(saved >= 0 && done - saved <= SAVE_EVERY,
              "killed at fwrite %ld: %d iterations done, latest.ckpt (which must load) has %ld", at, done, saved);
        rc = exists(tp("%s/latest.ckpt", dir)) ? mrigan("train", "--resume", tp("%s", dir), ARGS_SPLICE, cpu_opts, NULL)
                                               : mrigan("train", "--out", tp("%s", dir), "--overwrite", ARGS_SPLICE,
                                                        crash_opts, ARGS_SPLICE, cpu_opts, NULL);
        CHECK(rc == 0 && count_tmp(dir) == 0, "after the kill at fwrite %ld, the run did not finish (exit %d)", at, rc);
        CHECK(ckpt_files_equal(tp("C0/latest.ckpt"), tp("%s/latest.ckpt", dir), why, sizeof why) &&
                  csv_rows(tp("%s/losses.csv", dir)) == CRASH_ITERS,
              "killed at fwrite %ld and resumed: not the uninterrupted run's result (%s)", at, why);
        remove_tree(tp("%s", dir));
    }
    CHECK(inside_saves > 0, "no kill fell inside a save");

    /* A full disk, as the file size limit: the checkpoint cannot be written, the CSVs can. The run stops with
     * exit 1 and a true message, and latest.ckpt is the one it resumed from. */
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("D"), "--max-iterations", "3", ARGS_SPLICE,
                small_opts, ARGS_SPLICE, cpu_opts, NULL);
    size_t n_before;
    unsigned char *before = read_file(tp("D/latest.ckpt"), &n_before);
    struct rlimit old, lim = {.rlim_cur = (rlim_t)n_before / 2, .rlim_max = RLIM_INFINITY};
    getrlimit(RLIMIT_FSIZE, &old);
    lim.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN); /* inherited: the write fails with EFBIG instead of killing */
    CHECK(rc == 0 && before && setrlimit(RLIMIT_FSIZE, &lim) == 0, "setting up the full disk");
    rc = mrigan("train", "--resume", tp("D"), ARGS_SPLICE, cpu_opts, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(rc == 1 && err_has("saving") && err_has("latest.ckpt of iteration 3 is kept") && err_has("too large"),
          "a save on a full disk: exit %d", rc);
    size_t n_after;
    unsigned char *after = read_file(tp("D/latest.ckpt"), &n_after);
    CHECK(after && n_after == n_before && !memcmp(before, after, n_after) && count_tmp("D") == 0,
          "a failed save changed latest.ckpt or left a temporary file");
    free(before);
    free(after);
}
