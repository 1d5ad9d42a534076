/* The base layer, below the backends and the graph: the op enum (from ops.def) and the recorded node that
 * both the graph and the backends' kernels work on, error reporting, shapes, the clock and the counter-based
 * hash. Not part of the public API. */
#ifndef MRIGAN_BASE_H
#define MRIGAN_BASE_H

#include "mrigan/mrigan.h"

typedef enum mg_op {
#define OP(e, name, n_src) MG_OP_##e,
#include "ops.def"
#undef OP
    MG_OP_COUNT
} mg_op;

extern const char *const mg_op_names[MG_OP_COUNT];

#define MG_MAX_SRC 3

/* Everything an op is parametrised by besides its tensors. */
typedef struct mg_op_params {
    mg_conv_params conv;
    int pad[4];   /* reflect_pad2d: left, right, top, bottom */
    int shift[2]; /* shift2d: x, y */
    int box[4];   /* shift2d: the filled box's x0, y0, x1, y1 (x1, y1 excluded; empty when x0 >= x1 or y0 >= y1) */
    float f;      /* leaky_relu slope, instance_norm eps, dropout p, scale factor, ngf_map eps, shift2d fill */
    bool act;     /* instance_norm: a leaky ReLU of slope `slope` (0: ReLU) applied to its output in the same pass */
    float slope;
    int factor;   /* upsample2d, bilinear2d: the integer scale */
    uint64_t key; /* dropout: the mask stream's key */
} mg_op_params;

/* One recorded op. Forward kernels read src[] and write dst (and aux); backward kernels read
 * dst->grad and ADD into src[i]->grad for each i with want_grad[i]; those gradients exist and are
 * initialised before the kernel runs. */
typedef struct mg_node {
    mg_op op;
    int n_src;
    mg_tensor *src[MG_MAX_SRC];
    bool want_grad[MG_MAX_SRC];
    mg_tensor *dst;
    mg_tensor *aux; /* state saved for backward: norm statistics, dropout mask */
    mg_op_params p;
} mg_node;

/* Records msg (printf-style) as this thread's last error and returns s. */
mg_status mg_error(mg_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "[2,3,7,7]" into buf. */
const char *mg_shape_str(const mg_tensor *t, char *buf, size_t len);
size_t mg_shape_numel(int ndim, const int *shape);

/* Seconds on the monotonic clock, for timings. */
double mg_now_s(void);

/* Counter-based uniform in [0,1) with 24 bits: splitmix64 finaliser of key + (i+1)*golden ratio. The
 * same function runs in every backend, so dropout masks are identical everywhere. */
static inline uint64_t mg_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline float mg_hash_uniform(uint64_t key, uint64_t i)
{
    return (float)(mg_mix64(key + (i + 1) * 0x9E3779B97F4A7C15ull) >> 40) * 0x1.0p-24f;
}

#endif
