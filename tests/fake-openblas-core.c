/* Preloaded by test-blas into the mrigan program: a processor that OpenBLAS does not recognise. Until
 * OPENBLAS_CORETYPE is set, OpenBLAS reports its generic Prescott kernels, as Debian 12's OpenBLAS does on
 * processors newer than itself; once it is set, the real library answers. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

char *openblas_get_corename(void);

char *openblas_get_corename(void)
{
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (!set || !*set)
        return "Prescott";
    char *(*real)(void) = (char *(*)(void))dlsym(RTLD_NEXT, "openblas_get_corename");
    return real ? real() : "unknown";
}
