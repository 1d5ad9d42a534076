/* Normalised gradient fields on the CPU (mg_ngf_map): a per-pixel stencil over the pixel, its right and its lower
 * neighbour. The backward pass gathers, for each pixel, the terms of the three map values that read it, so no two
 * threads write the same element; cl/ngf.cl computes the same expressions in the same order. */
#include "cpu.h"

typedef struct ngf_args {
    const float *x, *y, *dm; /* inputs; the map's gradient (backward) */
    float *out, *dx, *dy;    /* the map (forward); the inputs' gradients (backward, NULL when not wanted) */
    int h, w;
    float e2;
} ngf_args;

/* The map at (i, j) of one plane, and with d non-NULL its derivatives by the forward differences there:
 * d[0], d[1] by x's horizontal and vertical difference, d[2], d[3] by y's. */
static float ngf_at(const float *x, const float *y, int h, int w, int i, int j, float e2, float d[4])
{
    size_t p = (size_t)i * w + j;
    float ax = j + 1 < w ? x[p + 1] - x[p] : 0.0f, ay = i + 1 < h ? x[p + w] - x[p] : 0.0f;
    float bx = j + 1 < w ? y[p + 1] - y[p] : 0.0f, by = i + 1 < h ? y[p + w] - y[p] : 0.0f;
    float na = ax * ax + ay * ay + e2, nb = bx * bx + by * by + e2, c = ax * bx + ay * by;
    float k = 2.0f * c / (na * nb);
    if (d) {
        d[0] = k * (c * ax / na - bx);
        d[1] = k * (c * ay / na - by);
        d[2] = k * (c * bx / nb - ax);
        d[3] = k * (c * by / nb - ay);
    }
    return 1.0f - c * c / (na * nb);
}

static void ngf_fwd_planes(void *p, size_t q0, size_t q1)
{
    const ngf_args *a = p;
    const size_t plane = (size_t)a->h * a->w;
    for (size_t q = q0; q < q1; q++)
        for (int i = 0; i < a->h; i++)
            for (int j = 0; j < a->w; j++)
                a->out[q * plane + (size_t)i * a->w + j] =
                    ngf_at(a->x + q * plane, a->y + q * plane, a->h, a->w, i, j, a->e2, NULL);
}

/* Pixel (i, j) enters the differences at itself (with sign -1), at (i, j-1) horizontally and at (i-1, j)
 * vertically (with sign +1); a difference across the last column or row is 0 and has no derivative. */
static void ngf_bwd_planes(void *p, size_t q0, size_t q1)
{
    const ngf_args *a = p;
    const size_t plane = (size_t)a->h * a->w;
    for (size_t q = q0; q < q1; q++) {
        const float *x = a->x + q * plane, *y = a->y + q * plane, *dm = a->dm + q * plane;
        for (int i = 0; i < a->h; i++)
            for (int j = 0; j < a->w; j++) {
                size_t at = (size_t)i * a->w + j;
                float d[4], gx = 0.0f, gy = 0.0f;
                ngf_at(x, y, a->h, a->w, i, j, a->e2, d);
                gx -= dm[at] * (d[0] + d[1]);
                gy -= dm[at] * (d[2] + d[3]);
                if (j > 0) {
                    ngf_at(x, y, a->h, a->w, i, j - 1, a->e2, d);
                    gx += dm[at - 1] * d[0];
                    gy += dm[at - 1] * d[2];
                }
                if (i > 0) {
                    ngf_at(x, y, a->h, a->w, i - 1, j, a->e2, d);
                    gx += dm[at - a->w] * d[1];
                    gy += dm[at - a->w] * d[3];
                }
                if (a->dx)
                    a->dx[q * plane + at] += gx;
                if (a->dy)
                    a->dy[q * plane + at] += gy;
            }
    }
}

static mg_status ngf_run(void *ctx, mg_node *n, bool backward)
{
    const mg_tensor *x = n->src[0];
    ngf_args a = {
        .x = cpu_data(x), .y = cpu_data(n->src[1]), .h = x->shape[2], .w = x->shape[3], .e2 = n->p.f * n->p.f};
    if (backward) {
        a.dm = cpu_data(n->dst->grad);
        a.dx = n->want_grad[0] ? cpu_data(x->grad) : NULL;
        a.dy = n->want_grad[1] ? cpu_data(n->src[1]->grad) : NULL;
        if (!a.dx && !a.dy)
            return MG_OK;
    } else {
        a.out = cpu_data(n->dst);
    }
    mg_pool_for(((cpu_ctx *)ctx)->pool, (size_t)x->shape[0] * x->shape[1],
                cpu_grain((size_t)(backward ? 3 : 1) * 16 * x->shape[2] * x->shape[3]),
                backward ? ngf_bwd_planes : ngf_fwd_planes, &a);
    return MG_OK;
}

mg_status cpu_ngf_map_fwd(void *ctx, mg_node *n) { return ngf_run(ctx, n, false); }
mg_status cpu_ngf_map_bwd(void *ctx, mg_node *n) { return ngf_run(ctx, n, true); }
