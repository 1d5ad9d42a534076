/* The pieces of `mrigan train` shared by its files: options, the run state, and the run folder outputs. */
#ifndef MRIGAN_APP_TRAIN_RUN_H
#define MRIGAN_APP_TRAIN_RUN_H

#include <stdio.h>

#include "mrigan/cyclegan.h"
#include "mrigan/image.h"
#include "mrigan/metrics.h"

typedef struct train_opts {
    const char *a, *b, *out, *resume;
    int size, load_size;
    bool flip;
    int generator; /* 0 unet, 1 resnet */
    int ngf, ndf, blocks;
    bool dropout;
    int epochs, epochs_decay;
    float lr, beta1;
    int gan_mode; /* 0 lsgan, 1 vanilla */
    float lambda_cycle, lambda_identity;
    int pool_size, seed, threads, save_every;
    int save_every_iterations; /* latest.ckpt every N iterations within an epoch; 0: at epoch ends only */
    bool overwrite;            /* a new run may replace an old one in --out */
    int max_iterations;        /* of this invocation; 0: no limit */
    const char *val_a, *val_b; /* validation folders (NULL: none) */
    bool val_unpaired;         /* score cycle reconstructions instead of paired translations */
    int best_metric;           /* 0 ssim, 1 psnr, 2 mae */
    int backend;               /* 0 auto, 1 cpu, 2 opencl */
    int device;                /* OpenCL device, -1: default */
} train_opts;

/* Held-out slices for validation: paired (b[i] is a[i] in the other contrast) or two unpaired sets. */
typedef struct val_set {
    bool paired;
    int n, n_a, n_b;
    mg_image *a, *b; /* n entries; unpaired sets may leave the shorter side's tail empty */
} val_set;

typedef struct val_result {
    double psnr[2], ssim[2], mae[2]; /* index 0: A->B (or A->B->A), 1: B->A (or B->A->B) */
    double score;                    /* higher is better */
} val_result;

int val_load(const char *dir_a, const char *dir_b, bool paired, val_set *v);
void val_free(val_set *v);
/* best_metric: 0 SSIM, 1 PSNR, 2 MAE. */
mg_status val_run(mg_cyclegan *m, const val_set *v, int best_metric, val_result *out);

/* Where a run stands: the next iteration to run is iteration `iteration` (0-based, global), which is
 * iteration `iter_in_epoch` of epoch `epoch` (1-based). */
typedef struct run_state {
    int epoch, iter_in_epoch;
    long iteration;
    int best_epoch;    /* 0: none yet */
    double best_score; /* validation score of best_epoch */
} run_state;

/* Per-epoch mean losses, for the plot. */
typedef struct loss_history {
    int n, cap;
    float (*means)[MG_LOSS_COUNT];
} loss_history;

mg_status history_add(loss_history *h, const float *means);
void history_free(loss_history *h);

/* Validation results of epochs 1..n, for the plot. */
typedef struct val_history {
    bool paired;
    int n, cap;
    struct val_result *items;
} val_history;

/* loss.png: the per-epoch mean losses, and the validation PSNR and SSIM when v holds any. */
mg_status plot_run(const char *path, const loss_history *h, const val_history *v);

/* Whether a new run may use out: a folder with files is refused unless overwrite, and then only when it holds
 * an mrigan run (its config.txt or latest.ckpt, by content). Called before anything is written, for an early
 * answer, and again once the folder is locked. 0, or the exit code with the message printed. */
int train_folder_check(const char *out, bool overwrite);
/* Takes the run folder's exclusive lock (creating the folder when create), held through *lock_fd (-1 where the
 * file system cannot lock). 0, or the exit code with the message printed ("another mrigan train ..."). */
int train_folder_lock(const char *out, bool create, int *lock_fd);
/* With the lock held and the run's configuration known: deletes an old run's files when clear_old (numbered
 * checkpoints and samples, and the files every run writes; never others), creates out/samples, and removes the
 * temporary files of the run's killed saves (only when lock_fd >= 0). 0, or 1 with the message printed. */
int train_folder_prepare(const char *out, bool clear_old, int lock_fd);
/* config.txt: the run's whole configuration as key=value lines, for people and for report.html. */
mg_status train_write_config(const char *out, const train_opts *o, const mg_backend *be, int argc, char **argv);

/* Saves model and run state as dir/name atomically; with_state: everything a resume needs, else the
 * weights and configuration only (for translation and evaluation). */
mg_status run_save(const char *dir, const char *name, const mg_cyclegan *m, const train_opts *o, const run_state *st,
                   bool with_state);
/* Whether the model settings taken from a checkpoint (scope MODEL) are in their options' ranges; MG_ERR_FORMAT
 * naming the option otherwise. */
mg_status run_check_model(const train_opts *o);
/* Whether the history pools a resumed model holds fit the run's crops (a crafted checkpoint could hold any). */
mg_status run_check_pools(const mg_cyclegan *m, int size);
/* Reads the run options and state of a checkpoint written by run_save. */
mg_status run_load_state(const mg_ckpt *c, train_opts *o, run_state *st);

/* ------------------------------------------------------------------ run folder files (train-files.c) */
/* mkdir -p; -1 with errno on failure. */
int train_make_dir(const char *path);
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
 * counts the iterations from here on, and a warning says so. */
mg_status train_csv_open(const char *dir, long keep_rows, int epoch, int n_iter, loss_history *hist, epoch_sums *sums,
                         FILE **out);
/* Keeps the header and the rows of dir/name whose first field (the epoch) is below epoch. */
mg_status train_csv_keep_epochs(const char *dir, const char *name, int epoch);
/* Writes path whole or not at all. */
mg_status train_write_text(const char *path, const char *text);
/* Appends line to dir/name, writing header first into a new file. */
int train_csv_append(const char *dir, const char *name, const char *header, const char *line);
/* samples/epoch_NNN.png: real A | fake B | reconstructed A over real B | fake A | reconstructed B. */
mg_status train_write_samples(const char *dir, int epoch, mg_cyclegan *m, const mg_image *a, const mg_image *b);
int train_val_history_add(val_history *h, bool paired, const val_result *r);
/* The validation results of earlier epochs, from dir/val.csv (none when it does not exist). */
int train_val_history_load(const char *dir, val_history *h);

#endif
