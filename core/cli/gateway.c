/* gateway.c - nginx configuration for the spill from containers to a
 * function (docs/simulation.md, "The overflow gateway"). Each container
 * replica takes at most targetConcurrency requests at a time (max_conns, in
 * a shared zone so the limit holds across workers); nginx passes a request
 * to a backup server only when no primary server can take it, so the
 * function gets exactly the overflow; an https function is reached through
 * error_page instead (a backup shares its upstream's scheme). */
#include "config.h"
#include "cli/cli.h"
#include "cli/gateway.h"
#include "base/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* host:port with a name or IPv4 address and a port 1..65535; 1 when good. */
static int host_port_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strlen(s) > 255) return 0;
    for (const char *p = s; p < colon; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-')) return 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == 0 && colon[1] && port >= 1 && port <= 65535;
}

/* A name for nginx (upstream, zone): the tenant and name with '-' as '_'. */
static char *nginx_name(const json_t *norm)
{
    const json_t *md = json_object_get(norm, "metadata");
    char *s = fbi_xasprintf("fedbroker_%s_%s", json_string_value(json_object_get(md, "tenant")),
                            json_string_value(json_object_get(md, "name")));
    for (char *p = s; *p; p++)
        if (*p == '-') *p = '_';
    return s;
}

int fbc_gateway_render(const char *kind, const json_t *norm, const char **endpoints,
                       const char *function_url, const char *function_ca, const char *listen)
{
    if (strcmp(kind, "nginx") != 0) {
        fprintf(stderr, "fedbroker simulate: --gateway-config knows nginx only, not '%s' (the "
                        "Envoy equivalent is described in docs/simulation.md)\n", kind);
        return FB_EXIT_USAGE;
    }
    if (!endpoints || !endpoints[0] || !function_url) {
        fprintf(stderr, "fedbroker simulate: --gateway-config nginx needs --container-endpoint "
                        "HOST:PORT (one per replica) and --function-url URL\n");
        return FB_EXIT_USAGE;
    }
    for (size_t i = 0; endpoints[i]; i++)
        if (!host_port_ok(endpoints[i])) {
            fprintf(stderr, "fedbroker simulate: --container-endpoint '%.200s' is not HOST:PORT\n",
                    endpoints[i]);
            return FB_EXIT_INVALID;
        }
    if (!listen) listen = "127.0.0.1:8080";
    if (!host_port_ok(listen)) {
        fprintf(stderr, "fedbroker simulate: --listen '%.200s' is not ADDR:PORT\n", listen);
        return FB_EXIT_INVALID;
    }
    /* http://HOST:PORT[/]: a backup server of the same upstream. An https
     * function (Lambda or Cloud Run URLs) cannot share an upstream with
     * plain-http containers: nginx answers 502 itself when every container
     * is at max_conns, and error_page sends that request to the function,
     * its certificate verified. */
    int tls = !strncmp(function_url, "https://", 8);
    const char *rest = tls ? function_url + 8 : !strncmp(function_url, "http://", 7) ? function_url + 7 : NULL;
    size_t hl = rest ? strcspn(rest, "/") : 0;
    char fhost[260], fname[260];
    if (!rest || hl == 0 || hl >= sizeof fhost - 6 || (rest[hl] && strcmp(rest + hl, "/") != 0)) {
        fprintf(stderr, "fedbroker simulate: --function-url '%.200s' must be http(s)://HOST[:PORT]/ "
                        "with no path: the overflow is sent to the function's root\n", function_url);
        return FB_EXIT_INVALID;
    }
    memcpy(fhost, rest, hl);
    fhost[hl] = 0;
    memcpy(fname, rest, hl);
    fname[strcspn(fname, ":")] = 0; /* the name for SNI, Host and the certificate */
    if (!strchr(fhost, ':')) strcat(fhost, tls ? ":443" : ":80");
    if (!host_port_ok(fhost)) {
        fprintf(stderr, "fedbroker simulate: --function-url host '%.200s' is not HOST[:PORT]\n", fhost);
        return FB_EXIT_INVALID;
    }
    if (function_ca && (!tls || strpbrk(function_ca, " ;{}\"'\n") || function_ca[0] != '/')) {
        fprintf(stderr, "fedbroker simulate: --function-ca needs an https --function-url and an "
                        "absolute path without spaces, quotes, ';' or braces\n");
        return FB_EXIT_INVALID;
    }
    const json_t *sp = json_object_get(norm, "spec");
    json_int_t conc = json_integer_value(json_object_get(json_object_get(sp, "scaling"),
                                                         "targetConcurrency"));
    json_int_t timeout_ms = json_integer_value(json_object_get(sp, "timeoutMs"));
    long long tmo = (long long)((timeout_ms + 999) / 1000);
    const json_t *md = json_object_get(norm, "metadata");
    char *name = nginx_name(norm);
    printf("# fedbroker hybrid gateway for %s/%s (docs/simulation.md): include in the http "
           "context.\n", json_string_value(json_object_get(md, "tenant")),
           json_string_value(json_object_get(md, "name")));
    printf("# Each container replica takes at most targetConcurrency = %lld requests at a time\n"
           "# (max_conns; the zone makes the limit hold across worker processes).\n",
           (long long)conc);
    if (tls)
        printf("# When every container is at its limit or down nginx answers 502 itself, and\n"
               "# error_page passes the request to the function over TLS: the function serves\n"
               "# exactly the overflow.\n");
    else
        printf("# nginx passes a request to the backup server (the function) only when every\n"
               "# container is at its limit or down: the function serves exactly the overflow.\n");
    printf("upstream %s {\n    zone %s 64k;\n", name, name);
    for (size_t i = 0; endpoints[i]; i++)
        printf("    server %s max_conns=%lld;\n", endpoints[i], (long long)conc);
    if (!tls) printf("    server %s backup; # the function: %s\n", fhost, function_url);
    printf("}\n");
    if (tls) printf("upstream %s_function {\n    server %s;\n    keepalive 32;\n}\n", name, fhost);
    printf("server {\n    listen %s;\n    location / {\n        proxy_pass http://%s;\n"
           "        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n"
           "        proxy_read_timeout %llds;\n"
           "        # a container that fails before answering: try the next server\n"
           "        proxy_next_upstream error timeout;\n", listen, name, tmo);
    /* The function's connections are kept open (keepalive): a burst would
     * otherwise pay one TLS handshake per overflow request, on the path of
     * exactly the requests that arrive when the gateway is busiest. The
     * containers' upstream keeps none: idle kept connections would count
     * beside max_conns across workers (nginx's documentation says so). */
    if (tls)
        printf("        error_page 502 = @function;\n    }\n"
               "    location @function { # the function: %s\n"
               "        proxy_pass https://%s_function;\n        proxy_set_header Host %s;\n"
               "        proxy_http_version 1.1;\n        proxy_set_header Connection \"\";\n"
               "        proxy_ssl_server_name on;\n        proxy_ssl_name %s;\n"
               "        proxy_ssl_verify on;\n        proxy_ssl_trusted_certificate %s;\n"
               "        proxy_read_timeout %llds;\n    }\n}\n",
               function_url, name, fname, fname,
               function_ca ? function_ca : "/etc/ssl/certs/ca-certificates.crt", tmo);
    else
        printf("    }\n}\n");
    free(name);
    return FB_EXIT_OK;
}
