/*
 * sim.c - the step model (docs/simulation.md): containers with an HPA-like
 * autoscaler, functions with cold starts and a concurrency limit, the spill
 * from one to the other, and pre-warming from a forecast (forecast.c).
 */
#include "config.h"
#include "sim/sim.h"
#include "sim/forecast.h"
#include "base/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MONTH_S 2628000.0 /* 730 hours, the month plan prices */
#define HIST_BUCKETS 2048 /* latency histogram: 1 ms .. 10^6 ms, log-spaced */
#define HIST_MIN_MS 1.0
#define HIST_DECADES 6.0

static const char *const names[FBI_SIM_NSTRATEGIES] = {
    "static-peak", "reactive", "functions-only", "hybrid", "hybrid-predictive"};

const char *fbi_sim_strategy_name(fbi_sim_strategy s)
{
    return (unsigned)s < FBI_SIM_NSTRATEGIES ? names[s] : "?";
}

int fbi_sim_strategy_parse(const char *s)
{
    for (int i = 0; i < FBI_SIM_NSTRATEGIES; i++)
        if (s && !strcmp(s, names[i])) return i;
    return -1;
}

void fbi_sim_params_default(fbi_sim_params *p)
{
    memset(p, 0, sizeof *p);
    p->duration_s = 0.1;
    p->conc = 80;
    p->target_util = 0.7;
    p->sync_s = 15;
    p->stabilise_s = 300;
    p->start_s = 30;
    p->cold_ms = 500;
    p->fconc = 1;
    p->flimit = 1000;
    p->keepalive_s = 600;
    p->min_replicas = 1;
    p->max_replicas = 100;
    p->fn_ref_requests = 1;
}

/* fmax/fmin without the NaN rules (no NaN reaches them): the libm calls
 * were a tenth of a year's simulation */
static inline double dmax(double a, double b) { return a > b ? a : b; }
static inline double dmin(double a, double b) { return a < b ? a : b; }

/* ---- latency histogram: O(1) per step, so a year of minutes stays fast ---- */
typedef struct hist {
    double w[HIST_BUCKETS + 1]; /* the last bucket: unserved (infinite latency) */
    double total;
    double memo_ms[4];          /* the last latencies seen and their buckets: most */
    int memo_b[4], memo_next;   /* steps repeat the same few (D, D + cold start) */
} hist;

static void hist_add(hist *h, double ms, double weight)
{
    if (weight <= 0) return;
    int b = -1;
    if (!isfinite(ms)) {
        b = HIST_BUCKETS;
    } else {
        for (int k = 0; k < 4; k++)
            if (h->memo_ms[k] == ms) b = h->memo_b[k];
        if (b < 0) {
            double x = ms <= HIST_MIN_MS ? 0 : log10(ms / HIST_MIN_MS) / HIST_DECADES * HIST_BUCKETS;
            b = x >= HIST_BUCKETS - 1 ? HIST_BUCKETS - 1 : (int)x;
            h->memo_ms[h->memo_next] = ms;
            h->memo_b[h->memo_next] = b;
            h->memo_next = (h->memo_next + 1) % 4;
        }
    }
    h->w[b] += weight;
    h->total += weight;
}

/* The upper edge of the bucket holding quantile q (infinity when it is
 * among the unserved). */
static double hist_quantile(const hist *h, double q)
{
    if (h->total <= 0) return 0;
    double want = q * h->total, acc = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        acc += h->w[b];
        if (acc >= want) return HIST_MIN_MS * pow(10, (b + 1) * HIST_DECADES / HIST_BUCKETS);
    }
    return INFINITY;
}

/* Weight of the requests slower than ms. */
static double hist_above(const hist *h, double ms)
{
    double x = log10(ms / HIST_MIN_MS) / HIST_DECADES * HIST_BUCKETS, s = 0;
    int from = x < 0 ? 0 : x >= HIST_BUCKETS ? HIST_BUCKETS : (int)ceil(x);
    for (int b = from; b <= HIST_BUCKETS; b++) s += h->w[b];
    return s;
}

/* ---- sliding maximum over the last w values (a monotonic deque) ---- */
typedef struct slmax {
    int64_t *idx;
    double *val;
    size_t head, tail, cap;
} slmax;

static void slmax_init(slmax *m, size_t cap)
{
    m->idx = fbi_xmalloc((cap + 1) * sizeof *m->idx);
    m->val = fbi_xmalloc((cap + 1) * sizeof *m->val);
    m->head = m->tail = 0;
    m->cap = cap + 1;
}

static void slmax_free(slmax *m)
{
    free(m->idx);
    free(m->val);
}

/* Adds value v at index i and returns the maximum over indexes (i-w, i]. */
static double slmax_push(slmax *m, int64_t i, double v, int64_t w)
{
    while (m->tail > m->head && m->val[m->tail - 1] <= v) m->tail--;
    m->idx[m->tail] = i;
    m->val[m->tail] = v;
    m->tail++;
    while (m->idx[m->head] <= i - w) m->head++;
    return m->val[m->head];
}

/* The maximum over indexes (i-w, i) without adding anything (0 when empty). */
static double slmax_peek(slmax *m, int64_t i, int64_t w)
{
    while (m->head < m->tail && m->idx[m->head] <= i - w) m->head++;
    return m->head < m->tail ? m->val[m->head] : 0;
}

/* Sakasegawa's approximation of the M/M/c queueing delay, in units of the
 * service time: rho^(sqrt(2(c+1))-1) / (c (1-rho)). */
static double queue_wait(double rho, double c)
{
    if (c < 1 || rho <= 0) return 0;
    if (rho > 0.99) rho = 0.99;
    return pow(rho, sqrt(2 * (c + 1)) - 1) / (c * (1 - rho));
}

typedef struct pending {
    double ready_at; /* seconds since the start */
    double launched;
    int n;
} pending;

static int64_t price(double qty, int64_t ref_nano, double ref_qty)
{
    if (qty <= 0 || ref_nano <= 0 || ref_qty <= 0) return 0;
    /* quantities in thousandths, priced once as 128-bit integers */
    __int128 q = (__int128)llround(qty * 1000.0);
    __int128 den = (__int128)llround(ref_qty * 1000.0);
    return (int64_t)((q * ref_nano + den / 2) / den);
}

static int check_params(const fbi_profile *prof, const fbi_sim_params *p, char **err)
{
    const char *why = NULL;
    if (!prof || prof->n < 1 || prof->step_s <= 0) why = "the profile is empty";
    else if (!(p->duration_s > 0) || p->duration_s > 3600) why = "meanDuration must be 1 ms to 60m";
    else if (p->conc < 1) why = "targetConcurrency must be at least 1";
    else if (!(p->target_util > 0) || p->target_util > 1) why = "target utilisation must be in (0, 1]";
    else if (p->fconc < 1 || p->flimit < 0) why = "function concurrency must be at least 1";
    else if (p->max_replicas < 1 || p->min_replicas < 0 || p->min_replicas > p->max_replicas)
        why = "replicas: 0 <= minInstances <= maxInstances, maxInstances >= 1";
    else if (p->baseline < 0 || p->baseline > p->max_replicas)
        why = "the baseline must be from 0 to maxInstances";
    else if (p->start_s < 0 || p->cold_ms < 0 || p->sync_s < 0 || p->stabilise_s < 0 ||
             p->keepalive_s < 0)
        why = "times must not be negative";
    if (!why) {
        /* replica counts are ints: a peak past this is not a workload the
         * model is for (and would overflow them) */
        double peak = 0;
        for (size_t i = 0; i < prof->n; i++) peak = peak > prof->rps[i] ? peak : prof->rps[i];
        if (peak * p->duration_s / (p->conc * p->target_util) > 1e7)
            why = "the peak needs more than 10,000,000 replicas at targetConcurrency";
    }
    if (why) {
        *err = fbi_xasprintf("simulate: %s", why);
        return -1;
    }
    return 0;
}

int fbi_sim_run(const fbi_profile *prof, const fbi_sim_params *p, fbi_sim_strategy s,
                fbi_sim_step_fn step_fn, void *ctx, fbi_sim_result *out, char **err)
{
    memset(out, 0, sizeof *out);
    out->strategy = s;
    out->backtest_mape = -1;
    if (check_params(prof, p, err) != 0) return -1;
    const size_t n = prof->n;
    const double S = (double)prof->step_s, D = p->duration_s, C = p->conc;
    const int containers = s != FBI_SIM_FUNCTIONS, spill = s >= FBI_SIM_FUNCTIONS;
    const int autoscale = s == FBI_SIM_REACTIVE || s == FBI_SIM_HYBRID ||
                          s == FBI_SIM_HYBRID_PREDICTIVE;
    const int predictive = s == FBI_SIM_HYBRID_PREDICTIVE;
    double peak = 0;
    for (size_t i = 0; i < n; i++) peak = dmax(peak, prof->rps[i]);
    double base_rps = prof->rps[0] > 0 ? prof->rps[0] : peak;
    /* static peak: the replicas the peak needs at the target utilisation,
     * whatever maxInstances says (that bounds autoscalers) */
    int static_r = (int)ceil(peak * D / (C * p->target_util) - 1e-9);
    if (static_r < 1) static_r = 1;
    int floor_r = s == FBI_SIM_REACTIVE ? p->min_replicas : p->baseline;
    /* containers alone must carry the peak: reactive may grow to static_r */
    int ceil_r = s == FBI_SIM_REACTIVE && static_r > p->max_replicas ? static_r : p->max_replicas;
    /* replicas the load l (concurrent requests) asks the autoscaler for */
#define DESIRED(l) dmin((double)ceil_r, dmax((double)floor_r, ceil((l) / (C * p->target_util) - 1e-9)))

    double *fc = NULL; /* forecast rates, predictive only */
    if (predictive) {
        fbi_forecast f;
        fbi_forecast_make(prof, &f);
        fc = f.rps;
        out->forecast = f.method;
        out->backtest_mape = f.backtest_mape;
    }

    int ready = containers ? (s == FBI_SIM_STATIC_PEAK ? static_r
                                                       : (int)DESIRED(prof->rps[0] * D)) : 0;
    pending *pq = autoscale ? fbi_xmalloc((n + 1) * sizeof *pq) : NULL;
    size_t pq_head = 0, pq_tail = 0;
    int pq_count = 0;
    int64_t W = (int64_t)ceil((double)p->stabilise_s / S);
    if (W < 1) W = 1;
    int64_t K = (int64_t)ceil((double)p->keepalive_s / S);
    if (K < 1) K = 1;
    slmax stab, warmwin;
    slmax_init(&stab, n);
    slmax_init(&warmwin, n);
    hist *h = fbi_xcalloc(1, sizeof *h);
    double busy_sum = 0, cap_sum = 0;
    double min_c = INFINITY, max_c = 0;
    double open_at = -1, scale_sum = 0, scale_max = 0;
    int rises = 0, prev_inst = 0;

    for (size_t i = 0; i < n; i++) {
        const double t0 = (double)i * S, t1 = t0 + S;
        const double r = prof->rps[i], L = r * D, reqs = r * S;
        fbi_sim_step st;
        memset(&st, 0, sizeof st);
        st.t = (int64_t)t0;
        st.rps = r;
        st.load_pct = base_rps > 0 ? 100.0 * r / base_rps : 0;
        int rise = i > 0 && r > prof->rps[i - 1] * 1.1;
        if (rise) {
            if (open_at >= 0) { /* the previous rise never caught up before this one */
                scale_sum += t0 - open_at;
                scale_max = dmax(scale_max, t0 - open_at);
            }
            open_at = -1;
            rises++;
        }
        /* ---- containers: decide, then the capacity over the step ---- */
        double billed = ready;
        int sched_r = 0; /* the schedule's replicas for this step (predictive) */
        if (autoscale) {
            /* the autoscaler sees the load (and, predictive, the schedule) */
            double want_l = predictive ? dmax(L, fc[i] * D) : L;
            double target = slmax_push(&stab, (int64_t)i, DESIRED(want_l), W);
            int total = ready + pq_count;
            if (predictive) {
                /* the schedule: replicas for the forecast load launched
                 * start_s before the step (billed from then), ready at its
                 * start */
                int sched = (int)DESIRED(fc[i] * D);
                sched_r = sched;
                if (sched > total) {
                    ready += sched - total;
                    out->replica_seconds += (sched - total) * p->start_s;
                    total = sched;
                }
            }
            /* what the schedule missed, the autoscaler adds after its sync
             * period and the start time */
            double decide = t0 + (double)p->sync_s;
            if (target > total) {
                pending e = {decide + p->start_s, decide, (int)target - total};
                pq[pq_tail++] = e;
                pq_count += e.n;
            } else if (target < total) {
                int drop = total - (int)target;
                while (drop > 0 && pq_tail > pq_head) { /* cancel starts first */
                    pending *e = &pq[pq_tail - 1];
                    int k = e->n < drop ? e->n : drop;
                    e->n -= k;
                    pq_count -= k;
                    drop -= k;
                    if (e->n == 0) pq_tail--;
                }
                ready -= drop;
            }
            billed = ready;
            for (size_t k = pq_head; k < pq_tail; k++) { /* billed from launch */
                double from = dmax(pq[k].launched, t0);
                if (from < t1) billed += pq[k].n * (t1 - from) / S;
            }
        }
        /* The step in segments, one per replica count: replicas that become
         * ready during it serve from then on, so the lag after a rise is
         * counted to the second, not averaged over the step. */
        double busy = 0, over = 0, peak_over = 0, avail_t = 0; /* concurrency x s */
        if (containers) {
            double rep = ready, t = t0;
            size_t q = pq_head;
            if (s == FBI_SIM_REACTIVE && open_at < 0 && rise) open_at = t0;
            for (;;) {
                double next = autoscale && q < pq_tail && pq[q].ready_at < t1
                                  ? dmax(t, pq[q].ready_at) : t1;
                double cap = rep * C, served = dmin(L, cap), dt = next - t;
                if (s == FBI_SIM_REACTIVE && open_at >= 0 && cap >= L) {
                    /* scale-out time: when the ready capacity first covers the load */
                    scale_sum += t - open_at;
                    scale_max = dmax(scale_max, t - open_at);
                    open_at = -1;
                }
                if (dt > 0) {
                    busy += served * dt;
                    over += (L - served) * dt;
                    avail_t += rep * dt;
                    if (L - served > peak_over) peak_over = L - served;
                }
                t = next;
                if (t >= t1) break;
                rep += pq[q].n;
                ready += pq[q].n;
                pq_count -= pq[q].n;
                q++;
            }
            pq_head = q;
        } else {
            over = L * S;
            peak_over = L;
        }
        double avail = avail_t / S, cap = avail * C;
        double conc_c = busy / S, excess = over / S;
        double lat_c = D * 1000.0;
        double late = 0; /* requests not served (queued past any timeout) */
        if (containers && !spill) {
            lat_c = D * 1000.0 * (1 + queue_wait(cap > 0 ? conc_c / cap : 0, cap));
            late = excess > 0 ? excess * S / D : 0;
        }
        double req_c = L > 0 ? reqs * conc_c / L : 0;
        if (containers) {
            hist_add(h, lat_c, req_c);
            busy_sum += conc_c * S;
            cap_sum += billed * C * S;
            out->replica_seconds += billed * S;
            min_c = dmin(min_c, billed);
            max_c = dmax(max_c, billed);
        }
        /* ---- functions: the spill ---- */
        double req_f = 0, cold = 0;
        int inst = 0, warm_pre = 0;
        if (spill) {
            /* instances for the largest overflow of the step; requests for all of it */
            double need = ceil(peak_over / p->fconc - 1e-9);
            double fr = excess * S / D;
            if (need > p->flimit) { /* throttled beyond the concurrency limit */
                late += fr * (need - p->flimit) / need;
                fr -= fr * (need - p->flimit) / need;
                need = p->flimit;
            }
            inst = (int)need;
            req_f = fr;
            double warm = i == 0 ? inst : slmax_peek(&warmwin, (int64_t)i, K + 1);
            if (predictive) {
                double f_over = dmax(0, fc[i] * D - DESIRED(fc[i] * D) * C);
                warm_pre = (int)dmin(p->flimit, ceil(f_over / p->fconc - 1e-9));
                out->warm_seconds += warm_pre * S;
                warm = dmax(warm, warm_pre);
            }
            slmax_push(&warmwin, (int64_t)i, inst, K + 1);
            cold = dmax(0, inst - warm);
            double cold_req = dmin(req_f, cold * p->fconc);
            hist_add(h, D * 1000.0 + p->cold_ms, cold_req);
            hist_add(h, D * 1000.0, req_f - cold_req);
            if (rise) {
                double t = cold > 0 ? p->cold_ms / 1000.0 : 0;
                scale_sum += t;
                scale_max = dmax(scale_max, t);
            }
        } else if (s == FBI_SIM_STATIC_PEAK && rise && excess > 0) {
            open_at = t0; /* static capacity never catches up: counted to the end */
        }
        hist_add(h, INFINITY, late);
        out->offered += reqs;
        out->served_containers += req_c;
        out->served_functions += req_f;
        out->cold_starts += cold;
        if (inst > out->max_functions) out->max_functions = inst;
        prev_inst = inst;
        if (step_fn) {
            st.containers = containers ? billed : 0;
            st.functions = inst;
            st.warm = warm_pre;
            st.scheduled = sched_r;
            st.util = containers && billed > 0 ? conc_c / (billed * C) : 0;
            st.req_containers = req_c;
            st.req_functions = req_f;
            st.cold = cold;
            st.over_slo = late;
            double served = req_c + req_f;
            st.latency_ms = served > 0 ? (req_c * lat_c + req_f * D * 1000.0 +
                                          dmin(req_f, cold * p->fconc) * p->cold_ms) / served
                                       : 0;
            step_fn(ctx, s, &st);
        }
    }
    (void)prev_inst;
    if (open_at >= 0) {
        double t = (double)n * S - open_at;
        scale_sum += t;
        scale_max = dmax(scale_max, t);
    }
    out->rises = rises;
    out->scaleout_mean_s = rises ? scale_sum / rises : 0;
    out->scaleout_max_s = scale_max;
    out->min_containers = containers ? min_c : 0;
    out->max_containers = max_c;
    out->mean_util = cap_sum > 0 ? busy_sum / cap_sum : 0;
    out->p99_ms = hist_quantile(h, 0.99);
    double unserved = h->w[HIST_BUCKETS];
    out->availability = out->offered > 0 ? (out->offered - unserved) / out->offered : 1;
    out->over_slo = p->slo_p99_ms > 0 ? hist_above(h, p->slo_p99_ms) : unserved;
    out->slo_met = p->slo_p99_ms <= 0 || out->p99_ms <= p->slo_p99_ms;
    /* money: counted quantities, priced once */
    out->cost_nano = price(out->replica_seconds, p->replica_month_nano, MONTH_S) +
                     price(out->served_functions, p->fn_ref_nano, (double)p->fn_ref_requests) +
                     price(out->warm_seconds, p->fn_warm_month_nano, MONTH_S);
    __int128 span = (__int128)n * prof->step_s;
    out->monthly_nano = (int64_t)(((__int128)out->cost_nano * 2628000 + span / 2) / span);
    slmax_free(&stab);
    slmax_free(&warmwin);
    free(pq);
    free(h);
    free(fc);
#undef DESIRED
    return 0;
}

/* The optimiser evaluates every baseline when that takes at most this many
 * simulated steps in all, else it works on a coarse copy of this many
 * steps first (see fbi_sim_optimise). */
#define OPT_EXHAUSTIVE_STEPS 4000000.0
#define OPT_COARSE_STEPS 8760
#define OPT_COARSE_BASELINES 200 /* more: a stride first */

/* Cost with the SLO as a penalty, for the search: an SLO miss is worse than
 * any cost. */
typedef struct probe {
    int b;
    int met;
    int64_t cost;
} probe;

static int better(const probe *a, const probe *b)
{
    if (a->met != b->met) return a->met;
    if (a->cost != b->cost) return a->cost < b->cost;
    return a->b < b->b; /* ties: fewer replicas */
}

static int eval_b(const fbi_profile *prof, const fbi_sim_params *p, fbi_sim_strategy s, int b,
                  probe *out, int *evals, char **err)
{
    fbi_sim_params q = *p;
    q.baseline = b;
    fbi_sim_result r;
    if (fbi_sim_run(prof, &q, s, NULL, NULL, &r, err) != 0) return -1;
    (*evals)++;
    out->b = b;
    out->met = r.slo_met;
    out->cost = r.monthly_nano;
    return 0;
}

int fbi_sim_optimise(const fbi_profile *prof, const fbi_sim_params *p, fbi_sim_strategy s,
                     int *baseline, int *met, int *evals, char **err)
{
    int ev = 0;
    if (check_params(prof, p, err) != 0) return -1;
    double peak = 0;
    for (size_t i = 0; i < prof->n; i++) peak = dmax(peak, prof->rps[i]);
    int hi = (int)dmin(p->max_replicas, ceil(peak * p->duration_s / (p->conc * p->target_util)));
    if (hi < 0) hi = 0;
    probe best = {-1, 0, 0}, x;
    if ((double)prof->n * (hi + 1) <= OPT_EXHAUSTIVE_STEPS) {
        for (int b = 0; b <= hi; b++) {
            if (eval_b(prof, p, s, b, &x, &ev, err) != 0) return -1;
            if (best.b < 0 || better(&x, &best)) best = x;
        }
    } else {
        /* A long profile: every baseline on a coarse copy (the mean rate of
         * each window of k steps, so the requests are the same), then the
         * full profile around the coarse optimum (+-2), extended upwards
         * while none there meets the SLO. A heuristic: bench/sim_bench.sh
         * compares it with the full sweep. */
        size_t k = (prof->n + OPT_COARSE_STEPS - 1) / OPT_COARSE_STEPS;
        fbi_profile c = *prof;
        c.n = (prof->n + k - 1) / k;
        c.step_s = prof->step_s * (int64_t)k;
        c.rps = fbi_xmalloc(c.n * sizeof *c.rps);
        for (size_t i = 0; i < c.n; i++) {
            double sum = 0;
            size_t m = 0;
            for (size_t j = i * k; j < prof->n && j < (i + 1) * k; j++, m++) sum += prof->rps[j];
            c.rps[i] = sum / (double)m;
        }
        /* on the coarse copy: every baseline, or for a very large range
         * every stride-th and then every one within a stride of the best */
        probe cb = {-1, 0, 0};
        int stride = hi + 1 > OPT_COARSE_BASELINES ? (hi + OPT_COARSE_BASELINES) / OPT_COARSE_BASELINES : 1;
        for (int pass = 0; pass < (stride > 1 ? 2 : 1); pass++) {
            int from = pass ? (cb.b - stride + 1 < 0 ? 0 : cb.b - stride + 1) : 0;
            int to = pass ? (cb.b + stride - 1 > hi ? hi : cb.b + stride - 1) : hi;
            for (int b = from; b <= to; b += pass ? 1 : stride) {
                if (eval_b(&c, p, s, b, &x, &ev, err) != 0) {
                    free(c.rps);
                    return -1;
                }
                if (cb.b < 0 || better(&x, &cb)) cb = x;
            }
        }
        free(c.rps);
        int lo = cb.b - 2 < 0 ? 0 : cb.b - 2, up = cb.b + 2 > hi ? hi : cb.b + 2;
        for (int b = lo; b <= hi && (b <= up || !best.met); b++) {
            if (eval_b(prof, p, s, b, &x, &ev, err) != 0) return -1;
            if (best.b < 0 || better(&x, &best)) best = x;
        }
    }
    *baseline = best.b;
    *met = best.met;
    if (evals) *evals = ev;
    return 0;
}
