/* Graph internals used by the op builders. */
#ifndef MRIGAN_GRAPH_H
#define MRIGAN_GRAPH_H

#include "base/base.h"

/* A new graph-owned tensor with an uninitialised buffer, or NULL with the graph's error set. */
mg_tensor *mg_graph_new_tensor(mg_graph *g, int ndim, const int *shape);
/* A zeroed node from the graph's arena. */
mg_node *mg_graph_new_node(mg_graph *g);
/* Runs node's forward kernel and, when gradients are recorded and an input needs one, records it. */
mg_tensor *mg_graph_run(mg_graph *g, mg_node *node);
/* Records the first failure of an op: s and its message. Returns NULL for use in op builders. */
mg_tensor *mg_graph_fail(mg_graph *g, mg_status s);
bool mg_graph_grad_enabled(const mg_graph *g);
bool mg_graph_training(const mg_graph *g);
/* Key of the next dropout mask stream. */
uint64_t mg_graph_next_key(mg_graph *g);

#endif
