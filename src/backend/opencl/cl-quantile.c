/* The quantile loss on OpenCL (cl/quantile.cl): the targets of the ranked pixels by a bitonic sort of each plane
 * on the device, then the mean squared error of x against them with the reduction kernels. */
#include "cl-internal.h"

#define FAMILY "quantile"

mg_status cl_quantile_loss_fwd(void *ctx, mg_node *n)
{
    cl_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *m = n->src[1], *q = n->src[2], *t = n->aux;
    const size_t planes = (size_t)x->shape[0] * x->shape[1], plane_sz = (size_t)x->shape[2] * x->shape[3];
    size_t np_sz = 1;
    while (np_sz < plane_sz && np_sz <= 0x7fffffffu)
        np_sz <<= 1;
    /* positions keep their top bit for UNRANKED, and the sort's indices must fit a cl_uint */
    if (np_sz > 0x7fffffffu || 2 * planes * np_sz > 0xffffffffu)
        return mg_error(MG_ERR_ARG, "quantile_loss: %zu planes of %zu pixels are too many to sort at once", planes,
                        plane_sz);
    const size_t total_sz = planes * np_sz;
    cl_uint plane = (cl_uint)plane_sz, np = (cl_uint)np_sz;
    cl_mem work;
    mg_status s = cl_workspace(c, 2 * total_sz, &work);
    if (s != MG_OK)
        return s;
    cl_mem xb = cl_buf(x), mb = cl_buf(m), qb = cl_buf(q), tb = cl_buf(t);
    cl_uint xo = cl_off(x), mo = cl_off(m), qo = cl_off(q), to = cl_off(t), total = (cl_uint)total_sz;
    cl_float threshold = n->p.f;
    cl_int k = q->shape[0];
    s = cl_call(c, FAMILY, "quantile_keys", total, 0, 9, CL_ARG(xb), CL_ARG(xo), CL_ARG(mb), CL_ARG(mo),
                CL_ARG(threshold), CL_ARG(plane), CL_ARG(np), CL_ARG(work), CL_ARG(total));
    for (cl_uint size = 2; s == MG_OK && size <= np; size <<= 1)
        for (cl_uint j = size >> 1; s == MG_OK && j > 0; j >>= 1)
            s = cl_call(c, FAMILY, "quantile_sort_step", total, 0, 5, CL_ARG(work), CL_ARG(total), CL_ARG(np),
                        CL_ARG(size), CL_ARG(j));
    if (s == MG_OK)
        s = cl_call(c, FAMILY, "quantile_assign", total, 0, 11, CL_ARG(work), CL_ARG(total), CL_ARG(np), CL_ARG(plane),
                    CL_ARG(xb), CL_ARG(xo), CL_ARG(qb), CL_ARG(qo), CL_ARG(k), CL_ARG(tb), CL_ARG(to));
    return s == MG_OK ? cl_mse_value(c, x, t, n->dst) : s;
}

mg_status cl_quantile_loss_bwd(void *ctx, mg_node *n)
{
    const mg_tensor *x = n->src[0];
    return n->want_grad[0] ? cl_mse_grad(ctx, x, n->aux, n->dst->grad, x->grad) : MG_OK;
}
