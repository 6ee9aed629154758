#!/usr/bin/env bash
# Many zones in one transfer block (issue 17): signetd's threads, RSS and idle CPU with N
# small unsigned zones, each transferred and NOTIFYed to a target that never answers (so
# every NOTIFY runs its whole retry schedule, 31 s: the worst case for a thread per job).
#
#   bench/xfr-zones.sh [-n ZONES] [-s] [-T SECONDS] [-W SECONDS] [-R RUN_ID]
#
# -T: how long to wait for every zone's first version (default 300). -W: how long to wait
# after that before the idle CPU is measured (default 35: every NOTIFY has given up).
# -s: signed zones (a `dnssec` block, a policy with an ECDSA P-256 CSK, keys made on first
# start), NOTIFYed to a stand-in secondary that acknowledges each NOTIFY and then serves
# the notified serial (as a secondary that transfers at once would), so that every zone
# ends idle: nothing pending, keys unchanged.
#
# -n 1000 (default). One server block names every zone (`file` line each, 4 records),
# `transfer { to 127.0.0.1  notify 127.0.0.1:SILENT }`, one query worker. Measured from
# /proc/PID: the most threads seen while the first versions are built and NOTIFYs retry
# (sampled every 0.1 s), then threads and VmRSS once every zone has its version, and the
# process's CPU (utime+stime) over 10 idle seconds after the NOTIFYs have given up.
# Output: bench/out/xfr-zones/RUN_ID/ (signetd.log, summary.md, printed).
# Env: SIGNETD_BIN, SIGNETCTL_BIN (default build/daemon/signetd, build/ctl/signetctl), PORT
# (default 5391).
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
ZONES=1000 RUN_ID=$(date +%Y-%m-%d-%H%M%S) PORT=${PORT:-5391} SIGNED=0 LIMIT=300 SETTLE=35
while getopts "n:sT:W:R:h" o; do
    case $o in
        n) ZONES=$OPTARG;; s) SIGNED=1;; T) LIMIT=$OPTARG;; W) SETTLE=$OPTARG;; R) RUN_ID=$OPTARG;;
        *) sed -n '2,20p' "$0"; exit 2;;
    esac
done
SIGNETD=${SIGNETD_BIN:-$REPO/build/daemon/signetd}
SIGNETCTL=${SIGNETCTL_BIN:-$REPO/build/ctl/signetctl}
RUN=$REPO/bench/out/xfr-zones/$RUN_ID-$ZONES$([ $SIGNED = 1 ] && echo -signed)
rm -rf "$RUN"; mkdir -p "$RUN/zones"   # no state of an earlier run: every zone starts afresh
if [ $SIGNED = 1 ]; then
    "$SIGNETCTL" --db "$RUN/keystore.db" policy add p --denial nsec --algorithm ecdsap256sha256 \
        --csk > /dev/null || { echo "signetctl policy add failed" >&2; exit 1; }
fi
exec python3 - "$SIGNETD" "$RUN" "$ZONES" "$PORT" "$SIGNED" "$LIMIT" "$SETTLE" <<'EOF'
import os, re, socket, struct, subprocess, sys, threading, time
signetd, run, n, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
signed, limit, settle = sys.argv[5] == '1', float(sys.argv[6]), float(sys.argv[7])
silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
silent.bind(('127.0.0.1', 0))   # receives the NOTIFYs; unsigned: never answers

def skip_name(m, i):
    while m[i]:
        if m[i] & 0xc0 == 0xc0:
            return i + 2
        i += m[i] + 1
    return i + 1

def secondary():
    # signed: a secondary that transfers at once: NOTIFY acknowledged, its SOA's serial
    # served from then on (SOA queries answered authoritatively)
    served = {}
    while True:
        m, peer = silent.recvfrom(4096)
        if len(m) < 12:
            continue
        qid, flags = struct.unpack('!HH', m[:4])
        q_end = skip_name(m, 12) + 4
        qname = m[12:q_end - 4].lower()
        question = m[12:q_end]
        if (flags >> 11) & 15 == 4:
            i = skip_name(m, q_end) + 10      # the answer's SOA: owner, type..rdlength
            i = skip_name(m, skip_name(m, i))  # MNAME, RNAME
            served[qname] = m[i:i + 4]
            silent.sendto(struct.pack('!HHHHHH', qid, 0xa400, 1, 0, 0, 0) + question, peer)
        elif qname in served:
            rdata = b'\0\0' + served[qname] + struct.pack('!IIII', 3600, 600, 86400, 300)
            silent.sendto(struct.pack('!HHHHHH', qid, 0x8400, 1, 1, 0, 0) + question +
                          struct.pack('!HHHIH', 0xc00c, 6, 1, 300, len(rdata)) + rdata, peer)
        else:
            silent.sendto(struct.pack('!HHHHHH', qid, 0x8005, 1, 0, 0, 0) + question, peer)

if signed:
    threading.Thread(target=secondary, daemon=True).start()
names = ['z%d.bench-many.test' % i for i in range(n)]
lines = []
for i, z in enumerate(names):
    p = os.path.join(run, 'zones', z + '.zone')
    with open(p, 'w') as f:
        f.write('%s. 3600 IN SOA ns.%s. h.%s. 1 7200 3600 1209600 300\n%s. 3600 IN NS ns.%s.\n'
                'ns.%s. 3600 IN A 192.0.2.1\nwww.%s. 3600 IN A 192.0.2.%d\n'
                % (z, z, z, z, z, z, z, i % 250 + 1))
    lines.append('    file %s %s' % (p, z))
core = os.path.join(run, 'Corefile')
with open(core, 'w') as f:
    f.write('{\n    workers 1\n}\n%s {\n    bind 127.0.0.1\n%s\n    transfer {\n        to 127.0.0.1\n'
            '        notify 127.0.0.1:%d\n    }\n%s}\n'
            % (' '.join('%s:%d' % (z, port) for z in names), '\n'.join(lines),
               silent.getsockname()[1],
               '    dnssec {\n        keystore %s/keystore.db\n        policy p\n    }\n' % run
               if signed else ''))
logp = os.path.join(run, 'signetd.log')
t0 = time.monotonic()
proc = subprocess.Popen([signetd, '-c', core], stdout=open(logp, 'w'), stderr=subprocess.STDOUT,
                        cwd=run)

def status(key):
    try:
        with open('/proc/%d/status' % proc.pid) as f:
            return int(re.search(r'^%s:\s+(\d+)' % key, f.read(), re.M).group(1))
    except (OSError, AttributeError):
        return 0

def cpu():
    with open('/proc/%d/stat' % proc.pid) as f:
        v = f.read().rsplit(')', 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf('SC_CLK_TCK')

def versions():
    with open(logp, errors='replace') as f:
        return len(re.findall(r'transfer: \S+: serial \d+ \(', f.read()))

most, built_at, th_built, rss_built = 0, None, 0, 0
try:
    while time.monotonic() - t0 < limit and proc.poll() is None:
        most = max(most, status('Threads'))
        if built_at is None and versions() >= n:
            built_at = time.monotonic() - t0
            th_built, rss_built = status('Threads'), status('VmRSS')
        if built_at is not None and time.monotonic() - t0 > built_at + settle:
            break   # by default every NOTIFY has given up (1+2+4+8+16 s)
        time.sleep(0.1)
    c0 = cpu()
    time.sleep(10)
    idle = (cpu() - c0) / 10 * 100
    th_idle, rss_idle = status('Threads'), status('VmRSS')
finally:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        print('signetd did not stop within 30 s of SIGTERM: killed', file=sys.stderr)
        proc.kill()
        proc.wait()
built = '%.1f s' % built_at if built_at is not None else 'not all (%d)' % versions()
out = ('%s\n\n| zones | every version built | threads (most) | threads, RSS when built | threads, RSS idle '
       '| idle CPU |\n|---|---|---|---|---|---|\n| %d | %s | %d | %d, %.1f MB | %d, %.1f MB | %.1f %% |\n'
       % ('signed (CSK, NOTIFY to a secondary that follows)' if signed else
          'unsigned (NOTIFY to a target that never answers)', n, built, most, th_built, rss_built / 1024, th_idle, rss_idle / 1024, idle))
with open(os.path.join(run, 'summary.md'), 'w') as f:
    f.write('signetd: %s\n\n%s' % (signetd, out))
print(out, end='')
EOF
