/* Instance normalisation on the CPU: statistics per (n, c) plane in double precision, biased
 * variance, as torch.nn.functional.instance_norm. aux holds mean and 1/std per plane for backward.
 * With p.act, a leaky ReLU of slope p.slope follows in the same pass; backward reads its slope at each pixel from
 * the output's sign (slope >= 0 keeps it) and x's normalised value from x and the statistics. */
#include <math.h>

#include "cpu.h"

typedef struct norm_args {
    const float *x, *gamma, *beta, *dy;
    float *y, *stats, *dx, *dgamma, *dbeta;
    int n, c;
    size_t plane;
    float eps;
    bool act;
    float slope;
} norm_args;

/* sum(x) and, with mean given, sum((x - mean)^2), in CPU_LANES partial sums (cpu.h); one thread sums a plane */
static double norm_sum(const float *x, size_t n, bool squares, double mean)
{
    double part[CPU_LANES] = {0};
    size_t i = 0;
    if (squares)
        for (; i + CPU_LANES <= n; i += CPU_LANES)
            for (int k = 0; k < CPU_LANES; k++)
                part[k] += (x[i + k] - mean) * (x[i + k] - mean);
    else
        for (; i + CPU_LANES <= n; i += CPU_LANES)
            for (int k = 0; k < CPU_LANES; k++)
                part[k] += x[i + k];
    double s = cpu_lanes_total(part);
    for (; i < n; i++)
        s += squares ? (x[i] - mean) * (x[i] - mean) : x[i];
    return s;
}

/* The gradient reaching the norm's output: dy, times the activation's slope where the fused activation was off (slope
 * 1 without act): a select that the build's -fno-trapping-math lets the compiler vectorise. Callers pass the slope as
 * a local: a store through a float pointer could change a->slope, so a loop that read it there would not vectorise. */
static inline float norm_grad_in(float slope, float y, float dy) { return dy * (y > 0.0f ? 1.0f : slope); }

/* sum(g) and sum(g * xhat) of one plane, g as norm_grad_in: two loops, because GCC 12 vectorises a loop with one set
 * of double partial sums but not with two */
static void norm_grad_sums(const norm_args *a, const float *x, const float *y, const float *dy, float mean, float rstd,
                           double *s_g, double *s_gx)
{
    double pg[CPU_LANES] = {0}, px[CPU_LANES] = {0};
    const float slope = a->act ? a->slope : 1.0f;
    const size_t n = a->plane, end = n / CPU_LANES * CPU_LANES;
    for (size_t i = 0; i < end; i += CPU_LANES)
        for (int k = 0; k < CPU_LANES; k++)
            pg[k] += norm_grad_in(slope, y[i + k], dy[i + k]);
    for (size_t i = 0; i < end; i += CPU_LANES)
        for (int k = 0; k < CPU_LANES; k++)
            px[k] += norm_grad_in(slope, y[i + k], dy[i + k]) * ((double)(x[i + k] - mean) * rstd);
    *s_g = cpu_lanes_total(pg);
    *s_gx = cpu_lanes_total(px);
    for (size_t i = end; i < n; i++) {
        float g = norm_grad_in(slope, y[i], dy[i]);
        *s_g += g;
        *s_gx += g * ((double)(x[i] - mean) * rstd);
    }
}

CPU_VECTOR_CLONES static void norm_fwd_planes(void *p, size_t q0, size_t q1)
{
    const norm_args *a = p;
    for (size_t q = q0; q < q1; q++) {
        const float *x = a->x + q * a->plane;
        float *y = a->y + q * a->plane;
        double mean = norm_sum(x, a->plane, false, 0.0) / (double)a->plane;
        double sq = norm_sum(x, a->plane, true, mean);
        float rstd = (float)(1.0 / sqrt(sq / (double)a->plane + a->eps));
        float m = (float)mean;
        size_t ch = q % (size_t)a->c;
        float scale = a->gamma ? a->gamma[ch] * rstd : rstd, shift = a->beta ? a->beta[ch] : 0.0f;
        const float slope = a->act ? a->slope : 1.0f; /* locals, as in norm_grad_in */
        for (size_t i = 0, n = a->plane; i < n; i++) {
            float v = (x[i] - m) * scale + shift;
            y[i] = v * (v > 0.0f ? 1.0f : slope);
        }
        a->stats[2 * q] = m;
        a->stats[2 * q + 1] = rstd;
    }
}

/* One thread per channel: it owns dgamma[c] and dbeta[c] and every plane (n, c). With
 * xhat = (x - mean) * rstd and g = dy * gamma:
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). */
CPU_VECTOR_CLONES static void norm_bwd_channels(void *p, size_t c0, size_t c1)
{
    const norm_args *a = p;
    const double inv = 1.0 / (double)a->plane;
    for (size_t ch = c0; ch < c1; ch++) {
        float gm = a->gamma ? a->gamma[ch] : 1.0f;
        double dgamma = 0.0, dbeta = 0.0;
        for (int n = 0; n < a->n; n++) {
            size_t q = (size_t)n * a->c + ch;
            const float *x = a->x + q * a->plane, *dy = a->dy + q * a->plane, *y = a->y + q * a->plane;
            float mean = a->stats[2 * q], rstd = a->stats[2 * q + 1];
            double s_dy, s_dy_xhat;
            norm_grad_sums(a, x, y, dy, mean, rstd, &s_dy, &s_dy_xhat);
            dgamma += s_dy_xhat;
            dbeta += s_dy;
            if (!a->dx)
                continue;
            float *dx = a->dx + q * a->plane;
            float mg = (float)(gm * s_dy * inv), mgx = (float)(gm * s_dy_xhat * inv);
            const float slope = a->act ? a->slope : 1.0f;
            for (size_t i = 0, n = a->plane; i < n; i++) {
                float xhat = (x[i] - mean) * rstd;
                dx[i] += rstd * (gm * norm_grad_in(slope, y[i], dy[i]) - mg - xhat * mgx);
            }
        }
        if (a->dgamma)
            a->dgamma[ch] += (float)dgamma;
        if (a->dbeta)
            a->dbeta[ch] += (float)dbeta;
    }
}

static norm_args norm_args_of(const mg_node *n)
{
    const mg_tensor *x = n->src[0];
    return (norm_args){
        .x = cpu_data(x),
        .gamma = n->src[1] ? cpu_data(n->src[1]) : NULL,
        .beta = n->src[2] ? cpu_data(n->src[2]) : NULL,
        .y = cpu_data(n->dst),
        .stats = cpu_data(n->aux),
        .n = x->shape[0],
        .c = x->shape[1],
        .plane = (size_t)x->shape[2] * x->shape[3],
        .eps = n->p.f,
        .act = n->p.act,
        .slope = n->p.slope,
    };
}

mg_status cpu_instance_norm_fwd(void *ctx, mg_node *n)
{
    norm_args a = norm_args_of(n);
    mg_pool_for(((cpu_ctx *)ctx)->pool, (size_t)a.n * a.c, cpu_grain(3 * a.plane), norm_fwd_planes, &a);
    return MG_OK;
}

mg_status cpu_instance_norm_bwd(void *ctx, mg_node *n)
{
    norm_args a = norm_args_of(n);
    a.dy = cpu_data(n->dst->grad);
    a.dx = n->want_grad[0] ? cpu_data(n->src[0]->grad) : NULL;
    a.dgamma = n->want_grad[1] ? cpu_data(n->src[1]->grad) : NULL;
    a.dbeta = n->want_grad[2] ? cpu_data(n->src[2]->grad) : NULL;
    mg_pool_for(((cpu_ctx *)ctx)->pool, (size_t)a.c, cpu_grain(3 * a.plane * a.n), norm_bwd_channels, &a);
    return MG_OK;
}
