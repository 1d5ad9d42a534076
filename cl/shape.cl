/* Ops that move data: reflection padding, shifts with a cutout, channel concatenation and nearest-neighbour
 * upsampling, forward and backward, one work-item per element. The padding, shift and upsampling gradients are
 * gathered per input pixel (no two work-items write the same element) and added in the CPU backend's order, so both
 * give the same sums. */

/* PyTorch's ReflectionPad: index -k maps to k and (n-1)+k maps to (n-1)-k. */
int reflect(int i, int n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }

/* y[q, oy, ox] = x[q, reflect(oy - top), reflect(ox - left)] over n output elements. */
__kernel void reflect_pad_fwd(__global const float *x, uint x_off, __global float *y, uint y_off, int h, int w, int ho,
                              int wo, int left, int top, uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    int ox = (int)(i % (size_t)wo), oy = (int)(i / (size_t)wo % (size_t)ho);
    size_t q = i / ((size_t)wo * ho);
    y[y_off + i] = x[x_off + (q * h + reflect(oy - top, h)) * w + reflect(ox - left, w)];
}

/* The output coordinates that reflect onto input coordinate i of a dimension of size n padded by lo and
 * hi, in increasing order (at most three): the mirror in the low pad, i itself, the mirror in the high
 * pad. */
int pad_sources(int i, int n, int lo, int hi, int *out)
{
    int k = 0;
    if (i >= 1 && i <= lo)
        out[k++] = lo - i;
    out[k++] = lo + i;
    if (i <= n - 2 && i >= n - 1 - hi)
        out[k++] = lo + 2 * (n - 1) - i;
    return k;
}

/* dx[q, iy, ix] += the dy of every output pixel that reflects onto it, in output raster order, over n
 * input elements. */
__kernel void reflect_pad_bwd(__global const float *dy, uint dy_off, __global float *dx, uint dx_off, int h, int w,
                              int ho, int wo, int left, int right, int top, int bottom, uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    int ix = (int)(i % (size_t)w), iy = (int)(i / (size_t)w % (size_t)h);
    size_t q = i / ((size_t)w * h);
    int rows[3], cols[3];
    int nr = pad_sources(iy, h, top, bottom, rows), nc = pad_sources(ix, w, left, right, cols);
    __global const float *dyp = dy + dy_off + q * ho * wo;
    float acc = dx[dx_off + i];
    for (int r = 0; r < nr; r++)
        for (int k = 0; k < nc; k++)
            acc += dyp[(size_t)rows[r] * wo + cols[k]];
    dx[dx_off + i] = acc;
}

/* Whether output pixel (oy, ox) of an h x w plane shifted by (dx, dy) lies in the plane, copies a pixel of it and is
 * outside the box (x0, y0, x1, y1): the one rule of both directions. */
int shift_keeps(int h, int w, int dx, int dy, int4 box, int oy, int ox)
{
    int sy = oy - dy, sx = ox - dx;
    int in_box = ox >= box.s0 && ox < box.s2 && oy >= box.s1 && oy < box.s3;
    return oy >= 0 && oy < h && ox >= 0 && ox < w && sy >= 0 && sy < h && sx >= 0 && sx < w && !in_box;
}

/* y[q, oy, ox] = x[q, oy - dy, ox - dx], fill outside x and inside the box (x0, y0, x1, y1), over n elements. */
__kernel void shift_fwd(__global const float *x, uint x_off, __global float *y, uint y_off, int h, int w, int dx,
                        int dy, int4 box, float fill, uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    int ox = (int)(i % (size_t)w), oy = (int)(i / (size_t)w % (size_t)h);
    size_t q = i / ((size_t)w * h);
    y[y_off + i] = shift_keeps(h, w, dx, dy, box, oy, ox) ? x[x_off + (q * h + oy - dy) * w + ox - dx] : fill;
}

/* dx[q, iy, ix] += dy[q, iy + dy, ix + dx] where that pixel is kept, over n input elements. */
__kernel void shift_bwd(__global const float *gy, uint gy_off, __global float *gx, uint gx_off, int h, int w, int dx,
                        int dy, int4 box, uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    int ix = (int)(i % (size_t)w), iy = (int)(i / (size_t)w % (size_t)h);
    size_t q = i / ((size_t)w * h);
    int oy = iy + dy, ox = ix + dx;
    if (shift_keeps(h, w, dx, dy, box, oy, ox))
        gx[gx_off + i] += gy[gy_off + (q * h + oy) * w + ox];
}

/* One input of a channel concatenation: element i of src [N, c_src, plane] is element (s, c_start + c, p)
 * of dst [N, c_total, plane]. concat_copy writes it into dst, concat_grad adds dst's gradient back. */
__kernel void concat_copy(__global const float *src, uint src_off, __global float *dst, uint dst_off, int c_src,
                          int c_total, int c_start, uint plane, uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    size_t per = (size_t)c_src * plane, s = i / per, r = i % per;
    dst[dst_off + s * c_total * plane + (size_t)c_start * plane + r] = src[src_off + i];
}

__kernel void concat_grad(__global const float *dy, uint dy_off, __global float *dx, uint dx_off, int c_src,
                          int c_total, int c_start, uint plane, uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    size_t per = (size_t)c_src * plane, s = i / per, r = i % per;
    dx[dx_off + i] += dy[dy_off + s * c_total * plane + (size_t)c_start * plane + r];
}

/* Nearest-neighbour upsampling by f: y[q, oy, ox] = x[q, oy / f, ox / f] over n output elements. */
__kernel void upsample_fwd(__global const float *x, uint x_off, __global float *y, uint y_off, int h, int w, int f,
                           uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    int wo = w * f, ho = h * f;
    int ox = (int)(i % (size_t)wo), oy = (int)(i / (size_t)wo % (size_t)ho);
    size_t q = i / ((size_t)wo * ho);
    y[y_off + i] = x[x_off + (q * h + oy / f) * w + ox / f];
}

/* dx[q, iy, ix] += the f x f block of dy above it, row by row (the CPU backend's order), over n input elements. */
__kernel void upsample_bwd(__global const float *dy, uint dy_off, __global float *dx, uint dx_off, int h, int w, int f,
                           uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    int ix = (int)(i % (size_t)w), iy = (int)(i / (size_t)w % (size_t)h);
    size_t q = i / ((size_t)w * h), wo = (size_t)w * f;
    __global const float *dyp = dy + dy_off + q * h * f * wo;
    float acc = dx[dx_off + i];
    for (int r = 0; r < f; r++)
        for (int k = 0; k < f; k++)
            acc += dyp[((size_t)iy * f + r) * wo + (size_t)ix * f + k];
    dx[dx_off + i] = acc;
}

/* Bilinear upsampling by f as PyTorch's align_corners=False (the CPU backend's bilinear_taps): output o of an axis of
 * n inputs reads i0 with weight 1 - l and i1 with weight l, from (o + 0.5) / f - 0.5 clamped at 0. */
void bilinear_taps(int o, int n, int f, int *i0, int *i1, float *l)
{
    float src = ((float)o + 0.5f) * (1.0f / (float)f) - 0.5f;
    src = src < 0.0f ? 0.0f : src;
    *i0 = (int)src;
    *i1 = *i0 + (*i0 < n - 1);
    *l = src - (float)*i0;
}

float bilinear_weight(int o, int i, int n, int f)
{
    int i0, i1;
    float l;
    bilinear_taps(o, n, f, &i0, &i1, &l);
    return (i == i0 ? 1.0f - l : 0.0f) + (i == i1 ? l : 0.0f);
}

__kernel void bilinear_fwd(__global const float *x, uint x_off, __global float *y, uint y_off, int h, int w, int f,
                           uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    int wo = w * f, ho = h * f;
    int ox = (int)(i % (size_t)wo), oy = (int)(i / (size_t)wo % (size_t)ho);
    size_t q = i / ((size_t)wo * ho);
    int y0, y1, x0, x1;
    float ly, lx;
    bilinear_taps(oy, h, f, &y0, &y1, &ly);
    bilinear_taps(ox, w, f, &x0, &x1, &lx);
    __global const float *r0 = x + x_off + (q * h + y0) * w, *r1 = x + x_off + (q * h + y1) * w;
    y[y_off + i] = (1.0f - ly) * ((1.0f - lx) * r0[x0] + lx * r0[x1]) + ly * ((1.0f - lx) * r1[x0] + lx * r1[x1]);
}

/* dx[q, iy, ix] += dy over the outputs within f of the input's block, each times its weight, row by row (the CPU
 * backend's order), over n input elements. */
__kernel void bilinear_bwd(__global const float *dy, uint dy_off, __global float *dx, uint dx_off, int h, int w, int f,
                           uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    int ix = (int)(i % (size_t)w), iy = (int)(i / (size_t)w % (size_t)h);
    int wo = w * f, ho = h * f;
    size_t q = i / ((size_t)w * h);
    __global const float *dyp = dy + dy_off + q * (size_t)ho * wo;
    float acc = dx[dx_off + i];
    int oy_end = min((iy + 2) * f, ho), ox_end = min((ix + 2) * f, wo);
    for (int oy = max((iy - 1) * f, 0); oy < oy_end; oy++) {
        float wy = bilinear_weight(oy, iy, h, f);
        if (wy == 0.0f)
            continue;
        for (int ox = max((ix - 1) * f, 0); ox < ox_end; ox++) {
            float wx = bilinear_weight(ox, ix, w, f);
            if (wx != 0.0f)
                acc += wy * wx * dyp[(size_t)oy * wo + ox];
        }
    }
    dx[dx_off + i] = acc;
}
