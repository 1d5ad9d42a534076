/* Training a CycleGAN through the library's public API, then translating one image with it: what `mrigan train`
 * and `mrigan translate` do, in a page.
 *
 *   train-translate A_DIR B_DIR OUT_DIR [EPOCHS]
 *
 * trains a small CycleGAN (32x32 crops, narrow networks, EPOCHS epochs plus as many of decay; 1 by default) on
 * the PNG slices of A_DIR and B_DIR into the run folder OUT_DIR, starting afresh when OUT_DIR holds an earlier
 * run of this program, and writes OUT_DIR/translated.png: the first slice of A_DIR in contrast B.
 * Built with the project (build/examples/train-translate); on the embedded phantom:
 *
 *   build/examples/train-translate data/phantom/T1 data/phantom/T2 runs/example */
#include <stdio.h>
#include <stdlib.h>

#include "mrigan/image.h"
#include "mrigan/mrigan.h"
#include "mrigan/trainer.h"

/* The trainer reports through one callback; this one prints each epoch's mean losses and every file it saves. */
static void on_event(mg_trainer *t, const mg_train_event *e, void *user)
{
    (void)t;
    (void)user;
    if (e->kind == MG_TRAIN_EPOCH)
        printf("epoch %d/%d: %.2f s an iteration, G %.3f, D_A %.3f, D_B %.3f\n", e->epoch, e->epochs,
               e->s_per_iteration, e->losses[MG_LOSS_G_TOTAL], e->losses[MG_LOSS_D_A], e->losses[MG_LOSS_D_B]);
    else if (e->kind == MG_TRAIN_SAVED)
        printf("  saved %s\n", e->path);
    else if (e->kind == MG_TRAIN_NOTICE)
        printf("  %s\n", e->message);
}

/* The first slice of dir through the model's A->B generator, at its own size, into path. */
static mg_status translate_first(mg_cyclegan *model, const char *dir, const char *path)
{
    char **names;
    int n;
    mg_status s = mg_folder_list_pngs(dir, &names, &n);
    if (s != MG_OK)
        return s;
    char *input = n > 0 ? mg_path_join(dir, names[0]) : NULL;
    mg_folder_free_names(names, n);
    if (!input)
        return MG_ERR_IO;
    mg_image in = {0}, out = {0};
    s = mg_image_load_png(input, &in);
    if (s == MG_OK)
        s = mg_cyclegan_translate_image(model, 0, &in, &out);
    if (s == MG_OK)
        s = mg_image_save_png(path, &out, 8);
    if (s == MG_OK)
        printf("translated %s (%dx%d) to %s\n", input, in.width, in.height, path);
    mg_image_free(&in);
    mg_image_free(&out);
    free(input);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s A_DIR B_DIR OUT_DIR [EPOCHS]\n", argv[0]);
        return 2;
    }
    mg_train_settings s;
    mg_train_settings_default(&s);
    s.a = argv[1];
    s.b = argv[2];
    s.out = argv[3];
    s.epochs = s.epochs_decay = argc == 5 ? atoi(argv[4]) : 1;
    s.size = 32;
    s.ngf = s.ndf = 8;
    s.overwrite = true; /* a second run of the example replaces the first */
    mg_backend *be = NULL;
    mg_trainer *t = NULL;
    mg_status st = mg_train_settings_check(&s);
    if (st == MG_OK)
        st = mg_backend_open("cpu", -1, 0, &be);
    if (st == MG_OK)
        st = mg_trainer_new(&s, be, &(mg_trainer_hooks){.on_event = on_event, .command = "(examples/train-translate)"},
                            &t);
    if (st == MG_OK)
        st = mg_trainer_run(t, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/translated.png", s.out);
    if (st == MG_OK)
        st = translate_first(mg_trainer_model(t), s.a, path);
    if (st != MG_OK)
        fprintf(stderr, "%s: %s\n", argv[0], mg_last_error());
    mg_trainer_free(t);
    mg_backend_free(be);
    return st == MG_OK ? 0 : 1;
}
