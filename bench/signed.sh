#!/usr/bin/env bash
# Signed serving: signetd (online signing: nsec, nsec3, compact) beside Knot DNS
# (pre-signed and mod-onlinesign) and PowerDNS (online signing), in the same run of the
# shared harness ../shared/bench/run.sh (unmodified), then the issue-4 ratios.
#
#   bench/signed.sh [-l SECONDS] [-r REPEATS] [-n NAMES] [-w WARMUP] [-p PORT]
#                   [-t "signetd signetd-compact knot-auto knot-online pdns"]
#                   [-d "nsec nsec3"] [-m "hit nxdomain plain"] [-R RUN_ID] [-S]
#
# Defaults: -l 10 -r 3 -n 100000 -w 3 -p 5471, run id signed-<date-time>.  -S skips
# `openssl speed` (run on the server core before and after the harness: the physical
# signing rate the compact figure is compared with).
# What it does: copies signetd and signetctl into the run folder (a rebuild during the
# run cannot change what is measured), then runs
#   BENCH_OUT=bench/out TARGETS_DIR=bench/targets PATH=bench/shim:$PATH \
#       ../shared/bench/run.sh -t TARGETS -d DENIALS -n NAMES -l SECONDS -r REPEATS ...
# where bench/shim/dnsperf wraps the real dnsperf to add the server process's CPU time
# per run (utime+stime from /proc/PID/stat), and finally bench/signed_summary.py.
# Output: bench/out/results/raw/RUN_ID/ (the harness's raw files and summary.md, plus
# signed-summary.md, openssl-speed-*.txt, the signetd logs, bin/); bench/out/results/
# signed-latest points to it.  The summary is printed.
# Env: SIGNETD_BIN, SIGNETCTL_BIN (default build/daemon/signetd, build/ctl/signetctl),
#      SHARED_BENCH (default ../shared/bench), SERVER_CPU / CLIENT_CPU (0 / 1),
#      SIGNETD_SIGCACHE, DNSPERF_OPTS (passed to run.sh).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$REPO/bench
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" && pwd)}
SERVER_CPU=${SERVER_CPU:-0}; CLIENT_CPU=${CLIENT_CPU:-1}; export SERVER_CPU CLIENT_CPU

DURATION=10 REPEATS=3 NAMES=100000 WARMUP=3 PORT=5471 MIXES="hit nxdomain plain"
TARGETS="signetd signetd-compact knot-auto knot-online pdns" DENIALS="nsec nsec3"
RUN_ID=signed-$(date +%Y-%m-%d-%H%M%S) OPENSSL=1
while getopts "l:r:n:w:p:t:d:m:R:Sh" o; do
    case $o in
        l) DURATION=$OPTARG;; r) REPEATS=$OPTARG;; n) NAMES=$OPTARG;; w) WARMUP=$OPTARG;;
        p) PORT=$OPTARG;; t) TARGETS=$OPTARG;; d) DENIALS=$OPTARG;; m) MIXES=$OPTARG;;
        R) RUN_ID=$OPTARG;; S) OPENSSL=0;;
        *) sed -n '2,27p' "$0"; exit 2;;
    esac
done
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
OUT=$BENCH/out
RAW=$OUT/results/raw/$RUN_ID
[ -e "$RAW" ] && { echo "$RAW exists; pick another -R" >&2; exit 1; }
mkdir -p "$RAW/bin"
for c in dnsperf dig taskset ss knotd pdns_server pdnsutil sqlite3 openssl python3; do
    command -v "$c" > /dev/null || { echo "missing $c" >&2; exit 1; }
done

# ---- binaries (copied: a rebuild during the run must not change what is measured) ----
SIGNETD_SRC=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
SIGNETCTL_SRC=${SIGNETCTL_BIN:-$REPO/build/ctl/signetctl}
if [ ! -x "$SIGNETD_SRC" ] || [ ! -x "$SIGNETCTL_SRC" ]; then
    log "building signetd and signetctl"
    (cd "$REPO" && cmake -S . -B build > /dev/null && cmake --build build -j2 > /dev/null) || { echo "build failed" >&2; exit 1; }
fi
cp "$SIGNETD_SRC" "$RAW/bin/signetd" && cp "$SIGNETCTL_SRC" "$RAW/bin/signetctl" || exit 1
export SIGNETD_BIN=$RAW/bin/signetd SIGNETCTL_BIN=$RAW/bin/signetctl
{
    echo "signed.sh run_id=$RUN_ID loadavg at start=$(cut -d' ' -f1-3 /proc/loadavg) targets=\"$TARGETS\" denials=\"$DENIALS\" names=$NAMES -l $DURATION -r $REPEATS -w $WARMUP port=$PORT"
    echo "signetd=$SIGNETD_SRC git=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet HEAD -- . ':!bench' 2>/dev/null || echo +dirty) build_type=$(awk -F= '/^CMAKE_BUILD_TYPE:/{print $2}' "$REPO/build/CMakeCache.txt" 2>/dev/null) binary_mtime=$(date -r "$SIGNETD_SRC" -Is) sha256=$(sha256sum "$SIGNETD_SRC" | cut -c1-16)"
    echo "signature cache entries=${SIGNETD_SIGCACHE:-1000000}; openssl $(openssl version | awk '{print $2}')"
} > "$RAW/signet-info.txt"
cat "$RAW/signet-info.txt" >&2

speed() {  # physical ECDSA P-256 signing rate on the server core
    [ "$OPENSSL" = 1 ] || return 0
    log "openssl speed ecdsap256 on core $SERVER_CPU ($1)"
    taskset -c "$SERVER_CPU" openssl speed -seconds 3 ecdsap256 > "$RAW/openssl-speed-$1.txt" 2>&1
    grep 'nistp256' "$RAW/openssl-speed-$1.txt" | tail -1 >&2
}
speed before

# ---- the shared harness, unmodified, with the dnsperf shim first in PATH ----
log "run.sh -t \"$TARGETS\" -d \"$DENIALS\" -m \"$MIXES\" -n $NAMES -l $DURATION -r $REPEATS -w $WARMUP -p $PORT -R $RUN_ID"
BENCH_OUT=$OUT TARGETS_DIR=$BENCH/targets PATH=$BENCH/shim:$PATH \
    "$SHARED/run.sh" -t "$TARGETS" -d "$DENIALS" -m "$MIXES" -n "$NAMES" -l "$DURATION" \
    -r "$REPEATS" -w "$WARMUP" -p "$PORT" -R "$RUN_ID" 2>&1 | tee "$RAW/harness.log" >&2

speed after
# keep signetd's own logs (key generation, load, signature cache hits/misses at shutdown)
for d in "$OUT"/work/signetd*-nsec*; do
    [ -f "$d/stdout.log" ] && cp "$d/stdout.log" "$RAW/log-$(basename "$d").txt"
done
python3 "$BENCH/signed_summary.py" "$RAW" > "$RAW/signed-summary.md"
ln -sfn "raw/$RUN_ID" "$OUT/results/signed-latest"
cat "$RAW/signed-summary.md"
log "raw output, harness summary (summary.md) and this summary (signed-summary.md): $RAW"
