/* Synthetic paired T1/T2 brain phantom: procedural axial brain slices rendered with the spin-echo signal
 * equation, so the project has paired training and test data of its own.
 *
 * Each subject (index k of a seed) is one head and one axial slice through it: scalp fat, skull with a thin
 * marrow layer, subarachnoid CSF, a folded cortical ribbon, white matter, lateral ventricles and, at low
 * slices, the deep grey nuclei. The anatomy depends only on (seed, k), never on the image size, the noise
 * or how many subjects are written, and it is identical in the T1- and the T2-weighted image of a pair.
 *
 * Rendering: tissue fractions per pixel from 3x3 supersampling (partial volume), S = PD (1 - exp(-TR/T1))
 * exp(-TE/T2) per tissue, one smooth multiplicative bias field (the receive coil's, shared by both
 * contrasts), Rician noise, then each image is scaled so its 99.5th percentile maps to 1 and written to
 * [-1, 1] (mrigan's pixel range).
 */
#ifndef MRIGAN_PHANTOM_H
#define MRIGAN_PHANTOM_H

#include "mrigan/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits. The side is a multiple of 4 so the CycleGAN ResNet generator's two stride-2 stages give the
 * same size back. */
#define MG_PHANTOM_MIN_SIZE  32
#define MG_PHANTOM_MAX_SIZE  1024
#define MG_PHANTOM_MAX_COUNT 100000
#define MG_PHANTOM_MAX_NOISE 0.5f
#define MG_PHANTOM_MAX_BIAS  1.0f

/* Tissue labels of the label map (one byte per pixel: the tissue covering most of the pixel). */
typedef enum mg_tissue {
    MG_TISSUE_AIR = 0,
    MG_TISSUE_FAT,     /* scalp fat and skull marrow */
    MG_TISSUE_BONE,    /* cortical bone of the skull */
    MG_TISSUE_CSF,     /* subarachnoid space, sulci, fissures, ventricles */
    MG_TISSUE_GM,      /* cortical grey matter */
    MG_TISSUE_WM,      /* white matter */
    MG_TISSUE_DEEP_GM, /* caudate, putamen, thalamus */
    MG_TISSUE_COUNT
} mg_tissue;

typedef struct mg_tissue_params {
    const char *name;
    float t1_ms, t2_ms; /* relaxation times at 1.5 T */
    float pd;           /* proton density relative to CSF */
} mg_tissue_params;

typedef enum mg_weighting {
    MG_T1W = 0, /* spin echo TR 500 ms, TE 15 ms */
    MG_T2W = 1, /* spin echo TR 4000 ms, TE 100 ms */
} mg_weighting;

/* The relaxation parameters of tissue t (NULL when t is out of range). */
const mg_tissue_params *mg_phantom_tissue(int t);
/* The noise-free spin-echo signal PD (1 - exp(-TR/T1)) exp(-TE/T2) of tissue t under weighting w (0 when
 * either is out of range). */
float mg_phantom_signal(int t, int w);

typedef struct mg_phantom_config {
    int size;          /* side of the square images, a multiple of 4 in [MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE] */
    int width, height; /* when both are set (> 0): images of width x height instead, each side in
                        * [MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE], the pixels square: the head keeps its shape
                        * and fills the shorter side as it fills a square image of that side */
    uint64_t seed;     /* subject k of a seed is drawn from PCG32 stream k */
    float noise;       /* Rician sigma relative to the image's largest noise-free signal, 0 for none */
    float bias;        /* bias field: its log spans [-bias, bias] over the image, 0 for a flat field */
} mg_phantom_config;

/* size 128 (no width, height), seed 1, noise 0.02, bias 0.1. */
void mg_phantom_config_default(mg_phantom_config *cfg);
/* MG_ERR_ARG naming the first field out of range and the allowed range. */
mg_status mg_phantom_check_config(const mg_phantom_config *cfg);

/* Renders subject `index` (>= 0). t1, t2: NULL or an image that receives a new size x size (or width x height)
 * image (free it with mg_image_free()); labels: NULL or one byte a pixel for the label map (mg_tissue values). Either
 * image may be left out without changing the other. On failure the images are left empty. */
mg_status mg_phantom_render(const mg_phantom_config *cfg, int index, mg_image *t1, mg_image *t2, uint8_t *labels);

/* Writes subjects 0..count-1 as dir/T1/phantom_NNN.png and dir/T2/phantom_NNN.png (at least three digits,
 * more when count needs them), PNG bit depth 8 or 16, creating the folders as needed (mkdir -p), then
 * dir/phantom.txt: how the set was made (command_line as given, may be NULL), the tissue table and one
 * line per subject. Every file is written to a temporary name and renamed; files of the same names are
 * replaced, other files in the folders are left alone. */
mg_status mg_phantom_write(const char *dir, const mg_phantom_config *cfg, int count, int bit_depth,
                           const char *command_line);

#ifdef __cplusplus
}
#endif
#endif
