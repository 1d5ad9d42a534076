/* Elementwise kernels: gradient accumulation, moving averages, activations, scale, add and dropout, one work-item per
 * element. Each evaluates the CPU backend's float expression; contraction is off so no fused
 * multiply-add changes a rounding. Backward kernels add into dx. Tensors are a buffer plus an offset in
 * floats. */
#pragma OPENCL FP_CONTRACT OFF

/* y += x */
__kernel void accumulate(__global float *y, uint y_off, __global const float *x, uint x_off, uint n)
{
    size_t i = get_global_id(0);
    if (i < n)
        y[y_off + i] += x[x_off + i];
}

/* y += t * (x - y): a moving average's update */
__kernel void lerp(__global float *y, uint y_off, __global const float *x, uint x_off, float t, uint n)
{
    size_t i = get_global_id(0);
    if (i < n)
        y[y_off + i] += t * (x[x_off + i] - y[y_off + i]);
}

/* y = expr(v) with v = x[i]; f is the op's parameter (leaky slope, scale factor). */
#define UNARY_FWD(name, expr)                                                                                          \
    __kernel void name(__global const float *x, uint x_off, __global float *y, uint y_off, uint n, float f)           \
    {                                                                                                                  \
        size_t i = get_global_id(0);                                                                                   \
        if (i >= n)                                                                                                    \
            return;                                                                                                    \
        float v = x[x_off + i];                                                                                        \
        (void)f;                                                                                                       \
        y[y_off + i] = (expr);                                                                                         \
    }

UNARY_FWD(relu_fwd, v > 0.0f ? v : 0.0f)
UNARY_FWD(leaky_relu_fwd, v > 0.0f ? v : v * f)
UNARY_FWD(tanh_fwd, tanh(v))
UNARY_FWD(sigmoid_fwd, 1.0f / (1.0f + exp(-v)))
UNARY_FWD(scale_fwd, v * f)

/* dx += expr(v, g) with g = dy[i] and v = in[i]: the input x (relu, leaky relu), the output y (tanh,
 * sigmoid) or the dropout mask; scale reads only g. */
#define UNARY_BWD(name, expr)                                                                                          \
    __kernel void name(__global const float *in, uint in_off, __global const float *dy, uint dy_off,                   \
                       __global float *dx, uint dx_off, uint n, float f)                                               \
    {                                                                                                                  \
        size_t i = get_global_id(0);                                                                                   \
        if (i >= n)                                                                                                    \
            return;                                                                                                    \
        float v = in[in_off + i], g = dy[dy_off + i];                                                                  \
        (void)f, (void)v;                                                                                              \
        dx[dx_off + i] += (expr);                                                                                      \
    }

UNARY_BWD(relu_bwd, v > 0.0f ? g : 0.0f)
UNARY_BWD(leaky_relu_bwd, v > 0.0f ? g : g * f)
UNARY_BWD(tanh_bwd, g * (1.0f - v * v))
UNARY_BWD(sigmoid_bwd, g * (1.0f - v) * v)
UNARY_BWD(scale_bwd, g * f)
UNARY_BWD(dropout_bwd, g * v)

/* y = a + b */
__kernel void add_fwd(__global const float *a, uint a_off, __global const float *b, uint b_off, __global float *y,
                      uint y_off, uint n)
{
    size_t i = get_global_id(0);
    if (i < n)
        y[y_off + i] = a[a_off + i] + b[b_off + i];
}

/* The counter-based hash of core/core.h (mg_mix64, mg_hash_uniform): a splitmix64 finaliser of
 * key + (i + 1) * golden ratio, top 24 bits as a uniform in [0, 1). */
ulong mix64(ulong z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    return z ^ (z >> 31);
}

float hash_uniform(ulong key, ulong i)
{
    return (float)(mix64(key + (i + 1) * 0x9E3779B97F4A7C15UL) >> 40) * 0x1.0p-24f;
}

/* Keeps element i iff hash_uniform(key, i) >= p: mask = keep_scale (1 / (1 - p), from the host) or 0,
 * y = x * mask. */
__kernel void dropout_fwd(__global const float *x, uint x_off, __global float *y, uint y_off, __global float *mask,
                          uint mask_off, uint n, ulong key, float p, float keep_scale)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    float m = hash_uniform(key, (ulong)i) >= p ? keep_scale : 0.0f;
    mask[mask_off + i] = m;
    y[y_off + i] = x[x_off + i] * m;
}
