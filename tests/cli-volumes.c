/* Group 9 of the command-line tests: NIfTI volumes through train, translate and eval, on the shared MNI152 and
 * open-ms volumes. A translated volume keeps its grid (dimensions, voxel sizes, qform and sform, as nifti_clib
 * reads them back) and its datatype family; eval scores volume pairs slice by slice and whole; outputs are named
 * for what they are and kept apart; a broken volume is refused by name and nothing is written for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nifti2_io.h>

#include "cli.h"

static char *vol_opts[] = {"--ngf", "4", "--ndf", "4", "--size", "32", "--backend", "cpu", "--threads", THREADS, NULL};

/* Whether b lies on a's grid: dimensions, voxel sizes, qform and sform; and b's datatype and description. */
static bool same_grid(const char *a, const char *b, int datatype, char *why, size_t len)
{
    nifti_set_debug_level(0);
    nifti_image *x = nifti_image_read(a, 0), *y = nifti_image_read(b, 0);
    bool ok = x && y;
    snprintf(why, len, "%s", ok ? "" : "unreadable");
    if (ok &&
        (x->nx != y->nx || x->ny != y->ny || x->nz != y->nz || x->dx != y->dx || x->dy != y->dy || x->dz != y->dz))
        ok = false, snprintf(why, len, "dimensions or voxel sizes differ");
    else if (ok && (x->qform_code != y->qform_code || x->sform_code != y->sform_code ||
                    memcmp(&x->qto_xyz, &y->qto_xyz, sizeof x->qto_xyz) ||
                    memcmp(&x->sto_xyz, &y->sto_xyz, sizeof x->sto_xyz)))
        ok = false, snprintf(why, len, "qform or sform differ");
    else if (ok && (y->datatype != datatype || strncmp(y->descrip, "mrigan", 6)))
        ok = false, snprintf(why, len, "datatype %d (want %d), description '%s'", y->datatype, datatype, y->descrip);
    nifti_image_free(x);
    nifti_image_free(y);
    return ok;
}

static bool link_into(const char *target, const char *dir)
{
    char path[PATH_MAX];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/%s", dir, strrchr(target, '/') + 1);
    return symlink(target, path) == 0;
}

void test_volumes(void)
{
    const char *root = getenv("MRIGAN_SOURCE_DIR");
#ifdef MRIGAN_SOURCE_DIR
    if (!root)
        root = MRIGAN_SOURCE_DIR;
#endif
    char mni[PATH_MAX / 2], ms[PATH_MAX / 2], f[PATH_MAX], why[200];
    snprintf(mni, sizeof mni, "%s/../shared/data/paired/mni152/nifti", root ? root : ".");
    snprintf(ms, sizeof ms, "%s/../shared/data/paired/open-ms/nifti", root ? root : ".");
    if (access(mni, R_OK) != 0 || access(ms, R_OK) != 0) {
        printf("skip volumes: %s or %s not found\n", mni, ms);
        return;
    }
    /* train on the 2 mm templates, one volume a folder, for a few iterations */
    snprintf(f, sizeof f, "%s/MNI152_T1_2mm.nii.gz", mni);
    REQUIRE(link_into(f, tp("VA")), "link %s", f);
    snprintf(f, sizeof f, "%s/MNI152_T2_2mm.nii.gz", mni);
    REQUIRE(link_into(f, tp("VB")), "link %s", f);
    int rc = mrigan("train", "--a", tp("VA"), "--b", tp("VB"), "--out", tp("VR"), "--epochs", "1", "--epochs-decay",
                    "0", "--max-iterations", "3", ARGS_SPLICE, vol_opts, NULL);
    REQUIRE(rc == 0 && exists(tp("VR/latest.ckpt")), "train on volumes: exit %d", rc);
    CHECK(err_has("3 iteration") || csv_rows(tp("VR/losses.csv")) == 3, "3 iterations ran");

    /* translate: a float32 patient and an int16 template keep their grids and type families */
    char t1[PATH_MAX], t2[PATH_MAX], brain[PATH_MAX];
    snprintf(t1, sizeof t1, "%s/patient07_T1.nii.gz", ms);
    snprintf(t2, sizeof t2, "%s/patient07_T2.nii.gz", ms);
    snprintf(brain, sizeof brain, "%s/MNI152_T1_1mm_brain.nii.gz", mni);
    rc = mrigan("translate", "--checkpoint", tp("VR/latest.ckpt"), "--direction", "a2b", "--out", tp("VO"), t1, brain,
                ARGS_SPLICE, cpu_opts, NULL);
    REQUIRE(rc == 0, "translate two volumes: exit %d", rc);
    /* from two folders: one subfolder each; the T1 tag becomes T2 */
    CHECK(exists(tp("VO/nifti/patient07_T2.nii.gz")) && exists(tp("VO/nifti-2/MNI152_T2_1mm_brain.nii.gz")),
          "outputs of two input folders of one name are kept apart and named T2");
    CHECK(same_grid(t1, tp("VO/nifti/patient07_T2.nii.gz"), DT_FLOAT32, why, sizeof why), "open-ms: %s", why);
    /* a model of the 2 mm whole-head templates given brain-only volumes: warned about, translated all the same */
    CHECK(err_has("warning: ") && err_has("MNI152_T1_1mm_brain.nii.gz: its intensities are unlike the A training"),
          "no warning for inputs unlike the training data");
    rc = mrigan("translate", "--checkpoint", tp("VR/latest.ckpt"), "--direction", "a2b", "--out", tp("VO2"), tp("VA"),
                ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0 && !err_has("warning"), "the training volume itself: exit %d, warned", rc);
    CHECK(same_grid(brain, tp("VO/nifti-2/MNI152_T2_1mm_brain.nii.gz"), DT_INT16, why, sizeof why), "MNI: %s", why);
    rc = mrigan("translate", "--checkpoint", tp("VR/latest.ckpt"), "--direction=a2b", "--out", tp("VF"), "--float",
                "--suffix", "_synth", t1, ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0 && same_grid(t1, tp("VF/patient07_T2_synth.nii.gz"), DT_FLOAT32, why, sizeof why),
          "--float --suffix: exit %d, %s", rc, why);

    /* translating into the folder that holds the real T2: refused, the T2 untouched; --overwrite replaces an
     * earlier output */
    mkdir(tp("VS"), 0777);
    size_t n_t1 = 0, n_t2 = 0;
    unsigned char *b1 = read_file(t1, &n_t1), *b2 = read_file(t2, &n_t2);
    REQUIRE(b1 && b2 && write_file(tp("VS/p_T1.nii.gz"), b1, n_t1) && write_file(tp("VS/p_T2.nii.gz"), b2, n_t2),
            "copies of the open-ms volumes");
    free(b1);
    rc = mrigan("translate", "--checkpoint", tp("VR/latest.ckpt"), "--direction", "a2b", "--out", tp("VS"),
                tp("VS/p_T1.nii.gz"), ARGS_SPLICE, cpu_opts, NULL);
    size_t n_after = 0;
    unsigned char *after = read_file(tp("VS/p_T2.nii.gz"), &n_after);
    CHECK(rc == 2 && err_has("exists") && after && n_after == n_t2 && !memcmp(after, b2, n_t2),
          "translate onto the real T2: exit %d", rc);
    free(after);
    free(b2);
    rc = mrigan("translate", "--checkpoint", tp("VR/latest.ckpt"), "--direction", "a2b", "--out", tp("VS"),
                "--overwrite", tp("VS/p_T1.nii.gz"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0 && same_grid(t1, tp("VS/p_T2.nii.gz"), DT_FLOAT32, why, sizeof why), "--overwrite: exit %d", rc);
    rc = mrigan("eval", "--pred", tp("P/T1"), "--target", tp("P/T2"), "--mask-volume", t1, NULL);
    CHECK(rc == 2 && err_has("--mask-volume scores volume pairs"), "--mask-volume with PNG pairs: exit %d", rc);

    /* eval: the translation against the real T2, per slice and whole; JSON; the summary file */
    REQUIRE(link_into(t2, tp("VT")), "link %s", t2);
    mkdir(tp("VE"), 0777);
    rc = mrigan("eval", "--pred", tp("VO/nifti"), "--target", tp("VT"), "--csv", tp("VE/scores.csv"), NULL);
    char *csv = (char *)read_file(tp("VE/scores.csv"), NULL),
         *sum = (char *)read_file(tp("VE/scores-summary.csv"), NULL);
    int lines = 0;
    for (const char *c = csv; c && *c; c++)
        lines += *c == '\n';
    CHECK(rc == 0 && csv && strstr(csv, ",k=") && strstr(csv, ",all,") && lines > 100 && sum &&
              strstr(sum, "pred,slices,") && strstr(sum, "pred,volumes,"),
          "eval of a volume pair: exit %d, per-slice and whole rows, a summary file", rc);
    free(csv);
    free(sum);
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "'%s' eval --pred '%s' --target '%s' --json > '%s'", mrigan_bin, tp("VO/nifti"), tp("VT"),
             tp("VE/scores.json"));
    rc = system(cmd);
    char *json = (char *)read_file(tp("VE/scores.json"), NULL);
    CHECK(rc == 0 && json && json[0] == '{' && strstr(json, "\"directions\"") && strstr(json, "\"slice\": \"all\"") &&
              strstr(json, "\"axis\": \"k\""),
          "eval --json: exit %d", rc);
    free(json);
    /* eval straight from the checkpoint on the paired 2 mm templates, with the template's mask */
    snprintf(f, sizeof f, "%s/MNI152_T1_1mm_brain_mask.nii.gz", mni);
    char t1b[PATH_MAX];
    snprintf(t1b, sizeof t1b, "%s/MNI152_T2_1mm_brain.nii.gz", mni);
    REQUIRE(link_into(brain, tp("VMA")) && link_into(t1b, tp("VMB")), "links");
    rc = mrigan("eval", "--checkpoint", tp("VR/latest.ckpt"), "--a", tp("VMA"), "--b", tp("VMB"), "--mask-volume", f,
                ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 0, "eval --checkpoint on volumes with --mask-volume: exit %d", rc);
    rc = mrigan("eval", "--identity", "--a", tp("VMA"), "--b", tp("VT"), NULL);
    CHECK(rc == 1 && err_has("no counterpart"), "eval of unpaired names: exit %d", rc);

    /* a broken volume: refused by name, nothing written for it */
    unsigned char junk[400] = {0};
    size_t n = 0;
    unsigned char *whole = read_file(t1, &n);
    REQUIRE(whole && n > 1000, "read %s", t1);
    mkdir(tp("VX"), 0777);
    write_file(tp("VX/cut_T1.nii.gz"), whole, n / 2);
    free(whole);
    write_file(tp("VX/junk_T1.nii"), junk, sizeof junk);
    rc = mrigan("translate", "--checkpoint", tp("VR/latest.ckpt"), "--direction", "a2b", "--out", tp("VY"),
                tp("VX/cut_T1.nii.gz"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has("cut_T1.nii.gz") && !exists(tp("VY/cut_T2.nii.gz")), "a truncated .nii.gz: exit %d", rc);
    rc = mrigan("translate", "--checkpoint", tp("VR/latest.ckpt"), "--direction", "a2b", "--out", tp("VY"),
                tp("VX/junk_T1.nii"), ARGS_SPLICE, cpu_opts, NULL);
    CHECK(rc == 1 && err_has("junk_T1.nii") && err_has("not a NIfTI"), "zeros as a .nii: exit %d", rc);
    rc = mrigan("train", "--a", tp("VX"), "--b", tp("VB"), "--out", tp("VZ"), ARGS_SPLICE, vol_opts, NULL);
    CHECK(rc == 1 && err_has("VX/cut_T1.nii.gz") && !exists(tp("VZ/latest.ckpt")), "train on a broken volume: exit %d",
          rc);
}
