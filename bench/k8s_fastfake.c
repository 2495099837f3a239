/* k8s_fastfake.c - a fast stand-in for a Kubernetes API server, for
 * bench/k8s_apply.sh only.
 *
 * tests/fakes/fake_k8s.py validates every object against the OpenAPI,
 * keeps managedFields and speaks TLS, in Python: a few hundred requests per
 * second on one core, too slow to show the driver's fan-out at 5 ms and
 * parallelism 32. This server answers what the k8s driver's apply sends,
 * a fixed latency after it read the request (its own work done inside the
 * latency, the wake-up with 1 ns of timer slack; later only when that work
 * or the machine takes longer), one thread per connection (libmicrohttpd),
 * over plain HTTP (the benchmark's kubeconfig allows it with allowInsecure):
 *
 *   GET   /apis                       an APIGroupList with apps/v1, autoscaling/v2
 *   PATCH <object path>?fieldManager=fedbroker   (application/apply-patch+yaml)
 *                                     stores the object (201 the first time, else 200);
 *                                     a Deployment gets a rolled-out status
 *   GET   <object path>               the stored object, or a 404 Status
 *   DELETE <object path>              removes it (a Success Status), or 404
 *   GET   /__fake/count               {"objects", "deployments", "requests",
 *                                      "unauthorized", "refused", "first_ns",
 *                                      "last_ns", "busy_ns", "inflight_max"}
 *
 * The timeline members say where a run's wall time went: first_ns and
 * last_ns (CLOCK_REALTIME, as `date +%s%N`) are when the first request was
 * read and the last answer queued, busy_ns the sum of every request's time
 * in the server (latency included), inflight_max the most requests held at
 * once. busy_ns / (last_ns - first_ns) is the mean number of requests
 * outstanding during the fan-out, which parallelism P bounds.
 *
 * It checks that each API request carries "Authorization: Bearer ...", and
 * that each PATCH is a server-side apply by fieldManager=fedbroker whose
 * body has the URL's kind and name (else 400/422). The test suite proves
 * the requests are right against the strict fake.
 *
 *   k8s_fastfake --latency-ms 5 --port-file FILE [--log FILE]   (prints "PORT n")
 *
 * --log FILE writes a line per API request, "START_NS END_NS METHOD URL"
 * (the timeline's clock), when the server stops.
 */
#include "config.h"
#include "fastfake.h"

#include <jansson.h>
#include <microhttpd.h>
#include <errno.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned latency_ms;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *objects; /* path -> object */
static unsigned long n_requests, n_unauthorized, n_refused, n_deployments;
static long long first_ns, last_ns, busy_ns; /* the timeline, under mu */
static unsigned inflight, inflight_max;
static FILE *log_file; /* --log: one line per request, under mu */

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sleeps until CLOCK_MONOTONIC reads due (at once when it has passed). */
static void nap_until(long long due)
{
    struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
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

/* A Status answer, as kube-apiserver sends one. */
static enum MHD_Result status(struct MHD_Connection *c, unsigned code, const char *reason, const char *msg)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"kind\": \"Status\", \"apiVersion\": \"v1\", \"metadata\": {}, \"status\": "
             "\"%s\", \"message\": \"%s\", \"reason\": \"%s\", \"code\": %u}", code < 300 ? "Success" : "Failure",
             msg, reason, code);
    return answer(c, code, text);
}

static enum MHD_Result answer_json(struct MHD_Connection *c, unsigned code, json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT);
    enum MHD_Result r = answer(c, code, t ? t : "{}");
    free(t);
    return r;
}

static const char *last_segment(const char *url)
{
    const char *s = strrchr(url, '/');
    return s ? s + 1 : url;
}

/* One API request whose body is complete. */
static enum MHD_Result serve(struct MHD_Connection *c, const char *url, const char *method, const ff_body *b)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&mu);
    n_requests++;
    int authorized = auth && !strncmp(auth, "Bearer ", 7) && auth[7];
    if (!authorized) n_unauthorized++;
    pthread_mutex_unlock(&mu);
    if (!authorized) return status(c, 401, "Unauthorized", "Unauthorized");
    if (!strcmp(method, "GET") && !strcmp(url, "/apis"))
        return answer(c, 200, "{\"kind\": \"APIGroupList\", \"apiVersion\": \"v1\", \"groups\": ["
                              "{\"name\": \"apps\", \"versions\": [{\"groupVersion\": \"apps/v1\", \"version\": \"v1\"}]},"
                              "{\"name\": \"autoscaling\", \"versions\": [{\"groupVersion\": \"autoscaling/v2\", "
                              "\"version\": \"v2\"}]}]}");
    if (!strcmp(method, "GET")) {
        pthread_mutex_lock(&mu);
        json_t *o = json_incref(json_object_get(objects, url));
        pthread_mutex_unlock(&mu);
        if (!o) return status(c, 404, "NotFound", "not found");
        enum MHD_Result r = answer_json(c, 200, o);
        json_decref(o);
        return r;
    }
    if (!strcmp(method, "DELETE")) {
        pthread_mutex_lock(&mu);
        int gone = json_object_del(objects, url) == 0;
        pthread_mutex_unlock(&mu);
        return gone ? status(c, 200, "", "deleted") : status(c, 404, "NotFound", "not found");
    }
    if (!strcmp(method, "PATCH")) {
        const char *fm = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fieldManager");
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        json_t *j = b->data ? json_loads(b->data, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(json_object_get(j, "metadata"), "name"));
        const char *kind = json_string_value(json_object_get(j, "kind"));
        int ok = fm && !strcmp(fm, "fedbroker") && ct && !strcmp(ct, "application/apply-patch+yaml") && name &&
                 kind && !strcmp(name, last_segment(url));
        if (!ok) {
            pthread_mutex_lock(&mu);
            n_refused++;
            pthread_mutex_unlock(&mu);
            json_decref(j);
            return status(c, 422, "Invalid", "a server-side apply by fieldManager=fedbroker of the URL's object");
        }
        json_object_set_new(json_object_get(j, "metadata"), "generation", json_integer(1));
        if (!strcmp(kind, "Deployment")) {
            json_int_t rep = json_integer_value(json_object_get(json_object_get(j, "spec"), "replicas"));
            if (rep < 1) rep = 1;
            json_object_set_new(j, "status", json_pack("{s:I,s:I,s:I,s:I,s:I,s:[{s:s,s:s},{s:s,s:s,s:s}]}",
                                                       "observedGeneration", (json_int_t)1, "replicas", rep,
                                                       "updatedReplicas", rep, "readyReplicas", rep,
                                                       "availableReplicas", rep, "conditions", "type", "Available",
                                                       "status", "True", "type", "Progressing", "status", "True",
                                                       "reason", "NewReplicaSetAvailable"));
        }
        pthread_mutex_lock(&mu);
        int created = json_object_get(objects, url) == NULL;
        if (created && !strcmp(kind, "Deployment")) n_deployments++;
        json_object_set(objects, url, j);
        pthread_mutex_unlock(&mu);
        enum MHD_Result r = answer_json(c, created ? 201 : 200, j);
        json_decref(j);
        return r;
    }
    return status(c, 405, "MethodNotAllowed", "not faked");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    if (ff_upload(state, upload, upload_size)) return MHD_YES;
    if (!strcmp(url, "/__fake/count")) {
        char text[512];
        pthread_mutex_lock(&mu);
        snprintf(text, sizeof text, "{\"objects\": %zu, \"deployments\": %lu, \"requests\": %lu, "
                 "\"unauthorized\": %lu, \"refused\": %lu, \"first_ns\": %lld, \"last_ns\": %lld, "
                 "\"busy_ns\": %lld, \"inflight_max\": %u}", json_object_size(objects), n_deployments, n_requests,
                 n_unauthorized, n_refused, first_ns, last_ns, busy_ns, inflight_max);
        pthread_mutex_unlock(&mu);
        return answer(c, 200, text);
    }
    long long t0 = now_ns(), due = mono_ns() + (long long)latency_ms * 1000000LL;
    pthread_mutex_lock(&mu);
    if (!first_ns || t0 < first_ns) first_ns = t0;
    if (++inflight > inflight_max) inflight_max = inflight;
    pthread_mutex_unlock(&mu);
    /* the answer is made inside the latency and sent when it is over (the
     * connection's thread sends the queued answer once this returns): a
     * request takes the latency, not the latency plus the time this fake
     * spends parsing, storing and writing, which a stand-in for a remote
     * server should not add to the client's wait */
    enum MHD_Result r = serve(c, url, method, *state);
    nap_until(due);
    long long t1 = now_ns();
    pthread_mutex_lock(&mu);
    inflight--;
    busy_ns += t1 - t0;
    if (t1 > last_ns) last_ns = t1;
    if (log_file) fprintf(log_file, "%lld %lld %s %s\n", t0, t1, method, url);
    pthread_mutex_unlock(&mu);
    return r;
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--latency-ms") && i + 1 < argc) latency_ms = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc) port_file = argv[++i];
        else if (!strcmp(argv[i], "--log") && i + 1 < argc) {
            if (!(log_file = fopen(argv[++i], "w"))) {
                perror(argv[i]);
                return 1;
            }
        } else {
            fprintf(stderr, "usage: k8s_fastfake [--latency-ms N] [--port-file FILE] [--log FILE]\n");
            return 64;
        }
    }
    objects = json_object();
    /* wake-ups on time (the threads that serve inherit it): the default
     * 50 us slack is 1 % of a 5 ms latency */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    int rc = ff_serve("k8s_fastfake", handler, port_file);
    json_decref(objects);
    if (log_file && fclose(log_file) != 0) rc = 1;
    return rc;
}
