/* Elementwise kernels. */
__kernel void accumulate(__global float *y, uint y_off, __global const float *x, uint x_off, uint n)
{
    size_t i = get_global_id(0);
    if (i < n)
        y[y_off + i] += x[x_off + i];
}
