/* The whole model on every OpenCL device against the CPU backend, compared where float rounding cannot be
 * amplified:
 *   - three CycleGAN training steps, each started from the same state on both backends (the CPU's weights,
 *     Adam moments and history pools copied over through a checkpoint before every step): the nine losses and
 *     the gradients of every network and layer must agree;
 *   - Adam itself: the same parameters, gradients and moments on both, three updates;
 *   - translations with the same (trained) weights.
 * Letting the two backends train side by side instead compares noise: Adam's first steps move every weight by
 * about lr times the sign of its gradient, so a gradient element that is zero in exact arithmetic (a bias
 * before an instance norm) or merely small gets a whole step in a direction decided by rounding, and every
 * later step amplifies that. Exit 77 ("skipped") when there is no OpenCL device. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrigan/blas.h"
#include "mrigan/cyclegan.h"
#include "mrigan/opencl.h"

#include "check.h"

enum { S = 64, STEPS = 3 };

/* Tolerances from the arithmetic. Both backends evaluate the same float32 expressions in different orders (GEMM
 * blocking, FMA contraction, reduction trees); two summation orders of a length-K dot product differ by at most about
 * 2 K u of the sum of the terms' magnitudes, u = 2^-24 = 6e-8, and typically by sqrt(K) u. The deepest reduction here
 * is K = 2 * 64 * 16 = 2048, so a layer adds at most 2.4e-4 relative error, typically 2.7e-6; a loss passes through up
 * to three networks, about 30 layers: 1e-4 as rounding errors actually add, 1e-2 in the worst case. LOSS_TOL is the
 * typical accumulation times 10 (measured: 1e-7 to 1e-6).
 * Gradients are not continuous in the weights: where a ReLU or LeakyReLU input, or an L1 residual, lies within
 * rounding of zero, the two backends can take different branches. That drops one of the P terms a weight's gradient
 * sums over output positions, moving the gradients upstream of it by about 1/sqrt(P) (an L1 residual: 2/sqrt(64 * 64)
 * = 3%). In 30 runs of this test with other input images, on OpenBLAS's Prescott, Haswell and SkylakeX kernels against
 * PoCL, the gradients agreed to 2e-6 to 3e-5 where no branch differed and to 6e-4 to 3.3e-2 where one did (per layer;
 * per network at most 2.6e-2). A branch at one of the 4 positions of the U-Net's 2x2 levels could move that layer's
 * gradient by 50%, but only 256 activations there can take it. So the bounds allow one branch anywhere and sit well
 * below what a backend's own fault gives: a gradient missed, doubled or sent to the wrong tensor is off by 0.5 or
 * more. The per-op rows of ops-opencl check every kernel on its own to 1e-4 and against finite differences. */
#define LOSS_TOL     1e-3
#define NET_GRAD_TOL 0.1
#define GRAD_TOL     0.25
/* Adam is elementwise: m, v and the update each take a handful of roundings, and sqrt and division on an
 * OpenCL device may be off by up to 3 ulp (OpenCL 1.2, section 7.4); 16 ulp of the update's size leaves room
 * for both. Adding the update to the parameter then rounds to the parameter's own ulp, so two updates one ulp
 * apart can land one ulp of |p| apart: each step may add that too. */
#define ADAM_ULPS 16.0
/* One 8-bit gray level is 2/255 in [-1, 1]; same weights give the same image to ~1e-5, so a tenth of one. */
#define GRAY_TOL 0.1

static void fill(float *v, size_t n, uint64_t seed)
{
    mg_rng r;
    mg_rng_seed(&r, seed, 9);
    for (size_t i = 0; i < n; i++)
        v[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
}

static float *read_all(const mg_tensor *t)
{
    float *v = malloc(t->numel * sizeof *v);
    MUST(v ? MG_OK : MG_ERR_OOM);
    MUST(mg_tensor_read(t, v, t->numel));
    return v;
}

/* ||a - b|| and ||b||, accumulated over the tensors of one layer. */
static void add_diff(const mg_tensor *a, const mg_tensor *b, double *diff2, double *norm2)
{
    float *va = read_all(a), *vb = read_all(b);
    for (size_t i = 0; i < a->numel; i++) {
        *diff2 += ((double)va[i] - vb[i]) * ((double)va[i] - vb[i]);
        *norm2 += (double)vb[i] * vb[i];
    }
    free(va);
    free(vb);
}

/* Worst relative L2 difference of a layer's gradient (weight and bias together: a bias before an instance
 * norm has an exact gradient of 0, so alone it is pure rounding noise, but beside its weight's gradient it
 * weighs what it is worth) over the networks' layers; names the worst layer. */
static double worst_grad_err(const mg_net *na, const mg_net *nb, const char **worst_name, double *net_err)
{
    double worst = 0.0, net_diff2 = 0.0, net_norm2 = 0.0;
    *net_err = INFINITY;
    for (int i = 0; i + 1 < na->n_params; i += 2) {
        double diff2 = 0.0, norm2 = 0.0;
        for (int k = i; k < i + 2; k++) {
            if (!na->params[k]->grad || !nb->params[k]->grad) {
                *worst_name = na->params[k]->name;
                return INFINITY; /* no gradient at all */
            }
            add_diff(nb->params[k]->grad, na->params[k]->grad, &diff2, &norm2);
        }
        net_diff2 += diff2;
        net_norm2 += norm2;
        double e = sqrt(diff2 / fmax(norm2, 1e-300));
        if (e > worst) {
            worst = e;
            *worst_name = na->params[i]->name;
        }
    }
    *net_err = sqrt(net_diff2 / fmax(net_norm2, 1e-300));
    return worst;
}

/* b takes a's whole training state: weights, Adam moments and steps, history pools. */
static void copy_state(const mg_cyclegan *a, mg_cyclegan *b)
{
    mg_ckpt c;
    mg_ckpt_init(&c);
    MUST(mg_cyclegan_save(a, &c, true));
    MUST(mg_cyclegan_load(b, &c, true));
    mg_ckpt_free(&c);
}

static void compare_training(mg_backend *cpu, mg_backend *cl, const char *device, const char *what,
                             const mg_cyclegan_config *cfg)
{
    mg_cyclegan a, b;
    MUST(mg_cyclegan_new(cpu, cfg, 11, &a));
    MUST(mg_cyclegan_new(cl, cfg, 11, &b));
    float q[17]; /* the intensity loss's targets: a steady ramp; ranks that rounding swaps move little */
    for (int j = 0; j < 17; j++)
        q[j] = -1.0f + 2.0f * (float)j / 16.0f;
    for (int d = 0; cfg->lambda_intensity > 0.0f && d < 2; d++) {
        MUST(mg_cyclegan_set_quantiles(&a, d, q, 17));
        MUST(mg_cyclegan_set_quantiles(&b, d, q, 17));
    }
    mg_intensity_map inv; /* the contrast prior's maps: an inversion both ways, through the steps compared */
    for (int k = 0; k < MG_MAP_LEVELS; k++)
        inv.out[k] = 1.0f - (float)k / 127.5f;
    mg_cyclegan_set_prior(&a, &inv, &inv);
    mg_cyclegan_set_prior(&b, &inv, &inv);
    const mg_net *na[4] = {&a.g_ab.net, &a.g_ba.net, &a.d_a.net, &a.d_b.net};
    const mg_net *nb[4] = {&b.g_ab.net, &b.g_ba.net, &b.d_a.net, &b.d_b.net};
    float xa[S * S], xb[S * S];
    double worst_loss = 0.0, worst_grad = 0.0, worst_net = 0.0;
    const char *worst_layer = "";
    int before = failures;
    for (int step = 0; step < STEPS; step++) {
        copy_state(&a, &b);
        fill(xa, S * S, 100 + (uint64_t)step);
        fill(xb, S * S, 200 + (uint64_t)step);
        mg_rng ra, rb;
        mg_rng_seed(&ra, 5, (uint64_t)step);
        mg_rng_seed(&rb, 5, (uint64_t)step);
        mg_losses la, lb;
        MUST(mg_cyclegan_step(&a, xa, xb, S, S, &ra, (uint64_t)step, &la));
        MUST(mg_cyclegan_step(&b, xa, xb, S, S, &rb, (uint64_t)step, &lb));
        float va[MG_LOSS_COUNT], vb[MG_LOSS_COUNT];
        mg_losses_to_array(&la, va);
        mg_losses_to_array(&lb, vb);
        for (int k = 0; k < MG_LOSS_COUNT; k++) {
            double e = fabs((double)va[k] - vb[k]) / fmax(fabs((double)va[k]), 1e-6);
            worst_loss = fmax(worst_loss, e);
            CHECK(e <= LOSS_TOL, "%s %s step %d loss %s: cpu %.7g, opencl %.7g", device, what, step + 1,
                  mg_loss_names[k], va[k], vb[k]);
        }
        /* The step leaves each network's gradient of this step in place (Adam does not clear it). */
        for (int k = 0; k < 4; k++) {
            const char *name = "";
            double net_e;
            double e = worst_grad_err(na[k], nb[k], &name, &net_e);
            worst_net = fmax(worst_net, net_e);
            CHECK(e <= GRAD_TOL, "%s %s step %d: the gradient of %s differs by %.3g (relative L2)", device, what,
                  step + 1, name, e);
            CHECK(net_e <= NET_GRAD_TOL, "%s %s step %d: the gradient of %s differs by %.3g (relative L2)", device,
                  what, step + 1, na[k]->prefix, net_e);
            if (e > worst_grad) {
                worst_grad = e;
                worst_layer = name;
            }
        }
    }
    printf("%-4s %s, %s: %d steps from the same state: losses within %.1e, gradients within %.1e per network, "
           "%.1e per layer (%s)\n",
           failures == before ? "ok" : "FAIL", device, what, STEPS, worst_loss, worst_net, worst_grad, worst_layer);

    /* Translation of an odd-content image with the same trained weights. */
    before = failures;
    copy_state(&a, &b);
    float x[S * S], ya[S * S], yb[S * S];
    fill(x, S * S, 300);
    double worst = 0.0;
    for (int d = 0; d < 2; d++) {
        MUST(mg_cyclegan_translate(&a, d, x, S, S, ya));
        MUST(mg_cyclegan_translate(&b, d, x, S, S, yb));
        for (int i = 0; i < S * S; i++)
            worst = fmax(worst, fabs((double)ya[i] - yb[i]) * 127.5);
    }
    CHECK(worst <= GRAY_TOL, "%s %s: translations differ by %.3g gray levels", device, what, worst);
    printf("%-4s %s, %s: translations within %.1e gray levels of the CPU's\n", failures == before ? "ok" : "FAIL",
           device, what, worst);
    mg_cyclegan_free(&a);
    mg_cyclegan_free(&b);
}

/* One parameter with gradients spanning 1e-12 to 1, the same moments on both backends, three Adam updates. */
static void compare_adam(mg_backend *cpu, mg_backend *cl, const char *device)
{
    enum { N = 4099 };
    float *p0 = malloc(N * sizeof *p0), *g = malloc(N * sizeof *g), *pa = malloc(N * sizeof *pa),
          *pb = malloc(N * sizeof *pb);
    MUST(p0 && g && pa && pb ? MG_OK : MG_ERR_OOM);
    fill(p0, N, 400);
    fill(g, N, 401);
    for (int i = 0; i < N; i++)
        g[i] *= powf(10.0f, -(float)(i % 13)); /* magnitudes 1 down to 1e-12, both signs */
    mg_backend *be[2] = {cpu, cl};
    mg_tensor *p[2];
    mg_adam *opt[2];
    const mg_adam_config ac = {.lr = 2e-4f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f};
    for (int k = 0; k < 2; k++) {
        MUST(mg_param_new(be[k], "adam.p", 1, (const int[]){N}, &p[k]));
        MUST(mg_tensor_write(p[k], p0, N));
        /* A backward through a no-op loss creates the gradient buffer, which then gets the test's values. */
        mg_graph *gr;
        MUST(mg_graph_new(be[k], &gr));
        MUST(mg_graph_backward(gr, mg_sum(gr, p[k])));
        mg_graph_free(gr);
        MUST(mg_adam_new(be[k], &p[k], 1, &ac, &opt[k]));
    }
    double worst = 0.0;
    for (int step = 0; step < 3; step++) {
        for (int k = 0; k < 2; k++) {
            for (int i = 0; i < N; i++)
                pa[i] = g[i] * (1.0f + 0.25f * (float)step); /* a different gradient every step */
            MUST(mg_tensor_write(p[k]->grad, pa, N));
            MUST(mg_adam_step(opt[k]));
        }
        MUST(mg_tensor_read(p[0], pa, N));
        MUST(mg_tensor_read(p[1], pb, N));
        /* Each update is at most about lr: its rounding in ulps of lr, plus one ulp of p per step. */
        for (int i = 0; i < N; i++) {
            double allowed = (step + 1) * (ADAM_ULPS * ac.lr + fabs((double)pa[i])) * FLT_EPSILON;
            worst = fmax(worst, fabs((double)pa[i] - pb[i]) / allowed);
        }
    }
    CHECK(worst <= 1.0, "%s: Adam's updates differ by %.2f of the rounding allowed", device, worst);
    printf("%-4s %s: 3 Adam updates within %.2f of the rounding allowed of the CPU's\n", worst <= 1.0 ? "ok" : "FAIL",
           device, worst);
    for (int k = 0; k < 2; k++) {
        mg_adam_free(opt[k]);
        mg_tensor_free(p[k]);
    }
    free(p0);
    free(g);
    free(pa);
    free(pb);
}

int main(int argc, char **argv)
{
    (void)argc;
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    mg_device_info devs[16];
    int n = 0;
    if (mg_opencl_devices(devs, 16, &n) != MG_OK || n == 0) {
        printf("SKIP no OpenCL device\n");
        return 77;
    }
    const mg_cyclegan_config unet = {.gen = {.kind = MG_GEN_UNET, .ngf = 8, .depth = 6, .dropout = true},
                                     .ndf = 8,
                                     .gan_mode = MG_GAN_LSGAN,
                                     .lambda_cycle = 10.0f,
                                     .lambda_identity = 0.5f,
                                     .pool_size = 2,
                                     .lr = 2e-4f,
                                     .beta1 = 0.5f,
                                     .beta2 = 0.999f};
    mg_cyclegan_config resnet = unet;
    resnet.gen = (mg_gen_config){.kind = MG_GEN_RESNET, .ngf = 8, .blocks = 2};
    resnet.gan_mode = MG_GAN_VANILLA;
    mg_cyclegan_config resize = resnet;
    resize.gen.kind = MG_GEN_RESNET_SKIP;
    resize.gen.upsample = MG_UPSAMPLE_RESIZE;
    resize.gen.downsample = MG_DOWNSAMPLE_BLURRED;
    resize.lambda_structure = 1.0f;
    resize.structure_eps = 0.1f;
    resize.lambda_intensity = 1.0f;
    resize.cycle_noise = 0.1f;
    resize.cycle_blur = 1.0f;
    resize.d_blur = 0.8f;
    resize.structure_blur = 1.2f;
    resize.d_translate = 0.125f;
    resize.d_cutout = 0.5f;
    resize.d_jitter = 3;
    resize.lambda_prior = 2.0f;
    resize.prior_iterations = 100;
    resize.ema = 0.5f; /* translations below come from the averages */
    mg_cyclegan_config bilinear = unet;
    bilinear.gen.upsample = MG_UPSAMPLE_BILINEAR;
    mg_backend *cpu;
    MUST(mg_backend_cpu_new(0, &cpu));
    for (int d = 0; d < n && d < 16; d++) {
        mg_backend *cl;
        MUST(mg_backend_opencl_new(d, &cl));
        compare_adam(cpu, cl, devs[d].name);
        compare_training(cpu, cl, devs[d].name, "U-Net with dropout, LSGAN", &unet);
        compare_training(cpu, cl, devs[d].name, "ResNet, vanilla GAN", &resnet);
        compare_training(
            cpu, cl, devs[d].name,
            "ResNet with the stem's skip, blurred downsampling, resize upsampling, structure and intensity losses, "
            "cycle noise and blur, blurred, shifted, cut and jittered discriminator inputs, contrast prior, EMA",
            &resize);
        compare_training(cpu, cl, devs[d].name, "U-Net with dropout, bilinear upsampling", &bilinear);
        mg_backend_free(cl);
    }
    mg_backend_free(cpu);
    return failures ? 1 : 0;
}
