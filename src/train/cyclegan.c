/* The CycleGAN model: its two generators, two discriminators (Zhu et al. 2017), their optimisers and history pools,
 * built, configured and freed. Its training step, with the losses it sums, is cyclegan-step.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "history.h"

const char *const mg_loss_names[MG_LOSS_COUNT] = {
#define LOSS(e, field, name, colour, what) [MG_LOSS_##e] = name,
#include "mrigan/losses.def"
#undef LOSS
};

const uint32_t mg_loss_colours[MG_LOSS_COUNT] = {
#define LOSS(e, field, name, colour, what) [MG_LOSS_##e] = colour,
#include "mrigan/losses.def"
#undef LOSS
};

void mg_losses_to_array(const mg_losses *l, float *out)
{
#define LOSS(e, field, name, colour, what) out[MG_LOSS_##e] = l->field;
#include "mrigan/losses.def"
#undef LOSS
}

void mg_cyclegan_free(mg_cyclegan *m)
{
    mg_graph_free(m->graph_g);
    mg_graph_free(m->graph_d);
    for (int i = 0; m->held && i < mg_adam_param_count(m->opt_g) + mg_adam_param_count(m->opt_d); i++)
        mg_tensor_free(m->held[i]);
    free(m->held);
    mg_adam_free(m->opt_g);
    mg_adam_free(m->opt_d);
    mg_history_release(&m->pool_a);
    mg_history_release(&m->pool_b);
    mg_net_free(&m->g_ab.net);
    mg_net_free(&m->g_ba.net);
    mg_net_free(&m->avg_ab.net);
    mg_net_free(&m->avg_ba.net);
    mg_net_free(&m->d_a.net);
    mg_net_free(&m->d_b.net);
    mg_tensor_free(m->quantiles[0]);
    mg_tensor_free(m->quantiles[1]);
    free(m->scratch);
    free(m->batch);
    memset(m, 0, sizeof *m);
}

static mg_status optimiser_new(mg_backend *be, const mg_net *n1, const mg_net *n2, const mg_cyclegan_config *cfg,
                               float lr, mg_adam **out)
{
    mg_tensor *params[2 * MG_NET_MAX_PARAMS];
    int n = 0;
    for (int i = 0; i < n1->n_params; i++)
        params[n++] = n1->params[i];
    for (int i = 0; i < n2->n_params; i++)
        params[n++] = n2->params[i];
    mg_adam_config ac = {.lr = lr, .beta1 = cfg->beta1, .beta2 = cfg->beta2, .eps = 1e-8f};
    return mg_adam_new(be, params, n, &ac, out);
}

/* The discriminators' learning rate relative to the generators' (configurations from before it have 0: 1). */
static float d_lr_scale(const mg_cyclegan_config *cfg) { return cfg->d_lr_scale > 0.0f ? cfg->d_lr_scale : 1.0f; }

mg_status mg_cyclegan_check_size(const mg_cyclegan_config *cfg, const mg_backend *be, size_t *params)
{
    size_t g = 0, d = 0;
    mg_status s = mg_generator_param_count(&cfg->gen, &g);
    if (s == MG_OK)
        s = mg_discriminator_param_count(cfg->ndf, &d);
    if (params)
        *params = s == MG_OK ? 2 * g + 2 * d : 0;
    if (s != MG_OK)
        return s;
    size_t n = 2 * g + 2 * d, need = 16 * n, have = be ? mg_backend_memory_total(be) : 0;
    if (n > MG_CYCLEGAN_MAX_PARAMS)
        return mg_error(MG_ERR_OOM, "model: %.3g G parameter values (ngf %d, ndf %d), more than the %.3g G allowed",
                        (double)n / 1e9, cfg->gen.ngf, cfg->ndf, (double)MG_CYCLEGAN_MAX_PARAMS / 1e9);
    if (have && need > have)
        return mg_error(MG_ERR_OOM,
                        "model: %.3g M parameter values need %.1f GiB for weights, gradients and Adam moments; the "
                        "%s device has %.1f GiB",
                        (double)n / 1e6, (double)need / 1073741824.0, mg_backend_name(be), (double)have / 1073741824.0);
    return MG_OK;
}

mg_status mg_cyclegan_new(mg_backend *be, const mg_cyclegan_config *cfg, uint64_t seed, mg_cyclegan *out)
{
    memset(out, 0, sizeof *out);
    mg_status size_ok = mg_cyclegan_check_size(cfg, be, NULL);
    if (size_ok != MG_OK)
        return size_ok;
    out->be = be;
    out->cfg = *cfg;
    out->has_generator[0] = out->has_generator[1] = true;
    mg_rng rng;
    mg_rng_seed(&rng, seed, 0);
    mg_status s = mg_generator_new(be, "G_AB", &cfg->gen, &out->g_ab);
    if (s == MG_OK)
        s = mg_generator_new(be, "G_BA", &cfg->gen, &out->g_ba);
    if (s == MG_OK)
        s = mg_discriminator_new(be, "D_A", cfg->ndf, cfg->d_pad, &out->d_a);
    if (s == MG_OK)
        s = mg_discriminator_new(be, "D_B", cfg->ndf, cfg->d_pad, &out->d_b);
    if (s == MG_OK)
        s = mg_generator_init(&out->g_ab, &rng);
    if (s == MG_OK)
        s = mg_generator_init(&out->g_ba, &rng);
    if (s == MG_OK)
        s = mg_net_init(&out->d_a.net, &rng, 0.02f);
    if (s == MG_OK)
        s = mg_net_init(&out->d_b.net, &rng, 0.02f);
    if (s == MG_OK && cfg->ema > 0.0f) { /* the averages start from the generators' initial weights */
        s = mg_generator_new(be, "EMA_AB", &cfg->gen, &out->avg_ab);
        if (s == MG_OK)
            s = mg_generator_new(be, "EMA_BA", &cfg->gen, &out->avg_ba);
        if (s == MG_OK)
            s = mg_cyclegan_reset_averages(out);
    }
    if (s == MG_OK)
        s = optimiser_new(be, &out->g_ab.net, &out->g_ba.net, cfg, cfg->lr, &out->opt_g);
    if (s == MG_OK)
        s = optimiser_new(be, &out->d_a.net, &out->d_b.net, cfg, cfg->lr * d_lr_scale(cfg), &out->opt_d);
    if (s == MG_OK)
        s = mg_history_init(&out->pool_a, cfg->pool_size);
    if (s == MG_OK)
        s = mg_history_init(&out->pool_b, cfg->pool_size);
    if (s == MG_OK)
        s = mg_graph_new(be, &out->graph_g);
    if (s == MG_OK)
        s = mg_graph_new(be, &out->graph_d);
    if (s != MG_OK)
        mg_cyclegan_free(out);
    return s;
}

mg_status mg_cyclegan_set_quantiles(mg_cyclegan *m, int domain, const float *q, int n)
{
    if (!m || !q || (domain != 0 && domain != 1) || n < 2)
        return mg_error(MG_ERR_ARG, "set quantiles: domain %d, %d values (want 0 or 1, and at least 2)", domain, n);
    for (int i = 0; i < n; i++)
        if (!isfinite(q[i]) || (i > 0 && q[i] < q[i - 1]))
            return mg_error(MG_ERR_ARG, "set quantiles: value %d (%g) is not finite or is below the one before", i,
                            q[i]);
    mg_tensor *t = NULL;
    mg_status s = mg_tensor_new(m->be, 1, (const int[]){n}, &t);
    if (s == MG_OK)
        s = mg_tensor_write(t, q, (size_t)n);
    if (s != MG_OK) {
        mg_tensor_free(t);
        return s;
    }
    mg_tensor_free(m->quantiles[domain]);
    m->quantiles[domain] = t;
    return MG_OK;
}

void mg_cyclegan_set_prior(mg_cyclegan *m, const mg_intensity_map *ab, const mg_intensity_map *ba)
{
    m->prior[0] = *ab;
    m->prior[1] = *ba;
    m->has_prior = true;
}

void mg_cyclegan_set_iteration(mg_cyclegan *m, long iteration) { m->iteration = iteration; }

void mg_cyclegan_set_dist(mg_cyclegan *m, mg_dist *d) { m->dist = d; }

float mg_cyclegan_prior_weight(const mg_cyclegan_config *cfg, long iteration)
{
    if (cfg->lambda_prior <= 0.0f || cfg->prior_iterations < 1 || iteration >= cfg->prior_iterations)
        return 0.0f;
    return (float)(cfg->lambda_prior * (1.0 - (double)(iteration < 0 ? 0 : iteration) / cfg->prior_iterations));
}

void mg_cyclegan_set_lr(mg_cyclegan *m, float lr)
{
    mg_adam_set_lr(m->opt_g, lr);
    mg_adam_set_lr(m->opt_d, lr * d_lr_scale(&m->cfg));
}
