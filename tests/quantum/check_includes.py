#!/usr/bin/python3
"""What an OpenQASM `include` may read (issue 9, item 12): only regular
text files of at most 1 MiB inside the program's directory tree, an
--include-dir or an --allow-path tree; never /proc or /sys, devices, FIFOs;
and an error in an included file that is not OpenQASM names the file, line
and column but quotes none of its bytes.

Each case plants a secret token as the first word of the file a program
tries to read (the old parser echoed the first token: "undefined gate
'TOKEN'") and checks it appears in neither stdout nor stderr."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import FEDBROKER, check, finish, run  # noqa: E402

SECRET = 'ghp_s3cr3tT0ken9f3a1b2c'
tmp = os.path.realpath(tempfile.mkdtemp(prefix='fbq-inc-'))
tree = os.path.join(tmp, 'tree')        # the program's directory
outside = os.path.join(tmp, 'outside')  # a sibling it must not read
for d in (tree, os.path.join(tree, 'lib'), os.path.join(tree, 'sub'), outside):
    os.makedirs(d, exist_ok=True)


def write(path, text, mode='w'):
    with open(path, mode) as f:
        f.write(text)
    return path


def prog(name, include, body='qreg q[1];\n', where=tree):
    return write(os.path.join(where, name), 'OPENQASM 2.0;\ninclude "%s";\n%s' % (include, body))


def refused(args, needles, what, env=None, timeout=20):
    """Exit 2, nothing on stdout, every needle in stderr, no secret."""
    try:
        p = subprocess.run([FEDBROKER] + args, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        check(False, '%s: still running after %d s (blocked on the file?)' % (what, timeout))
        return
    ok = check(p.returncode == 2, '%s: exit %d, expected 2 (%r)' % (what, p.returncode, p.stderr))
    ok &= check(p.stdout == '', '%s: stdout %r' % (what, p.stdout[:200]))
    ok &= check(SECRET not in p.stderr and SECRET not in p.stdout,
                '%s: the included file\'s text is echoed: %r' % (what, p.stderr))
    for nd in needles:
        ok &= check(nd in p.stderr, '%s: %r not in stderr %r' % (what, nd, p.stderr))
    if ok:
        print('ok %-34s %s' % (what, p.stderr.strip()[:160]))


def accepted(args, what):
    rc, out, err = run(*args)
    if check(rc == 0 and err == '', '%s: exit %d %r' % (what, rc, err)):
        print('ok %-34s accepted' % what)
    return out


secret_file = write(os.path.join(outside, 'secret.inc'), '%s = "do not print me"\n' % SECRET)

# ---- /proc ---------------------------------------------------------------
# The environment's first variable is the secret: the old parser printed
# "/proc/self/environ:1:1: undefined gate 'ghp_...'".
env = {SECRET: 'x'}
env.update(os.environ)
p = prog('proc.qasm', '/proc/self/environ')
refused(['quantum', 'run', p], ['proc.qasm:2:9: ', 'cannot include "/proc/self/environ"',
                                'outside the directories includes may read', tree], '/proc, default roots', env)
refused(['quantum', 'run', p, '--allow-path', '/proc'],
        ['proc.qasm:2:9: ', 'kernel pseudo-filesystem'], '/proc, even when allowed', env)
refused(['quantum', 'qasm3', p], ['proc.qasm:2:9: ', 'outside the directories'], 'qasm3: /proc', env)

# ---- escaping the tree -----------------------------------------------------
os.symlink(secret_file, os.path.join(tree, 'link.inc'))
refused(['quantum', 'run', prog('link.qasm', 'link.inc')],
        ['link.qasm:2:9: ', 'cannot include "link.inc"', secret_file + ' is outside'], 'symlink out of the tree')
os.symlink(outside, os.path.join(tree, 'lib', 'dirlink'))
refused(['quantum', 'run', prog('dirlink.qasm', 'lib/dirlink/secret.inc')],
        ['dirlink.qasm:2:9: ', 'is outside'], 'symlinked directory out of the tree')
refused(['quantum', 'run', prog('dotdot.qasm', '../outside/secret.inc')],
        ['dotdot.qasm:2:9: ', 'is outside', '--allow-path'], '.. out of the tree')
refused(['quantum', 'run', prog('abs.qasm', secret_file)],
        ['abs.qasm:2:9: ', 'is outside'], 'absolute path outside')
refused(['quantum', 'run', prog('etc.qasm', '/etc/passwd')], ['etc.qasm:2:9: ', 'is outside'], '/etc/passwd')
# a program in a subdirectory is confined to that subdirectory
write(os.path.join(tree, 'lib', 'g.inc'), 'gate g a { U(0,0,0) a; }\n')
refused(['quantum', 'run', prog('up.qasm', '../lib/g.inc', 'qreg q[1];\ng q[0];\n', os.path.join(tree, 'sub'))],
        ['up.qasm:2:9: ', 'is outside', os.path.join(tree, 'sub')], '.. to the parent of the program')
# nested: an include that itself escapes
write(os.path.join(tree, 'lib', 'nested.inc'), 'gate n a { U(0,0,0) a; }\ninclude "../../outside/secret.inc";\n')
refused(['quantum', 'run', prog('nested.qasm', 'lib/nested.inc')],
        ['nested.inc:2:9: ', 'is outside'], 'nested include escaping')

# ---- inside the tree: accepted ---------------------------------------------
accepted(['quantum', 'run', prog('ok.qasm', 'lib/g.inc', 'qreg q[1];\ng q[0];\n')], 'include in a subdirectory')
accepted(['quantum', 'run', prog('okabs.qasm', os.path.join(tree, 'lib', 'g.inc'), 'qreg q[1];\ng q[0];\n')],
         'absolute path inside the tree')
accepted(['quantum', 'run', prog('okdots.qasm', 'sub/../lib/g.inc', 'qreg q[1];\ng q[0];\n')],
         '.. that stays inside')
os.symlink(os.path.join(tree, 'lib', 'g.inc'), os.path.join(tree, 'inlink.inc'))
accepted(['quantum', 'run', prog('oklink.qasm', 'inlink.inc', 'qreg q[1];\ng q[0];\n')], 'symlink inside the tree')
accepted(['quantum', 'qasm3', prog('okq3.qasm', 'lib/g.inc', 'qreg q[1];\ng q[0];\n')], 'qasm3 inside the tree')
# wider by option
write(os.path.join(outside, 'ok.inc'), 'gate w a { U(0,0,0) a; }\n')
accepted(['quantum', 'run', prog('wide.qasm', '../outside/ok.inc', 'qreg q[1];\nw q[0];\n'), '--allow-path', outside],
         '--allow-path widens')
accepted(['quantum', 'run', prog('incdir.qasm', 'ok.inc', 'qreg q[1];\nw q[0];\n'), '--include-dir', outside],
         '--include-dir is an allowed tree')
refused(['quantum', 'run', os.path.join(tree, 'dotdot.qasm'), '--allow-path', os.path.join(tmp, 'nowhere')],
        ['--allow-path', 'No such file or directory'], '--allow-path that does not exist')
refused(['quantum', 'run', os.path.join(tree, 'dotdot.qasm'), '--allow-path', secret_file],
        ['--allow-path', 'not a directory'], '--allow-path on a file')
# standard input: the working directory's tree
r = subprocess.run([FEDBROKER, 'quantum', 'run', '-'], input='OPENQASM 2.0;\ninclude "lib/g.inc";\nqreg q[1];\n',
                   capture_output=True, text=True, cwd=tree, timeout=60)
check(r.returncode == 0, 'stdin: include under the working directory (%r)' % r.stderr)
r = subprocess.run([FEDBROKER, 'quantum', 'run', '-'], input='OPENQASM 2.0;\ninclude "../outside/secret.inc";\n',
                   capture_output=True, text=True, cwd=tree, timeout=60)
check(r.returncode == 2 and '<stdin>:2:9: ' in r.stderr and 'is outside' in r.stderr and SECRET not in r.stderr,
      'stdin: .. out of the working directory (%r)' % r.stderr)

# ---- not OpenQASM, inside the tree ------------------------------------------
write(os.path.join(tree, 'env.inc'), '# settings\n%s=abc\n' % SECRET)
refused(['quantum', 'run', prog('env.qasm', 'env.inc')],
        ['env.inc:1:1: ', 'not an OpenQASM file', 'included at ', 'env.qasm:2', 'text is not shown'],
        'a settings file')
write(os.path.join(tree, 'word.inc'), '%s\n' % SECRET)
refused(['quantum', 'run', prog('word.qasm', 'word.inc')], ['word.inc:', 'not an OpenQASM file'],
        'a bare word')
write(os.path.join(tree, 'gate1.inc'), 'gate %s a { U(0,0,0) b; }\n' % SECRET)
refused(['quantum', 'run', prog('gate1.qasm', 'gate1.inc')], ['gate1.inc:1:', 'not an OpenQASM file'],
        'error inside the first statement')
write(os.path.join(tree, 'bin.inc'), b'gate g a { U(0,0,0) a; }\n\x00' + SECRET.encode() + b'\n', 'wb')
refused(['quantum', 'run', prog('bin.qasm', 'bin.inc')], ['bin.inc:2:1: ', 'NUL or control byte'],
        'a NUL byte')
write(os.path.join(tree, 'latin1.inc'), b'// caf\xe9\n' + SECRET.encode() + b'\n', 'wb')
refused(['quantum', 'run', prog('latin1.qasm', 'latin1.inc')], ['latin1.inc:1:7: ', 'invalid UTF-8'],
        'not UTF-8')
# after its first statement a file is OpenQASM: errors quote it as usual
write(os.path.join(tree, 'later.inc'), 'gate g2 a { U(0,0,0) a; }\nfrobnicate q;\n')
rc, out, err = run('quantum', 'run', prog('later.qasm', 'later.inc'))
check(rc == 2 and "later.inc:2:1: " in err and "frobnicate" in err,
      'an OpenQASM include with an error later quotes it: %r' % err)

# ---- not a regular file, too big ---------------------------------------------
fifo = os.path.join(tree, 'fifo.inc')
os.mkfifo(fifo)
refused(['quantum', 'run', prog('fifo.qasm', 'fifo.inc')], ['fifo.qasm:2:9: ', 'is a FIFO'], 'a FIFO', timeout=10)
refused(['quantum', 'run', prog('dir.qasm', 'lib')], ['dir.qasm:2:9: ', 'is a directory'], 'a directory')
if os.path.exists('/dev/zero'):
    refused(['quantum', 'run', prog('dev.qasm', '/dev/zero'), '--allow-path', '/dev'],
            ['dev.qasm:2:9: ', 'is a character device'], 'a device', timeout=10)
LIMIT = 1 << 20  # FBQ_MAX_INCLUDE_SIZE, documented in fedbroker(1)
line = '// x\n'
body = line * (LIMIT // len(line))
body += '/' * (LIMIT - len(body) - 1) + '\n'
write(os.path.join(tree, 'edge.inc'), body)
check(os.path.getsize(os.path.join(tree, 'edge.inc')) == LIMIT, 'the edge include is 1 MiB')
accepted(['quantum', 'run', prog('edge.qasm', 'edge.inc')], 'an include of exactly 1 MiB')
write(os.path.join(tree, 'over.inc'), body + '\n')
refused(['quantum', 'run', prog('over.qasm', 'over.inc')],
        ['over.qasm:2:9: ', '1048577 bytes, more than the 1048576 bytes an include may have'], '1 MiB + 1 byte')


shutil.rmtree(tmp)
finish('check_includes')
