/* Image quality metrics for paired evaluation (a translated slice against the real one): PSNR, SSIM and MAE, with
 * an optional foreground mask, and their mean and standard deviation over a set of images.
 *
 * Scale: every metric works on 8-bit gray levels in double precision. An mg_image's [-1, 1] values become
 * (v + 1) * 127.5 (so -1 -> 0 and 1 -> 255), without rounding, except for images that came from 8-bit grayscale
 * PNGs: their loader stores x / 127.5 - 1 in float32, and rounding (v + 1) * 127.5 to the nearest integer recovers
 * the file's exact value x (and so the same numbers as tools that read the PNG directly). Model outputs are scored
 * as they are, unquantised.
 *
 * Definitions (pred is the image judged, target the reference; N pixels scored):
 * - MAE  = sum |pred - target| / N, in gray levels.
 * - PSNR = 10 log10(255^2 / MSE) dB with MSE = sum (pred - target)^2 / N, as skimage.metrics.peak_signal_noise_ratio
 *          with data_range=255. Identical images (MSE 0) give INFINITY.
 * - SSIM as Wang et al. 2004 and skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
 *          use_sample_covariance=False, data_range=255): local means, variances and covariance weighted by an 11x11
 *          Gaussian window (sigma 1.5, radius 5, weights normalised to sum 1), C1 = (0.01 * 255)^2,
 *          C2 = (0.03 * 255)^2, SSIM map = (2 ux uy + C1)(2 sxy + C2) / ((ux^2 + uy^2 + C1)(sx^2 + sy^2 + C2)),
 *          averaged over the valid region: every pixel at least 5 pixels from each border (skimage's crop of
 *          (win_size - 1) / 2), where the window lies wholly inside the image. Images must be at least 11x11.
 * With a mask (width * height bytes, non-zero = foreground), MAE and PSNR use the mask's pixels only, and SSIM is
 * the mean of the same SSIM map over the mask's pixels inside the valid region (the windows themselves still see
 * every pixel). A mask that leaves nothing to score is an error (MG_ERR_ARG).
 * - Texture: the fine-texture energies hf_pred and hf_target below, and over a set their ratio (the summary's
 *          texture). A translation can match the truth's local means and still carry a one-pixel grid or speckle
 *          that SSIM's 11-pixel window and PSNR average away; the ratio shows it (as does blur, below 1). */
#ifndef MRIGAN_METRICS_H
#define MRIGAN_METRICS_H

#include "mrigan/image.h"
#include "mrigan/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MG_METRICS_DATA_RANGE     255.0 /* peak value of the 8-bit scale */
#define MG_METRICS_SSIM_WINDOW    11    /* side of the Gaussian window; images must be at least this large */
#define MG_METRICS_SSIM_SIGMA     1.5
#define MG_METRICS_SSIM_K1        0.01
#define MG_METRICS_SSIM_K2        0.03
#define MG_METRICS_MASK_THRESHOLD 5.0 /* default foreground threshold of mg_metrics_make_mask, in gray levels */

/* One image's scores. */
typedef struct mg_metrics {
    double psnr;               /* dB; INFINITY when the scored pixels are identical */
    double ssim;               /* mean SSIM, at most 1 */
    double mae;                /* gray levels (0..255 scale) */
    long n_pixels;             /* pixels scored by PSNR and MAE (all, or the mask's) */
    long n_ssim;               /* SSIM map pixels averaged (the valid region, or the mask's part of it) */
    double hf_pred, hf_target; /* fine-texture energies: the mean square of the 4-neighbour Laplacian,
                                * 4 v(x, y) - v(x-1, y) - v(x+1, y) - v(x, y-1) - v(x, y+1), of pred and of target
                                * over the scored pixels with all four neighbours inside the image (0 when none) */
} mg_metrics;

/* What mg_metrics_compare scores and how. */
typedef struct mg_metrics_options {
    bool round_pred;     /* round pred's gray levels to integers: pred was read from an 8-bit grayscale PNG */
    bool round_target;   /* the same for target */
    const uint8_t *mask; /* NULL: every pixel; else width * height bytes, row-major, non-zero = scored */
} mg_metrics_options;

/* Mean and sample standard deviation (n - 1 in the denominator; 0 for a single image) of each metric over a set
 * of images. Infinite PSNRs (identical pairs) cannot be averaged: they are left out of the PSNR mean and standard
 * deviation and counted in n_psnr_inf; when every PSNR is infinite, psnr_mean is INFINITY and psnr_sd 0. With no
 * image at all every mean and standard deviation is NAN. */
typedef struct mg_metrics_summary {
    int n;          /* images */
    int n_psnr_inf; /* images whose PSNR is infinite (left out of psnr_mean and psnr_sd) */
    double psnr_mean, psnr_sd;
    double ssim_mean, ssim_sd;
    double mae_mean, mae_sd;
    double texture; /* the images' hf_pred summed over their hf_target summed: 1 when the translations carry as much
                     * fine texture as the truth, above 1 with speckle or a grid, below 1 when blurred; NAN when
                     * the targets have none */
} mg_metrics_summary;

/* Writes img's width * height pixels to out on the 8-bit scale, (v + 1) * 127.5; with round, rounded to the nearest
 * integer and clamped to [0, 255] (as mg_image_save_png quantises). MG_ERR_ARG naming the first pixel that is not
 * finite. */
mg_status mg_metrics_to_gray(const mg_image *img, bool round, double *out);

/* All three metrics of pred against target (the scale and options as above). Errors (MG_ERR_ARG): sizes differ (the
 * message names both, width x height), images smaller than 11x11, a pixel not finite, a mask with no pixel to
 * score; MG_ERR_OOM. */
mg_status mg_metrics_compare(const mg_image *pred, const mg_image *target, const mg_metrics_options *opt,
                             mg_metrics *out);

/* The same on planes of width * height gray levels (0..255 scale, row-major) that share one size; mask may be
 * NULL. compute_all fills every field of *out. */
mg_status mg_metrics_compute_psnr(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                                  double *out);
mg_status mg_metrics_compute_mae(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                                 double *out);
mg_status mg_metrics_compute_ssim(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                                  double *out);
mg_status mg_metrics_compute_all(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                                 mg_metrics *out);

/* Foreground mask of a target slice (skull-stripped brain or head on a black background), width * height bytes
 * of 0 or 1 into mask. The rule, on target's gray levels (rounded when round_target, as above):
 *   1. foreground = gray level > threshold (MG_METRICS_MASK_THRESHOLD, 5 of 255, is the default);
 *   2. holes filled: background pixels not 4-connected to the image border become foreground (dark ventricles
 *      and sulci inside the brain count), as scipy.ndimage.binary_fill_holes;
 *   3. dilated once with a 3x3 square (outside the image counts as background), as
 *      scipy.ndimage.binary_dilation(structure=np.ones((3, 3))), so a one-pixel rim of background around the
 *      anatomy is scored too: a prediction that puts signal just outside the brain is penalised.
 * Errors: MG_ERR_ARG (NULL, threshold not finite, a pixel not finite), MG_ERR_OOM. */
mg_status mg_metrics_make_mask(const mg_image *target, bool round_target, double threshold, uint8_t *mask);

/* ------------------------------------------------------------------ volumes */

/* The scores of a volume against its target, slice by slice along one orientation. */
typedef struct mg_volume_scores {
    int n;            /* slices scored: those with anatomy in the target (and, with a mask volume, in the mask) */
    int *slice;       /* their indices along the plane's axis */
    mg_metrics *m;    /* their scores */
    mg_metrics whole; /* the whole volume: PSNR and MAE over every scored voxel, SSIM the mean of every scored
                       * slice's SSIM map pixels (so larger slices weigh more) */
    int axis;         /* the voxel axis the slices are perpendicular to */
} mg_volume_scores;

/* pred: target->dim voxels in [-1, 1] (a translation, or a volume normalised by mg_volume_normalise); target is
 * normalised by its own scale. With mask (target->dim bytes, non-zero = scored; may be NULL) only its voxels are
 * scored; else with auto_mask each target slice's foreground (mg_metrics_make_mask, at threshold); else every
 * pixel of the slices with anatomy. Errors name path (the target's). */
mg_status mg_metrics_compare_volume(const float *pred, const mg_volume *target, const char *path, const uint8_t *mask,
                                    bool auto_mask, double threshold, mg_slice_axis axis, mg_volume_scores *out);
void mg_volume_scores_free(mg_volume_scores *s);

/* Summary of n images' metrics (n >= 0; items may be NULL when n is 0). */
void mg_metrics_compute_summary(const mg_metrics *items, int n, mg_metrics_summary *out);

#ifdef __cplusplus
}
#endif
#endif
