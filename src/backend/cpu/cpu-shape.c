/* Ops that move or resample data on the CPU: reflection padding, shifts with a cutout, channel concatenation,
 * nearest-neighbour and bilinear upsampling. */
#include <string.h>

#include "cpu.h"

typedef struct pad_args {
    const float *src;
    float *dst;
    int h, w, ho, wo, left, top;
} pad_args;

/* PyTorch's ReflectionPad: index -k maps to k and (n-1)+k maps to (n-1)-k. */
static inline int reflect(int i, int n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }

CPU_VECTOR_CLONES static void pad_fwd_planes(void *p, size_t q0, size_t q1)
{
    const pad_args *a = p;
    for (size_t q = q0; q < q1; q++) {
        const float *x = a->src + q * a->h * a->w;
        float *y = a->dst + q * a->ho * a->wo;
        for (int oy = 0; oy < a->ho; oy++) {
            const float *row = x + (size_t)reflect(oy - a->top, a->h) * a->w;
            for (int ox = 0; ox < a->wo; ox++)
                *y++ = row[reflect(ox - a->left, a->w)];
        }
    }
}

/* Scatter-add, one thread per plane. */
CPU_VECTOR_CLONES static void pad_bwd_planes(void *p, size_t q0, size_t q1)
{
    const pad_args *a = p;
    for (size_t q = q0; q < q1; q++) {
        float *dx = a->dst + q * a->h * a->w;
        const float *dy = a->src + q * a->ho * a->wo;
        for (int oy = 0; oy < a->ho; oy++) {
            float *row = dx + (size_t)reflect(oy - a->top, a->h) * a->w;
            for (int ox = 0; ox < a->wo; ox++)
                row[reflect(ox - a->left, a->w)] += *dy++;
        }
    }
}

static pad_args pad_args_of(const mg_node *n)
{
    const mg_tensor *x = n->src[0], *y = n->dst;
    return (pad_args){.h = x->shape[2],
                      .w = x->shape[3],
                      .ho = y->shape[2],
                      .wo = y->shape[3],
                      .left = n->p.pad[0],
                      .top = n->p.pad[2]};
}

mg_status cpu_reflect_pad2d_fwd(void *ctx, mg_node *n)
{
    pad_args a = pad_args_of(n);
    a.src = cpu_data(n->src[0]);
    a.dst = cpu_data(n->dst);
    mg_pool_for(((cpu_ctx *)ctx)->pool, (size_t)n->src[0]->shape[0] * n->src[0]->shape[1],
                cpu_grain((size_t)a.ho * a.wo), pad_fwd_planes, &a);
    return MG_OK;
}

mg_status cpu_reflect_pad2d_bwd(void *ctx, mg_node *n)
{
    pad_args a = pad_args_of(n);
    a.src = cpu_data(n->dst->grad);
    a.dst = cpu_data(n->src[0]->grad);
    mg_pool_for(((cpu_ctx *)ctx)->pool, (size_t)n->src[0]->shape[0] * n->src[0]->shape[1],
                cpu_grain((size_t)a.ho * a.wo), pad_bwd_planes, &a);
    return MG_OK;
}

/* ------------------------------------------------------------------ shift with a cutout */
typedef struct shift_args {
    const float *src;
    float *dst;
    int h, w, dx, dy, box[4];
    float fill;
} shift_args;

/* Whether output pixel (oy, ox) lies in the image, copies a pixel of it (its source, moved back, lies there too) and
 * is outside the box: the one rule of both directions. */
static inline bool shift_keeps(const shift_args *a, int oy, int ox)
{
    const int sy = oy - a->dy, sx = ox - a->dx;
    const bool in_box = ox >= a->box[0] && ox < a->box[2] && oy >= a->box[1] && oy < a->box[3];
    return oy >= 0 && oy < a->h && ox >= 0 && ox < a->w && sy >= 0 && sy < a->h && sx >= 0 && sx < a->w && !in_box;
}

static void shift_fwd_planes(void *p, size_t q0, size_t q1)
{
    const shift_args *a = p;
    for (size_t q = q0; q < q1; q++) {
        const float *x = a->src + q * a->h * a->w;
        float *y = a->dst + q * a->h * a->w;
        for (int oy = 0; oy < a->h; oy++)
            for (int ox = 0; ox < a->w; ox++)
                *y++ = shift_keeps(a, oy, ox) ? x[(size_t)(oy - a->dy) * a->w + (ox - a->dx)] : a->fill;
    }
}

/* A gather per input pixel: each receives the gradient of the one output pixel it moved to, if that is kept. */
static void shift_bwd_planes(void *p, size_t q0, size_t q1)
{
    const shift_args *a = p;
    for (size_t q = q0; q < q1; q++) {
        const float *dy = a->src + q * a->h * a->w;
        float *dx = a->dst + q * a->h * a->w;
        for (int iy = 0; iy < a->h; iy++)
            for (int ix = 0; ix < a->w; ix++, dx++)
                if (shift_keeps(a, iy + a->dy, ix + a->dx))
                    *dx += dy[(size_t)(iy + a->dy) * a->w + (ix + a->dx)];
    }
}

static mg_status shift_run(void *ctx, const mg_node *n, const float *src, float *dst,
                           void (*fn)(void *, size_t, size_t))
{
    const mg_tensor *x = n->src[0];
    shift_args a = {.src = src,
                    .dst = dst,
                    .h = x->shape[2],
                    .w = x->shape[3],
                    .dx = n->p.shift[0],
                    .dy = n->p.shift[1],
                    .box = {n->p.box[0], n->p.box[1], n->p.box[2], n->p.box[3]},
                    .fill = n->p.f};
    mg_pool_for(((cpu_ctx *)ctx)->pool, (size_t)x->shape[0] * x->shape[1], cpu_grain((size_t)a.h * a.w), fn, &a);
    return MG_OK;
}

mg_status cpu_shift2d_fwd(void *ctx, mg_node *n)
{
    return shift_run(ctx, n, cpu_data(n->src[0]), cpu_data(n->dst), shift_fwd_planes);
}

mg_status cpu_shift2d_bwd(void *ctx, mg_node *n)
{
    if (!n->want_grad[0])
        return MG_OK;
    return shift_run(ctx, n, cpu_data(n->dst->grad), cpu_data(n->src[0]->grad), shift_bwd_planes);
}

/* ------------------------------------------------------------------ concat along channels */
typedef struct concat_args {
    const mg_node *node;
    size_t plane;
    bool backward;
} concat_args;

/* Item q is output plane q = n * (ca + cb) + c; it comes from a (c < ca) or b. */
static void concat_planes(void *p, size_t q0, size_t q1)
{
    const concat_args *a = p;
    const mg_node *n = a->node;
    size_t ca = (size_t)n->src[0]->shape[1], cb = (size_t)n->src[1]->shape[1], ct = ca + cb;
    for (size_t q = q0; q < q1; q++) {
        size_t s = q / ct, c = q % ct;
        int which = c < ca ? 0 : 1;
        size_t src_plane = which == 0 ? s * ca + c : s * cb + (c - ca);
        const mg_tensor *src = n->src[which];
        if (!a->backward) {
            memcpy(cpu_data(n->dst) + q * a->plane, cpu_data(src) + src_plane * a->plane, a->plane * sizeof(float));
        } else if (n->want_grad[which]) {
            float *dx = cpu_data(src->grad) + src_plane * a->plane;
            const float *dy = cpu_data(n->dst->grad) + q * a->plane;
            for (size_t i = 0; i < a->plane; i++)
                dx[i] += dy[i];
        }
    }
}

static mg_status concat_run(void *ctx, mg_node *n, bool backward)
{
    const mg_tensor *y = n->dst;
    concat_args a = {n, (size_t)y->shape[2] * y->shape[3], backward};
    mg_pool_for(((cpu_ctx *)ctx)->pool, (size_t)y->shape[0] * y->shape[1], cpu_grain(a.plane), concat_planes, &a);
    return MG_OK;
}

mg_status cpu_concat_fwd(void *ctx, mg_node *n) { return concat_run(ctx, n, false); }
mg_status cpu_concat_bwd(void *ctx, mg_node *n) { return concat_run(ctx, n, true); }

/* ------------------------------------------------------------------ nearest-neighbour upsampling */
typedef struct up_args {
    const float *src;
    float *dst;
    int h, w, f;
} up_args;

/* y[q, oy, ox] = x[q, oy / f, ox / f], one plane per item. */
CPU_VECTOR_CLONES static void up_fwd_planes(void *p, size_t q0, size_t q1)
{
    const up_args *a = p;
    const int wo = a->w * a->f;
    for (size_t q = q0; q < q1; q++) {
        const float *x = a->src + q * a->h * a->w;
        float *y = a->dst + q * a->h * a->f * wo;
        for (int iy = 0; iy < a->h; iy++, y += (size_t)a->f * wo) {
            for (int ix = 0; ix < a->w; ix++)
                for (int k = 0; k < a->f; k++)
                    y[ix * a->f + k] = x[(size_t)iy * a->w + ix];
            for (int r = 1; r < a->f; r++)
                memcpy(y + (size_t)r * wo, y, (size_t)wo * sizeof *y);
        }
    }
}

/* dx[q, iy, ix] += the f x f block of dy above it, summed row by row (the OpenCL kernel's order). */
CPU_VECTOR_CLONES static void up_bwd_planes(void *p, size_t q0, size_t q1)
{
    const up_args *a = p;
    const int wo = a->w * a->f;
    for (size_t q = q0; q < q1; q++) {
        float *dx = a->dst + q * a->h * a->w;
        const float *dy = a->src + q * a->h * a->f * wo;
        for (int iy = 0; iy < a->h; iy++)
            for (int ix = 0; ix < a->w; ix++) {
                float acc = dx[(size_t)iy * a->w + ix];
                for (int r = 0; r < a->f; r++)
                    for (int k = 0; k < a->f; k++)
                        acc += dy[((size_t)iy * a->f + r) * wo + (size_t)ix * a->f + k];
                dx[(size_t)iy * a->w + ix] = acc;
            }
    }
}

/* ------------------------------------------------------------------ bilinear upsampling */

/* PyTorch's Upsample(mode='bilinear', align_corners=False) along one axis of n input samples: output o reads
 * input i0 with weight 1 - l and i1 with weight l, its centre mapped back to (o + 0.5) / f - 0.5, clamped at 0. */
static inline void bilinear_taps(int o, int n, int f, int *i0, int *i1, float *l)
{
    float src = ((float)o + 0.5f) * (1.0f / (float)f) - 0.5f;
    src = src < 0.0f ? 0.0f : src;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < n - 1);
    *l = src - (float)*i0;
}

/* The weight output o gives input i (both taps count at the border, where i0 == i1). */
static inline float bilinear_weight(int o, int i, int n, int f)
{
    int i0, i1;
    float l;
    bilinear_taps(o, n, f, &i0, &i1, &l);
    return (i == i0 ? 1.0f - l : 0.0f) + (i == i1 ? l : 0.0f);
}

CPU_VECTOR_CLONES static void bilinear_fwd_planes(void *p, size_t q0, size_t q1)
{
    const up_args *a = p;
    const int wo = a->w * a->f, ho = a->h * a->f;
    for (size_t q = q0; q < q1; q++) {
        const float *x = a->src + q * a->h * a->w;
        float *y = a->dst + q * (size_t)ho * wo;
        for (int oy = 0; oy < ho; oy++) {
            int y0, y1;
            float ly;
            bilinear_taps(oy, a->h, a->f, &y0, &y1, &ly);
            for (int ox = 0; ox < wo; ox++) {
                int x0, x1;
                float lx;
                bilinear_taps(ox, a->w, a->f, &x0, &x1, &lx);
                const float *r0 = x + (size_t)y0 * a->w, *r1 = x + (size_t)y1 * a->w;
                y[(size_t)oy * wo + ox] =
                    (1.0f - ly) * ((1.0f - lx) * r0[x0] + lx * r0[x1]) + ly * ((1.0f - lx) * r1[x0] + lx * r1[x1]);
            }
        }
    }
}

/* dx[q, iy, ix] += the sum of dy over the outputs that read it, each times its weight, gathered (no two threads
 * write one input) in the OpenCL kernel's order: the outputs within f of the input's own block, row by row. */
CPU_VECTOR_CLONES static void bilinear_bwd_planes(void *p, size_t q0, size_t q1)
{
    const up_args *a = p;
    const int wo = a->w * a->f, ho = a->h * a->f;
    for (size_t q = q0; q < q1; q++) {
        float *dx = a->dst + q * a->h * a->w;
        const float *dy = a->src + q * (size_t)ho * wo;
        for (int iy = 0; iy < a->h; iy++)
            for (int ix = 0; ix < a->w; ix++) {
                float acc = dx[(size_t)iy * a->w + ix];
                const int oy_end = (iy + 2) * a->f < ho ? (iy + 2) * a->f : ho;
                const int ox_end = (ix + 2) * a->f < wo ? (ix + 2) * a->f : wo;
                for (int oy = (iy - 1) * a->f > 0 ? (iy - 1) * a->f : 0; oy < oy_end; oy++) {
                    const float wy = bilinear_weight(oy, iy, a->h, a->f);
                    if (wy == 0.0f)
                        continue;
                    for (int ox = (ix - 1) * a->f > 0 ? (ix - 1) * a->f : 0; ox < ox_end; ox++) {
                        const float wx = bilinear_weight(ox, ix, a->w, a->f);
                        if (wx != 0.0f)
                            acc += wy * wx * dy[(size_t)oy * wo + ox];
                    }
                }
                dx[(size_t)iy * a->w + ix] = acc;
            }
    }
}

/* ------------------------------------------------------------------ both upsamplings: the same arguments, one
 * plane per item, each its own plane loops */
static mg_status up_run(void *ctx, mg_node *n, bool backward)
{
    const mg_tensor *x = n->src[0];
    if (backward && !n->want_grad[0])
        return MG_OK;
    up_args a = {.h = x->shape[2], .w = x->shape[3], .f = n->p.factor};
    a.src = cpu_data(backward ? n->dst->grad : x);
    a.dst = cpu_data(backward ? x->grad : n->dst);
    mg_pool_for(((cpu_ctx *)ctx)->pool, (size_t)x->shape[0] * x->shape[1],
                cpu_grain((size_t)n->dst->shape[2] * n->dst->shape[3]),
                n->op == MG_OP_BILINEAR2D ? (backward ? bilinear_bwd_planes : bilinear_fwd_planes)
                : backward                ? up_bwd_planes
                                          : up_fwd_planes,
                &a);
    return MG_OK;
}

mg_status cpu_upsample2d_fwd(void *ctx, mg_node *n) { return up_run(ctx, n, false); }
mg_status cpu_upsample2d_bwd(void *ctx, mg_node *n) { return up_run(ctx, n, true); }
mg_status cpu_bilinear2d_fwd(void *ctx, mg_node *n) { return up_run(ctx, n, false); }
mg_status cpu_bilinear2d_bwd(void *ctx, mg_node *n) { return up_run(ctx, n, true); }
