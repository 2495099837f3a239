/* explain.c - why a workload has no candidate left: how many offers each
 * constraint removed, the nearest offer by latency and by cost, the
 * jurisdictions residency excluded, and up to three reasons of every other
 * kind, for people who must relax something. */
#include "config.h"
#include "plan/plan_int.h"
#include "base/decimal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- explaining infeasibility ---------------------------------------------------------------- */

static void sources_text(const json_t *sources, fbi_buf *b)
{
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s) {
        double wgt = json_number_value(json_object_get(s, "weight"));
        if (i) fbi_buf_puts(b, ", ");
        fbi_buf_puts(b, jstr(s, "location"));
        if (json_array_size(sources) > 1) fbi_buf_printf(b, " %.0f%%", wgt * 100);
    }
}

/* Why workload w has no candidate left, and what the nearest one needs. */
void fbi_plan_explain_infeasible(model *m, wl *w, json_t *why)
{
    static const char *classes[] = {"baseline", "provider", "region", "service", "trigger", "residency",
                                    "driver", "price", "latency", "budget", "objective"};
    fbi_buf msg;
    fbi_buf_init(&msg);
    fbi_buf_printf(&msg, "no placement for %s/%s: all %zu offers for a %s were eliminated (",
                   w->tenant, w->name, w->nopts, w->kind);
    int first = 1;
    for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
        size_t n = 0;
        for (size_t k = 0; k < w->nopts; k++)
            if (opt_class(w, &w->opts[k]) && !strcmp(opt_class(w, &w->opts[k]), classes[c])) n++;
        if (!n) continue;
        fbi_buf_printf(&msg, "%s%s %zu", first ? "" : ", ", classes[c], n);
        first = 0;
    }
    fbi_buf_puts(&msg, ")");
    if (w->nopts == 0) {
        fbi_buf_free(&msg);
        msg.data = NULL;
        fbi_buf_init(&msg);
        fbi_buf_printf(&msg, "no placement for %s/%s: no loaded driver offers a %s", w->tenant,
                       w->name, w->kind);
    }
    fbi_buf detail;
    fbi_buf_init(&detail);
    const json_t *place = w->placement;
    /* nearest by latency: for each percentile the SLO names, the offer
     * with the lowest modelled value and the relaxation that would admit it */
    for (int pk = 0; pk < PLAN_NPCT; pk++) {
        char key[8];
        snprintf(key, sizeof key, "%sMs", fbi_plan_pct_names[pk]);
        long long slo = (long long)json_integer_value(jpath(place, "latencySLO", key));
        if (slo <= 0) continue;
        /* the percentiles modelled again (the evaluation keeps the p50;
         * a candidate out for its latency keeps what it is modelled from) */
        option *best = NULL;
        plan_latency best_lat, lat;
        for (size_t k = 0; k < w->nopts; k++) {
            option *op = &w->opts[k];
            if (opt_class(w, op) && !strcmp(opt_class(w, op), "latency") && opt_ev(op)->has_latency &&
                fbi_plan_option_latency(m, w->sh, op, &lat) == 0 && (!best || lat.pct_ms[pk] < best_lat.pct_ms[pk])) {
                best = op;
                best_lat = lat;
            }
        }
        if (!best || best_lat.pct_ms[pk] <= (double)slo) continue;
        fbi_buf src;
        fbi_buf_init(&src);
        sources_text(w->sources, &src);
        fbi_buf_printf(&detail, "%slatency SLO %s %lld ms from %s: best is %s:%s at %.0f ms (%s); "
                       "the nearest relaxation is latencySLO.%s: %.0fms",
                       detail.len ? "; " : "", fbi_plan_pct_names[pk], slo, src.data ? src.data : "?",
                       opt_of(m, best)->provider, opt_of(m, best)->region, best_lat.pct_ms[pk], opt_of(m, best)->service,
                       fbi_plan_pct_names[pk], ceil(best_lat.pct_ms[pk]));
        fbi_buf_free(&src);
    }
    /* the cheapest candidate on the budget's own figure (for net: the
     * most credit it can get, model.c) */
    json_t *bj = jpath(place, "budget", NULL);
    budget_basis basis = fbi_plan_basis(bj);
    option *cheap = NULL;
    int64_t cheap_fig = 0;
    for (size_t k = 0; k < w->nopts; k++) {
        option *op = &w->opts[k];
        if (!opt_class(w, op) || strcmp(opt_class(w, op), "budget")) continue;
        int64_t fig = basis == BASIS_LIST ? opt_ev(op)->list_nano
                      : basis == BASIS_NET ? opt_ev(op)->contracted_nano - opt_ev(op)->credit_ub_nano
                                           : opt_ev(op)->contracted_nano;
        if (!cheap || fig < cheap_fig) {
            cheap = op;
            cheap_fig = fig;
        }
    }
    if (cheap) {
        char a[40], bb[40], cc[FBI_DEC_BUF], dd[40];
        /* the relaxation: that figure rounded up to the cent */
        int64_t cents = (cheap_fig + 9999999) / 10000000;
        fbi_dec_format(cents, 2, 2, cc);
        fbi_buf_printf(&detail, "%sbudget %s USD/month, compared with the cost %s (budget.basis; "
                       "docs/spec.md): the cheapest is %s at %s USD/month %s",
                       detail.len ? "; " : "",
                       fbi_nano_str(json_integer_value(json_object_get(bj, "monthlyMicroUsd")) *
                                    NANO_PER_MICRO, a),
                       fbi_plan_basis_words(basis), opt_of(m, cheap)->label, fbi_nano_str(cheap_fig, bb),
                       fbi_plan_basis_words(basis));
        if (basis == BASIS_NET)
            fbi_buf_printf(&detail, " at best (contracted %s, less the most free-tier credit it can get)",
                           fbi_nano_str(opt_ev(cheap)->contracted_nano, dd));
        fbi_buf_printf(&detail, "; the nearest relaxation is budget.monthly: \"%s\"", cc);
    }
    json_t *res = json_object_get(place, "residency");
    if (json_array_size(res)) {
        json_t *seen = json_object();
        for (size_t k = 0; k < w->nopts; k++) {
            option *op = &w->opts[k];
            if (opt_class(w, op) && !strcmp(opt_class(w, op), "residency") && opt_of(m, op)->reg)
                json_object_set_new(seen, opt_of(m, op)->reg->jurisdiction, json_true());
        }
        if (json_object_size(seen)) {
            fbi_buf_printf(&detail, "%sresidency allows ", detail.len ? "; " : "");
            size_t i;
            json_t *v;
            json_array_foreach(res, i, v) fbi_buf_printf(&detail, "%s%s", i ? "," : "", json_string_value(v));
            fbi_buf_puts(&detail, "; the other offers are in ");
            const char *key;
            json_t *val;
            int f = 1;
            json_object_foreach(seen, key, val) {
                fbi_buf_printf(&detail, "%s%s", f ? "" : ", ", key);
                f = 0;
            }
        }
        json_decref(seen);
    }
    /* up to three distinct reasons of every other class, with how many
     * offers each one eliminated */
    for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
        if (!strcmp(classes[c], "latency") || !strcmp(classes[c], "budget") ||
            !strcmp(classes[c], "residency") || !strcmp(classes[c], "baseline"))
            continue;
        json_t *seen = json_object();
        int shown = 0;
        char rb[200];
        for (size_t k = 0; k < w->nopts; k++) {
            option *op = &w->opts[k];
            if (!opt_class(w, op) || strcmp(opt_class(w, op), classes[c])) continue;
            const char *reason = fbi_plan_opt_reason(m, w, op, rb);
            json_t *cnt = json_object_get(seen, reason);
            if (cnt) {
                json_object_set_new(seen, reason, json_integer(json_integer_value(cnt) + 1));
                continue;
            }
            json_object_set_new(seen, reason, json_integer(1));
        }
        for (size_t k = 0; k < w->nopts && shown < 3; k++) {
            option *op = &w->opts[k];
            if (!opt_class(w, op) || strcmp(opt_class(w, op), classes[c])) continue;
            const char *reason = fbi_plan_opt_reason(m, w, op, rb);
            json_t *cnt = json_object_get(seen, reason);
            if (!cnt || json_integer_value(cnt) == 0) continue;
            json_int_t n = json_integer_value(cnt);
            fbi_buf_printf(&detail, "%s%s: %s", detail.len ? "; " : "", opt_of(m, op)->label, reason);
            if (n > 1) fbi_buf_printf(&detail, " (and %lld more offers)", (long long)(n - 1));
            json_object_set_new(seen, reason, json_integer(0));
            shown++;
        }
        json_decref(seen);
    }
    fb_diag_add(m->diag, FB_SEV_ERROR, NULL, 0, 0, NULL, msg.data, detail.data);
    json_array_append_new(why, json_pack("{s:s,s:s,s:s?}", "workload", w->name, "reason", msg.data,
                                         "nearest", detail.data));
    fbi_buf_free(&msg);
    fbi_buf_free(&detail);
}

