# SPDX-License-Identifier: MIT
"""integ.keystore_gone: the keystore file deleted or replaced under a running signetd
(issue 15).

Three signed zones whose keys roll every few seconds. The keystore is deleted and a file
of garbage put in its place: signetd keeps serving the zones signed with the keys in use,
changes no key (nothing is written into the deleted file, which nobody would read again),
never makes a new empty keystore, and says so once, not every second per zone. Then the
keystore comes back (the operator restores it): signetd takes it up and goes on.
"""

import os
import shutil
import subprocess
import time
import unittest

import signet_test
from signet_test import Signetd, ctl

ZONES = ('a.test', 'b.test', 'c.test')

COREFILE = """
a.test:${port} b.test:${port} c.test:${port} {
    bind 127.0.0.1
    dnssec {
        keystore %(db)s
        policy quick
    }
    transfer {
        to 127.0.0.1
    }
    file %(dir)s/a.zone a.test
    file %(dir)s/b.zone b.test
    file %(dir)s/c.zone c.test
}
"""


def zone_text(z):
    return ('$ORIGIN %s.\n$TTL 2\n@ SOA ns hostmaster 1 60 60 600 2\n@ NS ns\nns A 127.0.0.1\n'
            'www A 192.0.2.1\n' % z)


class KeystoreGone(unittest.TestCase):

    def setUp(self):
        self.dir = signet_test.tempfile.mkdtemp(prefix='signet-ksgone-')
        self.db = os.path.join(self.dir, 'keystore.db')
        ctl(self.db, 'policy', 'add', 'quick', '--csk', '--ksk-lifetime', '8s', '--dnskey-ttl', '1s',
            '--zone-propagation-delay', '1s', '--zone-max-ttl', '2s')
        for z in ZONES:
            with open(os.path.join(self.dir, z[0] + '.zone'), 'w') as f:
                f.write(zone_text(z))
        self.srv = Signetd(COREFILE % {'db': self.db, 'dir': self.dir}, workdir=self.dir,
                           ready_name='a.test')
        self.srv.start()

    def tearDown(self):
        signet_test.stop_and_remove(self.dir, self.srv)

    def signed(self, z):
        r = self.srv.dig('www.' + z, 'A', '+dnssec')
        return r.rcode == 'NOERROR' and bool(r.rrs('answer', 'RRSIG'))

    def test_deleted_then_restored(self):
        time.sleep(2)
        backup = os.path.join(self.dir, 'backup.db')
        shutil.copy(self.db, backup)
        os.chmod(backup, 0o600)
        since = self.srv.log_size()
        for suffix in ('', '-wal', '-shm'):
            if os.path.exists(self.db + suffix):
                os.unlink(self.db + suffix)
        with open(self.db, 'w') as f:
            f.write('not a keystore\n')
        os.chmod(self.db, 0o600)
        # well past a rollover's lifetime: nothing may change, every zone stays signed
        time.sleep(12)
        for z in ZONES:
            self.assertTrue(self.signed(z), '%s not served signed after the keystore went' % z)
        log = self.srv.log()[since:]
        self.assertRegex(log, r'keystore .* was deleted or replaced while in use')
        noisy = [l for l in log.splitlines() if '[ERROR]' in l or '[WARN]' in l]
        self.assertLessEqual(len(noisy), 6, 'said too often:\n%s' % '\n'.join(noisy))
        self.assertNotRegex(log, r'generated|published as successor',
                            'a key was made while the keystore was gone:\n%s' % log)
        with open(self.db) as f:
            self.assertEqual(f.read(), 'not a keystore\n', 'the garbage file was written to')
        # restored: taken up again, and the rollovers go on from it
        since = self.srv.log_size()
        os.replace(backup, self.db)
        self.assertIsNotNone(self.srv.wait_log(r'keystore .* is there again', since, 10),
                             self.srv.log()[since:])
        self.assertIsNotNone(self.srv.wait_log(r'rollover: a\.test\.: csk \d+: published as successor',
                                               since, 20), self.srv.log()[since:])
        for z in ZONES:
            self.assertTrue(self.signed(z), z)
        # zone transfers follow the restored keystore too: their version thread had its
        # own handle on the deleted file and handed out its keys for ever (issue 15)
        served = set(self.dnskeys_served('a.test'))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and set(self.dnskeys_axfr('a.test')) != served:
            time.sleep(0.5)
            served = set(self.dnskeys_served('a.test'))
        self.assertEqual(set(self.dnskeys_axfr('a.test')), served,
                         'AXFR serves other keys than the queries:\n%s' % self.srv.log()[since:])

    @staticmethod
    def key_text(rdata):
        f = rdata.split()
        return ' '.join(f[:3] + [''.join(f[3:])])

    def dnskeys_served(self, z):
        return [self.key_text(rr.rdata) for rr in self.srv.dig(z, 'DNSKEY').rrs('answer', 'DNSKEY')]

    def dnskeys_axfr(self, z):
        p = subprocess.run(['kdig', '@127.0.0.1', '-p', str(self.srv.port), '+nocomments',
                            '+nostats', '+timeout=5', '+retry=0', 'AXFR', z],
                           capture_output=True, text=True, timeout=60)
        out = []
        for line in p.stdout.splitlines():
            f = line.split(None, 4)
            if len(f) == 5 and f[3] == 'DNSKEY':
                out.append(self.key_text(f[4]))
        return out


if __name__ == '__main__':
    unittest.main(verbosity=2)
