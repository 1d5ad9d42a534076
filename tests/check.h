/* Assertions shared by the test programs: CHECK counts a failure and goes on, MUST stops the program on a
 * failed mrigan call (after MUST_CLEANUP, which a test may define to remove its temporary files). A program of
 * several files defines CHECK_SHARED_FAILURES (one `int failures` among them) and may define CHECK_CONTEXT() to
 * say more about a failure (the command line tests print the last command). */
#ifndef MRIGAN_TEST_CHECK_H
#define MRIGAN_TEST_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrigan/mrigan.h"

#ifdef CHECK_SHARED_FAILURES
extern int failures;
#else
static int failures;
#endif

#ifndef CHECK_CONTEXT
#define CHECK_CONTEXT() ((void)0)
#endif

#ifndef MUST_CLEANUP
#define MUST_CLEANUP() ((void)0)
#endif

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            failures++;                                                                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, " [last error: %s]\n", mg_last_error());                                                   \
            CHECK_CONTEXT();                                                                                           \
        }                                                                                                              \
    } while (0)

#define MUST(call)                                                                                                     \
    do {                                                                                                               \
        mg_status s_ = (call);                                                                                         \
        if (s_ != MG_OK) {                                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, mg_last_error());                       \
            MUST_CLEANUP();                                                                                            \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

/* "ok" or "FAIL" for a group of checks that started when the failure count was `before`. */
static inline void report(int before, const char *what)
{
    printf("%-4s %s\n", failures == before ? "ok" : "FAIL", what);
}

/* Whether s is a failure whose message names `what`. */
static inline bool error_names(mg_status s, const char *what) { return s != MG_OK && strstr(mg_last_error(), what); }

#endif
