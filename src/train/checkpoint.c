/* Checkpoints: the in-memory checkpoint (a "key=value\n" configuration text and named float32 tensors),
 * and its file, written atomically and read back with full verification.
 *
 * File format, version 1. Integers are unsigned little-endian; a float32 is its IEEE-754 bit pattern
 * written as a little-endian uint32. Every field is written and read byte by byte, never as a struct.
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
 *     4*numel    float32 data in C order, numel = product of the shape
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
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/base.h"
#include "base/file.h"
#include "mrigan/checkpoint.h"

#define CKPT_MAGIC      "MRIGANCK"
#define CKPT_MAGIC_LEN  8
#define CKPT_HEADER_LEN 24                    /* magic, version, n_entries, config length */
#define CKPT_MIN_LEN    (CKPT_HEADER_LEN + 4) /* header and CRC */
#define CKPT_MIN_ENTRY  (2 + 1 + 1 + 4 + 4)   /* the smallest entry: 1-char name, 1-D, one float */
#define CKPT_NAME_MAX   ((int)sizeof(((mg_ckpt_entry *)0)->name) - 1)
#define CKPT_CHUNK      4096 /* floats converted per write */

typedef unsigned long long ull;

/* ------------------------------------------------------------------ small helpers */

static const char *ckpt_errstr(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

static uint32_t ckpt_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* zlib's crc32 over any length (its own length argument is a uInt). */
static uLong ckpt_crc_update(uLong crc, const unsigned char *p, size_t n)
{
    for (; n > (1u << 30); p += 1u << 30, n -= 1u << 30)
        crc = crc32(crc, p, 1u << 30);
    return crc32(crc, p, (uInt)n);
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

/* Appends an entry with uninitialised data after checking the name, the shape and uniqueness. */
static mg_status ckpt_append_entry(mg_ckpt *c, const char *name, int ndim, const int *shape, mg_ckpt_entry **out)
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
    e->data = malloc(numel * sizeof(float));
    if (!e->data)
        return mg_error(MG_ERR_OOM, "checkpoint entry '%s': out of host memory for %zu floats", name, numel);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    memcpy(e->shape, shape, (size_t)ndim * sizeof *shape);
    e->numel = numel;
    c->n_entries++;
    *out = e;
    return MG_OK;
}

/* A model whose values are NaN or infinite has diverged: saving it would replace a good checkpoint with a
 * useless one. The entry e (the last one of c) is dropped again when it holds such a value. */
static mg_status ckpt_check_finite(mg_ckpt *c, mg_ckpt_entry *e)
{
    for (size_t k = 0; k < e->numel; k++) {
        if (isfinite(e->data[k]))
            continue;
        mg_status s = mg_error(MG_ERR_NONFINITE, "checkpoint entry '%s': value %zu is %g; nothing is saved", e->name, k,
                               (double)e->data[k]);
        free(e->data);
        c->n_entries--;
        return s;
    }
    return MG_OK;
}

mg_status mg_ckpt_add(mg_ckpt *c, const char *name, int ndim, const int *shape, const float *data)
{
    if (!c || !data)
        return mg_error(MG_ERR_ARG, "checkpoint entry '%s': no checkpoint or no data", name ? name : "(null)");
    mg_ckpt_entry *e = NULL;
    mg_status s = ckpt_append_entry(c, name, ndim, shape, &e);
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
    mg_status s = ckpt_append_entry(c, name, t->ndim, t->shape, &e);
    if (s != MG_OK)
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
    return mg_tensor_write(t, e->data, e->numel);
}

/* ------------------------------------------------------------------ saving */

/* A FILE writer that keeps the running CRC32 and the errno of the first failed write. */
typedef struct ckpt_writer {
    FILE *f;
    uLong crc;
    int err;
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

static void ckpt_write_floats(ckpt_writer *w, const float *v, size_t n)
{
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
        if (numel != e->numel || !e->data)
            return mg_error(MG_ERR_ARG, "checkpoint %s: entry '%s' has %zu values for its shape of %zu, or no data",
                            path, e->name, e->numel, numel);
    }
    return MG_OK;
}

static void ckpt_write_all(ckpt_writer *w, const mg_ckpt *c)
{
    size_t cfg_len = c->config ? strlen(c->config) : 0;
    ckpt_write_bytes(w, CKPT_MAGIC, CKPT_MAGIC_LEN);
    ckpt_write_uint(w, MG_CKPT_VERSION, 4);
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
        ckpt_write_floats(w, e->data, e->numel);
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
    ckpt_writer w = {f, crc32(0L, Z_NULL, 0), 0};
    ckpt_write_all(&w, a->c);
    char es[128];
    return w.err ? mg_error(MG_ERR_IO, "checkpoint %s: writing failed: %s (an existing file there is unchanged)",
                            a->path, ckpt_errstr(w.err, es, sizeof es))
                 : MG_OK;
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

/* Parses one entry's fields at r into e (or only checks them when e is NULL). */
static int ckpt_parse_entry(ckpt_reader *r, uint64_t index, mg_ckpt_entry *e)
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
        if (numel > (r->len - r->pos) / 4 / v) /* so numel * 4 cannot overflow either */
            return ckpt_fail(r, CKPT_SHORT, "entry '%s': its data runs past the end of the file", name);
        numel *= v;
    }
    if (e) {
        if (!(e->data = malloc((size_t)numel * sizeof(float))))
            return ckpt_fail(r, CKPT_OOM, "entry '%s': out of host memory", name);
        memcpy(e->name, name, sizeof name);
        e->ndim = ndim;
        memcpy(e->shape, shape, sizeof shape);
        e->numel = (size_t)numel;
        for (size_t k = 0; k < e->numel; k++) {
            uint32_t bits = ckpt_get_le32(r->p + r->pos + 4 * k);
            memcpy(&e->data[k], &bits, sizeof bits);
        }
    }
    /* mrigan never saves NaN or infinity (ckpt_check_finite): such a file was damaged or crafted. */
    for (uint64_t k = 0; k < numel; k++) {
        if ((ckpt_get_le32(r->p + r->pos + 4 * k) & 0x7F800000u) != 0x7F800000u)
            continue;
        if (e) {
            free(e->data);
            e->data = NULL;
        }
        return ckpt_fail(r, CKPT_BAD, "entry '%s': value %llu is NaN or infinite (a checkpoint holds finite values)",
                         name, (ull)k);
    }
    r->pos += (size_t)numel * 4;
    return CKPT_OK;
}

/* Parses everything after the version in r (whose length excludes the CRC) into dst, or only checks
 * it when dst is NULL. */
static int ckpt_parse_body(ckpt_reader *r, mg_ckpt *dst)
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
        int code = ckpt_parse_entry(r, i, dst ? &dst->entries[i] : NULL);
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
    if (len >= CKPT_MAGIC_LEN + 4) {
        uint32_t version = ckpt_get_le32(b + CKPT_MAGIC_LEN);
        if (version != MG_CKPT_VERSION)
            return mg_error(MG_ERR_FORMAT, "checkpoint %s: format version %u, this build reads version %d", path,
                            version, MG_CKPT_VERSION);
    }
    if (len < CKPT_MIN_LEN)
        return mg_error(MG_ERR_FORMAT, "checkpoint %s: truncated: %zu bytes, a checkpoint has at least %d", path, len,
                        CKPT_MIN_LEN);
    ckpt_reader r = {.p = b, .len = len - 4};
    uint32_t stored = ckpt_get_le32(b + r.len), computed = (uint32_t)ckpt_crc_update(crc32(0L, Z_NULL, 0), b, r.len);
    if (stored != computed) {
        if (ckpt_parse_body(&r, NULL) == CKPT_SHORT)
            return mg_error(MG_ERR_FORMAT, "checkpoint %s: truncated or damaged (CRC mismatch): %s", path, r.msg);
        return mg_error(MG_ERR_FORMAT, "checkpoint %s: CRC mismatch: the file is damaged (stored %08x, computed %08x)",
                        path, (unsigned)stored, (unsigned)computed);
    }
    int code = ckpt_parse_body(&r, out);
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
