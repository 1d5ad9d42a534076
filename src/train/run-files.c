/* The files of a run folder: losses.csv, epochs.csv, val.csv (appending, and trimming back to an epoch
 * on resume), sample grids. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/file.h"
#include "data/font.h"
#include "mrigan/metrics.h"
#include "trainer-internal.h"

typedef struct csv_keep {
    FILE *in;
    long keep_rows, rows; /* wanted, and kept */
    loss_history *hist;
    int n_iter;
    epoch_sums *sums;
    const char *path;
} csv_keep;

/* The header of losses.csv: the columns of mrigan/losses.def between the step's and the clock's. */
static const char csv_header[] = "iteration,epoch,lr"
#define LOSS(e, field, name, colour, what) "," name
#include "mrigan/losses.def"
#undef LOSS
                                 ",seconds\n";

static mg_status csv_write_header(FILE *f, void *arg)
{
    (void)arg;
    fputs(csv_header, f);
    return MG_OK;
}

/* Copies the header and the first keep_rows rows of losses.csv, rebuilding the per-epoch means as it goes. A
 * header with other loss columns (a run of a version with other losses) is refused rather than misread. */
static mg_status csv_keep_rows(FILE *out, void *arg)
{
    csv_keep *k = arg;
    char line[1024];
    epoch_sums *e = k->sums;
    *e = (epoch_sums){0};
    if (fgets(line, sizeof line, k->in)) {
        if (strcmp(line, csv_header))
            return mg_error(MG_ERR_FORMAT,
                            "%s: its columns are not this version's (%.*s); resume the run with the mrigan that "
                            "started it",
                            k->path, (int)strlen(csv_header) - 1, csv_header);
        fputs(line, out);
    }
    while (k->rows < k->keep_rows && fgets(line, sizeof line, k->in)) {
        fputs(line, out);
        char *p = line;
        for (int i = 0; i < 3; i++)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : p;
        for (int i = 0; i < MG_LOSS_COUNT; i++) {
            e->loss[i] += strtof(p, &p);
            p += *p == ',';
        }
        e->seconds += strtod(p, NULL);
        k->rows++;
        if (++e->n == k->n_iter) {
            for (int i = 0; i < MG_LOSS_COUNT; i++)
                e->loss[i] /= (float)k->n_iter;
            mg_status s = history_add(k->hist, e->loss);
            if (s != MG_OK)
                return s;
            *e = (epoch_sums){0};
        }
    }
    /* A read error would commit a shorter file: keep the old one. */
    return ferror(k->in) ? mg_error(MG_ERR_IO, "losses.csv: cannot read it back") : MG_OK;
}

/* The means of epochs 1..epoch-1 from epochs.csv (its loss columns follow epoch,lr,seconds,s_per_iteration). */
static mg_status csv_history_from_epochs(const char *dir, int epoch, loss_history *hist)
{
    char path[4200], line[2048];
    mg_path_fmt(path, sizeof path, "%s/epochs.csv", dir);
    FILE *f = fopen(path, "r");
    hist->n = 0;
    mg_status s = MG_OK;
    for (bool header = true; f && s == MG_OK && fgets(line, sizeof line, f); header = false) {
        char *p = line;
        if (header || atoi(line) >= epoch || atoi(line) != hist->n + 1)
            continue;
        for (int i = 0; i < 4; i++)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : p;
        float means[MG_LOSS_COUNT];
        for (int i = 0; i < MG_LOSS_COUNT; i++) {
            means[i] = strtof(p, &p);
            p += *p == ',';
        }
        s = history_add(hist, means);
    }
    if (f)
        fclose(f);
    return s;
}

mg_status run_csv_open(const char *dir, long keep_rows, int epoch, int n_iter, loss_history *hist, epoch_sums *sums,
                       FILE **out, long *short_rows)
{
    *short_rows = -1;
    char path[4096];
    *sums = (epoch_sums){0};
    *out = NULL;
    if (!mg_path_fmt(path, sizeof path, "%s/losses.csv", dir))
        return mg_error(MG_ERR_ARG, "%s/losses.csv: path too long", dir);
    csv_keep k = {keep_rows ? fopen(path, "r") : NULL, keep_rows, 0, hist, n_iter, sums, path};
    if (keep_rows && !k.in && errno != ENOENT)
        return mg_error(MG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    mg_status s = k.in ? mg_file_write_atomic("", path, csv_keep_rows, &k)
                       : mg_file_write_atomic("", path, csv_write_header, NULL);
    if (k.in)
        fclose(k.in);
    if (s == MG_OK && k.rows < keep_rows) {
        *short_rows = k.rows;
        *sums = (epoch_sums){0};
        s = csv_history_from_epochs(dir, epoch, hist);
    }
    if (s == MG_OK && !(*out = fopen(path, "a")))
        s = mg_error(MG_ERR_IO, "cannot append to %s: %s", path, strerror(errno));
    return s;
}

typedef struct epochs_keep {
    FILE *in;
    int epoch;
} epochs_keep;

static mg_status csv_keep_epochs(FILE *out, void *arg)
{
    epochs_keep *k = arg;
    char line[2048];
    for (bool header = true; fgets(line, sizeof line, k->in); header = false)
        if (header || atoi(line) < k->epoch)
            fputs(line, out);
    return ferror(k->in) ? mg_error(MG_ERR_IO, "a per-epoch CSV: cannot read it back") : MG_OK;
}

/* Keeps the header and the rows of a per-epoch CSV whose first field (the epoch) is below `epoch`: the
 * rows of epochs that will run again after a resume go. A missing file is fine. */
mg_status run_csv_keep_epochs(const char *dir, const char *name, int epoch)
{
    char path[4200];
    if (!mg_path_fmt(path, sizeof path, "%s/%s", dir, name))
        return mg_error(MG_ERR_ARG, "%s/%s: path too long", dir, name);
    epochs_keep k = {fopen(path, "r"), epoch};
    if (!k.in)
        return MG_OK;
    mg_status s = mg_file_write_atomic("", path, csv_keep_epochs, &k);
    fclose(k.in);
    return s;
}

static mg_status text_write(FILE *f, void *arg)
{
    fputs(arg, f);
    return MG_OK;
}

mg_status run_write_text(const char *path, const char *text)
{
    return mg_file_write_atomic("", path, text_write, (void *)text);
}

/* Appends one line to dir/name, writing header first when the file is new. */
mg_status run_csv_append(const char *dir, const char *name, const char *header, const char *line)
{
    char path[4200];
    if (!mg_path_fmt(path, sizeof path, "%s/%s", dir, name))
        return mg_error(MG_ERR_ARG, "%s/%s: path too long", dir, name);
    FILE *f = fopen(path, "a");
    if (!f)
        return mg_error(MG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (ftell(f) == 0)
        fputs(header, f);
    fputs(line, f);
    return fclose(f) == 0 ? MG_OK : mg_error(MG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
}

/* ------------------------------------------------------------------ samples */
/* Translates img through gen direction d and back: fake and reconstruction at img's size. */
static mg_status sample_cycle(mg_cyclegan *m, int d, const mg_image *img, mg_image *fake, mg_image *rec)
{
    mg_image padded = {0}, t1 = {0}, t2 = {0};
    int ox, oy, mult = mg_generator_multiple(&m->cfg.gen);
    mg_status s = mg_image_pad_to_multiple(img, mult, &padded, &ox, &oy);
    if (s == MG_OK)
        s = mg_image_new(padded.width, padded.height, &t1);
    if (s == MG_OK)
        s = mg_image_new(padded.width, padded.height, &t2);
    if (s == MG_OK)
        s = mg_cyclegan_translate(m, d, padded.data, padded.height, padded.width, t1.data);
    if (s == MG_OK)
        s = mg_cyclegan_translate(m, 1 - d, t1.data, padded.height, padded.width, t2.data);
    if (s == MG_OK)
        s = mg_image_crop(&t1, ox, oy, img->width, img->height, fake);
    if (s == MG_OK)
        s = mg_image_crop(&t2, ox, oy, img->width, img->height, rec);
    mg_image_free(&padded);
    mg_image_free(&t1);
    mg_image_free(&t2);
    return s;
}

static void grid_paste(mg_image *grid, const mg_image *img, int x0, int y0)
{
    for (int y = 0; y < img->height; y++)
        memcpy(grid->data + (size_t)(y0 + y) * grid->width + x0, img->data + (size_t)y * img->width,
               (size_t)img->width * sizeof(float));
}

/* A black grid of cols x rows tiles of cw x ch pixels, each under a label strip of RUN_LABEL_H pixels. */
#define RUN_LABEL_H 11
static mg_status grid_new(int cols, int rows, int cw, int ch, mg_image *grid)
{
    mg_status s = mg_image_new(cols * cw, rows * (ch + RUN_LABEL_H), grid);
    for (size_t i = 0; s == MG_OK && i < (size_t)grid->width * grid->height; i++)
        grid->data[i] = -1.0f;
    return s;
}

/* The tile at (col, row) with its label. */
static void grid_tile(mg_image *grid, int col, int row, int cw, int ch, const mg_image *img, const char *label)
{
    const int x0 = col * cw, y0 = row * (ch + RUN_LABEL_H);
    mg_image_draw_text(grid, x0 + 2, y0 + 2, cw - 4, label, 1.0f);
    grid_paste(grid, img, x0, y0 + RUN_LABEL_H);
}

/* samples/epoch_NNN.png: real A | A->B | A->B->A over real B | B->A | B->A->B, each tile labelled. */
mg_status run_write_samples(const char *path, mg_cyclegan *m, const mg_image *a, const mg_image *b)
{
    const mg_image *real[2] = {a, b};
    mg_image fake[2] = {{0}}, rec[2] = {{0}}, grid = {0};
    int cw = a->width > b->width ? a->width : b->width, ch = a->height > b->height ? a->height : b->height;
    static const char *const labels[2][3] = {{"real A", "A->B", "A->B->A"}, {"real B", "B->A", "B->A->B"}};
    mg_status s = MG_OK;
    for (int d = 0; d < 2 && s == MG_OK; d++)
        s = sample_cycle(m, d, real[d], &fake[d], &rec[d]);
    if (s == MG_OK)
        s = grid_new(3, 2, cw, ch, &grid);
    if (s == MG_OK) {
        for (int d = 0; d < 2; d++) {
            grid_tile(&grid, 0, d, cw, ch, real[d], labels[d][0]);
            grid_tile(&grid, 1, d, cw, ch, &fake[d], labels[d][1]);
            grid_tile(&grid, 2, d, cw, ch, &rec[d], labels[d][2]);
        }
        s = mg_image_save_png(path, &grid, 8);
    }
    for (int d = 0; d < 2; d++) {
        mg_image_free(&fake[d]);
        mg_image_free(&rec[d]);
    }
    mg_image_free(&grid);
    return s;
}

/* |y - t| as an image: 0 black, a difference of half the intensity range (1 in [-1, 1] units) or more white. */
static mg_status run_difference(const mg_image *y, const mg_image *t, mg_image *out)
{
    mg_status s = mg_image_new(y->width, y->height, out);
    for (size_t i = 0; s == MG_OK && i < (size_t)y->width * y->height; i++) {
        float d = fabsf(y->data[i] - t->data[i]);
        out->data[i] = d >= 1.0f ? 1.0f : 2.0f * d - 1.0f;
    }
    return s;
}

mg_status run_write_val_samples(const char *path, mg_cyclegan *m, const mg_image *a, const mg_image *b, int n,
                                const mg_image (*done)[2])
{
    int cw = 0, ch = 0;
    for (int i = 0; i < n; i++) {
        cw = a[i].width > cw ? a[i].width : cw;
        ch = a[i].height > ch ? a[i].height : ch;
    }
    mg_image grid = {0};
    mg_status s = grid_new(4, 2 * n, cw, ch, &grid);
    for (int i = 0; s == MG_OK && i < n; i++)
        for (int d = 0; d < 2 && s == MG_OK; d++) {
            const mg_image *in = d ? &b[i] : &a[i], *target = d ? &a[i] : &b[i];
            mg_image own = {0}, diff = {0};
            const mg_image *y = done && done[i][d].data ? &done[i][d] : &own;
            mg_metrics sc;
            const mg_metrics_options opt = {0};
            if (y == &own)
                s = mg_cyclegan_translate_image(m, d, in, &own);
            if (s == MG_OK)
                s = mg_metrics_compare(y, target, &opt, &sc);
            if (s == MG_OK)
                s = run_difference(y, target, &diff);
            if (s == MG_OK) {
                char scores[64];
                snprintf(scores, sizeof scores, "%s %.1f dB %.3f", d ? "B->A" : "A->B", sc.psnr, sc.ssim);
                if ((int)strlen(scores) * MG_FONT_ADVANCE > cw - 4) /* a narrow tile keeps the numbers */
                    snprintf(scores, sizeof scores, "%.1f %.3f", sc.psnr, sc.ssim);
                grid_tile(&grid, 0, 2 * i + d, cw, ch, in, d ? "input B" : "input A");
                grid_tile(&grid, 1, 2 * i + d, cw, ch, y, scores);
                grid_tile(&grid, 2, 2 * i + d, cw, ch, target, d ? "target A" : "target B");
                grid_tile(&grid, 3, 2 * i + d, cw, ch, &diff, "|difference|");
            }
            mg_image_free(&own);
            mg_image_free(&diff);
        }
    if (s == MG_OK)
        s = mg_image_save_png(path, &grid, 8);
    mg_image_free(&grid);
    return s;
}

mg_status run_val_history_add(val_history *h, bool paired, const mg_val_result *r)
{
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        mg_val_result *p = realloc(h->items, (size_t)cap * sizeof *p);
        if (!p)
            return mg_error(MG_ERR_OOM, "validation history: out of host memory");
        h->items = p;
        h->cap = cap;
    }
    h->paired = paired;
    h->items[h->n++] = *r;
    return MG_OK;
}

/* The validation results of the epochs before a resume, from val.csv. */
mg_status run_val_history_load(const char *dir, val_history *h)
{
    char path[4200], line[1024], kind[16];
    if (!mg_path_fmt(path, sizeof path, "%s/val.csv", dir))
        return mg_error(MG_ERR_ARG, "%s/val.csv: path too long", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? MG_OK : mg_error(MG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    mg_status rc = MG_OK;
    for (bool header = true; !rc && fgets(line, sizeof line, f); header = false) {
        mg_val_result r = {0};
        int epoch;
        if (header || sscanf(line, "%d,%15[^,],%lf,%lf,%lf,%lf,%lf,%lf,%lf", &epoch, kind, &r.psnr[0], &r.ssim[0],
                             &r.mae[0], &r.psnr[1], &r.ssim[1], &r.mae[1], &r.score) != 9)
            continue;
        r.epoch = epoch;
        rc = run_val_history_add(h, !strcmp(kind, "paired"), &r);
    }
    fclose(f);
    return rc;
}
