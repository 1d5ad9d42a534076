/* Run state in checkpoints ("run.*" keys), the per-epoch loss history, and saving a run's checkpoint. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "options.h"
#include "train-run.h"

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

/* The run's integer settings, in one table for saving and loading. */
#define RUN_INTS(X)                                                                                                    \
    X("run.epoch", st->epoch)                                                                                          \
    X("run.iter_in_epoch", st->iter_in_epoch)                                                                          \
    X("run.iteration", st->iteration)                                                                                  \
    X("run.epochs", o->epochs)                                                                                         \
    X("run.epochs_decay", o->epochs_decay)                                                                             \
    X("run.size", o->size)                                                                                             \
    X("run.load_size", o->load_size)                                                                                   \
    X("run.flip", o->flip)                                                                                             \
    X("run.seed", o->seed)                                                                                             \
    X("run.save_every", o->save_every)                                                                                 \
    X("run.val_unpaired", o->val_unpaired)                                                                             \
    X("run.best_metric", o->best_metric)                                                                               \
    X("run.best_epoch", st->best_epoch)

mg_status run_save(const char *dir, const char *name, const mg_cyclegan *m, const train_opts *o, const run_state *st,
                   bool with_state)
{
    mg_ckpt c;
    mg_ckpt_init(&c);
    mg_status s = mg_ckpt_set(&c, "format", "mrigan-cyclegan");
#define SAVE(key, field)                                                                                               \
    if (s == MG_OK)                                                                                                    \
        s = mg_ckpt_set_long(&c, key, (long)(field));
    RUN_INTS(SAVE)
#undef SAVE
    if (s == MG_OK)
        s = mg_ckpt_set(&c, "run.a", o->a);
    if (s == MG_OK)
        s = mg_ckpt_set(&c, "run.b", o->b);
    if (s == MG_OK)
        s = mg_ckpt_set(&c, "run.val_a", o->val_a ? o->val_a : "");
    if (s == MG_OK)
        s = mg_ckpt_set(&c, "run.val_b", o->val_b ? o->val_b : "");
    char score[32];
    snprintf(score, sizeof score, "%.17g", st->best_score);
    if (s == MG_OK)
        s = mg_ckpt_set(&c, "run.best_score", score);
    if (s == MG_OK)
        s = mg_cyclegan_save(m, &c, with_state);
    char path[4096];
    if (s == MG_OK && !app_path(path, sizeof path, "%s/%s", dir, name))
        s = mg_error(MG_ERR_ARG, "checkpoint path %s/%s is too long", dir, name);
    if (s == MG_OK)
        s = mg_ckpt_save(&c, path);
    mg_ckpt_free(&c);
    return s;
}

mg_status run_load_state(const mg_ckpt *c, train_opts *o, run_state *st)
{
    long v = 0;
    char fmt[32];
    mg_status s = mg_ckpt_get(c, "format", fmt, sizeof fmt);
    if (s == MG_OK && strcmp(fmt, "mrigan-cyclegan"))
        s = mg_error(MG_ERR_FORMAT, "checkpoint: format '%s' is not a CycleGAN training run", fmt);
#define LOAD(key, field)                                                                                               \
    if (s == MG_OK && (s = mg_ckpt_get_long(c, key, LONG_MIN, LONG_MAX, &v)) == MG_OK)                                 \
        field = v;
    RUN_INTS(LOAD)
#undef LOAD
    static char a[4096], b[4096], va[4096], vb[4096]; /* the paths outlive the checkpoint */
    char score[64] = "0";
    if (s == MG_OK)
        s = mg_ckpt_get(c, "run.a", a, sizeof a);
    if (s == MG_OK)
        s = mg_ckpt_get(c, "run.b", b, sizeof b);
    if (s == MG_OK)
        s = mg_ckpt_get(c, "run.val_a", va, sizeof va);
    if (s == MG_OK)
        s = mg_ckpt_get(c, "run.val_b", vb, sizeof vb);
    if (s == MG_OK)
        s = mg_ckpt_get(c, "run.best_score", score, sizeof score);
    o->a = a;
    o->b = b;
    o->val_a = va[0] ? va : NULL;
    o->val_b = vb[0] ? vb : NULL;
    st->best_score = strtod(score, NULL);
    return s;
}
