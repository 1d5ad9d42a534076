/* End-to-end tests of the command-line program: runs the mrigan binary given as argv[1] with fork/execv,
 * checks exit statuses and the key words of its messages, and uses the library to make inputs and to inspect
 * what the program wrote (PNGs, checkpoints, losses.csv). Groups:
 *   1. training on the phantom makes the cycle loss fall, and the run folder holds every output;
 *   2. a run stopped and resumed (mid-epoch and at an epoch's end) repeats the uninterrupted run bit for bit;
 *   3. translate keeps odd sizes, writes 8- and 16-bit PNGs, runs both directions, is deterministic and
 *      matches the library's own pad-translate-crop;
 *   4. error cases exit non-zero with a message naming the problem, and damage nothing;
 *   5. SIGINT saves a checkpoint and exits with status 130, and the run resumes from it.
 * Temporary files live in a mkdtemp folder under /tmp, removed at the end. Prints one "ok ..." line per
 * group; exits non-zero on any failure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "mrigan/checkpoint.h"
#include "mrigan/cyclegan.h"
#include "mrigan/image.h"
#include "tmpdir.h"

#define MAX_ARGS      64
#define CHILD_TIMEOUT 300.0 /* seconds one command may run before it is killed */

static int failures, group_failures;
static char tmp_dir[64];
static char mrigan_bin[2 * PATH_MAX];
static char last_cmd[4096];
static char *last_err; /* the last command's stderr */

static void report_command(void)
{
    if (!last_cmd[0])
        return;
    const char *e = last_err ? last_err : "";
    size_t n = strlen(e);
    fprintf(stderr, "  last command: %s\n  its stderr%s: %s\n", last_cmd, n > 2000 ? " (end)" : "",
            n > 2000 ? e + n - 2000 : e);
}

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            failures++;                                                                                                \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                       \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, " [last error: %s]\n", mg_last_error());                                                   \
            report_command();                                                                                          \
        }                                                                                                              \
    } while (0)

/* Like CHECK, but leaves the calling group (whose later checks need this one) at once. */
#define REQUIRE(cond, ...)                                                                                             \
    do {                                                                                                               \
        int failures_before_ = failures;                                                                               \
        CHECK(cond, __VA_ARGS__);                                                                                      \
        if (failures != failures_before_)                                                                              \
            return;                                                                                                    \
    } while (0)

static double group_t0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void group_begin(void)
{
    group_failures = failures;
    group_t0 = now_s();
}

static void group_end(const char *name)
{
    printf("%s %s (%.1f s)\n", failures == group_failures ? "ok" : "not ok", name, now_s() - group_t0);
    fflush(stdout);
}

/* ------------------------------------------------------------------ files */
/* A path under the temporary folder, in one of 32 rotating buffers (enough for one statement's worth). */
static const char *tp(const char *fmt, ...)
{
    static char bufs[32][1024];
    static int next;
    char *b = bufs[next++ % 32];
    int n = snprintf(b, sizeof bufs[0], "%s/", tmp_dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, sizeof bufs[0] - (size_t)n, fmt, ap);
    va_end(ap);
    return b;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Regular files in dir (not "." entries); -1 when dir cannot be read. */
static int count_files(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(dp));)
        n += e->d_name[0] != '.';
    closedir(dp);
    return n;
}

/* The whole file, NUL-terminated (NULL when it cannot be read); *n gets its length when n is not NULL. */
static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len, fp)) > 0;) {
        len += got;
        if (len == cap) {
            unsigned char *p = realloc(buf, 2 * cap + 1);
            if (!p)
                free(buf);
            buf = p;
            cap *= 2;
        }
    }
    fclose(fp);
    if (buf)
        buf[len] = 0;
    if (n)
        *n = len;
    return buf;
}

static bool write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    bool ok = fp && fwrite(data, 1, n, fp) == n;
    if (fp && fclose(fp) != 0)
        ok = false;
    return ok;
}

static bool copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = read_file(from, &n);
    bool ok = b && write_file(to, b, n);
    free(b);
    return ok;
}

static bool files_equal(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = read_file(a, &na), *y = read_file(b, &nb);
    bool eq = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

/* Byte 24 of a PNG: the bit depth in its IHDR chunk; -1 when the file does not start like a PNG. */
static int png_bit_depth(const char *path)
{
    size_t n;
    unsigned char *b = read_file(path, &n);
    int depth = b && n > 25 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8) && !memcmp(b + 12, "IHDR", 4) ? b[24] : -1;
    free(b);
    return depth;
}

/* ------------------------------------------------------------------ running the program */
static pid_t spawn(char **argv)
{
    size_t len = 0;
    last_cmd[0] = 0;
    for (int i = 0; argv[i] && len < sizeof last_cmd; i++)
        len += (size_t)snprintf(last_cmd + len, sizeof last_cmd - len, "%s%s", i ? " " : "", argv[i]);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int err = open(tp(".stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int out = open(tp(".stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (err < 0 || out < 0 || dup2(err, 2) < 0 || dup2(out, 1) < 0)
            _exit(126);
        close(err);
        close(out);
        execv(mrigan_bin, argv);
        dprintf(2, "test-cli: cannot run %s: %s\n", mrigan_bin, strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Waits for pid (killing it after CHILD_TIMEOUT seconds) and reads its stderr into last_err. The exit status,
 * or 128 + the signal that ended it; -1 when it could not be started. */
static int finish(pid_t pid)
{
    if (pid < 0)
        return -1;
    int status = 0;
    struct timespec nap = {0, 10000000};
    for (double waited = 0;; waited += 0.01) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (waited > CHILD_TIMEOUT) {
            fprintf(stderr, "killing '%s' after %.0f s\n", last_cmd, CHILD_TIMEOUT);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        nanosleep(&nap, NULL);
    }
    free(last_err);
    last_err = (char *)read_file(tp(".stderr"), NULL);
    if (!last_err)
        last_err = calloc(1, 1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* Builds argv from a NULL-terminated list of strings; a NULL-terminated array of strings can be spliced in with
 * the marker ARGS_SPLICE followed by the array. */
static const char ARGS_SPLICE[] = "<splice>";

static void build_argv(char **argv, const char *first, va_list ap)
{
    int n = 0;
    argv[n++] = mrigan_bin;
    for (const char *a = first; a && n < MAX_ARGS - 1; a = va_arg(ap, const char *)) {
        if (a == ARGS_SPLICE) {
            char **list = va_arg(ap, char **);
            for (int i = 0; list[i] && n < MAX_ARGS - 1; i++)
                argv[n++] = list[i];
        } else {
            argv[n++] = (char *)a;
        }
    }
    argv[n] = NULL;
}

/* Runs "mrigan ARGS..." to its end; the exit status. */
static int mrigan(const char *first, ...)
{
    char *argv[MAX_ARGS];
    va_list ap;
    va_start(ap, first);
    build_argv(argv, first, ap);
    va_end(ap);
    return finish(spawn(argv));
}

static pid_t mrigan_start(const char *first, ...)
{
    char *argv[MAX_ARGS];
    va_list ap;
    va_start(ap, first);
    build_argv(argv, first, ap);
    va_end(ap);
    return spawn(argv);
}

static bool err_has(const char *what) { return last_err && strstr(last_err, what); }

/* ------------------------------------------------------------------ losses.csv and checkpoints */
#define CSV_COLS 13
static const char CSV_HEADER[] =
    "iteration,epoch,lr,D_A,D_B,adv_AB,adv_BA,cyc_ABA,cyc_BAB,idt_AB,idt_BA,G_total,seconds\n";

/* The data rows of a losses.csv (up to max_rows); -1 when the file is missing, has another header or a row
 * that is not CSV_COLS finite numbers. */
static int read_csv(const char *path, double (*rows)[CSV_COLS], int max_rows)
{
    char *text = (char *)read_file(path, NULL);
    if (!text || strncmp(text, CSV_HEADER, sizeof CSV_HEADER - 1) != 0) {
        free(text);
        return -1;
    }
    int n = 0;
    for (char *p = text + sizeof CSV_HEADER - 1; *p; n++) {
        for (int k = 0; k < CSV_COLS; k++) {
            char *end;
            double v = strtod(p, &end);
            if (end == p || !isfinite(v) || *end != (k + 1 < CSV_COLS ? ',' : '\n')) {
                free(text);
                return -1;
            }
            if (n < max_rows)
                rows[n][k] = v;
            p = end + 1;
        }
    }
    free(text);
    return n;
}

static int csv_rows(const char *path)
{
    static double rows[1][CSV_COLS];
    return read_csv(path, rows, 0);
}

/* Every field of two CSV files equal, except the columns whose header names are in `clocks` (wall-clock
 * times, comma-separated). */
static bool csv_equal_but_clocks(const char *a, const char *b, const char *clocks, char *why, size_t len)
{
    char *x = (char *)read_file(a, NULL), *y = (char *)read_file(b, NULL);
    bool eq = x && y, skip[64] = {false};
    snprintf(why, len, "cannot read them");
    int line = 1;
    for (char *p = x, *q = y; eq && (*p || *q); line++) {
        char *pe = strchr(p, '\n'), *qe = strchr(q, '\n');
        if (!pe || !qe) {
            eq = !pe && !qe && !strcmp(p, q);
            snprintf(why, len, "they end differently at line %d", line);
            break;
        }
        *pe = *qe = 0;
        int col = 0;
        for (char *f = p, *g = q; eq && col < 64; col++) {
            size_t fl = strcspn(f, ","), gl = strcspn(g, ",");
            if (line == 1) { /* the header names the columns to skip */
                char name[64];
                snprintf(name, sizeof name, ",%.*s,", (int)fl, f);
                char list[256];
                snprintf(list, sizeof list, ",%s,", clocks);
                skip[col] = strstr(list, name) != NULL;
            }
            eq = skip[col] || (fl == gl && !memcmp(f, g, fl));
            if (!f[fl] || !g[gl]) {
                eq = eq && !f[fl] && !g[gl];
                break;
            }
            f += fl + 1;
            g += gl + 1;
        }
        if (!eq)
            snprintf(why, len, "line %d, column %d: '%s' vs '%s'", line, col + 1, p, q);
        p = pe + 1;
        q = qe + 1;
    }
    if (eq)
        why[0] = 0;
    free(x);
    free(y);
    return eq;
}

/* Same configuration text and the same entries (names, shapes, every float bit for bit). */
static bool ckpt_files_equal(const char *a, const char *b, char *why, size_t len)
{
    mg_ckpt x, y;
    mg_ckpt_init(&x);
    mg_ckpt_init(&y);
    why[0] = 0;
    if (mg_ckpt_load(a, &x) != MG_OK || mg_ckpt_load(b, &y) != MG_OK)
        snprintf(why, len, "cannot load: %s", mg_last_error());
    else if (!x.config || !y.config || strcmp(x.config, y.config))
        snprintf(why, len, "configurations differ");
    else if (x.n_entries != y.n_entries)
        snprintf(why, len, "%d entries vs %d", x.n_entries, y.n_entries);
    for (int i = 0; !why[0] && i < x.n_entries; i++) {
        const mg_ckpt_entry *e = &x.entries[i], *f = mg_ckpt_find(&y, e->name);
        if (!f || f->ndim != e->ndim || memcmp(f->shape, e->shape, (size_t)e->ndim * sizeof(int)))
            snprintf(why, len, "entry %s: missing or of another shape", e->name);
        else if (memcmp(e->data, f->data, e->numel * sizeof(float)))
            snprintf(why, len, "entry %s: values differ", e->name);
    }
    mg_ckpt_free(&x);
    mg_ckpt_free(&y);
    return !why[0];
}

/* A checkpoint's integer configuration value, or LONG_MIN. */
static long ckpt_long(const char *path, const char *key)
{
    mg_ckpt c;
    char buf[64];
    long v = LONG_MIN;
    if (mg_ckpt_load(path, &c) == MG_OK && mg_ckpt_get(&c, key, buf, sizeof buf) == MG_OK)
        v = strtol(buf, NULL, 10);
    mg_ckpt_free(&c);
    return v;
}

static int ckpt_entries(const char *path)
{
    mg_ckpt c;
    int n = mg_ckpt_load(path, &c) == MG_OK ? c.n_entries : -1;
    mg_ckpt_free(&c);
    return n;
}

static bool png_size_is(const char *path, int width, int height)
{
    mg_image img = {0};
    bool ok = mg_image_load_png(path, &img) == MG_OK && img.width == width && img.height == height;
    mg_image_free(&img);
    return ok;
}

/* ------------------------------------------------------------------ shared inputs */
/* The runs later groups use. */
#define PHANTOM_COUNT 12
#define RUN1_EPOCHS   10
#define RESUME_COUNT  8 /* images of the 72x72 phantom for the resume group */

/* The CPU backend with one thread in every run: results are reproducible for a given backend and thread count
 * only (and the library's own translation below runs there), and one thread keeps the runtime small when other
 * jobs share the machine's cores. */
#define THREADS "1"
static char *cpu_opts[] = {"--backend", "cpu", "--threads", THREADS, NULL};

/* clang-format off */
static char *run1_opts[] = {"--size", "32", "--ngf", "8", "--ndf", "8", "--epochs", "10", "--epochs-decay", "0",
                            "--lr", "5e-4", "--seed", "1", "--backend", "cpu", "--threads", THREADS, NULL};
/* clang-format on */

static void test_phantom(void)
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
static void test_train(void)
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
        CHECK(png_size_is(tp("R1/samples/epoch_%03d.png", e), 3 * 64, 2 * 64),
              "samples/epoch_%03d.png should be a 192x128 PNG", e);
    }
    CHECK(!exists(tp("R1/samples/epoch_%03d.png", RUN1_EPOCHS + 1)), "no samples past the last epoch");
    mg_image plot = {0};
    CHECK(mg_image_load_png(tp("R1/loss.png"), &plot) == MG_OK && plot.width > 100 && plot.height > 100,
          "loss.png should be a plot");
    mg_image_free(&plot);
}

/* ------------------------------------------------------------------ 2. resume */
/* A small model for the runs that fail before training (the model is built before the data is checked). */
static char *small_opts[] = {"--ngf", "4", "--ndf", "4", "--backend", "cpu", "--threads", THREADS, NULL};

/* clang-format off */
static char *resume_opts[] = {"--a", NULL, "--b", NULL, "--size", "64", "--ngf", "4", "--ndf", "4", "--epochs", "2",
                              "--epochs-decay", "1", "--seed", "3", "--pool-size", "3", "--backend", "cpu",
                              "--threads", THREADS, NULL};
/* clang-format on */

static void test_resume(void)
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
    /* A resumed epoch's seconds add up its parts: no longer than this whole group has taken. */
    char *epochs = (char *)read_file(tp("B/epochs.csv"), NULL);
    for (char *p = epochs ? strchr(epochs, '\n') : NULL; p && p[1]; p = strchr(p + 1, '\n')) {
        double secs = -1;
        CHECK(sscanf(p + 1, "%*d,%*g,%lg", &secs) == 1 && secs >= 0 && secs <= now_s() - group_t0,
              "B/epochs.csv: an epoch of %g s in a group that has run %.1f s", secs, now_s() - group_t0);
    }
    free(epochs);
    CHECK(ckpt_files_equal(tp("A/latest.ckpt"), tp("B/latest.ckpt"), why, sizeof why),
          "latest.ckpt of A and B differ: %s", why);
    CHECK(ckpt_files_equal(tp("A/epoch_003.ckpt"), tp("B/epoch_003.ckpt"), why, sizeof why),
          "epoch_003.ckpt of A and B differ: %s", why);
    for (int e = 1; e <= 3; e++)
        CHECK(files_equal(tp("A/samples/epoch_%03d.png", e), tp("B/samples/epoch_%03d.png", e)),
              "samples/epoch_%03d.png of A and B differ", e);
    CHECK(files_equal(tp("A/loss.png"), tp("B/loss.png")), "loss.png of A and B differ");
}

/* ------------------------------------------------------------------ 3. translate */
static bool write_test_image(const char *path, int w, int h)
{
    mg_image img = {0};
    if (mg_image_new(w, h, &img) != MG_OK)
        return false;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = (x - 0.45 * w) / (0.35 * w), v = (y - 0.5 * h) / (0.4 * h), r2 = u * u + v * v;
            img.data[(size_t)y * w + x] = (float)(r2 < 1 ? 0.6 * cos(3 * u) * (1 - r2) + 0.2 * sin(5 * v) : -1);
        }
    bool ok = mg_image_save_png(path, &img, 8) == MG_OK;
    mg_image_free(&img);
    return ok;
}

/* The largest difference between two PNGs of the same size (INFINITY when they cannot be compared). */
static double png_max_diff(const char *a, const char *b)
{
    mg_image x = {0}, y = {0};
    double d = INFINITY;
    if (mg_image_load_png(a, &x) == MG_OK && mg_image_load_png(b, &y) == MG_OK && x.width == y.width &&
        x.height == y.height) {
        d = 0;
        for (size_t i = 0; i < (size_t)x.width * x.height; i++)
            d = fmax(d, fabs((double)x.data[i] - y.data[i]));
    }
    mg_image_free(&x);
    mg_image_free(&y);
    return d;
}

/* What the library makes of input through checkpoint ckpt, direction d: pad to the generator's multiple,
 * translate, crop back; the largest difference to the program's output png. */
static double library_diff(const char *ckpt, int d, const char *input, const char *png)
{
    mg_ckpt c;
    mg_cyclegan_config cfg;
    mg_backend *be = NULL;
    mg_cyclegan m;
    bool have_model = false;
    mg_image in = {0}, padded = {0}, y = {0}, want = {0}, got = {0};
    int ox, oy;
    double diff = INFINITY;
    mg_status s = mg_ckpt_load(ckpt, &c);
    if (s == MG_OK)
        s = mg_cyclegan_config_load(&c, &cfg);
    if (s == MG_OK)
        s = mg_backend_cpu_new(1, &be);
    if (s == MG_OK && (s = mg_cyclegan_new(be, &cfg, 0, &m)) == MG_OK)
        have_model = true;
    if (s == MG_OK)
        s = mg_cyclegan_load(&m, &c, false);
    if (s == MG_OK)
        s = mg_image_load_png(input, &in);
    if (s == MG_OK)
        s = mg_image_pad_to_multiple(&in, mg_generator_multiple(&cfg.gen), &padded, &ox, &oy);
    if (s == MG_OK)
        s = mg_image_new(padded.width, padded.height, &y);
    if (s == MG_OK)
        s = mg_cyclegan_translate(&m, d, padded.data, padded.height, padded.width, y.data);
    if (s == MG_OK)
        s = mg_image_crop(&y, ox, oy, in.width, in.height, &want);
    if (s == MG_OK)
        s = mg_image_load_png(png, &got);
    if (s == MG_OK && got.width == want.width && got.height == want.height) {
        diff = 0;
        for (size_t i = 0; i < (size_t)got.width * got.height; i++)
            diff = fmax(diff, fabs((double)got.data[i] - want.data[i]));
    }
    mg_image_free(&in);
    mg_image_free(&padded);
    mg_image_free(&y);
    mg_image_free(&want);
    mg_image_free(&got);
    if (have_model)
        mg_cyclegan_free(&m);
    mg_backend_free(be);
    mg_ckpt_free(&c);
    return diff;
}

static void test_translate(void)
{
    char ckpt[1024];
    snprintf(ckpt, sizeof ckpt, "%s", tp("R1/latest.ckpt"));
    REQUIRE(exists(ckpt), "group 3 needs the run of group 1");
    mkdir(tp("in"), 0777);
    REQUIRE(write_test_image(tp("in/odd1.png"), 181, 217) && write_test_image(tp("in/odd2.png"), 37, 23) &&
                write_file(tp("in/notes.txt"), "not an image\n", 13),
            "cannot write the inputs");
    static const struct {
        const char *name;
        int w, h;
    } imgs[] = {{"odd1.png", 181, 217}, {"odd2.png", 37, 23}};
    const double q8 = 1.0 / 255 + 1e-4, q16 = 1.0 / 65535 + 1e-4; /* half a quantisation step, and some */

    int rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("out8"),
                    tp("in"), NULL);
    REQUIRE(rc == 0, "translate a2b exited with %d", rc);
    CHECK(err_has("2 images"), "translate should count 2 images");
    CHECK(count_files(tp("out8")) == 2, "out8 should hold exactly the 2 translated PNGs");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--16bit", "--out",
                tp("out16"), tp("in"), NULL);
    CHECK(rc == 0, "translate --16bit exited with %d", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "b2a", "--out", tp("outba"),
                tp("in"), NULL);
    CHECK(rc == 0 && err_has("B->A"), "translate b2a exited with %d", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("again"),
                tp("in/odd1.png"), tp("in/odd2.png"), NULL);
    CHECK(rc == 0, "translate of two files exited with %d", rc);
    for (size_t i = 0; i < sizeof imgs / sizeof *imgs; i++) {
        const char *name = imgs[i].name;
        char in[1024], o8[1024];
        snprintf(in, sizeof in, "%s", tp("in/%s", name));
        snprintf(o8, sizeof o8, "%s", tp("out8/%s", name));
        int w = imgs[i].w, h = imgs[i].h;
        CHECK(png_size_is(o8, w, h), "out8/%s should be %dx%d", name, w, h);
        CHECK(png_size_is(tp("out16/%s", name), w, h), "out16/%s should be %dx%d", name, w, h);
        CHECK(png_size_is(tp("outba/%s", name), w, h), "outba/%s should be %dx%d", name, w, h);
        CHECK(png_bit_depth(o8) == 8, "out8/%s: bit depth %d", name, png_bit_depth(o8));
        CHECK(png_bit_depth(tp("out16/%s", name)) == 16, "out16/%s: bit depth %d", name,
              png_bit_depth(tp("out16/%s", name)));
        CHECK(files_equal(o8, tp("again/%s", name)), "translating %s twice gave different files", name);
        double d16 = png_max_diff(o8, tp("out16/%s", name)), dba = png_max_diff(o8, tp("outba/%s", name));
        CHECK(d16 <= q8 + q16, "%s: 8- and 16-bit outputs differ by %g", name, d16);
        CHECK(dba > 0.01 && isfinite(dba), "%s: a2b and b2a outputs should differ (%g)", name, dba);
        double dl = library_diff(ckpt, 0, in, o8);
        CHECK(dl <= q8, "%s: a2b differs from the library's pad-translate-crop by %g", name, dl);
        dl = library_diff(ckpt, 1, in, tp("outba/%s", name));
        CHECK(dl <= q8, "%s: b2a differs from the library's pad-translate-crop by %g", name, dl);
    }
    /* a weights-only snapshot and a checkpoint of another depth (64x64 crops: multiple 64) */
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("R1/epoch_%03d.ckpt", RUN1_EPOCHS),
                "--direction", "a2b", "--out", tp("snap"), tp("in/odd2.png"), NULL);
    CHECK(rc == 0 && files_equal(tp("snap/odd2.png"), tp("out8/odd2.png")),
          "translate with epoch_%03d.ckpt: exit %d, output should equal latest.ckpt's", RUN1_EPOCHS, rc);
    if (exists(tp("A/latest.ckpt"))) {
        rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("A/latest.ckpt"), "--direction", "b2a",
                    "--out", tp("deep"), tp("in"), NULL);
        CHECK(rc == 0 && png_size_is(tp("deep/odd1.png"), 181, 217) && png_size_is(tp("deep/odd2.png"), 37, 23),
              "translate with a depth-6 checkpoint: exit %d or wrong sizes", rc);
        CHECK(library_diff(tp("A/latest.ckpt"), 1, tp("in/odd2.png"), tp("deep/odd2.png")) <= q8,
              "depth-6 b2a differs from the library's pad-translate-crop");
    }
}

/* ------------------------------------------------------------------ 4. errors */
/* Inverts the middle byte of a file (inside a tensor's data for a checkpoint). */
static bool flip_middle_byte(const char *path)
{
    size_t n;
    unsigned char *b = read_file(path, &n);
    bool ok = b && n > 0;
    if (ok) {
        b[n / 2] ^= 0xFF;
        ok = write_file(path, b, n);
    }
    free(b);
    return ok;
}

/* A copy of a checkpoint claiming format version `version`, with a valid CRC. */
static bool write_version(const char *from, const char *to, uint32_t version)
{
    size_t n;
    unsigned char *b = read_file(from, &n);
    bool ok = b && n > 28;
    if (ok) {
        for (int i = 0; i < 4; i++)
            b[8 + i] = (unsigned char)(version >> 8 * i);
        uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), b, (uInt)(n - 4));
        for (int i = 0; i < 4; i++)
            b[n - 4 + i] = (unsigned char)(crc >> 8 * i);
        ok = write_file(to, b, n);
    }
    free(b);
    return ok;
}

static void test_errors(void)
{
    char ckpt[1024], pa[1024], pb[1024], in[1024], missing[1024];
    snprintf(ckpt, sizeof ckpt, "%s", tp("R1/latest.ckpt"));
    snprintf(pa, sizeof pa, "%s", tp("P/T1"));
    snprintf(pb, sizeof pb, "%s", tp("P/T2"));
    snprintf(in, sizeof in, "%s", tp("in/odd2.png"));
    snprintf(missing, sizeof missing, "%s", tp("no-such-folder"));
    REQUIRE(exists(ckpt) && exists(in), "group 4 needs the runs of groups 1 and 3");
    size_t n_snap;
    unsigned char *snap = read_file(ckpt, &n_snap);
    int rc;

    /* options */
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e0"), "--bogus-flag", NULL);
    CHECK(rc == 2 && err_has("--bogus-flag"), "train --bogus-flag: exit %d (want 2, naming the flag)", rc);
    CHECK(!exists(tp("e0")), "a refused command should create nothing");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("e0"),
                "--colour", tp("in"), NULL);
    CHECK(rc == 2 && err_has("--colour"), "translate --colour: exit %d (want 2, naming the flag)", rc);
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e0"), "--size", "big", NULL);
    CHECK(rc == 2 && err_has("--size"), "train --size big: exit %d (want 2, naming --size)", rc);
    rc = mrigan("train", "--a", pa, "--out", tp("e0"), NULL);
    CHECK(rc == 2 && err_has("--b"), "train --a without --b: exit %d (want 2, naming --b)", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--out", tp("e0"), tp("in"), NULL);
    CHECK(rc == 2 && err_has("--direction"), "translate without --direction: exit %d (want 2)", rc);
    rc = mrigan("frobnicate", NULL);
    CHECK(rc == 2 && err_has("frobnicate"), "unknown command: exit %d (want 2)", rc);

    /* training data */
    rc = mrigan("train", "--a", missing, "--b", pb, "--out", tp("e1"), "--size", "32", ARGS_SPLICE, small_opts, NULL);
    CHECK(rc == 1 && err_has(missing), "train --a <missing folder>: exit %d (want 1, naming the folder)", rc);
    CHECK(!exists(tp("e1/latest.ckpt")), "a failed run should write no checkpoint");
    mkdir(tp("empty"), 0777);
    rc = mrigan("train", "--a", pa, "--b", tp("empty"), "--out", tp("e2"), "--size", "32", ARGS_SPLICE, small_opts,
                NULL);
    CHECK(rc == 1 && err_has(tp("empty")) && err_has("png"),
          "train --b <folder without images>: exit %d (want 1, naming the folder)", rc);
    mkdir(tp("badA"), 0777);
    for (int i = 0; i < 3; i++)
        CHECK(copy_file(tp("P/T1/phantom_%03d.png", i), tp("badA/phantom_%03d.png", i)), "copying a slice");
    CHECK(write_file(tp("badA/x.png"), "this is not a PNG\n", 18), "writing x.png");
    rc =
        mrigan("train", "--a", tp("badA"), "--b", pb, "--out", tp("e3"), "--size", "32", ARGS_SPLICE, small_opts, NULL);
    CHECK(rc == 1 && err_has(tp("badA/x.png")), "train with a text file x.png: exit %d (want 1, naming it)", rc);
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e4"), "--size", "256", ARGS_SPLICE, small_opts, NULL);
    CHECK(rc == 1 && err_has("smaller than") && err_has("phantom_000.png"),
          "--size 256 on 64x64 slices: exit %d (want 1, 'smaller than the crop')", rc);
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e5"), "--size", "48", ARGS_SPLICE, small_opts, NULL);
    CHECK(rc == 2 && err_has("multiple"), "--size 48 (not a multiple of 32 for the unet): exit %d (want 2)", rc);

    /* checkpoints for translate */
    CHECK(write_file(tp("garbage.ckpt"), "MRIGAN? no, just text\n", 22), "writing garbage.ckpt");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("garbage.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("garbage.ckpt")), "translate with a garbage checkpoint: exit %d (want 1)", rc);
    CHECK(count_files(tp("e6")) <= 0, "a failed translate should write no image");
    CHECK(write_version(ckpt, tp("v2.ckpt"), MG_CKPT_VERSION + 1), "writing v2.ckpt");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("v2.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("v2.ckpt")) && err_has("version"),
          "translate with a version-%d checkpoint: exit %d (want 1, naming the file and the version)",
          MG_CKPT_VERSION + 1, rc);
    CHECK(copy_file(ckpt, tp("crc.ckpt")) && flip_middle_byte(tp("crc.ckpt")), "writing crc.ckpt");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("crc.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("crc.ckpt")) && err_has("CRC"),
          "translate with a damaged checkpoint: exit %d (want 1, naming the file and the CRC)", rc);
    mg_ckpt other;
    mg_ckpt_init(&other);
    float one = 1;
    CHECK(mg_ckpt_set(&other, "format", "something-else") == MG_OK &&
              mg_ckpt_add(&other, "w", 1, (int[]){1}, &one) == MG_OK && mg_ckpt_save(&other, tp("other.ckpt")) == MG_OK,
          "writing other.ckpt");
    mg_ckpt_free(&other);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("other.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("other.ckpt")), "translate with a valid non-CycleGAN checkpoint: exit %d (want 1)", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("no-such.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("no-such.ckpt")), "translate with a missing checkpoint: exit %d (want 1)", rc);
    CHECK(count_files(tp("e6")) <= 0, "failed translations should write no image");

    /* inputs for translate */
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("e7"),
                tp("in/none.png"), NULL);
    CHECK(rc == 1 && err_has(tp("in/none.png")), "translate of a missing file: exit %d (want 1, naming it)", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("e7"),
                tp("empty"), NULL);
    CHECK(rc == 1 && err_has(tp("empty")), "translate of a folder without images: exit %d (want 1, naming it)", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("e7"),
                tp("badA/x.png"), NULL);
    CHECK(rc == 1 && err_has(tp("badA/x.png")), "translate of a text file: exit %d (want 1, naming it)", rc);
    CHECK(!exists(tp("e7/x.png")) && !exists(tp("e7/none.png")), "failed translations should write no image");

    /* resume */
    mkdir(tp("broken"), 0777);
    CHECK(copy_file(ckpt, tp("broken/latest.ckpt")) && copy_file(tp("R1/losses.csv"), tp("broken/losses.csv")) &&
              flip_middle_byte(tp("broken/latest.ckpt")),
          "writing broken/");
    size_t n_broken;
    unsigned char *broken = read_file(tp("broken/latest.ckpt"), &n_broken);
    rc = mrigan("train", "--resume", tp("broken"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has(tp("broken/latest.ckpt")) && err_has("CRC"),
          "--resume from a damaged latest.ckpt: exit %d (want 1, naming the file and the CRC)", rc);
    unsigned char *broken_after = read_file(tp("broken/latest.ckpt"), NULL);
    CHECK(broken && broken_after && !memcmp(broken, broken_after, n_broken), "a failed resume rewrote latest.ckpt");
    CHECK(files_equal(tp("broken/losses.csv"), tp("R1/losses.csv")), "a failed resume changed losses.csv");
    free(broken);
    free(broken_after);
    CHECK(copy_file(tp("R1/epoch_%03d.ckpt", RUN1_EPOCHS), tp("broken/latest.ckpt")), "copying a snapshot");
    rc = mrigan("train", "--resume", tp("broken"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has(tp("broken/latest.ckpt")),
          "--resume from a weights-only snapshot: exit %d (want 1, naming the file)", rc);
    rc = mrigan("train", "--resume", tp("empty"), NULL);
    CHECK(rc == 1 && err_has(tp("empty/latest.ckpt")), "--resume from a folder without a run: exit %d", rc);

    /* nothing damaged */
    size_t n_now;
    unsigned char *now = read_file(ckpt, &n_now);
    CHECK(snap && now && n_snap == n_now && !memcmp(snap, now, n_now), "R1/latest.ckpt changed");
    CHECK(ckpt_entries(ckpt) > 0, "R1/latest.ckpt no longer loads");
    free(snap);
    free(now);
}

/* ------------------------------------------------------------------ 5. SIGINT */
static void test_interrupt(void)
{
    pid_t pid =
        mrigan_start("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("I"), "--size", "32", "--ngf", "8",
                     "--ndf", "8", "--epochs", "100000", "--epochs-decay", "0", ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(pid > 0, "cannot start train");
    struct timespec nap = {0, 20000000};
    int rows = -1;
    for (int i = 0; i < 6000 && rows < 1; i++) { /* up to 2 minutes */
        nanosleep(&nap, NULL);
        rows = exists(tp("I/losses.csv")) ? csv_rows(tp("I/losses.csv")) : -1;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            pid = -1;
            break;
        }
    }
    if (pid > 0)
        kill(pid, SIGINT);
    int rc = finish(pid);
    REQUIRE(rows >= 1, "losses.csv never got a row");
    CHECK(rc == 130 && err_has("interrupted") && err_has("--resume"),
          "after SIGINT: exit %d (want 130 and a message saying how to resume)", rc);
    rows = csv_rows(tp("I/losses.csv"));
    long it = ckpt_long(tp("I/latest.ckpt"), "run.iteration");
    REQUIRE(rows > 0 && it == rows, "after SIGINT: latest.ckpt at iteration %ld, losses.csv %d rows", it, rows);
    rc = mrigan("train", "--resume", tp("I"), "--max-iterations", "2", ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0, "resume after SIGINT exited with %d", rc);
    CHECK(csv_rows(tp("I/losses.csv")) == rows + 2 && ckpt_long(tp("I/latest.ckpt"), "run.iteration") == it + 2,
          "resume --max-iterations 2: %d rows (want %d), run.iteration %ld", csv_rows(tp("I/losses.csv")), rows + 2,
          ckpt_long(tp("I/latest.ckpt"), "run.iteration"));
}

/* ------------------------------------------------------------------ 6. validation, best checkpoint, report */
/* The epoch of val.csv's highest score, or -1. */
static int val_best_epoch(const char *path, int *rows)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int best = -1;
    double best_score = -1e300;
    *rows = 0;
    if (!f)
        return -1;
    for (bool header = true; fgets(line, sizeof line, f); header = false) {
        if (header)
            continue;
        const char *last = strrchr(line, ',');
        double score = last ? strtod(last + 1, NULL) : -1e300;
        (*rows)++;
        if (score > best_score) {
            best_score = score;
            best = atoi(line);
        }
    }
    fclose(f);
    return best;
}

/* Lines after the header of any text file, or -1. */
static int data_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = -1, c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n')
            n++;
        last = c;
    }
    fclose(f);
    return last == '\n' ? n : n + 1;
}

static void test_validation(void)
{
    /* Paired validation on the phantom's own pairs; then the same run resumed from another folder. */
    int rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--val-a", tp("P/T1"), "--val-b", tp("P/T2"),
                    "--out", tp("V"), "--size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "2", "--epochs-decay",
                    "1", "--max-iterations", "30", ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(rc == 0, "train with validation exited with %d", rc);
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", tp("V"));
    REQUIRE(chdir("/") == 0, "chdir");
    rc = mrigan("train", "--resume", out, ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(chdir(tmp_dir) == 0, "chdir back");
    CHECK(rc == 0, "--resume from another working folder exited with %d", rc);
    int rows = 0, best = val_best_epoch(tp("V/val.csv"), &rows);
    CHECK(rows == 3, "val.csv has %d rows, expected one per epoch (3)", rows);
    CHECK(data_lines(tp("V/epochs.csv")) == 3, "epochs.csv has %d rows, expected 3", data_lines(tp("V/epochs.csv")));
    size_t n = 0;
    char *best_txt = (char *)read_file(tp("V/best.txt"), &n);
    char want[32];
    snprintf(want, sizeof want, "epoch=%d\n", best);
    CHECK(best_txt && strstr(best_txt, want), "best.txt should name epoch %d, the best score of val.csv", best);
    free(best_txt);
    CHECK(ckpt_entries(tp("V/best.ckpt")) > 0, "best.ckpt should load");
    size_t html_len = 0;
    char *html = (char *)read_file(tp("V/report.html"), &html_len);
    CHECK(html && strstr(html, "<svg") && strstr(html, "data:image/png;base64,"),
          "report.html should hold SVG curves and embedded sample grids");
    free(html);
    CHECK(exists(tp("V/config.txt")), "config.txt missing");
    /* eval straight from the best checkpoint, and the identity baseline, on the same pairs */
    rc = mrigan("eval", "--checkpoint", tp("V/best.ckpt"), "--a", tp("P/T1"), "--b", tp("P/T2"), "--csv",
                tp("V/eval.csv"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0 && data_lines(tp("V/eval.csv")) > 0, "eval from best.ckpt exited with %d", rc);
    rc = mrigan("eval", "--identity", "--a", tp("P/T1"), "--b", tp("P/T2"), NULL);
    CHECK(rc == 0, "eval --identity exited with %d", rc);
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--val-a", tp("P/T1"), "--out", tp("V2"), NULL);
    CHECK(rc == 2 && err_has("--val-b"), "--val-a without --val-b: exit %d", rc);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/TO/mrigan\n", argv[0]);
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
              "from another folder");

    free(last_err);
    if (chdir("/") != 0)
        perror("chdir");
    if (getenv("MRIGAN_TEST_KEEP"))
        fprintf(stderr, "kept %s (MRIGAN_TEST_KEEP is set)\n", tmp_dir);
    else
        remove_tree(tmp_dir);
    if (failures)
        fprintf(stderr, "%d check%s failed\n", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
