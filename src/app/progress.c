/* The progress bar of translate and eval (progress.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

static double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void app_progress_begin(app_progress *p, const char *cmd)
{
    *p = (app_progress){.cmd = cmd, .tty = isatty(2), .start = progress_now()};
    p->last = p->start - 1.0;
}

void app_progress_show(app_progress *p, double done, long total, const char *label)
{
    const double now = progress_now();
    if (!p->tty || total <= 0 || (now - p->last < 0.1 && done < total))
        return;
    p->last = now;
    char bar[21];
    const int filled = (int)(20 * done / total);
    for (int i = 0; i < 20; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[20] = '\0';
    const double elapsed = now - p->start, eta = done > 0 ? elapsed / done * ((double)total - done) : 0.0;
    char when[32] = "";
    if (done > 0)
        snprintf(when, sizeof when, "  ETA %dm%02ds", (int)(eta / 60.0), (int)eta % 60);
    /* the label is cut so that the line stays within 100 columns */
    fprintf(stderr, "\r\033[Kmrigan %s [%s] %ld/%ld%s  %.40s", p->cmd, bar, (long)done, total, when,
            label ? label : "");
    fflush(stderr);
    p->drawn = true;
}

void app_progress_clear(app_progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = false;
    }
}
