/* reconcile.c - the reconciler loop (reconcile.h). */
#include "config.h"
#include "server/reconcile.h"
#include "server/v1.h"
#include "base/util.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fbi_reconciler {
    fbi_reconcile_opts o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    fbi_reconcile_counts c;
    json_t *pending; /* tenant -> the id of its last re-apply operation */
};

static const char *js(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* Re-applies tenant's API specs, unless its last re-apply is still queued
 * or running. */
static void reapply(fbi_reconciler *r, const char *tenant)
{
    const char *last = json_string_value(json_object_get(r->pending, tenant));
    json_t *prev = last ? fbi_ops_get(r->o.ops, last, tenant) : NULL;
    const char *st = js(prev, "state");
    int busy = prev && (!strcmp(st, "queued") || !strcmp(st, "running"));
    json_decref(prev);
    if (busy) return;
    char *dir = fbi_v1_tenant_dir(r->o.home, tenant, "specs");
    json_t *names = fbi_v1_list_dir(dir, NULL);
    size_t n = json_array_size(names), i;
    if (n == 0) {
        fbi_auditq_push(r->o.aq, "serve:reconcile", tenant, "reconcile.reapply", "skipped",
                        "{\"reason\":\"no spec of this tenant was submitted through the API\"}", 0);
    } else {
        const char **argv = fbi_xcalloc(n + 8, sizeof *argv);
        char **paths = fbi_xcalloc(n, sizeof *paths);
        size_t a = 0;
        argv[a++] = "apply";
        json_t *nm;
        json_array_foreach(names, i, nm) argv[a++] = paths[i] = fbi_xasprintf("%s/%s", dir, json_string_value(nm));
        argv[a++] = "--yes";
        argv[a++] = "--format";
        argv[a++] = "json";
        if (r->o.catalog_dir) {
            argv[a++] = "--catalog";
            argv[a++] = r->o.catalog_dir;
        }
        argv[a] = NULL;
        char *id = NULL;
        if (fbi_ops_submit(r->o.ops, tenant, "reconcile", argv, &id) == 0) {
            char *detail = fbi_xasprintf("{\"operation\":\"%s\",\"specs\":%zu}", id, n);
            fbi_auditq_push(r->o.aq, "serve:reconcile", tenant, "reconcile.reapply", "queued", detail, 0);
            free(detail);
            json_object_set_new(r->pending, tenant, json_string(id));
            pthread_mutex_lock(&r->mu);
            r->c.reapplies++;
            pthread_mutex_unlock(&r->mu);
        }
        free(id);
        for (i = 0; i < n; i++) free(paths[i]);
        free(paths);
        free(argv);
    }
    json_decref(names);
    free(dir);
}

/* One pass: status, audit rows and counts, re-applies. */
static void pass(fbi_reconciler *r)
{
    const char *argv[] = {"status", "--format", "json", NULL};
    char *out = NULL;
    size_t len = 0;
    json_t *progress = NULL;
    int rc = fbi_ops_run_sync(r->o.ops, argv, &out, &len, &progress);
    json_t *rows = (rc == 0 || rc == FB_EXIT_DRIFT) ? json_loadb(out, len, 0, NULL) : NULL;
    free(out);
    if (!json_is_array(rows)) {
        /* status itself failed (a store or driver problem): say so, count
         * it; the audit detail keeps its last lines */
        while (json_array_size(progress) > 3) json_array_remove(progress, 0);
        json_t *d = json_pack("{s:i,s:O}", "exit_code", rc, "stderr", progress);
        char *detail = json_dumps(d, JSON_COMPACT);
        fbi_auditq_push(r->o.aq, "serve:reconcile", NULL, "reconcile.observe", "failed", detail, 0);
        fprintf(stderr, "fedbroker serve: reconcile: `fedbroker status` failed (exit %d)\n", rc);
        free(detail);
        json_decref(d);
        json_decref(rows);
        json_decref(progress);
        pthread_mutex_lock(&r->mu);
        r->c.runs++;
        r->c.failures++;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    json_decref(progress);
    unsigned long drifted = 0;
    json_t *tenants = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *status = js(row, "status");
        json_t *drift = json_object_get(row, "drift");
        if ((!strcmp(status, "ready") && json_array_size(drift) == 0) || !strcmp(status, "creating") ||
            !strcmp(status, "unresolved"))
            continue;
        drifted++;
        json_t *fields = json_array();
        size_t k;
        json_t *dr;
        json_array_foreach(drift, k, dr) json_array_append(fields, json_object_get(dr, "field"));
        json_t *d = json_pack("{s:s,s:s,s:s,s:o}", "workload", js(row, "workload"), "provider",
                              js(row, "provider"), "region", js(row, "region"), "drift", fields);
        char *detail = json_dumps(d, JSON_COMPACT);
        fbi_auditq_push(r->o.aq, "serve:reconcile", js(row, "tenant"), "reconcile.drift",
                        json_array_size(drift) && !strcmp(status, "ready") ? "drifted" : status, detail, 0);
        free(detail);
        json_decref(d);
        json_object_set_new(tenants, js(row, "tenant"), json_true());
    }
    pthread_mutex_lock(&r->mu);
    r->c.runs++;
    r->c.drifted = drifted;
    r->c.last_ok = (int64_t)time(NULL);
    pthread_mutex_unlock(&r->mu);
    if (r->o.reapply) {
        const char *t;
        json_t *v;
        json_object_foreach(tenants, t, v) reapply(r, t);
    }
    json_decref(tenants);
    json_decref(rows);
}

static void *loop(void *arg)
{
    fbi_reconciler *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += r->o.interval_s;
        while (!r->stop) {
            if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT) break;
        }
        if (r->stop) break;
        pthread_mutex_unlock(&r->mu);
        pass(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

fbi_reconciler *fbi_reconciler_start(const fbi_reconcile_opts *o)
{
    fbi_reconciler *r = fbi_xcalloc(1, sizeof *r);
    r->o = *o;
    r->pending = json_object();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, loop, r) != 0) abort();
    return r;
}

void fbi_reconciler_stop(fbi_reconciler *r)
{
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    json_decref(r->pending);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

void fbi_reconciler_counts(fbi_reconciler *r, fbi_reconcile_counts *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->c;
    pthread_mutex_unlock(&r->mu);
}
