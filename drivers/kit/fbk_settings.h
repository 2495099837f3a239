/*
 * fbk_settings.h - typed reads of a driver's settings (configure's input,
 * {"settings": {...}}, the drivers.NAME section of the broker
 * configuration). Part of the driver kit (prefix fbk_); see fbk.h for the
 * memory rules.
 *
 * Every refusal is an error diagnostic whose JSON pointer is where the
 * setting lives in the broker configuration, /drivers/NAME/KEY (the broker
 * prints it with the file name and stops with exit 2), and whose detail
 * says what is accepted. A reader counts its errors, so configure reads
 * every setting, reports every problem at once and returns
 * fbk_settings_close()'s status:
 *
 *     fbk_settings s;
 *     fb_status st = fbk_settings_open(&s, host, diag, "example", config_json);
 *     if (st != FB_OK) return st;
 *     static const char *const keys[] = {"endpoint", "timeout", NULL};
 *     fbk_settings_known(&s, NULL, keys);
 *     fbk_set_url(&s, "endpoint", "http://127.0.0.1:8080", &c->endpoint);
 *     fbk_set_duration(&s, "timeout", 1000, 600000, 30000, &c->timeout_ms);
 *     st = fbk_settings_close(&s);   (FB_INVALID when anything was refused)
 *
 * Keys: a key names a member of the settings object; "a/b" names member b
 * of the object at member a (nested settings such as "ibm/endpoint").
 * Each read returns 1 when the setting was given and valid, 0 when it is
 * absent or null (*out = the default) and -1 when it was refused (*out =
 * the default, an error added and counted).
 *
 * Threads: a reader belongs to one configure call.
 */
#ifndef FBK_SETTINGS_H
#define FBK_SETTINGS_H

#include "fbk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fbk_settings {
    const fb_host *host;  /* borrowed */
    fb_diag *diag;        /* borrowed */
    const char *driver;   /* borrowed: the driver's name, in pointers and messages */
    json_t *root;         /* new: the parsed configure input */
    json_t *settings;     /* borrowed from root: the settings object ({} when absent) */
    int errors;           /* refusals so far */
} fbk_settings;

/* Parses configure's input text (borrowed) and finds its "settings"
 * object (absent or null = {}). FB_INVALID with a diagnostic when the
 * text is not a JSON object or settings is not an object; s is then
 * already closed. */
fb_status fbk_settings_open(fbk_settings *s, const fb_host *host, fb_diag *diag,
                            const char *driver, const char *config_json);

/* Releases s. FB_OK when nothing was refused, else FB_INVALID. */
fb_status fbk_settings_close(fbk_settings *s);

/* The JSON value at key (borrowed from s), or NULL when absent. */
json_t *fbk_settings_get(const fbk_settings *s, const char *key);

/* Refuses every member of the object at key (NULL = the settings object
 * itself) that is not in keys (a NULL-terminated list), naming the known
 * ones: a misspelt setting would otherwise silently do nothing. Returns
 * the number refused. */
int fbk_settings_known(fbk_settings *s, const char *key, const char *const *keys);

/* Adds an error about the setting at key, counted like the readers' own
 * (for checks only the driver knows, e.g. "a project id"). The first line
 * of fmt's text is the summary, the rest the detail. */
void fbk_settings_error(fbk_settings *s, const char *key, const char *fmt, ...)
    FBK_PRINTF(3, 4);

/* A non-empty string of at most max_len bytes (0 = no limit). *out new
 * (free()); dflt is copied (NULL gives NULL). */
int fbk_set_string(fbk_settings *s, const char *key, size_t max_len, const char *dflt,
                   char **out);

/* One of values (NULL-terminated); *out is its index, dflt when absent. */
int fbk_set_enum(fbk_settings *s, const char *key, const char *const *values, int dflt,
                 int *out);

/* An http:// or https:// URL with a host (fbk_endpoint_problem's rules:
 * no user info, spaces or control characters); a trailing '/' is dropped.
 * *out new (free()); dflt copied. */
int fbk_set_url(fbk_settings *s, const char *key, const char *dflt, char **out);

/* An integer in [min, max] (a JSON integer; 2.0 or "2" are refused). */
int fbk_set_int(fbk_settings *s, const char *key, long long min, long long max,
                long long dflt, long long *out);

/* true or false. */
int fbk_set_bool(fbk_settings *s, const char *key, int dflt, int *out);

/* An array of non-empty strings, at most max_items (0 = no limit), no
 * duplicates. *out is a new NULL-terminated array (fbk_strv_free), *n its
 * length; absent = an empty array. */
int fbk_set_strings(fbk_settings *s, const char *key, size_t max_items, char ***out, size_t *n);
/* Frees a NULL-terminated string array (NULL-safe). */
void fbk_strv_free(char **v);

/* A duration written as the spec writes them: one or more
 * <digits><unit> with unit ms, s, m or h ("250ms", "30s", "1h30m"), in
 * milliseconds within [min_ms, max_ms]. A bare number is refused (its
 * unit would be a guess). */
int fbk_set_duration(fbk_settings *s, const char *key, int64_t min_ms, int64_t max_ms,
                     int64_t dflt_ms, int64_t *out_ms);

/* Parses a duration as fbk_set_duration does: 0 with *ms, or -1 with
 * *why (static text). */
int fbk_parse_duration(const char *text, int64_t *ms, const char **why);

#ifdef __cplusplus
}
#endif

#endif /* FBK_SETTINGS_H */
