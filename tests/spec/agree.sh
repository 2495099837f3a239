#!/bin/sh
# Agreement test between `fedbroker validate` and python3-jsonschema over the
# examples and the invalid/semantic corpora (see tests/spec/agree.py).
# Needs the Debian packages python3-jsonschema and python3-yaml.
srcdir=${srcdir:-.}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! "$PY" -c 'import jsonschema, yaml' 2>/dev/null; then
    echo "SKIP: python3-jsonschema and python3-yaml are needed (apt-get install python3-jsonschema python3-yaml)"
    exit 77
fi
exec "$PY" "$srcdir/tests/spec/agree.py" --fedbroker ./fedbroker --srcdir "$srcdir"
