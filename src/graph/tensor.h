/* Tensor helpers shared inside the library. */
#ifndef MRIGAN_TENSOR_H
#define MRIGAN_TENSOR_H

#include "base/base.h"

/* Fills in t's shape and takes a buffer for it from be (contents undefined). */
mg_status mg_tensor_init(mg_tensor *t, mg_backend *be, int ndim, const int *shape);
/* True when backward should compute a gradient for t: it requires one and is not frozen. */
bool mg_tensor_needs_grad(const mg_tensor *t);

#endif
