/* Parity cases "adam*": mg_adam steps against torch.optim.Adam on fixture gradients. */
#include "parity.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* params[0..4] of both Adam runners: [lr, beta1, beta2, eps, n_steps]. */
static bool adam_read_config(pt_case *c, mg_adam_config *cfg, int *n_steps)
{
    return case_param_f(c, 0, &cfg->lr) && case_param_f(c, 1, &cfg->beta1) && case_param_f(c, 2, &cfg->beta2) &&
           case_param_f(c, 3, &cfg->eps) && case_param_i(c, 4, n_steps);
}

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
void run_adam(pt_case *c)
{
    mg_adam_config cfg;
    float lr_after;
    int n, switch_after;
    mg_tensor *p;
    mg_adam *opt = NULL;
    mg_tensor *m = NULL, *v = NULL;
    int64_t *step = NULL;
    char name[16];

    if (!adam_read_config(c, &cfg, &n) || !case_param_f(c, 5, &lr_after) || !case_param_i(c, 6, &switch_after))
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
                case_fail(c, "mg_adam_lr is %g after mg_adam_set_lr(%g)", (double)mg_adam_lr(opt), (double)lr_after);
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
void run_adam_skip(pt_case *c)
{
    mg_adam_config cfg;
    int n, q_first;
    mg_tensor *pq[2];
    mg_adam *opt = NULL;
    char name[16];

    if (!adam_read_config(c, &cfg, &n) || !case_param_i(c, 5, &q_first))
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
