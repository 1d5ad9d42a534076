/* Files written whole or not at all: every file mrigan writes or rewrites in one go (checkpoints, images, the
 * report, config.txt, a trimmed CSV) goes through a temporary file in the same folder, synced and renamed onto
 * its name, so a crash, a full disk or a failed write leaves the previous file as it was. (CSV rows appended
 * during a run are appended.) Not part of the public API. */
#ifndef MRIGAN_FILE_H
#define MRIGAN_FILE_H

#include <stdio.h>

#include "mrigan/mrigan.h"

/* Fills f; returns MG_OK, or a status with its message set (mg_error). Write errors that leave f's error flag
 * set need no message of their own: the caller reports them. */
typedef mg_status (*mg_file_writer)(FILE *f, void *arg);

/* Writes path through "<path>.tmp-XXXXXX" (mode 0666 less the umask) filled by writer: checks the writes,
 * flushes and fsyncs it, renames it onto path and fsyncs the folder (a folder the file system cannot sync is no
 * error). On failure path is unchanged and the temporary file is removed; the status is the writer's own (with
 * its message), or MG_ERR_IO with a message that starts with what and path ("checkpoint runs/x/latest.ckpt:
 * ...") and names the system's reason. A write past RLIMIT_FSIZE raises SIGXFSZ, which kills the process unless
 * the caller ignores it (then it is EFBIG). */
mg_status mg_file_write_atomic(const char *what, const char *path, mg_file_writer writer, void *arg);

/* mkdir -p: creates every missing folder of path. 0, or -1 with errno (ENOTDIR where a part of path exists and is
 * not a folder, ENAMETOOLONG past 4095 bytes); the caller names path in its message. */
int mg_file_make_dirs(const char *path);

/* printf into buf, for paths: false (and an empty buf) when the result does not fit. */
bool mg_path_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
