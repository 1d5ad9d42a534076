/* The trainer's loop: one iteration at a time, the work at each epoch's end, and where a run stops.
 *
 * Randomness follows the seed alone: weights from PCG32 stream 0; epoch e's order from its own stream; each
 * iteration's draws (which B image, crops, flips, pool choices) and dropout masks from streams keyed by the
 * global iteration number. A resumed run therefore repeats exactly what the uninterrupted run would do, given
 * the same backend and thread count (float sums are not associative). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "base/base.h"
#include "base/file.h"
#include "trainer-internal.h"

float trainer_epoch_lr(const mg_train_settings *o, int epoch)
{
    int over = epoch - o->epochs;
    return o->lr * (1.0f - (float)(over > 0 ? over : 0) / (float)(o->epochs_decay + 1));
}

/* Fisher-Yates permutation of 0..n-1 for epoch e. */
static void trainer_epoch_order(int seed, int epoch, int *perm, int n)
{
    mg_rng r;
    mg_rng_seed(&r, (uint64_t)seed ^ 0x5851F42D4C957F2Dull, (uint64_t)epoch);
    mg_rng_permutation(&r, perm, n);
}

/* What a failed run leaves to resume from, for its last message. */
static const char *trainer_kept(const mg_trainer *t, char *buf, size_t len)
{
    if (t->saved_iteration < 0)
        snprintf(buf, len, "no checkpoint had been saved yet");
    else
        snprintf(buf, len, "%s/latest.ckpt of iteration %ld is kept", t->o.out, t->saved_iteration);
    return buf;
}

/* Saves dir/name: with_state, everything a resume needs (latest.ckpt); else the generators and configuration. epoch:
 * the one the SAVED event concerns. */
static mg_status trainer_save_as(mg_trainer *t, const char *name, bool with_state, int epoch)
{
    if (!t->writer) { /* where the writer saved: the point a failure leaves to resume from */
        t->saved_iteration = with_state ? t->st.iteration : t->saved_iteration;
        return MG_OK;
    }
    mg_status s = run_save(t->o.out, name, &t->m, &t->o, &t->st, with_state);
    char kept[4400], path[4400];
    if (s == MG_OK) {
        if (with_state)
            t->saved_iteration = t->st.iteration;
        mg_path_fmt(path, sizeof path, "%s/%s", t->o.out, name);
        trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_SAVED, .epoch = epoch, .path = path});
        return MG_OK;
    }
    if (s == MG_ERR_NONFINITE)
        return mg_error(s, "training diverged before iteration %ld: %s; %s", t->st.iteration, mg_last_error(),
                        trainer_kept(t, kept, sizeof kept));
    return mg_error(s, "saving %s/%s failed (%s): %s", t->o.out, name,
                    with_state ? trainer_kept(t, kept, sizeof kept) : "the previous one, if any, is intact",
                    mg_last_error());
}

/* A distributed run after a failure: one process may have stood in an epoch's end that failed while the others went
 * on, so that going on could pair one's exchanges with another's; latest.ckpt is where they agree. (Alone, a failed
 * end is taken up again by the next call.) */
static mg_status trainer_failed(const mg_trainer *t)
{
    return mg_error(MG_ERR_PEER, "the processes of this run stopped at a failure: resume it from %s/latest.ckpt",
                    t->o.out);
}

/* Whether the epoch's iterations have all run but its end (trainer_end_epoch) has not been written. */
static bool trainer_end_pending(const mg_trainer *t) { return t->st.iter_in_epoch >= t->n_iter; }

mg_status mg_trainer_save(mg_trainer *t)
{
    if (t->dist_failed)
        return trainer_failed(t);
    if (t->in_callback)
        return mg_error(MG_ERR_ARG, "mg_trainer_save: not from the trainer's own callback");
    if (t->in_epoch_end)
        return mg_error(MG_ERR_ARG, "latest.ckpt cannot be saved while the end of epoch %d is being written",
                        t->st.epoch);
    if (trainer_end_pending(t)) /* a state no resume could take: write the epoch's end first, which saves */
        return mg_trainer_step(t);
    mg_status s = MG_OK;
    if (t->saved_iteration != t->st.iteration) {
        const double t0 = mg_now_s();
        s = trainer_save_as(t, "latest.ckpt", true, t->st.epoch);
        t->time_outputs += mg_now_s() - t0;
    }
    s = trainer_agree(t->dist, s, NULL); /* once per call on every process, whichever way it goes */
    t->dist_failed = s != MG_OK && mg_dist_size(t->dist) > 1;
    return s;
}

/* Validation of the finished epoch: its scores into val.csv and the history (then stage END_VALIDATED). */
static mg_status trainer_validate(mg_trainer *t, int epoch)
{
    mg_val_result r;
    const double t0 = mg_now_s();
    trainer_free_val_grid(t);
    mg_status s = val_run(&t->m, &t->val, t->o.best_metric, t->val.paired ? t->val_grid : NULL, &r);
    r.epoch = epoch;
    t->time_val += mg_now_s() - t0;
    if (s != MG_OK)
        return mg_error(s, "validation: %s", mg_last_error());
    if (t->val.paired && !t->identity_written) { /* the baseline the report draws beside the curves */
        mg_val_result id;
        char text[512], path[4200];
        if ((s = val_identity(&t->val, &t->identity)) != MG_OK)
            return mg_error(s, "validation: %s", mg_last_error());
        id = t->identity;
        snprintf(text, sizeof text, "direction,psnr_db,ssim,mae\na2b,%.4f,%.5f,%.4f\nb2a,%.4f,%.5f,%.4f\n", id.psnr[0],
                 id.ssim[0], id.mae[0], id.psnr[1], id.ssim[1], id.mae[1]);
        if (!mg_path_fmt(path, sizeof path, "%s/val-identity.csv", t->o.out) ||
            (s = run_write_text(path, text)) != MG_OK)
            return mg_error(s ? s : MG_ERR_ARG, "cannot write %s/val-identity.csv: %s", t->o.out, mg_last_error());
        t->identity_written = true;
    }
    char line[512];
    snprintf(line, sizeof line, "%d,%s,%.4f,%.5f,%.4f,%.4f,%.5f,%.4f,%.6f\n", epoch, t->val.paired ? "paired" : "cycle",
             r.psnr[0], r.ssim[0], r.mae[0], r.psnr[1], r.ssim[1], r.mae[1], r.score);
    if ((s = run_csv_append(t->o.out, "val.csv",
                            "epoch,kind,a2b_psnr,a2b_ssim,a2b_mae,b2a_psnr,b2a_ssim,b2a_mae,score\n", line)) != MG_OK ||
        (s = run_val_history_add(&t->val_hist, t->val.paired, &r)) != MG_OK)
        return s;
    t->end_stage = END_VALIDATED;
    trainer_emit(
        t, &(mg_train_event){.kind = MG_TRAIN_VALIDATION, .epoch = epoch, .val = &r, .val_paired = t->val.paired});
    return MG_OK;
}

/* best.ckpt and best.txt when the finished epoch's validation score (the last of the history) is the best yet. */
static mg_status trainer_keep_best(mg_trainer *t, int epoch)
{
    static const char *const metric[] = {"mean SSIM of both directions", "mean PSNR of both directions",
                                         "minus the mean MAE of both directions"};
    const mg_val_result *r = &t->val_hist.items[t->val_hist.n - 1];
    /* A perfect score (PSNR of identical images) is infinite: held to the largest double, which a checkpoint
     * keeps; NaN (nothing to score) is never the best. */
    double score = isnan(r->score) ? -HUGE_VAL : fmin(fmax(r->score, -DBL_MAX), DBL_MAX);
    if (score == -HUGE_VAL || (t->st.best_epoch && t->st.best_epoch != epoch && !(score > t->st.best_score)))
        return MG_OK;
    t->st.best_epoch = epoch;
    t->st.best_score = score;
    mg_status s = trainer_save_as(t, "best.ckpt", false, epoch);
    if (s != MG_OK)
        return s;
    char best[512], path[4200];
    snprintf(best, sizeof best, "epoch=%d\nmetric=%s\nvalue=%.6f\ncheckpoint=best.ckpt\nkind=%s\n", epoch,
             metric[t->o.best_metric], t->o.best_metric == 2 ? -r->score : r->score,
             t->val.paired ? "paired" : "cycle");
    if (!mg_path_fmt(path, sizeof path, "%s/best.txt", t->o.out) || (s = run_write_text(path, best)) != MG_OK)
        return mg_error(s ? s : MG_ERR_ARG, "cannot write %s/best.txt: %s", t->o.out, mg_last_error());
    trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_SAVED, .epoch = epoch, .path = path});
    return MG_OK;
}

/* epochs.csv's row of the finished epoch. */
static mg_status trainer_epoch_row(mg_trainer *t, int epoch, double seconds, double s_per_it)
{
    char line[1024], header[512];
    int len =
        snprintf(line, sizeof line, "%d,%.6g,%.2f,%.4f", epoch, trainer_epoch_lr(&t->o, epoch), seconds, s_per_it);
    int hl = snprintf(header, sizeof header, "epoch,lr,seconds,s_per_iteration");
    for (int i = 0; i < MG_LOSS_COUNT; i++) {
        len += snprintf(line + len, sizeof line - (size_t)len, ",%.9g", t->hist.means[t->hist.n - 1][i]);
        hl += snprintf(header + hl, sizeof header - (size_t)hl, ",%s", mg_loss_names[i]);
    }
    snprintf(line + len, sizeof line - (size_t)len, "\n");
    snprintf(header + hl, sizeof header - (size_t)hl, "\n");
    return run_csv_append(t->o.out, "epochs.csv", header, line);
}

/* Whether the finished epoch writes its sample grid (--sample-every-iterations): the first and the last, and each
 * that passes a multiple of N iterations. Keyed by the global iteration, so that a resumed run writes the grids
 * the uninterrupted one would; a grid costs the translations of two images there and back (0.07 s of the first
 * command's 5 s epochs), which an epoch of the phantom's 24 iterations need not pay every time. */
static bool trainer_samples_due(const mg_trainer *t, int finished)
{
    const long n = t->o.sample_every_iterations, end = t->st.iteration, start = end - t->n_iter;
    return n == 0 || finished == 1 || finished == t->o.epochs + t->o.epochs_decay || end / n != start / n;
}

/* The stages of an epoch's end up to latest.ckpt, in order; t->end_stage says which are written, so that an end
 * that failed (a full disk) is taken up again where it stopped, never written twice. */
static mg_status trainer_end_stages(mg_trainer *t, int finished)
{
    mg_status s = MG_OK;
    if (t->end_stage < END_MEANS) {
        double now = mg_now_s();
        t->end_s_per_it = (now - t->run_t0) / (t->n_iter - t->run_first);
        t->end_seconds = t->sums.seconds + (now - t->run_t0);
        float means[MG_LOSS_COUNT];
        for (int i = 0; i < MG_LOSS_COUNT; i++)
            means[i] = t->sums.loss[i] / (float)t->sums.n; /* n_iter, unless losses.csv had lost rows */
        if ((s = history_add(&t->hist, means)) != MG_OK)
            return s;
        t->end_stage = END_MEANS;
        trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_EPOCH,
                                          .losses = means,
                                          .seconds = t->end_seconds,
                                          .s_per_iteration = t->end_s_per_it});
    }
    if (t->end_stage < END_ROW) {
        if ((s = trainer_epoch_row(t, finished, t->end_seconds, t->end_s_per_it)) != MG_OK)
            return s;
        t->end_stage = END_ROW;
    }
    /* --val-every: the epochs it names and the last */
    const bool validates =
        t->have_val && (finished % t->o.val_every == 0 || finished == t->o.epochs + t->o.epochs_decay);
    if (validates && t->end_stage < END_VALIDATED && (s = trainer_validate(t, finished)) != MG_OK)
        return s;
    if (validates && t->end_stage < END_BEST) {
        if ((s = trainer_keep_best(t, finished)) != MG_OK)
            return s;
        t->end_stage = END_BEST;
    }
    if (t->end_stage < END_SAMPLES) {
        char path[4200];
        if (trainer_samples_due(t, finished)) {
            mg_path_fmt(path, sizeof path, "%s/samples/epoch_%03d.png", t->o.out, finished);
            if ((s = run_write_samples(path, &t->m, mg_dataset_image(t->da, 0), mg_dataset_image(t->db, 0))) != MG_OK)
                return mg_error(s, "writing the epoch's samples: %s", mg_last_error());
            trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_SAVED, .epoch = finished, .path = path});
        }
        if (validates && t->val.paired) { /* translations beside their targets and differences */
            mg_path_fmt(path, sizeof path, "%s/samples/val_epoch_%03d.png", t->o.out, finished);
            int n = t->val.n < VAL_GRID_PAIRS ? t->val.n : VAL_GRID_PAIRS;
            if ((s = run_write_val_samples(path, &t->m, t->val.a, t->val.b, n, (const mg_image(*)[2])t->val_grid)) !=
                MG_OK)
                return mg_error(s, "writing the epoch's validation samples: %s", mg_last_error());
            trainer_free_val_grid(t);
            trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_SAVED, .epoch = finished, .path = path});
        }
        t->end_stage = END_SAMPLES;
    }
    return MG_OK;
}

/* The finished epoch: its means, epochs.csv, validation and the best checkpoint, samples; then the run moves to
 * the next epoch, saved as latest.ckpt, and the numbered checkpoint. */
static mg_status trainer_end_epoch(mg_trainer *t)
{
    const mg_train_settings *o = &t->o;
    const double t0 = mg_now_s(), val0 = t->time_val;
    int finished = t->st.epoch;
    t->in_epoch_end = true;
    mg_status s = t->writer ? trainer_end_stages(t, finished) : MG_OK;
    if (s == MG_OK) {
        t->st.epoch++;
        t->st.iter_in_epoch = 0;
        t->sums = (epoch_sums){0};
        t->end_stage = END_NONE;
        s = trainer_save_as(t, "latest.ckpt", true, finished);
    }
    if (s == MG_OK && (finished % o->save_every == 0 || finished == o->epochs + o->epochs_decay)) {
        char name[32];
        snprintf(name, sizeof name, "epoch_%03d.ckpt", finished);
        s = trainer_save_as(t, name, false, finished);
    }
    t->in_epoch_end = false;
    if (s == MG_OK)
        trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_EPOCH_END, .epoch = finished});
    t->time_outputs += mg_now_s() - t0 - (t->time_val - val0);
    return s;
}

/* Whether a stop was asked: of this process, or of any of the processes training together as of the last step (so
 * that all stop after the same iteration). */
static bool trainer_stop_asked(const mg_trainer *t)
{
    return mg_dist_size(t->dist) == 1 ? atomic_load(&t->stop) != 0 : t->stop_agreed;
}

/* Whether mg_trainer_run is about to stop (it saves then, so a periodic save would be a second one). */
static bool trainer_stopping(const mg_trainer *t)
{
    return t->in_run &&
           (trainer_stop_asked(t) || (t->o.max_iterations > 0 && t->run_iterations >= t->o.max_iterations));
}

static mg_status trainer_step(mg_trainer *t)
{
    const mg_train_settings *o = &t->o;
    if (t->st.epoch > o->epochs + o->epochs_decay)
        return mg_error(MG_ERR_ARG, "the run in %s is finished", o->out);
    if (t->in_callback || t->in_epoch_end)
        return mg_error(MG_ERR_ARG, "mg_trainer_step: not from the trainer's own callback");
    if (trainer_end_pending(t)) /* an earlier end of this epoch failed: take it up again */
        return trainer_end_epoch(t);
    int k = t->st.iter_in_epoch, na = mg_dataset_count(t->da), nb = mg_dataset_count(t->db);
    if (k == 0 || t->iterations_run == 0) { /* a new epoch, or this trainer's first */
        mg_cyclegan_set_lr(&t->m, trainer_epoch_lr(o, t->st.epoch));
        trainer_epoch_order(o->seed, t->st.epoch, t->perm, t->n_data);
        t->run_t0 = mg_now_s();
        t->run_first = k;
    }
    mg_rng r;
    mg_rng_seed(&r, (uint64_t)o->seed, 1 + (uint64_t)t->st.iteration);
    mg_losses l;
    double ts = mg_now_s();
    mg_status s = MG_OK;
    const size_t px = (size_t)t->crop.width * (size_t)t->crop.height;
    for (int j = 0; j < o->batch_size && s == MG_OK; j++) { /* a batch of one draws as the plain step always did */
        int ia = t->perm[((long)k * o->batch_size + j) % t->n_data] % na, ib = (int)mg_rng_below(&r, (uint32_t)nb);
        s = mg_dataset_sample(t->da, ia, &t->crop, &r, t->buf_a + (size_t)j * px);
        if (s == MG_OK)
            s = mg_dataset_sample(t->db, ib, &t->crop, &r, t->buf_b + (size_t)j * px);
    }
    mg_cyclegan_set_iteration(&t->m, t->st.iteration);
    if (mg_dist_size(t->dist) > 1 && (s = trainer_agree(t->dist, s, NULL)) != MG_OK)
        return s; /* every process drew the same batch: one that could not leaves the step to none */
    if (s == MG_OK)
        s = mg_cyclegan_step_batch(&t->m, t->buf_a, t->buf_b, o->batch_size, t->crop.height, t->crop.width, &r,
                                   (uint64_t)o->seed * 0x9E3779B97F4A7C15ull + (uint64_t)t->st.iteration, &l);
    char kept[4400];
    if (s == MG_ERR_PEER)
        return s;
    if (s == MG_ERR_NONFINITE)
        return mg_error(s, "training diverged at iteration %ld (epoch %d): %s; %s", t->st.iteration, t->st.epoch,
                        mg_last_error(), trainer_kept(t, kept, sizeof kept));
    if (s != MG_OK)
        return mg_error(s, "training step failed: %s", mg_last_error());
    float v[MG_LOSS_COUNT];
    mg_losses_to_array(&l, v);
    for (int i = 0; i < MG_LOSS_COUNT; i++)
        t->sums.loss[i] += v[i];
    if (t->csv) { /* the writer's */
        fprintf(t->csv, "%ld,%d,%.6g", t->st.iteration, t->st.epoch, trainer_epoch_lr(o, t->st.epoch));
        for (int i = 0; i < MG_LOSS_COUNT; i++)
            fprintf(t->csv, ",%.9g", v[i]); /* 9 digits: a resume reads back exactly these floats */
        fprintf(t->csv, ",%.4f\n", mg_now_s() - ts);
        fflush(t->csv); /* a row a write: after a crash losses.csv shows how far the run got */
    }
    t->sums.n++;
    t->st.iteration++;
    t->st.iter_in_epoch = k + 1;
    t->iterations_run++;
    t->run_iterations += t->in_run;
    t->last_step_end = mg_now_s();
    t->time_steps += t->last_step_end - ts;
    trainer_emit(t, &(mg_train_event){.kind = MG_TRAIN_ITERATION,
                                      .iter_in_epoch = k + 1,
                                      .losses = v,
                                      .it_per_s = (k + 1 - t->run_first) / (mg_now_s() - t->run_t0)});
    if (k + 1 == t->n_iter)
        return trainer_end_epoch(t);
    /* Periodic saves keep what a kill -9 or a power cut loses to N iterations; keyed by the global iteration
     * so that a resumed run saves where the uninterrupted one would. A stop saves anyway (mg_trainer_run). */
    if (!trainer_stopping(t) && o->save_every_iterations > 0 && t->st.iteration % o->save_every_iterations == 0) {
        s = trainer_save_as(t, "latest.ckpt", true, t->st.epoch);
        t->time_outputs += mg_now_s() - t->last_step_end;
    }
    return s;
}

/* One iteration, its outcome agreed by the processes training together: a failure of any ends it for all, a stop
 * asked of any stops all after it. */
mg_status mg_trainer_step(mg_trainer *t)
{
    if (t->dist_failed)
        return trainer_failed(t);
    mg_status s = trainer_step(t);
    if (mg_dist_size(t->dist) > 1) {
        int stop = atomic_load(&t->stop);
        s = trainer_agree(t->dist, s, &stop);
        t->stop_agreed = stop != 0;
        t->dist_failed = s != MG_OK;
    }
    return s;
}

mg_status mg_trainer_run(mg_trainer *t, mg_train_end *why)
{
    const mg_train_settings *o = &t->o;
    if (t->in_run || t->in_callback || t->in_epoch_end)
        return mg_error(MG_ERR_ARG, "mg_trainer_run: the trainer is running already (called from its callback?)");
    /* Going on mid-epoch after an earlier call: the pause between the calls is no part of the epoch's time. */
    if (t->iterations_run > 0 && t->st.iter_in_epoch > t->run_first && !trainer_end_pending(t)) {
        t->sums.seconds += t->last_step_end - t->run_t0;
        t->run_t0 = mg_now_s();
        t->run_first = t->st.iter_in_epoch;
    }
    t->in_run = true;
    t->run_iterations = 0;
    mg_train_end end = MG_TRAIN_FINISHED;
    mg_status s = MG_OK;
    while (s == MG_OK && t->st.epoch <= o->epochs + o->epochs_decay) {
        if (trainer_stop_asked(t))
            end = MG_TRAIN_STOPPED;
        else if (o->max_iterations > 0 && t->run_iterations >= o->max_iterations)
            end = MG_TRAIN_LIMIT;
        else {
            s = mg_trainer_step(t);
            continue;
        }
        t->in_run = false;
        s = mg_trainer_save(t);
        atomic_store(&t->stop, 0); /* asked for once: a later mg_trainer_run goes on */
        t->stop_agreed = false;
        break;
    }
    t->in_run = false;
    if (why)
        *why = end;
    return s;
}
