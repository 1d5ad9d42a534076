/* Data-parallel training over MPI, end to end (suite mpi: built where the build has MPI and mpirun is found), two
 * processes on this machine (mpirun --oversubscribe -np 2, one thread each):
 *   0. the library's batch step, a batch of 4 over the two: ((g0 + g1) + (g2 + g3)) / 4 bit for bit on both, and
 *      within the bound of the regrouping from one process's ((g0 + g1) + g2) + g3 (grads_mode);
 *   1. two processes with one crop each train what one process trains with --batch-size 2, bit for bit: the same
 *      per-sample arithmetic, and one sum of two whole gradients (exact whichever way round), so every loss of the
 *      steps and every weight after them are equal, which is more than the 1e-4 asked;
 *      The same on an OpenCL device where there is one (the gradients summed through the host in pieces);
 *   2. a run stopped and resumed under mpirun, and one resumed by a single process, end as the uninterrupted run;
 *   3. a process killed mid-run ends the job, with a message saying how to resume; latest.ckpt is intact and the
 *      resumed run ends as the uninterrupted one;
 *   4. a batch the processes cannot share, a run folder the first refuses, processes given other settings (before the
 *      first touches the folder) and a resume one of them cannot find end every process with a message.
 * Usage: test-dist PATH/TO/mrigan PATH/TO/data/phantom */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mrigan/dist.h"
#include "mrigan/opencl.h"

static char dir_a[PATH_MAX], dir_b[PATH_MAX];
/* A run of 2 + 2 epochs of 12 iterations (24 phantom slices, 2 a step), saving every 3 iterations. */
/* clang-format off */
static char *run_opts[] = {"train", "--a", dir_a, "--b", dir_b, "--size", "64", "--ngf", "8", "--ndf", "16",
                           "--epochs", "2", "--epochs-decay", "2", "--batch-size", "2", "--threads", "1", "--seed", "5",
                           "--pool-size", "4", "--save-every-iterations", "3", NULL};
/* clang-format on */

/* spawn() of an mpirun command line. Under AddressSanitizer, no leak report for the processes MPI starts: Open MPI
 * unloads its components at MPI_Finalize, and what they allocated once then has no module to be attributed to (or
 * suppressed by). The memory errors are still caught, and the same code's own allocations are leak-checked in the
 * runs of one process here and in every other test. */
static pid_t spawn_mpi(char **argv)
{
    const char *asan = getenv("ASAN_OPTIONS");
    char *saved = asan ? strdup(asan) : NULL;
    if (asan) {
        char opts[512];
        snprintf(opts, sizeof opts, "%s:detect_leaks=0", asan);
        setenv("ASAN_OPTIONS", opts, 1);
    }
    pid_t pid = spawn(argv);
    if (saved)
        setenv("ASAN_OPTIONS", saved, 1);
    free(saved);
    return pid;
}

/* Starts "mpirun -np NP mrigan ARGS...". */
static pid_t launch_start(const char *np, const char *first, ...)
{
    char *argv[MAX_ARGS + 8], *tail[MAX_ARGS];
    va_list ap;
    va_start(ap, first);
    build_argv(tail, first, ap);
    va_end(ap);
    int n = 0;
    argv[n++] = "mpirun";
    argv[n++] = "--oversubscribe";
    argv[n++] = "-np";
    argv[n++] = (char *)np;
    for (int i = 0; tail[i]; i++)
        argv[n++] = tail[i];
    argv[n] = NULL;
    return spawn_mpi(argv);
}

#define LAUNCH(np, ...) finish(launch_start(np, __VA_ARGS__))

/* "mpirun -np 1 mrigan A... : -np 1 mrigan B...": two processes given different arguments (NULL-terminated lists). */
static int launch_two(char **a, char **b)
{
    char *argv[3 * MAX_ARGS];
    int n = 0;
    argv[n++] = "mpirun";
    argv[n++] = "--oversubscribe";
    for (int k = 0; k < 2; k++) {
        if (k)
            argv[n++] = ":";
        argv[n++] = "-np";
        argv[n++] = "1";
        argv[n++] = mrigan_bin;
        for (char **p = k ? b : a; *p && n < 3 * MAX_ARGS - 1; p++)
            argv[n++] = *p;
    }
    argv[n] = NULL;
    return finish(spawn_mpi(argv));
}

/* The largest relative difference between the losses of two losses.csv files' first n rows (-1: unreadable). */
static double losses_max_rel(const char *a, const char *b, int n)
{
    static double x[64][CSV_COLS], y[64][CSV_COLS];
    if (read_csv(a, x, 64) < n || read_csv(b, y, 64) < n)
        return -1.0;
    double worst = 0.0;
    for (int i = 0; i < n; i++)
        for (int k = 3; k < 3 + MG_LOSS_COUNT; k++) {
            double d = fabs(x[i][k] - y[i][k]), m = fmax(fabs(x[i][k]), fabs(y[i][k]));
            worst = fmax(worst, m > 0.0 ? d / m : d);
        }
    return worst;
}

static void dist_same_as_batch(void)
{
    char why[256];
    REQUIRE(mrigan(ARGS_SPLICE, run_opts, "--out", tp("one"), "--max-iterations", "4", NULL) == 0,
            "one process, --batch-size 2");
    REQUIRE(LAUNCH("2", ARGS_SPLICE, run_opts, "--out", tp("two"), "--max-iterations", "4", NULL) == 0,
            "mpirun -np 2, --batch-size 2");
    CHECK(err_has("2 ranks, 1 crop each a step"), "the run says it has two processes of one crop each");
    CHECK(csv_rows(tp("two/losses.csv")) == 4, "the first process alone wrote losses.csv: %d rows for 4 steps",
          csv_rows(tp("two/losses.csv")));
    double rel = losses_max_rel(tp("one/losses.csv"), tp("two/losses.csv"), 4);
    CHECK(rel >= 0.0 && rel <= 1e-4, "every loss of the 4 steps within 1e-4: largest relative difference %g", rel);
    CHECK(csv_equal_but_clocks(tp("one/losses.csv"), tp("two/losses.csv"), "seconds", why, sizeof why),
          "every loss of the 4 steps bit for bit: %s", why);
    CHECK(ckpt_files_equal(tp("one/latest.ckpt"), tp("two/latest.ckpt"), why, sizeof why),
          "the weights, Adam's moments and the pools after them bit for bit: %s", why);
    CHECK(count_files(tp("one")) == count_files(tp("two")), "the same files: %d against %d", count_files(tp("one")),
          count_files(tp("two")));
}

static void dist_resume(void)
{
    char why[256];
    REQUIRE(LAUNCH("2", ARGS_SPLICE, run_opts, "--out", tp("full"), NULL) == 0, "the uninterrupted run");
    REQUIRE(LAUNCH("2", ARGS_SPLICE, run_opts, "--out", tp("part"), "--max-iterations", "7", NULL) == 0,
            "a run stopped after 7 iterations");
    CHECK(ckpt_long(tp("part/latest.ckpt"), "run.iteration") == 7, "latest.ckpt stands at iteration 7: %ld",
          ckpt_long(tp("part/latest.ckpt"), "run.iteration"));
    REQUIRE(LAUNCH("2", "train", "--resume", tp("part"), "--threads", "1", NULL) == 0, "resumed under mpirun");
    CHECK(ckpt_files_equal(tp("full/latest.ckpt"), tp("part/latest.ckpt"), why, sizeof why),
          "resumed under mpirun, the run ends as the uninterrupted one: %s", why);
    CHECK(csv_equal_but_clocks(tp("full/losses.csv"), tp("part/losses.csv"), "seconds", why, sizeof why),
          "and its losses.csv: %s", why);
    /* the same state on every process: one process takes it up with the whole batch of two */
    REQUIRE(LAUNCH("2", ARGS_SPLICE, run_opts, "--out", tp("half"), "--max-iterations", "13", NULL) == 0,
            "a run stopped after 13 iterations");
    REQUIRE(mrigan("train", "--resume", tp("half"), "--threads", "1", NULL) == 0, "resumed by one process");
    CHECK(ckpt_files_equal(tp("full/latest.ckpt"), tp("half/latest.ckpt"), why, sizeof why),
          "resumed by one process, the run ends as the uninterrupted one: %s", why);
}

/* On an OpenCL device the gradients are summed through the host in pieces rather than in place: the same equality
 * (both processes take the machine's one device, or each its own). Skipped, saying so, where there is none. */
static void dist_opencl(void)
{
    mg_device_info dev[4];
    int n = 0;
    if (!mg_backend_built("opencl") || mg_opencl_devices(dev, 4, &n) != MG_OK || n < 1) {
        printf("(no OpenCL device: the OpenCL case is not run)\n");
        return;
    }
    char why[256];
    REQUIRE(
        mrigan(ARGS_SPLICE, run_opts, "--backend", "opencl", "--out", tp("cl-one"), "--max-iterations", "3", NULL) == 0,
        "one process on OpenCL, --batch-size 2");
    REQUIRE(LAUNCH("2", ARGS_SPLICE, run_opts, "--backend", "opencl", "--out", tp("cl-two"), "--max-iterations", "3",
                   NULL) == 0,
            "mpirun -np 2 on OpenCL");
    CHECK(csv_equal_but_clocks(tp("cl-one/losses.csv"), tp("cl-two/losses.csv"), "seconds", why, sizeof why),
          "OpenCL: every loss of the 3 steps bit for bit: %s", why);
    CHECK(ckpt_files_equal(tp("cl-one/latest.ckpt"), tp("cl-two/latest.ckpt"), why, sizeof why),
          "OpenCL: the checkpoint after them bit for bit: %s", why);
}

/* The process of rank `rank` whose command line names `marker`, or -1. */
static pid_t find_rank(const char *marker, int rank)
{
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    DIR *d = opendir("/proc");
    pid_t found = -1;
    for (struct dirent *e; d && found < 0 && (e = readdir(d));) {
        char path[300];
        size_t n = 0, m = 0;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        char *cmd = (char *)read_file(path, &n);
        snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
        char *env = (char *)read_file(path, &m);
        bool has_marker = false, has_rank = false; /* not the launcher (argv[0] mpirun) */
        for (size_t i = 0; cmd && !strstr(cmd, "mpirun") && i < n; i += strlen(cmd + i) + 1)
            has_marker |= strstr(cmd + i, marker) != NULL;
        for (size_t i = 0; env && i < m; i += strlen(env + i) + 1)
            has_rank |= strcmp(env + i, want) == 0;
        if (has_marker && has_rank)
            found = (pid_t)atol(e->d_name);
        free(cmd);
        free(env);
    }
    if (d)
        closedir(d);
    return found;
}

static void dist_killed(void)
{
    char why[256];
    pid_t job = launch_start("2", ARGS_SPLICE, run_opts, "--out", tp("killed"), NULL);
    REQUIRE(job > 0, "mpirun started");
    pid_t victim = -1;
    for (double t0 = now_s(); now_s() - t0 < 120.0 && csv_rows(tp("killed/losses.csv")) < 8;)
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    victim = find_rank(tp("killed"), 1);
    if (victim > 0)
        kill(victim, SIGKILL);
    int rc = finish(job);
    REQUIRE(victim > 0, "found the process of rank 1 after 8 iterations");
    CHECK(rc != 0, "the job ends with a failure when a process is killed: exit %d", rc);
    CHECK(err_has("stopping on a signal") && err_has("--resume"), "the other process says it stops and how to resume");
    long at = ckpt_long(tp("killed/latest.ckpt"), "run.iteration");
    CHECK(at >= 6 && at % 3 == 0 && at < 48, "latest.ckpt loads, at a save of the run: iteration %ld", at);
    REQUIRE(LAUNCH("2", "train", "--resume", tp("killed"), "--threads", "1", NULL) == 0, "resumed under mpirun");
    CHECK(ckpt_files_equal(tp("full/latest.ckpt"), tp("killed/latest.ckpt"), why, sizeof why),
          "the resumed run ends as the uninterrupted one: %s", why);
}

static void dist_refused(void)
{
    int rc = LAUNCH("2", ARGS_SPLICE, run_opts, "--out", tp("odd"), "--batch-size", "3", NULL);
    CHECK(rc != 0 && err_has("--batch-size 3 cannot be shared by 2 processes"),
          "a batch of 3 over 2 processes refused: exit %d", rc);
    CHECK(!exists(tp("odd/latest.ckpt")), "nothing trained");
    /* a folder only the first process checks: the other learns of it and ends too, instead of waiting for it */
    rc = LAUNCH("2", ARGS_SPLICE, run_opts, "--out", tp("full"), NULL);
    CHECK(rc != 0 && err_has("full"), "a run folder in use refused by name: exit %d", rc);
    /* processes given different settings, with --overwrite of a finished run: refused before the first touches it */
    REQUIRE(copy_file(tp("full/latest.ckpt"), tp("full-latest.ckpt")), "a copy of the finished run's checkpoint");
    char *a[MAX_ARGS], *b[MAX_ARGS];
    int n = 0;
    for (; run_opts[n]; n++)
        a[n] = b[n] = run_opts[n];
    char *tail_a[] = {"--out", (char *)tp("full"), "--overwrite", "--seed", "5", NULL};
    char *tail_b[] = {"--out", (char *)tp("full"), "--overwrite", "--seed", "6", NULL};
    for (int k = 0; k < 6; k++)
        a[n + k] = tail_a[k], b[n + k] = tail_b[k];
    rc = launch_two(a, b);
    CHECK(rc != 0 && err_has("process 1 of 2 would train something else than process 0"),
          "processes of other seeds refused, saying so: exit %d", rc);
    CHECK(files_equal(tp("full/latest.ckpt"), tp("full-latest.ckpt")) && csv_rows(tp("full/losses.csv")) == 48,
          "the run in the folder untouched");
    /* a resume one process cannot find: both end, neither waits */
    char *resume_a[] = {"train", "--resume", (char *)tp("full"), "--threads", "1", NULL};
    char *resume_b[] = {"train", "--resume", (char *)tp("nowhere"), "--threads", "1", NULL};
    rc = launch_two(resume_a, resume_b);
    CHECK(rc != 0 && err_has("nowhere/latest.ckpt"), "a resume the second process cannot find ends both: exit %d", rc);
}

/* ------------------------------------------------------------------ under mpirun: the library's batch step */
/* The model's gradients, the four networks' in order (n values). */
static float *model_grads(const mg_cyclegan *m, size_t *n)
{
    const mg_net *nets[4] = {&m->g_ab.net, &m->g_ba.net, &m->d_a.net, &m->d_b.net};
    *n = 0;
    for (int k = 0; k < 4; k++)
        *n += mg_net_param_count(nets[k]);
    float *v = calloc(*n, sizeof *v), *p = v;
    for (int k = 0; v && k < 4; k++)
        for (int i = 0; i < nets[k]->n_params; p += nets[k]->params[i++]->numel)
            if (nets[k]->params[i]->grad && mg_tensor_read(nets[k]->params[i]->grad, p, nets[k]->params[i]->numel))
                return free(v), NULL;
    return v;
}

/* Run as "mpirun -np 2 test-dist --grads": a batch of 4, two crops a process, against what one process computes.
 * Every backward op is linear in the gradient it receives and the losses are weighted by 1/4, a power of two, so
 * each sample's gradient is exactly a quarter of its own backward's, g_i / 4; a process adds its second sample's
 * whole to its first's and the two processes' sums are added (one addition, exact whichever way round), so the
 * batch's gradient is ((g0 + g1) + (g2 + g3)) / 4 in float, bit for bit, on both processes. One process adds the
 * four in a row, ((g0 + g1) + g2) + g3, sharing only the first rounding: each of the other four roundings is at most
 * u times a partial sum of at most sum |g_i| / 4 (u = 2^-24), and the first cannot differ, so the two differ by at
 * most 4 u sum |g_i| / 4; the test allows 6 u, and 8 smallest normals where quartering may round. Losses: the samples',
 * summed in the batch's order, the same bits everywhere. Pools off: with them a sample alone would not see the fakes of
 * those before it. Prints one line, "grads ok" or what failed. */
static int grads_mode(int argc, char **argv)
{
    mg_dist *d = NULL;
    mg_backend *be = NULL;
    if (mg_dist_open(&argc, &argv, &d) != MG_OK || mg_backend_cpu_new(1, &be) != MG_OK)
        return fprintf(stderr, "grads: %s\n", mg_last_error()), 1;
    enum { S = 32, B = 4 };
    mg_cyclegan_config cfg = {.gen = {.kind = MG_GEN_RESNET, .ngf = 4, .blocks = 2, .dropout = false},
                              .ndf = 4,
                              .gan_mode = MG_GAN_LSGAN,
                              .lambda_cycle = 10.0f,
                              .lambda_identity = 0.5f,
                              .lr = 2e-4f,
                              .beta1 = 0.5f,
                              .beta2 = 0.999f};
    static float xa[B * S * S], xb[B * S * S];
    mg_rng r;
    mg_rng_seed(&r, 11, 1);
    for (int i = 0; i < B * S * S; i++) {
        xa[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
        xb[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
    }
    const uint64_t seed = 5, step = 0x9E3779B97F4A7C15ull;
    mg_cyclegan dm, one;
    mg_losses ld, l1, li;
    int bad = mg_cyclegan_new(be, &cfg, 3, &dm) != MG_OK || mg_cyclegan_new(be, &cfg, 3, &one) != MG_OK;
    mg_cyclegan_set_dist(&dm, d);
    bad = bad || mg_cyclegan_backward_batch(&dm, xa, xb, B, S, S, &r, seed, &ld) != MG_OK;
    size_t n = 0;
    float *g = bad ? NULL : model_grads(&dm, &n), *mine = NULL, *theirs = NULL;
    /* alone: the batch of four, then each sample by itself */
    bad = bad || !g || mg_cyclegan_backward_batch(&one, xa, xb, B, S, S, &r, seed, &l1) != MG_OK;
    float *seq = bad ? NULL : model_grads(&one, &n), *gi[B] = {NULL};
    float v[MG_LOSS_COUNT], sum[MG_LOSS_COUNT] = {0};
    for (int i = 0; i < B && !bad; i++) {
        bad = mg_cyclegan_backward(&one, xa + i * S * S, xb + i * S * S, S, S, &r, seed + i * step, &li) != MG_OK ||
              !(gi[i] = model_grads(&one, &n));
        mg_losses_to_array(&li, v);
        for (int k = 0; k < MG_LOSS_COUNT; k++)
            sum[k] += v[k];
    }
    size_t exact = 0, near = 0, nonzero = 0;
    for (size_t j = 0; j < n && !bad; j++) {
        const float want = ((gi[0][j] + gi[1][j]) + (gi[2][j] + gi[3][j])) / 4.0f;
        double mag = 0.0;
        for (int i = 0; i < B; i++)
            mag += fabs((double)gi[i][j]) / 4.0;
        exact += g[j] != want && mag >= 4.0 * FLT_MIN; /* quartering stays exact above the smallest normals */
        near += fabs((double)g[j] - (double)seq[j]) > 6.0 * 0x1p-24 * mag + 8.0 * FLT_MIN;
        nonzero += g[j] != 0.0f;
    }
    /* the other process holds the same bits */
    int rank = mg_dist_rank(d), size = mg_dist_size(d);
    mine = malloc(n * sizeof *mine);
    theirs = calloc((size_t)size * n, sizeof *theirs);
    if (!bad && mine && theirs) {
        memcpy(mine, g, n * sizeof *mine);
        bad = mg_dist_gather(d, mine, theirs, n * sizeof *mine) != MG_OK;
    }
    const bool same = !bad && theirs && !memcmp(theirs, theirs + (size_t)(size - 1) * n, n * sizeof *theirs);
    float vd[MG_LOSS_COUNT];
    mg_losses_to_array(&ld, vd);
    int loss_bad = 0;
    for (int k = 0; k < MG_LOSS_COUNT && !bad; k++)
        loss_bad += vd[k] != sum[k] / B;
    if (rank == 0) {
        if (!bad && size == 2 && exact == 0 && near == 0 && nonzero > n / 2 && same && loss_bad == 0)
            printf("grads ok: %zu values\n", n);
        else
            printf("grads failed: %d processes, %zu of %zu values not ((g0 + g1) + (g2 + g3)) / 4, %zu beyond the "
                   "bound from one process's, %zu nonzero, processes %s, %d losses differ%s\n",
                   size, exact, n, near, nonzero, same ? "agree" : "differ", loss_bad, bad ? ", a step failed" : "");
    }
    for (int i = 0; i < B; i++)
        free(gi[i]);
    free(g), free(seq), free(mine), free(theirs);
    mg_cyclegan_free(&dm);
    mg_cyclegan_free(&one);
    mg_backend_free(be);
    mg_dist_close(d);
    return 0;
}

static void dist_grads(const char *self)
{
    char *argv[] = {"mpirun", "--oversubscribe", "-np", "2", (char *)self, "--grads", NULL};
    int rc = finish(spawn_mpi(argv));
    char *out = (char *)read_file(tp(".stdout"), NULL);
    CHECK(rc == 0 && out && strstr(out, "grads ok"), "mpirun -np 2 test-dist --grads: exit %d: %s", rc,
          out ? out : "(no output)");
    free(out);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--grads"))
        return grads_mode(argc, argv);
    if (argc != 3) {
        fprintf(stderr, "usage: %s PATH/TO/mrigan PATH/TO/data/phantom\n", argv[0]);
        return 2;
    }
    if (!realpath(argv[1], mrigan_bin) || access(mrigan_bin, X_OK) != 0) {
        fprintf(stderr, "%s: not an executable: %s\n", argv[0], argv[1]);
        return 2;
    }
    snprintf(dir_a, sizeof dir_a, "%s/T1", argv[2]);
    snprintf(dir_b, sizeof dir_b, "%s/T2", argv[2]);
    /* Open MPI refuses root without these, and CI containers often forbid the cross-process memory copies of its
     * shared-memory transport */
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mrigan-dist-XXXXXX");
    if (!mkdtemp(tmp_dir) || chdir(tmp_dir) != 0) {
        perror("mkdtemp");
        return 1;
    }
    char self[PATH_MAX];
    if (!realpath("/proc/self/exe", self)) {
        perror("/proc/self/exe");
        return 1;
    }
    group_begin();
    dist_grads(self);
    group_end("0 a batch of 4 over 2 processes: ((g0 + g1) + (g2 + g3)) / 4 bit for bit on both, within the bound of "
              "the regrouping of one process's");
    group_begin();
    dist_same_as_batch();
    group_end("1 two processes of one crop each train what one process does with --batch-size 2, bit for bit");
    group_begin();
    dist_opencl();
    group_end("1b the same on an OpenCL device, whose gradients go through the host in pieces");
    group_begin();
    dist_resume();
    group_end("2 stopped and resumed under mpirun, or by one process: the uninterrupted run's checkpoint");
    group_begin();
    dist_killed();
    group_end("3 a process killed mid-run: the job ends saying how to resume, latest.ckpt intact, resumed as before");
    group_begin();
    dist_refused();
    group_end("4 a batch the processes cannot share, a folder in use, other settings, a missing resume: every process "
              "ends with a message, the folder untouched");
    return tests_end();
}
