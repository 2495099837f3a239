/* offers.c - what the loaded drivers offer (kind, service, region), and the
 * placement object a driver receives for a target. */
#include "config.h"
#include "broker/broker.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

json_t *fbi_broker_offers(fbi_broker *b, fb_diag *diag)
{
    if (b->offers) return b->offers;
    b->offers = json_array();
    for (size_t i = 0; i < fb_registry_count(b->reg); i++) {
        const fb_driver *drv = fb_registry_get(b->reg, i);
        if (!(drv->caps & (FB_CAP_FUNCTION | FB_CAP_CONTAINER | FB_CAP_QUANTUM))) continue;
        fb_driver_ctx *ctx;
        fb_diag *d = fb_diag_new();
        char *out = NULL;
        if (fb_registry_context(b->reg, drv->name, &drv, &ctx, d) != FB_OK ||
            drv->offers(ctx, &out, d) != FB_OK) {
            for (size_t k = 0; k < fb_diag_count(d); k++) {
                char *m = fbi_xasprintf("driver %s offers nothing: %s", drv->name,
                                        fb_diag_summary(d, k));
                fb_diag_add(diag, FB_SEV_WARNING, NULL, 0, 0, NULL, m, fb_diag_detail(d, k));
                free(m);
            }
            fb_diag_free(d);
            free(out);
            continue;
        }
        fb_diag_free(d);
        json_t *j = out ? json_loads(out, 0, NULL) : NULL;
        free(out);
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(j, "offers"), k, o) {
            if (!json_is_object(o)) continue;
            json_t *c = json_deep_copy(o);
            json_object_set_new(c, "provider", json_string(drv->name));
            json_array_append_new(b->offers, c);
        }
        json_decref(j);
    }
    return b->offers;
}

int fbi_parse_target(const char *target, char **provider, char **region, fb_diag *diag)
{
    const char *colon = strchr(target, ':');
    *provider = colon ? fbi_xstrndup(target, (size_t)(colon - target)) : fbi_xstrdup(target);
    *region = colon && colon[1] ? fbi_xstrdup(colon + 1) : NULL;
    if (!**provider) {
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, "--target needs PROVIDER[:REGION]",
                    "for example --target aws:us-east-1 or --target k8s");
        free(*provider);
        free(*region);
        *provider = *region = NULL;
        return -1;
    }
    return 0;
}

static int str_eq(json_t *o, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && !strcmp(v, want);
}

json_t *fbi_broker_placement(fbi_broker *b, const char *kind, const char *provider,
                             const char *region, const char *service, fb_diag *diag)
{
    json_t *offers = fbi_broker_offers(b, diag);
    size_t i;
    json_t *o;
    json_array_foreach(offers, i, o) {
        if (!str_eq(o, "provider", provider) || !str_eq(o, "kind", kind)) continue;
        if (region && !str_eq(o, "region", region)) continue;
        if (service && !str_eq(o, "service", service)) continue;
        return json_pack("{s:s,s:O,s:O,s:s,s:O}", "provider", provider, "service",
                         json_object_get(o, "service"), "region", json_object_get(o, "region"),
                         "kind", kind, "offer", o);
    }
    /* Say what there is, so the user can pick. */
    fbi_buf have;
    fbi_buf_init(&have);
    size_t shown = 0;
    json_array_foreach(offers, i, o) {
        if (!str_eq(o, "provider", provider) || !str_eq(o, "kind", kind)) continue;
        if (shown++ < 12)
            fbi_buf_printf(&have, "%s%s:%s (%s)", shown > 1 ? ", " : "", provider,
                           json_string_value(json_object_get(o, "region")),
                           json_string_value(json_object_get(o, "service")));
    }
    if (shown > 12) fbi_buf_printf(&have, ", ... %zu in all", shown);
    const fb_driver *drv = fb_registry_find(b->reg, provider);
    char *m = fbi_xasprintf("no offer for a %s on %s%s%s%s%s", kind, provider,
                            region ? " in " : "", region ? region : "",
                            service ? " with service " : "", service ? service : "");
    char *detail = !drv ? fbi_xasprintf("no driver named '%s' is loaded; `fedbroker drivers` "
                                        "lists them", provider)
                 : shown ? fbi_xasprintf("%s offers: %s", provider, have.data)
                         : fbi_xasprintf("driver %s has no offers for kind %s", provider, kind);
    fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, NULL, m, detail);
    free(m);
    free(detail);
    fbi_buf_free(&have);
    return NULL;
}

