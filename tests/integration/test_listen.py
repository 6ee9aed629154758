#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.listen: listening addresses and ports. A wildcard IPv4 bind answers from the
address it was asked on; zones are routed per listening port."""

import socket

import signet_test
from signet_test import ServerCase, make_query, parse_message


class WildcardIpv4(ServerCase):
    COREFILE = '''
example.test:$port {
    bind 0.0.0.0
    file $dir/example.test.zone
}
'''
    HOSTS = ('0.0.0.0',)

    def test_any_loopback_address(self):
        for host in ('127.0.0.1', '127.0.0.2', '127.1.2.3'):
            for tcp in (False, True):
                r = self.dig('web.example.test', 'A', host=host, tcp=tcp)
                self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])

    def test_reply_source_is_query_destination(self):
        for host in ('127.0.0.1', '127.0.0.2', '127.1.2.3'):
            qid, q = make_query('web.example.test', 'A')
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(3)
                s.sendto(q, (host, self.srv.port))
                data, peer = s.recvfrom(65535)
            self.assertEqual(peer, (host, self.srv.port), 'reply from the wrong address')
            self.assertEqual(parse_message(data).id, qid)


class ZonesPerPort(ServerCase):
    """example.test on one port, other.test on another: each port serves only its zones."""

    COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
}
other.test:$port2 {
    bind 127.0.0.1
    file $dir/other.test.zone
}
'''
    FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone')

    def test_each_port_its_zone(self):
        r = self.dig('web.example.test', 'A')
        self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])
        r = self.dig('www.other.test', 'A', port=self.srv.port2)
        self.assertAnswered(r, 'www.other.test', 'A', ['127.0.0.51'])
        r = self.dig('www.other.test', 'A', tcp=True, port=self.srv.port2)
        self.assertAnswered(r, 'www.other.test', 'A', ['127.0.0.51'])

    def test_other_port_refuses(self):
        r = self.dig('www.other.test', 'A')
        self.assertRcode(r, 'REFUSED')
        r = self.dig('web.example.test', 'A', port=self.srv.port2)
        self.assertRcode(r, 'REFUSED')
        r = self.dig('web.example.test', 'A', port=self.srv.port2, tcp=True)
        self.assertRcode(r, 'REFUSED')


if __name__ == '__main__':
    signet_test.main()
