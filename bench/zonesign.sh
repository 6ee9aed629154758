#!/usr/bin/env bash
# Bulk signing: `signetctl zone sign` of the 1M-record zone, wall time and peak RSS,
# against Knot DNS's load-and-sign of the same zone.
#
#   bench/zonesign.sh [-n NAMES] [-d nsec|nsec3] [-k] [-v] [-R RUN_ID]
#
# -n 441000 (default): ../shared/bench/gen-zone.py zone -n 441000 = 999,506 records.
# ECDSAP256SHA256 KSK+ZSK (as the anchors' bulk-signing runs), NSEC by default.
# Steps: fresh keystore in the run folder (signetctl policy add / zone add / key
# generate / key set --publish --activate), then
#   /usr/bin/time -v signetctl --db KS zone sign bench.test --zonefile ZONE --out FILE
# (signetctl signs on every core).  Reports wall time, CPU time, peak RSS (max resident
# set size) and the RRSIG / NSEC / NSEC3 counts of the output.
# -k also measures knotd 3.2 load+sign of the same zone in the same run (config of the
#    shared harness's knot-auto target, signing-threads 1 as in the anchors, and a second
#    run with signing-threads 2): time from process start to the zone's "loaded" log line,
#    peak RSS = VmHWM then.  Takes 1-3 minutes; without -k the summary quotes the anchors
#    (../shared/bench/ANCHORS-2026-11-25.md: 87.2 s / 71.5 s, 591 MiB, signing-threads 1).
# -v runs ldns-verify-zone on the output (slow: ~2 minutes for 1.86M signatures).
# Output: bench/out/zonesign/RUN_ID/ (time-v.txt, summary.md, printed).  The signed zone
# itself is deleted at the end unless KEEP=1.
# Env: SIGNETCTL_BIN (default build/ctl/signetctl, copied), SHARED_BENCH, THREADS (signetctl
# --threads; default one per CPU). The phases signetctl prints (--verbose) go to summary.md.
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$REPO/bench
SHARED=${SHARED_BENCH:-$(cd "$REPO/../shared/bench" && pwd)}
NAMES=441000 DENIAL=nsec KNOT=0 VERIFY=0 RUN_ID=$(date +%Y-%m-%d-%H%M%S)
while getopts "n:d:kvR:h" o; do
    case $o in
        n) NAMES=$OPTARG;; d) DENIAL=$OPTARG;; k) KNOT=1;; v) VERIFY=1;; R) RUN_ID=$OPTARG;;
        *) sed -n '2,24p' "$0"; exit 2;;
    esac
done
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
ZONE=bench.test
OUT=$BENCH/out; DATA=$OUT/data; RUN=$OUT/zonesign/$RUN_ID
mkdir -p "$DATA" "$RUN"
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
ZF=$DATA/bench.test-$NAMES.zone
if [ ! -s "$ZF" ]; then
    log "generating $ZF"
    python3 "$SHARED/gen-zone.py" zone -n "$NAMES" -o "$ZF" || exit 1
fi
CTL_SRC=${SIGNETCTL_BIN:-$REPO/build/ctl/signetctl}
if [ ! -x "$CTL_SRC" ]; then
    log "building signetctl"
    (cd "$REPO" && cmake -S . -B build > /dev/null && cmake --build build -j2 > /dev/null) || exit 1
fi
cp "$CTL_SRC" "$RUN/signetctl" || exit 1
CTL=$RUN/signetctl KS=$RUN/keystore.db
RECORDS=$(grep -c ' IN ' "$ZF")
{
    echo "zonesign run_id=$RUN_ID date=$(date -Is) cpus=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "signetctl=$CTL_SRC git=$(git -C "$REPO" rev-parse --short HEAD) sha256=$(sha256sum "$CTL_SRC" | cut -c1-16)"
    echo "zone=$ZF names=$NAMES records=$RECORDS denial=$DENIAL ECDSAP256SHA256 KSK+ZSK"
} > "$RUN/run-info.txt"
cat "$RUN/run-info.txt" >&2

# ---- keys ----
rm -f "$KS"
"$CTL" --db "$KS" policy add bench --ksk-zsk --algorithm ecdsap256sha256 --denial "$DENIAL" > "$RUN/setup.log" 2>&1 &&
"$CTL" --db "$KS" zone add "$ZONE" --policy bench >> "$RUN/setup.log" 2>&1 &&
"$CTL" --db "$KS" key generate "$ZONE" --role ksk >> "$RUN/setup.log" 2>&1 &&
"$CTL" --db "$KS" key generate "$ZONE" --role zsk >> "$RUN/setup.log" 2>&1 || { cat "$RUN/setup.log" >&2; exit 1; }
for id in $("$CTL" --db "$KS" --json key list "$ZONE" | python3 -c 'import json,sys; print(" ".join(str(k["id"]) for k in json.load(sys.stdin)))'); do
    "$CTL" --db "$KS" key set "$id" --publish now-1h --activate now-1h >> "$RUN/setup.log" 2>&1 || { cat "$RUN/setup.log" >&2; exit 1; }
done

# ---- signetctl zone sign ----
sync
log "signetctl zone sign ($RECORDS records)"
/usr/bin/time -v -o "$RUN/time-v.txt" "$CTL" --db "$KS" zone sign "$ZONE" --zonefile "$ZF" --out "$RUN/signed.zone" --verbose ${THREADS:+--threads $THREADS} > "$RUN/sign.log" 2>&1
rc=$?
[ $rc = 0 ] || { log "zone sign failed (rc $rc)"; cat "$RUN/sign.log" >&2; }
tv() { awk -F': ' -v k="$1" 'index($0, k) {print $2}' "$RUN/time-v.txt" | head -1; }
wall_s() { echo "$1" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }'; }
WALL=$(wall_s "$(tv 'Elapsed (wall clock)')")
USR=$(tv 'User time'); SYS=$(tv 'System time'); RSS_KB=$(tv 'Maximum resident set size'); CPUPCT=$(tv 'Percent of CPU')
counts=$(awk '$4 == "RRSIG" {r++} $4 == "NSEC" {n++} $4 == "NSEC3" {n3++} $4 != "" && $1 !~ /^;/ {all++}
              END {printf "%d %d %d %d", all, r, n, n3}' "$RUN/signed.zone" 2>/dev/null)
read -r ALL NRRSIG NNSEC NNSEC3 <<< "$counts"
log "signetctl: wall ${WALL}s, user ${USR}s sys ${SYS}s ($CPUPCT), peak RSS $((RSS_KB / 1024)) MiB; output $ALL records, $NRRSIG RRSIG, $NNSEC NSEC, $NNSEC3 NSEC3"
if [ "$VERIFY" = 1 ] && [ $rc = 0 ]; then
    log "ldns-verify-zone"
    if ldns-verify-zone "$RUN/signed.zone" > "$RUN/verify.txt" 2>&1; then VERIFIED=OK; else VERIFIED="FAILED (see verify.txt)"; fi
else
    VERIFIED="not run (-v)"
fi
[ "${KEEP:-0}" = 1 ] || rm -f "$RUN/signed.zone"

# ---- knotd load+sign (optional) ----
KNOT_ROWS=""
knot_run() {  # knot_run THREADS -> "wall_s rss_mib cpu_s"
    local th=$1 wd=$RUN/knot-$1 port=5499 t0 t1 pid i
    rm -rf "$wd"; mkdir -p "$wd/db"
    (
        BENCH_DIR=$SHARED; export BENCH_DIR
        # shellcheck source=/dev/null
        source "$SHARED/lib.sh"; source "$SHARED/targets/knot-auto.sh"
        cp "$ZF" "$wd/$ZONE.zone"
        knot_conf "$wd" "$port" "$DENIAL" auto "$wd/$ZONE.zone"
        sed -i "s/signing-threads: 1/signing-threads: $th/" "$wd/knot.conf"
        t0=$(date +%s.%N)
        knotd -c "$wd/knot.conf" > "$wd/stdout.log" 2>&1 &
        pid=$!
        for i in $(seq 1 3000); do
            grep -q "\[$ZONE\.\] loaded" "$wd/knot.log" 2>/dev/null && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        t1=$(date +%s.%N)
        rss=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null)
        # utime + stime (fields 14, 15, in clock ticks): the CPU, which a shared machine's
        # load does not inflate as it does the wall time
        cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat" 2>/dev/null)
        kill -TERM "$pid"; wait "$pid" 2>/dev/null
        grep -q "\[$ZONE\.\] loaded" "$wd/knot.log" || { echo "failed"; exit 0; }
        echo "$(echo "$t1 - $t0" | bc) $(( ${rss:-0} / 1024 )) ${cpu:-?}"
    )
}
if [ "$KNOT" = 1 ]; then
    for th in 1 2; do
        log "knotd load+sign, signing-threads $th"
        r=$(knot_run "$th"); log "knotd ($th): $r"
        read -r kw kr kc <<< "$r"
        KNOT_ROWS="$KNOT_ROWS| knotd $(knotd -V | awk '{print $NF}') load+sign, signing-threads $th (same run) | $(printf '%.1f' "${kw:-0}") | ${kc:-?} | ${kr:-?} |
"
        [ "$th" = 2 ] && K2_WALL=$kw K2_RSS=$kr
        rm -rf "$RUN/knot-$th/db" "$RUN/knot-$th/$ZONE.zone"
    done
fi

{
    echo "# Bulk signing of the $NAMES-name zone ($RECORDS records)"
    echo
    echo '```'; cat "$RUN/run-info.txt"; echo '```'
    echo
    echo "| signer | wall s | CPU s (user+sys, % of a core) | peak RSS MiB |"
    echo "|---|---:|---:|---:|"
    echo "| signetctl zone sign ($(nproc) cores) | $WALL | $(echo "$USR + $SYS" | bc) ($CPUPCT) | $((RSS_KB / 1024)) |"
    printf '%s' "$KNOT_ROWS"
    echo "| knotd 3.2.6 load+sign, signing-threads 1 (anchors 2026-11-25, 1M zone, 2 passes) | 87.2, 71.5 | 86.9, 71.2 | 591 |"
    echo
    echo "Phases (signetctl --verbose; CPU is the whole process's, all threads):"
    echo '```'; grep -A12 '^zone sign' "$RUN/sign.log"; echo '```'
    echo
    echo "Output: $ALL records, $NRRSIG RRSIG, $NNSEC NSEC, $NNSEC3 NSEC3. (The anchors' \"1,863,942 RRSIGs\" for this zone counted lines containing RRSIG, which includes every NSEC line, whose type bitmap names RRSIG: the same count here is $((NRRSIG + NNSEC + NNSEC3)).) ldns-verify-zone: $VERIFIED."
    echo
    if [ -n "${K2_WALL:-}" ]; then
        echo "Issue 24 targets against knotd with signing-threads 2 in this run: wall ≤ 0.6× Knot's: $(awk -v w="$WALL" -v k="$K2_WALL" 'BEGIN{printf "%.2f× (%s)", w / k, (w <= 0.6 * k ? "met" : "NOT met")}'); peak RSS ≤ 0.5× Knot's: $(awk -v r="$((RSS_KB / 1024))" -v k="$K2_RSS" 'BEGIN{printf "%.2f× (%s)", r / k, (r <= 0.5 * k ? "met" : "NOT met")}'). On a shared machine compare the CPU too: the wall of both grows with the load."
        echo
    fi
    echo "Issue 4 targets: wall ≤ 40 s: $(awk -v w="$WALL" 'BEGIN{print (w <= 40 ? "met" : "NOT met")}'); peak RSS ≤ Knot's load-and-sign (591 MiB in the anchors$([ -n "$KNOT_ROWS" ] && echo ', and the same-run figures above')): $( [ $((RSS_KB / 1024)) -le 591 ] && echo met || echo "NOT met") ($((RSS_KB / 1024)) MiB)."
} > "$RUN/summary.md"
ln -sfn "$RUN_ID" "$OUT/zonesign/latest"
cat "$RUN/summary.md"
exit $rc
