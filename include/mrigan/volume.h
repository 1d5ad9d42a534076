/* MRI volumes (NIfTI-1 and NIfTI-2, .nii and .nii.gz) and the 2-D slices mrigan trains on, translates and scores.
 *
 * A volume is read whole into float32 voxels in the file's own units (scl_slope and scl_inter applied); its
 * header stays with it, so a translated volume is written on the same grid: the same dimensions, voxel sizes,
 * qform and sform, in the same datatype family.
 *
 * Slices are cut along one voxel axis and shown as a radiologist expects, whatever the storage order: axial
 * slices with the patient's right on the image's left and anterior at the top, coronal ones with right on the
 * left and superior at the top, sagittal ones with anterior on the left and superior at the top. The directions
 * come from the header (sform when its code is set, else qform, else the ANALYZE default), so a volume stored
 * in another order gives the same images. For the FSL/MNI152 grid (i: right to left, j: posterior to anterior)
 * an axial slice is the array's k-plane transposed and flipped upside down, as nibabel users usually show it.
 *
 * Intensities are normalised per volume, so scans from different scanners meet on one scale (mg_volume_scale):
 *   lo   = the 0.5th percentile of every voxel (the background level: 0 in most scans);
 *   head = the voxels above lo + 10% of (P98 - lo), with P98 the 98th percentile of the voxels above lo (the
 *          threshold of FSL's robust range);
 *   hi   = the 99.5th percentile of the head's voxels;
 *   v -> 2 (v - lo) / (hi - lo) - 1, clamped to [-1, 1]: background -> -1, bright tissue -> 1.
 * Percentiles are nearest-rank: the value at index floor(p / 100 * (n - 1)) of the sorted voxels.
 * A slice is empty when its head voxels number less than 10% of those of the fullest slice of the same
 * orientation: training skips empty slices, translation copies them as background. */
#ifndef MRIGAN_VOLUME_H
#define MRIGAN_VOLUME_H

#include "mrigan/baselines.h"
#include "mrigan/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest volume read: 2^28 voxels (a 640^3 scan fits), 1 GiB as float32. Headers are checked against it
 * before anything is allocated, and voxel data are read as they arrive, so a file that lies about its size
 * costs no more memory than it holds. */
#define MG_VOLUME_MAX_VOXELS (1LL << 28)

typedef struct mg_volume_header mg_volume_header; /* the file's header, opaque */

typedef struct mg_volume {
    int dim[3];            /* voxels along i, j, k (k is 1 for a 2-D image) */
    float *data;           /* dim[0] * dim[1] * dim[2] voxels, i fastest, in the file's units; never NaN or inf */
    double voxel[3];       /* voxel sizes along i, j, k, in the header's units (mm as a rule) */
    int datatype;          /* NIfTI datatype code of the file (2 uint8, 4 int16, 16 float32, ...) */
    int version;           /* 1 or 2: NIfTI-1 or NIfTI-2 */
    long long n_nonfinite; /* voxels that were NaN or infinite in the file, read as 0 */
    mg_volume_header *header;
} mg_volume;

/* Whether a file name is a volume's: ends in .nii or .nii.gz (any case). */
bool mg_volume_is_name(const char *name);

/* Reads a NIfTI-1 or NIfTI-2 file, plain or gzip-compressed, of any byte order. Accepted: 2-D or 3-D (dimensions
 * 4 to 7 of size 1), integer types of 8 to 64 bits and float32/float64. Errors name the file and the problem
 * (MG_ERR_IO: cannot open; MG_ERR_FORMAT: not NIfTI, truncated, corrupt gzip data, a header that contradicts
 * itself or the file; MG_ERR_ARG: a 4-D series, complex or RGB voxels, larger than MG_VOLUME_MAX_VOXELS). */
mg_status mg_volume_load(const char *path, mg_volume *out);
void mg_volume_free(mg_volume *v);

/* How a volume is written. */
typedef struct mg_volume_write {
    bool float32;            /* float32 voxels; else the source's datatype family (below) */
    const char *description; /* the header's descrip field (at most 79 bytes kept); NULL keeps the source's */
} mg_volume_write;

/* The output range of a written volume for values in [-1, 1]: uint8 0..255, int8 0..127, other integer types
 * 0..4095 (12 bits, as scanners store), float types (and float32) 0..1. */
void mg_volume_output_range(int datatype, bool float32, double *lo, double *hi);

/* Writes values (like->dim voxels, i fastest, each in [-1, 1]; NaN is written as -1) mapped linearly onto the
 * output range, on like's grid: its dimensions, voxel sizes, qform, sform, units, NIfTI version and byte order,
 * without scaling (scl_slope 1, scl_inter 0), cal_min/cal_max set to the range; integers are rounded. The file
 * is gzip-compressed when path ends in .gz, and written whole or not at all (a temporary file renamed).
 * like keeps its data. Errors name path. */
mg_status mg_volume_save_like(const char *path, const mg_volume *like, const float *values, const mg_volume_write *opt);

/* ------------------------------------------------------------------ slices */

/* A volume's slices of one orientation: slice s is the image of width x height at index s along axis. */
typedef struct mg_volume_plane {
    int axis;                 /* the voxel axis the slices are perpendicular to: 0 i, 1 j, 2 k */
    int col_axis, row_axis;   /* the voxel axes along the image's columns (x) and rows (y) */
    bool col_flip, row_flip;  /* the image's x runs against col_axis / y against row_axis */
    int width, height, count; /* image size, number of slices */
} mg_volume_plane;

mg_status mg_volume_plane_of(const mg_volume *v, mg_slice_axis which, mg_volume_plane *out);
/* The direction each voxel axis points to, as nifti_clib names it (1 L2R ... 6 S2I), into codes[3]. */
void mg_volume_orientation(const mg_volume *v, int codes[3]);
/* Whether two volumes store their voxels in the same orientation (so voxel (i, j, k) is one place in both when
 * they share a grid). */
bool mg_volume_same_orientation(const mg_volume *a, const mg_volume *b);

/* A volume's intensity normalisation, as described at the top. */
typedef struct mg_volume_scale {
    double lo, hi; /* mapped to -1 and 1 */
    double head;   /* voxels above this are the head's */
} mg_volume_scale;

/* MG_ERR_ARG naming path (may be NULL) when the volume has no contrast (hi <= lo). */
mg_status mg_volume_scale_of(const mg_volume *v, const char *path, mg_volume_scale *out);

/* Where each pixel of slice s of plane p lies in the volume: width * height voxel offsets (row-major image order)
 * into offsets. */
mg_status mg_volume_slice_offsets(const mg_volume *v, const mg_volume_plane *p, int s, size_t *offsets);

/* Every voxel of v normalised by sc into out (v->dim voxels, in [-1, 1]). */
void mg_volume_normalise(const mg_volume *v, const mg_volume_scale *sc, float *out);

/* The intensity profile (mrigan/baselines.h) of the whole volume, normalised by its own scale. Errors name path. */
mg_status mg_volume_profile(const mg_volume *v, const char *path, mg_intensity_profile *out);

/* Slice s of plane p, normalised by sc, into *out (a new image). */
mg_status mg_volume_get_slice(const mg_volume *v, const mg_volume_plane *p, int s, const mg_volume_scale *sc,
                              mg_image *out);
/* Slice s of plane p of a values array on v's grid (v->dim voxels), set from img (width x height of the plane). */
mg_status mg_volume_put_slice(const mg_volume *v, const mg_volume_plane *p, int s, const mg_image *img, float *values);
/* The head voxels of every slice of plane p (count of them), and whether each is empty (count of them; either
 * may be NULL). */
mg_status mg_volume_slice_fill(const mg_volume *v, const mg_volume_plane *p, const mg_volume_scale *sc,
                               long long *head_voxels, bool *empty);

/* ------------------------------------------------------------------ image files of either kind */

/* Whether a file name is an input mrigan reads: a PNG slice or a NIfTI volume. */
bool mg_input_is_name(const char *name);

/* The 2-D images of one input file: a PNG is one image; a volume its slices along axis, normalised, with the
 * empty ones left out unless keep_empty. */
typedef struct mg_slices {
    int n;
    mg_image *image;
    int *index;         /* slice index along the plane's axis; 0 for a PNG */
    bool *empty;        /* the slice is empty (only when keep_empty; else all false) */
    int axis;           /* the voxel axis of a volume's plane, -1 for a PNG */
    int orientation[3]; /* a volume's mg_volume_orientation, zeros for a PNG */
} mg_slices;

mg_status mg_slices_load(const char *path, mg_slice_axis axis, bool keep_empty, mg_slices *out);
void mg_slices_free(mg_slices *s);
/* The slices of a pair of files scored against each other: two PNGs (one image each, of one size) or two volumes on
 * one grid (the same dimensions and orientation), cut along axis, without the slices that are empty in either.
 * MG_ERR_ARG naming both files when they differ in kind, size or orientation. */
mg_status mg_slices_load_pair(const char *a, const char *b, mg_slice_axis axis, mg_slices *sa, mg_slices *sb);
/* The same pair's slices appended to the paired arrays *ia and *ib of *n images each (grown as needed; the caller
 * frees the images and the arrays). Nothing is appended on failure. */
mg_status mg_slices_append_pair(const char *a, const char *b, mg_slice_axis axis, mg_image **ia, mg_image **ib, int *n);
/* "name" for a PNG, "name[k=87]" for slice 87 along k of a volume, into buf; false when it does not fit. */
bool mg_slices_name(const mg_slices *s, int i, const char *file_name, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
