/* http_policy.c - the retry policy of the host HTTP service, as pure
 * functions: which AWS error code a response carries, which codes are
 * throttling or transient, Retry-After, full-jitter backoff and the retry
 * quota. Modelled on the AWS SDKs' "standard" retry mode (botocore's
 * botocore/retries/standard.py is the reference the tests compare with). */
#include "config.h"
#include "http/http.h"
#include "base/util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The standard retry mode's throttling error codes. */
static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

/* The standard retry mode's transient (non-throttling) error codes. */
static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
};

/* Whether code is in a NULL-safe list. */
static int in_list(const char *code, const char *const *list, size_t n)
{
    if (!code) return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(code, list[i]) == 0) return 1;
    return 0;
}

int fbi_http_is_throttling_code(const char *code)
{
    return in_list(code, throttling_codes, sizeof throttling_codes / sizeof *throttling_codes);
}

int fbi_http_is_transient_code(const char *code)
{
    return in_list(code, transient_codes, sizeof transient_codes / sizeof *transient_codes);
}

/* Turns "aws.protocoltests#FooError:http://internal..." into "FooError"
 * (the way the SDKs normalise error codes); takes n bytes of s. new or NULL
 * when nothing is left. */
static char *normalise_code(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) { s++; n--; }
    const char *colon = memchr(s, ':', n);
    if (colon) n = (size_t)(colon - s);
    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == '#') {
            s += i;
            n -= i;
            break;
        }
    }
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return n ? fbi_xstrndup(s, n) : NULL;
}

/* The first <Code>...</Code> of an XML error body (Query, EC2, REST-XML
 * protocols). new or NULL. */
static char *xml_code(const char *body, size_t len)
{
    static const char open[] = "<Code>", close[] = "</Code>";
    const char *end = body + len;
    for (const char *p = body; p + sizeof open - 1 <= end; p++) {
        if (memcmp(p, open, sizeof open - 1) != 0) continue;
        const char *v = p + sizeof open - 1;
        for (const char *q = v; q + sizeof close - 1 <= end; q++) {
            if (*q == '<') {
                if (memcmp(q, close, sizeof close - 1) == 0) return normalise_code(v, (size_t)(q - v));
                return NULL;
            }
        }
        return NULL;
    }
    return NULL;
}

char *fbi_http_error_code(const fb_http_header *headers, size_t n_headers,
                          const char *body, size_t body_len)
{
    for (size_t i = 0; i < n_headers; i++) {
        if (headers[i].name && headers[i].value
            && strcasecmp(headers[i].name, "X-Amzn-ErrorType") == 0) {
            char *c = normalise_code(headers[i].value, strlen(headers[i].value));
            if (c) return c;
        }
    }
    if (!body || !body_len) return NULL;
    size_t skip = 0;
    while (skip < body_len && isspace((unsigned char)body[skip])) skip++;
    if (skip < body_len && body[skip] == '{') {
        json_t *j = json_loadb(body, body_len, 0, NULL);
        if (json_is_object(j)) {
            static const char *const keys[] = {"__type", "code", "Code"};
            for (size_t k = 0; k < 3; k++) {
                const char *v = json_string_value(json_object_get(j, keys[k]));
                if (v) {
                    char *c = normalise_code(v, strlen(v));
                    json_decref(j);
                    return c;
                }
            }
        }
        json_decref(j);
        return NULL;
    }
    return xml_code(body, body_len);
}

int fbi_http_parse_retry_after(const char *value, int64_t now, uint64_t *ms)
{
    if (!value) return -1;
    while (*value == ' ' || *value == '\t') value++;
    size_t n = strlen(value);
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t')) n--;
    if (n == 0) return -1;
    size_t digits = 0;
    while (digits < n && isdigit((unsigned char)value[digits])) digits++;
    if (digits == n) {
        /* delta-seconds; anything past a day is as good as a day. */
        uint64_t s = 0;
        for (size_t i = 0; i < n && s <= 86400; i++) s = s * 10 + (uint64_t)(value[i] - '0');
        if (s > 86400) s = 86400;
        *ms = s * 1000;
        return 0;
    }
    char *copy = fbi_xstrndup(value, n);
    time_t t = curl_getdate(copy, NULL); /* IMF-fixdate, RFC 850, asctime */
    free(copy);
    if (t == (time_t)-1) return -1;
    int64_t delta = (int64_t)t - now;
    *ms = delta > 0 ? (uint64_t)(delta > 86400 ? 86400 : delta) * 1000 : 0;
    return 0;
}

uint64_t fbi_http_backoff_ms(uint64_t r, unsigned retry, uint64_t base_ms,
                             uint64_t max_ms)
{
    uint64_t cap = base_ms;
    for (unsigned i = 1; i < retry && cap < max_ms; i++) cap *= 2;
    if (cap > max_ms) cap = max_ms;
    double u = (double)(r >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
    return (uint64_t)(u * (double)cap);
}

uint64_t fbi_http_rand_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

void fbi_retry_quota_init(fbi_retry_quota *q, long capacity)
{
    q->max = capacity < 0 ? 0 : capacity;
    q->available = q->max;
}

int fbi_retry_quota_acquire(fbi_retry_quota *q, long amount)
{
    if (amount > q->available) return 0;
    q->available -= amount;
    return 1;
}

void fbi_retry_quota_release(fbi_retry_quota *q, long amount)
{
    long room = q->max - q->available;
    q->available += amount < room ? amount : room;
}
