/* The trainer's pieces shared by its files (src/train/trainer*.c, run-*.c, validate.c): run state, the run
 * folder, its files and validation. Not part of the public API. */
#ifndef MRIGAN_TRAIN_TRAINER_INTERNAL_H
#define MRIGAN_TRAIN_TRAINER_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>

#include "mrigan/image.h"
#include "mrigan/metrics.h"
#include "mrigan/trainer.h"

/* Whether setting id of s is in its range (or its default's "off" value), a valid choice: MG_ERR_ARG naming the
 * option otherwise (settings.c). */
mg_status settings_check_range(const mg_train_settings *s, mg_setting_id id);

/* ------------------------------------------------------------------ validation (validate.c) */
/* Held-out slices: paired (b[i] is a[i] in the other contrast) or two unpaired sets. */
typedef struct val_set {
    bool paired;
    int n, n_a, n_b;
    mg_image *a, *b; /* n entries; unpaired sets may leave the shorter side's tail empty */
} val_set;

/* Loads the pairs (paired: by name or T1/T2 tag) or both folders' images; a message naming the file on failure.
 * *unmatched: images of dir_b without a counterpart (paired only; not scored), the first of them into first. */
mg_status val_load(const char *dir_a, const char *dir_b, bool paired, mg_slice_axis axis, val_set *v, int *unmatched,
                   char *first, size_t first_len);
void val_free(val_set *v);
/* The pairs whose translations the validation grid shows (samples/val_epoch_NNN.png). */
#define VAL_GRID_PAIRS 3
/* best_metric: 0 SSIM, 1 PSNR, 2 MAE. keep, when not NULL (paired sets only): the translations of the first
 * VAL_GRID_PAIRS pairs in both directions, kept for the grid instead of translated again (the caller frees them). */
mg_status val_run(mg_cyclegan *m, const val_set *v, int best_metric, mg_image (*keep)[2], mg_val_result *out);
/* The identity baseline of a paired set: each input scored as it is against its target (val_run without a model;
 * score NaN). */
mg_status val_identity(const val_set *v, mg_val_result *out);

/* ------------------------------------------------------------------ run state (run-state.c) */
/* Where a run stands: the next iteration to run is iteration `iteration` (0-based, global), which is
 * iteration `iter_in_epoch` of epoch `epoch` (1-based). */
typedef struct run_state {
    int epoch, iter_in_epoch;
    long iteration;
    int best_epoch;    /* 0: none yet */
    double best_score; /* validation score of best_epoch */
} run_state;

/* The strings a checkpoint gives a run's settings (its folders), which outlive the checkpoint. */
typedef struct run_strings {
    char v[MG_SET_COUNT][PATH_MAX];
} run_strings;

/* Per-epoch mean losses. */
typedef struct loss_history {
    int n, cap;
    float (*means)[MG_LOSS_COUNT];
} loss_history;

mg_status history_add(loss_history *h, const float *means);
void history_free(loss_history *h);

/* Validation results of epochs 1..n. */
typedef struct val_history {
    bool paired;
    int n, cap;
    mg_val_result *items;
} val_history;

/* Saves model and run state as dir/name atomically; with_state: everything a resume needs, else the
 * generators and configuration only (for translation and evaluation). */
mg_status run_save(const char *dir, const char *name, const mg_cyclegan *m, const mg_train_settings *o,
                   const run_state *st, bool with_state);
/* Whether the model settings taken from a checkpoint (scope MODEL) are in their options' ranges; MG_ERR_FORMAT
 * naming the option otherwise. */
mg_status run_check_model(const mg_train_settings *o);
/* Whether the history pools a resumed model holds fit the run's crops (a crafted checkpoint could hold any). */
mg_status run_check_pools(const mg_cyclegan *m, int height, int width);
/* Reads the run settings (scope RUN; strings into str) and state of a checkpoint written by run_save. */
mg_status run_load_state(const mg_ckpt *c, mg_train_settings *o, run_state *st, run_strings *str);

/* ------------------------------------------------------------------ the run folder (run-folder.c) */
/* Takes the run folder's exclusive lock (creating the folder when create), held through *lock_fd (-1 where the
 * file system cannot lock). MG_ERR_IO "another mrigan train is using DIR" when another process holds it. */
mg_status run_folder_lock(const char *out, bool create, int *lock_fd);
/* With the lock held: deletes an old run's files when clear_old (numbered checkpoints and samples, and the files
 * every run writes; never others), creates out/samples, and removes the temporary files of the run's killed
 * saves (only when lock_fd >= 0). The counts removed go to *cleared and *stale. */
mg_status run_folder_prepare(const char *out, bool clear_old, int lock_fd, int *cleared, int *stale);
/* config.txt: the run's whole configuration as key=value lines, for people and for report.html. */
mg_status run_write_config(const char *out, const mg_train_settings *o, const mg_backend *be, const char *command);

/* ------------------------------------------------------------------ run files (run-files.c) */
/* The unfinished epoch's losses: sums over its n iterations so far, and their seconds. */
typedef struct epoch_sums {
    float loss[MG_LOSS_COUNT];
    int n;
    double seconds;
} epoch_sums;

/* losses.csv, opened for appending (*out): new (keep_rows 0), or trimmed to its first keep_rows rows, whose
 * per-epoch means go back into hist and whose unfinished epoch's sums go to sums; the trimmed file replaces
 * the old one whole. A missing or short losses.csv (lost with a machine, or deleted) is no reason to stop a
 * good checkpoint: the means of epochs before `epoch` then come from epochs.csv, the unfinished epoch's mean
 * counts the iterations from here on, and *short_rows (else -1) says how many rows it held. */
mg_status run_csv_open(const char *dir, long keep_rows, int epoch, int n_iter, loss_history *hist, epoch_sums *sums,
                       FILE **out, long *short_rows);
/* Keeps the header and the rows of dir/name whose first field (the epoch) is below epoch. */
mg_status run_csv_keep_epochs(const char *dir, const char *name, int epoch);
/* Writes path whole or not at all. */
mg_status run_write_text(const char *path, const char *text);
/* Appends line to dir/name, writing header first into a new file; a message naming the file on failure. */
mg_status run_csv_append(const char *dir, const char *name, const char *header, const char *line);
/* samples/epoch_NNN.png: real A | fake B | reconstructed A over real B | fake A | reconstructed B. */
mg_status run_write_samples(const char *path, mg_cyclegan *m, const mg_image *a, const mg_image *b);
/* samples/val_epoch_NNN.png: for each of n validation pairs and both directions, input | translation (labelled with
 * its PSNR and SSIM) | target | |difference|. */
/* done: translations made already (done[i][d] of a[i] for d 0, of b[i] for d 1; an empty one is made here), or NULL. */
mg_status run_write_val_samples(const char *path, mg_cyclegan *m, const mg_image *a, const mg_image *b, int n,
                                const mg_image (*done)[2]);
mg_status run_val_history_add(val_history *h, bool paired, const mg_val_result *r);
/* The validation results of earlier epochs, from dir/val.csv (none when it does not exist). */
mg_status run_val_history_load(const char *dir, val_history *h);

/* ------------------------------------------------------------------ the trainer (trainer.c, trainer-loop.c) */
/* How far an epoch's end has been written (trainer-loop.c), in order. */
typedef enum end_stage { END_NONE, END_MEANS, END_ROW, END_VALIDATED, END_BEST, END_SAMPLES } end_stage;

struct mg_trainer {
    mg_train_settings o;
    run_strings *str; /* the strings of o: paths made absolute, or read from the checkpoint */
    mg_trainer_hooks hooks;
    char *command; /* config.txt's, after "mrigan " */
    run_state st;
    mg_backend *be; /* the caller's */
    mg_cyclegan m;
    bool have_model;
    mg_dataset *da, *db;
    mg_crop_config crop;
    FILE *csv;
    loss_history hist;
    epoch_sums sums; /* of the current epoch */
    float *buf_a, *buf_b;
    int *perm, n_data, n_iter; /* the epoch's order of the n_data slices of the larger set; iterations an epoch */
    int iterations_run;        /* by this trainer */
    val_set val;
    mg_image val_grid[VAL_GRID_PAIRS][2]; /* the last validation's translations that its grid shows */
    bool have_val;
    bool identity_written;  /* val-identity.csv, by this trainer */
    mg_val_result identity; /* its scores */
    val_history val_hist;
    double run_t0;        /* when the timed part of the epoch began: its first iteration in this trainer, or */
    int run_first;        /* the iteration of the epoch it began at (mg_trainer_run going on after a pause) */
    double last_step_end; /* when the last iteration ended */
    end_stage end_stage;  /* of the epoch whose iterations have all run */
    double end_seconds, end_s_per_it;
    /* where this trainer's wall-clock time went (mg_train_info's seconds_*) */
    double time_setup, time_steps, time_val, time_outputs;
    bool in_epoch_end;    /* its end is being written (the callback may be running) */
    bool in_run;          /* mg_trainer_run is running */
    bool in_callback;     /* the hooks' callback is running: no run, step or save from there */
    int run_iterations;   /* by this mg_trainer_run */
    long saved_iteration; /* the iteration latest.ckpt was saved at; -1: none yet */
    int lock_fd;          /* holds the run folder's lock; -1: none */
    atomic_int stop;      /* mg_trainer_stop: from a signal handler or another thread */
    /* The processes training together (hooks.dist; NULL: alone). Only the writer (rank 0) touches the run folder:
     * CSVs, samples, validation, checkpoints; every process agrees after each step on failures and stops. */
    mg_dist *dist;
    bool writer;
    bool stop_agreed; /* a stop asked of any process, as the last agreement found */
    bool dist_failed; /* an agreed failure: the processes may stand at different points, so none goes on */
};

/* Tells the hooks about e (kind and message filled in by the caller; the rest from t). */
void trainer_emit(mg_trainer *t, mg_train_event *e);
/* A NOTICE event with a printf message. */
void trainer_notice(mg_trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The learning rate of epoch: lr, then linear decay to 0 over epochs_decay. */
float trainer_epoch_lr(const mg_train_settings *o, int epoch);
/* s agreed over the processes of a run, which start, fail and stop as one: this process's own failure, else
 * MG_ERR_PEER when another's failed; with stop, its value is raised to the largest of theirs. Alone: s. Every
 * process calls it at the same points. */
mg_status trainer_agree(mg_dist *d, mg_status s, int *stop);
/* Frees the translations kept for the validation grid (t->val_grid). */
void trainer_free_val_grid(mg_trainer *t);

#endif
