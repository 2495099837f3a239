/* host.h - what the rest of core tells the driver host table (host.c)
 * beyond the per-call context: the credentials the broker was configured
 * with. Internal to core (prefix fbi_). */
#ifndef FB_HOST_H
#define FB_HOST_H

/* Takes the configuration's "credentials" section from config_json (the
 * whole broker configuration, borrowed; NULL or no section = none):
 * {"DRIVER": {"KEY": {"env": "VAR"} | {"file": "/abs/path"}}}. host->
 * credential answers a driver's KEY from it for the calls attributed to
 * that driver. The values are read when asked for, never kept. The last
 * call wins (one configuration per process). Thread-safe. */
void fbi_host_set_credentials(const char *config_json);

#endif
