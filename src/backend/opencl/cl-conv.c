/* Convolutions on OpenCL, the CPU backend's recipe with CLBlast for the GEMMs: conv = im2col + SGEMM,
 * dW = dY * col^T, dX = col2im(W^T * dY); transposed conv = col2im(W^T * x). Bands of output rows keep
 * the column workspace under MG_OPENCL_CONV_WORK_FLOATS. Tensors are passed to CLBlast as cl_mem + offset. */
#include <clblast_c.h>
#include <string.h>
#include <time.h>

#include "cl-internal.h"

typedef struct geom {
    cl_int c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, y0, y1;
} geom;

static geom geom_of(const mg_node *n, const mg_tensor *img, const mg_tensor *out)
{
    const mg_tensor *w = n->src[1];
    const mg_conv_params *p = &n->p.conv;
    return (geom){img->shape[1], img->shape[2], img->shape[3], w->shape[2],   w->shape[3], p->stride_h,  p->stride_w,
                  p->pad_h,      p->pad_w,      out->shape[2], out->shape[3], 0,           out->shape[2]};
}

static int band_rows(const geom *g)
{
    size_t per_row = (size_t)g->c * g->kh * g->kw * g->ow, rows = MG_OPENCL_CONV_WORK_FLOATS / per_row;
    return rows < 1 ? 1 : rows > (size_t)g->oh ? g->oh : (int)rows;
}

/* 3-D ranges (cl/conv.cl says why): im2col over (output column, row of the band, channel x kernel row), col2im over
 * (column, the image rows the band touches, channel). */
static mg_status im2col(cl_ctx *c, const geom *g, cl_mem img, cl_uint img_off, cl_mem col)
{
    const size_t global[3] = {(size_t)g->ow, (size_t)(g->y1 - g->y0), (size_t)g->c * g->kh};
    return cl_call_3d(c, "conv", "im2col", global, 15, CL_ARG(img), CL_ARG(img_off), CL_ARG(col), CL_ARG(g->c),
                      CL_ARG(g->h), CL_ARG(g->w), CL_ARG(g->kh), CL_ARG(g->kw), CL_ARG(g->sh), CL_ARG(g->sw),
                      CL_ARG(g->ph), CL_ARG(g->pw), CL_ARG(g->ow), CL_ARG(g->y0), CL_ARG(g->y1));
}

/* Adds the band's columns into the image. */
static mg_status col2im(cl_ctx *c, const geom *g, cl_mem col, cl_mem img, cl_uint img_off)
{
    int lo = g->y0 * g->sh - g->ph, hi = (g->y1 - 1) * g->sh - g->ph + g->kh; /* rows the band's windows cover */
    lo = lo < 0 ? 0 : lo;
    hi = hi > g->h ? g->h : hi;
    const size_t global[3] = {(size_t)g->w, hi > lo ? (size_t)(hi - lo) : 0, (size_t)g->c};
    return cl_call_3d(c, "conv", "col2im", global, 15, CL_ARG(col), CL_ARG(img), CL_ARG(img_off), CL_ARG(g->c),
                      CL_ARG(g->h), CL_ARG(g->w), CL_ARG(g->kh), CL_ARG(g->kw), CL_ARG(g->sh), CL_ARG(g->sw),
                      CL_ARG(g->ph), CL_ARG(g->pw), CL_ARG(g->ow), CL_ARG(g->y0), CL_ARG(g->y1));
}

static mg_status bias_add(cl_ctx *c, const mg_tensor *bias, mg_tensor *y)
{
    cl_mem yb = cl_buf(y), bb = cl_buf(bias);
    cl_uint yo = cl_off(y), bo = cl_off(bias), plane = (cl_uint)(y->shape[2] * y->shape[3]), n = (cl_uint)y->numel;
    cl_int ch = y->shape[1];
    return cl_call(c, "conv", "bias_add", n, 0, 7, CL_ARG(yb), CL_ARG(yo), CL_ARG(bb), CL_ARG(bo), CL_ARG(ch),
                   CL_ARG(plane), CL_ARG(n));
}

static mg_status bias_grad(cl_ctx *c, const mg_tensor *dy, mg_tensor *db)
{
    cl_mem d = cl_buf(dy), g = cl_buf(db);
    cl_uint dyo = cl_off(dy), dbo = cl_off(db), plane = (cl_uint)(dy->shape[2] * dy->shape[3]);
    cl_int batch = dy->shape[0], ch = dy->shape[1];
    size_t ls = cl_local_size(c, "conv", "bias_grad");
    return cl_call(c, "conv", "bias_grad", (size_t)ch * ls, ls, 8, CL_ARG(d), CL_ARG(dyo), CL_ARG(g), CL_ARG(dbo),
                   CL_ARG(batch), CL_ARG(ch), CL_ARG(plane), ls * sizeof(float), (const void *)NULL);
}

#define BANDS(g)          for ((g).y0 = 0; (g).y0 < (g).oh; (g).y0 = (g).y1)
#define BAND_END(g, rows) ((g).y1 = (g).y0 + (rows) < (g).oh ? (g).y0 + (rows) : (g).oh)
#define TRY(call)                                                                                                      \
    do {                                                                                                               \
        mg_status s_ = (call);                                                                                         \
        if (s_ != MG_OK)                                                                                               \
            return s_;                                                                                                 \
    } while (0)

/* CLBlast's convgemm: the whole batch in one call, no column workspace. */
static mg_status conv_fwd_convgemm(cl_ctx *c, const mg_node *n, const geom *g)
{
    const mg_tensor *x = n->src[0], *w = n->src[1];
    mg_tensor *y = n->dst;
    CLBlastStatusCode st = CLBlastSconvgemm(CLBlastKernelModeCrossCorrelation, (size_t)g->c, (size_t)g->h, (size_t)g->w,
                                            (size_t)g->kh, (size_t)g->kw, (size_t)g->ph, (size_t)g->pw, (size_t)g->sh,
                                            (size_t)g->sw, 1, 1, (size_t)y->shape[1], (size_t)x->shape[0], cl_buf(x),
                                            x->offset, cl_buf(w), w->offset, cl_buf(y), y->offset, &c->queue, NULL);
    if (st != CLBlastSuccess)
        return mg_error(MG_ERR_BACKEND, "opencl: CLBlastSconvgemm failed: CLBlast status %d", (int)st);
    return MG_OK;
}

static mg_status conv_fwd_im2col(cl_ctx *c, const mg_node *n, geom g);

/* Which forward method to use for this shape: forced, remembered, or measured now (each runs twice, the second
 * run is timed, and the faster is kept for the rest of the process). */
static mg_status conv_fwd_choose(cl_ctx *c, const mg_node *n, const geom *g, bool *convgemm)
{
    const mg_tensor *x = n->src[0], *y = n->dst;
    if (c->conv_mode) {
        *convgemm = c->conv_mode == 2;
        return MG_OK;
    }
    const int key[11] = {x->shape[0], g->c, g->h, g->w, y->shape[1], g->kh, g->kw, g->sh, g->sw, g->ph, g->pw};
    for (int i = 0; i < c->n_conv_choices; i++)
        if (!memcmp(c->conv_choices[i].key, key, sizeof key)) {
            *convgemm = c->conv_choices[i].convgemm;
            return MG_OK;
        }
    double t[2];
    for (int run = 0; run < 4; run++) { /* each method twice: the first runs may compile CLBlast's kernels */
        int m = run % 2;
        CL_CHECK(clFinish(c->queue));
        double t0 = mg_now_s();
        mg_status s = m ? conv_fwd_convgemm(c, n, g) : conv_fwd_im2col(c, n, *g);
        if (s != MG_OK)
            return s;
        CL_CHECK(clFinish(c->queue));
        t[m] = mg_now_s() - t0;
    }
    *convgemm = t[1] < t[0];
    if (c->n_conv_choices < (int)(sizeof c->conv_choices / sizeof *c->conv_choices)) {
        memcpy(c->conv_choices[c->n_conv_choices].key, key, sizeof key);
        c->conv_choices[c->n_conv_choices++].convgemm = *convgemm;
    }
    return MG_OK;
}

mg_status cl_conv2d_fwd(void *ctx, mg_node *n)
{
    cl_ctx *c = ctx;
    geom g0 = geom_of(n, n->src[0], n->dst);
    bool convgemm = false;
    mg_status s = conv_fwd_choose(c, n, &g0, &convgemm);
    if (s == MG_OK)
        s = convgemm ? conv_fwd_convgemm(c, n, &g0) : conv_fwd_im2col(c, n, g0);
    if (s == MG_OK && n->src[2])
        s = bias_add(c, n->src[2], n->dst);
    return s;
}

/* im2col + SGEMM, band by band; no bias. */
static mg_status conv_fwd_im2col(cl_ctx *c, const mg_node *n, geom g)
{
    const mg_tensor *x = n->src[0], *w = n->src[1];
    mg_tensor *y = n->dst;
    size_t k = (size_t)g.c * g.kh * g.kw, cols = (size_t)g.oh * g.ow, c_out = (size_t)y->shape[1];
    int rows = band_rows(&g);
    cl_mem col;
    TRY(cl_workspace(c, k * (size_t)g.ow * rows, &col));
    for (int s = 0; s < x->shape[0]; s++) {
        size_t xo = x->offset + (size_t)s * g.c * g.h * g.w, yo = y->offset + (size_t)s * c_out * cols;
        BANDS(g)
        {
            BAND_END(g, rows);
            size_t band = (size_t)(g.y1 - g.y0) * g.ow;
            TRY(im2col(c, &g, cl_buf(x), (cl_uint)xo, col));
            TRY(cl_gemm(c, false, false, c_out, band, k, 1.0f, cl_buf(w), w->offset, k, col, 0, band, 0.0f, cl_buf(y),
                        yo + (size_t)g.y0 * g.ow, cols));
        }
    }
    return MG_OK;
}

mg_status cl_conv2d_bwd(void *ctx, mg_node *n)
{
    cl_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *dy = n->dst->grad;
    geom g = geom_of(n, x, n->dst);
    size_t k = (size_t)g.c * g.kh * g.kw, cols = (size_t)g.oh * g.ow, c_out = (size_t)dy->shape[1];
    int rows = band_rows(&g);
    cl_mem col;
    TRY(cl_workspace(c, k * (size_t)g.ow * rows, &col));
    for (int s = 0; s < x->shape[0] && (n->want_grad[0] || n->want_grad[1]); s++) {
        size_t xo = x->offset + (size_t)s * g.c * g.h * g.w, dyo = dy->offset + (size_t)s * c_out * cols;
        BANDS(g)
        {
            BAND_END(g, rows);
            size_t band = (size_t)(g.y1 - g.y0) * g.ow, off = (size_t)g.y0 * g.ow;
            if (n->want_grad[1]) {
                TRY(im2col(c, &g, cl_buf(x), (cl_uint)xo, col));
                TRY(cl_gemm(c, false, true, c_out, k, band, 1.0f, cl_buf(dy), dyo + off, cols, col, 0, band, 1.0f,
                            cl_buf(w->grad), w->grad->offset, k));
            }
            if (n->want_grad[0]) {
                TRY(cl_gemm(c, true, false, k, band, c_out, 1.0f, cl_buf(w), w->offset, k, cl_buf(dy), dyo + off, cols,
                            0.0f, col, 0, band));
                TRY(col2im(c, &g, col, cl_buf(x->grad), (cl_uint)(x->grad->offset + (size_t)s * g.c * g.h * g.w)));
            }
        }
    }
    return n->want_grad[2] ? bias_grad(c, dy, n->src[2]->grad) : MG_OK;
}

mg_status cl_conv_transpose2d_fwd(void *ctx, mg_node *n)
{
    cl_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *b = n->src[2];
    mg_tensor *y = n->dst;
    geom g = geom_of(n, y, x);
    size_t c_in = (size_t)x->shape[1], kk = (size_t)g.c * g.kh * g.kw, cols = (size_t)g.oh * g.ow;
    int rows = band_rows(&g);
    cl_mem col;
    TRY(cl_workspace(c, kk * (size_t)g.ow * rows, &col));
    float zero = 0.0f;
    CL_CHECK(clEnqueueFillBuffer(c->queue, cl_buf(y), &zero, sizeof zero, y->offset * sizeof(float),
                                 y->numel * sizeof(float), 0, NULL, NULL));
    for (int s = 0; s < x->shape[0]; s++) {
        size_t xo = x->offset + (size_t)s * c_in * cols;
        BANDS(g)
        {
            BAND_END(g, rows);
            size_t band = (size_t)(g.y1 - g.y0) * g.ow;
            TRY(cl_gemm(c, true, false, kk, band, c_in, 1.0f, cl_buf(w), w->offset, kk, cl_buf(x),
                        xo + (size_t)g.y0 * g.ow, cols, 0.0f, col, 0, band));
            TRY(col2im(c, &g, col, cl_buf(y), (cl_uint)(y->offset + (size_t)s * g.c * g.h * g.w)));
        }
    }
    return b ? bias_add(c, b, y) : MG_OK;
}

mg_status cl_conv_transpose2d_bwd(void *ctx, mg_node *n)
{
    cl_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *dy = n->dst->grad;
    geom g = geom_of(n, dy, x);
    size_t c_in = (size_t)x->shape[1], kk = (size_t)g.c * g.kh * g.kw, cols = (size_t)g.oh * g.ow;
    int rows = band_rows(&g);
    cl_mem col;
    TRY(cl_workspace(c, kk * (size_t)g.ow * rows, &col));
    for (int s = 0; s < x->shape[0] && (n->want_grad[0] || n->want_grad[1]); s++) {
        size_t xs = (size_t)s * c_in * cols;
        BANDS(g)
        {
            BAND_END(g, rows);
            size_t band = (size_t)(g.y1 - g.y0) * g.ow, off = (size_t)g.y0 * g.ow;
            TRY(im2col(c, &g, cl_buf(dy), (cl_uint)(dy->offset + (size_t)s * g.c * g.h * g.w), col));
            if (n->want_grad[0])
                TRY(cl_gemm(c, false, false, c_in, band, kk, 1.0f, cl_buf(w), w->offset, kk, col, 0, band, 1.0f,
                            cl_buf(x->grad), x->grad->offset + xs + off, cols));
            if (n->want_grad[1])
                TRY(cl_gemm(c, false, true, c_in, kk, band, 1.0f, cl_buf(x), x->offset + xs + off, cols, col, 0, band,
                            1.0f, cl_buf(w->grad), w->grad->offset, kk));
        }
    }
    return n->want_grad[2] ? bias_grad(c, dy, n->src[2]->grad) : MG_OK;
}
