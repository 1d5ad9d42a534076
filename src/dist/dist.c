/* Which processes train together: the MPI ranks when a launcher started this one, else this process alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist-internal.h"

/* The number of processes a launcher says it started (0: no launcher). Open MPI, MPICH's Hydra and Slurm set
 * these; PMIx launchers also set PMIX_RANK, without a size. */
static int dist_launcher_size(void)
{
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS"};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        const char *v = getenv(sizes[i]);
        if (v && atoi(v) > 0 && (i < 3 || getenv("PMI_RANK") || getenv("PMIX_RANK")))
            return atoi(v);
    }
    return getenv("PMIX_RANK") || getenv("PMI_RANK") ? 1 : 0;
}

mg_status mg_dist_open(int *argc, char ***argv, mg_dist **out)
{
    *out = NULL;
    mg_dist *d = calloc(1, sizeof *d);
    if (!d)
        return mg_error(MG_ERR_OOM, "dist: out of host memory");
    d->size = 1;
    snprintf(d->name, sizeof d->name, "one process");
    const int launched = dist_launcher_size();
    if (launched > 0 && (dist_mpi_built || launched > 1)) {
        mg_status s = dist_mpi_open(argc, argv, d);
        if (s != MG_OK) {
            free(d);
            return launched > 1 && !dist_mpi_built
                       ? mg_error(s, "started by an MPI launcher as one of %d processes, but %s", launched,
                                  mg_last_error())
                       : s;
        }
    }
    *out = d;
    return MG_OK;
}

void mg_dist_close(mg_dist *d)
{
    if (!d)
        return;
    if (d->iface)
        d->iface->close(d->ctx);
    free(d);
}

int mg_dist_rank(const mg_dist *d) { return d ? d->rank : 0; }
int mg_dist_size(const mg_dist *d) { return d ? d->size : 1; }
int mg_dist_local_rank(const mg_dist *d) { return d ? d->local_rank : 0; }
const char *mg_dist_name(const mg_dist *d) { return d ? d->name : "one process"; }
bool mg_dist_built(void) { return dist_mpi_built; }

mg_status mg_dist_sum(mg_dist *d, float *data, size_t n)
{
    return d && d->iface ? d->iface->sum(d->ctx, data, n) : MG_OK;
}

mg_status mg_dist_gather(mg_dist *d, const void *mine, void *all, size_t bytes)
{
    if (d && d->iface)
        return d->iface->gather(d->ctx, mine, all, bytes);
    if (all != mine)
        memmove(all, mine, bytes); /* a block in its place (rank 0's) stays */
    return MG_OK;
}

mg_status mg_dist_max(mg_dist *d, int *v, int n) { return d && d->iface ? d->iface->max(d->ctx, v, n) : MG_OK; }

mg_status mg_dist_broadcast(mg_dist *d, void *data, size_t bytes, int root)
{
    if (root < 0 || root >= mg_dist_size(d))
        return mg_error(MG_ERR_ARG, "broadcast from rank %d of %d", root, mg_dist_size(d));
    return d && d->iface ? d->iface->broadcast(d->ctx, data, bytes, root) : MG_OK;
}
