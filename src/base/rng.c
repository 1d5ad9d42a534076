/* PCG32 (M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically Good Algorithms
 * for Random Number Generation", 2014): a 64-bit LCG whose output is permuted by xorshift-high and a
 * random rotation (XSH-RR). Seeding follows the reference pcg32_srandom_r, so seed 42, stream 54
 * gives 0xa15c02b7, 0x7b47f409, ... as the reference demo prints. */
#include <math.h>

#include "base.h"

uint32_t mg_rng_u32(mg_rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ull + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

void mg_rng_seed(mg_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1) | 1u;
    mg_rng_u32(r);
    r->state += seed;
    mg_rng_u32(r);
}

float mg_rng_uniform(mg_rng *r) { return (float)(mg_rng_u32(r) >> 8) * 0x1.0p-24f; }

float mg_rng_normal(mg_rng *r)
{
    double u1 = ((mg_rng_u32(r) >> 8) + 1) * 0x1.0p-24; /* (0, 1]: log is finite */
    double u2 = (mg_rng_u32(r) >> 8) * 0x1.0p-24;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void mg_rng_permutation(mg_rng *r, int *perm, int n)
{
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)mg_rng_below(r, (uint32_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

uint32_t mg_rng_below(mg_rng *r, uint32_t n)
{
    if (n <= 1)
        return 0;
    uint32_t threshold = (0u - n) % n; /* 2^32 mod n: reject the short last range */
    for (;;) {
        uint32_t v = mg_rng_u32(r);
        if (v >= threshold)
            return v % n;
    }
}
