#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Catalog zones at scale (issue 17): N zones added through signetd appear, signed, at a
Knot DNS 3.2 secondary that consumes signetd's RFC 9432 catalog; removed ones disappear.

    bench/catalog.py [-n 1000] [-r 10] [-s 50] [--bind] [-R RUN_ID]

signetd serves a `.` block with `dynamic` and `transfer { catalog catalog.invalid }` (TSIG,
NOTIFY), as integ.catalog does; Knot has only the catalog in its config
(`catalog-role: interpret`, a member template transferring from signetd). Then:
  1. `signetctl zone add` of N zones of 5 records, one after the other (the time they take);
  2. the seconds until every zone answers `www.ZONE A` signed from Knot (kdig, 200
     questions per call), from the first add and from the last;
  3. unbound, with the zones' DS as trust anchors and stub zones at Knot, validates
     `www.ZONE A` for -s sampled zones (every one must have AD);
  4. `zone remove` of -r zones: the seconds until Knot no longer serves any of them, and
     every other zone still answers.
--bind adds BIND 9.18 (`catalog-zones`) as a second consumer.
Output: bench/out/catalog/RUN_ID/summary.md (printed) and the servers' logs.
Env: SIGNETD, SIGNETCTL (default build/daemon/signetd, build/ctl/signetctl)."""

import argparse
import os
import random
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))

import signet_test  # noqa: E402
from signet_test import Signetd, ctl  # noqa: E402
from test_catalog import BindConsumer, KnotConsumer, COREFILE, CATALOG, zone_text  # noqa: E402
from unbound_resolver import Unbound, unbound_path  # noqa: E402


def signed_now(port, zones):
    """The zones of `zones` whose www A the server at port answers with an RRSIG."""
    ok = set()
    for i in range(0, len(zones), 200):
        batch = zones[i:i + 200]
        args = []
        for z in batch:
            args += ['www.' + z, 'A']
        p = subprocess.run(['kdig', '@127.0.0.1', '-p', str(port), '+dnssec', '+norec',
                            '+timeout=1', '+retry=0'] + args,
                           capture_output=True, text=True, timeout=300)
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) > 4 and f[3] == 'RRSIG' and f[4] == 'A':
                ok.add(f[0].rstrip('.').lower()[4:])
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('-n', type=int, default=1000)
    ap.add_argument('-r', type=int, default=10, help='zones removed at the end')
    ap.add_argument('-s', type=int, default=50, help='zones validated through unbound')
    ap.add_argument('--bind', action='store_true')
    ap.add_argument('-T', type=float, default=1800, help='give up after this many seconds')
    ap.add_argument('-R', default=time.strftime('catalog-%Y-%m-%d-%H%M%S'))
    a = ap.parse_args()
    out = os.path.join(REPO, 'bench', 'out', 'catalog', a.R)
    os.makedirs(out, exist_ok=True)
    work = os.path.join(out, 'work')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    db = os.path.join(work, 'keystore.db')
    line = ctl(db, 'tsig', 'generate', 'xfr.key').strip()
    key = ('xfr.key', 'hmac-sha256', line.split()[3])
    secs = [KnotConsumer(work, None, [CATALOG], key)]
    if a.bind:
        secs.append(BindConsumer(work, None, [CATALOG], key))
    notify = ' '.join('127.0.0.1:%d' % s.port for s in secs)
    srv = Signetd(COREFILE % {'tsig': line, 'notify': notify, 'catalog': CATALOG},
                  workdir=work, ready_name=CATALOG)
    rows = []
    try:
        srv.start()
        for s in secs:
            s.primary_port = srv.port
            s.start()
        zones = ['m%05d.test' % i for i in range(a.n)]
        added = {}
        t0 = time.monotonic()
        for z in zones:
            path = os.path.join(work, z + '.zone')
            with open(path, 'w') as f:
                f.write(zone_text(z))
            added[z] = time.monotonic()
            ctl(db, 'zone', 'add', z, '--file', path)
        t_last = time.monotonic()
        t_added = t_last - t0
        print('%d zones added in %.1f s' % (a.n, t_added), flush=True)
        for s in secs:
            first = {}
            while len(first) < a.n and time.monotonic() - t0 < a.T:
                now = time.monotonic()
                for z in signed_now(s.port, [z for z in zones if z not in first]):
                    first[z] = now - added[z]
                if len(first) < a.n:
                    time.sleep(0.5)
            t_all = time.monotonic() - t0
            print('%s: %d of %d zones signed after %.1f s' % (s.name, len(first), a.n, t_all),
                  flush=True)
            rows.append((s.name, len(first), t_all, time.monotonic() - t_last))

        valid = 'skipped (no unbound)'
        if unbound_path():
            sample = random.Random(7).sample(zones, min(a.s, a.n))
            anchors = []
            for z in sample:
                anchors += [l for l in ctl(db, 'ds', z).splitlines() if l.strip()]
            ub = Unbound(work, [(z, secs[0].port) for z in sample], anchors, name='unbound')
            ub.start()
            try:
                good = sum(1 for z in sample
                           if (lambda r: r.rcode == 'NOERROR' and 'ad' in r.flags)(ub.dig('www.' + z, 'A')))
            finally:
                ub.stop()
            valid = '%d of %d validated (AD) through %s' % (good, len(sample), secs[0].name)
        print(valid, flush=True)

        gone = zones[:a.r]
        t1 = time.monotonic()
        for z in gone:
            ctl(db, 'zone', 'remove', z)
        removed = {}
        for s in secs:
            while time.monotonic() - t1 < 300:
                if all(s.serial(z) is None for z in gone):
                    break
                time.sleep(0.2)
            removed[s.name] = time.monotonic() - t1 if all(s.serial(z) is None for z in gone) else None
            left = len(signed_now(s.port, zones[a.r:]))
            removed[s.name] = (removed[s.name], left)
            print('%s: %d removed zones gone after %s s; %d of %d others still signed'
                  % (s.name, a.r, removed[s.name][0], left, a.n - a.r), flush=True)
    finally:
        with open(os.path.join(out, 'signetd.log'), 'w') as f:
            f.write(srv.log())
        errors = signet_test.stop_servers(srv)
        for s in secs:
            with open(os.path.join(out, s.name + '.log'), 'w') as f:
                f.write(s.log())
            s.stop()
    with open(os.path.join(out, 'summary.md'), 'w') as f:
        f.write('%d zones of 5 records added with `signetctl zone add` in %.1f s (one after the '
                'other); secondary consumes the catalog %s.\n\n' % (a.n, t_added, CATALOG))
        f.write('| secondary | zones served signed | all served, s after the first add | '
                'all served, s after the last add | %d removed: gone after (s) | '
                'others still signed |\n|---|---|---|---|---|---|\n' % a.r)
        for name, n, t_all, after_last in rows:
            g, left = removed.get(name, (None, 0))
            f.write('| %s | %d / %d | %.1f | %.1f | %s | %d / %d |\n'
                    % (name, n, a.n, t_all, after_last, '%.1f' % g if g is not None else 'not gone',
                       left, a.n - a.r))
        f.write('\nValidation: %s.\n' % valid)
    print(open(os.path.join(out, 'summary.md')).read())
    if errors:
        print('\n'.join(errors))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
