/* cmd_plans.c - `fedbroker plans`: the plans the store keeps (each
 * `fedbroker plan` run that was not --no-save), with the state serial
 * each was computed against and its change summary. Reads the store only. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

static fb_status list(fb_store *s, const void *arg, char **text, fb_diag *d)
{
    (void)arg;
    return fbi_store_list_plans(s, text, d);
}

/* arg: the store's state serial now (a plan computed against another is stale) */
static void table(json_t *rows, const void *arg)
{
    const long long *serial = arg;
    size_t i;
    json_t *r;
    if (json_array_size(rows))
        printf("%-6s %-20s %-10s %9s %14s %6s  %s\n", "ID", "CREATED", "STATUS",
               "WORKLOADS", "MONTHLY USD", "SERIAL", "CHANGES");
    json_array_foreach(rows, i, r) {
        json_t *c = json_object_get(r, "changes");
        char cb[160] = "-";
        if (json_is_object(c))
            snprintf(cb, sizeof cb, "+%lld ~%lld -/+%lld -%lld =%lld",
                     (long long)json_integer_value(json_object_get(c, "create")),
                     (long long)json_integer_value(json_object_get(c, "update")),
                     (long long)json_integer_value(json_object_get(c, "move")),
                     (long long)json_integer_value(json_object_get(c, "delete")),
                     (long long)json_integer_value(json_object_get(c, "no-op")));
        long long micro = json_integer_value(json_object_get(r, "total_micro_usd"));
        json_t *ser = json_object_get(r, "state_serial");
        char sb[24] = "-";
        if (json_is_integer(ser)) snprintf(sb, sizeof sb, "%lld", (long long)json_integer_value(ser));
        printf("%-6lld %-20s %-10s %9lld %10lld.%02lld %6s  %s%s\n",
               (long long)json_integer_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "created_at")),
               json_string_value(json_object_get(r, "status")),
               (long long)json_integer_value(json_object_get(r, "workloads")),
               micro / 1000000, (micro % 1000000) / 10000, sb, cb,
               json_is_integer(ser) && json_integer_value(ser) != *serial ? "  (stale)" : "");
    }
    if (json_array_size(rows) == 0) printf("(no stored plans: run `fedbroker plan SPEC...`)\n");
}

int fbc_cmd_plans(int argc, char **argv)
{
    const char *format = NULL;
    fbc_opt opts[] = {
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker plans [--format table|json]",
                   "Lists the stored plans, oldest first: id (what `apply --plan ID` and\n"
                   "`destroy --plan ID` take; `latest` is the last), when, status, workloads,\n"
                   "monthly total, the state serial it was computed against and its changes.",
                   &pos, &npos, &rc))
        return rc;
    free(pos);
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    long long serial = 0;
    if (fbi_store_serial(store, &serial, d) != FB_OK)
        rc = fbc_report_diag(d, FB_EXIT_FAILURE);
    else
        rc = fbc_print_rows(store, fmt, list, table, &serial, d);
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}
