/* Volumes as slices: which voxel axes a slice's columns and rows follow (from the header's orientation), the
 * per-volume intensity normalisation, and copying slices out of and back into a volume (include/mrigan/volume.h
 * gives the conventions). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <nifti2_io.h>

#include "base/base.h"
#include "mrigan/volume.h"

struct mg_volume_header {
    nifti_image *nim;
};

/* For each voxel axis: the anatomical axis it follows most closely (0 left-right, 1 posterior-anterior,
 * 2 inferior-superior) and whether it points toward the patient's left, posterior or inferior side (the
 * direction in which display coordinates grow: columns toward the left or posterior, rows toward inferior or
 * posterior). */
static void volume_directions(const mg_volume *v, int anat[3], bool toward_display[3])
{
    int code[3];
    mg_volume_orientation(v, code); /* from qto_xyz, which pixdim alone fills when qform_code is 0 (ANALYZE) */
    for (int a = 0; a < 3; a++) {
        switch (code[a]) {
        case NIFTI_L2R: anat[a] = 0, toward_display[a] = false; break; /* toward the right */
        case NIFTI_R2L: anat[a] = 0, toward_display[a] = true; break;
        case NIFTI_P2A: anat[a] = 1, toward_display[a] = false; break; /* toward anterior */
        case NIFTI_A2P: anat[a] = 1, toward_display[a] = true; break;
        case NIFTI_I2S: anat[a] = 2, toward_display[a] = false; break; /* toward superior */
        case NIFTI_S2I: anat[a] = 2, toward_display[a] = true; break;
        default: anat[a] = a, toward_display[a] = a != 2; break; /* no orientation: the ANALYZE layout */
        }
    }
}

void mg_volume_orientation(const mg_volume *v, int codes[3])
{
    const nifti_image *nim = v->header->nim;
    nifti_dmat44_to_orientation(nim->sform_code > 0 ? nim->sto_xyz : nim->qto_xyz, &codes[0], &codes[1], &codes[2]);
}

bool mg_volume_same_orientation(const mg_volume *a, const mg_volume *b)
{
    int ca[3], cb[3];
    mg_volume_orientation(a, ca);
    mg_volume_orientation(b, cb);
    return !memcmp(ca, cb, sizeof ca);
}

mg_status mg_volume_plane_of(const mg_volume *v, mg_slice_axis which, mg_volume_plane *out)
{
    if (!v || !v->header || !out)
        return mg_error(MG_ERR_ARG, "volume plane: NULL argument");
    int anat[3];
    bool toward[3];
    volume_directions(v, anat, toward);
    int axis = -1;
    if (which >= MG_SLICE_I && which <= MG_SLICE_K) {
        axis = (int)which - MG_SLICE_I;
    } else {
        const int wanted = which == MG_SLICE_AXIAL ? 2 : which == MG_SLICE_CORONAL ? 1 : 0;
        for (int a = 0; a < 3; a++)
            if (anat[a] == wanted)
                axis = a;
        if (axis < 0) /* an oblique header that maps two axes to one direction: keep the voxel axis */
            axis = wanted;
    }
    /* The two in-plane axes: the image's columns follow left-right when it lies in the plane (axial, coronal),
     * else posterior-anterior (sagittal); rows follow what remains. */
    int u = (axis + 1) % 3, w = (axis + 2) % 3;
    if (anat[w] < anat[u]) {
        int t = u;
        u = w;
        w = t;
    }
    /* columns: u, which has the smaller anatomical index (left-right before posterior-anterior before
     * inferior-superior); rows: w. Axial rows run anterior to posterior, coronal and sagittal ones superior
     * to inferior: both are the display direction of toward[]. */
    *out = (mg_volume_plane){
        .axis = axis,
        .col_axis = u,
        .row_axis = w,
        .col_flip = !toward[u],
        .row_flip = !toward[w],
        .width = v->dim[u],
        .height = v->dim[w],
        .count = v->dim[axis],
    };
    return MG_OK;
}

/* Offset of the voxel at image (x, y) of slice s. */
static size_t volume_offset(const mg_volume *v, const mg_volume_plane *p, int s, int x, int y)
{
    int ijk[3];
    ijk[p->axis] = s;
    ijk[p->col_axis] = p->col_flip ? p->width - 1 - x : x;
    ijk[p->row_axis] = p->row_flip ? p->height - 1 - y : y;
    return (size_t)ijk[0] + (size_t)v->dim[0] * ((size_t)ijk[1] + (size_t)v->dim[1] * (size_t)ijk[2]);
}

static mg_status volume_check_slice(const mg_volume *v, const mg_volume_plane *p, int s)
{
    if (!v || !v->data || !p)
        return mg_error(MG_ERR_ARG, "volume slice: NULL argument");
    if (s < 0 || s >= p->count)
        return mg_error(MG_ERR_ARG, "volume slice %d is outside [0, %d)", s, p->count);
    return MG_OK;
}

mg_status mg_volume_slice_offsets(const mg_volume *v, const mg_volume_plane *p, int s, size_t *offsets)
{
    mg_status st = volume_check_slice(v, p, s);
    if (st == MG_OK && !offsets)
        st = mg_error(MG_ERR_ARG, "volume slice: NULL offsets");
    for (int y = 0; st == MG_OK && y < p->height; y++)
        for (int x = 0; x < p->width; x++)
            offsets[(size_t)y * (size_t)p->width + (size_t)x] = volume_offset(v, p, s, x, y);
    return st;
}

void mg_volume_normalise(const mg_volume *v, const mg_volume_scale *sc, float *out)
{
    const double k = 2.0 / (sc->hi - sc->lo);
    for (size_t i = 0, n = (size_t)v->dim[0] * v->dim[1] * v->dim[2]; i < n; i++) {
        double t = (v->data[i] - sc->lo) * k - 1.0;
        out[i] = (float)(t < -1.0 ? -1.0 : t > 1.0 ? 1.0 : t);
    }
}

mg_status mg_volume_profile(const mg_volume *v, const char *path, mg_intensity_profile *out)
{
    mg_volume_scale sc;
    mg_status s = mg_volume_scale_of(v, path, &sc);
    if (s != MG_OK)
        return s;
    /* the normalised voxels, a slab at a time, through an image view */
    const size_t n = (size_t)v->dim[0] * v->dim[1] * v->dim[2], chunk = (size_t)1 << 16;
    float *buf = malloc(sizeof *buf * chunk);
    if (!buf)
        return mg_error(MG_ERR_OOM, "%s: out of memory", path ? path : "volume profile");
    mg_profile_counts c = {0};
    const double k = 2.0 / (sc.hi - sc.lo);
    for (size_t at = 0; at < n; at += chunk) {
        const size_t m = n - at < chunk ? n - at : chunk;
        for (size_t i = 0; i < m; i++) {
            double t = (v->data[at + i] - sc.lo) * k - 1.0;
            buf[i] = (float)(t < -1.0 ? -1.0 : t > 1.0 ? 1.0 : t);
        }
        mg_profile_add(&c, &(mg_image){.width = (int)m, .height = 1, .data = buf});
    }
    free(buf);
    s = mg_profile_finish(&c, out);
    return s == MG_OK ? s : mg_error(s, "%s: %s", path ? path : "volume", mg_last_error());
}

mg_status mg_volume_get_slice(const mg_volume *v, const mg_volume_plane *p, int s, const mg_volume_scale *sc,
                              mg_image *out)
{
    mg_status st = volume_check_slice(v, p, s);
    if (st == MG_OK && !sc)
        st = mg_error(MG_ERR_ARG, "volume slice: NULL scale");
    if (st == MG_OK)
        st = mg_image_new(p->width, p->height, out);
    if (st != MG_OK)
        return st;
    const double k = 2.0 / (sc->hi - sc->lo);
    for (int y = 0; y < p->height; y++)
        for (int x = 0; x < p->width; x++) {
            double t = (v->data[volume_offset(v, p, s, x, y)] - sc->lo) * k - 1.0;
            out->data[(size_t)y * (size_t)p->width + (size_t)x] = (float)(t < -1.0 ? -1.0 : t > 1.0 ? 1.0 : t);
        }
    return MG_OK;
}

mg_status mg_volume_put_slice(const mg_volume *v, const mg_volume_plane *p, int s, const mg_image *img, float *values)
{
    mg_status st = volume_check_slice(v, p, s);
    if (st != MG_OK)
        return st;
    if (!img || !img->data || !values)
        return mg_error(MG_ERR_ARG, "volume slice: NULL image or values");
    if (img->width != p->width || img->height != p->height)
        return mg_error(MG_ERR_ARG, "volume slice: image %dx%d is not the plane's %dx%d", img->width, img->height,
                        p->width, p->height);
    for (int y = 0; y < p->height; y++)
        for (int x = 0; x < p->width; x++)
            values[volume_offset(v, p, s, x, y)] = img->data[(size_t)y * (size_t)p->width + (size_t)x];
    return MG_OK;
}

/* ------------------------------------------------------------------ normalisation */

/* The k-th smallest of a[0..n) (a is reordered): Hoare partitioning around a median of three, which splits runs
 * of equal values (the background) evenly, so a volume that is mostly zeros stays linear. */
static float volume_select(float *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi];
        float pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = lo, j = hi;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            float t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* a[lo..j] <= pivot <= a[j+1..hi] */
        if (k <= j)
            hi = j;
        else
            lo = j + 1;
    }
    return a[k];
}

static size_t volume_rank(size_t n, double percent) { return (size_t)floor(percent / 100.0 * (double)(n - 1)); }

mg_status mg_volume_scale_of(const mg_volume *v, const char *path, mg_volume_scale *out)
{
    if (!v || !v->data || !out)
        return mg_error(MG_ERR_ARG, "volume scale: NULL argument");
    const size_t n = (size_t)v->dim[0] * v->dim[1] * v->dim[2];
    float *work = malloc(sizeof *work * n);
    if (!work)
        return mg_error(MG_ERR_OOM, "%s: out of memory", path ? path : "volume scale");
    memcpy(work, v->data, sizeof *work * n);
    const double lo = volume_select(work, n, volume_rank(n, 0.5));
    size_t above = 0; /* the voxels above lo, gathered at the front */
    for (size_t i = 0; i < n; i++)
        if (v->data[i] > lo)
            work[above++] = v->data[i];
    double head = lo, hi = lo;
    if (above > 0) {
        head = lo + 0.1 * (volume_select(work, above, volume_rank(above, 98.0)) - lo);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (v->data[i] > head)
                work[m++] = v->data[i];
        hi = m > 0 ? volume_select(work, m, volume_rank(m, 99.5)) : head;
    }
    free(work);
    if (!(hi > lo))
        return mg_error(MG_ERR_ARG, "%s: the volume has no contrast to normalise (%s %g)", path ? path : "volume",
                        above ? "nearly every voxel is" : "every voxel is", lo);
    *out = (mg_volume_scale){.lo = lo, .hi = hi, .head = head};
    return MG_OK;
}

mg_status mg_volume_slice_fill(const mg_volume *v, const mg_volume_plane *p, const mg_volume_scale *sc,
                               long long *head_voxels, bool *empty)
{
    if (!v || !v->data || !p || !sc)
        return mg_error(MG_ERR_ARG, "slice fill: NULL argument");
    long long *counts = calloc((size_t)p->count, sizeof *counts), most = 0;
    if (!counts)
        return mg_error(MG_ERR_OOM, "slice fill: out of memory");
    const size_t n = (size_t)v->dim[0] * v->dim[1] * v->dim[2];
    const size_t stride_axis = p->axis == 0 ? 1 : p->axis == 1 ? (size_t)v->dim[0] : (size_t)v->dim[0] * v->dim[1];
    for (size_t i = 0; i < n; i++)
        if (v->data[i] > sc->head)
            counts[(i / stride_axis) % (size_t)v->dim[p->axis]]++;
    for (int s = 0; s < p->count; s++)
        most = counts[s] > most ? counts[s] : most;
    for (int s = 0; s < p->count; s++) {
        if (head_voxels)
            head_voxels[s] = counts[s];
        if (empty)
            empty[s] = counts[s] == 0 || counts[s] * 10 < most;
    }
    free(counts);
    return MG_OK;
}
