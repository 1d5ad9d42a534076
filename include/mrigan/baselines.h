/* The baselines any translation has to beat, as per-intensity maps on the 8-bit scale: every pixel of gray level k
 * ((v + 1) * 127.5 rounded, 0..255) becomes out[k]. Two ways to fit one:
 *   - histogram matching: unpaired, from the pooled gray-level histograms of the two domains; a pixel's level goes
 *     to the level of the same quantile in the other domain (mid-rank quantiles, linear between levels). It can only
 *     keep the order of intensities, so it cannot invert a contrast (T1 white matter bright, T2 dark);
 *   - the oracle lookup table: fitted on the true pairs, each level goes to the mean of the target's values at the
 *     input's pixels of that level (levels never seen take the linear interpolation of their nearest seen
 *     neighbours). It is the best any pointwise map can do in mean squared error: the ceiling of every method that
 *     looks at one pixel at a time. */
#ifndef MRIGAN_BASELINES_H
#define MRIGAN_BASELINES_H

#include "mrigan/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MG_MAP_LEVELS 256

typedef struct mg_intensity_map {
    float out[MG_MAP_LEVELS]; /* the value, in [-1, 1], that a pixel of each gray level becomes */
} mg_intensity_map;

/* The gray level of a value in [-1, 1] (clamped): round((v + 1) * 127.5). */
int mg_map_level(float v);
/* From n_src source images and n_dst target images, no pairs. MG_ERR_ARG when a side has no pixel. */
mg_status mg_map_fit_histograms(const mg_image *src, int n_src, const mg_image *dst, int n_dst, mg_intensity_map *out);
/* From n pairs (src[i], dst[i]) of one size each. MG_ERR_ARG naming the pair whose sizes differ. */
mg_status mg_map_fit_oracle(const mg_image *src, const mg_image *dst, int n, mg_intensity_map *out);
/* out (a new image, in's size) = the map applied to every pixel of in. */
mg_status mg_map_apply(const mg_intensity_map *m, const mg_image *in, mg_image *out);

/* ------------------------------------------------------------------ intensity profiles */

/* What a set of images looks like in intensity: the 10th, 20th, ... 90th percentiles of its pixels above the
 * background (gray level above 6, 2.5% of the range), in [-1, 1]. A model keeps the profiles of its training
 * domains, and translate compares each input's (a volume's as a whole) against the domain it translates from: a
 * scan unlike the training data (a phantom model given a real scan) gets a warning instead of silently wrong
 * contrast. */
#define MG_PROFILE_QUANTILES 9

typedef struct mg_intensity_profile {
    float q[MG_PROFILE_QUANTILES]; /* non-decreasing */
} mg_intensity_profile;

/* Gray-level counts of the pixels above the background, and of all pixels, to be filled image by image. */
typedef struct mg_profile_counts {
    double count[MG_MAP_LEVELS];
    double total;
    double all[MG_MAP_LEVELS]; /* every pixel, the background too */
} mg_profile_counts;

void mg_profile_add(mg_profile_counts *c, const mg_image *img);
/* The value in [-1, 1] above which a pixel is not background, as mg_profile_add counts it. */
float mg_profile_threshold(void);
/* out[j], j < n (n >= 2) = the counted pixels' quantile at j / (n - 1), each gray level's pixels spread evenly
 * over its width (so the function is linear within a level and skips the empty ones), in [-1, 1]. MG_ERR_ARG
 * when nothing was counted. */
mg_status mg_profile_quantiles(const mg_profile_counts *c, int n, float *out);
/* The gray level at or below which a set's pixels are background, for inverse histogram matching: the lowest
 * point of the 9-level moving average of the set's histogram within 96 levels above the most common of its 64
 * darkest levels (the background's mode), and at least 6. A black background gives about 6; a noisy one (Rician
 * noise, as in raw magnitude images) the valley between the noise and the tissue; 6 again when nothing lies above
 * that point (a histogram falling from the background through all of the tissue). From mg_profile_add's counts. */
int mg_map_background_level(const mg_profile_counts *c);
/* Inverse histogram matching, unpaired and order-reversing: a source pixel above the source's background level
 * (mg_map_background_level) at quantile q of the source's pixels above it goes to the target's level at quantile
 * 1 - q of the target's pixels above its own background level; the background stays black (-1). Brain tissue
 * comes in opposite orders in T1 and T2 (CSF < grey < white matter in T1, white < grey matter < CSF in T2), so
 * within the brain this is the contrast inversion the translations need; fat, which is bright in both, and the
 * skull it gets wrong. From the counts of mg_profile_add. MG_ERR_ARG when a side has nothing above its
 * background. */
mg_status mg_map_fit_inverse(const mg_profile_counts *src, const mg_profile_counts *dst, mg_intensity_map *out);
/* MG_ERR_ARG when no pixel was above the background. */
mg_status mg_profile_finish(const mg_profile_counts *c, mg_intensity_profile *out);
/* The mean absolute difference of the two profiles' percentiles, in [-1, 1] units (0: alike; 2: opposite). */
double mg_profile_distance(const mg_intensity_profile *a, const mg_intensity_profile *b);
/* Above this distance translate warns. A heuristic, from distances measured on the shared sets: a single slice
 * against its own set's profile 0.06 to 0.13 (but up to 0.44 for the outermost slices of the MNI152 brain), one
 * half of a set against the other 0.02 to 0.10; the phantom against the real sets' T1 and T2 0.16 to 0.93 (0.29
 * against mri-t1t2's T1), and between the real sets 0.10 to 0.99. A T1 and a T2 set can be close (0.06 for the
 * phantom's): the profile tells inputs unlike the training data, not which contrast an input has. */
#define MG_PROFILE_WARN 0.25

#ifdef __cplusplus
}
#endif
#endif
