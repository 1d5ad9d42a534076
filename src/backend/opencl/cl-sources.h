/* The OpenCL kernel sources of cl/, embedded at build time (tools/embed-cl.c). */
#ifndef MRIGAN_CL_SOURCES_H
#define MRIGAN_CL_SOURCES_H

#include <stddef.h>

typedef struct mg_cl_source {
    const char *family; /* file name without .cl: "elementwise", "norm", ... */
    const char *text;
    size_t length;
} mg_cl_source;

extern const mg_cl_source mg_cl_sources[];
extern const int mg_cl_source_count;

#endif
