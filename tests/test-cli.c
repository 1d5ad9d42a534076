/* End-to-end tests of the command-line program: runs the mrigan binary given as argv[1] with fork/execv (argv[2]:
 * the kill-at-write.so the crash tests preload),
 * checks exit statuses and the key words of its messages, and uses the library to make inputs and to inspect
 * what the program wrote (PNGs, checkpoints, losses.csv). Groups 0 to 2 are here, 3 to 6 in cli-groups.c, 7 and
 * 8 in cli-safety.c, the helpers in cli-util.c:
 *   0. mrigan phantom writes the slice sets the other groups use;
 *   1. training on the phantom makes the cycle loss fall, and the run folder holds every output;
 *   2. a run stopped and resumed (mid-epoch and at an epoch's end) repeats the uninterrupted run bit for bit;
 *   3. translate keeps odd sizes, writes 8- and 16-bit PNGs, runs both directions, is deterministic and
 *      matches the library's own pad-translate-crop;
 *   4. error cases exit non-zero with a message naming the problem, and damage nothing;
 *   5. SIGINT saves a checkpoint and exits with status 130, and the run resumes from it;
 *   6. validation: val.csv, best.ckpt and report.html, eval from the best checkpoint, --val-every;
 *   7. crafted checkpoints and outputs onto inputs are refused without loss; 8. crashes and a full disk;
 *   9 to 12 in cli-volumes.c and cli-conventions.c; 13, mrigan pick, in cli-pick.c.
 * Temporary files live in a mkdtemp folder under /tmp, removed at the end. Prints one "ok ..." line per
 * group; exits non-zero on any failure. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mrigan/image.h"

#include "cli.h"

/* clang-format off */
static char *run1_opts[] = {"--size", "32", "--ngf", "8", "--ndf", "8", "--epochs", "10", "--epochs-decay", "0",
                            "--lr", "5e-4", "--seed", "1", "--backend", "cpu", "--threads", THREADS, NULL};
/* clang-format on */

void test_phantom(void)
{
    char count[16];
    snprintf(count, sizeof count, "%d", PHANTOM_COUNT);
    int rc = mrigan("phantom", "--out", tp("P"), "--count", count, "--size", "64", NULL);
    CHECK(rc == 0, "phantom exited with %d", rc);
    snprintf(count, sizeof count, "%d", RESUME_COUNT);
    rc = mrigan("phantom", "--out", tp("Q"), "--count", count, "--size", "72", "--seed", "7", NULL);
    CHECK(rc == 0, "phantom exited with %d", rc);
    CHECK(count_files(tp("P/T1")) == PHANTOM_COUNT && count_files(tp("P/T2")) == PHANTOM_COUNT,
          "P/T1 and P/T2 should hold %d files each", PHANTOM_COUNT);
    CHECK(count_files(tp("Q/T1")) == RESUME_COUNT && count_files(tp("Q/T2")) == RESUME_COUNT,
          "Q/T1 and Q/T2 should hold %d files each", RESUME_COUNT);
    CHECK(png_size_is(tp("P/T1/phantom_000.png"), 64, 64), "phantom slices should be 64x64");
}

/* ------------------------------------------------------------------ 1. training */
void test_train(void)
{
    int rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("R1"), ARGS_SPLICE, run1_opts, NULL);
    REQUIRE(rc == 0, "train exited with %d", rc);
    CHECK(err_has("done"), "train should say it is done");

    static double rows[RUN1_EPOCHS * PHANTOM_COUNT + 1][CSV_COLS];
    int n = read_csv(tp("R1/losses.csv"), rows, RUN1_EPOCHS * PHANTOM_COUNT + 1);
    REQUIRE(n == RUN1_EPOCHS * PHANTOM_COUNT, "losses.csv: %d data rows (or unreadable), expected %d", n,
            RUN1_EPOCHS * PHANTOM_COUNT);
    double cyc[RUN1_EPOCHS] = {0};
    for (int i = 0; i < n; i++) {
        CHECK(rows[i][0] == i && rows[i][1] == 1 + i / PHANTOM_COUNT, "losses.csv row %d: iteration %g, epoch %g", i,
              rows[i][0], rows[i][1]);
        CHECK(fabs(rows[i][2] - 5e-4) < 1e-9, "losses.csv row %d: lr %g, expected 5e-4", i, rows[i][2]);
        cyc[i / PHANTOM_COUNT] += (rows[i][7] + rows[i][8]) / PHANTOM_COUNT;
    }
    /* the contrast prior is on by default, for the first 400 iterations (more than this run's) */
    CHECK(rows[0][15] > 0 && rows[0][16] > 0 && rows[n - 1][15] > 0 && rows[n - 1][16] > 0,
          "losses.csv: prior_AB, prior_BA %g, %g in the first row, %g, %g in the last (want > 0: on by default)",
          rows[0][15], rows[0][16], rows[n - 1][15], rows[n - 1][16]);
    CHECK(cyc[RUN1_EPOCHS - 1] < 0.8 * cyc[0], "mean cycle loss: first epoch %.4f, last epoch %.4f (want < 0.8x)",
          cyc[0], cyc[RUN1_EPOCHS - 1]);

    CHECK(ckpt_long(tp("R1/latest.ckpt"), "run.iteration") == n, "latest.ckpt: run.iteration should be %d", n);
    CHECK(ckpt_long(tp("R1/latest.ckpt"), "run.epoch") == RUN1_EPOCHS + 1, "latest.ckpt: run.epoch should be %d",
          RUN1_EPOCHS + 1);
    int full = ckpt_entries(tp("R1/latest.ckpt"));
    for (int e = 1; e <= RUN1_EPOCHS; e++) {
        /* --save-every 5 (the default) keeps epoch 5 and 10 */
        bool want = e % 5 == 0;
        int entries = ckpt_entries(tp("R1/epoch_%03d.ckpt", e));
        CHECK(want ? entries > 0 && entries < full : !exists(tp("R1/epoch_%03d.ckpt", e)),
              "epoch_%03d.ckpt: %d entries (latest.ckpt %d); expected %s", e, entries, full,
              want ? "a weights-only checkpoint" : "none");
        /* --sample-every-iterations 100 (the default): the first and last epochs, and epoch 9, which passes 100 */
        if (e == 1 || e == 9 || e == RUN1_EPOCHS)
            CHECK(png_size_is(tp("R1/samples/epoch_%03d.png", e), 3 * 64, 2 * (64 + 11)),
                  "samples/epoch_%03d.png should be a 192x150 PNG (3 x 2 tiles under 11-pixel labels)", e);
        else
            CHECK(!exists(tp("R1/samples/epoch_%03d.png", e)), "samples/epoch_%03d.png: no grid expected", e);
    }
    CHECK(!exists(tp("R1/samples/epoch_%03d.png", RUN1_EPOCHS + 1)), "no samples past the last epoch");
    mg_image plot = {0};
    CHECK(mg_image_load_png(tp("R1/loss.png"), &plot) == MG_OK && plot.width > 100 && plot.height > 100,
          "loss.png should be a plot");
    mg_image_free(&plot);
}

/* ------------------------------------------------------------------ 2. resume */

/* clang-format off */
static char *resume_opts[] = {"--a", NULL, "--b", NULL, "--size", "64", "--generator", "unet", "--ngf", "4", "--ndf", "4", "--epochs", "2",
                              "--epochs-decay", "1", "--seed", "3", "--pool-size", "3", "--backend", "cpu",
                              "--threads", THREADS, NULL};
/* clang-format on */

void test_resume(void)
{
    char qa[1024], qb[1024], why[512];
    snprintf(qa, sizeof qa, "%s", tp("Q/T1"));
    snprintf(qb, sizeof qb, "%s", tp("Q/T2"));
    resume_opts[1] = qa;
    resume_opts[3] = qb;
    /* 8 iterations per epoch, 3 epochs: B stops mid-epoch 1 (5), mid-epoch 2 (11), at the end of epoch 2 (16),
     * then runs to the end (24). */
    int rc = mrigan("train", "--out", tp("A"), ARGS_SPLICE, resume_opts, NULL);
    REQUIRE(rc == 0, "run A exited with %d", rc);
    REQUIRE(ckpt_long(tp("A/latest.ckpt"), "dropout") == 1 && ckpt_long(tp("A/latest.ckpt"), "depth") == 6,
            "run A should be a depth-6 unet with dropout");
    rc = mrigan("train", "--out", tp("B"), ARGS_SPLICE, resume_opts, "--max-iterations", "5", NULL);
    REQUIRE(rc == 0 && err_has("--resume"), "run B (--max-iterations 5) exited with %d", rc);
    CHECK(csv_rows(tp("B/losses.csv")) == 5 && ckpt_long(tp("B/latest.ckpt"), "run.iteration") == 5,
          "B after 5 iterations: %d rows, run.iteration %ld", csv_rows(tp("B/losses.csv")),
          ckpt_long(tp("B/latest.ckpt"), "run.iteration"));

    size_t n_before, n_after;
    unsigned char *before = read_file(tp("B/latest.ckpt"), &n_before);
    rc = mrigan("train", "--resume", tp("B"), "--ngf", "8", NULL);
    CHECK(rc == 2 && err_has("--ngf"), "--resume with --ngf: exit %d (want 2, naming --ngf)", rc);
    unsigned char *after = read_file(tp("B/latest.ckpt"), &n_after);
    CHECK(before && after && n_before == n_after && !memcmp(before, after, n_before),
          "a refused resume must leave latest.ckpt alone");
    free(before);
    free(after);

    rc = mrigan("train", "--resume", tp("B"), "--max-iterations", "6", ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(rc == 0, "resume --max-iterations 6 exited with %d", rc);
    CHECK(csv_rows(tp("B/losses.csv")) == 11 && ckpt_long(tp("B/latest.ckpt"), "run.iteration") == 11,
          "B after 11 iterations: %d rows, run.iteration %ld", csv_rows(tp("B/losses.csv")),
          ckpt_long(tp("B/latest.ckpt"), "run.iteration"));
    rc = mrigan("train", "--resume", tp("B"), "--max-iterations", "5", ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(rc == 0, "resume --max-iterations 5 exited with %d", rc);
    CHECK(csv_rows(tp("B/losses.csv")) == 16 && ckpt_long(tp("B/latest.ckpt"), "run.epoch") == 3 &&
              ckpt_long(tp("B/latest.ckpt"), "run.iter_in_epoch") == 0,
          "B after 16 iterations: %d rows, run.epoch %ld, run.iter_in_epoch %ld", csv_rows(tp("B/losses.csv")),
          ckpt_long(tp("B/latest.ckpt"), "run.epoch"), ckpt_long(tp("B/latest.ckpt"), "run.iter_in_epoch"));
    rc = mrigan("train", "--resume", tp("B"), ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(rc == 0 && err_has("done"), "the last resume exited with %d", rc);

    CHECK(csv_rows(tp("A/losses.csv")) == 3 * RESUME_COUNT, "A: %d rows", csv_rows(tp("A/losses.csv")));
    CHECK(csv_equal_but_clocks(tp("A/losses.csv"), tp("B/losses.csv"), "seconds", why, sizeof why),
          "losses.csv of A and B differ: %s", why);
    /* The per-epoch means, to the last bit: the resumed run rebuilds them from losses.csv. */
    CHECK(csv_equal_but_clocks(tp("A/epochs.csv"), tp("B/epochs.csv"), "seconds,s_per_iteration", why, sizeof why),
          "epochs.csv of A and B differ: %s", why);
    /* A resumed epoch's seconds add up its parts: at least its iterations' seconds in losses.csv (each part's
     * included), and no longer than this whole group has taken. */
    static double rows[3 * RESUME_COUNT][CSV_COLS];
    int n_rows = read_csv(tp("B/losses.csv"), rows, 3 * RESUME_COUNT);
    char *epochs = (char *)read_file(tp("B/epochs.csv"), NULL);
    for (char *p = epochs ? strchr(epochs, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n')) {
        int epoch = -1;
        double secs = -1, iters = 0;
        bool parsed = sscanf(p + 1, "%d,%*g,%lg", &epoch, &secs) == 2;
        for (int r = 0; r < n_rows && r < 3 * RESUME_COUNT; r++)
            iters += (int)rows[r][1] == epoch ? rows[r][CSV_COLS - 1] : 0.0;
        CHECK(parsed && n_rows == 3 * RESUME_COUNT && secs >= iters - 0.01 && secs <= now_s() - group_t0,
              "B/epochs.csv epoch %d: %g s, its iterations took %g s, the group has run %.1f s", epoch, secs, iters,
              now_s() - group_t0);
    }
    free(epochs);
    CHECK(ckpt_files_equal(tp("A/latest.ckpt"), tp("B/latest.ckpt"), why, sizeof why),
          "latest.ckpt of A and B differ: %s", why);
    CHECK(ckpt_files_equal(tp("A/epoch_003.ckpt"), tp("B/epoch_003.ckpt"), why, sizeof why),
          "epoch_003.ckpt of A and B differ: %s", why);
    for (int e = 1; e <= 3; e += 2) /* the first and the last: 24 iterations pass no multiple of 100 */
        CHECK(files_equal(tp("A/samples/epoch_%03d.png", e), tp("B/samples/epoch_%03d.png", e)),
              "samples/epoch_%03d.png of A and B differ", e);
    CHECK(!exists(tp("A/samples/epoch_002.png")) && !exists(tp("B/samples/epoch_002.png")),
          "samples/epoch_002.png: no grid expected");
    CHECK(files_equal(tp("A/loss.png"), tp("B/loss.png")), "loss.png of A and B differ");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PATH/TO/mrigan PATH/TO/kill-at-write.so\n", argv[0]);
        return 2;
    }
    char cwd[PATH_MAX];
    if (argv[1][0] == '/')
        snprintf(mrigan_bin, sizeof mrigan_bin, "%s", argv[1]);
    else if (getcwd(cwd, sizeof cwd))
        snprintf(mrigan_bin, sizeof mrigan_bin, "%s/%s", cwd, argv[1]);
    if (access(mrigan_bin, X_OK) != 0) {
        fprintf(stderr, "%s: not an executable: %s\n", argv[0], argv[1]);
        return 2;
    }
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mrigan-cli-XXXXXX");
    if (!mkdtemp(tmp_dir) || chdir(tmp_dir) != 0) {
        perror("mkdtemp");
        return 1;
    }

    group_begin();
    test_phantom();
    group_end("0 phantom: mrigan phantom writes the paired T1/T2 slice sets the other groups use");
    group_begin();
    test_train();
    group_end("1 train: the cycle loss falls on the phantom; latest/epoch checkpoints, loss.png, samples, losses.csv");
    group_begin();
    test_resume();
    group_end("2 resume: stopped mid-epoch and at an epoch's end, resumed, equals the uninterrupted run bit for bit; "
              "--resume with --ngf refused");
    group_begin();
    test_translate();
    group_end("3 translate: odd sizes kept, 8/16-bit, a2b/b2a, deterministic, matches the library");
    group_begin();
    test_errors();
    group_end("4 errors: bad options, data and checkpoints exit non-zero, name the problem, damage nothing");
    group_begin();
    test_interrupt();
    group_end("5 interrupt: SIGINT saves latest.ckpt, exits 130, and the run resumes");
    group_begin();
    test_validation();
    group_end("6 validation: val.csv and epochs.csv per epoch, best.ckpt at the best score, report.html, eval, resume "
              "from another folder, --val-every");
    group_begin();
    test_safety();
    group_end("7 safety: crafted checkpoints refused, latest.ckpt kept; outputs never replace inputs; --overwrite; "
              "stale temporary files; one trainer per folder; a lost losses.csv");
    group_begin();
    test_crash(argv[2]);
    group_end("8 crashes: SIGKILL inside and between saves loses at most one save interval and resumes exactly; a "
              "full disk keeps the last checkpoint");

    group_begin();
    test_volumes();
    group_end("9 volumes: NIfTI through train, translate (grid and type kept, outputs named and kept apart) and eval "
              "(per slice, whole, JSON, summary file); broken volumes refused by name");
    group_begin();
    test_conventions();
    group_end("10 conventions: --version, help CMD, did-you-mean, aligned help, --opt=value, --log-every, --resume "
              "--epochs");
    group_begin();
    test_export();
    group_end("11 small run folders: epoch snapshots hold the generators; export (both or one direction, float32 "
              "identical, float16 half the size)");
    group_begin();
    test_bench_quality();
    group_end(
        "12 bench quality: the phantom's baselines (identity as eval scores it, oracle above histogram "
        "matching), a model trained on renamed copies; --seeds: each seed as alone, their mean, the pick; --holdout: "
        "pairs kept out of training, scored apart; --rescore: the trained model's rows again, the run only read");
    group_begin();
    test_pick();
    group_end("13 pick: of runs that differ in seed only, the lowest final adversarial loss in any order; unfinished "
              "runs, another recipe, NaN losses and slice folders refused; nothing written");

    return tests_end();
}
