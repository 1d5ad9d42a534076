/* The loss options, each beside its plain twin (the same seed, so the same weights, and the same inputs): what
 * each option must change and nothing else, and each changed loss recomputed here by hand from its documented
 * definition. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrigan/blas.h"
#include "mrigan/cyclegan.h"

#include "check.h"
#include "model-util.h"

/* One backward of a model of cfg beside its plain twin of plain_cfg (the same seed, so the same weights; the same
 * draws, PCG32 seeded draw_seed, and step seed): every loss but those of the part the option touches is bit for bit
 * the same, and those differ. `cycle`: the option touches the cycle losses; else it touches what the discriminators
 * see (both adversarial and both discriminator losses). The changed model into *out, its losses into *l. */
static void backward_beside_plain(mg_backend *be, const mg_cyclegan_config *plain_cfg, const mg_cyclegan_config *cfg,
                                  uint64_t model_seed, const float *xa, const float *xb, uint64_t draw_seed,
                                  uint64_t step_seed, const char *what, bool cycle, mg_cyclegan *out, mg_losses *l)
{
    mg_cyclegan plain;
    mg_losses lp;
    MUST(mg_cyclegan_new(be, plain_cfg, model_seed, &plain));
    MUST(mg_cyclegan_new(be, cfg, model_seed, out));
    mg_rng r;
    mg_rng_seed(&r, draw_seed, 0);
    MUST(mg_cyclegan_backward(&plain, xa, xb, S, S, &r, step_seed, &lp));
    mg_rng_seed(&r, draw_seed, 0);
    MUST(mg_cyclegan_backward(out, xa, xb, S, S, &r, step_seed, l));
    CHECK(lp.idt_ab == l->idt_ab && lp.idt_ba == l->idt_ba && lp.ngf_ab == l->ngf_ab && lp.ngf_ba == l->ngf_ba,
          "the %s changed the identity or structure losses", what);
    const bool adv_same = lp.adv_ab == l->adv_ab && lp.adv_ba == l->adv_ba && lp.d_a == l->d_a && lp.d_b == l->d_b;
    const bool adv_differ = lp.adv_ab != l->adv_ab && lp.adv_ba != l->adv_ba && lp.d_a != l->d_a && lp.d_b != l->d_b;
    const bool cyc_same = lp.cyc_aba == l->cyc_aba && lp.cyc_bab == l->cyc_bab;
    const bool cyc_differ = lp.cyc_aba != l->cyc_aba && lp.cyc_bab != l->cyc_bab;
    CHECK(cycle ? adv_same && cyc_differ : adv_differ && cyc_same,
          "the %s: adversarial %.9g/%.9g vs %.9g/%.9g, discriminators %.9g/%.9g vs %.9g/%.9g, cycle %.9g/%.9g vs "
          "%.9g/%.9g",
          what, l->adv_ab, l->adv_ba, lp.adv_ab, lp.adv_ba, l->d_a, l->d_b, lp.d_a, lp.d_b, l->cyc_aba, l->cyc_bab,
          lp.cyc_aba, lp.cyc_bab);
    mg_cyclegan_free(&plain);
}

/* Cycle noise enters the cycle alone: against the same model without it, one step's adversarial, identity and
 * structure losses are bit for bit the same and its cycle losses differ; each cycle loss is what a graph built here
 * gives for |G_BA(G_AB(a) + n) - a| with n drawn as cyclegan.h documents (the same ops on the same data: equal). */
static void test_cycle_noise(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.dropout = false;
    cfg.lambda_structure = 1.0f;
    cfg.structure_eps = 0.1f;
    mg_cyclegan_config plain_cfg = cfg;
    cfg.cycle_noise = 0.25f;
    float xa[S * S], xb[S * S];
    fill(xa, S * S, 50);
    fill(xb, S * S, 60);
    const uint64_t seed = 1234;
    mg_cyclegan noisy;
    mg_losses ln;
    backward_beside_plain(be, &plain_cfg, &cfg, 9, xa, xb, 3, seed, "noise", true, &noisy, &ln);

    float noise[2][S * S];
    mg_rng r;
    mg_rng_seed(&r, seed, MG_CYCLE_NOISE_STREAM);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < S * S; i++)
            noise[k][i] = cfg.cycle_noise * mg_rng_normal(&r);
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_graph_set_training(g, true);
    const int shape[4] = {1, 1, S, S};
    mg_tensor *ra = mg_graph_tensor(g, 4, shape, xa), *rb = mg_graph_tensor(g, 4, shape, xb);
    mg_tensor *fb = mg_add(g, mg_generator_forward(g, &noisy.g_ab, ra), mg_graph_tensor(g, 4, shape, noise[0]));
    mg_tensor *fa = mg_add(g, mg_generator_forward(g, &noisy.g_ba, rb), mg_graph_tensor(g, 4, shape, noise[1]));
    mg_tensor *cyc[2] = {mg_scale(g, mg_l1_loss(g, mg_generator_forward(g, &noisy.g_ba, fb), ra), cfg.lambda_cycle),
                         mg_scale(g, mg_l1_loss(g, mg_generator_forward(g, &noisy.g_ab, fa), rb), cfg.lambda_cycle)};
    float want[2];
    MUST(mg_tensor_read(cyc[0], &want[0], 1));
    MUST(mg_tensor_read(cyc[1], &want[1], 1));
    CHECK(want[0] == ln.cyc_aba && want[1] == ln.cyc_bab, "cycle losses %.9g %.9g, by hand %.9g %.9g", ln.cyc_aba,
          ln.cyc_bab, want[0], want[1]);
    mg_graph_free(g);
    mg_cyclegan_free(&noisy);
    report(before, "cycle noise: only the cycle losses change, each as documented");
}

/* x (S x S) blurred on the host as documented for --cycle-blur: a normalised Gaussian of 2 * ceil(3 sigma) + 1 taps,
 * the edges reflected; in double. */
static void host_blur(const float *x, double sigma, double *out)
{
    const int r = (int)ceil(3 * sigma);
    double k[64], sum = 0;
    for (int i = -r; i <= r; i++)
        sum += k[i + r] = exp(-0.5 * i * i / (sigma * sigma));
    for (int y = 0; y < S; y++)
        for (int x0 = 0; x0 < S; x0++) {
            double v = 0;
            for (int dy = -r; dy <= r; dy++)
                for (int dx = -r; dx <= r; dx++) {
                    int yy = y + dy, xx = x0 + dx;
                    yy = yy < 0 ? -yy : yy >= S ? 2 * S - 2 - yy : yy; /* reflection, the edge not repeated */
                    xx = xx < 0 ? -xx : xx >= S ? 2 * S - 2 - xx : xx;
                    v += k[dy + r] * k[dx + r] / (sum * sum) * x[yy * S + xx];
                }
            out[y * S + x0] = v;
        }
}

/* --cycle-blur: only the cycle losses change, and each is lambda_cycle times the mean |blur(rec) - blur(input)|
 * with the blur computed here on the host. */
static void test_cycle_blur(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.dropout = false;
    mg_cyclegan_config plain_cfg = cfg;
    cfg.cycle_blur = 1.5f;
    float xa[S * S], xb[S * S];
    fill(xa, S * S, 70);
    fill(xb, S * S, 80);
    mg_cyclegan blurred;
    mg_losses lb;
    backward_beside_plain(be, &plain_cfg, &cfg, 11, xa, xb, 5, 99, "blur", true, &blurred, &lb);
    /* the reconstructions, from the same weights (backward changed no weight) */
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_graph_set_training(g, true);
    const int shape[4] = {1, 1, S, S};
    mg_tensor *ra = mg_graph_tensor(g, 4, shape, xa), *rb = mg_graph_tensor(g, 4, shape, xb);
    mg_tensor *rec[2] = {mg_generator_forward(g, &blurred.g_ba, mg_generator_forward(g, &blurred.g_ab, ra)),
                         mg_generator_forward(g, &blurred.g_ab, mg_generator_forward(g, &blurred.g_ba, rb))};
    const float *real[2] = {xa, xb};
    const float got[2] = {lb.cyc_aba, lb.cyc_bab};
    for (int d = 0; d < 2; d++) {
        float y[S * S];
        double by[S * S], bx[S * S], l1 = 0;
        MUST(mg_tensor_read(rec[d], y, S * S));
        host_blur(y, cfg.cycle_blur, by);
        host_blur(real[d], cfg.cycle_blur, bx);
        for (int i = 0; i < S * S; i++)
            l1 += fabs(by[i] - bx[i]);
        double want = cfg.lambda_cycle * l1 / (S * S);
        /* float32 convolution sums of 121 terms of values within [-1, 1]: about 1e-6 each, far below 1e-4 of the
         * loss */
        CHECK(fabs(got[d] - want) <= 1e-4 * want, "cycle loss %d: %.9g, by hand %.9g", d, got[d], want);
    }
    mg_graph_free(g);
    mg_cyclegan_free(&blurred);
    report(before, "cycle blur: only the cycle losses change, each the L1 of host-blurred images");
}

/* One forward of m's generators, G_AB(xa) into fb and G_BA(xb) into fa. */
static void host_fakes(mg_backend *be, const mg_cyclegan *m, const float *xa, const float *xb, float *fb, float *fa)
{
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_graph_set_training(g, true);
    const int shape[4] = {1, 1, S, S};
    mg_tensor *fake[2] = {mg_generator_forward(g, &m->g_ab, mg_graph_tensor(g, 4, shape, xa)),
                          mg_generator_forward(g, &m->g_ba, mg_graph_tensor(g, 4, shape, xb))};
    MUST(mg_tensor_read(fake[0], fb, S * S));
    MUST(mg_tensor_read(fake[1], fa, S * S));
    mg_graph_free(g);
}

/* --structure-blur: only the structure losses change, and each is lambda_structure times the mean NGF map of the
 * input and its translation, both blurred here on the host (the op itself has its own rows in test-ops). */
static void test_structure_blur(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.dropout = false;
    cfg.lambda_structure = 2.0f;
    cfg.structure_eps = 0.1f;
    mg_cyclegan_config plain_cfg = cfg;
    cfg.structure_blur = 1.0f;
    float xa[S * S], xb[S * S];
    fill(xa, S * S, 30);
    fill(xb, S * S, 40);
    mg_cyclegan plain, blurred;
    mg_losses lp, lb;
    MUST(mg_cyclegan_new(be, &plain_cfg, 13, &plain));
    MUST(mg_cyclegan_new(be, &cfg, 13, &blurred));
    mg_rng r;
    mg_rng_seed(&r, 4, 0);
    MUST(mg_cyclegan_backward(&plain, xa, xb, S, S, &r, 77, &lp));
    mg_rng_seed(&r, 4, 0);
    MUST(mg_cyclegan_backward(&blurred, xa, xb, S, S, &r, 77, &lb));
    CHECK(lp.adv_ab == lb.adv_ab && lp.adv_ba == lb.adv_ba && lp.d_a == lb.d_a && lp.d_b == lb.d_b &&
              lp.cyc_aba == lb.cyc_aba && lp.cyc_bab == lb.cyc_bab && lp.ngf_ab != lb.ngf_ab && lp.ngf_ba != lb.ngf_ba,
          "the structure blur changed another loss, or not the structure losses");
    float fb[S * S], fa[S * S], bi[S * S], bo[S * S];
    host_fakes(be, &blurred, xa, xb, fb, fa);
    const float *in[2] = {xa, xb}, *out[2] = {fb, fa}, got[2] = {lb.ngf_ab, lb.ngf_ba};
    for (int d = 0; d < 2; d++) {
        double t[S * S];
        host_blur(in[d], cfg.structure_blur, t);
        for (int i = 0; i < S * S; i++)
            bi[i] = (float)t[i];
        host_blur(out[d], cfg.structure_blur, t);
        for (int i = 0; i < S * S; i++)
            bo[i] = (float)t[i];
        mg_graph *g;
        MUST(mg_graph_new(be, &g));
        const int shape[4] = {1, 1, S, S};
        mg_tensor *m = mg_mean(
            g, mg_ngf_map(g, mg_graph_tensor(g, 4, shape, bi), mg_graph_tensor(g, 4, shape, bo), cfg.structure_eps));
        float v;
        MUST(mg_tensor_read(m, &v, 1));
        const double want = cfg.lambda_structure * (double)v;
        /* the blurs differ by float rounding of 49-term sums (about 1e-7), which the map's gradients over eps = 0.1
         * enlarge at most a hundredfold: far below 1e-4 of the loss */
        CHECK(fabs(got[d] - want) <= 1e-4 * want, "structure loss %d: %.9g, with host blurs %.9g", d, got[d], want);
        mg_graph_free(g);
    }
    mg_cyclegan_free(&plain);
    mg_cyclegan_free(&blurred);
    report(before, "structure blur: only the structure losses change, each the NGF of host-blurred images");
}

/* The step's adversarial and discriminator losses (adv_AB, adv_BA, D_A, D_B) each within rel of want's. */
static void check_d_losses(const mg_losses *l, const double want[4], double rel)
{
    const float got[4] = {l->adv_ab, l->adv_ba, l->d_a, l->d_b};
    const char *name[4] = {"adv_AB", "adv_BA", "D_A", "D_B"};
    for (int k = 0; k < 4; k++)
        CHECK(fabs(got[k] - want[k]) <= rel * want[k], "%s %.9g, by hand %.9g", name[k], got[k], want[k]);
}

/* The LSGAN loss of discriminator d on fx: mean((D(fx) - target)^2). */
static double host_d_loss_side(mg_backend *be, const mg_discriminator *d, const float *fx, int side, float target)
{
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_graph_set_training(g, true);
    const int shape[4] = {1, 1, side, side};
    mg_tensor *y = mg_discriminator_forward(g, d, mg_graph_tensor(g, 4, shape, fx));
    MUST(mg_graph_status(g));
    float *v = malloc(y->numel * sizeof *v);
    MUST(v ? mg_tensor_read(y, v, y->numel) : MG_ERR_OOM);
    double sum = 0;
    for (size_t i = 0; i < y->numel; i++)
        sum += ((double)v[i] - target) * ((double)v[i] - target);
    const double loss = sum / (double)y->numel;
    free(v);
    mg_graph_free(g);
    return loss;
}

static double host_d_loss_of(mg_backend *be, const mg_discriminator *d, const float *fx, float target)
{
    return host_d_loss_side(be, d, fx, S, target);
}

/* The LSGAN loss of discriminator d on x blurred on the host. */
static double host_d_loss(mg_backend *be, const mg_discriminator *d, const float *x, double sigma, float target)
{
    double bx[S * S];
    float fx[S * S];
    host_blur(x, sigma, bx);
    for (int i = 0; i < S * S; i++)
        fx[i] = (float)bx[i];
    return host_d_loss_of(be, d, fx, target);
}

/* --d-blur: the cycle, identity and structure losses stay, and every adversarial and discriminator loss is that of
 * images blurred here on the host (the pools return this first step's translations themselves). */
static void test_d_blur(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.dropout = false;
    mg_cyclegan_config plain_cfg = cfg;
    cfg.d_blur = 1.2f;
    float xa[S * S], xb[S * S];
    fill(xa, S * S, 90);
    fill(xb, S * S, 100);
    mg_cyclegan m;
    mg_losses l;
    backward_beside_plain(be, &plain_cfg, &cfg, 13, xa, xb, 7, 55, "discriminators' blur", false, &m, &l);
    float fb[S * S], fa[S * S];
    host_fakes(be, &m, xa, xb, fb, fa);
    const double sigma = cfg.d_blur;
    const double want[4] = {host_d_loss(be, &m.d_b, fb, sigma, 1.0f), host_d_loss(be, &m.d_a, fa, sigma, 1.0f),
                            0.5 * (host_d_loss(be, &m.d_a, xa, sigma, 1.0f) + host_d_loss(be, &m.d_a, fa, sigma, 0.0f)),
                            0.5 *
                                (host_d_loss(be, &m.d_b, xb, sigma, 1.0f) + host_d_loss(be, &m.d_b, fb, sigma, 0.0f))};
    /* the blur in float32 (sums of 121 products of values within [-1, 1], about 1e-6 each) then four layers of a
     * small discriminator: 1e-4 of the loss is far above what the order of the sums moves */
    check_d_losses(&l, want, 1e-4);
    mg_cyclegan_free(&m);
    report(before,
           "discriminators' blur: only what the discriminators see changes, each loss from host-blurred images");
}

/* x shifted and cut on the host as mrigan.h documents mg_shift2d, with the fill black (-1), then placed at (left, top)
 * of a canvas n larger each way, the rest reflected (about the edge pixel, as mg_reflect_pad2d): y is (S + n)^2. */
static void host_augment(const float *x, const mg_d_augment *a, int n, float *y)
{
    float shifted[S * S];
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            const int si = i - a->dy, sj = j - a->dx;
            const bool cut = j >= a->box[0] && j < a->box[2] && i >= a->box[1] && i < a->box[3];
            shifted[i * S + j] = si < 0 || si >= S || sj < 0 || sj >= S || cut ? -1.0f : x[si * S + sj];
        }
    for (int i = 0; i < S + n; i++)
        for (int j = 0; j < S + n; j++) {
            int si = i - a->top, sj = j - a->left;
            si = si < 0 ? -si : si >= S ? 2 * (S - 1) - si : si;
            sj = sj < 0 ? -sj : sj >= S ? 2 * (S - 1) - sj : sj;
            y[i * (S + n) + j] = shifted[si * S + sj];
        }
}

enum { MAX_JITTER = 5 };

/* The discriminators' augmentation with cfg's translation (4 pixels), cutout (16) and jitter: the draws in range,
 * every offset drawn; beside the plain twin only the adversarial and discriminator losses change, each that of
 * images shifted, cut and placed here on the host with the draws cyclegan.h documents, in its order. */
static void check_d_augment(mg_backend *be, const mg_cyclegan_config *plain_cfg, const mg_cyclegan_config *cfg,
                            const char *what)
{
    int before = failures;
    const int n = cfg->d_jitter;
    int seen[9] = {0}, seen_jitter[MAX_JITTER + 1] = {0};
    mg_d_augment a;
    mg_rng r;
    mg_rng_seed(&r, 5, 0);
    mg_cyclegan_draw_augment(plain_cfg, S, S, &r, &a);
    CHECK(a.dx == 0 && a.dy == 0 && a.box[0] >= a.box[2] && a.left == 0 && a.top == 0,
          "no augmentation drew (%d, %d), box %d..%d, place (%d, %d)", a.dx, a.dy, a.box[0], a.box[2], a.left, a.top);
    for (int k = 0; k < 2000; k++) {
        mg_cyclegan_draw_augment(cfg, S, S, &r, &a);
        bool ok = a.dx >= -4 && a.dx <= 4 && a.dy >= -4 && a.dy <= 4 && a.box[2] - a.box[0] == 16 &&
                  a.box[3] - a.box[1] == 16 && a.box[0] >= -8 && a.box[0] + 8 < S && a.box[1] >= -8 &&
                  a.box[1] + 8 < S && a.left >= 0 && a.left <= n && a.top >= 0 && a.top <= n;
        CHECK(ok, "draw %d: offset (%d, %d), box (%d, %d)-(%d, %d), place (%d, %d)", k, a.dx, a.dy, a.box[0], a.box[1],
              a.box[2], a.box[3], a.left, a.top);
        if (!ok)
            break;
        seen[a.dx + 4]++;
        seen_jitter[a.top]++;
    }
    for (int k = 0; k < 9; k++)
        CHECK(seen[k] > 0, "offset %d never drawn in 2000", k - 4);
    for (int k = 0; k <= n; k++)
        CHECK(seen_jitter[k] > 0, "place %d never drawn in 2000", k);
    float xa[S * S], xb[S * S];
    fill(xa, S * S, 130);
    fill(xb, S * S, 140);
    mg_cyclegan m;
    mg_losses l;
    const uint64_t step_seed = 61;
    backward_beside_plain(be, plain_cfg, cfg, 19, xa, xb, 9, step_seed, what, false, &m, &l);
    float fb[S * S], fa[S * S];
    host_fakes(be, &m, xa, xb, fb, fa);
    /* the discriminators' inputs in the documented order: the generator pass's, then the discriminator pass's */
    const float *seen_by[6] = {fb, fa, xa, fa, xb, fb};
    static float aug[6][(S + MAX_JITTER) * (S + MAX_JITTER)];
    for (int k = 0; k < 6; k++) {
        if (k == 0 || k == 2)
            mg_rng_seed(&r, step_seed, MG_D_AUGMENT_STREAM + (k == 2));
        mg_cyclegan_draw_augment(cfg, S, S, &r, &a);
        host_augment(seen_by[k], &a, n, aug[k]);
    }
    const int side = S + n;
    const double want[4] = {
        host_d_loss_side(be, &m.d_b, aug[0], side, 1.0f), host_d_loss_side(be, &m.d_a, aug[1], side, 1.0f),
        0.5 * (host_d_loss_side(be, &m.d_a, aug[2], side, 1.0f) + host_d_loss_side(be, &m.d_a, aug[3], side, 0.0f)),
        0.5 * (host_d_loss_side(be, &m.d_b, aug[4], side, 1.0f) + host_d_loss_side(be, &m.d_b, aug[5], side, 0.0f))};
    /* the same images through the same discriminators: only the loss's rounding to float32 (6e-8) and the order of
     * its sum differ */
    check_d_losses(&l, want, 1e-6);
    mg_cyclegan_free(&m);
    report(before, what);
}

static void test_d_augment(mg_backend *be)
{
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.dropout = false;
    const mg_cyclegan_config plain_cfg = cfg;
    cfg.d_translate = 0.125f; /* 4 pixels of 32 */
    cfg.d_cutout = 0.5f;      /* a 16x16 box */
    check_d_augment(be, &plain_cfg, &cfg,
                    "discriminators' augmentation: offsets and boxes in range, only what the discriminators see "
                    "changes, each loss from host-shifted and cut images");
    cfg.d_jitter = MAX_JITTER;
    check_d_augment(be, &plain_cfg, &cfg,
                    "discriminators' augmentation with jitter: each loss from images shifted, cut and placed in a "
                    "reflected canvas on the host");
}

/* The contrast prior: beside its plain twin, a step within the fade changes prior_AB, prior_BA and G_total alone,
 * each prior loss w * mean |G(x) - map(x)| with the map applied here on the host and w the documented fade; from
 * prior_iterations on the step is its plain twin's, bit for bit; without its maps the step is refused. */
static void test_prior(mg_backend *be)
{
    int before = failures;
    mg_cyclegan_config cfg = small_config(MG_GEN_RESNET);
    cfg.gen.dropout = false;
    const mg_cyclegan_config plain_cfg = cfg;
    cfg.lambda_prior = 4.0f;
    cfg.prior_iterations = 10;
    CHECK(mg_cyclegan_prior_weight(&cfg, 0) == 4.0f && mg_cyclegan_prior_weight(&cfg, 5) == 2.0f &&
              fabsf(mg_cyclegan_prior_weight(&cfg, 9) - 0.4f) <= 1e-6f && mg_cyclegan_prior_weight(&cfg, 10) == 0.0f &&
              mg_cyclegan_prior_weight(&plain_cfg, 0) == 0.0f,
          "prior weights %g %g %g %g", mg_cyclegan_prior_weight(&cfg, 0), mg_cyclegan_prior_weight(&cfg, 5),
          mg_cyclegan_prior_weight(&cfg, 9), mg_cyclegan_prior_weight(&cfg, 10));
    mg_intensity_map map[2];
    for (int k = 0; k < MG_MAP_LEVELS; k++) {
        map[0].out[k] = 1.0f - (float)k / 127.5f;          /* an inversion, for G_AB */
        map[1].out[k] = 0.5f * ((float)k / 127.5f - 1.0f); /* a dimming, for G_BA */
    }
    float xa[S * S], xb[S * S];
    fill(xa, S * S, 110);
    fill(xb, S * S, 120);
    mg_cyclegan plain, m;
    mg_losses lp, l;
    mg_rng r;
    MUST(mg_cyclegan_new(be, &plain_cfg, 17, &plain));
    mg_rng_seed(&r, 3, 0);
    MUST(mg_cyclegan_backward(&plain, xa, xb, S, S, &r, 77, &lp));
    MUST(mg_cyclegan_new(be, &cfg, 17, &m));
    mg_rng_seed(&r, 3, 0);
    CHECK(mg_cyclegan_backward(&m, xa, xb, S, S, &r, 77, &l) == MG_ERR_ARG, "a step without the prior's maps ran");
    mg_cyclegan_free(&m);
    for (int it = 5; it <= 10; it += 5) {
        MUST(mg_cyclegan_new(be, &cfg, 17, &m));
        mg_cyclegan_set_prior(&m, &map[0], &map[1]);
        mg_cyclegan_set_iteration(&m, it);
        mg_rng_seed(&r, 3, 0);
        MUST(mg_cyclegan_backward(&m, xa, xb, S, S, &r, 77, &l));
        float vp[MG_LOSS_COUNT], v[MG_LOSS_COUNT];
        mg_losses_to_array(&lp, vp);
        mg_losses_to_array(&l, v);
        for (int k = 0; k < MG_LOSS_COUNT; k++)
            if (it == 10 || (k != MG_LOSS_PRIOR_AB && k != MG_LOSS_PRIOR_BA && k != MG_LOSS_G_TOTAL))
                CHECK(v[k] == vp[k], "iteration %d: %s %.9g, plain %.9g", it, mg_loss_names[k], v[k], vp[k]);
        if (it == 10) {
            mg_cyclegan_free(&m);
            continue;
        }
        CHECK(l.g_total != lp.g_total, "iteration %d: G_total did not change", it);
        const float *x[2] = {xa, xb}, got[2] = {l.prior_ab, l.prior_ba};
        const char *name[2] = {"prior_AB", "prior_BA"};
        const double w = mg_cyclegan_prior_weight(&cfg, it);
        for (int d = 0; d < 2; d++) {
            float y[S * S];
            MUST(mg_cyclegan_translate(&m, d, x[d], S, S, y));
            double l1 = 0;
            for (int i = 0; i < S * S; i++)
                l1 += fabs((double)y[i] - map[d].out[mg_map_level(x[d][i])]);
            const double want = w * l1 / (S * S);
            /* a float32 mean of 1024 terms within [0, 2]: its rounding is about 1e-7 of the sum */
            CHECK(fabs(got[d] - want) <= 1e-5 * want, "iteration %d, %s: %.9g, by hand %.9g", it, name[d], got[d],
                  want);
        }
        mg_cyclegan_free(&m);
    }
    mg_cyclegan_free(&plain);
    report(before, "contrast prior: only its losses change, each w * L1 to the host-mapped input, none after the fade");
}

int main(int argc, char **argv)
{
    (void)argc;
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    mg_backend *be;
    MUST(mg_backend_cpu_new(0, &be));
    test_cycle_noise(be);
    test_cycle_blur(be);
    test_d_blur(be);
    test_structure_blur(be);
    test_d_augment(be);
    test_prior(be);
    mg_backend_free(be);
    return failures ? 1 : 0;
}
