/* broker.c - opening and closing the broker: its configuration (config.c)
 * and the registry of drivers it loads. The offers are in offers.c, the
 * deploy life cycle in lifecycle.c. */
#include "config.h"
#include "broker/broker.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

fb_status fbi_broker_open(fbi_broker *b, fb_diag *diag)
{
    memset(b, 0, sizeof *b);
    b->config = fbi_config_load(&b->config_src, diag);
    if (!b->config) return FB_INVALID;
    fb_diag *load = fb_diag_new();
    fb_registry_open(NULL, &b->reg, load);
    /* A refused driver is not fatal for the others: report it as a warning. */
    for (size_t i = 0; i < fb_diag_count(load); i++)
        fb_diag_add(diag, FB_SEV_WARNING, fb_diag_file(load, i), 0, 0, NULL,
                    fb_diag_summary(load, i), fb_diag_detail(load, i));
    fb_diag_free(load);
    char *text = fbi_json_canonical(b->config);
    fb_registry_set_config(b->reg, text);
    free(text);
    return fbi_config_configure_drivers(b->reg, b->config, &b->config_src, diag);
}

void fbi_broker_close(fbi_broker *b)
{
    fb_registry_free(b->reg);
    json_decref(b->config);
    fbi_config_src_free(&b->config_src);
    json_decref(b->offers);
    memset(b, 0, sizeof *b);
}

