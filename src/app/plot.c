/* The loss plot of a training run: per-epoch mean losses as coloured lines on a log scale, with axes, tick
 * labels and a legend, drawn into an RGB image with a built-in 5x7 font and written as a PNG. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "train-run.h"

#define PLOT_W   960
#define PLOT_H   540
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

static const uint8_t colours[MG_LOSS_COUNT][3] = {
    {31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40}, {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {0, 0, 0},
};

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
    if (v >= 0.01 && v < 1000)
        snprintf(buf, len, "%g", v);
    else
        snprintf(buf, len, "%.0e", v);
}

static void draw_axes(canvas *c, int n_epochs, double lo, double hi)
{
    static const uint8_t black[3] = {0, 0, 0}, grid[3] = {225, 225, 225};
    int x0 = M_LEFT, x1 = c->w - M_RIGHT, y0 = M_TOP, y1 = c->h - M_BOTTOM;
    char buf[32];
    /* decades and their halves on the log scale */
    for (double d = pow(10.0, floor(lo)); log10(d) <= hi + 1e-9; d *= 10.0) {
        for (int k = 1; k <= 5; k += 4) {
            double v = log10(d * k);
            if (v < lo - 1e-9 || v > hi + 1e-9)
                continue;
            int y = (int)lround(y1 - (v - lo) / (hi - lo) * (y1 - y0));
            draw_line(c, x0, y, x1, y, grid);
            format_tick(d * k, buf, sizeof buf);
            draw_text(c, x0 - 8 - 6 * (int)strlen(buf), y - 3, buf, black);
        }
    }
    int step = n_epochs <= 10 ? 1 : n_epochs <= 50 ? 5 : n_epochs <= 200 ? 20 : 100;
    for (int e = 1; e <= n_epochs; e++) {
        if (e != 1 && e % step)
            continue;
        int x = n_epochs == 1 ? (x0 + x1) / 2 : x0 + (x1 - x0) * (e - 1) / (n_epochs - 1);
        draw_line(c, x, y1, x, y1 + 4, black);
        snprintf(buf, sizeof buf, "%d", e);
        draw_text(c, x - 3 * (int)strlen(buf), y1 + 10, buf, black);
    }
    draw_line(c, x0, y1, x1, y1, black);
    draw_line(c, x0, y0, x0, y1, black);
    draw_text(c, (x0 + x1) / 2 - 15, c->h - 18, "epoch", black);
    draw_text(c, 8, 10, "mean loss per epoch (log scale)", black);
}

mg_status plot_losses(const char *path, const loss_history *h)
{
    canvas c = {PLOT_W, PLOT_H, malloc((size_t)PLOT_W * PLOT_H * 3)};
    if (!c.rgb)
        return mg_error(MG_ERR_OOM, "%s: out of host memory for the plot", path);
    memset(c.rgb, 255, (size_t)PLOT_W * PLOT_H * 3);
    double lo = INFINITY, hi = -INFINITY;
    for (int e = 0; e < h->n; e++)
        for (int k = 0; k < MG_LOSS_COUNT; k++)
            if (h->means[e][k] > 0.0f && isfinite(h->means[e][k])) {
                lo = fmin(lo, log10(h->means[e][k]));
                hi = fmax(hi, log10(h->means[e][k]));
            }
    if (!(lo <= hi)) {
        lo = -2.0;
        hi = 1.0;
    }
    lo = floor(lo * 2.0) / 2.0;
    hi = ceil(hi * 2.0) / 2.0;
    if (hi - lo < 0.5)
        hi = lo + 0.5;
    draw_axes(&c, h->n > 0 ? h->n : 1, lo, hi);
    int x0 = M_LEFT, x1 = PLOT_W - M_RIGHT, y0 = M_TOP, y1 = PLOT_H - M_BOTTOM;
    for (int k = 0; k < MG_LOSS_COUNT; k++) {
        double px = 0, py = 0;
        bool have = false;
        for (int e = 0; e < h->n; e++) {
            float v = h->means[e][k];
            if (!(v > 0.0f) || !isfinite(v)) {
                have = false;
                continue;
            }
            double x = h->n == 1 ? (x0 + x1) / 2.0 : x0 + (double)(x1 - x0) * e / (h->n - 1);
            double y = y1 - (log10(v) - lo) / (hi - lo) * (y1 - y0);
            if (have)
                draw_line(&c, px, py, x, y, colours[k]);
            else
                draw_line(&c, x - 1, y, x + 1, y, colours[k]);
            px = x;
            py = y;
            have = true;
        }
        int ly = M_TOP + 10 + 18 * k;
        draw_line(&c, x1 + 15, ly + 3, x1 + 35, ly + 3, colours[k]);
        draw_text(&c, x1 + 42, ly, mg_loss_names[k], colours[k]);
    }
    mg_status s = mg_image_save_png_rgb(path, c.w, c.h, c.rgb);
    free(c.rgb);
    return s;
}
