#!/usr/bin/env bash
# Unsigned authoritative serving: signetd vs NSD vs Knot DNS, in the same run.
#
#   bench/unsigned.sh [-l SECONDS] [-r REPEATS] [-n NAMES] [-w WARMUP] [-p BASEPORT]
#                     [-t "signetd-plain nsd-plain knot-plain"] [-R RUN_ID]
#
# Defaults: -l 10 -r 3 -n 100000 -w 3 -p 5381, run id = date-time.
# Zone and query file come from ../shared/bench/gen-zone.py (zone -n NAMES; query plain,
# 1M lines, seed 7, i.e. the same files as the shared harness's "plain" mix) and are
# kept in bench/out/data/.  Each server (bench/targets/<name>.sh) gets its own
# loopback port (BASEPORT + index), runs alone, pinned to core $SERVER_CPU (0) with one
# worker; dnsperf runs pinned to core $CLIENT_CPU (1).  First every server is started
# once and sample answers are compared (status, flags, answer section, authority
# section of empty answers); then, REPEATS
# times and interleaved (the order rotates each round), each server is started, warmed
# up, measured with dnsperf and stopped.  The server's CPU time is utime+stime of its
# whole process tree (all threads) from /proc/PID/stat, sampled just before and just
# after dnsperf.  Output: bench/out/unsigned/RUN_ID/ (raw dnsperf output, results.tsv,
# summary.md, which is also printed).
# Env: SIGNETD_BIN (default build/daemon/signetd, copied into the run folder),
#      SHARED_BENCH (default ../shared/bench), SERVER_CPU, CLIENT_CPU.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$REPO/bench
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" && pwd)}
BENCH_DIR=$SHARED; export BENCH_DIR
# shellcheck source=/dev/null
source "$SHARED/lib.sh"   # log, start_server, stop_pidfile, port_free, cpu_snap, cpu_pct, $ZONE, $ORIGIN

DURATION=10 REPEATS=3 NAMES=100000 WARMUP=3 BASEPORT=5381
TARGETS="signetd-plain nsd-plain knot-plain"
RUN_ID=$(date +%Y-%m-%d-%H%M%S)
while getopts "l:r:n:w:p:t:R:h" o; do
    case $o in
        l) DURATION=$OPTARG;; r) REPEATS=$OPTARG;; n) NAMES=$OPTARG;; w) WARMUP=$OPTARG;;
        p) BASEPORT=$OPTARG;; t) TARGETS=$OPTARG;; R) RUN_ID=$OPTARG;;
        *) sed -n '2,22p' "$0"; exit 2;;
    esac
done
DNSPERF_OPTS="-c 10 -q 200 -T 1 -t 2"
OUT=$BENCH/out
DATA=$OUT/data
RUN=$OUT/unsigned/$RUN_ID
mkdir -p "$DATA" "$RUN/verify" "$OUT/work"
for c in dnsperf dig taskset knotd nsd python3; do
    command -v "$c" > /dev/null || { echo "missing $c" >&2; exit 1; }
done

# ---- signetd binary (copied so that a rebuild during the run cannot change it) ----
SIGNETD_SRC=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
if [ ! -x "$SIGNETD_SRC" ] && [ -z "${SIGNETD_BIN:-}" ]; then
    log "building signetd"
    (cd "$REPO" && cmake -S . -B build > /dev/null && cmake --build build -j2 > /dev/null) || { echo "build failed" >&2; exit 1; }
fi
cp "$SIGNETD_SRC" "$RUN/signetd" || exit 1
export SIGNETD_BIN=$RUN/signetd

# ---- data -------------------------------------------------------------------------
BENCH_ZONEFILE=$DATA/bench.test-$NAMES.zone; export BENCH_ZONEFILE
QFILE=$DATA/q-plain-$NAMES.txt
[ -s "$BENCH_ZONEFILE" ] || python3 "$SHARED/gen-zone.py" zone -n "$NAMES" -o "$BENCH_ZONEFILE" || exit 1
[ -s "$QFILE" ] || python3 "$SHARED/gen-zone.py" query plain -n "$NAMES" -q 1000000 --seed 7 -o "$QFILE" || exit 1

{
    echo "run_id=$RUN_ID date=$(date -Is) host=$(hostname) kernel=$(uname -r) cpus=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "signetd=$SIGNETD_SRC git=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo +dirty) build_type=$(awk -F= '/^CMAKE_BUILD_TYPE:/{print $2}' "$REPO/build/CMakeCache.txt" 2>/dev/null) binary_mtime=$(date -r "$SIGNETD_SRC" -Is) sha256=$(sha256sum "$SIGNETD_SRC" | cut -c1-16)"
    echo "dnsperf $(dnsperf -h 2>&1 | awk '/^Version/{print $2}'): taskset -c $CLIENT_CPU dnsperf -s 127.0.0.1 -p PORT -d $(basename "$QFILE") -l $DURATION $DNSPERF_OPTS; warm-up ${WARMUP}s; server on core $SERVER_CPU"
    echo "zone=$BENCH_ZONEFILE names=$NAMES records=$(grep -c ' IN ' "$BENCH_ZONEFILE") queries=$(wc -l < "$QFILE")"
} > "$RUN/run-info.txt"
cat "$RUN/run-info.txt" >&2

# ---- helpers ------------------------------------------------------------------------
port_of() { local i=0 t; for t in $TARGETS; do [ "$t" = "$1" ] && { echo $((BASEPORT + i)); return; }; i=$((i + 1)); done; }

# tree_ticks PID: utime+stime (clock ticks, all threads) of PID, its descendants and the
# processes of the session PID leads (NSD's serving child is reparented to init, so the
# nsd-plain target starts NSD with setsid to keep it findable).
# shellcheck disable=SC2086,SC2116  # word splitting of pid lists is intended
tree_ticks() {
    local pids=$1 frontier=$1 p kids
    while [ -n "$frontier" ]; do
        kids=""
        for p in $frontier; do kids="$kids $(ps -o pid= --ppid "$p" 2>/dev/null)"; done
        frontier=$(echo $kids)
        pids="$pids $frontier"
    done
    pids="$pids $(ps -o pid= --sid "$1" 2>/dev/null)"
    for p in $(echo $pids | tr ' ' '\n' | sort -u); do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null; done | awk '{t += $12 + $13} END {print t + 0}'
}

# answer "signature" of one query: status, flags, section counts, sorted records per section.
# Everything before " || " is compared strictly: status, flags, the answer section, and the
# authority section when the answer is empty (NXDOMAIN, NODATA, referral).  The rest (authority
# beside a positive answer, e.g. NSD's NS set; the additional section) is reported only.
sig() {
    local port=$1 name=$2 type=$3 out status flags an au ad
    out=$(dig @127.0.0.1 -p "$port" +norec +time=2 +tries=2 +nocookie "$name" "$type" 2>&1)
    status=$(echo "$out" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
    flags=$(echo "$out" | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p')
    an=$(echo "$out" | sed -n 's/^;; flags:.* ANSWER: \([0-9]*\),.*/\1/p')
    au=$(echo "$out" | sed -n 's/^;; flags:.* AUTHORITY: \([0-9]*\),.*/\1/p')
    ad=$(echo "$out" | sed -n 's/^;; flags:.* ADDITIONAL: \([0-9]*\).*/\1/p')
    section() { echo "$out" | awk -v s=";; $1 SECTION:" '$0 == s {f=1; next} /^$/ {f=0} f' | tr -s ' \t' ' ' | sort | tr '\n' '|'; }
    if [ "${an:-0}" = 0 ]; then
        echo "$name $type | ${status:-NO-ANSWER} | ${flags:-} | AN $an | AU $au: $(section AUTHORITY) || AD $ad: $(section ADDITIONAL)"
    else
        echo "$name $type | ${status:-NO-ANSWER} | ${flags:-} | AN $an: $(section ANSWER) || AU $au: $(section AUTHORITY) | AD $ad: $(section ADDITIONAL)"
    fi
}

# sample queries: existing names of each type, NODATA, delegation, wildcard, CNAME, NXDOMAIN, case
samples() {
    local z=$BENCH_ZONEFILE d
    echo "$ZONE SOA"; echo "$ZONE NS"; echo "$ZONE MX"; echo "$ZONE TXT"; echo "$ZONE AAAA"
    echo "www.$ORIGIN A"; echo "www.$ORIGIN CNAME"
    for t in A AAAA TXT MX; do
        awk -v t="$t" '$1 ~ /^h[0-9]+$/ && $3 == t {print $1}' "$z" | awk 'NR==1 || NR==77 || NR==2001' | sed "s/\$/.$ORIGIN $t/"
    done
    awk '$1 ~ /^h[0-9]+$/ {print $1}' "$z" | sort -u | awk 'NR%20011==5' | while read -r n; do
        for t in A AAAA TXT MX NS; do echo "$n.$ORIGIN $t"; done
    done
    d=$(awk '$1 ~ /^d[0-9]+$/ && $3 == "NS" {print $1; exit}' "$z")
    echo "$d.$ORIGIN NS"; echo "$d.$ORIGIN A"; echo "www.$d.$ORIGIN A"; echo "ns1.$d.$ORIGIN A"
    echo "foo.wild.$ORIGIN A"; echo "foo.wild.$ORIGIN TXT"; echo "foo.wild.$ORIGIN AAAA"; echo "a.b.wild.$ORIGIN A"
    echo "wild.$ORIGIN A"
    echo "nx-verify.$ORIGIN A"; echo "nx.h0000001.$ORIGIN A"
    echo "H0000001.BENCH.test. A"
    echo "$(awk '$1 ~ /^h[0-9]+$/ {l=$1} END {print l}' "$z").$ORIGIN A"
}

# start_target NAME WORKDIR PORT: start and wait until the zone answers (incl. its last name)
start_target() {
    local t=$1 wd=$2 port=$3 i last
    rm -rf "$wd"; mkdir -p "$wd"
    port_free "$port" || { log "$t: port $port busy"; return 1; }
    target_start "$BENCH_ZONEFILE" "$port" "$wd" unsigned || { log "$t: start failed"; return 1; }
    last=$(awk '$1 ~ /^h[0-9]+$/ {l=$1} END {print l}' "$BENCH_ZONEFILE").$ORIGIN
    for i in $(seq 1 600); do
        kill -0 "$(cat "$wd/server.pid")" 2>/dev/null || { log "$t: died at start"; tail -5 "$wd/stdout.log" >&2; return 1; }
        if dig @127.0.0.1 -p "$port" +norec +time=1 +tries=1 "$ZONE" SOA 2>/dev/null | grep -q 'status: NOERROR' &&
           dig @127.0.0.1 -p "$port" +norec +time=1 +tries=1 +short "$last" A 2>/dev/null | grep -q '^10\.'; then
            return 0
        fi
        sleep 0.2
    done
    log "$t: not ready after 120 s"; return 1
}

trap 'exit 130' INT TERM

# ---- 1. correctness: same answers from every server ---------------------------------
samples > "$RUN/verify/queries.txt"
ref=""
for t in $TARGETS; do
    (
        # shellcheck source=/dev/null
        source "$BENCH/targets/$t.sh"
        wd=$OUT/work/$t; port=$(port_of "$t")
        trap 'target_stop "$wd"' EXIT; trap 'exit 130' INT TERM
        start_target "$t" "$wd" "$port" || exit 1
        target_describe > "$RUN/$t.describe"
        while read -r n ty; do sig "$port" "$n" "$ty"; done < "$RUN/verify/queries.txt" > "$RUN/verify/$t.txt"
    ) || { log "$t: could not be started, see $OUT/work/$t"; exit 1; }
    [ -z "$ref" ] && ref=$t
done
verdict=OK
: > "$RUN/verify/diff.txt"
for t in $TARGETS; do
    [ "$t" = "$ref" ] && continue
    # strict: everything before " ||" (see sig)
    if ! diff <(sed 's/ || .*//' "$RUN/verify/$ref.txt") <(sed 's/ || .*//' "$RUN/verify/$t.txt") \
              > "$RUN/verify/$ref-vs-$t.strict.diff"; then
        verdict=MISMATCH
    fi
    diff "$RUN/verify/$ref.txt" "$RUN/verify/$t.txt" > "$RUN/verify/$ref-vs-$t.full.diff"
    { echo "== $ref vs $t (strict: status, flags, answer; authority if no answer) =="; cat "$RUN/verify/$ref-vs-$t.strict.diff"
      echo "== $ref vs $t (full, incl. additional section) =="; cat "$RUN/verify/$ref-vs-$t.full.diff"; } >> "$RUN/verify/diff.txt"
done
log "verification ($(wc -l < "$RUN/verify/queries.txt") queries, reference $ref): $verdict"
if [ $verdict != OK ]; then
    cat "$RUN/verify/diff.txt" >&2
    echo "answers differ: see $RUN/verify/ (set FORCE=1 to measure anyway)" >&2
    [ "${FORCE:-0}" = 1 ] || exit 1
fi
echo "$verdict" > "$RUN/verify/verdict"

# ---- 2. measurements, interleaved ---------------------------------------------------
printf 'rep\ttarget\tqps\tsent\tcompleted\tlost\tcpu_ticks\tus_per_query\tcore0_busy\tcore1_busy\tavg_latency_ms\n' > "$RUN/results.tsv"
read -r -a TLIST <<< "$TARGETS"
NT=${#TLIST[@]}
for rep in $(seq 1 "$REPEATS"); do
    for k in $(seq 0 $((NT - 1))); do
        t=${TLIST[$(( (k + rep - 1) % NT ))]}
        (
            # shellcheck source=/dev/null
            source "$BENCH/targets/$t.sh"
            wd=$OUT/work/$t; port=$(port_of "$t")
            trap 'target_stop "$wd"' EXIT; trap 'exit 130' INT TERM
            start_target "$t" "$wd" "$port" || exit 1
            pid=$(cat "$wd/server.pid")
            # shellcheck disable=SC2086
            taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$QFILE" -l "$WARMUP" $DNSPERF_OPTS > /dev/null 2>&1
            out=$RUN/${t}__$rep.dnsperf.txt
            c0=$(cpu_snap); t0=$(tree_ticks "$pid")
            # shellcheck disable=SC2086
            taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$QFILE" -l "$DURATION" $DNSPERF_OPTS > "$out.tmp" 2>&1
            t1=$(tree_ticks "$pid"); c1=$(cpu_snap)
            kill -0 "$pid" 2>/dev/null || { log "$t: server died during the run"; exit 1; }
            { echo "# server $(cat "$RUN/$t.describe") pid $pid port $port"
              echo "# server cpu ticks (utime+stime, whole tree, CLK_TCK $(getconf CLK_TCK)): before $t0 after $t1"
              echo "# busy % core $SERVER_CPU / core $CLIENT_CPU: $(cpu_pct "$c0" "$c1")"
              grep -v '^\[Timeout\]' "$out.tmp"; } > "$out"
            rm -f "$out.tmp"
            awk -v rep="$rep" -v t="$t" -v dt=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v busy="$(cpu_pct "$c0" "$c1")" '
                /Queries sent:/ {s=$3} /Queries completed:/ {c=$3} /Queries lost:/ {l=$3}
                /Queries per second:/ {q=$4} /Average Latency/ {lat=$4}
                END { split(busy, b, " ");
                      printf "%s\t%s\t%.0f\t%d\t%d\t%d\t%d\t%.3f\t%s\t%s\t%.3f\n", rep, t, q, s, c, l, dt,
                             (c > 0 ? dt * 1e6 / hz / c : 0), b[1], b[2], lat * 1000 }' "$out" >> "$RUN/results.tsv"
            tail -1 "$RUN/results.tsv" | awk -F'\t' '{printf "[round %s] %-11s %7s qps  completed %s/%s  lost %s  cpu %s ticks = %s us/query  core busy %s%%/%s%%\n", $1, $2, $3, $5, $4, $6, $7, $8, $9, $10}' >&2
        ) || log "$t: round $rep failed"
    done
done

# ---- 3. summary ---------------------------------------------------------------------
python3 - "$RUN" "$TARGETS" > "$RUN/summary.md" <<'PY'
import csv, statistics, sys, os
run, targets = sys.argv[1], sys.argv[2].split()
rows = list(csv.DictReader(open(os.path.join(run, 'results.tsv')), delimiter='\t'))
info = open(os.path.join(run, 'run-info.txt')).read().strip()
verdict = open(os.path.join(run, 'verify', 'verdict')).read().strip() if os.path.exists(os.path.join(run, 'verify', 'verdict')) else '?'
def desc(t):
    p = os.path.join(run, t + '.describe')
    return open(p).read().strip() if os.path.exists(p) else t
by = {t: [r for r in rows if r['target'] == t] for t in targets}
med = {}
for t, rs in by.items():
    if not rs:
        continue
    f = lambda k: statistics.median(float(r[k]) for r in rs)
    sent = sum(int(r['sent']) for r in rs)
    med[t] = dict(qps=f('qps'), us=f('us_per_query'), ans=100.0 * sum(int(r['completed']) for r in rs) / sent if sent else 0,
                  lost=100.0 * sum(int(r['lost']) for r in rs) / sent if sent else 0, lat=f('avg_latency_ms'),
                  c0=f('core0_busy'), c1=f('core1_busy'))
ref = next((t for t in targets if t.startswith('knot')), None)
print('# Unsigned serving: %s\n' % ' / '.join(targets))
print('```\n%s\n```\n' % info)
print('Answers verified identical before measuring (status, flags, answer section; authority section when the answer is empty; additional reported only): **%s** (see verify/).\n' % verdict)
print('Medians over %d round(s); "answered" and "lost" are over all rounds; CPU µs/query = server utime+stime (whole process, all threads) / queries completed.\n' % max((len(v) for v in by.values()), default=0))
print('| server | QPS | answered | lost | CPU µs/query | avg latency ms | core busy % srv/cli | QPS ÷ Knot | CPU/query ÷ Knot |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for t in targets:
    if t not in med:
        print('| %s | failed | | | | | | | |' % t); continue
    m = med[t]
    rq = '%.2f' % (m['qps'] / med[ref]['qps']) if ref in med and med[ref]['qps'] else '-'
    rc = '%.2f' % (m['us'] / med[ref]['us']) if ref in med and med[ref]['us'] else '-'
    print('| %s | %.0f | %.3f%% | %.3f%% | %.2f | %.3f | %.0f/%.0f | %s | %s |' % (t, m['qps'], m['ans'], m['lost'], m['us'], m['lat'], m['c0'], m['c1'], rq, rc))
print('\nServers:\n')
for t in targets:
    print('* `%s`: %s' % (t, desc(t)))
print('\nAll runs:\n')
print('| round | server | QPS | sent | completed | lost | CPU ticks | CPU µs/query | core busy % srv/cli |')
print('|---:|---|---:|---:|---:|---:|---:|---:|---:|')
for r in rows:
    print('| %s | %s | %s | %s | %s | %s | %s | %s | %s/%s |' % (r['rep'], r['target'], r['qps'], r['sent'], r['completed'], r['lost'], r['cpu_ticks'], r['us_per_query'], r['core0_busy'], r['core1_busy']))
PY
ln -sfn "$RUN_ID" "$OUT/unsigned/latest"
cat "$RUN/summary.md"
log "raw output and summary: $RUN"
