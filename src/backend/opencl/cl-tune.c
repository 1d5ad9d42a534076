/* CLBlast's GEMM parameters per device: chosen by measurement (mg_opencl_tune, `mrigan bench tune`), kept in a
 * small text file per device and driver, and handed to CLBlast (CLBlastOverrideParameters) when the backend opens
 * the device. CLBlast ships parameters for the devices its authors tuned; any other device (PoCL on a CPU, a new
 * integrated GPU) runs its defaults, which on PoCL reach a quarter or less of what the same kernel does with
 * parameters that fit the device.
 *
 * The file: '#' comments, then lines "<kernel> NAME=VALUE ...", e.g. "Xgemm GEMMK=0 KREG=1 KWG=32 ...". */
#include <clblast_c.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "cl-internal.h"

#define TUNE_MAX_PARAMS 16

/* Xgemm's parameters in CLBlast's order, and the values tried: those of CLBlast's own random-sampling tuner for its
 * kernel 0, widened to 4 threads a side and 16-wide vectors, which suit CPUs. */
// clang-format off
enum { P_GEMMK, P_KREG, P_KWG, P_KWI, P_MDIMA, P_MDIMC, P_MWG, P_NDIMB, P_NDIMC, P_NWG, P_SA, P_SB, P_STRM, P_STRN,
       P_VWM, P_VWN };
static const char *const tune_xgemm_names[TUNE_MAX_PARAMS] = {
    "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC", "NWG", "SA", "SB", "STRM", "STRN", "VWM",
    "VWN"};
// clang-format on

/* The constraints of Xgemm's kernel 0 (integer work per thread, whole unrolled loops, the reshaped tiles of A and B
 * fitting KWG), the device's work-group size and its local memory. */
static bool tune_xgemm_valid(const size_t *v, size_t max_wg, uint64_t local_mem)
{
    size_t threads = v[P_MDIMC] * v[P_NDIMC];
    if (threads > max_wg || v[P_MDIMA] > threads || v[P_NDIMB] > threads)
        return false;
    size_t kdima = threads / v[P_MDIMA], kdimb = threads / v[P_NDIMB];
    uint64_t local = 4u * (uint64_t)(v[P_SA] * v[P_KWG] * v[P_MWG] + v[P_SB] * v[P_KWG] * v[P_NWG]);
    return v[P_KWG] % v[P_KWI] == 0 && v[P_MWG] % (v[P_MDIMC] * v[P_VWM]) == 0 &&
           v[P_NWG] % (v[P_NDIMC] * v[P_VWN]) == 0 && v[P_MWG] % (v[P_MDIMA] * v[P_VWM]) == 0 &&
           v[P_NWG] % (v[P_NDIMB] * v[P_VWN]) == 0 && v[P_KWG] % kdima == 0 && v[P_KWG] % kdimb == 0 &&
           local <= local_mem;
}

/* Tried first, before the random draws: one set of each kind that does well somewhere (a GPU's 16 x 16 threads
 * with tiles in local memory, 8 x 8 without, and a CPU's few threads with wide vectors), so that a short search
 * starts from each. */
static const size_t tune_xgemm_first[][TUNE_MAX_PARAMS] = {
    {0, 1, 32, 2, 16, 16, 64, 16, 16, 64, 1, 1, 0, 0, 4, 4},
    {0, 1, 16, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4},
    {0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 1, 1, 0, 0, 8, 8},
    {0, 1, 16, 2, 4, 4, 32, 4, 4, 64, 0, 0, 0, 0, 8, 16},
};
#define TUNE_N_FIRST ((int)(sizeof tune_xgemm_first / sizeof *tune_xgemm_first))

static size_t tune_pick(mg_rng *r, const size_t *choices, uint32_t n) { return choices[mg_rng_below(r, n)]; }

/* The kernels that pad and transpose a GEMM's matrices for Xgemm when it needs them (a transposed operand, sizes off
 * its tiles): on a CPU device they took as long as Xgemm itself. Each parameter's choices; the work-group is the
 * square of the one at `dim`. */
typedef struct tune_small {
    const char *kernel;
    int n, dim;
    const char *names[4];
    size_t choices[4][5];
    uint32_t n_choices[4];
} tune_small;
static const tune_small tune_smalls[] = {
    {"Transpose",
     4,
     0,
     {"TRA_DIM", "TRA_PAD", "TRA_SHUFFLE", "TRA_WPT"},
     {{4, 8, 16, 32}, {0, 1}, {0, 1}, {1, 2, 4, 8, 16}},
     {4, 2, 2, 5}},
    {"Padtranspose",
     3,
     1,
     {"PADTRA_PAD", "PADTRA_TILE", "PADTRA_WPT"},
     {{0, 1}, {8, 16, 32, 64}, {1, 2, 4, 8, 16}},
     {2, 4, 5}},
};
#define TUNE_N_SMALL ((int)(sizeof tune_smalls / sizeof *tune_smalls))

/* What a tuning run chose, for the file. */
typedef struct tune_choice {
    bool xgemm_set, small_set[TUNE_N_SMALL];
    size_t xgemm[TUNE_MAX_PARAMS], small[TUNE_N_SMALL][4];
} tune_choice;

/* A random parameter set that satisfies the constraints (false when none came up in many draws). */
static bool tune_xgemm_draw(mg_rng *r, size_t max_wg, uint64_t local_mem, size_t *v)
{
    static const size_t wg[] = {16, 32, 64, 128}, kwg[] = {16, 32}, dim[] = {4, 8, 16, 32}, vw[] = {1, 2, 4, 8, 16};
    for (int tries = 0; tries < 100000; tries++) {
        v[P_GEMMK] = 0;
        v[P_KREG] = 1;
        v[P_KWI] = 2;
        v[P_MWG] = tune_pick(r, wg, 4);
        v[P_NWG] = tune_pick(r, wg, 4);
        v[P_KWG] = tune_pick(r, kwg, 2);
        v[P_MDIMC] = tune_pick(r, dim, 4);
        v[P_NDIMC] = tune_pick(r, dim, 4);
        v[P_MDIMA] = tune_pick(r, dim, 4);
        v[P_NDIMB] = tune_pick(r, dim, 4);
        v[P_VWM] = tune_pick(r, vw, 5);
        v[P_VWN] = tune_pick(r, vw, 5);
        v[P_STRM] = mg_rng_below(r, 2);
        v[P_STRN] = mg_rng_below(r, 2);
        v[P_SA] = mg_rng_below(r, 2);
        v[P_SB] = mg_rng_below(r, 2);
        if (tune_xgemm_valid(v, max_wg, local_mem))
            return true;
    }
    return false;
}

static mg_status tune_override(cl_device_id d, const char *kernel, size_t n, const char *const *names,
                               const size_t *values)
{
    CLBlastStatusCode st =
        CLBlastOverrideParameters(d, kernel, CLBlastPrecisionSingle, n, (const char **)names, (const size_t *)values);
    return st == CLBlastSuccess
               ? MG_OK
               : mg_error(MG_ERR_BACKEND, "CLBlast refused the parameters of %s (status %d)", kernel, (int)st);
}

/* ------------------------------------------------------------------ the file */

static void tune_sanitise(const char *in, char *out, size_t len)
{
    size_t j = 0;
    for (; *in && j + 1 < len; in++)
        out[j++] = isalnum((unsigned char)*in) || *in == '.' || *in == '-' ? *in : '_';
    out[j] = '\0';
}

static mg_status tune_path_of(const mg_device_info *info, const char *dir, char *buf, size_t len)
{
    char base[3072], name[160], driver[80];
    if (dir && *dir ? !mg_path_fmt(base, sizeof base, "%s", dir) : !cl_cache_dir(base, sizeof base))
        return mg_error(MG_ERR_ARG, "opencl tuning: no folder for the tuning file (--dir too long, or "
                                    "$MRIGAN_CACHE_DIR, $XDG_CACHE_HOME and $HOME unset)");
    tune_sanitise(info->name, name, sizeof name);
    tune_sanitise(info->driver, driver, sizeof driver);
    if (!mg_path_fmt(buf, len, "%s/clblast-%s-%s.txt", base, name, driver))
        return mg_error(MG_ERR_ARG, "opencl tuning: the path of the tuning file in %s is too long", base);
    return MG_OK;
}

mg_status cl_tune_apply(cl_ctx *c, char *path, size_t len)
{
    path[0] = '\0';
    const char *off = getenv("MRIGAN_CL_TUNING");
    if (off && !strcmp(off, "off"))
        return MG_OK;
    mg_status s = tune_path_of(&c->info, NULL, path, len);
    if (s != MG_OK)
        return MG_OK; /* nowhere to look: CLBlast's own parameters */
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) {
            path[0] = '\0';
            return MG_OK;
        }
        return mg_error(MG_ERR_IO, "opencl tuning file %s: %s", path, strerror(errno));
    }
    char line[1024];
    for (int no = 1; s == MG_OK && fgets(line, sizeof line, f); no++) {
        char *save = NULL, *kernel = strtok_r(line, " \t\r\n", &save);
        if (!kernel || kernel[0] == '#')
            continue;
        const char *names[TUNE_MAX_PARAMS];
        size_t values[TUNE_MAX_PARAMS], n = 0;
        for (char *tok; s == MG_OK && (tok = strtok_r(NULL, " \t\r\n", &save));) {
            char *eq = strchr(tok, '='), *end = NULL;
            unsigned long long v = eq && eq[1] != '-' ? strtoull(eq + 1, &end, 10) : 0;
            if (!eq || eq == tok || end == eq + 1 || *end || n == TUNE_MAX_PARAMS)
                s = mg_error(MG_ERR_FORMAT, "line %d: '%s' is not NAME=VALUE (at most %d of them)", no, tok,
                             TUNE_MAX_PARAMS);
            else {
                *eq = '\0';
                names[n] = tok;
                values[n++] = (size_t)v;
            }
        }
        if (s == MG_OK && n == 0)
            s = mg_error(MG_ERR_FORMAT, "line %d: kernel %s without parameters", no, kernel);
        if (s == MG_OK && (s = tune_override(c->device, kernel, n, names, values)) != MG_OK)
            s = mg_error(s, "line %d: %s", no, mg_last_error());
    }
    fclose(f);
    if (s != MG_OK)
        return mg_error(s, "opencl tuning file %s: %s; delete it, or run mrigan bench tune again", path,
                        mg_last_error());
    return MG_OK;
}

typedef struct tune_file {
    const mg_device_info *info;
    const mg_opencl_tune_result *r;
    const tune_choice *ch;
} tune_file;

static mg_status tune_write(FILE *f, void *arg)
{
    const tune_file *t = arg;
    fprintf(f, "# CLBlast parameters chosen by mrigan bench tune for %s / %s (driver %s)\n", t->info->platform,
            t->info->name, t->info->driver);
    fprintf(f, "# the timed GEMMs: %.4f s with CLBlast's own parameters, %.4f s with these\n", t->r->default_s,
            t->r->best_s);
    if (!t->ch->xgemm_set) {
        fputs("# none of the sets tried was faster: CLBlast's own are kept\n", f);
        return MG_OK;
    }
    fputs("Xgemm", f);
    for (int i = 0; i < TUNE_MAX_PARAMS; i++)
        fprintf(f, " %s=%zu", tune_xgemm_names[i], t->ch->xgemm[i]);
    fputc('\n', f);
    if (t->r->min_indirect >= 0)
        fprintf(f, "GemmRoutine XGEMM_MIN_INDIRECT_SIZE=%d\n", t->r->min_indirect);
    for (int k = 0; k < TUNE_N_SMALL; k++) {
        if (!t->ch->small_set[k])
            continue;
        fputs(tune_smalls[k].kernel, f);
        for (int i = 0; i < tune_smalls[k].n; i++)
            fprintf(f, " %s=%zu", tune_smalls[k].names[i], t->ch->small[k][i]);
        fputc('\n', f);
    }
    return MG_OK;
}

/* ------------------------------------------------------------------ measuring */

/* The check's products: odd sizes, every tile cut short. */
enum { CHECK_M = 67, CHECK_N = 131, CHECK_K = 97 };

typedef struct tune_run {
    cl_ctx c;
    cl_mem a, b, y;
    const mg_opencl_tune_opts *o;
    /* The check's operands, and per transposition (none, both) each product's double sum and its rounding bound:
     * made once, for every parameter set to be held to. */
    float check_a[CHECK_M * CHECK_K], check_b[CHECK_K * CHECK_N], check_y[CHECK_M * CHECK_N];
    double want[2][CHECK_M * CHECK_N], bound[2][CHECK_M * CHECK_N];
} tune_run;

/* Through the backend's own call, with its kept temporary buffer. */
static bool tune_gemm(tune_run *t, const mg_gemm_shape *g, cl_mem a, cl_mem b, cl_mem y)
{
    size_t lda = g->ta ? (size_t)g->m : (size_t)g->k, ldb = g->tb ? (size_t)g->k : (size_t)g->n;
    return cl_gemm(&t->c, g->ta, g->tb, (size_t)g->m, (size_t)g->n, (size_t)g->k, 1.0f, a, 0, lda, b, 0, ldb, 0.0f, y,
                   0, (size_t)g->n) == MG_OK;
}

/* The shapes' total seconds, each the faster of two runs after one that may compile; HUGE_VAL when CLBlast fails. */
static double tune_time(tune_run *t)
{
    double total = 0.0;
    for (int i = 0; i < t->o->n_shapes; i++) {
        double best = HUGE_VAL;
        for (int run = 0; run < 3; run++) {
            double t0 = mg_now_s();
            if (!tune_gemm(t, &t->o->shapes[i], t->a, t->b, t->y) || clFinish(t->c.queue))
                return HUGE_VAL;
            if (run > 0)
                best = fmin(best, mg_now_s() - t0);
        }
        total += best;
    }
    return total;
}

/* The check's operands and, for A B and A^T B^T (a read as [K][M], b as [N][K]), each element's double sum and the
 * bound k u sum|a||b| that any order of summing k products in float keeps (u = 2^-24), with a factor 2 to spare. */
static void tune_check_prepare(tune_run *t)
{
    enum { M = CHECK_M, N = CHECK_N, K = CHECK_K };
    const float *a = t->check_a, *b = t->check_b;
    mg_rng r;
    mg_rng_seed(&r, 5, 9);
    for (int i = 0; i < M * K; i++)
        t->check_a[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < K * N; i++)
        t->check_b[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
    for (int tr = 0; tr < 2; tr++)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double sum = 0.0, abs_sum = 0.0;
                for (int k = 0; k < K; k++) {
                    double p = (double)(tr ? a[k * M + i] : a[i * K + k]) * (tr ? b[j * K + k] : b[k * N + j]);
                    sum += p;
                    abs_sum += fabs(p);
                }
                t->want[tr][i * N + j] = sum;
                t->bound[tr][i * N + j] = 2.0 * K * ldexp(1.0, -24) * abs_sum;
            }
}

/* The two products through the parameters in force, each element within its bound. */
static bool tune_check(tune_run *t)
{
    float *y = t->check_y;
    bool ok =
        clEnqueueWriteBuffer(t->c.queue, t->a, CL_TRUE, 0, sizeof t->check_a, t->check_a, 0, NULL, NULL) ==
            CL_SUCCESS &&
        clEnqueueWriteBuffer(t->c.queue, t->b, CL_TRUE, 0, sizeof t->check_b, t->check_b, 0, NULL, NULL) == CL_SUCCESS;
    for (int tr = 0; tr < 2 && ok; tr++) {
        mg_gemm_shape g = {CHECK_M, CHECK_N, CHECK_K, tr == 1, tr == 1};
        ok = tune_gemm(t, &g, t->a, t->b, t->y) &&
             clEnqueueReadBuffer(t->c.queue, t->y, CL_TRUE, 0, sizeof t->check_y, y, 0, NULL, NULL) == CL_SUCCESS;
        for (int e = 0; ok && e < CHECK_M * CHECK_N; e++)
            ok = fabs((double)y[e] - t->want[tr][e]) <= t->bound[tr][e];
    }
    return ok;
}

static mg_status tune_open(tune_run *t)
{
    const mg_opencl_tune_opts *o = t->o;
    int count;
    mg_status s = mg_cl_device_find(o->device, &t->c.platform, &t->c.device, &count);
    if (s != MG_OK)
        return s;
    mg_cl_device_describe(t->c.platform, t->c.device, o->device, &t->c.info);
    size_t na = CHECK_M * CHECK_K, nb = CHECK_K * CHECK_N, ny = CHECK_M * CHECK_N; /* the check's */
    for (int i = 0; i < o->n_shapes; i++) {
        const mg_gemm_shape *g = &o->shapes[i];
        if (g->m < 1 || g->n < 1 || g->k < 1)
            return mg_error(MG_ERR_ARG, "opencl tuning: GEMM shape %d is %dx%dx%d", i, g->m, g->n, g->k);
        size_t m = (size_t)g->m, n = (size_t)g->n, k = (size_t)g->k;
        na = m * k > na ? m * k : na;
        nb = k * n > nb ? k * n : nb;
        ny = m * n > ny ? m * n : ny;
    }
    cl_int err;
    t->c.context = clCreateContext(NULL, 1, &t->c.device, NULL, NULL, &err);
    if (err == CL_SUCCESS)
        t->c.queue = clCreateCommandQueue(t->c.context, t->c.device, 0, &err);
    if (err == CL_SUCCESS)
        t->a = clCreateBuffer(t->c.context, CL_MEM_READ_WRITE, na * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS)
        t->b = clCreateBuffer(t->c.context, CL_MEM_READ_WRITE, nb * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS)
        t->y = clCreateBuffer(t->c.context, CL_MEM_READ_WRITE, ny * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS) { /* values that stay finite through any shape */
        float v = 0.5f;
        for (int i = 0; i < 2 && err == CL_SUCCESS; i++)
            err = clEnqueueFillBuffer(t->c.queue, i ? t->b : t->a, &v, sizeof v, 0, (i ? nb : na) * sizeof v, 0, NULL,
                                      NULL);
    }
    if (err != CL_SUCCESS)
        return mg_error(MG_ERR_BACKEND, "opencl tuning on device %d (%s): %s (%d)", o->device, t->c.info.name,
                        mg_cl_error_name(err), err);
    return MG_OK;
}

static void tune_close(tune_run *t)
{
    cl_mem m[4] = {t->a, t->b, t->y, t->c.gemm_temp};
    for (int i = 0; i < 4; i++)
        if (m[i])
            clReleaseMemObject(m[i]);
    if (t->c.queue)
        clReleaseCommandQueue(t->c.queue);
    if (t->c.context)
        clReleaseContext(t->c.context);
}

/* With the chosen Xgemm: the size below which CLBlast's direct kernel runs instead (m n k under its cube). */
static int tune_min_indirect(tune_run *t, double *best_s)
{
    static const size_t sizes[] = {0, 64, 128, 256, 512};
    static const char *const name[] = {"XGEMM_MIN_INDIRECT_SIZE"};
    int best = -1;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        if (tune_override(t->c.device, "GemmRoutine", 1, name, &sizes[i]) != MG_OK)
            continue;
        double s = tune_time(t);
        if (s < *best_s || best < 0) {
            *best_s = s;
            best = (int)sizes[i];
        }
    }
    return best;
}

/* With Xgemm and the direct kernel's limit chosen: random parameter sets of the pad-and-transpose kernels, draws of
 * each, kept where they beat best_s; the check runs with every size through Xgemm, which uses them. (CLBlast cannot
 * be given its own parameters back: a kernel none of whose sets won keeps the last one tried while the next
 * kernel's are timed, and the file leaves it out.) */
static void tune_small_kernels(tune_run *t, mg_rng *rng, int draws, int min_indirect, tune_choice *ch,
                               mg_opencl_tune_result *r)
{
    static const char *const indirect[] = {"XGEMM_MIN_INDIRECT_SIZE"};
    const size_t zero = 0, chosen = min_indirect < 0 ? 0 : (size_t)min_indirect;
    for (int k = 0; k < TUNE_N_SMALL; k++) {
        const tune_small *sm = &tune_smalls[k];
        size_t v[4];
        for (int d = 0; d < draws; d++) {
            for (int i = 0; i < sm->n; i++)
                v[i] = tune_pick(rng, sm->choices[i], sm->n_choices[i]);
            if (v[sm->dim] * v[sm->dim] > t->c.info.max_work_group)
                continue;
            r->tried++;
            double secs = HUGE_VAL;
            if (tune_override(t->c.device, sm->kernel, (size_t)sm->n, sm->names, v) == MG_OK &&
                tune_override(t->c.device, "GemmRoutine", 1, indirect, &zero) == MG_OK && tune_check(t) &&
                tune_override(t->c.device, "GemmRoutine", 1, indirect, &chosen) == MG_OK)
                secs = tune_time(t);
            if (secs == HUGE_VAL)
                r->failed++;
            else if (secs < r->best_s) {
                r->best_s = secs;
                memcpy(ch->small[k], v, sizeof v);
                ch->small_set[k] = true;
            }
        }
        if (ch->small_set[k]) /* the best, for the next kernel's trials */
            tune_override(t->c.device, sm->kernel, (size_t)sm->n, sm->names, ch->small[k]);
    }
    tune_override(t->c.device, "GemmRoutine", 1, indirect, &chosen);
}

mg_status mg_opencl_tune(const mg_opencl_tune_opts *o, mg_opencl_tune_result *r)
{
    memset(r, 0, sizeof *r);
    r->min_indirect = -1;
    if (!o || !o->shapes || o->n_shapes < 1 || o->candidates < 1)
        return mg_error(MG_ERR_ARG, "opencl tuning: no GEMM shapes or no candidates");
    tune_run *t = calloc(1, sizeof *t); /* the check's sums make it large for a stack */
    if (!t)
        return mg_error(MG_ERR_OOM, "opencl tuning: out of host memory");
    t->o = o;
    mg_status s = tune_open(t);
    if (s == MG_OK)
        s = tune_path_of(&t->c.info, o->dir, r->path, sizeof r->path);
    if (s != MG_OK) {
        tune_close(t);
        free(t);
        return s;
    }
    tune_check_prepare(t);
    r->default_s = tune_time(t);
    r->best_s = HUGE_VAL;
    static const char *const indirect[] = {"XGEMM_MIN_INDIRECT_SIZE"};
    const size_t zero = 0; /* every size through Xgemm while its parameters are compared */
    s = tune_override(t->c.device, "GemmRoutine", 1, indirect, &zero);
    size_t v[TUNE_MAX_PARAMS];
    tune_choice ch = {0};
    uint64_t local_mem = 0;
    clGetDeviceInfo(t->c.device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
    mg_rng rng;
    mg_rng_seed(&rng, o->seed, 17);
    for (int i = 0; s == MG_OK && i < o->candidates; i++) {
        if (i < TUNE_N_FIRST) {
            memcpy(v, tune_xgemm_first[i], sizeof v);
            if (!tune_xgemm_valid(v, t->c.info.max_work_group, local_mem))
                continue;
        } else if (!tune_xgemm_draw(&rng, t->c.info.max_work_group, local_mem, v)) {
            break;
        }
        r->tried++;
        double secs = HUGE_VAL;
        if (tune_override(t->c.device, "Xgemm", TUNE_MAX_PARAMS, tune_xgemm_names, v) == MG_OK && tune_check(t))
            secs = tune_time(t);
        if (secs == HUGE_VAL)
            r->failed++;
        else if (secs < r->best_s) {
            r->best_s = secs;
            memcpy(ch.xgemm, v, sizeof v);
            ch.xgemm_set = true;
        }
        if (o->progress)
            o->progress(i + 1, o->candidates, r->best_s, r->default_s, o->user);
    }
    if (s == MG_OK && ch.xgemm_set &&
        (s = tune_override(t->c.device, "Xgemm", TUNE_MAX_PARAMS, tune_xgemm_names, ch.xgemm)) == MG_OK) {
        r->min_indirect = tune_min_indirect(t, &r->best_s);
        tune_small_kernels(t, &rng, o->candidates / 4 > 2 ? o->candidates / 4 : 2, r->min_indirect, &ch, r);
    }
    if (s == MG_OK && !(ch.xgemm_set && r->best_s < r->default_s)) { /* CLBlast's own stay */
        memset(&ch, 0, sizeof ch);
        r->best_s = r->default_s;
        r->min_indirect = -1;
    }
    tune_file file = {&t->c.info, r, &ch};
    tune_close(t);
    char dir[sizeof r->path];
    snprintf(dir, sizeof dir, "%s", r->path);
    *strrchr(dir, '/') = '\0'; /* tune_path_of put one there */
    if (s == MG_OK && mg_file_make_dirs(dir) != 0)
        s = mg_error(MG_ERR_IO, "opencl tuning: cannot make the folder %s: %s", dir, strerror(errno));
    if (s == MG_OK)
        s = mg_file_write_atomic("opencl tuning file ", r->path, tune_write, &file);
    free(t);
    return s;
}

mg_status mg_opencl_tuning_path(int device, const char *dir, char *buf, size_t len)
{
    cl_platform_id p;
    cl_device_id d;
    int count;
    mg_device_info info;
    mg_status s = mg_cl_device_find(device, &p, &d, &count);
    if (s != MG_OK)
        return s;
    mg_cl_device_describe(p, d, device, &info);
    return tune_path_of(&info, dir, buf, len);
}
