/* The quality benchmark's scoring (mrigan bench quality): a paired set of slices, and what each method makes of it,
 * scored against the true partners. Methods: the identity (the input as it is), unpaired histogram matching and
 * the oracle lookup table (mrigan/baselines.h, fitted on the set itself), and a trained model. Each translation is
 * scored on the whole slice and on the target's foreground (mg_metrics_make_mask at the default threshold), on the
 * 8-bit scale of include/mrigan/metrics.h. */
#ifndef MRIGAN_QUALITY_H
#define MRIGAN_QUALITY_H

#include "mrigan/cyclegan.h"
#include "mrigan/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mg_quality_method {
    MG_QUALITY_IDENTITY,
    MG_QUALITY_HISTOGRAM,
    MG_QUALITY_INVERSE, /* inverse histogram matching (mg_map_fit_inverse): unpaired, the order reversed */
    MG_QUALITY_ORACLE,
    MG_QUALITY_MODEL,
    MG_QUALITY_METHODS
} mg_quality_method;
extern const char *const mg_quality_method_names[MG_QUALITY_METHODS]; /* "identity", "histogram", "inverse", ... */

/* Paired slices: a[i] and b[i] show the same anatomy in the two contrasts. */
typedef struct mg_quality_set {
    int n;
    mg_image *a, *b;
} mg_quality_set;

/* The slices of n file pairs (PNG slices, or volumes on one grid cut axially, the slices with anatomy in both;
 * mg_slices_load_pair), appended to set. */
mg_status mg_quality_add_files(mg_quality_set *set, const char *const *files_a, const char *const *files_b, int n);
void mg_quality_free(mg_quality_set *set);

typedef struct mg_quality_scores {
    mg_metrics_summary whole, foreground;
} mg_quality_scores;

/* Scores method on direction 0 (a -> b) or 1 (b -> a); model is used by MG_QUALITY_MODEL only. */
mg_status mg_quality_score(const mg_quality_set *set, int direction, mg_quality_method method, mg_cyclegan *model,
                           mg_quality_scores *out);

/* The mean over n runs (1..64; seeds of one recipe) of each figure of their scores, with each _sd field holding
 * the sample standard deviation over the runs of the matching mean (0 for one run); n_psnr_inf the largest. */
void mg_quality_scores_mean(const mg_quality_scores *runs, int n, mg_quality_scores *out);

/* A PNG grid of n_show slices spread evenly over the set (at most 8), two rows each (a -> b, b -> a): input |
 * model's translation labelled with its PSNR and SSIM | truth | |difference|, as the trainer's validation grids. */
mg_status mg_quality_write_grid(const mg_quality_set *set, mg_cyclegan *model, int n_show, const char *path);

#ifdef __cplusplus
}
#endif
#endif
