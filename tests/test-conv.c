/* The CPU backend's convolutions (im2col + GEMM, pointwise, narrow, Winograd F(4x4, 3x3)) against a direct sum in
 * double: the output, dX and dW of every element within the rounding bound of the arithmetic.
 *
 * A value computed as a sum of products, in any order and with any exact rearrangement, is within gamma_n times
 * the same computation done on absolute values (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed.,
 * sec. 3.1 and 3.5), gamma_n = n u / (1 - n u), u = 2^-24, n the longest chain of roundings an element meets:
 *   - a direct sum (im2col + GEMM, narrow, pointwise): sum |w| |x|, n = the number of terms;
 *   - Winograd: |A^T| [(|G| |w| |G^T|) . (|B^T| |d| |B|)] |A|, summed over the channels; n = the channels plus
 *     the chains of the transforms (B^T and A^T rows of up to five terms, on both sides: 32 is above them all).
 * The Winograd expression on absolute values is never below sum |w| |x| (the transforms applied to |w| and |x|
 * give exactly that sum), so every 3x3 stride-1 shape is held to it whichever road the backend takes, with the
 * larger n of the two. The output adds the bias: one rounding more, on |b| too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mrigan/blas.h"

typedef struct conv_case {
    const char *name;
    int n, c_in, c_out, h, w, k, stride, pad;
} conv_case;

static const conv_case cases[] = {
    {"3x3 pad 1, partial tiles", 2, 16, 24, 13, 11, 3, 1, 1},
    {"3x3 pad 0 (reflection-padded layers)", 1, 32, 16, 18, 21, 3, 1, 0},
    {"3x3 pad 2", 1, 20, 17, 9, 10, 3, 1, 2},
    {"3x3 pad 1, one tile", 1, 16, 16, 3, 4, 3, 1, 1},
    {"3x3 pad 0, two bands of tile rows", 1, 16, 16, 346, 346, 3, 1, 0},
    {"3x3 eight channels", 1, 8, 8, 12, 12, 3, 1, 1},
    {"3x3 few channels", 2, 3, 8, 10, 9, 3, 1, 1},
    {"4x4 stride 2", 1, 8, 16, 16, 14, 4, 2, 1},
    {"7x7 to one channel", 1, 9, 1, 12, 11, 7, 1, 3},
    {"1x1", 2, 12, 10, 7, 5, 1, 1, 0},
};

/* F(4x4, 3x3) with the points 0, 1, -1, 2, -2 and infinity (Lavin and Gray 2016), in absolute values. */
static const double bt_abs[6][6] = {
    {4, 0, 5, 0, 1, 0}, {0, 4, 4, 1, 1, 0}, {0, 4, 4, 1, 1, 0},
    {0, 2, 1, 2, 1, 0}, {0, 2, 1, 2, 1, 0}, {0, 4, 0, 5, 0, 1},
};
static const double g_abs[6][3] = {
    {1.0 / 4, 0, 0},
    {1.0 / 6, 1.0 / 6, 1.0 / 6},
    {1.0 / 6, 1.0 / 6, 1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};
static const double at_abs[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, 1, 2, 2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, 1, 8, 8, 1}};

static double gamma_n(double n) { return n * 0x1p-24 / (1.0 - n * 0x1p-24); }

static int out_size(int in, const conv_case *k) { return (in + 2 * k->pad - k->k) / k->stride + 1; }

/* y = conv(x, w) (no bias), dx = conv^T(w, dy), dw = x (*) dy, all in double; with absolute values in, the
 * direct sums' bounds. Any of y, dx, dw may be NULL. */
static void direct(const conv_case *k, const double *x, const double *w, const double *dy, double *y, double *dx,
                   double *dw)
{
    const int oh = out_size(k->h, k), ow = out_size(k->w, k);
    for (int s = 0; s < k->n; s++)
        for (int o = 0; o < k->c_out; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    size_t yi = (((size_t)s * k->c_out + o) * oh + oy) * ow + ox;
                    double acc = 0.0;
                    for (int c = 0; c < k->c_in; c++)
                        for (int i = 0; i < k->k; i++)
                            for (int j = 0; j < k->k; j++) {
                                int iy = oy * k->stride - k->pad + i, ix = ox * k->stride - k->pad + j;
                                if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w)
                                    continue;
                                size_t xi = (((size_t)s * k->c_in + c) * k->h + iy) * k->w + ix;
                                size_t wi = (((size_t)o * k->c_in + c) * k->k + i) * k->k + j;
                                acc += w[wi] * x[xi];
                                if (dx)
                                    dx[xi] += w[wi] * dy[yi];
                                if (dw)
                                    dw[wi] += x[xi] * dy[yi];
                            }
                    if (y)
                        y[yi] = acc;
                }
}

/* The 6x6 tile of |plane| (h x w) at (y0, x0), zeros outside, through |B^T| . |B|. */
static void wino_source(const double *plane, int h, int w, int y0, int x0, double v[6][6])
{
    double d[6][6], t[6][6];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            int y = y0 + i, x = x0 + j;
            d[i][j] = y >= 0 && y < h && x >= 0 && x < w ? plane[(size_t)y * w + x] : 0.0;
        }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            t[i][j] = 0.0;
            for (int k = 0; k < 6; k++)
                t[i][j] += bt_abs[i][k] * d[k][j];
        }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            v[i][j] = 0.0;
            for (int k = 0; k < 6; k++)
                v[i][j] += t[i][k] * bt_abs[j][k];
        }
}

/* |G| |kernel| |G^T| of a 3x3 kernel (turned by 180 degrees when flip). */
static void wino_kernel(const double *kern, bool flip, double u[6][6])
{
    double t[6][3];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++) {
            t[i][j] = 0.0;
            for (int k = 0; k < 3; k++)
                t[i][j] += g_abs[i][k] * kern[flip ? 8 - (k * 3 + j) : k * 3 + j];
        }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            u[i][j] = 0.0;
            for (int k = 0; k < 3; k++)
                u[i][j] += t[i][k] * g_abs[j][k];
        }
}

/* Winograd's expression on absolute values for a 3x3 stride-1 convolution of src [n][n_in][h][w] padded by pad
 * into e [n][n_out][h + 2 pad - 2][...]; kernels [n_out][n_in][3][3], or (swap) [n_in][n_out][3][3] turned. */
static void wino_bound(int n, int n_in, int h, int w, int n_out, int pad, const double *src, const double *kern,
                       bool swap, double *e)
{
    const int oh = h + 2 * pad - 2, ow = w + 2 * pad - 2;
    double(*u)[6][6] = malloc((size_t)n_in * n_out * sizeof *u), (*v)[6][6] = malloc((size_t)n_in * sizeof *v);
    for (int o = 0; o < n_out; o++)
        for (int c = 0; c < n_in; c++)
            wino_kernel(kern + (swap ? (size_t)c * n_out + o : (size_t)o * n_in + c) * 9, swap, u[o * n_in + c]);
    for (int s = 0; s < n; s++)
        for (int ty = 0; ty < oh; ty += 4)
            for (int tx = 0; tx < ow; tx += 4) {
                for (int c = 0; c < n_in; c++)
                    wino_source(src + ((size_t)s * n_in + c) * h * w, h, w, ty - pad, tx - pad, v[c]);
                for (int o = 0; o < n_out; o++) {
                    double p[6][6] = {{0}}, t[4][6];
                    for (int c = 0; c < n_in; c++)
                        for (int i = 0; i < 36; i++)
                            p[i / 6][i % 6] += u[o * n_in + c][i / 6][i % 6] * v[c][i / 6][i % 6];
                    for (int i = 0; i < 4; i++)
                        for (int j = 0; j < 6; j++) {
                            t[i][j] = 0.0;
                            for (int k = 0; k < 6; k++)
                                t[i][j] += at_abs[i][k] * p[k][j];
                        }
                    for (int i = 0; i < 4 && ty + i < oh; i++)
                        for (int j = 0; j < 4 && tx + j < ow; j++) {
                            double acc = 0.0;
                            for (int k = 0; k < 6; k++)
                                acc += t[i][k] * at_abs[j][k];
                            e[(((size_t)s * n_out + o) * oh + ty + i) * ow + tx + j] = acc;
                        }
                }
            }
    free(u);
    free(v);
}

/* dW's Winograd expression on absolute values: |G^T| [sum over tiles of (|A| |dy| |A^T|) . (|B^T| |x| |B|)] |G|. */
static void wino_bound_dw(const conv_case *k, const double *x, const double *dy, double *e)
{
    const int oh = out_size(k->h, k), ow = out_size(k->w, k);
    for (int o = 0; o < k->c_out; o++)
        for (int c = 0; c < k->c_in; c++) {
            double p[6][6] = {{0}}, v[6][6];
            for (int s = 0; s < k->n; s++)
                for (int ty = 0; ty < oh; ty += 4)
                    for (int tx = 0; tx < ow; tx += 4) {
                        double m[6][6] = {{0}};
                        const double *plane = dy + ((size_t)s * k->c_out + o) * oh * ow;
                        for (int i = 0; i < 4 && ty + i < oh; i++)
                            for (int j = 0; j < 4 && tx + j < ow; j++)
                                for (int a = 0; a < 6; a++)
                                    for (int b = 0; b < 6; b++)
                                        m[a][b] += at_abs[i][a] * at_abs[j][b] * plane[(size_t)(ty + i) * ow + tx + j];
                        wino_source(x + ((size_t)s * k->c_in + c) * k->h * k->w, k->h, k->w, ty - k->pad, tx - k->pad,
                                    v);
                        for (int a = 0; a < 6; a++)
                            for (int b = 0; b < 6; b++)
                                p[a][b] += m[a][b] * v[a][b];
                    }
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    double acc = 0.0;
                    for (int a = 0; a < 6; a++)
                        for (int b = 0; b < 6; b++)
                            acc += g_abs[a][i] * p[a][b] * g_abs[b][j];
                    e[((size_t)o * k->c_in + c) * 9 + i * 3 + j] = acc;
                }
        }
}

static float *uniform(mg_rng *r, size_t n)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = 2.0f * mg_rng_uniform(r) - 1.0f;
    return v;
}

static double *widen(const float *v, size_t n, bool absolute)
{
    double *d = calloc(n, sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = absolute ? fabs((double)v[i]) : v[i];
    return d;
}

/* got within gamma_n bound of want, element by element; the worst ratio of error to allowance. */
static double compare(const char *name, const char *what, const float *got, const double *want, const double *bound,
                      size_t n, double terms)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double allow = gamma_n(terms) * bound[i];
        double err = fabs(got[i] - want[i]), ratio = allow > 0.0 ? err / allow : err > 0.0 ? INFINITY : 0.0;
        if (!(ratio <= 1.0) && worst <= 1.0)
            fprintf(stderr, "  %s: %s element %zu: %.9g, exact %.9g, allowed error %.3g\n", name, what, i, got[i],
                    want[i], allow);
        if (!(ratio <= worst))
            worst = ratio;
    }
    return worst;
}

static void run_case(mg_backend *be, const conv_case *k)
{
    const int oh = out_size(k->h, k), ow = out_size(k->w, k);
    const size_t nx = (size_t)k->n * k->c_in * k->h * k->w, nw = (size_t)k->c_out * k->c_in * k->k * k->k;
    const size_t ny = (size_t)k->n * k->c_out * oh * ow;
    mg_rng r;
    mg_rng_seed(&r, 2026, 12);
    float *x = uniform(&r, nx), *w = uniform(&r, nw), *b = uniform(&r, (size_t)k->c_out), *dy = uniform(&r, ny);
    float *y = malloc(ny * sizeof *y), *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw);

    mg_graph *g;
    mg_tensor *wt = NULL, *bt = NULL;
    const int xs[4] = {k->n, k->c_in, k->h, k->w}, ws[4] = {k->c_out, k->c_in, k->k, k->k}, bs[1] = {k->c_out};
    MUST(mg_graph_new(be, &g));
    mg_graph_set_grad(g, true);
    MUST(mg_param_new(be, "w", 4, ws, &wt));
    MUST(mg_param_new(be, "b", 1, bs, &bt));
    MUST(mg_tensor_write(wt, w, nw));
    MUST(mg_tensor_write(bt, b, (size_t)k->c_out));
    mg_tensor *xt = mg_graph_tensor(g, 4, xs, x);
    mg_tensor_set_requires_grad(xt, true);
    mg_conv_params p = {k->stride, k->stride, k->pad, k->pad, 0, 0};
    mg_tensor *yt = mg_conv2d_ex(g, xt, wt, bt, &p);
    CHECK(yt && yt->shape[2] == oh && yt->shape[3] == ow, "%s: output shape", k->name);
    if (yt) {
        MUST(mg_tensor_read(yt, y, ny));
        MUST(mg_graph_backward_from(g, yt, mg_graph_tensor(g, 4, yt->shape, dy)));
        MUST(mg_tensor_read(xt->grad, dx, nx));
        MUST(mg_tensor_read(wt->grad, dw, nw));
    }

    double *xd = widen(x, nx, false), *wd = widen(w, nw, false), *dyd = widen(dy, ny, false);
    double *want_y = calloc(ny, sizeof(double)), *want_dx = calloc(nx, sizeof(double));
    double *want_dw = calloc(nw, sizeof(double));
    direct(k, xd, wd, dyd, want_y, want_dx, want_dw);
    for (size_t i = 0; i < ny; i++)
        want_y[i] += b[i / ((size_t)oh * ow) % (size_t)k->c_out];
    double *xa = widen(x, nx, true), *wa = widen(w, nw, true), *dya = widen(dy, ny, true);
    double *e_y = calloc(ny, sizeof(double)), *e_dx = calloc(nx, sizeof(double)), *e_dw = calloc(nw, sizeof(double));
    bool wino = k->k == 3 && k->stride == 1 && k->pad <= 2;
    if (wino) {
        wino_bound(k->n, k->c_in, k->h, k->w, k->c_out, k->pad, xa, wa, false, e_y);
        wino_bound(k->n, k->c_out, oh, ow, k->c_in, 2 - k->pad, dya, wa, true, e_dx);
        wino_bound_dw(k, xa, dya, e_dw);
    } else {
        direct(k, xa, wa, dya, e_y, e_dx, e_dw);
    }
    /* Terms per element: direct sums over the taps; Winograd over the channels (or tiles) plus the transforms. */
    double taps = (double)k->k * k->k, tiles = (double)k->n * ((oh + 3) / 4) * ((ow + 3) / 4);
    double n_y = fmax(k->c_in * taps, wino ? k->c_in + 32.0 : 0) + 1;
    double n_dx = fmax(k->c_out * taps, wino ? k->c_out + 32.0 : 0) + 1; /* + 1: added into the gradient */
    double n_dw = fmax((double)k->n * oh * ow, wino ? tiles + 32.0 : 0) + 1;
    for (size_t i = 0; i < ny; i++) /* the bias: one more term of y */
        e_y[i] += fabs(b[i / ((size_t)oh * ow) % (size_t)k->c_out]);
    double ry = compare(k->name, "y", y, want_y, e_y, ny, n_y);
    double rx = compare(k->name, "dx", dx, want_dx, e_dx, nx, n_dx);
    double rw = compare(k->name, "dw", dw, want_dw, e_dw, nw, n_dw);
    CHECK(ry <= 1.0 && rx <= 1.0 && rw <= 1.0, "%s: error / allowed: y %.3g, dx %.3g, dw %.3g", k->name, ry, rx, rw);
    printf("%-4s %-38s error / allowed: y %.2e, dx %.2e, dw %.2e\n", ry <= 1 && rx <= 1 && rw <= 1 ? "ok" : "FAIL",
           k->name, ry, rx, rw);

    free(xd), free(wd), free(dyd), free(want_y), free(want_dx), free(want_dw);
    free(xa), free(wa), free(dya), free(e_y), free(e_dx), free(e_dw);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw);
    mg_graph_free(g);
    mg_tensor_free(wt);
    mg_tensor_free(bt);
}

int main(int argc, char **argv)
{
    (void)argc;
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run */
    mg_backend *be;
    MUST(mg_backend_cpu_new(0, &be));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(be, &cases[i]);
    mg_backend_free(be);
    printf("%s\n", failures ? "FAIL" : "ok");
    return failures ? 1 : 0;
}
