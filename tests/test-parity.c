/* Parity test: every mrigan op (forward and backward) and Adam against PyTorch reference fixtures.
 *
 * Usage: test-parity FIXTURE_DIR [FILTER]
 *   Runs every case of pt_cases[] whose name contains FILTER (all cases without one), loading
 *   FIXTURE_DIR/<case>.mgfx as written by tools/gen-fixtures.py (see that script for the tensors and
 *   the meaning of "params" per op family). Prints "ok <case> maxerr=..." or "FAIL <case> ..." per
 *   case (details of a failure on "# " lines before it) and exits non-zero if any case failed, a
 *   listed fixture is missing, the directory holds a fixture not listed here, or nothing ran.
 *
 * Error measure. For each compared tensor: max |got - ref| / scale with scale = max |ref| over the
 * tensor (1 if the reference is all zeros). This is stricter than max(1, max |ref|) for the many
 * tensors smaller than 1 (gradients of mean-reduced losses are ~1e-2), so small tensors are checked
 * relative to their own size. Adam parameters use scale = max |p_ref - p0| instead (see adam).
 *
 * Tolerances. The references are computed in float64 from the float32 inputs, so they carry no
 * float32 rounding of their own; PyTorch's own float32 results are within 4e-7 of them for every op
 * case and within 8e-7 for the whole U-Net (gen-fixtures.py prints this per case as f32err).
 *   PT_TOL_OP   1e-4  all op cases, including instance norm and the U-Net: two orders of magnitude
 *                     above float32 rounding of sums of up to ~400 terms (conv 7x7x3 forward, weight
 *                     gradients over N*H*W) and of the instance-norm statistics, so any summation
 *                     order passes while a wrong index, tap or factor does not.
 *   PT_TOL_ADAM 1e-3  of the largest displacement p - p0: one step moves a parameter by about lr
 *                     (2e-4), so an error measured against |p| would be meaningless; the float32
 *                     rounding of p itself (|p| < 0.4, half an ulp = 1.5e-8 per step) is ~1e-4 of
 *                     the displacement, PyTorch's float32 Adam is 3.4e-5 from the reference, and an
 *                     error of 0.1% in the update (e.g. eps placed inside the square root, a wrong
 *                     bias correction) is caught. The moments use PT_TOL_OP.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <dirent.h>
#endif

#include <mrigan/mrigan.h>

#include "fixture.h"

#define PT_TOL_OP 1e-4
#define PT_TOL_ADAM 1e-3
#define PT_MAX_PARAMS 24
#define PT_PATH_MAX 4096

/* ------------------------------------------------------------------ per-case state */

typedef struct pt_case {
    const char *name;
    int op;            /* variant within a runner (pt_op) */
    const mgfx *fx;
    mg_backend *be;
    double tol;
    double maxerr;
    int failed;
    char why[512];     /* first failure */
    bool *used;        /* fixture tensors consumed, one per fx->tensors[i] */
    mg_tensor *params[PT_MAX_PARAMS];
    int n_params;
} pt_case;

static void case_fail(pt_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void case_fail(pt_case *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("# %s: %s\n", c->name, msg);
    if (!c->failed)
        snprintf(c->why, sizeof c->why, "%s", msg);
    c->failed = 1;
}

/* false (and the case fails) unless s is MG_OK. */
static bool case_check_status(pt_case *c, mg_status s, const char *what)
{
    if (s == MG_OK)
        return true;
    case_fail(c, "%s: %s: %s", what, mg_status_name(s), mg_last_error());
    return false;
}

/* false (and the case fails) if an op chain returned NULL or the graph has failed. */
static bool case_check_graph(pt_case *c, mg_graph *g, const mg_tensor *y, const char *what)
{
    mg_status s = mg_graph_status(g);

    if (y && s == MG_OK)
        return true;
    case_fail(c, "%s: %s (graph status %s): %s", what, y ? "graph failed" : "op returned NULL",
              mg_status_name(s), mg_last_error());
    return false;
}

static const mgfx_tensor *case_need(pt_case *c, const char *name)
{
    for (int i = 0; i < c->fx->n_tensors; i++) {
        if (strcmp(c->fx->tensors[i].name, name) == 0) {
            c->used[i] = true;
            return &c->fx->tensors[i];
        }
    }
    case_fail(c, "fixture has no tensor '%s'", name);
    return NULL;
}

static bool case_has(const pt_case *c, const char *name)
{
    return mgfx_get(c->fx, name) != NULL;
}

/* params[i] of the fixture as a float; false if absent. */
static bool case_param_f(pt_case *c, int i, float *out)
{
    const mgfx_tensor *p = case_need(c, "params");

    if (!p)
        return false;
    if ((size_t)i >= p->numel) {
        case_fail(c, "params has %zu values, wanted index %d", p->numel, i);
        return false;
    }
    *out = p->data[i];
    return true;
}

static bool case_param_i(pt_case *c, int i, int *out)
{
    float v;

    if (!case_param_f(c, i, &v))
        return false;
    *out = (int)lrintf(v);
    return true;
}

/* A graph-owned input holding fixture tensor name. */
static mg_tensor *case_input(pt_case *c, mg_graph *g, const char *name, bool requires_grad)
{
    const mgfx_tensor *ft = case_need(c, name);
    mg_tensor *t;

    if (!ft)
        return NULL;
    if (ft->ndim < 1) {
        case_fail(c, "fixture tensor '%s' is a scalar", name);
        return NULL;
    }
    t = mg_graph_tensor(g, ft->ndim, ft->shape, ft->data);
    if (!t) {
        case_fail(c, "mg_graph_tensor(%s): %s", name, mg_last_error());
        return NULL;
    }
    if (requires_grad)
        mg_tensor_set_requires_grad(t, true);
    return t;
}

/* A standalone parameter holding fixture tensor name; freed at the end of the case. */
static mg_tensor *case_param(pt_case *c, const char *name)
{
    const mgfx_tensor *ft = case_need(c, name);
    mg_tensor *t = NULL;

    if (!ft)
        return NULL;
    if (c->n_params == PT_MAX_PARAMS) {
        case_fail(c, "too many parameters");
        return NULL;
    }
    if (!case_check_status(c, mg_param_new(c->be, name, ft->ndim, ft->shape, &t), "mg_param_new"))
        return NULL;
    c->params[c->n_params++] = t;
    if (!case_check_status(c, mg_tensor_write(t, ft->data, ft->numel), "mg_tensor_write"))
        return NULL;
    return t;
}

/* Compares t with fixture tensor ref_name. With base_name, the error is measured against
 * max |ref - base| (the displacement) instead of max |ref|. */
static void case_compare_ex(pt_case *c, const char *ref_name, const mg_tensor *t, const char *base_name,
                            double tol)
{
    const mgfx_tensor *ref = case_need(c, ref_name);
    const mgfx_tensor *base = base_name ? case_need(c, base_name) : NULL;
    float *got;
    double scale = 0.0, err = 0.0;
    size_t worst = 0;

    if (!ref || (base_name && !base))
        return;
    if (!t) {
        case_fail(c, "%s: no tensor to compare", ref_name);
        return;
    }
    if (t->ndim != ref->ndim || memcmp(t->shape, ref->shape, (size_t)t->ndim * sizeof(int)) != 0) {
        case_fail(c, "%s: shape [%d,%d,%d,%d]/%d, expected [%d,%d,%d,%d]/%d", ref_name, t->shape[0],
                  t->ndim > 1 ? t->shape[1] : 0, t->ndim > 2 ? t->shape[2] : 0, t->ndim > 3 ? t->shape[3] : 0,
                  t->ndim, ref->shape[0], ref->ndim > 1 ? ref->shape[1] : 0, ref->ndim > 2 ? ref->shape[2] : 0,
                  ref->ndim > 3 ? ref->shape[3] : 0, ref->ndim);
        return;
    }
    if (base && base->numel != ref->numel) {
        case_fail(c, "%s: base %s has another size", ref_name, base_name);
        return;
    }
    got = malloc(ref->numel * sizeof *got);
    if (!got) {
        case_fail(c, "out of memory");
        return;
    }
    if (!case_check_status(c, mg_tensor_read(t, got, ref->numel), "mg_tensor_read")) {
        free(got);
        return;
    }
    for (size_t i = 0; i < ref->numel; i++) {
        double s = fabs((double)ref->data[i] - (base ? (double)base->data[i] : 0.0));
        double e = fabs((double)got[i] - (double)ref->data[i]);

        if (s > scale)
            scale = s;
        if (!(e <= err)) { /* also catches NaN */
            err = e;
            worst = i;
            if (isnan(e))
                break;
        }
    }
    if (scale == 0.0)
        scale = 1.0;
    err /= scale;
    if (!(err <= c->maxerr) || isnan(err))
        c->maxerr = isnan(err) ? INFINITY : err;
    if (!(err <= tol))
        case_fail(c, "%s: error %.3g > %.1g (element %zu: got %.9g, expected %.9g, scale %.3g)", ref_name, err,
                  tol, worst, (double)got[worst], (double)ref->data[worst], scale);
    free(got);
}

static void case_compare(pt_case *c, const char *ref_name, const mg_tensor *t)
{
    case_compare_ex(c, ref_name, t, NULL, c->tol);
}

/* Compares the gradient of t with fixture tensor ref_name. */
static void case_compare_grad(pt_case *c, const char *ref_name, const mg_tensor *t)
{
    if (!t)
        return;
    if (!t->grad) {
        case_need(c, ref_name);
        case_fail(c, "%s: backward left no gradient", ref_name);
        return;
    }
    case_compare(c, ref_name, t->grad);
}

/* Back-propagates fixture tensor "gy" from y. */
static bool case_backward(pt_case *c, mg_graph *g, mg_tensor *y)
{
    mg_tensor *gy = case_input(c, g, "gy", false);

    if (!gy)
        return false;
    return case_check_status(c, mg_graph_backward_from(g, y, gy), "mg_graph_backward_from");
}

static mg_graph *case_graph(pt_case *c)
{
    mg_graph *g = NULL;

    if (!case_check_status(c, mg_graph_new(c->be, &g), "mg_graph_new"))
        return NULL;
    return g;
}

/* ------------------------------------------------------------------ op runners */

enum pt_op {
    PT_NONE,
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

/* params: [stride_h, stride_w, pad_h, pad_w, has_bias] */
static void run_conv2d(pt_case *c)
{
    int sh, sw, ph, pw, has_bias;
    mg_graph *g;
    mg_tensor *x, *w, *b = NULL, *y;

    if (!case_param_i(c, 0, &sh) || !case_param_i(c, 1, &sw) || !case_param_i(c, 2, &ph) ||
        !case_param_i(c, 3, &pw) || !case_param_i(c, 4, &has_bias))
        return;
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
        if (sh == sw && ph == pw) {
            y = mg_conv2d(g, x, w, b, sh, ph);
        } else {
            mg_conv_params p = {.stride_h = sh, .stride_w = sw, .pad_h = ph, .pad_w = pw};
            y = mg_conv2d_ex(g, x, w, b, &p);
        }
        if (case_check_graph(c, g, y, "conv2d")) {
            case_compare(c, "y", y);
            if (case_backward(c, g, y)) {
                case_compare_grad(c, "gx", x);
                case_compare_grad(c, "gw", w);
                if (b)
                    case_compare_grad(c, "gb", b);
            }
        }
    }
    mg_graph_free(g);
}

/* params: [stride_h, stride_w, pad_h, pad_w, out_pad_h, out_pad_w, has_bias] */
static void run_conv_transpose2d(pt_case *c)
{
    int sh, sw, ph, pw, oh, ow, has_bias;
    mg_graph *g;
    mg_tensor *x, *w, *b = NULL, *y;

    if (!case_param_i(c, 0, &sh) || !case_param_i(c, 1, &sw) || !case_param_i(c, 2, &ph) ||
        !case_param_i(c, 3, &pw) || !case_param_i(c, 4, &oh) || !case_param_i(c, 5, &ow) ||
        !case_param_i(c, 6, &has_bias))
        return;
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
        if (sh == sw && ph == pw && oh == ow) {
            y = mg_conv_transpose2d(g, x, w, b, sh, ph, oh);
        } else {
            mg_conv_params p = {.stride_h = sh, .stride_w = sw, .pad_h = ph, .pad_w = pw,
                                .out_pad_h = oh, .out_pad_w = ow};
            y = mg_conv_transpose2d_ex(g, x, w, b, &p);
        }
        if (case_check_graph(c, g, y, "conv_transpose2d")) {
            case_compare(c, "y", y);
            if (case_backward(c, g, y)) {
                case_compare_grad(c, "gx", x);
                case_compare_grad(c, "gw", w);
                if (b)
                    case_compare_grad(c, "gb", b);
            }
        }
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
    if (case_check_graph(c, g, y, "reflect_pad2d")) {
        case_compare(c, "y", y);
        if (case_backward(c, g, y))
            case_compare_grad(c, "gx", x);
    }
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
        if (case_check_graph(c, g, y, "instance_norm")) {
            case_compare(c, "y", y);
            if (case_backward(c, g, y)) {
                case_compare_grad(c, "gx", x);
                if (affine) {
                    case_compare_grad(c, "ggamma", gamma);
                    case_compare_grad(c, "gbeta", beta);
                }
            }
        }
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
    if (case_check_graph(c, g, y, c->name)) {
        case_compare(c, "y", y);
        if (case_backward(c, g, y))
            case_compare_grad(c, "gx", x);
    }
    mg_graph_free(g);
}

/* add, concat: inputs a, b. */
static void run_binary(pt_case *c)
{
    mg_graph *g;
    mg_tensor *a, *b, *y = NULL;

    if (!(g = case_graph(c)))
        return;
    a = case_input(c, g, "a", true);
    b = case_input(c, g, "b", true);
    if (c->op == PT_ADD)
        y = mg_add(g, a, b);
    else if (c->op == PT_CONCAT)
        y = mg_concat(g, a, b);
    else
        case_fail(c, "bad binary op %d", c->op);
    if (case_check_graph(c, g, y, c->name)) {
        case_compare(c, "y", y);
        if (case_backward(c, g, y)) {
            case_compare_grad(c, "ga", a);
            case_compare_grad(c, "gb", b);
        }
    }
    mg_graph_free(g);
}

/* mse, l1, bce with logits (mean reduction): inputs x, target, both requiring grad. */
static void run_loss(pt_case *c)
{
    mg_graph *g;
    mg_tensor *x, *t, *y = NULL;

    if (!(g = case_graph(c)))
        return;
    x = case_input(c, g, "x", true);
    t = case_input(c, g, "target", true);
    switch (c->op) {
    case PT_MSE: y = mg_mse_loss(g, x, t); break;
    case PT_L1: y = mg_l1_loss(g, x, t); break;
    case PT_BCE: y = mg_bce_logits_loss(g, x, t); break;
    default: case_fail(c, "bad loss op %d", c->op); break;
    }
    if (case_check_graph(c, g, y, c->name)) {
        case_compare(c, "y", y);
        if (case_backward(c, g, y)) {
            case_compare_grad(c, "gx", x);
            case_compare_grad(c, "gtarget", t);
        }
    }
    mg_graph_free(g);
}

/* ------------------------------------------------------------------ dropout */

/* Runs dropout(x, p) on a fresh graph of backend be with the given seed and training flag; writes the
 * output to y and, if gy and gx are not NULL, back-propagates gy and writes d/dx to gx. calls > 1
 * applies dropout calls-1 times to x first (their results unused), so the last call draws a later
 * stream. */
static bool dropout_run(pt_case *c, mg_backend *be, uint64_t seed, bool training, int calls, int ndim,
                        const int *shape, const float *x, float p, float *y, const float *gy, float *gx)
{
    mg_graph *g = NULL;
    mg_tensor *xt, *yt = NULL, *seedt;
    size_t n = 1;
    bool ok = false;

    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (!case_check_status(c, mg_graph_new(be, &g), "mg_graph_new"))
        return false;
    mg_graph_set_seed(g, seed);
    mg_graph_set_training(g, training);
    xt = mg_graph_tensor(g, ndim, shape, x);
    if (xt)
        mg_tensor_set_requires_grad(xt, true);
    for (int i = 0; i < calls; i++)
        yt = mg_dropout(g, xt, p);
    if (!case_check_graph(c, g, yt, "dropout"))
        goto done;
    if (!case_check_status(c, mg_tensor_read(yt, y, n), "mg_tensor_read"))
        goto done;
    if (gy && gx) {
        seedt = mg_graph_tensor(g, ndim, shape, gy);
        if (!case_check_graph(c, g, seedt, "dropout seed"))
            goto done;
        if (!case_check_status(c, mg_graph_backward_from(g, yt, seedt), "dropout backward"))
            goto done;
        if (!xt->grad) {
            case_fail(c, "dropout backward left no gradient on x");
            goto done;
        }
        if (!case_check_status(c, mg_tensor_read(xt->grad, gx, n), "mg_tensor_read"))
            goto done;
    }
    ok = true;
done:
    mg_graph_free(g);
    return ok;
}

/* Relative distance of a from b (for values expected to agree to float rounding). */
static double pt_rel_diff(double a, double b)
{
    double s = fabs(b) > 1e-30 ? fabs(b) : 1.0;

    return fabs(a - b) / s;
}

/* Every y[i] is 0 or x[i]/(1-p); returns the number kept, or -1 (case failed). */
static long dropout_check_values(pt_case *c, const char *who, const float *x, const float *y, size_t n,
                                 float p)
{
    long kept = 0;
    double scale = 1.0 / (1.0 - (double)p);

    for (size_t i = 0; i < n; i++) {
        double e;

        if (y[i] == 0.0f)
            continue;
        kept++;
        e = pt_rel_diff(y[i], x[i] * scale);
        if (e > c->maxerr)
            c->maxerr = e;
        if (!(e <= 1e-6)) {
            case_fail(c, "%s: element %zu is %.9g, neither 0 nor x/(1-p) = %.9g", who, i, (double)y[i],
                      x[i] * scale);
            return -1;
        }
    }
    return kept;
}

/* The kept fraction on n elements for probability p lies within 0.05 of 1-p. */
static void dropout_check_fraction(pt_case *c, size_t n, float p, uint64_t seed)
{
    int shape[2] = {64, (int)(n / 64)};
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    long kept;

    if (!x || !y) {
        case_fail(c, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f + 0.125f * (float)(i % 7);
    if (!dropout_run(c, c->be, seed, true, 1, 2, shape, x, p, y, NULL, NULL))
        goto done;
    kept = dropout_check_values(c, "large tensor", x, y, n, p);
    if (kept >= 0) {
        double frac = (double)kept / (double)n;

        if (fabs(frac - (1.0 - p)) > 0.05)
            case_fail(c, "p=%.2f on %zu elements kept %.4f, expected %.4f +- 0.05", (double)p, n, frac,
                      1.0 - p);
    }
done:
    free(x);
    free(y);
}

static int dropout_count_diff(const float *a, const float *b, size_t n)
{
    int d = 0;

    for (size_t i = 0; i < n; i++)
        d += (a[i] == 0.0f) != (b[i] == 0.0f);
    return d;
}

/* params: [p]; x, y (torch's output in training mode). torch's masks come from another generator, so
 * the test checks the semantics shared with torch rather than the values. */
static void run_dropout(pt_case *c)
{
    const mgfx_tensor *fx = case_need(c, "x"), *fy = case_need(c, "y");
    float p;
    size_t n;
    float *y = NULL, *y2 = NULL, *gx = NULL, *gy = NULL;
    mg_backend *be1 = NULL;
    long kept;

    if (!fx || !fy || !case_param_f(c, 0, &p))
        return;
    if (fy->numel != fx->numel) {
        case_fail(c, "x and y differ in size");
        return;
    }
    n = fx->numel;
    y = malloc(n * sizeof *y);
    y2 = malloc(n * sizeof *y2);
    gx = malloc(n * sizeof *gx);
    gy = malloc(n * sizeof *gy);
    if (!y || !y2 || !gx || !gy) {
        case_fail(c, "out of memory");
        goto done;
    }

    /* torch's convention: kept elements are x/(1-p). */
    kept = dropout_check_values(c, "torch reference", fx->data, fy->data, n, p);
    if (kept < 0)
        goto done;
    if (kept == 0 || (size_t)kept == n) {
        case_fail(c, "torch reference kept %ld of %zu", kept, n);
        goto done;
    }

    /* Training: every element is 0 or x/(1-p); the gradient is gy * mask / (1-p) = gy * y / x. */
    for (size_t i = 0; i < n; i++)
        gy[i] = (float)((double)((i * 37) % 11) - 5.0) * 0.25f + 0.1f;
    if (!dropout_run(c, c->be, 1234, true, 1, fx->ndim, fx->shape, fx->data, p, y, gy, gx))
        goto done;
    kept = dropout_check_values(c, "training", fx->data, y, n, p);
    if (kept < 0)
        goto done;
    if (fabs((double)kept / (double)n - (1.0 - p)) > 0.2) {
        case_fail(c, "training kept %ld of %zu for p=%.2f", kept, n, (double)p);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        double want = (double)gy[i] * (double)y[i] / (double)fx->data[i];
        double e = fabs(gx[i] - want) / (fabs(want) > 1.0 ? fabs(want) : 1.0);

        if (e > c->maxerr)
            c->maxerr = e;
        if (!(e <= 1e-6)) {
            case_fail(c, "gradient element %zu is %.9g, expected gy*y/x = %.9g", i, (double)gx[i], want);
            goto done;
        }
    }

    /* Same seed: the same mask (also from a backend with another thread count); another seed or a
     * later call: another mask. */
    if (!dropout_run(c, c->be, 1234, true, 1, fx->ndim, fx->shape, fx->data, p, y2, NULL, NULL))
        goto done;
    if (memcmp(y, y2, n * sizeof *y) != 0)
        case_fail(c, "two graphs with the same seed gave different outputs");
    if (!case_check_status(c, mg_backend_cpu_new(1, &be1), "mg_backend_cpu_new(1)"))
        goto done;
    if (!dropout_run(c, be1, 1234, true, 1, fx->ndim, fx->shape, fx->data, p, y2, NULL, NULL))
        goto done;
    if (memcmp(y, y2, n * sizeof *y) != 0)
        case_fail(c, "the same seed gave different outputs with 1 thread and %d threads",
                  mg_backend_threads(c->be));
    if (!dropout_run(c, c->be, 1235, true, 1, fx->ndim, fx->shape, fx->data, p, y2, NULL, NULL))
        goto done;
    if (dropout_count_diff(y, y2, n) == 0)
        case_fail(c, "seeds 1234 and 1235 gave the same mask");
    if (!dropout_run(c, c->be, 1234, true, 2, fx->ndim, fx->shape, fx->data, p, y2, NULL, NULL))
        goto done;
    if (dropout_count_diff(y, y2, n) == 0)
        case_fail(c, "the second dropout call of a graph repeated the first call's mask");

    /* Evaluation mode: the identity, gradient passed through unchanged. */
    if (!dropout_run(c, c->be, 1234, false, 1, fx->ndim, fx->shape, fx->data, p, y2, gy, gx))
        goto done;
    if (memcmp(y2, fx->data, n * sizeof *y2) != 0)
        case_fail(c, "evaluation mode is not the identity");
    if (memcmp(gx, gy, n * sizeof *gx) != 0)
        case_fail(c, "evaluation mode does not pass the gradient through");

    /* Kept fraction on 4096 elements. */
    dropout_check_fraction(c, 4096, p, 99);
    dropout_check_fraction(c, 4096, 0.2f, 100);

done:
    mg_backend_free(be1);
    free(y);
    free(y2);
    free(gx);
    free(gy);
}

/* ------------------------------------------------------------------ Adam */

/* Accumulates fixture tensor grad_name into param->grad through a graph: t = 1 * param, backward
 * from t with seed grad. */
static bool adam_push_grad(pt_case *c, mg_tensor *param, const char *grad_name)
{
    mg_graph *g = case_graph(c);
    mg_tensor *t, *seed;
    bool ok = false;

    if (!g)
        return false;
    t = mg_scale(g, param, 1.0f);
    seed = case_input(c, g, grad_name, false);
    if (case_check_graph(c, g, t, "scale") && seed)
        ok = case_check_status(c, mg_graph_backward_from(g, t, seed), "mg_graph_backward_from");
    mg_graph_free(g);
    return ok;
}

static bool adam_check_steps(pt_case *c, mg_adam *opt, int i, int64_t want)
{
    mg_tensor *m = NULL, *v = NULL;
    int64_t *step = NULL;

    if (!case_check_status(c, mg_adam_state(opt, i, &m, &v, &step), "mg_adam_state"))
        return false;
    if (!step || *step != want) {
        case_fail(c, "parameter %d: step count %lld, expected %lld", i, step ? (long long)*step : -1LL,
                  (long long)want);
        return false;
    }
    return true;
}

/* params: [lr, beta1, beta2, eps, n_steps, lr_after, switch_after] */
static void run_adam(pt_case *c)
{
    mg_adam_config cfg;
    float lr_after;
    int n, switch_after;
    mg_tensor *p;
    mg_adam *opt = NULL;
    mg_tensor *m = NULL, *v = NULL;
    int64_t *step = NULL;
    char name[16];

    if (!case_param_f(c, 0, &cfg.lr) || !case_param_f(c, 1, &cfg.beta1) || !case_param_f(c, 2, &cfg.beta2) ||
        !case_param_f(c, 3, &cfg.eps) || !case_param_i(c, 4, &n) || !case_param_f(c, 5, &lr_after) ||
        !case_param_i(c, 6, &switch_after))
        return;
    if (!(p = case_param(c, "p0")))
        return;
    if (!case_check_status(c, mg_adam_new(c->be, &p, 1, &cfg, &opt), "mg_adam_new"))
        return;
    if (mg_adam_param_count(opt) != 1)
        case_fail(c, "mg_adam_param_count is %d, expected 1", mg_adam_param_count(opt));
    for (int k = 1; k <= n && !c->failed; k++) {
        if (k - 1 == switch_after) {
            mg_adam_set_lr(opt, lr_after);
            if (mg_adam_lr(opt) != lr_after)
                case_fail(c, "mg_adam_lr is %g after mg_adam_set_lr(%g)", (double)mg_adam_lr(opt),
                          (double)lr_after);
        }
        snprintf(name, sizeof name, "g%d", k);
        if (!case_check_status(c, mg_adam_zero_grad(opt), "mg_adam_zero_grad") || !adam_push_grad(c, p, name))
            break;
        if (!case_check_status(c, mg_adam_step(opt), "mg_adam_step"))
            break;
        snprintf(name, sizeof name, "p%d", k);
        case_compare_ex(c, name, p, "p0", PT_TOL_ADAM);
    }
    if (!c->failed && adam_check_steps(c, opt, 0, n) &&
        case_check_status(c, mg_adam_state(opt, 0, &m, &v, &step), "mg_adam_state")) {
        case_compare(c, "m_last", m);
        case_compare(c, "v_last", v);
    }
    mg_adam_free(opt);
}

/* params: [lr, beta1, beta2, eps, n_steps, q_first]: p gets gradients g1..gN, q only h<q_first>..hN. */
static void run_adam_skip(pt_case *c)
{
    mg_adam_config cfg;
    int n, q_first;
    mg_tensor *pq[2];
    mg_adam *opt = NULL;
    char name[16];

    if (!case_param_f(c, 0, &cfg.lr) || !case_param_f(c, 1, &cfg.beta1) || !case_param_f(c, 2, &cfg.beta2) ||
        !case_param_f(c, 3, &cfg.eps) || !case_param_i(c, 4, &n) || !case_param_i(c, 5, &q_first))
        return;
    if (!(pq[0] = case_param(c, "p0")) || !(pq[1] = case_param(c, "q0")))
        return;
    if (!case_check_status(c, mg_adam_new(c->be, pq, 2, &cfg, &opt), "mg_adam_new"))
        return;
    for (int k = 1; k <= n && !c->failed; k++) {
        if (!case_check_status(c, mg_adam_zero_grad(opt), "mg_adam_zero_grad"))
            break;
        snprintf(name, sizeof name, "g%d", k);
        if (!adam_push_grad(c, pq[0], name))
            break;
        if (k >= q_first) {
            snprintf(name, sizeof name, "h%d", k);
            if (!adam_push_grad(c, pq[1], name))
                break;
        }
        if (!case_check_status(c, mg_adam_step(opt), "mg_adam_step"))
            break;
        snprintf(name, sizeof name, "p%d", k);
        case_compare_ex(c, name, pq[0], "p0", PT_TOL_ADAM);
        snprintf(name, sizeof name, "q%d", k);
        if (k < q_first) {
            /* No gradient yet: q must not have moved at all. */
            const mgfx_tensor *q0 = case_need(c, "q0");
            float got[64];

            case_need(c, name);
            if (q0 && q0->numel <= 64 &&
                case_check_status(c, mg_tensor_read(pq[1], got, q0->numel), "mg_tensor_read") &&
                memcmp(got, q0->data, q0->numel * sizeof *got) != 0)
                case_fail(c, "step %d: q moved although it has no gradient", k);
        } else {
            case_compare_ex(c, name, pq[1], "q0", PT_TOL_ADAM);
        }
    }
    if (!c->failed) {
        adam_check_steps(c, opt, 0, n);
        adam_check_steps(c, opt, 1, n - q_first + 1);
    }
    mg_adam_free(opt);
}

/* ------------------------------------------------------------------ U-Net */

static const char *const unet_param_names[] = {
    "e1.w", "e1.b", "e2.w", "e3.w", "res.w", "res.gamma", "res.beta",
    "e4.w", "e4.b", "d4.w", "d3.w", "d2.w", "d1.w", "d1.b",
};
#define UNET_N_PARAMS ((int)(sizeof unet_param_names / sizeof unet_param_names[0]))

static mg_tensor *unet_find_param(mg_tensor *const *w, const char *name)
{
    for (int i = 0; i < UNET_N_PARAMS; i++)
        if (strcmp(unet_param_names[i], name) == 0)
            return w[i];
    return NULL;
}

/* The network of unet_forward() in tools/gen-fixtures.py; params: [eps, slope]. */
static void run_unet(pt_case *c)
{
    float eps, slope;
    mg_tensor *w[UNET_N_PARAMS];
    mg_graph *g;
    mg_tensor *x, *t1, *t2;
    mg_tensor *e1, *e2, *e3, *rp, *r, *e4, *d4, *d3, *d2, *out, *loss;

    if (!case_param_f(c, 0, &eps) || !case_param_f(c, 1, &slope))
        return;
    for (int i = 0; i < UNET_N_PARAMS; i++)
        if (!(w[i] = case_param(c, unet_param_names[i])))
            return;
    if (!(g = case_graph(c)))
        return;
    x = case_input(c, g, "x", true);
    t1 = case_input(c, g, "target", false);
    t2 = case_input(c, g, "target2", false);
    if (!x || !t1 || !t2) {
        mg_graph_free(g);
        return;
    }

    e1 = mg_conv2d(g, x, unet_find_param(w, "e1.w"), unet_find_param(w, "e1.b"), 2, 1);
    e2 = mg_instance_norm(g, mg_conv2d(g, mg_leaky_relu(g, e1, slope), unet_find_param(w, "e2.w"), NULL, 2, 1), NULL,
                          NULL, eps);
    e3 = mg_instance_norm(g, mg_conv2d(g, mg_leaky_relu(g, e2, slope), unet_find_param(w, "e3.w"), NULL, 2, 1), NULL,
                          NULL, eps);
    rp = mg_reflect_pad2d(g, mg_relu(g, e3), 1, 1, 1, 1);
    r = mg_add(g, e3,
               mg_instance_norm(g, mg_conv2d(g, rp, unet_find_param(w, "res.w"), NULL, 1, 0), unet_find_param(w, "res.gamma"),
                                unet_find_param(w, "res.beta"), eps));
    e4 = mg_conv2d(g, mg_leaky_relu(g, r, slope), unet_find_param(w, "e4.w"), unet_find_param(w, "e4.b"), 2, 1);
    d4 = mg_instance_norm(g, mg_conv_transpose2d(g, mg_relu(g, e4), unet_find_param(w, "d4.w"), NULL, 2, 1, 0), NULL,
                          NULL, eps);
    d3 = mg_instance_norm(
        g, mg_conv_transpose2d(g, mg_relu(g, mg_concat(g, r, d4)), unet_find_param(w, "d3.w"), NULL, 2, 1, 0), NULL,
        NULL, eps);
    d2 = mg_instance_norm(
        g, mg_conv_transpose2d(g, mg_relu(g, mg_concat(g, e2, d3)), unet_find_param(w, "d2.w"), NULL, 2, 1, 0), NULL,
        NULL, eps);
    out = mg_tanh(g, mg_conv_transpose2d(g, mg_relu(g, mg_concat(g, e1, d2)), unet_find_param(w, "d1.w"),
                                         unet_find_param(w, "d1.b"), 2, 1, 0));
    loss = mg_add(g, mg_l1_loss(g, out, t1), mg_scale(g, mg_mse_loss(g, out, t2), 0.5f));

    if (case_check_graph(c, g, loss, "unet forward")) {
        case_compare(c, "y", out);
        case_compare(c, "loss", loss);
        if (case_check_status(c, mg_graph_backward(g, loss), "mg_graph_backward")) {
            char name[64];

            case_compare_grad(c, "gx", x);
            for (int i = 0; i < UNET_N_PARAMS; i++) {
                snprintf(name, sizeof name, "g%s", unet_param_names[i]);
                case_compare_grad(c, name, w[i]);
            }
        }
    }
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
    {"conv2d_k1_s1_p0", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k1_s2_p0_nobias", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k3_s1_p1", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k3_s2_p1", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k3_s2_p0_nobias", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k4_s2_p1", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k4_s2_p1_odd", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k4_s1_p1", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k7_s1_p0", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k7_s1_p3_nobias", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k3x5_s1x2_p1x2", run_conv2d, PT_NONE, PT_TOL_OP},
    {"conv2d_k5x3_s2x1_p0x1_nobias", run_conv2d, PT_NONE, PT_TOL_OP},
    {"convt_k3_s2_p1_op1", run_conv_transpose2d, PT_NONE, PT_TOL_OP},
    {"convt_k3_s2_p1_nobias", run_conv_transpose2d, PT_NONE, PT_TOL_OP},
    {"convt_k4_s2_p1", run_conv_transpose2d, PT_NONE, PT_TOL_OP},
    {"convt_k3_s1_p1", run_conv_transpose2d, PT_NONE, PT_TOL_OP},
    {"convt_k1_s1_p0", run_conv_transpose2d, PT_NONE, PT_TOL_OP},
    {"convt_k2_s2_p0", run_conv_transpose2d, PT_NONE, PT_TOL_OP},
    {"convt_k4_s3_p1_op1", run_conv_transpose2d, PT_NONE, PT_TOL_OP},
    {"convt_k3x4_s2x1_p1x0_op1x0_nobias", run_conv_transpose2d, PT_NONE, PT_TOL_OP},
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
    {"mse_loss", run_loss, PT_MSE, PT_TOL_OP},
    {"l1_loss", run_loss, PT_L1, PT_TOL_OP},
    {"bce_logits_loss", run_loss, PT_BCE, PT_TOL_OP},
    {"bce_logits_loss_hard", run_loss, PT_BCE, PT_TOL_OP},
    {"dropout", run_dropout, PT_NONE, PT_TOL_OP},
    {"adam", run_adam, PT_NONE, PT_TOL_OP},
    {"adam_lr_change", run_adam, PT_NONE, PT_TOL_OP},
    {"adam_skip", run_adam_skip, PT_NONE, PT_TOL_OP},
    {"unet64", run_unet, PT_NONE, PT_TOL_OP},
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
