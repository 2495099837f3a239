/* cmd_quantum.c - `fedbroker quantum run FILE.qasm`: parse an OpenQASM
 * program and run it on the local state-vector simulator (quantum/);
 * `fedbroker quantum qasm3 FILE.qasm`: print it converted to OpenQASM 3. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "fbq.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Reads the program (or stdin for "-") and parses it. incdirs and allow:
 * the --include-dir and --allow-path lists (NULL-terminated or NULL);
 * strict: --strict-qelib. */
static fbq_program *load(const char *sub, const char *path, const char **incdirs, const char **allow, int strict,
                         int *rc)
{
    /* a root that does not exist would be silently left out: say so */
    for (int i = 0; allow && allow[i]; i++) {
        struct stat st;
        int found = stat(allow[i], &st) == 0;
        if (!found || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "fedbroker quantum %s: --allow-path %s: %s\n", sub, allow[i],
                    found ? "not a directory" : strerror(errno));
            *rc = FB_EXIT_INVALID;
            return NULL;
        }
    }
    fbq_parse_options o;
    memset(&o, 0, sizeof o);
    o.include_dirs = incdirs;
    o.allowed_roots = allow;
    o.strict_qelib = strict;
    fbq_error e;
    fbq_program *p;
    if (strcmp(path, "-") == 0) {
        char *err = NULL;
        size_t len;
        char *src = fbi_read_file("-", FBQ_MAX_PROGRAM_SIZE, &len, &err);
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

/* ---- streaming output ----
 * The outcomes go to stdout as the simulator reads them off the final state
 * (fbq_simulate_each): nothing per outcome is kept, so 2^28 probabilities
 * cost the state vector and a line buffer, not gigabytes of JSON. */

typedef struct out_ctx {
    fbc_format fmt;
    const char *path;       /* the program as named on the command line */
    const fbq_program *p;
    int w;                  /* table: width of the outcome column */
    size_t n;               /* outcomes written */
    uint64_t shots;
    int probs;
    int write_error;        /* errno of the first failed write, or EIO */
} out_ctx;

/* 1 (and the error noted) once stdout failed: the run then stops. */
static int out_failed(out_ctx *c)
{
    if (!c->write_error && ferror(stdout)) c->write_error = errno ? errno : EIO;
    return c->write_error != 0;
}

/* A probability as the output had it when it went through jansson: %.17g
 * (exact for a double) without '+' or leading zeros in the exponent, and
 * 1 and 0 as integers. */
static void real_text(double v, char *buf, size_t n)
{
    snprintf(buf, n, "%.17g", v);
    char *e = strchr(buf, 'e');
    if (e) {
        char *start = e + 1, *digits;
        if (*start == '-' || *start == '+') {
            digits = start + 1;
            if (*start == '+') {
                memmove(start, start + 1, strlen(start + 1) + 1);
                digits = start;
            }
        } else {
            digits = start;
        }
        char *nz = digits;
        while (nz[0] == '0' && nz[1]) nz++;
        if (nz != digits) memmove(digits, nz, strlen(nz) + 1);
    }
}

/* Writes s as a JSON string. Text that is not UTF-8 (a file name can be
 * any bytes) keeps its ASCII and has each other byte as \u00XX: still
 * valid JSON, never raw bytes. */
static void put_json_string(FILE *f, const char *s)
{
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (t) {
        fputs(t, f);
        free(t);
        return;
    }
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
        else if (*c < 0x20 || *c >= 0x7f) fprintf(f, "\\u%04x", *c);
        else fputc(*c, f);
    }
    fputc('"', f);
}

static int out_begin(void *ctx, const fbq_run_info *info)
{
    out_ctx *c = ctx;
    c->probs = info->probabilities;
    c->shots = info->shots;
    if (c->fmt == FBC_FMT_JSON) {
        printf("{\n  \"qubits\": %d,\n  \"clbits\": %d,\n  \"shots\": %" PRIu64 ",\n  \"seed\": %" PRIu64
               ",\n  \"layout\": ", info->qubits, info->clbits, info->shots, info->seed);
        put_json_string(stdout, info->layout);
        printf(",\n  \"%s\": {", info->probabilities ? "probabilities" : "counts");
        return out_failed(c);
    }
    char *layout = fbq_outcome_layout(c->p);
    printf("program   %s (OpenQASM %d, %d qubit%s, %d classical bit%s)\n", c->path,
           fbq_program_dialect(c->p) == FBQ_QASM2 ? 2 : 3, info->qubits, info->qubits == 1 ? "" : "s",
           info->clbits, info->clbits == 1 ? "" : "s");
    if (info->probabilities)
        printf("result    exact probabilities of the measured outcomes\n");
    else
        printf("shots     %" PRIu64 " (seed %" PRIu64 ")\n", info->shots, info->seed);
    /* every key has the same length, so the column width is known now */
    const char *head = *layout ? layout : "outcome";
    if (!*layout && info->clbits == 0 && info->keylen > 0) head = "qubits (no measure: all measured)";
    c->w = (int)strlen(head);
    if ((int)info->keylen > c->w) c->w = (int)info->keylen;
    printf("\n%-*s  %s\n", c->w, head, info->probabilities ? "probability" : "count      frequency");
    free(layout);
    return out_failed(c);
}

static int out_outcome(void *ctx, const fbq_outcome *o)
{
    out_ctx *c = ctx;
    if (c->fmt == FBC_FMT_JSON) {
        if (c->probs) {
            char num[64];
            real_text(o->probability, num, sizeof num);
            printf("%s\n    \"%s\": %s", c->n ? "," : "", o->bits, num);
        } else {
            printf("%s\n    \"%s\": %" PRIu64, c->n ? "," : "", o->bits, o->count);
        }
    } else if (c->probs) {
        printf("%-*s  %.12g\n", c->w, o->bits, o->probability);
    } else {
        printf("%-*s  %-10" PRIu64 " %.4f\n", c->w, o->bits, o->count, (double)o->count / (double)c->shots);
    }
    c->n++;
    return out_failed(c);
}

/* Closes the JSON document after the last outcome. */
static void out_end(out_ctx *c)
{
    if (c->fmt != FBC_FMT_JSON) return;
    printf("%s,\n  \"program\": ", c->n ? "\n  }" : "}");
    put_json_string(stdout, c->path);
    printf(",\n  \"dialect\": \"%s\"\n}\n", fbq_program_dialect(c->p) == FBQ_QASM2 ? "openqasm2" : "openqasm3");
}

/* The probability threshold: a decimal number from 0 to 1. */
static int parse_probability(const char *s, double *out)
{
    if (!s || !*s || *s == ' ' || *s == '-' || *s == '+') return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0 && v <= 1)) return -1;
    *out = v;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    const char *shots_s = NULL, *seed_s = NULL, *format = NULL, *mem_s = NULL, *thr_s = NULL;
    const char **incdirs = NULL, **allow = NULL;
    int probs = 0, all = 0, strict = 0;
    fbc_opt opts[] = {
        {"shots", "N", "number of shots, 1 to 10,000,000 (default 1024)", &shots_s, NULL, NULL},
        {"seed", "S", "seed of the sampler, 0 to 2^64-1 (default 0)", &seed_s, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {"probabilities", NULL, "print the exact probability of each outcome instead of shots "
         "(circuits without mid-circuit measurement, reset or if)", NULL, &probs, NULL},
        {"threshold", "P", "with --probabilities: list the outcomes whose probability is above P, "
         "0 to 1 (default 1e-15: the non-zero ones, up to rounding)", &thr_s, NULL, NULL},
        {"all-outcomes", NULL, "with --probabilities: list every outcome, zeros included "
         "(2^m lines for m measured qubits)", NULL, &all, NULL},
        {"memory-limit", "BYTES", "largest state vector to allocate, e.g. 4GiB (default)", &mem_s, NULL, NULL},
        {"include-dir", "DIR", "also look for include files there (repeatable)", NULL, NULL, &incdirs},
        {"allow-path", "DIR", "let includes read files under DIR too (repeatable; by default only the "
         "program's directory tree and --include-dir)", NULL, NULL, &allow},
        {"strict-qelib", NULL, "include \"qelib1.inc\" is the OpenQASM 2.0 standard header only, not "
         "Qiskit's extended one (swap, cswap, rzz, cu, ...)", NULL, &strict, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker quantum run FILE.qasm [--shots N] [--seed S] [--format table|json]\n"
                   "       [--probabilities [--threshold P | --all-outcomes]] [--memory-limit BYTES]\n"
                   "       [--include-dir DIR] [--allow-path DIR] [--strict-qelib]",
                   "Runs an OpenQASM 2.0 or 3 program on the local state-vector simulator and\n"
                   "prints the counts of each classical outcome (or, with --probabilities, their\n"
                   "exact probabilities: the non-zero ones unless --threshold or --all-outcomes\n"
                   "says otherwise). Outcomes are written like Qiskit: highest bit leftmost,\n"
                   "registers separated by spaces with the last declared leftmost. A program whose\n"
                   "measurements write no classical bit is read on every qubit. FILE may be '-' for stdin.\n"
                   "Output is written as it is computed: memory is the state vector (16 bytes x\n"
                   "2^qubits), however many outcomes are listed.\n"
                   "Includes are read from the program's directory tree and --include-dir\n"
                   "directories only (--allow-path DIR adds a tree), regular files of at most 1 MiB.\n"
                   "include \"qelib1.inc\" is Qiskit's extended header (--strict-qelib: the standard one).\n"
                   "Invalid programs or options exit with status 2 and a file:line:col message.",
                   &pos, &npos, &rc)) {
        free(incdirs);
        free(allow);
        return rc;
    }
    rc = FB_EXIT_INVALID;
    fbq_program *p = NULL;
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
    if ((thr_s || all) && !probs) {
        fprintf(stderr, "fedbroker quantum run: %s only applies to --probabilities (counts list the "
                "outcomes seen)\n", thr_s ? "--threshold" : "--all-outcomes");
        rc = FB_EXIT_USAGE;
        goto out;
    }
    if (thr_s && all) {
        fprintf(stderr, "fedbroker quantum run: --threshold and --all-outcomes exclude each other "
                "(--all-outcomes lists zeros too)\n");
        rc = FB_EXIT_USAGE;
        goto out;
    }
    if (thr_s && parse_probability(thr_s, &o.threshold)) {
        fprintf(stderr, "fedbroker quantum run: --threshold must be a probability from 0 to 1 "
                "(e.g. 0.001 or 1e-9), got '%s'\n", thr_s);
        goto out;
    }
    o.want_probabilities = probs;
    o.all_outcomes = all;
    p = load("run", pos[0], incdirs, allow, strict, &rc);
    if (!p) goto out;
    fbq_error e;
    out_ctx oc;
    memset(&oc, 0, sizeof oc);
    oc.fmt = fmt;
    oc.path = pos[0];
    oc.p = p;
    fbq_sink sink = {out_begin, out_outcome, &oc};
    fbq_status st = fbq_simulate_each(p, &o, &sink, &e);
    if (st == FBQ_OK) {
        out_end(&oc);
        if (fflush(stdout) != 0 && !oc.write_error) oc.write_error = errno ? errno : EIO;
        (void)out_failed(&oc);
    }
    if (oc.write_error || st == FBQ_ESTOPPED) {
        fprintf(stderr, "fedbroker quantum run: cannot write the output: %s\n",
                strerror(oc.write_error ? oc.write_error : EIO));
        rc = FB_EXIT_FAILURE;
        goto out;
    }
    if (st != FBQ_OK) {
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
    rc = FB_EXIT_OK;
out:
    fbq_program_free(p);
    free(pos);
    free(incdirs);
    free(allow);
    return rc;
}

static int cmd_qasm3(int argc, char **argv)
{
    const char **incdirs = NULL, **allow = NULL;
    int strict = 0;
    fbc_opt opts[] = {
        {"include-dir", "DIR", "also look for include files there (repeatable)", NULL, NULL, &incdirs},
        {"allow-path", "DIR", "let includes read files under DIR too (repeatable)", NULL, NULL, &allow},
        {"strict-qelib", NULL, "include \"qelib1.inc\" is the OpenQASM 2.0 standard header only", NULL,
         &strict, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts,
                   "fedbroker quantum qasm3 FILE.qasm [--include-dir DIR] [--allow-path DIR] [--strict-qelib]",
                   "Prints the program converted to OpenQASM 3 (stdgates.inc names, c = measure q)\n"
                   "as accepted by Amazon Braket's simulator.", &pos, &npos, &rc)) {
        free(incdirs);
        free(allow);
        return rc;
    }
    fbq_program *p = NULL;
    if (npos != 1) {
        fprintf(stderr, "fedbroker quantum qasm3: expected one FILE.qasm\n");
        rc = FB_EXIT_USAGE;
        goto out;
    }
    rc = FB_EXIT_INVALID;
    p = load("qasm3", pos[0], incdirs, allow, strict, &rc);
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
    free(allow);
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
                 "                          [--probabilities [--threshold P | --all-outcomes]]\n"
                 "                          [--memory-limit BYTES] [--include-dir DIR] [--allow-path DIR]\n"
                 "                          [--strict-qelib]\n"
                 "       fedbroker quantum qasm3 FILE.qasm [--include-dir DIR] [--allow-path DIR] [--strict-qelib]\n\n"
                 "  run     simulate an OpenQASM 2.0/3 program on the local state-vector simulator\n"
                 "  qasm3   convert an OpenQASM 2.0 program to OpenQASM 3 (Braket's dialect)\n");
    return rc;
}
