/* Image history pools (internal to the training layer). */
#ifndef MRIGAN_HISTORY_H
#define MRIGAN_HISTORY_H

#include "base/base.h"
#include "mrigan/cyclegan.h"

mg_status mg_history_init(mg_image_pool *p, int cap);
void mg_history_release(mg_image_pool *p);
/* Offers the pool the fake (host memory, of shape) and puts what the discriminator is shown into out (NULL: only the
 * pool and rng move on, as on a rank that does not train on this sample). */
mg_status mg_history_query(mg_image_pool *p, mg_backend *be, int ndim, const int *shape, const float *fake,
                           mg_rng *rng, float *out);
/* Appends a stored image (restoring a checkpoint). */
mg_status mg_history_push_host(mg_image_pool *p, mg_backend *be, int ndim, const int *shape, const float *data);

#endif
