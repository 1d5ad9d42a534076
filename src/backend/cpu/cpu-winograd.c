/* 3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016). A 4x4 tile of output is A^T [(G w G^T) . (B^T d B)] A, d being the 6x6
 * input tile under it, so the sum over input channels becomes 36 GEMMs, one per point of the 6x6 transform domain:
 * [Cout x Cin] by [Cin x tiles], 36 multiplications per 16 outputs where im2col's GEMM does 144. The backward passes
 * take the same road: dX is the convolution of dY (padded by 2 - pad) with the kernels turned by 180 degrees and
 * the channel roles swapped; dW = G^T [sum over tiles of (A dY A^T) . (B^T d B)] G, the sum again 36 GEMMs.
 * The transforms' coefficients (up to 8 in A, 5 in B) round more than a direct sum does: tests/test-conv.c holds
 * every result to the bound the arithmetic gives, against a direct sum in double. */
#include <cblas.h>
#include <string.h>

#include "cpu.h"

#define WG_T 4 /* output tile */
#define WG_A 6 /* transform tile: WG_T + 3 - 1 */
#define WG_N (WG_A * WG_A)
#define WG_WORK_FLOATS                                                                                                 \
    (1u << 23) /* transformed sources and results of one band of tile rows: 32 MB, a ResNet-9 residual layer at 256    \
                * (256 channels, 16 x 16 tiles) in one band */

/* The interpolation points 0, 1, -1, 2, -2 and infinity. */
static const float wg_bt[WG_A][WG_A] = {
    {4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
    {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1},
};
static const float wg_g[WG_A][3] = {
    {1.0f / 4, 0, 0},
    {-1.0f / 6, -1.0f / 6, -1.0f / 6},
    {-1.0f / 6, 1.0f / 6, -1.0f / 6},
    {1.0f / 24, 1.0f / 12, 1.0f / 6},
    {1.0f / 24, -1.0f / 12, 1.0f / 6},
    {0, 0, 1},
};
static const float wg_at[WG_T][WG_A] = {
    {1, 1, 1, 1, 1, 0},
    {0, 1, -1, 2, -2, 0},
    {0, 1, 1, 4, 4, 0},
    {0, 1, -1, 8, -8, 1},
};

bool cpu_winograd_fits(int c_in, int c_out, int kh, int kw, int sh, int sw, int ph, int pw)
{
    /* With fewer than 8 channels on either side the 36 GEMMs are too thin: 4 -> 16 at 224 x 224 took 1.34 ms forward
     * this way and 0.94 ms by im2col on one core of a Zen 5 EPYC, 8 -> 8 0.90 against 1.71 ms. */
    return kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph == pw && ph >= 0 && ph <= 2 && c_in >= 8 && c_out >= 8;
}

/* A convolution of src planes [n_in][h][w], zero-padded by pad, into dst planes [n_out][oh][ow] (oh = h + 2 pad - 2),
 * one band of tile rows [ty0, ty1) at a time. */
typedef struct wg_geom {
    int n_in, h, w, n_out, oh, ow, pad;
    int tiles_x, tiles_y, ty0, ty1;
} wg_geom;

static wg_geom wg_geom_of(int n_in, int h, int w, int n_out, int pad)
{
    wg_geom g = {n_in, h, w, n_out, h + 2 * pad - 2, w + 2 * pad - 2, pad, 0, 0, 0, 0};
    g.tiles_x = (g.ow + WG_T - 1) / WG_T;
    g.tiles_y = (g.oh + WG_T - 1) / WG_T;
    return g;
}

/* Tile rows per band, so that a band's transformed sources and results fit WG_WORK_FLOATS. */
static int wg_band_rows(const wg_geom *g)
{
    size_t per_row = (size_t)WG_N * (size_t)(g->n_in + g->n_out) * (size_t)g->tiles_x;
    size_t rows = WG_WORK_FLOATS / per_row;
    return rows < 1 ? 1 : rows > (size_t)g->tiles_y ? g->tiles_y : (int)rows;
}

typedef struct wg_job {
    const wg_geom *g;
    const float *w;   /* the op's weights [Cout][Cin][3][3] */
    const float *src; /* one sample's source planes */
    float *dst;       /* one sample's result planes (forward and dX) or dW */
    const float *dy;  /* dW: one sample's output gradient planes */
    float *u;         /* [36][n_out][n_in] transformed kernels, or dW's sums [36][Cout][Cin] */
    float *v, *m;     /* [36][n_in][tiles], [36][n_out][tiles] */
    size_t tiles;     /* in the band */
    int c_out, c_in;  /* the op's channels (kernel transforms) */
    bool flip;        /* the kernels turned, channel roles swapped (dX) */
    bool accumulate;  /* add into dst instead of storing */
    float beta;       /* dW's GEMMs: 0 for the first band, then 1 */
    int slabs;        /* GEMM items per transform point */
} wg_job;

/* out[i][l] = sum_k m[i][k] in[k][l] (WG_MAT_T: m[k][i]) for the lanes l < n, in[k][l] at in[k * ik + l * il] and
 * out[i][l] at out[i * oi + l * ol]. The lanes are kernels, columns or tiles side by side, so that the loop over them
 * vectorises; the loops over the constant matrices unroll (told to: GCC 12 would not unroll the outer one around a loop
 * of unknown length), their zeros drop out by the test and their ones become additions. Sums start at -0.0f, the one
 * start that folds away (-0 + x is x for every x; 0 + x is not for -0). */
// clang-format off
#define WG_MAT_AT(m, i, k, T) ((T) ? (m)[k][i] : (m)[i][k])
#define WG_MAT_ANY(m, rows, cols, T, in, ik, il, out, oi, ol, n)                                                       \
    _Pragma("GCC unroll 8") for (int i_ = 0; i_ < (rows); i_++)                                                        \
        for (size_t l_ = 0; l_ < (size_t)(n); l_++) {                                                                  \
            float s_ = -0.0f;                                                                                          \
            _Pragma("GCC unroll 8") for (int k_ = 0; k_ < (cols); k_++)                                                \
                if (WG_MAT_AT(m, i_, k_, T) != 0.0f)                                                                   \
                    s_ += WG_MAT_AT(m, i_, k_, T) * (in)[(size_t)k_ * (ik) + l_ * (il)];                               \
            (out)[(size_t)i_ * (oi) + l_ * (ol)] = s_;                                                                 \
        }
// clang-format on
#define WG_MAT(m, rows, cols, in, ik, il, out, oi, ol, n)   WG_MAT_ANY(m, rows, cols, 0, in, ik, il, out, oi, ol, n)
#define WG_MAT_T(m, rows, cols, in, ik, il, out, oi, ol, n) WG_MAT_ANY(m, rows, cols, 1, in, ik, il, out, oi, ol, n)

/* Kernels or tiles side by side in a pass of the transforms (their scratch lives on the stack). Tiles are counted
 * through the band, across its rows, so that a 56 x 56 layer (14 tiles a row) fills the vectors as well. */
#define WG_LANES 64

/* Items are kernels in the order of U's rows: U[p][o][c] = (G w[o][c] G^T)[p], or U[p][c][o] of w[o][c] turned
 * (dX). WG_LANES kernels at a time, gathered side by side, so that U is written row by row. */
CPU_VECTOR_CLONES static void wg_kernels(void *p, size_t q0, size_t q1)
{
    const wg_job *a = p;
    const size_t plane = (size_t)a->c_out * a->c_in, L = WG_LANES;
    for (size_t q = q0; q < q1; q += L) {
        size_t n = q1 - q < L ? q1 - q : L;
        float g[9 * WG_LANES], t[WG_A * 3 * WG_LANES], u[WG_N * WG_LANES];
        for (size_t l = 0; l < n; l++) {
            size_t d = q + l, src = a->flip ? d % a->c_out * a->c_in + d / a->c_out : d;
            for (int e = 0; e < 9; e++)
                g[e * L + l] = a->w[src * 9 + (a->flip ? 8 - e : e)];
        }
        for (int j = 0; j < 3; j++)
            WG_MAT(wg_g, WG_A, 3, g + j * L, 3 * L, 1, t + j * L, 3 * L, 1, n); /* t = G g */
        for (int i = 0; i < WG_A; i++)
            WG_MAT(wg_g, WG_A, 3, t + i * 3 * L, L, 1, u + i * WG_A * L, L, 1, n); /* u = t G^T */
        for (int i = 0; i < WG_N; i++)
            memcpy(a->u + i * plane + q, u + i * L, n * sizeof *u);
    }
}

/* Gathered and scattered tiles move WG_STEP lanes at a time, so that a run of tiles inside one tile row (14 for a
 * 56-wide layer) fills whole vectors instead of ending in a scalar loop; the lanes past a run are scratch, which the
 * next run overwrites or nothing reads. A gathered tile's planes are therefore WG_DS lanes apart. */
#define WG_STEP 16
#define WG_DS   (WG_LANES + WG_STEP)

/* The lanes a run of len tiles moves: len rounded up to WG_STEP. */
static inline size_t wg_run_lanes(size_t len) { return (len + WG_STEP - 1) / WG_STEP * WG_STEP; }

/* The run of tiles [l0, l1) of the n tiles from t0 on that lie in one tile row, and its top-left position. */
static inline size_t wg_run(const wg_geom *g, size_t t0, size_t l0, size_t n, int *y0, int *x0)
{
    size_t t = t0 + l0, tx = t % (size_t)g->tiles_x;
    *y0 = (g->ty0 + (int)(t / (size_t)g->tiles_x)) * WG_T;
    *x0 = (int)tx * WG_T;
    return l0 + ((size_t)g->tiles_x - tx) < n ? l0 + ((size_t)g->tiles_x - tx) : n;
}

/* The size x size tiles of n (at most WG_LANES) consecutive tiles of the band, tile l's element (i, j) at
 * d[(i * size + j) * WG_DS + l]: plane (h x w) read from (ty * WG_T + off, tx * WG_T + off) on, zeros outside.
 * A run of tiles in one tile row reads each of its rows once into a zero-padded copy, from which every (i, j)
 * takes every fourth element: loops the compiler vectorises, where a tile at a time would not. */
static inline __attribute__((always_inline)) void wg_gather(const wg_geom *g, const float *plane, int h, int w, int off,
                                                            int size, size_t t0, size_t n, float *d)
{
    float row[WG_DS * WG_T];
    for (size_t l0 = 0, l1; l0 < n; l0 = l1) {
        int y0, x0;
        l1 = wg_run(g, t0, l0, n, &y0, &x0);
        y0 += off;
        x0 += off;
        const size_t lanes = wg_run_lanes(l1 - l0 + (size > WG_T));
        int cols = (int)(l1 - l0) * WG_T + size - WG_T, span = (int)lanes * WG_T;
        int lo = x0 < 0 ? -x0 : 0, hi = w - x0 < cols ? w - x0 : cols; /* the columns inside: [lo, hi) */
        for (int i = 0; i < size; i++) {
            int y = y0 + i;
            if (y < 0 || y >= h || hi <= lo) {
                memset(row, 0, (size_t)span * sizeof *row);
            } else {
                memset(row, 0, (size_t)lo * sizeof *row);
                memcpy(row + lo, plane + (size_t)y * w + x0 + lo, (size_t)(hi - lo) * sizeof *row);
                memset(row + hi, 0, (size_t)(span - hi) * sizeof *row);
            }
            /* Columns 0-3 of every tile in one loop, which the compiler turns into whole-vector permutes (one
             * loop per column would read with gaps, element by element); one lane more than the run, so that
             * columns 4 and 5, which are columns 0 and 1 of the next tile, are copies. */
            float *o = d + (size_t)i * size * WG_DS + l0;
            for (size_t l = 0; l < lanes; l++)
                for (int j = 0; j < WG_T; j++)
                    o[(size_t)j * WG_DS + l] = row[l * WG_T + (size_t)j];
            for (int j = WG_T; j < size; j++)
                memcpy(o + (size_t)j * WG_DS, o + (size_t)(j - WG_T) * WG_DS + 1, (l1 - l0) * sizeof *o);
        }
    }
}

/* The inverse for results: the WG_T x WG_T tiles y (element (i, j) of tile l at y[(i * WG_T + j) * WG_DS + l]) of n
 * consecutive tiles stored into (or added to) the output planes dst, the part inside the plane only. Each row of a run
 * is interleaved into a copy first, then stored in one piece. */
static inline __attribute__((always_inline)) void wg_scatter(const wg_geom *g, const float *y, float *dst,
                                                             bool accumulate, size_t t0, size_t n)
{
    float row[WG_LANES * WG_T];
    for (size_t l0 = 0, l1; l0 < n; l0 = l1) {
        int y0, x0;
        l1 = wg_run(g, t0, l0, n, &y0, &x0);
        const size_t lanes = wg_run_lanes(l1 - l0);
        int rows = g->oh - y0 < WG_T ? g->oh - y0 : WG_T;
        int cols = g->ow - x0 < (int)(l1 - l0) * WG_T ? g->ow - x0 : (int)(l1 - l0) * WG_T;
        for (int i = 0; i < rows; i++) {
            const float *yi = y + (size_t)i * WG_T * WG_DS + l0;
            for (size_t b = 0; b < lanes; b += WG_STEP)
                for (size_t l = b; l < b + WG_STEP; l++)
                    for (int j = 0; j < WG_T; j++)
                        row[l * WG_T + (size_t)j] = yi[(size_t)j * WG_DS + l];
            float *out = dst + (size_t)(y0 + i) * g->ow + x0;
            if (accumulate)
                for (int x = 0; x < cols; x++)
                    out[x] += row[x];
            else
                memcpy(out, row, (size_t)cols * sizeof *row);
        }
    }
}

/* Items are source channels: V[p][c][t] = (B^T d B)[p] for every tile t of the band, d its 6x6 source tile;
 * WG_LANES tiles at a time, side by side. */
CPU_VECTOR_CLONES static void wg_sources(void *p, size_t c0, size_t c1)
{
    const wg_job *a = p;
    const wg_geom *g = a->g;
    const size_t plane = (size_t)g->n_in * a->tiles, L = WG_LANES;
    float d[WG_N * WG_DS], s[WG_N * WG_LANES];
    for (size_t c = c0; c < c1; c++)
        for (size_t t0 = 0; t0 < a->tiles; t0 += L) {
            size_t n = a->tiles - t0 < L ? a->tiles - t0 : L;
            wg_gather(g, a->src + c * g->h * g->w, g->h, g->w, -g->pad, WG_A, t0, n, d);
            for (int j = 0; j < WG_A; j++)
                WG_MAT(wg_bt, WG_A, WG_A, d + j * WG_DS, WG_A * WG_DS, 1, s + j * L, WG_A * L, 1, n); /* s = B^T d */
            float *v = a->v + c * a->tiles + t0;
            for (int i = 0; i < WG_A; i++)
                WG_MAT(wg_bt, WG_A, WG_A, s + i * WG_A * L, L, 1, v + i * WG_A * plane, plane, 1, n); /* s B */
        }
}

/* Items are result channels: the tiles A^T m A, WG_LANES at a time, the part inside the plane stored or added. */
CPU_VECTOR_CLONES static void wg_results(void *p, size_t o0, size_t o1)
{
    const wg_job *a = p;
    const wg_geom *g = a->g;
    const size_t plane = (size_t)g->n_out * a->tiles, L = WG_LANES;
    float s[WG_A * WG_T * WG_LANES], y[WG_T * WG_T * WG_DS];
    for (size_t o = o0; o < o1; o++)
        for (size_t t0 = 0; t0 < a->tiles; t0 += L) {
            size_t n = a->tiles - t0 < L ? a->tiles - t0 : L;
            const float *m = a->m + o * a->tiles + t0;
            for (int i = 0; i < WG_A; i++)
                WG_MAT(wg_at, WG_T, WG_A, m + i * WG_A * plane, plane, 1, s + i * WG_T * L, L, 1, n); /* m A */
            for (int j = 0; j < WG_T; j++)
                WG_MAT(wg_at, WG_T, WG_A, s + j * L, WG_T * L, 1, y + j * WG_DS, WG_T * WG_DS, 1, n); /* A^T s */
            wg_scatter(g, y, a->dst + o * g->oh * g->ow, a->accumulate, t0, n);
        }
}

/* dW: items are output channels: dM[p][o][t] = (A dY A^T)[p] of every tile, zeros beyond the plane, WG_LANES
 * tiles at a time. */
CPU_VECTOR_CLONES static void wg_grad_results(void *p, size_t o0, size_t o1)
{
    const wg_job *a = p;
    const wg_geom *g = a->g;
    const size_t plane = (size_t)g->n_out * a->tiles, L = WG_LANES;
    float d[WG_T * WG_T * WG_DS], s[WG_A * WG_T * WG_LANES];
    for (size_t o = o0; o < o1; o++)
        for (size_t t0 = 0; t0 < a->tiles; t0 += L) {
            size_t n = a->tiles - t0 < L ? a->tiles - t0 : L;
            wg_gather(g, a->dy + o * g->oh * g->ow, g->oh, g->ow, 0, WG_T, t0, n, d);
            for (int j = 0; j < WG_T; j++)
                WG_MAT_T(wg_at, WG_A, WG_T, d + j * WG_DS, WG_T * WG_DS, 1, s + j * L, WG_T * L, 1, n); /* s = A dY */
            float *m = a->m + o * a->tiles + t0;
            for (int i = 0; i < WG_A; i++)
                WG_MAT_T(wg_at, WG_A, WG_T, s + i * WG_T * L, L, 1, m + i * WG_A * plane, plane, 1, n); /* s A^T */
        }
}

/* dW: items are (o, c) kernels, WG_LANES at a time: dW[o][c] += G^T dU[o][c] G. */
CPU_VECTOR_CLONES static void wg_grad_kernels(void *p, size_t q0, size_t q1)
{
    const wg_job *a = p;
    const size_t plane = (size_t)a->c_out * a->c_in, L = WG_LANES;
    for (size_t q = q0; q < q1; q += L) {
        size_t n = q1 - q < L ? q1 - q : L;
        float u[WG_N * WG_LANES], t[3 * WG_A * WG_LANES], k[9 * WG_LANES];
        for (int i = 0; i < WG_N; i++)
            memcpy(u + i * L, a->u + i * plane + q, n * sizeof *u);
        for (int j = 0; j < WG_A; j++)
            WG_MAT_T(wg_g, 3, WG_A, u + j * L, WG_A * L, 1, t + j * L, WG_A * L, 1, n); /* t = G^T u */
        for (int i = 0; i < 3; i++)
            WG_MAT_T(wg_g, 3, WG_A, t + i * WG_A * L, L, 1, k + i * 3 * L, L, 1, n); /* t G */
        for (size_t l = 0; l < n; l++)
            for (int e = 0; e < 9; e++)
                a->dst[(q + l) * 9 + e] += k[e * L + l];
    }
}

/* Items are (transform point, slab of result rows): one single-threaded GEMM each, so results do not depend on
 * which thread ran them. Forward and dX: M[p] = U[p] V[p]; dW: U[p] = beta U[p] + dM[p] V[p]^T. */
static void wg_products(void *p, size_t q0, size_t q1)
{
    const wg_job *a = p;
    const wg_geom *g = a->g;
    const int tiles = (int)a->tiles;
    for (size_t q = q0; q < q1; q++) {
        int pt = (int)(q / (size_t)a->slabs), slab = (int)(q % (size_t)a->slabs);
        int r0 = g->n_out * slab / a->slabs, r1 = g->n_out * (slab + 1) / a->slabs;
        const float *v = a->v + (size_t)pt * g->n_in * tiles;
        float *m = a->m + (size_t)pt * g->n_out * tiles + (size_t)r0 * tiles;
        float *u = a->u + (size_t)pt * g->n_out * g->n_in + (size_t)r0 * g->n_in;
        if (r1 == r0)
            continue;
        if (a->dy)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, g->n_in, tiles, 1.0f, m, tiles, v, tiles,
                        a->beta, u, g->n_in);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, tiles, g->n_in, 1.0f, u, g->n_in, v, tiles,
                        0.0f, m, tiles);
    }
}

static void wg_multiply(cpu_ctx *c, wg_job *a)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
    /* At least four items per thread, so that 36 GEMMs spread evenly over any thread count. */
    int want = (4 * c->n_threads + WG_N - 1) / WG_N, most = a->g->n_out / 16; /* slabs of 16 rows or more */
    a->slabs = want > most ? most : want;
    if (a->slabs < 1)
        a->slabs = 1;
    mg_pool_for(c->pool, (size_t)WG_N * a->slabs, 1, wg_products, a);
}

/* Splits the workspace: kernels (transformed, 36 Cout Cin), then one band's sources and results. */
static mg_status wg_workspace(cpu_ctx *c, const wg_geom *g, size_t kernel_floats, wg_job *a)
{
    size_t band = (size_t)wg_band_rows(g) * g->tiles_x, pad = 16; /* keeps every region 64-byte aligned */
    size_t u = (kernel_floats + pad - 1) / pad * pad, v = ((size_t)WG_N * g->n_in * band + pad - 1) / pad * pad;
    float *work;
    mg_status st = cpu_workspace(c, u + v + (size_t)WG_N * g->n_out * band, &work);
    if (st != MG_OK)
        return st;
    a->u = work;
    a->v = work + u;
    a->m = work + u + v;
    return MG_OK;
}

/* Moves g to the band of tile rows after [ty0, ty1) (the first when ty1 is 0), its tile count into a->tiles; false
 * past the last. */
static bool wg_next_band(wg_geom *g, int rows, wg_job *a)
{
    g->ty0 = g->ty1;
    if (g->ty0 >= g->tiles_y)
        return false;
    g->ty1 = g->ty0 + rows < g->tiles_y ? g->ty0 + rows : g->tiles_y;
    a->tiles = (size_t)(g->ty1 - g->ty0) * g->tiles_x;
    return true;
}

/* Band by band over one sample: sources transformed, multiplied by the kernels in a->u, results written. */
static void wg_convolve(cpu_ctx *c, wg_geom *g, wg_job *a)
{
    const int rows = wg_band_rows(g);
    for (g->ty1 = 0; wg_next_band(g, rows, a);) {
        mg_pool_for(c->pool, (size_t)g->n_in, cpu_grain(a->tiles * 64), wg_sources, a);
        wg_multiply(c, a);
        mg_pool_for(c->pool, (size_t)g->n_out, cpu_grain(a->tiles * 64), wg_results, a);
    }
}

/* The kernels of w [c_out][c_in][3][3] transformed into a->u (turned for dX). */
static void wg_transform_kernels(cpu_ctx *c, wg_job *a, const float *w, int c_out, int c_in, bool flip)
{
    a->w = w;
    a->c_out = c_out;
    a->c_in = c_in;
    a->flip = flip;
    mg_pool_for(c->pool, (size_t)c_out * c_in, cpu_grain(WG_N * 16), wg_kernels, a);
}

/* n samples of src [n_in][h][w] convolved (padding pad) into dst [n_out][oh][ow], stored or added: the forward with
 * w [n_out][n_in][3][3], or dX (flip) with w [n_in][n_out][3][3] turned. */
static mg_status wg_conv(cpu_ctx *c, int n, int n_in, int h, int w, int n_out, int pad, const float *src,
                         const float *kern, bool flip, float *dst, bool accumulate)
{
    wg_geom g = wg_geom_of(n_in, h, w, n_out, pad);
    wg_job a = {.g = &g, .accumulate = accumulate};
    mg_status st = wg_workspace(c, &g, (size_t)WG_N * n_out * n_in, &a);
    if (st != MG_OK)
        return st;
    wg_transform_kernels(c, &a, kern, flip ? n_in : n_out, flip ? n_out : n_in, flip);
    for (int s = 0; s < n; s++) {
        a.src = src + (size_t)s * n_in * h * w;
        a.dst = dst + (size_t)s * n_out * g.oh * g.ow;
        wg_convolve(c, &g, &a);
    }
    return MG_OK;
}

mg_status cpu_winograd_fwd(cpu_ctx *c, const mg_tensor *x, const mg_tensor *w, int pad, mg_tensor *y)
{
    return wg_conv(c, x->shape[0], x->shape[1], x->shape[2], x->shape[3], y->shape[1], pad, cpu_data(x), cpu_data(w),
                   false, cpu_data(y), false);
}

/* dW: the sums dU over every sample's tiles, then G^T dU G added into dw. */
static mg_status wg_grad_kernels_of(cpu_ctx *c, const mg_tensor *x, const mg_tensor *dy, int pad, mg_tensor *dw)
{
    const int n = x->shape[0], c_in = x->shape[1], h = x->shape[2], wd = x->shape[3], c_out = dy->shape[1];
    wg_geom g = wg_geom_of(c_in, h, wd, c_out, pad);
    wg_job a = {.g = &g, .beta = 0.0f};
    mg_status st = wg_workspace(c, &g, (size_t)WG_N * c_out * c_in, &a);
    if (st != MG_OK)
        return st;
    const int rows = wg_band_rows(&g);
    for (int s = 0; s < n; s++) {
        a.src = cpu_data(x) + (size_t)s * c_in * h * wd;
        a.dy = cpu_data(dy) + (size_t)s * c_out * g.oh * g.ow;
        for (g.ty1 = 0; wg_next_band(&g, rows, &a);) {
            mg_pool_for(c->pool, (size_t)c_in, cpu_grain(a.tiles * 64), wg_sources, &a);
            mg_pool_for(c->pool, (size_t)c_out, cpu_grain(a.tiles * 64), wg_grad_results, &a);
            wg_multiply(c, &a);
            a.beta = 1.0f;
        }
    }
    a.dst = cpu_data(dw);
    a.c_out = c_out;
    a.c_in = c_in;
    mg_pool_for(c->pool, (size_t)c_out * c_in, cpu_grain(WG_N * 16), wg_grad_kernels, &a);
    return MG_OK;
}

mg_status cpu_winograd_bwd(cpu_ctx *c, const mg_tensor *x, const mg_tensor *w, const mg_tensor *dy, int pad,
                           mg_tensor *dx, mg_tensor *dw)
{
    mg_status st = dw ? wg_grad_kernels_of(c, x, dy, pad, dw) : MG_OK;
    if (st == MG_OK && dx) /* dY [c_out][oh][ow] convolved, padded by 2 - pad, with the turned kernels */
        st = wg_conv(c, dy->shape[0], dy->shape[1], dy->shape[2], dy->shape[3], dx->shape[1], 2 - pad, cpu_data(dy),
                     cpu_data(w), true, cpu_data(dx), true);
    return st;
}
