/* Backend objects and the buffer cache shared by every backend. */
#include <stdlib.h>

#include "backend.h"

mg_status mg_backend_create(const mg_backend_iface *iface, void *ctx, int n_threads, mg_backend **out)
{
    mg_backend *be = calloc(1, sizeof *be);
    if (!be) {
        iface->destroy(ctx);
        return mg_error(MG_ERR_OOM, "backend %s: out of host memory", iface->name);
    }
    be->iface = iface;
    be->ctx = ctx;
    be->n_threads = n_threads;
    *out = be;
    return MG_OK;
}

void mg_backend_trim(mg_backend *be)
{
    while (be->cache) {
        struct mg_buffer *b = be->cache;
        be->cache = b->next;
        be->iface->buffer_free(be->ctx, b->handle);
        be->mem.cached_bytes -= b->bytes;
        free(b);
    }
    be->iface->workspace_release(be->ctx);
}

void mg_backend_free(mg_backend *be)
{
    if (!be)
        return;
    mg_backend_trim(be);
    be->iface->destroy(be->ctx);
    free(be);
}

const char *mg_backend_name(const mg_backend *be) { return be->iface->name; }

int mg_backend_threads(const mg_backend *be) { return be->n_threads; }
const char *mg_backend_device(const mg_backend *be) { return be->iface->device_name(be->ctx); }
mg_status mg_backend_sync(mg_backend *be) { return be->iface->sync(be->ctx); }

void mg_backend_memory(const mg_backend *be, mg_memory_stats *out)
{
    *out = be->mem;
    out->workspace_bytes = be->iface->workspace_bytes(be->ctx);
}

size_t mg_backend_memory_total(const mg_backend *be)
{
    return be->iface->memory_total ? be->iface->memory_total(be->ctx) : 0;
}

mg_status mg_buffer_get(mg_backend *be, size_t bytes, struct mg_buffer **out)
{
    if (bytes == 0)
        bytes = sizeof(float);
    for (struct mg_buffer **p = &be->cache; *p; p = &(*p)->next) {
        if ((*p)->bytes == bytes) {
            struct mg_buffer *b = *p;
            *p = b->next;
            b->next = NULL;
            be->mem.cached_bytes -= bytes;
            be->mem.live_bytes += bytes;
            if (be->mem.live_bytes > be->mem.peak_bytes)
                be->mem.peak_bytes = be->mem.live_bytes;
            *out = b;
            return MG_OK;
        }
    }
    struct mg_buffer *b = calloc(1, sizeof *b);
    if (!b)
        return mg_error(MG_ERR_OOM, "out of host memory for a buffer record");
    mg_status s = be->iface->buffer_alloc(be->ctx, bytes, &b->handle);
    if (s != MG_OK && be->cache) {
        /* Give the cache back to the device and try once more. */
        mg_backend_trim(be);
        s = be->iface->buffer_alloc(be->ctx, bytes, &b->handle);
    }
    if (s != MG_OK) {
        free(b);
        return s;
    }
    b->bytes = bytes;
    be->mem.n_allocs++;
    be->mem.live_bytes += bytes;
    if (be->mem.live_bytes > be->mem.peak_bytes)
        be->mem.peak_bytes = be->mem.live_bytes;
    *out = b;
    return MG_OK;
}

void mg_buffer_put(mg_backend *be, struct mg_buffer *buf)
{
    if (!buf)
        return;
    be->mem.live_bytes -= buf->bytes;
    be->mem.cached_bytes += buf->bytes;
    buf->next = be->cache;
    be->cache = buf;
}
