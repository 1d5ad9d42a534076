/* Shared by the end-to-end tests of the command-line program (test-cli.c, cli-groups.c): the check
 * macros, running the mrigan binary and capturing its stderr, files under the temporary folder, and readers
 * for what a run writes (losses.csv, checkpoints, PNGs). The helpers live in cli-util.c. */
#ifndef MRIGAN_TESTS_CLI_H
#define MRIGAN_TESTS_CLI_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mrigan/cyclegan.h"
#include "mrigan/mrigan.h"

#define MAX_ARGS      64
#define CHILD_TIMEOUT 300.0 /* seconds one command may run before it is killed */

#define CSV_COLS (MG_LOSS_COUNT + 4) /* iteration, epoch, lr, the losses, seconds */

extern int group_failures;
extern char tmp_dir[64];
extern char mrigan_bin[2 * PATH_MAX];
extern char last_cmd[4096];
extern char *last_err; /* the last command's stderr */

#define CHECK_SHARED_FAILURES
#define CHECK_CONTEXT() report_command()
#include "check.h"

/* Like CHECK, but leaves the calling group (whose later checks need this one) at once. */
#define REQUIRE(cond, ...)                                                                                             \
    do {                                                                                                               \
        int failures_before_ = failures;                                                                               \
        CHECK(cond, __VA_ARGS__);                                                                                      \
        if (failures != failures_before_)                                                                              \
            return;                                                                                                    \
    } while (0)

/* ------------------------------------------------------------------ shared inputs */
/* The runs later groups use. */
#define PHANTOM_COUNT 12
#define RUN1_EPOCHS   10
#define RESUME_COUNT  8 /* images of the 72x72 phantom for the resume group */
/* The CPU backend with one thread in every run: results are reproducible for a given backend and thread count
 * only (and the library's own translation runs there), and one thread keeps the runtime small when other
 * jobs share the machine's cores. */
#define THREADS "1"
extern char *cpu_opts[];

/* ------------------------------------------------------------------ helpers (cli-util.c) */
void report_command(void);
extern double group_t0;
double now_s(void);
void group_begin(void);
/* The end of a test program: the temporary folder removed (kept with MRIGAN_TEST_KEEP), the failures counted; the
 * exit status. */
int tests_end(void);
void group_end(const char *name);
const char *tp(const char *fmt, ...);
bool exists(const char *path);
int count_files(const char *dir);
unsigned char *read_file(const char *path, size_t *n);
bool write_file(const char *path, const void *data, size_t n);
bool copy_file(const char *from, const char *to);
bool files_equal(const char *a, const char *b);
int png_bit_depth(const char *path);
pid_t spawn(char **argv);
int finish(pid_t pid);
extern const char ARGS_SPLICE[];
void build_argv(char **argv, const char *first, va_list ap);
int mrigan(const char *first, ...);
pid_t mrigan_start(const char *first, ...);
bool err_has(const char *what);
extern const char CSV_HEADER[];
int read_csv(const char *path, double (*rows)[CSV_COLS], int max_rows);
int csv_rows(const char *path);
bool csv_equal_but_clocks(const char *a, const char *b, const char *clocks, char *why, size_t len);
bool ckpt_files_equal(const char *a, const char *b, char *why, size_t len);
long ckpt_long(const char *path, const char *key);
int ckpt_entries(const char *path);
bool png_size_is(const char *path, int width, int height);

/* ------------------------------------------------------------------ the groups */
void test_phantom(void);
void test_train(void);
void test_resume(void);
void test_translate(void);
void test_errors(void);
void test_interrupt(void);
void test_validation(void);
void test_safety(void);
void test_crash(const char *fwrite_shim);
void test_volumes(void);
void test_conventions(void);
void test_export(void);
void test_bench_quality(void);
void test_pick(void);

#endif
