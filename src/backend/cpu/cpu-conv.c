/* Convolutions on the CPU, darknet's recipe: conv = im2col + GEMM, dW = dY * col^T,
 * dX = col2im(W^T * dY); the transposed convolution is the same pair run the other way round
 * (col = W^T * x, y = col2im(col)). One sample at a time, and within a sample one band of output rows
 * at a time, so the column workspace stays under CONV_WORK_FLOATS whatever the layer's size (a 7x7
 * conv at 256x256 with 64 channels would otherwise need an 800 MB column matrix). Two roads leave it: convolutions with
 * at most four outputs run as direct multiply-adds (below), 3x3 stride-1 ones as Winograd's F(4x4, 3x3)
 * (cpu-winograd.c). */
#include <stddef.h>
#include <string.h>

#include "cpu.h"

#define CONV_WORK_FLOATS                                                                                               \
    (1u << 23) /* 32 MB: a ResNet-9 residual layer at 256 in two bands; at 8 MB, five bands of                         \
                * narrower GEMMs ran its forward at 77-88% of plain SGEMM instead of 94-96% */

/* An image of c x h x w seen through a kh x kw window with stride and zero padding, giving a column
 * matrix of (c*kh*kw) rows by (oh*ow) columns; y0..y1 is the band of output rows being worked on, and
 * the column matrix of a band has (y1-y0)*ow columns. */
typedef struct conv_geom {
    int c, h, w;
    int kh, kw, sh, sw, ph, pw;
    int oh, ow;
    int y0, y1;
} conv_geom;

typedef struct col_args {
    const conv_geom *g;
    const float *img; /* im2col source, col2im destination (as float *) */
    float *col;
} col_args;

/* The output columns ox whose input column ox * sw - pw + j lies inside the image: [*lo, *hi). */
static void col_span(const conv_geom *g, int j, int *lo, int *hi)
{
    int first = g->pw - j, last = g->w - 1 + g->pw - j; /* ox * sw must lie in [first, last] */
    *lo = first <= 0 ? 0 : (first + g->sw - 1) / g->sw;
    *hi = last < 0 ? 0 : last / g->sw + 1;
    if (*hi > g->ow)
        *hi = g->ow;
    if (*lo > *hi)
        *lo = *hi;
}

/* Rows of the column matrix: the padding's zeros around one copy (stride 1) or gather (stride 2) per output row,
 * with no test per element: this loop is all that stands between a layer and its GEMM. */
CPU_VECTOR_CLONES static void im2col_rows(void *p, size_t r0, size_t r1)
{
    const col_args *a = p;
    const conv_geom *g = a->g;
    const size_t cols = (size_t)(g->y1 - g->y0) * g->ow;
    for (size_t r = r0; r < r1; r++) {
        int j = (int)(r % (size_t)g->kw), i = (int)(r / (size_t)g->kw % (size_t)g->kh);
        int c = (int)(r / ((size_t)g->kw * g->kh)), lo, hi;
        col_span(g, j, &lo, &hi);
        const float *plane = a->img + (size_t)c * g->h * g->w;
        float *out = a->col + r * cols;
        for (int oy = g->y0; oy < g->y1; oy++, out += g->ow) {
            int iy = oy * g->sh - g->ph + i;
            if (iy < 0 || iy >= g->h) {
                memset(out, 0, (size_t)g->ow * sizeof *out);
                continue;
            }
            const float *row = plane + (size_t)iy * g->w; /* output column ox reads row[ox * sw + shift] */
            const ptrdiff_t shift = j - g->pw;
            memset(out, 0, (size_t)lo * sizeof *out);
            if (g->sw == 1)
                memcpy(out + lo, row + lo + shift, (size_t)(hi - lo) * sizeof *out);
            else if (g->sw == 2) /* the constant stride lets the compiler vectorise the gather */
                for (int ox = lo; ox < hi; ox++)
                    out[ox] = row[(ptrdiff_t)ox * 2 + shift];
            else
                for (int ox = lo; ox < hi; ox++)
                    out[ox] = row[(ptrdiff_t)ox * g->sw + shift];
            memset(out + hi, 0, (size_t)(g->ow - hi) * sizeof *out);
        }
    }
}

/* One thread per channel plane, so no two threads add into the same pixel. */
CPU_VECTOR_CLONES static void col2im_planes(void *p, size_t c0, size_t c1)
{
    const col_args *a = p;
    const conv_geom *g = a->g;
    const size_t cols = (size_t)(g->y1 - g->y0) * g->ow, plane_len = (size_t)g->h * g->w;
    for (size_t c = c0; c < c1; c++) {
        float *plane = (float *)a->img + c * plane_len;
        for (int i = 0; i < g->kh; i++) {
            for (int j = 0; j < g->kw; j++) {
                int lo, hi;
                col_span(g, j, &lo, &hi);
                const ptrdiff_t shift = j - g->pw;
                const float *in = a->col + ((c * g->kh + i) * g->kw + j) * cols;
                for (int oy = g->y0; oy < g->y1; oy++, in += g->ow) {
                    int iy = oy * g->sh - g->ph + i;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    float *row = plane + (size_t)iy * g->w;
                    if (g->sw == 1)
                        for (int ox = lo; ox < hi; ox++)
                            row[ox + shift] += in[ox];
                    else
                        for (int ox = lo; ox < hi; ox++)
                            row[(ptrdiff_t)ox * g->sw + shift] += in[ox];
                }
            }
        }
    }
}

static void im2col(cpu_ctx *c, const conv_geom *g, const float *img, float *col)
{
    col_args a = {g, img, col};
    size_t rows = (size_t)g->c * g->kh * g->kw, cols = (size_t)(g->y1 - g->y0) * g->ow;
    mg_pool_for(c->pool, rows, cols >= 4096 ? 1 : 4096 / cols, im2col_rows, &a);
}

/* Adds the band's columns into img. */
static void col2im(cpu_ctx *c, const conv_geom *g, const float *col, float *img)
{
    col_args a = {g, img, (float *)col};
    mg_pool_for(c->pool, (size_t)g->c, cpu_grain((size_t)g->h * g->w * g->kh * g->kw), col2im_planes, &a);
}

/* Output rows per band so that a band's column matrix fits the workspace (at least one row). */
static int conv_band_rows(const conv_geom *g)
{
    size_t per_row = (size_t)g->c * g->kh * g->kw * g->ow;
    size_t rows = CONV_WORK_FLOATS / per_row;
    return rows < 1 ? 1 : rows > (size_t)g->oh ? g->oh : (int)rows;
}

/* The workspace for g's bands. */
static mg_status conv_workspace(cpu_ctx *c, const conv_geom *g, float **col)
{
    return cpu_workspace(c, (size_t)g->c * g->kh * g->kw * g->ow * conv_band_rows(g), col);
}

/* ------------------------------------------------------------------ bias */
typedef struct bias_args {
    float *y;
    float *b;
    int n, c;
    size_t plane;
} bias_args;

CPU_VECTOR_CLONES static void bias_add_planes(void *p, size_t q0, size_t q1)
{
    const bias_args *a = p;
    for (size_t q = q0; q < q1; q++) {
        float v = a->b[q % (size_t)a->c], *y = a->y + q * a->plane;
        for (size_t i = 0; i < a->plane; i++)
            y[i] += v;
    }
}

/* Each channel's sum over its planes in CPU_LANES partial sums (cpu.h). */
CPU_VECTOR_CLONES static void bias_grad_channels(void *p, size_t c0, size_t c1)
{
    const bias_args *a = p;
    const size_t plane = a->plane, end = plane / CPU_LANES * CPU_LANES;
    for (size_t c = c0; c < c1; c++) {
        double part[CPU_LANES] = {0}, s = 0.0;
        for (int n = 0; n < a->n; n++) {
            const float *dy = a->y + ((size_t)n * a->c + c) * plane;
            for (size_t i = 0; i < end; i += CPU_LANES)
                for (int k = 0; k < CPU_LANES; k++)
                    part[k] += dy[i + k];
            for (size_t i = end; i < plane; i++)
                s += dy[i];
        }
        s += cpu_lanes_total(part);
        a->b[c] += (float)s;
    }
}

static void bias_add(cpu_ctx *c, const mg_tensor *bias, mg_tensor *y)
{
    bias_args a = {cpu_data(y), cpu_data(bias), y->shape[0], y->shape[1], (size_t)y->shape[2] * y->shape[3]};
    mg_pool_for(c->pool, (size_t)a.n * a.c, cpu_grain(a.plane), bias_add_planes, &a);
}

static void bias_grad(cpu_ctx *c, const mg_tensor *dy, mg_tensor *db)
{
    bias_args a = {cpu_data(dy), cpu_data(db), dy->shape[0], dy->shape[1], (size_t)dy->shape[2] * dy->shape[3]};
    mg_pool_for(c->pool, (size_t)a.c, cpu_grain(a.plane * a.n), bias_grad_channels, &a);
}

/* ------------------------------------------------------------------ conv2d */
/* Geometry of the convolution of node's input: x [N,C,H,W] -> y [N,Cout,Ho,Wo]. */
static conv_geom conv_geom_of(const mg_node *n, const mg_tensor *img, const mg_tensor *out)
{
    const mg_tensor *w = n->src[1];
    const mg_conv_params *p = &n->p.conv;
    return (conv_geom){img->shape[1], img->shape[2], img->shape[3], w->shape[2],   w->shape[3],   p->stride_h,
                       p->stride_w,   p->pad_h,      p->pad_w,      out->shape[2], out->shape[3], 0,
                       out->shape[2]};
}

static bool conv_is_pointwise(const conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* Each band: y0 = g->y0, its columns start at y0 * ow in every output plane (ld = oh * ow). */
#define BANDS(g)          for ((g).y0 = 0; (g).y0 < (g).oh; (g).y0 = (g).y1)
#define BAND_END(g, rows) ((g).y1 = (g).y0 + (rows) < (g).oh ? (g).y0 + (rows) : (g).oh)

static bool conv_is_winograd(const conv_geom *g, int c_out)
{
    return cpu_winograd_fits(g->c, c_out, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw);
}

/* ------------------------------------------------------------------ narrow convolutions */
/* A convolution with few output channels (a generator's last layer: 64 -> 1, 7x7) is a one-row GEMM, bound by
 * the traffic of its huge column matrix. Computed directly instead, as row-wise multiply-adds over shifted
 * input rows: no column matrix at all. Each output element sums its terms in (channel, i, j) order whatever
 * the thread count. */
#define NARROW_MAX_OUT 4

static bool conv_is_narrow(const conv_geom *g, int c_out)
{
    return c_out <= NARROW_MAX_OUT && g->sh == 1 && g->sw == 1 && !conv_is_pointwise(g);
}

typedef struct narrow_args {
    const conv_geom *g;
    int n, c_out;
    const float *x, *w, *b, *dy;
    float *y, *dx, *dw;
} narrow_args;

/* Items are output rows (sample, oy). */
CPU_VECTOR_CLONES static void narrow_fwd_rows(void *p, size_t q0, size_t q1)
{
    const narrow_args *a = p;
    const conv_geom *g = a->g;
    for (size_t q = q0; q < q1; q++) {
        int s = (int)(q / (size_t)g->oh), oy = (int)(q % (size_t)g->oh);
        for (int o = 0; o < a->c_out; o++) {
            float *yrow = a->y + (((size_t)s * a->c_out + o) * g->oh + oy) * g->ow;
            for (int ox = 0; ox < g->ow; ox++)
                yrow[ox] = 0.0f;
            for (int c = 0; c < g->c; c++)
                for (int i = 0; i < g->kh; i++) {
                    int iy = oy - g->ph + i;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const float *xrow = a->x + (((size_t)s * g->c + c) * g->h + iy) * g->w;
                    const float *wk = a->w + (((size_t)o * g->c + c) * g->kh + i) * g->kw;
                    for (int j = 0; j < g->kw; j++) {
                        int lo, hi, shift = j - g->pw;
                        col_span(g, j, &lo, &hi);
                        const float wv = wk[j];
                        for (int ox = lo; ox < hi; ox++)
                            yrow[ox] += wv * xrow[ox + shift];
                    }
                }
        }
    }
}

/* Items are input planes (sample, c): each thread owns the dx planes it writes. */
CPU_VECTOR_CLONES static void narrow_dx_planes(void *p, size_t q0, size_t q1)
{
    const narrow_args *a = p;
    const conv_geom *g = a->g;
    for (size_t q = q0; q < q1; q++) {
        int s = (int)(q / (size_t)g->c), c = (int)(q % (size_t)g->c);
        float *dxp = a->dx + q * g->h * g->w;
        for (int o = 0; o < a->c_out; o++)
            for (int i = 0; i < g->kh; i++)
                for (int j = 0; j < g->kw; j++) {
                    const float wv = a->w[(((size_t)o * g->c + c) * g->kh + i) * g->kw + j];
                    int lo, hi, shift = j - g->pw;
                    col_span(g, j, &lo, &hi);
                    for (int oy = 0; oy < g->oh; oy++) {
                        int iy = oy - g->ph + i;
                        if (iy < 0 || iy >= g->h)
                            continue;
                        const float *dyrow = a->dy + (((size_t)s * a->c_out + o) * g->oh + oy) * g->ow;
                        float *dxrow = dxp + (size_t)iy * g->w;
                        for (int ox = lo; ox < hi; ox++)
                            dxrow[ox + shift] += wv * dyrow[ox];
                    }
                }
    }
}

/* A dot product in eight interleaved partial sums (vectorisable, and the same order on every run). */
static float narrow_dot(const float *a, const float *b, int n)
{
    float part[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += a[i + k] * b[i + k];
    float s = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* Items are (o, c) weight planes: kh * kw dot products over every sample's rows. */
CPU_VECTOR_CLONES static void narrow_dw_pairs(void *p, size_t q0, size_t q1)
{
    const narrow_args *a = p;
    const conv_geom *g = a->g;
    for (size_t q = q0; q < q1; q++) {
        int o = (int)(q / (size_t)g->c), c = (int)(q % (size_t)g->c);
        for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
                int lo, hi, shift = j - g->pw;
                col_span(g, j, &lo, &hi);
                double acc = 0.0;
                for (int s = 0; s < a->n; s++)
                    for (int oy = 0; oy < g->oh; oy++) {
                        int iy = oy - g->ph + i;
                        if (iy < 0 || iy >= g->h)
                            continue;
                        const float *dyrow = a->dy + (((size_t)s * a->c_out + o) * g->oh + oy) * g->ow;
                        const float *xrow = a->x + (((size_t)s * g->c + c) * g->h + iy) * g->w;
                        acc += narrow_dot(dyrow + lo, xrow + lo + shift, hi - lo);
                    }
                a->dw[(((size_t)o * g->c + c) * g->kh + i) * g->kw + j] += (float)acc;
            }
    }
}

static mg_status narrow_fwd(cpu_ctx *c, mg_node *n, const conv_geom *g)
{
    const mg_tensor *x = n->src[0], *b = n->src[2];
    narrow_args a = {g,    x->shape[0], n->dst->shape[1], cpu_data(x), cpu_data(n->src[1]),
                     NULL, NULL,        cpu_data(n->dst), NULL,        NULL};
    size_t per_row = (size_t)a.c_out * g->c * g->kh * g->kw * g->ow;
    mg_pool_for(c->pool, (size_t)a.n * g->oh, cpu_grain(per_row), narrow_fwd_rows, &a);
    if (b)
        bias_add(c, b, n->dst);
    return MG_OK;
}

static mg_status narrow_bwd(cpu_ctx *c, mg_node *n, const conv_geom *g)
{
    const mg_tensor *x = n->src[0], *w = n->src[1], *dy = n->dst->grad;
    narrow_args a = {g,
                     x->shape[0],
                     dy->shape[1],
                     cpu_data(x),
                     cpu_data(w),
                     NULL,
                     cpu_data(dy),
                     NULL,
                     n->want_grad[0] ? cpu_data(x->grad) : NULL,
                     n->want_grad[1] ? cpu_data(w->grad) : NULL};
    size_t per_plane = (size_t)a.c_out * g->kh * g->kw * g->oh * g->ow;
    if (a.dx)
        mg_pool_for(c->pool, (size_t)a.n * g->c, cpu_grain(per_plane), narrow_dx_planes, &a);
    if (a.dw)
        mg_pool_for(c->pool, (size_t)a.c_out * g->c, cpu_grain(per_plane * a.n / (size_t)a.c_out), narrow_dw_pairs, &a);
    if (n->want_grad[2])
        bias_grad(c, dy, n->src[2]->grad);
    return MG_OK;
}

mg_status cpu_conv2d_fwd(void *ctx, mg_node *n)
{
    cpu_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *b = n->src[2];
    mg_tensor *y = n->dst;
    conv_geom g = conv_geom_of(n, x, y);
    if (conv_is_narrow(&g, y->shape[1]))
        return narrow_fwd(c, n, &g);
    if (conv_is_winograd(&g, y->shape[1])) {
        mg_status st = cpu_winograd_fwd(c, x, w, g.ph, y);
        if (st == MG_OK && b)
            bias_add(c, b, y);
        return st;
    }
    int k = g.c * g.kh * g.kw, cols = g.oh * g.ow, c_out = y->shape[1], rows = conv_band_rows(&g);
    bool direct = conv_is_pointwise(&g);
    float *col = NULL;
    mg_status st = direct ? MG_OK : conv_workspace(c, &g, &col);
    if (st != MG_OK)
        return st;
    for (int s = 0; s < x->shape[0]; s++) {
        const float *xs = cpu_data(x) + (size_t)s * g.c * g.h * g.w;
        float *ys = cpu_data(y) + (size_t)s * c_out * cols;
        if (direct) {
            cpu_gemm(c, false, false, c_out, cols, k, 1.0f, cpu_data(w), k, xs, cols, 0.0f, ys, cols);
            continue;
        }
        BANDS(g)
        {
            BAND_END(g, rows);
            int off = g.y0 * g.ow, band = (g.y1 - g.y0) * g.ow;
            im2col(c, &g, xs, col);
            cpu_gemm(c, false, false, c_out, band, k, 1.0f, cpu_data(w), k, col, band, 0.0f, ys + off, cols);
        }
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
    if (conv_is_narrow(&g, dy->shape[1]))
        return narrow_bwd(c, n, &g);
    if (conv_is_winograd(&g, dy->shape[1])) {
        mg_status st =
            cpu_winograd_bwd(c, x, w, dy, g.ph, n->want_grad[0] ? x->grad : NULL, n->want_grad[1] ? w->grad : NULL);
        if (st == MG_OK && n->want_grad[2])
            bias_grad(c, dy, n->src[2]->grad);
        return st;
    }
    int k = g.c * g.kh * g.kw, cols = g.oh * g.ow, c_out = dy->shape[1], rows = conv_band_rows(&g);
    bool direct = conv_is_pointwise(&g);
    float *col = NULL;
    mg_status st = direct ? MG_OK : conv_workspace(c, &g, &col);
    if (st != MG_OK)
        return st;
    for (int s = 0; s < x->shape[0] && (n->want_grad[0] || n->want_grad[1]); s++) {
        const float *xs = cpu_data(x) + (size_t)s * g.c * g.h * g.w;
        const float *dys = cpu_data(dy) + (size_t)s * c_out * cols;
        float *dxs = n->want_grad[0] ? cpu_data(x->grad) + (size_t)s * g.c * g.h * g.w : NULL;
        if (direct) {
            if (n->want_grad[1])
                cpu_gemm(c, false, true, c_out, k, cols, 1.0f, dys, cols, xs, cols, 1.0f, cpu_data(w->grad), k);
            if (dxs)
                cpu_gemm(c, true, false, k, cols, c_out, 1.0f, cpu_data(w), k, dys, cols, 1.0f, dxs, cols);
            continue;
        }
        BANDS(g)
        {
            BAND_END(g, rows);
            int off = g.y0 * g.ow, band = (g.y1 - g.y0) * g.ow;
            if (n->want_grad[1]) {
                im2col(c, &g, xs, col);
                cpu_gemm(c, false, true, c_out, k, band, 1.0f, dys + off, cols, col, band, 1.0f, cpu_data(w->grad), k);
            }
            if (dxs) {
                cpu_gemm(c, true, false, k, band, c_out, 1.0f, cpu_data(w), k, dys + off, cols, 0.0f, col, band);
                col2im(c, &g, col, dxs);
            }
        }
    }
    if (n->want_grad[2])
        bias_grad(c, dy, n->src[2]->grad);
    return MG_OK;
}

/* ------------------------------------------------------------------ conv_transpose2d */
/* The output y [N,Cout,Ho,Wo] is the "image" whose convolution with the same window gives x's size,
 * so the bands run over x's rows. */
mg_status cpu_conv_transpose2d_fwd(void *ctx, mg_node *n)
{
    cpu_ctx *c = ctx;
    const mg_tensor *x = n->src[0], *w = n->src[1], *b = n->src[2];
    mg_tensor *y = n->dst;
    conv_geom g = conv_geom_of(n, y, x);
    int c_in = x->shape[1], kk = g.c * g.kh * g.kw, cols = g.oh * g.ow, rows = conv_band_rows(&g);
    float *col;
    mg_status st = conv_workspace(c, &g, &col);
    if (st != MG_OK)
        return st;
    memset(cpu_data(y), 0, y->numel * sizeof(float));
    for (int s = 0; s < x->shape[0]; s++) {
        const float *xs = cpu_data(x) + (size_t)s * c_in * cols;
        BANDS(g)
        {
            BAND_END(g, rows);
            int off = g.y0 * g.ow, band = (g.y1 - g.y0) * g.ow;
            cpu_gemm(c, true, false, kk, band, c_in, 1.0f, cpu_data(w), kk, xs + off, cols, 0.0f, col, band);
            col2im(c, &g, col, cpu_data(y) + (size_t)s * g.c * g.h * g.w);
        }
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
    int c_in = x->shape[1], kk = g.c * g.kh * g.kw, cols = g.oh * g.ow, rows = conv_band_rows(&g);
    float *col;
    mg_status st = conv_workspace(c, &g, &col);
    if (st != MG_OK)
        return st;
    for (int s = 0; s < x->shape[0] && (n->want_grad[0] || n->want_grad[1]); s++) {
        size_t xo = (size_t)s * c_in * cols;
        BANDS(g)
        {
            BAND_END(g, rows);
            int off = g.y0 * g.ow, band = (g.y1 - g.y0) * g.ow;
            im2col(c, &g, cpu_data(dy) + (size_t)s * g.c * g.h * g.w, col);
            if (n->want_grad[0])
                cpu_gemm(c, false, false, c_in, band, kk, 1.0f, cpu_data(w), kk, col, band, 1.0f,
                         cpu_data(x->grad) + xo + off, cols);
            if (n->want_grad[1])
                cpu_gemm(c, false, true, c_in, kk, band, 1.0f, cpu_data(x) + xo + off, cols, col, band, 1.0f,
                         cpu_data(w->grad), kk);
        }
    }
    if (n->want_grad[2])
        bias_grad(c, dy, n->src[2]->grad);
    return MG_OK;
}
