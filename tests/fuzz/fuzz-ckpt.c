/* Fuzzes the checkpoint loader, mg_ckpt_load, and what the program does with a loaded checkpoint: the model
 * configuration (mg_cyclegan_config_load) and its size check (mg_cyclegan_check_size), the run settings and
 * state as a resume reads them (run_load_state, with the settings' ranges), and, for models small
 * enough to build in a moment, loading weights, optimiser state and history pools into one (mg_cyclegan_load,
 * run_check_pools). Checkpoints are files users pass around (--resume, translate --checkpoint), so every one of
 * these must refuse damage cleanly. Larger models are sized, not built. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz-input.h"
#include "mrigan/cyclegan.h"
#include "train/trainer-internal.h"

#define FUZZ_CKPT_MAX_LEN (1u << 20) /* inputs up to this size are loaded a second time with a valid CRC */

#define FUZZ_MODEL_MAX_PARAMS 20000 /* models up to this size are built and loaded (the tiny seed has ~3000) */

static volatile float fuzz_sink; /* keeps the reads of every element from being optimised away */
static mg_backend *fuzz_backend; /* one CPU thread, for the small models */

/* Builds the checkpoint's model when it is small and loads everything a resume loads into it; size is the
 * crop of a run state that loaded (0: none). */
static void fuzz_load_model(const mg_ckpt *c, const mg_cyclegan_config *cfg, int size)
{
    size_t params;
    if (mg_cyclegan_check_size(cfg, fuzz_backend, &params) != MG_OK || params > FUZZ_MODEL_MAX_PARAMS)
        return;
    mg_cyclegan m;
    if (mg_cyclegan_new(fuzz_backend, cfg, 1, &m) != MG_OK)
        return;
    if (mg_cyclegan_load(&m, c, true) == MG_OK && size > 0)
        (void)run_check_pools(&m, size, size);
    mg_cyclegan_free(&m);
}

/* What the trainer and translate read from a loaded checkpoint; the results do not matter, only that each
 * call stays in bounds. The entries' invariants are checked, as the model loader relies on them. */
static void fuzz_use_ckpt(const mg_ckpt *c)
{
    mg_cyclegan_config cfg;
    size_t params;
    static run_strings str;
    mg_train_settings o = {0};
    run_state st = {0};
    int size = run_load_state(c, &o, &st, &str) == MG_OK ? o.size : 0;
    if (mg_cyclegan_config_load(c, &cfg) == MG_OK) {
        (void)mg_cyclegan_check_size(&cfg, NULL, &params); /* sizes only, nothing allocated */
        fuzz_load_model(c, &cfg, size);
    }
    char buf[64], tiny[4];
    long v;
    (void)mg_ckpt_get(c, "format", buf, sizeof buf);
    (void)mg_ckpt_get(c, "run.best_score", tiny, sizeof tiny); /* a value that does not fit */
    (void)mg_ckpt_get_long(c, "run.epoch", LONG_MIN, LONG_MAX, &v);
    (void)mg_ckpt_get_long(c, "ngf", 1, 1024, &v);
    for (int i = 0; i < c->n_entries; i++) {
        const mg_ckpt_entry *e = &c->entries[i];
        size_t numel = 1;
        for (int d = 0; d < e->ndim; d++)
            numel *= (size_t)e->shape[d];
        /* an entry the loader promises never to produce */
        if (e->ndim < 1 || e->ndim > MG_MAX_DIMS || numel != e->numel || mg_ckpt_find(c, e->name) != e)
            abort();
        for (size_t k = 0; k < e->numel; k++) { /* every element readable (ASan checks the bounds) */
            if (!isfinite(e->data[k]))
                abort(); /* the loader refuses NaN and infinities */
            fuzz_sink += e->data[k];
        }
    }
}

static void fuzz_load_ckpt(const uint8_t *data, size_t size)
{
    mg_ckpt c;
    if (mg_ckpt_load(fuzz_write_input(data, size), &c) == MG_OK)
        fuzz_use_ckpt(&c);
    mg_ckpt_free(&c); /* empty after a failed load, so this is always safe */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_open_input();
    if (mg_backend_cpu_new(1, &fuzz_backend) != MG_OK)
        abort();
    return 0;
}

/* Each input is loaded as it is (magic, version, CRC and truncation checks) and again with its last four
 * bytes replaced by the CRC32 of the rest: the checksum is checked before any field, so without the second
 * load almost every mutation would stop at the CRC and never reach the parser of the fields behind it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_load_ckpt(data, size);
    if (size < 4 || size > FUZZ_CKPT_MAX_LEN)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size - 4);
    uint32_t crc = (uint32_t)crc32(0L, fixed, (uInt)(size - 4));
    for (int i = 0; i < 4; i++)
        fixed[size - 4 + i] = (uint8_t)(crc >> (8 * i));
    if (memcmp(fixed + size - 4, data + size - 4, 4) != 0) /* else the first load was the same */
        fuzz_load_ckpt(fixed, size);
    free(fixed);
    return 0;
}
