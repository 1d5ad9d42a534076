/* Translation with a trained CycleGAN (mrigan/cyclegan.h): a slice through one generator (its moving average when
 * the model keeps one), then what the model's configuration asks of the result: the mean with the translation of
 * the mirrored slice, the guided filter with the slice as its guide, the flat background; whole images padded to
 * the generator's multiple, and volumes slice by slice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "mrigan/cyclegan.h"

static const mg_generator *translator(const mg_cyclegan *m, int d)
{
    if (m->cfg.ema > 0.0f)
        return d == 0 ? &m->avg_ab : &m->avg_ba;
    return d == 0 ? &m->g_ab : &m->g_ba;
}

static mg_status translate_once(mg_cyclegan *m, const mg_generator *gen, const float *x, int h, int w, float *y)
{
    mg_graph *g = m->graph_g;
    mg_graph_reset(g);
    mg_graph_set_grad(g, false);
    mg_graph_set_training(g, false);
    mg_tensor *out = mg_generator_forward(g, gen, mg_graph_tensor(g, 4, (const int[]){1, 1, h, w}, x));
    mg_status s = mg_graph_check(g, "translate");
    if (s == MG_OK)
        s = mg_tensor_read(out, y, (size_t)h * w);
    mg_graph_set_grad(g, true);
    mg_graph_set_training(g, true);
    mg_graph_reset(g);
    return s;
}

static void mirror_rows(const float *x, int h, int w, float *out)
{
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
            out[(size_t)i * w + j] = x[(size_t)i * w + (w - 1 - j)];
}

void mg_cyclegan_set_flip_average(mg_cyclegan *m, bool on) { m->cfg.flip_average = on; }

void mg_cyclegan_set_guide(mg_cyclegan *m, int radius, float eps)
{
    m->cfg.guide_radius = radius;
    m->cfg.guide_eps = eps;
}

void mg_cyclegan_set_background(mg_cyclegan *m, mg_background how) { m->cfg.background = how; }

mg_status mg_cyclegan_translate(mg_cyclegan *m, int direction, const float *x, int h, int w, float *y)
{
    if (m && (direction == 0 || direction == 1) && !m->has_generator[direction])
        return mg_error(MG_ERR_ARG, "the model holds only the %s generator (an export of one direction)",
                        direction ? "A->B" : "B->A");
    const mg_generator *gen = translator(m, direction);
    int mult = mg_generator_multiple(&gen->cfg);
    if (h % mult || w % mult)
        return mg_error(MG_ERR_ARG, "translate: %dx%d is not a multiple of the generator's %d", w, h, mult);
    mg_status s = translate_once(m, gen, x, h, w, y);
    size_t n = (size_t)h * w;
    float *buf = s == MG_OK && m->cfg.flip_average ? malloc(2 * n * sizeof *buf) : NULL;
    if (s == MG_OK && m->cfg.flip_average && !buf)
        return mg_error(MG_ERR_OOM, "translate: out of memory for the mirrored %dx%d slice", w, h);
    if (buf) {
        mirror_rows(x, h, w, buf);
        s = translate_once(m, gen, buf, h, w, buf + n);
    }
    if (buf && s == MG_OK) {
        mirror_rows(buf + n, h, w, buf);
        for (size_t i = 0; i < n; i++) /* (a + b) / 2 is symmetric: mirrored inputs give mirrored outputs exactly */
            y[i] = 0.5f * (y[i] + buf[i]);
    }
    free(buf);
    if (s == MG_OK && m->cfg.guide_radius > 0)
        s = mg_image_guided_filter(x, y, h, w, m->cfg.guide_radius, m->cfg.guide_eps * m->cfg.guide_eps, y);
    const float air = m->cfg.has_air ? m->cfg.air[!direction] : NAN; /* the target domain's */
    if (s == MG_OK && m->cfg.background == MG_BACKGROUND_FLAT)
        s = mg_image_flatten_background(x, h, w, MG_BACKGROUND_RADIUS, air, y);
    return s;
}

mg_status mg_cyclegan_translate_image(mg_cyclegan *m, int direction, const mg_image *img, mg_image *out)
{
    const mg_generator *gen = translator(m, direction);
    mg_image padded = {0}, y = {0};
    int ox, oy;
    mg_status s = mg_image_pad_to_multiple(img, mg_generator_multiple(&gen->cfg), &padded, &ox, &oy);
    if (s == MG_OK)
        s = mg_image_new(padded.width, padded.height, &y);
    if (s == MG_OK)
        s = mg_cyclegan_translate(m, direction, padded.data, padded.height, padded.width, y.data);
    if (s == MG_OK)
        s = mg_image_crop(&y, ox, oy, img->width, img->height, out);
    mg_image_free(&padded);
    mg_image_free(&y);
    return s;
}

mg_status mg_cyclegan_translate_volume(mg_cyclegan *m, int direction, const mg_volume *v, const char *path,
                                       mg_slice_axis axis, float *values, mg_translate_progress progress, void *arg)
{
    if (!m || !v || !v->data || !values)
        return mg_error(MG_ERR_ARG, "translate volume: NULL argument");
    mg_volume_plane p;
    mg_volume_scale sc;
    bool *empty = NULL;
    mg_status s = mg_volume_plane_of(v, axis, &p);
    if (s == MG_OK)
        s = mg_volume_scale_of(v, path, &sc);
    if (s == MG_OK && !(empty = calloc((size_t)p.count, sizeof *empty)))
        s = mg_error(MG_ERR_OOM, "%s: out of memory", path);
    if (s == MG_OK)
        s = mg_volume_slice_fill(v, &p, &sc, NULL, empty);
    int total = 0, done = 0;
    for (int k = 0; s == MG_OK && k < p.count; k++)
        total += !empty[k];
    for (size_t i = 0, n = (size_t)v->dim[0] * v->dim[1] * v->dim[2]; s == MG_OK && i < n; i++)
        values[i] = -1.0f;
    for (int k = 0; s == MG_OK && k < p.count; k++) {
        if (empty[k])
            continue;
        mg_image x = {0}, y = {0};
        s = mg_volume_get_slice(v, &p, k, &sc, &x);
        if (s == MG_OK)
            s = mg_cyclegan_translate_image(m, direction, &x, &y);
        if (s == MG_OK)
            s = mg_volume_put_slice(v, &p, k, &y, values);
        if (s != MG_OK && path)
            s = mg_error(s, "%s, slice %d: %s", path, k, mg_last_error());
        mg_image_free(&x);
        mg_image_free(&y);
        if (s == MG_OK && progress)
            progress(++done, total, arg);
    }
    free(empty);
    return s;
}
