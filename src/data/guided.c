/* The guided filter (He, Sun and Tang, 2010) with a slice as the guide of its own translation (mrigan/image.h). */
#include <stdlib.h>

#include "base/base.h"
#include "mrigan/image.h"

/* out = the mean of x over the (2r + 1)^2 window around each pixel, clipped to the image (the mean of the pixels
 * inside it): running sums along rows, then along columns. tmp holds h * w doubles. */
static void box_mean(const double *x, int h, int w, int r, double *tmp, double *out)
{
    for (int i = 0; i < h; i++) {
        const double *row = x + (size_t)i * w;
        double s = 0;
        for (int j = 0; j < r && j < w; j++)
            s += row[j];
        for (int j = 0; j < w; j++) {
            if (j + r < w)
                s += row[j + r];
            if (j - r - 1 >= 0)
                s -= row[j - r - 1];
            int n = (j + r < w ? j + r : w - 1) - (j - r > 0 ? j - r : 0) + 1;
            tmp[(size_t)i * w + j] = s / n;
        }
    }
    for (int j = 0; j < w; j++) {
        double s = 0;
        for (int i = 0; i < r && i < h; i++)
            s += tmp[(size_t)i * w + j];
        for (int i = 0; i < h; i++) {
            if (i + r < h)
                s += tmp[(size_t)(i + r) * w + j];
            if (i - r - 1 >= 0)
                s -= tmp[(size_t)(i - r - 1) * w + j];
            int n = (i + r < h ? i + r : h - 1) - (i - r > 0 ? i - r : 0) + 1;
            out[(size_t)i * w + j] = s / n;
        }
    }
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
