/* gateway.h - the overflow gateway of a hybrid workload rendered for a
 * gateway users already run (`simulate --gateway-config nginx`). */
#ifndef FB_CLI_GATEWAY_H
#define FB_CLI_GATEWAY_H

#include <jansson.h>

/* Prints the configuration of kind ("nginx") for the hybrid workload norm
 * (borrowed): the container endpoints (HOST:PORT, NULL-terminated) at most
 * scaling.targetConcurrency requests each, the function URL for the
 * overflow (http: a backup server; https: error_page, its certificate
 * verified against function_ca or, when NULL, the system's CA bundle),
 * listening on listen (NULL: 127.0.0.1:8080). Returns an exit code; bad
 * input is explained on stderr and nothing is printed. */
int fbc_gateway_render(const char *kind, const json_t *norm, const char **endpoints,
                       const char *function_url, const char *function_ca, const char *listen);

#endif
