/* The op test: one table row per op and shape, run in three modes.
 *
 *   test-ops grad [filter]      analytic gradients of every input against central finite differences
 *                               (CPU backend), with NaN/Inf checks on outputs and gradients
 *   test-ops threads [filter]   1 thread against 3 threads: outputs and gradients within 1e-5 relative
 *   test-ops backends [filter]  every OpenCL device against the CPU, outputs and gradients within each
 *                               row's backend_tol (exit 77, "skipped", when there is no OpenCL device)
 *
 * Each row builds its op from inputs drawn from a seeded PCG32; the gradient of sum(y * r) for a fixed
 * random r is what backward computes (mg_graph_backward_from with seed r). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrigan/blas.h"
#include "mrigan/mrigan.h"
#include "mrigan/opencl.h"

enum in_kind { IN_NONE, IN_DATA, IN_PARAM, IN_TARGET01, IN_CONST }; /* IN_CONST: takes no gradient */
/* keep input 0 away from 0 / from input 1 / its elements apart from each other (an order that finite differences
 * must not change) */
enum kink { KINK_NONE, KINK_ZERO, KINK_DIFF, KINK_RANKS };

typedef struct in_spec {
    enum in_kind kind;
    int ndim;
    int shape[4];
} in_spec;

typedef mg_tensor *(*build_fn)(mg_graph *g, mg_tensor **in, const float *a);

typedef struct op_case {
    const char *name;
    build_fn build;
    float a[6]; /* op arguments, meaning per builder */
    in_spec in[3];
    enum kink kink;
    float fd_eps;      /* finite-difference step; 0: no finite differences (a mean over thousands of
                        * elements moves by less than float resolution; the row is for threads) */
    float fd_tol;      /* gradient error limit, relative (see check_grad) */
    float backend_tol; /* other backends vs CPU, relative to the largest value */
} op_case;

/* ------------------------------------------------------------------ builders */
static mg_tensor *b_conv(mg_graph *g, mg_tensor **in, const float *a)
{
    mg_conv_params p = {(int)a[0], (int)a[1], (int)a[2], (int)a[3], 0, 0};
    return mg_conv2d_ex(g, in[0], in[1], in[2], &p);
}
static mg_tensor *b_convt(mg_graph *g, mg_tensor **in, const float *a)
{
    mg_conv_params p = {(int)a[0], (int)a[1], (int)a[2], (int)a[3], (int)a[4], (int)a[5]};
    return mg_conv_transpose2d_ex(g, in[0], in[1], in[2], &p);
}
static mg_tensor *b_pad(mg_graph *g, mg_tensor **in, const float *a)
{
    return mg_reflect_pad2d(g, in[0], (int)a[0], (int)a[1], (int)a[2], (int)a[3]);
}
static mg_tensor *b_shift(mg_graph *g, mg_tensor **in, const float *a)
{
    const int box[4] = {(int)a[2], (int)a[3], (int)a[4], (int)a[5]};
    return mg_shift2d(g, in[0], (int)a[0], (int)a[1], box, -1.0f);
}
static mg_tensor *b_up(mg_graph *g, mg_tensor **in, const float *a) { return mg_upsample2d(g, in[0], (int)a[0]); }
static mg_tensor *b_bilinear(mg_graph *g, mg_tensor **in, const float *a) { return mg_bilinear2d(g, in[0], (int)a[0]); }
static mg_tensor *b_ngf(mg_graph *g, mg_tensor **in, const float *a) { return mg_ngf_map(g, in[0], in[1], a[0]); }
static mg_tensor *b_quantile(mg_graph *g, mg_tensor **in, const float *a)
{
    return mg_quantile_loss(g, in[0], in[1], in[2], a[0]);
}
static mg_tensor *b_norm(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_instance_norm(g, in[0], in[1], in[2], 1e-5f);
}
static mg_tensor *b_norm_relu(mg_graph *g, mg_tensor **in, const float *a)
{
    return mg_instance_norm_relu(g, in[0], in[1], in[2], 1e-5f, a[0]);
}
static mg_tensor *b_relu(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_relu(g, in[0]);
}
static mg_tensor *b_leaky(mg_graph *g, mg_tensor **in, const float *a) { return mg_leaky_relu(g, in[0], a[0]); }
static mg_tensor *b_tanh(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_tanh(g, in[0]);
}
static mg_tensor *b_sigmoid(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_sigmoid(g, in[0]);
}
static mg_tensor *b_dropout(mg_graph *g, mg_tensor **in, const float *a) { return mg_dropout(g, in[0], a[0]); }
static mg_tensor *b_add(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_add(g, in[0], in[1]);
}
static mg_tensor *b_scale(mg_graph *g, mg_tensor **in, const float *a) { return mg_scale(g, in[0], a[0]); }
static mg_tensor *b_concat(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_concat(g, in[0], in[1]);
}
static mg_tensor *b_mean(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_mean(g, in[0]);
}
static mg_tensor *b_sum(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_sum(g, in[0]);
}
static mg_tensor *b_mse(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_mse_loss(g, in[0], in[1]);
}
static mg_tensor *b_l1(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_l1_loss(g, in[0], in[1]);
}
static mg_tensor *b_bce(mg_graph *g, mg_tensor **in, const float *a)
{
    (void)a;
    return mg_bce_logits_loss(g, in[0], in[1]);
}

/* ------------------------------------------------------------------ the table */
#define D4(n, c, h, w)                                                                                                 \
    {                                                                                                                  \
        IN_DATA, 4, { n, c, h, w }                                                                                     \
    }
#define P4(a, b, c, d)                                                                                                 \
    {                                                                                                                  \
        IN_PARAM, 4, { a, b, c, d }                                                                                    \
    }
#define P1(n)                                                                                                          \
    {                                                                                                                  \
        IN_PARAM, 1, { n }                                                                                             \
    }
#define T4(n, c, h, w)                                                                                                 \
    {                                                                                                                  \
        IN_TARGET01, 4, { n, c, h, w }                                                                                 \
    }
#define C4(n, c, h, w)                                                                                                 \
    {                                                                                                                  \
        IN_CONST, 4, { n, c, h, w }                                                                                    \
    }
#define C1(n)                                                                                                          \
    {                                                                                                                  \
        IN_CONST, 1, { n }                                                                                             \
    }
#define NONE                                                                                                           \
    {                                                                                                                  \
        IN_NONE, 0, { 0 }                                                                                              \
    }

/* One row per line reads as a table. */
// clang-format off
static const op_case cases[] = {
    /* conv2d: a = stride_h, stride_w, pad_h, pad_w */
    {"conv2d k3 s1 p1", b_conv, {1, 1, 1, 1}, {D4(2, 3, 7, 9), P4(4, 3, 3, 3), P1(4)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"conv2d k3 s2 p1 odd", b_conv, {2, 2, 1, 1}, {D4(1, 2, 9, 7), P4(3, 2, 3, 3), P1(3)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"conv2d k4 s2 p1", b_conv, {2, 2, 1, 1}, {D4(2, 3, 8, 8), P4(5, 3, 4, 4), P1(5)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"conv2d k4 s2 p1 2x2", b_conv, {2, 2, 1, 1}, {D4(1, 4, 2, 2), P4(3, 4, 4, 4), P1(3)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"conv2d k1 pointwise", b_conv, {1, 1, 0, 0}, {D4(2, 5, 5, 6), P4(3, 5, 1, 1), NONE}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"conv2d k7 p3 nobias", b_conv, {1, 1, 3, 3}, {D4(1, 2, 9, 8), P4(2, 2, 7, 7), NONE}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"conv2d k3x5 s2x1 p1x2", b_conv, {2, 1, 1, 2}, {D4(2, 2, 7, 6), P4(3, 2, 3, 5), P1(3)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"conv2d k3 s2 p0 even", b_conv, {2, 2, 0, 0}, {D4(1, 3, 10, 8), P4(2, 3, 3, 3), P1(2)}, 0, 1e-2f, 2e-3f, 1e-4f},
    /* K * Hout * Wout above the CPU's 2M-float column workspace: computed in bands of output rows */
    {"conv2d banded", b_conv, {1, 1, 1, 1}, {D4(2, 32, 97, 80), P4(5, 32, 3, 3), P1(5)}, 0, 1e-2f, 2e-3f, 1e-4f},
    /* few output channels, stride 1: the direct (narrow) path */
    {"conv2d narrow k7 64->1", b_conv, {1, 1, 0, 0}, {D4(1, 9, 19, 17), P4(1, 9, 7, 7), P1(1)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"conv2d narrow k3 p2 odd", b_conv, {1, 1, 2, 2}, {D4(2, 3, 11, 6), P4(4, 3, 3, 3), NONE}, 0, 1e-2f, 2e-3f, 1e-4f},
    /* 3x3 stride 1 with 16 channels or more: Winograd's F(4x4, 3x3) (cpu-winograd.c), whose transforms round more
     * than a direct sum. A convolution is linear in each input, so a central difference is exact at any step: a
     * large one keeps that rounding, divided by the step, small against the derivative. */
    {"conv2d large", b_conv, {1, 1, 1, 1}, {D4(1, 16, 33, 31), P4(24, 16, 3, 3), P1(24)}, 0, 0.5f, 2e-3f, 1e-4f},
    {"conv2d winograd p0", b_conv, {1, 1, 0, 0}, {D4(2, 20, 14, 11), P4(16, 20, 3, 3), P1(16)}, 0, 0.5f, 2e-3f, 1e-4f},
    /* conv_transpose2d: a = stride_h, stride_w, pad_h, pad_w, out_pad_h, out_pad_w */
    {"convT k3 s2 p1 op1", b_convt, {2, 2, 1, 1, 1, 1}, {D4(2, 3, 5, 4), P4(3, 4, 3, 3), P1(4)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"convT k4 s2 p1", b_convt, {2, 2, 1, 1, 0, 0}, {D4(1, 4, 3, 5), P4(4, 2, 4, 4), P1(2)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"convT k4 s2 p1 1x1", b_convt, {2, 2, 1, 1, 0, 0}, {D4(2, 3, 1, 1), P4(3, 2, 4, 4), P1(2)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"convT k3 s1 p1 nobias", b_convt, {1, 1, 1, 1, 0, 0}, {D4(2, 2, 6, 6), P4(2, 3, 3, 3), NONE}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"convT k3 s3 op2", b_convt, {3, 3, 0, 0, 2, 2}, {D4(1, 2, 3, 3), P4(2, 2, 3, 3), P1(2)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"convT k2x3 s2x1 op1x0", b_convt, {2, 1, 0, 1, 1, 0}, {D4(1, 2, 4, 5), P4(2, 3, 2, 3), P1(3)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"convT banded", b_convt, {2, 2, 1, 1, 1, 1}, {D4(2, 3, 91, 83), P4(3, 32, 3, 3), P1(32)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"convT large", b_convt, {2, 2, 1, 1, 1, 1}, {D4(1, 16, 17, 15), P4(16, 8, 3, 3), P1(8)}, 0, 1e-2f, 2e-3f, 1e-4f},
    /* reflect_pad2d: a = left, right, top, bottom */
    {"reflect_pad2d asym", b_pad, {1, 2, 3, 0}, {D4(2, 3, 5, 7), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"reflect_pad2d 3", b_pad, {3, 3, 3, 3}, {D4(1, 2, 4, 4), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"reflect_pad2d 1 on 2x3", b_pad, {1, 1, 1, 1}, {D4(1, 1, 2, 3), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"reflect_pad2d large", b_pad, {1, 1, 1, 1}, {D4(2, 8, 64, 64), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    /* shift2d: a = dx, dy, then the filled box x0, y0, x1, y1 (clipped to the image; empty when x0 >= x1) */
    {"shift2d right up, box", b_shift, {2, -1, 1, 3, 4, 9}, {D4(2, 3, 7, 5), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"shift2d left down, no box", b_shift, {-3, 2, 0, 0, 0, 0}, {D4(1, 2, 6, 8), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"shift2d none, box past edge", b_shift, {0, 0, -2, 4, 20, 30}, {D4(1, 1, 6, 6), NONE, NONE}, 0, 1e-2f, 2e-3f,
     0.0f},
    {"shift2d large", b_shift, {-9, 13, 20, 5, 52, 37}, {D4(2, 4, 64, 64), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    /* upsample2d: a = factor */
    {"upsample2d x2", b_up, {2}, {D4(2, 3, 5, 7), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"upsample2d x3 1x1", b_up, {3}, {D4(1, 2, 1, 1), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"upsample2d x1", b_up, {1}, {D4(1, 2, 3, 4), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"upsample2d large", b_up, {2}, {D4(2, 8, 33, 31), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    /* bilinear2d: a = factor; OpenCL may contract its blends into fused multiply-adds */
    {"bilinear2d x2", b_bilinear, {2}, {D4(2, 3, 5, 7), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-6f},
    {"bilinear2d x3", b_bilinear, {3}, {D4(1, 2, 4, 3), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-6f},
    {"bilinear2d x2 1x1", b_bilinear, {2}, {D4(1, 2, 1, 1), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-6f},
    {"bilinear2d x1", b_bilinear, {1}, {D4(1, 2, 3, 4), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-6f},
    {"bilinear2d large", b_bilinear, {2}, {D4(2, 8, 33, 31), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-6f},
    /* ngf_map: a = eps; both inputs take gradients. The map curves sharply (a ratio of quartics of the
     * differences), so the central difference's O(step^2) error needs a smaller step than the other rows'. */
    {"ngf_map", b_ngf, {0.3f}, {D4(2, 3, 6, 7), D4(2, 3, 6, 7), NONE}, 0, 2e-3f, 2e-3f, 1e-5f},
    {"ngf_map eps 0.1 1-wide", b_ngf, {0.1f}, {D4(1, 2, 9, 1), D4(1, 2, 9, 1), NONE}, 0, 2e-3f, 2e-3f, 1e-5f},
    {"ngf_map large", b_ngf, {0.1f}, {D4(1, 4, 40, 37), D4(1, 4, 40, 37), NONE}, 0, 2e-3f, 2e-3f, 1e-5f},
    /* quantile_loss: a = the mask's threshold; the mask and the quantiles take no gradient. Finite differences
     * keep the pixels' order, so input 0's elements are kept apart. Planes of 42 and 9 pixels pad to 64 and 16
     * in the OpenCL sort. */
    {"quantile_loss", b_quantile, {0.0f}, {D4(2, 1, 6, 7), C4(2, 1, 6, 7), C1(5)}, KINK_RANKS, 5e-3f, 2e-3f, 1e-5f},
    {"quantile_loss all 1-wide", b_quantile, {-2.0f}, {D4(1, 2, 9, 1), C4(1, 2, 9, 1), C1(2)}, KINK_RANKS, 5e-3f,
     2e-3f, 1e-5f},
    {"quantile_loss large", b_quantile, {0.3f}, {D4(2, 1, 40, 37), C4(2, 1, 40, 37), C1(64)}, 0, 0.0f, 2e-3f, 1e-5f},
    /* instance_norm, eps 1e-5 */
    {"instance_norm", b_norm, {0}, {D4(2, 3, 5, 7), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"instance_norm affine", b_norm, {0}, {D4(2, 4, 3, 3), P1(4), P1(4)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"instance_norm 1x5 planes", b_norm, {0}, {D4(1, 2, 1, 5), P1(2), P1(2)}, 0, 1e-2f, 2e-3f, 1e-4f},
    {"instance_norm large", b_norm, {0}, {D4(2, 8, 40, 41), P1(8), P1(8)}, 0, 1e-2f, 2e-3f, 1e-4f},
    /* fused with the activation after it: its kinks sit at normalised values, which no input spacing keeps away
     * from a finite difference's step, so these rows check threads and backends; test-graph checks them against
     * the two ops they fuse, bit for bit */
    {"instance_norm relu", b_norm_relu, {0.0f}, {D4(2, 3, 5, 7), NONE, NONE}, 0, 0.0f, 2e-3f, 1e-4f},
    {"instance_norm leaky affine", b_norm_relu, {0.2f}, {D4(2, 8, 40, 41), P1(8), P1(8)}, 0, 0.0f, 2e-3f, 1e-4f},
    /* activations */
    {"relu", b_relu, {0}, {D4(2, 3, 5, 7), NONE, NONE}, KINK_ZERO, 1e-2f, 2e-3f, 0.0f},
    {"leaky_relu 0.2", b_leaky, {0.2f}, {D4(2, 3, 5, 7), NONE, NONE}, KINK_ZERO, 1e-2f, 2e-3f, 0.0f},
    {"leaky_relu large", b_leaky, {0.2f}, {D4(1, 4, 64, 65), NONE, NONE}, KINK_ZERO, 1e-2f, 2e-3f, 0.0f},
    {"tanh", b_tanh, {0}, {D4(2, 3, 5, 7), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-5f},
    {"sigmoid", b_sigmoid, {0}, {{IN_DATA, 2, {5, 9}}, NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-5f},
    {"sigmoid large", b_sigmoid, {0}, {D4(1, 4, 64, 65), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-5f},
    /* dropout: a = p */
    {"dropout 0.5", b_dropout, {0.5f}, {D4(2, 3, 16, 17), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"dropout 0.2 large", b_dropout, {0.2f}, {D4(1, 8, 64, 64), NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    /* joins and scaling */
    {"add", b_add, {0}, {D4(2, 3, 5, 7), D4(2, 3, 5, 7), NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"scale", b_scale, {-1.7f}, {{IN_DATA, 3, {3, 4, 5}}, NONE, NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"concat", b_concat, {0}, {D4(2, 3, 5, 7), D4(2, 2, 5, 7), NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    {"concat large", b_concat, {0}, {D4(1, 16, 32, 32), D4(1, 16, 32, 32), NONE}, 0, 1e-2f, 2e-3f, 0.0f},
    /* reductions and losses */
    {"mean", b_mean, {0}, {D4(2, 3, 5, 7), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-5f},
    {"sum", b_sum, {0}, {{IN_DATA, 1, {13}}, NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-5f},
    {"sum large", b_sum, {0}, {D4(1, 3, 100, 100), NONE, NONE}, 0, 1e-2f, 2e-3f, 1e-5f},
    {"mse_loss", b_mse, {0}, {D4(2, 3, 5, 7), D4(2, 3, 5, 7), NONE}, 0, 5e-2f, 2e-3f, 1e-5f},
    {"mse_loss large", b_mse, {0}, {D4(1, 1, 90, 90), D4(1, 1, 90, 90), NONE}, 0, 0.0f, 2e-3f, 1e-5f},
    {"l1_loss", b_l1, {0}, {D4(2, 3, 5, 7), D4(2, 3, 5, 7), NONE}, KINK_DIFF, 5e-2f, 2e-3f, 1e-5f},
    {"l1_loss large", b_l1, {0}, {D4(1, 1, 90, 90), D4(1, 1, 90, 90), NONE}, KINK_DIFF, 0.0f, 2e-3f, 1e-5f},
    {"bce_logits_loss", b_bce, {0}, {D4(2, 3, 5, 7), T4(2, 3, 5, 7), NONE}, 0, 5e-2f, 2e-3f, 1e-5f},
    {"bce_logits_loss large", b_bce, {0}, {D4(1, 1, 90, 90), T4(1, 1, 90, 90), NONE}, 0, 0.0f, 2e-3f, 1e-5f},
};
// clang-format on
#define N_CASES (sizeof cases / sizeof *cases)

/* ------------------------------------------------------------------ running a case */
/* Inputs, upstream gradient, and what a backend made of them. */
typedef struct case_data {
    float *in[3];
    size_t in_n[3];
    float *seed;
    float *y;
    size_t y_n;
    int y_ndim, y_shape[4];
    float *grad[3];
} case_data;

static size_t spec_numel(const in_spec *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (size_t)s->shape[i];
    return n;
}

static void case_data_free(case_data *d)
{
    for (int i = 0; i < 3; i++) {
        free(d->in[i]);
        free(d->grad[i]);
    }
    free(d->seed);
    free(d->y);
    memset(d, 0, sizeof *d);
}

static void case_make_inputs(const op_case *c, uint64_t seed, case_data *d)
{
    mg_rng r;
    mg_rng_seed(&r, seed, 1);
    memset(d, 0, sizeof *d);
    for (int i = 0; i < 3; i++) {
        const in_spec *s = &c->in[i];
        if (s->kind == IN_NONE)
            continue;
        d->in_n[i] = spec_numel(s);
        d->in[i] = malloc(d->in_n[i] * sizeof(float));
        for (size_t k = 0; k < d->in_n[i]; k++)
            d->in[i][k] = s->kind == IN_TARGET01 ? mg_rng_uniform(&r) : 2.0f * mg_rng_uniform(&r) - 1.0f;
    }
    /* Keep every element a safe distance from the op's kink, so finite differences do not cross it. */
    if (c->kink == KINK_RANKS) { /* the draws' ranks, evenly spaced: apart by 1.9 / n */
        const size_t n = d->in_n[0];
        float *v = d->in[0], *spaced = malloc(n * sizeof *spaced);
        for (size_t k = 0; k < n; k++) {
            size_t rank = 0;
            for (size_t j = 0; j < n; j++)
                rank += v[j] < v[k] || (v[j] == v[k] && j < k);
            spaced[k] = -0.95f + 1.9f * ((float)rank + 0.5f) / (float)n;
        }
        memcpy(v, spaced, n * sizeof *spaced);
        free(spaced);
    }
    for (size_t k = 0; (c->kink == KINK_ZERO || c->kink == KINK_DIFF) && k < d->in_n[0]; k++) {
        float ref = c->kink == KINK_DIFF ? d->in[1][k] : 0.0f, diff = d->in[0][k] - ref;
        if (fabsf(diff) < 0.1f)
            d->in[0][k] = ref + (diff < 0.0f ? -0.1f : 0.1f);
    }
}

/* Runs c forward (and backward when seed is given) on be. Returns 0 on success. */
static int case_run(mg_backend *be, const op_case *c, case_data *d, bool backward)
{
    mg_graph *g;
    mg_tensor *params[3] = {0}, *in[3] = {0};
    int rc = 1;
    if (mg_graph_new(be, &g) != MG_OK)
        return 1;
    mg_graph_set_seed(g, 1234);
    mg_graph_set_grad(g, backward);
    for (int i = 0; i < 3; i++) {
        const in_spec *s = &c->in[i];
        if (s->kind == IN_NONE)
            continue;
        if (s->kind == IN_PARAM) {
            if (mg_param_new(be, "w", s->ndim, s->shape, &params[i]) != MG_OK ||
                mg_tensor_write(params[i], d->in[i], d->in_n[i]) != MG_OK)
                goto done;
            in[i] = params[i];
        } else {
            in[i] = mg_graph_tensor(g, s->ndim, s->shape, d->in[i]);
            if (in[i] && s->kind != IN_CONST)
                mg_tensor_set_requires_grad(in[i], true);
        }
    }
    mg_tensor *y = c->build(g, in, c->a);
    if (!y) {
        fprintf(stderr, "  %s: build failed: %s\n", c->name, mg_graph_error(g));
        goto done;
    }
    d->y_ndim = y->ndim;
    memcpy(d->y_shape, y->shape, sizeof d->y_shape);
    d->y_n = y->numel;
    free(d->y);
    d->y = malloc(y->numel * sizeof(float));
    if (mg_tensor_read(y, d->y, y->numel) != MG_OK)
        goto done;
    if (backward) {
        if (!d->seed) {
            mg_rng r;
            mg_rng_seed(&r, 99, 2);
            d->seed = malloc(y->numel * sizeof(float));
            for (size_t k = 0; k < y->numel; k++)
                d->seed[k] = 2.0f * mg_rng_uniform(&r) - 1.0f;
        }
        mg_tensor *seed = mg_graph_tensor(g, y->ndim, y->shape, d->seed);
        if (!seed || mg_graph_backward_from(g, y, seed) != MG_OK) {
            fprintf(stderr, "  %s: backward failed: %s\n", c->name, mg_last_error());
            goto done;
        }
        for (int i = 0; i < 3; i++) {
            if (!in[i] || c->in[i].kind == IN_CONST)
                continue;
            free(d->grad[i]);
            d->grad[i] = malloc(d->in_n[i] * sizeof(float));
            if (!in[i]->grad || mg_tensor_read(in[i]->grad, d->grad[i], d->in_n[i]) != MG_OK) {
                fprintf(stderr, "  %s: input %d got no gradient\n", c->name, i);
                goto done;
            }
        }
    }
    rc = 0;
done:
    mg_graph_free(g);
    for (int i = 0; i < 3; i++)
        mg_tensor_free(params[i]);
    return rc;
}

static bool all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* max |a - b| / max(max |a|, floor) */
static double rel_err(const float *a, const float *b, size_t n, double floor)
{
    double num = 0.0, den = floor;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - b[i]));
        den = fmax(den, fabs((double)a[i]));
    }
    return num / den;
}

/* ------------------------------------------------------------------ modes */
static double objective(const case_data *d)
{
    double s = 0.0;
    for (size_t k = 0; k < d->y_n; k++)
        s += (double)d->y[k] * d->seed[k];
    return s;
}

static int check_grad(mg_backend *be, const op_case *c)
{
    case_data d;
    case_make_inputs(c, 7, &d);
    int fails = 0;
    if (case_run(be, c, &d, true) != 0) {
        case_data_free(&d);
        return 1;
    }
    if (!all_finite(d.y, d.y_n)) {
        fprintf(stderr, "  %s: non-finite output\n", c->name);
        fails++;
    }
    double worst = 0.0;
    for (int i = 0; i < 3; i++) {
        if (!d.in[i] || !d.grad[i])
            continue;
        if (c->fd_eps == 0.0f)
            break;
        if (!all_finite(d.grad[i], d.in_n[i])) {
            fprintf(stderr, "  %s: non-finite gradient of input %d\n", c->name, i);
            fails++;
            continue;
        }
        /* Up to 48 elements per input, spread over the whole tensor. */
        size_t n = d.in_n[i], step = n > 48 ? n / 48 : 1;
        double scale = 1e-3, err = 0.0;
        for (size_t k = 0; k < n; k++)
            scale = fmax(scale, fabs(d.grad[i][k]));
        for (size_t k = (step * 7) % n % step; k < n; k += step) {
            float keep = d.in[i][k];
            case_data probe = d;
            probe.y = NULL;
            for (int j = 0; j < 3; j++)
                probe.grad[j] = NULL;
            d.in[i][k] = keep + c->fd_eps;
            probe.in[i] = d.in[i];
            if (case_run(be, c, &probe, false) != 0)
                return fails + 1;
            double up = objective(&probe);
            d.in[i][k] = keep - c->fd_eps;
            if (case_run(be, c, &probe, false) != 0)
                return fails + 1;
            double down = objective(&probe);
            free(probe.y);
            d.in[i][k] = keep;
            double fd = (up - down) / (2.0 * c->fd_eps);
            /* Relative to the element's own size, with a floor of 5% of the input's largest
             * gradient so float noise on near-zero gradients does not dominate. */
            double e = fabs(fd - d.grad[i][k]) / (fmax(fabs(fd), fabs(d.grad[i][k])) + 0.05 * scale);
            if (e > err)
                err = e;
            if (e > c->fd_tol && fails < 5) {
                fprintf(stderr, "  %s: input %d element %zu: analytic %.6g, finite difference %.6g\n", c->name, i, k,
                        d.grad[i][k], fd);
            }
        }
        if (err > c->fd_tol)
            fails++;
        worst = fmax(worst, err);
    }
    if (c->fd_eps == 0.0f)
        printf("%-4s grad %-26s outputs finite; no finite differences for this row\n", fails ? "FAIL" : "ok", c->name);
    else
        printf("%-4s grad %-26s max rel err %.2e (limit %.0e)\n", fails ? "FAIL" : "ok", c->name, worst, c->fd_tol);
    case_data_free(&d);
    return fails;
}

/* Runs c on be_ref and be_test with the same inputs; outputs and gradients within tol. */
static int check_pair(mg_backend *be_ref, mg_backend *be_test, const op_case *c, double tol, const char *mode)
{
    case_data a, b;
    case_make_inputs(c, 11, &a);
    case_make_inputs(c, 11, &b);
    int fails = 0;
    if (case_run(be_ref, c, &a, true) != 0 || (b.seed = malloc(a.y_n * sizeof(float))) == NULL)
        fails++;
    if (!fails) {
        memcpy(b.seed, a.seed, a.y_n * sizeof(float));
        if (case_run(be_test, c, &b, true) != 0)
            fails++;
    }
    double worst = 0.0;
    if (!fails) {
        if (!all_finite(b.y, b.y_n))
            fails++;
        worst = rel_err(a.y, b.y, a.y_n, 1e-6);
        for (int i = 0; i < 3; i++) {
            if (!a.grad[i])
                continue;
            if (!all_finite(b.grad[i], b.in_n[i]))
                fails++;
            worst = fmax(worst, rel_err(a.grad[i], b.grad[i], a.in_n[i], 1e-6));
        }
        if (worst > tol)
            fails++;
    }
    printf("%-4s %s %-26s %s/%d vs %s/%d: max rel diff %.2e (limit %.0e)\n", fails ? "FAIL" : "ok", mode, c->name,
           mg_backend_name(be_test), mg_backend_threads(be_test), mg_backend_name(be_ref), mg_backend_threads(be_ref),
           worst, tol);
    case_data_free(&a);
    case_data_free(&b);
    return fails ? 1 : 0;
}

static bool case_selected(const op_case *c, const char *filter) { return !filter || strstr(c->name, filter); }

int main(int argc, char **argv)
{
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    const char *mode = argc > 1 ? argv[1] : "grad", *filter = argc > 2 ? argv[2] : NULL;
    int failed = 0, run = 0;
    if (!strcmp(mode, "grad")) {
        mg_backend *be;
        if (mg_backend_cpu_new(0, &be) != MG_OK)
            return fprintf(stderr, "cpu backend: %s\n", mg_last_error()), 1;
        for (size_t i = 0; i < N_CASES; i++)
            if (case_selected(&cases[i], filter))
                failed += check_grad(be, &cases[i]) != 0, run++;
        mg_backend_free(be);
    } else if (!strcmp(mode, "threads")) {
        mg_backend *one, *many;
        if (mg_backend_cpu_new(1, &one) != MG_OK || mg_backend_cpu_new(3, &many) != MG_OK)
            return fprintf(stderr, "cpu backend: %s\n", mg_last_error()), 1;
        for (size_t i = 0; i < N_CASES; i++)
            if (case_selected(&cases[i], filter))
                failed += check_pair(one, many, &cases[i], 1e-5, "threads"), run++;
        mg_backend_free(one);
        mg_backend_free(many);
    } else if (!strcmp(mode, "backends")) {
        mg_device_info devs[16];
        int n_dev = 0;
        if (mg_opencl_devices(devs, 16, &n_dev) != MG_OK || n_dev == 0) {
            printf("SKIP no OpenCL device (%s)\n", n_dev ? mg_last_error() : "the ICD loader found none");
            return 77;
        }
        mg_backend *cpu;
        if (mg_backend_cpu_new(0, &cpu) != MG_OK)
            return fprintf(stderr, "cpu backend: %s\n", mg_last_error()), 1;
        for (int d = 0; d < n_dev && d < 16; d++) {
            mg_backend *cl;
            if (mg_backend_opencl_new(d, &cl) != MG_OK) {
                fprintf(stderr, "FAIL opencl device %d (%s): %s\n", d, devs[d].name, mg_last_error());
                failed++;
                continue;
            }
            printf("# device %d: %s\n", d, devs[d].name);
            for (size_t i = 0; i < N_CASES; i++)
                if (case_selected(&cases[i], filter))
                    failed += check_pair(cpu, cl, &cases[i], cases[i].backend_tol > 0 ? cases[i].backend_tol : 1e-6,
                                         "opencl"),
                        run++;
            mg_backend_free(cl);
        }
        mg_backend_free(cpu);
    } else {
        fprintf(stderr, "usage: test-ops grad|threads|backends [name filter]\n");
        return 2;
    }
    if (run == 0) {
        fprintf(stderr, "no case matches '%s'\n", filter ? filter : "");
        return 1;
    }
    printf("%d of %d cases failed\n", failed, run);
    return failed ? 1 : 0;
}
