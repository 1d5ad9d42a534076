/* Checkpoints: the in-memory checkpoint (a "key=value\n" configuration text and named float32 tensors),
 * and its file, written atomically (here) and read back with full verification (checkpoint-read.c).
 *
 * File format, versions 1 and 2. Integers are unsigned little-endian; a float32 is its IEEE-754 bit pattern
 * written as a little-endian uint32, a float16 its binary16 pattern as a uint16. Every field is written and read
 * byte by byte, never as a struct (float32 data on a little-endian host excepted: its bytes in memory are those).
 * Version 2 differs only in a type byte before each entry's data; a file is written as version 1 unless an entry is
 * stored as float16 (mg_ckpt_store_half), so float32 checkpoints are those of earlier versions, byte for byte.
 *
 *   size         field
 *   8            magic "MRIGANCK"
 *   4            uint32 format version (MG_CKPT_VERSION)
 *   4            uint32 n_entries
 *   8            uint64 config length L
 *   L            config: "key=value\n" lines, no NUL byte
 *   n_entries times:
 *     2          uint16 name length K, 1..63
 *     K          name, no NUL byte, unique within the file
 *     1          uint8 ndim, 1..4
 *     4*ndim     uint32 shape[ndim], each 1..INT_MAX
 *     1          version 2 only: uint8 type, 0 float32 or 1 float16
 *     4*numel    float32 data in C order, numel = product of the shape (2*numel for float16)
 *   4            uint32 CRC32 (zlib's crc32) of every byte before it
 *
 * Loading reads the whole file and checks, in order: the magic, the format version (the version decides
 * the layout of everything after it, the place of the CRC included, so a newer file is reported as such
 * rather than as damaged), the CRC, then every field with bounds checks. A CRC mismatch is reported as
 * damage, or as truncation when the entries run past the end of the file.
 *
 * Saving goes through mg_file_write_atomic (base/file.c): "<path>.tmp-XXXXXX" in the folder of path (mode
 * 0644), every write checked, fflush and fsync, closed, renamed onto path, the folder fsync'd. path therefore holds the
 * previous file or the new one whole, never part of one; a failed save removes its temporary file. (A
 * process killed during a save can leave the temporary file behind.) Writing past RLIMIT_FSIZE raises
 * SIGXFSZ, which kills the process unless the caller ignores the signal; ignored, it is an EFBIG error.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/file.h"
#include "mrigan/checkpoint.h"

#include "checkpoint-internal.h"

/* ------------------------------------------------------------------ small helpers */

const char *ckpt_errstr(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

uLong ckpt_crc_update(uLong crc, const unsigned char *p, size_t n)
{
    for (; n > (1u << 30); p += 1u << 30, n -= 1u << 30)
        crc = crc32(crc, p, 1u << 30);
    return crc32(crc, p, (uInt)n);
}

uint16_t ckpt_half_from_float(float v)
{
    uint32_t x;
    memcpy(&x, &v, sizeof x);
    const uint16_t sign = (uint16_t)(x >> 16 & 0x8000u);
    const int exp = (int)(x >> 23 & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffffu;
    if (exp >= 31) /* callers keep to +-65504; the largest finite half instead of infinity */
        return (uint16_t)(sign | 0x7bffu);
    if (exp <= 0) { /* a subnormal half, or zero */
        if (exp < -10)
            return sign;
        mant |= 0x800000u;
        const int shift = 14 - exp;
        uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        half += rest > mid || (rest == mid && (half & 1u));
        return (uint16_t)(sign | half);
    }
    uint32_t half = (uint32_t)exp << 10 | mant >> 13, rest = mant & 0x1fffu;
    half += rest > 0x1000u || (rest == 0x1000u && (half & 1u)); /* a carry into the exponent is right too */
    if (half >= 0x7c00u)
        half = 0x7bffu;
    return (uint16_t)(sign | half);
}

float ckpt_float_from_half(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    int exp = h >> 10 & 0x1f;
    uint32_t mant = h & 0x3ffu, x;
    if (exp == 0 && mant == 0) {
        x = sign;
    } else if (exp == 0) { /* subnormal: normalise */
        exp = 1;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            exp--;
        }
        x = sign | (uint32_t)(exp - 15 + 127) << 23 | (mant & 0x3ffu) << 13;
    } else {
        x = sign | (uint32_t)(exp - 15 + 127) << 23 | mant << 13; /* exp 31 is refused before this is called */
    }
    float v;
    memcpy(&v, &x, sizeof v);
    return v;
}

static const char *ckpt_shape_str(int ndim, const int *shape, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ",%d" : "%d", shape[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

/* Checks a name and a shape for an entry; numel (may be NULL) receives the element count. */
static mg_status ckpt_check_entry(const char *name, int ndim, const int *shape, size_t *numel)
{
    if (!name || !*name || strlen(name) > (size_t)CKPT_NAME_MAX)
        return mg_error(MG_ERR_ARG, "checkpoint entry '%s': the name must have 1 to %d characters",
                        name ? name : "(null)", CKPT_NAME_MAX);
    if (ndim < 1 || ndim > MG_MAX_DIMS || !shape)
        return mg_error(MG_ERR_ARG, "checkpoint entry '%s': %d dimensions (1 to %d supported)", name, ndim,
                        MG_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] <= 0)
            return mg_error(MG_ERR_ARG, "checkpoint entry '%s': dimension %d is %d (must be positive)", name, i,
                            shape[i]);
        if (n > SIZE_MAX / sizeof(float) / (size_t)shape[i])
            return mg_error(MG_ERR_ARG, "checkpoint entry '%s': the shape is too large", name);
        n *= (size_t)shape[i];
    }
    if (numel)
        *numel = n;
    return MG_OK;
}

/* ------------------------------------------------------------------ the in-memory checkpoint */

void mg_ckpt_init(mg_ckpt *c) { memset(c, 0, sizeof *c); }

void mg_ckpt_free(mg_ckpt *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_entries; i++)
        free(c->entries[i].data);
    free(c->entries);
    free(c->config);
    mg_ckpt_init(c);
}

static mg_status ckpt_check_key(const char *key)
{
    if (!key || !*key || strpbrk(key, "=\n"))
        return mg_error(MG_ERR_ARG, "checkpoint config: key '%s' must be non-empty, without '=' or a newline",
                        key ? key : "(null)");
    return MG_OK;
}

mg_status mg_ckpt_set(mg_ckpt *c, const char *key, const char *value)
{
    if (!c || !value)
        return mg_error(MG_ERR_ARG, "checkpoint config: no checkpoint or no value");
    mg_status s = ckpt_check_key(key);
    if (s != MG_OK)
        return s;
    if (strchr(value, '\n'))
        return mg_error(MG_ERR_ARG, "checkpoint config: the value of '%s' contains a newline", key);
    size_t old = c->config ? strlen(c->config) : 0, klen = strlen(key), vlen = strlen(value);
    char *cfg = realloc(c->config, old + klen + vlen + 3);
    if (!cfg)
        return mg_error(MG_ERR_OOM, "checkpoint config: out of host memory");
    cfg[old] = '\0';
    snprintf(cfg + old, klen + vlen + 3, "%s=%s\n", key, value);
    c->config = cfg;
    return MG_OK;
}

/* The value of the last line for key (not NUL-terminated: its length in *found_len), or NULL. */
static const char *ckpt_find_value(const mg_ckpt *c, const char *key, size_t *found_len)
{
    size_t klen = strlen(key);
    const char *found = NULL;
    for (const char *line = c->config; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n > klen && memcmp(line, key, klen) == 0 && line[klen] == '=') {
            found = line + klen + 1;
            *found_len = n - klen - 1;
        }
        line += nl ? n + 1 : n;
    }
    return found;
}

bool mg_ckpt_has(const mg_ckpt *c, const char *key)
{
    size_t len;
    return c && key && ckpt_find_value(c, key, &len) != NULL;
}

mg_status mg_ckpt_get(const mg_ckpt *c, const char *key, char *buf, size_t len)
{
    if (buf && len > 0)
        buf[0] = '\0';
    if (!c || !buf || len == 0)
        return mg_error(MG_ERR_ARG, "checkpoint config: no checkpoint or no buffer");
    mg_status s = ckpt_check_key(key);
    if (s != MG_OK)
        return s;
    size_t found_len = 0;
    const char *found = ckpt_find_value(c, key, &found_len);
    if (!found)
        return mg_error(MG_ERR_FORMAT, "checkpoint config has no key '%s'", key);
    if (found_len >= len)
        return mg_error(MG_ERR_ARG, "checkpoint config: the value of '%s' has %zu bytes, the buffer holds %zu", key,
                        found_len, len - 1);
    memcpy(buf, found, found_len);
    buf[found_len] = '\0';
    return MG_OK;
}

mg_status mg_ckpt_set_long(mg_ckpt *c, const char *key, long value)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", value);
    return mg_ckpt_set(c, key, buf);
}

mg_status mg_ckpt_get_long(const mg_ckpt *c, const char *key, long lo, long hi, long *out)
{
    char buf[64], *end;
    mg_status s = mg_ckpt_get(c, key, buf, sizeof buf);
    if (s != MG_OK)
        return s;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (end == buf || *end || errno || v < lo || v > hi)
        return mg_error(MG_ERR_FORMAT, "checkpoint: %s=%s is not an integer in %ld..%ld", key, buf, lo, hi);
    *out = v;
    return MG_OK;
}

const mg_ckpt_entry *mg_ckpt_find(const mg_ckpt *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (int i = 0; i < c->n_entries; i++)
        if (strcmp(c->entries[i].name, name) == 0)
            return &c->entries[i];
    return NULL;
}

/* Appends an entry with uninitialised data (or a view of a tensor) after checking the name, the shape and uniqueness.
 */
static mg_status ckpt_append_entry(mg_ckpt *c, const char *name, int ndim, const int *shape, const mg_tensor *view,
                                   mg_ckpt_entry **out)
{
    size_t numel;
    mg_status s = ckpt_check_entry(name, ndim, shape, &numel);
    if (s != MG_OK)
        return s;
    if (mg_ckpt_find(c, name))
        return mg_error(MG_ERR_ARG, "checkpoint already has an entry '%s'", name);
    if (c->n_entries == c->cap_entries) {
        if (c->cap_entries > INT_MAX / 2)
            return mg_error(MG_ERR_ARG, "checkpoint entry '%s': too many entries", name);
        int cap = c->cap_entries ? 2 * c->cap_entries : 16;
        mg_ckpt_entry *e = realloc(c->entries, (size_t)cap * sizeof *e);
        if (!e)
            return mg_error(MG_ERR_OOM, "checkpoint entry '%s': out of host memory", name);
        c->entries = e;
        c->cap_entries = cap;
    }
    mg_ckpt_entry *e = &c->entries[c->n_entries];
    memset(e, 0, sizeof *e);
    e->data = view ? NULL : malloc(numel * sizeof(float));
    if (!view && !e->data)
        return mg_error(MG_ERR_OOM, "checkpoint entry '%s': out of host memory for %zu floats", name, numel);
    e->view = view;
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    e->numel = numel;
    c->n_entries++;
    *out = e;
    return MG_OK;
}

/* A model whose values are NaN or infinite has diverged: saving it would replace a good checkpoint with a
 * useless one. MG_ERR_NONFINITE naming entry name and the first such value. The test runs a block at a time
 * without a branch per value, so that it vectorises. */
static mg_status ckpt_check_values(const char *name, const float *v, size_t n)
{
    for (size_t b = 0; b < n; b += 4096) {
        size_t e = n - b < 4096 ? n : b + 4096;
        int bad = 0;
        for (size_t k = b; k < e; k++)
            bad |= !(fabsf(v[k]) <= FLT_MAX);
        for (size_t k = b; bad && k < e; k++)
            if (!isfinite(v[k]))
                return mg_error(MG_ERR_NONFINITE, "checkpoint entry '%s': value %zu is %g; nothing is saved", name, k,
                                (double)v[k]);
    }
    return MG_OK;
}

/* The entry e (the last one of c) is dropped again when it holds a value that is not finite. */
static mg_status ckpt_check_finite(mg_ckpt *c, mg_ckpt_entry *e)
{
    mg_status s = ckpt_check_values(e->name, e->data, e->numel);
    if (s != MG_OK) {
        free(e->data);
        c->n_entries--;
    }
    return s;
}

mg_status mg_ckpt_add(mg_ckpt *c, const char *name, int ndim, const int *shape, const float *data)
{
    if (!c || !data)
        return mg_error(MG_ERR_ARG, "checkpoint entry '%s': no checkpoint or no data", name ? name : "(null)");
    mg_ckpt_entry *e = NULL;
    mg_status s = ckpt_append_entry(c, name, ndim, shape, NULL, &e);
    if (s != MG_OK)
        return s;
    memcpy(e->data, data, e->numel * sizeof(float));
    return ckpt_check_finite(c, e);
}

mg_status mg_ckpt_add_tensor(mg_ckpt *c, const char *name, const mg_tensor *t)
{
    if (!c || !t)
        return mg_error(MG_ERR_ARG, "checkpoint entry '%s': no checkpoint or no tensor", name ? name : "(null)");
    if (!name)
        name = t->name;
    mg_ckpt_entry *e = NULL;
    mg_status s = ckpt_append_entry(c, name, t->ndim, t->shape, c->views ? t : NULL, &e);
    if (s != MG_OK || c->views)
        return s;
    s = mg_tensor_read(t, e->data, e->numel);
    if (s != MG_OK) {
        free(e->data);
        c->n_entries--;
        return s;
    }
    return ckpt_check_finite(c, e);
}

mg_status mg_ckpt_load_tensor(const mg_ckpt *c, const char *name, mg_tensor *t)
{
    if (!c || !name || !t)
        return mg_error(MG_ERR_ARG, "checkpoint: no checkpoint, name or tensor to load '%s' into",
                        name ? name : "(null)");
    const mg_ckpt_entry *e = mg_ckpt_find(c, name);
    if (!e)
        return mg_error(MG_ERR_FORMAT, "checkpoint has no tensor '%s'", name);
    if (e->ndim != t->ndim || memcmp(e->shape, t->shape, (size_t)e->ndim * sizeof *e->shape) != 0) {
        char es[64], ts[64];
        return mg_error(MG_ERR_SHAPE, "checkpoint tensor '%s' has shape %s, the tensor to load it into has %s", name,
                        ckpt_shape_str(e->ndim, e->shape, es, sizeof es), mg_shape_str(t, ts, sizeof ts));
    }
    return e->view ? mg_tensor_copy(t, e->view) : mg_tensor_write(t, e->data, e->numel);
}

/* ------------------------------------------------------------------ saving */

/* A FILE writer that keeps the running CRC32 and the errno of the first failed write; views are read into scratch
 * (as large as the largest), and the first of them that fails to read or holds a value that is not finite ends
 * the writing with its status. */
typedef struct ckpt_writer {
    FILE *f;
    uLong crc;
    int err;
    float *scratch;
    mg_status status;
} ckpt_writer;

static void ckpt_write_bytes(ckpt_writer *w, const void *p, size_t n)
{
    if (w->err || n == 0)
        return;
    w->crc = ckpt_crc_update(w->crc, p, n);
    errno = 0;
    if (fwrite(p, 1, n, w->f) != n)
        w->err = errno ? errno : EIO;
}

static void ckpt_write_uint(ckpt_writer *w, uint64_t v, int n_bytes)
{
    unsigned char b[8];
    for (int i = 0; i < n_bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    ckpt_write_bytes(w, b, (size_t)n_bytes);
}

/* The values as little-endian float32 bit patterns: on a little-endian host, the bytes as they are in memory. */
static void ckpt_write_floats(ckpt_writer *w, const float *v, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    ckpt_write_bytes(w, v, n * sizeof *v);
#else
    unsigned char b[CKPT_CHUNK * 4];
    for (size_t done = 0; done < n && !w->err;) {
        size_t chunk = n - done < CKPT_CHUNK ? n - done : CKPT_CHUNK;
        for (size_t i = 0; i < chunk; i++) {
            uint32_t bits;
            memcpy(&bits, &v[done + i], sizeof bits);
            for (int k = 0; k < 4; k++)
                b[4 * i + (size_t)k] = (unsigned char)(bits >> (8 * k));
        }
        ckpt_write_bytes(w, b, 4 * chunk);
        done += chunk;
    }
#endif
}

/* Entry e's float32 values: its data, or its view's values read now and checked. */
static void ckpt_write_values(ckpt_writer *w, const mg_ckpt_entry *e)
{
    if (!e->view) {
        ckpt_write_floats(w, e->data, e->numel);
        return;
    }
    mg_status s = mg_tensor_read(e->view, w->scratch, e->numel);
    if (s == MG_OK)
        s = ckpt_check_values(e->name, w->scratch, e->numel);
    if (s != MG_OK) {
        w->status = s;
        w->err = EINVAL; /* stops the writing */
        return;
    }
    ckpt_write_floats(w, w->scratch, e->numel);
}

/* Checks what mg_ckpt_save is about to write (callers may have edited the structure by hand). */
static mg_status ckpt_check_for_save(const mg_ckpt *c, const char *path)
{
    if (c->n_entries < 0 || (c->n_entries > 0 && !c->entries) || (uint64_t)c->n_entries > UINT32_MAX)
        return mg_error(MG_ERR_ARG, "checkpoint %s: bad entry count %d", path, c->n_entries);
    for (int i = 0; i < c->n_entries; i++) {
        const mg_ckpt_entry *e = &c->entries[i];
        if (!memchr(e->name, '\0', sizeof e->name))
            return mg_error(MG_ERR_ARG, "checkpoint %s: entry %d has an unterminated name", path, i);
        size_t numel;
        mg_status s = ckpt_check_entry(e->name, e->ndim, e->shape, &numel);
        if (s != MG_OK)
            return s;
        if (numel != e->numel || (!e->data && !e->view) || (e->view && (e->half || e->view->numel != numel)))
            return mg_error(MG_ERR_ARG,
                            "checkpoint %s: entry '%s' has %zu values for its shape of %zu, or no data (or a view "
                            "of another size or as float16)",
                            path, e->name, e->numel, numel);
    }
    return MG_OK;
}

static void ckpt_write_halves(ckpt_writer *w, const float *v, size_t n)
{
    unsigned char b[CKPT_CHUNK * 2];
    for (size_t done = 0; done < n && !w->err;) {
        size_t chunk = n - done < CKPT_CHUNK ? n - done : CKPT_CHUNK;
        for (size_t i = 0; i < chunk; i++) {
            uint16_t h = ckpt_half_from_float(v[done + i]);
            b[2 * i] = (unsigned char)h;
            b[2 * i + 1] = (unsigned char)(h >> 8);
        }
        ckpt_write_bytes(w, b, 2 * chunk);
        done += chunk;
    }
}

/* Version 1 while every entry is float32 (the files of earlier versions, byte for byte); version 2, with a type
 * byte before each entry's data, when one is float16. */
static int ckpt_file_version(const mg_ckpt *c)
{
    for (int i = 0; i < c->n_entries; i++)
        if (c->entries[i].half)
            return 2;
    return 1;
}

static void ckpt_write_all(ckpt_writer *w, const mg_ckpt *c)
{
    size_t cfg_len = c->config ? strlen(c->config) : 0;
    const int version = ckpt_file_version(c);
    ckpt_write_bytes(w, CKPT_MAGIC, CKPT_MAGIC_LEN);
    ckpt_write_uint(w, (uint64_t)version, 4);
    ckpt_write_uint(w, (uint64_t)c->n_entries, 4);
    ckpt_write_uint(w, cfg_len, 8);
    ckpt_write_bytes(w, c->config, cfg_len);
    for (int i = 0; i < c->n_entries && !w->err; i++) {
        const mg_ckpt_entry *e = &c->entries[i];
        size_t name_len = strlen(e->name);
        ckpt_write_uint(w, name_len, 2);
        ckpt_write_bytes(w, e->name, name_len);
        ckpt_write_uint(w, (uint64_t)e->ndim, 1);
        for (int d = 0; d < e->ndim; d++)
            ckpt_write_uint(w, (uint64_t)e->shape[d], 4);
        if (version >= 2)
            ckpt_write_uint(w, e->half ? CKPT_DTYPE_F16 : CKPT_DTYPE_F32, 1);
        if (e->half)
            ckpt_write_halves(w, e->data, e->numel);
        else
            ckpt_write_values(w, e);
    }
    ckpt_write_uint(w, (uint32_t)w->crc, 4);
}

typedef struct ckpt_save_args {
    const mg_ckpt *c;
    const char *path;
} ckpt_save_args;

static mg_status ckpt_write_stream(FILE *f, void *arg)
{
    const ckpt_save_args *a = arg;
    ckpt_writer w = {f, crc32(0L, Z_NULL, 0), 0, NULL, MG_OK};
    size_t most = 0;
    for (int i = 0; i < a->c->n_entries; i++)
        if (a->c->entries[i].view && a->c->entries[i].numel > most)
            most = a->c->entries[i].numel;
    if (most && !(w.scratch = malloc(most * sizeof *w.scratch)))
        return mg_error(MG_ERR_OOM, "checkpoint %s: out of host memory for %zu floats", a->path, most);
    ckpt_write_all(&w, a->c);
    free(w.scratch);
    char es[128];
    if (w.status != MG_OK)
        return w.status;
    return w.err ? mg_error(MG_ERR_IO, "checkpoint %s: writing failed: %s (an existing file there is unchanged)",
                            a->path, ckpt_errstr(w.err, es, sizeof es))
                 : MG_OK;
}

mg_status mg_ckpt_store_half(mg_ckpt *c)
{
    for (int i = 0; i < c->n_entries; i++)
        if (c->entries[i].view)
            return mg_error(MG_ERR_ARG, "checkpoint entry '%s': a view of a tensor cannot be stored as float16",
                            c->entries[i].name);
    for (int i = 0; i < c->n_entries; i++)
        for (size_t k = 0; k < c->entries[i].numel; k++)
            if (!(fabsf(c->entries[i].data[k]) <= 65504.0f))
                return mg_error(MG_ERR_ARG, "checkpoint entry '%s': value %zu is %g, outside float16's range",
                                c->entries[i].name, k, (double)c->entries[i].data[k]);
    for (int i = 0; i < c->n_entries; i++) {
        mg_ckpt_entry *e = &c->entries[i];
        for (size_t k = 0; k < e->numel; k++)
            e->data[k] = ckpt_float_from_half(ckpt_half_from_float(e->data[k]));
        e->half = true;
    }
    return MG_OK;
}

mg_status mg_ckpt_save(const mg_ckpt *c, const char *path)
{
    if (!c || !path || !*path)
        return mg_error(MG_ERR_ARG, "checkpoint save: no checkpoint or no path");
    mg_status s = ckpt_check_for_save(c, path);
    if (s != MG_OK)
        return s;
    ckpt_save_args a = {c, path};
    return mg_file_write_atomic("checkpoint ", path, ckpt_write_stream, &a);
}
