/* The generators. U-Net (pix2pix's UnetGenerator, as the reference): encoder conv4 s2 p1, LeakyReLU 0.2
 * before every down conv but the first, instance norm after every down conv except the first and the
 * innermost (a 1x1 bottleneck is not normalised: that would output a constant); decoder ReLU -> transposed
 * conv4 s2 p1 -> instance norm (outermost: tanh), optional dropout 0.5 in the 8*ngf levels below the
 * innermost, concatenated with the LeakyReLU of the matching encoder output. ResNet (CycleGAN's
 * ResnetGenerator): c7s1-ngf, d2ngf, d4ngf, residual blocks, u2ngf, ungf, c7s1-1, tanh, with reflection
 * padding and instance norm. With MG_UPSAMPLE_RESIZE (MG_UPSAMPLE_BILINEAR) every transposed convolution of either
 * becomes a nearest-neighbour (bilinear) 2x resize then a 3x3 convolution (reflection-padded in the ResNet,
 * zero-padded in the U-Net as its other convolutions are), with the same channels. With MG_PAD_REFLECT the
 * zero-padded convolutions (the ResNet's strided ones, all of the U-Net's but its transposed ones) pad by
 * reflection instead. With MG_DOWNSAMPLE_BLURRED the ResNets blur every channel before each strided convolution. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "graph/graph.h"
#include "net-internal.h"

static int unet_channels(const mg_gen_config *c, int level)
{
    int m = 1 << (level < 3 ? level : 3);
    return c->ngf * m;
}

int mg_unet_depth_for(int size)
{
    int d = 0;
    while ((2 << d) <= size)
        d++;
    return d < 3 ? 3 : d;
}

static int unet_multiple(const mg_gen_config *c) { return 1 << c->depth; }

static void unet_fit(mg_gen_config *c, int size) { c->depth = mg_unet_depth_for(size); }

/* The generators other than the ResNets have no blurred downsampling (the U-Net's 8 * ngf channels would make the
 * blur as dear as its convolutions; the local generator does not downsample). */
static mg_status strided_only(const mg_gen_config *c, const char *kind)
{
    if (c->downsample != MG_DOWNSAMPLE_STRIDED)
        return mg_error(MG_ERR_ARG, "%s: blurred downsampling is for the resnets", kind);
    return MG_OK;
}

static mg_status unet_check(const mg_gen_config *c)
{
    if (c->depth < 3 || c->depth > MG_UNET_MAX_DEPTH)
        return mg_error(MG_ERR_ARG, "unet: depth %d outside 3..%d", c->depth, MG_UNET_MAX_DEPTH);
    return strided_only(c, "unet");
}

static mg_status unet_build(mg_backend *be, mg_generator *gen)
{
    const mg_gen_config *c = &gen->cfg;
    char name[16];
    for (int i = 0; i < c->depth; i++) {
        snprintf(name, sizeof name, "down%d", i + 1);
        int c_in = i == 0 ? 1 : unet_channels(c, i - 1);
        mg_status s = mg_net_conv(&gen->net, be, name, unet_channels(c, i), c_in, 4, false, &gen->w[i], &gen->b[i]);
        if (s != MG_OK)
            return s;
    }
    for (int i = c->depth - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "up%d", i + 1);
        int c_in = i == c->depth - 1 ? unet_channels(c, i) : 2 * unet_channels(c, i);
        int c_out = i == 0 ? 1 : unet_channels(c, i - 1);
        bool resize = c->upsample != MG_UPSAMPLE_TRANSPOSE;
        mg_status s = mg_net_conv(&gen->net, be, name, c_out, c_in, resize ? 3 : 4, !resize, &gen->w[c->depth + i],
                                  &gen->b[c->depth + i]);
        if (s != MG_OK)
            return s;
    }
    return MG_OK;
}

/* A convolution padded by one pixel on every side, with zeros or by reflection as the configuration says. */
static mg_tensor *gen_conv_pad1(mg_graph *g, const mg_gen_config *c, mg_tensor *x, mg_tensor *w, mg_tensor *b,
                                int stride)
{
    if (c->pad == MG_PAD_REFLECT)
        return mg_conv2d(g, mg_reflect_pad2d(g, x, 1, 1, 1, 1), w, b, stride, 0);
    return mg_conv2d(g, x, w, b, stride, 1);
}

/* The 2x resize of the resize-convolution decoders. */
static mg_tensor *gen_resize(mg_graph *g, const mg_gen_config *c, mg_tensor *x)
{
    return c->upsample == MG_UPSAMPLE_BILINEAR ? mg_bilinear2d(g, x, 2) : mg_upsample2d(g, x, 2);
}

static mg_tensor *unet_forward(mg_graph *g, const mg_generator *gen, mg_tensor *x)
{
    const mg_gen_config *c = &gen->cfg;
    const int depth = c->depth;
    /* feats[i]: level i's encoder output after its leaky ReLU, which both the next level and the skip read (the
     * innermost level's is never used: the decoder starts from its plain output) */
    mg_tensor *feats[MG_UNET_MAX_DEPTH];
    for (int i = 0; i < depth; i++) {
        x = gen_conv_pad1(g, c, i == 0 ? x : feats[i - 1], gen->w[i], gen->b[i], 2);
        if (i == depth - 1)
            break;
        feats[i] = i > 0 ? mg_instance_norm_relu(g, x, NULL, NULL, 1e-5f, 0.2f) : mg_leaky_relu(g, x, 0.2f);
    }
    for (int i = depth - 1; i >= 0; i--) {
        mg_tensor *u =
            c->upsample != MG_UPSAMPLE_TRANSPOSE
                ? gen_conv_pad1(g, c, gen_resize(g, c, mg_relu(g, x)), gen->w[depth + i], gen->b[depth + i], 1)
                : mg_conv_transpose2d(g, mg_relu(g, x), gen->w[depth + i], gen->b[depth + i], 2, 1, 0);
        if (i == 0)
            return mg_tanh(g, u);
        u = mg_instance_norm(g, u, NULL, NULL, 1e-5f);
        if (c->dropout && i >= 4 && i < depth - 1)
            u = mg_dropout(g, u, 0.5f);
        x = mg_concat(g, feats[i - 1], u);
    }
    return NULL; /* not reached: depth >= 1 */
}

/* Layer indices of the ResNet: stem 0, downs 1-2, block k's convs 3+2k and 4+2k, ups, head. */
static int resnet_multiple(const mg_gen_config *c)
{
    (void)c;
    return 4;
}
#define resnet_skip_multiple resnet_multiple

/* Generators whose shape does not follow the crop size and that train without dropout (the ResNets,
 * the local one). */
static void fit_fixed(mg_gen_config *c, int size)
{
    (void)size;
    c->depth = 0;
    c->dropout = false;
}
#define resnet_fit      fit_fixed
#define resnet_skip_fit fit_fixed
#define local_fit       fit_fixed

/* c->blocks in 1..MG_RESNET_MAX_BLOCKS; kind and unit name them in the message. */
static mg_status blocks_check(const mg_gen_config *c, const char *kind, const char *unit)
{
    if (c->blocks < 1 || c->blocks > MG_RESNET_MAX_BLOCKS)
        return mg_error(MG_ERR_ARG, "%s: %d %s outside 1..%d", kind, c->blocks, unit, MG_RESNET_MAX_BLOCKS);
    return MG_OK;
}

static mg_status resnet_check(const mg_gen_config *c) { return blocks_check(c, "resnet", "blocks"); }
static mg_status resnet_skip_check(const mg_gen_config *c) { return blocks_check(c, "resnet_skip", "blocks"); }

/* The ResNet's layers; skip: its head sees the stem's ngf full-resolution channels beside the last up's, a path for
 * the pixel-level detail that the two downsamplings lose (the outermost skip of a U-Net, and no other). */
static mg_status resnet_layers(mg_backend *be, mg_generator *gen, bool skip)
{
    const mg_gen_config *c = &gen->cfg;
    const int f = c->ngf, nb = c->blocks;
    char name[24];
    int l = 0;
    mg_status s = mg_net_conv(&gen->net, be, "stem", f, 1, 7, false, &gen->w[l], &gen->b[l]);
    l++;
    for (int m = 1; m <= 2 && s == MG_OK; m++, l++) {
        snprintf(name, sizeof name, "down%d", m);
        s = mg_net_conv(&gen->net, be, name, f << m, f << (m - 1), 3, false, &gen->w[l], &gen->b[l]);
    }
    for (int k = 0; k < 2 * nb && s == MG_OK; k++, l++) {
        snprintf(name, sizeof name, "res%d.conv%d", k / 2 + 1, k % 2 + 1);
        s = mg_net_conv(&gen->net, be, name, 4 * f, 4 * f, 3, false, &gen->w[l], &gen->b[l]);
    }
    for (int m = 2; m >= 1 && s == MG_OK; m--, l++) {
        snprintf(name, sizeof name, "up%d", m);
        s = mg_net_conv(&gen->net, be, name, f << (m - 1), f << m, 3, c->upsample == MG_UPSAMPLE_TRANSPOSE, &gen->w[l],
                        &gen->b[l]);
    }
    if (s == MG_OK)
        s = mg_net_conv(&gen->net, be, "head", 1, skip ? 2 * f : f, 7, false, &gen->w[l], &gen->b[l]);
    return s;
}

static mg_status resnet_build(mg_backend *be, mg_generator *gen) { return resnet_layers(be, gen, false); }
static mg_status resnet_skip_build(mg_backend *be, mg_generator *gen) { return resnet_layers(be, gen, true); }

static mg_tensor *norm_relu(mg_graph *g, mg_tensor *x) { return mg_instance_norm_relu(g, x, NULL, NULL, 1e-5f, 0.0f); }

/* Every channel of x [N,C,H,W] blurred by [1 2 1] x [1 2 1] / 16, the edges reflected: one convolution by a constant
 * block-diagonal kernel (C times the multiply-adds a per-channel blur needs, about a tenth more for the default
 * ResNet's generator; the ResNets' downsampled channels are few). */
static mg_tensor *gen_blur(mg_graph *g, mg_tensor *x)
{
    if (!x)
        return NULL;
    const int ch = x->shape[1], shape[4] = {ch, ch, 3, 3};
    static const float tap[9] = {1 / 16.f, 2 / 16.f, 1 / 16.f, 2 / 16.f, 4 / 16.f,
                                 2 / 16.f, 1 / 16.f, 2 / 16.f, 1 / 16.f};
    float *k = calloc((size_t)ch * ch * 9, sizeof *k);
    if (!k)
        return mg_graph_fail(g, mg_error(MG_ERR_OOM, "generator: out of host memory"));
    for (int c = 0; c < ch; c++)
        memcpy(k + ((size_t)c * ch + c) * 9, tap, sizeof tap);
    mg_tensor *kernel = mg_graph_tensor(g, 4, shape, k);
    free(k);
    return mg_conv2d(g, mg_reflect_pad2d(g, x, 1, 1, 1, 1), kernel, NULL, 1, 0);
}

/* The ResNets' stride-2 convolution, after the blur that anti-aliases it when the configuration asks. */
static mg_tensor *resnet_down(mg_graph *g, const mg_gen_config *c, mg_tensor *x, mg_tensor *w, mg_tensor *b)
{
    return gen_conv_pad1(g, c, c->downsample == MG_DOWNSAMPLE_BLURRED ? gen_blur(g, x) : x, w, b, 2);
}

static mg_tensor *resnet_run(mg_graph *g, const mg_generator *gen, mg_tensor *x, bool skip)
{
    const int nb = gen->cfg.blocks;
    const mg_gen_config *c = &gen->cfg;
    mg_tensor *stem = norm_relu(g, mg_conv2d(g, mg_reflect_pad2d(g, x, 3, 3, 3, 3), gen->w[0], gen->b[0], 1, 0));
    x = norm_relu(g, resnet_down(g, c, stem, gen->w[1], gen->b[1]));
    x = norm_relu(g, resnet_down(g, c, x, gen->w[2], gen->b[2]));
    for (int k = 0; k < nb; k++) {
        int l = 3 + 2 * k;
        mg_tensor *r = norm_relu(g, mg_conv2d(g, mg_reflect_pad2d(g, x, 1, 1, 1, 1), gen->w[l], gen->b[l], 1, 0));
        if (gen->cfg.dropout)
            r = mg_dropout(g, r, 0.5f);
        r = mg_conv2d(g, mg_reflect_pad2d(g, r, 1, 1, 1, 1), gen->w[l + 1], gen->b[l + 1], 1, 0);
        x = mg_add(g, x, mg_instance_norm(g, r, NULL, NULL, 1e-5f));
    }
    for (int m = 0; m < 2; m++) {
        int l = 3 + 2 * nb + m;
        if (gen->cfg.upsample != MG_UPSAMPLE_TRANSPOSE)
            x = mg_conv2d(g, mg_reflect_pad2d(g, gen_resize(g, &gen->cfg, x), 1, 1, 1, 1), gen->w[l], gen->b[l], 1, 0);
        else
            x = mg_conv_transpose2d(g, x, gen->w[l], gen->b[l], 2, 1, 1);
        x = norm_relu(g, x);
    }
    int l = 5 + 2 * nb;
    if (skip) /* the last up's channels first, so the head's weights over them are the plain ResNet's */
        x = mg_concat(g, x, stem);
    return mg_tanh(g, mg_conv2d(g, mg_reflect_pad2d(g, x, 3, 3, 3, 3), gen->w[l], gen->b[l], 1, 0));
}

static mg_tensor *resnet_forward(mg_graph *g, const mg_generator *gen, mg_tensor *x)
{
    return resnet_run(g, gen, x, false);
}

static mg_tensor *resnet_skip_forward(mg_graph *g, const mg_generator *gen, mg_tensor *x)
{
    return resnet_run(g, gen, x, true);
}

/* The local generator: blocks 3x3 convolutions of width ngf at the input's resolution (reflection-padded, each
 * followed by LeakyReLU 0.2), then a 1x1 convolution to one channel and tanh. No normalisation: each pixel's output
 * depends on the absolute intensities within its (2 * blocks + 1)-pixel neighbourhood only, so a crop and a whole
 * slice are translated alike. Layer l < blocks is a 3x3 convolution, layer blocks the head. */
static int local_multiple(const mg_gen_config *c)
{
    (void)c;
    return 1;
}

static mg_status local_check(const mg_gen_config *c)
{
    mg_status s = blocks_check(c, "local", "layers");
    return s == MG_OK ? strided_only(c, "local") : s;
}

static mg_status local_build(mg_backend *be, mg_generator *gen)
{
    const mg_gen_config *c = &gen->cfg;
    char name[24];
    mg_status s = MG_OK;
    for (int l = 0; l < c->blocks && s == MG_OK; l++) {
        snprintf(name, sizeof name, "conv%d", l + 1);
        s = mg_net_conv(&gen->net, be, name, c->ngf, l ? c->ngf : 1, 3, false, &gen->w[l], &gen->b[l]);
    }
    return s == MG_OK ? mg_net_conv(&gen->net, be, "head", 1, c->ngf, 1, false, &gen->w[c->blocks], &gen->b[c->blocks])
                      : s;
}

/* Without normalisation, normal(0, 0.02) would shrink the signal about fivefold per layer: He initialisation for
 * LeakyReLU 0.2 instead (std sqrt(2 / (1.04 fan_in))), and the tanh head's variance-preserving sqrt(1 / fan_in).
 * Biases start at 0; the draws come in the order of the parameters, as mg_net_init's. */
static mg_status local_init(mg_generator *gen, mg_rng *rng)
{
    mg_status s = MG_OK;
    for (int i = 0; i < gen->net.n_params && s == MG_OK; i++) {
        mg_tensor *p = gen->net.params[i];
        if (p->ndim == 1) {
            s = mg_tensor_fill(p, 0.0f);
            continue;
        }
        double fan_in = (double)p->shape[1] * p->shape[2] * p->shape[3];
        bool head = i == gen->net.n_params - 2;
        s = mg_init_normal(p, rng, 0.0f, (float)sqrt((head ? 1.0 : 2.0 / 1.04) / fan_in));
    }
    return s;
}

static mg_tensor *local_forward(mg_graph *g, const mg_generator *gen, mg_tensor *x)
{
    const int n = gen->cfg.blocks;
    for (int l = 0; l < n; l++)
        x = mg_leaky_relu(g, mg_conv2d(g, mg_reflect_pad2d(g, x, 1, 1, 1, 1), gen->w[l], gen->b[l], 1, 0), 0.2f);
    return mg_tanh(g, mg_conv2d(g, x, gen->w[n], gen->b[n], 1, 0));
}

/* ------------------------------------------------------------------ the generators of generators.def */
/* The standard initialisation (CycleGAN's): normal(0, 0.02) weights, zero biases. */
static mg_status standard_init(mg_generator *gen, mg_rng *rng) { return mg_net_init(&gen->net, rng, 0.02f); }
#define unet_init        standard_init
#define resnet_init      standard_init
#define resnet_skip_init standard_init

typedef struct gen_kind {
    mg_status (*check)(const mg_gen_config *c);
    mg_status (*init)(mg_generator *gen, mg_rng *rng);
    void (*fit)(mg_gen_config *c, int size);
    int (*multiple)(const mg_gen_config *c);
    mg_status (*build)(mg_backend *be, mg_generator *gen);
    mg_tensor *(*forward)(mg_graph *g, const mg_generator *gen, mg_tensor *x);
} gen_kind;

static const gen_kind gen_kinds[MG_GEN_COUNT] = {
#define GENERATOR(e, name, what)                                                                                       \
    [MG_GEN_##e] = {name##_check, name##_init, name##_fit, name##_multiple, name##_build, name##_forward},
#include "mrigan/generators.def"
#undef GENERATOR
};

const char *const mg_generator_names[MG_GEN_COUNT] = {
#define GENERATOR(e, name, what) [MG_GEN_##e] = #name,
#include "mrigan/generators.def"
#undef GENERATOR
};

const char mg_generator_choice_list[] = ""
#define GENERATOR(e, name, what) "|" #name
#include "mrigan/generators.def"
#undef GENERATOR
    ;

mg_status mg_generator_kind_of(const char *name, mg_gen_kind *out)
{
    for (int k = 0; k < MG_GEN_COUNT; k++)
        if (!strcmp(name, mg_generator_names[k]))
            return *out = (mg_gen_kind)k, MG_OK;
    return mg_error(MG_ERR_FORMAT, "generator '%s' is not one of %s", name, MG_GENERATOR_CHOICES);
}

static bool gen_known(const mg_gen_config *cfg) { return (unsigned)cfg->kind < MG_GEN_COUNT; }

void mg_generator_fit(mg_gen_config *cfg, int size)
{
    if (gen_known(cfg))
        gen_kinds[cfg->kind].fit(cfg, size);
}

int mg_generator_multiple(const mg_gen_config *cfg) { return gen_known(cfg) ? gen_kinds[cfg->kind].multiple(cfg) : 1; }

mg_status mg_generator_new(mg_backend *be, const char *prefix, const mg_gen_config *cfg, mg_generator *out)
{
    memset(out, 0, sizeof *out);
    if (cfg->ngf < 1 || cfg->ngf > 1024)
        return mg_error(MG_ERR_ARG, "generator: ngf %d outside 1..1024", cfg->ngf);
    if (!gen_known(cfg))
        return mg_error(MG_ERR_ARG, "generator: kind %d is not one of %s", (int)cfg->kind, MG_GENERATOR_CHOICES);
    if ((unsigned)cfg->upsample > MG_UPSAMPLE_BILINEAR)
        return mg_error(MG_ERR_ARG, "generator: upsample %d is not one of %s", (int)cfg->upsample, MG_UPSAMPLE_CHOICES);
    if ((unsigned)cfg->downsample > MG_DOWNSAMPLE_BLURRED)
        return mg_error(MG_ERR_ARG, "generator: downsample %d is not one of %s", (int)cfg->downsample,
                        MG_DOWNSAMPLE_CHOICES);
    if ((unsigned)cfg->pad > MG_PAD_REFLECT)
        return mg_error(MG_ERR_ARG, "generator: pad %d is not one of %s", (int)cfg->pad, MG_PAD_CHOICES);
    mg_status s = gen_kinds[cfg->kind].check(cfg);
    if (s != MG_OK)
        return s;
    out->cfg = *cfg;
    snprintf(out->net.prefix, sizeof out->net.prefix, "%s", prefix);
    s = gen_kinds[cfg->kind].build(be, out);
    if (s != MG_OK)
        mg_net_free(&out->net);
    return s;
}

mg_status mg_generator_init(mg_generator *gen, mg_rng *rng) { return gen_kinds[gen->cfg.kind].init(gen, rng); }

mg_status mg_generator_param_count(const mg_gen_config *cfg, size_t *out)
{
    mg_generator g;
    mg_status s = mg_generator_new(NULL, "count", cfg, &g);
    *out = s == MG_OK ? g.net.numel : 0;
    return s;
}

mg_tensor *mg_generator_forward(mg_graph *g, const mg_generator *gen, mg_tensor *x)
{
    return gen_kinds[gen->cfg.kind].forward(g, gen, x);
}
