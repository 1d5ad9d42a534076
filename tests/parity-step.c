/* Parity case "cyclegan_step": two mg_cyclegan_step calls against two steps of the reference CycleGAN class
 * (../shared/reference/cyclegan_ref.py; tools/gen-fixtures.py, gen_cyclegan_step) from the same weights
 * and crops: U-Net generators, PatchGAN discriminators, LSGAN, lambda_cycle 10, identity 0.5, Adam
 * (2e-4, 0.5, 0.999), pools of 50 that are not full yet (so they return the new fakes and draw nothing).
 *
 * Checked, per step: the nine losses (relative PT_TOL_OP), and a fingerprint of the gradient every
 * parameter holds after the step (the generator pass's for G_AB and G_BA, the discriminator pass's for
 * D_A and D_B): its 2-norm, at PT_TOL_OP of |g|, and its dot product with the parameter's initial value
 * (a random vector), at PT_TOL_OP of |g| |w0| / sqrt(n), the size of that product for a g unrelated to w0:
 * an error of relative size e in g changes the norm by up to e and the product by ~e in these measures.
 * (The full gradients would double the fixture; mrigan's fingerprints are within 1e-5.) After step 2:
 * every weight, measured against its displacement (see PT_TOL_STEP in parity.h).
 *
 * Biases. The gradient of a bias is the sum of its layer's upstream gradient over the plane, which
 * cancels heavily here (the outermost decoder bias of G_BA: |g| 0.08 after step 2 against 6.6 for its
 * weight), so its rounding error belongs to the scale of the weight gradient, which sums the same terms:
 * a bias's fingerprint is measured against max(|g_bias|, |g_weight|) of its layer. PyTorch's own float32
 * is 8.5e-5 of |g_bias| from the reference on that bias, 1e-6 of |g_weight|. A bias directly followed by
 * an instance norm ("dead", flagged by the fixture) has a zero gradient in exact arithmetic, so the same
 * rule applies to it (see parity-nets.c). Adam turns the rounding noise of such a gradient into a step of
 * up to lr (eps 1e-8 is no threshold against noise of ~1e-10): the float64 reference leaves these biases
 * where they were, PyTorch's float32 moves them by up to 2 lr like any other parameter. Their value
 * cannot change any output, so after the steps they are only held to Adam's bound on their movement.
 */
#include "parity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mrigan/cyclegan.h>

#define STEP_N_NETS  4
#define STEP_N_STEPS 2

static const char *const step_net_names[STEP_N_NETS] = {"G_AB", "G_BA", "D_A", "D_B"};

/* Relative error of one loss, recorded in maxerr; the case fails above PT_TOL_OP. The reference (PyTorch's
 * CycleGAN) has no structure, intensity or prior loss: its vector holds the others in mrigan's order, and the
 * step's structure, intensity and prior losses, off in this configuration, must be exactly 0. */
static bool step_reference_lacks(int k)
{
    return k == MG_LOSS_NGF_AB || k == MG_LOSS_NGF_BA || k == MG_LOSS_DIST_AB || k == MG_LOSS_DIST_BA ||
           k == MG_LOSS_PRIOR_AB || k == MG_LOSS_PRIOR_BA;
}

enum { STEP_REFERENCE_LOSSES = MG_LOSS_COUNT - 6 }; /* those step_reference_lacks does not name */

static void step_check_losses(pt_case *c, int step, const mg_losses *got)
{
    char name[16];
    float v[MG_LOSS_COUNT];
    const mgfx_tensor *ref;

    snprintf(name, sizeof name, "loss%d", step);
    if (!(ref = case_vector(c, name, STEP_REFERENCE_LOSSES)))
        return;
    mg_losses_to_array(got, v);
    for (int k = 0; k < MG_LOSS_COUNT; k++)
        if (step_reference_lacks(k) && v[k] != 0.0f)
            case_fail(c, "step %d: loss %s is %g with its weight 0", step, mg_loss_names[k], (double)v[k]);
    for (int k = 0, r_at = 0; k < MG_LOSS_COUNT; k++) {
        if (step_reference_lacks(k))
            continue;
        double r = ref->data[r_at++], s = fabs(r) > 0.0 ? fabs(r) : 1.0;
        double e = fabs((double)v[k] - r) / s;

        if (!(e <= c->maxerr) || isnan(e))
            c->maxerr = isnan(e) ? INFINITY : e;
        if (!(e <= PT_TOL_OP))
            case_fail(c, "step %d loss %s: got %.9g, expected %.9g (relative error %.3g > %.1g)", step,
                      mg_loss_names[k], (double)v[k], r, e, PT_TOL_OP);
    }
}

/* The gradient fingerprints after step `step` (see the top of the file). */
static void step_check_grads(pt_case *c, int step, mg_tensor *const *params, const mgfx_tensor *const *w0,
                             const mgfx_tensor *dead, int n)
{
    char name[16];
    const mgfx_tensor *gdot, *gnorm;
    float *buf = NULL;
    size_t cap = 0;

    snprintf(name, sizeof name, "gdot%d", step);
    gdot = case_vector(c, name, n);
    snprintf(name, sizeof name, "gnorm%d", step);
    gnorm = case_vector(c, name, n);
    if (!gdot || !gnorm)
        return;
    for (int i = 0; i < n; i++) {
        const mg_tensor *g = params[i]->grad;
        double dot = 0.0, sq = 0.0, wsq = 0.0, gscale, e_norm, e_dot;
        bool is_dead = dead->data[i] != 0.0f, is_bias;

        if (!g) {
            case_fail(c, "step %d: %s (%s) has no gradient", step, w0[i]->name + 3, params[i]->name);
            break;
        }
        if (g->numel > cap) {
            float *nb = realloc(buf, g->numel * sizeof *buf);

            if (!nb) {
                case_fail(c, "out of memory");
                break;
            }
            buf = nb;
            cap = g->numel;
        }
        if (!case_check_status(c, mg_tensor_read(g, buf, g->numel), "mg_tensor_read"))
            break;
        for (size_t k = 0; k < g->numel; k++) {
            dot += (double)buf[k] * (double)w0[i]->data[k];
            sq += (double)buf[k] * (double)buf[k];
            wsq += (double)w0[i]->data[k] * (double)w0[i]->data[k];
        }
        is_bias = params[i]->ndim == 1 && i > 0 && params[i - 1]->ndim == 4;
        if (is_dead && !is_bias) {
            case_fail(c, "%s is flagged dead but does not follow a convolution weight", w0[i]->name + 3);
            break;
        }
        gscale = gnorm->data[i];
        if (is_bias && gnorm->data[i - 1] > gscale)
            gscale = gnorm->data[i - 1];
        if (!(gscale > 0.0))
            gscale = 1.0;
        e_norm = fabs(sqrt(sq) - gnorm->data[i]) / gscale;
        /* |g| |w0| / sqrt(n) is the size of g.w0 for a g unrelated to w0, and so of the change that an
         * error of relative size e in a random direction makes: the measure is ~e for any such error. */
        e_dot = fabs(dot - gdot->data[i]) / (gscale * (wsq > 0.0 ? sqrt(wsq / (double)g->numel) : 1.0));
        if (!(e_norm <= c->maxerr) || isnan(e_norm))
            c->maxerr = isnan(e_norm) ? INFINITY : e_norm;
        if (!(e_dot <= c->maxerr) || isnan(e_dot))
            c->maxerr = isnan(e_dot) ? INFINITY : e_dot;
        if (!(e_norm <= PT_TOL_OP) || !(e_dot <= PT_TOL_OP))
            case_fail(c,
                      "step %d gradient of %s (%s%s): |g| %.9g, expected %.9g (error %.3g); g.w0 %.9g, expected %.9g "
                      "(error %.3g); tolerance %.1g",
                      step, w0[i]->name + 3, params[i]->name, is_dead ? ", dead bias" : "", sqrt(sq),
                      (double)gnorm->data[i], e_norm, dot, (double)gdot->data[i], e_dot, PT_TOL_OP);
    }
    free(buf);
}

/* After the last step: live parameters against the reference at PT_TOL_STEP of their displacement, dead
 * biases within Adam's bound on n_steps steps. */
static void step_check_weights(pt_case *c, mg_tensor *const *params, const mgfx_tensor *const *w0,
                               const mgfx_tensor *dead, int n, const mg_cyclegan_config *cfg)
{
    const double b1 = cfg->beta1, b2 = cfg->beta2;
    /* |m_hat| / sqrt(v_hat) <= 1 at step 1 and, by Cauchy-Schwarz on (b1 g1 + g2), at step 2
     * <= sqrt(1 + b2) sqrt(1 + b1^2 / b2) / (1 + b1) (1.054 for 0.5, 0.999); 1% for float32 rounding. */
    const double bound = 1.01 * cfg->lr * (1.0 + sqrt(1.0 + b2) * sqrt(1.0 + b1 * b1 / b2) / (1.0 + b1));
    char name[80], base[80];
    float *got = NULL;
    size_t cap = 0;

    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "w2:%s", w0[i]->name + 3);
        snprintf(base, sizeof base, "w0:%s", w0[i]->name + 3);
        if (dead->data[i] == 0.0f) {
            case_compare_ex(c, name, params[i], base, PT_TOL_STEP);
            continue;
        }
        const mgfx_tensor *ref = case_need(c, name);
        double worst = 0.0;

        if (!ref || ref->numel != params[i]->numel) {
            if (ref)
                case_fail(c, "%s has %zu elements, mrigan's %s %zu", name, ref->numel, params[i]->name,
                          params[i]->numel);
            continue;
        }
        if (ref->numel > cap) {
            float *nb = realloc(got, ref->numel * sizeof *got);

            if (!nb) {
                case_fail(c, "out of memory");
                break;
            }
            got = nb;
            cap = ref->numel;
        }
        if (!case_check_status(c, mg_tensor_read(params[i], got, ref->numel), "mg_tensor_read"))
            break;
        for (size_t k = 0; k < ref->numel; k++) {
            double e = fabs((double)got[k] - (double)ref->data[k]);

            if (!(e <= worst))
                worst = isnan(e) ? INFINITY : e;
        }
        if (!(worst <= bound))
            case_fail(c, "%s (%s, dead bias): moved %.3g from the reference, more than Adam's bound %.3g", name,
                      params[i]->name, worst, bound);
    }
    free(got);
}

/* params: [ngf, depth, ndf, lambda_cycle, lambda_identity, pool_size, lr, beta1, beta2] */
void run_cyclegan_step(pt_case *c)
{
    mg_cyclegan_config cfg;
    mg_cyclegan m;
    int ngf, depth, ndf, pool, n = 0, h = 0, w = 0;
    mg_tensor *params[STEP_N_NETS * MG_NET_MAX_PARAMS];
    const mgfx_tensor *w0[STEP_N_NETS * MG_NET_MAX_PARAMS], *dead, *ab[2 * STEP_N_STEPS];
    mg_rng rng;

    memset(&cfg, 0, sizeof cfg);
    if (!case_param_i(c, 0, &ngf) || !case_param_i(c, 1, &depth) || !case_param_i(c, 2, &ndf) ||
        !case_param_f(c, 3, &cfg.lambda_cycle) || !case_param_f(c, 4, &cfg.lambda_identity) ||
        !case_param_i(c, 5, &pool) || !case_param_f(c, 6, &cfg.lr) || !case_param_f(c, 7, &cfg.beta1) ||
        !case_param_f(c, 8, &cfg.beta2))
        return;
    cfg.gen = (mg_gen_config){.kind = MG_GEN_UNET, .ngf = ngf, .depth = depth, .blocks = 0, .dropout = false};
    cfg.ndf = ndf;
    cfg.gan_mode = MG_GAN_LSGAN;
    cfg.pool_size = pool;
    for (int k = 0; k < 2 * STEP_N_STEPS; k++) {
        char name[8];

        snprintf(name, sizeof name, "%c%d", k % 2 ? 'b' : 'a', k / 2 + 1);
        if (!(ab[k] = case_need(c, name)))
            return;
        if (ab[k]->ndim != 4 || ab[k]->shape[0] != 1 || ab[k]->shape[1] != 1 ||
            (k > 0 && (ab[k]->shape[2] != h || ab[k]->shape[3] != w))) {
            case_fail(c, "crop %s is not [1,1,%d,%d]", name, h, w);
            return;
        }
        h = ab[k]->shape[2];
        w = ab[k]->shape[3];
    }
    if (!case_check_status(c, mg_cyclegan_new(c->be, &cfg, 1, &m), "mg_cyclegan_new"))
        return;

    /* Overwrite mg_cyclegan_new's initial weights with the reference's, in state_dict order. */
    mg_net *nets[STEP_N_NETS] = {&m.g_ab.net, &m.g_ba.net, &m.d_a.net, &m.d_b.net};
    for (int k = 0; k < STEP_N_NETS; k++) {
        char prefix[16];
        int got;

        snprintf(prefix, sizeof prefix, "w0:%s.", step_net_names[k]);
        if ((got = case_net_load(c, nets[k], prefix, w0 + n, MG_NET_MAX_PARAMS)) < 0)
            goto done;
        for (int i = 0; i < got; i++)
            params[n + i] = nets[k]->params[i];
        n += got;
    }
    if (!(dead = case_vector(c, "dead", n)))
        goto done;

    mg_rng_seed(&rng, 1, 0); /* unused: the pools are not full */
    for (int s = 1; s <= STEP_N_STEPS; s++) {
        mg_losses l;

        if (!case_check_status(
                c, mg_cyclegan_step(&m, ab[2 * s - 2]->data, ab[2 * s - 1]->data, h, w, &rng, (uint64_t)s, &l),
                "mg_cyclegan_step"))
            break;
        step_check_losses(c, s, &l);
        step_check_grads(c, s, params, w0, dead, n);
    }
    step_check_weights(c, params, w0, dead, n, &cfg);
done:
    mg_cyclegan_free(&m);
}
