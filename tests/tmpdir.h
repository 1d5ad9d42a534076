/* Removing a test's temporary folder tree. */
#ifndef MRIGAN_TEST_TMPDIR_H
#define MRIGAN_TEST_TMPDIR_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deletes dir and everything below it (symbolic links are removed, not followed); reports what it cannot. */
static void remove_tree(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    for (struct dirent *e; (e = readdir(dp));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else if (unlink(p) != 0)
            perror(p);
    }
    closedir(dp);
    if (rmdir(dir) != 0)
        perror(dir);
}

#endif
