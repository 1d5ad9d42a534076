/* The backends of this build and the choice between them (--backend auto|cpu|opencl): above both
 * backends, so that neither needs the other. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mrigan/opencl.h"

bool mg_backend_built(const char *kind)
{
    return kind && (!strcmp(kind, "cpu") || (!strcmp(kind, "opencl") && mg_backend_opencl_built));
}

mg_status mg_backend_open(const char *kind, int device, int n_threads, mg_backend **out)
{
    if (device < 0 && getenv("MRIGAN_DEVICE")) {
        char *end;
        long v = strtol(getenv("MRIGAN_DEVICE"), &end, 10);
        if (end == getenv("MRIGAN_DEVICE") || *end || v < 0 || v > 1000)
            return mg_error(MG_ERR_ARG, "MRIGAN_DEVICE=%s is not a device number", getenv("MRIGAN_DEVICE"));
        device = (int)v;
    }
    if (!strcmp(kind, "cpu"))
        return mg_backend_cpu_new(n_threads, out);
    if (!strcmp(kind, "opencl"))
        return mg_backend_opencl_new(device < 0 ? 0 : device, out);
    if (strcmp(kind, "auto"))
        return mg_error(MG_ERR_ARG, "backend '%s': expected auto, cpu or opencl", kind);
    if (device >= 0 && mg_backend_opencl_built)
        return mg_backend_opencl_new(device, out);
    mg_device_info list[32];
    int n = 0;
    if (mg_opencl_devices(list, 32, &n) == MG_OK)
        for (int i = 0; i < n && i < 32; i++)
            if (list[i].gpu && mg_backend_opencl_new(i, out) == MG_OK)
                return MG_OK;
    return mg_backend_cpu_new(n_threads, out);
}
