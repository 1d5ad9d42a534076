/* Image quality metrics: PSNR, SSIM (Wang et al. 2004, as skimage's Gaussian-weighted structural_similarity) and MAE
 * on the 8-bit gray scale in double precision, with optional foreground masks, and summaries over image sets.
 * include/mrigan/metrics.h gives the definitions.
 *
 * SSIM is computed only where skimage averages it: the five local moments (means of pred, target, their squares and
 * product) are filtered with the separable 11-tap Gaussian, first along rows for the valid columns, then along
 * columns for the valid rows, so no border handling is ever needed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "mrigan/metrics.h"

#define SSIM_RADIUS ((MG_METRICS_SSIM_WINDOW - 1) / 2)

/* ------------------------------------------------------------------ checks and conversion */

static mg_status metrics_check_planes(const char *what, const double *pred, const double *target, int width, int height,
                                      const void *out)
{
    if (!pred || !target || !out)
        return mg_error(MG_ERR_ARG, "%s: NULL argument", what);
    if (width < 1 || height < 1)
        return mg_error(MG_ERR_ARG, "%s: image size %dx%d must be at least 1x1", what, width, height);
    return MG_OK;
}

mg_status mg_metrics_to_gray(const mg_image *img, bool round, double *out)
{
    if (!img || !img->data || !out || img->width < 1 || img->height < 1)
        return mg_error(MG_ERR_ARG, "metrics: NULL or empty image");
    const size_t n = (size_t)img->width * (size_t)img->height;
    for (size_t i = 0; i < n; i++) {
        double v = ((double)img->data[i] + 1.0) * 127.5;
        if (!isfinite(v))
            return mg_error(MG_ERR_ARG, "metrics: pixel (%d, %d) is not finite", (int)(i % (size_t)img->width),
                            (int)(i / (size_t)img->width));
        if (round)
            v = fmin(fmax(floor(v + 0.5), 0.0), MG_METRICS_DATA_RANGE);
        out[i] = v;
    }
    return MG_OK;
}

/* ------------------------------------------------------------------ pixel metrics */

/* Sums of |d| and d^2 over the scored pixels; MG_ERR_ARG when the mask leaves none. */
static mg_status metrics_error_sums(const char *what, const double *pred, const double *target, int width, int height,
                                    const uint8_t *mask, double *abs_sum, double *sq_sum, long *count)
{
    const size_t n = (size_t)width * (size_t)height;
    double sa = 0.0, sq = 0.0;
    long k = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i])
            continue;
        double d = pred[i] - target[i];
        sa += fabs(d);
        sq += d * d;
        k++;
    }
    if (k == 0)
        return mg_error(MG_ERR_ARG, "%s: the mask selects no pixel", what);
    *abs_sum = sa;
    *sq_sum = sq;
    *count = k;
    return MG_OK;
}

static double metrics_psnr_of_mse(double mse)
{
    if (mse == 0.0)
        return INFINITY;
    return 10.0 * log10(MG_METRICS_DATA_RANGE * MG_METRICS_DATA_RANGE / mse);
}

mg_status mg_metrics_compute_psnr(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                                  double *out)
{
    double sa = 0.0, sq = 0.0;
    long k = 0;
    mg_status s = metrics_check_planes("psnr", pred, target, width, height, out);
    if (s == MG_OK)
        s = metrics_error_sums("psnr", pred, target, width, height, mask, &sa, &sq, &k);
    if (s == MG_OK)
        *out = metrics_psnr_of_mse(sq / (double)k);
    return s;
}

mg_status mg_metrics_compute_mae(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                                 double *out)
{
    double sa = 0.0, sq = 0.0;
    long k = 0;
    mg_status s = metrics_check_planes("mae", pred, target, width, height, out);
    if (s == MG_OK)
        s = metrics_error_sums("mae", pred, target, width, height, mask, &sa, &sq, &k);
    if (s == MG_OK)
        *out = sa / (double)k;
    return s;
}

/* ------------------------------------------------------------------ SSIM */

/* The normalised 11-tap Gaussian, as scipy.ndimage's _gaussian_kernel1d(sigma 1.5, radius 5). */
static void metrics_gaussian_window(double *g)
{
    double sum = 0.0;
    for (int k = -SSIM_RADIUS; k <= SSIM_RADIUS; k++) {
        g[k + SSIM_RADIUS] = exp(-0.5 * (double)(k * k) / (MG_METRICS_SSIM_SIGMA * MG_METRICS_SSIM_SIGMA));
        sum += g[k + SSIM_RADIUS];
    }
    for (int k = 0; k < MG_METRICS_SSIM_WINDOW; k++)
        g[k] /= sum;
}

/* SSIM map mean over the valid region (and the mask); *count receives the number of map pixels averaged. */
static mg_status metrics_ssim(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                              double *out, long *count)
{
    if (width < MG_METRICS_SSIM_WINDOW || height < MG_METRICS_SSIM_WINDOW)
        return mg_error(MG_ERR_ARG, "ssim: image %dx%d is smaller than the %dx%d window", width, height,
                        MG_METRICS_SSIM_WINDOW, MG_METRICS_SSIM_WINDOW);
    const int vw = width - 2 * SSIM_RADIUS, vh = height - 2 * SSIM_RADIUS; /* the valid region */
    const size_t plane = (size_t)height * (size_t)vw;
    double *rows = malloc(5 * plane * sizeof *rows); /* row-filtered p, t, p*p, t*t, p*t */
    if (!rows)
        return mg_error(MG_ERR_OOM, "ssim: out of memory for a %dx%d image", width, height);
    double g[MG_METRICS_SSIM_WINDOW];
    metrics_gaussian_window(g);

    for (int y = 0; y < height; y++) {
        const double *p = pred + (size_t)y * (size_t)width, *t = target + (size_t)y * (size_t)width;
        for (int x = 0; x < vw; x++) {
            double m[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
            for (int k = 0; k < MG_METRICS_SSIM_WINDOW; k++) {
                const double a = p[x + k], b = t[x + k];
                m[0] += g[k] * a;
                m[1] += g[k] * b;
                m[2] += g[k] * (a * a);
                m[3] += g[k] * (b * b);
                m[4] += g[k] * (a * b);
            }
            for (int q = 0; q < 5; q++)
                rows[(size_t)q * plane + (size_t)y * (size_t)vw + (size_t)x] = m[q];
        }
    }

    const double c1 = (MG_METRICS_SSIM_K1 * MG_METRICS_DATA_RANGE) * (MG_METRICS_SSIM_K1 * MG_METRICS_DATA_RANGE);
    const double c2 = (MG_METRICS_SSIM_K2 * MG_METRICS_DATA_RANGE) * (MG_METRICS_SSIM_K2 * MG_METRICS_DATA_RANGE);
    double sum = 0.0;
    long k_used = 0;
    for (int y = 0; y < vh; y++) {
        for (int x = 0; x < vw; x++) {
            if (mask && !mask[(size_t)(y + SSIM_RADIUS) * (size_t)width + (size_t)(x + SSIM_RADIUS)])
                continue;
            double m[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
            for (int k = 0; k < MG_METRICS_SSIM_WINDOW; k++)
                for (int q = 0; q < 5; q++)
                    m[q] += g[k] * rows[(size_t)q * plane + (size_t)(y + k) * (size_t)vw + (size_t)x];
            const double ux = m[0], uy = m[1];
            const double vx = m[2] - ux * ux, vy = m[3] - uy * uy, vxy = m[4] - ux * uy;
            sum += ((2.0 * ux * uy + c1) * (2.0 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
            k_used++;
        }
    }
    free(rows);
    if (k_used == 0)
        return mg_error(MG_ERR_ARG,
                        "ssim: the mask selects no pixel at least %d pixels from the border of the %dx%d "
                        "image",
                        SSIM_RADIUS, width, height);
    *out = sum / (double)k_used;
    *count = k_used;
    return MG_OK;
}

mg_status mg_metrics_compute_ssim(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                                  double *out)
{
    long count;
    mg_status s = metrics_check_planes("ssim", pred, target, width, height, out);
    return s == MG_OK ? metrics_ssim(pred, target, width, height, mask, out, &count) : s;
}

/* Fine-texture energies: the mean square of the 4-neighbour Laplacian (4 v - the sum of the four neighbours) of
 * pred and of target over the scored pixels whose four neighbours lie inside the image. The Laplacian weighs a
 * pattern by the square of its frequency (a one-pixel checkerboard by 8), so these compare what SSIM and PSNR
 * average away: speckle and grids add to pred's energy, blur takes from it. Both 0 when no pixel qualifies. */
static void metrics_texture(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                            double *hf_pred, double *hf_target)
{
    double ep = 0.0, et = 0.0;
    long k = 0;
    for (int y = 1; y < height - 1; y++)
        for (int x = 1; x < width - 1; x++) {
            const size_t i = (size_t)y * (size_t)width + (size_t)x, w = (size_t)width;
            if (mask && !mask[i])
                continue;
            const double lp = 4.0 * pred[i] - pred[i - 1] - pred[i + 1] - pred[i - w] - pred[i + w];
            const double lt = 4.0 * target[i] - target[i - 1] - target[i + 1] - target[i - w] - target[i + w];
            ep += lp * lp;
            et += lt * lt;
            k++;
        }
    *hf_pred = k ? ep / (double)k : 0.0;
    *hf_target = k ? et / (double)k : 0.0;
}

mg_status mg_metrics_compute_all(const double *pred, const double *target, int width, int height, const uint8_t *mask,
                                 mg_metrics *out)
{
    double sa = 0.0, sq = 0.0;
    mg_metrics m = {0};
    mg_status s = metrics_check_planes("metrics", pred, target, width, height, out);
    if (s == MG_OK)
        s = metrics_error_sums("metrics", pred, target, width, height, mask, &sa, &sq, &m.n_pixels);
    if (s == MG_OK)
        s = metrics_ssim(pred, target, width, height, mask, &m.ssim, &m.n_ssim);
    if (s != MG_OK)
        return s;
    m.mae = sa / (double)m.n_pixels;
    m.psnr = metrics_psnr_of_mse(sq / (double)m.n_pixels);
    metrics_texture(pred, target, width, height, mask, &m.hf_pred, &m.hf_target);
    *out = m;
    return MG_OK;
}

/* ------------------------------------------------------------------ images */

mg_status mg_metrics_compare(const mg_image *pred, const mg_image *target, const mg_metrics_options *opt,
                             mg_metrics *out)
{
    if (!pred || !target || !pred->data || !target->data || !out)
        return mg_error(MG_ERR_ARG, "metrics: NULL image or result");
    if (pred->width != target->width || pred->height != target->height)
        return mg_error(MG_ERR_ARG, "metrics: size mismatch: prediction %dx%d, target %dx%d", pred->width, pred->height,
                        target->width, target->height);
    if (pred->width < MG_METRICS_SSIM_WINDOW || pred->height < MG_METRICS_SSIM_WINDOW)
        return mg_error(MG_ERR_ARG, "metrics: image %dx%d is smaller than the %dx%d SSIM window", pred->width,
                        pred->height, MG_METRICS_SSIM_WINDOW, MG_METRICS_SSIM_WINDOW);
    const mg_metrics_options none = {0};
    if (!opt)
        opt = &none;
    const size_t n = (size_t)pred->width * (size_t)pred->height;
    double *p = malloc(2 * n * sizeof *p);
    if (!p)
        return mg_error(MG_ERR_OOM, "metrics: out of memory for a %dx%d image", pred->width, pred->height);
    char msg[256];
    mg_status s = mg_metrics_to_gray(pred, opt->round_pred, p);
    if (s != MG_OK) {
        snprintf(msg, sizeof msg, "%s", mg_last_error());
        s = mg_error(s, "%s (prediction)", msg);
    }
    if (s == MG_OK && (s = mg_metrics_to_gray(target, opt->round_target, p + n)) != MG_OK) {
        snprintf(msg, sizeof msg, "%s", mg_last_error());
        s = mg_error(s, "%s (target)", msg);
    }
    if (s == MG_OK)
        s = mg_metrics_compute_all(p, p + n, pred->width, pred->height, opt->mask, out);
    free(p);
    return s;
}

/* ------------------------------------------------------------------ masks */

mg_status mg_metrics_make_mask(const mg_image *target, bool round_target, double threshold, uint8_t *mask)
{
    if (!target || !target->data || !mask || target->width < 1 || target->height < 1 || !isfinite(threshold))
        return mg_error(MG_ERR_ARG, "mask: NULL or empty image, or a threshold that is not finite");
    const int w = target->width, h = target->height;
    const size_t n = (size_t)w * (size_t)h;
    double *gray = malloc(n * sizeof *gray);
    uint8_t *fg = malloc(n);
    size_t *stack = malloc(n * sizeof *stack);
    mg_status s = gray && fg && stack ? MG_OK : mg_error(MG_ERR_OOM, "mask: out of memory for a %dx%d image", w, h);
    if (s == MG_OK)
        s = mg_metrics_to_gray(target, round_target, gray);
    if (s == MG_OK) {
        /* fg: 1 foreground, 0 background not yet reached from the border, 2 background reached (outside). */
        size_t top = 0;
        for (size_t i = 0; i < n; i++) {
            fg[i] = gray[i] > threshold;
            const int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
            if (!fg[i] && (x == 0 || y == 0 || x == w - 1 || y == h - 1)) {
                fg[i] = 2;
                stack[top++] = i;
            }
        }
        while (top > 0) { /* flood the background from the border, 4-connected */
            const size_t i = stack[--top];
            const int x = (int)(i % (size_t)w), y = (int)(i / (size_t)w);
            const size_t next[4] = {x > 0 ? i - 1 : i, x < w - 1 ? i + 1 : i, y > 0 ? i - (size_t)w : i,
                                    y < h - 1 ? i + (size_t)w : i};
            for (int k = 0; k < 4; k++)
                if (fg[next[k]] == 0) {
                    fg[next[k]] = 2;
                    stack[top++] = next[k];
                }
        }
        for (int y = 0; y < h; y++) /* 3x3 dilation of everything not reached from the border */
            for (int x = 0; x < w; x++) {
                uint8_t on = 0;
                for (int dy = -1; dy <= 1 && !on; dy++)
                    for (int dx = -1; dx <= 1 && !on; dx++) {
                        const int xx = x + dx, yy = y + dy;
                        on = xx >= 0 && yy >= 0 && xx < w && yy < h && fg[(size_t)yy * (size_t)w + (size_t)xx] != 2;
                    }
                mask[(size_t)y * (size_t)w + (size_t)x] = on;
            }
    }
    free(gray);
    free(fg);
    free(stack);
    return s;
}

/* ------------------------------------------------------------------ summaries */

typedef enum metrics_field { FIELD_PSNR, FIELD_SSIM, FIELD_MAE } metrics_field;

static double metrics_field_of(const mg_metrics *m, metrics_field f)
{
    return f == FIELD_PSNR ? m->psnr : f == FIELD_SSIM ? m->ssim : m->mae;
}

/* Mean and sample standard deviation of one metric's finite values among n images. */
static void metrics_mean_sd(const mg_metrics *items, int n, metrics_field f, int *n_finite, double *mean, double *sd)
{
    double sum = 0.0, sq = 0.0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        const double x = metrics_field_of(&items[i], f);
        if (isfinite(x)) {
            sum += x;
            k++;
        }
    }
    const double m = k ? sum / k : NAN;
    for (int i = 0; i < n; i++) {
        const double x = metrics_field_of(&items[i], f);
        if (isfinite(x))
            sq += (x - m) * (x - m);
    }
    *n_finite = k;
    *mean = m;
    *sd = k > 1 ? sqrt(sq / (k - 1)) : k == 1 ? 0.0 : NAN;
}

void mg_metrics_compute_summary(const mg_metrics *items, int n, mg_metrics_summary *out)
{
    if (!out)
        return;
    mg_metrics_summary r = {.n = n > 0 && items ? n : 0};
    if (r.n == 0) {
        r.psnr_mean = r.psnr_sd = r.ssim_mean = r.ssim_sd = r.mae_mean = r.mae_sd = r.texture = NAN;
        *out = r;
        return;
    }
    int k;
    metrics_mean_sd(items, r.n, FIELD_PSNR, &k, &r.psnr_mean, &r.psnr_sd);
    r.n_psnr_inf = r.n - k; /* infinite (identical pairs); NaN cannot occur for finite inputs */
    if (k == 0) {
        r.psnr_mean = INFINITY;
        r.psnr_sd = 0.0;
    }
    metrics_mean_sd(items, r.n, FIELD_SSIM, &k, &r.ssim_mean, &r.ssim_sd);
    metrics_mean_sd(items, r.n, FIELD_MAE, &k, &r.mae_mean, &r.mae_sd);
    double ep = 0.0, et = 0.0; /* pooled, so that a flat slice (no texture in its target) cannot divide by 0 */
    for (int i = 0; i < r.n; i++) {
        ep += items[i].hf_pred;
        et += items[i].hf_target;
    }
    r.texture = et > 0.0 ? ep / et : NAN;
    *out = r;
}
