/* report.h - the plan document rendered for people and tools (report.c):
 * table, JSON, CSV of line items, Markdown, HTML with SVG charts and FOCUS
 * 1.2 CSV (internal, prefix fbi_). */
#ifndef FB_REPORT_H
#define FB_REPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

/* The output formats, one enum for every verb that takes --format (the CLI
 * names them FBC_FMT_*, cli.h): `plan` and `report` accept them all, other
 * verbs the ones they can print (a bit mask of 1 << format). */
typedef enum { FBI_REPORT_TABLE, FBI_REPORT_JSON, FBI_REPORT_CSV, FBI_REPORT_MD, FBI_REPORT_HTML,
               FBI_REPORT_FOCUS } fbi_report_format;

/* The --format name of a format ("table", "json", ...; static), NULL past
 * the last one, so callers can list them all by counting up from 0. */
const char *fbi_report_format_name(unsigned f);

/* Writes the plan document (borrowed) in a format; group_by (a label, may
 * be NULL) adds totals per value of that label. Returns 0 or -1 on a write
 * error. */
int fbi_report_write(const json_t *plan, fbi_report_format fmt, const char *group_by, FILE *out);

/* An array of a streamed JSON report: its key, and its n items, made one
 * at a time by next(arg, i) (new; released once written). */
typedef struct fbi_report_array {
    const char *key;
    size_t n;
    json_t *(*next)(void *arg, size_t i);
    void *arg;
} fbi_report_array;

/* Writes a plan document exactly as fbi_report_write does in
 * FBI_REPORT_JSON (the same text, byte for byte), but with the arrays
 * named by arrays made an item at a time: head (borrowed) is the document
 * without them (a value of head under an array's key is not written). So
 * the whole document is never held: a plan of 10,000 workloads keeps one
 * workload's JSON at a time, and its links are not held as JSON either
 * (bench/README-plan.md, "Memory"). The keys are written in sorted order,
 * each value as jansson dumps it nested. Returns 0, or -1 on a write
 * error. */
int fbi_report_json_stream_arrays(const json_t *head, const fbi_report_array *arrays, size_t narrays,
                                  FILE *out);
/* The same with one array, "workloads". */
int fbi_report_json_stream(const json_t *head, size_t n, json_t *(*next)(void *arg, size_t i), void *arg,
                           FILE *out);

/* The FOCUS 1.2 CSV of a plan document (borrowed), focus.c; what each cost
 * column holds is written at the top of that file and in docs/plan.md. */
void fbi_report_focus(const json_t *plan, FILE *out);

/* A column of exact amounts (decimal strings) to the cent so that it adds
 * up to its exact sum rounded by the decimal rule: the largest-remainder
 * method every human format uses. Returns n cents (new, free()). */
int64_t *fbi_report_column_cents(const char *const *amounts, size_t n);

#endif
