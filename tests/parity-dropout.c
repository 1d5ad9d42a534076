/* Parity case "dropout": the semantics mrigan's dropout shares with torch (kept values scaled by
 * 1/(1-p), the gradient through the mask, seeding and the identity in evaluation mode). */
#include "parity.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Runs dropout(x, p) on a fresh graph of backend be with the given seed and training flag; writes the
 * output to y and, if gy and gx are not NULL, back-propagates gy and writes d/dx to gx. calls > 1
 * applies dropout calls-1 times to x first (their results unused), so the last call draws a later
 * stream. */
static bool dropout_run(pt_case *c, mg_backend *be, uint64_t seed, bool training, int calls, int ndim, const int *shape,
                        const float *x, float p, float *y, const float *gy, float *gx)
{
    mg_graph *g = NULL;
    mg_tensor *xt, *yt = NULL, *seedt;
    size_t n = 1;
    bool ok = false;

    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    if (!case_check_status(c, mg_graph_new(be, &g), "mg_graph_new"))
        return false;
    mg_graph_set_seed(g, seed);
    mg_graph_set_training(g, training);
    xt = mg_graph_tensor(g, ndim, shape, x);
    if (xt)
        mg_tensor_set_requires_grad(xt, true);
    for (int i = 0; i < calls; i++)
        yt = mg_dropout(g, xt, p);
    if (!case_check_graph(c, g, yt, "dropout"))
        goto done;
    if (!case_check_status(c, mg_tensor_read(yt, y, n), "mg_tensor_read"))
        goto done;
    if (gy && gx) {
        seedt = mg_graph_tensor(g, ndim, shape, gy);
        if (!case_check_graph(c, g, seedt, "dropout seed"))
            goto done;
        if (!case_check_status(c, mg_graph_backward_from(g, yt, seedt), "dropout backward"))
            goto done;
        if (!xt->grad) {
            case_fail(c, "dropout backward left no gradient on x");
            goto done;
        }
        if (!case_check_status(c, mg_tensor_read(xt->grad, gx, n), "mg_tensor_read"))
            goto done;
    }
    ok = true;
done:
    mg_graph_free(g);
    return ok;
}

/* Relative distance of a from b (for values expected to agree to float rounding). */
static double pt_rel_diff(double a, double b)
{
    double s = fabs(b) > 1e-30 ? fabs(b) : 1.0;

    return fabs(a - b) / s;
}

/* Every y[i] is 0 or x[i]/(1-p); returns the number kept, or -1 (case failed). */
static long dropout_check_values(pt_case *c, const char *who, const float *x, const float *y, size_t n, float p)
{
    long kept = 0;
    double scale = 1.0 / (1.0 - (double)p);

    for (size_t i = 0; i < n; i++) {
        double e;

        if (y[i] == 0.0f)
            continue;
        kept++;
        e = pt_rel_diff(y[i], x[i] * scale);
        if (e > c->maxerr)
            c->maxerr = e;
        if (!(e <= 1e-6)) {
            case_fail(c, "%s: element %zu is %.9g, neither 0 nor x/(1-p) = %.9g", who, i, (double)y[i], x[i] * scale);
            return -1;
        }
    }
    return kept;
}

/* The kept fraction on n elements for probability p lies within 0.05 of 1-p. */
static void dropout_check_fraction(pt_case *c, size_t n, float p, uint64_t seed)
{
    int shape[2] = {64, (int)(n / 64)};
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    long kept;

    if (!x || !y) {
        case_fail(c, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f + 0.125f * (float)(i % 7);
    if (!dropout_run(c, c->be, seed, true, 1, 2, shape, x, p, y, NULL, NULL))
        goto done;
    kept = dropout_check_values(c, "large tensor", x, y, n, p);
    if (kept >= 0) {
        double frac = (double)kept / (double)n;

        if (fabs(frac - (1.0 - p)) > 0.05)
            case_fail(c, "p=%.2f on %zu elements kept %.4f, expected %.4f +- 0.05", (double)p, n, frac, 1.0 - p);
    }
done:
    free(x);
    free(y);
}

static int dropout_count_diff(const float *a, const float *b, size_t n)
{
    int d = 0;

    for (size_t i = 0; i < n; i++)
        d += (a[i] == 0.0f) != (b[i] == 0.0f);
    return d;
}

/* params: [p]; x, y (torch's output in training mode). torch's masks come from another generator, so
 * the test checks the semantics shared with torch rather than the values. */
void run_dropout(pt_case *c)
{
    const mgfx_tensor *fx = case_need(c, "x"), *fy = case_need(c, "y");
    float p;
    size_t n;
    float *y = NULL, *y2 = NULL, *gx = NULL, *gy = NULL;
    mg_backend *be1 = NULL;
    long kept;

    if (!fx || !fy || !case_param_f(c, 0, &p))
        return;
    if (fy->numel != fx->numel) {
        case_fail(c, "x and y differ in size");
        return;
    }
    n = fx->numel;
    y = malloc(n * sizeof *y);
    y2 = malloc(n * sizeof *y2);
    gx = malloc(n * sizeof *gx);
    gy = malloc(n * sizeof *gy);
    if (!y || !y2 || !gx || !gy) {
        case_fail(c, "out of memory");
        goto done;
    }

    /* torch's convention: kept elements are x/(1-p). */
    kept = dropout_check_values(c, "torch reference", fx->data, fy->data, n, p);
    if (kept < 0)
        goto done;
    if (kept == 0 || (size_t)kept == n) {
        case_fail(c, "torch reference kept %ld of %zu", kept, n);
        goto done;
    }

    /* Training: every element is 0 or x/(1-p); the gradient is gy * mask / (1-p) = gy * y / x. */
    for (size_t i = 0; i < n; i++)
        gy[i] = (float)((double)((i * 37) % 11) - 5.0) * 0.25f + 0.1f;
    if (!dropout_run(c, c->be, 1234, true, 1, fx->ndim, fx->shape, fx->data, p, y, gy, gx))
        goto done;
    kept = dropout_check_values(c, "training", fx->data, y, n, p);
    if (kept < 0)
        goto done;
    if (fabs((double)kept / (double)n - (1.0 - p)) > 0.2) {
        case_fail(c, "training kept %ld of %zu for p=%.2f", kept, n, (double)p);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        double want = (double)gy[i] * (double)y[i] / (double)fx->data[i];
        double e = fabs(gx[i] - want) / (fabs(want) > 1.0 ? fabs(want) : 1.0);

        if (e > c->maxerr)
            c->maxerr = e;
        if (!(e <= 1e-6)) {
            case_fail(c, "gradient element %zu is %.9g, expected gy*y/x = %.9g", i, (double)gx[i], want);
            goto done;
        }
    }

    /* Same seed: the same mask (also from a backend with another thread count); another seed or a
     * later call: another mask. */
    if (!dropout_run(c, c->be, 1234, true, 1, fx->ndim, fx->shape, fx->data, p, y2, NULL, NULL))
        goto done;
    if (memcmp(y, y2, n * sizeof *y) != 0)
        case_fail(c, "two graphs with the same seed gave different outputs");
    if (!case_check_status(c, mg_backend_cpu_new(1, &be1), "mg_backend_cpu_new(1)"))
        goto done;
    if (!dropout_run(c, be1, 1234, true, 1, fx->ndim, fx->shape, fx->data, p, y2, NULL, NULL))
        goto done;
    if (memcmp(y, y2, n * sizeof *y) != 0)
        case_fail(c, "the same seed gave different outputs with 1 thread and %d threads", mg_backend_threads(c->be));
    if (!dropout_run(c, c->be, 1235, true, 1, fx->ndim, fx->shape, fx->data, p, y2, NULL, NULL))
        goto done;
    if (dropout_count_diff(y, y2, n) == 0)
        case_fail(c, "seeds 1234 and 1235 gave the same mask");
    if (!dropout_run(c, c->be, 1234, true, 2, fx->ndim, fx->shape, fx->data, p, y2, NULL, NULL))
        goto done;
    if (dropout_count_diff(y, y2, n) == 0)
        case_fail(c, "the second dropout call of a graph repeated the first call's mask");

    /* Evaluation mode: the identity, gradient passed through unchanged. */
    if (!dropout_run(c, c->be, 1234, false, 1, fx->ndim, fx->shape, fx->data, p, y2, gy, gx))
        goto done;
    if (memcmp(y2, fx->data, n * sizeof *y2) != 0)
        case_fail(c, "evaluation mode is not the identity");
    if (memcmp(gx, gy, n * sizeof *gx) != 0)
        case_fail(c, "evaluation mode does not pass the gradient through");

    /* Kept fraction on 4096 elements. */
    dropout_check_fraction(c, 4096, p, 99);
    dropout_check_fraction(c, 4096, 0.2f, 100);

done:
    mg_backend_free(be1);
    free(y);
    free(y2);
    free(gx);
    free(gy);
}
