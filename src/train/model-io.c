/* The CycleGAN model in a checkpoint: configuration keys, every parameter by name, both optimisers'
 * moments ("opt_G.m.<param>", "opt_G.v.<param>") and step counts ("opt_G.steps"), and the history pools
 * ("pool_A.<k>"). Floats in the configuration are written with 9 significant digits, enough to read back
 * the same float. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "history.h"

/* Adam divides by 1 - beta^t: a beta of 1 or more is undefined. */
#define ADAM_BETA_MAX 0.99999994f /* the float below 1 */

static mg_status set_float(mg_ckpt *c, const char *key, float v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", v);
    return mg_ckpt_set(c, key, buf);
}

static mg_status get_int(const mg_ckpt *c, const char *key, long lo, long hi, int *out)
{
    long v = 0;
    mg_status s = mg_ckpt_get_long(c, key, lo, hi, &v);
    if (s == MG_OK)
        *out = (int)v;
    return s;
}

/* An optional key of two values, written only for the second (reflection padding, blurred downsampling): absent in
 * checkpoints from before it and whenever the first holds. */
static mg_status get_second(const mg_ckpt *c, const char *key, const char *second, bool *out)
{
    *out = false;
    if (!mg_ckpt_has(c, key))
        return MG_OK;
    char v[16];
    mg_status s = mg_ckpt_get(c, key, v, sizeof v);
    if (s == MG_OK && strcmp(v, second))
        return mg_error(MG_ERR_FORMAT, "checkpoint: unknown %s '%s'", key, v);
    *out = s == MG_OK;
    return s;
}

static mg_status get_pad(const mg_ckpt *c, const char *key, mg_pad *out)
{
    bool reflect;
    mg_status s = get_second(c, key, "reflect", &reflect);
    *out = reflect ? MG_PAD_REFLECT : MG_PAD_ZERO;
    return s;
}

/* A float key held to [lo, hi], the values the training step is defined for (the program's options narrow
 * them further); NaN and infinities are refused too. */
static mg_status get_float(const mg_ckpt *c, const char *key, float lo, float hi, float *out)
{
    char buf[64], *end;
    mg_status s = mg_ckpt_get(c, key, buf, sizeof buf);
    if (s != MG_OK)
        return s;
    *out = strtof(buf, &end);
    if (end == buf || *end)
        return mg_error(MG_ERR_FORMAT, "checkpoint: %s=%s is not a number", key, buf);
    if (!(*out >= lo && *out <= hi))
        return mg_error(MG_ERR_FORMAT, "checkpoint: %s=%s is outside %g..%g", key, buf, (double)lo, (double)hi);
    return MG_OK;
}

/* "q1,q2,...,q9": non-decreasing values in [-1, 1]. */
static mg_status get_profile(const mg_ckpt *c, const char *key, mg_intensity_profile *p)
{
    char buf[512], *at = buf, *end;
    mg_status s = mg_ckpt_get(c, key, buf, sizeof buf);
    for (int q = 0; s == MG_OK && q < MG_PROFILE_QUANTILES; q++) {
        double v = strtod(at, &end);
        if (end == at || !(v >= -1.0 && v <= 1.0) || (q > 0 && v < p->q[q - 1]) ||
            (*end != (q + 1 < MG_PROFILE_QUANTILES ? ',' : '\0')))
            return mg_error(MG_ERR_FORMAT, "checkpoint: %s is not %d non-decreasing values in [-1, 1]", key,
                            MG_PROFILE_QUANTILES);
        p->q[q] = (float)v;
        at = end + 1;
    }
    return s;
}

static mg_status set_profile(mg_ckpt *c, const char *key, const mg_intensity_profile *p)
{
    char buf[512];
    int len = 0;
    for (int q = 0; q < MG_PROFILE_QUANTILES; q++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, "%s%.9g", q ? "," : "", (double)p->q[q]);
    return mg_ckpt_set(c, key, buf);
}

static mg_status save_config(const mg_cyclegan_config *cfg, mg_ckpt *c)
{
    const mg_gen_config *g = &cfg->gen;
    mg_status s = mg_ckpt_set(c, "generator", mg_generator_names[g->kind]);
    if (s == MG_OK)
        s = mg_ckpt_set_long(c, "ngf", g->ngf);
    if (s == MG_OK)
        s = mg_ckpt_set_long(c, "depth", g->depth);
    if (s == MG_OK)
        s = mg_ckpt_set_long(c, "blocks", g->blocks);
    if (s == MG_OK)
        s = mg_ckpt_set_long(c, "dropout", g->dropout);
    /* Written only when they differ from what checkpoints before them meant, so those stay byte for byte. */
    if (s == MG_OK && g->upsample != MG_UPSAMPLE_TRANSPOSE)
        s = mg_ckpt_set(c, "upsample", g->upsample == MG_UPSAMPLE_BILINEAR ? "bilinear" : "resize");
    if (s == MG_OK && g->downsample != MG_DOWNSAMPLE_STRIDED)
        s = mg_ckpt_set(c, "downsample", "blurred");
    if (s == MG_OK && g->pad != MG_PAD_ZERO)
        s = mg_ckpt_set(c, "pad", "reflect");
    if (s == MG_OK)
        s = mg_ckpt_set_long(c, "ndf", cfg->ndf);
    if (s == MG_OK && cfg->d_pad != MG_PAD_ZERO)
        s = mg_ckpt_set(c, "d_pad", "reflect");
    if (s == MG_OK)
        s = mg_ckpt_set(c, "gan_mode", cfg->gan_mode == MG_GAN_LSGAN ? "lsgan" : "vanilla");
    if (s == MG_OK)
        s = set_float(c, "lambda_cycle", cfg->lambda_cycle);
    if (s == MG_OK)
        s = set_float(c, "lambda_identity", cfg->lambda_identity);
    if (s == MG_OK && cfg->ema > 0.0f)
        s = set_float(c, "ema", cfg->ema);
    if (s == MG_OK && cfg->flip_average)
        s = mg_ckpt_set_long(c, "flip_average", 1);
    if (s == MG_OK && cfg->guide_radius > 0)
        s = mg_ckpt_set_long(c, "guide_radius", cfg->guide_radius);
    if (s == MG_OK && cfg->guide_radius > 0)
        s = set_float(c, "guide_eps", cfg->guide_eps);
    if (s == MG_OK && cfg->background == MG_BACKGROUND_FLAT)
        s = mg_ckpt_set(c, "background", "flat");
    if (s == MG_OK && cfg->has_air)
        s = set_float(c, "air_a", cfg->air[0]);
    if (s == MG_OK && cfg->has_air)
        s = set_float(c, "air_b", cfg->air[1]);
    if (s == MG_OK && cfg->d_lr_scale > 0.0f && cfg->d_lr_scale != 1.0f)
        s = set_float(c, "d_lr_scale", cfg->d_lr_scale);
    if (s == MG_OK && cfg->lambda_intensity > 0.0f)
        s = set_float(c, "lambda_intensity", cfg->lambda_intensity);
    if (s == MG_OK && cfg->cycle_noise > 0.0f)
        s = set_float(c, "cycle_noise", cfg->cycle_noise);
    if (s == MG_OK && cfg->cycle_blur > 0.0f)
        s = set_float(c, "cycle_blur", cfg->cycle_blur);
    if (s == MG_OK && cfg->d_blur > 0.0f)
        s = set_float(c, "d_blur", cfg->d_blur);
    if (s == MG_OK && cfg->structure_blur > 0.0f)
        s = set_float(c, "structure_blur", cfg->structure_blur);
    if (s == MG_OK && cfg->d_translate > 0.0f)
        s = set_float(c, "d_translate", cfg->d_translate);
    if (s == MG_OK && cfg->d_cutout > 0.0f)
        s = set_float(c, "d_cutout", cfg->d_cutout);
    if (s == MG_OK && cfg->d_jitter > 0)
        s = mg_ckpt_set_long(c, "d_jitter", cfg->d_jitter);
    if (s == MG_OK && cfg->lambda_prior > 0.0f) {
        s = set_float(c, "lambda_prior", cfg->lambda_prior);
        if (s == MG_OK)
            s = mg_ckpt_set_long(c, "prior_iterations", cfg->prior_iterations);
    }
    if (s == MG_OK && cfg->lambda_structure > 0.0f) {
        s = set_float(c, "lambda_structure", cfg->lambda_structure);
        if (s == MG_OK)
            s = set_float(c, "structure_eps", cfg->structure_eps);
    }
    if (s == MG_OK)
        s = mg_ckpt_set_long(c, "pool_size", cfg->pool_size);
    if (s == MG_OK)
        s = set_float(c, "lr", cfg->lr);
    if (s == MG_OK)
        s = set_float(c, "beta1", cfg->beta1);
    if (s == MG_OK)
        s = set_float(c, "beta2", cfg->beta2);
    for (int d = 0; s == MG_OK && cfg->has_profile && d < 2; d++)
        s = set_profile(c, d ? "profile_b" : "profile_a", &cfg->profile[d]);
    return s;
}

mg_status mg_cyclegan_config_load(const mg_ckpt *c, mg_cyclegan_config *cfg)
{
    char kind[16], mode[16];
    memset(cfg, 0, sizeof *cfg);
    mg_status s = mg_ckpt_get(c, "generator", kind, sizeof kind);
    if (s == MG_OK && mg_generator_kind_of(kind, &cfg->gen.kind) != MG_OK)
        s = mg_error(MG_ERR_FORMAT, "checkpoint: unknown generator '%s'", kind);
    int dropout = 0;
    if (s == MG_OK)
        s = get_int(c, "ngf", 1, 1024, &cfg->gen.ngf);
    if (s == MG_OK)
        s = get_int(c, "depth", 0, MG_UNET_MAX_DEPTH, &cfg->gen.depth);
    if (s == MG_OK)
        s = get_int(c, "blocks", 0, MG_RESNET_MAX_BLOCKS, &cfg->gen.blocks);
    if (s == MG_OK)
        s = get_int(c, "dropout", 0, 1, &dropout);
    cfg->gen.dropout = dropout;
    if (s == MG_OK && mg_ckpt_has(c, "upsample")) { /* optional: absent means a transposed convolution */
        char up[16];
        s = mg_ckpt_get(c, "upsample", up, sizeof up);
        if (s == MG_OK && strcmp(up, "resize") && strcmp(up, "bilinear"))
            s = mg_error(MG_ERR_FORMAT, "checkpoint: unknown upsample '%s'", up);
        cfg->gen.upsample = strcmp(up, "bilinear") ? MG_UPSAMPLE_RESIZE : MG_UPSAMPLE_BILINEAR;
    }
    bool blurred = false;
    if (s == MG_OK)
        s = get_second(c, "downsample", "blurred", &blurred);
    cfg->gen.downsample = blurred ? MG_DOWNSAMPLE_BLURRED : MG_DOWNSAMPLE_STRIDED;
    if (s == MG_OK)
        s = get_pad(c, "pad", &cfg->gen.pad);
    if (s == MG_OK)
        s = get_int(c, "ndf", 1, 1024, &cfg->ndf);
    if (s == MG_OK)
        s = get_pad(c, "d_pad", &cfg->d_pad);
    if (s == MG_OK)
        s = mg_ckpt_get(c, "gan_mode", mode, sizeof mode);
    if (s == MG_OK && strcmp(mode, "lsgan") && strcmp(mode, "vanilla"))
        s = mg_error(MG_ERR_FORMAT, "checkpoint: unknown gan_mode '%s'", mode);
    cfg->gan_mode = strcmp(mode, "lsgan") ? MG_GAN_VANILLA : MG_GAN_LSGAN;
    if (s == MG_OK)
        s = get_float(c, "lambda_cycle", 0, FLT_MAX, &cfg->lambda_cycle);
    if (s == MG_OK)
        s = get_float(c, "lambda_identity", 0, FLT_MAX, &cfg->lambda_identity);
    cfg->structure_eps = MG_STRUCTURE_EPS_DEFAULT; /* optional, with lambda_structure: absent means no such loss */
    cfg->d_lr_scale = 1.0f;                        /* optional: absent means the generators' learning rate */
    cfg->prior_iterations = MG_PRIOR_ITERATIONS_DEFAULT; /* optional, with lambda_prior: absent means no prior */
    if (s == MG_OK && mg_ckpt_has(c, "d_lr_scale"))
        s = get_float(c, "d_lr_scale", 1e-3f, 1e3f, &cfg->d_lr_scale);
    if (s == MG_OK && mg_ckpt_has(c, "ema")) /* optional: absent means no moving averages */
        s = get_float(c, "ema", 0, 0.99999f, &cfg->ema);
    int flip_average = 0; /* optional: absent means one pass, as every model before it translated */
    if (s == MG_OK && mg_ckpt_has(c, "flip_average"))
        s = get_int(c, "flip_average", 0, 1, &flip_average);
    cfg->flip_average = flip_average;
    cfg->guide_radius = 0; /* optional: absent means no guided filter, as every model before it translated */
    cfg->guide_eps = MG_GUIDE_EPS_DEFAULT;
    if (s == MG_OK && mg_ckpt_has(c, "guide_radius"))
        s = get_int(c, "guide_radius", 0, MG_GUIDE_RADIUS_MAX, &cfg->guide_radius);
    if (s == MG_OK && cfg->guide_radius > 0)
        s = get_float(c, "guide_eps", 1e-3f, 1.0f, &cfg->guide_eps);
    bool flat = false; /* optional: absent means the background as the generator left it, as before */
    if (s == MG_OK)
        s = get_second(c, "background", "flat", &flat);
    cfg->background = flat ? MG_BACKGROUND_FLAT : MG_BACKGROUND_KEEP;
    cfg->has_air = mg_ckpt_has(c, "air_a") && mg_ckpt_has(c, "air_b"); /* optional: absent before the flat background */
    for (int d = 0; s == MG_OK && cfg->has_air && d < 2; d++)
        s = get_float(c, d ? "air_b" : "air_a", -1.0f, 1.0f, &cfg->air[d]);
    if (s == MG_OK && mg_ckpt_has(c, "lambda_structure"))
        s = get_float(c, "lambda_structure", 0, FLT_MAX, &cfg->lambda_structure);
    if (s == MG_OK && mg_ckpt_has(c, "lambda_intensity")) /* optional: absent means no such loss */
        s = get_float(c, "lambda_intensity", 0, FLT_MAX, &cfg->lambda_intensity);
    if (s == MG_OK && mg_ckpt_has(c, "cycle_noise")) /* optional: absent means none */
        s = get_float(c, "cycle_noise", 0, 2, &cfg->cycle_noise);
    if (s == MG_OK && mg_ckpt_has(c, "cycle_blur")) /* optional: absent means none */
        s = get_float(c, "cycle_blur", 0.3f, MG_BLUR_MAX_SIGMA, &cfg->cycle_blur);
    if (s == MG_OK && mg_ckpt_has(c, "d_blur")) /* optional: absent means none */
        s = get_float(c, "d_blur", 0.3f, MG_BLUR_MAX_SIGMA, &cfg->d_blur);
    if (s == MG_OK && mg_ckpt_has(c, "structure_blur")) /* optional: absent means none */
        s = get_float(c, "structure_blur", 0.3f, MG_BLUR_MAX_SIGMA, &cfg->structure_blur);
    if (s == MG_OK && mg_ckpt_has(c, "d_translate")) /* optional: absent means none */
        s = get_float(c, "d_translate", 0.01f, 0.5f, &cfg->d_translate);
    if (s == MG_OK && mg_ckpt_has(c, "d_cutout")) /* optional: absent means none */
        s = get_float(c, "d_cutout", 0.05f, 1.0f, &cfg->d_cutout);
    if (s == MG_OK && mg_ckpt_has(c, "d_jitter")) /* optional: absent means none */
        s = get_int(c, "d_jitter", 1, MG_D_JITTER_MAX, &cfg->d_jitter);
    if (s == MG_OK && mg_ckpt_has(c, "lambda_prior")) { /* optional: absent means no prior */
        s = get_float(c, "lambda_prior", 0, FLT_MAX, &cfg->lambda_prior);
        if (s == MG_OK)
            s = get_int(c, "prior_iterations", 1, 100000000, &cfg->prior_iterations);
    }
    if (s == MG_OK && mg_ckpt_has(c, "structure_eps"))
        s = get_float(c, "structure_eps", FLT_MIN, FLT_MAX, &cfg->structure_eps);
    if (s == MG_OK)
        s = get_int(c, "pool_size", 0, 100000, &cfg->pool_size);
    if (s == MG_OK)
        s = get_float(c, "lr", 0, FLT_MAX, &cfg->lr);
    if (s == MG_OK)
        s = get_float(c, "beta1", 0, ADAM_BETA_MAX, &cfg->beta1);
    if (s == MG_OK)
        s = get_float(c, "beta2", 0, ADAM_BETA_MAX, &cfg->beta2);
    for (int d = 0; s == MG_OK && d < 2; d++) /* optional: checkpoints from before profiles have none */
        if (mg_ckpt_has(c, d ? "profile_b" : "profile_a"))
            s = get_profile(c, d ? "profile_b" : "profile_a", &cfg->profile[d]);
    cfg->has_profile = s == MG_OK && mg_ckpt_has(c, "profile_a") && mg_ckpt_has(c, "profile_b");
    return s;
}

/* The networks whose bit is set in which: 1 G_AB, 2 G_BA, 4 D_A, 8 D_B, 16 both moving averages under their own
 * names. With `averaged`, the generators' entries hold their moving averages (when the model keeps them). */
static mg_status save_nets(const mg_cyclegan *m, mg_ckpt *c, unsigned which, bool averaged)
{
    const bool avg = averaged && m->cfg.ema > 0.0f;
    const mg_net *nets[6] = {&m->g_ab.net, &m->g_ba.net, &m->d_a.net, &m->d_b.net, &m->avg_ab.net, &m->avg_ba.net};
    const mg_net *values[6] = {avg ? nets[4] : nets[0], avg ? nets[5] : nets[1], nets[2], nets[3], nets[4], nets[5]};
    mg_status s = MG_OK;
    for (int k = 0; k < 6; k++)
        for (int i = 0; (which >> (k < 4 ? k : 4) & 1u) && i < nets[k]->n_params && s == MG_OK; i++)
            s = mg_ckpt_add_tensor(c, nets[k]->params[i]->name, values[k]->params[i]);
    return s;
}

static mg_status save_optimiser(mg_adam *opt, const char *prefix, mg_ckpt *c)
{
    int n = mg_adam_param_count(opt);
    float *steps = malloc((size_t)(n > 0 ? n : 1) * sizeof *steps);
    if (!steps)
        return mg_error(MG_ERR_OOM, "checkpoint: out of host memory");
    mg_status s = MG_OK;
    for (int i = 0; i < n && s == MG_OK; i++) {
        mg_tensor *mt, *vt;
        int64_t *step;
        char name[96];
        s = mg_adam_state(opt, i, &mt, &vt, &step);
        if (s != MG_OK)
            break;
        steps[i] = (float)*step; /* exact below 2^24 steps */
        snprintf(name, sizeof name, "%s.m.%s", prefix, mg_adam_param(opt, i)->name);
        s = mg_ckpt_add_tensor(c, name, mt);
        snprintf(name, sizeof name, "%s.v.%s", prefix, mg_adam_param(opt, i)->name);
        if (s == MG_OK)
            s = mg_ckpt_add_tensor(c, name, vt);
    }
    char name[64];
    snprintf(name, sizeof name, "%s.steps", prefix);
    if (s == MG_OK && n > 0)
        s = mg_ckpt_add(c, name, 1, (const int[]){n}, steps);
    free(steps);
    return s;
}

static mg_status save_pool(const mg_image_pool *p, const char *prefix, mg_ckpt *c)
{
    mg_status s = MG_OK;
    for (int k = 0; k < p->n && s == MG_OK; k++) {
        char name[32];
        snprintf(name, sizeof name, "%s.%d", prefix, k);
        s = mg_ckpt_add_tensor(c, name, p->items[k]);
    }
    return s;
}

mg_status mg_cyclegan_save(const mg_cyclegan *m, mg_ckpt *c, bool with_state)
{
    mg_status s = save_config(&m->cfg, c);
    if (s == MG_OK)
        s = save_nets(m, c, with_state ? 31 : 15, !with_state);
    if (!with_state || s != MG_OK)
        return s;
    if (s == MG_OK)
        s = save_optimiser(m->opt_g, "opt_G", c);
    if (s == MG_OK)
        s = save_optimiser(m->opt_d, "opt_D", c);
    if (s == MG_OK)
        s = save_pool(&m->pool_a, "pool_A", c);
    if (s == MG_OK)
        s = save_pool(&m->pool_b, "pool_B", c);
    return s;
}

mg_status mg_cyclegan_save_generators(const mg_cyclegan *m, mg_ckpt *c, unsigned directions)
{
    if ((directions & 3u) == 0 || directions > 3u)
        return mg_error(MG_ERR_ARG, "save generators: directions %u (1 A->B, 2 B->A, 3 both)", directions);
    for (int d = 0; d < 2; d++)
        if ((directions >> d & 1u) && !m->has_generator[d])
            return mg_error(MG_ERR_ARG, "the model has no %s generator to save", d ? "B->A" : "A->B");
    mg_status s = save_config(&m->cfg, c);
    if (s == MG_OK)
        s = save_nets(m, c, directions, true);
    return s;
}

static mg_status load_optimiser(mg_adam *opt, const char *prefix, const mg_ckpt *c)
{
    int n = mg_adam_param_count(opt);
    char name[96];
    snprintf(name, sizeof name, "%s.steps", prefix);
    const mg_ckpt_entry *steps = mg_ckpt_find(c, name);
    if (n > 0 && !steps)
        return mg_error(MG_ERR_FORMAT,
                        "checkpoint: no optimiser state (%s): a weights-only snapshot cannot be "
                        "resumed; resume from a run's latest.ckpt",
                        name);
    if (n > 0 && steps->numel != (size_t)n)
        return mg_error(MG_ERR_FORMAT, "checkpoint: %s has %zu values for %d parameters", name, steps->numel, n);
    for (int i = 0; i < n; i++) {
        mg_tensor *mt, *vt;
        int64_t *step;
        /* Saved as floats, exact below 2^24; anything else (negative, fractional) was not written by mrigan. */
        float st = steps->data[i];
        if (!(st >= 0 && st <= 16777216.0f && st == (float)(int64_t)st))
            return mg_error(MG_ERR_FORMAT, "checkpoint: %s[%d] = %g is not a step count", steps->name, i, (double)st);
        mg_status s = mg_adam_state(opt, i, &mt, &vt, &step);
        snprintf(name, sizeof name, "%s.m.%s", prefix, mg_adam_param(opt, i)->name);
        if (s == MG_OK)
            s = mg_ckpt_load_tensor(c, name, mt);
        snprintf(name, sizeof name, "%s.v.%s", prefix, mg_adam_param(opt, i)->name);
        /* A second moment is a mean of squares: a negative one would make Adam's square root NaN. */
        const mg_ckpt_entry *v = s == MG_OK ? mg_ckpt_find(c, name) : NULL;
        for (size_t k = 0; v && k < v->numel; k++)
            if (v->data[k] < 0)
                return mg_error(MG_ERR_FORMAT, "checkpoint: %s[%zu] = %g is negative, which a second moment never is",
                                name, k, (double)v->data[k]);
        if (s == MG_OK)
            s = mg_ckpt_load_tensor(c, name, vt);
        if (s != MG_OK)
            return s;
        *step = (int64_t)steps->data[i];
    }
    return MG_OK;
}

static mg_status load_pool(mg_image_pool *p, int cap, mg_backend *be, const char *prefix, const mg_ckpt *c)
{
    mg_history_release(p);
    mg_status s = mg_history_init(p, cap);
    char prefix_first[32];
    snprintf(prefix_first, sizeof prefix_first, "%s.0", prefix);
    for (int k = 0; s == MG_OK; k++) {
        char name[32];
        snprintf(name, sizeof name, "%s.%d", prefix, k);
        const mg_ckpt_entry *e = mg_ckpt_find(c, name);
        if (!e)
            break;
        /* Fakes of one channel, all of the first one's size: a different shape would reach a discriminator. */
        const mg_ckpt_entry *first = k ? mg_ckpt_find(c, prefix_first) : e;
        if (e->ndim != 4 || e->shape[0] != 1 || e->shape[1] != 1 || e->shape[2] != first->shape[2] ||
            e->shape[3] != first->shape[3])
            return mg_error(MG_ERR_FORMAT, "checkpoint: %s is not a 1x1xHxW image like %s.0", name, prefix);
        s = mg_history_push_host(p, be, e->ndim, e->shape, e->data);
    }
    return s;
}

/* How many of net's parameters c holds. */
static int load_count_present(const mg_net *net, const mg_ckpt *c)
{
    int n = 0;
    for (int i = 0; i < net->n_params; i++)
        n += mg_ckpt_find(c, net->params[i]->name) != NULL;
    return n;
}

mg_status mg_cyclegan_load(mg_cyclegan *m, const mg_ckpt *c, bool with_state)
{
    const mg_net *nets[4] = {&m->g_ab.net, &m->g_ba.net, &m->d_a.net, &m->d_b.net};
    mg_status s = MG_OK;
    bool has[4];
    for (int k = 0; k < 4; k++) {
        /* For translation a network may be absent as a whole (epoch snapshots hold the generators, an export
         * one or both); one that is there must be whole, and training state needs all four. */
        has[k] = with_state || load_count_present(nets[k], c) > 0 || nets[k]->n_params == 0;
        for (int i = 0; has[k] && i < nets[k]->n_params && s == MG_OK; i++)
            s = mg_ckpt_load_tensor(c, nets[k]->params[i]->name, nets[k]->params[i]);
    }
    if (s == MG_OK && !has[0] && !has[1])
        s = mg_error(MG_ERR_FORMAT, "checkpoint: no generator (neither G_AB nor G_BA weights)");
    if (s != MG_OK)
        return s;
    m->has_generator[0] = has[0];
    m->has_generator[1] = has[1];
    /* The moving averages: a full checkpoint holds them under their own names; a weights-only one holds them
     * as the generators, just loaded. */
    const mg_net *avg[2] = {&m->avg_ab.net, &m->avg_ba.net};
    bool own = with_state || (avg[0]->n_params > 0 && load_count_present(avg[0], c) > 0);
    for (int k = 0; k < 2 && own; k++)
        for (int i = 0; i < avg[k]->n_params && s == MG_OK; i++)
            s = mg_ckpt_load_tensor(c, avg[k]->params[i]->name, avg[k]->params[i]);
    if (s == MG_OK && !own)
        s = mg_cyclegan_reset_averages(m);
    if (!with_state || s != MG_OK)
        return s;
    s = load_optimiser(m->opt_g, "opt_G", c);
    if (s == MG_OK)
        s = load_optimiser(m->opt_d, "opt_D", c);
    if (s == MG_OK)
        s = load_pool(&m->pool_a, m->cfg.pool_size, m->be, "pool_A", c);
    if (s == MG_OK)
        s = load_pool(&m->pool_b, m->cfg.pool_size, m->be, "pool_B", c);
    return s;
}

mg_status mg_cyclegan_open(const char *path, mg_backend *be, mg_cyclegan *m)
{
    mg_ckpt c;
    mg_cyclegan_config cfg;
    mg_status s = mg_ckpt_load(path, &c);
    if (s != MG_OK)
        return s;
    s = mg_cyclegan_config_load(&c, &cfg);
    if (s == MG_OK)
        s = mg_cyclegan_new(be, &cfg, 0, m);
    if (s == MG_OK && (s = mg_cyclegan_load(m, &c, false)) != MG_OK)
        mg_cyclegan_free(m);
    mg_ckpt_free(&c);
    return s;
}

mg_status mg_cyclegan_export(const mg_cyclegan *m, const char *path, unsigned directions, bool float16,
                             const char *source)
{
    mg_ckpt c;
    mg_ckpt_init(&c);
    mg_status s = mg_ckpt_set(&c, "format", "mrigan-cyclegan");
    if (s == MG_OK)
        s = mg_ckpt_set(&c, "exported_from", source ? source : "(library)");
    if (s == MG_OK)
        s = mg_cyclegan_save_generators(m, &c, directions);
    if (s == MG_OK && float16)
        s = mg_ckpt_store_half(&c);
    if (s == MG_OK)
        s = mg_ckpt_save(&c, path);
    mg_ckpt_free(&c);
    return s;
}
