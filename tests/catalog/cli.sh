#!/bin/sh
# The `fedbroker catalog` verb end to end: validate exit codes and messages,
# show filters, the S10 -> current Fargate diff (AWS cut Fargate prices by
# 20% per vCPU and 65% per GB in January 2019), price, egress and rtt.
set -eu
top_srcdir=${top_srcdir:-${srcdir:-.}}
FEDBROKER=${FEDBROKER:-./fedbroker}
unset FEDBROKER_CATALOG FEDBROKER_CATALOG_OVERRIDES
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_rc() { # expected-rc description command...
    want=$1; what=$2; shift 2
    set +e
    "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || { fail "$what: exit $rc, expected $want"; cat "$tmp/err"; }
}
has() { grep -q -- "$2" "$1" || fail "$3: '$2' not in $(basename "$1")"; }

expect_rc 0 "validate embedded" "$FEDBROKER" catalog validate
# the embedded catalog holds every row of catalog/prices.csv (counted with Python's csv)
nrows=$("${PYTHON:-python3}" -c 'import csv, sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=""))))' "$top_srcdir/catalog/prices.csv")
has "$tmp/out" "catalog embedded: $nrows price rows" "validate embedded"
expect_rc 0 "validate source dir" "$FEDBROKER" catalog validate "$top_srcdir/catalog"

mkdir "$tmp/bad"
cp "$top_srcdir"/tests/catalog/base/*.csv "$tmp/bad/"
cp "$top_srcdir"/tests/catalog/bad/many-errors/*.csv "$tmp/bad/"
expect_rc 2 "validate bad" "$FEDBROKER" catalog validate "$tmp/bad"
has "$tmp/err" "bad/prices.csv:29: error: unknown unit 'GB-fortnight'" "validate bad"
has "$tmp/err" "bad/prices.csv:30: error: duplicate key" "validate bad"
has "$tmp/err" "bad/latency_ms.csv:10: error: bad rtt_ms" "validate bad"
has "$tmp/out" "invalid: 8 errors" "validate bad"
expect_rc 2 "validate bad json" "$FEDBROKER" catalog validate "$tmp/bad" --format json
has "$tmp/out" '"errors": 8' "validate json"
has "$tmp/out" '"line": 29' "validate json"
expect_rc 2 "missing dir" "$FEDBROKER" catalog validate "$tmp/nope"
echo '{"version": 1, "rules": [{"id": "x", "provider": "nope", "discount_pct": "5"}]}' > "$tmp/o.json"
expect_rc 2 "bad overrides" "$FEDBROKER" catalog validate --overrides "$tmp/o.json"
has "$tmp/err" "/rules/0" "bad overrides"

# the Fargate price cut: exactly two changes and the Graviton/storage additions
expect_rc 0 "diff" "$FEDBROKER" catalog diff "$top_srcdir/tests/catalog/diff/old" \
    "$top_srcdir/tests/catalog/diff/new/prices.csv" --format csv
cut -d, -f1,2,10,11,12 "$tmp/out" > "$tmp/diff"
cat > "$tmp/want" <<'WANT'
change,sku,old_usd_per_unit,new_usd_per_unit,pct_change
added,aws/fargate/us-east-1/ephemeral_storage/any,,0.000111,
added,aws/fargate/us-east-1/memory/linux-arm64,,0.00356,
changed,aws/fargate/us-east-1/memory/linux-x86_64,0.0127,0.004445,-65.00
added,aws/fargate/us-east-1/vcpu/linux-arm64,,0.03238,
changed,aws/fargate/us-east-1/vcpu/linux-x86_64,0.0506,0.04048,-20.00
WANT
diff -u "$tmp/want" "$tmp/diff" || fail "diff output"
expect_rc 0 "diff reverse" "$FEDBROKER" catalog diff "$top_srcdir/tests/catalog/diff/new" \
    "$top_srcdir/tests/catalog/diff/old"
has "$tmp/out" "5 changes: 0 added, 3 removed, 2 changed" "diff reverse"
has "$tmp/out" "+185.71" "diff reverse" # 0.0127 / 0.004445 - 1
expect_rc 0 "diff same" "$FEDBROKER" catalog diff "$top_srcdir/catalog" "$top_srcdir/catalog"
has "$tmp/out" "(0 changes" "diff same"

expect_rc 0 "show filter" "$FEDBROKER" catalog show --provider aws --service fargate \
    --region us-east-1 --format csv
[ "$(wc -l < "$tmp/out")" -eq 8 ] || fail "show filter: $(wc -l < "$tmp/out") lines, expected 8"
expect_rc 64 "show table" "$FEDBROKER" catalog show --table nope
expect_rc 64 "subverb" "$FEDBROKER" catalog frobnicate
FEDBROKER_CATALOG="$tmp/nope" expect_rc 2 "env dir" "$FEDBROKER" catalog show

expect_rc 0 "price" "$FEDBROKER" catalog price aws lambda eu-west-1 duration --variant x86_64 \
    --quantity 400000 --format json
has "$tmp/out" '"total_usd": "6.666680"' "price"
expect_rc 2 "price past tiers" "$FEDBROKER" catalog price aws lambda eu-west-1 duration \
    --variant x86_64 --quantity 6000000001
has "$tmp/err" "past the last tier" "price past tiers"

expect_rc 0 "egress" "$FEDBROKER" catalog egress aws:us-east-1 aws:us-east-2 --format json
has "$tmp/out" '"usd_per_unit": "0.01"' "egress"
expect_rc 2 "egress missing" "$FEDBROKER" catalog egress gcp:southamerica-east1 gcp:southamerica-west1
has "$tmp/err" "no inter-region egress price" "egress missing"

for case in "aws:us-east-1 aws:eu-west-1 measured" "aws:us-east-1 gcp:europe-west1 same-metro-assumption" \
            "aws:eu-west-1 gcp:europe-west1 distance-estimate" "frankfurt aws:eu-west-1 measured" \
            "new-york aws:us-east-1 distance-estimate"; do
    set -- $case
    expect_rc 0 "rtt $1 $2" "$FEDBROKER" catalog rtt "$1" "$2" --format json
    has "$tmp/out" "\"origin\": \"$3\"" "rtt $1 $2"
done
expect_rc 0 "rtt last mile" "$FEDBROKER" catalog rtt frankfurt aws:eu-west-1 --param last_mile_ms=25 --format json
has "$tmp/out" '"last_mile_ms": 25' "rtt last mile"
expect_rc 2 "rtt local unset" "$FEDBROKER" catalog rtt local:on-prem aws:eu-central-1
expect_rc 0 "rtt local set" "$FEDBROKER" catalog rtt local:on-prem aws:eu-central-1 --param local_metro=frankfurt
has "$tmp/out" "same-metro-assumption" "rtt local set"

# Limits (catalog/README.md "Limits"), each at the limit and one byte past
# it: a file is at most 16 MiB, a catalog 32 MiB in all; a load keeps its
# first 1000 problems. Files are padded with trailing newlines, which a CSV
# file may end with.
pad_to() { # file size
    n=$(( $2 - $(wc -c < "$1") ))
    head -c "$n" /dev/zero | tr '\0' '\n' >> "$1"
}
mkdir "$tmp/lim"
cp "$top_srcdir"/catalog/*.csv "$tmp/lim/"
pad_to "$tmp/lim/prices.csv" 16777216
expect_rc 0 "a 16 MiB catalog file is read" "$FEDBROKER" catalog validate "$tmp/lim"
printf '\n' >> "$tmp/lim/prices.csv"
expect_rc 2 "a catalog file of 16 MiB + 1 byte" "$FEDBROKER" catalog validate "$tmp/lim"
has "$tmp/err" "16777217 bytes; a catalog file is at most 16777216 bytes (16 MiB" "file limit"
truncate -s 16777216 "$tmp/lim/prices.csv"
others=$(cat "$tmp/lim"/*.csv | wc -c)
pad_to "$tmp/lim/latency_ms.csv" $(( $(wc -c < "$tmp/lim/latency_ms.csv") + 33554432 - others ))
expect_rc 0 "a 32 MiB catalog is read" "$FEDBROKER" catalog validate "$tmp/lim"
printf '\n' >> "$tmp/lim/latency_ms.csv"
expect_rc 2 "a catalog of 32 MiB + 1 byte" "$FEDBROKER" catalog validate "$tmp/lim"
has "$tmp/err" "passes 33554432 bytes (32 MiB), the most a catalog may hold in all" "total limit"
# 16 MiB of blank lines inside the table: 16 million errors once (and
# quadratic time: each blank line looked at the rest of the file), now the
# first 1000 and a note, in seconds
cp "$top_srcdir"/catalog/*.csv "$tmp/lim/"
{ head -n 1 "$top_srcdir/catalog/prices.csv"; head -c 16000000 /dev/zero | tr '\0' '\n';
  tail -n +2 "$top_srcdir/catalog/prices.csv"; } > "$tmp/lim/prices.csv"
expect_rc 2 "16 MiB of blank lines" "$FEDBROKER" catalog validate "$tmp/lim"
has "$tmp/err" "more than 1000 problems in the catalog; the rest are not shown" "error cap"
has "$tmp/out" "invalid: 1001 errors" "error cap"
n=$(grep -c ": error: empty line" "$tmp/err")
[ "$n" -eq 1000 ] || fail "error cap: $n 'empty line' errors shown, expected 1000"
mkfifo "$tmp/lim/regions.fifo" && rm "$tmp/lim/regions.csv" && mv "$tmp/lim/regions.fifo" "$tmp/lim/regions.csv"
expect_rc 2 "a FIFO as a catalog file" "$FEDBROKER" catalog validate "$tmp/lim"
has "$tmp/err" "regions.csv: not a regular file" "FIFO"

[ "$fails" -eq 0 ] || { echo "$fails failures"; exit 1; }
echo ok
