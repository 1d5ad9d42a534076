/* CLBlast's parameters per device (mrigan bench tune) on the first OpenCL device: a short tuning run writes the
 * device's file where mg_opencl_tuning_path says, keeping CLBlast's own parameters unless a set was faster; a file
 * with a given Xgemm set, forced onto every GEMM, is applied when the backend opens the device and convolutions
 * through it stay within the rounding bound of a direct sum in double; a file that cannot be parsed or that CLBlast
 * refuses stops the backend with a message naming the file and line, and MRIGAN_CL_TUNING=off skips it. Exit 77
 * ("skipped") when there is no OpenCL device. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mrigan/mrigan.h"
#include "mrigan/opencl.h"

static char dir[] = "/tmp/mrigan-tune-XXXXXX";

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
}

static char *read_text(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

/* A short run of the tuner: its file in the folder given, named as mg_opencl_tuning_path says. */
static void test_tune_run(void)
{
    int before = failures;
    const mg_gemm_shape shapes[] = {
        {48, 400, 64, false, false}, {48, 64, 400, false, true}, {64, 400, 48, true, false}};
    mg_opencl_tune_opts o = {.device = 0, .shapes = shapes, .n_shapes = 3, .candidates = 2, .seed = 3};
    mg_opencl_tune_result r;
    MUST(mg_opencl_tune(&o, &r));
    /* two of Xgemm (the first two kinds, valid), then up to two each of the pad-and-transpose kernels */
    CHECK(r.tried >= 2 && r.tried <= 6 && r.failed <= r.tried - 2, "%d sets tried, %d failed", r.tried, r.failed);
    CHECK(r.default_s > 0 && r.best_s > 0 && r.best_s <= r.default_s, "default %g s, best %g s", r.default_s, r.best_s);
    char expect[4096];
    MUST(mg_opencl_tuning_path(0, NULL, expect, sizeof expect));
    CHECK(!strcmp(expect, r.path) && !strncmp(r.path, dir, strlen(dir)), "written to %s, expected %s in %s", r.path,
          expect, dir);
    const char *text = read_text(r.path);
    CHECK(!strncmp(text, "# CLBlast parameters chosen by mrigan bench tune", 48), "the file begins: %.60s", text);
    CHECK((strstr(text, "\nXgemm GEMMK=0 KREG=1 ") != NULL) == (r.best_s < r.default_s),
          "an Xgemm line only when it beat CLBlast's own (%g < %g s): %s", r.best_s, r.default_s, text);
    report(before, "a short tuning run writes the device's file, CLBlast's own kept unless beaten");
}

/* A 64 -> 48 3x3 convolution of 20 x 20 through im2col and Xgemm with the file's parameters, against a direct sum
 * in double: within 2 K u sum |x w| (K = 576 products, u = 2^-24). */
static void test_tune_applied(const char *path)
{
    int before = failures;
    write_text(path, "# a set of the first kind, on every GEMM\n"
                     "Xgemm GEMMK=0 KREG=1 KWG=16 KWI=2 MDIMA=8 MDIMC=8 MWG=64 NDIMB=8 NDIMC=8 NWG=64 SA=0 SB=0 STRM=0 "
                     "STRN=0 VWM=4 VWN=4\nGemmRoutine XGEMM_MIN_INDIRECT_SIZE=0\n");
    enum { C = 64, O = 48, H = 20 };
    static float x[C * H * H], w[O * C * 9], y[O * H * H];
    mg_rng r;
    mg_rng_seed(&r, 11, 2);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < sizeof w / sizeof *w; i++)
        w[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
    mg_backend *be;
    MUST(mg_backend_opencl_new(0, &be));
    mg_graph *g;
    MUST(mg_graph_new(be, &g));
    mg_tensor *tx = mg_graph_tensor(g, 4, (const int[]){1, C, H, H}, x),
              *tw = mg_graph_tensor(g, 4, (const int[]){O, C, 3, 3}, w), *ty = mg_conv2d(g, tx, tw, NULL, 1, 1);
    MUST(ty ? mg_tensor_read(ty, y, sizeof y / sizeof *y) : mg_graph_status(g));
    double worst = 0.0;
    for (int o = 0; o < O; o++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < H; j++) {
                double sum = 0.0, abs_sum = 0.0;
                for (int c = 0; c < C; c++)
                    for (int u = 0; u < 3; u++)
                        for (int v = 0; v < 3; v++) {
                            int yy = i + u - 1, xx = j + v - 1;
                            if (yy < 0 || yy >= H || xx < 0 || xx >= H)
                                continue;
                            double p = (double)x[(c * H + yy) * H + xx] * w[((o * C + c) * 3 + u) * 3 + v];
                            sum += p;
                            abs_sum += fabs(p);
                        }
                double e = fabs(y[(o * H + i) * H + j] - sum) / (2.0 * C * 9 * ldexp(1.0, -24) * abs_sum);
                worst = e > worst ? e : worst;
            }
    CHECK(worst <= 1.0, "a convolution through the tuned Xgemm is %.2f times its rounding bound off", worst);
    mg_graph_free(g);
    mg_backend_free(be);
    report(before, "a file's Xgemm set applied to every GEMM: a convolution within its rounding bound");
}

/* Files that cannot be used stop the backend, naming the file and line; MRIGAN_CL_TUNING=off skips them. */
static void test_tune_refused(const char *path)
{
    int before = failures;
    static const char *const bad[] = {"# fine\n\nXgemm GEMMK=zero\n", "Xgemm NO_SUCH_PARAMETER=1\n", "Xgemm\n"};
    static const char *const line[] = {"line 3", "line 1", "line 1"};
    for (int i = 0; i < 3; i++) {
        write_text(path, bad[i]);
        mg_backend *be = NULL;
        mg_status s = mg_backend_opencl_new(0, &be);
        CHECK(s != MG_OK && !be && strstr(mg_last_error(), path) && strstr(mg_last_error(), line[i]),
              "tuning file '%s': %s", bad[i], mg_last_error());
        mg_backend_free(be);
    }
    setenv("MRIGAN_CL_TUNING", "off", 1);
    mg_backend *be = NULL;
    CHECK(mg_backend_opencl_new(0, &be) == MG_OK, "MRIGAN_CL_TUNING=off: %s", mg_last_error());
    mg_backend_free(be);
    unsetenv("MRIGAN_CL_TUNING");
    report(before, "a broken tuning file stops the backend with its name and line; MRIGAN_CL_TUNING=off skips it");
}

/* Removes dir and the files in it (the tuning file and the kernels compiled for the run); false if anything stays. */
static bool remove_dir(const char *path)
{
    DIR *d = opendir(path);
    bool ok = d != NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        char f[4400];
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            ok = snprintf(f, sizeof f, "%s/%s", path, e->d_name) < (int)sizeof f && unlink(f) == 0 && ok;
    }
    if (d)
        closedir(d);
    return rmdir(path) == 0 && ok;
}

int main(void)
{
    mg_device_info devs[16];
    int n = 0;
    if (mg_opencl_devices(devs, 16, &n) != MG_OK || n == 0) {
        printf("SKIP no OpenCL device\n");
        return 77;
    }
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    setenv("MRIGAN_CACHE_DIR", dir, 1);    /* its tuning file, and the kernels compiled for the run */
    setenv("MRIGAN_CL_CONV", "im2col", 1); /* the convolution through CLBlastSgemm, whose Xgemm the file sets */
    unsetenv("MRIGAN_CL_TUNING");
    char path[4096];
    MUST(mg_opencl_tuning_path(0, NULL, path, sizeof path));
    test_tune_run();
    test_tune_applied(path);
    test_tune_refused(path);
    CHECK(remove_dir(dir), "cannot remove %s", dir);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
