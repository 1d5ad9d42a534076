/* The 70x70 PatchGAN discriminator (n_layers 3): C64 without norm, C128, C256 (conv4 s2 p1), C512
 * (conv4 s1 p1), then conv4 s1 p1 to one logit per patch; LeakyReLU 0.2 and instance norm between. Padded with
 * zeros as the original, or by reflection (MG_PAD_REFLECT), so that the border looks like nothing in particular. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "net-internal.h"

mg_status mg_discriminator_new(mg_backend *be, const char *prefix, int ndf, mg_pad pad, mg_discriminator *out)
{
    memset(out, 0, sizeof *out);
    if (ndf < 1 || ndf > 1024)
        return mg_error(MG_ERR_ARG, "discriminator: ndf %d outside 1..1024", ndf);
    if ((unsigned)pad > MG_PAD_REFLECT)
        return mg_error(MG_ERR_ARG, "discriminator: pad %d is not one of %s", (int)pad, MG_PAD_CHOICES);
    out->ndf = ndf;
    out->pad = pad;
    snprintf(out->net.prefix, sizeof out->net.prefix, "%s", prefix);
    const int c_out[5] = {ndf, 2 * ndf, 4 * ndf, 8 * ndf, 1};
    mg_status s = MG_OK;
    for (int i = 0; i < 5 && s == MG_OK; i++) {
        char name[16];
        snprintf(name, sizeof name, "conv%d", i + 1);
        s = mg_net_conv(&out->net, be, name, c_out[i], i == 0 ? 1 : c_out[i - 1], 4, false, &out->w[i], &out->b[i]);
    }
    if (s != MG_OK)
        mg_net_free(&out->net);
    return s;
}

mg_status mg_discriminator_param_count(int ndf, size_t *out)
{
    mg_discriminator d;
    mg_status s = mg_discriminator_new(NULL, "count", ndf, MG_PAD_ZERO, &d);
    *out = s == MG_OK ? d.net.numel : 0;
    return s;
}

/* Layer i's convolution, padded by one pixel on every side. */
static mg_tensor *patchgan_conv(mg_graph *g, const mg_discriminator *d, mg_tensor *x, int i)
{
    const int stride = i < 3 ? 2 : 1;
    if (d->pad == MG_PAD_REFLECT)
        return mg_conv2d(g, mg_reflect_pad2d(g, x, 1, 1, 1, 1), d->w[i], d->b[i], stride, 0);
    return mg_conv2d(g, x, d->w[i], d->b[i], stride, 1);
}

mg_tensor *mg_discriminator_forward(mg_graph *g, const mg_discriminator *d, mg_tensor *x)
{
    for (int i = 0; i < 4; i++) {
        x = patchgan_conv(g, d, x, i);
        x = i > 0 ? mg_instance_norm_relu(g, x, NULL, NULL, 1e-5f, 0.2f) : mg_leaky_relu(g, x, 0.2f);
    }
    return patchgan_conv(g, d, x, 4);
}
