/* How a model translates, beyond its generators' forward pass: the flip average and the guided filter, each against
 * what it is defined to be. */
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

int main(int argc, char **argv)
{
    (void)argc;
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    mg_backend *be;
    MUST(mg_backend_cpu_new(0, &be));
    test_flip_average(be);
    test_guided_translation(be);
    mg_backend_free(be);
    return failures ? 1 : 0;
}
