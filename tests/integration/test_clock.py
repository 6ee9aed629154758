# SPDX-License-Identifier: MIT
"""integ.clock: a clock stepped back never makes a second key (issue 13).

Tried as a careless operator would: signetd signs clock.test (one CSK) and stops; it is
started again with the clock 40 days back (libfaketime, Debian package faketime). Every
key's timing points are then "in the future": read naively, the zone has no key, and the
engine made a second active CSK. Now it must change nothing, say why, keep serving the
zone signed by the key it had, refuse `zone roll`, and go on normally once the clock is
right again.
"""

import os
import tempfile
import time
import unittest

import signet_test
from signet_test import Signetd, ctl, ctl_run

FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1'
ZONE = 'clock.test'
BACK = 40 * 86400

ZONE_TEXT = """$ORIGIN clock.test.
$TTL 60
@   SOA ns1 hostmaster 1 60 60 600 60
    NS  ns1
ns1 A   127.0.0.1
www A   192.0.2.1
"""

COREFILE = """
clock.test:${port} {
    bind 127.0.0.1
    dnssec {
        keystore %(db)s
        policy onekey
    }
    file %(dir)s/clock.test.zone
}
"""


@unittest.skipUnless(os.path.exists(FAKETIME_LIB), 'libfaketime (package faketime) is not installed')
class ClockStepBack(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='signet-clock-')
        self.db = os.path.join(self.dir, 'keystore.db')
        ctl(self.db, 'policy', 'add', 'onekey', '--csk', '--ksk-lifetime', '30d')
        with open(os.path.join(self.dir, 'clock.test.zone'), 'w') as f:
            f.write(ZONE_TEXT)
        self.srv = None

    def tearDown(self):
        signet_test.stop_and_remove(self.dir, self.srv)

    def start(self, back=0):
        self.srv = Signetd(COREFILE % {'db': self.db, 'dir': self.dir}, workdir=self.dir,
                           ready_name=ZONE)
        saved = dict(os.environ)
        if back:
            os.environ['LD_PRELOAD'] = FAKETIME_LIB
            os.environ['FAKETIME'] = '-%ds' % back
            os.environ['FAKETIME_DONT_FAKE_MONOTONIC'] = '1'
            # an ASan build must be first in the library list; libfaketime is harmless here
            os.environ['ASAN_OPTIONS'] = ':'.join(filter(None, [os.environ.get('ASAN_OPTIONS'),
                                                                'verify_asan_link_order=0']))
        try:
            self.srv.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def keys(self):
        return ctl(self.db, 'zone', 'status', ZONE, as_json=True)['keys']

    def signing_tags(self):
        r = self.srv.dig(ZONE, 'DNSKEY', '+dnssec')
        return sorted({int(x.rdata.split()[6]) for x in r.rrs('answer', 'RRSIG')})

    def test_stepped_back_makes_no_second_key(self):
        self.start()
        self.assertTrue(signet_test.wait_for(lambda: len(self.keys()) == 1, 10))
        tag = self.keys()[0]['tag']
        self.assertEqual(self.signing_tags(), [tag])
        self.assertEqual(self.srv.stop(), 0)

        self.start(back=BACK)
        self.assertTrue(self.srv.wait_log(r'clock is behind the keystore', timeout=10),
                        'no warning about the clock; log:\n%s' % self.srv.log()[-2000:])
        time.sleep(3)  # three more watcher rounds
        keys = self.keys()
        self.assertEqual(len(keys), 1, 'a key was made with the clock stepped back: %s' % keys)
        self.assertRegex(self.srv.log(), r'\[WARN\] rollover: clock\.test\.: next: the clock is behind')
        # still signed by the key it had (the signer keeps the last recorded key state)
        self.assertEqual(self.signing_tags(), [tag])
        # the operator cannot start a rollover on that clock either
        p = ctl_run(self.db, 'zone', 'roll', ZONE, '--csk', now=time.time() - BACK)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        st = ctl(self.db, 'zone', 'status', ZONE, as_json=True, now=time.time() - BACK)
        self.assertEqual(st['next']['action'], 'clock behind', st['next'])
        self.assertEqual(self.srv.stop(), 0)

        # the clock is right again: the same key, and the engine goes on from it
        self.start()
        time.sleep(2)
        self.assertEqual([k['tag'] for k in self.keys()], [tag])
        self.assertEqual(self.signing_tags(), [tag])


if __name__ == '__main__':
    unittest.main(verbosity=2)
