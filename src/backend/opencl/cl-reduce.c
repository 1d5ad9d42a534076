/* Reductions to one value on OpenCL: sum, mean and the mean-reduced losses MSE, L1 and BCE-with-logits
 * (cl/reduce.cl). Forward runs in two deterministic stages: fixed blocks of elements, one work-group
 * each, into the partials workspace (a double-float pair per block), then one work-group sums the
 * partials in a fixed order. The block size depends only on the element count and the work-group size.
 * Backward reads the upstream gradient on the device, so a training step never waits for the host. */
#include "cl-internal.h"

#define FAMILY "reduce"

/* Op codes of cl/reduce.cl. */
enum { RED_SUM = 0, RED_MSE = 1, RED_L1 = 2, RED_BCE = 3 };

#define RED_MIN_ITEMS  8    /* elements per work-item in a block, at least */
#define RED_MAX_BLOCKS 1024 /* blocks, at most */

/* Elements per block: a multiple of ls, at least RED_MIN_ITEMS per work-item, and few enough blocks. */
static size_t block_size(size_t n, size_t ls)
{
    size_t per = ls * RED_MIN_ITEMS;
    if ((n + per - 1) / per > RED_MAX_BLOCKS)
        per = ((n + RED_MAX_BLOCKS - 1) / RED_MAX_BLOCKS + ls - 1) / ls * ls;
    return per;
}

/* x's tensor when the op has no target: a placeholder the kernel never reads. */
static const mg_tensor *target_of(const mg_node *n) { return n->n_src > 1 && n->src[1] ? n->src[1] : n->src[0]; }

/* What the sum is divided by: n for the mean-reduced ops, else 1. */
static float red_divisor(bool mean, size_t n) { return mean ? (float)n : 1.0f; }

/* y[0] = the sum (mean: / n) of op's terms of x (and t, unread for RED_SUM). */
static mg_status red_run(cl_ctx *c, cl_int op, const mg_tensor *x, const mg_tensor *t, const mg_tensor *y, bool mean)
{
    size_t ls = cl_local_size(c, FAMILY, "reduce_blocks"), ls_final = cl_local_size(c, FAMILY, "reduce_final");
    if (ls_final < ls)
        ls = ls_final;
    size_t per = block_size(x->numel, ls), blocks = (x->numel + per - 1) / per;
    cl_mem part;
    mg_status s = cl_partials(c, 2 * blocks, &part);
    if (s != MG_OK)
        return s;
    cl_mem xb = cl_buf(x), tb = cl_buf(t), yb = cl_buf(y);
    cl_uint xo = cl_off(x), to = cl_off(t), yo = cl_off(y), len = (cl_uint)x->numel, per_u = (cl_uint)per,
            nb = (cl_uint)blocks;
    s = cl_call(c, FAMILY, "reduce_blocks", blocks * ls, ls, 9, CL_ARG(op), CL_ARG(xb), CL_ARG(xo), CL_ARG(tb),
                CL_ARG(to), CL_ARG(len), CL_ARG(per_u), CL_ARG(part), 2 * ls * sizeof(float), (const void *)NULL);
    if (s != MG_OK)
        return s;
    float divisor = red_divisor(mean, x->numel);
    return cl_call(c, FAMILY, "reduce_final", ls, ls, 6, CL_ARG(part), CL_ARG(nb), CL_ARG(yb), CL_ARG(yo),
                   CL_ARG(divisor), 2 * ls * sizeof(float), (const void *)NULL);
}

static mg_status red_fwd(cl_ctx *c, const mg_node *n, cl_int op, bool mean)
{
    return red_run(c, op, n->src[0], target_of(n), n->dst, mean);
}

/* dx (NULL: not wanted) and dt (likewise) get the gradients of op's sum (mean) given its gradient dy. The
 * buffer of a gradient not wanted is replaced by x's, which the kernel then never writes. */
static mg_status red_grad(cl_ctx *c, cl_int op, const mg_tensor *x, const mg_tensor *t, const mg_tensor *dy,
                          const mg_tensor *dx, const mg_tensor *dt, bool mean)
{
    cl_int want_x = dx != NULL, want_t = dt != NULL;
    if (!want_x && !want_t)
        return MG_OK;
    dx = want_x ? dx : x;
    dt = want_t ? dt : x;
    cl_mem xb = cl_buf(x), tb = cl_buf(t), dyb = cl_buf(dy), dxb = cl_buf(dx), dtb = cl_buf(dt);
    cl_uint xo = cl_off(x), to = cl_off(t), dyo = cl_off(dy), dxo = cl_off(dx), dto = cl_off(dt),
            len = (cl_uint)x->numel;
    float divisor = red_divisor(mean, x->numel);
    return cl_call(c, FAMILY, "reduce_bwd", len, 0, 15, CL_ARG(op), CL_ARG(xb), CL_ARG(xo), CL_ARG(tb), CL_ARG(to),
                   CL_ARG(dyb), CL_ARG(dyo), CL_ARG(divisor), CL_ARG(dxb), CL_ARG(dxo), CL_ARG(want_x), CL_ARG(dtb),
                   CL_ARG(dto), CL_ARG(want_t), CL_ARG(len));
}

static mg_status red_bwd(cl_ctx *c, const mg_node *n, cl_int op, bool mean)
{
    const mg_tensor *x = n->src[0], *t = target_of(n);
    return red_grad(c, op, x, t, n->dst->grad, n->want_grad[0] ? x->grad : NULL,
                    n->n_src > 1 && n->want_grad[1] ? t->grad : NULL, mean);
}

mg_status cl_mse_value(cl_ctx *c, const mg_tensor *x, const mg_tensor *t, const mg_tensor *y)
{
    return red_run(c, RED_MSE, x, t, y, true);
}

mg_status cl_mse_grad(cl_ctx *c, const mg_tensor *x, const mg_tensor *t, const mg_tensor *dy, const mg_tensor *dx)
{
    return red_grad(c, RED_MSE, x, t, dy, dx, NULL, true);
}

#define RED_KERNELS(name, code, is_mean)                                                                               \
    mg_status cl_##name##_fwd(void *ctx, mg_node *n) { return red_fwd(ctx, n, code, is_mean); }                        \
    mg_status cl_##name##_bwd(void *ctx, mg_node *n) { return red_bwd(ctx, n, code, is_mean); }
RED_KERNELS(sum, RED_SUM, false)
RED_KERNELS(mean, RED_SUM, true)
RED_KERNELS(mse_loss, RED_MSE, true)
RED_KERNELS(l1_loss, RED_L1, true)
RED_KERNELS(bce_logits_loss, RED_BCE, true)
