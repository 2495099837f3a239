"""qtest.py - helpers shared by the quantum integration tests: running the
real fedbroker binary, the chi-square goodness-of-fit test, and the file
lists. Pure Python."""
import glob
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qasmref  # noqa: E402

SRCDIR = os.path.abspath(os.environ.get('srcdir', os.path.join(HERE, '..', '..')))
DATA = os.path.join(SRCDIR, 'tests', 'quantum', 'data')
PROGRAMS = os.path.join(SRCDIR, 'tests', 'quantum', 'programs')
# what `include "qelib1.inc";` reads by default: Qiskit's extended header
# (the OpenQASM 2.0 standard one, QELIB1_STANDARD, with --strict-qelib)
QELIB1 = os.path.join(SRCDIR, 'quantum', 'qelib1_qiskit.inc')
QELIB1_STANDARD = os.path.join(SRCDIR, 'quantum', 'qelib1.inc')
FEDBROKER = os.path.abspath(os.environ.get('FEDBROKER', './fedbroker'))

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print('FAIL: ' + msg)
    return cond


def finish(name):
    if failures:
        print('%s: %d failure(s)' % (name, len(failures)))
        sys.exit(1)
    print('%s: all checks passed' % name)
    sys.exit(0)


def program_args(path):
    """Options a program asks for in a `// fedbroker-args: ...` line among
    its first five (e.g. `--allow-path ../data/qasmbench` for a program that
    includes a file outside its directory); a relative DIR of --allow-path
    or --include-dir is relative to the program."""
    out = []
    try:
        with open(path, encoding='utf-8') as f:
            head = [f.readline() for _ in range(5)]
    except (OSError, UnicodeDecodeError):
        return out
    for line in head:
        if line.startswith('// fedbroker-args:'):
            words = line.split(':', 1)[1].split()
            for i, w in enumerate(words):
                if i and words[i - 1] in ('--allow-path', '--include-dir') and not os.path.isabs(w):
                    w = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), w))
                out.append(w)
    return out


def run(*args, stdin=None):
    """Runs fedbroker; returns (exit code, stdout, stderr). A program's own
    `// fedbroker-args:` options (program_args) are added for `quantum run`
    and `quantum qasm3`."""
    args = list(args)
    if args[:1] == ['quantum'] and len(args) >= 3 and args[2].endswith('.qasm'):
        args += program_args(args[2])
    p = subprocess.run([FEDBROKER] + args, input=stdin, capture_output=True, text=True,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


def run_json(*args):
    rc, out, err = run(*args, '--format', 'json')
    if rc != 0:
        raise RuntimeError('fedbroker %s failed (%d): %s' % (' '.join(args), rc, err.strip()))
    return json.loads(out)


def valid_programs():
    """Every valid program of the reference data and our own."""
    files = sorted(glob.glob(os.path.join(DATA, 'qasm2-spec', '*.qasm')))
    files = [f for f in files if not os.path.basename(f).startswith('invalid_')]
    files += sorted(glob.glob(os.path.join(DATA, 'qasmbench', '*.qasm')))
    files += sorted(glob.glob(os.path.join(PROGRAMS, '*.qasm')))
    return files


def reference(path):
    return qasmref.distribution(qasmref.load(path, QELIB1))


def is_dynamic(path):
    """Decided from the reference's own parse: reset, if, or a gate on a
    qubit after it was measured."""
    prog = qasmref.load(path, QELIB1)
    measured = set()
    for op in prog.ops:
        if op[-1] is not None or op[0] == 'reset':
            return True
        if op[0] == 'measure':
            measured.add(op[1])
        elif any(q in measured for q in op[2]):
            return True
    return False


# ---- chi-square ----------------------------------------------------------

def _gser(a, x):
    s = term = 1.0 / a
    ap = a
    for _ in range(10000):
        ap += 1
        term *= x / ap
        s += term
        if abs(term) < abs(s) * 1e-15:
            break
    return s * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gcf(a, x):
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(x, dof):
    """P(X >= x) for a chi-square variable with dof degrees of freedom:
    the regularized upper incomplete gamma Q(dof/2, x/2)."""
    if x <= 0:
        return 1.0
    a, y = dof / 2.0, x / 2.0
    if y < a + 1:
        return 1.0 - _gser(a, y)
    return _gcf(a, y)


def chi_square(counts, probs, shots):
    """Pearson's test of observed counts against exact probabilities.
    Outcomes expected fewer than 5 times are pooled. Returns (p-value,
    statistic, degrees of freedom, message or None when an impossible
    outcome was observed)."""
    for k, n in counts.items():
        if probs.get(k, 0.0) < 1e-12 and n > 0:
            return 0.0, float('inf'), 0, 'outcome %r observed %d times but has probability %g' % (
                k, n, probs.get(k, 0.0))
    bins = []
    pool_e = pool_o = 0.0
    for k, p in probs.items():
        e = p * shots
        o = counts.get(k, 0)
        if e < 5:
            pool_e += e
            pool_o += o
        else:
            bins.append((o, e))
    if pool_e > 0:
        bins.append((pool_o, pool_e))
    if len(bins) < 2:
        return 1.0, 0.0, 0, None
    stat = sum((o - e) ** 2 / e for o, e in bins)
    dof = len(bins) - 1
    return chi2_sf(stat, dof), stat, dof, None
