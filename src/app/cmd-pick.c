/* mrigan pick: of finished training runs that differ in seed only, names the one whose generators fool their
 * discriminators best at the end (mg_train_score_adversarial): the way to choose a seed without pairs. It reads
 * each run folder as the report does (config.txt, epochs.csv), refuses runs that are unfinished or whose model,
 * schedule or cropping differ (mg_setting_compares_runs), notes data folders of different paths, and writes
 * nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "report.h"

#define MAX_RUNS 64

typedef struct pick_run {
    rp_run r;
    double score;
    int epochs_done, epochs_total;
    double val_score; /* the last epoch's validation score; NAN when it has none */
} pick_run;

/* Setting id's value in run r's config.txt; a run made before the setting existed ran with its default. */
static const char *setting_value(const rp_run *r, mg_setting_id id, char *buf, size_t len)
{
    const char *v = rp_kv_get(&r->config, mg_settings[id].key);
    if (v)
        return v;
    mg_train_settings d;
    mg_train_settings_default(&d);
    return mg_setting_format(&d, id, buf, len);
}

static int config_int(const rp_run *r, const char *key, int *out)
{
    const char *v = rp_kv_get(&r->config, key);
    return v && app_parse_int(v, 0, 1000000, out) ? 0 : 1;
}

/* Loads run dir and its score; 1 with a message when it is no finished run. */
static int run_load(const char *dir, pick_run *p)
{
    char err[1024];
    if (rp_run_load(dir, &p->r, err, sizeof err) != 0)
        return fprintf(stderr, "mrigan pick: %s\n", err), 1;
    const rp_run *r = &p->r;
    if (!r->config.present)
        return fprintf(stderr, "mrigan pick: %s: no training run here (config.txt: %s)\n", dir, r->config.why), 1;
    int epochs, decay;
    if (config_int(r, "epochs", &epochs) || config_int(r, "epochs_decay", &decay))
        return fprintf(stderr, "mrigan pick: %s/config.txt: no valid epochs and epochs_decay\n", dir), 1;
    p->epochs_total = epochs + decay;
    p->epochs_done = (int)r->epochs.n;
    for (long i = 0; i < r->epochs.n; i++)
        if (RP_CELL(&r->epochs, i, E_EPOCH) != (double)(i + 1))
            return fprintf(stderr, "mrigan pick: %s/epochs.csv: epoch %ld is missing or out of order\n", dir, i + 1), 1;
    if (p->epochs_done > p->epochs_total)
        return fprintf(stderr, "mrigan pick: %s/config.txt: a schedule of %d epochs, but epochs.csv holds %d\n", dir,
                       p->epochs_total, p->epochs_done),
               1;
    if (p->epochs_done < p->epochs_total)
        return fprintf(stderr,
                       "mrigan pick: %s: %d of %d epochs done; its losses are not final yet (finish it with mrigan "
                       "train --resume %s, or leave it out)\n",
                       dir, p->epochs_done, p->epochs_total, dir),
               1;
    p->score = rp_run_adversarial(r);
    if (!isfinite(p->score))
        return fprintf(stderr,
                       "mrigan pick: %s/epochs.csv: adv_AB or adv_BA of its last epochs is missing or not a "
                       "number\n",
                       dir),
               1;
    p->val_score = NAN;
    for (long i = r->val.n - 1; i >= 0; i--)
        if (RP_CELL(&r->val, i, V_EPOCH) == p->epochs_done) {
            p->val_score = RP_CELL(&r->val, i, V_SCORE);
            break;
        }
    return 0;
}

/* 0 when run p may be compared with run q; 1 naming the first setting they differ in. */
static int runs_compare(const pick_run *p, const pick_run *q, const char *dp, const char *dq)
{
    for (int i = 0; i < MG_SET_COUNT; i++) {
        if (!mg_setting_compares_runs((mg_setting_id)i))
            continue;
        char gp[64], gq[64];
        if (i == MG_SET_NO_DROPOUT && (strcmp(setting_value(&p->r, MG_SET_GENERATOR, gp, sizeof gp), "unet") ||
                                       strcmp(setting_value(&q->r, MG_SET_GENERATOR, gq, sizeof gq), "unet")))
            continue; /* only the unet has dropout; runs made before config.txt said so wrote it as given */
        char bp[64], bq[64];
        const char *vp = setting_value(&p->r, (mg_setting_id)i, bp, sizeof bp),
                   *vq = setting_value(&q->r, (mg_setting_id)i, bq, sizeof bq);
        if (strcmp(vp, vq))
            return fprintf(stderr,
                           "mrigan pick: %s and %s differ in --%s (%s, %s): their adversarial losses do not compare; "
                           "pick among runs that differ in --seed only\n",
                           dp, dq, mg_settings[i].option, vp, vq),
                   1;
    }
    return 0;
}

static void usage(void)
{
    printf("usage: mrigan pick RUN_DIR RUN_DIR...\n"
           "Of finished training runs that differ in --seed only (same data, model and schedule), names the one whose\n"
           "generators fool their discriminators best at the end: the lowest adversarial loss (adv_AB + adv_BA)\n"
           "over the last tenth of the epochs. No pairs are needed. A seed stuck with a wrong contrast mapping (dark\n"
           "CSF in a synthetic T2) leaves its discriminators an easier task and ends higher; on the quality\n"
           "benchmark the lowest picked the best-scoring seed wherever the seeds differed by more than 0.05 SSIM\n"
           "(docs/quality.md). Prints a table; its last line is \"pick: RUN_DIR\". Writes nothing.\n");
}

int cmd_pick(int argc, char **argv)
{
    const char *dirs[MAX_RUNS + 1];
    int n = 0;
    app_parse_result pr = app_parse("pick", argc, argv, NULL, 0, dirs, MAX_RUNS + 1, &n);
    if (pr == APP_PARSE_HELP)
        return usage(), 0;
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (n < 2 || n > MAX_RUNS) {
        fprintf(stderr, "mrigan pick: give two to %d run folders (see mrigan pick --help)\n", MAX_RUNS);
        return 2;
    }
    static pick_run runs[MAX_RUNS];
    int rc = 0, loaded = 0, best = 0;
    for (; !rc && loaded < n; loaded++)
        rc = run_load(dirs[loaded], &runs[loaded]);
    for (int i = 1; !rc && i < n; i++)
        rc = runs_compare(&runs[0], &runs[i], dirs[0], dirs[i]);
    for (int i = 1; !rc && i < n; i++)
        for (int d = MG_SET_A; d <= MG_SET_B; d++) {
            char b0[64], bi[64];
            const char *v0 = setting_value(&runs[0].r, (mg_setting_id)d, b0, sizeof b0),
                       *vi = setting_value(&runs[i].r, (mg_setting_id)d, bi, sizeof bi);
            if (strcmp(v0, vi))
                fprintf(stderr,
                        "mrigan pick: note: %s and %s trained on different --%s folders (%s, %s): pick "
                        "takes them to hold the same slices\n",
                        dirs[0], dirs[i], mg_settings[d].option, v0, vi);
        }
    if (!rc) {
        bool val = false;
        int width = 3;
        for (int i = 0; i < n; i++) {
            if (runs[i].score < runs[best].score)
                best = i;
            val |= !isnan(runs[i].val_score);
            width = strlen(dirs[i]) > (size_t)width ? (int)strlen(dirs[i]) : width;
        }
        printf("%-*s  %10s  %7s  %11s%s\n", width, "run", "seed", "epochs", "adversarial", val ? "  validation" : "");
        for (int i = 0; i < n; i++) {
            char sb[64], ep[32];
            snprintf(ep, sizeof ep, "%d", runs[i].epochs_done);
            printf("%-*s  %10s  %7s  %11.4f", width, dirs[i], setting_value(&runs[i].r, MG_SET_SEED, sb, sizeof sb), ep,
                   runs[i].score);
            if (val && isnan(runs[i].val_score))
                printf("  %10s", "-");
            else if (val)
                printf("  %10.4f", runs[i].val_score);
            printf("%s\n", i == best ? "  <- pick" : "");
        }
        double next = INFINITY;
        for (int i = 0; i < n; i++)
            if (i != best && runs[i].score < next)
                next = runs[i].score;
        if (next - runs[best].score < 0.02 * runs[best].score)
            printf("(the next is within 2 %%: on the quality benchmark, seeds this close scored alike)\n");
        printf("pick: %s\n", dirs[best]);
    }
    for (int i = 0; i < loaded; i++)
        rp_run_free(&runs[i].r);
    return rc;
}
