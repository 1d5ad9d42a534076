/* The plot of a training run (loss.png): per-epoch mean losses as coloured lines on a log scale and, when the
 * run validates, panels of PSNR and SSIM per epoch for both directions; axes, tick labels and legends are
 * drawn into an RGB image with the program's 5x7 font (data/font.h) and written as a PNG. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "chart.h"
#include "data/font.h"
#include "mrigan/trainer.h"
#include "report.h"

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

static void put(canvas *c, int x, int y, const uint8_t *rgb)
{
    if (x >= 0 && y >= 0 && x < c->w && y < c->h)
        memcpy(c->rgb + 3 * ((size_t)y * c->w + x), rgb, 3);
}

static void draw_text(canvas *c, int x, int y, const char *s, const uint8_t *rgb)
{
    for (; *s; s++, x += MG_FONT_ADVANCE) {
        const uint8_t *rows = mg_font_glyph(*s);
        for (int r = 0; rows && r < MG_FONT_HEIGHT; r++)
            for (int b = 0; b < MG_FONT_WIDTH; b++)
                if (rows[r] & (16 >> b))
                    put(c, x + b, y + r, rgb);
    }
}

/* A line of width 2, by sampling along its length. */
/* A line of width 2, by sampling along its length; dashed: 8 pixels drawn, 6 left out, from its start. */
static void draw_segment(canvas *c, double x0, double y0, double x1, double y1, const uint8_t *rgb, bool dashed)
{
    int n = (int)ceil(fmax(fabs(x1 - x0), fabs(y1 - y0))) + 1;
    const double length = hypot(x1 - x0, y1 - y0);
    for (int i = 0; i <= n; i++) {
        double t = (double)i / n;
        if (dashed && fmod(t * length, 14.0) >= 8.0)
            continue;
        int x = (int)lround(x0 + t * (x1 - x0)), y = (int)lround(y0 + t * (y1 - y0));
        put(c, x, y, rgb);
        put(c, x + 1, y, rgb);
        put(c, x, y + 1, rgb);
    }
}

static void draw_line(canvas *c, double x0, double y0, double x1, double y1, const uint8_t *rgb)
{
    draw_segment(c, x0, y0, x1, y1, rgb, false);
}

/* A chart (chart.h) in the panel whose top is at y_top: the shared axes and ticks, grid, series (dashed ones
 * drawn in dashes), the title, and a legend on the right. */
static void chart_draw(canvas *c, int y_top, const chart *ch)
{
    static const uint8_t black[3] = {0, 0, 0}, grid[3] = {225, 225, 225};
    chart_axis ax, ay;
    chart_axes(ch, &ax, &ay);
    int x0 = M_LEFT, x1 = c->w - M_RIGHT, y0 = y_top + M_TOP, y1 = y_top + PANEL_H - M_BOTTOM;
    char buf[32];
    for (int i = 0; i < ay.n_ticks; i++) {
        double y = chart_axis_pos(&ay, ay.log ? pow(10.0, ay.ticks[i]) : ay.ticks[i], y1, y0);
        draw_line(c, x0, y, x1, y, grid);
        chart_tick_label(buf, sizeof buf, &ay, ay.ticks[i], false);
        draw_text(c, x0 - 8 - 6 * (int)strlen(buf), (int)lround(y) - 3, buf, black);
    }
    for (int i = 0; i < ax.n_ticks; i++) {
        double x = chart_axis_pos(&ax, ax.ticks[i], x0, x1);
        draw_line(c, x, y1, x, y1 + 4, black);
        chart_tick_label(buf, sizeof buf, &ax, ax.ticks[i], ch->integer_x);
        draw_text(c, (int)lround(x) - 3 * (int)strlen(buf), y1 + 10, buf, black);
    }
    draw_line(c, x0, y1, x1, y1, black);
    draw_line(c, x0, y0, x0, y1, black);
    draw_text(c, (x0 + x1) / 2 - 3 * (int)strlen(ch->x_label ? ch->x_label : ""), y1 + 26,
              ch->x_label ? ch->x_label : "", black);
    draw_text(c, 8, y_top + 10, ch->title ? ch->title : "", black);
    for (int k = 0; k < ch->n_series; k++) {
        const chart_series *s = &ch->series[k];
        const uint8_t colour[3] = {(uint8_t)(s->colour >> 16), (uint8_t)(s->colour >> 8), (uint8_t)s->colour};
        double px = 0, py = 0;
        bool have = false;
        for (int i = 0; i < s->n; i++) {
            if (!chart_usable(s->x[i], false) || !chart_usable(s->y[i], ay.log)) {
                have = false;
                continue;
            }
            double x = chart_axis_pos(&ax, s->x[i], x0, x1), y = chart_axis_pos(&ay, s->y[i], y1, y0);
            if (have)
                draw_segment(c, px, py, x, y, colour, s->dashed);
            else if (!have)
                draw_line(c, x - 1, y, x + 1, y, colour);
            px = x;
            py = y;
            have = true;
        }
        int ly = y0 + 10 + 18 * k;
        draw_segment(c, x1 + 15, ly + 3, x1 + 35, ly + 3, colour, s->dashed);
        draw_text(c, x1 + 42, ly, s->name ? s->name : "", colour);
    }
}

mg_status plot_run(const char *path, const float (*means)[MG_LOSS_COUNT], int n_epochs, const mg_val_result *val,
                   int n_val, bool paired, const mg_val_result *identity)
{
    static const char *const val_names[2] = {"A->B", "B->A"};
    bool with_val = val && n_val > 0;
    int height = PANEL_H * (with_val ? 3 : 1);
    n_val = with_val ? n_val : 0;
    canvas c = {PLOT_W, height, malloc((size_t)PLOT_W * height * 3)};
    /* Columns: epochs, then the losses, then PSNR and SSIM of both directions. */
    int n = n_epochs > n_val ? n_epochs : n_val;
    double *col = malloc((size_t)(n ? n : 1) * (1 + MG_LOSS_COUNT + 5) * sizeof *col);
    mg_status s = MG_OK;
    if (!c.rgb || !col) {
        s = mg_error(MG_ERR_OOM, "%s: out of host memory for the plot", path);
    } else {
        memset(c.rgb, 255, (size_t)PLOT_W * height * 3);
        double *epochs = col, *loss = col + n, *vcol = col + (size_t)n * (1 + MG_LOSS_COUNT),
               *vx = vcol + 4 * (size_t)n;
        for (int e = 0; e < n; e++)
            epochs[e] = e + 1;
        chart_series ls[MG_LOSS_COUNT];
        for (int k = 0; k < MG_LOSS_COUNT; k++) {
            for (int e = 0; e < n_epochs; e++)
                loss[(size_t)k * n + e] = means[e][k];
            ls[k] = (chart_series){.name = mg_loss_names[k],
                                   .colour = mg_loss_colours[k],
                                   .x = epochs,
                                   .y = loss + (size_t)k * n,
                                   .n = n_epochs};
        }
        chart losses = {.title = "mean loss per epoch (log scale)",
                        .x_label = "epoch",
                        .log_y = true,
                        .integer_x = true,
                        .series = ls,
                        .n_series = MG_LOSS_COUNT};
        chart_draw(&c, 0, &losses);
        if (with_val) {
            chart_series ps[3], ss[3];
            int n_lines = 2;
            double ix[2] = {1, n > 1 ? n : 2}, ip[1][2], is[1][2];
            for (int d = 0; d < 2; d++) {
                double *p = vcol + (size_t)d * n, *q = vcol + (size_t)(2 + d) * n;
                for (int e = 0; e < n_val; e++) {
                    p[e] = val[e].psnr[d];
                    q[e] = val[e].ssim[d];
                    vx[e] = val[e].epoch > 0 ? val[e].epoch : e + 1; /* --val-every leaves epochs out */
                }
                ps[d] = (chart_series){
                    .name = val_names[d], .colour = chart_direction_colours[d], .x = vx, .y = p, .n = n_val};
                ss[d] = (chart_series){
                    .name = val_names[d], .colour = chart_direction_colours[d], .x = vx, .y = q, .n = n_val};
            }
            if (identity) { /* PSNR and SSIM are symmetric: one baseline serves both directions */
                static const uint32_t grey = 0x777777;
                ip[0][0] = ip[0][1] = identity->psnr[0];
                is[0][0] = is[0][1] = identity->ssim[0];
                ps[2] = (chart_series){.name = "IDENTITY", .colour = grey, .x = ix, .y = ip[0], .n = 2, .dashed = true};
                ss[2] = (chart_series){.name = "IDENTITY", .colour = grey, .x = ix, .y = is[0], .n = 2, .dashed = true};
                n_lines = 3;
            }
            chart cp = {.title = paired ? "validation PSNR (dB)" : "validation PSNR of cycle reconstructions (dB)",
                        .x_label = "epoch",
                        .integer_x = true,
                        .series = ps,
                        .n_series = n_lines};
            chart cs = {.title = paired ? "validation SSIM" : "validation SSIM of cycle reconstructions",
                        .x_label = "epoch",
                        .integer_x = true,
                        .series = ss,
                        .n_series = n_lines};
            chart_draw(&c, PANEL_H, &cp);
            chart_draw(&c, 2 * PANEL_H, &cs);
        }
        s = mg_image_save_png_rgb(path, c.w, c.h, c.rgb);
    }
    free(c.rgb);
    free(col);
    return s;
}
