/* The chart model (chart.h) as inline SVG for the run report: a frame with grid lines and tick labels (linear or log10
 * y), one path per series (broken where a value is missing), optional point markers with tooltips, and a legend on the
 * right. Coordinates are in a fixed viewBox; the stylesheet scales the chart to the page width. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chart.h"
#include "report.h"

#define CHART_W  760
#define CHART_H  340
#define M_LEFT   72
#define M_RIGHT  176
#define M_TOP    34
#define M_BOTTOM 46

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

static void draw_frame(FILE *f, const chart *c, const chart_axis *ax, const chart_axis *ay)
{
    int x0 = M_LEFT, x1 = CHART_W - M_RIGHT, y0 = M_TOP, y1 = CHART_H - M_BOTTOM;
    char buf[64];
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#999\"/>\n", x0, y0, x1 - x0,
            y1 - y0);
    for (int i = 0; i < ay->n_ticks; i++) {
        double t = ay->log ? pow(10.0, ay->ticks[i]) : ay->ticks[i], y = chart_axis_pos(ay, t, y1, y0);
        chart_tick_label(buf, sizeof buf, ay, ay->ticks[i], false);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
                x0, y, x1, y, x0 - 6, y, buf);
    }
    for (int i = 0; i < ax->n_ticks; i++) {
        double x = chart_axis_pos(ax, ax->ticks[i], x0, x1);
        chart_tick_label(buf, sizeof buf, ax, ax->ticks[i], c->integer_x);
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

static void draw_series(FILE *f, const chart_series *s, int index, const chart_axis *ax, const chart_axis *ay,
                        bool integer_x)
{
    int x0 = M_LEFT, x1 = CHART_W - M_RIGHT, y0 = M_TOP, y1 = CHART_H - M_BOTTOM;
    double opacity = s->opacity > 0 ? s->opacity : 1.0;
    fprintf(f, "<g><title>");
    report_escape(f, s->name ? s->name : "");
    fprintf(f,
            "</title><path fill=\"none\" stroke=\"#%06x\" stroke-width=\"%.2g\" stroke-opacity=\"%.2g\" "
            "stroke-linejoin=\"round\"%s d=\"",
            (unsigned)s->colour, s->width > 0 ? s->width : 1.5, opacity, s->dashed ? " stroke-dasharray=\"5 3\"" : "");
    bool pen_down = false;
    for (int i = 0; i < s->n; i++) {
        if (!chart_usable(s->x[i], false) || !chart_usable(s->y[i], ay->log)) {
            pen_down = false;
            continue;
        }
        fprintf(f, "%s%.1f %.1f", pen_down ? " L" : " M", chart_axis_pos(ax, s->x[i], x0, x1),
                chart_axis_pos(ay, s->y[i], y1, y0));
        pen_down = true;
    }
    fputs("\"/>\n", f);
    if (s->markers) {
        for (int i = 0; i < s->n; i++) {
            if (!chart_usable(s->x[i], false) || !chart_usable(s->y[i], ay->log))
                continue;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"#%06x\"><title>",
                    chart_axis_pos(ax, s->x[i], x0, x1), chart_axis_pos(ay, s->y[i], y1, y0), (unsigned)s->colour);
            report_escape(f, s->name ? s->name : "");
            fprintf(f, integer_x ? " %.0f: %.5g</title></circle>\n" : " %.6g: %.5g</title></circle>\n", s->x[i],
                    s->y[i]);
        }
    }
    fputs("</g>\n", f);
    int ly = M_TOP + 8 + 17 * index, lx = x1 + 14;
    fprintf(f,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#%06x\" stroke-width=\"2.5\"%s/>"
            "<text x=\"%d\" y=\"%d\" dominant-baseline=\"middle\">",
            lx, ly, lx + 22, ly, (unsigned)s->colour, s->dashed ? " stroke-dasharray=\"5 3\"" : "", lx + 28, ly);
    report_escape(f, s->name ? s->name : "");
    fputs("</text>\n", f);
}

int chart_write_svg(FILE *f, const chart *c)
{
    chart_axis ax, ay;
    bool empty = !chart_axes(c, &ax, &ay);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n<title>",
            CHART_W, CHART_H, CHART_W, CHART_H);
    report_escape(f, c->title ? c->title : "chart");
    fputs("</title>\n", f);
    draw_frame(f, c, &ax, &ay);
    for (int k = 0; k < c->n_series; k++)
        draw_series(f, &c->series[k], k, &ax, &ay, c->integer_x);
    if (empty)
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n",
                (M_LEFT + CHART_W - M_RIGHT) / 2, (M_TOP + CHART_H - M_BOTTOM) / 2);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
