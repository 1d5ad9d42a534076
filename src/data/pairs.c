/* Paths and pairs of files: joining a folder and a name, and matching the inputs of two folders one to one (by
 * name, or by a name that differs only in a T1/T2 tag), for scoring translations against their counterparts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "mrigan/volume.h"

char *mg_path_join(const char *dir, const char *name)
{
    if (!dir || name[0] == '/')
        return strdup(name);
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] == '/';
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        if (!slash)
            p[a++] = '/';
        memcpy(p + a, name, b + 1);
    }
    return p;
}

void mg_pairs_free(mg_pair_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->items[i].a);
        free(l->items[i].b);
    }
    free(l->items);
    free(l->first_unmatched);
    *l = (mg_pair_list){0};
}

mg_status mg_pairs_add(mg_pair_list *l, char *a, char *b)
{
    if (a && b && l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        mg_file_pair *items = realloc(l->items, (size_t)cap * sizeof *items);
        if (items) {
            l->items = items;
            l->cap = cap;
        }
    }
    if (!a || !b || l->n == l->cap) {
        free(a);
        free(b);
        return mg_error(MG_ERR_OOM, "pairs: out of host memory");
    }
    l->items[l->n++] = (mg_file_pair){a, b};
    return MG_OK;
}

/* The inputs of dir (names only, sorted by strcmp); none is an error naming the folder. */
static mg_status pairs_list(const char *dir, char ***out, int *n_out)
{
    mg_status s = mg_folder_list_inputs(dir, out, n_out);
    if (s == MG_OK && *n_out == 0)
        s = mg_error(MG_ERR_ARG, "%s: no inputs (.png slices or .nii/.nii.gz volumes)", dir);
    return s;
}

/* The name without its extension (.png, .nii, .nii.gz) and without contrast tags: the words T1, T2, T1w, T2w (any
 * case) between non-alphanumeric characters. "MNI152_T1_1mm_z030.png" and "MNI152_T2_1mm_z030.png" share
 * "MNI152__1mm_z030". */
/* The length of name's extension: .nii.gz, or a last dot's (.png, .nii). */
static size_t pairs_extension(const char *name)
{
    size_t n = strlen(name);
    if (n > 7 && !strcasecmp(name + n - 7, ".nii.gz"))
        return 7;
    const char *dot = strrchr(name, '.');
    return dot ? strlen(dot) : 0;
}

/* The length of the contrast tag (T1, T2, T1w, T2w, any case) at name[i], a word of its own within name[0..n),
 * or 0. */
static size_t pairs_tag_at(const char *name, size_t i, size_t n)
{
    if (!((i == 0 || !isalnum((unsigned char)name[i - 1])) && (name[i] == 'T' || name[i] == 't') && i + 1 < n &&
          (name[i + 1] == '1' || name[i + 1] == '2')))
        return 0;
    size_t j = i + 2;
    if (j < n && (name[j] == 'w' || name[j] == 'W'))
        j++;
    return j == n || !isalnum((unsigned char)name[j]) ? j - i : 0;
}

/* The name without its extension and without contrast tags. "MNI152_T1_1mm_z030.png" and "MNI152_T2_1mm_z030.png"
 * share "MNI152__1mm_z030". */
static void pairs_contrast_key(const char *name, char *key, size_t len)
{
    size_t n = strlen(name) - pairs_extension(name), k = 0;
    for (size_t i = 0; i < n && k + 1 < len;) {
        size_t tag = pairs_tag_at(name, i, n);
        if (tag) {
            i += tag;
            continue;
        }
        key[k++] = name[i++];
    }
    key[k] = '\0';
}

bool mg_output_name(const char *name, int direction, const char *suffix, char *buf, size_t len)
{
    const size_t ext = pairs_extension(name), n = strlen(name) - ext, extra = suffix ? strlen(suffix) : 0;
    if (n + extra + ext + 1 > len) {
        if (len)
            buf[0] = '\0';
        return false;
    }
    memcpy(buf, name, n);
    for (size_t i = 0; i < n; i++) /* the source's tag digit becomes the target's */
        if (pairs_tag_at(name, i, n) && name[i + 1] == (direction ? '2' : '1'))
            buf[i + 1] = direction ? '1' : '2';
    memcpy(buf + n, suffix ? suffix : "", extra);
    memcpy(buf + n + extra, name + n, ext + 1);
    return true;
}

/* The file of nb that is na's counterpart, or -1 (MG_OK) when there is none; an error when two could be. */
static mg_status pairs_match(const char *dir_a, const char *na, const char *dir_b, char **nb, int cb, int *match)
{
    *match = -1;
    for (int j = 0; j < cb; j++)
        if (!strcmp(na, nb[j]))
            return *match = j, MG_OK;
    char ka[1024], kb[1024];
    pairs_contrast_key(na, ka, sizeof ka);
    for (int j = 0; j < cb; j++) {
        pairs_contrast_key(nb[j], kb, sizeof kb);
        if (strcmp(ka, kb) || mg_volume_is_name(na) != mg_volume_is_name(nb[j])) /* a slice is no volume's pair */
            continue;
        if (*match >= 0)
            return mg_error(MG_ERR_ARG, "%s/%s: both %s/%s and %s/%s could be its counterpart", dir_a, na, dir_b,
                            nb[*match], dir_b, nb[j]);
        *match = j;
    }
    return MG_OK;
}

mg_status mg_folder_pair_inputs(const char *dir_a, const char *dir_b, mg_pair_list *l)
{
    char **na = NULL, **nb = NULL;
    int ca = 0, cb = 0;
    mg_status s = pairs_list(dir_a, &na, &ca);
    if (s == MG_OK)
        s = pairs_list(dir_b, &nb, &cb);
    char *used = s == MG_OK ? calloc((size_t)cb, 1) : NULL;
    if (s == MG_OK && !used)
        s = mg_error(MG_ERR_OOM, "pairs: out of host memory");
    for (int i = 0; s == MG_OK && i < ca; i++) {
        int match;
        s = pairs_match(dir_a, na[i], dir_b, nb, cb, &match);
        if (s == MG_OK && match < 0)
            s = mg_error(MG_ERR_ARG,
                         "%s/%s: no counterpart in %s (the same name, or one that differs only in a T1/T2 tag)", dir_a,
                         na[i], dir_b);
        else if (s == MG_OK && used[match])
            s = mg_error(MG_ERR_ARG, "%s/%s is the counterpart of two files of %s", dir_b, nb[match], dir_a);
        else if (s == MG_OK) {
            used[match] = 1;
            s = mg_pairs_add(l, mg_path_join(dir_a, na[i]), mg_path_join(dir_b, nb[match]));
        }
    }
    for (int j = 0; s == MG_OK && j < cb; j++)
        if (!used[j] && l->unmatched++ == 0 && !(l->first_unmatched = strdup(nb[j])))
            s = mg_error(MG_ERR_OOM, "pairs: out of host memory");
    mg_folder_free_names(na, ca);
    mg_folder_free_names(nb, cb);
    free(used);
    if (s != MG_OK)
        mg_pairs_free(l);
    return s;
}
