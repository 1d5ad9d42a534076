/* Instance normalisation on OpenCL (cl/norm.cl), the CPU backend's formulas: one work-group per (n, c)
 * plane for the statistics and the output, aux = mean and 1/std per plane. Backward runs one work-group
 * per plane for dx and the plane's sums of dy and dy * xhat (into the workspace), then one work-item per
 * channel adds those over the batch in sample order into dgamma and dbeta: no atomics, same result every
 * run. Absent gamma / beta and unwanted gradients are replaced by x's buffer with a flag the kernels test. */
#include "cl-internal.h"

#define FAMILY "norm"

/* t's buffer and offset, or x's when t is absent (a placeholder the kernel does not touch). */
static void buf_or(const mg_tensor *t, const mg_tensor *x, cl_mem *b, cl_uint *off)
{
    *b = cl_buf(t ? t : x);
    *off = t ? cl_off(t) : 0;
}

mg_status cl_instance_norm_fwd(void *ctx, mg_node *n)
{
    cl_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *gamma = n->src[1], *beta = n->src[2], *y = n->dst, *st = n->aux;
    cl_mem xb = cl_buf(x), yb = cl_buf(y), sb = cl_buf(st), gb, bb;
    cl_uint xo = cl_off(x), yo = cl_off(y), so = cl_off(st), go, bo;
    buf_or(gamma, x, &gb, &go);
    buf_or(beta, x, &bb, &bo);
    cl_int has_gamma = gamma != NULL, has_beta = beta != NULL, ch = x->shape[1];
    cl_uint plane = (cl_uint)((size_t)x->shape[2] * x->shape[3]);
    float eps = n->p.f, slope = n->p.slope;
    cl_int act = n->p.act;
    size_t ls = cl_local_size(c, FAMILY, "instance_norm_fwd"), planes = (size_t)x->shape[0] * x->shape[1];
    return cl_call(c, FAMILY, "instance_norm_fwd", planes * ls, ls, 18, CL_ARG(xb), CL_ARG(xo), CL_ARG(gb), CL_ARG(go),
                   CL_ARG(has_gamma), CL_ARG(bb), CL_ARG(bo), CL_ARG(has_beta), CL_ARG(yb), CL_ARG(yo), CL_ARG(sb),
                   CL_ARG(so), CL_ARG(ch), CL_ARG(plane), CL_ARG(eps), CL_ARG(act), CL_ARG(slope),
                   2 * ls * sizeof(float), (const void *)NULL);
}

/* dgamma / dbeta from the per-plane sums in `sums`. */
static mg_status affine_grad(cl_ctx *c, const mg_node *n, cl_mem sums)
{
    const mg_tensor *x = n->src[0];
    const mg_tensor *dg = n->want_grad[1] ? n->src[1]->grad : NULL, *db = n->want_grad[2] ? n->src[2]->grad : NULL;
    cl_mem dgb, dbb;
    cl_uint dgo, dbo;
    buf_or(dg, x, &dgb, &dgo);
    buf_or(db, x, &dbb, &dbo);
    cl_int batch = x->shape[0], ch = x->shape[1], want_g = dg != NULL, want_b = db != NULL;
    return cl_call(c, FAMILY, "instance_norm_affine_grad", (size_t)ch, 0, 9, CL_ARG(sums), CL_ARG(batch), CL_ARG(ch),
                   CL_ARG(dgb), CL_ARG(dgo), CL_ARG(want_g), CL_ARG(dbb), CL_ARG(dbo), CL_ARG(want_b));
}

mg_status cl_instance_norm_bwd(void *ctx, mg_node *n)
{
    cl_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *gamma = n->src[1], *dy = n->dst->grad, *st = n->aux;
    cl_int want_dx = n->want_grad[0], want_sums = n->want_grad[1] || n->want_grad[2];
    if (!want_dx && !want_sums)
        return MG_OK;
    size_t ls = cl_local_size(c, FAMILY, "instance_norm_bwd"), planes = (size_t)x->shape[0] * x->shape[1];
    cl_mem sums = cl_buf(x);
    if (want_sums) {
        mg_status s = cl_workspace(c, 4 * planes, &sums);
        if (s != MG_OK)
            return s;
    }
    cl_mem xb = cl_buf(x), dyb = cl_buf(dy), sb = cl_buf(st), gb, dxb;
    cl_uint xo = cl_off(x), dyo = cl_off(dy), so = cl_off(st), go, dxo;
    buf_or(gamma, x, &gb, &go);
    buf_or(want_dx ? x->grad : NULL, x, &dxb, &dxo);
    cl_int has_gamma = gamma != NULL, ch = x->shape[1], act = n->p.act;
    cl_uint plane = (cl_uint)((size_t)x->shape[2] * x->shape[3]), yo = cl_off(n->dst);
    cl_mem yb = cl_buf(n->dst);
    float slope = n->p.slope;
    mg_status s =
        cl_call(c, FAMILY, "instance_norm_bwd", planes * ls, ls, 21, CL_ARG(xb), CL_ARG(xo), CL_ARG(gb), CL_ARG(go),
                CL_ARG(has_gamma), CL_ARG(dyb), CL_ARG(dyo), CL_ARG(sb), CL_ARG(so), CL_ARG(dxb), CL_ARG(dxo),
                CL_ARG(want_dx), CL_ARG(sums), CL_ARG(want_sums), CL_ARG(ch), CL_ARG(plane), CL_ARG(yb), CL_ARG(yo),
                CL_ARG(act), CL_ARG(slope), 2 * ls * sizeof(float), (const void *)NULL);
    if (s != MG_OK || !want_sums)
        return s;
    return affine_grad(c, n, sums);
}
