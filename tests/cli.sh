#!/bin/sh
# The command line contract: every verb answers --help with a usage line and
# exit 0, is documented in fedbroker(1) with every option its --help lists,
# unknown verbs and options exit 64, --version names the ABI, and a
# malformed FEDBROKER_NOW is refused.
set -u
fail=0
verbs=$("$FEDBROKER" --help | awk '/^verbs:/ {v=1; next} v && NF {print $1} v && !NF {exit}')
[ -n "$verbs" ] || { echo "FAIL: no verbs in --help"; exit 1; }
for v in $verbs; do
    out=$("$FEDBROKER" "$v" --help 2>&1); rc=$?
    case "$out" in usage:*) ;; *) echo "FAIL: $v --help prints no usage"; fail=1 ;; esac
    [ $rc = 0 ] || { echo "FAIL: $v --help exits $rc"; fail=1; }
    grep -q "^\.BI* \"*$v" "$top_srcdir/docs/fedbroker.1" || { echo "FAIL: $v is not in fedbroker(1)"; fail=1; }
    # every option the verb's --help lists is in its fedbroker(1) entry
    # (the .TP paragraphs of VERBS whose heading names the verb)
    entry=$(awk -v v="$v" '
        /^\.SH/ { insec = ($2 == "VERBS") }
        insec && /^\.TP/ { tp = 1; keep = 0; next }
        insec && tp { keep = (index($0, ".BI \"" v " ") == 1 || index($0, ".BI \"" v "\"") == 1); tp = 0 }
        insec && keep' "$top_srcdir/docs/fedbroker.1")
    for o in $(printf '%s\n' "$out" | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p'); do
        [ "$o" = --help ] && continue
        printf '%s\n' "$entry" | grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" ||
            { echo "FAIL: $v $o (in $v --help) is not in its fedbroker(1) entry"; fail=1; }
    done
    "$FEDBROKER" "$v" --no-such-option >/dev/null 2>&1; rc=$?
    [ $rc = 64 ] || { echo "FAIL: $v with an unknown option exits $rc, not 64"; fail=1; }
done
"$FEDBROKER" drivers test --help | grep -q "^usage:" || { echo "FAIL: drivers test --help"; fail=1; }
"$FEDBROKER" no-such-verb >/dev/null 2>&1; [ $? = 64 ] || { echo "FAIL: unknown verb"; fail=1; }
"$FEDBROKER" valdate 2>&1 | grep -q "Did you mean 'validate'" || { echo "FAIL: no suggestion for a misspelt verb"; fail=1; }
"$FEDBROKER" --version | grep -q "driver ABI 1.4" || { echo "FAIL: --version"; fail=1; }
FEDBROKER_NOW=yesterday "$FEDBROKER" drivers >/dev/null 2>"${TMPDIR:-/tmp}/fbnow.$$"; rc=$?
[ $rc = 2 ] && grep -q "RFC 3339" "${TMPDIR:-/tmp}/fbnow.$$" || { echo "FAIL: malformed FEDBROKER_NOW exit $rc"; fail=1; }
rm -f "${TMPDIR:-/tmp}/fbnow.$$"
[ $fail = 0 ] && echo "ok: $(echo $verbs | wc -w) verbs: --help, man page (each verb and its options), unknown options"
exit $fail
