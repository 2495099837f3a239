/* cmd_audit.c - `fedbroker audit verify`: recomputes the audit trail's
 * hash chain and checks its signed checkpoints (core/server/audit.h);
 * `fedbroker audit list` prints the rows. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "server/audit.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

static fb_status list_rows(fb_store *s, const void *arg, char **text, fb_diag *d)
{
    (void)arg;
    return fbi_store_audit_rows(s, text, d);
}

static void table(json_t *rows, const void *arg)
{
    (void)arg;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        printf("%5lld %s %-14s %-10s %-28s %s\n",
               (long long)json_integer_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "at")),
               json_string_value(json_object_get(r, "actor")),
               json_is_string(json_object_get(r, "tenant")) ? json_string_value(json_object_get(r, "tenant")) : "-",
               json_string_value(json_object_get(r, "action")),
               json_string_value(json_object_get(r, "outcome")));
}

int fbc_cmd_audit(int argc, char **argv)
{
    const char *format = NULL;
    fbc_opt opts[] = {
        {"format", "FMT", "table or json", &format, NULL, NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL},
    };
    char **pos;
    int npos, rc;
    if (!fbc_parse(argc, argv, opts, "fedbroker audit verify|list [--format table|json]",
                   "verify: recomputes every audit row's hash and its link to the row before, and\n"
                   "checks each checkpoint's Ed25519 signature with audit.pub in the broker home;\n"
                   "reports the first row that was changed, removed or inserted. Exit 0 when the\n"
                   "trail is intact, 1 when not. list: the rows.", &pos, &npos, &rc))
        return rc;
    const char *sub = npos == 1 ? pos[0] : "";
    int verify = strcmp(sub, "verify") == 0;
    free(pos);
    if (!verify && strcmp(sub, "list") != 0) {
        fprintf(stderr, "usage: fedbroker audit verify|list [--format table|json]\n");
        return FB_EXIT_USAGE;
    }
    fbc_format fmt;
    if (fbc_format_parse(format, (1u << FBC_FMT_TABLE) | (1u << FBC_FMT_JSON), &fmt) != 0)
        return FB_EXIT_USAGE;
    fb_store *store = NULL;
    if ((rc = fbc_open_store(&store)) != FB_EXIT_OK) return rc;
    fb_diag *d = fb_diag_new();
    if (!verify) {
        rc = fbc_print_rows(store, fmt, list_rows, table, NULL, d);
    } else {
        json_t *rep = NULL;
        if (fbi_audit_verify(store, NULL, &rep, d) != FB_OK) {
            rc = fbc_report_diag(d, FB_EXIT_FAILURE);
        } else {
            int ok = json_is_true(json_object_get(rep, "ok"));
            if (fmt == FBC_FMT_JSON) {
                fbc_print_json(rep);
            } else {
                printf("%s: %lld rows, %lld signed checkpoints\n", ok ? "intact" : "TAMPERED",
                       (long long)json_integer_value(json_object_get(rep, "rows")),
                       (long long)json_integer_value(json_object_get(rep, "checkpoints")));
                size_t i;
                json_t *p;
                json_array_foreach(json_object_get(rep, "problems"), i, p)
                    printf("  %s: %s\n", json_string_value(json_object_get(p, "problem")),
                           json_string_value(json_object_get(p, "detail")));
            }
            rc = ok ? FB_EXIT_OK : FB_EXIT_FAILURE;
            json_decref(rep);
        }
    }
    fb_diag_free(d);
    fb_store_close(store);
    return rc;
}
