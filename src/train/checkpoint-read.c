/* Reading checkpoint files back with full verification (the format is described at the top of checkpoint.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "checkpoint-internal.h"

/* ------------------------------------------------------------------ loading */

static mg_status ckpt_read_file(const char *path, unsigned char **out, size_t *out_len)
{
    char es[128];
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return mg_error(MG_ERR_IO, "checkpoint %s: cannot open: %s", path, ckpt_errstr(errno, es, sizeof es));
    struct stat st;
    int err = fstat(fd, &st) != 0 ? errno : (uintmax_t)st.st_size >= SIZE_MAX ? EFBIG : 0;
    size_t cap = err ? 0 : (size_t)st.st_size, len = 0;
    unsigned char *buf = err ? NULL : malloc(cap + 1);
    if (!err && !buf)
        err = ENOMEM;
    while (!err && len < cap) { /* a file that shrinks meanwhile reads as truncated */
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno != EINTR)
            err = errno;
        else if (n == 0)
            break;
        else if (n > 0)
            len += (size_t)n;
    }
    if (close(fd) != 0 && !err)
        err = errno;
    if (err) {
        free(buf);
        return mg_error(err == ENOMEM ? MG_ERR_OOM : MG_ERR_IO, "checkpoint %s: cannot read: %s", path,
                        ckpt_errstr(err, es, sizeof es));
    }
    *out = buf;
    *out_len = len;
    return MG_OK;
}

/* A bounds-checked cursor over the file's bytes, with room for the message of a parse failure. */
typedef struct ckpt_reader {
    const unsigned char *p;
    size_t len, pos;
    char msg[256];
} ckpt_reader;

static bool ckpt_read_uint(ckpt_reader *r, int n_bytes, uint64_t *v)
{
    if (r->len - r->pos < (size_t)n_bytes)
        return false;
    *v = 0;
    for (int i = 0; i < n_bytes; i++)
        *v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)n_bytes;
    return true;
}

/* Parse results: SHORT means the fields run past the end of the file, BAD an implausible field. */
enum { CKPT_OK, CKPT_SHORT, CKPT_BAD, CKPT_OOM };

__attribute__((format(printf, 3, 4))) static int ckpt_fail(ckpt_reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return code;
}

/* Parses one entry's fields at r into e (or only checks them when e is NULL); version decides whether a type
 * byte comes before the data. */
static int ckpt_parse_entry(ckpt_reader *r, int version, uint64_t index, mg_ckpt_entry *e)
{
    uint64_t v, numel = 1;
    if (!ckpt_read_uint(r, 2, &v) || v > r->len - r->pos)
        return ckpt_fail(r, CKPT_SHORT, "entry %llu: the name runs past the end of the file", (ull)index);
    if (v == 0 || v > (uint64_t)CKPT_NAME_MAX)
        return ckpt_fail(r, CKPT_BAD, "entry %llu: name length %llu (1 to %d allowed)", (ull)index, (ull)v,
                         CKPT_NAME_MAX);
    char name[CKPT_NAME_MAX + 1];
    memcpy(name, r->p + r->pos, (size_t)v);
    name[v] = '\0';
    r->pos += (size_t)v;
    if (strlen(name) != v)
        return ckpt_fail(r, CKPT_BAD, "entry %llu: the name contains a NUL byte", (ull)index);
    if (!ckpt_read_uint(r, 1, &v))
        return ckpt_fail(r, CKPT_SHORT, "entry '%s' is cut short", name);
    if (v < 1 || v > MG_MAX_DIMS)
        return ckpt_fail(r, CKPT_BAD, "entry '%s': %llu dimensions (1 to %d allowed)", name, (ull)v, MG_MAX_DIMS);
    int ndim = (int)v, shape[MG_MAX_DIMS];
    for (int d = 0; d < ndim; d++) {
        if (!ckpt_read_uint(r, 4, &v))
            return ckpt_fail(r, CKPT_SHORT, "entry '%s' is cut short", name);
        if (v < 1 || v > INT_MAX)
            return ckpt_fail(r, CKPT_BAD, "entry '%s': dimension %d is %llu (1 to %d allowed)", name, d, (ull)v,
                             INT_MAX);
        shape[d] = (int)v;
        if (numel > (r->len - r->pos) / 2 / v) /* so numel * 4 cannot overflow either */
            return ckpt_fail(r, CKPT_SHORT, "entry '%s': its data runs past the end of the file", name);
        numel *= v;
    }
    uint64_t dtype = CKPT_DTYPE_F32;
    if (version >= 2 && !ckpt_read_uint(r, 1, &dtype))
        return ckpt_fail(r, CKPT_SHORT, "entry '%s' is cut short", name);
    if (dtype != CKPT_DTYPE_F32 && dtype != CKPT_DTYPE_F16)
        return ckpt_fail(r, CKPT_BAD, "entry '%s': value type %llu (0 float32 or 1 float16)", name, (ull)dtype);
    const size_t size = dtype == CKPT_DTYPE_F16 ? 2 : 4;
    if (numel > (r->len - r->pos) / size)
        return ckpt_fail(r, CKPT_SHORT, "entry '%s': its data runs past the end of the file", name);
    /* mrigan never saves NaN or infinity (ckpt_check_finite): such a file was damaged or crafted. */
    for (uint64_t k = 0; k < numel; k++) {
        const unsigned char *q = r->p + r->pos + size * k;
        const bool bad =
            size == 4 ? (ckpt_get_le32(q) & 0x7F800000u) == 0x7F800000u : ((unsigned)q[1] << 8 & 0x7C00u) == 0x7C00u;
        if (bad)
            return ckpt_fail(r, CKPT_BAD,
                             "entry '%s': value %llu is NaN or infinite (a checkpoint holds finite values)", name,
                             (ull)k);
    }
    if (e) {
        if (!(e->data = malloc((size_t)numel * sizeof(float))))
            return ckpt_fail(r, CKPT_OOM, "entry '%s': out of host memory", name);
        memcpy(e->name, name, sizeof name);
        e->ndim = ndim;
        memcpy(e->shape, shape, sizeof shape);
        e->numel = (size_t)numel;
        e->half = size == 2;
        for (size_t k = 0; k < e->numel; k++) {
            const unsigned char *q = r->p + r->pos + size * k;
            if (size == 2) {
                e->data[k] = ckpt_float_from_half((uint16_t)(q[0] | q[1] << 8));
            } else {
                uint32_t bits = ckpt_get_le32(q);
                memcpy(&e->data[k], &bits, sizeof bits);
            }
        }
    }
    r->pos += (size_t)numel * size;
    return CKPT_OK;
}

/* Parses everything after the version in r (whose length excludes the CRC) into dst, or only checks
 * it when dst is NULL. */
static int ckpt_parse_body(ckpt_reader *r, int version, mg_ckpt *dst)
{
    uint64_t n_entries, cfg_len;
    r->pos = CKPT_MAGIC_LEN + 4;
    if (!ckpt_read_uint(r, 4, &n_entries) || !ckpt_read_uint(r, 8, &cfg_len))
        return ckpt_fail(r, CKPT_SHORT, "the header is cut short");
    if (cfg_len > r->len - r->pos)
        return ckpt_fail(r, CKPT_SHORT, "the configuration of %llu bytes runs past the end of the file", (ull)cfg_len);
    if (memchr(r->p + r->pos, '\0', (size_t)cfg_len))
        return ckpt_fail(r, CKPT_BAD, "the configuration contains a NUL byte");
    if (dst) {
        if (!(dst->config = malloc((size_t)cfg_len + 1)))
            return ckpt_fail(r, CKPT_OOM, "out of host memory");
        memcpy(dst->config, r->p + r->pos, (size_t)cfg_len);
        dst->config[cfg_len] = '\0';
    }
    r->pos += (size_t)cfg_len;
    if (n_entries > INT_MAX || n_entries > (r->len - r->pos) / CKPT_MIN_ENTRY)
        return ckpt_fail(r, CKPT_SHORT, "%llu entries cannot fit in the %zu bytes after the configuration",
                         (ull)n_entries, r->len - r->pos);
    if (dst && n_entries > 0) {
        if (!(dst->entries = calloc((size_t)n_entries, sizeof *dst->entries)))
            return ckpt_fail(r, CKPT_OOM, "out of host memory");
        dst->cap_entries = (int)n_entries;
    }
    for (uint64_t i = 0; i < n_entries; i++) {
        int code = ckpt_parse_entry(r, version, i, dst ? &dst->entries[i] : NULL);
        if (code != CKPT_OK)
            return code;
        if (dst)
            dst->n_entries++;
    }
    if (r->pos != r->len)
        return ckpt_fail(r, CKPT_BAD, "%zu unexpected bytes after the last entry", r->len - r->pos);
    return CKPT_OK;
}

static int ckpt_compare_names(const void *a, const void *b)
{
    return strcmp((*(const mg_ckpt_entry *const *)a)->name, (*(const mg_ckpt_entry *const *)b)->name);
}

/* Duplicate names in a parsed checkpoint, in O(n log n) however many entries a file claims. */
static mg_status ckpt_check_unique(const char *path, const mg_ckpt *c)
{
    if (c->n_entries < 2)
        return MG_OK;
    const mg_ckpt_entry **sorted = malloc((size_t)c->n_entries * sizeof *sorted);
    if (!sorted)
        return mg_error(MG_ERR_OOM, "checkpoint %s: out of host memory", path);
    for (int i = 0; i < c->n_entries; i++)
        sorted[i] = &c->entries[i];
    qsort(sorted, (size_t)c->n_entries, sizeof *sorted, ckpt_compare_names);
    mg_status s = MG_OK;
    for (int i = 1; i < c->n_entries && s == MG_OK; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
            s = mg_error(MG_ERR_FORMAT, "checkpoint %s: entry '%s' appears twice", path, sorted[i]->name);
    free(sorted);
    return s;
}

static mg_status ckpt_parse_file(const char *path, const unsigned char *b, size_t len, mg_ckpt *out)
{
    if (len < CKPT_MAGIC_LEN && memcmp(b, CKPT_MAGIC, len) == 0)
        return mg_error(MG_ERR_FORMAT, "checkpoint %s: truncated: %zu bytes, a checkpoint has at least %d", path, len,
                        CKPT_MIN_LEN);
    if (len < CKPT_MAGIC_LEN || memcmp(b, CKPT_MAGIC, CKPT_MAGIC_LEN) != 0)
        return mg_error(MG_ERR_FORMAT, "%s: not an mrigan checkpoint (bad magic)", path);
    uint32_t version = len >= CKPT_MAGIC_LEN + 4 ? ckpt_get_le32(b + CKPT_MAGIC_LEN) : 1;
    if (version < 1 || version > MG_CKPT_VERSION)
        return mg_error(MG_ERR_FORMAT, "checkpoint %s: format version %u, this build reads versions 1 to %d", path,
                        version, MG_CKPT_VERSION);
    if (len < CKPT_MIN_LEN)
        return mg_error(MG_ERR_FORMAT, "checkpoint %s: truncated: %zu bytes, a checkpoint has at least %d", path, len,
                        CKPT_MIN_LEN);
    ckpt_reader r = {.p = b, .len = len - 4};
    uint32_t stored = ckpt_get_le32(b + r.len), computed = (uint32_t)ckpt_crc_update(crc32(0L, Z_NULL, 0), b, r.len);
    if (stored != computed) {
        if (ckpt_parse_body(&r, (int)version, NULL) == CKPT_SHORT)
            return mg_error(MG_ERR_FORMAT, "checkpoint %s: truncated or damaged (CRC mismatch): %s", path, r.msg);
        return mg_error(MG_ERR_FORMAT, "checkpoint %s: CRC mismatch: the file is damaged (stored %08x, computed %08x)",
                        path, (unsigned)stored, (unsigned)computed);
    }
    int code = ckpt_parse_body(&r, (int)version, out);
    if (code != CKPT_OK)
        return mg_error(code == CKPT_OOM ? MG_ERR_OOM : MG_ERR_FORMAT, "checkpoint %s: %s", path, r.msg);
    return ckpt_check_unique(path, out);
}

mg_status mg_ckpt_load(const char *path, mg_ckpt *out)
{
    if (!out)
        return mg_error(MG_ERR_ARG, "checkpoint load: no checkpoint to load into");
    mg_ckpt_init(out);
    if (!path || !*path)
        return mg_error(MG_ERR_ARG, "checkpoint load: no path");
    unsigned char *buf;
    size_t len;
    mg_status s = ckpt_read_file(path, &buf, &len);
    if (s != MG_OK)
        return s;
    s = ckpt_parse_file(path, buf, len, out);
    free(buf);
    if (s != MG_OK)
        mg_ckpt_free(out);
    return s;
}
