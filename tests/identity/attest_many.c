/* attest_many.c - runs a driver's attest verb on one context from many
 * threads at once, as `fedbroker serve`'s verbs may (up to 64 threads on
 * one driver context), for tests/identity/gcp_certs_cache.py:
 *
 *     attest_many DRIVER.so SETTINGS_JSON THREADS PER_THREAD < INPUT_JSON
 *
 * The driver is loaded under the registry's rules with the real host table
 * and configured once with SETTINGS; every thread calls attest PER_THREAD
 * times with INPUT (its own diagnostics). Prints {"calls": N, "statuses":
 * {"OK": n, ...}} on stdout. Exit 0 unless the tool itself fails. */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "base/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64

typedef struct job {
    const fb_driver *drv;
    fb_driver_ctx *ctx;
    const char *in;
    long per_thread;
    long counts[32]; /* by fb_status value (small non-negative) */
    long other;
} job;

static void *run(void *arg)
{
    job *j = arg;
    for (long i = 0; i < j->per_thread; i++) {
        fb_diag *d = fb_diag_new();
        char *out = NULL;
        fb_status st = j->drv->attest(j->ctx, j->in, &out, d);
        if ((int)st >= 0 && (int)st < 32) j->counts[st]++;
        else j->other++;
        fb_host_table()->free(out);
        fb_diag_free(d);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: attest_many DRIVER.so SETTINGS_JSON THREADS PER_THREAD < INPUT\n");
        return 64;
    }
    long threads = strtol(argv[3], NULL, 10), per = strtol(argv[4], NULL, 10);
    if (threads < 1 || threads > MAX_THREADS || per < 1 || per > 1000) {
        fprintf(stderr, "attest_many: THREADS 1..%d, PER_THREAD 1..1000\n", MAX_THREADS);
        return 64;
    }
    fb_diag *d = fb_diag_new();
    fb_registry *r = fb_registry_new();
    const fb_driver *drv = NULL;
    if (fb_registry_load_file(r, argv[1], NULL, &drv, d) != FB_OK || !FB_DRIVER_HAS(drv, attest)) {
        fb_diag_print(d, stderr);
        fprintf(stderr, "attest_many: %s is no driver with attest\n", argv[1]);
        return 1;
    }
    json_t *cfg = json_pack("{s:o}", "settings", json_loads(argv[2], 0, NULL));
    if (!json_object_get(cfg, "settings")) {
        fprintf(stderr, "attest_many: SETTINGS is not JSON\n");
        return 1;
    }
    char *cfg_text = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    fb_driver_ctx *ctx = NULL;
    fb_status st = drv->configure(fb_host_table(), cfg_text, &ctx, d);
    free(cfg_text);
    if (st != FB_OK) {
        fb_diag_print(d, stderr);
        return 1;
    }
    char *rerr = NULL;
    char *in = fbi_read_file("-", 1 << 20, NULL, &rerr); /* standard input */
    if (!in) {
        fprintf(stderr, "attest_many: %s\n", rerr);
        return 1;
    }
    job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (long i = 0; i < threads; i++) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i] = (job){.drv = drv, .ctx = ctx, .in = in, .per_thread = per};
        if (pthread_create(&tid[i], NULL, run, &jobs[i]) != 0) {
            fprintf(stderr, "attest_many: pthread_create failed\n");
            return 1;
        }
    }
    json_t *counts = json_object();
    long other = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        for (int s = 0; s < 32; s++) {
            if (!jobs[i].counts[s]) continue;
            const char *name = fbi_status_name((fb_status)s);
            json_int_t have = json_integer_value(json_object_get(counts, name));
            json_object_set_new(counts, name, json_integer(have + jobs[i].counts[s]));
        }
        other += jobs[i].other;
    }
    if (other) json_object_set_new(counts, "other", json_integer(other));
    json_t *res = json_pack("{s:I,s:o}", "calls", (json_int_t)(threads * per), "statuses", counts);
    char *text = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
    puts(text);
    free(text);
    json_decref(res);
    free(in);
    drv->teardown(ctx);
    fb_registry_free(r);
    fb_diag_free(d);
    return 0;
}
