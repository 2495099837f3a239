/*
 * forecast.h - the forecast behind predictive pre-warming (prefix
 * fbi_forecast_): seasonal naive and additive Holt-Winters, the one with
 * the lower backtest error chosen (docs/simulation.md, "Forecast").
 * Thread: no shared state.
 */
#ifndef FB_SIM_FORECAST_H
#define FB_SIM_FORECAST_H

#include "spec/profile.h"

typedef struct fbi_forecast {
    double *rps;          /* one forecast rate per step of the profile (new, free()) */
    const char *method;   /* static: "pattern", "schedule", "seasonal-naive", "holt-winters" */
    double backtest_mape; /* weighted absolute % error (sum |f - x| / sum x, in %) over the
                             steps after the first season; -1 when there is no backtest */
    double other_mape;    /* the method not chosen, -1 when none */
    int64_t season_steps; /* 0 when there is no season */
} fbi_forecast;

/* Forecasts every step of p from the steps before it: a pattern repeats
 * exactly ("pattern"); a profile of at least two weeks (else two days) uses
 * a weekly (else daily) season; a shorter one is taken as a schedule known
 * in advance ("schedule", a planned event), and so is a profile marked
 * known_ahead (a forecast already). Steps of the first season have
 * no history: their forecast is 0 (nothing pre-warmed). */
void fbi_forecast_make(const fbi_profile *p, fbi_forecast *out);

/* The next season of a dated history (docs/simulation.md, "Forecasting
 * the next season"): when p has UTC times and at least two seasons (as
 * above), *next (zeroed first; its rates new, fbi_profile_free) is the
 * season after p's last step, forecast by the method the backtest chooses
 * (seasonal naive: the last season again; Holt-Winters: level + h x trend
 * + season from the state after the last step, h steps ahead, clipped at
 * 0), and *info names that method and its backtest errors (info->rps
 * stays NULL). Returns 1, or 0 with nothing allocated when p is a pattern,
 * offsets, or shorter than two days. */
int fbi_forecast_next(const fbi_profile *p, fbi_profile *next, fbi_forecast *info);

#endif
