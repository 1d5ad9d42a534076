/* Reductions to one value (sum, mean, and the mean-reduced MSE, L1 and BCE-with-logits losses) and their
 * gradients. Deterministic in two stages: reduce_blocks gives each work-group a fixed block of
 * per_group elements, each work-item sums its strided share and the group adds the work-items in a fixed
 * tree, one partial per group; reduce_final sums the partials the same way in one work-group. Sums are
 * double-float (hi, lo) pairs. The work-group size is a power of two. The op codes match cl-reduce.c. */
#pragma OPENCL FP_CONTRACT OFF

#define RED_SUM 0 /* sum and mean */
#define RED_MSE 1
#define RED_L1 2
#define RED_BCE 3

/* The element's term of the sum: x, (x - t)^2, |x - t| or max(x, 0) - x t + log(1 + exp(-|x|)). */
float red_term(int op, float x, float t)
{
    switch (op) {
    case RED_MSE: {
        float d = x - t;
        return d * d;
    }
    case RED_L1: return fabs(x - t);
    case RED_BCE: return fmax(x, 0.0f) - x * t + log1p(exp(-fabs(x)));
    default: return x;
    }
}

/* partials[2g], partials[2g + 1] = hi and lo of the sum of the terms of elements [g * per_group,
 * (g + 1) * per_group). t is read only when op is not RED_SUM. */
__kernel void reduce_blocks(int op, __global const float *x, uint x_off, __global const float *t, uint t_off, uint n,
                            uint per_group, __global float *partials, __local float2 *scratch)
{
    size_t g = get_group_id(0), ls = get_local_size(0);
    size_t b = g * per_group, e = min((size_t)n, b + per_group);
    float2 s = (float2)(0.0f, 0.0f);
    for (size_t i = b + get_local_id(0); i < e; i += ls)
        s = df_add(s, (float2)(red_term(op, x[x_off + i], op == RED_SUM ? 0.0f : t[t_off + i]), 0.0f));
    s = group_sum(scratch, s);
    if (get_local_id(0) == 0)
        vstore2(s, g, partials);
}

/* dst = (sum of the n partials) / divisor; one work-group. */
__kernel void reduce_final(__global const float *partials, uint n, __global float *dst, uint dst_off, float divisor,
                           __local float2 *scratch)
{
    float2 s = (float2)(0.0f, 0.0f);
    for (uint i = (uint)get_local_id(0); i < n; i += (uint)get_local_size(0))
        s = df_add(s, vload2(i, partials));
    s = group_sum(scratch, s);
    if (get_local_id(0) == 0)
        dst[dst_off] = df_div(s, divisor);
}

/* dx += g d and dt -= g d_t (where want_x / want_t), g = dy[0] / divisor read on the device, d the
 * derivative of the element's term: 1, 2 (x - t), sign(x - t) or sigmoid(x) - t; d_t is d for MSE and
 * L1 and x for BCE-with-logits. */
__kernel void reduce_bwd(int op, __global const float *x, uint x_off, __global const float *t, uint t_off,
                         __global const float *dy, uint dy_off, float divisor, __global float *dx, uint dx_off,
                         int want_x, __global float *dt, uint dt_off, int want_t, uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    float g = df_div((float2)(dy[dy_off], 0.0f), divisor), xv = x[x_off + i];
    float tv = op == RED_SUM ? 0.0f : t[t_off + i], d;
    switch (op) {
    case RED_MSE: d = 2.0f * (xv - tv); break;
    case RED_L1: d = xv > tv ? 1.0f : xv < tv ? -1.0f : 0.0f; break;
    case RED_BCE: d = 1.0f / (1.0f + exp(-xv)) - tv; break;
    default: d = 1.0f; break;
    }
    if (want_x)
        dx[dx_off + i] += g * d;
    if (want_t)
        dt[dt_off + i] -= g * (op == RED_BCE ? xv : d);
}
