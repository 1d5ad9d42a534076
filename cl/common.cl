/* Helpers of every kernel family: this file is compiled in front of each cl/<family>.cl. */
#pragma OPENCL FP_CONTRACT OFF

/* Double-float arithmetic: a value is hi + lo (a float2), about 44 bits of precision, so sums
 * come out as the CPU backend's double sums rounded to float. */
float2 two_sum(float a, float b) /* a + b exactly, as (sum, rounding error) */
{
    float s = a + b, bb = s - a;
    return (float2)(s, (a - (s - bb)) + (b - bb));
}

float2 df_add(float2 a, float2 b)
{
    float2 s = two_sum(a.x, b.x);
    float lo = s.y + (a.y + b.y), hi = s.x + lo;
    return (float2)(hi, lo - (hi - s.x));
}

/* (hi + lo) / d rounded to float: the quotient corrected by its exact remainder (fma is exact). */
float df_div(float2 a, float d)
{
    float q = a.x / d, r = fma(-q, d, a.x);
    return q + (r + a.y) / d;
}

/* Sum of v over the work-group in a fixed tree (scratch: one float2 per work-item). */
float2 group_sum(__local float2 *scratch, float2 v)
{
    uint lid = (uint)get_local_id(0), ls = (uint)get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = ls / 2; s > 0; s >>= 1) {
        if (lid < s)
            scratch[lid] = df_add(scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float2 r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
