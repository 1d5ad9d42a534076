/* A unit test's temporary folder under /tmp and the files it writes there (the command-line tests have their own,
 * in cli-util.c). Include after check.h. */
#ifndef MRIGAN_TEST_TMP_FILES_H
#define MRIGAN_TEST_TMP_FILES_H

#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "tmpdir.h"

static char tmp_dir[64];

/* Makes /tmp/mrigan-test-NAME-XXXXXX into tmp_dir; false (with perror) when it cannot. */
static inline bool tmp_dir_make(const char *name)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mrigan-test-%s-XXXXXX", name);
    if (mkdtemp(tmp_dir))
        return true;
    perror("mkdtemp");
    return false;
}

/* buf (512 bytes) = tmp_dir/name. */
static inline const char *tmp_path(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", tmp_dir, name);
    return buf;
}

static inline void write_bytes(const char *path, const void *buf, size_t n)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(buf, 1, n, fp) == n && fclose(fp) == 0, "cannot write %s", path);
}

#endif
