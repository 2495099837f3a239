#!/bin/sh
# Paths a spec names stay in its directory tree (docs/spec.md "Files a spec
# reads"), through the real binary: the issue's repros (code.path naming a
# file outside, a link out of the tree, program.file climbing out with ../),
# for every verb that reads specs (validate, render, plan, apply), with
# --allow-path widening the tree, and nothing of an outside file in any
# output.
set -u
FB=${FEDBROKER:-./fedbroker}
case $FB in /*) ;; *) FB=$(pwd)/$FB ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/specpaths.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export FEDBROKER_HOME="$tmp/home" FEDBROKER_NOW=2015-08-30T12:36:00Z
export AWS_ACCESS_KEY_ID=AKIDFAKEEXAMPLE00001 AWS_SECRET_ACCESS_KEY=notARealSecret
cat > "$tmp/config.json" <<'CFG'
{"drivers": {"aws": {"regions": ["us-east-1"], "accountId": "123456789012",
                     "lambda": {"role": "arn:aws:iam::123456789012:role/fn"}}}}
CFG
export FEDBROKER_CONFIG="$tmp/config.json"
pass=0
fail=0
check() { # name, command...
    name=$1; shift
    if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
run() { # expected exit, args...
    want=$1; shift
    "$FB" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    [ "$rc" -eq "$want" ] || { echo "  exit $rc, expected $want: fedbroker $*"; head -4 "$tmp/err"; return 1; }
}
nowhere() { # the secret is in no output
    ! grep -q "TOKEN-5e1f" "$tmp/out" "$tmp/err"
}

mkdir -p "$tmp/specs/src" "$tmp/outside"
printf 'TOKEN-5e1f-not-for-output\n' > "$tmp/outside/secret.txt"
printf 'def handler(e, c):\n    return 1\n' > "$tmp/specs/src/app.py"
ln -s "$tmp/outside/secret.txt" "$tmp/specs/link.py"
fn() { # file, code path
    cat > "$1" <<SPEC
apiVersion: fedbroker.dev/v1
kind: Function
metadata: {name: f}
spec:
  runtime: python3.12
  handler: app.handler
  code: {path: "$2"}
  traffic: {requestsPerMonth: 1000000, meanDuration: 100ms}
SPEC
}
fn "$tmp/specs/abs.yaml" "$tmp/outside/secret.txt"
fn "$tmp/specs/up.yaml" "../outside/secret.txt"
fn "$tmp/specs/link.yaml" "link.py"
fn "$tmp/specs/ok.yaml" "src"
for spec in abs up link; do
    for verb in validate "render --target aws" "plan --no-save" "apply --target aws:us-east-1 --dry-run"; do
        # shellcheck disable=SC2086
        check "$verb: code.path $spec is refused" run 2 $verb "$tmp/specs/$spec.yaml"
        check "... as outside the spec's tree, at file:line:col" \
            grep -q "$spec.yaml:7:16: error: /spec/code/path: code.path .* is outside the spec's directory tree" "$tmp/err"
        check "... and how to allow it" grep -q -- "--allow-path DIR" "$tmp/err"
        check "... with nothing of the file in the output" nowhere
    done
done
check "the spec's own tree is read" run 0 validate "$tmp/specs/ok.yaml"
# --allow-path widens the tree, on every verb; the dry run then carries the file
for verb in validate "render --target aws" "plan --no-save"; do
    # shellcheck disable=SC2086
    check "$verb --allow-path reads an outside file" run 0 $verb --allow-path "$tmp/outside" "$tmp/specs/up.yaml"
done
check "apply --dry-run --allow-path packages it" \
    run 0 apply --target aws:us-east-1 --dry-run --format json --allow-path "$tmp/outside" "$tmp/specs/link.yaml"
check "... (the zip in the request holds it)" python3 -c '
import base64, io, json, sys, zipfile
reqs = json.load(open(sys.argv[1]))
blobs = [json.loads(r["body"])["Code"]["ZipFile"] for r in reqs
         if r.get("body") and "ZipFile" in r["body"]]
z = zipfile.ZipFile(io.BytesIO(base64.b64decode(blobs[0])))
sys.exit(0 if b"TOKEN-5e1f" in z.read(z.namelist()[0]) else 1)' "$tmp/out"
check "--allow-path of a file is a usage error" run 64 validate --allow-path "$tmp/outside/secret.txt" "$tmp/specs/ok.yaml"
check "--allow-path of a missing directory is a usage error" run 64 validate --allow-path "$tmp/nope" "$tmp/specs/ok.yaml"
check "--allow-path /proc is a usage error" run 64 validate --allow-path /proc "$tmp/specs/ok.yaml"
check "... naming why" grep -q "never read" "$tmp/err"
# program.file climbing out; a FIFO; /proc even under --allow-path /
mkfifo "$tmp/specs/fifo.qasm"
q() { printf 'apiVersion: fedbroker.dev/v1\nkind: QuantumJob\nmetadata: {name: q}\nspec:\n  program: {file: "%s"}\n  language: openqasm3\n' "$2" > "$1"; }
q "$tmp/specs/q1.yaml" "../../../../../../../../$tmp/outside/secret.txt"
check "program.file ../../... is refused" run 2 validate "$tmp/specs/q1.yaml"
check "... as outside the tree" grep -q "program.file .* is outside the spec's directory tree" "$tmp/err"
check "... with nothing of the file in the output" nowhere
q "$tmp/specs/q2.yaml" "fifo.qasm"
timeout 20 "$FB" validate "$tmp/specs/q2.yaml" > "$tmp/out" 2> "$tmp/err"; rc=$?
check "program.file naming a FIFO is refused (and does not block)" [ $rc -eq 2 ]
check "... as a FIFO" grep -q 'program.file "fifo.qasm" is a FIFO, not a regular file' "$tmp/err"
q "$tmp/specs/q3.yaml" "/proc/self/environ"
check "program.file /proc/self/environ is refused even under --allow-path /" \
    run 2 validate --allow-path / "$tmp/specs/q3.yaml"
check "... as never read" grep -q "is in /proc, which is never read" "$tmp/err"
# a spec on standard input is confined to the working directory
(cd "$tmp/specs" && "$FB" validate - < up.yaml > "$tmp/out" 2> "$tmp/err"); rc=$?
check "a spec on stdin reads only under the working directory" [ $rc -eq 2 ]
check "... (the message says so)" grep -q "outside the spec's directory tree" "$tmp/err"

echo "paths: $pass passed, $fail failed"
[ $fail -eq 0 ]
