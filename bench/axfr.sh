#!/usr/bin/env bash
# Outgoing zone transfer of a large signed zone: how long signetd takes to build the
# signed version, how long an AXFR of it takes and how big it is, and whether
# ldns-verify-zone accepts it; then one change and the IXFR that carries it.
#
#   bench/axfr.sh [-n NAMES] [-d nsec|nsec3] [-v] [-R RUN_ID]
#
# -n 100000 (default): ../shared/bench/gen-zone.py zone -n NAMES (about 2.3 records a name).
# ECDSAP256SHA256 CSK; signetd with `dnssec` and `transfer { to 127.0.0.1 }` on a free
# loopback port, two workers. Timed with kdig (AXFR over TCP, no TSIG): wall time, bytes,
# messages, records. -v runs ldns-verify-zone on the AXFR (a minute or two for 100k names).
# Output: bench/out/axfr/RUN_ID/ (signetd.log, summary.md, printed).
# Env: SIGNETD_BIN, SIGNETCTL_BIN (default build/daemon/signetd, build/ctl/signetctl),
# SHARED_BENCH, PORT (default 5390).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" && pwd)}
NAMES=100000 DENIAL=nsec VERIFY=0 RUN_ID=$(date +%Y-%m-%d-%H%M%S) PORT=${PORT:-5390}
while getopts "n:d:vR:h" o; do
    case $o in
        n) NAMES=$OPTARG;; d) DENIAL=$OPTARG;; v) VERIFY=1;; R) RUN_ID=$OPTARG;;
        *) sed -n '2,14p' "$0"; exit 2;;
    esac
done
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
ZONE=bench.test
OUT=$REPO/bench/out; DATA=$OUT/data; RUN=$OUT/axfr/$RUN_ID
mkdir -p "$DATA" "$RUN"
ZF=$DATA/bench.test-$NAMES.zone
if [ ! -s "$ZF" ]; then
    log "generating $ZF"
    python3 "$SHARED/gen-zone.py" zone -n "$NAMES" -o "$ZF" || exit 1
fi
D=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
CTL=${SIGNETCTL_BIN:-$REPO/build/ctl/signetctl}
for b in "$D" "$CTL"; do [ -x "$b" ] || { echo "missing $b (build first)" >&2; exit 1; }; done
cp "$ZF" "$RUN/zone"
KS=$RUN/keystore.db
"$CTL" --db "$KS" policy add bench --csk --algorithm ecdsap256sha256 --denial "$DENIAL" > "$RUN/setup.log" 2>&1 ||
    { cat "$RUN/setup.log" >&2; exit 1; }
cat > "$RUN/Corefile" <<CF
{
    workers 2
}
$ZONE:$PORT {
    bind 127.0.0.1
    file $RUN/zone $ZONE
    dnssec {
        keystore $KS
        policy bench
    }
    transfer {
        to 127.0.0.1
    }
}
CF
"$D" -c "$RUN/Corefile" > "$RUN/signetd.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
for _ in $(seq 1 600); do
    grep -q "transfer: $ZONE.: serial .* built in" "$RUN/signetd.log" && break
    kill -0 $PID 2>/dev/null || { cat "$RUN/signetd.log" >&2; exit 1; }
    sleep 0.5
done
BUILD=$(grep -o "transfer: $ZONE.: serial .* built in [0-9]* ms" "$RUN/signetd.log" | head -1)
log "$BUILD"
T0=$(date +%s.%N)
kdig @127.0.0.1 -p "$PORT" +nocomments +nostats +timeout=60 AXFR "$ZONE" > "$RUN/axfr.txt" ||
    { echo "kdig failed" >&2; exit 1; }
T1=$(date +%s.%N)
sleep 0.2
LINE=$(grep "AXFR to 127.0.0.1" "$RUN/signetd.log" | tail -1)
log "$LINE"
RECORDS=$(grep -vc '^;' "$RUN/axfr.txt")
WALL=$(python3 -c "print('%.2f' % ($T1 - $T0))")
VERIFY_RESULT="not run (-v)"
if [ "$VERIFY" = 1 ]; then
    head -n -1 "$RUN/axfr.txt" | grep -v '^;' > "$RUN/axfr.zone"
    if ldns-verify-zone "$RUN/axfr.zone" > "$RUN/verify.txt" 2>&1; then VERIFY_RESULT=ok
    else VERIFY_RESULT="FAILED (see verify.txt)"; fi
fi
# one change: the IXFR that carries it
SERIAL=$(kdig @127.0.0.1 -p "$PORT" +short SOA "$ZONE" | awk '{print $3}')
echo "bench-added 3600 IN A 192.0.2.1" >> "$RUN/zone"
kill -HUP $PID
for _ in $(seq 1 600); do
    grep -q "transfer: $ZONE.: serial .* (zone changed)" "$RUN/signetd.log" && break
    sleep 0.2
done
REBUILD=$(grep -o "transfer: $ZONE.: serial .* (zone changed).* built in [0-9]* ms" "$RUN/signetd.log" | tail -1)
kdig @127.0.0.1 -p "$PORT" +nocomments +nostats IXFR="$SERIAL" "$ZONE" > "$RUN/ixfr.txt"
sleep 0.2
IXFR=$(grep "IXFR to 127.0.0.1" "$RUN/signetd.log" | tail -1)
{
    echo "# AXFR of a signed $NAMES-name zone ($DENIAL, ECDSAP256SHA256 CSK)"
    echo
    echo "run $RUN_ID, $(nproc) cpus, loadavg $(cut -d' ' -f1-3 /proc/loadavg), git $(git -C "$REPO" rev-parse --short HEAD)"
    echo
    echo "- first version: ${BUILD#*: }"
    echo "- AXFR (kdig wall ${WALL} s, $RECORDS records): ${LINE#*: }"
    echo "- ldns-verify-zone: $VERIFY_RESULT"
    echo "- after one added name: ${REBUILD#*: }"
    echo "- IXFR: ${IXFR#*: }"
} | tee "$RUN/summary.md"
