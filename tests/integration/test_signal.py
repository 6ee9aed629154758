# SPDX-License-Identifier: MIT
"""RFC 9615 signalling records (registrar `cds`): a child served signed by signetd whose
nameserver names lie in a zone signetd also serves signed gets its CDS/CDNSKEY published
at `_dsboot.CHILD._signal.NS`, signed in the nameserver's zone.

One signetd, one keystore, two server blocks: `example.net` (the nameservers' zone, with
`same.test` beside it in its block, NSEC3) and `child.test` (another block, NSEC), both
children with the `cds` provider and NS ns1.example.net. A validating unbound trusting only
example.net's DS resolves the signals with AD; a CSK rollover of the child moves the
signal with the child's CDS; a name not signalled is a validated NXDOMAIN; the AXFR of
example.net passes ldns-verify-zone.

signetd comes from $SIGNETD, signetctl from $SIGNETCTL (CTest passes the built targets).
"""

import os
import signal
import subprocess
import tempfile
import time
import unittest

import signet_test
from signet_test import Signetd, ctl, ctl_run
from unbound_resolver import Unbound

FAST = ['--csk', '--ksk-lifetime', '0', '--zsk-lifetime', '0', '--dnskey-ttl', '1s',
        '--zone-propagation-delay', '1s', '--zone-max-ttl', '1s', '--parent-ds-ttl', '1s',
        '--parent-propagation-delay', '1s', '--signature-validity', '1h',
        '--signature-refresh', '10m', '--signature-jitter', '0']

NET_ZONE = '''$ORIGIN example.net.
$TTL 60
@ IN SOA ns1 hostmaster 1 60 60 600 30
  IN NS ns1
ns1 IN A 127.0.0.1
www IN A 192.0.2.1
'''

CHILD_ZONE = '''$ORIGIN %s.
$TTL 60
@ IN SOA ns1.example.net. hostmaster 1 60 60 600 30
  IN NS ns1.example.net.
www IN A 192.0.2.2
'''

COREFILE = '''{
    workers 1
}
example.net:$port same.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore %(db)s
        policy fast3
        registrar cds {
            check-interval 1s
            query-timeout 1s
            parent-ns 127.0.0.1:$port
        }
    }
    file $dir/example.net.zone example.net
    file $dir/same.test.zone same.test
    transfer {
        to 127.0.0.1
    }
    errors
}
child.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore %(db)s
        policy fast
        registrar cds {
            check-interval 1s
            query-timeout 1s
            parent-ns 127.0.0.1:$port
        }
    }
    file $dir/child.test.zone child.test
    errors
}
'''


def norm(rdata):
    return ' '.join(rdata.split()).upper()


class SignalTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-signal-')
        cls.srv = cls.ub = None
        try:
            cls.db = os.path.join(cls.dir, 'keystore.db')
            ctl(cls.db, 'policy', 'add', 'fast', *FAST)
            # the nameservers' block proves denial with NSEC3 (hashed names, the signal's
            # empty non-terminals), child.test's with NSEC
            ctl(cls.db, 'policy', 'add', 'fast3', '--denial', 'nsec3', *FAST)
            cls.srv = Signetd(COREFILE % {'db': cls.db}, workdir=cls.dir, ready_name='example.net')
            for name, text in (('example.net', NET_ZONE), ('same.test', CHILD_ZONE % 'same.test'),
                               ('child.test', CHILD_ZONE % 'child.test')):
                with open(cls.srv.path(name + '.zone'), 'w') as f:
                    f.write(text)
            cls.srv.start()
            ds = [l for l in ctl(cls.db, 'ds', 'example.net').splitlines()
                  if l.strip() and not l.startswith(';')]
            if not ds:
                raise AssertionError('signetctl ds example.net printed no DS')
            cls.ub = Unbound(cls.dir, [('example.net', cls.srv.port)], ds)
            cls.ub.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.ub:
            cls.ub.stop()
        signet_test.stop_and_remove(cls.dir, cls.srv)

    def direct(self, name, rtype):
        r = self.srv.dig(name, rtype, '+dnssec', '+norec')
        return sorted(norm(x.rdata) for x in r.answer if x.type == rtype)

    def signalled(self, child, rtype):
        """unbound's answer for child's signal at ns1.example.net: (AD, sorted rdata)."""
        r = self.ub.dig('_dsboot.%s._signal.ns1.example.net' % child, rtype)
        self.assertIn(r.rcode, ('NOERROR', 'NXDOMAIN'), r.text + self.ub.log()[-2000:])
        return 'ad' in r.flags, sorted(norm(x.rdata) for x in r.answer if x.type == rtype)

    def wait(self, cond, secs, what):
        deadline = time.time() + secs
        last = None
        while time.time() < deadline:
            last = cond()
            if last:
                return last
            time.sleep(0.3)
        self.fail('timed out waiting for %s (last: %r)\n%s' % (what, last, self.srv.log()[-4000:]))

    def test_1_signal_validates(self):
        """Both children (the nameserver zone's own block, and another block) are signalled:
        unbound validates the CDS and CDNSKEY at the signalling names, equal to the child's
        own."""
        for child in ('child.test', 'same.test'):
            cds = self.wait(lambda: self.direct(child, 'CDS'), 30, child + ' CDS')
            cdnskey = self.direct(child, 'CDNSKEY')
            self.assertTrue(cdnskey)
            got = self.wait(lambda: (lambda r: r if r[1] == cds else None)(
                self.signalled(child, 'CDS')), 15, child + ' signal = its CDS')
            self.assertTrue(got[0], 'no AD on the signal of ' + child)
            ad, keys = self.signalled(child, 'CDNSKEY')
            self.assertTrue(ad)
            self.assertEqual(keys, cdnskey)
        # signed in the nameserver's zone
        r = self.srv.dig('_dsboot.child.test._signal.ns1.example.net', 'CDS', '+dnssec', '+norec')
        sigs = [x for x in r.answer if x.type == 'RRSIG']
        self.assertTrue(sigs and all(x.rdata.split()[7].lower() == 'example.net.' for x in sigs),
                        r)

    def test_2_not_signalled_nxdomain(self):
        """A name that is not signalled is NXDOMAIN, validated (the denial chain covers the
        signal names around it)."""
        self.wait(lambda: self.signalled('child.test', 'CDS')[1], 30, 'the signal')
        for name in ('_dsboot.other.test._signal.ns1.example.net',
                     '_dsboot.child.test._signal.ns2.example.net'):
            r = self.ub.dig(name, 'CDS')
            self.assertEqual(r.rcode, 'NXDOMAIN', r.text)
            self.assertIn('ad', r.flags, r.text)
            d = self.srv.dig(name, 'CDS', '+dnssec', '+norec')
            self.assertTrue(any(x.type == 'NSEC3' for x in d.authority), d)
        # the in-bailiwick case: example.net itself (a cds zone too) has no signal
        r = self.srv.dig('_dsboot.example.net._signal.ns1.example.net', 'CDS', '+norec')
        self.assertEqual(r.rcode, 'NXDOMAIN')

    def test_3_rollover_moves_the_signal(self):
        """A CSK rollover of the child changes its CDS: the signal follows within seconds,
        with a higher serial for example.net."""
        before = self.wait(lambda: self.direct('child.test', 'CDS'), 30, 'child CDS')
        self.wait(lambda: self.signalled('child.test', 'CDS')[1] == before, 15, 'the signal')
        serial = int(self.srv.dig('example.net', 'SOA', '+norec').answer[0].rdata.split()[2])
        p = ctl_run(self.db, 'zone', 'roll', 'child.test', '--csk')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        after = self.wait(lambda: (lambda c: c if c and c != before else None)(
            self.direct('child.test', 'CDS')), 60, 'the child CDS to change')
        # follow the child's CDS through the rollover: the signal catches up within 5 s
        deadline = time.time() + 60
        while True:
            cur = self.direct('child.test', 'CDS')
            t0 = time.time()
            seen = None
            while time.time() - t0 < 5:
                seen = self.signalled('child.test', 'CDS')
                if seen[1] == cur:
                    break
                time.sleep(0.2)
            self.assertEqual(seen[1], cur, 'the signal did not follow the CDS within 5 s\n' +
                             self.srv.log()[-3000:])
            self.assertTrue(seen[0])
            if cur == after or time.time() > deadline:
                break
        new_serial = int(self.srv.dig('example.net', 'SOA', '+norec').answer[0].rdata.split()[2])
        self.assertGreater(new_serial, serial)

    def test_4_axfr_verifies(self):
        """What a secondary gets of example.net, signal records and all, verifies."""
        self.wait(lambda: self.signalled('child.test', 'CDS')[1], 30, 'the signal')
        x = subprocess.run(['kdig', '@127.0.0.1', '-p', str(self.srv.port), '+nocomments',
                            '+nostats', '+noquestion', 'example.net', 'AXFR'],
                           capture_output=True, text=True, timeout=60)
        # the records themselves and their signatures, not only NSEC names
        for child in ('child.test', 'same.test'):
            got = {}
            for line in x.stdout.splitlines():
                f = line.split(None, 4)
                if len(f) == 5 and f[0].lower() == '_dsboot.%s._signal.ns1.example.net.' % child:
                    key = f[3] if f[3] != 'RRSIG' else 'RRSIG ' + f[4].split()[0]
                    got.setdefault(key, []).append(norm(f[4]))
            self.assertEqual(sorted(got.get('CDS', [])), self.direct(child, 'CDS'), x.stdout)
            self.assertEqual(sorted(got.get('CDNSKEY', [])), self.direct(child, 'CDNSKEY'))
            self.assertIn('RRSIG CDS', got)
            self.assertIn('RRSIG CDNSKEY', got)
        path = os.path.join(self.dir, 'axfr.zone')
        with open(path, 'w') as f:
            f.write(x.stdout)
        v = subprocess.run(['ldns-verify-zone', path], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr + x.stdout[:3000])

    def test_5_zone_status_waits_for_scan(self):
        """The child's status says what it waits for."""
        self.wait(lambda: "waiting for the registry's CDS scan" in
                  ctl_run(self.db, 'zone', 'status', 'child.test').stdout, 30,
                  "zone status: waiting for the registry's CDS scan")

    def test_6_reload_keeps_the_signal(self):
        """A reload serves the signal at once: unchanged (the version kept), and with
        example.net's file edited (the new file's version carries it from the start)."""
        cds = self.wait(lambda: self.direct('child.test', 'CDS'), 30, 'child CDS')
        self.wait(lambda: self.signalled('child.test', 'CDS')[1] == cds, 15, 'the signal')
        for edit in (False, True):
            if edit:
                with open(self.srv.path('example.net.zone'), 'w') as f:
                    f.write(NET_ZONE.replace(' 1 60 60', ' 2 60 60') + 'new IN A 192.0.2.7\n')
            since = self.srv.log_size()
            self.srv.send_signal(signal.SIGHUP)
            self.assertIsNotNone(self.srv.wait_log(r'reload done', since, 30), self.srv.log()[since:])
            cds = self.direct('child.test', 'CDS')
            ad, got = self.signalled('child.test', 'CDS')
            self.assertEqual(got, cds, self.srv.log()[since:])
            self.assertTrue(ad)
            if edit:
                r = self.ub.dig('new.example.net', 'A')
                self.assertIn('ad', r.flags, r.text)
                self.assertEqual([x.rdata for x in r.answer if x.type == 'A'], ['192.0.2.7'])

    def test_7_one_signal_thread(self):
        # one thread looks after every signed zone's signals, however many `file` lines
        # (one per `file` line was one per zone: 10,000 zones, 10,000 threads); after the
        # reloads of test_6 too
        pid = self.srv.proc.pid
        names = []
        for t in os.listdir('/proc/%d/task' % pid):
            try:
                with open('/proc/%d/task/%s/comm' % (pid, t)) as f:
                    names.append(f.read().strip())
            except OSError:
                pass   # a thread that ended meanwhile
        self.assertEqual(names.count('sg-signal'), 1, names)


if __name__ == '__main__':
    signet_test.main()
