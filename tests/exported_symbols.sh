#!/bin/sh
# The exported symbol lists are part of the ABI (curl's rule): libfedbroker
# exports exactly the fb_ names in tests/exported-symbols.txt, and every
# driver exports exactly one symbol, fb_driver_entry. Our drivers also keep
# no thread-local storage: a dlopen'd module's TLS is dynamic TLS, and with
# glibc 2.36 LeakSanitizer's exit check crashed reading its range ("Tracer
# caught signal 11", drivers/aws/usage.c until it passed its flag down).
set -eu
lib="$top_builddir/core/.libs/libfedbroker.so"
[ -f "$lib" ] || { echo "missing $lib"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWGS]$/ {print $3}' | sed 's/@.*//' | sort -u > "$tmp/actual"
if grep -v '^fb_' "$tmp/actual"; then
    echo "FAIL: libfedbroker exports names without the fb_ prefix (above)"; exit 1
fi
sort -u "$top_srcdir/tests/exported-symbols.txt" > "$tmp/expected"
if ! diff -u "$tmp/expected" "$tmp/actual"; then
    echo "FAIL: libfedbroker's exports differ from tests/exported-symbols.txt."
    echo "An ABI only grows: add new symbols to the list; never remove one."
    exit 1
fi
echo "ok: libfedbroker exports $(wc -l < "$tmp/actual") fb_ symbols, as listed"
n=0
for so in "$top_builddir"/stage/drivers/*.so; do
    [ -f "$so" ] || continue
    syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWGS]$/ {print $3}')
    if [ "$syms" != "fb_driver_entry" ]; then
        echo "FAIL: $so exports: $syms"; exit 1
    fi
    if readelf -lW "$so" | grep -q '^ *TLS '; then
        echo "FAIL: $so has a TLS segment (a __thread or _Thread_local variable):"
        echo "pass the state down instead; see the comment at the top of this test"; exit 1
    fi
    n=$((n + 1))
done
echo "ok: $n driver(s) export only fb_driver_entry and keep no thread-local storage"
