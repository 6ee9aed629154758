# SPDX-License-Identifier: MIT
"""integ.coredump: secrets stay out of core dumps (issue 15).

signetd signs core.test (KSK + ZSK) and holds a TSIG key. It is killed with SIGSEGV with
core dumps allowed by the resource limit:
  - by default it has made itself non-dumpable: no core is written at all;
  - with `core-dumps on` (debugging) a core is written, and it must hold none of the
    secrets: not the PKCS#8 PEM text of either private key, not their raw private scalars,
    not the TSIG secret (base64 or raw), not the cookie secret (hex or raw). They live in
    the secure heap or in pages of their own, left out of dumps.

Needs the kernel's core_pattern to be a plain file name (not a pipe to a collector); the
test is skipped otherwise, and when no core appears even when allowed (sanitizer builds
turn core dumps off).
"""

import base64
import glob
import os
import re
import resource
import signal
import subprocess
import time
import unittest

import signet_test
from signet_test import Signetd, ctl


ZONE_TEXT = """$ORIGIN core.test.
$TTL 60
@   SOA ns1 hostmaster 1 60 60 600 60
    NS  ns1
ns1 A   127.0.0.1
www A   192.0.2.1
"""

COOKIE_SECRET = '5ca1ab1ec0ffee00d15ea5e0b0a710ad'

COREFILE = """{
    %(tsig)s
    %(core)s
    cookie-secret """ + COOKIE_SECRET + """
}
core.test:${port} {
    bind 127.0.0.1
    dnssec {
        keystore %(db)s
        policy kz
    }
    file %(dir)s/core.test.zone
    transfer {
        to 127.0.0.1
        key xfr.key
    }
}
"""


def core_pattern():
    try:
        with open('/proc/sys/kernel/core_pattern') as f:
            return f.read().strip()
    except OSError:
        return ''


class CoreDump(unittest.TestCase):

    def setUp(self):
        pattern = core_pattern()
        if not pattern or pattern.startswith('|') or '/' in pattern:
            self.skipTest('core_pattern %r does not write a core beside the process' % pattern)
        self.dir = signet_test.tempfile.mkdtemp(prefix='signet-core-')
        self.db = os.path.join(self.dir, 'keystore.db')
        ctl(self.db, 'policy', 'add', 'kz', '--ksk-zsk')
        ctl(self.db, 'zone', 'add', 'core.test', '--policy', 'kz')
        with open(os.path.join(self.dir, 'core.test.zone'), 'w') as f:
            f.write(ZONE_TEXT)
        self.tsig = ctl(self.db, 'tsig', 'generate', 'xfr.key').strip()
        self.srv = None
        self.saved_limit = resource.getrlimit(resource.RLIMIT_CORE)

    def tearDown(self):
        resource.setrlimit(resource.RLIMIT_CORE, self.saved_limit)
        if self.srv is not None:
            self.srv.cleanup()
        signet_test.remove_workdir(self.dir)

    def secrets(self):
        """Every secret the process holds, as byte strings to look for."""
        out = []
        for k in re.findall(r'"id":(\d+)', ctl(self.db, '--json', 'key', 'list', 'core.test')):
            pem = ctl(self.db, 'key', 'export', k, '--private')
            body = [l for l in pem.splitlines() if l and not l.startswith('-----') and ' ' not in l]
            self.assertTrue(body, pem)
            out += [l.encode() for l in body if len(l) >= 16]
            # the raw private scalar, as OpenSSL prints it
            p = subprocess.run(['openssl', 'pkey', '-noout', '-text'], input=pem[pem.index('-----BEGIN'):],
                               capture_output=True, text=True)
            m = re.search(r'priv:\s*((?:[0-9a-f]{2}:?\s*)+)', p.stdout)
            self.assertIsNotNone(m, p.stdout + p.stderr)
            raw = bytes.fromhex(re.sub(r'[^0-9a-f]', '', m.group(1)))
            out.append(raw[-32:])
        secret = self.tsig.split()[3]
        out += [secret.encode(), base64.b64decode(secret)]
        out += [COOKIE_SECRET.encode(), bytes.fromhex(COOKIE_SECRET)]
        return out

    def crash(self, allow):
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.srv = Signetd(COREFILE % {'tsig': self.tsig, 'core': 'core-dumps on' if allow else '',
                                       'db': self.db, 'dir': self.dir},
                           workdir=self.dir, ready_name='core.test')
        self.srv.start()
        r = self.srv.dig('www.core.test', 'A', '+dnssec')
        self.assertTrue(r.rrs('answer', 'RRSIG'), 'signing (the private keys are in use)\n%r' % r)
        for c in glob.glob(os.path.join(self.dir, 'core*')):
            os.unlink(c)
        self.srv.proc.send_signal(signal.SIGSEGV)
        self.srv.proc.wait(timeout=30)
        time.sleep(0.5)
        self.srv.proc = None
        return [c for c in glob.glob(os.path.join(self.dir, 'core*')) if os.path.isfile(c)]

    def test_no_core_by_default(self):
        cores = self.crash(allow=False)
        self.assertEqual(cores, [], 'signetd left a core although it holds private keys')

    def test_core_when_allowed_holds_no_secret(self):
        secrets = self.secrets()
        cores = self.crash(allow=True)
        if not cores:
            self.skipTest('no core was written even with core-dumps on (sanitizer build?)')
        with open(cores[0], 'rb') as f:
            data = f.read()
        self.assertGreater(len(data), 1 << 20, 'a real core')
        found = [s[:12] for s in secrets if s in data]
        self.assertEqual(found, [], 'secrets in the core (%d bytes): %r' % (len(data), found))


if __name__ == '__main__':
    unittest.main(verbosity=2)
