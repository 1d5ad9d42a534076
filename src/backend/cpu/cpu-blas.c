/* Which OpenBLAS kernels the CPU backend's GEMMs run, whether they fit the processor, and the one-time
 * re-execution that fixes a generic fallback (see include/mrigan/blas.h for why). */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/base.h"
#include "mrigan/blas.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XCR0: which register states the operating system saves on a context switch. */
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void read_brand(mg_cpu_isa *o)
{
    unsigned r[12];
    if (__get_cpuid_max(0x80000000u, NULL) < 0x80000004u)
        return;
    for (unsigned i = 0; i < 3; i++)
        __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = 0;
    const char *p = s;
    while (*p == ' ')
        p++;
    snprintf(o->brand, sizeof o->brand, "%s", p);
    for (size_t n = strlen(o->brand); n > 0 && o->brand[n - 1] == ' '; n--)
        o->brand[n - 1] = 0;
}

void mg_cpu_detect_isa(mg_cpu_isa *o)
{
    memset(o, 0, sizeof *o);
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return;
    unsigned max_leaf = a;
    memcpy(o->vendor, &b, 4);
    memcpy(o->vendor + 4, &d, 4);
    memcpy(o->vendor + 8, &c, 4);
    read_brand(o);
    if (max_leaf < 1)
        return;
    __get_cpuid(1, &a, &b, &c, &d);
    bool osxsave = c >> 27 & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0; /* SSE+AVX state; opmask, ZMM */
    o->sse3 = c & 1;
    o->fma = ymm && (c >> 12 & 1);
    o->avx = ymm && (c >> 28 & 1);
    if (max_leaf < 7)
        return;
    __cpuid_count(7, 0, a, b, c, d);
    o->avx2 = ymm && (b >> 5 & 1);
    o->avx512f = zmm && (b >> 16 & 1);
    o->avx512dq = zmm && (b >> 17 & 1);
    o->avx512cd = zmm && (b >> 28 & 1);
    o->avx512bw = zmm && (b >> 30 & 1);
    o->avx512vl = zmm && (b >> 31 & 1);
}
#else
void mg_cpu_detect_isa(mg_cpu_isa *o) { memset(o, 0, sizeof *o); } /* no x86 kernels to choose between */
#endif

int mg_cpu_isa_level(const mg_cpu_isa *isa)
{
    if (!isa->avx)
        return 0;
    if (!isa->avx2 || !isa->fma)
        return 1;
    bool avx512 = isa->avx512f && isa->avx512cd && isa->avx512bw && isa->avx512dq && isa->avx512vl;
    return avx512 ? 3 : 2;
}

void mg_cpu_describe_isa(const mg_cpu_isa *isa, char *buf, size_t len)
{
    int level = mg_cpu_isa_level(isa);
    snprintf(buf, len, "%s%s%s%s",
             level == 3     ? "AVX-512, "
             : isa->avx512f ? "AVX-512F (partial), "
                            : "",
             isa->avx2 ? "AVX2, " : "", isa->fma ? "FMA, " : "",
             isa->avx    ? "AVX"
             : isa->sse3 ? "SSE3"
                         : "SSE2");
}

/* OpenBLAS's x86-64 cores above the generic ones, with the vector level their kernels use. */
static const struct {
    const char *name;
    int level;
} core_levels[] = {
    {"SkylakeX", 3},  {"Cooperlake", 3},  {"SapphireRapids", 3}, {"Haswell", 2},    {"Zen", 2},
    {"Excavator", 2}, {"Sandybridge", 1}, {"Bulldozer", 1},      {"Piledriver", 1}, {"Steamroller", 1},
};

int mg_blas_core_level(const char *core)
{
    for (size_t i = 0; core && i < sizeof core_levels / sizeof *core_levels; i++)
        if (!strcasecmp(core, core_levels[i].name))
            return core_levels[i].level;
    return 0;
}

const char *mg_blas_core_for(const mg_cpu_isa *isa)
{
    switch (mg_cpu_isa_level(isa)) {
    case 3: return "SkylakeX";
    case 2: return strcmp(isa->vendor, "AuthenticAMD") ? "Haswell" : "Zen";
    case 1: return "Sandybridge";
    default: return NULL;
    }
}

const char *mg_blas_verdict_name(mg_blas_verdict v)
{
    static const char *const names[] = {
        [MG_BLAS_FITS] = "openblas", [MG_BLAS_RESELECT] = "fallback", [MG_BLAS_SELECTED] = "mrigan",
        [MG_BLAS_USER] = "user",     [MG_BLAS_STUCK] = "stuck",
    };
    return (unsigned)v < sizeof names / sizeof *names ? names[v] : "?";
}

void mg_blas_decide(const mg_blas_facts *f, mg_blas_plan *out)
{
    char isa[96];
    mg_cpu_describe_isa(&f->isa, isa, sizeof isa);
    const char *core = f->core && f->core[0] ? f->core : "unknown";
    const char *best = mg_blas_core_for(&f->isa);
    int have = mg_blas_core_level(core), can = mg_cpu_isa_level(&f->isa);
    bool generic_on_capable = have == 0 && best; /* generic kernels where vector ones would run */
    bool env_set = f->env_coretype && f->env_coretype[0];
    snprintf(out->core, sizeof out->core, "%s", core);
    if (!f->dynamic_arch) { /* one core compiled in: OPENBLAS_CORETYPE changes nothing */
        out->verdict = generic_on_capable ? MG_BLAS_STUCK : MG_BLAS_FITS;
        snprintf(out->why, sizeof out->why, "this OpenBLAS is built for the %s kernels only%s%s%s", core,
                 generic_on_capable ? ", generic ones, on a processor with " : "", generic_on_capable ? isa : "",
                 generic_on_capable ? ": GEMMs are several times slower than they could be; a DYNAMIC_ARCH build "
                                      "(Debian's libopenblas0-pthread) lets mrigan choose"
                                    : "");
    } else if (env_set && f->env_fallback && best && !strcasecmp(f->env_coretype, best)) { /* mrigan's own */
        out->verdict = have > 0 ? MG_BLAS_SELECTED : MG_BLAS_STUCK;
        if (have > 0)
            snprintf(out->why, sizeof out->why,
                     "selected by mrigan (OPENBLAS_CORETYPE=%s): OpenBLAS had picked its generic %s kernels for "
                     "this processor, which has %s",
                     best, f->env_fallback, isa);
        else
            snprintf(out->why, sizeof out->why,
                     "mrigan set OPENBLAS_CORETYPE=%s, but this OpenBLAS does not know that core and runs generic "
                     "kernels on a processor with %s: GEMMs are several times slower than they could be",
                     best, isa);
    } else if (env_set) {
        out->verdict = MG_BLAS_USER;
        snprintf(out->why, sizeof out->why, "set by OPENBLAS_CORETYPE=%s%s%s%s", f->env_coretype,
                 have < can ? " (the processor has " : "", have < can ? isa : "", have < can ? ")" : "");
    } else if (!generic_on_capable) {
        out->verdict = MG_BLAS_FITS;
        snprintf(out->why, sizeof out->why, "OpenBLAS's own choice for a processor with %s", isa);
    } else {
        out->verdict = MG_BLAS_RESELECT;
        snprintf(out->core, sizeof out->core, "%s", best);
        snprintf(out->why, sizeof out->why,
                 "OpenBLAS picked its generic %s kernels for this processor, which has %s; %s kernels fit it", core,
                 isa, best);
    }
}

void mg_blas_read_facts(mg_blas_facts *out)
{
    memset(out, 0, sizeof *out);
    out->core = openblas_get_corename();
    const char *config = openblas_get_config();
    out->dynamic_arch = config && strstr(config, "DYNAMIC_ARCH");
    mg_cpu_detect_isa(&out->isa);
    out->env_coretype = getenv("OPENBLAS_CORETYPE");
    out->env_fallback = getenv(MG_BLAS_ENV_FALLBACK);
}

void mg_blas_describe(char *buf, size_t len)
{
    mg_blas_facts f;
    mg_blas_plan p;
    mg_blas_read_facts(&f);
    mg_blas_decide(&f, &p);
    const char *config = openblas_get_config(), *version = config ? strstr(config, "OpenBLAS ") : NULL;
    int vlen = version ? (int)strcspn(version + 9, " ") + 9 : 8;
    snprintf(buf, len, "%.*s, %s kernels: %s", vlen, version ? version : "OpenBLAS", f.core ? f.core : "unknown",
             p.why);
}

mg_status mg_blas_select_kernels(char **argv)
{
    mg_blas_facts f;
    mg_blas_plan p;
    mg_blas_read_facts(&f);
    mg_blas_decide(&f, &p);
    if (p.verdict == MG_BLAS_STUCK)
        return mg_error(MG_ERR_UNSUPPORTED, "GEMM kernels: %s", p.why);
    if (p.verdict != MG_BLAS_RESELECT)
        return MG_OK;
    /* /proc/self/exe is the dynamic loader when the program was started through it (ld.so ./mrigan), and
     * valgrind does not follow an exec by default: re-executing would lose them. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe, *preload = getenv("LD_PRELOAD");
    if (n <= 0 || !strncmp(base, "ld-", 3) || !strncmp(base, "ld.so", 5) || (preload && strstr(preload, "vgpreload")))
        return mg_error(MG_ERR_UNSUPPORTED,
                        "GEMM kernels: %s, but this process cannot re-execute itself; set "
                        "OPENBLAS_CORETYPE=%s",
                        p.why, p.core);
    char picked[32];
    snprintf(picked, sizeof picked, "%s", f.core ? f.core : "unknown");
    if (setenv(MG_BLAS_ENV_FALLBACK, picked, 1) != 0 || setenv("OPENBLAS_CORETYPE", p.core, 1) != 0)
        return mg_error(MG_ERR_UNSUPPORTED, "GEMM kernels: %s, but the environment cannot be set", p.why);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    int err = errno; /* still here: keep the generic kernels, and take back what was set for the new image */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(MG_BLAS_ENV_FALLBACK);
    return mg_error(MG_ERR_UNSUPPORTED, "GEMM kernels: %s, but re-executing /proc/self/exe failed: %s", p.why,
                    strerror(err));
}
