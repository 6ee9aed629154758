#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.edns: EDNS0 (RFC 6891) and truncation. OPT in the reply only when the query had
one; the UDP payload advertised (1232 by default, or udp-max-payload) and honoured as
min(client's, ours) with anything under 512 taken as 512; BADVERS for version 1; the DO bit
accepted and copied (RFC 3225); TC=1 when a reply does not fit, the whole answer over TCP.

other.test's rNNNN names hold TXT RRsets whose reply (with OPT) is about NNNN bytes:
r400 = 425, r1300 = 1310, r1500 = 1653. example.test's `big` TXT is about 720 bytes."""

import signet_test
from signet_test import ServerCase, make_query, parse_message

ZONES = '''
example.test:$port other.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone example.test
    file $dir/other.test.zone other.test
}
'''
FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone')


def txt_count(r, name):
    return len(r.rrs('answer', 'TXT', name))


class EdnsDefault(ServerCase):
    COREFILE = ZONES
    FILES = FILES
    PAYLOAD = 1232

    def raw_udp(self, name, rtype, **kw):
        qid, q = make_query(name, rtype, **kw)
        data = self.srv.udp(q, qid)
        self.assertIsNotNone(data, 'no reply to %s %s %r' % (name, rtype, kw))
        return data, parse_message(data)

    def test_opt_only_when_query_had_one(self):
        r = self.dig('web.example.test', 'A', '+noedns')
        self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])
        self.assertIsNone(r.edns, 'no OPT in the query, none in the reply\n%r' % r)
        r = self.dig('web.example.test', 'A', '+edns=0')
        self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])
        self.assertIsNotNone(r.edns, 'OPT in the query, OPT in the reply\n%r' % r)
        self.assertEqual(r.edns['version'], 0)
        # kdig sends no OPT unless asked
        r = self.kdig('web.example.test', 'A')
        self.assertIsNone(r.edns, repr(r))
        r = self.kdig('web.example.test', 'A', '+edns')
        self.assertIsNotNone(r.edns, repr(r))

    def test_opt_in_negative_and_error_replies(self):
        for name, rtype, rcode in (('nothere.example.test', 'A', 'NXDOMAIN'),
                                   ('web.example.test', 'MX', 'NOERROR'),
                                   ('www.example.org', 'A', 'REFUSED')):
            r = self.dig(name, rtype)
            self.assertRcode(r, rcode)
            self.assertIsNotNone(r.edns, 'OPT in every reply to an EDNS query\n%r' % r)
            r = self.dig(name, rtype, '+noedns')
            self.assertRcode(r, rcode)
            self.assertIsNone(r.edns, repr(r))
        r = self.dig('web.example.test', 'A', '+opcode=15')
        self.assertRcode(r, 'NOTIMP')
        self.assertIsNotNone(r.edns, repr(r))

    def test_payload_advertised(self):
        for bufsize in ('512', '1232', '4096'):
            r = self.dig('web.example.test', 'A', '+bufsize=' + bufsize)
            self.assertEqual(r.edns['udp'], self.PAYLOAD, repr(r))
        r = self.dig('web.example.test', 'A', tcp=True)
        self.assertEqual(r.edns['udp'], self.PAYLOAD, repr(r))

    def test_badvers(self):
        r = self.dig('web.example.test', 'A', '+edns=1')
        self.assertRcode(r, 'BADVERS')
        self.assertFlag(r, 'aa', False)
        self.assertEqual(r.answer, [], repr(r))
        self.assertIsNotNone(r.edns, 'BADVERS travels in the OPT\n%r' % r)
        self.assertEqual(r.edns['version'], 0, 'we speak version 0\n%r' % r)
        r = self.kdig('web.example.test', 'A', '+edns=1', tcp=True)
        self.assertRcode(r, 'BADVERS')
        _, r = self.raw_udp('web.example.test', 'A', edns=True, version=255)
        self.assertRcode(r, 'BADVERS')

    def test_do_bit_accepted_and_copied(self):
        r = self.dig('web.example.test', 'A', '+dnssec')
        self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])
        self.assertIn('do', r.edns['flags'], 'RFC 3225: DO copied into the reply\n%r' % r)
        r = self.dig('web.example.test', 'A')
        self.assertNotIn('do', r.edns['flags'], repr(r))
        r = self.kdig('nothere.example.test', 'A', '+dnssec', tcp=True)
        self.assertRcode(r, 'NXDOMAIN')
        self.assertIn('do', r.edns['flags'], repr(r))

    # -- truncation ---------------------------------------------------------------------

    def test_truncation_without_edns(self):
        r = self.dig('big.example.test', 'TXT', '+noedns', '+ignore')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'tc')
        self.assertLessEqual(r.size, 512, repr(r))
        self.assertEqual(r.question[0][0], 'big.example.test.', repr(r))
        # the same over TCP: the whole RRset
        r = self.dig('big.example.test', 'TXT', '+noedns', tcp=True)
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'tc', False)
        self.assertEqual(txt_count(r, 'big.example.test'), 6, repr(r))
        # a client that falls back to TCP by itself gets it all too
        r = self.dig('big.example.test', 'TXT', '+noedns')
        self.assertFlag(r, 'tc', False)
        self.assertEqual(txt_count(r, 'big.example.test'), 6, repr(r))
        r = self.kdig('big.example.test', 'TXT', tcp=True)
        self.assertEqual(txt_count(r, 'big.example.test'), 6, repr(r))

    def test_truncation_raw_sizes(self):
        data, r = self.raw_udp('big.example.test', 'TXT')
        self.assertLessEqual(len(data), 512)
        self.assertIn('tc', r.flags)
        self.assertIn('aa', r.flags)
        data, r = self.raw_udp('big.example.test', 'TXT', edns=True, payload=1232)
        self.assertNotIn('tc', r.flags, repr(r))
        self.assertGreater(len(data), 512)
        self.assertEqual(txt_count(r, 'big.example.test'), 6)

    def test_small_answer_fits_without_edns(self):
        r = self.dig('r400.other.test', 'TXT', '+noedns', '+ignore')
        self.assertFlag(r, 'tc', False)
        self.assertEqual(txt_count(r, 'r400.other.test'), 1, repr(r))

    def test_client_payload_honoured(self):
        # 720 bytes: over a client's 512, under its 1232
        r = self.dig('big.example.test', 'TXT', '+bufsize=512', '+ignore')
        self.assertFlag(r, 'tc')
        self.assertLessEqual(r.size, 512, repr(r))
        self.assertIsNotNone(r.edns, 'OPT in a truncated reply too\n%r' % r)
        r = self.dig('big.example.test', 'TXT', '+bufsize=1232', '+ignore')
        self.assertFlag(r, 'tc', False)
        self.assertEqual(txt_count(r, 'big.example.test'), 6, repr(r))

    def test_payload_under_512_taken_as_512(self):
        r = self.dig('r400.other.test', 'TXT', '+bufsize=100', '+ignore')
        self.assertFlag(r, 'tc', False)
        self.assertEqual(txt_count(r, 'r400.other.test'), 1, repr(r))
        data, r = self.raw_udp('r400.other.test', 'TXT', edns=True, payload=0)
        self.assertNotIn('tc', r.flags, repr(r))

    def test_server_maximum_caps_client_payload(self):
        # 1310 bytes: over 1232, under 1400
        data, r = self.raw_udp('r1300.other.test', 'TXT', edns=True, payload=4096)
        if self.PAYLOAD >= 1310:
            self.assertNotIn('tc', r.flags, repr(r))
            self.assertEqual(txt_count(r, 'r1300.other.test'), 5, repr(r))
        else:
            self.assertIn('tc', r.flags, repr(r))
            self.assertLessEqual(len(data), self.PAYLOAD)
        # 1653 bytes: over both
        data, r = self.raw_udp('r1500.other.test', 'TXT', edns=True, payload=4096)
        self.assertIn('tc', r.flags, repr(r))
        self.assertLessEqual(len(data), self.PAYLOAD)
        # the client's smaller size wins
        data, r = self.raw_udp('r1300.other.test', 'TXT', edns=True, payload=1300)
        self.assertIn('tc', r.flags, repr(r))
        self.assertLessEqual(len(data), 1300)

    def test_tcp_ignores_udp_payload(self):
        r = self.dig('r1500.other.test', 'TXT', '+bufsize=512', tcp=True)
        self.assertFlag(r, 'tc', False)
        self.assertEqual(txt_count(r, 'r1500.other.test'), 6, repr(r))
        r = self.kdig('r1500.other.test', 'TXT', '+bufsize=512', tcp=True)
        self.assertFlag(r, 'tc', False)
        self.assertEqual(txt_count(r, 'r1500.other.test'), 6, repr(r))


class EdnsConfiguredPayload(EdnsDefault):
    """The same with `udp-max-payload 1400` in the global options block."""

    COREFILE = '''
{
    udp-max-payload 1400
}
''' + ZONES
    PAYLOAD = 1400

    def test_configured_payload_used(self):
        r = self.dig('r1300.other.test', 'TXT', '+bufsize=4096', '+ignore')
        self.assertEqual(r.edns['udp'], 1400, repr(r))
        self.assertFlag(r, 'tc', False)
        self.assertGreater(r.size, 1232, repr(r))
        self.assertEqual(txt_count(r, 'r1300.other.test'), 5, repr(r))


if __name__ == '__main__':
    signet_test.main()
