#!/usr/bin/env bash
# Where does signetd's CPU go per query?  Serves the bench zone with signetd (one worker,
# core $SERVER_CPU), unsigned (bench/targets/signetd-plain.sh) or signed online
# (signetd.sh: nsec / nsec3; signetd-compact.sh: compact), drives it with the same dnsperf
# load as the benchmarks (core $CLIENT_CPU) and samples it with perf (cpu-clock, the only
# sampling event on this VM: hardware counters are not supported).
#
#   bench/profile.sh [-d unsigned|nsec|nsec3|compact] [-m plain|hit|nxdomain]
#                    [-l SECONDS] [-w WARMUP] [-n NAMES] [-p PORT] [-g] [-R RUN_ID]
#
# Defaults: -d unsigned -m plain -l 5 -n 100000 -p 5391; warm-up 2 s unsigned, 10 s signed
# (the warm-up uses the same mix, for nxdomain a different file of never-seen names, so
# that the signature cache holds the NSEC/NSEC3 signatures as in the middle of a long run;
# compact still needs a fresh signature per answer).  hit and nxdomain are sent with the
# DO bit (dnsperf -D), plain without EDNS, from the shared harness's query files
# (bench/out/data/q-{plain,hit}-N.txt, q-nxdomain-N-{0,1}.txt; made if missing).
# -g records call graphs (DWARF unwinding; heavier, changes the timing somewhat).
# Output: bench/out/profile/RUN_ID/{perf.data, report-self.txt, report-dso.txt
# [, report-children.txt], dnsperf.txt, signetd.log}.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$REPO/bench
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" && pwd)}
BENCH_DIR=$SHARED; export BENCH_DIR
# shellcheck source=/dev/null
source "$SHARED/lib.sh"
DURATION=5 NAMES=100000 PORT=5391 CG=0 DEN=unsigned MIX=plain WARMUP="" RUN_ID=""
while getopts "d:m:l:w:n:p:gR:h" o; do
    case $o in
        d) DEN=$OPTARG;; m) MIX=$OPTARG;; l) DURATION=$OPTARG;; w) WARMUP=$OPTARG;;
        n) NAMES=$OPTARG;; p) PORT=$OPTARG;; g) CG=1;; R) RUN_ID=$OPTARG;;
        *) sed -n '2,20p' "$0"; exit 2;;
    esac
done
case $DEN in
    unsigned) TARGET=signetd-plain HDEN=unsigned;;
    nsec|nsec3) TARGET=signetd HDEN=$DEN;;
    compact) TARGET=signetd-compact HDEN=nsec;;
    *) echo "-d: unsigned, nsec, nsec3 or compact" >&2; exit 2;;
esac
case $MIX in plain|hit|nxdomain) ;; *) echo "-m: plain, hit or nxdomain" >&2; exit 2;; esac
[ "$DEN" = unsigned ] && [ "$MIX" != plain ] && { echo "unsigned serving: -m plain only" >&2; exit 2; }
[ -z "$WARMUP" ] && { [ "$DEN" = unsigned ] && WARMUP=2 || WARMUP=10; }
[ -z "$RUN_ID" ] && RUN_ID=$(date +%Y-%m-%d-%H%M%S)-$DEN-$MIX
command -v perf > /dev/null || { echo "perf missing (apt-get install linux-perf)" >&2; exit 1; }
OUT=$BENCH/out; DATA=$OUT/data; RUN=$OUT/profile/$RUN_ID; WD=$OUT/work/signetd-profile
mkdir -p "$DATA" "$RUN"
BENCH_ZONEFILE=$DATA/bench.test-$NAMES.zone; export BENCH_ZONEFILE
[ -s "$BENCH_ZONEFILE" ] || python3 "$SHARED/gen-zone.py" zone -n "$NAMES" -o "$BENCH_ZONEFILE" || exit 1
# query files, named and made as ../shared/bench/run.sh makes them
case $MIX in
    plain|hit)
        QFILE=$DATA/q-$MIX-$NAMES.txt WFILE=$QFILE
        [ -s "$QFILE" ] || python3 "$SHARED/gen-zone.py" query "$MIX" -n "$NAMES" -q 1000000 \
            --seed "$([ "$MIX" = hit ] && echo 42 || echo 7)" -o "$QFILE" || exit 1;;
    nxdomain)
        WFILE=$DATA/q-nxdomain-$NAMES-0.txt QFILE=$DATA/q-nxdomain-$NAMES-1.txt
        if [ ! -s "$WFILE" ] || [ ! -s "$QFILE" ]; then
            python3 "$SHARED/gen-zone.py" query nxdomain -n "$NAMES" -q 2000000 -o "$RUN/nx.tmp" || exit 1
            sed -n '1,1000000p' "$RUN/nx.tmp" > "$WFILE"; sed -n '1000001,2000000p' "$RUN/nx.tmp" > "$QFILE"; rm -f "$RUN/nx.tmp"
        fi;;
esac
DFLAG=""; [ "$MIX" != plain ] && DFLAG=-D
SIGNETD_SRC=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
cp "$SIGNETD_SRC" "$RUN/signetd" || exit 1
export SIGNETD_BIN=$RUN/signetd   # perf report finds the symbols in this copy
export SIGNETCTL_BIN=${SIGNETCTL_BIN:-$REPO/build/ctl/signetctl}
# shellcheck source=/dev/null
source "$BENCH/targets/$TARGET.sh"

rm -rf "$WD"; mkdir -p "$WD"
trap 'target_stop "$WD"; cp "$WD/stdout.log" "$RUN/signetd.log" 2>/dev/null' EXIT; trap 'exit 130' INT TERM
port_free "$PORT" || { echo "port $PORT busy" >&2; exit 1; }
target_start "$BENCH_ZONEFILE" "$PORT" "$WD" "$HDEN" || exit 1
if [ "$DEN" = unsigned ]; then
    for _ in $(seq 1 300); do
        dig @127.0.0.1 -p "$PORT" +norec +time=1 +tries=1 "$ZONE" SOA 2>/dev/null | grep -q 'status: NOERROR' && break
        sleep 0.2
    done
else
    wait_ready "$PORT" "$HDEN" 120 || { echo "signetd not serving signed answers" >&2; exit 1; }
fi
pid=$(cat "$WD/server.pid")
log "signetd $DEN, mix $MIX: warm-up ${WARMUP}s"
# shellcheck disable=SC2086
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$WFILE" -l "$WARMUP" -c 10 -q 200 -T 1 -t 2 $DFLAG > "$RUN/warmup.txt" 2>&1
cgopt=""; [ "$CG" = 1 ] && cgopt="--call-graph dwarf,16384"
# shellcheck disable=SC2086
perf record -e cpu-clock -F 4999 $cgopt -p "$pid" -o "$RUN/perf.data" -- sleep "$DURATION" > "$RUN/perf-record.log" 2>&1 &
rec=$!
sleep 0.3
# shellcheck disable=SC2086
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$QFILE" -l "$DURATION" -c 10 -q 200 -T 1 -t 2 $DFLAG > "$RUN/dnsperf.txt" 2>&1
wait "$rec"
perf report -i "$RUN/perf.data" --stdio --no-children --sort symbol -g none --percent-limit 0.5 2>/dev/null | grep -v '^$' > "$RUN/report-self.txt"
perf report -i "$RUN/perf.data" --stdio --no-children --sort dso -g none --percent-limit 0.5 2>/dev/null | grep -v '^$' > "$RUN/report-dso.txt"
[ "$CG" = 1 ] && perf report -i "$RUN/perf.data" --stdio --children --sort symbol -g none --percent-limit 2 2>/dev/null | grep -v '^$' > "$RUN/report-children.txt"
echo "== signetd $DEN, mix $MIX ($(basename "$QFILE")${DFLAG:+, DO}), warm-up ${WARMUP}s, perf ${DURATION}s =="
grep -E 'Queries per second|Queries completed|Response codes' "$RUN/dnsperf.txt"
echo "== by DSO =="; grep -v '^#' "$RUN/report-dso.txt" | head -15
echo "== hottest symbols (self) =="; grep -v '^#' "$RUN/report-self.txt" | head -40
[ "$CG" = 1 ] && { echo "== inclusive (children) =="; grep -v '^#' "$RUN/report-children.txt" | head -50; }
log "perf data and reports: $RUN"
