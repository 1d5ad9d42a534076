/* Image history pools (internal to the training layer). */
#ifndef MRIGAN_HISTORY_H
#define MRIGAN_HISTORY_H

#include "base/base.h"
#include "mrigan/cyclegan.h"

mg_status mg_history_init(mg_image_pool *p, int cap);
void mg_history_release(mg_image_pool *p);
mg_status mg_history_query(mg_image_pool *p, mg_tensor *fake, mg_rng *rng, mg_tensor **out);
/* Appends a stored image (restoring a checkpoint). */
mg_status mg_history_push_host(mg_image_pool *p, mg_backend *be, int ndim, const int *shape, const float *data);

#endif
