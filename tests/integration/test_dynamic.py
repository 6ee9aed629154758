#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.dynamic: zones at run time (issue 17). signetd runs with a `.` block whose
`dynamic` line serves the keystore's zones, none named in the Corefile.
`signetctl zone add a.test --file F` -> answers signed within a second and validated by
unbound from the zone's DS (`signetctl ds`); 200 zones added in a loop all answer;
`zone remove` -> REFUSED within a second, keys still in `key list`; `--purge` deletes
them; a restart serves the keystore's zones (also one added while signetd was down); a
file that does not load is refused by `zone add` with file:line and nothing is served; a
`file` or `secondary` line in such a block is refused at config time, a `transfer` one
accepted (it follows the zones: integ.catalog transfers them)."""

import os
import subprocess
import tempfile
import time
import unittest

import signet_test
from signet_test import Signetd, ctl, ctl_run, remove_workdir, stop_servers
from unbound_resolver import Unbound, unbound_path

COREFILE = '''
.:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
    }
    dynamic
    cache 16M
}
'''

SOON = 1.0 * signet_test.SLOWDOWN   # a change is served within a second


def zone_text(zone, serial=1, extra=''):
    return ('$ORIGIN %s.\n$TTL 300\n@ IN SOA ns1 hostmaster %d 3600 600 86400 300\n'
            '@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n%s' % (zone, serial, extra))


def record_lines(text):
    return [' '.join(l.split()) for l in text.splitlines() if l.strip() and not l.startswith(';')]


class DynamicZones(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-dynamic-')
        cls.db = os.path.join(cls.dir, 'keystore.db')
        ctl(cls.db, 'policy', 'list')   # a keystore with the default policy
        cls.srv = Signetd(COREFILE, workdir=cls.dir, ready_name='a.test')
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        errors = stop_servers(cls.srv)
        remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    def write(self, zone, **kw):
        path = os.path.join(self.dir, zone + '.zone')
        with open(path, 'w') as f:
            f.write(zone_text(zone, **kw))
        return path

    def wait(self, pred, what, timeout=SOON):
        """pred() true within timeout (measured from now); the last value otherwise fails."""
        start = time.monotonic()
        while True:
            r = pred()
            if r:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                self.fail('%s not within %.1fs; log tail:\n%s' % (what, timeout, self.srv.log()[-3000:]))
            time.sleep(0.05)

    def signed_answer(self, name):
        r = self.srv.dig(name, 'A', '+dnssec')
        return r.rcode == 'NOERROR' and r.rrs('answer', 'A') and r.rrs('answer', 'RRSIG')

    def test_1_add_signed_validated(self):
        path = self.write('a.test')
        self.assertEqual(self.srv.dig('www.a.test', 'A').rcode, 'REFUSED')
        ctl(self.db, 'zone', 'add', 'a.test', '--file', path)
        self.wait(lambda: self.signed_answer('www.a.test'), 'a signed answer for www.a.test')
        ds = record_lines(ctl(self.db, 'ds', 'a.test'))
        self.assertTrue(ds, 'signetctl ds printed no DS')
        if not unbound_path():
            self.skipTest('unbound not installed')
        ub = Unbound(self.dir, [('a.test', self.srv.port)], ds)
        ub.start()
        try:
            r = ub.dig('www.a.test', 'A')
            self.assertEqual(r.rcode, 'NOERROR', '%r\n%s' % (r, ub.log()[-2000:]))
            self.assertIn('ad', r.flags, 'not validated: %r\n%s' % (r, ub.log()[-2000:]))
            r = ub.dig('nope.a.test', 'A')
            self.assertEqual(r.rcode, 'NXDOMAIN', '%r' % r)
            self.assertIn('ad', r.flags, 'denial not validated: %r' % r)
        finally:
            ub.stop()

    def test_1b_own_policy(self):
        # a zone added with its own policy keeps it: the block's keyman made it the
        # block's policy (default) when it opened the zone, and rolled the algorithm
        ctl(self.db, 'policy', 'add', 'p384', '--algorithm', 'ecdsap384sha384')
        ctl(self.db, 'zone', 'add', 'own.test', '--file', self.write('own.test'),
            '--policy', 'p384')
        self.wait(lambda: self.signed_answer('www.own.test'), 'a signed answer for www.own.test')
        time.sleep(1.5 * SOON)   # the keyman's first step for the zone
        self.assertEqual(ctl(self.db, 'zone', 'show', 'own.test', as_json=True)['policy'], 'p384')
        r = self.srv.dig('www.own.test', 'A', '+dnssec')
        algs = {rr.rdata.split()[1] for rr in r.rrs('answer', 'RRSIG')}
        self.assertEqual(algs, {'14'}, 'signed with the zone\'s own algorithm: %r' % r)
        ctl(self.db, 'zone', 'remove', 'own.test', '--purge', '--force')

    def test_2_two_hundred(self):
        zones = ['z%03d.test' % i for i in range(200)]
        for z in zones:
            ctl(self.db, 'zone', 'add', z, '--file', self.write(z))
        last = zones[-1]
        self.wait(lambda: self.signed_answer('www.' + last), 'the last of 200 zones', timeout=5 * SOON)
        for z in zones:
            r = self.srv.dig('www.' + z, 'A', '+dnssec')
            self.assertEqual(r.rcode, 'NOERROR', '%s: %r' % (z, r))
            self.assertTrue(r.rrs('answer', 'RRSIG'), '%s unsigned: %r' % (z, r))
        for z in zones[:150]:
            ctl(self.db, 'zone', 'remove', z, '--purge')
        self.wait(lambda: self.srv.dig('www.' + zones[0], 'A').rcode == 'REFUSED',
                  'the purged zones refused', timeout=5 * SOON)

    def test_2b_from_list(self):
        # 300 zones from one list: one transaction per 256, every one served signed; a list
        # with a broken file changes nothing
        zones = ['l%03d.test' % i for i in range(300)]
        lst = os.path.join(self.dir, 'zones.list')
        with open(lst, 'w') as f:
            f.write('# zone path [policy]\n')
            for z in zones:
                f.write('%s %s\n' % (z, self.write(z)))
        out = ctl(self.db, 'zone', 'add', '--from-list', lst, as_json=True)
        self.assertEqual(out, {'zones': 300, 'added': 300, 'kept': 0})
        self.wait(lambda: self.signed_answer('www.' + zones[-1]), 'the last of 300 listed zones',
                  timeout=5 * SOON)
        for z in zones[::7]:
            self.assertTrue(self.signed_answer('www.' + z), z)
        bad = os.path.join(self.dir, 'bad.list')
        with open(bad, 'w') as f:
            f.write('lnew.test %s\nlbad.test %s\n' % (
                self.write('lnew.test'), self.write('lbad.test', extra='www IN A 192.0.2.999\n')))
        p = ctl_run(self.db, 'zone', 'add', '--from-list', bad)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('bad.list:2:', p.stderr)
        self.assertIn('nothing changed', p.stderr)
        self.assertNotEqual(ctl_run(self.db, 'zone', 'show', 'lnew.test').returncode, 0)
        for z in zones:
            ctl(self.db, 'zone', 'remove', z, '--purge')

    def test_3_remove_then_purge(self):
        ctl(self.db, 'zone', 'add', 'b.test', '--file', self.write('b.test'))
        self.wait(lambda: self.signed_answer('www.b.test'), 'b.test served')
        ctl(self.db, 'zone', 'remove', 'b.test')
        self.wait(lambda: self.srv.dig('www.b.test', 'A').rcode == 'REFUSED', 'b.test REFUSED')
        keys = ctl(self.db, 'key', 'list', 'b.test', as_json=True)
        self.assertTrue(keys, 'the keys of an unserved zone are kept')
        shown = ctl(self.db, 'zone', 'show', 'b.test', as_json=True)
        self.assertIsNone(shown['file'])
        # served again: the same keys, no new ones
        ctl(self.db, 'zone', 'add', 'b.test', '--file', self.write('b.test'))
        self.wait(lambda: self.signed_answer('www.b.test'), 'b.test served again')
        self.assertEqual(sorted(k['id'] for k in ctl(self.db, 'key', 'list', 'b.test', as_json=True)),
                         sorted(k['id'] for k in keys))
        ctl(self.db, 'zone', 'remove', 'b.test', '--purge')
        self.wait(lambda: self.srv.dig('www.b.test', 'A').rcode == 'REFUSED', 'purged b.test REFUSED')
        self.assertNotEqual(ctl_run(self.db, 'zone', 'show', 'b.test').returncode, 0)
        p = ctl_run(self.db, 'key', 'list', as_json=True)
        self.assertNotIn('"b.test."', p.stdout, 'keys of a purged zone remain')

    def test_4_broken_file(self):
        path = self.write('bad.test', extra='www IN A 192.0.2.999\n')
        p = ctl_run(self.db, 'zone', 'add', 'bad.test', '--file', path)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r'bad\.test\.zone:7: ', 'no file:line in\n' + p.stderr)
        self.assertNotEqual(ctl_run(self.db, 'zone', 'show', 'bad.test').returncode, 0,
                            'a zone whose file does not load was added')
        time.sleep(SOON)
        self.assertEqual(self.srv.dig('www.bad.test', 'A').rcode, 'REFUSED')
        # a served zone whose new file is broken keeps its version
        ctl(self.db, 'zone', 'add', 'c.test', '--file', self.write('c.test'))
        self.wait(lambda: self.signed_answer('www.c.test'), 'c.test served')
        p = ctl_run(self.db, 'zone', 'add', 'c.test', '--file', path)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(self.signed_answer('www.c.test'))
        self.assertTrue(self.srv.alive())

    def test_5_restart(self):
        ctl(self.db, 'zone', 'add', 'r1.test', '--file', self.write('r1.test'))
        self.wait(lambda: self.signed_answer('www.r1.test'), 'r1.test served')
        self.srv.stop()
        # added while signetd is down: served at the next start
        ctl(self.db, 'zone', 'add', 'r2.test', '--file', self.write('r2.test'))
        self.srv.start()
        for z in ('a.test', 'r1.test', 'r2.test', 'z199.test'):
            self.assertTrue(self.signed_answer('www.' + z), '%s after a restart: %r' % (
                z, self.srv.dig('www.' + z, 'A', '+dnssec')))
        self.assertEqual(self.srv.dig('www.b.test', 'A').rcode, 'REFUSED')


class PurgeTransferState(unittest.TestCase):
    """`zone remove --purge` of a transferred zone deletes its transfer state too (the last
    served serial and the journal): signetd's in a configured state-dir, signetctl's beside
    the keystore (the default state-dir) when no signetd serves the zone."""

    def test_purge_removes_transfer_state(self):
        d = tempfile.mkdtemp(prefix='signet-dynamic-p-')
        srv = None
        try:
            db = os.path.join(d, 'keystore.db')
            state = os.path.join(d, 'xfr-state')
            os.mkdir(state)
            ctl(db, 'policy', 'list')
            srv = Signetd('.:$port {\n    bind 127.0.0.1\n    dnssec {\n        keystore $dir/'
                          'keystore.db\n    }\n    dynamic\n    transfer {\n        to 127.0.0.1\n'
                          '        state-dir $dir/xfr-state\n    }\n}\n', workdir=d)
            srv.start()
            path = os.path.join(d, 'p.test.zone')
            with open(path, 'w') as f:
                f.write(zone_text('p.test'))
            ctl(db, 'zone', 'add', 'p.test', '--file', path)
            files = [os.path.join(state, 'p.test.xfr-serial'),
                     os.path.join(state, 'p.test.xfr-journal')]
            deadline = time.monotonic() + 10 * SOON
            while not all(os.path.exists(f) for f in files) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(all(os.path.exists(f) for f in files),
                            'no transfer state made: %s\n%s' % (os.listdir(state), srv.log()[-2000:]))
            ctl(db, 'zone', 'remove', 'p.test', '--purge')
            # gone when the transfer state is let go (after the retire grace period)
            deadline = time.monotonic() + 60 * signet_test.SLOWDOWN
            while any(os.path.exists(f) for f in files) and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertFalse(any(os.path.exists(f) for f in files),
                             'left after the purge: %s\n%s' % (os.listdir(state), srv.log()[-2000:]))
            # not served by any signetd: signetctl removes what is beside the keystore
            ctl(db, 'zone', 'add', 'q.test')
            beside = [os.path.join(d, 'q.test.xfr-serial'), os.path.join(d, 'q.test.xfr-journal')]
            for f in beside:
                with open(f, 'w') as fh:
                    fh.write('serial 7\n')
            ctl(db, 'zone', 'remove', 'q.test', '--purge')
            self.assertFalse(any(os.path.exists(f) for f in beside), os.listdir(d))
        finally:
            errors = stop_servers(srv) if srv else []
            remove_workdir(d)
            if errors:
                raise AssertionError('\n'.join(errors))


class WakeOnAdd(unittest.TestCase):
    """`zone add` and `zone remove` wake signetd over its control socket: with the untold
    poll slowed to 30 s (`dynamic { poll 30s }`) an added zone still answers signed, and a
    removed one is REFUSED, at once; a keystore changed without the socket waits for the
    poll."""

    def test_add_remove_told(self):
        d = tempfile.mkdtemp(prefix='signet-dynamic-w-')
        srv = None
        try:
            db = os.path.join(d, 'keystore.db')
            sock = os.path.join(d, 'signetd.sock')
            ctl(db, 'policy', 'list')
            srv = Signetd('{\n    control $dir/signetd.sock\n}\n.:$port {\n    bind 127.0.0.1\n'
                          '    dnssec {\n        keystore $dir/keystore.db\n    }\n'
                          '    dynamic {\n        poll 30s\n    }\n}\n', workdir=d)
            srv.start()

            def signetctl(*args):
                p = subprocess.run([signet_test.signetctl_path(), '--db', db, '--socket', sock,
                                    '--busy-timeout', '20000'] + list(args),
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

            def signed(name):
                r = srv.dig(name, 'A', '+dnssec')
                return r.rcode == 'NOERROR' and r.rrs('answer', 'RRSIG')

            def within(pred, what, limit):
                start = time.monotonic()
                while not pred():
                    if time.monotonic() - start > limit:
                        self.fail('%s not within %.1fs (the 30 s poll, not the wake?)\n%s'
                                  % (what, limit, srv.log()[-3000:]))
                    time.sleep(0.02)
                return time.monotonic() - start

            limit = 1.5 * signet_test.SLOWDOWN
            times = []
            for i in range(3):
                zone = 'w%d.test' % i
                path = os.path.join(d, zone + '.zone')
                with open(path, 'w') as f:
                    f.write(zone_text(zone))
                t0 = time.monotonic()
                signetctl('zone', 'add', zone, '--file', path)
                within(lambda: signed('www.' + zone), 'a signed answer for www.' + zone, limit)
                times.append(time.monotonic() - t0)
            print('zone add -> answered signed: %s s' % ', '.join('%.3f' % t for t in times))
            signetctl('zone', 'remove', 'w0.test')
            within(lambda: srv.dig('www.w0.test', 'A').rcode == 'REFUSED', 'w0.test refused', limit)
            # untold (no socket): nothing before the poll
            path = os.path.join(d, 'u.test.zone')
            with open(path, 'w') as f:
                f.write(zone_text('u.test'))
            ctl(db, 'zone', 'add', 'u.test', '--file', path)
            time.sleep(2)
            self.assertEqual(srv.dig('www.u.test', 'A').rcode, 'REFUSED')
        finally:
            errors = stop_servers(srv) if srv else []
            remove_workdir(d)
            if errors:
                raise AssertionError('\n'.join(errors))


class RefusedCombinations(unittest.TestCase):
    """A plugin that knows its zones only at setup is refused beside `dynamic`."""

    def check(self, line, plugin):
        d = tempfile.mkdtemp(prefix='signet-dynamic-t-')
        try:
            path = os.path.join(d, 'Corefile')
            with open(path, 'w') as f:
                f.write('.:5399 {\n    dnssec {\n        keystore %s/ks.db\n    }\n    dynamic\n'
                        '    %s\n}\n' % (d, line))
            p = subprocess.run(signet_test.signetd_cmd() + ['-c', path, '-t'], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn('Corefile:6', p.stderr)
            self.assertIn('%s: not available in a block whose zones come and go' % plugin, p.stderr)
        finally:
            remove_workdir(d)

    def test_file(self):
        self.check('file %s/x.zone x.test' % signet_test.FIXTURES, 'file')

    def test_secondary(self):
        self.check('secondary {\n        from 127.0.0.1\n    }', 'secondary')

    def test_transfer_follows(self):
        d = tempfile.mkdtemp(prefix='signet-dynamic-t-')
        try:
            path = os.path.join(d, 'Corefile')
            with open(path, 'w') as f:
                f.write('.:5399 {\n    dnssec {\n        keystore %s/ks.db\n    }\n    dynamic\n'
                        '    transfer {\n        to 127.0.0.1\n        catalog catalog.invalid\n'
                        '    }\n}\n' % d)
            p = subprocess.run(signet_test.signetd_cmd() + ['-c', path, '-t'], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        finally:
            remove_workdir(d)

    def test_needs_dnssec(self):
        d = tempfile.mkdtemp(prefix='signet-dynamic-t-')
        try:
            path = os.path.join(d, 'Corefile')
            with open(path, 'w') as f:
                f.write('.:5399 {\n    dynamic\n}\n')
            p = subprocess.run(signet_test.signetd_cmd() + ['-c', path, '-t'], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 1)
            self.assertIn("needs a 'dnssec' block", p.stderr)
        finally:
            remove_workdir(d)


if __name__ == '__main__':
    unittest.main(verbosity=2)
