/* The OpenCL entry points of a build without OpenCL (-Dopencl=disabled, or no OpenCL ICD loader and
 * CLBlast when it was built): no devices, and a backend that says why it cannot be made. */
#include "backend.h"
#include "mrigan/opencl.h"

const bool mg_backend_opencl_built = false;

mg_status mg_opencl_devices(mg_device_info *out, int max, int *count)
{
    (void)out;
    (void)max;
    *count = 0;
    return MG_OK;
}

mg_status mg_backend_opencl_new(int device, mg_backend **out)
{
    (void)device;
    *out = NULL;
    return mg_error(MG_ERR_UNSUPPORTED, "opencl: this mrigan was built without the OpenCL backend (meson setup "
                                        "-Dopencl=disabled, or the OpenCL ICD loader and CLBlast were missing); "
                                        "use --backend cpu, or rebuild with ocl-icd-opencl-dev and libclblast-dev");
}

mg_status mg_opencl_tune(const mg_opencl_tune_opts *o, mg_opencl_tune_result *r)
{
    (void)o;
    (void)r;
    return mg_backend_opencl_new(0, &(mg_backend *){NULL});
}

mg_status mg_opencl_tuning_path(int device, const char *dir, char *buf, size_t len)
{
    (void)device;
    (void)dir;
    if (len)
        buf[0] = '\0';
    return mg_backend_opencl_new(0, &(mg_backend *){NULL});
}
