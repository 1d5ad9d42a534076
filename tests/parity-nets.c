/* Parity cases "net_*": mrigan's networks (mg_generator_new / mg_discriminator_new) against the reference
 * model's UNet, resnet_g and patch_d (../shared/reference/cyclegan_ref.py, through tools/gen-fixtures.py):
 * the parameter list (count, order and shapes against the state_dict), the output, and the gradients of
 * the input and of every parameter for an upstream gradient gy.
 *
 * Dead biases. A convolution bias directly followed by an instance norm has a zero gradient in exact
 * arithmetic (the norm removes any per-channel constant); the float64 reference holds ~1e-15 there and
 * any float32 implementation rounding noise, so max |ref| is no scale for it. Such a gradient (flagged in
 * the fixture's "dead" vector) is measured against max |gradient of the same layer's weight| instead:
 * the noise is the float32 rounding of the per-plane sums of the upstream gradient, the same sums that
 * make up the weight gradient, so it stays near float32 rounding of that scale (mrigan: 1.3e-6 at most,
 * PyTorch's float32: 1e-6), while a bias gradient that is really nonzero (e.g. the norm missing) is
 * caught at PT_TOL_OP.
 */
#include "parity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mrigan/nets.h>

/* "[a,b,c,d]" for messages. */
static const char *shape_str(char *buf, size_t len, int ndim, const int *shape)
{
    size_t k = 0;

    k += (size_t)snprintf(buf + k, len - k, "[");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? "," : "", shape[i]);
    if (k < len)
        snprintf(buf + k, len - k, "]");
    return buf;
}

static bool same_shape(const mgfx_tensor *ft, const mg_tensor *t)
{
    if (ft->ndim != t->ndim)
        return false;
    for (int i = 0; i < t->ndim; i++)
        if (ft->shape[i] != t->shape[i])
            return false;
    return true;
}

int case_net_load(pt_case *c, const mg_net *net, const char *prefix, const mgfx_tensor **refs, int max_refs)
{
    size_t plen = strlen(prefix);
    int n = 0;
    bool ok = true;
    char s1[64], s2[64];

    for (int i = 0; i < c->fx->n_tensors; i++) {
        const mgfx_tensor *ft = &c->fx->tensors[i];

        if (strncmp(ft->name, prefix, plen) != 0)
            continue;
        if (n == max_refs) {
            case_fail(c, "more than %d fixture tensors '%s*'", max_refs, prefix);
            return -1;
        }
        refs[n++] = case_need(c, ft->name);
    }
    if (n != net->n_params) {
        ok = false;
        case_fail(c, "architecture mismatch: the reference (%s*) has %d parameter tensors, mrigan's %s has %d", prefix,
                  n, net->prefix, net->n_params);
    }
    for (int i = 0; i < n || i < net->n_params; i++) {
        const mgfx_tensor *ft = i < n ? refs[i] : NULL;
        const mg_tensor *t = i < net->n_params ? net->params[i] : NULL;

        if (ft && t && same_shape(ft, t))
            continue;
        if (ok)
            case_fail(c, "architecture mismatch at parameter %d: the reference and mrigan differ in shape", i);
        ok = false;
        printf("# %s:   %2d  reference %-28s %-14s  mrigan %-22s %s\n", c->name, i, ft ? ft->name : "-",
               ft ? shape_str(s1, sizeof s1, ft->ndim, ft->shape) : "", t ? t->name : "-",
               t ? shape_str(s2, sizeof s2, t->ndim, t->shape) : "");
    }
    if (!ok)
        return -1;
    for (int i = 0; i < n; i++)
        if (!case_check_status(c, mg_tensor_write(net->params[i], refs[i]->data, refs[i]->numel), "mg_tensor_write"))
            return -1;
    return n;
}

/* max |x| over a fixture tensor. */
double case_max_abs(const mgfx_tensor *ft)
{
    double m = 0.0;

    for (size_t i = 0; i < ft->numel; i++)
        if (fabs((double)ft->data[i]) > m)
            m = fabs((double)ft->data[i]);
    return m;
}

void case_compare_scaled(pt_case *c, const char *ref_name, const mg_tensor *t, double min_scale, double tol)
{
    const mgfx_tensor *ref = case_need(c, ref_name);
    float *got;
    double scale, err = 0.0;
    size_t worst = 0;

    if (!ref)
        return;
    if (!t || t->numel != ref->numel) {
        case_fail(c, "%s: %s", ref_name, t ? "the tensor has another size" : "no tensor to compare");
        return;
    }
    if (!(got = malloc(ref->numel * sizeof *got))) {
        case_fail(c, "out of memory");
        return;
    }
    if (!case_check_status(c, mg_tensor_read(t, got, ref->numel), "mg_tensor_read")) {
        free(got);
        return;
    }
    scale = case_max_abs(ref);
    if (scale < min_scale)
        scale = min_scale;
    if (scale == 0.0)
        scale = 1.0;
    for (size_t i = 0; i < ref->numel; i++) {
        double e = fabs((double)got[i] - (double)ref->data[i]);

        if (!(e <= err)) { /* also catches NaN */
            err = e;
            worst = i;
            if (isnan(e))
                break;
        }
    }
    err /= scale;
    if (!(err <= c->maxerr) || isnan(err))
        c->maxerr = isnan(err) ? INFINITY : err;
    if (!(err <= tol))
        case_fail(c, "%s: error %.3g > %.1g (element %zu: got %.9g, expected %.9g, scale %.3g)", ref_name, err, tol,
                  worst, (double)got[worst], (double)ref->data[worst], scale);
    free(got);
}

/* Fixture vector name with exactly n elements (a float each), or NULL (and the case fails). */
const mgfx_tensor *case_vector(pt_case *c, const char *name, int n)
{
    const mgfx_tensor *ft = case_need(c, name);

    if (ft && ft->numel != (size_t)n) {
        case_fail(c, "fixture tensor '%s' has %zu elements, expected %d", name, ft->numel, n);
        return NULL;
    }
    return ft;
}

/* Forward and backward of one input: "x<sfx>" -> compare "y<sfx>", back-propagate "gy<sfx>", compare
 * "gx<sfx>" and "g<sfx>:<name>" for every parameter. */
static void net_check_input(pt_case *c, const mg_net *net, const mg_generator *gen, const mg_discriminator *disc,
                            const mgfx_tensor **refs, const mgfx_tensor *dead, const char *sfx)
{
    char name[80];
    mg_graph *g;
    mg_tensor *x, *y, *gy;

    for (int i = 0; i < net->n_params; i++) /* parameter gradients accumulate across graphs */
        if (!case_check_status(c, mg_tensor_zero_grad(net->params[i]), "mg_tensor_zero_grad"))
            return;
    if (!(g = case_graph(c)))
        return;
    snprintf(name, sizeof name, "x%s", sfx);
    x = case_input(c, g, name, true);
    y = gen ? mg_generator_forward(g, gen, x) : mg_discriminator_forward(g, disc, x);
    snprintf(name, sizeof name, "%s forward of x%s", gen ? "generator" : "discriminator", sfx);
    if (!case_check_graph(c, g, y, name))
        goto done;
    snprintf(name, sizeof name, "y%s", sfx);
    case_compare(c, name, y);
    snprintf(name, sizeof name, "gy%s", sfx);
    if (!(gy = case_input(c, g, name, false)))
        goto done;
    if (!case_check_status(c, mg_graph_backward_from(g, y, gy), "mg_graph_backward_from"))
        goto done;
    snprintf(name, sizeof name, "gx%s", sfx);
    case_compare_grad(c, name, x);
    for (int i = 0; i < net->n_params; i++) {
        const char *sd = refs[i]->name + 2; /* after "p:" */
        double floor = 0.0;

        snprintf(name, sizeof name, "g%s:%s", sfx, sd);
        if (dead->data[i] != 0.0f) {
            char wname[80];
            const mgfx_tensor *wg;

            if (i == 0 || net->params[i - 1]->ndim != 4) {
                case_fail(c, "%s is flagged dead but does not follow a convolution weight", sd);
                continue;
            }
            snprintf(wname, sizeof wname, "g%s:%s", sfx, refs[i - 1]->name + 2);
            if (!(wg = case_need(c, wname)))
                continue;
            floor = case_max_abs(wg);
        }
        if (!net->params[i]->grad) {
            case_need(c, name);
            case_fail(c, "%s (%s): backward left no gradient", name, net->params[i]->name);
            continue;
        }
        case_compare_scaled(c, name, net->params[i]->grad, floor, c->tol);
    }
done:
    mg_graph_free(g);
}

/* params: [kind (0 unet, 1 resnet, 2 patchgan), ngf|ndf, depth, blocks]. Inputs "x", and "x2" if present. */
void run_net(pt_case *c)
{
    int kind, width, depth, blocks, n;
    mg_generator gen;
    mg_discriminator disc;
    const mg_net *net;
    const mgfx_tensor *refs[MG_NET_MAX_PARAMS], *dead;
    mg_status s;

    memset(&gen, 0, sizeof gen);
    memset(&disc, 0, sizeof disc);
    if (!case_param_i(c, 0, &kind) || !case_param_i(c, 1, &width) || !case_param_i(c, 2, &depth) ||
        !case_param_i(c, 3, &blocks))
        return;
    if (kind == 0 || kind == 1) {
        mg_gen_config cfg = {.kind = kind == 0 ? MG_GEN_UNET : MG_GEN_RESNET,
                             .ngf = width,
                             .depth = depth,
                             .blocks = blocks,
                             .dropout = false};
        s = mg_generator_new(c->be, "G", &cfg, &gen);
        net = &gen.net;
    } else if (kind == 2) {
        s = mg_discriminator_new(c->be, "D", width, MG_PAD_ZERO, &disc);
        net = &disc.net;
    } else {
        case_fail(c, "unknown network kind %d", kind);
        return;
    }
    if (!case_check_status(c, s, kind == 2 ? "mg_discriminator_new" : "mg_generator_new"))
        return;
    n = case_net_load(c, net, "p:", refs, MG_NET_MAX_PARAMS);
    if (n >= 0 && (dead = case_vector(c, "dead", n))) {
        net_check_input(c, net, kind == 2 ? NULL : &gen, kind == 2 ? &disc : NULL, refs, dead, "");
        if (case_has(c, "x2"))
            net_check_input(c, net, kind == 2 ? NULL : &gen, kind == 2 ? &disc : NULL, refs, dead, "2");
    }
    mg_net_free(kind == 2 ? &disc.net : &gen.net);
}
