/* The CPU backend's GEMM kernels: instruction-set detection against the kernel's own view (/proc/cpuinfo), the
 * choice of OpenBLAS core for every kind of processor and environment, and, end to end, the mrigan program on a
 * faked fallback: a preloaded stand-in (tests/fake-openblas-core.c) makes OpenBLAS report its generic Prescott
 * kernels until OPENBLAS_CORETYPE is set, as Debian 12's OpenBLAS does on processors newer than itself.
 * Usage: test-blas [PATH/TO/mrigan PATH/TO/fake-openblas-core.so] (the end-to-end part needs both). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mrigan/blas.h"

#include "check.h"

/* ------------------------------------------------------------------ detection */
/* Whether /proc/cpuinfo's first "flags" line lists flag; -1 when there is no such file or line. */
static int cpuinfo_has(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    static char line[8192];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        found = 0;
        char *colon = strchr(line, ':');
        for (char *tok = colon ? strtok(colon + 1, " \n") : NULL; tok; tok = strtok(NULL, " \n"))
            if (!strcmp(tok, flag))
                found = 1;
    }
    fclose(f);
    return found;
}

static void test_detection(void)
{
    int before = failures;
    mg_cpu_isa isa;
    mg_cpu_detect_isa(&isa);
#if defined(__x86_64__) || defined(__i386__)
    CHECK(strlen(isa.vendor) == 12, "CPUID vendor \"%s\" is not 12 characters", isa.vendor);
    const struct {
        const char *flag;
        bool have;
    } flags[] = {{"pni", isa.sse3},          {"avx", isa.avx},           {"fma", isa.fma},
                 {"avx2", isa.avx2},         {"avx512f", isa.avx512f},   {"avx512dq", isa.avx512dq},
                 {"avx512cd", isa.avx512cd}, {"avx512bw", isa.avx512bw}, {"avx512vl", isa.avx512vl}};
    int compared = 0;
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
        int k = cpuinfo_has(flags[i].flag);
        if (k < 0)
            break;
        compared++;
        CHECK(k == flags[i].have, "CPUID says %s %s, /proc/cpuinfo says %s", flags[i].flag,
              flags[i].have ? "yes" : "no", k ? "yes" : "no");
    }
    char sets[96];
    mg_cpu_describe_isa(&isa, sets, sizeof sets);
    printf("%-4s CPUID: %s, %s (%s); %d flags agree with /proc/cpuinfo\n", failures == before ? "ok" : "FAIL",
           isa.vendor, isa.brand, sets, compared);
#else
    CHECK(mg_cpu_isa_level(&isa) == 0, "off x86 there are no x86 vector levels");
    report(before, "not x86: no instruction sets to choose kernels for");
#endif
}

/* ------------------------------------------------------------------ the choice */
static mg_cpu_isa isa_of(int level, const char *vendor)
{
    mg_cpu_isa i = {.sse3 = true};
    snprintf(i.vendor, sizeof i.vendor, "%s", vendor);
    i.avx = level >= 1;
    i.avx2 = i.fma = level >= 2;
    i.avx512f = i.avx512dq = i.avx512cd = i.avx512bw = i.avx512vl = level >= 3;
    return i;
}

static void test_levels(void)
{
    int before = failures;
    CHECK(mg_cpu_isa_level(&(mg_cpu_isa){0}) == 0, "no flags at all: level %d", mg_cpu_isa_level(&(mg_cpu_isa){0}));
    for (int l = 0; l <= 3; l++) {
        mg_cpu_isa isa = isa_of(l, "GenuineIntel");
        CHECK(mg_cpu_isa_level(&isa) == l, "level %d comes out as %d", l, mg_cpu_isa_level(&isa));
    }
    mg_cpu_isa partial = isa_of(3, "GenuineIntel");
    partial.avx512bw = false; /* Knights Landing: AVX-512F without BW: SkylakeX kernels assume BW */
    CHECK(mg_cpu_isa_level(&partial) == 2, "AVX-512F without BW is level %d", mg_cpu_isa_level(&partial));
    mg_cpu_isa no_fma = isa_of(2, "GenuineIntel");
    no_fma.fma = false;
    CHECK(mg_cpu_isa_level(&no_fma) == 1, "AVX2 without FMA is level %d", mg_cpu_isa_level(&no_fma));

    const struct {
        const char *core;
        int level;
    } cores[] = {{"Prescott", 0}, {"Nehalem", 0},     {"Core2", 0},      {"Barcelona", 0},     {"Unknown", 0},
                 {NULL, 0},       {"Sandybridge", 1}, {"Piledriver", 1}, {"Haswell", 2},       {"Zen", 2},
                 {"SKYLAKEX", 3}, {"skylakex", 3},    {"Cooperlake", 3}, {"SapphireRapids", 3}};
    for (size_t i = 0; i < sizeof cores / sizeof *cores; i++)
        CHECK(mg_blas_core_level(cores[i].core) == cores[i].level, "core %s: level %d, want %d",
              cores[i].core ? cores[i].core : "(null)", mg_blas_core_level(cores[i].core), cores[i].level);

    const struct {
        int level;
        const char *vendor, *core;
    } fits[] = {{0, "GenuineIntel", NULL},     {1, "GenuineIntel", "Sandybridge"}, {2, "GenuineIntel", "Haswell"},
                {2, "AuthenticAMD", "Zen"},    {3, "GenuineIntel", "SkylakeX"},    {3, "AuthenticAMD", "SkylakeX"},
                {2, "HygonGenuine", "Haswell"}};
    for (size_t i = 0; i < sizeof fits / sizeof *fits; i++) {
        mg_cpu_isa isa = isa_of(fits[i].level, fits[i].vendor);
        const char *got = mg_blas_core_for(&isa);
        CHECK(got == fits[i].core || (got && fits[i].core && !strcmp(got, fits[i].core)), "%s level %d: %s, want %s",
              fits[i].vendor, fits[i].level, got ? got : "none", fits[i].core ? fits[i].core : "none");
    }
    report(before, "vector levels of processors and OpenBLAS cores; the core that fits each processor");
}

typedef struct decide_row {
    const char *what;
    const char *core;
    bool dynamic_arch;
    int level;
    const char *env_coretype, *env_fallback;
    mg_blas_verdict want;
    const char *want_core;
    const char *why_has; /* a phrase the explanation must contain */
} decide_row;

static void test_decide(void)
{
    int before = failures;
    static const decide_row rows[] = {
        {"fallback on AVX-512", "Prescott", true, 3, NULL, NULL, MG_BLAS_RESELECT, "SkylakeX", "generic Prescott"},
        {"fallback on AVX2", "Prescott", true, 2, NULL, NULL, MG_BLAS_RESELECT, "Haswell", "AVX2"},
        {"fallback to Nehalem on AVX", "Nehalem", true, 1, NULL, NULL, MG_BLAS_RESELECT, "Sandybridge", "AVX"},
        {"generic kernels, old processor", "Prescott", true, 0, NULL, NULL, MG_BLAS_FITS, "Prescott", "own choice"},
        {"recognised", "SkylakeX", true, 3, NULL, NULL, MG_BLAS_FITS, "SkylakeX", "own choice"},
        {"AVX2 kernels on AVX-512", "Haswell", true, 3, NULL, NULL, MG_BLAS_FITS, "Haswell", "own choice"},
        {"after mrigan's re-execution", "SkylakeX", true, 3, "SkylakeX", "Prescott", MG_BLAS_SELECTED, "SkylakeX",
         "had picked its generic Prescott"},
        {"re-execution did not take", "Prescott", true, 3, "SkylakeX", "Prescott", MG_BLAS_STUCK, "Prescott",
         "does not know"},
        {"the user's choice", "Prescott", true, 3, "Prescott", NULL, MG_BLAS_USER, "Prescott",
         "OPENBLAS_CORETYPE=Prescott (the processor has AVX-512"},
        {"the user's choice over a marker", "Haswell", true, 3, "Haswell", "Prescott", MG_BLAS_USER, "Haswell",
         "OPENBLAS_CORETYPE=Haswell"},
        {"the user's choice, fitting", "SkylakeX", true, 3, "SkylakeX", NULL, MG_BLAS_USER, "SkylakeX",
         "OPENBLAS_CORETYPE=SkylakeX"},
        {"built for one core", "Prescott", false, 3, NULL, NULL, MG_BLAS_STUCK, "Prescott", "DYNAMIC_ARCH"},
        {"built for one core, OPENBLAS_CORETYPE ignored", "Prescott", false, 3, "SkylakeX", NULL, MG_BLAS_STUCK,
         "Prescott", "built for the Prescott kernels only"},
        {"built for a fitting core", "Haswell", false, 2, NULL, NULL, MG_BLAS_FITS, "Haswell",
         "built for the Haswell kernels only"},
        {"asked for SkylakeX, got AVX2 kernels", "Haswell", true, 3, "SkylakeX", "Prescott", MG_BLAS_SELECTED,
         "Haswell", "selected by mrigan (OPENBLAS_CORETYPE=SkylakeX)"},
        {"empty OPENBLAS_CORETYPE", "Prescott", true, 2, "", NULL, MG_BLAS_RESELECT, "Haswell", "generic"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const decide_row *r = &rows[i];
        mg_blas_facts f = {.core = r->core,
                           .dynamic_arch = r->dynamic_arch,
                           .isa = isa_of(r->level, "GenuineIntel"),
                           .env_coretype = r->env_coretype,
                           .env_fallback = r->env_fallback};
        mg_blas_plan p;
        mg_blas_decide(&f, &p);
        CHECK(p.verdict == r->want && !strcmp(p.core, r->want_core) && strstr(p.why, r->why_has),
              "%s: verdict %d core %s (\"%s\"); want %d, %s, \"...%s...\"", r->what, p.verdict, p.core, p.why, r->want,
              r->want_core, r->why_has);
    }
    report(before, "the decision: fallbacks re-selected, recognised cores and the user's OPENBLAS_CORETYPE kept, "
                   "a failed selection and a single-core build reported");
}

/* This process called mg_blas_select_kernels() first, as mrigan does: no fallback is left to fix. */
static void test_live(void)
{
    int before = failures;
    mg_blas_facts f;
    mg_blas_plan p;
    mg_blas_read_facts(&f);
    mg_blas_decide(&f, &p);
    CHECK(f.core && f.core[0], "OpenBLAS names no core");
    CHECK(p.verdict != MG_BLAS_RESELECT, "after mg_blas_select_kernels(): still %s", p.why);
    char line[512];
    mg_blas_describe(line, sizeof line);
    CHECK(strstr(line, "OpenBLAS") && f.core && strstr(line, f.core), "describe: %s", line);
    printf("%-4s this process: %s\n", failures == before ? "ok" : "FAIL", line);
}

/* ------------------------------------------------------------------ end to end */
/* Runs argv with LD_PRELOAD=shim and OPENBLAS_CORETYPE as given (NULL: unset); stdout into out. */
static int run_with_shim(char *const *argv, const char *shim, const char *coretype, char *out, size_t len)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        setenv("LD_PRELOAD", shim, 1);
        /* ASan wants its runtime first among the loaded libraries, and a preloaded one comes before it. */
        const char *asan = getenv("ASAN_OPTIONS");
        char opts[512];
        snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0", asan ? asan : "", asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
        unsetenv(MG_BLAS_ENV_FALLBACK);
        if (coretype)
            setenv("OPENBLAS_CORETYPE", coretype, 1);
        else
            unsetenv("OPENBLAS_CORETYPE");
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t k;
    while (pid > 0 && (k = read(fd[0], out + n, len - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = 0;
    close(fd[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_program(const char *mrigan, const char *shim)
{
    int before = failures;
    mg_blas_facts facts;
    mg_blas_read_facts(&facts);
#if !defined(__x86_64__) && !defined(__i386__)
    printf("skip the end-to-end part: OpenBLAS cores to choose between are x86 ones\n");
    return;
#endif
    if (!facts.dynamic_arch) {
        printf("skip the end-to-end part: this OpenBLAS is not a DYNAMIC_ARCH build\n");
        return;
    }
    mg_cpu_isa isa;
    mg_cpu_detect_isa(&isa);
    const char *best = mg_blas_core_for(&isa);
    static char out[1 << 16];
    char want[128];
    char *devices[] = {(char *)mrigan, "devices", NULL};
    int rc = run_with_shim(devices, shim, NULL, out, sizeof out);
    if (best)
        snprintf(want, sizeof want,
                 "%s kernels: selected by mrigan (OPENBLAS_CORETYPE=%s): OpenBLAS had picked its "
                 "generic Prescott kernels",
                 best, best);
    else
        snprintf(want, sizeof want, "Prescott kernels: OpenBLAS's own choice");
    CHECK(rc == 0 && strstr(out, want), "mrigan devices on a faked Prescott fallback (exit %d) should say \"%s\":\n%s",
          rc, want, out);
    /* The re-executed program got its arguments: --help is still there. */
    char *help[] = {(char *)mrigan, "devices", "--help", NULL};
    rc = run_with_shim(help, shim, NULL, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "usage: mrigan devices"), "mrigan devices --help after re-execution: exit %d:\n%s", rc,
          out);
    /* A user's OPENBLAS_CORETYPE is kept, and the real OpenBLAS runs what it names. */
    rc = run_with_shim(devices, shim, "Nehalem", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "Nehalem kernels: set by OPENBLAS_CORETYPE=Nehalem"),
          "with OPENBLAS_CORETYPE=Nehalem (exit %d):\n%s", rc, out);
    printf("%-4s mrigan on a faked fallback: %s kernels selected by re-execution; a user's OPENBLAS_CORETYPE kept\n",
           failures == before ? "ok" : "FAIL", best ? best : "generic (no AVX:) Prescott");
}

int main(int argc, char **argv)
{
    if (mg_blas_select_kernels(argv) != MG_OK)
        printf("note %s\n", mg_last_error());
    test_detection();
    test_levels();
    test_decide();
    test_live();
    if (argc == 3)
        test_program(argv[1], argv[2]);
    else
        printf("skip the end-to-end part: usage %s PATH/TO/mrigan PATH/TO/fake-openblas-core.so\n", argv[0]);
    return failures ? 1 : 0;
}
