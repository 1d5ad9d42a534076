/* mrigan: the command-line front end. One subcommand per cmd-<name>.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "mrigan/blas.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a CycleGAN on two folders of unpaired slices (default: the phantom)"},
    {"translate", cmd_translate, "translate PNG slices with a trained checkpoint"},
    {"eval", cmd_eval, "PSNR, SSIM and MAE of translations against paired slices"},
    {"report", cmd_report, "write the HTML report (curves, chosen checkpoint, samples) of a training run"},
    {"phantom", cmd_phantom, "write a synthetic paired T1/T2 brain phantom slice set"},
    {"devices", cmd_devices, "list the OpenCL platforms and devices"},
    {"bench", cmd_bench, "time convolutions of the CycleGAN generators against plain SGEMM"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mrigan <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'mrigan <command> --help' describes a command's options.\n");
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
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mrigan: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
