/* The HTML run report (src/app/report.h), linked in from the app's sources:
 *   1. a full synthetic run folder (config.txt, losses.csv, epochs.csv, val.csv, best.txt, two sample PNGs) gives
 *      a report with the configuration (escaped), charts, both sample grids as base64 data: URIs that decode to
 *      the PNG files, and the chosen epoch; no temporary file is left;
 *   2. a folder with only losses.csv, an empty folder and a folder of damaged files still give reports that say
 *      what is missing; a folder that does not exist is an error naming it;
 *   3. a real run (the trainer on the phantom, two epochs with paired validation): its sample grids have labelled
 *      tiles, its validation grids show each translation beside its target and their difference, and its report
 *      embeds them and draws the identity baseline beside the validation curves;
 *   4. both reports opened from disk in headless Chromium (argv[1], else $CHROMIUM, else /usr/bin/chromium): every
 *      image decodes and the SVG charts are laid out, as the page's script records in <body data-rendered>.
 * Without a browser the program prints a SKIP line and exits 77 once the other checks pass. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/report.h"
#include "check.h"
#include "mrigan/image.h"
#include "mrigan/trainer.h"
#include "tmpdir.h"

#define BROWSER_TIMEOUT 90.0 /* seconds */

static char tmp_dir[64];

static const char *tp(const char *name)
{
    static char bufs[8][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, PATH_MAX, "%s/%s", tmp_dir, name);
    return b;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "FAIL cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static char *read_text(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    for (size_t got; b && (got = fread(b + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        char *nb = len + 1 == cap ? realloc(b, cap *= 2) : b;
        if (!nb)
            free(b);
        b = nb;
    }
    fclose(f);
    if (b)
        b[len] = 0;
    if (n)
        *n = len;
    return b;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *make_report(const char *dir)
{
    char err[512] = "";
    int rc = report_write(dir, err, sizeof err);
    CHECK(rc == 0, "report_write(%s): %s", dir, err);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = rc == 0 ? read_text(path, NULL) : NULL;
    CHECK(rc != 0 || html, "cannot read %s", path);
    return html;
}

/* Decodes base64 from s up to the closing quote (padding skipped); the byte count, -1 on a foreign character. */
static long base64_decode(const char *s, unsigned char *out, size_t cap)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned long acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *s && *s != '"'; s++) {
        const char *d = *s == '=' ? NULL : strchr(digits, *s);
        if (*s == '=')
            continue;
        if (!d)
            return -1;
        acc = (acc << 6 | (unsigned long)(d - digits)) & 0xFFFFFF;
        if ((bits += 6) >= 8) {
            bits -= 8;
            if (n < cap)
                out[n] = (unsigned char)(acc >> bits);
            n++;
        }
    }
    return (long)n;
}

static void sample_png(const char *path, int w, int h, float phase)
{
    mg_image img;
    MUST(mg_image_new(w, h, &img));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img.data[y * w + x] = (float)((x + y) % 7) / 3.5f - 1.0f + phase;
    MUST(mg_image_save_png(path, &img, 8));
    mg_image_free(&img);
}

/* ------------------------------------------------------------------ 1. a full run folder */
static void full_run(const char *dir)
{
    char p[PATH_MAX], line[512];
    snprintf(p, sizeof p, "%s/samples", dir);
    if (mkdir(dir, 0777) != 0 || mkdir(p, 0777) != 0) {
        fprintf(stderr, "FAIL mkdir %s: %s\n", p, strerror(errno));
        exit(1);
    }
    snprintf(p, sizeof p, "%s/config.txt", dir);
    write_text(p, "generator=unet\nngf=32\nndf=32\nsize=64\nepochs=2\nepochs_decay=1\nlr=0.0002\nseed=7\n"
                  "backend=cpu\na=/data/T1\nb=/data/T2\nnote=a <&> \"quoted\" value\n"
                  "this line has no equals sign\ncommand=mrigan train --ngf 32 --out run\n");
    snprintf(p, sizeof p, "%s/losses.csv", dir);
    FILE *f = fopen(p, "w");
    CHECK(f, "cannot write %s", p);
    if (!f)
        exit(1);
    fputs("iteration,epoch,lr,D_A,D_B,adv_AB,adv_BA,cyc_ABA,cyc_BAB,idt_AB,idt_BA,G_total,seconds\n", f);
    for (int it = 0; it < 30; it++) {
        double g = 6.0 / (1 + 0.1 * it);
        fprintf(f, "%d,%d,0.0002,0.25,0.24,0.9,0.8,%.4f,%.4f,0.1,0.1,%.4f,0.05\n", it, it / 10 + 1, g / 3, g / 3, g);
        if (it == 12)
            fputs("garbage line\n,,,\n", f);
    }
    fclose(f);
    snprintf(p, sizeof p, "%s/epochs.csv", dir);
    write_text(p, "epoch,lr,seconds,s_per_iteration,D_A,D_B,adv_AB,adv_BA,cyc_ABA,cyc_BAB,idt_AB,idt_BA,G_total\n"
                  "1,0.0002,0.5,0.05,0.25,0.24,0.9,0.8,1.5,1.5,0.1,0.1,4.5\n"
                  "2,0.0002,0.5,0.05,0.24,0.23,0.9,0.8,1.0,1.0,0.1,0.1,3.0\n"
                  "3,0.0001,0.5,0.05,0.23,0.22,0.7,0.65,0.8,0.8,0.1,0.1,2.5\n");
    snprintf(p, sizeof p, "%s/val.csv", dir);
    write_text(p, "epoch,kind,a2b_psnr,a2b_ssim,a2b_mae,b2a_psnr,b2a_ssim,b2a_mae,score\n"
                  "1,paired,18.5,0.61,0.12,19.0,0.63,0.11,0.62\n"
                  "2,paired,21.25,0.81,0.08,22.0,0.8246,0.07,0.8173\n"
                  "3,paired,20.5,0.78,0.09,21.0,0.79,0.08,0.785\n");
    snprintf(p, sizeof p, "%s/best.txt", dir);
    write_text(p, "epoch=2\nmetric=mean SSIM of both directions\nvalue=0.8173\ncheckpoint=best.ckpt\n");
    snprintf(p, sizeof p, "%s/best.ckpt", dir);
    write_text(p, "not really a checkpoint\n");
    for (int e = 1; e <= 3; e += 2) {
        snprintf(p, sizeof p, "%s/samples/epoch_%03d.png", dir, e);
        sample_png(p, 36, 24, 0.1f * e);
    }
    snprintf(line, sizeof line, "%s/loss.png", dir);
    sample_png(line, 8, 8, 0);
}

static void test_full(void)
{
    int before = failures;
    const char *dir = tp("full");
    full_run(dir);
    char *html = make_report(dir);
    if (!html) {
        report(before, "1 full run folder");
        return;
    }
    static const char *const want[] = {
        "ngf", "32", "/data/T1", "mrigan train --ngf 32 --out run", "a &lt;&amp;&gt; &quot;quoted&quot; value", "<svg",
        "Training run full", "chosen epoch 2", "epoch 2 has the best (highest) score of the 3 validated epochs",
        "the last epoch, 3, scored 0.785", "mean SSIM of both directions", "best.ckpt", "epoch 3 (last)",
        "config.txt: 1 malformed line skipped", "losses.csv: 2 malformed lines", "PSNR per epoch", "SSIM per epoch",
        "Mean loss per epoch", "G_total per iteration",
        /* the last tenth of 3 epochs is the last: 0.7 + 0.65 */
        "the last tenth of the 3 epochs so far): <b>1.3500</b>", "</html>"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK(strstr(html, want[i]), "the report lacks \"%s\"", want[i]);
    CHECK(!strstr(html, "<&>") && !strstr(html, "\"quoted\""), "config text is not escaped");
    CHECK(count(html, "<svg") >= 4, "%d <svg> elements, want 4", count(html, "<svg"));
    CHECK(count(html, "<img") == 2 && count(html, "src=\"data:image/png;base64,") == 2,
          "%d <img>, %d data URIs, want 2 each", count(html, "<img"), count(html, "src=\"data:image/png;base64,"));
    CHECK(!strstr(html, "src=\"http") && !strstr(html, "href=\"http") && !strstr(html, "url("),
          "the report refers to an external resource");
    /* every embedded grid decodes to its PNG file, byte for byte */
    const char *at = html;
    for (int e = 1; e <= 3; e += 2) {
        char path[PATH_MAX];
        size_t n = 0;
        snprintf(path, sizeof path, "%s/samples/epoch_%03d.png", dir, e);
        unsigned char *png = (unsigned char *)read_text(path, &n), *dec = malloc(n + 16);
        at = strstr(at, "base64,");
        long m = at && dec ? base64_decode(at + 7, dec, n + 16) : -1;
        CHECK(png && m == (long)n && !memcmp(png, dec, n), "epoch %d: data URI decodes to %ld bytes, file %zu", e, m,
              n);
        if (at)
            at += 7;
        free(png);
        free(dec);
    }
    free(html);
    /* written again over the previous report, leaving no temporary file */
    html = make_report(dir);
    free(html);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        CHECK(!strstr(e->d_name, ".tmp"), "temporary file %s left behind", e->d_name);
    if (d)
        closedir(d);
    char err[256] = "";
    CHECK(report_write_to(dir, tp("elsewhere.html"), err, sizeof err) == 0 && access(tp("elsewhere.html"), R_OK) == 0,
          "report_write_to another file: %s", err);
    report(before, "1 full run folder: config (escaped), 4 charts, 2 embedded grids that decode, chosen epoch, final "
                   "adversarial loss");
}

/* ------------------------------------------------------------------ 3. a real run */
/* Whether the label strip above tile (col, row) of a grid of cw x ch tiles holds text: some white pixels, the rest
 * black. */
static bool tile_labelled(const mg_image *g, int col, int row, int cw, int ch)
{
    int white = 0, other = 0;
    for (int y = row * (ch + 11); y < row * (ch + 11) + 11; y++)
        for (int x = col * cw; x < (col + 1) * cw; x++) {
            float v = g->data[(size_t)y * g->width + x];
            white += v > 0.99f;
            other += v > -0.99f && v <= 0.99f;
        }
    return white > 20 && other == 0;
}

/* grids the real run's report embeds: its 2 sample grids, the last validation grid, and the chosen epoch's
 * when that is not the last */
static int real_grids;

static void test_real_run(const char *phantom)
{
    int before = failures;
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s/T1", phantom);
    snprintf(b, sizeof b, "%s/T2", phantom);
    mg_train_settings st;
    mg_train_settings_default(&st);
    st.a = st.val_a = a;
    st.b = st.val_b = b;
    st.out = tp("real");
    st.size = 32;
    st.ngf = st.ndf = 4;
    st.epochs = 2;
    st.epochs_decay = 0;
    st.threads = 1;
    mg_backend *be = NULL;
    mg_trainer *t = NULL;
    MUST(mg_backend_open("cpu", -1, 1, &be));
    MUST(mg_trainer_new(&st, be, NULL, &t));
    MUST(mg_trainer_run(t, NULL));
    mg_trainer_free(t);
    char err[256] = "";
    CHECK(report_write(tp("real"), err, sizeof err) == 0, "report of the real run: %s", err);

    /* the sample grid: 3 x 2 labelled tiles of the first A and B slices */
    mg_image grid = {0}, val = {0}, in = {0};
    char path[PATH_MAX + 32];
    MUST(mg_image_load_png(tp("real/samples/epoch_002.png"), &grid));
    snprintf(path, sizeof path, "%s/phantom_000.png", a);
    MUST(mg_image_load_png(path, &in));
    const int cw = in.width, ch = in.height;
    CHECK(grid.width == 3 * cw && grid.height == 2 * (ch + 11), "sample grid %dx%d", grid.width, grid.height);
    for (int k = 0; k < 6 && grid.width == 3 * cw; k++)
        CHECK(tile_labelled(&grid, k % 3, k / 3, cw, ch), "sample tile %d has no label", k);
    /* the validation grid: input | translation | target | |difference| for 3 pairs and both directions; the
     * difference tile is |translation - target| (white from half the range), within 8-bit rounding */
    MUST(mg_image_load_png(tp("real/samples/val_epoch_002.png"), &val));
    CHECK(val.width == 4 * cw && val.height == 6 * (ch + 11), "validation grid %dx%d", val.width, val.height);
    int bad = 0, labelled = 0;
    for (int row = 0; row < 6 && val.width == 4 * cw; row++)
        for (int col = 0; col < 4; col++) {
            labelled += tile_labelled(&val, col, row, cw, ch);
            if (col != 3)
                continue;
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++) {
                    const size_t o = (size_t)(row * (ch + 11) + 11 + y) * val.width;
                    float d = fabsf(val.data[o + cw + x] - val.data[o + 2 * cw + x]);
                    float want = d >= 1.0f ? 1.0f : 2.0f * d - 1.0f, got = val.data[o + 3 * cw + x];
                    bad += fabsf(got - want) > 3.0f * (2.0f / 255.0f) + 1e-4f; /* three tiles, each rounded */
                }
        }
    CHECK(labelled == 24 && bad == 0, "validation grid: %d of 24 tiles labelled, %d difference pixels wrong", labelled,
          bad);
    mg_image_free(&grid);
    mg_image_free(&val);
    mg_image_free(&in);
    char *html = read_text(tp("real/report.html"), NULL), *best = read_text(tp("real/best.txt"), NULL);
    /* both sample grids, the last validation grid, and the chosen epoch's when it is the first */
    const int chosen = best && strstr(best, "epoch=") ? atoi(strstr(best, "epoch=") + 6) : 0;
    CHECK(chosen == 1 || chosen == 2, "best.txt names epoch %d of 2", chosen);
    real_grids = chosen == 1 ? 4 : 3;
    CHECK(html && strstr(html, "Validation samples") && strstr(html, "validation grid of epoch 2") &&
              strstr(html, "identity (the input as it is)") &&
              count(html, "src=\"data:image/png;base64,") == real_grids,
          "the real run's report: validation grid, identity baseline, %d embedded grids", real_grids);
    free(best);
    free(html);
    mg_backend_free(be);
    report(before, "3 a real run: labelled sample tiles, validation grids with targets and differences, identity "
                   "baseline in the report");
}

/* ------------------------------------------------------------------ 2. missing and damaged files */
static void test_missing(void)
{
    int before = failures;
    const char *dir = tp("losses-only"), *p = tp("losses-only/losses.csv");
    if (mkdir(dir, 0777) != 0)
        exit(1);
    write_text(p, "iteration,epoch,lr,D_A,D_B,adv_AB,adv_BA,cyc_ABA,cyc_BAB,idt_AB,idt_BA,G_total,seconds\n"
                  "0,1,0.0002,0.5,0.5,1,1,2,2,0.5,0.5,7,0.1\r\n1,1,0.0002,0.4,0.4,1,1,1.5,1.5,0.4,0.4,6,0.1\n"
                  "2,2,0.0002,0.3,0.3,1,1,1,1,0.3,0.3,5,0.1\n");
    char *html = make_report(dir);
    static const char *const want[] = {"config.txt is missing",
                                       "No val.csv",
                                       "computed from losses.csv",
                                       "No validation data was given",
                                       "No sample grids",
                                       "<svg",
                                       "Mean loss"};
    for (size_t i = 0; html && i < sizeof want / sizeof *want; i++)
        CHECK(strstr(html, want[i]), "losses.csv only: the report lacks \"%s\"", want[i]);
    free(html);

    dir = tp("empty");
    if (mkdir(dir, 0777) != 0)
        exit(1);
    html = make_report(dir);
    CHECK(html && strstr(html, "losses.csv is missing") && strstr(html, "No timings"), "empty folder report");
    free(html);

    /* damaged: binary junk, headers without rows, rows of text, a directory where a file belongs */
    char damaged[PATH_MAX];
    snprintf(damaged, sizeof damaged, "%s", tp("damaged"));
    dir = damaged;
    if (mkdir(dir, 0777) != 0 || mkdir(tp("damaged/best.txt"), 0777) != 0 || mkdir(tp("damaged/samples"), 0777))
        exit(1);
    write_text(tp("damaged/config.txt"), "=\n\x01\x02\x7f junk\n===\nk=v=w\n");
    write_text(tp("damaged/losses.csv"), "iteration,epoch\n1e999,x\n,\n3\n4,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n");
    write_text(tp("damaged/epochs.csv"), "");
    write_text(tp("damaged/val.csv"), "kind,epoch\npaired\nnan,nan\n1,cycle,,,,,,,,,,,,\n");
    write_text(tp("damaged/samples/epoch_002.png"), "not a png at all");
    write_text(tp("damaged/samples/epoch_2.png"), "ignored: not epoch_%03d");
    html = make_report(dir);
    CHECK(html && strstr(html, "epoch_002.png is not a PNG") && strstr(html, "k=v=w") == NULL && strstr(html, "v=w"),
          "damaged folder report");
    free(html);

    char err[256] = "";
    CHECK(report_write(tp("no-such-run"), err, sizeof err) != 0 && strstr(err, "no-such-run"),
          "a missing folder: \"%s\"", err);
    report(before, "2 missing and damaged inputs: losses.csv only, empty folder, junk files; missing folder refused");
}

/* ------------------------------------------------------------------ 3. headless Chromium */
/* Runs argv with stdout to out_path and stderr to err_path in its own process group; its exit status, 127 when it
 * cannot be started, -1 after a timeout. */
static int run_browser(char *const *argv, const char *out_path, const char *err_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        setpgid(0, 0);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        setenv("XDG_CONFIG_HOME", tmp_dir, 1);
        setenv("XDG_CACHE_HOME", tmp_dir, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct timespec nap = {0, 20000000};
    for (double waited = 0;; waited += 0.02) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if ((r < 0 && errno != EINTR) || waited > BROWSER_TIMEOUT) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        nanosleep(&nap, NULL);
    }
    kill(-pid, SIGKILL); /* helper processes the browser may have left */
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* 0 when checked, 77 when no browser could be run. */
/* Opens dir/report.html in the browser; the counts its script records, and whether the DOM holds want. */
static int browser_render(const char *browser, const char *dir, int *ok, int *all, int *svgs, const char *want,
                          bool *found)
{
    char profile[PATH_MAX], url[PATH_MAX + 16], profile_arg[PATH_MAX + 32], dom_path[PATH_MAX];
    snprintf(profile, sizeof profile, "%s", tp("profile"));
    snprintf(profile_arg, sizeof profile_arg, "--user-data-dir=%s", profile);
    snprintf(url, sizeof url, "file://%s/report.html", dir);
    snprintf(dom_path, sizeof dom_path, "%s.dom.html", dir);
    char *argv[] = {(char *)browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    profile_arg,
                    "--virtual-time-budget=5000",
                    "--dump-dom",
                    url,
                    NULL};
    int rc = run_browser(argv, dom_path, tp("browser.log"));
    char *dom = read_text(dom_path, NULL);
    const char *attr = dom ? strstr(dom, "data-rendered=\"") : NULL;
    *ok = *all = *svgs = -1;
    if (attr && sscanf(attr, "data-rendered=\"images=%d/%d svgs=%d\"", ok, all, svgs) != 3)
        *ok = *all = *svgs = -1;
    *found = dom && strstr(dom, want);
    free(dom);
    return rc;
}

static int test_browser(const char *given)
{
    const char *browser = given && *given ? given : getenv("CHROMIUM");
    if (!browser || !*browser)
        browser = "/usr/bin/chromium";
    if (access(browser, X_OK) != 0) {
        printf("SKIP 4 headless browser: no Chromium at %s (give its path as argv[1] or $CHROMIUM)\n", browser);
        return 77;
    }
    int before = failures, ok, all, svgs, ok2, all2, svgs2;
    bool found, found2;
    int rc = browser_render(browser, tp("full"), &ok, &all, &svgs, "Samples", &found);
    if (rc == 127) {
        printf("SKIP 4 headless browser: %s could not be started\n", browser);
        return 77;
    }
    CHECK(rc == 0, "%s exited with %d (%s)", browser, rc, rc < 0 ? "timed out" : "see browser.log");
    CHECK(ok == 2 && all == 2 && svgs >= 2, "rendered: images=%d/%d svgs=%d, want images=2/2 svgs>=2", ok, all, svgs);
    rc = browser_render(browser, tp("real"), &ok2, &all2, &svgs2, "alt=\"validation grid of epoch 2\"", &found2);
    CHECK(rc == 0 && ok2 == real_grids && all2 == real_grids && svgs2 >= 4 && found2,
          "the real run rendered: exit %d, images=%d/%d svgs=%d, want images=%d/%d (sample and validation grids) "
          "svgs>=4, validation grid in the DOM: %d",
          rc, ok2, all2, svgs2, real_grids, real_grids, found2);
    if (failures != before) {
        char *log = read_text(tp("browser.log"), NULL);
        fprintf(stderr, "browser stderr:\n%.4000s\n", log ? log : "(none)");
        free(log);
    }
    char line[200];
    snprintf(line, sizeof line, "4 headless Chromium: images=%d/%d svgs=%d; the real run's images=%d/%d svgs=%d", ok,
             all, svgs, ok2, all2, svgs2);
    report(before, line);
    return 0;
}

int main(int argc, char **argv)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/mrigan-report-XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_full();
    test_missing();
    const char *root = getenv("MRIGAN_SOURCE_DIR");
#ifdef MRIGAN_SOURCE_DIR
    if (!root)
        root = MRIGAN_SOURCE_DIR;
#endif
    char phantom[PATH_MAX / 2];
    snprintf(phantom, sizeof phantom, "%s/data/phantom", root ? root : ".");
    test_real_run(phantom);
    int rc = failures ? 0 : test_browser(argc > 1 ? argv[1] : NULL);
    if (getenv("MRIGAN_TEST_KEEP"))
        fprintf(stderr, "kept %s (MRIGAN_TEST_KEEP is set)\n", tmp_dir);
    else
        remove_tree(tmp_dir);
    if (failures) {
        fprintf(stderr, "%d check%s failed\n", failures, failures == 1 ? "" : "s");
        return 1;
    }
    return rc;
}
