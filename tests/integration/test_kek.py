# SPDX-License-Identifier: MIT
"""integ.kek: private keys encrypted at rest under a key-encryption key (issue 19).

signetd started with SIGNET_KEK_FILE makes its keys encrypted (storage pem-aes256gcm) and
serves the zone signed; the keystore file and a plain `signetctl backup` then hold no
usable private key. Without the KEK, or with another one, signetd refuses to start and
says which KEK the keys need. `signetctl keystore rekey --old-kek-file` moves the keys to
a new KEK, and signetd serves again with it.
"""

import os
import subprocess
import tempfile
import unittest

import signet_test
from signet_test import Signetd, ctl

ZONE = 'kek.test'

COREFILE = """
kek.test:$port {
    bind 127.0.0.1
    file $dir/kek.test.zone
    dnssec {
        keystore $dir/keystore.db
    }
}
"""

ZONE_TEXT = """$ORIGIN kek.test.
$TTL 60
@ SOA ns hostmaster 1 60 60 600 60
@ NS ns
ns A 127.0.0.1
www A 192.0.2.1
"""


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, text.encode())
    os.close(fd)


class Kek(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='signet-kek-')
        self.db = os.path.join(self.dir, 'keystore.db')
        self.kek1 = os.path.join(self.dir, 'kek1')
        self.kek2 = os.path.join(self.dir, 'kek2')
        write_secret(self.kek1, os.urandom(32).hex() + '\n')
        write_secret(self.kek2, os.urandom(32).hex() + '\n')
        with open(os.path.join(self.dir, 'kek.test.zone'), 'w') as f:
            f.write(ZONE_TEXT)
        self.srv = None
        self.saved = os.environ.get('SIGNET_KEK_FILE')

    def tearDown(self):
        if self.saved is None:
            os.environ.pop('SIGNET_KEK_FILE', None)
        else:
            os.environ['SIGNET_KEK_FILE'] = self.saved
        signet_test.stop_and_remove(self.dir, *[s for s in (self.srv,) if s])

    def start(self, kek):
        if kek:
            os.environ['SIGNET_KEK_FILE'] = kek
        else:
            os.environ.pop('SIGNET_KEK_FILE', None)
        self.srv = Signetd(COREFILE, workdir=self.dir, ready_name=ZONE)
        self.srv.start()

    def refused(self, kek):
        try:
            self.start(kek)
        except RuntimeError as e:
            self.srv = None
            return str(e)
        self.fail('signetd started with %s:\n%s' % (kek, self.srv.log()))

    def signed(self):
        r = self.srv.dig('www.' + ZONE, 'A', '+dnssec')
        return r.rcode == 'NOERROR' and bool(r.rrs('answer', 'RRSIG'))

    def kek_id(self, path):
        env = dict(os.environ, SIGNET_KEK_FILE=path)
        out = subprocess.run([signet_test.signetctl_path(), '--db', self.db, 'keystore', 'kek'],
                             capture_output=True, text=True, env=env).stdout
        return out.split('kek given:')[1].split()[0]

    def test_encrypted_at_rest(self):
        self.start(self.kek1)
        self.assertTrue(self.signed())
        rows = subprocess.run(['sqlite3', self.db, 'SELECT storage, hex(private_key) FROM keys'],
                              capture_output=True, text=True, check=True).stdout.split()
        self.assertTrue(rows)
        for r in rows:
            self.assertTrue(r.startswith('pem-aes256gcm|' + b'SGK1'.hex().upper()), r)
        raw = open(self.db, 'rb').read()
        self.assertNotIn(b'PRIVATE KEY', raw)
        # a plain backup copies the database: no usable private key in it either
        bak = os.path.join(self.dir, 'plain.bak')
        signet_test.ctl_run(self.db, 'backup', bak)
        self.assertTrue(os.path.exists(bak))
        self.assertNotIn(b'PRIVATE KEY', open(bak, 'rb').read())
        self.srv.stop()
        self.srv.cleanup()
        self.srv = None

        id1 = self.kek_id(self.kek1)
        # no KEK, or another one: refused at start, naming the KEK the keys need
        msg = self.refused(None)
        self.assertIn('encrypted with key-encryption key %s' % id1, msg)
        self.assertIn('SIGNET_KEK_FILE', msg)
        msg = self.refused(self.kek2)
        self.assertIn('but the KEK given is %s' % self.kek_id(self.kek2), msg)

        # rekey to the second KEK; the first no longer opens them, the second serves
        env = dict(os.environ, SIGNET_KEK_FILE=self.kek2)
        p = subprocess.run([signet_test.signetctl_path(), '--db', self.db, 'keystore', 'rekey'],
                           capture_output=True, text=True, env=env)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('--old-kek-file', p.stderr)
        p = subprocess.run([signet_test.signetctl_path(), '--db', self.db, 'keystore', 'rekey',
                            '--old-kek-file', self.kek1], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('now encrypted with key-encryption key', p.stdout)
        self.refused(self.kek1)
        self.start(self.kek2)
        self.assertTrue(self.signed())


if __name__ == '__main__':
    unittest.main(verbosity=2)
