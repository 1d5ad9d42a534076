/* Training a CycleGAN on two folders of unpaired PNG slices, as `mrigan train` does: the epoch loop and its
 * learning-rate schedule, the run folder (checkpoints, CSVs, samples, config.txt), resume, validation and the
 * choice of the best checkpoint. A program drives it with mg_trainer_run() (or mg_trainer_step()) and hears what
 * happens through one callback; examples/ holds a short one.
 *
 *     mg_train_settings s;
 *     mg_train_settings_default(&s);
 *     s.a = "t1"; s.b = "t2"; s.out = "runs/x";
 *     mg_trainer *t;
 *     if (mg_train_settings_check(&s) == MG_OK && mg_trainer_new(&s, be, NULL, &t) == MG_OK) {
 *         mg_trainer_run(t, NULL);
 *         mg_trainer_free(t);
 *     }
 */
#ifndef MRIGAN_TRAINER_H
#define MRIGAN_TRAINER_H

#include <stddef.h>

#include "mrigan/cyclegan.h"
#include "mrigan/dist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ settings (mrigan/settings.def) */
/* The default schedule (--epochs -1, --epochs-decay -1): as many epochs as make about this many iterations at
 * the initial learning rate and in the decay, whatever the folders' size (epochs of small sets are short).
 * MG_STRINGIFY spells them in the help. */
#define MG_AUTO_EPOCHS_ITERATIONS 660
#define MG_AUTO_DECAY_ITERATIONS  540
#define MG_STRINGIFY_(x)          #x
#define MG_STRINGIFY(x)           MG_STRINGIFY_(x)
#define MG_SETTING_TYPE_INT       int
#define MG_SETTING_TYPE_FLOAT     float
#define MG_SETTING_TYPE_STRING    const char *
#define MG_SETTING_TYPE_CHOICE    int
#define MG_SETTING_TYPE_FLAG      bool
#define MG_SETTING_TYPE_NOFLAG    bool

/* One field per line of settings.def. Strings are the caller's (the trainer copies what it keeps). */
typedef struct mg_train_settings {
#define SETTING(e, f, kind, option, lo, hi, choices, def, scope, member, help) MG_SETTING_TYPE_##kind f;
#include "mrigan/settings.def"
#undef SETTING
} mg_train_settings;

typedef enum mg_setting_id {
#define SETTING(e, f, kind, option, lo, hi, choices, def, scope, member, help) MG_SET_##e,
#include "mrigan/settings.def"
#undef SETTING
    MG_SET_COUNT
} mg_setting_id;

typedef enum mg_setting_kind {
    MG_SETTING_INT,
    MG_SETTING_FLOAT,
    MG_SETTING_STRING,
    MG_SETTING_CHOICE,
    MG_SETTING_FLAG,  /* the option sets it */
    MG_SETTING_NOFLAG /* the option clears it */
} mg_setting_kind;

typedef enum mg_setting_scope {
    MG_SCOPE_RUN,   /* kept in the run's checkpoints as "run.<key>", restored on resume */
    MG_SCOPE_MODEL, /* kept in the model configuration, restored from it */
    MG_SCOPE_ONCE,  /* for a new run only */
    MG_SCOPE_EACH   /* per invocation, may change on resume */
} mg_setting_scope;

/* A setting's description: its line of settings.def. */
typedef struct mg_setting {
    const char *key;    /* the field's name; config.txt's key */
    const char *option; /* the command line's name, without dashes */
    mg_setting_kind kind;
    mg_setting_scope scope;
    double lo, hi;       /* INT and FLOAT */
    const char *choices; /* CHOICE: "a|b|c" */
    double def;          /* the default of INT, FLOAT, CHOICE (index), FLAG and NOFLAG; strings default to NULL */
    size_t offset;       /* of the field in mg_train_settings */
    const char *help;
} mg_setting;

extern const mg_setting mg_settings[MG_SET_COUNT];

void mg_train_settings_default(mg_train_settings *s);
/* The address of setting id's field in s (an int, float, const char * or bool, by kind). */
void *mg_setting_field(mg_train_settings *s, mg_setting_id id);
/* Setting id's value in s as text (choices by name, flags 0/1, strings as given, "" for none) into buf. */
const char *mg_setting_format(const mg_train_settings *s, mg_setting_id id, char *buf, size_t len);
/* The number of choices in "a|b|c", and choice index's name into buf (which it returns; "?" when out of range). */
int mg_setting_choice_count(const char *choices);
const char *mg_setting_choice_name(const char *choices, int index, char *buf, size_t len);
/* Whether a new run could start from s: every number in its range (or its default's "off" value), both or
 * neither of val_a and val_b, at least one epoch, training folders given, a crop size the generator can take.
 * MG_ERR_ARG naming the option ("--size 48 is not a multiple of 32, which the unet generator needs"). */
mg_status mg_train_settings_check(const mg_train_settings *s);
/* The model configuration of s: every MODEL line, the U-Net's depth for the crop size. */
mg_cyclegan_config mg_train_settings_model(const mg_train_settings *s);

/* ------------------------------------------------------------------ validation */
/* Scores of one validation pass; index 0: A->B (or A->B->A), 1: B->A (or B->A->B). */
typedef struct mg_val_result {
    int epoch; /* the epoch it validated (0: the identity baseline) */
    double psnr[2], ssim[2], mae[2];
    double score; /* higher is better: mean SSIM, mean PSNR or minus mean MAE of both directions */
} mg_val_result;

/* ------------------------------------------------------------------ the trainer */
typedef struct mg_trainer mg_trainer;

typedef enum mg_train_event_kind {
    MG_TRAIN_BEGIN,      /* data, model and run folder are ready; the first iteration follows */
    MG_TRAIN_ITERATION,  /* an iteration ran: losses, it_per_s */
    MG_TRAIN_EPOCH,      /* an epoch's iterations ran: their mean losses, seconds, s_per_iteration */
    MG_TRAIN_VALIDATION, /* the finished epoch was validated: val (val.csv has its row) */
    MG_TRAIN_SAVED,      /* a file of the run was written: path (checkpoints, best.txt, samples); epoch: whose */
    MG_TRAIN_EPOCH_END,  /* all of the epoch's files are written and latest.ckpt stands at the next epoch */
    MG_TRAIN_NOTICE      /* something the user should know: message */
} mg_train_event_kind;

typedef struct mg_train_event {
    mg_train_event_kind kind;
    int epoch;            /* the epoch it concerns (1-based) */
    int epochs;           /* of the run: epochs + epochs_decay */
    int iteration_in_run; /* ITERATION: how many iterations this invocation has run */
    int iter_in_epoch;    /* ITERATION: iterations of the epoch done; n_iter an epoch */
    int n_iter;
    long iteration;         /* the global iteration the run stands at */
    float lr;               /* of the epoch */
    const float *losses;    /* MG_LOSS_COUNT values: ITERATION the step's, EPOCH the epoch's means */
    double it_per_s;        /* ITERATION: since this invocation's first iteration of the epoch */
    double seconds;         /* EPOCH: the epoch's wall clock (across a resume) */
    double s_per_iteration; /* EPOCH: of this invocation's part of the epoch */
    const mg_val_result *val;
    bool val_paired;     /* VALIDATION: against pairs, or cycle reconstructions */
    const char *path;    /* SAVED */
    const char *message; /* NOTICE */
} mg_train_event;

/* Called on the trainer's thread, also from inside mg_trainer_new and mg_trainer_resume (NOTICE, BEGIN: t may
 * then still fail to be made, and is freed). The event and what its pointers point to live only during the call:
 * copy what you keep. A callback may call mg_trainer_info, mg_trainer_model (to look, not to train) and
 * mg_trainer_stop; mg_trainer_run, _step and _save refuse to run from it (MG_ERR_ARG), and it must not free t. */
typedef void (*mg_train_callback)(mg_trainer *t, const mg_train_event *e, void *user);

typedef struct mg_trainer_hooks {
    mg_train_callback on_event; /* may be NULL */
    void *user;
    /* What started the run, recorded in config.txt as "command=mrigan <command>" (mrigan train passes its own
     * arguments); NULL: "(library)". Copied. */
    const char *command;
    /* The processes that train this run together (mrigan/dist.h; NULL: this one alone). Each passes the same
     * settings (batch_size a multiple of their number) and takes its share of every batch; the first (rank 0) alone
     * writes the run folder, the others only read (a resume's latest.ckpt). mg_trainer_new, _resume, _step, _run and
     * _save are then collective: every process calls them, in the same order. The caller's; not copied. */
    mg_dist *dist;
} mg_trainer_hooks;

/* A new run of s (checked with mg_train_settings_check) in s->out on be, which the caller keeps and frees after
 * the trainer; s's backend, device, threads and resume are the caller's business and not read. The folder is
 * refused when it holds files, unless s->overwrite and they are an mrigan run's (whose files go); it is locked
 * against a second trainer until mg_trainer_free. Nothing is written before the data, settings and model have
 * been checked. hooks may be NULL. */
mg_status mg_trainer_new(const mg_train_settings *s, mg_backend *be, const mg_trainer_hooks *hooks, mg_trainer **out);
/* Continues the run in folder dir from its latest.ckpt: settings, model, optimisers, pools and where it stood.
 * From each only the settings of scope EACH count (max_iterations; the backend is be). Every value the
 * checkpoint gives is checked; a folder without latest.ckpt is left as it is. */
mg_status mg_trainer_resume(const char *dir, const mg_train_settings *each, mg_backend *be,
                            const mg_trainer_hooks *hooks, mg_trainer **out);
/* Whether a new run may use folder out (the check mg_trainer_new makes, without creating or locking anything):
 * MG_ERR_ARG naming what it holds, MG_ERR_IO when it cannot be read. A phantom/ folder in it, where mrigan train
 * renders its default data, does not count. */
mg_status mg_trainer_check_folder(const char *out, bool overwrite);
/* Whether dir holds a run to resume (its latest.ckpt is a file): the first check mg_trainer_resume makes, for an
 * answer before a backend is opened. MG_ERR_IO "cannot resume: DIR/latest.ckpt: ..." otherwise. */
mg_status mg_trainer_check_resume(const char *dir);
void mg_trainer_free(mg_trainer *t);

typedef enum mg_train_end {
    MG_TRAIN_FINISHED, /* every epoch ran */
    MG_TRAIN_LIMIT,    /* max_iterations of this invocation ran; latest.ckpt resumes it */
    MG_TRAIN_STOPPED   /* mg_trainer_stop() was called; latest.ckpt resumes it */
} mg_train_end;

/* Runs iterations until the run is finished, max_iterations have run in this call or mg_trainer_stop() is called,
 * saving latest.ckpt where it stops; why (may be NULL) says which. A later call goes on from there. A step whose
 * loss is not finite ends it with MG_ERR_NONFINITE ("training diverged at iteration N ...; DIR/latest.ckpt of
 * iteration M is kept"). An epoch's time counts from its first iteration in this trainer, without the pauses
 * between calls. */
mg_status mg_trainer_run(mg_trainer *t, mg_train_end *why);
/* One iteration and, when it ends an epoch, the epoch's outputs (epochs.csv, validation, samples,
 * latest.ckpt, the numbered checkpoint); periodic saves as save_every_iterations says. When an epoch's end
 * failed (a full disk), the next call writes the rest of it instead of an iteration. MG_ERR_ARG when finished. */
mg_status mg_trainer_step(mg_trainer *t);
/* Saves latest.ckpt where the run stands (nothing when it was saved there already; the rest of an epoch's end
 * first when one failed, so that latest.ckpt always holds a state a resume takes). */
mg_status mg_trainer_save(mg_trainer *t);
/* Changes a run's schedule (typically a resumed one, to train longer): epochs at the initial learning rate and
 * epochs of linear decay, from the next iteration on; the learning rate follows the new schedule (a run in its
 * decay jumps to the new curve). MG_ERR_ARG when the new total is below the epochs already done, or out of the
 * settings' ranges. config.txt says the new schedule at once and the next checkpoint keeps it; when config.txt
 * cannot be rewritten (MG_ERR_IO), the schedule stays as it was. */
mg_status mg_trainer_extend(mg_trainer *t, int epochs, int epochs_decay);
/* Asks mg_trainer_run to stop after the current iteration (it returns MG_TRAIN_STOPPED once; a later
 * mg_trainer_run goes on). Safe in a signal handler. */
void mg_trainer_stop(mg_trainer *t);

/* Where a run stands. Pointers stay valid until the next step or mg_trainer_free. */
typedef struct mg_train_info {
    const mg_train_settings *settings; /* the run's (a resumed run's from its checkpoint); a, b absolute */
    const char *out;                   /* the run folder */
    int n_a, n_b, n_iter;              /* training images, iterations an epoch */
    int crop_width, crop_height;       /* of a training sample (--size 0: the whole slices' extent) */
    int epochs;                        /* epochs + epochs_decay */
    int epoch, iter_in_epoch;          /* the next iteration to run (epoch = epochs + 1: finished) */
    long iteration;                    /* global */
    long saved_iteration;              /* where latest.ckpt stands; -1: not saved yet */
    int iterations_run;                /* by this trainer */
    int best_epoch;                    /* 0: none yet */
    double best_score;
    bool finished, validates;
    /* the per-epoch mean losses of epochs 1..n_epochs, and the n_val validation results (each with its epoch) */
    int n_epochs, n_val;
    const float (*loss_means)[MG_LOSS_COUNT];
    const mg_val_result *val;
    bool val_paired;
    const mg_val_result *identity; /* paired validation: the inputs scored as they are (score NaN); else NULL */
    /* Where this trainer's wall-clock time went, in seconds: creating or resuming it (data, model, the folder),
     * the iterations (drawing the samples included), validation, and the rest of the epochs' ends and saves
     * (samples, checkpoints, CSV rows, and what the callback renders on their events: loss.png, the report). */
    double seconds_setup, seconds_steps, seconds_validation, seconds_outputs;
} mg_train_info;

void mg_trainer_info(const mg_trainer *t, mg_train_info *out);
/* The model being trained (for translating between steps); it goes with mg_trainer_free. */
mg_cyclegan *mg_trainer_model(mg_trainer *t);

/* ------------------------------------------------------------------ choosing among seeds (no pairs needed) */
/* How well a run's generators fool their discriminators at its end: adv_AB + adv_BA, averaged over the last tenth
 * of its n_epochs epochs (at least one); lower is better. NAN when n_epochs < 1 or a value is not finite. Among
 * runs of the same data and recipe that differ in seed only, a run stuck with a wrong contrast mapping (dark CSF
 * in a synthetic T2) leaves its discriminators an easier task and ends higher: on the quality benchmark the
 * lowest picked the best-scoring seed wherever the seeds' SSIM differed by more than 0.05 (docs/quality.md,
 * "Choosing among seeds"). mrigan pick ranks run folders by it. */
double mg_train_score_adversarial(const float (*loss_means)[MG_LOSS_COUNT], int n_epochs);
/* Whether two runs must agree on setting id for their adversarial scores to compare: the model, the schedule and
 * how slices are read and cropped do; the seed, the run folder, validation, saving and the per-invocation settings
 * do not, nor the data folders' paths (copies of the same slices may lie anywhere: the caller vouches for them). */
bool mg_setting_compares_runs(mg_setting_id id);

#ifdef __cplusplus
}
#endif
#endif
