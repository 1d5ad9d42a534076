/* Parameter sets shared by every network: creation with checkpoint names, initialisation, freezing. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "net-internal.h"

mg_status mg_net_param(mg_net *n, mg_backend *be, const char *name, int ndim, const int *shape, mg_tensor **out)
{
    if (n->n_params == MG_NET_MAX_PARAMS)
        return mg_error(MG_ERR_ARG, "%s: more than %d parameters", n->prefix, MG_NET_MAX_PARAMS);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= (size_t)shape[i];
    if (!be) {
        *out = NULL;
        n->params[n->n_params++] = NULL;
        n->numel += numel;
        return MG_OK;
    }
    char full[48];
    snprintf(full, sizeof full, "%s.%s", n->prefix, name);
    mg_status s = mg_param_new(be, full, ndim, shape, out);
    if (s == MG_OK) {
        n->params[n->n_params++] = *out;
        n->numel += numel;
    }
    return s;
}

mg_status mg_net_conv(mg_net *n, mg_backend *be, const char *name, int c_out, int c_in, int k, bool transposed,
                      mg_tensor **w, mg_tensor **b)
{
    char wn[32], bn[32];
    snprintf(wn, sizeof wn, "%s.w", name);
    snprintf(bn, sizeof bn, "%s.b", name);
    int shape[4] = {transposed ? c_in : c_out, transposed ? c_out : c_in, k, k};
    mg_status s = mg_net_param(n, be, wn, 4, shape, w);
    return s == MG_OK ? mg_net_param(n, be, bn, 1, (const int[]){c_out}, b) : s;
}

void mg_net_free(mg_net *n)
{
    for (int i = 0; i < n->n_params; i++)
        mg_tensor_free(n->params[i]);
    n->n_params = 0;
    n->numel = 0;
}

mg_status mg_net_init(mg_net *n, mg_rng *rng, float std)
{
    for (int i = 0; i < n->n_params; i++) {
        mg_tensor *p = n->params[i];
        mg_status s = p->ndim == 1 ? mg_tensor_fill(p, 0.0f) : mg_init_normal(p, rng, 0.0f, std);
        if (s != MG_OK)
            return s;
    }
    return MG_OK;
}

void mg_net_set_frozen(mg_net *n, bool frozen)
{
    for (int i = 0; i < n->n_params; i++)
        mg_tensor_set_frozen(n->params[i], frozen);
}

size_t mg_net_param_count(const mg_net *n) { return n->numel; }
