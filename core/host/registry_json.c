/* registry_json.c - the loaded drivers as JSON: what `fedbroker drivers
 * --format json` prints and GET /v1/drivers answers (host.h). */
#include "config.h"
#include "host/host.h"
#include "base/diag.h"

#include <jansson.h>
#include <string.h>

const fbi_cap_name fbi_cap_names[] = {
    {FB_CAP_FUNCTION, "function"}, {FB_CAP_CONTAINER, "container"},
    {FB_CAP_QUANTUM, "quantum"},   {FB_CAP_RENDER, "render"},
    {FB_CAP_DEPLOY, "deploy"},     {FB_CAP_DISCOVER, "discover"},
    {FB_CAP_SCALE_TO_ZERO, "scale0"}, {FB_CAP_GPU, "gpu"},
    {FB_CAP_PUBLIC_HTTP, "http"},  {FB_CAP_AUTOSCALE, "autoscale"},
    {FB_CAP_ARM64, "arm64"},       {FB_CAP_ESTIMATE, "estimate"},
    {FB_CAP_ATTEST, "attest"},
    {0, NULL},
};

json_t *fbi_registry_json(const fb_registry *r, const fb_diag *refused)
{
    json_t *arr = json_array();
    size_t n = fb_registry_count(r);
    for (size_t i = 0; i < n; i++) {
        const fb_driver *d = fb_registry_get(r, i);
        json_t *o = json_object(), *caps = json_array();
        json_object_set_new(o, "name", json_string(d->name));
        json_object_set_new(o, "version", json_string(d->version ? d->version : ""));
        json_object_set_new(o, "abi", json_sprintf("%u.%u", d->abi_major, d->abi_minor));
        json_object_set_new(o, "file", json_string(fb_registry_file(r, i)));
        json_object_set_new(o, "summary", json_string(d->summary ? d->summary : ""));
        for (size_t k = 0; fbi_cap_names[k].col; k++)
            if (d->caps & fbi_cap_names[k].bit) json_array_append_new(caps, json_string(fbi_cap_names[k].col));
        json_object_set_new(o, "caps", caps);
        json_array_append_new(arr, o);
    }
    json_t *top = json_object();
    json_object_set_new(top, "drivers", arr);
    json_object_set_new(top, "refused", fbi_diag_json(refused));
    return top;
}
