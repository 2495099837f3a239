/* wltoken.c - a workload's own JWT-SVID from `fedbroker serve`
 * (wltoken.h). The flow, each step refusing with a status that says why:
 *   400  the request is not {"provider", "proof", "audience", ...}
 *   400  no such driver, or one that cannot attest (ABI < 1.3)
 *   401  the driver refuses the proof (the provider said no, or the proof
 *        is not bound to this broker)
 *   403  the proof is good but names a binding no deployed workload
 *        recorded (a role made by hand, a destroyed workload)
 *   200  {"token", "spiffeId", "audience", "expiresAt"}
 * The driver never sees the broker's keys, the broker never sees the
 * workload's cloud credentials (only a signed request it cannot change). */
#include "config.h"
#include "server/wltoken.h"
#include "broker/broker.h"
#include "base/util.h"
#include "identity/identity.h"
#include "state/state.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest audience accepted: a URL or a provider's resource name. */
#define AUDIENCE_MAX 1024
/* The default lifetime of a workload's token, as `identity token`. */
#define DEFAULT_TTL 600

struct fbi_wltoken {
    const fbi_identity_cfg *cfg;
    char *store_file;
    pthread_mutex_t mu; /* everything below */
    int opened;         /* broker and store opened (or tried: see open_err) */
    char *open_err;     /* why they could not be, for every later request */
    fbi_broker broker;  /* configuration and the configured drivers */
    fb_store *store;    /* a connection of our own: the keyring's transaction */
};

fbi_wltoken *fbi_wltoken_new(const fbi_identity_cfg *cfg, const char *store_file)
{
    fbi_wltoken *w = fbi_xcalloc(1, sizeof *w);
    w->cfg = cfg;
    w->store_file = fbi_xstrdup(store_file);
    pthread_mutex_init(&w->mu, NULL);
    return w;
}

void fbi_wltoken_free(fbi_wltoken *w)
{
    if (!w) return;
    if (w->opened && !w->open_err) fbi_broker_close(&w->broker);
    if (w->store) fb_store_close(w->store);
    free(w->open_err);
    free(w->store_file);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static json_t *error(const char *code, const char *message)
{
    return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
}

/* The first error's summary of d, or dflt. */
static const char *first_error(const fb_diag *d, const char *dflt)
{
    for (size_t i = 0; i < fb_diag_count(d); i++)
        if (fb_diag_severity(d, i) == FB_SEV_ERROR) return fb_diag_summary(d, i);
    return dflt;
}

/* Opens the broker (configuration, drivers) and a store connection once;
 * under w->mu. */
static int open_once(fbi_wltoken *w)
{
    if (w->opened) return w->open_err == NULL;
    w->opened = 1;
    fb_diag *d = fb_diag_new();
    if (fbi_broker_open(&w->broker, d) != FB_OK) {
        w->open_err = fbi_xasprintf("the broker's configuration or drivers could not be loaded: %s",
                                    first_error(d, "see the server log"));
        fb_diag_print(d, stderr);
        fbi_broker_close(&w->broker);
    } else if (fb_store_open(w->store_file, &w->store, d) != FB_OK) {
        w->open_err = fbi_xstrdup("the state store could not be opened; see the server log");
        fb_diag_print(d, stderr);
        fbi_broker_close(&w->broker);
    }
    fb_diag_free(d);
    return w->open_err == NULL;
}

/* The provider's name as drivers are named ([a-z0-9_-], 1 to 64). */
static int driver_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

static void issue_locked(fbi_wltoken *w, const json_t *req, unsigned *status, json_t **answer,
                         char **actor, char **tenant)
{
    const char *provider = json_string_value(json_object_get(req, "provider"));
    const char *aud = json_string_value(json_object_get(req, "audience"));
    const char *alg = json_string_value(json_object_get(req, "alg"));
    const json_t *proof = json_object_get(req, "proof"), *ttlj = json_object_get(req, "ttl");
    json_int_t ttl = ttlj ? (json_is_integer(ttlj) ? json_integer_value(ttlj) : -1) : DEFAULT_TTL;
    *status = 400;
    if (!driver_name_ok(provider)) {
        *answer = error("invalid", "/provider: give the driver that deployed the workload, e.g. \"aws\"");
        return;
    }
    if (!json_is_object(proof)) {
        *answer = error("invalid", "/proof: give the provider's proof of the workload's identity (an object; "
                                   "docs/identity.md)");
        return;
    }
    if (!aud || !*aud || strlen(aud) > AUDIENCE_MAX) {
        *answer = error("invalid", "/audience: give the one audience the token is for (1 to 1024 characters)");
        return;
    }
    if (ttl < 1 || ttl > FBI_TOKEN_MAX_TTL) {
        *answer = error("invalid", "/ttl: give whole seconds from 1 to 3600");
        return;
    }
    if (alg && strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0) {
        *answer = error("invalid", "/alg: give RS256 or ES256");
        return;
    }
    if (!open_once(w)) {
        *status = 503;
        *answer = error("unavailable", w->open_err);
        return;
    }
    fb_diag *d = fb_diag_new();
    const fb_driver *drv = NULL;
    fb_driver_ctx *ctx = NULL;
    if (fb_registry_context(w->broker.reg, provider, &drv, &ctx, d) != FB_OK || !drv) {
        char *m = fbi_xasprintf("/provider: no driver %s is loaded and configured", provider);
        *answer = error("invalid", m);
        free(m);
        fb_diag_free(d);
        return;
    }
    if (!FB_DRIVER_HAS(drv, attest)) {
        char *m = fbi_xasprintf("/provider: the %s driver cannot check a workload's identity (attest, "
                                "driver ABI 1.3)", provider);
        *answer = error("invalid", m);
        free(m);
        fb_diag_free(d);
        return;
    }
    /* tokenUrl: the audience a proof made for this broker names (a GCP ID
     * token, a Kubernetes projected token); absent when not configured */
    json_t *in = json_pack("{s:O,s:s,s:s?}", "proof", proof, "serverId", w->cfg->issuer, "tokenUrl",
                           w->cfg->token_url);
    char *in_text = json_dumps(in, JSON_COMPACT);
    json_decref(in);
    char *out_text = NULL;
    fb_status st = drv->attest(ctx, in_text, &out_text, d);
    free(in_text);
    json_t *out = st == FB_OK && out_text ? json_loads(out_text, 0, NULL) : NULL;
    fb_host_table()->free(out_text);
    const json_t *res = json_object_get(out, "resource");
    const char *rtype = json_string_value(json_object_get(res, "type"));
    const char *rid = json_string_value(json_object_get(res, "id"));
    if (st == FB_AUTH || st == FB_INVALID || st == FB_NOTFOUND) {
        *status = 401;
        *answer = error("unauthenticated", first_error(d, "the proof was refused"));
    } else if (st == FB_RETRYABLE || st == FB_QUOTA) {
        *status = 503;
        *answer = error("unavailable", first_error(d, "the provider is unavailable; try again"));
    } else if (st != FB_OK || !rtype || !rid) {
        *status = 502;
        *answer = error("provider", first_error(d, "the driver's answer names no resource"));
        fb_diag_print(d, stderr);
    } else {
        char *owner = NULL;
        fb_status fs = fbi_store_resource_owner(w->store, provider, rtype, rid, &owner, d);
        json_t *o = owner ? json_loads(owner, 0, NULL) : NULL;
        const char *t = json_string_value(json_object_get(o, "tenant"));
        const char *wl = json_string_value(json_object_get(o, "workload"));
        char *id = t && wl ? fbi_spiffe_workload_id(w->cfg->trust_domain, t, wl, d) : NULL;
        fbi_keyring *k = NULL;
        char *jwt = NULL;
        json_t *claims = NULL;
        if (fs == FB_NOTFOUND) {
            char *m = fbi_xasprintf("the caller proved to be %s %s, which is no deployed workload's "
                                    "identity (apply the workload first)", rtype, rid);
            *status = 403;
            *answer = error("forbidden", m);
            free(m);
        } else if (fs != FB_OK || !id) {
            *status = 500;
            *answer = error("internal", "the state store failed; see the server log");
            fb_diag_print(d, stderr);
        } else if (fbi_keyring_open(w->cfg, w->store, &k, d) != FB_OK ||
                   fbi_keyring_token(k, alg ? alg : "RS256", id, aud, ttl, &jwt, &claims, d) != FB_OK) {
            *status = 500;
            *answer = error("internal", "the token could not be signed; see the server log");
            fb_diag_print(d, stderr);
        } else {
            *status = 200;
            *answer = json_pack("{s:s,s:s,s:s,s:O}", "token", jwt, "spiffeId", id, "audience", aud,
                                "expiresAt", json_object_get(claims, "exp"));
            *actor = fbi_xstrdup(id);
            *tenant = fbi_xstrdup(t);
        }
        if (jwt) sodium_memzero(jwt, strlen(jwt));
        free(jwt);
        json_decref(claims);
        fbi_keyring_free(k);
        free(id);
        json_decref(o);
        free(owner);
    }
    json_decref(out);
    fb_diag_free(d);
}

void fbi_wltoken_issue(fbi_wltoken *w, const char *body, size_t n, unsigned *status,
                       json_t **answer, char **actor, char **tenant)
{
    *actor = NULL;
    *tenant = NULL;
    json_error_t je;
    json_t *req = body && n ? json_loadb(body, n, 0, &je) : NULL;
    if (!json_is_object(req)) {
        *status = 400;
        *answer = error("invalid", "the body must be a JSON object {\"provider\", \"proof\", \"audience\", "
                                   "\"ttl\"?}");
        json_decref(req);
        return;
    }
    pthread_mutex_lock(&w->mu);
    issue_locked(w, req, status, answer, actor, tenant);
    pthread_mutex_unlock(&w->mu);
    json_decref(req);
}
