/* fault_server.h - a fault-injecting HTTP(S) server on 127.0.0.1 (GNU
 * libmicrohttpd, one thread per connection) for the HTTP service's tests
 * and benchmark.
 *
 * The path chooses the behaviour: /k/KEY/A1,A2,...,An[/anything]
 * Attempt i of KEY (counted by the server) gets action Ai (the last one
 * repeats). Actions:
 *   ok            200, JSON echo {method, path, headers, body, attempt}
 *   NNN           status NNN with {"__type": "InternalFailure"} (e.g. 500, 404)
 *   429           429 with {"__type": "ThrottlingException"}
 *   throttle      400, awsJson {"__type": "com.amazon.coral.availability#ThrottlingException"}
 *   hdrthrottle   400, X-Amzn-ErrorType: TooManyRequestsException:http://...
 *   xmlthrottle   400, Query-protocol XML <Code>Throttling</Code>
 *   invalid       400, {"__type": "ValidationException"} (not retryable)
 *   503raN        503 with Retry-After: N (seconds)
 *   503dateN      503 with Retry-After: an HTTP-date N seconds ahead
 *   reset         close the connection without answering
 *   delayN        wait N ms, then as ok
 *   bigN          200 with an N-byte body and Content-Length
 *   chunkN        200 with an N-byte chunked body (no Content-Length)
 * Any other path answers as ok. A latency set at start is added to every
 * request (the benchmark's injected latency). */
#ifndef FB_FAULT_SERVER_H
#define FB_FAULT_SERVER_H

#include <stddef.h>

typedef struct fts fts;

/* Starts a server on an ephemeral loopback port; cert_pem/key_pem non-NULL
 * for HTTPS (copied). latency_ms is added to every request. NULL with
 * *err (new) on failure. */
fts *fts_start(const char *cert_pem, const char *key_pem, unsigned latency_ms, char **err);
void fts_stop(fts *s);
unsigned short fts_port(const fts *s);
/* Requests seen for a key (0 when never seen). */
unsigned fts_attempts(fts *s, const char *key);
/* Requests seen in total, TCP connections accepted, most requests being
 * handled at once. */
unsigned fts_total(fts *s);
unsigned fts_connections(fts *s);
unsigned fts_max_inflight(fts *s);
/* Arrival times (monotonic ms) of the first max requests; returns how many
 * were copied. */
size_t fts_arrivals(fts *s, double *out, size_t max);

/* A self-signed certificate (EC P-256, CA:TRUE) for 127.0.0.1 and
 * localhost, valid for a day: PEM texts, new. 0, or -1 with *err (new). */
int fts_make_cert(char **cert_pem, char **key_pem, char **err);

#endif
