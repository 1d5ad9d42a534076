/* NIfTI volumes in and out. nifti_clib reads the header (NIfTI-1 or -2, either byte order, plain or gzip) and turns
 * it into the image description it keeps; the voxels are read here through zlib, as they arrive, so a header that
 * claims more data than the file holds costs no memory before the read finds out. Written volumes go through the
 * one atomic-write helper (a temporary file renamed), compressed by zlib when the name ends in .gz. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#include <nifti2_io.h>

#include "base/base.h"
#include "base/file.h"
#include "mrigan/volume.h"

struct mg_volume_header {
    nifti_image *nim; /* without data or extensions */
};

static bool nifti_has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k && strcasecmp(name + n - k, suffix) == 0;
}

bool mg_volume_is_name(const char *name) { return nifti_has_suffix(name, ".nii") || nifti_has_suffix(name, ".nii.gz"); }

void mg_volume_free(mg_volume *v)
{
    if (!v)
        return;
    if (v->header) {
        nifti_image_free(v->header->nim);
        free(v->header);
    }
    free(v->data);
    *v = (mg_volume){0};
}

/* The voxel types read, with their sizes; anything else (complex, RGB, binary, float128) is refused. */
static int nifti_type_size(int datatype)
{
    switch (datatype) {
    case DT_UINT8:
    case DT_INT8: return 1;
    case DT_INT16:
    case DT_UINT16: return 2;
    case DT_INT32:
    case DT_UINT32:
    case DT_FLOAT32: return 4;
    case DT_INT64:
    case DT_UINT64:
    case DT_FLOAT64: return 8;
    default: return 0;
    }
}

/* Whether the dimensions of a raw header (as read, in either byte order) are sane. nifti_clib's conversion trusts
 * dim[0] as a count (a header claiming 2^36 dimensions overflows its stack), and its own check prints to stderr,
 * so the dimensions are checked here first. */
static bool nifti_dims_look_good(const void *raw, int version)
{
    int64_t dim[8];
    if (version == 1) {
        nifti_1_header h;
        memcpy(&h, raw, sizeof h);
        if (h.sizeof_hdr != 348)
            nifti_swap_as_nifti1(&h);
        for (int k = 0; k < 8; k++)
            dim[k] = h.dim[k];
    } else if (version == 2) {
        nifti_2_header h;
        memcpy(&h, raw, sizeof h);
        if (h.sizeof_hdr != 540)
            nifti_swap_as_nifti2(&h);
        for (int k = 0; k < 8; k++)
            dim[k] = h.dim[k];
    } else {
        return false;
    }
    if (dim[0] < 1 || dim[0] > 7)
        return false;
    for (int k = 1; k <= dim[0]; k++)
        if (dim[k] < 1)
            return false;
    return true;
}

/* The header as nifti_clib reads it, checked against itself and, for a plain file, against the file's size. */
static mg_status nifti_open_header(const char *path, nifti_image **out)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return mg_error(MG_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mg_error(MG_ERR_IO, "%s: not a file", path);
    gzFile probe = gzopen(path, "rb"); /* nifti_clib says little about why it fails: find out first */
    if (!probe)
        return mg_error(MG_ERR_IO, "%s: %s", path, strerror(errno));
    unsigned char head[4] = {0};
    int got = gzread(probe, head, sizeof head);
    gzclose(probe);
    int32_t size1;
    memcpy(&size1, head, 4);
    int32_t swapped = (int32_t)__builtin_bswap32((uint32_t)size1);
    FILE *raw = fopen(path, "rb");
    const bool gzip_bytes = raw && fgetc(raw) == 0x1f && fgetc(raw) == 0x8b;
    if (raw)
        fclose(raw);
    if (gzip_bytes && !nifti_is_gzfile(path))
        return mg_error(MG_ERR_FORMAT, "%s: gzip-compressed, but not named .nii.gz (rename it)", path);
    if (got < 4 || !(size1 == 348 || size1 == 540 || swapped == 348 || swapped == 540))
        return mg_error(MG_ERR_FORMAT, "%s: not a NIfTI volume (%s)", path,
                        got < 0   ? "corrupt gzip data"
                        : got < 4 ? "too short"
                                  : "no NIfTI header size at its start");
    int version = 0;
    void *hdr = nifti_read_header(path, &version, 0); /* checked here, with messages that name the file */
    if (hdr && version != 1 && version != 2) {
        free(hdr);
        return mg_error(MG_ERR_FORMAT, "%s: not a NIfTI-1 or NIfTI-2 header (no n+1 or n+2 magic: ANALYZE or damaged)",
                        path);
    }
    if (hdr && !nifti_dims_look_good(hdr, version)) {
        free(hdr);
        return mg_error(MG_ERR_FORMAT,
                        "%s: the header's dimensions are out of range (dim[0] not 1..7, or a size below 1)", path);
    }
    nifti_image *nim = NULL;
    if (hdr && version == 1)
        nim = nifti_convert_n1hdr2nim(*(nifti_1_header *)hdr, path);
    else if (hdr && version == 2)
        nim = nifti_convert_n2hdr2nim(*(nifti_2_header *)hdr, path);
    free(hdr);
    if (!nim)
        return mg_error(MG_ERR_FORMAT, "%s: not a valid NIfTI-1 or NIfTI-2 header (truncated, or fields out of range)",
                        path);
    mg_status s = MG_OK;
    /* The standard defines dim[1..dim[0]] only: the sizes beyond are 1, whatever the file holds (often 0). */
    int64_t *sizes[7] = {&nim->nx, &nim->ny, &nim->nz, &nim->nt, &nim->nu, &nim->nv, &nim->nw};
    for (int k = (int)nim->ndim; k < 7; k++) {
        *sizes[k] = 1;
        nim->dim[k + 1] = 1;
    }
    /* nifti_clib calls every single file NIfTI-1: the version comes from the header's size */
    if (nim->nifti_type == NIFTI_FTYPE_NIFTI1_1 && version == 2)
        nim->nifti_type = NIFTI_FTYPE_NIFTI2_1;
    const int size = nifti_type_size(nim->datatype);
    const int64_t max = MG_VOLUME_MAX_VOXELS; /* each factor is checked before the product, which cannot overflow */
    if (nim->nifti_type != NIFTI_FTYPE_NIFTI1_1 && nim->nifti_type != NIFTI_FTYPE_NIFTI2_1)
        s = mg_error(MG_ERR_FORMAT, "%s: the header is not a single-file NIfTI's (magic n+1 or n+2)", path);
    else if (nim->nx < 1 || nim->ny < 1 || nim->nz < 1 || nim->nt < 1 || nim->nu < 1 || nim->nv < 1 || nim->nw < 1)
        s = mg_error(MG_ERR_FORMAT, "%s: a dimension is not positive", path);
    else if (nim->nt > 1 || nim->nu > 1 || nim->nv > 1 || nim->nw > 1)
        s = mg_error(MG_ERR_ARG, "%s: a 4-D series of %lld volumes; give one volume (fslroi or nibabel cut it out)",
                     path, (long long)nim->nt);
    else if (size == 0 || size != nim->nbyper)
        s = mg_error(MG_ERR_ARG, "%s: voxels of type %s are not read (integers, float32 and float64 are)", path,
                     nifti_datatype_string(nim->datatype));
    else if (nim->nx > max || nim->ny > max / nim->nx || nim->nz > max / (nim->nx * nim->ny))
        s = mg_error(MG_ERR_ARG, "%s: %lld x %lld x %lld voxels is more than the %lld read", path, (long long)nim->nx,
                     (long long)nim->ny, (long long)nim->nz, (long long)MG_VOLUME_MAX_VOXELS);
    else if (nim->iname_offset < (version == 1 ? 348 : 540) || nim->iname_offset > (1LL << 32))
        s = mg_error(MG_ERR_FORMAT, "%s: voxel data offset %lld is out of range", path, (long long)nim->iname_offset);
    const long long bytes = s == MG_OK ? (long long)(nim->nx * nim->ny * nim->nz) * size : 0;
    if (s == MG_OK && !nifti_is_gzfile(path) && (long long)st.st_size < nim->iname_offset + bytes)
        s = mg_error(MG_ERR_FORMAT,
                     "%s: truncated: the header asks for %lld bytes of voxels at offset %lld, the file "
                     "has %lld bytes",
                     path, bytes, (long long)nim->iname_offset, (long long)st.st_size);
    if (s != MG_OK) {
        nifti_image_free(nim);
        return s;
    }
    *out = nim;
    return MG_OK;
}

/* Reads want bytes at offset, growing the buffer only as data arrive. */
static mg_status nifti_read_voxels(const char *path, long long offset, size_t want, unsigned char **out)
{
    *out = NULL;
    gzFile g = gzopen(path, "rb");
    if (!g)
        return mg_error(MG_ERR_IO, "%s: %s", path, strerror(errno));
    gzbuffer(g, 1 << 18);
    mg_status s = MG_OK;
    if (gzseek(g, (z_off_t)offset, SEEK_SET) != (z_off_t)offset)
        s = mg_error(MG_ERR_FORMAT, "%s: truncated before the voxel data at offset %lld", path, offset);
    unsigned char *buf = NULL;
    size_t have = 0, cap = 0;
    while (s == MG_OK && have < want) {
        if (have == cap) {
            size_t grown = cap ? (cap > want / 2 ? want : 2 * cap) : (want < (1u << 24) ? want : (1u << 24));
            unsigned char *bigger = realloc(buf, grown);
            if (!bigger) {
                s = mg_error(MG_ERR_OOM, "%s: out of memory for %zu bytes of voxels", path, want);
                break;
            }
            buf = bigger;
            cap = grown;
        }
        size_t ask = cap - have > (1u << 30) ? (1u << 30) : cap - have;
        int n = gzread(g, buf + have, (unsigned)ask);
        if (n < 0) {
            int code;
            const char *why = gzerror(g, &code);
            s = mg_error(MG_ERR_FORMAT, "%s: corrupt compressed data (%s)", path,
                         code == Z_ERRNO ? strerror(errno) : why);
        } else if (n == 0) {
            s = mg_error(MG_ERR_FORMAT, "%s: truncated: %zu of the %zu bytes of voxels the header asks for", path, have,
                         want);
        }
        have += n > 0 ? (size_t)n : 0;
    }
    gzclose(g);
    if (s != MG_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    return MG_OK;
}

/* Raw voxel i of the given type, byte-swapped when swap, as a double. */
static double nifti_raw_value(const unsigned char *p, int datatype, bool swap)
{
    unsigned char b[8];
    const int size = nifti_type_size(datatype);
    for (int k = 0; k < size; k++)
        b[k] = swap ? p[size - 1 - k] : p[k];
    switch (datatype) {
    case DT_UINT8: return b[0];
    case DT_INT8: return (int8_t)b[0];
#define NIFTI_CASE(code, type)                                                                                         \
    case code: {                                                                                                       \
        type v;                                                                                                        \
        memcpy(&v, b, sizeof v);                                                                                       \
        return (double)v;                                                                                              \
    }
        NIFTI_CASE(DT_INT16, int16_t)
        NIFTI_CASE(DT_UINT16, uint16_t)
        NIFTI_CASE(DT_INT32, int32_t)
        NIFTI_CASE(DT_UINT32, uint32_t)
        NIFTI_CASE(DT_INT64, int64_t)
        NIFTI_CASE(DT_UINT64, uint64_t)
        NIFTI_CASE(DT_FLOAT32, float)
        NIFTI_CASE(DT_FLOAT64, double)
#undef NIFTI_CASE
    }
    return 0.0;
}

mg_status mg_volume_load(const char *path, mg_volume *out)
{
    if (!out)
        return mg_error(MG_ERR_ARG, "volume: NULL output");
    *out = (mg_volume){0};
    if (!path)
        return mg_error(MG_ERR_ARG, "volume: NULL path");
    if (!mg_volume_is_name(path)) /* nifti_clib finds the format by the name */
        return mg_error(MG_ERR_ARG, "%s: a volume's name ends in .nii or .nii.gz", path);
    nifti_set_debug_level(0); /* errors are reported here, with the file's name, not printed by the library */
    nifti_image *nim = NULL;
    mg_status s = nifti_open_header(path, &nim);
    if (s != MG_OK)
        return s;
    const size_t n = (size_t)(nim->nx * nim->ny * nim->nz), size = (size_t)nim->nbyper;
    unsigned char *raw = NULL;
    s = nifti_read_voxels(path, nim->iname_offset, n * size, &raw);
    mg_volume v = {.dim = {(int)nim->nx, (int)nim->ny, (int)nim->nz},
                   .voxel = {nim->dx, nim->dy, nim->dz},
                   .datatype = nim->datatype,
                   .version = nim->nifti_type == NIFTI_FTYPE_NIFTI2_1 ? 2 : 1};
    if (s == MG_OK && !(v.data = malloc(sizeof *v.data * n)))
        s = mg_error(MG_ERR_OOM, "%s: out of memory for %zu voxels", path, n);
    if (s == MG_OK && !(v.header = calloc(1, sizeof *v.header)))
        s = mg_error(MG_ERR_OOM, "%s: out of memory", path);
    if (s != MG_OK) {
        free(raw);
        free(v.data);
        nifti_image_free(nim);
        return s;
    }
    /* scl_slope 0 (or not finite) means no scaling, as the standard says */
    const bool scaled = nim->scl_slope != 0.0 && isfinite(nim->scl_slope);
    const double slope = scaled ? nim->scl_slope : 1.0,
                 inter = scaled && isfinite(nim->scl_inter) ? nim->scl_inter : 0.0;
    const bool swap = nim->byteorder != nifti_short_order();
    for (size_t i = 0; i < n; i++) {
        double x = nifti_raw_value(raw + i * size, nim->datatype, swap) * slope + inter;
        float f = (float)x;
        if (!isfinite(f)) {
            f = 0.0f;
            v.n_nonfinite++;
        }
        v.data[i] = f;
    }
    free(raw);
    free(nim->data); /* none was read by the library; kept NULL for nifti_image_free */
    nim->data = NULL;
    v.header->nim = nim;
    *out = v;
    return MG_OK;
}

/* ------------------------------------------------------------------ writing */

void mg_volume_output_range(int datatype, bool float32, double *lo, double *hi)
{
    *lo = 0.0;
    if (float32 || datatype == DT_FLOAT32 || datatype == DT_FLOAT64)
        *hi = 1.0;
    else if (datatype == DT_UINT8)
        *hi = 255.0;
    else if (datatype == DT_INT8)
        *hi = 127.0;
    else
        *hi = 4095.0;
}

/* Where bytes go: straight into the file, or through a gzip stream. */
typedef struct nifti_sink {
    FILE *f;
    z_stream *z;
    unsigned char out[1 << 16];
} nifti_sink;

static mg_status nifti_sink_write(nifti_sink *k, const void *data, size_t len, int flush)
{
    if (!k->z)
        return len && fwrite(data, 1, len, k->f) != len ? mg_error(MG_ERR_IO, "writing failed: %s", strerror(errno))
                                                        : MG_OK;
    k->z->next_in = (unsigned char *)data;
    k->z->avail_in = (uInt)len;
    int rc;
    do {
        k->z->next_out = k->out;
        k->z->avail_out = sizeof k->out;
        rc = deflate(k->z, flush);
        if (rc == Z_STREAM_ERROR)
            return mg_error(MG_ERR_IO, "gzip compression failed");
        size_t produced = sizeof k->out - k->z->avail_out;
        if (produced && fwrite(k->out, 1, produced, k->f) != produced)
            return mg_error(MG_ERR_IO, "writing failed: %s", strerror(errno));
    } while (k->z->avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    return MG_OK;
}

typedef struct nifti_job {
    const nifti_image *nim; /* the header to write */
    const float *values;
    size_t n;
    double lo, hi;
    bool gz;
} nifti_job;

/* One value in [-1, 1] as the output type, little-endian or not as this machine stores it. */
static void nifti_store(unsigned char *p, int datatype, double x)
{
    switch (datatype) {
#define NIFTI_STORE(code, type)                                                                                        \
    case code: {                                                                                                       \
        type v = (type)x;                                                                                              \
        memcpy(p, &v, sizeof v);                                                                                       \
        return;                                                                                                        \
    }
        NIFTI_STORE(DT_UINT8, uint8_t)
        NIFTI_STORE(DT_INT8, int8_t)
        NIFTI_STORE(DT_INT16, int16_t)
        NIFTI_STORE(DT_UINT16, uint16_t)
        NIFTI_STORE(DT_INT32, int32_t)
        NIFTI_STORE(DT_UINT32, uint32_t)
        NIFTI_STORE(DT_INT64, int64_t)
        NIFTI_STORE(DT_UINT64, uint64_t)
        NIFTI_STORE(DT_FLOAT32, float)
        NIFTI_STORE(DT_FLOAT64, double)
#undef NIFTI_STORE
    }
}

static mg_status nifti_write_file(FILE *f, void *arg)
{
    const nifti_job *job = arg;
    const nifti_image *nim = job->nim;
    nifti_1_header h1;
    nifti_2_header h2;
    const void *hdr;
    size_t hdr_size;
    if (nim->nifti_type == NIFTI_FTYPE_NIFTI2_1) {
        if (nifti_convert_nim2n2hdr(nim, &h2) != 0)
            return mg_error(MG_ERR_FORMAT, "cannot make a NIfTI-2 header");
        hdr = &h2;
        hdr_size = sizeof h2;
    } else {
        if (nifti_convert_nim2n1hdr(nim, &h1) != 0)
            return mg_error(MG_ERR_FORMAT, "cannot make a NIfTI-1 header");
        hdr = &h1;
        hdr_size = sizeof h1;
    }
    z_stream z = {0};
    nifti_sink sink = {.f = f, .z = job->gz ? &z : NULL};
    if (job->gz && deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return mg_error(MG_ERR_OOM, "cannot start gzip compression");
    static const unsigned char no_extensions[4] = {0};
    mg_status s = nifti_sink_write(&sink, hdr, hdr_size, Z_NO_FLUSH);
    if (s == MG_OK)
        s = nifti_sink_write(&sink, no_extensions, sizeof no_extensions, Z_NO_FLUSH);
    const bool integer = nim->datatype != DT_FLOAT32 && nim->datatype != DT_FLOAT64;
    unsigned char chunk[1 << 15];
    const size_t per = sizeof chunk / (size_t)nim->nbyper;
    for (size_t i = 0; s == MG_OK && i < job->n; i += per) {
        size_t m = job->n - i < per ? job->n - i : per;
        for (size_t k = 0; k < m; k++) {
            double v = job->values[i + k];
            v = isnan(v) ? -1.0 : v < -1.0 ? -1.0 : v > 1.0 ? 1.0 : v;
            double x = job->lo + (v + 1.0) * 0.5 * (job->hi - job->lo);
            nifti_store(chunk + k * (size_t)nim->nbyper, nim->datatype, integer ? nearbyint(x) : x);
        }
        s = nifti_sink_write(&sink, chunk, m * (size_t)nim->nbyper, Z_NO_FLUSH);
    }
    if (s == MG_OK && job->gz)
        s = nifti_sink_write(&sink, NULL, 0, Z_FINISH);
    if (job->gz)
        deflateEnd(&z);
    return s;
}

mg_status mg_volume_save_like(const char *path, const mg_volume *like, const float *values, const mg_volume_write *opt)
{
    if (!path || !like || !like->header || !values)
        return mg_error(MG_ERR_ARG, "save volume: NULL argument");
    const mg_volume_write defaults = {0};
    if (!opt)
        opt = &defaults;
    nifti_image *nim = nifti_copy_nim_info(like->header->nim);
    if (!nim)
        return mg_error(MG_ERR_OOM, "%s: out of memory", path);
    const bool float_family = opt->float32 || like->datatype == DT_FLOAT32 || like->datatype == DT_FLOAT64;
    nim->datatype = float_family ? DT_FLOAT32 : like->datatype;
    nifti_datatype_sizes(nim->datatype, &nim->nbyper, &nim->swapsize);
    nim->scl_slope = 1.0;
    nim->scl_inter = 0.0;
    nifti_job job = {.nim = nim, .values = values, .n = (size_t)like->dim[0] * like->dim[1] * like->dim[2]};
    mg_volume_output_range(like->datatype, opt->float32, &job.lo, &job.hi);
    nim->cal_min = job.lo;
    nim->cal_max = job.hi;
    nim->byteorder = nifti_short_order(); /* written as this machine stores numbers */
    nim->iname_offset = nim->nifti_type == NIFTI_FTYPE_NIFTI2_1 ? 544 : 352;
    if (opt->description)
        snprintf(nim->descrip, sizeof nim->descrip, "%s", opt->description);
    job.gz = nifti_has_suffix(path, ".gz");
    mg_status s = mg_file_write_atomic("", path, nifti_write_file, &job);
    nifti_image_free(nim);
    return s;
}
