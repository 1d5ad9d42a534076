/* The one chart model of the program: a titled x/y chart of line series, drawn as inline SVG for report.html
 * (report-svg.c) and into an RGB image for loss.png (plot.c), with the same axes and ticks (chart.c). */
#ifndef MRIGAN_APP_CHART_H
#define MRIGAN_APP_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One line: n points (x[i], y[i]); points that are not finite (or not positive on a log scale) break it. */
typedef struct chart_series {
    const char *name; /* legend text */
    uint32_t colour;  /* 0xRRGGBB */
    const double *x, *y;
    int n;
    double width;   /* stroke width in pixels (0: 1.5) */
    bool dashed;    /* dashed stroke */
    bool markers;   /* a circle at every point (with a tooltip in SVG) */
    double opacity; /* 0 means 1 */
} chart_series;

typedef struct chart {
    const char *title, *x_label, *y_label;
    bool log_y;
    bool integer_x; /* ticks at whole numbers only (epochs) */
    const chart_series *series;
    int n_series;
} chart;

/* The colours of the two translation directions, A->B and B->A, in every validation chart. */
static const uint32_t chart_direction_colours[2] = {0x1f77b4, 0xff7f0e};

#define CHART_MAX_TICKS 64

typedef struct chart_axis {
    double lo, hi;                 /* data range drawn (log10 units on a log axis) */
    double ticks[CHART_MAX_TICKS]; /* tick positions, in the same units */
    int n_ticks;
    bool log;
} chart_axis;

/* Whether v can be drawn: finite, and positive on a log axis. */
bool chart_usable(double v, bool log);
/* Both axes: the data's range grown to whole ticks (1-2-5 steps; 1, 2 and 5 times powers of ten on a log y
 * axis). False when no point is usable (the axes then span a default range). */
bool chart_axes(const chart *c, chart_axis *ax, chart_axis *ay);
/* The position of value v (not its logarithm) between pixels p0 (at lo) and p1 (at hi). */
double chart_axis_pos(const chart_axis *a, double v, double p0, double p1);
/* The label of tick t (in axis units). */
void chart_tick_label(char *buf, size_t len, const chart_axis *a, double t, bool integer);

/* Writes the chart as an inline <svg> element. Returns 0, or -1 when f reports a write error. */
int chart_write_svg(FILE *f, const chart *c);

#endif
