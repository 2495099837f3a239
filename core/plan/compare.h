/* compare.h - a plan on two catalogs side by side (compare.c): what a
 * price change does to a plan, per workload and in total, and whether the
 * placement moves (`fedbroker plan SPEC... --catalog NEW --compare`).
 * Internal, prefix fbi_. Thread-safety: pure functions of their inputs. */
#ifndef FB_PLAN_COMPARE_H
#define FB_PLAN_COMPARE_H

#include <jansson.h>
#include <stdio.h>

#include "plan/report.h"

/* The comparison document ("format": "fedbroker-plan-compare/1") of two
 * plan documents (borrowed) of the same specs: per workload its old and
 * new placement and cost, the change and whether it moves; the old, new
 * and changed total, list and net. old_catalog / new_catalog name the two
 * catalogs (copied). Returns a new object. */
json_t *fbi_plan_compare(const json_t *old_plan, const json_t *new_plan, const char *old_catalog,
                         const char *new_catalog);

/* Writes a comparison (borrowed) as table, json, csv or md (html and
 * focus print the table). Returns 0 or -1 on a write error. */
int fbi_compare_write(const json_t *cmp, fbi_report_format fmt, FILE *out);

#endif
