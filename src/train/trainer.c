/* The trainer: a new run or a resumed one, up to its first iteration (trainer-loop.c runs them). Everything a
 * run depends on is checked before anything is written: settings, data, validation data, the model (and for a
 * resume every value of the checkpoint); only then is the folder locked, cleared and prepared. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/file.h"
#include "trainer-internal.h"

void trainer_emit(mg_trainer *t, mg_train_event *e)
{
    if (!t->hooks.on_event)
        return;
    e->epoch = e->epoch ? e->epoch : t->st.epoch;
    e->epochs = t->o.epochs + t->o.epochs_decay;
    e->n_iter = t->n_iter;
    e->iteration = t->st.iteration;
    e->iteration_in_run = t->iterations_run;
    e->lr = trainer_epoch_lr(&t->o, e->epoch);
    bool nested = t->in_callback;
    t->in_callback = true;
    t->hooks.on_event(t, e, t->hooks.user);
    t->in_callback = nested;
}

void trainer_notice(mg_trainer *t, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_NOTICE, .message = msg});
}

void trainer_free_val_grid(mg_trainer *t)
{
    for (int i = 0; i < VAL_GRID_PAIRS; i++)
        for (int d = 0; d < 2; d++)
            mg_image_free(&t->val_grid[i][d]); /* and empties it */
}

void mg_trainer_free(mg_trainer *t)
{
    if (!t)
        return;
    trainer_free_val_grid(t);
    if (t->lock_fd >= 0)
        close(t->lock_fd);
    if (t->csv)
        fclose(t->csv);
    if (t->have_model)
        mg_cyclegan_free(&t->m);
    mg_dataset_free(t->da);
    mg_dataset_free(t->db);
    history_free(&t->hist);
    if (t->have_val)
        val_free(&t->val);
    free(t->val_hist.items);
    free(t->buf_a);
    free(t->buf_b);
    free(t->perm);
    free(t->str);
    free(t->command);
    free(t);
}

static mg_status trainer_alloc(mg_backend *be, const mg_trainer_hooks *hooks, mg_trainer **out)
{
    mg_trainer *t = *out = calloc(1, sizeof *t);
    if (t && !(t->str = calloc(1, sizeof *t->str))) {
        free(t);
        t = *out = NULL;
    }
    if (!t)
        return mg_error(MG_ERR_OOM, "trainer: out of host memory");
    t->be = be;
    t->lock_fd = -1;
    t->saved_iteration = -1;
    if (hooks)
        t->hooks = *hooks;
    t->dist = t->hooks.dist;
    t->writer = mg_dist_rank(t->dist) == 0;
    if (!(t->command = strdup(hooks && hooks->command ? hooks->command : "(library)"))) {
        mg_trainer_free(t);
        *out = NULL;
        return mg_error(MG_ERR_OOM, "trainer: out of host memory");
    }
    t->hooks.command = t->command;
    atomic_init(&t->stop, 0);
    return MG_OK;
}

/* The string setting id, copied into the trainer; the run's folders of data (scope RUN) made absolute, so that a
 * resume works from any working folder. */
static void trainer_keep_path(mg_trainer *t, mg_setting_id id)
{
    const char **field = mg_setting_field(&t->o, id);
    char *keep = t->str->v[id];
    if (!*field)
        return;
    if (mg_settings[id].scope != MG_SCOPE_RUN || !realpath(*field, keep))
        snprintf(keep, sizeof t->str->v[id], "%s", *field);
    *field = keep;
}

/* The crop a step trains on: --size N, N x N crops; --size 0, whole slices: the largest width and height of the
 * two folders (after --load-size), each raised to the PatchGAN's least side and rounded up to the generator's
 * multiple, smaller slices placed in it at random offsets. A new run's generator is fitted to that extent first
 * (gen is the model's configuration to build); a resumed one has its own (fit false). */
static void trainer_geometry(mg_trainer *t, mg_gen_config *gen, bool fit)
{
    const mg_train_settings *o = &t->o;
    t->crop = (mg_crop_config){
        .width = o->size, .height = o->size, .load_size = o->load_size, .flip = o->flip, .shift = o->shift};
    if (o->size > 0)
        return;
    int w = 0, h = 0;
    mg_dataset_extent(t->da, o->load_size, &w, &h);
    mg_dataset_extent(t->db, o->load_size, &w, &h);
    w = w > MG_PATCHGAN_MIN_SIDE ? w : MG_PATCHGAN_MIN_SIDE;
    h = h > MG_PATCHGAN_MIN_SIDE ? h : MG_PATCHGAN_MIN_SIDE;
    if (fit)
        mg_generator_fit(gen, w < h ? w : h);
    const int m = mg_generator_multiple(gen);
    t->crop.width = (w + m - 1) / m * m;
    t->crop.height = (h + m - 1) / m * m;
    t->crop.pad = true;
}

/* The default schedule's epochs (-1) for n_iter iterations an epoch: about MG_AUTO_*_ITERATIONS each. */
static void trainer_schedule(mg_train_settings *o, int n_iter)
{
    if (o->epochs < 0)
        o->epochs = (MG_AUTO_EPOCHS_ITERATIONS + n_iter - 1) / n_iter;
    if (o->epochs_decay < 0)
        o->epochs_decay = (MG_AUTO_DECAY_ITERATIONS + n_iter - 1) / n_iter;
}

/* Training and validation data, checked against the run's settings; the crop fitted to them (gen as in
 * trainer_geometry). */
static mg_status trainer_data(mg_trainer *t, mg_gen_config *gen, bool fit)
{
    const mg_train_settings *o = &t->o;
    mg_status s = mg_dataset_load(o->a, (mg_slice_axis)o->slice_axis, &t->da);
    if (s == MG_OK)
        s = mg_dataset_load(o->b, (mg_slice_axis)o->slice_axis, &t->db);
    if (s == MG_OK)
        trainer_geometry(t, gen, fit);
    if (s == MG_OK)
        s = mg_dataset_check_crop(t->da, &t->crop);
    if (s == MG_OK)
        s = mg_dataset_check_crop(t->db, &t->crop);
    if (s != MG_OK)
        return mg_error(s, "cannot load the training data: %s", mg_last_error());
    if (t->have_model && (s = run_check_pools(&t->m, t->crop.height, t->crop.width)) != MG_OK)
        return mg_error(s, "cannot resume: %s", mg_last_error());
    if (o->val_a && o->val_b && t->writer) {
        int unmatched;
        char first[256];
        if ((s = val_load(o->val_a, o->val_b, !o->val_unpaired, (mg_slice_axis)o->slice_axis, &t->val, &unmatched,
                          first, sizeof first)) != MG_OK)
            return s;
        t->have_val = true;
        if (unmatched)
            trainer_notice(t, "note: %d image%s of %s without a counterpart in %s not scored (%s%s)", unmatched,
                           unmatched == 1 ? "" : "s", o->val_b, o->val_a, first, unmatched > 1 ? ", ..." : "");
    }
    const int procs = mg_dist_size(t->dist);
    if (o->batch_size % procs)
        return mg_error(MG_ERR_ARG, "--batch-size %d cannot be shared by %d processes: give a multiple of %d",
                        o->batch_size, procs, procs);
    int na = mg_dataset_count(t->da), nb = mg_dataset_count(t->db);
    /* an epoch sees every slice of the larger set once, batch_size of them an iteration (the last batch is
     * completed from the epoch's first slices) */
    t->n_data = na > nb ? na : nb;
    t->n_iter = (t->n_data + o->batch_size - 1) / o->batch_size;
    trainer_schedule(&t->o, t->n_iter);
    if (t->st.iter_in_epoch >= t->n_iter)
        return mg_error(MG_ERR_FORMAT,
                        "the checkpoint stands at iteration %d of epoch %d, but the training folders now give %d "
                        "iterations an epoch (were images removed?)",
                        t->st.iter_in_epoch + 1, t->st.epoch, t->n_iter);
    size_t px = (size_t)t->crop.width * (size_t)t->crop.height * (size_t)o->batch_size;
    t->buf_a = malloc(px * sizeof(float));
    t->buf_b = malloc(px * sizeof(float));
    t->perm = malloc((size_t)t->n_data * sizeof(int));
    if (!t->buf_a || !t->buf_b || !t->perm)
        return mg_error(MG_ERR_OOM, "trainer: out of host memory");
    return MG_OK;
}

/* With the folder locked: an old run's files cleared (new run with overwrite), stale temporary files removed,
 * the CSVs trimmed to the checkpoint, config.txt written. */
static mg_status trainer_prepare(mg_trainer *t, bool clear_old)
{
    const char *out = t->o.out;
    mg_cyclegan_set_dist(&t->m, t->dist);
    if (!t->writer) { /* the folder is the first process's */
        trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_BEGIN});
        return MG_OK;
    }
    int cleared, stale;
    long short_rows;
    mg_status s = run_folder_prepare(out, clear_old, t->lock_fd, &cleared, &stale);
    if (s == MG_OK && cleared)
        trainer_notice(t, "--overwrite: removed %d files of the old run in %s", cleared, out);
    if (s == MG_OK && stale)
        trainer_notice(t, "removed %d temporary files of interrupted saves in %s", stale, out);
    if (s == MG_OK)
        s = run_csv_open(out, t->st.iteration, t->st.epoch, t->n_iter, &t->hist, &t->sums, &t->csv, &short_rows);
    if (s == MG_OK && short_rows >= 0)
        trainer_notice(t,
                       "warning: %s/losses.csv holds %ld of the checkpoint's %ld iterations; the loss means of epoch "
                       "%d count only the iterations from here, earlier epochs' come from epochs.csv",
                       out, short_rows, t->st.iteration, t->st.epoch);
    if (s == MG_OK)
        s = run_csv_keep_epochs(out, "epochs.csv", t->st.epoch);
    if (s == MG_OK)
        s = run_csv_keep_epochs(out, "val.csv", t->st.epoch);
    if (s == MG_OK)
        s = run_val_history_load(out, &t->val_hist);
    if (s == MG_OK)
        s = run_write_config(out, &t->o, t->be, t->command);
    if (s == MG_OK)
        trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_BEGIN});
    return s;
}

/* Points of the quantile functions of the intensity loss: finer than the 256 gray levels they come from. */
#define TRAINER_QUANTILES 257

/* The intensity profiles of the two training sets and the levels of their air (what a flat background takes), kept
 * in the model's configuration (and so in every checkpoint) unless a resumed checkpoint brought them; with the
 * intensity loss their quantile functions, and with the contrast prior its inverse histogram maps (both computed
 * again on resume: the same folders give the same values). */
static mg_status trainer_profiles(mg_trainer *t)
{
    const bool profile = !t->m.cfg.has_profile, quantiles = t->m.cfg.lambda_intensity > 0.0f,
               prior = t->m.cfg.lambda_prior > 0.0f, air = !t->m.cfg.has_air;
    mg_dataset *sets[2] = {t->da, t->db};
    mg_profile_counts c[2];
    for (int d = 0; (profile || quantiles || prior || air) && d < 2; d++) {
        float q[TRAINER_QUANTILES];
        memset(&c[d], 0, sizeof c[d]);
        for (int i = 0; i < mg_dataset_count(sets[d]); i++)
            mg_profile_add(&c[d], mg_dataset_image(sets[d], i));
        mg_status s = air ? mg_dataset_air(sets[d], MG_BACKGROUND_RADIUS, &t->m.cfg.air[d]) : MG_OK;
        if (s != MG_OK)
            return s;
        if (profile)
            s = mg_profile_finish(&c[d], &t->m.cfg.profile[d]);
        if (s == MG_OK && quantiles)
            s = mg_profile_quantiles(&c[d], TRAINER_QUANTILES, q);
        if (s != MG_OK || c[d].total <= 0)
            return mg_error(MG_ERR_ARG, "%s: every image is background", d ? t->o.b : t->o.a);
        if (quantiles && (s = mg_cyclegan_set_quantiles(&t->m, d, q, TRAINER_QUANTILES)) != MG_OK)
            return s;
    }
    if (prior) {
        mg_intensity_map ab, ba;
        mg_status s = mg_map_fit_inverse(&c[0], &c[1], &ab);
        if (s == MG_OK)
            s = mg_map_fit_inverse(&c[1], &c[0], &ba);
        if (s != MG_OK) /* the prior is on by default, so say how to do without it */
            return mg_error(s, "%s, %s: the contrast prior cannot fit its map (%s); --lambda-prior 0 turns it off",
                            t->o.a, t->o.b, mg_last_error());
        mg_cyclegan_set_prior(&t->m, &ab, &ba);
    }
    t->m.cfg.has_profile = true;
    t->m.cfg.has_air = true;
    return MG_OK;
}

/* What the processes of a run must share for their exchanges to fit and their copies of the model to stay equal: the
 * settings a checkpoint keeps, the per-invocation limit, the data's counts and crop, where the run stands, the kind of
 * backend (whose Adam kernels must round alike). */
typedef struct run_print {
    int status; /* this process's own failure so far (it says why) */
    int crop_w, crop_h, n_a, n_b, n_iter, max_iterations;
    long iteration;
    uint64_t settings; /* FNV-1a of the settings of scopes RUN and MODEL as text */
    char backend[16];
} run_print;

static void trainer_print(const mg_trainer *t, mg_status s, run_print *p)
{
    memset(p, 0, sizeof *p);
    p->status = s != MG_OK;
    if (!t || s != MG_OK)
        return;
    p->crop_w = t->crop.width; /* field by field: the padding stays zero for the comparison */
    p->crop_h = t->crop.height;
    p->n_a = mg_dataset_count(t->da);
    p->n_b = mg_dataset_count(t->db);
    p->n_iter = t->n_iter;
    p->max_iterations = t->o.max_iterations;
    p->iteration = t->st.iteration;
    p->settings = 0xcbf29ce484222325ull;
    snprintf(p->backend, sizeof p->backend, "%s", mg_backend_name(t->be));
    for (int i = 0; i < MG_SET_COUNT; i++) {
        char buf[4200];
        if (mg_settings[i].scope != MG_SCOPE_RUN && mg_settings[i].scope != MG_SCOPE_MODEL)
            continue;
        for (const char *c = mg_setting_format(&t->o, (mg_setting_id)i, buf, sizeof buf); c && *c; c++)
            p->settings = (p->settings ^ (unsigned char)*c) * 0x100000001b3ull;
        p->settings = (p->settings ^ 0xff) * 0x100000001b3ull; /* a separator */
    }
}

/* s agreed over the processes of the run before the first of them touches the run folder, and what they are about to
 * train compared: every process computes the same verdict from everyone's print. Alone: s. */
static mg_status trainer_agree_print(mg_dist *d, const mg_trainer *t, mg_status s)
{
    const int n = mg_dist_size(d);
    if (n == 1)
        return s;
    run_print mine, *all = calloc((size_t)n, sizeof *all);
    trainer_print(t, s, &mine);
    mg_status g = all ? mg_dist_gather(d, &mine, all, sizeof mine) : mg_error(MG_ERR_OOM, "out of host memory");
    for (int r = 0; s == MG_OK && g == MG_OK && r < n; r++) {
        const run_print *a = &all[r], *z = &all[0];
        if (a->status)
            g = mg_error(MG_ERR_PEER, "process %d of %d could not start the run (its own message says why)", r, n);
        else if (memcmp(a, z, sizeof *a))
            g = mg_error(MG_ERR_ARG,
                         "process %d of %d would train something else than process 0 (crop %dx%d against %dx%d, "
                         "%d + %d images against %d + %d, iteration %ld against %ld, the %s backend against %s, "
                         "%s settings, --max-iterations %d against %d): every process needs the same arguments, "
                         "data and kind of device",
                         r, n, a->crop_w, a->crop_h, z->crop_w, z->crop_h, a->n_a, a->n_b, z->n_a, z->n_b, a->iteration,
                         z->iteration, a->backend, z->backend, a->settings == z->settings ? "the same" : "other",
                         a->max_iterations, z->max_iterations);
    }
    free(all);
    return s != MG_OK ? s : g;
}

static mg_status trainer_start(const mg_train_settings *s, mg_backend *be, const mg_trainer_hooks *hooks,
                               mg_trainer **out)
{
    const double t0 = mg_now_s();
    *out = NULL;
    mg_dist *d = hooks ? hooks->dist : NULL;
    mg_status st = mg_train_settings_check(s);
    if (st == MG_OK && !s->out)
        st = mg_error(MG_ERR_ARG, "no run folder (--out) given");
    if (st == MG_OK && mg_dist_rank(d) == 0)
        st = mg_trainer_check_folder(s->out, s->overwrite);
    mg_trainer *t = NULL;
    if (st == MG_OK)
        st = trainer_alloc(be, hooks, &t);
    if (st == MG_OK) {
        t->o = *s;
        t->o.resume = NULL;
        for (int i = 0; i < MG_SET_COUNT; i++)
            if (mg_settings[i].kind == MG_SETTING_STRING)
                trainer_keep_path(t, (mg_setting_id)i);
        t->st = (run_state){.epoch = 1};
        mg_cyclegan_config cfg = mg_train_settings_model(&t->o);
        st = trainer_data(t, &cfg.gen, true);
        /* the settings say what the model does, as a resume reads them back from its configuration: the fitted
         * generator drops --dropout where it has none (config.txt stays the same across a resume) */
        t->o.dropout = cfg.gen.dropout;
        if (st == MG_OK && (st = mg_cyclegan_new(be, &cfg, (uint64_t)t->o.seed, &t->m)) != MG_OK)
            st = mg_error(st, "cannot build the model: %s", mg_last_error());
        t->have_model = st == MG_OK;
        if (st == MG_OK)
            st = trainer_profiles(t);
    }
    /* Only now, and only when every process could start: a run refused for its settings, data or model leaves
     * nothing behind. Checked again under the lock: another run may have started there since. */
    st = trainer_agree_print(d, t, st);
    if (st == MG_OK && t->writer && (st = run_folder_lock(t->o.out, true, &t->lock_fd)) == MG_OK)
        st = mg_trainer_check_folder(t->o.out, t->o.overwrite);
    if (st == MG_OK)
        st = trainer_prepare(t, t->o.overwrite);
    if (st != MG_OK) {
        mg_trainer_free(t);
        return st;
    }
    t->time_setup = mg_now_s() - t0;
    *out = t;
    return MG_OK;
}

mg_status mg_trainer_new(const mg_train_settings *s, mg_backend *be, const mg_trainer_hooks *hooks, mg_trainer **out)
{
    mg_status st = trainer_agree(hooks ? hooks->dist : NULL, trainer_start(s, be, hooks, out), NULL);
    if (st != MG_OK && *out) {
        mg_trainer_free(*out);
        *out = NULL;
    }
    return st;
}

mg_status mg_trainer_check_resume(const char *dir)
{
    char path[4200];
    if (!mg_path_fmt(path, sizeof path, "%s/latest.ckpt", dir))
        return mg_error(MG_ERR_ARG, "cannot resume: %s: path too long", dir);
    struct stat sb;
    int found = stat(path, &sb) == 0 ? 0 : errno;
    if (found || !S_ISREG(sb.st_mode)) /* nothing is created or removed in a folder without a run */
        return mg_error(MG_ERR_IO, "cannot resume: %s: %s", path,
                        found == ENOENT ? "no such file (not a run folder?)"
                        : found         ? strerror(found)
                                        : "not a file");
    return MG_OK;
}

/* Settings, run state and model from the checkpoint c of the run in dir. */
static mg_status trainer_load(mg_trainer *t, const mg_ckpt *c)
{
    mg_cyclegan_config cfg;
    mg_status s = run_load_state(c, &t->o, &t->st, t->str);
    if (s == MG_OK)
        s = mg_cyclegan_config_load(c, &cfg);
#define MODEL_FROM_CFG_RUN(f, m)
#define MODEL_FROM_CFG_ONCE(f, m)
#define MODEL_FROM_CFG_EACH(f, m)
#define MODEL_FROM_CFG_MODEL(f, m)                                           t->o.f = cfg.m;
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) MODEL_FROM_CFG_##scope(f, member)
    if (s == MG_OK) {
#include "mrigan/settings.def"
    }
#undef SETTING
    if (s == MG_OK)
        s = run_check_model(&t->o);
    if (s == MG_OK && t->o.size > 0 && t->o.size % mg_generator_multiple(&cfg.gen))
        s = mg_error(MG_ERR_FORMAT, "its --size %d is not a multiple of %d, which its %s generator needs", t->o.size,
                     mg_generator_multiple(&cfg.gen), mg_generator_names[cfg.gen.kind]);
    if (s == MG_OK && (!t->o.a || !t->o.b))
        s = mg_error(MG_ERR_FORMAT, "the checkpoint names no training folders (run.a, run.b)");
    if (s == MG_OK && (s = mg_cyclegan_new(t->be, &cfg, (uint64_t)t->o.seed, &t->m)) == MG_OK)
        t->have_model = true;
    if (s == MG_OK)
        s = mg_cyclegan_load(&t->m, c, true);
    return s;
}

static mg_status trainer_continue(const char *dir, const mg_train_settings *each, mg_backend *be,
                                  const mg_trainer_hooks *hooks, mg_trainer **out)
{
    const double t0 = mg_now_s();
    *out = NULL;
    char path[4200];
    mg_trainer *t = NULL;
    mg_status s = mg_trainer_check_resume(dir);
    mg_path_fmt(path, sizeof path, "%s/latest.ckpt", dir);
    if (s == MG_OK)
        s = trainer_alloc(be, hooks, &t);
    if (s == MG_OK) {
        /* The per-invocation settings are the caller's; the rest come from the checkpoint (the defaults stand for
         * settings newer than it). */
        mg_train_settings_default(&t->o);
#define EACH_FROM_CALLER_RUN(f)
#define EACH_FROM_CALLER_MODEL(f)
#define EACH_FROM_CALLER_ONCE(f)
#define EACH_FROM_CALLER_EACH(f)                                             t->o.f = each->f;
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) EACH_FROM_CALLER_##scope(f)
        if (each) {
#include "mrigan/settings.def"
        }
#undef SETTING
        snprintf(t->str->v[MG_SET_OUT], sizeof t->str->v[0], "%s", dir);
        t->o.out = t->o.resume = t->str->v[MG_SET_OUT];
        s = t->writer ? run_folder_lock(dir, false, &t->lock_fd) : MG_OK;
        mg_ckpt c;
        if (s == MG_OK && (s = mg_ckpt_load(path, &c)) != MG_OK)
            s = mg_error(s, "cannot resume: %s", mg_last_error());
        else if (s == MG_OK) {
            if ((s = trainer_load(t, &c)) != MG_OK)
                s = mg_error(s, "%s: %s", path, mg_last_error());
            mg_ckpt_free(&c);
        }
        t->saved_iteration = t->st.iteration;
        if (s == MG_OK)
            s = trainer_data(t, &t->m.cfg.gen, false);
        if (s == MG_OK)
            s = trainer_profiles(t);
    }
    s = trainer_agree_print(hooks ? hooks->dist : NULL, t, s); /* before the folder's CSVs are trimmed */
    if (s == MG_OK)
        s = trainer_prepare(t, false);
    if (s != MG_OK) {
        mg_trainer_free(t);
        return s;
    }
    t->time_setup = mg_now_s() - t0;
    *out = t;
    return MG_OK;
}

mg_status mg_trainer_resume(const char *dir, const mg_train_settings *each, mg_backend *be,
                            const mg_trainer_hooks *hooks, mg_trainer **out)
{
    mg_status s = trainer_agree(hooks ? hooks->dist : NULL, trainer_continue(dir, each, be, hooks, out), NULL);
    if (s != MG_OK && *out) {
        mg_trainer_free(*out);
        *out = NULL;
    }
    return s;
}

mg_status mg_trainer_extend(mg_trainer *t, int epochs, int epochs_decay)
{
    if (!t)
        return mg_error(MG_ERR_ARG, "extend: NULL trainer");
    if (t->in_callback)
        return mg_error(MG_ERR_ARG, "extend: not from the trainer's callback");
    mg_train_settings o = t->o;
    o.epochs = epochs;
    o.epochs_decay = epochs_decay;
    trainer_schedule(&o, t->n_iter);
    mg_status s = mg_train_settings_check(&o);
    if (s != MG_OK)
        return s;
    const int done = t->st.epoch - 1;
    if (o.epochs + o.epochs_decay < done)
        return mg_error(MG_ERR_ARG, "the run in %s has done %d epoch%s: a schedule of %d + %d is shorter", t->o.out,
                        done, done == 1 ? "" : "s", o.epochs, o.epochs_decay);
    /* config.txt says what the run trains to (mrigan pick and the report read it); when it cannot be rewritten,
     * the schedule stays as it was, so that the two never disagree */
    mg_train_settings was = t->o;
    t->o.epochs = o.epochs;
    t->o.epochs_decay = o.epochs_decay;
    s = t->writer ? run_write_config(t->o.out, &t->o, t->be, t->command) : MG_OK;
    if ((s = trainer_agree(t->dist, s, NULL)) != MG_OK)
        t->o = was;
    return s;
}

void mg_trainer_info(const mg_trainer *t, mg_train_info *out)
{
    *out = (mg_train_info){
        .settings = &t->o,
        .out = t->o.out,
        .n_a = mg_dataset_count(t->da),
        .n_b = mg_dataset_count(t->db),
        .n_iter = t->n_iter,
        .crop_width = t->crop.width,
        .crop_height = t->crop.height,
        .epochs = t->o.epochs + t->o.epochs_decay,
        .epoch = t->st.epoch,
        .iter_in_epoch = t->st.iter_in_epoch,
        .iteration = t->st.iteration,
        .saved_iteration = t->saved_iteration,
        .iterations_run = t->iterations_run,
        .best_epoch = t->st.best_epoch,
        .best_score = t->st.best_score,
        .finished = t->st.epoch > t->o.epochs + t->o.epochs_decay,
        .validates = t->have_val,
        .n_epochs = t->hist.n,
        .n_val = t->val_hist.n,
        .loss_means = (const float(*)[MG_LOSS_COUNT])t->hist.means,
        .val = t->val_hist.items,
        .val_paired = t->have_val ? t->val.paired : t->val_hist.paired,
        .identity = t->identity_written ? &t->identity : NULL,
        .seconds_setup = t->time_setup,
        .seconds_steps = t->time_steps,
        .seconds_validation = t->time_val,
        .seconds_outputs = t->time_outputs,
    };
}

mg_cyclegan *mg_trainer_model(mg_trainer *t) { return t->have_model ? &t->m : NULL; }

void mg_trainer_stop(mg_trainer *t) { atomic_store(&t->stop, 1); }

mg_status trainer_agree(mg_dist *d, mg_status s, int *stop)
{
    if (mg_dist_size(d) == 1)
        return s;
    int v[2] = {s != MG_OK, stop ? *stop : 0};
    mg_status g = mg_dist_max(d, v, 2);
    if (stop)
        *stop = v[1];
    if (s != MG_OK || g != MG_OK)
        return s != MG_OK ? s : g;
    return v[0] ? mg_error(MG_ERR_PEER, "another process of the run failed (its own message says why)") : MG_OK;
}
