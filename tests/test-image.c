/* Tests of PNG input and output and image geometry: round trips at 8 and 16 bits, every PNG colour type written
 * here with libpng (luminance checked against the Rec. 601 formula), corrupt and truncated files, padding,
 * cropping and Pillow-style resizing (datasets: test-dataset.c). Temporary files live in a mkdtemp folder under /tmp,
 * removed at the end. Prints one "ok ..." line per group; exits non-zero on any failure. */
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "mrigan/image.h"
#include "mrigan/mrigan.h"
#include "tmp-files.h"

#include "check.h"

static int group_failures;
static void group_begin(void) { group_failures = failures; }
static void group_end(const char *name) { printf("%s %s\n", failures == group_failures ? "ok" : "not ok", name); }

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 20);
    *n = fp && buf ? fread(buf, 1, 1 << 20, fp) : 0;
    if (fp)
        fclose(fp);
    return buf;
}

/* ------------------------------------------------------------------ PNGs written directly with libpng */

typedef struct png_spec {
    const char *name;
    int color, depth, interlace, n_palette, n_trans;
} png_spec;

static int channels_of(int color)
{
    switch (color) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

static png_color palette_entry(int i)
{
    return (png_color){(png_byte)(i * 37 + 11), (png_byte)(i * 91 + 3), (png_byte)(i * 53 + 200)};
}

/* The libpng part of write_png(), apart so that its setjmp has no locals to clobber. */
static bool write_png_rows(FILE *fp, const png_spec *sp, int w, int h, png_bytepp rows)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
        return false;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, w, h, sp->depth, sp->color, sp->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_color pal[256];
    png_byte alpha[256];
    for (int i = 0; i < 256; i++) {
        pal[i] = palette_entry(i);
        alpha[i] = (png_byte)(255 - i * 7);
    }
    png_color_16 trans_color = {.gray = 1, .red = 2, .green = 3, .blue = 4};
    if (sp->n_palette)
        png_set_PLTE(png, info, pal, sp->n_palette);
    if (sp->n_trans)
        png_set_tRNS(png, info, alpha, sp->color == PNG_COLOR_TYPE_PALETTE ? sp->n_trans : 0, &trans_color);
    png_write_info(png, info);
    if (sp->depth < 8)
        png_set_packing(png);   /* one sample per byte in our rows */
    png_write_image(png, rows); /* interlaces by itself for Adam7 */
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return true;
}

/* Writes a w x h PNG of spec's type whose samples are samples[(y * w + x) * channels + c] (palette indices for
 * palette images); palette entries come from palette_entry(). Returns false if libpng fails. */
static bool write_png(const char *path, const png_spec *sp, int w, int h, const unsigned *samples)
{
    int ch = channels_of(sp->color), bytes = sp->depth == 16 ? 2 : 1;
    png_bytep buf = malloc((size_t)w * h * ch * bytes);
    png_bytepp rows = malloc(sizeof *rows * h);
    FILE *fp = fopen(path, "wb");
    bool ok = buf && rows && fp;
    for (int i = 0; ok && i < w * h * ch; i++) {
        if (bytes == 2) {
            buf[2 * i] = (png_byte)(samples[i] >> 8);
            buf[2 * i + 1] = (png_byte)samples[i];
        } else {
            buf[i] = (png_byte)samples[i];
        }
    }
    for (int y = 0; ok && y < h; y++)
        rows[y] = buf + (size_t)y * w * ch * bytes;
    ok = ok && write_png_rows(fp, sp, w, h, rows);
    if (fp && fclose(fp) != 0)
        ok = false;
    free(rows);
    free(buf);
    return ok;
}

/* ------------------------------------------------------------------ groups */

static void test_round_trip(void)
{
    group_begin();
    static const int sizes[][2] = {{181, 217}, {1, 1}, {7, 3}};
    char path[512];
    for (int si = 0; si < 3; si++) {
        for (int depth = 8; depth <= 16; depth += 8) {
            const double max = depth == 16 ? 65535.0 : 255.0;
            mg_image img, back;
            int w = sizes[si][0], h = sizes[si][1];
            CHECK(mg_image_new(w, h, &img) == MG_OK, "new %dx%d", w, h);
            uint32_t r = 12345u + (uint32_t)si;
            for (int i = 0; i < w * h; i++) {
                r = r * 1664525u + 1013904223u;
                img.data[i] = (float)((r >> 8) * 0x1.0p-24 * 2.0 - 1.0);
            }
            if (w * h > 4) { /* the ends, out-of-range values (clamped) and NaN (stored as 0, i.e. -1) */
                img.data[0] = -1.0f, img.data[1] = 1.0f, img.data[2] = 1.5f, img.data[3] = -3.0f;
                img.data[4] = NAN;
            }
            tmp_path(path, "round.png");
            CHECK(mg_image_save_png(path, &img, depth) == MG_OK, "save %dx%d at %d bits", w, h, depth);
            CHECK(mg_image_load_png(path, &back) == MG_OK, "load %dx%d", w, h);
            CHECK(back.width == w && back.height == h, "size %dx%d back as %dx%d", w, h, back.width, back.height);
            int bad = 0;
            for (int i = 0; back.data && i < w * h; i++) {
                double v = isnan(img.data[i]) ? -1.0 : fmax(-1.0, fmin(1.0, img.data[i]));
                bad += fabs(back.data[i] - v) > 1.0 / max + 1e-7; /* half of the step 2 / max */
                double q = round((v + 1.0) / 2.0 * max);
                bad += fabs(back.data[i] - (q / max * 2.0 - 1.0)) > 1e-6; /* rounded to the nearest step */
            }
            CHECK(bad == 0, "%d pixels off after a %d-bit round trip of %dx%d", bad, depth, w, h);
            mg_image_free(&back);
            mg_image_free(&img);
        }
    }
    mg_image img;
    CHECK(mg_image_new(3, 2, &img) == MG_OK, "new");
    CHECK(mg_image_save_png(tmp_path(path, "d12.png"), &img, 12) == MG_ERR_ARG, "bit depth 12 accepted");
    CHECK(error_names(mg_image_save_png(tmp_path(path, "none/x.png"), &img, 8), "none/x.png"),
          "save into a missing folder");
    CHECK(access(tmp_path(path, "d12.png"), F_OK) != 0, "a failed save left a file");
    mg_image_free(&img);
    CHECK(mg_image_new(0, 5, &img) == MG_ERR_ARG && !img.data, "0x5 image accepted");

    /* A full disk, as a file size limit: the save fails naming the file, which keeps its old content. */
    CHECK(mg_image_new(181, 217, &img) == MG_OK, "new");
    for (int i = 0; i < 181 * 217; i++)
        img.data[i] = (float)((i * 2654435761u >> 11) % 1000 / 500.0 - 1.0);
    tmp_path(path, "full.png");
    write_bytes(path, "old", 3);
    struct rlimit old_limit, limit;
    CHECK(getrlimit(RLIMIT_FSIZE, &old_limit) == 0, "getrlimit");
    limit = old_limit;
    limit.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &limit) == 0, "setrlimit");
    mg_status s = mg_image_save_png(path, &img, 16);
    CHECK(setrlimit(RLIMIT_FSIZE, &old_limit) == 0, "setrlimit");
    signal(SIGXFSZ, old_handler);
    CHECK(error_names(s, path) && s == MG_ERR_IO, "save past the file size limit");
    size_t n = 0;
    unsigned char *bytes = read_bytes(path, &n);
    CHECK(n == 3 && bytes && !memcmp(bytes, "old", 3), "the old file was changed by a failed save");
    free(bytes);
    mg_image_free(&img);

    /* 8-bit RGB output (plots): loads back as its luminance. */
    uint8_t rgb[2 * 3 * 3];
    for (int i = 0; i < 18; i++)
        rgb[i] = (uint8_t)(i * 41 + 7);
    CHECK(mg_image_save_png_rgb(tmp_path(path, "rgb.png"), 3, 2, rgb) == MG_OK, "save RGB");
    CHECK(mg_image_load_png(path, &img) == MG_OK && img.width == 3 && img.height == 2, "load RGB");
    for (int i = 0; img.data && i < 6; i++) {
        double v = (0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]) / 255.0 * 2.0 - 1.0;
        CHECK(fabs(img.data[i] - v) < 1e-6, "RGB pixel %d: %g, expected %g", i, img.data[i], v);
    }
    mg_image_free(&img);
    DIR *dp = opendir(tmp_dir); /* no temporary file is left behind */
    struct dirent *e;
    while (dp && (e = readdir(dp)))
        CHECK(!strstr(e->d_name, ".tmp-"), "temporary file %s left", e->d_name);
    if (dp)
        closedir(dp);
    group_end("round trips at 8 and 16 bits (181x217, 1x1, 7x3), clamping, NaN, bad depth, disk full, RGB");
}

static void test_colour_types(void)
{
    group_begin();
    enum { W = 13, H = 11 }; /* odd sizes: every Adam7 pass is non-empty */
    static const png_spec specs[] = {
        {"gray 1-bit", PNG_COLOR_TYPE_GRAY, 1, 0, 0, 0},
        {"gray 2-bit", PNG_COLOR_TYPE_GRAY, 2, 0, 0, 0},
        {"gray 4-bit", PNG_COLOR_TYPE_GRAY, 4, 0, 0, 0},
        {"gray 8-bit", PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0},
        {"gray 8-bit tRNS", PNG_COLOR_TYPE_GRAY, 8, 0, 0, 1},
        {"gray 16-bit", PNG_COLOR_TYPE_GRAY, 16, 0, 0, 0},
        {"gray+alpha 8-bit", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0, 0},
        {"gray+alpha 16-bit", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, 0, 0},
        {"palette 8-bit", PNG_COLOR_TYPE_PALETTE, 8, 0, 200, 0},
        {"palette 8-bit tRNS", PNG_COLOR_TYPE_PALETTE, 8, 0, 200, 30},
        {"palette 4-bit", PNG_COLOR_TYPE_PALETTE, 4, 0, 16, 0},
        {"palette 1-bit tRNS", PNG_COLOR_TYPE_PALETTE, 1, 0, 2, 1},
        {"RGB 8-bit", PNG_COLOR_TYPE_RGB, 8, 0, 0, 0},
        {"RGB 8-bit tRNS", PNG_COLOR_TYPE_RGB, 8, 0, 0, 1},
        {"RGB 16-bit", PNG_COLOR_TYPE_RGB, 16, 0, 0, 0},
        {"RGBA 8-bit", PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0, 0},
        {"RGBA 16-bit", PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0, 0},
        {"RGB 8-bit Adam7", PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, 0, 0},
        {"gray 16-bit Adam7", PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_ADAM7, 0, 0},
        {"palette 4-bit tRNS Adam7", PNG_COLOR_TYPE_PALETTE, 4, PNG_INTERLACE_ADAM7, 16, 5},
    };
    char path[512];
    unsigned samples[W * H * 4];
    for (size_t t = 0; t < sizeof specs / sizeof *specs; t++) {
        const png_spec *sp = &specs[t];
        int ch = channels_of(sp->color);
        unsigned max = sp->n_palette ? (unsigned)sp->n_palette - 1 : (1u << sp->depth) - 1;
        for (int i = 0; i < W * H; i++)
            for (int c = 0; c < ch; c++) /* pixel 0 all zero, pixel 1 all max, then a spread */
                samples[i * ch + c] = i == 0 ? 0 : i == 1 ? max : (unsigned)(i * 2654435761u + c * 40503u) % (max + 1);
        snprintf(path, sizeof path, "%s/type%02zu.png", tmp_dir, t);
        CHECK(write_png(path, sp, W, H, samples), "libpng could not write %s", sp->name);
        mg_image img;
        mg_status s = mg_image_load_png(path, &img);
        CHECK(s == MG_OK && img.width == W && img.height == H, "%s: load", sp->name);
        int bad = 0;
        for (int i = 0; s == MG_OK && i < W * H; i++) {
            const unsigned *px = samples + i * ch;
            double v;
            if (sp->color == PNG_COLOR_TYPE_PALETTE) {
                png_color p = palette_entry((int)px[0]);
                v = (0.299 * p.red + 0.587 * p.green + 0.114 * p.blue) / 255.0;
            } else if (ch >= 3) {
                v = (0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]) / max;
            } else {
                v = (double)px[0] / max;
            }
            bad += fabs(img.data[i] - (v * 2.0 - 1.0)) > 1e-6;
        }
        CHECK(bad == 0, "%s: %d pixels differ from the formula", sp->name, bad);
        mg_image_free(&img);
    }
    group_end("every colour type and bit depth, tRNS and Adam7 (20 PNGs, luminance within 1e-6)");
}

/* Offset of the first byte of the first IDAT's data in a PNG, and its length. */
static size_t find_idat(const unsigned char *png, size_t n, size_t *len)
{
    for (size_t at = 8; at + 12 <= n;) {
        size_t l = (size_t)png[at] << 24 | png[at + 1] << 16 | png[at + 2] << 8 | png[at + 3];
        if (!memcmp(png + at + 4, "IDAT", 4)) {
            *len = l;
            return at + 8;
        }
        at += l + 12;
    }
    return 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Loads path, which must fail with a message naming it; prints nothing on success. */
static void expect_rejected(const char *path, const char *what, const char *needle)
{
    mg_image img = {.width = 99};
    mg_status s = mg_image_load_png(path, &img);
    CHECK(error_names(s, path), "%s: accepted, or the message does not name the file", what);
    CHECK(!needle || strstr(mg_last_error(), needle), "%s: message lacks \"%s\"", what, needle);
    CHECK(!img.data && img.width == 0, "%s: output not left empty", what);
    if (getenv("MG_TEST_VERBOSE"))
        printf("  %s: %s\n", what, mg_last_error());
    mg_image_free(&img);
}

static void test_corrupt(void)
{
    group_begin();
    char path[512], good[512];
    enum { W = 64, H = 48 };
    unsigned samples[W * H];
    for (int i = 0; i < W * H; i++)
        samples[i] = (unsigned)(i * 2654435761u >> 7) % 256;
    png_spec gray = {"gray", PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0};
    CHECK(write_png(tmp_path(good, "good.png"), &gray, W, H, samples), "write good.png");
    size_t n = 0;
    unsigned char *bytes = read_bytes(good, &n), *copy = malloc(n + 1);
    CHECK(bytes && copy && n > 200, "read good.png back");
    if (!bytes || !copy || n <= 200) {
        free(bytes);
        free(copy);
        return;
    }

    expect_rejected(tmp_path(path, "missing.png"), "missing file", "No such file");
    write_bytes(tmp_path(path, "notes.png"), "these are notes, not an image\n", 30);
    expect_rejected(path, "text file", "not a PNG");
    write_bytes(tmp_path(path, "empty.png"), "", 0);
    expect_rejected(path, "empty file", "empty");
    const size_t cuts[] = {4, 8, 16, 20, 33, 40, n / 2, n - 12, n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        char what[64];
        snprintf(what, sizeof what, "cut at %zu of %zu bytes", cuts[k], n);
        snprintf(path, sizeof path, "%s/cut%zu.png", tmp_dir, cuts[k]);
        write_bytes(path, bytes, cuts[k]);
        expect_rejected(path, what, "truncated");
    }

    size_t idat_len = 0, idat = find_idat(bytes, n, &idat_len);
    CHECK(idat > 0 && idat_len > 20, "no IDAT in good.png");
    memcpy(copy, bytes, n);
    copy[idat + idat_len / 2] ^= 0x10;
    write_bytes(tmp_path(path, "flipped.png"), copy, n);
    expect_rejected(path, "byte flipped in IDAT", NULL); /* the data is decoded before the CRC is checked */
    memcpy(copy, bytes, n);
    copy[idat + idat_len] ^= 0x01;
    write_bytes(tmp_path(path, "crc.png"), copy, n);
    expect_rejected(path, "IDAT CRC flipped", "CRC error");
    /* The same with the chunk's CRC made right again: zlib itself must notice. */
    const size_t offsets[] = {2, 5, idat_len / 3, idat_len / 2, idat_len - 6, idat_len - 1};
    for (size_t k = 0; k < sizeof offsets / sizeof *offsets; k++) {
        memcpy(copy, bytes, n);
        copy[idat + offsets[k]] ^= 0x04;
        put_be32(copy + idat + idat_len, (uint32_t)crc32(0, copy + idat - 4, (uInt)idat_len + 4));
        snprintf(path, sizeof path, "%s/zlib%zu.png", tmp_dir, k);
        write_bytes(path, copy, n);
        char what[64];
        snprintf(what, sizeof what, "IDAT byte %zu flipped, CRC fixed", offsets[k]);
        expect_rejected(path, what, NULL);
    }
    /* IHDR sizes: zero, absurd, a side or a pixel count beyond the limits (checked before allocating), and the
     * 8 GiB of a 32768x32768 16-bit RGBA header. */
    const uint32_t sizes[][4] = {{0, 8}, {0x7fffffffu, 8}, {40000, 8}, {16385, 1}, {8192, 8192}, {32768, 32768, 16, 6}};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        memcpy(copy, bytes, n);
        put_be32(copy + 16, sizes[k][0]);
        put_be32(copy + 20, sizes[k][1]);
        copy[24] = sizes[k][2] ? (unsigned char)sizes[k][2] : copy[24];
        copy[25] = sizes[k][3] ? (unsigned char)sizes[k][3] : copy[25];
        put_be32(copy + 29, (uint32_t)crc32(0, copy + 12, 17));
        snprintf(path, sizeof path, "%s/wide%zu.png", tmp_dir, k);
        write_bytes(path, copy, n);
        expect_rejected(path, "bad width in IHDR", k == 0 ? "zero" : "too large");
    }
    free(copy);
    free(bytes);
    group_end("not-a-PNG, empty, 9 truncations, IDAT and CRC bit flips, bad IHDR sizes: rejected, named");
}

static void fill_ramp(mg_image *img)
{
    for (int i = 0; i < img->width * img->height; i++)
        img->data[i] = (float)((i * 37 % 101) / 50.0 - 1.0);
}

static void test_geometry(void)
{
    group_begin();
    mg_image img, pad, back, out;
    int ox = -1, oy = -1;
    CHECK(mg_image_new(181, 217, &img) == MG_OK, "new");
    fill_ramp(&img);
    CHECK(mg_image_pad_to_multiple(&img, 128, &pad, &ox, &oy) == MG_OK, "pad");
    CHECK(pad.width == 256 && pad.height == 256 && ox == 37 && oy == 19, "padded to %dx%d at (%d, %d)", pad.width,
          pad.height, ox, oy);
    int bad = 0, minus_one = 0;
    for (int y = 0; pad.data && y < pad.height; y++)
        for (int x = 0; x < pad.width; x++) {
            float v = pad.data[y * pad.width + x];
            bool inside = x >= ox && x < ox + 181 && y >= oy && y < oy + 217;
            bad += inside ? v != img.data[(y - oy) * 181 + (x - ox)] : v != -1.0f;
            minus_one += !inside;
        }
    CHECK(bad == 0 && minus_one == 256 * 256 - 181 * 217, "%d padded pixels wrong", bad);
    CHECK(mg_image_crop(&pad, ox, oy, 181, 217, &back) == MG_OK, "crop back");
    CHECK(back.data && !memcmp(back.data, img.data, sizeof(float) * 181 * 217), "crop back differs");
    mg_image_free(&back);
    CHECK(mg_image_crop(&pad, 200, 0, 57, 1, &back) == MG_ERR_ARG && !back.data, "crop past the right edge");
    CHECK(mg_image_crop(&pad, -1, 0, 5, 5, &back) == MG_ERR_ARG, "crop at x = -1");
    CHECK(mg_image_crop(&pad, 0, 0, 0, 5, &back) == MG_ERR_ARG, "crop of width 0");
    CHECK(mg_image_crop(&pad, 255, 255, 1, 1, &back) == MG_OK && back.data[0] == -1.0f, "last-pixel crop");
    mg_image_free(&back);
    mg_image_free(&pad);
    CHECK(mg_image_pad_to_multiple(&img, 1, &pad, &ox, &oy) == MG_OK && pad.width == 181 && ox == 0 && oy == 0,
          "pad to a multiple of 1");
    mg_image_free(&pad);
    CHECK(mg_image_pad_to_multiple(&img, 0, &pad, NULL, NULL) == MG_ERR_ARG, "multiple 0 accepted");

    for (int i = 0; i < 181 * 217; i++)
        img.data[i] = 0.3f;
    static const int targets[][2] = {{64, 80}, {300, 301}, {181, 217}, {1, 1}, {90, 400}};
    for (int t = 0; t < 5; t++) {
        CHECK(mg_image_resize(&img, targets[t][0], targets[t][1], &out) == MG_OK, "resize");
        bad = 0;
        for (int i = 0; out.data && i < out.width * out.height; i++)
            bad += fabsf(out.data[i] - 0.3f) > 1e-6f;
        CHECK(bad == 0 && out.width == targets[t][0] && out.height == targets[t][1], "constant resized to %dx%d",
              targets[t][0], targets[t][1]);
        mg_image_free(&out);
    }
    mg_image_free(&img);

    /* A 1-pixel checkerboard halved averages to 0 inside (weights 1/8, 3/8, 3/8, 1/8); the border rows and
     * columns see a truncated, renormalised filter (3/7, 3/7, 1/7), as in Pillow. */
    CHECK(mg_image_new(32, 32, &img) == MG_OK, "new");
    for (int i = 0; i < 32 * 32; i++)
        img.data[i] = ((i % 32 + i / 32) & 1) ? -1.0f : 1.0f;
    CHECK(mg_image_resize(&img, 16, 16, &out) == MG_OK, "halve");
    bad = 0;
    for (int y = 0; out.data && y < 16; y++)
        for (int x = 0; x < 16; x++) {
            bool border = x == 0 || y == 0 || x == 15 || y == 15;
            bad += fabsf(out.data[y * 16 + x]) > (border ? 1.0f / 7 + 1e-6f : 1e-6f);
        }
    CHECK(bad == 0, "checkerboard halved: %d pixels not ~0", bad);
    mg_image_free(&out);
    mg_image_free(&img);

    /* Exact values in one dimension: [0 1 2 3] -> [5/7 16/7]; [0 1] -> [0 1/4 3/4 1]. */
    CHECK(mg_image_new(4, 1, &img) == MG_OK, "new");
    for (int i = 0; i < 4; i++)
        img.data[i] = (float)i;
    CHECK(mg_image_resize(&img, 2, 1, &out) == MG_OK && fabsf(out.data[0] - 5.0f / 7) < 1e-6f &&
              fabsf(out.data[1] - 16.0f / 7) < 1e-6f,
          "4 -> 2 gave %g %g", out.data ? out.data[0] : 0, out.data ? out.data[1] : 0);
    mg_image_free(&out);
    img.width = 2;
    CHECK(mg_image_resize(&img, 4, 1, &out) == MG_OK && out.data[0] == 0.0f && fabsf(out.data[1] - 0.25f) < 1e-6f &&
              fabsf(out.data[2] - 0.75f) < 1e-6f && out.data[3] == 1.0f,
          "2 -> 4 enlarged wrongly");
    mg_image_free(&out);
    CHECK(mg_image_resize(&img, 0, 3, &out) == MG_ERR_ARG, "resize to 0x3 accepted");
    mg_image_free(&img);
    group_end("pad 181x217 to 256x256 and crop back, crop bounds, resize: constant, area-aware halving, exact 1-D");
}

/* Uniform in [-1, 1) from the library's PCG32: the same numbers on every machine. */
static float rng_signed(mg_rng *r) { return 2.0f * mg_rng_uniform(r) - 1.0f; }

/* The guided filter written out window by window in double (the definition, no running sums). */
static void guided_by_hand(const float *g, const float *p, int h, int w, int r, double eps, float *out)
{
    double *a = malloc(sizeof *a * (size_t)h * w), *b = malloc(sizeof *b * (size_t)h * w);
    for (int pass = 0; pass < 2 && a && b; pass++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                double sg = 0, sp = 0, sgp = 0, sgg = 0, sa = 0, sb = 0;
                int n = 0;
                for (int y = i - r; y <= i + r; y++)
                    for (int x = j - r; x <= j + r; x++) {
                        if (y < 0 || y >= h || x < 0 || x >= w)
                            continue;
                        size_t k = (size_t)y * w + x;
                        n++;
                        sg += g[k], sp += p[k], sgp += (double)g[k] * p[k], sgg += (double)g[k] * g[k];
                        if (pass)
                            sa += a[k], sb += b[k];
                    }
                size_t k = (size_t)i * w + j;
                if (!pass) {
                    double mg = sg / n, mp = sp / n;
                    a[k] = (sgp / n - mg * mp) / (sgg / n - mg * mg + eps);
                    b[k] = mp - a[k] * mg;
                } else {
                    double v = sa / n * g[k] + sb / n;
                    out[k] = (float)(v < -1 ? -1 : v > 1 ? 1 : v);
                }
            }
    free(a);
    free(b);
}

static void test_guided_filter(void)
{
    group_begin();
    enum { H = 13, W = 17, N = H * W };
    static float g[N], p[N], out[N], want[N], same[N];
    mg_rng st;
    mg_rng_seed(&st, 7, 0);
    for (int i = 0; i < N; i++) {
        g[i] = rng_signed(&st);
        p[i] = 0.8f * rng_signed(&st);
    }
    /* against the definition, the image's edges (clipped windows) included: the running sums differ from it by
     * double rounding only, far below float's step of 6e-8 near 1 */
    for (int r = 1; r <= 3; r++) {
        CHECK(mg_image_guided_filter(g, p, H, W, r, 0.01f, out) == MG_OK, "radius %d failed", r);
        guided_by_hand(g, p, H, W, r, (double)0.01f, want);
        float most = 0;
        for (int i = 0; i < N; i++)
            most = fmaxf(most, fabsf(out[i] - want[i]));
        CHECK(most <= 2e-7f, "radius %d: %g from the definition", r, most);
    }
    memcpy(same, p, sizeof p); /* out may be src */
    CHECK(mg_image_guided_filter(g, same, H, W, 3, 0.01f, same) == MG_OK && !memcmp(same, out, sizeof out),
          "filtering in place differs");
    /* a translation that is a line of its input already (an inverted contrast) stays, up to the slope's shrinking
     * by eps / (var + eps): below 1e-6 of it where a window's variance is above 0.01 */
    for (int i = 0; i < N; i++)
        p[i] = -0.7f * g[i] + 0.1f;
    CHECK(mg_image_guided_filter(g, p, H, W, 1, 1e-8f, out) == MG_OK, "the line failed");
    float most = 0;
    for (int i = 0; i < N; i++)
        most = fmaxf(most, fabsf(out[i] - p[i]));
    CHECK(most < 1e-5f, "a line of the input moved by %g", most);
    /* a step edge, inverted, plus noise the input does not have: the noise averages out, the edge stays */
    static float step[N], noisy[N], clean[N];
    double before = 0, after = 0;
    for (int i = 0; i < N; i++) {
        step[i] = i % W < W / 2 ? -0.5f : 0.5f;
        clean[i] = -0.6f * step[i];
        noisy[i] = clean[i] + 0.2f * rng_signed(&st);
    }
    CHECK(mg_image_guided_filter(step, noisy, H, W, 2, 0.02f * 0.02f, out) == MG_OK, "the step failed");
    for (int i = 0; i < N; i++) {
        before += (noisy[i] - clean[i]) * (noisy[i] - clean[i]);
        after += (out[i] - clean[i]) * (out[i] - clean[i]);
    }
    /* each window's line of a step is exact, so the noise enters through means over 5 x 5 windows and their
     * means again: its mean square falls by far more than 4 */
    CHECK(after * 4 < before, "noise kept: mean square %g of %g", after / N, before / N);
    CHECK(fabsf(out[3 * W + W / 2 - 1] - clean[3 * W + W / 2 - 1]) < 0.1f &&
              fabsf(out[3 * W + W / 2] - clean[3 * W + W / 2]) < 0.1f,
          "the edge blurred: %g %g beside %g %g", out[3 * W + W / 2 - 1], out[3 * W + W / 2], clean[3 * W + W / 2 - 1],
          clean[3 * W + W / 2]);
    CHECK(mg_image_guided_filter(g, p, H, W, 0, 0.01f, out) == MG_ERR_ARG &&
              mg_image_guided_filter(g, p, H, W, 1, 0.0f, out) == MG_ERR_ARG,
          "radius 0 or eps 0 accepted");
    group_end("guided filter: the definition at every radius and edge, in place, lines kept, noise off a step");
}

/* A head on noisy black air: a bright scalp ring (radii 13..17), inside it a dark skull band (11..13) and brain
 * (value 0) with a dark hole at its centre. The air is what lies outside the scalp: the dark parts inside are out of
 * the border's reach. */
static void test_air(void)
{
    group_begin();
    enum { H = 48, W = 56, N = H * W };
    static float x[N], y[N], flat[N];
    static unsigned char mask[N];
    mg_rng st;
    mg_rng_seed(&st, 9, 0);
    for (int i = 0; i < N; i++) {
        const double r = hypot(i / W - 24.0, i % W - 28.0);
        x[i] = r > 17 ? -1.0f + 0.02f * mg_rng_uniform(&st) : r > 13 ? 0.6f : r > 11 || r < 3 ? -1.0f : 0.0f;
        y[i] = 0.5f * rng_signed(&st);
    }
    long marked = mg_image_air_mask(x, H, W, 2, mask);
    int outside = 0, inside = 0, counted = 0;
    for (int i = 0; i < N; i++) {
        const double r = hypot(i / W - 24.0, i % W - 28.0);
        outside += r > 21 && !mask[i]; /* windows of radius 2 that hold no scalp */
        inside += r < 13 && mask[i];   /* the skull band and the hole, behind the scalp */
        counted += mask[i];
    }
    CHECK(marked == counted && outside == 0 && inside == 0 && marked > N / 3,
          "air: %ld marked (%d counted), %d far outside the scalp not, %d inside it", marked, counted, outside, inside);
    /* flat at a given level, or at the translation's own mean over the air; the rest bit for bit */
    memcpy(flat, y, sizeof y);
    CHECK(mg_image_flatten_background(x, H, W, 2, -0.75f, flat) == MG_OK, "flatten: %s", mg_last_error());
    double sum = 0;
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        wrong += mask[i] ? flat[i] != -0.75f : flat[i] != y[i];
        sum += mask[i] ? y[i] : 0.0;
    }
    CHECK(wrong == 0, "flatten at -0.75: %d pixels wrong", wrong);
    memcpy(flat, y, sizeof y);
    CHECK(mg_image_flatten_background(x, H, W, 2, NAN, flat) == MG_OK, "flatten: %s", mg_last_error());
    wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += mask[i] ? fabs(flat[i] - sum / marked) > 1e-6 : flat[i] != y[i];
    CHECK(wrong == 0, "flatten at its own mean %g: %d pixels wrong", sum / marked, wrong);
    /* radius 0 looks at single pixels: exactly the air around the scalp */
    int r0_wrong = 0;
    long r0 = mg_image_air_mask(x, H, W, 0, mask);
    for (int i = 0; i < N; i++)
        r0_wrong += mask[i] != (hypot(i / W - 24.0, i % W - 28.0) > 17);
    CHECK(r0 > N / 3 && r0_wrong == 0, "radius 0: %ld marked, %d pixels wrong", r0, r0_wrong);
    /* a slice of air only (above the head) is air throughout */
    for (int i = 0; i < N; i++)
        x[i] = -1.0f + 0.02f * mg_rng_uniform(&st);
    CHECK(mg_image_air_mask(x, H, W, 2, mask) == N, "an empty slice is not all air");
    CHECK(mg_image_flatten_background(x, H, W, -1, 0.0f, flat) == MG_ERR_ARG &&
              mg_image_flatten_background(NULL, H, W, 2, 0.0f, flat) == MG_ERR_ARG,
          "bad arguments accepted");
    group_end("air: the dark part that reaches the border, not the dark inside a scalp; flat at a level or its mean");
}

int main(void)
{
    if (!tmp_dir_make("image"))
        return 1;
    test_round_trip();
    test_colour_types();
    test_corrupt();
    test_geometry();
    test_guided_filter();
    test_air();
    remove_tree(tmp_dir);
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}
