# bench/bench_lib.sh - shell functions the benchmarks share (sourced by
# bench/k8s_apply.sh, plan_apply.sh, serve_ab.sh and serve_floor.sh; POSIX sh).

# bench_kubeconfig PORT FILE: a kubeconfig for bench/k8s_fastfake on
# 127.0.0.1:PORT (plain HTTP, the token the stand-in expects), mode 600.
bench_kubeconfig() {
    cat > "$2" <<KC
apiVersion: v1
kind: Config
clusters: [{name: bench, cluster: {server: "http://127.0.0.1:$1"}}]
users: [{name: bench, user: {token: bench-token}}]
contexts: [{name: bench, context: {cluster: bench, user: bench}}]
current-context: bench
KC
    chmod 600 "$2"
}

# bench_shield SCRIPT ARGS...: SHIELD=1 runs SCRIPT ARGS again in a session
# of its own (setsid) and does not return; there (SHIELD=2) the session's
# autogroup gets nice -20 (root), so the other sessions' load mostly stays
# off the bench's CPUs (bench/README-serve.md, "Stop 26"). Without
# SHIELD, or where it cannot be had, it returns and the run is unshielded.
bench_shield() {
    if [ "${SHIELD:-0}" = 1 ]; then
        if command -v setsid >/dev/null 2>&1 && [ -w /proc/self/autogroup ]; then
            SHIELD=2 exec setsid -w "$@"
        fi
        echo "SHIELD=1: no setsid or /proc/self/autogroup; running unshielded" >&2
    elif [ "${SHIELD:-0}" = 2 ]; then
        # a new session: this shell and its children are the autogroup
        if echo -20 >"/proc/$$/autogroup" 2>/dev/null; then
            echo "shield: $(cat "/proc/$$/autogroup") (this run's own autogroup)"
        else
            echo "SHIELD=1: cannot set the autogroup's nice (not root?); running unshielded" >&2
        fi
    fi
}
