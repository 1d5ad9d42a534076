/* Line charts for the run report as inline SVG: a frame with grid lines and tick labels (linear or log10 y), one
 * path per series (broken where a value is missing), optional point markers with tooltips, and a legend on the
 * right. Coordinates are in a fixed viewBox; the stylesheet scales the chart to the page width. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define CHART_W   760
#define CHART_H   340
#define M_LEFT    72
#define M_RIGHT   176
#define M_TOP     34
#define M_BOTTOM  46
#define MAX_TICKS 64

typedef struct axis {
    double lo, hi;           /* data range drawn (log10 units on a log axis) */
    double ticks[MAX_TICKS]; /* tick positions, in the same units */
    int n_ticks;
    bool log;
} axis;

void report_escape(FILE *f, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (*p >= 0x20 || *p == '\t' || *p == '\n')
                fputc(*p, f);
            else
                fputc('?', f); /* control characters are not allowed in HTML text */
        }
    }
}

static bool usable(double v, bool log) { return isfinite(v) && (!log || v > 0); }

/* Ticks at multiples of a 1-2-5 step, about `target` intervals over [lo, hi]; the range grows to whole steps. */
static void linear_axis(axis *a, double lo, double hi, int target, bool integer)
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
    for (double t = ceil(a->lo / step) * step; t <= a->hi + step * 1e-9 && a->n_ticks < MAX_TICKS; t += step)
        a->ticks[a->n_ticks++] = fabs(t) < step * 1e-9 ? 0.0 : t;
}

/* Ticks at 1, 2 and 5 times powers of ten (only the powers of ten over more than three decades); the range
 * grows to the ticks around the data. lo and hi are values, not logarithms. */
static void log_axis(axis *a, double lo, double hi)
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
        for (int k = 0; k < n_mult && a->n_ticks < MAX_TICKS; k++) {
            double t = log10(mult[k]) + d;
            if (t >= below - 1e-9 && t <= above + 1e-9)
                a->ticks[a->n_ticks++] = t;
        }
    a->log = true;
}

static double to_px(const axis *a, double v, double p0, double p1)
{
    double u = a->log ? log10(v) : v;
    return p0 + (u - a->lo) / (a->hi - a->lo) * (p1 - p0);
}

static void tick_label(char *buf, size_t len, const axis *a, double t, bool integer)
{
    double v = a->log ? pow(10.0, t) : t;
    if (integer)
        snprintf(buf, len, "%.0f", v);
    else if (a->log || fabs(v) < 1e-4 || fabs(v) >= 1e6)
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "%.6g", v);
}

static void draw_frame(FILE *f, const report_chart *c, const axis *ax, const axis *ay)
{
    int x0 = M_LEFT, x1 = CHART_W - M_RIGHT, y0 = M_TOP, y1 = CHART_H - M_BOTTOM;
    char buf[64];
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#999\"/>\n", x0, y0, x1 - x0,
            y1 - y0);
    for (int i = 0; i < ay->n_ticks; i++) {
        double t = ay->log ? pow(10.0, ay->ticks[i]) : ay->ticks[i], y = to_px(ay, t, y1, y0);
        tick_label(buf, sizeof buf, ay, ay->ticks[i], false);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
                x0, y, x1, y, x0 - 6, y, buf);
    }
    for (int i = 0; i < ax->n_ticks; i++) {
        double x = to_px(ax, ax->ticks[i], x0, x1);
        tick_label(buf, sizeof buf, ax, ax->ticks[i], c->integer_x);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                x, y0, x, y1, x, y1 + 16, buf);
    }
    fprintf(f, "<text x=\"%d\" y=\"20\" font-weight=\"bold\" font-size=\"13\">", x0);
    report_escape(f, c->title ? c->title : "");
    fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (x0 + x1) / 2, CHART_H - 8);
    report_escape(f, c->x_label ? c->x_label : "");
    fprintf(f, "</text>\n<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">", (y0 + y1) / 2);
    report_escape(f, c->y_label ? c->y_label : "");
    fputs("</text>\n", f);
}

static void draw_series(FILE *f, const report_series *s, int index, const axis *ax, const axis *ay, bool integer_x)
{
    int x0 = M_LEFT, x1 = CHART_W - M_RIGHT, y0 = M_TOP, y1 = CHART_H - M_BOTTOM;
    double opacity = s->opacity > 0 ? s->opacity : 1.0;
    fprintf(f, "<g><title>");
    report_escape(f, s->name ? s->name : "");
    fprintf(f,
            "</title><path fill=\"none\" stroke=\"%s\" stroke-width=\"%.2g\" stroke-opacity=\"%.2g\" "
            "stroke-linejoin=\"round\"%s d=\"",
            s->colour, s->width > 0 ? s->width : 1.5, opacity, s->dashed ? " stroke-dasharray=\"5 3\"" : "");
    bool pen_down = false;
    for (int i = 0; i < s->n; i++) {
        if (!usable(s->x[i], false) || !usable(s->y[i], ay->log)) {
            pen_down = false;
            continue;
        }
        fprintf(f, "%s%.1f %.1f", pen_down ? " L" : " M", to_px(ax, s->x[i], x0, x1), to_px(ay, s->y[i], y1, y0));
        pen_down = true;
    }
    fputs("\"/>\n", f);
    if (s->markers) {
        for (int i = 0; i < s->n; i++) {
            if (!usable(s->x[i], false) || !usable(s->y[i], ay->log))
                continue;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"><title>", to_px(ax, s->x[i], x0, x1),
                    to_px(ay, s->y[i], y1, y0), s->colour);
            report_escape(f, s->name ? s->name : "");
            fprintf(f, integer_x ? " %.0f: %.5g</title></circle>\n" : " %.6g: %.5g</title></circle>\n", s->x[i],
                    s->y[i]);
        }
    }
    fputs("</g>\n", f);
    int ly = M_TOP + 8 + 17 * index, lx = x1 + 14;
    fprintf(f,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2.5\"%s/>"
            "<text x=\"%d\" y=\"%d\" dominant-baseline=\"middle\">",
            lx, ly, lx + 22, ly, s->colour, s->dashed ? " stroke-dasharray=\"5 3\"" : "", lx + 28, ly);
    report_escape(f, s->name ? s->name : "");
    fputs("</text>\n", f);
}

int report_svg_chart(FILE *f, const report_chart *c, const report_series *s, int n_series)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int k = 0; k < n_series; k++)
        for (int i = 0; i < s[k].n; i++) {
            if (!usable(s[k].x[i], false) || !usable(s[k].y[i], c->log_y))
                continue;
            xlo = fmin(xlo, s[k].x[i]);
            xhi = fmax(xhi, s[k].x[i]);
            ylo = fmin(ylo, s[k].y[i]);
            yhi = fmax(yhi, s[k].y[i]);
        }
    bool empty = !(xlo <= xhi);
    if (empty) {
        xlo = 0;
        xhi = 1;
        ylo = c->log_y ? 0.1 : 0;
        yhi = 1;
    }
    axis ax = {0}, ay = {0};
    linear_axis(&ax, xlo, xhi, 8, c->integer_x);
    if (c->log_y) {
        log_axis(&ay, ylo, yhi);
    } else {
        double pad = (yhi - ylo) * 0.05;
        linear_axis(&ay, ylo - pad, yhi + pad, 5, false);
    }
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n<title>",
            CHART_W, CHART_H, CHART_W, CHART_H);
    report_escape(f, c->title ? c->title : "chart");
    fputs("</title>\n", f);
    draw_frame(f, c, &ax, &ay);
    for (int k = 0; k < n_series; k++)
        draw_series(f, &s[k], k, &ax, &ay, c->integer_x);
    if (empty)
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n",
                (M_LEFT + CHART_W - M_RIGHT) / 2, (M_TOP + CHART_H - M_BOTTOM) / 2);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
