#!/usr/bin/python3
"""Placement of QuantumJobs by `fedbroker plan` with the quantum driver's
offers and usage and the catalog's quantum rows. Every cost line is checked
against the price row it cites, read from catalog/prices.csv with Python's
csv and decimal modules, and against quantities computed here by hand
(Braket QPU: 1 task + shots; SV1: the 3 s minimum, rounded up to the
micro-hour; IBM: 2 s + 250 us per shot, whole seconds). Scenarios: the
example picks the local simulator; a tight budget or deadline leaves a
simulator; a larger qubit requirement needs a QPU; an impossible one is
infeasible with the reasons."""
import csv
import os
import shutil
import sys
import tempfile
from decimal import ROUND_HALF_UP, Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qdtest import Broker, EXAMPLES, SRCDIR, check, finish  # noqa: E402

with open(os.path.join(SRCDIR, 'catalog', 'prices.csv'), newline='') as f:
    ROWS = {r['sku']: r for r in csv.DictReader(f)}
tmp = tempfile.mkdtemp(prefix='fbq-plan-')
b = Broker()
# a spec reads files only under its own directory (docs/spec.md "Files a spec reads")
shutil.copy(os.path.join(EXAMPLES, 'bell.qasm'), os.path.join(tmp, 'bell.qasm'))


def spec(name, backend, shots=2000, deadline=None, budget=None):
    lines = ['apiVersion: fedbroker.dev/v1', 'kind: QuantumJob', 'metadata: {name: %s, tenant: qa}' % name, 'spec:',
             '  program: {file: bell.qasm}', '  shots: %d' % shots,
             '  backend: %s' % backend]
    if deadline:
        lines.append('  deadline: %s' % deadline)
    if budget:
        lines.append('  placement: {budget: {monthly: "%s"}}' % budget)
    p = os.path.join(tmp, name + '.yaml')
    with open(p, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return p


def plan(path):
    rc, out, err = b.json('plan', path, '--no-save', '--no-baselines')
    return rc, out, err


def money(x):
    return Decimal(x).quantize(Decimal('0.000001'), rounding=ROUND_HALF_UP)


def lines_ok(w, expected, what):
    """expected: {sku: quantity}; checks unit price, cost and total."""
    got = {ln['sku']: ln for ln in w.get('lines', [])}
    check(set(got) == set(expected), '%s: cost lines cite %s (got %s)' % (what, sorted(expected), sorted(got)))
    total = Decimal(0)
    for sku, qty in expected.items():
        ln, row = got.get(sku, {}), ROWS.get(sku)
        if not check(row is not None, '%s: %s is a catalog row' % (what, sku)):
            continue
        cost = money(Decimal(qty) * Decimal(row['usd_per_unit']))
        total += cost
        check(Decimal(ln.get('quantity', '-1')) == Decimal(qty) and Decimal(ln.get('unit_price', '-1')) ==
              Decimal(row['usd_per_unit']) and Decimal(ln.get('list_cost', '-1')) == cost and
              ln.get('source') == row['source'],
              '%s: %s: %s x %s = %s (source %s): %r' % (what, sku, qty, row['usd_per_unit'], cost, row['source'], ln))
    check(Decimal(w.get('monthly_cost', '-1')) == total, '%s: total %s is the sum of its lines' % (what, total))
    return total


# The example: the local simulator at no cost, SV1 as the next best.
rc, out, err = plan(os.path.join(EXAMPLES, 'quantum-bell.yaml'))
w = out['workloads'][0] if rc == 0 else {}
check(rc == 0 and w.get('placement', {}).get('service') == 'local', 'bell: the local simulator is chosen (%d %s)' % (rc, err))
lines_ok(w, {'local/quantum-simulator/local/shots/statevector/assumed': '2000'}, 'bell local')
sv1_hours = Decimal((3000 * 1000 + 3599) // 3600) / Decimal(10 ** 6)  # the 3 s minimum, in micro-hours, rounded up
sv1 = money(sv1_hours * Decimal(ROWS['aws/braket/global/simulator_duration/sv1']['usd_per_unit']))
alts = [a for a in w.get('alternatives', []) if a['service'] == 'braket-sv1']
check(alts and all(Decimal(a['monthly_cost']) == sv1 for a in alts), 'bell: SV1 alternatives cost %s (3 s minimum)' % sv1)

# A tight budget without the local simulator: only a simulator fits.
rc, out, err = plan(spec('budget', '{type: any, providers: [braket, ibm]}', budget='1'))
w = out['workloads'][0] if rc == 0 else {}
check(rc == 0 and w['placement']['service'] == 'braket-sv1', 'budget 1 USD: SV1 is chosen (%d %s)' % (rc, err))
lines_ok(w, {'aws/braket/global/simulator_duration/sv1': str(sv1_hours)}, 'budget sv1')
check(w.get('eliminated') == {'budget': 8, 'driver': 8},
      'budget: the 8 QPU offers are over the budget; local (not allowed), DM1, TN1 (no price) refused: %r'
      % w.get('eliminated'))
over = [a for a in w.get('alternatives', []) if 'over the budget of 1.00' in a.get('eliminated_by', '')]
check(over and over[0]['service'] == 'braket-rigetti-ankaa-3' and Decimal(over[0]['monthly_cost']) == Decimal('2.10'),
      'budget: the cheapest QPU (2.10) is named as over the budget: %r' % over)

# A short deadline: the QPUs' queue latency rules them out.
rc, out, err = plan(spec('deadline', '{type: any, providers: [braket, ibm]}', deadline='30m'))
w = out['workloads'][0] if rc == 0 else {}
check(rc == 0 and w['placement']['service'] == 'braket-sv1', 'deadline 30m: SV1 is chosen (%d %s)' % (rc, err))
rc, out, err = plan(spec('deadline-qpu', '{type: qpu}', deadline='30m'))
rej = {(r['service'], r['region']): r['eliminated_by'] for r in out['workloads'][0].get('rejected', [])} if out else {}
check(rc == 3 and 'deadline of 1800 s is shorter than Forte-1\'s typical queue latency of 14400 s' in
      rej.get(('braket-ionq-forte-1', 'us-east-1'), '') and 'queue latency of 3600 s' in rej.get(('ibm-fez', 'us-east'), ''),
      'deadline 30m on a QPU: infeasible, the QPUs refused with the numbers (%d %r)' % (rc, rej))
check('spec.backend.type is qpu' in rej.get(('local', 'local'), ''), 'and the simulators refused by type')
# Devices without a sourced price are not guessed.
rc, out, err = plan(spec('unpriced', '{devices: [DM1, TN1]}'))
rej = {(r['service'], r['region']): r['eliminated_by'] for r in out['workloads'][0].get('rejected', [])} if out else {}
check(rc == 3 and 'no sourced price for DM1' in rej.get(('braket-dm1', 'us-east-1'), '') and
      'no sourced price for TN1' in rej.get(('braket-tn1', 'eu-west-2'), ''),
      'DM1 and TN1 have no sourced price: usage refuses, the plan says so (%d %r)' % (rc, rej))

# More qubits than any simulator has: a QPU, the cheapest by the catalog.
rc, out, err = plan(spec('big', '{type: any, minQubits: 40}'))
w = out['workloads'][0] if rc == 0 else {}
check(rc == 0 and w['placement']['service'] == 'braket-rigetti-ankaa-3' and w['placement']['region'] == 'us-west-1',
      'minQubits 40: Rigetti Ankaa-3 is chosen (%d %s)' % (rc, err))
rig = lines_ok(w, {'aws/braket/us-west-1/task/rigetti-ankaa': '1', 'aws/braket/us-west-1/shot/rigetti-ankaa': '2000'},
               'big rigetti')
ibm_secs = 2 + (2000 + 3999) // 4000
ibm = money(Decimal(ibm_secs) * Decimal(ROWS['ibm/qiskit-runtime/global/quantum_time/pay-as-you-go']['usd_per_unit']))
alt = {a['service']: Decimal(a['monthly_cost']) for a in w.get('alternatives', [])}
check(alt.get('ibm-fez') == ibm and ibm > rig, 'big: IBM costs %s (%d s x 1.60), more than Rigetti %s' % (ibm, ibm_secs, rig))
check(w.get('eliminated') == {'driver': 14}, 'big: 14 offers refused (too few qubits, TN1 unpriced): %r'
      % w.get('eliminated'))
rc, out, err = plan(spec('big-ibm', '{type: qpu, minQubits: 40, providers: [ibm]}'))
w = out['workloads'][0] if rc == 0 else {}
check(rc == 0 and w['placement']['service'].startswith('ibm-'), 'providers [ibm]: an IBM backend (%d %s)' % (rc, err))
lines_ok(w, {'ibm/qiskit-runtime/global/quantum_time/pay-as-you-go': str(ibm_secs)}, 'big ibm')

# Impossible: no device has 500 qubits.
rc, out, err = plan(spec('huge', '{type: any, minQubits: 500}'))
check(rc == 3, 'minQubits 500: infeasible, exit 3 (%d)' % rc)
check('no placement for qa/huge' in err and 'fewer than spec.backend.minQubits (500)' in err,
      'the infeasibility is explained: %s' % err.strip()[:300])
finish('test_plan')
