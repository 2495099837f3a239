/* common.c - what several verbs do the same way: load specs, open the
 * broker and the store, print diagnostics, write a report. */
#include "config.h"
#include "cli.h"
#include "base/util.h"

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
    fb_status st = fb_store_open(NULL, s, d);
    fb_diag_print(d, stderr);
    fb_diag_free(d);
    return st == FB_OK ? FB_EXIT_OK : FB_EXIT_FAILURE;
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
