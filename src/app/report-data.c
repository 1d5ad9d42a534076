/* Reading a run folder for the report (report.h): key=value files, CSV tables by column name, the list of sample
 * grids. Nothing here trusts the files: missing files and columns, short rows, text where numbers belong, CR-LF
 * line ends, a byte-order mark and repeated rows (a resumed run) are all tolerated; only running out of memory
 * is an error. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mrigan/cyclegan.h"
#include "report.h"

#define MAX_FIELDS 64

int rp_fail(char *err, size_t len, const char *fmt, ...)
{
    if (err && len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return 1;
}

/* Strips spaces, tabs and line ends from both sides, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

static FILE *open_input(const char *dir, const char *name, bool *present, char *why, size_t why_len)
{
    char path[PATH_MAX];
    struct stat st;
    *present = false;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return snprintf(why, why_len, "path too long"), NULL;
    if (stat(path, &st) != 0)
        return snprintf(why, why_len, "%s", errno == ENOENT ? "" : strerror(errno)), NULL;
    if (!S_ISREG(st.st_mode))
        return snprintf(why, why_len, "not a regular file"), NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        snprintf(why, why_len, "%s", strerror(errno));
    *present = f != NULL;
    return f;
}

/* ------------------------------------------------------------------ key=value */
static int kv_load(const char *dir, const char *name, rp_kv *k)
{
    memset(k, 0, sizeof *k);
    FILE *f = open_input(dir, name, &k->present, k->why, sizeof k->why);
    if (!f)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (!rc && getline(&line, &cap, f) >= 0) {
        char *s = trim(line), *eq = strchr(s, '=');
        if (!*s || *s == '#')
            continue;
        if (!eq || eq == s) {
            k->bad++;
            continue;
        }
        *eq = 0;
        if (k->n == k->cap) {
            int nc = k->cap ? 2 * k->cap : 32;
            char **nk = realloc(k->key, (size_t)nc * sizeof *nk), **nv = nk ? realloc(k->val, nc * sizeof *nv) : NULL;
            if (nk)
                k->key = nk;
            if (nv)
                k->val = nv;
            if (!nk || !nv) {
                rc = -1;
                break;
            }
            k->cap = nc;
        }
        k->key[k->n] = strdup(trim(s));
        k->val[k->n] = strdup(trim(eq + 1));
        if (!k->key[k->n] || !k->val[k->n]) {
            free(k->key[k->n]);
            free(k->val[k->n]);
            rc = -1;
        } else {
            k->n++;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

static void kv_free(rp_kv *k)
{
    for (int i = 0; i < k->n; i++) {
        free(k->key[i]);
        free(k->val[i]);
    }
    free(k->key);
    free(k->val);
}

const char *rp_kv_get(const rp_kv *k, const char *key)
{
    for (int i = k->n - 1; i >= 0; i--)
        if (!strcmp(k->key[i], key))
            return k->val[i];
    return NULL;
}

/* ------------------------------------------------------------------ CSV */
static int split(char *line, char **fields)
{
    int n = 0;
    for (char *p = line;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        if (n < MAX_FIELDS)
            fields[n++] = trim(p);
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static double number(const char *s)
{
    char *end;
    errno = 0;
    double v = *s ? strtod(s, &end) : NAN;
    return *s && !*end && errno != ERANGE ? v : NAN;
}

static int csv_grow(rp_csv *c)
{
    long nc = c->cap ? 2 * c->cap : 256;
    double *v = realloc(c->v, (size_t)nc * c->n_cols * sizeof *v);
    if (!v)
        return -1;
    c->v = v;
    if (c->label) {
        char **l = realloc(c->label, (size_t)nc * sizeof *l);
        if (!l)
            return -1;
        c->label = l;
    }
    c->cap = nc;
    return 0;
}

/* Reads the columns named in want (and the text column label_name, unless NULL) of dir/name. */
static int csv_load(const char *dir, const char *name, const char *const *want, int n_want, const char *label_name,
                    rp_csv *c)
{
    memset(c, 0, sizeof *c);
    c->n_cols = n_want;
    if (label_name && !(c->label = malloc(sizeof *c->label)))
        return -1;
    FILE *f = open_input(dir, name, &c->present, c->why, sizeof c->why);
    if (!f)
        return 0;
    char *line = NULL, *fields[MAX_FIELDS];
    size_t cap = 0;
    int col[MAX_FIELDS], label_col = -1, rc = 0;
    if (getline(&line, &cap, f) < 0) {
        snprintf(c->why, sizeof c->why, "empty");
    } else {
        int nf = split(line + (strncmp(line, "\xEF\xBB\xBF", 3) ? 0 : 3), fields);
        for (int j = 0; j < n_want; j++) {
            col[j] = -1;
            for (int i = 0; i < nf; i++)
                if (!strcmp(fields[i], want[j]))
                    col[j] = i;
        }
        for (int i = 0; label_name && i < nf; i++)
            if (!strcmp(fields[i], label_name))
                label_col = i;
        if (col[0] < 0)
            snprintf(c->why, sizeof c->why, "its header has no \"%s\" column", want[0]);
        while (!rc && col[0] >= 0 && getline(&line, &cap, f) >= 0) {
            if (!*trim(line))
                continue;
            nf = split(line, fields);
            double key = col[0] < nf ? number(fields[col[0]]) : NAN;
            if (!isfinite(key)) {
                c->bad++;
                continue;
            }
            if (c->n == c->cap && csv_grow(c)) {
                rc = -1;
                break;
            }
            for (int j = 0; j < n_want; j++)
                RP_CELL(c, c->n, j) = col[j] >= 0 && col[j] < nf ? number(fields[col[j]]) : NAN;
            if (c->label) {
                c->label[c->n] = label_col >= 0 && label_col < nf ? strdup(fields[label_col]) : NULL;
                if (label_col >= 0 && label_col < nf && !c->label[c->n])
                    rc = -1;
            }
            c->n++;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

static void csv_free(rp_csv *c)
{
    for (long i = 0; c->label && i < c->n; i++)
        free(c->label[i]);
    free(c->label);
    free(c->v);
}

static bool same_label(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* Keeps only the last row of each (first column, label): a resumed run may repeat epochs. */
static void csv_keep_last(rp_csv *c)
{
    long out = 0;
    for (long i = 0; i < c->n; i++) {
        bool later = false;
        for (long j = i + 1; j < c->n && !later; j++)
            later = RP_CELL(c, j, 0) == RP_CELL(c, i, 0) &&
                    same_label(c->label ? c->label[i] : NULL, c->label ? c->label[j] : NULL);
        if (later) {
            if (c->label)
                free(c->label[i]);
            continue;
        }
        memmove(&RP_CELL(c, out, 0), &RP_CELL(c, i, 0), (size_t)c->n_cols * sizeof *c->v);
        if (c->label)
            c->label[out] = c->label[i];
        out++;
    }
    c->n = out;
}

double *rp_csv_column(const rp_csv *c, int j)
{
    double *v = malloc((size_t)(c->n ? c->n : 1) * sizeof *v);
    for (long i = 0; v && i < c->n; i++)
        v[i] = RP_CELL(c, i, j);
    return v;
}

int rp_csv_select(const rp_csv *c, int jx, int jy, const char *label, double **x, double **y)
{
    *x = malloc((size_t)(c->n ? c->n : 1) * sizeof **x);
    *y = malloc((size_t)(c->n ? c->n : 1) * sizeof **y);
    if (!*x || !*y)
        return -1;
    int m = 0;
    for (long i = 0; i < c->n; i++)
        if (!label || (c->label && same_label(c->label[i], label))) {
            (*x)[m] = RP_CELL(c, i, jx);
            (*y)[m++] = RP_CELL(c, i, jy);
        }
    return m;
}

long rp_csv_best_row(const rp_csv *c, int j, int sign, const char *label)
{
    long best = -1;
    for (long i = 0; i < c->n; i++) {
        double v = RP_CELL(c, i, j);
        if (label && !(c->label && same_label(c->label[i], label)))
            continue;
        if (isfinite(v) && (best < 0 || (sign > 0 ? v > RP_CELL(c, best, j) : v < RP_CELL(c, best, j))))
            best = i;
    }
    return best;
}

/* Per-epoch means from the per-iteration rows (consecutive rows of the same epoch), in the epochs.csv layout. */
static int epochs_from_losses(const rp_csv *l, rp_csv *e)
{
    memset(e, 0, sizeof *e);
    e->n_cols = E_COLS;
    e->present = true;
    for (long i = 0; i < l->n;) {
        double ep = RP_CELL(l, i, L_EPOCH), sum[E_COLS] = {0};
        long cnt[E_COLS] = {0}, j = i;
        for (; j < l->n && (RP_CELL(l, j, L_EPOCH) == ep || (isnan(ep) && isnan(RP_CELL(l, j, L_EPOCH)))); j++)
            for (int k = 0; k <= MG_LOSS_COUNT; k++) {
                double v = RP_CELL(l, j, k < MG_LOSS_COUNT ? L_LOSS + k : L_SECONDS);
                if (isfinite(v)) {
                    sum[k] += v;
                    cnt[k]++;
                }
            }
        if (e->n == e->cap && csv_grow(e))
            return -1;
        RP_CELL(e, e->n, E_EPOCH) = ep;
        RP_CELL(e, e->n, E_LR) = RP_CELL(l, i, L_LR);
        RP_CELL(e, e->n, E_SECONDS) = cnt[MG_LOSS_COUNT] ? sum[MG_LOSS_COUNT] : NAN;
        RP_CELL(e, e->n, E_SPI) = cnt[MG_LOSS_COUNT] ? sum[MG_LOSS_COUNT] / cnt[MG_LOSS_COUNT] : NAN;
        for (int k = 0; k < MG_LOSS_COUNT; k++)
            RP_CELL(e, e->n, E_LOSS + k) = cnt[k] ? sum[k] / cnt[k] : NAN;
        e->n++;
        i = j;
    }
    return 0;
}

/* ------------------------------------------------------------------ files */
unsigned char *rp_read_file(const char *path, size_t max, size_t *n, char *why, size_t why_len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "%s", strerror(errno));
        return NULL;
    }
    unsigned char *b = NULL;
    if (fstat(fileno(f), &st) != 0)
        snprintf(why, why_len, "%s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(why, why_len, "not a regular file");
    else if ((size_t)st.st_size > max)
        snprintf(why, why_len, "too large to embed (%lld bytes)", (long long)st.st_size);
    else if (!(b = malloc((size_t)st.st_size + 1)))
        snprintf(why, why_len, "out of memory");
    else if ((*n = fread(b, 1, (size_t)st.st_size, f)) != (size_t)st.st_size || ferror(f)) {
        snprintf(why, why_len, "cannot read the whole file");
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Epochs N with a file named exactly samples/<prefix>NNN.png (as "<prefix>%03d.png" writes it): the sample grids
 * (prefix "epoch_") or the validation grids ("val_epoch_"). */
static int list_samples(const char *dir, const char *prefix, int **out, int *n_out)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/samples", dir) >= (int)sizeof path)
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    const size_t np = strlen(prefix);
    int cap = 0, rc = 0;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        char *end, again[64];
        if (strncmp(e->d_name, prefix, np) || e->d_name[np] < '0' || e->d_name[np] > '9')
            continue;
        long v = strtol(e->d_name + np, &end, 10);
        if (v < 0 || v > 9999999 || strcmp(end, ".png"))
            continue;
        snprintf(again, sizeof again, "%s%03d.png", prefix, (int)v);
        if (strcmp(again, e->d_name))
            continue;
        if (*n_out == cap) {
            int *s = realloc(*out, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *s);
            if (!s) {
                rc = -1;
                break;
            }
            *out = s;
        }
        (*out)[(*n_out)++] = (int)v;
    }
    closedir(d);
    if (*n_out > 1)
        qsort(*out, (size_t)*n_out, sizeof **out, cmp_int);
    return rc;
}

static void run_name(const char *dir, char *name, size_t len)
{
    char abs_path[PATH_MAX];
    const char *src = realpath(dir, abs_path) ? abs_path : dir;
    size_t n = strlen(src);
    while (n > 1 && src[n - 1] == '/')
        n--;
    const char *start = src + n;
    while (start > src && start[-1] != '/')
        start--;
    snprintf(name, len, "%.*s", (int)(src + n - start), start);
}

int rp_run_load(const char *dir, rp_run *r, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    r->dir = dir;
    struct stat st;
    if (stat(dir, &st) != 0)
        return rp_fail(err, err_len, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return rp_fail(err, err_len, "%s: not a folder", dir);
    run_name(dir, r->name, sizeof r->name);
    const char *lw[L_COLS] = {"iteration", "epoch", "lr"}, *ew[E_COLS] = {"epoch", "lr", "seconds", "s_per_iteration"};
    for (int k = 0; k < MG_LOSS_COUNT; k++)
        lw[L_LOSS + k] = ew[E_LOSS + k] = mg_loss_names[k];
    lw[L_SECONDS] = "seconds";
    static const char *const vw[V_COLS] = {"epoch",    "a2b_psnr", "a2b_ssim", "a2b_mae",
                                           "b2a_psnr", "b2a_ssim", "b2a_mae",  "score"};
    int rc = kv_load(dir, "config.txt", &r->config);
    if (!rc)
        rc = kv_load(dir, "best.txt", &r->best);
    if (!rc)
        rc = csv_load(dir, "losses.csv", lw, L_COLS, NULL, &r->losses);
    if (!rc)
        rc = csv_load(dir, "epochs.csv", ew, E_COLS, NULL, &r->epochs);
    if (!rc)
        rc = csv_load(dir, "val.csv", vw, V_COLS, "kind", &r->val);
    if (!rc) {
        csv_keep_last(&r->epochs);
        csv_keep_last(&r->val);
        r->epochs_file_present = r->epochs.present;
        r->epochs_file_bad = r->epochs.bad;
    }
    if (!rc && r->epochs.n == 0 && r->losses.n > 0) {
        csv_free(&r->epochs);
        r->epochs_derived = true;
        rc = epochs_from_losses(&r->losses, &r->epochs);
    }
    if (!rc)
        rc = list_samples(dir, "epoch_", &r->samples, &r->n_samples);
    if (!rc)
        rc = list_samples(dir, "val_epoch_", &r->val_samples, &r->n_val_samples);
    if (!rc) { /* the identity baseline of paired validation: a2b and b2a rows of PSNR, SSIM, MAE */
        static const char *const iw[4] = {"psnr_db", "psnr_db", "ssim", "mae"};
        rc = csv_load(dir, "val-identity.csv", iw, 4, "direction", &r->identity);
    }
    const char *be = rp_kv_get(&r->best, "epoch");
    char *end;
    long v = be ? strtol(be, &end, 10) : 0;
    if (be && !*end && v > 0 && v < INT_MAX)
        r->best_epoch = (int)v;
    long top = rp_csv_best_row(&r->val, V_SCORE, 1, NULL);
    if (!r->best.present && top >= 0 && RP_CELL(&r->val, top, V_EPOCH) > 0 && RP_CELL(&r->val, top, V_EPOCH) < INT_MAX)
        r->best_epoch = (int)RP_CELL(&r->val, top, V_EPOCH);
    if (rc) {
        rp_run_free(r);
        return rp_fail(err, err_len, "%s: out of memory reading the run folder", dir);
    }
    return 0;
}

void rp_run_free(rp_run *r)
{
    kv_free(&r->config);
    kv_free(&r->best);
    csv_free(&r->losses);
    csv_free(&r->epochs);
    csv_free(&r->val);
    csv_free(&r->identity);
    free(r->samples);
    free(r->val_samples);
    memset(r, 0, sizeof *r);
}

double rp_run_adversarial(const rp_run *r)
{
    const rp_csv *e = &r->epochs;
    float(*means)[MG_LOSS_COUNT] = e->n > 0 ? malloc(sizeof *means * (size_t)e->n) : NULL;
    if (!means)
        return NAN;
    for (long i = 0; i < e->n; i++)
        for (int k = 0; k < MG_LOSS_COUNT; k++)
            means[i][k] = (float)RP_CELL(e, i, E_LOSS + k);
    double v = mg_train_score_adversarial((const float(*)[MG_LOSS_COUNT])means, (int)e->n);
    free(means);
    return v;
}
