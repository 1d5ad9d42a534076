/* Helpers for building networks. */
#ifndef MRIGAN_NET_INTERNAL_H
#define MRIGAN_NET_INTERNAL_H

#include "mrigan/nets.h"

/* A parameter named "<prefix>.<name>" registered in n. With be NULL nothing is allocated (*out is NULL) and
 * only n->numel grows: the same build code then sizes a network before anything is allocated. */
mg_status mg_net_param(mg_net *n, mg_backend *be, const char *name, int ndim, const int *shape, mg_tensor **out);
/* Weight and bias of a k x k convolution ("<name>.w", "<name>.b"); transposed convolutions keep PyTorch's
 * [Cin, Cout, k, k] weight layout. */
mg_status mg_net_conv(mg_net *n, mg_backend *be, const char *name, int c_out, int c_in, int k, bool transposed,
                      mg_tensor **w, mg_tensor **b);

#endif
