/* catalog_hash.c - the content hash of the catalog a plan was priced
 * from, so `apply --plan` can refuse a plan whose prices changed since
 * (docs/plan.md). The same files fbi_catalog_open reads, found the same
 * way: the directory (or $FEDBROKER_CATALOG) or the embedded copy, and
 * the overrides file. */
#include "config.h"
#include "catalog/catalog.h"
#include "catalog/catalog_priv.h"
#include "base/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The files a catalog directory holds (catalog.c's list, plus the
 * default overrides file, hashed when present). */
static const char *const hashed[] = {"sources.csv",  "regions.csv", "locations.csv",
                                     "params.csv",   "prices.csv",  "latency_ms.csv",
                                     "startup.csv",  NULL};

/* Appends "name\n<length>\n<bytes>" to b: unambiguous, so two different
 * catalogs cannot concatenate to the same text. */
static void add_part(fbi_buf *b, const char *name, const char *data, size_t len)
{
    char head[64];
    fbi_buf_puts(b, name);
    snprintf(head, sizeof head, "\n%zu\n", len);
    fbi_buf_puts(b, head);
    fbi_buf_append(b, data, len);
}

static int add_file(fbi_buf *b, const char *label, const char *path, int required, char **err)
{
    if (!required && access(path, F_OK) != 0) return 0;
    size_t len = 0;
    char *e = NULL;
    char *data = fbi_read_file(path, (size_t)512 << 20, &len, &e);
    if (!data) {
        *err = fbi_xasprintf("%s: %s", path, e ? e : "cannot read");
        free(e);
        return -1;
    }
    add_part(b, label, data, len);
    free(data);
    return 0;
}

int fbi_catalog_content_hash(const char *dir, const char *overrides, char out[65], char **err)
{
    *err = NULL;
    const char *env = getenv("FEDBROKER_CATALOG");
    if (!dir && env && *env) dir = env;
    fbi_buf b;
    fbi_buf_init(&b);
    int rc = 0;
    if (dir) {
        for (int k = 0; hashed[k] && rc == 0; k++) {
            char *p = fbi_xasprintf("%s/%s", dir, hashed[k]);
            rc = add_file(&b, hashed[k], p,
                          strcmp(hashed[k], "params.csv") != 0 &&
                              strcmp(hashed[k], "startup.csv") != 0,
                          err);
            free(p);
        }
    } else {
        for (const fbi_embedded_file *e = fbi_catalog_embedded; e->name; e++)
            add_part(&b, e->name, (const char *)e->data, e->len);
    }
    const char *envo = getenv("FEDBROKER_CATALOG_OVERRIDES");
    if (!overrides && envo && *envo) overrides = envo;
    char *dflt = NULL;
    if (!overrides && dir) {
        dflt = fbi_xasprintf("%s/overrides.json", dir);
        if (access(dflt, F_OK) == 0) overrides = dflt;
    }
    if (rc == 0 && overrides) rc = add_file(&b, "overrides", overrides, 1, err);
    free(dflt);
    if (rc == 0) fbi_sha256_hex(b.data ? b.data : "", b.len, out);
    fbi_buf_free(&b);
    return rc;
}
