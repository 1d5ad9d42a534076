/* OpenCL platforms and devices through the ICD loader, error names, and backend selection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl-internal.h"

const char *mg_cl_error_name(cl_int err)
{
    switch (err) {
#define E(x)                                                                                                           \
    case x: return #x;
        E(CL_SUCCESS)
        E(CL_DEVICE_NOT_FOUND)
        E(CL_DEVICE_NOT_AVAILABLE)
        E(CL_COMPILER_NOT_AVAILABLE)
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
            E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
                E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
                    E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST) E(
                        CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
                        E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE) E(
                            CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
                            E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
                                E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
                                    E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS)
                                        E(CL_INVALID_PROGRAM) E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME)
                                            E(CL_INVALID_KERNEL_DEFINITION) E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX)
                                                E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE) E(CL_INVALID_KERNEL_ARGS)
                                                    E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
                                                        E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET)
                                                            E(CL_INVALID_EVENT_WAIT_LIST) E(CL_INVALID_EVENT) E(
                                                                CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT)
                                                                E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_MIP_LEVEL) E(
                                                                    CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
                                                                    E(CL_INVALID_IMAGE_DESCRIPTOR)
                                                                        E(CL_INVALID_COMPILER_OPTIONS)
                                                                            E(CL_INVALID_LINKER_OPTIONS)
                                                                                E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
                                                                                    case -1001
            : return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL driver installed)";
    default: return "unknown OpenCL error";
    }
}

mg_status mg_cl_fail(const char *call, cl_int err, const char *file, int line)
{
    return mg_error(err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
                            err == CL_OUT_OF_HOST_MEMORY
                        ? MG_ERR_OOM
                        : MG_ERR_BACKEND,
                    "opencl: %s failed: %s (%d) at %s:%d", call, mg_cl_error_name(err), err, file, line);
}

/* A device string, cut to len - 1 characters when longer. */
static void info_string(cl_device_id d, cl_device_info what, char *buf, size_t len)
{
    char full[1024];
    if (clGetDeviceInfo(d, what, sizeof full, full, NULL) != CL_SUCCESS)
        snprintf(full, sizeof full, "?");
    full[sizeof full - 1] = 0;
    size_t n = strlen(full) < len - 1 ? strlen(full) : len - 1;
    memcpy(buf, full, n);
    buf[n] = 0;
}

void mg_cl_device_describe(cl_platform_id p, cl_device_id d, int index, mg_device_info *out)
{
    memset(out, 0, sizeof *out);
    out->index = index;
    if (clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof out->platform, out->platform, NULL) != CL_SUCCESS)
        snprintf(out->platform, sizeof out->platform, "?");
    info_string(d, CL_DEVICE_NAME, out->name, sizeof out->name);
    info_string(d, CL_DEVICE_VENDOR, out->vendor, sizeof out->vendor);
    info_string(d, CL_DEVICE_VERSION, out->version, sizeof out->version);
    info_string(d, CL_DRIVER_VERSION, out->driver, sizeof out->driver);
    cl_device_type type = 0;
    cl_uint units = 0;
    cl_ulong global = 0, max_alloc = 0;
    size_t wg = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    out->gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    snprintf(out->type, sizeof out->type, "%s",
             out->gpu                              ? "GPU"
             : (type & CL_DEVICE_TYPE_CPU)         ? "CPU"
             : (type & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator"
                                                   : "other");
    out->compute_units = (int)units;
    out->global_mem = global;
    out->max_alloc = max_alloc;
    out->max_work_group = wg;
}

/* Calls visit for every device in platform order until it returns true; returns the number of devices. */
typedef bool (*device_visit)(void *arg, cl_platform_id p, cl_device_id d, int index);

static mg_status devices_walk(device_visit visit, void *arg, int *count)
{
    cl_uint n_platforms = 0;
    *count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &n_platforms);
    if (err == -1001 || n_platforms == 0) /* CL_PLATFORM_NOT_FOUND_KHR: no ICD installed */
        return MG_OK;
    CL_CHECK(err);
    cl_platform_id platforms[16];
    if (n_platforms > 16)
        n_platforms = 16;
    CL_CHECK(clGetPlatformIDs(n_platforms, platforms, NULL));
    for (cl_uint p = 0; p < n_platforms; p++) {
        cl_uint n_devices = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n_devices) != CL_SUCCESS)
            continue;
        cl_device_id devices[32];
        if (n_devices > 32)
            n_devices = 32;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, n_devices, devices, NULL) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < n_devices; d++)
            if (visit && visit(arg, platforms[p], devices[d], (*count)++))
                return MG_OK;
            else if (!visit)
                (*count)++;
    }
    return MG_OK;
}

typedef struct list_args {
    mg_device_info *out;
    int max;
} list_args;

static bool list_visit(void *arg, cl_platform_id p, cl_device_id d, int index)
{
    list_args *a = arg;
    if (index < a->max)
        mg_cl_device_describe(p, d, index, &a->out[index]);
    return false;
}

mg_status mg_opencl_devices(mg_device_info *out, int max, int *count)
{
    list_args a = {out, out ? max : 0};
    return devices_walk(list_visit, &a, count);
}

typedef struct find_args {
    int want;
    cl_platform_id p;
    cl_device_id d;
    bool found;
} find_args;

static bool find_visit(void *arg, cl_platform_id p, cl_device_id d, int index)
{
    find_args *a = arg;
    if (index != a->want)
        return false;
    a->p = p;
    a->d = d;
    a->found = true;
    return true;
}

mg_status mg_cl_device_find(int index, cl_platform_id *p, cl_device_id *d, int *count)
{
    find_args a = {.want = index};
    mg_status s = devices_walk(find_visit, &a, count);
    if (s != MG_OK)
        return s;
    if (!a.found) {
        int n = 0;
        devices_walk(NULL, NULL, &n);
        if (n == 0)
            return mg_error(MG_ERR_UNSUPPORTED, "opencl: no OpenCL device found (install a driver, e.g. "
                                                "pocl-opencl-icd for the CPU, or your GPU vendor's ICD; "
                                                "`mrigan devices` lists what the ICD loader sees)");
        return mg_error(MG_ERR_ARG, "opencl: no device %d (there are %d: 0..%d; see `mrigan devices`)", index, n,
                        n - 1);
    }
    *p = a.p;
    *d = a.d;
    return MG_OK;
}

const bool mg_backend_opencl_built = true;
