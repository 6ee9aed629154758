# NSD serving the zone unsigned (no DNSSEC), server-count 1, RRL off.
# Same contract as ../shared/bench/targets/*.sh; only the "unsigned" denial.
# NSD forks: the started process (server.pid) becomes xfrd, forks "main", and the
# serving child ends up reparented to init.  It is started with setsid (which execs
# nsd in place, so server.pid stays nsd's pid) so that all of NSD's processes share
# the session led by server.pid: bench/unsigned.sh sums CPU over that session.
# shellcheck shell=bash
target_describe() { echo "NSD $(nsd -v 2>&1 | awk 'NR==1{print $3}'), unsigned, server-count 1, rrl-ratelimit 0"; }
target_supports() { [ "$1" = unsigned ]; }
target_start() {
    local zf=$1 port=$2 wd=$3 denial=$4
    [ "$denial" = unsigned ] || return 1
    cp "$zf" "$wd/$ZONE.zone"
    cat > "$wd/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$port
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$wd"
    database: ""
    zonelistfile: "$wd/zone.list"
    xfrdfile: "$wd/xfrd.state"
    xfrdir: "$wd"
    pidfile: "$wd/nsd.pid"
    logfile: "$wd/nsd.log"
    verbosity: 1
    hide-version: no
    # Debian's NSD is built with RRL; disable it (all queries come from 127.0.0.1).
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: $ZONE
    zonefile: "$wd/$ZONE.zone"
CONF
    start_server "$wd" setsid nsd -d -c "$wd/nsd.conf"
}
target_stop() {
    local wd=$1 p
    p=$(cat "$wd/nsd.pid" 2>/dev/null)
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
        kill -TERM "$p"
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$wd/nsd.pid"
    stop_pidfile "$wd"
}
