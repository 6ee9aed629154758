#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.secrets: no secret leaks into what an operator sees.

A full scenario - signetd signing a zone online with its DS pushed to an emulated
registrar (Porkbun API over real TLS), a TSIG key in the config, debug logging, queries
over UDP and TCP, a reload, `signetctl --json` listings, `signetctl stats`, a registrar
test with good and with wrong credentials - and then every byte signetd logged and every
output and error of signetctl is searched for every secret: the PEM body lines and the raw
private scalar (base64, hex) of every private key in the keystore, the registrar
credentials (the right ones and the wrong ones), the TSIG secret. None may appear.

Reuses the emulator of integ.registrar. Python 3 standard library only."""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import signet_test
import test_registrar as tr

ZONE = 'secret.test'
ZONE_TEXT = '''$ORIGIN secret.test.
$TTL 60
@ IN SOA ns1 hostmaster 1 60 60 600 30
  IN NS ns1
ns1 IN A 127.0.0.1
www IN A 192.0.2.1
'''
TSIG_SECRET = base64.b64encode(b'tsig-secret-material-0123456789!').decode()
WRONG = {'apikey': 'pk1_wrongwrongwrong77', 'secretapikey': 'sk1_wrongsecret998877'}


def signetctl_path():
    return os.environ.get('SIGNETCTL') or os.path.join(
        os.path.dirname(os.path.dirname(signet_test.signetd_path())), 'ctl', 'signetctl')


def pem_body(text):
    """The base64 lines between BEGIN and END."""
    lines = text.splitlines()
    try:
        a = next(i for i, l in enumerate(lines) if l.startswith('-----BEGIN'))
        b = next(i for i, l in enumerate(lines) if l.startswith('-----END'))
    except StopIteration:
        return []
    return lines[a + 1:b]


def private_scalars(pem):
    """The raw private key inside a PKCS#8 PEM (EC: the ECPrivateKey octet string; EdDSA:
    the inner octet string), as bytes; None if the shape is unknown."""
    der = base64.b64decode(''.join(pem_body(pem)))
    i = der.find(b'\x02\x01\x01\x04')          # ECPrivateKey: version 1, OCTET STRING
    if i >= 0:
        n = der[i + 4]
        return der[i + 5:i + 5 + n]
    i = der.find(b'\x04\x22\x04\x20')          # Ed25519: OCTET STRING { OCTET STRING(32) }
    if i >= 0:
        return der[i + 4:i + 36]
    return None


class Secrets(unittest.TestCase):
    outputs = []   # (what, text) of everything an operator could see

    @classmethod
    def setUpClass(cls):
        if not shutil.which('openssl'):
            raise unittest.SkipTest('openssl is not installed')
        cls.dir = tempfile.mkdtemp(prefix='signet-secrets-')
        cls.reg, cls.httpd, cls.ca = tr.serve_emulator(cls.dir, 'ca', lambda: None)
        cls.db = os.path.join(cls.dir, 'keystore.db')
        for name, creds in (('good', tr.SECRETS['porkbun']), ('wrong', WRONG)):
            path = os.path.join(cls.dir, name + '.cred')
            with open(path, 'w') as f:
                f.write(''.join('%s = %s\n' % kv for kv in creds.items()))
            os.chmod(path, 0o600)
        cls.srv = None

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        if cls.srv:
            cls.srv.stop()
            cls.srv.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def ctl(self, *args, socket=False, record=True, check=True):
        cmd = [signetctl_path()]
        cmd += ['--socket', self.srv.path('ctl.sock')] if socket else ['--db', self.db]
        p = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=120)
        if record:
            self.outputs.append(('signetctl ' + ' '.join(args), p.stdout + p.stderr))
        if check and p.returncode != 0:
            self.fail('signetctl %s: exit %d\n%s%s' % (' '.join(args), p.returncode, p.stdout,
                                                       p.stderr))
        return p

    def registrar_block(self, cred):
        return ('        registrar porkbun {\n'
                '            credentials %s\n'
                '            endpoint https://127.0.0.1:%d/porkbun/api/json/v3\n'
                '            ca-file %s\n'
                '            check-interval 1s\n            backoff 1s 4s\n'
                '            query-timeout 1s\n'
                '            parent-ns 127.0.0.1:9\n'   # nobody there: parent checks fail, logged
                '        }\n' % (os.path.join(self.dir, cred), self.reg.port, self.ca))

    def corefile(self, cred):
        return ('{\n    control $dir/ctl.sock\n    log-level debug\n'
                '    tsig-key xfr.key hmac-sha256 %s\n}\n'
                '%s:$port {\n    bind 127.0.0.1\n    dnssec {\n        keystore %s\n'
                '        policy fast\n%s    }\n    file $dir/zone %s\n    log\n    errors\n}\n'
                % (TSIG_SECRET, ZONE, self.db, self.registrar_block(cred), ZONE))

    def test_no_secret_anywhere(self):
        self.ctl('policy', 'add', 'fast', *tr.E2E_TIMING)
        self.ctl('--json', 'zone', 'add', ZONE, '--policy', 'fast')
        self.srv = srv = signet_test.Signetd(self.corefile('good.cred'), ready_name=ZONE)
        with open(srv.path('zone'), 'w') as f:
            f.write(ZONE_TEXT)
        srv.start()
        # the DS reaches the registrar: credentials were used
        deadline = time.time() + 60 * signet_test.SLOWDOWN
        while not self.reg.recs('porkbun', ZONE) and time.time() < deadline:
            time.sleep(0.3)
        self.assertTrue(self.reg.recs('porkbun', ZONE), 'no DS pushed; log:\n' + srv.log()[-3000:])
        # queries that sign, over UDP and TCP, positive and negative
        for name, rtype in ((ZONE, 'DNSKEY'), ('www.' + ZONE, 'A'), ('nx.' + ZONE, 'A'),
                            (ZONE, 'CDS')):
            self.outputs.append(('dig', srv.dig(name, rtype, '+dnssec').text))
            self.outputs.append(('kdig', srv.kdig(name, rtype, '+dnssec', tcp=True).text))
        # operator views
        for args in (('zone', 'status', ZONE), ('zone', 'list'), ('key', 'list', ZONE),
                     ('ds', 'status', ZONE), ('zone', 'history', ZONE), ('policy', 'show', 'fast'),
                     ('zone', 'show', ZONE), ('ds', ZONE), ('dnskey', ZONE)):
            self.ctl('--json', *args)
            self.ctl(*args)
        self.ctl('stats', socket=True)
        self.ctl('status', socket=True)
        self.ctl('registrar', 'test', ZONE, '--config', srv.corefile_path)
        # wrong credentials: refused by the registrar, whose error body is shown
        wrong = os.path.join(self.dir, 'wrong.Corefile')
        with open(wrong, 'w') as f:
            f.write(self.corefile('wrong.cred').replace('$port', str(srv.port))
                    .replace('$dir', srv.dir))
        p = self.ctl('registrar', 'test', ZONE, '--config', wrong, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('Invalid API key', p.stdout + p.stderr)
        # a reload, then stop
        since = srv.log_size()
        srv.send_signal(signal.SIGHUP)
        self.assertTrue(srv.wait_log('reload', since=since, timeout=10), srv.log()[-2000:])
        self.ctl('stats', socket=True)
        self.assertEqual(srv.stop(), 0)
        self.outputs.append(('signetd log', srv.log()))

        # the secrets
        secrets = {}
        for v in list(tr.SECRETS['porkbun'].values()) + list(WRONG.values()):
            secrets[v] = 'registrar credential'
        secrets[TSIG_SECRET] = 'TSIG secret'
        secrets[base64.b64decode(TSIG_SECRET).decode()] = 'TSIG secret (raw)'
        keys = json.loads(self.ctl('--json', 'key', 'list', ZONE, record=False).stdout)
        self.assertTrue(keys)
        for k in keys:
            pem = self.ctl('key', 'export', str(k['id']), '--private', record=False).stdout
            body = pem_body(pem)
            self.assertTrue(body, pem)
            for l in body:
                if len(l) >= 16:
                    secrets[l] = 'PEM line of key %s' % k['id']
            raw = private_scalars(pem)
            self.assertIsNotNone(raw, 'unknown key shape in\n' + pem)
            secrets[base64.b64encode(raw).decode()] = 'private key %s (base64)' % k['id']
            secrets[raw.hex()] = 'private key %s (hex)' % k['id']
            secrets[raw.hex().upper()] = 'private key %s (HEX)' % k['id']
            # the checker finds what it looks for: the export itself holds the PEM
            self.assertTrue(any(s in pem for s in secrets if 'PEM line' in secrets[s]))

        # what was seen must be real: the log has queries and registrar calls
        log = dict(self.outputs)['signetd log']
        self.assertIn('DNSKEY', log)
        self.assertGreater(len(self.outputs), 30)
        for what, text in self.outputs:
            for s, kind in secrets.items():
                self.assertNotIn(s, text, '%s found in the output of %s' % (kind, what))


if __name__ == '__main__':
    signet_test.main()
