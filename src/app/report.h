/* The report of a training run: one self-contained HTML file (inline CSS, inline SVG charts, sample grids as
 * base64 data: URIs) that a browser opens from disk. It is built from what the run folder holds: config.txt,
 * losses.csv, epochs.csv, val.csv, best.txt and samples/epoch_NNN.png; any of them may be missing or damaged,
 * and the report then says so in the section concerned.
 *
 * report.c reads the run folder and writes the HTML; report-svg.c draws the charts. */
#ifndef MRIGAN_APP_REPORT_H
#define MRIGAN_APP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "chart.h"
#include "mrigan/trainer.h"

/* Writes RUN_DIR/report.html. 0 on success; otherwise non-zero with a message naming the file and the problem
 * in err (when err_len > 0). The file is written to a temporary file in the same folder and renamed over the
 * previous report, so a failure never leaves a partial report. */
int report_write(const char *run_dir, char *err, size_t err_len);
/* loss.png: the per-epoch mean losses of epochs 1..n_epochs and, when n_val > 0, the validation PSNR and SSIM of
 * both directions (paired, or of cycle reconstructions), with the identity baseline (may be NULL) as dashed
 * lines, as the report draws them. */
mg_status plot_run(const char *path, const float (*means)[MG_LOSS_COUNT], int n_epochs, const mg_val_result *val,
                   int n_val, bool paired, const mg_val_result *identity);
/* The same, written to out_path (RUN_DIR/report.html when NULL). */
int report_write_to(const char *run_dir, const char *out_path, char *err, size_t err_len);

/* ------------------------------------------------------------------ internal: report.c <-> report-svg.c */
/* Writes text with &, <, >, " and ' escaped. */
void report_escape(FILE *f, const char *text);

/* ------------------------------------------------------------------ internal: report-data.c -> report.c */
/* A key=value file; present is false when it could not be opened (why says why). */
typedef struct rp_kv {
    bool present;
    int n, cap;
    long bad; /* malformed lines skipped */
    char **key, **val;
    char why[160];
} rp_kv;

/* The wanted columns of a CSV file as numbers (NAN where a cell is missing or not a number), plus one optional
 * text column (label). Rows whose first wanted column is not a number are skipped and counted in bad. */
typedef struct rp_csv {
    bool present;
    int n_cols;
    long n, cap, bad;
    double *v;    /* n x n_cols */
    char **label; /* n entries (NULL cells) when a label column was asked for, else NULL */
    char why[160];
} rp_csv;

#define RP_CELL(c, r, j) ((c)->v[(size_t)(r) * (size_t)(c)->n_cols + (size_t)(j)])

/* Column order of the tables in rp_run (losses: in mg_loss_names order from L_LOSS, G_total last). */
enum { L_ITER, L_EPOCH, L_LR, L_LOSS, L_SECONDS = L_LOSS + MG_LOSS_COUNT, L_COLS };
enum { E_EPOCH, E_LR, E_SECONDS, E_SPI, E_LOSS, E_COLS = E_LOSS + MG_LOSS_COUNT };
enum { V_EPOCH, V_A2B_PSNR, V_A2B_SSIM, V_A2B_MAE, V_B2A_PSNR, V_B2A_SSIM, V_B2A_MAE, V_SCORE, V_COLS };

typedef struct rp_run {
    const char *dir;
    char name[256]; /* the run folder's name */
    rp_kv config, best;
    rp_csv losses, epochs, val; /* epochs: from epochs.csv, else derived from losses.csv */
    bool epochs_derived, epochs_file_present;
    long epochs_file_bad;
    int best_epoch; /* from best.txt, else the best score in val.csv; 0 when none */
    int *samples;   /* epochs with a samples/epoch_NNN.png, ascending */
    int n_samples;
    int *val_samples; /* epochs with a samples/val_epoch_NNN.png (paired validation), ascending */
    int n_val_samples;
    rp_csv identity; /* val-identity.csv: rows labelled a2b and b2a, columns I_PSNR.. (see below) */
} rp_run;

/* Columns of rp_run.identity (the first repeats PSNR: a row is kept when its first column is a number). */
enum { I_KEY, I_PSNR, I_SSIM, I_MAE };

/* 0, or 1 with a message in err (the folder is not readable, out of memory). */
int rp_run_load(const char *dir, rp_run *r, char *err, size_t err_len);
void rp_run_free(rp_run *r);
const char *rp_kv_get(const rp_kv *k, const char *key); /* the last value of key, or NULL */
/* mg_train_score_adversarial of the run's epochs as loaded (NAN when out of memory or none). */
double rp_run_adversarial(const rp_run *r);
/* Column j as a new array of n values; NULL when out of memory. */
double *rp_csv_column(const rp_csv *c, int j);
/* Columns jx and jy of the rows whose label is label, as two new arrays; their length, or -1 when out of memory. */
int rp_csv_select(const rp_csv *c, int jx, int jy, const char *label, double **x, double **y);
/* The row with the largest (sign > 0) or smallest (sign < 0) finite value of column j among the rows labelled
 * label (every row when label is NULL); -1 when none. */
long rp_csv_best_row(const rp_csv *c, int j, int sign, const char *label);
/* The whole file if it is a regular file of at most max bytes; else NULL with the reason in why. */
unsigned char *rp_read_file(const char *path, size_t max, size_t *n, char *why, size_t why_len);
/* Formats the message into err and returns 1. */
int rp_fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
