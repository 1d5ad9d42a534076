/* PNG input and output with libpng, and the image record itself (mg_image_new / mg_image_free).
 *
 * Loading accepts every PNG colour type and bit depth, interlaced or not, and converts it to luminance in
 * [-1, 1]: gray as is, colour with Rec. 601 weights (0.299 R + 0.587 G + 0.114 B), alpha and tRNS ignored,
 * no gamma correction. Sub-byte gray is expanded by libpng to 8 bits (an exact multiple, so v / max is
 * unchanged) and palettes to RGB; 16-bit samples keep their precision.
 *
 * libpng reports errors by longjmp. Each setjmp lives in a small helper whose state (libpng structs, buffers)
 * is a struct owned by the caller, so nothing the helper changes is an automatic variable of the function that
 * called setjmp, and the caller frees everything on every path. Saving writes "<path>.tmp-XXXXXX" in the
 * same folder, syncs it and renames it over path, so a failed save never leaves a partial file at path. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/file.h"
#include "mrigan/image.h"

/* Largest side written: sample grids and figures put several slices side by side. */
#define PNG_IO_MAX_SIDE 32768

/* ------------------------------------------------------------------ images */

mg_status mg_image_new(int width, int height, mg_image *out)
{
    if (!out)
        return mg_error(MG_ERR_ARG, "image: NULL output");
    *out = (mg_image){0};
    if (width <= 0 || height <= 0)
        return mg_error(MG_ERR_ARG, "image: size %dx%d is not positive", width, height);
    float *data = calloc((size_t)width * (size_t)height, sizeof *data);
    if (!data)
        return mg_error(MG_ERR_OOM, "image: out of memory for %dx%d pixels", width, height);
    *out = (mg_image){.width = width, .height = height, .data = data};
    return MG_OK;
}

void mg_image_free(mg_image *img)
{
    if (!img)
        return;
    free(img->data);
    *img = (mg_image){0};
}

/* ------------------------------------------------------------------ libpng plumbing shared by both ways */

/* What the error, warning and i/o callbacks share with the code that drives libpng. */
typedef struct png_io_ctx {
    FILE *fp;
    char message[256]; /* what went wrong, for "<path>: <message>" */
    char warning[128]; /* libpng's last warning, which can say what an error leaves vague */
    const char *what;  /* prefix of libpng's own messages: "corrupt PNG: " when reading */
    bool io_message;   /* message was set by an i/o callback and is kept as it is */
    bool strict;       /* warnings are errors (while the pixel data is decoded) */
} png_io_ctx;

static void png_io_on_error(png_structp png, png_const_charp msg)
{
    png_io_ctx *ctx = png_get_error_ptr(png);
    msg = msg ? msg : "unknown libpng error";
    bool ihdr = ctx->warning[0] && strstr(msg, "Invalid IHDR"); /* the warning says which field is wrong */
    if (!ctx->io_message)                                       /* else keep the i/o callback's own message */
        snprintf(ctx->message, sizeof ctx->message, "%s%s%s%s%s", ctx->what, msg, ihdr ? " (" : "",
                 ihdr ? ctx->warning : "", ihdr ? ")" : "");
    png_longjmp(png, 1);
}

/* Ends the current libpng call from an i/o callback with message (kept as it is, without the prefix). */
static void png_io_fail(png_structp png, png_io_ctx *ctx, const char *message)
{
    snprintf(ctx->message, sizeof ctx->message, "%s", message);
    ctx->io_message = true;
    png_error(png, message);
}

/* Warnings about ancillary chunks do not stop a load. While the pixel data is decoded, the only warnings
 * left are libpng's "benign" errors about the compressed stream (zlib's "incorrect data check", extra or
 * missing data), which mean the pixels cannot be trusted, so they become errors there. */
static void png_io_on_warning(png_structp png, png_const_charp msg)
{
    png_io_ctx *ctx = png_get_error_ptr(png);
    if (ctx->strict)
        png_io_on_error(png, msg);
    snprintf(ctx->warning, sizeof ctx->warning, "%s", msg ? msg : "");
}

static void png_io_read(png_structp png, png_bytep data, size_t length)
{
    png_io_ctx *ctx = png_get_io_ptr(png);
    size_t got = fread(data, 1, length, ctx->fp);
    if (got == length)
        return;
    if (ferror(ctx->fp))
        png_io_fail(png, ctx, "read error");
    png_io_fail(png, ctx, "file is truncated (unexpected end of data)");
}

static void png_io_write(png_structp png, png_bytep data, size_t length)
{
    png_io_ctx *ctx = png_get_io_ptr(png);
    errno = 0;
    if (fwrite(data, 1, length, ctx->fp) != length)
        png_io_fail(png, ctx, strerror(errno ? errno : EIO));
}

static void png_io_flush(png_structp png)
{
    png_io_ctx *ctx = png_get_io_ptr(png);
    errno = 0;
    if (fflush(ctx->fp) != 0)
        png_io_fail(png, ctx, strerror(errno ? errno : EIO));
}

/* ------------------------------------------------------------------ loading */

typedef struct png_load {
    png_io_ctx ctx;
    png_structp png;
    png_infop info;
    png_bytep raw;     /* the decoded image, libpng's layout after the transforms below */
    png_bytepp rows;   /* row pointers into raw */
    float *data;       /* the result */
    int width, height; /* from IHDR */
} png_load;

/* Converts the decoded rows (gray, gray+alpha, RGB or RGBA; 8 or 16 bits) to luminance in [-1, 1]. */
static void png_load_convert(png_load *ld, int channels, int depth)
{
    const double max = depth == 16 ? 65535.0 : 255.0;
    const int step = depth == 16 ? 2 : 1;
    for (int y = 0; y < ld->height; y++) {
        const png_byte *row = ld->rows[y];
        float *dst = ld->data + (size_t)y * (size_t)ld->width;
        for (int x = 0; x < ld->width; x++) {
            const png_byte *px = row + (size_t)x * (size_t)(channels * step);
            double s[3];
            for (int c = 0; c < (channels >= 3 ? 3 : 1); c++)
                s[c] = depth == 16 ? (double)((px[2 * c] << 8) | px[2 * c + 1]) : (double)px[c];
            double v = channels >= 3 ? 0.299 * s[0] + 0.587 * s[1] + 0.114 * s[2] : s[0];
            dst[x] = (float)(v / max * 2.0 - 1.0);
        }
    }
}

/* Everything that can longjmp. Returns MG_OK, or the status with the message in ld->ctx.message. */
static mg_status png_load_decode(png_load *ld)
{
    if (setjmp(png_jmpbuf(ld->png)))
        return MG_ERR_FORMAT;

    png_set_read_fn(ld->png, &ld->ctx, png_io_read);
    png_set_sig_bytes(ld->png, 8);
    /* Our own limit is checked below with a clearer message; libpng's only guards against overflow. */
    png_set_user_limits(ld->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_read_info(ld->png, ld->info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(ld->png, ld->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (w > MG_IMAGE_MAX_SIDE || h > MG_IMAGE_MAX_SIDE || (uint64_t)w * h > MG_IMAGE_MAX_PIXELS) {
        snprintf(ld->ctx.message, sizeof ld->ctx.message,
                 "image size %lux%lu is too large (at most %d per side and %d pixels)", (unsigned long)w,
                 (unsigned long)h, MG_IMAGE_MAX_SIDE, MG_IMAGE_MAX_PIXELS);
        return MG_ERR_FORMAT;
    }
    ld->width = (int)w;
    ld->height = (int)h;

    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(ld->png); /* to RGB, or RGBA with tRNS; alpha is skipped below */
    else if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(ld->png);
    (void)png_set_interlace_handling(ld->png);
    png_read_update_info(ld->png, ld->info);

    int channels = png_get_channels(ld->png, ld->info);
    int out_depth = png_get_bit_depth(ld->png, ld->info);
    size_t rowbytes = png_get_rowbytes(ld->png, ld->info);
    if (channels < 1 || channels > 4 || (out_depth != 8 && out_depth != 16) ||
        rowbytes < (size_t)ld->width * (size_t)channels * (size_t)(out_depth / 8)) {
        snprintf(ld->ctx.message, sizeof ld->ctx.message, "unexpected pixel layout (%d channels of %d bits)", channels,
                 out_depth);
        return MG_ERR_FORMAT;
    }

    ld->raw = malloc(rowbytes * (size_t)ld->height);
    ld->rows = malloc(sizeof *ld->rows * (size_t)ld->height);
    ld->data = malloc(sizeof *ld->data * (size_t)ld->width * (size_t)ld->height);
    if (!ld->raw || !ld->rows || !ld->data) {
        snprintf(ld->ctx.message, sizeof ld->ctx.message, "out of memory for a %dx%d image", ld->width, ld->height);
        return MG_ERR_OOM;
    }
    for (int y = 0; y < ld->height; y++)
        ld->rows[y] = ld->raw + (size_t)y * rowbytes;

    ld->ctx.strict = true;
    png_read_image(ld->png, ld->rows);
    ld->ctx.strict = false;
    png_read_end(ld->png, NULL); /* checks the remaining chunks' CRCs and that the file ends with IEND */

    png_load_convert(ld, channels, out_depth);
    return MG_OK;
}

mg_status mg_image_load_png(const char *path, mg_image *out)
{
    if (!out)
        return mg_error(MG_ERR_ARG, "load png: NULL output");
    *out = (mg_image){0};
    if (!path)
        return mg_error(MG_ERR_ARG, "load png: NULL path");

    FILE *fp = fopen(path, "rb");
    if (!fp)
        return mg_error(MG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

    png_byte sig[8];
    size_t got = fread(sig, 1, sizeof sig, fp);
    if (got != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        bool read_failed = ferror(fp) != 0;
        fclose(fp);
        if (read_failed)
            return mg_error(MG_ERR_IO, "%s: read error", path);
        if (got == 0)
            return mg_error(MG_ERR_FORMAT, "%s: empty file, not a PNG", path);
        if (got < sizeof sig && png_sig_cmp(sig, 0, got) == 0)
            return mg_error(MG_ERR_FORMAT, "%s: file is truncated (%zu bytes, shorter than the PNG signature)", path,
                            got);
        return mg_error(MG_ERR_FORMAT, "%s: not a PNG file (bad signature)", path);
    }

    png_load ld = {.ctx = {.fp = fp, .what = "corrupt PNG: "}};
    mg_status s = MG_OK;
    ld.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ld.ctx, png_io_on_error, png_io_on_warning);
    if (ld.png)
        ld.info = png_create_info_struct(ld.png);
    if (!ld.png || !ld.info)
        s = mg_error(MG_ERR_OOM, "%s: out of memory for the PNG decoder", path);
    else if ((s = png_load_decode(&ld)) != MG_OK)
        s = mg_error(s, "%s: %s", path, ld.ctx.message);

    png_destroy_read_struct(ld.png ? &ld.png : NULL, ld.info ? &ld.info : NULL, NULL);
    fclose(fp);
    free(ld.rows);
    free(ld.raw);
    if (s != MG_OK) {
        free(ld.data);
        return s;
    }
    *out = (mg_image){.width = ld.width, .height = ld.height, .data = ld.data};
    return MG_OK;
}

/* ------------------------------------------------------------------ saving */

/* What to write: a gray image (8 or 16 bits) or 8-bit RGB bytes. */
typedef struct png_save_src {
    int width, height;
    const mg_image *img; /* gray, quantised to depth bits */
    int depth;
    const uint8_t *rgb; /* or this: width * height * 3 bytes */
} png_save_src;

typedef struct png_save {
    png_io_ctx ctx;
    png_structp png;
    png_infop info;
    png_bytep row; /* one encoded gray row */
    const png_save_src *src;
} png_save;

/* [-1, 1] -> round((v + 1) / 2 * max), clamped to [0, max]; NaN -> 0. */
static unsigned png_save_quantise(float v, double max)
{
    if (isnan(v))
        return 0;
    double q = round(((double)v + 1.0) * 0.5 * max);
    return q <= 0.0 ? 0u : q >= max ? (unsigned)max : (unsigned)q;
}

static void png_save_gray_row(png_bytep row, const float *src, int width, int depth)
{
    const double max = depth == 16 ? 65535.0 : 255.0;
    for (int x = 0; x < width; x++) {
        unsigned q = png_save_quantise(src[x], max);
        if (depth == 16) {
            row[2 * x] = (png_byte)(q >> 8);
            row[2 * x + 1] = (png_byte)(q & 0xff);
        } else {
            row[x] = (png_byte)q;
        }
    }
}

static mg_status png_save_encode(png_save *sv)
{
    if (setjmp(png_jmpbuf(sv->png)))
        return MG_ERR_IO;

    const png_save_src *src = sv->src;
    png_set_write_fn(sv->png, &sv->ctx, png_io_write, png_io_flush);
    png_set_IHDR(sv->png, sv->info, (png_uint_32)src->width, (png_uint_32)src->height, src->rgb ? 8 : src->depth,
                 src->rgb ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (src->rgb) { /* charts: flat colours, which the Sub filter and zlib's fastest level pack almost as small as the
                     * default adaptive filters at level 6, in a third of the time (loss.png: 28 -> 9 ms an epoch) */
        png_set_compression_level(sv->png, 1);
        png_set_filter(sv->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    }
    png_write_info(sv->png, sv->info);
    for (int y = 0; y < src->height; y++) {
        if (src->rgb) {
            png_write_row(sv->png, src->rgb + (size_t)y * (size_t)src->width * 3);
        } else {
            png_save_gray_row(sv->row, src->img->data + (size_t)y * (size_t)src->width, src->width, src->depth);
            png_write_row(sv->png, sv->row);
        }
    }
    png_write_end(sv->png, NULL);
    return MG_OK;
}

/* Encodes into the open temporary file fp; the message names `path` (the destination). */
static mg_status png_save_to_file(const char *path, FILE *fp, const png_save_src *src)
{
    png_save sv = {.ctx = {.fp = fp, .what = "PNG encoder: "}, .src = src};
    mg_status s = MG_OK;
    if (!src->rgb)
        sv.row = malloc((size_t)src->width * (size_t)(src->depth / 8));
    sv.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sv.ctx, png_io_on_error, png_io_on_warning);
    if (sv.png)
        sv.info = png_create_info_struct(sv.png);
    if ((!src->rgb && !sv.row) || !sv.png || !sv.info)
        s = mg_error(MG_ERR_OOM, "%s: out of memory for the PNG encoder", path);
    else if (png_save_encode(&sv) != MG_OK)
        s = mg_error(MG_ERR_IO, "%s: cannot write: %s", path, sv.ctx.message);
    png_destroy_write_struct(sv.png ? &sv.png : NULL, sv.info ? &sv.info : NULL);
    free(sv.row);
    return s;
}

typedef struct png_save_args {
    const char *path;
    const png_save_src *src;
} png_save_args;

static mg_status png_save_stream(FILE *fp, void *arg)
{
    const png_save_args *a = arg;
    return png_save_to_file(a->path, fp, a->src);
}

/* Writes the whole PNG or nothing (base/file.c). */
static mg_status png_save_file(const char *path, const png_save_src *src)
{
    png_save_args a = {path, src};
    return mg_file_write_atomic("", path, png_save_stream, &a);
}

static mg_status png_save_check_size(const char *path, int width, int height)
{
    if (width <= 0 || height <= 0 || width > PNG_IO_MAX_SIDE || height > PNG_IO_MAX_SIDE)
        return mg_error(MG_ERR_ARG, "%s: cannot save a %dx%d image (1 to %d per side)", path, width, height,
                        PNG_IO_MAX_SIDE);
    return MG_OK;
}

mg_status mg_image_save_png(const char *path, const mg_image *img, int bit_depth)
{
    if (!path || !img || !img->data)
        return mg_error(MG_ERR_ARG, "save png: NULL path or image");
    if (bit_depth != 8 && bit_depth != 16)
        return mg_error(MG_ERR_ARG, "%s: bit depth %d (8 or 16 supported)", path, bit_depth);
    mg_status s = png_save_check_size(path, img->width, img->height);
    png_save_src src = {.width = img->width, .height = img->height, .img = img, .depth = bit_depth};
    return s != MG_OK ? s : png_save_file(path, &src);
}

mg_status mg_image_save_png_rgb(const char *path, int width, int height, const uint8_t *rgb)
{
    if (!path || !rgb)
        return mg_error(MG_ERR_ARG, "save png: NULL path or pixels");
    mg_status s = png_save_check_size(path, width, height);
    png_save_src src = {.width = width, .height = height, .rgb = rgb};
    return s != MG_OK ? s : png_save_file(path, &src);
}
