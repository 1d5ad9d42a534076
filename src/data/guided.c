/* What refines a translation with its input slice: the guided filter (He, Sun and Tang, 2010) with the slice as
 * the guide of its own translation, and the flat background (mrigan/image.h). */
#include <math.h>
#include <stdlib.h>

#include "base/base.h"
#include "mrigan/baselines.h"
#include "mrigan/image.h"

/* out[k * os] = the mean of in[k * is] over k - r .. k + r clipped to 0 .. len - 1 (the mean of the values inside),
 * by a running sum: one row (strides 1) or one column (strides w) of an image. */
static void box_mean_line(const double *in, size_t is, int len, int r, double *out, size_t os)
{
    double s = 0;
    for (int k = 0; k < r && k < len; k++)
        s += in[k * is];
    for (int k = 0; k < len; k++) {
        if (k + r < len)
            s += in[(size_t)(k + r) * is];
        if (k - r - 1 >= 0)
            s -= in[(size_t)(k - r - 1) * is];
        int n = (k + r < len ? k + r : len - 1) - (k - r > 0 ? k - r : 0) + 1;
        out[k * os] = s / n;
    }
}

/* out = the mean of x over the (2r + 1)^2 window around each pixel, clipped to the image (the mean of the pixels
 * inside it): along rows into tmp (h * w doubles), then along columns. */
static void box_mean(const double *x, int h, int w, int r, double *tmp, double *out)
{
    for (int i = 0; i < h; i++)
        box_mean_line(x + (size_t)i * w, 1, w, r, tmp + (size_t)i * w, 1);
    for (int j = 0; j < w; j++)
        box_mean_line(tmp + j, (size_t)w, h, r, out + j, (size_t)w);
}

mg_status mg_image_guided_filter(const float *guide, const float *src, int h, int w, int radius, float eps, float *out)
{
    if (!guide || !src || !out || h < 1 || w < 1 || radius < 1 || !(eps > 0.0f))
        return mg_error(MG_ERR_ARG, "guided filter: bad arguments (%dx%d, radius %d, eps %g)", w, h, radius,
                        (double)eps);
    const size_t n = (size_t)h * w;
    double *buf = malloc(9 * n * sizeof *buf);
    if (!buf)
        return mg_error(MG_ERR_OOM, "guided filter: out of memory for a %dx%d slice", w, h);
    double *g = buf, *p = buf + n, *gp = buf + 2 * n, *gg = buf + 3 * n, *mg = buf + 4 * n, *mp = buf + 5 * n;
    double *mgp = buf + 6 * n, *mgg = buf + 7 * n, *tmp = buf + 8 * n;
    for (size_t i = 0; i < n; i++) {
        g[i] = guide[i];
        p[i] = src[i];
        gp[i] = g[i] * p[i];
        gg[i] = g[i] * g[i];
    }
    box_mean(g, h, w, radius, tmp, mg);
    box_mean(p, h, w, radius, tmp, mp);
    box_mean(gp, h, w, radius, tmp, mgp);
    box_mean(gg, h, w, radius, tmp, mgg);
    /* Each window's least-squares line src ~ a * guide + b, its slope shrunk by eps: where the guide is flat (its
     * variance well below eps) a is near 0 and the window's mean of src remains, so what src carries that the
     * guide does not (invented noise, a grid) averages out; across the guide's edges a follows src's contrast. */
    for (size_t i = 0; i < n; i++) {
        double var = mgg[i] - mg[i] * mg[i], cov = mgp[i] - mg[i] * mp[i];
        double a = cov / ((var > 0 ? var : 0) + eps);
        gp[i] = a;                 /* reuses gp for a */
        gg[i] = mp[i] - a * mg[i]; /* and gg for b */
    }
    box_mean(gp, h, w, radius, tmp, mgp); /* each pixel lies in (2r + 1)^2 windows: the mean of their lines */
    box_mean(gg, h, w, radius, tmp, mgg);
    for (size_t i = 0; i < n; i++) {
        double y = mgp[i] * g[i] + mgg[i];
        out[i] = (float)(y < -1 ? -1 : y > 1 ? 1 : y);
    }
    free(buf);
    return MG_OK;
}

long mg_image_air_mask(const float *x, int h, int w, int radius, unsigned char *mask)
{
    if (h < 1 || w < 1)
        return 0;
    const size_t n = (size_t)h * w;
    mg_profile_counts c = {0};
    mg_profile_add(&c, &(mg_image){.width = w, .height = h, .data = (float *)x});
    /* the value below which a pixel's gray level is at most the background level (mg_map_level rounds) */
    const double dark = (mg_map_background_level(&c) + 0.5) / 127.5 - 1.0;
    double *buf = calloc(3 * n, sizeof *buf);
    size_t *stack = malloc(n * sizeof *stack);
    if (!buf || !stack) {
        free(buf);
        free(stack);
        mg_error(MG_ERR_OOM, "air: out of memory for a %dx%d slice", w, h);
        return -1;
    }
    double *v = buf, *mean = buf + n, *tmp = buf + 2 * n;
    for (size_t i = 0; i < n; i++)
        v[i] = x[i];
    box_mean(v, h, w, radius, tmp, mean);
    /* a flood fill from every dark border pixel, four neighbours a step; each pixel is pushed once at most */
    size_t top = 0;
    long marked = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t r = i / (size_t)w, col = i % (size_t)w;
        const bool border = r == 0 || col == 0 || r + 1 == (size_t)h || col + 1 == (size_t)w;
        mask[i] = border && mean[i] <= dark;
        if (mask[i])
            stack[top++] = i;
    }
    while (top > 0) {
        const size_t i = stack[--top], r = i / (size_t)w, col = i % (size_t)w;
        const size_t next[4] = {r > 0 ? i - (size_t)w : i, r + 1 < (size_t)h ? i + (size_t)w : i, col > 0 ? i - 1 : i,
                                col + 1 < (size_t)w ? i + 1 : i};
        marked++;
        for (int k = 0; k < 4; k++)
            if (!mask[next[k]] && mean[next[k]] <= dark) {
                mask[next[k]] = 1;
                stack[top++] = next[k];
            }
    }
    free(buf);
    free(stack);
    return marked;
}

mg_status mg_image_flatten_background(const float *x, int h, int w, int radius, float level, float *y)
{
    if (!x || !y || h < 1 || w < 1 || radius < 0)
        return mg_error(MG_ERR_ARG, "flat background: bad arguments (%dx%d, radius %d)", w, h, radius);
    const size_t n = (size_t)h * w;
    unsigned char *mask = malloc(n);
    long marked = mask ? mg_image_air_mask(x, h, w, radius, mask) : -1;
    if (marked < 0) {
        free(mask);
        return mg_error(MG_ERR_OOM, "flat background: out of memory for a %dx%d slice", w, h);
    }
    double sum = 0;
    for (size_t i = 0; isnan(level) && i < n; i++)
        sum += mask[i] ? y[i] : 0.0;
    const float fill = isnan(level) ? (float)(sum / (marked > 0 ? marked : 1)) : level;
    for (size_t i = 0; i < n; i++)
        y[i] = mask[i] ? fill : y[i];
    free(mask);
    return MG_OK;
}
