/* Tensors: shape bookkeeping, standalone allocation, and data movement through the backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "tensor.h"

mg_status mg_tensor_init(mg_tensor *t, mg_backend *be, int ndim, const int *shape)
{
    if (ndim < 1 || ndim > MG_MAX_DIMS)
        return mg_error(MG_ERR_ARG, "tensor: %d dimensions (1 to %d supported)", ndim, MG_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] <= 0)
            return mg_error(MG_ERR_ARG, "tensor: dimension %d is %d (must be positive)", i, shape[i]);
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->numel = mg_shape_numel(ndim, shape);
    t->be = be;
    return mg_buffer_get(be, t->numel * sizeof(float), &t->buf);
}

mg_status mg_tensor_new(mg_backend *be, int ndim, const int *shape, mg_tensor **out)
{
    *out = NULL;
    mg_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return mg_error(MG_ERR_OOM, "tensor: out of host memory");
    mg_status s = mg_tensor_init(t, be, ndim, shape);
    if (s == MG_OK)
        s = mg_tensor_fill(t, 0.0f);
    if (s != MG_OK) {
        mg_buffer_put(be, t->buf);
        free(t);
        return s;
    }
    *out = t;
    return MG_OK;
}

mg_status mg_param_new(mg_backend *be, const char *name, int ndim, const int *shape, mg_tensor **out)
{
    mg_status s = mg_tensor_new(be, ndim, shape, out);
    if (s != MG_OK)
        return s;
    (*out)->flags = MG_TENSOR_PARAM | MG_TENSOR_REQUIRES_GRAD;
    snprintf((*out)->name, sizeof(*out)->name, "%s", name ? name : "");
    return MG_OK;
}

void mg_tensor_free(mg_tensor *t)
{
    if (!t)
        return;
    if (t->graph) /* graph-owned: the graph frees it */
        return;
    mg_tensor_free(t->grad);
    mg_buffer_put(t->be, t->buf);
    free(t);
}

static mg_status check_count(const mg_tensor *t, size_t n, const char *what)
{
    if (n != t->numel) {
        char sh[64];
        return mg_error(MG_ERR_ARG, "tensor %s%s: %s %zu values, tensor %s holds %zu", t->name,
                        t->name[0] ? "" : "(unnamed)", what, n, mg_shape_str(t, sh, sizeof sh), t->numel);
    }
    return MG_OK;
}

mg_status mg_tensor_write(mg_tensor *t, const float *src, size_t n)
{
    mg_status s = check_count(t, n, "writing");
    return s != MG_OK ? s : t->be->iface->tensor_write(t->be->ctx, t, src);
}

mg_status mg_tensor_read(const mg_tensor *t, float *dst, size_t n)
{
    mg_status s = check_count(t, n, "reading");
    return s != MG_OK ? s : t->be->iface->tensor_read(t->be->ctx, t, dst);
}

mg_status mg_tensor_fill(mg_tensor *t, float value) { return t->be->iface->tensor_fill(t->be->ctx, t, value); }

mg_status mg_tensor_copy(mg_tensor *dst, const mg_tensor *src)
{
    if (dst->be != src->be || !mg_tensor_same_shape(dst, src)) {
        char a[64], b[64];
        return mg_error(MG_ERR_SHAPE, "copy: %s into %s needs equal shapes on one backend",
                        mg_shape_str(src, a, sizeof a), mg_shape_str(dst, b, sizeof b));
    }
    return dst->be->iface->tensor_copy(dst->be->ctx, dst, src);
}

mg_status mg_tensor_lerp(mg_tensor *dst, const mg_tensor *src, float t)
{
    if (dst->be != src->be || !mg_tensor_same_shape(dst, src)) {
        char a[64], b[64];
        return mg_error(MG_ERR_SHAPE, "lerp: %s towards %s needs equal shapes on one backend",
                        mg_shape_str(dst, a, sizeof a), mg_shape_str(src, b, sizeof b));
    }
    return dst->be->iface->tensor_lerp(dst->be->ctx, dst, src, t);
}

mg_status mg_tensor_add(mg_tensor *dst, const mg_tensor *src)
{
    if (dst->be != src->be || !mg_tensor_same_shape(dst, src)) {
        char a[64], b[64];
        return mg_error(MG_ERR_SHAPE, "add: %s to %s needs equal shapes on one backend", mg_shape_str(src, b, sizeof b),
                        mg_shape_str(dst, a, sizeof a));
    }
    return dst->be->iface->tensor_accumulate(dst->be->ctx, dst, src);
}

float *mg_tensor_host_data(mg_tensor *t)
{
    const mg_backend_iface *i = t->be->iface;
    return t->buf && i->tensor_host ? i->tensor_host(t->be->ctx, t) : NULL;
}

int mg_tensor_dim(const mg_tensor *t, int i)
{
    if (i < 0)
        i += t->ndim;
    return i >= 0 && i < t->ndim ? t->shape[i] : 1;
}

bool mg_tensor_same_shape(const mg_tensor *a, const mg_tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

void mg_tensor_set_requires_grad(mg_tensor *t, bool on)
{
    if (on)
        t->flags |= MG_TENSOR_REQUIRES_GRAD;
    else
        t->flags &= ~(uint32_t)MG_TENSOR_REQUIRES_GRAD;
}

void mg_tensor_set_frozen(mg_tensor *t, bool frozen)
{
    if (frozen)
        t->flags |= MG_TENSOR_FROZEN;
    else
        t->flags &= ~(uint32_t)MG_TENSOR_FROZEN;
}

bool mg_tensor_needs_grad(const mg_tensor *t)
{
    return t && (t->flags & MG_TENSOR_REQUIRES_GRAD) && !(t->flags & MG_TENSOR_FROZEN);
}

mg_status mg_tensor_zero_grad(mg_tensor *t) { return t->grad ? mg_tensor_fill(t->grad, 0.0f) : MG_OK; }
