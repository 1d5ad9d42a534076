/* The GEMM kernels under the CPU backend. OpenBLAS built with DYNAMIC_ARCH (Debian's) picks a kernel set, a
 * "core", for the processor when it loads; a processor newer than the library is not recognised and gets the
 * generic SSE3 kernels (Prescott), two to four times slower per training iteration on a machine with AVX2 or
 * AVX-512, and nothing says so. OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so mrigan picks the core that fits
 * the processor's instruction set (CPUID flags, not model numbers) and re-executes the program once with it set. A
 * user's own OPENBLAS_CORETYPE is left alone. */
#ifndef MRIGAN_BLAS_H
#define MRIGAN_BLAS_H

#include "mrigan/mrigan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the processor offers, from CPUID, with the register state the operating system enables (XGETBV):
 * AVX needs the OS to save the YMM registers, AVX-512 the ZMM and mask registers. */
typedef struct mg_cpu_isa {
    char vendor[16]; /* "GenuineIntel", "AuthenticAMD"; "" off x86 */
    char brand[64];  /* "Intel(R) Xeon(R) Platinum 8480+", as the processor names itself */
    bool sse3, avx, fma, avx2;
    bool avx512f, avx512dq, avx512cd, avx512bw, avx512vl;
} mg_cpu_isa;

void mg_cpu_detect_isa(mg_cpu_isa *out);
/* The widest vector level the processor can use: 0 SSE only, 1 AVX, 2 AVX2 + FMA, 3 AVX-512 (F, CD, BW, DQ,
 * VL: what OpenBLAS's SkylakeX kernels assume). */
int mg_cpu_isa_level(const mg_cpu_isa *isa);
/* "AVX-512, AVX2, FMA, AVX" or "SSE3": the instruction sets that matter for GEMM kernels. */
void mg_cpu_describe_isa(const mg_cpu_isa *isa, char *buf, size_t len);

/* The vector level an OpenBLAS core's kernels use (same scale as mg_cpu_isa_level); 0 for the generic cores
 * (Prescott, Nehalem, Core2, Barcelona, ...) and for names it does not know. */
int mg_blas_core_level(const char *core);
/* The OpenBLAS core for a processor: SkylakeX (AVX-512), Haswell or Zen (AVX2 + FMA, by vendor), Sandybridge
 * (AVX); NULL when the generic kernels are all it can run. */
const char *mg_blas_core_for(const mg_cpu_isa *isa);

/* Everything the choice depends on, so that it can be decided (and tested) without the live process. */
typedef struct mg_blas_facts {
    const char *core;         /* the core OpenBLAS runs (openblas_get_corename()) */
    bool dynamic_arch;        /* OpenBLAS chooses at load time, so OPENBLAS_CORETYPE can change it */
    mg_cpu_isa isa;           /* the processor */
    const char *env_coretype; /* OPENBLAS_CORETYPE, NULL when unset */
    const char *env_fallback; /* MRIGAN_OPENBLAS_FALLBACK (set by the re-execution: the core OpenBLAS had
                                 picked itself), NULL when unset */
} mg_blas_facts;

typedef enum mg_blas_verdict {
    MG_BLAS_FITS,     /* OpenBLAS's own choice: vector kernels (not necessarily the widest), or the generic ones
                         on a processor without AVX */
    MG_BLAS_RESELECT, /* generic kernels on a processor with AVX or better: re-execute with plan.core */
    MG_BLAS_SELECTED, /* mrigan re-executed with OPENBLAS_CORETYPE set and OpenBLAS runs vector kernels (the
                         ones asked for, or what a build without them maps them to) */
    MG_BLAS_USER,     /* the user's OPENBLAS_CORETYPE decides */
    MG_BLAS_STUCK,    /* generic kernels on a capable processor and no way to change them */
} mg_blas_verdict;

/* "openblas", "fallback", "mrigan", "user", "stuck": the verdict in one word, for machine-readable output. */
const char *mg_blas_verdict_name(mg_blas_verdict v);

typedef struct mg_blas_plan {
    mg_blas_verdict verdict;
    char core[32]; /* RESELECT: the core to select; otherwise the core that runs */
    char why[320]; /* one sentence for people */
} mg_blas_plan;

/* The decision, from the facts alone. */
void mg_blas_decide(const mg_blas_facts *f, mg_blas_plan *out);
/* The facts of this process (the strings point into OpenBLAS and the environment). */
void mg_blas_read_facts(mg_blas_facts *out);
/* "OpenBLAS 0.3.21, SkylakeX kernels: <why>" for this process. */
void mg_blas_describe(char *buf, size_t len);

#define MG_BLAS_ENV_FALLBACK "MRIGAN_OPENBLAS_FALLBACK"

/* For main(), before anything else (it replaces the process): when this process runs generic kernels on a
 * capable processor, sets OPENBLAS_CORETYPE (which, once set, keeps it from happening again) and
 * MG_BLAS_ENV_FALLBACK (the core OpenBLAS had picked, for the explanation) and re-executes /proc/self/exe with
 * argv. Returns only when it does not: MG_OK when nothing had to change; MG_ERR_UNSUPPORTED, with the reason in
 * mg_last_error(), when the slow kernels stay (a verdict of MG_BLAS_STUCK, or a process that cannot re-execute
 * itself: started through ld.so, or under valgrind). */
mg_status mg_blas_select_kernels(char **argv);

#ifdef __cplusplus
}
#endif
#endif
