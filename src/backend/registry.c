/* The backends of this build and the choice between them (--backend auto|cpu|opencl): above both
 * backends, so that neither needs the other. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "mrigan/opencl.h"

static const bool registry_built_cpu = true;
#define registry_built_opencl mg_backend_opencl_built

static mg_status registry_open_cpu(int device, int n_threads, mg_backend **out)
{
    (void)device;
    return mg_backend_cpu_new(n_threads, out);
}

static mg_status registry_open_opencl(int device, int n_threads, mg_backend **out)
{
    (void)n_threads;
    return mg_backend_opencl_new(device < 0 ? 0 : device, out);
}

static const struct registry_entry {
    const char *name;
    const bool *built;
    mg_status (*open)(int device, int n_threads, mg_backend **out);
} registry[] = {
#define BACKEND(name, what) {#name, &registry_built_##name, registry_open_##name},
#include "mrigan/backends.def"
#undef BACKEND
};

const char *const mg_backend_names[] = {
#define BACKEND(name, what) #name,
#include "mrigan/backends.def"
#undef BACKEND
    NULL};

const char mg_backend_choice_list[] = "|auto"
#define BACKEND(name, what) "|" #name
#include "mrigan/backends.def"
#undef BACKEND
    ;

static const struct registry_entry *registry_find(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof registry / sizeof *registry; i++)
        if (!strcmp(kind, registry[i].name))
            return &registry[i];
    return NULL;
}

bool mg_backend_built(const char *kind)
{
    const struct registry_entry *e = registry_find(kind);
    return e && *e->built;
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
    const struct registry_entry *e = registry_find(kind);
    if (e) /* one not built says so itself (opencl-none.c) */
        return e->open(device, n_threads, out);
    if (!kind || strcmp(kind, "auto"))
        return mg_error(MG_ERR_ARG, "backend '%s': expected one of %s", kind ? kind : "(none)", MG_BACKEND_CHOICES);
    /* auto: the first OpenCL GPU, else the CPU */
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
