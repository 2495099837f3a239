/* bench/audit_append.c - the audit writer's store work per row, without
 * serve around it (bench/README-serve.md, "serve5"): ROWS rows of the
 * shape serve writes for a resolve (actor a token id, tenant, action
 * "GET /v1/resolve/svc7", outcome "200"), appended in transactions of
 * BATCH rows to a fresh store, the way serve's writer does
 * (core/server/auditq.c). Mode "many": one fbi_store_audit_append_many
 * per transaction (this branch's writer); mode "row": one
 * fbi_store_audit_append per row inside the transaction (the writer
 * before it: the chain's head read per row). Run under
 * `valgrind --tool=callgrind` for instructions per row (the machine is
 * shared: instruction counts do not depend on its load); prints the
 * rows written and the wall time, and the CPU time of one transaction
 * (this thread's, so the machine's load adds little): p50, p99 and max,
 * how long the writer holds a CPU per batch.
 *
 *   audit_append DIR ROWS BATCH many|row */
#include "config.h"
#include "fedbroker/fedbroker.h"
#include "state/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s DIR ROWS BATCH many|row\n", argv[0]);
        return 64;
    }
    long rows = atol(argv[2]), batch = atol(argv[3]);
    int many = strcmp(argv[4], "many") == 0;
#ifdef AUDIT_APPEND_ROW_ONLY
    if (many) {
        fprintf(stderr, "this build has no fbi_store_audit_append_many\n");
        return 64;
    }
#endif
    if (rows < 1 || batch < 1 || batch > 4096) return 64;
    char path[4096];
    snprintf(path, sizeof path, "%s/state.db", argv[1]);
    fb_diag *d = fb_diag_new();
    fb_store *s = NULL;
    if (fb_store_open(path, &s, d) != FB_OK) {
        fb_diag_print(d, stderr);
        return 1;
    }
    long long *ids = calloc((size_t)batch, sizeof *ids);
    char (*hashes)[65] = calloc((size_t)batch, sizeof *hashes);
    size_t ntx = (size_t)((rows + batch - 1) / batch), itx = 0;
    double *tx_us = calloc(ntx, sizeof *tx_us);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long done = 0;
    fb_status st = FB_OK;
    while (st == FB_OK && done < rows) {
        long n = rows - done < batch ? rows - done : batch;
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        st = fb_store_begin(s, d);
#ifndef AUDIT_APPEND_ROW_ONLY
        if (st == FB_OK && many) {
            fbi_audit_in in[4096];
            for (long i = 0; i < n; i++)
                in[i] = (fbi_audit_in){"fbk_dhxYpKsK", "shop", "GET /v1/resolve/svc7", "200", NULL};
            st = fbi_store_audit_append_many(s, in, (size_t)n, ids, hashes, d);
        }
#endif
        for (long i = 0; st == FB_OK && !many && i < n; i++)
            st = fbi_store_audit_append(s, "fbk_dhxYpKsK", "shop", "GET /v1/resolve/svc7", "200", NULL, &ids[i],
                                        hashes[i], d);
        if (st == FB_OK) st = fb_store_commit(s, d);
        else fb_store_rollback(s);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        if (itx < ntx)
            tx_us[itx++] = (double)(c1.tv_sec - c0.tv_sec) * 1e6 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e3;
        done += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != FB_OK) fb_diag_print(d, stderr);
    printf("%ld rows, %.3f s\n", done, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    double cpu_us = 0;
    for (size_t i = 0; i < itx; i++) cpu_us += tx_us[i];
    qsort(tx_us, itx, sizeof *tx_us, cmp_double);
    if (itx)
        printf("%zu transactions, CPU per transaction p50 %.0f us, p99 %.0f us, max %.0f us; "
               "CPU per row %.2f us\n", itx, tx_us[itx / 2], tx_us[itx * 99 / 100], tx_us[itx - 1],
               cpu_us / (double)done);
    free(tx_us);
    free(ids);
    free(hashes);
    fb_store_close(s);
    fb_diag_free(d);
    return st == FB_OK ? 0 : 1;
}
