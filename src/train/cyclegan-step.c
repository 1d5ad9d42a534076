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
/* weight scales the loss whose gradients are taken (1/n of a batch of n, gathered one sample at a time), from zeroed
 * gradients (the sum of a batch's samples is kept aside: grads_aside); seed: the sample's (noise); a, b:
 * the host copies of real_a, real_b (the contrast prior's maps apply to them). */
static mg_status step_generators(mg_cyclegan *m, mg_tensor *real_a, mg_tensor *real_b, const float *a, const float *b,
                                 float weight, uint64_t seed, mg_tensor **fake_a, mg_tensor **fake_b, mg_losses *out)
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
    if (s == MG_OK)
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

/* One sample's discriminator pass on the real a, b and the fakes the pools showed for them (pa, pb; host images). */
static mg_status step_discriminators(mg_cyclegan *m, const float *a, const float *b, const float *pa, const float *pb,
                                     const int *shape, uint64_t seed, float weight, mg_losses *out)
{
    mg_graph *g = m->graph_d;
    mg_graph_reset(g);
    /* the pools keep the translations as the generators made them; the blur, if any, comes after */
    mg_tensor *judged[4];
    judged[0] = mg_graph_tensor(g, 4, shape, a);
    judged[1] = mg_graph_tensor(g, 4, shape, pa);
    judged[2] = mg_graph_tensor(g, 4, shape, b);
    judged[3] = mg_graph_tensor(g, 4, shape, pb);
    if (m->cfg.d_blur > 0.0f)
        graph_blur(g, judged, 4, m->cfg.d_blur);
    if (d_augments(&m->cfg))
        graph_augment(m, g, judged, 4, seed, 1);
    mg_tensor *d_b = disc_loss(g, m, &m->d_b, judged[2], judged[3]);
    mg_tensor *d_a = disc_loss(g, m, &m->d_a, judged[0], judged[1]);
    mg_tensor *total = mg_add(g, d_a, d_b); /* disjoint parameters: the same gradients as two backwards */
    mg_tensor *scaled = weight != 1.0f ? mg_scale(g, total, weight) : total;
    mg_status s = mg_graph_check(g, "discriminator step");
    if (s == MG_OK)
        s = mg_adam_zero_grad(m->opt_d);
    if (s == MG_OK)
        s = mg_graph_backward(g, scaled);
    out->d_a = scalar(d_a);
    out->d_b = scalar(d_b);
    return s;
}

/* One sample's generator pass: its losses into out, its translations G_BA(b) and G_AB(a) into the host images fake_a
 * and fake_b (for the pools), its gradients weighted by weight. */
static mg_status sample_generators(mg_cyclegan *m, const float *a, const float *b, int h, int w, uint64_t seed,
                                   float weight, float *fake_a, float *fake_b, mg_losses *out)
{
    const int shape[4] = {1, 1, h, w};
    mg_graph *g = m->graph_g;
    mg_graph_reset(g);
    mg_graph_set_training(g, true);
    mg_graph_set_seed(g, seed);
    memset(out, 0, sizeof *out);
    mg_tensor *real_a = mg_graph_tensor(g, 4, shape, a);
    mg_tensor *real_b = mg_graph_tensor(g, 4, shape, b);
    mg_tensor *fa = NULL, *fb = NULL;
    mg_status s = step_generators(m, real_a, real_b, a, b, weight, seed, &fa, &fb, out);
    if (s == MG_OK)
        s = mg_tensor_read(fa, fake_a, (size_t)h * (size_t)w);
    if (s == MG_OK)
        s = mg_tensor_read(fb, fake_b, (size_t)h * (size_t)w);
    return s;
}

/* Sample i of a batch draws its dropout masks, cycle noise and augmentations from its own seed; the first from the
 * step's seed itself, so that a batch of one is the plain step. */
static uint64_t sample_seed(uint64_t seed, int i) { return seed + (uint64_t)i * 0x9E3779B97F4A7C15ull; }

/* m->batch holding at least n floats. Every rank needs the same size at the same step, so that they agree on a
 * failure here before the exchanges that follow (a rank gone from them would leave the others waiting). */
static mg_status batch_reserve(mg_cyclegan *m, size_t n)
{
    if (n <= m->batch_cap)
        return MG_OK;
    float *p = realloc(m->batch, n * sizeof *p);
    if (p) {
        m->batch = p;
        m->batch_cap = n;
    }
    int failed = !p;
    mg_status s = mg_dist_max(m->dist, &failed, 1);
    if (s == MG_OK && failed)
        s = p ? mg_error(MG_ERR_PEER, "another process ran out of host memory for its batch")
              : mg_error(MG_ERR_OOM, "batch step: %zu values of host memory", n);
    return s;
}

/* Every process's block (its status in slot 0, then its data; mine is its place in all) into all, in rank order.
 * The step goes on only where all of them went well: else this process's own failure, or MG_ERR_PEER naming the
 * first process that failed (whose own message says why). Alone: s. */
static mg_status batch_exchange(mg_cyclegan *m, mg_status s, float *mine, float *all, size_t block)
{
    const int n = mg_dist_size(m->dist);
    if (n == 1)
        return s;
    mine[0] = (float)s;
    mg_status g = mg_dist_gather(m->dist, mine, all, block * sizeof *all);
    if (s != MG_OK || g != MG_OK)
        return s != MG_OK ? s : g;
    for (int r = 0; r < n; r++)
        if (all[(size_t)r * block] != 0.0f)
            return mg_error(MG_ERR_PEER, "process %d of %d failed in its part of the step (%s)", r, n,
                            mg_status_name((mg_status)all[(size_t)r * block]));
    return MG_OK;
}

/* Sample j > 0 of this process's share computes its gradient from zero while the sum of the share's samples so far
 * waits in m->held (opt_g's first, then opt_d's), and is added to it after (grads_add_back): the share's sum is then
 * G0 + G1 + ... added whole, as the processes' sums are added whole over MPI, so that two processes with one sample
 * each compute one process's batch of two bit for bit (a backward adding into the old sum directly rounds its partial
 * products another way). */
/* The sample's gradients added to the sums set aside (add; else only put back), which return to their places. */
static mg_status grads_add_back(mg_cyclegan *m, int which, const bool *swapped, bool add)
{
    const mg_adam *opt = which ? m->opt_d : m->opt_g;
    const int base = which ? mg_adam_param_count(m->opt_g) : 0;
    mg_status s = MG_OK;
    for (int i = 0; i < mg_adam_param_count(opt); i++) {
        mg_tensor *p = mg_adam_param(opt, i), **h = &m->held[base + i];
        if (!swapped[i])
            continue;
        if (add && s == MG_OK)
            s = mg_tensor_add(*h, p->grad);
        mg_tensor *sum = *h; /* back in place even after a failure, so that nothing is lost or freed twice */
        *h = p->grad;
        p->grad = sum;
    }
    return s;
}

static mg_status grads_aside(mg_cyclegan *m, int which, bool *swapped)
{
    const mg_adam *opt = which ? m->opt_d : m->opt_g;
    const int base = which ? mg_adam_param_count(m->opt_g) : 0, n = mg_adam_param_count(opt);
    for (int i = 0; i < n; i++)
        swapped[i] = false;
    if (!m->held &&
        !(m->held = calloc((size_t)(mg_adam_param_count(m->opt_g) + mg_adam_param_count(m->opt_d)), sizeof *m->held)))
        return mg_error(MG_ERR_OOM, "batch step: out of host memory");
    for (int i = 0; i < n; i++) {
        mg_tensor *p = mg_adam_param(opt, i), **h = &m->held[base + i];
        if (!p->grad)
            continue;
        mg_status s = *h ? MG_OK : mg_tensor_new(m->be, p->ndim, p->shape, h);
        if (s != MG_OK) { /* the gradients already aside go back as they were */
            grads_add_back(m, which, swapped, false);
            return mg_error(s, "a batch's gradient sums: %s", mg_last_error());
        }
        mg_tensor *sum = p->grad;
        p->grad = *h;
        *h = sum;
        swapped[i] = true;
    }
    return MG_OK;
}

/* The gradients of both optimisers summed over the processes (each holds its share of the batch's mean), in the same
 * order on every process: where they lie in host memory, in place, tensor by tensor; else through the host in pieces
 * of about 4 M values (at least the largest tensor). */
static mg_status grads_sum(mg_cyclegan *m)
{
    if (mg_dist_size(m->dist) == 1)
        return MG_OK;
    mg_tensor *grads[4 * MG_NET_MAX_PARAMS];
    const mg_adam *opt[2] = {m->opt_g, m->opt_d};
    int n = 0;
    size_t cap = (size_t)1 << 22;
    mg_status s = MG_OK, own = MG_OK; /* own: a read or write of this process's that failed; its sums go on, so that
                                       * the other processes are not left waiting in theirs */
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < mg_adam_param_count(opt[o]) && s == MG_OK; i++) {
            mg_tensor *g = mg_adam_param(opt[o], i)->grad;
            float *host = g ? mg_tensor_host_data(g) : NULL;
            if (host) /* the CPU backend: no copy of a U-Net's 450 MB of gradients in and out */
                s = mg_dist_sum(m->dist, host, g->numel);
            else if (g) {
                grads[n++] = g;
                cap = g->numel > cap ? g->numel : cap;
            }
        }
    if (s == MG_OK && n > 0)
        s = batch_reserve(m, cap);
    for (int i = 0; i < n && s == MG_OK;) {
        int j = i;
        size_t fill = 0;
        for (; j < n && fill + grads[j]->numel <= cap; fill += grads[j++]->numel)
            if (own == MG_OK)
                own = mg_tensor_read(grads[j], m->batch + fill, grads[j]->numel);
        s = mg_dist_sum(m->dist, m->batch, fill);
        for (size_t at = 0; i < j && s == MG_OK; at += grads[i++]->numel)
            if (own == MG_OK)
                own = mg_tensor_write(grads[i], m->batch + at, grads[i]->numel);
    }
    return s != MG_OK ? s : own;
}

mg_status mg_cyclegan_backward(mg_cyclegan *m, const float *a, const float *b, int h, int w, mg_rng *rng,
                               uint64_t dropout_seed, mg_losses *out)
{
    return mg_cyclegan_backward_batch(m, a, b, 1, h, w, rng, dropout_seed, out);
}

/* The discriminator pass needs nothing the generators' Adam step changes (the fakes are detached, and the
 * discriminators were frozen in the generator pass), so both passes run before either update, with the results of
 * updating the generators first, bit for bit; and the generator passes of a batch's samples may all run before its
 * discriminator passes, each network's gradients still added sample by sample. That is the seam where the processes
 * of a distributed run exchange their samples' translations, which every process then offers to its pools in the
 * batch's order, so that the pools stay the same everywhere. */
mg_status mg_cyclegan_backward_batch(mg_cyclegan *m, const float *a, const float *b, int n, int h, int w, mg_rng *rng,
                                     uint64_t dropout_seed, mg_losses *out)
{
    const int procs = mg_dist_size(m->dist), first = mg_dist_rank(m->dist) * (n / (procs > 0 ? procs : 1));
    if (n < 1 || n % procs)
        return mg_error(MG_ERR_ARG, "backward: a batch of %d samples cannot be shared by %d processes", n, procs);
    const int k = n / procs, shape[4] = {1, 1, h, w};
    const size_t px = (size_t)h * (size_t)w, fakes_block = 1 + (size_t)k * 2 * px;
    const size_t loss_block = 1 + (size_t)k * MG_LOSS_COUNT, shown = (size_t)k * 2 * px;
    mg_status s = batch_reserve(m, (size_t)procs * (fakes_block + loss_block) + shown);
    if (s != MG_OK)
        return s;
    float *fakes = m->batch, *losses = fakes + (size_t)procs * fakes_block, *show = losses + (size_t)procs * loss_block;
    float *my_fakes = fakes + (size_t)(first / k) * fakes_block, *my_losses = losses + (size_t)(first / k) * loss_block;
    mg_losses l;
    bool swapped[2 * MG_NET_MAX_PARAMS];
    for (int j = 0; j < k && s == MG_OK; j++) { /* this process's samples: fake_a, fake_b each */
        float *f = my_fakes + 1 + (size_t)j * 2 * px;
        s = j > 0 ? grads_aside(m, 0, swapped) : MG_OK;
        if (s == MG_OK)
            s = sample_generators(m, a + (size_t)(first + j) * px, b + (size_t)(first + j) * px, h, w,
                                  sample_seed(dropout_seed, first + j), 1.0f / (float)n, f, f + px, &l);
        if (j > 0) {
            mg_status back = grads_add_back(m, 0, swapped, s == MG_OK);
            s = s == MG_OK ? back : s;
        }
        mg_losses_to_array(&l, my_losses + 1 + (size_t)j * MG_LOSS_COUNT);
    }
    s = batch_exchange(m, s, my_fakes, fakes, fakes_block);
    for (int i = 0; i < n && s == MG_OK; i++) { /* the pools see every sample, B's first, as one process would */
        const float *f = fakes + (size_t)(i / k) * fakes_block + 1 + (size_t)(i % k) * 2 * px;
        float *mine = i >= first && i < first + k ? show + (size_t)(i - first) * 2 * px : NULL;
        s = mg_history_query(&m->pool_b, m->be, 4, shape, f + px, rng, mine ? mine + px : NULL);
        if (s == MG_OK)
            s = mg_history_query(&m->pool_a, m->be, 4, shape, f, rng, mine);
    }
    for (int j = 0; j < k && s == MG_OK; j++) {
        const float *p = show + (size_t)j * 2 * px;
        float *v = my_losses + 1 + (size_t)j * MG_LOSS_COUNT;
        s = j > 0 ? grads_aside(m, 1, swapped) : MG_OK;
        if (s == MG_OK)
            s = step_discriminators(m, a + (size_t)(first + j) * px, b + (size_t)(first + j) * px, p, p + px, shape,
                                    sample_seed(dropout_seed, first + j), 1.0f / (float)n, &l);
        if (j > 0) {
            mg_status back = grads_add_back(m, 1, swapped, s == MG_OK);
            s = s == MG_OK ? back : s;
        }
        v[MG_LOSS_D_A] = l.d_a;
        v[MG_LOSS_D_B] = l.d_b;
    }
    s = batch_exchange(m, s, my_losses, losses, loss_block);
    if (s != MG_OK)
        return s;
    float sum[MG_LOSS_COUNT] = {0}; /* the batch's losses: the means of its samples', summed in the batch's order */
    for (int i = 0; i < n; i++) {
        const float *v = losses + (size_t)(i / k) * loss_block + 1 + (size_t)(i % k) * MG_LOSS_COUNT;
        for (int c = 0; c < MG_LOSS_COUNT; c++)
            sum[c] += v[c];
    }
#define LOSS(e, field, name, colour, what) out->field = sum[MG_LOSS_##e] / (float)n;
#include "mrigan/losses.def"
#undef LOSS
    return grads_sum(m);
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
