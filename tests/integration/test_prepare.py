#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.prepare (issue 17): per-version work is done before a version is published,
never by a query. A signed zone of 100,000 names with NSEC3: its denial chain is built
when the version is loaded (signet_denial_chain_builds_total{where="prepare"}), the first
negative answers after the start and after a reload (SIGHUP with a changed file) prove
with NSEC3 and no query builds a chain (where="query" stays 0); a policy change to NSEC
(a key set needing another chain) gets its chain on the keyman's thread before the new
key set is served (where="keys"), still with no query building one."""

import os
import re
import signal
import tempfile
import time
import unittest
import urllib.request

from signet_test import Signetd, ctl, remove_workdir
from test_metrics import parse_exposition

NAMES = 100000
SERIAL = 2026010101
WAIT = 60.0

COREFILE = '''
big.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
        policy p
    }
    file $dir/big.test.zone
    prometheus 127.0.0.1:$port2
    errors
}
'''


def zone_text(serial, extra=''):
    lines = ['$ORIGIN big.test.', '$TTL 3600',
             '@ SOA ns1 hostmaster %d 7200 3600 1209600 300' % serial,
             '@ NS ns1', 'ns1 A 192.0.2.53']
    lines += ['h%d A 192.0.2.%d' % (i, i % 250 + 1) for i in range(NAMES)]
    return '\n'.join(lines) + '\n' + extra


class Prepare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-prepare-')
        cls.srv = None
        try:
            cls.db = os.path.join(cls.dir, 'keystore.db')
            ctl(cls.db, 'policy', 'add', 'p', '--denial', 'nsec3', '--algorithm',
                'ecdsap256sha256', '--csk')
            cls.zone = os.path.join(cls.dir, 'big.test.zone')
            with open(cls.zone, 'w') as f:
                f.write(zone_text(SERIAL))
            cls.srv = Signetd(COREFILE, workdir=cls.dir, ready_name='big.test')
            cls.srv.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.srv:
            cls.srv.cleanup()
        remove_workdir(cls.dir)

    def builds(self):
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        with urllib.request.urlopen(url, timeout=10) as r:
            samples, _ = parse_exposition(r.read().decode())
        out = {}
        for (name, labels), v in samples.items():
            if name == 'signet_denial_chain_builds_total':
                out[dict(labels)['where']] = int(v)
        self.assertEqual(set(out), {'prepare', 'keys', 'query'}, 'metric missing')
        return out

    def serial(self):
        r = self.srv.kdig('big.test', 'SOA')
        return int(r.answer[0].rdata.split()[2]) if r.answer else None

    def nxdomain(self, name, proof):
        r = self.srv.kdig(name, 'A', '+dnssec')
        self.assertEqual(r.rcode, 'NXDOMAIN', r)
        self.assertTrue(r.rrs('authority', proof), 'no %s in %r' % (proof, r))
        self.assertTrue(r.rrs('authority', 'RRSIG'), r)
        return r

    def test_prepared_before_published(self):
        b = self.builds()
        self.assertEqual(b['prepare'], 1, b)     # the version, at load
        self.assertEqual(b['query'], 0, b)
        t0 = time.monotonic()
        self.nxdomain('nothere.big.test', 'NSEC3')
        first = time.monotonic() - t0
        self.assertEqual(self.builds()['query'], 0)

        # a new version: built and prepared by the reload, before the swap
        with open(self.zone, 'w') as f:
            f.write(zone_text(SERIAL + 1, 'added TXT "new"\n'))
        self.srv.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + WAIT
        while self.serial() != SERIAL + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.serial(), SERIAL + 1, self.srv.log()[-3000:])
        # the very first negative answers of the new version, at once
        self.nxdomain('nothere2.big.test', 'NSEC3')
        r = self.srv.kdig('added.big.test', 'A', '+dnssec')
        self.assertEqual(r.rcode, 'NOERROR')
        self.assertTrue(r.rrs('authority', 'NSEC3'), r)   # NODATA for a new name
        b = self.builds()
        self.assertEqual(b['query'], 0, b)
        self.assertEqual(b['prepare'], 2, b)
        self.assertNotIn('building its denial chain for a query', self.srv.log())

        # the policy to NSEC: the keyman's thread builds the NSEC chain, then swaps keys
        ctl(self.db, 'policy', 'set', 'p', '--denial', 'nsec')
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            r = self.srv.kdig('nothere3.big.test', 'A', '+dnssec')
            if r.rrs('authority', 'NSEC'):
                break
            self.assertTrue(r.rrs('authority', 'NSEC3'), r)  # the previous chain meanwhile
            time.sleep(0.1)
        self.nxdomain('nothere4.big.test', 'NSEC')
        b = self.builds()
        self.assertEqual(b['query'], 0, b)
        self.assertGreaterEqual(b['keys'], 1, b)
        print('first negative answer after start: %.3f s; builds %r' % (first, b))


if __name__ == '__main__':
    unittest.main()
