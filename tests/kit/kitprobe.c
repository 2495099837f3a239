/* kitprobe.c - a minimal driver module that links the kit, built like a
 * driver (-fvisibility=hidden) but WITHOUT the export-symbols list, so
 * tests/kit/check_kit_visibility can show that linking the kit adds no
 * exported symbol by itself. */
#include "config.h"
#include "fbk.h"

#include <stdlib.h>

/* Pull the kit's objects in by using them. */
static void *const uses[] = {
    (void *)fbk_sigv4_sign, (void *)fbk_aws_creds_resolve, (void *)fbk_aws_send,
    (void *)fbk_ini_parse,  (void *)fbk_xml_parse,         (void *)fbk_json_out,
    (void *)fbk_diag,       (void *)fbk_aws_error,
};

FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *host, const fb_driver **out,
                                           fb_diag *diag)
{
    (void)host;
    (void)diag;
    *out = NULL;
    return uses[0] ? FB_NOTSUP : FB_INTERNAL;
}
