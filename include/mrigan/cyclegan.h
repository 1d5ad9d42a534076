/* The CycleGAN model: two generators (A->B, B->A), two PatchGAN discriminators (D_A judges A, D_B judges B),
 * image history pools, and the Adam optimisers, with the training step of Zhu et al. 2017. */
#ifndef MRIGAN_CYCLEGAN_H
#define MRIGAN_CYCLEGAN_H

#include "mrigan/baselines.h"
#include "mrigan/checkpoint.h"
#include "mrigan/dist.h"
#include "mrigan/image.h"
#include "mrigan/nets.h"
#include "mrigan/volume.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mg_gan_mode { MG_GAN_LSGAN, MG_GAN_VANILLA } mg_gan_mode;

/* The cycle noise of a sample whose step seed is s (the dropout seed): cycle_noise * mg_rng_normal() draws from
 * PCG32 seeded (s, MG_CYCLE_NOISE_STREAM), first one for each pixel of G_AB(a), then one for each of G_BA(b). */
#define MG_CYCLE_NOISE_STREAM 0x6379636c65ull

/* The discriminators' augmentation of a sample whose step seed is s: the generator pass draws from PCG32 seeded (s,
 * MG_D_AUGMENT_STREAM), the discriminator pass from (s, MG_D_AUGMENT_STREAM + 1), one mg_cyclegan_draw_augment() per
 * image in the order the discriminators see them: G_AB(a), G_BA(b); then a, pool(G_BA(b)), b, pool(G_AB(a)). */
#define MG_D_AUGMENT_STREAM 0x6461756775ull

/* The largest --cycle-blur and --d-blur: the Gaussian's kernel has 2 * ceil(3 * sigma) + 1 taps a side (at most 25),
 * which must fit in the smallest slice the PatchGAN takes. */
#define MG_BLUR_MAX_SIGMA 4
/* The largest --d-jitter: below the PatchGAN's least side, which reflection needs. */
#define MG_D_JITTER_MAX      16
#define MG_GUIDE_RADIUS_MAX  8 /* the guided filter's largest window radius */
#define MG_GUIDE_EPS_DEFAULT 0.02f
/* What translation does with the background (mg_cyclegan_config.background), in the order of the choices. */
typedef enum mg_background { MG_BACKGROUND_KEEP, MG_BACKGROUND_FLAT } mg_background;
#define MG_BACKGROUND_CHOICES "keep|flat"
/* The radius of the window whose mean of the input tells its air (mg_image_air_mask). */
#define MG_BACKGROUND_RADIUS 2

/* The structure loss's edge scale when none is given (settings.def) or kept (checkpoints without it). */
#define MG_STRUCTURE_EPS_DEFAULT 0.3f
/* The contrast prior's fade when none is given (settings.def) or kept (checkpoints without the prior). */
#define MG_PRIOR_ITERATIONS_DEFAULT 400

typedef struct mg_cyclegan_config {
    mg_gen_config gen;
    int ndf;                /* discriminator width (64) */
    mg_pad d_pad;           /* what the discriminators' convolutions see beyond the border */
    mg_gan_mode gan_mode;   /* lsgan: MSE to 1/0; vanilla: BCE with logits */
    float lambda_cycle;     /* 10 */
    float lambda_identity;  /* 0.5: identity loss weight is lambda_identity * lambda_cycle */
    float lambda_structure; /* weight of the NGF structure loss between each input and its translation (0: off) */
    float structure_eps;    /* the NGF's edge scale, in the [-1, 1] intensity units of the networks */
    float lambda_intensity; /* weight of the intensity-distribution loss of each translation (0: off) */
    float cycle_noise;      /* std of the noise added to each translation before the cycle (0: none) */
    float cycle_blur;       /* sigma in pixels of the blur both sides of the cycle loss get (0: none) */
    float d_blur;           /* sigma in pixels of the blur every image the discriminators see gets (0: none) */
    float structure_blur;   /* sigma in pixels of the blur both images of the structure loss get (0: none) */
    /* DiffAugment (Zhao et al. 2020), made for the images here: every image a discriminator sees, real or translated,
     * in both passes, moved by a random offset of up to d_translate of its side each way and with a random box of
     * d_cutout of each side blacked out, through an op that passes gradients (0: none). Both domains' images share
     * the augmentations' distribution, so a discriminator cannot tell real from translated by them, and cannot
     * reward a pattern fixed to the pixel grid. */
    float d_translate, d_cutout;
    /* Every image a discriminator sees, in both passes, after the above, placed at a random offset of 0..d_jitter
     * pixels each way in a canvas d_jitter larger on each axis, the rest of which reflects it: a pattern fixed to the
     * pixel grid meets the discriminators' strides at every phase, and nothing is cut or blacked out (0: off). */
    int d_jitter;
    float lambda_prior;   /* weight of the contrast prior at the first iteration (0: off) */
    int prior_iterations; /* the prior's weight falls linearly to 0 over these iterations */
    float ema; /* decay per step of the generators' moving averages, which translate (0: none, the generators do) */
    /* Each translation is the mean of the generator's output for the image and, mirrored back, for its left-right
     * mirror: what the generator invents (speckle, a grid) differs between the two and partly cancels, where
     * anatomy, trained on with random flips, agrees. Training is unchanged. */
    bool flip_average;
    /* After that, with guide_radius > 0, the translation refit by the guided filter with the input as its guide
     * (mg_image_guided_filter, eps guide_eps^2): noise and patterns that no local line of the input explains average
     * out, the input's edges stay. Training is unchanged. */
    int guide_radius;
    float guide_eps;
    /* Last, with MG_BACKGROUND_FLAT, the air of the input (the dark part that reaches its border) takes the target
     * domain's air level in the translation (air, below; mg_image_flatten_background): nothing invented stays. */
    mg_background background;
    int pool_size; /* 50 */
    float lr, beta1, beta2;
    float d_lr_scale; /* the discriminators' learning rate is lr times this (1; 0 from older checkpoints means 1) */
    /* The intensity profiles of the training domains A and B (mrigan/baselines.h), when known: kept in every
     * checkpoint and export, so that translation can tell inputs unlike the training data. */
    bool has_profile;
    mg_intensity_profile profile[2];
    /* The mean level of the training domains' air (mg_dataset_air), when known: what a flat background takes
     * (without it, the translation's own mean there). */
    bool has_air;
    float air[2];
} mg_cyclegan_config;

/* One step's losses, as plain numbers (the only device-to-host traffic of a step): one field per line of
 * mrigan/losses.def, and the index of each in that order (MG_LOSS_D_A, ... MG_LOSS_G_TOTAL). */
typedef struct mg_losses {
#define LOSS(e, field, name, colour, what) float field;
#include "mrigan/losses.def"
#undef LOSS
} mg_losses;

typedef enum mg_loss {
#define LOSS(e, field, name, colour, what) MG_LOSS_##e,
#include "mrigan/losses.def"
#undef LOSS
    MG_LOSS_COUNT
} mg_loss;

extern const char *const mg_loss_names[MG_LOSS_COUNT];
extern const uint32_t mg_loss_colours[MG_LOSS_COUNT]; /* 0xRRGGBB, for plots */
/* The losses in mg_loss_names order. */
void mg_losses_to_array(const mg_losses *l, float *out);

typedef struct mg_image_pool {
    int cap, n;
    mg_tensor **items;
} mg_image_pool;

typedef struct mg_cyclegan {
    mg_backend *be;
    mg_cyclegan_config cfg;
    mg_generator g_ab, g_ba;
    /* With cfg.ema > 0: exponential moving averages of g_ab's and g_ba's weights, updated after each step; they
     * translate, and weights-only checkpoints and exports hold them under the generators' names. */
    mg_generator avg_ab, avg_ba;
    mg_discriminator d_a, d_b;
    mg_adam *opt_g, *opt_d;
    mg_image_pool pool_a, pool_b;
    mg_graph *graph_g, *graph_d;
    bool has_generator[2]; /* G_AB, G_BA have weights: false only for a direction a loaded export left out */
    /* With cfg.lambda_intensity > 0: the quantile functions of domain A's and B's pixels above the background
     * (mg_cyclegan_set_quantiles), which the translations into each domain are matched to. */
    mg_tensor *quantiles[2];
    /* With cfg.lambda_prior > 0: the contrast prior's maps, A -> B applied to a and B -> A applied to b
     * (mg_cyclegan_set_prior), and the iteration the next step is (mg_cyclegan_set_iteration). */
    bool has_prior;
    mg_intensity_map prior[2];
    long iteration;
    /* Host scratch for what a step builds on the host and uploads (the cycle noise, the prior's targets): one buffer
     * serves both, as mg_graph_tensor copies its data when called. */
    float *scratch;
    size_t scratch_cap;
    /* The processes training this model together (mg_cyclegan_set_dist; NULL: this one alone), and the host memory
     * a batch step exchanges with them (the translations, the losses, the gradients in pieces). */
    mg_dist *dist;
    float *batch;
    size_t batch_cap;
    mg_tensor **held; /* a batch's gradient sums while a later sample computes its own (both optimisers' params) */
} mg_cyclegan;

/* The most parameter values a model may have, all four networks together: 2^30 (4 GiB of weights). */
#define MG_CYCLEGAN_MAX_PARAMS ((size_t)1 << 30)
/* Sizes the model cfg describes before anything is allocated, so that a crafted configuration cannot ask for
 * terabytes: its parameter values into *params (may be NULL); MG_ERR_ARG for a configuration the networks
 * refuse, MG_ERR_OOM naming the sizes when there are more than MG_CYCLEGAN_MAX_PARAMS or when weights,
 * gradients and both Adam moments (16 bytes a value) exceed be's memory (be may be NULL: not checked). */
mg_status mg_cyclegan_check_size(const mg_cyclegan_config *cfg, const mg_backend *be, size_t *params);
/* Builds the four networks (after mg_cyclegan_check_size) and initialises their weights normal(0, 0.02) from PCG32
 * seeded with seed. */
mg_status mg_cyclegan_new(mg_backend *be, const mg_cyclegan_config *cfg, uint64_t seed, mg_cyclegan *out);
void mg_cyclegan_free(mg_cyclegan *m);
void mg_cyclegan_set_lr(mg_cyclegan *m, float lr); /* the discriminators: lr * cfg.d_lr_scale */
/* The quantile function of domain (0: A, 1: B)'s pixels above the background, n >= 2 non-decreasing values at
 * j / (n - 1), for the intensity loss (cfg.lambda_intensity > 0 needs both). Not kept in checkpoints: the trainer
 * computes them from the training folders (mg_profile_quantiles). */
mg_status mg_cyclegan_set_quantiles(mg_cyclegan *m, int domain, const float *q, int n);
/* The contrast prior's per-intensity maps (cfg.lambda_prior > 0 needs them): ab takes a to what G_AB(a) is pulled
 * towards, ba b to what G_BA(b) is. Not kept in checkpoints: the trainer fits them from the training folders
 * (mg_map_fit_inverse), which give the same maps on resume. */
void mg_cyclegan_set_prior(mg_cyclegan *m, const mg_intensity_map *ab, const mg_intensity_map *ba);
/* The global iteration (0-based) the next step is: the contrast prior weighs
 * lambda_prior * (1 - iteration / prior_iterations) in it, and nothing from prior_iterations on. */
void mg_cyclegan_set_iteration(mg_cyclegan *m, long iteration);
float mg_cyclegan_prior_weight(const mg_cyclegan_config *cfg, long iteration);

/* What one image a discriminator sees goes through: shifted by (dx, dy) with black filling in, box blacked out, then
 * reflection-padded by left, d_jitter - left, top, d_jitter - top. */
typedef struct mg_d_augment {
    int dx, dy, box[4], left, top;
} mg_d_augment;

/* One image's augmentation, drawn from r in this order: when d_translate > 0, with t = (int)(d_translate * side +
 * 0.5), dx = mg_rng_below(2 tw + 1) - tw and dy = mg_rng_below(2 th + 1) - th (else 0); when d_cutout > 0, with
 * c = (int)(d_cutout * side + 0.5) at least 1, the box's centre x = mg_rng_below(w), y = mg_rng_below(h) and box =
 * (x - cw / 2, y - ch / 2, that + cw, that + ch), the part inside the image blacked out (else an empty box); when
 * d_jitter > 0, left = mg_rng_below(d_jitter + 1) and top = mg_rng_below(d_jitter + 1) (else 0). */
void mg_cyclegan_draw_augment(const mg_cyclegan_config *cfg, int h, int w, mg_rng *r, mg_d_augment *out);

/* One training step on a pair of unpaired crops (h x w floats in [-1, 1] each). rng decides the pools'
 * choices; dropout_seed seeds the step's dropout masks. The same as mg_cyclegan_backward() then
 * mg_cyclegan_update(), except that a NaN or infinite loss stops it in between: MG_ERR_NONFINITE naming the
 * loss, out set, and no weight or optimiser state changed (the history pools may hold the step's fakes). */
mg_status mg_cyclegan_step(mg_cyclegan *m, const float *a, const float *b, int h, int w, mg_rng *rng,
                           uint64_t dropout_seed, mg_losses *out);
/* A step's two halves, with a seam between them for whatever must see or change the gradients before the
 * weights move (an exchange across processes, clipping, a check for non-finite values). backward runs the
 * generator pass (both cycles, identity, adversarial against frozen discriminators) and the discriminator pass
 * (real crops against the history pools' fakes), sets out, and leaves each parameter's gradient in ->grad:
 * the generator loss's for G_AB and G_BA, the discriminator loss's for D_A and D_B. update takes one Adam step
 * of all four networks from those gradients. */
mg_status mg_cyclegan_backward(mg_cyclegan *m, const float *a, const float *b, int h, int w, mg_rng *rng,
                               uint64_t dropout_seed, mg_losses *out);
/* A batch of n samples (a and b: n crops of h x w each, one after the other): one optimiser step from the mean of
 * the samples' gradients, which are gathered one sample at a time, so memory does not grow with n. Instance norm
 * keeps samples independent, so this is the gradient of a batch of n; each sample queries the history pools and
 * draws its dropout masks (seeded dropout_seed + i * 0x9E3779B97F4A7C15) on its own, as in the reference
 * implementation. out holds the means of the samples' losses. n = 1 is mg_cyclegan_backward / _step exactly.
 * With processes training together (mg_cyclegan_set_dist), every one of them passes the whole batch and computes
 * its share, samples rank * n / P to (rank + 1) * n / P - 1 (n a multiple of P); backward ends with every
 * process holding the batch's losses and gradients, the pools the same everywhere (MG_ERR_PEER when another
 * process failed). */
mg_status mg_cyclegan_backward_batch(mg_cyclegan *m, const float *a, const float *b, int n, int h, int w, mg_rng *rng,
                                     uint64_t dropout_seed, mg_losses *out);
mg_status mg_cyclegan_step_batch(mg_cyclegan *m, const float *a, const float *b, int n, int h, int w, mg_rng *rng,
                                 uint64_t dropout_seed, mg_losses *out);
/* The processes that train m together from here on (mrigan/dist.h; NULL: this one alone); d stays the caller's. */
void mg_cyclegan_set_dist(mg_cyclegan *m, mg_dist *d);
/* Both Adam steps, then (cfg.ema > 0) the generators' moving averages: avg += (1 - ema) * (g - avg). */
mg_status mg_cyclegan_update(mg_cyclegan *m);
/* Sets the moving averages (when the model keeps them) to the generators' current weights. */
mg_status mg_cyclegan_reset_averages(mg_cyclegan *m);

/* Inference of one generator (dropout off, no gradients): x and y are h x w, multiples of the generator's
 * multiple. direction 0: A->B (G_AB), 1: B->A (G_BA), or their moving averages when the model keeps them. With
 * cfg.flip_average, the mean of the translations of x and of its mirror, mirrored back: two passes; with
 * cfg.guide_radius, that refit by the guided filter with x as the guide; with cfg.background flat, its background
 * made flat. */
mg_status mg_cyclegan_translate(mg_cyclegan *m, int direction, const float *x, int h, int w, float *y);
/* Overrides the model's cfg.flip_average for the translations that follow (the checkpoint's value otherwise). */
void mg_cyclegan_set_flip_average(mg_cyclegan *m, bool on);
/* Overrides the model's cfg.guide_radius and cfg.guide_eps likewise (radius 0: no guided filter). */
void mg_cyclegan_set_guide(mg_cyclegan *m, int radius, float eps);
/* Overrides the model's cfg.background likewise. */
void mg_cyclegan_set_background(mg_cyclegan *m, mg_background how);

/* A whole image at its own size: padded to the generator's multiple (mg_image_pad_to_multiple), translated,
 * and cropped back, so that out has img's width and height. */
mg_status mg_cyclegan_translate_image(mg_cyclegan *m, int direction, const mg_image *img, mg_image *out);
/* A whole volume, slice by slice along axis (include/mrigan/volume.h): each slice normalised with the volume's
 * scale, translated at its own size, and put back where it came from; empty slices become background (-1).
 * values: v->dim voxels (i fastest), in [-1, 1], for mg_volume_save_like. progress (may be NULL) is called
 * after each slice with the slices done and their total. Errors name path. */
typedef void (*mg_translate_progress)(int done, int total, void *arg);
mg_status mg_cyclegan_translate_volume(mg_cyclegan *m, int direction, const mg_volume *v, const char *path,
                                       mg_slice_axis axis, float *values, mg_translate_progress progress, void *arg);

/* Configuration keys and the networks' weights; with_state adds what resuming needs: the optimisers'
 * moments and steps, the history pools and the generators' moving averages (EMA_AB.*, EMA_BA.*). Without it, a
 * model with moving averages saves them under the generators' names: the weights that translate. */
mg_status mg_cyclegan_save(const mg_cyclegan *m, mg_ckpt *c, bool with_state);
/* Configuration and the weights of the generators translation needs: directions 1 (A->B), 2 (B->A) or 3 (both).
 * What epoch snapshots, best.ckpt and mrigan export hold (the moving averages, when the model keeps them). */
mg_status mg_cyclegan_save_generators(const mg_cyclegan *m, mg_ckpt *c, unsigned directions);
/* A translation-only model file at path: the configuration and the generators of directions (as above), stored as
 * float16 when asked (half the size; translations then differ from the float32 model's by float16's rounding of
 * the weights), with source (may be NULL) recorded as exported_from. Read back by mg_cyclegan_open. */
mg_status mg_cyclegan_export(const mg_cyclegan *m, const char *path, unsigned directions, bool float16,
                             const char *source);
/* Reads the configuration a checkpoint was trained with (MG_ERR_FORMAT naming a missing or bad key). */
mg_status mg_cyclegan_config_load(const mg_ckpt *c, mg_cyclegan_config *cfg);
/* Restores weights (and, when with_state, optimiser state and pools) into a model built from the
 * checkpoint's configuration. */
mg_status mg_cyclegan_load(mg_cyclegan *m, const mg_ckpt *c, bool with_state);
/* A model on be with the configuration and weights of the checkpoint file at path (any checkpoint mrigan train
 * writes), for translation; m is freed again on failure. */
mg_status mg_cyclegan_open(const char *path, mg_backend *be, mg_cyclegan *m);

#ifdef __cplusplus
}
#endif
#endif
