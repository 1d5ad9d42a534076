/* The run folder of a training run: claiming it (a new run never mixes with an old one's files; one process
 * at a time), clearing what an interrupted save left, and config.txt. */
#define _DEFAULT_SOURCE /* flock */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sys/stat.h>

#include "base/base.h"
#include "base/file.h"
#include "trainer-internal.h"

/* "<prefix>NNN<suffix>" with three or more digits: the numbered files a run writes (epoch_012.ckpt). */
static bool folder_is_numbered(const char *name, const char *prefix, const char *suffix)
{
    size_t np = strlen(prefix), ns = strlen(suffix), n = strlen(name), digits = 0;
    if (n < np + ns + 3 || strncmp(name, prefix, np) || strcmp(name + n - ns, suffix))
        return false;
    for (size_t i = np; i < n - ns; i++, digits++)
        if (!isdigit((unsigned char)name[i]))
            return false;
    return digits >= 3;
}

/* Whether name is one of the files a run writes at its top level (the samples are in samples/). */
static bool folder_is_run_file(const char *name)
{
    static const char *const files[] = {"latest.ckpt", "best.ckpt",        "best.txt", "losses.csv", "epochs.csv",
                                        "val.csv",     "val-identity.csv", "loss.png", "config.txt", "report.html"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (!strcmp(name, files[i]))
            return true;
    return folder_is_numbered(name, "epoch_", ".ckpt");
}

static bool folder_is_sample(const char *name)
{
    return folder_is_numbered(name, "epoch_", ".png") || folder_is_numbered(name, "val_epoch_", ".png");
}

/* What an atomic write of one of the run's files leaves when its process is killed: "<name>.tmp-XXXXXX"
 * (base/file.c, mkstemp's six letters and digits). A user's file of another name is never matched. */
static bool folder_is_stale_tmp(const char *name)
{
    const char *t = strstr(name, ".tmp-");
    if (!t || t == name || strlen(t + 5) != 6)
        return false;
    for (const char *c = t + 5; *c; c++)
        if (!isalnum((unsigned char)*c))
            return false;
    char own[256];
    if ((size_t)(t - name) >= sizeof own)
        return false;
    memcpy(own, name, (size_t)(t - name));
    own[t - name] = '\0';
    return folder_is_run_file(own) || folder_is_sample(own);
}

typedef bool (*folder_match)(const char *name);

/* Removes the entries of dir that match; counts them into *removed. 0, or -1 with errno. */
static int folder_remove_matching(const char *dir, folder_match match, int *removed)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        char path[4600];
        if (!match(e->d_name) || !mg_path_fmt(path, sizeof path, "%s/%s", dir, e->d_name))
            continue;
        if (unlink(path) == 0)
            (*removed)++;
        else if (errno != ENOENT)
            rc = -1;
    }
    int err = errno;
    closedir(d);
    errno = err;
    return rc;
}

/* Whether the file dir/name begins with these bytes. */
static bool folder_file_begins(const char *dir, const char *name, const char *magic)
{
    char path[4600], buf[32] = {0};
    size_t n = strlen(magic);
    if (!mg_path_fmt(path, sizeof path, "%s/%s", dir, name))
        return false;
    FILE *f = fopen(path, "rb");
    bool yes = f && fread(buf, 1, n, f) == n && !memcmp(buf, magic, n);
    if (f)
        fclose(f);
    return yes;
}

/* Entries of dir, and whether they are an mrigan run's: its config.txt or latest.ckpt, by their contents,
 * not their names alone (a user's config.txt is not a run). The phantom the run renders for itself
 * (phantom/) is not counted. -1 with errno, 0 otherwise. */
static int folder_survey(const char *dir, int *entries, bool *is_run)
{
    *entries = 0;
    *is_run =
        folder_file_begins(dir, "config.txt", "command=mrigan ") || folder_file_begins(dir, "latest.ckpt", "MRIGANCK");
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    for (struct dirent *e; (e = readdir(d));)
        *entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "phantom");
    closedir(d);
    return 0;
}

static mg_status folder_fail(const char *what, const char *path)
{
    return mg_error(MG_ERR_IO, "%s %s: %s", what, path, strerror(errno));
}

mg_status mg_trainer_check_folder(const char *out, bool overwrite)
{
    int entries;
    bool is_run;
    if (folder_survey(out, &entries, &is_run) != 0)
        return folder_fail("cannot read", out);
    if (entries > 0 && !overwrite)
        return mg_error(MG_ERR_ARG,
                        "%s already holds %s; continue it with --resume %s, start it afresh with --overwrite (which "
                        "deletes its checkpoints, CSVs and samples), or choose another --out",
                        out, is_run ? "a run" : "files", out);
    if (entries > 0 && !is_run)
        return mg_error(MG_ERR_ARG, "%s is not empty and holds no mrigan run: --overwrite clears only runs", out);
    return MG_OK;
}

mg_status run_folder_lock(const char *out, bool create, int *lock_fd)
{
    *lock_fd = -1;
    if (create && mg_file_make_dirs(out) != 0)
        return folder_fail("cannot create", out);
    /* An advisory lock on the folder itself: a second trainer in the same folder would interleave saves. */
    *lock_fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*lock_fd < 0)
        return folder_fail("cannot open", out);
    if (flock(*lock_fd, LOCK_EX | LOCK_NB) == 0)
        return MG_OK;
    if (errno == EWOULDBLOCK) {
        close(*lock_fd);
        *lock_fd = -1;
        return mg_error(MG_ERR_IO, "another mrigan train is using %s; wait for it or stop it first", out);
    }
    /* Some network file systems do not lock: train without the guard (and without removing temporary files,
     * which could be another machine's save in progress). */
    close(*lock_fd);
    *lock_fd = -1;
    return MG_OK;
}

mg_status run_folder_prepare(const char *out, bool clear_old, int lock_fd, int *cleared, int *stale)
{
    char samples[4200];
    mg_path_fmt(samples, sizeof samples, "%s/samples", out);
    *cleared = *stale = 0;
    if (clear_old && (folder_remove_matching(out, folder_is_run_file, cleared) != 0 ||
                      folder_remove_matching(samples, folder_is_sample, cleared) != 0))
        return folder_fail("cannot clear the old run in", out);
    if (mg_file_make_dirs(samples) != 0)
        return folder_fail("cannot create", samples);
    /* Holding the lock, no save of ours is under way: every temporary file of the run's is a killed save's. */
    if (lock_fd >= 0 && (folder_remove_matching(out, folder_is_stale_tmp, stale) != 0 ||
                         folder_remove_matching(samples, folder_is_stale_tmp, stale) != 0))
        return folder_fail("cannot remove stale temporary files in", out);
    return MG_OK;
}

/* ------------------------------------------------------------------ config.txt */
typedef struct config_args {
    const mg_train_settings *o;
    const mg_backend *be;
    const char *command;
} config_args;

static mg_status config_write_stream(FILE *f, void *arg)
{
    const config_args *a = arg;
    const mg_train_settings *o = a->o;
    /* "command=mrigan " also marks the folder as a run's (folder_survey). */
    fprintf(f, "command=mrigan %s\n", a->command ? a->command : "(library)");
    for (int i = 0; i < MG_SET_COUNT; i++) {
        char buf[PATH_MAX];
        /* ONCE: the run folder itself; EACH: per invocation, what was opened follows */
        if (mg_settings[i].scope == MG_SCOPE_RUN || mg_settings[i].scope == MG_SCOPE_MODEL)
            fprintf(f, "%s=%s\n", mg_settings[i].key, mg_setting_format(o, (mg_setting_id)i, buf, sizeof buf));
    }
    fprintf(f, "validation=%s\nbackend=%s\ndevice=%s\nthreads=%d\n",
            !o->val_a         ? "none"
            : o->val_unpaired ? "cycle reconstructions (unpaired)"
                              : "paired",
            mg_backend_name(a->be), mg_backend_device(a->be), mg_backend_threads(a->be));
    return MG_OK;
}

mg_status run_write_config(const char *out, const mg_train_settings *o, const mg_backend *be, const char *command)
{
    char path[4200];
    if (!mg_path_fmt(path, sizeof path, "%s/config.txt", out))
        return mg_error(MG_ERR_ARG, "%s/config.txt: path too long", out);
    config_args a = {o, be, command};
    return mg_file_write_atomic("", path, config_write_stream, &a);
}
