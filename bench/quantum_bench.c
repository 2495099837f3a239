/* quantum_bench.c - throughput of the state-vector kernels against the
 * machine's memory bandwidth, measured in the same run as a streaming copy
 * over a state-sized buffer (a gate must read and write the whole state, so
 * the copy is its floor), and the time of whole QFT circuits through the
 * public API (parse + simulate). Not part of make check; see
 * bench/README-quantum.md.
 *
 *   quantum_bench [--qubits 20,22,24,26] [--reps 3] [--qft 16,20]
 */
#include "config.h"
#include "fbq_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c) break;
        s = c + 1;
    }
    return n;
}

typedef struct {
    const char *name;
    int kind; /* 0 1q dense, 1 1q diag (rz), 2 phase (t), 3 cx, 4 2q dense, 5 cz */
    int where; /* 0 lowest qubits, 1 middle, 2 highest */
} kcase;

static const kcase cases[] = {
    {"1q dense, qubit 0", 0, 0}, {"1q dense, middle", 0, 1}, {"1q dense, top", 0, 2},
    {"rz (diagonal)", 1, 1},     {"t (phase)", 2, 1},         {"cx", 3, 1},
    {"cz", 5, 1},                {"2q dense, low", 4, 0},    {"2q dense, middle", 4, 1},
    {"2q dense, top", 4, 2},
};
#define NCASES (sizeof cases / sizeof *cases)

static void run_case(double *s, int n, const kcase *k)
{
    const double h = 0.7071067811865476;
    int t = k->where == 0 ? 0 : k->where == 1 ? n / 2 : n - 1;
    int t2 = k->where == 2 ? n - 2 : t + 1;
    switch (k->kind) {
    case 0: {
        fbq_c m[4] = {{h, 0}, {0, h}, {0, h}, {h, 0}};
        fbq_k_1q(s, n, t, m, 0, 0);
        break;
    }
    case 1: {
        fbq_c d0 = {0.9, -0.43588989435406736}, d1 = {0.9, 0.43588989435406736};
        fbq_k_1q_diag(s, n, t, d0, d1, 0, 0);
        break;
    }
    case 2: {
        fbq_c ph = {h, h};
        fbq_k_phase(s, n, ph, 1ull << t, 1ull << t);
        break;
    }
    case 3: {
        fbq_c one = {1, 0};
        fbq_k_1q_anti(s, n, t, one, one, 1ull << t2, 1ull << t2);
        break;
    }
    case 4: {
        fbq_c m[16];
        for (int i = 0; i < 16; i++) {
            m[i].re = (i % 5 == 0) ? 0.5 : 0.5 * ((i * 7 % 3) - 1);
            m[i].im = 0.1 * (i % 3);
        }
        fbq_k_2q(s, n, t, t2, m, 0, 0);
        break;
    }
    case 5: {
        fbq_c ph = {-1, 0};
        uint64_t mk = (1ull << t) | (1ull << t2);
        fbq_k_phase(s, n, ph, mk, mk);
        break;
    }
    }
}

static char *qft_source(int n)
{
    fbq_sb b = {0};
    fbq_sb_printf(&b, "OPENQASM 2.0;\ninclude \"qelib1.inc\";\ngate swap a, b { cx a, b; cx b, a; cx a, b; }\n"
                      "qreg q[%d];\nx q[0];\nx q[2];\n", n);
    for (int j = n - 1; j >= 0; j--) {
        fbq_sb_printf(&b, "h q[%d];\n", j);
        for (int k = j - 1; k >= 0; k--) fbq_sb_printf(&b, "cu1(pi/%.0f) q[%d], q[%d];\n", (double)(1ull << (j - k)), k, j);
    }
    for (int i = 0; i < n / 2; i++) fbq_sb_printf(&b, "swap q[%d], q[%d];\n", i, n - 1 - i);
    return fbq_sb_steal(&b);
}

int main(int argc, char **argv)
{
    int qubits[16] = {20, 22, 24, 26}, nq = 4, reps = 3, qft[8] = {16, 20}, nqft = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--qubits")) nq = parse_list(argv[i + 1], qubits, 16);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--qft")) nqft = parse_list(argv[i + 1], qft, 8);
        else {
            fprintf(stderr, "usage: quantum_bench [--qubits 20,22,24,26] [--reps 3] [--qft 16,20]\n");
            return 64;
        }
    }
    if (reps < 1) reps = 1;
    printf("# kernel time (best of %d) and ratio to a streaming copy of the state (memcpy, same bytes)\n", reps);
    printf("%-6s %-9s %-22s %10s %8s %8s\n", "qubits", "state", "operation", "ms", "GB/s", "x copy");
    for (int qi = 0; qi < nq; qi++) {
        int n = qubits[qi];
        size_t bytes = (size_t)16 << n;
        double *a = fbq_state_alloc(n), *b = fbq_state_alloc(n);
        if (!a || !b) {
            fprintf(stderr, "cannot allocate 2 x %zu bytes for %d qubits\n", bytes, n);
            return 1;
        }
        memset(a, 0, bytes);
        memset(b, 0, bytes);
        a[0] = 1;
        double copy = 1e300;
        for (int r = 0; r < reps; r++) {
            double t0 = now_ms();
            memcpy(b, a, bytes);
            double t1 = now_ms();
            if (t1 - t0 < copy) copy = t1 - t0;
        }
        printf("%-6d %5zu MiB %-22s %10.2f %8.2f %8s\n", n, bytes >> 20, "copy (floor)", copy,
               2.0 * bytes / (copy * 1e6), "1.00");
        fbq_state_free(b);
        /* the same bytes read and written in place, as a gate does */
        double inplace = 1e300;
        for (int r = 0; r < reps; r++) {
            double t0 = now_ms();
            for (size_t i = 0; i < bytes / 8; i++) a[i] *= 1.0000001;
            double t1 = now_ms();
            if (t1 - t0 < inplace) inplace = t1 - t0;
        }
        printf("%-6d %5zu MiB %-22s %10.2f %8.2f %8.2f\n", n, bytes >> 20, "in-place scale", inplace,
               2.0 * bytes / (inplace * 1e6), inplace / copy);
        memset(a, 0, bytes);
        a[0] = 1;
        for (size_t c = 0; c < NCASES; c++) {
            double best = 1e300;
            for (int r = 0; r < reps; r++) {
                double t0 = now_ms();
                run_case(a, n, &cases[c]);
                double t1 = now_ms();
                if (t1 - t0 < best) best = t1 - t0;
            }
            printf("%-6d %5zu MiB %-22s %10.2f %8.2f %8.2f\n", n, bytes >> 20, cases[c].name, best,
                   2.0 * bytes / (best * 1e6), best / copy);
        }
        fbq_state_free(a);
        fflush(stdout);
    }
    printf("\n# whole circuits through the public API: QFT of a basis state (best of %d)\n", reps + 2);
    printf("#   simulate: fbq_simulate with 1 shot (state vector, then one sample)\n");
    printf("#   probabilities: fbq_simulate with exact probabilities of all 2^n outcomes\n");
    printf("%-6s %8s %10s %12s %15s\n", "qubits", "gates", "parse ms", "simulate ms", "probabilities ms");
    for (int qi = 0; qi < nqft; qi++) {
        int n = qft[qi];
        char *src = qft_source(n);
        FILE *qf;
        char qpath[64];
        snprintf(qpath, sizeof qpath, "bench/qft%d.qasm", n);
        if ((qf = fopen(qpath, "w")) != NULL) { /* the same circuit for the node comparison */
            fputs(src, qf);
            fclose(qf);
        }
        double bp = 1e300, br = 1e300, bs = 1e300;
        int gates = n + n * (n - 1) / 2 + 2 + n / 2;
        for (int r = 0; r < reps + 2; r++) {
            fbq_error e;
            double t0 = now_ms();
            fbq_program *p = fbq_parse("qft.qasm", src, strlen(src), NULL, &e);
            double t1 = now_ms();
            if (!p) {
                fprintf(stderr, "qft: %s\n", e.message);
                return 1;
            }
            fbq_options o;
            fbq_options_init(&o);
            o.shots = 1;
            fbq_result *res;
            if (fbq_simulate(p, &o, &res, &e) != FBQ_OK) {
                fprintf(stderr, "qft: %s\n", e.message);
                return 1;
            }
            double t2 = now_ms();
            fbq_result_free(res);
            o.want_probabilities = 1;
            if (fbq_simulate(p, &o, &res, &e) != FBQ_OK) {
                fprintf(stderr, "qft: %s\n", e.message);
                return 1;
            }
            double t3 = now_ms();
            fbq_result_free(res);
            fbq_program_free(p);
            if (t1 - t0 < bp) bp = t1 - t0;
            if (t2 - t1 < bs) bs = t2 - t1;
            if (t3 - t2 < br) br = t3 - t2;
        }
        printf("%-6d %8d %10.2f %12.2f %15.2f\n", n, gates, bp, bs, br);
        free(src);
    }
    return 0;
}
