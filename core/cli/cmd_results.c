/* cmd_results.c - `fedbroker results`: the results drivers returned from
 * apply (quantum counts, a Braket task's output location), as the store
 * keeps them with each workload. Reads the store only. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>

int fbc_cmd_results(int argc, char **argv)
{
    const char *format = NULL, *tenant = NULL, *workload = NULL;
    int all = 0;
    fbc_opt opts[] = {
        {"workload", "NAME", "only this workload", &workload, NULL, NULL},
        {"tenant", "TENANT", "only this tenant", &tenant, NULL, NULL},
        {"all", NULL, "every stored result, not only the latest per workload", NULL, &all, NULL},
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker results [--workload NAME] [--tenant T] [--all] "
                   "[--format table|json]",
                   "Prints the results drivers returned from apply and the broker stored with the\n"
                   "workload (e.g. a QuantumJob's counts), the latest per workload unless --all.",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    char *text = NULL;
    if (fb_store_list_results(store, tenant, workload, &text, d) != FB_OK) {
        rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    } else {
        json_t *rows = json_loads(text, 0, NULL), *out = json_array();
        size_t i, k;
        json_t *r, *o;
        /* rows come oldest first: keep the last one per (tenant, workload) */
        json_array_foreach(rows, i, r) {
            int later = 0;
            for (k = i + 1; !all && k < json_array_size(rows); k++) {
                json_t *n = json_array_get(rows, k);
                later |= json_equal(json_object_get(n, "tenant"), json_object_get(r, "tenant")) &&
                         json_equal(json_object_get(n, "workload"), json_object_get(r, "workload"));
            }
            if (!later) json_array_append(out, r);
        }
        if (fmt == FBC_FMT_JSON) {
            fbc_print_json(out);
        } else {
            json_array_foreach(out, i, o) {
                json_t *res = json_object_get(o, "result");
                printf("%s/%s  %s  %s\n", json_string_value(json_object_get(o, "tenant")),
                       json_string_value(json_object_get(o, "workload")),
                       json_string_value(json_object_get(o, "created_at")),
                       json_string_value(json_object_get(o, "kind")));
                const char *key;
                json_t *v;
                json_t *counts = json_object_get(res, "counts");
                if (counts) {
                    json_object_foreach(counts, key, v)
                        printf("  %-24s %lld\n", key, (long long)json_integer_value(v));
                } else {
                    char *s = json_dumps(res, JSON_INDENT(2) | JSON_SORT_KEYS);
                    printf("%s\n", s ? s : "");
                    free(s);
                }
            }
            if (json_array_size(out) == 0) printf("(no results in the store)\n");
        }
        json_decref(out);
        json_decref(rows);
    }
    free(text);
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}
