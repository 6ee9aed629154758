# SPDX-License-Identifier: MIT
"""integ.pkcs11: a zone whose policy keeps its keys in a PKCS#11 token (issue 19).

SoftHSM2 with a token made at test time in the test's directory (SOFTHSM2_CONF points at a
config written here; softhsm2-util --init-token). signetd generates the zone's KSK and ZSK
in the token, the keystore rows hold only references, unbound validates the answers from
our DS, and a ZSK rollover runs end to end through the token, validated all along. Then the
token disappears under the running signetd (its directory moved away): signatures already
made keep being served from the signature cache, new ones fail with one error line and
signet_signing_errors_total{reason="token"}, signetd stays up; the token comes back and
signing resumes.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

import signet_test
from signet_test import Signetd, ctl
from unbound_resolver import Unbound

MODULE = '/usr/lib/softhsm/libsofthsm2.so'
LABEL = 'signet'
ZONE = 'hsm.test'

COREFILE = """
hsm.test:$port {
    bind 127.0.0.1
    file $dir/hsm.test.zone
    dnssec {
        keystore $dir/keystore.db
        policy hsm
        # no background presigning: test_token_disappears needs names the token never
        # signed before it went (a presigned zone has none)
        presign-max 0
    }
    prometheus 127.0.0.1:$port2
}
"""

ZONE_TEXT = """$ORIGIN hsm.test.
$TTL 2
@ SOA ns hostmaster 1 60 60 600 2
@ NS ns
ns A 127.0.0.1
www A 192.0.2.1
mail A 192.0.2.2
ftp A 192.0.2.3
"""


def have_softhsm():
    return os.path.exists(MODULE) and shutil.which('softhsm2-util')


def record_lines(text):
    return [' '.join(l.split()) for l in text.splitlines() if l.strip() and not l.startswith(';')]


class Pkcs11Zone(unittest.TestCase):

    def setUp(self):
        if not have_softhsm():
            raise unittest.SkipTest('softhsm2 is not installed (scripts/deps.sh installs it)')
        self.dir = tempfile.mkdtemp(prefix='signet-pkcs11-')
        self.srv = self.ub = None
        self.tokens = os.path.join(self.dir, 'tokens')
        os.mkdir(self.tokens, 0o700)
        conf = os.path.join(self.dir, 'softhsm2.conf')
        with open(conf, 'w') as f:
            f.write('directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n'
                    % self.tokens)
        os.environ['SOFTHSM2_CONF'] = conf
        subprocess.run(['softhsm2-util', '--init-token', '--free', '--label', LABEL,
                        '--pin', '4321', '--so-pin', '87654321'], check=True,
                       capture_output=True, timeout=60)
        pin = os.path.join(self.dir, 'pin')
        fd = os.open(pin, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b'4321\n')
        os.close(fd)
        self.uri = ('pkcs11:token=%s?module-path=%s&pin-source=file:%s' % (LABEL, MODULE, pin))
        self.db = os.path.join(self.dir, 'keystore.db')
        ctl(self.db, 'policy', 'add', 'hsm', '--ksk-zsk', '--zsk-lifetime', '12s',
            '--dnskey-ttl', '1s', '--zone-propagation-delay', '1s', '--zone-max-ttl', '2s',
            '--key-store', self.uri)
        with open(os.path.join(self.dir, 'hsm.test.zone'), 'w') as f:
            f.write(ZONE_TEXT)
        self.srv = Signetd(COREFILE, workdir=self.dir, ready_name=ZONE)
        self.srv.start()

    def tearDown(self):
        if self.ub:
            self.ub.stop()
        signet_test.stop_and_remove(self.dir, *[s for s in (self.srv,) if s])

    def scrape(self):
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()

    def signing_errors(self, reason):
        for line in self.scrape().splitlines():
            if line.startswith('signet_signing_errors_total{') and 'reason="%s"' % reason in line:
                return int(float(line.split()[-1]))
        return 0

    def rrsig_tags(self, name, rtype='A'):
        r = self.srv.dig(name, rtype, '+dnssec')
        return r.rcode, sorted(int(rr.rdata.split()[6]) for rr in r.rrs('answer', 'RRSIG'))

    def keys(self):
        return ctl(self.db, 'key', 'list', ZONE, as_json=True)

    def test_keys_in_token_validated_and_rolled(self):
        keys = self.keys()
        self.assertEqual(sorted(k['role'] for k in keys), ['ksk', 'zsk'])
        self.assertEqual({k['storage'] for k in keys}, {'pkcs11'})
        # the rows hold references, never key material; export is refused
        rows = subprocess.run(['sqlite3', self.db, 'SELECT private_key FROM keys'],
                              capture_output=True, text=True, check=True).stdout
        for line in rows.splitlines():
            self.assertTrue(line.startswith('pkcs11:token=%s;id=' % LABEL), line)
        self.assertNotIn('PRIVATE KEY', rows)
        ksk = [k for k in keys if k['role'] == 'ksk'][0]
        p = signet_test.ctl_run(self.db, 'key', 'export', str(ksk['id']), '--private')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('PKCS#11 token', p.stderr)
        self.assertNotIn('BEGIN', p.stdout)

        ds = record_lines(ctl(self.db, 'ds', ZONE))
        self.assertTrue(ds)
        self.ub = Unbound(self.dir, [(ZONE, self.srv.port)], ds)
        self.ub.start()
        r = self.ub.dig('www.' + ZONE, 'A')
        self.assertEqual(r.rcode, 'NOERROR', r)
        self.assertIn('ad', r.flags, 'unbound did not validate: %r' % r)

        # ZSK rollover through the token: a new ZSK made there takes over, validated
        # all along
        zsk0 = [k['tag'] for k in keys if k['role'] == 'zsk'][0]
        deadline = time.monotonic() + 90 * signet_test.SLOWDOWN
        bogus, seen_new = [], None
        names = ['www', 'mail', 'ftp', 'ns']
        i = 0
        while time.monotonic() < deadline:
            name = names[i % len(names)] + '.' + ZONE
            i += 1
            r = self.ub.dig(name, 'A')
            if r.rcode != 'NOERROR' or 'ad' not in r.flags:
                bogus.append((name, r.rcode, r.flags))
            rc, tags = self.rrsig_tags(name)
            if tags and zsk0 not in tags:
                seen_new = tags
                if len(names) * 2 < i:
                    break
            time.sleep(0.3)
        self.assertEqual(bogus, [], 'answers not validated during the rollover:\n%s' %
                         self.srv.log()[-3000:])
        self.assertIsNotNone(seen_new, 'the ZSK never rolled:\n%s' % self.srv.log()[-3000:])
        new = [k for k in self.keys() if k['role'] == 'zsk' and k['tag'] in seen_new]
        self.assertTrue(new and new[0]['storage'] == 'pkcs11', self.keys())
        r = self.ub.dig('mail.' + ZONE, 'A')
        self.assertIn('ad', r.flags, r)

    def test_rollover_failing_while_token_gone_said_once(self):
        # the ZSK's successor (12 s lifetime) falls due while the token is gone: the
        # engine meets the failure every second and says it once, not once a second
        ev = None
        deadline = time.monotonic() + 60 * signet_test.SLOWDOWN
        while time.monotonic() < deadline:
            ev = ctl(self.db, 'zone', 'status', ZONE, as_json=True)['next']
            if ev['action'] == 'publish successor' and ev['when']:
                break
            time.sleep(0.5)
        self.assertEqual(ev['action'], 'publish successor', ev)
        time.sleep(max(0, ev['when'] - time.time() - 2))
        since = self.srv.log_size()
        gone = self.tokens + '.gone'
        os.rename(self.tokens, gone)
        try:
            self.assertIsNotNone(self.srv.wait_log(r"rollover: .*publish successor failed",
                                                   since, 15), self.srv.log()[since:])
            time.sleep(3.5)
            fails = [l for l in self.srv.log()[since:].splitlines()
                     if re.search(r"rollover: .*failed", l)]
            self.assertEqual(len(fails), 1, '\n'.join(fails))
        finally:
            os.rename(gone, self.tokens)

    def test_token_disappears(self):
        _, tags = self.rrsig_tags('www.' + ZONE)
        self.assertTrue(tags, 'www not signed')
        since = self.srv.log_size()
        gone = self.tokens + '.gone'
        os.rename(self.tokens, gone)
        try:
            # made before the token went: served from the signature cache
            for _ in range(5):
                rc, t = self.rrsig_tags('www.' + ZONE)
                self.assertEqual((rc, t), ('NOERROR', tags))
            # never signed: cannot be signed now, and that is said
            rc, t = self.rrsig_tags('mail.' + ZONE)
            self.assertEqual(t, [])
            self.assertEqual(rc, 'SERVFAIL')
            self.assertIsNotNone(self.srv.wait_log(r"\[ERROR\] pkcs11: token 'signet': .*"
                                                   r"signing with its keys stops", since, 10),
                                 self.srv.log()[since:])
            self.assertGreaterEqual(self.signing_errors('token'), 1, self.scrape())
            for _ in range(20):
                self.rrsig_tags('ftp.' + ZONE)
            self.assertTrue(self.srv.alive(), self.srv.log()[since:])
            # one line for the change of state, not one per failed signature
            errs = [l for l in self.srv.log()[since:].splitlines() if 'pkcs11' in l]
            self.assertLessEqual(len(errs), 2, '\n'.join(errs))
            rc, t = self.rrsig_tags('www.' + ZONE)
            self.assertEqual((rc, t), ('NOERROR', tags))
        finally:
            os.rename(gone, self.tokens)
        # back: signing resumes (a reconnection is tried at most once a second)
        ok = signet_test.wait_for(lambda: self.rrsig_tags('mail.' + ZONE)[1] != [], 15)
        self.assertTrue(ok, self.srv.log()[since:])
        self.assertIsNotNone(self.srv.wait_log(r"token 'signet' is back", since, 5),
                             self.srv.log()[since:])


if __name__ == '__main__':
    unittest.main(verbosity=2)
