/* The run folder of `mrigan train`: claiming it (a new run never mixes with an old one's files; one process
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

#include "app-util.h"
#include "base/base.h"
#include "base/file.h"
#include "options.h"
#include "train-run.h"

/* Whether name is one of the files a run writes at its top level (the samples are in samples/). */
static bool folder_is_run_file(const char *name)
{
    static const char *const files[] = {"latest.ckpt", "best.ckpt", "best.txt",    "losses.csv", "epochs.csv",
                                        "val.csv",     "loss.png",  "config.txt", "report.html"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (!strcmp(name, files[i]))
            return true;
    size_t n = strlen(name);
    return !strncmp(name, "epoch_", 6) && n > 11 && !strcmp(name + n - 5, ".ckpt");
}

static bool folder_is_sample(const char *name)
{
    size_t n = strlen(name);
    return !strncmp(name, "epoch_", 6) && n > 10 && !strcmp(name + n - 4, ".png");
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
        if (!match(e->d_name) || !app_path(path, sizeof path, "%s/%s", dir, e->d_name))
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

/* What dir holds: *entries counts everything, *run_files what a run writes. -1 with errno, 0 otherwise. */
static int folder_survey(const char *dir, int *entries, int *run_files)
{
    *entries = *run_files = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        (*entries)++;
        *run_files += folder_is_run_file(e->d_name) || !strcmp(e->d_name, "samples") || !strcmp(e->d_name, "phantom");
    }
    closedir(d);
    return 0;
}

static int folder_fail(const char *what, const char *path)
{
    fprintf(stderr, "mrigan train: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

int train_folder_check(const char *out, bool overwrite)
{
    int entries, run_files;
    if (folder_survey(out, &entries, &run_files) != 0)
        return folder_fail("cannot read", out);
    if (entries > 0 && !overwrite) {
        fprintf(stderr,
                "mrigan train: %s already holds %s; continue it with --resume %s, start it afresh with --overwrite "
                "(which deletes its checkpoints, CSVs and samples), or choose another --out\n",
                out, run_files ? "a run" : "files", out);
        return 2;
    }
    if (entries > 0 && !run_files) {
        fprintf(stderr, "mrigan train: %s is not empty and holds no mrigan run: --overwrite clears only runs\n", out);
        return 2;
    }
    return 0;
}

int train_folder_claim(const char *out, bool resume, bool overwrite, int *lock_fd)
{
    *lock_fd = -1;
    char samples[4200];
    app_path(samples, sizeof samples, "%s/samples", out);
    if (train_make_dir(samples) != 0)
        return folder_fail("cannot create", samples);
    /* An advisory lock on the folder itself: a second trainer in the same folder would interleave saves. */
    *lock_fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*lock_fd < 0)
        return folder_fail("cannot open", out);
    if (flock(*lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            fprintf(stderr, "mrigan train: another mrigan train is using %s; wait for it or stop it first\n", out);
            return 1;
        }
        /* Some network file systems do not lock: train without the guard. */
    }
    int removed = 0, cleared = 0;
    if (overwrite && !resume &&
        (folder_remove_matching(out, folder_is_run_file, &cleared) != 0 ||
         folder_remove_matching(samples, folder_is_sample, &cleared) != 0))
        return folder_fail("cannot clear the old run in", out);
    /* Holding the lock, no save of ours is under way: every temporary file is a killed save's. */
    if (folder_remove_matching(out, folder_is_stale_tmp, &removed) != 0 ||
        folder_remove_matching(samples, folder_is_stale_tmp, &removed) != 0)
        return folder_fail("cannot remove stale temporary files in", out);
    if (cleared)
        fprintf(stderr, "mrigan train: --overwrite: removed %d files of the old run in %s\n", cleared, out);
    if (removed)
        fprintf(stderr, "mrigan train: removed %d temporary files of interrupted saves in %s\n", removed, out);
    return 0;
}

/* ------------------------------------------------------------------ config.txt */
typedef struct config_args {
    const train_opts *o;
    const mg_backend *be;
    int argc;
    char **argv;
} config_args;

#define CONFIG_INT(f, c)    fprintf(f_, "%s=%d\n", #f, o->f);
#define CONFIG_FLAG(f, c)   fprintf(f_, "%s=%d\n", #f, o->f);
#define CONFIG_NOFLAG(f, c) fprintf(f_, "%s=%d\n", #f, o->f);
#define CONFIG_FLOAT(f, c)  fprintf(f_, "%s=%g\n", #f, o->f);
#define CONFIG_STRING(f, c) fprintf(f_, "%s=%s\n", #f, o->f ? o->f : "");
#define CONFIG_CHOICE(f, c) fprintf(f_, "%s=%s\n", #f, app_choice_name(c, o->f, buf, sizeof buf));

static mg_status config_write_stream(FILE *f_, void *arg)
{
    const config_args *a = arg;
    const train_opts *o = a->o;
    char buf[64];
    fprintf(f_, "command=mrigan");
    for (int i = 0; i < a->argc; i++)
        fprintf(f_, " %s", a->argv[i]);
    fprintf(f_, "\n");
#define CONFIG_RUN(kind, f, c)                                               CONFIG_##kind(f, c)
#define CONFIG_MODEL(kind, f, c)                                             CONFIG_##kind(f, c)
#define CONFIG_ONCE(kind, f, c)                                              /* the run folder itself */
#define CONFIG_EACH(kind, f, c)                                              /* per invocation: what was opened follows */
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) CONFIG_##scope(kind, f, choices)
#include "train-settings.def"
#undef SETTING
    fprintf(f_, "validation=%s\nbackend=%s\ndevice=%s\nthreads=%d\n",
            !o->val_a         ? "none"
            : o->val_unpaired ? "cycle reconstructions (unpaired)"
                              : "paired",
            mg_backend_name(a->be), mg_backend_device(a->be), mg_backend_threads(a->be));
    return MG_OK;
}

mg_status train_write_config(const char *out, const train_opts *o, const mg_backend *be, int argc, char **argv)
{
    char path[4200];
    if (!app_path(path, sizeof path, "%s/config.txt", out))
        return mg_error(MG_ERR_ARG, "%s/config.txt: path too long", out);
    config_args a = {o, be, argc, argv};
    return mg_file_write_atomic("", path, config_write_stream, &a);
}
