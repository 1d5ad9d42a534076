/* Image geometry (padding, cropping, resizing) and datasets: a folder of PNG slices and volumes loaded into memory,
 * and the random crops (optionally flipped) a training step takes from them.
 *
 * Resizing follows Pillow's BILINEAR resampling (ImagingResample): separable, horizontal pass then vertical,
 * a triangle filter of support 1 that is widened by the scale factor when shrinking, so every source pixel
 * contributes (area-aware), with the weights normalised at the borders.
 *
 * A dataset resized to a load size keeps the resized images, made on first use of each image, so a training
 * loop allocates nothing per sample once every image has been seen. The cache is guarded by a mutex, so
 * several threads may sample from one dataset as long as they use the same load size. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/base.h"
#include "mrigan/volume.h"

/* ------------------------------------------------------------------ geometry */

mg_status mg_image_pad_to_multiple(const mg_image *in, int multiple, mg_image *out, int *off_x, int *off_y)
{
    if (!in || !in->data || !out || (void *)out == (const void *)in)
        return mg_error(MG_ERR_ARG, "pad: NULL image, or output and input are the same");
    if (multiple < 1)
        return mg_error(MG_ERR_ARG, "pad: multiple %d must be at least 1", multiple);
    long long w = ((long long)in->width + multiple - 1) / multiple * multiple;
    long long h = ((long long)in->height + multiple - 1) / multiple * multiple;
    if (w > INT32_MAX || h > INT32_MAX)
        return mg_error(MG_ERR_ARG, "pad: %dx%d padded to a multiple of %d is too large", in->width, in->height,
                        multiple);
    mg_status s = mg_image_new((int)w, (int)h, out);
    if (s != MG_OK)
        return s;
    int left = (int)(w - in->width) / 2, top = (int)(h - in->height) / 2;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        out->data[i] = -1.0f;
    for (int y = 0; y < in->height; y++)
        memcpy(out->data + (size_t)(y + top) * (size_t)w + (size_t)left, in->data + (size_t)y * (size_t)in->width,
               sizeof(float) * (size_t)in->width);
    if (off_x)
        *off_x = left;
    if (off_y)
        *off_y = top;
    return MG_OK;
}

mg_status mg_image_crop(const mg_image *in, int x, int y, int width, int height, mg_image *out)
{
    if (!in || !in->data || !out || (void *)out == (const void *)in)
        return mg_error(MG_ERR_ARG, "crop: NULL image, or output and input are the same");
    if (x < 0 || y < 0 || width < 1 || height < 1 || width > in->width - x || height > in->height - y) {
        *out = (mg_image){0};
        return mg_error(MG_ERR_ARG, "crop: %dx%d at (%d, %d) does not fit in the %dx%d image", width, height, x, y,
                        in->width, in->height);
    }
    mg_status s = mg_image_new(width, height, out);
    if (s != MG_OK)
        return s;
    for (int r = 0; r < height; r++)
        memcpy(out->data + (size_t)r * (size_t)width, in->data + (size_t)(y + r) * (size_t)in->width + (size_t)x,
               sizeof(float) * (size_t)width);
    return MG_OK;
}

/* Pillow's bilinear (triangle) filter. */
static double dataset_triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Per output index: the first source index, how many, and their normalised weights (stride `taps`). */
typedef struct resize_axis {
    int taps;
    int *first, *count;
    double *weight;
} resize_axis;

static void dataset_axis_free(resize_axis *a)
{
    free(a->first);
    free(a->count);
    free(a->weight);
    *a = (resize_axis){0};
}

/* Pillow's precompute_coeffs for a support-1 filter, from in_size samples to out_size. */
static mg_status dataset_axis_init(resize_axis *a, int in_size, int out_size)
{
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    *a = (resize_axis){.taps = (int)ceil(support) * 2 + 1};
    a->first = malloc(sizeof *a->first * (size_t)out_size);
    a->count = malloc(sizeof *a->count * (size_t)out_size);
    a->weight = malloc(sizeof *a->weight * (size_t)out_size * (size_t)a->taps);
    if (!a->first || !a->count || !a->weight) {
        dataset_axis_free(a);
        return mg_error(MG_ERR_OOM, "resize: out of memory");
    }
    for (int o = 0; o < out_size; o++) {
        double center = (o + 0.5) * scale;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > in_size ? in_size : hi;
        int n = hi - lo > a->taps ? a->taps : hi - lo;
        double *w = a->weight + (size_t)o * (size_t)a->taps, sum = 0.0;
        for (int k = 0; k < n; k++) {
            w[k] = dataset_triangle((k + lo - center + 0.5) / filterscale);
            sum += w[k];
        }
        for (int k = 0; k < n; k++)
            w[k] = sum != 0.0 ? w[k] / sum : 0.0;
        a->first[o] = lo;
        a->count[o] = n;
    }
    return MG_OK;
}

mg_status mg_image_resize(const mg_image *in, int width, int height, mg_image *out)
{
    if (!in || !in->data || !out || (void *)out == (const void *)in)
        return mg_error(MG_ERR_ARG, "resize: NULL image, or output and input are the same");
    if (width < 1 || height < 1) {
        *out = (mg_image){0};
        return mg_error(MG_ERR_ARG, "resize: target size %dx%d is not positive", width, height);
    }
    resize_axis ax = {0}, ay = {0};
    float *mid = NULL; /* after the horizontal pass: width x in->height */
    mg_status s = dataset_axis_init(&ax, in->width, width);
    if (s == MG_OK)
        s = dataset_axis_init(&ay, in->height, height);
    if (s == MG_OK && !(mid = malloc(sizeof *mid * (size_t)width * (size_t)in->height)))
        s = mg_error(MG_ERR_OOM, "resize: out of memory");
    if (s == MG_OK)
        s = mg_image_new(width, height, out);
    if (s != MG_OK) {
        free(mid);
        dataset_axis_free(&ax);
        dataset_axis_free(&ay);
        *out = (mg_image){0};
        return s;
    }
    for (int y = 0; y < in->height; y++) {
        const float *src = in->data + (size_t)y * (size_t)in->width;
        for (int x = 0; x < width; x++) {
            const double *w = ax.weight + (size_t)x * (size_t)ax.taps;
            double acc = 0.0;
            for (int k = 0; k < ax.count[x]; k++)
                acc += w[k] * src[ax.first[x] + k];
            mid[(size_t)y * (size_t)width + (size_t)x] = (float)acc;
        }
    }
    for (int y = 0; y < height; y++) {
        const double *w = ay.weight + (size_t)y * (size_t)ay.taps;
        for (int x = 0; x < width; x++) {
            double acc = 0.0;
            for (int k = 0; k < ay.count[y]; k++)
                acc += w[k] * mid[(size_t)(ay.first[y] + k) * (size_t)width + (size_t)x];
            out->data[(size_t)y * (size_t)width + (size_t)x] = (float)acc;
        }
    }
    free(mid);
    dataset_axis_free(&ax);
    dataset_axis_free(&ay);
    return MG_OK;
}

/* ------------------------------------------------------------------ datasets */

struct mg_dataset {
    char *dir;
    int count;
    char **names;    /* file names, sorted by strcmp */
    char **paths;    /* dir/name, for messages */
    mg_image *image; /* as loaded */
    /* Resized copies for a load size, made on first use of each image. */
    pthread_mutex_t lock;
    int resized_size; /* load size the cache holds, 0 when empty */
    mg_image *resized;
};

void mg_dataset_free(mg_dataset *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->count; i++) { /* after a failed load some of these arrays are still NULL */
        if (d->names)
            free(d->names[i]);
        if (d->paths)
            free(d->paths[i]);
        if (d->image)
            mg_image_free(&d->image[i]);
        if (d->resized)
            mg_image_free(&d->resized[i]);
    }
    free(d->names);
    free(d->paths);
    free(d->image);
    free(d->resized);
    free(d->dir);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int mg_dataset_count(const mg_dataset *d) { return d ? d->count : 0; }

const mg_image *mg_dataset_image(const mg_dataset *d, int i)
{
    return d && i >= 0 && i < d->count ? &d->image[i] : NULL;
}

const char *mg_dataset_name(const mg_dataset *d, int i) { return d && i >= 0 && i < d->count ? d->names[i] : NULL; }

/* Appends the images of one input file (moved out of sl) with their names. */
static mg_status dataset_add_file(mg_dataset *d, const char *name, mg_slices *sl, int *cap)
{
    if (d->count + sl->n > *cap) {
        int grown = *cap ? *cap : 64;
        while (grown < d->count + sl->n)
            grown *= 2;
        char **names = realloc(d->names, sizeof *names * (size_t)grown);
        if (names)
            d->names = names;
        char **paths = names ? realloc(d->paths, sizeof *paths * (size_t)grown) : NULL;
        if (paths)
            d->paths = paths;
        mg_image *image = paths ? realloc(d->image, sizeof *image * (size_t)grown) : NULL;
        if (!image)
            return mg_error(MG_ERR_OOM, "%s: out of memory", d->dir);
        d->image = image;
        *cap = grown;
    }
    for (int i = 0; i < sl->n; i++) {
        char label[1024];
        if (!mg_slices_name(sl, i, name, label, sizeof label))
            return mg_error(MG_ERR_ARG, "%s/%s: file name too long", d->dir, name);
        char *path = mg_path_join(d->dir, label), *copy = strdup(label);
        if (!path || !copy) {
            free(path);
            free(copy);
            return mg_error(MG_ERR_OOM, "%s: out of memory", d->dir);
        }
        d->names[d->count] = copy;
        d->paths[d->count] = path;
        d->image[d->count] = sl->image[i];
        sl->image[i] = (mg_image){0};
        d->count++;
    }
    return MG_OK;
}

mg_status mg_dataset_air(const mg_dataset *d, int radius, float *out)
{
    double sum = 0, count = 0;
    for (int i = 0; i < mg_dataset_count(d); i++) {
        const mg_image *img = mg_dataset_image(d, i);
        const size_t n = (size_t)img->width * img->height;
        unsigned char *mask = malloc(n ? n : 1);
        const long marked = mask ? mg_image_air_mask(img->data, img->height, img->width, radius, mask) : -1;
        for (size_t p = 0; marked > 0 && p < n; p++)
            if (mask[p]) {
                sum += img->data[p];
                count += 1;
            }
        free(mask);
        if (marked < 0)
            return mg_error(MG_ERR_OOM, "air: out of memory for a %dx%d slice", img->width, img->height);
    }
    *out = count > 0 ? (float)(sum / count) : -1.0f;
    return MG_OK;
}

mg_status mg_dataset_load(const char *dir, mg_slice_axis axis, mg_dataset **out)
{
    if (!out)
        return mg_error(MG_ERR_ARG, "dataset: NULL output");
    *out = NULL;
    if (!dir)
        return mg_error(MG_ERR_ARG, "dataset: NULL folder");
    mg_dataset *d = calloc(1, sizeof *d);
    if (!d)
        return mg_error(MG_ERR_OOM, "%s: out of memory", dir);
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return mg_error(MG_ERR_OOM, "%s: cannot create a mutex", dir);
    }
    char **files = NULL;
    int n_files = 0, cap = 0;
    mg_status s = (d->dir = strdup(dir)) ? MG_OK : mg_error(MG_ERR_OOM, "%s: out of memory", dir);
    if (s == MG_OK)
        s = mg_folder_list_inputs(dir, &files, &n_files);
    if (s == MG_OK && n_files == 0)
        s = mg_error(MG_ERR_ARG, "%s: no inputs (.png slices or .nii/.nii.gz volumes)", dir);
    for (int f = 0; f < n_files && s == MG_OK; f++) {
        mg_slices sl = {0};
        char *path = mg_path_join(dir, files[f]);
        s = path ? mg_slices_load(path, axis, false, &sl) : mg_error(MG_ERR_OOM, "%s: out of memory", dir);
        if (s == MG_OK && sl.n == 0)
            s = mg_error(MG_ERR_ARG, "%s: no slice with anatomy in it", path);
        if (s == MG_OK)
            s = dataset_add_file(d, files[f], &sl, &cap);
        mg_slices_free(&sl);
        free(path);
    }
    mg_folder_free_names(files, n_files);
    if (s == MG_OK && !(d->resized = calloc((size_t)d->count, sizeof *d->resized)))
        s = mg_error(MG_ERR_OOM, "%s: out of memory", dir);
    if (s != MG_OK) {
        mg_dataset_free(d);
        return s;
    }
    *out = d;
    return MG_OK;
}

void mg_dataset_extent(const mg_dataset *d, int load_size, int *width, int *height)
{
    for (int i = 0; d && i < d->count; i++) {
        int w = load_size > 0 ? load_size : d->image[i].width, h = load_size > 0 ? load_size : d->image[i].height;
        *width = w > *width ? w : *width;
        *height = h > *height ? h : *height;
    }
}

static mg_status dataset_check_config(const mg_dataset *d, const mg_crop_config *cfg, const char *what)
{
    if (!d || !cfg)
        return mg_error(MG_ERR_ARG, "%s: NULL dataset or crop configuration", what);
    if (cfg->width < 1 || cfg->height < 1)
        return mg_error(MG_ERR_ARG, "%s: crop %dx%d is empty", what, cfg->width, cfg->height);
    if (cfg->load_size < 0)
        return mg_error(MG_ERR_ARG, "%s: load size %d is negative", what, cfg->load_size);
    if (cfg->shift < 0)
        return mg_error(MG_ERR_ARG, "%s: shift %d is negative", what, cfg->shift);
    if (cfg->load_size > 0 && !cfg->pad && (cfg->load_size < cfg->width || cfg->load_size < cfg->height))
        return mg_error(MG_ERR_ARG,
                        "%s: images resized to %dx%d are smaller than the %dx%d crop (use a --load-size of "
                        "at least %d)",
                        d->dir, cfg->load_size, cfg->load_size, cfg->width, cfg->height,
                        cfg->width > cfg->height ? cfg->width : cfg->height);
    return MG_OK;
}

static mg_status dataset_too_small(const mg_dataset *d, int i, const mg_crop_config *cfg)
{
    const mg_image *img = &d->image[i];
    return mg_error(MG_ERR_ARG,
                    "%s: image %dx%d is smaller than the %dx%d crop (use a smaller --size, --size 0 for whole "
                    "slices, or --load-size to resize)",
                    d->paths[i], img->width, img->height, cfg->width, cfg->height);
}

static bool dataset_fits(const mg_image *img, const mg_crop_config *cfg)
{
    return cfg->pad || (img->width >= cfg->width && img->height >= cfg->height);
}

mg_status mg_dataset_check_crop(const mg_dataset *d, const mg_crop_config *cfg)
{
    mg_status s = dataset_check_config(d, cfg, "check crop");
    if (s != MG_OK || cfg->load_size > 0)
        return s;
    for (int i = 0; i < d->count; i++)
        if (!dataset_fits(&d->image[i], cfg))
            return dataset_too_small(d, i, cfg);
    return MG_OK;
}

/* Image i resized to load_size x load_size, from the cache (made on first use). The cache only holds one load
 * size; asking for another empties it first. */
static mg_status dataset_resized(mg_dataset *d, int i, int load_size, const mg_image **img)
{
    mg_status s = MG_OK;
    if (pthread_mutex_lock(&d->lock) != 0)
        return mg_error(MG_ERR_BACKEND, "%s: cannot lock the dataset", d->dir);
    if (d->resized_size != load_size) {
        for (int k = 0; k < d->count; k++)
            mg_image_free(&d->resized[k]);
        d->resized_size = load_size;
    }
    if (!d->resized[i].data)
        s = mg_image_resize(&d->image[i], load_size, load_size, &d->resized[i]);
    *img = &d->resized[i];
    (void)pthread_mutex_unlock(&d->lock);
    return s;
}

/* One side of a sample: where the image's first pixel lands in the crop (negative when the crop starts inside
 * the image), for an image framed by shift black pixels each side and placed at a random offset. */
static int dataset_place(int image, int crop, int shift, mg_rng *rng)
{
    const int framed = image + 2 * shift;
    int off = (int)mg_rng_below(rng, (uint32_t)abs(framed - crop) + 1);
    return shift + (framed >= crop ? -off : off);
}

mg_status mg_dataset_sample(const mg_dataset *d, int i, const mg_crop_config *cfg, mg_rng *rng, float *out)
{
    mg_status s = dataset_check_config(d, cfg, "sample");
    if (s != MG_OK)
        return s;
    if (i < 0 || i >= d->count)
        return mg_error(MG_ERR_ARG, "%s: sample index %d is outside [0, %d)", d->dir, i, d->count);
    if (!rng || !out)
        return mg_error(MG_ERR_ARG, "sample: NULL random generator or output");
    const mg_image *img = &d->image[i];
    const int cw = cfg->width, ch = cfg->height;
    if (cfg->load_size > 0) {
        /* The dataset is not const to its owner; the cache is private state behind the const interface. */
        if ((s = dataset_resized((mg_dataset *)d, i, cfg->load_size, &img)) != MG_OK)
            return s;
    } else if (!dataset_fits(img, cfg)) {
        return dataset_too_small(d, i, cfg);
    }

    const int x = dataset_place(img->width, cw, cfg->shift, rng), y = dataset_place(img->height, ch, cfg->shift, rng);
    bool flip = cfg->flip && mg_rng_uniform(rng) < 0.5f; /* drawn only when flips are on */
    /* the image's pixels from (sx, sy) land at (dx, dy) of the crop, before the flip, w x h of them */
    const int dx = x > 0 ? x : 0, dy = y > 0 ? y : 0, sx = dx - x, sy = dy - y;
    const int right = x + img->width < cw ? x + img->width : cw, bottom = y + img->height < ch ? y + img->height : ch;
    const int w = right > dx ? right - dx : 0, h = bottom > dy ? bottom - dy : 0;
    if (w < cw || h < ch)
        for (size_t k = 0; k < (size_t)cw * (size_t)ch; k++)
            out[k] = -1.0f;
    for (int r = 0; r < h; r++) {
        const float *src = img->data + (size_t)(sy + r) * (size_t)img->width + (size_t)sx;
        float *dst = out + (size_t)(dy + r) * (size_t)cw;
        if (flip) {
            for (int c = 0; c < w; c++)
                dst[cw - 1 - dx - c] = src[c];
        } else {
            memcpy(dst + dx, src, sizeof(float) * (size_t)w);
        }
    }
    return MG_OK;
}
