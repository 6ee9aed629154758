#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.backup: keys that survive a lost disk (issue 16).

signetd serves example.test signed (NSEC3, a CSK) and answers queries from a thread all
along, while another thread writes to the keystore with signetctl. `signetctl backup` is
made under that load three ways: plain, for a passphrase, and for a recipient certificate
made here with openssl. Each backup is restored with `signetctl restore` into a fresh
directory and a fresh signetd started on it: it serves the same DNSKEY RRset (same key
tags) and a validating unbound, anchored at the original DS, gets AD answers from it.

A truncated backup, a byte-flipped one and a wrong passphrase are refused (exit 1, a clear
message), and the keystore they would have replaced is byte for byte what it was. A
restore over the keystore the running signetd holds is refused without --force; with
--force signetd lets go of the old file and goes on serving, validated, from the restored
one. The query thread never saw a failure.

signetd comes from $SIGNETD, signetctl from $SIGNETCTL, unbound from $UNBOUND or the PATH.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import signet_test
from signet_test import Signetd, ctl, ctl_run, make_query, parse_message, udp_exchange
from unbound_resolver import Unbound

ZONE_FILES = ('example.test.zone', 'example.test.inc')
PASS = 'a passphrase for the drill'

COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
        policy p
    }
    file $dir/example.test.zone example.test
    errors
}
'''


def record_lines(text):
    return [' '.join(l.split()) for l in text.splitlines() if l.strip() and
            not l.startswith(';')]


def file_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


class Load:
    """Queries to signetd from one thread, writes to its keystore from another, until
    stopped; counts what went wrong."""

    def __init__(self, srv, db):
        self.srv, self.db = srv, db
        self.stopping = threading.Event()
        self.queries = self.failures = self.writes = 0
        self.write_errors = []
        self.threads = [threading.Thread(target=self._query, daemon=True),
                        threading.Thread(target=self._write, daemon=True)]

    def _query(self):
        names = ('web.example.test', 'www.example.test', 'nothere.example.test',
                 'example.test')
        i = 0
        while not self.stopping.is_set():
            name = names[i % len(names)]
            qtype = 'DNSKEY' if name == 'example.test' else 'A'
            qid, q = make_query(name, qtype, edns=True, do=True)
            data = udp_exchange(self.srv.host, self.srv.port, q, qid, timeout=2, tries=2)
            self.queries += 1
            if not data or parse_message(data).rcode not in ('NOERROR', 'NXDOMAIN'):
                self.failures += 1
            i += 1

    def _write(self):
        n = 0
        while not self.stopping.is_set():
            n += 1
            p = ctl_run(self.db, 'zone', 'add', 'w%d.test' % n)
            if p.returncode != 0:
                self.write_errors.append(p.stderr)
            else:
                self.writes += 1
            time.sleep(0.02)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(30)


class Backup(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-backup-')
        cls.srv = cls.ub = None
        cls.extra = []
        try:
            cls.db = os.path.join(cls.dir, 'keystore.db')
            ctl(cls.db, 'policy', 'add', 'p', '--denial', 'nsec3', '--csk')
            cls.srv = Signetd(COREFILE, ZONE_FILES, workdir=cls.dir)
            cls.srv.start()
            cls.ds = record_lines(ctl(cls.db, 'ds', 'example.test'))
            if not cls.ds:
                raise AssertionError('signetctl ds printed no DS')
            for k in ctl(cls.db, 'key', 'list', 'example.test', as_json=True):
                if k['role'] in ('ksk', 'csk'):
                    ctl(cls.db, 'key', 'set', str(k['id']), '--ds-submitted', 'now')
            cls.dnskeys = cls.dnskey_set(cls.srv)
            cls.ub = Unbound(cls.dir, [('example.test', cls.srv.port)], cls.ds)
            cls.ub.start()
            # a recipient certificate, made now, as an operator's offline key would be
            cls.cert = os.path.join(cls.dir, 'recipient.pem')
            cls.key = os.path.join(cls.dir, 'recipient.key')
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                            '-keyout', cls.key, '-out', cls.cert, '-subj', '/CN=signet backup',
                            '-days', '2'], check=True, capture_output=True)
            cls.passfile = os.path.join(cls.dir, 'passphrase')
            with open(cls.passfile, 'w') as f:
                f.write(PASS + '\n')
            cls.wrongfile = os.path.join(cls.dir, 'wrong')
            with open(cls.wrongfile, 'w') as f:
                f.write('not the passphrase\n')
            # the three backups, made while signetd answers and signetctl writes
            cls.backups = {}
            with Load(cls.srv, cls.db) as load:
                time.sleep(0.5)
                for mode, args in (('plain', ()),
                                   ('passphrase', ('--passphrase-file', cls.passfile)),
                                   ('recipient', ('--recipient', cls.cert))):
                    out = os.path.join(cls.dir, mode + '.bak')
                    p = ctl_run(cls.db, 'backup', out, *args)
                    if p.returncode != 0:
                        raise AssertionError('backup %s: %s' % (mode, p.stderr))
                    cls.backups[mode] = (out, p)
                    time.sleep(0.3)
            cls.load = load
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for ub in [cls.ub] + [e for e in cls.extra if isinstance(e, Unbound)]:
            if ub is not None:
                ub.stop()
        errors = signet_test.stop_servers(cls.srv, *[e for e in cls.extra if isinstance(e, Signetd)])
        signet_test.remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    @staticmethod
    def dnskey_set(srv):
        r = srv.dig('example.test', 'DNSKEY', '+dnssec')
        return sorted(rr.rdata for rr in r.rrs('answer', 'DNSKEY'))

    def validated(self, ub, name='web.example.test', rtype='A'):
        r = ub.dig(name, rtype)
        why = '%s %s\n%r\nunbound log:\n%s' % (name, rtype, r, ub.log()[-2000:])
        self.assertEqual(r.rcode, 'NOERROR', why)
        self.assertIn('ad', r.flags, 'AD missing: ' + why)
        return r

    def restore_and_serve(self, mode, *args):
        """Restore the backup into a fresh directory, start signetd on it and an unbound
        anchored at the original DS in front of it."""
        out, _ = self.backups[mode]
        fresh = os.path.join(self.dir, 'fresh-' + mode)
        os.mkdir(fresh)
        for f in ZONE_FILES:
            shutil.copy(os.path.join(signet_test.FIXTURES, f), fresh)
        db = os.path.join(fresh, 'keystore.db')
        p = ctl_run(db, 'restore', out, *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('restored', p.stdout)
        self.assertEqual(os.stat(db).st_mode & 0o777, 0o600)
        self.assertFalse(os.path.exists(db + '-wal') and os.path.getsize(db + '-wal') > 0)
        srv = Signetd(COREFILE, (), workdir=fresh)
        self.extra.append(srv)
        srv.start()
        self.assertEqual(self.dnskey_set(srv), self.dnskeys,
                         'the restored keystore serves another DNSKEY RRset')
        ub = Unbound(fresh, [('example.test', srv.port)], self.ds, name='unbound-' + mode)
        self.extra.append(ub)
        ub.start()
        self.validated(ub)
        self.validated(ub, 'example.test', 'DNSKEY')
        r = ub.dig('nothere.example.test', 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN', repr(r))
        self.assertIn('ad', r.flags, repr(r))
        # the restore is in the zone's history
        hist = ctl(db, 'zone', 'history', 'example.test')
        self.assertIn('keystore restored from backup', hist)
        return db

    # -- the backups ---------------------------------------------------------------------

    def test_backups_under_load(self):
        self.assertGreater(self.load.queries, 20)
        self.assertEqual(self.load.failures, 0, 'queries failed during the backups')
        self.assertEqual(self.load.write_errors, [], 'keystore writes failed during the backups')
        self.assertGreater(self.load.writes, 0)
        for mode, (out, p) in self.backups.items():
            self.assertEqual(os.stat(out).st_mode & 0o777, 0o600, mode)
            data = file_bytes(out)
            self.assertEqual(data[:8], b'SIGNETKB', mode)
            if mode == 'plain':
                self.assertIn('NOT encrypted', p.stderr)
            else:
                self.assertNotIn('NOT encrypted', p.stderr)
                self.assertNotIn(b'PRIVATE KEY', data, mode)
                self.assertNotIn(b'SQLite format 3', data, mode)
            self.assertNotIn('PRIVATE', p.stdout + p.stderr)
        # a backup is recorded in the zone's history, without key material
        hist = ctl(self.db, 'zone', 'history', 'example.test')
        self.assertIn('keystore backup (unencrypted', hist)
        self.assertNotIn('BEGIN', hist)

    def test_restore_plain(self):
        self.restore_and_serve('plain')

    def test_restore_passphrase(self):
        self.restore_and_serve('passphrase', '--passphrase-file', self.passfile)

    def test_restore_recipient(self):
        self.restore_and_serve('recipient', '--key', self.key, '--cert', self.cert)

    def test_restore_check_only(self):
        target = os.path.join(self.dir, 'check', 'keystore.db')
        os.makedirs(os.path.dirname(target))
        p = ctl_run(target, 'restore', self.backups['passphrase'][0], '--check',
                    '--passphrase-file', self.passfile)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('good backup', p.stdout)
        self.assertEqual(os.listdir(os.path.dirname(target)), [])

    def test_private_export_journalled(self):
        """key export --private: a warning, a row in the zone's history saying who, and
        the key material nowhere but on stdout."""
        k = ctl(self.db, 'key', 'list', 'example.test', as_json=True)[0]
        p = ctl_run(self.db, 'key', 'export', str(k['id']), '--private')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('PRIVATE KEY', p.stdout)
        self.assertIn('warning', p.stderr)
        self.assertNotIn('BEGIN', p.stderr)
        hist = ctl(self.db, 'zone', 'history', 'example.test', as_json=True)
        rows = [e for e in hist if 'private key exported' in e['reason']]
        self.assertEqual(len(rows), 1, hist)
        self.assertIn('uid %d' % os.getuid(), rows[0]['reason'])
        self.assertNotIn('BEGIN', str(hist))
        pem = [l for l in p.stdout.splitlines() if l and not l.startswith(('-----', 'example'))]
        self.assertNotIn(pem[0], self.srv.log())

    # -- refusals: nothing replaced ------------------------------------------------------

    def test_refused_leave_the_keystore_alone(self):
        target_dir = os.path.join(self.dir, 'target')
        os.mkdir(target_dir)
        target = os.path.join(target_dir, 'keystore.db')
        ctl(target, 'zone', 'add', 'kept.test')
        before = file_bytes(target)
        listing = sorted(os.listdir(target_dir))
        plain = file_bytes(self.backups['plain'][0])
        bad = {
            'truncated': plain[:len(plain) // 2],
            'header only': plain[:64],
            'flipped': plain[:len(plain) // 3] + bytes([plain[len(plain) // 3] ^ 0x40]) +
                       plain[len(plain) // 3 + 1:],
            'flipped header': plain[:20] + bytes([plain[20] ^ 1]) + plain[21:],
            'not a backup': b'hello\n' * 100,
        }
        for what, data in bad.items():
            path = os.path.join(self.dir, what.replace(' ', '-') + '.bak')
            with open(path, 'wb') as f:
                f.write(data)
            p = ctl_run(target, 'restore', path)
            self.assertEqual(p.returncode, 1, '%s: %s%s' % (what, p.stdout, p.stderr))
            self.assertIn('restore refused', p.stderr, what)
            self.assertIn('was not touched', p.stderr, what)
            self.assertEqual(file_bytes(target), before, what)
            self.assertEqual(sorted(os.listdir(target_dir)), listing, what)
        for args, what in ((('--passphrase-file', self.wrongfile), 'wrong passphrase'),
                           ((), 'encrypted')):
            p = ctl_run(target, 'restore', self.backups['passphrase'][0], *args)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(what, p.stderr)
            self.assertEqual(file_bytes(target), before)
            self.assertEqual(sorted(os.listdir(target_dir)), listing)
        # a certificate that is not the recipient's
        other_key = os.path.join(self.dir, 'other.key')
        other_cert = os.path.join(self.dir, 'other.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout',
                        other_key, '-out', other_cert, '-subj', '/CN=someone else', '-days', '2'],
                       check=True, capture_output=True)
        p = ctl_run(target, 'restore', self.backups['recipient'][0], '--key', other_key,
                    '--cert', other_cert)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn('cannot decrypt', p.stderr)
        self.assertEqual(file_bytes(target), before)

    # -- the running signetd's keystore --------------------------------------------------

    def test_z_restore_over_the_running_signetd(self):
        """Last (z): refused while signetd holds it, then forced; signetd goes on."""
        before = file_bytes(self.db)
        p = ctl_run(self.db, 'restore', self.backups['plain'][0])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('signetd', p.stderr)
        self.assertIn('--force', p.stderr)
        self.assertEqual(file_bytes(self.db), before)
        self.validated(self.ub)

        p = ctl_run(self.db, 'restore', self.backups['plain'][0], '--force')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('kept as', p.stdout)
        self.assertIn('signetd', p.stdout)
        self.assertFalse(os.path.exists(self.db + '.restore-%d' % os.getpid()))
        kept = [f for f in os.listdir(self.dir) if f.startswith('keystore.db.before-restore-')]
        self.assertEqual(len([f for f in kept if not f.endswith(('-wal', '-shm'))]), 1, kept)
        # signetd takes up the restored file (same keys) and keeps validating
        self.assertTrue(self.srv.wait_log(r'is there again', timeout=10),
                        self.srv.log()[-2000:])
        self.assertEqual(self.dnskey_set(self.srv), self.dnskeys)
        self.validated(self.ub)
        # the zones added after the backup are gone with the restore; the backup's are there
        zones = [z['zone'] for z in ctl(self.db, 'zone', 'list', as_json=True)]
        self.assertIn('example.test.', zones)


if __name__ == '__main__':
    unittest.main(verbosity=2)
