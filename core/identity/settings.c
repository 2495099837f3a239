/* settings.c - the configuration's "identity" section, resolved once with
 * its defaults so every verb names the same issuer and master key. */
#include "config.h"
#include "identity/identity.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

fb_status fbi_identity_cfg_load(const json_t *config, int need_trust_domain,
                                fbi_identity_cfg *out, fb_diag *diag)
{
    memset(out, 0, sizeof *out);
    json_t *sec = json_object_get(config, "identity");
    const char *td = json_string_value(json_object_get(sec, "trustDomain"));
    if (!td && need_trust_domain) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, "/identity/trustDomain",
                    "no trust domain is configured, so workloads have no SPIFFE ID",
                    "add {\"identity\": {\"trustDomain\": \"prod.example.com\"}} to the "
                    "configuration ($FEDBROKER_HOME/config.json or FEDBROKER_CONFIG)");
        return FB_INVALID;
    }
    char *why = NULL;
    if (td && fbi_spiffe_check_trust_domain(td, &why) != 0) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, "/identity/trustDomain", why,
                    "use a lowercase name such as prod.example.com");
        free(why);
        return FB_INVALID;
    }
    const char *iss = json_string_value(json_object_get(sec, "issuer"));
    const char *mk = json_string_value(json_object_get(sec, "masterKeyFile"));
    const char *tu = json_string_value(json_object_get(sec, "tokenUrl"));
    out->token_url = tu && td ? fbi_xstrdup(tu) : NULL;
    out->trust_domain = td ? fbi_xstrdup(td) : NULL;
    if (!td) {
        out->issuer = NULL;
    } else if (iss) {
        /* no trailing '/': AWS and GCP compare iss with the provider's URL
         * byte for byte, and the discovery document's URLs are built on it */
        size_t n = strlen(iss);
        while (n > 8 && iss[n - 1] == '/') n--;
        out->issuer = fbi_xstrndup(iss, n);
    } else {
        out->issuer = fbi_xasprintf("https://%s", td);
    }
    if (mk) {
        out->master_key_file = fbi_xstrdup(mk);
    } else {
        char *dir = fb_state_dir();
        out->master_key_file = fbi_xasprintf("%s/master.key", dir);
        out->master_key_default = 1;
        free(dir);
    }
    return FB_OK;
}

void fbi_identity_cfg_free(fbi_identity_cfg *c)
{
    free(c->trust_domain);
    free(c->issuer);
    free(c->master_key_file);
    free(c->token_url);
    memset(c, 0, sizeof *c);
}
