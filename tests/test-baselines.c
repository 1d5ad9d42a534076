/* The per-intensity baselines (include/mrigan/baselines.h) on cases computed by hand: the oracle lookup table
 * recovers a known level-to-value function from pairs, averages noise at each level, interpolates unseen levels;
 * histogram matching maps quantile to quantile (a uniform set of levels 0..99 onto 100..199 is a shift by 100),
 * is monotone, and is the identity between a set and itself. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mrigan/baselines.h"

static float level_value(int k) { return (float)(k / 127.5 - 1.0); }

static void test_oracle(void)
{
    int before = failures;
    mg_image src[2], dst[2];
    for (int i = 0; i < 2; i++) {
        MUST(mg_image_new(16, 16, &src[i]));
        MUST(mg_image_new(16, 16, &dst[i]));
    }
    /* levels 0..255 once each over the two images (a 16x16 image holds 256 pixels: image 0 all of them, image 1
     * only the even levels), target = the inverted level plus +-0.01 alternating on image 1 */
    for (int p = 0; p < 256; p++) {
        src[0].data[p] = level_value(p);
        dst[0].data[p] = -src[0].data[p];
        int k = 2 * (p % 128);
        src[1].data[p] = level_value(k);
        dst[1].data[p] = -src[1].data[p] + (p < 128 ? 0.01f : -0.01f);
    }
    mg_intensity_map m;
    MUST(mg_map_fit_oracle(src, dst, 2, &m));
    int bad = 0;
    for (int k = 0; k < 256; k++) /* each level's mean target: the noise cancels (one +0.01, one -0.01) */
        bad += fabsf(m.out[k] - (-level_value(k))) > 1e-6f;
    CHECK(bad == 0, "oracle: %d levels off the inverse", bad);
    mg_image y;
    MUST(mg_map_apply(&m, &src[0], &y));
    CHECK(fabsf(y.data[37] - dst[0].data[37]) < 1e-6f && y.width == 16, "apply");
    mg_image_free(&y);
    /* unseen levels: only 10 (value 0.2) and 20 (value 0.4) seen; 15 halfway, below 10 and above 20 flat */
    mg_image one, two;
    MUST(mg_image_new(2, 1, &one));
    MUST(mg_image_new(2, 1, &two));
    one.data[0] = level_value(10), one.data[1] = level_value(20);
    two.data[0] = 0.2f, two.data[1] = 0.4f;
    MUST(mg_map_fit_oracle(&one, &two, 1, &m));
    CHECK(fabsf(m.out[15] - 0.3f) < 1e-6f && m.out[0] == 0.2f && m.out[255] == 0.4f, "unseen levels: %g %g %g",
          (double)m.out[15], (double)m.out[0], (double)m.out[255]);
    mg_image_free(&two);
    MUST(mg_image_new(3, 1, &two));
    CHECK(mg_map_fit_oracle(&one, &two, 1, &m) == MG_ERR_ARG && strstr(mg_last_error(), "pair 0"), "sizes differ");
    mg_image_free(&one);
    mg_image_free(&two);
    for (int i = 0; i < 2; i++) {
        mg_image_free(&src[i]);
        mg_image_free(&dst[i]);
    }
    report(before, "oracle lookup table: a known map recovered, noise averaged, unseen levels interpolated");
}

static void test_histograms(void)
{
    int before = failures;
    mg_image a, b;
    MUST(mg_image_new(10, 10, &a));
    MUST(mg_image_new(10, 10, &b));
    for (int p = 0; p < 100; p++) {
        a.data[p] = level_value(p);
        b.data[99 - p] = level_value(100 + p); /* order within the image does not matter: no pairs */
    }
    mg_intensity_map m;
    MUST(mg_map_fit_histograms(&a, 1, &b, 1, &m));
    int bad = 0, falls = 0;
    for (int k = 0; k < 100; k++)
        bad += fabsf(m.out[k] - level_value(100 + k)) > 1e-5f;
    for (int k = 1; k < 256; k++)
        falls += m.out[k] < m.out[k - 1];
    CHECK(bad == 0 && falls == 0, "0..99 onto 100..199: %d levels off the shift, %d decreases", bad, falls);
    MUST(mg_map_fit_histograms(&a, 1, &a, 1, &m));
    bad = 0;
    for (int k = 0; k < 100; k++)
        bad += fabsf(m.out[k] - level_value(k)) > 1e-5f;
    CHECK(bad == 0, "a set onto itself: %d levels moved", bad);
    CHECK(mg_map_fit_histograms(&a, 0, &b, 1, &m) == MG_ERR_ARG, "no source pixel");
    mg_image_free(&a);
    mg_image_free(&b);
    report(before, "histogram matching: quantile to quantile, monotone, the identity onto itself");
}

/* Inverse histogram matching: levels 7..106 once each onto 100..199 once each, beside black backgrounds, goes
 * level k to 206 - k: the order reversed, quantile to opposite quantile; the background stays black. Beside a
 * noisy background (levels 10..20, 40 pixels each) the background's level is the valley up to the tissue (levels
 * 60..159): above the noise, below the tissue, so the noise stays black and the tissue is mapped as before. A side
 * with nothing above its background is refused. */
static void test_inverse(void)
{
    int before = failures;
    mg_image a, b, noisy;
    MUST(mg_image_new(120, 1, &a));
    MUST(mg_image_new(110, 1, &b));
    MUST(mg_image_new(540, 1, &noisy));
    for (int p = 0; p < 120; p++)
        a.data[p] = level_value(p < 100 ? 7 + p : 0);
    for (int p = 0; p < 110; p++)
        b.data[p] = level_value(p < 100 ? 199 - p : 0); /* order within the image does not matter: no pairs */
    for (int p = 0; p < 540; p++)
        noisy.data[p] = level_value(p < 100 ? 60 + p : 10 + (p - 100) % 11);
    mg_profile_counts ca = {0}, cb = {0}, cn = {0}, none = {0};
    mg_profile_add(&ca, &a);
    mg_profile_add(&cb, &b);
    mg_profile_add(&cn, &noisy);
    mg_intensity_map m;
    MUST(mg_map_fit_inverse(&ca, &cb, &m));
    int bad = 0, black = 0;
    for (int k = 7; k < 107; k++)
        bad += fabsf(m.out[k] - level_value(206 - k)) > 1e-5f;
    for (int k = 0; k < 7; k++)
        black += m.out[k] == -1.0f;
    CHECK(bad == 0 && black == 7 && mg_map_background_level(&ca) == 6,
          "7..106 onto 100..199 reversed: %d levels off, %d of 7 background levels black, background level %d", bad,
          black, mg_map_background_level(&ca));
    const int t = mg_map_background_level(&cn);
    MUST(mg_map_fit_inverse(&cn, &cb, &m));
    bad = black = 0;
    for (int k = 60; k < 160; k++) /* 60 + i at quantile (i + 1/2) / 100 onto 199 - i */
        bad += fabsf(m.out[k] - level_value(259 - k)) > 1e-5f;
    for (int k = 0; k <= 20; k++)
        black += m.out[k] == -1.0f;
    CHECK(t > 20 && t < 60 && bad == 0 && black == 21,
          "noisy background: level %d (want 21..59), %d tissue levels off, %d of 21 noise levels black", t, bad, black);
    /* a dim set whose histogram falls from level 0 all the way through its tissue (levels 0..46, 120 down to 28
     * pixels each): nothing lies above the slope's foot, so the background is black alone and the tissue mapped */
    mg_image dim;
    MUST(mg_image_new(3478, 1, &dim));
    int p = 0;
    for (int k = 0; k <= 46; k++)
        for (int i = 0; i < 2 * (60 - k); i++)
            dim.data[p++] = level_value(k);
    mg_profile_counts cd = {0};
    mg_profile_add(&cd, &dim);
    CHECK(mg_map_background_level(&cd) == 6 && mg_map_fit_inverse(&cd, &cb, &m) == MG_OK && m.out[7] > m.out[46],
          "dim falling tissue: background level %d (want 6), the map %s", mg_map_background_level(&cd),
          mg_map_fit_inverse(&cd, &cb, &m) == MG_OK ? "fitted" : mg_last_error());
    mg_image_free(&dim);
    CHECK(mg_map_fit_inverse(&none, &cb, &m) == MG_ERR_ARG && mg_map_fit_inverse(&ca, &none, &m) == MG_ERR_ARG,
          "a side with nothing above the background was accepted");
    mg_image_free(&a);
    mg_image_free(&b);
    mg_image_free(&noisy);
    report(before, "inverse histogram matching: quantile to opposite quantile, the background black, a noisy one too");
}

/* Levels 7..106 once each (and background below them): the deciles are levels 16, 26, ... 96; a copy 10 levels
 * brighter is 10 levels away; background alone has no profile. */
static void test_profile(void)
{
    int before = failures;
    mg_image img, brighter;
    MUST(mg_image_new(120, 1, &img));
    MUST(mg_image_new(120, 1, &brighter));
    for (int p = 0; p < 120; p++) { /* 100 levels above the background, then 20 background pixels */
        img.data[p] = level_value(p < 100 ? 7 + p : p % 7);
        brighter.data[p] = level_value(p < 100 ? 17 + p : 0);
    }
    mg_profile_counts c = {0}, cb = {0};
    mg_profile_add(&c, &img);
    mg_profile_add(&cb, &brighter);
    mg_intensity_profile pa, pb;
    MUST(mg_profile_finish(&c, &pa));
    MUST(mg_profile_finish(&cb, &pb));
    int bad = 0;
    for (int q = 0; q < MG_PROFILE_QUANTILES; q++)
        bad += fabsf(pa.q[q] - level_value(16 + 10 * q)) > 1e-6f;
    CHECK(bad == 0 && c.total == 100, "deciles: %d off, %g pixels above the background", bad, c.total);
    CHECK(mg_profile_distance(&pa, &pa) == 0.0 && fabs(mg_profile_distance(&pa, &pb) - 10 / 127.5) < 1e-6,
          "distances %g and %g", mg_profile_distance(&pa, &pa), mg_profile_distance(&pa, &pb));
    mg_profile_counts none = {0};
    for (int p = 0; p < 120; p++)
        img.data[p] = -1.0f;
    mg_profile_add(&none, &img);
    CHECK(mg_profile_finish(&none, &pa) == MG_ERR_ARG, "a black image has a profile");
    /* the quantile function: level 7 + j covers [6.5 + j, 7.5 + j], so rank j of 100 is at level 6.5 + j */
    float q[101];
    MUST(mg_profile_quantiles(&c, 101, q));
    bad = 0;
    for (int j = 0; j <= 100; j++)
        bad += fabsf(q[j] - (float)((6.5 + j) / 127.5 - 1.0)) > 1e-6f;
    CHECK(bad == 0, "quantiles of levels 7..106: %d off", bad);
    /* two pixels, levels 10 and 20: the empty levels between are no part of the function */
    mg_profile_counts two = {0};
    two.count[10] = two.count[20] = 1;
    two.total = 2;
    MUST(mg_profile_quantiles(&two, 3, q));
    CHECK(fabsf(q[0] - (float)(9.5 / 127.5 - 1)) < 1e-6f && fabsf(q[1] - (float)(10.5 / 127.5 - 1)) < 1e-6f &&
              fabsf(q[2] - (float)(20.5 / 127.5 - 1)) < 1e-6f,
          "quantiles of levels 10 and 20: %g %g %g", q[0], q[1], q[2]);
    CHECK(mg_profile_quantiles(&none, 3, q) == MG_ERR_ARG && mg_profile_quantiles(&c, 1, q) == MG_ERR_ARG,
          "quantiles of nothing, or one quantile, accepted");
    CHECK(fabsf(mg_profile_threshold() - (float)(6.5 / 127.5 - 1)) < 1e-7f, "threshold %g", mg_profile_threshold());
    mg_image_free(&img);
    mg_image_free(&brighter);
    report(before, "intensity profiles: deciles above the background, distances, quantile functions");
}

int main(void)
{
    test_oracle();
    test_histograms();
    test_inverse();
    test_profile();
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
