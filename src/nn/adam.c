/* Adam as torch.optim.Adam (no weight decay, no amsgrad): bias corrections in double on the host,
 * the update itself in float on the parameters' backend. */
#include <math.h>
#include <stdlib.h>

#include "backend/backend.h"

struct mg_adam {
    mg_backend *be;
    mg_adam_config cfg;
    int n;
    mg_tensor **params, **m, **v;
    int64_t *steps;
};

void mg_adam_free(mg_adam *opt)
{
    if (!opt)
        return;
    for (int i = 0; i < opt->n; i++) {
        if (opt->m)
            mg_tensor_free(opt->m[i]);
        if (opt->v)
            mg_tensor_free(opt->v[i]);
    }
    free(opt->params);
    free(opt->m);
    free(opt->v);
    free(opt->steps);
    free(opt);
}

mg_status mg_adam_new(mg_backend *be, mg_tensor *const *params, int n_params, const mg_adam_config *cfg, mg_adam **out)
{
    *out = NULL;
    if (n_params < 0 || !(cfg->lr >= 0.0f) || !(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) ||
        !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f) || !(cfg->eps >= 0.0f))
        return mg_error(MG_ERR_ARG,
                        "adam: lr %g, betas (%g, %g), eps %g: need lr >= 0, 0 <= beta < 1, "
                        "eps >= 0",
                        cfg->lr, cfg->beta1, cfg->beta2, cfg->eps);
    mg_adam *opt = calloc(1, sizeof *opt);
    size_t n = n_params > 0 ? (size_t)n_params : 1;
    if (opt) {
        opt->params = calloc(n, sizeof *opt->params);
        opt->m = calloc(n, sizeof *opt->m);
        opt->v = calloc(n, sizeof *opt->v);
        opt->steps = calloc(n, sizeof *opt->steps);
    }
    if (!opt || !opt->params || !opt->m || !opt->v || !opt->steps) {
        mg_adam_free(opt);
        return mg_error(MG_ERR_OOM, "adam: out of host memory");
    }
    opt->be = be;
    opt->cfg = *cfg;
    opt->n = n_params;
    for (int i = 0; i < n_params; i++) {
        const mg_tensor *p = params[i];
        if (!p || p->be != be || !(p->flags & MG_TENSOR_PARAM)) {
            mg_adam_free(opt);
            return mg_error(MG_ERR_ARG, "adam: entry %d is not a parameter on the optimiser's backend", i);
        }
        opt->params[i] = params[i];
        mg_status s = mg_tensor_new(be, p->ndim, p->shape, &opt->m[i]);
        if (s == MG_OK)
            s = mg_tensor_new(be, p->ndim, p->shape, &opt->v[i]);
        if (s != MG_OK) {
            mg_adam_free(opt);
            return s;
        }
    }
    *out = opt;
    return MG_OK;
}

void mg_adam_set_lr(mg_adam *opt, float lr) { opt->cfg.lr = lr; }
float mg_adam_lr(const mg_adam *opt) { return opt->cfg.lr; }
int mg_adam_param_count(const mg_adam *opt) { return opt->n; }
mg_tensor *mg_adam_param(const mg_adam *opt, int i) { return i >= 0 && i < opt->n ? opt->params[i] : NULL; }

mg_status mg_adam_step(mg_adam *opt)
{
    const mg_adam_config *c = &opt->cfg;
    for (int i = 0; i < opt->n; i++) {
        mg_tensor *p = opt->params[i];
        if (!p->grad)
            continue;
        int64_t t = ++opt->steps[i];
        mg_adam_update u = {
            .beta1 = c->beta1,
            .beta2 = c->beta2,
            .eps = c->eps,
            .step_size = (float)((double)c->lr / (1.0 - pow((double)c->beta1, (double)t))),
            .bias_corr2_sqrt = (float)sqrt(1.0 - pow((double)c->beta2, (double)t)),
        };
        mg_status s = opt->be->iface->adam_update(opt->be->ctx, p, p->grad, opt->m[i], opt->v[i], &u);
        if (s != MG_OK)
            return s;
    }
    return MG_OK;
}

mg_status mg_adam_zero_grad(mg_adam *opt)
{
    for (int i = 0; i < opt->n; i++) {
        mg_status s = mg_tensor_zero_grad(opt->params[i]);
        if (s != MG_OK)
            return s;
    }
    return MG_OK;
}

mg_status mg_adam_state(mg_adam *opt, int i, mg_tensor **m, mg_tensor **v, int64_t **step)
{
    if (i < 0 || i >= opt->n)
        return mg_error(MG_ERR_ARG, "adam: parameter index %d outside [0, %d)", i, opt->n);
    *m = opt->m[i];
    *v = opt->v[i];
    *step = &opt->steps[i];
    return MG_OK;
}
