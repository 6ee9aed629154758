#!/usr/bin/env bash
# Where does signetd's CPU go per query?  Serves the unsigned bench zone with signetd
# (bench/targets/signetd.sh, one worker, core $SERVER_CPU), drives it with the same
# dnsperf load as bench/unsigned.sh (core $CLIENT_CPU) and samples it with perf
# (cpu-clock, the only sampling event on this VM: hardware counters are not supported).
#
#   bench/profile.sh [-l SECONDS] [-n NAMES] [-p PORT] [-g] [-R RUN_ID]
#
# -g records call graphs (DWARF unwinding; heavier, changes the timing somewhat).
# Needs the zone/query files of bench/unsigned.sh (made if missing).  Output:
# bench/out/profile/RUN_ID/{perf.data, report-self.txt, report-dso.txt[, report-children.txt]}.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$REPO/bench
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" && pwd)}
BENCH_DIR=$SHARED; export BENCH_DIR
# shellcheck source=/dev/null
source "$SHARED/lib.sh"
DURATION=5 NAMES=100000 PORT=5391 CG=0 RUN_ID=$(date +%Y-%m-%d-%H%M%S)
while getopts "l:n:p:gR:h" o; do
    case $o in
        l) DURATION=$OPTARG;; n) NAMES=$OPTARG;; p) PORT=$OPTARG;; g) CG=1;; R) RUN_ID=$OPTARG;;
        *) sed -n '2,13p' "$0"; exit 2;;
    esac
done
command -v perf > /dev/null || { echo "perf missing (apt-get install linux-perf)" >&2; exit 1; }
OUT=$BENCH/out; DATA=$OUT/data; RUN=$OUT/profile/$RUN_ID; WD=$OUT/work/signetd-profile
mkdir -p "$DATA" "$RUN"
BENCH_ZONEFILE=$DATA/bench.test-$NAMES.zone; QFILE=$DATA/q-plain-$NAMES.txt
[ -s "$BENCH_ZONEFILE" ] || python3 "$SHARED/gen-zone.py" zone -n "$NAMES" -o "$BENCH_ZONEFILE" || exit 1
[ -s "$QFILE" ] || python3 "$SHARED/gen-zone.py" query plain -n "$NAMES" -q 1000000 --seed 7 -o "$QFILE" || exit 1
SIGNETD_SRC=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
cp "$SIGNETD_SRC" "$RUN/signetd" || exit 1
export SIGNETD_BIN=$RUN/signetd   # perf report finds the symbols in this copy
# shellcheck source=/dev/null
source "$BENCH/targets/signetd.sh"

rm -rf "$WD"; mkdir -p "$WD"
trap 'target_stop "$WD"' EXIT; trap 'exit 130' INT TERM
port_free "$PORT" || { echo "port $PORT busy" >&2; exit 1; }
target_start "$BENCH_ZONEFILE" "$PORT" "$WD" unsigned || exit 1
for _ in $(seq 1 300); do
    dig @127.0.0.1 -p "$PORT" +norec +time=1 +tries=1 "$ZONE" SOA 2>/dev/null | grep -q 'status: NOERROR' && break
    sleep 0.2
done
pid=$(cat "$WD/server.pid")
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$QFILE" -l 2 -c 10 -q 200 -T 1 -t 2 > /dev/null 2>&1
cgopt=""; [ "$CG" = 1 ] && cgopt="--call-graph dwarf,16384"
# shellcheck disable=SC2086
perf record -e cpu-clock -F 4999 $cgopt -p "$pid" -o "$RUN/perf.data" -- sleep "$DURATION" > "$RUN/perf-record.log" 2>&1 &
rec=$!
sleep 0.3
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$QFILE" -l "$DURATION" -c 10 -q 200 -T 1 -t 2 > "$RUN/dnsperf.txt" 2>&1
wait "$rec"
perf report -i "$RUN/perf.data" --stdio --no-children --sort symbol --percent-limit 0.5 2>/dev/null | grep -v '^$' > "$RUN/report-self.txt"
perf report -i "$RUN/perf.data" --stdio --no-children --sort dso --percent-limit 0.5 2>/dev/null | grep -v '^$' > "$RUN/report-dso.txt"
[ "$CG" = 1 ] && perf report -i "$RUN/perf.data" --stdio --children --sort symbol -g none --percent-limit 2 2>/dev/null | grep -v '^$' > "$RUN/report-children.txt"
grep -E 'Queries per second|Queries completed' "$RUN/dnsperf.txt"
echo "== by DSO =="; grep -v '^#' "$RUN/report-dso.txt" | head -15
echo "== hottest symbols (self) =="; grep -v '^#' "$RUN/report-self.txt" | head -40
[ "$CG" = 1 ] && { echo "== inclusive (children) =="; grep -v '^#' "$RUN/report-children.txt" | head -40; }
log "perf data and reports: $RUN"
