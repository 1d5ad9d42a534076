/* Ops that move data on OpenCL (cl/shape.cl): reflection padding, shifts with a cutout, channel concatenation and
 * nearest-neighbour upsampling. The padding, shift and upsampling gradients are gathers per input pixel, adding in the
 * CPU backend's order, and concatenation runs one pass per input, so no two work-items write the same element. */
#include "cl-internal.h"

#define FAMILY "shape"

mg_status cl_reflect_pad2d_fwd(void *ctx, mg_node *n)
{
    const mg_tensor *x = n->src[0], *y = n->dst;
    cl_mem xb = cl_buf(x), yb = cl_buf(y);
    cl_uint xo = cl_off(x), yo = cl_off(y), len = (cl_uint)y->numel;
    cl_int h = x->shape[2], w = x->shape[3], ho = y->shape[2], wo = y->shape[3], left = n->p.pad[0], top = n->p.pad[2];
    return cl_call(ctx, FAMILY, "reflect_pad_fwd", len, 0, 11, CL_ARG(xb), CL_ARG(xo), CL_ARG(yb), CL_ARG(yo),
                   CL_ARG(h), CL_ARG(w), CL_ARG(ho), CL_ARG(wo), CL_ARG(left), CL_ARG(top), CL_ARG(len));
}

mg_status cl_reflect_pad2d_bwd(void *ctx, mg_node *n)
{
    if (!n->want_grad[0])
        return MG_OK;
    const mg_tensor *dx = n->src[0]->grad, *dy = n->dst->grad;
    cl_mem dyb = cl_buf(dy), dxb = cl_buf(dx);
    cl_uint dyo = cl_off(dy), dxo = cl_off(dx), len = (cl_uint)dx->numel;
    cl_int h = dx->shape[2], w = dx->shape[3], ho = dy->shape[2], wo = dy->shape[3], left = n->p.pad[0],
           right = n->p.pad[1], top = n->p.pad[2], bottom = n->p.pad[3];
    return cl_call(ctx, FAMILY, "reflect_pad_bwd", len, 0, 13, CL_ARG(dyb), CL_ARG(dyo), CL_ARG(dxb), CL_ARG(dxo),
                   CL_ARG(h), CL_ARG(w), CL_ARG(ho), CL_ARG(wo), CL_ARG(left), CL_ARG(right), CL_ARG(top),
                   CL_ARG(bottom), CL_ARG(len));
}

mg_status cl_shift2d_fwd(void *ctx, mg_node *n)
{
    const mg_tensor *x = n->src[0], *y = n->dst;
    cl_mem xb = cl_buf(x), yb = cl_buf(y);
    cl_uint xo = cl_off(x), yo = cl_off(y), len = (cl_uint)y->numel;
    cl_int h = x->shape[2], w = x->shape[3], dx = n->p.shift[0], dy = n->p.shift[1];
    cl_int4 box = {{n->p.box[0], n->p.box[1], n->p.box[2], n->p.box[3]}};
    cl_float fill = n->p.f;
    return cl_call(ctx, FAMILY, "shift_fwd", len, 0, 11, CL_ARG(xb), CL_ARG(xo), CL_ARG(yb), CL_ARG(yo), CL_ARG(h),
                   CL_ARG(w), CL_ARG(dx), CL_ARG(dy), CL_ARG(box), CL_ARG(fill), CL_ARG(len));
}

mg_status cl_shift2d_bwd(void *ctx, mg_node *n)
{
    if (!n->want_grad[0])
        return MG_OK;
    const mg_tensor *gx = n->src[0]->grad, *gy = n->dst->grad;
    cl_mem gyb = cl_buf(gy), gxb = cl_buf(gx);
    cl_uint gyo = cl_off(gy), gxo = cl_off(gx), len = (cl_uint)gx->numel;
    cl_int h = gx->shape[2], w = gx->shape[3], dx = n->p.shift[0], dy = n->p.shift[1];
    cl_int4 box = {{n->p.box[0], n->p.box[1], n->p.box[2], n->p.box[3]}};
    return cl_call(ctx, FAMILY, "shift_bwd", len, 0, 10, CL_ARG(gyb), CL_ARG(gyo), CL_ARG(gxb), CL_ARG(gxo), CL_ARG(h),
                   CL_ARG(w), CL_ARG(dx), CL_ARG(dy), CL_ARG(box), CL_ARG(len));
}

/* One input of the concatenation: part is shaped as the input, whole as the output, the input's channels
 * starting at c_start of the output. Forward copies part into whole, backward adds whole into part. */
static mg_status concat_part(cl_ctx *c, bool forward, const mg_tensor *part, const mg_tensor *whole, cl_int c_start)
{
    const mg_tensor *in = forward ? part : whole, *out = forward ? whole : part;
    cl_mem ib = cl_buf(in), ob = cl_buf(out);
    cl_uint io = cl_off(in), oo = cl_off(out), plane = (cl_uint)((size_t)part->shape[2] * part->shape[3]),
            len = (cl_uint)part->numel;
    cl_int c_src = part->shape[1], c_total = whole->shape[1];
    return cl_call(c, FAMILY, forward ? "concat_copy" : "concat_grad", len, 0, 9, CL_ARG(ib), CL_ARG(io), CL_ARG(ob),
                   CL_ARG(oo), CL_ARG(c_src), CL_ARG(c_total), CL_ARG(c_start), CL_ARG(plane), CL_ARG(len));
}

mg_status cl_concat_fwd(void *ctx, mg_node *n)
{
    mg_status s = concat_part(ctx, true, n->src[0], n->dst, 0);
    return s != MG_OK ? s : concat_part(ctx, true, n->src[1], n->dst, n->src[0]->shape[1]);
}

mg_status cl_concat_bwd(void *ctx, mg_node *n)
{
    const mg_tensor *dy = n->dst->grad;
    mg_status s = MG_OK;
    if (n->want_grad[0])
        s = concat_part(ctx, false, n->src[0]->grad, dy, 0);
    if (s == MG_OK && n->want_grad[1])
        s = concat_part(ctx, false, n->src[1]->grad, dy, n->src[0]->shape[1]);
    return s;
}

/* Nearest-neighbour (upsample_*) and bilinear (bilinear_*) upsampling take the same arguments. */
static mg_status upsample_run(cl_ctx *c, const mg_node *n, bool forward)
{
    const bool bilinear = n->op == MG_OP_BILINEAR2D;
    const mg_tensor *in = forward ? n->src[0] : n->dst->grad, *out = forward ? n->dst : n->src[0]->grad;
    cl_mem ib = cl_buf(in), ob = cl_buf(out);
    cl_uint io = cl_off(in), oo = cl_off(out), len = (cl_uint)out->numel;
    cl_int h = n->src[0]->shape[2], w = n->src[0]->shape[3], f = n->p.factor;
    const char *kernel = bilinear  ? (forward ? "bilinear_fwd" : "bilinear_bwd")
                         : forward ? "upsample_fwd"
                                   : "upsample_bwd";
    return cl_call(c, FAMILY, kernel, len, 0, 8, CL_ARG(ib), CL_ARG(io), CL_ARG(ob), CL_ARG(oo), CL_ARG(h), CL_ARG(w),
                   CL_ARG(f), CL_ARG(len));
}

mg_status cl_upsample2d_fwd(void *ctx, mg_node *n) { return upsample_run(ctx, n, true); }
mg_status cl_upsample2d_bwd(void *ctx, mg_node *n) { return n->want_grad[0] ? upsample_run(ctx, n, false) : MG_OK; }
mg_status cl_bilinear2d_fwd(void *ctx, mg_node *n) { return upsample_run(ctx, n, true); }
mg_status cl_bilinear2d_bwd(void *ctx, mg_node *n) { return n->want_grad[0] ? upsample_run(ctx, n, false) : MG_OK; }
