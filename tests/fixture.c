/* Reader for the .mgfx reference fixtures; see fixture.h for the format. */
#include "fixture.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest element count accepted for one tensor (the fixtures are far smaller). */
#define MGFX_MAX_NUMEL ((size_t)1 << 26)

typedef struct mgfx_cursor {
    const unsigned char *p;
    size_t left;
} mgfx_cursor;

static void mgfx_set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int mgfx_read_u32(mgfx_cursor *c, uint32_t *out)
{
    if (c->left < 4)
        return -1;
    *out = (uint32_t)c->p[0] | (uint32_t)c->p[1] << 8 | (uint32_t)c->p[2] << 16 | (uint32_t)c->p[3] << 24;
    c->p += 4;
    c->left -= 4;
    return 0;
}

static int mgfx_read_file(const char *path, unsigned char **data, size_t *size, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;

    if (!fp) {
        mgfx_set_error(err, errlen, "%s: cannot open", path);
        return -1;
    }
    for (;;) {
        size_t got;

        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            unsigned char *nbuf = realloc(buf, ncap);

            if (!nbuf) {
                free(buf);
                fclose(fp);
                mgfx_set_error(err, errlen, "%s: out of memory", path);
                return -1;
            }
            buf = nbuf;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        free(buf);
        fclose(fp);
        mgfx_set_error(err, errlen, "%s: read error", path);
        return -1;
    }
    fclose(fp);
    *data = buf;
    *size = len;
    return 0;
}

static int mgfx_parse_tensor(mgfx_cursor *c, mgfx_tensor *t, const char *path, uint32_t index, char *err, size_t errlen)
{
    uint32_t name_len, ndim;
    size_t numel = 1;

    if (mgfx_read_u32(c, &name_len) != 0)
        goto truncated;
    if (name_len == 0 || name_len >= MGFX_MAX_NAME) {
        mgfx_set_error(err, errlen, "%s: tensor %u: bad name length %u", path, index, name_len);
        return -1;
    }
    if (c->left < name_len)
        goto truncated;
    memcpy(t->name, c->p, name_len);
    t->name[name_len] = '\0';
    if (strlen(t->name) != name_len) {
        mgfx_set_error(err, errlen, "%s: tensor %u: NUL in name", path, index);
        return -1;
    }
    c->p += name_len;
    c->left -= name_len;
    if (mgfx_read_u32(c, &ndim) != 0)
        goto truncated;
    if (ndim > MGFX_MAX_DIMS) {
        mgfx_set_error(err, errlen, "%s: tensor '%s': ndim %u > %d", path, t->name, ndim, MGFX_MAX_DIMS);
        return -1;
    }
    t->ndim = (int)ndim;
    for (uint32_t d = 0; d < ndim; d++) {
        uint32_t n;

        if (mgfx_read_u32(c, &n) != 0)
            goto truncated;
        if (n == 0 || n > MGFX_MAX_NUMEL || numel > MGFX_MAX_NUMEL / n) {
            mgfx_set_error(err, errlen, "%s: tensor '%s': bad dimension %u", path, t->name, n);
            return -1;
        }
        t->shape[d] = (int)n;
        numel *= n;
    }
    t->numel = numel;
    if (c->left / 4 < numel)
        goto truncated;
    t->data = malloc(numel * sizeof(float));
    if (!t->data) {
        mgfx_set_error(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < numel; i++) {
        uint32_t bits = 0;
        float v;

        (void)mgfx_read_u32(c, &bits); /* cannot fail: the size was checked above */
        memcpy(&v, &bits, sizeof v);
        t->data[i] = v;
    }
    return 0;

truncated:
    mgfx_set_error(err, errlen, "%s: truncated in tensor %u", path, index);
    return -1;
}

mgfx *mgfx_load(const char *path, char *err, size_t errlen)
{
    unsigned char *data = NULL;
    size_t size = 0;
    mgfx_cursor c;
    uint32_t version, n;
    mgfx *f = NULL;

    if (mgfx_read_file(path, &data, &size, err, errlen) != 0)
        return NULL;
    c.p = data;
    c.left = size;
    if (size < 4 || memcmp(data, "MGFX", 4) != 0) {
        mgfx_set_error(err, errlen, "%s: not an MGFX file (bad magic)", path);
        goto fail;
    }
    c.p += 4;
    c.left -= 4;
    if (mgfx_read_u32(&c, &version) != 0 || mgfx_read_u32(&c, &n) != 0) {
        mgfx_set_error(err, errlen, "%s: truncated header", path);
        goto fail;
    }
    if (version != 1) {
        mgfx_set_error(err, errlen, "%s: unsupported version %u", path, version);
        goto fail;
    }
    /* Every tensor takes at least 9 bytes (name length, one name byte, ndim). */
    if (n > c.left / 9) {
        mgfx_set_error(err, errlen, "%s: truncated (%u tensors announced)", path, n);
        goto fail;
    }
    f = calloc(1, sizeof *f);
    if (!f || (n && !(f->tensors = calloc(n, sizeof *f->tensors)))) {
        mgfx_set_error(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (mgfx_parse_tensor(&c, &f->tensors[i], path, i, err, errlen) != 0)
            goto fail;
        f->n_tensors = (int)i + 1;
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(f->tensors[j].name, f->tensors[i].name) == 0) {
                mgfx_set_error(err, errlen, "%s: duplicate tensor '%s'", path, f->tensors[i].name);
                goto fail;
            }
        }
    }
    if (c.left != 0) {
        mgfx_set_error(err, errlen, "%s: %zu trailing bytes", path, c.left);
        goto fail;
    }
    free(data);
    return f;

fail:
    free(data);
    mgfx_free(f);
    return NULL;
}

const mgfx_tensor *mgfx_get(const mgfx *f, const char *name)
{
    if (!f || !name)
        return NULL;
    for (int i = 0; i < f->n_tensors; i++) {
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    }
    return NULL;
}

void mgfx_free(mgfx *f)
{
    if (!f)
        return;
    if (f->tensors) {
        for (int i = 0; i < f->n_tensors; i++)
            free(f->tensors[i].data);
        free(f->tensors);
    }
    free(f);
}
