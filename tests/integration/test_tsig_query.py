#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.tsig_query: TSIG (RFC 8945) on ordinary queries, as certbot's SOA lookup before
its UPDATE or `kdig -y` sends them, with kdig and dig (which both verify the reply's TSIG):

- signed with a key of the options block: the reply is signed with it (kdig and dig say
  nothing and exit 0), over UDP and TCP, any key of the keyring;
- a wrong secret: NOTAUTH, TSIG error BADSIG; a key we do not have: NOTAUTH, BADKEY; both
  with a MAC-less TSIG; no answer data; a request signed outside the fudge (signed by hand
  here): NOTAUTH, BADTIME, our time in Other Data, its MAC checked;
- a reply truncated for UDP keeps its TSIG (5.3.1), where the unsigned one fits;
- with an acl that refuses it: REFUSED, EDE, cookie and TSIG in one verified reply;
- the answer cache never hands a TSIG'd reply to another client (it signs after the cache);
- a signed DO query to a DNSSEC zone: signed reply whose RRSIGs drill validates with the
  zone's DNSKEY.
"""

import base64
import hashlib
import hmac
import re
import struct
import subprocess
import time
import unittest

import signet_test
from signet_test import ServerCase

SECRET = 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI='
OTHER = 'b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhlcm90aGVyMTI='
WRONG = 'd3Jvbmd3cm9uZ3dyb25nd3Jvbmd3cm9uZ3dyb25nMTI='

GLOBAL = '''{
    tsig-key q.key hmac-sha256 %s
    tsig-key other.key hmac-sha512 %s
}
''' % (SECRET, OTHER)


def tsig_query(name, qtype, key, secret, signed_at, fudge=300):
    """A query signed by hand (RFC 8945 4.3.3, hmac-sha256): (bytes, request MAC)."""
    qid, msg = signet_test.make_query(name, qtype)
    kw, alg = signet_test.encode_name(key), signet_test.encode_name('hmac-sha256')
    when = signed_at.to_bytes(6, 'big')
    variables = kw + struct.pack('!HI', 255, 0) + alg + when + struct.pack('!HHH', fudge, 0, 0)
    mac = hmac.new(base64.b64decode(secret), msg + variables, hashlib.sha256).digest()
    rdata = alg + when + struct.pack('!HH', fudge, len(mac)) + mac + struct.pack('!HHH', qid, 0, 0)
    rr = kw + struct.pack('!HHIH', 250, 255, 0, len(rdata)) + rdata
    return msg[:10] + struct.pack('!H', 1) + msg[12:] + rr, mac


def reply_tsig(reply, key):
    """The TSIG of a reply without OPT whose only record it is, after the question:
    (offset, time signed, fudge, MAC, error, other data)."""
    off = 12
    while reply[off]:
        off += 1 + reply[off]
    off += 5
    kw = signet_test.encode_name(key)
    assert reply[off:off + len(kw)] == kw, reply
    p = off + len(kw) + 10
    p += len(signet_test.encode_name('hmac-sha256'))
    signed_at = int.from_bytes(reply[p:p + 6], 'big')
    fudge, mac_len = struct.unpack('!HH', reply[p + 6:p + 10])
    mac = reply[p + 10:p + 10 + mac_len]
    p += 10 + mac_len
    _, error, other_len = struct.unpack('!HHH', reply[p:p + 6])
    return off, signed_at, fudge, mac, error, reply[p + 6:p + 6 + other_len]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


class TsigQueryBase(ServerCase):

    def kdig_y(self, name, rtype, key, *opts, tcp=False):
        cmd = ['kdig', '@' + self.srv.host, '-p', str(self.srv.port), '+norec', '+timeout=3',
               '+retry=1', '+tcp' if tcp else '+notcp', '-y', key] + list(opts) + [name, rtype]
        return run(cmd)

    def dig_y(self, name, rtype, key, *opts, tcp=False):
        cmd = ['dig', '@' + self.srv.host, '-p', str(self.srv.port), '+norec', '+time=3',
               '+tries=2', '-y', key] + (['+tcp'] if tcp else []) + list(opts) + [name, rtype]
        return run(cmd)

    def assertSignedKdig(self, out, err, rc, key_name='q.key.'):
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn('WARNING', err, out + err)
        self.assertIn('status: NOERROR', out, out)
        m = re.search(r'^;; TSIG PSEUDOSECTION:\n(\S+)\s+0\s+ANY\s+TSIG\s+(\S+) \d+ 300 (\d+) \S+ \d+ NOERROR',
                      out, re.M)
        self.assertTrue(m, 'no signed TSIG in:\n' + out)
        self.assertEqual(m.group(1), key_name)
        self.assertGreater(int(m.group(3)), 0)

    def assertSignedDig(self, out, err, rc):
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("Couldn't verify", out + err)
        self.assertNotIn('WARNING', out + err)
        self.assertIn('status: NOERROR', out, out)
        self.assertRegex(out, r'(?m)^;; TSIG PSEUDOSECTION:\nq\.key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 ')


class TsigQuery(TsigQueryBase):
    COREFILE = GLOBAL + '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    acl {
        block type AAAA net 127.0.0.2
    }
    cache 4M
}
'''

    @classmethod
    def prepare(cls, srv):
        # 440 octets of TXT: 12 + 21 + 12 + 440 = 485 fits 512 unsigned, not with an
        # 84-octet TSIG for q.key
        with open(srv.path('example.test.zone'), 'a') as f:
            f.write('\ntc.example.test. 3600 IN TXT "%s" "%s"\n' % ('a' * 254, 'b' * 184))

    def test_signed_reply(self):
        for tcp in (False, True):
            rc, out, err = self.kdig_y('example.test', 'SOA', 'hmac-sha256:q.key:' + SECRET, tcp=tcp)
            self.assertSignedKdig(out, err, rc)
            self.assertRegex(out, r'(?m)^example\.test\.\s+\d+\s+IN\s+SOA\s+ns1\.example\.test\.')
            rc, out, err = self.dig_y('web.example.test', 'A', 'hmac-sha256:q.key:' + SECRET, tcp=tcp)
            self.assertSignedDig(out, err, rc)
            self.assertRegex(out, r'(?m)^web\.example\.test\.\s+\d+\s+IN\s+A\s+127\.0\.0\.14$')
            # any key of the keyring, whatever its algorithm
            rc, out, err = self.kdig_y('web.example.test', 'A', 'hmac-sha512:other.key:' + OTHER, tcp=tcp)
            self.assertSignedKdig(out, err, rc, 'other.key.')

    def test_bad_secret(self):
        for tcp in (False, True):
            rc, out, err = self.dig_y('web.example.test', 'A', 'hmac-sha256:q.key:' + WRONG, tcp=tcp)
            self.assertIn('status: NOTAUTH', out, out)
            self.assertRegex(out, r'(?m)^q\.key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADSIG 0')
            self.assertNotIn('ANSWER SECTION', out)
            rc, out, err = self.kdig_y('web.example.test', 'A', 'hmac-sha256:q.key:' + WRONG, tcp=tcp)
            self.assertRegex(out, r'(?m)^q\.key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADSIG 0')
            self.assertIn('failed to verify TSIG', err)

    def test_unknown_key(self):
        for tcp in (False, True):
            rc, out, err = self.dig_y('web.example.test', 'A', 'hmac-sha256:nokey.test:' + SECRET, tcp=tcp)
            self.assertIn('status: NOTAUTH', out, out)
            self.assertRegex(out, r'(?m)^nokey\.test\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADKEY 0')
            self.assertNotIn('ANSWER SECTION', out)
            # the right name with another algorithm is another key (RFC 8945 5.2.1)
            rc, out, err = self.kdig_y('web.example.test', 'A', 'hmac-sha384:q.key:' + SECRET, tcp=tcp)
            self.assertRegex(out, r'(?m)^q\.key\.\s+0\s+ANY\s+TSIG\s+hmac-sha384\. \d+ 300 0 \d+ BADKEY 0')

    def test_badtime(self):
        # signed 1000 s ago (beyond the 300 s fudge): NOTAUTH, BADTIME, our time in Other
        # Data, and signed with the key (request MAC first) so the client can trust it
        now = int(time.time())
        query, req_mac = tsig_query('web.example.test', 'A', 'q.key', SECRET, now - 1000)
        reply = self.srv.udp(query, struct.unpack('!H', query[:2])[0])
        self.assertIsNotNone(reply)
        self.assertEqual(reply[3] & 0xf, 9)                          # NOTAUTH
        self.assertEqual(struct.unpack('!HH', reply[6:10]), (0, 0))  # no data
        off, signed_at, fudge, mac, error, other = reply_tsig(reply, 'q.key')
        self.assertEqual(error, 18)
        self.assertEqual(len(other), 6)
        self.assertLessEqual(abs(int.from_bytes(other, 'big') - now), 5)
        self.assertEqual(signed_at, now - 1000)  # RFC 8945 5.2.3: the request's time
        unsigned = reply[:10] + struct.pack('!H', struct.unpack('!H', reply[10:12])[0] - 1) + reply[12:off]
        variables = (signet_test.encode_name('q.key') + struct.pack('!HI', 255, 0) +
                     signet_test.encode_name('hmac-sha256') + signed_at.to_bytes(6, 'big') +
                     struct.pack('!HHH', fudge, error, len(other)) + other)
        want = hmac.new(base64.b64decode(SECRET), struct.pack('!H', len(req_mac)) + req_mac + unsigned + variables,
                        hashlib.sha256).digest()
        self.assertEqual(mac, want)
        # the same query signed now: answered
        query, _ = tsig_query('web.example.test', 'A', 'q.key', SECRET, now)
        reply = self.srv.udp(query, struct.unpack('!H', query[:2])[0])
        self.assertEqual(reply[3] & 0xf, 0)
        self.assertEqual(struct.unpack('!H', reply[6:8])[0], 1)

    def test_truncated_keeps_tsig(self):
        # unsigned, without EDNS: the 485-octet answer fits
        rc, out, err = run(['dig', '@' + self.srv.host, '-p', str(self.srv.port), '+norec', '+noedns',
                            '+ignore', '+time=3', 'tc.example.test', 'TXT'])
        self.assertRegex(out, r'(?m)^;; flags: qr aa; QUERY: 1, ANSWER: 1,', out)
        # signed: TC=1, no answer, and the TSIG still there and valid
        rc, out, err = self.dig_y('tc.example.test', 'TXT', 'hmac-sha256:q.key:' + SECRET, '+noedns', '+ignore')
        self.assertRegex(out, r'(?m)^;; flags: qr aa tc; QUERY: 1, ANSWER: 0,', out)
        self.assertNotIn("Couldn't verify", out + err)
        self.assertRegex(out, r'(?m)^q\.key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 ')
        # over TCP it all comes, signed
        rc, out, err = self.dig_y('tc.example.test', 'TXT', 'hmac-sha256:q.key:' + SECRET, '+noedns', tcp=True)
        self.assertSignedDig(out, err, rc)
        self.assertIn('"' + 'a' * 254 + '"', out)

    def test_with_acl_ede_and_cookie(self):
        # a signed query an acl refuses: REFUSED with its EDE and dig's cookie, all under a
        # TSIG dig verifies (the MAC covers the OPT as it went out)
        rc, out, err = self.dig_y('web.example.test', 'AAAA', 'hmac-sha256:q.key:' + SECRET, '-b', '127.0.0.2')
        self.assertEqual(rc, 0, out + err)
        self.assertIn('status: REFUSED', out, out)
        self.assertRegex(out, r'(?m)^; EDE: 18 \(Prohibited\)')
        self.assertRegex(out, r'(?m)^; COOKIE: [0-9a-f]{48} \(good\)')
        self.assertNotIn("Couldn't verify", out + err)
        self.assertRegex(out, r'(?m)^q\.key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR')

    def test_cache_never_serves_tsig(self):
        # a signed query first (the cache stores the reply), then unsigned: no TSIG; then
        # the other key for the same question: signed with that key, not the first
        for name in ('mail.example.test', 'www.example.test'):
            rc, out, err = self.dig_y(name, 'A', 'hmac-sha256:q.key:' + SECRET)
            self.assertSignedDig(out, err, rc)
            rc, out, err = run(['dig', '@' + self.srv.host, '-p', str(self.srv.port), '+norec',
                                '+time=3', name, 'A'])
            self.assertIn('status: NOERROR', out)
            self.assertNotIn('TSIG', out)
            rc, out, err = self.kdig_y(name, 'A', 'hmac-sha512:other.key:' + OTHER)
            self.assertSignedKdig(out, err, rc, 'other.key.')
            rc, out, err = self.kdig_y(name, 'A', 'hmac-sha256:q.key:' + SECRET)
            self.assertSignedKdig(out, err, rc)


class TsigQuerySigned(TsigQueryBase):
    """A DNSSEC zone: a signed DO query gets RRSIGs that validate, under a valid TSIG."""
    COREFILE = GLOBAL + '''
example.test:$port {
    bind 127.0.0.1
    cache 4M
    dnssec {
        keystore $dir/keystore.db
        policy p
    }
    file $dir/example.test.zone
}
'''

    @classmethod
    def prepare(cls, srv):
        signet_test.ctl(srv.path('keystore.db'), 'policy', 'add', 'p', '--csk')

    def test_do_query_validates(self):
        rc, out, err = self.kdig_y('example.test', 'DNSKEY', 'hmac-sha256:q.key:' + SECRET, '+dnssec',
                                   '+nocrypto', tcp=True)
        self.assertSignedKdig(out, err, rc)
        rc, out, err = run(['dig', '@' + self.srv.host, '-p', str(self.srv.port), '+norec', '+short',
                            'example.test', 'DNSKEY'])
        keys = [l for l in out.splitlines() if l.strip()]
        self.assertTrue(keys, out + err)
        keyfile = self.srv.path('dnskey.txt')
        with open(keyfile, 'w') as f:
            for k in keys:
                f.write('example.test. 3600 IN DNSKEY %s\n' % k)
        for tcp in (False, True):
            rc, out, err = self.dig_y('web.example.test', 'A', 'hmac-sha256:q.key:' + SECRET, '+dnssec', tcp=tcp)
            self.assertSignedDig(out, err, rc)
            self.assertRegex(out, r'(?m)^web\.example\.test\.\s+\d+\s+IN\s+RRSIG\s+A ')
            # drill checks the TSIG and validates the answer with the zone's key
            cmd = ['drill', '-D', '-k', keyfile, '-y', 'q.key:%s:hmac-sha256' % SECRET,
                   '-p', str(self.srv.port)] + (['-t'] if tcp else []) + \
                  ['web.example.test', 'A', '@' + self.srv.host]
            rc, out, err = run(cmd)
            self.assertEqual(rc, 0, out + err)
            self.assertIn('127.0.0.14', out)
            self.assertIn('VALIDATED by id', out, out + err)
            # and a denial: NXDOMAIN with its proofs
            rc, out, err = self.dig_y('nothere.example.test', 'A', 'hmac-sha256:q.key:' + SECRET, '+dnssec', tcp=tcp)
            self.assertIn('status: NXDOMAIN', out)
            self.assertNotIn("Couldn't verify", out + err)
            self.assertRegex(out, r'(?m)^q\.key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR')


if __name__ == '__main__':
    unittest.main()
