/* cmd_quantum.c - `fedbroker quantum run FILE.qasm`: parse an OpenQASM
 * program and run it on the local state-vector simulator (quantum/);
 * `fedbroker quantum qasm3 FILE.qasm`: print it converted to OpenQASM 3. */
#include "config.h"
#include "cli.h"
#include "base/util.h"
#include "fbq.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

/* Parses a decimal unsigned 64-bit integer; 0 on success. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) return -1;
    *out = v;
    return 0;
}

/* BYTES with an optional binary suffix: K/KiB, M/MiB, G/GiB, T/TiB. */
static int parse_bytes(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return -1;
    uint64_t mul = 1;
    if (*end) {
        char u = *end;
        const char *rest = end + 1;
        if (u == 'k' || u == 'K') mul = 1ull << 10;
        else if (u == 'M') mul = 1ull << 20;
        else if (u == 'G') mul = 1ull << 30;
        else if (u == 'T') mul = 1ull << 40;
        else return -1;
        if (*rest && strcmp(rest, "iB") != 0 && strcmp(rest, "B") != 0) return -1;
    }
    if (v > UINT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

static int report(const char *sub, const fbq_error *e)
{
    char buf[1200];
    fbq_error_format(e, buf, sizeof buf);
    fprintf(stderr, "fedbroker quantum %s: %s\n", sub, buf);
    return FB_EXIT_INVALID;
}

/* Reads the program (or stdin for "-") and parses it. */
static fbq_program *load(const char *sub, const char *path, const char **incdirs, int *rc)
{
    fbq_parse_options o;
    memset(&o, 0, sizeof o);
    o.include_dirs = incdirs;
    fbq_error e;
    fbq_program *p;
    if (strcmp(path, "-") == 0) {
        char *err = NULL;
        size_t len;
        char *src = fbi_read_file("-", 64u << 20, &len, &err);
        if (!src) {
            fprintf(stderr, "fedbroker quantum %s: cannot read standard input: %s\n", sub, err);
            free(err);
            *rc = FB_EXIT_INVALID;
            return NULL;
        }
        o.base_dir = ".";
        p = fbq_parse("<stdin>", src, len, &o, &e);
        free(src);
    } else {
        p = fbq_parse_file(path, &o, &e);
    }
    if (!p) *rc = report(sub, &e);
    return p;
}

static void print_table(const char *path, const fbq_program *p, const fbq_result *r)
{
    int probs = fbq_result_is_probabilities(r);
    char *layout = fbq_outcome_layout(p);
    printf("program   %s (OpenQASM %d, %d qubit%s, %d classical bit%s)\n", path,
           fbq_program_dialect(p) == FBQ_QASM2 ? 2 : 3, fbq_result_qubits(r),
           fbq_result_qubits(r) == 1 ? "" : "s", fbq_result_clbits(r), fbq_result_clbits(r) == 1 ? "" : "s");
    if (probs)
        printf("result    exact probabilities of the measured outcomes\n");
    else
        printf("shots     %" PRIu64 " (seed %" PRIu64 ")\n", fbq_result_shots(r), fbq_result_seed(r));
    const char *head = *layout ? layout : "outcome";
    int w = (int)strlen(head);
    for (size_t i = 0; i < fbq_result_size(r); i++) {
        int l = (int)strlen(fbq_result_outcome(r, i)->bits);
        if (l > w) w = l;
    }
    if (!*layout && fbq_result_clbits(r) == 0 && fbq_result_size(r) && fbq_result_outcome(r, 0)->bits[0])
        head = "qubits (no measure: all measured)";
    if ((int)strlen(head) > w) w = (int)strlen(head);
    printf("\n%-*s  %s\n", w, head, probs ? "probability" : "count      frequency");
    for (size_t i = 0; i < fbq_result_size(r); i++) {
        const fbq_outcome *o = fbq_result_outcome(r, i);
        if (probs)
            printf("%-*s  %.12g\n", w, o->bits, o->probability);
        else
            printf("%-*s  %-10" PRIu64 " %.4f\n", w, o->bits, o->count,
                   (double)o->count / (double)fbq_result_shots(r));
    }
    free(layout);
}

static int cmd_run(int argc, char **argv)
{
    const char *shots_s = NULL, *seed_s = NULL, *format = NULL, *mem_s = NULL;
    const char **incdirs = NULL;
    int probs = 0;
    fbc_opt opts[] = {
        {"shots", "N", "number of shots, 1 to 10,000,000 (default 1024)", &shots_s, NULL, NULL},
        {"seed", "S", "seed of the sampler, 0 to 2^64-1 (default 0)", &seed_s, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"probabilities", NULL, "print the exact probability of each outcome instead of shots "
         "(circuits without mid-circuit measurement, reset or if)", NULL, &probs, NULL},
        {"memory-limit", "BYTES", "largest state vector to allocate, e.g. 4GiB (default)", &mem_s, NULL, NULL},
        {"include-dir", "DIR", "also look for include files there (repeatable)", NULL, NULL, &incdirs},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker quantum run FILE.qasm [--shots N] [--seed S] [--format table|json]\n"
                   "       [--probabilities] [--memory-limit BYTES] [--include-dir DIR]",
                   "Runs an OpenQASM 2.0 or 3 program on the local state-vector simulator and\n"
                   "prints the counts of each classical outcome (or, with --probabilities, their\n"
                   "exact probabilities). Outcomes are written like Qiskit: highest bit leftmost,\n"
                   "registers separated by spaces with the last declared leftmost. A program whose\n"
                   "measurements write no classical bit is read on every qubit. FILE may be '-' for stdin.\n"
                   "Invalid programs or options exit with status 2 and a file:line:col message.",
                   &pos, &npos, &rc)) {
        free(incdirs);
        return rc;
    }
    rc = FB_EXIT_INVALID;
    fbq_program *p = NULL;
    fbq_result *res = NULL;
    fbc_format fmt;
    fbq_options o;
    fbq_options_init(&o);
    if (npos != 1) {
        fprintf(stderr, "fedbroker quantum run: expected one FILE.qasm, got %d arguments\n"
                "usage: fedbroker quantum run FILE.qasm [--shots N] [--seed S] ...\n", npos);
        rc = FB_EXIT_USAGE;
        goto out;
    }
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0) {
        rc = FB_EXIT_USAGE;
        goto out;
    }
    if (shots_s && (parse_u64(shots_s, &o.shots) || o.shots < 1 || o.shots > FBQ_MAX_SHOTS)) {
        fprintf(stderr, "fedbroker quantum run: --shots must be a whole number from 1 to 10000000, got '%s'\n",
                shots_s);
        goto out;
    }
    if (seed_s && parse_u64(seed_s, &o.seed)) {
        fprintf(stderr, "fedbroker quantum run: --seed must be a whole number from 0 to "
                "18446744073709551615, got '%s'\n", seed_s);
        goto out;
    }
    if (mem_s && (parse_bytes(mem_s, &o.memory_limit) || o.memory_limit == 0)) {
        fprintf(stderr, "fedbroker quantum run: --memory-limit must be a positive number of bytes "
                "(suffixes K, M, G, T or KiB, MiB, GiB, TiB), got '%s'\n", mem_s);
        goto out;
    }
    o.want_probabilities = probs;
    p = load("run", pos[0], incdirs, &rc);
    if (!p) goto out;
    fbq_error e;
    if (fbq_simulate(p, &o, &res, &e) != FBQ_OK) {
        if (!e.file[0]) snprintf(e.file, sizeof e.file, "%s", pos[0]);
        if (e.code == FBQ_EINVALID && probs) {
            char buf[1200];
            fprintf(stderr, "fedbroker quantum run: --probabilities: %s\n", fbq_error_format(&e, buf, sizeof buf));
            rc = FB_EXIT_INVALID;
        } else {
            rc = report("run", &e);
        }
        goto out;
    }
    if (fmt == FBC_FMT_JSON) {
        char *js = fbq_result_to_json(res);
        json_error_t je;
        json_t *j = json_loads(js, JSON_DECODE_ANY, &je);
        free(js);
        if (!j) {
            fprintf(stderr, "fedbroker quantum run: internal error: bad result JSON (%s)\n", je.text);
            rc = FB_EXIT_FAILURE;
            goto out;
        }
        json_object_set_new(j, "program", json_string(pos[0]));
        json_object_set_new(j, "dialect", json_string(fbq_program_dialect(p) == FBQ_QASM2 ? "openqasm2" : "openqasm3"));
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        puts(s);
        free(s);
        json_decref(j);
    } else {
        print_table(pos[0], p, res);
    }
    rc = FB_EXIT_OK;
out:
    fbq_result_free(res);
    fbq_program_free(p);
    free(pos);
    free(incdirs);
    return rc;
}

static int cmd_qasm3(int argc, char **argv)
{
    const char **incdirs = NULL;
    fbc_opt opts[] = {
        {"include-dir", "DIR", "also look for include files there (repeatable)", NULL, NULL, &incdirs},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker quantum qasm3 FILE.qasm",
                   "Prints the program converted to OpenQASM 3 (stdgates.inc names, c = measure q)\n"
                   "as accepted by Amazon Braket's simulator.", &pos, &npos, &rc)) {
        free(incdirs);
        return rc;
    }
    fbq_program *p = NULL;
    if (npos != 1) {
        fprintf(stderr, "fedbroker quantum qasm3: expected one FILE.qasm\n");
        rc = FB_EXIT_USAGE;
        goto out;
    }
    rc = FB_EXIT_INVALID;
    p = load("qasm3", pos[0], incdirs, &rc);
    if (!p) goto out;
    char *text = NULL;
    fbq_error e;
    if (fbq_to_qasm3(p, &text, &e) != FBQ_OK) {
        if (!e.file[0]) snprintf(e.file, sizeof e.file, "%s", pos[0]);
        rc = report("qasm3", &e);
        goto out;
    }
    fputs(text, stdout);
    free(text);
    rc = FB_EXIT_OK;
out:
    fbq_program_free(p);
    free(pos);
    free(incdirs);
    return rc;
}

int fbc_cmd_quantum(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "qasm3") == 0) return cmd_qasm3(argc - 1, argv + 1);
    FILE *out = stderr;
    int rc = FB_EXIT_USAGE;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
        out = stdout;
        rc = FB_EXIT_OK;
    } else if (argc >= 2) {
        fprintf(stderr, "fedbroker quantum: unknown sub-verb '%s'\n", argv[1]);
    }
    fprintf(out, "usage: fedbroker quantum run FILE.qasm [--shots N] [--seed S] [--format table|json]\n"
                 "                          [--probabilities] [--memory-limit BYTES]\n"
                 "       fedbroker quantum qasm3 FILE.qasm\n\n"
                 "  run     simulate an OpenQASM 2.0/3 program on the local state-vector simulator\n"
                 "  qasm3   convert an OpenQASM 2.0 program to OpenQASM 3 (Braket's dialect)\n");
    return rc;
}
