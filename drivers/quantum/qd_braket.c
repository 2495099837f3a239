/*
 * qd_braket.c - the Amazon Braket backend (REST-JSON API 2019-09-01).
 *
 *   apply    POST /quantum-task (CreateQuantumTask) with an OpenQASM 3
 *            action, then GET /quantum-task/{arn} (GetQuantumTask) every
 *            pollIntervalMs until COMPLETED, FAILED or CANCELLED, at most
 *            until the spec's deadline or settings.braket.timeoutSeconds
 *   observe  GetQuantumTask
 *   destroy  PUT /quantum-task/{arn}/cancel (CancelQuantumTask); a task that
 *            has already ended or is gone counts as destroyed
 *
 * Requests are signed with SigV4 (service "braket") through the kit, with
 * credentials from the AWS chain (environment, profiles, STS). The
 * clientToken is derived from the job, so a retried apply finds the task
 * it created instead of creating another (FB_HTTP_TOKEN_GUARDED lets the
 * host retry the create). Braket writes the result of a completed task to
 * S3 as <outputS3Bucket>/<outputS3Directory>/results.json, a
 * GateModelTaskResult (braket.task_result.gate_model_task_result v1) with
 * one column per measured *qubit*; apply reads it with a SigV4-signed S3
 * GetObject and turns it into counts keyed by the program's classical bits,
 * in the local simulator's (Qiskit's) order.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qd.h"

#define ERR(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_ERROR, ptr, "quantum: " __VA_ARGS__)
#define WARN(diag, ptr, ...) fbk_diag(qd_host, diag, FB_SEV_WARNING, ptr, "quantum: " __VA_ARGS__)

#define PLACEHOLDER_BUCKET "<settings.braket.outputS3Bucket>"

char *qd_braket_url(fb_driver_ctx *c, const char *region, const char *path)
{
    if (c->braket_endpoint[0]) {
        size_t n = strlen(c->braket_endpoint);
        while (n && c->braket_endpoint[n - 1] == '/') n--;
        return fbk_xasprintf("%.*s%s", (int)n, c->braket_endpoint, path);
    }
    return fbk_xasprintf("https://braket.%s.amazonaws.com%s", region ? region : "us-east-1", path);
}

/* A UUID-shaped token from a hash of what (deterministic), into out[37]. */
static void token_of(const char *what, char out[37])
{
    char h[65];
    fbk_sha256_hex(what, strlen(what), h);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void client_token(const qd_job *job, char out[37])
{
    char id[65];
    qd_job_id(job, id);
    char *w = fbk_xasprintf("braket-create/%s", id);
    token_of(w, out);
    free(w);
}

json_t *qd_braket_body(fb_driver_ctx *c, qd_job *job, int for_render)
{
    (void)for_render;
    const qd_device *d = job->dev;
    json_t *action = json_pack("{s:{s:s,s:s},s:s}", "braketSchemaHeader", "name", "braket.ir.openqasm.program",
                               "version", "1", "source", job->qasm3 ? job->qasm3 : "");
    json_t *params = json_pack("{s:{s:s,s:s},s:{s:{s:s,s:s},s:i,s:b}}", "braketSchemaHeader", "name",
                               d->params_schema, "version", "1", "paradigmParameters", "braketSchemaHeader",
                               "name", "braket.device_schema.gate_model_parameters", "version", "1",
                               "qubitCount", job->qubits, "disableQubitRewiring", 0);
    char *a = json_dumps(action, JSON_COMPACT | JSON_SORT_KEYS);
    char *p = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(action);
    json_decref(params);
    char token[37];
    client_token(job, token);
    json_t *tags = json_pack("{s:s,s:s,s:s}", "managed-by", "fedbroker", "workload", job->name, "tenant",
                             job->tenant);
    if (*job->spec_hash) json_object_set_new(tags, "spec-hash", json_string(job->spec_hash));
    json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "action", a, "clientToken", token, "deviceArn",
                             d->arn, "deviceParameters", p, "outputS3Bucket",
                             c->s3_bucket[0] ? c->s3_bucket : PLACEHOLDER_BUCKET, "outputS3KeyPrefix",
                             c->s3_prefix, "shots", (json_int_t)job->shots, "tags", tags);
    free(a);
    free(p);
    return body;
}

/* Resolves AWS credentials for region. */
static fb_status creds_for(fb_driver_ctx *c, const char *region, fbk_aws_creds *cr, fb_diag *diag)
{
    fbk_aws_creds_opts o;
    memset(&o, 0, sizeof o);
    o.profile = c->aws_profile[0] ? c->aws_profile : NULL;
    o.region = region;
    o.sts_endpoint = c->sts_endpoint[0] ? c->sts_endpoint : NULL;
    return fbk_aws_creds_resolve(qd_host, diag, &o, cr);
}

/* One signed Braket call. body may be NULL. */
static fb_status call(fb_driver_ctx *c, const fbk_aws_creds *cr, const char *region, const char *method,
                      const char *path, const char *body, uint32_t flags, fb_http_response *resp,
                      fb_diag *diag)
{
    char *url = qd_braket_url(c, region, path);
    fb_http_header h[] = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    fbk_http_msg m = {.method = method, .url = url, .headers = h, .n_headers = body ? 2 : 1,
                      .body = body, .body_len = body ? strlen(body) : 0};
    if (!body) h[0] = h[1];
    fb_status st = fbk_aws_send(qd_host, diag, cr, region, "braket", 0, &m, flags, resp);
    free(url);
    return st;
}

/* Adds a diagnostic for an AWS error answer and returns its status. */
static fb_status aws_failure(const char *what, fb_http_response *resp, fb_diag *diag)
{
    char *code = NULL, *msg = NULL;
    fb_status st = fbk_aws_error(resp, &code, &msg);
    if (st == FB_OK) st = FB_INTERNAL;
    ERR(diag, NULL, "Braket %s failed: HTTP %ld %s: %s%s", what, resp->status, code ? code : "",
        msg ? msg : (resp->body ? resp->body : ""),
        st == FB_AUTH ? "\ncheck the AWS credentials and that they may call braket:*" : "");
    free(code);
    free(msg);
    return st;
}

/* "/quantum-task/<arn percent-encoded>" + suffix (new). */
static char *task_path(const char *arn, const char *suffix)
{
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_puts(&b, "/quantum-task/");
    fbk_uri_encode(&b, arn, strlen(arn), 0);
    fbk_buf_puts(&b, suffix);
    return fbk_buf_steal(&b);
}

/* GetQuantumTask; *task is the answer (new) when HTTP 200, *code the
 * status. */
static fb_status get_task(fb_driver_ctx *c, const fbk_aws_creds *cr, const char *region, const char *arn,
                          json_t **task, long *code, fb_diag *diag)
{
    *task = NULL;
    char *path = task_path(arn, "");
    fb_http_response resp;
    fb_status st = call(c, cr, region, "GET", path, NULL, FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &resp, diag);
    free(path);
    if (st != FB_OK) return st;
    *code = resp.status;
    if (resp.status == 200) {
        *task = json_loads(resp.body ? resp.body : "", 0, NULL);
        if (!json_is_object(*task)) {
            json_decref(*task);
            *task = NULL;
            ERR(diag, NULL, "Braket GetQuantumTask answered HTTP 200 without a JSON object");
            st = FB_INTERNAL;
        }
    } else if (resp.status != 404) {
        st = aws_failure("GetQuantumTask", &resp, diag);
    }
    qd_host->http_free(&resp);
    return st;
}

static int terminal(const char *s)
{
    return s && (!strcmp(s, "COMPLETED") || !strcmp(s, "FAILED") || !strcmp(s, "CANCELLED"));
}

/* ---- results.json -> counts -------------------------------------------------------- */

/* A register of the OpenQASM 3 text sent: flat offset and size. */
typedef struct mreg {
    char *name;
    int off, size;
} mreg;

/* What Braket's per-qubit results need to become per-bit counts: the
 * qubit and bit registers of the sent program (Braket numbers qubits
 * across the qubit registers in declaration order) and, for each classical
 * bit, the qubit last measured into it (-1: none, the bit stays 0). */
typedef struct mmap {
    mreg *q, *c;
    int nq, nc;
    int nqubits, nclbits;
    int *src;
} mmap;

static void mmap_free(mmap *m)
{
    for (int i = 0; i < m->nq; i++) free(m->q[i].name);
    for (int i = 0; i < m->nc; i++) free(m->c[i].name);
    free(m->q);
    free(m->c);
    free(m->src);
    memset(m, 0, sizeof *m);
}

/* A token of the sent text: an identifier ($-physical qubits included), a
 * number, a string or one punctuation character. */
typedef struct mtok {
    const char *p;
    size_t n;
    char kind; /* 'i' identifier, '0' number, '"' string, else the character; 0 at the end */
} mtok;

/* The next token at *pos of s (comments and blanks skipped). */
static mtok next_tok(const char *s, size_t *pos)
{
    size_t i = *pos;
    for (;;) {
        while (s[i] && isspace((unsigned char)s[i])) i++;
        if (s[i] == '/' && s[i + 1] == '/') {
            while (s[i] && s[i] != '\n') i++;
        } else if (s[i] == '/' && s[i + 1] == '*') {
            const char *e = strstr(s + i + 2, "*/");
            i = e ? (size_t)(e - s) + 2 : strlen(s);
        } else {
            break;
        }
    }
    mtok t = {s + i, 0, 0};
    if (!s[i]) {
        *pos = i;
        return t;
    }
    size_t j = i;
    if (isalpha((unsigned char)s[i]) || s[i] == '_' || s[i] == '$') {
        j++;
        while (isalnum((unsigned char)s[j]) || s[j] == '_') j++;
        t.kind = 'i';
    } else if (isdigit((unsigned char)s[i]) || s[i] == '.') {
        while (isalnum((unsigned char)s[j]) || s[j] == '.' ||
               ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E')))
            j++;
        t.kind = '0';
    } else if (s[i] == '"') {
        j++;
        while (s[j] && s[j] != '"') j++;
        if (s[j]) j++;
        t.kind = '"';
    } else {
        j++;
        t.kind = s[i];
    }
    t.n = j - i;
    *pos = j;
    return t;
}

static int tok_is(const mtok *t, const char *w)
{
    return t->kind == 'i' && t->n == strlen(w) && !strncmp(t->p, w, t->n);
}

/* The register named by t in regs, or NULL. */
static const mreg *find_reg(const mreg *regs, int n, const mtok *t)
{
    for (int i = 0; t->kind == 'i' && i < n; i++)
        if (strlen(regs[i].name) == t->n && !strncmp(regs[i].name, t->p, t->n)) return &regs[i];
    return NULL;
}

/* An operand "name" or "name[i]" starting at toks[*k]: the flat index of
 * its first element and the element count. -1 with *err (new) when it is
 * not one of regs. */
static int operand(const mtok *toks, int ntoks, int *k, const mreg *regs, int nregs, const char *what, int *first,
                   int *count, char **err)
{
    const mreg *r = *k < ntoks ? find_reg(regs, nregs, &toks[*k]) : NULL;
    if (!r) {
        *err = fbk_xasprintf("a measurement names %s '%.*s', which the program does not declare", what,
                         *k < ntoks ? (int)toks[*k].n : 0, *k < ntoks ? toks[*k].p : "");
        return -1;
    }
    (*k)++;
    *first = r->off;
    *count = r->size;
    if (*k < ntoks && toks[*k].kind == '[') {
        if (*k + 2 >= ntoks || toks[*k + 1].kind != '0' || toks[*k + 2].kind != ']') {
            *err = fbk_xasprintf("a measurement indexes %s '%s' with something other than one integer", what, r->name);
            return -1;
        }
        long idx = strtol(toks[*k + 1].p, NULL, 10);
        if (idx < 0 || idx >= r->size) {
            *err = fbk_xasprintf("a measurement reads %s[%ld], outside its %d elements", r->name, idx, r->size);
            return -1;
        }
        *first = r->off + (int)idx;
        *count = 1;
        *k += 3;
    }
    return 0;
}

/* One statement (tokens up to its ';'): a qubit/bit declaration or a
 * measurement is recorded in m; anything else is ignored. cond: inside an
 * if. 0, or -1 with *err (new). */
static int mmap_stmt(mmap *m, const mtok *t, int n, int cond, char **err)
{
    int k = 0;
    if (n >= 5 && (tok_is(&t[0], "qubit") || tok_is(&t[0], "bit")) && t[1].kind == '[' && t[2].kind == '0' &&
        t[3].kind == ']' && t[4].kind == 'i') {
        int quantum = tok_is(&t[0], "qubit");
        long size = strtol(t[2].p, NULL, 10);
        if (size < 1 || size > 1 << 20) {
            *err = fbk_xasprintf("the register '%.*s' has %ld elements", (int)t[4].n, t[4].p, size);
            return -1;
        }
        mreg **regs = quantum ? &m->q : &m->c;
        int *nr = quantum ? &m->nq : &m->nc;
        int *tot = quantum ? &m->nqubits : &m->nclbits;
        *regs = fbk_xrealloc(*regs, (size_t)(*nr + 1) * sizeof **regs);
        (*regs)[*nr] = (mreg){fbk_xstrndup(t[4].p, t[4].n), *tot, (int)size};
        (*nr)++;
        *tot += (int)size;
        if (!quantum) {
            m->src = fbk_xrealloc(m->src, (size_t)m->nclbits * sizeof *m->src);
            for (int i = m->nclbits - (int)size; i < m->nclbits; i++) m->src[i] = -1;
        }
        if (n == 5) return 0;
        k = 4; /* bit[n] c = measure q; */
    }
    int at = -1;
    for (int i = 0; i < n; i++)
        if (tok_is(&t[i], "measure")) at = i;
    if (at < 0) return 0;
    if (cond) {
        *err = fbk_xasprintf("the program measures inside an if");
        return -1;
    }
    int qf, qn, cf = -1, cn = 0, j = at + 1;
    if (operand(t, n, &j, m->q, m->nq, "qubits", &qf, &qn, err) != 0) return -1;
    if (j != n) {
        *err = fbk_xasprintf("a measurement has unexpected text after its qubits");
        return -1;
    }
    if (at == 0) return 0; /* measure q; measures into no bit */
    if (operand(t, n, &k, m->c, m->nc, "bits", &cf, &cn, err) != 0) return -1;
    if (k + 1 != at || t[k].kind != '=') {
        *err = fbk_xasprintf("a measurement is not of the form `bits = measure qubits;`");
        return -1;
    }
    if (cn != qn) {
        *err = fbk_xasprintf("a measurement assigns %d qubits to %d bits", qn, cn);
        return -1;
    }
    for (int i = 0; i < qn; i++) m->src[cf + i] = qf + i;
    return 0;
}

/* Reads the registers and measurements of the OpenQASM 3 text the driver
 * sent (fbq_to_qasm3's output: declarations, `c[i] = measure q[j];`,
 * whole-register `c = measure q;`, gate definitions, braced ifs). 0 with m
 * filled, or -1 with *err (new). */
static int mmap_build(const char *q3, mmap *m, char **err)
{
    memset(m, 0, sizeof *m);
    *err = NULL;
    size_t pos = 0, cap = 0;
    mtok *st = NULL;
    int n = 0, depth = 0, cond_depth = -1, rc = 0;
    for (;;) {
        mtok t = next_tok(q3, &pos);
        if (!t.kind) break;
        if (n == 0 && tok_is(&t, "gate")) { /* skip the definition */
            int d = 0;
            do {
                t = next_tok(q3, &pos);
                d += t.kind == '{' ? 1 : t.kind == '}' ? -1 : 0;
            } while (t.kind && !(t.kind == '}' && d == 0));
            continue;
        }
        if (n == 0 && tok_is(&t, "if")) { /* skip the condition */
            int d = 0;
            do {
                t = next_tok(q3, &pos);
                d += t.kind == '(' ? 1 : t.kind == ')' ? -1 : 0;
            } while (t.kind && !(t.kind == ')' && d == 0));
            size_t save = pos;
            t = next_tok(q3, &pos);
            if (t.kind == '{') {
                if (cond_depth < 0) cond_depth = depth;
                depth++;
            } else {
                pos = save;
                if (cond_depth < 0) cond_depth = -2; /* the next statement only */
            }
            continue;
        }
        if (n == 0 && t.kind == '}') {
            depth--;
            if (depth == cond_depth) cond_depth = -1;
            continue;
        }
        if (t.kind == ';') {
            rc = mmap_stmt(m, st, n, cond_depth != -1, err);
            if (cond_depth == -2) cond_depth = -1;
            n = 0;
            if (rc != 0) break;
            continue;
        }
        if ((size_t)n == cap) {
            cap = cap ? 2 * cap : 32;
            st = fbk_xrealloc(st, cap * sizeof *st);
        }
        st[n++] = t;
    }
    free(st);
    if (rc != 0) mmap_free(m);
    return rc;
}

/* The counts key of one outcome: bits[b] for every classical bit b
 * (flat), registers in layout order (last declared leftmost, separated by
 * a space), each register's highest bit leftmost. Appends to key. */
static void put_key(fbk_buf *key, const mmap *m, const char *bits)
{
    for (int r = m->nc - 1; r >= 0; r--) {
        if (r != m->nc - 1) fbk_buf_putc(key, ' ');
        for (int b = m->c[r].size - 1; b >= 0; b--) fbk_buf_putc(key, bits[m->c[r].off + b]);
    }
}

/* Sets bits[] (flat classical bits, '0'/'1') from one outcome given per
 * column of measuredQubits (col[q]: the column of qubit q). */
static void bits_of(const mmap *m, const int *col, const char *per_column, char *bits)
{
    for (int b = 0; b < m->nclbits; b++) bits[b] = m->src[b] < 0 ? '0' : per_column[col[m->src[b]]];
}

typedef struct pcount {
    char *key;
    double p;
    uint64_t n;
    double rem;
} pcount;

static int by_remainder(const void *a, const void *b)
{
    const pcount *x = a, *y = b;
    if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
    return strcmp(x->key, y->key);
}

/*
 * Turns a results.json document into counts keyed like the local
 * simulator's outcomes. measurements: one row per shot, one column per
 * entry of measuredQubits; measurementProbabilities (used when there are no
 * measurements): exact probabilities keyed by bit strings whose k-th
 * character is measuredQubits[k], turned into shots counts by largest
 * remainders (so they add up to shots). Returns counts (new) with *from
 * ("measurements" or "measurementProbabilities") and *nshots, or NULL
 * with *err (new) saying what does not match the schema.
 */
static json_t *braket_counts(json_t *doc, const mmap *m, const char *arn, uint64_t shots, const char **from,
                             uint64_t *nshots, char **err)
{
    *err = NULL;
    if (m->nclbits == 0) {
        *err = fbk_xasprintf("the program has no classical bits to count");
        return NULL;
    }
    json_t *hdr = json_object_get(doc, "braketSchemaHeader");
    const char *name = json_string_value(json_object_get(hdr, "name"));
    const char *ver = json_string_value(json_object_get(hdr, "version"));
    if (!name || strcmp(name, "braket.task_result.gate_model_task_result") != 0 || !ver || strcmp(ver, "1") != 0) {
        *err = fbk_xasprintf("its braketSchemaHeader is %s %s, not braket.task_result.gate_model_task_result "
                         "version 1 (a gate-model task result)", name ? name : "(no name)",
                         ver ? ver : "(no version)");
        return NULL;
    }
    json_t *meta = json_object_get(doc, "taskMetadata");
    const char *id = json_string_value(json_object_get(meta, "id"));
    if (!json_is_object(meta) || !id) {
        *err = fbk_xasprintf("it has no taskMetadata.id (required by the schema)");
        return NULL;
    }
    if (strcmp(id, arn) != 0) {
        *err = fbk_xasprintf("its taskMetadata.id is %s, not this task (%s)", id, arn);
        return NULL;
    }
    json_t *mq = json_object_get(doc, "measuredQubits");
    size_t ncol = json_array_size(mq);
    if (!json_is_array(mq) || ncol == 0) {
        *err = fbk_xasprintf("it has no measuredQubits (a non-empty list of qubit indices)");
        return NULL;
    }
    fbk_buf key;
    fbk_buf_init(&key);
    int *qubit_of_col = fbk_xcalloc(ncol, sizeof *qubit_of_col);
    int *col = fbk_xcalloc((size_t)m->nqubits + 1, sizeof *col);
    char *bits = fbk_xcalloc((size_t)m->nclbits + 1, 1);
    char *row = fbk_xcalloc(ncol + 1, 1);
    json_t *counts = NULL;
    pcount *pc = NULL;
    size_t npc = 0;
    for (int q = 0; q < m->nqubits; q++) col[q] = -1;
    for (size_t k = 0; k < ncol; k++) {
        json_t *v = json_array_get(mq, k);
        json_int_t q = json_is_integer(v) ? json_integer_value(v) : -1;
        if (q < 0) {
            *err = fbk_xasprintf("measuredQubits[%zu] is not a non-negative integer", k);
            goto out;
        }
        /* a qubit beyond the program's (a device that measures more) maps to no bit */
        qubit_of_col[k] = q < m->nqubits ? (int)q : -1;
        if (q < m->nqubits && col[q] < 0) col[q] = (int)k;
    }
    for (int b = 0; b < m->nclbits; b++) {
        if (m->src[b] >= 0 && col[m->src[b]] < 0) {
            int r = 0;
            while (r + 1 < m->nc && m->c[r + 1].off <= b) r++;
            *err = fbk_xasprintf("measuredQubits lacks qubit %d, which the program measures into %s[%d]", m->src[b],
                             m->c[r].name, b - m->c[r].off);
            goto out;
        }
    }
    json_t *ms = json_object_get(doc, "measurements");
    json_t *mp = json_object_get(doc, "measurementProbabilities");
    if (ms && !json_is_null(ms)) {
        if (!json_is_array(ms) || json_array_size(ms) == 0) {
            *err = fbk_xasprintf("its measurements is not a non-empty list of shots");
            goto out;
        }
        counts = json_object();
        size_t i;
        json_t *shot;
        json_array_foreach(ms, i, shot) {
            if (json_array_size(shot) != ncol) {
                *err = fbk_xasprintf("measurements[%zu] has %zu entries; measuredQubits has %zu", i,
                                 json_array_size(shot), ncol);
                goto out;
            }
            for (size_t k = 0; k < ncol; k++) {
                json_t *v = json_array_get(shot, k);
                if (!json_is_integer(v) || (json_integer_value(v) != 0 && json_integer_value(v) != 1)) {
                    *err = fbk_xasprintf("measurements[%zu][%zu] is not 0 or 1", i, k);
                    goto out;
                }
                row[k] = json_integer_value(v) ? '1' : '0';
            }
            for (size_t k = 0; k < ncol; k++)
                if (qubit_of_col[k] >= 0 && row[k] != row[col[qubit_of_col[k]]]) {
                    *err = fbk_xasprintf("measurements[%zu] reads qubit %d twice with different values", i,
                                     qubit_of_col[k]);
                    goto out;
                }
            bits_of(m, col, row, bits);
            key.len = 0;
            put_key(&key, m, bits);
            json_t *c = json_object_get(counts, key.data);
            json_object_set_new(counts, key.data, json_integer(c ? json_integer_value(c) + 1 : 1));
        }
        *from = "measurements";
        *nshots = json_array_size(ms);
    } else if (mp && !json_is_null(mp)) {
        if (!json_is_object(mp) || json_object_size(mp) == 0) {
            *err = fbk_xasprintf("its measurementProbabilities is not a non-empty object");
            goto out;
        }
        double total = 0;
        const char *bs;
        json_t *v;
        json_object_foreach(mp, bs, v) {
            double p = json_is_number(v) ? json_number_value(v) : -1;
            if (strlen(bs) != ncol || strspn(bs, "01") != ncol) {
                *err = fbk_xasprintf("measurementProbabilities key '%s' is not %zu bits (one per measured qubit)", bs,
                                 ncol);
                goto out;
            }
            if (!(p >= 0 && p <= 1)) {
                *err = fbk_xasprintf("measurementProbabilities['%s'] is not a probability between 0 and 1", bs);
                goto out;
            }
            for (size_t k = 0; k < ncol; k++)
                if (qubit_of_col[k] >= 0 && bs[k] != bs[col[qubit_of_col[k]]]) {
                    *err = fbk_xasprintf("measurementProbabilities key '%s' reads qubit %d twice with different "
                                     "values", bs, qubit_of_col[k]);
                    goto out;
                }
            bits_of(m, col, bs, bits);
            key.len = 0;
            put_key(&key, m, bits);
            size_t j = 0;
            while (j < npc && strcmp(pc[j].key, key.data) != 0) j++;
            if (j == npc) {
                pc = fbk_xrealloc(pc, (npc + 1) * sizeof *pc);
                pc[npc++] = (pcount){fbk_xstrdup(key.data), 0, 0, 0};
            }
            pc[j].p += p;
            total += p;
        }
        if (fabs(total - 1) > 1e-6) {
            *err = fbk_xasprintf("its measurementProbabilities add up to %.9g, not 1", total);
            goto out;
        }
        /* largest remainders: floor(p x shots) each, the rest to the largest fractions */
        uint64_t given = 0;
        for (size_t j = 0; j < npc; j++) {
            double x = pc[j].p / total * (double)shots;
            pc[j].n = (uint64_t)floor(x);
            pc[j].rem = x - floor(x);
            given += pc[j].n;
        }
        qsort(pc, npc, sizeof *pc, by_remainder);
        for (size_t j = 0; given < shots && j < npc; j++, given++) pc[j].n++;
        counts = json_object();
        for (size_t j = 0; j < npc; j++)
            if (pc[j].n) json_object_set_new(counts, pc[j].key, json_integer((json_int_t)pc[j].n));
        *from = "measurementProbabilities";
        *nshots = shots;
    } else {
        *err = fbk_xasprintf("it has neither measurements nor measurementProbabilities");
    }
out:
    fbk_buf_free(&key);
    if (*err) {
        json_decref(counts);
        counts = NULL;
    }
    for (size_t j = 0; j < npc; j++) free(pc[j].key);
    free(pc);
    free(qubit_of_col);
    free(col);
    free(bits);
    free(row);
    return counts;
}

/* The S3 URL of bucket/key: path style under settings.braket.s3Endpoint;
 * otherwise virtual-hosted https://BUCKET.s3.REGION.amazonaws.com/KEY, or
 * path style https://s3.REGION.amazonaws.com/BUCKET/KEY for a bucket name
 * with dots (S3's wildcard certificate covers one label only). The key is
 * percent-encoded once, '/' kept, as S3 signs it. new. */
static char *s3_url(fb_driver_ctx *c, const char *region, const char *bucket, const char *key)
{
    fbk_buf b;
    fbk_buf_init(&b);
    if (c->s3_endpoint[0]) {
        size_t n = strlen(c->s3_endpoint);
        while (n && c->s3_endpoint[n - 1] == '/') n--;
        fbk_buf_append(&b, c->s3_endpoint, n);
        fbk_buf_putc(&b, '/');
        fbk_uri_encode(&b, bucket, strlen(bucket), 0);
        fbk_buf_putc(&b, '/');
    } else if (strchr(bucket, '.')) {
        fbk_buf_printf(&b, "https://s3.%s.amazonaws.com/", region);
        fbk_uri_encode(&b, bucket, strlen(bucket), 0);
        fbk_buf_putc(&b, '/');
    } else {
        fbk_buf_printf(&b, "https://%s.s3.%s.amazonaws.com/", bucket, region);
    }
    fbk_uri_encode(&b, key, strlen(key), 1);
    return fbk_buf_steal(&b);
}

/* S3 GetObject of bucket/key, signed SigV4 in S3 mode (service s3,
 * x-amz-content-sha256, the path signed as sent). *doc is the JSON object
 * (new) when HTTP 200; *code the HTTP status (404: no such key or bucket,
 * which the caller reports). */
static fb_status get_object(fb_driver_ctx *c, const fbk_aws_creds *cr, const char *region, const char *bucket,
                            const char *key, json_t **doc, long *code, fb_diag *diag)
{
    *doc = NULL;
    *code = 0;
    const char *s3_region = c->s3_region[0] ? c->s3_region : region;
    char *url = s3_url(c, s3_region, bucket, key);
    fbk_http_msg m = {.method = "GET", .url = url};
    fb_http_response resp;
    fb_status st = fbk_aws_send(qd_host, diag, cr, s3_region, "s3", FBK_SIGV4_S3, &m,
                                FB_HTTP_IDEMPOTENT | FB_HTTP_READ_ONLY, &resp);
    if (st != FB_OK) {
        free(url);
        return st;
    }
    *code = resp.status;
    if (resp.status == 200) {
        json_error_t je;
        *doc = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, &je);
        if (!json_is_object(*doc)) {
            ERR(diag, NULL, "s3://%s/%s is not a JSON object (line %d, column %d: %s)", bucket, key, je.line,
                je.column, *doc ? "not an object" : je.text);
            json_decref(*doc);
            *doc = NULL;
            st = FB_INTERNAL;
        }
    } else if (resp.status != 404) {
        char *ecode = NULL, *msg = NULL;
        st = fbk_aws_error(&resp, &ecode, &msg);
        if (st == FB_OK) st = FB_INTERNAL;
        ERR(diag, NULL, "S3 GetObject of s3://%s/%s (%s) failed: HTTP %ld %s: %s%s", bucket, key, url, resp.status,
            ecode ? ecode : "", msg ? msg : "",
            st == FB_AUTH || resp.status == 400 ? "\nthe AWS credentials need s3:GetObject on the bucket, and "
                                                  "settings.braket.s3Region must name the bucket's region when it "
                                                  "is not the task's" : "");
        free(ecode);
        free(msg);
    }
    qd_host->http_free(&resp);
    free(url);
    return st;
}

/* Reads a completed task's results.json into result: counts, layout,
 * measuredQubits and where they came from; a missing object (404) is a
 * warning and leaves result without counts. */
static fb_status fetch_counts(fb_driver_ctx *c, const fbk_aws_creds *cr, qd_job *job, const char *arn,
                              const char *bucket, const char *dir, json_t *result, fb_diag *diag)
{
    if (!bucket || !dir) {
        WARN(diag, NULL, "Braket task %s is COMPLETED but GetQuantumTask named no outputS3Bucket/outputS3Directory;"
                         " no counts are stored", arn);
        return FB_OK;
    }
    char *key = fbk_xasprintf("%s/results.json", dir);
    char *uri = fbk_xasprintf("s3://%s/%s", bucket, key);
    json_object_set_new(result, "results", json_string(uri));
    free(uri);
    if (job->dynamic) {
        WARN(diag, "/spec/program/source", "Braket task %s is COMPLETED; its counts are not read: Braket reports "
                                           "each measured qubit once, which cannot give the classical bits of a "
                                           "program that measures mid-circuit, resets or branches\nthe raw "
                                           "result is s3://%s/%s", arn, bucket, key);
        json_object_set_new(result, "note", json_string("no counts: the program is dynamic (see the warning)"));
        free(key);
        return FB_OK;
    }
    mmap m;
    char *err = NULL;
    if (mmap_build(job->qasm3 ? job->qasm3 : "", &m, &err) != 0) {
        ERR(diag, NULL, "cannot map Braket's measured qubits to the program's bits: %s", err);
        free(err);
        free(key);
        return FB_INTERNAL;
    }
    json_t *doc = NULL;
    long code = 0;
    fb_status st = get_object(c, cr, job->region, bucket, key, &doc, &code, diag);
    if (st == FB_OK && code == 404) {
        WARN(diag, NULL, "Braket task %s is COMPLETED but s3://%s/%s does not exist (HTTP 404); no counts are "
                         "stored\ncheck the bucket and that nothing removed the object; apply again to retry",
             arn, bucket, key);
        json_object_set_new(result, "note", json_string("no counts: results.json was not found in S3"));
    } else if (st == FB_OK) {
        const char *from = NULL;
        uint64_t nshots = 0;
        json_t *counts = braket_counts(doc, &m, arn, job->shots, &from, &nshots, &err);
        if (!counts) {
            ERR(diag, NULL, "s3://%s/%s is not a result this driver can read: %s\nfedbroker reads Braket's "
                            "GateModelTaskResult (braket.task_result.gate_model_task_result version 1)",
                bucket, key, err);
            free(err);
            st = FB_INTERNAL;
        } else {
            char *layout = NULL;
            fbk_buf l;
            fbk_buf_init(&l);
            for (int r = m.nc - 1; r >= 0; r--) {
                if (r != m.nc - 1) fbk_buf_putc(&l, ' ');
                fbk_buf_puts(&l, m.c[r].name);
            }
            layout = fbk_buf_steal(&l);
            json_object_set_new(result, "counts", counts);
            json_object_set_new(result, "countsFrom", json_string(from));
            json_object_set_new(result, "layout", json_string(layout));
            json_object_set_new(result, "qubits", json_integer(m.nqubits));
            json_object_set_new(result, "clbits", json_integer(m.nclbits));
            json_object_set(result, "measuredQubits", json_object_get(doc, "measuredQubits"));
            if (nshots != job->shots) {
                WARN(diag, NULL, "Braket task %s returned %llu shots of the %llu requested", arn,
                     (unsigned long long)nshots, (unsigned long long)job->shots);
                json_object_set_new(result, "measuredShots", json_integer((json_int_t)nshots));
            }
            free(layout);
        }
    }
    json_decref(doc);
    mmap_free(&m);
    free(key);
    return st;
}

/* The observe status of a Braket task status. */
static const char *status_of(const char *s)
{
    if (!s) return "pending";
    if (!strcmp(s, "COMPLETED")) return "ready";
    if (!strcmp(s, "FAILED") || !strcmp(s, "CANCELLED")) return "failed";
    return "pending";
}

fb_status qd_braket_apply(fb_driver_ctx *c, qd_job *job, json_t *prior, json_t **out, fb_diag *diag)
{
    const qd_device *d = job->dev;
    fbk_aws_creds cr;
    memset(&cr, 0, sizeof cr);
    fb_status st = creds_for(c, job->region, &cr, diag);
    if (st != FB_OK) return st;
    char token[37];
    client_token(job, token);
    json_t *state = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "backend", "braket", "device", d->device,
                              "deviceArn", d->arn, "region", job->region, "clientToken", token, "shots",
                              (json_int_t)job->shots);
    /* The task a previous apply of the same job created, if any. */
    const char *arn = NULL;
    json_t *pstate = json_object_get(prior, "state");
    const char *ptoken = json_string_value(json_object_get(pstate, "clientToken"));
    if (ptoken && !strcmp(ptoken, token)) arn = json_string_value(json_object_get(pstate, "taskArn"));
    char *created = NULL;
    if (!arn) {
        json_t *body = qd_braket_body(c, job, 0);
        char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(body);
        fb_http_response resp;
        st = call(c, &cr, job->region, "POST", "/quantum-task", text, FB_HTTP_TOKEN_GUARDED, &resp, diag);
        free(text);
        if (st == FB_OK && qd_host->dry_run(diag)) {
            qd_host->http_free(&resp);
            json_object_set_new(state, "status", json_string("DRY-RUN"));
            json_object_set_new(state, "dryRun", json_true());
            *out = json_pack("{s:o,s:[]}", "state", state, "resources");
            fbk_aws_creds_clear(&cr);
            return FB_OK;
        }
        if (st == FB_OK && resp.status != 200 && resp.status != 201) st = aws_failure("CreateQuantumTask", &resp, diag);
        if (st == FB_OK)
            st = qd_take_created(&resp, "quantumTaskArn", "Braket CreateQuantumTask",
                                 "braket-quantum-task", job->region, d->device, &created, diag);
        qd_host->http_free(&resp);
        if (st != FB_OK) {
            free(created);
            json_decref(state);
            fbk_aws_creds_clear(&cr);
            return st;
        }
        arn = created;
    }
    json_object_set_new(state, "id", json_string(arn));
    json_object_set_new(state, "taskArn", json_string(arn));
    /* Poll until the task ends, bounded by the deadline and the timeout. */
    int64_t limit_ms = c->braket_timeout_s * 1000;
    if (job->deadline_ms && job->deadline_ms < limit_ms) limit_ms = job->deadline_ms;
    uint64_t max_polls = (uint64_t)(limit_ms / c->braket_poll_ms) + 1;
    json_t *task = NULL;
    const char *status = NULL;
    for (uint64_t i = 0; i < max_polls; i++) {
        long code = 0;
        json_decref(task);
        st = get_task(c, &cr, job->region, arn, &task, &code, diag);
        if (st != FB_OK) break;
        if (code == 404) {
            ERR(diag, NULL, "Braket task %s vanished while it was polled", arn);
            st = FB_NOTFOUND;
            break;
        }
        status = json_string_value(json_object_get(task, "status"));
        if (terminal(status)) break;
        if (i + 1 < max_polls) qd_host->sleep_ms(diag, c->braket_poll_ms);
    }
    json_t *result = NULL;
    if (st == FB_OK) {
        const char *bucket = json_string_value(json_object_get(task, "outputS3Bucket"));
        const char *dir = json_string_value(json_object_get(task, "outputS3Directory"));
        json_object_set_new(state, "status", json_string(status ? status : "UNKNOWN"));
        if (bucket) json_object_set_new(state, "outputS3Bucket", json_string(bucket));
        if (dir) json_object_set_new(state, "outputS3Directory", json_string(dir));
        if (status && !strcmp(status, "COMPLETED")) {
            char *loc = fbk_xasprintf("s3://%s/%s", bucket ? bucket : "?", dir ? dir : "?");
            result = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "backend", "braket", "status", status, "taskArn",
                               arn, "device", d->device, "outputS3", loc, "shots", (json_int_t)job->shots);
            free(loc);
            st = fetch_counts(c, &cr, job, arn, bucket, dir, result, diag);
            if (st != FB_OK) {
                json_decref(result);
                result = NULL;
            }
        } else if (status && !strcmp(status, "FAILED")) {
            const char *why = json_string_value(json_object_get(task, "failureReason"));
            ERR(diag, NULL, "Braket task %s FAILED: %s", arn, why ? why : "(no failureReason)");
            st = FB_INVALID;
        } else if (status && !strcmp(status, "CANCELLED")) {
            ERR(diag, NULL, "Braket task %s was CANCELLED before it completed\nrun apply again for a new task "
                            "after `fedbroker destroy`", arn);
            st = FB_CONFLICT;
        } else {
            WARN(diag, NULL, "Braket task %s is still %s after %lld s of polling\n`fedbroker status` follows "
                             "it; `fedbroker destroy` cancels it", arn, status ? status : "UNKNOWN",
                 (long long)(limit_ms / 1000));
        }
    }
    fbk_aws_creds_clear(&cr);
    json_decref(task);
    json_t *res = json_pack("{s:s,s:s,s:s}", "type", "braket-quantum-task", "id", arn, "region", job->region);
    free(created);
    return qd_apply_output(st, state, result, res, out);
}

fb_status qd_braket_observe(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag)
{
    const char *arn, *region;
    if (qd_deployment_id(dep, "taskArn", "Braket", &arn, &region, diag) != 0) return FB_NOTFOUND;
    fbk_aws_creds cr;
    memset(&cr, 0, sizeof cr);
    fb_status st = creds_for(c, region, &cr, diag);
    if (st != FB_OK) return st;
    json_t *task = NULL;
    long code = 0;
    st = get_task(c, &cr, region, arn, &task, &code, diag);
    fbk_aws_creds_clear(&cr);
    if (st != FB_OK) return st;
    if (code == 404) {
        *out = json_pack("{s:s,s:[]}", "status", "missing", "drift");
        return FB_OK;
    }
    const char *s = json_string_value(json_object_get(task, "status"));
    json_t *live = json_pack("{s:s,s:s}", "taskArn", arn, "status", s ? s : "UNKNOWN");
    static const char *const keep[] = {"failureReason", "outputS3Bucket", "outputS3Directory", "endedAt",
                                       "createdAt"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (json_object_get(task, keep[i])) json_object_set(live, keep[i], json_object_get(task, keep[i]));
    *out = json_pack("{s:s,s:[],s:o}", "status", status_of(s), "drift", "live", live);
    json_decref(task);
    return FB_OK;
}

fb_status qd_braket_destroy(fb_driver_ctx *c, json_t *dep, json_t **out, fb_diag *diag)
{
    const char *arn, *region;
    if (qd_deployment_id(dep, "taskArn", "Braket", &arn, &region, diag) != 0) {
        /* A dry-run state names no task: there is nothing to delete. */
        if (json_is_true(json_object_get(json_object_get(dep, "state"), "dryRun"))) {
            *out = json_pack("{s:[]}", "deleted");
            return FB_OK;
        }
        return FB_INVALID;
    }
    fbk_aws_creds cr;
    memset(&cr, 0, sizeof cr);
    fb_status st = creds_for(c, region, &cr, diag);
    if (st != FB_OK) return st;
    char tok[37];
    char *w = fbk_xasprintf("braket-cancel/%s", arn);
    token_of(w, tok);
    free(w);
    json_t *b = json_pack("{s:s}", "clientToken", tok);
    char *body = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    char *path = task_path(arn, "/cancel");
    fb_http_response resp;
    st = call(c, &cr, region, "PUT", path, body, FB_HTTP_TOKEN_GUARDED, &resp, diag);
    free(path);
    free(body);
    fbk_aws_creds_clear(&cr);
    if (st != FB_OK) return st;
    if (resp.status == 200 || resp.status == 404 || resp.status == 409 || resp.status == 0) {
        /* 409: the task has already ended; 404: it is gone. */
        *out = json_pack("{s:[s],s:s}", "deleted", arn, "how",
                         resp.status == 200 ? "cancelled" : resp.status == 409 ? "already ended"
                         : resp.status == 404 ? "already gone" : "dry run");
    } else {
        st = aws_failure("CancelQuantumTask", &resp, diag);
    }
    qd_host->http_free(&resp);
    return st;
}
