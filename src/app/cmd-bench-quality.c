/* mrigan bench quality: how well translations match the truth on the paired sets, beside the baselines any method
 * has to beat (include/mrigan/quality.h). For each set: its slices in pairs; the identity, unpaired histogram
 * matching, its inverse and the oracle lookup table scored in both directions; with --train, a CycleGAN trained on
 * copies of the two domains' files under new, shuffled names (training sees two folders and nothing of the pairing),
 * then scored the same way, with its training time, iterations, the process's peak memory so far (the largest of the
 * sets trained until then: run one set a command for each set's own) and the generators' final adversarial loss (what
 * mrigan pick chooses seeds by). With --holdout, a fixed share of each set's file pairs is kept out of training and
 * scored apart (the baselines fitted on those pairs alone): translations of slices the model has never seen, beside
 * those of the slices it trained on. A table on stdout, JSON with --json. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "app-util.h"
#include "base/base.h"
#include "base/file.h"
#include "commands.h"
#include "mrigan/phantom.h"
#include "mrigan/quality.h"
#include "mrigan/volume.h"
#include "options.h"
#include "report.h"

/* The sets, their files relative to --data (lists separated by commas; a folder pairs its files by name or tag). */
typedef struct quality_set_def {
    const char *name, *a, *b, *what;
} quality_set_def;

static const quality_set_def quality_sets[] = {
    {"phantom", NULL, NULL,
     "48 pairs of 181x217 whole-head slices (scalp, skull, noise), rendered by mrigan phantom (seed 1) into "
     "--bench-out"},
    {"phantom128", NULL, NULL, "the embedded phantom, data/phantom: 24 pairs of 128x128 slices"},
    {"mni152", "paired/mni152/png_axial_1mm_brain/T1", "paired/mni152/png_axial_1mm_brain/T2",
     "MNI152 templates, 31 axial 1 mm brain slices (PNG)"},
    {"open-ms", "paired/open-ms/nifti/patient07_T1.nii.gz,paired/open-ms/nifti/patient19_T1.nii.gz",
     "paired/open-ms/nifti/patient07_T2.nii.gz,paired/open-ms/nifti/patient19_T2.nii.gz",
     "two MS patients, the axial slices of their volumes"},
    {"brats2020", "paired/brats2020/png/T1", "paired/brats2020/png/T2", "10 BraTS 2020 slices with tumours"},
    {"mni152-2mm", "paired/mni152/nifti/MNI152_T1_2mm.nii.gz", "paired/mni152/nifti/MNI152_T2_2mm.nii.gz",
     "MNI152 2 mm whole-head volumes, axial slices"},
};
#define N_SETS (int)(sizeof quality_sets / sizeof *quality_sets)

typedef struct quality_files {
    char **a, **b;
    int n;
} quality_files;

static void files_free(quality_files *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->a[i]);
        free(f->b[i]);
    }
    free(f->a);
    free(f->b);
    *f = (quality_files){0};
}

static int files_add(quality_files *f, char *a, char *b)
{
    char **ga = realloc(f->a, sizeof *ga * (size_t)(f->n + 1));
    if (ga)
        f->a = ga;
    char **gb = ga ? realloc(f->b, sizeof *gb * (size_t)(f->n + 1)) : NULL;
    if (gb)
        f->b = gb;
    if (!a || !b || !ga || !gb) {
        free(a);
        free(b);
        return fprintf(stderr, "mrigan bench quality: out of memory\n"), 1;
    }
    f->a[f->n] = a;
    f->b[f->n++] = b;
    return 0;
}

/* The phantom set at 181x217 (rendered once into out/phantom-data) or the embedded one; its folder into dir. */
static int phantom_folder(const quality_set_def *d, const char *embedded, const char *out, char *dir, size_t len)
{
    struct stat st;
    char t1[4200];
    if (strcmp(d->name, "phantom")) {
        snprintf(dir, len, "%s", embedded);
        return 0;
    }
    snprintf(dir, len, "%s/phantom-data", out);
    snprintf(t1, sizeof t1, "%.4100s/T1", dir);
    if (stat(t1, &st) == 0)
        return 0;
    mg_phantom_config pc;
    mg_phantom_config_default(&pc);
    pc.width = 181;
    pc.height = 217;
    if (mg_phantom_write(dir, &pc, 48, 8, "mrigan bench quality (48 pairs of 181x217, seed 1)") != MG_OK)
        return fprintf(stderr, "mrigan bench quality: cannot render the phantom into %s: %s\n", dir, mg_last_error()),
               1;
    return 0;
}

/* The file pairs of a set: two folders paired by name or tag, or two comma-separated lists of files. */
static int files_of_set(const char *data, const char *phantom, const quality_set_def *d, quality_files *f)
{
    char a[4096], b[4096];
    if (!d->a) {
        snprintf(a, sizeof a, "%.4000s/T1", phantom);
        snprintf(b, sizeof b, "%.4000s/T2", phantom);
    } else {
        snprintf(a, sizeof a, "%s", d->a);
        snprintf(b, sizeof b, "%s", d->b);
    }
    char *sa = a, *sb = b;
    for (;;) {
        char *ca = strchr(sa, ','), *cb = strchr(sb, ',');
        if (ca)
            *ca = '\0';
        if (cb)
            *cb = '\0';
        char *pa = d->a ? mg_path_join(data, sa) : strdup(sa), *pb = d->a ? mg_path_join(data, sb) : strdup(sb);
        struct stat st;
        if (pa && stat(pa, &st) == 0 && S_ISDIR(st.st_mode)) {
            mg_pair_list l = {0};
            int rc = mg_folder_pair_inputs(pa, pb, &l) != MG_OK;
            if (rc)
                fprintf(stderr, "mrigan bench quality: %s: %s\n", d->name, mg_last_error());
            for (int i = 0; !rc && i < l.n; i++)
                rc = files_add(f, strdup(l.items[i].a), strdup(l.items[i].b));
            mg_pairs_free(&l);
            free(pa);
            free(pb);
            if (rc)
                return rc;
        } else if (files_add(f, pa, pb)) {
            return 1;
        }
        if (!ca || !cb)
            return 0;
        sa = ca + 1;
        sb = cb + 1;
    }
}

/* Copies of a domain's files under shuffled names (n_000.png, ...) into dir: what training sees. */
static int copy_shuffled(char **files, int n, const char *dir, uint64_t seed)
{
    int *perm = malloc(sizeof *perm * (size_t)n), rc = perm ? 0 : 1;
    mg_rng r;
    mg_rng_seed(&r, seed, 17);
    if (perm)
        mg_rng_permutation(&r, perm, n);
    if (mg_file_make_dirs(dir) != 0)
        rc = (fprintf(stderr, "mrigan bench quality: cannot create %s: %s\n", dir, strerror(errno)), 1);
    for (int i = 0; !rc && i < n; i++) {
        const char *src = files[perm[i]],
                   *ext = mg_volume_is_name(src) ? (strstr(src, ".gz") ? ".nii.gz" : ".nii") : ".png";
        char dst[4200];
        snprintf(dst, sizeof dst, "%s/n_%03d%s", dir, i, ext);
        FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
        char buf[1 << 16];
        size_t got;
        while (in && out && (got = fread(buf, 1, sizeof buf, in)) > 0)
            if (fwrite(buf, 1, got, out) != got)
                break;
        if (!in || !out || ferror(in) || ferror(out))
            rc = (fprintf(stderr, "mrigan bench quality: cannot copy %s to %s\n", src, dst), 1);
        if (in)
            fclose(in);
        if (out && fclose(out) != 0)
            rc = 1;
    }
    free(perm);
    return rc;
}

#define MAX_SEEDS 16

/* A row: a baseline, a trained model (one seed), the mean of the seeds' models, or the seed mrigan pick keeps. */
typedef enum row_kind { ROW_BASELINE, ROW_MODEL, ROW_MEAN, ROW_PICK } row_kind;

typedef struct quality_row {
    const char *set, *method; /* method: the JSON's ("identity" .. "model", "mean", "pick") */
    char label[16];           /* the table's: the method, or "seed N" for one of several seeds */
    row_kind kind;
    bool held; /* scored on the held-out pairs (--holdout), not on the slices the model trained on */
    int direction, n;
    int seed;                    /* MODEL, PICK: the run's; MEAN: how many seeds */
    mg_quality_scores sc;        /* MEAN: means over the seeds, each _sd over the seeds (mg_quality_scores_mean) */
    double seconds, adversarial; /* MODEL, PICK: training time, mg_train_score_adversarial */
    long iterations, peak_mb;
} quality_row;

static void print_row(const quality_row *r)
{
    char set[64];
    snprintf(set, sizeof set, "%s%s", r->set, r->held ? "/held" : "");
    printf("%-15s %-4s %-9s %4d  %6.2f  %6.4f  %6.2f   %6.2f  %6.4f  %6.2f  %7.3f", set, r->direction ? "b2a" : "a2b",
           r->label, r->n, r->sc.whole.psnr_mean, r->sc.whole.ssim_mean, r->sc.whole.mae_mean,
           r->sc.foreground.psnr_mean, r->sc.foreground.ssim_mean, r->sc.foreground.mae_mean, r->sc.foreground.texture);
    if (r->kind == ROW_MODEL)
        printf("  %7.0f s %7ld it %6ld MB peak so far  adversarial %.4f", r->seconds, r->iterations, r->peak_mb,
               r->adversarial);
    else if (r->kind == ROW_MEAN)
        printf("  over %d seeds, sd %.2f dB / %.4f", r->seed, r->sc.whole.psnr_sd, r->sc.whole.ssim_sd);
    else if (r->kind == ROW_PICK)
        printf("  seed %d, the lowest adversarial loss (%.4f): what mrigan pick keeps", r->seed, r->adversarial);
    printf("\n");
    fflush(stdout);
}

/* JSON has no NaN: a texture ratio without texture in the truth (a flat set) is written as -1. */
static double json_finite(double v) { return isfinite(v) ? v : -1.0; }

static void json_row(FILE *f, const quality_row *r, bool first)
{
    const mg_metrics_summary *w = &r->sc.whole, *g = &r->sc.foreground;
    fprintf(f, "%s\n  {\"set\": \"%s\", \"direction\": \"%s\", \"method\": \"%s\", \"slices\": %d, ", first ? "" : ",",
            r->set, r->direction ? "b2a" : "a2b", r->method, r->n);
    if (r->held) /* rows without it are of the slices the model trained on */
        fputs("\"split\": \"held-out\", ", f);
    if (r->kind == ROW_MEAN) /* the spread over the seeds, not over the slices */
        fprintf(f,
                "\"seeds\": %d, \"whole\": {\"psnr_db\": %.4f, \"ssim\": %.5f, \"mae\": %.4f, \"psnr_db_sd_seeds\": "
                "%.4f, \"ssim_sd_seeds\": %.5f, \"mae_sd_seeds\": %.4f, \"texture\": %.4f}, ",
                r->seed, w->psnr_mean, w->ssim_mean, w->mae_mean, w->psnr_sd, w->ssim_sd, w->mae_sd,
                json_finite(w->texture));
    else
        fprintf(f,
                "\"whole\": {\"psnr_db\": %.4f, \"ssim\": %.5f, \"mae\": %.4f, \"ssim_sd\": %.5f, \"texture\": %.4f}, ",
                w->psnr_mean, w->ssim_mean, w->mae_mean, w->ssim_sd, json_finite(w->texture));
    fprintf(f, "\"foreground\": {\"psnr_db\": %.4f, \"ssim\": %.5f, \"mae\": %.4f, \"texture\": %.4f}", g->psnr_mean,
            g->ssim_mean, g->mae_mean, json_finite(g->texture));
    if (r->kind == ROW_MODEL || r->kind == ROW_PICK)
        fprintf(f,
                ", \"seed\": %d, \"train_seconds\": %.1f, \"iterations\": %ld, \"process_peak_mb\": %ld, "
                "\"adversarial\": %.5f",
                r->seed, r->seconds, r->iterations, r->peak_mb, isfinite(r->adversarial) ? r->adversarial : -1.0);
    fputs("}", f);
}

typedef struct bench_quality {
    mg_train_settings s;
    app_option table[MG_SET_COUNT + 8];
    char defaults[MG_SET_COUNT][32];
    const char *sets, *data, *json, *out, *seeds_list;
    bool train, rescore;           /* rescore: the models an earlier --train left, not trained again */
    float holdout;                 /* the share of each set's file pairs kept out of training (0: none) */
    int seeds[MAX_SEEDS], n_seeds; /* --seeds, else the one --seed */
    quality_row rows[N_SETS * 2 * 2 * (MG_QUALITY_METHODS - 1 + MAX_SEEDS + 2)]; /* training and held-out slices */
    int n_rows;
} bench_quality;

/* What a scored model's rows say of its training. */
typedef struct run_facts {
    double seconds, adversarial; /* 0 s when it was not trained by this invocation */
    long iterations;
} run_facts;

/* Trains with seed on shuffled copies of the set's files in dir; the model is the trainer's, freed with it. */
static int train_set(bench_quality *q, const quality_set_def *d, quality_files *f, int seed, const char *dir,
                     mg_backend *be, mg_trainer **t, run_facts *facts)
{
    char a[4300], b[4300], run[4300];
    snprintf(a, sizeof a, "%s/A", dir);
    snprintf(b, sizeof b, "%s/B", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    if (mg_file_make_dirs(dir) != 0) /* dir is the set's folder, or a seed's folder in it */
        return fprintf(stderr, "mrigan bench quality: cannot create %s: %s\n", dir, strerror(errno)), 1;
    if (copy_shuffled(f->a, f->n, a, (uint64_t)seed) || copy_shuffled(f->b, f->n, b, (uint64_t)seed + 1))
        return 1;
    mg_train_settings s = q->s;
    s.a = a;
    s.b = b;
    s.out = run;
    s.seed = seed;
    s.overwrite = true;
    double t0 = mg_now_s();
    mg_status st = mg_train_settings_check(&s);
    if (st == MG_OK)
        st = mg_trainer_new(&s, be, NULL, t);
    if (st == MG_OK)
        st = mg_trainer_run(*t, NULL);
    if (st != MG_OK)
        return fprintf(stderr, "mrigan bench quality: %s: %s\n", d->name, mg_last_error()), 1;
    mg_train_info in = {0};
    mg_trainer_info(*t, &in);
    *facts = (run_facts){.seconds = mg_now_s() - t0,
                         .iterations = in.iteration,
                         .adversarial = mg_train_score_adversarial(in.loss_means, in.n_epochs)};
    return 0;
}

static quality_row *row_add(bench_quality *q, const quality_set_def *d, row_kind kind, const char *method, int dir,
                            const mg_quality_set *set, bool held)
{
    quality_row *r = &q->rows[q->n_rows++];
    *r = (quality_row){
        .set = d->name, .method = method, .kind = kind, .held = held, .direction = dir, .n = set->n, .seed = -1};
    snprintf(r->label, sizeof r->label, "%s", method);
    return r;
}

/* The model that an earlier --train left in dir (its run's latest.ckpt), translating as this invocation's options say
 * (--no-flip-average, --guide-radius, --guide-eps, --background): choices made at translation time, compared on the
 * same trained weights. Its iterations and final adversarial loss come from the run's losses.csv and epochs.csv, as
 * mrigan pick reads them; the run folder is only read. A model from before the flat background gets its domains'
 * air levels from the run's training folders (A, B), as training measures them now. m is left empty on failure. */
static int rescore_set(bench_quality *q, const quality_set_def *d, const char *dir, mg_backend *be, mg_cyclegan *m,
                       run_facts *facts)
{
    char run[4300], ckpt[4400], err[1024];
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(ckpt, sizeof ckpt, "%s/latest.ckpt", run);
    rp_run r;
    if (rp_run_load(run, &r, err, sizeof err) != 0)
        return fprintf(stderr, "mrigan bench quality: %s: --rescore: %s\n", d->name, err), 1;
    int rc = 0;
    if (!r.config.present || !r.losses.present || r.losses.n == 0 || r.epochs.n == 0)
        rc = (fprintf(stderr,
                      "mrigan bench quality: %s: --rescore: %s holds no training run of --train (config.txt, "
                      "losses.csv and epochs.csv)\n",
                      d->name, run),
              1);
    else
        *facts = (run_facts){.iterations = (long)RP_CELL(&r.losses, r.losses.n - 1, L_ITER) + 1,
                             .adversarial = rp_run_adversarial(&r)};
    rp_run_free(&r);
    if (!rc && mg_cyclegan_open(ckpt, be, m) != MG_OK)
        rc = (fprintf(stderr, "mrigan bench quality: %s: --rescore: %s: %s\n", d->name, ckpt, mg_last_error()), 1);
    if (!rc && !m->cfg.has_air) { /* a model from before the flat background: its training folders' air */
        for (int dom = 0; !rc && dom < 2; dom++) {
            char folder[4400];
            snprintf(folder, sizeof folder, "%s/%c", dir, dom ? 'B' : 'A');
            mg_dataset *ds = NULL;
            if (mg_dataset_load(folder, (mg_slice_axis)q->s.slice_axis, &ds) != MG_OK ||
                mg_dataset_air(ds, MG_BACKGROUND_RADIUS, &m->cfg.air[dom]) != MG_OK)
                rc = (fprintf(stderr, "mrigan bench quality: %s: --rescore: %s\n", d->name, mg_last_error()), 1);
            mg_dataset_free(ds);
        }
        m->cfg.has_air = !rc;
    }
    if (!rc) {
        mg_cyclegan_set_flip_average(m, q->s.flip_average);
        mg_cyclegan_set_guide(m, q->s.guide_radius, q->s.guide_eps);
        mg_cyclegan_set_background(m, (mg_background)q->s.background);
    }
    return rc;
}

/* A model's rows on set (held: the held-out pairs), both directions, and its grid of them in dir. */
static int score_model(bench_quality *q, const quality_set_def *d, const mg_quality_set *set, bool held, mg_cyclegan *m,
                       const run_facts *facts, int seed, const char *dir)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int rc = 0;
    for (int dir_ab = 0; !rc && dir_ab < 2; dir_ab++) {
        quality_row *r = row_add(q, d, ROW_MODEL, mg_quality_method_names[MG_QUALITY_MODEL], dir_ab, set, held);
        r->seed = seed;
        if (q->n_seeds > 1)
            snprintf(r->label, sizeof r->label, "seed %d", seed);
        r->seconds = facts->seconds;
        r->iterations = facts->iterations;
        r->peak_mb = ru.ru_maxrss / 1024;
        r->adversarial = facts->adversarial;
        if (mg_quality_score(set, dir_ab, MG_QUALITY_MODEL, m, &r->sc) != MG_OK)
            rc = (fprintf(stderr, "mrigan bench quality: %s: %s\n", d->name, mg_last_error()), 1);
        else
            print_row(r);
    }
    char grid[4300];
    snprintf(grid, sizeof grid, "%s/grid%s%s.png", dir, held ? "-held-out" : "", q->rescore ? "-rescored" : "");
    if (!rc && mg_quality_write_grid(set, m, 3, grid) != MG_OK)
        rc = (fprintf(stderr, "mrigan bench quality: %s: %s\n", grid, mg_last_error()), 1);
    else if (!rc)
        fprintf(stderr, "mrigan bench quality: %s%s: input | translation | truth | |difference| in %s\n", d->name,
                held ? " (held out)" : "", grid);
    return rc;
}

/* A model per seed, trained on f and scored both ways on sets[0] and, with --holdout (n_sets 2), on the held-out
 * sets[1] (its rows), with its grids; one seed in BENCH-OUT/SET, several in BENCH-OUT/SET/seed-N. */
static int bench_seed(bench_quality *q, const quality_set_def *d, quality_files *f, const mg_quality_set *sets,
                      int n_sets, int seed, mg_backend *be)
{
    char dir[4200];
    if (q->n_seeds > 1)
        snprintf(dir, sizeof dir, "%s/%s/seed-%d", q->out, d->name, seed);
    else
        snprintf(dir, sizeof dir, "%s/%s", q->out, d->name);
    mg_trainer *t = NULL;
    mg_cyclegan opened = {0};
    run_facts facts = {0};
    int rc = q->rescore ? rescore_set(q, d, dir, be, &opened, &facts) : train_set(q, d, f, seed, dir, be, &t, &facts);
    mg_cyclegan *m = t ? mg_trainer_model(t) : &opened;
    for (int h = 0; !rc && h < n_sets; h++)
        rc = score_model(q, d, &sets[h], h == 1, m, &facts, seed, dir);
    mg_trainer_free(t);
    mg_cyclegan_free(&opened); /* a no-op on the empty model of --train or of a failed --rescore */
    return rc;
}

/* After several seeds: each direction's mean over them on set (held: the held-out pairs), and the seed with the lowest
 * adversarial loss. */
static void bench_summary(bench_quality *q, const quality_set_def *d, int first_model_row, const mg_quality_set *set,
                          bool held)
{
    for (int dir = 0; dir < 2; dir++) {
        mg_quality_scores sc[MAX_SEEDS];
        const quality_row *pick = NULL;
        int k = 0;
        for (int i = first_model_row; i < q->n_rows; i++) {
            const quality_row *r = &q->rows[i];
            if (r->kind != ROW_MODEL || r->direction != dir || r->held != held)
                continue;
            sc[k++] = r->sc;
            if (!pick || r->adversarial < pick->adversarial)
                pick = r;
        }
        quality_row *m = row_add(q, d, ROW_MEAN, "mean", dir, set, held);
        mg_quality_scores_mean(sc, k, &m->sc);
        m->seed = k;
        print_row(m);
        quality_row *p = row_add(q, d, ROW_PICK, "pick", dir, set, held);
        *p = *pick;
        p->kind = ROW_PICK;
        p->method = "pick";
        snprintf(p->label, sizeof p->label, "pick");
        print_row(p);
    }
}

/* The pairs of all split for --holdout: a share frac of them (rounded, at least one, and one left to train on) into
 * held, the rest into train, by a permutation that depends on nothing but their number, so that every seed and every
 * recipe holds out the same pairs. Each list keeps the set's order. */
static int split_holdout(const quality_files *all, float frac, quality_files *train, quality_files *held)
{
    int n_held = (int)(frac * (float)all->n + 0.5f), *perm = malloc(sizeof *perm * (size_t)all->n);
    bool *out = calloc((size_t)all->n, sizeof *out);
    if (!perm || !out) {
        free(perm);
        free(out);
        return fprintf(stderr, "mrigan bench quality: out of memory\n"), 1;
    }
    n_held = n_held < 1 ? 1 : n_held > all->n - 1 ? all->n - 1 : n_held;
    mg_rng r;
    mg_rng_seed(&r, 0x686f6c646f7574ull, (uint64_t)all->n);
    mg_rng_permutation(&r, perm, all->n);
    for (int i = 0; i < n_held; i++)
        out[perm[i]] = true;
    int rc = 0;
    for (int i = 0; !rc && i < all->n; i++)
        rc = files_add(out[i] ? held : train, strdup(all->a[i]), strdup(all->b[i]));
    free(perm);
    free(out);
    return rc;
}

/* The baselines' rows on set (held: the held-out pairs). */
static int score_baselines(bench_quality *q, const quality_set_def *d, const mg_quality_set *set, bool held)
{
    for (int dir = 0; dir < 2; dir++)
        for (int m = 0; m < MG_QUALITY_MODEL; m++) {
            quality_row *r = row_add(q, d, ROW_BASELINE, mg_quality_method_names[m], dir, set, held);
            if (mg_quality_score(set, dir, (mg_quality_method)m, NULL, &r->sc) != MG_OK)
                return fprintf(stderr, "mrigan bench quality: %s: %s\n", d->name, mg_last_error()), 1;
            print_row(r);
        }
    return 0;
}

static int bench_set(bench_quality *q, const quality_set_def *d, const char *embedded, mg_backend *be)
{
    quality_files all = {0}, parts[2] = {{0}}; /* with --holdout: the pairs trained on, those held out */
    mg_quality_set sets[2] = {{0}};            /* the slices of the pairs trained on, of those held out */
    char phantom[4200];
    int rc = phantom_folder(d, embedded, q->out, phantom, sizeof phantom);
    if (!rc)
        rc = files_of_set(q->data, phantom, d, &all);
    const bool split = !rc && q->holdout > 0.0f && all.n > 1;
    if (!rc && q->holdout > 0.0f && !split)
        fprintf(stderr, "mrigan bench quality: %s: one file, nothing to hold out; scored on its training slices only\n",
                d->name);
    if (split)
        rc = split_holdout(&all, q->holdout, &parts[0], &parts[1]);
    quality_files *files[2] = {split ? &parts[0] : &all, &parts[1]};
    const int n_parts = split ? 2 : 1;
    for (int h = 0; !rc && h < n_parts; h++) {
        if (mg_quality_add_files(&sets[h], (const char *const *)files[h]->a, (const char *const *)files[h]->b,
                                 files[h]->n) != MG_OK)
            rc = (fprintf(stderr, "mrigan bench quality: %s: %s\n", d->name, mg_last_error()), 1);
        else
            rc = score_baselines(q, d, &sets[h], h == 1);
    }
    int first_model_row = q->n_rows;
    for (int i = 0; !rc && q->train && i < q->n_seeds; i++)
        rc = bench_seed(q, d, files[0], sets, n_parts, q->seeds[i], be);
    for (int h = 0; !rc && q->train && q->n_seeds > 1 && h < n_parts; h++)
        bench_summary(q, d, first_model_row, &sets[h], h == 1);
    for (int h = 0; h < 2; h++) {
        mg_quality_free(&sets[h]);
        files_free(&parts[h]);
    }
    files_free(&all);
    return rc;
}

/* --seeds LIST into q->seeds (distinct, each in --seed's range), else --seed alone. */
static int parse_seeds(bench_quality *q)
{
    q->n_seeds = 0;
    if (!q->seeds_list) {
        q->seeds[q->n_seeds++] = q->s.seed;
        return 0;
    }
    if (q->table[MG_SET_SEED].seen || !q->train)
        return fprintf(stderr, "mrigan bench quality: --seeds goes with --train, instead of --seed\n"), 2;
    char list[1024];
    snprintf(list, sizeof list, "%s", q->seeds_list);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int v;
        if (q->n_seeds == MAX_SEEDS || !app_parse_int(tok, 0, 2147483647, &v))
            return fprintf(stderr, "mrigan bench quality: --seeds %s: give up to %d seeds, comma-separated\n",
                           q->seeds_list, MAX_SEEDS),
                   2;
        for (int i = 0; i < q->n_seeds; i++)
            if (q->seeds[i] == v)
                return fprintf(stderr, "mrigan bench quality: --seeds %s: seed %d twice\n", q->seeds_list, v), 2;
        q->seeds[q->n_seeds++] = v;
    }
    if (q->n_seeds == 0)
        return fprintf(stderr, "mrigan bench quality: --seeds: no seed given\n"), 2;
    return 0;
}

int cmd_bench_quality(int argc, char **argv)
{
    static bench_quality q;
    app_settings_options(&q.s, q.table, q.defaults);
    static char data[PATH_MAX];
    snprintf(data, sizeof data, "%s/../shared/data", MRIGAN_SOURCE_DIR); /* beside the source tree */
    q.data = data;
    q.out = "runs/quality";
    q.table[MG_SET_COUNT] = (app_option){.name = "sets",
                                         .kind = OPT_STRING,
                                         .target = &q.sets,
                                         .meta = "LIST",
                                         .help = "comma-separated names (below; default: all)"};
    q.table[MG_SET_COUNT + 1] = (app_option){.name = "data",
                                             .kind = OPT_STRING,
                                             .target = &q.data,
                                             .help = "the shared data folder",
                                             .def = "../shared/data"};
    q.table[MG_SET_COUNT + 2] =
        (app_option)APP_FLAG("train", &q.train, true, "also train a CycleGAN per set and score it");
    q.table[MG_SET_COUNT + 3] = (app_option)APP_FILE("json", &q.json, "write every row as JSON to this file");
    q.table[MG_SET_COUNT + 4] = (app_option){.name = "bench-out",
                                             .kind = OPT_STRING,
                                             .target = &q.out,
                                             .help = "where the shuffled copies, runs and grids go",
                                             .def = "runs/quality"};
    q.table[MG_SET_COUNT + 5] = (app_option){.name = "seeds",
                                             .kind = OPT_STRING,
                                             .target = &q.seeds_list,
                                             .meta = "LIST",
                                             .help = "with --train, a model per seed (comma-separated, e.g. 1,2,3), "
                                                     "their mean and spread, and the seed mrigan pick keeps; each "
                                                     "in BENCH-OUT/SET/seed-N"};
    q.table[MG_SET_COUNT + 6] = (app_option)APP_FLOAT(
        "holdout", &q.holdout, 0.01, 0.9,
        "keep this share of each set's file pairs out of training and score the model on them apart, each row "
        "marked held (the same pairs for every seed; a set of one file has none; default: off)");
    q.table[MG_SET_COUNT + 7] = (app_option)APP_FLAG(
        "rescore", &q.rescore, true,
        "score the models an earlier --train left in BENCH-OUT (same --sets and seeds) instead of training, "
        "translating as the options given say (--no-flip-average, --guide-radius, --guide-eps, --background); "
        "training 0 s, grids in grid-rescored.png");
    const int n_opts = MG_SET_COUNT + 8;
    int n_pos = 0;
    app_parse_result pr = app_parse("bench quality", argc, argv, q.table, n_opts, NULL, 0, &n_pos);
    if (pr == APP_PARSE_HELP) {
        printf("usage: mrigan bench quality [--sets LIST] [--data DIR] [--train|--rescore [--seeds LIST]\n"
               "                           [--holdout F] [training options]] [--json FILE]\n\n"
               "Scores translations of the paired sets against the truth, both directions, on whole slices and\n"
               "on the target's foreground (PSNR dB, SSIM, MAE on the 8-bit scale): the identity, unpaired\n"
               "histogram matching, unpaired inverse histogram matching (tissue order reversed, as T1 to T2),\n"
               "the oracle per-intensity lookup table fitted on the true pairs (the ceiling of pointwise maps),\n"
               "and with --train a CycleGAN trained on shuffled, renamed copies of the two domains (the options\n"
               "of mrigan train set its recipe; --a, --b and --out are the benchmark's), with a grid of three of\n"
               "its slices (input | translation | truth | |difference|) in BENCH-OUT/SET/grid.png. With --seeds,\n"
               "a model per seed (in BENCH-OUT/SET/seed-N), their mean with its spread over the seeds, and the\n"
               "seed mrigan pick keeps (the lowest final adversarial loss). With --holdout F, a share F of each\n"
               "set's pairs stays out of training and is scored apart (rows SET/held, its grid in\n"
               "BENCH-OUT/SET/grid-held-out.png): slices the model has never seen. The texture column is the\n"
               "foreground's fine-texture energy (the squared Laplacian) over the truth's: 1 as the truth, above\n"
               "1 with speckle or a grid, below 1 when blurred.\n\n"
               "sets:\n");
        for (int i = 0; i < N_SETS; i++)
            printf("  %-11s %s\n", quality_sets[i].name, quality_sets[i].what);
        printf("\noptions:\n");
        app_print_options(q.table, n_opts);
        return 0;
    }
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (q.table[MG_SET_A].seen || q.table[MG_SET_B].seen || q.table[MG_SET_OUT].seen || q.table[MG_SET_RESUME].seen) {
        fprintf(stderr, "mrigan bench quality: --a, --b, --out and --resume are the benchmark's own (see --help)\n");
        return 2;
    }
    q.train = q.train || q.rescore;
    int seeds_rc = parse_seeds(&q);
    if (seeds_rc)
        return seeds_rc;
    bool chosen[N_SETS] = {false};
    char list[1024];
    if (q.sets) {
        snprintf(list, sizeof list, "%s", q.sets);
    } else {
        int len = 0;
        for (int k = 0; k < N_SETS; k++)
            len += snprintf(list + len, sizeof list - (size_t)len, "%s%s", k ? "," : "", quality_sets[k].name);
    }
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int k = 0;
        while (k < N_SETS && strcmp(tok, quality_sets[k].name))
            k++;
        if (k == N_SETS)
            return fprintf(stderr, "mrigan bench quality: --sets: no set called '%s' (see --help)\n", tok), 2;
        chosen[k] = true;
    }
    char phantom[PATH_MAX / 2];
    snprintf(phantom, sizeof phantom, "%s/data/phantom", MRIGAN_SOURCE_DIR);
    mg_backend *be = NULL;
    if (q.train && app_open_backend("bench quality", q.s.backend, q.s.device, q.s.threads, &be) != MG_OK)
        return fprintf(stderr, "mrigan bench quality: %s\n", mg_last_error()), 1;
    printf("%-15s %-4s %-9s %4s  %6s  %6s  %6s   %6s  %6s  %6s  %7s\n", "set", "dir", "method", "n", "PSNR", "SSIM",
           "MAE", "fgPSNR", "fgSSIM", "fgMAE", "texture");
    int rc = 0;
    for (int k = 0; !rc && k < N_SETS; k++)
        if (chosen[k])
            rc = bench_set(&q, &quality_sets[k], phantom, be);
    mg_backend_free(be);
    if (!rc && q.json) {
        FILE *f = fopen(q.json, "w");
        if (!f)
            return fprintf(stderr, "mrigan bench quality: cannot write %s: %s\n", q.json, strerror(errno)), 1;
        fputs("[", f);
        for (int i = 0; i < q.n_rows; i++)
            json_row(f, &q.rows[i], i == 0);
        fputs("\n]\n", f);
        if (fclose(f) != 0)
            rc = (fprintf(stderr, "mrigan bench quality: error writing %s\n", q.json), 1);
    }
    return rc;
}
