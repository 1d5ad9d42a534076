/* Preloaded into mrigan by the crash tests (cli-safety.c): MRIGAN_TEST_KILL_AT=N sends the process SIGKILL at
 * its Nth call of fwrite, which writes every checkpoint and PNG, so that a test can stop training at chosen
 * points between and inside saves, the same points on every machine. MRIGAN_TEST_COUNT_TO=FILE writes the
 * number of calls a whole run made, to choose those points. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static long kill_at = -1, calls;

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    static size_t (*real)(const void *, size_t, size_t, FILE *);
    if (!real)
        real = (size_t(*)(const void *, size_t, size_t, FILE *))dlsym(RTLD_NEXT, "fwrite");
    if (kill_at < 0) {
        const char *e = getenv("MRIGAN_TEST_KILL_AT");
        kill_at = e ? atol(e) : 0;
    }
    if (++calls == kill_at)
        raise(SIGKILL);
    return real(p, size, n, f);
}

__attribute__((destructor)) static void kill_at_write_report(void)
{
    const char *to = getenv("MRIGAN_TEST_COUNT_TO");
    FILE *f = to ? fopen(to, "w") : NULL;
    if (f) {
        fprintf(f, "%ld\n", calls);
        fclose(f);
    }
}
