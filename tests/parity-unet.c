/* Parity case "unet64": a small U-Net generator with a residual block, its losses and the gradients
 * of the input and of every parameter, against the same network in tools/gen-fixtures.py. */
#include "parity.h"

#include <stdio.h>
#include <string.h>

static const char *const unet_param_names[] = {
    "e1.w", "e1.b", "e2.w", "e3.w", "res.w", "res.gamma", "res.beta",
    "e4.w", "e4.b", "d4.w", "d3.w", "d2.w",  "d1.w",      "d1.b",
};
#define UNET_N_PARAMS ((int)(sizeof unet_param_names / sizeof unet_param_names[0]))

static mg_tensor *unet_find_param(mg_tensor *const *w, const char *name)
{
    for (int i = 0; i < UNET_N_PARAMS; i++)
        if (strcmp(unet_param_names[i], name) == 0)
            return w[i];
    return NULL;
}

/* IN(conv(lrelu(x), w, s2 p1)): an encoder block between the outer ones. */
static mg_tensor *unet_down(mg_graph *g, mg_tensor *x, mg_tensor *w, float slope, float eps)
{
    return mg_instance_norm(g, mg_conv2d(g, mg_leaky_relu(g, x, slope), w, NULL, 2, 1), NULL, NULL, eps);
}

/* IN(convT(relu(x), w, s2 p1)): a decoder block before the output one. */
static mg_tensor *unet_up(mg_graph *g, mg_tensor *x, mg_tensor *w, float eps)
{
    return mg_instance_norm(g, mg_conv_transpose2d(g, mg_relu(g, x), w, NULL, 2, 1, 0), NULL, NULL, eps);
}

/* The network of unet_forward() in tools/gen-fixtures.py; params: [eps, slope]. */
void run_unet(pt_case *c)
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
    e2 = unet_down(g, e1, unet_find_param(w, "e2.w"), slope, eps);
    e3 = unet_down(g, e2, unet_find_param(w, "e3.w"), slope, eps);
    rp = mg_reflect_pad2d(g, mg_relu(g, e3), 1, 1, 1, 1);
    r = mg_add(g, e3,
               mg_instance_norm(g, mg_conv2d(g, rp, unet_find_param(w, "res.w"), NULL, 1, 0),
                                unet_find_param(w, "res.gamma"), unet_find_param(w, "res.beta"), eps));
    e4 = mg_conv2d(g, mg_leaky_relu(g, r, slope), unet_find_param(w, "e4.w"), unet_find_param(w, "e4.b"), 2, 1);
    d4 = unet_up(g, e4, unet_find_param(w, "d4.w"), eps);
    d3 = unet_up(g, mg_concat(g, r, d4), unet_find_param(w, "d3.w"), eps);
    d2 = unet_up(g, mg_concat(g, e2, d3), unet_find_param(w, "d2.w"), eps);
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
