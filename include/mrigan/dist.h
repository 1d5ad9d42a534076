/* The processes that train one model together, data parallel (mpirun -np P mrigan train ...): each takes its share
 * of every global batch, and the gradients are summed over all of them before each optimiser step, as PyTorch's
 * DistributedDataParallel does. The engine is MPI; a process that no MPI launcher started is alone, and then MPI is
 * never initialised, so that a build with MPI runs a single process exactly as a build without it.
 *
 *     mg_dist *d;
 *     if (mg_dist_open(&argc, &argv, &d) == MG_OK) {
 *         ... mg_trainer_hooks.dist = d ...
 *         mg_dist_close(d);
 *     }
 *
 * The collectives below are called by every rank, in the same order, with the same sizes; a NULL mg_dist is a
 * process alone (rank 0 of 1, every collective a copy). */
#ifndef MRIGAN_DIST_H
#define MRIGAN_DIST_H

#include "mrigan/mrigan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mg_dist mg_dist;

/* This process's place: the ranks of MPI_COMM_WORLD when an MPI launcher (mpirun, mpiexec, srun) started it (MPI is
 * initialised here, with its arguments), else this process alone. Started as one of 2 or more processes by a
 * launcher in a build without MPI: MG_ERR_UNSUPPORTED, saying how to build it. */
mg_status mg_dist_open(int *argc, char ***argv, mg_dist **out);
/* Finalises MPI (where it was initialised) and frees d. */
void mg_dist_close(mg_dist *d);
int mg_dist_rank(const mg_dist *d);
int mg_dist_size(const mg_dist *d);
/* The rank among the processes of its own machine: which of the machine's devices it takes. */
int mg_dist_local_rank(const mg_dist *d);
/* In words: "MPI (Open MPI v4.1.4), 2 ranks" or "one process". */
const char *mg_dist_name(const mg_dist *d);
/* Whether this build can train over MPI (meson -Dmpi=enabled|auto with MPI found). */
bool mg_dist_built(void);

/* data[0..n) replaced by its sum over the ranks. MPI advises implementations to give every rank the same bits (Open
 * MPI's and MPICH's reductions do); the processes' copies of a model stay equal only where they do. */
mg_status mg_dist_sum(mg_dist *d, float *data, size_t n);
/* Every rank's `bytes` bytes of mine, in rank order, into all (size * bytes). */
mg_status mg_dist_gather(mg_dist *d, const void *mine, void *all, size_t bytes);
/* v[0..n) replaced by its maximum over the ranks. */
mg_status mg_dist_max(mg_dist *d, int *v, int n);
/* root's bytes of data onto every rank. */
mg_status mg_dist_broadcast(mg_dist *d, void *data, size_t bytes, int root);

#ifdef __cplusplus
}
#endif
#endif
