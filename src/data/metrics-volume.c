/* Scoring a volume against its target slice by slice, and the whole volume from the same slices (metrics.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "mrigan/metrics.h"

void mg_volume_scores_free(mg_volume_scores *s)
{
    if (!s)
        return;
    free(s->slice);
    free(s->m);
    *s = (mg_volume_scores){0};
}

/* Per-slice work space: the two slices as images, the slice's voxel offsets and its mask. */
typedef struct volume_slice_work {
    mg_image pred, target;
    size_t *offsets;
    uint8_t *mask;
} volume_slice_work;

/* Scores slice k into *m; *scored is false when the mask leaves nothing of it. */
static mg_status volume_score_slice(const float *pred, const mg_volume *target, const mg_volume_plane *p,
                                    const mg_volume_scale *sc, const uint8_t *mask, bool auto_mask, double threshold,
                                    int k, volume_slice_work *w, mg_metrics *m, bool *scored)
{
    const size_t n = (size_t)p->width * (size_t)p->height;
    mg_status s = mg_volume_slice_offsets(target, p, k, w->offsets);
    mg_image_free(&w->target);
    if (s == MG_OK)
        s = mg_volume_get_slice(target, p, k, sc, &w->target);
    long in_mask = 0;
    for (size_t i = 0; s == MG_OK && i < n; i++) {
        w->pred.data[i] = isnan(pred[w->offsets[i]]) ? -1.0f : pred[w->offsets[i]];
        if (mask)
            in_mask += (w->mask[i] = mask[w->offsets[i]] != 0);
    }
    if (s == MG_OK && !mask && auto_mask)
        s = mg_metrics_make_mask(&w->target, false, threshold, w->mask);
    *scored = s == MG_OK && (!mask || in_mask > 0);
    const mg_metrics_options opt = {.mask = mask || auto_mask ? w->mask : NULL};
    if (*scored)
        s = mg_metrics_compare(&w->pred, &w->target, &opt, m);
    return s;
}

mg_status mg_metrics_compare_volume(const float *pred, const mg_volume *target, const char *path, const uint8_t *mask,
                                    bool auto_mask, double threshold, mg_slice_axis axis, mg_volume_scores *out)
{
    if (!pred || !target || !out)
        return mg_error(MG_ERR_ARG, "compare volume: NULL argument");
    *out = (mg_volume_scores){0};
    mg_volume_plane p;
    mg_volume_scale sc;
    bool *empty = NULL;
    volume_slice_work w = {0};
    mg_status s = mg_volume_plane_of(target, axis, &p);
    if (s == MG_OK)
        s = mg_volume_scale_of(target, path, &sc);
    if (s == MG_OK && (p.width < MG_METRICS_SSIM_WINDOW || p.height < MG_METRICS_SSIM_WINDOW))
        s = mg_error(MG_ERR_ARG, "%s: slices of %dx%d are smaller than SSIM's %dx%d window", path, p.width, p.height,
                     MG_METRICS_SSIM_WINDOW, MG_METRICS_SSIM_WINDOW);
    const size_t n = s == MG_OK ? (size_t)p.width * (size_t)p.height : 0;
    if (s == MG_OK) {
        empty = calloc((size_t)p.count, sizeof *empty);
        out->slice = calloc((size_t)p.count, sizeof *out->slice);
        out->m = calloc((size_t)p.count, sizeof *out->m);
        w.offsets = malloc(sizeof *w.offsets * n);
        w.mask = malloc(n);
        if (!empty || !out->slice || !out->m || !w.offsets || !w.mask)
            s = mg_error(MG_ERR_OOM, "%s: out of memory", path);
    }
    if (s == MG_OK)
        s = mg_volume_slice_fill(target, &p, &sc, NULL, empty);
    if (s == MG_OK)
        s = mg_image_new(p.width, p.height, &w.pred);
    double sum_abs = 0, sum_sq = 0, sum_ssim = 0, sum_hf_pred = 0, sum_hf_target = 0;
    long pixels = 0, ssim_pixels = 0;
    for (int k = 0; s == MG_OK && k < p.count; k++) {
        bool scored = false;
        mg_metrics *m = &out->m[out->n];
        if (!empty[k])
            s = volume_score_slice(pred, target, &p, &sc, mask, auto_mask, threshold, k, &w, m, &scored);
        if (s != MG_OK || !scored)
            continue;
        out->slice[out->n++] = k;
        const double mse =
            isinf(m->psnr) ? 0.0 : MG_METRICS_DATA_RANGE * MG_METRICS_DATA_RANGE / pow(10.0, m->psnr / 10.0);
        sum_abs += m->mae * (double)m->n_pixels;
        sum_sq += mse * (double)m->n_pixels;
        sum_ssim += m->ssim * (double)m->n_ssim;
        sum_hf_pred += m->hf_pred;
        sum_hf_target += m->hf_target;
        pixels += m->n_pixels;
        ssim_pixels += m->n_ssim;
    }
    if (s == MG_OK && out->n == 0)
        s = mg_error(MG_ERR_ARG, "%s: no slice to score (no anatomy%s)", path, mask ? " inside the mask" : "");
    if (s == MG_OK) {
        const double mse = sum_sq / (double)pixels;
        out->whole = (mg_metrics){
            .psnr = mse > 0 ? 10.0 * log10(MG_METRICS_DATA_RANGE * MG_METRICS_DATA_RANGE / mse) : INFINITY,
            .ssim = ssim_pixels ? sum_ssim / (double)ssim_pixels : NAN,
            .mae = sum_abs / (double)pixels,
            .n_pixels = pixels,
            .n_ssim = ssim_pixels,
            .hf_pred = sum_hf_pred / out->n, /* the slices' mean, as a set of images pools them */
            .hf_target = sum_hf_target / out->n,
        };
        out->axis = p.axis;
    }
    free(empty);
    free(w.offsets);
    free(w.mask);
    mg_image_free(&w.pred);
    mg_image_free(&w.target);
    if (s != MG_OK)
        mg_volume_scores_free(out);
    return s;
}
