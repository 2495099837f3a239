/* gcp_fastfake.c - a fast stand-in for Cloud Run's create path, for
 * bench/gcp_apply.sh only.
 *
 * tests/fakes/fake_gcp.py checks every request against Google's discovery
 * documents and tops out at a few hundred requests per second on one
 * core (its author measured 1.93 s against a 0.63 s ideal): too slow to
 * show fedbroker's fan-out at 20 ms latency and parallelism 64. This
 * server answers the requests the benchmark's services need, after a fixed
 * latency, one thread per connection (libmicrohttpd):
 *
 *   GET  /run/v2/projects/P/locations/R/services/S     404 NOT_FOUND, or 200 the service
 *   POST /run/v2/projects/P/locations/R/services?serviceId=S
 *                                                      200 an Operation, not done
 *   GET  /run/v2/projects/P/locations/R/operations/ID  the Operation: done after
 *                                                      --op-polls gets (3), its response
 *                                                      the ready service
 *   GET  .../services/S:getIamPolicy                   200 {"etag": "ACAB"}
 *   GET  /__fake/count                                 {"services", "requests", "polls",
 *                                                       "unauthorized", "refused"}
 *
 * It checks that each API request carries "Authorization: Bearer ...", and
 * that a create names the service in serviceId and sends a template with a
 * container image and our managed-by label (else 400). The test suite
 * proves the requests are right against the strict fake.
 *
 *   gcp_fastfake --latency-ms 20 --op-polls 3 --port-file FILE   (prints "PORT n")
 */
#include "config.h"
#include "fastfake.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SERVICES 100000

typedef struct service {
    char *name;  /* projects/P/locations/R/services/S */
    char *op;    /* its create operation's name */
    int polls;   /* operations.get calls so far */
} service;

static unsigned latency_ms, op_polls = 3;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static service services[MAX_SERVICES];
static size_t n_services;
static unsigned long n_requests, n_polls, n_unauthorized, n_refused;

/* mu held */
static service *by_name(const char *name)
{
    for (size_t i = 0; i < n_services; i++)
        if (!strcmp(services[i].name, name)) return &services[i];
    return NULL;
}

static service *by_op(const char *op)
{
    for (size_t i = 0; i < n_services; i++)
        if (!strcmp(services[i].op, op)) return &services[i];
    return NULL;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned status, const char *code, const char *msg)
{
    char text[512];
    snprintf(text, sizeof text, "{\"error\": {\"code\": %u, \"message\": \"%s\", \"status\": \"%s\"}}", status,
             msg, code);
    return answer(c, status, text);
}

/* The service as Run answers it when ready (new text). */
static char *service_json(const char *name)
{
    const char *s = strrchr(name, '/') + 1;
    size_t n = strlen(name) * 2 + strlen(s) * 3 + 512;
    char *t = malloc(n);
    if (!t) abort();
    snprintf(t, n, "{\"name\": \"%s\", \"uri\": \"https://%s-fast.a.run.app\", \"reconciling\": false, "
             "\"labels\": {\"managed-by\": \"fedbroker\"}, \"terminalCondition\": {\"type\": \"Ready\", "
             "\"state\": \"CONDITION_SUCCEEDED\"}, \"latestReadyRevision\": \"%s/revisions/%s-00001\", "
             "\"latestCreatedRevision\": \"%s/revisions/%s-00001\"}", name, s, name, s, name, s);
    return t;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    if (ff_upload(state, upload, upload_size)) return MHD_YES;
    ff_body *b = *state;
    if (!strcmp(url, "/__fake/count")) {
        char text[256];
        pthread_mutex_lock(&mu);
        snprintf(text, sizeof text, "{\"services\": %zu, \"requests\": %lu, \"polls\": %lu, \"unauthorized\": %lu, "
                 "\"refused\": %lu}", n_services, n_requests, n_polls, n_unauthorized, n_refused);
        pthread_mutex_unlock(&mu);
        return answer(c, 200, text);
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&mu);
    n_requests++;
    int authorized = auth && !strncmp(auth, "Bearer ", 7) && auth[7];
    if (!authorized) n_unauthorized++;
    pthread_mutex_unlock(&mu);
    if (latency_ms) ff_nap(latency_ms);
    if (!authorized) return error(c, 401, "UNAUTHENTICATED", "Request is missing required authentication credential.");
    if (strncmp(url, "/run/v2/", 8) != 0) return error(c, 404, "NOT_FOUND", "not faked");
    const char *name = url + 8;
    char text[2048];
    if (!strcmp(method, "GET") && strstr(name, "/operations/")) {
        pthread_mutex_lock(&mu);
        n_polls++;
        service *s = by_op(name);
        int done = s && ++s->polls >= (int)op_polls;
        char *svc = s && done ? service_json(s->name) : NULL;
        int known = s != NULL;
        pthread_mutex_unlock(&mu);
        if (!known) return error(c, 404, "NOT_FOUND", "no such operation");
        if (!done) snprintf(text, sizeof text, "{\"name\": \"%s\", \"done\": false}", name);
        else snprintf(text, sizeof text, "{\"name\": \"%s\", \"done\": true, \"response\": %s}", name, svc);
        free(svc);
        return answer(c, 200, text);
    }
    if (!strcmp(method, "GET") && strstr(name, ":getIamPolicy")) return answer(c, 200, "{\"etag\": \"ACAB\"}");
    if (!strcmp(method, "GET")) {
        pthread_mutex_lock(&mu);
        service *s = by_name(name);
        char *svc = s ? service_json(s->name) : NULL;
        pthread_mutex_unlock(&mu);
        if (!svc) return error(c, 404, "NOT_FOUND", "Resource does not exist.");
        enum MHD_Result r = answer(c, 200, svc);
        free(svc);
        return r;
    }
    if (!strcmp(method, "POST")) {
        const char *sid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "serviceId");
        json_t *j = b->data ? json_loads(b->data, 0, NULL) : NULL;
        const char *image = json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "template"), "containers"), 0), "image"));
        const char *mb = json_string_value(json_object_get(json_object_get(j, "labels"), "managed-by"));
        const char *slash = strrchr(name, '/');
        int ok = sid && image && mb && slash && !strcmp(slash, "/services");
        json_decref(j);
        if (!ok) {
            pthread_mutex_lock(&mu);
            n_refused++;
            pthread_mutex_unlock(&mu);
            return error(c, 400, "INVALID_ARGUMENT", "a create needs serviceId, a container image and our labels");
        }
        char full[1024], op[1024];
        snprintf(full, sizeof full, "%.*s/services/%s", (int)(slash - name), name, sid);
        pthread_mutex_lock(&mu);
        int exists = by_name(full) != NULL;
        if (!exists && n_services < MAX_SERVICES) {
            snprintf(op, sizeof op, "%.*s/operations/op-%zu", (int)(slash - name), name, n_services);
            services[n_services].name = strdup(full);
            services[n_services].op = strdup(op);
            n_services++;
        }
        pthread_mutex_unlock(&mu);
        if (exists) return error(c, 409, "ALREADY_EXISTS", "Resource already exists.");
        snprintf(text, sizeof text, "{\"name\": \"%s\", \"done\": false}", op);
        return answer(c, 200, text);
    }
    return error(c, 404, "NOT_FOUND", "not faked");
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--latency-ms") && i + 1 < argc) latency_ms = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--op-polls") && i + 1 < argc) op_polls = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc) port_file = argv[++i];
        else {
            fprintf(stderr, "usage: gcp_fastfake [--latency-ms N] [--op-polls N] [--port-file FILE]\n");
            return 64;
        }
    }
    int rc = ff_serve("gcp_fastfake", handler, port_file);
    return rc;
}
