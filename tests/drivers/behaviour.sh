#!/bin/sh
# The conformance kit's behaviour checks, each shown to fail: every build of
# tests/drivers/behave.c listed in tests/drivers/behaviour.txt breaks one
# rule of docs/driver-abi.md, and `fedbroker drivers test` must exit 1 with
# exactly the FAIL lines listed for it (each expected line present, no
# other FAIL line), while the correct build passes every check.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
data="$top_srcdir/tests/drivers/behaviour.txt"
fail=0
n=0
# variant, then one expected FAIL line prefix per "|"-separated field
while IFS= read -r line; do
    case $line in ''|'#'*) continue ;; esac
    variant=${line%%|*}
    variant=$(echo "$variant" | tr -d ' ')
    want=$(echo "${line#*|}" | tr '|' '\n' | sed 's/^ *//; s/ *$//' | grep -v '^$' || true)
    [ "$want" = "-" ] && want=
    cp "$TESTDRV_DIR/$variant.so" "$tmp/$variant.so"; chmod 755 "$tmp/$variant.so"
    # The kit leaks a buffer it did not allocate rather than free it with
    # the wrong allocator: that is the foreign-buffer variant's point, so
    # LeakSanitizer (the ASan build) is told to let it be.
    case $variant in
    *foreign_buffer) leaks="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" ;;
    *) leaks="${ASAN_OPTIONS:-}" ;;
    esac
    out=$(ASAN_OPTIONS="$leaks" "$FEDBROKER" drivers test "$tmp/$variant.so" 2>&1); rc=$?
    got=$(echo "$out" | grep '^FAIL' || true)
    n=$((n + 1))
    ok=1
    if [ -z "$want" ]; then
        [ $rc -eq 0 ] && [ -z "$got" ] || ok=0
    else
        [ $rc -eq 1 ] || ok=0
        # every expected line is there ...
        missing=$(echo "$want" | while IFS= read -r w; do
            echo "$got" | grep -qF "FAIL $w" || echo "FAIL $w"; done)
        # ... and nothing else failed
        unexpected=$( [ -n "$got" ] && echo "$got" | W="$want" awk '
            BEGIN { n = split(ENVIRON["W"], a, "\n") }
            { hit = 0; for (i = 1; i <= n; i++) if (index($0, "FAIL " a[i]) == 1) hit = 1; if (!hit) print }')
        [ -z "$missing" ] || { echo "  missing: $missing"; ok=0; }
        [ -z "$unexpected" ] || { echo "  unexpected: $unexpected"; ok=0; }
    fi
    if [ $ok = 1 ]; then
        echo "ok: $variant: ${want:-every check passes}" | head -n 1
    else
        echo "FAIL: $variant (exit $rc)"; echo "$out" | sed 's/^/    /'; fail=1
    fi
done < "$data"
[ $n -ge 12 ] || { echo "FAIL: only $n variants read from $data"; fail=1; }
exit $fail
