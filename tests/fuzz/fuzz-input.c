/* One scratch file per fuzzing process, rewritten for every input (pwrite + ftruncate) rather than created and
 * removed each time. It is unlinked as soon as it is made and reached through /proc/self/fd/N, so a run that
 * ends in a crash or is killed leaves nothing behind in the temporary folder. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz-input.h"

static int fuzz_fd = -1;
static char fuzz_path[64];

void fuzz_open_input(void)
{
    const char *dir = getenv("TMPDIR");
    char name[4096];
    snprintf(name, sizeof name, "%s/mrigan-fuzz-XXXXXX", dir && *dir ? dir : "/tmp");
    fuzz_fd = mkstemp(name);
    if (fuzz_fd < 0) {
        perror(name);
        exit(1);
    }
    unlink(name);
    snprintf(fuzz_path, sizeof fuzz_path, "/proc/self/fd/%d", fuzz_fd);
}

const char *fuzz_write_input(const uint8_t *data, size_t size)
{
    if (fuzz_fd < 0)
        fuzz_open_input(); /* a target run without LLVMFuzzerInitialize (another fuzzing engine) */
    if ((size && pwrite(fuzz_fd, data, size, 0) != (ssize_t)size) || ftruncate(fuzz_fd, (off_t)size) != 0) {
        perror("fuzz input file");
        exit(1);
    }
    return fuzz_path;
}
