# SPDX-License-Identifier: MIT
"""integ.propagation: the rollover engine waits for the secondaries it NOTIFYs, not for an
assumed delay (issue 13).

signetd serves late.test signed (KSK + ZSK, DNSKEY TTL 2s, zone propagation delay 1s:
Ipub 3s) with `transfer { notify NSD }`. NSD is not running at first: the first KSK's DS
is due 3s after the key is published, but the engine must wait until NSD serves a
version with the key, and then the DNSKEY TTL after that. `zone status` says what it
waits for. Then NSD starts, transfers the zone, and the DS is submitted only once NSD
serves it (the keystore's propagation record) + the DNSKEY TTL.

Real servers only: signetd on loopback, NSD (Debian package nsd) as the secondary.
"""

import os
import shutil
import tempfile
import time
import unittest

import signet_test
from secondaries import Nsd
from signet_test import Signetd, ctl


ZONE = 'late.test'
ZONE_TEXT = """$ORIGIN late.test.
$TTL 2
@   SOA ns1 hostmaster 1 60 60 600 2
    NS  ns1
ns1 A   127.0.0.1
www A   192.0.2.1
"""

COREFILE = """
late.test:${port} {
    bind 127.0.0.1
    dnssec {
        keystore %(db)s
        policy quick
    }
    transfer {
        to 127.0.0.1
        notify 127.0.0.1:%(nsd)d
    }
    file %(dir)s/late.test.zone
}
"""

DNSKEY_TTL = 2
PROPAGATION = 1


class Propagation(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not shutil.which('nsd') and not os.path.exists('/usr/sbin/nsd'):
            raise unittest.SkipTest('nsd is not installed')
        cls.dir = tempfile.mkdtemp(prefix='signet-propagation-')
        cls.db = os.path.join(cls.dir, 'keystore.db')
        ctl(cls.db, 'policy', 'add', 'quick', '--ksk-zsk', '--dnskey-ttl', '%ds' % DNSKEY_TTL,
            '--zone-propagation-delay', '%ds' % PROPAGATION, '--zone-max-ttl', '2s',
            '--parent-ds-ttl', '2s', '--parent-propagation-delay', '1s',
            '--zsk-lifetime', '0', '--ksk-lifetime', '0')
        with open(os.path.join(cls.dir, 'late.test.zone'), 'w') as f:
            f.write(ZONE_TEXT)
        cls.nsd = Nsd(cls.dir, None, [ZONE], None)
        cls.srv = Signetd(COREFILE % {'db': cls.db, 'nsd': cls.nsd.port, 'dir': cls.dir},
                          workdir=cls.dir, ready_name=ZONE)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.nsd.stop()
        signet_test.stop_and_remove(cls.dir, cls.srv)

    def ksk(self):
        keys = ctl(self.db, 'zone', 'status', ZONE, as_json=True)['keys']
        ksks = [k for k in keys if k['role'] == 'ksk']
        self.assertEqual(len(ksks), 1, keys)
        return ksks[0]

    def test_ds_waits_for_the_late_secondary(self):
        published = self.ksk()
        # Ipub (3s) passes many times over: with NSD down the DS must not go
        time.sleep(3 * (DNSKEY_TTL + PROPAGATION) + 2)
        k = self.ksk()
        self.assertFalse(k.get('ds_submitted'), 'DS submitted while the secondary has not the key: %s' % k)
        status = ctl(self.db, 'zone', 'status', ZONE, as_json=True)
        self.assertIn('waiting for every secondary (1)', status['waiting'] or '', status)
        self.assertIn('waiting for every secondary (1)', ctl(self.db, 'zone', 'status', ZONE))
        # the secondary comes: it transfers at start, and only then does the wait count
        self.nsd.primary_port = self.srv.port
        self.nsd.start()
        soas = self.srv.dig(ZONE, 'SOA').rrs('answer', 'SOA')
        want = int(soas[0].rdata.split()[2])
        self.assertEqual(self.nsd.wait_serial(ZONE, want, timeout=30), want, self.nsd.log()[-2000:])
        nsd_serves = time.time()
        self.assertTrue(signet_test.wait_for(lambda: self.ksk().get('ds_submitted'), 30),
                        'DS never submitted after NSD caught up; signetd log:\n%s' % self.srv.log()[-3000:])
        k = self.ksk()
        submitted = k['ds_submitted']
        # the DNSKEY TTL counts from when NSD served the key, not from its publication
        self.assertGreaterEqual(submitted + 1, int(nsd_serves) + DNSKEY_TTL,
                                'DS at %s, NSD served the key at %.0f' % (submitted, nsd_serves))
        self.assertGreaterEqual(submitted - published['publish'], 3 * (DNSKEY_TTL + PROPAGATION))
        self.assertRegex(self.srv.log(), r'every secondary \(1\) serves serial \d+')


if __name__ == '__main__':
    unittest.main(verbosity=2)
