/* Choosing among runs that differ in seed only, without pairs (mrigan/trainer.h): the generators' final
 * adversarial losses, and which settings two runs must share for those losses to compare. */
#include <math.h>

#include "mrigan/trainer.h"

double mg_train_score_adversarial(const float (*loss_means)[MG_LOSS_COUNT], int n_epochs)
{
    if (n_epochs < 1)
        return NAN;
    /* a tenth, not the last epoch alone: one epoch's mean of a short set (few iterations) is noisy */
    int k = (n_epochs + 9) / 10;
    double sum = 0;
    for (int e = n_epochs - k; e < n_epochs; e++) {
        double v = (double)loss_means[e][MG_LOSS_ADV_AB] + loss_means[e][MG_LOSS_ADV_BA];
        if (!isfinite(v))
            return NAN;
        sum += v;
    }
    return sum / k;
}

bool mg_setting_compares_runs(mg_setting_id id)
{
    switch (id) {
    case MG_SET_A: /* copies of the same slices may lie anywhere: the caller vouches for the data */
    case MG_SET_B:
    case MG_SET_SEED:       /* what the runs are meant to differ in */
    case MG_SET_SAVE_EVERY: /* which files a run keeps, not what it learns */
    case MG_SET_SAVE_EVERY_ITERATIONS:
    case MG_SET_VAL_A: /* validation only watches */
    case MG_SET_VAL_B:
    case MG_SET_VAL_UNPAIRED:
    case MG_SET_BEST_METRIC: return false;
    default: return mg_settings[id].scope == MG_SCOPE_RUN || mg_settings[id].scope == MG_SCOPE_MODEL;
    }
}
