/* cmd_endpoints.c - `fedbroker endpoints`: where what apply deployed
 * answers (a function or service URL, a quantum job id), as apply
 * recorded it in the store's endpoints table. Reads the store only. */
#include "config.h"
#include "cli/cli.h"
#include "cli/deploy.h"
#include "base/util.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

static fb_status list(fb_store *s, const void *tenant, char **text, fb_diag *d)
{
    return fbi_store_list_endpoints(s, tenant, text, d);
}

static void table(json_t *rows, const void *arg)
{
    (void)arg;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        printf("%s/%s  %s:%s%s%s  %-5s %s  (observed %s)\n",
               json_string_value(json_object_get(r, "tenant")),
               json_string_value(json_object_get(r, "workload")),
               json_string_value(json_object_get(r, "provider")),
               json_string_value(json_object_get(r, "region")),
               *fbc_dep_str(r, "instance") ? " " : "", fbc_dep_str(r, "instance"),
               json_string_value(json_object_get(r, "kind")),
               json_string_value(json_object_get(r, "url")),
               json_string_value(json_object_get(r, "observed_at")));
    if (json_array_size(rows) == 0) printf("(no endpoints recorded)\n");
}

int fbc_cmd_endpoints(int argc, char **argv)
{
    const char *format = NULL, *tenant = NULL;
    fbc_opt opts[] = {
        {"tenant", "TENANT", "only this tenant", &tenant, NULL, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker endpoints [--tenant T] [--format table|json]",
                   "Lists the endpoints apply recorded: workload, tenant, provider, region, url\n"
                   "(or job id), kind, observed_at. Dependents receive them in their env as\n"
                   "FEDBROKER_ENDPOINT_<NAME> and through ${endpoints.NAME.url}.",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    rc = fbc_print_rows(store, fmt, list, table, tenant, d);
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}
