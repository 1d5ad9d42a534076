/* Groups 3 to 6 of the command-line tests (see test-cli.c): translate, error cases, SIGINT, validation. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "mrigan/checkpoint.h"
#include "mrigan/cyclegan.h"
#include "mrigan/image.h"

#include "cli.h"

/* A small model for the runs that fail before training (the model is built before the data is checked). */
static char *small_opts[] = {"--ngf", "4", "--ndf", "4", "--backend", "cpu", "--threads", THREADS, NULL};

/* ------------------------------------------------------------------ 3. translate */
static bool write_test_image(const char *path, int w, int h)
{
    mg_image img = {0};
    if (mg_image_new(w, h, &img) != MG_OK)
        return false;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = (x - 0.45 * w) / (0.35 * w), v = (y - 0.5 * h) / (0.4 * h), r2 = u * u + v * v;
            img.data[(size_t)y * w + x] = (float)(r2 < 1 ? 0.6 * cos(3 * u) * (1 - r2) + 0.2 * sin(5 * v) : -1);
        }
    bool ok = mg_image_save_png(path, &img, 8) == MG_OK;
    mg_image_free(&img);
    return ok;
}

/* The largest difference between two PNGs of the same size (INFINITY when they cannot be compared). */
static double png_max_diff(const char *a, const char *b)
{
    mg_image x = {0}, y = {0};
    double d = INFINITY;
    if (mg_image_load_png(a, &x) == MG_OK && mg_image_load_png(b, &y) == MG_OK && x.width == y.width &&
        x.height == y.height) {
        d = 0;
        for (size_t i = 0; i < (size_t)x.width * x.height; i++)
            d = fmax(d, fabs((double)x.data[i] - y.data[i]));
    }
    mg_image_free(&x);
    mg_image_free(&y);
    return d;
}

/* What the library makes of input through checkpoint ckpt, direction d: pad to the generator's multiple,
 * translate (flip: -1 as the checkpoint says, 0 one pass, 1 the flip average; guide: -1 as the checkpoint says, else
 * the guided filter's radius; background: -1 as the checkpoint says, else MG_BACKGROUND_*), crop back; the largest
 * difference to the program's output png. */
static double library_diff(const char *ckpt, int d, int flip, int guide, int background, const char *input,
                           const char *png)
{
    mg_ckpt c;
    mg_cyclegan_config cfg;
    mg_backend *be = NULL;
    mg_cyclegan m;
    bool have_model = false;
    mg_image in = {0}, padded = {0}, y = {0}, want = {0}, got = {0};
    int ox, oy;
    double diff = INFINITY;
    mg_status s = mg_ckpt_load(ckpt, &c);
    if (s == MG_OK)
        s = mg_cyclegan_config_load(&c, &cfg);
    if (s == MG_OK)
        s = mg_backend_cpu_new(1, &be);
    if (s == MG_OK && (s = mg_cyclegan_new(be, &cfg, 0, &m)) == MG_OK)
        have_model = true;
    if (s == MG_OK)
        s = mg_cyclegan_load(&m, &c, false);
    if (s == MG_OK && flip >= 0)
        mg_cyclegan_set_flip_average(&m, flip);
    if (s == MG_OK && guide >= 0)
        mg_cyclegan_set_guide(&m, guide, MG_GUIDE_EPS_DEFAULT);
    if (s == MG_OK && background >= 0)
        mg_cyclegan_set_background(&m, (mg_background)background);
    if (s == MG_OK)
        s = mg_image_load_png(input, &in);
    if (s == MG_OK)
        s = mg_image_pad_to_multiple(&in, mg_generator_multiple(&cfg.gen), &padded, &ox, &oy);
    if (s == MG_OK)
        s = mg_image_new(padded.width, padded.height, &y);
    if (s == MG_OK)
        s = mg_cyclegan_translate(&m, d, padded.data, padded.height, padded.width, y.data);
    if (s == MG_OK)
        s = mg_image_crop(&y, ox, oy, in.width, in.height, &want);
    if (s == MG_OK)
        s = mg_image_load_png(png, &got);
    if (s == MG_OK && got.width == want.width && got.height == want.height) {
        diff = 0;
        for (size_t i = 0; i < (size_t)got.width * got.height; i++)
            diff = fmax(diff, fabs((double)got.data[i] - want.data[i]));
    }
    mg_image_free(&in);
    mg_image_free(&padded);
    mg_image_free(&y);
    mg_image_free(&want);
    mg_image_free(&got);
    if (have_model)
        mg_cyclegan_free(&m);
    mg_backend_free(be);
    mg_ckpt_free(&c);
    return diff;
}

void test_translate(void)
{
    char ckpt[1024];
    snprintf(ckpt, sizeof ckpt, "%s", tp("R1/latest.ckpt"));
    REQUIRE(exists(ckpt), "group 3 needs the run of group 1");
    mkdir(tp("in"), 0777);
    REQUIRE(write_test_image(tp("in/odd1.png"), 181, 217) && write_test_image(tp("in/odd2.png"), 37, 23) &&
                write_file(tp("in/notes.txt"), "not an image\n", 13),
            "cannot write the inputs");
    static const struct {
        const char *name;
        int w, h;
    } imgs[] = {{"odd1.png", 181, 217}, {"odd2.png", 37, 23}};
    const double q8 = 1.0 / 255 + 1e-4, q16 = 1.0 / 65535 + 1e-4; /* half a quantisation step, and some */

    int rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("out8"),
                    tp("in"), NULL);
    REQUIRE(rc == 0, "translate a2b exited with %d", rc);
    CHECK(err_has("2 slices and 0 volumes"), "translate should count 2 slices");
    CHECK(count_files(tp("out8")) == 2, "out8 should hold exactly the 2 translated PNGs");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--16bit", "--out",
                tp("out16"), tp("in"), NULL);
    CHECK(rc == 0, "translate --16bit exited with %d", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "b2a", "--out",
                tp("new/outba"), tp("in"), NULL);
    CHECK(rc == 0 && err_has("B->A"), "translate b2a into new/outba (new/ made too) exited with %d", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("again"),
                tp("in/odd1.png"), tp("in/odd2.png"), NULL);
    CHECK(rc == 0, "translate of two files exited with %d", rc);
    for (size_t i = 0; i < sizeof imgs / sizeof *imgs; i++) {
        const char *name = imgs[i].name;
        char in[1024], o8[1024];
        snprintf(in, sizeof in, "%s", tp("in/%s", name));
        snprintf(o8, sizeof o8, "%s", tp("out8/%s", name));
        int w = imgs[i].w, h = imgs[i].h;
        CHECK(png_size_is(o8, w, h), "out8/%s should be %dx%d", name, w, h);
        CHECK(png_size_is(tp("out16/%s", name), w, h), "out16/%s should be %dx%d", name, w, h);
        CHECK(png_size_is(tp("new/outba/%s", name), w, h), "new/outba/%s should be %dx%d", name, w, h);
        CHECK(png_bit_depth(o8) == 8, "out8/%s: bit depth %d", name, png_bit_depth(o8));
        CHECK(png_bit_depth(tp("out16/%s", name)) == 16, "out16/%s: bit depth %d", name,
              png_bit_depth(tp("out16/%s", name)));
        CHECK(files_equal(o8, tp("again/%s", name)), "translating %s twice gave different files", name);
        double d16 = png_max_diff(o8, tp("out16/%s", name)), dba = png_max_diff(o8, tp("new/outba/%s", name));
        CHECK(d16 <= q8 + q16, "%s: 8- and 16-bit outputs differ by %g", name, d16);
        CHECK(dba > 0.01 && isfinite(dba), "%s: a2b and b2a outputs should differ (%g)", name, dba);
        double dl = library_diff(ckpt, 0, -1, -1, -1, in, o8);
        CHECK(dl <= q8, "%s: a2b differs from the library's pad-translate-crop by %g", name, dl);
        dl = library_diff(ckpt, 1, -1, -1, -1, in, tp("new/outba/%s", name));
        CHECK(dl <= q8, "%s: b2a differs from the library's pad-translate-crop by %g", name, dl);
    }
    /* the run trained with the default flip average: one pass on request, as the library's, and not the same */
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--flip-average", "off",
                "--out", tp("onepass"), tp("in/odd1.png"), NULL);
    CHECK(rc == 0 && library_diff(ckpt, 0, 0, -1, -1, tp("in/odd1.png"), tp("onepass/odd1.png")) <= q8 &&
              png_max_diff(tp("onepass/odd1.png"), tp("out8/odd1.png")) > 0.01,
          "translate --flip-average off: exit %d, not the library's one pass or the same as the flip average", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--flip-average", "on",
                "--out", tp("flipped"), tp("in/odd1.png"), NULL);
    CHECK(rc == 0 && files_equal(tp("flipped/odd1.png"), tp("out8/odd1.png")),
          "translate --flip-average on: exit %d, not the checkpoint's own (auto) translation", rc);
    /* the run trained with the default guided filter (radius 1): radius 2 on request, as the library's, and not the
     * same */
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--guide-radius", "2",
                "--out", tp("guided"), tp("in/odd1.png"), NULL);
    CHECK(rc == 0 && library_diff(ckpt, 0, -1, 2, -1, tp("in/odd1.png"), tp("guided/odd1.png")) <= q8 &&
              png_max_diff(tp("guided/odd1.png"), tp("out8/odd1.png")) > 0.01,
          "translate --guide-radius 2: exit %d, not the library's guided translation or the same as without", rc);
    /* the run trained with the default flat background: the generator's own air on request, as the library's */
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--background", "keep",
                "--out", tp("kept"), tp("in/odd1.png"), NULL);
    CHECK(rc == 0 && library_diff(ckpt, 0, -1, -1, MG_BACKGROUND_KEEP, tp("in/odd1.png"), tp("kept/odd1.png")) <= q8 &&
              png_max_diff(tp("kept/odd1.png"), tp("out8/odd1.png")) > 0.01,
          "translate --background keep: exit %d, not the library's translation or the same as the flat one", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--guide-radius", "9",
                "--out", tp("guided9"), tp("in/odd1.png"), NULL);
    CHECK(rc == 2 && err_has("--guide-radius") && !exists(tp("guided9")),
          "translate --guide-radius 9 (above the largest, 8): exit %d, want 2 naming the option and nothing written",
          rc);
    /* a weights-only snapshot and a checkpoint of another depth (64x64 crops: multiple 64) */
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("R1/epoch_%03d.ckpt", RUN1_EPOCHS),
                "--direction", "a2b", "--out", tp("snap"), tp("in/odd2.png"), NULL);
    CHECK(rc == 0 && files_equal(tp("snap/odd2.png"), tp("out8/odd2.png")),
          "translate with epoch_%03d.ckpt: exit %d, output should equal latest.ckpt's", RUN1_EPOCHS, rc);
    if (exists(tp("A/latest.ckpt"))) {
        rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("A/latest.ckpt"), "--direction", "b2a",
                    "--out", tp("deep"), tp("in"), NULL);
        CHECK(rc == 0 && png_size_is(tp("deep/odd1.png"), 181, 217) && png_size_is(tp("deep/odd2.png"), 37, 23),
              "translate with a depth-6 checkpoint: exit %d or wrong sizes", rc);
        CHECK(library_diff(tp("A/latest.ckpt"), 1, -1, -1, -1, tp("in/odd2.png"), tp("deep/odd2.png")) <= q8,
              "depth-6 b2a differs from the library's pad-translate-crop");
    }
}

/* ------------------------------------------------------------------ 4. errors */
/* Inverts the middle byte of a file (inside a tensor's data for a checkpoint). */
static bool flip_middle_byte(const char *path)
{
    size_t n;
    unsigned char *b = read_file(path, &n);
    bool ok = b && n > 0;
    if (ok) {
        b[n / 2] ^= 0xFF;
        ok = write_file(path, b, n);
    }
    free(b);
    return ok;
}

/* A copy of a checkpoint claiming format version `version`, with a valid CRC. */
static bool write_version(const char *from, const char *to, uint32_t version)
{
    size_t n;
    unsigned char *b = read_file(from, &n);
    bool ok = b && n > 28;
    if (ok) {
        for (int i = 0; i < 4; i++)
            b[8 + i] = (unsigned char)(version >> 8 * i);
        uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), b, (uInt)(n - 4));
        for (int i = 0; i < 4; i++)
            b[n - 4 + i] = (unsigned char)(crc >> 8 * i);
        ok = write_file(to, b, n);
    }
    free(b);
    return ok;
}

void test_errors(void)
{
    char ckpt[1024], pa[1024], pb[1024], in[1024], missing[1024];
    snprintf(ckpt, sizeof ckpt, "%s", tp("R1/latest.ckpt"));
    snprintf(pa, sizeof pa, "%s", tp("P/T1"));
    snprintf(pb, sizeof pb, "%s", tp("P/T2"));
    snprintf(in, sizeof in, "%s", tp("in/odd2.png"));
    snprintf(missing, sizeof missing, "%s", tp("no-such-folder"));
    REQUIRE(exists(ckpt) && exists(in), "group 4 needs the runs of groups 1 and 3");
    size_t n_snap;
    unsigned char *snap = read_file(ckpt, &n_snap);
    int rc;

    /* a backend that cannot be opened (no such device, or no OpenCL in this build): a message, no crash */
    rc = mrigan("bench", "train", "--backend", "opencl", "--device", "99", "--iters", "1", NULL);
    CHECK(rc == 1 && err_has("opencl:"), "bench train on OpenCL device 99: exit %d (want 1, naming opencl)", rc);
    /* both recipes time real steps (the default one's contrast prior needs the maps bench train gives it), each
     * with its own network unless an option replaces it */
    const char *recipes[2][3] = {{"standard", "\"generator\": \"unet\", ", "\"ngf\": 4, \"ndf\": 64,"},
                                 {"default", "\"generator\": \"resnet\", ", "\"ngf\": 4, \"ndf\": 32,"}};
    for (int k = 0; k < 2; k++) {
        rc = mrigan("bench", "train", "--recipe", recipes[k][0], "--size", "32", "--ngf", "4", "--iters", "1",
                    "--warmup", "0", "--profile", k ? "1" : "0", ARGS_SPLICE, cpu_opts, NULL);
        char *out = (char *)read_file(tp(".stdout"), NULL);
        CHECK(rc == 0 && out && strstr(out, recipes[k][1]) && strstr(out, recipes[k][2]) &&
                  strstr(out, "\"train_iter_s_median\": "),
              "bench train --recipe %s: exit %d, %.200s", recipes[k][0], rc, out ? out : last_err);
        /* the training state is parameters, gradients and two moments, 16 bytes a parameter; --profile 0 leaves the
         * per-op times out, --profile 1 has them */
        const char *total = out ? strstr(out, "\"params_total\": ") : NULL,
                   *state = out ? strstr(out, "\"state_mb\": ") : NULL;
        double n_params = total ? atof(total + 16) : 0.0, state_mb = state ? atof(state + 12) : 0.0;
        CHECK(n_params > 0 && fabs(state_mb - 16.0 * n_params / 1048576.0) < 0.06,
              "bench train: state_mb %g for %g parameters", state_mb, n_params);
        CHECK(out && (strstr(out, "\"ops_ms_per_iter\": {}") != NULL) == (k == 0) && strstr(out, "\"sys_share\": "),
              "bench train --profile %d: %.300s", k, out ? out : last_err);
        free(out);
    }
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e0"), "--size", "32", "--backend", "opencl", "--device",
                "99", NULL);
    CHECK(rc != 0 && err_has("opencl:") && !exists(tp("e0/latest.ckpt")), "train on OpenCL device 99: exit %d", rc);

    /* options */
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e0"), "--bogus-flag", NULL);
    CHECK(rc == 2 && err_has("--bogus-flag"), "train --bogus-flag: exit %d (want 2, naming the flag)", rc);
    CHECK(!exists(tp("e0")), "a refused command should create nothing");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("e0"),
                "--colour", tp("in"), NULL);
    CHECK(rc == 2 && err_has("--colour"), "translate --colour: exit %d (want 2, naming the flag)", rc);
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e0"), "--size", "big", NULL);
    CHECK(rc == 2 && err_has("--size"), "train --size big: exit %d (want 2, naming --size)", rc);
    rc = mrigan("train", "--a", pa, "--out", tp("e0"), NULL);
    CHECK(rc == 2 && err_has("--b"), "train --a without --b: exit %d (want 2, naming --b)", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--out", tp("e0"), tp("in"), NULL);
    CHECK(rc == 2 && err_has("--direction"), "translate without --direction: exit %d (want 2)", rc);
    rc = mrigan("frobnicate", NULL);
    CHECK(rc == 2 && err_has("frobnicate"), "unknown command: exit %d (want 2)", rc);

    /* training data */
    rc = mrigan("train", "--a", missing, "--b", pb, "--out", tp("e1"), "--size", "32", ARGS_SPLICE, small_opts, NULL);
    CHECK(rc == 1 && err_has(missing), "train --a <missing folder>: exit %d (want 1, naming the folder)", rc);
    CHECK(!exists(tp("e1/latest.ckpt")), "a failed run should write no checkpoint");
    mkdir(tp("empty"), 0777);
    rc = mrigan("train", "--a", pa, "--b", tp("empty"), "--out", tp("e2"), "--size", "32", ARGS_SPLICE, small_opts,
                NULL);
    CHECK(rc == 1 && err_has(tp("empty")) && err_has("png"),
          "train --b <folder without images>: exit %d (want 1, naming the folder)", rc);
    mkdir(tp("badA"), 0777);
    for (int i = 0; i < 3; i++)
        CHECK(copy_file(tp("P/T1/phantom_%03d.png", i), tp("badA/phantom_%03d.png", i)), "copying a slice");
    CHECK(write_file(tp("badA/x.png"), "this is not a PNG\n", 18), "writing x.png");
    rc =
        mrigan("train", "--a", tp("badA"), "--b", pb, "--out", tp("e3"), "--size", "32", ARGS_SPLICE, small_opts, NULL);
    CHECK(rc == 1 && err_has(tp("badA/x.png")), "train with a text file x.png: exit %d (want 1, naming it)", rc);
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e4"), "--size", "256", ARGS_SPLICE, small_opts, NULL);
    CHECK(rc == 1 && err_has("smaller than") && err_has("phantom_000.png"),
          "--size 256 on 64x64 slices: exit %d (want 1, 'smaller than the crop')", rc);
    rc = mrigan("train", "--a", pa, "--b", pb, "--out", tp("e5"), "--size", "48", "--generator", "unet", ARGS_SPLICE,
                small_opts, NULL);
    CHECK(rc == 2 && err_has("multiple"), "--size 48 (not a multiple of 32 for the unet): exit %d (want 2)", rc);

    /* checkpoints for translate */
    CHECK(write_file(tp("garbage.ckpt"), "MRIGAN? no, just text\n", 22), "writing garbage.ckpt");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("garbage.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("garbage.ckpt")), "translate with a garbage checkpoint: exit %d (want 1)", rc);
    CHECK(count_files(tp("e6")) <= 0, "a failed translate should write no image");
    CHECK(write_version(ckpt, tp("v2.ckpt"), MG_CKPT_VERSION + 1), "writing v2.ckpt");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("v2.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("v2.ckpt")) && err_has("version"),
          "translate with a version-%d checkpoint: exit %d (want 1, naming the file and the version)",
          MG_CKPT_VERSION + 1, rc);
    CHECK(copy_file(ckpt, tp("crc.ckpt")) && flip_middle_byte(tp("crc.ckpt")), "writing crc.ckpt");
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("crc.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("crc.ckpt")) && err_has("CRC"),
          "translate with a damaged checkpoint: exit %d (want 1, naming the file and the CRC)", rc);
    mg_ckpt other;
    mg_ckpt_init(&other);
    float one = 1;
    CHECK(mg_ckpt_set(&other, "format", "something-else") == MG_OK &&
              mg_ckpt_add(&other, "w", 1, (int[]){1}, &one) == MG_OK && mg_ckpt_save(&other, tp("other.ckpt")) == MG_OK,
          "writing other.ckpt");
    mg_ckpt_free(&other);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("other.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("other.ckpt")), "translate with a valid non-CycleGAN checkpoint: exit %d (want 1)", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", tp("no-such.ckpt"), "--direction", "a2b", "--out",
                tp("e6"), in, NULL);
    CHECK(rc == 1 && err_has(tp("no-such.ckpt")), "translate with a missing checkpoint: exit %d (want 1)", rc);
    CHECK(count_files(tp("e6")) <= 0, "failed translations should write no image");

    /* inputs for translate */
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("e7"),
                tp("in/none.png"), NULL);
    CHECK(rc == 1 && err_has(tp("in/none.png")), "translate of a missing file: exit %d (want 1, naming it)", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("e7"),
                tp("empty"), NULL);
    CHECK(rc == 1 && err_has(tp("empty")), "translate of a folder without images: exit %d (want 1, naming it)", rc);
    rc = mrigan("translate", ARGS_SPLICE, cpu_opts, "--checkpoint", ckpt, "--direction", "a2b", "--out", tp("e7"),
                tp("badA/x.png"), NULL);
    CHECK(rc == 1 && err_has(tp("badA/x.png")), "translate of a text file: exit %d (want 1, naming it)", rc);
    CHECK(!exists(tp("e7/x.png")) && !exists(tp("e7/none.png")), "failed translations should write no image");

    /* resume */
    mkdir(tp("broken"), 0777);
    CHECK(copy_file(ckpt, tp("broken/latest.ckpt")) && copy_file(tp("R1/losses.csv"), tp("broken/losses.csv")) &&
              flip_middle_byte(tp("broken/latest.ckpt")),
          "writing broken/");
    size_t n_broken;
    unsigned char *broken = read_file(tp("broken/latest.ckpt"), &n_broken);
    rc = mrigan("train", "--resume", tp("broken"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has(tp("broken/latest.ckpt")) && err_has("CRC"),
          "--resume from a damaged latest.ckpt: exit %d (want 1, naming the file and the CRC)", rc);
    unsigned char *broken_after = read_file(tp("broken/latest.ckpt"), NULL);
    CHECK(broken && broken_after && !memcmp(broken, broken_after, n_broken), "a failed resume rewrote latest.ckpt");
    CHECK(files_equal(tp("broken/losses.csv"), tp("R1/losses.csv")), "a failed resume changed losses.csv");
    free(broken);
    free(broken_after);
    CHECK(copy_file(tp("R1/epoch_%03d.ckpt", RUN1_EPOCHS), tp("broken/latest.ckpt")), "copying a snapshot");
    rc = mrigan("train", "--resume", tp("broken"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has(tp("broken/latest.ckpt")),
          "--resume from a weights-only snapshot: exit %d (want 1, naming the file)", rc);
    rc = mrigan("train", "--resume", tp("empty"), NULL);
    CHECK(rc == 1 && err_has(tp("empty/latest.ckpt")), "--resume from a folder without a run: exit %d", rc);
    /* A run setting outside its range in a checkpoint whose CRC is valid: refused, naming the key. */
    static const char *const bad_keys[][2] = {{"run.best_metric", "7"}, {"run.save_every", "0"}, {"run.flip", "2"}};
    for (int i = 0; i < 3; i++) {
        mg_ckpt c;
        bool made = mg_ckpt_load(ckpt, &c) == MG_OK;
        made = made && mg_ckpt_set(&c, bad_keys[i][0], bad_keys[i][1]) == MG_OK &&
               mg_ckpt_save(&c, tp("broken/latest.ckpt")) == MG_OK;
        mg_ckpt_free(&c); /* empty after a failed load */
        rc = made ? mrigan("train", "--resume", tp("broken"), ARGS_SPLICE, cpu_opts, NULL) : -1;
        CHECK(rc == 1 && err_has(bad_keys[i][0]), "--resume with %s=%s: exit %d (want 1, naming the key)",
              bad_keys[i][0], bad_keys[i][1], rc);
    }

    /* nothing damaged */
    size_t n_now;
    unsigned char *now = read_file(ckpt, &n_now);
    CHECK(snap && now && n_snap == n_now && !memcmp(snap, now, n_now), "R1/latest.ckpt changed");
    CHECK(ckpt_entries(ckpt) > 0, "R1/latest.ckpt no longer loads");
    free(snap);
    free(now);
}

/* ------------------------------------------------------------------ 5. SIGINT */
void test_interrupt(void)
{
    pid_t pid =
        mrigan_start("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--out", tp("I"), "--size", "32", "--ngf", "8",
                     "--ndf", "8", "--epochs", "100000", "--epochs-decay", "0", ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(pid > 0, "cannot start train");
    struct timespec nap = {0, 20000000};
    int rows = -1;
    for (int i = 0; i < 6000 && rows < 1; i++) { /* up to 2 minutes */
        nanosleep(&nap, NULL);
        rows = exists(tp("I/losses.csv")) ? csv_rows(tp("I/losses.csv")) : -1;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            pid = -1;
            break;
        }
    }
    if (pid > 0)
        kill(pid, SIGINT);
    int rc = finish(pid);
    REQUIRE(rows >= 1, "losses.csv never got a row");
    CHECK(rc == 130 && err_has("interrupted") && err_has("--resume"),
          "after SIGINT: exit %d (want 130 and a message saying how to resume)", rc);
    rows = csv_rows(tp("I/losses.csv"));
    long it = ckpt_long(tp("I/latest.ckpt"), "run.iteration");
    REQUIRE(rows > 0 && it == rows, "after SIGINT: latest.ckpt at iteration %ld, losses.csv %d rows", it, rows);
    rc = mrigan("train", "--resume", tp("I"), "--max-iterations", "2", ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0, "resume after SIGINT exited with %d", rc);
    CHECK(csv_rows(tp("I/losses.csv")) == rows + 2 && ckpt_long(tp("I/latest.ckpt"), "run.iteration") == it + 2,
          "resume --max-iterations 2: %d rows (want %d), run.iteration %ld", csv_rows(tp("I/losses.csv")), rows + 2,
          ckpt_long(tp("I/latest.ckpt"), "run.iteration"));
}

/* ------------------------------------------------------------------ 6. validation, best checkpoint, report */
/* The epoch of val.csv's highest score, or -1. */
static int val_best_epoch(const char *path, int *rows)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int best = -1;
    double best_score = -1e300;
    *rows = 0;
    if (!f)
        return -1;
    for (bool header = true; fgets(line, sizeof line, f); header = false) {
        if (header)
            continue;
        const char *last = strrchr(line, ',');
        double score = last ? strtod(last + 1, NULL) : -1e300;
        (*rows)++;
        if (score > best_score) {
            best_score = score;
            best = atoi(line);
        }
    }
    fclose(f);
    return best;
}

/* Lines after the header of any text file, or -1. */
static int data_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = -1, c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n')
            n++;
        last = c;
    }
    fclose(f);
    return last == '\n' ? n : n + 1;
}

void test_validation(void)
{
    /* Paired validation on the phantom's own pairs; then the same run resumed from another folder. */
    int rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--val-a", tp("P/T1"), "--val-b", tp("P/T2"),
                    "--out", tp("V"), "--size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "2", "--epochs-decay",
                    "1", "--max-iterations", "30", ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(rc == 0, "train with validation exited with %d", rc);
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s", tp("V"));
    REQUIRE(chdir("/") == 0, "chdir");
    rc = mrigan("train", "--resume", out, ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(chdir(tmp_dir) == 0, "chdir back");
    CHECK(rc == 0, "--resume from another working folder exited with %d", rc);
    /* the last line says where the time went, validation included */
    const char *spent = last_err ? strstr(last_err, "%, validation ") : NULL;
    CHECK(spent && strstr(last_err, "s: iterations ") && atof(spent + strlen("%, validation ")) > 0.0,
          "train's time line: %.300s", last_err ? last_err : "(none)");
    int rows = 0, best = val_best_epoch(tp("V/val.csv"), &rows);
    CHECK(rows == 3, "val.csv has %d rows, expected one per epoch (3)", rows);
    CHECK(data_lines(tp("V/epochs.csv")) == 3, "epochs.csv has %d rows, expected 3", data_lines(tp("V/epochs.csv")));
    size_t n = 0;
    char *best_txt = (char *)read_file(tp("V/best.txt"), &n);
    char want[32];
    snprintf(want, sizeof want, "epoch=%d\n", best);
    CHECK(best_txt && strstr(best_txt, want), "best.txt should name epoch %d, the best score of val.csv", best);
    free(best_txt);
    CHECK(ckpt_entries(tp("V/best.ckpt")) > 0, "best.ckpt should load");
    size_t html_len = 0;
    char *html = (char *)read_file(tp("V/report.html"), &html_len);
    CHECK(html && strstr(html, "<svg") && strstr(html, "data:image/png;base64,"),
          "report.html should hold SVG curves and embedded sample grids");
    free(html);
    CHECK(exists(tp("V/config.txt")), "config.txt missing");
    /* eval straight from the best checkpoint, and the identity baseline, on the same pairs */
    rc = mrigan("eval", "--checkpoint", tp("V/best.ckpt"), "--a", tp("P/T1"), "--b", tp("P/T2"), "--csv",
                tp("V/eval.csv"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0 && data_lines(tp("V/eval.csv")) > 0, "eval from best.ckpt exited with %d", rc);
    rc = mrigan("eval", "--identity", "--a", tp("P/T1"), "--b", tp("P/T2"), NULL);
    CHECK(rc == 0, "eval --identity exited with %d", rc);
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--val-a", tp("P/T1"), "--out", tp("V2"), NULL);
    CHECK(rc == 2 && err_has("--val-b"), "--val-a without --val-b: exit %d", rc);
    /* --val-every 2 over three epochs: epochs 2 and 3 (the last) are validated, with their grids; best.txt names one */
    rc = mrigan("train", "--a", tp("P/T1"), "--b", tp("P/T2"), "--val-a", tp("P/T1"), "--val-b", tp("P/T2"), "--out",
                tp("V3"), "--size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "2", "--epochs-decay", "1",
                "--val-every", "2", ARGS_SPLICE, cpu_opts, NULL);
    best = val_best_epoch(tp("V3/val.csv"), &rows);
    char *val3 = (char *)read_file(tp("V3/val.csv"), NULL), *best3 = (char *)read_file(tp("V3/best.txt"), NULL);
    snprintf(want, sizeof want, "epoch=%d\n", best);
    CHECK(rc == 0 && rows == 2 && val3 && strstr(val3, "\n2,") && strstr(val3, "\n3,") && best3 &&
              strstr(best3, want) && data_lines(tp("V3/epochs.csv")) == 3,
          "--val-every 2: exit %d, %d val.csv rows, best epoch %d", rc, rows, best);
    CHECK(!exists(tp("V3/samples/val_epoch_001.png")) && exists(tp("V3/samples/val_epoch_002.png")) &&
              exists(tp("V3/samples/val_epoch_003.png")) && exists(tp("V3/samples/epoch_001.png")),
          "--val-every 2: validation grids of epochs 2 and 3 only, sample grids of every epoch");
    free(val3);
    free(best3);
}
