/* How a model translates, beyond its generators' forward pass: the flip average, the guided filter and the flat
 * background, each against what it is defined to be. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrigan/blas.h"
#include "mrigan/cyclegan.h"
#include "mrigan/image.h"

#include "check.h"
#include "model-util.h"

static void mirror(const float *x, float *out)
{
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++)
            out[i * S + j] = x[i * S + (S - 1 - j)];
}

/* With flip_average a translation is the mean of the generator's outputs for the slice and for its mirror, mirrored
 * back; so the mirror of a slice translates to the mirror of its translation, bit for bit (a + b is b + a), which
 * a generator alone does not do. */
static void test_flip_average(mg_backend *be)
{
    int before = failures;
    static float x[S * S], xm[S * S], y[S * S], ym[S * S], back[S * S], avg[S * S];
    fill(x, S * S, 11);
    mirror(x, xm);
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.upsample = MG_UPSAMPLE_RESIZE;
    mg_cyclegan m;
    MUST(mg_cyclegan_new(be, &cfg, 13, &m));
    for (int d = 0; d < 2; d++) {
        mg_cyclegan_set_flip_average(&m, false);
        MUST(mg_cyclegan_translate(&m, d, x, S, S, y));
        MUST(mg_cyclegan_translate(&m, d, xm, S, S, ym));
        mirror(ym, back);
        float most = 0.0f;
        for (int i = 0; i < S * S; i++) {
            most = fmaxf(most, fabsf(y[i] - back[i]));
            avg[i] = 0.5f * (y[i] + back[i]);
        }
        CHECK(most > 1e-3f, "direction %d: one pass already mirrors exactly (largest difference %g)", d, most);
        mg_cyclegan_set_flip_average(&m, true);
        MUST(mg_cyclegan_translate(&m, d, x, S, S, y));
        CHECK(!memcmp(y, avg, sizeof y), "direction %d: the flip average is not the mean of the two passes", d);
        MUST(mg_cyclegan_translate(&m, d, xm, S, S, ym));
        mirror(ym, back);
        CHECK(!memcmp(y, back, sizeof y), "direction %d: the mirror's flip average is not the mirrored one", d);
    }
    mg_cyclegan_free(&m);
    report(before, "the flip average is the mean of both passes, and mirrors exactly");
}

/* With guide_radius a translation is the flip average refit by the guided filter with the input as its guide, bit for
 * bit as mg_image_guided_filter makes it of the translation without. */
static void test_guided_translation(mg_backend *be)
{
    int before = failures;
    static float x[S * S], plain[S * S], y[S * S], want[S * S];
    fill(x, S * S, 12);
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.upsample = MG_UPSAMPLE_RESIZE;
    cfg.flip_average = true;
    mg_cyclegan m;
    MUST(mg_cyclegan_new(be, &cfg, 14, &m));
    for (int d = 0; d < 2; d++) {
        mg_cyclegan_set_guide(&m, 0, 0.05f);
        MUST(mg_cyclegan_translate(&m, d, x, S, S, plain));
        mg_cyclegan_set_guide(&m, 2, 0.05f);
        MUST(mg_cyclegan_translate(&m, d, x, S, S, y));
        MUST(mg_image_guided_filter(x, plain, S, S, 2, 0.05f * 0.05f, want));
        CHECK(!memcmp(y, want, sizeof y), "direction %d: not the guided filter of the flip average", d);
        float most = 0.0f;
        for (int i = 0; i < S * S; i++)
            most = fmaxf(most, fabsf(y[i] - plain[i]));
        CHECK(most > 1e-3f, "direction %d: the filter changed nothing (largest difference %g)", d, most);
    }
    mg_cyclegan_free(&m);
    report(before, "the guided translation is the guided filter of the flip average, by the input");
}

/* With background flat a translation is the guided one with the input's air made flat (mg_image_flatten_background):
 * at the target domain's air level when the model knows it (A->B takes B's), else at the translation's own mean. */
static void test_flat_background(mg_backend *be)
{
    int before = failures;
    static float x[S * S], kept[S * S], y[S * S], want[S * S];
    fill(x, S * S, 15);
    for (int i = 0; i < S; i++) /* dark rows along the top and bottom: air that reaches the border */
        for (int j = 0; j < S; j++)
            x[i * S + j] = i < 3 || i >= S - 3 ? -1.0f : x[i * S + j];
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.upsample = MG_UPSAMPLE_RESIZE;
    cfg.flip_average = true;
    cfg.guide_radius = 1;
    cfg.guide_eps = MG_GUIDE_EPS_DEFAULT;
    mg_cyclegan m;
    MUST(mg_cyclegan_new(be, &cfg, 16, &m));
    for (int d = 0; d < 2; d++)
        for (int known = 0; known < 2; known++) {
            m.cfg.has_air = known;
            m.cfg.air[0] = -0.9f;
            m.cfg.air[1] = -0.8f;
            mg_cyclegan_set_background(&m, MG_BACKGROUND_KEEP);
            MUST(mg_cyclegan_translate(&m, d, x, S, S, kept));
            mg_cyclegan_set_background(&m, MG_BACKGROUND_FLAT);
            MUST(mg_cyclegan_translate(&m, d, x, S, S, y));
            memcpy(want, kept, sizeof want);
            MUST(mg_image_flatten_background(x, S, S, MG_BACKGROUND_RADIUS, known ? (d ? -0.9f : -0.8f) : NAN, want));
            CHECK(!memcmp(y, want, sizeof y), "direction %d, air %s: not the flat background of the guided translation",
                  d, known ? "known" : "unknown");
            CHECK(known ? y[0] == (d ? -0.9f : -0.8f) : y[0] != kept[0],
                  "direction %d: the corner %g (kept %g) is not the air level", d, y[0], kept[0]);
        }
    mg_cyclegan_free(&m);
    report(before, "the flat background is the air of the guided translation, at the target's level or its own mean");
}

int main(int argc, char **argv)
{
    (void)argc;
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    mg_backend *be;
    MUST(mg_backend_cpu_new(0, &be));
    test_flip_average(be);
    test_guided_translation(be);
    test_flat_background(be);
    mg_backend_free(be);
    return failures ? 1 : 0;
}
