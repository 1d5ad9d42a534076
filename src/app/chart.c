/* The axes shared by both renderers of the chart model (chart.h): 1-2-5 linear ticks, and 1, 2 and 5 times
 * powers of ten on a log scale. */
#include <math.h>
#include <stdio.h>

#include "chart.h"

bool chart_usable(double v, bool log) { return isfinite(v) && (!log || v > 0); }

/* Ticks at multiples of a 1-2-5 step, about `target` intervals over [lo, hi]; the range grows to whole steps. */
static void linear_axis(chart_axis *a, double lo, double hi, int target, bool integer)
{
    if (!(hi > lo)) {
        double pad = lo != 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= integer ? 1.0 : pad;
        hi += integer ? 1.0 : pad;
    }
    double raw = (hi - lo) / target, mag = pow(10.0, floor(log10(raw))), step = mag;
    if (raw / mag > 5)
        step = 10 * mag;
    else if (raw / mag > 2)
        step = 5 * mag;
    else if (raw / mag > 1)
        step = 2 * mag;
    if (integer && step < 1)
        step = 1;
    a->lo = integer ? lo : floor(lo / step) * step;
    a->hi = integer ? hi : ceil(hi / step) * step;
    a->n_ticks = 0;
    for (double t = ceil(a->lo / step) * step; t <= a->hi + step * 1e-9 && a->n_ticks < CHART_MAX_TICKS; t += step)
        a->ticks[a->n_ticks++] = fabs(t) < step * 1e-9 ? 0.0 : t;
}

/* Ticks at 1, 2 and 5 times powers of ten (only the powers of ten over more than three decades); the range
 * grows to the ticks around the data. lo and hi are values, not logarithms. */
static void log_axis(chart_axis *a, double lo, double hi)
{
    double llo = log10(lo), lhi = log10(hi);
    bool decades = lhi - llo > 3;
    static const double mult[3] = {1, 2, 5};
    int n_mult = decades ? 1 : 3;
    double below = -INFINITY, above = INFINITY;
    a->n_ticks = 0;
    for (int d = (int)floor(llo) - 1; d <= (int)ceil(lhi) + 1; d++) {
        for (int k = 0; k < n_mult; k++) {
            double t = log10(mult[k]) + d;
            if (t <= llo + 1e-12 && t > below)
                below = t;
            if (t >= lhi - 1e-12 && t < above)
                above = t;
        }
    }
    if (!(above > below))
        above = below + log10(2.0);
    a->lo = below;
    a->hi = above;
    for (int d = (int)floor(below); d <= (int)ceil(above); d++)
        for (int k = 0; k < n_mult && a->n_ticks < CHART_MAX_TICKS; k++) {
            double t = log10(mult[k]) + d;
            if (t >= below - 1e-9 && t <= above + 1e-9)
                a->ticks[a->n_ticks++] = t;
        }
    a->log = true;
}

double chart_axis_pos(const chart_axis *a, double v, double p0, double p1)
{
    double u = a->log ? log10(v) : v;
    return p0 + (u - a->lo) / (a->hi - a->lo) * (p1 - p0);
}

void chart_tick_label(char *buf, size_t len, const chart_axis *a, double t, bool integer)
{
    double v = a->log ? pow(10.0, t) : t;
    if (integer)
        snprintf(buf, len, "%.0f", v);
    else if (a->log || fabs(v) < 1e-4 || fabs(v) >= 1e6)
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "%.6g", v);
}

bool chart_axes(const chart *c, chart_axis *ax, chart_axis *ay)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < c->n_series; k++) {
        const chart_series *s = &c->series[k];
        for (int i = 0; i < s->n; i++) {
            if (!chart_usable(s->x[i], false) || !chart_usable(s->y[i], c->log_y))
                continue;
            xlo = fmin(xlo, s->x[i]);
            xhi = fmax(xhi, s->x[i]);
            ylo = fmin(ylo, s->y[i]);
            yhi = fmax(yhi, s->y[i]);
        }
    }
    bool have = xlo <= xhi;
    if (!have) {
        xlo = 0;
        xhi = 1;
        ylo = c->log_y ? 0.1 : 0;
        yhi = 1;
    }
    *ax = (chart_axis){0};
    *ay = (chart_axis){0};
    linear_axis(ax, xlo, xhi, 8, c->integer_x);
    if (c->log_y) {
        log_axis(ay, ylo, yhi);
    } else {
        double pad = (yhi - ylo) * 0.05;
        linear_axis(ay, ylo - pad, yhi + pad, 5, false);
    }
    return have;
}
