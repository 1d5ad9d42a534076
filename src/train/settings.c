/* The settings of a training run: the descriptor table, defaults, value formatting and the checks of a new run,
 * all generated from mrigan/settings.def. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "mrigan/trainer.h"

#define SETTING_KIND_INT    MG_SETTING_INT
#define SETTING_KIND_FLOAT  MG_SETTING_FLOAT
#define SETTING_KIND_STRING MG_SETTING_STRING
#define SETTING_KIND_CHOICE MG_SETTING_CHOICE
#define SETTING_KIND_FLAG   MG_SETTING_FLAG
#define SETTING_KIND_NOFLAG MG_SETTING_NOFLAG
/* A string's default (NULL) is no number. */
#define SETTING_DEF_INT(d)    (d)
#define SETTING_DEF_FLOAT(d)  (d)
#define SETTING_DEF_CHOICE(d) (d)
#define SETTING_DEF_FLAG(d)   (d)
#define SETTING_DEF_NOFLAG(d) (d)
#define SETTING_DEF_STRING(d) 0

const mg_setting mg_settings[MG_SET_COUNT] = {
#define SETTING(e, f, kd, opt, l, h, ch, d, sc, member, text)                                                          \
    [MG_SET_##e] = {.key = #f,                                                                                         \
                    .option = opt,                                                                                     \
                    .kind = SETTING_KIND_##kd,                                                                         \
                    .scope = MG_SCOPE_##sc,                                                                            \
                    .lo = l,                                                                                           \
                    .hi = h,                                                                                           \
                    .choices = ch,                                                                                     \
                    .def = SETTING_DEF_##kd(d),                                                                        \
                    .offset = offsetof(mg_train_settings, f),                                                          \
                    .help = text},
#include "mrigan/settings.def"
#undef SETTING
};

void mg_train_settings_default(mg_train_settings *s)
{
    *s = (mg_train_settings){
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) .f = def,
#include "mrigan/settings.def"
#undef SETTING
    };
}

void *mg_setting_field(mg_train_settings *s, mg_setting_id id) { return (char *)s + mg_settings[id].offset; }

int mg_setting_choice_count(const char *choices)
{
    int n = 1;
    for (const char *p = choices; *p; p++)
        n += *p == '|';
    return n;
}

const char *mg_setting_choice_name(const char *choices, int index, char *buf, size_t len)
{
    const char *p = choices;
    for (int i = 0; i < index && p; i++)
        p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
    size_t n = p ? strcspn(p, "|") : 1;
    snprintf(buf, len, "%.*s", (int)n, p && index >= 0 ? p : "?");
    return buf;
}

const char *mg_setting_format(const mg_train_settings *s, mg_setting_id id, char *buf, size_t len)
{
    const mg_setting *d = &mg_settings[id];
    const void *v = (const char *)s + d->offset;
    switch (d->kind) {
    case MG_SETTING_INT: snprintf(buf, len, "%d", *(const int *)v); break;
    case MG_SETTING_FLOAT: snprintf(buf, len, "%g", (double)*(const float *)v); break;
    case MG_SETTING_STRING: snprintf(buf, len, "%s", *(const char *const *)v ? *(const char *const *)v : ""); break;
    case MG_SETTING_CHOICE: mg_setting_choice_name(d->choices, *(const int *)v, buf, len); break;
    case MG_SETTING_FLAG:
    case MG_SETTING_NOFLAG: snprintf(buf, len, "%d", *(const bool *)v); break;
    }
    return buf;
}

/* A number outside its range is refused, except the default's own value (load_size 0: off; device -1: the
 * environment's). */
mg_status settings_check_range(const mg_train_settings *s, mg_setting_id id)
{
    const mg_setting *d = &mg_settings[id];
    const void *v = (const char *)s + d->offset;
    double x = d->kind == MG_SETTING_INT ? *(const int *)v : d->kind == MG_SETTING_FLOAT ? *(const float *)v : 0;
    if (d->kind == MG_SETTING_CHOICE &&
        !(*(const int *)v >= 0 && *(const int *)v < mg_setting_choice_count(d->choices)))
        return mg_error(MG_ERR_ARG, "--%s %d is not one of %s", d->option, *(const int *)v, d->choices);
    if ((d->kind == MG_SETTING_INT || d->kind == MG_SETTING_FLOAT) && !(x >= d->lo && x <= d->hi) && x != d->def)
        return mg_error(MG_ERR_ARG, "--%s %g is outside %g..%g", d->option, x, d->lo, d->hi);
    return MG_OK;
}

mg_status mg_train_settings_check(const mg_train_settings *s)
{
    for (int i = 0; i < MG_SET_COUNT; i++) {
        mg_status st = settings_check_range(s, (mg_setting_id)i);
        if (st != MG_OK)
            return st;
    }
    if (!s->a || !s->b)
        return mg_error(MG_ERR_ARG, "give both --a and --b: the folders of the two domains");
    if (!s->val_a != !s->val_b)
        return mg_error(MG_ERR_ARG, "give both --val-a and --val-b, or neither");
    if (s->epochs == 0 && s->epochs_decay == 0)
        return mg_error(MG_ERR_ARG, "--epochs 0 --epochs-decay 0 leaves nothing to train");
    mg_cyclegan_config cfg = mg_train_settings_model(s);
    int mult = mg_generator_multiple(&cfg.gen);
    if (s->size > 0 && s->size % mult) {
        char name[16];
        return mg_error(MG_ERR_ARG, "--size %d is not a multiple of %d, which the %s generator needs", s->size, mult,
                        mg_setting_choice_name(mg_settings[MG_SET_GENERATOR].choices, s->generator, name, sizeof name));
    }
    return MG_OK;
}

#define MODEL_TO_CFG_RUN(f, m)
#define MODEL_TO_CFG_ONCE(f, m)
#define MODEL_TO_CFG_EACH(f, m)
#define MODEL_TO_CFG_MODEL(f, m) c.m = s->f;

mg_cyclegan_config mg_train_settings_model(const mg_train_settings *s)
{
    mg_cyclegan_config c = {.beta2 = 0.999f};
#define SETTING(e, f, kind, name, lo, hi, choices, def, scope, member, help) MODEL_TO_CFG_##scope(f, member)
#include "mrigan/settings.def"
#undef SETTING
    /* whole slices (size 0): fitted to the least crop here, and to the data's extent by the trainer */
    mg_generator_fit(&c.gen, s->size > 0 ? s->size : MG_PATCHGAN_MIN_SIDE);
    return c;
}
