# Knot DNS serving the zone unsigned (no DNSSEC), 1 UDP worker.
# Same contract as ../shared/bench/targets/*.sh; only the "unsigned" denial.
# shellcheck shell=bash
target_describe() { echo "Knot DNS $(knotd -V | awk '{print $NF}') knotd, unsigned, udp-workers 1 tcp-workers 1 background-workers 1"; }
target_supports() { [ "$1" = unsigned ]; }
target_start() {
    local zf=$1 port=$2 wd=$3 denial=$4
    [ "$denial" = unsigned ] || return 1
    mkdir -p "$wd/db"
    cp "$zf" "$wd/$ZONE.zone"
    cat > "$wd/knot.conf" <<CONF
server:
    rundir: "$wd"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    pidfile: "$wd/knot.pid"
database:
    storage: "$wd/db"
log:
  - target: "$wd/knot.log"
    any: info
template:
  - id: default
    storage: "$wd"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: $ZONE
    file: "$wd/$ZONE.zone"
CONF
    start_server "$wd" knotd -c "$wd/knot.conf"
}
target_stop() { stop_pidfile "$1"; }
