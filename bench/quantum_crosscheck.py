#!/usr/bin/python3
"""quantum_crosscheck.py - the same circuits on fedbroker's simulator and
on the npm package quantum-circuit (run under node): every basis-state
probability must agree within 1e-9. Measurements are stripped so both
report the full final distribution (fedbroker measures every qubit of a
program without measure).

    quantum_crosscheck.py [--require] FEDBROKER NODE_DIR FILE.qasm...

Exit 0 when all agree, 1 on a difference; when node or the module is
missing, 1 with --require (the test suite) and 77 otherwise (the automake
code for a skipped test)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    args = sys.argv[1:]
    require = bool(args) and args[0] == '--require'
    if require:
        args = args[1:]
    if len(args) < 3:
        print(__doc__)
        return 64
    fed, node_dir, files = os.path.abspath(args[0]), os.path.abspath(args[1]), args[2:]
    node = shutil.which('node')
    if not node or not os.path.isdir(os.path.join(node_dir, 'node_modules', 'quantum-circuit')):
        what = 'node' if not node else '%s/node_modules/quantum-circuit' % node_dir
        if require:
            print('FAIL: %s is missing; ./quickstart check installs it (or: cd bench/node && npm ci)' % what)
            return 1
        print('SKIP: %s is missing (make bench-quantum installs it)' % what)
        return 77
    bad = 0
    tmp = tempfile.mkdtemp(prefix='fbq-xc-')
    for f in files:
        with open(f, encoding='utf-8') as fh:
            text = ''.join(l for l in fh if not l.lstrip().startswith('measure'))
        stripped = os.path.join(tmp, os.path.basename(f))
        with open(stripped, 'w', encoding='utf-8') as fh:
            fh.write(text)
        # quantum-circuit looks for qelib1.inc nowhere: it knows the gates
        p = subprocess.run([node, os.path.join(node_dir, 'qc_run.js'), 'probs', stripped], cwd=node_dir,
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            print('FAIL %s: quantum-circuit failed: %s' % (f, p.stderr.strip()[-300:]))
            bad += 1
            continue
        theirs = json.loads(p.stdout)
        q = subprocess.run([fed, 'quantum', 'run', stripped, '--probabilities', '--format', 'json'],
                           capture_output=True, text=True, timeout=600)
        if q.returncode != 0:
            print('FAIL %s: fedbroker failed: %s' % (f, q.stderr.strip()))
            bad += 1
            continue
        ours = {k.replace(' ', ''): v for k, v in json.loads(q.stdout)['probabilities'].items()}
        worst = max(abs(ours.get(k, 0) - theirs.get(k, 0)) for k in set(ours) | set(theirs))
        status = 'ok  ' if worst < 1e-9 else 'FAIL'
        if worst >= 1e-9:
            bad += 1
        print('%s %-28s %4d outcomes, max difference %.2g' % (status, os.path.basename(f), len(ours), worst))
        os.unlink(stripped)
    os.rmdir(tmp)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
