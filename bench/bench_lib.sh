# bench/bench_lib.sh - shell functions the apply benchmarks share (sourced by
# bench/k8s_apply.sh and bench/plan_apply.sh).

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
