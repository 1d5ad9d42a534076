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

#ifdef __cplusplus
}
#endif
#endif
