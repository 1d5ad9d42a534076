/* Elementwise ops on the CPU: activations, dropout, add, scale. One chunk function per direction
 * switches on the op; the loops are split evenly over the pool. */
#include <math.h>

#include "cpu.h"

typedef struct ew_args {
    mg_op op;
    const mg_op_params *p;
    const float *x, *x2, *y, *dy;
    float *out, *out2, *mask;
} ew_args;

#define EW_GRAIN 16384

CPU_VECTOR_CLONES static void ew_fwd_chunk(void *arg, size_t b, size_t e)
{
    const ew_args *a = arg;
    const float *x = a->x;
    float *y = a->out, f = a->p->f;
    switch (a->op) {
    case MG_OP_RELU:
        for (size_t i = b; i < e; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case MG_OP_LEAKY_RELU:
        for (size_t i = b; i < e; i++)
            y[i] = x[i] > 0.0f ? x[i] : x[i] * f;
        break;
    case MG_OP_TANH:
        for (size_t i = b; i < e; i++)
            y[i] = tanhf(x[i]);
        break;
    case MG_OP_SIGMOID:
        for (size_t i = b; i < e; i++)
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case MG_OP_SCALE:
        for (size_t i = b; i < e; i++)
            y[i] = x[i] * f;
        break;
    case MG_OP_ADD:
        for (size_t i = b; i < e; i++)
            y[i] = x[i] + a->x2[i];
        break;
    case MG_OP_DROPOUT: {
        float keep_scale = f < 1.0f ? 1.0f / (1.0f - f) : 0.0f;
        for (size_t i = b; i < e; i++) {
            float m = mg_hash_uniform(a->p->key, i) >= f ? keep_scale : 0.0f;
            a->mask[i] = m;
            y[i] = x[i] * m;
        }
        break;
    }
    default: break;
    }
}

/* Adds each op's local derivative times dy into dx (and dx2 for add). */
CPU_VECTOR_CLONES static void ew_bwd_chunk(void *arg, size_t b, size_t e)
{
    const ew_args *a = arg;
    const float *x = a->x, *y = a->y, *dy = a->dy;
    float *dx = a->out, f = a->p->f;
    switch (a->op) {
    case MG_OP_RELU:
        for (size_t i = b; i < e; i++) { /* dy read whatever the sign: a load under the select kept this loop scalar */
            float g = dy[i];
            dx[i] += x[i] > 0.0f ? g : 0.0f;
        }
        break;
    case MG_OP_LEAKY_RELU:
        for (size_t i = b; i < e; i++)
            dx[i] += x[i] > 0.0f ? dy[i] : dy[i] * f;
        break;
    case MG_OP_TANH:
        for (size_t i = b; i < e; i++)
            dx[i] += dy[i] * (1.0f - y[i] * y[i]);
        break;
    case MG_OP_SIGMOID:
        for (size_t i = b; i < e; i++)
            dx[i] += dy[i] * (1.0f - y[i]) * y[i];
        break;
    case MG_OP_SCALE:
        for (size_t i = b; i < e; i++)
            dx[i] += dy[i] * f;
        break;
    case MG_OP_ADD:
        for (size_t i = b; dx && i < e; i++)
            dx[i] += dy[i];
        for (size_t i = b; a->out2 && i < e; i++)
            a->out2[i] += dy[i];
        break;
    case MG_OP_DROPOUT:
        for (size_t i = b; i < e; i++)
            dx[i] += dy[i] * a->mask[i];
        break;
    default: break;
    }
}

static mg_status ew_fwd(void *ctx, mg_node *n)
{
    ew_args a = {
        .op = n->op,
        .p = &n->p,
        .x = cpu_data(n->src[0]),
        .x2 = n->n_src > 1 ? cpu_data(n->src[1]) : NULL,
        .out = cpu_data(n->dst),
        .mask = n->aux ? cpu_data(n->aux) : NULL,
    };
    mg_pool_for(((cpu_ctx *)ctx)->pool, n->dst->numel, EW_GRAIN, ew_fwd_chunk, &a);
    return MG_OK;
}

static mg_status ew_bwd(void *ctx, mg_node *n)
{
    ew_args a = {
        .op = n->op,
        .p = &n->p,
        .x = cpu_data(n->src[0]),
        .y = cpu_data(n->dst),
        .dy = cpu_data(n->dst->grad),
        .out = n->want_grad[0] ? cpu_data(n->src[0]->grad) : NULL,
        .out2 = n->n_src > 1 && n->want_grad[1] ? cpu_data(n->src[1]->grad) : NULL,
        .mask = n->aux ? cpu_data(n->aux) : NULL,
    };
    if (a.out || a.out2)
        mg_pool_for(((cpu_ctx *)ctx)->pool, n->dst->numel, EW_GRAIN, ew_bwd_chunk, &a);
    return MG_OK;
}

#define EW_KERNELS(name)                                                                                               \
    mg_status cpu_##name##_fwd(void *ctx, mg_node *n) { return ew_fwd(ctx, n); }                                       \
    mg_status cpu_##name##_bwd(void *ctx, mg_node *n) { return ew_bwd(ctx, n); }
EW_KERNELS(relu)
EW_KERNELS(leaky_relu)
EW_KERNELS(tanh)
EW_KERNELS(sigmoid)
EW_KERNELS(scale)
EW_KERNELS(add)
EW_KERNELS(dropout)
