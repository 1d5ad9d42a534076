/* Helpers shared by the subcommands: file names, pairing two folders of slices, loading a model from a
 * checkpoint, translating one image at native size. Messages start with "mrigan <cmd>:". */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "app-util.h"

const char *app_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* dir/name, or name alone when dir is NULL or name is absolute; NULL when out of memory. */
char *app_path_join(const char *dir, const char *name)
{
    if (!dir || name[0] == '/')
        return strdup(name);
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

void app_pairs_free(app_pair_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->items[i].a);
        free(l->items[i].b);
    }
    free(l->items);
    *l = (app_pair_list){0};
}

/* Appends (a, b), taking ownership of both strings (freed on failure). */
int app_pairs_add(const char *cmd, app_pair_list *l, char *a, char *b)
{
    if (a && b && l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        app_pair *items = realloc(l->items, (size_t)cap * sizeof *items);
        if (items) {
            l->items = items;
            l->cap = cap;
        }
    }
    if (!a || !b || l->n == l->cap) {
        free(a);
        free(b);
        return fprintf(stderr, "mrigan %s: out of memory\n", cmd), 1;
    }
    l->items[l->n++] = (app_pair){a, b};
    return 0;
}

/* The PNG files of dir (names only, sorted by strcmp). Errors name the folder. */
static int names_list(const char *cmd, const char *dir, char ***out, int *n_out)
{
    if (mg_folder_list_pngs(dir, out, n_out) != MG_OK)
        return fprintf(stderr, "mrigan %s: %s\n", cmd, mg_last_error()), 1;
    if (*n_out == 0)
        return fprintf(stderr, "mrigan %s: %s: no .png images\n", cmd, dir), 1;
    return 0;
}

/* The name without its extension and without contrast tags: the words T1, T2, T1w, T2w (any case) between
 * non-alphanumeric characters. "MNI152_T1_1mm_z030.png" and "MNI152_T2_1mm_z030.png" share "MNI152__1mm_z030". */
static void contrast_key(const char *name, char *key, size_t len)
{
    const char *dot = strrchr(name, '.');
    size_t n = dot ? (size_t)(dot - name) : strlen(name), k = 0;
    for (size_t i = 0; i < n && k + 1 < len;) {
        if ((i == 0 || !isalnum((unsigned char)name[i - 1])) && (name[i] == 'T' || name[i] == 't') && i + 1 < n &&
            (name[i + 1] == '1' || name[i + 1] == '2')) {
            size_t j = i + 2;
            if (j < n && (name[j] == 'w' || name[j] == 'W'))
                j++;
            if (j == n || !isalnum((unsigned char)name[j])) {
                i = j;
                continue;
            }
        }
        key[k++] = name[i++];
    }
    key[k] = '\0';
}

/* Pairs every PNG of dir_a with the file of dir_b of the same name or, failing that, the one name of the same
 * contrast key. Files of dir_b left over are reported, not scored. */
int app_pairs_from_folders(const char *cmd, const char *dir_a, const char *dir_b, app_pair_list *l)
{
    char **na = NULL, **nb = NULL;
    int ca = 0, cb = 0, rc = names_list(cmd, dir_a, &na, &ca);
    if (!rc)
        rc = names_list(cmd, dir_b, &nb, &cb);
    char *used = rc ? NULL : calloc((size_t)cb, 1);
    if (!rc && !used)
        rc = (fprintf(stderr, "mrigan %s: out of memory\n", cmd), 1);
    for (int i = 0; !rc && i < ca; i++) {
        int match = -1;
        for (int j = 0; j < cb && match < 0; j++)
            if (!strcmp(na[i], nb[j]))
                match = j;
        char ka[1024], kb[1024];
        contrast_key(na[i], ka, sizeof ka);
        for (int j = 0; j < cb && match < 0 && !rc; j++) {
            contrast_key(nb[j], kb, sizeof kb);
            if (strcmp(ka, kb))
                continue;
            match = j;
            for (int k = j + 1; k < cb && !rc; k++) {
                contrast_key(nb[k], kb, sizeof kb);
                if (!strcmp(ka, kb))
                    rc = (fprintf(stderr, "mrigan %s: %s/%s: both %s/%s and %s/%s could be its counterpart\n", cmd,
                                  dir_a, na[i], dir_b, nb[j], dir_b, nb[k]),
                          1);
            }
        }
        if (rc)
            break;
        if (match < 0)
            rc = (fprintf(stderr,
                          "mrigan %s: %s/%s: no counterpart in %s (the same name, or one that differs "
                          "only in a T1/T2 tag); give pairs with --pairs FILE.csv\n",
                          cmd, dir_a, na[i], dir_b),
                  1);
        else if (used[match])
            rc = (fprintf(stderr, "mrigan %s: %s/%s is the counterpart of two files of %s\n", cmd, dir_b, nb[match],
                          dir_a),
                  1);
        else {
            used[match] = 1;
            rc = app_pairs_add(cmd, l, app_path_join(dir_a, na[i]), app_path_join(dir_b, nb[match]));
        }
    }
    int unused = 0, first = -1;
    for (int j = 0; !rc && j < cb; j++)
        if (!used[j] && (unused++, first < 0))
            first = j;
    if (unused)
        fprintf(stderr, "mrigan %s: note: %d image%s of %s without a counterpart in %s not scored (%s%s)\n", cmd,
                unused, unused == 1 ? "" : "s", dir_b, dir_a, nb[first], unused > 1 ? ", ..." : "");
    mg_folder_free_names(na, ca);
    mg_folder_free_names(nb, cb);
    free(used);
    return rc;
}

mg_status app_open_backend(const char *cmd, int kind, int device, int threads, mg_backend **out)
{
    static const char *const kinds[] = {"auto", "cpu", "opencl"};
    mg_status s = mg_backend_open(kinds[kind >= 0 && kind <= 2 ? kind : 0], device, threads, out);
    if (s == MG_OK && kind == 0)
        fprintf(stderr, "mrigan %s: --backend auto chose %s (%s)\n", cmd, mg_backend_name(*out),
                mg_backend_device(*out));
    return s;
}

int app_inputs_add(app_inputs *in, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (in->n == in->cap) {
        int cap = in->cap ? 2 * in->cap : 16;
        void *p = realloc(in->ids, (size_t)cap * sizeof *in->ids);
        if (!p)
            return 1;
        in->ids = p;
        in->cap = cap;
    }
    in->ids[in->n++] = (struct app_file_id){st.st_dev, st.st_ino};
    return 0;
}

bool app_inputs_has(const app_inputs *in, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    for (int i = 0; i < in->n; i++)
        if (in->ids[i].dev == st.st_dev && in->ids[i].ino == st.st_ino)
            return true;
    return false;
}

void app_inputs_free(app_inputs *in)
{
    free(in->ids);
    *in = (app_inputs){0};
}
