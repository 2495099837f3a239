#!/bin/sh
# Checks the embedded catalog against the reference tables it was seeded
# from, read independently with Python's csv and decimal modules.
set -eu
top_srcdir=${top_srcdir:-${srcdir:-.}}
FEDBROKER=${FEDBROKER:-./fedbroker}
PYTHON=${PYTHON:-/usr/bin/python3}
REF=${FEDBROKER_REFERENCE_CATALOG:-/work/shared/reference/catalog}
unset FEDBROKER_CATALOG FEDBROKER_CATALOG_OVERRIDES
if [ ! -r "$REF/prices.csv" ] || [ ! -r "$REF/latency_ms.csv" ]; then
    echo "SKIP: reference catalog not found at $REF (set FEDBROKER_REFERENCE_CATALOG)"
    exit 77
fi
exec "$PYTHON" "$top_srcdir/tests/catalog/crosscheck.py" "$FEDBROKER" "$top_srcdir" "$REF"
