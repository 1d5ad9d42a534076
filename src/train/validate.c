/* Validation during training: after every epoch both generators translate held-out slices at native size.
 * With paired folders (--val-a, --val-b: files matched by name or T1/T2 tag) the translations are scored
 * against the real other contrast; with --val-unpaired, the reconstructions A->B->A and B->A->B are scored
 * against their inputs, a proxy when no paired data exists. The best checkpoint is the epoch with the best
 * score: the mean over both directions of SSIM (default), PSNR, or minus MAE. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "mrigan/volume.h"
#include "trainer-internal.h"

void val_free(val_set *v)
{
    for (int i = 0; i < v->n; i++) {
        mg_image_free(&v->a[i]);
        mg_image_free(&v->b[i]);
    }
    free(v->a);
    free(v->b);
    memset(v, 0, sizeof *v);
}

/* Loads the pairs (paired) or the two folders' images side by side (unpaired: only the count of the smaller
 * folder is used from each). */
mg_status val_load(const char *dir_a, const char *dir_b, bool paired, mg_slice_axis axis, val_set *v, int *unmatched,
                   char *first, size_t first_len)
{
    memset(v, 0, sizeof *v);
    *unmatched = 0;
    snprintf(first, first_len, "%s", "");
    v->paired = paired;
    if (!paired) {
        mg_dataset *da = NULL, *db = NULL;
        mg_status s = mg_dataset_load(dir_a, axis, &da);
        if (s == MG_OK)
            s = mg_dataset_load(dir_b, axis, &db);
        int n = s == MG_OK ? mg_dataset_count(da) : 0, nb = s == MG_OK ? mg_dataset_count(db) : 0;
        v->n = n > nb ? n : nb;
        v->n_a = n;
        v->n_b = nb;
        v->a = calloc((size_t)(v->n ? v->n : 1), sizeof *v->a);
        v->b = calloc((size_t)(v->n ? v->n : 1), sizeof *v->b);
        for (int i = 0; s == MG_OK && i < v->n; i++) {
            const mg_image *src[2] = {i < n ? mg_dataset_image(da, i) : NULL, i < nb ? mg_dataset_image(db, i) : NULL};
            mg_image *dst[2] = {&v->a[i], &v->b[i]};
            for (int k = 0; k < 2 && s == MG_OK; k++)
                if (src[k] && (s = mg_image_new(src[k]->width, src[k]->height, dst[k])) == MG_OK)
                    memcpy(dst[k]->data, src[k]->data, (size_t)src[k]->width * src[k]->height * sizeof(float));
        }
        mg_dataset_free(da);
        mg_dataset_free(db);
        if (s == MG_OK && (!v->a || !v->b))
            s = mg_error(MG_ERR_OOM, "validation data: out of host memory");
        if (s != MG_OK) {
            if (s != MG_ERR_OOM)
                s = mg_error(s, "validation data: %s", mg_last_error());
            val_free(v);
        }
        return s;
    }
    mg_pair_list l = {0};
    mg_status s = mg_folder_pair_inputs(dir_a, dir_b, &l);
    *unmatched = l.unmatched;
    if (l.first_unmatched)
        snprintf(first, first_len, "%s", l.first_unmatched);
    for (int i = 0; s == MG_OK && i < l.n; i++)
        if ((s = mg_slices_append_pair(l.items[i].a, l.items[i].b, axis, &v->a, &v->b, &v->n)) != MG_OK)
            s = mg_error(s, "validation data: %s", mg_last_error());
    v->n_a = v->n_b = v->n;
    mg_pairs_free(&l);
    if (s != MG_OK)
        val_free(v);
    return s;
}

/* Scores img's translation (paired: against target; unpaired: the round trip against img itself); without a
 * model, img itself against target. */
static mg_status val_score(mg_cyclegan *m, bool paired, int d, const mg_image *img, const mg_image *target,
                           mg_image *keep, mg_metrics *out)
{
    if (!m) /* the identity baseline: the input as it is */
        return mg_metrics_compare(img, target, &(mg_metrics_options){0}, out);
    mg_image y = {0}, back = {0};
    mg_status s = mg_cyclegan_translate_image(m, d, img, &y);
    if (s == MG_OK && !paired)
        s = mg_cyclegan_translate_image(m, 1 - d, &y, &back);
    mg_metrics_options opt = {0};
    if (s == MG_OK)
        s = mg_metrics_compare(paired ? &y : &back, paired ? target : img, &opt, out);
    if (s == MG_OK && keep && paired) { /* the grid's: handed over, not freed */
        *keep = y;
        y = (mg_image){0};
    }
    mg_image_free(&y);
    mg_image_free(&back);
    return s;
}

mg_status val_run(mg_cyclegan *m, const val_set *v, int best_metric, mg_image (*keep)[2], mg_val_result *out)
{
    mg_metrics *items = calloc((size_t)(v->n ? v->n : 1), sizeof *items);
    if (!items)
        return mg_error(MG_ERR_OOM, "validation: out of host memory");
    mg_status s = MG_OK;
    for (int d = 0; d < 2 && s == MG_OK; d++) {
        int n = 0;
        for (int i = 0; i < v->n && s == MG_OK; i++) {
            const mg_image *img = d ? &v->b[i] : &v->a[i], *target = d ? &v->a[i] : &v->b[i];
            if (!img->data || (v->paired && !target->data))
                continue;
            s = val_score(m, v->paired, d, img, target, keep && i < VAL_GRID_PAIRS ? &keep[i][d] : NULL, &items[n++]);
        }
        mg_metrics_summary sum;
        mg_metrics_compute_summary(items, n, &sum);
        out->psnr[d] = sum.psnr_mean;
        out->ssim[d] = sum.ssim_mean;
        out->mae[d] = sum.mae_mean;
    }
    free(items);
    out->score = best_metric == 0   ? 0.5 * (out->ssim[0] + out->ssim[1])
                 : best_metric == 1 ? 0.5 * (out->psnr[0] + out->psnr[1])
                                    : -0.5 * (out->mae[0] + out->mae[1]);
    return s;
}

mg_status val_identity(const val_set *v, mg_val_result *out)
{
    mg_status s = val_run(NULL, v, 0, NULL, out);
    out->score = NAN;
    return s;
}
