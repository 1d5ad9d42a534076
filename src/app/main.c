/* mrigan: the command-line front end. One subcommand per cmd-<name>.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mrigan/blas.h"
#include "mrigan/dist.h"
#include "mrigan/trainer.h"
#include "options.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a CycleGAN on two folders of unpaired slices or volumes (default: the phantom)"},
    {"translate", cmd_translate, "translate PNG slices and NIfTI volumes with a trained checkpoint"},
    {"eval", cmd_eval, "PSNR, SSIM and MAE of translations against paired slices or volumes"},
    {"export", cmd_export, "write a translation-only model file (generators, optionally float16)"},
    {"pick", cmd_pick, "choose among runs that differ in seed only, without pairs"},
    {"report", cmd_report, "write the HTML report (curves, chosen checkpoint, samples) of a training run"},
    {"phantom", cmd_phantom, "write a synthetic paired T1/T2 brain phantom slice set"},
    {"devices", cmd_devices, "list the OpenCL platforms and devices"},
    {"bench", cmd_bench, "time convolutions of the CycleGAN generators against plain SGEMM"},
};

#define N_COMMANDS (int)(sizeof commands / sizeof *commands)

static void usage(FILE *f)
{
    fprintf(f, "usage: mrigan <command> [options]\n       mrigan help <command>\n       mrigan --version\n\n"
               "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'mrigan <command> --help' (or 'mrigan help <command>') describes a command's options.\n");
}

static const command *find_command(const char *name)
{
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(name, commands[i].name))
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    const char *names[N_COMMANDS];
    for (int i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i].name;
    const char *near = app_closest(name, names, N_COMMANDS);
    if (near)
        fprintf(stderr, "mrigan: unknown command '%s'; did you mean '%s'?\n\n", name, near);
    else
        fprintf(stderr, "mrigan: unknown command '%s'\n\n", name);
    usage(stderr);
    return 2;
}

/* The version, and what this build can do. */
static int version(void)
{
    printf("mrigan %s\nbackends:", MRIGAN_VERSION);
    for (int i = 0; mg_backend_names[i]; i++)
        if (mg_backend_built(mg_backend_names[i]))
            printf(" %s", mg_backend_names[i]);
    printf("\ninputs: PNG slices, NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz)\n");
    printf("processes: %s\n",
           mg_dist_built() ? "one, or many over MPI (mpirun -np P mrigan train)" : "one (built without MPI)");
    return 0;
}

int main(int argc, char **argv)
{
    /* Generic GEMM kernels on a processor with AVX, AVX2 or AVX-512: re-executes with the matching ones. */
    if (mg_blas_select_kernels(argv) != MG_OK)
        fprintf(stderr, "mrigan: warning: %s\n", mg_last_error());
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
        return version();
    if (!strcmp(argv[1], "help") && argc > 2) { /* mrigan help CMD: CMD --help */
        const command *c = find_command(argv[2]);
        char help[] = "--help";
        char *args[] = {argv[2], help, NULL};
        return c ? c->run(2, args) : unknown_command(argv[2]);
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    const command *c = find_command(argv[1]);
    return c ? c->run(argc - 1, argv + 1) : unknown_command(argv[1]);
}
