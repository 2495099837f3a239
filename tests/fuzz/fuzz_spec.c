/* fuzz_spec.c - libFuzzer harness for the portable-spec reader: every input
 * is read as JSON and as YAML through fb_spec_set_add_buffer, then the set
 * is finished and its JSON views are built. Nothing may crash, leak or hit
 * undefined behaviour, whatever the bytes. Build and run with
 * tests/fuzz/build.sh (not part of `make check`). */
#include "config.h"
#include "spec/spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *name, const uint8_t *data, size_t size, const char *base)
{
    fb_spec_set *s = NULL;
    fb_spec_set_new(&s);
    fb_diag *d = fb_diag_new();
    fb_spec_set_add_buffer(s, name, (const char *)data, size, base, d);
    fb_spec_set_finish(s, d);
    fb_spec_links_json(s);
    fb_spec_federations_json(s);
    for (size_t i = 0; i < fb_spec_count(s); i++) {
        const char *j = fb_spec_json(s, i);
        if (!j || !fb_spec_kind(s, i) || !fb_spec_name(s, i) || !fb_spec_tenant(s, i) ||
            !fb_spec_hash(s, i) || strlen(fb_spec_hash(s, i)) != 64)
            abort(); /* a valid workload always has all of these */
    }
    /* every error carries a summary; printing must not crash */
    for (size_t i = 0; i < fb_diag_count(d); i++)
        if (!fb_diag_summary(d, i)) abort();
    char *txt = fb_diag_to_json(d);
    free(txt);
    fb_diag_free(d);
    fb_spec_set_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* FUZZ_SPEC_BASE lets file references resolve (against a fixed,
     * harmless directory); by default they are refused. */
    const char *base = getenv("FUZZ_SPEC_BASE");
    one("fuzz.json", data, size, base);
    one("fuzz.yaml", data, size, base);
    return 0;
}
