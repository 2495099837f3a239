/* aws_fastfake.c - a fast stand-in for Lambda's create path, for
 * bench/aws_apply.sh only.
 *
 * tests/fakes/fake_aws.py checks every request with botocore (signature,
 * model, state) and tops out at a few hundred requests per second on one
 * core: too slow to show fedbroker's fan-out at 20 ms latency and
 * parallelism 64 (3,200 requests per second). This server answers the two
 * requests the benchmark's functions need, after a fixed latency, with one
 * thread per connection (libmicrohttpd):
 *
 *   GET  /2015-03-31/functions/NAME  404 ResourceNotFoundException, or 200
 *                                    {"Configuration": ..., "Tags": ...}
 *   POST /2015-03-31/functions       201 {"FunctionArn", "State": "Active", ...}
 *   GET  /__fake/count               {"functions": N, "requests": N, "unsigned": N,
 *                                     "first_ns": T, "last_ns": T} (the first request read,
 *                                     the last answered; CLOCK_REALTIME ns, 0 before any)
 *
 * It checks only that each request carries a SigV4 Authorization header and
 * that a create names a function; the test suite proves the requests are
 * right against the strict fake.
 *
 *   aws_fastfake --latency-ms 20 --port-file FILE   (prints "PORT n")
 */
#include "config.h"
#include "fastfake.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_FUNCTIONS 100000

static unsigned latency_ms;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *functions[MAX_FUNCTIONS];
static size_t n_functions;
static unsigned long n_requests, n_unsigned;
static long long first_ns, last_ns; /* under mu */

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int have(const char *name)
{
    for (size_t i = 0; i < n_functions; i++)
        if (!strcmp(functions[i], name)) return 1;
    return 0;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text,
                              const char *error_type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (error_type) MHD_add_response_header(r, "x-amzn-ErrorType", error_type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve(struct MHD_Connection *c, const char *url, const char *method,
                             ff_body *b);

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    if (ff_upload(state, upload, upload_size)) return MHD_YES;
    if (!strcmp(url, "/__fake/count")) return serve(c, url, method, *state);
    long long t0 = now_ns();
    pthread_mutex_lock(&mu);
    if (!first_ns || t0 < first_ns) first_ns = t0;
    pthread_mutex_unlock(&mu);
    enum MHD_Result r = serve(c, url, method, *state);
    long long t1 = now_ns();
    pthread_mutex_lock(&mu);
    if (t1 > last_ns) last_ns = t1;
    pthread_mutex_unlock(&mu);
    return r;
}

/* One request (the count, or a Lambda call after the latency). */
static enum MHD_Result serve(struct MHD_Connection *c, const char *url, const char *method,
                             ff_body *b)
{
    if (!strcmp(url, "/__fake/count")) {
        char text[256];
        pthread_mutex_lock(&mu);
        snprintf(text, sizeof text, "{\"functions\": %zu, \"requests\": %lu, \"unsigned\": %lu, "
                 "\"first_ns\": %lld, \"last_ns\": %lld}", n_functions, n_requests, n_unsigned,
                 first_ns, last_ns);
        pthread_mutex_unlock(&mu);
        return answer(c, 200, text, NULL);
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&mu);
    n_requests++;
    if (!auth || strncmp(auth, "AWS4-HMAC-SHA256 Credential=", 28) != 0) n_unsigned++;
    pthread_mutex_unlock(&mu);
    if (latency_ms) ff_nap(latency_ms);
    const char *prefix = "/2015-03-31/functions";
    char text[1024];
    if (!strcmp(method, "GET") && !strncmp(url, prefix, strlen(prefix)) && url[strlen(prefix)] == '/') {
        const char *name = url + strlen(prefix) + 1;
        pthread_mutex_lock(&mu);
        int found = have(name);
        pthread_mutex_unlock(&mu);
        if (!found) {
            snprintf(text, sizeof text, "{\"__type\": \"ResourceNotFoundException\", \"message\": "
                     "\"Function not found: %.200s\"}", name);
            return answer(c, 404, text, "ResourceNotFoundException");
        }
        snprintf(text, sizeof text, "{\"Configuration\": {\"FunctionName\": \"%.200s\", \"FunctionArn\": "
                 "\"arn:aws:lambda:us-east-1:123456789012:function:%.200s\", \"State\": \"Active\", "
                 "\"LastUpdateStatus\": \"Successful\"}, \"Tags\": {\"managed-by\": \"fedbroker\"}}",
                 name, name);
        return answer(c, 200, text, NULL);
    }
    if (!strcmp(method, "POST") && !strcmp(url, prefix)) {
        json_t *j = b->data ? json_loads(b->data, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(j, "FunctionName"));
        if (!name) {
            json_decref(j);
            return answer(c, 400, "{\"__type\": \"ValidationException\", \"message\": \"no FunctionName\"}",
                          "ValidationException");
        }
        pthread_mutex_lock(&mu);
        int exists = have(name);
        if (!exists && n_functions < MAX_FUNCTIONS) functions[n_functions++] = strdup(name);
        pthread_mutex_unlock(&mu);
        if (exists) {
            json_decref(j);
            return answer(c, 409, "{\"__type\": \"ResourceConflictException\", \"message\": \"exists\"}",
                          "ResourceConflictException");
        }
        snprintf(text, sizeof text, "{\"FunctionName\": \"%.200s\", \"FunctionArn\": "
                 "\"arn:aws:lambda:us-east-1:123456789012:function:%.200s\", \"State\": \"Active\", "
                 "\"LastUpdateStatus\": \"Successful\"}", name, name);
        json_decref(j);
        return answer(c, 201, text, NULL);
    }
    return answer(c, 404, "{\"__type\": \"UnknownOperationException\", \"message\": \"not faked\"}",
                  "UnknownOperationException");
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--latency-ms") && i + 1 < argc) latency_ms = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc) port_file = argv[++i];
        else {
            fprintf(stderr, "usage: aws_fastfake [--latency-ms N] [--port-file FILE]\n");
            return 64;
        }
    }
    int rc = ff_serve("aws_fastfake", handler, port_file);
    return rc;
}
