/* The quantile loss on the CPU (mg_quantile_loss): per plane, the pixels above the mask's threshold sorted by
 * (value, position), each given the quantile of its rank; aux keeps those targets (x itself elsewhere), so the
 * loss and its gradient are the mean squared error of x against aux. cl/quantile.cl ranks and interpolates
 * the same way. */
#include <math.h>
#include <stdlib.h>

#include "cpu.h"

typedef struct ranked {
    float v;
    int at;
} ranked;

static int ranked_cmp(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v < b->v ? -1 : 1;
    return (a->at > b->at) - (a->at < b->at);
}

/* The quantile function q (k values at j / (k - 1)) at rank r of n: the rank's centre (r + 0.5) / n. */
static float quantile_at(const float *q, int k, int r, int n)
{
    float p = ((float)r + 0.5f) / (float)n * (float)(k - 1);
    int j = (int)p;
    if (j > k - 2)
        j = k - 2;
    float f = p - (float)j;
    return q[j] + f * (q[j + 1] - q[j]);
}

typedef struct quantile_args {
    const float *x, *mask, *q;
    float *target, threshold;
    int k;
    size_t plane;
    ranked *work; /* room for every pixel of every plane */
} quantile_args;

static void quantile_planes(void *p, size_t q0, size_t q1)
{
    const quantile_args *a = p;
    for (size_t qi = q0; qi < q1; qi++) {
        const float *x = a->x + qi * a->plane, *m = a->mask + qi * a->plane;
        float *t = a->target + qi * a->plane;
        ranked *r = a->work + qi * a->plane;
        int n = 0;
        for (size_t i = 0; i < a->plane; i++) {
            t[i] = x[i];
            if (m[i] > a->threshold) /* NaN ranks as +inf, as on OpenCL (and makes the loss NaN) */
                r[n++] = (ranked){isnan(x[i]) ? INFINITY : x[i], (int)i};
        }
        qsort(r, (size_t)n, sizeof *r, ranked_cmp);
        for (int i = 0; i < n; i++)
            t[r[i].at] = quantile_at(a->q, a->k, i, n);
    }
}

mg_status cpu_quantile_loss_fwd(void *ctx, mg_node *n)
{
    cpu_ctx *c = ctx;
    const mg_tensor *x = n->src[0];
    const size_t planes = (size_t)x->shape[0] * x->shape[1], plane = (size_t)x->shape[2] * x->shape[3];
    ranked *work = malloc(x->numel * sizeof *work);
    if (!work)
        return mg_error(MG_ERR_OOM, "quantile_loss: out of memory for %zu pixels", x->numel);
    quantile_args a = {.x = cpu_data(x),
                       .mask = cpu_data(n->src[1]),
                       .q = cpu_data(n->src[2]),
                       .target = cpu_data(n->aux),
                       .threshold = n->p.f,
                       .k = n->src[2]->shape[0],
                       .plane = plane,
                       .work = work};
    mg_pool_for(c->pool, planes, 1, quantile_planes, &a);
    free(work);
    return cpu_mse_value(c, cpu_data(x), cpu_data(n->aux), x->numel, cpu_data(n->dst));
}

mg_status cpu_quantile_loss_bwd(void *ctx, mg_node *n)
{
    const mg_tensor *x = n->src[0];
    if (n->want_grad[0])
        cpu_mse_grad(ctx, cpu_data(x), cpu_data(n->aux), x->numel, cpu_data(n->dst->grad)[0], cpu_data(x->grad));
    return MG_OK;
}
