/* The whole model on every OpenCL device against the CPU backend: three CycleGAN training steps give the
 * same losses and updated weights, and translations agree within one gray level. Exit 77 ("skipped")
 * when there is no OpenCL device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrigan/cyclegan.h"

#include "check.h"

enum { S = 64 };
/* The CPU backend with 1 and with 2 threads differs from itself by the same measure as OpenCL differs
 * from the CPU (about 2.6e-2 on this test), float rounding amplified by Adam; a wrong kernel gives O(1). */
#define WEIGHT_TOL 0.05

static void fill(float *v, size_t n, uint64_t seed)
{
    mg_rng r;
    mg_rng_seed(&r, seed, 9);
    for (size_t i = 0; i < n; i++)
        v[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
}

static mg_cyclegan_config config(void)
{
    return (mg_cyclegan_config){.gen = {.kind = MG_GEN_UNET, .ngf = 8, .depth = 6, .dropout = true},
                                .ndf = 8,
                                .gan_mode = MG_GAN_LSGAN,
                                .lambda_cycle = 10.0f,
                                .lambda_identity = 0.5f,
                                .pool_size = 2,
                                .lr = 2e-4f,
                                .beta1 = 0.5f,
                                .beta2 = 0.999f};
}

/* ||a - b|| / ||b - b0||: the difference between the backends' weights relative to how far training moved
 * them. An L2 measure, because Adam turns float noise in near-zero gradient elements into whole steps of
 * about lr in either direction (elementwise maxima say nothing), while elements with real gradients agree. */
static double change_err(const mg_tensor *a, const mg_tensor *b, const float *b0)
{
    float *va = malloc(a->numel * sizeof *va), *vb = malloc(b->numel * sizeof *vb);
    MUST(mg_tensor_read(a, va, a->numel));
    MUST(mg_tensor_read(b, vb, b->numel));
    double diff = 0.0, moved = 1e-30;
    for (size_t i = 0; i < a->numel; i++) {
        diff += ((double)va[i] - vb[i]) * ((double)va[i] - vb[i]);
        moved += ((double)vb[i] - b0[i]) * ((double)vb[i] - b0[i]);
    }
    free(va);
    free(vb);
    return sqrt(diff / moved);
}

static void compare_training(mg_backend *cpu, mg_backend *cl, const char *device)
{
    int before = failures;
    mg_cyclegan_config cfg = config();
    mg_cyclegan a, b;
    MUST(mg_cyclegan_new(cpu, &cfg, 11, &a));
    MUST(mg_cyclegan_new(cl, &cfg, 11, &b));
    const mg_net *na[4] = {&a.g_ab.net, &a.g_ba.net, &a.d_a.net, &a.d_b.net};
    const mg_net *nb[4] = {&b.g_ab.net, &b.g_ba.net, &b.d_a.net, &b.d_b.net};
    float *initial[4][MG_NET_MAX_PARAMS];
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < na[k]->n_params; i++) {
            initial[k][i] = malloc(na[k]->params[i]->numel * sizeof(float));
            MUST(mg_tensor_read(na[k]->params[i], initial[k][i], na[k]->params[i]->numel));
        }
    float xa[S * S], xb[S * S];
    double worst_loss = 0.0;
    for (int step = 0; step < 3; step++) {
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
            if (e > 1e-3) {
                failures++;
                fprintf(stderr, "FAIL step %d loss %s: cpu %.7g, %s %.7g\n", step + 1, mg_loss_names[k], va[k], device,
                        vb[k]);
            }
        }
    }
    double worst_w = 0.0;
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < na[k]->n_params; i++) {
            double e = change_err(nb[k]->params[i], na[k]->params[i], initial[k][i]);
            if (na[k]->params[i]->ndim > 1)
                worst_w = fmax(worst_w, e);
            /* Biases before an instance norm get noise gradients (their true gradient is 0) that Adam
             * amplifies to steps of about lr; they cannot change any output, so only weights count. */
            if (e > WEIGHT_TOL && na[k]->params[i]->ndim > 1) {
                failures++;
                fprintf(stderr, "FAIL after 3 steps %s differs by %.3g of its change\n", na[k]->params[i]->name, e);
            }
            free(initial[k][i]);
        }
    printf("%-4s %s: 3 training steps: losses within %.1e relative, weights within %.1e of their change (L2)\n",
           failures == before ? "ok" : "FAIL", device, worst_loss, worst_w);

    /* Translation of an odd-content image on both: within one 8-bit gray level (2/255 in [-1, 1]). */
    before = failures;
    float x[S * S], ya[S * S], yb[S * S];
    fill(x, S * S, 300);
    double worst = 0.0;
    for (int d = 0; d < 2; d++) {
        MUST(mg_cyclegan_translate(&a, d, x, S, S, ya));
        MUST(mg_cyclegan_translate(&b, d, x, S, S, yb));
        for (int i = 0; i < S * S; i++)
            worst = fmax(worst, fabs((double)ya[i] - yb[i]) * 127.5);
    }
    if (worst > 1.0) {
        failures++;
        fprintf(stderr, "FAIL translations differ by %.2f gray levels\n", worst);
    }
    printf("%-4s %s: translations within %.3f gray levels of the CPU's\n", failures == before ? "ok" : "FAIL", device,
           worst);
    mg_cyclegan_free(&a);
    mg_cyclegan_free(&b);
}

int main(void)
{
    mg_device_info devs[16];
    int n = 0;
    if (mg_opencl_devices(devs, 16, &n) != MG_OK || n == 0) {
        printf("SKIP no OpenCL device\n");
        return 77;
    }
    mg_backend *cpu;
    MUST(mg_backend_cpu_new(0, &cpu));
    for (int d = 0; d < n && d < 16; d++) {
        mg_backend *cl;
        MUST(mg_backend_opencl_new(d, &cl));
        compare_training(cpu, cl, devs[d].name);
        mg_backend_free(cl);
    }
    mg_backend_free(cpu);
    return failures ? 1 : 0;
}
