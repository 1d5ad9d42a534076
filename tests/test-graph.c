/* Autograd and runtime semantics: gradient accumulation over shared tensors, no-grad mode, frozen
 * parameters, graph memory, repeated backward, error reporting, PCG32, weight init and Adam basics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mrigan/blas.h"
#include "mrigan/mrigan.h"
#include "mrigan/opencl.h"

#include "check.h"

/* Prints "ok" or "FAIL" for a test that started when the failure count was `before`. */

static float *read_all(const mg_tensor *t)
{
    float *v = malloc(t->numel * sizeof *v);
    MUST(mg_tensor_read(t, v, t->numel));
    return v;
}

static void fill_uniform(mg_tensor *t, uint64_t seed, float lo, float hi)
{
    mg_rng r;
    mg_rng_seed(&r, seed, 3);
    float *v = malloc(t->numel * sizeof *v);
    for (size_t i = 0; i < t->numel; i++)
        v[i] = lo + (hi - lo) * mg_rng_uniform(&r);
    MUST(mg_tensor_write(t, v, t->numel));
    free(v);
}

/* A tiny "generator": conv3 + instance norm + leaky relu + conv3 + tanh, same weights each call. */
typedef struct tiny_net {
    mg_tensor *w1, *b1, *w2, *b2;
} tiny_net;

static void tiny_new(mg_backend *be, tiny_net *n, uint64_t seed)
{
    MUST(mg_param_new(be, "w1", 4, (const int[]){3, 1, 3, 3}, &n->w1));
    MUST(mg_param_new(be, "b1", 1, (const int[]){3}, &n->b1));
    MUST(mg_param_new(be, "w2", 4, (const int[]){1, 3, 3, 3}, &n->w2));
    MUST(mg_param_new(be, "b2", 1, (const int[]){1}, &n->b2));
    fill_uniform(n->w1, seed, -0.5f, 0.5f);
    fill_uniform(n->b1, seed + 1, -0.1f, 0.1f);
    fill_uniform(n->w2, seed + 2, -0.5f, 0.5f);
    fill_uniform(n->b2, seed + 3, -0.1f, 0.1f);
}

static void tiny_free(tiny_net *n)
{
    mg_tensor_free(n->w1);
    mg_tensor_free(n->b1);
    mg_tensor_free(n->w2);
    mg_tensor_free(n->b2);
}

static mg_tensor *tiny_forward(mg_graph *g, const tiny_net *n, mg_tensor *x)
{
    mg_tensor *h = mg_conv2d(g, x, n->w1, n->b1, 1, 1);
    h = mg_leaky_relu(g, mg_instance_norm(g, h, NULL, NULL, 1e-5f), 0.2f);
    return mg_tanh(g, mg_conv2d(g, h, n->w2, n->b2, 1, 1));
}

/* cycle loss = MSE(G(G(x)), x) (smooth, unlike L1, for finite differences): every weight is used twice, so its gradient
 * is a sum of two paths. */
static float cycle_loss(mg_backend *be, const tiny_net *n, const float *xv, bool backward)
{
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_graph_set_grad(g, backward);
    mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 1, 6, 5}, xv);
    mg_tensor *loss = mg_mse_loss(g, tiny_forward(g, n, tiny_forward(g, n, x)), x);
    CHECK(loss != NULL, "%s", mg_graph_error(g));
    float v = 0.0f;
    MUST(mg_tensor_read(loss, &v, 1));
    if (backward)
        MUST(mg_graph_backward(g, loss));
    mg_graph_free(g);
    return v;
}

static void test_shared_weights_accumulate(mg_backend *be)
{
    int before = failures;
    tiny_net n;
    tiny_new(be, &n, 5);
    float xv[30];
    mg_rng r;
    mg_rng_seed(&r, 8, 8);
    for (int i = 0; i < 30; i++)
        xv[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
    cycle_loss(be, &n, xv, true);
    float *gw = read_all(n.w1->grad);
    float *w = read_all(n.w1);
    double worst = 0.0, scale = 0.0;
    const float eps = 3e-3f;
    for (size_t k = 0; k < n.w1->numel; k++)
        scale = fmax(scale, fabs(gw[k]));
    for (size_t k = 0; k < n.w1->numel; k += 2) {
        float keep = w[k];
        w[k] = keep + eps;
        MUST(mg_tensor_write(n.w1, w, n.w1->numel));
        double up = cycle_loss(be, &n, xv, false);
        w[k] = keep - eps;
        MUST(mg_tensor_write(n.w1, w, n.w1->numel));
        double down = cycle_loss(be, &n, xv, false);
        w[k] = keep;
        MUST(mg_tensor_write(n.w1, w, n.w1->numel));
        double fd = (up - down) / (2.0 * eps);
        worst = fmax(worst, fabs(fd - gw[k]) / (fmax(fabs(fd), fabs(gw[k])) + 0.05 * scale));
    }
    CHECK(worst < 2e-2, "w1 gradient through two uses of the network: worst rel err %g", worst);
    char what[160];
    snprintf(what, sizeof what, "shared weights: cycle-loss gradient matches finite differences (worst %.1e)", worst);
    report(before, what);
    free(gw);
    free(w);
    tiny_free(&n);
}

static void test_no_grad(mg_backend *be)
{
    int before = failures;
    tiny_net n;
    tiny_new(be, &n, 9);
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_graph_set_grad(g, false);
    mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 1, 6, 5}, NULL);
    mg_tensor *y = tiny_forward(g, &n, x);
    CHECK(y && mg_graph_node_count(g) == 0, "no-grad mode recorded %zu nodes", mg_graph_node_count(g));
    CHECK(y && !(y->flags & MG_TENSOR_REQUIRES_GRAD), "no-grad output requires grad");
    mg_tensor *loss = mg_mean(g, y);
    CHECK(mg_graph_backward(g, loss) == MG_ERR_ARG, "backward in no-grad mode should be refused");
    CHECK(strstr(mg_last_error(), "does not require grad") != NULL, "message: %s", mg_last_error());
    CHECK(n.w1->grad == NULL, "no-grad forward created a weight gradient");
    mg_graph_free(g);
    tiny_free(&n);
    report(before, "no-grad mode records nothing and refuses backward");
}

/* The generator step of a GAN: D frozen, the gradient reaches the generator through D. */
static void test_frozen(mg_backend *be)
{
    int before = failures;
    tiny_net gen, disc;
    tiny_new(be, &gen, 21);
    tiny_new(be, &disc, 31);
    mg_tensor *dparams[] = {disc.w1, disc.b1, disc.w2, disc.b2};
    for (int i = 0; i < 4; i++)
        mg_tensor_set_frozen(dparams[i], true);
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 1, 6, 5}, NULL);
    fill_uniform(x, 3, -1.0f, 1.0f);
    mg_tensor *loss = mg_mean(g, tiny_forward(g, &disc, tiny_forward(g, &gen, x)));
    MUST(mg_graph_backward(g, loss));
    for (int i = 0; i < 4; i++)
        CHECK(dparams[i]->grad == NULL, "frozen parameter %s got a gradient", dparams[i]->name);
    CHECK(gen.w1->grad != NULL, "generator weight got no gradient through the frozen discriminator");
    if (gen.w1->grad) {
        float *gw = read_all(gen.w1->grad);
        double norm = 0.0;
        for (size_t k = 0; k < gen.w1->numel; k++)
            norm += fabs(gw[k]);
        CHECK(norm > 0.0, "generator gradient is zero");
        free(gw);
    }
    mg_graph_free(g);
    /* Thawed, the discriminator learns again. */
    for (int i = 0; i < 4; i++)
        mg_tensor_set_frozen(dparams[i], false);
    MUST(mg_graph_new(be, &g));
    x = mg_graph_tensor(g, 4, (const int[]){1, 1, 6, 5}, NULL);
    fill_uniform(x, 3, -1.0f, 1.0f);
    MUST(mg_graph_backward(g, mg_mean(g, tiny_forward(g, &disc, x))));
    CHECK(disc.w1->grad != NULL, "thawed parameter got no gradient");
    mg_graph_free(g);
    tiny_free(&gen);
    tiny_free(&disc);
    report(before, "frozen parameters pass gradients through and receive none");
}

/* A second backward over one graph adds the same parameter gradient again, no more. */
static void test_backward_twice(mg_backend *be)
{
    int before = failures;
    tiny_net n;
    tiny_new(be, &n, 41);
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 1, 6, 5}, NULL);
    fill_uniform(x, 4, -1.0f, 1.0f);
    mg_tensor *loss = mg_mean(g, tiny_forward(g, &n, x));
    MUST(mg_graph_backward(g, loss));
    float *once = read_all(n.w2->grad);
    MUST(mg_graph_backward(g, loss));
    float *twice = read_all(n.w2->grad);
    double worst = 0.0;
    for (size_t k = 0; k < n.w2->numel; k++)
        worst = fmax(worst, fabs(twice[k] - 2.0f * once[k]) / (fabs(once[k]) + 1e-6));
    CHECK(worst < 1e-5, "second backward: gradient is not twice the first (worst %g)", worst);
    MUST(mg_tensor_zero_grad(n.w2));
    float *zero = read_all(n.w2->grad);
    CHECK(zero[0] == 0.0f && zero[n.w2->numel - 1] == 0.0f, "zero_grad left %g", zero[0]);
    free(once);
    free(twice);
    free(zero);
    mg_graph_free(g);
    tiny_free(&n);
    report(before, "repeated backward accumulates parameter gradients exactly once per call");
}

/* Backward hands each activation's gradient back as soon as the op that made the activation has used it: after
 * backward only the leaves (the input asked for, the parameters) hold gradients, and the memory in use is what it
 * was before backward plus theirs. A repeated backward, which starts a graph's own gradients from zero, gives the
 * same input gradient again. */
static void test_backward_releases(mg_backend *be)
{
    int before = failures;
    tiny_net n;
    tiny_new(be, &n, 47);
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 1, 6, 5}, NULL);
    fill_uniform(x, 5, -1.0f, 1.0f);
    mg_tensor_set_requires_grad(x, true);
    mg_tensor *y = tiny_forward(g, &n, x);
    mg_tensor *loss = mg_mean(g, y);
    mg_memory_stats m0, m1;
    mg_backend_memory(be, &m0);
    MUST(mg_graph_backward(g, loss));
    mg_backend_memory(be, &m1);
    size_t leaves = (x->numel + n.w1->numel + n.b1->numel + n.w2->numel + n.b2->numel) * sizeof(float);
    CHECK(y->grad == NULL && loss->grad == NULL, "activation gradients kept after backward");
    CHECK(x->grad && n.w1->grad && n.b2->grad, "a leaf lost its gradient");
    CHECK(m1.live_bytes == m0.live_bytes + leaves + sizeof(float) /* the seed 1 */,
          "live bytes after backward %zu, expected %zu", m1.live_bytes, m0.live_bytes + leaves + sizeof(float));
    float *once = read_all(x->grad);
    MUST(mg_graph_backward(g, loss));
    float *twice = read_all(x->grad);
    double worst = 0.0;
    for (size_t k = 0; k < x->numel; k++)
        worst = fmax(worst, fabs(twice[k] - once[k]));
    CHECK(worst == 0.0, "second backward after the release: input gradient differs by %g", worst);
    free(once);
    free(twice);
    mg_graph_free(g);
    tiny_free(&n);
    report(before, "backward releases activation gradients as it goes; leaves keep theirs");
}

/* mg_instance_norm_relu is mg_leaky_relu (or mg_relu) after mg_instance_norm, fused: the same output and the same
 * gradients of x, gamma and beta, bit for bit (the same float operations in the same order). */
static void test_norm_relu_fused(mg_backend *be)
{
    int before = failures;
    const int shape[4] = {2, 3, 9, 7};
    mg_tensor *gamma, *beta;
    MUST(mg_param_new(be, "gamma", 1, (const int[]){3}, &gamma));
    MUST(mg_param_new(be, "beta", 1, (const int[]){3}, &beta));
    fill_uniform(gamma, 61, 0.5f, 1.5f);
    fill_uniform(beta, 62, -0.3f, 0.3f);
    for (int k = 0; k < 2; k++) {
        const float slope = k ? 0.2f : 0.0f;
        float *out[2], *dx[2], *dg[2], *db[2];
        for (int fused = 0; fused < 2; fused++) {
            mg_graph *g;
            MUST(mg_graph_new(be, &g));
            mg_tensor *x = mg_graph_tensor(g, 4, shape, NULL), *r = mg_graph_tensor(g, 4, shape, NULL);
            fill_uniform(x, 63, -1.0f, 1.0f);
            fill_uniform(r, 64, -1.0f, 1.0f);
            mg_tensor_set_requires_grad(x, true);
            MUST(mg_tensor_zero_grad(gamma));
            MUST(mg_tensor_zero_grad(beta));
            mg_tensor *y = fused ? mg_instance_norm_relu(g, x, gamma, beta, 1e-5f, slope)
                                 : mg_leaky_relu(g, mg_instance_norm(g, x, gamma, beta, 1e-5f), slope);
            MUST(mg_graph_backward_from(g, y, r));
            out[fused] = read_all(y);
            dx[fused] = read_all(x->grad);
            dg[fused] = read_all(gamma->grad);
            db[fused] = read_all(beta->grad);
            mg_graph_free(g);
        }
        const size_t n = (size_t)shape[0] * shape[1] * shape[2] * shape[3];
        CHECK(memcmp(out[0], out[1], n * sizeof(float)) == 0, "slope %g: fused output differs", slope);
        CHECK(memcmp(dx[0], dx[1], n * sizeof(float)) == 0, "slope %g: fused input gradient differs", slope);
        CHECK(memcmp(dg[0], dg[1], 3 * sizeof(float)) == 0 && memcmp(db[0], db[1], 3 * sizeof(float)) == 0,
              "slope %g: fused gamma / beta gradients differ", slope);
        size_t negative = 0;
        for (size_t i = 0; i < n; i++)
            negative += out[1][i] < 0.0f;
        CHECK(k ? negative > n / 4 : negative == 0, "slope %g: %zu negative outputs of %zu", slope, negative, n);
        for (int f = 0; f < 2; f++) {
            free(out[f]);
            free(dx[f]);
            free(dg[f]);
            free(db[f]);
        }
    }
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_tensor *x = mg_graph_tensor(g, 4, shape, NULL);
    CHECK(!mg_instance_norm_relu(g, x, NULL, NULL, 1e-5f, -0.1f) && strstr(mg_graph_error(g), "slope"),
          "a negative slope was accepted");
    mg_graph_free(g);
    mg_tensor_free(gamma);
    mg_tensor_free(beta);
    report(before, "instance_norm_relu: the output and gradients of leaky_relu(instance_norm), bit for bit");
}

/* Freeing a graph frees its activations; a reused graph allocates nothing after its first step. */
static void test_memory(mg_backend *be)
{
    int before = failures;
    tiny_net n;
    tiny_new(be, &n, 51);
    mg_memory_stats base, after;
    mg_backend_memory(be, &base);
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    size_t allocs_after_first = 0;
    for (int step = 0; step < 4; step++) {
        mg_graph_reset(g);
        mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 1, 16, 12}, NULL);
        mg_tensor *loss = mg_mean(g, tiny_forward(g, &n, x));
        MUST(mg_graph_backward(g, loss));
        mg_memory_stats m;
        mg_backend_memory(be, &m);
        CHECK(m.live_bytes > base.live_bytes, "a step holds no activations?");
        if (step == 0)
            allocs_after_first = m.n_allocs;
        else
            CHECK(m.n_allocs == allocs_after_first, "step %d allocated %zu new buffers", step,
                  m.n_allocs - allocs_after_first);
    }
    mg_graph_free(g);
    mg_backend_memory(be, &after);
    /* Only the weight gradients (created by the first backward) stay alive. */
    size_t param_bytes = (n.w1->numel + n.b1->numel + n.w2->numel + n.b2->numel) * sizeof(float);
    CHECK(after.live_bytes == base.live_bytes + param_bytes, "live bytes %zu, expected %zu", after.live_bytes,
          base.live_bytes + param_bytes);
    tiny_free(&n);
    mg_backend_memory(be, &after);
    CHECK(after.live_bytes == base.live_bytes - param_bytes,
          "freeing the parameters left %zu live bytes, "
          "expected %zu",
          after.live_bytes, base.live_bytes - param_bytes);
    report(before, "graph memory: activations freed with the graph, steady-state steps allocate nothing");
}

/* bilinear2d's values, worked out by hand from PyTorch's Upsample(mode='bilinear', align_corners=False): output o
 * reads (o + 0.5) / 2 - 0.5, clamped at 0 and at the last input, so the corners copy and the rest blend 3:1. Every
 * weight is a power of two, so the values are exact. */
static void test_bilinear_values(mg_backend *be)
{
    int before = failures;
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 1, 2, 2}, (const float[]){0, 4, 8, 12});
    mg_tensor *y = mg_bilinear2d(g, x, 2);
    CHECK(y && y->shape[2] == 4 && y->shape[3] == 4, "bilinear2d x2 of 2x2: %s", mg_graph_error(g));
    if (y) {
        const float want[16] = {0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12};
        float *v = read_all(y);
        for (int i = 0; i < 16; i++)
            CHECK(v[i] == want[i], "bilinear2d output %d: %g, want %g", i, v[i], want[i]);
        free(v);
    }
    mg_graph_free(g);
    report(before, "bilinear2d: PyTorch's align_corners=False values on a 2x2 input");
}

/* shift2d's values on a 3x4 plane numbered 1..12: moved one right and one up, the vacated column and row and a 2x1
 * box filled with -1; its gradient of sum(y) is 1 on each input pixel that lands outside the box, 0 elsewhere. */
static void test_shift_values(mg_backend *be)
{
    int before = failures;
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_graph_set_training(g, true);
    const float in[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    mg_tensor *x;
    MUST(mg_param_new(be, "x", 4, (const int[]){1, 1, 3, 4}, &x));
    MUST(mg_tensor_write(x, in, 12));
    mg_tensor *y = mg_shift2d(g, x, 1, -1, (const int[]){2, 0, 4, 1}, -1.0f);
    CHECK(y && y->shape[2] == 3 && y->shape[3] == 4, "shift2d of 3x4: %s", mg_graph_error(g));
    if (y) {
        /* y[i][j] = x[i + 1][j - 1]: row 0 from row 1, row 2 vacated; column 0 vacated; box x 2..3 of row 0 */
        const float want[12] = {-1, 5, -1, -1, -1, 9, 10, 11, -1, -1, -1, -1};
        float *v = read_all(y);
        for (int i = 0; i < 12; i++)
            CHECK(v[i] == want[i], "shift2d output %d: %g, want %g", i, v[i], want[i]);
        free(v);
        MUST(mg_graph_backward(g, mg_sum(g, y)));
        const float grad[12] = {0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0};
        float *d = read_all(x->grad);
        for (int i = 0; i < 12; i++)
            CHECK(d[i] == grad[i], "shift2d gradient %d: %g, want %g", i, d[i], grad[i]);
        free(d);
    }
    CHECK(mg_shift2d(g, x, 4, 0, NULL, 0.0f) == NULL && mg_graph_status(g) == MG_ERR_ARG,
          "a shift as wide as the input accepted");
    mg_graph_free(g);
    mg_tensor_free(x);
    report(before, "shift2d: values and gradient of a shift with a cutout, worked out by hand");
}

static void test_errors(mg_backend *be)
{
    int before = failures;
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 3, 8, 8}, NULL);
    mg_tensor *w;
    MUST(mg_param_new(be, "enc.w", 4, (const int[]){4, 2, 3, 3}, &w));
    mg_tensor *y = mg_conv2d(g, x, w, NULL, 1, 1);
    CHECK(y == NULL, "channel mismatch accepted");
    CHECK(mg_graph_status(g) == MG_ERR_SHAPE, "status %s", mg_status_name(mg_graph_status(g)));
    CHECK(strstr(mg_graph_error(g), "conv2d") && strstr(mg_graph_error(g), "[1,3,8,8]") &&
              strstr(mg_graph_error(g), "[4,2,3,3]"),
          "message does not name op and shapes: %s", mg_graph_error(g));
    /* Later ops on the failed chain return NULL and keep the first message. */
    CHECK(mg_relu(g, y) == NULL && strstr(mg_graph_error(g), "conv2d"), "error not sticky: %s", mg_graph_error(g));
    mg_graph_reset(g);
    CHECK(mg_graph_status(g) == MG_OK, "reset keeps the error");
    x = mg_graph_tensor(g, 4, (const int[]){1, 2, 3, 3}, NULL);
    CHECK(mg_reflect_pad2d(g, x, 3, 0, 0, 0) == NULL && mg_graph_status(g) == MG_ERR_ARG,
          "reflect pad as large as the input accepted");
    mg_graph_reset(g);
    x = mg_graph_tensor(g, 4, (const int[]){1, 2, 3, 3}, NULL);
    CHECK(mg_dropout(g, x, 1.5f) == NULL, "dropout p 1.5 accepted");
    mg_graph_reset(g);
    x = mg_graph_tensor(g, 4, (const int[]){1, 2, 3, 3}, NULL);
    CHECK(mg_conv_transpose2d(g, x, w, NULL, 2, 1, 2) == NULL, "output padding >= stride accepted");
    mg_graph_reset(g);
    CHECK(mg_graph_tensor(g, 2, (const int[]){3, 0}, NULL) == NULL && mg_graph_status(g) == MG_ERR_ARG,
          "zero-sized dimension accepted");
    float buf[4];
    CHECK(mg_tensor_read(w, buf, 4) == MG_ERR_ARG && strstr(mg_last_error(), "enc.w"),
          "wrong-size read not refused by name: %s", mg_last_error());
    mg_graph_free(g);
    mg_tensor_free(w);
    report(before, "errors: shape and argument failures are reported with op, shapes and names");
}

static void test_rng(void)
{
    int before = failures;
    /* O'Neill's reference pcg32-demo, seed 42 stream 54. */
    static const uint32_t expect[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e};
    mg_rng r;
    mg_rng_seed(&r, 42, 54);
    for (int i = 0; i < 6; i++) {
        uint32_t v = mg_rng_u32(&r);
        CHECK(v == expect[i], "pcg32 output %d: 0x%08x, reference 0x%08x", i, v, expect[i]);
    }
    mg_rng_seed(&r, 1, 1);
    double s = 0.0, sq = 0.0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = mg_rng_normal(&r);
        s += z;
        sq += z * z;
    }
    double mean = s / n, var = sq / n - mean * mean;
    CHECK(fabs(mean) < 0.01 && fabs(var - 1.0) < 0.02, "normal draws: mean %g variance %g", mean, var);
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++)
        hist[mg_rng_below(&r, 7)]++;
    for (int i = 0; i < 7; i++)
        CHECK(abs(hist[i] - 10000) < 500, "below(7) bucket %d: %d of 70000", i, hist[i]);
    report(before, "pcg32 matches the reference stream; normal and below() have the right statistics");
}

static void test_init(mg_backend *be)
{
    int before = failures;
    mg_tensor *a, *b;
    MUST(mg_param_new(be, "a", 4, (const int[]){64, 32, 4, 4}, &a));
    MUST(mg_param_new(be, "b", 4, (const int[]){64, 32, 4, 4}, &b));
    mg_rng r1, r2;
    mg_rng_seed(&r1, 2024, 0);
    mg_rng_seed(&r2, 2024, 0);
    MUST(mg_init_normal(a, &r1, 0.0f, 0.02f));
    MUST(mg_init_normal(b, &r2, 0.0f, 0.02f));
    float *va = read_all(a), *vb = read_all(b);
    CHECK(memcmp(va, vb, a->numel * sizeof(float)) == 0, "same seed, different weights");
    double s = 0.0, sq = 0.0;
    for (size_t i = 0; i < a->numel; i++) {
        s += va[i];
        sq += (double)va[i] * va[i];
    }
    double mean = s / a->numel, sd = sqrt(sq / a->numel - mean * mean);
    CHECK(fabs(mean) < 1e-3 && fabs(sd - 0.02) < 1e-3, "init normal(0, 0.02): mean %g sd %g", mean, sd);
    free(va);
    free(vb);
    mg_tensor_free(a);
    mg_tensor_free(b);
    report(before, "weight init: normal(0, 0.02), identical for identical seeds");
}

/* Adam minimises a quadratic; parameters without a gradient keep still. */
static void test_adam(mg_backend *be)
{
    int before = failures;
    mg_tensor *p, *idle;
    MUST(mg_param_new(be, "p", 1, (const int[]){5}, &p));
    MUST(mg_param_new(be, "idle", 1, (const int[]){3}, &idle));
    MUST(mg_tensor_write(p, (const float[]){3, -2, 1, 0.5f, -4}, 5));
    mg_adam *opt;
    mg_tensor *params[] = {p, idle};
    MUST(mg_adam_new(be, params, 2, &(mg_adam_config){.lr = 0.1f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f}, &opt));
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    float first = 0.0f, last = 0.0f;
    for (int step = 0; step < 200; step++) {
        mg_graph_reset(g);
        MUST(mg_adam_zero_grad(opt));
        mg_tensor *zero = mg_graph_tensor(g, 1, (const int[]){5}, NULL);
        mg_tensor *loss = mg_mse_loss(g, p, zero);
        MUST(mg_tensor_read(loss, step ? &last : &first, 1));
        MUST(mg_graph_backward(g, loss));
        MUST(mg_adam_step(opt));
    }
    mg_tensor *m, *v;
    int64_t *steps;
    MUST(mg_adam_state(opt, 1, &m, &v, &steps));
    CHECK(*steps == 0 && idle->grad == NULL, "parameter without gradient was stepped %lld times", (long long)*steps);
    MUST(mg_adam_state(opt, 0, &m, &v, &steps));
    CHECK(*steps == 200, "step count %lld", (long long)*steps);
    CHECK(last < 1e-3f * first, "Adam did not minimise: loss %g -> %g", first, last);
    mg_graph_free(g);
    mg_adam_free(opt);
    mg_tensor_free(p);
    mg_tensor_free(idle);
    char what[160];
    snprintf(what, sizeof what, "adam minimises a quadratic (%.3g -> %.3g) and skips parameters without gradients",
             first, last);
    report(before, what);
}

/* The quantile loss by hand: five of six pixels above the threshold, two of them tied (ranked by position), matched
 * to the quantile function -1 + 2u: targets -0.8 -0.4 0 0.4 0.8 by rank, the masked pixel its own target. */
static void quantile_loss_case(mg_backend *be, const char *name)
{
    int before = failures;
    const float xv[6] = {0.5f, -0.2f, 0.5f, 0.9f, 0.1f, -0.8f}, mv[6] = {1, 1, 1, 1, -1, 1}, qv[2] = {-1, 1};
    const float want_grad[6] = {2 * 0.5f / 6, 2 * 0.2f / 6, 2 * 0.1f / 6, 2 * 0.1f / 6, 0, 0};
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_tensor *x = mg_graph_tensor(g, 4, (const int[]){1, 1, 2, 3}, xv);
    mg_tensor *m = mg_graph_tensor(g, 4, (const int[]){1, 1, 2, 3}, mv);
    mg_tensor *q = mg_graph_tensor(g, 1, (const int[]){2}, qv);
    mg_tensor_set_requires_grad(x, true);
    mg_tensor *loss = mg_quantile_loss(g, x, m, q, 0.0f);
    CHECK(loss != NULL, "%s: %s", name, mg_graph_error(g));
    if (loss) {
        float v = 0.0f, gx[6] = {0};
        MUST(mg_tensor_read(loss, &v, 1));
        CHECK(fabsf(v - 0.31f / 6) < 1e-6f, "%s: loss %.7g, want %.7g", name, v, 0.31f / 6);
        MUST(mg_graph_backward(g, loss));
        MUST(mg_tensor_read(x->grad, gx, 6));
        for (int i = 0; i < 6; i++)
            CHECK(fabsf(gx[i] - want_grad[i]) < 1e-6f, "%s: gradient %d is %.7g, want %.7g", name, i, gx[i],
                  want_grad[i]);
    }
    mg_graph_free(g);
    MUST(mg_graph_new(be, &g));
    m = mg_graph_tensor(g, 4, (const int[]){1, 1, 2, 3}, mv);
    mg_tensor_set_requires_grad(m, true);
    CHECK(!mg_quantile_loss(g, mg_graph_tensor(g, 4, (const int[]){1, 1, 2, 3}, xv), m,
                            mg_graph_tensor(g, 1, (const int[]){2}, qv), 0.0f) &&
              strstr(mg_graph_error(g), "take no gradient"),
          "%s: a mask that wants a gradient: %s", name, mg_graph_error(g));
    mg_graph_free(g);
    MUST(mg_graph_new(be, &g));
    CHECK(!mg_quantile_loss(g, mg_graph_tensor(g, 4, (const int[]){1, 1, 2, 3}, xv),
                            mg_graph_tensor(g, 4, (const int[]){1, 1, 2, 3}, mv),
                            mg_graph_tensor(g, 1, (const int[]){1}, qv), 0.0f) &&
              strstr(mg_graph_error(g), "k >= 2"),
          "%s: one quantile: %s", name, mg_graph_error(g));
    mg_graph_free(g);
    char what[96];
    snprintf(what, sizeof what, "quantile loss by hand, ties ranked by position (%s)", name);
    report(before, what);
}

static void test_quantile_loss(mg_backend *cpu)
{
    quantile_loss_case(cpu, "cpu");
    mg_backend *cl = NULL;
    if (mg_backend_opencl_new(0, &cl) == MG_OK) { /* where there is a device; test-ops compares every op there */
        quantile_loss_case(cl, "opencl");
        mg_backend_free(cl);
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    mg_backend *be;
    MUST(mg_backend_cpu_new(0, &be));
    test_shared_weights_accumulate(be);
    test_no_grad(be);
    test_frozen(be);
    test_backward_twice(be);
    test_backward_releases(be);
    test_norm_relu_fused(be);
    test_memory(be);
    test_errors(be);
    test_bilinear_values(be);
    test_shift_values(be);
    test_rng();
    test_init(be);
    test_adam(be);
    test_quantile_loss(be);
    mg_backend_free(be);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
