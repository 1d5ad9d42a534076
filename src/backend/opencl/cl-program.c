/* Building the kernels of cl/: sources embedded in the binary (or read from $MRIGAN_CL_DIR while
 * developing), each family compiled with cl/common.cl in front, once per device on first use, and cached on
 * disk as device binaries keyed by a hash of device, driver, options and sources, so a second run starts
 * without compiling. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "cl-internal.h"
#include "cl-sources.h"

#define BUILD_OPTIONS "-cl-std=CL1.2"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

static int family_index(const char *family)
{
    for (int i = 0; i < mg_cl_source_count; i++)
        if (!strcmp(mg_cl_sources[i].family, family))
            return i;
    return -1;
}

/* The source text of a family: $MRIGAN_CL_DIR/<family>.cl when set, else the embedded copy. *owned is
 * set when the caller must free the text. */
static mg_status source_get(int fi, char **text, size_t *len, bool *owned)
{
    const char *dir = getenv("MRIGAN_CL_DIR");
    *owned = false;
    if (!dir || !*dir) {
        *text = (char *)mg_cl_sources[fi].text;
        *len = mg_cl_sources[fi].length;
        return MG_OK;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.cl", dir, mg_cl_sources[fi].family);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mg_error(MG_ERR_IO, "MRIGAN_CL_DIR: cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!*text || fread(*text, 1, (size_t)n, f) != (size_t)n) {
        free(*text);
        fclose(f);
        return mg_error(MG_ERR_IO, "MRIGAN_CL_DIR: cannot read %s", path);
    }
    fclose(f);
    (*text)[n] = 0;
    *len = (size_t)n;
    *owned = true;
    return MG_OK;
}

bool cl_cache_dir(char *dir, size_t len)
{
    const char *base = getenv("MRIGAN_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (base && *base)
        return mg_path_fmt(dir, len, "%s", base);
    if (xdg && *xdg)
        return mg_path_fmt(dir, len, "%s/mrigan", xdg);
    return home && *home && mg_path_fmt(dir, len, "%s/.cache/mrigan", home);
}

static bool cache_path(const cl_ctx *c, const char *const *texts, const size_t *lens, char *path, size_t path_len)
{
    char dir[3072];
    if (!cl_cache_dir(dir, sizeof dir))
        return false;
    uint64_t h = 0xCBF29CE484222325ull;
    const char *parts[] = {c->info.platform, c->info.name, c->info.vendor, c->info.driver, BUILD_OPTIONS};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        h = fnv1a(h, parts[i], strlen(parts[i]) + 1);
    h = fnv1a(fnv1a(h, texts[0], lens[0]), texts[1], lens[1]);
    (void)mg_file_make_dirs(dir); /* the cache is optional: a folder that cannot be made fails the save, quietly */
    return snprintf(path, path_len, "%s/cl-%016llx.bin", dir, (unsigned long long)h) < (int)path_len;
}

static cl_program program_from_cache(cl_ctx *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bin = n > 0 ? malloc((size_t)n) : NULL;
    size_t size = (size_t)(n > 0 ? n : 0);
    bool ok = bin && fread(bin, 1, size, f) == size;
    fclose(f);
    cl_program p = NULL;
    if (ok) {
        cl_int status, err;
        const unsigned char *bins[1] = {bin};
        p = clCreateProgramWithBinary(c->context, 1, &c->device, &size, bins, &status, &err);
        if (err != CL_SUCCESS || status != CL_SUCCESS ||
            clBuildProgram(p, 1, &c->device, BUILD_OPTIONS, NULL, NULL) != CL_SUCCESS) {
            if (p)
                clReleaseProgram(p);
            p = NULL;
        }
    }
    free(bin);
    return p;
}

typedef struct program_bytes {
    const unsigned char *bin;
    size_t size;
} program_bytes;

static mg_status program_bytes_write(FILE *f, void *arg)
{
    const program_bytes *b = arg;
    fwrite(b->bin, 1, b->size, f); /* a short write shows in f's error flag */
    return MG_OK;
}

/* A cache is best effort: a binary that cannot be written is compiled again next time. */
static void program_to_cache(cl_ctx *c, cl_program p, const char *path)
{
    size_t size = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0)
        return;
    unsigned char *bin = malloc(size);
    unsigned char *bins[1] = {bin};
    (void)c;
    if (bin && clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS)
        (void)mg_file_write_atomic("", path, program_bytes_write, &(program_bytes){bin, size});
    free(bin);
}

static mg_status program_build(cl_ctx *c, int fi, cl_program *out)
{
    int ci = family_index("common");
    char *texts[2] = {NULL, NULL};
    size_t lens[2];
    bool owned[2] = {false, false};
    mg_status s = ci < 0 ? mg_error(MG_ERR_BACKEND, "opencl: cl/common.cl is not embedded")
                         : source_get(ci, &texts[0], &lens[0], &owned[0]);
    if (s == MG_OK)
        s = source_get(fi, &texts[1], &lens[1], &owned[1]);
    char path[4096];
    bool cacheable = s == MG_OK && cache_path(c, (const char *const *)texts, lens, path, sizeof path);
    cl_program p = cacheable ? program_from_cache(c, path) : NULL;
    if (s == MG_OK && !p) {
        cl_int err;
        p = clCreateProgramWithSource(c->context, 2, (const char **)texts, lens, &err);
        if (err != CL_SUCCESS) {
            s = mg_cl_fail("clCreateProgramWithSource", err, __FILE__, __LINE__);
        } else if ((err = clBuildProgram(p, 1, &c->device, BUILD_OPTIONS, NULL, NULL)) != CL_SUCCESS) {
            char log[4096] = "";
            clGetProgramBuildInfo(p, c->device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
            log[sizeof log - 1] = 0;
            clReleaseProgram(p);
            p = NULL;
            s = mg_error(MG_ERR_BACKEND, "opencl: building cl/%s.cl for %s failed: %s (%d); build log:\n%s",
                         mg_cl_sources[fi].family, c->info.name, mg_cl_error_name(err), err, log);
        } else if (cacheable) {
            program_to_cache(c, p, path);
        }
    }
    for (int i = 0; i < 2; i++)
        if (owned[i])
            free(texts[i]);
    if (s == MG_OK)
        *out = p;
    return s;
}

mg_status cl_kernel_get(cl_ctx *c, const char *family, const char *name, cl_kernel *out)
{
    for (int i = 0; i < c->n_kernels; i++)
        if (c->kernels[i].name == name && c->kernels[i].family == family) {
            *out = c->kernels[i].kernel;
            return MG_OK;
        }
    for (int i = 0; i < c->n_kernels; i++)
        if (!strcmp(c->kernels[i].name, name) && !strcmp(c->kernels[i].family, family)) {
            *out = c->kernels[i].kernel;
            return MG_OK;
        }
    int fi = family_index(family);
    if (fi < 0 || fi >= (int)(sizeof c->programs / sizeof *c->programs))
        return mg_error(MG_ERR_BACKEND, "opencl: no kernel family cl/%s.cl", family);
    if (!c->programs[fi]) {
        mg_status s = program_build(c, fi, &c->programs[fi]);
        if (s != MG_OK)
            return s;
    }
    if (c->n_kernels == CL_MAX_KERNELS)
        return mg_error(MG_ERR_BACKEND, "opencl: more than %d kernels", CL_MAX_KERNELS);
    cl_int err;
    cl_kernel k = clCreateKernel(c->programs[fi], name, &err);
    if (err != CL_SUCCESS)
        return mg_error(MG_ERR_BACKEND, "opencl: kernel %s in cl/%s.cl: %s (%d)", name, family, mg_cl_error_name(err),
                        err);
    c->kernels[c->n_kernels++] = (cl_kernel_entry){family, name, k};
    *out = k;
    return MG_OK;
}

size_t cl_local_size(cl_ctx *c, const char *family, const char *name)
{
    cl_kernel k;
    size_t k_max = 0, ls = c->local_size;
    if (cl_kernel_get(c, family, name, &k) != MG_OK ||
        clGetKernelWorkGroupInfo(k, c->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof k_max, &k_max, NULL) != CL_SUCCESS)
        return ls; /* the launch reports the problem */
    while (ls > 1 && ls > k_max)
        ls /= 2;
    return ls;
}

mg_status cl_run(cl_ctx *c, cl_kernel k, size_t global, size_t local)
{
    if (global == 0)
        return MG_OK;
    if (local)
        global = (global + local - 1) / local * local;
    CL_CHECK(clEnqueueNDRangeKernel(c->queue, k, 1, NULL, &global, local ? &local : NULL, 0, NULL, NULL));
    return MG_OK;
}

/* The kernel `name` of cl/<family>.cl with its arguments set from ap's (size, pointer) pairs. */
static mg_status cl_kernel_with_args(cl_ctx *c, const char *family, const char *name, cl_kernel *k, int n_args,
                                     va_list ap)
{
    mg_status s = cl_kernel_get(c, family, name, k);
    for (int i = 0; s == MG_OK && i < n_args; i++) {
        size_t size = va_arg(ap, size_t);
        const void *value = va_arg(ap, const void *);
        cl_int err = clSetKernelArg(*k, (cl_uint)i, size, value);
        if (err != CL_SUCCESS)
            s = mg_error(MG_ERR_BACKEND, "opencl: %s argument %d: %s (%d)", name, i, mg_cl_error_name(err), err);
    }
    return s;
}

mg_status cl_call(cl_ctx *c, const char *family, const char *name, size_t global, size_t local, int n_args, ...)
{
    cl_kernel k;
    va_list ap;
    va_start(ap, n_args);
    mg_status s = cl_kernel_with_args(c, family, name, &k, n_args, ap);
    va_end(ap);
    if (s != MG_OK)
        return s;
    size_t k_max = 0;
    if (local &&
        clGetKernelWorkGroupInfo(k, c->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof k_max, &k_max, NULL) == CL_SUCCESS &&
        local > k_max)
        return mg_error(MG_ERR_UNSUPPORTED,
                        "opencl: kernel %s of cl/%s.cl runs in work-groups of %zu on %s, which allows %zu for it "
                        "(CL_KERNEL_WORK_GROUP_SIZE)",
                        name, family, local, c->info.name, k_max);
    return cl_run(c, k, global, local);
}

mg_status cl_call_3d(cl_ctx *c, const char *family, const char *name, const size_t global[3], int n_args, ...)
{
    cl_kernel k;
    va_list ap;
    va_start(ap, n_args);
    mg_status s = cl_kernel_with_args(c, family, name, &k, n_args, ap);
    va_end(ap);
    if (s != MG_OK || !global[0] || !global[1] || !global[2])
        return s;
    CL_CHECK(clEnqueueNDRangeKernel(c->queue, k, 3, NULL, global, NULL, 0, NULL, NULL));
    return MG_OK;
}
