/* The quality benchmark's scoring (include/mrigan/quality.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "mrigan/baselines.h"
#include "mrigan/quality.h"
#include "mrigan/volume.h"
#include "trainer-internal.h"

const char *const mg_quality_method_names[MG_QUALITY_METHODS] = {"identity", "histogram", "inverse", "oracle", "model"};

void mg_quality_free(mg_quality_set *set)
{
    for (int i = 0; set && i < set->n; i++) {
        mg_image_free(&set->a[i]);
        mg_image_free(&set->b[i]);
    }
    if (set) {
        free(set->a);
        free(set->b);
        *set = (mg_quality_set){0};
    }
}

mg_status mg_quality_add_files(mg_quality_set *set, const char *const *files_a, const char *const *files_b, int n)
{
    mg_status s = MG_OK;
    for (int f = 0; f < n && s == MG_OK; f++)
        s = mg_slices_append_pair(files_a[f], files_b[f], MG_SLICE_AXIAL, &set->a, &set->b, &set->n);
    return s;
}

/* The prediction of method for input i (the map fitted beforehand for the two baselines that need one). */
static mg_status quality_predict(mg_quality_method method, const mg_intensity_map *map, mg_cyclegan *model,
                                 int direction, const mg_image *in, mg_image *out)
{
    switch (method) {
    case MG_QUALITY_IDENTITY:
        if (mg_image_new(in->width, in->height, out) != MG_OK)
            return mg_error(MG_ERR_OOM, "quality: out of memory");
        memcpy(out->data, in->data, sizeof(float) * (size_t)in->width * in->height);
        return MG_OK;
    case MG_QUALITY_HISTOGRAM:
    case MG_QUALITY_INVERSE:
    case MG_QUALITY_ORACLE: return mg_map_apply(map, in, out);
    case MG_QUALITY_MODEL:
        return model ? mg_cyclegan_translate_image(model, direction, in, out)
                     : mg_error(MG_ERR_ARG, "quality: the model method needs a model");
    case MG_QUALITY_METHODS: break;
    }
    return mg_error(MG_ERR_ARG, "quality: method %d", (int)method);
}

mg_status mg_quality_score(const mg_quality_set *set, int direction, mg_quality_method method, mg_cyclegan *model,
                           mg_quality_scores *out)
{
    if (!set || set->n < 1 || !out || (direction != 0 && direction != 1))
        return mg_error(MG_ERR_ARG, "quality: an empty set or a bad direction");
    const mg_image *in = direction ? set->b : set->a, *target = direction ? set->a : set->b;
    mg_intensity_map map;
    mg_status s = MG_OK;
    if (method == MG_QUALITY_HISTOGRAM) /* unpaired: the two domains' pooled histograms */
        s = mg_map_fit_histograms(in, set->n, target, set->n, &map);
    else if (method == MG_QUALITY_INVERSE) { /* unpaired: the pixels above the background, the order reversed */
        mg_profile_counts ci = {0}, ct = {0};
        for (int i = 0; i < set->n; i++) {
            mg_profile_add(&ci, &in[i]);
            mg_profile_add(&ct, &target[i]);
        }
        s = mg_map_fit_inverse(&ci, &ct, &map);
    } else if (method == MG_QUALITY_ORACLE) /* the true pairs */
        s = mg_map_fit_oracle(in, target, set->n, &map);
    mg_metrics *whole = calloc((size_t)set->n, sizeof *whole), *fg = calloc((size_t)set->n, sizeof *fg);
    if (s == MG_OK && (!whole || !fg))
        s = mg_error(MG_ERR_OOM, "quality: out of memory");
    for (int i = 0; s == MG_OK && i < set->n; i++) {
        mg_image y = {0};
        uint8_t *mask = malloc((size_t)target[i].width * target[i].height);
        s = mask ? quality_predict(method, &map, model, direction, &in[i], &y) : mg_error(MG_ERR_OOM, "quality");
        const mg_metrics_options all = {0}, masked = {.mask = mask};
        if (s == MG_OK)
            s = mg_metrics_make_mask(&target[i], false, MG_METRICS_MASK_THRESHOLD, mask);
        if (s == MG_OK)
            s = mg_metrics_compare(&y, &target[i], &all, &whole[i]);
        if (s == MG_OK)
            s = mg_metrics_compare(&y, &target[i], &masked, &fg[i]);
        mg_image_free(&y);
        free(mask);
    }
    if (s == MG_OK) {
        mg_metrics_compute_summary(whole, set->n, &out->whole);
        mg_metrics_compute_summary(fg, set->n, &out->foreground);
    }
    free(whole);
    free(fg);
    return s;
}

static void summary_mean(const mg_metrics_summary *const *runs, int n, mg_metrics_summary *out)
{
    double mean[3] = {0}, ss[3] = {0};
    *out = (mg_metrics_summary){.n = runs[0]->n};
    for (int i = 0; i < n; i++) {
        out->texture += runs[i]->texture / n;
        mean[0] += runs[i]->psnr_mean / n;
        mean[1] += runs[i]->ssim_mean / n;
        mean[2] += runs[i]->mae_mean / n;
        out->n_psnr_inf = runs[i]->n_psnr_inf > out->n_psnr_inf ? runs[i]->n_psnr_inf : out->n_psnr_inf;
    }
    for (int i = 0; i < n; i++) {
        const double v[3] = {runs[i]->psnr_mean, runs[i]->ssim_mean, runs[i]->mae_mean};
        for (int k = 0; k < 3; k++)
            ss[k] += (v[k] - mean[k]) * (v[k] - mean[k]);
    }
    out->psnr_mean = mean[0];
    out->ssim_mean = mean[1];
    out->mae_mean = mean[2];
    out->psnr_sd = n > 1 ? sqrt(ss[0] / (n - 1)) : 0;
    out->ssim_sd = n > 1 ? sqrt(ss[1] / (n - 1)) : 0;
    out->mae_sd = n > 1 ? sqrt(ss[2] / (n - 1)) : 0;
}

void mg_quality_scores_mean(const mg_quality_scores *runs, int n, mg_quality_scores *out)
{
    enum { MAX_RUNS = 64 };
    const mg_metrics_summary *w[MAX_RUNS], *f[MAX_RUNS];
    *out = (mg_quality_scores){0};
    if (!runs || n < 1)
        return;
    n = n > MAX_RUNS ? MAX_RUNS : n;
    for (int i = 0; i < n; i++) {
        w[i] = &runs[i].whole;
        f[i] = &runs[i].foreground;
    }
    summary_mean(w, n, &out->whole);
    summary_mean(f, n, &out->foreground);
}

mg_status mg_quality_write_grid(const mg_quality_set *set, mg_cyclegan *model, int n_show, const char *path)
{
    enum { MAX_SHOW = 8 };
    if (!set || set->n < 1 || !model || n_show < 1)
        return mg_error(MG_ERR_ARG, "quality: a grid needs slices and a model");
    n_show = n_show > MAX_SHOW ? MAX_SHOW : n_show > set->n ? set->n : n_show;
    mg_image a[MAX_SHOW], b[MAX_SHOW]; /* views of the set's images, not copies */
    for (int k = 0; k < n_show; k++) {
        int i = (int)(((long)2 * k + 1) * set->n / (2 * n_show)); /* the middles of n_show equal parts */
        a[k] = set->a[i];
        b[k] = set->b[i];
    }
    return run_write_val_samples(path, model, a, b, n_show, NULL);
}
