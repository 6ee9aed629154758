#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.verifiers: two independent zone verifiers, BIND's dnssec-verify and ldns's
ldns-verify-zone, on every signed zone Signet writes (issue 14).

  ZoneSign   `signetctl zone sign` of the fixture zone for NSEC and NSEC3, a CSK and a
             KSK+ZSK, algorithms 13 (ECDSAP256SHA256), 15 (ED25519) and 8 (RSASHA256);
             and of a generated realistic zone (realistic_zone.py: delegations, glue,
             occluded data, wildcards, escaped names, many types) for a few of them
  Axfr       an AXFR (kdig) of each zone a running signetd signs online: NSEC, NSEC3 and
             compact denial transferred as NSEC (`compact-as-nsec`), the realistic zone too

Either tool exiting non-zero, or printing a line that warns or reports an error, fails the
test with both tools' output. dnssec-verify gets -z for CSK zones (there is no separate
ZSK: every RRset is signed by the key with the SEP bit).

signetd and signetctl from $SIGNETD / $SIGNETCTL; dnssec-verify (bind9-utils),
ldns-verify-zone (ldnsutils) and kdig (knot-dnsutils) from the PATH.
"""

import os
import re
import subprocess
import tempfile
import unittest

import realistic_zone
import signet_test
from signet_test import FIXTURES, Signetd
from test_dnssec import ctl

# a verifier line that is not a plain success report
BAD_LINE = re.compile(r'warn|error|fail|bogus|invalid|missing|expired|not\s+(signed|'
                      r'verified|valid)|no\s+(dnskey|rrsig|nsec)|insecure', re.I)

ALGS = {13: 'ecdsap256sha256', 15: 'ed25519', 8: 'rsasha256'}


def verify(test, path, origin, csk, what):
    """Run both verifiers on the master file at path; fail the test with their output on a
    non-zero exit or any warning/error line."""
    runs = []
    cmd = ['dnssec-verify', '-o', origin.rstrip('.')] + (['-z'] if csk else []) + [path]
    runs.append(cmd)
    runs.append(['ldns-verify-zone', '-V', '2', path])
    out = []
    failed = []
    for cmd in runs:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        text = p.stdout + p.stderr
        out.append('$ %s  (exit %d)\n%s' % (' '.join(cmd), p.returncode, text))
        bad = [l for l in text.splitlines() if BAD_LINE.search(l) and
               # dnssec-verify's summary counts revoked keys: "0 revoked" is fine
               not re.fullmatch(r'\s*(Algorithm: \S+: )?(KSKs|ZSKs): .*revoked\s*', l)]
        if p.returncode != 0 or bad:
            failed.append('%s: exit %d, %d warning/error lines' % (cmd[0], p.returncode, len(bad)))
    if failed:
        test.fail('%s (%s): %s\n%s' % (what, path, '; '.join(failed), '\n'.join(out)))


class ZoneSign(unittest.TestCase):
    """`signetctl zone sign` output through both verifiers."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-verifiers-')
        z = realistic_zone.generate('real.test.', hosts=1500, seed=141)
        cls.realistic = os.path.join(cls.dir, 'real.test.zone')
        with open(cls.realistic, 'w') as f:
            f.write(z.text)

    @classmethod
    def tearDownClass(cls):
        signet_test.remove_workdir(cls.dir)

    def sign(self, denial, alg, keys, zone='example.test', zonefile=None):
        d = tempfile.mkdtemp(prefix='%s-%s-%d-%s-' % (zone, denial, alg, keys), dir=self.dir)
        db = os.path.join(d, 'keystore.db')
        ctl(db, 'policy', 'add', 'p', '--denial', denial, '--algorithm', ALGS[alg], '--' + keys)
        ctl(db, 'zone', 'add', zone, '--policy', 'p')
        for role in (('csk',) if keys == 'csk' else ('ksk', 'zsk')):
            k = ctl(db, 'key', 'generate', zone, '--role', role, as_json=True)
            ctl(db, 'key', 'set', str(k['id']), '--publish', 'now', '--activate', 'now')
        out = os.path.join(d, 'signed.zone')
        ctl(db, 'zone', 'sign', zone, '--zonefile',
            zonefile or os.path.join(FIXTURES, 'example.test.zone'), '--out', out)
        with open(out) as f:
            types = {l.split()[3] for l in f if l.strip() and not l.startswith(';')}
        want = {'nsec': 'NSEC', 'compact': 'NSEC', 'nsec3': 'NSEC3'}[denial]
        self.assertIn(want, types, out)
        self.assertIn('RRSIG', types, out)
        verify(self, out, zone, keys == 'csk',
               'zone sign %s %s alg %d %s' % (zone, denial, alg, keys))
        return out

    def test_0_negative_control(self):
        """One signature changed: each tool on its own must make verify() fail."""
        out = self.sign('nsec', 13, 'csk')
        with open(out) as f:
            lines = f.read().splitlines()
        for i, l in enumerate(lines):
            f = l.split()
            if len(f) > 8 and f[3] == 'RRSIG' and f[4] == 'A' and f[0].startswith('web.'):
                sig = f[-1]
                f[-1] = sig[:10] + ('A' if sig[10] != 'A' else 'B') + sig[11:]
                lines[i] = ' '.join(f)
                break
        else:
            self.fail('no RRSIG A of web.example.test in %s' % out)
        bad = out + '.bad'
        with open(bad, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        with self.assertRaises(AssertionError) as cm:
            verify(self, bad, 'example.test', True, 'negative control')
        self.assertIn('dnssec-verify: exit', str(cm.exception))
        self.assertIn('ldns-verify-zone: exit', str(cm.exception))


def _zonesign_case(denial, alg, keys):
    def test(self):
        self.sign(denial, alg, keys)
    test.__name__ = 'test_%s_alg%d_%s' % (denial, alg, keys.replace('-', '_'))
    return test


for _d in ('nsec', 'nsec3'):
    for _a in (13, 15, 8):
        for _k in ('csk', 'ksk-zsk'):
            _t = _zonesign_case(_d, _a, _k)
            setattr(ZoneSign, _t.__name__, _t)


def _realistic_case(denial, alg, keys):
    def test(self):
        self.sign(denial, alg, keys, 'real.test', self.realistic)
    test.__name__ = 'test_realistic_%s_alg%d_%s' % (denial, alg, keys.replace('-', '_'))
    return test


for _d, _a, _k in (('nsec', 13, 'csk'), ('nsec3', 8, 'ksk-zsk'), ('nsec3', 15, 'csk'),
                   ('compact', 13, 'csk')):
    _t = _realistic_case(_d, _a, _k)
    setattr(ZoneSign, _t.__name__, _t)


AXFR_COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone example.test
    dnssec {
        keystore $dir/keystore.db
        policy nsec-csk
    }
    transfer {
        to 127.0.0.1
    }
}
other.test:$port {
    bind 127.0.0.1
    file $dir/other.test.zone other.test
    dnssec {
        keystore $dir/keystore.db
        policy nsec3-kz
    }
    transfer {
        to 127.0.0.1
    }
}
sub.example.test:$port {
    bind 127.0.0.1
    file $dir/sub.example.test.zone sub.example.test
    dnssec {
        keystore $dir/keystore.db
        policy compact-csk
    }
    transfer {
        to 127.0.0.1
        compact-as-nsec
    }
}
real.test:$port {
    bind 127.0.0.1
    file $dir/real.test.zone real.test
    dnssec {
        keystore $dir/keystore.db
        policy nsec3-rsa
    }
    transfer {
        to 127.0.0.1
    }
}
real2.test:$port {
    bind 127.0.0.1
    file $dir/real2.test.zone real2.test
    dnssec {
        keystore $dir/keystore.db
        policy nsec-kz
    }
    transfer {
        to 127.0.0.1
    }
}
'''

# zone: (policy, denial, algorithm, keys)
AXFR_ZONES = {
    'example.test': ('nsec-csk', 'nsec', 13, 'csk'),
    'other.test': ('nsec3-kz', 'nsec3', 15, 'ksk-zsk'),
    'sub.example.test': ('compact-csk', 'compact', 13, 'csk'),
    'real.test': ('nsec3-rsa', 'nsec3', 8, 'csk'),
    'real2.test': ('nsec-kz', 'nsec', 13, 'ksk-zsk'),
}


class Axfr(unittest.TestCase):
    """AXFR of every zone signetd signs online, through both verifiers."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-verifiers-axfr-')
        cls.srv = None
        try:
            db = os.path.join(cls.dir, 'keystore.db')
            for policy, denial, alg, keys in AXFR_ZONES.values():
                ctl(db, 'policy', 'add', policy, '--denial', denial, '--algorithm', ALGS[alg],
                    '--' + keys)
            for origin, seed in (('real.test.', 141), ('real2.test.', 142)):
                with open(os.path.join(cls.dir, origin + 'zone'), 'w') as f:
                    f.write(realistic_zone.generate(origin, hosts=1500, seed=seed).text)
            cls.srv = Signetd(AXFR_COREFILE, ('example.test.zone', 'example.test.inc',
                                              'other.test.zone', 'sub.example.test.zone'),
                              workdir=cls.dir)
            cls.srv.start()
            for z in AXFR_ZONES:
                if not cls.srv.wait_log(r'transfer: %s\.: serial \d+ \(first version\)'
                                        % re.escape(z), timeout=60):
                    raise AssertionError('no first version of %s; log:\n%s' % (z, cls.srv.log()))
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        signet_test.stop_and_remove(cls.dir, cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def axfr_verify(self, zone):
        policy, denial, alg, keys = AXFR_ZONES[zone]
        cmd = ['kdig', '@127.0.0.1', '-p', str(self.srv.port), '+nocomments', '+nostats',
               '+timeout=10', '+retry=0', 'AXFR', zone]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn('failed', (p.stdout + p.stderr).lower(), p.stdout + p.stderr)
        lines = [l for l in p.stdout.splitlines() if l.strip() and not l.startswith(';')]
        self.assertGreater(len(lines), 10, p.stdout + p.stderr)
        self.assertEqual(lines[0].split()[3], 'SOA', lines[0])
        self.assertEqual(' '.join(lines[-1].split()), ' '.join(lines[0].split()))
        types = {l.split()[3] for l in lines}
        self.assertIn('NSEC3' if denial == 'nsec3' else 'NSEC', types)
        path = os.path.join(self.dir, zone + '.axfr')
        with open(path, 'w') as f:
            f.write('\n'.join(lines[:-1]) + '\n')
        verify(self, path, zone, keys == 'csk',
               'AXFR of %s (%s, alg %d, %s)' % (zone, denial, alg, keys))

    def test_nsec_csk(self):
        self.axfr_verify('example.test')

    def test_nsec3_ksk_zsk_ed25519(self):
        self.axfr_verify('other.test')

    def test_compact_as_nsec(self):
        self.axfr_verify('sub.example.test')

    def test_realistic_nsec3_rsasha256(self):
        self.axfr_verify('real.test')

    def test_realistic_nsec_ksk_zsk(self):
        self.axfr_verify('real2.test')


if __name__ == '__main__':
    signet_test.main()
