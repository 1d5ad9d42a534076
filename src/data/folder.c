/* The one folder scanner: the PNG slices (and NIfTI volumes) of a folder, as training, translation and evaluation
 * see them. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/base.h"
#include "mrigan/volume.h"

static int folder_compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

bool mg_folder_is_png_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcasecmp(name + n - 4, ".png") == 0;
}

void mg_folder_free_names(char **names, int count)
{
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* Whether dir/name is a regular file or a link to one (not a broken link, not a folder named x.png). */
static bool folder_is_file(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *path = malloc(a + b + 2);
    if (!path)
        return true; /* the load that follows reports it */
    memcpy(path, dir, a);
    path[a] = '/';
    memcpy(path + a + 1, name, b + 1);
    struct stat st;
    bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return ok;
}

static mg_status folder_list(const char *dir, bool (*wanted)(const char *name), char ***names, int *count)
{
    *names = NULL;
    *count = 0;
    DIR *dp = opendir(dir);
    if (!dp) {
        int e = errno;
        if (e == ENOENT)
            return mg_error(MG_ERR_IO, "%s: no such folder", dir);
        if (e == ENOTDIR)
            return mg_error(MG_ERR_IO, "%s: not a folder", dir);
        return mg_error(MG_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(e));
    }
    mg_status s = MG_OK;
    char **list = NULL;
    int n = 0, cap = 0;
    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(dp);
        if (!ent) {
            if (errno != 0)
                s = mg_error(MG_ERR_IO, "%s: cannot list the folder: %s", dir, strerror(errno));
            break;
        }
        if (!wanted(ent->d_name) || !folder_is_file(dir, ent->d_name))
            continue;
        if (n == cap) {
            int grown = cap ? 2 * cap : 64;
            char **bigger = realloc(list, sizeof *bigger * (size_t)grown);
            if (!bigger) {
                s = mg_error(MG_ERR_OOM, "%s: out of memory", dir);
                break;
            }
            list = bigger;
            cap = grown;
        }
        if (!(list[n] = strdup(ent->d_name))) {
            s = mg_error(MG_ERR_OOM, "%s: out of memory", dir);
            break;
        }
        n++;
    }
    if (closedir(dp) != 0 && s == MG_OK)
        s = mg_error(MG_ERR_IO, "%s: cannot close the folder: %s", dir, strerror(errno));
    if (s != MG_OK) {
        mg_folder_free_names(list, n);
        return s;
    }
    if (n > 1) /* qsort must not be given NULL, even for no elements */
        qsort(list, (size_t)n, sizeof *list, folder_compare_names);
    *names = list;
    *count = n;
    return MG_OK;
}

mg_status mg_folder_list_pngs(const char *dir, char ***names, int *count)
{
    return folder_list(dir, mg_folder_is_png_name, names, count);
}

mg_status mg_folder_list_inputs(const char *dir, char ***names, int *count)
{
    return folder_list(dir, mg_input_is_name, names, count);
}
