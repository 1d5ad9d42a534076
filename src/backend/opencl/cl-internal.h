/* Internals of the OpenCL backend shared by its files. */
#ifndef MRIGAN_CL_INTERNAL_H
#define MRIGAN_CL_INTERNAL_H

#include <CL/cl.h>
#include <stdbool.h>

#include "backend/backend.h"
#include "mrigan/opencl.h"

#define CL_MAX_KERNELS 96

typedef struct cl_kernel_entry {
    const char *family, *name;
    cl_kernel kernel;
} cl_kernel_entry;

typedef struct cl_ctx {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    mg_device_info info;
    cl_program programs[16]; /* per family of cl/, built on first use */
    cl_kernel_entry kernels[CL_MAX_KERNELS];
    int n_kernels;
    /* Workspaces shared by successive kernels: safe because the queue is in order (never create it with
     * CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE without giving each kernel its own scratch). */
    cl_mem work; /* im2col / col2im workspace */
    size_t work_cap;
    cl_mem partials; /* per-block partial sums */
    size_t partials_cap;
    cl_mem gemm_temp; /* CLBlast's padded and transposed copies of a GEMM's matrices, kept from one GEMM to the next */
    size_t gemm_temp_cap;
    size_t local_size; /* work-group size of the reduction kernels, a power of two */
    /* Forward convolutions: im2col + SGEMM or CLBlast's convgemm, whichever measured faster for the shape
     * ($MRIGAN_CL_CONV=im2col|convgemm forces one). */
    int conv_mode; /* 0 measure, 1 im2col, 2 convgemm */
    struct cl_conv_choice {
        int key[11];
        bool convgemm;
    } conv_choices[64];
    int n_conv_choices;
    char tuning_path[4096]; /* the tuning file applied, "" for none */
} cl_ctx;

/* The folder of the compiled programs and tuning files: $MRIGAN_CACHE_DIR, $XDG_CACHE_HOME/mrigan or ~/.cache/mrigan;
 * false when none is set (or the path does not fit). */
bool cl_cache_dir(char *dir, size_t len);
/* Applies the device's tuning file (cl-tune.c) to CLBlast, its path into path ("" when there is none). */
mg_status cl_tune_apply(cl_ctx *c, char *path, size_t len);

const char *mg_cl_error_name(cl_int err);
void mg_cl_device_describe(cl_platform_id p, cl_device_id d, int index, mg_device_info *out);
mg_status mg_cl_device_find(int index, cl_platform_id *p, cl_device_id *d, int *count);
/* MG_ERR_BACKEND naming the call, the code and the place. */
mg_status mg_cl_fail(const char *call, cl_int err, const char *file, int line);

#define CL_CHECK(call)                                                                                                 \
    do {                                                                                                               \
        cl_int err_ = (call);                                                                                          \
        if (err_ != CL_SUCCESS)                                                                                        \
            return mg_cl_fail(#call, err_, __FILE__, __LINE__);                                                        \
    } while (0)

static inline cl_mem cl_buf(const mg_tensor *t) { return (cl_mem)t->buf->handle; }
static inline cl_uint cl_off(const mg_tensor *t) { return (cl_uint)t->offset; }

/* The kernel `name` of cl/<family>.cl, compiled for the device on first use (and cached on disk). */
mg_status cl_kernel_get(cl_ctx *c, const char *family, const char *name, cl_kernel *out);
/* Sets the kernel's arguments from (size, pointer) pairs. */
mg_status cl_set_args(cl_kernel k, int n, const size_t *sizes, const void *const *values);
/* The work-group size for a reduction kernel: the backend's (a power of two), halved until the kernel's own
 * limit (CL_KERNEL_WORK_GROUP_SIZE, which can be below the device's) allows it. */
size_t cl_local_size(cl_ctx *c, const char *family, const char *name);
/* Runs k over `global` work-items (rounded up to a multiple of `local`; local 0 lets the driver choose). */
mg_status cl_run(cl_ctx *c, cl_kernel k, size_t global, size_t local);
/* Workspaces of at least n floats. */
mg_status cl_workspace(cl_ctx *c, size_t n, cl_mem *out);
mg_status cl_partials(cl_ctx *c, size_t n, cl_mem *out);

/* A kernel call in one line: CL_CALL(c, "family", "name", global, local, args...) with each argument
 * given as a variable (its address and size are taken). */
#define CL_ARG(v) sizeof(v), (const void *)&(v)
mg_status cl_call(cl_ctx *c, const char *family, const char *name, size_t global, size_t local, int n_args, ...);
/* The same over a 3-D range of global[0] x global[1] x global[2] work-items, in work-groups the driver chooses
 * (nothing runs when one of them is 0). */
mg_status cl_call_3d(cl_ctx *c, const char *family, const char *name, const size_t global[3], int n_args, ...);

/* Forward and backward kernels of every op, one pair per line of ops.def. */
#define OP(e, name, n_src)                                                                                             \
    mg_status cl_##name##_fwd(void *ctx, mg_node *node);                                                               \
    mg_status cl_##name##_bwd(void *ctx, mg_node *node);
#include "base/ops.def"
#undef OP

/* y[0] = the mean squared error of x against t, and dx += dy[0] * its gradient by x, for ops that build their own
 * target (quantile_loss). */
mg_status cl_mse_value(cl_ctx *c, const mg_tensor *x, const mg_tensor *t, const mg_tensor *y);
mg_status cl_mse_grad(cl_ctx *c, const mg_tensor *x, const mg_tensor *t, const mg_tensor *dy, const mg_tensor *dx);

/* C[M,N] = alpha op(A) op(B) + beta C through CLBlast, row-major, buffers with offsets in floats. */
mg_status cl_gemm(cl_ctx *c, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_off,
                  size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem cm, size_t c_off, size_t ldc);

#endif
