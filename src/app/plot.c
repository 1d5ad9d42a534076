/* The plot of a training run (loss.png): per-epoch mean losses as coloured lines on a log scale and, when the
 * run validates, panels of PSNR and SSIM per epoch for both directions; axes, tick labels and legends are
 * drawn into an RGB image with a built-in 5x7 font and written as a PNG. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "train-run.h"

#define PLOT_W   960
#define PANEL_H  420
#define M_LEFT   70
#define M_RIGHT  170
#define M_TOP    30
#define M_BOTTOM 50

typedef struct canvas {
    int w, h;
    uint8_t *rgb;
} canvas;

/* 5x7 glyphs, one byte per row, bit 4 the leftmost pixel. */
static const struct glyph {
    char c;
    uint8_t rows[7];
} font[] = {
    {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},      {'2', {14, 17, 1, 2, 4, 8, 31}},
    {'3', {31, 2, 4, 2, 1, 17, 14}},     {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},
    {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},       {'8', {14, 17, 17, 14, 17, 17, 14}},
    {'9', {14, 17, 17, 15, 1, 2, 12}},   {'A', {14, 17, 17, 31, 17, 17, 17}}, {'B', {30, 17, 17, 30, 17, 17, 30}},
    {'C', {14, 17, 16, 16, 16, 17, 14}}, {'D', {28, 18, 17, 17, 17, 18, 28}}, {'E', {31, 16, 16, 30, 16, 16, 31}},
    {'F', {31, 16, 16, 30, 16, 16, 16}}, {'G', {14, 17, 16, 23, 17, 17, 15}}, {'H', {17, 17, 17, 31, 17, 17, 17}},
    {'I', {14, 4, 4, 4, 4, 4, 14}},      {'J', {7, 2, 2, 2, 2, 18, 12}},      {'K', {17, 18, 20, 24, 20, 18, 17}},
    {'L', {16, 16, 16, 16, 16, 16, 31}}, {'M', {17, 27, 21, 21, 17, 17, 17}}, {'N', {17, 17, 25, 21, 19, 17, 17}},
    {'O', {14, 17, 17, 17, 17, 17, 14}}, {'P', {30, 17, 17, 30, 16, 16, 16}}, {'Q', {14, 17, 17, 17, 21, 18, 13}},
    {'R', {30, 17, 17, 30, 20, 18, 17}}, {'S', {15, 16, 16, 14, 1, 1, 30}},   {'T', {31, 4, 4, 4, 4, 4, 4}},
    {'U', {17, 17, 17, 17, 17, 17, 14}}, {'V', {17, 17, 17, 17, 17, 10, 4}},  {'W', {17, 17, 17, 21, 21, 21, 10}},
    {'X', {17, 17, 10, 4, 10, 17, 17}},  {'Y', {17, 17, 17, 10, 4, 4, 4}},    {'Z', {31, 1, 2, 4, 8, 16, 31}},
    {'_', {0, 0, 0, 0, 0, 0, 31}},       {'.', {0, 0, 0, 0, 0, 12, 12}},      {'-', {0, 0, 0, 31, 0, 0, 0}},
    {':', {0, 12, 12, 0, 12, 12, 0}},    {'/', {1, 1, 2, 4, 8, 16, 16}},      {'(', {2, 4, 8, 8, 8, 4, 2}},
    {')', {8, 4, 2, 2, 2, 4, 8}},        {'+', {0, 4, 4, 31, 4, 4, 0}},
};

/* The series' colours: the losses' own (mrigan/losses.def), also for the validation panels' series. */
static void series_colour(int k, uint8_t rgb[3])
{
    uint32_t c = mg_loss_colours[k % MG_LOSS_COUNT];
    rgb[0] = (uint8_t)(c >> 16);
    rgb[1] = (uint8_t)(c >> 8);
    rgb[2] = (uint8_t)c;
}

static void put(canvas *c, int x, int y, const uint8_t *rgb)
{
    if (x >= 0 && y >= 0 && x < c->w && y < c->h)
        memcpy(c->rgb + 3 * ((size_t)y * c->w + x), rgb, 3);
}

static void draw_text(canvas *c, int x, int y, const char *s, const uint8_t *rgb)
{
    for (; *s; s++, x += 6) {
        char ch = *s >= 'a' && *s <= 'z' ? (char)(*s - 32) : *s; /* upper case only */
        for (size_t g = 0; g < sizeof font / sizeof *font; g++) {
            if (font[g].c != ch)
                continue;
            for (int r = 0; r < 7; r++)
                for (int b = 0; b < 5; b++)
                    if (font[g].rows[r] & (16 >> b))
                        put(c, x + b, y + r, rgb);
        }
    }
}

/* A line of width 2, by sampling along its length. */
static void draw_line(canvas *c, double x0, double y0, double x1, double y1, const uint8_t *rgb)
{
    int n = (int)ceil(fmax(fabs(x1 - x0), fabs(y1 - y0))) + 1;
    for (int i = 0; i <= n; i++) {
        double t = (double)i / n;
        int x = (int)lround(x0 + t * (x1 - x0)), y = (int)lround(y0 + t * (y1 - y0));
        put(c, x, y, rgb);
        put(c, x + 1, y, rgb);
        put(c, x, y + 1, rgb);
    }
}

static void format_tick(double v, char *buf, size_t len)
{
    if (v != 0.0 && (fabs(v) < 0.01 || fabs(v) >= 1000))
        snprintf(buf, len, "%.0e", v);
    else
        snprintf(buf, len, "%g", v);
}

/* One chart: n_series lines over n_points epochs, values[p * n_series + s] (non-finite or, on a log scale,
 * non-positive values leave a gap), in the panel whose top is at y_top. */
typedef struct chart {
    const char *title;
    int n_points, n_series;
    const float *values;
    const char *const *names;
    bool log_scale;
} chart;

static double chart_y(const chart *ch, double v) { return ch->log_scale ? log10(v) : v; }

static bool chart_ok(const chart *ch, float v) { return isfinite(v) && (!ch->log_scale || v > 0.0f); }

static void chart_draw(canvas *c, int y_top, const chart *ch)
{
    static const uint8_t black[3] = {0, 0, 0}, grid[3] = {225, 225, 225};
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < ch->n_points * ch->n_series; i++)
        if (chart_ok(ch, ch->values[i])) {
            lo = fmin(lo, chart_y(ch, ch->values[i]));
            hi = fmax(hi, chart_y(ch, ch->values[i]));
        }
    if (!(lo <= hi))
        lo = 0.0, hi = 1.0;
    /* Tick step: half decades on a log scale, else 1, 2 or 5 times a power of ten, about 6 ticks. */
    double step = ch->log_scale ? 0.5 : pow(10.0, floor(log10(fmax(hi - lo, 1e-6) / 6.0)));
    if (!ch->log_scale && (hi - lo) / step > 12)
        step *= (hi - lo) / step > 30 ? 5.0 : 2.0;
    lo = floor(lo / step) * step;
    hi = ceil(hi / step) * step;
    if (hi - lo < step)
        hi = lo + step;
    int x0 = M_LEFT, x1 = c->w - M_RIGHT, y0 = y_top + M_TOP, y1 = y_top + PANEL_H - M_BOTTOM;
    char buf[32];
    /* Grid lines: every step on a linear scale; 1, 2 and 5 times each power of ten on a log scale. */
    for (double v = lo; v <= hi + 1e-9 * step; v += step) {
        for (int m = 0; m < (ch->log_scale ? 3 : 1); m++) {
            static const double mult[3] = {1.0, 2.0, 5.0};
            double at = ch->log_scale ? v + log10(mult[m]) : v;
            if (ch->log_scale && (fmod(fabs(v), 1.0) > 1e-9 || at > hi + 1e-9))
                continue;
            int y = (int)lround(y1 - (at - lo) / (hi - lo) * (y1 - y0));
            draw_line(c, x0, y, x1, y, grid);
            format_tick(ch->log_scale ? pow(10.0, at) : at, buf, sizeof buf);
            draw_text(c, x0 - 8 - 6 * (int)strlen(buf), y - 3, buf, black);
        }
    }
    int n = ch->n_points > 0 ? ch->n_points : 1;
    int tick = n <= 10 ? 1 : n <= 50 ? 5 : n <= 200 ? 20 : 100;
    for (int e = 1; e <= n; e++) {
        if (e != 1 && e % tick)
            continue;
        int x = n == 1 ? (x0 + x1) / 2 : x0 + (x1 - x0) * (e - 1) / (n - 1);
        draw_line(c, x, y1, x, y1 + 4, black);
        snprintf(buf, sizeof buf, "%d", e);
        draw_text(c, x - 3 * (int)strlen(buf), y1 + 10, buf, black);
    }
    draw_line(c, x0, y1, x1, y1, black);
    draw_line(c, x0, y0, x0, y1, black);
    draw_text(c, (x0 + x1) / 2 - 15, y1 + 26, "epoch", black);
    draw_text(c, 8, y_top + 10, ch->title, black);
    for (int k = 0; k < ch->n_series; k++) {
        double px = 0, py = 0;
        bool have = false;
        uint8_t colour[3];
        series_colour(k, colour);
        for (int e = 0; e < ch->n_points; e++) {
            float v = ch->values[e * ch->n_series + k];
            if (!chart_ok(ch, v)) {
                have = false;
                continue;
            }
            double x = n == 1 ? (x0 + x1) / 2.0 : x0 + (double)(x1 - x0) * e / (n - 1);
            double y = y1 - (chart_y(ch, v) - lo) / (hi - lo) * (y1 - y0);
            if (have)
                draw_line(c, px, py, x, y, colour);
            else
                draw_line(c, x - 1, y, x + 1, y, colour);
            px = x;
            py = y;
            have = true;
        }
        int ly = y0 + 10 + 18 * k;
        draw_line(c, x1 + 15, ly + 3, x1 + 35, ly + 3, colour);
        draw_text(c, x1 + 42, ly, ch->names[k], colour);
    }
}

mg_status plot_run(const char *path, const loss_history *h, const val_history *v)
{
    static const char *const val_names[2] = {"A TO B", "B TO A"};
    bool with_val = v && v->n > 0;
    int height = PANEL_H * (with_val ? 3 : 1);
    canvas c = {PLOT_W, height, malloc((size_t)PLOT_W * height * 3)};
    float *psnr = with_val ? malloc((size_t)v->n * 2 * sizeof *psnr) : NULL;
    float *ssim = with_val ? malloc((size_t)v->n * 2 * sizeof *ssim) : NULL;
    mg_status s = MG_OK;
    if (!c.rgb || (with_val && (!psnr || !ssim))) {
        s = mg_error(MG_ERR_OOM, "%s: out of host memory for the plot", path);
    } else {
        memset(c.rgb, 255, (size_t)PLOT_W * height * 3);
        chart losses = {"mean loss per epoch (log scale)", h->n, MG_LOSS_COUNT, &h->means[0][0], mg_loss_names, true};
        chart_draw(&c, 0, &losses);
        if (with_val) {
            for (int e = 0; e < v->n; e++)
                for (int d = 0; d < 2; d++) {
                    psnr[2 * e + d] = (float)v->items[e].psnr[d];
                    ssim[2 * e + d] = (float)v->items[e].ssim[d];
                }
            chart cp = {v->paired ? "validation PSNR (dB)" : "validation PSNR of cycle reconstructions (dB)",
                        v->n,
                        2,
                        psnr,
                        val_names,
                        false};
            chart cs = {v->paired ? "validation SSIM" : "validation SSIM of cycle reconstructions",
                        v->n,
                        2,
                        ssim,
                        val_names,
                        false};
            chart_draw(&c, PANEL_H, &cp);
            chart_draw(&c, 2 * PANEL_H, &cs);
        }
        s = mg_image_save_png_rgb(path, c.w, c.h, c.rgb);
    }
    free(c.rgb);
    free(psnr);
    free(ssim);
    return s;
}
