/* mrigan train: CycleGAN training on two folders of unpaired PNG slices (default: the embedded phantom).
 *
 * Randomness follows --seed alone: weights from PCG32 stream 0; epoch e's order from its own stream; each
 * iteration's draws (which B image, crops, flips, pool choices) and dropout masks from streams keyed by the
 * global iteration number. A resumed run therefore repeats exactly what the uninterrupted run would do, given
 * the same backend and thread count (float sums are not associative). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app-util.h"
#include "base/base.h"
#include "base/file.h"
#include "commands.h"
#include "mrigan/phantom.h"
#include "options.h"
#include "report.h"
#include "train-run.h"

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) { interrupted = sig; }

static int fail(const char *what)
{
    fprintf(stderr, "mrigan train: %s%s%s\n", what, *mg_last_error() ? ": " : "", mg_last_error());
    return 1;
}

/* ------------------------------------------------------------------ options */
/* Everything about a setting comes from its line in train-settings.def. */
enum {
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) O_##e,
#include "train-settings.def"
#undef SETTING
    O_COUNT
};

#define SET_OPT_INT(f, n, l, h, c, text)    APP_INT(n, &o->f, l, h, text)
#define SET_OPT_FLOAT(f, n, l, h, c, text)  APP_FLOAT(n, &o->f, l, h, text)
#define SET_OPT_STRING(f, n, l, h, c, text) APP_STRING(n, &o->f, text)
#define SET_OPT_CHOICE(f, n, l, h, c, text) APP_CHOICE(n, &o->f, c, text)
#define SET_OPT_FLAG(f, n, l, h, c, text)   APP_FLAG(n, &o->f, true, text)
#define SET_OPT_NOFLAG(f, n, l, h, c, text) APP_FLAG(n, &o->f, false, text)

static void options_table(train_opts *o, app_option *t)
{
    const app_option table[O_COUNT] = {
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help)                                           \
    [O_##e] = SET_OPT_##kind(f, name, lo, hi, choices, help),
#include "train-settings.def"
#undef SETTING
    };
    memcpy(t, table, sizeof table);
}

static void usage(app_option *t)
{
    printf("usage: mrigan train [--a DIR --b DIR] [--out DIR] [options]\n"
           "       mrigan train --resume DIR [--threads N]\n"
           "Trains a CycleGAN between two folders of unpaired PNG slices. Without --a and --b it trains on the\n"
           "embedded phantom (data/phantom) with a quick configuration: --ngf 32 --ndf 32 --epochs 10\n"
           "--epochs-decay 10 unless given.\n\noptions:\n");
    app_print_options(t, O_COUNT);
}

static void options_defaults(train_opts *o)
{
    *o = (train_opts){
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) .f = def,
#include "train-settings.def"
#undef SETTING
    };
}

/* Options a resumed run takes from its checkpoint: all but the per-invocation ones (scope EACH). */
static int check_resume_options(const app_option *t)
{
#define EACH_RUN   false
#define EACH_MODEL false
#define EACH_ONCE  false
#define EACH_EACH  true
    static const bool each[O_COUNT] = {
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) [O_##e] = EACH_##scope,
#include "train-settings.def"
#undef SETTING
    };
    for (int i = 0; i < O_COUNT; i++) {
        if (t[i].seen && !each[i]) {
            fprintf(stderr,
                    "mrigan train: --%s cannot be combined with --resume: a resumed run keeps the "
                    "configuration of its checkpoint\n",
                    t[i].name);
            return 2;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ data */
static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The embedded phantom: data/phantom from the working folder or the source tree; else a fresh render into
 * the run folder. */
static mg_status default_data(train_opts *o, char *a, char *b, size_t len)
{
    static const char *roots[] = {"data/phantom", MRIGAN_SOURCE_DIR "/data/phantom"};
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        app_path(a, len, "%s/T1", roots[i]);
        app_path(b, len, "%s/T2", roots[i]);
        if (is_dir(a) && is_dir(b))
            return MG_OK;
    }
    char dir[4096];
    app_path(dir, sizeof dir, "%s/phantom", o->out);
    mg_phantom_config pc;
    mg_phantom_config_default(&pc);
    fprintf(stderr, "mrigan train: data/phantom not found; rendering the phantom into %s\n", dir);
    mg_status s = mg_phantom_write(dir, &pc, 24, 8, "mrigan phantom (defaults, rendered by mrigan train)");
    app_path(a, len, "%s/T1", dir);
    app_path(b, len, "%s/T2", dir);
    return s;
}

/* Fisher-Yates permutation of 0..n-1 for epoch e. */
static void epoch_order(int seed, int epoch, int *perm, int n)
{
    mg_rng r;
    mg_rng_seed(&r, (uint64_t)seed ^ 0x5851F42D4C957F2Dull, (uint64_t)epoch);
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)mg_rng_below(&r, (uint32_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static float epoch_lr(const train_opts *o, int epoch)
{
    int over = epoch - o->epochs;
    return o->lr * (1.0f - (float)(over > 0 ? over : 0) / (float)(o->epochs_decay + 1));
}

/* ------------------------------------------------------------------ run folder */
/* ------------------------------------------------------------------ the run */
typedef struct trainer {
    train_opts o;
    run_state st;
    char out[4096], a_dir[4096], b_dir[4096];
    mg_backend *be;
    mg_cyclegan m;
    bool have_model;
    mg_dataset *da, *db;
    mg_crop_config crop;
    FILE *csv;
    loss_history hist;
    epoch_sums sums; /* of the current epoch */
    float *buf_a, *buf_b;
    int *perm, n_iter;
    int iterations_run; /* by this invocation */
    val_set val;
    bool have_val;
    val_history val_hist;
    double epoch_start_s; /* wall clock of the epoch, for epochs.csv */
    long saved_iteration; /* the iteration latest.ckpt was saved at; -1: none yet */
    int lock_fd;          /* holds the run folder's lock; -1: none */
} trainer;

static void trainer_free(trainer *t)
{
    if (t->lock_fd >= 0)
        close(t->lock_fd);
    if (t->csv)
        fclose(t->csv);
    if (t->have_model)
        mg_cyclegan_free(&t->m);
    mg_backend_free(t->be);
    mg_dataset_free(t->da);
    mg_dataset_free(t->db);
    history_free(&t->hist);
    if (t->have_val)
        val_free(&t->val);
    free(t->val_hist.items);
    free(t->buf_a);
    free(t->buf_b);
    free(t->perm);
}

static mg_status open_backend(const train_opts *o, mg_backend **out)
{
    return app_open_backend("train", o->backend, o->device, o->threads, out);
}

#define MODEL_TO_CFG_RUN(f, m)
#define MODEL_TO_CFG_ONCE(f, m)
#define MODEL_TO_CFG_EACH(f, m)
#define MODEL_TO_CFG_MODEL(f, m) c.m = o->f;

static mg_cyclegan_config model_config(const train_opts *o)
{
    mg_cyclegan_config c = {.beta2 = 0.999f};
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) MODEL_TO_CFG_##scope(f, member)
#include "train-settings.def"
#undef SETTING
    c.gen.depth = c.gen.kind == MG_GEN_UNET ? mg_unet_depth_for(o->size) : 0;
    if (c.gen.kind == MG_GEN_RESNET)
        c.gen.dropout = false; /* the standard ResNet generator trains without dropout */
    return c;
}

/* --resume DIR: configuration, run state and model from DIR/latest.ckpt. */
static int trainer_resume(trainer *t)
{
    char path[4200];
    app_path(path, sizeof path, "%s/latest.ckpt", t->o.resume);
    struct stat st;
    int found = stat(path, &st) == 0 ? 0 : errno;
    if (found || !S_ISREG(st.st_mode)) /* nothing is created or removed in a folder without a run */
        return fprintf(stderr, "mrigan train: cannot resume: %s: %s\n", path,
                       found == ENOENT ? "no such file (not a run folder?)"
                       : found         ? strerror(found)
                                       : "not a file"),
               1;
    int rc = train_folder_lock(t->o.resume, false, &t->lock_fd);
    if (rc)
        return rc;
    mg_ckpt c;
    mg_cyclegan_config cfg;
    mg_status s = mg_ckpt_load(path, &c);
    if (s != MG_OK)
        return fail("cannot resume");
    train_opts given = t->o;
    s = run_load_state(&c, &t->o, &t->st);
    t->o.max_iterations = given.max_iterations;
    if (s == MG_OK)
        s = mg_cyclegan_config_load(&c, &cfg);
    t->o.threads = given.threads;
    t->o.backend = given.backend;
    t->o.device = given.device;
#define MODEL_FROM_CFG_RUN(f, m)
#define MODEL_FROM_CFG_ONCE(f, m)
#define MODEL_FROM_CFG_EACH(f, m)
#define MODEL_FROM_CFG_MODEL(f, m)                                           t->o.f = cfg.m;
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) MODEL_FROM_CFG_##scope(f, member)
#include "train-settings.def"
#undef SETTING
    if (s == MG_OK)
        s = run_check_model(&t->o);
    if (s == MG_OK && (!t->o.a || !t->o.b))
        s = mg_error(MG_ERR_FORMAT, "the checkpoint names no training folders (run.a, run.b)");
    if (s == MG_OK)
        s = open_backend(&t->o, &t->be);
    if (s == MG_OK && (s = mg_cyclegan_new(t->be, &cfg, (uint64_t)t->o.seed, &t->m)) == MG_OK)
        t->have_model = true;
    if (s == MG_OK)
        s = mg_cyclegan_load(&t->m, &c, true);
    mg_ckpt_free(&c);
    if (s != MG_OK)
        return fprintf(stderr, "mrigan train: %s: %s\n", path, mg_last_error()), 1;
    snprintf(t->out, sizeof t->out, "%s", t->o.resume);
    t->saved_iteration = t->st.iteration;
    snprintf(t->a_dir, sizeof t->a_dir, "%s", t->o.a);
    snprintf(t->b_dir, sizeof t->b_dir, "%s", t->o.b);
    return 0;
}

/* The phantom's quick configuration, for options not given: half-width networks and 20 epochs, a few
 * minutes on two cores. */
static void phantom_defaults(trainer *t, const app_option *table)
{
    if (!table[O_NGF].seen)
        t->o.ngf = 32;
    if (!table[O_NDF].seen)
        t->o.ndf = 32;
    if (!table[O_EPOCHS].seen)
        t->o.epochs = 10;
    if (!table[O_EPOCHS_DECAY].seen)
        t->o.epochs_decay = 10;
}

static int trainer_start(trainer *t, bool default_data_used, const app_option *table)
{
    if (default_data_used)
        phantom_defaults(t, table);
    if (!t->o.out) {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(t->out, sizeof t->out, "runs/train-%s", stamp);
    } else {
        snprintf(t->out, sizeof t->out, "%s", t->o.out);
    }
    t->o.out = t->out;
    int rc = train_folder_check(t->out, t->o.overwrite);
    if (rc)
        return rc;
    if (!t->o.a || !t->o.b) {
        if (default_data(&t->o, t->a_dir, t->b_dir, sizeof t->a_dir) != MG_OK)
            return fail("cannot prepare the phantom");
    } else {
        snprintf(t->a_dir, sizeof t->a_dir, "%s", t->o.a);
        snprintf(t->b_dir, sizeof t->b_dir, "%s", t->o.b);
    }
    /* Absolute, so that --resume works from any working folder. */
    char abs_path[PATH_MAX];
    if (realpath(t->a_dir, abs_path))
        snprintf(t->a_dir, sizeof t->a_dir, "%s", abs_path);
    if (realpath(t->b_dir, abs_path))
        snprintf(t->b_dir, sizeof t->b_dir, "%s", abs_path);
    t->o.a = t->a_dir;
    t->o.b = t->b_dir;
    static char val_a[PATH_MAX], val_b[PATH_MAX];
    if (t->o.val_a && realpath(t->o.val_a, val_a))
        t->o.val_a = val_a;
    if (t->o.val_b && realpath(t->o.val_b, val_b))
        t->o.val_b = val_b;
    t->st = (run_state){.epoch = 1};
    t->saved_iteration = -1;
    return 0;
}

/* A new model, once the data has been checked. */
static int trainer_model(trainer *t)
{
    mg_cyclegan_config cfg = model_config(&t->o);
    if (open_backend(&t->o, &t->be) != MG_OK)
        return fail("cannot open the backend");
    if (mg_cyclegan_new(t->be, &cfg, (uint64_t)t->o.seed, &t->m) != MG_OK)
        return fail("cannot build the model");
    t->have_model = true;
    return 0;
}

static int trainer_data(trainer *t)
{
    mg_status s = mg_dataset_load(t->a_dir, &t->da);
    if (s == MG_OK)
        s = mg_dataset_load(t->b_dir, &t->db);
    t->crop = (mg_crop_config){.size = t->o.size, .load_size = t->o.load_size, .flip = t->o.flip};
    if (s == MG_OK)
        s = mg_dataset_check_crop(t->da, &t->crop);
    if (s == MG_OK)
        s = mg_dataset_check_crop(t->db, &t->crop);
    if (s != MG_OK)
        return fail("cannot load the training data");
    mg_cyclegan_config cfg = model_config(&t->o);
    int mult = mg_generator_multiple(&cfg.gen);
    if (t->o.size % mult) {
        fprintf(stderr, "mrigan train: --size %d is not a multiple of %d, which the %s generator needs\n", t->o.size,
                mult, t->o.generator ? "resnet" : "unet");
        return 2;
    }
    if (t->have_model && run_check_pools(&t->m, t->o.size) != MG_OK)
        return fail("cannot resume");
    if (t->o.val_a && t->o.val_b) {
        if (val_load(t->o.val_a, t->o.val_b, !t->o.val_unpaired, &t->val))
            return 1;
        t->have_val = true;
    }
    int na = mg_dataset_count(t->da), nb = mg_dataset_count(t->db);
    t->n_iter = na > nb ? na : nb;
    if (t->st.iter_in_epoch >= t->n_iter) {
        fprintf(stderr,
                "mrigan train: the checkpoint stands at iteration %d of epoch %d, but the training folders now give "
                "%d iterations an epoch (were images removed?)\n",
                t->st.iter_in_epoch + 1, t->st.epoch, t->n_iter);
        return 1;
    }
    size_t px = (size_t)t->o.size * t->o.size;
    t->buf_a = malloc(px * sizeof(float));
    t->buf_b = malloc(px * sizeof(float));
    t->perm = malloc((size_t)t->n_iter * sizeof(int));
    if (!t->buf_a || !t->buf_b || !t->perm)
        return fprintf(stderr, "mrigan train: out of memory\n"), 1;
    return 0;
}

static void progress(const trainer *t, int k, double it_s, const mg_losses *l, bool tty)
{
    if (!tty)
        return;
    int total = t->o.epochs + t->o.epochs_decay, width = 24, done = (k + 1) * width / t->n_iter;
    long remaining = (long)(total - t->st.epoch) * t->n_iter + (t->n_iter - k - 1);
    double eta = it_s > 0 ? remaining / it_s : 0;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < done ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d  %.2f it/s  ETA %dm%02ds  G %.3f  D_A %.3f  D_B %.3f   ", t->st.epoch,
            total, bar, k + 1, t->n_iter, it_s, (int)(eta / 60), (int)fmod(eta, 60.0), l->g_total, l->d_a, l->d_b);
}

/* What a failed run leaves to resume from, for its last message. */
static const char *saved_checkpoint(const trainer *t, char *buf, size_t len)
{
    if (t->saved_iteration < 0)
        snprintf(buf, len, "no checkpoint had been saved yet");
    else
        snprintf(buf, len, "%s/latest.ckpt of iteration %ld is kept", t->out, t->saved_iteration);
    return buf;
}

static int save_or_fail(trainer *t, const char *name, bool with_state)
{
    mg_status s = run_save(t->out, name, &t->m, &t->o, &t->st, with_state);
    char kept[4400];
    if (s == MG_OK) {
        if (with_state)
            t->saved_iteration = t->st.iteration;
        return 0;
    }
    if (s == MG_ERR_NONFINITE)
        fprintf(stderr, "\nmrigan train: training diverged before iteration %ld: %s; %s\n", t->st.iteration,
                mg_last_error(), saved_checkpoint(t, kept, sizeof kept));
    else
        fprintf(stderr, "\nmrigan train: saving %s/%s failed (%s): %s\n", t->out, name,
                with_state ? saved_checkpoint(t, kept, sizeof kept) : "the previous one, if any, is intact",
                mg_last_error());
    return 1;
}

/* Validation of the finished epoch: val.csv, and best.ckpt with best.txt when the score improves. */
static int validate_epoch(trainer *t, int epoch)
{
    static const char *const metric[] = {"mean SSIM of both directions", "mean PSNR of both directions",
                                         "minus the mean MAE of both directions"};
    val_result r;
    if (val_run(&t->m, &t->val, t->o.best_metric, &r) != MG_OK)
        return fail("validation");
    char line[512];
    snprintf(line, sizeof line, "%d,%s,%.4f,%.5f,%.4f,%.4f,%.5f,%.4f,%.6f\n", epoch, t->val.paired ? "paired" : "cycle",
             r.psnr[0], r.ssim[0], r.mae[0], r.psnr[1], r.ssim[1], r.mae[1], r.score);
    if (train_csv_append(t->out, "val.csv", "epoch,kind,a2b_psnr,a2b_ssim,a2b_mae,b2a_psnr,b2a_ssim,b2a_mae,score\n",
                         line))
        return fprintf(stderr, "mrigan train: cannot write %s/val.csv: %s\n", t->out, strerror(errno)), 1;
    if (train_val_history_add(&t->val_hist, t->val.paired, &r))
        return fprintf(stderr, "mrigan train: out of memory\n"), 1;
    fprintf(stderr, "  validation (%s): A->B PSNR %.2f dB SSIM %.4f, B->A PSNR %.2f dB SSIM %.4f\n",
            t->val.paired ? "paired" : "cycle", r.psnr[0], r.ssim[0], r.psnr[1], r.ssim[1]);
    /* A perfect score (PSNR of identical images) is infinite: held to the largest double, which a checkpoint
     * keeps; NaN (nothing to score) is never the best. */
    double score = isnan(r.score) ? -HUGE_VAL : fmin(fmax(r.score, -DBL_MAX), DBL_MAX);
    if (score == -HUGE_VAL || (t->st.best_epoch && !(score > t->st.best_score)))
        return 0;
    t->st.best_epoch = epoch;
    t->st.best_score = score;
    if (save_or_fail(t, "best.ckpt", false))
        return 1;
    char best[512];
    snprintf(best, sizeof best, "epoch=%d\nmetric=%s\nvalue=%.6f\ncheckpoint=best.ckpt\nkind=%s\n", epoch,
             metric[t->o.best_metric], t->o.best_metric == 2 ? -r.score : r.score, t->val.paired ? "paired" : "cycle");
    char path[4200];
    if (!app_path(path, sizeof path, "%s/best.txt", t->out) || train_write_text(path, best) != MG_OK)
        return fprintf(stderr, "mrigan train: cannot write %s/best.txt: %s\n", t->out, mg_last_error()), 1;
    return 0;
}

#define STOPPED 3 /* run_epoch: --max-iterations reached */

/* Runs the rest of the current epoch from t->st; 130 when interrupted, STOPPED, 1 on failure. */
static int run_epoch(trainer *t, bool tty)
{
    const train_opts *o = &t->o;
    int na = mg_dataset_count(t->da), nb = mg_dataset_count(t->db);
    mg_cyclegan_set_lr(&t->m, epoch_lr(o, t->st.epoch));
    epoch_order(o->seed, t->st.epoch, t->perm, t->n_iter);
    double t0 = mg_now_s();
    /* Only the first epoch after a resume starts mid-way: count the time its earlier part took. */
    t->epoch_start_s = t0 - (t->st.iter_in_epoch == 0 ? 0.0 : t->sums.seconds);
    int first = t->st.iter_in_epoch;
    for (int k = first; k < t->n_iter; k++) {
        mg_rng r;
        mg_rng_seed(&r, (uint64_t)o->seed, 1 + (uint64_t)t->st.iteration);
        int ia = t->perm[k] % na, ib = (int)mg_rng_below(&r, (uint32_t)nb);
        mg_losses l;
        double ts = mg_now_s();
        mg_status s = mg_dataset_sample(t->da, ia, &t->crop, &r, t->buf_a);
        if (s == MG_OK)
            s = mg_dataset_sample(t->db, ib, &t->crop, &r, t->buf_b);
        if (s == MG_OK)
            s = mg_cyclegan_step(&t->m, t->buf_a, t->buf_b, o->size, o->size, &r,
                                 (uint64_t)o->seed * 0x9E3779B97F4A7C15ull + (uint64_t)t->st.iteration, &l);
        if (s == MG_ERR_NONFINITE) {
            char kept[4400];
            fprintf(stderr, "\nmrigan train: training diverged at iteration %ld (epoch %d): %s; %s\n", t->st.iteration,
                    t->st.epoch, mg_last_error(), saved_checkpoint(t, kept, sizeof kept));
            return 1;
        }
        if (s != MG_OK)
            return fail("training step failed");
        float v[MG_LOSS_COUNT];
        mg_losses_to_array(&l, v);
        fprintf(t->csv, "%ld,%d,%.6g", t->st.iteration, t->st.epoch, epoch_lr(o, t->st.epoch));
        for (int i = 0; i < MG_LOSS_COUNT; i++) {
            fprintf(t->csv, ",%.9g", v[i]); /* 9 digits: a resume reads back exactly these floats */
            t->sums.loss[i] += v[i];
        }
        fprintf(t->csv, ",%.4f\n", mg_now_s() - ts);
        fflush(t->csv); /* a row a write: after a crash losses.csv shows how far the run got */
        t->sums.n++;
        t->st.iteration++;
        t->st.iter_in_epoch = k + 1;
        progress(t, k, (k + 1 - first) / (mg_now_s() - t0), &l, tty);
        bool stop = o->max_iterations > 0 && ++t->iterations_run >= o->max_iterations;
        /* Periodic saves keep what a kill -9 or a power cut loses to N iterations; keyed by the global
         * iteration so that a resumed run saves where the uninterrupted one would. */
        if (!interrupted && !stop && k + 1 < t->n_iter && o->save_every_iterations > 0 &&
            t->st.iteration % o->save_every_iterations == 0) {
            if (save_or_fail(t, "latest.ckpt", true))
                return 1;
        }
        if (interrupted || (stop && k + 1 < t->n_iter)) {
            if (save_or_fail(t, "latest.ckpt", true))
                return 1;
            fprintf(stderr,
                    "\nmrigan train: %s; saved %s/latest.ckpt at epoch %d, iteration %ld. "
                    "Continue with: mrigan train --resume %s\n",
                    interrupted ? "interrupted" : "stopped", t->out, t->st.epoch, t->st.iteration, t->out);
            return interrupted ? 128 + (int)interrupted : STOPPED;
        }
    }
    double secs = mg_now_s() - t0, epoch_secs = mg_now_s() - t->epoch_start_s;
    for (int i = 0; i < MG_LOSS_COUNT; i++)
        t->sums.loss[i] /= (float)t->sums.n; /* n_iter, unless losses.csv had lost rows */
    if (history_add(&t->hist, t->sums.loss) != MG_OK)
        return fail("loss history");
    if (tty)
        fputc('\n', stderr);
    fprintf(stderr, "epoch %d/%d: %.2f s/iteration, lr %.3g, G %.4f (cycle %.4f + %.4f), D_A %.4f, D_B %.4f\n",
            t->st.epoch, o->epochs + o->epochs_decay, secs / (t->n_iter - first), epoch_lr(o, t->st.epoch),
            t->sums.loss[MG_LOSS_G_TOTAL], t->sums.loss[MG_LOSS_CYC_ABA], t->sums.loss[MG_LOSS_CYC_BAB],
            t->sums.loss[MG_LOSS_D_A], t->sums.loss[MG_LOSS_D_B]);
    t->sums = (epoch_sums){0};
    int finished = t->st.epoch;
    char line[1024];
    int len = snprintf(line, sizeof line, "%d,%.6g,%.2f,%.4f", finished, epoch_lr(o, finished), epoch_secs,
                       secs / (t->n_iter - first));
    for (int i = 0; i < MG_LOSS_COUNT; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, ",%.9g", t->hist.means[t->hist.n - 1][i]);
    snprintf(line + len, sizeof line - (size_t)len, "\n");
    char header[512];
    int hl = snprintf(header, sizeof header, "epoch,lr,seconds,s_per_iteration");
    for (int i = 0; i < MG_LOSS_COUNT; i++)
        hl += snprintf(header + hl, sizeof header - (size_t)hl, ",%s", mg_loss_names[i]);
    snprintf(header + hl, sizeof header - (size_t)hl, "\n");
    if (train_csv_append(t->out, "epochs.csv", header, line))
        return fprintf(stderr, "mrigan train: cannot write %s/epochs.csv: %s\n", t->out, strerror(errno)), 1;
    if (t->have_val && validate_epoch(t, finished))
        return 1;
    char path[4200];
    app_path(path, sizeof path, "%s/loss.png", t->out);
    if (plot_run(path, &t->hist, &t->val_hist) != MG_OK ||
        train_write_samples(t->out, finished, &t->m, mg_dataset_image(t->da, 0), mg_dataset_image(t->db, 0)) != MG_OK)
        return fail("writing the epoch's plot and samples");
    t->st.epoch++;
    t->st.iter_in_epoch = 0;
    if (save_or_fail(t, "latest.ckpt", true))
        return 1;
    char rerr[1024];
    if (report_write(t->out, rerr, sizeof rerr) != 0)
        fprintf(stderr, "mrigan train: warning: the report was not updated: %s\n", rerr);
    if (finished % o->save_every == 0 || finished == o->epochs + o->epochs_decay) {
        char name[32];
        snprintf(name, sizeof name, "epoch_%03d.ckpt", finished);
        if (save_or_fail(t, name, false))
            return 1;
    }
    if (o->max_iterations > 0 && t->iterations_run >= o->max_iterations && t->st.epoch <= o->epochs + o->epochs_decay) {
        fprintf(stderr, "mrigan train: stopped after %d iterations; continue with: mrigan train --resume %s\n",
                t->iterations_run, t->out);
        return STOPPED;
    }
    return 0;
}

int cmd_train(int argc, char **argv)
{
    trainer t = {.lock_fd = -1};
    app_option table[O_COUNT];
    options_defaults(&t.o);
    options_table(&t.o, table);
    const char *pos[1];
    int n_pos;
    app_parse_result pr = app_parse("train", argc, argv, table, O_COUNT, pos, 0, &n_pos);
    if (pr == APP_PARSE_HELP)
        return usage(table), 0;
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (table[O_VAL_A].seen != table[O_VAL_B].seen) {
        fprintf(stderr, "mrigan train: give both --val-a and --val-b, or neither\n");
        return 2;
    }
    if (table[O_A].seen != table[O_B].seen) {
        fprintf(stderr, "mrigan train: give both --a and --b, or neither (to train on the phantom)\n");
        return 2;
    }
    if (!t.o.resume && t.o.epochs + t.o.epochs_decay == 0) {
        fprintf(stderr, "mrigan train: --epochs 0 --epochs-decay 0 leaves nothing to train\n");
        return 2;
    }
    int rc = t.o.resume ? check_resume_options(table) : 0;
    if (rc)
        return rc;
    rc = t.o.resume ? trainer_resume(&t) : trainer_start(&t, !table[O_A].seen, table);
    if (!rc)
        rc = trainer_data(&t);
    if (!rc && !t.o.resume)
        rc = trainer_model(&t);
    /* Only now: a run refused for its options, data or backend leaves nothing behind. Checked again under the
     * lock: another run may have started there since. */
    if (!rc && !t.o.resume && !(rc = train_folder_lock(t.out, true, &t.lock_fd)))
        rc = train_folder_check(t.out, t.o.overwrite);
    if (!rc)
        rc = train_folder_prepare(t.out, !t.o.resume && t.o.overwrite, t.lock_fd);
    if (!rc &&
        (train_csv_open(t.out, t.st.iteration, t.st.epoch, t.n_iter, &t.hist, &t.sums, &t.csv) ||
         train_csv_keep_epochs(t.out, "epochs.csv", t.st.epoch) || train_csv_keep_epochs(t.out, "val.csv", t.st.epoch)))
        rc = (fprintf(stderr, "mrigan train: %s\n", mg_last_error()), 1);
    if (!rc && train_val_history_load(t.out, &t.val_hist))
        rc = (fprintf(stderr, "mrigan train: cannot read %s/val.csv: %s\n", t.out, strerror(errno)), 1);
    if (!rc && train_write_config(t.out, &t.o, t.be, argc, argv) != MG_OK)
        rc = (fprintf(stderr, "mrigan train: %s\n", mg_last_error()), 1);
    if (!rc) {
        fprintf(stderr,
                "mrigan train: A = %s (%d images), B = %s (%d images), %s generator, %dx%d crops, %d "
                "iterations per epoch, %s backend; outputs in %s/\n",
                t.a_dir, mg_dataset_count(t.da), t.b_dir, mg_dataset_count(t.db), t.o.generator ? "resnet" : "unet",
                t.o.size, t.o.size, t.n_iter, mg_backend_name(t.be), t.out);
        struct sigaction sa = {.sa_handler = on_sigint};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        bool tty = isatty(2);
        while (!rc && t.st.epoch <= t.o.epochs + t.o.epochs_decay)
            rc = run_epoch(&t, tty);
        if (rc == STOPPED)
            rc = 0;
        else if (!rc)
            fprintf(stderr,
                    "mrigan train: done. In %s/: latest.ckpt, epoch_*.ckpt%s, losses.csv, epochs.csv%s, "
                    "loss.png, samples/, config.txt, report.html\n",
                    t.out, t.st.best_epoch ? ", best.ckpt (see best.txt)" : "", t.have_val ? ", val.csv" : "");
    }
    trainer_free(&t);
    return rc;
}
