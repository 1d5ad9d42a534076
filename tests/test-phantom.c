/* The synthetic T1/T2 phantom: configuration checks, determinism, independence of subject k from the count,
 * the size and the noise, tissue contrast in both weightings (spin-echo ordering on noise-free renders), the
 * label maps, the value range, and mg_phantom_write's folders, PNGs (8- and 16-bit round trips) and
 * description file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mrigan/image.h"
#include "mrigan/phantom.h"

#include "check.h"

static mg_phantom_config config(int size, uint64_t seed, float noise, float bias)
{
    mg_phantom_config c;
    mg_phantom_config_default(&c);
    c.size = size, c.seed = seed, c.noise = noise, c.bias = bias;
    return c;
}

static bool same_image(const mg_image *a, const mg_image *b)
{
    return a->width == b->width && a->height == b->height &&
           !memcmp(a->data, b->data, (size_t)a->width * (size_t)a->height * sizeof *a->data);
}

static double frac_differing(const mg_image *a, const mg_image *b)
{
    size_t n = (size_t)a->width * (size_t)a->height, d = 0;
    for (size_t i = 0; i < n; i++)
        d += a->data[i] != b->data[i];
    return (double)d / (double)n;
}

static void test_config(void)
{
    int before = failures;
    mg_phantom_config c;
    mg_phantom_config_default(&c);
    CHECK(c.size == 128 && c.seed == 1 && c.noise > 0.0f && c.bias > 0.0f, "defaults %d %g %g", c.size, (double)c.noise,
          (double)c.bias);
    CHECK(mg_phantom_check_config(&c) == MG_OK, "%s", mg_last_error());
    const int bad_sizes[] = {0, 28, 130, 2048};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        c = config(bad_sizes[i], 1, 0.0f, 0.0f);
        CHECK(mg_phantom_check_config(&c) == MG_ERR_ARG, "size %d accepted", bad_sizes[i]);
        CHECK(strstr(mg_last_error(), "multiple of 4 from 32 to 1024") != NULL, "message '%s'", mg_last_error());
    }
    c = config(64, 1, -0.1f, 0.0f);
    CHECK(mg_phantom_check_config(&c) == MG_ERR_ARG, "negative noise accepted");
    c = config(64, 1, NAN, 0.0f);
    CHECK(mg_phantom_check_config(&c) == MG_ERR_ARG, "NaN noise accepted");
    c = config(64, 1, 0.0f, 2.0f);
    CHECK(mg_phantom_check_config(&c) == MG_ERR_ARG && strstr(mg_last_error(), "bias"), "bias 2 accepted");
    c = config(64, 1, 0.0f, 0.0f);
    mg_image t1 = {0};
    CHECK(mg_phantom_render(&c, -1, &t1, NULL, NULL) == MG_ERR_ARG && t1.data == NULL, "index -1 accepted");
    report(before, "configuration checks and their messages");
}

static void test_signal(void)
{
    int before = failures;
    float s1[MG_TISSUE_COUNT], s2[MG_TISSUE_COUNT];
    for (int t = 0; t < MG_TISSUE_COUNT; t++) {
        s1[t] = mg_phantom_signal(t, MG_T1W), s2[t] = mg_phantom_signal(t, MG_T2W);
        CHECK(mg_phantom_tissue(t) && mg_phantom_tissue(t)->name, "tissue %d has no parameters", t);
    }
    CHECK(mg_phantom_tissue(MG_TISSUE_COUNT) == NULL && mg_phantom_signal(MG_TISSUE_COUNT, MG_T1W) == 0.0f, "range");
    /* S = PD (1 - exp(-TR/T1)) exp(-TE/T2) with TR/TE 500/15 ms (T1w) and 4000/100 ms (T2w) */
    for (int t = 1; t < MG_TISSUE_COUNT; t++) {
        const mg_tissue_params *p = mg_phantom_tissue(t);
        double e1 = p->pd * (1.0 - exp(-500.0 / p->t1_ms)) * exp(-15.0 / p->t2_ms);
        double e2 = p->pd * (1.0 - exp(-4000.0 / p->t1_ms)) * exp(-100.0 / p->t2_ms);
        CHECK(fabs(s1[t] - e1) < 1e-6 && fabs(s2[t] - e2) < 1e-6, "%s: %g %g, expected %g %g", p->name, (double)s1[t],
              (double)s2[t], e1, e2);
    }
    const mg_tissue_params *wm = mg_phantom_tissue(MG_TISSUE_WM), *gm = mg_phantom_tissue(MG_TISSUE_GM);
    CHECK(wm->t1_ms >= 600 && wm->t1_ms <= 800 && gm->t1_ms >= 1000 && gm->t1_ms <= 1100 && wm->t2_ms < gm->t2_ms,
          "1.5 T relaxation times out of the literature ranges");
    CHECK(s1[MG_TISSUE_AIR] == 0.0f && s2[MG_TISSUE_AIR] == 0.0f, "air gives signal");
    CHECK(s1[MG_TISSUE_FAT] > s1[MG_TISSUE_WM] && s1[MG_TISSUE_WM] > s1[MG_TISSUE_DEEP_GM] &&
              s1[MG_TISSUE_DEEP_GM] > s1[MG_TISSUE_GM] && s1[MG_TISSUE_GM] > s1[MG_TISSUE_CSF] &&
              s1[MG_TISSUE_CSF] > s1[MG_TISSUE_BONE],
          "T1w order fat > wm > deep > gm > csf > bone");
    CHECK(s2[MG_TISSUE_CSF] > s2[MG_TISSUE_GM] && s2[MG_TISSUE_GM] > s2[MG_TISSUE_FAT] &&
              s2[MG_TISSUE_FAT] > s2[MG_TISSUE_DEEP_GM] && s2[MG_TISSUE_DEEP_GM] > s2[MG_TISSUE_WM] &&
              s2[MG_TISSUE_WM] > s2[MG_TISSUE_BONE],
          "T2w order csf > gm > fat > deep > wm > bone");
    report(before, "spin-echo signal per tissue");
}

static void test_determinism(void)
{
    int before = failures;
    mg_phantom_config c = config(96, 7, 0.02f, 0.1f), c2 = config(96, 8, 0.02f, 0.1f);
    mg_image a1, a2, b1, b2, d1, d2, e1, e2;
    MUST(mg_phantom_render(&c, 3, &a1, &a2, NULL));
    MUST(mg_phantom_render(&c, 3, &b1, &b2, NULL));
    MUST(mg_phantom_render(&c2, 3, &d1, &d2, NULL));
    MUST(mg_phantom_render(&c, 4, &e1, &e2, NULL));
    CHECK(a1.width == 96 && a1.height == 96 && a2.width == 96 && a2.height == 96, "size %dx%d", a1.width, a1.height);
    CHECK(same_image(&a1, &b1) && same_image(&a2, &b2), "same seed and index, different pixels");
    CHECK(frac_differing(&a1, &d1) > 0.3 && frac_differing(&a2, &d2) > 0.3, "seeds 7 and 8 agree on %.0f%% of pixels",
          100.0 * (1.0 - frac_differing(&a1, &d1)));
    CHECK(frac_differing(&a1, &e1) > 0.3, "subjects 3 and 4 agree on %.0f%% of pixels",
          100.0 * (1.0 - frac_differing(&a1, &e1)));
    /* one contrast alone is the same image as when both are rendered */
    mg_image only1, only2;
    MUST(mg_phantom_render(&c, 3, &only1, NULL, NULL));
    MUST(mg_phantom_render(&c, 3, NULL, &only2, NULL));
    CHECK(same_image(&a1, &only1) && same_image(&a2, &only2), "a contrast depends on whether the other is rendered");
    mg_image *all[] = {&a1, &a2, &b1, &b2, &d1, &d2, &e1, &e2, &only1, &only2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mg_image_free(all[i]);
    report(before, "deterministic per (seed, index); seeds and subjects differ");
}

typedef struct tissue_stats {
    double mean1[MG_TISSUE_COUNT], mean2[MG_TISSUE_COUNT];
    double frac[MG_TISSUE_COUNT];
    double corr; /* T1 against T2 over CSF, grey and white matter */
} tissue_stats;

static void stats_of(const mg_image *t1, const mg_image *t2, const uint8_t *lab, tissue_stats *st)
{
    size_t n = (size_t)t1->width * (size_t)t1->height, cnt[MG_TISSUE_COUNT] = {0}, nb = 0;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    memset(st, 0, sizeof *st);
    for (size_t i = 0; i < n; i++) {
        int t = lab[i];
        cnt[t]++;
        st->mean1[t] += t1->data[i];
        st->mean2[t] += t2->data[i];
        if (t == MG_TISSUE_CSF || t == MG_TISSUE_GM || t == MG_TISSUE_WM || t == MG_TISSUE_DEEP_GM) {
            double x = t1->data[i], y = t2->data[i];
            nb++, sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
        }
    }
    for (int t = 0; t < MG_TISSUE_COUNT; t++) {
        st->frac[t] = (double)cnt[t] / (double)n;
        st->mean1[t] = cnt[t] ? st->mean1[t] / (double)cnt[t] : NAN;
        st->mean2[t] = cnt[t] ? st->mean2[t] / (double)cnt[t] : NAN;
    }
    double cov = sxy / nb - sx / nb * sy / nb, vx = sxx / nb - sx / nb * sx / nb, vy = syy / nb - sy / nb * sy / nb;
    st->corr = cov / sqrt(vx * vy);
}

static void test_contrast(void)
{
    int before = failures;
    const int size = 128, n = size * size;
    mg_phantom_config c = config(size, 1, 0.0f, 0.0f);
    uint8_t *lab1 = malloc((size_t)n), *lab2 = malloc((size_t)n);
    if (!lab1 || !lab2)
        exit(1);
    bool saw_deep = false, saw_no_deep = false;
    for (int k = 0; k < 12; k++) {
        mg_image t1, t2, unused;
        MUST(mg_phantom_render(&c, k, &t1, NULL, lab1));
        MUST(mg_phantom_render(&c, k, NULL, &t2, lab2));
        CHECK(!memcmp(lab1, lab2, (size_t)n), "subject %d: T1 and T2 label maps differ", k);
        tissue_stats st;
        stats_of(&t1, &t2, lab1, &st);
        const double *m1 = st.mean1, *m2 = st.mean2;
        CHECK(m1[MG_TISSUE_WM] > m1[MG_TISSUE_GM] + 0.05 && m1[MG_TISSUE_GM] > m1[MG_TISSUE_CSF] + 0.1,
              "subject %d T1w: wm %.3f gm %.3f csf %.3f", k, m1[MG_TISSUE_WM], m1[MG_TISSUE_GM], m1[MG_TISSUE_CSF]);
        CHECK(m2[MG_TISSUE_CSF] > m2[MG_TISSUE_GM] + 0.1 && m2[MG_TISSUE_GM] > m2[MG_TISSUE_WM] + 0.05,
              "subject %d T2w: csf %.3f gm %.3f wm %.3f", k, m2[MG_TISSUE_CSF], m2[MG_TISSUE_GM], m2[MG_TISSUE_WM]);
        CHECK(m1[MG_TISSUE_BONE] < m1[MG_TISSUE_FAT] - 0.5 && m2[MG_TISSUE_BONE] < m2[MG_TISSUE_FAT] - 0.2,
              "subject %d: skull %.3f/%.3f not darker than scalp fat %.3f/%.3f", k, m1[MG_TISSUE_BONE],
              m2[MG_TISSUE_BONE], m1[MG_TISSUE_FAT], m2[MG_TISSUE_FAT]);
        CHECK(m1[MG_TISSUE_FAT] > m1[MG_TISSUE_WM], "subject %d: T1w fat %.3f below wm %.3f", k, m1[MG_TISSUE_FAT],
              m1[MG_TISSUE_WM]);
        CHECK(m1[MG_TISSUE_AIR] < -0.99 && m2[MG_TISSUE_AIR] < -0.99, "subject %d: noise-free air %.3f %.3f", k,
              m1[MG_TISSUE_AIR], m2[MG_TISSUE_AIR]);
        CHECK(st.corr < -0.3, "subject %d: T1/T2 correlation over the brain %.3f", k, st.corr);
        CHECK(st.frac[MG_TISSUE_WM] > 0.08 && st.frac[MG_TISSUE_GM] > 0.05 && st.frac[MG_TISSUE_CSF] > 0.02 &&
                  st.frac[MG_TISSUE_FAT] > 0.02 && st.frac[MG_TISSUE_BONE] > 0.02 && st.frac[MG_TISSUE_AIR] > 0.1,
              "subject %d: tissue fractions wm %.3f gm %.3f csf %.3f fat %.3f bone %.3f air %.3f", k,
              st.frac[MG_TISSUE_WM], st.frac[MG_TISSUE_GM], st.frac[MG_TISSUE_CSF], st.frac[MG_TISSUE_FAT],
              st.frac[MG_TISSUE_BONE], st.frac[MG_TISSUE_AIR]);
        *(st.frac[MG_TISSUE_DEEP_GM] > 0.0 ? &saw_deep : &saw_no_deep) = true;
        /* the head lies inside the image: the outermost two rings of pixels are air */
        int edge = 0;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                if ((x < 2 || y < 2 || x >= size - 2 || y >= size - 2) && lab1[y * size + x] != MG_TISSUE_AIR)
                    edge++;
        CHECK(edge == 0, "subject %d: %d head pixels on the image border", k, edge);
        /* the anatomy does not depend on the noise or the bias field */
        mg_phantom_config noisy = config(size, 1, 0.1f, 0.5f);
        MUST(mg_phantom_render(&noisy, k, &unused, NULL, lab2));
        CHECK(!memcmp(lab1, lab2, (size_t)n), "subject %d: labels change with noise or bias", k);
        mg_image_free(&unused);
        mg_image_free(&t1);
        mg_image_free(&t2);
    }
    CHECK(saw_deep && saw_no_deep, "slice levels do not vary: deep grey nuclei in %s subject",
          saw_deep ? "every" : "no");
    free(lab1);
    free(lab2);
    report(before, "contrast: T1w wm > gm > csf, T2w csf > gm > wm, skull < fat; labels shared by T1 and T2");
}

/* Subject k at two sizes has the same tissue fractions (the anatomy is continuous, not drawn per pixel). */
static void test_size_independence(void)
{
    int before = failures;
    double frac[2][MG_TISSUE_COUNT] = {{0}};
    const int sizes[2] = {64, 192};
    for (int j = 0; j < 2; j++) {
        int n = sizes[j] * sizes[j];
        uint8_t *lab = malloc((size_t)n);
        if (!lab)
            exit(1);
        mg_phantom_config c = config(sizes[j], 5, 0.0f, 0.0f);
        MUST(mg_phantom_render(&c, 2, NULL, NULL, lab));
        for (int i = 0; i < n; i++)
            frac[j][lab[i]] += 1.0 / n;
        free(lab);
    }
    for (int t = 0; t < MG_TISSUE_COUNT; t++)
        CHECK(fabs(frac[0][t] - frac[1][t]) < 0.02 + 0.1 * frac[1][t], "tissue %d: %.3f at 64, %.3f at 192", t,
              frac[0][t], frac[1][t]);
    report(before, "the anatomy is the same at every image size");
}

/* width x height images: the same head as in a square image of the shorter side, centred in the longer one (the
 * label map of 180x216 is the 180x180 one with 18 rows of background above and below; the two compute their
 * coordinates in different ways, so a pixel on a tissue boundary may fall the other way: 0.5% of them are
 * allowed to); both sides or neither. */
static void test_rectangle(void)
{
    int before = failures;
    mg_phantom_config sq = config(180, 5, 0.0f, 0.0f), re = sq;
    re.width = 180;
    re.height = 216;
    uint8_t *a = malloc(180 * 180), *b = malloc(180 * 216);
    mg_image t1 = {0};
    if (!a || !b)
        exit(1);
    MUST(mg_phantom_render(&sq, 3, NULL, NULL, a));
    MUST(mg_phantom_render(&re, 3, &t1, NULL, b));
    int differ = 0, outside = 0;
    for (int y = 0; y < 216; y++)
        for (int x = 0; x < 180; x++) {
            const uint8_t got = b[y * 180 + x];
            if (y < 18 || y >= 198)
                outside += got != b[0];
            else
                differ += got != a[(y - 18) * 180 + x];
        }
    CHECK(t1.width == 180 && t1.height == 216 && differ <= 180 * 180 / 200 && outside == 0,
          "180x216: %dx%d, %d labels off the square image's, %d non-background pixels in the margins", t1.width,
          t1.height, differ, outside);
    mg_image_free(&t1);
    re.height = 0;
    CHECK(mg_phantom_check_config(&re) == MG_ERR_ARG, "a width without a height");
    free(a);
    free(b);
    report(before, "width x height images: the square image's head, centred, with square pixels");
}

static void test_range_and_noise(void)
{
    int before = failures;
    const int size = 64, n = size * size;
    const float noises[] = {0.0f, 0.02f, 0.5f};
    for (size_t j = 0; j < sizeof noises / sizeof *noises; j++) {
        mg_phantom_config c = config(size, 3, noises[j], 1.0f);
        mg_image t1, t2;
        MUST(mg_phantom_render(&c, 1, &t1, &t2, NULL));
        int bad = 0, white = 0;
        double air = 0.0;
        for (int i = 0; i < n; i++) {
            for (int w = 0; w < 2; w++) {
                float v = (w ? t2 : t1).data[i];
                bad += !(v >= -1.0f && v <= 1.0f);
                white += v == 1.0f;
            }
            int x = i % size, y = i / size; /* the corners are air, away from partial-volume edges */
            if ((x < 6 || x >= size - 6) && (y < 6 || y >= size - 6))
                air = fmax(air, t1.data[i] + 1.0);
        }
        CHECK(bad == 0, "noise %g: %d values outside [-1, 1] or NaN", (double)noises[j], bad);
        /* 99.5th percentile scaling: about 0.5% of each image saturates */
        CHECK(white >= 2 && white <= 2 * n / 50, "noise %g: %d saturated values", (double)noises[j], white);
        CHECK(noises[j] > 0.0f ? air > 0.0 : air == 0.0, "noise %g: background reaches %g above black",
              (double)noises[j], air);
        mg_image_free(&t1);
        mg_image_free(&t2);
    }
    report(before, "pixel values in [-1, 1], Rician background only with noise");
}

/* ------------------------------------------------------------------ writing a set */
static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t got = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    (void)got;
    fclose(f);
    return buf;
}

/* Removes what mg_phantom_write made in dir (count subjects) and dir itself. */
static void remove_set(const char *dir, int count)
{
    char p[512];
    for (int k = 0; k < count; k++)
        for (int w = 0; w < 2; w++) {
            snprintf(p, sizeof p, "%s/%s/phantom_%03d.png", dir, w ? "T2" : "T1", k);
            (void)remove(p);
        }
    snprintf(p, sizeof p, "%s/phantom.txt", dir);
    (void)remove(p);
    for (int w = 0; w < 2; w++) {
        snprintf(p, sizeof p, "%s/%s", dir, w ? "T2" : "T1");
        (void)rmdir(p);
    }
    (void)rmdir(dir);
}

static void test_write(void)
{
    int before = failures;
    char root[] = "/tmp/mrigan-phantom-XXXXXX", a[600], b[600], p[700];
    if (!mkdtemp(root)) {
        CHECK(false, "mkdtemp failed");
        return;
    }
    snprintf(a, sizeof a, "%s/a/nested", root); /* mkdir -p */
    snprintf(b, sizeof b, "%s/b", root);
    mg_phantom_config c = config(64, 11, 0.02f, 0.1f);
    MUST(mg_phantom_write(a, &c, 2, 8, "mrigan phantom --out a/nested --count 2"));
    MUST(mg_phantom_write(b, &c, 4, 16, NULL));
    /* subject 1 is the same file content whatever the count; 8- and 16-bit round trips */
    mg_image r1, r2, l8, l16, t2;
    MUST(mg_phantom_render(&c, 1, &r1, &r2, NULL));
    snprintf(p, sizeof p, "%s/T1/phantom_001.png", a);
    MUST(mg_image_load_png(p, &l8));
    snprintf(p, sizeof p, "%s/T1/phantom_001.png", b);
    MUST(mg_image_load_png(p, &l16));
    snprintf(p, sizeof p, "%s/T2/phantom_001.png", b);
    MUST(mg_image_load_png(p, &t2));
    float e8 = 0.0f, e16 = 0.0f, e2 = 0.0f;
    for (int i = 0; i < 64 * 64; i++) {
        e8 = fmaxf(e8, fabsf(l8.data[i] - r1.data[i]));
        e16 = fmaxf(e16, fabsf(l16.data[i] - r1.data[i]));
        e2 = fmaxf(e2, fabsf(t2.data[i] - r2.data[i]));
    }
    CHECK(l8.width == 64 && l16.height == 64, "loaded %dx%d", l8.width, l16.height);
    CHECK(e8 <= 1.01f / 255.0f, "8-bit round trip off by %g", (double)e8);
    CHECK(e16 <= 1.01f / 65535.0f && e2 <= 1.01f / 65535.0f, "16-bit round trip off by %g, %g", (double)e16,
          (double)e2);
    snprintf(p, sizeof p, "%s/T2/phantom_003.png", b);
    CHECK(file_exists(p), "%s missing", p);
    snprintf(p, sizeof p, "%s/T1/phantom_002.png", a);
    CHECK(!file_exists(p), "count 2 wrote a third subject");
    snprintf(p, sizeof p, "%s/phantom.txt", a);
    char *txt = read_text(p);
    CHECK(txt && strstr(txt, "command: mrigan phantom --out a/nested --count 2") && strstr(txt, "seed 11") &&
              strstr(txt, "TR 500 ms, TE 15 ms") && strstr(txt, "white matter") && strstr(txt, "phantom_001"),
          "phantom.txt:\n%s", txt ? txt : "(missing)");
    free(txt);
    /* errors: a file in the way of the folder, a bad count or bit depth */
    snprintf(p, sizeof p, "%s/phantom.txt", b);
    CHECK(mg_phantom_write(p, &c, 1, 8, NULL) == MG_ERR_IO && strstr(mg_last_error(), "phantom.txt"),
          "writing under a file: '%s'", mg_last_error());
    CHECK(mg_phantom_write(b, &c, 0, 8, NULL) == MG_ERR_ARG && strstr(mg_last_error(), "from 1 to"), "count 0: %s",
          mg_last_error());
    CHECK(mg_phantom_write(b, &c, 1, 12, NULL) == MG_ERR_ARG, "bit depth 12 accepted");
    mg_image *all[] = {&r1, &r2, &l8, &l16, &t2};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mg_image_free(all[i]);
    remove_set(a, 2);
    snprintf(p, sizeof p, "%s/a", root);
    (void)rmdir(p);
    remove_set(b, 4);
    CHECK(rmdir(root) == 0, "%s not empty after cleaning up (a temporary file left behind?)", root);
    report(before, "mg_phantom_write: folders, PNG round trips, phantom.txt, errors");
}

static void test_speed(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mg_phantom_config c;
    mg_phantom_config_default(&c);
    for (int k = 0; k < 24; k++) {
        mg_image a, b;
        MUST(mg_phantom_render(&c, k, &a, &b, NULL));
        mg_image_free(&a);
        mg_image_free(&b);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("info 24 pairs at 128x128 rendered in %.3f s\n",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
}

int main(void)
{
    test_config();
    test_signal();
    test_determinism();
    test_contrast();
    test_size_independence();
    test_rectangle();
    test_range_and_noise();
    test_write();
    test_speed();
    printf("%s: %d failure%s\n", failures ? "FAIL" : "ok", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
