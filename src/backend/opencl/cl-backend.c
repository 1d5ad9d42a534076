/* The OpenCL backend: context and queue on one device, buffers as cl_mem (tensors are a cl_mem plus an
 * offset, so they go to CLBlast directly), data movement, workspaces, GEMM through CLBlast and Adam.
 * Op kernels live in cl-<family>.c with their sources in cl/<family>.cl. Only OpenCL 1.2 core is used. */
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl-internal.h"

static mg_status cl_buffer_alloc(void *ctx, size_t bytes, void **handle)
{
    cl_ctx *c = ctx;
    if (bytes > c->info.max_alloc)
        return mg_error(MG_ERR_OOM, "opencl: a tensor of %.1f MiB exceeds %s's largest allocation of %.1f MiB",
                        (double)bytes / 1048576.0, c->info.name, (double)c->info.max_alloc / 1048576.0);
    cl_int err;
    cl_mem m = clCreateBuffer(c->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return mg_error(MG_ERR_OOM, "opencl: cannot allocate %.1f MiB on %s (%.1f MiB in all): %s",
                        (double)bytes / 1048576.0, c->info.name, (double)c->info.global_mem / 1048576.0,
                        mg_cl_error_name(err));
    *handle = m;
    return MG_OK;
}

static void cl_buffer_free(void *ctx, void *handle)
{
    (void)ctx;
    clReleaseMemObject((cl_mem)handle);
}

static mg_status cl_tensor_write(void *ctx, mg_tensor *t, const float *src)
{
    cl_ctx *c = ctx;
    CL_CHECK(clEnqueueWriteBuffer(c->queue, cl_buf(t), CL_TRUE, t->offset * sizeof(float), t->numel * sizeof(float),
                                  src, 0, NULL, NULL));
    return MG_OK;
}

static mg_status cl_tensor_read(void *ctx, const mg_tensor *t, float *dst)
{
    cl_ctx *c = ctx;
    CL_CHECK(clEnqueueReadBuffer(c->queue, cl_buf(t), CL_TRUE, t->offset * sizeof(float), t->numel * sizeof(float), dst,
                                 0, NULL, NULL));
    return MG_OK;
}

static mg_status cl_tensor_fill(void *ctx, mg_tensor *t, float value)
{
    cl_ctx *c = ctx;
    CL_CHECK(clEnqueueFillBuffer(c->queue, cl_buf(t), &value, sizeof value, t->offset * sizeof(float),
                                 t->numel * sizeof(float), 0, NULL, NULL));
    return MG_OK;
}

static mg_status cl_tensor_copy(void *ctx, mg_tensor *dst, const mg_tensor *src)
{
    cl_ctx *c = ctx;
    CL_CHECK(clEnqueueCopyBuffer(c->queue, cl_buf(src), cl_buf(dst), src->offset * sizeof(float),
                                 dst->offset * sizeof(float), dst->numel * sizeof(float), 0, NULL, NULL));
    return MG_OK;
}

static mg_status cl_tensor_accumulate(void *ctx, mg_tensor *dst, const mg_tensor *src)
{
    cl_uint n = (cl_uint)dst->numel, od = cl_off(dst), os = cl_off(src);
    cl_mem d = cl_buf(dst), s = cl_buf(src);
    return cl_call(ctx, "elementwise", "accumulate", n, 0, 5, CL_ARG(d), CL_ARG(od), CL_ARG(s), CL_ARG(os), CL_ARG(n));
}

static mg_status cl_tensor_lerp(void *ctx, mg_tensor *dst, const mg_tensor *src, float t)
{
    cl_uint n = (cl_uint)dst->numel, od = cl_off(dst), os = cl_off(src);
    cl_mem d = cl_buf(dst), s = cl_buf(src);
    return cl_call(ctx, "elementwise", "lerp", n, 0, 6, CL_ARG(d), CL_ARG(od), CL_ARG(s), CL_ARG(os), CL_ARG(t),
                   CL_ARG(n));
}

static mg_status cl_adam_update(void *ctx, mg_tensor *param, const mg_tensor *grad, mg_tensor *m, mg_tensor *v,
                                const mg_adam_update *u)
{
    cl_uint n = (cl_uint)param->numel, op = cl_off(param), og = cl_off(grad), om = cl_off(m), ov = cl_off(v);
    cl_mem p = cl_buf(param), g = cl_buf(grad), mm = cl_buf(m), vv = cl_buf(v);
    float b1 = u->beta1, b2 = u->beta2, eps = u->eps, step = u->step_size, bc2 = u->bias_corr2_sqrt;
    return cl_call(ctx, "adam", "adam_update", n, 0, 14, CL_ARG(p), CL_ARG(op), CL_ARG(g), CL_ARG(og), CL_ARG(mm),
                   CL_ARG(om), CL_ARG(vv), CL_ARG(ov), CL_ARG(n), CL_ARG(b1), CL_ARG(b2), CL_ARG(eps), CL_ARG(step),
                   CL_ARG(bc2));
}

static mg_status grow(cl_ctx *c, cl_mem *buf, size_t *cap, size_t n, size_t elem)
{
    if (n <= *cap)
        return MG_OK;
    if (*buf)
        clReleaseMemObject(*buf);
    *buf = NULL;
    *cap = 0;
    void *h = NULL;
    mg_status s = cl_buffer_alloc(c, n * elem, &h);
    if (s == MG_OK) {
        *buf = h;
        *cap = n;
    }
    return s;
}

mg_status cl_workspace(cl_ctx *c, size_t n, cl_mem *out)
{
    mg_status s = grow(c, &c->work, &c->work_cap, n, sizeof(float));
    *out = c->work;
    return s;
}

mg_status cl_partials(cl_ctx *c, size_t n, cl_mem *out)
{
    mg_status s = grow(c, &c->partials, &c->partials_cap, n, sizeof(float));
    *out = c->partials;
    return s;
}

static const char *cl_device_name(void *ctx) { return ((cl_ctx *)ctx)->info.name; }

static size_t cl_memory_total(void *ctx) { return (size_t)((cl_ctx *)ctx)->info.global_mem; }

static mg_status cl_sync(void *ctx)
{
    CL_CHECK(clFinish(((cl_ctx *)ctx)->queue));
    return MG_OK;
}

static size_t cl_workspace_bytes(void *ctx)
{
    cl_ctx *c = ctx;
    return (c->work_cap + c->partials_cap + c->gemm_temp_cap) * sizeof(float);
}

static void cl_workspace_release(void *ctx)
{
    cl_ctx *c = ctx;
    if (c->work)
        clReleaseMemObject(c->work);
    if (c->partials)
        clReleaseMemObject(c->partials);
    if (c->gemm_temp)
        clReleaseMemObject(c->gemm_temp);
    c->work = c->partials = c->gemm_temp = NULL;
    c->work_cap = c->partials_cap = c->gemm_temp_cap = 0;
}

mg_status cl_gemm(cl_ctx *c, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_off,
                  size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem cm, size_t c_off, size_t ldc)
{
    /* CLBlast's indirect kernel copies the matrices it has to pad or transpose into a temporary buffer, which it
     * would allocate (and the driver fault in, page by page, on a CPU device) at every call: one buffer of the most
     * any of them can need (each side rounded up to 128, past any tile size) is kept instead. */
    const size_t mr = (m + 127) / 128 * 128, nr = (n + 127) / 128 * 128, kr = (k + 127) / 128 * 128;
    mg_status s = grow(c, &c->gemm_temp, &c->gemm_temp_cap, mr * kr + kr * nr + mr * nr, sizeof(float));
    if (s != MG_OK)
        return s;
    const CLBlastTranspose tra = ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                           trb = tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode st = CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, tra, trb, m, n, k, alpha, a, a_off, lda, b,
                                                      b_off, ldb, beta, cm, c_off, ldc, &c->queue, NULL, c->gemm_temp);
    if (st == CLBlastInsufficientMemoryTemp) /* a layout this bound missed: CLBlast's own buffer */
        st = CLBlastSgemm(CLBlastLayoutRowMajor, tra, trb, m, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, cm,
                          c_off, ldc, &c->queue, NULL);
    if (st != CLBlastSuccess)
        return mg_error(st == CLBlastTempBufferAllocFailure || st == CLBlastOpenCLOutOfResources ? MG_ERR_OOM
                                                                                                 : MG_ERR_BACKEND,
                        "opencl: CLBlastSgemm (%zux%zux%zu) failed: CLBlast status %d%s", m, n, k, (int)st,
                        st > -1000 ? mg_cl_error_name((cl_int)st) : "");
    return MG_OK;
}

static void cl_destroy(void *ctx)
{
    cl_ctx *c = ctx;
    if (!c)
        return;
    if (c->queue)
        clFinish(c->queue);
    cl_workspace_release(c);
    for (int i = 0; i < c->n_kernels; i++)
        clReleaseKernel(c->kernels[i].kernel);
    for (size_t i = 0; i < sizeof c->programs / sizeof *c->programs; i++)
        if (c->programs[i])
            clReleaseProgram(c->programs[i]);
    if (c->queue)
        clReleaseCommandQueue(c->queue);
    if (c->context)
        clReleaseContext(c->context);
    free(c);
}

/* The op tables come from the X-macro list. */
// clang-format off
static const mg_backend_iface cl_iface = {
    .name = "opencl",
    .buffer_alloc = cl_buffer_alloc,
    .buffer_free = cl_buffer_free,
    .tensor_write = cl_tensor_write,
    .tensor_read = cl_tensor_read,
    .tensor_fill = cl_tensor_fill,
    .tensor_accumulate = cl_tensor_accumulate,
    .tensor_copy = cl_tensor_copy,
    .tensor_lerp = cl_tensor_lerp,
    .adam_update = cl_adam_update,
    .device_name = cl_device_name,
    .sync = cl_sync,
    .workspace_bytes = cl_workspace_bytes,
    .memory_total = cl_memory_total,
    .workspace_release = cl_workspace_release,
    .destroy = cl_destroy,
    .fwd = {
#define OP(e, name, n_src) [MG_OP_##e] = cl_##name##_fwd,
#include "base/ops.def"
#undef OP
    },
    .bwd = {
#define OP(e, name, n_src) [MG_OP_##e] = cl_##name##_bwd,
#include "base/ops.def"
#undef OP
    },
};
// clang-format on

mg_status mg_backend_opencl_new(int device, mg_backend **out)
{
    *out = NULL;
    cl_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return mg_error(MG_ERR_OOM, "opencl: out of host memory");
    int count;
    mg_status s = mg_cl_device_find(device, &c->platform, &c->device, &count);
    if (s != MG_OK) {
        free(c);
        return s;
    }
    mg_cl_device_describe(c->platform, c->device, device, &c->info);
    cl_int err;
    c->context = clCreateContext(NULL, 1, &c->device, NULL, NULL, &err);
    if (err == CL_SUCCESS)
        c->queue = clCreateCommandQueue(c->context, c->device, 0, &err);
    if (err != CL_SUCCESS) {
        s = mg_error(MG_ERR_BACKEND, "opencl: cannot open device %d (%s): %s (%d)", device, c->info.name,
                     mg_cl_error_name(err), err);
        cl_destroy(c);
        return s;
    }
    const char *mode = getenv("MRIGAN_CL_CONV");
    c->conv_mode = !mode || !*mode ? 0 : !strcmp(mode, "im2col") ? 1 : !strcmp(mode, "convgemm") ? 2 : -1;
    if (c->conv_mode < 0) {
        s = mg_error(MG_ERR_ARG, "MRIGAN_CL_CONV=%s: expected im2col or convgemm", mode);
        cl_destroy(c);
        return s;
    }
    if ((s = cl_tune_apply(c, c->tuning_path, sizeof c->tuning_path)) != MG_OK) {
        cl_destroy(c);
        return s;
    }
    c->local_size = 1;
    while (c->local_size * 2 <= 256 && c->local_size * 2 <= c->info.max_work_group)
        c->local_size *= 2;
    return mg_backend_create(&cl_iface, c, 1, out);
}
