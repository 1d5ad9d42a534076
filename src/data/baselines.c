/* Per-intensity maps: histogram matching and the oracle lookup table (include/mrigan/baselines.h). */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "base/base.h"
#include "mrigan/baselines.h"

int mg_map_level(float v)
{
    double k = nearbyint(((double)v + 1.0) * 127.5);
    return k < 0 ? 0 : k > 255 ? 255 : (int)k;
}

#define PROFILE_BACKGROUND 6 /* gray levels at or below this are background */

static float map_value(double level) { return (float)(level / 127.5 - 1.0); }

/* Pooled gray-level counts of n images; their total. */
static double map_count(const mg_image *img, int n, double *counts)
{
    double total = 0;
    memset(counts, 0, sizeof(double) * MG_MAP_LEVELS);
    for (int i = 0; i < n; i++)
        for (size_t p = 0; img[i].data && p < (size_t)img[i].width * img[i].height; p++) {
            counts[mg_map_level(img[i].data[p])] += 1.0;
            total += 1.0;
        }
    return total;
}

/* out[k] for every level k that has source pixels (hs[k] > 0, or all when every_level): the target level at the
 * source level's mid-rank quantile q, or at 1 - q when reverse. */
static void map_match(const double *hs, double ns, const double *hd, double nd, bool reverse, mg_intensity_map *out)
{
    double cd[MG_MAP_LEVELS], run = 0;
    for (int k = 0; k < MG_MAP_LEVELS; k++)
        cd[k] = (run += hd[k]) / nd; /* the target's CDF at each level */
    run = 0;
    for (int k = 0; k < MG_MAP_LEVELS; k++) {
        double q = (run + 0.5 * hs[k]) / ns; /* the mid-rank quantile of source level k */
        run += hs[k];
        if (reverse)
            q = 1.0 - q;
        int j = 0;
        while (j < MG_MAP_LEVELS - 1 && cd[j] < q)
            j++;
        /* level j spans [j - 1/2, j + 1/2], over which the CDF rises linearly from cd[j - 1] to cd[j] */
        const double lo = j > 0 ? cd[j - 1] : 0.0, t = cd[j] > lo ? (q - lo) / (cd[j] - lo) : 0.5;
        out->out[k] = map_value(fmin(fmax(j - 0.5 + fmin(fmax(t, 0.0), 1.0), 0.0), 255.0));
    }
}

mg_status mg_map_fit_histograms(const mg_image *src, int n_src, const mg_image *dst, int n_dst, mg_intensity_map *out)
{
    if (!src || !dst || !out || n_src < 0 || n_dst < 0)
        return mg_error(MG_ERR_ARG, "histogram matching: NULL or negative argument");
    double hs[MG_MAP_LEVELS], hd[MG_MAP_LEVELS];
    const double ns = map_count(src, n_src, hs), nd = map_count(dst, n_dst, hd);
    if (ns == 0 || nd == 0)
        return mg_error(MG_ERR_ARG, "histogram matching: no pixel on the %s side", ns == 0 ? "source" : "target");
    map_match(hs, ns, hd, nd, false, out);
    return MG_OK;
}

/* The histogram of the pixels above level t (the rest 0); their number. */
static double map_above(const mg_profile_counts *c, int t, double *h)
{
    double n = 0;
    for (int k = 0; k < MG_MAP_LEVELS; k++)
        n += h[k] = k > t ? c->all[k] : 0.0;
    return n;
}

int mg_map_background_level(const mg_profile_counts *c)
{
    enum { HALF = 4, MODE_BELOW = 64, VALLEY_WITHIN = 96 };
    double avg[MG_MAP_LEVELS];
    for (int k = 0; k < MG_MAP_LEVELS; k++) { /* the moving average, the levels past either end counted as 0 */
        double sum = 0;
        for (int j = k - HALF; j <= k + HALF; j++)
            sum += j >= 0 && j < MG_MAP_LEVELS ? c->all[j] : 0.0;
        avg[k] = sum / (2 * HALF + 1);
    }
    int mode = 0, valley;
    for (int k = 1; k < MODE_BELOW; k++)
        mode = avg[k] > avg[mode] ? k : mode;
    /* down the slope from the mode to where the average first rises: a noisy stretch of tissue levels ends the
     * walk early (nearer the black background's threshold), and it never passes the tissue's first rise */
    for (valley = mode; valley + 1 < mode + VALLEY_WITHIN && valley + 1 < MG_MAP_LEVELS; valley++)
        if (avg[valley + 1] > avg[valley])
            break;
    /* tissue whose counts fall all the way from the background's would be swallowed whole: then only black is */
    double above[MG_MAP_LEVELS];
    return valley > PROFILE_BACKGROUND && map_above(c, valley, above) > 0 ? valley : PROFILE_BACKGROUND;
}

mg_status mg_map_fit_inverse(const mg_profile_counts *src, const mg_profile_counts *dst, mg_intensity_map *out)
{
    if (!src || !dst || !out)
        return mg_error(MG_ERR_ARG, "inverse histogram matching: NULL argument");
    const int ts = mg_map_background_level(src), td = mg_map_background_level(dst);
    double hs[MG_MAP_LEVELS], hd[MG_MAP_LEVELS];
    const double ns = map_above(src, ts, hs), nd = map_above(dst, td, hd);
    if (ns <= 0 || nd <= 0)
        return mg_error(MG_ERR_ARG, "inverse histogram matching: no pixel above the background on the %s side",
                        ns <= 0 ? "source" : "target");
    map_match(hs, ns, hd, nd, true, out);
    for (int k = 0; k <= ts; k++) /* the background, which stays black */
        out->out[k] = -1.0f;
    return MG_OK;
}

mg_status mg_map_fit_oracle(const mg_image *src, const mg_image *dst, int n, mg_intensity_map *out)
{
    if (!src || !dst || !out || n < 0)
        return mg_error(MG_ERR_ARG, "oracle map: NULL or negative argument");
    double sum[MG_MAP_LEVELS] = {0}, count[MG_MAP_LEVELS] = {0};
    for (int i = 0; i < n; i++) {
        if (src[i].width != dst[i].width || src[i].height != dst[i].height)
            return mg_error(MG_ERR_ARG, "oracle map: pair %d has sizes %dx%d and %dx%d", i, src[i].width, src[i].height,
                            dst[i].width, dst[i].height);
        for (size_t p = 0; p < (size_t)src[i].width * src[i].height; p++) {
            const int k = mg_map_level(src[i].data[p]);
            sum[k] += dst[i].data[p];
            count[k] += 1.0;
        }
    }
    int prev = -1; /* the last level seen */
    for (int k = 0; k < MG_MAP_LEVELS; k++) {
        if (count[k] == 0)
            continue;
        out->out[k] = (float)(sum[k] / count[k]);
        for (int j = prev + 1; j < k; j++) /* the unseen levels between two seen ones, or before the first */
            out->out[j] = prev < 0 ? out->out[k]
                                   : (float)(out->out[prev] + (out->out[k] - out->out[prev]) * (j - prev) / (k - prev));
        prev = k;
    }
    if (prev < 0)
        return mg_error(MG_ERR_ARG, "oracle map: no pixel to fit");
    for (int j = prev + 1; j < MG_MAP_LEVELS; j++)
        out->out[j] = out->out[prev];
    return MG_OK;
}

mg_status mg_map_apply(const mg_intensity_map *m, const mg_image *in, mg_image *out)
{
    if (!m || !in || !in->data || !out)
        return mg_error(MG_ERR_ARG, "apply map: NULL argument");
    mg_status s = mg_image_new(in->width, in->height, out);
    for (size_t p = 0; s == MG_OK && p < (size_t)in->width * in->height; p++)
        out->data[p] = m->out[mg_map_level(in->data[p])];
    return s;
}

/* ------------------------------------------------------------------ intensity profiles */

void mg_profile_add(mg_profile_counts *c, const mg_image *img)
{
    for (size_t p = 0; img && img->data && p < (size_t)img->width * img->height; p++) {
        const int k = mg_map_level(img->data[p]);
        c->all[k] += 1.0;
        if (k > PROFILE_BACKGROUND) {
            c->count[k] += 1.0;
            c->total += 1.0;
        }
    }
}

float mg_profile_threshold(void) { return map_value(PROFILE_BACKGROUND + 0.5); }

mg_status mg_profile_quantiles(const mg_profile_counts *c, int n, float *out)
{
    if (!c || !out || n < 2 || c->total <= 0)
        return mg_error(MG_ERR_ARG, "intensity quantiles: no pixel above the background");
    double run = 0; /* the pixels below level k */
    int k = 0;
    for (int j = 0; j < n; j++) {
        const double want = c->total * j / (n - 1);
        while (k < MG_MAP_LEVELS - 1 && (c->count[k] <= 0 || run + c->count[k] < want))
            run += c->count[k++];
        double f = c->count[k] > 0 ? (want - run) / c->count[k] : 1.0;
        f = f < 0 ? 0 : f > 1 ? 1 : f;
        float v = map_value(k - 0.5 + f);
        out[j] = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
    }
    return MG_OK;
}

mg_status mg_profile_finish(const mg_profile_counts *c, mg_intensity_profile *out)
{
    if (!c || !out || c->total <= 0)
        return mg_error(MG_ERR_ARG, "intensity profile: no pixel above the background");
    double run = 0;
    int k = 0;
    for (int q = 0; q < MG_PROFILE_QUANTILES; q++) {
        const double want = (q + 1) * c->total / 10.0; /* exact for totals that tenths divide */
        while (k < MG_MAP_LEVELS - 1 && run + c->count[k] < want)
            run += c->count[k++];
        out->q[q] = map_value(k);
    }
    return MG_OK;
}

double mg_profile_distance(const mg_intensity_profile *a, const mg_intensity_profile *b)
{
    double d = 0;
    for (int q = 0; q < MG_PROFILE_QUANTILES; q++)
        d += fabs((double)a->q[q] - (double)b->q[q]);
    return d / MG_PROFILE_QUANTILES;
}
