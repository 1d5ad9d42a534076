/* mrigan bench tune: CLBlast's GEMM parameters for an OpenCL device, chosen by timing the GEMMs of a network's layers
 * (mg_opencl_tune) and written where the OpenCL backend reads them whenever it opens that device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "mrigan/mrigan.h"
#include "mrigan/opencl.h"
#include "options.h"

static void tune_usage(void)
{
    printf("usage: mrigan bench tune [--device N] [--network default|unet256|resnet9] [--candidates N] [--seed N]\n"
           "                         [--dir DIR]\n"
           "Chooses CLBlast's GEMM parameters for an OpenCL device: random parameter sets of its Xgemm kernel, each\n"
           "checked against a product in double and timed on the GEMMs of the network's layers, then the size below\n"
           "which CLBlast's direct kernel runs. The fastest set goes to a file per device and driver, which the\n"
           "OpenCL backend applies whenever it opens the device (MRIGAN_CL_TUNING=off ignores it); run it again\n"
           "after a driver update. Each set is compiled once: minutes on a CPU device.\n"
           "  --device N       OpenCL device (see mrigan devices; default: MRIGAN_DEVICE, else 0)\n"
           "  --network NAME   whose layers' GEMMs are timed (default: default, mrigan train's generator at 224)\n"
           "  --candidates N   parameter sets tried (default: 40)\n"
           "  --seed N         of the random draw (default: 1)\n"
           "  --dir DIR        where the file goes (default: the compiled kernels' folder, $MRIGAN_CACHE_DIR,\n"
           "                   $XDG_CACHE_HOME/mrigan or ~/.cache/mrigan)\n");
}

static void tune_progress(int done, int total, double best_s, double default_s, void *user)
{
    (void)user;
    fprintf(stderr, "\rmrigan bench tune: %d/%d parameter sets; best %.4f s, CLBlast's own %.4f s   ", done, total,
            best_s, default_s);
    if (done == total)
        fputc('\n', stderr);
}

int cmd_bench_tune(int argc, char **argv)
{
    const char *env = getenv("MRIGAN_DEVICE"), *net = "default", *dir = NULL;
    int device = 0, candidates = 40, seed = 1;
    if (env && *env && !app_parse_int(env, 0, 1000, &device)) {
        fprintf(stderr, "mrigan bench tune: MRIGAN_DEVICE=%s is not a device number from 0 to 1000\n", env);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            tune_usage();
            return 0;
        } else if (!strcmp(a, "--device") && has && app_parse_int(argv[i + 1], 0, 1000, &device)) {
            i++;
        } else if (!strcmp(a, "--candidates") && has && app_parse_int(argv[i + 1], 1, 100000, &candidates)) {
            i++;
        } else if (!strcmp(a, "--seed") && has && app_parse_int(argv[i + 1], 0, 2147483647, &seed)) {
            i++;
        } else if (!strcmp(a, "--network") && has) {
            net = argv[++i];
        } else if (!strcmp(a, "--dir") && has) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "mrigan bench tune: bad option or value '%s%s%s' (see mrigan bench tune --help)\n", a,
                    has ? " " : "", has ? argv[i + 1] : "");
            return 2;
        }
    }
    mg_gemm_shape shapes[96];
    int n = bench_gemm_shapes(net, shapes, 96);
    if (n == 0) {
        fprintf(stderr, "mrigan bench tune: --network %s: expected default, unet256 or resnet9\n", net);
        return 2;
    }
    mg_opencl_tune_opts o = {.device = device,
                             .shapes = shapes,
                             .n_shapes = n,
                             .candidates = candidates,
                             .seed = (uint64_t)seed,
                             .dir = dir,
                             .progress = tune_progress};
    mg_opencl_tune_result r;
    fprintf(stderr, "mrigan bench tune: %d GEMMs of %s's layers on device %d\n", n, net, device);
    if (mg_opencl_tune(&o, &r) != MG_OK) {
        fprintf(stderr, "mrigan bench tune: %s\n", mg_last_error());
        return 1;
    }
    printf("%d parameter sets tried, %d refused or wrong; the GEMMs took %.4f s with CLBlast's own parameters, "
           "%.4f s with the chosen ones (%.2fx)\nwritten: %s\n",
           r.tried, r.failed, r.default_s, r.best_s, r.default_s / r.best_s, r.path);
    return 0;
}
