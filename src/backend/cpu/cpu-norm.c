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

static void norm_fwd_planes(void *p, size_t q0, size_t q1)
{
    const norm_args *a = p;
    for (size_t q = q0; q < q1; q++) {
        const float *x = a->x + q * a->plane;
        float *y = a->y + q * a->plane;
        double sum = 0.0, sq = 0.0;
        for (size_t i = 0; i < a->plane; i++)
            sum += x[i];
        double mean = sum / (double)a->plane;
        for (size_t i = 0; i < a->plane; i++)
            sq += (x[i] - mean) * (x[i] - mean);
        float rstd = (float)(1.0 / sqrt(sq / (double)a->plane + a->eps));
        float m = (float)mean;
        size_t ch = q % (size_t)a->c;
        float scale = a->gamma ? a->gamma[ch] * rstd : rstd, shift = a->beta ? a->beta[ch] : 0.0f;
        if (a->act) {
            const float slope = a->slope;
            for (size_t i = 0; i < a->plane; i++) {
                float v = (x[i] - m) * scale + shift;
                y[i] = v > 0.0f ? v : v * slope;
            }
        } else {
            for (size_t i = 0; i < a->plane; i++)
                y[i] = (x[i] - m) * scale + shift;
        }
        a->stats[2 * q] = m;
        a->stats[2 * q + 1] = rstd;
    }
}

/* One thread per channel: it owns dgamma[c] and dbeta[c] and every plane (n, c). With
 * xhat = (x - mean) * rstd and g = dy * gamma:
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). */
static void norm_bwd_channels(void *p, size_t c0, size_t c1)
{
    const norm_args *a = p;
    const double inv = 1.0 / (double)a->plane;
    for (size_t ch = c0; ch < c1; ch++) {
        float gm = a->gamma ? a->gamma[ch] : 1.0f;
        double dgamma = 0.0, dbeta = 0.0;
        for (int n = 0; n < a->n; n++) {
            size_t q = (size_t)n * a->c + ch;
            const float *x = a->x + q * a->plane, *dy = a->dy + q * a->plane, *y = a->y + q * a->plane;
            const float slope = a->slope;
            float mean = a->stats[2 * q], rstd = a->stats[2 * q + 1];
            double s_dy = 0.0, s_dy_xhat = 0.0;
            for (size_t i = 0; i < a->plane; i++) {
                double xhat = (double)(x[i] - mean) * rstd;
                float g = a->act && !(y[i] > 0.0f) ? dy[i] * slope : dy[i];
                s_dy += g;
                s_dy_xhat += g * xhat;
            }
            dgamma += s_dy_xhat;
            dbeta += s_dy;
            if (!a->dx)
                continue;
            float *dx = a->dx + q * a->plane;
            float mg = (float)(gm * s_dy * inv), mgx = (float)(gm * s_dy_xhat * inv);
            for (size_t i = 0; i < a->plane; i++) {
                float xhat = (x[i] - mean) * rstd, g = a->act && !(y[i] > 0.0f) ? dy[i] * slope : dy[i];
                dx[i] += rstd * (gm * g - mg - xhat * mgx);
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
