# SPDX-License-Identifier: MIT
"""integ.cookies: DNS COOKIE (RFC 7873) with interoperable server cookies (RFC 9018),
against Knot DNS's own implementation (issue 14).

- a malformed COOKIE option is FORMERR (RFC 7873 5.2.2; it was answered NOERROR);
- a client cookie gets a server cookie; shown again it comes back unchanged (valid);
- signetd and Knot DNS (mod-cookies) share a secret (`cookie-secret`, as anycast nodes
  do): the cookie Knot makes is valid at signetd, and signetd's is valid at Knot;
- response rate limiting (each test asks its own name: RRL buckets are per name): a burst without cookies is slipped or dropped, a client that
  sent a client cookie is told BADCOOKIE (with a fresh cookie) instead of a TC slip, and a
  client with a valid server cookie is never limited (it is not a spoofed source).
"""

import os
import shutil
import socket
import struct
import tempfile
import unittest

import signet_test
from secondaries import KNOT_SERVER_CONF, start_knotd

SECRET = 'e5e973e5a6b2a43f48e7dc849e37bfcf'
ZONE = 'cookie.test'

COREFILE = """{
    cookie-secret %s
}
cookie.test:${port} {
    bind 127.0.0.1
    file $dir/cookie.test.zone
    rrl {
        responses-per-second 2
        slip 2
    }
}
""" % SECRET

ZONE_TEXT = """$ORIGIN cookie.test.
$TTL 60
@   SOA ns1 hostmaster 1 60 60 600 60
    NS  ns1
ns1 A   127.0.0.1
www A   192.0.2.1
given A 192.0.2.2
knot A  192.0.2.3
"""

COOKIE = 10


def query(name, cookie=None, raw_option=None, qid=None):
    """A query with EDNS and, optionally, a COOKIE option of these bytes."""
    qid = qid if qid is not None else int.from_bytes(os.urandom(2), 'big')
    msg = struct.pack('!HHHHHH', qid, 0, 1, 0, 0, 1)
    msg += signet_test.encode_name(name) + struct.pack('!HH', 1, 1)
    opt = b''
    if raw_option is not None:
        opt = raw_option
    elif cookie is not None:
        opt = struct.pack('!HH', COOKIE, len(cookie)) + cookie
    msg += signet_test.opt_rr(options=opt)
    return qid, msg


def cookie_of(reply):
    """The COOKIE option's bytes in a parsed reply, or None."""
    opts = (reply.edns or {}).get('options') or b''
    i = 0
    while i + 4 <= len(opts):
        code, ln = struct.unpack('!HH', opts[i:i + 4])
        if code == COOKIE:
            return opts[i + 4:i + 4 + ln]
        i += 4 + ln
    return None


class Cookies(signet_test.ServerCase):
    COREFILE = COREFILE
    FILES = ()
    READY_NAME = ZONE

    @classmethod
    def prepare(cls, srv):
        with open(srv.path('cookie.test.zone'), 'w') as f:
            f.write(ZONE_TEXT)

    def ask(self, msg, qid):
        data = self.srv.udp(msg, qid, timeout=1.0, tries=1)
        return signet_test.parse_message(data) if data else None

    def test_malformed_cookie_is_formerr(self):
        for ln in (0, 5, 9, 15, 41):
            opt = struct.pack('!HH', COOKIE, ln) + bytes(range(ln))
            qid, msg = query('www.' + ZONE, raw_option=opt)
            r = self.ask(msg, qid)
            self.assertIsNotNone(r, 'no reply to a %d-byte cookie' % ln)
            self.assertEqual(r.rcode, 'FORMERR', 'cookie of %d bytes\n%r' % (ln, r))

    def test_server_cookie_given_then_taken(self):
        client = os.urandom(8)
        qid, msg = query('given.' + ZONE, cookie=client)
        r = self.ask(msg, qid)
        self.assertEqual(r.rcode, 'NOERROR', r)
        c = cookie_of(r)
        self.assertIsNotNone(c, 'no COOKIE in the reply\n%r' % r)
        self.assertEqual(len(c), 24)
        self.assertEqual(c[:8], client)
        self.assertEqual(c[8:12], b'\x01\x00\x00\x00', 'RFC 9018: version 1, reserved 0')
        # shown again: valid, so sent back as it is (RFC 9018 4.3: under half an hour)
        qid, msg = query('given.' + ZONE, cookie=c)
        r = self.ask(msg, qid)
        self.assertEqual(r.rcode, 'NOERROR', r)
        self.assertEqual(cookie_of(r), c)
        # a forged server cookie is not taken: a fresh one comes back
        forged = c[:16] + bytes(8)
        qid, msg = query('given.' + ZONE, cookie=forged)
        r = self.ask(msg, qid)
        self.assertNotEqual(cookie_of(r)[8:], forged[8:], r)

    def test_cookies_interoperate_with_knot(self):
        if not shutil.which('knotd') and not os.path.exists('/usr/sbin/knotd'):
            self.skipTest('knotd is not installed')
        d = tempfile.mkdtemp(prefix='signet-cookie-knot-')
        knot = log = None
        try:
            port = signet_test.free_port()
            with open(os.path.join(d, 'knot.conf'), 'w') as f:
                f.write(KNOT_SERVER_CONF % {'dir': d, 'port': port})
                f.write('mod-cookies:\n  - id: shared\n    secret: 0x%s\n'
                        'template:\n  - id: default\n    storage: %s\n'
                        '    global-module: mod-cookies/shared\n'
                        'zone:\n  - domain: %s\n    file: %s/%s.zone\n'
                        % (SECRET, d, ZONE, d, ZONE))
            with open(os.path.join(d, ZONE + '.zone'), 'w') as f:
                f.write(ZONE_TEXT)
            knot, log = start_knotd(os.path.join(d, 'knot.conf'), port, ZONE,
                                    os.path.join(d, 'knotd.log'))
            client = os.urandom(8)
            # Knot answers a client cookie alone with BADCOOKIE and its server cookie
            qid, msg = query('knot.' + ZONE, cookie=client)
            data = signet_test.udp_exchange('127.0.0.1', port, msg, qid, timeout=1.0, tries=2)
            kc = cookie_of(signet_test.parse_message(data))
            self.assertIsNotNone(kc, 'Knot gave no cookie')
            # ... which signetd takes: valid and young, so it comes back unchanged
            qid, msg = query('knot.' + ZONE, cookie=kc)
            r = self.ask(msg, qid)
            self.assertEqual(r.rcode, 'NOERROR', r)
            self.assertEqual(cookie_of(r), kc, 'signetd did not take the cookie Knot made')
            # and the other way: signetd's cookie is good at Knot (no BADCOOKIE)
            client2 = os.urandom(8)
            qid, msg = query('knot.' + ZONE, cookie=client2)
            sc = cookie_of(self.ask(msg, qid))
            qid, msg = query('knot.' + ZONE, cookie=sc)
            data = signet_test.udp_exchange('127.0.0.1', port, msg, qid, timeout=1.0, tries=2)
            kr = signet_test.parse_message(data)
            self.assertEqual(kr.rcode, 'NOERROR', 'Knot refused the cookie signetd made\n%r' % kr)
        finally:
            if knot:
                signet_test.terminate(knot, 10)
            if log:
                log.close()
            shutil.rmtree(d, ignore_errors=True)

    def burst(self, cookie, n=40):
        """n queries for the same name from one socket, as fast as they go; the replies
        (parsed) that came back."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        ids = {}
        try:
            for _ in range(n):
                qid, msg = query('www.' + ZONE, cookie=cookie)
                ids[qid] = True
                s.sendto(msg, ('127.0.0.1', self.srv.port))
            got = []
            while True:
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    break
                got.append(signet_test.parse_message(data))
            return got
        finally:
            s.close()

    def test_rate_limit_and_cookies(self):
        # no cookie: over 2/s, replies are slipped (TC) or dropped
        got = self.burst(None)
        full = [r for r in got if r.rcode == 'NOERROR' and 'tc' not in r.flags]
        self.assertLess(len(full), 20, 'no limiting without cookies: %d full replies' % len(full))
        # a client cookie alone: what would be slipped is BADCOOKIE, with a server cookie
        client = os.urandom(8)
        got = self.burst(client)
        bad = [r for r in got if r.rcode == 'BADCOOKIE']
        self.assertTrue(bad, 'no BADCOOKIE among %s' % sorted({r.rcode for r in got}))
        self.assertTrue(all(cookie_of(r) and len(cookie_of(r)) == 24 for r in bad), bad[0])
        self.assertFalse([r for r in got if 'tc' in r.flags], 'slipped instead of BADCOOKIE')
        # with the server cookie: a real client, never limited
        good = cookie_of(bad[0])
        got = self.burst(good)
        self.assertEqual(len(got), 40, 'replies lost with a valid cookie')
        self.assertTrue(all(r.rcode == 'NOERROR' and 'tc' not in r.flags and r.answer for r in got),
                        sorted({r.rcode for r in got}))


if __name__ == '__main__':
    unittest.main(verbosity=2)
