#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.serial: served serials never go backwards (issue 16).

A zone moved to Signet from another server: the old server served serial 7 and NSD, its
secondary, holds serial 7; the zone file Signet is given says 1. `signetctl zone
serial-floor adopt.test 7` records the old serial (what `zone adopt` does), and signetd
(file, dnssec, transfer) must then serve 8 over UDP, TCP and AXFR, with the SOA's RRSIG
valid (unbound validates, ldns-verify-zone checks the AXFR), also after a restart; an
edited file (serial 2, a new record) and SIGHUP serve 9, and NSD follows 7 -> 8 -> 9.
A second zone uses `serial unixtime` on the file plugin.

signetd and signetctl come from $SIGNETD / $SIGNETCTL; nsd, unbound, dig, kdig and
ldns-verify-zone from the PATH. Python 3 standard library only.
"""

import os
import signal
import subprocess
import tempfile
import time
import unittest

import signet_test
from secondaries import Nsd
from signet_test import Signetd, ctl
from unbound_resolver import Unbound

ZONE = '''$ORIGIN adopt.test.
$TTL 300
@ SOA ns1 hostmaster %(serial)d 7200 3600 1209600 300
@ NS ns1
ns1 A 127.0.0.11
www A 127.0.0.14
%(extra)s'''

UNIX_ZONE = '''$ORIGIN unix.test.
$TTL 300
@ SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
ns1 A 127.0.0.11
'''

COREFILE = '''
adopt.test:$port {
    bind 127.0.0.1
    file $dir/adopt.test.zone
    dnssec {
        keystore $dir/keystore.db
        policy p
    }
    transfer {
        to 127.0.0.1
        notify 127.0.0.1:%(nsd)d
    }
}
unix.test:$port {
    bind 127.0.0.1
    file $dir/unix.test.zone {
        serial unixtime
    }
}
'''


def soa_serial(reply, section='answer'):
    soas = reply.rrs(section, 'SOA')
    return int(soas[0].rdata.split()[2]) if soas else None


class Serial(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-serial-')
        cls.srv = None
        cls.others = []
        try:
            cls._setup()
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _setup(cls):
        cls.db = os.path.join(cls.dir, 'keystore.db')
        ctl(cls.db, 'policy', 'add', 'p', '--denial', 'nsec', '--algorithm', 'ecdsap256sha256',
            '--csk')
        ctl(cls.db, 'zone', 'add', 'adopt.test', '--policy', 'p')
        out = ctl(cls.db, 'zone', 'serial-floor', 'adopt.test', '7')
        assert 'serial floor 7' in out, out
        with open(os.path.join(cls.dir, 'adopt.test.zone'), 'w') as f:
            f.write(ZONE % {'serial': 1, 'extra': ''})
        with open(os.path.join(cls.dir, 'unix.test.zone'), 'w') as f:
            f.write(UNIX_ZONE)
        # the old server's secondary: it holds serial 7 (its primary is gone for now)
        cls.nsd = Nsd(cls.dir, signet_test.free_port(), ['adopt.test'], None)
        with open(os.path.join(cls.nsd.dir, 'adopt.test.zone'), 'w') as f:
            f.write(ZONE % {'serial': 7, 'extra': 'old A 127.0.0.7\n'})
        cls.others.append(cls.nsd)
        cls.nsd.start()
        cls.nsd_before = cls.nsd.serial('adopt.test')
        cls.nsd.stop()
        cls.nsd._out.close()
        cls.t0 = int(time.time())
        cls.srv = Signetd(COREFILE % {'nsd': cls.nsd.port}, workdir=cls.dir,
                          ready_name='adopt.test')
        cls.srv.start()
        if not cls.srv.wait_log(r'transfer: adopt\.test\.: serial \d+ \(first version\)',
                                timeout=30):
            raise AssertionError('no first version; log:\n' + cls.srv.log())
        # Signet takes over as NSD's primary
        cls.nsd.primary_port = cls.srv.port
        cls.nsd.start()
        ds = [' '.join(l.split()) for l in ctl(cls.db, 'ds', 'adopt.test').splitlines()
              if l.strip() and not l.startswith(';')]
        cls.ub = Unbound(cls.dir, [('adopt.test', cls.srv.port)], ds)
        cls.others.append(cls.ub)
        cls.ub.start()

    @classmethod
    def _teardown(cls):
        for o in cls.others:
            o.stop()
        signet_test.stop_and_remove(cls.dir, cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    # -- helpers ------------------------------------------------------------------------

    def served(self, zone='adopt.test', tcp=False):
        return soa_serial(self.srv.dig(zone, 'SOA', tcp=tcp))

    def axfr(self):
        """The AXFR's records as lines, checked by ldns-verify-zone; (serial, lines)."""
        p = subprocess.run(['kdig', '@127.0.0.1', '-p', str(self.srv.port), '+nocomments',
                            '+nostats', '+timeout=10', '+retry=0', 'AXFR', 'adopt.test'],
                           capture_output=True, text=True, timeout=120)
        lines = [' '.join(l.split()) for l in p.stdout.splitlines()
                 if l.strip() and not l.startswith(';')]
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertGreater(len(lines), 5, p.stdout + p.stderr)
        self.assertEqual(lines[0].split()[3], 'SOA')
        self.assertEqual(lines[-1], lines[0])
        path = os.path.join(self.dir, 'adopt.test.axfr')
        with open(path, 'w') as f:
            f.write('\n'.join(lines[:-1]) + '\n')
        v = subprocess.run(['ldns-verify-zone', path], capture_output=True, text=True, timeout=120)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        return int(lines[0].split()[6]), lines

    def check_serves(self, serial):
        """serial everywhere: UDP and TCP SOA, the SOA of a negative answer (and its
        RRSIG), the AXFR, and a validating resolver's answer."""
        why = 'signetd log:\n' + self.srv.log()[-3000:]
        self.assertEqual(self.served(), serial, why)
        self.assertEqual(self.served(tcp=True), serial, why)
        r = self.srv.dig('nothere.adopt.test', 'A', '+dnssec')
        self.assertEqual(r.rcode, 'NXDOMAIN')
        self.assertEqual(soa_serial(r, 'authority'), serial, repr(r))
        self.assertTrue([rr for rr in r.rrs('authority', 'RRSIG') if rr.rdata.startswith('SOA ')],
                        repr(r))
        axfr_serial, lines = self.axfr()
        self.assertEqual(axfr_serial, serial)
        r = self.ub.dig('adopt.test', 'SOA')
        self.assertEqual(r.rcode, 'NOERROR', self.ub.log()[-2000:])
        self.assertIn('ad', r.flags, 'SOA %d does not validate: %r\n%s'
                      % (serial, r, self.ub.log()[-2000:]))
        self.assertEqual(soa_serial(r), serial)
        return lines

    # -- tests (numbered: each builds on the one before) ----------------------------------

    def test_1_floor_plus_one_everywhere(self):
        self.assertEqual(self.nsd_before, 7)
        self.check_serves(8)
        self.assertRegex(self.srv.log(), r'serial 1 is not above the serial floor 7 .*serving 8')
        with open(os.path.join(self.dir, 'adopt.test.file-serial')) as f:
            self.assertEqual(f.read().split(), ['file', '1', 'served', '8'])

    def test_2_secondary_follows_from_7(self):
        got = self.nsd.wait_serial('adopt.test', 8)
        self.assertEqual(got, 8, 'nsd log:\n%s\nsignetd:\n%s'
                         % (self.nsd.log()[-3000:], self.srv.log()[-3000:]))
        r = self.nsd.dig('old.adopt.test', 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN', 'the old server\'s data is gone: %r' % r)

    def wait_version(self, serial, mark):
        """Until the transfer plugin has its version (built in the background)."""
        self.assertTrue(self.srv.wait_log(r'transfer: adopt\.test\.: serial %d' % serial, mark, 20),
                        self.srv.log()[mark:])

    def test_3_restart_serves_the_same_serial(self):
        # killed (the state file was written when the zone loaded), then stopped cleanly
        mark = self.srv.log_size()
        self.srv.kill_restart()
        self.wait_version(8, mark)
        self.check_serves(8)
        self.srv.stop()
        mark = self.srv.log_size()
        self.srv._log = open(self.srv.log_path, 'ab')
        self.srv.proc = signet_test.spawn(signet_test.signetd_cmd() + ['-c', self.srv.corefile_path],
                                          self.srv._log, self.dir)
        self.assertTrue(self.srv._wait_ready(), self.srv.log()[-3000:])
        self.wait_version(8, mark)
        self.check_serves(8)
        self.assertEqual(self.nsd.serial('adopt.test'), 8)

    def test_4_edit_and_reload_serves_the_next(self):
        mark = self.srv.log_size()
        path = os.path.join(self.dir, 'adopt.test.zone')
        with open(path + '.new', 'w') as f:
            f.write(ZONE % {'serial': 2, 'extra': 'new A 127.0.0.15\n'})
        os.rename(path + '.new', path)
        self.srv.send_signal(signal.SIGHUP)
        ok = signet_test.wait_for(lambda: self.served() == 9, 20)
        self.assertTrue(ok, self.srv.log()[mark:])
        self.wait_version(9, mark)
        lines = self.check_serves(9)
        self.assertTrue([l for l in lines if l.startswith('new.adopt.test.') and ' A ' in l])
        got = self.nsd.wait_serial('adopt.test', 9)
        self.assertEqual(got, 9, 'nsd log:\n%s\nsignetd:\n%s'
                         % (self.nsd.log()[-3000:], self.srv.log()[-3000:]))
        r = self.nsd.dig('new.adopt.test', 'A')
        self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.15'])

    def test_5_unixtime(self):
        s = self.served('unix.test')
        self.assertIsNotNone(s)
        self.assertGreaterEqual(s, self.t0)
        self.assertLessEqual(s, int(time.time()))
        # the same file keeps its serial across the restarts and the reload above
        with open(os.path.join(self.dir, 'unix.test.file-serial')) as f:
            self.assertEqual(f.read().split(), ['file', '1', 'served', str(s)])


if __name__ == '__main__':
    signet_test.main()
