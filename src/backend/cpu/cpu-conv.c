/* Convolutions on the CPU, darknet's recipe: conv = im2col + GEMM, dW = dY * col^T,
 * dX = col2im(W^T * dY); the transposed convolution is the same pair run the other way round
 * (col = W^T * x, y = col2im(col)). One sample at a time through a reused workspace. */
#include <string.h>

#include "cpu.h"

/* An image of c x h x w seen through a kh x kw window with stride and zero padding, giving a column
 * matrix of (c*kh*kw) rows by (oh*ow) columns. */
typedef struct conv_geom {
    int c, h, w;
    int kh, kw, sh, sw, ph, pw;
    int oh, ow;
} conv_geom;

typedef struct col_args {
    const conv_geom *g;
    const float *img; /* im2col source, col2im destination (as float *) */
    float *col;
    bool overwrite; /* col2im: replace the image instead of adding to it */
} col_args;

static void im2col_rows(void *p, size_t r0, size_t r1)
{
    const col_args *a = p;
    const conv_geom *g = a->g;
    const size_t cols = (size_t)g->oh * g->ow;
    for (size_t r = r0; r < r1; r++) {
        int j = (int)(r % (size_t)g->kw), i = (int)(r / (size_t)g->kw % (size_t)g->kh);
        int c = (int)(r / ((size_t)g->kw * g->kh));
        const float *plane = a->img + (size_t)c * g->h * g->w;
        float *out = a->col + r * cols;
        for (int oy = 0; oy < g->oh; oy++, out += g->ow) {
            int iy = oy * g->sh - g->ph + i;
            if (iy < 0 || iy >= g->h) {
                memset(out, 0, (size_t)g->ow * sizeof *out);
                continue;
            }
            const float *row = plane + (size_t)iy * g->w;
            for (int ox = 0; ox < g->ow; ox++) {
                int ix = ox * g->sw - g->pw + j;
                out[ox] = ix >= 0 && ix < g->w ? row[ix] : 0.0f;
            }
        }
    }
}

/* One thread per channel plane, so no two threads add into the same pixel. */
static void col2im_planes(void *p, size_t c0, size_t c1)
{
    const col_args *a = p;
    const conv_geom *g = a->g;
    const size_t cols = (size_t)g->oh * g->ow, plane_len = (size_t)g->h * g->w;
    for (size_t c = c0; c < c1; c++) {
        float *plane = (float *)a->img + c * plane_len;
        if (a->overwrite)
            memset(plane, 0, plane_len * sizeof *plane);
        for (int i = 0; i < g->kh; i++) {
            for (int j = 0; j < g->kw; j++) {
                const float *in = a->col + ((c * g->kh + i) * g->kw + j) * cols;
                for (int oy = 0; oy < g->oh; oy++, in += g->ow) {
                    int iy = oy * g->sh - g->ph + i;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    float *row = plane + (size_t)iy * g->w;
                    for (int ox = 0; ox < g->ow; ox++) {
                        int ix = ox * g->sw - g->pw + j;
                        if (ix >= 0 && ix < g->w)
                            row[ix] += in[ox];
                    }
                }
            }
        }
    }
}

static void im2col(cpu_ctx *c, const conv_geom *g, const float *img, float *col)
{
    col_args a = {g, img, col, false};
    size_t rows = (size_t)g->c * g->kh * g->kw, cols = (size_t)g->oh * g->ow;
    mg_pool_for(c->pool, rows, cols >= 4096 ? 1 : 4096 / cols, im2col_rows, &a);
}

static void col2im(cpu_ctx *c, const conv_geom *g, const float *col, float *img, bool overwrite)
{
    col_args a = {g, img, (float *)col, overwrite};
    mg_pool_for(c->pool, (size_t)g->c, 1, col2im_planes, &a);
}

/* ------------------------------------------------------------------ bias */
typedef struct bias_args {
    float *y;
    float *b;
    int n, c;
    size_t plane;
} bias_args;

static void bias_add_planes(void *p, size_t q0, size_t q1)
{
    const bias_args *a = p;
    for (size_t q = q0; q < q1; q++) {
        float v = a->b[q % (size_t)a->c], *y = a->y + q * a->plane;
        for (size_t i = 0; i < a->plane; i++)
            y[i] += v;
    }
}

static void bias_grad_channels(void *p, size_t c0, size_t c1)
{
    const bias_args *a = p;
    for (size_t c = c0; c < c1; c++) {
        double s = 0.0;
        for (int n = 0; n < a->n; n++) {
            const float *dy = a->y + ((size_t)n * a->c + c) * a->plane;
            for (size_t i = 0; i < a->plane; i++)
                s += dy[i];
        }
        a->b[c] += (float)s;
    }
}

static void bias_add(cpu_ctx *c, const mg_tensor *bias, mg_tensor *y)
{
    bias_args a = {cpu_data(y), cpu_data(bias), y->shape[0], y->shape[1], (size_t)y->shape[2] * y->shape[3]};
    mg_pool_for(c->pool, (size_t)a.n * a.c, 1, bias_add_planes, &a);
}

static void bias_grad(cpu_ctx *c, const mg_tensor *dy, mg_tensor *db)
{
    bias_args a = {cpu_data(dy), cpu_data(db), dy->shape[0], dy->shape[1], (size_t)dy->shape[2] * dy->shape[3]};
    mg_pool_for(c->pool, (size_t)a.c, 1, bias_grad_channels, &a);
}

/* ------------------------------------------------------------------ conv2d */
/* Geometry of the convolution of node's input: x [N,C,H,W] -> y [N,Cout,Ho,Wo]. */
static conv_geom conv_geom_of(const mg_node *n, const mg_tensor *img, const mg_tensor *out)
{
    const mg_tensor *w = n->src[1];
    const mg_conv_params *p = &n->p.conv;
    return (conv_geom){img->shape[1], img->shape[2], img->shape[3], w->shape[2], w->shape[3],
                       p->stride_h, p->stride_w, p->pad_h, p->pad_w, out->shape[2], out->shape[3]};
}

static bool conv_is_pointwise(const conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

mg_status cpu_conv2d_fwd(void *ctx, mg_node *n)
{
    cpu_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *b = n->src[2];
    mg_tensor *y = n->dst;
    conv_geom g = conv_geom_of(n, x, y);
    int k = g.c * g.kh * g.kw, cols = g.oh * g.ow, c_out = y->shape[1];
    bool direct = conv_is_pointwise(&g);
    float *col = NULL;
    if (!direct) {
        mg_status s = cpu_workspace(c, (size_t)k * cols, &col);
        if (s != MG_OK)
            return s;
    }
    for (int s = 0; s < x->shape[0]; s++) {
        const float *xs = cpu_data(x) + (size_t)s * g.c * g.h * g.w;
        if (!direct)
            im2col(c, &g, xs, col);
        cpu_gemm(c, false, false, c_out, cols, k, 1.0f, cpu_data(w), k, direct ? xs : col, cols, 0.0f,
                 cpu_data(y) + (size_t)s * c_out * cols, cols);
    }
    if (b)
        bias_add(c, b, y);
    return MG_OK;
}

mg_status cpu_conv2d_bwd(void *ctx, mg_node *n)
{
    cpu_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *dy = n->dst->grad;
    conv_geom g = conv_geom_of(n, x, n->dst);
    int k = g.c * g.kh * g.kw, cols = g.oh * g.ow, c_out = dy->shape[1];
    bool direct = conv_is_pointwise(&g);
    float *col = NULL;
    mg_status st = cpu_workspace(c, (size_t)k * cols, &col);
    if (st != MG_OK)
        return st;
    for (int s = 0; s < x->shape[0]; s++) {
        const float *xs = cpu_data(x) + (size_t)s * g.c * g.h * g.w;
        const float *dys = cpu_data(dy) + (size_t)s * c_out * cols;
        if (n->want_grad[1]) {
            if (!direct)
                im2col(c, &g, xs, col);
            cpu_gemm(c, false, true, c_out, k, cols, 1.0f, dys, cols, direct ? xs : col, cols, 1.0f,
                     cpu_data(w->grad), k);
        }
        if (n->want_grad[0]) {
            float *dxs = cpu_data(x->grad) + (size_t)s * g.c * g.h * g.w;
            cpu_gemm(c, true, false, k, cols, c_out, 1.0f, cpu_data(w), k, dys, cols, direct ? 1.0f : 0.0f,
                     direct ? dxs : col, cols);
            if (!direct)
                col2im(c, &g, col, dxs, false);
        }
    }
    if (n->want_grad[2])
        bias_grad(c, dy, n->src[2]->grad);
    return MG_OK;
}

/* ------------------------------------------------------------------ conv_transpose2d */
/* The output y [N,Cout,Ho,Wo] is the "image" whose convolution with the same window gives x's size. */
mg_status cpu_conv_transpose2d_fwd(void *ctx, mg_node *n)
{
    cpu_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *b = n->src[2];
    mg_tensor *y = n->dst;
    conv_geom g = conv_geom_of(n, y, x);
    int c_in = x->shape[1], kk = g.c * g.kh * g.kw, cols = g.oh * g.ow;
    float *col;
    mg_status st = cpu_workspace(c, (size_t)kk * cols, &col);
    if (st != MG_OK)
        return st;
    for (int s = 0; s < x->shape[0]; s++) {
        cpu_gemm(c, true, false, kk, cols, c_in, 1.0f, cpu_data(w), kk, cpu_data(x) + (size_t)s * c_in * cols,
                 cols, 0.0f, col, cols);
        col2im(c, &g, col, cpu_data(y) + (size_t)s * g.c * g.h * g.w, true);
    }
    if (b)
        bias_add(c, b, y);
    return MG_OK;
}

mg_status cpu_conv_transpose2d_bwd(void *ctx, mg_node *n)
{
    cpu_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *dy = n->dst->grad;
    conv_geom g = conv_geom_of(n, dy, x);
    int c_in = x->shape[1], kk = g.c * g.kh * g.kw, cols = g.oh * g.ow;
    float *col;
    mg_status st = cpu_workspace(c, (size_t)kk * cols, &col);
    if (st != MG_OK)
        return st;
    if (n->want_grad[0] || n->want_grad[1]) {
        for (int s = 0; s < x->shape[0]; s++) {
            im2col(c, &g, cpu_data(dy) + (size_t)s * g.c * g.h * g.w, col);
            size_t xo = (size_t)s * c_in * cols;
            if (n->want_grad[0])
                cpu_gemm(c, false, false, c_in, cols, kk, 1.0f, cpu_data(w), kk, col, cols, 1.0f,
                         cpu_data(x->grad) + xo, cols);
            if (n->want_grad[1])
                cpu_gemm(c, false, true, c_in, kk, cols, 1.0f, cpu_data(x) + xo, cols, col, cols, 1.0f,
                         cpu_data(w->grad), kk);
        }
    }
    if (n->want_grad[2])
        bias_grad(c, dy, n->src[2]->grad);
    return MG_OK;
}
