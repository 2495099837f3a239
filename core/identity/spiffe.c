/* spiffe.c - SPIFFE IDs: the rules of the SPIFFE-ID standard (sections 2
 * to 2.4, /work/shared/reference/spiffe/SPIFFE-ID.md), checked byte by
 * byte rather than through a URI parser, because the standard is stricter
 * than RFC 3986 (no percent-encoding, no port, no user info, no dot
 * segments) and a general parser would normalise what must be refused. */
#include "config.h"
#include "identity/identity.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int td_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int seg_char(char c)
{
    return td_char(c) || (c >= 'A' && c <= 'Z');
}

/* Checks the n bytes of td as a trust domain. */
static int check_td(const char *td, size_t n, char **why)
{
    if (n == 0) {
        *why = fbi_xstrdup("the trust domain is empty (SPIFFE-ID 2.1: the host part MUST NOT be empty)");
        return -1;
    }
    if (n > 255) {
        *why = fbi_xasprintf("the trust domain is %zu bytes long; at most 255 (SPIFFE-ID 2.3)", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = td[i];
        if (td_char(c)) continue;
        const char *rule;
        if (c >= 'A' && c <= 'Z') rule = "upper case (the trust domain MUST be lowercase)";
        else if (c == ':') rule = "a port (the port part MUST be empty)";
        else if (c == '@') rule = "user info (the userinfo part MUST be empty)";
        else if (c == '%') rule = "percent-encoding (MUST NOT be percent-encoded)";
        else rule = "a character outside [a-z0-9._-]";
        *why = fbi_xasprintf("the trust domain '%.*s' has %s at byte %zu (SPIFFE-ID 2.1)",
                             (int)(n > 300 ? 300 : n), td, rule, i + 1);
        return -1;
    }
    return 0;
}

int fbi_spiffe_check_trust_domain(const char *td, char **why)
{
    *why = NULL;
    return check_td(td, strlen(td), why);
}

int fbi_spiffe_check_id(const char *id, char **why)
{
    *why = NULL;
    size_t len = strlen(id);
    if (len > FBI_SPIFFE_MAX) {
        *why = fbi_xasprintf("the SPIFFE ID is %zu bytes long; at most %d (SPIFFE-ID 2.3)", len,
                             FBI_SPIFFE_MAX);
        return -1;
    }
    /* the scheme is case-insensitive (2.4) */
    if (len < 9 || strncasecmp(id, "spiffe://", 9) != 0) {
        *why = fbi_xstrdup("a SPIFFE ID starts with spiffe:// (SPIFFE-ID 2: the scheme MUST be spiffe)");
        return -1;
    }
    const char *td = id + 9;
    size_t tdn = strcspn(td, "/?#");
    if (check_td(td, tdn, why) != 0) return -1;
    const char *p = td + tdn;
    if (*p == '?' || strchr(p, '?')) {
        *why = fbi_xstrdup("the SPIFFE ID has a query (SPIFFE-ID 2: MUST NOT include a query)");
        return -1;
    }
    if (*p == '#' || strchr(p, '#')) {
        *why = fbi_xstrdup("the SPIFFE ID has a fragment (SPIFFE-ID 2: MUST NOT include a fragment)");
        return -1;
    }
    if (*p == '\0') return 0; /* the path is optional */
    if (p[strlen(p) - 1] == '/') {
        *why = fbi_xstrdup("the SPIFFE ID's path ends in '/' (SPIFFE-ID 2.2: MUST NOT include a "
                           "trailing /)");
        return -1;
    }
    while (*p == '/') {
        const char *seg = p + 1;
        size_t n = strcspn(seg, "/");
        if (n == 0) {
            *why = fbi_xstrdup("the SPIFFE ID's path has an empty segment (SPIFFE-ID 2.2)");
            return -1;
        }
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            *why = fbi_xasprintf("the SPIFFE ID's path has the relative segment '%.*s' (SPIFFE-ID "
                                 "2.2: MUST NOT include . or ..)", (int)n, seg);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (seg_char(seg[i])) continue;
            *why = fbi_xasprintf("the SPIFFE ID's path segment '%.*s' has %s (SPIFFE-ID 2.2: only "
                                 "[a-zA-Z0-9._-])", (int)(n > 300 ? 300 : n), seg,
                                 seg[i] == '%' ? "percent-encoding" : "a character outside them");
            return -1;
        }
        p = seg + n;
    }
    return 0;
}

char *fbi_spiffe_workload_id(const char *trust_domain, const char *tenant, const char *workload,
                             fb_diag *diag)
{
    char *id = fbi_xasprintf("spiffe://%s/tenant/%s/workload/%s", trust_domain, tenant, workload);
    char *why = NULL;
    /* each name is one segment: "a/b" would still be a valid ID, of
     * another workload's shape */
    if (strchr(tenant, '/') || strchr(workload, '/'))
        why = fbi_xasprintf("'%s' is not one path segment (it holds '/')",
                            strchr(tenant, '/') ? tenant : workload);
    if (why || fbi_spiffe_check_id(id, &why) != 0) {
        char *m = fbi_xasprintf("workload %s/%s has no valid SPIFFE ID: %s", tenant, workload, why);
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m,
                    "tenant and workload names are path segments of [a-zA-Z0-9._-]; the trust "
                    "domain is identity.trustDomain in the configuration");
        free(m);
        free(why);
        free(id);
        return NULL;
    }
    return id;
}
