/* mrigan bench: convolution throughput of the CycleGAN generators against plain OpenBLAS SGEMM.
 *
 * For every distinct convolution shape of the ResNet-9 generator and of the U-Net generator (unet_256),
 * both at 256x256 with one image channel and ngf 64, and of mrigan train's default generator (ResNet, ngf 16,
 * 6 blocks, resize-and-convolve upsampling, at 224x224), batch 1, it times mrigan's conv op (forward, then
 * backward from a seed of ones, which computes dX and dW) and a bare cblas_sgemm of the same GEMM sizes
 * on the same number of threads. Every figure is the median of the repetitions after one warm-up; all conv
 * shapes are timed first, then all sgemm ones, so the two thread pools never run interleaved.
 *
 * Reading the table: "xN" is how often the shape occurs in the network. GFLOP/s count 2*M*N*K forward and
 * twice that backward (the dX and dW GEMMs), with M = Cout, N = Hout*Wout, K = Cin*kh*kw for a
 * convolution and M = Cout*kh*kw, N = Hin*Win, K = Cin for a transposed one ("T" in the shape). Bias,
 * im2col/col2im and padding work is not counted, so "eff" (conv GFLOP/s over sgemm GFLOP/s) shows how much
 * of the GEMM speed survives that overhead. The CPU backend computes 3x3 stride-1 convolutions by Winograd's
 * F(4x4, 3x3), a quarter of the multiplications: their "eff" is above 100% (the same GEMM-sized work done in less
 * time). Input sizes are after any reflection padding.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "base/base.h"
#include "commands.h"
#include "options.h"

#include <mrigan/blas.h>
#include <mrigan/mrigan.h>
#include <mrigan/opencl.h>

#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_REPS 1000
#define BENCH_MIN_REPS 3

typedef struct bench_layer {
    const char *net;
    const char *name;
    bool transposed;
    int cin, cout, k, stride, pad, out_pad;
    int hw;     /* input height = width */
    int count;  /* occurrences in the network */
    bool quick; /* part of the --quick subset */
} bench_layer;

/* Both generators in network order; dedupe merges identical shapes and adds up their counts. */
static const bench_layer bench_layers[] = {
    {"resnet9", "c7s1-64", false, 1, 64, 7, 1, 0, 0, 262, 1, true},
    {"resnet9", "d128", false, 64, 128, 3, 2, 1, 0, 256, 1, false},
    {"resnet9", "d256", false, 128, 256, 3, 2, 1, 0, 128, 1, false},
    {"resnet9", "R256", false, 256, 256, 3, 1, 0, 0, 66, 9, true}, /* first conv of each block */
    {"resnet9", "R256", false, 256, 256, 3, 1, 0, 0, 66, 9, true}, /* second conv of each block */
    {"resnet9", "u128", true, 256, 128, 3, 2, 1, 1, 64, 1, true},
    {"resnet9", "u64", true, 128, 64, 3, 2, 1, 1, 128, 1, false},
    {"resnet9", "c7s1-1", false, 64, 1, 7, 1, 0, 0, 262, 1, false},
    /* mrigan train's default generator at 224: ngf 16, 6 blocks, upsampling by a resize and a 3x3 convolution */
    {"default", "c7s1-16", false, 1, 16, 7, 1, 0, 0, 230, 1, false},
    {"default", "d32", false, 16, 32, 3, 2, 1, 0, 224, 1, false},
    {"default", "d64", false, 32, 64, 3, 2, 1, 0, 112, 1, false},
    {"default", "R64", false, 64, 64, 3, 1, 0, 0, 58, 12, true},
    {"default", "u32", false, 64, 32, 3, 1, 0, 0, 114, 1, false},
    {"default", "u16", false, 32, 16, 3, 1, 0, 0, 226, 1, false},
    {"default", "c7s1-1", false, 16, 1, 7, 1, 0, 0, 230, 1, false},
    {"unet256", "down1", false, 1, 64, 4, 2, 1, 0, 256, 1, false},
    {"unet256", "down2", false, 64, 128, 4, 2, 1, 0, 128, 1, false},
    {"unet256", "down3", false, 128, 256, 4, 2, 1, 0, 64, 1, true},
    {"unet256", "down4", false, 256, 512, 4, 2, 1, 0, 32, 1, false},
    {"unet256", "down5", false, 512, 512, 4, 2, 1, 0, 16, 1, false},
    {"unet256", "down6", false, 512, 512, 4, 2, 1, 0, 8, 1, false},
    {"unet256", "down7", false, 512, 512, 4, 2, 1, 0, 4, 1, false},
    {"unet256", "down8", false, 512, 512, 4, 2, 1, 0, 2, 1, false},
    {"unet256", "up8", true, 512, 512, 4, 2, 1, 0, 1, 1, false},
    {"unet256", "up7", true, 1024, 512, 4, 2, 1, 0, 2, 1, false},
    {"unet256", "up6", true, 1024, 512, 4, 2, 1, 0, 4, 1, false},
    {"unet256", "up5", true, 1024, 512, 4, 2, 1, 0, 8, 1, false},
    {"unet256", "up4", true, 1024, 256, 4, 2, 1, 0, 16, 1, true},
    {"unet256", "up3", true, 512, 128, 4, 2, 1, 0, 32, 1, false},
    {"unet256", "up2", true, 256, 64, 4, 2, 1, 0, 64, 1, false},
    {"unet256", "up1", true, 128, 1, 4, 2, 1, 0, 128, 1, false},
};
#define BENCH_N_LAYERS (sizeof bench_layers / sizeof bench_layers[0])

typedef struct bench_opts {
    int threads; /* 0: all cores */
    int reps;    /* 0: adaptive */
    bool quick;
    bool json;
    const char *backend; /* auto, cpu or opencl */
    int device;          /* -1: default */
} bench_opts;

typedef struct bench_ctx {
    bench_opts opt;
    mg_backend *be;
    mg_graph *g;
    mg_rng rng;
    int threads;
    double target_s; /* wall time aimed at per shape */
} bench_ctx;

/* The conv under test: its parameters, and the input on the host. */
typedef struct bench_conv {
    mg_tensor *w, *b;
    float *x_host;
    int x_shape[4];
} bench_conv;

/* Operands of the matching plain GEMM, row-major: C[MxN] = A[MxK] * B[KxN]. */
typedef struct bench_gemm {
    int m, n, k;
    float *a, *b, *c, *da, *db;
} bench_gemm;

typedef struct bench_result {
    int reps, gemm_reps;
    double fwd_s, bwd_s, gemm_fwd_s, gemm_bwd_s; /* medians */
} bench_result;

static int bench_fail(const bench_layer *l, const char *what)
{
    if (l)
        fprintf(stderr, "mrigan bench: %s %s %s: %s\n", l->net, l->name, what, mg_last_error());
    else
        fprintf(stderr, "mrigan bench: %s: %s\n", what, mg_last_error());
    return 1;
}

static int bench_out_hw(const bench_layer *l)
{
    if (l->transposed)
        return (l->hw - 1) * l->stride - 2 * l->pad + l->k + l->out_pad;
    return (l->hw + 2 * l->pad - l->k) / l->stride + 1;
}

static void bench_gemm_dims(const bench_layer *l, int *m, int *n, int *k)
{
    int out = bench_out_hw(l);
    *m = l->transposed ? l->cout * l->k * l->k : l->cout;
    *n = l->transposed ? l->hw * l->hw : out * out;
    *k = l->transposed ? l->cin : l->cin * l->k * l->k;
}

int bench_gemm_shapes(const char *net, mg_gemm_shape *out, int max)
{
    int n = 0;
    for (size_t i = 0; i < BENCH_N_LAYERS; i++) {
        const bench_layer *l = &bench_layers[i];
        if (strcmp(l->net, net))
            continue;
        int m, p, k, side = l->transposed ? l->hw : bench_out_hw(l);
        bench_gemm_dims(l, &m, &p, &k);
        long rows = (long)MG_OPENCL_CONV_WORK_FLOATS / ((long)k * side); /* the OpenCL backend's band of rows */
        if (rows >= 1 && rows * side < p)
            p = (int)rows * side;
        const mg_gemm_shape three[3] = {{m, p, k, false, false}, {m, k, p, false, true}, {k, p, m, true, false}};
        for (int j = 0; j < 3; j++) {
            int d = 0;
            while (d < n && memcmp(&out[d], &three[j], sizeof three[j]))
                d++;
            if (d == n && n < max)
                out[n++] = three[j];
        }
    }
    return n;
}

static bool bench_same_shape(const bench_layer *a, const bench_layer *b)
{
    return strcmp(a->net, b->net) == 0 && a->transposed == b->transposed && a->cin == b->cin && a->cout == b->cout &&
           a->k == b->k && a->stride == b->stride && a->pad == b->pad && a->out_pad == b->out_pad && a->hw == b->hw;
}

/* Distinct shapes in first-seen order, counts summed; returns how many. */
static size_t bench_dedupe_layers(bench_layer *out, bool quick)
{
    size_t n = 0;
    for (size_t i = 0; i < BENCH_N_LAYERS; i++) {
        const bench_layer *l = &bench_layers[i];
        size_t j = 0;
        while (j < n && !bench_same_shape(&out[j], l))
            j++;
        if (j < n)
            out[j].count += l->count;
        else if (!quick || l->quick)
            out[n++] = *l;
    }
    return n;
}

static void bench_fill_uniform(float *p, size_t n, mg_rng *r)
{
    for (size_t i = 0; i < n; i++)
        p[i] = 2.0f * mg_rng_uniform(r) - 1.0f;
}

static int bench_conv_setup(bench_ctx *ctx, const bench_layer *l, bench_conv *c)
{
    int w_shape[4] = {l->transposed ? l->cin : l->cout, l->transposed ? l->cout : l->cin, l->k, l->k};
    int b_shape[1] = {l->cout};
    int x_shape[4] = {1, l->cin, l->hw, l->hw};
    memcpy(c->x_shape, x_shape, sizeof x_shape);
    if (mg_param_new(ctx->be, "bench.w", 4, w_shape, &c->w) != MG_OK ||
        mg_param_new(ctx->be, "bench.b", 1, b_shape, &c->b) != MG_OK ||
        mg_init_normal(c->w, &ctx->rng, 0.0f, 0.02f) != MG_OK)
        return bench_fail(l, "creating the weight and bias");
    size_t nx = (size_t)l->cin * (size_t)l->hw * (size_t)l->hw;
    c->x_host = malloc(nx * sizeof *c->x_host);
    if (!c->x_host) {
        fprintf(stderr, "mrigan bench: %s %s: out of host memory\n", l->net, l->name);
        return 1;
    }
    bench_fill_uniform(c->x_host, nx, &ctx->rng);
    return 0;
}

static void bench_conv_free(bench_conv *c)
{
    mg_tensor_free(c->w);
    mg_tensor_free(c->b);
    free(c->x_host);
}

/* One forward and backward on a reset graph; only the op and the backward call are timed. */
static int bench_conv_once(bench_ctx *ctx, const bench_layer *l, const bench_conv *c, double *fwd_s, double *bwd_s)
{
    mg_graph *g = ctx->g;
    mg_graph_reset(g);
    if (mg_tensor_zero_grad(c->w) != MG_OK || mg_tensor_zero_grad(c->b) != MG_OK)
        return bench_fail(l, "zeroing the parameter gradients");
    mg_tensor *x = mg_graph_tensor(g, 4, c->x_shape, c->x_host);
    if (!x)
        return bench_fail(l, "creating the input");
    mg_tensor_set_requires_grad(x, true);
    if (mg_backend_sync(ctx->be) != MG_OK)
        return bench_fail(l, "synchronising");
    double t0 = mg_now_s();
    mg_tensor *y = l->transposed ? mg_conv_transpose2d(g, x, c->w, c->b, l->stride, l->pad, l->out_pad)
                                 : mg_conv2d(g, x, c->w, c->b, l->stride, l->pad);
    mg_status sync = mg_backend_sync(ctx->be); /* device backends queue work: wait for it */
    double t1 = mg_now_s();
    if (!y || mg_graph_status(g) != MG_OK)
        return bench_fail(l, l->transposed ? "conv_transpose2d forward" : "conv2d forward");
    mg_tensor *seed = mg_graph_tensor(g, y->ndim, y->shape, NULL);
    if (!seed || mg_tensor_fill(seed, 1.0f) != MG_OK || sync != MG_OK || mg_backend_sync(ctx->be) != MG_OK)
        return bench_fail(l, "creating the backward seed");
    double t2 = mg_now_s();
    mg_status s = mg_graph_backward_from(g, y, seed);
    if (s == MG_OK)
        s = mg_backend_sync(ctx->be);
    double t3 = mg_now_s();
    if (s != MG_OK)
        return bench_fail(l, "backward");
    if (!x->grad || !c->w->grad) {
        fprintf(stderr, "mrigan bench: %s %s backward: no gradient for x or w\n", l->net, l->name);
        return 1;
    }
    *fwd_s = t1 - t0;
    *bwd_s = t3 - t2;
    return 0;
}

static int bench_gemm_setup(const bench_layer *l, bench_gemm *gm, mg_rng *r)
{
    bench_gemm_dims(l, &gm->m, &gm->n, &gm->k);
    size_t m = (size_t)gm->m, n = (size_t)gm->n, k = (size_t)gm->k;
    gm->a = calloc(2 * m * k + 2 * k * n + m * n, sizeof(float)); /* one block: a, da, b, db, c */
    if (!gm->a) {
        fprintf(stderr, "mrigan bench: %s %s: out of host memory for the sgemm operands\n", l->net, l->name);
        return 1;
    }
    gm->da = gm->a + m * k;
    gm->b = gm->da + m * k;
    gm->db = gm->b + k * n;
    gm->c = gm->db + k * n;
    bench_fill_uniform(gm->a, m * k, r);
    bench_fill_uniform(gm->b, k * n, r);
    return 0;
}

/* Forward C = A*B, then backward dA = dC*B^T and dB = A^T*dC (C stands in for dC). */
static void bench_gemm_once(const bench_gemm *gm, double *fwd_s, double *bwd_s)
{
    int m = gm->m, n = gm->n, k = gm->k;
    double t0 = mg_now_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, gm->a, k, gm->b, n, 0.0f, gm->c, n);
    double t1 = mg_now_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.0f, gm->c, n, gm->b, n, 0.0f, gm->da, k);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1.0f, gm->a, k, gm->c, n, 0.0f, gm->db, n);
    double t2 = mg_now_s();
    *fwd_s = t1 - t0;
    *bwd_s = t2 - t1;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int bench_pick_reps(const bench_ctx *ctx, double warmup_s)
{
    if (ctx->opt.reps > 0)
        return ctx->opt.reps;
    double r = warmup_s > 0.0 ? 0.5 * ctx->target_s / warmup_s : BENCH_MAX_REPS; /* half each */
    if (r < BENCH_MIN_REPS)
        return BENCH_MIN_REPS;
    return r > BENCH_MAX_REPS ? BENCH_MAX_REPS : (int)r;
}

static int bench_conv_measure(bench_ctx *ctx, const bench_layer *l, bench_result *res)
{
    static double t[2][BENCH_MAX_REPS];
    bench_conv c = {0};
    double f, b;
    int rc = bench_conv_setup(ctx, l, &c);
    if (rc == 0)
        rc = bench_conv_once(ctx, l, &c, &f, &b);
    if (rc == 0)
        res->reps = bench_pick_reps(ctx, f + b);
    for (int i = 0; rc == 0 && i < res->reps; i++)
        rc = bench_conv_once(ctx, l, &c, &t[0][i], &t[1][i]);
    if (rc == 0) {
        res->fwd_s = bench_median(t[0], res->reps);
        res->bwd_s = bench_median(t[1], res->reps);
    }
    mg_graph_reset(ctx->g);
    bench_conv_free(&c);
    return rc;
}

static int bench_gemm_measure(bench_ctx *ctx, const bench_layer *l, bench_result *res)
{
    static double t[2][BENCH_MAX_REPS];
    bench_gemm gm = {0};
    double f, b;
    if (bench_gemm_setup(l, &gm, &ctx->rng))
        return 1;
    bench_gemm_once(&gm, &f, &b);
    res->gemm_reps = bench_pick_reps(ctx, f + b);
    for (int i = 0; i < res->gemm_reps; i++)
        bench_gemm_once(&gm, &t[0][i], &t[1][i]);
    res->gemm_fwd_s = bench_median(t[0], res->gemm_reps);
    res->gemm_bwd_s = bench_median(t[1], res->gemm_reps);
    free(gm.a);
    return 0;
}

/* All conv timings first, then all sgemm ones: OpenBLAS's idle threads spin for a while after a
 * multithreaded call and would steal cores from the backend's pool if the two were interleaved.
 * The backend runs OpenBLAS single-threaded inside its own pool; the previous setting is restored. */
static int bench_measure_all(bench_ctx *ctx, const bench_layer *layers, size_t n, bench_result *res)
{
    for (size_t i = 0; i < n; i++)
        if (bench_conv_measure(ctx, &layers[i], &res[i]))
            return 1;
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(ctx->threads);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = bench_gemm_measure(ctx, &layers[i], &res[i]);
    openblas_set_num_threads(saved);
    return rc;
}

static double bench_gflops(double flops, double s) { return s > 0.0 ? flops / s * 1e-9 : 0.0; }

static void bench_print_row(const bench_ctx *ctx, const bench_layer *l, const bench_result *r)
{
    int m, n, k, out = bench_out_hw(l);
    bench_gemm_dims(l, &m, &n, &k);
    double f = 2.0 * m * n * k;
    double cf = bench_gflops(f, r->fwd_s), cb = bench_gflops(2.0 * f, r->bwd_s);
    double gf = bench_gflops(f, r->gemm_fwd_s), gb = bench_gflops(2.0 * f, r->gemm_bwd_s);
    if (ctx->opt.json) {
        printf("{\"network\":\"%s\",\"layer\":\"%s\",\"transposed\":%s,\"cin\":%d,\"cout\":%d,\"kernel\":%d,"
               "\"stride\":%d,\"pad\":%d,\"output_padding\":%d,\"in_hw\":%d,\"out_hw\":%d,\"count\":%d,"
               "\"gemm_m\":%d,\"gemm_n\":%d,\"gemm_k\":%d,\"reps\":%d,\"sgemm_reps\":%d,\"fwd_ms\":%.4f,"
               "\"bwd_ms\":%.4f,\"fwd_gflops\":%.3f,\"bwd_gflops\":%.3f,\"sgemm_fwd_gflops\":%.3f,"
               "\"sgemm_bwd_gflops\":%.3f}\n",
               l->net, l->name, l->transposed ? "true" : "false", l->cin, l->cout, l->k, l->stride, l->pad, l->out_pad,
               l->hw, out, l->count, m, n, k, r->reps, r->gemm_reps, 1e3 * r->fwd_s, 1e3 * r->bwd_s, cf, cb, gf, gb);
    } else {
        char shape[64];
        snprintf(shape, sizeof shape, "%s%d->%d k%d s%d %dx%d", l->transposed ? "T " : "", l->cin, l->cout, l->k,
                 l->stride, l->hw, l->hw);
        printf("%-8s %-8s %-24s x%-3d %8.3f %8.3f %8.1f %8.1f %8.1f %8.1f %4.0f%% %4.0f%% %5d\n", l->net, l->name,
               shape, l->count, 1e3 * r->fwd_s, 1e3 * r->bwd_s, cf, cb, gf, gb, gf > 0.0 ? 100.0 * cf / gf : 0.0,
               gb > 0.0 ? 100.0 * cb / gb : 0.0, r->reps);
    }
}

static void bench_print_header(const bench_ctx *ctx)
{
    const char *be = mg_backend_name(ctx->be);
    mg_cpu_isa isa;
    mg_blas_facts facts;
    mg_blas_plan plan;
    char sets[96], blas[512];
    mg_cpu_detect_isa(&isa);
    mg_cpu_describe_isa(&isa, sets, sizeof sets);
    mg_blas_read_facts(&facts);
    mg_blas_decide(&facts, &plan);
    mg_blas_describe(blas, sizeof blas);
    if (ctx->opt.json) {
        printf("{\"backend\":\"%s\",\"device\":\"%s\",\"threads\":%d,\"batch\":1,\"quick\":%s,"
               "\"processor\":\"%s\",\"isa\":\"%s\",\"blas_core\":\"%s\",\"blas_choice\":\"%s\"}\n",
               be, mg_backend_device(ctx->be), ctx->threads, ctx->opt.quick ? "true" : "false", isa.brand, sets,
               facts.core ? facts.core : "", mg_blas_verdict_name(plan.verdict));
        return;
    }
    printf("mrigan bench: backend %s (%s), sgemm on %d threads, batch 1%s\n", be, mg_backend_device(ctx->be),
           ctx->threads, ctx->opt.quick ? ", quick subset" : "");
    printf("processor: %s (%s)\nsgemm: %s\n       %s\n", isa.brand[0] ? isa.brand : "unknown", sets, blas,
           openblas_get_config());
    printf("medians per shape; GF/s count 2*M*N*K forward, 4*M*N*K backward (dX + dW); "
           "eff = conv GF/s in %% of sgemm GF/s (above 100%%: fewer multiplications, as Winograd's for 3x3 "
           "stride 1 on the CPU); T = transposed\n\n");
    printf("%-8s %-8s %-24s %-4s %8s %8s %8s %8s %8s %8s %5s %5s %5s\n", "network", "layer", "Cin->Cout k s HxW", "n",
           "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s", "sgemm f", "sgemm b", "eff f", "eff b", "reps");
    fflush(stdout); /* the rows follow once every shape is measured */
}

static void bench_print_memory(const bench_ctx *ctx)
{
    mg_memory_stats st;
    mg_backend_memory(ctx->be, &st);
    double mib = 1.0 / (1024.0 * 1024.0);
    if (ctx->opt.json)
        printf("{\"peak_bytes\":%zu,\"live_bytes\":%zu,\"cached_bytes\":%zu,\"workspace_bytes\":%zu,"
               "\"n_allocs\":%zu}\n",
               st.peak_bytes, st.live_bytes, st.cached_bytes, st.workspace_bytes, st.n_allocs);
    else
        printf("\nbackend memory: peak %.1f MiB in tensors + %.1f MiB workspace; live %.1f MiB, cached %.1f MiB, "
               "%zu allocations\n",
               (double)st.peak_bytes * mib, (double)st.workspace_bytes * mib, (double)st.live_bytes * mib,
               (double)st.cached_bytes * mib, st.n_allocs);
}

static void bench_print_usage(void)
{
    printf("usage: mrigan bench [--threads N] [--reps N] [--quick] [--json] [--backend cpu|opencl|auto] [--device N]\n"
           "       mrigan bench train [options]   (whole training iterations; see mrigan bench train --help)\n"
           "       mrigan bench tune [options]    (CLBlast's GEMM parameters for an OpenCL device; see --help)\n"
           "Times mrigan's conv forward/backward for every layer shape of the ResNet-9 and U-Net\n"
           "generators (256x256, 1 channel, ngf 64) and of mrigan train's default one (224x224, ngf 16)\n"
           "next to cblas_sgemm of the same GEMM sizes.\n"
           "  --threads N  threads for the backend and OpenBLAS (default: all cores)\n"
           "  --reps N     timed repetitions per shape (default: adaptive, ~0.3 s per shape)\n"
           "  --quick      a few representative shapes only, ~0.05 s each\n"
           "  --json       one JSON object per line instead of the table\n"
           "  --help       this text\n");
}

/* Returns -1 to go on, else the exit status. */
static int bench_parse_args(int argc, char **argv, bench_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool is_threads = strcmp(a, "--threads") == 0, is_reps = strcmp(a, "--reps") == 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            bench_print_usage();
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--backend") == 0 && i + 1 < argc) {
            o->backend = argv[++i];
        } else if (strcmp(a, "--device") == 0) {
            if (i + 1 >= argc || !app_parse_int(argv[i + 1], 0, 1000, &o->device)) {
                fprintf(stderr, "mrigan bench: --device needs an integer from 0 to 1000\n");
                return 2;
            }
            i++;
        } else if (is_threads || is_reps) {
            int *dst = is_threads ? &o->threads : &o->reps;
            int hi = is_threads ? 4096 : BENCH_MAX_REPS;
            if (i + 1 >= argc || !app_parse_int(argv[i + 1], 1, hi, dst)) {
                fprintf(stderr, "mrigan bench: %s needs an integer from 1 to %d\n", a, hi);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "mrigan bench: unknown option '%s' (see mrigan bench --help)\n", a);
            return 2;
        }
    }
    return -1;
}

int cmd_bench(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "train"))
        return cmd_bench_train(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "quality"))
        return cmd_bench_quality(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "tune"))
        return cmd_bench_tune(argc - 1, argv + 1);
    bench_ctx ctx = {.opt = {.device = -1}};
    int rc = bench_parse_args(argc, argv, &ctx.opt);
    if (rc >= 0)
        return rc;
    ctx.target_s = ctx.opt.quick ? 0.05 : 0.3;
    mg_rng_seed(&ctx.rng, 20240601u, 7u);
    if (mg_backend_open(ctx.opt.backend ? ctx.opt.backend : "cpu", ctx.opt.device, ctx.opt.threads, &ctx.be) != MG_OK)
        return bench_fail(NULL, "opening the backend");
    /* The SGEMM columns are the host's OpenBLAS on the requested (or all) cores, whatever the backend. */
    ctx.threads = strcmp(mg_backend_name(ctx.be), "cpu")
                      ? (ctx.opt.threads > 0 ? ctx.opt.threads : (int)sysconf(_SC_NPROCESSORS_ONLN))
                      : mg_backend_threads(ctx.be);
    if (mg_graph_new(ctx.be, &ctx.g) != MG_OK) {
        rc = bench_fail(NULL, "creating the graph");
        mg_backend_free(ctx.be);
        return rc;
    }
    bench_layer layers[BENCH_N_LAYERS];
    size_t n = bench_dedupe_layers(layers, ctx.opt.quick);
    bench_result res[BENCH_N_LAYERS];
    bench_print_header(&ctx);
    rc = bench_measure_all(&ctx, layers, n, res);
    for (size_t i = 0; i < n && rc == 0; i++)
        bench_print_row(&ctx, &layers[i], &res[i]);
    if (rc == 0)
        bench_print_memory(&ctx);
    mg_graph_free(ctx.g);
    mg_backend_free(ctx.be);
    return rc;
}
