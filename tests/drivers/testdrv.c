/* testdrv.c - a minimal driver compiled several ways (one -D per variant) so
 * the registry tests and the conformance kit see each way a driver can be
 * wrong: wrong ABI major, newer minor, no entry point, extra exports, caps
 * that disagree with the slots. Without any -D it is a correct driver. */
#include <stdlib.h>
#include <string.h>
#include <fedbroker/driver.h>

#ifndef TESTDRV_NAME
#define TESTDRV_NAME "testdrv"
#endif

static const fb_host *host;

struct fb_driver_ctx { int unused; };

static fb_status t_configure(const fb_host *h, const char *cfg, fb_driver_ctx **out, fb_diag *diag)
{
    (void)h; (void)cfg; (void)diag;
    *out = calloc(1, sizeof **out);
    return FB_OK;
}

static void t_teardown(fb_driver_ctx *ctx) { free(ctx); }

static fb_driver drv = {
#ifdef TESTDRV_WRONG_MAJOR
    .abi_major = FB_ABI_MAJOR + 1,
#else
    .abi_major = FB_ABI_MAJOR,
#endif
#ifdef TESTDRV_NEWER_MINOR
    .abi_minor = FB_ABI_MINOR + 7,
#else
    .abi_minor = FB_ABI_MINOR,
#endif
    .struct_size = sizeof(fb_driver),
    .name = TESTDRV_NAME,
    .version = "0.0.1",
#ifdef TESTDRV_BAD_CAPS
    .caps = FB_CAP_RENDER, /* claims render without a render slot */
#else
    .caps = 0,
#endif
    .summary = "test driver",
    .configure = t_configure,
    .teardown = t_teardown,
};

#ifdef TESTDRV_EXTRA_EXPORT
FB_DRIVER_EXPORT int testdrv_helper(void);
FB_DRIVER_EXPORT int testdrv_helper(void) { return 42; }
#endif

#ifdef TESTDRV_NO_ENTRY
FB_DRIVER_EXPORT fb_status fb_driver_start(const fb_host *h, const fb_driver **out, fb_diag *diag);
FB_DRIVER_EXPORT fb_status fb_driver_start(const fb_host *h, const fb_driver **out, fb_diag *diag)
#else
FB_DRIVER_EXPORT fb_status fb_driver_entry(const fb_host *h, const fb_driver **out, fb_diag *diag)
#endif
{
    (void)diag;
    host = h;
    *out = &drv;
    return FB_OK;
}
