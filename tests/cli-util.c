/* The helpers of the command-line tests (see cli.h): running the program, files, run outputs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
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

#include "cli.h"
#include "tmpdir.h"

int failures, group_failures;
char tmp_dir[64];
char mrigan_bin[2 * PATH_MAX];
char last_cmd[4096];
char *last_err; /* the last command's stderr */

void report_command(void)
{
    if (!last_cmd[0])
        return;
    const char *e = last_err ? last_err : "";
    size_t n = strlen(e);
    fprintf(stderr, "  last command: %s\n  its stderr%s: %s\n", last_cmd, n > 2000 ? " (end)" : "",
            n > 2000 ? e + n - 2000 : e);
}

double group_t0;

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int tests_end(void)
{
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

void group_begin(void)
{
    group_failures = failures;
    group_t0 = now_s();
}

void group_end(const char *name)
{
    printf("%s %s (%.1f s)\n", failures == group_failures ? "ok" : "not ok", name, now_s() - group_t0);
    fflush(stdout);
}

/* ------------------------------------------------------------------ files */
/* A path under the temporary folder, in one of 32 rotating buffers (enough for one statement's worth). */
const char *tp(const char *fmt, ...)
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

bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Regular files in dir (not "." entries); -1 when dir cannot be read. */
int count_files(const char *dir)
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
unsigned char *read_file(const char *path, size_t *n)
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

bool write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    bool ok = fp && fwrite(data, 1, n, fp) == n;
    if (fp && fclose(fp) != 0)
        ok = false;
    return ok;
}

bool copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = read_file(from, &n);
    bool ok = b && write_file(to, b, n);
    free(b);
    return ok;
}

bool files_equal(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = read_file(a, &na), *y = read_file(b, &nb);
    bool eq = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

/* Byte 24 of a PNG: the bit depth in its IHDR chunk; -1 when the file does not start like a PNG. */
int png_bit_depth(const char *path)
{
    size_t n;
    unsigned char *b = read_file(path, &n);
    int depth = b && n > 25 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8) && !memcmp(b + 12, "IHDR", 4) ? b[24] : -1;
    free(b);
    return depth;
}

/* ------------------------------------------------------------------ running the program */
pid_t spawn(char **argv)
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
        execvp(argv[0], argv); /* mrigan_bin, or a launcher found on PATH (mpirun) */
        dprintf(2, "test-cli: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Waits for pid (killing it after CHILD_TIMEOUT seconds) and reads its stderr into last_err. The exit status,
 * or 128 + the signal that ended it; -1 when it could not be started. */
int finish(pid_t pid)
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
const char ARGS_SPLICE[] = "<splice>";

void build_argv(char **argv, const char *first, va_list ap)
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

static pid_t mrigan_vstart(const char *first, va_list ap)
{
    char *argv[MAX_ARGS];
    build_argv(argv, first, ap);
    return spawn(argv);
}

/* Runs "mrigan ARGS..." to its end; the exit status. */
int mrigan(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    pid_t pid = mrigan_vstart(first, ap);
    va_end(ap);
    return finish(pid);
}

pid_t mrigan_start(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    pid_t pid = mrigan_vstart(first, ap);
    va_end(ap);
    return pid;
}

bool err_has(const char *what) { return last_err && strstr(last_err, what); }

/* ------------------------------------------------------------------ losses.csv and checkpoints */
const char CSV_HEADER[] = "iteration,epoch,lr,D_A,D_B,adv_AB,adv_BA,cyc_ABA,cyc_BAB,idt_AB,idt_BA,ngf_AB,ngf_BA,"
                          "dist_AB,dist_BA,prior_AB,prior_BA,G_total,seconds\n";

/* The data rows of a losses.csv (up to max_rows); -1 when the file is missing, has another header or a row
 * that is not CSV_COLS finite numbers. */
int read_csv(const char *path, double (*rows)[CSV_COLS], int max_rows)
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

int csv_rows(const char *path)
{
    static double rows[1][CSV_COLS];
    return read_csv(path, rows, 0);
}

/* Every field of two CSV files equal, except the columns whose header names are in `clocks` (wall-clock
 * times, comma-separated). */
bool csv_equal_but_clocks(const char *a, const char *b, const char *clocks, char *why, size_t len)
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
        for (char *f = p, *g = q;; col++) {
            if (col == 64) {
                eq = false; /* more columns than this comparison keeps track of */
                break;
            }
            size_t fl = strcspn(f, ","), gl = strcspn(g, ",");
            if (line == 1) { /* the header names the columns to skip */
                char name[64];
                snprintf(name, sizeof name, ",%.*s,", (int)fl, f);
                char list[256];
                snprintf(list, sizeof list, ",%s,", clocks);
                skip[col] = strstr(list, name) != NULL;
            }
            eq = skip[col] || (fl == gl && !memcmp(f, g, fl));
            if (!eq || !f[fl] || !g[gl]) {
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
bool ckpt_files_equal(const char *a, const char *b, char *why, size_t len)
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
long ckpt_long(const char *path, const char *key)
{
    mg_ckpt c;
    char buf[64];
    long v = LONG_MIN;
    if (mg_ckpt_load(path, &c) == MG_OK && mg_ckpt_get(&c, key, buf, sizeof buf) == MG_OK)
        v = strtol(buf, NULL, 10);
    mg_ckpt_free(&c);
    return v;
}

int ckpt_entries(const char *path)
{
    mg_ckpt c;
    int n = mg_ckpt_load(path, &c) == MG_OK ? c.n_entries : -1;
    mg_ckpt_free(&c);
    return n;
}

bool png_size_is(const char *path, int width, int height)
{
    mg_image img = {0};
    bool ok = mg_image_load_png(path, &img) == MG_OK && img.width == width && img.height == height;
    mg_image_free(&img);
    return ok;
}

char *cpu_opts[] = {"--backend", "cpu", "--threads", THREADS, NULL};
