/* mrigan: tensors, reverse-mode autograd, ops and optimisers for a CycleGAN in C.
 *
 * Conventions
 * - Tensors are float32, NCHW, 1 to 4 dimensions. Their storage belongs to a backend; code above the
 *   backend moves data only through mg_tensor_write() / mg_tensor_read().
 * - Functions that can fail return an mg_status; mg_last_error() holds the message of the most recent
 *   failure in the calling thread.
 * - Ops (mg_conv2d, mg_relu, ...) run at once on the graph's backend and record a node for backward.
 *   They return NULL on failure and the graph keeps the first error (mg_graph_status()); an op given a
 *   NULL input returns NULL without a new message, so a network can be written as a plain chain of
 *   calls and checked once at the end.
 */
#ifndef MRIGAN_MRIGAN_H
#define MRIGAN_MRIGAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status */
typedef enum mg_status {
    MG_OK = 0,
    MG_ERR_ARG,         /* an argument is out of range or inconsistent */
    MG_ERR_SHAPE,       /* tensor shapes do not fit the op */
    MG_ERR_OOM,         /* host or device memory exhausted */
    MG_ERR_IO,          /* a file could not be read or written */
    MG_ERR_FORMAT,      /* a file is not in the expected format */
    MG_ERR_BACKEND,     /* the backend failed (driver, library) */
    MG_ERR_UNSUPPORTED, /* valid request this build or backend cannot do */
    MG_ERR_NONFINITE,   /* a loss, weight or value to save is NaN or infinite */
    MG_ERR_PEER,        /* another process of a distributed run failed (its own message says why) */
} mg_status;

const char *mg_status_name(mg_status s);
/* Message of the most recent failure in this thread ("" if none). */
const char *mg_last_error(void);

/* ------------------------------------------------------------------ backends */
typedef struct mg_backend mg_backend;

/* The pthread CPU backend. n_threads <= 0 takes the number of online cores. */
mg_status mg_backend_cpu_new(int n_threads, mg_backend **out);
void mg_backend_free(mg_backend *be);
const char *mg_backend_name(const mg_backend *be);
int mg_backend_threads(const mg_backend *be);
/* The device in words: "CPU (2 threads)", or the OpenCL device's name. */
const char *mg_backend_device(const mg_backend *be);
/* Waits until every queued operation of the backend has finished. */
mg_status mg_backend_sync(mg_backend *be);

/* kind "cpu", "opencl" or "auto" (the first OpenCL GPU if there is one, else the CPU). device < 0: the
 * MRIGAN_DEVICE environment variable, else the first suitable device. "opencl" in a build without it is
 * MG_ERR_UNSUPPORTED, saying so. OpenCL devices themselves: mrigan/opencl.h. */
mg_status mg_backend_open(const char *kind, int device, int n_threads, mg_backend **out);
/* Whether this build has the backend kind ("cpu" always; "opencl" unless built with -Dopencl=disabled or
 * without the OpenCL ICD loader and CLBlast). */
bool mg_backend_built(const char *kind);
/* The backends of mrigan/backends.def by name, NULL-terminated, and --backend's choices "auto|cpu|opencl"
 * (mg_backend_choice_list is "|auto|cpu|opencl"). */
extern const char *const mg_backend_names[];
extern const char mg_backend_choice_list[];
#define MG_BACKEND_CHOICES (mg_backend_choice_list + 1)

typedef struct mg_memory_stats {
    size_t live_bytes;      /* buffers held by tensors */
    size_t cached_bytes;    /* freed buffers kept for reuse */
    size_t peak_bytes;      /* highest live_bytes so far */
    size_t n_allocs;        /* buffers obtained from the device (not from the cache) */
    size_t workspace_bytes; /* the backend's scratch memory (im2col columns, partial sums), not in the above */
} mg_memory_stats;
void mg_backend_memory(const mg_backend *be, mg_memory_stats *out);
/* The device's memory in bytes (the host's physical memory for the CPU backend); 0 when unknown. */
size_t mg_backend_memory_total(const mg_backend *be);
/* Give cached buffers and scratch memory back to the device. */
void mg_backend_trim(mg_backend *be);

/* ------------------------------------------------------------------ tensors */
#define MG_MAX_DIMS 4

enum {
    MG_TENSOR_PARAM = 1u << 0,         /* a trainable parameter: gradients persist across graphs */
    MG_TENSOR_REQUIRES_GRAD = 1u << 1, /* backward computes a gradient for it */
    MG_TENSOR_FROZEN = 1u << 2,        /* parameter excluded from gradients for now */
};

struct mg_buffer;
struct mg_node;
struct mg_graph;

typedef struct mg_tensor {
    int ndim;
    int shape[MG_MAX_DIMS]; /* shape[0..ndim-1]; NCHW for 4-d tensors */
    size_t numel;
    uint32_t flags;
    struct mg_tensor *grad; /* same shape; NULL until backward first reaches the tensor */
    struct mg_buffer *buf;  /* storage, opaque above the backend */
    size_t offset;          /* in floats, into buf */
    struct mg_node *node;   /* op that produced it; NULL for leaves */
    mg_backend *be;
    struct mg_graph *graph; /* owning graph; NULL for standalone tensors */
    char name[48];
} mg_tensor;

/* A standalone tensor, zero-filled; free it with mg_tensor_free(). */
mg_status mg_tensor_new(mg_backend *be, int ndim, const int *shape, mg_tensor **out);
/* A standalone trainable parameter (requires grad), zero-filled, named for checkpoints and messages. */
mg_status mg_param_new(mg_backend *be, const char *name, int ndim, const int *shape, mg_tensor **out);
/* Frees a standalone tensor and its gradient. NULL is a no-op. */
void mg_tensor_free(mg_tensor *t);

mg_status mg_tensor_write(mg_tensor *t, const float *src, size_t n);
mg_status mg_tensor_read(const mg_tensor *t, float *dst, size_t n);
mg_status mg_tensor_fill(mg_tensor *t, float value);
/* dst = src, same shapes, same backend. */
mg_status mg_tensor_copy(mg_tensor *dst, const mg_tensor *src);
/* dst += t * (src - dst), elementwise (a moving average's step); equal shapes on one backend. */
mg_status mg_tensor_lerp(mg_tensor *dst, const mg_tensor *src, float t);
/* dst += src, elementwise; equal shapes on one backend. */
mg_status mg_tensor_add(mg_tensor *dst, const mg_tensor *src);
/* The tensor's numel floats where they lie in the host's own memory (the CPU backend's tensors), to be read and
 * written in place until the next op on it; NULL where they do not (OpenCL: mg_tensor_read / _write). */
float *mg_tensor_host_data(mg_tensor *t);
/* Dimension i counted from the right for i < 0 (mg_tensor_dim(t, -1) is the width). */
int mg_tensor_dim(const mg_tensor *t, int i);
bool mg_tensor_same_shape(const mg_tensor *a, const mg_tensor *b);

void mg_tensor_set_requires_grad(mg_tensor *t, bool on);
/* Freeze or thaw a parameter: frozen parameters pass gradients through to their inputs but get none. */
void mg_tensor_set_frozen(mg_tensor *t, bool frozen);
/* Sets the gradient to zero (keeps the buffer). No-op without a gradient. */
mg_status mg_tensor_zero_grad(mg_tensor *t);

/* ------------------------------------------------------------------ graphs */
typedef struct mg_graph mg_graph;

mg_status mg_graph_new(mg_backend *be, mg_graph **out);
/* Frees the graph's activations, their gradients and nodes. Parameters and standalone tensors stay. */
void mg_graph_free(mg_graph *g);
/* Like free-and-new, but keeps the graph's host memory so a training loop allocates nothing per step. */
void mg_graph_reset(mg_graph *g);

/* Gradient recording (default on). Off: ops run without recording, as in torch.no_grad(). */
void mg_graph_set_grad(mg_graph *g, bool enabled);
/* Training mode (default on): dropout is active. Off: dropout is the identity. */
void mg_graph_set_training(mg_graph *g, bool training);
/* Seed of the graph's dropout masks; each dropout call draws the next stream of masks. Setting the
 * seed restarts the streams; mg_graph_reset() does not, so successive steps get fresh masks. */
void mg_graph_set_seed(mg_graph *g, uint64_t seed);
mg_status mg_graph_status(const mg_graph *g);
/* Message of the graph's first failure ("" while mg_graph_status() is MG_OK). */
const char *mg_graph_error(const mg_graph *g);
/* MG_OK, or the graph's first failure as the last error, "what: message" (the step or pass that built it). */
mg_status mg_graph_check(const mg_graph *g, const char *what);
mg_backend *mg_graph_backend(const mg_graph *g);
size_t mg_graph_node_count(const mg_graph *g);

/* A leaf that shares t's storage but not its history, as torch's detach(): gradients stop there. Valid as
 * long as t's storage is (t's graph or t itself). */
mg_tensor *mg_detach(mg_graph *g, mg_tensor *t);
/* A graph-owned leaf tensor (freed with the graph). data may be NULL for zeros. */
mg_tensor *mg_graph_tensor(mg_graph *g, int ndim, const int *shape, const float *data);
/* A graph-owned leaf tensor with every element equal to value. */
mg_tensor *mg_graph_full(mg_graph *g, int ndim, const int *shape, float value);

/* Per-op kernel times of a graph (forward and backward), for benchmarks. While a profile is attached the
 * backend finishes every kernel before the clock stops, so device backends run slower than without. */
#define MG_PROFILE_MAX_OPS 32
typedef struct mg_profile {
    double fwd_s[MG_PROFILE_MAX_OPS], bwd_s[MG_PROFILE_MAX_OPS];
    long fwd_calls[MG_PROFILE_MAX_OPS], bwd_calls[MG_PROFILE_MAX_OPS];
} mg_profile;
void mg_graph_set_profile(mg_graph *g, mg_profile *p); /* NULL detaches */
int mg_op_count(void);
const char *mg_op_name(int op);

/* Back-propagates from a one-element loss (d loss = 1). Gradients accumulate into .grad. */
mg_status mg_graph_backward(mg_graph *g, mg_tensor *loss);
/* Back-propagates from any recorded tensor t with upstream gradient seed (same shape as t). */
mg_status mg_graph_backward_from(mg_graph *g, mg_tensor *t, const mg_tensor *seed);

/* ------------------------------------------------------------------ ops (PyTorch semantics) */
typedef struct mg_conv_params {
    int stride_h, stride_w;
    int pad_h, pad_w;         /* zero padding */
    int out_pad_h, out_pad_w; /* transposed convolution only */
} mg_conv_params;

/* x [N,Cin,H,W], w [Cout,Cin,kh,kw], b [Cout] or NULL. */
mg_tensor *mg_conv2d(mg_graph *g, mg_tensor *x, mg_tensor *w, mg_tensor *b, int stride, int pad);
mg_tensor *mg_conv2d_ex(mg_graph *g, mg_tensor *x, mg_tensor *w, mg_tensor *b, const mg_conv_params *p);
/* x [N,Cin,H,W], w [Cin,Cout,kh,kw], b [Cout] or NULL; Hout = (H-1)*stride - 2*pad + kh + output_padding. */
mg_tensor *mg_conv_transpose2d(mg_graph *g, mg_tensor *x, mg_tensor *w, mg_tensor *b, int stride, int pad,
                               int output_padding);
mg_tensor *mg_conv_transpose2d_ex(mg_graph *g, mg_tensor *x, mg_tensor *w, mg_tensor *b, const mg_conv_params *p);
/* ReflectionPad2d((left, right, top, bottom)); each pad smaller than the dimension it pads. */
mg_tensor *mg_reflect_pad2d(mg_graph *g, mg_tensor *x, int left, int right, int top, int bottom);
/* x moved by (dx, dy) pixels, same shape: y[n, c, i, j] = x[n, c, i - dy, j - dx], fill where that lies outside x
 * and inside the box (x0, y0, x1, y1), x1 and y1 excluded (box NULL or empty: none): a translation and a cutout,
 * the discriminators' augmentation. |dx| < W, |dy| < H. */
mg_tensor *mg_shift2d(mg_graph *g, mg_tensor *x, int dx, int dy, const int box[4], float fill);
/* Upsample(scale_factor=factor, mode='nearest'): [N,C,H,W] -> [N,C,H*factor,W*factor]. */
mg_tensor *mg_upsample2d(mg_graph *g, mg_tensor *x, int factor);
/* Upsample(scale_factor=factor, mode='bilinear', align_corners=False): the same shapes, each output the blend of
 * the four inputs nearest its centre mapped back, (o + 0.5) / factor - 0.5 (clamped at the border). */
mg_tensor *mg_bilinear2d(mg_graph *g, mg_tensor *x, int factor);
/* InstanceNorm2d: per (n, c) plane, biased variance; gamma and beta [C] or both NULL. */
mg_tensor *mg_instance_norm(mg_graph *g, mg_tensor *x, mg_tensor *gamma, mg_tensor *beta, float eps);
/* mg_leaky_relu(mg_instance_norm(x, ...), slope) (slope 0: mg_relu) as one op, the same values: the normalised
 * tensor before the activation is never stored (backward takes the activation's slope from the output's sign and
 * normalises x again from the saved statistics), one pass over memory less each way. slope in [0, 1]. */
mg_tensor *mg_instance_norm_relu(mg_graph *g, mg_tensor *x, mg_tensor *gamma, mg_tensor *beta, float eps, float slope);
mg_tensor *mg_relu(mg_graph *g, mg_tensor *x);
mg_tensor *mg_leaky_relu(mg_graph *g, mg_tensor *x, float slope);
mg_tensor *mg_tanh(mg_graph *g, mg_tensor *x);
mg_tensor *mg_sigmoid(mg_graph *g, mg_tensor *x);
/* Zeroes each element with probability p and scales the rest by 1/(1-p) in training mode; identity
 * otherwise. Masks come from a counter-based hash of (graph seed, call index, element index), so they
 * do not depend on the thread count or the backend. */
mg_tensor *mg_dropout(mg_graph *g, mg_tensor *x, float p);
mg_tensor *mg_add(mg_graph *g, mg_tensor *a, mg_tensor *b); /* same shapes */
mg_tensor *mg_scale(mg_graph *g, mg_tensor *x, float s);
mg_tensor *mg_concat(mg_graph *g, mg_tensor *a, mg_tensor *b); /* along dim 1 (channels) */
mg_tensor *mg_mean(mg_graph *g, mg_tensor *x);                 /* -> [1] */
mg_tensor *mg_sum(mg_graph *g, mg_tensor *x);                  /* -> [1] */
/* Losses with mean reduction -> [1]. target may itself require grad. */
mg_tensor *mg_mse_loss(mg_graph *g, mg_tensor *x, mg_tensor *target);
mg_tensor *mg_l1_loss(mg_graph *g, mg_tensor *x, mg_tensor *target);
mg_tensor *mg_bce_logits_loss(mg_graph *g, mg_tensor *x, mg_tensor *target);
/* Normalised gradient fields (Haber and Modersitzki 2006), per pixel: 1 - cos^2 of the angle between the
 * forward-difference gradients of x and y (zero across the last row and column), each gradient's squared norm
 * taken plus eps^2, so that edges weaker than eps (noise) hardly count. 0 where the two images have edges of the
 * same direction, whatever their signs, so it asks for the same anatomy without asking for the same contrast.
 * x and y [N,C,H,W] of equal shapes -> the same shape; eps > 0. */
mg_tensor *mg_ngf_map(mg_graph *g, mg_tensor *x, mg_tensor *y, float eps);
/* A distribution loss without pairs (the squared 1-D Wasserstein distance, per plane): the pixels of x where
 * mask > threshold, sorted, are matched rank for rank to the quantile function q (k >= 2 values, q[j] at
 * j / (k - 1), linear between), and the squared differences summed over those pixels and divided by x's element
 * count; pixels at or below the threshold count zero. Ties are ranked by position, so every backend matches the
 * same pixel to the same quantile. The gradient is 2 (x - its matched quantile) / count: the ranks do not move
 * under a small change of x. mask and q take no gradient (the mask is a choice of pixels, q a constant target).
 * x and mask [N,C,H,W] of equal shapes, q [k] -> [1]. */
mg_tensor *mg_quantile_loss(mg_graph *g, mg_tensor *x, mg_tensor *mask, mg_tensor *q, float threshold);

/* ------------------------------------------------------------------ random numbers */
/* PCG32 (O'Neill 2014, XSH-RR output of a 64-bit LCG); the whole generator state is these two words. */
typedef struct mg_rng {
    uint64_t state;
    uint64_t inc;
} mg_rng;

void mg_rng_seed(mg_rng *r, uint64_t seed, uint64_t stream);
uint32_t mg_rng_u32(mg_rng *r);
/* Uniform in [0, 1) with 24 random bits. */
float mg_rng_uniform(mg_rng *r);
/* Standard normal, Box-Muller on two uniforms (no cached second value, so the state is all there is). */
float mg_rng_normal(mg_rng *r);
/* Uniform integer in [0, n), unbiased. */
uint32_t mg_rng_below(mg_rng *r, uint32_t n);
/* perm = a uniform random permutation of 0..n-1 (Fisher-Yates, drawing mg_rng_below(i + 1) for i = n-1 .. 1). */
void mg_rng_permutation(mg_rng *r, int *perm, int n);
/* Fills t with normal(mean, std) draws, in element order. */
mg_status mg_init_normal(mg_tensor *t, mg_rng *r, float mean, float std);

/* ------------------------------------------------------------------ Adam (torch.optim.Adam) */
typedef struct mg_adam mg_adam;

typedef struct mg_adam_config {
    float lr;    /* 2e-4 for CycleGAN */
    float beta1; /* 0.5 for CycleGAN */
    float beta2; /* 0.999 */
    float eps;   /* 1e-8 */
} mg_adam_config;

mg_status mg_adam_new(mg_backend *be, mg_tensor *const *params, int n_params, const mg_adam_config *cfg, mg_adam **out);
void mg_adam_free(mg_adam *opt);
void mg_adam_set_lr(mg_adam *opt, float lr);
float mg_adam_lr(const mg_adam *opt);
/* One update of every parameter that has a gradient (as PyTorch, parameters without one are skipped
 * and keep their own step count). */
mg_status mg_adam_step(mg_adam *opt);
mg_status mg_adam_zero_grad(mg_adam *opt);
int mg_adam_param_count(const mg_adam *opt);
mg_tensor *mg_adam_param(const mg_adam *opt, int i);
/* Optimiser state of parameter i, for checkpoints: first and second moments and the step count. */
mg_status mg_adam_state(mg_adam *opt, int i, mg_tensor **m, mg_tensor **v, int64_t **step);

#ifdef __cplusplus
}
#endif
#endif
