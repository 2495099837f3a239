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

/* The season of p in steps (a weekly season for a profile of at least two
 * weeks, else a daily one for at least two days), 0 when none: a pattern
 * repeats exactly and a shorter profile is a schedule known ahead. */
static size_t season_of(const fbi_profile *p)
{
    double span = (double)p->n * (double)p->step_s;
    if (p->period_s != 0 || p->known_ahead) return 0;
    if (span >= 2 * 604800.0) return (size_t)(604800 / p->step_s);
    if (span >= 2 * 86400.0) return (size_t)(86400 / p->step_s);
    return 0;
}

/* Both methods over x[0..n) with season M (n >= 2M): one step ahead
 * (sn, hw: n rates each, the first M 0) and, when ahead is not NULL, the
 * M steps after the history (ahead: 2M rates, seasonal naive then
 * Holt-Winters, each clipped at 0). */
static void both_methods(const double *x, size_t n, size_t M, double *sn, double *hw, double *ahead)
{
    /* seasonal naive: the same step one season earlier */
    for (size_t i = M; i < n; i++) sn[i] = x[i - M];
    /* additive Holt-Winters, started from the first season */
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
    if (ahead) {
        /* h steps past the last (h = 1..M): level + h x trend + the
         * season's last estimate for that step */
        for (size_t h = 1; h <= M; h++) {
            ahead[h - 1] = x[n - M + h - 1];
            double f = level + (double)h * trend + season[(n + h - 1) % M];
            ahead[M + h - 1] = f > 0 ? f : 0;
        }
    }
    free(season);
}

void fbi_forecast_make(const fbi_profile *p, fbi_forecast *out)
{
    memset(out, 0, sizeof *out);
    size_t n = p->n;
    out->rps = fbi_xcalloc(n ? n : 1, sizeof *out->rps);
    out->backtest_mape = out->other_mape = -1;
    size_t M = season_of(p);
    if (M == 0) {
        memcpy(out->rps, p->rps, n * sizeof *out->rps);
        out->method = p->period_s ? "pattern" : "schedule";
        return;
    }
    out->season_steps = (int64_t)M;
    const double *x = p->rps;
    double *sn = fbi_xcalloc(n, sizeof *sn);
    double *hw = fbi_xcalloc(n, sizeof *hw);
    both_methods(x, n, M, sn, hw, NULL);
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

int fbi_forecast_next(const fbi_profile *p, fbi_profile *next, fbi_forecast *info)
{
    memset(next, 0, sizeof *next);
    memset(info, 0, sizeof *info);
    info->backtest_mape = info->other_mape = -1;
    size_t M = p->absolute ? season_of(p) : 0;
    if (M == 0) return 0;
    size_t n = p->n;
    const double *x = p->rps;
    double *sn = fbi_xcalloc(n, sizeof *sn);
    double *hw = fbi_xcalloc(n, sizeof *hw);
    double *ahead = fbi_xmalloc(2 * M * sizeof *ahead);
    both_methods(x, n, M, sn, hw, ahead);
    double e_sn = wape(sn, x, M, n), e_hw = wape(hw, x, M, n);
    /* the method chosen as fbi_forecast_make chooses it (ties: seasonal
     * naive), so the next season comes from the one the backtest shows */
    int use_hw = e_hw < e_sn;
    info->method = use_hw ? "holt-winters" : "seasonal-naive";
    info->backtest_mape = use_hw ? e_hw : e_sn;
    info->other_mape = use_hw ? e_sn : e_hw;
    info->season_steps = (int64_t)M;
    next->rps = fbi_xmalloc(M * sizeof *next->rps);
    memcpy(next->rps, ahead + (use_hw ? M : 0), M * sizeof *next->rps);
    next->n = M;
    next->absolute = 1;
    next->step_s = p->step_s;
    next->period_s = 0;
    next->start = p->start + (int64_t)n * p->step_s;
    next->known_ahead = 1; /* the forecast is what the schedule follows */
    free(sn);
    free(hw);
    free(ahead);
    return 1;
}
