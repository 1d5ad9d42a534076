/* Temporary: ops whose OpenCL kernels are being written. */
#include "cl-internal.h"

#define STUB(name)                                                                                                     \
    mg_status cl_##name##_fwd(void *ctx, mg_node *n)                                                                   \
    {                                                                                                                  \
        (void)ctx;                                                                                                     \
        (void)n;                                                                                                       \
        return mg_error(MG_ERR_UNSUPPORTED, "opencl: " #name " is not written yet");                                  \
    }                                                                                                                  \
    mg_status cl_##name##_bwd(void *ctx, mg_node *n)                                                                   \
    {                                                                                                                  \
        (void)ctx;                                                                                                     \
        (void)n;                                                                                                       \
        return mg_error(MG_ERR_UNSUPPORTED, "opencl: " #name " is not written yet");                                  \
    }
STUB(reflect_pad2d)
STUB(instance_norm)
STUB(relu)
STUB(leaky_relu)
STUB(tanh)
STUB(sigmoid)
STUB(dropout)
STUB(add)
STUB(scale)
STUB(concat)
STUB(mean)
STUB(sum)
STUB(mse_loss)
STUB(l1_loss)
STUB(bce_logits_loss)
