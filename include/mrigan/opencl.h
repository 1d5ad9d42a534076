/* OpenCL devices and the OpenCL backend. In a build without OpenCL (-Dopencl=disabled, or no OpenCL ICD
 * loader and CLBlast at build time) these exist too: no devices are listed, and the backend cannot be made
 * (MG_ERR_UNSUPPORTED, with a message that says why). mg_backend_built("opencl") tells which build this is. */
#ifndef MRIGAN_OPENCL_H
#define MRIGAN_OPENCL_H

#include "mrigan/mrigan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* OpenCL devices, found through the ICD loader, numbered across platforms in platform order. */
typedef struct mg_device_info {
    int index; /* the N of --device N */
    char platform[128], name[128], vendor[128], version[64], driver[64], type[16];
    bool gpu;
    int compute_units;
    uint64_t global_mem, max_alloc;
    size_t max_work_group;
} mg_device_info;

/* Fills up to max entries of out and sets *count to the number of devices. No OpenCL platform at all
 * (no ICD installed, or a build without OpenCL) is not an error: *count is 0. */
mg_status mg_opencl_devices(mg_device_info *out, int max, int *count);
/* The OpenCL backend on device `device` (an index of mg_opencl_devices()). CLBlast's GEMMs take the parameters in the
 * device's tuning file (mg_opencl_tuning_path) when there is one and $MRIGAN_CL_TUNING is not "off"; a file that
 * cannot be read or applied is an error naming it and the line. */
mg_status mg_backend_opencl_new(int device, mg_backend **out);

/* The OpenCL backend's column workspace in floats: convolutions run in bands of output rows whose im2col columns fit
 * it, so a layer's GEMMs are at most this wide (what mrigan bench tune times). Smaller than the CPU backend's, so that
 * the tests exercise several bands on both. */
#define MG_OPENCL_CONV_WORK_FLOATS (1u << 21)

/* A GEMM as the backend runs it: C [m x n] = op(A) op(B), row-major, op the transpose where ta or tb. */
typedef struct mg_gemm_shape {
    int m, n, k;
    bool ta, tb;
} mg_gemm_shape;

/* Choosing CLBlast's GEMM parameters for a device (mrigan bench tune): random parameter sets of its Xgemm kernel
 * that satisfy the kernel's constraints, each checked against a product in double (the rounding bound of a sum of
 * k products) and timed on the shapes, then the size below which CLBlast's direct kernel takes over; the fastest
 * set is written to the device's tuning file, or a file that keeps CLBlast's own when none beat them. Call it in a
 * process that has not opened the device's backend yet: CLBlast keeps parameters per device for the process. */
typedef struct mg_opencl_tune_opts {
    int device;
    const mg_gemm_shape *shapes; /* timed; the sum of their times is what is made small */
    int n_shapes;
    int candidates; /* parameter sets tried */
    uint64_t seed;
    const char *dir; /* where the file goes; NULL: mg_opencl_tuning_path's folder */
    void (*progress)(int done, int total, double best_s, double default_s, void *user);
    void *user;
} mg_opencl_tune_opts;

typedef struct mg_opencl_tune_result {
    double default_s, best_s; /* the shapes' total seconds with CLBlast's parameters, with the chosen ones */
    int tried, failed;        /* parameter sets tried; those CLBlast refused or that failed the check */
    int min_indirect;         /* the direct kernel's size limit chosen, -1 for CLBlast's own */
    char path[4096];          /* the file written */
} mg_opencl_tune_result;

mg_status mg_opencl_tune(const mg_opencl_tune_opts *o, mg_opencl_tune_result *r);
/* The tuning file of device `device`, whether it exists or not: in dir, or else $MRIGAN_CACHE_DIR,
 * $XDG_CACHE_HOME/mrigan or ~/.cache/mrigan, named after the device and its driver version. */
mg_status mg_opencl_tuning_path(int device, const char *dir, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
