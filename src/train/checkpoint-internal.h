/* What the checkpoint's writer (checkpoint.c) and reader (checkpoint-read.c) share: the file's constants, and
 * the conversions of its number formats. Not part of the public API. */
#ifndef MRIGAN_TRAIN_CHECKPOINT_INTERNAL_H
#define MRIGAN_TRAIN_CHECKPOINT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "mrigan/checkpoint.h"

#define CKPT_MAGIC      "MRIGANCK"
#define CKPT_MAGIC_LEN  8
#define CKPT_HEADER_LEN 24                    /* magic, version, n_entries, config length */
#define CKPT_MIN_LEN    (CKPT_HEADER_LEN + 4) /* header and CRC */
#define CKPT_MIN_ENTRY  (2 + 1 + 1 + 4 + 2)   /* the smallest entry: 1-char name, 1-D, one float16 (version 2) */
#define CKPT_NAME_MAX   ((int)sizeof(((mg_ckpt_entry *)0)->name) - 1)
#define CKPT_CHUNK      4096 /* values converted per write */
#define CKPT_DTYPE_F32  0    /* version 2: the byte before an entry's data */
#define CKPT_DTYPE_F16  1

typedef unsigned long long ull;

/* strerror_r into buf. */
const char *ckpt_errstr(int err, char *buf, size_t len);
/* zlib's crc32 over any length (its own length argument is a uInt). */
uLong ckpt_crc_update(uLong crc, const unsigned char *p, size_t n);
/* IEEE binary16 from a finite float32 within +-65504, rounded to nearest even, and back (exact). */
uint16_t ckpt_half_from_float(float v);
float ckpt_float_from_half(uint16_t h);

static inline uint32_t ckpt_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
