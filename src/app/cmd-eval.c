/* mrigan eval: PSNR, SSIM and MAE of translated slices against their real counterparts (include/mrigan/metrics.h).
 * Three sources of predictions:
 *   --pred DIR --target DIR            images already written (by mrigan translate or any other tool);
 *   --checkpoint FILE --a DIR --b DIR  a trained model run on paired folders, nothing written: each input is padded
 *                                      to the generator's multiple, translated and cropped back, as translate does;
 *   --identity --a DIR --b DIR         the untranslated input itself (the baseline any model must beat).
 * Pairs come from two folders matched by name, or from a CSV. Prints a table per direction, then one summary line
 * per direction; --csv writes the same numbers. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "app-util.h"
#include "commands.h"
#include "mrigan/cyclegan.h"
#include "mrigan/image.h"
#include "mrigan/metrics.h"
#include "options.h"

typedef struct eval_opts {
    const char *pred, *target, *pairs, *checkpoint, *a, *b, *csv;
    int direction; /* 0 a2b, 1 b2a, 2 both */
    bool identity, mask;
    float mask_threshold;
    int threads, backend, device;
} eval_opts;

/* One direction's results. */
typedef struct eval_run {
    const char *label; /* "a2b", "b2a" or "pred" */
    int n;
    mg_metrics *m;
    mg_metrics_summary summary;
} eval_run;

/* Trims spaces and one pair of double quotes around s (in place). */
static char *csv_field(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

/* Pairs of the two folders' files by name or T1/T2 tag; a note names the files of dir_b left out. */
static int pairs_from_folders(const char *dir_a, const char *dir_b, mg_pair_list *l)
{
    if (mg_folder_pair_inputs(dir_a, dir_b, l) != MG_OK)
        return fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1;
    if (l->unmatched)
        fprintf(stderr, "mrigan eval: note: %d image%s of %s without a counterpart in %s not scored (%s%s)\n",
                l->unmatched, l->unmatched == 1 ? "" : "s", dir_b, dir_a, l->first_unmatched,
                l->unmatched > 1 ? ", ..." : "");
    return 0;
}

/* Pairs from a CSV of two columns (lines "a,b"; blank lines and lines starting with # skipped; a first line whose
 * fields do not both end in .png is a header). Relative names are taken inside dir_a / dir_b when given. */
static int pairs_from_csv(const char *file, const char *dir_a, const char *dir_b, mg_pair_list *l)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return fprintf(stderr, "mrigan eval: %s: %s\n", file, strerror(errno)), 1;
    char line[8192];
    int rc = 0, line_no = 0, data_lines = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        line_no++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = (fprintf(stderr, "mrigan eval: %s:%d: line too long\n", file, line_no), 1);
            break;
        }
        char *s = csv_field(line), *comma = strchr(s, ',');
        if (!*s || *s == '#')
            continue;
        if (!comma || strchr(comma + 1, ','))
            rc = (fprintf(stderr, "mrigan eval: %s:%d: expected two comma-separated file names\n", file, line_no), 1);
        if (rc)
            break;
        *comma = '\0';
        char *x = csv_field(s), *y = csv_field(comma + 1);
        if (data_lines++ == 0 && !(mg_folder_is_png_name(x) && mg_folder_is_png_name(y))) {
            data_lines = 0; /* a header */
            continue;
        }
        if (!*x || !*y)
            rc = (fprintf(stderr, "mrigan eval: %s:%d: empty file name\n", file, line_no), 1);
        else
            rc = mg_pairs_add(l, mg_path_join(dir_a, x), mg_path_join(dir_b, y)) != MG_OK &&
                 (fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1);
    }
    if (!rc && ferror(f))
        rc = (fprintf(stderr, "mrigan eval: %s: read error\n", file), 1);
    fclose(f);
    if (!rc && l->n == 0)
        rc = (fprintf(stderr, "mrigan eval: %s: no pairs\n", file), 1);
    for (int i = 0; !rc && i < l->n; i++) /* every file before any work */
        for (int k = 0; k < 2 && !rc; k++) {
            const char *p = k ? l->items[i].b : l->items[i].a;
            struct stat st;
            const char *why = stat(p, &st) != 0 ? strerror(errno) : !S_ISREG(st.st_mode) ? "not a file" : NULL;
            if (why)
                rc = (fprintf(stderr, "mrigan eval: %s (pair %d of %s): %s\n", p, i + 1, file, why), 1);
        }
    return rc;
}

/* True for 8-bit (or less) grayscale PNGs, whose values the loader maps exactly to multiples of 1/127.5: their
 * gray levels are rounded back to integers before scoring. Anything unreadable says false (loading reports it). */
static bool png_is_8bit_gray(const char *path)
{
    unsigned char h[26];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(h, 1, sizeof h, f) : 0;
    if (f)
        fclose(f);
    return got == sizeof h && !memcmp(h, "\x89PNG\r\n\x1a\n", 8) && !memcmp(h + 12, "IHDR", 4) && h[24] <= 8 &&
           (h[25] == 0 || h[25] == 4);
}

/* Scores one pair: src is the prediction (pred mode) or the input (model: translated first; identity: as is). */
static int eval_pair_score(const eval_opts *o, mg_cyclegan *model, int direction, const char *src, const char *tgt,
                           mg_metrics *out)
{
    mg_image x = {0}, t = {0}, y = {0};
    uint8_t *mask = NULL;
    const bool round_t = png_is_8bit_gray(tgt), round_x = png_is_8bit_gray(src);
    int rc = 0;
    if (mg_image_load_png(src, &x) != MG_OK || mg_image_load_png(tgt, &t) != MG_OK)
        rc = (fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1);
    else if (x.width != t.width || x.height != t.height)
        rc = (fprintf(stderr, "mrigan eval: size mismatch: %s is %dx%d, %s is %dx%d\n", src, x.width, x.height, tgt,
                      t.width, t.height),
              1);
    if (!rc && model && mg_cyclegan_translate_image(model, direction, &x, &y) != MG_OK)
        rc = (fprintf(stderr, "mrigan eval: translating %s: %s\n", src, mg_last_error()), 1);
    if (!rc && o->mask) {
        mask = malloc((size_t)t.width * (size_t)t.height);
        if (!mask || mg_metrics_make_mask(&t, round_t, o->mask_threshold, mask) != MG_OK)
            rc = (fprintf(stderr, "mrigan eval: foreground mask of %s: %s\n", tgt,
                          mask ? mg_last_error() : "out of memory"),
                  1);
    }
    const mg_metrics_options mo = {.round_pred = !model && round_x, .round_target = round_t, .mask = mask};
    if (!rc && mg_metrics_compare(model ? &y : &x, &t, &mo, out) != MG_OK)
        rc = (fprintf(stderr, "mrigan eval: %s against %s: %s\n", src, tgt, mg_last_error()), 1);
    free(mask);
    mg_image_free(&x);
    mg_image_free(&t);
    mg_image_free(&y);
    return rc;
}

static void format_psnr(char *buf, size_t len, double v)
{
    if (isinf(v))
        snprintf(buf, len, "inf");
    else
        snprintf(buf, len, "%.2f", v);
}

static void print_summary_line(const char *label, const mg_metrics_summary *s)
{
    char psnr[32], extra[64] = "";
    format_psnr(psnr, sizeof psnr, s->psnr_mean);
    if (s->n_psnr_inf && s->n_psnr_inf < s->n)
        snprintf(extra, sizeof extra, "; %d identical, PSNR inf, left out", s->n_psnr_inf);
    printf("%s%smean PSNR %s dB (%.2f%s), SSIM %.4f (%.4f), MAE %.2f (%.2f), n = %d\n", label ? label : "",
           label ? ": " : "", psnr, s->psnr_sd, extra, s->ssim_mean, s->ssim_sd, s->mae_mean, s->mae_sd, s->n);
}

/* Runs one direction over every pair, printing the table as it goes. */
static int eval_direction(const eval_opts *o, mg_cyclegan *model, int direction, const mg_pair_list *l, eval_run *run)
{
    const bool by_dir = o->a || o->b || o->identity || o->checkpoint;
    int wa = 5, wb = 6; /* column widths: the longest names */
    for (int i = 0; i < l->n; i++) {
        int na = (int)strlen(app_base_name(l->items[i].a)), nb = (int)strlen(app_base_name(l->items[i].b));
        wa = na > wa ? na : wa;
        wb = nb > wb ? nb : wb;
    }
    if (direction) { /* b2a: B is the input, A the target */
        int w = wa;
        wa = wb;
        wb = w;
    }
    run->m = calloc((size_t)l->n, sizeof *run->m);
    if (!run->m)
        return fprintf(stderr, "mrigan eval: out of memory\n"), 1;
    if (by_dir)
        printf("%s%s: %s -> %s, %d pair%s%s\n", direction ? "b2a" : "a2b", o->identity ? " (identity baseline)" : "",
               direction ? "B" : "A", direction ? "A" : "B", l->n, l->n == 1 ? "" : "s", o->mask ? ", masked" : "");
    printf("%-*s  %-*s  %8s  %7s  %7s\n", wa, by_dir ? "input" : "pred", wb, "target", "PSNR dB", "SSIM", "MAE");
    for (int i = 0; i < l->n; i++) {
        const char *src = direction ? l->items[i].b : l->items[i].a, *tgt = direction ? l->items[i].a : l->items[i].b;
        if (eval_pair_score(o, model, direction, src, tgt, &run->m[i]))
            return 1;
        run->n = i + 1;
        char psnr[32];
        format_psnr(psnr, sizeof psnr, run->m[i].psnr);
        printf("%-*s  %-*s  %8s  %7.4f  %7.2f\n", wa, app_base_name(src), wb, app_base_name(tgt), psnr, run->m[i].ssim,
               run->m[i].mae);
        fflush(stdout);
    }
    mg_metrics_compute_summary(run->m, run->n, &run->summary);
    printf("\n");
    return 0;
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

/* Per-image rows, then rows "mean", "sd" and "n" (images counted per metric) for each direction. */
/* --csv must not replace anything eval reads: a slice, the pairs list or the checkpoint. */
static int check_csv(const eval_opts *o, const mg_pair_list *l)
{
    app_inputs in = {0};
    int rc = app_inputs_add(&in, o->pairs ? o->pairs : "") || app_inputs_add(&in, o->checkpoint ? o->checkpoint : "");
    for (int i = 0; !rc && i < l->n; i++)
        rc = app_inputs_add(&in, l->items[i].a) || app_inputs_add(&in, l->items[i].b);
    if (rc)
        fprintf(stderr, "mrigan eval: out of memory\n");
    else if (app_inputs_has(&in, o->csv))
        rc = (fprintf(stderr, "mrigan eval: --csv %s is one of the inputs; choose another file\n", o->csv), 2);
    app_inputs_free(&in);
    return rc;
}

static int write_csv(const char *path, const eval_opts *o, const mg_pair_list *l, const eval_run *runs, int n_runs)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fprintf(stderr, "mrigan eval: cannot write %s: %s\n", path, strerror(errno)), 1;
    const bool by_dir = o->a || o->b || o->identity || o->checkpoint;
    fprintf(f, "direction,%s,target,psnr_db,ssim,mae,pixels\n", by_dir ? "input" : "pred");
    for (int r = 0; r < n_runs; r++) {
        const eval_run *run = &runs[r];
        const bool b2a = !strcmp(run->label, "b2a");
        for (int i = 0; i < run->n; i++) {
            fprintf(f, "%s,", run->label);
            csv_name(f, app_base_name(b2a ? l->items[i].b : l->items[i].a));
            csv_name(f, app_base_name(b2a ? l->items[i].a : l->items[i].b));
            csv_number(f, run->m[i].psnr, ",");
            fprintf(f, "%.6f,%.6f,%ld\n", run->m[i].ssim, run->m[i].mae, run->m[i].n_pixels);
        }
        const mg_metrics_summary *s = &run->summary;
        fprintf(f, "%s,mean,,", run->label);
        csv_number(f, s->psnr_mean, ",");
        fprintf(f, "%.6f,%.6f,\n%s,sd,,%.6f,%.6f,%.6f,\n", s->ssim_mean, s->mae_mean, run->label, s->psnr_sd,
                s->ssim_sd, s->mae_sd);
        fprintf(f, "%s,n,,%d,%d,%d,\n", run->label, s->n - s->n_psnr_inf, s->n, s->n);
    }
    if (ferror(f) | fclose(f)) /* both: fclose must run */
        return fprintf(stderr, "mrigan eval: error writing %s\n", path), 1;
    return 0;
}

static void print_usage(const app_option *table, int n_opts)
{
    printf(
        "usage: mrigan eval --pred DIR --target DIR [--pairs FILE.csv] [--mask] [--csv OUT.csv]\n"
        "       mrigan eval --checkpoint FILE [--direction a2b|b2a|both] --a DIR --b DIR [--mask] [--csv OUT.csv]\n"
        "       mrigan eval --identity [--direction a2b|b2a|both] --a DIR --b DIR [--mask] [--csv OUT.csv]\n\n"
        "PSNR (dB, peak 255), SSIM (11x11 Gaussian window, sigma 1.5, as skimage) and MAE (gray levels) on the\n"
        "8-bit scale, per pair and as mean (sample standard deviation). Pairs: files of the same name, or whose\n"
        "names differ only in a T1/T2/T1w/T2w tag; or --pairs, a CSV of two file names per line (relative ones\n"
        "inside the two folders when given). --checkpoint translates the inputs (A for a2b, B for b2a; both\n"
        "directions by default) at native size without writing them; --identity scores the inputs as they are.\n"
        "--mask scores only the target's foreground: gray level > --mask-threshold, holes filled, dilated 1 pixel.\n"
        "8-bit grayscale PNGs are scored at their exact integer levels. Identical pairs have PSNR inf, left out\n"
        "of the mean. --csv: direction,input|pred,target,psnr_db,ssim,mae,pixels rows, then mean, sd and n rows.\n\n");
    app_print_options(table, n_opts);
}

int cmd_eval(int argc, char **argv)
{
    eval_opts o = {.device = -1, .mask_threshold = (float)MG_METRICS_MASK_THRESHOLD};
    app_option table[] = {
        APP_STRING("pred", &o.pred, "folder of predicted slices"),
        APP_STRING("target", &o.target, "folder of the real slices they are compared with"),
        APP_FILE("pairs", &o.pairs, "CSV of pred,target (or a,b) file pairs instead of matching names"),
        APP_FILE("checkpoint", &o.checkpoint, "checkpoint of a training run: translate --a/--b and score"),
        APP_FLAG("identity", &o.identity, true, "score the untranslated inputs (baseline), no checkpoint"),
        APP_STRING("a", &o.a, "folder of A slices (T1), paired with --b"),
        APP_STRING("b", &o.b, "folder of B slices (T2), paired with --a"),
        APP_CHOICE("direction", &o.direction, "a2b|b2a|both", "A->B, B->A or both (default both)"),
        APP_FLAG("mask", &o.mask, true, "score only the target's foreground (brain or head)"),
        APP_FLOAT("mask-threshold", &o.mask_threshold, 0, 255, "foreground: target gray level above this (5)"),
        APP_FILE("csv", &o.csv, "write the per-image table and summary rows to this CSV file"),
        APP_INT("threads", &o.threads, 0, 1024, "CPU threads (0: one per core)"),
        APP_CHOICE("backend", &o.backend, MG_BACKEND_CHOICES, "compute backend (default: auto)"),
        APP_INT("device", &o.device, 0, 1000, "OpenCL device (see mrigan devices; MRIGAN_DEVICE)"),
    };
    const int n_opts = sizeof table / sizeof *table;
    int n_pos = 0;
    app_parse_result pr = app_parse("eval", argc, argv, table, n_opts, NULL, 0, &n_pos);
    if (pr == APP_PARSE_HELP)
        return print_usage(table, n_opts), 0;
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (!app_find_option(table, n_opts, "direction")->seen)
        o.direction = 2;
    const bool model_mode = o.checkpoint || o.identity, pred_mode = o.pred || o.target || (o.pairs && !model_mode);
    const char *usage = NULL;
    if (pred_mode && (model_mode || o.a || o.b || app_find_option(table, n_opts, "direction")->seen))
        usage = "--pred/--target cannot be combined with --checkpoint, --identity, --a, --b or --direction";
    else if (o.checkpoint && o.identity)
        usage = "--checkpoint and --identity exclude each other";
    else if (!pred_mode && !model_mode)
        usage = "needs --pred DIR --target DIR, --checkpoint FILE --a DIR --b DIR, or --identity --a DIR --b DIR";
    else if (pred_mode && !o.pairs && !(o.pred && o.target))
        usage = "needs both --pred DIR and --target DIR (or --pairs FILE.csv)";
    else if (model_mode && !o.pairs && !(o.a && o.b))
        usage = "needs both --a DIR and --b DIR (or --pairs FILE.csv)";
    if (usage) {
        fprintf(stderr, "mrigan eval: %s (see mrigan eval --help)\n", usage);
        return 2;
    }
    const char *dir_a = pred_mode ? o.pred : o.a, *dir_b = pred_mode ? o.target : o.b;

    mg_pair_list l = {0};
    int rc = o.pairs ? pairs_from_csv(o.pairs, dir_a, dir_b, &l) : pairs_from_folders(dir_a, dir_b, &l);
    if (!rc && o.csv)
        rc = check_csv(&o, &l);
    mg_backend *be = NULL;
    mg_cyclegan m = {0};
    bool have_model = false;
    if (!rc && o.checkpoint) {
        if (app_open_backend("eval", o.backend, o.device, o.threads, &be) != MG_OK)
            rc = (fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1);
        else if (mg_cyclegan_open(o.checkpoint, be, &m) != MG_OK)
            rc = (fprintf(stderr, "mrigan eval: %s: %s\n", o.checkpoint, mg_last_error()), 1);
        have_model = !rc;
    }
    eval_run runs[2] = {{0}};
    int n_runs = 0;
    for (int d = 0; !rc && d < 2; d++) {
        if (pred_mode ? d > 0 : (o.direction != 2 && o.direction != d))
            continue;
        runs[n_runs].label = pred_mode ? "pred" : d ? "b2a" : "a2b";
        rc = eval_direction(&o, have_model ? &m : NULL, pred_mode ? 0 : d, &l, &runs[n_runs]);
        n_runs++;
    }
    for (int r = 0; !rc && r < n_runs; r++) {
        char label[64];
        snprintf(label, sizeof label, "%s%s%s", runs[r].label, o.identity ? " identity" : "", o.mask ? " masked" : "");
        print_summary_line(pred_mode ? (o.mask ? "masked" : NULL) : label, &runs[r].summary);
    }
    if (!rc && o.csv)
        rc = write_csv(o.csv, &o, &l, runs, n_runs);
    for (int r = 0; r < n_runs; r++)
        free(runs[r].m);
    if (have_model)
        mg_cyclegan_free(&m);
    mg_backend_free(be);
    mg_pairs_free(&l);
    return rc;
}
