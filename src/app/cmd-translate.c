/* mrigan translate: runs one generator of a trained checkpoint over PNG slices at native resolution. Each
 * image is padded with black to the generator's multiple, translated, and cropped back, so the output has
 * exactly the input's width and height and the anatomy keeps its scale. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app-util.h"
#include "commands.h"
#include "mrigan/cyclegan.h"
#include "mrigan/image.h"
#include "options.h"

#define MAX_INPUTS 4096

typedef struct translate_opts {
    const char *checkpoint, *out;
    int direction; /* 0 a2b, 1 b2a */
    bool sixteen;
    int threads, backend, device;
} translate_opts;

/* Expands folders into their PNG files (sorted); files are kept as given. */
static int collect_inputs(const char **args, int n_args, char **files, int *n_files)
{
    *n_files = 0;
    for (int i = 0; i < n_args; i++) {
        struct stat st;
        if (stat(args[i], &st) != 0) {
            fprintf(stderr, "mrigan translate: %s: %s\n", args[i], strerror(errno));
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (*n_files == MAX_INPUTS)
                return fprintf(stderr, "mrigan translate: more than %d inputs\n", MAX_INPUTS), 1;
            files[(*n_files)++] = strdup(args[i]);
            continue;
        }
        char **names;
        int n = 0;
        if (mg_folder_list_pngs(args[i], &names, &n) != MG_OK)
            return fprintf(stderr, "mrigan translate: %s\n", mg_last_error()), 1;
        if (n == 0)
            return fprintf(stderr, "mrigan translate: %s: no .png images\n", args[i]), 1;
        int rc = 0;
        for (int k = 0; k < n && !rc; k++) {
            if (*n_files == MAX_INPUTS)
                rc = (fprintf(stderr, "mrigan translate: more than %d inputs\n", MAX_INPUTS), 1);
            else if (!(files[*n_files] = mg_path_join(args[i], names[k])))
                rc = (fprintf(stderr, "mrigan translate: out of memory\n"), 1);
            else
                (*n_files)++;
        }
        mg_folder_free_names(names, n);
        if (rc)
            return rc;
    }
    return 0;
}

/* Every output is refused before anything is written when it would replace an input slice or the checkpoint
 * (--out naming an input folder), or when two inputs share a name (the second would replace the first's
 * output). */
static int check_outputs(const translate_opts *o, char **files, int n_files)
{
    app_inputs in = {0};
    int rc = app_inputs_add(&in, o->checkpoint);
    for (int i = 0; !rc && i < n_files; i++)
        rc = app_inputs_add(&in, files[i]);
    if (rc)
        fprintf(stderr, "mrigan translate: out of memory\n");
    for (int i = 0; !rc && i < n_files; i++) {
        char out[4200];
        snprintf(out, sizeof out, "%s/%s", o->out, app_base_name(files[i]));
        if (app_inputs_has(&in, out))
            rc =
                (fprintf(stderr, "mrigan translate: the output %s would replace an input; choose another --out\n", out),
                 2);
        for (int k = 0; !rc && k < i; k++)
            if (!strcmp(app_base_name(files[k]), app_base_name(files[i])))
                rc = (fprintf(stderr, "mrigan translate: %s and %s would both be written to %s\n", files[k], files[i],
                              out),
                      2);
    }
    app_inputs_free(&in);
    return rc;
}

static mg_status translate_one(mg_cyclegan *m, const translate_opts *o, const char *in, const char *out)
{
    mg_image img = {0}, y = {0};
    mg_status s = mg_image_load_png(in, &img);
    if (s == MG_OK)
        s = mg_cyclegan_translate_image(m, o->direction, &img, &y);
    if (s == MG_OK)
        s = mg_image_save_png(out, &y, o->sixteen ? 16 : 8);
    mg_image_free(&img);
    mg_image_free(&y);
    return s;
}

int cmd_translate(int argc, char **argv)
{
    translate_opts o = {.device = -1};
    app_option table[] = {
        APP_FILE("checkpoint", &o.checkpoint, "checkpoint file of a training run"),
        APP_CHOICE("direction", &o.direction, "a2b|b2a", "which generator to run"),
        APP_STRING("out", &o.out, "output folder (created; files keep their names)"),
        APP_FLAG("16bit", &o.sixteen, true, "write 16-bit PNGs (default 8-bit)"),
        APP_INT("threads", &o.threads, 0, 1024, "CPU threads (0: one per core)"),
        APP_CHOICE("backend", &o.backend, MG_BACKEND_CHOICES, "compute backend (default: auto)"),
        APP_INT("device", &o.device, 0, 1000, "OpenCL device (see mrigan devices; MRIGAN_DEVICE)"),
    };
    const int n_opts = sizeof table / sizeof *table;
    const char *args[MAX_INPUTS];
    int n_args;
    app_parse_result pr = app_parse("translate", argc, argv, table, n_opts, args, MAX_INPUTS, &n_args);
    if (pr == APP_PARSE_HELP) {
        printf("usage: mrigan translate --checkpoint FILE --direction a2b|b2a --out DIR INPUT...\n"
               "INPUT: PNG files or folders of them. Outputs have the inputs' names, width and height.\n\n");
        app_print_options(table, n_opts);
        return 0;
    }
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (!o.checkpoint || !o.out || !table[1].seen || n_args == 0) {
        fprintf(stderr, "mrigan translate: needs --checkpoint FILE, --direction a2b|b2a, --out DIR and at least "
                        "one input (see mrigan translate --help)\n");
        return 2;
    }
    char **files = calloc(MAX_INPUTS, sizeof *files);
    int n_files = 0, rc = files ? collect_inputs(args, n_args, files, &n_files) : 1;
    if (!rc)
        rc = check_outputs(&o, files, n_files);
    if (!rc && mkdir(o.out, 0777) != 0 && errno != EEXIST)
        rc = (fprintf(stderr, "mrigan translate: cannot create %s: %s\n", o.out, strerror(errno)), 1);
    mg_backend *be = NULL;
    mg_cyclegan m = {0};
    if (!rc && app_open_backend("translate", o.backend, o.device, o.threads, &be) != MG_OK)
        rc = (fprintf(stderr, "mrigan translate: %s\n", mg_last_error()), 1);
    bool have_model = false;
    if (!rc && mg_cyclegan_open(o.checkpoint, be, &m) != MG_OK)
        rc = (fprintf(stderr, "mrigan translate: %s: %s\n", o.checkpoint, mg_last_error()), 1);
    else if (!rc)
        have_model = true;
    for (int i = 0; !rc && i < n_files; i++) {
        char out[4096];
        if (snprintf(out, sizeof out, "%s/%s", o.out, app_base_name(files[i])) >= (int)sizeof out)
            rc = (fprintf(stderr, "mrigan translate: output path too long for %s\n", files[i]), 1);
        else if (translate_one(&m, &o, files[i], out) != MG_OK)
            rc = (fprintf(stderr, "mrigan translate: %s\n", mg_last_error()), 1);
    }
    if (!rc)
        fprintf(stderr, "mrigan translate: %d image%s (%s) written to %s/\n", n_files, n_files == 1 ? "" : "s",
                o.direction ? "B->A" : "A->B", o.out);
    if (have_model)
        mg_cyclegan_free(&m);
    mg_backend_free(be);
    for (int i = 0; files && i < n_files; i++)
        free(files[i]);
    free(files);
    return rc;
}
