/* mrigan train: the command line of the trainer (mrigan/trainer.h). It parses the options the settings table
 * describes, picks the data (the embedded phantom unless --a and --b) and the backend, and renders what the
 * trainer reports: progress, epoch lines, validation, loss.png and report.html. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app-util.h"
#include "base/file.h"
#include "commands.h"
#include "mrigan/phantom.h"
#include "mrigan/trainer.h"
#include "options.h"
#include "report.h"

/* ------------------------------------------------------------------ options */
typedef struct train_cli {
    mg_train_settings s;
    app_option table[MG_SET_COUNT];
    char defaults[MG_SET_COUNT][32]; /* the defaults as --help shows them */
    char out[4096], a[4096], b[4096], command[8192];
} train_cli;

/* What messages start with: "mrigan train", or on the other processes of a distributed run "mrigan train (process R
 * of P)". */
static char who[64] = "mrigan train";

/* A failure's message, and its exit code; a process told only that another failed (MG_ERR_PEER) says nothing, as
 * that one says why. */
static int train_fail(mg_status s, int rc)
{
    if (s != MG_ERR_PEER || !strcmp(who, "mrigan train"))
        fprintf(stderr, "%s: %s\n", who, mg_last_error());
    return rc;
}

/* The option table from the settings' descriptors, pointing into c->s. */
static void train_options(train_cli *c) { app_settings_options(&c->s, c->table, c->defaults); }

static void usage(const app_option *t)
{
    printf("usage: mrigan train [--a DIR --b DIR] [--out DIR] [options]\n"
           "       mrigan train --resume DIR [--epochs N] [--epochs-decay N] [--threads N] [--max-iterations N]\n"
           "       mpirun -np P mrigan train ... --batch-size N    (N a multiple of P: the processes share each batch)\n\n"
           "Trains a CycleGAN between two folders of unpaired PNG slices and/or NIfTI volumes (.nii, .nii.gz; cut\n"
           "into slices along --slice-axis, the empty ones skipped, each volume normalised by its percentiles).\n"
           "Without --a and --b it trains on the embedded phantom (data/phantom), validated on its own pairs.\n"
           "--resume continues a run with its own settings; --epochs and --epochs-decay given with it change the\n"
           "run's schedule (to train longer).\n\n"
           "options:\n");
    app_print_options(t, MG_SET_COUNT);
}

/* Options a resumed run takes from its checkpoint: all but the per-invocation ones (scope EACH) and the schedule,
 * which a resumed run may extend (mg_trainer_extend). */
static int check_resume_options(const app_option *t)
{
    for (int i = 0; i < MG_SET_COUNT; i++)
        if (t[i].seen && mg_settings[i].scope != MG_SCOPE_EACH && i != MG_SET_EPOCHS && i != MG_SET_EPOCHS_DECAY) {
            fprintf(stderr,
                    "mrigan train: --%s cannot be combined with --resume: a resumed run keeps the configuration of "
                    "its checkpoint\n",
                    t[i].name);
            return 2;
        }
    return 0;
}

/* ------------------------------------------------------------------ data */
static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The embedded phantom, with paired validation on its own slices: data/phantom from the working folder or the
 * source tree; else a fresh render into the run folder, which *render asks for (made once the settings are known
 * to be good). */
static void phantom_data(train_cli *c, bool *render)
{
    static const char *roots[] = {"data/phantom", MRIGAN_SOURCE_DIR "/data/phantom"};
    c->s.a = c->a;
    c->s.b = c->b;
    /* the phantom's slices are paired by name: they validate the run too, so its report shows how close the
     * translations come to the truth (unless other validation folders were given) */
    if (!c->table[MG_SET_VAL_A].seen && !c->table[MG_SET_VAL_B].seen && !c->s.val_unpaired) {
        c->s.val_a = c->a;
        c->s.val_b = c->b;
    }
    *render = false;
    for (size_t i = 0; i < sizeof roots / sizeof *roots; i++) {
        mg_path_fmt(c->a, sizeof c->a, "%s/T1", roots[i]);
        mg_path_fmt(c->b, sizeof c->b, "%s/T2", roots[i]);
        if (is_dir(c->a) && is_dir(c->b))
            return;
    }
    mg_path_fmt(c->a, sizeof c->a, "%s/phantom/T1", c->s.out);
    mg_path_fmt(c->b, sizeof c->b, "%s/phantom/T2", c->s.out);
    *render = true;
}

static mg_status phantom_render(const train_cli *c)
{
    char dir[4200];
    mg_path_fmt(dir, sizeof dir, "%s/phantom", c->s.out);
    mg_phantom_config pc;
    mg_phantom_config_default(&pc);
    fprintf(stderr, "mrigan train: data/phantom not found; rendering the phantom into %s\n", dir);
    return mg_phantom_write(dir, &pc, 24, 8, "mrigan phantom (defaults, rendered by mrigan train)");
}

/* ------------------------------------------------------------------ rendering the trainer's events */
typedef struct train_view {
    bool quiet;         /* another process of a distributed run than the first: it says nothing of the run */
    bool tty, bar;      /* stderr is a terminal; a progress bar is on its last line */
    bool plot_fails;    /* the last loss.png was not written */
    int max_iterations; /* of this invocation (0: none), for the ETA */
    int log_every;      /* a line every N iterations when stderr is no terminal */
} train_view;

static void view_end_bar(train_view *v)
{
    if (v->bar)
        fputc('\n', stderr);
    v->bar = false;
}

static void view_progress(train_view *v, const mg_train_event *e)
{
    long remaining = (long)(e->epochs - e->epoch) * e->n_iter + (e->n_iter - e->iter_in_epoch);
    if (v->max_iterations > 0 && v->max_iterations - e->iteration_in_run < remaining)
        remaining = v->max_iterations - e->iteration_in_run; /* this invocation stops there */
    double eta = e->it_per_s > 0 ? remaining / e->it_per_s : 0;
    if (!v->tty) {
        if (v->log_every > 0 && e->iteration_in_run % v->log_every == 0)
            fprintf(stderr,
                    "epoch %d/%d, iteration %d/%d (%ld in all): %.2f it/s, ETA %dm%02ds, G %.3f, D_A %.3f, "
                    "D_B %.3f\n",
                    e->epoch, e->epochs, e->iter_in_epoch, e->n_iter, e->iteration, e->it_per_s, (int)(eta / 60),
                    (int)fmod(eta, 60.0), e->losses[MG_LOSS_G_TOTAL], e->losses[MG_LOSS_D_A], e->losses[MG_LOSS_D_B]);
        return;
    }
    int width = 24, done = e->iter_in_epoch * width / e->n_iter;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < done ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\repoch %d/%d [%s] %d/%d  %.2f it/s  ETA %dm%02ds  G %.3f  D_A %.3f  D_B %.3f   ", e->epoch,
            e->epochs, bar, e->iter_in_epoch, e->n_iter, e->it_per_s, (int)(eta / 60), (int)fmod(eta, 60.0),
            e->losses[MG_LOSS_G_TOTAL], e->losses[MG_LOSS_D_A], e->losses[MG_LOSS_D_B]);
    v->bar = true;
}

/* At an epoch's end: loss.png and report.html from what the run holds so far. */
static void view_render(mg_trainer *t, train_view *v)
{
    mg_train_info in;
    mg_trainer_info(t, &in);
    char path[4200], err[1024];
    mg_path_fmt(path, sizeof path, "%s/loss.png", in.out);
    v->plot_fails = plot_run(path, in.loss_means, in.n_epochs, in.val, in.n_val, in.val_paired, in.identity) != MG_OK;
    if (v->plot_fails)
        fprintf(stderr, "mrigan train: warning: %s was not written: %s\n", path, mg_last_error());
    if (report_write(in.out, err, sizeof err) != 0)
        fprintf(stderr, "mrigan train: warning: the report was not updated: %s\n", err);
}

static void view_event(mg_trainer *t, const mg_train_event *e, void *user)
{
    train_view *v = user;
    const float *l = e->losses;
    switch (e->kind) {
    case MG_TRAIN_ITERATION: view_progress(v, e); break;
    case MG_TRAIN_EPOCH:
        view_end_bar(v);
        fprintf(stderr, "epoch %d/%d: %.2f s/iteration, lr %.3g, G %.4f (cycle %.4f + %.4f), D_A %.4f, D_B %.4f\n",
                e->epoch, e->epochs, e->s_per_iteration, e->lr, l[MG_LOSS_G_TOTAL], l[MG_LOSS_CYC_ABA],
                l[MG_LOSS_CYC_BAB], l[MG_LOSS_D_A], l[MG_LOSS_D_B]);
        break;
    case MG_TRAIN_VALIDATION:
        fprintf(stderr, "  validation (%s): A->B PSNR %.2f dB SSIM %.4f, B->A PSNR %.2f dB SSIM %.4f\n",
                e->val_paired ? "paired" : "cycle", e->val->psnr[0], e->val->ssim[0], e->val->psnr[1], e->val->ssim[1]);
        break;
    case MG_TRAIN_EPOCH_END: view_render(t, v); break;
    case MG_TRAIN_NOTICE:
        view_end_bar(v);
        fprintf(stderr, "mrigan train: %s\n", e->message);
        break;
    case MG_TRAIN_BEGIN:
    case MG_TRAIN_SAVED: break;
    }
}

/* ------------------------------------------------------------------ the run */
/* The trainer a signal stops (lock-free atomics are what C11 lets a signal handler touch). */
static _Atomic(mg_trainer *) running;
static volatile sig_atomic_t caught_signal;

/* A distributed run's word on a signal, written at once: mpirun sends SIGTERM to every process when one of them ends
 * or the job is cancelled, and SIGKILL a second later, before a process waiting on the one gone could say anything. */
static char signal_note[4608];
static size_t signal_note_len;

static void on_signal(int sig)
{
    caught_signal = sig;
    if (signal_note_len && write(2, signal_note, signal_note_len) < 0)
        caught_signal = sig; /* nothing else a signal handler could do */
    mg_trainer *t = atomic_load(&running);
    if (t)
        mg_trainer_stop(t);
}

/* Where this invocation's time went: the iterations against validation and the run's other outputs. */
static void train_print_time(const mg_train_info *in)
{
    double all = in->seconds_setup + in->seconds_steps + in->seconds_validation + in->seconds_outputs;
    if (!(all > 0.0))
        return;
    fprintf(stderr,
            "mrigan train: %.0f s: iterations %.1f%%, validation %.1f%%, samples, checkpoints and the report %.1f%%, "
            "setting up %.1f%%\n",
            all, 100.0 * in->seconds_steps / all, 100.0 * in->seconds_validation / all,
            100.0 * in->seconds_outputs / all, 100.0 * in->seconds_setup / all);
}

/* What the trainer ran into, as an exit code: 130/143 for a signal, 0 when it finished or stopped as asked. */
static int train_finish(mg_trainer *t, mg_status s, mg_train_end why, int sig, train_view *v)
{
    mg_train_info in;
    mg_trainer_info(t, &in);
    view_end_bar(v);
    if (s != MG_OK)
        return train_fail(s, 1);
    if (v->quiet) /* another process of the run: the first says how it went; a stop it only agreed to is no failure */
        return why == MG_TRAIN_STOPPED && sig ? 128 + sig : 0;
    if (why == MG_TRAIN_FINISHED) {
        fprintf(stderr,
                "mrigan train: done. In %s/: latest.ckpt, epoch_*.ckpt%s, losses.csv, epochs.csv%s%s, samples/, "
                "config.txt, report.html\n",
                in.out, in.best_epoch ? ", best.ckpt (see best.txt)" : "", in.validates ? ", val.csv" : "",
                v->plot_fails ? "" : ", loss.png");
        double adv = mg_train_score_adversarial(in.loss_means, in.n_epochs);
        if (isfinite(adv)) /* a run that finished has finite losses; this only guards the message */
            fprintf(stderr,
                    "mrigan train: final adversarial loss %.4f: among runs of other seeds, mrigan pick keeps the "
                    "lowest\n",
                    adv);
        train_print_time(&in);
        return 0;
    }
    train_print_time(&in);
    fprintf(stderr,
            "mrigan train: %s after %d iteration%s; saved %s/latest.ckpt at epoch %d, iteration %ld. Continue with: "
            "mrigan train --resume %s\n",
            why == MG_TRAIN_STOPPED ? "interrupted" : "stopped", in.iterations_run, in.iterations_run == 1 ? "" : "s",
            in.out, in.epoch, in.iteration, in.out);
    return why == MG_TRAIN_STOPPED ? 128 + (sig ? sig : SIGINT) : 0;
}

static int train_run(train_cli *c, mg_backend *be, mg_dist *d)
{
    train_view view = {.quiet = mg_dist_rank(d) > 0,
                       .tty = isatty(2),
                       .max_iterations = c->s.max_iterations,
                       .log_every = c->s.log_every};
    mg_trainer_hooks hooks = {
        .on_event = view.quiet ? NULL : view_event, .user = &view, .command = c->command, .dist = d};
    mg_trainer *t;
    mg_status s =
        c->s.resume ? mg_trainer_resume(c->s.resume, &c->s, be, &hooks, &t) : mg_trainer_new(&c->s, be, &hooks, &t);
    if (s != MG_OK)
        return train_fail(s, 1);
    mg_train_info in;
    mg_trainer_info(t, &in);
    if (c->s.resume && (c->table[MG_SET_EPOCHS].seen || c->table[MG_SET_EPOCHS_DECAY].seen)) {
        /* --epochs or --epochs-decay with --resume: the schedule changes, the rest stays the run's */
        s = mg_trainer_extend(t, c->table[MG_SET_EPOCHS].seen ? c->s.epochs : in.settings->epochs,
                              c->table[MG_SET_EPOCHS_DECAY].seen ? c->s.epochs_decay : in.settings->epochs_decay);
        if (s != MG_OK) {
            mg_trainer_free(t);
            return train_fail(s, 2);
        }
        mg_trainer_info(t, &in);
        if (!view.quiet)
            fprintf(stderr, "mrigan train: the schedule is now %d + %d epochs\n", in.settings->epochs,
                    in.settings->epochs_decay);
    }
    char procs[200] = "";
    if (mg_dist_size(d) > 1)
        snprintf(procs, sizeof procs, " (%s, %d crop%s each a step)", mg_dist_name(d),
                 in.settings->batch_size / mg_dist_size(d), in.settings->batch_size / mg_dist_size(d) == 1 ? "" : "s");
    if (!view.quiet)
        fprintf(stderr,
                "mrigan train: A = %s (%d images), B = %s (%d images), %s generator, %dx%d %s, %d iterations per "
                "epoch, %s backend%s; outputs in %s/\n",
                in.settings->a, in.n_a, in.settings->b, in.n_b, mg_generator_names[in.settings->generator],
                in.crop_width, in.crop_height, in.settings->size ? "crops" : "whole slices (padded)", in.n_iter,
                mg_backend_name(be), procs, in.out);
    if (mg_dist_size(d) > 1)
        signal_note_len = (size_t)snprintf(
            signal_note, sizeof signal_note,
            "%s: stopping on a signal: after this iteration, saving, where every process of the run takes part; "
            "where mpirun ends the job first (as when another process ended, which mpirun then names), "
            "%s/latest.ckpt stays at its last save: mrigan train --resume %s goes on from there\n",
            who, in.out, in.out);
    signal_note_len = signal_note_len < sizeof signal_note ? signal_note_len : sizeof signal_note - 1;
    atomic_store(&running, t);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    mg_train_end why;
    s = mg_trainer_run(t, &why);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    atomic_store(&running, NULL);
    int rc = train_finish(t, s, why, caught_signal, &view);
    mg_trainer_free(t);
    return rc;
}

static int train_main(train_cli *c, mg_dist *d, int argc, char **argv);

int cmd_train(int argc, char **argv)
{
    static train_cli c;
    mg_dist *d;
    if (mg_dist_open(&argc, &argv, &d) != MG_OK)
        return fprintf(stderr, "mrigan train: %s\n", mg_last_error()), 1;
    if (mg_dist_size(d) > 1 && mg_dist_rank(d) > 0)
        snprintf(who, sizeof who, "mrigan train (process %d of %d)", mg_dist_rank(d), mg_dist_size(d));
    int rc = train_main(&c, d, argc, argv);
    mg_dist_close(d);
    return rc;
}

/* Processes of a distributed run give the same arguments and check the same things, so that all return where one
 * does, except for what only the first touches (the run folder) and each one's own device: those they agree on. */
static int train_main(train_cli *c, mg_dist *d, int argc, char **argv)
{
    train_options(c);
    const char *pos[1];
    int n_pos;
    app_parse_result pr = app_parse("train", argc, argv, c->table, MG_SET_COUNT, pos, 0, &n_pos);
    if (pr == APP_PARSE_HELP)
        return usage(c->table), 0;
    if (pr == APP_PARSE_ERROR)
        return 2;
    if (c->table[MG_SET_A].seen != c->table[MG_SET_B].seen) {
        fprintf(stderr, "mrigan train: give both --a and --b, or neither (to train on the phantom)\n");
        return 2;
    }
    int rc, len = snprintf(c->command, sizeof c->command, "%s", argv[0]);
    for (int i = 1; i < argc && len < (int)sizeof c->command; i++)
        len += snprintf(c->command + len, sizeof c->command - (size_t)len, " %s", argv[i]);
    if (c->s.resume) {
        rc = check_resume_options(c->table);
        if (rc)
            return rc;
        rc = mg_trainer_check_resume(c->s.resume) != MG_OK /* before a backend starts */
                 ? (fprintf(stderr, "%s: %s\n", who, mg_last_error()), 1)
                 : 0;
        if ((rc = app_agree(d, rc)) != 0) /* a process on a machine that cannot see the folder */
            return rc;
    } else {
        if (!c->s.out) {
            char stamp[32];
            time_t now = time(NULL);
            strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
            snprintf(c->out, sizeof c->out, "runs/train-%s", stamp);
            c->s.out = c->out;
            if (mg_dist_broadcast(d, c->out, sizeof c->out, 0) != MG_OK) /* the first's clock names the folder */
                return fprintf(stderr, "%s: %s\n", who, mg_last_error()), 1;
        }
        bool render = false;
        if (!c->s.a)
            phantom_data(c, &render);
        mg_status s = mg_train_settings_check(&c->s);
        if (s != MG_OK)
            return fprintf(stderr, "%s: %s\n", who, mg_last_error()), s == MG_ERR_ARG ? 2 : 1;
        rc = 0; /* the folder and the phantom are the first process's */
        if (mg_dist_rank(d) == 0 && (s = mg_trainer_check_folder(c->s.out, c->s.overwrite)) != MG_OK)
            rc = (fprintf(stderr, "mrigan train: %s\n", mg_last_error()), s == MG_ERR_ARG ? 2 : 1);
        if (!rc && mg_dist_rank(d) == 0 && render && phantom_render(c) != MG_OK)
            rc = (fprintf(stderr, "mrigan train: cannot prepare the phantom: %s\n", mg_last_error()), 1);
        if ((rc = app_agree(d, rc)) != 0)
            return rc;
    }
    mg_backend *be = NULL;
    rc = 0;
    const int device = app_rank_device(c->s.backend, c->s.device, d);
    if (app_open_backend(mg_dist_rank(d) ? who + strlen("mrigan ") : "train", c->s.backend, device, c->s.threads,
                         &be) != MG_OK)
        rc = (fprintf(stderr, "%s: cannot open the backend: %s\n", who, mg_last_error()), 1);
    if ((rc = app_agree(d, rc)) == 0)
        rc = train_run(c, be, d);
    mg_backend_free(be);
    return rc;
}
