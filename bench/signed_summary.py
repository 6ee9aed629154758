#!/usr/bin/env python3
"""Summary of a signed run of the shared harness (bench/signed.sh) with the issue-4 ratios.

Usage: signed_summary.py RAWDIR

Reads RAWDIR/<target>__<denial>__<mix>__<rep>.txt (dnsperf output as run.sh stores it,
with the "# proc_cpu" line bench/shim/dnsperf appends), <target>__<denial>.meta and
.sample, and RAWDIR/openssl-speed-*.txt.  Prints markdown.
"""
import glob
import os
import re
import statistics
import sys

MIXES = ['hit', 'nxdomain', 'plain']


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def parse(path):
    txt = open(path, errors='replace').read()
    d = {}
    m = re.search(r'cpu_pct\(server client\) (\d+) (\d+)', txt)
    if m:
        d['c0'], d['c1'] = int(m.group(1)), int(m.group(2))
    for key, rx in [('qps', r'Queries per second:\s+([\d.]+)'), ('sent', r'Queries sent:\s+(\d+)'),
                    ('done', r'Queries completed:\s+(\d+)'), ('lost', r'Queries lost:\s+(\d+)'),
                    ('lat', r'Average Latency \(s\):\s+([\d.]+)'),
                    ('resp', r'Average packet size:\s+request \d+, response (\d+)')]:
        m = re.search(rx, txt)
        if m:
            d[key] = float(m.group(1))
    m = re.search(r'Response codes:\s+(.*)', txt)
    d['rcodes'] = ' '.join(re.findall(r'([A-Z]+) \d+', m.group(1))) if m else ''
    m = re.search(r'# proc_cpu .*comms=(\S*) clk_tck=(\d+) ticks_before=(\d+) ticks_after=(\d+)', txt)
    if m and d.get('done'):
        dt = int(m.group(4)) - int(m.group(3))
        d['proc_us'] = dt / int(m.group(2)) * 1e6 / d['done'] if dt >= 0 else None
        d['comm'] = m.group(1)
    if d.get('qps') and 'c0' in d:
        d['core_us'] = d['c0'] / 100.0 * 1e6 / d['qps']
    return d


def main():
    raw = sys.argv[1]
    runs = {}
    for p in glob.glob(os.path.join(raw, '*__*__*__*.txt')):
        t, den, mix, rep = os.path.basename(p)[:-4].split('__')
        runs.setdefault((t, den, mix), []).append((int(rep), parse(p)))
    for k in runs:
        runs[k].sort()
    M = {}
    for k, rs in runs.items():
        ds = [d for _, d in rs]
        sent = sum(d.get('sent', 0) for d in ds)
        M[k] = dict(qps=med([d.get('qps') for d in ds]), core=med([d.get('core_us') for d in ds]),
                    proc=med([d.get('proc_us') for d in ds]), lat=med([d.get('lat') for d in ds]),
                    lost=100.0 * sum(d.get('lost', 0) for d in ds) / sent if sent else None,
                    rcodes=sorted({d['rcodes'] for d in ds}), resp=med([d.get('resp') for d in ds]),
                    runs=ds)
    out = sys.stdout.write
    for name in ('run-info.txt', 'signet-info.txt'):
        info = os.path.join(raw, name)
        if os.path.exists(info):
            out('```\n%s\n```\n\n' % open(info).read().strip())
    f = lambda x, fmt='%.1f': (fmt % x) if x is not None else '-'
    out('## Per mix: median over the rounds\n\n'
        'QPS = dnsperf queries/s; core-0 µs/q = busy share of the server core × 1e6 / QPS (the '
        "harness's figure); proc µs/q = the server process's utime+stime (all threads, "
        '/proc/PID/stat around the dnsperf run) / queries completed; lost = over all rounds.\n\n')
    for mix in MIXES:
        keys = sorted(k for k in M if k[2] == mix)
        if not keys:
            continue
        out('### %s\n\n| target | denial | QPS | core-0 µs/q | proc µs/q | avg lat ms | lost | rcodes | resp B | QPS per round | proc µs/q per round |\n'
            '|---|---|---:|---:|---:|---:|---:|---|---:|---|---|\n' % mix)
        for k in keys:
            m = M[k]
            out('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' % (
                k[0], k[1], f(m['qps'], '%.0f'), f(m['core']), f(m['proc']),
                f(m['lat'] * 1000 if m['lat'] is not None else None, '%.2f'),
                f(m['lost'], '%.3f%%'), ' / '.join(m['rcodes']), f(m['resp'], '%.0f'),
                ', '.join(f(d.get('qps'), '%.0f') for d in m['runs']),
                ', '.join(f(d.get('proc_us')) for d in m['runs'])))
        out('\n')

    # openssl speed
    rates = []
    for p in sorted(glob.glob(os.path.join(raw, 'openssl-speed-*.txt'))):
        for line in open(p, errors='replace'):
            m = re.match(r'\s*256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)', line)
            if m:
                rates.append(float(m.group(1)))
    sign_rate = max(rates) if rates else None

    def g(t, den, mix, key):
        return M.get((t, den, mix), {}).get(key)

    def ratio(a, b):
        return a / b if a is not None and b else None
    out('## Ratios against the targets of issue 4\n\n'
        '| what | signetd | reference | ratio (core-0 µs/q) | ratio (proc µs/q) | target | met |\n|---|---|---|---:|---:|---|---|\n')

    def row(what, a, b, key_pairs, target, ok):
        rc = ratio(a.get('core'), b.get('core')) if key_pairs == 'cpu' else None
        rp = ratio(a.get('proc'), b.get('proc')) if key_pairs == 'cpu' else None
        rq = ratio(a.get('qps'), b.get('qps')) if key_pairs == 'qps' else None
        if key_pairs == 'cpu':
            met = '-' if rc is None and rp is None else ('yes' if all(ok(r) for r in (rc, rp) if r is not None) else
                                                         ('mixed' if any(ok(r) for r in (rc, rp) if r is not None) else 'no'))
            out('| %s | %s | %s | %s | %s | %s | %s |\n' % (what, a.get('desc'), b.get('desc'), f(rc, '%.2f'), f(rp, '%.2f'), target, met))
        else:
            met = '-' if rq is None else ('yes' if ok(rq) else 'no')
            out('| %s | %s | %s | QPS ratio %s | | %s | %s |\n' % (what, a.get('desc'), b.get('desc'), f(rq, '%.2f'), target, met))

    def cell(t, den, mix, what):
        m = M.get((t, den, mix), {})
        if not m:
            return {'desc': '%s/%s: not measured' % (t, den)}
        d = dict(m)
        d['desc'] = '%s/%s %s' % (t, den, ('%.0f qps' % m['qps']) if what == 'qps' else
                                   '%s / %s µs/q' % (f(m['core']), f(m['proc'])))
        return d
    for den in ['nsec', 'nsec3']:
        row('hit CPU/query vs Knot pre-signed (%s)' % den, cell('signetd', den, 'hit', 'cpu'),
            cell('knot-auto', den, 'hit', 'cpu'), 'cpu', '≤ 1.00', lambda r: r <= 1.0)
    for den in ['nsec', 'nsec3']:
        row('nxdomain CPU/query vs Knot pre-signed (%s)' % den, cell('signetd', den, 'nxdomain', 'cpu'),
            cell('knot-auto', den, 'nxdomain', 'cpu'), 'cpu', '≤ 1.20', lambda r: r <= 1.2)
    for den in ['nsec', 'nsec3']:
        row('nxdomain QPS vs PowerDNS (%s)' % den, cell('signetd', den, 'nxdomain', 'qps'),
            cell('pdns', den, 'nxdomain', 'qps'), 'qps', '≥ 10', lambda r: r >= 10)
    row('compact nxdomain QPS vs Knot mod-onlinesign', cell('signetd-compact', 'nsec', 'nxdomain', 'qps'),
        cell('knot-online', 'nsec', 'nxdomain', 'qps'), 'qps', '≥ 3', lambda r: r >= 3)
    for den in ['nsec', 'nsec3']:
        row('plain (no DO) CPU/query vs Knot (%s), no target' % den, cell('signetd', den, 'plain', 'cpu'),
            cell('knot-auto', den, 'plain', 'cpu'), 'cpu', '(info)', lambda r: r <= 1.0)
    cq = g('signetd-compact', 'nsec', 'nxdomain', 'qps')
    cp = g('signetd-compact', 'nsec', 'nxdomain', 'proc')
    out('\nSigning rate on one core (`taskset -c 0 openssl speed -seconds 3 ecdsap256`, best of %d: %s): %s sign/s = %s µs/signature.\n'
        % (len(rates), ', '.join('%.0f' % r for r in rates), f(sign_rate, '%.0f'),
           f(1e6 / sign_rate if sign_rate else None, '%.1f')))
    if cq and sign_rate:
        out('Compact nxdomain (one fresh signature per answer): %.0f qps = **%.0f%%** of the openssl signing rate'
            % (cq, 100.0 * cq / sign_rate))
        if cp:
            out('; process CPU %.1f µs per answer = %.2f × the openssl µs/signature' % (cp, cp * sign_rate / 1e6))
        out('.\n')

    # sample answers and errors
    out('\n## Sample answers (run.sh: h0000001 TXT, nx-sample A with DO, nx-sample A without EDNS) and errors\n\n'
        '| target | denial | statuses | answer/authority RR types | ready s | RSS ready/peak MiB | errors |\n|---|---|---|---|---:|---|---|\n')
    for p in sorted(glob.glob(os.path.join(raw, '*__*.sample'))):
        t, den = os.path.basename(p)[:-7].split('__')
        txt = open(p, errors='replace').read()
        statuses = re.findall(r'status: ([A-Z]+)', txt)
        types = []
        for blk in re.split(r'\n(?=; <<>> DiG)', txt):
            if '<<>> DiG' not in blk:
                continue
            ts = re.findall(r'^\S+\s+\d+\s+IN\s+(\S+)', blk, re.M)
            types.append('+'.join(sorted(set(ts))) or '(none)')
        meta = {}
        mp = os.path.join(raw, '%s__%s.meta' % (t, den))
        if os.path.exists(mp):
            for line in open(mp):
                if '=' in line:
                    k, v = line.rstrip('\n').split('=', 1)
                    meta[k] = v
        rss = '%s/%s' % tuple(('%.0f' % (int(meta[k]) / 1024)) if meta.get(k) else '?' for k in ('rss_kb_ready', 'rss_kb_peak'))
        ready = meta.get('ready_s', '')
        out('| %s | %s | %s | %s | %s | %s | %s |\n' % (t, den, ', '.join(statuses), '; '.join(types),
                                                   ('%.1f' % float(ready)) if ready else '', rss, meta.get('error', '')))
    logs = sorted(glob.glob(os.path.join(raw, 'log-signetd*.txt')))
    if logs:
        out('\nsignetd signature cache over the whole life of each server (logged at shutdown, warm-up and all rounds included):\n\n')
        for p in logs:
            txt = open(p, errors='replace').read()
            m = re.search(r'signature cache: (\d+) hits, (\d+) misses', txt)
            errs = len(re.findall(r'\[(ERROR|WARN\w*)\]', txt))
            name = os.path.basename(p)[4:-4]
            if m:
                h, mi = int(m.group(1)), int(m.group(2))
                out('* %s: %d hits, %d misses (%.1f%% hits); %d error/warning lines in its log\n' % (name, h, mi, 100.0 * h / (h + mi) if h + mi else 0, errs))
            else:
                out('* %s: no cache statistics in the log (did it stop cleanly?); %d error/warning lines\n' % (name, errs))
    bad = [(k, m['rcodes']) for k, m in M.items() if any('SERVFAIL' in r or 'REFUSED' in r or 'FORMERR' in r for r in m['rcodes'])]
    out('\nSERVFAIL/REFUSED/FORMERR in dnsperf response codes: %s\n' % (
        ', '.join('%s/%s/%s: %s' % (k + (' / '.join(r),)) for k, r in bad) if bad else 'none'))


if __name__ == '__main__':
    main()
