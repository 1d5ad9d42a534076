/* The CycleGAN model and its training step (Zhu et al. 2017, as the standard PyTorch code):
 *   generators, discriminators frozen: L_G = adv(D_B(G_AB(a)), 1) + adv(D_A(G_BA(b)), 1)
 *       + lambda_cycle * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)
 *       + lambda_identity * lambda_cycle * (|G_AB(b) - b| + |G_BA(a) - a|)
 *       + lambda_structure * (mean NGF(a, G_AB(a)) + mean NGF(b, G_BA(b)))   (when lambda_structure > 0)
 *       + lambda_intensity * (quantile loss of G_AB(a) against B's quantiles, and of G_BA(b) against A's)
 *                                                                         (when lambda_intensity > 0)
 *       + w_prior * (|G_AB(a) - inv_AB(a)| + |G_BA(b) - inv_BA(b)|), w_prior falling linearly from lambda_prior to 0
 *         over the first prior_iterations (the contrast prior: inv is the unpaired inverse histogram match, which
 *         puts every run where the contrast inversion is before the adversarial losses decide which mapping wins)
 *   with cycle_noise > 0 the cycle translates back G_AB(a) + n and G_BA(b) + n', n, n' ~ N(0, cycle_noise^2)
 *   per pixel (Bashkirova et al. 2019): faint high-frequency patterns a generator might hide in a translation to
 *   make it invertible drown in the noise, so the cycle has to rest on the visible image.
 *   discriminators, fed from the history pools: L_D = 0.5 * (adv(D(real), 1) + adv(D(pool(fake)), 0)).
 *   with d_translate or d_cutout > 0 every image a discriminator sees, in both passes, is first shifted and cut
 *   (DiffAugment, Zhao et al. 2020), and with d_jitter > 0 then placed at a random offset in a reflected canvas.
 * The generator pass and the discriminator pass use one graph each, reset every step. */
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

/* The adversarial loss of pred against an all-`real` target. */
static mg_tensor *gan_loss(mg_graph *g, const mg_cyclegan *m, mg_tensor *pred, bool real)
{
    if (!pred)
        return NULL;
    mg_tensor *target = mg_graph_full(g, pred->ndim, pred->shape, real ? 1.0f : 0.0f);
    return m->cfg.gan_mode == MG_GAN_LSGAN ? mg_mse_loss(g, pred, target) : mg_bce_logits_loss(g, pred, target);
}

static float scalar(mg_tensor *t)
{
    float v = 0.0f;
    if (t)
        mg_tensor_read(t, &v, 1);
    return v;
}

/* m->scratch holding at least n floats, or MG_ERR_OOM naming what needed them. */
static mg_status scratch_reserve(mg_cyclegan *m, size_t n, const char *what)
{
    if (n <= m->scratch_cap)
        return MG_OK;
    float *p = realloc(m->scratch, n * sizeof *p);
    if (!p)
        return mg_error(MG_ERR_OOM, "%s: %zu values", what, n);
    m->scratch = p;
    m->scratch_cap = n;
    return MG_OK;
}

/* x[0], x[1] plus cycle_noise * N(0, 1) per pixel, drawn from PCG32 stream MG_CYCLE_NOISE_STREAM of seed: a
 * function of the sample's seed alone, so a resumed run draws what the uninterrupted one did and no state needs
 * keeping. */
static mg_status cycle_add_noise(mg_cyclegan *m, mg_graph *g, mg_tensor *x[2], uint64_t seed)
{
    const size_t n = x[0]->numel;
    mg_status s = scratch_reserve(m, 2 * n, "cycle noise");
    if (s != MG_OK)
        return s;
    mg_rng r;
    mg_rng_seed(&r, seed, MG_CYCLE_NOISE_STREAM);
    for (size_t i = 0; i < 2 * n; i++)
        m->scratch[i] = m->cfg.cycle_noise * mg_rng_normal(&r);
    for (int k = 0; k < 2; k++)
        x[k] = mg_add(g, x[k], mg_graph_tensor(g, x[k]->ndim, x[k]->shape, m->scratch + (size_t)k * n));
    return MG_OK;
}

/* w * (|G_AB(a) - prior_AB(a)| + |G_BA(b) - prior_BA(b)|), the maps applied to the inputs on the host: the contrast
 * prior's two losses, into loss[0], loss[1]. */
static mg_status prior_losses(mg_cyclegan *m, mg_graph *g, const float *const in[2], mg_tensor *const fake[2], float w,
                              mg_tensor *loss[2])
{
    if (!m->has_prior)
        return mg_error(MG_ERR_ARG, "the contrast prior needs its maps (mg_cyclegan_set_prior)");
    const size_t n = fake[0]->numel;
    mg_status s = scratch_reserve(m, n, "contrast prior");
    if (s != MG_OK)
        return s;
    for (int k = 0; k < 2; k++) { /* each target uploaded (copied) before the next is written */
        float *t = m->scratch;
        for (size_t i = 0; i < n; i++)
            t[i] = m->prior[k].out[mg_map_level(in[k][i])];
        loss[k] = mg_scale(g, mg_l1_loss(g, fake[k], mg_graph_tensor(g, fake[k]->ndim, fake[k]->shape, t)), w);
    }
    return MG_OK;
}

/* xs[0..n_x) [1,1,H,W] blurred by a normalised Gaussian of sigma pixels, 2 * ceil(3 * sigma) + 1 taps a side, the
 * edges reflected (so that a black background stays black): convolutions by one constant kernel that no
 * optimiser holds. */
static void graph_blur(mg_graph *g, mg_tensor **xs, int n_x, float sigma)
{
    enum { MAX_TAPS = 2 * 3 * MG_BLUR_MAX_SIGMA + 1 };
    float k1[MAX_TAPS], k2[MAX_TAPS * MAX_TAPS];
    const int r = (int)ceilf(3.0f * sigma), n = 2 * r + 1;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += k1[i] = (float)exp(-0.5 * (double)(i - r) * (i - r) / ((double)sigma * sigma));
    for (int i = 0; i < n; i++)
        k1[i] = (float)(k1[i] / sum);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            k2[i * n + j] = k1[i] * k1[j];
    const int shape[4] = {1, 1, n, n};
    mg_tensor *kernel = mg_graph_tensor(g, 4, shape, k2);
    /* a slice narrower than the taps (the PatchGAN refuses them before this) would be reflected past its edge */
    for (int k = 0; k < n_x; k++)
        xs[k] = mg_conv2d(g, mg_reflect_pad2d(g, xs[k], r, r, r, r), kernel, NULL, 1, 0);
}

void mg_cyclegan_draw_augment(const mg_cyclegan_config *cfg, int h, int w, mg_rng *r, mg_d_augment *out)
{
    *out = (mg_d_augment){0};
    if (cfg->d_translate > 0.0f) {
        const int tw = (int)(cfg->d_translate * (float)w + 0.5f), th = (int)(cfg->d_translate * (float)h + 0.5f);
        out->dx = (int)mg_rng_below(r, (uint32_t)(2 * tw + 1)) - tw;
        out->dy = (int)mg_rng_below(r, (uint32_t)(2 * th + 1)) - th;
    }
    if (cfg->d_cutout > 0.0f) {
        int cw = (int)(cfg->d_cutout * (float)w + 0.5f), ch = (int)(cfg->d_cutout * (float)h + 0.5f);
        cw = cw < 1 ? 1 : cw;
        ch = ch < 1 ? 1 : ch;
        const int x = (int)mg_rng_below(r, (uint32_t)w), y = (int)mg_rng_below(r, (uint32_t)h);
        out->box[0] = x - cw / 2;
        out->box[1] = y - ch / 2;
        out->box[2] = out->box[0] + cw;
        out->box[3] = out->box[1] + ch;
    }
    if (cfg->d_jitter > 0) {
        out->left = (int)mg_rng_below(r, (uint32_t)cfg->d_jitter + 1);
        out->top = (int)mg_rng_below(r, (uint32_t)cfg->d_jitter + 1);
    }
}

static bool d_augments(const mg_cyclegan_config *cfg)
{
    return cfg->d_translate > 0.0f || cfg->d_cutout > 0.0f || cfg->d_jitter > 0;
}

/* Each of xs augmented for the discriminators (mrigan/cyclegan.h), drawing from stream pass of the sample's seed; the
 * fill of a shift or cutout is black, the background of every slice here, in the networks' [-1, 1] units. */
static void graph_augment(const mg_cyclegan *m, mg_graph *g, mg_tensor **xs, int n_x, uint64_t seed, int pass)
{
    mg_rng r;
    mg_rng_seed(&r, seed, MG_D_AUGMENT_STREAM + (uint64_t)pass);
    const int n = m->cfg.d_jitter;
    for (int k = 0; k < n_x; k++) {
        if (!xs[k])
            return; /* the graph has failed already and says why */
        mg_d_augment a;
        mg_cyclegan_draw_augment(&m->cfg, xs[k]->shape[2], xs[k]->shape[3], &r, &a);
        if (m->cfg.d_translate > 0.0f || m->cfg.d_cutout > 0.0f)
            xs[k] = mg_shift2d(g, xs[k], a.dx, a.dy, a.box, -1.0f);
        if (n > 0)
            xs[k] = mg_reflect_pad2d(g, xs[k], a.left, n - a.left, a.top, n - a.top);
    }
}

/* The generator half of a step; leaves the fakes in *fake_a, *fake_b (storage in graph_g). */
/* weight scales the loss whose gradients are taken (1/n of a batch of n, gathered one sample at a time); zero:
 * this is the batch's first sample, whose backward starts from zeroed gradients; seed: the sample's (noise); a, b:
 * the host copies of real_a, real_b (the contrast prior's maps apply to them). */
static mg_status step_generators(mg_cyclegan *m, mg_tensor *real_a, mg_tensor *real_b, const float *a, const float *b,
                                 float weight, bool zero, uint64_t seed, mg_tensor **fake_a, mg_tensor **fake_b,
                                 mg_losses *out)
{
    mg_graph *g = m->graph_g;
    const float lc = m->cfg.lambda_cycle, li = m->cfg.lambda_identity * m->cfg.lambda_cycle,
                ls = m->cfg.lambda_structure, lq = m->cfg.lambda_intensity;
    if (lq > 0.0f && (!m->quantiles[0] || !m->quantiles[1]))
        return mg_error(MG_ERR_ARG, "the intensity loss needs both domains' quantiles (mg_cyclegan_set_quantiles)");
    *fake_b = mg_generator_forward(g, &m->g_ab, real_a);
    *fake_a = mg_generator_forward(g, &m->g_ba, real_b);
    mg_tensor *back[2] = {*fake_b, *fake_a}; /* what the cycle translates back */
    if (m->cfg.cycle_noise > 0.0f) {
        mg_status s = cycle_add_noise(m, g, back, seed);
        if (s != MG_OK)
            return s;
    }
    mg_net_set_frozen(&m->d_a.net, true);
    mg_net_set_frozen(&m->d_b.net, true);
    mg_tensor *rec_a = mg_generator_forward(g, &m->g_ba, back[0]);
    mg_tensor *rec_b = mg_generator_forward(g, &m->g_ab, back[1]);
    mg_tensor *judged[2] = {*fake_b, *fake_a}; /* what the discriminators see */
    if (m->cfg.d_blur > 0.0f)
        graph_blur(g, judged, 2, m->cfg.d_blur);
    if (d_augments(&m->cfg))
        graph_augment(m, g, judged, 2, seed, 0);
    mg_tensor *adv_ab = gan_loss(g, m, mg_discriminator_forward(g, &m->d_b, judged[0]), true);
    mg_tensor *adv_ba = gan_loss(g, m, mg_discriminator_forward(g, &m->d_a, judged[1]), true);
    mg_tensor *cmp[4] = {rec_a, real_a, rec_b, real_b}; /* what the cycle loss compares */
    if (m->cfg.cycle_blur > 0.0f)
        graph_blur(g, cmp, 4, m->cfg.cycle_blur);
    mg_tensor *cyc_aba = mg_scale(g, mg_l1_loss(g, cmp[0], cmp[1]), lc);
    mg_tensor *cyc_bab = mg_scale(g, mg_l1_loss(g, cmp[2], cmp[3]), lc);
    mg_tensor *total = mg_add(g, mg_add(g, adv_ab, adv_ba), mg_add(g, cyc_aba, cyc_bab));
    mg_tensor *idt_ab = NULL, *idt_ba = NULL;
    if (li > 0.0f) {
        idt_ab = mg_scale(g, mg_l1_loss(g, mg_generator_forward(g, &m->g_ab, real_b), real_b), li);
        idt_ba = mg_scale(g, mg_l1_loss(g, mg_generator_forward(g, &m->g_ba, real_a), real_a), li);
        total = mg_add(g, total, mg_add(g, idt_ab, idt_ba));
    }
    mg_tensor *ngf_ab = NULL, *ngf_ba = NULL;
    if (ls > 0.0f) {
        const float eps = m->cfg.structure_eps;
        mg_tensor *pair[4] = {real_a, *fake_b, real_b, *fake_a}; /* each input beside its translation */
        if (m->cfg.structure_blur > 0.0f)
            graph_blur(g, pair, 4, m->cfg.structure_blur);
        ngf_ab = mg_scale(g, mg_mean(g, mg_ngf_map(g, pair[0], pair[1], eps)), ls);
        ngf_ba = mg_scale(g, mg_mean(g, mg_ngf_map(g, pair[2], pair[3], eps)), ls);
        total = mg_add(g, total, mg_add(g, ngf_ab, ngf_ba));
    }
    mg_tensor *dist_ab = NULL, *dist_ba = NULL;
    if (lq > 0.0f) { /* each translation's pixels where its input is above the background */
        const float bg = mg_profile_threshold();
        dist_ab = mg_scale(g, mg_quantile_loss(g, *fake_b, real_a, m->quantiles[1], bg), lq);
        dist_ba = mg_scale(g, mg_quantile_loss(g, *fake_a, real_b, m->quantiles[0], bg), lq);
        total = mg_add(g, total, mg_add(g, dist_ab, dist_ba));
    }
    mg_tensor *prior[2] = {NULL, NULL};
    const float lp = mg_cyclegan_prior_weight(&m->cfg, m->iteration);
    if (lp > 0.0f) { /* from prior_iterations on the graph is the one without the prior */
        mg_status s =
            prior_losses(m, g, (const float *const[2]){a, b}, (mg_tensor *const[2]){*fake_b, *fake_a}, lp, prior);
        if (s != MG_OK)
            return s;
        total = mg_add(g, total, mg_add(g, prior[0], prior[1]));
    }
    mg_tensor *scaled = weight != 1.0f ? mg_scale(g, total, weight) : total; /* n = 1 adds no op */
    mg_status s = mg_graph_check(g, "generator step");
    if (s == MG_OK && zero)
        s = mg_adam_zero_grad(m->opt_g);
    if (s == MG_OK)
        s = mg_graph_backward(g, scaled);
    mg_net_set_frozen(&m->d_a.net, false);
    mg_net_set_frozen(&m->d_b.net, false);
    out->adv_ab = scalar(adv_ab);
    out->adv_ba = scalar(adv_ba);
    out->cyc_aba = scalar(cyc_aba);
    out->cyc_bab = scalar(cyc_bab);
    out->idt_ab = scalar(idt_ab);
    out->idt_ba = scalar(idt_ba);
    out->ngf_ab = scalar(ngf_ab);
    out->ngf_ba = scalar(ngf_ba);
    out->dist_ab = scalar(dist_ab);
    out->dist_ba = scalar(dist_ba);
    out->prior_ab = scalar(prior[0]);
    out->prior_ba = scalar(prior[1]);
    out->g_total = scalar(total);
    return s;
}

static mg_tensor *disc_loss(mg_graph *g, const mg_cyclegan *m, const mg_discriminator *d, mg_tensor *real,
                            mg_tensor *fake)
{
    mg_tensor *l_real = gan_loss(g, m, mg_discriminator_forward(g, d, real), true);
    mg_tensor *l_fake = gan_loss(g, m, mg_discriminator_forward(g, d, fake), false);
    return mg_scale(g, mg_add(g, l_real, l_fake), 0.5f);
}

static mg_status step_discriminators(mg_cyclegan *m, mg_tensor *fake_a, mg_tensor *fake_b, const float *a,
                                     const float *b, const int *shape, mg_rng *rng, uint64_t seed, float weight,
                                     bool zero, mg_losses *out)
{
    mg_graph *g = m->graph_d;
    mg_graph_reset(g);
    mg_tensor *pooled_b, *pooled_a;
    mg_status s = mg_history_query(&m->pool_b, fake_b, rng, &pooled_b);
    if (s == MG_OK)
        s = mg_history_query(&m->pool_a, fake_a, rng, &pooled_a);
    if (s != MG_OK)
        return s;
    /* the pools keep the translations as the generators made them; the blur, if any, comes after */
    mg_tensor *judged[4] = {mg_graph_tensor(g, 4, shape, a), mg_detach(g, pooled_a), mg_graph_tensor(g, 4, shape, b),
                            mg_detach(g, pooled_b)};
    if (m->cfg.d_blur > 0.0f)
        graph_blur(g, judged, 4, m->cfg.d_blur);
    if (d_augments(&m->cfg))
        graph_augment(m, g, judged, 4, seed, 1);
    mg_tensor *d_b = disc_loss(g, m, &m->d_b, judged[2], judged[3]);
    mg_tensor *d_a = disc_loss(g, m, &m->d_a, judged[0], judged[1]);
    mg_tensor *total = mg_add(g, d_a, d_b); /* disjoint parameters: the same gradients as two backwards */
    mg_tensor *scaled = weight != 1.0f ? mg_scale(g, total, weight) : total;
    s = mg_graph_check(g, "discriminator step");
    if (s == MG_OK && zero)
        s = mg_adam_zero_grad(m->opt_d);
    if (s == MG_OK)
        s = mg_graph_backward(g, scaled);
    out->d_a = scalar(d_a);
    out->d_b = scalar(d_b);
    return s;
}

/* The discriminator pass needs nothing the generators' Adam step changes (the fakes are detached, and the
 * discriminators were frozen in the generator pass), so both passes can run before either update: the
 * results are those of updating the generators first, bit for bit. */
/* One sample's forward and backward passes, its gradients added with weight (zero: the batch's first). */
static mg_status backward_sample(mg_cyclegan *m, const float *a, const float *b, int h, int w, mg_rng *rng,
                                 uint64_t dropout_seed, float weight, bool zero, mg_losses *out)
{
    const int shape[4] = {1, 1, h, w};
    mg_graph *g = m->graph_g;
    mg_graph_reset(g);
    mg_graph_set_training(g, true);
    mg_graph_set_seed(g, dropout_seed);
    memset(out, 0, sizeof *out);
    mg_tensor *real_a = mg_graph_tensor(g, 4, shape, a), *real_b = mg_graph_tensor(g, 4, shape, b);
    mg_tensor *fake_a = NULL, *fake_b = NULL;
    mg_status s = step_generators(m, real_a, real_b, a, b, weight, zero, dropout_seed, &fake_a, &fake_b, out);
    if (s == MG_OK)
        s = step_discriminators(m, mg_detach(g, fake_a), mg_detach(g, fake_b), a, b, shape, rng, dropout_seed, weight,
                                zero, out);
    return s;
}

mg_status mg_cyclegan_backward(mg_cyclegan *m, const float *a, const float *b, int h, int w, mg_rng *rng,
                               uint64_t dropout_seed, mg_losses *out)
{
    return backward_sample(m, a, b, h, w, rng, dropout_seed, 1.0f, true, out);
}

mg_status mg_cyclegan_backward_batch(mg_cyclegan *m, const float *a, const float *b, int n, int h, int w, mg_rng *rng,
                                     uint64_t dropout_seed, mg_losses *out)
{
    if (n < 1)
        return mg_error(MG_ERR_ARG, "backward: a batch of %d samples", n);
    float sum[MG_LOSS_COUNT] = {0};
    mg_status s = MG_OK;
    const size_t px = (size_t)h * (size_t)w;
    for (int i = 0; i < n && s == MG_OK; i++) {
        /* each sample its own dropout masks; the first the seed itself, so a batch of one is the plain step */
        s = backward_sample(m, a + (size_t)i * px, b + (size_t)i * px, h, w, rng,
                            dropout_seed + (uint64_t)i * 0x9E3779B97F4A7C15ull, 1.0f / (float)n, i == 0, out);
        float v[MG_LOSS_COUNT];
        mg_losses_to_array(out, v);
        for (int k = 0; k < MG_LOSS_COUNT; k++)
            sum[k] += v[k];
    }
    if (s == MG_OK && n > 1) { /* the batch's losses: the means of its samples' */
#define LOSS(e, field, name, colour, what) out->field = sum[MG_LOSS_##e] / (float)n;
#include "mrigan/losses.def"
#undef LOSS
    }
    return s;
}

/* avg += (1 - decay) * (g - avg) for each generator with an average (decay 0 copies). */
static mg_status averages_step(mg_cyclegan *m, float decay)
{
    const mg_net *g[2] = {&m->g_ab.net, &m->g_ba.net}, *avg[2] = {&m->avg_ab.net, &m->avg_ba.net};
    mg_status s = MG_OK;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < avg[k]->n_params && s == MG_OK; i++)
            s = decay == 0.0f ? mg_tensor_copy(avg[k]->params[i], g[k]->params[i])
                              : mg_tensor_lerp(avg[k]->params[i], g[k]->params[i], 1.0f - decay);
    return s;
}

mg_status mg_cyclegan_reset_averages(mg_cyclegan *m) { return averages_step(m, 0.0f); }

mg_status mg_cyclegan_update(mg_cyclegan *m)
{
    mg_status s = mg_adam_step(m->opt_g);
    if (s == MG_OK)
        s = mg_adam_step(m->opt_d);
    return s == MG_OK && m->cfg.ema > 0.0f ? averages_step(m, m->cfg.ema) : s;
}

/* The network that translates direction d: the moving average when the model keeps one. */
mg_status mg_cyclegan_step(mg_cyclegan *m, const float *a, const float *b, int h, int w, mg_rng *rng,
                           uint64_t dropout_seed, mg_losses *out)
{
    return mg_cyclegan_step_batch(m, a, b, 1, h, w, rng, dropout_seed, out);
}

mg_status mg_cyclegan_step_batch(mg_cyclegan *m, const float *a, const float *b, int n, int h, int w, mg_rng *rng,
                                 uint64_t dropout_seed, mg_losses *out)
{
    mg_status s = mg_cyclegan_backward_batch(m, a, b, n, h, w, rng, dropout_seed, out);
    if (s != MG_OK)
        return s;
    /* Checked here, before Adam moves any weight: one step later the weights would already be lost. */
    float v[MG_LOSS_COUNT];
    mg_losses_to_array(out, v);
    for (int i = 0; i < MG_LOSS_COUNT; i++)
        if (!isfinite(v[i]))
            return mg_error(MG_ERR_NONFINITE, "the %s loss is %g (the weights were not updated)", mg_loss_names[i],
                            (double)v[i]);
    return mg_cyclegan_update(m);
}
