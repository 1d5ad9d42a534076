/* Internals of the CPU backend shared by its op families. */
#ifndef MRIGAN_CPU_H
#define MRIGAN_CPU_H

#include <stdbool.h>

#include "backend/backend.h"
#include "pool.h"

typedef struct cpu_ctx {
    mg_pool *pool;
    int n_threads;
    float *work; /* im2col / col2im workspace, grown on demand and reused */
    size_t work_cap;
    double *partials; /* per-block partial sums of reductions */
    size_t partials_cap;
    char device[64];
} cpu_ctx;

static inline float *cpu_data(const mg_tensor *t) { return (float *)t->buf->handle + t->offset; }

/* Forward and backward kernels of every op, one pair per line of ops.def. */
#define OP(e, name, n_src)                                                                                             \
    mg_status cpu_##name##_fwd(void *ctx, mg_node *node);                                                              \
    mg_status cpu_##name##_bwd(void *ctx, mg_node *node);
#include "base/ops.def"
#undef OP

/* A loop-heavy kernel compiled also for AVX2 and AVX-512, the copy the processor can run chosen when the program
 * loads (GCC's and clang's function multiversioning), where the build otherwise targets baseline x86-64's SSE2. The
 * copies compute the same operations on each element, only more lanes at once, so results do not change. */
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) &&                          \
    !defined(CPU_NO_VECTOR_CLONES) /* -Dc_args=-DCPU_NO_VECTOR_CLONES: baseline only, to compare */
#define CPU_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_VECTOR_CLONES
#endif

/* Items per parallel chunk for loops whose items cost about `work` elements each: chunks of at least
 * 16K elements, so small tensors do not pay for waking threads. */
static inline size_t cpu_grain(size_t work) { return work >= 16384 ? 1 : 16384 / (work ? work : 1); }

/* Sums in CPU_LANES interleaved double partial sums (independent chains the compiler vectorises, where one running
 * sum waits on every addition), added pairwise by cpu_lanes_total: the same order on every thread count. */
#define CPU_LANES 8
static inline double cpu_lanes_total(const double *part)
{
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* Workspace of at least n floats (contents undefined). */
mg_status cpu_workspace(cpu_ctx *c, size_t n, float **out);
/* Deterministic sum of fn's per-block partials: blocks of CPU_BLOCK items, summed in order, so the
 * result does not depend on the thread count. */
#define CPU_BLOCK 4096
typedef double (*cpu_block_fn)(void *arg, size_t begin, size_t end);
mg_status cpu_reduce(cpu_ctx *c, size_t n, cpu_block_fn fn, void *arg, double *out);

/* The mean squared error of x against t (n elements) into *out, and g * its gradient added into dx. */
mg_status cpu_mse_value(void *ctx, const float *x, const float *t, size_t n, float *out);
void cpu_mse_grad(void *ctx, const float *x, const float *t, size_t n, float g, float *dx);

/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major, split over the pool's threads
 * with single-threaded OpenBLAS calls (so OpenBLAS's own threads never compete with the pool). */
void cpu_gemm(cpu_ctx *c, bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *cm, int ldc);

/* 3x3 stride-1 convolutions by Winograd's F(4x4, 3x3) (cpu-winograd.c): whether a layer takes that road, its forward
 * (y stored, no bias) and backward (gradients added into dx and dw, either may be NULL). */
bool cpu_winograd_fits(int c_in, int c_out, int kh, int kw, int sh, int sw, int ph, int pw);
mg_status cpu_winograd_fwd(cpu_ctx *c, const mg_tensor *x, const mg_tensor *w, int pad, mg_tensor *y);
mg_status cpu_winograd_bwd(cpu_ctx *c, const mg_tensor *x, const mg_tensor *w, const mg_tensor *dy, int pad,
                           mg_tensor *dx, mg_tensor *dw);

#endif
