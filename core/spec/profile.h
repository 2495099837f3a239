/*
 * profile.h - traffic profiles (traffic.profile, `simulate --profile`):
 * a series of request rates one fixed step apart, read from a CSV file
 * (timestamp,requests_per_second) or from the spec's inline forms, and
 * validated (monotonic times, one step from 1m to 1h, no gaps, rates
 * 0..10^7). Internal (prefix fbi_), not exported from libfedbroker.
 * Thread: no shared state; a profile belongs to its caller.
 */
#ifndef FB_SPEC_PROFILE_H
#define FB_SPEC_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "fedbroker/fedbroker.h"

#define FBI_PROFILE_MIN_STEP 60            /* seconds: one row per minute */
#define FBI_PROFILE_MAX_STEP 3600          /* seconds: one row per hour */
#define FBI_PROFILE_MAX_POINTS 1100000u    /* two years of minutes */
#define FBI_PROFILE_MAX_FILE (64u * 1024 * 1024) /* CSV bytes */
#define FBI_PROFILE_MAX_RPS 10000000.0

typedef struct fbi_profile {
    int64_t start;    /* the first point: Unix seconds when absolute, else 0 */
    int absolute;     /* 1: the points were UTC times; 0: offsets or a pattern */
    int64_t step_s;   /* seconds between two points */
    int64_t period_s; /* 86400 or 604800 for a daily/weekly pattern, else 0 */
    double *rps;      /* n rates (owned) */
    size_t n;
    int known_ahead;  /* 1: a forecast (or a planned event) taken as known, never
                         forecast again (fbi_forecast_next's result); 0 otherwise */
} fbi_profile;

/* Frees the rates; p may be NULL. */
void fbi_profile_free(fbi_profile *p);

/* Parses CSV text (name: the file shown in messages). Rows are
 * timestamp,requests_per_second; a first row whose time and rate are not a
 * time and a number is a header; blank lines and lines starting with '#' are skipped. A
 * timestamp is a UTC time (2026-12-31T18:00:00Z, seconds optional, 'Z' or
 * '+00:00' optional), Unix seconds, or an offset duration ("90m"). Every
 * bad row is reported (the first 20) as name:line with pointer (the spec's
 * pointer to the file reference, may be NULL) and what to do. Returns 0, or
 * -1 after adding errors to diag. out is zeroed first. */
int fbi_profile_parse_csv(const char *name, const char *data, size_t len,
                          const char *pointer, fbi_profile *out, fb_diag *diag);

/* Reports one error of an inline profile: rel is the JSON pointer inside
 * the profile ("" or "/3/at"); summary and detail borrowed. */
typedef void (*fbi_profile_err_fn)(void *ctx, const char *rel, const char *summary,
                                   const char *detail);
/* Builds a profile from the inline forms (schema-valid: a list of {at, rps}
 * or {pattern, step, rps}). Every problem goes to err. Returns 0, or -1
 * when err was called. out is zeroed first. */
int fbi_profile_from_json(const json_t *v, fbi_profile *out, fbi_profile_err_fn err,
                          void *ctx);

/* The normal form's summary of p: {stepSeconds, points, start (UTC text or
 * null), periodSeconds, peakRps, meanRps, minRps} plus "rps" (the rates)
 * when with_rates. New reference. */
json_t *fbi_profile_to_json(const fbi_profile *p, int with_rates);

/* Rebuilds a profile from a normal form that holds its rates (with_rates
 * above). Returns 0, or -1 with *err (new) when the rates are missing. */
int fbi_profile_from_norm(const json_t *norm, fbi_profile *out, char **err);

/* The profile of a normal form's traffic.profile (pn, borrowed): its
 * rates, or its file read again and checked against the SHA-256 validate
 * recorded (a file changed since is an error). Errors go to diag with the
 * file:line or pointer. Returns 0 or -1. out is zeroed first. */
int fbi_profile_load(const json_t *pn, fbi_profile *out, fb_diag *diag);

/* Parses a time (see fbi_profile_parse_csv) into seconds; *absolute 1 for
 * a UTC time or Unix seconds, 0 for an offset. Returns 0 or -1 with *err
 * (new). */
int fbi_profile_parse_time(const char *s, int64_t *secs, int *absolute, char **err);

/* Formats Unix seconds as 2026-12-31T18:00:00Z into out. */
void fbi_profile_format_time(int64_t secs, char out[64]);

#endif
