/* Atomic file replacement (see file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "file.h"

static const char *file_errstr(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

/* The folder of path ("." without a slash), malloc'd; NULL when out of memory. */
static char *file_dir_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n ? n + 1 : 2);
    if (!dir)
        return NULL;
    if (n)
        memcpy(dir, path, n);
    else
        dir[n++] = '.';
    dir[n] = '\0';
    return dir;
}

/* Whether an fsync error only says that this folder cannot be synced (some network and FUSE mounts, read-only
 * or unreadable folders), which is no error: the file itself is already on disk. */
static bool file_cannot_sync(int err)
{
    return err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP || err == EBADF || err == EROFS || err == EPERM ||
           err == EACCES;
}

/* fsyncs a folder so that a rename in it is durable; 0 or an errno (never one of file_cannot_sync's). */
static int file_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return 0; /* cannot be opened for syncing: nothing more to do */
    int err = fsync(fd) != 0 && !file_cannot_sync(errno) ? errno : 0;
    (void)close(fd);
    return err;
}

/* The mode a new file gets: 0666 less the process's umask, read without changing it (/proc/self/status);
 * 0644 where that cannot be read. */
static mode_t file_mode(void)
{
    static mode_t mode;
    if (mode)
        return mode;
    unsigned mask = 022;
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %o", &mask) == 1)
            break;
    if (f)
        fclose(f);
    mode = (mode_t)(0666 & ~mask);
    return mode ? mode : 0600; /* an umask of 0666 is honoured too, as 0600 for the owner to read it back */
}

/* Fills the temporary file fd through writer and closes it; MG_OK or a status with its message. */
static mg_status file_fill(int fd, const char *what, const char *path, mg_file_writer writer, void *arg)
{
    char es[128];
    /* mkstemp makes 0600; file systems without POSIX modes (some network mounts) refuse, harmlessly. */
    bool mode_ok = fchmod(fd, file_mode()) == 0 || errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP;
    FILE *f = mode_ok ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int err = errno;
        close(fd);
        return mg_error(MG_ERR_IO, "%s%s: cannot open a temporary file: %s", what, path,
                        file_errstr(err, es, sizeof es));
    }
    mg_status s = writer(f, arg);
    int err = 0;
    if (s == MG_OK && ferror(f))
        err = EIO; /* errno may have changed since the failed write: the writer reports its own reason if it can */
    else if (s == MG_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        err = errno ? errno : EIO;
    if (fclose(f) != 0 && s == MG_OK && !err)
        err = errno ? errno : EIO;
    if (err)
        s = mg_error(MG_ERR_IO, "%s%s: writing failed: %s (an existing file there is unchanged)", what, path,
                     file_errstr(err, es, sizeof es));
    return s;
}

mg_status mg_file_write_atomic(const char *what, const char *path, mg_file_writer writer, void *arg)
{
    static const char suffix[] = ".tmp-XXXXXX";
    what = what ? what : "";
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof suffix), *dir = file_dir_name(path);
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return mg_error(MG_ERR_OOM, "%s%s: out of host memory", what, path);
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, suffix, sizeof suffix);
    char es[128];
    mg_status s = MG_OK;
    int fd = mkstemp(tmp), err;
    if (fd < 0) {
        s = mg_error(MG_ERR_IO, "%s%s: cannot create a temporary file in folder %s: %s", what, path, dir,
                     file_errstr(errno, es, sizeof es));
    } else if ((s = file_fill(fd, what, path, writer, arg)) != MG_OK || rename(tmp, path) != 0) {
        if (s == MG_OK)
            s = mg_error(MG_ERR_IO, "%s%s: cannot rename the temporary file onto it: %s", what, path,
                         file_errstr(errno, es, sizeof es));
        if (unlink(tmp) != 0) {
            char msg[768]; /* keep the first message and name the leftover file */
            snprintf(msg, sizeof msg, "%s; the temporary file %s could not be removed", mg_last_error(), tmp);
            s = mg_error(s, "%s", msg);
        }
    } else if ((err = file_sync_dir(dir)) != 0) {
        /* The new file is whole at path; only its durability across a power loss is in doubt. */
        s = mg_error(MG_ERR_IO, "%s%s: written, but syncing folder %s failed: %s", what, path, dir,
                     file_errstr(err, es, sizeof es));
    }
    free(tmp);
    free(dir);
    return s;
}

bool mg_path_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        if (len)
            buf[0] = '\0';
        return false;
    }
    return true;
}

/* Each prefix of path that ends at a '/', then path itself. */
int mg_file_make_dirs(const char *path)
{
    char buf[4096];
    if (!mg_path_fmt(buf, sizeof buf, "%s", path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    const size_t len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        const char c = buf[i];
        buf[i] = '\0';
        struct stat sb;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        if (stat(buf, &sb) != 0)
            return -1;
        if (!S_ISDIR(sb.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
        buf[i] = c;
    }
    return 0;
}
