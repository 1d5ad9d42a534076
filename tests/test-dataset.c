/* Tests of datasets: folders of slices listed and sorted, errors that name the folder or file, crop checks,
 * seeded crops and flips, load sizes, whole slices padded, shifted samples, and the shared MRI set when it is present.
 * Temporary files live in a mkdtemp folder under /tmp, removed at the end. Prints one "ok ..." line per group; exits
 * non-zero on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mrigan/image.h"
#include "tmp-files.h"

#include "check.h"

static void save_ramp(const char *path, int w, int h, int seed)
{
    mg_image img;
    CHECK(mg_image_new(w, h, &img) == MG_OK, "new");
    for (int i = 0; i < w * h; i++)
        img.data[i] = (float)(((i + seed) * 2654435761u >> 9) % 255 / 127.0 - 1.0);
    CHECK(mg_image_save_png(path, &img, 8) == MG_OK, "save %s", path);
    mg_image_free(&img);
}

/* Whether out is the size x size crop of img at (x, y), mirrored when flip. */
static bool is_crop(const float *out, const mg_image *img, int x, int y, int size, bool flip)
{
    for (int r = 0; r < size; r++)
        for (int c = 0; c < size; c++)
            if (out[r * size + c] != img->data[(y + r) * img->width + x + (flip ? size - 1 - c : c)])
                return false;
    return true;
}

/* How many pixels of the cw x ch sample out are not img with its first pixel at (x, y) of the crop (negative where
 * the crop starts inside the image), mirrored when flip, black (-1) outside it. */
static int placed_mismatches(const float *out, int cw, int ch, const mg_image *img, int x, int y, bool flip)
{
    int bad = 0;
    for (int r = 0; r < ch; r++)
        for (int c = 0; c < cw; c++) {
            int sx = (flip ? cw - 1 - c : c) - x, sy = r - y; /* the column before the flip */
            bool in = sx >= 0 && sx < img->width && sy >= 0 && sy < img->height;
            bad += out[r * cw + c] != (in ? img->data[sy * img->width + sx] : -1.0f);
        }
    return bad;
}

static void test_dataset(void)
{
    int before = failures;
    char path[512], dir[512];
    tmp_path(dir, "ds");
    CHECK(mkdir(dir, 0755) == 0 && mkdir(tmp_path(path, "ds/sub.png"), 0755) == 0, "mkdir");
    save_ramp(tmp_path(path, "ds/b.png"), 41, 52, 1);
    save_ramp(tmp_path(path, "ds/a.png"), 40, 50, 2);
    save_ramp(tmp_path(path, "ds/C.PNG"), 40, 50, 3);
    write_bytes(tmp_path(path, "ds/notes.txt"), "not an image", 12);
    mg_dataset *d = NULL;
    CHECK(mg_dataset_load(dir, MG_SLICE_AXIAL, &d) == MG_OK, "load %s", dir);
    CHECK(mg_dataset_count(d) == 3, "%d images, expected 3", mg_dataset_count(d));
    const char *want[] = {"C.PNG", "a.png", "b.png"};
    for (int i = 0; d && i < 3; i++)
        CHECK(mg_dataset_name(d, i) && !strcmp(mg_dataset_name(d, i), want[i]), "image %d is %s, expected %s", i,
              mg_dataset_name(d, i), want[i]);
    CHECK(!mg_dataset_image(d, 3) && !mg_dataset_name(d, -1), "out-of-range index");
    mg_image a;
    CHECK(mg_image_load_png(tmp_path(path, "ds/a.png"), &a) == MG_OK, "load a.png");
    const mg_image *da = mg_dataset_image(d, 1);
    CHECK(da && da->width == 40 && da->height == 50 && !memcmp(da->data, a.data, sizeof(float) * 40 * 50),
          "a.png differs in the dataset");
    mg_image_free(&a);

    mg_dataset *e = NULL;
    CHECK(error_names(mg_dataset_load(tmp_path(path, "nope"), MG_SLICE_AXIAL, &e), path) && !e, "missing folder");
    CHECK(error_names(mg_dataset_load(tmp_path(path, "ds/a.png"), MG_SLICE_AXIAL, &e), path), "a file as the folder");
    CHECK(mkdir(tmp_path(path, "empty"), 0755) == 0, "mkdir");
    CHECK(error_names(mg_dataset_load(path, MG_SLICE_AXIAL, &e), path) && strstr(mg_last_error(), "no inputs"),
          "empty folder");
    CHECK(mkdir(tmp_path(path, "bad"), 0755) == 0, "mkdir");
    save_ramp(tmp_path(path, "bad/good.png"), 8, 8, 4);
    write_bytes(tmp_path(path, "bad/zz.png"), "\x89PNG\r\n\x1a\nnonsense", 16);
    CHECK(error_names(mg_dataset_load(tmp_path(path, "bad"), MG_SLICE_AXIAL, &e), "bad/zz.png") && !e,
          "corrupt PNG in a folder");

    mg_crop_config cfg = {.width = 41, .height = 41};
    CHECK(error_names(mg_dataset_check_crop(d, &cfg), "C.PNG") && strstr(mg_last_error(), "40x50"),
          "41 crop of a 40x50 image");
    float out[41 * 41], ref[41 * 41];
    mg_rng rng, copy;
    mg_rng_seed(&rng, 1, 1);
    CHECK(mg_dataset_sample(d, 1, &cfg, &rng, out) == MG_ERR_ARG, "sample larger than the image");
    cfg = (mg_crop_config){.width = 40, .height = 40};
    CHECK(mg_dataset_check_crop(d, &cfg) == MG_OK, "40 crop");
    cfg = (mg_crop_config){.width = 41, .height = 41, .load_size = 64};
    CHECK(mg_dataset_check_crop(d, &cfg) == MG_OK, "41 crop after resizing to 64");
    cfg.load_size = 30;
    CHECK(mg_dataset_check_crop(d, &cfg) == MG_ERR_ARG, "41 crop after resizing to 30");

    /* Same seed, same crops; another seed, other crops. */
    cfg = (mg_crop_config){.width = 16, .height = 16, .flip = true};
    float run[2][6][16 * 16];
    for (int k = 0; k < 2; k++) {
        mg_rng_seed(&rng, 7, 3);
        for (int j = 0; j < 6; j++)
            CHECK(mg_dataset_sample(d, j % 3, &cfg, &rng, run[k][j]) == MG_OK, "sample");
    }
    CHECK(!memcmp(run[0], run[1], sizeof run[0]), "same seed, different samples");
    mg_rng_seed(&rng, 8, 3);
    for (int j = 0; j < 6; j++)
        CHECK(mg_dataset_sample(d, j % 3, &cfg, &rng, run[1][j]) == MG_OK, "sample");
    CHECK(memcmp(run[0], run[1], sizeof run[0]), "another seed, same samples");

    /* Pixels are the source's at the drawn offset (x, y, then the flip only when flips are on). */
    int flips = 0, bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        cfg = (mg_crop_config){.width = 16, .height = 16, .flip = pass == 1};
        for (int j = 0; j < 60; j++) {
            int i = j % 3;
            const mg_image *img = mg_dataset_image(d, i);
            copy = rng;
            int x = (int)mg_rng_below(&copy, (uint32_t)(img->width - 15));
            int y = (int)mg_rng_below(&copy, (uint32_t)(img->height - 15));
            bool flip = cfg.flip && mg_rng_uniform(&copy) < 0.5f;
            flips += flip;
            CHECK(mg_dataset_sample(d, i, &cfg, &rng, out) == MG_OK, "sample");
            bad += !is_crop(out, img, x, y, 16, flip) || rng.state != copy.state;
            if (!cfg.flip && is_crop(out, img, x, y, 16, true) && !is_crop(out, img, x, y, 16, false))
                bad++;
        }
    }
    CHECK(bad == 0, "%d samples are not the crop drawn from the generator", bad);
    CHECK(flips > 10 && flips < 50, "%d flips in 60 samples", flips);

    /* With a load size: the crop of the resized image, the same on a second call (from the cache). */
    cfg = (mg_crop_config){.width = 16, .height = 16, .load_size = 24};
    mg_image resized;
    CHECK(mg_image_resize(mg_dataset_image(d, 2), 24, 24, &resized) == MG_OK, "resize");
    for (int k = 0; k < 2; k++) {
        mg_rng_seed(&rng, 5, 5);
        copy = rng;
        int x = (int)mg_rng_below(&copy, 9), y = (int)mg_rng_below(&copy, 9);
        CHECK(mg_dataset_sample(d, 2, &cfg, &rng, ref) == MG_OK && is_crop(ref, &resized, x, y, 16, false),
              "sample of the resized image (call %d)", k + 1);
    }
    cfg.load_size = 20; /* another load size empties the cache */
    CHECK(mg_dataset_sample(d, 2, &cfg, &rng, ref) == MG_OK, "sample at another load size");
    CHECK(mg_dataset_image(d, 2)->width == 41, "the dataset's own image was changed");
    mg_image_free(&resized);

    /* Whole slices: the extent holds every image; with pad, smaller sides are placed at the drawn offset. */
    int ew = 0, eh = 0;
    mg_dataset_extent(d, 0, &ew, &eh);
    CHECK(ew == 41 && eh == 52, "extent %dx%d, expected 41x52", ew, eh);
    mg_dataset_extent(d, 64, &ew, &eh);
    CHECK(ew == 64 && eh == 64, "extent %dx%d with load size 64, expected 64x64", ew, eh);
    cfg = (mg_crop_config){.width = 44, .height = 56};
    CHECK(error_names(mg_dataset_check_crop(d, &cfg), "C.PNG"), "44x56 crop without padding");
    cfg.pad = true;
    CHECK(mg_dataset_check_crop(d, &cfg) == MG_OK, "44x56 crop with padding");
    bad = flips = 0;
    static float big[2 * 56 * 44];
    for (int j = 0; j < 30; j++) {
        /* 44x56 around every image, then 36 wide (cropped across, padded down) */
        cfg = (mg_crop_config){.width = j < 15 ? 44 : 36, .height = 56, .flip = true, .pad = true};
        const mg_image *img = mg_dataset_image(d, j % 3);
        copy = rng;
        int x = (int)mg_rng_below(&copy, (uint32_t)abs(img->width - cfg.width) + 1);
        int y = (int)mg_rng_below(&copy, (uint32_t)(56 - img->height + 1));
        bool flip = mg_rng_uniform(&copy) < 0.5f;
        flips += flip;
        CHECK(mg_dataset_sample(d, j % 3, &cfg, &rng, big) == MG_OK, "padded sample");
        bad += rng.state != copy.state;
        bad += placed_mismatches(big, cfg.width, 56, img, img->width < cfg.width ? x : -x, y, flip);
    }
    CHECK(bad == 0, "%d pixels of padded samples are not the image at the drawn offset, black elsewhere", bad);
    CHECK(flips > 3 && flips < 27, "%d flips in 30 padded samples", flips);
    /* an image of the crop's own size: padding changes nothing, draws included */
    cfg = (mg_crop_config){.width = 40, .height = 50, .flip = true};
    mg_rng_seed(&rng, 9, 9);
    copy = rng;
    CHECK(mg_dataset_sample(d, 1, &cfg, &rng, big) == MG_OK, "sample");
    cfg.pad = true;
    CHECK(mg_dataset_sample(d, 1, &cfg, &copy, big + 2000) == MG_OK, "padded sample");
    CHECK(!memcmp(big, big + 2000, sizeof(float) * 40 * 50) && rng.state == copy.state,
          "a padded crop of an image of the crop's size differs from the plain one");
    mg_dataset_free(d);
    report(before,
           "datasets: listing, sorting, errors naming folder/file, check_crop, seeded crops and flips, load size, "
           "whole slices padded");
}

/* --shift s: every sample is the image framed by s black pixels, placed at the drawn offset (then the flip), so
 * an image of the crop's own size moves by up to s pixels each way, and each of the 2s + 1 moves occurs. */
static void test_shift(void)
{
    int before = failures;
    char path[512], dir[512];
    tmp_path(dir, "shift");
    CHECK(mkdir(dir, 0755) == 0, "mkdir");
    save_ramp(tmp_path(path, "shift/a.png"), 40, 50, 5);
    save_ramp(tmp_path(path, "shift/b.png"), 30, 50, 6);
    mg_dataset *d = NULL;
    CHECK(mg_dataset_load(dir, MG_SLICE_AXIAL, &d) == MG_OK, "load %s", dir);
    mg_rng rng, copy;
    mg_rng_seed(&rng, 3, 4);
    static float out[40 * 50];
    const int s = 3, cw = 40, ch = 50;
    int bad = 0, seen[2 * 3 + 1] = {0}, flips = 0;
    for (int j = 0; d && j < 300; j++) {
        const int i = j % 2;
        const mg_image *img = mg_dataset_image(d, i);
        mg_crop_config cfg = {.width = cw, .height = ch, .flip = true, .pad = true, .shift = s};
        copy = rng;
        /* where the image's first pixel lands: framed by s, then cropped from or placed in the crop */
        int fw = img->width + 2 * s, fh = img->height + 2 * s;
        int ox = (int)mg_rng_below(&copy, (uint32_t)abs(fw - cw) + 1);
        int oy = (int)mg_rng_below(&copy, (uint32_t)abs(fh - ch) + 1);
        int x = s + (fw >= cw ? -ox : ox), y = s + (fh >= ch ? -oy : oy);
        bool flip = mg_rng_uniform(&copy) < 0.5f;
        flips += flip;
        CHECK(mg_dataset_sample(d, i, &cfg, &rng, out) == MG_OK, "shifted sample");
        bad += rng.state != copy.state;
        if (i == 0)
            seen[y + s]++;
        bad += placed_mismatches(out, cw, ch, img, x, y, flip);
    }
    CHECK(bad == 0, "%d pixels of shifted samples are not the framed image at the drawn offset", bad);
    for (int k = 0; k <= 2 * s; k++)
        CHECK(seen[k] > 0, "no sample of the 40x50 image moved by %d rows", k - s);
    CHECK(flips > 100 && flips < 200, "%d flips in 300 shifted samples", flips);
    mg_crop_config neg = {.width = cw, .height = ch, .shift = -1};
    CHECK(mg_dataset_sample(d, 0, &neg, &rng, out) == MG_ERR_ARG, "a negative shift accepted");
    mg_dataset_free(d);
    report(before, "datasets: --shift frames each sample in black and moves it up to the shift each way");
}

static void test_shared_data(void)
{
    const char *root = getenv("MRIGAN_SOURCE_DIR");
#ifdef MRIGAN_SOURCE_DIR
    if (!root)
        root = MRIGAN_SOURCE_DIR;
#endif
    char dir[1024];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/../shared/data/mri-t1t2", root ? root : ".");
    if (!root) {
        printf("skip shared MRI data: MRIGAN_SOURCE_DIR (the source tree) is not set\n");
        return;
    }
    if (stat(dir, &st) != 0) {
        printf("skip shared MRI data: %s not found\n", dir);
        return;
    }
    int before = failures;
    static const struct {
        const char *sub;
        int count;
    } sets[] = {{"Tr1/TrainT1", 43}, {"Tr2/TrainT2", 46}};
    for (int k = 0; k < 2; k++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", dir, sets[k].sub);
        mg_dataset *d = NULL;
        CHECK(mg_dataset_load(path, MG_SLICE_AXIAL, &d) == MG_OK, "load %s", path);
        CHECK(mg_dataset_count(d) == sets[k].count, "%s: %d images", path, mg_dataset_count(d));
        int bad = 0;
        for (int i = 0; i < mg_dataset_count(d); i++) {
            const mg_image *img = mg_dataset_image(d, i);
            bad += img->width != 181 || img->height != 217;
            for (int j = 0; j < 181 * 217 && !bad; j++)
                bad += !(img->data[j] >= -1.0f && img->data[j] <= 1.0f);
        }
        CHECK(bad == 0, "%s: %d images not 181x217 in [-1, 1]", path, bad);
        mg_dataset_free(d);
    }
    report(before, "shared MRI set: 43 T1 and 46 T2 slices of 181x217");
}

int main(void)
{
    if (!tmp_dir_make("dataset"))
        return 1;
    test_dataset();
    test_shift();
    test_shared_data();
    remove_tree(tmp_dir);
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}
