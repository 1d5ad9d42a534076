/* NIfTI volumes (include/mrigan/volume.h): reading every voxel type, both byte orders, NIfTI-1 and -2, plain and
 * gzip; refusing broken files with a message naming them; slices oriented by the header, whatever the storage
 * order; the percentile normalisation; writing on the same grid; datasets and pairs of volumes; and the shared
 * MNI152 and open-ms volumes. The small volumes are written here by hand, byte by byte, not by mrigan's writer. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <nifti2_io.h>

#include "check.h"
#include "mrigan/volume.h"
#include "tmp-files.h"

/* ------------------------------------------------------------------ writing test volumes by hand */

typedef struct spec {
    int dim[4]; /* nx, ny, nz, nt (0 is 1) */
    int datatype;
    double slope, inter;
    bool swap;         /* the other byte order */
    int version;       /* 1 or 2 */
    double srow[3][4]; /* sform (code 1); all zero: none, and no qform (the ANALYZE default) */
    long long cut;     /* > 0: keep only this many bytes of the (uncompressed) file */
    bool no_magic;     /* the NIfTI magic left out (an ANALYZE-like or damaged header) */
    int ndim;          /* > 0: dim[0], with the sizes beyond it 0 (as the standard allows) */
} spec;

static void put_value(unsigned char *p, int dt, double v)
{
    switch (dt) {
#define PUT(code, type)                                                                                                \
    case code: {                                                                                                       \
        type x = (type)v;                                                                                              \
        memcpy(p, &x, sizeof x);                                                                                       \
        break;                                                                                                         \
    }
        PUT(DT_UINT8, uint8_t)
        PUT(DT_INT8, int8_t)
        PUT(DT_INT16, int16_t)
        PUT(DT_UINT16, uint16_t)
        PUT(DT_INT32, int32_t)
        PUT(DT_UINT32, uint32_t)
        PUT(DT_INT64, int64_t)
        PUT(DT_FLOAT32, float)
        PUT(DT_FLOAT64, double)
#undef PUT
    }
}

/* Writes a single-file NIfTI of spec's layout holding raw[] (nx*ny*nz*nt values); .gz names are compressed. */
static void write_nifti(const char *path, const spec *sp, const double *raw)
{
    int nbyper, swapsize, nt = sp->dim[3] ? sp->dim[3] : 1;
    nifti_datatype_sizes(sp->datatype, &nbyper, &swapsize);
    if (nbyper == 0)
        nbyper = swapsize = 8; /* complex64 and the like: only their header matters */
    const size_t n = (size_t)sp->dim[0] * sp->dim[1] * sp->dim[2] * nt;
    const size_t hsize = sp->version == 2 ? 540 : 348, off = hsize + 4;
    const size_t total = sp->cut > 0 && (size_t)sp->cut < off + n * nbyper ? (size_t)sp->cut : off + n * nbyper;
    unsigned char *buf = calloc(1, total > off ? total : off); /* a header that lies needs no voxels behind it */
    if (sp->version == 2) {
        nifti_2_header h = {.sizeof_hdr = 540, .datatype = (int16_t)sp->datatype, .bitpix = (int16_t)(8 * nbyper)};
        memcpy(h.magic, "n+2\0\r\n\032\n", 8);
        h.dim[0] = nt > 1 ? 4 : 3;
        for (int k = 0; k < 7; k++)
            h.dim[k + 1] = k < 3 ? sp->dim[k] : k == 3 ? nt : 1;
        h.pixdim[1] = 1.5, h.pixdim[2] = 2.0, h.pixdim[3] = 3.0;
        h.vox_offset = (int64_t)off;
        h.scl_slope = sp->slope, h.scl_inter = sp->inter;
        h.sform_code = sp->srow[0][0] || sp->srow[0][1] || sp->srow[0][2] ? 1 : 0;
        memcpy(h.srow_x, sp->srow[0], sizeof h.srow_x), memcpy(h.srow_y, sp->srow[1], sizeof h.srow_y);
        memcpy(h.srow_z, sp->srow[2], sizeof h.srow_z);
        if (sp->swap)
            nifti_swap_as_nifti2(&h);
        memcpy(buf, &h, sizeof h);
    } else {
        nifti_1_header h = {.sizeof_hdr = 348, .datatype = (short)sp->datatype, .bitpix = (short)(8 * nbyper)};
        memcpy(h.magic, sp->no_magic ? "\0\0\0" : "n+1", 4);
        h.dim[0] = (short)(sp->ndim ? sp->ndim : nt > 1 ? 4 : 3);
        for (int k = 0; k < 7; k++)
            h.dim[k + 1] = (short)(sp->ndim && k >= sp->ndim ? 0 : k < 3 ? sp->dim[k] : k == 3 ? nt : 1);
        h.pixdim[1] = 1.5f, h.pixdim[2] = 2.0f, h.pixdim[3] = 3.0f;
        h.vox_offset = (float)off;
        h.scl_slope = (float)sp->slope, h.scl_inter = (float)sp->inter;
        h.sform_code = (short)(sp->srow[0][0] || sp->srow[0][1] || sp->srow[0][2] ? 1 : 0);
        for (int k = 0; k < 4; k++)
            h.srow_x[k] = (float)sp->srow[0][k], h.srow_y[k] = (float)sp->srow[1][k],
            h.srow_z[k] = (float)sp->srow[2][k];
        if (sp->swap)
            nifti_swap_as_nifti1(&h);
        memcpy(buf, &h, sizeof h);
    }
    for (size_t i = 0; i < n && off + (i + 1) * nbyper <= total; i++) {
        put_value(buf + off + i * nbyper, sp->datatype, raw ? raw[i] : 0.0);
        if (sp->swap && swapsize > 1)
            nifti_swap_Nbytes(1, swapsize, buf + off + i * nbyper);
    }
    const size_t len = total;
    size_t plen = strlen(path);
    if (plen > 3 && !strcmp(path + plen - 3, ".gz")) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, buf, (unsigned)len);
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
    }
    free(buf);
}

/* ------------------------------------------------------------------ reading */

static void test_types(void)
{
    int before = failures;
    static const int types[] = {DT_UINT8,  DT_INT8,  DT_INT16,   DT_UINT16, DT_INT32,
                                DT_UINT32, DT_INT64, DT_FLOAT32, DT_FLOAT64};
    const int nx = 7, ny = 5, nz = 3, n = nx * ny * nz;
    double raw[7 * 5 * 3];
    for (int i = 0; i < n; i++)
        raw[i] = (i * 37) % 101; /* fits every type, int8 included */
    char path[512];
    for (size_t t = 0; t < sizeof types / sizeof *types; t++)
        for (int variant = 0; variant < 4; variant++) { /* plain, gzip, other byte order, NIfTI-2 with scaling */
            spec sp = {.dim = {nx, ny, nz},
                       .datatype = types[t],
                       .version = variant == 3 ? 2 : 1,
                       .swap = variant == 2,
                       .slope = variant == 3 ? 2.0 : 0.0,
                       .inter = variant == 3 ? 10.0 : 0.0};
            tmp_path(path, variant == 1 ? "t.nii.gz" : "t.nii");
            write_nifti(path, &sp, raw);
            mg_volume v;
            mg_status s = mg_volume_load(path, &v);
            CHECK(s == MG_OK, "%s variant %d", nifti_datatype_string(types[t]), variant);
            if (s != MG_OK)
                continue;
            int bad = 0;
            for (int i = 0; i < n; i++)
                bad += v.data[i] != (float)(variant == 3 ? raw[i] * 2.0 + 10.0 : raw[i]);
            CHECK(bad == 0 && v.dim[0] == nx && v.dim[1] == ny && v.dim[2] == nz && v.datatype == types[t] &&
                      v.version == sp.version && v.voxel[0] == 1.5 && v.voxel[1] == 2.0 && v.voxel[2] == 3.0,
                  "%s variant %d: %d voxels wrong, %dx%dx%d, version %d", nifti_datatype_string(types[t]), variant, bad,
                  v.dim[0], v.dim[1], v.dim[2], v.version);
            mg_volume_free(&v);
        }
    /* float voxels that are NaN or infinite read as 0, and are counted */
    double odd[7 * 5 * 3];
    memcpy(odd, raw, sizeof odd);
    odd[3] = NAN, odd[4] = INFINITY;
    spec sp = {.dim = {nx, ny, nz}, .datatype = DT_FLOAT32, .version = 1};
    write_nifti(tmp_path(path, "nan.nii"), &sp, odd);
    mg_volume v;
    CHECK(mg_volume_load(path, &v) == MG_OK && v.n_nonfinite == 2 && v.data[3] == 0.0f && v.data[4] == 0.0f &&
              v.data[5] == (float)raw[5],
          "NaN and inf voxels");
    mg_volume_free(&v);
    /* sizes beyond dim[0] are 0 in many files: a 3-D volume so written, and a 2-D image (dim[0] = 2) */
    spec trailing = {.dim = {nx, ny, nz}, .datatype = DT_INT16, .version = 1, .ndim = 3};
    write_nifti(tmp_path(path, "trailing.nii"), &trailing, raw);
    CHECK(mg_volume_load(path, &v) == MG_OK && v.dim[2] == nz && v.data[n - 1] == (float)raw[n - 1],
          "sizes beyond dim[0] left 0");
    mg_volume_free(&v);
    spec flat = {.dim = {nx, ny, 1}, .datatype = DT_UINT8, .version = 1, .ndim = 2};
    write_nifti(tmp_path(path, "flat.nii"), &flat, raw);
    CHECK(mg_volume_load(path, &v) == MG_OK && v.dim[2] == 1 && v.dim[0] == nx, "a 2-D image (dim[0] = 2)");
    mg_volume_free(&v);
    report(before, "volumes: every integer type, float32/64, plain and gzip, both byte orders, NIfTI-2, scl_slope, "
                   "2-D, sizes beyond dim[0] left 0");
}

/* path fails to load with a message naming it and holding `why`. */
static void expect_refused(const char *path, const char *why, const char *what)
{
    mg_volume v = {0};
    mg_status s = mg_volume_load(path, &v);
    CHECK(s != MG_OK && !v.data && strstr(mg_last_error(), path) && strstr(mg_last_error(), why), "%s", what);
    mg_volume_free(&v);
}

static void test_refused(void)
{
    int before = failures;
    char path[512];
    double raw[8 * 8 * 8] = {0};
    spec sp = {.dim = {8, 8, 8}, .datatype = DT_INT16, .version = 1};
    expect_refused(tmp_path(path, "missing.nii"), "No such file", "missing file");
    FILE *f = fopen(tmp_path(path, "text.nii"), "w");
    fputs("this is not a volume, only some text that is long enough for a header to be looked for in it", f);
    fclose(f);
    expect_refused(path, "not a NIfTI", "a text file");
    f = fopen(tmp_path(path, "junk.nii.gz"), "w");
    fputs("\x1f\x8b\x08\x00 not really gzip", f);
    fclose(f);
    expect_refused(path, "NIfTI", "a broken gzip stream");
    const char *names[] = {"cut.nii", "cut.nii.gz"};
    for (int k = 0; k < 2; k++) {
        spec cut = sp;
        cut.cut = 352 + 8 * 8 * 8 * 2 / 2; /* half the voxels */
        write_nifti(tmp_path(path, names[k]), &cut, raw);
        expect_refused(path, "truncated", names[k]);
        cut.cut = 200; /* within the header */
        write_nifti(path, &cut, raw);
        expect_refused(path, "NIfTI", "cut within the header");
    }
    /* a gzip file cut short: its compressed stream ends early */
    write_nifti(tmp_path(path, "whole.nii.gz"), &sp, raw);
    struct stat st;
    stat(path, &st);
    if (truncate(path, st.st_size / 2) == 0)
        expect_refused(path, "NIfTI", "a .nii.gz cut in half");
    /* headers that lie: more voxels than the file holds, more than mrigan reads, 4-D, complex, non-positive */
    spec lie = sp;
    lie.dim[0] = 4000;
    lie.cut = 352 + 8 * 8 * 8 * 2;
    write_nifti(tmp_path(path, "lie.nii"), &lie, NULL);
    expect_refused(path, "truncated", "a header asking for more voxels than the file has");
    write_nifti(tmp_path(path, "lie.nii.gz"), &lie, NULL);
    expect_refused(path, "truncated", "a gzip file whose header asks for more voxels than it has");
    lie.dim[0] = lie.dim[1] = lie.dim[2] = 30000;
    lie.cut = 400;
    write_nifti(tmp_path(path, "huge.nii"), &lie, NULL);
    expect_refused(path, "more than", "2.7e13 voxels");
    spec series = sp;
    series.dim[3] = 3;
    write_nifti(tmp_path(path, "series.nii"), &series, NULL);
    expect_refused(path, "4-D", "a 4-D series");
    spec complex = sp;
    complex.datatype = DT_COMPLEX64;
    write_nifti(tmp_path(path, "complex.nii"), &complex, NULL);
    expect_refused(path, "not read", "complex voxels");
    spec no_magic = sp;
    no_magic.no_magic = true;
    write_nifti(tmp_path(path, "analyze.nii"), &no_magic, raw);
    expect_refused(path, "magic", "a header without the NIfTI magic");
    spec zero = sp;
    zero.dim[1] = 0;
    write_nifti(tmp_path(path, "zero.nii"), &zero, NULL);
    expect_refused(path, "", "a zero dimension");
    report(before, "volumes: missing, not NIfTI, truncated (plain, gzip, in the header), lying, 4-D, complex refused");
}

/* ------------------------------------------------------------------ orientation */

static void test_orientation(void)
{
    int before = failures;
    enum { NX = 6, NY = 5, NZ = 4 };
    double ras[NX * NY * NZ], flipped[NX * NY * NZ], swapped[NX * NY * NZ];
    for (int k = 0; k < NZ; k++)
        for (int j = 0; j < NY; j++)
            for (int i = 0; i < NX; i++) {
                double v = 1 + i + 10 * j + 100 * k; /* unique, and every slice has contrast */
                ras[i + NX * (j + NY * k)] = v;
                flipped[(NX - 1 - i) + NX * (j + NY * k)] = v; /* i stored from right to left */
                swapped[j + NY * (i + NX * k)] = v;            /* i and j stored the other way round */
            }
    /* i toward the right (x), j toward anterior (y), k toward superior (z): RAS */
    spec a = {
        .dim = {NX, NY, NZ}, .datatype = DT_FLOAT32, .version = 1, .srow = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}};
    spec b = a, c = a;
    b.srow[0][0] = -1;
    c.dim[0] = NY, c.dim[1] = NX;
    memcpy(c.srow, (double[3][4]){{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 1, 0}}, sizeof c.srow);
    char path[3][512];
    write_nifti(tmp_path(path[0], "ras.nii"), &a, ras);
    write_nifti(tmp_path(path[1], "las.nii"), &b, flipped);
    write_nifti(tmp_path(path[2], "ars.nii"), &c, swapped);
    mg_volume v[3];
    for (int k = 0; k < 3; k++)
        MUST(mg_volume_load(path[k], &v[k]));
    mg_volume_scale sc = {.lo = 0, .hi = 500};
    for (int which = MG_SLICE_AXIAL; which <= MG_SLICE_SAGITTAL; which++) {
        mg_volume_plane p[3];
        for (int k = 0; k < 3; k++)
            MUST(mg_volume_plane_of(&v[k], (mg_slice_axis)which, &p[k]));
        CHECK(p[0].width == p[1].width && p[0].width == p[2].width && p[0].count == p[2].count &&
                  p[0].height == p[2].height,
              "plane %d sizes", which);
        for (int s = 0; s < p[0].count; s++) {
            mg_image img[3] = {{0}};
            /* slices keep their voxel index: las's sagittal slices run from the other side */
            for (int k = 0; k < 3; k++)
                MUST(mg_volume_get_slice(&v[k], &p[k], k == 1 && which == MG_SLICE_SAGITTAL ? p[0].count - 1 - s : s,
                                         &sc, &img[k]));
            CHECK(!memcmp(img[0].data, img[1].data, sizeof(float) * img[0].width * img[0].height) &&
                      !memcmp(img[0].data, img[2].data, sizeof(float) * img[0].width * img[0].height),
                  "plane %d slice %d differs between storage orders", which, s);
            for (int k = 0; k < 3; k++)
                mg_image_free(&img[k]);
        }
    }
    /* the convention itself, on the RAS volume: axial slice k shows the patient's right (i = NX - 1) in column 0
     * and anterior (j = NY - 1) in row 0; coronal rows run from superior; sagittal columns from anterior */
    mg_volume_plane p;
    mg_image img = {0};
    MUST(mg_volume_plane_of(&v[0], MG_SLICE_AXIAL, &p));
    MUST(mg_volume_get_slice(&v[0], &p, 2, &sc, &img));
    const double want = (1 + (NX - 1) + 10 * (NY - 1) + 200) / 250.0 - 1.0;
    CHECK(p.axis == 2 && p.width == NX && p.height == NY && fabs(img.data[0] - want) < 1e-6, "axial corner %g, want %g",
          img.data[0], want);
    mg_image_free(&img);
    MUST(mg_volume_plane_of(&v[0], MG_SLICE_CORONAL, &p));
    MUST(mg_volume_get_slice(&v[0], &p, 0, &sc, &img));
    CHECK(p.axis == 1 && p.width == NX && p.height == NZ &&
              fabs(img.data[0] - ((1 + (NX - 1) + 100 * (NZ - 1)) / 250.0 - 1.0)) < 1e-6,
          "coronal corner");
    mg_image_free(&img);
    MUST(mg_volume_plane_of(&v[0], MG_SLICE_SAGITTAL, &p));
    MUST(mg_volume_get_slice(&v[0], &p, 0, &sc, &img));
    CHECK(p.axis == 0 && p.width == NY && p.height == NZ &&
              fabs(img.data[0] - ((1 + 10 * (NY - 1) + 100 * (NZ - 1)) / 250.0 - 1.0)) < 1e-6,
          "sagittal corner");
    /* put_slice is get_slice's inverse */
    float *values = calloc(NX * NY * NZ, sizeof *values);
    MUST(mg_volume_put_slice(&v[0], &p, 0, &img, values));
    int bad = 0;
    for (int k = 0; k < NZ; k++)
        for (int j = 0; j < NY; j++)
            bad += fabs(values[NX * (j + NY * k)] - (v[0].data[NX * (j + NY * k)] / 250.0 - 1.0)) > 1e-6;
    CHECK(bad == 0, "put_slice put %d voxels elsewhere", bad);
    mg_image_free(&img);
    free(values);
    /* voxel axes are taken as they are */
    MUST(mg_volume_plane_of(&v[2], MG_SLICE_I, &p));
    CHECK(p.axis == 0 && p.count == NY, "--slice-axis i on the swapped volume");
    mg_slices pa, pb; /* ras and las share a grid's size, not its orientation: no pairing by voxel */
    CHECK(mg_slices_load_pair(path[0], path[1], MG_SLICE_AXIAL, &pa, &pb) == MG_ERR_ARG &&
              strstr(mg_last_error(), "different orientations"),
          "volumes of one size in two orientations paired");
    for (int k = 0; k < 3; k++)
        mg_volume_free(&v[k]);
    report(before, "volumes: slices oriented by the header (axial, coronal, sagittal) whatever the storage order");
}

/* ------------------------------------------------------------------ normalisation, empty slices, datasets */

static void test_scale_and_slices(void)
{
    int before = failures;
    enum { NX = 10, NY = 10, NZ = 10 };
    double raw[NX * NY * NZ] = {0};
    for (int i = 0; i < 400; i++) /* 600 zeros, then 1..400 */
        raw[600 + i] = 1 + i;
    spec sp = {.dim = {NX, NY, NZ}, .datatype = DT_INT16, .version = 1};
    char path[512];
    write_nifti(tmp_path(path, "scale.nii"), &sp, raw);
    mg_volume v;
    MUST(mg_volume_load(path, &v));
    mg_volume_scale sc;
    MUST(mg_volume_scale_of(&v, path, &sc));
    /* lo = P0.5 = 0; P98 of 1..400 is the value at rank floor(0.98 * 399) = 391: 392; head = 39.2; the head is
     * 40..400 (361 voxels) and hi the value at rank floor(0.995 * 360) = 358 of them: 398 */
    CHECK(sc.lo == 0.0 && fabs(sc.head - 39.2) < 1e-9 && sc.hi == 398.0, "lo %g head %g hi %g", sc.lo, sc.head, sc.hi);
    /* k planes: 0..5 hold zeros, 6..9 the ramp; slices 6..9 are full, so nothing of 0..5 is kept */
    mg_slices sl;
    MUST(mg_slices_load(path, MG_SLICE_K, false, &sl));
    CHECK(sl.n == 4 && sl.axis == 2 && sl.index[0] == 6 && sl.index[3] == 9, "%d non-empty slices from %d", sl.n,
          sl.n ? sl.index[0] : -1);
    char name[64];
    CHECK(mg_slices_name(&sl, 1, "scale.nii", name, sizeof name) && !strcmp(name, "scale.nii[k=7]"), "name %s", name);
    mg_slices_free(&sl);
    MUST(mg_slices_load(path, MG_SLICE_K, true, &sl));
    CHECK(sl.n == 10 && sl.empty[5] && !sl.empty[6], "keep_empty: %d slices", sl.n);
    mg_slices_free(&sl);
    /* a slice with a little anatomy (under 10% of the fullest) is empty too */
    raw[5 * 100 + 55] = 300;
    write_nifti(path, &sp, raw);
    MUST(mg_slices_load(path, MG_SLICE_K, true, &sl));
    CHECK(sl.empty[5], "a slice with one head voxel of 100 is empty");
    mg_slices_free(&sl);
    mg_volume_free(&v);
    /* no contrast */
    double flat[NX * NY * NZ];
    for (int i = 0; i < NX * NY * NZ; i++)
        flat[i] = 7;
    write_nifti(tmp_path(path, "flat.nii"), &sp, flat);
    MUST(mg_volume_load(path, &v));
    CHECK(mg_volume_scale_of(&v, path, &sc) == MG_ERR_ARG && strstr(mg_last_error(), "no contrast") &&
              strstr(mg_last_error(), path),
          "a constant volume");
    mg_volume_free(&v);
    /* a dataset of a volume and a PNG; a folder pair of volumes by T1/T2 tag */
    char dir[512], file[512];
    mkdir(tmp_path(dir, "ds"), 0777);
    write_nifti(tmp_path(file, "ds/b_T1.nii.gz"), &sp, raw);
    mg_image png;
    MUST(mg_image_new(12, 12, &png));
    MUST(mg_image_save_png(tmp_path(file, "ds/a.png"), &png, 8));
    mg_image_free(&png);
    mg_dataset *d = NULL;
    MUST(mg_dataset_load(dir, MG_SLICE_K, &d));
    CHECK(mg_dataset_count(d) == 5 && !strcmp(mg_dataset_name(d, 0), "a.png") &&
              !strcmp(mg_dataset_name(d, 1), "b_T1.nii.gz[k=6]") && mg_dataset_image(d, 4)->width == NX,
          "dataset of a PNG and a volume: %d images", mg_dataset_count(d));
    mg_dataset_free(d);
    mkdir(tmp_path(dir, "ds2"), 0777);
    write_nifti(tmp_path(file, "ds2/b_T2.nii.gz"), &sp, raw);
    mg_image_save_png(tmp_path(file, "ds2/a.png"), &(mg_image){12, 12, (float[144]){0}}, 8);
    mg_pair_list l = {0};
    MUST(mg_folder_pair_inputs(tmp_path(dir, "ds"), tmp_path(file, "ds2"), &l));
    CHECK(l.n == 2 && strstr(l.items[1].a, "b_T1.nii.gz") && strstr(l.items[1].b, "b_T2.nii.gz"), "pairs");
    mg_slices sa, sb;
    CHECK(mg_slices_load_pair(l.items[1].a, l.items[1].b, MG_SLICE_K, &sa, &sb) == MG_OK && sa.n == 4 && sb.n == 4,
          "a pair of volumes");
    mg_slices_free(&sa);
    mg_slices_free(&sb);
    CHECK(mg_slices_load_pair(l.items[0].a, l.items[1].b, MG_SLICE_K, &sa, &sb) == MG_ERR_ARG &&
              strstr(mg_last_error(), "a slice and a volume"),
          "a PNG against a volume");
    spec other = sp;
    other.dim[0] = 9;
    write_nifti(tmp_path(file, "ds2/b_T2.nii.gz"), &other, raw);
    CHECK(mg_slices_load_pair(l.items[1].a, l.items[1].b, MG_SLICE_K, &sa, &sb) == MG_ERR_ARG &&
              strstr(mg_last_error(), "differ"),
          "volumes on different grids");
    mg_pairs_free(&l);
    report(before, "volumes: percentile normalisation, empty slices, datasets and pairs of volumes");
}

/* ------------------------------------------------------------------ writing */

static void test_write(void)
{
    int before = failures;
    enum { NX = 7, NY = 6, NZ = 5, N = NX * NY * NZ };
    double raw[N];
    for (int i = 0; i < N; i++)
        raw[i] = i % 50;
    static const struct {
        int datatype, version;
        bool float32;
        int want_type;
        double hi;
        const char *name;
    } cases[] = {
        {DT_INT16, 1, false, DT_INT16, 4095, "w16.nii.gz"},
        {DT_UINT8, 1, false, DT_UINT8, 255, "w8.nii"},
        {DT_FLOAT64, 2, false, DT_FLOAT32, 1, "wf.nii.gz"},
        {DT_INT16, 1, true, DT_FLOAT32, 1, "w16f.nii"},
    };
    float values[N];
    for (int i = 0; i < N; i++)
        values[i] = -1.0f + 2.0f * (float)i / (N - 1);
    values[0] = NAN;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        spec sp = {.dim = {NX, NY, NZ},
                   .datatype = cases[c].datatype,
                   .version = cases[c].version,
                   .srow = {{0, -1.5, 0, 90}, {2, 0, 0, -126}, {0, 0, 3, -72}}};
        char in[512], out[512];
        write_nifti(tmp_path(in, "src.nii"), &sp, raw);
        mg_volume v, w;
        MUST(mg_volume_load(in, &v));
        mg_volume_write opt = {.float32 = cases[c].float32, .description = "mrigan test"};
        MUST(mg_volume_save_like(tmp_path(out, cases[c].name), &v, values, &opt));
        MUST(mg_volume_load(out, &w));
        int bad = 0;
        for (int i = 0; i < N; i++) {
            double x = (isnan(values[i]) ? 0.0 : (values[i] + 1.0) * 0.5) * cases[c].hi;
            if (cases[c].want_type != DT_FLOAT32)
                x = nearbyint(x);
            bad += fabs(w.data[i] - x) > 1e-6 * cases[c].hi;
        }
        CHECK(bad == 0 && w.datatype == cases[c].want_type && w.version == cases[c].version &&
                  !memcmp(w.dim, v.dim, sizeof w.dim) && !memcmp(w.voxel, v.voxel, sizeof w.voxel),
              "%s: %d voxels wrong, type %d", cases[c].name, bad, w.datatype);
        nifti_image *a = nifti_image_read(in, 0), *b = nifti_image_read(out, 0);
        CHECK(a && b && a->sform_code == b->sform_code && a->qform_code == b->qform_code &&
                  !memcmp(&a->sto_xyz, &b->sto_xyz, sizeof a->sto_xyz) &&
                  !memcmp(&a->qto_xyz, &b->qto_xyz, sizeof a->qto_xyz) && !strcmp(b->descrip, "mrigan test") &&
                  b->cal_max == cases[c].hi,
              "%s: the grid or the description changed", cases[c].name);
        nifti_image_free(a);
        nifti_image_free(b);
        mg_volume_free(&w);
        mg_volume_free(&v);
    }
    /* nothing is left behind when the folder does not exist */
    char in[512], out[512];
    mg_volume v;
    MUST(mg_volume_load(tmp_path(in, "src.nii"), &v));
    CHECK(mg_volume_save_like(tmp_path(out, "no/such/x.nii"), &v, values, NULL) != MG_OK &&
              strstr(mg_last_error(), out),
          "a missing folder");
    mg_volume_free(&v);
    report(before, "volumes: written on the source's grid (sform, qform, voxel sizes, version), range per datatype");
}

/* ------------------------------------------------------------------ the shared volumes */

static double correlation(const float *a, const float *b, size_t n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++)
        ma += a[i], mb += b[i];
    ma /= n, mb /= n;
    for (size_t i = 0; i < n; i++)
        sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
    return sab / sqrt(saa * sbb);
}

static void test_shared(const char *root)
{
    char mni[1024], png[1200], ms[1024];
    snprintf(mni, sizeof mni, "%s/../shared/data/paired/mni152", root);
    snprintf(ms, sizeof ms, "%s/../shared/data/paired/open-ms/nifti", root);
    struct stat st;
    if (stat(mni, &st) != 0 || stat(ms, &st) != 0) {
        printf("skip shared volumes: %s or %s not found\n", mni, ms);
        return;
    }
    int before = failures;
    char path[1200];
    snprintf(path, sizeof path, "%s/nifti/MNI152_T1_1mm_brain.nii.gz", mni);
    mg_slices sl;
    MUST(mg_slices_load(path, MG_SLICE_AXIAL, true, &sl));
    CHECK(sl.n == 182 && sl.image[30].width == 182 && sl.image[30].height == 218, "MNI 1 mm: %d slices", sl.n);
    /* the PNG of z = 30 was cut by nibabel as flipud(slice.T) and scaled by another percentile: the same picture */
    snprintf(png, sizeof png, "%s/png_axial_1mm_brain/T1/MNI152_T1_1mm_brain_z030.png", mni);
    mg_image ref;
    MUST(mg_image_load_png(png, &ref));
    const size_t n = 182 * 218;
    double same = correlation(sl.image[30].data, ref.data, n);
    mg_image flipped;
    MUST(mg_image_new(182, 218, &flipped));
    for (int y = 0; y < 218; y++)
        memcpy(flipped.data + (size_t)y * 182, sl.image[30].data + (size_t)(217 - y) * 182, 182 * sizeof(float));
    double other = correlation(flipped.data, ref.data, n);
    CHECK(same > 0.995 && other < 0.9, "MNI z=30 against its PNG: correlation %.4f (upside down %.4f)", same, other);
    mg_image_free(&flipped);
    mg_image_free(&ref);
    mg_slices_free(&sl);
    snprintf(path, sizeof path, "%s/nifti/MNI152_T2_2mm.nii.gz", mni);
    MUST(mg_slices_load(path, MG_SLICE_CORONAL, false, &sl));
    CHECK(sl.n > 60 && sl.n <= 109 && sl.image[0].width == 91 && sl.image[0].height == 91, "MNI 2 mm coronal: %d",
          sl.n);
    mg_slices_free(&sl);
    /* open-ms: float32 patients; T1 and T2 pair slice by slice */
    char t1[1200], t2[1200];
    snprintf(t1, sizeof t1, "%s/patient07_T1.nii.gz", ms);
    snprintf(t2, sizeof t2, "%s/patient07_T2.nii.gz", ms);
    mg_slices sa, sb;
    MUST(mg_slices_load_pair(t1, t2, MG_SLICE_AXIAL, &sa, &sb));
    CHECK(sa.n >= 100 && sa.n <= 160 && sa.n == sb.n && sa.image[0].width == 182, "open-ms pair: %d slices", sa.n);
    mg_slices_free(&sa);
    mg_slices_free(&sb);
    report(before, "volumes: MNI152 (1 mm axial as its PNGs, 2 mm coronal) and open-ms (float32 pair)");
}

int main(void)
{
    if (!tmp_dir_make("volume"))
        return 1;
    test_types();
    test_refused();
    test_orientation();
    test_scale_and_slices();
    test_write();
    const char *root = getenv("MRIGAN_SOURCE_DIR");
#ifdef MRIGAN_SOURCE_DIR
    if (!root)
        root = MRIGAN_SOURCE_DIR;
#endif
    test_shared(root);
    if (!getenv("KEEP"))
        remove_tree(tmp_dir);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
