/* Reader for the .mgfx reference fixtures written by tools/gen-fixtures.py (tests only).
 *
 * Format, little-endian: "MGFX", uint32 version (1), uint32 n_tensors, then per tensor:
 * uint32 name_len, name bytes (no NUL), uint32 ndim (0..4), uint32 shape[ndim],
 * float32 data[product of shape] (a scalar has ndim 0 and one float).
 */
#ifndef MRIGAN_TESTS_FIXTURE_H
#define MRIGAN_TESTS_FIXTURE_H

#include <stddef.h>

#define MGFX_MAX_NAME 64
#define MGFX_MAX_DIMS 4

typedef struct mgfx_tensor {
    char name[MGFX_MAX_NAME];
    int ndim;
    int shape[MGFX_MAX_DIMS];
    size_t numel;
    float *data;
} mgfx_tensor;

typedef struct mgfx {
    int n_tensors;
    mgfx_tensor *tensors;
} mgfx;

/* Loads a fixture file; NULL on failure with a message in err (if err is not NULL). */
mgfx *mgfx_load(const char *path, char *err, size_t errlen);
/* The tensor called name, or NULL if the file has none. */
const mgfx_tensor *mgfx_get(const mgfx *f, const char *name);
/* NULL is a no-op. */
void mgfx_free(mgfx *f);

#endif
