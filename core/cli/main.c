/* main.c - the fedbroker command: dispatches to one verb per file. */
#include "config.h"
#include "cli/cli.h"
#include "base/util.h"
#include "http/http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

typedef struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} verb;

static const verb verbs[] = {
    {"drivers", fbc_cmd_drivers, "list drivers and their features; `drivers test` checks one"},
    {"validate", fbc_cmd_validate, "check spec files and print their normal form"},
    {"render", fbc_cmd_render, "print the provider-native documents for a spec (no network)"},
    {"apply", fbc_cmd_apply, "create or update workloads (--dry-run prints the requests)"},
    {"status", fbc_cmd_status, "observe stored deployments and report drift"},
    {"destroy", fbc_cmd_destroy, "delete deployments (idempotent)"},
    {"discover", fbc_cmd_discover, "list what the providers hold, managed or not"},
    {"catalog", fbc_cmd_catalog, "validate, show and diff the price catalog; price, egress, rtt look-ups"},
    {"plan", fbc_cmd_plan, "place specs by cost and latency and write the cost report"},
    {"simulate", fbc_cmd_simulate, "replay a traffic profile through static, reactive, functions, hybrid"},
    {"report", fbc_cmd_report, "render the last stored plan (table, json, csv, md, html, focus)"},
    {"solve", fbc_cmd_solve, "solve a placement problem file (fedbroker-placement-instance/1)"},
    {"quantum", fbc_cmd_quantum, "run an OpenQASM program on the local simulator (`quantum run`)"},
    {"plans", fbc_cmd_plans, "list the stored plans (ids for apply --plan)"},
    {"endpoints", fbc_cmd_endpoints, "list the endpoints table (apply, observe, discover)"},
    {"resolve", fbc_cmd_resolve, "a workload's healthy endpoints, nearest first (local table only)"},
    {"health", fbc_cmd_health, "age out stale endpoint reports, probe the due health paths"},
    {"serve", fbc_cmd_serve, "serve the JSON API under /v1 (bearer tokens, tenant-scoped)"},
    {"token", fbc_cmd_token, "API bearer tokens: create (shown once), list, revoke"},
    {"audit", fbc_cmd_audit, "verify the hash-chained, signed audit trail; list it"},
    {"results", fbc_cmd_results, "print the results apply stored (e.g. quantum counts)"},
    {"identity", fbc_cmd_identity, "workload identities: SPIFFE IDs, tokens, the issuer's keys"},
    {"secret", fbc_cmd_secret, "portable secrets (secret://NAME): put, list, rm, check"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: fedbroker [--version] [--help] VERB [ARGS]\n\nverbs:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "\nRun 'fedbroker VERB --help' for a verb's options. "
                 "Exit codes are listed in fedbroker(1).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return FB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return FB_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("fedbroker %s (driver ABI %d.%d)\n", PACKAGE_VERSION, FB_ABI_MAJOR, FB_ABI_MINOR);
        return FB_EXIT_OK;
    }
    int64_t t;
    char *err = NULL;
    if (fbi_now(&t, &err) != 0) {
        fprintf(stderr, "fedbroker: %s\n", err);
        free(err);
        return FB_EXIT_INVALID;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++) {
        if (strcmp(argv[1], verbs[i].name) == 0) {
            curl_global_init(CURL_GLOBAL_DEFAULT);
            int rc = verbs[i].run(argc - 1, argv + 1);
            fbi_http_shutdown(); /* stop the I/O thread before curl goes */
            curl_global_cleanup();
            return rc;
        }
    }
    fprintf(stderr, "fedbroker: unknown verb '%s'\n", argv[1]);
    const char *best = NULL;
    int bestd = 3;
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++) {
        int dd = fbi_edit_distance(argv[1], verbs[i].name, 2);
        if (dd < bestd) { bestd = dd; best = verbs[i].name; }
    }
    if (best) fprintf(stderr, "Did you mean '%s'?\n", best);
    usage(stderr);
    return FB_EXIT_USAGE;
}
