# SPDX-License-Identifier: MIT
"""integ.adopt: a signed zone moves to Signet from BIND, Knot DNS and PowerDNS with the
parent's DS untouched and no bogus answer (issue 16).

sources.World runs, on loopback, named (bind.test.), knotd (knot.test.) and pdns_server
(pdns.test.), each signing its zone with its own keys, a Knot DNS parent test. holding the
DS each of them exported, and a validating unbound whose only trust anchor is the parent's
DNSKEY. For each source, in turn:

  1. the zone validates through unbound (AD, no SERVFAIL) before anything moves;
  2. `signetctl zone adopt ZONE --from KIND --server ... --parent-ns ... --check` prints
     what would be served and changes nothing (the keystore dumped before and after);
  3. `signetctl zone adopt` without --check: the keys, DS seen, the serial floor;
  4. the switch: the source is stopped and signetd started on its address and port, while
     a thread asks unbound every second for the SOA, the DNSKEY RRset and www A;
  5. zero bogus (unbound's num.answer.bogus does not move, no SERVFAIL, every answer AD),
     the parent's DS RRset the same before and after;
  6. the first rollover under Signet (`zone roll --ksk`, `--csk` for PowerDNS's CSK)
     completes, the test acting as the registrar: it puts the DS set the keystore wants at
     the parent (TSIG UPDATE) and runs `signetctl ds seen`; still zero bogus.

Serials only forward: signetd's SOA serial (from the same unsigned file, whose serial is
the source's before signing) comes after the source's last (the serial floor adopt
records, i16/serial). test_0_refuses: a parent DS that matches no key makes adopt refuse
and leaves the keystore as it was.

Python 3 standard library only, plus named, knotd, keymgr, pdns_server, pdnsutil, unbound.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

import signet_test as st
import sources

POLICY_TIMING = ['--dnskey-ttl', '%ds' % sources.CHILD_TTL, '--zone-max-ttl',
                 '%ds' % sources.CHILD_TTL, '--zone-propagation-delay', '1s',
                 '--parent-ds-ttl', '%ds' % sources.PARENT_DS_TTL,
                 '--parent-propagation-delay', '1s', '--signature-validity', '1h',
                 '--signature-refresh', '10m', '--signature-jitter', '0',
                 '--ksk-lifetime', '0', '--zsk-lifetime', '0']
ROLL_DEADLINE = 180


def dump(db):
    """The keystore's whole content, to show that a command changed nothing."""
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    try:
        return '\n'.join(con.iterdump())
    finally:
        con.close()


class FixedPortSignetd(st.Signetd):
    """signetd on the address and port the old server had (its stub at unbound)."""

    def __init__(self, port, *a, **kw):
        super().__init__(*a, **kw)
        self.fixed = port

    def start(self):
        self.port = self.port2 = self.fixed
        self.write_corefile()
        for _ in range(50):
            self._log = open(self.log_path, 'ab')
            self.proc = st.spawn(st.signetd_cmd() + ['-c', self.corefile_path], self._log,
                                 self.dir)
            if self._wait_ready():
                return self
            if self.proc.poll() is None:
                raise RuntimeError('signetd does not answer; log:\n%s' % self.log()[-3000:])
            st._LIVE.discard(self.proc)
            self._log.close()
            time.sleep(0.2)     # the old server's port is not free yet
        raise RuntimeError('signetd could not take port %d; log:\n%s'
                           % (self.fixed, self.log()[-3000:]))


class Monitor(threading.Thread):
    """Asks unbound every second for the zone's SOA, DNSKEY and www A."""

    def __init__(self, world, zone):
        super().__init__(daemon=True)
        self.world = world
        self.zone = zone
        self.stop_ev = threading.Event()
        self.rows = []          # (time, question, rcode, AD, EDE)

    def run(self):
        while not self.stop_ev.is_set():
            for q, t in ((self.zone, 'SOA'), (self.zone, 'DNSKEY'), ('www.' + self.zone, 'A')):
                try:
                    r = self.world.unbound.query(q, t)
                    self.rows.append((time.time(), '%s %s' % (q, t), r.rcode, 'ad' in r.flags,
                                      r.ede))
                except st.NoReply:
                    self.rows.append((time.time(), '%s %s' % (q, t), 'NOREPLY', False, []))
            self.stop_ev.wait(1.0)

    def bad(self, since=0):
        return [r for r in self.rows if r[0] >= since and (r[2] != 'NOERROR' or not r[3])]


class Adopt(unittest.TestCase):
    world = None
    results = {}

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-adopt-')
        cls.world = sources.World(cls.dir)
        try:
            cls.world.start()
        except Exception:
            cls.world.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in getattr(cls, 'signetds', []):
            s.stop()
        cls.world.stop()
        if os.environ.get('KEEP'):
            print('kept %s' % cls.dir)
        else:
            shutil.rmtree(cls.dir, ignore_errors=True)

    signetds = []

    def ctl(self, db, *args, check=True):
        p = st.ctl_run(db, *args)
        if check and p.returncode != 0:
            self.fail('signetctl %s: exit %d\n%s%s' % (' '.join(args), p.returncode, p.stdout,
                                                      p.stderr))
        return p

    def adopt_cmd(self, src, *extra):
        return (['zone', 'adopt', src.zone, '--server', '127.0.0.1@%d' % src.port,
                 '--parent-ns', '127.0.0.1@%d' % self.world.parent.port, '--policy', 'adopt']
                + src.adopt_args() + list(extra))

    def keystore(self, src):
        db = os.path.join(self.dir, 'keystore-%s.db' % src.KIND)
        if not os.path.exists(db):
            role = ['--csk'] if src.KIND == 'pdns' else ['--ksk-zsk']
            self.ctl(db, 'policy', 'add', 'adopt', *(role + POLICY_TIMING))
        return db

    # ---- the parent, driven by the test as a registrar would -------------------------

    def keys(self, db, zone):
        return json.loads(st.ctl_run(db, '--json', 'key', 'list', zone).stdout)

    def wanted_ds(self, db, zone):
        """The DS records the keystore wants at the parent (sg_ks_key_in_ds_set's rule)."""
        now = time.time()
        tags = set()
        for k in self.keys(db, zone):
            if (k['role'] != 'zsk' and k['ds_submitted'] and not k['ds_withdrawn'] and
                    k['publish'] and k['publish'] <= now and
                    not (k['remove'] and k['remove'] <= now) and
                    not (k['retire'] and k['retire'] <= now)):
                tags.add(k['tag'])
        out = []
        for line in self.ctl(db, 'ds', zone).stdout.splitlines():
            f = line.split()
            if len(f) >= 8 and f[3] == 'DS' and int(f[4]) in tags:
                out.append('%s %s %s %s' % (f[4], f[5], f[6], ''.join(f[7:]).upper()))
        return sorted(out)

    def registrar_step(self, db, zone):
        """Make the parent serve what the keystore wants; then `ds seen`."""
        want = self.wanted_ds(db, zone)
        if want and self.world.parent.ds(zone)[1] != want:
            self.world.parent.set_ds(zone, want)
            st.wait_for(lambda: self.world.parent.ds(zone)[1] == want, 15, 0.2)
        if any(k['ds_submitted'] and not k['ds_seen'] for k in self.keys(db, zone)):
            self.ctl(db, 'ds', 'seen', zone, check=False)

    # ---- the migration ---------------------------------------------------------------

    def migrate(self, kind):
        w = self.world
        src = w.sources[kind]
        zone = src.zone
        w.check_secure(zone)
        ds_before = w.parent.ds(zone)
        self.assertEqual(ds_before[1], w.exported[zone], 'the parent serves the exported DS')
        served_tags = src.dnskey_tags()
        old_serial = src.serial()
        db = self.keystore(src)

        before = dump(db)
        p = self.ctl(db, *self.adopt_cmd(src, '--check'))
        self.assertIn('validates: yes', p.stdout)
        self.assertIn('nothing changed', p.stdout)
        self.assertEqual(dump(db), before, 'zone adopt --check changed the keystore')

        p = self.ctl(db, *self.adopt_cmd(src))
        self.assertIn('adopted', p.stdout)
        keys = self.keys(db, zone)
        self.assertEqual(sorted(k['tag'] for k in keys), served_tags)
        for k in keys:
            self.assertEqual(k['state'], 'active', k)
            if k['role'] != 'zsk':
                self.assertTrue(k['ds_seen'], 'the DS at the parent is recorded as seen: %s' % k)

        # the switch: same address and port, the old server stopped first
        with open(src.zonefile) as f:
            text = f.read()
        mon = Monitor(w, zone)
        bogus0 = w.unbound.bogus()
        mon.start()
        time.sleep(3)
        srv = FixedPortSignetd(
            src.port,
            '{\n    workers 1\n}\n%s:$port {\n    bind 127.0.0.1\n    dnssec {\n'
            '        keystore %s\n        policy adopt\n    }\n    file $dir/zone %s\n'
            '    errors\n}\n' % (zone, db, zone), ready_name=zone,
            workdir=os.path.join(self.dir, 'signetd-' + kind))
        os.makedirs(srv.dir, exist_ok=True)
        with open(srv.path('zone'), 'w') as f:
            f.write(text)
        src.stop()
        t_switch = time.time()
        srv.start()
        self.signetds.append(srv)
        time.sleep(2 * sources.CHILD_TTL + 3)      # every cached record of the old server expires
        new_serial = int(srv.dig(zone, 'SOA').answer[0].rdata.split()[2])
        ds_after = w.parent.ds(zone)
        self.assertEqual(ds_after, ds_before, "the parent's DS changed")
        bad = mon.bad()
        self.assertEqual(bad, [], 'answers not validated secure around the switch')
        self.assertEqual(w.unbound.bogus() - bogus0, 0, 'unbound counted bogus answers')

        # the first rollover under Signet, the test acting as the registrar
        role = '--csk' if kind == 'pdns' else '--ksk'
        old = {k['tag'] for k in keys if k['role'] != 'zsk'}
        self.ctl(db, 'zone', 'roll', zone, role)
        deadline = time.time() + ROLL_DEADLINE
        done = False
        while time.time() < deadline and not done:
            self.registrar_step(db, zone)
            ks = self.keys(db, zone)
            new = [k for k in ks if k['role'] != 'zsk' and k['tag'] not in old]
            gone = all(k['state'] in ('retired', 'removed') for k in ks if k['tag'] in old)
            done = bool(new) and all(k['state'] == 'active' and k['ds_seen'] for k in new) and gone
            time.sleep(1)
        self.registrar_step(db, zone)
        time.sleep(sources.PARENT_DS_TTL + 2)
        mon.stop_ev.set()
        mon.join()
        final = self.keys(db, zone)
        self.assertTrue(done, 'the first rollover under Signet did not complete in %ds: %s\n%s'
                        % (ROLL_DEADLINE, final, self.ctl(db, 'zone', 'history', zone).stdout))
        self.assertEqual(mon.bad(), [], 'answers not validated secure during the rollover')
        self.assertEqual(w.unbound.bogus() - bogus0, 0, 'unbound counted bogus answers')
        w.check_secure(zone)
        Adopt.results[kind] = (old_serial, new_serial, len(mon.rows), t_switch)
        print('\n%s: %d queries, serial %d -> %d, DS %s -> after roll %s'
              % (kind, len(mon.rows), old_serial, new_serial, ds_before, w.parent.ds(zone)))

    def check_serial(self, kind):
        if kind not in Adopt.results:
            self.skipTest('the %s migration did not run' % kind)
        old, new, _, _ = Adopt.results[kind]
        forward = (new - old) % 2**32 < 2**31 and new != old
        self.assertTrue(forward, 'signetd serves serial %d, not after the source\'s %d'
                        % (new, old))

    def test_0_refuses_a_ds_that_matches_no_key(self):
        w = self.world
        src = w.sources['pdns']
        zone = src.zone
        db = os.path.join(self.dir, 'keystore-refuse.db')
        self.ctl(db, 'policy', 'add', 'adopt', '--csk', *POLICY_TIMING)
        real = w.parent.ds(zone)[1]
        stray = '4711 13 2 ' + 'AB' * 32
        w.parent.set_ds(zone, real + [stray])
        try:
            st.wait_for(lambda: stray in w.parent.ds(zone)[1], 15, 0.2)
            before = dump(db)
            p = st.ctl_run(db, *self.adopt_cmd(src))
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn('refused', p.stderr)
            self.assertIn('4711', p.stderr + p.stdout)
            self.assertIn('matches no key', p.stderr + p.stdout)
            self.assertEqual(dump(db), before, 'a refused adopt changed the keystore')
            p = st.ctl_run(db, *self.adopt_cmd(src, '--check'))
            self.assertEqual(p.returncode, 1)
            self.assertIn('validates: no', p.stdout)
            self.assertEqual(dump(db), before)
        finally:
            w.parent.set_ds(zone, real)
        st.wait_for(lambda: w.parent.ds(zone)[1] == real, 15, 0.2)

    def test_1_bind(self):
        self.migrate('bind')

    def test_2_knot(self):
        self.migrate('knot')

    def test_3_pdns(self):
        self.migrate('pdns')

    def test_4_serials_forward_bind(self):
        self.check_serial('bind')

    def test_5_serials_forward_knot(self):
        self.check_serial('knot')

    def test_6_serials_forward_pdns(self):
        self.check_serial('pdns')


if __name__ == '__main__':
    unittest.main(verbosity=2)
