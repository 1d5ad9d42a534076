/* The CycleGAN model through a checkpoint: save, load into a fresh model, identical translations and
 * identical next training steps; a weights-only checkpoint translates the same; architecture mismatches
 * are refused by name; a checkpoint of views (mg_ckpt.views) is the same file. Also the model's size before allocating,
 * and the step's guard against NaN. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mrigan/blas.h"
#include "mrigan/cyclegan.h"

#include "check.h"
#include "model-util.h"

/* Whether files a and b hold the same bytes (and could both be read). */
static bool same_bytes(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int x = 0, y = 0;
    while (f && g && (x = getc(f)) == (y = getc(g)) && x != EOF)
        ;
    bool same = f && g && x == EOF && y == EOF;
    if (f)
        fclose(f);
    if (g)
        fclose(g);
    return same;
}

/* Trains a few steps (filling the pools past their size), saves, loads into a new model; both then
 * translate identically and take an identical next step. With a resize upsampling (nearest or bilinear), the
 * step has a structure loss, cycle noise and a blurred cycle, and the model keeps moving averages of the generators,
 * which translate: the checkpoint must keep all of that, and a weights-only save must translate as the model does. */
static void test_round_trip(mg_backend *be, mg_gen_kind kind, mg_upsample up, const char *dir)
{
    int before = failures;
    const bool resize = up != MG_UPSAMPLE_TRANSPOSE;
    mg_cyclegan_config cfg = small_config(kind);
    if (resize) {
        cfg.gen.upsample = up;
        cfg.gen.pad = up == MG_UPSAMPLE_RESIZE ? MG_PAD_REFLECT : MG_PAD_ZERO;
        cfg.d_pad = up == MG_UPSAMPLE_RESIZE ? MG_PAD_ZERO : MG_PAD_REFLECT;
        cfg.lambda_structure = 2.0f;
        cfg.structure_eps = 0.2f;
        cfg.ema = 0.9f;
        cfg.flip_average = true;
        cfg.guide_radius = 2;
        cfg.guide_eps = 0.05f;
        cfg.background = MG_BACKGROUND_FLAT;
        cfg.has_air = true;
        cfg.air[0] = -0.97f;
        cfg.air[1] = -0.8125f;
        cfg.d_lr_scale = 0.5f;
        cfg.cycle_noise = 0.3f;
        cfg.cycle_blur = 1.0f;
        cfg.d_blur = 0.7f;
        cfg.structure_blur = 0.9f;
        cfg.d_translate = 0.125f;
        cfg.d_cutout = 0.25f;
        cfg.d_jitter = 3;
        if (kind == MG_GEN_RESNET || kind == MG_GEN_RESNET_SKIP)
            cfg.gen.downsample = MG_DOWNSAMPLE_BLURRED;
    }
    mg_cyclegan a, b;
    float xa[S * S], xb[S * S], ya[S * S], yb[S * S];
    MUST(mg_cyclegan_new(be, &cfg, 7, &a));
    mg_losses la, lb;
    for (int i = 0; i < 5; i++) {
        mg_rng r;
        mg_rng_seed(&r, 1, (uint64_t)i);
        fill(xa, S * S, 10 + (uint64_t)i);
        fill(xb, S * S, 20 + (uint64_t)i);
        MUST(mg_cyclegan_step(&a, xa, xb, S, S, &r, (uint64_t)i, &la));
    }
    char path[256], viewed[256];
    snprintf(path, sizeof path, "%s/model.ckpt", dir);
    snprintf(viewed, sizeof viewed, "%s/model-views.ckpt", dir);
    mg_ckpt c;
    for (int k = 0; k < 2; k++) { /* copies, and views as the trainer saves: the same file */
        mg_ckpt_init(&c);
        c.views = k == 1;
        MUST(mg_cyclegan_save(&a, &c, true));
        MUST(mg_ckpt_save(&c, k ? viewed : path));
        mg_ckpt_free(&c);
    }
    CHECK(same_bytes(path, viewed), "a checkpoint of views is not the file of copies");
    unlink(viewed);

    mg_cyclegan_config cfg2;
    MUST(mg_ckpt_load(path, &c));
    MUST(mg_cyclegan_config_load(&c, &cfg2));
    CHECK(!memcmp(&cfg2.gen, &cfg.gen, sizeof cfg.gen) && cfg2.ndf == cfg.ndf && cfg2.pool_size == cfg.pool_size &&
              cfg2.lambda_structure == cfg.lambda_structure && cfg2.ema == cfg.ema &&
              cfg2.flip_average == cfg.flip_average && cfg2.guide_radius == cfg.guide_radius &&
              (!resize || cfg2.guide_eps == cfg.guide_eps) && cfg2.background == cfg.background &&
              cfg2.has_air == cfg.has_air && (!resize || (cfg2.air[0] == cfg.air[0] && cfg2.air[1] == cfg.air[1])) &&
              (cfg2.d_lr_scale == cfg.d_lr_scale || (cfg.d_lr_scale == 0.0f && cfg2.d_lr_scale == 1.0f)) &&
              (!resize || cfg2.structure_eps == cfg.structure_eps) && cfg2.cycle_noise == cfg.cycle_noise &&
              cfg2.cycle_blur == cfg.cycle_blur && cfg2.d_blur == cfg.d_blur &&
              cfg2.structure_blur == cfg.structure_blur && cfg2.d_translate == cfg.d_translate &&
              cfg2.d_cutout == cfg.d_cutout && cfg2.d_jitter == cfg.d_jitter,
          "configuration did not survive the checkpoint");
    /* The structure loss is a weighted mean of 1 - cos^2: in [0, lambda_structure], and 0 when off. */
    CHECK(resize ? la.ngf_ab > 0.0f && la.ngf_ab <= 2.0f && la.ngf_ba > 0.0f && la.ngf_ba <= 2.0f
                 : la.ngf_ab == 0.0f && la.ngf_ba == 0.0f,
          "structure losses %g, %g with lambda_structure %g", la.ngf_ab, la.ngf_ba, cfg.lambda_structure);
    MUST(mg_cyclegan_new(be, &cfg2, 99, &b)); /* another seed: every weight must come from the file */
    MUST(mg_cyclegan_load(&b, &c, true));
    mg_ckpt_free(&c);

    fill(xa, S * S, 3);
    for (int d = 0; d < 2; d++) {
        MUST(mg_cyclegan_translate(&a, d, xa, S, S, ya));
        MUST(mg_cyclegan_translate(&b, d, xa, S, S, yb));
        CHECK(!memcmp(ya, yb, sizeof ya), "direction %d: translations differ after the round trip", d);
    }
    if (resize) {
        /* The discriminators learn at half the generators' rate, through the schedule too. */
        mg_cyclegan_set_lr(&b, 1e-4f);
        CHECK(mg_adam_lr(a.opt_d) == 1e-4f && mg_adam_lr(b.opt_d) == 5e-5f && mg_adam_lr(b.opt_g) == 1e-4f,
              "discriminator learning rates %g, %g (generators' %g)", mg_adam_lr(a.opt_d), mg_adam_lr(b.opt_d),
              mg_adam_lr(b.opt_g));
        mg_cyclegan_set_lr(&b, 2e-4f);
        /* The averages lag the generators after 5 steps of decay 0.9, and translate; a weights-only save holds
         * them as the generators. */
        mg_tensor *g0 = a.g_ab.net.params[0], *avg0 = a.avg_ab.net.params[0];
        float *wg = malloc(g0->numel * sizeof *wg), *wa = malloc(g0->numel * sizeof *wa);
        MUST(wg && wa ? MG_OK : MG_ERR_OOM);
        MUST(mg_tensor_read(g0, wg, g0->numel));
        MUST(mg_tensor_read(avg0, wa, g0->numel));
        CHECK(memcmp(wg, wa, g0->numel * sizeof *wg) != 0, "the moving average equals the generator after 5 steps");
        free(wg);
        free(wa);
        snprintf(path, sizeof path, "%s/weights.ckpt", dir);
        mg_ckpt_init(&c);
        MUST(mg_cyclegan_save(&a, &c, false));
        MUST(mg_ckpt_save(&c, path));
        mg_ckpt_free(&c);
        mg_cyclegan w;
        MUST(mg_cyclegan_open(path, be, &w));
        for (int d = 0; d < 2; d++) {
            MUST(mg_cyclegan_translate(&a, d, xa, S, S, ya));
            MUST(mg_cyclegan_translate(&w, d, xa, S, S, yb));
            CHECK(!memcmp(ya, yb, sizeof ya), "direction %d: the weights-only save translates otherwise", d);
        }
        mg_cyclegan_free(&w);
        unlink(path);
        snprintf(path, sizeof path, "%s/model.ckpt", dir);
    }
    mg_rng ra, rb;
    mg_rng_seed(&ra, 1, 77);
    mg_rng_seed(&rb, 1, 77);
    fill(xb, S * S, 4);
    MUST(mg_cyclegan_step(&a, xa, xb, S, S, &ra, 5, &la));
    MUST(mg_cyclegan_step(&b, xa, xb, S, S, &rb, 5, &lb));
    CHECK(!memcmp(&la, &lb, sizeof la), "the step after loading differs: G %.9g vs %.9g, D_A %.9g vs %.9g", la.g_total,
          lb.g_total, la.d_a, lb.d_a);
    mg_cyclegan_free(&a);
    mg_cyclegan_free(&b);
    unlink(path);
    printf("%-4s %s%s: save, load, identical translations and next step (pools full, optimiser state)\n",
           failures == before ? "ok" : "FAIL", mg_generator_names[kind],
           up == MG_UPSAMPLE_BILINEAR ? " with bilinear upsampling, the structure loss and moving averages"
           : resize                   ? " with resize upsampling, the structure loss and moving averages"
                                      : "");
}

static void test_weights_only_and_mismatch(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_UNET);
    mg_cyclegan a, b;
    MUST(mg_cyclegan_new(be, &cfg, 3, &a));
    mg_ckpt c;
    mg_ckpt_init(&c);
    MUST(mg_cyclegan_save(&a, &c, false));
    CHECK(mg_ckpt_find(&c, "opt_G.steps") == NULL, "a weights-only checkpoint holds optimiser state");
    MUST(mg_cyclegan_new(be, &cfg, 4, &b));
    MUST(mg_cyclegan_load(&b, &c, false));
    float x[S * S], ya[S * S], yb[S * S];
    fill(x, S * S, 8);
    MUST(mg_cyclegan_translate(&a, 0, x, S, S, ya));
    MUST(mg_cyclegan_translate(&b, 0, x, S, S, yb));
    CHECK(!memcmp(ya, yb, sizeof ya), "weights-only checkpoint translates differently");
    CHECK(mg_cyclegan_load(&b, &c, true) != MG_OK, "loading state from a weights-only checkpoint succeeded");
    mg_cyclegan_free(&b);

    mg_cyclegan_config wide = cfg;
    wide.gen.ngf = 6;
    MUST(mg_cyclegan_new(be, &wide, 4, &b));
    mg_status s = mg_cyclegan_load(&b, &c, false);
    CHECK(s != MG_OK && strstr(mg_last_error(), "G_AB.down1.w"), "architecture mismatch not named: %s",
          mg_last_error());
    mg_cyclegan_free(&b);
    mg_ckpt_free(&c);
    mg_cyclegan_free(&a);
    printf("%-4s weights-only checkpoints translate identically; a wider network is refused by tensor name\n",
           failures == before ? "ok" : "FAIL");
}

/* Every parameter of the four networks, read into one host array (freed by the caller). */
static float *read_params(const mg_cyclegan *m, size_t *n)
{
    const mg_net *nets[4] = {&m->g_ab.net, &m->g_ba.net, &m->d_a.net, &m->d_b.net};
    size_t total = 0;
    for (int k = 0; k < 4; k++)
        total += mg_net_param_count(nets[k]);
    float *v = malloc(total * sizeof *v), *p = v;
    MUST(v ? MG_OK : MG_ERR_OOM);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < nets[k]->n_params; i++) {
            MUST(mg_tensor_read(nets[k]->params[i], p, nets[k]->params[i]->numel));
            p += nets[k]->params[i]->numel;
        }
    *n = total;
    return v;
}

/* mg_cyclegan_step() is mg_cyclegan_backward() then mg_cyclegan_update(), bit for bit; and what happens to the
 * gradients in between is what the update uses: with the generators' gradients cleared, Adam's first step
 * leaves the generators where they were (m = v = 0) while the discriminators move. */
static void test_seam(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_UNET);
    mg_cyclegan a, b, c;
    MUST(mg_cyclegan_new(be, &cfg, 5, &a));
    MUST(mg_cyclegan_new(be, &cfg, 5, &b));
    MUST(mg_cyclegan_new(be, &cfg, 5, &c));
    size_t n;
    float *w0 = read_params(&a, &n);
    float xa[S * S], xb[S * S];
    mg_losses la, lb, lc;
    for (int i = 0; i < 3; i++) {
        fill(xa, S * S, 30 + (uint64_t)i);
        fill(xb, S * S, 40 + (uint64_t)i);
        mg_rng ra, rb;
        mg_rng_seed(&ra, 2, (uint64_t)i);
        mg_rng_seed(&rb, 2, (uint64_t)i);
        MUST(mg_cyclegan_step(&a, xa, xb, S, S, &ra, (uint64_t)i, &la));
        MUST(mg_cyclegan_backward(&b, xa, xb, S, S, &rb, (uint64_t)i, &lb));
        MUST(mg_cyclegan_update(&b));
        CHECK(!memcmp(&la, &lb, sizeof la), "step %d: step and backward+update give other losses", i + 1);
    }
    float *wa = read_params(&a, &n), *wb = read_params(&b, &n);
    CHECK(!memcmp(wa, wb, n * sizeof *wa), "step and backward+update give other weights");

    mg_rng rc;
    mg_rng_seed(&rc, 2, 0);
    fill(xa, S * S, 30);
    fill(xb, S * S, 40);
    MUST(mg_cyclegan_backward(&c, xa, xb, S, S, &rc, 0, &lc));
    MUST(mg_adam_zero_grad(c.opt_g));
    MUST(mg_cyclegan_update(&c));
    float *wc = read_params(&c, &n);
    size_t n_g = mg_net_param_count(&c.g_ab.net) + mg_net_param_count(&c.g_ba.net), g_moved = 0, d_moved = 0;
    for (size_t i = 0; i < n; i++)
        *(i < n_g ? &g_moved : &d_moved) += wc[i] != w0[i];
    CHECK(g_moved == 0 && d_moved > (n - n_g) / 2,
          "cleared generator gradients: %zu generator and %zu of %zu discriminator weights moved", g_moved, d_moved,
          n - n_g);
    free(w0);
    free(wa);
    free(wb);
    free(wc);
    mg_cyclegan_free(&a);
    mg_cyclegan_free(&b);
    mg_cyclegan_free(&c);
    printf("%-4s step = backward + update bit for bit; the update uses the gradients as left between them\n",
           failures == before ? "ok" : "FAIL");
}

/* Every parameter's gradient, in read_params' order. */
static float *read_grads(const mg_cyclegan *m, size_t n)
{
    const mg_net *nets[4] = {&m->g_ab.net, &m->g_ba.net, &m->d_a.net, &m->d_b.net};
    float *v = calloc(n, sizeof *v), *p = v;
    MUST(v ? MG_OK : MG_ERR_OOM);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < nets[k]->n_params; i++) {
            if (nets[k]->params[i]->grad)
                MUST(mg_tensor_read(nets[k]->params[i]->grad, p, nets[k]->params[i]->numel));
            p += nets[k]->params[i]->numel;
        }
    return v;
}

/* A batch of two gathers the mean of the samples' gradients. Its losses are weighted by 1/2, a power of two, and
 * every backward op is linear in the gradient it receives, so each sample's gradient is exactly half the reference's
 * (the same contributions summed in the same order), and the batch adds the second whole to the first (held aside
 * while the second is computed from zero): the batch's gradient is the float sum (g0 + g1) / 2 bit for bit, wherever
 * halving stays exact (gradients above twice the smallest normal float). Each sample its own dropout masks: the
 * second's seed is the first's plus 0x9E3779B97F4A7C15. Losses are the samples' means; a batch of one is the plain
 * step, bit for bit. */
static void test_batch(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_UNET);
    cfg.pool_size = 0; /* pools would make the reference's second sample see the first one's fakes */
    mg_cyclegan a, b;
    MUST(mg_cyclegan_new(be, &cfg, 9, &a));
    MUST(mg_cyclegan_new(be, &cfg, 9, &b));
    float xa[2 * S * S], xb[2 * S * S];
    fill(xa, 2 * S * S, 50);
    fill(xb, 2 * S * S, 60);
    const uint64_t seed = 77, step = 0x9E3779B97F4A7C15ull;
    mg_rng r;
    mg_rng_seed(&r, 1, 1);
    mg_losses lbatch, l0, l1;
    MUST(mg_cyclegan_backward_batch(&a, xa, xb, 2, S, S, &r, seed, &lbatch));
    size_t n;
    free(read_params(&a, &n));
    float *g = read_grads(&a, n);
    MUST(mg_cyclegan_backward(&b, xa, xb, S, S, &r, seed, &l0));
    float *g0 = read_grads(&b, n);
    MUST(mg_cyclegan_backward(&b, xa + S * S, xb + S * S, S, S, &r, seed + step, &l1));
    float *g1 = read_grads(&b, n);
    size_t bad = 0, nonzero = 0, tiny = 0;
    for (size_t i = 0; i < n; i++) {
        const float want = (g0[i] + g1[i]) * 0.5f;
        nonzero += want != 0.0f;
        if (fabsf(g0[i]) < 2.0f * FLT_MIN || fabsf(g1[i]) < 2.0f * FLT_MIN) { /* halving may round: within one */
            tiny++;
            bad += fabsf(g[i] - want) > 2.0f * FLT_MIN;
        } else
            bad += g[i] != want;
    }
    CHECK(bad == 0 && nonzero > n / 2,
          "batch of 2: %zu of %zu gradients differ from the samples' float mean (%zu near the smallest normal)", bad, n,
          tiny);
    float v[MG_LOSS_COUNT], v0[MG_LOSS_COUNT], v1[MG_LOSS_COUNT];
    mg_losses_to_array(&lbatch, v);
    mg_losses_to_array(&l0, v0);
    mg_losses_to_array(&l1, v1);
    for (int k = 0; k < MG_LOSS_COUNT; k++)
        CHECK(v[k] == (v0[k] + v1[k]) / 2.0f, "loss %s: %g, the samples' mean %g", mg_loss_names[k], (double)v[k],
              (double)((v0[k] + v1[k]) / 2.0f));
    free(g);
    free(g0);
    free(g1);
    /* a batch of one: the plain step */
    mg_rng ra, rb;
    mg_rng_seed(&ra, 3, 3);
    mg_rng_seed(&rb, 3, 3);
    MUST(mg_cyclegan_step_batch(&a, xa, xb, 1, S, S, &ra, seed, &l0));
    MUST(mg_cyclegan_step(&b, xa, xb, S, S, &rb, seed, &l1));
    CHECK(!memcmp(&l0, &l1, sizeof l0), "a batch of one gives other losses than the step");
    mg_cyclegan_free(&a);
    mg_cyclegan_free(&b);
    printf("%-4s a batch of 2 takes the float mean of its samples' gradients, bit for bit, and losses; a batch "
           "of 1 is the step\n",
           failures == before ? "ok" : "FAIL");
}

/* mg_cyclegan_check_size counts what mg_cyclegan_new allocates, without allocating; a crafted configuration of
 * billions of parameters is refused by both before any memory is taken. */
static void test_size(mg_backend *be)
{
    int before = failures;
    for (int k = 0; k < 4; k++) {
        mg_cyclegan_config cfg = small_config(k < 2 ? MG_GEN_UNET : MG_GEN_RESNET);
        cfg.gen.ngf = k % 2 ? 8 : 3;
        cfg.gen.depth = k == 1 ? 7 : cfg.gen.depth;
        cfg.gen.blocks = k == 3 ? 9 : cfg.gen.blocks;
        cfg.ndf = k % 2 ? 5 : 4;
        size_t counted = 0, built = 0;
        mg_cyclegan m;
        MUST(mg_cyclegan_check_size(&cfg, be, &counted));
        MUST(mg_cyclegan_new(be, &cfg, 1, &m));
        const mg_net *nets[4] = {&m.g_ab.net, &m.g_ba.net, &m.d_a.net, &m.d_b.net};
        for (int n = 0; n < 4; n++)
            for (int i = 0; i < nets[n]->n_params; i++)
                built += nets[n]->params[i]->numel;
        CHECK(counted == built, "config %d: counted %zu parameter values, the model has %zu", k, counted, built);
        mg_cyclegan_free(&m);
    }
    mg_cyclegan_config giant = small_config(MG_GEN_UNET);
    giant.gen.ngf = 1024;
    giant.gen.depth = MG_UNET_MAX_DEPTH;
    size_t n = 0;
    mg_status s = mg_cyclegan_check_size(&giant, be, &n);
    CHECK(s == MG_ERR_OOM && n > MG_CYCLEGAN_MAX_PARAMS && strstr(mg_last_error(), "parameter values"),
          "ngf 1024, depth 10: %s, %zu values (%s)", mg_status_name(s), n, mg_last_error());
    mg_cyclegan m;
    s = mg_cyclegan_new(be, &giant, 1, &m);
    CHECK(s == MG_ERR_OOM, "building ngf 1024, depth 10: %s", mg_status_name(s));
    CHECK(mg_backend_memory_total(be) > 0, "the CPU backend does not know the machine's memory");
    report(before, "model size counted without allocating; a giant configuration refused");
}

/* The largest difference between v[i] and v[0]. */
static double spread_of(const float *v, int n)
{
    double spread = 0;
    for (int i = 1; i < n; i++)
        spread = fmax(spread, fabs((double)v[i] - v[0]));
    return spread;
}

/* Zero padding marks the border; reflection does not. On a two-pixel checkerboard reflection extends the slice as
 * its own period would, so with resize upsampling every stride-2 convolution sees the same neighbourhood everywhere
 * and a generator's translation, or a discriminator's patch logits, come out constant (up to rounding: summation
 * orders may differ between a GEMM's edge and middle). With zeros the edges differ from the middle even untrained:
 * what a trained network turns into stripes along the edges. Both generators that pad and the discriminator, both
 * ways. */
static void test_border(mg_backend *be)
{
    int before = failures;
    static float x[S * S], y[S * S];
    for (int i = 0; i < S * S; i++)
        x[i] = (i / S + i % S) % 2 ? -0.2f : -0.8f;
    for (int k = 0; k < 2; k++)
        for (int pad = MG_PAD_ZERO; pad <= MG_PAD_REFLECT; pad++) {
            mg_cyclegan_config cfg = small_config(k ? MG_GEN_RESNET : MG_GEN_UNET);
            cfg.gen.upsample = MG_UPSAMPLE_RESIZE;
            cfg.gen.dropout = false;
            cfg.gen.pad = cfg.d_pad = (mg_pad)pad;
            const char *what = pad ? "reflect" : "zero";
            mg_cyclegan m;
            MUST(mg_cyclegan_new(be, &cfg, 5, &m));
            for (int d = 0; d < 2; d++) {
                MUST(mg_cyclegan_translate(&m, d, x, S, S, y));
                double spread = spread_of(y, S * S);
                CHECK(pad == MG_PAD_REFLECT ? spread <= 1e-4 : spread > 1e-2,
                      "%s, pad %s, direction %d: the translation of a checkerboard spans %g",
                      mg_generator_names[k ? MG_GEN_RESNET : MG_GEN_UNET], what, d, spread);
            }
            mg_graph *g = NULL;
            MUST(mg_graph_new(be, &g));
            mg_tensor *logits = mg_discriminator_forward(g, &m.d_a, mg_graph_tensor(g, 4, (int[]){1, 1, S, S}, x));
            float v[S * S];
            int n = logits ? mg_tensor_dim(logits, -1) * mg_tensor_dim(logits, -2) : 0;
            CHECK(n >= 4 && mg_tensor_read(logits, v, (size_t)n) == MG_OK, "discriminator, pad %s: %d logits: %s", what,
                  n, mg_graph_error(g));
            if (n >= 4 && k == 0) /* the discriminator does not depend on the generator */
                CHECK(pad == MG_PAD_REFLECT ? spread_of(v, n) <= 1e-4 : spread_of(v, n) > 1e-4,
                      "discriminator, pad %s: the patch logits of a checkerboard span %g", what, spread_of(v, n));
            mg_graph_free(g);
            mg_cyclegan_free(&m);
        }
    report(before, "reflection padding leaves no mark of the border on a checkerboard; zeros do");
}

/* The generator's output for x (S x S) into y; false when the graph failed. */
static bool gen_output(mg_backend *be, const mg_generator *gen, const float *x, float *y)
{
    mg_graph *g = NULL;
    MUST(mg_graph_new(be, &g));
    mg_tensor *t = mg_generator_forward(g, gen, mg_graph_tensor(g, 4, (int[]){1, 1, S, S}, x));
    bool ok = t && mg_tensor_read(t, y, S * S) == MG_OK;
    CHECK(ok, "%s forward: %s", mg_generator_names[gen->cfg.kind], mg_graph_error(g));
    mg_graph_free(g);
    return ok;
}

/* to's values those of from (same size). */
static void copy_tensor(const mg_tensor *from, mg_tensor *to)
{
    float *v = malloc(from->numel * sizeof *v);
    MUST(v ? MG_OK : MG_ERR_OOM);
    MUST(mg_tensor_read(from, v, from->numel));
    MUST(mg_tensor_write(to, v, from->numel));
    free(v);
}

static double largest_difference(const float *u, const float *v, int n)
{
    double most = 0;
    for (int i = 0; i < n; i++)
        most = fmax(most, fabs((double)u[i] - v[i]));
    return most;
}

static mg_tensor *norm_relu_by_hand(mg_graph *g, mg_tensor *x)
{
    return mg_relu(g, mg_instance_norm(g, x, NULL, NULL, 1e-5f));
}

/* resnet_skip is the ResNet with the stem's features beside the last up's in the head's input. With the head's
 * weights over the stem zero it is the plain ResNet with the same weights (which the parity tests check against
 * PyTorch); with those over the last up zero it is tanh(head(stem)), the stem built here from the public ops. The head
 * sums two or one times ngf * 49 products in another order, hence a tolerance of a few float roundings of outputs
 * within [-1, 1]. */
static void test_resnet_skip(mg_backend *be)
{
    int before = failures;
    mg_gen_config cfg = small_config(MG_GEN_RESNET).gen;
    cfg.upsample = MG_UPSAMPLE_RESIZE;
    cfg.dropout = false;
    mg_generator plain, skip;
    MUST(mg_generator_new(be, "plain", &cfg, &plain));
    cfg.kind = MG_GEN_RESNET_SKIP;
    MUST(mg_generator_new(be, "skip", &cfg, &skip));
    mg_rng r;
    mg_rng_seed(&r, 21, 0);
    MUST(mg_generator_init(&plain, &r));
    MUST(mg_generator_init(&skip, &r));
    const int f = cfg.ngf, head = 5 + 2 * cfg.blocks, taps = 49;
    CHECK(skip.net.numel == plain.net.numel + (size_t)f * taps, "resnet_skip has %zu weights, the ResNet %zu",
          skip.net.numel, plain.net.numel);
    static float wh[2 * 4 * 49], x[S * S], y_plain[S * S], y_skip[S * S], want[S * S];
    for (int l = 0; l <= head; l++) { /* every layer shared but the head's weights */
        if (l < head)
            copy_tensor(plain.w[l], skip.w[l]);
        copy_tensor(plain.b[l], skip.b[l]);
    }
    MUST(mg_tensor_read(plain.w[head], wh, (size_t)f * taps));
    memset(wh + f * taps, 0, sizeof(float) * (size_t)f * taps);
    MUST(mg_tensor_write(skip.w[head], wh, 2 * (size_t)f * taps));
    fill(x, S * S, 17);
    if (gen_output(be, &plain, x, y_plain) && gen_output(be, &skip, x, y_skip)) {
        const double d = largest_difference(y_plain, y_skip, S * S);
        CHECK(d <= 1e-5, "stem weights zero: %g from the plain ResNet", d);
    }
    /* now only the stem: the head's weights over the last up zero, those over the stem drawn */
    for (int i = 0; i < 2 * f * taps; i++)
        wh[i] = i < f * taps ? 0.0f : 0.05f * mg_rng_normal(&r);
    MUST(mg_tensor_write(skip.w[head], wh, 2 * (size_t)f * taps));
    mg_graph *g = NULL;
    MUST(mg_graph_new(be, &g));
    mg_tensor *w_stem = mg_graph_tensor(g, 4, (int[]){1, f, 7, 7}, wh + f * taps);
    mg_tensor *t = mg_graph_tensor(g, 4, (int[]){1, 1, S, S}, x);
    t = norm_relu_by_hand(g, mg_conv2d(g, mg_reflect_pad2d(g, t, 3, 3, 3, 3), skip.w[0], skip.b[0], 1, 0));
    t = mg_tanh(g, mg_conv2d(g, mg_reflect_pad2d(g, t, 3, 3, 3, 3), w_stem, skip.b[head], 1, 0));
    bool ok = t && mg_tensor_read(t, want, S * S) == MG_OK;
    CHECK(ok, "the stem by hand: %s", mg_graph_error(g));
    mg_graph_free(g);
    if (ok && gen_output(be, &skip, x, y_skip)) {
        const double d = largest_difference(want, y_skip, S * S);
        CHECK(d <= 1e-5, "up weights zero: %g from tanh(head(stem))", d);
        CHECK(largest_difference(y_plain, y_skip, S * S) > 1e-2, "the stem's half of the head changes nothing");
    }
    mg_net_free(&plain.net);
    mg_net_free(&skip.net);
    report(before, "resnet_skip: the plain ResNet plus the stem's features in its head");
}

/* Every channel blurred by [1 2 1] / 4 down, then across, the edges reflected: the separable form of the
 * generator's 3x3 blur, built apart from it. */
static mg_tensor *blur_by_hand(mg_graph *g, mg_tensor *x)
{
    const int ch = x->shape[1];
    float *kv = calloc((size_t)ch * ch * 3, sizeof *kv);
    for (int c = 0; c < ch; c++)
        for (int k = 0; k < 3; k++)
            kv[((size_t)c * ch + c) * 3 + k] = k == 1 ? 0.5f : 0.25f;
    mg_tensor *down = mg_graph_tensor(g, 4, (int[]){ch, ch, 3, 1}, kv);
    mg_tensor *across = mg_graph_tensor(g, 4, (int[]){ch, ch, 1, 3}, kv);
    free(kv);
    return mg_conv2d(g, mg_conv2d(g, mg_reflect_pad2d(g, x, 1, 1, 1, 1), down, NULL, 1, 0), across, NULL, 1, 0);
}

/* --downsample blurred: the ResNet built by hand from the ops, each channel blurred before its two strided
 * convolutions, translates as the generator does, and differs from the strided one with the same weights; the U-Net
 * refuses it. */
static void test_blurred_downsample(mg_backend *be)
{
    int before = failures;
    mg_gen_config cfg = small_config(MG_GEN_RESNET).gen;
    cfg.upsample = MG_UPSAMPLE_RESIZE;
    cfg.dropout = false;
    mg_generator strided, blurred;
    MUST(mg_generator_new(be, "strided", &cfg, &strided));
    cfg.downsample = MG_DOWNSAMPLE_BLURRED;
    MUST(mg_generator_new(be, "blurred", &cfg, &blurred));
    mg_rng r;
    mg_rng_seed(&r, 22, 0);
    MUST(mg_generator_init(&blurred, &r));
    for (int l = 0; l < 6 + 2 * cfg.blocks; l++) {
        copy_tensor(blurred.w[l], strided.w[l]);
        copy_tensor(blurred.b[l], strided.b[l]);
    }
    static float x[S * S], y_strided[S * S], y_blurred[S * S], want[S * S];
    fill(x, S * S, 23);
    mg_graph *g = NULL;
    MUST(mg_graph_new(be, &g));
    mg_tensor *const *w = blurred.w, *const *b = blurred.b;
    mg_tensor *t = mg_graph_tensor(g, 4, (int[]){1, 1, S, S}, x);
    t = norm_relu_by_hand(g, mg_conv2d(g, mg_reflect_pad2d(g, t, 3, 3, 3, 3), w[0], b[0], 1, 0));
    for (int l = 1; l <= 2; l++) /* zero-padded, as the small configuration's strided convolutions are */
        t = norm_relu_by_hand(g, mg_conv2d(g, blur_by_hand(g, t), w[l], b[l], 2, 1));
    for (int k = 0, l = 3; k < cfg.blocks; k++, l += 2) {
        mg_tensor *u = norm_relu_by_hand(g, mg_conv2d(g, mg_reflect_pad2d(g, t, 1, 1, 1, 1), w[l], b[l], 1, 0));
        u = mg_conv2d(g, mg_reflect_pad2d(g, u, 1, 1, 1, 1), w[l + 1], b[l + 1], 1, 0);
        t = mg_add(g, t, mg_instance_norm(g, u, NULL, NULL, 1e-5f));
    }
    for (int l = 3 + 2 * cfg.blocks; l < 5 + 2 * cfg.blocks; l++)
        t = norm_relu_by_hand(g,
                              mg_conv2d(g, mg_reflect_pad2d(g, mg_upsample2d(g, t, 2), 1, 1, 1, 1), w[l], b[l], 1, 0));
    const int head = 5 + 2 * cfg.blocks;
    t = mg_tanh(g, mg_conv2d(g, mg_reflect_pad2d(g, t, 3, 3, 3, 3), w[head], b[head], 1, 0));
    bool ok = t && mg_tensor_read(t, want, S * S) == MG_OK;
    CHECK(ok, "the blurred ResNet by hand: %s", mg_graph_error(g));
    mg_graph_free(g);
    /* float32 sums of a few hundred terms through instance norms of unit scale: far below 1e-4 either way round */
    if (ok && gen_output(be, &blurred, x, y_blurred) && gen_output(be, &strided, x, y_strided)) {
        CHECK(largest_difference(want, y_blurred, S * S) <= 1e-4, "blurred: %g from the ResNet by hand",
              largest_difference(want, y_blurred, S * S));
        CHECK(largest_difference(y_strided, y_blurred, S * S) > 1e-2, "the blur changes nothing");
    }
    mg_net_free(&strided.net);
    mg_net_free(&blurred.net);
    mg_gen_config unet = small_config(MG_GEN_UNET).gen;
    unet.downsample = MG_DOWNSAMPLE_BLURRED;
    mg_generator u;
    CHECK(mg_generator_new(be, "unet", &unet, &u) == MG_ERR_ARG && strstr(mg_last_error(), "resnets"),
          "the U-Net with blurred downsampling: %s", mg_last_error());
    report(before, "blurred downsampling: each channel blurred before the ResNet's strided convolutions");
}

/* A loss that is not finite stops the step before Adam moves anything: a first layer of D_A whose sums
 * overflow (weights 1e38) makes the losses NaN, and every weight stays as it was. */
static void test_nonfinite_step(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_UNET);
    mg_cyclegan m;
    MUST(mg_cyclegan_new(be, &cfg, 3, &m));
    MUST(mg_tensor_fill(m.d_a.w[0], 1e38f));
    size_t n;
    float *w0 = read_params(&m, &n), xa[S * S], xb[S * S];
    fill(xa, S * S, 1);
    fill(xb, S * S, 2);
    mg_rng r;
    mg_rng_seed(&r, 1, 1);
    mg_losses l;
    mg_status s = mg_cyclegan_step(&m, xa, xb, S, S, &r, 1, &l);
    CHECK(s == MG_ERR_NONFINITE && strstr(mg_last_error(), "loss is"), "a NaN step: %s (%s)", mg_status_name(s),
          mg_last_error());
    float *w1 = read_params(&m, &n);
    CHECK(!memcmp(w0, w1, n * sizeof *w0), "a step with non-finite losses changed weights");
    free(w0);
    free(w1);
    mg_cyclegan_free(&m);
    report(before, "a non-finite loss stops the step before the update");
}

int main(int argc, char **argv)
{
    (void)argc;
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    char dir[] = "/tmp/mrigan-model-XXXXXX";
    if (!mkdtemp(dir))
        return perror("mkdtemp"), 1;
    mg_backend *be;
    MUST(mg_backend_cpu_new(0, &be));
    test_round_trip(be, MG_GEN_UNET, MG_UPSAMPLE_TRANSPOSE, dir);
    test_round_trip(be, MG_GEN_RESNET, MG_UPSAMPLE_TRANSPOSE, dir);
    test_round_trip(be, MG_GEN_UNET, MG_UPSAMPLE_RESIZE, dir);
    test_round_trip(be, MG_GEN_RESNET, MG_UPSAMPLE_RESIZE, dir);
    test_round_trip(be, MG_GEN_UNET, MG_UPSAMPLE_BILINEAR, dir);
    test_round_trip(be, MG_GEN_RESNET, MG_UPSAMPLE_BILINEAR, dir);
    test_round_trip(be, MG_GEN_LOCAL, MG_UPSAMPLE_TRANSPOSE, dir);
    test_round_trip(be, MG_GEN_RESNET_SKIP, MG_UPSAMPLE_RESIZE, dir);
    test_resnet_skip(be);
    test_blurred_downsample(be);
    test_weights_only_and_mismatch(be);
    test_seam(be);
    test_batch(be);
    test_size(be);
    test_nonfinite_step(be);
    test_border(be);
    mg_backend_free(be);
    rmdir(dir);
    return failures ? 1 : 0;
}
