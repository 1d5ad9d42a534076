/* A build without MPI (meson -Dmpi=disabled, or MPI not found): the process is alone. */
#include "dist-internal.h"

const bool dist_mpi_built = false;

mg_status dist_mpi_open(int *argc, char ***argv, mg_dist *d)
{
    (void)argc;
    (void)argv;
    (void)d;
    return mg_error(MG_ERR_UNSUPPORTED, "this mrigan was built without MPI (install libopenmpi-dev and configure "
                                        "with meson setup -Dmpi=enabled)");
}
