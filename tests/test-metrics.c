/* Tests of the image metrics (include/mrigan/metrics.h): PSNR, SSIM and MAE against scikit-image's values in the
 * fixtures written by tools/gen-metric-fixtures.py (within 1e-3: relative for PSNR, absolute for SSIM and MAE), the
 * foreground mask rule against scipy.ndimage, masked metrics, identical images, summaries, and the error cases.
 * Usage: test-metrics FIXTURE_DIR (tests/fixtures/metrics). Prints one "ok ..." line per group; exits non-zero on
 * any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "mrigan/metrics.h"

#define TOL 1e-3

static const char *const cases[] = {"noise_31x23", "blur_64x48", "offset_40x40", "noise_11x11", "head_44x36"};
#define N_CASES ((int)(sizeof cases / sizeof *cases))

/* Largest deviation from the references seen, for the log. */
static double worst_psnr_rel, worst_ssim_abs, worst_mae_abs;

/* One fixture case: two planes of gray levels and the same as mg_images (as the PNG loader stores 8-bit values). */
typedef struct metric_case {
    int w, h;
    double *pred, *target;
    mg_image pred_img, target_img;
    uint8_t *mask; /* NULL unless the case has one */
    const float *ref, *ref_masked;
} metric_case;

static void case_free(metric_case *c)
{
    free(c->pred);
    free(c->target);
    free(c->mask);
    mg_image_free(&c->pred_img);
    mg_image_free(&c->target_img);
}

static const mgfx_tensor *need(const mgfx *f, const char *name, const char *file)
{
    const mgfx_tensor *t = mgfx_get(f, name);
    if (!t) {
        fprintf(stderr, "FAIL %s: no tensor %s\n", file, name);
        exit(1);
    }
    return t;
}

static double *plane_from(const mgfx_tensor *t)
{
    double *p = malloc(t->numel * sizeof *p);
    if (!p)
        exit(1);
    for (size_t i = 0; i < t->numel; i++)
        p[i] = t->data[i];
    return p;
}

static void image_from(const double *gray, int w, int h, mg_image *img)
{
    MUST(mg_image_new(w, h, img));
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        img->data[i] = (float)(gray[i] / 127.5 - 1.0);
}

static void check_against(const char *what, const mg_metrics *m, const float *ref)
{
    const double dp = fabs(m->psnr - ref[0]) / fabs((double)ref[0]), ds = fabs(m->ssim - ref[1]),
                 dm = fabs(m->mae - ref[2]);
    CHECK(dp <= TOL, "%s: PSNR %.6f, skimage %.6f", what, m->psnr, ref[0]);
    CHECK(ds <= TOL, "%s: SSIM %.6f, skimage %.6f", what, m->ssim, ref[1]);
    CHECK(dm <= TOL, "%s: MAE %.6f, reference %.6f", what, m->mae, ref[2]);
    worst_psnr_rel = fmax(worst_psnr_rel, dp);
    worst_ssim_abs = fmax(worst_ssim_abs, ds);
    worst_mae_abs = fmax(worst_mae_abs, dm);
}

static void test_case(const char *dir, const char *name)
{
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/%s.mgfx", dir, name);
    mgfx *f = mgfx_load(path, err, sizeof err);
    if (!f) {
        CHECK(f, "%s", err);
        return;
    }
    const int before = failures;
    const mgfx_tensor *tp = need(f, "pred", path), *tt = need(f, "target", path), *tm = mgfx_get(f, "mask");
    metric_case c = {.h = tp->shape[0], .w = tp->shape[1], .ref = need(f, "ref", path)->data};
    c.pred = plane_from(tp);
    c.target = plane_from(tt);
    image_from(c.pred, c.w, c.h, &c.pred_img);
    image_from(c.target, c.w, c.h, &c.target_img);

    /* The plane functions, one by one and together. */
    mg_metrics m;
    MUST(mg_metrics_compute_all(c.pred, c.target, c.w, c.h, NULL, &m));
    check_against(name, &m, c.ref);
    CHECK(m.n_pixels == (long)c.w * c.h && m.n_ssim == (long)(c.w - 10) * (c.h - 10), "%s: counts %ld %ld", name,
          m.n_pixels, m.n_ssim);
    double v;
    MUST(mg_metrics_compute_psnr(c.pred, c.target, c.w, c.h, NULL, &v));
    CHECK(v == m.psnr, "%s: psnr alone %.9f, together %.9f", name, v, m.psnr);
    MUST(mg_metrics_compute_ssim(c.pred, c.target, c.w, c.h, NULL, &v));
    CHECK(v == m.ssim, "%s: ssim alone %.9f, together %.9f", name, v, m.ssim);
    MUST(mg_metrics_compute_mae(c.pred, c.target, c.w, c.h, NULL, &v));
    CHECK(v == m.mae, "%s: mae alone %.9f, together %.9f", name, v, m.mae);

    /* The image function: rounding recovers the 8-bit values exactly; without it the float32 error stays tiny. */
    mg_metrics mi;
    MUST(mg_metrics_compare(&c.pred_img, &c.target_img, &(mg_metrics_options){true, true, NULL}, &mi));
    CHECK(mi.psnr == m.psnr && mi.ssim == m.ssim && mi.mae == m.mae, "%s: rounded images differ from the planes", name);
    MUST(mg_metrics_compare(&c.pred_img, &c.target_img, NULL, &mi));
    check_against(name, &mi, c.ref);

    /* Masked cases: the foreground rule against scipy, then metrics over the mask. */
    if (tm) {
        c.ref_masked = need(f, "ref_masked", path)->data;
        c.mask = malloc(tm->numel);
        if (!c.mask)
            exit(1);
        MUST(mg_metrics_make_mask(&c.target_img, true, MG_METRICS_MASK_THRESHOLD, c.mask));
        size_t differ = 0, on = 0;
        for (size_t i = 0; i < tm->numel; i++) {
            differ += c.mask[i] != (tm->data[i] != 0.0f);
            on += c.mask[i];
        }
        CHECK(differ == 0, "%s: foreground mask differs from scipy's in %zu pixels", name, differ);
        CHECK(on > 0 && on < tm->numel, "%s: mask has %zu of %zu pixels", name, on, tm->numel);
        mg_metrics mm;
        MUST(mg_metrics_compare(&c.pred_img, &c.target_img, &(mg_metrics_options){true, true, c.mask}, &mm));
        check_against(name, &mm, c.ref_masked);
        CHECK(mm.n_pixels == (long)on, "%s: masked pixel count %ld, mask %zu", name, mm.n_pixels, on);
    }
    report(before, name);
    case_free(&c);
    mgfx_free(f);
}

/* A smooth test pattern of gray levels. */
static void pattern(double *p, int w, int h, double phase)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            p[y * w + x] = 127.5 + 100.0 * sin(0.3 * x + phase) * cos(0.2 * y);
}

static void test_identical(void)
{
    const int before = failures, w = 23, h = 17;
    double a[23 * 17];
    pattern(a, w, h, 0.0);
    mg_metrics m;
    MUST(mg_metrics_compute_all(a, a, w, h, NULL, &m));
    CHECK(isinf(m.psnr) && m.psnr > 0, "PSNR of identical images %f", m.psnr);
    CHECK(fabs(m.ssim - 1.0) < 1e-12, "SSIM of identical images %.15f", m.ssim);
    CHECK(m.mae == 0.0, "MAE of identical images %f", m.mae);
    double b[23 * 17];
    for (int i = 0; i < w * h; i++)
        b[i] = a[i] + 3.0;
    MUST(mg_metrics_compute_all(b, a, w, h, NULL, &m));
    CHECK(fabs(m.psnr - 20.0 * log10(255.0 / 3.0)) < 1e-9, "PSNR of a constant offset of 3: %f", m.psnr);
    CHECK(fabs(m.mae - 3.0) < 1e-12, "MAE of a constant offset of 3: %f", m.mae);
    CHECK(m.ssim < 1.0 && m.ssim > 0.99, "SSIM of a constant offset of 3: %f", m.ssim);
    mg_metrics r;
    MUST(mg_metrics_compute_all(a, b, w, h, NULL, &r));
    CHECK(fabs(r.ssim - m.ssim) < 1e-15 && r.psnr == m.psnr, "metrics are not symmetric");
    report(before, "identical images: PSNR inf, SSIM 1, MAE 0; constant offset");
}

static void test_masked(void)
{
    const int before = failures, w = 40, h = 32;
    double a[40 * 32], b[40 * 32], c[40 * 32];
    uint8_t mask[40 * 32] = {0};
    pattern(a, w, h, 0.0);
    pattern(b, w, h, 0.4);
    for (int y = 8; y < 20; y++) /* a 12x12 square */
        for (int x = 10; x < 22; x++)
            mask[y * w + x] = 1;
    /* c: b with every pixel outside the mask changed; pixels more than 5 from the mask (outside every SSIM window
     * centred on it) changed wildly, the others slightly. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const int i = y * w + x, far = x < 10 - 5 || x >= 22 + 5 || y < 8 - 5 || y >= 20 + 5;
            c[i] = mask[i] ? b[i] : far ? 255.0 - b[i] : b[i];
        }
    mg_metrics mb, mc;
    MUST(mg_metrics_compute_all(b, a, w, h, mask, &mb));
    MUST(mg_metrics_compute_all(c, a, w, h, mask, &mc));
    CHECK(mb.psnr == mc.psnr && mb.mae == mc.mae && mb.ssim == mc.ssim, "masked metrics see pixels outside the mask");
    CHECK(mb.n_pixels == 144 && mb.n_ssim == 144, "masked counts %ld %ld", mb.n_pixels, mb.n_ssim);
    /* Any change outside the mask leaves PSNR and MAE alone. */
    for (int i = 0; i < w * h; i++)
        c[i] = mask[i] ? b[i] : 0.0;
    MUST(mg_metrics_compute_all(c, a, w, h, mask, &mc));
    CHECK(mb.psnr == mc.psnr && mb.mae == mc.mae, "masked PSNR/MAE see pixels outside the mask");
    /* Differences only outside the mask: a perfect score inside. */
    for (int i = 0; i < w * h; i++)
        c[i] = mask[i] ? a[i] : 0.0;
    MUST(mg_metrics_compute_all(c, a, w, h, mask, &mc));
    CHECK(isinf(mc.psnr) && mc.mae == 0.0, "masked identical: PSNR %f MAE %f", mc.psnr, mc.mae);
    /* SSIM averages only the valid region: a mask on the 5-pixel border leaves SSIM nothing. */
    memset(mask, 0, sizeof mask);
    for (int x = 0; x < w; x++)
        mask[x] = 1;
    double v;
    CHECK(mg_metrics_compute_psnr(b, a, w, h, mask, &v) == MG_OK, "PSNR on a border-only mask");
    CHECK(mg_metrics_compute_ssim(b, a, w, h, mask, &v) == MG_ERR_ARG, "SSIM on a border-only mask");
    CHECK(strstr(mg_last_error(), "mask"), "message: %s", mg_last_error());
    memset(mask, 0, sizeof mask);
    CHECK(mg_metrics_compute_all(b, a, w, h, mask, &mc) == MG_ERR_ARG, "empty mask accepted");
    CHECK(mg_metrics_compute_mae(b, a, w, h, mask, &v) == MG_ERR_ARG, "empty mask accepted by MAE");
    report(before, "masked metrics ignore pixels outside the mask");
}

static void test_mask_rule(void)
{
    const int before = failures, w = 16, h = 12;
    mg_image t;
    MUST(mg_image_new(w, h, &t));
    for (int i = 0; i < w * h; i++)
        t.data[i] = -1.0f;      /* gray 0 */
    for (int y = 3; y < 9; y++) /* a ring of 50 around a hole of 0 */
        for (int x = 4; x < 12; x++)
            t.data[y * w + x] = (y == 3 || y == 8 || x == 4 || x == 11) ? (float)(50 / 127.5 - 1) : -1.0f;
    t.data[0] = (float)(5 / 127.5 - 1); /* exactly the threshold: background when rounded */
    uint8_t mask[16 * 12];
    MUST(mg_metrics_make_mask(&t, true, MG_METRICS_MASK_THRESHOLD, mask));
    int n = 0;
    for (int i = 0; i < w * h; i++)
        n += mask[i];
    CHECK(n == 10 * 8, "ring 8x6, filled and dilated to 10x8: %d pixels", n);
    CHECK(mask[2 * w + 3] && mask[9 * w + 12] && !mask[1 * w + 2] && !mask[0], "mask corners");
    CHECK(mg_metrics_make_mask(&t, true, NAN, mask) == MG_ERR_ARG, "NaN threshold accepted");
    mg_image_free(&t);
    report(before, "foreground mask rule: threshold, filled holes, 3x3 dilation");
}

static void test_errors(void)
{
    const int before = failures;
    mg_image a = {0}, b = {0};
    mg_metrics m;
    MUST(mg_image_new(31, 23, &a));
    MUST(mg_image_new(23, 31, &b));
    CHECK(mg_metrics_compare(&a, &b, NULL, &m) == MG_ERR_ARG, "size mismatch accepted");
    CHECK(strstr(mg_last_error(), "31x23") && strstr(mg_last_error(), "23x31"), "message: %s", mg_last_error());
    mg_image_free(&b);
    MUST(mg_image_new(10, 40, &b));
    CHECK(mg_metrics_compare(&b, &b, NULL, &m) == MG_ERR_ARG, "10x40 accepted for SSIM");
    CHECK(strstr(mg_last_error(), "10x40") && strstr(mg_last_error(), "11x11"), "message: %s", mg_last_error());
    double plane[10 * 40] = {0}, v;
    CHECK(mg_metrics_compute_ssim(plane, plane, 10, 40, NULL, &v) == MG_ERR_ARG, "10x40 plane accepted for SSIM");
    CHECK(mg_metrics_compute_psnr(plane, plane, 10, 40, NULL, &v) == MG_OK && isinf(v), "PSNR on 10x40");
    CHECK(mg_metrics_compute_psnr(NULL, plane, 10, 40, NULL, &v) == MG_ERR_ARG, "NULL accepted");
    a.data[7 * 31 + 5] = NAN;
    mg_image c;
    MUST(mg_image_new(31, 23, &c));
    CHECK(mg_metrics_compare(&a, &c, NULL, &m) == MG_ERR_ARG, "NaN accepted");
    CHECK(strstr(mg_last_error(), "(5, 7)") && strstr(mg_last_error(), "prediction"), "message: %s", mg_last_error());
    double gray[31 * 23];
    a.data[7 * 31 + 5] = 1.0f;
    a.data[0] = 0.999f;
    MUST(mg_metrics_to_gray(&a, true, gray));
    CHECK(gray[7 * 31 + 5] == 255.0 && gray[1] == 128.0 && gray[0] == 255.0, "rounded gray %f %f %f", gray[7 * 31 + 5],
          gray[1], gray[0]);
    MUST(mg_metrics_to_gray(&a, false, gray));
    CHECK(gray[1] == 127.5 && fabs(gray[0] - 254.8725) < 1e-4, "unrounded gray %f %f", gray[1], gray[0]);
    mg_image_free(&a);
    mg_image_free(&b);
    mg_image_free(&c);
    report(before, "errors: size mismatch, smaller than 11x11, NaN, NULL; gray conversion");
}

static void test_summary(void)
{
    const int before = failures;
    mg_metrics items[4] = {
        {.psnr = 30.0, .ssim = 0.9, .mae = 2.0},
        {.psnr = INFINITY, .ssim = 1.0, .mae = 0.0},
        {.psnr = 34.0, .ssim = 0.7, .mae = 4.0},
        {.psnr = 32.0, .ssim = 0.8, .mae = 6.0},
    };
    mg_metrics_summary s;
    mg_metrics_compute_summary(items, 4, &s);
    CHECK(s.n == 4 && s.n_psnr_inf == 1, "n %d inf %d", s.n, s.n_psnr_inf);
    CHECK(fabs(s.psnr_mean - 32.0) < 1e-12 && fabs(s.psnr_sd - 2.0) < 1e-12, "psnr %f %f", s.psnr_mean, s.psnr_sd);
    CHECK(fabs(s.ssim_mean - 0.85) < 1e-12 && fabs(s.ssim_sd - sqrt(0.05 / 3)) < 1e-12, "ssim %f %f", s.ssim_mean,
          s.ssim_sd);
    CHECK(fabs(s.mae_mean - 3.0) < 1e-12 && fabs(s.mae_sd - sqrt(20.0 / 3)) < 1e-12, "mae %f %f", s.mae_mean, s.mae_sd);
    mg_metrics_compute_summary(items + 1, 1, &s);
    CHECK(s.n == 1 && s.n_psnr_inf == 1 && isinf(s.psnr_mean) && s.psnr_sd == 0.0 && s.ssim_sd == 0.0,
          "single identical pair");
    mg_metrics_compute_summary(NULL, 0, &s);
    CHECK(s.n == 0 && isnan(s.psnr_mean) && isnan(s.ssim_sd), "empty summary");
    report(before, "summaries: mean, sample sd, infinite PSNR left out");
}

/* The texture energies on patterns whose Laplacian is known exactly: a ramp has none (its Laplacian is 0 inside),
 * a one-pixel checkerboard of amplitude a has (8 a)^2 at every interior pixel; only interior pixels of the mask
 * count; over a set, the summary's texture is the pooled ratio. */
static void test_texture(void)
{
    const int before = failures, w = 20, h = 14;
    double ramp[20 * 14], fine[20 * 14], coarse[20 * 14];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const double sign = (x + y) % 2 ? -1.0 : 1.0;
            ramp[y * w + x] = 60.0 + 3.0 * x + 2.0 * y;
            fine[y * w + x] = ramp[y * w + x] + sign;         /* checkerboard of amplitude 1: 64 per pixel */
            coarse[y * w + x] = ramp[y * w + x] + 2.0 * sign; /* amplitude 2: 256 */
        }
    mg_metrics m;
    MUST(mg_metrics_compute_all(coarse, fine, w, h, NULL, &m));
    CHECK(m.hf_pred == 256.0 && m.hf_target == 64.0, "checkerboards: hf %g over %g, want 256 over 64", m.hf_pred,
          m.hf_target);
    MUST(mg_metrics_compute_all(ramp, fine, w, h, NULL, &m));
    CHECK(m.hf_pred == 0.0 && m.hf_target == 64.0, "ramp: hf %g, want 0", m.hf_pred);
    uint8_t mask[20 * 14] = {0};
    mask[0] = 1;         /* a corner: no four neighbours, not counted */
    mask[5 * w + 7] = 1; /* an interior pixel of the checkerboard */
    double spike[20 * 14];
    memcpy(spike, fine, sizeof spike);
    spike[0] += 100.0;        /* outside what counts */
    spike[9 * w + 9] += 50.0; /* outside the mask */
    MUST(mg_metrics_compute_all(spike, fine, w, h, mask, &m));
    CHECK(m.hf_pred == 64.0 && m.hf_target == 64.0, "masked: hf %g / %g, want 64 / 64", m.hf_pred, m.hf_target);
    mg_metrics items[3] = {{.hf_pred = 256.0, .hf_target = 64.0},
                           {.hf_pred = 0.0, .hf_target = 64.0},
                           {.hf_pred = 64.0, .hf_target = 0.0}};
    mg_metrics_summary s;
    mg_metrics_compute_summary(items, 3, &s);
    CHECK(s.texture == 2.5, "pooled texture %g, want 320 / 128 = 2.5", s.texture);
    mg_metrics_compute_summary(items + 2, 1, &s);
    CHECK(isnan(s.texture), "texture without texture in the targets: %g, want NaN", s.texture);
    report(before, "texture: squared Laplacians of known patterns, interior mask pixels, pooled ratio");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    for (int i = 0; i < N_CASES; i++)
        test_case(argv[1], cases[i]);
    printf("     largest deviation from scikit-image: PSNR %.2e relative, SSIM %.2e, MAE %.2e\n", worst_psnr_rel,
           worst_ssim_abs, worst_mae_abs);
    test_identical();
    test_masked();
    test_mask_rule();
    test_errors();
    test_summary();
    test_texture();
    printf("%d failure%s\n", failures, failures == 1 ? "" : "s");
    return failures != 0;
}
