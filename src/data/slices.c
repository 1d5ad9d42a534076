/* Input files of either kind as 2-D images: a PNG slice is one image, a NIfTI volume the normalised slices of one
 * orientation. Training, validation, translation and evaluation all read their inputs through here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "mrigan/volume.h"

bool mg_input_is_name(const char *name) { return mg_folder_is_png_name(name) || mg_volume_is_name(name); }

void mg_slices_free(mg_slices *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        mg_image_free(&s->image[i]);
    free(s->image);
    free(s->index);
    free(s->empty);
    *s = (mg_slices){0};
}

static mg_status slices_alloc(mg_slices *s, int n, const char *path)
{
    s->image = calloc((size_t)(n ? n : 1), sizeof *s->image);
    s->index = calloc((size_t)(n ? n : 1), sizeof *s->index);
    s->empty = calloc((size_t)(n ? n : 1), sizeof *s->empty);
    if (!s->image || !s->index || !s->empty)
        return mg_error(MG_ERR_OOM, "%s: out of memory", path);
    return MG_OK;
}

static mg_status slices_from_volume(const char *path, mg_slice_axis axis, bool keep_empty, mg_slices *out)
{
    mg_volume v = {0};
    mg_volume_plane p;
    mg_volume_scale sc;
    bool *empty = NULL;
    mg_status s = mg_volume_load(path, &v);
    if (s == MG_OK)
        s = mg_volume_plane_of(&v, axis, &p);
    if (s == MG_OK)
        s = mg_volume_scale_of(&v, path, &sc);
    if (s == MG_OK && !(empty = calloc((size_t)p.count, sizeof *empty)))
        s = mg_error(MG_ERR_OOM, "%s: out of memory", path);
    if (s == MG_OK)
        s = mg_volume_slice_fill(&v, &p, &sc, NULL, empty);
    int n = 0;
    for (int k = 0; s == MG_OK && k < p.count; k++)
        n += keep_empty || !empty[k];
    out->axis = s == MG_OK ? p.axis : -1;
    if (s == MG_OK)
        mg_volume_orientation(&v, out->orientation);
    if (s == MG_OK)
        s = slices_alloc(out, n, path);
    for (int k = 0; s == MG_OK && k < p.count; k++) {
        if (!keep_empty && empty[k])
            continue;
        s = mg_volume_get_slice(&v, &p, k, &sc, &out->image[out->n]);
        out->index[out->n] = k;
        out->empty[out->n] = keep_empty && empty[k];
        out->n += s == MG_OK;
    }
    free(empty);
    mg_volume_free(&v);
    return s;
}

mg_status mg_slices_load(const char *path, mg_slice_axis axis, bool keep_empty, mg_slices *out)
{
    if (!out)
        return mg_error(MG_ERR_ARG, "slices: NULL output");
    *out = (mg_slices){.axis = -1};
    if (!path)
        return mg_error(MG_ERR_ARG, "slices: NULL path");
    mg_status s;
    if (mg_volume_is_name(path)) {
        s = slices_from_volume(path, axis, keep_empty, out);
    } else {
        s = slices_alloc(out, 1, path);
        if (s == MG_OK && (s = mg_image_load_png(path, &out->image[0])) == MG_OK)
            out->n = 1;
    }
    if (s != MG_OK)
        mg_slices_free(out);
    return s;
}

mg_status mg_slices_load_pair(const char *a, const char *b, mg_slice_axis axis, mg_slices *sa, mg_slices *sb)
{
    if (!sa || !sb)
        return mg_error(MG_ERR_ARG, "slices: NULL output");
    *sb = (mg_slices){.axis = -1}; /* freed below when a fails to load */
    mg_status s = mg_slices_load(a, axis, true, sa);
    if (s == MG_OK)
        s = mg_slices_load(b, axis, true, sb);
    if (s == MG_OK && (mg_volume_is_name(a) != mg_volume_is_name(b)))
        s = mg_error(MG_ERR_ARG, "%s and %s: a slice and a volume cannot be compared", a, b);
    else if (s == MG_OK && memcmp(sa->orientation, sb->orientation, sizeof sa->orientation))
        s = mg_error(MG_ERR_ARG, "%s and %s store their voxels in different orientations: resample one onto the other",
                     a, b);
    else if (s == MG_OK && (sa->n != sb->n || sa->axis != sb->axis))
        s = mg_error(MG_ERR_ARG, "%s and %s: the volumes have %d and %d slices along the chosen axis", a, b, sa->n,
                     sb->n);
    for (int i = 0; s == MG_OK && i < sa->n; i++)
        if (sa->image[i].width != sb->image[i].width || sa->image[i].height != sb->image[i].height)
            s = mg_error(MG_ERR_ARG, "%s and %s: sizes %dx%d and %dx%d differ", a, b, sa->image[i].width,
                         sa->image[i].height, sb->image[i].width, sb->image[i].height);
    int kept = 0; /* drop the slices empty in either, keeping the order */
    for (int i = 0; s == MG_OK && i < sa->n; i++) {
        if (sa->empty[i] || sb->empty[i]) {
            mg_image_free(&sa->image[i]);
            mg_image_free(&sb->image[i]);
            continue;
        }
        mg_slices *both[2] = {sa, sb};
        for (int k = 0; k < 2; k++) {
            both[k]->image[kept] = both[k]->image[i];
            both[k]->index[kept] = both[k]->index[i];
            both[k]->empty[kept] = false;
            if (kept != i)
                both[k]->image[i] = (mg_image){0};
        }
        kept++;
    }
    if (s == MG_OK) {
        sa->n = sb->n = kept;
        if (kept == 0)
            s = mg_error(MG_ERR_ARG, "%s and %s: no slice with anatomy in both", a, b);
    }
    if (s != MG_OK) {
        mg_slices_free(sa);
        mg_slices_free(sb);
    }
    return s;
}

mg_status mg_slices_append_pair(const char *a, const char *b, mg_slice_axis axis, mg_image **ia, mg_image **ib, int *n)
{
    mg_slices sa, sb;
    mg_status s = mg_slices_load_pair(a, b, axis, &sa, &sb);
    if (s != MG_OK)
        return s;
    mg_image *ga = realloc(*ia, sizeof *ga * (size_t)(*n + sa.n));
    if (ga)
        *ia = ga;
    mg_image *gb = ga ? realloc(*ib, sizeof *gb * (size_t)(*n + sa.n)) : NULL;
    if (gb)
        *ib = gb;
    if (!ga || !gb)
        s = mg_error(MG_ERR_OOM, "%s and %s: out of memory", a, b);
    for (int k = 0; s == MG_OK && k < sa.n; k++) { /* the images move into the arrays */
        (*ia)[*n] = sa.image[k];
        (*ib)[*n] = sb.image[k];
        sa.image[k] = sb.image[k] = (mg_image){0};
        (*n)++;
    }
    mg_slices_free(&sa);
    mg_slices_free(&sb);
    return s;
}

bool mg_slices_name(const mg_slices *s, int i, const char *file_name, char *buf, size_t len)
{
    int n = s->axis < 0 ? snprintf(buf, len, "%s", file_name)
                        : snprintf(buf, len, "%s[%c=%d]", file_name, "ijk"[s->axis], s -> index[i]);
    if (n < 0 || (size_t)n >= len) {
        if (len)
            buf[0] = '\0';
        return false;
    }
    return true;
}
