/* catalog_overrides.c - negotiated prices: percentage discounts per
 * provider, per provider+service or per SKU, or a fixed contracted unit
 * price per SKU. The most specific rule wins and is named, so a
 * ContractedCost is as traceable as a ListCost. Commitments (savings plans,
 * CUDs, reserved capacity) are not modelled here. */
#include "config.h"
#include "catalog/catalog_priv.h"

#include <stdlib.h>
#include <string.h>

void fbi_catalog_clear_overrides(fbi_catalog *cat)
{
    for (size_t i = 0; i < cat->noverrides; i++) {
        fbi_override *o = &cat->overrides[i];
        free(o->id);
        free(o->provider);
        free(o->service);
        free(o->sku);
        free(o->note);
    }
    free(cat->overrides);
    cat->overrides = NULL;
    cat->noverrides = 0;
}

size_t fbi_catalog_override_count(const fbi_catalog *cat) { return cat->noverrides; }

static void jerr(fb_diag *d, const char *file, const char *ptr, const char *summary,
                 const char *detail)
{
    fbi_cat_diag_add(d, FB_SEV_ERROR, file, 0, 0, ptr, summary, detail);
}

/* A decimal given as a JSON string or integer (never a float: 0.1 is not
 * exact in binary). 0, or -1 with a diagnostic. */
static int get_decimal(const json_t *v, int frac, int64_t *out, fb_diag *d, const char *file,
                       const char *ptr)
{
    char *err = NULL;
    if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (fbi_cat_decimal_parse(buf, frac, out, &err) == 0) return 0;
    } else if (json_is_string(v)) {
        if (fbi_cat_decimal_parse(json_string_value(v), frac, out, &err) == 0) return 0;
    } else {
        jerr(d, file, ptr, "expected a decimal as a string or an integer",
             json_is_real(v) ? "write fractional numbers as strings (\"12.5\") so they stay exact"
                             : NULL);
        return -1;
    }
    jerr(d, file, ptr, "bad decimal", err);
    free(err);
    return -1;
}

static int provider_has_rows(const fbi_catalog *cat, const char *provider, const char *service)
{
    for (size_t i = 0; i < cat->nprices; i++)
        if (strcmp(cat->prices[i].provider, provider) == 0 &&
            (!service || strcmp(cat->prices[i].service, service) == 0))
            return 1;
    return 0;
}

fb_status fbi_catalog_load_overrides_text(fbi_catalog *cat, const char *text, const char *name,
                                          fb_diag *diag)
{
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    fb_diag *d = fb_diag_new();
    fbi_override *rules = NULL;
    size_t nrules = 0;
    if (!root) {
        fb_diag_add(d, FB_SEV_ERROR, name, je.line, je.column, NULL, "invalid JSON", je.text);
        goto done;
    }
    if (!json_is_object(root)) {
        jerr(d, name, "", "the overrides file is a JSON object", "{\"version\": 1, \"rules\": [...]}");
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "version") && strcmp(key, "rules") && strcmp(key, "currency") &&
            strcmp(key, "description")) {
            char *p = fbi_xasprintf("/%s", key);
            jerr(d, name, p, "unknown member", "known: version, currency, description, rules");
            free(p);
        }
    }
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        jerr(d, name, "/version", "version must be 1", NULL);
    json_t *cur = json_object_get(root, "currency");
    if (cur && (!json_is_string(cur) || strcmp(json_string_value(cur), "USD") != 0))
        jerr(d, name, "/currency", "only USD is supported", NULL);
    json_t *arr = json_object_get(root, "rules");
    if (!json_is_array(arr)) {
        jerr(d, name, "/rules", "rules must be an array", NULL);
        goto done;
    }
    rules = fbi_xcalloc(json_array_size(arr) + 1, sizeof *rules);
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "/rules/%zu", i);
        if (!json_is_object(r)) {
            jerr(d, name, ptr, "a rule is an object", NULL);
            continue;
        }
        fbi_override o;
        memset(&o, 0, sizeof o);
        int ok = 1;
        json_object_foreach(r, key, val) {
            static const char *const known[] = {"id", "provider", "service", "sku",
                                                "discount_pct", "unit_price_usd", "note", NULL};
            int k = 0;
            for (const char *const *kn = known; *kn; kn++)
                if (strcmp(*kn, key) == 0) k = 1;
            char p[128];
            snprintf(p, sizeof p, "%s/%s", ptr, key);
            if (!k) {
                jerr(d, name, p, "unknown member",
                     "known: id, provider, service, sku, discount_pct, unit_price_usd, note");
                ok = 0;
            } else if (strcmp(key, "discount_pct") && strcmp(key, "unit_price_usd") &&
                       (!json_is_string(val) || !*json_string_value(val))) {
                jerr(d, name, p, "expected a non-empty string", NULL);
                ok = 0;
            }
        }
        if (!ok) continue;
#define STR(k) (json_string_value(json_object_get(r, k)))
        if (!STR("id")) {
            char p[128];
            snprintf(p, sizeof p, "%s/id", ptr);
            jerr(d, name, p, "missing id", "every rule has an id so reports can name it");
            continue;
        }
        json_t *pct = json_object_get(r, "discount_pct"), *price = json_object_get(r, "unit_price_usd");
        if (!!pct == !!price) {
            jerr(d, name, ptr, "give exactly one of discount_pct and unit_price_usd", NULL);
            continue;
        }
        char p2[128];
        if (pct) {
            snprintf(p2, sizeof p2, "%s/discount_pct", ptr);
            if (get_decimal(pct, 6, &o.pct_micro, d, name, p2) != 0) continue;
            if (o.pct_micro <= 0 || o.pct_micro > 100 * FBI_PCT_ONE) {
                jerr(d, name, p2, "discount_pct must be above 0 and at most 100", NULL);
                continue;
            }
            o.has_pct = 1;
        } else {
            snprintf(p2, sizeof p2, "%s/unit_price_usd", ptr);
            if (get_decimal(price, 12, &o.unit_price, d, name, p2) != 0) continue;
            o.has_price = 1;
        }
        const char *sku = STR("sku"), *prov = STR("provider"), *svc = STR("service");
        if (sku) {
            const fbi_price_row *row = fbi_catalog_price_by_sku(cat, sku);
            snprintf(p2, sizeof p2, "%s/sku", ptr);
            if (!row) {
                jerr(d, name, p2, "dangling sku: no price row has it",
                     "see `fedbroker catalog show --format csv` for the sku column");
                continue;
            }
            if ((prov && strcmp(prov, row->provider)) || (svc && strcmp(svc, row->service))) {
                jerr(d, name, ptr, "provider/service disagree with the sku's row", NULL);
                continue;
            }
            o.specificity = 3;
        } else if (prov) {
            if (o.has_price) {
                jerr(d, name, ptr, "a fixed unit_price_usd needs a sku",
                     "a contracted unit price is for one price row; use discount_pct for a "
                     "provider or service");
                continue;
            }
            if (!provider_has_rows(cat, prov, svc)) {
                jerr(d, name, ptr, svc ? "no price rows for this provider and service"
                                       : "no price rows for this provider", NULL);
                continue;
            }
            o.specificity = svc ? 2 : 1;
        } else {
            jerr(d, name, ptr, "a rule names a sku or a provider (and optionally a service)",
                 NULL);
            continue;
        }
        int dup = 0;
        for (size_t k = 0; k < nrules; k++) {
            const fbi_override *q = &rules[k];
            if (strcmp(q->id, STR("id")) == 0) {
                char p[128];
                snprintf(p, sizeof p, "%s/id", ptr);
                jerr(d, name, p, "duplicate rule id", q->id);
                dup = 1;
            } else if (q->specificity == o.specificity &&
                       (sku ? strcmp(q->sku, sku) == 0
                            : strcmp(q->provider, prov) == 0 &&
                                  (!svc || strcmp(q->service, svc) == 0))) {
                char *s = fbi_xasprintf("rule '%s' matches the same rows at the same level", q->id);
                jerr(d, name, ptr, "duplicate rule: two rules would compete", s);
                free(s);
                dup = 1;
            }
        }
        if (dup) continue;
        o.id = fbi_xstrdup(STR("id"));
        o.sku = sku ? fbi_xstrdup(sku) : NULL;
        o.provider = prov ? fbi_xstrdup(prov) : NULL;
        o.service = svc ? fbi_xstrdup(svc) : NULL;
        o.note = STR("note") ? fbi_xstrdup(STR("note")) : NULL;
#undef STR
        rules[nrules++] = o;
    }
done:
    json_decref(root);
    fb_status st = fb_diag_errors(d) ? FB_INVALID : FB_OK;
    fb_diag_move(diag, d);
    fb_diag_free(d);
    if (st != FB_OK) {
        fbi_catalog tmp;
        memset(&tmp, 0, sizeof tmp);
        tmp.overrides = rules;
        tmp.noverrides = nrules;
        fbi_catalog_clear_overrides(&tmp);
        return st;
    }
    fbi_catalog_clear_overrides(cat);
    cat->overrides = rules;
    cat->noverrides = nrules;
    return FB_OK;
}

fb_status fbi_catalog_load_overrides(fbi_catalog *cat, const char *path, fb_diag *diag)
{
    char *err = NULL;
    size_t len;
    char *text = fbi_read_file(path, 16u * 1024u * 1024u, &len, &err);
    if (!text) {
        fb_diag_add(diag, FB_SEV_ERROR, path, 0, 0, NULL, "cannot read overrides file", err);
        free(err);
        return FB_INVALID;
    }
    fb_status st = fbi_catalog_load_overrides_text(cat, text, path, diag);
    free(text);
    return st;
}

fbi_pusd fbi_catalog_contracted_price(const fbi_catalog *cat, const fbi_price_row *row,
                                      const char **rule_id)
{
    const fbi_override *best = NULL;
    for (size_t i = 0; i < cat->noverrides; i++) {
        const fbi_override *o = &cat->overrides[i];
        int match = o->specificity == 3
                        ? strcmp(o->sku, row->sku) == 0
                        : strcmp(o->provider, row->provider) == 0 &&
                              (o->specificity == 1 || strcmp(o->service, row->service) == 0);
        if (match && (!best || o->specificity > best->specificity)) best = o;
    }
    if (rule_id) *rule_id = best ? best->id : NULL;
    if (!best) return row->usd_per_unit;
    return best->has_price ? best->unit_price : fbi_apply_discount(row->usd_per_unit, best->pct_micro);
}
