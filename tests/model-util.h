/* What the model tests share: a small configuration and seeded inputs of S x S pixels. */
#ifndef MRIGAN_TESTS_MODEL_UTIL_H
#define MRIGAN_TESTS_MODEL_UTIL_H

#include <stdint.h>

#include "mrigan/cyclegan.h"
#include "mrigan/mrigan.h"

enum { S = 32 };

static inline mg_cyclegan_config small_config(mg_gen_kind kind)
{
    return (mg_cyclegan_config){
        .gen = {.kind = kind, .ngf = 4, .depth = kind == MG_GEN_UNET ? 5 : 0, .blocks = 2, .dropout = true},
        .ndf = 4,
        .gan_mode = MG_GAN_LSGAN,
        .lambda_cycle = 10.0f,
        .lambda_identity = 0.5f,
        .pool_size = 3,
        .lr = 2e-4f,
        .beta1 = 0.5f,
        .beta2 = 0.999f};
}

static inline void fill(float *v, size_t n, uint64_t seed)
{
    mg_rng r;
    mg_rng_seed(&r, seed, 5);
    for (size_t i = 0; i < n; i++)
        v[i] = 2.0f * mg_rng_uniform(&r) - 1.0f;
}

#endif
