/* The CPU backend: context, buffers, data movement, workspaces, GEMM and Adam. Op kernels live in
 * cpu-<family>.c. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"

static mg_status cpu_buffer_alloc(void *ctx, size_t bytes, void **handle)
{
    (void)ctx;
    /* 64-byte alignment for vector loads; size rounded up as aligned_alloc requires. */
    *handle = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!*handle)
        return mg_error(MG_ERR_OOM, "cpu: cannot allocate %zu bytes", bytes);
    return MG_OK;
}

static void cpu_buffer_free(void *ctx, void *handle)
{
    (void)ctx;
    free(handle);
}

static mg_status cpu_tensor_write(void *ctx, mg_tensor *t, const float *src)
{
    (void)ctx;
    memcpy(cpu_data(t), src, t->numel * sizeof(float));
    return MG_OK;
}

static mg_status cpu_tensor_read(void *ctx, const mg_tensor *t, float *dst)
{
    (void)ctx;
    memcpy(dst, cpu_data(t), t->numel * sizeof(float));
    return MG_OK;
}

typedef struct fill_args {
    float *y;
    const float *x;
    float v;
} fill_args;

static void fill_chunk(void *p, size_t b, size_t e)
{
    fill_args *a = p;
    for (size_t i = b; i < e; i++)
        a->y[i] = a->v;
}

CPU_VECTOR_CLONES static void accumulate_chunk(void *p, size_t b, size_t e)
{
    fill_args *a = p;
    for (size_t i = b; i < e; i++)
        a->y[i] += a->x[i];
}

static void copy_chunk(void *p, size_t b, size_t e)
{
    fill_args *a = p;
    memcpy(a->y + b, a->x + b, (e - b) * sizeof *a->y);
}

static void lerp_chunk(void *p, size_t b, size_t e)
{
    fill_args *a = p;
    for (size_t i = b; i < e; i++)
        a->y[i] += a->v * (a->x[i] - a->y[i]);
}

static mg_status cpu_tensor_lerp(void *ctx, mg_tensor *dst, const mg_tensor *src, float t)
{
    cpu_ctx *c = ctx;
    fill_args a = {.y = cpu_data(dst), .x = cpu_data(src), .v = t};
    mg_pool_for(c->pool, dst->numel, 1 << 15, lerp_chunk, &a);
    return MG_OK;
}

static mg_status cpu_tensor_copy(void *ctx, mg_tensor *dst, const mg_tensor *src)
{
    cpu_ctx *c = ctx;
    fill_args a = {.y = cpu_data(dst), .x = cpu_data(src)};
    mg_pool_for(c->pool, dst->numel, 1 << 16, copy_chunk, &a);
    return MG_OK;
}

static mg_status cpu_tensor_fill(void *ctx, mg_tensor *t, float value)
{
    cpu_ctx *c = ctx;
    fill_args a = {.y = cpu_data(t), .v = value};
    mg_pool_for(c->pool, t->numel, 1 << 15, fill_chunk, &a);
    return MG_OK;
}

static mg_status cpu_tensor_accumulate(void *ctx, mg_tensor *dst, const mg_tensor *src)
{
    cpu_ctx *c = ctx;
    fill_args a = {.y = cpu_data(dst), .x = cpu_data(src)};
    mg_pool_for(c->pool, dst->numel, 1 << 15, accumulate_chunk, &a);
    return MG_OK;
}

static float *cpu_tensor_host(void *ctx, mg_tensor *t)
{
    (void)ctx;
    return cpu_data(t);
}

typedef struct adam_args {
    float *p, *m, *v;
    const float *g;
    mg_adam_update u;
} adam_args;

/* The same float operations, in the same order, as torch.optim.Adam's single-tensor path. */
CPU_VECTOR_CLONES static void adam_chunk(void *arg, size_t b, size_t e)
{
    adam_args *a = arg;
    const mg_adam_update u = a->u;
    for (size_t i = b; i < e; i++) {
        float g = a->g[i];
        float m = a->m[i] * u.beta1 + g * (1.0f - u.beta1);
        float v = a->v[i] * u.beta2 + (1.0f - u.beta2) * g * g;
        float denom = sqrtf(v) / u.bias_corr2_sqrt + u.eps;
        a->m[i] = m;
        a->v[i] = v;
        a->p[i] += -u.step_size * (m / denom);
    }
}

static mg_status cpu_adam_update(void *ctx, mg_tensor *param, const mg_tensor *grad, mg_tensor *m, mg_tensor *v,
                                 const mg_adam_update *u)
{
    cpu_ctx *c = ctx;
    adam_args a = {cpu_data(param), cpu_data(m), cpu_data(v), cpu_data(grad), *u};
    mg_pool_for(c->pool, param->numel, 1 << 14, adam_chunk, &a);
    return MG_OK;
}

mg_status cpu_workspace(cpu_ctx *c, size_t n, float **out)
{
    if (n > c->work_cap) {
        free(c->work);
        c->work = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        c->work_cap = c->work ? n : 0;
        if (!c->work)
            return mg_error(MG_ERR_OOM, "cpu: cannot allocate a %zu-float workspace", n);
    }
    *out = c->work;
    return MG_OK;
}

typedef struct reduce_args {
    cpu_block_fn fn;
    void *arg;
    size_t n;
    double *partials;
} reduce_args;

static void reduce_chunk(void *p, size_t b, size_t e)
{
    reduce_args *a = p;
    for (size_t blk = b; blk < e; blk++) {
        size_t lo = blk * CPU_BLOCK, hi = lo + CPU_BLOCK < a->n ? lo + CPU_BLOCK : a->n;
        a->partials[blk] = a->fn(a->arg, lo, hi);
    }
}

mg_status cpu_reduce(cpu_ctx *c, size_t n, cpu_block_fn fn, void *arg, double *out)
{
    size_t n_blocks = (n + CPU_BLOCK - 1) / CPU_BLOCK;
    if (n_blocks > c->partials_cap) {
        free(c->partials);
        c->partials = malloc(n_blocks * sizeof *c->partials);
        c->partials_cap = c->partials ? n_blocks : 0;
        if (!c->partials)
            return mg_error(MG_ERR_OOM, "cpu: cannot allocate reduction partials");
    }
    reduce_args a = {fn, arg, n, c->partials};
    mg_pool_for(c->pool, n_blocks, cpu_grain(CPU_BLOCK), reduce_chunk, &a);
    double s = 0.0;
    for (size_t i = 0; i < n_blocks; i++)
        s += c->partials[i];
    *out = s;
    return MG_OK;
}

/* ------------------------------------------------------------------ GEMM */
typedef struct gemm_args {
    bool ta, tb, split_n;
    int m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
} gemm_args;

static void gemm_chunk(void *p, size_t lo, size_t hi)
{
    const gemm_args *g = p;
    enum CBLAS_TRANSPOSE ta = g->ta ? CblasTrans : CblasNoTrans, tb = g->tb ? CblasTrans : CblasNoTrans;
    int len = (int)(hi - lo), off = (int)lo;
    if (g->split_n) { /* columns [lo, hi) of B and C */
        const float *b = g->b + (g->tb ? (size_t)off * g->ldb : (size_t)off);
        cblas_sgemm(CblasRowMajor, ta, tb, g->m, len, g->k, g->alpha, g->a, g->lda, b, g->ldb, g->beta, g->c + off,
                    g->ldc);
    } else { /* rows [lo, hi) of A and C */
        const float *a = g->a + (g->ta ? (size_t)off : (size_t)off * g->lda);
        cblas_sgemm(CblasRowMajor, ta, tb, len, g->n, g->k, g->alpha, a, g->lda, g->b, g->ldb, g->beta,
                    g->c + (size_t)off * g->ldc, g->ldc);
    }
}

void cpu_gemm(cpu_ctx *c, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *cm, int ldc)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
    gemm_args g = {trans_a, trans_b, n >= m, m, n, k, lda, ldb, ldc, alpha, beta, a, b, cm};
    size_t work = (size_t)m * (size_t)n * (size_t)k;
    size_t len = g.split_n ? (size_t)n : (size_t)m;
    /* Slabs of at least 32 rows or columns, and no splitting of small products. */
    size_t grain = work < (1u << 18) ? len : 32;
    mg_pool_for(c->pool, len, grain, gemm_chunk, &g);
}

static const char *cpu_device_name(void *ctx) { return ((cpu_ctx *)ctx)->device; }

/* The machine's physical memory: what host buffers can use at most. */
static size_t cpu_memory_total(void *ctx)
{
    (void)ctx;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

static mg_status cpu_sync(void *ctx)
{
    (void)ctx;
    return MG_OK; /* every kernel has finished when it returns */
}

static size_t cpu_workspace_bytes(void *ctx)
{
    cpu_ctx *c = ctx;
    return c->work_cap * sizeof *c->work + c->partials_cap * sizeof *c->partials;
}

static void cpu_workspace_release(void *ctx)
{
    cpu_ctx *c = ctx;
    free(c->work);
    free(c->partials);
    c->work = NULL;
    c->partials = NULL;
    c->work_cap = c->partials_cap = 0;
}

/* ------------------------------------------------------------------ the backend */
static void cpu_destroy(void *ctx)
{
    cpu_ctx *c = ctx;
    if (!c)
        return;
    mg_pool_free(c->pool);
    cpu_workspace_release(c);
    free(c);
}

/* The op tables come from the X-macro list. */
// clang-format off
static const mg_backend_iface cpu_iface = {
    .name = "cpu",
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .tensor_write = cpu_tensor_write,
    .tensor_read = cpu_tensor_read,
    .tensor_fill = cpu_tensor_fill,
    .tensor_accumulate = cpu_tensor_accumulate,
    .tensor_host = cpu_tensor_host,
    .tensor_copy = cpu_tensor_copy,
    .tensor_lerp = cpu_tensor_lerp,
    .adam_update = cpu_adam_update,
    .device_name = cpu_device_name,
    .sync = cpu_sync,
    .workspace_bytes = cpu_workspace_bytes,
    .memory_total = cpu_memory_total,
    .workspace_release = cpu_workspace_release,
    .destroy = cpu_destroy,
    .fwd = {
#define OP(e, name, n_src) [MG_OP_##e] = cpu_##name##_fwd,
#include "base/ops.def"
#undef OP
    },
    .bwd = {
#define OP(e, name, n_src) [MG_OP_##e] = cpu_##name##_bwd,
#include "base/ops.def"
#undef OP
    },
};
// clang-format on

mg_status mg_backend_cpu_new(int n_threads, mg_backend **out)
{
    *out = NULL;
    if (n_threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = cores > 0 ? (int)cores : 1;
    }
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return mg_error(MG_ERR_OOM, "cpu backend: out of host memory");
    c->n_threads = n_threads;
    snprintf(c->device, sizeof c->device, "CPU (%d thread%s)", n_threads, n_threads == 1 ? "" : "s");
    c->pool = mg_pool_new(n_threads);
    if (!c->pool) {
        free(c);
        return mg_error(MG_ERR_BACKEND, "cpu backend: cannot start %d threads", n_threads);
    }
    return mg_backend_create(&cpu_iface, c, n_threads, out);
}
