#!/bin/sh
# DESIGN.md's layering of core/, enforced by reading the includes: each
# folder may include its own headers, the public fedbroker/ headers and the
# folders below it:
#   base <- spec, catalog, solver, http, state, sim <- host, identity <- broker
#        <- plan, discovery <- server <- cli
# (solver depends on base only; spec, catalog, http and state are siblings
# that do not include each other). identity (the broker as an issuer: SPIFFE
# IDs, signing keys, sealed secrets) sits beside host: it keeps its keys and
# secrets in the store (state) and will fetch over the host's HTTP service
# (http), knows no driver, and is used by broker, plan and cli. An include is written with its folder,
# "spec/spec.h", as curl writes "vtls/vtls.h". discovery (the endpoints
# table's leases, health probes, resolve) sits beside plan: it reads the
# store (state), probes through the host's HTTP service (http), orders by
# the catalog's latency model, parses the spec's durations (spec) and
# bounds its probes with the broker's fan-out (broker); cli and serve use it.
# sim (the step model of `fedbroker simulate`: strategies, forecast,
# baseline optimiser) is pure computation over a spec's traffic profile: it
# includes spec only, and plan and cli use it.
# server (`fedbroker serve` and its bearer tokens) sits above discovery and
# plan: it answers from the store and the discovery table, renders stored
# plans with the report writer and lists the drivers the host loaded; only
# cli starts it.
set -eu
core="${top_srcdir:-.}/core"
allowed() { # folder -> the folders it may include
    case $1 in
    base) echo "base" ;;
    spec|catalog|solver|http|state) echo "base $1" ;;
    sim) echo "base spec sim" ;;
    host) echo "base spec catalog solver http state host" ;;
    identity) echo "base http state identity" ;;
    broker) echo "base spec catalog solver http state host identity broker" ;;
    plan) echo "base spec catalog solver http state host identity broker plan sim" ;;
    discovery) echo "base spec catalog http state broker discovery" ;;
    server) echo "base spec catalog http state host broker plan discovery identity server" ;;
    cli) echo "base spec catalog solver http state host identity broker plan discovery server sim cli" ;;
    *) echo "" ;;
    esac
}
bad=0
n=0
# one level of folders: a source directly in core/ or deeper than
# core/FOLDER/ would escape the checks below
stray=$(find "$core" -name '*.[ch]' | sed "s|^$core/||" | grep -v '^[^/]*/[^/]*$' || true)
for f in $stray; do
    echo "FAIL: core/$f is not in a layer folder (core/FOLDER/$(basename "$f"))"
    bad=1
done
for f in "$core"/*/*.c "$core"/*/*.h; do
    dir=$(basename "$(dirname "$f")")
    [ "$dir" = fedbroker ] && continue
    ok=$(allowed "$dir")
    if [ -z "$ok" ]; then
        echo "FAIL: core/$dir/ is not a layer named in tests/layering.sh (add it to DESIGN's order)"
        bad=1; continue
    fi
    # quoted includes only; system headers are <...>
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        n=$((n + 1))
        case $inc in
        config.h|fedbroker/*) continue ;;
        esac
        case $dir/$inc in
        cli/cli.h|cli/fbq.h) continue ;; # the CLI's own header; the quantum library (-I quantum)
        esac
        folder=${inc%%/*}
        if [ "$folder" = "$inc" ]; then
            echo "FAIL: ${f#"$core"/}: #include \"$inc\" has no folder; write \"FOLDER/$inc\""
            bad=1; continue
        fi
        case " $ok " in
        *" $folder "*) ;;
        *) echo "FAIL: ${f#"$core"/}: #include \"$inc\": core/$dir/ may include only: $ok"; bad=1 ;;
        esac
    done
done
[ $bad = 0 ] || exit 1
echo "ok: $n includes in core/ follow base <- spec, catalog, solver, http, state, sim <- host, identity <- broker <- plan, discovery <- server <- cli"
