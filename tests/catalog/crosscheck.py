#!/usr/bin/python3
"""Cross-checks fedbroker's embedded catalog against the reference data.

1. Every row of the reference prices.csv appears in `fedbroker catalog show
   --format json` with the same price (compared as decimal.Decimal), unit,
   tiers, pricing model, source, as_of, confidence and notes.
2. Every row of the reference latency_ms.csv appears in `catalog show
   --table latency` with the same RTT and source.
3. Every region the reference names is in `catalog show --table regions`.
4. Money: `catalog price ... --quantity Q` costs every product, tier by tier,
   exactly as Python's decimal module does with ROUND_HALF_UP to micro-USD.
5. `catalog diff` between the catalog and a copy mutated here reports
   exactly the mutations, with percentages computed by decimal.
"""
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal, ROUND_HALF_UP

fedbroker, top_srcdir, ref = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def fail(msg):
    failures.append(msg)


def run(*args):
    p = subprocess.run([fedbroker] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit('fedbroker %s failed (%d): %s' % (' '.join(args), p.returncode, p.stderr))
    return p.stdout


def show(table):
    return json.loads(run('catalog', 'show', '--table', table, '--format', 'json'))['rows']


def dec(s):
    return Decimal(s) if s not in ('', 'inf') else s


# ---- 1. prices -------------------------------------------------------------------
ref_prices = list(csv.DictReader(open(os.path.join(ref, 'prices.csv'), newline='')))
rows = show('prices')
KEY = ('provider', 'service', 'region', 'sku_metric', 'variant', 'pricing_model', 'tier_start', 'source')
index = {}
for r in rows:
    k = tuple(r[c] for c in KEY)
    if k in index:
        fail('catalog has two rows for %r' % (k,))
    index[k] = r
for n, r in enumerate(ref_prices, start=2):
    k = tuple(r[c] for c in KEY)
    c = index.get(k)
    if c is None:
        fail('reference prices.csv line %d missing from the catalog: %r' % (n, k))
        continue
    if Decimal(c['usd_per_unit']) != Decimal(r['usd_per_unit']):
        fail('line %d: price %s in the catalog, %s in the reference' % (n, c['usd_per_unit'], r['usd_per_unit']))
    for col in ('unit', 'as_of', 'confidence', 'notes'):
        if c[col] != r[col]:
            fail('line %d: %s %r in the catalog, %r in the reference' % (n, col, c[col], r[col]))
    if dec(c['tier_end']) != dec(r['tier_end']) or dec(c['tier_start']) != dec(r['tier_start']):
        fail('line %d: tiers differ' % n)
    if c['currency'] != 'USD':
        fail('line %d: currency %s' % (n, c['currency']))
print('prices: %d reference rows checked, %d catalog rows' % (len(ref_prices), len(rows)))
extra = len(rows) - len(ref_prices)
if extra:
    print('note: the catalog has %d rows beyond the reference' % extra)

# ---- 2. latency ------------------------------------------------------------------------
ref_lat = list(csv.DictReader(open(os.path.join(ref, 'latency_ms.csv'), newline='')))
lat = {(r['from'], r['to']): r for r in show('latency')}
for n, r in enumerate(ref_lat, start=2):
    c = lat.get((r['from'], r['to']))
    if c is None:
        fail('reference latency_ms.csv line %d missing: %s -> %s' % (n, r['from'], r['to']))
        continue
    if Decimal(c['rtt_ms']) != Decimal(r['rtt_ms']):
        fail('latency line %d: %s vs %s' % (n, c['rtt_ms'], r['rtt_ms']))
    for col in ('statistic', 'source', 'as_of'):
        if c[col] != r[col]:
            fail('latency line %d: %s differs' % (n, col))
    if not r['source'].endswith('via ' + c['source_id']):
        fail('latency line %d: source_id %s does not match %r' % (n, c['source_id'], r['source']))
print('latency: %d reference rows checked' % len(ref_lat))

# ---- 3. regions ------------------------------------------------------------------------
regions = {(r['provider'], r['region']) for r in show('regions')}
named = {(r['provider'], r['region']) for r in ref_prices}
named |= {tuple(x.split(':', 1)) for r in ref_lat for x in (r['from'], r['to'])}
for p in sorted(named - regions):
    fail('region %s:%s is named by the reference but missing from regions.csv' % p)
print('regions: %d named by the reference, all present' % len(named))

# ---- 4. money ----------------------------------------------------------------------------
MICRO = Decimal('0.000001')
groups = {}
alternates = {tuple(c[x] for x in KEY) for c in rows if c['alternate_of']}
for r in ref_prices:
    # historical rows and rows restating another (alternates) are not priced by look-ups
    if r['pricing_model'] == 'historical' or tuple(r[x] for x in KEY) in alternates:
        continue
    k = (r['provider'], r['service'], r['region'], r['sku_metric'], r['variant'], r['pricing_model'])
    groups.setdefault(k, {})[r['tier_start']] = r  # restatements share tier_start and price
rng = random.Random(20240101)
costed = 0
for k, tiers in sorted(groups.items()):
    prov, svc, reg, metric, variant, model = k
    ordered = sorted(tiers.values(), key=lambda r: Decimal(r['tier_start'] or '0'))
    last_end = ordered[-1]['tier_end']
    top = Decimal(ordered[-1]['tier_start'] or '0') * 2 + 1000 if last_end in ('', 'inf') else Decimal(last_end)
    q = (Decimal(rng.randrange(0, int(top * 1000000) + 1)) / 1000000).quantize(MICRO)
    args = ['catalog', 'price', prov, svc, reg, metric, '--variant', variant, '--pricing-model', model,
            '--quantity', str(q), '--format', 'json']
    out = json.loads(run(*args))
    exp_lines = []
    for r in ordered:
        start = Decimal(r['tier_start'] or '0')
        end = None if r['tier_end'] in ('', 'inf') else Decimal(r['tier_end'])
        if q <= start and start > 0:
            break
        part = (q if end is None or q < end else end) - start
        if part <= 0:
            continue
        exp_lines.append((str(part.normalize()) if part else '0',
                          (part * Decimal(r['usd_per_unit'])).quantize(MICRO, rounding=ROUND_HALF_UP)))
    got = [(Decimal(l['quantity']), Decimal(l['usd'])) for l in out.get('lines', [])]
    want = [(Decimal(a), b) for a, b in exp_lines]
    if got != want:
        fail('cost of %s %s: %s, expected %s' % (k, q, got, want))
    elif Decimal(out['total_usd']) != sum((b for _, b in want), Decimal(0)):
        fail('total of %s %s: %s' % (k, q, out['total_usd']))
    costed += 1
print('money: %d products costed, each line equal to decimal ROUND_HALF_UP' % costed)

# ---- 5. diff ------------------------------------------------------------------------------
tmp = tempfile.mkdtemp()
try:
    src = os.path.join(top_srcdir, 'catalog', 'prices.csv')
    cat = list(csv.DictReader(open(src, newline='')))
    cols = list(cat[0].keys())
    primaries = [r for r in cat if not r['alternate_of'] and Decimal(r['usd_per_unit']) > 0]
    rng.shuffle(primaries)
    changed = {}
    for r in primaries[:15]:
        old = Decimal(r['usd_per_unit'])
        factor = Decimal(rng.choice(['0.8', '0.35', '1.1', '1.07', '0.5']))
        new = (old * factor).normalize()
        r['usd_per_unit'] = format(new, 'f')
        pct = ((new - old) * 100 / old).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)
        changed[r['sku']] = ('%+.2f' % pct, format(old.normalize(), 'f'), format(new, 'f'))
    # remove and add untiered rows only: dropping one tier would (rightly) be refused
    untiered = [r for r in primaries[15:] if r['tier_start'] == '']
    removed = {r['sku'] for r in untiered[:5]}
    # rows restating a removed row go with it
    keep = [r for r in cat if r['sku'] not in removed and r['alternate_of'] not in removed]
    removed |= {r['sku'] for r in cat if r['alternate_of'] in removed}
    added = []
    for i in range(3):
        a = dict(untiered[5 + i])
        a['variant'] = a['variant'] + ' (test addition %d)' % i
        a['sku'] = ''
        a['alternate_of'] = ''
        added.append(a)
    with open(os.path.join(tmp, 'prices.csv'), 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator='\n')
        w.writeheader()
        for r in keep + added:
            w.writerow(r)
    out = json.loads(run('catalog', 'diff', src, os.path.join(tmp, 'prices.csv'), '--format', 'json'))
    got_changed = {c['sku']: (c['pct_change'], c['old_usd_per_unit'], c['new_usd_per_unit'])
                   for c in out['changes'] if c['change'] == 'changed'}
    got_removed = {c['sku'] for c in out['changes'] if c['change'] == 'removed'}
    got_added = {c['variant'] for c in out['changes'] if c['change'] == 'added'}
    norm = lambda d: {k: (v[0], str(Decimal(v[1]).normalize()), str(Decimal(v[2]).normalize())) for k, v in d.items()}
    if norm(got_changed) != norm(changed):
        fail('diff changed rows: got %r, expected %r' % (got_changed, changed))
    if got_removed != removed:
        fail('diff removed rows: got %r, expected %r' % (got_removed, removed))
    if got_added != {a['variant'] for a in added}:
        fail('diff added rows: got %r' % got_added)
    s = out['summary']
    if (s['changed'], s['removed'], s['added']) != (len(changed), len(removed), len(added)):
        fail('diff summary %r' % s)
    print('diff: %d changed, %d removed, %d added, as mutated' % (len(changed), len(removed), len(added)))
finally:
    shutil.rmtree(tmp)

# ---- 6. schema -----------------------------------------------------------------------------
try:
    import jsonschema
except ImportError:
    jsonschema = None
if jsonschema is None:
    print('schema: python3-jsonschema not installed; skipped')
else:
    schema = json.load(open(os.path.join(top_srcdir, 'schemas', 'catalog.v1.schema.json')))
    jsonschema.Draft202012Validator.check_schema(schema)

    def validator(name):
        return jsonschema.Draft202012Validator({'$ref': '#/$defs/' + name, '$defs': schema['$defs']})
    nrows = 0
    for fname, d in (('prices.csv', 'price_row'), ('regions.csv', 'region_row'),
                     ('locations.csv', 'location_row'), ('latency_ms.csv', 'latency_row'),
                     ('sources.csv', 'source_row'), ('params.csv', 'param_row'),
                     ('startup.csv', 'startup_row')):
        v = validator(d)
        for n, r in enumerate(csv.DictReader(open(os.path.join(top_srcdir, 'catalog', fname), newline='')), start=2):
            for e in v.iter_errors(r):
                fail('catalog/%s:%d does not match schemas/catalog.v1.schema.json#/$defs/%s: %s'
                     % (fname, n, d, e.message))
            nrows += 1
    ov = validator('overrides')
    for e in ov.iter_errors(json.load(open(os.path.join(top_srcdir, 'catalog', 'overrides.example.json')))):
        fail('overrides.example.json: %s' % e.message)
    for bad in ({'version': 1, 'rules': [{'id': 'a', 'provider': 'aws', 'unit_price_usd': '1'}]},
                {'version': 1, 'rules': [{'id': 'a', 'provider': 'aws', 'discount_pct': 12.5}]},
                {'version': 1, 'rules': [{'id': 'a', 'discount_pct': '5'}]},
                {'version': 2, 'rules': []}):
        if ov.is_valid(bad):
            fail('schema accepts a bad overrides file: %r' % bad)
    # the schema's units are exactly the ones the loader accepts
    units = schema['$defs']['unit']['enum']
    hdr = 'provider,service,region,sku_metric,variant,unit,tier_start,tier_end,usd_per_unit,pricing_model,source,as_of,confidence\n'
    tmpd = tempfile.mkdtemp()
    try:
        for u in units + ['GB-fortnight']:
            pf = os.path.join(tmpd, 'p.csv')
            open(pf, 'w').write(hdr + 'x,y,z,m,,%s,,,1,on-demand,S1,2025-01-01,high\n' % u)
            rc = subprocess.run([fedbroker, 'catalog', 'diff', pf, pf], capture_output=True).returncode
            if (rc == 0) != (u != 'GB-fortnight'):
                fail('unit %s: loader exit %d disagrees with the schema' % (u, rc))
    finally:
        shutil.rmtree(tmpd)
    print('schema: %d catalog rows and the example overrides match; %d units agree with the loader'
          % (nrows, len(units)))

if failures:
    for f in failures[:40]:
        print('FAIL:', f)
    print('%d failures' % len(failures))
    sys.exit(1)
print('ok')
