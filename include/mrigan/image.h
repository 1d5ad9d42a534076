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

/* The largest PNG mrigan reads: MRI slices are at most a few thousand pixels a side, and a header is checked
 * against these before anything is allocated, so that a 69-byte file cannot ask for gigabytes. At the limit a
 * load needs at most 8 bytes a pixel while decoding (16-bit RGBA) plus 4 for the result: about 200 MB. */
#define MG_IMAGE_MAX_SIDE   16384
#define MG_IMAGE_MAX_PIXELS (4096 * 4096)

/* Reads any PNG (8- or 16-bit; gray, gray+alpha, palette, RGB, RGBA; interlaced or not) as luminance
 * scaled to [-1, 1]. Colour is converted with Rec. 601 weights; alpha is ignored. Errors name the file
 * and the problem (not a PNG, truncated, corrupt data, larger than the limits above, ...). */
mg_status mg_image_load_png(const char *path, mg_image *out);
/* Writes img as a grayscale PNG of bit_depth 8 or 16 (else MG_ERR_ARG): v -> round((v + 1) / 2 * max), clamped
 * to [0, max], NaN -> 0. Written to "<path>.tmp-XXXXXX" in the same folder, synced and renamed over path, so a
 * failed write (disk full, ...) leaves no partial file; errors name path. */
mg_status mg_image_save_png(const char *path, const mg_image *img, int bit_depth);
/* Writes width * height * 3 bytes (row-major R, G, B) as an 8-bit RGB PNG (plots, figures), the same way. */
mg_status mg_image_save_png_rgb(const char *path, int width, int height, const uint8_t *rgb);
mg_status mg_image_new(int width, int height, mg_image *out); /* zero-filled; width, height >= 1 */
/* Draws text with the program's 5x7 font (7 pixels high, 6 a character) at (x, y), its top left corner, setting
 * the glyphs' pixels to value and clipping at the image's edges; characters that would pass max_width pixels are
 * left out. Returns the characters drawn. For labels on figures, never on data. */
int mg_image_draw_text(mg_image *img, int x, int y, int max_width, const char *text, float value);
void mg_image_free(mg_image *img); /* frees the pixels and empties *img */

/* The functions below write a new image into *out (free it with mg_image_free(); out must not be in, and is
 * left empty on failure).
 *
 * Symmetric padding with -1 (black) up to the next multiple of `multiple` (>= 1) in each dimension (translation
 * at native resolution): left = (W' - W) / 2 and the rest on the right, the same for top and bottom;
 * *off_x, *off_y (either may be NULL) give where the original starts, for cropping back. */
mg_status mg_image_pad_to_multiple(const mg_image *in, int multiple, mg_image *out, int *off_x, int *off_y);
/* MG_ERR_ARG unless the rectangle lies inside in. */
mg_status mg_image_crop(const mg_image *in, int x, int y, int width, int height, mg_image *out);
/* Bilinear resize as Pillow's BILINEAR: separable, pixel centres aligned; when shrinking, the triangle filter
 * widens by the scale factor so every source pixel counts (area-aware). */
mg_status mg_image_resize(const mg_image *in, int width, int height, mg_image *out);

/* ------------------------------------------------------------------ datasets */
typedef struct mg_dataset mg_dataset;

/* Which slices of a volume (include/mrigan/volume.h): perpendicular to an anatomical direction, read from the
 * header, or to a voxel axis. */
typedef enum mg_slice_axis {
    MG_SLICE_AXIAL,
    MG_SLICE_CORONAL,
    MG_SLICE_SAGITTAL,
    MG_SLICE_I,
    MG_SLICE_J,
    MG_SLICE_K,
} mg_slice_axis;
#define MG_SLICE_AXIS_CHOICES "axial|coronal|sagittal|i|j|k" /* in the enum's order */

/* The PNG slices of a folder: names ending in .png (any case) of regular files or links to them, sorted by
 * strcmp, malloc'd (mg_folder_free_names). An empty folder is no error (count 0). Errors name the folder:
 * MG_ERR_IO for "no such folder", "not a folder", or what the system says. */
mg_status mg_folder_list_pngs(const char *dir, char ***names, int *count);
/* The same for every input mrigan reads: PNG slices and NIfTI volumes (.nii, .nii.gz). */
mg_status mg_folder_list_inputs(const char *dir, char ***names, int *count);
void mg_folder_free_names(char **names, int count);
bool mg_folder_is_png_name(const char *name);

/* dir/name (one slash between them), or name alone when dir is NULL or name is absolute; NULL when out of
 * memory. */
char *mg_path_join(const char *dir, const char *name);

/* Pairs of files: a is the prediction or A input, b the target or B input; paths as opened. */
typedef struct mg_file_pair {
    char *a, *b;
} mg_file_pair;

typedef struct mg_pair_list {
    mg_file_pair *items;
    int n, cap;
    int unmatched;         /* mg_folder_pair_inputs: files of dir_b without a counterpart (not paired) */
    char *first_unmatched; /* the first of them by name */
} mg_pair_list;

/* The file name of name's translation, into buf (false when it does not fit): with direction 0 (A->B, T1 to T2)
 * every T1/T1w tag of the name (the words the pairing looks for) becomes T2/T2w, with 1 the other way round; then
 * suffix (may be NULL) goes before the extension (.png, .nii, .nii.gz). "sub1_T1w.nii.gz" -> "sub1_T2w.nii.gz",
 * with suffix "_synth" "sub1_T2w_synth.nii.gz". */
bool mg_output_name(const char *name, int direction, const char *suffix, char *buf, size_t len);

/* Appends (a, b), taking ownership of both strings (freed on failure; NULL is out of memory). */
mg_status mg_pairs_add(mg_pair_list *l, char *a, char *b);
void mg_pairs_free(mg_pair_list *l);
/* Appends to l every input of dir_a (PNG slices and volumes) with the file of dir_b of the same name or, failing
 * that, the one of the same kind whose name differs only in a T1/T2/T1w/T2w tag (patient07_T1.nii.gz and
 * patient07_T2.nii.gz). MG_ERR_ARG naming the file that has no counterpart or two, or the folder without
 * inputs; l is freed on failure. */
mg_status mg_folder_pair_inputs(const char *dir_a, const char *dir_b, mg_pair_list *l);

/* Loads every input of dir (mg_folder_list_inputs: PNG slices, and NIfTI volumes cut into their non-empty slices
 * along axis; not recursive), files sorted by name (strcmp), a volume's slices in order. Errors name the folder
 * (missing or not a folder: MG_ERR_IO; no input in it: MG_ERR_ARG) or the file that fails to load (its loader's
 * status). */
mg_status mg_dataset_load(const char *dir, mg_slice_axis axis, mg_dataset **out);
void mg_dataset_free(mg_dataset *d);
int mg_dataset_count(const mg_dataset *d);
const mg_image *mg_dataset_image(const mg_dataset *d, int i);
/* *out = the mean of the set's air pixels (mg_image_air_mask with radius, over every slice): the level a flat
 * background takes in this domain; -1 (black) when no slice has air. */
mg_status mg_dataset_air(const mg_dataset *d, int radius, float *out);
/* The file name without the folder; a volume's slice adds its index, "name.nii.gz[k=87]" (mg_slices_name). */
const char *mg_dataset_name(const mg_dataset *d, int i);

/* The guided filter of src (h x w, values in [-1, 1]) by guide, into out (may be src): in each (2 radius + 1)^2
 * window, clipped to the image, the least-squares line src ~ a * guide + b with a's denominator, the guide's
 * variance, raised by eps; each pixel gets the mean of its windows' lines at its guide value, clipped to [-1, 1].
 * With a slice as the guide of its translation, what the translation holds that no local line of the slice
 * explains (invented noise, a grid) averages out, and the slice's edges stay. radius >= 1, eps > 0. */
mg_status mg_image_guided_filter(const float *guide, const float *src, int h, int w, int radius, float eps, float *out);
/* The air of slice x (h x w, values in [-1, 1]): the dark part that reaches the border. mask (h * w bytes) gets 1
 * at each pixel whose mean over the (2 radius + 1)^2 window lies at or below x's own background level
 * (mg_map_background_level of its histogram) and that joins the border through such pixels, else 0; the number
 * marked, or -1 when out of memory. Air around a head is noise or black in every contrast; what the border cannot
 * reach through dark pixels (a skull inside a scalp, dark tissue inside a brain) is not air. */
long mg_image_air_mask(const float *x, int h, int w, int radius, unsigned char *mask);
/* The background of translation y made flat: the air of its input x takes level, or where level is NAN, y's own
 * mean over the air. What a generator invents there (a faint frame, mottle) goes. radius >= 0. */
mg_status mg_image_flatten_background(const float *x, int h, int w, int radius, float level, float *y);

typedef struct mg_crop_config {
    int width, height; /* of the crop */
    int load_size;     /* > 0: resize every image to load_size x load_size first (the classic recipe) */
    bool flip;         /* random horizontal flips */
    bool pad;          /* an image narrower or lower than the crop is placed in it, the rest black (-1) */
    int shift;         /* > 0: the image is framed by this many black pixels on each side before it is placed */
} mg_crop_config;

/* The largest width and height of the dataset's images (load_size both when it is > 0), raised into *width and
 * *height: called on two datasets, it gives the extent that holds every image of both. */
void mg_dataset_extent(const mg_dataset *d, int load_size, int *width, int *height);
/* MG_ERR_ARG naming the first image smaller than the crop, with a hint (never with pad); with load_size > 0
 * every image is resized to load_size x load_size, so the check is load_size >= the crop's sides. */
mg_status mg_dataset_check_crop(const mg_dataset *d, const mg_crop_config *cfg);
/* A training sample of image i (W x H, or the resized image): a random height x width crop, flipped
 * horizontally with probability 1/2 when cfg->flip; height*width floats into out. Along a side where the image
 * is smaller than the crop (only with pad), the image is placed at a random offset and the rest is black.
 * With cfg->shift = s > 0 the image is first framed by s black pixels each side (W + 2s by H + 2s), so a sample
 * moves it by up to s pixels each way even where it has the crop's own size.
 * Draws from rng in a fixed order: x = mg_rng_below(|W + 2s - width| + 1), y = mg_rng_below(|H + 2s - height| + 1),
 * then, only when cfg->flip, one mg_rng_uniform() (flip when < 0.5); so samples follow the seed, and a padded
 * crop of an image of the crop's own size is that of an unpadded one. Nothing is drawn when it fails. With a
 * load size, each image is resized on its first use and kept in the dataset (one load size at a time), so the
 * steady state allocates nothing; threads may share a dataset if they use the same load size. */
mg_status mg_dataset_sample(const mg_dataset *d, int i, const mg_crop_config *cfg, mg_rng *rng, float *out);

#ifdef __cplusplus
}
#endif
#endif
