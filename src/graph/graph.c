/* Graphs: the arena that holds a step's tensors and nodes, recording, and reverse-mode autograd.
 *
 * Ops run eagerly and append their node in execution order, so walking the node list backwards is a
 * valid reverse topological order. Backward kernels add into gradients, which makes a tensor used by
 * several consumers (each generator runs twice in a cycle loss) collect the sum of their gradients. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "graph.h"
#include "tensor.h"

typedef struct arena_block {
    struct arena_block *next;
    size_t cap, used;
    max_align_t data[];
} arena_block;

struct mg_graph {
    mg_backend *be;
    bool grad_enabled, training, backward_done;
    uint64_t seed, n_streams;
    mg_status status;
    char message[512];
    arena_block *blocks, *current;
    mg_tensor **tensors; /* graph-owned tensors, for releasing their buffers */
    size_t n_tensors, cap_tensors;
    mg_profile *profile;
    mg_node **nodes; /* recorded nodes in execution order */
    size_t n_nodes, cap_nodes;
};

static void *arena_alloc(mg_graph *g, size_t bytes)
{
    bytes = (bytes + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    for (arena_block *b = g->current; b; b = b->next) {
        if (b->cap - b->used >= bytes) {
            void *p = (char *)b->data + b->used;
            b->used += bytes;
            g->current = b;
            return memset(p, 0, bytes);
        }
        if (b->next)
            b->next->used = 0;
    }
    size_t cap = bytes > 65536 ? bytes : 65536;
    arena_block *nb = malloc(sizeof *nb + cap);
    if (!nb)
        return NULL;
    nb->next = NULL;
    nb->cap = cap;
    nb->used = bytes;
    if (g->current) {
        arena_block *last = g->current;
        while (last->next)
            last = last->next;
        last->next = nb;
    } else {
        g->blocks = nb;
    }
    g->current = nb;
    return memset(nb->data, 0, bytes);
}

static bool list_push(void ***items, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        void **p = realloc(*items, nc * sizeof *p);
        if (!p)
            return false;
        *items = p;
        *cap = nc;
    }
    (*items)[(*n)++] = item;
    return true;
}

mg_status mg_graph_new(mg_backend *be, mg_graph **out)
{
    mg_graph *g = calloc(1, sizeof *g);
    if (!g)
        return mg_error(MG_ERR_OOM, "graph: out of host memory");
    g->be = be;
    g->grad_enabled = true;
    g->training = true;
    *out = g;
    return MG_OK;
}

void mg_graph_reset(mg_graph *g)
{
    for (size_t i = 0; i < g->n_tensors; i++)
        mg_buffer_put(g->be, g->tensors[i]->buf);
    g->n_tensors = 0;
    g->n_nodes = 0;
    g->status = MG_OK;
    g->message[0] = 0;
    g->backward_done = false;
    if (g->blocks)
        g->blocks->used = 0;
    g->current = g->blocks;
}

void mg_graph_free(mg_graph *g)
{
    if (!g)
        return;
    mg_graph_reset(g);
    while (g->blocks) {
        arena_block *b = g->blocks;
        g->blocks = b->next;
        free(b);
    }
    free(g->tensors);
    free(g->nodes);
    free(g);
}

void mg_graph_set_grad(mg_graph *g, bool enabled) { g->grad_enabled = enabled; }
void mg_graph_set_training(mg_graph *g, bool training) { g->training = training; }
bool mg_graph_grad_enabled(const mg_graph *g) { return g->grad_enabled; }
bool mg_graph_training(const mg_graph *g) { return g->training; }
mg_status mg_graph_status(const mg_graph *g) { return g->status; }
const char *mg_graph_error(const mg_graph *g) { return g->message; }
mg_status mg_graph_check(const mg_graph *g, const char *what)
{
    return g->status == MG_OK ? MG_OK : mg_error(g->status, "%s: %s", what, g->message);
}
mg_backend *mg_graph_backend(const mg_graph *g) { return g->be; }
size_t mg_graph_node_count(const mg_graph *g) { return g->n_nodes; }

void mg_graph_set_seed(mg_graph *g, uint64_t seed)
{
    g->seed = seed;
    g->n_streams = 0;
}

uint64_t mg_graph_next_key(mg_graph *g) { return mg_mix64(g->seed ^ mg_mix64(++g->n_streams)); }

mg_tensor *mg_graph_fail(mg_graph *g, mg_status s)
{
    if (g->status == MG_OK) {
        g->status = s;
        strncpy(g->message, mg_last_error(), sizeof g->message - 1);
    }
    return NULL;
}

mg_tensor *mg_graph_new_tensor(mg_graph *g, int ndim, const int *shape)
{
    mg_tensor *t = arena_alloc(g, sizeof *t);
    if (!t)
        return mg_graph_fail(g, mg_error(MG_ERR_OOM, "graph: out of host memory"));
    mg_status s = mg_tensor_init(t, g->be, ndim, shape);
    if (s != MG_OK)
        return mg_graph_fail(g, s);
    t->graph = g;
    if (!list_push((void ***)&g->tensors, &g->n_tensors, &g->cap_tensors, t)) {
        mg_buffer_put(g->be, t->buf);
        return mg_graph_fail(g, mg_error(MG_ERR_OOM, "graph: out of host memory"));
    }
    return t;
}

static mg_tensor *graph_leaf(mg_graph *g, int ndim, const int *shape, const float *data, float value)
{
    if (g->status != MG_OK)
        return NULL;
    mg_tensor *t = mg_graph_new_tensor(g, ndim, shape);
    if (!t)
        return NULL;
    mg_status s = data ? mg_tensor_write(t, data, t->numel) : mg_tensor_fill(t, value);
    return s == MG_OK ? t : mg_graph_fail(g, s);
}

mg_tensor *mg_graph_tensor(mg_graph *g, int ndim, const int *shape, const float *data)
{
    return graph_leaf(g, ndim, shape, data, 0.0f);
}

mg_tensor *mg_graph_full(mg_graph *g, int ndim, const int *shape, float value)
{
    return graph_leaf(g, ndim, shape, NULL, value);
}

mg_tensor *mg_detach(mg_graph *g, mg_tensor *t)
{
    if (g->status != MG_OK || !t)
        return NULL;
    mg_tensor *v = arena_alloc(g, sizeof *v);
    if (!v)
        return mg_graph_fail(g, mg_error(MG_ERR_OOM, "graph: out of host memory"));
    *v = *t;
    /* Not in g->tensors: the storage stays t's, and only t's owner releases it. */
    v->flags = 0;
    v->grad = NULL;
    v->node = NULL;
    v->graph = g;
    return v;
}

mg_node *mg_graph_new_node(mg_graph *g)
{
    mg_node *n = arena_alloc(g, sizeof *n);
    if (!n)
        mg_graph_fail(g, mg_error(MG_ERR_OOM, "graph: out of host memory"));
    return n;
}

_Static_assert(MG_OP_COUNT <= MG_PROFILE_MAX_OPS, "raise MG_PROFILE_MAX_OPS");

void mg_graph_set_profile(mg_graph *g, mg_profile *p) { g->profile = p; }
int mg_op_count(void) { return MG_OP_COUNT; }
const char *mg_op_name(int op) { return op >= 0 && op < MG_OP_COUNT ? mg_op_names[op] : "?"; }

/* Runs a kernel; with a profile attached, synchronised and timed into its op's slot. */
static mg_status kernel_call(mg_graph *g, mg_kernel_fn kernel, mg_node *node, bool backward)
{
    if (!g->profile)
        return kernel(g->be->ctx, node);
    mg_status s = g->be->iface->sync(g->be->ctx);
    double t0 = mg_now_s();
    if (s == MG_OK)
        s = kernel(g->be->ctx, node);
    if (s == MG_OK)
        s = g->be->iface->sync(g->be->ctx);
    double dt = mg_now_s() - t0;
    if (backward) {
        g->profile->bwd_s[node->op] += dt;
        g->profile->bwd_calls[node->op]++;
    } else {
        g->profile->fwd_s[node->op] += dt;
        g->profile->fwd_calls[node->op]++;
    }
    return s;
}

mg_tensor *mg_graph_run(mg_graph *g, mg_node *node)
{
    mg_kernel_fn kernel = g->be->iface->fwd[node->op];
    if (!kernel)
        return mg_graph_fail(g, mg_error(MG_ERR_UNSUPPORTED, "%s: not available on the %s backend",
                                         mg_op_names[node->op], g->be->iface->name));
    mg_status s = kernel_call(g, kernel, node, false);
    if (s != MG_OK)
        return mg_graph_fail(g, s);
    bool record = false;
    for (int i = 0; i < node->n_src; i++)
        record |= mg_tensor_needs_grad(node->src[i]);
    if (record && g->grad_enabled) {
        if (!list_push((void ***)&g->nodes, &g->n_nodes, &g->cap_nodes, node))
            return mg_graph_fail(g, mg_error(MG_ERR_OOM, "graph: out of host memory"));
        node->dst->flags |= MG_TENSOR_REQUIRES_GRAD;
        node->dst->node = node;
    }
    return node->dst;
}

/* Gives t a zeroed gradient if it has none: graph-owned for activations, standalone (persisting
 * across graphs) for parameters and other standalone tensors. */
static mg_status grad_ensure(mg_graph *g, mg_tensor *t)
{
    if (t->grad)
        return MG_OK;
    if (!t->graph)
        return mg_tensor_new(t->be, t->ndim, t->shape, &t->grad);
    mg_tensor *gt = mg_graph_new_tensor(g, t->ndim, t->shape);
    if (!gt)
        return g->status;
    mg_status s = mg_tensor_fill(gt, 0.0f);
    if (s == MG_OK)
        t->grad = gt;
    return s;
}

/* Once the node that made t has run backward, every consumer of t has added into t's gradient and
 * nothing reads it again: its buffer goes back to the cache, so backward holds the gradients of a
 * frontier of the graph rather than of all of it (the peak memory of a ResNet-9 step at 256 halves).
 * As in PyTorch, only leaves (inputs, parameters) keep their gradients after backward. */
static void grad_release(mg_graph *g, mg_tensor *t)
{
    mg_tensor *gt = t->grad;
    if (!gt || !t->node || gt->graph != g)
        return;
    mg_buffer_put(g->be, gt->buf);
    gt->buf = NULL;
    t->grad = NULL;
}

/* A second backward over the same graph starts from zero activation gradients, as a fresh graph
 * would; parameter gradients keep accumulating. */
static mg_status grad_clear_activations(mg_graph *g)
{
    for (size_t i = 0; i < g->n_tensors; i++) {
        mg_tensor *t = g->tensors[i];
        if (t->grad && t->grad->graph == g) {
            mg_status s = mg_tensor_fill(t->grad, 0.0f);
            if (s != MG_OK)
                return s;
        }
    }
    return MG_OK;
}

mg_status mg_graph_backward_from(mg_graph *g, mg_tensor *t, const mg_tensor *seed)
{
    if (g->status != MG_OK)
        return mg_error(g->status, "backward: the graph has failed earlier: %s", g->message);
    if (!t || !seed)
        return mg_error(MG_ERR_ARG, "backward: NULL tensor");
    if (t->graph != g && t->graph)
        return mg_error(MG_ERR_ARG, "backward: tensor belongs to another graph");
    if (!mg_tensor_needs_grad(t))
        return mg_error(MG_ERR_ARG, "backward: the tensor does not require grad (no recorded op leads to it "
                                    "from a parameter or an input that requires grad)");
    if (!mg_tensor_same_shape(t, seed)) {
        char a[64], b[64];
        return mg_error(MG_ERR_SHAPE, "backward: seed gradient %s does not match tensor %s",
                        mg_shape_str(seed, b, sizeof b), mg_shape_str(t, a, sizeof a));
    }
    const mg_backend_iface *ops = g->be->iface;
    mg_status s = g->backward_done ? grad_clear_activations(g) : MG_OK;
    if (s == MG_OK)
        s = grad_ensure(g, t);
    if (s == MG_OK)
        s = ops->tensor_accumulate(g->be->ctx, t->grad, seed);
    g->backward_done = true;
    for (size_t i = g->n_nodes; i-- > 0 && s == MG_OK;) {
        mg_node *n = g->nodes[i];
        if (!n->dst->grad)
            continue;
        bool any = false;
        for (int k = 0; k < n->n_src; k++) {
            n->want_grad[k] = mg_tensor_needs_grad(n->src[k]);
            if (n->want_grad[k] && (s = grad_ensure(g, n->src[k])) != MG_OK)
                return s;
            any |= n->want_grad[k];
        }
        if (any && !ops->bwd[n->op])
            return mg_error(MG_ERR_UNSUPPORTED, "%s backward: not available on the %s backend", mg_op_names[n->op],
                            ops->name);
        if (any)
            s = kernel_call(g, ops->bwd[n->op], n, true);
        grad_release(g, n->dst);
    }
    return s;
}

mg_status mg_graph_backward(mg_graph *g, mg_tensor *loss)
{
    if (loss && loss->numel != 1) {
        char a[64];
        return mg_error(MG_ERR_SHAPE, "backward: loss must have one element, got %s", mg_shape_str(loss, a, sizeof a));
    }
    if (g->status != MG_OK || !loss)
        return mg_graph_backward_from(g, loss, loss);
    mg_tensor *one = mg_graph_tensor(g, loss->ndim, loss->shape, (const float[]){1.0f});
    return one ? mg_graph_backward_from(g, loss, one) : g->status;
}
