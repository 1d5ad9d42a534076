/* What mrigan eval found, and how it is shown: the table on stdout, --csv (one row per slice or PNG pair and one
 * per whole volume) with its summary in a file of its own, and --json. */
#ifndef MRIGAN_APP_EVAL_OUTPUT_H
#define MRIGAN_APP_EVAL_OUTPUT_H

#include <stdio.h>

#include "mrigan/metrics.h"

/* One score: a PNG pair, a slice of a volume pair, or a whole volume. */
typedef struct eval_row {
    const char *input, *target; /* paths, owned by the pair list */
    int slice;                  /* slice index along axis; -1 for a PNG pair and for a whole volume */
    int axis;                   /* 0..2 for volumes, -1 for PNGs */
    bool whole;                 /* a volume's whole-volume row */
    mg_metrics m;
} eval_row;

/* One direction's rows, and their summaries. */
typedef struct eval_run {
    const char *label; /* "a2b", "b2a" or "pred" */
    eval_row *rows;
    int n, cap;
    mg_metrics_summary slices;  /* over PNG pairs and volume slices */
    mg_metrics_summary volumes; /* over whole volumes (n 0 when none) */
} eval_run;

typedef struct eval_show {
    bool by_dir; /* inputs and targets (checkpoint or identity) rather than predictions */
    bool identity, mask;
} eval_show;

/* Appends a row; 1 when out of memory. */
int eval_run_add(eval_run *run, const eval_row *row);
/* Fills the summaries from the rows. */
void eval_run_summarise(eval_run *run);
void eval_run_free(eval_run *run);

/* The table: a header, then rows as they come (a volume's slices are left to the files: one line per volume). */
void eval_print_header(const eval_show *how, const eval_run *run, int direction, int pairs);
void eval_print_row(const eval_row *row);
void eval_print_summary(const eval_show *how, const eval_run *run);
/* The summary file's name for a CSV: "scores.csv" -> "scores-summary.csv". */
void eval_summary_path(const char *csv, char *buf, size_t len);
int eval_write_csv(const char *path, const eval_show *how, const eval_run *runs, int n_runs);
int eval_write_summary(const char *path, const eval_run *runs, int n_runs);
void eval_print_json(FILE *f, const eval_show *how, const eval_run *runs, int n_runs);

#endif
