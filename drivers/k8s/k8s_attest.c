/* k8s_attest.c - a workload's pod proves to `fedbroker serve` that it runs
 * as its ServiceAccount (ABI 1.3 attest; docs/identity.md, "A workload's
 * own token"). With identity.tokenUrl, apply mounts into the workload's
 * pods a projected service-account token whose audience is the broker's
 * token URL and which lives 10 minutes (the kubelet renews it; the pods
 * still mount no API token). The pod sends that token; the driver asks the
 * cluster that signed it, with a TokenReview (authentication.k8s.io/v1)
 * naming the token URL as the only audience, so a token made for the API
 * server, for another broker or for a cloud's STS is no proof here. The
 * review checks the signature, the expiry, the audience and that the
 * ServiceAccount (and the pod the token is bound to) still exist. The
 * answer must be authenticated, for that audience, for a user
 * system:serviceaccount:NAMESPACE:NAME in a namespace this driver deploys
 * to (fb-TENANT, or settings.namespace); the broker then maps the
 * ServiceAccount to the workload whose apply recorded it (k8s:ServiceAccount
 * NAMESPACE/NAME). The broker's own credentials need `create` on
 * tokenreviews (the ClusterRole system:auth-delegator grants it).
 *
 * Thread notes: reads ctx only; k8s_call is thread-safe. */
#include "config.h"
#include "k8s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest token read: a projected token is about 1 KiB. */
#define TOKEN_MAX 16384

static fb_status refuse(fb_diag *diag, const char *why, const char *arg)
{
    char *m = fbk_xasprintf("k8s: the identity proof is refused: %s%s", why, arg ? arg : "");
    k8s_host->diag_add(diag, FB_SEV_ERROR, m,
                       "Send {\"token\": ...}: the projected service-account token apply mounts into the "
                       "workload's pods (the file FEDBROKER_TOKEN_FILE names; docs/identity.md).",
                       NULL);
    free(m);
    return FB_AUTH;
}

/* Is ns a namespace this driver deploys workloads to? */
static int our_namespace(const fb_driver_ctx *ctx, const char *ns, size_t n)
{
    if (ctx->namespace[0]) return strlen(ctx->namespace) == n && !strncmp(ns, ctx->namespace, n);
    return n > 3 && !strncmp(ns, "fb-", 3);
}

fb_status k8s_attest(fb_driver_ctx *ctx, const json_t *in, json_t **out, fb_diag *diag)
{
    *out = NULL;
    const json_t *proof = json_object_get(in, "proof");
    const char *aud = json_string_value(json_object_get(in, "tokenUrl"));
    const char *tok = json_string_value(json_object_get(proof, "token"));
    if (!aud || !*aud)
        return refuse(diag, "the broker has no token URL (identity.tokenUrl), the audience a projected "
                            "token must name", NULL);
    if (!json_is_object(proof) || !tok || !*tok || json_object_size(proof) != 1)
        return refuse(diag, "the proof must be {\"token\": ...} and nothing else", NULL);
    if (strlen(tok) > TOKEN_MAX) return refuse(diag, "the token is longer than 16 KiB", NULL);
    json_t *body = json_pack("{s:s,s:s,s:{s:s,s:[s]}}", "apiVersion", "authentication.k8s.io/v1", "kind",
                             "TokenReview", "spec", "token", tok, "audiences", aud);
    k8s_res res;
    /* creates nothing (a review is not stored); the token is redacted
     * wherever the host shows the request */
    fb_status st = k8s_call_secret(ctx, diag, "create TokenReview", "POST",
                                   "/apis/authentication.k8s.io/v1/tokenreviews", NULL, body, NULL,
                                   FB_HTTP_READ_ONLY, tok, &res);
    json_decref(body);
    if (st != FB_OK) return st == FB_AUTH ? FB_INTERNAL : st; /* the broker's own connection */
    if (res.err != FB_OK) {
        /* the broker's credentials, not the workload's proof */
        k8s_fail(diag, "create TokenReview", &res,
                 res.status == 403 ? "grant the broker's user create on tokenreviews.authentication.k8s.io "
                                     "(the ClusterRole system:auth-delegator)" : NULL);
        st = res.err == FB_RETRYABLE ? FB_RETRYABLE : FB_INTERNAL;
        k8s_res_clear(&res);
        return st;
    }
    const json_t *status = json_object_get(res.body, "status");
    const char *user = json_string_value(json_object_get(json_object_get(status, "user"), "username"));
    const char *err = json_string_value(json_object_get(status, "error"));
    int aud_ok = 0;
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(status, "audiences"), i, a) aud_ok |= json_is_string(a) &&
                                                                              !strcmp(json_string_value(a), aud);
    const char *prefix = "system:serviceaccount:";
    const char *ns = user && !strncmp(user, prefix, strlen(prefix)) ? user + strlen(prefix) : NULL;
    const char *colon = ns ? strchr(ns, ':') : NULL;
    if (!json_is_true(json_object_get(status, "authenticated"))) {
        /* the authenticator's words: expired, wrong audience, bad
         * signature, a deleted account; they do not quote the token */
        char e[201];
        snprintf(e, sizeof e, "%s", err ? err : "(no reason given)");
        st = refuse(diag, "the cluster does not authenticate the token: ", e);
    } else if (!aud_ok) {
        st = refuse(diag, "the cluster authenticated the token, but not for the audience ", aud);
    } else if (!colon || colon == ns || !colon[1] || strchr(colon + 1, ':')) {
        st = refuse(diag, "the token is not a service account's: ", user ? user : "(no user)");
    } else if (!our_namespace(ctx, ns, (size_t)(colon - ns))) {
        st = refuse(diag, "the service account is in a namespace fedbroker does not deploy to: ", user);
    } else {
        char *id = fbk_xasprintf("%.*s/%s", (int)(colon - ns), ns, colon + 1);
        *out = json_pack("{s:{s:s,s:s},s:s}", "resource", "type", "k8s:ServiceAccount", "id", id, "caller", user);
        free(id);
    }
    k8s_res_clear(&res);
    return st;
}
