#!/bin/sh
# The conformance kit through the real CLI: it rejects each bad driver with
# its own message, and the example driver (built in tree and out of tree
# with pkg-config, as a driver author would) passes every check.
set -u
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
fail=0

expect_refusal() { # file message
    out=$("$FEDBROKER" drivers test "$tmp/$1" 2>&1); rc=$?
    if [ $rc -ne 1 ]; then echo "FAIL: $1: exit $rc, expected 1"; echo "$out"; fail=1; return; fi
    case "$out" in
    *"$2"*) echo "ok: $1 refused: $2" ;;
    *) echo "FAIL: $1: expected '$2' in:"; echo "$out"; fail=1 ;;
    esac
}

for v in wrong_major newer_minor no_entry extra_export bad_caps; do
    cp "$TESTDRV_DIR/$v.so" "$tmp/$v.so"; chmod 755 "$tmp/$v.so"
done
expect_refusal wrong_major.so "wrong ABI major version"
expect_refusal newer_minor.so "newer ABI minor version"
expect_refusal no_entry.so "missing entry point"
expect_refusal extra_export.so "exports 2 symbols"
expect_refusal bad_caps.so "capability bits disagree with the slots"
cp "$TESTDRV_DIR/testdrv.so" "$tmp/testdrv.so"; chmod 757 "$tmp/testdrv.so"
expect_refusal testdrv.so "is world-writable"
mkdir "$tmp/open"; chmod 777 "$tmp/open"
cp "$TESTDRV_DIR/testdrv.so" "$tmp/open/testdrv.so"; chmod 755 "$tmp/open/testdrv.so"
expect_refusal open/testdrv.so "directory $tmp/open is world-writable"

# ABI 1.4 reads an ABI 1.0 driver: its struct ends before the usage slot,
# where behave_v1_0.so keeps a pointer to a function that aborts. The host
# must treat the slot as NULL: load it (caps without FB_CAP_ESTIMATE agree
# with its slots) and pass every check without calling it.
cp "$TESTDRV_DIR/behave_v1_0.so" "$tmp/behave_v1_0.so"; chmod 755 "$tmp/behave_v1_0.so"
out=$("$FEDBROKER" drivers test "$tmp/behave_v1_0.so" 2>&1); rc=$?
if [ $rc -eq 0 ] && ! echo "$out" | grep -q '^FAIL' && echo "$out" | grep -q "ABI version: driver 1.0, host 1.4"; then
    echo "ok: an ABI 1.0-shaped driver loads under ABI 1.4 and passes the kit"
else
    echo "$out"; echo "FAIL: the ABI 1.0-shaped driver (exit $rc)"; fail=1
fi
out=$(FEDBROKER_DRIVER_PATH="$tmp" "$FEDBROKER" drivers 2>&1); rc=$?
case "$out" in
*behave_v1_0*) echo "ok: fedbroker drivers lists the 1.0 driver" ;;
*) echo "$out"; echo "FAIL: fedbroker drivers does not list the 1.0 driver (exit $rc)"; fail=1 ;;
esac

# plan: a driver without usage is named in a warning and its offers are
# eliminated as unpriceable; the example driver (usage, FB_CAP_ESTIMATE,
# priced as local Kubernetes nodes) is placed. 0.5 vCPU and 512 MiB for
# 730 h at OpenCost's defaults (0.031611 USD per vCPU-hour, 0.004237 per
# GB-hour) are 11.538015 + 1.546505 = 13.08 USD/month.
mkdir "$tmp/plan" "$tmp/planhome"; chmod 755 "$tmp/plan"
cp "$tmp/behave_v1_0.so" "$top_builddir/examples/driver/.libs/example.so" "$tmp/plan/"; chmod 755 "$tmp/plan/"*.so
printf 'apiVersion: fedbroker.dev/v1\nkind: Container\nmetadata: {name: plan-me, tenant: t}\nspec:\n  image: docker.io/library/nginx:1.25\n  resources: {memory: 512Mi, cpu: "0.5"}\n' > "$tmp/c.yaml"
printf 'apiVersion: fedbroker.dev/v1\nkind: Function\nmetadata: {name: plan-fn, tenant: t}\nspec:\n  image: docker.io/library/python:3.12\n  resources: {memory: 256Mi}\n  traffic: {requestsPerMonth: 100000, meanDuration: 50ms}\n' > "$tmp/f.yaml"
out=$(FEDBROKER_HOME="$tmp/planhome" FEDBROKER_DRIVER_PATH="$tmp/plan" "$FEDBROKER" plan "$tmp/c.yaml" "$tmp/f.yaml" 2>&1); rc=$?
case "$out" in
*"warning: driver behave_v1_0 cannot estimate cost (no usage verb, FB_CAP_ESTIMATE): plan does not consider its 1 offer(s)"*)
    echo "ok: plan warns, by name, about a driver without usage" ;;
*) echo "$out"; echo "FAIL: plan does not name the driver without usage"; fail=1 ;;
esac
if [ $rc -eq 0 ] && echo "$out" | grep -q "plan-me  *example:app:on-prem  *13.08"; then
    echo "ok: plan places on the example driver, priced from its usage lines"
else
    echo "$out"; echo "FAIL: plan with the example driver (exit $rc)"; fail=1
fi

# The example driver, built in tree.
ex="$top_builddir/examples/driver/.libs/example.so"
cp "$ex" "$tmp/example.so"; chmod 755 "$tmp/example.so"
out=$("$FEDBROKER" drivers test "$tmp/example.so" 2>&1); rc=$?
echo "$out"
if [ $rc -ne 0 ] || echo "$out" | grep -q '^FAIL'; then
    echo "FAIL: the example driver does not pass the conformance kit"; fail=1
fi

# The example driver built out of tree, the way docs/driver-authors.md says:
# first against the build tree (fedbroker-kit-uninstalled.pc), then against
# the kit as `make install` lays it out (headers, libfedbroker-kit.a and the
# .pc files under a DESTDIR, found through PKG_CONFIG_SYSROOT_DIR).
mkdir "$tmp/oot"
cp "$top_srcdir/examples/driver/example.c" "$top_srcdir/examples/driver/Makefile" "$tmp/oot/"
if PKG_CONFIG_PATH="$top_builddir" make -s -C "$tmp/oot" >"$tmp/oot.log" 2>&1; then
    chmod 755 "$tmp/oot/example.so"
    out=$("$FEDBROKER" drivers test "$tmp/oot/example.so" 2>&1); rc=$?
    if [ $rc -ne 0 ]; then echo "$out"; echo "FAIL: out-of-tree example fails the kit"; fail=1
    else echo "ok: out-of-tree example driver passes the kit"; fi
else
    cat "$tmp/oot.log"; echo "FAIL: out-of-tree build of the example driver"; fail=1
fi
mkdir "$tmp/inst" "$tmp/oot2"
cp "$top_srcdir/examples/driver/example.c" "$top_srcdir/examples/driver/Makefile" "$tmp/oot2/"
if make -s -C "$top_builddir" install-fbkincludeHEADERS install-libLIBRARIES install-pkgconfigDATA \
        install-fbincludeHEADERS DESTDIR="$tmp/inst" >"$tmp/inst.log" 2>&1; then
    pcdir=$(dirname "$(find "$tmp/inst" -name fedbroker-kit.pc | head -n 1)")
    syspc=$(pkg-config --variable pc_path pkg-config)
    if PKG_CONFIG_SYSROOT_DIR="$tmp/inst" PKG_CONFIG_LIBDIR="$pcdir:$syspc" \
            make -s -C "$tmp/oot2" >"$tmp/oot2.log" 2>&1; then
        chmod 755 "$tmp/oot2/example.so"
        nsym=$(nm -D --defined-only "$tmp/oot2/example.so" | grep -c ' [TDBR] ')
        out=$("$FEDBROKER" drivers test "$tmp/oot2/example.so" 2>&1); rc=$?
        if [ $rc -ne 0 ]; then echo "$out"; echo "FAIL: example built against the installed kit fails the kit"; fail=1
        elif [ "$nsym" != 1 ]; then echo "FAIL: example built against the installed kit exports $nsym symbols"; fail=1
        else echo "ok: example driver built against the installed kit passes the kit and exports one symbol"; fi
    else
        cat "$tmp/oot2.log"; echo "FAIL: out-of-tree build against the installed kit"; fail=1
    fi
else
    cat "$tmp/inst.log"; echo "FAIL: installing the kit into a DESTDIR"; fail=1
fi
exit $fail
