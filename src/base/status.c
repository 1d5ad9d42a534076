/* Status names, the per-thread error message, and small shape helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base.h"

static _Thread_local char last_error[8192]; /* room for messages naming two full paths */

const char *mg_status_name(mg_status s)
{
    switch (s) {
    case MG_OK: return "ok";
    case MG_ERR_ARG: return "invalid argument";
    case MG_ERR_SHAPE: return "shape mismatch";
    case MG_ERR_OOM: return "out of memory";
    case MG_ERR_IO: return "i/o error";
    case MG_ERR_FORMAT: return "bad format";
    case MG_ERR_BACKEND: return "backend failure";
    case MG_ERR_UNSUPPORTED: return "unsupported";
    case MG_ERR_NONFINITE: return "not finite";
    case MG_ERR_PEER: return "another process failed";
    }
    return "unknown status";
}

const char *mg_last_error(void) { return last_error; }

/* Formatted aside first, so that a message may wrap the previous one (mg_error(s, "x: %s", mg_last_error())). */
mg_status mg_error(mg_status s, const char *fmt, ...)
{
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return s;
}

const char *mg_shape_str(const mg_tensor *t, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < t->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ",%d" : "%d", t->shape[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

double mg_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t mg_shape_numel(int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}
