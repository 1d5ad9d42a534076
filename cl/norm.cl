/* Instance normalisation, as the CPU backend (cpu-norm.c): one work-group per (n, c) plane, biased
 * variance from two passes (mean, then squared deviations), stats[2q] = mean and stats[2q + 1] = 1/std
 * of plane q. Sums are double-float pairs, added per work-item and then in a fixed tree, so results do
 * not vary between runs. The work-group size is a power of two. gamma and beta are read only when has_gamma
 * / has_beta. With act, a leaky ReLU of slope `slope` (0: ReLU) follows in the same pass, and backward takes its
 * slope at each pixel from the sign of the output y. */
#pragma OPENCL FP_CONTRACT OFF

#define DF(v) ((float2)((v), 0.0f))

/* y = (x - mean) * gamma[c] * rstd + beta[c] over plane q = get_group_id(0). */
__kernel void instance_norm_fwd(__global const float *x, uint x_off, __global const float *gamma, uint gamma_off,
                                int has_gamma, __global const float *beta, uint beta_off, int has_beta,
                                __global float *y, uint y_off, __global float *stats, uint stats_off, int c,
                                uint plane, float eps, int act, float slope, __local float2 *scratch)
{
    size_t q = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    __global const float *xp = x + x_off + q * plane;
    float2 s = DF(0.0f);
    for (size_t i = lid; i < plane; i += ls)
        s = df_add(s, DF(xp[i]));
    float mean = df_div(group_sum(scratch, s), (float)plane);
    s = DF(0.0f);
    for (size_t i = lid; i < plane; i += ls) {
        float d = xp[i] - mean;
        s = df_add(s, DF(d * d));
    }
    float rstd = 1.0f / sqrt(df_div(group_sum(scratch, s), (float)plane) + eps);
    int ch = (int)(q % (size_t)c);
    float scale = has_gamma ? gamma[gamma_off + ch] * rstd : rstd, shift = has_beta ? beta[beta_off + ch] : 0.0f;
    __global float *yp = y + y_off + q * plane;
    for (size_t i = lid; i < plane; i += ls) {
        float v = (xp[i] - mean) * scale + shift;
        yp[i] = act && !(v > 0.0f) ? v * slope : v;
    }
    if (lid == 0) {
        stats[stats_off + 2 * q] = mean;
        stats[stats_off + 2 * q + 1] = rstd;
    }
}

/* Plane q = get_group_id(0): with xhat = (x - mean) * rstd and gm = gamma[c] (1 without gamma),
 * dx += rstd * (gm dy - gm mean(dy) - xhat gm mean(dy xhat)) where want_dx, and sums[4q..4q+3] = sum(dy
 * xhat) and sum(dy) as double-float pairs where want_sums, for instance_norm_affine_grad. */
__kernel void instance_norm_bwd(__global const float *x, uint x_off, __global const float *gamma, uint gamma_off,
                                int has_gamma, __global const float *dy, uint dy_off, __global const float *stats,
                                uint stats_off, __global float *dx, uint dx_off, int want_dx, __global float *sums,
                                int want_sums, int c, uint plane, __global const float *y, uint y_off, int act,
                                float slope, __local float2 *scratch)
{
    size_t q = get_group_id(0), lid = get_local_id(0), ls = get_local_size(0);
    __global const float *xp = x + x_off + q * plane, *dyp = dy + dy_off + q * plane, *yp = y + y_off + q * plane;
    float mean = stats[stats_off + 2 * q], rstd = stats[stats_off + 2 * q + 1];
    float2 s_dy = DF(0.0f), s_dyx = DF(0.0f);
    for (size_t i = lid; i < plane; i += ls) {
        float g = act && !(yp[i] > 0.0f) ? dyp[i] * slope : dyp[i], xhat = (xp[i] - mean) * rstd;
        s_dy = df_add(s_dy, DF(g));
        s_dyx = df_add(s_dyx, DF(g * xhat));
    }
    s_dy = group_sum(scratch, s_dy);
    s_dyx = group_sum(scratch, s_dyx);
    if (want_sums && lid == 0) {
        vstore2(s_dyx, 2 * q, sums);
        vstore2(s_dy, 2 * q + 1, sums);
    }
    if (!want_dx)
        return;
    float gm = has_gamma ? gamma[gamma_off + (int)(q % (size_t)c)] : 1.0f;
    float mg = gm * df_div(s_dy, (float)plane), mgx = gm * df_div(s_dyx, (float)plane);
    __global float *dxp = dx + dx_off + q * plane;
    for (size_t i = lid; i < plane; i += ls) {
        float xhat = (xp[i] - mean) * rstd, g = act && !(yp[i] > 0.0f) ? dyp[i] * slope : dyp[i];
        dxp[i] += rstd * (gm * g - mg - xhat * mgx);
    }
}

/* One work-item per channel: dgamma[c] += the sum over samples of sum(dy xhat) of plane q = n * channels
 * + c, dbeta[c] += that of sum(dy), in sample order. */
__kernel void instance_norm_affine_grad(__global const float *sums, int batch, int channels, __global float *dgamma,
                                        uint dgamma_off, int want_gamma, __global float *dbeta, uint dbeta_off,
                                        int want_beta)
{
    int ch = (int)get_global_id(0);
    if (ch >= channels)
        return;
    float2 sg = DF(0.0f), sb = DF(0.0f);
    for (int n = 0; n < batch; n++) {
        size_t q = (size_t)n * channels + ch;
        sg = df_add(sg, vload2(2 * q, sums));
        sb = df_add(sb, vload2(2 * q + 1, sums));
    }
    if (want_gamma)
        dgamma[dgamma_off + ch] += sg.x + sg.y;
    if (want_beta)
        dbeta[dbeta_off + ch] += sb.x + sb.y;
}
