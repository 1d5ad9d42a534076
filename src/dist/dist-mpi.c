/* The MPI ranks of MPI_COMM_WORLD. Errors come back as statuses (MPI_ERRORS_RETURN) rather than aborting the job
 * from inside the library; a rank that dies is the launcher's to notice, which ends the others. Only the thread that
 * initialised MPI calls it (MPI_THREAD_FUNNELED): the CPU backend's pool never does. */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "dist-internal.h"

const bool dist_mpi_built = true;

/* MPI counts are ints: larger buffers go in pieces of this many elements. */
#define DIST_CHUNK (1 << 28)

static mg_status dist_check(int rc, const char *what)
{
    if (rc == MPI_SUCCESS)
        return MG_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", rc);
    return mg_error(MG_ERR_IO, "MPI %s: %s", what, text);
}

static mg_status mpi_sum(void *ctx, float *data, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i += DIST_CHUNK) {
        const int c = (int)(n - i < DIST_CHUNK ? n - i : DIST_CHUNK);
        mg_status s =
            dist_check(MPI_Allreduce(MPI_IN_PLACE, data + i, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "all-reduce");
        if (s != MG_OK)
            return s;
    }
    return MG_OK;
}

static mg_status mpi_gather(void *ctx, const void *mine, void *all, size_t bytes)
{
    (void)ctx;
    if (bytes > INT_MAX)
        return mg_error(MG_ERR_ARG, "MPI all-gather: %zu bytes a rank, more than one call takes", bytes);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    /* a rank's block already in its place of all is sent from there (MPI forbids the two buffers to overlap) */
    const void *send = (const char *)mine == (const char *)all + (size_t)rank * bytes ? MPI_IN_PLACE : mine;
    return dist_check(MPI_Allgather(send, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD),
                      "all-gather");
}

static mg_status mpi_max(void *ctx, int *v, int n)
{
    (void)ctx;
    return dist_check(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "all-reduce");
}

static mg_status mpi_broadcast(void *ctx, void *data, size_t bytes, int root)
{
    (void)ctx;
    for (size_t i = 0; i < bytes; i += DIST_CHUNK) {
        const int c = (int)(bytes - i < DIST_CHUNK ? bytes - i : DIST_CHUNK);
        mg_status s = dist_check(MPI_Bcast((char *)data + i, c, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
        if (s != MG_OK)
            return s;
    }
    return MG_OK;
}

static void mpi_close(void *ctx)
{
    (void)ctx;
    int done = 0;
    MPI_Finalized(&done);
    if (!done)
        MPI_Finalize();
}

static const dist_iface mpi_iface = {
    .sum = mpi_sum,
    .gather = mpi_gather,
    .max = mpi_max,
    .broadcast = mpi_broadcast,
    .close = mpi_close,
};

mg_status dist_mpi_open(int *argc, char ***argv, mg_dist *d)
{
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return mg_error(MG_ERR_IO, "MPI_Init_thread failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm node;
    int len = 0;
    char library[MPI_MAX_LIBRARY_VERSION_STRING];
    mg_status s = dist_check(MPI_Comm_rank(MPI_COMM_WORLD, &d->rank), "rank");
    if (s == MG_OK)
        s = dist_check(MPI_Comm_size(MPI_COMM_WORLD, &d->size), "size");
    /* the ranks sharing this machine's memory: the local rank picks the device */
    if (s == MG_OK)
        s = dist_check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &node),
                       "split by machine");
    if (s == MG_OK) {
        s = dist_check(MPI_Comm_rank(node, &d->local_rank), "local rank");
        MPI_Comm_free(&node);
    }
    if (s != MG_OK) {
        MPI_Finalize();
        return s;
    }
    if (MPI_Get_library_version(library, &len) != MPI_SUCCESS)
        snprintf(library, sizeof library, "MPI");
    library[strcspn(library, ",\n")] = '\0'; /* "Open MPI v4.1.4, package: ..." */
    snprintf(d->name, sizeof d->name, "MPI (%.80s), %d rank%s", library, d->size, d->size == 1 ? "" : "s");
    d->iface = &mpi_iface;
    d->ctx = NULL;
    return MG_OK;
}
