/* mrigan translate: runs one generator of a trained checkpoint over PNG slices and NIfTI volumes at native
 * resolution. A slice is padded with black to the generator's multiple, translated, and cropped back, so the output
 * has exactly the input's width and height; a volume is translated slice by slice and written on its own grid
 * (mg_cyclegan_translate_volume, mg_volume_save_like). Outputs are named by mg_output_name (a T1 tag becomes T2,
 * --suffix added); inputs from several folders get one subfolder each, so that nothing overwrites anything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app-util.h"
#include "base/base.h"
#include "base/file.h"
#include "commands.h"
#include "mrigan/cyclegan.h"
#include "mrigan/volume.h"
#include "options.h"
#include "progress.h"

#define MAX_INPUTS 4096

typedef struct translate_opts {
    const char *checkpoint, *out, *suffix;
    int direction; /* 0 a2b, 1 b2a */
    bool sixteen, float32, overwrite;
    int slice_axis, threads, backend, device, flip_average, guide_radius, background;
} translate_opts;

/* One input file and where its translation goes. */
typedef struct translate_job {
    char *in, *out;
    int group; /* the folder it came from (a folder argument, or a file argument's folder) */
} translate_job;

typedef struct translate_list {
    translate_job *jobs;
    int n;
    char **groups; /* folder paths, n_groups of them */
    int n_groups;
} translate_list;

static void list_free(translate_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->jobs[i].in);
        free(l->jobs[i].out);
    }
    for (int g = 0; g < l->n_groups; g++)
        free(l->groups[g]);
    free(l->jobs);
    free(l->groups);
}

/* The group of folder dir, added when new; -1 when out of memory. */
static int list_group(translate_list *l, const char *dir)
{
    for (int g = 0; g < l->n_groups; g++)
        if (!strcmp(l->groups[g], dir))
            return g;
    return (l->groups[l->n_groups] = strdup(dir)) ? l->n_groups++ : -1;
}

static int list_add(translate_list *l, char *path, const char *dir)
{
    if (!path)
        return fprintf(stderr, "mrigan translate: out of memory\n"), 1;
    if (l->n == MAX_INPUTS) {
        free(path);
        return fprintf(stderr, "mrigan translate: more than %d inputs\n", MAX_INPUTS), 1;
    }
    int g = list_group(l, dir);
    if (g < 0) {
        free(path);
        return fprintf(stderr, "mrigan translate: out of memory\n"), 1;
    }
    l->jobs[l->n++] = (translate_job){.in = path, .group = g};
    return 0;
}

/* Expands folders into their inputs (sorted); files are kept as given. */
static int collect_inputs(const char **args, int n_args, translate_list *l)
{
    l->jobs = calloc(MAX_INPUTS, sizeof *l->jobs);
    l->groups = calloc(MAX_INPUTS, sizeof *l->groups);
    if (!l->jobs || !l->groups)
        return fprintf(stderr, "mrigan translate: out of memory\n"), 1;
    for (int i = 0; i < n_args; i++) {
        struct stat st;
        if (stat(args[i], &st) != 0)
            return fprintf(stderr, "mrigan translate: %s: %s\n", args[i], strerror(errno)), 1;
        if (!S_ISDIR(st.st_mode)) {
            if (!mg_input_is_name(args[i]))
                return fprintf(stderr, "mrigan translate: %s: not a .png slice or a .nii/.nii.gz volume\n", args[i]), 1;
            char dir[4096];
            const char *base = app_base_name(args[i]);
            snprintf(dir, sizeof dir, "%.*s", base == args[i] ? 1 : (int)(base - args[i]),
                     base == args[i] ? "." : args[i]);
            if (list_add(l, strdup(args[i]), dir))
                return 1;
            continue;
        }
        char **names;
        int n = 0;
        if (mg_folder_list_inputs(args[i], &names, &n) != MG_OK)
            return fprintf(stderr, "mrigan translate: %s\n", mg_last_error()), 1;
        if (n == 0)
            return fprintf(stderr, "mrigan translate: %s: no .png slices or .nii/.nii.gz volumes\n", args[i]), 1;
        int rc = 0;
        for (int k = 0; k < n && !rc; k++)
            rc = list_add(l, mg_path_join(args[i], names[k]), args[i]);
        mg_folder_free_names(names, n);
        if (rc)
            return rc;
    }
    return 0;
}

/* The subfolder of each group: its folder's last name, numbered from the second group that shares it. */
static void group_labels(const translate_list *l, char (*labels)[256])
{
    for (int g = 0; g < l->n_groups; g++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", l->groups[g]);
        for (size_t n = strlen(path); n > 1 && path[n - 1] == '/';)
            path[--n] = '\0';
        const char *base = app_base_name(path);
        snprintf(labels[g], 256, "%s", !*base || !strcmp(base, ".") || !strcmp(base, "..") ? "input" : base);
    }
    for (int g = l->n_groups - 1; g > 0; g--) {
        int earlier = 0;
        for (int k = 0; k < g; k++)
            earlier += !strcmp(labels[k], labels[g]);
        if (earlier) {
            char numbered[256];
            snprintf(numbered, sizeof numbered, "%.240s-%d", labels[g], earlier + 1);
            memcpy(labels[g], numbered, sizeof numbered);
        }
    }
}

/* Names every output, and refuses before anything is written when one would replace an input slice or volume or
 * the checkpoint (--out naming an input folder), or when two inputs would write the same file. */
static int plan_outputs(const translate_opts *o, translate_list *l)
{
    char(*labels)[256] = calloc((size_t)l->n_groups + 1, sizeof *labels);
    if (!labels)
        return fprintf(stderr, "mrigan translate: out of memory\n"), 1;
    group_labels(l, labels);
    for (int i = 0; i < l->n; i++) {
        char name[1024], path[4096];
        const char *label = labels[l->jobs[i].group];
        if (!mg_output_name(app_base_name(l->jobs[i].in), o->direction, o->suffix, name, sizeof name))
            return free(labels), fprintf(stderr, "mrigan translate: %s: output name too long\n", l->jobs[i].in), 1;
        if (!mg_path_fmt(path, sizeof path, "%s/%s%s%s", o->out, l->n_groups > 1 ? label : "",
                         l->n_groups > 1 ? "/" : "", name) ||
            !(l->jobs[i].out = strdup(path)))
            return free(labels), fprintf(stderr, "mrigan translate: output path too long for %s\n", l->jobs[i].in), 1;
    }
    free(labels);
    app_inputs in = {0};
    int rc = app_inputs_add(&in, o->checkpoint);
    for (int i = 0; !rc && i < l->n; i++)
        rc = app_inputs_add(&in, l->jobs[i].in);
    if (rc)
        fprintf(stderr, "mrigan translate: out of memory\n");
    for (int i = 0; !rc && i < l->n; i++) {
        struct stat st;
        if (app_inputs_has(&in, l->jobs[i].out))
            rc = (fprintf(stderr, "mrigan translate: the output %s would replace an input; choose another --out\n",
                          l->jobs[i].out),
                  2);
        else if (!o->overwrite && lstat(l->jobs[i].out, &st) == 0) /* the real T2 beside a T1, an earlier output */
            rc = (fprintf(stderr,
                          "mrigan translate: %s exists; choose another --out or --suffix, or give --overwrite to "
                          "replace it\n",
                          l->jobs[i].out),
                  2);
        for (int k = 0; !rc && k < i; k++)
            if (!strcmp(l->jobs[k].out, l->jobs[i].out))
                rc = (fprintf(stderr, "mrigan translate: %s and %s would both be written to %s\n", l->jobs[k].in,
                              l->jobs[i].in, l->jobs[i].out),
                      2);
    }
    app_inputs_free(&in);
    return rc;
}

typedef struct translate_view {
    app_progress bar;
    int file, files;
    const char *name;
} translate_view;

static void translate_show_slice(int done, int total, void *arg)
{
    translate_view *v = arg;
    char label[300];
    snprintf(label, sizeof label, "%s, slice %d/%d", v->name, done, total);
    app_progress_show(&v->bar, v->file + (double)done / total, v->files, label);
}

/* A warning when an input's intensities are unlike those of the domain the model translates from. */
static void translate_check_profile(const mg_cyclegan *m, const translate_opts *o, const char *path,
                                    const mg_intensity_profile *p, translate_view *view)
{
    if (!m->cfg.has_profile)
        return;
    const double d = mg_profile_distance(p, &m->cfg.profile[o->direction]);
    if (d <= MG_PROFILE_WARN)
        return;
    app_progress_clear(&view->bar);
    fprintf(stderr,
            "mrigan translate: warning: %s: its intensities are unlike the %s training data's (profile distance "
            "%.2f, above %.2f): the translation may be wrong\n",
            path, o->direction ? "B" : "A", d, MG_PROFILE_WARN);
}

static mg_status translate_volume(mg_cyclegan *m, const translate_opts *o, const translate_job *job,
                                  translate_view *view)
{
    mg_volume v = {0};
    float *values = NULL;
    mg_intensity_profile prof;
    mg_status s = mg_volume_load(job->in, &v);
    if (s == MG_OK && (s = mg_volume_profile(&v, job->in, &prof)) == MG_OK)
        translate_check_profile(m, o, job->in, &prof, view);
    if (s == MG_OK && !(values = malloc(sizeof *values * (size_t)v.dim[0] * v.dim[1] * v.dim[2])))
        s = mg_error(MG_ERR_OOM, "%s: out of memory", job->in);
    if (s == MG_OK)
        s = mg_cyclegan_translate_volume(m, o->direction, &v, job->in, (mg_slice_axis)o->slice_axis, values,
                                         translate_show_slice, view);
    char what[80];
    snprintf(what, sizeof what, "mrigan %s, %.60s", o->direction ? "T2->T1" : "T1->T2", app_base_name(o->checkpoint));
    const mg_volume_write w = {.float32 = o->float32, .description = what};
    if (s == MG_OK)
        s = mg_volume_save_like(job->out, &v, values, &w);
    free(values);
    mg_volume_free(&v);
    return s;
}

static mg_status translate_slice(mg_cyclegan *m, const translate_opts *o, const translate_job *job,
                                 translate_view *view)
{
    mg_image img = {0}, y = {0};
    mg_status s = mg_image_load_png(job->in, &img);
    mg_profile_counts c = {0};
    mg_intensity_profile prof;
    if (s == MG_OK)
        mg_profile_add(&c, &img);
    if (s == MG_OK && mg_profile_finish(&c, &prof) == MG_OK) /* an all-black slice has no profile to compare */
        translate_check_profile(m, o, job->in, &prof, view);
    if (s == MG_OK)
        s = mg_cyclegan_translate_image(m, o->direction, &img, &y);
    if (s == MG_OK)
        s = mg_image_save_png(job->out, &y, o->sixteen ? 16 : 8);
    mg_image_free(&img);
    mg_image_free(&y);
    return s;
}

/* Creates the output folder and the groups' subfolders. */
static int make_folders(const translate_opts *o, const translate_list *l)
{
    if (mg_file_make_dirs(o->out) != 0) /* its parents too, as train's --out */
        return fprintf(stderr, "mrigan translate: cannot create %s: %s\n", o->out, strerror(errno)), 1;
    for (int i = 0; l->n_groups > 1 && i < l->n; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%.*s", (int)(app_base_name(l->jobs[i].out) - l->jobs[i].out - 1), l->jobs[i].out);
        if (mg_file_make_dirs(dir) != 0)
            return fprintf(stderr, "mrigan translate: cannot create %s: %s\n", dir, strerror(errno)), 1;
    }
    return 0;
}

int cmd_translate(int argc, char **argv)
{
    translate_opts o = {.device = -1, .guide_radius = -1};
    app_option table[] = {
        APP_FILE("checkpoint", &o.checkpoint, "checkpoint file of a training run"),
        APP_CHOICE("direction", &o.direction, "a2b|b2a", "which generator: A->B (T1 to T2) or B->A"),
        APP_STRING("out", &o.out, "output folder (created)"),
        {.name = "suffix",
         .kind = OPT_STRING,
         .target = &o.suffix,
         .meta = "TEXT",
         .help = "added to each output name before its extension, e.g. _synth"},
        APP_FLAG("overwrite", &o.overwrite, true, "replace outputs that exist (never an input)"),
        APP_FLAG("16bit", &o.sixteen, true, "write 16-bit PNGs (default 8-bit)"),
        APP_FLAG("float", &o.float32, true, "write volumes as float32 in [0, 1] (default: the input's type family)"),
        {.name = "slice-axis",
         .kind = OPT_CHOICE,
         .target = &o.slice_axis,
         .choices = MG_SLICE_AXIS_CHOICES,
         .help = "volumes are translated in slices perpendicular to this",
         .def = "axial"},
        APP_TRANSLATION_OPTIONS(&o.flip_average, &o.guide_radius, &o.background),
        APP_INT("threads", &o.threads, 0, 1024, "CPU threads (0: one per core)"),
        APP_CHOICE("backend", &o.backend, MG_BACKEND_CHOICES, "compute backend (default: auto)"),
        APP_INT("device", &o.device, 0, 1000, "OpenCL device (see mrigan devices; MRIGAN_DEVICE)"),
    };
    const int n_opts = sizeof table / sizeof *table;
    const char *args[MAX_INPUTS];
    int n_args;
    app_parse_result pr = app_parse("translate", argc, argv, table, n_opts, args, MAX_INPUTS, &n_args);
    if (pr == APP_PARSE_HELP) {
        printf("usage: mrigan translate --checkpoint FILE --direction a2b|b2a --out DIR [options] INPUT...\n\n"
               "INPUT: PNG slices, NIfTI volumes (.nii, .nii.gz), or folders of them. A slice keeps its width and\n"
               "height; a volume keeps its grid (dimensions, voxel sizes, qform/sform) and its datatype family,\n"
               "with intensities 0..255 (uint8), 0..4095 (other integers) or 0..1 (float). Outputs take the input's\n"
               "name with a T1 tag turned into T2 (a2b) or T2 into T1 (b2a), plus --suffix; inputs from several\n"
               "folders go to one subfolder of --out each. A file that exists is never replaced without\n"
               "--overwrite, and an input never.\n\n");
        app_print_options(table, n_opts);
        return 0;
    }
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (!o.checkpoint || !o.out || !app_find_option(table, n_opts, "direction")->seen || n_args == 0) {
        fprintf(stderr, "mrigan translate: needs --checkpoint FILE, --direction a2b|b2a, --out DIR and at least "
                        "one input (see mrigan translate --help)\n");
        return 2;
    }
    if (o.suffix && strchr(o.suffix, '/')) {
        fprintf(stderr, "mrigan translate: --suffix %s: a suffix cannot hold a '/'\n", o.suffix);
        return 2;
    }
    translate_list l = {0};
    int rc = collect_inputs(args, n_args, &l);
    if (!rc)
        rc = plan_outputs(&o, &l);
    mg_backend *be = NULL;
    mg_cyclegan m = {0};
    if (!rc && app_open_backend("translate", o.backend, o.device, o.threads, &be) != MG_OK)
        rc = (fprintf(stderr, "mrigan translate: %s\n", mg_last_error()), 1);
    bool have_model = false;
    if (!rc && mg_cyclegan_open(o.checkpoint, be, &m) != MG_OK)
        rc = (fprintf(stderr, "mrigan translate: %s: %s\n", o.checkpoint, mg_last_error()), 1);
    else if (!rc) {
        have_model = true;
        app_apply_translation(&m, o.flip_average, o.guide_radius, o.background);
    }
    if (!rc && !m.has_generator[o.direction]) /* an export of the other direction: refused before any output */
        rc = (fprintf(stderr, "mrigan translate: %s holds no %s generator (exported with --direction %s)\n",
                      o.checkpoint, o.direction ? "B->A" : "A->B", o.direction ? "a2b" : "b2a"),
              1);
    if (!rc) /* folders last: a command refused for its model leaves nothing behind */
        rc = make_folders(&o, &l);
    translate_view view = {.files = l.n};
    app_progress_begin(&view.bar, "translate");
    int n_volumes = 0;
    for (int i = 0; !rc && i < l.n; i++) {
        view.file = i;
        view.name = app_base_name(l.jobs[i].in);
        app_progress_show(&view.bar, i, l.n, view.name);
        const bool volume = mg_volume_is_name(l.jobs[i].in);
        n_volumes += volume;
        mg_status s = volume ? translate_volume(&m, &o, &l.jobs[i], &view) : translate_slice(&m, &o, &l.jobs[i], &view);
        if (s != MG_OK) {
            app_progress_clear(&view.bar);
            rc = (fprintf(stderr, "mrigan translate: %s\n", mg_last_error()), 1);
        }
    }
    app_progress_clear(&view.bar);
    if (!rc)
        fprintf(stderr, "mrigan translate: %d slice%s and %d volume%s (%s) written to %s/\n", l.n - n_volumes,
                l.n - n_volumes == 1 ? "" : "s", n_volumes, n_volumes == 1 ? "" : "s", o.direction ? "B->A" : "A->B",
                o.out);
    if (have_model)
        mg_cyclegan_free(&m);
    mg_backend_free(be);
    list_free(&l);
    return rc;
}
