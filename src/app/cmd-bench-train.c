/* mrigan bench train: seconds per whole CycleGAN training iteration (generator step with both cycles and
 * identity losses, discriminator step) and per generator forward, on random 1-channel inputs, as one JSON
 * line with the same keys as the PyTorch reference's `bench`, so the two can be compared directly; then
 * the device's name, its peak tensor memory, and per-op forward and backward milliseconds per iteration
 * from extra profiled iterations (profiling synchronises after every kernel, so it runs apart from the
 * timed iterations). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "base/base.h"
#include "commands.h"
#include "mrigan/trainer.h"
#include "options.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench_train_opts {
    int generator, size, ngf, ndf, blocks, warmup, iters, threads, backend, device;
    bool dropout;
} bench_train_opts;

static int run(const bench_train_opts *o)
{
    mg_backend *be = NULL;
    mg_cyclegan m = {0};
    /* The model train would build from these options (the other settings at their defaults). */
    mg_train_settings ts;
    mg_train_settings_default(&ts);
    ts.generator = o->generator;
    ts.size = o->size;
    ts.ngf = o->ngf;
    ts.ndf = o->ndf;
    ts.blocks = o->blocks;
    ts.dropout = o->dropout;
    mg_cyclegan_config cfg = mg_train_settings_model(&ts);
    size_t px = (size_t)o->size * o->size;
    float *a = malloc(px * sizeof *a), *b = malloc(px * sizeof *b), *y = malloc(px * sizeof *y);
    double *t = malloc((size_t)(o->iters + 1) * sizeof *t), *tf = malloc((size_t)(o->iters + 1) * sizeof *tf);
    char kind[32];
    mg_setting_choice_name(MG_BACKEND_CHOICES, o->backend, kind, sizeof kind);
    mg_status s = a && b && y && t && tf ? mg_backend_open(kind, o->device, o->threads, &be) : MG_ERR_OOM;
    if (s == MG_OK)
        s = mg_cyclegan_new(be, &cfg, 1, &m);
    mg_rng r;
    mg_rng_seed(&r, 1, 1);
    for (size_t i = 0; s == MG_OK && i < px; i++) {
        a[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
        b[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
    }
    for (int i = 0; s == MG_OK && i < o->warmup + o->iters; i++) {
        mg_losses l;
        double t0 = mg_now_s();
        s = mg_cyclegan_step(&m, a, b, o->size, o->size, &r, (uint64_t)i, &l);
        if (i >= o->warmup)
            t[i - o->warmup] = mg_now_s() - t0;
    }
    for (int i = 0; s == MG_OK && i < 2 + o->iters; i++) {
        double t0 = mg_now_s();
        s = mg_cyclegan_translate(&m, 0, a, o->size, o->size, y);
        if (i >= 2)
            tf[i - 2] = mg_now_s() - t0;
    }
    mg_profile prof = {0};
    const int prof_iters = 2;
    if (s == MG_OK) { /* no graphs without a model */
        mg_graph_set_profile(m.graph_g, &prof);
        mg_graph_set_profile(m.graph_d, &prof);
    }
    for (int i = 0; s == MG_OK && i < prof_iters; i++) {
        mg_losses l;
        s = mg_cyclegan_step(&m, a, b, o->size, o->size, &r, 1000 + (uint64_t)i, &l);
    }
    if (m.be) {
        mg_graph_set_profile(m.graph_g, NULL);
        mg_graph_set_profile(m.graph_d, NULL);
    }
    if (s == MG_OK) {
        qsort(t, (size_t)o->iters, sizeof *t, cmp_double);
        qsort(tf, (size_t)o->iters, sizeof *tf, cmp_double);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        size_t pg = mg_net_param_count(&m.g_ab.net), pd = mg_net_param_count(&m.d_a.net);
        printf("{\"impl\": \"mrigan\", \"backend\": \"%s\", \"generator\": \"%s\", \"size\": %d, \"ngf\": %d, "
               "\"ndf\": %d, \"blocks\": %d, \"dropout\": %s, \"threads\": %d, \"warmup\": %d, \"iters\": %d, "
               "\"train_iter_s_median\": %.4f, \"train_iter_s_min\": %.4f, \"train_iter_s_max\": %.4f, "
               "\"g_forward_s_median\": %.5f, \"params_G\": %zu, \"params_D\": %zu, \"params_total\": %zu, "
               "\"peak_rss_mb\": %.1f, ",
               mg_backend_name(be), mg_generator_names[cfg.gen.kind], o->size, o->ngf, o->ndf,
               o->generator ? o->blocks : 0, cfg.gen.dropout ? "true" : "false", mg_backend_threads(be), o->warmup,
               o->iters, t[o->iters / 2], t[0], t[o->iters - 1], tf[o->iters / 2], pg, pd, 2 * pg + 2 * pd,
               (double)ru.ru_maxrss / 1024.0);
        mg_memory_stats mem;
        mg_backend_memory(be, &mem);
        printf("\"device\": \"%s\", \"peak_tensor_mb\": %.1f, \"workspace_mb\": %.1f, \"ops_ms_per_iter\": {",
               mg_backend_device(be), (double)mem.peak_bytes / 1048576.0, (double)mem.workspace_bytes / 1048576.0);
        for (int op = 0, first = 1; op < mg_op_count(); op++) {
            if (!prof.fwd_calls[op] && !prof.bwd_calls[op])
                continue;
            printf("%s\"%s\": {\"fwd\": %.3f, \"bwd\": %.3f, \"calls\": %ld}", first ? "" : ", ", mg_op_name(op),
                   1e3 * prof.fwd_s[op] / prof_iters, 1e3 * prof.bwd_s[op] / prof_iters,
                   (prof.fwd_calls[op] + prof.bwd_calls[op]) / prof_iters);
            first = 0;
        }
        printf("}}\n");
    }
    if (s != MG_OK)
        fprintf(stderr, "mrigan bench train: %s\n", mg_last_error());
    if (m.be)
        mg_cyclegan_free(&m);
    mg_backend_free(be);
    free(a);
    free(b);
    free(y);
    free(t);
    free(tf);
    return s == MG_OK ? 0 : 1;
}

int cmd_bench_train(int argc, char **argv)
{
    bench_train_opts o = {
        .device = -1, .size = 128, .ngf = 64, .ndf = 64, .blocks = 9, .warmup = 2, .iters = 10, .dropout = true};
    app_option table[] = {
        APP_CHOICE("generator", &o.generator, MG_GENERATOR_CHOICES, "generator (unet)"),
        APP_INT("size", &o.size, 24, 4096, "input side (128; at least 24, the PatchGAN's)"),
        APP_INT("ngf", &o.ngf, 1, 1024, "generator width (64)"),
        APP_INT("ndf", &o.ndf, 1, 1024, "discriminator width (64)"),
        APP_INT("blocks", &o.blocks, 1, 12, "resnet blocks, local layers (9)"),
        APP_FLAG("no-dropout", &o.dropout, false, "no dropout in the unet"),
        APP_INT("warmup", &o.warmup, 0, 1000, "untimed iterations first (2)"),
        APP_INT("iters", &o.iters, 1, 100000, "timed iterations (10)"),
        APP_INT("threads", &o.threads, 0, 1024, "CPU threads (0: one per core)"),
        APP_CHOICE("backend", &o.backend, MG_BACKEND_CHOICES, "compute backend (default: auto)"),
        APP_INT("device", &o.device, 0, 1000, "OpenCL device (see mrigan devices; MRIGAN_DEVICE)"),
    };
    const int n = sizeof table / sizeof *table;
    const char *pos[1];
    int n_pos;
    app_parse_result pr = app_parse("bench train", argc, argv, table, n, pos, 0, &n_pos);
    if (pr == APP_PARSE_HELP) {
        printf("usage: mrigan bench train [options]\nTimes whole CycleGAN training iterations; prints one JSON "
               "line.\n\n");
        app_print_options(table, n);
        return 0;
    }
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (o.generator == 0 && o.size % (1 << mg_unet_depth_for(o.size))) {
        fprintf(stderr, "mrigan bench train: the unet needs a power-of-two --size\n");
        return 2;
    }
    return run(&o);
}
