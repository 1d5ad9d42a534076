/* Parity test: every mrigan op (forward and backward), Adam, the networks and the CycleGAN training step
 * against PyTorch reference fixtures.
 *
 * Usage: test-parity FIXTURE_DIR [FILTER]
 *   Runs every case of pt_cases[] whose name contains FILTER (all cases without one), loading
 *   FIXTURE_DIR/<case>.mgfx as written by tools/gen-fixtures.py (see that script for the tensors and
 *   the meaning of "params" per op family). Prints "ok <case> maxerr=..." or "FAIL <case> ..." per
 *   case (details of a failure on "# " lines before it) and exits non-zero if any case failed, a
 *   listed fixture is missing, the directory holds a fixture not listed here, or nothing ran.
 *
 * This file holds the case list, the runners of the single ops and main; the helpers shared by all
 * runners, the error measure and the tolerances are in parity.h, and dropout, Adam, the U-Net, the
 * networks (net_*) and the training step (cyclegan_step) have their own files (parity-*.c).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <dirent.h>
#endif

#include <mrigan/blas.h>
#include <mrigan/mrigan.h>

#include "fixture.h"
#include "parity.h"

#define PT_PATH_MAX 4096

/* ------------------------------------------------------------------ op runners */

enum pt_op {
    PT_NONE,
    PT_CONV2D,
    PT_CONV_TRANSPOSE2D,
    PT_RELU,
    PT_LEAKY_RELU,
    PT_TANH,
    PT_SIGMOID,
    PT_SCALE,
    PT_ADD,
    PT_CONCAT,
    PT_MEAN,
    PT_SUM,
    PT_MSE,
    PT_L1,
    PT_BCE,
};

/* conv2d, params: [stride_h, stride_w, pad_h, pad_w, has_bias];
 * conv_transpose2d, params: [stride_h, stride_w, pad_h, pad_w, out_pad_h, out_pad_w, has_bias]. */
static void run_conv(pt_case *c)
{
    bool transposed = c->op == PT_CONV_TRANSPOSE2D;
    const char *what = transposed ? "conv_transpose2d" : "conv2d";
    int v[7] = {0}, n_params = transposed ? 7 : 5;
    int sh, sw, ph, pw, oh, ow, has_bias;
    mg_graph *g;
    mg_tensor *x, *w, *b = NULL, *y;

    for (int i = 0; i < n_params; i++)
        if (!case_param_i(c, i, &v[i]))
            return;
    sh = v[0];
    sw = v[1];
    ph = v[2];
    pw = v[3];
    oh = transposed ? v[4] : 0;
    ow = transposed ? v[5] : 0;
    has_bias = v[n_params - 1];
    if (has_bias != case_has(c, "b")) {
        case_fail(c, "params say has_bias=%d but the fixture %s 'b'", has_bias, has_bias ? "lacks" : "has");
        return;
    }
    if (!(g = case_graph(c)))
        return;
    x = case_input(c, g, "x", true);
    w = case_param(c, "w");
    if (has_bias)
        b = case_param(c, "b");
    if (x && w && (b || !has_bias)) {
        mg_conv_params p = {.stride_h = sh, .stride_w = sw, .pad_h = ph, .pad_w = pw, .out_pad_h = oh, .out_pad_w = ow};
        bool uniform = sh == sw && ph == pw && oh == ow;

        if (transposed)
            y = uniform ? mg_conv_transpose2d(g, x, w, b, sh, ph, oh) : mg_conv_transpose2d_ex(g, x, w, b, &p);
        else
            y = uniform ? mg_conv2d(g, x, w, b, sh, ph) : mg_conv2d_ex(g, x, w, b, &p);
        case_check_op(c, g, y, what, 3, (const pt_grad[]){{"gx", x}, {"gw", w}, {"gb", b}});
    }
    mg_graph_free(g);
}

/* params: [left, right, top, bottom] */
static void run_reflect_pad2d(pt_case *c)
{
    int l, r, t, bt;
    mg_graph *g;
    mg_tensor *x, *y;

    if (!case_param_i(c, 0, &l) || !case_param_i(c, 1, &r) || !case_param_i(c, 2, &t) || !case_param_i(c, 3, &bt))
        return;
    if (!(g = case_graph(c)))
        return;
    x = case_input(c, g, "x", true);
    y = mg_reflect_pad2d(g, x, l, r, t, bt);
    case_check_op(c, g, y, "reflect_pad2d", 1, (const pt_grad[]){{"gx", x}});
    mg_graph_free(g);
}

/* params: [eps, affine] */
static void run_instance_norm(pt_case *c)
{
    float eps;
    int affine;
    mg_graph *g;
    mg_tensor *x, *gamma = NULL, *beta = NULL, *y;

    if (!case_param_f(c, 0, &eps) || !case_param_i(c, 1, &affine))
        return;
    if (!(g = case_graph(c)))
        return;
    x = case_input(c, g, "x", true);
    if (affine) {
        gamma = case_param(c, "gamma");
        beta = case_param(c, "beta");
    }
    if (x && (!affine || (gamma && beta))) {
        y = mg_instance_norm(g, x, gamma, beta, eps);
        /* Without affine, gamma and beta are NULL and have no gradient to check. */
        case_check_op(c, g, y, "instance_norm", 3, (const pt_grad[]){{"gx", x}, {"ggamma", gamma}, {"gbeta", beta}});
    }
    mg_graph_free(g);
}

/* relu, leaky_relu (params [slope]), tanh, sigmoid, scale (params [s]), mean, sum. */
static void run_unary(pt_case *c)
{
    float v = 0.0f;
    mg_graph *g;
    mg_tensor *x, *y = NULL;

    if ((c->op == PT_LEAKY_RELU || c->op == PT_SCALE) && !case_param_f(c, 0, &v))
        return;
    if (!(g = case_graph(c)))
        return;
    x = case_input(c, g, "x", true);
    switch (c->op) {
    case PT_RELU: y = mg_relu(g, x); break;
    case PT_LEAKY_RELU: y = mg_leaky_relu(g, x, v); break;
    case PT_TANH: y = mg_tanh(g, x); break;
    case PT_SIGMOID: y = mg_sigmoid(g, x); break;
    case PT_SCALE: y = mg_scale(g, x, v); break;
    case PT_MEAN: y = mg_mean(g, x); break;
    case PT_SUM: y = mg_sum(g, x); break;
    default: case_fail(c, "bad unary op %d", c->op); break;
    }
    case_check_op(c, g, y, c->name, 1, (const pt_grad[]){{"gx", x}});
    mg_graph_free(g);
}

/* add, concat: inputs a, b. mse, l1, bce with logits (mean reduction): inputs x, target. All inputs
 * require grad. */
static void run_binary(pt_case *c)
{
    bool loss = c->op == PT_MSE || c->op == PT_L1 || c->op == PT_BCE;
    mg_graph *g;
    mg_tensor *a, *b, *y = NULL;

    if (!(g = case_graph(c)))
        return;
    a = case_input(c, g, loss ? "x" : "a", true);
    b = case_input(c, g, loss ? "target" : "b", true);
    switch (c->op) {
    case PT_ADD: y = mg_add(g, a, b); break;
    case PT_CONCAT: y = mg_concat(g, a, b); break;
    case PT_MSE: y = mg_mse_loss(g, a, b); break;
    case PT_L1: y = mg_l1_loss(g, a, b); break;
    case PT_BCE: y = mg_bce_logits_loss(g, a, b); break;
    default: case_fail(c, "bad binary op %d", c->op); break;
    }
    case_check_op(c, g, y, c->name, 2, (const pt_grad[]){{loss ? "gx" : "ga", a}, {loss ? "gtarget" : "gb", b}});
    mg_graph_free(g);
}

/* ------------------------------------------------------------------ the case list */

typedef void (*pt_run_fn)(pt_case *c);

typedef struct pt_entry {
    const char *name;
    pt_run_fn run;
    int op;
    double tol;
} pt_entry;

static const pt_entry pt_cases[] = {
    {"conv2d_k1_s1_p0", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k1_s2_p0_nobias", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k3_s1_p1", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k3_s2_p1", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k3_s2_p0_nobias", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k4_s2_p1", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k4_s2_p1_odd", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k4_s1_p1", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k7_s1_p0", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k7_s1_p3_nobias", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k3x5_s1x2_p1x2", run_conv, PT_CONV2D, PT_TOL_OP},
    {"conv2d_k5x3_s2x1_p0x1_nobias", run_conv, PT_CONV2D, PT_TOL_OP},
    {"convt_k3_s2_p1_op1", run_conv, PT_CONV_TRANSPOSE2D, PT_TOL_OP},
    {"convt_k3_s2_p1_nobias", run_conv, PT_CONV_TRANSPOSE2D, PT_TOL_OP},
    {"convt_k4_s2_p1", run_conv, PT_CONV_TRANSPOSE2D, PT_TOL_OP},
    {"convt_k3_s1_p1", run_conv, PT_CONV_TRANSPOSE2D, PT_TOL_OP},
    {"convt_k1_s1_p0", run_conv, PT_CONV_TRANSPOSE2D, PT_TOL_OP},
    {"convt_k2_s2_p0", run_conv, PT_CONV_TRANSPOSE2D, PT_TOL_OP},
    {"convt_k4_s3_p1_op1", run_conv, PT_CONV_TRANSPOSE2D, PT_TOL_OP},
    {"convt_k3x4_s2x1_p1x0_op1x0_nobias", run_conv, PT_CONV_TRANSPOSE2D, PT_TOL_OP},
    {"reflect_pad_1_2_3_0", run_reflect_pad2d, PT_NONE, PT_TOL_OP},
    {"reflect_pad_3_3_3_3", run_reflect_pad2d, PT_NONE, PT_TOL_OP},
    {"reflect_pad_1_1_1_1", run_reflect_pad2d, PT_NONE, PT_TOL_OP},
    {"reflect_pad_0_4_2_1", run_reflect_pad2d, PT_NONE, PT_TOL_OP},
    {"instance_norm_affine", run_instance_norm, PT_NONE, PT_TOL_OP},
    {"instance_norm_noaffine", run_instance_norm, PT_NONE, PT_TOL_OP},
    {"instance_norm_offset", run_instance_norm, PT_NONE, PT_TOL_OP},
    {"instance_norm_small_plane", run_instance_norm, PT_NONE, PT_TOL_OP},
    {"relu", run_unary, PT_RELU, PT_TOL_OP},
    {"leaky_relu", run_unary, PT_LEAKY_RELU, PT_TOL_OP},
    {"tanh", run_unary, PT_TANH, PT_TOL_OP},
    {"sigmoid", run_unary, PT_SIGMOID, PT_TOL_OP},
    {"add", run_binary, PT_ADD, PT_TOL_OP},
    {"scale", run_unary, PT_SCALE, PT_TOL_OP},
    {"concat", run_binary, PT_CONCAT, PT_TOL_OP},
    {"concat_c1", run_binary, PT_CONCAT, PT_TOL_OP},
    {"mean", run_unary, PT_MEAN, PT_TOL_OP},
    {"sum", run_unary, PT_SUM, PT_TOL_OP},
    {"mse_loss", run_binary, PT_MSE, PT_TOL_OP},
    {"l1_loss", run_binary, PT_L1, PT_TOL_OP},
    {"bce_logits_loss", run_binary, PT_BCE, PT_TOL_OP},
    {"bce_logits_loss_hard", run_binary, PT_BCE, PT_TOL_OP},
    {"dropout", run_dropout, PT_NONE, PT_TOL_OP},
    {"adam", run_adam, PT_NONE, PT_TOL_OP},
    {"adam_lr_change", run_adam, PT_NONE, PT_TOL_OP},
    {"adam_skip", run_adam_skip, PT_NONE, PT_TOL_OP},
    {"unet64", run_unet, PT_NONE, PT_TOL_OP},
    {"net_unet", run_net, PT_NONE, PT_TOL_OP},
    {"net_resnet", run_net, PT_NONE, PT_TOL_OP},
    {"net_patchgan", run_net, PT_NONE, PT_TOL_OP},
    {"cyclegan_step", run_cyclegan_step, PT_NONE, PT_TOL_OP},
};
#define PT_N_CASES ((int)(sizeof pt_cases / sizeof pt_cases[0]))

/* Runs one case; returns 0 if it passed. */
static int pt_run_case(const pt_entry *e, const char *dir, mg_backend *be)
{
    char path[PT_PATH_MAX], err[512];
    pt_case c;
    mgfx *fx;

    memset(&c, 0, sizeof c);
    c.name = e->name;
    c.op = e->op;
    c.be = be;
    c.tol = e->tol;
    snprintf(path, sizeof path, "%s/%s.mgfx", dir, e->name);
    fx = mgfx_load(path, err, sizeof err);
    if (!fx) {
        printf("FAIL %s cannot load fixture: %s\n", e->name, err);
        return 1;
    }
    c.fx = fx;
    c.used = calloc(fx->n_tensors ? (size_t)fx->n_tensors : 1, sizeof *c.used);
    if (!c.used) {
        printf("FAIL %s out of memory\n", e->name);
        mgfx_free(fx);
        return 1;
    }

    e->run(&c);

    /* Every stored tensor must have been used: catches a fixture and this file drifting apart. */
    if (!c.failed) {
        for (int i = 0; i < fx->n_tensors; i++)
            if (!c.used[i])
                case_fail(&c, "fixture tensor '%s' was not checked", fx->tensors[i].name);
    }
    for (int i = 0; i < c.n_params; i++)
        mg_tensor_free(c.params[i]);
    free(c.used);
    mgfx_free(fx);
    if (c.failed) {
        printf("FAIL %s %s (maxerr=%.3g)\n", e->name, c.why, c.maxerr);
        return 1;
    }
    printf("ok %s maxerr=%.3g\n", e->name, c.maxerr);
    return 0;
}

/* Counts the *.mgfx files in dir (into *n_files) and returns how many of them no case lists, printing
 * a FAIL line for each if report is set; -1 if dir cannot be read. */
static int pt_check_unlisted(const char *dir, bool report, int *n_files)
{
    int unlisted = 0;

    *n_files = 0;
#ifndef _WIN32
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        bool listed = false;

        if (len <= 5 || strcmp(de->d_name + len - 5, ".mgfx") != 0)
            continue;
        (*n_files)++;
        for (int i = 0; i < PT_N_CASES; i++)
            if (strlen(pt_cases[i].name) == len - 5 && strncmp(pt_cases[i].name, de->d_name, len - 5) == 0)
                listed = true;
        if (!listed && report)
            printf("FAIL %.*s fixture is not listed in test-parity.c\n", (int)(len - 5), de->d_name);
        if (!listed)
            unlisted++;
    }
    closedir(d);
#else
    (void)dir;
    (void)report;
    *n_files = PT_N_CASES;
#endif
    return unlisted;
}

int main(int argc, char **argv)
{
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    const char *dir, *filter;
    mg_backend *be = NULL;
    mg_status s;
    int n_run = 0, n_failed = 0, n_files = 0, unlisted;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s FIXTURE_DIR [CASE_FILTER]\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    filter = argc > 2 ? argv[2] : NULL;

    unlisted = pt_check_unlisted(dir, !filter, &n_files);
    if (unlisted < 0) {
        printf("FAIL cannot read fixture directory %s\n", dir);
        return 1;
    }
    if (n_files == 0) {
        printf("FAIL no fixtures (*.mgfx) in %s\n", dir);
        return 1;
    }

    s = mg_backend_cpu_new(0, &be);
    if (s != MG_OK) {
        printf("FAIL mg_backend_cpu_new: %s: %s\n", mg_status_name(s), mg_last_error());
        return 1;
    }
    for (int i = 0; i < PT_N_CASES; i++) {
        if (filter && !strstr(pt_cases[i].name, filter))
            continue;
        n_run++;
        n_failed += pt_run_case(&pt_cases[i], dir, be);
    }
    mg_backend_free(be);

    if (n_run == 0) {
        printf("FAIL no case matches '%s'\n", filter ? filter : "");
        return 1;
    }
    printf("# %d of %d cases passed\n", n_run - n_failed, n_run);
    if (!filter && unlisted > 0)
        printf("# %d fixture(s) not listed in test-parity.c\n", unlisted);
    return n_failed || (!filter && unlisted > 0) ? 1 : 0;
}
