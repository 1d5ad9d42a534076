/* The shared case helpers of the parity test; see parity.h. */
#include "parity.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void case_fail(pt_case *c, const char *fmt, ...)
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
bool case_check_status(pt_case *c, mg_status s, const char *what)
{
    if (s == MG_OK)
        return true;
    case_fail(c, "%s: %s: %s", what, mg_status_name(s), mg_last_error());
    return false;
}

/* false (and the case fails) if an op chain returned NULL or the graph has failed. */
bool case_check_graph(pt_case *c, mg_graph *g, const mg_tensor *y, const char *what)
{
    mg_status s = mg_graph_status(g);

    if (y && s == MG_OK)
        return true;
    case_fail(c, "%s: %s (graph status %s): %s", what, y ? "graph failed" : "op returned NULL", mg_status_name(s),
              mg_last_error());
    return false;
}

const mgfx_tensor *case_need(pt_case *c, const char *name)
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

bool case_has(const pt_case *c, const char *name) { return mgfx_get(c->fx, name) != NULL; }

/* params[i] of the fixture as a float; false if absent. */
bool case_param_f(pt_case *c, int i, float *out)
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

bool case_param_i(pt_case *c, int i, int *out)
{
    float v;

    if (!case_param_f(c, i, &v))
        return false;
    *out = (int)lrintf(v);
    return true;
}

/* A graph-owned input holding fixture tensor name. */
mg_tensor *case_input(pt_case *c, mg_graph *g, const char *name, bool requires_grad)
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
mg_tensor *case_param(pt_case *c, const char *name)
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
void case_compare_ex(pt_case *c, const char *ref_name, const mg_tensor *t, const char *base_name, double tol)
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
                  t->ndim > 1 ? t->shape[1] : 0, t->ndim > 2 ? t->shape[2] : 0, t->ndim > 3 ? t->shape[3] : 0, t->ndim,
                  ref->shape[0], ref->ndim > 1 ? ref->shape[1] : 0, ref->ndim > 2 ? ref->shape[2] : 0,
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
        case_fail(c, "%s: error %.3g > %.1g (element %zu: got %.9g, expected %.9g, scale %.3g)", ref_name, err, tol,
                  worst, (double)got[worst], (double)ref->data[worst], scale);
    free(got);
}

void case_compare(pt_case *c, const char *ref_name, const mg_tensor *t)
{
    case_compare_ex(c, ref_name, t, NULL, c->tol);
}

/* Compares the gradient of t with fixture tensor ref_name. */
void case_compare_grad(pt_case *c, const char *ref_name, const mg_tensor *t)
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
bool case_backward(pt_case *c, mg_graph *g, mg_tensor *y)
{
    mg_tensor *gy = case_input(c, g, "gy", false);

    if (!gy)
        return false;
    return case_check_status(c, mg_graph_backward_from(g, y, gy), "mg_graph_backward_from");
}

mg_graph *case_graph(pt_case *c)
{
    mg_graph *g = NULL;

    if (!case_check_status(c, mg_graph_new(c->be, &g), "mg_graph_new"))
        return NULL;
    return g;
}

void case_check_op(pt_case *c, mg_graph *g, mg_tensor *y, const char *what, int n, const pt_grad *grads)
{
    if (!case_check_graph(c, g, y, what))
        return;
    case_compare(c, "y", y);
    if (!case_backward(c, g, y))
        return;
    for (int i = 0; i < n; i++)
        case_compare_grad(c, grads[i].name, grads[i].t);
}
