/* cron.c - the spec's five-field cron expression (minute hour
 * day-of-month month day-of-week, docs/spec.md) as an EventBridge
 * Scheduler expression cron(minute hour day-of-month month day-of-week
 * year), as the Scheduler user guide ("Schedule types", cron-based
 * schedules) describes it: day-of-week 1-7 with 1 = Sunday (cron: 0-7, 0
 * and 7 Sunday), exactly one of the two day fields '?', a year field.
 * Pure text work, no I/O; thread-safe. */
#include "config.h"
#include "aws.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

typedef struct cron_field {
    const char *name;
    int lo, hi;                 /* the spec's (standard cron's) range */
    const char *const *names;   /* names[i] is lo + i */
} cron_field;

static const cron_field cron_fields[5] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, day_names}, /* 0 and 7 are Sunday */
};

/* A value of field f in text [s, s+n): a number in range or a name; -1 if not. */
static int cron_value(const cron_field *f, const char *s, size_t n)
{
    if (n == 0) return -1;
    if (isdigit((unsigned char)s[0])) {
        int v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]) || v > 1000) return -1;
            v = v * 10 + (s[i] - '0');
        }
        return v >= f->lo && v <= f->hi ? v : -1;
    }
    for (size_t i = 0; f->names && f->names[i]; i++)
        if (n == 3 && !strncasecmp(s, f->names[i], 3)) return f->lo + (int)i;
    return -1;
}

/* One comma-separated item of field fi, checked and written to out in
 * Scheduler's form: the same text, except that day-of-week values move
 * from cron's 0-7 (0 and 7 Sunday) to Scheduler's 1-7 (1 Sunday). 0 or -1
 * with *why (new). */
static int cron_item(int fi, const char *item, size_t n, fbk_buf *out, char **why)
{
    const cron_field *f = &cron_fields[fi];
    char text[64];
    if (n >= sizeof text) goto bad;
    memcpy(text, item, n);
    text[n] = '\0';
    if (!strcmp(text, "?")) {
        if (fi != 2 && fi != 4) goto bad;
        fbk_buf_puts(out, "?");
        return 0;
    }
    if (fi == 2 && (!strcmp(text, "L") || !strcmp(text, "LW"))) {
        fbk_buf_puts(out, text);
        return 0;
    }
    if (fi == 2 && n > 1 && text[n - 1] == 'W') {
        if (cron_value(f, text, n - 1) < 0) goto bad;
        fbk_buf_puts(out, text);
        return 0;
    }
    if (fi == 4) {
        /* nL (the last such day of the month), n#k (the k-th) */
        char *hash = strchr(text, '#');
        if ((n > 1 && text[n - 1] == 'L') || hash) {
            size_t vn = hash ? (size_t)(hash - text) : n - 1;
            int v = cron_value(f, text, vn);
            if (v < 0 || (hash && !(hash[1] >= '1' && hash[1] <= '5' && hash[2] == '\0'))) goto bad;
            fbk_buf_printf(out, "%d%s", v % 7 + 1, hash ? hash : "L");
            return 0;
        }
    }
    char *slash = strchr(text, '/');
    const char *step = NULL;
    if (slash) {
        *slash = '\0';
        step = slash + 1;
        if (!*step || strspn(step, "0123456789") != strlen(step) || atoi(step) < 1) goto bad;
    }
    if (!strcmp(text, "*")) {
        fbk_buf_printf(out, "*%s%s", step ? "/" : "", step ? step : "");
        return 0;
    }
    char *dash = strchr(text, '-');
    int a = cron_value(f, text, dash ? (size_t)(dash - text) : strlen(text));
    int b = dash ? cron_value(f, dash + 1, strlen(dash + 1)) : a;
    if (a < 0 || b < 0) goto bad;
    if (a > b) {
        *why = fbk_xasprintf("the %s range %s goes backwards; write it as two ranges (a,b)",
                             f->name, text);
        return -1;
    }
    if (fi != 4) {
        fbk_buf_printf(out, "%.*s", (int)n, item);
        if (f->names) { /* names upper case, as Scheduler writes them */
            for (size_t i = out->len - n; i < out->len; i++)
                out->data[i] = (char)toupper((unsigned char)out->data[i]);
        }
        return 0;
    }
    /* day of week: a single day, or a range; Sunday 7 ends a range */
    if (!dash) {
        fbk_buf_printf(out, "%d%s%s", a % 7 + 1, step ? "/" : "", step ? step : "");
    } else if (b == 7 && a == 0) {
        fbk_buf_printf(out, "1-7%s%s", step ? "/" : "", step ? step : "");
    } else if (b == 7) {
        if (step) {
            *why = fbk_xasprintf("day-of-week %s/%s: a stepped range ending on Sunday (7) has no "
                                 "equivalent in Scheduler's 1-7 (1 = Sunday); end it on 6 or "
                                 "list the days", text, step);
            return -1;
        }
        fbk_buf_printf(out, "%d-7,1", a + 1);
    } else {
        fbk_buf_printf(out, "%d-%d%s%s", a + 1, b + 1, step ? "/" : "", step ? step : "");
    }
    return 0;
bad:
    *why = fbk_xasprintf("'%.*s' is not a valid %s (%d-%d%s%s%s)", (int)(n < 60 ? n : 60), item,
                         f->name, f->lo, f->hi, f->names ? " or " : "",
                         f->names ? f->names[0] : "", f->names ? "..." : "");
    return -1;
}

/* The spec's five-field cron (minute hour day-of-month month day-of-week)
 * as a Scheduler expression cron(minute hour day-of-month month
 * day-of-week year): day-of-week renumbered, the year '*', and '?' in
 * whichever day field the spec leaves '*' (Scheduler needs exactly one
 * '?'). Cron fires when either day field matches if both are restricted;
 * Scheduler cannot say that, so that is refused. 0 with *out (new), or -1
 * with *why (new). */
int aws_cron_to_scheduler(const char *cron, char **out, char **why)
{
    *out = *why = NULL;
    char *copy = fbk_xstrdup(cron);
    char *fieldv[6];
    int nf = 0, bad = 0;
    for (char *s = copy; nf < 6;) {
        fieldv[nf++] = s;
        char *sp = strchr(s, ' ');
        if (!sp) break;
        *sp = '\0';
        s = sp + 1;
    }
    if (nf != 5) {
        *why = fbk_xasprintf("a cron expression has five fields separated by single spaces "
                             "(minute hour day-of-month month day-of-week), not %s%d",
                             nf > 5 ? "more than " : "", nf > 5 ? 5 : nf);
        free(copy);
        return -1;
    }
    fbk_buf fields[5];
    for (int fi = 0; fi < 5; fi++) fbk_buf_init(&fields[fi]);
    for (int fi = 0; fi < 5 && !bad; fi++) {
        for (char *it = fieldv[fi]; !bad;) {
            char *comma = strchr(it, ',');
            size_t n = comma ? (size_t)(comma - it) : strlen(it);
            if (n == 0) {
                *why = fbk_xasprintf("the %s field has an empty item", cron_fields[fi].name);
                bad = 1;
            } else if (cron_item(fi, it, n, &fields[fi], why) != 0) {
                bad = 1;
            }
            if (!comma) break;
            fbk_buf_puts(&fields[fi], ",");
            it = comma + 1;
        }
    }
    if (!bad) {
        const char *dom = fields[2].data, *dow = fields[4].data, *m = NULL, *d = NULL;
        int dom_q = !strcmp(dom, "?"), dow_q = !strcmp(dow, "?");
        int dom_star = !strcmp(dom, "*"), dow_star = !strcmp(dow, "*");
        if (dom_q && dow_q) {
            *why = fbk_xstrdup("day-of-month and day-of-week are both '?': give one of them");
        } else if (dom_q || dow_q) {
            m = dom; /* already in Scheduler's form */
            d = dow;
        } else if (dom_star) {
            m = dow_star ? "*" : "?";
            d = dow_star ? "?" : dow;
        } else if (dow_star) {
            m = dom;
            d = "?";
        } else {
            *why = fbk_xstrdup("both day-of-month and day-of-week are restricted: cron runs the job "
                               "when either matches, which EventBridge Scheduler cannot express; "
                               "use two schedule triggers, one restricting each (the other '*')");
        }
        if (m)
            *out = fbk_xasprintf("cron(%s %s %s %s %s *)", fields[0].data, fields[1].data, m,
                                 fields[3].data, d);
        else
            bad = 1;
    }
    for (int fi = 0; fi < 5; fi++) fbk_buf_free(&fields[fi]);
    free(copy);
    return bad ? -1 : 0;
}
