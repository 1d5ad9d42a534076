/* The HTML report of a training run (see report.h): reads the run folder defensively (a missing file empties
 * its section with a sentence saying so; malformed lines are skipped and counted), then writes the page to a
 * temporary file that is synced and renamed over the previous report. Sections: configuration, loss curves,
 * validation curves, the chosen checkpoint, timings, sample grids. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/file.h"
#include "mrigan/cyclegan.h"
#include "report.h"

#define MAX_TRACE_POINTS 2000
#define MAX_SAMPLES      12         /* evenly spaced sample grids, plus the last and the best epoch */
#define MAX_EMBED_BYTES  (16 << 20) /* larger sample PNGs are linked, not embedded */
#define DETAILS_OPEN     25         /* tables longer than this start folded */

/* ------------------------------------------------------------------ small helpers */
static void put_duration(FILE *f, double s)
{
    if (!isfinite(s) || s < 0)
        fputs("unknown", f);
    else if (s < 60)
        fprintf(f, "%.1f s", s);
    else if (s < 3600)
        fprintf(f, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else
        fprintf(f, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

static void put_num(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("&ndash;", f);
}

static void note(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(FILE *f, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs("<p class=\"note\">", f);
    report_escape(f, buf);
    fputs("</p>\n", f);
}

/* "name: N malformed lines skipped" when there were any. */
static void bad_lines(FILE *f, const char *name, long bad)
{
    if (bad > 0)
        note(f, "%s: %ld malformed line%s skipped.", name, bad, bad == 1 ? "" : "s");
}

static void details_open(FILE *f, long rows, const char *summary)
{
    fprintf(f, "<details%s><summary>", rows <= DETAILS_OPEN ? " open" : "");
    report_escape(f, summary);
    fputs("</summary>\n", f);
}

/* ------------------------------------------------------------------ sections */
static void section_config(FILE *f, const rp_run *r)
{
    fputs("<section id=\"config\"><h2>Configuration</h2>\n", f);
    if (!r->config.present) {
        note(f, "config.txt is missing%s%s: the configuration of this run is unknown.", *r->config.why ? ": " : "",
             r->config.why);
    } else {
        fputs("<table class=\"kv\">\n", f);
        for (int i = 0; i < r->config.n; i++) {
            fputs("<tr><th>", f);
            report_escape(f, r->config.key[i]);
            fputs("</th><td><code>", f);
            report_escape(f, r->config.val[i]);
            fputs("</code></td></tr>\n", f);
        }
        fputs("</table>\n", f);
        if (r->config.n == 0)
            note(f, "config.txt holds no key=value lines.");
        bad_lines(f, "config.txt", r->config.bad);
    }
    fputs("</section>\n", f);
}

/* G_total of every iteration, averaged over buckets so that at most MAX_TRACE_POINTS remain. */
static int chart_trace(FILE *f, const rp_run *r)
{
    const rp_csv *c = &r->losses;
    long bucket = (c->n + MAX_TRACE_POINTS - 1) / MAX_TRACE_POINTS, m = (c->n + bucket - 1) / bucket;
    double *x = malloc((size_t)(m ? m : 1) * sizeof *x), *y = malloc((size_t)(m ? m : 1) * sizeof *y);
    if (!x || !y) {
        free(x);
        free(y);
        return -1;
    }
    for (long b = 0; b < m; b++) {
        double sx = 0, sy = 0;
        long k = 0, end = (b + 1) * bucket < c->n ? (b + 1) * bucket : c->n;
        for (long i = b * bucket; i < end; i++) {
            double v = RP_CELL(c, i, L_LOSS + MG_LOSS_COUNT - 1);
            if (isfinite(v) && v > 0) {
                sx += isfinite(RP_CELL(c, i, L_ITER)) ? RP_CELL(c, i, L_ITER) : (double)i;
                sy += v;
                k++;
            }
        }
        x[b] = k ? sx / k : NAN;
        y[b] = k ? sy / k : NAN;
    }
    char title[128];
    if (bucket > 1)
        snprintf(title, sizeof title, "G_total per iteration (mean of every %ld iterations)", bucket);
    else
        snprintf(title, sizeof title, "G_total per iteration");
    chart_series s = {.name = "G_total", .colour = 0x555555, .x = x, .y = y, .n = (int)m, .width = 1, .opacity = 0.55};
    chart ch = {.title = title,
                .x_label = "iteration",
                .y_label = "loss (log scale)",
                .log_y = true,
                .series = &s,
                .n_series = 1};
    int rc = chart_write_svg(f, &ch);
    free(x);
    free(y);
    return rc;
}

static int section_losses(FILE *f, const rp_run *r)
{
    fputs("<section id=\"losses\"><h2>Losses</h2>\n", f);
    const rp_csv *e = &r->epochs;
    int rc = 0;
    if (e->n > 0) {
        if (r->epochs_derived)
            note(f, "epochs.csv is %s; the per-epoch means below are computed from losses.csv.",
                 r->epochs_file_present ? "empty or unreadable" : "missing");
        chart_series s[MG_LOSS_COUNT];
        double *y[MG_LOSS_COUNT] = {0}, *x = rp_csv_column(e, E_EPOCH);
        for (int k = 0; k < MG_LOSS_COUNT; k++) {
            y[k] = rp_csv_column(e, E_LOSS + k);
            s[k] = (chart_series){.name = mg_loss_names[k],
                                  .colour = mg_loss_colours[k],
                                  .x = x,
                                  .y = y[k],
                                  .n = (int)e->n,
                                  .width = k == MG_LOSS_COUNT - 1 ? 2.5 : 1.6,
                                  .markers = e->n <= 60};
            if (!y[k])
                rc = -1;
        }
        chart ch = {.title = "Mean loss per epoch",
                    .x_label = "epoch",
                    .y_label = "mean loss (log scale)",
                    .log_y = true,
                    .integer_x = true,
                    .series = s,
                    .n_series = MG_LOSS_COUNT};
        if (x && !rc)
            rc = chart_write_svg(f, &ch);
        else
            rc = -1;
        free(x);
        for (int k = 0; k < MG_LOSS_COUNT; k++)
            free(y[k]);
        double adv = rp_run_adversarial(r);
        if (isfinite(adv))
            fprintf(f,
                    "<p>Final adversarial loss (adv_AB + adv_BA over the last tenth of the %ld epochs so far): "
                    "<b>%.4f</b>. Of runs that differ in seed only, the lowest fools its discriminators best: "
                    "<code>mrigan pick</code> chooses by it, without pairs.</p>\n",
                    e->n, adv);
    } else {
        note(f, "No per-epoch losses: epochs.csv is %s and losses.csv has no complete rows.",
             r->epochs_file_present ? "empty" : "missing");
    }
    bad_lines(f, "epochs.csv", r->epochs_file_bad);
    if (!rc && r->losses.n > 0)
        rc = chart_trace(f, r);
    else if (!r->losses.present)
        note(f, "losses.csv is missing%s%s: no per-iteration losses.", *r->losses.why ? ": " : "", r->losses.why);
    bad_lines(f, "losses.csv", r->losses.bad);
    fputs("</section>\n", f);
    return rc;
}

/* One validation chart: metric columns ja (A->B) and jb (B->A) per epoch, one line per direction and kind. */
static int chart_val(FILE *f, const rp_run *r, const char *title, const char *unit, int ja, int jb)
{
    static const char *const kinds[3] = {"paired", "cycle", NULL}; /* NULL: every row, when no kind matched */
    chart_series s[8];
    double *buf[10] = {0};
    int n = 0, rc = 0;
    for (int k = 0; k < 3 && !(k == 2 && n > 0); k++)
        for (int d = 0; d < 2; d++) {
            double **x = &buf[2 * n], **y = &buf[2 * n + 1];
            int m = rp_csv_select(&r->val, E_EPOCH, d ? jb : ja, kinds[k], x, y);
            if (m < 0)
                rc = -1;
            if (m <= 0) {
                free(*x);
                free(*y);
                *x = *y = NULL;
                continue;
            }
            s[n] = (chart_series){.name = k == 1 ? (d ? "B\u2192A\u2192B (cycle)" : "A\u2192B\u2192A (cycle)")
                                                 : (d ? "B\u2192A" : "A\u2192B"),
                                  .colour = chart_direction_colours[d],
                                  .x = *x,
                                  .y = *y,
                                  .n = m,
                                  .width = 2,
                                  .dashed = k == 1,
                                  .markers = m <= 60};
            n++;
        }
    /* the identity baseline (each input scored as it is), flat across the epochs shown; PSNR, SSIM and MAE are
     * symmetric, so one line serves both directions */
    const int ij = ja == V_A2B_PSNR ? I_PSNR : ja == V_A2B_SSIM ? I_SSIM : I_MAE;
    double ix[2] = {INFINITY, -INFINITY}, iy[2];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++) {
            ix[0] = fmin(ix[0], s[i].x[j]);
            ix[1] = fmax(ix[1], s[i].x[j]);
        }
    long id_row = -1;
    for (long k = 0; r->identity.label && k < r->identity.n; k++)
        if (r->identity.label[k] && !strcmp(r->identity.label[k], "a2b"))
            id_row = k;
    if (n > 0 && id_row >= 0 && isfinite(RP_CELL(&r->identity, id_row, ij))) {
        iy[0] = iy[1] = RP_CELL(&r->identity, id_row, ij);
        s[n++] = (chart_series){.name = "identity (the input as it is)",
                                .colour = 0x777777,
                                .x = ix,
                                .y = iy,
                                .n = 2,
                                .width = 1.5,
                                .dashed = true};
    }
    double bx[2] = {r->best_epoch, r->best_epoch}, by[2] = {INFINITY, -INFINITY};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s[i].n; j++)
            if (isfinite(s[i].y[j])) {
                by[0] = fmin(by[0], s[i].y[j]);
                by[1] = fmax(by[1], s[i].y[j]);
            }
    if (r->best_epoch > 0 && by[0] <= by[1])
        s[n++] = (chart_series){.name = "chosen epoch", .colour = 0x999999, .x = bx, .y = by, .n = 2, .dashed = 1};
    chart ch = {.title = title, .x_label = "epoch", .y_label = unit, .integer_x = true, .series = s, .n_series = n};
    if (!rc)
        rc = chart_write_svg(f, &ch);
    for (int i = 0; i < 10; i++)
        free(buf[i]);
    return rc;
}

static void val_row(FILE *f, const rp_csv *v, long i, bool best)
{
    fprintf(f, "<tr%s><td>", best ? " class=\"best\"" : "");
    put_num(f, RP_CELL(v, i, V_EPOCH), "%.0f");
    fputs("</td><td>", f);
    report_escape(f, v->label[i] ? v->label[i] : "");
    static const char *const fmt[] = {"%.2f", "%.4f", "%.4f", "%.2f", "%.4f", "%.4f", "%.5g"};
    for (int j = 0; j < 7; j++) {
        fputs("</td><td>", f);
        put_num(f, RP_CELL(v, i, V_A2B_PSNR + j), fmt[j]);
    }
    fputs("</td></tr>\n", f);
}

static int section_val(FILE *f, const rp_run *r)
{
    fputs("<section id=\"validation\"><h2>Validation</h2>\n", f);
    const rp_csv *v = &r->val;
    int rc = 0;
    if (!v->present || v->n == 0) {
        note(f, "%s: this run was not validated (no held-out slices were given).",
             v->present ? "val.csv has no rows" : "No val.csv");
    } else {
        fputs("<p>Paired: translations scored against the real slices of the other contrast. Cycle: "
              "reconstructions (A\u2192B\u2192A, B\u2192A\u2192B) scored against their inputs, a proxy when no "
              "paired data exists.</p>\n<div class=\"charts\">\n",
              f);
        rc = chart_val(f, r, "PSNR per epoch", "PSNR (dB)", V_A2B_PSNR, V_B2A_PSNR);
        if (!rc)
            rc = chart_val(f, r, "SSIM per epoch", "SSIM", V_A2B_SSIM, V_B2A_SSIM);
        fputs("</div>\n", f);
        details_open(f, v->n, "Validation scores per epoch");
        fputs("<table class=\"num\"><tr><th>epoch</th><th>kind</th><th>A\u2192B PSNR</th><th>A\u2192B SSIM</th>"
              "<th>A\u2192B MAE</th><th>B\u2192A PSNR</th><th>B\u2192A SSIM</th><th>B\u2192A MAE</th><th>score</th>"
              "</tr>\n",
              f);
        for (long i = 0; i < v->n; i++)
            val_row(f, v, i, r->best_epoch > 0 && RP_CELL(v, i, V_EPOCH) == r->best_epoch);
        fputs("</table></details>\n", f);
    }
    bad_lines(f, "val.csv", v->bad);
    fputs("</section>\n", f);
    return rc;
}

static void section_best(FILE *f, const rp_run *r)
{
    fputs("<section id=\"best\"><h2>Chosen checkpoint</h2>\n", f);
    const rp_kv *b = &r->best;
    const rp_csv *v = &r->val;
    /* best.txt may name the kind of validation (paired or cycle) the epoch was chosen by */
    const char *kind = b->present ? rp_kv_get(b, "kind") : NULL;
    if (kind && rp_csv_best_row(v, V_SCORE, 1, kind) < 0)
        kind = NULL;
    long top = rp_csv_best_row(v, V_SCORE, 1, kind), low = rp_csv_best_row(v, V_SCORE, -1, kind);
    long at = -1, last = -1, n = 0;
    for (long i = 0; i < v->n; i++)
        if (!kind || (v->label[i] && !strcmp(v->label[i], kind))) {
            n++;
            last = i;
            if (r->best_epoch > 0 && RP_CELL(v, i, V_EPOCH) == r->best_epoch)
                at = i;
        }
    if (b->present) {
        const char *ckpt = rp_kv_get(b, "checkpoint");
        fputs("<table class=\"kv\">", f);
        static const char *const keys[] = {"epoch", "metric", "value", "checkpoint", "kind"};
        for (int i = 0; i < 5; i++) {
            const char *val = rp_kv_get(b, keys[i]);
            if (i == 4 && !val)
                continue;
            fprintf(f, "<tr><th>%s</th><td>", keys[i]);
            report_escape(f, val ? val : "(not recorded)");
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
        char path[PATH_MAX];
        struct stat st;
        if (ckpt && snprintf(path, sizeof path, "%s/%s", r->dir, ckpt) < (int)sizeof path && stat(path, &st) != 0)
            note(f, "%s is not in the run folder.", ckpt);
        bad_lines(f, "best.txt", b->bad);
        const char *metric = rp_kv_get(b, "metric");
        if (r->best_epoch <= 0) {
            note(f, "best.txt names no valid epoch.");
        } else if (at < 0) {
            note(f, "%s, so the choice cannot be checked against the scores of the other epochs.",
                 v->n ? "val.csv has no row for the chosen epoch" : "val.csv is missing or empty");
        } else {
            if (at == top || at == low)
                fprintf(f, "<p class=\"why\">Why: epoch %d has the %s score of the %ld validated epochs (",
                        r->best_epoch, at == top ? "best (highest)" : "lowest", n);
            else
                fprintf(f, "<p class=\"why\">Epoch %d was chosen (", r->best_epoch);
            report_escape(f, metric ? metric : "the validation metric");
            fputs(" = ", f);
            put_num(f, RP_CELL(v, at, V_SCORE), "%.5g");
            if (last != at) {
                fprintf(f, "; the last epoch, %.0f, scored ", RP_CELL(v, last, V_EPOCH));
                put_num(f, RP_CELL(v, last, V_SCORE), "%.5g");
            } else {
                fputs("; it is the last epoch", f);
            }
            fputs(").</p>\n", f);
            if (at != top && at != low && top >= 0)
                note(f, "val.csv's highest score is at epoch %.0f (%.5g), not at the chosen epoch.",
                     RP_CELL(v, top, V_EPOCH), RP_CELL(v, top, V_SCORE));
        }
    } else if (v->n > 0 && top >= 0) {
        note(f,
             "No best checkpoint was recorded (best.txt is missing). The highest score in val.csv is epoch %.0f "
             "(%.5g).",
             RP_CELL(v, top, V_EPOCH), RP_CELL(v, top, V_SCORE));
    } else {
        fputs("<p>No validation data was given, so no best checkpoint was chosen: <code>latest.ckpt</code> (the "
              "last epoch) is the run's result.</p>\n",
              f);
    }
    fputs("</section>\n", f);
}

static void section_timings(FILE *f, const rp_run *r)
{
    fputs("<section id=\"timings\"><h2>Timings</h2>\n", f);
    const rp_csv *e = &r->epochs, *l = &r->losses;
    double total = 0, step = 0;
    long steps = 0;
    for (long i = 0; i < e->n; i++)
        if (isfinite(RP_CELL(e, i, E_SECONDS)))
            total += RP_CELL(e, i, E_SECONDS);
    for (long i = 0; i < l->n; i++)
        if (isfinite(RP_CELL(l, i, L_SECONDS))) {
            step += RP_CELL(l, i, L_SECONDS);
            steps++;
        }
    if (e->n == 0 && steps == 0) {
        note(f, "No timings: neither epochs.csv nor losses.csv has any.");
        fputs("</section>\n", f);
        return;
    }
    fputs("<table class=\"kv\">", f);
    fprintf(f, "<tr><th>finished epochs</th><td>%ld</td></tr><tr><th>iterations</th><td>%ld</td></tr>", e->n, l->n);
    fputs("<tr><th>training time</th><td>", f);
    bool epoch_times = e->n && !r->epochs_derived;
    put_duration(f, epoch_times ? total : step);
    fprintf(f, "%s</td></tr>", epoch_times ? " (sum over finished epochs)" : " (sum of the iterations' step times)");
    fputs("<tr><th>mean time per iteration</th><td>", f);
    double spi = 0;
    for (long i = 0; i < e->n; i++)
        spi += RP_CELL(e, i, E_SPI) / e->n;
    put_num(f, steps ? step / steps : spi, "%.4g s");
    fputs(steps ? " (losses.csv)" : " (mean over epochs)", f);
    fputs("</td></tr></table>\n", f);
    if (e->n > 0) {
        details_open(f, e->n, "Per epoch");
        fputs("<table class=\"num\"><tr><th>epoch</th><th>lr</th><th>seconds</th><th>s/iteration</th><th>G_total</th>"
              "<th>D_A</th><th>D_B</th></tr>\n",
              f);
        static const int cols[] = {E_EPOCH, E_LR, E_SECONDS, E_SPI, E_LOSS + 8, E_LOSS + 0, E_LOSS + 1};
        static const char *const fmt[] = {"%.0f", "%.3g", "%.1f", "%.4g", "%.4g", "%.4g", "%.4g"};
        for (long i = 0; i < e->n; i++) {
            fputs("<tr>", f);
            for (int j = 0; j < 7; j++) {
                fputs("<td>", f);
                put_num(f, RP_CELL(e, i, cols[j]), fmt[j]);
                fputs("</td>", f);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table></details>\n", f);
    }
    fputs("</section>\n", f);
}

/* ------------------------------------------------------------------ sample grids */
static void base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out[0] = digits[v >> 18 & 63];
        out[1] = digits[v >> 12 & 63];
        out[2] = i + 1 < n ? digits[v >> 6 & 63] : '=';
        out[3] = i + 2 < n ? digits[v & 63] : '=';
        fwrite(out, 1, 4, f);
    }
}

/* One sample grid: embedded when it is a readable PNG of reasonable size, else linked or explained. */
static void sample_figure(FILE *f, const rp_run *r, const char *prefix, int epoch, const char *tag)
{
    char rel[64], path[PATH_MAX + 64];
    snprintf(rel, sizeof rel, "samples/%s%03d.png", prefix, epoch);
    snprintf(path, sizeof path, "%s/%s", r->dir, rel);
    fprintf(f, "<figure><figcaption>epoch %d%s</figcaption>", epoch, tag);
    size_t n = 0;
    char why[256] = "";
    unsigned char *png = rp_read_file(path, MAX_EMBED_BYTES, &n, why, sizeof why);
    if (png && n > 24 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8) && !memcmp(png + 12, "IHDR", 4)) {
        unsigned w = (unsigned)png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19];
        fprintf(f, "<img alt=\"%s grid of epoch %d\" style=\"max-width:%upx\" src=\"data:image/png;base64,",
                *prefix == 'v' ? "validation" : "sample", epoch, w < 100000 ? 2 * w : 200000);
        base64(f, png, n);
        fputs("\">", f);
    } else if (png) {
        fprintf(f, "<p class=\"note\">%s is not a PNG file.</p>", rel);
    } else {
        fprintf(f, "<p class=\"note\"><a href=\"%s\">%s</a>: ", rel, rel);
        report_escape(f, why);
        fputs("</p>", f);
    }
    free(png);
    fputs("</figure>\n", f);
}

static int section_samples(FILE *f, const rp_run *r)
{
    fputs("<section id=\"samples\"><h2>Samples</h2>\n", f);
    int n = r->n_samples;
    if (n == 0) {
        note(f, "No sample grids: samples/ is missing or holds no epoch_NNN.png files.");
        fputs("</section>\n", f);
        return 0;
    }
    bool *keep = calloc((size_t)n, sizeof *keep);
    if (!keep)
        return -1;
    for (int i = 0; i < MAX_SAMPLES; i++)
        keep[n <= MAX_SAMPLES ? (i < n ? i : n - 1) : (int)lround((double)i * (n - 1) / (MAX_SAMPLES - 1))] = true;
    keep[n - 1] = true;
    int shown = 0;
    for (int i = 0; i < n; i++) {
        keep[i] = keep[i] || r->samples[i] == r->best_epoch;
        shown += keep[i];
    }
    fprintf(f,
            "<p>Each grid, its tiles labelled: top row real A | synthetic B (A\u2192B) | reconstructed A "
            "(A\u2192B\u2192A); bottom row real B | synthetic A (B\u2192A) | reconstructed B. %d of %d epochs "
            "shown.</p>\n<div class=\"samples\">\n",
            shown, n);
    for (int i = 0; i < n; i++)
        if (keep[i])
            sample_figure(f, r, "epoch_", r->samples[i],
                          r->samples[i] == r->best_epoch ? " (chosen)"
                          : i == n - 1                   ? " (last)"
                                                         : "");
    fputs("</div>\n</section>\n", f);
    free(keep);
    return 0;
}

/* The validation grids of the chosen and the last epoch: each translation beside its target and their
 * difference. */
static void section_val_samples(FILE *f, const rp_run *r)
{
    fputs("<section id=\"val-samples\"><h2>Validation samples</h2>\n", f);
    const int n = r->n_val_samples;
    if (n == 0) {
        note(f, "No validation grids: they are written with paired validation (--val-a, --val-b) as "
                "samples/val_epoch_NNN.png.");
        fputs("</section>\n", f);
        return;
    }
    fputs("<p>The first validation pairs, each direction on one row: input | translation, labelled with its PSNR (dB) "
          "and SSIM | target | |difference| (black: none; white: half the intensity range or more).</p>\n"
          "<div class=\"samples\">\n",
          f);
    bool best_shown = false;
    for (int i = 0; i < n; i++)
        if (r->val_samples[i] == r->best_epoch) {
            sample_figure(f, r, "val_epoch_", r->val_samples[i], " (chosen)");
            best_shown = true;
        }
    if (!best_shown || r->val_samples[n - 1] != r->best_epoch)
        sample_figure(f, r, "val_epoch_", r->val_samples[n - 1], " (last)");
    fputs("</div>\n</section>\n", f);
}

/* ------------------------------------------------------------------ the page */
static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222}"
    "h1{font-size:1.6em;margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}"
    ".sub{color:#666;margin-top:0}.note{color:#8a5a00;background:#fff8e6;padding:6px 10px;border-radius:4px}"
    "table{border-collapse:collapse;font-size:0.92em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}"
    "table.kv th{background:#f6f6f6;font-weight:600}table.num td{text-align:right}"
    "tr.best td{background:#e8f6e8;font-weight:600}code{word-break:break-all}"
    ".chart{max-width:100%;height:auto;display:block;margin:12px 0}"
    ".samples{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:16px}"
    "figure{margin:0}figure img{width:100%;height:auto;image-rendering:pixelated;border:1px solid #ccc}"
    "figcaption{font-weight:600;margin-bottom:4px}nav a{margin-right:12px}.why{font-size:1.05em}";

/* Counted by the test that renders the page in a headless browser. */
static const char script[] =
    "<script>\nwindow.addEventListener('load', function () {\n"
    "    var imgs = document.images, ok = 0, svgs = document.getElementsByTagName('svg'), k = 0;\n"
    "    for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;\n"
    "    for (var j = 0; j < svgs.length; j++) if (svgs[j].getBoundingClientRect().width > 0) k++;\n"
    "    document.body.dataset.rendered = 'images=' + ok + '/' + imgs.length + ' svgs=' + k;\n"
    "});\n</script>\n";

static int write_page(FILE *f, const rp_run *r)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>mrigan run ",
          f);
    report_escape(f, r->name);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Training run ", style);
    report_escape(f, r->name);
    fputs("</h1>\n<p class=\"sub\">", f);
    report_escape(f, r->dir);
    char stamp[64];
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm) && strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm))
        fprintf(f, " &middot; report written %s", stamp);
    fprintf(f, " &middot; %ld finished epoch%s, %ld iterations", r->epochs.n, r->epochs.n == 1 ? "" : "s", r->losses.n);
    if (r->best_epoch > 0)
        fprintf(f, " &middot; chosen epoch %d", r->best_epoch);
    fputs("</p>\n<nav><a href=\"#config\">Configuration</a><a href=\"#losses\">Losses</a><a href=\"#validation\">"
          "Validation</a><a href=\"#best\">Chosen checkpoint</a><a href=\"#timings\">Timings</a><a href=\"#samples\">"
          "Samples</a><a href=\"#val-samples\">Validation samples</a></nav>\n",
          f);
    section_config(f, r);
    int rc = section_losses(f, r);
    if (!rc)
        rc = section_val(f, r);
    if (!rc) {
        section_best(f, r);
        section_timings(f, r);
        rc = section_samples(f, r);
    }
    if (!rc)
        section_val_samples(f, r);
    fputs(script, f);
    fputs("</body>\n</html>\n", f);
    return rc;
}

static mg_status report_write_stream(FILE *f, void *arg)
{
    /* write_page fails on its own only when out of memory; write errors show in f's error flag. */
    return write_page(f, arg) != 0 && !ferror(f) ? mg_error(MG_ERR_OOM, "report: out of memory") : MG_OK;
}

int report_write_to(const char *run_dir, const char *out_path, char *err, size_t err_len)
{
    char def[PATH_MAX];
    if (!out_path) {
        if (snprintf(def, sizeof def, "%s/report.html", run_dir) >= (int)sizeof def)
            return rp_fail(err, err_len, "%s: path too long", run_dir);
        out_path = def;
    }
    rp_run r;
    if (rp_run_load(run_dir, &r, err, err_len))
        return 1;
    int rc = 0;
    if (mg_file_write_atomic("", out_path, report_write_stream, &r) != MG_OK)
        rc = rp_fail(err, err_len, "%s", mg_last_error());
    rp_run_free(&r);
    return rc;
}

int report_write(const char *run_dir, char *err, size_t err_len)
{
    return report_write_to(run_dir, NULL, err, err_len);
}
