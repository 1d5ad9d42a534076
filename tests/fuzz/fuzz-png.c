/* Fuzzes the PNG loader, mg_image_load_png: every training and translation input goes through it, and its
 * libpng error handling (longjmp out of a helper that owns the buffers) is the kind of code that leaks or
 * touches freed memory on a rare path. No size filter is needed: the loader refuses headers above
 * MG_IMAGE_MAX_PIXELS before it allocates, so the largest image it accepts stays far below -rss_limit_mb. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-input.h"
#include "mrigan/image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_open_input();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mg_image img;
    if (mg_image_load_png(fuzz_write_input(data, size), &img) != MG_OK)
        return 0;
    /* image.h promises values in [-1, 1], which the metrics and the networks rely on */
    for (size_t i = 0; i < (size_t)img.width * (size_t)img.height; i++)
        if (!(img.data[i] >= -1.0f && img.data[i] <= 1.0f))
            abort();
    mg_image_free(&img);
    return 0;
}
