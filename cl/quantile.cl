/* The quantile loss's targets (mg_quantile_loss), as src/backend/cpu/cpu-quantile.c computes them (to within the
 * rounding of a division): per plane, the pixels above the mask's threshold sorted by (value, position), NaN as
 * +inf, and each given the quantile of its rank. The sort is a bitonic network over each plane's np entries (np a
 * power of two): keys in work[0, total), positions in the uint view of work[total, 2 total). Pixels at or below
 * the threshold and the padding past the plane have key +inf and UNRANKED set in their position, so they sort
 * after every ranked pixel, a ranked +inf included. */
#pragma OPENCL FP_CONTRACT OFF

#define UNRANKED 0x80000000u

__kernel void quantile_keys(__global const float *x, uint x_off, __global const float *m, uint m_off,
                            float threshold, uint plane, uint np, __global float *work, uint total)
{
    size_t i = get_global_id(0);
    if (i >= total)
        return;
    __global uint *pos = (__global uint *)(work + total);
    uint r = (uint)(i % np);
    size_t at = i / np * plane + r;
    bool ranked = r < plane && m[m_off + at] > threshold;
    float v = ranked ? x[x_off + at] : INFINITY;
    work[i] = isnan(v) ? INFINITY : v;
    pos[i] = ranked ? r : r | UNRANKED;
}

/* One compare-exchange stage of the bitonic sort: block size k, partner distance j. */
__kernel void quantile_sort_step(__global float *work, uint total, uint np, uint k, uint j)
{
    size_t i = get_global_id(0);
    if (i >= total)
        return;
    __global uint *pos = (__global uint *)(work + total);
    uint r = (uint)(i % np), l = r ^ j;
    if (l <= r)
        return;
    size_t o = i - r + l;
    float a = work[i], b = work[o];
    uint pa = pos[i], pb = pos[o];
    bool a_after = a > b || (a == b && pa > pb), ascending = (r & k) == 0;
    if (a_after == ascending) {
        work[i] = b;
        work[o] = a;
        pos[i] = pb;
        pos[o] = pa;
    }
}

/* The quantile function q (k values at j / (k - 1)) at the centre of rank r of n. */
float quantile_at(__global const float *q, int k, uint r, uint n)
{
    float p = ((float)r + 0.5f) / (float)n * (float)(k - 1);
    int j = min((int)p, k - 2);
    float f = p - (float)j;
    return q[j] + f * (q[j + 1] - q[j]);
}

/* target = the quantile of each ranked pixel's rank among its plane's n ranked pixels (n found by bisection for
 * the first unranked entry), and x at the others. */
__kernel void quantile_assign(__global const float *work, uint total, uint np, uint plane, __global const float *x,
                              uint x_off, __global const float *q, uint q_off, int k, __global float *target,
                              uint t_off)
{
    size_t i = get_global_id(0);
    if (i >= total)
        return;
    __global const uint *pos = (__global const uint *)(work + total);
    uint r = (uint)(i % np), p = pos[i] & ~UNRANKED;
    if (p >= plane)
        return;
    size_t base = i - r, at = base / np * plane + p;
    uint lo = 0, hi = np;
    while (lo < hi) {
        uint mid = lo + (hi - lo) / 2;
        if (pos[base + mid] & UNRANKED)
            hi = mid;
        else
            lo = mid + 1;
    }
    target[t_off + at] = r < lo ? quantile_at(q + q_off, k, r, lo) : x[x_off + at];
}
