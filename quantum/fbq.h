/*
 * fbq.h - OpenQASM 2.0 / 3 (subset) parser and state-vector simulator
 * (prefix fbq_). The local backend of fedbroker's quantum shim.
 *
 * A noinst convenience library (quantum/libfbq.la, PIC) that depends on the C
 * library and libm only, so the fedbroker command and a driver .so can both
 * link it.
 *
 * Ownership: "new" means the caller frees the result with the matching
 * fbq_*_free (or free() where said); "borrowed" means it lives as long as the
 * object it came from. Nothing here keeps a pointer to an argument after the
 * call returns unless said.
 *
 * Thread safety: objects are not shared between threads by the library; two
 * threads may use two programs (or simulate one program) concurrently.
 */
#ifndef FBQ_H
#define FBQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------- */

typedef enum fbq_status {
    FBQ_OK = 0,
    FBQ_ESYNTAX,      /* not OpenQASM: unexpected token, bad literal, ... */
    FBQ_EUNDEFINED,   /* undefined gate, register or parameter */
    FBQ_EARGS,        /* wrong number of parameters or qubit arguments,
                         mismatched register sizes, repeated qubit */
    FBQ_ERANGE,       /* index out of range, register too large */
    FBQ_EDUPLICATE,   /* a name defined twice */
    FBQ_EINCLUDE,     /* include file missing, unreadable, too deep */
    FBQ_EMEMORY,      /* circuit does not fit the memory limit */
    FBQ_EUNSUPPORTED, /* valid OpenQASM this library does not run (opaque
                         gate called, non-integer pow of a big gate, ...) */
    FBQ_EINVALID,     /* bad option (shots, ...) or a request the circuit
                         cannot satisfy (exact probabilities of a dynamic
                         circuit) */
    FBQ_ESTOPPED      /* a sink callback asked fbq_simulate_each to stop */
} fbq_status;

/* Where and what. file is the name given to fbq_parse or the include file;
 * line/column are 1-based (0 when the error has no location). */
typedef struct fbq_error {
    fbq_status code;
    int line, column;
    char file[256];
    char message[768];
} fbq_error;

/* Formats "file:line:col: message" (or just the message when there is no
 * location) into buf (always NUL-terminated). Returns buf. */
char *fbq_error_format(const fbq_error *err, char *buf, size_t n);
/* A short name for a status ("syntax error", "undefined name", ...).
 * borrowed (static). */
const char *fbq_status_name(fbq_status s);

/* ---- programs ----------------------------------------------------------- */

typedef struct fbq_program fbq_program;

typedef enum fbq_dialect { FBQ_QASM2 = 2, FBQ_QASM3 = 3 } fbq_dialect;

/* Input limits: a program (file or standard input) and, together, the
 * files it includes are at most FBQ_MAX_PROGRAM_SIZE bytes each; one include
 * file at most FBQ_MAX_INCLUDE_SIZE. */
#define FBQ_MAX_PROGRAM_SIZE (16u << 20) /* 16 MiB */
#define FBQ_MAX_INCLUDE_SIZE (1u << 20)  /* 1 MiB */

typedef struct fbq_parse_options {
    /* Directory that `include "x.inc";` of the top-level source resolves
     * against (includes inside an included file resolve against that file's
     * directory). NULL: the filesystem is never read; only the embedded
     * qelib1.inc and stdgates.inc can be included (what a server should use
     * for untrusted programs). */
    const char *base_dir;
    /* Extra directories searched, in order, after the including file's
     * directory; NULL-terminated, may be NULL. Ignored when base_dir is
     * NULL. */
    const char *const *include_dirs;
    /* Maximum include nesting; 0 means the default (16). */
    int max_include_depth;
    /* Directory trees includes may also read from; NULL-terminated, may be
     * NULL. By default an include must resolve (symbolic links and ".."
     * followed) inside base_dir's tree or an include_dirs tree: a program
     * cannot read /etc/passwd or ../../secret by naming it. Directories
     * that do not exist are left out. Ignored when base_dir is NULL. */
    const char *const *allowed_roots;
    /* `include "qelib1.inc";` without a qelib1.inc beside the program reads
     * the embedded Qiskit extended header (Qiskit's qelib1.inc: the
     * OpenQASM 2.0 standard gates plus u0 u p sx sxdg swap cswap crx cry cp
     * csx cu rxx rzz rccx rc3x c3x c3sqrtx c4x, and a cu3 that is exactly
     * controlled-U3, where the standard one adds a phase on the control).
     * The added gates give way to the program's own definitions of those
     * names. 1: the OpenQASM 2.0 standard qelib1.inc only. */
    int strict_qelib;
} fbq_parse_options;

/* Parses OpenQASM 2.0 (the whole language) or the OpenQASM 3 subset
 * described in README: the dialect comes from the `OPENQASM` line (none:
 * OpenQASM 3). name is used in error messages (e.g. the file path); src is
 * borrowed for the call and need not be NUL-terminated. `include
 * "qelib1.inc";` reads qelib1.inc from the including file's directory when
 * such a file exists (QASMBench ships an extended one) and otherwise uses
 * the embedded standard header; `include "stdgates.inc";` always uses the
 * embedded OpenQASM 3 library. opt may be NULL (no filesystem access).
 * An include file must resolve inside an allowed tree (see allowed_roots),
 * be a regular file (not a device, FIFO or a /proc or /sys pseudo-file) of
 * at most FBQ_MAX_INCLUDE_SIZE bytes of UTF-8 text; until its first
 * statement has been read, an error in it gives its path, line and column
 * but quotes none of its text (it could be any file).
 * Returns a new program (fbq_program_free) or NULL with *err filled. */
fbq_program *fbq_parse(const char *name, const char *src, size_t len,
                       const fbq_parse_options *opt, fbq_error *err);
/* Reads and parses a file (at most FBQ_MAX_PROGRAM_SIZE bytes); includes
 * resolve against its directory (and opt->include_dirs), confined to the
 * trees described at fbq_parse_options.allowed_roots. opt may be NULL.
 * new or NULL with *err. */
fbq_program *fbq_parse_file(const char *path, const fbq_parse_options *opt,
                            fbq_error *err);
void fbq_program_free(fbq_program *p);

fbq_dialect fbq_program_dialect(const fbq_program *p);
/* Total qubits (sum of quantum registers) and classical bits. */
int fbq_num_qubits(const fbq_program *p);
int fbq_num_clbits(const fbq_program *p);
/* 1 when the circuit measures a qubit and then acts on it again, resets a
 * qubit or has a classically conditioned operation: its outcomes then come
 * from per-shot trajectories and exact probabilities are not offered. When
 * why is not NULL it receives a new (free()) explanation with the location
 * of the first such operation, or NULL for a static circuit. */
int fbq_program_is_dynamic(const fbq_program *p, char **why);
/* The classical registers in output order, leftmost first, joined by ' '
 * (e.g. "c2 c1 c0"), the layout of every outcome key. new (free()). */
char *fbq_outcome_layout(const fbq_program *p);

/* Converts a parsed program to OpenQASM 3 text that this parser accepts and
 * Amazon Braket's simulator accepts: `OPENQASM 3.0;`, `include
 * "stdgates.inc";`, qubit[]/bit[] declarations, gates mapped to stdgates
 * names where the definitions agree (checked numerically), other gates
 * emitted as `gate` definitions, `c = measure q;`, `if (c == n) { ... }`.
 * Names that clash with OpenQASM 3 keywords or standard gates are renamed
 * with a trailing '_'. Returns FBQ_OK and *out (new, free()) or an error
 * (FBQ_EUNSUPPORTED when an opaque gate is called). */
fbq_status fbq_to_qasm3(const fbq_program *p, char **out, fbq_error *err);

/* ---- simulation ----------------------------------------------------------- */

#define FBQ_DEFAULT_MEMORY_LIMIT ((uint64_t)4 << 30) /* 4 GiB */
#define FBQ_MAX_SHOTS 10000000u
/* Probabilities at or below this are rounding noise of amplitudes that are
 * zero in exact arithmetic (a double's epsilon is 2.2e-16): the default
 * threshold lists the non-zero outcomes. */
#define FBQ_DEFAULT_THRESHOLD 1e-15

typedef struct fbq_options {
    uint64_t shots;        /* 1..FBQ_MAX_SHOTS; ignored when only
                              probabilities are wanted */
    uint64_t seed;         /* PRNG seed (xoshiro256** seeded by splitmix64) */
    uint64_t memory_limit; /* bytes for state vectors; 0: the default 4 GiB */
    int want_probabilities; /* exact outcome probabilities instead of shots
                               (static circuits only; FBQ_EINVALID
                               otherwise) */
    double threshold;      /* probabilities mode: list the outcomes whose
                              probability is above this, 0 to 1
                              (fbq_options_init: FBQ_DEFAULT_THRESHOLD; 0:
                              every probability above exactly 0) */
    int all_outcomes;      /* probabilities mode: list every value of the
                              measured bits, zeros included (2^m lines for
                              m measured qubits; threshold ignored) */
} fbq_options;

/* The defaults: 1024 shots, seed 0, 4 GiB, counts, threshold
 * FBQ_DEFAULT_THRESHOLD. */
void fbq_options_init(fbq_options *opt);

typedef struct fbq_result fbq_result;

/* One outcome. bits is the classical register contents in Qiskit order:
 * highest bit leftmost, c[0] rightmost; several registers joined with a
 * space, the last declared register leftmost. */
typedef struct fbq_outcome {
    const char *bits;   /* borrowed from the result */
    uint64_t count;     /* shots that gave it (counts mode) */
    double probability; /* exact probability (probabilities mode) */
} fbq_outcome;

/* Runs the program. A state vector takes 16 * 2^qubits bytes; a circuit that
 * needs more than opt->memory_limit is refused (FBQ_EMEMORY, with the bytes
 * needed and the limit). Static circuits are simulated once and shots
 * sampled from the final state; dynamic circuits branch at each mid-circuit
 * measurement or reset, splitting the remaining shots binomially, so each
 * distinct history is simulated once (state copies are kept while they fit
 * the memory limit, otherwise the branch is replayed from the start).
 * Results are reproducible for a given seed. *out is new
 * (fbq_result_free). opt may be NULL for the defaults. */
fbq_status fbq_simulate(const fbq_program *p, const fbq_options *opt,
                        fbq_result **out, fbq_error *err);
void fbq_result_free(fbq_result *r);

/* Outcomes sorted by bits (ascending strings); counts mode lists only
 * outcomes seen, probabilities mode those above opt->threshold (all of
 * them with opt->all_outcomes). borrowed. */
size_t fbq_result_size(const fbq_result *r);
const fbq_outcome *fbq_result_outcome(const fbq_result *r, size_t i);
int fbq_result_is_probabilities(const fbq_result *r);
uint64_t fbq_result_shots(const fbq_result *r);  /* 0 in probabilities mode */
uint64_t fbq_result_seed(const fbq_result *r);
int fbq_result_qubits(const fbq_result *r);
int fbq_result_clbits(const fbq_result *r);
/* The JSON document {"qubits":..,"clbits":..,"shots":..,"seed":..,
 * "layout":"c1 c0","counts"|"probabilities":{"bits":value,...}} (compact,
 * keys in the order written, probabilities with 17 significant digits).
 * new (free()). */
char *fbq_result_to_json(const fbq_result *r);

/* ---- streaming ----------------------------------------------------------- */

/* What a run lists, known before its first outcome. */
typedef struct fbq_run_info {
    int qubits, clbits;
    int probabilities;    /* 1: exact probabilities, 0: counts */
    uint64_t shots;       /* 0 in probabilities mode */
    uint64_t seed;
    const char *layout;   /* as fbq_result's layout ("c1 c0"); borrowed for
                             the call */
    int implicit;         /* no measurement writes a classical bit: the keys
                             are the quantum registers, read at the end */
    size_t keylen;        /* characters of every outcome key */
} fbq_run_info;

/* Where fbq_simulate_each delivers a run. Both callbacks return 0 to go on
 * and non-zero to stop the run (fbq_simulate_each then returns
 * FBQ_ESTOPPED). Arguments are borrowed for the call only. */
typedef struct fbq_sink {
    /* Once, after every check and the simulation itself succeeded and
     * before the first outcome (also when no outcome is listed): no error
     * of the run can follow it. May be NULL. */
    int (*begin)(void *ctx, const fbq_run_info *info);
    /* Each listed outcome, in the order fbq_result lists them. */
    int (*outcome)(void *ctx, const fbq_outcome *o);
    void *ctx;
} fbq_sink;

/* fbq_simulate without building a result: the outcomes of a static circuit
 * go to sink as they are read off the final state, so memory stays the
 * state vector (16 x 2^qubits bytes) plus a key, whatever the number of
 * outcomes (2^28 probabilities need no more). Counts of sampled shots that
 * do not arrive in order (dynamic circuits, few shots over many outcomes)
 * are merged in a table first: at most one entry per shot. Same checks,
 * statuses and *err as fbq_simulate. Thread safety: the callbacks run on
 * the caller's thread. */
fbq_status fbq_simulate_each(const fbq_program *p, const fbq_options *opt,
                             const fbq_sink *sink, fbq_error *err);

/* ---- embedded headers ----------------------------------------------------- */

/* The embedded text of "qelib1.inc" (OpenQASM 2.0 standard header),
 * "qelib1-qiskit.inc" (Qiskit's extended qelib1.inc, what `include
 * "qelib1.inc";` reads unless strict_qelib) or "stdgates.inc" (OpenQASM 3
 * standard library), NULL for another name. borrowed (static). */
const char *fbq_embedded_header(const char *name, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
