#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.ipv6: serving over IPv6 (UDP and TCP on ::1), beside IPv4, and the default of
listening on every address of both families. Skipped (exit 77) where the machine has no
IPv6 loopback, as in a container without IPv6."""

import socket
import sys

import signet_test
from signet_test import ServerCase, make_query, parse_message


class Ipv6Loopback(ServerCase):
    COREFILE = '''
example.test:$port {
    bind 127.0.0.1 ::1
    file $dir/example.test.zone
}
'''
    HOSTS = ('::1', '127.0.0.1')

    def test_udp_over_ipv6(self):
        r = self.dig('web.example.test', 'AAAA', host='::1')
        self.assertAnswered(r, 'web.example.test', 'AAAA', ['::14'])
        r = self.kdig('nothere.example.test', 'A', host='::1')
        self.assertNegative(r, 'NXDOMAIN', 'example.test', 300)

    def test_tcp_over_ipv6(self):
        r = self.dig('www.example.test', 'A', host='::1', tcp=True)
        self.assertRcode(r, 'NOERROR')
        self.assertIn(('web.example.test.', 'A', '127.0.0.14'), [rr.key() for rr in r.answer])
        r = self.kdig('big.example.test', 'TXT', host='::1', tcp=True)
        self.assertEqual(len(r.rrs('answer', 'TXT')), 6, repr(r))

    def test_truncation_over_ipv6(self):
        r = self.dig('big.example.test', 'TXT', '+noedns', '+ignore', host='::1')
        self.assertFlag(r, 'tc')
        r = self.dig('big.example.test', 'TXT', '+noedns', host='::1')
        self.assertFlag(r, 'tc', False)
        self.assertEqual(len(r.rrs('answer', 'TXT')), 6, repr(r))

    def test_ipv4_beside_ipv6(self):
        r = self.dig('web.example.test', 'A', host='127.0.0.1')
        self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])
        r = self.dig('web.example.test', 'A', host='127.0.0.1', tcp=True)
        self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])


class DefaultListensEverywhere(ServerCase):
    """No bind line: every address, IPv4 and IPv6; the reply comes from the address the
    query was sent to."""

    COREFILE = '''
example.test:$port {
    file $dir/example.test.zone
}
'''
    HOSTS = ('0.0.0.0', '::')

    def test_both_families(self):
        for host in ('127.0.0.1', '::1'):
            for tcp in (False, True):
                r = self.dig('web.example.test', 'A', host=host, tcp=tcp)
                self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])

    def test_reply_source_is_query_destination(self):
        for family, host in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET, '127.0.0.2'),
                             (socket.AF_INET6, '::1')):
            qid, q = make_query('web.example.test', 'A')
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.settimeout(3)
                s.sendto(q, (host, self.srv.port))
                data, peer = s.recvfrom(65535)
            self.assertEqual(peer[0], host, 'reply from the wrong address')
            self.assertEqual(peer[1], self.srv.port)
            self.assertEqual(parse_message(data).id, qid)


if __name__ == '__main__':
    if not signet_test.ipv6_loopback_available():
        print('no IPv6 loopback (::1) on this machine: integ.ipv6 skipped')
        sys.exit(77)
    signet_test.main()
