/* Run state in checkpoints ("run.*" keys), the per-epoch loss history, and saving a run's checkpoint. Every value
 * read back is held to what a run can reach. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/file.h"
#include "trainer-internal.h"

mg_status history_add(loss_history *h, const float *means)
{
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        void *p = realloc(h->means, (size_t)cap * sizeof *h->means);
        if (!p)
            return mg_error(MG_ERR_OOM, "loss history: out of host memory");
        h->means = p;
        h->cap = cap;
    }
    memcpy(h->means[h->n++], means, sizeof *h->means);
    return MG_OK;
}

void history_free(loss_history *h)
{
    free(h->means);
    memset(h, 0, sizeof *h);
}

/* Where the run stands, kept beside the settings of scope RUN (mrigan/settings.def), with the values a run can
 * reach: iteration stays below LONG_MAX / 1024 (2^53 with a 64-bit long) so that it converts to double exactly
 * and seeds streams without overflow. */
#define RUN_STATE_INTS(X)                                                                                              \
    X("run.epoch", st->epoch, 1, INT_MAX)                                                                              \
    X("run.iter_in_epoch", st->iter_in_epoch, 0, INT_MAX - 1)                                                          \
    X("run.iteration", st->iteration, 0, LONG_MAX / 1024)                                                              \
    X("run.best_epoch", st->best_epoch, 0, INT_MAX)

/* Saving and loading one setting of scope RUN as "run.<field>", by kind; the other scopes are not kept here. */
#define SAVE_RUN(kind, f)   SAVE_##kind(f)
#define SAVE_MODEL(kind, f) /* in the model configuration */
#define SAVE_ONCE(kind, f)
#define SAVE_EACH(kind, f)
#define SAVE_INT(f)                                                                                                    \
    if (s == MG_OK)                                                                                                    \
        s = mg_ckpt_set_long(&c, "run." #f, (long)o->f);
#define SAVE_FLAG(f)   SAVE_INT(f)
#define SAVE_NOFLAG(f) SAVE_INT(f)
#define SAVE_CHOICE(f) SAVE_INT(f)
#define SAVE_STRING(f)                                                                                                 \
    if (s == MG_OK)                                                                                                    \
        s = mg_ckpt_set(&c, "run." #f, o->f ? o->f : "");
#define SAVE_FLOAT(f)                                                                                                  \
    if (s == MG_OK) {                                                                                                  \
        char v_[32];                                                                                                   \
        snprintf(v_, sizeof v_, "%.9g", (double)o->f);                                                                 \
        s = mg_ckpt_set(&c, "run." #f, v_);                                                                            \
    }

/* Loaded values are held to the setting's own range (a default outside it, as load_size 0 for "off", is
 * allowed too): a damaged checkpoint whose CRC still matches cannot smuggle in what the options refuse. */
#define LOAD_RUN(e, kind, f, lo, hi, ch, def)                                                                          \
    if (s == MG_OK && (mg_ckpt_has(c, "run." #f) || !run_key_is_newer("run." #f))) {                                   \
        LOAD_##kind(e, f, lo, hi, ch, def)                                                                             \
    }
#define LOAD_MODEL(e, kind, f, lo, hi, ch, def) /* from the model configuration, by the caller */
#define LOAD_ONCE(e, kind, f, lo, hi, ch, def)
#define LOAD_EACH(e, kind, f, lo, hi, ch, def)
#define LOAD_RANGE(f, lo, hi)                                                                                          \
    if (s == MG_OK && (s = mg_ckpt_get_long(c, "run." #f, lo, hi, &v)) == MG_OK)                                       \
        o->f = (int)v;
#define LOAD_INT(e, f, lo, hi, ch, def)                                                                                \
    LOAD_RANGE(f, (def) < (lo) ? (long)(def) : (long)(lo), (long)(hi))                                                 \
    if (s == MG_OK && o->f < (lo) && o->f != (def)) /* below the range: only the default's "off" value */              \
        s = mg_error(MG_ERR_FORMAT, "checkpoint: run." #f "=%d is outside %d..%d", (int)o->f, (int)(lo), (int)(hi));
#define LOAD_FLAG(e, f, lo, hi, ch, def)   LOAD_RANGE(f, 0, 1)
#define LOAD_NOFLAG(e, f, lo, hi, ch, def) LOAD_RANGE(f, 0, 1)
#define LOAD_CHOICE(e, f, lo, hi, ch, def) LOAD_RANGE(f, 0, mg_setting_choice_count(ch) - 1)
/* A path outlives the checkpoint it came from: kept in str. */
#define LOAD_STRING(e, f, lo, hi, ch, def)                                                                             \
    if (s == MG_OK) {                                                                                                  \
        char *v_ = str->v[MG_SET_##e];                                                                                 \
        s = mg_ckpt_get(c, "run." #f, v_, sizeof str->v[0]);                                                           \
        o->f = v_[0] ? v_ : NULL;                                                                                      \
    }
#define LOAD_FLOAT(e, f, lo, hi, ch, def)                                                                              \
    if (s == MG_OK) {                                                                                                  \
        char v_[64], *end_;                                                                                            \
        if ((s = mg_ckpt_get(c, "run." #f, v_, sizeof v_)) == MG_OK)                                                   \
            o->f = strtof(v_, &end_);                                                                                  \
        if (s == MG_OK && (end_ == v_ || *end_ || !(o->f >= (lo) && o->f <= (hi))))                                    \
            s = mg_error(MG_ERR_FORMAT, "checkpoint: run." #f "=%s is outside %g..%g", v_, (double)(lo),               \
                         (double)(hi));                                                                                \
    }

/* Settings added after runs were first saved: a checkpoint without one takes the default. Any other missing
 * key is an error, not a silent default (a run resumed at another crop size or seed). */
static bool run_key_is_newer(const char *key)
{
    static const char *const newer[] = {
        "run.save_every_iterations",  "run.slice_axis", "run.batch_size", "run.shift", "run.val_every",
        "run.sample_every_iterations"};
    for (size_t i = 0; i < sizeof newer / sizeof *newer; i++)
        if (!strcmp(key, newer[i]))
            return true;
    return false;
}

mg_status run_save(const char *dir, const char *name, const mg_cyclegan *m, const mg_train_settings *o,
                   const run_state *st, bool with_state)
{
    mg_ckpt c;
    mg_ckpt_init(&c);
    c.views = true; /* saved at once, from the tensors themselves: no copy of the model and its moments */
    mg_status s = mg_ckpt_set(&c, "format", "mrigan-cyclegan");
#define SAVE(key, field, lo, hi)                                                                                       \
    if (s == MG_OK)                                                                                                    \
        s = mg_ckpt_set_long(&c, key, (long)(field));
    RUN_STATE_INTS(SAVE)
#undef SAVE
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) SAVE_##scope(kind, f)
#include "mrigan/settings.def"
#undef SETTING
    char score[32];
    snprintf(score, sizeof score, "%.17g", st->best_score);
    if (s == MG_OK)
        s = mg_ckpt_set(&c, "run.best_score", score);
    if (s == MG_OK) /* latest.ckpt holds everything a resume needs; snapshots what translation needs */
        s = with_state ? mg_cyclegan_save(m, &c, true) : mg_cyclegan_save_generators(m, &c, 3);
    char path[4096];
    if (s == MG_OK && !mg_path_fmt(path, sizeof path, "%s/%s", dir, name))
        s = mg_error(MG_ERR_ARG, "checkpoint path %s/%s is too long", dir, name);
    if (s == MG_OK)
        s = mg_ckpt_save(&c, path);
    mg_ckpt_free(&c);
    return s;
}

mg_status run_load_state(const mg_ckpt *c, mg_train_settings *o, run_state *st, run_strings *str)
{
    long v = 0;
    char fmt[32];
    mg_status s = mg_ckpt_get(c, "format", fmt, sizeof fmt);
    if (s == MG_OK && strcmp(fmt, "mrigan-cyclegan"))
        s = mg_error(MG_ERR_FORMAT, "checkpoint: format '%s' is not a CycleGAN training run", fmt);
#define LOAD(key, field, lo, hi)                                                                                       \
    if (s == MG_OK && (s = mg_ckpt_get_long(c, key, lo, hi, &v)) == MG_OK)                                             \
        field = v;
    RUN_STATE_INTS(LOAD)
#undef LOAD
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help)                                           \
    LOAD_##scope(e, kind, f, lo, hi, choices, def)
#include "mrigan/settings.def"
#undef SETTING
    char score[64] = "0", *end = score;
    if (s == MG_OK && (s = mg_ckpt_get(c, "run.best_score", score, sizeof score)) == MG_OK)
        st->best_score = strtod(score, &end);
    if (s == MG_OK && (end == score || *end || !isfinite(st->best_score)))
        s = mg_error(MG_ERR_FORMAT, "checkpoint: run.best_score=%s is not a finite number", score);
    /* The state must also fit the run's own settings. */
    int total = s == MG_OK ? o->epochs + o->epochs_decay : 0;
    if (s == MG_OK && st->epoch > total + 1)
        s = mg_error(MG_ERR_FORMAT, "checkpoint: run.epoch=%d is past the run's %d epochs", st->epoch, total);
    if (s == MG_OK && st->best_epoch >= st->epoch)
        s = mg_error(MG_ERR_FORMAT, "checkpoint: run.best_epoch=%d is not before run.epoch=%d", st->best_epoch,
                     st->epoch);
    return s;
}

mg_status run_check_pools(const mg_cyclegan *m, int height, int width)
{
    const mg_image_pool *pools[2] = {&m->pool_a, &m->pool_b};
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < pools[p]->n; k++) {
            const mg_tensor *t = pools[p]->items[k];
            if (t->ndim != 4 || t->shape[2] != height || t->shape[3] != width)
                return mg_error(MG_ERR_FORMAT, "checkpoint: image %d of pool_%c is not a %dx%d crop like the run's", k,
                                "AB"[p], width, height);
        }
    return MG_OK;
}

/* The model's numbers are held to the ranges the settings allow (the library's model code only refuses what it
 * cannot compute with), so that a crafted checkpoint cannot resume what no new run could start. */
mg_status run_check_model(const mg_train_settings *o)
{
    for (int i = 0; i < MG_SET_COUNT; i++)
        if (mg_settings[i].scope == MG_SCOPE_MODEL && settings_check_range(o, (mg_setting_id)i) != MG_OK)
            return mg_error(MG_ERR_FORMAT, "its %s", mg_last_error());
    return MG_OK;
}
