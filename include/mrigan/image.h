/* Images and datasets: PNG slices in and out, folders of slices, and the crops a training step takes.
 * Pixel values live in [-1, 1] as float32, row-major, one channel (luminance). */
#ifndef MRIGAN_IMAGE_H
#define MRIGAN_IMAGE_H

#include "mrigan/mrigan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mg_image {
    int width, height;
    float *data; /* width * height values in [-1, 1], row-major */
} mg_image;

/* Reads any PNG (8- or 16-bit; gray, gray+alpha, palette, RGB, RGBA; interlaced or not) as luminance
 * scaled to [-1, 1]. Colour is converted with Rec. 601 weights; alpha is ignored. Errors name the file
 * and the problem (not a PNG, truncated, corrupt data, ...). */
mg_status mg_image_load_png(const char *path, mg_image *out);
/* Writes img as a grayscale PNG of bit_depth 8 or 16, values clamped to [-1, 1] and rounded. Written to
 * a temporary file in the same folder and renamed, so a failed write leaves no partial file. */
mg_status mg_image_save_png(const char *path, const mg_image *img, int bit_depth);
mg_status mg_image_new(int width, int height, mg_image *out); /* zero-filled */
void mg_image_free(mg_image *img);

/* Symmetric padding with -1 (black) up to the next multiple of `multiple` in each dimension (translation
 * at native resolution); *off_x, *off_y give where the original starts, for cropping back. */
mg_status mg_image_pad_to_multiple(const mg_image *in, int multiple, mg_image *out, int *off_x, int *off_y);
mg_status mg_image_crop(const mg_image *in, int x, int y, int width, int height, mg_image *out);
/* Bilinear resize; when shrinking, the filter widens to cover the source (area-aware, like Pillow's). */
mg_status mg_image_resize(const mg_image *in, int width, int height, mg_image *out);

/* ------------------------------------------------------------------ datasets */
typedef struct mg_dataset mg_dataset;

/* Loads every PNG in dir (files ending in .png, any case), sorted by name. Errors name the folder (missing,
 * not a folder, no PNG in it) or the file that fails to load. */
mg_status mg_dataset_load(const char *dir, mg_dataset **out);
void mg_dataset_free(mg_dataset *d);
int mg_dataset_count(const mg_dataset *d);
const mg_image *mg_dataset_image(const mg_dataset *d, int i);
const char *mg_dataset_name(const mg_dataset *d, int i); /* file name without the folder */

typedef struct mg_crop_config {
    int size;      /* side of the square crop */
    int load_size; /* > 0: resize every image to load_size x load_size first (the classic recipe) */
    bool flip;     /* random horizontal flips */
} mg_crop_config;

/* MG_ERR_ARG naming the first image smaller than the crop (after the optional resize), with a hint. */
mg_status mg_dataset_check_crop(const mg_dataset *d, const mg_crop_config *cfg);
/* A training sample of image i: a random size x size crop at native resolution (or of the resized image),
 * flipped horizontally with probability 1/2 when cfg->flip; size*size floats into out. Draws from rng in a
 * fixed order (crop x, crop y, flip), so samples follow the seed. */
mg_status mg_dataset_sample(const mg_dataset *d, int i, const mg_crop_config *cfg, mg_rng *rng, float *out);

#ifdef __cplusplus
}
#endif
#endif
