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
/* The OpenCL backend on device `device` (an index of mg_opencl_devices()). */
mg_status mg_backend_opencl_new(int device, mg_backend **out);

#ifdef __cplusplus
}
#endif
#endif
