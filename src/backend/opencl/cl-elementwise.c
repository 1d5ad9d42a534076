/* Elementwise ops on OpenCL: relu, leaky relu, tanh, sigmoid, scale, add and dropout, one work-item per
 * element (cl/elementwise.cl) with the CPU backend's float expressions. Backward kernels add into the
 * input gradients. Dropout hashes (key, element index) on the device exactly as mg_hash_uniform does,
 * so its masks equal the CPU backend's. */
#include "cl-internal.h"

#define FAMILY "elementwise"

/* y = f(x) through the kernel `name`; p.f goes along as the op's parameter. */
static mg_status unary_fwd(cl_ctx *c, const char *name, const mg_node *n)
{
    const mg_tensor *x = n->src[0], *y = n->dst;
    cl_mem xb = cl_buf(x), yb = cl_buf(y);
    cl_uint xo = cl_off(x), yo = cl_off(y), len = (cl_uint)y->numel;
    float f = n->p.f;
    return cl_call(c, FAMILY, name, len, 0, 6, CL_ARG(xb), CL_ARG(xo), CL_ARG(yb), CL_ARG(yo), CL_ARG(len), CL_ARG(f));
}

/* dx += f'(in) * dy through the kernel `name`, where in is what the derivative reads (x, y or the mask). */
static mg_status unary_bwd(cl_ctx *c, const char *name, const mg_node *n, const mg_tensor *in)
{
    if (!n->want_grad[0])
        return MG_OK;
    const mg_tensor *dy = n->dst->grad, *dx = n->src[0]->grad;
    cl_mem ib = cl_buf(in), dyb = cl_buf(dy), dxb = cl_buf(dx);
    cl_uint io = cl_off(in), dyo = cl_off(dy), dxo = cl_off(dx), len = (cl_uint)dy->numel;
    float f = n->p.f;
    return cl_call(c, FAMILY, name, len, 0, 8, CL_ARG(ib), CL_ARG(io), CL_ARG(dyb), CL_ARG(dyo), CL_ARG(dxb),
                   CL_ARG(dxo), CL_ARG(len), CL_ARG(f));
}

mg_status cl_relu_fwd(void *ctx, mg_node *n) { return unary_fwd(ctx, "relu_fwd", n); }
mg_status cl_relu_bwd(void *ctx, mg_node *n) { return unary_bwd(ctx, "relu_bwd", n, n->src[0]); }
mg_status cl_leaky_relu_fwd(void *ctx, mg_node *n) { return unary_fwd(ctx, "leaky_relu_fwd", n); }
mg_status cl_leaky_relu_bwd(void *ctx, mg_node *n) { return unary_bwd(ctx, "leaky_relu_bwd", n, n->src[0]); }
mg_status cl_tanh_fwd(void *ctx, mg_node *n) { return unary_fwd(ctx, "tanh_fwd", n); }
mg_status cl_tanh_bwd(void *ctx, mg_node *n) { return unary_bwd(ctx, "tanh_bwd", n, n->dst); }
mg_status cl_sigmoid_fwd(void *ctx, mg_node *n) { return unary_fwd(ctx, "sigmoid_fwd", n); }
mg_status cl_sigmoid_bwd(void *ctx, mg_node *n) { return unary_bwd(ctx, "sigmoid_bwd", n, n->dst); }
mg_status cl_scale_fwd(void *ctx, mg_node *n) { return unary_fwd(ctx, "scale_fwd", n); }
mg_status cl_scale_bwd(void *ctx, mg_node *n) { return unary_bwd(ctx, "scale_bwd", n, n->dst->grad); }

mg_status cl_dropout_fwd(void *ctx, mg_node *n)
{
    const mg_tensor *x = n->src[0], *y = n->dst, *m = n->aux;
    cl_mem xb = cl_buf(x), yb = cl_buf(y), mb = cl_buf(m);
    cl_uint xo = cl_off(x), yo = cl_off(y), mo = cl_off(m), len = (cl_uint)y->numel;
    cl_ulong key = n->p.key;
    float p = n->p.f, keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    return cl_call(ctx, FAMILY, "dropout_fwd", len, 0, 10, CL_ARG(xb), CL_ARG(xo), CL_ARG(yb), CL_ARG(yo), CL_ARG(mb),
                   CL_ARG(mo), CL_ARG(len), CL_ARG(key), CL_ARG(p), CL_ARG(keep_scale));
}

mg_status cl_dropout_bwd(void *ctx, mg_node *n) { return unary_bwd(ctx, "dropout_bwd", n, n->aux); }

mg_status cl_add_fwd(void *ctx, mg_node *n)
{
    const mg_tensor *a = n->src[0], *b = n->src[1], *y = n->dst;
    cl_mem ab = cl_buf(a), bb = cl_buf(b), yb = cl_buf(y);
    cl_uint ao = cl_off(a), bo = cl_off(b), yo = cl_off(y), len = (cl_uint)y->numel;
    return cl_call(ctx, FAMILY, "add_fwd", len, 0, 7, CL_ARG(ab), CL_ARG(ao), CL_ARG(bb), CL_ARG(bo), CL_ARG(yb),
                   CL_ARG(yo), CL_ARG(len));
}

/* Each wanted input gradient += dy, one pass each (they may be the same tensor, as in add(x, x)). */
mg_status cl_add_bwd(void *ctx, mg_node *n)
{
    const mg_tensor *dy = n->dst->grad;
    cl_mem dyb = cl_buf(dy);
    cl_uint dyo = cl_off(dy), len = (cl_uint)dy->numel;
    for (int i = 0; i < 2; i++) {
        if (!n->want_grad[i])
            continue;
        cl_mem dxb = cl_buf(n->src[i]->grad);
        cl_uint dxo = cl_off(n->src[i]->grad);
        mg_status s = cl_call(ctx, FAMILY, "accumulate", len, 0, 5, CL_ARG(dxb), CL_ARG(dxo), CL_ARG(dyb), CL_ARG(dyo),
                              CL_ARG(len));
        if (s != MG_OK)
            return s;
    }
    return MG_OK;
}
