/* A progress bar with an ETA on stderr, for commands that work through many files (translate, eval). Drawn only
 * when stderr is a terminal, at most ten times a second, and erased when done; piped output stays clean. */
#ifndef MRIGAN_APP_PROGRESS_H
#define MRIGAN_APP_PROGRESS_H

#include <stdbool.h>

typedef struct app_progress {
    const char *cmd;    /* "translate" */
    bool tty;           /* stderr is a terminal */
    bool drawn;         /* the bar is on the last line */
    double start, last; /* seconds (monotonic) */
} app_progress;

void app_progress_begin(app_progress *p, const char *cmd);
/* done of total files (a fraction while one is under way), and what is being worked on. */
void app_progress_show(app_progress *p, double done, long total, const char *label);
/* Erases the bar (before any other output to stderr, and at the end). */
void app_progress_clear(app_progress *p);

#endif
