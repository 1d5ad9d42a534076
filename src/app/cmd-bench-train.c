/* mrigan bench train: seconds per whole CycleGAN training iteration (generator step with all its losses,
 * discriminator step) of the standard or the default recipe and per generator forward, on random 1-channel inputs, as
 * one JSON line with the same keys as the PyTorch reference's `bench`, so the two can be compared directly; then the
 * device's name, its peak tensor memory, and per-op forward and backward milliseconds per iteration from extra profiled
 * iterations (profiling synchronises after every kernel, so it runs apart from the timed iterations). Under mpirun
 * the processes share each batch (--batch-size crops, one per process by default) as mrigan train's do, and the first
 * prints the line, images per second included (tools/bench-scaling.sh sets it beside one process). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "app-util.h"
#include "base/base.h"
#include "commands.h"
#include "mrigan/trainer.h"
#include "options.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What is timed: the standard recipe is what the PyTorch reference computes (transposed-convolution decoders,
 * LSGAN, cycle 10, identity 0.5, a translation in one pass), the one to put beside its numbers; the default one is
 * what mrigan train does with no recipe flags (its generator, widths, losses and two-pass translations). */
enum { RECIPE_STANDARD, RECIPE_DEFAULT };
#define RECIPE_CHOICES "standard|default"

typedef struct bench_train_opts {
    int recipe, generator, size, ngf, ndf, blocks, warmup, iters, profile, threads, backend, device, batch;
    bool dropout;
} bench_train_opts;

/* The model the recipe builds; a network option given on the command line (not 0, or -1 for the generator)
 * replaces the recipe's value. */
static mg_cyclegan_config bench_recipe_config(const bench_train_opts *o)
{
    mg_train_settings ts;
    mg_train_settings_default(&ts);
    if (o->recipe == RECIPE_STANDARD) {
        ts.generator = MG_GEN_UNET;
        ts.ngf = ts.ndf = 64;
        ts.blocks = 9;
        ts.upsample = MG_UPSAMPLE_TRANSPOSE;
        ts.lambda_cycle = 10.0f;
        ts.lambda_identity = 0.5f;
        ts.lambda_structure = ts.lambda_intensity = ts.lambda_prior = 0.0f;
        ts.flip_average = false;
        ts.guide_radius = 0;
        ts.background = MG_BACKGROUND_KEEP;
    }
    ts.generator = o->generator >= 0 ? o->generator : ts.generator;
    ts.ngf = o->ngf ? o->ngf : ts.ngf;
    ts.ndf = o->ndf ? o->ndf : ts.ndf;
    ts.blocks = o->blocks ? o->blocks : ts.blocks;
    ts.dropout = o->dropout;
    ts.size = o->size;
    return mg_train_settings_model(&ts);
}

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec; }

/* Under mpirun every process runs this with its share of each batch (o->batch crops in all); the first prints. */
static int run(const bench_train_opts *o, mg_dist *d)
{
    mg_backend *be = NULL;
    mg_cyclegan m = {0};
    mg_cyclegan_config cfg = bench_recipe_config(o);
    const int n = o->batch;
    size_t px = (size_t)o->size * o->size;
    float *a = malloc(n * px * sizeof *a), *b = malloc(n * px * sizeof *b), *y = malloc(px * sizeof *y);
    double *t = malloc((size_t)(o->iters + 1) * sizeof *t), *tf = malloc((size_t)(o->iters + 1) * sizeof *tf);
    char kind[32];
    mg_setting_choice_name(MG_BACKEND_CHOICES, o->backend, kind, sizeof kind);
    mg_status s = a && b && y && t && tf
                      ? mg_backend_open(kind, app_rank_device(o->backend, o->device, d), o->threads, &be)
                      : MG_ERR_OOM;
    if (app_agree(d, s != MG_OK) != 0) { /* every process goes on, or none */
        if (s != MG_OK)
            fprintf(stderr, "mrigan bench train: %s\n", mg_last_error());
        mg_backend_free(be);
        free(a), free(b), free(y), free(t), free(tf);
        return 1;
    }
    s = mg_cyclegan_new(be, &cfg, 1, &m);
    if (s == MG_OK)
        mg_cyclegan_set_dist(&m, d);
    if (app_agree(d, s != MG_OK) && s == MG_OK) /* another process could not build it: it said why */
        s = MG_ERR_PEER;
    /* The contrast prior's maps (the trainer fits them to the data): an inversion, which costs what any map does. */
    mg_intensity_map inv;
    for (int k = 0; k < MG_MAP_LEVELS; k++)
        inv.out[k] = 1.0f - (float)k / 127.5f;
    if (s == MG_OK && cfg.lambda_prior > 0.0f)
        mg_cyclegan_set_prior(&m, &inv, &inv);
    mg_rng r;
    mg_rng_seed(&r, 1, 1);
    for (size_t i = 0; s == MG_OK && i < n * px; i++) {
        a[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
        b[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
    }
    struct rusage ru0 = {0}, ru1 = {0}; /* the process's CPU time and page faults over the timed iterations */
    for (int i = 0; s == MG_OK && i < o->warmup + o->iters; i++) {
        mg_losses l;
        if (i == o->warmup)
            getrusage(RUSAGE_SELF, &ru0);
        double t0 = mg_now_s();
        s = mg_cyclegan_step_batch(&m, a, b, n, o->size, o->size, &r, (uint64_t)i, &l);
        if (i >= o->warmup)
            t[i - o->warmup] = mg_now_s() - t0;
        if (mg_dist_size(d) > 1 && app_agree(d, s != MG_OK) && s == MG_OK) /* an update failed elsewhere */
            s = MG_ERR_PEER;
    }
    getrusage(RUSAGE_SELF, &ru1);
    for (int i = 0; s == MG_OK && i < 2 + o->iters; i++) {
        double t0 = mg_now_s();
        s = mg_cyclegan_translate(&m, 0, a, o->size, o->size, y);
        if (i >= 2)
            tf[i - 2] = mg_now_s() - t0;
    }
    if (mg_dist_size(d) > 1 && app_agree(d, s != MG_OK) && s == MG_OK) /* the translations are each process's own */
        s = MG_ERR_PEER;
    mg_profile prof = {0};
    const int prof_iters = o->profile;
    if (s == MG_OK && prof_iters > 0) { /* no graphs without a model */
        mg_graph_set_profile(m.graph_g, &prof);
        mg_graph_set_profile(m.graph_d, &prof);
    }
    for (int i = 0; s == MG_OK && i < prof_iters; i++) {
        mg_losses l;
        s = mg_cyclegan_step_batch(&m, a, b, n, o->size, o->size, &r, 1000 + (uint64_t)i, &l);
        if (mg_dist_size(d) > 1 && app_agree(d, s != MG_OK) && s == MG_OK)
            s = MG_ERR_PEER;
    }
    if (m.be) {
        mg_graph_set_profile(m.graph_g, NULL);
        mg_graph_set_profile(m.graph_d, NULL);
    }
    if (s == MG_OK && mg_dist_rank(d) == 0) {
        qsort(t, (size_t)o->iters, sizeof *t, cmp_double);
        qsort(tf, (size_t)o->iters, sizeof *tf, cmp_double);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        double user = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime), sys = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
        size_t pg = mg_net_param_count(&m.g_ab.net), pd = mg_net_param_count(&m.d_a.net);
        printf("{\"impl\": \"mrigan\", \"recipe\": \"%s\", \"backend\": \"%s\", \"generator\": \"%s\", "
               "\"size\": %d, \"ngf\": %d, \"ndf\": %d, \"blocks\": %d, \"dropout\": %s, \"threads\": %d, "
               "\"processes\": %d, \"batch\": %d, \"warmup\": %d, \"iters\": %d, "
               "\"images_per_s\": %.3f, "
               "\"train_iter_s_median\": %.4f, \"train_iter_s_min\": %.4f, \"train_iter_s_max\": %.4f, "
               "\"g_forward_s_median\": %.5f, \"params_G\": %zu, \"params_D\": %zu, \"params_total\": %zu, "
               "\"peak_rss_mb\": %.1f, \"state_mb\": %.1f, \"cpu_user_s_per_iter\": %.4f, "
               "\"cpu_sys_s_per_iter\": %.4f, \"sys_share\": %.4f, \"minor_faults_per_iter\": %.1f, ",
               o->recipe == RECIPE_STANDARD ? "standard" : "default", mg_backend_name(be),
               mg_generator_names[cfg.gen.kind], o->size, cfg.gen.ngf, cfg.ndf,
               cfg.gen.kind != MG_GEN_UNET ? cfg.gen.blocks : 0, cfg.gen.dropout ? "true" : "false",
               mg_backend_threads(be), mg_dist_size(d), n, o->warmup, o->iters, n / t[o->iters / 2], t[o->iters / 2],
               t[0], t[o->iters - 1], tf[o->iters / 2], pg, pd, 2 * pg + 2 * pd, (double)ru.ru_maxrss / 1024.0,
               /* the training state: parameters, gradients and Adam's two moments */
               4.0 * (double)(2 * pg + 2 * pd) * sizeof(float) / 1048576.0, user / o->iters, sys / o->iters,
               user + sys > 0.0 ? sys / (user + sys) : 0.0, (double)(ru1.ru_minflt - ru0.ru_minflt) / o->iters);
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
    if (s != MG_OK && s != MG_ERR_PEER)
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

static int bench_train_main(bench_train_opts *op, mg_dist *d, int argc, char **argv);

int cmd_bench_train(int argc, char **argv)
{
    bench_train_opts o = {
        .generator = -1, .device = -1, .size = 128, .warmup = 2, .iters = 10, .profile = 2, .dropout = true};
    mg_dist *d;
    if (mg_dist_open(&argc, &argv, &d) != MG_OK)
        return fprintf(stderr, "mrigan bench train: %s\n", mg_last_error()), 1;
    int rc = bench_train_main(&o, d, argc, argv);
    mg_dist_close(d);
    return rc;
}

static int bench_train_main(bench_train_opts *op, mg_dist *d, int argc, char **argv)
{
    bench_train_opts o = *op;
    app_option table[] = {
        APP_CHOICE("recipe", &o.recipe, RECIPE_CHOICES,
                   "standard: the PyTorch reference's (unet, ngf 64, ndf 64, transposed convolutions, cycle 10, "
                   "identity 0.5); default: mrigan train's with no recipe flags (standard)"),
        APP_CHOICE("generator", &o.generator, MG_GENERATOR_CHOICES, "generator (the recipe's)"),
        APP_INT("size", &o.size, 24, 4096, "input side (128; at least 24, the PatchGAN's)"),
        APP_INT("ngf", &o.ngf, 1, 1024, "generator width (the recipe's)"),
        APP_INT("ndf", &o.ndf, 1, 1024, "discriminator width (the recipe's)"),
        APP_INT("blocks", &o.blocks, 1, 12, "resnet blocks, local layers (the recipe's)"),
        APP_FLAG("no-dropout", &o.dropout, false, "no dropout in the unet"),
        APP_INT("warmup", &o.warmup, 0, 1000, "untimed iterations first (2)"),
        APP_INT("iters", &o.iters, 1, 100000, "timed iterations (10)"),
        APP_INT("profile", &o.profile, 0, 1000, "profiled iterations last, for the per-op times (2; 0: none)"),
        APP_INT("threads", &o.threads, 0, 1024, "CPU threads (0: one per core)"),
        APP_CHOICE("backend", &o.backend, MG_BACKEND_CHOICES, "compute backend (default: auto)"),
        APP_INT("device", &o.device, 0, 1000, "OpenCL device (see mrigan devices; MRIGAN_DEVICE)"),
        APP_INT("batch-size", &o.batch, 0, 4096,
                "crops a step (0: one per process; under mpirun the processes share them)"),
    };
    const int n = sizeof table / sizeof *table;
    const char *pos[1];
    int n_pos;
    app_parse_result pr = app_parse("bench train", argc, argv, table, n, pos, 0, &n_pos);
    if (pr == APP_PARSE_HELP) {
        printf("usage: mrigan bench train [options]\n       mpirun -np P mrigan bench train [options]\nTimes whole "
               "CycleGAN training iterations; prints one JSON line (under mpirun, the first process).\n\n");
        app_print_options(table, n);
        return 0;
    }
    if (pr == APP_PARSE_ERROR)
        return 2;
    /* the rule mg_train_settings_check applies (a U-Net fitted to --size needs a power of two) */
    mg_cyclegan_config cfg = bench_recipe_config(&o);
    const int mult = mg_generator_multiple(&cfg.gen);
    if (o.size % mult) {
        fprintf(stderr, "mrigan bench train: --size %d is not a multiple of %d, which the %s generator needs\n", o.size,
                mult, mg_generator_names[cfg.gen.kind]);
        return 2;
    }
    o.batch = o.batch ? o.batch : mg_dist_size(d);
    if (o.batch % mg_dist_size(d)) {
        fprintf(stderr, "mrigan bench train: --batch-size %d cannot be shared by %d processes\n", o.batch,
                mg_dist_size(d));
        return 2;
    }
    return run(&o, d);
}
