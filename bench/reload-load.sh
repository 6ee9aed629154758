#!/usr/bin/env bash
# A big signed zone reloaded under a steady query load (issue 17): does a reload stall the
# queries that arrive meanwhile, and how long until the new version is served?
#
#   bench/reload-load.sh [-n NAMES] [-d nsec|nsec3] [-q LOAD_QPS] [-r SIDE_QPS]
#                        [-i IDLE_S] [-w WINDOW_S] [-t "signetd knot-diff knot-online"]
#                        [-p PORT] [-R RUN_ID]
#
# -n 441000 (default): ../shared/bench/gen-zone.py zone -n 441000 = 999,506 records.
# Per target, one after the other in the same run, server pinned to SERVER_CPU (0), load
# and side stream to CLIENT_CPU (1):
#   1. start, wait until the zone answers signed (shared lib.sh wait_ready);
#   2. a background load: dnsperf -Q LOAD_QPS (default 5000) of the "hit" mix, DO set,
#      for the whole measurement;
#   3. idle: the side stream (bench/dos_side.py: one query at a time at SIDE_QPS, default
#      500, 1 s timeout = lost) for IDLE_S (10) seconds: p50/p99/max;
#   4. reload: the zone file gets one new name (and a higher SOA serial), the server is
#      told to reload (signetd: SIGHUP; Knot: knotc zone-reload), and the side stream runs
#      for WINDOW_S (30) seconds from that moment while the new name is polled every
#      50 ms: p50/p99/max/lost during the reload, and the seconds until the new name
#      answers signed.
# Targets: signetd (bench/targets/signetd.sh: online signing, signature cache), knot-diff
# (Knot 3.2 automatic signing, the shared knot-auto config with zonefile-load:
# difference-no-serial, so that a reload signs only what changed: Knot's best case), and
# knot-online (Knot's mod-onlinesign, shared knot-online target).
# Goal (issue 17): p99 during the reload ≤ 2 × the idle p99, nothing lost.
# Output: bench/out/reload-load/RUN_ID/ (per target: side-idle.json, side-reload.json,
# dnsperf.txt, logs; summary.md, printed).
# Env: SIGNETD_BIN, SIGNETCTL_BIN, SHARED_BENCH, SERVER_CPU, CLIENT_CPU.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$REPO/bench
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" && pwd)}
NAMES=441000 DENIAL=nsec LOAD_QPS=5000 SIDE_QPS=500 IDLE=10 WINDOW=30 PORT=5481
TARGETS="signetd knot-diff knot-online" RUN_ID=reload-$(date +%Y-%m-%d-%H%M%S)
while getopts "n:d:q:r:i:w:t:p:R:h" o; do
    case $o in
        n) NAMES=$OPTARG;; d) DENIAL=$OPTARG;; q) LOAD_QPS=$OPTARG;; r) SIDE_QPS=$OPTARG;;
        i) IDLE=$OPTARG;; w) WINDOW=$OPTARG;; t) TARGETS=$OPTARG;; p) PORT=$OPTARG;;
        R) RUN_ID=$OPTARG;;
        *) sed -n '2,29p' "$0"; exit 2;;
    esac
done
for c in dnsperf kdig taskset python3; do
    command -v "$c" > /dev/null || { echo "missing $c" >&2; exit 1; }
done
# shellcheck source=/dev/null
. "$SHARED/lib.sh"
DATA=$BENCH/out/data RUN=$BENCH/out/reload-load/$RUN_ID
mkdir -p "$DATA" "$RUN" || exit 1
BENCH_ZONEFILE=$DATA/bench.test-$NAMES.zone
export BENCH_ZONEFILE
if [ ! -s "$BENCH_ZONEFILE" ]; then
    log "generating $BENCH_ZONEFILE"
    python3 "$SHARED/gen-zone.py" zone -n "$NAMES" -o "$BENCH_ZONEFILE" || exit 1
fi
QLOAD=$DATA/q-hit-$NAMES.txt QSIDE=$DATA/q-side-$NAMES.txt
[ -s "$QLOAD" ] || python3 "$SHARED/gen-zone.py" query hit -n "$NAMES" -q 1000000 -o "$QLOAD" || exit 1
[ -s "$QSIDE" ] || python3 "$SHARED/gen-zone.py" query hit -n "$NAMES" -q 20000 --seed 11 -o "$QSIDE" || exit 1
# signetd under test: a copy, so that a rebuild during the run changes nothing
SRC=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
[ -x "$SRC" ] || { echo "no signetd at $SRC (build it, or set SIGNETD_BIN)" >&2; exit 1; }
mkdir -p "$RUN/bin" && cp "$SRC" "$RUN/bin/signetd" || exit 1
export SIGNETD_BIN=$RUN/bin/signetd
export SIGNETCTL_BIN=${SIGNETCTL_BIN:-$REPO/build/ctl/signetctl}

# the zone file a target serves, given one more name and a higher serial
bump_zone() { # file n
    awk -v n="$2" '!done && $3 == "SOA" { $6 = $6 + n; done = 1 } { print }
        END { printf "reload-marker-%d IN TXT \"reload %d\"\n", n, n }' "$1" > "$1.new" &&
        mv "$1.new" "$1"
}

# seconds from T0 until NAME answers TXT with an RRSIG (polled every 50 ms), or "none"
wait_name() { # name t0 limit_s
    local end; end=$(echo "$2 + $3" | bc -l)
    while [ "$(echo "$(date +%s.%N) < $end" | bc -l)" = 1 ]; do
        if kdig @127.0.0.1 -p "$PORT" +dnssec +norec +timeout=1 +retry=0 "$1" TXT 2> /dev/null |
                awk '$4 == "RRSIG" && $5 == "TXT" {f = 1} END {exit !f}'; then
            echo "$(date +%s.%N) - $2" | bc -l; return 0
        fi
        sleep 0.05
    done
    echo none
}

side() { # out.json seconds
    taskset -c "$CLIENT_CPU" python3 "$BENCH/dos_side.py" --port "$PORT" --queries "$QSIDE" \
        --rate "$SIDE_QPS" --seconds "$2" --names 20000 > "$1"
}

run_target() {
    local t=$1 wd=$RUN/$1 tfile reload_cmd pid
    mkdir -p "$wd"
    case $t in
        signetd) tfile=$BENCH/targets/signetd.sh;;
        knot-diff) tfile=$SHARED/targets/knot-auto.sh;;
        knot-online) tfile=$SHARED/targets/knot-online.sh;;
        *) log "unknown target $t"; return 1;;
    esac
    # shellcheck source=/dev/null
    . "$tfile"
    port_free "$PORT" || { log "port $PORT is busy"; return 1; }
    log "$t: starting"
    local t0; t0=$(date +%s.%N)
    if [ "$t" = knot-diff ]; then
        # the knot-auto config, but a reload diffs the file against the zone and signs only
        # the difference
        mkdir -p "$wd/db"
        cp "$BENCH_ZONEFILE" "$wd/$ZONE.zone"
        knot_conf "$wd" "$PORT" "$DENIAL" auto "$wd/$ZONE.zone"
        sed -i 's/zonefile-load: whole/zonefile-load: difference-no-serial/;
                s/journal-content: none/journal-content: all\n    journal-max-usage: 8G/;
                s/journal-db-max-size: 2G/journal-db-max-size: 16G/' "$wd/knot.conf"
        start_server "$wd" knotd -c "$wd/knot.conf"
    else
        target_start "$BENCH_ZONEFILE" "$PORT" "$wd" "$DENIAL" || { log "$t: start failed"; return 1; }
    fi
    pid=$(cat "$wd/server.pid")
    sleep 1
    kill -0 "$pid" 2> /dev/null || { log "$t: exited at start: $(tail -3 "$wd"/*.log)"; return 1; }
    if ! wait_ready "$PORT" "$DENIAL" 900; then
        log "$t: not ready after 900 s"; stop_pidfile "$wd"; return 1
    fi
    local ready; ready=$(echo "$(date +%s.%N) - $t0" | bc -l)
    log "$t: signed and answering after ${ready}s"
    case $t in
        signetd) reload_cmd() { kill -HUP "$pid"; };;
        *) reload_cmd() { knotc -c "$wd/knot.conf" zone-reload "$ZONE" > /dev/null; };;
    esac
    local secs=$((IDLE + WINDOW + 20))
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$QLOAD" -D -Q "$LOAD_QPS" \
        -l "$secs" -c 4 > "$wd/dnsperf.txt" 2>&1 &
    local dp=$!
    sleep 5 # the load settles (signature cache warm for its names)
    side "$wd/side-idle.json" "$IDLE"
    bump_zone "$wd/$ZONE.zone" 1
    local tr; tr=$(date +%s.%N)
    reload_cmd
    side "$wd/side-reload.json" "$WINDOW" &
    local sp=$!
    local served; served=$(wait_name "reload-marker-1.$ZONE" "$tr" "$WINDOW")
    wait "$sp"
    log "$t: new version answered after ${served}s"
    wait "$dp"
    local rss; rss=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2> /dev/null)
    stop_pidfile "$wd"
    printf '%s\t%s\t%s\t%s\n' "$t" "$ready" "$served" "${rss:-}" >> "$RUN/results.tsv"
}

: > "$RUN/results.tsv"
for t in $TARGETS; do run_target "$t"; done

python3 - "$RUN" "$LOAD_QPS" "$SIDE_QPS" "$NAMES" <<'PY' > "$RUN/summary.md"
import json, os, sys, re
run, load, side, names = sys.argv[1:5]
rows = [l.rstrip('\n').split('\t') for l in open(os.path.join(run, 'results.tsv')) if l.strip()]
print('Zone: gen-zone.py -n %s; background load %s qps (dnsperf, hit mix, DO); side stream %s qps, '
      'one query at a time, 1 s timeout.\n' % (names, load, side))
print('| target | start until signed (s) | idle p50 / p99 / max ms | reload p50 / p99 / max ms | '
      'lost idle / reload | p99 reload ÷ idle | new version served after (s) | load answered % | peak RSS MiB |')
print('|---|---|---|---|---|---|---|---|---|')
for t, ready, served, rss in rows:
    try:
        i = json.load(open(os.path.join(run, t, 'side-idle.json')))
        r = json.load(open(os.path.join(run, t, 'side-reload.json')))
    except (OSError, ValueError):
        print('| %s | %s | failed | | | | | | |' % (t, ready)); continue
    dp = open(os.path.join(run, t, 'dnsperf.txt')).read()
    m = re.search(r'Queries completed:\s+\d+ \(([\d.]+)%\)', dp)
    ratio = '%.2f' % (r['p99_ms'] / i['p99_ms']) if i['p99_ms'] and r['p99_ms'] else 'n/a'
    print('| %s | %.1f | %s / %s / %s | %s / %s / %s | %d / %d | %s | %s | %s | %s |' % (
        t, float(ready), i['p50_ms'], i['p99_ms'], i['max_ms'], r['p50_ms'], r['p99_ms'], r['max_ms'],
        i['lost'], r['lost'], ratio, served if served == 'none' else '%.2f' % float(served),
        m.group(1) if m else '?', '%.0f' % (int(rss) / 1024) if rss else ''))
PY
cat "$RUN/summary.md"
ln -sfn "$RUN_ID" "$BENCH/out/reload-load/latest"
