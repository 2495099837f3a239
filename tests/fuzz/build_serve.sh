#!/bin/sh
# build_serve.sh - builds the libFuzzer harness for serve's request
# handling (fuzz_serve.c) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer. core/server/*.c are compiled here with the
# fuzzer's coverage instrumentation; the rest of the core (store, catalog,
# discovery) comes uninstrumented from a normal build's libfbcore.a
# (BUILD, default build/, which must be built from the same sources), and
# libmicrohttpd from Debian. Seeds the corpus
# with requests for every route. Not part of `make check`.
#
#   tests/fuzz/build_serve.sh [OUTDIR] [BUILD]      (default: build-fuzz-serve, build)
#   OUTDIR/fuzz_serve -max_total_time=600 -timeout=10 -dict=tests/fuzz/serve.dict OUTDIR/corpus
set -e
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build-fuzz-serve}
build=${2:-$top/build}
CC=${CC:-clang}
[ -f "$build/core/.libs/libfbcore.a" ] || { echo "build_serve.sh: no $build/core/.libs/libfbcore.a: build first" >&2; exit 1; }
mkdir -p "$out/corpus"
# shellcheck disable=SC2046
$CC -std=c11 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$build" -I"$top/core" -I"$top/core/fedbroker" -I"$top/drivers/kit" \
    $(pkg-config --cflags jansson libmicrohttpd libsodium sqlite3) \
    "$top/tests/fuzz/fuzz_serve.c" \
    "$top"/core/server/*.c \
    "$build/core/.libs/libfbcore.a" \
    -lcurl -lssl -lcrypto -ljansson -lsqlite3 -lsodium -lmicrohttpd -lyaml -lglpk -lz -ldl -lpthread -lm \
    -o "$out/fuzz_serve"
seed() { printf "$2" > "$out/corpus/$1"; }
seed healthz 'GET /v1/healthz HTTP/1.1\r\nHost: x\r\n\r\n'
seed readyz 'GET /v1/readyz HTTP/1.0\r\n\r\n'
seed endpoints 'GET /v1/endpoints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @V\r\n\r\n'
seed resolve 'GET /v1/resolve/api?from=frankfurt&all HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @V\r\n\r\n'
seed deployments 'GET /v1/deployments/api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\n\r\n'
seed tokens 'GET /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\n\r\n'
seed metrics 'GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\n\r\n'
seed badtoken 'GET /v1/endpoints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer fbk_0000000000000000000000000000000000000000000000000\r\n\r\n'
seed post 'POST /v1/specs/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"kind":"Worklo"}'
seed chunked 'POST /v1/specs/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nkind:\r\n0\r\n\r\n'
seed pipeline 'GET /v1/healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/endpoints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @V\r\n\r\n'
shop='apiVersion: fedbroker.dev/v1\nkind: Container\nmetadata: {name: web, tenant: shop}\nspec:\n  image: nginx\n'
seed submit "POST /v1/specs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\nContent-Type: application/yaml\r\nContent-Length: 102\r\n\r\n$shop"
seed plans 'POST /v1/plans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\nContent-Type: application/json\r\nContent-Length: 32\r\n\r\n{"specs": ["0123456789abcdef"]}'
seed report 'GET /v1/plans/0123456789ab/report?format=csv&group_by=team HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @V\r\n\r\n'
seed destroy 'DELETE /v1/deployments/api HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\n\r\n'
seed operation 'GET /v1/operations/op-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @V\r\n\r\n'
seed utf8 'GET /v1/resolve/api?from=%%ff HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @V\r\n\r\n'
seed drivers 'GET /v1/drivers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @V\r\n\r\n'
for f in "$top"/examples/*.yaml; do
    n=$(wc -c < "$f")
    { printf 'POST /v1/specs/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer @A\r\nContent-Type: application/yaml\r\nContent-Length: %s\r\n\r\n' "$n"; cat "$f"; } \
        > "$out/corpus/spec-$(basename "$f")"
done
echo "built $out/fuzz_serve; seed corpus: $(find "$out/corpus" -type f | wc -l) files"
echo "run:   $out/fuzz_serve -max_total_time=600 -timeout=10 -rss_limit_mb=2048 -dict=$top/tests/fuzz/serve.dict $out/corpus"
