/* Fuzzes the NIfTI loader, mg_volume_load: every volume given to train, translate and eval goes through it. It
 * reads nifti_clib's view of the header, checks it against itself and the file, and reads the voxels through zlib
 * as they arrive. nifti_clib finds the format by the file's name, so each input is written to a file named .nii,
 * or .nii.gz when it starts like a gzip stream (so both readers are fuzzed). Headers above MG_VOLUME_MAX_VOXELS
 * are refused before anything is allocated, and voxel buffers only grow as data arrive, so a lying header costs
 * no more memory than the input holds. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mrigan/volume.h"

static char fuzz_dir[4096], fuzz_plain[4200], fuzz_gz[4200];

static void fuzz_remove(void)
{
    unlink(fuzz_plain);
    unlink(fuzz_gz);
    rmdir(fuzz_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/mrigan-fuzz-nifti-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fuzz_dir)) {
        perror(fuzz_dir);
        exit(1);
    }
    snprintf(fuzz_plain, sizeof fuzz_plain, "%s/in.nii", fuzz_dir);
    snprintf(fuzz_gz, sizeof fuzz_gz, "%s/in.nii.gz", fuzz_dir);
    atexit(fuzz_remove);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_dir[0])
        LLVMFuzzerInitialize(NULL, NULL);
    const char *path = size >= 2 && data[0] == 0x1f && data[1] == 0x8b ? fuzz_gz : fuzz_plain;
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    mg_volume v;
    if (mg_volume_load(path, &v) != MG_OK)
        return 0;
    /* volume.h promises finite voxels; a slice of every orientation must come out in [-1, 1] */
    const size_t n = (size_t)v.dim[0] * v.dim[1] * v.dim[2];
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v.data[i]))
            abort();
    mg_volume_scale sc;
    if (mg_volume_scale_of(&v, path, &sc) == MG_OK)
        for (int axis = MG_SLICE_AXIAL; axis <= MG_SLICE_SAGITTAL; axis++) {
            mg_volume_plane p;
            mg_image img;
            if (mg_volume_plane_of(&v, (mg_slice_axis)axis, &p) != MG_OK ||
                mg_volume_get_slice(&v, &p, p.count / 2, &sc, &img) != MG_OK)
                abort();
            for (size_t i = 0; i < (size_t)img.width * img.height; i++)
                if (!(img.data[i] >= -1.0f && img.data[i] <= 1.0f))
                    abort();
            mg_image_free(&img);
        }
    mg_volume_free(&v);
    return 0;
}
