# signetd (this repository), serving the zone unsigned from memory, 1 worker thread.
# The unsigned target of bench/unsigned.sh (same contract as the shared harness's
# targets: target_describe / target_supports / target_start / target_stop, lib.sh
# loaded).  Its only "denial" is "unsigned", so ../shared/bench/run.sh (which insists on
# RRSIGs and NSEC/NSEC3) skips it; the signed targets are signetd.sh and signetd-compact.sh.
# shellcheck shell=bash
SIGNETD_BIN=${SIGNETD_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/daemon/signetd}
target_describe() { echo "signetd $("$SIGNETD_BIN" --version 2>&1 | awk 'NR==1{print $NF}') ($SIGNETD_BIN), file plugin, unsigned, workers 1"; }
target_supports() { [ "$1" = unsigned ]; }
target_start() {
    local zf=$1 port=$2 wd=$3 denial=$4
    [ "$denial" = unsigned ] || return 1
    [ -x "$SIGNETD_BIN" ] || { log "signetd: no binary at $SIGNETD_BIN"; return 1; }
    cp "$zf" "$wd/$ZONE.zone"
    cat > "$wd/Corefile" <<CONF
{
    workers 1
    log-level warning
}
$ZONE:$port {
    bind 127.0.0.1
    file $wd/$ZONE.zone
}
CONF
    "$SIGNETD_BIN" -c "$wd/Corefile" -t > "$wd/check.log" 2>&1 || { cat "$wd/check.log" >&2; return 1; }
    start_server "$wd" "$SIGNETD_BIN" -c "$wd/Corefile"
}
target_stop() { stop_pidfile "$1"; }
