/* Helpers shared by the subcommands. */
#ifndef MRIGAN_APP_UTIL_H
#define MRIGAN_APP_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "mrigan/cyclegan.h"
#include "mrigan/dist.h"
#include "mrigan/image.h"

const char *app_base_name(const char *path);
/* The backend of --backend (0 auto, 1 cpu, 2 opencl), --device and --threads; with auto, says on stderr which
 * it chose ("mrigan <cmd>: --backend auto chose ..."). */
mg_status app_open_backend(const char *cmd, int kind, int device, int threads, mg_backend **out);
/* The --device of a process of a distributed run where neither --device nor MRIGAN_DEVICE says: its local rank's
 * turn among the machine's OpenCL devices (GPUs only with --backend auto), so that the processes of one machine
 * spread over them; else device as given. */
int app_rank_device(int kind, int device, const mg_dist *d);
/* An exit code agreed by the processes of a distributed run before they go on together: this one's own (it has said
 * why), else 1 when another's failed (which has said why), else 0. */
int app_agree(mg_dist *d, int rc);

/* How the commands that translate with a checkpoint translate (options.h's table entries): --flip-average, 0
 * auto, as the model was trained (mrigan train --no-flip-average), 1 on, 2 off; --guide-radius, the guided filter's
 * radius (0: off), as the model was trained while it holds -1 (the value to start from); --background, 0 auto (as
 * trained), 1 keep, 2 flat. */
#define APP_TRANSLATION_OPTIONS(flip, guide, background)                                                               \
    APP_CHOICE("flip-average", flip, "auto|on|off",                                                                    \
               "translate each slice and its mirror and average them: as the model was trained (auto), or on or off"), \
        APP_INT("guide-radius", guide, 0, MG_GUIDE_RADIUS_MAX,                                                         \
                "refit each translation as local lines of its input in windows of this radius, 0: off (default: as "   \
                "the model was trained)"),                                                                             \
        APP_CHOICE("background", background, "auto|keep|flat",                                                         \
                   "make the air around a head flat in each translation, or keep it as the generator left it: as the " \
                   "model was trained (auto), keep or flat")
void app_apply_translation(mg_cyclegan *m, int flip_average, int guide_radius, int background);

/* Files a command reads, so that nothing it writes can replace one of them (by any path or link to it). */
typedef struct app_inputs {
    int n, cap;
    struct app_file_id {
        dev_t dev;
        ino_t ino;
    } *ids;
} app_inputs;

/* Adds the file at path (skipped when it does not exist); 0, or 1 when out of memory. */
int app_inputs_add(app_inputs *in, const char *path);
/* Whether writing path would replace one of the inputs. */
bool app_inputs_has(const app_inputs *in, const char *path);
void app_inputs_free(app_inputs *in);

#endif
