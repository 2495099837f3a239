# bench/serve_shield.sh - sourced first by serve_ab.sh and serve_floor.sh:
# SHIELD=1 runs the whole benchmark (servers, wrk) in an autogroup of its
# own at nice -20 (bench/README-serve.md, "Stop 26"). This kernel groups
# the tasks of each session (setsid) into an autogroup
# (/proc/sys/kernel/sched_autogroup_enabled = 1) and shares the CPUs
# between autogroups first: `nice -n -20 bench/...` only reweights the
# bench's tasks against each other, not against the other sessions' builds.
# An autogroup's nice is its weight against the other sessions; -20 needs
# root (CAP_SYS_NICE). Relative priorities inside the bench (the audit
# writer's +5, SCHED_BATCH, --slice-us) are unchanged. It takes most of
# the 2 cores from every other session for as long as the run lasts.
# Needs $0 and the script's arguments in "$@" at the point of sourcing.
if [ "${SHIELD:-0}" = 1 ]; then
    if command -v setsid >/dev/null 2>&1 && [ -w /proc/self/autogroup ]; then
        SHIELD=2 exec setsid -w "$0" "$@"
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
