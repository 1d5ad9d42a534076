/* Helpers shared by the subcommands. */
#ifndef MRIGAN_APP_UTIL_H
#define MRIGAN_APP_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "mrigan/cyclegan.h"
#include "mrigan/image.h"

const char *app_base_name(const char *path);
/* The backend of --backend (0 auto, 1 cpu, 2 opencl), --device and --threads; with auto, says on stderr which
 * it chose ("mrigan <cmd>: --backend auto chose ..."). */
mg_status app_open_backend(const char *cmd, int kind, int device, int threads, mg_backend **out);

/* --flip-average of the commands that translate with a checkpoint (options.h's table entry): 0 auto, as the model
 * was trained (mrigan train --no-flip-average), 1 on, 2 off. */
#define APP_FLIP_AVERAGE_OPTION(t)                                                                                     \
    APP_CHOICE("flip-average", t, "auto|on|off",                                                                       \
               "translate each slice and its mirror and average them: as the model was trained (auto), or on or off")
void app_apply_flip_average(mg_cyclegan *m, int choice);

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
