#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.update: dynamic updates (RFC 2136, issue 22) with real clients.

signetd serves example.test signed, with an `update` block (two TSIG keys, one limited to
_acme-challenge TXT), a `transfer` block notifying a Knot secondary, and a validating
unbound in front. nsupdate and knsupdate add and delete records with TSIG (hmac-sha256);
unbound sees a new TXT with AD within a second of the UPDATE's NOERROR, and the NXDOMAIN
of a deleted name validates; each prerequisite failure gives its rcode and changes
nothing; a wrong secret (NOTAUTH/BADSIG), an unknown key (NOTAUTH/BADKEY), a key not in the
block, an unsigned update, a record outside a key's `allow`, a DNSSEC type, a name outside
the zone (NOTZONE) and another zone (NOTAUTH) change nothing; Knot follows by NOTIFY and
IXFR; SIGKILL right after NOERROR loses nothing (the journal); `signetctl zone flush`
writes the zone file; an operator's edit of the file that moves its serial wins over the
journal (a WARN naming the file).

signetd and signetctl come from $SIGNETD / $SIGNETCTL; nsupdate, knsupdate, knotd, unbound
and dig from the PATH. Python 3 standard library only.
"""

import base64
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

import signet_test
from secondaries import Knot
from signet_test import Signetd, ctl, stop_and_remove
from test_dnssec import record_lines
from unbound_resolver import Unbound, unbound_path

SOON = 1.0 * signet_test.SLOWDOWN   # an update is validated by a resolver within a second

ZONE = '''$ORIGIN example.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
; a comment the write-back may drop
'''

COREFILE = '''
{
    tsig-key ddns-key hmac-sha256 %(ddns)s
    tsig-key acme-key hmac-sha256 %(acme)s
    tsig-key idle-key hmac-sha256 %(idle)s
    tsig-key xfr.key hmac-sha256 %(xfr)s
    control $dir/signetd.sock
}
example.test:$port {
    bind 127.0.0.1
    cache 8M
    update {
        key ddns-key acme-key
        allow acme-key _acme-challenge TXT
    }
    file $dir/example.test.zone
    dnssec {
        keystore $dir/keystore.db
    }
    transfer {
        to 127.0.0.1
        key xfr.key
        notify 127.0.0.1:%(knot)d
    }
}
'''


def secret():
    return base64.b64encode(os.urandom(32)).decode()


class Update(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-update-')
        cls.srv = cls.knot = cls.ub = None
        try:
            cls._setup()
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _setup(cls):
        cls.db = os.path.join(cls.dir, 'keystore.db')
        cls.keys = {k: secret() for k in ('ddns', 'acme', 'idle', 'xfr')}
        with open(os.path.join(cls.dir, 'example.test.zone'), 'w') as f:
            f.write(ZONE)
        cls.knot = Knot(cls.dir, None, ['example.test'], ('xfr.key', 'hmac-sha256', cls.keys['xfr']))
        args = dict(cls.keys, knot=cls.knot.port)
        cls.srv = Signetd(COREFILE % args, workdir=cls.dir)
        cls.srv.start()
        if not cls.srv.wait_log(r'transfer: example\.test\.: serial \d+ \(first version\)', timeout=30):
            raise AssertionError('no first version; log:\n%s' % cls.srv.log())
        cls.knot.primary_port = cls.srv.port
        cls.knot.start()
        cls.ds = record_lines(ctl(cls.db, 'ds', 'example.test'))
        if unbound_path():
            cls.ub = Unbound(cls.dir, [('example.test', cls.srv.port)], cls.ds)
            cls.ub.start()

    @classmethod
    def _teardown(cls):
        if cls.ub:
            cls.ub.stop()
        if cls.knot:
            cls.knot.stop()
        stop_and_remove(cls.dir, cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    # -- helpers ---------------------------------------------------------------------------

    def nsupdate(self, lines, key='ddns', keyname=None, secret_text=None, tool='nsupdate'):
        """Send one update with nsupdate (or knsupdate); (ok, output). key None: unsigned."""
        script = 'server 127.0.0.1 %d\nzone example.test.\n%s\nsend\n' % (self.srv.port, lines)
        cmd = [tool]
        if key:
            cmd += ['-y', 'hmac-sha256:%s:%s' % (keyname or key + '-key', secret_text or self.keys[key])]
        p = subprocess.run(cmd, input=script + ('quit\n' if tool == 'knsupdate' else ''),
                           capture_output=True, text=True, timeout=60)
        return p.returncode == 0 and 'failed' not in p.stdout + p.stderr, p.stdout + p.stderr

    def update_ok(self, lines, **kw):
        ok, out = self.nsupdate(lines, **kw)
        self.assertTrue(ok, 'update refused: %s\nlog:\n%s' % (out, self.srv.log()[-2000:]))

    def update_fails(self, lines, rcode, **kw):
        serial = self.serial()
        ok, out = self.nsupdate(lines, **kw)
        self.assertFalse(ok, 'update accepted: %s' % lines)
        self.assertIn(rcode, out)
        self.assertEqual(self.serial(), serial, 'a failed update moved the serial')

    def serial(self):
        r = self.srv.dig('example.test', 'SOA')
        return int(r.rrs('answer', 'SOA')[0].rdata.split()[2])

    def answer(self, name, rtype='A'):
        r = self.srv.dig(name, rtype, '+dnssec')
        return sorted(rr.rdata for rr in r.rrs('answer', rtype)), r

    def wait(self, pred, what, timeout=SOON):
        start = time.monotonic()
        while True:
            r = pred()
            if r:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                self.fail('%s not within %.1fs; log tail:\n%s' % (what, timeout, self.srv.log()[-3000:]))
            time.sleep(0.02)

    def need_unbound(self):
        if not self.ub:
            self.skipTest('unbound not installed')

    # -- tests -------------------------------------------------------------------------------

    def test_1_add_signed_validated_within_a_second(self):
        self.need_unbound()
        before = self.serial()
        self.update_ok('update add _acme-challenge.example.test. 60 TXT "token-1"\n'
                       'update add host1.example.test. 300 A 192.0.2.11')
        t0 = time.monotonic()

        def validated():
            r = self.ub.dig('_acme-challenge.example.test', 'TXT')
            return r.rcode == 'NOERROR' and 'ad' in r.flags and \
                [rr.rdata for rr in r.rrs('answer', 'TXT')] == ['"token-1"']
        self.wait(validated, 'unbound validating the new TXT')
        took = time.monotonic() - t0
        self.assertLess(took, SOON)
        rrs, r = self.answer('host1.example.test')
        self.assertEqual(rrs, ['192.0.2.11'])
        self.assertTrue(r.rrs('answer', 'RRSIG'), 'unsigned: %r' % r)
        self.assertEqual(self.serial(), before + 1)

    def test_2_delete_nxdomain_proof_validates(self):
        self.need_unbound()
        self.update_ok('update add gone.example.test. 300 A 192.0.2.12')
        self.assertEqual(self.answer('gone.example.test')[0], ['192.0.2.12'])
        self.update_ok('update delete gone.example.test. A')
        r = self.srv.dig('gone.example.test', 'A', '+dnssec')
        self.assertEqual(r.rcode, 'NXDOMAIN')
        r = self.ub.dig('gone.example.test', 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN', r.text)
        self.assertIn('ad', r.flags, 'denial not validated: %s' % r.text)
        # one record of several, and a whole name
        self.update_ok('update add multi.example.test. 300 A 192.0.2.21\n'
                       'update add multi.example.test. 300 A 192.0.2.22\n'
                       'update add multi.example.test. 300 TXT "x"')
        self.update_ok('update delete multi.example.test. 300 A 192.0.2.21')
        self.assertEqual(self.answer('multi.example.test')[0], ['192.0.2.22'])
        self.update_ok('update delete multi.example.test.')
        self.assertEqual(self.srv.dig('multi.example.test', 'TXT').rcode, 'NXDOMAIN')
        r = self.ub.dig('multi.example.test', 'TXT')
        self.assertEqual(r.rcode, 'NXDOMAIN', r.text)
        self.assertIn('ad', r.flags, r.text)

    def test_3_nsupdate_key_file(self):
        path = self.srv.path('ddns.key')
        with open(path, 'w') as f:
            f.write('key "ddns-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' % self.keys['ddns'])
        p = subprocess.run(['nsupdate', '-k', path],
                           input='server 127.0.0.1 %d\nzone example.test.\nupdate add keyfile.example.test. 300 A '
                                 '192.0.2.32\nsend\n' % self.srv.port, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.answer('keyfile.example.test')[0], ['192.0.2.32'])

    def test_3_knsupdate(self):
        self.update_ok('update add knot.example.test. 300 A 192.0.2.31', tool='knsupdate')
        self.assertEqual(self.answer('knot.example.test')[0], ['192.0.2.31'])
        self.update_ok('update del knot.example.test. A', tool='knsupdate')
        self.assertEqual(self.srv.dig('knot.example.test', 'A').rcode, 'NXDOMAIN')

    def test_4_prerequisites(self):
        add = '\nupdate add pre.example.test. 300 A 192.0.2.41'
        self.update_fails('prereq nxdomain www.example.test.' + add, 'YXDOMAIN')
        self.update_fails('prereq yxdomain nope.example.test.' + add, 'NXDOMAIN')
        self.update_fails('prereq nxrrset www.example.test. A' + add, 'YXRRSET')
        self.update_fails('prereq yxrrset www.example.test. AAAA' + add, 'NXRRSET')
        self.update_fails('prereq yxrrset www.example.test. A 192.0.2.99' + add, 'NXRRSET')
        self.update_fails('prereq nxdomain elsewhere.test.' + add, 'NOTZONE')
        self.assertEqual(self.srv.dig('pre.example.test', 'A').rcode, 'NXDOMAIN')
        self.update_ok('prereq yxrrset www.example.test. A 192.0.2.80\nprereq nxdomain pre.example.test.' + add)
        self.assertEqual(self.answer('pre.example.test')[0], ['192.0.2.41'])

    def test_5_refused_changes_nothing(self):
        line = 'update add bad.example.test. 300 A 192.0.2.51'
        self.update_fails(line, 'BADSIG', secret_text=secret())
        self.update_fails(line, 'BADKEY', keyname='nokey')
        self.update_fails(line, 'REFUSED', key='idle')
        self.update_fails(line, 'REFUSED', key=None)
        self.update_fails(line, 'REFUSED', key='acme')       # outside its allow line
        self.update_fails('update add _acme-challenge.example.test. 60 CNAME elsewhere.test.', 'REFUSED', key='acme')
        self.update_fails('update add www.example.test. 60 TXT "not-acme"', 'REFUSED', key='acme')
        self.update_fails('update add example.test. 300 DNSKEY 257 3 13 '
                          'mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==',
                          'REFUSED')
        self.update_fails('update add example.test. 300 SOA ns1 h 99 1 1 1 1', 'REFUSED')
        self.update_fails('update add bad.elsewhere.test. 300 A 192.0.2.53', 'NOTZONE')
        self.assertEqual(self.srv.dig('bad.example.test', 'A').rcode, 'NXDOMAIN')
        # another zone: not ours
        p = subprocess.run(['nsupdate', '-y', 'hmac-sha256:ddns-key:' + self.keys['ddns']],
                           input='server 127.0.0.1 %d\nzone other.test.\nupdate add a.other.test. 300 A '
                                 '192.0.2.1\nsend\n' % self.srv.port, capture_output=True, text=True,
                           timeout=60)
        self.assertIn('NOTAUTH', p.stdout + p.stderr)
        # the limited key may do what it is allowed
        self.update_ok('update add _acme-challenge.example.test. 60 TXT "acme-ok"', key='acme')
        self.update_ok('update delete _acme-challenge.example.test. TXT "acme-ok"', key='acme')

    def test_6_ixfr_and_notify_to_knot(self):
        mark = len(self.knot.log())
        self.update_ok('update add tosecondary.example.test. 300 A 192.0.2.61')
        want = self.serial()
        got = self.knot.wait_serial('example.test', want, timeout=20 * signet_test.SLOWDOWN)
        self.assertEqual(got, want, self.knot.log()[-3000:])
        r = self.knot.dig('tosecondary.example.test', 'A', '+dnssec')
        self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['192.0.2.61'])
        self.assertTrue(r.rrs('answer', 'RRSIG'), 'Knot serves it unsigned: %r' % r)
        self.assertRegex(self.knot.log()[mark:], r'IXFR, incoming.*finished')

    def sctl(self, *args):
        return ctl(self.db, '--socket', self.srv.path('signetd.sock'), *args)

    def test_6b_signetctl_record_and_flush(self):
        conf = self.srv.corefile_path
        out = self.sctl('record', 'add', 'example.test', 'ctl1', '300', 'A', '192.0.2.65', '--config', conf)
        self.assertIn('NOERROR', out)
        self.sctl('record', 'add', 'example.test', 'ctl1', '300', 'TXT', '"made by signetctl"', '--config', conf)
        self.assertEqual(self.answer('ctl1.example.test')[0], ['192.0.2.65'])
        listed = self.sctl('record', 'list', 'example.test', 'ctl1')
        self.assertEqual(len(listed.splitlines()), 2, listed)
        self.assertIn('192.0.2.65', listed)
        self.assertIn('"made by signetctl"', listed)
        self.assertNotIn('RRSIG', self.sctl('record', 'list', 'example.test'))
        self.sctl('record', 'delete', 'example.test', 'ctl1', 'A', '192.0.2.65', '--config', conf)
        self.assertEqual(self.answer('ctl1.example.test')[0], [])
        self.sctl('record', 'delete', 'example.test', 'ctl1.example.test.', '--config', conf)
        self.assertEqual(self.srv.dig('ctl1.example.test', 'TXT').rcode, 'NXDOMAIN')
        # a key the block does not take: refused, exit status 1
        p = signet_test.ctl_run(self.db, 'record', 'add', 'example.test', 'x', '300', 'A', '192.0.2.1',
                                '--config', conf, '--key', 'idle-key')
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('REFUSED', p.stderr)
        # flush: the file gets the served records and the served serial, the journal empties
        self.sctl('record', 'add', 'example.test', 'flushed', '300', 'A', '192.0.2.66', '--config', conf)
        serial = self.serial()
        out = self.sctl('zone', 'flush', 'example.test', '--config', conf)
        self.assertIn('serial %d written' % serial, out)
        with open(self.srv.path('example.test.zone')) as f:
            text = f.read()
        self.assertIn('192.0.2.66', text)
        self.assertNotIn('ctl1.example.test.', text)
        soa = [l.split() for l in text.splitlines() if l.split()[3:4] == ['SOA']]
        self.assertEqual(len(soa), 1, text)
        self.assertEqual(int(soa[0][6]), serial, text)
        self.assertIn('no journaled updates', self.sctl('zone', 'flush', 'example.test', '--config', conf))
        # updates go on after a flush, and survive a restart on top of the flushed file
        self.update_ok('update add afterflush.example.test. 300 A 192.0.2.67')

    def test_7_sigkill_after_noerror_loses_nothing(self):
        self.update_ok('update add durable.example.test. 300 A 192.0.2.71')
        serial = self.serial()
        self.srv.kill_restart()
        self.assertEqual(self.answer('durable.example.test')[0], ['192.0.2.71'])
        self.assertEqual(self.answer('afterflush.example.test')[0], ['192.0.2.67'])
        self.assertEqual(self.answer('flushed.example.test')[0], ['192.0.2.66'])
        self.assertEqual(self.serial(), serial)
        self.assertTrue(self.srv.wait_log(r'journaled updates replayed'))
        # and updates go on from there
        self.update_ok('update add after.example.test. 300 A 192.0.2.72')
        self.assertEqual(self.answer('after.example.test')[0], ['192.0.2.72'])
        # a reload that keeps the file keeps the updated version, and updates go on
        serial = self.serial()
        mark = self.srv.log_size()
        self.srv.send_signal(signal.SIGHUP)
        self.assertTrue(self.srv.wait_log(r'reload done', mark), self.srv.log()[mark:])
        self.assertEqual(self.answer('after.example.test')[0], ['192.0.2.72'])
        self.assertEqual(self.serial(), serial)
        self.update_ok('update add afterreload.example.test. 300 A 192.0.2.73')
        self.assertEqual(self.answer('afterreload.example.test')[0], ['192.0.2.73'])
        self.assertEqual(self.serial(), serial + 1)

    def test_8_file_edited_wins_over_journal(self):
        path = self.srv.path('example.test.zone')
        self.update_ok('update add journaled.example.test. 300 A 192.0.2.81')
        self.srv.stop()
        with open(path, 'w') as f:
            f.write(ZONE.replace(' 1 3600', ' 500 3600') + 'edited IN A 192.0.2.82\n')
        mark = self.srv.log_size()
        self.srv.start()
        self.assertTrue(self.srv.wait_log(r'WARN.*zone file %s .*the file wins' % re.escape(path), mark),
                        self.srv.log()[mark:])
        self.assertEqual(self.answer('edited.example.test')[0], ['192.0.2.82'])
        self.assertEqual(self.srv.dig('journaled.example.test', 'A').rcode, 'NXDOMAIN')
        # updates start again from the file
        self.update_ok('update add fresh.example.test. 300 A 192.0.2.83')
        self.assertEqual(self.answer('fresh.example.test')[0], ['192.0.2.83'])


class WriteBack(unittest.TestCase):
    """`write-back 1s` and `journal PATH`: the zone file gets the updates within seconds,
    the journal (owner-only) empties, and a restart serves them from the file."""

    def test_write_back(self):
        d = tempfile.mkdtemp(prefix='signet-update-wb-')
        srv = None
        try:
            os.mkdir(os.path.join(d, 'j'))
            path = os.path.join(d, 'example.test.zone')
            with open(path, 'w') as f:
                f.write(ZONE)
            key = secret()
            srv = Signetd('{\n    tsig-key ddns-key hmac-sha256 %s\n}\nexample.test:$port {\n'
                          '    bind 127.0.0.1\n    update {\n        key ddns-key\n'
                          '        journal $dir/j/updates.db\n        write-back 1s\n    }\n'
                          '    file $dir/example.test.zone\n}\n' % key, workdir=d)
            srv.start()
            p = subprocess.run(['nsupdate', '-y', 'hmac-sha256:ddns-key:' + key],
                               input='server 127.0.0.1 %d\nzone example.test.\nupdate add wb.example.test. 300 A '
                                     '192.0.2.91\nsend\n' % srv.port, capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            jpath = os.path.join(d, 'j', 'updates.db')
            self.assertEqual(os.stat(jpath).st_mode & 0o777, 0o600)
            deadline = time.monotonic() + 10 * signet_test.SLOWDOWN
            while time.monotonic() < deadline:
                with open(path) as f:
                    if '192.0.2.91' in f.read():
                        break
                time.sleep(0.1)
            with open(path) as f:
                self.assertIn('192.0.2.91', f.read(), srv.log()[-2000:])
            self.assertTrue(srv.wait_log(r'journal emptied'), srv.log()[-2000:])
            with sqlite3.connect(jpath) as db:
                self.assertEqual(db.execute('SELECT count(*) FROM changes').fetchone()[0], 0)
            srv.stop()
            mark = srv.log_size()
            srv.start()
            r = srv.dig('wb.example.test', 'A')
            self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['192.0.2.91'])
            self.assertNotIn('replayed', srv.log()[mark:])
        finally:
            stop_and_remove(d, srv)


if __name__ == '__main__':
    signet_test.main()
