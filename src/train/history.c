/* The image history pool of Shrivastava et al. 2017, as CycleGAN uses it: the discriminator sees a mix of
 * the newest fake and fakes from earlier steps. Items are standalone tensors on the model's backend; the fakes come
 * and go in host memory, where the ranks of a distributed run exchange them (every rank keeps the same pools). */
#include <stdlib.h>
#include <string.h>

#include "history.h"

mg_status mg_history_init(mg_image_pool *p, int cap)
{
    p->cap = cap > 0 ? cap : 0;
    p->n = 0;
    p->items = p->cap ? calloc((size_t)p->cap, sizeof *p->items) : NULL;
    if (p->cap && !p->items)
        return mg_error(MG_ERR_OOM, "image pool: out of host memory");
    return MG_OK;
}

void mg_history_release(mg_image_pool *p)
{
    for (int i = 0; i < p->n; i++)
        mg_tensor_free(p->items[i]);
    free(p->items);
    p->items = NULL;
    p->n = p->cap = 0;
}

/* Until the pool is full every fake is stored and shown; then, with probability 1/2, a random stored fake is
 * shown and replaced by the new one, else the new one is shown. */
mg_status mg_history_query(mg_image_pool *p, mg_backend *be, int ndim, const int *shape, const float *fake, mg_rng *rng,
                           float *out)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (p->cap > 0 && p->n < p->cap) {
        mg_status s = mg_history_push_host(p, be, ndim, shape, fake);
        if (s != MG_OK)
            return s;
    } else if (p->cap > 0 && mg_rng_uniform(rng) >= 0.5f) {
        mg_tensor *old = p->items[mg_rng_below(rng, (uint32_t)p->cap)];
        if (old->ndim != ndim || memcmp(old->shape, shape, (size_t)ndim * sizeof *shape))
            return mg_error(MG_ERR_SHAPE, "image pool: a stored image has another shape than this step's fakes");
        mg_status s = out ? mg_tensor_read(old, out, n) : MG_OK;
        return s == MG_OK ? mg_tensor_write(old, fake, n) : s;
    }
    if (out)
        memcpy(out, fake, n * sizeof *out);
    return MG_OK;
}

mg_status mg_history_push_host(mg_image_pool *p, mg_backend *be, int ndim, const int *shape, const float *data)
{
    if (p->n >= p->cap)
        return mg_error(MG_ERR_FORMAT, "image pool: more stored images than its size %d", p->cap);
    mg_status s = mg_tensor_new(be, ndim, shape, &p->items[p->n]);
    if (s == MG_OK)
        s = mg_tensor_write(p->items[p->n], data, p->items[p->n]->numel);
    if (s == MG_OK)
        p->n++;
    else
        mg_tensor_free(p->items[p->n]);
    return s;
}
