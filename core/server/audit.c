/* audit.c - the hash-chained, checkpoint-signed audit trail (audit.h). */
#include "config.h"
#include "server/audit.h"
#include "base/util.h"
#include "state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fbi_auditor {
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    char pk_hex[crypto_sign_PUBLICKEYBYTES * 2 + 1];
};

static char *key_path(const char *dir, const char *name)
{
    char *home = dir ? fbi_xstrdup(dir) : fb_state_dir();
    char *p = fbi_xasprintf("%s/%s", home, name);
    free(home);
    return p;
}

static int read_hex(const char *path, unsigned char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[300] = "";
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
    size_t bin = 0;
    if (sodium_hex2bin(out, n, buf, strlen(buf), NULL, &bin, NULL) != 0 || bin != n) return -2;
    return 0;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    return close(fd) == 0 && ok ? 0 : -1;
}

static void fail(fb_diag *diag, const char *m, const char *detail)
{
    fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, detail);
}

fb_status fbi_auditor_open(const char *dir, fbi_auditor **out, fb_diag *diag)
{
    *out = NULL;
    if (sodium_init() < 0) {
        fail(diag, "libsodium failed to initialise", NULL);
        return FB_INTERNAL;
    }
    fbi_auditor *a = sodium_malloc(sizeof *a);
    if (!a) fbi_xmalloc((size_t)-1);
    char *skp = key_path(dir, "audit.key"), *pkp = key_path(dir, "audit.pub");
    int r = read_hex(skp, a->sk, sizeof a->sk);
    fb_status st = FB_OK;
    if (r == -1 && errno == ENOENT) {
        /* first use: a new key pair; the public half is what verify trusts */
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        crypto_sign_keypair(pk, a->sk);
        char skh[crypto_sign_SECRETKEYBYTES * 2 + 2], pkh[crypto_sign_PUBLICKEYBYTES * 2 + 2];
        sodium_bin2hex(skh, sizeof skh - 1, a->sk, sizeof a->sk);
        sodium_bin2hex(pkh, sizeof pkh - 1, pk, sizeof pk);
        strcat(skh, "\n");
        strcat(pkh, "\n");
        if (write_file(skp, skh, 0600) != 0 || write_file(pkp, pkh, 0644) != 0) {
            char *m = fbi_xasprintf("cannot create the audit signing key %s: %s", skp, strerror(errno));
            fail(diag, m, "the broker home must be writable by this user");
            free(m);
            st = FB_INTERNAL;
        }
        sodium_memzero(skh, sizeof skh);
    } else if (r != 0) {
        char *m = fbi_xasprintf("cannot read the audit signing key %s", skp);
        fail(diag, m, "it holds 128 hex digits (an Ed25519 secret key); restore it from backup");
        free(m);
        st = FB_INVALID;
    }
    if (st == FB_OK) {
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        crypto_sign_ed25519_sk_to_pk(pk, a->sk);
        sodium_bin2hex(a->pk_hex, sizeof a->pk_hex, pk, sizeof pk);
        *out = a;
    } else {
        sodium_free(a);
    }
    free(skp);
    free(pkp);
    return st;
}

void fbi_auditor_close(fbi_auditor *a)
{
    if (a) sodium_free(a); /* zeroes the key */
}

static char *checkpoint_message(long long row_id, const char *row_hash, long long count)
{
    return fbi_xasprintf("fedbroker-audit-checkpoint/1|%lld|%s|%lld", row_id, row_hash, count);
}

fb_status fbi_audit_checkpoint(fbi_auditor *a, fb_store *s, long long id, const char hash[65], fb_diag *diag)
{
    char *msg = checkpoint_message(id, hash, id);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, strlen(msg), a->sk);
    char sigh[crypto_sign_BYTES * 2 + 1];
    sodium_bin2hex(sigh, sizeof sigh, sig, sizeof sig);
    free(msg);
    return fbi_store_put_checkpoint(s, id, hash, id, a->pk_hex, sigh, diag);
}

fb_status fbi_audit_record(fbi_auditor *a, fb_store *s, const char *actor, const char *tenant,
                           const char *action, const char *outcome, const char *detail_json,
                           fb_diag *diag)
{
    long long id;
    char hash[65];
    fb_status st = fbi_store_audit_append(s, actor, tenant, action, outcome, detail_json, &id, hash, diag);
    if (st != FB_OK || id % FBI_AUDIT_CHECKPOINT_EVERY != 0) return st;
    return fbi_audit_checkpoint(a, s, id, hash, diag);
}

static const char *js(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void problem(json_t *list, const char *kind, long long n, const char *what, char *detail)
{
    json_array_append_new(list, json_pack("{s:I,s:s,s:s}", kind, (json_int_t)n, "problem", what,
                                          "detail", detail));
    free(detail);
}

static int row_ok(const json_t *r, char out[65])
{
    fbi_audit_row_hash(json_integer_value(json_object_get(r, "id")), js(r, "at"), js(r, "actor"),
                       json_is_string(json_object_get(r, "tenant")) ? js(r, "tenant") : NULL,
                       js(r, "action"), js(r, "outcome"), js(r, "detail"), js(r, "prev_hash"), out);
    return strcmp(out, js(r, "hash")) == 0;
}

fb_status fbi_audit_verify(fb_store *s, const char *dir, json_t **report, fb_diag *diag)
{
    *report = NULL;
    if (sodium_init() < 0) {
        fail(diag, "libsodium failed to initialise", NULL);
        return FB_INTERNAL;
    }
    char *pkp = key_path(dir, "audit.pub");
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    int have_pk = read_hex(pkp, pk, sizeof pk) == 0;
    char *text = NULL, *ctext = NULL;
    fb_status st = fbi_store_audit_rows(s, &text, diag);
    if (st == FB_OK) st = fbi_store_checkpoints(s, &ctext, diag);
    if (st != FB_OK) {
        free(text);
        free(pkp);
        return st;
    }
    json_t *rows = json_loads(text, 0, NULL), *cps = json_loads(ctext, 0, NULL);
    free(text);
    free(ctext);
    json_t *probs = json_array();
    size_t n = json_array_size(rows), i;
    char zero[65];
    memset(zero, '0', 64);
    zero[64] = 0;
    /* the chain: the first row that breaks it, and why */
    for (i = 0; i < n && json_array_size(probs) == 0; i++) {
        json_t *r = json_array_get(rows, i);
        long long id = json_integer_value(json_object_get(r, "id"));
        const char *expect_prev = i ? js(json_array_get(rows, i - 1), "hash") : zero;
        long long expect_id = i ? json_integer_value(json_object_get(json_array_get(rows, i - 1), "id")) + 1 : 1;
        char h[65];
        int self = row_ok(r, h);
        int chained = strcmp(js(r, "prev_hash"), expect_prev) == 0;
        if (self && chained && id == expect_id) continue;
        json_t *next = json_array_get(rows, i + 1);
        if (next && strcmp(js(next, "prev_hash"), expect_prev) == 0) {
            problem(probs, "row", id, "inserted",
                    fbi_xasprintf("row %lld is not in the chain: row %lld follows the row before it", id,
                                  (long long)json_integer_value(json_object_get(next, "id"))));
        } else if (chained && !self) {
            problem(probs, "row", id, "changed",
                    fbi_xasprintf("row %lld's content does not match its hash (%.12s...)", id, js(r, "hash")));
        } else if (id != expect_id) {
            problem(probs, "row", expect_id, "removed",
                    id - 1 > expect_id
                        ? fbi_xasprintf("rows %lld to %lld are missing from the chain", expect_id, id - 1)
                        : fbi_xasprintf("row %lld is missing from the chain", expect_id));
        } else if (!chained && !next) {
            problem(probs, "row", id, "inserted",
                    fbi_xasprintf("row %lld, the last, does not chain to row %lld", id, id - 1));
        } else if (!self) {
            problem(probs, "row", id, "changed",
                    fbi_xasprintf("row %lld does not match its hash nor chain to row %lld", id, id - 1));
        } else {
            problem(probs, "row", expect_id - 1, "changed",
                    fbi_xasprintf("row %lld's hash was rewritten: row %lld chains to another",
                                  expect_id - 1, id));
        }
    }
    long long last_id = n ? json_integer_value(json_object_get(json_array_get(rows, n - 1), "id")) : 0;
    json_t *c;
    json_array_foreach(cps, i, c) {
        long long cid = json_integer_value(json_object_get(c, "id"));
        long long rid = json_integer_value(json_object_get(c, "row_id"));
        char *msg = checkpoint_message(rid, js(c, "row_hash"),
                                       json_integer_value(json_object_get(c, "row_count")));
        unsigned char sig[crypto_sign_BYTES];
        size_t bin = 0;
        int sig_ok = have_pk && sodium_hex2bin(sig, sizeof sig, js(c, "signature"), strlen(js(c, "signature")),
                                               NULL, &bin, NULL) == 0 && bin == sizeof sig &&
                     crypto_sign_verify_detached(sig, (const unsigned char *)msg, strlen(msg), pk) == 0;
        free(msg);
        if (!sig_ok) {
            problem(probs, "checkpoint", cid, "bad signature",
                    have_pk ? fbi_xasprintf("checkpoint %lld (row %lld) is not signed by the key in %s: "
                                            "a wrong signing key, or the checkpoint was altered", cid, rid, pkp)
                            : fbi_xasprintf("no readable public key %s to check checkpoint %lld", pkp, cid));
            continue;
        }
        json_t *r = NULL;
        size_t k;
        json_t *x;
        json_array_foreach(rows, k, x)
            if (json_integer_value(json_object_get(x, "id")) == rid) r = x;
        if (!r) {
            problem(probs, "row", rid, "removed",
                    rid > last_id ? fbi_xasprintf("signed checkpoint %lld covers row %lld, but the trail "
                                                  "ends at row %lld: rows were removed from the end", cid, rid, last_id)
                                  : fbi_xasprintf("row %lld, signed in checkpoint %lld, is missing", rid, cid));
        } else if (strcmp(js(r, "hash"), js(c, "row_hash")) != 0) {
            problem(probs, "row", rid, "changed",
                    fbi_xasprintf("row %lld's hash differs from the one signed in checkpoint %lld: the chain "
                                  "up to it was rewritten", rid, cid));
        }
    }
    *report = json_pack("{s:b,s:I,s:I,s:o}", "ok", json_array_size(probs) == 0, "rows", (json_int_t)n,
                        "checkpoints", (json_int_t)json_array_size(cps), "problems", probs);
    json_decref(rows);
    json_decref(cps);
    free(pkp);
    return FB_OK;
}
