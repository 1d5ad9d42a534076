/* Adam, as torch.optim.Adam's single-tensor path and the CPU backend: the same float operations in the
 * same order; step_size = lr / (1 - beta1^t) and bc2 = sqrt(1 - beta2^t) come from the host. */
__kernel void adam_update(__global float *p, uint p_off, __global const float *g, uint g_off, __global float *m,
                          uint m_off, __global float *v, uint v_off, uint n, float beta1, float beta2, float eps,
                          float step_size, float bc2)
{
    size_t i = get_global_id(0);
    if (i >= n)
        return;
    float gi = g[g_off + i];
    float mi = m[m_off + i] * beta1 + gi * (1.0f - beta1);
    float vi = v[v_off + i] * beta2 + (1.0f - beta2) * gi * gi;
    float denom = sqrt(vi) / bc2 + eps;
    m[m_off + i] = mi;
    v[v_off + i] = vi;
    p[p_off + i] += -step_size * (mi / denom);
}
