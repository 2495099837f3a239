#!/bin/sh
# Checks the embedded catalog against the reference tables it was seeded
# from, read independently with Python's csv and decimal modules.
set -eu
top_srcdir=${top_srcdir:-${srcdir:-.}}
FEDBROKER=${FEDBROKER:-./fedbroker}
PYTHON=${PYTHON:-/usr/bin/python3}
REF=${FEDBROKER_REFERENCE_CATALOG:-$top_srcdir/tests/reference/catalog}
unset FEDBROKER_CATALOG FEDBROKER_CATALOG_OVERRIDES
if [ ! -r "$REF/prices.csv" ] || [ ! -r "$REF/latency_ms.csv" ]; then
    echo "FAIL: reference catalog not found at $REF (tests/reference/catalog, or set FEDBROKER_REFERENCE_CATALOG)"
    exit 1
fi
exec "$PYTHON" "$top_srcdir/tests/catalog/crosscheck.py" "$FEDBROKER" "$top_srcdir" "$REF"
