/* spec_view.c - a finished spec set as one JSON document (spec.h). */
#include "config.h"
#include "spec/spec.h"
#include "base/diag.h"

json_t *fbi_spec_set_view(const fb_spec_set *set, const fb_diag *diag)
{
    json_t *top = json_object();
    json_t *wl = json_array();
    for (size_t i = 0; i < fb_spec_count(set); i++)
        json_array_append(wl, fbi_spec_doc(set, i));
    json_object_set_new(top, "workloads", wl);
    json_object_set_new(top, "links", json_incref((json_t *)fbi_spec_links(set)));
    json_object_set_new(top, "federations", json_incref((json_t *)fbi_spec_federations(set)));
    if (fb_diag_errors(diag)) json_object_set_new(top, "errors", fbi_diag_json(diag));
    return top;
}
