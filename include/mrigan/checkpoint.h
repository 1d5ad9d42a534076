/* Checkpoint files: a versioned header, a configuration text, named float32 tensors, and a CRC32 over
 * everything; written to a temporary file, fsync'd and renamed, so a failed or interrupted save never
 * damages the previous checkpoint. */
#ifndef MRIGAN_CHECKPOINT_H
#define MRIGAN_CHECKPOINT_H

#include "mrigan/mrigan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MG_CKPT_VERSION 1

typedef struct mg_ckpt_entry {
    char name[64];
    int ndim;
    int shape[MG_MAX_DIMS];
    size_t numel;
    float *data; /* owned by the checkpoint */
} mg_ckpt_entry;

typedef struct mg_ckpt {
    char *config; /* "key=value\n" lines, NUL-terminated; owned */
    int n_entries;
    mg_ckpt_entry *entries;
    int cap_entries;
} mg_ckpt;

void mg_ckpt_init(mg_ckpt *c);
void mg_ckpt_free(mg_ckpt *c);
/* Appends "key=value\n" to the configuration. */
mg_status mg_ckpt_set(mg_ckpt *c, const char *key, const char *value);
/* The value of key (without the newline) copied into buf, or MG_ERR_FORMAT naming the missing key. */
mg_status mg_ckpt_get(const mg_ckpt *c, const char *key, char *buf, size_t len);
/* Copies a tensor's data (read through its backend) into a new entry named name. */
mg_status mg_ckpt_add_tensor(mg_ckpt *c, const char *name, const mg_tensor *t);
/* Copies host data into a new entry. */
mg_status mg_ckpt_add(mg_ckpt *c, const char *name, int ndim, const int *shape, const float *data);
const mg_ckpt_entry *mg_ckpt_find(const mg_ckpt *c, const char *name);
/* Writes entry name into t, which must have the same shape; errors name the entry and both shapes. */
mg_status mg_ckpt_load_tensor(const mg_ckpt *c, const char *name, mg_tensor *t);

mg_status mg_ckpt_save(const mg_ckpt *c, const char *path);
/* Reads and verifies magic, format version and CRC32; errors name the file and the problem. */
mg_status mg_ckpt_load(const char *path, mg_ckpt *out);

#ifdef __cplusplus
}
#endif
#endif
