/* evaluate.c - every candidate evaluated once: one evaluation per workload
 * shape and offer (workloads that differ only in metadata share theirs;
 * docs/driver-abi.md, "Plan calls"), spread over the machine's cores.
 *
 * Each evaluation writes only its own candidate, and everything that reads
 * the candidates afterwards walks them in shape and offer order, so the
 * plan does not depend on which thread evaluated what. The drivers' verbs
 * run concurrently on one context, as the ABI allows (the contexts are made
 * here, on this thread, before the workers start). */
#include "config.h"
#include "plan/plan_int.h"
#include "broker/fanout.h"
#include "spec/spec.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* One job: the candidates of one shape on one driver (a run of
 * consecutive options with the same provider), so a driver with evaluate
 * (ABI 1.2) reads the shape's workload once. */
typedef struct eval_run {
    shape *sh;
    size_t first, n;
    size_t calls;   /* evaluate calls it took (0 or 1) */
} eval_run;

typedef struct eval_job {
    model *m;
    eval_run *runs;
    size_t base;      /* the batch's first run (fbi_fanout's i counts from it) */
    unsigned char *ready; /* by shape: 0, 1 being made ready, 2 ready (under lock; prepare) */
    pthread_mutex_t lock;
    pthread_cond_t made; /* a shape became ready */
    size_t *wl_at;    /* by shape: its first entry in wl_of (nshapes + 1) */
    size_t *wl_of;    /* the workloads (indices into m->w), grouped by shape */
} eval_job;

/* Once shape sh is evaluated, nothing reads its documents again (its
 * workloads keep placement, sources and labels): they are dropped, and
 * with release_specs the set's normal forms of its workloads too (the
 * ones a workload holds; a replica's copy was made from the set's, which
 * fbi_plan_build_workloads released). Called once per shape, on the
 * calling thread between batches of shapes (fbi_plan_evaluate_all): freed
 * by the evaluation threads as each shape finished (while the other
 * thread read the parts the set shares between normal forms), the plan
 * of 10,000 distinct Functions took about 8% more CPU than main, in
 * batches about 3% (medians of a few runs on a loaded machine:
 * bench/README-plan.md, "Stop 27"). */
static void release_shape(eval_job *j, shape *sh)
{
    model *m = j->m;
    for (size_t k = j->wl_at[sh->ix]; k < j->wl_at[sh->ix + 1]; k++) {
        wl *w = &m->w[j->wl_of[k]];
        json_decref(w->doc);
        w->doc = NULL;
        if (m->o->release_specs && w->part == PART_NONE && w->nreplicas == 1)
            fbi_spec_release(m->set, w->spec_i);
    }
    sh->doc = NULL;
    free(sh->doc_text);
    sh->doc_text = NULL;
}

/* Shape sh's candidates (fbi_plan_shape_alloc) and its canonical text
 * (the drivers' input), made by the first of its runs to start, when it
 * is evaluated rather than all at once before (the texts of 10,000
 * shapes and their candidate records, alive with every normal form, were
 * the peak of plan's heap: bench/README-plan.md, "Stop 27"); its other
 * runs wait for them (asleep: a thread that spun while the one making them
 * was preempted cost CPU on a loaded machine). */
static void prepare(eval_job *j, shape *sh)
{
    unsigned char *st = &j->ready[sh->ix];
    pthread_mutex_lock(&j->lock);
    while (*st == 1) pthread_cond_wait(&j->made, &j->lock);
    if (*st == 2) {
        pthread_mutex_unlock(&j->lock);
        return;
    }
    *st = 1;
    pthread_mutex_unlock(&j->lock);
    fbi_plan_shape_alloc(j->m, sh);
    sh->doc_text = fbi_json_canonical(sh->doc);
    pthread_mutex_lock(&j->lock);
    *st = 2;
    pthread_cond_broadcast(&j->made);
    pthread_mutex_unlock(&j->lock);
}

static fb_status eval_one(void *ud, size_t i)
{
    eval_job *j = ud;
    eval_run *r = &j->runs[j->base + i];
    prepare(j, r->sh);
    fbi_plan_evaluate_run(j->m, r->sh, &r->sh->opts[r->first], r->n, &r->calls);
    return FB_OK;
}

/* The evaluation runs in this many batches of shapes (evaluate_all). */
#define EVAL_BATCHES 32

/* How many threads evaluate: FEDBROKER_PLAN_THREADS, else the online
 * cores (at most 16). */
static unsigned eval_threads(void)
{
    const char *env = getenv("FEDBROKER_PLAN_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 16) n = 16;
    return (unsigned)n;
}

void fbi_plan_evaluate_all(model *m)
{
    /* configure every driver with offers here: configure is not called
     * concurrently, the verbs are */
    for (size_t k = 0; k < m->noffers; k++) {
        if (k && !strcmp(m->offers[k].provider, m->offers[k - 1].provider)) continue;
        const fb_driver *drv;
        fb_driver_ctx *ctx;
        fb_diag *scratch = fb_diag_new(); /* each evaluation reports its own failure */
        fb_registry_context(m->b->reg, m->offers[k].provider, &drv, &ctx, scratch);
        fb_diag_free(scratch);
    }
    unsigned threads = eval_threads();
    /* the runs: each shape's candidates (the offers of its kind, in
     * offer order: fbi_plan_shape_alloc) cut where the provider changes */
    eval_job j = {m, NULL, 0,
                  fbi_xcalloc(m->nshapes + 1, sizeof *j.ready), PTHREAD_MUTEX_INITIALIZER,
                  PTHREAD_COND_INITIALIZER, fbi_xcalloc(m->nshapes + 1, sizeof *j.wl_at),
                  fbi_xcalloc(m->nw + 1, sizeof *j.wl_of)};
    size_t nruns = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass) {
            j.runs = fbi_xcalloc(nruns ? nruns : 1, sizeof *j.runs);
            nruns = 0;
        }
        for (size_t i = 0; i < m->nshapes; i++) {
            shape *sh = m->shapes[i];
            const offer_info *prev = NULL;
            for (size_t k = 0, n = 0; k < m->noffers; k++) {
                const offer_info *of = &m->offers[k];
                if (strcmp(of->kind, sh->kind)) continue;
                if (!prev || strcmp(of->provider, prev->provider)) {
                    if (pass) j.runs[nruns] = (eval_run){sh, n, 0, 0};
                    nruns++;
                }
                if (pass) j.runs[nruns - 1].n++;
                prev = of;
                n++;
            }
        }
    }
    /* each shape's workloads, in order (a counting sort by shape) */
    for (size_t i = 0; i < m->nw; i++) j.wl_at[m->w[i].sh->ix + 1]++;
    for (size_t i = 0; i < m->nshapes; i++) j.wl_at[i + 1] += j.wl_at[i];
    size_t *fill = fbi_xcalloc(m->nshapes + 1, sizeof *fill);
    for (size_t i = 0; i < m->nw; i++) {
        size_t s = m->w[i].sh->ix;
        j.wl_of[j.wl_at[s] + fill[s]++] = i;
    }
    free(fill);
    /* in batches of shapes (runs are in shape order), each shape's
     * documents released after its batch: the normal forms not yet
     * released are at most one batch's more than those not yet evaluated */
    size_t batch = m->nshapes / EVAL_BATCHES + 1;
    for (size_t s0 = 0, r0 = 0; s0 < m->nshapes; s0 += batch) {
        size_t s1 = s0 + batch < m->nshapes ? s0 + batch : m->nshapes, r1 = r0;
        while (r1 < nruns && j.runs[r1].sh->ix < s1) r1++;
        j.base = r0;
        fbi_fanout(r1 - r0, threads, eval_one, &j, NULL);
        for (size_t s = s0; s < s1; s++) {
            /* (a shape without candidates had no run to make them) */
            if (!m->shapes[s]->opts) fbi_plan_shape_alloc(m, m->shapes[s]);
            release_shape(&j, m->shapes[s]);
        }
        r0 = r1;
    }
    for (size_t i = 0; i < m->nw; i++) m->w[i].opts = m->w[i].sh->opts;
    if (m->o->stats)
        for (size_t i = 0; i < nruns; i++) m->o->stats->evaluate_calls += j.runs[i].calls;
    free(j.runs);
    free(j.ready);
    pthread_mutex_destroy(&j.lock);
    pthread_cond_destroy(&j.made);
    free(j.wl_at);
    free(j.wl_of);
    for (size_t i = 0; i < m->nshapes; i++) {
        shape *sh = m->shapes[i];
        if (!m->o->stats) continue;
        m->o->stats->evaluations += sh->nopts;
        for (size_t k = 0; k < sh->nopts; k++) {
            const option *op = &sh->opts[k];
            if (op->batched) {
                m->o->stats->evaluate_candidates++;
                continue;
            }
            m->o->stats->validate_calls += op->validated;
            m->o->stats->usage_calls += op->estimated;
        }
    }
}
