/* Normalised gradient fields on OpenCL (cl/ngf.cl). */
#include "cl-internal.h"

#define FAMILY "ngf"

mg_status cl_ngf_map_fwd(void *ctx, mg_node *n)
{
    const mg_tensor *x = n->src[0], *y = n->src[1], *m = n->dst;
    cl_mem xb = cl_buf(x), yb = cl_buf(y), mb = cl_buf(m);
    cl_uint xo = cl_off(x), yo = cl_off(y), mo = cl_off(m), len = (cl_uint)m->numel;
    cl_int h = x->shape[2], w = x->shape[3];
    cl_float e2 = n->p.f * n->p.f;
    return cl_call(ctx, FAMILY, "ngf_fwd", len, 0, 10, CL_ARG(xb), CL_ARG(xo), CL_ARG(yb), CL_ARG(yo), CL_ARG(mb),
                   CL_ARG(mo), CL_ARG(h), CL_ARG(w), CL_ARG(e2), CL_ARG(len));
}

/* An input whose gradient is not wanted has none: its slot gets the other's buffer, which the kernel leaves
 * alone (`which` says what it writes). */
mg_status cl_ngf_map_bwd(void *ctx, mg_node *n)
{
    cl_int which = (n->want_grad[0] ? 1 : 0) | (n->want_grad[1] ? 2 : 0);
    if (!which)
        return MG_OK;
    const mg_tensor *x = n->src[0], *y = n->src[1], *dm = n->dst->grad;
    const mg_tensor *dx = n->want_grad[0] ? x->grad : y->grad, *dy = n->want_grad[1] ? y->grad : x->grad;
    cl_mem xb = cl_buf(x), yb = cl_buf(y), gb = cl_buf(dm), dxb = cl_buf(dx), dyb = cl_buf(dy);
    cl_uint xo = cl_off(x), yo = cl_off(y), go = cl_off(dm), dxo = cl_off(dx), dyo = cl_off(dy),
            len = (cl_uint)dm->numel;
    cl_int h = x->shape[2], w = x->shape[3];
    cl_float e2 = n->p.f * n->p.f;
    return cl_call(ctx, FAMILY, "ngf_bwd", len, 0, 15, CL_ARG(xb), CL_ARG(xo), CL_ARG(yb), CL_ARG(yo), CL_ARG(gb),
                   CL_ARG(go), CL_ARG(dxb), CL_ARG(dxo), CL_ARG(dyb), CL_ARG(dyo), CL_ARG(h), CL_ARG(w), CL_ARG(e2),
                   CL_ARG(which), CL_ARG(len));
}
