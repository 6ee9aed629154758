#!/usr/bin/env bash
# A long run of signetd with the answer cache (signing online, 100k-name zone, one worker
# on core 0) under a steady query rate, sampling the server's RSS: it must stay flat once
# the cache is full, since the cache's memory is fixed (a ring) and replies are replaced
# in place. The cache is smaller than the signed working set (~230k replies), so it
# evicts all along.
#
#   bench/cache_soak.sh [-l SECONDS] [-Q QPS] [-c CACHE] [-m hit|plain|nxdomain] [-R RUN_ID]
#
# Defaults: -l 600 -Q 20000 -c 64M -m hit. Needs bench/out/data (made by signed.sh or
# unsigned.sh) and dnsperf. Output: bench/out/soak/RUN_ID/ with rss.tsv (seconds, VmRSS
# KiB, VmHWM KiB, CPU seconds), dnsperf.txt, metrics before/after (cache counters) and
# summary.txt (printed).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
DUR=600 QPS=20000 CACHE=64M MIX=hit RUN_ID=soak-$(date +%Y-%m-%d-%H%M%S)
while getopts "l:Q:c:m:R:h" o; do
    case $o in
        l) DUR=$OPTARG;; Q) QPS=$OPTARG;; c) CACHE=$OPTARG;; m) MIX=$OPTARG;; R) RUN_ID=$OPTARG;;
        *) sed -n '2,14p' "$0"; exit 2;;
    esac
done
DATA=$REPO/bench/out/data
ZONEFILE=$DATA/bench.test-100000.zone
QFILE=$DATA/q-$MIX-100000.txt
[ "$MIX" = nxdomain ] && QFILE=$(ls "$DATA"/q-nxdomain-100000-*.txt 2>/dev/null | head -1)
[ -s "$ZONEFILE" ] && [ -s "$QFILE" ] || { echo "no zone or query file in $DATA (run bench/signed.sh first)" >&2; exit 1; }
OUT=$REPO/bench/out/soak/$RUN_ID
mkdir -p "$OUT"
cp "$REPO/build/daemon/signetd" "$REPO/build/ctl/signetctl" "$OUT/"
PORT=5491 MPORT=5492
cp "$ZONEFILE" "$OUT/bench.test.zone"
"$OUT/signetctl" --db "$OUT/keystore.db" policy add bench --ksk-zsk --denial nsec > /dev/null || exit 1
cat > "$OUT/Corefile" <<CONF
{
    workers 1
}
bench.test:$PORT {
    bind 127.0.0.1
    prometheus 127.0.0.1:$MPORT
    cache $CACHE
    dnssec {
        keystore $OUT/keystore.db
        policy bench
        signature-cache 1000000
    }
    file $OUT/bench.test.zone
}
CONF
taskset -c 0 "$OUT/signetd" -c "$OUT/Corefile" > "$OUT/signetd.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for _ in $(seq 100); do dig +short @127.0.0.1 -p $PORT bench.test SOA > /dev/null 2>&1 && break; sleep 0.2; done
curl -s "http://127.0.0.1:$MPORT/metrics" > "$OUT/metrics-before.txt"
D=""; [ "$MIX" != plain ] && D=-D
taskset -c 1 dnsperf -s 127.0.0.1 -p $PORT -d "$QFILE" -l "$DUR" -Q "$QPS" -c 10 -T 1 -t 2 $D > "$OUT/dnsperf.txt" 2>&1 &
DP=$!
TCK=$(getconf CLK_TCK)
: > "$OUT/rss.tsv"
T0=$(date +%s)
while kill -0 $DP 2>/dev/null; do
    now=$(( $(date +%s) - T0 ))
    rss=$(awk '/^VmRSS/{print $2}' /proc/$PID/status) hwm=$(awk '/^VmHWM/{print $2}' /proc/$PID/status)
    cpu=$(awk -v t="$TCK" '{printf "%.2f", ($14+$15)/t}' /proc/$PID/stat)
    printf '%s\t%s\t%s\t%s\n' "$now" "$rss" "$hwm" "$cpu" >> "$OUT/rss.tsv"
    sleep 10
done
curl -s "http://127.0.0.1:$MPORT/metrics" > "$OUT/metrics-after.txt"
kill $PID; wait $PID 2>/dev/null; trap - EXIT
python3 - "$OUT" "$DUR" "$QPS" "$CACHE" "$MIX" <<'PY' | tee "$OUT/summary.txt"
import re, sys
out, dur, qps, cache, mix = sys.argv[1:]
rows = [list(map(float, l.split())) for l in open(out + '/rss.tsv') if l.strip()]
def metric(f, name):
    m = re.search(r'^%s\{[^}]*\} (\S+)$' % name, open(f).read(), re.M)
    return float(m.group(1)) if m else 0
dp = open(out + '/dnsperf.txt').read()
sent = re.search(r'Queries sent:\s+(\d+)', dp); done = re.search(r'Queries completed:\s+(\d+)', dp)
lost = re.search(r'Queries lost:\s+(\d+)', dp)
print('cache soak: %s s at %s qps (%s mix), cache %s' % (dur, qps, mix, cache))
print('queries sent %s, completed %s, lost %s' % (sent and sent.group(1), done and done.group(1), lost and lost.group(1)))
a = out + '/metrics-after.txt'
print('cache hits %d, misses %d, inserts %d, evictions %d, entries %d' % tuple(
    metric(a, 'signet_cache_%s' % n) for n in ('hits_total', 'misses_total', 'inserts_total', 'evictions_total', 'entries')))
print('RSS MiB by minute (t, VmRSS, CPU s):')
for r in rows:
    if int(r[0]) % 60 < 10:
        print('  %4d s  %7.1f MiB  %6.1f s' % (r[0], r[1] / 1024, r[3]))
half = [r[1] for r in rows if r[0] >= rows[-1][0] / 2]
if half:
    print('second half: RSS min %.1f MiB, max %.1f MiB (spread %.1f%%); peak VmHWM %.1f MiB' % (
        min(half) / 1024, max(half) / 1024, 100 * (max(half) - min(half)) / max(half), rows[-1][2] / 1024))
PY
