/* cmd_token.c - `fedbroker token create|list|revoke`: the API server's
 * bearer tokens (core/server/token.h). A token is printed once, at
 * creation; the store keeps only its hash. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "server/audit.h"
#include "server/token.h"
#include "spec/spec.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

/* An audit row for a token change; a failure to audit fails the verb
 * (a credential change nobody can trace is worse than none). */
static int audited(fb_store *store, const char *tenant, const char *action, const char *id)
{
    fb_diag *d = fb_diag_new();
    fbi_auditor *a = NULL;
    char *detail = fbi_xasprintf("{\"token_id\":\"%s\"}", id);
    const char *user = getenv("USER");
    char *actor = fbi_xasprintf("cli:%s", user && *user ? user : "?");
    fb_status st = fbi_auditor_open(NULL, &a, d);
    if (st == FB_OK) st = fbi_audit_record(a, store, actor, tenant, action, "ok", detail, d);
    fbi_auditor_close(a);
    int rc = st == FB_OK ? FB_EXIT_OK : fbc_report_diag(d, FB_EXIT_FAILURE);
    free(detail);
    free(actor);
    fb_diag_free(d);
    return rc;
}

static int create(int argc, char **argv)
{
    const char *tenant = NULL, *role = NULL, *expires = NULL;
    fbc_opt opts[] = {
        {"tenant", "TENANT", "the tenant the token acts for (required)", &tenant, NULL, NULL},
        {"role", "ROLE", "admin, deployer, viewer or finance (required)", &role, NULL, NULL},
        {"expires-in", "DURATION", "lifetime, e.g. 30d or 12h (default: 90 days)", &expires, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker token create --tenant T --role R [--expires-in D]",
                   "Creates a bearer token for `fedbroker serve` and prints it once on stdout\n"
                   "(its id on stderr). Only its SHA-256 is stored: a lost token is revoked and\n"
                   "replaced, never shown again.", &pos, &npos, &rc))
        return rc;
    free(pos);
    if (!tenant || !*tenant || !fbi_token_role_valid(role)) {
        fprintf(stderr, "fedbroker token create: give --tenant and --role admin|deployer|viewer|finance\n");
        return FB_EXIT_USAGE;
    }
    int64_t life_ms = 90LL * 86400 * 1000, now;
    char *err = NULL;
    if (expires) {
        /* days are what token lifetimes are given in */
        size_t n = strlen(expires);
        if (n > 1 && expires[n - 1] == 'd' && strspn(expires, "0123456789") == n - 1) {
            life_ms = strtoll(expires, NULL, 10) * 86400LL * 1000;
        } else if (fbi_parse_duration(expires, &life_ms, &err) != 0) {
            fprintf(stderr, "fedbroker token create: --expires-in %s: %s\n", expires, err);
            free(err);
            return FB_EXIT_USAGE;
        }
    }
    if (fbi_now(&now, &err) != 0) {
        fprintf(stderr, "fedbroker token create: %s\n", err);
        free(err);
        return FB_EXIT_INVALID;
    }
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    char *token = NULL, *id = NULL;
    if (fbi_token_create(store, tenant, role, now, now + (life_ms + 999) / 1000, &token, &id, d) != FB_OK) {
        rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    } else {
        printf("%s\n", token);
        fprintf(stderr, "token %s for tenant %s, role %s: shown once, keep it secret\n", id, tenant, role);
        rc = audited(store, tenant, "token.create", id);
    }
    fbi_token_free(token);
    free(id);
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}

static fb_status list(fb_store *s, const void *tenant, char **text, fb_diag *d)
{
    return fbi_store_list_tokens(s, tenant, text, d);
}

static void table(json_t *rows, const void *arg)
{
    (void)arg;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        printf("%-14s %-16s %-9s expires %lld%s\n", json_string_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "tenant")),
               json_string_value(json_object_get(r, "role")),
               (long long)json_integer_value(json_object_get(r, "expires_at")),
               json_is_integer(json_object_get(r, "revoked_at")) ? "  revoked" : "");
}

static int list_or_revoke(int argc, char **argv, int revoke)
{
    const char *tenant = NULL, *format = NULL;
    fbc_opt opts[] = {
        {"tenant", "TENANT", "only this tenant's tokens", &tenant, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, revoke ? opts + 2 : opts,
                   revoke ? "fedbroker token revoke ID" : "fedbroker token list [--tenant T] [--format table|json]",
                   revoke ? "Revokes the token with this id (from token list); at once for a running serve."
                          : "Lists the tokens (ids, never the tokens): tenant, role, created, expires, revoked.",
                   &pos, &npos, &rc))
        return rc;
    if (revoke && npos != 1) {
        fprintf(stderr, "fedbroker token revoke: give one token ID\n");
        free(pos);
        return FB_EXIT_USAGE;
    }
    const char *id = revoke ? pos[0] : NULL;
    fbc_format fmt = FBC_FMT_TABLE;
    if (!revoke && fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0) {
        free(pos);
        return FB_EXIT_USAGE;
    }
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) {
        free(pos);
        return rc;
    }
    fb_diag *d = fb_diag_new();
    if (revoke) {
        int64_t now;
        fbi_now(&now, NULL);
        int found = 0;
        if (fbi_store_revoke_token(store, id, now, &found, d) != FB_OK) {
            rc = fbc_report_diag(d, FB_EXIT_FAILURE);
        } else if (!found) {
            fprintf(stderr, "fedbroker token revoke: no token %s (fedbroker token list shows the ids)\n", id);
            rc = FB_EXIT_FAILURE;
        } else {
            printf("revoked %s\n", id);
            rc = audited(store, NULL, "token.revoke", id);
        }
    } else {
        rc = fbc_print_rows(store, fmt, list, table, tenant, d);
    }
    free(pos);
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}

int fbc_cmd_token(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "create") == 0) return create(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0) return list_or_revoke(argc - 1, argv + 1, 0);
    if (strcmp(sub, "revoke") == 0) return list_or_revoke(argc - 1, argv + 1, 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        printf("usage: fedbroker token create|list|revoke ...\n\nBearer tokens for `fedbroker serve`.\n");
        return FB_EXIT_OK;
    }
    fprintf(stderr, "usage: fedbroker token create|list|revoke ... (fedbroker token SUB --help)\n");
    return FB_EXIT_USAGE;
}
