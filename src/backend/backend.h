/* The backend interface: a table of functions plus a context pointer. Every op and buffer operation
 * above this layer goes through it; a backend fills a static const mg_backend_iface with designated
 * initialisers, its op tables generated from base/ops.def. */
#ifndef MRIGAN_BACKEND_H
#define MRIGAN_BACKEND_H

#include "base/base.h"

typedef mg_status (*mg_kernel_fn)(void *ctx, mg_node *node);

/* One Adam update: everything the kernel needs besides the tensors, computed on the host as
 * torch.optim.Adam does. */
typedef struct mg_adam_update {
    float beta1, beta2, eps;
    float step_size;       /* lr / (1 - beta1^t) */
    float bias_corr2_sqrt; /* sqrt(1 - beta2^t) */
} mg_adam_update;

typedef struct mg_backend_iface {
    const char *name;
    mg_status (*buffer_alloc)(void *ctx, size_t bytes, void **handle);
    void (*buffer_free)(void *ctx, void *handle);
    mg_status (*tensor_write)(void *ctx, mg_tensor *t, const float *src);
    mg_status (*tensor_read)(void *ctx, const mg_tensor *t, float *dst);
    mg_status (*tensor_fill)(void *ctx, mg_tensor *t, float value);
    mg_status (*tensor_accumulate)(void *ctx, mg_tensor *dst, const mg_tensor *src); /* dst += src */
    mg_status (*tensor_copy)(void *ctx, mg_tensor *dst, const mg_tensor *src);       /* dst = src */
    mg_status (*tensor_lerp)(void *ctx, mg_tensor *dst, const mg_tensor *src, float t); /* dst += t * (src - dst) */
    mg_status (*adam_update)(void *ctx, mg_tensor *param, const mg_tensor *grad, mg_tensor *m, mg_tensor *v,
                             const mg_adam_update *u);
    /* The tensor's storage where it is the host's own memory (the CPU backend), for what can work on it in place
     * (a sum over processes); NULL, or no function: it is not. */
    float *(*tensor_host)(void *ctx, mg_tensor *t);
    const char *(*device_name)(void *ctx);
    mg_status (*sync)(void *ctx);
    size_t (*workspace_bytes)(void *ctx);
    size_t (*memory_total)(void *ctx); /* bytes the device has in all; 0 when unknown */
    void (*workspace_release)(void *ctx);
    void (*destroy)(void *ctx);
    /* Per-op kernels; NULL where the backend lacks the op. */
    mg_kernel_fn fwd[MG_OP_COUNT];
    mg_kernel_fn bwd[MG_OP_COUNT];
} mg_backend_iface;

/* A device allocation. Freed buffers go to the backend's cache and are handed out again for the same
 * size, so a training loop stops allocating after its first step. */
struct mg_buffer {
    void *handle;
    size_t bytes;
    struct mg_buffer *next; /* in the cache */
};

struct mg_backend {
    const mg_backend_iface *iface;
    void *ctx;
    int n_threads;
    struct mg_buffer *cache;
    mg_memory_stats mem;
};

/* A new backend object around a filled iface and context (takes ownership of ctx). */
mg_status mg_backend_create(const mg_backend_iface *iface, void *ctx, int n_threads, mg_backend **out);
mg_status mg_buffer_get(mg_backend *be, size_t bytes, struct mg_buffer **out);
void mg_buffer_put(mg_backend *be, struct mg_buffer *buf);

/* Whether the OpenCL backend is compiled in: defined by opencl/cl-device.c, or by opencl-none.c in a build
 * without OpenCL. */
extern const bool mg_backend_opencl_built;

#endif
