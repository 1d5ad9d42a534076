/* Normalised gradient fields (mg_ngf_map), one work-item per pixel: the same expressions, in the same order, as
 * src/backend/cpu/cpu-ngf.c; the backward pass gathers the terms of the three map values that read a pixel. */

/* The map at (i, j) of the plane at x and y, and its derivatives by x's horizontal and vertical forward
 * differences (d[0], d[1]) and by y's (d[2], d[3]). */
float ngf_at(__global const float *x, __global const float *y, int h, int w, int i, int j, float e2, float *d)
{
    size_t p = (size_t)i * w + j;
    float ax = j + 1 < w ? x[p + 1] - x[p] : 0.0f, ay = i + 1 < h ? x[p + w] - x[p] : 0.0f;
    float bx = j + 1 < w ? y[p + 1] - y[p] : 0.0f, by = i + 1 < h ? y[p + w] - y[p] : 0.0f;
    float na = ax * ax + ay * ay + e2, nb = bx * bx + by * by + e2, c = ax * bx + ay * by;
    float k = 2.0f * c / (na * nb);
    d[0] = k * (c * ax / na - bx);
    d[1] = k * (c * ay / na - by);
    d[2] = k * (c * bx / nb - ax);
    d[3] = k * (c * by / nb - ay);
    return 1.0f - c * c / (na * nb);
}

__kernel void ngf_fwd(__global const float *x, uint x_off, __global const float *y, uint y_off, __global float *m,
                      uint m_off, int h, int w, float e2, uint n)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    size_t plane = (size_t)h * w, q = i / plane, r = i % plane;
    float d[4];
    m[m_off + i] = ngf_at(x + x_off + q * plane, y + y_off + q * plane, h, w, (int)(r / w), (int)(r % w), e2, d);
}

/* which: 1 adds x's gradient into dx, 2 y's into dy, 3 both. */
__kernel void ngf_bwd(__global const float *x, uint x_off, __global const float *y, uint y_off,
                      __global const float *dm, uint dm_off, __global float *dx, uint dx_off, __global float *dy,
                      uint dy_off, int h, int w, float e2, int which, uint n)
{
    size_t t = get_global_id(0);
    if (t >= n)
        return;
    size_t plane = (size_t)h * w, q = t / plane, at = t % plane;
    int i = (int)(at / w), j = (int)(at % w);
    __global const float *xp = x + x_off + q * plane, *yp = y + y_off + q * plane, *g = dm + dm_off + q * plane;
    float d[4], gx = 0.0f, gy = 0.0f;
    ngf_at(xp, yp, h, w, i, j, e2, d);
    gx -= g[at] * (d[0] + d[1]);
    gy -= g[at] * (d[2] + d[3]);
    if (j > 0) {
        ngf_at(xp, yp, h, w, i, j - 1, e2, d);
        gx += g[at - 1] * d[0];
        gy += g[at - 1] * d[2];
    }
    if (i > 0) {
        ngf_at(xp, yp, h, w, i - 1, j, e2, d);
        gx += g[at - w] * d[1];
        gy += g[at - w] * d[3];
    }
    if (which & 1)
        dx[dx_off + t] += gx;
    if (which & 2)
        dy[dy_off + t] += gy;
}
