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

/* Writes RUN_DIR/report.html. 0 on success; otherwise non-zero with a message naming the file and the problem
 * in err (when err_len > 0). The file is written to a temporary file in the same folder and renamed over the
 * previous report, so a failure never leaves a partial report. */
int report_write(const char *run_dir, char *err, size_t err_len);
/* The same, written to out_path (RUN_DIR/report.html when NULL). */
int report_write_to(const char *run_dir, const char *out_path, char *err, size_t err_len);

/* ------------------------------------------------------------------ internal: report.c <-> report-svg.c */
/* One line of a chart: n points (x[i], y[i]); points that are not finite (or not positive on a log scale) break
 * the line. */
typedef struct report_series {
    const char *name;   /* legend text */
    const char *colour; /* CSS colour */
    const double *x, *y;
    int n;
    double width;   /* stroke width in pixels */
    bool dashed;    /* dashed stroke */
    bool markers;   /* a circle at every point (with a tooltip) */
    double opacity; /* 0 means 1 */
} report_series;

typedef struct report_chart {
    const char *title, *x_label, *y_label;
    bool log_y;
    bool integer_x; /* ticks at whole numbers only (epochs) */
} report_chart;

/* Writes the chart as an inline <svg> element. Returns 0, or -1 when f reports a write error. */
int report_svg_chart(FILE *f, const report_chart *c, const report_series *s, int n_series);
/* Writes text with &, <, >, " and ' escaped. */
void report_escape(FILE *f, const char *text);

#endif
