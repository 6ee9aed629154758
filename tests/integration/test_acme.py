#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.acme: an ACME DNS-01 round trip with real clients (issue 22).

pebble (the ACME test CA) issues a certificate for acme.test to certbot, whose
dns-rfc2136 plugin adds the challenge TXT record _acme-challenge.acme.test by a
TSIG-signed (hmac-sha256) DNS UPDATE and removes it afterwards. pebble checks the
challenge through a validating unbound that stubs acme.test to the authoritative server
(no root hints, nothing outside loopback, our trust anchor), so the TXT it sees is
signed and validated. Also:
- after an UPDATE by knsupdate (its reply TSIG-signed), the validating unbound answers
  the new TXT with AD within a second; a wrong TSIG secret, another name or another
  type change nothing;
- acme.test and *.acme.test in one certificate: two TXT records in the challenge's
  RRset at once, each deleted alone;
- www.acme.test, whose challenge name the key may not change: refused, nothing issued;
- lego (its rfc2136 provider) does the same round trip;
- the negative control: pebble behind an unbound whose trust anchor does not match the
  zone's key sees SERVFAIL and issues nothing, while certbot still removes the TXT.

Two authoritative servers run the same tests:
- Knot DNS (knotd with automatic DNSSEC and an update ACL): the reference, showing that
  pebble, certbot and unbound work together here and how long each step takes;
- signetd with its `update` plugin (`update { key ...; allow KEY _acme-challenge TXT }`).
  When the signetd under test has no `update` plugin (its config check rejects the
  line), that class is skipped and says so: it never passes without one.

Everything is on loopback: certbot's config, work and log directories live in the test's
temporary directory; pebble's HTTPS certificate comes from a CA made here with openssl
(certbot trusts it through REQUESTS_CA_BUNDLE); PEBBLE_VA_NOSLEEP=1 and
PEBBLE_WFE_NONCEREJECT=0 keep pebble from adding delays and nonce errors of its own, and
PEBBLE_AUTHZREUSE=0 makes it validate every order afresh.
The round-trip time (certbot's start to the certificate on disk) is printed as
"ACME round trip (...): N.NN s". Python 3 standard library, plus pebble, certbot with
python3-certbot-dns-rfc2136, lego (a second ACME client, also rfc2136), knotd,
knsupdate, unbound, dig and openssl.
"""

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import secondaries
import signet_test
from signet_test import Signetd, free_port, wait_for
from unbound_resolver import Unbound

ZONE = 'acme.test'
CHALLENGE = '_acme-challenge.' + ZONE
KEY_NAME = 'ddns-key'
START_TIMEOUT = 30.0
CERTBOT_TIMEOUT = 300
AD_WITHIN = 1.0           # seconds from the UPDATE's reply to a validated (AD) answer

ZONE_TEXT = """$TTL 5
@    IN SOA ns1 hostmaster 1 60 60 600 5
     IN NS  ns1
ns1  IN A   127.0.0.1
@    IN A   127.0.0.1
www  IN A   127.0.0.1
"""


def binary(name):
    p = shutil.which(name) or '/usr/bin/' + name
    if not os.access(p, os.X_OK):
        raise RuntimeError('%s not found (Debian package %s; scripts/deps.sh installs it)'
                           % (name, {'certbot': 'python3-certbot-dns-rfc2136'}.get(name, name)))
    return p


def dig_direct(port, name, rtype):
    """The authoritative server's own answer (no recursion, DO set)."""
    p = subprocess.run(['dig', '@127.0.0.1', '-p', str(port), '+norec', '+dnssec', '+time=2',
                        '+tries=2', name, rtype], capture_output=True, text=True, timeout=30)
    return signet_test.parse_dig(p.stdout)


def challenge_window(certbot_log):
    """', the TXT in place for N s' from certbot's log times (its 'Successfully added'
    and 'Successfully deleted' lines), or '' when they cannot be read."""
    stamps = {}
    for line in certbot_log.splitlines():
        for what in ('added', 'deleted'):
            if 'Successfully %s TXT record' % what in line:
                try:
                    t = time.strptime(line[:19], '%Y-%m-%d %H:%M:%S')
                    stamps[what] = time.mktime(t) + int(line[20:23]) / 1000.0
                except ValueError:
                    pass
    if len(stamps) != 2:
        return ''
    return ' (the challenge TXT in place for %.2f s of it)' % (stamps['deleted'] - stamps['added'])


# ---- pebble and its HTTPS certificate ----------------------------------------------

def openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, capture_output=True)


class Pebble:
    """pebble on 127.0.0.1 with a CA made here, resolving through dns_port."""

    def __init__(self, workdir, dns_port, name='pebble'):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.dns_port = dns_port
        self.log_path = os.path.join(self.dir, 'pebble.log')
        self.proc = None
        self.ca = os.path.join(self.dir, 'ca.pem')
        d = self.dir
        openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
                '-subj', '/CN=Signet test CA for pebble', cwd=d)
        with open(os.path.join(d, 'ext.cnf'), 'w') as f:
            f.write('subjectAltName=IP:127.0.0.1,DNS:localhost\n')
        openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                '-keyout', 'key.pem', '-out', 'cert.csr', '-subj', '/CN=127.0.0.1', cwd=d)
        openssl('x509', '-req', '-in', 'cert.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
                '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'ext.cnf',
                cwd=d)

    def url(self):
        return 'https://127.0.0.1:%d/dir' % self.port

    def start(self):
        for _ in range(5):
            self.port, mgmt, http, tls = (free_port() for _ in range(4))
            conf = os.path.join(self.dir, 'pebble-config.json')
            with open(conf, 'w') as f:
                json.dump({'pebble': {
                    'listenAddress': '127.0.0.1:%d' % self.port,
                    'managementListenAddress': '127.0.0.1:%d' % mgmt,
                    'certificate': os.path.join(self.dir, 'cert.pem'),
                    'privateKey': os.path.join(self.dir, 'key.pem'),
                    'httpPort': http, 'tlsPort': tls, 'ocspResponderURL': '',
                    'externalAccountBindingRequired': False}}, f)
            # no sleeps, no nonce errors, and every order validated afresh (pebble reuses
            # a valid authorization half the time by default); never "always valid"
            env = dict(os.environ, PEBBLE_VA_NOSLEEP='1', PEBBLE_WFE_NONCEREJECT='0',
                       PEBBLE_AUTHZREUSE='0')
            env.pop('PEBBLE_VA_ALWAYS_VALID', None)
            self._out = open(self.log_path, 'ab')
            self.proc = subprocess.Popen(
                [binary('pebble'), '-config', conf, '-strict=false',
                 '-dnsserver', '127.0.0.1:%d' % self.dns_port],
                stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._out, cwd=self.dir,
                env=env, preexec_fn=signet_test._die_with_parent)
            signet_test._LIVE.add(self.proc)
            if self._wait_ready():
                return self
            signet_test.port_retry(self.proc, 'pebble', START_TIMEOUT, self.log,
                                   lambda t: 'address already in use' in t)
            self._out.close()
        raise RuntimeError('pebble could not bind a port; log:\n%s' % self.log())

    def _wait_ready(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(self.url(), context=ctx, timeout=2) as r:
                    if 'newOrder' in json.loads(r.read().decode()):
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def log(self):
        return signet_test.read_logs(self.log_path)

    def stop(self):
        if self.proc is not None:
            signet_test.terminate(self.proc, 10)
            self._out.close()


class LoggingUnbound(Unbound):
    """The tests' validating unbound, logging each reply it gives (to see pebble's)."""

    def config(self):
        return super().config().replace('    log-servfail: yes\n',
                                        '    log-servfail: yes\n    log-replies: yes\n', 1)


# ---- the authoritative servers ------------------------------------------------------

class KnotAuthority:
    """knotd serving acme.test, signed by its automatic DNSSEC, taking UPDATEs of TXT at
    _acme-challenge from ddns-key only."""

    name = 'knot'

    def __init__(self, workdir, secret):
        self.dir = os.path.join(workdir, 'knot')
        os.makedirs(self.dir)
        self.secret = secret
        self.proc = self._log = None

    def start(self):
        with open(os.path.join(self.dir, ZONE + '.zone'), 'w') as f:
            f.write(ZONE_TEXT)
        self.port = free_port()
        conf = os.path.join(self.dir, 'knot.conf')
        with open(conf, 'w') as f:
            f.write(secondaries.KNOT_SERVER_CONF % {'dir': self.dir, 'port': self.port})
            f.write('''key:
  - id: %(key)s
    algorithm: hmac-sha256
    secret: %(secret)s
acl:
  - id: acme-update
    key: %(key)s
    action: update
    update-type: TXT
    update-owner: name
    update-owner-match: equal
    update-owner-name: _acme-challenge
policy:
  - id: p
    algorithm: ecdsap256sha256
template:
  - id: default
    storage: "%(dir)s"
    zonefile-sync: -1
zone:
  - domain: %(zone)s
    file: "%(dir)s/%(zone)s.zone"
    dnssec-signing: on
    dnssec-policy: p
    acl: acme-update
''' % {'key': KEY_NAME, 'secret': self.secret, 'dir': self.dir, 'zone': ZONE})
        self.proc, self._log = secondaries.start_knotd(conf, self.port, ZONE,
                                                       os.path.join(self.dir, 'knot.log'))
        return self

    def anchors(self):
        r = wait_for(lambda: (lambda r: r if r.rrs('answer', 'DNSKEY') else None)(
            dig_direct(self.port, ZONE, 'DNSKEY')), 20)
        ksk = [x for x in (r.rrs('answer', 'DNSKEY') if r else [])
               if x.rdata.split()[0] == '257']
        if not ksk:
            raise RuntimeError('knotd published no KSK; log:\n' + self.log())
        return ['%s. DNSKEY %s' % (ZONE, x.rdata) for x in ksk]

    def log(self):
        return signet_test.read_logs(os.path.join(self.dir, 'knot.log'))

    def stop(self):
        errors = []
        if self.proc is not None:
            if self.proc.poll() is not None:
                errors.append('knotd died during the tests; log:\n' + self.log()[-3000:])
            signet_test.terminate(self.proc, 10)
            self._log.close()
        return errors


SIGNET_COREFILE = '''
{
    tsig-key %(key)s hmac-sha256 %(secret)s
}
%(zone)s:$port {
    bind 127.0.0.1
    file $dir/%(zone)s.zone %(zone)s
    dnssec {
        keystore $dir/keystore.db
    }
    update {
        key %(key)s
        allow %(key)s _acme-challenge TXT
    }
    errors
}
'''


class SignetAuthority:
    """signetd serving acme.test, signing online, with its `update` plugin."""

    name = 'signetd'

    def __init__(self, workdir, secret):
        self.dir = os.path.join(workdir, 'signetd')
        os.makedirs(self.dir)
        text = SIGNET_COREFILE % {'key': KEY_NAME, 'secret': secret, 'zone': ZONE}
        self.srv = Signetd(text, ready_name=ZONE, workdir=self.dir)
        with open(self.srv.path(ZONE + '.zone'), 'w') as f:
            f.write(ZONE_TEXT)

    def missing_feature(self):
        """Why this signetd cannot run the test (None if it can): its config check of the
        Corefile above, which has the `update` plugin."""
        self.srv.port = self.srv.port2 = free_port()
        self.srv.write_corefile()
        rc, out, err = signet_test.run_signetd(['-t', '-c', self.srv.corefile_path])
        if rc == 0:
            return None
        if "unknown plugin or directive 'update'" in out + err:
            return ('signetd has no `update` plugin (RFC 2136 DNS UPDATE, issue 22): '
                    '`signetd -t` says: %s' % (out + err).strip()[-300:])
        # any other refusal is a failure of the test, not a missing feature
        raise AssertionError('signetd -t rejects the ACME config:\n%s%s' % (out, err))

    def start(self):
        self.srv.start()
        self.port = self.srv.port
        return self

    def anchors(self):
        db = self.srv.path('keystore.db')
        lines = wait_for(lambda: [' '.join(l.split()) for l in
                                  signet_test.ctl(db, 'ds', ZONE).splitlines()
                                  if l.strip() and not l.startswith(';')], 20)
        if not lines:
            raise RuntimeError('signetctl ds printed no DS; log:\n' + self.srv.log()[-3000:])
        return lines

    def log(self):
        return self.srv.log()

    def stop(self):
        return signet_test.stop_servers(self.srv)


# ---- the tests -----------------------------------------------------------------------

class AcmeBase(unittest.TestCase):
    AUTHORITY = None

    @classmethod
    def setUpClass(cls):
        if cls.AUTHORITY is None:
            raise unittest.SkipTest('base class')
        cls.dir = tempfile.mkdtemp(prefix='signet-acme-')
        cls.auth = cls.ub = cls.pebble = None
        cls.secret = base64.b64encode(os.urandom(32)).decode()
        try:
            cls.auth = cls.AUTHORITY(cls.dir, cls.secret)
            why = getattr(cls.auth, 'missing_feature', lambda: None)()
            if why:
                raise unittest.SkipTest(why)
            cls.auth.start()
            cls.ub = LoggingUnbound(cls.dir, [(ZONE, cls.auth.port)], cls.auth.anchors())
            cls.ub.start()
            # the resolver validates the zone before pebble is pointed at it
            r = wait_for(lambda: (lambda r: r if 'ad' in r.flags else None)(
                cls.ub.dig(ZONE, 'SOA')), 20)
            if not r:
                raise AssertionError('unbound does not validate %s:\n%r\n%s'
                                     % (ZONE, cls.ub.dig(ZONE, 'SOA'), cls.ub.log()[-3000:]))
            cls.pebble = Pebble(cls.dir, cls.ub.port).start()
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        errors = []
        if cls.pebble is not None:
            cls.pebble.stop()
        if cls.ub is not None:
            cls.ub.stop()
        if cls.auth is not None:
            errors = cls.auth.stop()
        signet_test.remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def knsupdate(self, lines, key_secret=None):
        """One TSIG-signed UPDATE of acme.test by knsupdate; (ok, output)."""
        secret = key_secret or self.secret
        script = ('server 127.0.0.1 %d\nzone %s.\norigin %s.\nkey hmac-sha256:%s %s\n%s\n'
                  'send\nanswer\nquit\n' % (self.auth.port, ZONE, ZONE, KEY_NAME, secret,
                                            '\n'.join(lines)))
        p = subprocess.run(['knsupdate', '-t', '5', '-r', '1'], input=script,
                           capture_output=True, text=True, timeout=60)
        out = (p.stdout + p.stderr).replace(secret, '<secret>')
        return p.returncode == 0 and 'status: NOERROR' in out, out

    def resolve_txt(self):
        r = self.ub.dig(CHALLENGE, 'TXT', timeout=2)
        return r, [x.rdata.strip('"') for x in r.rrs('answer', 'TXT')]

    def assert_challenge_gone(self):
        r = dig_direct(self.auth.port, CHALLENGE, 'TXT')
        self.assertFalse(r.rrs('answer', 'TXT'), 'the challenge TXT is still served:\n%r' % r)
        # and the resolver validates its absence (a signed denial)
        r = wait_for(lambda: (lambda r: r if r.rcode == 'NXDOMAIN' and 'ad' in r.flags
                              else None)(self.ub.dig(CHALLENGE, 'TXT')), 10)
        self.assertTrue(r, 'no validated NXDOMAIN for %s:\n%r' % (CHALLENGE,
                                                                   self.ub.dig(CHALLENGE, 'TXT')))

    def test_1_update_signed_within_a_second(self):
        self.assert_challenge_gone()
        token = 'probe-%d' % time.time_ns()
        t_send = time.monotonic()
        ok, out = self.knsupdate(['update add %s. 5 TXT "%s"' % (CHALLENGE, token)])
        t_reply = time.monotonic()
        self.assertTrue(ok, out)
        # the reply is signed with the request's key (RFC 8945 5.3; knsupdate checks it)
        self.assertRegex(out, r'(?m)^%s\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\.' % KEY_NAME)
        self.addCleanup(self.knsupdate, ['update delete %s. TXT' % CHALLENGE])
        seen = None
        while time.monotonic() - t_reply < 10:
            r, txts = self.resolve_txt()
            if token in txts and 'ad' in r.flags:
                seen = time.monotonic()
                break
            time.sleep(0.02)
        self.assertIsNotNone(seen, 'no validated TXT within 10 s:\n%r\n%s'
                             % (self.ub.dig(CHALLENGE, 'TXT'), self.ub.log()[-2000:]))
        print('\n%s: UPDATE reply to validated (AD) TXT at unbound: %.3f s (%.3f s from '
              'knsupdate start)' % (self.AUTHORITY.name, seen - t_reply, seen - t_send),
              file=sys.stderr)
        self.assertLessEqual(seen - t_reply, AD_WITHIN)
        # a wrong secret changes nothing
        ok, out = self.knsupdate(['update delete %s. TXT' % CHALLENGE],
                                 key_secret=base64.b64encode(os.urandom(32)).decode())
        self.assertFalse(ok, 'UPDATE with a wrong TSIG secret accepted:\n' + out)
        self.assertIn(token, self.resolve_txt()[1])
        # the key may change the challenge's TXT and nothing else
        for line in ('update add www.%s. 5 TXT "not-allowed"' % ZONE,
                     'update add %s. 5 A 192.0.2.1' % CHALLENGE):
            ok, out = self.knsupdate([line])
            self.assertFalse(ok, 'UPDATE outside the key\'s policy accepted: %s\n%s' % (line, out))
        self.assertFalse(dig_direct(self.auth.port, 'www.' + ZONE, 'TXT').rrs('answer', 'TXT'))
        self.assertFalse(dig_direct(self.auth.port, CHALLENGE, 'A').rrs('answer', 'A'))
        ok, out = self.knsupdate(['update delete %s. TXT' % CHALLENGE])
        self.assertTrue(ok, out)
        self.assert_challenge_gone()

    def certbot(self, name, pebble, domains=(ZONE,)):
        """Run certbot certonly for domains against pebble with its directories in
        DIR/name; (process, seconds taken, certbot's log text, DIR/name)."""
        d = os.path.join(self.dir, name)
        os.makedirs(d)
        cred = os.path.join(d, 'rfc2136.ini')
        fd = os.open(cred, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write('dns_rfc2136_server = 127.0.0.1\n'
                    'dns_rfc2136_port = %d\n'
                    'dns_rfc2136_name = %s\n'
                    'dns_rfc2136_secret = %s\n'
                    'dns_rfc2136_algorithm = HMAC-SHA256\n'
                    % (self.auth.port, KEY_NAME, self.secret))
        cmd = [binary('certbot'), 'certonly', '--non-interactive', '--agree-tos',
               '--register-unsafely-without-email', '--server', pebble.url(),
               '--config-dir', os.path.join(d, 'config'), '--work-dir', os.path.join(d, 'work'),
               '--logs-dir', os.path.join(d, 'logs'), '--dns-rfc2136',
               '--dns-rfc2136-credentials', cred, '--dns-rfc2136-propagation-seconds', '0',
               '--cert-name', ZONE]
        for dom in domains:
            cmd += ['-d', dom]
        env = dict(os.environ, REQUESTS_CA_BUNDLE=pebble.ca)
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=CERTBOT_TIMEOUT,
                           env=env)
        elapsed = time.monotonic() - t0
        certbot_log = signet_test.read_logs(os.path.join(d, 'logs', 'letsencrypt.log'))
        self.assertNotIn(self.secret, p.stdout + p.stderr + certbot_log)
        return p, elapsed, certbot_log, d

    def test_2_acme_round_trip(self):
        self.assert_challenge_gone()
        ub_log_before = len(self.ub.log())
        p, elapsed, certbot_log, d = self.certbot('certbot', self.pebble)
        self.assertEqual(p.returncode, 0, 'certbot failed:\n%s%s\n--- certbot log tail:\n%s\n'
                         '--- pebble log tail:\n%s\n--- unbound log tail:\n%s'
                         % (p.stdout, p.stderr, certbot_log[-4000:], self.pebble.log()[-3000:],
                            self.ub.log()[-2000:]))
        print('\nACME round trip (%s): %.2f s from certbot start to certificate issued%s'
              % (self.AUTHORITY.name, elapsed, challenge_window(certbot_log)), file=sys.stderr)
        # the certificate: for acme.test, issued by pebble
        crt = os.path.join(d, 'config', 'live', ZONE, 'cert.pem')
        x = subprocess.run(['openssl', 'x509', '-in', crt, '-noout', '-issuer', '-ext',
                            'subjectAltName'], capture_output=True, text=True, timeout=30)
        self.assertEqual(x.returncode, 0, x.stderr)
        self.assertIn('DNS:%s' % ZONE, x.stdout)
        self.assertIn('Pebble', x.stdout)
        # certbot added the challenge by UPDATE and removed it the same way
        self.assertIn('Successfully added TXT record %s' % CHALLENGE, certbot_log)
        self.assertIn('Successfully deleted TXT record %s' % CHALLENGE, certbot_log)
        # pebble asked the validating resolver for the challenge, which had it
        self.assertRegex(self.ub.log()[ub_log_before:],
                         r'%s\.\s+TXT\s+IN\s+NOERROR' % CHALLENGE.replace('.', r'\.'))
        self.assert_challenge_gone()

    def test_5_apex_and_wildcard(self):
        """acme.test and *.acme.test in one certificate: both challenges are TXT records
        at _acme-challenge.acme.test, so the RRset holds two records while pebble checks
        them, and certbot deletes each one alone."""
        self.assert_challenge_gone()
        p, elapsed, certbot_log, d = self.certbot('certbot-wild', self.pebble,
                                                  (ZONE, '*.' + ZONE))
        self.assertEqual(p.returncode, 0, 'certbot failed:\n%s%s\n--- certbot log tail:\n%s\n'
                         '--- pebble log tail:\n%s' % (p.stdout, p.stderr, certbot_log[-4000:],
                                                       self.pebble.log()[-3000:]))
        print('\nACME round trip, apex and wildcard (%s): %.2f s'
              % (self.AUTHORITY.name, elapsed), file=sys.stderr)
        x = subprocess.run(['openssl', 'x509', '-in', os.path.join(d, 'config', 'live', ZONE,
                                                                   'cert.pem'),
                            '-noout', '-ext', 'subjectAltName'],
                           capture_output=True, text=True, timeout=30)
        self.assertIn('DNS:%s' % ZONE, x.stdout)
        self.assertIn('DNS:*.%s' % ZONE, x.stdout)
        self.assertEqual(certbot_log.count('Successfully added TXT record %s' % CHALLENGE), 2)
        self.assertEqual(certbot_log.count('Successfully deleted TXT record %s' % CHALLENGE), 2)
        self.assert_challenge_gone()

    def test_6_name_outside_the_policy(self):
        """www.acme.test's challenge is _acme-challenge.www.acme.test, which the key may
        not change: certbot's UPDATE is refused and no certificate comes."""
        p, elapsed, certbot_log, d = self.certbot('certbot-www', self.pebble, ('www.' + ZONE,))
        self.assertNotEqual(p.returncode, 0, 'certificate issued for a name outside the '
                            'key\'s policy:\n%s%s' % (p.stdout, p.stderr))
        # signetd says REFUSED; Knot says NOTAUTH with the TSIG error BADKEY
        self.assertRegex(certbot_log, r'PluginError: (Encountered error adding TXT record: The '
                         r'peer didn.t know the key we used|Received response from server: '
                         r'REFUSED)')
        self.assertNotIn('Successfully added TXT record', certbot_log)
        self.assertFalse(os.path.exists(os.path.join(d, 'config', 'live', ZONE)))
        r = dig_direct(self.auth.port, '_acme-challenge.www.' + ZONE, 'TXT')
        self.assertFalse(r.rrs('answer', 'TXT'), r)

    def test_4_lego_round_trip(self):
        """The same with lego (its rfc2136 provider), finding the zone through the
        validating resolver."""
        self.assert_challenge_gone()
        d = os.path.join(self.dir, 'lego')
        os.makedirs(d)
        env = dict(os.environ, LEGO_CA_CERTIFICATES=self.pebble.ca,
                   RFC2136_NAMESERVER='127.0.0.1:%d' % self.auth.port,
                   RFC2136_TSIG_KEY=KEY_NAME, RFC2136_TSIG_SECRET=self.secret,
                   RFC2136_TSIG_ALGORITHM='hmac-sha256.', RFC2136_TTL='5',
                   RFC2136_POLLING_INTERVAL='1', RFC2136_PROPAGATION_TIMEOUT='30')
        cmd = [binary('lego'), '--server', self.pebble.url(), '--accept-tos',
               '--email', 'hostmaster@example.com', '--path', d, '--dns', 'rfc2136',
               '--dns.resolvers', '127.0.0.1:%d' % self.ub.port, '--dns.disable-cp',
               '--domains', ZONE, 'run']
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=CERTBOT_TIMEOUT,
                           env=env, cwd=d)
        elapsed = time.monotonic() - t0
        out = p.stdout + p.stderr
        self.assertNotIn(self.secret, out)
        self.assertEqual(p.returncode, 0, 'lego failed:\n%s\n--- pebble log tail:\n%s'
                         % (out[-4000:], self.pebble.log()[-3000:]))
        for line in ('acme: use dns-01 solver', 'The server validated our request',
                     'acme: Cleaning DNS-01 challenge'):
            self.assertIn(line, out)
        print('\nACME round trip with lego (%s): %.2f s from lego start to certificate issued'
              % (self.AUTHORITY.name, elapsed), file=sys.stderr)
        crt = os.path.join(d, 'certificates', ZONE + '.crt')
        x = subprocess.run(['openssl', 'x509', '-in', crt, '-noout', '-issuer', '-ext',
                            'subjectAltName'], capture_output=True, text=True, timeout=30)
        self.assertEqual(x.returncode, 0, x.stderr)
        self.assertIn('DNS:%s' % ZONE, x.stdout)
        self.assertIn('Pebble', x.stdout)
        self.assert_challenge_gone()

    def test_3_bogus_zone_no_certificate(self):
        """The negative control: pebble behind a resolver whose trust anchor does not
        match the zone's key sees the challenge as bogus (SERVFAIL) and issues nothing;
        certbot removes the TXT all the same."""
        self.assert_challenge_gone()
        bad = Unbound(self.dir, [(ZONE, self.auth.port)],
                      [spoil(a) for a in self.auth.anchors()], name='unbound-bogus').start()
        self.addCleanup(bad.stop)
        r = bad.dig(ZONE, 'SOA')
        self.assertEqual(r.rcode, 'SERVFAIL', 'a wrong anchor must make the zone bogus:\n%r' % r)
        pebble = Pebble(self.dir, bad.port, name='pebble-bogus').start()
        self.addCleanup(pebble.stop)
        p, elapsed, certbot_log, d = self.certbot('certbot-bogus', pebble)
        self.assertNotEqual(p.returncode, 0, 'certificate issued for a bogus zone:\n%s%s'
                            % (p.stdout, p.stderr))
        self.assertFalse(os.path.exists(os.path.join(d, 'config', 'live', ZONE, 'cert.pem')))
        self.assertIn('Successfully added TXT record %s' % CHALLENGE, certbot_log)
        # pebble was told the lookup failed, and the resolver says why: validation
        self.assertIn('Error retrieving TXT records for DNS challenge', certbot_log,
                      certbot_log[-3000:])
        self.assertRegex(bad.log(), r'validation failure <%s\. TXT IN>'
                         % CHALLENGE.replace('.', r'\.'))
        self.assertIn('Successfully deleted TXT record %s' % CHALLENGE, certbot_log)
        self.assert_challenge_gone()


def spoil(anchor):
    """The trust-anchor line with one character of its key or digest changed."""
    f = anchor.split()
    last = f[-1]
    i = len(last) // 2
    f[-1] = last[:i] + ('B' if last[i] == 'A' else 'A') + last[i + 1:]
    return ' '.join(f)


class AcmeKnot(AcmeBase):
    """The harness against Knot DNS: the reference for what the clients need."""
    AUTHORITY = KnotAuthority


class AcmeSignetd(AcmeBase):
    """The same round trip with signetd as the authoritative server."""
    AUTHORITY = SignetAuthority


if __name__ == '__main__':
    signet_test.main()
