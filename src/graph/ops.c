/* Op builders: argument and shape checks, output allocation, then the backend's forward kernel
 * through mg_graph_run(). Shape rules and results follow PyTorch. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "tensor.h"

const char *const mg_op_names[MG_OP_COUNT] = {
#define OP(e, name, n_src) [MG_OP_##e] = #name,
#include "base/ops.def"
#undef OP
};

/* The graph has not failed, required inputs are present, and every input lives on the graph's
 * backend and in this graph (or is standalone). */
static bool op_check(mg_graph *g, mg_op op, mg_tensor *const *src, int n_required, int n_total)
{
    if (mg_graph_status(g) != MG_OK)
        return false;
    const char *name = mg_op_names[op];
    for (int i = 0; i < n_total; i++) {
        const mg_tensor *t = src[i];
        if (!t) {
            if (i < n_required) {
                mg_graph_fail(g, mg_error(MG_ERR_ARG, "%s: input %d is NULL", name, i));
                return false;
            }
            continue;
        }
        if (t->be != mg_graph_backend(g)) {
            mg_graph_fail(g, mg_error(MG_ERR_ARG, "%s: input %d lives on another backend", name, i));
            return false;
        }
        if (t->graph && t->graph != g) {
            mg_graph_fail(g, mg_error(MG_ERR_ARG, "%s: input %d belongs to another graph", name, i));
            return false;
        }
    }
    return true;
}

static mg_tensor *op_fail_shape(mg_graph *g, mg_op op, const char *what, const mg_tensor *a, const mg_tensor *b)
{
    char sa[64], sb[64] = "";
    mg_shape_str(a, sa, sizeof sa);
    if (b)
        mg_shape_str(b, sb, sizeof sb);
    return mg_graph_fail(
        g, mg_error(MG_ERR_SHAPE, "%s: %s (got %s%s%s)", mg_op_names[op], what, sa, b ? " and " : "", sb));
}

static mg_tensor *op_emit(mg_graph *g, mg_op op, mg_tensor *dst, mg_tensor *const *src, int n_src,
                          const mg_op_params *p, mg_tensor *aux)
{
    if (!dst)
        return NULL;
    mg_node *n = mg_graph_new_node(g);
    if (!n)
        return NULL;
    n->op = op;
    n->n_src = n_src;
    memcpy(n->src, src, (size_t)n_src * sizeof *src);
    n->dst = dst;
    n->aux = aux;
    if (p)
        n->p = *p;
    return mg_graph_run(g, n);
}

static mg_tensor *op_like(mg_graph *g, const mg_tensor *x) { return mg_graph_new_tensor(g, x->ndim, x->shape); }

/* ------------------------------------------------------------------ convolutions */
static bool conv_check_params(mg_graph *g, mg_op op, const mg_conv_params *p)
{
    if (p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 || p->pad_w < 0 || p->out_pad_h < 0 || p->out_pad_w < 0) {
        mg_graph_fail(g, mg_error(MG_ERR_ARG,
                                  "%s: stride %dx%d, padding %dx%d, output padding %dx%d "
                                  "(stride must be positive, paddings non-negative)",
                                  mg_op_names[op], p->stride_h, p->stride_w, p->pad_h, p->pad_w, p->out_pad_h,
                                  p->out_pad_w));
        return false;
    }
    return true;
}

static bool conv_check_bias(mg_graph *g, mg_op op, const mg_tensor *b, int c_out)
{
    if (b && (b->ndim != 1 || b->shape[0] != c_out)) {
        char msg[64];
        snprintf(msg, sizeof msg, "bias must be [%d]", c_out);
        op_fail_shape(g, op, msg, b, NULL);
        return false;
    }
    return true;
}

mg_tensor *mg_conv2d_ex(mg_graph *g, mg_tensor *x, mg_tensor *w, mg_tensor *b, const mg_conv_params *p)
{
    const mg_op op = MG_OP_CONV2D;
    mg_tensor *src[3] = {x, w, b};
    if (!op_check(g, op, src, 2, 3) || !conv_check_params(g, op, p))
        return NULL;
    if (x->ndim != 4 || w->ndim != 4 || x->shape[1] != w->shape[1])
        return op_fail_shape(g, op, "input [N,C,H,W] needs weight [Cout,C,kh,kw]", x, w);
    if (p->out_pad_h || p->out_pad_w)
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "conv2d: output padding is for conv_transpose2d"));
    if (!conv_check_bias(g, op, b, w->shape[0]))
        return NULL;
    int hp = x->shape[2] + 2 * p->pad_h, wp = x->shape[3] + 2 * p->pad_w;
    if (hp < w->shape[2] || wp < w->shape[3])
        return op_fail_shape(g, op, "kernel larger than the padded input", x, w);
    int shape[4] = {x->shape[0], w->shape[0], (hp - w->shape[2]) / p->stride_h + 1,
                    (wp - w->shape[3]) / p->stride_w + 1};
    mg_op_params prm = {.conv = *p};
    return op_emit(g, op, mg_graph_new_tensor(g, 4, shape), src, 3, &prm, NULL);
}

mg_tensor *mg_conv2d(mg_graph *g, mg_tensor *x, mg_tensor *w, mg_tensor *b, int stride, int pad)
{
    mg_conv_params p = {.stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad};
    return mg_conv2d_ex(g, x, w, b, &p);
}

mg_tensor *mg_conv_transpose2d_ex(mg_graph *g, mg_tensor *x, mg_tensor *w, mg_tensor *b, const mg_conv_params *p)
{
    const mg_op op = MG_OP_CONV_TRANSPOSE2D;
    mg_tensor *src[3] = {x, w, b};
    if (!op_check(g, op, src, 2, 3) || !conv_check_params(g, op, p))
        return NULL;
    if (x->ndim != 4 || w->ndim != 4 || x->shape[1] != w->shape[0])
        return op_fail_shape(g, op, "input [N,C,H,W] needs weight [C,Cout,kh,kw]", x, w);
    if (p->out_pad_h >= p->stride_h || p->out_pad_w >= p->stride_w)
        return mg_graph_fail(g, mg_error(MG_ERR_ARG,
                                         "conv_transpose2d: output padding %dx%d must be "
                                         "smaller than the stride %dx%d",
                                         p->out_pad_h, p->out_pad_w, p->stride_h, p->stride_w));
    if (!conv_check_bias(g, op, b, w->shape[1]))
        return NULL;
    int ho = (x->shape[2] - 1) * p->stride_h - 2 * p->pad_h + w->shape[2] + p->out_pad_h;
    int wo = (x->shape[3] - 1) * p->stride_w - 2 * p->pad_w + w->shape[3] + p->out_pad_w;
    if (ho < 1 || wo < 1)
        return op_fail_shape(g, op, "padding leaves no output", x, w);
    int shape[4] = {x->shape[0], w->shape[1], ho, wo};
    mg_op_params prm = {.conv = *p};
    return op_emit(g, op, mg_graph_new_tensor(g, 4, shape), src, 3, &prm, NULL);
}

mg_tensor *mg_conv_transpose2d(mg_graph *g, mg_tensor *x, mg_tensor *w, mg_tensor *b, int stride, int pad,
                               int output_padding)
{
    mg_conv_params p = {.stride_h = stride,
                        .stride_w = stride,
                        .pad_h = pad,
                        .pad_w = pad,
                        .out_pad_h = output_padding,
                        .out_pad_w = output_padding};
    return mg_conv_transpose2d_ex(g, x, w, b, &p);
}

/* ------------------------------------------------------------------ padding, normalisation, joins */
mg_tensor *mg_reflect_pad2d(mg_graph *g, mg_tensor *x, int left, int right, int top, int bottom)
{
    const mg_op op = MG_OP_REFLECT_PAD2D;
    if (!op_check(g, op, &x, 1, 1))
        return NULL;
    if (x->ndim != 4)
        return op_fail_shape(g, op, "input must be [N,C,H,W]", x, NULL);
    if (left < 0 || right < 0 || top < 0 || bottom < 0 || left >= x->shape[3] || right >= x->shape[3] ||
        top >= x->shape[2] || bottom >= x->shape[2])
        return mg_graph_fail(g, mg_error(MG_ERR_ARG,
                                         "reflect_pad2d: padding (%d,%d,%d,%d) must be "
                                         "non-negative and smaller than the input's %dx%d",
                                         left, right, top, bottom, x->shape[2], x->shape[3]));
    int shape[4] = {x->shape[0], x->shape[1], x->shape[2] + top + bottom, x->shape[3] + left + right};
    mg_op_params prm = {.pad = {left, right, top, bottom}};
    return op_emit(g, op, mg_graph_new_tensor(g, 4, shape), &x, 1, &prm, NULL);
}

mg_tensor *mg_shift2d(mg_graph *g, mg_tensor *x, int dx, int dy, const int box[4], float fill)
{
    const mg_op op = MG_OP_SHIFT2D;
    if (!op_check(g, op, &x, 1, 1))
        return NULL;
    if (x->ndim != 4)
        return op_fail_shape(g, op, "input must be [N,C,H,W]", x, NULL);
    if (dx <= -x->shape[3] || dx >= x->shape[3] || dy <= -x->shape[2] || dy >= x->shape[2])
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "shift2d: shift (%d,%d) must be smaller than the input's %dx%d",
                                         dx, dy, x->shape[2], x->shape[3]));
    mg_op_params prm = {.shift = {dx, dy}, .f = fill};
    if (box) /* clipped to the image, so that the kernels need no bounds of their own */
        for (int k = 0; k < 4; k++)
            prm.box[k] = box[k] < 0 ? 0 : box[k] > x->shape[3 - k % 2] ? x->shape[3 - k % 2] : box[k];
    return op_emit(g, op, op_like(g, x), &x, 1, &prm, NULL);
}

/* Nearest-neighbour and bilinear upsampling share their shapes and checks. */
static mg_tensor *upsample_emit(mg_graph *g, mg_op op, mg_tensor *x, int factor)
{
    if (!op_check(g, op, &x, 1, 1))
        return NULL;
    if (x->ndim != 4)
        return op_fail_shape(g, op, "input must be [N,C,H,W]", x, NULL);
    if (factor < 1 || factor > 64)
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "%s: factor %d outside 1..64", mg_op_names[op], factor));
    if ((int64_t)x->shape[2] * factor > INT32_MAX / 2 || (int64_t)x->shape[3] * factor > INT32_MAX / 2)
        return op_fail_shape(g, op, "output too large", x, NULL);
    int shape[4] = {x->shape[0], x->shape[1], x->shape[2] * factor, x->shape[3] * factor};
    mg_op_params prm = {.factor = factor};
    return op_emit(g, op, mg_graph_new_tensor(g, 4, shape), &x, 1, &prm, NULL);
}

mg_tensor *mg_upsample2d(mg_graph *g, mg_tensor *x, int factor)
{
    return upsample_emit(g, MG_OP_UPSAMPLE2D, x, factor);
}

mg_tensor *mg_bilinear2d(mg_graph *g, mg_tensor *x, int factor)
{
    return upsample_emit(g, MG_OP_BILINEAR2D, x, factor);
}

static mg_tensor *norm_emit(mg_graph *g, mg_tensor *x, mg_tensor *gamma, mg_tensor *beta, float eps, bool act,
                            float slope)
{
    const mg_op op = MG_OP_INSTANCE_NORM;
    mg_tensor *src[3] = {x, gamma, beta};
    if (!op_check(g, op, src, 1, 3))
        return NULL;
    if (x->ndim != 4)
        return op_fail_shape(g, op, "input must be [N,C,H,W]", x, NULL);
    if (!gamma != !beta)
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "instance_norm: give both gamma and beta or neither"));
    for (int i = 1; i < 3; i++)
        if (src[i] && (src[i]->ndim != 1 || src[i]->shape[0] != x->shape[1]))
            return op_fail_shape(g, op, "gamma and beta must be [C]", x, src[i]);
    if (!(eps > 0.0f))
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "instance_norm: eps must be positive"));
    int stats[1] = {2 * x->shape[0] * x->shape[1]}; /* mean and 1/std per plane */
    if (act && !(slope >= 0.0f && slope <= 1.0f))   /* a negative slope would hide the sign backward reads */
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "instance_norm: activation slope %g is not in [0, 1]", slope));
    mg_op_params prm = {.f = eps, .act = act, .slope = slope};
    return op_emit(g, op, op_like(g, x), src, 3, &prm, mg_graph_new_tensor(g, 1, stats));
}

mg_tensor *mg_instance_norm(mg_graph *g, mg_tensor *x, mg_tensor *gamma, mg_tensor *beta, float eps)
{
    return norm_emit(g, x, gamma, beta, eps, false, 0.0f);
}

mg_tensor *mg_instance_norm_relu(mg_graph *g, mg_tensor *x, mg_tensor *gamma, mg_tensor *beta, float eps, float slope)
{
    return norm_emit(g, x, gamma, beta, eps, true, slope);
}

mg_tensor *mg_concat(mg_graph *g, mg_tensor *a, mg_tensor *b)
{
    const mg_op op = MG_OP_CONCAT;
    mg_tensor *src[2] = {a, b};
    if (!op_check(g, op, src, 2, 2))
        return NULL;
    if (a->ndim != 4 || b->ndim != 4 || a->shape[0] != b->shape[0] || a->shape[2] != b->shape[2] ||
        a->shape[3] != b->shape[3])
        return op_fail_shape(g, op, "inputs must be [N,*,H,W] with equal N, H, W", a, b);
    int shape[4] = {a->shape[0], a->shape[1] + b->shape[1], a->shape[2], a->shape[3]};
    return op_emit(g, op, mg_graph_new_tensor(g, 4, shape), src, 2, NULL, NULL);
}

/* ------------------------------------------------------------------ elementwise */
static mg_tensor *op_unary(mg_graph *g, mg_op op, mg_tensor *x, float f)
{
    if (!op_check(g, op, &x, 1, 1))
        return NULL;
    mg_op_params prm = {.f = f};
    return op_emit(g, op, op_like(g, x), &x, 1, &prm, NULL);
}

mg_tensor *mg_relu(mg_graph *g, mg_tensor *x) { return op_unary(g, MG_OP_RELU, x, 0.0f); }
mg_tensor *mg_leaky_relu(mg_graph *g, mg_tensor *x, float slope) { return op_unary(g, MG_OP_LEAKY_RELU, x, slope); }
mg_tensor *mg_tanh(mg_graph *g, mg_tensor *x) { return op_unary(g, MG_OP_TANH, x, 0.0f); }
mg_tensor *mg_sigmoid(mg_graph *g, mg_tensor *x) { return op_unary(g, MG_OP_SIGMOID, x, 0.0f); }
mg_tensor *mg_scale(mg_graph *g, mg_tensor *x, float s) { return op_unary(g, MG_OP_SCALE, x, s); }

mg_tensor *mg_dropout(mg_graph *g, mg_tensor *x, float p)
{
    const mg_op op = MG_OP_DROPOUT;
    if (!op_check(g, op, &x, 1, 1))
        return NULL;
    if (!(p >= 0.0f && p <= 1.0f))
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "dropout: probability %g is outside [0, 1]", p));
    if (!mg_graph_training(g) || p == 0.0f)
        return x;
    mg_op_params prm = {.f = p, .key = mg_graph_next_key(g)};
    return op_emit(g, op, op_like(g, x), &x, 1, &prm, op_like(g, x));
}

mg_tensor *mg_add(mg_graph *g, mg_tensor *a, mg_tensor *b)
{
    mg_tensor *src[2] = {a, b};
    if (!op_check(g, MG_OP_ADD, src, 2, 2))
        return NULL;
    if (!mg_tensor_same_shape(a, b))
        return op_fail_shape(g, MG_OP_ADD, "shapes must be equal", a, b);
    return op_emit(g, MG_OP_ADD, op_like(g, a), src, 2, NULL, NULL);
}

/* ------------------------------------------------------------------ reductions and losses */
static mg_tensor *op_reduce(mg_graph *g, mg_op op, mg_tensor *x, mg_tensor *target)
{
    mg_tensor *src[2] = {x, target};
    int n_src = op == MG_OP_MEAN || op == MG_OP_SUM ? 1 : 2;
    if (!op_check(g, op, src, n_src, n_src))
        return NULL;
    if (n_src == 2 && !mg_tensor_same_shape(x, target))
        return op_fail_shape(g, op, "input and target shapes must be equal", x, target);
    return op_emit(g, op, mg_graph_new_tensor(g, 1, (const int[]){1}), src, n_src, NULL, NULL);
}

mg_tensor *mg_mean(mg_graph *g, mg_tensor *x) { return op_reduce(g, MG_OP_MEAN, x, NULL); }
mg_tensor *mg_sum(mg_graph *g, mg_tensor *x) { return op_reduce(g, MG_OP_SUM, x, NULL); }
mg_tensor *mg_mse_loss(mg_graph *g, mg_tensor *x, mg_tensor *t) { return op_reduce(g, MG_OP_MSE_LOSS, x, t); }
mg_tensor *mg_l1_loss(mg_graph *g, mg_tensor *x, mg_tensor *t) { return op_reduce(g, MG_OP_L1_LOSS, x, t); }
mg_tensor *mg_bce_logits_loss(mg_graph *g, mg_tensor *x, mg_tensor *t)
{
    return op_reduce(g, MG_OP_BCE_LOGITS_LOSS, x, t);
}

mg_tensor *mg_ngf_map(mg_graph *g, mg_tensor *x, mg_tensor *y, float eps)
{
    const mg_op op = MG_OP_NGF_MAP;
    mg_tensor *src[2] = {x, y};
    if (!op_check(g, op, src, 2, 2))
        return NULL;
    if (x->ndim != 4 || !mg_tensor_same_shape(x, y))
        return op_fail_shape(g, op, "inputs must be [N,C,H,W] of equal shapes", x, y);
    if (!(eps > 0.0f && eps < 1e18f))
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "ngf_map: eps %g must be positive and finite", eps));
    mg_op_params prm = {.f = eps};
    return op_emit(g, op, op_like(g, x), src, 2, &prm, NULL);
}

mg_tensor *mg_quantile_loss(mg_graph *g, mg_tensor *x, mg_tensor *mask, mg_tensor *q, float threshold)
{
    const mg_op op = MG_OP_QUANTILE_LOSS;
    mg_tensor *src[3] = {x, mask, q};
    if (!op_check(g, op, src, 3, 3))
        return NULL;
    if (x->ndim != 4 || !mg_tensor_same_shape(x, mask))
        return op_fail_shape(g, op, "x and mask must be [N,C,H,W] of equal shapes", x, mask);
    if (q->ndim != 1 || q->shape[0] < 2)
        return op_fail_shape(g, op, "the quantiles must be [k] with k >= 2", q, NULL);
    /* the backward kernels write x's gradient only */
    if (mg_tensor_needs_grad(mask) || mg_tensor_needs_grad(q))
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "quantile_loss: the mask and the quantiles take no gradient"));
    if (!isfinite(threshold))
        return mg_graph_fail(g, mg_error(MG_ERR_ARG, "quantile_loss: threshold %g is not finite", threshold));
    mg_op_params prm = {.f = threshold};
    return op_emit(g, op, mg_graph_new_tensor(g, 1, (const int[]){1}), src, 3, &prm, op_like(g, x));
}
