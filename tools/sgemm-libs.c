/* Single-threaded cblas_sgemm GFLOP/s for the GEMM shapes of the CycleGAN generators' convolutions, against
 * whichever BLAS library it is linked with (tools/bench-blas-libs.sh builds it once per library). The CPU
 * backend splits each GEMM over its own threads and calls the library on one thread, so one thread is what
 * matters. Prints one line per shape: M N K transposed-A GF/s (best of 5). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The CBLAS prototype, declared here so that the file builds against any library's headers or none. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    /* M = output channels, N = output pixels, K = input channels x kernel area (forward); transposed-A rows are
     * the input-gradient GEMMs of the backward pass. */
    static const struct {
        int m, n, k, ta;
        const char *layer;
    } shapes[] = {
        {128, 16384, 1024, 0, "unet256 down2 fwd"}, {256, 4096, 2048, 0, "unet256 down3 fwd"},
        {512, 1024, 4096, 0, "unet256 down4 fwd"},  {256, 4096, 2304, 0, "resnet9 R256 fwd"},
        {64, 65536, 49, 0, "resnet9 c7s1-64 fwd"},  {1024, 4096, 512, 1, "unet256 down3 bwd dX"},
        {2304, 4096, 256, 1, "resnet9 R256 bwd dX"},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int m = shapes[s].m, n = shapes[s].n, k = shapes[s].k, ta = shapes[s].ta;
        float *a = malloc(sizeof(float) * (size_t)m * k), *b = malloc(sizeof(float) * (size_t)k * n),
              *c = malloc(sizeof(float) * (size_t)m * n);
        if (!a || !b || !c)
            return 1;
        for (size_t i = 0; i < (size_t)m * k; i++)
            a[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < (size_t)k * n; i++)
            b[i] = (float)(i % 5) * 0.1f;
        double best = 1e30;
        for (int r = 0; r < 5; r++) {
            double t0 = now_s();
            cblas_sgemm(ROW_MAJOR, ta ? TRANS : NO_TRANS, NO_TRANS, m, n, k, 1.0f, a, ta ? m : k, b, n, 0.0f, c, n);
            double t = now_s() - t0;
            best = t < best ? t : best;
        }
        printf("%-22s M %5d N %6d K %5d%s %7.1f GF/s\n", shapes[s].layer, m, n, k, ta ? " (A^T)" : "      ",
               2.0 * m * n * k / best / 1e9);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
