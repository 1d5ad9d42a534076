/* Weight initialisation from the library's PCG32 generator. */
#include <stdlib.h>

#include "base/base.h"

mg_status mg_init_normal(mg_tensor *t, mg_rng *r, float mean, float std)
{
    float *host = malloc(t->numel * sizeof *host);
    if (!host)
        return mg_error(MG_ERR_OOM, "init %s: out of host memory", t->name);
    for (size_t i = 0; i < t->numel; i++)
        host[i] = mean + std * mg_rng_normal(r);
    mg_status s = mg_tensor_write(t, host, t->numel);
    free(host);
    return s;
}
