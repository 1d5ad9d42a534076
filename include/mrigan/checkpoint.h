/* Checkpoint files: a versioned header, a configuration text, named float32 (or float16) tensors, and a CRC32 over
 * everything; written to a temporary file, fsync'd and renamed, so a failed or interrupted save never
 * damages the previous checkpoint. The byte layout is documented at the top of src/train/checkpoint.c.
 *
 * Functions return an mg_status and leave a message in mg_last_error(); they never print or exit. */
#ifndef MRIGAN_CHECKPOINT_H
#define MRIGAN_CHECKPOINT_H

#include "mrigan/mrigan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MG_CKPT_VERSION 2 /* the newest format read; float32-only files are written as version 1 */

typedef struct mg_ckpt_entry {
    char name[64]; /* 1 to 63 characters, unique within a checkpoint */
    int ndim;
    int shape[MG_MAX_DIMS];
    size_t numel;
    float *data;           /* owned by the checkpoint; NULL for a view */
    const mg_tensor *view; /* a view (mg_ckpt.views): the tensor whose values mg_ckpt_save writes */
    bool half;             /* stored in the file as float16 (mg_ckpt_store_half): data holds the float16 values */
} mg_ckpt_entry;

typedef struct mg_ckpt {
    char *config; /* "key=value\n" lines, NUL-terminated; owned; NULL while empty */
    int n_entries;
    mg_ckpt_entry *entries;
    int cap_entries;
    /* Set before adding: mg_ckpt_add_tensor records the tensor instead of copying its values, and mg_ckpt_save
     * reads them (and checks that they are finite) as it writes. For a checkpoint built only to be saved at once:
     * no copy of a whole model in memory. The tensors must stay as they are until then. */
    bool views;
} mg_ckpt;

/* An empty checkpoint. */
void mg_ckpt_init(mg_ckpt *c);
/* Frees the configuration and every entry, leaving c empty. NULL is a no-op. */
void mg_ckpt_free(mg_ckpt *c);
/* Appends "key=value\n" to the configuration; a later line for the same key overrides an earlier one.
 * MG_ERR_ARG for an empty key, a key with '=' or a newline, or a value with a newline. */
mg_status mg_ckpt_set(mg_ckpt *c, const char *key, const char *value);
/* The value of the last line for key (without the newline) copied into buf, or MG_ERR_FORMAT naming the
 * missing key; MG_ERR_ARG when the value does not fit in len bytes with its NUL. buf is "" on failure. */
mg_status mg_ckpt_get(const mg_ckpt *c, const char *key, char *buf, size_t len);
/* Whether the configuration has a line for key. */
bool mg_ckpt_has(const mg_ckpt *c, const char *key);
/* Integer values: "key=<decimal>"; reading one outside [lo, hi] or not an integer is MG_ERR_FORMAT naming it. */
mg_status mg_ckpt_set_long(mg_ckpt *c, const char *key, long value);
mg_status mg_ckpt_get_long(const mg_ckpt *c, const char *key, long lo, long hi, long *out);
/* Copies a tensor's data (read through its backend, mg_tensor_read) into a new entry named name, or
 * t->name when name is NULL. A checkpoint holds only finite values: MG_ERR_NONFINITE naming the entry (and
 * no entry added) when one is NaN or infinite, here and in mg_ckpt_add. With c->views, records t instead: its
 * values are read, and checked, by mg_ckpt_save, which then fails with MG_ERR_NONFINITE and writes nothing. */
mg_status mg_ckpt_add_tensor(mg_ckpt *c, const char *name, const mg_tensor *t);
/* Copies host data into a new entry. MG_ERR_ARG for a bad name or shape, or a name already present. */
mg_status mg_ckpt_add(mg_ckpt *c, const char *name, int ndim, const int *shape, const float *data);
/* The entry called name, or NULL. */
const mg_ckpt_entry *mg_ckpt_find(const mg_ckpt *c, const char *name);
/* Writes entry name into t, which must have the same shape: MG_ERR_SHAPE naming the entry and both
 * shapes otherwise; MG_ERR_FORMAT when the checkpoint has no such entry. */
mg_status mg_ckpt_load_tensor(const mg_ckpt *c, const char *name, mg_tensor *t);

/* Stores every entry as float16 (IEEE binary16, about 3 significant digits): half the file, for models that only
 * translate. The values are rounded to float16 in memory too, so the checkpoint holds what a reload gives.
 * MG_ERR_ARG naming the entry when a value is outside float16's +-65504, or when an entry is a view (nothing changed
 * then). */
mg_status mg_ckpt_store_half(mg_ckpt *c);
/* Writes "<path>.tmp-XXXXXX" next to path (mode 0644), fsyncs it, renames it onto path and fsyncs the
 * folder. On failure: MG_ERR_IO naming the path and the system's reason, path untouched, the temporary
 * file removed (only when the final folder fsync fails is the new file already in place). MG_ERR_ARG for
 * an inconsistent checkpoint. A write past RLIMIT_FSIZE raises SIGXFSZ, which kills the process unless
 * ignored. */
mg_status mg_ckpt_save(const mg_ckpt *c, const char *path);
/* Reads and verifies magic, format version, CRC32, every size, and that every value is finite; errors name
 * the file and the problem: MG_ERR_IO when the file cannot be read, MG_ERR_FORMAT when it is not a valid checkpoint.
 * out need not be initialised (its previous contents are not freed); on failure it is left empty. */
mg_status mg_ckpt_load(const char *path, mg_ckpt *out);

#ifdef __cplusplus
}
#endif
#endif
