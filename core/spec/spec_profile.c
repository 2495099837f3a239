/*
 * spec_profile.c - traffic profiles: CSV and inline forms into one series
 * of rates a fixed step apart (see profile.h and docs/simulation.md).
 */
#include "config.h"
#include "spec/profile.h"
#include "spec/spec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPORTED 20 /* CSV rows reported per file; the rest are counted */

void fbi_profile_free(fbi_profile *p)
{
    if (!p) return;
    free(p->rps);
    p->rps = NULL;
    p->n = 0;
}

void fbi_profile_format_time(int64_t secs, char out[64])
{
    fbi_format_rfc3339(secs, out);
}

static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int fbi_profile_parse_time(const char *s, int64_t *secs, int *absolute, char **err)
{
    if (!s) {
        *err = fbi_xstrdup("no time given");
        return -1;
    }
    size_t len = strlen(s);
    int y, mo, d, h, mi, se = 0;
    /* YYYY-MM-DDTHH:MM[:SS][Z|+00:00] */
    if (len >= 16 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') &&
        s[13] == ':') {
        const char *rest = s + 16;
        if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
            digits(s + 11, 2, &h) || digits(s + 14, 2, &mi))
            goto bad_time;
        if (*rest == ':') {
            if (digits(rest + 1, 2, &se)) goto bad_time;
            rest += 3;
        }
        if (*rest == 'Z' && rest[1] == 0) rest++;
        else if (!strcmp(rest, "+00:00")) rest += 6;
        if (*rest) {
            *err = fbi_xasprintf("'%.40s' is not in UTC: end it with Z (or nothing); other "
                                 "offsets are not accepted", s);
            return -1;
        }
        /* the accepted variants in the one form base/util parses */
        char canon[96];
        snprintf(canon, sizeof canon, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, se);
        if (se > 59 || fbi_parse_rfc3339(canon, secs) != 0) {
            *err = fbi_xasprintf("'%.40s' is not a calendar date and time", s);
            return -1;
        }
        *absolute = 1;
        return 0;
    }
    if (len > 0 && len <= 12 && strspn(s, "0123456789") == len) {
        *secs = strtoll(s, NULL, 10);
        *absolute = 1;
        return 0;
    }
    int64_t ms;
    char *derr = NULL;
    if (fbi_parse_duration(s, &ms, &derr) == 0) {
        if (ms % 1000) {
            *err = fbi_xasprintf("offset '%.40s' is not a whole number of seconds", s);
            return -1;
        }
        *secs = ms / 1000;
        *absolute = 0;
        return 0;
    }
    free(derr);
bad_time:
    *err = fbi_xasprintf("'%.40s' is not a time: give a UTC time such as 2026-12-31T18:00:00Z, "
                         "Unix seconds, or an offset such as 90m", s);
    return -1;
}

/* A rate: a finite number from 0 to FBI_PROFILE_MAX_RPS. 0 or -1 with *err. */
static int check_rate(double v, char **err)
{
    if (!isfinite(v) || v < 0 || v > FBI_PROFILE_MAX_RPS) {
        *err = fbi_xasprintf("rate %g is not from 0 to 10000000 requests per second", v);
        return -1;
    }
    return 0;
}

/* Checks the times of a series: same kind, increasing, one step from 1m to
 * 1h. where(i) names point i in messages via the callback. Returns the
 * step, or -1 after reporting. */
typedef void (*point_err_fn)(void *ctx, size_t i, const char *summary, const char *detail);

static int64_t check_times(const int64_t *t, const int *abs, size_t n, point_err_fn err,
                           void *ctx, int *nerr)
{
    if (n < 2) {
        err(ctx, n ? 0 : 0, "a profile needs at least two points",
            "The step (one row per minute to one per hour) is the time between the first two.");
        (*nerr)++;
        return -1;
    }
    int64_t step = t[1] - t[0];
    int bad = 0;
    for (size_t i = 1; i < n && bad < MAX_REPORTED; i++) {
        char *s = NULL;
        if (abs[i] != abs[0]) {
            s = fbi_xasprintf("time is %s but the first point's is %s",
                              abs[i] ? "a UTC time" : "an offset",
                              abs[0] ? "a UTC time" : "an offset");
            err(ctx, i, s, "Give every point as a UTC time, or every point as an offset.");
        } else if (t[i] <= t[i - 1]) {
            s = fbi_xasprintf("time is not after the previous point's (%+lld s)",
                              (long long)(t[i] - t[i - 1]));
            err(ctx, i, s, "Timestamps must increase strictly: sort the rows and drop duplicates.");
        } else if (i == 1 && (step < FBI_PROFILE_MIN_STEP || step > FBI_PROFILE_MAX_STEP)) {
            s = fbi_xasprintf("the step is %lld s; it must be from 60 s to 3600 s", (long long)step);
            err(ctx, i, s, "One row per minute to one per hour: resample the series.");
        } else if (t[i] - t[i - 1] > step) {
            s = fbi_xasprintf("gap of %lld s after the previous point; the step is %lld s",
                              (long long)(t[i] - t[i - 1]), (long long)step);
            err(ctx, i, s, "Rows must be one step apart with none missing: fill the gap (0 "
                           "is a rate too).");
        } else if (t[i] - t[i - 1] != step) {
            s = fbi_xasprintf("%lld s after the previous point; the step set by the first two "
                              "is %lld s", (long long)(t[i] - t[i - 1]), (long long)step);
            err(ctx, i, s, "All points must be one step apart: resample the series.");
        }
        if (s) {
            bad++;
            free(s);
        }
    }
    *nerr += bad;
    return bad ? -1 : step;
}

/* ---- CSV ---- */

typedef struct csv_ctx {
    const char *name, *pointer;
    fb_diag *diag;
    const int *lines; /* line of each point */
    int reported;
} csv_ctx;

static void csv_point_err(void *vctx, size_t i, const char *summary, const char *detail)
{
    csv_ctx *c = vctx;
    fb_diag_add(c->diag, FB_SEV_ERROR, c->name, c->lines ? c->lines[i] : 0, 1, c->pointer,
                summary, detail);
}

static void csv_row_err(csv_ctx *c, int line, const char *summary, const char *detail)
{
    if (c->reported++ < MAX_REPORTED)
        fb_diag_add(c->diag, FB_SEV_ERROR, c->name, line, 1, c->pointer, summary, detail);
}

int fbi_profile_parse_csv(const char *name, const char *data, size_t len,
                          const char *pointer, fbi_profile *out, fb_diag *diag)
{
    memset(out, 0, sizeof *out);
    csv_ctx c = {name, pointer, diag, NULL, 0};
    size_t cap = 1024, n = 0;
    int64_t *t = fbi_xmalloc(cap * sizeof *t);
    int *abs = fbi_xmalloc(cap * sizeof *abs);
    int *lines = fbi_xmalloc(cap * sizeof *lines);
    double *r = fbi_xmalloc(cap * sizeof *r);
    int line = 0, errors = 0, rows = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *p = data + pos;
        const char *nl = memchr(p, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - p) : len - pos;
        pos += ll + (nl ? 1 : 0);
        line++;
        if (ll && p[ll - 1] == '\r') ll--;
        size_t k = 0;
        while (k < ll && (p[k] == ' ' || p[k] == '\t')) k++;
        if (k == ll || p[k] == '#') continue;
        rows++;
        if (ll > 200) {
            csv_row_err(&c, line, "row longer than 200 characters",
                        "A row is timestamp,requests_per_second.");
            errors++;
            continue;
        }
        char row[208];
        memcpy(row, p, ll);
        row[ll] = 0;
        char *comma = strchr(row, ',');
        if (!comma || strchr(comma + 1, ',')) {
            csv_row_err(&c, line, comma ? "more than two columns" : "no comma: one column",
                        "A row is timestamp,requests_per_second.");
            errors++;
            continue;
        }
        *comma = 0;
        char *ts = row, *rv = comma + 1;
        while (*ts == ' ' || *ts == '"') ts++;
        for (char *e = ts + strlen(ts); e > ts && (e[-1] == ' ' || e[-1] == '"'); ) *--e = 0;
        while (*rv == ' ' || *rv == '"') rv++;
        for (char *e = rv + strlen(rv); e > rv && (e[-1] == ' ' || e[-1] == '"'); ) *--e = 0;
        char *end = NULL;
        errno = 0;
        double v = strtod(rv, &end);
        int num_ok = *rv && end && !*end && errno == 0;
        if (rows == 1 && !num_ok) { /* a header: neither column is data */
            int64_t hs;
            int ha;
            char *herr = NULL;
            if (fbi_profile_parse_time(ts, &hs, &ha, &herr) != 0) {
                free(herr);
                continue;
            }
        }
        if (n == FBI_PROFILE_MAX_POINTS) {
            csv_row_err(&c, line, "more than 1,100,000 rows (two years of minutes)",
                        "Split the series or use a coarser step.");
            errors++;
            break;
        }
        char *err = NULL;
        int bad = 0;
        if (!num_ok) {
            char *s = fbi_xasprintf("requests_per_second '%.40s' is not a number", rv);
            csv_row_err(&c, line, s, "Give a decimal number such as 1250 or 12.5.");
            free(s);
            bad = 1;
        } else if (check_rate(v, &err) != 0) {
            csv_row_err(&c, line, err, "Rates are requests per second, 0 to 10,000,000.");
            free(err);
            err = NULL;
            bad = 1;
        }
        int64_t secs = 0;
        int a = 0;
        if (fbi_profile_parse_time(ts, &secs, &a, &err) != 0) {
            csv_row_err(&c, line, err, NULL);
            free(err);
            bad = 1;
        }
        if (bad) {
            errors++;
            continue;
        }
        if (n == cap) {
            cap *= 2;
            t = fbi_xrealloc(t, cap * sizeof *t);
            abs = fbi_xrealloc(abs, cap * sizeof *abs);
            lines = fbi_xrealloc(lines, cap * sizeof *lines);
            r = fbi_xrealloc(r, cap * sizeof *r);
        }
        t[n] = secs;
        abs[n] = a;
        lines[n] = line;
        r[n] = v;
        n++;
    }
    if (c.reported > MAX_REPORTED) {
        char *s = fbi_xasprintf("%d more bad rows not shown", c.reported - MAX_REPORTED);
        fb_diag_add(diag, FB_SEV_ERROR, name, line, 1, pointer, s,
                    "Only the first 20 bad rows are listed; fix them and validate again.");
        free(s);
    }
    int64_t step = -1;
    if (!errors) {
        c.lines = lines;
        if (n < 2)
            fb_diag_add(diag, FB_SEV_ERROR, name, line > 0 ? line : 1, 1, pointer,
                        n ? "only one row: a profile needs at least two"
                          : "no rows: a profile needs at least two",
                        "Rows are timestamp,requests_per_second, one per minute to one per hour.");
        else
            step = check_times(t, abs, n, csv_point_err, &c, &errors);
    }
    int64_t t0 = n ? t[0] : 0;
    free(t);
    free(lines);
    if (errors || step < 0) {
        free(abs);
        free(r);
        return -1;
    }
    out->absolute = abs[0];
    free(abs);
    out->start = out->absolute ? t0 : 0;
    out->step_s = step;
    out->rps = r;
    out->n = n;
    return 0;
}

/* ---- inline forms ---- */

typedef struct json_ctx {
    fbi_profile_err_fn err;
    void *ctx;
} json_ctx;

static void json_point_err(void *vctx, size_t i, const char *summary, const char *detail)
{
    json_ctx *c = vctx;
    char rel[48];
    snprintf(rel, sizeof rel, "/%zu/at", i);
    c->err(c->ctx, rel, summary, detail);
}

int fbi_profile_from_json(const json_t *v, fbi_profile *out, fbi_profile_err_fn err, void *ctx)
{
    memset(out, 0, sizeof *out);
    if (json_is_object(v)) {
        const char *pat = json_string_value(json_object_get(v, "pattern"));
        const json_t *rates = json_object_get(v, "rps");
        int64_t period = pat && !strcmp(pat, "weekly") ? 604800 : 86400;
        int64_t ms = 0;
        char *e = NULL;
        if (fbi_parse_duration(json_string_value(json_object_get(v, "step")), &ms, &e) != 0) {
            err(ctx, "/step", e, NULL);
            free(e);
            return -1;
        }
        int64_t step = ms / 1000;
        if (ms % 1000 || step < FBI_PROFILE_MIN_STEP || step > FBI_PROFILE_MAX_STEP ||
            period % step) {
            err(ctx, "/step", "the step must be whole seconds from 1m to 1h dividing the period",
                "For example 1h (24 rates a day, 168 a week), 15m or 1m.");
            return -1;
        }
        size_t want = (size_t)(period / step);
        if (json_array_size(rates) != want) {
            char *s = fbi_xasprintf("%zu rates given; a %s pattern with a %lld s step needs %zu",
                                    json_array_size(rates), pat ? pat : "daily",
                                    (long long)step, want);
            err(ctx, "/rps", s, "One rate per step of the period, starting at 00:00 UTC "
                                "(Monday for weekly).");
            free(s);
            return -1;
        }
        out->rps = fbi_xmalloc(want * sizeof *out->rps);
        for (size_t i = 0; i < want; i++)
            out->rps[i] = json_number_value(json_array_get(rates, i));
        out->n = want;
        out->step_s = step;
        out->period_s = period;
        return 0;
    }
    size_t n = json_array_size(v);
    int64_t *t = fbi_xcalloc(n ? n : 1, sizeof *t);
    int *abs = fbi_xcalloc(n ? n : 1, sizeof *abs);
    double *r = fbi_xcalloc(n ? n : 1, sizeof *r);
    int errors = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *pt = json_array_get(v, i);
        char *e = NULL;
        if (fbi_profile_parse_time(json_string_value(json_object_get(pt, "at")), &t[i], &abs[i],
                                   &e) != 0) {
            char rel[48];
            snprintf(rel, sizeof rel, "/%zu/at", i);
            err(ctx, rel, e, NULL);
            free(e);
            errors++;
        }
        r[i] = json_number_value(json_object_get(pt, "rps"));
    }
    json_ctx jc = {err, ctx};
    int64_t step = errors ? -1 : check_times(t, abs, n, json_point_err, &jc, &errors);
    int a = abs[0];
    int64_t t0 = t[0];
    free(t);
    free(abs);
    if (errors || step < 0) {
        free(r);
        return -1;
    }
    out->absolute = a;
    out->start = a ? t0 : 0;
    out->step_s = step;
    out->rps = r;
    out->n = n;
    return 0;
}

json_t *fbi_profile_to_json(const fbi_profile *p, int with_rates)
{
    double peak = 0, sum = 0, lo = p->n ? p->rps[0] : 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->rps[i] > peak) peak = p->rps[i];
        if (p->rps[i] < lo) lo = p->rps[i];
        sum += p->rps[i];
    }
    json_t *o = json_object();
    json_object_set_new(o, "stepSeconds", json_integer(p->step_s));
    json_object_set_new(o, "points", json_integer((json_int_t)p->n));
    if (p->absolute) {
        char ts[64];
        fbi_profile_format_time(p->start, ts);
        json_object_set_new(o, "start", json_string(ts));
    } else {
        json_object_set_new(o, "start", json_null());
    }
    json_object_set_new(o, "periodSeconds", json_integer(p->period_s));
    json_object_set_new(o, "peakRps", json_real(peak));
    json_object_set_new(o, "meanRps", json_real(p->n ? sum / (double)p->n : 0));
    json_object_set_new(o, "minRps", json_real(lo));
    if (with_rates) {
        json_t *a = json_array();
        for (size_t i = 0; i < p->n; i++) json_array_append_new(a, json_real(p->rps[i]));
        json_object_set_new(o, "rps", a);
    }
    return o;
}

int fbi_profile_from_norm(const json_t *norm, fbi_profile *out, char **err)
{
    memset(out, 0, sizeof *out);
    const json_t *a = json_object_get(norm, "rps");
    json_int_t step = json_integer_value(json_object_get(norm, "stepSeconds"));
    if (!json_is_array(a) || json_array_size(a) < 1 || step <= 0) {
        *err = fbi_xstrdup("the profile holds no rates (a file profile is read from its file)");
        return -1;
    }
    out->n = json_array_size(a);
    out->rps = fbi_xmalloc(out->n * sizeof *out->rps);
    for (size_t i = 0; i < out->n; i++) out->rps[i] = json_number_value(json_array_get(a, i));
    out->step_s = step;
    out->period_s = json_integer_value(json_object_get(norm, "periodSeconds"));
    const char *st = json_string_value(json_object_get(norm, "start"));
    if (st) {
        char *e = NULL;
        if (fbi_profile_parse_time(st, &out->start, &out->absolute, &e) != 0) free(e);
    }
    return 0;
}

int fbi_profile_load(const json_t *pn, fbi_profile *out, fb_diag *diag)
{
    memset(out, 0, sizeof *out);
    const char *path = json_string_value(json_object_get(pn, "file"));
    char *err = NULL;
    if (!path) {
        if (fbi_profile_from_norm(pn, out, &err) == 0) return 0;
        fb_diag_add(diag, FB_SEV_ERROR, NULL, 0, 0, "/spec/traffic/profile", err, NULL);
        free(err);
        return -1;
    }
    size_t len = 0;
    char *data = fbi_read_file(path, FBI_PROFILE_MAX_FILE, &len, &err);
    if (!data) {
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, "/spec/traffic/profile/file", err, NULL);
        free(err);
        return -1;
    }
    const char *want = json_string_value(json_object_get(pn, "sha256"));
    char hex[65];
    fbi_sha256_hex(data, len, hex);
    if (want && strcmp(hex, want) != 0) {
        char *s = fbi_xasprintf("the profile file changed since the spec was validated (sha256 "
                                "%.12s, now %.12s)", want, hex);
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, "/spec/traffic/profile/file", s,
                    "Validate and plan again with the file as it is now.");
        free(s);
        free(data);
        return -1;
    }
    int rc = fbi_profile_parse_csv(path, data, len, "/spec/traffic/profile/file", out, diag);
    free(data);
    return rc;
}
