/* Helpers shared by the subcommands: file names, opening the backend, the files a command reads. Messages start
 * with "mrigan <cmd>:". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app-util.h"
#include "mrigan/opencl.h"
#include "mrigan/trainer.h"

const char *app_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

mg_status app_open_backend(const char *cmd, int kind, int device, int threads, mg_backend **out)
{
    char name[32];
    mg_status s =
        mg_backend_open(mg_setting_choice_name(MG_BACKEND_CHOICES, kind, name, sizeof name), device, threads, out);
    if (s == MG_OK && kind == 0)
        fprintf(stderr, "mrigan %s: --backend auto chose %s (%s)\n", cmd, mg_backend_name(*out),
                mg_backend_device(*out));
    return s;
}

int app_rank_device(int kind, int device, const mg_dist *d)
{
    if (device >= 0 || getenv("MRIGAN_DEVICE") || mg_dist_size(d) == 1 || kind == 1)
        return device;
    mg_device_info list[32];
    int n = 0, pick[32], n_pick = 0;
    if (mg_opencl_devices(list, 32, &n) != MG_OK)
        return device;
    for (int i = 0; i < n && i < 32; i++)
        if (kind == 2 || list[i].gpu) /* auto takes GPUs only, or else the CPU backend */
            pick[n_pick++] = i;
    return n_pick ? pick[mg_dist_local_rank(d) % n_pick] : device;
}

int app_agree(mg_dist *d, int rc)
{
    int failed = rc != 0;
    if (mg_dist_max(d, &failed, 1) != MG_OK)
        return rc ? rc : 1;
    return rc ? rc : failed;
}

void app_apply_translation(mg_cyclegan *m, int flip_average, int guide_radius, int background)
{
    if (background)
        mg_cyclegan_set_background(m, background == 1 ? MG_BACKGROUND_KEEP : MG_BACKGROUND_FLAT);
    if (flip_average)
        mg_cyclegan_set_flip_average(m, flip_average == 1);
    if (guide_radius >= 0) /* with the model's eps (the default where it was trained without the filter) */
        mg_cyclegan_set_guide(m, guide_radius, m->cfg.guide_eps);
}

int app_inputs_add(app_inputs *in, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (in->n == in->cap) {
        int cap = in->cap ? 2 * in->cap : 16;
        void *p = realloc(in->ids, (size_t)cap * sizeof *in->ids);
        if (!p)
            return 1;
        in->ids = p;
        in->cap = cap;
    }
    in->ids[in->n++] = (struct app_file_id){st.st_dev, st.st_ino};
    return 0;
}

bool app_inputs_has(const app_inputs *in, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    for (int i = 0; i < in->n; i++)
        if (in->ids[i].dev == st.st_dev && in->ids[i].ino == st.st_ino)
            return true;
    return false;
}

void app_inputs_free(app_inputs *in)
{
    free(in->ids);
    *in = (app_inputs){0};
}
