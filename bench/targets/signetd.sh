# signetd (this repository), signing online: the dnssec plugin in front of the file
# plugin, keys in an SQLite keystore made fresh in WORKDIR, one worker thread.
# Target file for ../shared/bench/run.sh (target_describe / target_supports /
# target_start / target_stop; lib.sh loaded, $ZONE, $SERVER_CPU set).
#
# Denial nsec or nsec3 (RFC 9276: 0 iterations, empty salt, no opt-out), ECDSAP256SHA256,
# KSK+ZSK like knot-auto and pdns (SIGNETD_KEYS=csk for a single combined key).  The
# policy is made with `signetctl policy add`; signetd adds the zone to the keystore and
# generates its keys on first start.  Every RRSIG is made once, by the background
# presigner right after the zone is loaded (issue 23; SIGNETD_PRESIGN records, default
# signetd's own; 0: off, every RRSIG then made on the first query that needs it) and then
# served from the signature cache (SIGNETD_SIGCACHE entries, default 1000000: room for
# every RRset, NSEC and NSEC3 of the 100k-name zone, so the cache never evicts during a
# run; `auto`: no signature-cache line, signetd sizes the cache for the zone itself).
# Env: SIGNETD_BIN, SIGNETCTL_BIN (default build/daemon/signetd, build/ctl/signetctl),
#      SIGNETD_KEYS (ksk-zsk | csk), SIGNETD_SIGCACHE, SIGNETD_PRESIGN, SIGNETD_ANSWER_CACHE (a `cache`
#      SIZE line when set; see signetd-cache.sh).
# shellcheck shell=bash
SIGNET_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIGNETD_BIN=${SIGNETD_BIN:-$SIGNET_REPO/build/daemon/signetd}
SIGNETCTL_BIN=${SIGNETCTL_BIN:-$SIGNET_REPO/build/ctl/signetctl}
SIGNETD_KEYS=${SIGNETD_KEYS:-ksk-zsk}
SIGNETD_SIGCACHE=${SIGNETD_SIGCACHE:-1000000}
# denial mode in signetd's policy for the harness's DENIAL (overridden by signetd-compact.sh)
signetd_policy_denial() { echo "$1"; }
signetd_keys_label() { [ "$SIGNETD_KEYS" = csk ] && echo "CSK" || echo "KSK+ZSK"; }
target_describe() { echo "signetd $("$SIGNETD_BIN" --version 2>&1 | awk 'NR==1{print $NF}'), dnssec plugin (online signing, ECDSAP256SHA256 $(signetd_keys_label), signature cache $SIGNETD_SIGCACHE), workers 1"; }
target_supports() { case $1 in nsec|nsec3) return 0;; esac; return 1; }
target_start() {
    local zf=$1 port=$2 wd=$3 denial=$4 pd
    target_supports "$denial" || return 1
    [ -x "$SIGNETD_BIN" ] || { log "signetd: no binary at $SIGNETD_BIN"; return 1; }
    [ -x "$SIGNETCTL_BIN" ] || { log "signetd: no signetctl at $SIGNETCTL_BIN"; return 1; }
    pd=$(signetd_policy_denial "$denial")
    cp "$zf" "$wd/$ZONE.zone"
    "$SIGNETCTL_BIN" --db "$wd/keystore.db" policy add bench --denial "$pd" "--$SIGNETD_KEYS" \
        --algorithm ecdsap256sha256 > "$wd/policy.log" 2>&1 || { cat "$wd/policy.log" >&2; return 1; }
    cat > "$wd/Corefile" <<CONF
{
    workers 1
    log-level info
}
$ZONE:$port {
    bind 127.0.0.1
    dnssec {
        keystore $wd/keystore.db
        policy bench
        ${SIGNETD_SIGCACHE:+$([ "$SIGNETD_SIGCACHE" != auto ] && echo "signature-cache $SIGNETD_SIGCACHE")}
        ${SIGNETD_PRESIGN:+presign-max $SIGNETD_PRESIGN}
    }
    file $wd/$ZONE.zone
    ${SIGNETD_ANSWER_CACHE:+cache $SIGNETD_ANSWER_CACHE}
}
CONF
    "$SIGNETD_BIN" -c "$wd/Corefile" -t > "$wd/check.log" 2>&1 || { cat "$wd/check.log" >&2; return 1; }
    start_server "$wd" "$SIGNETD_BIN" -c "$wd/Corefile"
}
# Ready once the presigner has finished the zone ("presigned serial N" in the log): until
# then it signs on the server's core (SCHED_IDLE, but busy time all the same), which the
# harness's core-0 figure would charge to the queries of the warm-up and first rounds
# (seen in run s5-signed: 4.8 % of an NSEC3 nxdomain profile was the presigner). Knot's
# "ready" likewise includes signing the zone at load. Not when presigning is off.
target_wait_ready() {
    local wd=$2 i
    [ "${SIGNETD_PRESIGN:-}" = 0 ] && return 0
    for ((i = 0; i < 1200; i++)); do
        grep -q 'presigned serial' "$wd/stdout.log" 2> /dev/null && return 0
        grep -q 'presigning serial .* stopped' "$wd/stdout.log" 2> /dev/null && return 0
        sleep 0.1
    done
    log "signetd: presigning did not finish within 120 s"
    return 0
}
target_stop() {
    stop_pidfile "$1"
    # keep what the daemon said about its keys and the signature cache (logged at shutdown)
    [ -f "$1/stdout.log" ] && grep -iE 'cache|error|warn' "$1/stdout.log" > "$1/shutdown-notes.log" 2>/dev/null
    return 0
}
