/* Checkpoint files: the configuration and entry API, bit-identical round trips (host data and CPU
 * tensors), CRC and format checks, truncation, implausible sizes in files with a valid CRC, and atomic
 * saves: a save that fails part-way (RLIMIT_FSIZE in a child process) or cannot start leaves the
 * previous file intact and no temporary file behind. Files live in a mkdtemp folder, removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "mrigan/checkpoint.h"
#include "mrigan/mrigan.h"

static char tmp_dir[] = "/tmp/mrigan-ckpt-XXXXXX";
static bool tmp_dir_made;

static void test_bail(void);
#define MUST_CLEANUP() test_bail()
#include "check.h"

#define SYS(cond)                                                                                                      \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, strerror(errno));                       \
            test_bail();                                                                                               \
        }                                                                                                              \
    } while (0)

static bool contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* tmp_dir/name in a static buffer (one of four, so a few can be live at once). */
static const char *test_path(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmp_dir, name);
    return b;
}

static unsigned char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    SYS(f != NULL);
    SYS(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    SYS(n >= 0 && fseek(f, 0, SEEK_SET) == 0);
    unsigned char *b = malloc((size_t)n + 1);
    SYS(b != NULL && fread(b, 1, (size_t)n, f) == (size_t)n);
    SYS(fclose(f) == 0);
    *len = (size_t)n;
    return b;
}

static void test_write_file(const char *path, const void *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    SYS(f != NULL);
    SYS(len == 0 || fwrite(b, 1, len, f) == len);
    SYS(fclose(f) == 0);
}

static void test_put_le(unsigned char *p, uint64_t v, int n_bytes)
{
    for (int i = 0; i < n_bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Rewrites the trailing CRC so a patched file fails on its content, not on the CRC. */
static void test_fix_crc(unsigned char *b, size_t len)
{
    test_put_le(b + len - 4, crc32(crc32(0L, Z_NULL, 0), b, (uInt)(len - 4)), 4);
}

/* Loads path expecting status want with needle and path in the message, and an empty checkpoint. */
static void test_expect_load_fail(const char *path, mg_status want, const char *needle)
{
    mg_ckpt c;
    mg_status s = mg_ckpt_load(path, &c);
    const char *msg = mg_last_error();
    CHECK(s == want, "%s: %s instead of %s (%s)", path, mg_status_name(s), mg_status_name(want), msg);
    CHECK(contains(msg, needle), "message '%s' lacks '%s'", msg, needle);
    CHECK(contains(msg, path), "message '%s' does not name the file", msg);
    CHECK(c.n_entries == 0 && c.entries == NULL && c.config == NULL, "a failed load left data behind");
    mg_ckpt_free(&c);
}

static float *test_values(size_t n, uint64_t seed)
{
    mg_rng r;
    mg_rng_seed(&r, seed, 11);
    float *v = malloc(n * sizeof *v);
    SYS(v != NULL);
    for (size_t i = 0; i < n; i++)
        v[i] = 6.0f * mg_rng_uniform(&r) - 3.0f;
    return v;
}

/* Configuration lines and five tensors, 1-D to 4-D with odd sizes; the 1-D one holds -0, the smallest
 * denormal, a denormal and both largest floats, which must come back bit for bit. */
static void test_make_sample(mg_ckpt *c)
{
    mg_ckpt_init(c);
    MUST(mg_ckpt_set(c, "epoch", "3"));
    MUST(mg_ckpt_set(c, "direction", "T1->T2"));
    MUST(mg_ckpt_set(c, "lr", "0.0002"));
    MUST(mg_ckpt_set(c, "empty", ""));
    MUST(mg_ckpt_set(c, "epoch", "4"));
    static const int shapes[5][5] = {{1, 7}, {2, 3, 5}, {3, 2, 3, 5}, {4, 2, 3, 5, 7}, {4, 1, 1, 1, 1}};
    static const char *const names[5] = {"specials", "gen_ab.w2", "gen_ab.w3", "disc_a.conv1.weight", "scalar"};
    for (int i = 0; i < 5; i++) {
        size_t n = 1;
        for (int d = 0; d < shapes[i][0]; d++)
            n *= (size_t)shapes[i][1 + d];
        float *v = test_values(n, 100 + (uint64_t)i);
        if (i == 0) {
            uint32_t tiny_bits = 1u;
            v[0] = -0.0f;
            v[1] = 1e-40f;
            v[2] = FLT_MAX;
            v[3] = -FLT_MAX;
            memcpy(&v[4], &tiny_bits, sizeof v[4]);
        }
        MUST(mg_ckpt_add(c, names[i], shapes[i][0], &shapes[i][1], v));
        free(v);
    }
}

static bool test_same_ckpt(const mg_ckpt *a, const mg_ckpt *b)
{
    if (strcmp(a->config ? a->config : "", b->config ? b->config : "") != 0 || a->n_entries != b->n_entries)
        return false;
    for (int i = 0; i < a->n_entries; i++) {
        const mg_ckpt_entry *x = &a->entries[i], *y = &b->entries[i];
        if (strcmp(x->name, y->name) != 0 || x->ndim != y->ndim || x->numel != y->numel ||
            memcmp(x->shape, y->shape, (size_t)x->ndim * sizeof *x->shape) != 0 ||
            memcmp(x->data, y->data, x->numel * sizeof *x->data) != 0)
            return false;
    }
    return true;
}

/* Names in tmp_dir that contain ".tmp-" (leftover temporary files). */
static int test_count_temp_files(void)
{
    DIR *d = opendir(tmp_dir);
    SYS(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += contains(e->d_name, ".tmp-");
    SYS(closedir(d) == 0);
    return n;
}

/* Removes path and everything under it; false if anything could not be removed. */
static bool test_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return false;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0;
    bool ok = chmod(path, 0700) == 0;
    DIR *d = opendir(path);
    if (!d)
        return false;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        ok = test_remove_tree(sub) && ok;
    }
    ok = closedir(d) == 0 && ok;
    return rmdir(path) == 0 && ok;
}

/* Stops the test after a failure the rest cannot run without, removing the temporary folder first. */
static void test_bail(void)
{
    if (tmp_dir_made && !test_remove_tree(tmp_dir))
        fprintf(stderr, "could not remove %s\n", tmp_dir);
    exit(1);
}

static void test_api(void)
{
    int before = failures;
    mg_ckpt c;
    char buf[32];
    mg_ckpt_init(&c);
    CHECK(mg_ckpt_get(&c, "lr", buf, sizeof buf) == MG_ERR_FORMAT && contains(mg_last_error(), "'lr'"),
          "missing key: %s", mg_last_error());
    MUST(mg_ckpt_set(&c, "lr", "0.0002"));
    MUST(mg_ckpt_set(&c, "lr_decay", "linear"));
    MUST(mg_ckpt_set(&c, "lr", "0.0001"));
    MUST(mg_ckpt_get(&c, "lr", buf, sizeof buf));
    CHECK(strcmp(buf, "0.0001") == 0, "last line wins: got '%s'", buf);
    MUST(mg_ckpt_get(&c, "lr_decay", buf, sizeof buf));
    CHECK(strcmp(buf, "linear") == 0, "prefix key: got '%s'", buf);
    CHECK(mg_ckpt_get(&c, "lr", buf, 4) == MG_ERR_ARG && buf[0] == '\0', "small buffer: %s", mg_last_error());
    CHECK(mg_ckpt_set(&c, "a=b", "x") == MG_ERR_ARG, "key with '='");
    CHECK(mg_ckpt_set(&c, "a\nb", "x") == MG_ERR_ARG, "key with a newline");
    CHECK(mg_ckpt_set(&c, "", "x") == MG_ERR_ARG, "empty key");
    CHECK(mg_ckpt_set(&c, "k", "x\ny=z") == MG_ERR_ARG, "value with a newline");
    CHECK(strcmp(c.config, "lr=0.0002\nlr_decay=linear\nlr=0.0001\n") == 0, "config is '%s'", c.config);

    float v[6] = {1, 2, 3, 4, 5, 6};
    MUST(mg_ckpt_add(&c, "w", 2, (const int[]){2, 3}, v));
    CHECK(mg_ckpt_add(&c, "w", 1, (const int[]){6}, v) == MG_ERR_ARG && contains(mg_last_error(), "'w'"),
          "duplicate: %s", mg_last_error());
    CHECK(mg_ckpt_add(&c, "x", 5, (const int[]){1, 1, 1, 1, 6}, v) == MG_ERR_ARG, "5 dimensions");
    CHECK(mg_ckpt_add(&c, "x", 2, (const int[]){0, 6}, v) == MG_ERR_ARG, "zero dimension");
    CHECK(mg_ckpt_add(&c, "x", 2, (const int[]){-2, -3}, v) == MG_ERR_ARG, "negative dimensions");
    CHECK(mg_ckpt_add(&c, "", 1, (const int[]){6}, v) == MG_ERR_ARG, "empty name");
    char long_name[80];
    memset(long_name, 'n', sizeof long_name);
    long_name[64] = '\0';
    CHECK(mg_ckpt_add(&c, long_name, 1, (const int[]){6}, v) == MG_ERR_ARG, "64-character name");
    long_name[63] = '\0';
    MUST(mg_ckpt_add(&c, long_name, 1, (const int[]){6}, v));
    const mg_ckpt_entry *e = mg_ckpt_find(&c, "w");
    CHECK(e && e->ndim == 2 && e->shape[0] == 2 && e->shape[1] == 3 && e->numel == 6 && e->data[5] == 6.0f, "find w");
    CHECK(mg_ckpt_find(&c, "nope") == NULL && c.n_entries == 2, "find a missing entry");
    mg_ckpt_free(&c);
    CHECK(c.n_entries == 0 && c.config == NULL && c.entries == NULL, "free leaves it empty");
    report(before, "api: last config line wins, argument checks, duplicate names");
}

static void test_round_trip(void)
{
    int before = failures;
    mg_ckpt a, b;
    test_make_sample(&a);
    const char *path = test_path("round.ckpt");
    MUST(mg_ckpt_save(&a, path));
    MUST(mg_ckpt_save(&a, path)); /* replacing an existing file */
    MUST(mg_ckpt_load(path, &b));
    CHECK(test_same_ckpt(&a, &b), "loaded checkpoint differs");
    char buf[32];
    MUST(mg_ckpt_get(&b, "epoch", buf, sizeof buf));
    CHECK(strcmp(buf, "4") == 0, "epoch '%s'", buf);
    MUST(mg_ckpt_get(&b, "empty", buf, sizeof buf));
    CHECK(buf[0] == '\0', "empty value '%s'", buf);

    size_t len, want = 24 + strlen(a.config) + 4;
    for (int i = 0; i < a.n_entries; i++)
        want += 2 + strlen(a.entries[i].name) + 1 + 4 * (size_t)a.entries[i].ndim + 4 * a.entries[i].numel;
    unsigned char *raw = test_read_file(path, &len);
    CHECK(len == want, "file has %zu bytes, the format says %zu", len, want);
    CHECK(memcmp(raw, "MRIGANCK\x01\x00\x00\x00\x05\x00\x00\x00", 16) == 0, "header bytes");
    free(raw);
    struct stat st;
    SYS(stat(path, &st) == 0);
    CHECK((st.st_mode & 0777) == 0644, "mode %o", (unsigned)(st.st_mode & 0777));
    mg_ckpt_free(&a);
    mg_ckpt_free(&b);

    mg_ckpt_init(&a); /* nothing at all */
    MUST(mg_ckpt_save(&a, test_path("empty.ckpt")));
    MUST(mg_ckpt_load(test_path("empty.ckpt"), &b));
    CHECK(b.n_entries == 0 && b.config && b.config[0] == '\0', "empty checkpoint");
    mg_ckpt_free(&b);
    CHECK(test_count_temp_files() == 0, "temporary files left");
    report(before, "save/load round trip: config, 1-D to 4-D odd-sized tensors, bit-identical");
}

static void test_backend_tensors(void)
{
    int before = failures;
    mg_backend *be;
    MUST(mg_backend_cpu_new(2, &be));
    mg_tensor *w, *bias, *w2, *bad;
    MUST(mg_param_new(be, "gen_ab.enc1.weight", 4, (const int[]){8, 3, 3, 3}, &w));
    MUST(mg_param_new(be, "gen_ab.enc1.bias", 1, (const int[]){8}, &bias));
    mg_rng r;
    mg_rng_seed(&r, 7, 1);
    MUST(mg_init_normal(w, &r, 0.0f, 0.02f));
    MUST(mg_init_normal(bias, &r, 0.0f, 1.0f));
    mg_ckpt c, l;
    mg_ckpt_init(&c);
    MUST(mg_ckpt_add_tensor(&c, NULL, w)); /* named after the tensor */
    MUST(mg_ckpt_add_tensor(&c, "bias", bias));
    const char *path = test_path("tensors.ckpt");
    MUST(mg_ckpt_save(&c, path));
    MUST(mg_ckpt_load(path, &l));

    MUST(mg_param_new(be, "fresh", 4, (const int[]){8, 3, 3, 3}, &w2));
    MUST(mg_ckpt_load_tensor(&l, "gen_ab.enc1.weight", w2));
    float x[216], y[216];
    MUST(mg_tensor_read(w, x, 216));
    MUST(mg_tensor_read(w2, y, 216));
    CHECK(memcmp(x, y, sizeof x) == 0, "weights differ after the round trip");
    const mg_ckpt_entry *e = mg_ckpt_find(&l, "bias");
    MUST(mg_tensor_read(bias, x, 8));
    CHECK(e && e->numel == 8 && memcmp(e->data, x, 8 * sizeof *x) == 0, "bias entry");

    MUST(mg_tensor_new(be, 4, (const int[]){8, 3, 3, 2}, &bad));
    mg_status s = mg_ckpt_load_tensor(&l, "gen_ab.enc1.weight", bad);
    const char *msg = mg_last_error();
    CHECK(s == MG_ERR_SHAPE, "wrong shape gave %s", mg_status_name(s));
    CHECK(contains(msg, "[8,3,3,3]") && contains(msg, "[8,3,3,2]") && contains(msg, "gen_ab.enc1.weight"),
          "message: %s", msg);
    s = mg_ckpt_load_tensor(&l, "missing", bad);
    CHECK(s == MG_ERR_FORMAT && contains(mg_last_error(), "missing"), "missing entry: %s", mg_last_error());
    CHECK(mg_ckpt_add_tensor(&c, NULL, w) == MG_ERR_ARG && c.n_entries == 2, "adding a tensor twice");

    mg_ckpt_free(&c);
    mg_ckpt_free(&l);
    mg_tensor_free(w);
    mg_tensor_free(bias);
    mg_tensor_free(w2);
    mg_tensor_free(bad);
    mg_backend_free(be);
    report(before, "CPU tensors: add_tensor/load_tensor identical; wrong shape names both shapes");
}

static void test_crc(void)
{
    int before = failures;
    mg_ckpt a;
    test_make_sample(&a);
    const char *path = test_path("crc.ckpt"), *bad = test_path("crc-bad.ckpt");
    MUST(mg_ckpt_save(&a, path));
    mg_ckpt_free(&a);
    size_t len;
    unsigned char *b = test_read_file(path, &len);
    const size_t spots[] = {len / 2, 30, len - 5, len - 2}; /* data, config, last data byte, the CRC */
    for (size_t i = 0; i < sizeof spots / sizeof *spots; i++) {
        b[spots[i]] ^= 0x40;
        test_write_file(bad, b, len);
        test_expect_load_fail(bad, MG_ERR_FORMAT, "CRC");
        b[spots[i]] ^= 0x40;
    }
    free(b);
    report(before, "CRC mismatch detected (a data byte, a config byte, a CRC byte)");
}

static void test_truncated_and_foreign(void)
{
    int before = failures;
    mg_ckpt a;
    test_make_sample(&a);
    const char *path = test_path("trunc.ckpt"), *bad = test_path("trunc-bad.ckpt");
    MUST(mg_ckpt_save(&a, path));
    mg_ckpt_free(&a);
    size_t len;
    unsigned char *b = test_read_file(path, &len);
    const size_t cuts[] = {0, 7, 12, 24, 28, len / 2, len - 5, len - 4, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        test_write_file(bad, b, cuts[i]);
        test_expect_load_fail(bad, MG_ERR_FORMAT, "truncated");
    }
    b[0] = 'X';
    test_write_file(bad, b, len);
    test_expect_load_fail(bad, MG_ERR_FORMAT, "not an mrigan checkpoint");
    test_write_file(bad, "P5\n64 64\n255\n", 13);
    test_expect_load_fail(bad, MG_ERR_FORMAT, "not an mrigan checkpoint");
    b[0] = 'M';
    test_put_le(b + 8, 7, 4);
    test_fix_crc(b, len); /* so the version check itself is what fails */
    test_write_file(bad, b, len);
    test_expect_load_fail(bad, MG_ERR_FORMAT, "format version 7, this build reads versions 1 to 2");
    free(b);

    test_expect_load_fail(test_path("no-such-file.ckpt"), MG_ERR_IO, strerror(ENOENT));
    test_expect_load_fail(tmp_dir, MG_ERR_IO, strerror(EISDIR));
    report(before, "truncated files (0 bytes to length-1), bad magic, other version, unreadable paths");
}

/* Patches one little-endian field of a valid file, fixes the CRC and expects a format error. */
static void test_patch_expect(const unsigned char *orig, size_t len, size_t off, uint64_t v, int n_bytes,
                              const char *needle)
{
    const char *bad = test_path("patched.ckpt");
    unsigned char *b = malloc(len);
    SYS(b != NULL);
    memcpy(b, orig, len);
    test_put_le(b + off, v, n_bytes);
    test_fix_crc(b, len);
    test_write_file(bad, b, len);
    test_expect_load_fail(bad, MG_ERR_FORMAT, needle);
    free(b);
}

static void test_implausible(void)
{
    int before = failures;
    /* One entry "w" [4,5], no config: n_entries at 12, config length at 16, name length at 24, name at
     * 26, ndim at 27, shape at 28 and 32, data from 36, CRC at 116. */
    mg_ckpt c;
    mg_ckpt_init(&c);
    float v[20] = {0};
    MUST(mg_ckpt_add(&c, "w", 2, (const int[]){4, 5}, v));
    const char *path = test_path("plausible.ckpt");
    MUST(mg_ckpt_save(&c, path));
    mg_ckpt_free(&c);
    size_t len;
    unsigned char *b = test_read_file(path, &len);
    CHECK(len == 120, "file has %zu bytes", len);
    test_patch_expect(b, len, 27, 5, 1, "5 dimensions");
    test_patch_expect(b, len, 27, 0, 1, "0 dimensions");
    test_patch_expect(b, len, 28, 0, 4, "dimension 0 is 0");
    test_patch_expect(b, len, 32, 0x80000000u, 4, "dimension 1 is 2147483648");
    test_patch_expect(b, len, 28, 0xffffffffu, 4, "dimension 0 is 4294967295");
    test_patch_expect(b, len, 28, 5, 4, "runs past the end"); /* [5,5] needs 100 bytes of data */
    test_patch_expect(b, len, 28, 0x7fffffff, 4, "runs past the end");
    test_patch_expect(b, len, 28, 0x7fffffff7fffffffull, 8, "runs past the end"); /* numel * 4 overflows */
    test_patch_expect(b, len, 24, 64, 2, "name length 64");
    test_patch_expect(b, len, 24, 0, 2, "name length 0");
    test_patch_expect(b, len, 24, 0xffff, 2, "name runs past the end");
    test_patch_expect(b, len, 26, 0, 1, "NUL");
    test_patch_expect(b, len, 16, 1ull << 63, 8, "configuration");
    test_patch_expect(b, len, 16, ~0ull, 8, "configuration");
    test_patch_expect(b, len, 12, 0xffffffffu, 4, "entries cannot fit");
    test_patch_expect(b, len, 12, 2, 4, "entry");
    test_patch_expect(b, len, 12, 0, 4, "92 unexpected bytes after the last entry");
    free(b);

    /* Two one-float entries, the second renamed to the first; and a config with a NUL in it. */
    mg_ckpt_init(&c);
    MUST(mg_ckpt_add(&c, "a", 1, (const int[]){1}, v));
    MUST(mg_ckpt_add(&c, "b", 1, (const int[]){1}, v));
    MUST(mg_ckpt_set(&c, "k", "v"));
    MUST(mg_ckpt_save(&c, path));
    mg_ckpt_free(&c);
    b = test_read_file(path, &len);
    test_patch_expect(b, len, 24 + 4 + 12 + 2, 'a', 1, "'a' appears twice");
    test_patch_expect(b, len, 25, 0, 1, "NUL");
    free(b);
    report(before, "implausible sizes and fields rejected in files with a valid CRC");
}

static void test_interrupted_write(void)
{
    int before = failures;
    const char *path = test_path("atomic.ckpt");
    mg_ckpt a, b, l;
    test_make_sample(&a);
    test_make_sample(&b);
    MUST(mg_ckpt_set(&b, "epoch", "5"));
    float *big = test_values(64 * 64 * 32, 9);
    MUST(mg_ckpt_add(&b, "big", 3, (const int[]){64, 64, 32}, big)); /* 512 KiB */
    free(big);
    MUST(mg_ckpt_save(&a, path));

    int fds[2];
    SYS(pipe(fds) == 0);
    fflush(stdout);
    pid_t pid = fork();
    SYS(pid >= 0);
    if (pid == 0) { /* the child: a file size limit well below B's size makes its save fail part-way */
        struct rlimit lim = {128 * 1024, 128 * 1024};
        if (close(fds[0]) != 0 || signal(SIGXFSZ, SIG_IGN) == SIG_ERR || setrlimit(RLIMIT_FSIZE, &lim) != 0)
            _exit(100);
        mg_status s = mg_ckpt_save(&b, path);
        const char *msg = mg_last_error();
        ssize_t n = write(fds[1], msg, strlen(msg));
        _exit(n < 0 ? 101 : (int)s);
    }
    SYS(close(fds[1]) == 0);
    char msg[600] = "";
    size_t got = 0;
    for (ssize_t n; got < sizeof msg - 1 && (n = read(fds[0], msg + got, sizeof msg - 1 - got)) != 0;) {
        SYS(n > 0 || errno == EINTR);
        got += n > 0 ? (size_t)n : 0;
    }
    msg[got] = '\0';
    SYS(close(fds[0]) == 0);
    int status;
    SYS(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == MG_ERR_IO, "child status %d, message '%s'", status, msg);
    CHECK(contains(msg, path) && contains(msg, strerror(EFBIG)), "child's message: '%s'", msg);
    MUST(mg_ckpt_load(path, &l));
    CHECK(test_same_ckpt(&a, &l), "the previous checkpoint changed");
    mg_ckpt_free(&l);
    CHECK(test_count_temp_files() == 0, "a temporary file was left behind");

    MUST(mg_ckpt_save(&b, path)); /* without the limit the same save succeeds */
    MUST(mg_ckpt_load(path, &l));
    CHECK(test_same_ckpt(&b, &l), "B did not round-trip");
    mg_ckpt_free(&l);
    mg_ckpt_free(&a);
    mg_ckpt_free(&b);
    report(before, "interrupted write (RLIMIT_FSIZE in a child) leaves the previous checkpoint, no temp file");
}

/* Expects a save to path to fail with MG_ERR_IO and every needle in the message. */
static void test_expect_save_fail(const mg_ckpt *c, const char *path, const char *n1, const char *n2)
{
    mg_status s = mg_ckpt_save(c, path);
    const char *msg = mg_last_error();
    CHECK(s == MG_ERR_IO, "save to %s gave %s (%s)", path, mg_status_name(s), msg);
    CHECK(contains(msg, path) && contains(msg, n1) && contains(msg, n2), "message '%s' lacks '%s' or '%s'", msg, n1,
          n2);
}

static void test_unwritable(void)
{
    int before = failures;
    mg_ckpt a;
    test_make_sample(&a);
    char folder[512];
    snprintf(folder, sizeof folder, "%s", test_path("no-such-folder"));
    test_expect_save_fail(&a, test_path("no-such-folder/x.ckpt"), folder, strerror(ENOENT));

    test_write_file(test_path("plain"), "x", 1); /* a "folder" that is a file */
    snprintf(folder, sizeof folder, "%s", test_path("plain"));
    test_expect_save_fail(&a, test_path("plain/x.ckpt"), folder, strerror(ENOTDIR));

    const char *adir = test_path("a-folder"); /* the path itself is a folder: the rename fails */
    SYS(mkdir(adir, 0700) == 0);
    test_expect_save_fail(&a, adir, "rename", strerror(EISDIR));
    struct stat st;
    CHECK(stat(adir, &st) == 0 && S_ISDIR(st.st_mode), "the folder was replaced");

    if (geteuid() == 0) {
        printf("note: running as root, which ignores permissions: read-only folder check skipped\n");
    } else {
        snprintf(folder, sizeof folder, "%s", test_path("read-only"));
        SYS(mkdir(folder, 0700) == 0 && chmod(folder, 0500) == 0);
        test_expect_save_fail(&a, test_path("read-only/x.ckpt"), folder, strerror(EACCES));
        SYS(chmod(folder, 0700) == 0);
    }
    CHECK(test_count_temp_files() == 0, "a temporary file was left behind");
    mg_ckpt_free(&a);
    report(before, "unwritable destinations: missing folder, file as folder, folder as path, read-only folder");
}

/* No checkpoint holds NaN or infinity: adding one is refused and leaves the checkpoint as it was, and a file
 * that has one (damaged, or written by something else) does not load, whatever its CRC says. */
static void test_nonfinite(void)
{
    int before = failures;
    static const uint32_t bad_bits[] = {0x7fc00000u, 0xffc01234u, 0x7f800000u, 0xff800000u, 0x7f800001u};
    mg_ckpt c;
    mg_ckpt_init(&c);
    float v[3] = {1, 2, 3};
    MUST(mg_ckpt_add(&c, "ok", 1, (const int[]){3}, v));
    for (size_t i = 0; i < sizeof bad_bits / sizeof *bad_bits; i++) {
        memcpy(&v[1], &bad_bits[i], sizeof v[1]);
        mg_status s = mg_ckpt_add(&c, "bad", 1, (const int[]){3}, v);
        CHECK(s == MG_ERR_NONFINITE && contains(mg_last_error(), "'bad'") && contains(mg_last_error(), "value 1"),
              "adding 0x%08x: %s (%s)", (unsigned)bad_bits[i], mg_status_name(s), mg_last_error());
        CHECK(c.n_entries == 1 && mg_ckpt_find(&c, "bad") == NULL, "a refused entry was kept");
    }
    mg_backend *be;
    MUST(mg_backend_cpu_new(1, &be));
    mg_tensor *t;
    MUST(mg_tensor_new(be, 1, (const int[]){3}, &t));
    MUST(mg_tensor_write(t, v, 3)); /* v[1] is the last of bad_bits: a signalling NaN */
    mg_status s = mg_ckpt_add_tensor(&c, "from_tensor", t);
    CHECK(s == MG_ERR_NONFINITE && c.n_entries == 1, "a non-finite tensor: %s", mg_status_name(s));
    mg_tensor_free(t);
    mg_backend_free(be);

    /* "ok" [3]: name length at 24, name at 26, ndim at 28, shape at 29, data from 33 (config "k=v\n"). */
    MUST(mg_ckpt_set(&c, "k", "v"));
    const char *path = test_path("finite.ckpt");
    MUST(mg_ckpt_save(&c, path));
    mg_ckpt_free(&c);
    size_t len;
    unsigned char *b = test_read_file(path, &len);
    for (size_t i = 0; i < sizeof bad_bits / sizeof *bad_bits; i++)
        test_patch_expect(b, len, len - 4 - 8, bad_bits[i], 4, "entry 'ok': value 1 is NaN or infinite");
    free(b);
    report(before, "NaN and infinities refused when added and when loaded");
}

/* float16 storage: half the bytes, values rounded to binary16 (checked against hand-computed patterns), the file
 * version 2 with a type byte; a value outside float16's range refused; NaN/inf halves refused on load. */
static void test_half(void)
{
    int before = failures;
    mg_ckpt a, b;
    mg_ckpt_init(&a);
    /* 1 -> 0x3C00, 1/3 -> 0x3555 (0.333251953125), 65504 (largest), 2^-24 (smallest subnormal), -2.5, 1e-9 -> 0,
     * 1 + 2^-11 (a tie: to even, 1), 1 + 3 * 2^-11 (a tie: up to 1 + 2^-9) */
    const float v[8] = {1.0f, 1.0f / 3.0f, 65504.0f, 5.9604645e-8f, -2.5f, 1e-9f, 1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f};
    const float want[8] = {1.0f, 0.333251953125f, 65504.0f, 5.9604645e-8f, -2.5f, 0.0f, 1.0f, 1.0f + 0x1p-9f};
    MUST(mg_ckpt_add(&a, "w", 1, (int[]){8}, v));
    MUST(mg_ckpt_add(&a, "big", 2, (int[]){100, 10}, (float[1000]){0}));
    MUST(mg_ckpt_set(&a, "k", "v"));
    MUST(mg_ckpt_save(&a, test_path("f32.ckpt")));
    MUST(mg_ckpt_store_half(&a));
    CHECK(!memcmp(a.entries[0].data, want, sizeof want), "rounded in memory");
    MUST(mg_ckpt_save(&a, test_path("f16.ckpt")));
    MUST(mg_ckpt_load(test_path("f16.ckpt"), &b));
    CHECK(b.n_entries == 2 && b.entries[0].half && !memcmp(b.entries[0].data, want, sizeof want),
          "float16 values after a reload");
    size_t l32, l16;
    unsigned char *r32 = test_read_file(test_path("f32.ckpt"), &l32),
                  *r16 = test_read_file(test_path("f16.ckpt"), &l16);
    CHECK(r32[8] == 1 && r16[8] == 2 && l16 == l32 - 2 * 1008 + 2, "versions %d and %d, %zu and %zu bytes", r32[8],
          r16[8], l32, l16);
    /* after the header (24) and config "k=v\n" (4): name length, "w", ndim, shape, the type byte at 36, data at 37 */
    CHECK(r16[36] == 1 && r16[37] == 0x00 && r16[38] == 0x3C && r16[39] == 0x55 && r16[40] == 0x35,
          "float16 bytes of 1 and 1/3");
    for (int k = 0; k < 2; k++) { /* an infinity, then a NaN, as the first value */
        unsigned char *bad = malloc(l16);
        memcpy(bad, r16, l16);
        bad[37] = k ? 0x01 : 0x00; /* the first value: 0x7C00 (infinity) or 0x7C01 (NaN), little-endian */
        bad[38] = 0x7C;
        test_fix_crc(bad, l16);
        test_write_file(test_path("bad16.ckpt"), bad, l16);
        test_expect_load_fail(test_path("bad16.ckpt"), MG_ERR_FORMAT, "value 0 is NaN or infinite");
        free(bad);
    }
    free(r32);
    free(r16);
    mg_ckpt_free(&a);
    mg_ckpt_free(&b);
    mg_ckpt_init(&a);
    MUST(mg_ckpt_add(&a, "huge", 1, (int[]){2}, (float[]){1.0f, 70000.0f}));
    CHECK(mg_ckpt_store_half(&a) == MG_ERR_ARG && strstr(mg_last_error(), "huge") && !a.entries[0].half &&
              a.entries[0].data[1] == 70000.0f,
          "a value outside float16's range");
    mg_ckpt_free(&a);
    report(before, "float16 storage: rounding to nearest even, version 2 files of half the data, NaN/inf refused");
}

/* Views (mg_ckpt.views; tests/test-model.c checks a model's are the file its copies make): a view's values load into
 * a tensor; a tensor that holds a NaN when the save reads it fails the save with MG_ERR_NONFINITE naming entry and
 * value, the file there untouched and no temporary file left; float16 storage refuses views. */
static void test_views(void)
{
    int before = failures;
    mg_backend *be;
    MUST(mg_backend_cpu_new(1, &be));
    mg_tensor *t, *back;
    float *v = test_values(35, 21), got[35];
    MUST(mg_tensor_new(be, 2, (const int[]){5, 7}, &t));
    MUST(mg_tensor_new(be, 2, (const int[]){5, 7}, &back));
    MUST(mg_tensor_write(t, v, 35));
    mg_ckpt c;
    mg_ckpt_init(&c);
    c.views = true;
    MUST(mg_ckpt_add_tensor(&c, "a", t));
    MUST(mg_ckpt_save(&c, test_path("viewed.ckpt")));
    CHECK(c.entries[0].view == t && !c.entries[0].data, "a view holds its tensor, not a copy");
    MUST(mg_ckpt_load_tensor(&c, "a", back));
    MUST(mg_tensor_read(back, got, 35));
    CHECK(memcmp(got, v, sizeof got) == 0, "a view loaded other values");
    mg_status s = mg_ckpt_store_half(&c);
    CHECK(s == MG_ERR_ARG && !c.entries[0].half, "float16 of a view: %s", mg_status_name(s));
    size_t la, lb;
    unsigned char *fa = test_read_file(test_path("viewed.ckpt"), &la), *fb;
    v[4] = NAN;
    MUST(mg_tensor_write(t, v, 35));
    s = mg_ckpt_save(&c, test_path("viewed.ckpt"));
    CHECK(s == MG_ERR_NONFINITE && contains(mg_last_error(), "'a'") && contains(mg_last_error(), "value 4"),
          "a view turned NaN: %s (%s)", mg_status_name(s), mg_last_error());
    fb = test_read_file(test_path("viewed.ckpt"), &lb);
    CHECK(la == lb && memcmp(fa, fb, la) == 0, "the refused save changed the file there");
    CHECK(test_count_temp_files() == 0, "a temporary file was left behind");
    free(fa);
    free(fb);
    free(v);
    mg_ckpt_free(&c);
    mg_tensor_free(t);
    mg_tensor_free(back);
    mg_backend_free(be);
    report(before, "views: loaded, refused as float16, checked as they are written");
}

int main(void)
{
    SYS(mkdtemp(tmp_dir) != NULL);
    tmp_dir_made = true;
    test_api();
    test_round_trip();
    test_backend_tensors();
    test_crc();
    test_truncated_and_foreign();
    test_implausible();
    test_nonfinite();
    test_interrupted_write();
    test_unwritable();
    test_half();
    test_views();
    tmp_dir_made = false;
    CHECK(test_remove_tree(tmp_dir), "could not remove %s", tmp_dir);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
