/* Convolution helpers: im2col and col2im over a band of output rows [y0, y1) (the GEMMs run in CLBlast),
 * bias addition and bias gradients. The image is c x h x w at img + img_off; a band's column matrix has
 * c*kh*kw rows and (y1-y0)*ow columns. col2im gathers each pixel's contributions in (i, j) order, the
 * order the CPU backend adds them, so both give the same sums. */

/* Work-item (ox, band row, channel x kernel row) writes its kw columns: no division per element (a division of the
 * flat index per element had taken most of a training step on a CPU device), and neighbouring work-items write
 * neighbouring elements. */
__kernel void im2col(__global const float *img, uint img_off, __global float *col, int c, int h, int w, int kh, int kw,
                     int sh, int sw, int ph, int pw, int ow, int y0, int y1)
{
    const int ox = (int)get_global_id(0), by = (int)get_global_id(1), ci = (int)get_global_id(2);
    const int ch = ci / kh, i = ci - ch * kh, iy = (y0 + by) * sh - ph + i;
    const size_t cols = (size_t)(y1 - y0) * ow;
    const bool row_in = iy >= 0 && iy < h;
    __global const float *src = img + img_off + ((size_t)ch * h + (row_in ? iy : 0)) * w;
    __global float *dst = col + (size_t)ci * kw * cols + (size_t)by * ow + ox;
    for (int j = 0; j < kw; j++) {
        const int ix = ox * sw - pw + j;
        dst[(size_t)j * cols] = row_in && ix >= 0 && ix < w ? src[ix] : 0.0f;
    }
}

/* Work-item (x, a row the band's windows cover, channel) adds its pixel's contributions. */
__kernel void col2im(__global const float *col, __global float *img, uint img_off, int c, int h, int w, int kh, int kw,
                     int sh, int sw, int ph, int pw, int ow, int y0, int y1)
{
    const int lo = y0 * sh - ph > 0 ? y0 * sh - ph : 0;
    const int x = (int)get_global_id(0), y = lo + (int)get_global_id(1), ch = (int)get_global_id(2);
    const size_t cols = (size_t)(y1 - y0) * ow, at = img_off + ((size_t)ch * h + y) * w + x;
    float acc = img[at];
    for (int i = 0; i < kh; i++) {
        int ty = y + ph - i;
        if (ty < 0 || ty % sh)
            continue;
        int oy = ty / sh;
        if (oy < y0 || oy >= y1)
            continue;
        for (int j = 0; j < kw; j++) {
            int tx = x + pw - j;
            if (tx < 0 || tx % sw)
                continue;
            int ox = tx / sw;
            if (ox >= ow)
                continue;
            acc += col[((size_t)(ch * kh + i) * kw + j) * cols + (size_t)(oy - y0) * ow + ox];
        }
    }
    img[at] = acc;
}

/* y[n, c, :] += b[c] */
__kernel void bias_add(__global float *y, uint y_off, __global const float *b, uint b_off, int c, uint plane, uint n)
{
    size_t gid = get_global_id(0);
    if (gid >= n)
        return;
    y[y_off + gid] += b[b_off + (gid / plane) % c];
}

/* db[c] += sum over samples and pixels of dy[n, c, :]: one work-group per channel. */
__kernel void bias_grad(__global const float *dy, uint dy_off, __global float *db, uint db_off, int batch, int c,
                        uint plane, __local float *scratch)
{
    int ch = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    float s = 0.0f;
    for (int n = 0; n < batch; n++) {
        __global const float *p = dy + dy_off + ((size_t)n * c + ch) * plane;
        for (uint i = lid; i < plane; i += ls)
            s += p[i];
    }
    scratch[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = ls / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        db[db_off + ch] += scratch[0];
}
