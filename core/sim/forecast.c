/*
 * forecast.c - seasonal naive and additive Holt-Winters one step ahead,
 * chosen by backtest error (see forecast.h).
 */
#include "config.h"
#include "sim/forecast.h"
#include "base/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Holt-Winters smoothing constants: fixed, documented, not fitted (a fit
 * would cost a search per profile; the backtest says how well they do). */
#define HW_ALPHA 0.2
#define HW_BETA 0.01
#define HW_GAMMA 0.3

static double wape(const double *f, const double *x, size_t from, size_t n)
{
    double e = 0, s = 0;
    for (size_t i = from; i < n; i++) {
        e += fabs(f[i] - x[i]);
        s += fabs(x[i]);
    }
    return s > 0 ? 100.0 * e / s : 0;
}

void fbi_forecast_make(const fbi_profile *p, fbi_forecast *out)
{
    memset(out, 0, sizeof *out);
    size_t n = p->n;
    out->rps = fbi_xcalloc(n ? n : 1, sizeof *out->rps);
    out->backtest_mape = out->other_mape = -1;
    double span = (double)n * (double)p->step_s;
    int64_t m = 0;
    if (p->period_s == 0 && span >= 2 * 604800.0) m = 604800 / p->step_s;
    else if (p->period_s == 0 && span >= 2 * 86400.0) m = 86400 / p->step_s;
    if (m <= 0) {
        memcpy(out->rps, p->rps, n * sizeof *out->rps);
        out->method = p->period_s ? "pattern" : "schedule";
        return;
    }
    out->season_steps = m;
    size_t M = (size_t)m;
    const double *x = p->rps;
    /* seasonal naive: the same step one season earlier */
    double *sn = fbi_xcalloc(n, sizeof *sn);
    for (size_t i = M; i < n; i++) sn[i] = x[i - M];
    /* additive Holt-Winters, started from the first season */
    double *hw = fbi_xcalloc(n, sizeof *hw);
    double *season = fbi_xmalloc(M * sizeof *season);
    double level = 0, trend = 0;
    for (size_t i = 0; i < M; i++) level += x[i];
    level /= (double)M;
    for (size_t i = 0; i < M; i++) season[i] = x[i] - level;
    for (size_t i = M; i < n; i++) {
        double *sj = &season[i % M];
        double f = level + trend + *sj;
        hw[i] = f > 0 ? f : 0;
        double nl = HW_ALPHA * (x[i] - *sj) + (1 - HW_ALPHA) * (level + trend);
        trend = HW_BETA * (nl - level) + (1 - HW_BETA) * trend;
        *sj = HW_GAMMA * (x[i] - nl) + (1 - HW_GAMMA) * *sj;
        level = nl;
    }
    free(season);
    double e_sn = wape(sn, x, M, n), e_hw = wape(hw, x, M, n);
    if (e_hw < e_sn) {
        memcpy(out->rps, hw, n * sizeof *hw);
        out->method = "holt-winters";
        out->backtest_mape = e_hw;
        out->other_mape = e_sn;
    } else {
        memcpy(out->rps, sn, n * sizeof *sn);
        out->method = "seasonal-naive";
        out->backtest_mape = e_sn;
        out->other_mape = e_hw;
    }
    free(sn);
    free(hw);
}
