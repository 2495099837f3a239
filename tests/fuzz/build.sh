#!/bin/sh
# build.sh - builds the libFuzzer harness for the spec reader with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer, compiling the needed core
# sources directly, and prepares a seed corpus from the examples and the
# test corpora. Not part of `make check`.
#
#   tests/fuzz/build.sh [OUTDIR]          (default: build-fuzz)
#   OUTDIR/fuzz_spec -max_total_time=600 -jobs=1 OUTDIR/corpus
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build-fuzz}
CC=${CC:-clang}
mkdir -p "$out/corpus"
cat > "$out/config.h" <<CFG
/* config.h for the fuzz build (configure is not run here) */
#define _GNU_SOURCE 1
#define PACKAGE "fedbroker"
#define PACKAGE_VERSION "fuzz"
CFG
sh "$top/build-aux/embed.sh" fbi_spec_schema_data="$top/schemas/workload.v1.schema.json" \
    > "$out/spec_schema_data.c"
# shellcheck disable=SC2046
$CC -std=c11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$out" -I"$top/core" $(pkg-config --cflags jansson yaml-0.1 libcrypto) \
    "$top/tests/fuzz/fuzz_spec.c" \
    "$top/core/base/util.c" "$top/core/base/diag.c" "$top/core/base/call.c" \
    "$top/core/base/decimal.c" "$top/core/base/map.c" "$top/core/base/redact.c" \
    "$top"/core/spec/*.c "$out/spec_schema_data.c" \
    $(pkg-config --libs jansson yaml-0.1 libcrypto) -lpthread -lm \
    -o "$out/fuzz_spec"
for f in "$top"/examples/*.yaml "$top"/examples/*.json "$top"/examples/*.qasm \
         "$top"/tests/spec/invalid/*.yaml "$top"/tests/spec/invalid/*.json \
         "$top"/tests/spec/semantic/*.yaml "$top"/tests/spec/syntax/*; do
    cp "$f" "$out/corpus/$(basename "$f")"
done
echo "built $out/fuzz_spec; seed corpus: $(find "$out/corpus" -type f | wc -l) files"
echo "run:   $out/fuzz_spec -max_total_time=600 -jobs=1 -max_len=16384 -dict=$top/tests/fuzz/spec.dict $out/corpus"
# the profile parser and the step model
# shellcheck disable=SC2046
$CC -std=c11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$out" -I"$top/core" $(pkg-config --cflags jansson yaml-0.1 libcrypto) \
    "$top/tests/fuzz/fuzz_profile.c" \
    "$top/core/base/util.c" "$top/core/base/diag.c" "$top/core/base/call.c" \
    "$top/core/base/decimal.c" "$top/core/base/map.c" "$top/core/base/redact.c" \
    "$top"/core/spec/*.c "$out/spec_schema_data.c" "$top"/core/sim/*.c \
    $(pkg-config --libs jansson yaml-0.1 libcrypto) -lpthread -lm \
    -o "$out/fuzz_profile"
mkdir -p "$out/corpus-profile"
cp "$top"/examples/*.csv "$top"/tests/spec/semantic/*.csv "$out/corpus-profile/"
echo "built $out/fuzz_profile; run: $out/fuzz_profile -max_total_time=600 -max_len=65536 $out/corpus-profile"
