#!/usr/bin/env bash
# Many small signed zones (issue 17): N zones of 10 records each, all signed, in one server
# block of signetd (keys made on first start) and in one Knot DNS 3.2 (automatic signing),
# one after the other in the same run. Per server and N: the time from start until every
# zone answers its SOA with an RRSIG (kdig, batches of names per call), the RSS then, the
# RSS per zone, the CPU used over 10 idle seconds (utime+stime from /proc) once the start's
# work has settled (-s seconds after the last zone answered signed), and the time for one
# zone added at run time to answer signed (signetd: `signetctl zone add` served by a
# `dynamic` block beside the `file` block; Knot: `knotc conf-begin/conf-set/conf-commit`).
# Prints a markdown table with the signetd ÷ Knot ratios.
#
#   bench/many-zones.sh [-n "1000 10000"] [-p PORT] [-i IDLE_SECONDS] [-s SETTLE_SECONDS]
#                       [-t "signetd knot"] [-T START_TIMEOUT] [-R RUN_ID] [-x]
#
# -x: signetd's block also has `transfer { to 127.0.0.1 }` (every zone gets a transfer
# state and a signed version for AXFR; Knot's zones are always transferable).
#
# Defaults: -n "1000 10000" -p 5491 -i 10 -s 30 -t "signetd knot" -T 900; more zones:
# -n 100000.
# Env: SIGNETD_BIN, SIGNETCTL_BIN (default build/daemon/signetd, build/ctl/signetctl).
# Output: bench/out/many-zones/RUN_ID/ (zones, configs, logs, results.tsv, summary.md).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
SIZES="1000 10000" PORT=5491 IDLE=10 SETTLE=30 TARGETS="signetd knot" TIMEOUT=900
RUN_ID=many-$(date +%Y-%m-%d-%H%M%S) XFR=0
while getopts "n:p:i:s:t:T:R:xh" o; do
    case $o in
        n) SIZES=$OPTARG;; p) PORT=$OPTARG;; i) IDLE=$OPTARG;; s) SETTLE=$OPTARG;; t) TARGETS=$OPTARG;;
        T) TIMEOUT=$OPTARG;; R) RUN_ID=$OPTARG;; x) XFR=1;;
        *) sed -n '2,20p' "$0"; exit 2;;
    esac
done
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
for c in kdig python3; do command -v "$c" > /dev/null || { echo "missing $c" >&2; exit 1; }; done
SIGNETD=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
SIGNETCTL=${SIGNETCTL_BIN:-$REPO/build/ctl/signetctl}
OUT=$REPO/bench/out/many-zones/$RUN_ID
mkdir -p "$OUT" || exit 1
TICK=$(getconf CLK_TCK)
printf 'server\tzones\tstart_s\trss_kib\tidle_cpu_pct\tadd_s\n' > "$OUT/results.tsv"

# zNNNNNN.many.test: SOA, NS, 3 A, AAAA, MX, TXT, 2 A below: 10 records
gen_zones() {
    local n=$1 dir=$2
    mkdir -p "$dir"
    python3 - "$n" "$dir" <<'PY'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    z = 'z%06d.many.test' % i
    with open('%s/%s.zone' % (d, z), 'w') as f:
        f.write('$ORIGIN %s.\n$TTL 3600\n'
                '@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\n'
                'ns1 A 192.0.2.1\n@ A 192.0.2.2\nwww A 192.0.2.3\n@ AAAA 2001:db8::1\n'
                '@ MX 10 mail\nmail A 192.0.2.4\n@ TXT "zone %d"\nftp A 192.0.2.5\n' % (z, i))
PY
}

# the zone added at run time: 10 records as the others
gen_one() { # name dir
    printf '$ORIGIN %s.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n@ A 192.0.2.2\nwww A 192.0.2.3\n@ AAAA 2001:db8::1\n@ MX 10 mail\nmail A 192.0.2.4\n@ TXT "added"\nftp A 192.0.2.5\n' "$1" > "$2/$1.zone"
}

# Seconds until NAME answers its SOA with an RRSIG (polled every 20 ms), or FAIL.
wait_one_signed() { # name t0
    local i
    for ((i = 0; i < 3000; i++)); do
        if kdig @127.0.0.1 -p "$PORT" +dnssec +norec +timeout=1 +retry=0 "$1" SOA 2> /dev/null |
                awk '$4 == "RRSIG" && $5 == "SOA" {f = 1} END {exit !f}'; then
            echo "$(date +%s.%N) - $2" | bc -l; return 0
        fi
        sleep 0.02
    done
    echo FAIL
}

names() { for ((i = 0; i < $1; i++)); do printf 'z%06d.many.test\n' "$i"; done; }

# Seconds (float) until every zone answers SOA with an RRSIG; 0 on success.
wait_signed() {
    local n=$1 pid=$2 t0=$3 left=$OUT/left.txt batch
    names "$n" > "$left"
    # first the server at all (keys are made before it listens): one name, quickly
    until kdig @127.0.0.1 -p "$PORT" +norec +timeout=1 +retry=0 "$(head -1 "$left")" SOA 2> /dev/null |
            grep -q 'status: NOERROR'; do
        kill -0 "$pid" 2> /dev/null || { log "server died"; return 1; }
        [ $(( $(date +%s) - ${t0%.*} )) -gt "$TIMEOUT" ] && { log "timeout"; return 1; }
        sleep 0.1
    done
    while [ -s "$left" ]; do
        kill -0 "$pid" 2> /dev/null || { log "server died"; return 1; }
        [ $(( $(date +%s) - ${t0%.*} )) -gt "$TIMEOUT" ] && { log "timeout"; return 1; }
        : > "$left.next"
        split -l 200 "$left" "$OUT/batch."
        for batch in "$OUT"/batch.*; do
            args=()
            while read -r z; do args+=("$z" SOA); done < "$batch"
            kdig @127.0.0.1 -p "$PORT" +dnssec +norec +timeout=1 +retry=0 "${args[@]}" 2> /dev/null |
                python3 -c '
import sys
want = [l.strip() for l in open(sys.argv[1])]
ok = set()
for line in sys.stdin:
    f = line.split()
    if len(f) > 4 and f[3] == "RRSIG" and f[4] == "SOA":
        ok.add(f[0].rstrip(".").lower())
for z in want:
    if z not in ok:
        print(z)' "$batch" >> "$left.next"
            rm -f "$batch"
        done
        mv "$left.next" "$left"
        [ -s "$left" ] && sleep 0.2
    done
    return 0
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# ADD_CMD (set by the caller) adds the zone named by its first argument at run time.
measure() { # server n pid t0
    local srv=$1 n=$2 pid=$3 t0=$4
    if ! wait_signed "$n" "$pid" "$t0"; then
        printf '%s\t%s\tFAIL\t\t\t\n' "$srv" "$n" >> "$OUT/results.tsv"; return 1
    fi
    local t1 start rss c0 c1
    t1=$(date +%s.%N); start=$(echo "$t1 - $t0" | bc -l)
    log "$srv n=$n: every zone signed after ${start}s; settling ${SETTLE}s"
    sleep "$SETTLE" # what the start left running (first key steps, journal syncs) ends
    rss=$(rss_kib "$pid"); c0=$(cpu_ticks "$pid"); sleep "$IDLE"; c1=$(cpu_ticks "$pid")
    local pct; pct=$(echo "100 * ($c1 - $c0) / $TICK / $IDLE" | bc -l)
    local add="" z=zadded.many.test ta
    gen_one "$z" "$OUT"
    ta=$(date +%s.%N)
    if $ADD_CMD "$z" > "$OUT/add-$srv-$n.log" 2>&1; then
        add=$(wait_one_signed "$z" "$ta")
    else
        add=FAIL; log "$srv: adding a zone failed: $(tail -2 "$OUT/add-$srv-$n.log")"
    fi
    log "$srv n=$n: signed in ${start}s, RSS ${rss} KiB, idle CPU ${pct}%, one zone added answered signed in ${add}s"
    printf '%s\t%s\t%.2f\t%s\t%.2f\t%s\n' "$srv" "$n" "$start" "$rss" "$pct" "$add" >> "$OUT/results.tsv"
}

run_signetd() {
    local n=$1 d=$OUT/signetd-$1
    mkdir -p "$d"; rm -f "$d"/keystore.db*
    "$SIGNETCTL" --db "$d/keystore.db" policy add p --denial nsec --algorithm ecdsap256sha256 --csk > /dev/null || return 1
    {
        # the control socket: `signetctl zone add` wakes signetd through it
        printf '{\n    log-level warning\n    control %s/signetd.sock\n}\n' "$d"
        names "$n" | sed "s/\$/:$PORT/" | tr '\n' ' '; printf '{\n    bind 127.0.0.1\n'
        printf '    dnssec {\n        keystore %s/keystore.db\n        policy p\n    }\n' "$d"
        [ "$XFR" = 1 ] && printf '    transfer {\n        to 127.0.0.1\n    }\n'
        names "$n" | while read -r z; do printf '    file %s/%s.zone %s\n' "$ZONES" "$z" "$z"; done
        printf '}\n'
        # zones added at run time (signetctl zone add) are served by a dynamic block; the
        # more specific block above keeps its own names
        printf '.:%s {\n    bind 127.0.0.1\n    dynamic\n' "$PORT"
        printf '    dnssec {\n        keystore %s/keystore.db\n        policy p\n    }\n}\n' "$d"
    } > "$d/Corefile"
    add_signetd() { "$SIGNETCTL" --db "$d/keystore.db" --socket "$d/signetd.sock" zone add "$1" --file "$OUT/$1.zone" --policy p; }
    ADD_CMD=add_signetd
    local t0; t0=$(date +%s.%N)
    "$SIGNETD" -c "$d/Corefile" > "$d/signetd.log" 2>&1 &
    local pid=$!
    measure signetd "$n" "$pid" "$t0"
    grep -c . /proc/$pid/task/*/comm 2> /dev/null | wc -l > "$d/threads.txt"
    cat /proc/$pid/task/*/comm > "$d/thread-names.txt" 2> /dev/null
    kill "$pid"; wait "$pid" 2> /dev/null
}

run_knot() {
    local n=$1 d=$OUT/knot-$1
    command -v knotd > /dev/null || { log "no knotd: skipped"; return 0; }
    rm -rf "$d"; mkdir -p "$d/db" "$d/run"
    {
        printf 'server:\n    listen: 127.0.0.1@%s\n    rundir: %s/run\n' "$PORT" "$d"
        printf 'database:\n    storage: %s/db\n' "$d"
        printf 'log:\n  - target: stderr\n    any: warning\n'
        printf 'policy:\n  - id: p\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n    nsec3: off\n'
        printf 'template:\n  - id: default\n    storage: %s\n    file: "%%s.zone"\n' "$ZONES"
        printf '    dnssec-signing: on\n    dnssec-policy: p\n    zonefile-sync: -1\n    zonefile-load: whole\n    semantic-checks: off\n'
        printf 'zone:\n'
        names "$n" | while read -r z; do printf '  - domain: %s\n' "$z"; done
    } > "$d/knot.conf"
    add_knot() {
        cp "$OUT/$1.zone" "$ZONES/" &&
        knotc -s "$d/run/knot.sock" conf-begin &&
        knotc -s "$d/run/knot.sock" conf-set "zone[$1]" &&
        knotc -s "$d/run/knot.sock" conf-commit
    }
    ADD_CMD=add_knot
    local t0; t0=$(date +%s.%N)
    knotd -c "$d/knot.conf" > "$d/knotd.log" 2>&1 &
    local pid=$!
    measure knot "$n" "$pid" "$t0"
    cat /proc/$pid/task/*/comm > "$d/thread-names.txt" 2> /dev/null
    kill "$pid"; wait "$pid" 2> /dev/null
}

for n in $SIZES; do
    ZONES=$OUT/zones-$n
    log "generating $n zones"
    gen_zones "$n" "$ZONES"
    for t in $TARGETS; do
        log "$t, $n zones"
        case $t in signetd) run_signetd "$n";; knot) run_knot "$n";; *) log "unknown target $t";; esac
    done
done

python3 - "$OUT/results.tsv" > "$OUT/summary.md" <<'PY'
import sys, csv
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
by = {(r['server'], r['zones']): r for r in rows}
print('| zones | server | start until all signed (s) | RSS (MiB) | RSS/zone (KiB) | idle CPU (% of a core) | one zone added, answered signed (s) |')
print('|---|---|---|---|---|---|---|')
for (s, n), r in sorted(by.items(), key=lambda x: (int(x[0][1]), x[0][0])):
    if r['start_s'] == 'FAIL':
        print('| %s | %s | FAIL | | | | |' % (n, s)); continue
    add = r.get('add_s') or ''
    add = add if add in ('', 'FAIL') else '%.2f' % float(add)
    print('| %s | %s | %.1f | %.1f | %.1f | %.2f | %s |' % (n, s, float(r['start_s']), int(r['rss_kib']) / 1024,
          int(r['rss_kib']) / int(n), float(r['idle_cpu_pct']), add))
print()
print('| zones | start ÷ Knot | RSS ÷ Knot | idle CPU ÷ Knot | zone add ÷ Knot |')
print('|---|---|---|---|---|')
for n in sorted({int(r['zones']) for r in rows}):
    a, b = by.get(('signetd', str(n))), by.get(('knot', str(n)))
    if not a or not b or 'FAIL' in (a['start_s'], b['start_s']):
        continue
    ratio = lambda x, y: '%.2f' % (float(x) / float(y)) if float(y) else 'n/a (Knot %s)' % y
    num = lambda v: v not in (None, '', 'FAIL')
    addr = ratio(a['add_s'], b['add_s']) if num(a.get('add_s')) and num(b.get('add_s')) else 'n/a'
    print('| %d | %s | %s | %s | %s |' % (n, ratio(a['start_s'], b['start_s']), ratio(a['rss_kib'], b['rss_kib']),
          ratio(a['idle_cpu_pct'], b['idle_cpu_pct']), addr))
PY
cat "$OUT/summary.md"
ln -sfn "$RUN_ID" "$REPO/bench/out/many-zones/latest"
