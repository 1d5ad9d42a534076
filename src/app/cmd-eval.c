/* mrigan eval: PSNR, SSIM and MAE of translated slices and volumes against their real counterparts
 * (include/mrigan/metrics.h). Three sources of predictions:
 *   --pred DIR --target DIR            images already written (by mrigan translate or any other tool);
 *   --checkpoint FILE --a DIR --b DIR  a trained model run on paired folders, nothing written: each input is padded
 *                                      to the generator's multiple, translated and cropped back, as translate does;
 *   --identity --a DIR --b DIR         the untranslated input itself (the baseline any model must beat).
 * Pairs come from two folders matched by name, or from a CSV; a pair is two PNG slices or two volumes on one grid,
 * scored slice by slice and as a whole (mg_metrics_compare_volume). The table goes to stdout (or JSON with --json);
 * --csv writes every row, and its summary beside it. */
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
#include "base/base.h"
#include "commands.h"
#include "eval-output.h"
#include "mrigan/cyclegan.h"
#include "mrigan/image.h"
#include "mrigan/metrics.h"
#include "mrigan/volume.h"
#include "options.h"
#include "progress.h"

typedef struct eval_opts {
    const char *pred, *target, *pairs, *checkpoint, *a, *b, *csv, *mask_volume;
    int direction; /* 0 a2b, 1 b2a, 2 both */
    bool identity, mask, json;
    int slice_axis;
    float mask_threshold;
    int threads, backend, device, flip_average, guide_radius, background;
} eval_opts;

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
        return fprintf(stderr, "mrigan eval: %s%s\n", mg_last_error(),
                       strstr(mg_last_error(), "no counterpart") ? "; or give the pairs with --pairs FILE.csv" : ""),
               1;
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
        if (data_lines++ == 0 && !(mg_input_is_name(x) && mg_input_is_name(y))) {
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

/* What a direction's scoring needs besides the pair. */
typedef struct eval_ctx {
    const eval_opts *o;
    mg_cyclegan *model; /* NULL: pred or identity */
    int direction;
    const uint8_t *mask_voxels; /* --mask-volume, on every volume pair's grid */
    const mg_volume *mask_volume;
    app_progress *bar;
    int pair, pairs;
    const char *name;
} eval_ctx;

/* Scores one PNG pair: src is the prediction (pred mode) or the input (model: translated first; identity: as is). */
static int eval_png_pair(const eval_ctx *c, const char *src, const char *tgt, eval_run *run)
{
    mg_image x = {0}, t = {0}, y = {0};
    uint8_t *mask = NULL;
    const bool round_t = png_is_8bit_gray(tgt), round_x = png_is_8bit_gray(src);
    int rc = 0;
    if (c->mask_voxels) /* a mask volume has no slice to give a PNG pair */
        return fprintf(stderr, "mrigan eval: --mask-volume scores volume pairs; %s and %s are slices (use --mask)\n",
                       src, tgt),
               2;
    eval_row row = {.input = src, .target = tgt, .slice = -1, .axis = -1};
    if (mg_image_load_png(src, &x) != MG_OK || mg_image_load_png(tgt, &t) != MG_OK)
        rc = (fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1);
    else if (x.width != t.width || x.height != t.height)
        rc = (fprintf(stderr, "mrigan eval: size mismatch: %s is %dx%d, %s is %dx%d\n", src, x.width, x.height, tgt,
                      t.width, t.height),
              1);
    if (!rc && c->model && mg_cyclegan_translate_image(c->model, c->direction, &x, &y) != MG_OK)
        rc = (fprintf(stderr, "mrigan eval: translating %s: %s\n", src, mg_last_error()), 1);
    if (!rc && c->o->mask) {
        mask = malloc((size_t)t.width * (size_t)t.height);
        if (!mask || mg_metrics_make_mask(&t, round_t, c->o->mask_threshold, mask) != MG_OK)
            rc = (fprintf(stderr, "mrigan eval: foreground mask of %s: %s\n", tgt,
                          mask ? mg_last_error() : "out of memory"),
                  1);
    }
    const mg_metrics_options mo = {.round_pred = !c->model && round_x, .round_target = round_t, .mask = mask};
    if (!rc && mg_metrics_compare(c->model ? &y : &x, &t, &mo, &row.m) != MG_OK)
        rc = (fprintf(stderr, "mrigan eval: %s against %s: %s\n", src, tgt, mg_last_error()), 1);
    if (!rc && eval_run_add(run, &row))
        rc = (fprintf(stderr, "mrigan eval: out of memory\n"), 1);
    free(mask);
    mg_image_free(&x);
    mg_image_free(&t);
    mg_image_free(&y);
    return rc;
}

static void eval_show_slice(int done, int total, void *arg)
{
    const eval_ctx *c = arg;
    char label[300];
    snprintf(label, sizeof label, "%s, slice %d/%d", c->name, done, total);
    app_progress_show(c->bar, c->pair + (double)done / total, c->pairs, label);
}

/* The prediction of a volume pair on the target's grid, in [-1, 1]: the translation, or the volume normalised. */
static mg_status eval_volume_pred(const eval_ctx *c, const char *src, const mg_volume *x, float *pred)
{
    if (c->model)
        return mg_cyclegan_translate_volume(c->model, c->direction, x, src, (mg_slice_axis)c->o->slice_axis, pred,
                                            eval_show_slice, (void *)c);
    mg_volume_scale sc;
    mg_status s = mg_volume_scale_of(x, src, &sc);
    if (s == MG_OK)
        mg_volume_normalise(x, &sc, pred);
    return s;
}

static int eval_volume_pair(const eval_ctx *c, const char *src, const char *tgt, eval_run *run)
{
    mg_volume x = {0}, t = {0};
    float *pred = NULL;
    mg_volume_scores sc = {0};
    mg_status s = mg_volume_load(src, &x);
    if (s == MG_OK)
        s = mg_volume_load(tgt, &t);
    if (s == MG_OK && memcmp(x.dim, t.dim, sizeof x.dim))
        s = mg_error(MG_ERR_ARG, "%s is %dx%dx%d, %s is %dx%dx%d: volumes are compared on one grid", src, x.dim[0],
                     x.dim[1], x.dim[2], tgt, t.dim[0], t.dim[1], t.dim[2]);
    if (s == MG_OK && !mg_volume_same_orientation(&x, &t)) /* voxel (i, j, k) must be one place in both */
        s = mg_error(MG_ERR_ARG, "%s and %s store their voxels in different orientations: resample one onto the other",
                     src, tgt);
    if (s == MG_OK && c->mask_volume && memcmp(c->mask_volume->dim, t.dim, sizeof t.dim))
        s = mg_error(MG_ERR_ARG, "--mask-volume %s is not on the grid of %s", c->o->mask_volume, tgt);
    if (s == MG_OK && !(pred = malloc(sizeof *pred * (size_t)t.dim[0] * t.dim[1] * t.dim[2])))
        s = mg_error(MG_ERR_OOM, "%s: out of memory", src);
    if (s == MG_OK)
        s = eval_volume_pred(c, src, &x, pred);
    if (s == MG_OK)
        s = mg_metrics_compare_volume(pred, &t, tgt, c->mask_voxels, c->o->mask, c->o->mask_threshold,
                                      (mg_slice_axis)c->o->slice_axis, &sc);
    int rc = s != MG_OK;
    if (rc)
        fprintf(stderr, "mrigan eval: %s\n", mg_last_error());
    for (int k = 0; !rc && k <= sc.n; k++) {
        const bool whole = k == sc.n;
        eval_row row = {.input = src,
                        .target = tgt,
                        .slice = whole ? -1 : sc.slice[k],
                        .axis = sc.axis,
                        .whole = whole,
                        .m = whole ? sc.whole : sc.m[k]};
        if (eval_run_add(run, &row))
            rc = (fprintf(stderr, "mrigan eval: out of memory\n"), 1);
    }
    mg_volume_scores_free(&sc);
    free(pred);
    mg_volume_free(&x);
    mg_volume_free(&t);
    return rc;
}

/* Runs one direction over every pair, printing the table as it goes. */
static int eval_direction(eval_ctx *c, const eval_show *how, const mg_pair_list *l, eval_run *run)
{
    if (!c->o->json)
        eval_print_header(how, run, c->direction, l->n);
    c->pairs = l->n;
    for (int i = 0; i < l->n; i++) {
        const char *src = c->direction ? l->items[i].b : l->items[i].a;
        const char *tgt = c->direction ? l->items[i].a : l->items[i].b;
        c->pair = i;
        c->name = app_base_name(src);
        app_progress_show(c->bar, i, l->n, c->name);
        const int first = run->n;
        int rc = mg_volume_is_name(src) ? eval_volume_pair(c, src, tgt, run) : eval_png_pair(c, src, tgt, run);
        app_progress_clear(c->bar);
        if (rc)
            return rc;
        for (int k = first; !c->o->json && k < run->n; k++)
            eval_print_row(&run->rows[k]);
    }
    eval_run_summarise(run);
    if (!c->o->json)
        printf("\n");
    return 0;
}

/* --csv and its summary must not replace anything eval reads: a slice, a volume, the pairs list or the
 * checkpoint. */
static int check_outputs(const eval_opts *o, const mg_pair_list *l, const char *summary)
{
    app_inputs in = {0};
    int rc = app_inputs_add(&in, o->pairs ? o->pairs : "") || app_inputs_add(&in, o->checkpoint ? o->checkpoint : "") ||
             app_inputs_add(&in, o->mask_volume ? o->mask_volume : "");
    for (int i = 0; !rc && i < l->n; i++)
        rc = app_inputs_add(&in, l->items[i].a) || app_inputs_add(&in, l->items[i].b);
    if (rc)
        fprintf(stderr, "mrigan eval: out of memory\n");
    else if (app_inputs_has(&in, o->csv) || app_inputs_has(&in, summary))
        rc = (fprintf(stderr, "mrigan eval: --csv %s (or its summary %s) is one of the inputs; choose another file\n",
                      o->csv, summary),
              2);
    app_inputs_free(&in);
    return rc;
}

static void print_usage(const app_option *table, int n_opts)
{
    printf("usage: mrigan eval --pred DIR --target DIR [--pairs FILE.csv] [options]\n"
           "       mrigan eval --checkpoint FILE [--direction a2b|b2a|both] --a DIR --b DIR [options]\n"
           "       mrigan eval --identity [--direction a2b|b2a|both] --a DIR --b DIR [options]\n\n"
           "PSNR (dB, peak 255), SSIM (11x11 Gaussian window, sigma 1.5, as skimage) and MAE (gray levels) on the\n"
           "8-bit scale, per pair and as mean (sample standard deviation). Pairs: files of the same name, or whose\n"
           "names differ only in a T1/T2/T1w/T2w tag; or --pairs, a CSV of two file names per line (relative ones\n"
           "inside the two folders when given). A pair is two PNG slices or two NIfTI volumes on one grid; volumes\n"
           "are normalised each by its own percentiles (see the README) and scored slice by slice (the slices with\n"
           "anatomy in the target) and as a whole. --checkpoint translates the inputs (A for a2b, B for b2a; both\n"
           "directions by default) at native size without writing them; --identity scores the inputs as they are.\n"
           "--mask scores only the target's foreground: gray level > --mask-threshold, holes filled, dilated 1 pixel;\n"
           "--mask-volume scores only the voxels of a mask volume (non-zero) on the volumes' grid. 8-bit grayscale\n"
           "PNGs are scored at their exact integer levels. Identical pairs have PSNR inf, left out of the mean.\n"
           "--csv: direction,input|pred,target,slice,psnr_db,ssim,mae,pixels rows (slice empty for PNGs, \"all\" for\n"
           "a whole volume), and the means in NAME-summary.csv. --json prints all of it as JSON instead of the "
           "table.\n\n");
    app_print_options(table, n_opts);
}

int cmd_eval(int argc, char **argv)
{
    eval_opts o = {.device = -1, .guide_radius = -1, .mask_threshold = (float)MG_METRICS_MASK_THRESHOLD};
    app_option table[] = {
        APP_STRING("pred", &o.pred, "folder of predicted slices or volumes"),
        APP_STRING("target", &o.target, "folder of the real ones they are compared with"),
        APP_FILE("pairs", &o.pairs, "CSV of pred,target (or a,b) file pairs instead of matching names"),
        APP_FILE("checkpoint", &o.checkpoint, "checkpoint of a training run: translate --a/--b and score"),
        APP_FLAG("identity", &o.identity, true, "score the untranslated inputs (baseline), no checkpoint"),
        APP_STRING("a", &o.a, "folder of A slices or volumes (T1), paired with --b"),
        APP_STRING("b", &o.b, "folder of B slices or volumes (T2), paired with --a"),
        APP_CHOICE("direction", &o.direction, "a2b|b2a|both", "A->B, B->A or both (default both)"),
        APP_FLAG("mask", &o.mask, true, "score only the target's foreground (brain or head)"),
        APP_FLOAT("mask-threshold", &o.mask_threshold, 0, 255, "foreground: target gray level above this (5)"),
        APP_FILE("mask-volume", &o.mask_volume, "score only the voxels of this mask volume (volume pairs)"),
        {.name = "slice-axis",
         .kind = OPT_CHOICE,
         .target = &o.slice_axis,
         .choices = MG_SLICE_AXIS_CHOICES,
         .help = "volumes are scored in slices perpendicular to this",
         .def = "axial"},
        APP_FILE("csv", &o.csv, "write every row to this CSV file, and the means to NAME-summary.csv"),
        APP_FLAG("json", &o.json, true, "print the results as JSON on stdout instead of the table"),
        APP_TRANSLATION_OPTIONS(&o.flip_average, &o.guide_radius, &o.background),
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
    else if (o.mask && o.mask_volume)
        usage = "--mask and --mask-volume exclude each other";
    if (usage) {
        fprintf(stderr, "mrigan eval: %s (see mrigan eval --help)\n", usage);
        return 2;
    }
    const char *dir_a = pred_mode ? o.pred : o.a, *dir_b = pred_mode ? o.target : o.b;
    char summary[4200] = "";
    if (o.csv)
        eval_summary_path(o.csv, summary, sizeof summary);

    mg_pair_list l = {0};
    int rc = o.pairs ? pairs_from_csv(o.pairs, dir_a, dir_b, &l) : pairs_from_folders(dir_a, dir_b, &l);
    if (!rc && o.csv)
        rc = check_outputs(&o, &l, summary);
    mg_volume mask = {0};
    uint8_t *mask_voxels = NULL;
    if (!rc && o.mask_volume) {
        if (mg_volume_load(o.mask_volume, &mask) != MG_OK)
            rc = (fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1);
        else if (!(mask_voxels = malloc((size_t)mask.dim[0] * mask.dim[1] * mask.dim[2])))
            rc = (fprintf(stderr, "mrigan eval: out of memory\n"), 1);
        for (size_t i = 0, n = (size_t)mask.dim[0] * mask.dim[1] * mask.dim[2]; !rc && i < n; i++)
            mask_voxels[i] = mask.data[i] != 0.0f;
    }
    mg_backend *be = NULL;
    mg_cyclegan m = {0};
    bool have_model = false;
    if (!rc && o.checkpoint) {
        if (app_open_backend("eval", o.backend, o.device, o.threads, &be) != MG_OK)
            rc = (fprintf(stderr, "mrigan eval: %s\n", mg_last_error()), 1);
        else if (mg_cyclegan_open(o.checkpoint, be, &m) != MG_OK)
            rc = (fprintf(stderr, "mrigan eval: %s: %s\n", o.checkpoint, mg_last_error()), 1);
        have_model = !rc;
        if (have_model)
            app_apply_translation(&m, o.flip_average, o.guide_radius, o.background);
    }
    for (int d = 0; have_model && !rc && d < 2; d++) /* an export may hold one direction only */
        if (!m.has_generator[d] && o.direction == d)
            rc = (fprintf(stderr, "mrigan eval: %s holds no %s generator\n", o.checkpoint, d ? "B->A" : "A->B"), 2);
        else if (!m.has_generator[d] && o.direction == 2)
            fprintf(stderr, "mrigan eval: note: %s holds no %s generator; scoring %s only\n", o.checkpoint,
                    d ? "B->A" : "A->B", d ? "a2b" : "b2a");
    const eval_show how = {.by_dir = !pred_mode, .identity = o.identity, .mask = o.mask || o.mask_volume};
    app_progress bar;
    app_progress_begin(&bar, "eval");
    eval_run runs[2] = {{0}};
    int n_runs = 0;
    for (int d = 0; !rc && d < 2; d++) {
        if (pred_mode ? d > 0 : (o.direction != 2 && o.direction != d))
            continue;
        if (have_model && !m.has_generator[d])
            continue;
        runs[n_runs].label = pred_mode ? "pred" : d ? "b2a" : "a2b";
        eval_ctx c = {.o = &o,
                      .model = have_model ? &m : NULL,
                      .direction = pred_mode ? 0 : d,
                      .mask_voxels = mask_voxels,
                      .mask_volume = o.mask_volume ? &mask : NULL,
                      .bar = &bar};
        rc = eval_direction(&c, &how, &l, &runs[n_runs]);
        n_runs++;
    }
    for (int r = 0; !rc && !o.json && r < n_runs; r++)
        eval_print_summary(&how, &runs[r]);
    if (!rc && o.json)
        eval_print_json(stdout, &how, runs, n_runs);
    if (!rc && o.csv)
        rc = eval_write_csv(o.csv, &how, runs, n_runs) || eval_write_summary(summary, runs, n_runs);
    for (int r = 0; r < n_runs; r++)
        eval_run_free(&runs[r]);
    if (have_model)
        mg_cyclegan_free(&m);
    mg_backend_free(be);
    free(mask_voxels);
    mg_volume_free(&mask);
    mg_pairs_free(&l);
    return rc;
}
