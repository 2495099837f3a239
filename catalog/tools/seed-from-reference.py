#!/usr/bin/python3
"""Seeds catalog/prices.csv and catalog/latency_ms.csv from the reference
tables in /work/shared/reference/catalog (see catalog/SOURCE.md).

Every reference column is copied verbatim and in order; the columns fedbroker
needs are appended:

  sku           stable id, always derived (see catalog/README.md "SKU ids")
  vendor_sku    the provider's own SKU where the source states one, else empty
  currency      ISO 4217 code of usd_per_unit (USD for every seeded row)
  alternate_of  for a row that restates a fact another row already gives
                (same product, another source): the sku of that primary row
  egress_path   for egress rows: which source/destination pairs the row
                prices (grammar in catalog/README.md "Egress paths")
  source_id     (latency only) the L-id of the row's source

The interpretation of variants into egress paths, and the choice of which of
two corroborating rows is primary, are fedbroker's and are listed below so a
reviewer can check them against the reference notes.

Usage: seed-from-reference.py REFDIR OUTDIR
"""
import csv
import re
import sys

ref, out = sys.argv[1], sys.argv[2]


def slug(s):
    s = re.sub(r'[^a-z0-9._+]+', '-', s.lower()).strip('-')
    return s or '-'


def canon(num):
    """Canonical decimal text: no leading zeros, no trailing fractional zeros."""
    if num in ('', 'inf'):
        return num
    if '.' in num:
        i, f = num.split('.', 1)
        f = f.rstrip('0')
    else:
        i, f = num, ''
    i = i.lstrip('0') or '0'
    return i + ('.' + f if f else '')


def derived_sku(r):
    parts = [slug(r[k]) for k in ('provider', 'service', 'region', 'sku_metric', 'variant')]
    if r['pricing_model'] != 'on-demand':
        parts.append(slug(r['pricing_model']))
    if r['tier_start'] != '':
        parts.append('t' + canon(r['tier_start']))
    return '/'.join(parts)


# Which of two rows stating the same product is primary: the newer provider
# price-list extract (S13) over older snapshots; S1i (continent-pair SKUs)
# over S1j (a Cloud Storage subset of the same fact).
PRIMARY_PREFERENCE = ['S13', 'S1i']

GCP_PAIRS = {
    'Northern America to Northern America': 'c:north-america>c:north-america',
    'Europe to Europe': 'c:europe>c:europe',
    'Asia-Pacific to Asia-Pacific': 'c:asia>c:asia',
    'Intercontinental excl. Oceania': '*>c:~',
    'to/from Oceania': 'c:oceania>c:~;c:~>c:oceania',
    'Oceania to Oceania': 'c:oceania>c:oceania',
    'Cloud Storage within Europe': 'c:europe>c:europe',
}


def egress_path(r):
    m, v = r['sku_metric'], r['variant']
    if m in ('egress_inter_az', 'egress_inter_zone'):
        return 'self>self'
    if m == 'egress_inter_region':
        if r['provider'] == 'gcp':
            return GCP_PAIRS[v]
        mm = re.match(r'^to ((?:[a-z0-9-]+/)*[a-z0-9-]+)$', v)
        if v.startswith('to any other') or v == 'opencost default.json':
            return 'self>*'
        if mm:
            return 'self>' + '|'.join('r:' + x for x in mm.group(1).split('/'))
        raise SystemExit('no egress path rule for %r' % v)
    if m == 'egress_internet':
        if r['region'] == 'most regions':
            dest = {'premium/to Australia': 'j:AU', 'premium/to China': 'j:CN'}[v]
            return '*>' + dest
        return 'self>*'
    return ''


rows = list(csv.DictReader(open(ref + '/prices.csv', newline='')))
cols = list(rows[0].keys())
for r in rows:
    r['sku'] = derived_sku(r)
    m = re.search(r'\bSKU ([A-Z0-9]{8,})', r['notes'])
    r['vendor_sku'] = m.group(1) if m else ''
    r['currency'] = 'USD'
    r['alternate_of'] = ''
    r['egress_path'] = egress_path(r)

# Corroborating rows: same derived key (same product, two sources), and the
# S1j/S1i pair that prices the same path under another variant name.
by_key = {}
for r in rows:
    by_key.setdefault(r['sku'], []).append(r)


def rank(r):
    return PRIMARY_PREFERENCE.index(r['source']) if r['source'] in PRIMARY_PREFERENCE else 99


for key, group in by_key.items():
    if len(group) < 2:
        continue
    group.sort(key=rank)
    prim = group[0]
    for alt in group[1:]:
        if alt['source'] == prim['source']:
            raise SystemExit('duplicate rows from one source: %s' % key)
        alt['alternate_of'] = prim['sku']
        alt['sku'] = key + '~' + alt['source'].replace(';', '+')
        print('alternate: %s (%s) restates %s (%s)' % (alt['sku'], alt['source'], prim['sku'], prim['source']),
              file=sys.stderr)
s1i = [r for r in rows if r['source'] == 'S1i' and r['variant'] == 'Europe to Europe'][0]
for r in rows:
    if r['source'] == 'S1j' and r['variant'] == 'Cloud Storage within Europe':
        r['alternate_of'] = s1i['sku']
        r['sku'] = r['sku'] + '~S1j'
        print('alternate: %s restates %s' % (r['sku'], s1i['sku']), file=sys.stderr)

extra = ['sku', 'vendor_sku', 'currency', 'alternate_of', 'egress_path']
with open(out + '/prices.csv', 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=cols + extra, lineterminator='\n')
    w.writeheader()
    for r in rows:
        w.writerow(r)

lat = list(csv.DictReader(open(ref + '/latency_ms.csv', newline='')))
lcols = list(lat[0].keys())
with open(out + '/latency_ms.csv', 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=lcols + ['source_id'], lineterminator='\n')
    w.writeheader()
    for r in lat:
        m = re.search(r'\bvia (L\d+)$', r['source'])
        if not m:
            raise SystemExit('latency row without an L source: %r' % r)
        r['source_id'] = m.group(1)
        w.writerow(r)
print('prices: %d rows, latency: %d rows' % (len(rows), len(lat)), file=sys.stderr)
