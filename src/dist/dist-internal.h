/* The dispatch behind mrigan/dist.h: a struct of collectives plus their context, as the backends have. dist.c is
 * the process alone and the choice; dist-mpi.c the MPI ranks (dist-none.c in a build without MPI). */
#ifndef MRIGAN_DIST_INTERNAL_H
#define MRIGAN_DIST_INTERNAL_H

#include "base/base.h"
#include "mrigan/dist.h"

typedef struct dist_iface {
    mg_status (*sum)(void *ctx, float *data, size_t n);
    mg_status (*gather)(void *ctx, const void *mine, void *all, size_t bytes);
    mg_status (*max)(void *ctx, int *v, int n);
    mg_status (*broadcast)(void *ctx, void *data, size_t bytes, int root);
    void (*close)(void *ctx);
} dist_iface;

struct mg_dist {
    const dist_iface *iface; /* NULL: this process alone */
    void *ctx;
    int rank, size, local_rank;
    char name[128];
};

/* Initialises MPI and fills d's ranks, iface and name (dist-mpi.c); MG_ERR_UNSUPPORTED in a build without it. */
mg_status dist_mpi_open(int *argc, char ***argv, mg_dist *d);
extern const bool dist_mpi_built;

#endif
