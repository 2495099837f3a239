/* common.c - what several verbs do the same way: load specs, open the
 * broker and the store, print diagnostics, write a report. */
#include "config.h"
#include "cli.h"
#include "base/util.h"
#include "http/http.h"
#include "spec/spec.h"
#include "state/lock.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

int fbc_load_specs(char **files, int nfiles, fb_spec_set **out)
{
    fb_spec_set *set = NULL;
    fb_spec_set_new(&set);
    fb_diag *d = fb_diag_new();
    for (int i = 0; i < nfiles; i++) fb_spec_set_add_file(set, files[i], d);
    if (!fb_diag_errors(d)) fb_spec_set_finish(set, d);
    int rc = fbc_report_diag(d, FB_EXIT_INVALID);
    fb_diag_free(d);
    if (rc != FB_EXIT_OK) {
        fb_spec_set_free(set);
        *out = NULL;
        return rc;
    }
    *out = set;
    return FB_EXIT_OK;
}

int fbc_open_broker(fbi_broker *b)
{
    fb_diag *d = fb_diag_new();
    fb_status st = fbi_broker_open(b, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) {
        fbi_broker_close(b);
        return FB_EXIT_INVALID;
    }
    return FB_EXIT_OK;
}

int fbc_open_store(fb_store **s)
{
    fb_diag *d = fb_diag_new();
    *s = NULL;
    /* the state is trusted only where no other user can replace it */
    if (fbi_home_check(d) != FB_OK) {
        fb_diag_print(d, stderr);
        fb_diag_free(d);
        return FB_EXIT_INVALID;
    }
    fb_status st = fb_store_open(NULL, s, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    return st == FB_OK ? FB_EXIT_OK : FB_EXIT_FAILURE;
}

int fbc_lock_timeout(const char *verb, const char *value, int64_t *ms)
{
    *ms = 0;
    if (!value || !strcmp(value, "0")) return FB_EXIT_OK;
    char *err = NULL;
    if (fbi_parse_duration(value, ms, &err) != 0) {
        fprintf(stderr, "fedbroker %s: --lock-timeout: %s\n", verb, err);
        free(err);
        return FB_EXIT_USAGE;
    }
    return FB_EXIT_OK;
}

int fbc_lock_state(fb_store *s, const char *verb, int64_t timeout_ms, fbi_lock **lock)
{
    fb_diag *d = fb_diag_new();
    /* a dead holder's requests may still land for one HTTP timeout */
    fb_status st = fbi_lock_acquire(fbi_store_path(s), verb, timeout_ms, fbi_http_timeout_ms(),
                                    lock, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    if (st != FB_OK) return st == FB_CONFLICT ? FB_EXIT_LOCKED : FB_EXIT_FAILURE;
    const json_t *dead = fbi_lock_dead_holder(*lock);
    if (dead) {
        char *who = fbi_lock_describe(dead);
        fprintf(stderr, "fedbroker %s: note: the previous holder of the state lock, %s, ended "
                        "without releasing it (killed or crashed); its unfinished work is "
                        "resolved now\n", verb, who);
        free(who);
    }
    return FB_EXIT_OK;
}

void fbc_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    puts(s ? s : "null");
    free(s);
}

void fbc_item_diag(const char *what, const fb_diag *d)
{
    for (size_t i = 0; i < fb_diag_count(d); i++) {
        fb_severity sev = fb_diag_severity(d, i);
        const char *ptr = fb_diag_pointer(d, i);
        fprintf(stderr, "%s: %s: %s%s%s\n", what,
                sev == FB_SEV_ERROR ? "error" : sev == FB_SEV_WARNING ? "warning" : "note",
                ptr ? ptr : "", ptr ? ": " : "", fb_diag_summary(d, i));
        if (fb_diag_detail(d, i)) fprintf(stderr, "  %s\n", fb_diag_detail(d, i));
    }
}

int fbc_emit_report(const json_t *plan, fbc_format fmt, const char *group_by, const char *path)
{
    if (!path) return fbi_report_write(plan, fmt, group_by, stdout) ? FB_EXIT_FAILURE : 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    fbi_report_write(plan, fmt, group_by, mem);
    fclose(mem);
    char *err = NULL;
    int rc = fbi_write_file_atomic(path, buf, len, &err);
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "fedbroker: %s\n", err);
        free(err);
        return FB_EXIT_FAILURE;
    }
    return FB_EXIT_OK;
}
