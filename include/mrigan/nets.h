/* The CycleGAN networks: U-Net and ResNet generators, the 70x70 PatchGAN discriminator. Each network owns
 * its parameters (named "<prefix>.<layer>.w" / ".b" for checkpoints) and runs forward on a graph. */
#ifndef MRIGAN_NETS_H
#define MRIGAN_NETS_H

#include "mrigan/mrigan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MG_NET_MAX_PARAMS 64

/* A named set of parameters. */
typedef struct mg_net {
    char prefix[16];
    int n_params;
    mg_tensor *params[MG_NET_MAX_PARAMS];
    size_t numel; /* values in all parameters: counted as they are declared, also when only counting */
} mg_net;

void mg_net_free(mg_net *n);
/* Weights normal(0, std) in parameter order, biases zero. */
mg_status mg_net_init(mg_net *n, mg_rng *rng, float std);
/* Freezes or thaws every parameter. */
void mg_net_set_frozen(mg_net *n, bool frozen);
size_t mg_net_param_count(const mg_net *n);

typedef enum mg_gen_kind {
#define GENERATOR(e, name, what) MG_GEN_##e,
#include "mrigan/generators.def"
#undef GENERATOR
    MG_GEN_COUNT
} mg_gen_kind;

/* "unet", "resnet": the names of mrigan/generators.def; and the same as one choice string, "unet|resnet"
 * (mg_generator_choice_list is "|unet|resnet"). */
extern const char *const mg_generator_names[MG_GEN_COUNT];
extern const char mg_generator_choice_list[];
#define MG_GENERATOR_CHOICES (mg_generator_choice_list + 1)
/* The kind named name; MG_ERR_FORMAT naming the known ones otherwise. */
mg_status mg_generator_kind_of(const char *name, mg_gen_kind *out);

/* How the decoders grow a feature map: a transposed convolution (the standard generators), or a 2x resize
 * followed by a 3x3 convolution, which cannot leave the checkerboard of overlapping strides (Odena et al. 2016):
 * nearest-neighbour, or bilinear, whose smoother interpolation leaves less of a two-pixel period for the
 * convolution to build a grid from. The order of MG_UPSAMPLE_CHOICES. */
typedef enum mg_upsample { MG_UPSAMPLE_TRANSPOSE, MG_UPSAMPLE_RESIZE, MG_UPSAMPLE_BILINEAR } mg_upsample;
#define MG_UPSAMPLE_CHOICES "transpose|resize|bilinear"

/* What the networks' padded convolutions see beyond the border: zeros (the standard networks' U-Net, strided and
 * PatchGAN convolutions), or the feature map reflected, as the ResNet's other convolutions already do. Zeros mark the
 * border (in the [-1, 1] scale they are mid-grey beside a black background); reflection leaves no mark (a constant
 * slice translates to a constant slice), though the stripes along the edges that networks trained on whole slices
 * draw only fade with it (docs/quality-recipes.md). A transposed convolution keeps its zeros. The order of
 * MG_PAD_CHOICES. */
typedef enum mg_pad { MG_PAD_ZERO, MG_PAD_REFLECT } mg_pad;
#define MG_PAD_CHOICES "zero|reflect"

/* How the ResNets' encoders halve a feature map: a 3x3 convolution of stride 2 (the standard ResNet), or the same
 * convolution after a binomial [1 2 1] x [1 2 1] / 16 blur of every channel, so that what the stride drops is
 * mostly what lies above its Nyquist frequency (anti-aliased downsampling, Zhang 2019): the decoder then has less
 * position-mod-4 structure to turn into a grid. The order of MG_DOWNSAMPLE_CHOICES. */
typedef enum mg_downsample { MG_DOWNSAMPLE_STRIDED, MG_DOWNSAMPLE_BLURRED } mg_downsample;
#define MG_DOWNSAMPLE_CHOICES "strided|blurred"

typedef struct mg_gen_config {
    mg_gen_kind kind;
    int ngf;      /* width of the first layer (64) */
    int depth;    /* unet: number of down-sampling levels (7 for 128x128, 8 for 256x256) */
    int blocks;   /* resnet: residual blocks (6 or 9) */
    bool dropout; /* unet: dropout 0.5 in the inner 8*ngf decoder levels; resnet: inside residual blocks */
    mg_upsample upsample;
    mg_downsample downsample; /* the ResNets only */
    mg_pad pad;
} mg_gen_config;

#define MG_UNET_MAX_DEPTH    10
#define MG_RESNET_MAX_BLOCKS 12
#define MG_GEN_MAX_LAYERS    (2 * MG_RESNET_MAX_BLOCKS + 6)

typedef struct mg_generator {
    mg_net net;
    mg_gen_config cfg;
    /* Convolutions in order. unet: encoder levels 0..depth-1, then decoder levels 0..depth-1 (level i's
     * decoder produces level i-1's channels). resnet: stem, 2 downs, 2 per block, 2 ups, head. */
    mg_tensor *w[MG_GEN_MAX_LAYERS], *b[MG_GEN_MAX_LAYERS];
} mg_generator;

/* U-Net depth for a square crop: log2(size), at least 3. */
int mg_unet_depth_for(int size);
/* Fits cfg (its kind, ngf, blocks and dropout set) to training crops of side size, as the recipe does: the U-Net's
 * depth from the size; the ResNet without dropout. */
void mg_generator_fit(mg_gen_config *cfg, int size);
/* Side multiple the generator needs its input to be (2^depth for unet, 4 for resnet). */
int mg_generator_multiple(const mg_gen_config *cfg);
mg_status mg_generator_new(mg_backend *be, const char *prefix, const mg_gen_config *cfg, mg_generator *out);
/* Draws the generator's initial weights from rng: normal(0, 0.02) as CycleGAN, or what its kind needs. */
mg_status mg_generator_init(mg_generator *gen, mg_rng *rng);
/* Parameter values of such a generator, computed without allocating (MG_ERR_ARG for a configuration
 * mg_generator_new refuses). */
mg_status mg_generator_param_count(const mg_gen_config *cfg, size_t *out);
/* x [N,1,H,W] in [-1,1], H and W multiples of mg_generator_multiple(); returns tanh output of x's size. */
mg_tensor *mg_generator_forward(mg_graph *g, const mg_generator *gen, mg_tensor *x);

/* The least input side the PatchGAN takes: three stride-2 convolutions take n to n/8, the two others 1 each. */
#define MG_PATCHGAN_MIN_SIDE 24

/* 70x70 PatchGAN, n_layers 3: C64 (no norm) C128 C256 (k4 s2 p1) C512 (k4 s1 p1) -> 1 (k4 s1 p1). */
typedef struct mg_discriminator {
    mg_net net;
    int ndf;
    mg_pad pad;
    mg_tensor *w[5], *b[5];
} mg_discriminator;

mg_status mg_discriminator_new(mg_backend *be, const char *prefix, int ndf, mg_pad pad, mg_discriminator *out);
mg_status mg_discriminator_param_count(int ndf, size_t *out);
/* Patch logits [N,1,h,w]. */
mg_tensor *mg_discriminator_forward(mg_graph *g, const mg_discriminator *d, mg_tensor *x);

#ifdef __cplusplus
}
#endif
#endif
