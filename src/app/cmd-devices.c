/* mrigan devices: the processor and the GEMM kernels of the CPU backend, every OpenCL platform and device the
 * ICD loader finds, and what --backend auto picks. */
#include <stdio.h>

#include "commands.h"
#include "mrigan/blas.h"
#include "mrigan/mrigan.h"
#include "mrigan/opencl.h"

static void print_cpu(void)
{
    mg_cpu_isa isa;
    char sets[96], blas[512];
    mg_cpu_detect_isa(&isa);
    mg_cpu_describe_isa(&isa, sets, sizeof sets);
    mg_blas_describe(blas, sizeof blas);
    printf("processor: %s (%s)\n  vector ISA    %s\n  GEMM          %s\n\n", isa.brand[0] ? isa.brand : "unknown",
           isa.vendor[0] ? isa.vendor : "no CPUID", sets, blas);
}

int cmd_devices(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        printf("usage: mrigan devices\nShows the backends of this build, the processor and the CPU backend's GEMM "
               "kernels, and lists the OpenCL devices (the N of --device N and MRIGAN_DEVICE).\n");
        return argc == 2 && argv[1][0] == '-' && argv[1][1] == '-' && argv[1][2] == 'h' ? 0 : 2;
    }
    printf("backends in this build:");
    for (int i = 0, n = 0; mg_backend_names[i]; i++)
        if (mg_backend_built(mg_backend_names[i]))
            printf("%s %s", n++ ? "," : "", mg_backend_names[i]);
    if (!mg_backend_built("opencl"))
        printf(" (built without OpenCL: meson setup -Dopencl=disabled, or the OpenCL ICD loader and CLBlast were "
               "missing)");
    printf("\n");
    print_cpu();
    if (!mg_backend_built("opencl")) {
        printf("--backend auto uses the CPU backend.\n");
        return 0;
    }
    mg_device_info list[64];
    int n = 0;
    if (mg_opencl_devices(list, 64, &n) != MG_OK) {
        fprintf(stderr, "mrigan devices: %s\n", mg_last_error());
        return 1;
    }
    if (n == 0) {
        printf("No OpenCL device found. Install an OpenCL driver (ICD): pocl-opencl-icd for the CPU, "
               "intel-opencl-icd (Intel GPUs), mesa-opencl-icd (AMD, rusticl), or your GPU vendor's driver.\n"
               "--backend auto uses the CPU backend.\n");
        return 0;
    }
    int pick = -1;
    for (int i = 0; i < n && i < 64; i++) {
        const mg_device_info *d = &list[i];
        if (pick < 0 && d->gpu)
            pick = i;
        printf("device %d: %s\n  platform      %s\n  vendor        %s\n  type          %s\n  compute units %d\n"
               "  global memory %.0f MiB\n  max alloc     %.0f MiB\n  OpenCL        %s\n  driver        %s\n",
               d->index, d->name, d->platform, d->vendor, d->type, d->compute_units, (double)d->global_mem / 1048576.0,
               (double)d->max_alloc / 1048576.0, d->version, d->driver);
    }
    if (pick >= 0)
        printf("--backend auto picks device %d (the first GPU)\n", pick);
    else
        printf("--backend auto picks the CPU backend (no OpenCL GPU); --backend opencl uses device 0\n");
    return 0;
}
