/* Helpers shared by the subcommands. */
#ifndef MRIGAN_APP_UTIL_H
#define MRIGAN_APP_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include "mrigan/cyclegan.h"
#include "mrigan/image.h"

const char *app_base_name(const char *path);
/* dir/name, or name alone when dir is NULL or name is absolute; NULL when out of memory. */
char *app_path_join(const char *dir, const char *name);

/* Pairs of files: a is the prediction or A input, b the target or B input; paths as opened. */
typedef struct app_pair {
    char *a, *b;
} app_pair;

typedef struct app_pair_list {
    app_pair *items;
    int n, cap;
} app_pair_list;

void app_pairs_free(app_pair_list *l);
/* Appends (a, b), taking ownership of both strings (freed on failure). 0 or 1 (message printed). */
int app_pairs_add(const char *cmd, app_pair_list *l, char *a, char *b);
/* Pairs every PNG of dir_a with the file of dir_b of the same name or, failing that, the one whose name differs
 * only in a T1/T2/T1w/T2w tag. 0, or 1 with a message "mrigan <cmd>: ..." naming the file. */
int app_pairs_from_folders(const char *cmd, const char *dir_a, const char *dir_b, app_pair_list *l);

/* The backend of --backend (0 auto, 1 cpu, 2 opencl), --device and --threads; with auto, says on stderr which
 * it chose ("mrigan <cmd>: --backend auto chose ..."). */
mg_status app_open_backend(const char *cmd, int kind, int device, int threads, mg_backend **out);

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
