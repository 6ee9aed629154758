#!/usr/bin/env bash
# Denial of service: a flood of unique random names with DO (every name new, so nothing but
# the zone's proofs and the wildcard's signature can be cached) against signetd, with RRL off
# or on, while a side stream of legitimate queries from another client network measures what
# a real client sees; signetd's RSS is sampled all along.
#
#   bench/dos.sh [-l SECONDS] [-n NAMES] [-m "CASES"] [-r SIDE_QPS] [-p PORT]
#                [-w WORKERS] [-q FLOOD_OUTSTANDING] [-R RRL_RATE] [-s RRL_SLIP]
#                [-Q RRL_FLOOD_OUTSTANDING] [-t RRL_FLOOD_TIMEOUT] [-F FLOOD_QPS]
#
# Defaults: -l 20 -n 10000 -m "nsec3 compact wildcard-rrl compact-rrl" -r 200 -p 5491 -w 1
# -q 200 -R 5 -s 2 -Q 50000 -t 2, no -F (-d is an old name of -m). -F caps every flood at
# FLOOD_QPS (dnsperf -Q), to compare cases at the same offered load.
# Cases (CASE or CASE-rrl; -rrl adds `rrl { responses-per-second RRL_RATE  slip RRL_SLIP }`
# to the server block, every other rrl option at its default: nxdomains-per-second =
# RRL_RATE, window 15 s, ipv4-prefix 24):
#   nsec, nsec3, compact  random non-existent names `<12 hex>.bench.test. A` in a zone of
#                         that denial mode (compact: RFC 9824 NXNAME answers, one fresh
#                         NSEC signature each);
#   wildcard              random names under the zone's wildcard `*.wild.bench.test`
#                         (`<12 hex>.wild.bench.test. A`) in an nsec3 zone: each a signed
#                         wildcard answer (A + RRSIG, NSEC3 of the next closer name + RRSIG).
# Per case: a fresh keystore (ECDSAP256SHA256 CSK, signature cache 1000000), signetd pinned
# to core SERVER_CPU (0) with `prometheus 127.0.0.1:PORT+1`, then
#   1. warm-up 3 s, then baseline: the side stream alone for 5 s;
#   2. flood: dnsperf -D from the file of unique names, from 127.0.0.1, on core CLIENT_CPU
#      (1), as fast as the outstanding queries allow, for SECONDS (RRL off: -q
#      FLOOD_OUTSTANDING -t 2; RRL on: -q RRL_FLOOD_OUTSTANDING -t RRL_FLOOD_TIMEOUT: every
#      dropped reply holds its slot until the timeout, so more slots keep the flood going;
#      the slots freed by a batch of timeouts make bursts that can overflow signetd's socket
#      buffer. dnsperf 2.10 (Debian 12) can hang after its run when many queries are lost
#      (seen with -t 0.1, and once with -t 2 -q 50000; its count of outstanding queries
#      goes negative, fixed in 2.11): a watchdog kills it SECONDS+30 s after its start, and
#      the row then has only signetd's figures), with the side stream
#      (bench/dos_side.py: one query at a time, paced at SIDE_QPS, 1 s timeout = lost, sent
#      from SIDE_SRC, default 127.0.1.2: another /24, so another RRL client) running at the
#      same time on the same core; /metrics and /proc/net/snmp are read before and after.
# Prints a markdown table per case and phase: flood queries sent/s and replies/s (dnsperf),
# flood queries that reached signetd/s, full answers/s, slipped (TC=1)/s and dropped/s
# (signetd's /metrics: requests - the side stream's; responses - slipped - the side
# stream's answers; signet_rrl_slipped/dropped_total), signet_rrl_limited_total,
# UDP receive-buffer drops (kernel, whole machine), signatures made/s, the amplification
# (bytes the flooding client received / bytes it sent, from dnsperf's average packet
# sizes), the side stream's loss, TC replies and p50/p99/p999/max latency, RSS min/max; then
# the load average before/after each case. Output: bench/out/dos-<date-time>/ (zone, query
# files, Corefiles, logs, dnsperf outputs, metrics scrapes, summary.md).
# Env: SIGNETD_BIN, SIGNETCTL_BIN (default build/daemon/signetd, build/ctl/signetctl),
#      SHARED_BENCH (../shared/bench: gen-zone.py), SERVER_CPU, CLIENT_CPU, SIDE_SRC, EXTRA
#      (lines added inside the server block), SIDE_NAMES (the side stream asks only the
#      first N (name, type) pairs of its file; default all 20000).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" 2>/dev/null && pwd)}
SERVER_CPU=${SERVER_CPU:-0}; CLIENT_CPU=${CLIENT_CPU:-1}; SIDE_SRC=${SIDE_SRC:-127.0.1.2}
DURATION=20 NAMES=10000 CASES="nsec3 compact wildcard-rrl compact-rrl" SIDE_QPS=200 PORT=5491
FLOOD_QPS= WORKERS=1 OUTSTANDING=200 RRL_RATE=5 RRL_SLIP=2 RRL_OUTSTANDING=50000 RRL_TIMEOUT=2
while getopts "l:n:m:d:r:p:w:q:R:s:Q:t:F:h" o; do
    case $o in
        l) DURATION=$OPTARG;; n) NAMES=$OPTARG;; m|d) CASES=$OPTARG;; r) SIDE_QPS=$OPTARG;;
        p) PORT=$OPTARG;; w) WORKERS=$OPTARG;; q) OUTSTANDING=$OPTARG;;
        R) RRL_RATE=$OPTARG;; s) RRL_SLIP=$OPTARG;; Q) RRL_OUTSTANDING=$OPTARG;; t) RRL_TIMEOUT=$OPTARG;;
        F) FLOOD_QPS=$OPTARG;;
        *) sed -n '2,50p' "$0"; exit 2;;
    esac
done
MPORT=$((PORT + 1))
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
for c in dnsperf dig taskset timeout python3 curl; do
    command -v "$c" > /dev/null || { echo "missing $c (apt-get install dnsperf bind9-dnsutils curl)" >&2; exit 1; }
done
[ -f "$SHARED/gen-zone.py" ] || { echo "no gen-zone.py in $SHARED (set SHARED_BENCH)" >&2; exit 1; }
# what each case is: denial mode, flood file, RRL on or off
flood_of() { case ${1%-rrl} in nsec|nsec3|compact) echo nx;; wildcard) echo wild;; *) return 1;; esac; }
denial_of() { case ${1%-rrl} in wildcard) echo nsec3;; *) echo "${1%-rrl}";; esac; }
for c in $CASES; do
    flood_of "$c" > /dev/null || { echo "unknown case $c (nsec, nsec3, compact, wildcard, each with or without -rrl)" >&2; exit 2; }
done
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
# the zone's wildcard (gen-zone.py makes one: *.wild.bench.test.), for the wildcard flood
WILD=$(awk '$1 ~ /^\*\./ { sub(/^\*\./, "", $1); print $1; exit }' "$OUT/bench.test.zone")
[ -n "$WILD" ] || { echo "no wildcard in the zone" >&2; exit 1; }
case $WILD in *.) ;; *) WILD=$WILD.bench.test.;; esac
python3 "$SHARED/gen-zone.py" query hit -n "$NAMES" -q 20000 -o "$OUT/q-side.txt" || exit 1
# unique random labels: more than the flood can send, so no name repeats
for f in $(for c in $CASES; do flood_of "$c"; done | sort -u); do
    suffix=bench.test.
    [ "$f" = wild ] && suffix=$WILD
    python3 - "$OUT/q-flood-$f.txt" "$suffix" <<'PY'
import os, sys
with open(sys.argv[1], 'w') as f:
    for _ in range(3000000):
        f.write('%s.%s A\n' % (os.urandom(6).hex(), sys.argv[2]))
PY
done

echo "| case | RRL | phase | flood sent/s | flood replies/s | flood lost % | flood reached signetd/s | full answers/s | slipped (TC) /s | dropped /s | rrl limited total | kernel rcvbuf drops | sigs made/s | amplification B out/in (avg req/resp B) | side sent | side lost | side TC | side p50 ms | side p99 ms | side p999 ms | side max ms | RSS min MiB | RSS max MiB |" > "$OUT/summary.md"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" >> "$OUT/summary.md"
: > "$OUT/load.txt"
rcvbuf_errors() { awk '/^Udp:/ { if (n) { for (i = 1; i <= NF; i++) if (h[i] == "RcvbufErrors") print $i } else n = split($0, h) }' /proc/net/snmp; }
scrape() { curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" > "$1" || log "could not read /metrics into $1"; }

for case in $CASES; do
    wd=$OUT/$case
    denial=$(denial_of "$case") flood=$(flood_of "$case")
    rrl=off dp_q=$OUTSTANDING dp_t=2 rrl_block=
    if [ "$case" != "${case%-rrl}" ]; then
        rrl=on dp_q=$RRL_OUTSTANDING dp_t=$RRL_TIMEOUT
        rrl_block="rrl {
        responses-per-second $RRL_RATE
        slip $RRL_SLIP
    }"
    fi
    mkdir -p "$wd"
    echo "$case before: $(cat /proc/loadavg)" >> "$OUT/load.txt"
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
    prometheus 127.0.0.1:$MPORT
    $rrl_block
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
    # one sample answer of the flood's kind, from the side stream's address
    dig +dnssec +time=1 +tries=1 -b "$SIDE_SRC" @127.0.0.1 -p "$PORT" \
        "$(head -1 "$OUT/q-flood-$flood.txt" | cut -d' ' -f1)" A > "$wd/sample-answer.txt" 2>&1
    side() { taskset -c "$CLIENT_CPU" python3 "$REPO/bench/dos_side.py" --port "$PORT" \
        --queries "$OUT/q-side.txt" --rate "$SIDE_QPS" --pid "$pid" --source "$SIDE_SRC" "$@"; }
    log "$case: warm-up (signatures of the zone's proofs, NSEC3 chain), then baseline"
    side --seconds 3 > "$wd/side-warmup.json"
    side --seconds 5 > "$wd/side-baseline.json"
    log "$case: flood for ${DURATION}s (RRL $rrl, dnsperf -q $dp_q -t $dp_t${FLOOD_QPS:+ -Q $FLOOD_QPS})"
    scrape "$wd/metrics-before.txt"
    rcv0=$(rcvbuf_errors)
    timeout -k 5 "$((DURATION + 30))" taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/q-flood-$flood.txt" -l "$DURATION" \
        -c 10 -q "$dp_q" ${FLOOD_QPS:+-Q "$FLOOD_QPS"} -T 1 -t "$dp_t" -D -O suppress=timeouts,unexpected > "$wd/dnsperf.txt" 2>&1 &
    fpid=$!
    sleep 0.5
    side --seconds "$((DURATION - 2))" --names "${SIDE_NAMES:-100000}" > "$wd/side-flood.json"
    wait "$fpid"; frc=$?
    [ "$frc" = 0 ] || { log "$case: dnsperf exited with $frc (124/137: hung, killed by the watchdog)"; echo "dnsperf exit $frc" >> "$wd/dnsperf.txt"; }
    sleep 0.3 # the last replies
    scrape "$wd/metrics-after.txt"
    echo $(( $(rcvbuf_errors) - rcv0 )) > "$wd/rcvbuf-drops.txt"
    kill "$pid"; wait "$pid"
    echo "$case after: $(cat /proc/loadavg)" >> "$OUT/load.txt"
    python3 - "$case" "$rrl" "$wd" "$DURATION" >> "$OUT/summary.md" <<'PY'
import json, re, sys
case, rrl, wd, duration = sys.argv[1:5]
perf = open(wd + '/dnsperf.txt').read()
def num(rx):
    m = re.search(rx, perf)
    return float(m.group(1)) if m else None
def metric(which, name):
    total = 0
    try:
        for line in open('%s/metrics-%s.txt' % (wd, which)):
            if line.startswith(name + '{') or line.startswith(name + ' '):
                total += float(line.rsplit(None, 1)[1])
    except OSError:
        return None
    return total
def delta(name):
    a, b = metric('after', name), metric('before', name)
    return None if a is None or b is None else a - b
def f(v, fmt='%.0f'):
    return '?' if v is None else fmt % v
for phase in ('baseline', 'flood'):
    s = json.load(open('%s/side-%s.json' % (wd, phase)))
    mib = lambda k: '%.1f' % (s[k] / 1024) if s[k] else '?'
    cols = ['-'] * 11
    if phase == 'flood':
        sent, done, secs = num(r'Queries sent:\s+(\d+)'), num(r'Queries completed:\s+(\d+)'), \
            num(r'Run time \(s\):\s+([\d.]+)') or float(duration)
        lost = num(r'Queries lost:\s+\d+ \(([\d.]+)%\)')
        req_b, resp_b = num(r'request (\d+), response'), num(r'response (\d+)')
        slipped, dropped = delta('signet_rrl_slipped_total'), delta('signet_rrl_dropped_total')
        limited = metric('after', 'signet_rrl_limited_total')
        responses = delta('signet_dns_responses_total')
        requests = delta('signet_dns_requests_total')
        reached = None if requests is None else requests - s['sent']
        full = None
        if responses is not None:
            full = responses - (slipped or 0) - s['answered']
        sigs = delta('signet_dnssec_signatures_total')
        per_s = lambda v: None if v is None or not secs else v / secs
        amp = '?'
        if sent and req_b and resp_b is not None:
            amp = '%.2f (%d/%d)' % (done * resp_b / (sent * req_b), req_b, resp_b)
        cols = [f(per_s(sent)), f(per_s(done)), f(lost, '%.2f'), f(per_s(reached)), f(per_s(full), '%.1f'),
                f(per_s(slipped)) if rrl == 'on' else '-', f(per_s(dropped)) if rrl == 'on' else '-',
                f(limited) if rrl == 'on' else '-', open(wd + '/rcvbuf-drops.txt').read().strip() or '?',
                f(per_s(sigs)), amp]
    print('| %s | %s | %s | %s | %d | %d | %d | %s | %s | %s | %s | %s | %s |' % (
        case, rrl, phase, ' | '.join(cols), s['sent'], s['lost'], s.get('tc', 0),
        *['-' if s[k] is None else s[k] for k in ('p50_ms', 'p99_ms', 'p999_ms', 'max_ms')],
        mib('rss_kb_min'), mib('rss_kb_max')))
PY
done
{
    printf '\nRRL cases: `rrl { responses-per-second %s  slip %s }` (other options at their defaults), flood `dnsperf -q %s -t %s`; RRL-off cases: `dnsperf -q %s -t 2`%s. Flood from 127.0.0.1, side stream from %s at %s qps. Full answers/s, slipped/s, dropped/s and signatures/s are signetd counters over the flood (full answers: responses - slipped - the side stream'"'"'s answers), divided by dnsperf'"'"'s run time (SECONDS if dnsperf printed none); the flood that reached signetd: requests - the side stream'"'"'s.\n' \
        "$RRL_RATE" "$RRL_SLIP" "$RRL_OUTSTANDING" "$RRL_TIMEOUT" "$OUTSTANDING" \
        "${FLOOD_QPS:+; every flood capped at $FLOOD_QPS queries/s (-Q)}" "$SIDE_SRC" "$SIDE_QPS"
    printf '\nLoad average (1/5/15 min) before and after each case:\n\n'
    sed 's/^/    /' "$OUT/load.txt"
    printf '\nOne flood query asked with dig +dnssec from %s before the flood (the full answer the flood is after):\n\n' "$SIDE_SRC"
    for case in $CASES; do
        printf '    %s: %s, %s\n' "$case" \
            "$(grep -o 'status: [A-Z]*' "$OUT/$case/sample-answer.txt" | head -1)" \
            "$(grep -o 'MSG SIZE  rcvd: [0-9]*' "$OUT/$case/sample-answer.txt" | sed 's/.*: //;s/$/ bytes/')"
    done
    for case in $CASES; do
        printf '\nRSS of signetd every 5 s during the %s flood (MiB): %s\n' "$case" \
            "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rss_mib_every_5s"])' "$OUT/$case/side-flood.json")"
    done
} >> "$OUT/summary.md"
cat "$OUT/summary.md"
