/*
 * spec.h - internal interface of the portable-spec modules (prefix fbi_):
 * the JSON-Schema-subset validator (spec_schema.c), the JSON and YAML
 * front ends with their pointer-to-line maps (spec_json.c, spec_yaml.c),
 * quantity parsing (spec_units.c) and the normal form (spec.c).
 * Not installed, not exported from libfedbroker.
 */
#ifndef FB_SPEC_H
#define FB_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "fedbroker/fedbroker.h"
#include "base/util.h"

/* ---- limits (docs/spec.md "Limits") ---- */
#define FBI_SPEC_MAX_FILE (4u * 1024 * 1024)      /* bytes per file */
#define FBI_SPEC_MAX_DEPTH 32                      /* nesting levels */
#define FBI_SPEC_MAX_DOCS 1000                     /* documents per file */
#define FBI_SPEC_MAX_NODES 250000                  /* values per file (parse memory) */
#define FBI_SPEC_MAX_STRING (64u * 1024)           /* bytes per string */
#define FBI_SPEC_MAX_SOURCE (1024u * 1024)         /* inline QASM source */
#define FBI_SPEC_MAX_ALIAS_NODES 10000             /* YAML alias expansion */
#define FBI_SPEC_MAX_INCLUDE_DEPTH 8               /* nested file references */
#define FBI_SPEC_MAX_FILES 1000                    /* files read per set */
#define FBI_SPEC_MAX_TOTAL (64u * 1024 * 1024)     /* spec bytes read per set */
#define FBI_SPEC_MAX_WORKLOADS 10000               /* workloads per set (default) */

/* ---- the schema validator ---- */

typedef struct fbi_schema fbi_schema;

typedef struct fbi_schema_error {
    char *pointer;  /* JSON pointer into the instance ("" = the root) */
    char *summary;  /* "expected ..., found ..." */
    char *detail;   /* may be NULL */
} fbi_schema_error;

/* At most this many errors are kept per validation (all are counted). */
#define FBI_SCHEMA_MAX_ERRORS 1000

typedef struct fbi_schema_errors {
    fbi_schema_error *v;
    size_t n, cap;
} fbi_schema_errors;

/* Compiles a draft-07 schema text using only the supported subset (unknown
 * keywords, bad patterns and dangling $refs are refused). Returns a new
 * schema (fbi_schema_free) or NULL with *err (new, free()). */
fbi_schema *fbi_schema_new(const char *text, char **err);
void fbi_schema_free(fbi_schema *s);
/* The workload schema embedded at build time, compiled once per process.
 * borrowed; NULL (with *err borrowed, static) only if the embedded text is
 * broken, which a unit test rules out. */
const fbi_schema *fbi_spec_schema(const char **err);
/* The embedded schema text (borrowed, static). */
const char *fbi_spec_schema_text(void);
/* Validates inst against the schema at ref ("#" or "#/definitions/NAME"),
 * appending every error to out (the first FBI_SCHEMA_MAX_ERRORS of them).
 * Returns the number of errors found. */
size_t fbi_schema_validate(const fbi_schema *s, const char *ref,
                           const json_t *inst, fbi_schema_errors *out);
/* The number of errors fbi_schema_validate(s, ref, inst, NULL) counts,
 * with the items of the first array of 32 or more items on the path
 * checked on up to `threads` threads (the caller's included; at most 8):
 * one large document (a Federation's inline members) on every core. No
 * messages (validate again with an out list for them). s and inst are only
 * read; any thread. */
size_t fbi_schema_count_parallel(const fbi_schema *s, const char *ref, const json_t *inst,
                                 unsigned threads);
void fbi_schema_errors_free(fbi_schema_errors *e);

/* ---- pointer -> line:column maps (spec_locs.c) ---- */
/* One map per file, shared (reference counted) by its documents; 16 bytes
 * a node. Not thread-safe: used by the thread reading the set. */
typedef struct fbi_locmap fbi_locmap;
fbi_locmap *fbi_locmap_new(void);                 /* new, one reference */
fbi_locmap *fbi_locmap_ref(fbi_locmap *m);        /* adds a reference; returns m */
void fbi_locmap_unref(fbi_locmap *m);             /* drops one; NULL is fine */
size_t fbi_locmap_count(const fbi_locmap *m);
/* Records where the value at pointer starts (call in document order). */
void fbi_loc_put(fbi_locmap *m, const char *pointer, int line, int col);
/* Looks up pointer, falling back to its nearest recorded ancestor. Returns
 * 1 and fills line/col when found, else 0. The first record of a pointer
 * wins. m may be NULL. */
int fbi_loc_get(fbi_locmap *m, const char *pointer, int *line, int *col);
/* A new map holding the entries of the subtree at pointer (empty when the
 * pointer is not recorded): what a workload keeps for later errors once
 * its file's map is freed. */
fbi_locmap *fbi_locmap_subtree(fbi_locmap *m, const char *pointer);

/* Appends "/INDEX" to a pointer without printf (hot in large arrays). */
void fbi_spec_ptr_index(fbi_buf *ptr, size_t index);

/* ---- parsed files ---- */
typedef struct fbi_spec_doc_src {
    json_t *value;   /* the document (owned reference) */
    fbi_locmap *locs; /* pointer map (owned reference, shared by the file's documents) */
    char *prefix;    /* pointer of the document inside locs ("" or "/3") */
    int line, col;   /* where the document starts */
} fbi_spec_doc_src;

typedef struct fbi_parsed {
    fbi_spec_doc_src *docs;
    size_t n, cap;
} fbi_parsed;

void fbi_parsed_free(fbi_parsed *p);
/* Appends a document (steals value; takes a new reference to locs). */
void fbi_parsed_add(fbi_parsed *p, json_t *value, fbi_locmap *locs,
                    const char *prefix, int line, int col);

typedef enum { FBI_FMT_AUTO, FBI_FMT_JSON, FBI_FMT_YAML } fbi_spec_format;

/* Parses a file's bytes into documents: refuses files over the size limit,
 * invalid UTF-8 and NUL bytes, then JSON or YAML (format AUTO: by name's
 * extension, else by the first non-blank byte). A top-level array/sequence
 * is a list of documents. Empty YAML documents are skipped. Enforces depth,
 * string length and document count limits. Returns 0, or -1 after adding
 * errors (with file:line:col) to diag. out must be zeroed. */
int fbi_spec_parse(const char *name, const char *data, size_t len,
                   fbi_spec_format fmt, fbi_parsed *out, fb_diag *diag);
/* The two front ends (called by fbi_spec_parse after the byte checks). */
int fbi_spec_parse_json(const char *name, const char *data, size_t len,
                        fbi_parsed *out, fb_diag *diag);
int fbi_spec_parse_yaml(const char *name, const char *data, size_t len,
                        fbi_parsed *out, fb_diag *diag);
/* Finds the first invalid UTF-8 sequence or NUL byte; returns its offset, or
 * len when all is well. */
size_t fbi_utf8_first_invalid(const char *data, size_t len);
/* 1-based line and column (in characters) of byte offset off. */
void fbi_text_position(const char *data, size_t len, size_t off, int *line,
                       int *col);

/* ---- units (docs/spec.md "Quantities"); each returns 0 or -1 with a
 * message in *err (new, free()) ---- */
/* "512Mi", "2G", "1024" or a JSON integer -> bytes. */
int fbi_parse_bytes(const json_t *v, uint64_t *bytes, char **err);
/* "0.5", 0.25, "2", "500m" -> millicores (must be whole millicores). */
int fbi_parse_cpu(const json_t *v, int64_t *millis, char **err);
/* "30s", "1.5s", "120ms", "5m", "1h" -> milliseconds, rounded up. */
int fbi_parse_duration(const char *s, int64_t *ms, char **err);
/* "12.50", "200", 200 -> micro-USD. */
int fbi_parse_money(const json_t *v, int64_t *micro, char **err);

/* ---- names ---- */
/* Explains, naming the providers, why s is not a valid name; new string
 * (free()) or NULL when s is a valid name. */
char *fbi_spec_explain_name(const char *s);

/* ---- the set ---- */
/* Sets the most workloads the set takes (0: FBI_SPEC_MAX_WORKLOADS); the
 * workload past it is refused with an error naming the limit, and nothing
 * more is read. Call before adding files. */
void fbi_spec_set_max_workloads(fb_spec_set *s, size_t n);
/* keep 1: the set keeps each workload's text (fb_spec_json's) as it
 * computes the specHash, for apply, which sends and stores every one of
 * them (fbi_spec_text_made); the others make it on use. Call before
 * adding files. */
void fbi_spec_set_keep_texts(fb_spec_set *s, int keep);
/* borrowed: the text fb_spec_json gives for item i when the set already
 * has it (kept by fbi_spec_set_keep_texts, or made by fb_spec_json), else
 * NULL: never makes it, so a lane may ask without touching the set. */
const char *fbi_spec_text_made(const fb_spec_set *s, size_t i);
/* Lets the set's specs read files under dir too (--allow-path): by default
 * a spec reads only under the directory of its file (or the base directory
 * of its buffer). Returns 0, or -1 with *err (new) when dir is not a
 * directory or is under /proc, /sys or /dev (files there are never read,
 * under any root). */
int fbi_spec_set_allow_path(fb_spec_set *s, const char *dir, char **err);
/* Parses a QuantumJob's program as its driver will: the OpenQASM library is
 * outside core's layers, so the command installs this (core/cli/common.c).
 * dir: the program file's directory (NULL for inline source); roots: the
 * trees the spec may read (NULL-terminated), for the program's includes.
 * Returns 0, or -1 with *msg (new, may stay NULL) and the program's own
 * 1-based *line and *col (0 when unknown). */
typedef int (*fbi_program_check_fn)(void *ctx, const char *source, size_t len,
                                    const char *dir, const char *const *roots, char **msg,
                                    int *line, int *col);
/* Installs the checker (NULL: programs are not parsed, only their language
 * checked). ctx is passed back (borrowed). */
void fbi_spec_set_program_check(fb_spec_set *s, fbi_program_check_fn fn, void *ctx);
/* The catalog's vocabulary for the spec reader (the catalog is a sibling
 * layer, so the command installs it, core/cli/common.c): what is "location"
 * (a traffic source's city) or "region" (provider:region in placement
 * regions/denyRegions) named name? Returns 1 when the catalog knows it;
 * else 0 with *suggestion (new, may stay NULL: the nearest known name) and
 * *hint (static: the command that lists them). Thread: called on the
 * reading thread. */
typedef int (*fbi_vocab_check_fn)(void *ctx, const char *what, const char *name,
                                  char **suggestion, const char **hint);
/* Installs the checker (NULL: names are checked by plan only). ctx borrowed. */
void fbi_spec_set_vocab_check(fb_spec_set *s, fbi_vocab_check_fn fn, void *ctx);
/* borrowed: the normal form of workload i (NULL when out of range, or
 * released). */
json_t *fbi_spec_doc(const fb_spec_set *s, size_t i);
/* Drops workload i's normal form, its canonical text and its positions
 * (a plan that has evaluated it keeps what it reads of it, and 10,000
 * normal forms were a third of its heap: bench/README-plan.md, "Stop
 * 27"); its kind, name, tenant, hash and file stay. Afterwards
 * fbi_spec_doc and fb_spec_json return NULL for it, and the set's links
 * are what they were when last built: build them (fbi_spec_links,
 * fbi_spec_federations) before releasing, and do not change the set after.
 * Thread: different items may be released concurrently, with nothing else
 * running on the set. */
void fbi_spec_release(fb_spec_set *s, size_t i);
/* Replaces item i of s (appends when i >= the count) by the normal form
 * norm (steals; its specHash is recomputed), read from file (copied; what
 * messages name). For documents derived from the set's own (a hybrid
 * workload's parts, docs/simulation.md); the caller keeps names unique in
 * a tenant. The set's links and federations are rebuilt on next use. */
void fbi_spec_set_put(fb_spec_set *s, size_t i, json_t *norm, const char *file);
/* borrowed: the values fb_spec_links_json and fb_spec_federations_json
 * print (the same arrays), valid until the set changes or is freed. For
 * core, which has no reason to parse the text back. Not thread safe: the
 * first call makes them. */
const json_t *fbi_spec_links(const fb_spec_set *s);
/* The index of the workload of tenant and name in s (the first when a set
 * not yet finished has it twice), or (size_t)-1. An index made on the
 * first call and kept until the set changes: one lookup per workload of a
 * plan's changes was a scan of the whole set each (quadratic, on the main
 * thread before apply's first request). Not thread safe, as
 * fbi_spec_links. */
size_t fbi_spec_find(const fb_spec_set *s, const char *tenant, const char *name);
const json_t *fbi_spec_federations(const fb_spec_set *s);
/* What `validate --format json` prints and serve's POST
 * /v1/specs/validate answers: {"workloads": [normal forms], "links",
 * "federations", "errors" (only when diag has errors)}. set and diag
 * borrowed; new. */
json_t *fbi_spec_set_view(const fb_spec_set *set, const fb_diag *diag);
/* Recomputes norm's "specHash" after a change to it (apply fills
 * ${endpoints.NAME.url} and FEDBROKER_ENDPOINT_<NAME> into the env of a
 * workload's copy: what is deployed is what the hash names). */
void fbi_spec_rehash(json_t *norm);
/* The text fb_spec_json gives for a normal form: the canonical
 * serialisation its specHash is computed over (fbi_json_canonical); new
 * (free()). For threads that must not touch the set's cache. */
char *fbi_spec_text(const json_t *norm);

#endif
