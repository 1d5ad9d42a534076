/* The output side of mrigan eval (eval-output.h). Numbers: PSNR in dB ("inf" in text, null in JSON when the pair
 * is identical), SSIM, MAE in gray levels of the 8-bit scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app-util.h"
#include "base/file.h"
#include "eval-output.h"

int eval_run_add(eval_run *run, const eval_row *row)
{
    if (run->n == run->cap) {
        int cap = run->cap ? 2 * run->cap : 64;
        eval_row *rows = realloc(run->rows, sizeof *rows * (size_t)cap);
        if (!rows)
            return 1;
        run->rows = rows;
        run->cap = cap;
    }
    run->rows[run->n++] = *row;
    return 0;
}

void eval_run_summarise(eval_run *run)
{
    mg_metrics *a = malloc(sizeof *a * (size_t)(run->n ? run->n : 1)),
               *b = malloc(sizeof *b * (size_t)(run->n ? run->n : 1));
    int na = 0, nb = 0;
    for (int i = 0; a && b && i < run->n; i++) {
        if (run->rows[i].whole)
            b[nb++] = run->rows[i].m;
        else
            a[na++] = run->rows[i].m;
    }
    mg_metrics_compute_summary(a, a && b ? na : 0, &run->slices);
    mg_metrics_compute_summary(b, a && b ? nb : 0, &run->volumes);
    free(a);
    free(b);
}

void eval_run_free(eval_run *run)
{
    free(run->rows);
    *run = (eval_run){0};
}

static void eval_psnr_text(char *buf, size_t len, double v)
{
    if (isinf(v))
        snprintf(buf, len, "inf");
    else
        snprintf(buf, len, "%.2f", v);
}

void eval_print_header(const eval_show *how, const eval_run *run, int direction, int pairs)
{
    if (how->by_dir)
        printf("%s%s: %s -> %s, %d pair%s%s\n", run->label, how->identity ? " (identity baseline)" : "",
               direction ? "B" : "A", direction ? "A" : "B", pairs, pairs == 1 ? "" : "s", how->mask ? ", masked" : "");
    printf("%-32s  %-32s  %8s  %7s  %7s\n", how->by_dir ? "input" : "pred", "target", "PSNR dB", "SSIM", "MAE");
}

void eval_print_row(const eval_row *row)
{
    if (row->axis >= 0 && !row->whole)
        return; /* slices of volumes: in --csv and --json */
    char psnr[32], target[300];
    eval_psnr_text(psnr, sizeof psnr, row->m.psnr);
    snprintf(target, sizeof target, "%s%s", app_base_name(row->target), row->whole ? " (volume)" : "");
    printf("%-32s  %-32s  %8s  %7.4f  %7.2f\n", app_base_name(row->input), target, psnr, row->m.ssim, row->m.mae);
    fflush(stdout);
}

static void eval_print_summary_line(const char *label, const char *what, const mg_metrics_summary *s)
{
    char psnr[32], extra[64] = "";
    eval_psnr_text(psnr, sizeof psnr, s->psnr_mean);
    if (s->n_psnr_inf && s->n_psnr_inf < s->n)
        snprintf(extra, sizeof extra, "; %d identical, PSNR inf, left out", s->n_psnr_inf);
    printf("%s%s%smean PSNR %s dB (%.2f%s), SSIM %.4f (%.4f), MAE %.2f (%.2f), texture %.3f, n = %d\n",
           label ? label : "", what, label || *what ? ": " : "", psnr, s->psnr_sd, extra, s->ssim_mean, s->ssim_sd,
           s->mae_mean, s->mae_sd, s->texture, s->n);
}

void eval_print_summary(const eval_show *how, const eval_run *run)
{
    char label[64];
    if (how->by_dir)
        snprintf(label, sizeof label, "%s%s%s", run->label, how->identity ? " identity" : "",
                 how->mask ? " masked" : "");
    else
        snprintf(label, sizeof label, "%s", how->mask ? "masked" : "");
    const bool has_volumes = run->volumes.n > 0;
    eval_print_summary_line(*label ? label : NULL, has_volumes ? " slices" : "", &run->slices);
    if (has_volumes)
        eval_print_summary_line(*label ? label : NULL, " volumes", &run->volumes);
}

void eval_summary_path(const char *csv, char *buf, size_t len)
{
    size_t n = strlen(csv);
    if (n > 4 && !strcmp(csv + n - 4, ".csv"))
        n -= 4;
    snprintf(buf, len, "%.*s-summary.csv", (int)n, csv);
}

/* A file name as a CSV field: quoted (with quotes doubled) when it holds a comma, a quote or a line break. */
static void csv_name(FILE *f, const char *name)
{
    if (!strpbrk(name, ",\"\r\n")) {
        fprintf(f, "%s,", name);
        return;
    }
    fputc('"', f);
    for (const char *c = name; *c; c++) {
        if (*c == '"')
            fputc('"', f);
        fputc(*c, f);
    }
    fputs("\",", f);
}

static void csv_number(FILE *f, double v, const char *sep)
{
    if (isinf(v))
        fprintf(f, "%sinf%s", v < 0 ? "-" : "", sep);
    else
        fprintf(f, "%.6f%s", v, sep);
}

typedef struct eval_csv_job {
    const eval_show *how;
    const eval_run *runs;
    int n_runs;
} eval_csv_job;

static mg_status eval_csv_rows(FILE *f, void *arg)
{
    const eval_csv_job *job = arg;
    fprintf(f, "direction,%s,target,slice,psnr_db,ssim,mae,pixels\n", job->how->by_dir ? "input" : "pred");
    for (int r = 0; r < job->n_runs; r++)
        for (int i = 0; i < job->runs[r].n; i++) {
            const eval_row *row = &job->runs[r].rows[i];
            fprintf(f, "%s,", job->runs[r].label);
            csv_name(f, app_base_name(row->input));
            csv_name(f, app_base_name(row->target));
            if (row->whole)
                fputs("all,", f);
            else if (row->axis >= 0)
                fprintf(f, "%c=%d,", "ijk"[row->axis], row -> slice);
            else
                fputs(",", f);
            csv_number(f, row->m.psnr, ",");
            fprintf(f, "%.6f,%.6f,%ld\n", row->m.ssim, row->m.mae, row->m.n_pixels);
        }
    return MG_OK;
}

static void csv_summary(FILE *f, const char *label, const char *over, const mg_metrics_summary *s)
{
    if (s->n == 0)
        return;
    fprintf(f, "%s,%s,", label, over);
    csv_number(f, s->psnr_mean, ",");
    csv_number(f, s->psnr_sd, ",");
    fprintf(f, "%.6f,%.6f,%.6f,%.6f,%d,%d,", s->ssim_mean, s->ssim_sd, s->mae_mean, s->mae_sd, s->n, s->n_psnr_inf);
    csv_number(f, s->texture, "\n");
}

static mg_status eval_csv_summary(FILE *f, void *arg)
{
    const eval_csv_job *job = arg;
    fputs("direction,over,psnr_db_mean,psnr_db_sd,ssim_mean,ssim_sd,mae_mean,mae_sd,n,n_psnr_inf,texture\n", f);
    for (int r = 0; r < job->n_runs; r++) {
        csv_summary(f, job->runs[r].label, "slices", &job->runs[r].slices);
        csv_summary(f, job->runs[r].label, "volumes", &job->runs[r].volumes);
    }
    return MG_OK;
}

int eval_write_csv(const char *path, const eval_show *how, const eval_run *runs, int n_runs)
{
    eval_csv_job job = {how, runs, n_runs};
    if (mg_file_write_atomic("", path, eval_csv_rows, &job) != MG_OK)
        return fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1;
    return 0;
}

int eval_write_summary(const char *path, const eval_run *runs, int n_runs)
{
    eval_csv_job job = {NULL, runs, n_runs};
    if (mg_file_write_atomic("", path, eval_csv_summary, &job) != MG_OK)
        return fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1;
    return 0;
}

/* ------------------------------------------------------------------ JSON */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(f, "\\u%04x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f); /* JSON has no infinity: an identical pair's PSNR */
}

static void json_scores(FILE *f, const mg_metrics *m)
{
    fputs("\"psnr_db\": ", f);
    json_number(f, m->psnr);
    fputs(", \"ssim\": ", f);
    json_number(f, m->ssim);
    fputs(", \"mae\": ", f);
    json_number(f, m->mae);
    fprintf(f, ", \"pixels\": %ld", m->n_pixels);
}

/* "key": {"mean": m, "sd": s} */
static void json_mean_sd(FILE *f, const char *key, double mean, double sd)
{
    fprintf(f, "\"%s\": {\"mean\": ", key);
    json_number(f, mean);
    fputs(", \"sd\": ", f);
    json_number(f, sd);
    fputs("}", f);
}

static void json_summary(FILE *f, const mg_metrics_summary *s)
{
    fprintf(f, "{\"n\": %d, \"n_psnr_inf\": %d, ", s->n, s->n_psnr_inf);
    json_mean_sd(f, "psnr_db", s->psnr_mean, s->psnr_sd);
    fputs(", ", f);
    json_mean_sd(f, "ssim", s->ssim_mean, s->ssim_sd);
    fputs(", ", f);
    json_mean_sd(f, "mae", s->mae_mean, s->mae_sd);
    fputs(", \"texture\": ", f);
    json_number(f, s->texture);
    fputs("}", f);
}

void eval_print_json(FILE *f, const eval_show *how, const eval_run *runs, int n_runs)
{
    fprintf(f, "{\"mode\": \"%s\", \"masked\": %s, \"scale\": \"8-bit gray levels\", \"directions\": [",
            !how->by_dir    ? "pred"
            : how->identity ? "identity"
                            : "checkpoint",
            how->mask ? "true" : "false");
    for (int r = 0; r < n_runs; r++) {
        const eval_run *run = &runs[r];
        fprintf(f, "%s\n  {\"direction\": \"%s\", \"slices\": ", r ? "," : "", run->label);
        json_summary(f, &run->slices);
        fputs(", \"volumes\": ", f);
        json_summary(f, &run->volumes);
        fputs(",\n   \"rows\": [", f);
        for (int i = 0; i < run->n; i++) {
            const eval_row *row = &run->rows[i];
            fprintf(f, "%s\n    {\"%s\": ", i ? "," : "", how->by_dir ? "input" : "pred");
            json_string(f, row->input);
            fputs(", \"target\": ", f);
            json_string(f, row->target);
            if (row->whole)
                fputs(", \"slice\": \"all\"", f);
            else if (row->axis >= 0)
                fprintf(f, ", \"slice\": %d, \"axis\": \"%c\"", row->slice, "ijk"[row->axis]);
            fputs(", ", f);
            json_scores(f, &row->m);
            fputc('}', f);
        }
        fputs("]}", f);
    }
    fputs("\n]}\n", f);
}
