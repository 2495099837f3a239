/* settings.c - typed reads of a driver's settings with JSON-pointer
 * diagnostics (see fbk_settings.h). */
#include "config.h"
#include "fbk_settings.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* "/drivers/NAME/a/b" for key "a/b", each segment escaped as RFC 6901
 * says (~ -> ~0; '/' separates). new. */
static char *pointer_of(const fbk_settings *s, const char *key)
{
    fbk_buf b;
    fbk_buf_init(&b);
    fbk_buf_printf(&b, "/drivers/%s", s->driver);
    if (key && *key) {
        fbk_buf_putc(&b, '/');
        for (const char *p = key; *p; p++) {
            if (*p == '~') fbk_buf_puts(&b, "~0");
            else fbk_buf_putc(&b, *p);
        }
    }
    return fbk_buf_steal(&b);
}

/* The error every refusal goes through: "NAME: setting PTR ...". */
static void verror(fbk_settings *s, const char *key, const char *fmt, va_list ap)
    FBK_PRINTF(3, 0);

static void verror(fbk_settings *s, const char *key, const char *fmt, va_list ap)
{
    char *ptr = pointer_of(s, key);
    char *msg = fbk_xvasprintf(fmt, ap);
    fbk_diag(s->host, s->diag, FB_SEV_ERROR, ptr, "%s: setting %s %s", s->driver, ptr, msg);
    free(msg);
    free(ptr);
    s->errors++;
}

void fbk_settings_error(fbk_settings *s, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(s, key, fmt, ap);
    va_end(ap);
}

fb_status fbk_settings_open(fbk_settings *s, const fb_host *host, fb_diag *diag,
                            const char *driver, const char *config_json)
{
    memset(s, 0, sizeof *s);
    s->host = host;
    s->diag = diag;
    s->driver = driver;
    fb_status st = fbk_json_in(host, diag, "the configure input", config_json, &s->root);
    if (st != FB_OK) return st;
    json_t *set = json_is_object(s->root) ? json_object_get(s->root, "settings") : NULL;
    if (!json_is_object(s->root) || (set && !json_is_object(set) && !json_is_null(set))) {
        char *ptr = pointer_of(s, NULL);
        fbk_diag(host, diag, FB_SEV_ERROR, ptr,
                 "%s: the settings at %s must be a JSON object\n"
                 "configure reads {\"settings\": {...}}, the drivers.%s section of the broker "
                 "configuration", driver, ptr, driver);
        free(ptr);
        json_decref(s->root);
        s->root = NULL;
        return FB_INVALID;
    }
    if (!json_is_object(set)) {
        set = json_object();
        json_object_set_new(s->root, "settings", set);
    }
    s->settings = set;
    return FB_OK;
}

fb_status fbk_settings_close(fbk_settings *s)
{
    json_decref(s->root);
    s->root = s->settings = NULL;
    return s->errors ? FB_INVALID : FB_OK;
}

json_t *fbk_settings_get(const fbk_settings *s, const char *key)
{
    json_t *v = s->settings;
    if (!key || !*key) return v;
    const char *p = key;
    while (v && *p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        v = json_is_object(v) ? json_object_getn(v, p, n) : NULL;
        p += n + (slash ? 1 : 0);
    }
    return v;
}

/* The value at key, NULL when absent or null (the default applies). */
static json_t *given(const fbk_settings *s, const char *key)
{
    json_t *v = fbk_settings_get(s, key);
    return json_is_null(v) ? NULL : v;
}

int fbk_settings_known(fbk_settings *s, const char *key, const char *const *keys)
{
    json_t *o = given(s, key);
    if (!json_is_object(o)) return 0;
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int ok = 0;
        for (size_t i = 0; keys[i] && !ok; i++) ok = !strcmp(k, keys[i]);
        if (ok) continue;
        fbk_buf known;
        fbk_buf_init(&known);
        for (size_t i = 0; keys[i]; i++) fbk_buf_printf(&known, "%s%s", i ? ", " : "", keys[i]);
        char *sub = key && *key ? fbk_xasprintf("%s/%s", key, k) : fbk_xstrdup(k);
        fbk_settings_error(s, sub, "is not a setting of this driver\nknown settings here: %s",
                           known.data ? known.data : "(none)");
        free(sub);
        fbk_buf_free(&known);
        bad++;
    }
    return bad;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

int fbk_set_string(fbk_settings *s, const char *key, size_t max_len, const char *dflt,
                   char **out)
{
    *out = dflt ? fbk_xstrdup(dflt) : NULL;
    json_t *v = given(s, key);
    if (!v) return 0;
    if (!json_is_string(v) || json_string_length(v) == 0) {
        fbk_settings_error(s, key, "must be a non-empty string, not %s",
                           json_is_string(v) ? "an empty one" : type_name(v));
        return -1;
    }
    if (max_len && json_string_length(v) > max_len) {
        fbk_settings_error(s, key, "is %zu bytes long; at most %zu are accepted",
                           json_string_length(v), max_len);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        fbk_settings_error(s, key, "contains a NUL character");
        return -1;
    }
    free(*out);
    *out = fbk_xstrdup(json_string_value(v));
    return 1;
}

int fbk_set_enum(fbk_settings *s, const char *key, const char *const *values, int dflt,
                 int *out)
{
    *out = dflt;
    json_t *v = given(s, key);
    if (!v) return 0;
    const char *str = json_string_value(v);
    for (int i = 0; str && values[i]; i++) {
        if (!strcmp(str, values[i])) {
            *out = i;
            return 1;
        }
    }
    fbk_buf b;
    fbk_buf_init(&b);
    for (int i = 0; values[i]; i++) fbk_buf_printf(&b, "%s\"%s\"", i ? ", " : "", values[i]);
    if (str) fbk_settings_error(s, key, "is \"%s\", which is not one of the values accepted\n"
                                "accepted: %s", str, b.data ? b.data : "");
    else fbk_settings_error(s, key, "must be a string, not %s\naccepted: %s", type_name(v),
                            b.data ? b.data : "");
    fbk_buf_free(&b);
    return -1;
}

int fbk_set_url(fbk_settings *s, const char *key, const char *dflt, char **out)
{
    *out = dflt ? fbk_xstrdup(dflt) : NULL;
    json_t *v = given(s, key);
    if (!v) return 0;
    const char *str = json_string_value(v);
    const char *why = str ? fbk_endpoint_problem(str) : "it is not a string";
    if (str && strlen(str) != json_string_length(v)) why = "it contains a NUL character";
    if (why) {
        /* the value is not quoted: a URL may carry user info */
        fbk_settings_error(s, key, "is not an http:// or https:// URL: %s\n"
                           "write it as https://host[:port][/path]", why);
        return -1;
    }
    size_t n = strlen(str);
    while (n > 0 && str[n - 1] == '/') n--;
    free(*out);
    *out = fbk_xstrndup(str, n);
    return 1;
}

int fbk_set_int(fbk_settings *s, const char *key, long long min, long long max,
                long long dflt, long long *out)
{
    *out = dflt;
    json_t *v = given(s, key);
    if (!v) return 0;
    if (!json_is_integer(v)) {
        fbk_settings_error(s, key, "must be an integer from %lld to %lld, not %s", min, max,
                           type_name(v));
        return -1;
    }
    long long x = (long long)json_integer_value(v);
    if (x < min || x > max) {
        fbk_settings_error(s, key, "is %lld, outside %lld..%lld", x, min, max);
        return -1;
    }
    *out = x;
    return 1;
}

int fbk_set_bool(fbk_settings *s, const char *key, int dflt, int *out)
{
    *out = dflt;
    json_t *v = given(s, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) {
        fbk_settings_error(s, key, "must be true or false, not %s", type_name(v));
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

void fbk_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

int fbk_set_strings(fbk_settings *s, const char *key, size_t max_items, char ***out, size_t *n)
{
    *out = fbk_xcalloc(1, sizeof **out);
    *n = 0;
    json_t *v = given(s, key);
    if (!v) return 0;
    if (!json_is_array(v)) {
        fbk_settings_error(s, key, "must be an array of strings, not %s", type_name(v));
        return -1;
    }
    if (max_items && json_array_size(v) > max_items) {
        fbk_settings_error(s, key, "has %zu entries; at most %zu are accepted",
                           json_array_size(v), max_items);
        return -1;
    }
    char **items = fbk_xcalloc(json_array_size(v) + 1, sizeof *items);
    size_t i, k = 0;
    json_t *e;
    int bad = 0;
    json_array_foreach(v, i, e) {
        char *sub = fbk_xasprintf("%s/%zu", key, i);
        const char *str = json_string_value(e);
        if (!str || !*str || strlen(str) != json_string_length(e)) {
            fbk_settings_error(s, sub, "must be a non-empty string, not %s",
                               str ? "an empty or NUL-containing one" : type_name(e));
            bad = 1;
        } else {
            for (size_t j = 0; j < k; j++) {
                if (!strcmp(items[j], str)) {
                    fbk_settings_error(s, sub, "repeats \"%s\"\nlist each value once", str);
                    bad = 1;
                    str = NULL;
                    break;
                }
            }
            if (str) items[k++] = fbk_xstrdup(str);
        }
        free(sub);
    }
    if (bad) {
        fbk_strv_free(items);
        return -1;
    }
    free(*out);
    *out = items;
    *n = k;
    return 1;
}

int fbk_parse_duration(const char *text, int64_t *ms, const char **why)
{
    *ms = 0;
    const char *p = text;
    if (!p || !*p) {
        *why = "it is empty";
        return -1;
    }
    int64_t total = 0;
    while (*p) {
        if (*p < '0' || *p > '9') {
            *why = "each part is digits followed by a unit (ms, s, m or h)";
            return -1;
        }
        int64_t n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n > (INT64_MAX - 9) / 10) {
                *why = "it is too large";
                return -1;
            }
            n = n * 10 + (*p++ - '0');
        }
        int64_t unit;
        if (!strncmp(p, "ms", 2)) { unit = 1; p += 2; }
        else if (*p == 's') { unit = 1000; p++; }
        else if (*p == 'm') { unit = 60000; p++; }
        else if (*p == 'h') { unit = 3600000; p++; }
        else {
            *why = *p ? "its unit is not ms, s, m or h" : "it has no unit (ms, s, m or h)";
            return -1;
        }
        if (n > (INT64_MAX - total) / unit) {
            *why = "it is too large";
            return -1;
        }
        total += n * unit;
    }
    *ms = total;
    return 0;
}

int fbk_set_duration(fbk_settings *s, const char *key, int64_t min_ms, int64_t max_ms,
                     int64_t dflt_ms, int64_t *out_ms)
{
    *out_ms = dflt_ms;
    json_t *v = given(s, key);
    if (!v) return 0;
    const char *str = json_string_value(v);
    const char *why = NULL;
    int64_t ms = 0;
    if (!str) why = json_is_number(v) ? "a bare number has no unit" : "it is not a string";
    else if (strlen(str) != json_string_length(v)) why = "it contains a NUL character";
    else fbk_parse_duration(str, &ms, &why);
    if (why) {
        fbk_settings_error(s, key, "is not a duration: %s\nwrite it like \"250ms\", \"30s\", "
                           "\"5m\" or \"1h30m\"", why);
        return -1;
    }
    if (ms < min_ms || ms > max_ms) {
        fbk_settings_error(s, key, "is %lld ms, outside %lld..%lld ms", (long long)ms,
                           (long long)min_ms, (long long)max_ms);
        return -1;
    }
    *out_ms = ms;
    return 1;
}
