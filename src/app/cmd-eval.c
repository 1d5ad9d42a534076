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

/* One pair: a is the prediction (or the A input), b the target (or the B input); paths as opened. */
typedef struct eval_pair {
    char *a, *b;
} eval_pair;

typedef struct eval_list {
    eval_pair *items;
    int n, cap;
} eval_list;

/* One direction's results. */
typedef struct eval_run {
    const char *label; /* "a2b", "b2a" or "pred" */
    int n;
    mg_metrics *m;
    mg_metrics_summary summary;
} eval_run;

static const char *const backend_kinds[] = {"auto", "cpu", "opencl"};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool has_png_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcasecmp(name + n - 4, ".png");
}

static int cmp_str(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* dir/name, or name alone when dir is NULL or name is absolute; NULL when out of memory. */
static char *path_join(const char *dir, const char *name)
{
    if (!dir || name[0] == '/')
        return strdup(name);
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

static void list_free(eval_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->items[i].a);
        free(l->items[i].b);
    }
    free(l->items);
    *l = (eval_list){0};
}

/* Appends (a, b), taking ownership of both strings (freed on failure). */
static int list_add(eval_list *l, char *a, char *b)
{
    if (a && b && l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        eval_pair *items = realloc(l->items, (size_t)cap * sizeof *items);
        if (items) {
            l->items = items;
            l->cap = cap;
        }
    }
    if (!a || !b || l->n == l->cap) {
        free(a);
        free(b);
        return fprintf(stderr, "mrigan eval: out of memory\n"), 1;
    }
    l->items[l->n++] = (eval_pair){a, b};
    return 0;
}

static void names_free(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The PNG files of dir (names only, sorted by strcmp). Errors name the folder. */
static int names_list(const char *dir, char ***out, int *n_out)
{
    DIR *d = opendir(dir);
    if (!d)
        return fprintf(stderr, "mrigan eval: %s: %s\n", dir, strerror(errno)), 1;
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        if (!has_png_suffix(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = 1;
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name)))
            rc = 1;
        else
            n++;
    }
    closedir(d);
    if (rc)
        fprintf(stderr, "mrigan eval: out of memory listing %s\n", dir);
    else if (n == 0)
        rc = (fprintf(stderr, "mrigan eval: %s: no .png images\n", dir), 1);
    if (rc) {
        names_free(names, n);
        return rc;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    *n_out = n;
    return 0;
}

/* The name without its extension and without contrast tags: the words T1, T2, T1w, T2w (any case) between
 * non-alphanumeric characters. "MNI152_T1_1mm_z030.png" and "MNI152_T2_1mm_z030.png" share "MNI152__1mm_z030". */
static void contrast_key(const char *name, char *key, size_t len)
{
    const char *dot = strrchr(name, '.');
    size_t n = dot ? (size_t)(dot - name) : strlen(name), k = 0;
    for (size_t i = 0; i < n && k + 1 < len;) {
        if ((i == 0 || !isalnum((unsigned char)name[i - 1])) && (name[i] == 'T' || name[i] == 't') && i + 1 < n &&
            (name[i + 1] == '1' || name[i + 1] == '2')) {
            size_t j = i + 2;
            if (j < n && (name[j] == 'w' || name[j] == 'W'))
                j++;
            if (j == n || !isalnum((unsigned char)name[j])) {
                i = j;
                continue;
            }
        }
        key[k++] = name[i++];
    }
    key[k] = '\0';
}

/* Pairs every PNG of dir_a with the file of dir_b of the same name or, failing that, the one name of the same
 * contrast key. Files of dir_b left over are reported, not scored. */
static int pairs_from_folders(const char *dir_a, const char *dir_b, eval_list *l)
{
    char **na = NULL, **nb = NULL;
    int ca = 0, cb = 0, rc = names_list(dir_a, &na, &ca);
    if (!rc)
        rc = names_list(dir_b, &nb, &cb);
    char *used = rc ? NULL : calloc((size_t)cb, 1);
    if (!rc && !used)
        rc = (fprintf(stderr, "mrigan eval: out of memory\n"), 1);
    for (int i = 0; !rc && i < ca; i++) {
        int match = -1;
        for (int j = 0; j < cb && match < 0; j++)
            if (!strcmp(na[i], nb[j]))
                match = j;
        char ka[1024], kb[1024];
        contrast_key(na[i], ka, sizeof ka);
        for (int j = 0; j < cb && match < 0 && !rc; j++) {
            contrast_key(nb[j], kb, sizeof kb);
            if (strcmp(ka, kb))
                continue;
            match = j;
            for (int k = j + 1; k < cb && !rc; k++) {
                contrast_key(nb[k], kb, sizeof kb);
                if (!strcmp(ka, kb))
                    rc = (fprintf(stderr, "mrigan eval: %s/%s: both %s/%s and %s/%s could be its counterpart\n", dir_a,
                                  na[i], dir_b, nb[j], dir_b, nb[k]),
                          1);
            }
        }
        if (rc)
            break;
        if (match < 0)
            rc = (fprintf(stderr,
                          "mrigan eval: %s/%s: no counterpart in %s (the same name, or one that differs "
                          "only in a T1/T2 tag); give pairs with --pairs FILE.csv\n",
                          dir_a, na[i], dir_b),
                  1);
        else if (used[match])
            rc =
                (fprintf(stderr, "mrigan eval: %s/%s is the counterpart of two files of %s\n", dir_b, nb[match], dir_a),
                 1);
        else {
            used[match] = 1;
            rc = list_add(l, path_join(dir_a, na[i]), path_join(dir_b, nb[match]));
        }
    }
    int unused = 0, first = -1;
    for (int j = 0; !rc && j < cb; j++)
        if (!used[j] && (unused++, first < 0))
            first = j;
    if (unused)
        fprintf(stderr, "mrigan eval: note: %d image%s of %s without a counterpart in %s not scored (%s%s)\n", unused,
                unused == 1 ? "" : "s", dir_b, dir_a, nb[first], unused > 1 ? ", ..." : "");
    names_free(na, ca);
    names_free(nb, cb);
    free(used);
    return rc;
}

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

/* Pairs from a CSV of two columns (lines "a,b"; blank lines and lines starting with # skipped; a first line whose
 * fields do not both end in .png is a header). Relative names are taken inside dir_a / dir_b when given. */
static int pairs_from_csv(const char *file, const char *dir_a, const char *dir_b, eval_list *l)
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
        if (data_lines++ == 0 && !(has_png_suffix(x) && has_png_suffix(y))) {
            data_lines = 0; /* a header */
            continue;
        }
        if (!*x || !*y)
            rc = (fprintf(stderr, "mrigan eval: %s:%d: empty file name\n", file, line_no), 1);
        else
            rc = list_add(l, path_join(dir_a, x), path_join(dir_b, y));
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

static int load_model(const eval_opts *o, mg_backend *be, mg_cyclegan *m)
{
    mg_ckpt c;
    mg_cyclegan_config cfg;
    mg_status s = mg_ckpt_load(o->checkpoint, &c);
    if (s != MG_OK)
        return fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1;
    s = mg_cyclegan_config_load(&c, &cfg);
    if (s == MG_OK)
        s = mg_cyclegan_new(be, &cfg, 0, m);
    if (s == MG_OK && (s = mg_cyclegan_load(m, &c, false)) != MG_OK)
        mg_cyclegan_free(m);
    mg_ckpt_free(&c);
    if (s != MG_OK)
        fprintf(stderr, "mrigan eval: %s: %s\n", o->checkpoint, mg_last_error());
    return s != MG_OK;
}

/* The generator's output for img at native size: padded to the multiple, translated, cropped back. */
static mg_status translate_image(mg_cyclegan *m, int direction, const mg_image *img, mg_image *out)
{
    mg_image padded = {0}, y = {0};
    int ox, oy;
    mg_status s = mg_image_pad_to_multiple(img, mg_generator_multiple(&m->cfg.gen), &padded, &ox, &oy);
    if (s == MG_OK)
        s = mg_image_new(padded.width, padded.height, &y);
    if (s == MG_OK)
        s = mg_cyclegan_translate(m, direction, padded.data, padded.height, padded.width, y.data);
    if (s == MG_OK)
        s = mg_image_crop(&y, ox, oy, img->width, img->height, out);
    mg_image_free(&padded);
    mg_image_free(&y);
    return s;
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
    if (!rc && model && translate_image(model, direction, &x, &y) != MG_OK)
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
static int eval_direction(const eval_opts *o, mg_cyclegan *model, int direction, const eval_list *l, eval_run *run)
{
    const bool by_dir = o->a || o->b || o->identity || o->checkpoint;
    int wa = 5, wb = 6; /* column widths: the longest names */
    for (int i = 0; i < l->n; i++) {
        int na = (int)strlen(base_name(l->items[i].a)), nb = (int)strlen(base_name(l->items[i].b));
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
        printf("%-*s  %-*s  %8s  %7.4f  %7.2f\n", wa, base_name(src), wb, base_name(tgt), psnr, run->m[i].ssim,
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
static int write_csv(const char *path, const eval_opts *o, const eval_list *l, const eval_run *runs, int n_runs)
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
            csv_name(f, base_name(b2a ? l->items[i].b : l->items[i].a));
            csv_name(f, base_name(b2a ? l->items[i].a : l->items[i].b));
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
        APP_CHOICE("backend", &o.backend, "auto|cpu|opencl", "compute backend (auto)"),
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

    eval_list l = {0};
    int rc = o.pairs ? pairs_from_csv(o.pairs, dir_a, dir_b, &l) : pairs_from_folders(dir_a, dir_b, &l);
    mg_backend *be = NULL;
    mg_cyclegan m = {0};
    bool have_model = false;
    if (!rc && o.checkpoint) {
        if (mg_backend_open(backend_kinds[o.backend], o.device, o.threads, &be) != MG_OK)
            rc = (fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1);
        else
            have_model = !(rc = load_model(&o, be, &m));
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
    list_free(&l);
    return rc;
}
