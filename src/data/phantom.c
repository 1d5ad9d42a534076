/* Synthetic paired T1/T2 brain phantom (see include/mrigan/phantom.h).
 *
 * Geometry. Image coordinates run over [-1, 1] on both axes, y down; the head is drawn in a "head frame"
 * (subject's centre offset and rotation removed, anterior up, x widened posteriorly to give the egg shape
 * of an axial slice). Along every ray from the centre the layers are, from outside in: scalp fat, skull
 * (cortical bone with a thin fat-marrow diploe in its middle), subarachnoid CSF, and the brain, whose hull
 * radius is a smooth function of the angle (tabulated). Inside the hull:
 *   - sulci are CSF clefts along the zero lines of a sum of sheared angular waves (see struct wave) down
 *     to a depth that varies along the hull, so they meander, branch and end at different depths; the
 *     interhemispheric fissure and, at low slices, the Sylvian fissures are explicit polylines;
 *   - cortical grey matter is everything within the cortical thickness of the hull or of a cleft, so the
 *     ribbon follows the folds and white matter fills the gyri between them;
 *   - the lateral ventricles are bent ellipses near the centre whose shape follows the slice level (frontal
 *     and occipital horns low down, bodies higher up, nothing near the vertex), with the third ventricle,
 *     caudate heads, putamina and thalami at low levels.
 * Each subject draws its slice level, head size, ellipticity, rotation, layer thicknesses, gyral pattern
 * and ventricle size from PCG32 stream `index` of the seed, before any pixel is touched, so the anatomy
 * does not depend on the image size, the noise or the number of subjects.
 *
 * Signal. Per tissue S = PD (1 - exp(-TR/T1)) exp(-TE/T2), the spin-echo signal in the usual TR >> TE
 * approximation, weighted by the tissue fractions of each pixel (3x3 supersampling). Then a
 * smooth multiplicative bias field exp(b(x, y)), b a random quadratic in x and y scaled so max |b| = bias
 * (the receive coil's sensitivity, hence the same for both contrasts of a pair), then Rician noise
 * |S + sigma (n1 + i n2)| with sigma = noise * max S, then scaling so the 99.5th percentile is 1,
 * clamping to [0, 1] and mapping to [-1, 1].
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/file.h"
#include "mrigan/phantom.h"

#define PI_F       3.14159265358979f
#define SS         3    /* supersampling per axis */
#define LUT_N      1024 /* hull radii tabulated per angle */
#define MAX_SEGS   4    /* segments of a fissure */
#define N_WAVES    10   /* waves of the fold field */
#define MAX_BLOBS  12
#define HULL_GUARD 0.03f /* fissures start this far outside the hull so they open into the CSF */

/* Approximate 1.5 T relaxation times and relative proton densities from the MR relaxometry literature
 * (grey and white matter and CSF as in the usual brain tables, e.g. Wansapura et al. 1999, Stanisz et al.
 * 2005; subcutaneous fat T1 about 260 ms; cortical bone gives almost no spin-echo signal). */
static const mg_tissue_params tissues[MG_TISSUE_COUNT] = {
    [MG_TISSUE_AIR] = {"air", 1.0f, 1.0f, 0.0f},
    [MG_TISSUE_FAT] = {"fat", 260.0f, 80.0f, 0.90f},
    [MG_TISSUE_BONE] = {"bone", 250.0f, 10.0f, 0.05f},
    [MG_TISSUE_CSF] = {"csf", 4000.0f, 2000.0f, 1.00f},
    [MG_TISSUE_GM] = {"grey matter", 1100.0f, 100.0f, 0.80f},
    [MG_TISSUE_WM] = {"white matter", 600.0f, 80.0f, 0.70f},
    [MG_TISSUE_DEEP_GM] = {"deep grey", 900.0f, 85.0f, 0.78f},
};

static const float seq_tr[2] = {500.0f, 4000.0f};
static const float seq_te[2] = {15.0f, 100.0f};

const mg_tissue_params *mg_phantom_tissue(int t) { return t >= 0 && t < MG_TISSUE_COUNT ? &tissues[t] : NULL; }

float mg_phantom_signal(int t, int w)
{
    if (t < 0 || t >= MG_TISSUE_COUNT || (w != MG_T1W && w != MG_T2W))
        return 0.0f;
    const mg_tissue_params *p = &tissues[t];
    return (float)(p->pd * (1.0 - exp(-seq_tr[w] / p->t1_ms)) * exp(-seq_te[w] / p->t2_ms));
}

void mg_phantom_config_default(mg_phantom_config *cfg)
{
    cfg->size = 128;
    cfg->width = cfg->height = 0;
    cfg->seed = 1;
    cfg->noise = 0.02f;
    cfg->bias = 0.1f;
}

mg_status mg_phantom_check_config(const mg_phantom_config *cfg)
{
    if (!cfg)
        return mg_error(MG_ERR_ARG, "phantom: no configuration");
    if ((cfg->width > 0) != (cfg->height > 0) || cfg->width < 0 || cfg->height < 0)
        return mg_error(MG_ERR_ARG, "phantom: give both width and height, or neither");
    if (cfg->width > 0 && (cfg->width < MG_PHANTOM_MIN_SIZE || cfg->width > MG_PHANTOM_MAX_SIZE ||
                           cfg->height < MG_PHANTOM_MIN_SIZE || cfg->height > MG_PHANTOM_MAX_SIZE))
        return mg_error(MG_ERR_ARG, "phantom: %dx%d: each side must be from %d to %d", cfg->width, cfg->height,
                        MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE);
    if (cfg->width == 0 && (cfg->size < MG_PHANTOM_MIN_SIZE || cfg->size > MG_PHANTOM_MAX_SIZE || cfg->size % 4))
        return mg_error(MG_ERR_ARG, "phantom: size %d must be a multiple of 4 from %d to %d", cfg->size,
                        MG_PHANTOM_MIN_SIZE, MG_PHANTOM_MAX_SIZE);
    if (!(cfg->noise >= 0.0f && cfg->noise <= MG_PHANTOM_MAX_NOISE))
        return mg_error(MG_ERR_ARG, "phantom: noise %g must be from 0 to %g", (double)cfg->noise,
                        (double)MG_PHANTOM_MAX_NOISE);
    if (!(cfg->bias >= 0.0f && cfg->bias <= MG_PHANTOM_MAX_BIAS))
        return mg_error(MG_ERR_ARG, "phantom: bias %g must be from 0 to %g", (double)cfg->bias,
                        (double)MG_PHANTOM_MAX_BIAS);
    return MG_OK;
}

/* ------------------------------------------------------------------ anatomy */
typedef struct seg {
    float x0, y0, dx, dy, inv_len2;
    float w0, w1; /* half widths at the two ends */
} seg;

/* A CSF cleft along a polyline (the fissures). */
typedef struct cleft {
    seg s[MAX_SEGS];
    int n;
} cleft;

/* An ellipse whose long axis is bent into a parabola: the axis point at distance v along it is moved
 * across by bend * v^2. */
typedef struct blob {
    float cx, cy, ax, ay; /* centre; half-axes across and along */
    float c, s;           /* long axis direction: (-s, c) */
    float bend;
    uint8_t tissue;
} blob;

/* Cortical folds: the sulci are the zero lines of f(phi, d) = sum_i A_i cos(m_i (phi + kappa_i d) + p_i)
 * (phi the angle, d the depth below the hull) down to a depth that varies along the hull. Integer m_i keep
 * f periodic in phi; kappa_i tilts each wave's zero lines, and their sum meanders and branches. */
typedef struct wave {
    float m, kappa, amp;
    float cs[2][LUT_N + 1]; /* cos and sin of m phi + p over the table's angles */
} wave;

typedef struct subject {
    float level;   /* 0: basal ganglia and thalamus, 1: near the vertex */
    float cx, cy;  /* head centre in image coordinates */
    float cr, sr;  /* cos and sin of the head rotation */
    float rot_deg; /* for the description */
    float egg;     /* posterior widening */
    float a, b;    /* head half-axes (x, y) */
    float vent;    /* ventricle size factor */
    float t_scalp, t_skull, diploe, gm;
    float head[LUT_N + 1], brain[LUT_N + 1], depth[LUT_N + 1]; /* radii and sulcal depth per angle */
    float max_depth;
    wave waves[N_WAVES];
    cleft clefts[4];
    int n_clefts;
    blob csf[MAX_BLOBS], deep[MAX_BLOBS]; /* ventricles; deep grey nuclei */
    int n_csf, n_deep;
    float bias_c[5];
} subject;

static float uni(mg_rng *r, float lo, float hi) { return lo + (hi - lo) * mg_rng_uniform(r); }
static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }
static float lerpf(float a, float b, float t) { return a + (b - a) * t; }

/* Position of angle phi (within a turn of [-pi, pi)) in a table: index *k and fraction returned. */
static float lut_pos(float phi, int *k)
{
    if (phi >= PI_F)
        phi -= 2.0f * PI_F;
    else if (phi < -PI_F)
        phi += 2.0f * PI_F;
    float f = (phi + PI_F) * (LUT_N / (2.0f * PI_F));
    int i = (int)f;
    *k = i < 0 ? 0 : i >= LUT_N ? LUT_N - 1 : i;
    return f - (float)*k;
}

static float lut_at(const float *lut, float phi)
{
    int k;
    float t = lut_pos(phi, &k);
    return lut[k] + (lut[k + 1] - lut[k]) * t;
}

/* A cleft through npts points; half width w0 at the start, w1 at the end. */
static void cleft_make(cleft *c, const float *px, const float *py, int npts, float w0, float w1)
{
    c->n = 0;
    for (int i = 0; i + 1 < npts && c->n < MAX_SEGS; i++) {
        seg *g = &c->s[c->n++];
        g->x0 = px[i], g->y0 = py[i];
        g->dx = px[i + 1] - px[i], g->dy = py[i + 1] - py[i];
        float l2 = g->dx * g->dx + g->dy * g->dy;
        g->inv_len2 = l2 > 0.0f ? 1.0f / l2 : 0.0f;
        g->w0 = lerpf(w0, w1, (float)i / (float)(npts - 1));
        g->w1 = lerpf(w0, w1, (float)(i + 1) / (float)(npts - 1));
    }
}

static void blob_set(blob *bl, float cx, float cy, float ax, float ay, float angle, float bend, mg_tissue t)
{
    bl->cx = cx, bl->cy = cy, bl->ax = ax, bl->ay = ay;
    bl->c = cosf(angle), bl->s = sinf(angle);
    bl->bend = bend * ax / (ay * ay); /* bend 1: the ends sit one half-width across */
    bl->tissue = (uint8_t)t;
}

static bool blob_inside(const blob *bl, float x, float y)
{
    float dx = x - bl->cx, dy = y - bl->cy;
    float u = bl->c * dx + bl->s * dy, v = -bl->s * dx + bl->c * dy;
    u -= bl->bend * v * v;
    u /= bl->ax, v /= bl->ay;
    return u * u + v * v < 1.0f;
}

/* Size of the lateral ventricles at a slice level: they shrink towards their roof and are gone by 0.75;
 * below VENT_MIN none are drawn and the interhemispheric fissure runs through. */
#define VENT_MIN 0.08f
static float ventricle_scale(float level) { return 1.0f - clampf((level - 0.6f) / 0.15f, 0.0f, 1.0f); }

/* The interhemispheric fissure (from the frontal and the occipital pole, meeting above the corpus
 * callosum) and, at low slices, the Sylvian fissures. */
static void make_fissures(subject *s, mg_rng *r, float ab, float bb)
{
    float lv = s->level;
    s->n_clefts = 0;
    bool complete = ventricle_scale(lv) < VENT_MIN; /* above the ventricles and the corpus callosum */
    float da = complete ? 1.1f * bb : uni(r, 0.50f, 0.60f) * bb, dp = complete ? 1.1f * bb : uni(r, 0.42f, 0.52f) * bb;
    for (int end = 0; end < 2; end++) {
        float sign = end ? 1.0f : -1.0f, len = (end ? dp : da) + HULL_GUARD;
        float y0 = sign * (lut_at(s->brain, sign * 0.5f * PI_F) + HULL_GUARD);
        float px[MAX_SEGS + 1], py[MAX_SEGS + 1];
        for (int i = 0; i <= MAX_SEGS; i++) {
            px[i] = i ? uni(r, -0.012f, 0.012f) : 0.0f;
            py[i] = y0 - sign * len * (float)i / MAX_SEGS;
        }
        cleft_make(&s->clefts[s->n_clefts++], px, py, MAX_SEGS + 1, 0.010f, 0.006f);
    }
    for (int side = 0; side < 2 && lv < 0.45f; side++) {
        float sx = side ? 1.0f : -1.0f, x0 = sx * (lut_at(s->brain, side ? 0.0f : PI_F) + HULL_GUARD);
        float depth = uni(r, 0.40f, 0.46f) * ab + HULL_GUARD, tilt = uni(r, 0.15f, 0.35f), y0 = -0.02f * bb;
        float px[3] = {x0, x0 - sx * 0.6f * depth, x0 - sx * depth};
        float py[3] = {y0, y0 - 0.6f * depth * tilt, y0 - depth * tilt * 1.8f};
        cleft_make(&s->clefts[s->n_clefts++], px, py, 3, 0.012f, 0.007f);
    }
}

static void make_folds(subject *s, mg_rng *r, float ab)
{
    for (int i = 0; i < N_WAVES; i++) {
        wave *w = &s->waves[i];
        w->m = (float)(6 + mg_rng_below(r, 13));
        w->kappa = uni(r, -1.6f, 1.6f);
        w->amp = uni(r, 0.5f, 1.0f);
        float p = uni(r, 0.0f, 2.0f * PI_F);
        for (int k = 0; k <= LUT_N; k++) {
            float a = w->m * (-PI_F + 2.0f * PI_F * (float)k / LUT_N) + p;
            w->cs[0][k] = cosf(a), w->cs[1][k] = sinf(a);
        }
    }
    /* Sulcal depth along the hull: a slow variation times a fast one, so neighbouring sulci end at
     * different depths. */
    float amp[8], ph[8], m[8], d0 = uni(r, 0.14f, 0.18f) * ab / 0.6f;
    for (int k = 0; k < 8; k++) {
        amp[k] = uni(r, -1.0f, 1.0f);
        ph[k] = uni(r, 0.0f, 2.0f * PI_F);
        m[k] = k < 3 ? (float)(k + 2) : (float)(9 + mg_rng_below(r, 16));
    }
    s->max_depth = 0.0f;
    for (int i = 0; i <= LUT_N; i++) {
        float phi = -PI_F + 2.0f * PI_F * (float)i / LUT_N, slow = 0.0f, fast = 0.0f;
        for (int k = 0; k < 8; k++)
            *(k < 3 ? &slow : &fast) += amp[k] * cosf(m[k] * phi + ph[k]);
        s->depth[i] = d0 * (1.0f + 0.2f * slow) * clampf(1.0f + 0.25f * fast, 0.3f, 1.6f);
        s->max_depth = fmaxf(s->max_depth, s->depth[i]);
    }
}

/* Ventricles and deep grey nuclei for the slice level; positions in units of the brain half-axes. */
static void make_deep(subject *s, mg_rng *r, float ab, float bb)
{
    float lv = s->level, vs = s->vent;
    float t = clampf((lv - 0.2f) / 0.35f, 0.0f, 1.0f); /* horns -> bodies */
    float g = ventricle_scale(lv);
    float asym = uni(r, 0.9f, 1.1f), jit = uni(r, -0.02f, 0.02f);
    s->n_csf = s->n_deep = 0;
    for (int side = 0; side < 2 && g >= VENT_MIN; side++) {
        float sx = side ? 1.0f : -1.0f, f = side ? asym : 1.0f;
        float w = 0.075f * ab * vs * f * powf(g, 0.7f), gl = sqrtf(g); /* thin slits near the roof */
        /* frontal horn (anterior tip lateral) or front of the body */
        float ay = lerpf(0.16f, 0.22f, t) * bb * gl, ang = lerpf(0.35f, -0.08f, t);
        float ext = sqrtf(w * w * cosf(ang) * cosf(ang) + ay * ay * sinf(ang) * sinf(ang)) + 0.008f;
        blob_set(&s->csf[s->n_csf++], sx * fmaxf(lerpf(0.10f, 0.09f, t) * ab, ext),
                 (lerpf(-0.28f, -0.14f, t) * gl + jit) * bb, w, ay, sx * ang, sx * 0.3f, MG_TISSUE_CSF);
        /* atrium and occipital horn (posterior tip lateral, curved) or back of the body */
        blob_set(&s->csf[s->n_csf++], sx * lerpf(0.22f, 0.15f, t) * ab, (lerpf(0.32f, 0.14f, t) * gl + jit) * bb,
                 w * lerpf(0.6f, 0.9f, t), lerpf(0.16f, 0.22f, t) * bb * gl, -sx * lerpf(0.5f, 0.3f, t),
                 sx * lerpf(0.8f, 0.3f, t), MG_TISSUE_CSF);
    }
    float d = 1.0f - clampf((lv - 0.25f) / 0.15f, 0.0f, 1.0f); /* basal ganglia fade out by level 0.4 */
    if (d > 0.1f) {
        blob_set(&s->csf[s->n_csf++], 0.0f, (0.08f + jit) * bb, 0.018f * ab * vs, 0.13f * bb * d, 0.0f, 0.0f,
                 MG_TISSUE_CSF); /* third ventricle */
        for (int side = 0; side < 2; side++) {
            float sx = side ? 1.0f : -1.0f;
            blob_set(&s->deep[s->n_deep++], sx * 0.19f * ab, (-0.25f + jit) * bb, 0.08f * ab * d, 0.12f * bb * d,
                     sx * 0.3f, 0.0f, MG_TISSUE_DEEP_GM); /* caudate head */
            blob_set(&s->deep[s->n_deep++], sx * 0.40f * ab, (-0.03f + jit) * bb, 0.075f * ab * d, 0.20f * bb * d,
                     -sx * 0.2f, sx * 0.4f, MG_TISSUE_DEEP_GM); /* putamen */
            blob_set(&s->deep[s->n_deep++], sx * 0.12f * ab, (0.11f + jit) * bb, 0.10f * ab * d, 0.16f * bb * d,
                     -sx * 0.2f, 0.0f, MG_TISSUE_DEEP_GM); /* thalamus */
        }
    }
}

static void subject_make(subject *s, uint64_t seed, int index)
{
    mg_rng r;
    mg_rng_seed(&r, seed, (uint64_t)index);
    s->level = mg_rng_uniform(&r);
    s->b = 0.86f * uni(&r, 0.95f, 1.04f) * (1.0f - 0.08f * s->level);
    s->a = s->b / uni(&r, 1.12f, 1.28f);
    s->rot_deg = uni(&r, -7.0f, 7.0f);
    s->cr = cosf(s->rot_deg * PI_F / 180.0f), s->sr = sinf(s->rot_deg * PI_F / 180.0f);
    s->cx = uni(&r, -0.03f, 0.03f), s->cy = uni(&r, -0.03f, 0.03f);
    s->egg = uni(&r, 0.0f, 0.15f);
    s->t_scalp = uni(&r, 0.030f, 0.045f);
    s->t_skull = uni(&r, 0.035f, 0.050f);
    s->diploe = 0.25f * s->t_skull;
    s->vent = uni(&r, 0.75f, 1.5f);
    float t_sas = (0.010f + 0.010f * s->vent) * uni(&r, 0.8f, 1.2f);
    s->gm = uni(&r, 0.032f, 0.040f);
    float amp[6], ph[6];
    for (int k = 0; k < 6; k++)
        amp[k] = uni(&r, -1.0f, 1.0f), ph[k] = uni(&r, 0.0f, 2.0f * PI_F);
    for (int i = 0; i <= LUT_N; i++) {
        float phi = -PI_F + 2.0f * PI_F * (float)i / LUT_N, c = cosf(phi), sn = sinf(phi);
        float re = 1.0f / sqrtf(c * c / (s->a * s->a) + sn * sn / (s->b * s->b));
        float bump = 0.0f, sas = 0.0f;
        for (int k = 0; k < 4; k++)
            bump += 0.010f * amp[k] * cosf((float)(k + 2) * phi + ph[k]);
        for (int k = 4; k < 6; k++)
            sas += 0.35f * amp[k] * cosf((float)(k - 1) * phi + ph[k]);
        s->head[i] = re * (1.0f + bump);
        s->brain[i] = s->head[i] - s->t_scalp - s->t_skull - t_sas * (1.0f + sas);
    }
    float ab = s->a - s->t_scalp - s->t_skull - t_sas, bb = s->b - s->t_scalp - s->t_skull - t_sas;
    make_fissures(s, &r, ab, bb);
    make_folds(s, &r, ab);
    make_deep(s, &r, ab, bb);
    for (int k = 0; k < 5; k++)
        s->bias_c[k] = uni(&r, -1.0f, 1.0f);
}

/* Distance from the point at angle phi, depth d below the hull and radius rad to the nearest sulcus (to its
 * fundus when deeper than the sulcus ends), negative inside one, 1 when far below every sulcus. */
static float fold_distance(const subject *s, float phi, float d, float rad)
{
    float depth = lut_at(s->depth, phi);
    if (d > depth + s->gm)
        return 1.0f;
    float f = 0.0f, gp = 0.0f, gd = 0.0f;
    for (int i = 0; i < N_WAVES; i++) {
        const wave *w = &s->waves[i];
        int k;
        float t = lut_pos(phi + w->kappa * d, &k);
        float c = w->cs[0][k] + (w->cs[0][k + 1] - w->cs[0][k]) * t;
        float sn = w->cs[1][k] + (w->cs[1][k + 1] - w->cs[1][k]) * t;
        f += w->amp * c;
        gp -= w->amp * w->m * sn;
        gd -= w->amp * w->m * w->kappa * sn;
    }
    gp /= fmaxf(rad, 0.05f);
    float e = fabsf(f) / fmaxf(sqrtf(gp * gp + gd * gd), 1e-6f); /* distance to the zero line, first order */
    float half = lerpf(0.008f, 0.004f, clampf(d / depth, 0.0f, 1.0f));
    if (d < depth && e < half)
        return -1.0f;
    float ex = fmaxf(e - half, 0.0f), ed = fmaxf(d - depth, 0.0f);
    return sqrtf(ex * ex + ed * ed);
}

/* The tissue at image point (x, y), both in [-1, 1]. */
static mg_tissue classify(const subject *s, float x, float y)
{
    float dx = x - s->cx, dy = y - s->cy;
    float hx = s->cr * dx + s->sr * dy, hy = -s->sr * dx + s->cr * dy;
    hx /= 1.0f + s->egg * hy;
    float rad = sqrtf(hx * hx + hy * hy), phi = atan2f(hy, hx);
    float d = lut_at(s->head, phi) - rad;
    if (d < 0.0f)
        return MG_TISSUE_AIR;
    if (d < s->t_scalp)
        return MG_TISSUE_FAT;
    d -= s->t_scalp;
    if (d < s->t_skull)
        return fabsf(d - 0.5f * s->t_skull) < 0.5f * s->diploe ? MG_TISSUE_FAT : MG_TISSUE_BONE;
    float db = lut_at(s->brain, phi) - rad; /* depth below the brain hull */
    if (db < 0.0f)
        return MG_TISSUE_CSF;
    for (int i = 0; i < s->n_csf; i++)
        if (blob_inside(&s->csf[i], hx, hy))
            return MG_TISSUE_CSF;
    float dist = db; /* to the nearest outer CSF: hull, fissure or sulcus */
    for (int i = 0; i < s->n_clefts; i++) {
        const cleft *c = &s->clefts[i];
        for (int k = 0; k < c->n; k++) {
            const seg *g = &c->s[k];
            float px = hx - g->x0, py = hy - g->y0;
            float t = clampf((px * g->dx + py * g->dy) * g->inv_len2, 0.0f, 1.0f);
            float ex = px - t * g->dx, ey = py - t * g->dy;
            float e = sqrtf(ex * ex + ey * ey) - (g->w0 + (g->w1 - g->w0) * t);
            if (e < 0.0f)
                return MG_TISSUE_CSF;
            dist = fminf(dist, e);
        }
    }
    if (db < s->max_depth + s->gm) {
        float e = fold_distance(s, phi, db, rad);
        if (e < 0.0f)
            return MG_TISSUE_CSF;
        dist = fminf(dist, e);
    }
    for (int i = 0; i < s->n_deep; i++)
        if (blob_inside(&s->deep[i], hx, hy))
            return (mg_tissue)s->deep[i].tissue;
    return dist < s->gm ? MG_TISSUE_GM : MG_TISSUE_WM;
}

/* ------------------------------------------------------------------ rendering */
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Noise, percentile scaling and the mapping to [-1, 1] of one contrast; sig holds the noise-free signal. */
static mg_status finish_image(float *sig, int n, float noise, uint64_t seed, int index, int w, mg_image *out)
{
    float smax = 0.0f;
    for (int i = 0; i < n; i++)
        smax = fmaxf(smax, sig[i]);
    if (noise > 0.0f) {
        mg_rng r; /* one stream per (seed, contrast) and subject, independent of the other contrast */
        mg_rng_seed(&r, mg_mix64(seed ^ (0x5eed0000u + (uint64_t)w)), (uint64_t)index);
        float sigma = noise * smax;
        for (int i = 0; i < n; i++) {
            float re = sig[i] + sigma * mg_rng_normal(&r), im = sigma * mg_rng_normal(&r);
            sig[i] = sqrtf(re * re + im * im);
        }
    }
    float *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return mg_error(MG_ERR_OOM, "phantom: out of memory for %d pixels", n);
    memcpy(sorted, sig, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_float);
    float p = sorted[(size_t)(0.995 * (double)(n - 1))];
    free(sorted);
    float scale = p > 0.0f ? 1.0f / p : 1.0f;
    for (int i = 0; i < n; i++)
        out->data[i] = 2.0f * clampf(sig[i] * scale, 0.0f, 1.0f) - 1.0f;
    return MG_OK;
}

mg_status mg_phantom_render(const mg_phantom_config *cfg, int index, mg_image *t1, mg_image *t2, uint8_t *labels)
{
    if (t1)
        *t1 = (mg_image){0};
    if (t2)
        *t2 = (mg_image){0};
    mg_status st = mg_phantom_check_config(cfg);
    if (st != MG_OK)
        return st;
    if (index < 0)
        return mg_error(MG_ERR_ARG, "phantom: subject index %d must be >= 0", index);
    const int width = cfg->width > 0 ? cfg->width : cfg->size, height = cfg->height > 0 ? cfg->height : cfg->size,
              n = width * height;
    subject *s = malloc(sizeof *s);
    float *sig = malloc(2 * (size_t)n * sizeof *sig), *field = malloc((size_t)n * sizeof *field);
    if (!s || !sig || !field) {
        free(s), free(sig), free(field);
        return mg_error(MG_ERR_OOM, "phantom: out of memory for a %dx%d subject", width, height);
    }
    subject_make(s, cfg->seed, index);

    float tsig[2][MG_TISSUE_COUNT];
    for (int t = 0; t < MG_TISSUE_COUNT; t++)
        tsig[0][t] = mg_phantom_signal(t, MG_T1W), tsig[1][t] = mg_phantom_signal(t, MG_T2W);
    /* square pixels: the shorter side spans [-1, 1], the longer one a wider range around 0 (a square image is
     * computed exactly as it always was) */
    const int side = width < height ? width : height;
    const float step = 2.0f / (float)side, x0 = width == side ? -1.0f : -(float)width / (float)side,
                y0 = height == side ? -1.0f : -(float)height / (float)side;
    float fmax = 0.0f;
    for (int py = 0; py < height; py++) {
        for (int px = 0; px < width; px++) {
            int count[MG_TISSUE_COUNT] = {0};
            for (int sy = 0; sy < SS; sy++)
                for (int sx = 0; sx < SS; sx++)
                    count[classify(s, x0 + step * ((float)px + ((float)sx + 0.5f) / SS),
                                   y0 + step * ((float)py + ((float)sy + 0.5f) / SS))]++;
            int best = 0, i = py * width + px;
            float a = 0.0f, b = 0.0f;
            for (int t = 0; t < MG_TISSUE_COUNT; t++) {
                a += (float)count[t] * tsig[0][t];
                b += (float)count[t] * tsig[1][t];
                if (count[t] > count[best])
                    best = t;
            }
            sig[i] = a / (SS * SS);
            sig[n + i] = b / (SS * SS);
            if (labels)
                labels[i] = (uint8_t)best;
            float x = x0 + step * ((float)px + 0.5f), y = y0 + step * ((float)py + 0.5f);
            const float *c = s->bias_c;
            field[i] = c[0] * x + c[1] * y + c[2] * x * y + c[3] * (x * x - 0.5f) + c[4] * (y * y - 0.5f);
            fmax = fmaxf(fmax, fabsf(field[i]));
        }
    }
    float fs = fmax > 0.0f ? cfg->bias / fmax : 0.0f;
    for (int i = 0; i < n; i++) {
        float f = expf(fs * field[i]);
        sig[i] *= f;
        sig[n + i] *= f;
    }
    free(s);
    free(field);
    mg_image *outs[2] = {t1, t2};
    for (int w = 0; w < 2 && st == MG_OK; w++) {
        if (!outs[w])
            continue;
        st = mg_image_new(width, height, outs[w]);
        if (st == MG_OK)
            st = finish_image(sig + (size_t)w * n, n, cfg->noise, cfg->seed, index, w, outs[w]);
    }
    free(sig);
    if (st != MG_OK) {
        if (t1)
            mg_image_free(t1), *t1 = (mg_image){0};
        if (t2)
            mg_image_free(t2), *t2 = (mg_image){0};
    }
    return st;
}

/* ------------------------------------------------------------------ writing a set */
static mg_status phantom_make_dirs(const char *path)
{
    return mg_file_make_dirs(path)
               ? mg_error(MG_ERR_IO, "phantom: cannot create folder '%s': %s", path, strerror(errno))
               : MG_OK;
}

static void describe(FILE *f, const mg_phantom_config *cfg, int count, int bit_depth, const char *command_line,
                     int digits)
{
    fprintf(f, "mrigan synthetic brain phantom: paired T1-weighted and T2-weighted axial slices\n\ncommand: %s\n",
            command_line ? command_line : "(not given)");
    fprintf(f,
            "seed %llu, %d subjects, %dx%d pixels, %d-bit grayscale PNG, noise %g, bias %g\nfiles: T1/phantom_%0*d.png"
            " .. and T2/ with the same names; the same name in both\nfolders is the same subject and slice with "
            "identical anatomy.\n\nAnatomy: scalp fat, skull (cortical bone with a fat-marrow diploe), subarachnoid"
            " CSF, a folded\ncortical ribbon (sulci as CSF clefts), white matter, lateral ventricles and, at low"
            " slice levels,\nthird ventricle, caudate, putamen and thalamus. Per subject (PCG32 stream = subject"
            " index):\nslice level, head size, ellipticity and rotation, layer thicknesses, gyral pattern, ventricle"
            " size.\n\nSignal: spin echo S = PD * (1 - exp(-TR/T1)) * exp(-TE/T2)\n  T1-weighted: TR %.0f ms, TE"
            " %.0f ms\n  T2-weighted: TR %.0f ms, TE %.0f ms\n",
            (unsigned long long)cfg->seed, count, cfg->width > 0 ? cfg->width : cfg->size,
            cfg->height > 0 ? cfg->height : cfg->size, bit_depth, (double)cfg->noise, (double)cfg->bias, digits, 0,
            (double)seq_tr[0], (double)seq_te[0], (double)seq_tr[1], (double)seq_te[1]);
    fprintf(f, "  %-13s %7s %7s %5s %8s %8s\n", "tissue (1.5T)", "T1 ms", "T2 ms", "PD", "S(T1w)", "S(T2w)");
    for (int t = 1; t < MG_TISSUE_COUNT; t++)
        fprintf(f, "  %-13s %7.0f %7.0f %5.2f %8.4f %8.4f\n", tissues[t].name, (double)tissues[t].t1_ms,
                (double)tissues[t].t2_ms, (double)tissues[t].pd, (double)mg_phantom_signal(t, MG_T1W),
                (double)mg_phantom_signal(t, MG_T2W));
    fprintf(f,
            "Then: partial volume from %dx%d supersampling; one smooth multiplicative bias field per subject\n"
            "(exp of a random quadratic, log within +-bias, shared by both contrasts); Rician noise with sigma =\n"
            "noise * the image's largest signal; each image scaled so its 99.5th percentile is white.\n\n",
            SS, SS);
    fprintf(f, "%-*s %6s %11s %6s %10s\n", digits + 8, "subject", "level", "head (w h)", "rot", "ventricles");
}

typedef struct phantom_job {
    const mg_phantom_config *cfg;
    int count, bit_depth, digits;
    const char *command_line, *d1, *d2;
    subject *s;
} phantom_job;

/* Renders and saves every slice pair, describing each in f (phantom.txt, which goes into place last). */
static mg_status phantom_write_all(FILE *f, void *arg)
{
    const phantom_job *j = arg;
    mg_status st = MG_OK;
    describe(f, j->cfg, j->count, j->bit_depth, j->command_line, j->digits);
    for (int k = 0; k < j->count && st == MG_OK; k++) {
        char name[32];
        snprintf(name, sizeof name, "phantom_%0*d.png", j->digits, k);
        char *p1 = mg_path_join(j->d1, name), *p2 = mg_path_join(j->d2, name);
        mg_image t1 = {0}, t2 = {0};
        if (!p1 || !p2)
            st = mg_error(MG_ERR_OOM, "phantom: out of memory");
        if (st == MG_OK)
            st = mg_phantom_render(j->cfg, k, &t1, &t2, NULL);
        if (st == MG_OK)
            st = mg_image_save_png(p1, &t1, j->bit_depth);
        if (st == MG_OK)
            st = mg_image_save_png(p2, &t2, j->bit_depth);
        mg_image_free(&t1);
        mg_image_free(&t2);
        free(p1);
        free(p2);
        if (st == MG_OK) {
            subject *s = j->s;
            subject_make(s, j->cfg->seed, k);
            fprintf(f, "phantom_%0*d %6.2f %5.2f %5.2f %6.1f %10.2f\n", j->digits, k, (double)s->level,
                    (double)(2.0f * s->a), (double)(2.0f * s->b), (double)s->rot_deg, (double)s->vent);
        }
    }
    if (st == MG_OK)
        fprintf(f, "\nlevel: 0 basal ganglia .. 1 near the vertex; head: width and height in units of the "
                   "image half-width; rot: degrees.\n");
    return st;
}

mg_status mg_phantom_write(const char *dir, const mg_phantom_config *cfg, int count, int bit_depth,
                           const char *command_line)
{
    mg_status st = mg_phantom_check_config(cfg);
    if (st != MG_OK)
        return st;
    if (!dir || !*dir)
        return mg_error(MG_ERR_ARG, "phantom: no output folder");
    if (count < 1 || count > MG_PHANTOM_MAX_COUNT)
        return mg_error(MG_ERR_ARG, "phantom: count %d must be from 1 to %d", count, MG_PHANTOM_MAX_COUNT);
    if (bit_depth != 8 && bit_depth != 16)
        return mg_error(MG_ERR_ARG, "phantom: PNG bit depth %d must be 8 or 16", bit_depth);
    int digits = 3;
    for (int m = 1000; m <= count - 1 && digits < 9; m *= 10)
        digits++;
    char *d1 = mg_path_join(dir, "T1"), *d2 = mg_path_join(dir, "T2"), *txt = mg_path_join(dir, "phantom.txt");
    subject *s = malloc(sizeof *s);
    if (!d1 || !d2 || !txt || !s)
        st = mg_error(MG_ERR_OOM, "phantom: out of memory");
    if (st == MG_OK)
        st = phantom_make_dirs(d1);
    if (st == MG_OK)
        st = phantom_make_dirs(d2);
    phantom_job job = {cfg, count, bit_depth, digits, command_line, d1, d2, s};
    if (st == MG_OK)
        st = mg_file_write_atomic("phantom: ", txt, phantom_write_all, &job);
    free(d1), free(d2), free(txt), free(s);
    return st;
}
