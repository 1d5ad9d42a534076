/* Reductions to one value on the CPU: sum, mean and the mean-reduced losses MSE, L1 and
 * BCE-with-logits. Sums run in double over fixed blocks (cpu_reduce), so they do not depend on the
 * thread count. */
#include <math.h>

#include "cpu.h"

typedef struct red_args {
    mg_op op;
    const float *x, *t;
    float *dx, *dt;
    float g; /* upstream gradient times 1/n for the mean-reduced ops */
} red_args;

static double red_block(void *arg, size_t b, size_t e)
{
    const red_args *a = arg;
    const float *x = a->x, *t = a->t;
    double s = 0.0;
    switch (a->op) {
    case MG_OP_SUM:
    case MG_OP_MEAN:
        for (size_t i = b; i < e; i++)
            s += x[i];
        break;
    case MG_OP_MSE_LOSS:
        for (size_t i = b; i < e; i++) {
            double d = (double)x[i] - t[i];
            s += d * d;
        }
        break;
    case MG_OP_L1_LOSS:
        for (size_t i = b; i < e; i++)
            s += fabs((double)x[i] - t[i]);
        break;
    case MG_OP_BCE_LOGITS_LOSS:
        /* max(x, 0) - x t + log(1 + exp(-|x|)): stable for any x. */
        for (size_t i = b; i < e; i++) {
            double v = x[i];
            s += (v > 0.0 ? v : 0.0) - v * t[i] + log1p(exp(-fabs(v)));
        }
        break;
    default: break;
    }
    return s;
}

static void red_bwd_chunk(void *arg, size_t b, size_t e)
{
    const red_args *a = arg;
    const float *x = a->x, *t = a->t, g = a->g;
    for (size_t i = b; i < e; i++) {
        float d; /* d loss / d x[i], before the factor g */
        switch (a->op) {
        case MG_OP_MSE_LOSS: d = 2.0f * (x[i] - t[i]); break;
        case MG_OP_L1_LOSS: d = x[i] > t[i] ? 1.0f : x[i] < t[i] ? -1.0f : 0.0f; break;
        case MG_OP_BCE_LOGITS_LOSS: d = 1.0f / (1.0f + expf(-x[i])) - t[i]; break;
        default: d = 1.0f; break;
        }
        if (a->dx)
            a->dx[i] += g * d;
        if (a->dt) /* d/dt is -d for MSE and L1, and -x for BCE-with-logits */
            a->dt[i] -= g * (a->op == MG_OP_BCE_LOGITS_LOSS ? x[i] : d);
    }
}

/* *out = op's sum of n elements of x (and t), divided by n for the mean-reduced ops. */
static mg_status red_value(void *ctx, mg_op op, const float *x, const float *t, size_t n, float *out)
{
    red_args a = {op, x, t, NULL, NULL, 0.0f};
    double s;
    mg_status st = cpu_reduce(ctx, n, red_block, &a, &s);
    if (st == MG_OK)
        *out = (float)(op == MG_OP_SUM ? s : s / (double)n);
    return st;
}

/* dx and dt (each NULL when not wanted) get the gradient of that value, given its gradient g. */
static void red_grad(void *ctx, mg_op op, const float *x, const float *t, size_t n, float g, float *dx, float *dt)
{
    red_args a = {.op = op, .x = x, .t = t, .dx = dx, .dt = dt, .g = op == MG_OP_SUM ? g : (float)(g / (double)n)};
    mg_pool_for(((cpu_ctx *)ctx)->pool, n, 16384, red_bwd_chunk, &a);
}

static mg_status red_fwd(void *ctx, mg_node *n)
{
    const mg_tensor *x = n->src[0];
    return red_value(ctx, n->op, cpu_data(x), n->n_src > 1 ? cpu_data(n->src[1]) : NULL, x->numel, cpu_data(n->dst));
}

static mg_status red_bwd(void *ctx, mg_node *n)
{
    const mg_tensor *x = n->src[0];
    red_grad(ctx, n->op, cpu_data(x), n->n_src > 1 ? cpu_data(n->src[1]) : NULL, x->numel, cpu_data(n->dst->grad)[0],
             n->want_grad[0] ? cpu_data(x->grad) : NULL,
             n->n_src > 1 && n->want_grad[1] ? cpu_data(n->src[1]->grad) : NULL);
    return MG_OK;
}

#define RED_KERNELS(name)                                                                                              \
    mg_status cpu_##name##_fwd(void *ctx, mg_node *n) { return red_fwd(ctx, n); }                                      \
    mg_status cpu_##name##_bwd(void *ctx, mg_node *n) { return red_bwd(ctx, n); }
RED_KERNELS(sum)
RED_KERNELS(mean)
RED_KERNELS(mse_loss)
RED_KERNELS(l1_loss)
RED_KERNELS(bce_logits_loss)

/* The mean squared error of x against t over n elements, and its gradient g * 2 (x - t) / n added into dx, for
 * ops that build their own target (quantile_loss). */
mg_status cpu_mse_value(void *ctx, const float *x, const float *t, size_t n, float *out)
{
    return red_value(ctx, MG_OP_MSE_LOSS, x, t, n, out);
}

void cpu_mse_grad(void *ctx, const float *x, const float *t, size_t n, float g, float *dx)
{
    red_grad(ctx, MG_OP_MSE_LOSS, x, t, n, g, dx, NULL);
}
