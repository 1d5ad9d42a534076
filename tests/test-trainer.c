/* The trainer's public API (mrigan/trainer.h) on the embedded phantom, with narrow networks on 32x32 crops:
 *   1. settings: the check refuses what no run can start, naming the option, and accepts the "off" defaults;
 *   2. events: a whole run reports BEGIN once, every iteration, every epoch with finite means, and its saves;
 *      mg_trainer_step after the end is refused;
 *   3. stop: a stop asked during an epoch's last iteration ends the epoch first, so that latest.ckpt stands at
 *      the next epoch and the run resumes (it used to save iteration n_iter of the old epoch, which no resume
 *      accepted), and the resumed run finishes;
 *   4. a stop ends one mg_trainer_run and the next goes on; stepping by hand with mg_trainer_step: both give the
 *      checkpoint of the uninterrupted mg_trainer_run, bit for bit;
 *   5. an epoch's end that fails is taken up again by the next save, written once;
 *   6. resume refuses a crop size the checkpoint's generator cannot take;
 *   7. a folder holding someone's files is refused and left as it was;
 *   8. whole slices (--size 0) of several sizes: the crop is their extent rounded up to the generator's multiple
 *      (the U-Net fitted to it), a stopped and resumed run ends as the uninterrupted one, and a resume whose
 *      folders now give another extent is refused by the history pools' check; the default schedule (epochs -1)
 *      is sized by iterations.
 * usage: test-trainer DATA/phantom */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mrigan/blas.h"
#include "mrigan/trainer.h"

#include "check.h"

static char tmp[64], dir_a[4096], dir_b[4096];
static mg_backend *be;

static void settings_small(mg_train_settings *s, const char *out)
{
    mg_train_settings_default(s);
    s->a = dir_a;
    s->b = dir_b;
    s->out = out;
    s->size = 32;
    s->ngf = s->ndf = 4;
    s->epochs = s->epochs_decay = 1;
    s->save_every_iterations = 5;
}

static char *tmp_path(const char *name)
{
    static char buf[8][4200];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", tmp, name);
    return p;
}

static void test_settings(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("unused"));
    CHECK(mg_train_settings_check(&s) == MG_OK, "the small settings: %s", mg_last_error());
    s.load_size = 0; /* the default, "off", is below the range 16..4096 */
    s.device = -1;
    CHECK(mg_train_settings_check(&s) == MG_OK, "load_size 0 and device -1 (off): %s", mg_last_error());
    s.size = 48;
    s.generator = MG_GEN_UNET;
    CHECK(mg_train_settings_check(&s) == MG_ERR_ARG && strstr(mg_last_error(), "--size") &&
              strstr(mg_last_error(), "multiple of 32"),
          "size 48 for the unet: %s", mg_last_error());
    s.generator = MG_GEN_RESNET;
    s.size = 46;
    CHECK(mg_train_settings_check(&s) == MG_ERR_ARG && strstr(mg_last_error(), "multiple of 4"),
          "size 46 for the resnet: %s", mg_last_error());
    s.size = 32;
    s.lr = 2;
    CHECK(mg_train_settings_check(&s) == MG_ERR_ARG && strstr(mg_last_error(), "--lr"), "lr 2: %s", mg_last_error());
    s.lr = NAN;
    CHECK(mg_train_settings_check(&s) == MG_ERR_ARG && strstr(mg_last_error(), "--lr"), "lr NaN: %s", mg_last_error());
    s.lr = 2e-4f;
    s.gan_mode = 2;
    CHECK(mg_train_settings_check(&s) == MG_ERR_ARG && strstr(mg_last_error(), "--gan-mode"), "gan_mode 2: %s",
          mg_last_error());
    s.gan_mode = 0;
    s.epochs = s.epochs_decay = 0;
    CHECK(mg_train_settings_check(&s) == MG_ERR_ARG && strstr(mg_last_error(), "nothing to train"), "no epochs: %s",
          mg_last_error());
    s.epochs = 1;
    s.val_a = dir_a;
    CHECK(mg_train_settings_check(&s) == MG_ERR_ARG && strstr(mg_last_error(), "--val-b"), "val_a alone: %s",
          mg_last_error());
    s.val_a = NULL;
    s.b = NULL;
    CHECK(mg_train_settings_check(&s) == MG_ERR_ARG && strstr(mg_last_error(), "--b"), "no b: %s", mg_last_error());
    char buf[64];
    s.generator = 1;
    CHECK(!strcmp(mg_setting_format(&s, MG_SET_GENERATOR, buf, sizeof buf), "resnet"), "generator as text: %s", buf);
    CHECK(!strcmp(mg_setting_format(&s, MG_SET_LR, buf, sizeof buf), "0.0002"), "lr as text: %s", buf);
    /* the generator choice is the list of generators.def, and each name reads back as its kind */
    CHECK(mg_setting_choice_count(mg_settings[MG_SET_GENERATOR].choices) == MG_GEN_COUNT, "%d generator choices",
          mg_setting_choice_count(mg_settings[MG_SET_GENERATOR].choices));
    for (int k = 0; k < MG_GEN_COUNT; k++) {
        mg_gen_kind back = MG_GEN_COUNT;
        mg_setting_choice_name(mg_settings[MG_SET_GENERATOR].choices, k, buf, sizeof buf);
        CHECK(!strcmp(buf, mg_generator_names[k]) && mg_generator_kind_of(buf, &back) == MG_OK &&
                  back == (mg_gen_kind)k,
              "generator %d: choice '%s', name '%s'", k, buf, mg_generator_names[k]);
    }
    /* --backend's choices: auto, then every backend of backends.def, each of which the registry knows */
    CHECK(!strcmp(mg_settings[MG_SET_BACKEND].choices, MG_BACKEND_CHOICES) &&
              !strcmp(mg_setting_choice_name(MG_BACKEND_CHOICES, 0, buf, sizeof buf), "auto"),
          "backend choices: %s", mg_settings[MG_SET_BACKEND].choices);
    int n_backends = 0;
    for (; mg_backend_names[n_backends]; n_backends++) {
        mg_setting_choice_name(MG_BACKEND_CHOICES, n_backends + 1, buf, sizeof buf);
        CHECK(!strcmp(buf, mg_backend_names[n_backends]), "backend choice %d: %s", n_backends + 1, buf);
    }
    CHECK(n_backends + 1 == mg_setting_choice_count(MG_BACKEND_CHOICES) && mg_backend_built("cpu") &&
              !mg_backend_built("vulkan"),
          "%d backends", n_backends);
    mg_backend *nope = NULL;
    CHECK(mg_backend_open("vulkan", -1, 1, &nope) == MG_ERR_ARG && !nope && strstr(mg_last_error(), "auto|cpu"),
          "an unknown backend: %s", mg_last_error());
    mg_gen_kind none;
    CHECK(mg_generator_kind_of("vit", &none) == MG_ERR_FORMAT && strstr(mg_last_error(), "unet|resnet"),
          "an unknown generator: %s", mg_last_error());
    report(before, "settings: the check refuses what no run can start, naming the option; off values pass; the "
                   "generator choices are generators.def's");
}

/* What a run reported, counted by kind. */
typedef struct tally {
    int n[MG_TRAIN_NOTICE + 1];
    int epochs_finite, latest_saves, stop_at; /* stop_at: ask for a stop at this iteration of the epoch (0: never) */
    int misdated;                             /* SAVED events of epoch_NNN files whose epoch is not NNN */
    int dist_positive;                        /* iterations whose intensity losses are both positive and finite */
    int prior_positive, prior_late; /* iterations with both prior losses positive and finite; with one after the fade */
    long prior_until;               /* the fade's end: prior_iterations */
    long last_iteration;
} tally;

static void on_event(mg_trainer *t, const mg_train_event *e, void *user)
{
    tally *y = user;
    y->n[e->kind]++;
    if (e->kind == MG_TRAIN_ITERATION) {
        y->last_iteration = e->iteration;
        y->dist_positive += e->losses[MG_LOSS_DIST_AB] > 0 && e->losses[MG_LOSS_DIST_BA] > 0 &&
                            isfinite(e->losses[MG_LOSS_DIST_AB]) && isfinite(e->losses[MG_LOSS_DIST_BA]);
        const float pa = e->losses[MG_LOSS_PRIOR_AB], pb = e->losses[MG_LOSS_PRIOR_BA];
        if (e->iteration - 1 < y->prior_until) /* the event comes after the step: the run stands one further */
            y->prior_positive += pa > 0 && pb > 0 && isfinite(pa) && isfinite(pb);
        else
            y->prior_late += pa != 0 || pb != 0;
        if (y->stop_at && e->iter_in_epoch == y->stop_at) {
            mg_trainer_stop(t);
            y->stop_at = 0; /* once */
        }
    }
    if (e->kind == MG_TRAIN_EPOCH) {
        bool finite = true;
        for (int i = 0; i < MG_LOSS_COUNT; i++)
            finite = finite && isfinite(e->losses[i]);
        y->epochs_finite += finite;
    }
    if (e->kind == MG_TRAIN_SAVED && strstr(e->path, "/latest.ckpt"))
        y->latest_saves++;
    const char *numbered = e->kind == MG_TRAIN_SAVED ? strstr(e->path, "/epoch_") : NULL;
    if (numbered && atoi(numbered + 7) != e->epoch)
        y->misdated++;
}

static void test_events(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("events"));
    tally y = {0};
    mg_trainer *t;
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    MUST(mg_trainer_new(&s, be, &(mg_trainer_hooks){.on_event = on_event, .user = &y}, &t));
    mg_train_info in;
    mg_trainer_info(t, &in);
    int n_iter = in.n_iter;
    CHECK(in.seconds_setup > 0.0 && in.seconds_steps == 0.0 && in.seconds_outputs == 0.0,
          "a new trainer's time: setup %g, steps %g, outputs %g", in.seconds_setup, in.seconds_steps,
          in.seconds_outputs);
    CHECK(n_iter == 24 && in.epoch == 1 && in.iteration == 0 && in.saved_iteration == -1, "a new run: %d iterations",
          n_iter);
    mg_train_end why;
    MUST(mg_trainer_run(t, &why));
    clock_gettime(CLOCK_MONOTONIC, &w1);
    mg_trainer_info(t, &in);
    /* the time accounted for: each part once, all of them within the time the calls took */
    double wall = (double)(w1.tv_sec - w0.tv_sec) + 1e-9 * (double)(w1.tv_nsec - w0.tv_nsec);
    double sum = in.seconds_setup + in.seconds_steps + in.seconds_validation + in.seconds_outputs;
    CHECK(in.seconds_steps > 0.0 && in.seconds_outputs > 0.0 && in.seconds_validation == 0.0 && sum <= wall &&
              sum > 0.5 * wall,
          "time: setup %g, steps %g, validation %g, outputs %g, of %g s", in.seconds_setup, in.seconds_steps,
          in.seconds_validation, in.seconds_outputs, wall);
    CHECK(why == MG_TRAIN_FINISHED && in.finished && in.iteration == 2L * n_iter && in.n_epochs == 2,
          "the run ends finished after both epochs: why %d, iteration %ld", (int)why, in.iteration);
    CHECK(y.n[MG_TRAIN_BEGIN] == 1 && y.n[MG_TRAIN_ITERATION] == 2 * n_iter && y.n[MG_TRAIN_EPOCH] == 2 &&
              y.n[MG_TRAIN_EPOCH_END] == 2 && y.epochs_finite == 2 && y.n[MG_TRAIN_VALIDATION] == 0,
          "events: begin %d, iterations %d, epochs %d (%d finite), epoch ends %d", y.n[MG_TRAIN_BEGIN],
          y.n[MG_TRAIN_ITERATION], y.n[MG_TRAIN_EPOCH], y.epochs_finite, y.n[MG_TRAIN_EPOCH_END]);
    /* every 5 global iterations within an epoch (5..20, then 25..45) and at each epoch's end (24, 48) */
    CHECK(y.latest_saves == 11, "latest.ckpt saved %d times (want 11)", y.latest_saves);
    CHECK(y.misdated == 0, "%d SAVED events of numbered files carry another epoch", y.misdated);
    CHECK(mg_trainer_step(t) == MG_ERR_ARG && strstr(mg_last_error(), "finished"), "a step after the end: %s",
          mg_last_error());
    mg_trainer_free(t);
    struct stat st;
    CHECK(stat(tmp_path("events/epoch_002.ckpt"), &st) == 0 &&
              stat(tmp_path("events/samples/epoch_002.png"), &st) == 0 &&
              stat(tmp_path("events/config.txt"), &st) == 0 && stat(tmp_path("events/epochs.csv"), &st) == 0,
          "the run folder lacks its files");
    report(before, "events: begin, every iteration, every epoch with finite means, the saves; no step past the end");
}

/* The weights of a checkpoint file, as one blob for comparison (entry names and values). */
static bool same_checkpoints(const char *p, const char *q)
{
    mg_ckpt a, b;
    if (mg_ckpt_load(p, &a) != MG_OK)
        return false;
    if (mg_ckpt_load(q, &b) != MG_OK)
        return mg_ckpt_free(&a), false;
    bool same = a.n_entries == b.n_entries;
    for (int i = 0; same && i < a.n_entries; i++)
        same = !strcmp(a.entries[i].name, b.entries[i].name) && a.entries[i].numel == b.entries[i].numel &&
               !memcmp(a.entries[i].data, b.entries[i].data, a.entries[i].numel * sizeof(float));
    mg_ckpt_free(&a);
    mg_ckpt_free(&b);
    return same;
}

/* A new run of s (hooks may be NULL) trained as far as it goes; how it ended. */
static mg_train_end train_whole(const mg_train_settings *s, const mg_trainer_hooks *hooks)
{
    mg_trainer *t;
    mg_train_end why;
    MUST(mg_trainer_new(s, be, hooks, &t));
    MUST(mg_trainer_run(t, &why));
    mg_trainer_free(t);
    return why;
}

/* The text of the configuration key `key` in checkpoint `path` into w (w[0] = 0 when it is absent). */
static void ckpt_text(const char *path, const char *key, char *w, size_t n)
{
    mg_ckpt c;
    MUST(mg_ckpt_load(path, &c));
    if (mg_ckpt_get(&c, key, w, n) != MG_OK)
        w[0] = 0;
    mg_ckpt_free(&c);
}

static void test_stop_at_epoch_end(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("stop"));
    tally y = {.stop_at = 24};
    mg_trainer *t;
    MUST(mg_trainer_new(&s, be, &(mg_trainer_hooks){.on_event = on_event, .user = &y}, &t));
    mg_train_end why;
    MUST(mg_trainer_run(t, &why));
    mg_train_info in;
    mg_trainer_info(t, &in);
    CHECK(why == MG_TRAIN_STOPPED && in.epoch == 2 && in.iter_in_epoch == 0 && in.iteration == 24 &&
              in.saved_iteration == 24 && y.n[MG_TRAIN_EPOCH_END] == 1,
          "stopped in the last iteration: why %d, epoch %d, iteration %d of it, saved at %ld", (int)why, in.epoch,
          in.iter_in_epoch, in.saved_iteration);
    mg_trainer_free(t);
    tally z = {0};
    mg_train_settings each;
    mg_train_settings_default(&each);
    mg_status st =
        mg_trainer_resume(tmp_path("stop"), &each, be, &(mg_trainer_hooks){.on_event = on_event, .user = &z}, &t);
    CHECK(st == MG_OK, "the run does not resume: %s", mg_last_error());
    if (st == MG_OK) {
        mg_trainer_info(t, &in);
        CHECK(in.epoch == 2 && in.iteration == 24 && in.n_epochs == 1 && in.settings->ngf == 4 &&
                  in.settings->size == 32,
              "resumed at epoch %d, iteration %ld, %d epochs of history, ngf %d", in.epoch, in.iteration, in.n_epochs,
              in.settings->ngf);
        CHECK(mg_trainer_run(t, &why) == MG_OK && why == MG_TRAIN_FINISHED, "the resumed run: %s", mg_last_error());
        mg_trainer_free(t);
        CHECK(same_checkpoints(tmp_path("stop/latest.ckpt"), tmp_path("events/latest.ckpt")),
              "stopped and resumed, the run ends elsewhere than the uninterrupted one");
    }
    report(before,
           "stop in an epoch's last iteration: the epoch ends first, the run resumes and ends as uninterrupted");
}

/* A stop ends mg_trainer_run once; the next call goes on in the same trainer, to the same end. */
static void test_stop_and_go(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("go"));
    tally y = {.stop_at = 3};
    mg_trainer *t;
    MUST(mg_trainer_new(&s, be, &(mg_trainer_hooks){.on_event = on_event, .user = &y}, &t));
    mg_train_end why, why2;
    MUST(mg_trainer_run(t, &why));
    mg_train_info in;
    mg_trainer_info(t, &in);
    CHECK(why == MG_TRAIN_STOPPED && in.iteration == 3 && in.saved_iteration == 3, "stopped: why %d at %ld", (int)why,
          in.iteration);
    MUST(mg_trainer_run(t, &why2));
    mg_trainer_info(t, &in);
    CHECK(why2 == MG_TRAIN_FINISHED && in.finished, "the second run: why %d", (int)why2);
    mg_trainer_free(t);
    CHECK(same_checkpoints(tmp_path("go/latest.ckpt"), tmp_path("events/latest.ckpt")),
          "stopped and run again, the run ends elsewhere than the uninterrupted one");
    report(before, "a stop ends one mg_trainer_run; the next goes on to the uninterrupted run's end");
}

/* --batch-size 5 on the phantom's 24 slices: ceil(24 / 5) = 5 iterations an epoch; a run stopped inside an epoch
 * and resumed from latest.ckpt ends as the uninterrupted one, bit for bit; a batch of one is the default run. */
static void test_batch(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("batch"));
    s.batch_size = 5;
    mg_trainer *t;
    MUST(mg_trainer_new(&s, be, NULL, &t));
    mg_train_info in;
    mg_trainer_info(t, &in);
    const int n_iter = in.n_iter;
    MUST(mg_trainer_run(t, NULL));
    mg_trainer_info(t, &in);
    CHECK(n_iter == ((in.n_a > in.n_b ? in.n_a : in.n_b) + 4) / 5 && in.iteration == 2L * n_iter,
          "%d iterations an epoch for %d and %d slices, %ld in all", n_iter, in.n_a, in.n_b, in.iteration);
    mg_trainer_free(t);
    settings_small(&s, tmp_path("batch-stopped"));
    s.batch_size = 5;
    s.max_iterations = 3;
    train_whole(&s, NULL);
    mg_train_settings each;
    mg_train_settings_default(&each);
    MUST(mg_trainer_resume(tmp_path("batch-stopped"), &each, be, NULL, &t));
    mg_trainer_info(t, &in);
    CHECK(in.settings->batch_size == 5 && in.iteration == 3, "resumed: batch %d at %ld", in.settings->batch_size,
          in.iteration);
    MUST(mg_trainer_run(t, NULL));
    mg_trainer_free(t);
    CHECK(same_checkpoints(tmp_path("batch/latest.ckpt"), tmp_path("batch-stopped/latest.ckpt")),
          "a batched run stopped and resumed ends elsewhere than the uninterrupted one");
    CHECK(!same_checkpoints(tmp_path("batch/latest.ckpt"), tmp_path("events/latest.ckpt")),
          "a batch of 5 trains exactly as a batch of 1");
    report(before, "--batch-size: iterations an epoch, resumed mid-epoch as the uninterrupted run");
}

/* At BEGIN, samples/ becomes a file: the first epoch's end fails at its samples. */
static void on_begin_break_samples(mg_trainer *t, const mg_train_event *e, void *user)
{
    (void)t;
    (void)user;
    if (e->kind != MG_TRAIN_BEGIN)
        return;
    char *dir = tmp_path("broken/samples");
    FILE *f = NULL;
    CHECK(rmdir(dir) == 0 && (f = fopen(dir, "w")) && fclose(f) == 0, "cannot replace %s by a file", dir);
}

/* An epoch's end that fails (here its samples) leaves no state a resume would refuse: a save takes the end up
 * again where it stopped, once the disk is writable, and the run ends as the uninterrupted one. */
static void test_failed_epoch_end(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("broken"));
    mg_trainer *t;
    MUST(mg_trainer_new(&s, be, &(mg_trainer_hooks){.on_event = on_begin_break_samples}, &t));
    mg_train_end why;
    mg_status st = mg_trainer_run(t, &why);
    mg_train_info in;
    mg_trainer_info(t, &in);
    CHECK(st != MG_OK && strstr(mg_last_error(), "samples") && in.epoch == 1 && in.saved_iteration == 20,
          "the failed end: status %d (%s), epoch %d, saved at %ld", (int)st, mg_last_error(), in.epoch,
          in.saved_iteration);
    CHECK(mg_trainer_save(t) != MG_OK, "a save while samples/ is still a file succeeded");
    CHECK(unlink(tmp_path("broken/samples")) == 0 && mkdir(tmp_path("broken/samples"), 0777) == 0, "cannot repair");
    CHECK(mg_trainer_save(t) == MG_OK, "the save that takes the end up again: %s", mg_last_error());
    mg_trainer_info(t, &in);
    CHECK(in.epoch == 2 && in.iter_in_epoch == 0 && in.saved_iteration == 24 && in.n_epochs == 1,
          "after the repaired end: epoch %d, iteration %d of it, saved at %ld, %d epochs of history", in.epoch,
          in.iter_in_epoch, in.saved_iteration, in.n_epochs);
    CHECK(mg_trainer_run(t, &why) == MG_OK && why == MG_TRAIN_FINISHED, "the rest of the run: %s", mg_last_error());
    mg_trainer_free(t);
    CHECK(same_checkpoints(tmp_path("broken/latest.ckpt"), tmp_path("events/latest.ckpt")),
          "after a failed epoch end, the run ends elsewhere than the uninterrupted one");
    FILE *f = fopen(tmp_path("broken/epochs.csv"), "r");
    int lines = 0;
    for (int c; f && (c = fgetc(f)) != EOF;)
        lines += c == '\n';
    if (f)
        fclose(f);
    CHECK(lines == 3, "epochs.csv has %d lines (want a header and 2 rows)", lines);
    report(before, "a failed epoch end is taken up again by the next save, written once, and the run ends as usual");
}

/* A checkpoint whose crop size the generator cannot take is refused on resume, before the folder is touched. */
static void test_resume_bad_size(void)
{
    int before = failures;
    mg_ckpt c;
    MUST(mg_ckpt_load(tmp_path("stop/latest.ckpt"), &c));
    mkdir(tmp_path("crafted"), 0777);
    MUST(mg_ckpt_set(&c, "run.size", "42"));
    MUST(mg_ckpt_save(&c, tmp_path("crafted/latest.ckpt")));
    mg_ckpt_free(&c);
    mg_trainer *t = NULL;
    mg_status st = mg_trainer_resume(tmp_path("crafted"), NULL, be, NULL, &t);
    struct stat sb;
    CHECK(st == MG_ERR_FORMAT && !t && strstr(mg_last_error(), "--size 42") && strstr(mg_last_error(), "multiple of 4"),
          "run.size 42: status %d, %s", (int)st, mg_last_error());
    CHECK(stat(tmp_path("crafted/config.txt"), &sb) != 0 && stat(tmp_path("crafted/samples"), &sb) != 0,
          "the refused resume wrote into the folder");
    report(before, "resume refuses a crop size the generator cannot take, writing nothing");
}

static void test_steps(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("steps"));
    mg_trainer *t;
    MUST(mg_trainer_new(&s, be, NULL, &t));
    mg_train_info in;
    int steps = 0;
    for (mg_trainer_info(t, &in); !in.finished && steps < 1000; mg_trainer_info(t, &in), steps++)
        MUST(mg_trainer_step(t));
    mg_trainer_free(t);
    CHECK(steps == 48, "%d steps (want 48)", steps);
    CHECK(same_checkpoints(tmp_path("steps/latest.ckpt"), tmp_path("events/latest.ckpt")),
          "stepping by hand ends elsewhere than mg_trainer_run");
    report(before, "mg_trainer_step by hand equals mg_trainer_run bit for bit");
}

static void test_folder_refused(void)
{
    int before = failures;
    char *dir = tmp_path("theirs"), *file = tmp_path("theirs/notes.txt");
    mkdir(dir, 0777);
    FILE *f = fopen(file, "w");
    CHECK(f && fputs("mine\n", f) >= 0 && fclose(f) == 0, "cannot write %s", file);
    mg_train_settings s;
    settings_small(&s, dir);
    mg_trainer *t = NULL;
    CHECK(mg_trainer_new(&s, be, NULL, &t) == MG_ERR_ARG && !t && strstr(mg_last_error(), "already holds files"),
          "a folder of files: %s", mg_last_error());
    s.overwrite = true;
    CHECK(mg_trainer_new(&s, be, NULL, &t) == MG_ERR_ARG && !t && strstr(mg_last_error(), "no mrigan run"),
          "overwrite on a folder of files: %s", mg_last_error());
    struct stat st;
    CHECK(stat(file, &st) == 0 && st.st_size == 5 && stat(tmp_path("theirs/samples"), &st) != 0,
          "the folder was changed");
    CHECK(mg_trainer_resume(dir, NULL, be, NULL, &t) == MG_ERR_IO && !t && strstr(mg_last_error(), "latest.ckpt"),
          "resume of a folder without a run: %s", mg_last_error());
    report(before, "a folder of someone's files is refused, with or without overwrite, and left as it was");
}

/* A w x h PNG of a smooth pattern (seeded by k), anatomy everywhere. */
static void save_slice(const char *path, int w, int h, int k)
{
    mg_image img;
    MUST(mg_image_new(w, h, &img));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img.data[y * w + x] = 0.8f * sinf(0.3f * (float)(x + k) + 0.2f * (float)y * (float)(k + 1) / 3.0f);
    MUST(mg_image_save_png(path, &img, 8));
    mg_image_free(&img);
}

/* Trains s into out, stopped at iteration stop_at of the first epoch, resumes from latest.ckpt to the end and checks
 * that the run ends as the uninterrupted one in `reference`, bit for bit; `what` names the run in messages. */
static void check_stopped_and_resumed(const mg_train_settings *s, const char *out, int stop_at, const char *reference,
                                      const char *what)
{
    mg_train_settings here = *s;
    here.out = out;
    tally y = {.stop_at = stop_at};
    mg_train_end why = train_whole(&here, &(mg_trainer_hooks){.on_event = on_event, .user = &y});
    CHECK(why == MG_TRAIN_STOPPED, "%s: the run was not stopped: %d", what, (int)why);
    mg_trainer *t;
    MUST(mg_trainer_resume(out, NULL, be, NULL, &t));
    MUST(mg_trainer_run(t, &why));
    mg_trainer_free(t);
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/latest.ckpt", out);
    snprintf(b, sizeof b, "%s/latest.ckpt", reference);
    CHECK(same_checkpoints(a, b), "%s, stopped and resumed, ends elsewhere than the uninterrupted run", what);
}

/* The intensity loss: on (both losses positive every iteration, the weight kept in the checkpoint) and, as its
 * quantiles are computed again from the folders, a stopped and resumed run ends as the uninterrupted one. */
static void test_intensity_loss(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("dist"));
    s.lambda_intensity = 2.0f;
    s.epochs = 2;
    tally y = {0};
    train_whole(&s, &(mg_trainer_hooks){.on_event = on_event, .user = &y});
    CHECK(y.dist_positive == y.n[MG_TRAIN_ITERATION] && y.dist_positive > 0, "%d of %d iterations with both losses",
          y.dist_positive, y.n[MG_TRAIN_ITERATION]);
    char w[32];
    ckpt_text(tmp_path("dist/latest.ckpt"), "lambda_intensity", w, sizeof w);
    CHECK(!strcmp(w, "2"), "kept weight: %s", w);
    check_stopped_and_resumed(&s, tmp_path("dist-go"), 2, tmp_path("dist"), "with the intensity loss, the run");
    report(before, "--lambda-intensity: both losses every iteration, the weight kept, resumed bit for bit");
}

/* The flat background, the default: training measures each domain's air level (mg_dataset_air over its folder, as
 * the benchmark's rescoring measures it for models from before) and the checkpoint keeps it with the setting. */
static void test_air(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("air"));
    train_whole(&s, NULL);
    char flat[32], kept[2][32];
    ckpt_text(tmp_path("air/latest.ckpt"), "background", flat, sizeof flat);
    for (int d = 0; d < 2; d++) {
        ckpt_text(tmp_path("air/latest.ckpt"), d ? "air_b" : "air_a", kept[d], sizeof kept[d]);
        mg_dataset *ds = NULL;
        float want = 2.0f;
        MUST(mg_dataset_load(d ? dir_b : dir_a, (mg_slice_axis)s.slice_axis, &ds));
        MUST(mg_dataset_air(ds, MG_BACKGROUND_RADIUS, &want));
        mg_dataset_free(ds);
        CHECK(strtof(kept[d], NULL) == want && want >= -1.0f && want < -0.5f,
              "domain %d: air level %s kept, %g measured over its folder", d, kept[d], (double)want);
    }
    CHECK(!strcmp(flat, "flat"), "background kept as '%s'", flat);
    report(before, "the flat background: each domain's air level measured over its folder, kept with the setting");
}

/* The contrast prior: both its losses on through the fade and off after it, its settings kept, and (its maps fitted
 * again from the folders, its weight from the iteration) a run stopped within the fade and resumed ends as the
 * uninterrupted one. */
static void test_prior(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("prior"));
    s.lambda_prior = 3.0f;
    s.prior_iterations = 30;
    s.epochs = 2;
    tally y = {.prior_until = 30};
    train_whole(&s, &(mg_trainer_hooks){.on_event = on_event, .user = &y});
    CHECK(y.prior_positive == 30 && y.prior_late == 0 && y.n[MG_TRAIN_ITERATION] > 30,
          "%d of the first 30 iterations with both prior losses, %d after with one, of %d", y.prior_positive,
          y.prior_late, y.n[MG_TRAIN_ITERATION]);
    char w[32], n[32];
    ckpt_text(tmp_path("prior/latest.ckpt"), "lambda_prior", w, sizeof w);
    ckpt_text(tmp_path("prior/latest.ckpt"), "prior_iterations", n, sizeof n);
    CHECK(!strcmp(w, "3") && !strcmp(n, "30"), "kept weight %s, iterations %s", w, n);
    check_stopped_and_resumed(&s, tmp_path("prior-go"), 2, tmp_path("prior"), "with the contrast prior, the run");
    report(before, "--lambda-prior: on through the fade, off after it, kept, resumed bit for bit");
}

/* Cycle noise (with a blurred cycle, blurred discriminator inputs and a blurred structure loss): its draws follow the
 * iteration alone, so a stopped and resumed run ends as the uninterrupted one; the level and the three blurs are kept
 * in the checkpoint, and the run differs from one without. */
static void test_cycle_noise(void)
{
    int before = failures;
    mg_train_settings s;
    settings_small(&s, tmp_path("noise"));
    s.cycle_noise = 0.2f;
    s.cycle_blur = 0.8f;
    s.d_blur = 0.6f;
    s.structure_blur = 1.1f;
    s.epochs = 2;
    train_whole(&s, NULL);
    char w[32], bl[32], db[32], sb[32];
    ckpt_text(tmp_path("noise/latest.ckpt"), "cycle_noise", w, sizeof w);
    ckpt_text(tmp_path("noise/latest.ckpt"), "cycle_blur", bl, sizeof bl);
    ckpt_text(tmp_path("noise/latest.ckpt"), "d_blur", db, sizeof db);
    ckpt_text(tmp_path("noise/latest.ckpt"), "structure_blur", sb, sizeof sb);
    CHECK(w[0] && strtof(w, NULL) == 0.2f && bl[0] && strtof(bl, NULL) == 0.8f && db[0] && strtof(db, NULL) == 0.6f &&
              sb[0] && strtof(sb, NULL) == 1.1f,
          "kept level %s, blurs %s, %s, %s", w, bl, db, sb);
    mg_train_settings quiet = s;
    quiet.cycle_noise = 0.0f;
    quiet.cycle_blur = 0.0f;
    quiet.d_blur = 0.0f;
    quiet.structure_blur = 0.0f;
    quiet.out = tmp_path("noise-off");
    train_whole(&quiet, NULL);
    CHECK(!same_checkpoints(tmp_path("noise/latest.ckpt"), tmp_path("noise-off/latest.ckpt")),
          "the run with cycle noise ends where the one without does");
    check_stopped_and_resumed(&s, tmp_path("noise-go"), 2, tmp_path("noise"), "with cycle noise, the run");
    report(before, "--cycle-noise, --cycle-blur and --d-blur: kept, in effect, resumed bit for bit");
}

static void test_whole_slices(void)
{
    int before = failures;
    const int sizes[3][2] = {{30, 41}, {37, 33}, {34, 40}}; /* A: the first two, B: the last; extent 37x41 */
    mkdir(tmp_path("wa"), 0777);
    mkdir(tmp_path("wb"), 0777);
    save_slice(tmp_path("wa/0.png"), sizes[0][0], sizes[0][1], 0);
    save_slice(tmp_path("wa/1.png"), sizes[1][0], sizes[1][1], 1);
    save_slice(tmp_path("wb/0.png"), sizes[2][0], sizes[2][1], 2);
    save_slice(tmp_path("wb/1.png"), sizes[2][0], sizes[2][1], 3);
    mg_train_settings s;
    settings_small(&s, tmp_path("whole-unet"));
    s.a = tmp_path("wa");
    s.b = tmp_path("wb");
    s.size = 0;
    s.epochs = 3;
    s.generator = MG_GEN_UNET;
    CHECK(mg_train_settings_check(&s) == MG_OK, "--size 0: %s", mg_last_error());
    mg_trainer *t;
    mg_train_info in;
    MUST(mg_trainer_new(&s, be, NULL, &t)); /* the U-Net of a 37 side: depth 5, a multiple of 32 */
    mg_trainer_info(t, &in);
    CHECK(in.crop_width == 64 && in.crop_height == 64, "U-Net on whole 37x41 slices: %dx%d crops, want 64x64",
          in.crop_width, in.crop_height);
    mg_trainer_free(t);

    s.generator = MG_GEN_RESNET;
    s.blocks = 1;
    s.out = tmp_path("whole");
    MUST(mg_trainer_new(&s, be, NULL, &t));
    mg_trainer_info(t, &in);
    CHECK(in.crop_width == 40 && in.crop_height == 44, "ResNet on whole 37x41 slices: %dx%d crops, want 40x44",
          in.crop_width, in.crop_height);
    mg_train_end why;
    MUST(mg_trainer_run(t, &why));
    mg_trainer_free(t);
    CHECK(why == MG_TRAIN_FINISHED, "the whole-slice run ended with %d", (int)why);

    check_stopped_and_resumed(&s, tmp_path("whole-go"), 1, tmp_path("whole"), "the whole-slice run");

    /* the default schedule: epochs of about 660 and 540 iterations, here 2 an epoch */
    settings_small(&s, tmp_path("auto"));
    s.a = tmp_path("wa");
    s.b = tmp_path("wb");
    s.size = 0;
    s.epochs = s.epochs_decay = -1;
    MUST(mg_trainer_new(&s, be, NULL, &t));
    mg_trainer_info(t, &in);
    CHECK(in.n_iter == 2 && in.settings->epochs == 330 && in.settings->epochs_decay == 270 && in.epochs == 600,
          "the default schedule of 2 iterations an epoch: %d + %d epochs", in.settings->epochs,
          in.settings->epochs_decay);
    MUST(mg_trainer_extend(t, 400, -1));
    mg_trainer_info(t, &in);
    CHECK(in.settings->epochs == 400 && in.settings->epochs_decay == 270, "extended to %d + %d epochs",
          in.settings->epochs, in.settings->epochs_decay);
    mg_trainer_free(t);

    /* a wider slice now in A: the extent is 52x44, the pools hold 40x44 images */
    save_slice(tmp_path("wa/2.png"), 50, 20, 4);
    mg_status st = mg_trainer_resume(tmp_path("whole"), NULL, be, NULL, &t);
    CHECK(st == MG_ERR_FORMAT && !t && strstr(mg_last_error(), "pool") && strstr(mg_last_error(), "52x44"),
          "resume with another extent: status %d, %s", (int)st, mg_last_error());
    report(before, "whole slices: the extent rounded to the generator's multiple, resumed bit for bit, another "
                   "extent refused");
}

int main(int argc, char **argv)
{
    mg_blas_select_kernels(argv); /* the GEMM kernels mrigan itself would run (tests/test-blas.c) */
    if (argc != 2)
        return fprintf(stderr, "usage: %s DATA/phantom\n", argv[0]), 2;
    snprintf(dir_a, sizeof dir_a, "%s/T1", argv[1]);
    snprintf(dir_b, sizeof dir_b, "%s/T2", argv[1]);
    snprintf(tmp, sizeof tmp, "/tmp/mrigan-trainer-XXXXXX");
    if (!mkdtemp(tmp))
        return perror("mkdtemp"), 1;
    MUST(mg_backend_open("cpu", -1, 1, &be));
    test_settings();
    test_events();
    test_stop_at_epoch_end();
    test_stop_and_go();
    test_batch();
    test_failed_epoch_end();
    test_resume_bad_size();
    test_intensity_loss();
    test_prior();
    test_air();
    test_cycle_noise();
    test_steps();
    test_folder_refused();
    test_whole_slices();
    mg_backend_free(be);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (!getenv("MRIGAN_TEST_KEEP") && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return failures ? 1 : 0;
}
