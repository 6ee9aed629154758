#!/usr/bin/env bash
# Denial of service: a random-subdomain flood with DO (every name new, so nothing but the
# zone's proofs can be cached) against signetd with RRL off, while a side stream of
# legitimate queries measures what a real client sees; signetd's RSS is sampled all along.
#
#   bench/dos.sh [-l SECONDS] [-n NAMES] [-d "nsec3 compact"] [-r SIDE_QPS] [-p PORT]
#                [-w WORKERS] [-q FLOOD_OUTSTANDING]
#
# Defaults: -l 20 -n 10000 -d "nsec3 compact" -r 200 -p 5491 -w 1 -q 200.
# Per denial mode: a fresh keystore (ECDSAP256SHA256 CSK, signature cache 1000000),
# signetd pinned to core SERVER_CPU (0), then
#   1. warm-up 3 s, then baseline: the side stream alone for 5 s;
#   2. flood: dnsperf -D from a file of unique random labels (`<12 hex>.bench.test. A`)
#      on core CLIENT_CPU (1), as fast as -q outstanding queries allow, for SECONDS,
#      with the side stream (bench/dos_side.py: one query at a time, paced at SIDE_QPS,
#      1 s timeout = lost) running at the same time on the same core.
# Prints a markdown table: flood QPS answered and lost, side-stream p50/p99/p999 latency
# and loss, RSS min/max over the run. Output: bench/out/dos-<date-time>/ (zone, query
# files, Corefiles, logs, dnsperf outputs, summary.md).
# Env: SIGNETD_BIN, SIGNETCTL_BIN (default build/daemon/signetd, build/ctl/signetctl),
#      SHARED_BENCH (../shared/bench: gen-zone.py), SERVER_CPU, CLIENT_CPU, EXTRA (lines
#      added inside the server block, e.g. EXTRA='rrl' to compare), SIDE_NAMES (the side
#      stream asks only the first N (name, type) pairs of its file; default all 20000).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" 2>/dev/null && pwd)}
SERVER_CPU=${SERVER_CPU:-0}; CLIENT_CPU=${CLIENT_CPU:-1}
DURATION=20 NAMES=10000 DENIALS="nsec3 compact" SIDE_QPS=200 PORT=5491 WORKERS=1 OUTSTANDING=200
while getopts "l:n:d:r:p:w:q:h" o; do
    case $o in
        l) DURATION=$OPTARG;; n) NAMES=$OPTARG;; d) DENIALS=$OPTARG;; r) SIDE_QPS=$OPTARG;;
        p) PORT=$OPTARG;; w) WORKERS=$OPTARG;; q) OUTSTANDING=$OPTARG;;
        *) sed -n '2,22p' "$0"; exit 2;;
    esac
done
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
for c in dnsperf dig taskset python3; do
    command -v "$c" > /dev/null || { echo "missing $c (apt-get install dnsperf bind9-dnsutils)" >&2; exit 1; }
done
[ -f "$SHARED/gen-zone.py" ] || { echo "no gen-zone.py in $SHARED (set SHARED_BENCH)" >&2; exit 1; }
OUT=$REPO/bench/out/dos-$(date +%Y-%m-%d-%H%M%S)
mkdir -p "$OUT/bin"
SIGNETD_SRC=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
SIGNETCTL_SRC=${SIGNETCTL_BIN:-$REPO/build/ctl/signetctl}
if [ ! -x "$SIGNETD_SRC" ] || [ ! -x "$SIGNETCTL_SRC" ]; then
    log "building signetd and signetctl"
    (cd "$REPO" && cmake -S . -B build > /dev/null && cmake --build build -j2 > /dev/null) || exit 1
fi
# copies: a rebuild during the run must not change what is measured
cp "$SIGNETD_SRC" "$OUT/bin/signetd" && cp "$SIGNETCTL_SRC" "$OUT/bin/signetctl" || exit 1
SIGNETD=$OUT/bin/signetd SIGNETCTL=$OUT/bin/signetctl

log "zone of $NAMES names, query files"
python3 "$SHARED/gen-zone.py" zone -n "$NAMES" -o "$OUT/bench.test.zone" || exit 1
python3 "$SHARED/gen-zone.py" query hit -n "$NAMES" -q 20000 -o "$OUT/q-side.txt" || exit 1
# unique random labels: more than the flood can send, so no name repeats
python3 - "$OUT/q-flood.txt" <<'PY'
import os, sys
with open(sys.argv[1], 'w') as f:
    for _ in range(3000000):
        f.write('%s.bench.test. A\n' % os.urandom(6).hex())
PY

echo "| denial | phase | flood sent | flood answered/s | flood lost % | side sent | side lost | side p50 ms | side p99 ms | side p999 ms | side max ms | RSS min MiB | RSS max MiB |" > "$OUT/summary.md"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|" >> "$OUT/summary.md"

for denial in $DENIALS; do
    wd=$OUT/$denial
    mkdir -p "$wd"
    "$SIGNETCTL" --db "$wd/keystore.db" policy add dos --denial "$denial" --csk \
        --algorithm ecdsap256sha256 > "$wd/policy.log" 2>&1 || { cat "$wd/policy.log"; exit 1; }
    cat > "$wd/Corefile" <<CONF
{
    workers $WORKERS
    log-level warning
}
bench.test:$PORT {
    bind 127.0.0.1
    dnssec {
        keystore $wd/keystore.db
        policy dos
        signature-cache 1000000
    }
    file $OUT/bench.test.zone
    ${EXTRA:-}
}
CONF
    taskset -c "$SERVER_CPU" "$SIGNETD" -c "$wd/Corefile" > "$wd/signetd.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        dig +short +time=1 +tries=1 @127.0.0.1 -p "$PORT" bench.test SOA > /dev/null 2>&1 && break
        sleep 0.2
    done
    kill -0 "$pid" 2>/dev/null || { log "signetd did not start"; cat "$wd/signetd.log"; exit 1; }
    log "$denial: warm-up (signatures of the zone's proofs, NSEC3 chain), then baseline"
    taskset -c "$CLIENT_CPU" python3 "$REPO/bench/dos_side.py" --port "$PORT" --queries "$OUT/q-side.txt" \
        --rate "$SIDE_QPS" --seconds 3 --pid "$pid" > "$wd/side-warmup.json"
    taskset -c "$CLIENT_CPU" python3 "$REPO/bench/dos_side.py" --port "$PORT" --queries "$OUT/q-side.txt" \
        --rate "$SIDE_QPS" --seconds 5 --pid "$pid" > "$wd/side-baseline.json"
    log "$denial: flood for ${DURATION}s"
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/q-flood.txt" -l "$DURATION" \
        -c 10 -q "$OUTSTANDING" -T 1 -t 2 -D > "$wd/dnsperf.txt" 2>&1 &
    fpid=$!
    sleep 0.5
    taskset -c "$CLIENT_CPU" python3 "$REPO/bench/dos_side.py" --port "$PORT" --queries "$OUT/q-side.txt" \
        --rate "$SIDE_QPS" --seconds "$((DURATION - 2))" --pid "$pid" --names "${SIDE_NAMES:-100000}" > "$wd/side-flood.json"
    wait "$fpid"
    kill "$pid"; wait "$pid"
    python3 - "$denial" "$wd" >> "$OUT/summary.md" <<'PY'
import json, re, sys
denial, wd = sys.argv[1], sys.argv[2]
perf = open(wd + '/dnsperf.txt').read()
def num(rx):
    m = re.search(rx, perf)
    return m.group(1) if m else '?'
for phase in ('baseline', 'flood'):
    s = json.load(open('%s/side-%s.json' % (wd, phase)))
    mib = lambda k: '%.1f' % (s[k] / 1024) if s[k] else '?'
    fl = (num(r'Queries sent:\s+(\d+)'), num(r'Queries per second:\s+([\d.]+)'),
          num(r'Queries lost:\s+\d+ \(([\d.]+)%\)')) if phase == 'flood' else ('-', '-', '-')
    print('| %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |' % (
        denial, phase, fl[0], fl[1], fl[2], s['sent'], s['lost'], s['p50_ms'], s['p99_ms'],
        s['p999_ms'], s['max_ms'], mib('rss_kb_min'), mib('rss_kb_max')))
PY
done
for denial in $DENIALS; do
    printf '\nRSS of signetd every 5 s during the %s flood (MiB): %s\n' "$denial" \
        "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rss_mib_every_5s"])' "$OUT/$denial/side-flood.json")" >> "$OUT/summary.md"
done
cat "$OUT/summary.md"
