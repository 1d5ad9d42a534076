/* The image history pool of Shrivastava et al. 2017, as CycleGAN uses it: the discriminator sees a mix of
 * the newest fake and fakes from earlier steps. Items are standalone tensors on the model's backend. */
#include <stdlib.h>

#include "history.h"

mg_status mg_history_init(mg_image_pool *p, int cap)
{
    p->cap = cap > 0 ? cap : 0;
    p->n = 0;
    p->spare = NULL;
    p->items = p->cap ? calloc((size_t)p->cap, sizeof *p->items) : NULL;
    if (p->cap && !p->items)
        return mg_error(MG_ERR_OOM, "image pool: out of host memory");
    return MG_OK;
}

void mg_history_release(mg_image_pool *p)
{
    for (int i = 0; i < p->n; i++)
        mg_tensor_free(p->items[i]);
    mg_tensor_free(p->spare);
    free(p->items);
    p->items = NULL;
    p->spare = NULL;
    p->n = p->cap = 0;
}

static mg_status pool_copy_new(const mg_tensor *src, mg_tensor **out)
{
    mg_status s = mg_tensor_new(src->be, src->ndim, src->shape, out);
    return s == MG_OK ? mg_tensor_copy(*out, src) : s;
}

/* Until the pool is full every fake is stored and returned; then, with probability 1/2, a random stored
 * fake is returned and replaced by the new one, else the new one is returned. The returned tensor stays
 * valid until the next query. */
mg_status mg_history_query(mg_image_pool *p, mg_tensor *fake, mg_rng *rng, mg_tensor **out)
{
    *out = fake;
    if (p->cap == 0)
        return MG_OK;
    if (p->n < p->cap)
        return pool_copy_new(fake, &p->items[p->n++]);
    if (mg_rng_uniform(rng) < 0.5f)
        return MG_OK;
    int k = (int)mg_rng_below(rng, (uint32_t)p->cap);
    if (!p->spare || !mg_tensor_same_shape(p->spare, fake)) {
        mg_tensor_free(p->spare);
        mg_status s = mg_tensor_new(fake->be, fake->ndim, fake->shape, &p->spare);
        if (s != MG_OK) {
            p->spare = NULL;
            return s;
        }
    }
    mg_tensor *old = p->items[k];
    if (!mg_tensor_same_shape(old, fake)) /* pools from a checkpoint of another crop size */
        return mg_error(MG_ERR_SHAPE, "image pool: a stored image has another shape than this step's fakes");
    mg_status s = mg_tensor_copy(p->spare, fake);
    if (s != MG_OK)
        return s;
    p->items[k] = p->spare;
    p->spare = old;
    *out = old;
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
