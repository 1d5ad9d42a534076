/* Fuzzes the PNG loader, mg_image_load_png: every training and translation input goes through it, and its
 * libpng error handling (longjmp out of a helper that owns the buffers) is the kind of code that leaks or
 * touches freed memory on a rare path. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-input.h"
#include "mrigan/image.h"

/* The loader accepts up to 32768 pixels per side by design and allocates the whole image before decoding it,
 * so a file of a few dozen bytes can ask for gigabytes, which libFuzzer would report as a malloc-limit crash.
 * Larger headers are skipped rather than reported; 4 Mpixels still reach every code path. */
#define FUZZ_PNG_MAX_PIXELS (1u << 22)

static uint32_t fuzz_read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_open_input();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libpng insists on IHDR as the first chunk: width and height are big-endian at offsets 16 and 20. */
    if (size >= 24 && (uint64_t)fuzz_read_be32(data + 16) * fuzz_read_be32(data + 20) > FUZZ_PNG_MAX_PIXELS)
        return -1; /* keeps the input out of the corpus */
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
