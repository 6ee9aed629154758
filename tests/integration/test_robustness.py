#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.robustness: hostile input over UDP and TCP. Random bytes, mutated queries, short
headers, compression-pointer loops, qdcount 0 and 2, oversized labels and names, truncated
questions, bad OPT records, responses (QR=1). Malformed queries whose header can be read get
FORMERR with their ID; responses and anything shorter than a header get nothing; every reply
the server sends is a well-formed DNS message; after each group (and every 100 random
packets) a valid query is answered correctly, and signetd is alive at the end."""

import random
import select
import socket
import struct
import time

import signet_test
from signet_test import (ServerCase, encode_name, make_query, opt_rr, parse_message,
                         tcp_frame, tcp_read_message)

SEED = 20261125


def header(qid, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack('!HHHHHH', qid, flags, qd, an, ns, ar)


QUESTION = encode_name('web.example.test') + struct.pack('!HH', 1, 1)


class Robustness(ServerCase):
    COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    log
    errors
}
'''

    # -- checks -------------------------------------------------------------------------

    def assertServing(self, context=''):
        self.assertTrue(self.srv.alive(), 'signetd died %s; log tail:\n%s'
                        % (context, self.srv.log()[-3000:]))
        qid, q = make_query('www.example.test', 'A')
        data = self.srv.udp(q, qid)
        self.assertIsNotNone(data, 'no UDP answer %s' % context)
        r = parse_message(data)
        self.assertEqual(r.rcode, 'NOERROR', '%s\n%r' % (context, r))
        self.assertIn(('web.example.test.', 'A', '127.0.0.14'), [rr.key() for rr in r.answer],
                      '%s\n%r' % (context, r))
        data = self.srv.tcp(q)
        self.assertIsNotNone(data, 'no TCP answer %s' % context)
        self.assertEqual(parse_message(data).id, qid)

    def assertFormerr(self, packet, qid, what):
        """FORMERR with the query's ID over UDP and over TCP."""
        data = self.srv.udp(packet, qid)
        self.assertIsNotNone(data, 'UDP: no reply to %s' % what)
        self.checkFormerr(data, qid, 'UDP: ' + what)
        data = self.srv.tcp(packet)
        self.assertIsNotNone(data, 'TCP: no reply to %s (connection closed)' % what)
        self.checkFormerr(data, qid, 'TCP: ' + what)

    def checkFormerr(self, data, qid, what):
        try:
            r = parse_message(data)
        except ValueError as e:
            self.fail('malformed reply to %s: %s %r' % (what, e, data))
        self.assertEqual(r.id, qid, 'ID of the reply to %s' % what)
        self.assertIn('qr', r.flags, what)
        self.assertEqual(r.rcode, 'FORMERR', '%s\n%r' % (what, r))
        self.assertEqual(r.answer, [], what)

    def assertNoUdpReply(self, packet, what, wait=0.5):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(packet, (self.srv.host, self.srv.port))
            ready, _, _ = select.select([s], [], [], wait)
            if ready:
                data = s.recv(65535)
                self.fail('a reply to %s: %r' % (what, data[:64]))

    def drain_and_check(self, s, what):
        """Read every reply waiting on a UDP socket; each must be a well-formed response."""
        n = 0
        while True:
            ready, _, _ = select.select([s], [], [], 0.2)
            if not ready:
                return n
            data = s.recv(65535)
            n += 1
            try:
                r = parse_message(data)
            except ValueError as e:
                self.fail('malformed reply (%s) to %s: %r' % (e, what, data[:80]))
            self.assertIn('qr', r.flags, what)

    # -- random input -------------------------------------------------------------------

    def test_random_bytes_udp(self):
        rng = random.Random(SEED)
        sent = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            for batch in range(30):
                for _ in range(100):
                    r = rng.random()
                    if r < 0.6:
                        n = rng.randrange(0, 600)
                    elif r < 0.95:
                        n = rng.randrange(600, 4096)
                    else:
                        n = rng.randrange(4096, 65000)
                    s.sendto(rng.randbytes(n), (self.srv.host, self.srv.port))
                    sent += 1
                self.drain_and_check(s, 'random bytes (batch %d)' % batch)
                self.assertServing('after %d random datagrams' % sent)

    def test_mutated_queries_udp(self):
        # valid queries with a few bytes changed: they reach deeper into the parser
        rng = random.Random(SEED + 1)
        names = ['web.example.test', 'www.example.test', 'foo.wild.example.test',
                 'sub.example.test', 'big.example.test', 'nothere.example.test']
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            for batch in range(20):
                for _ in range(100):
                    _, q = make_query(rng.choice(names), rng.choice(['A', 'TXT', 'ANY', 'DS']),
                                      edns=rng.random() < 0.7, do=rng.random() < 0.5)
                    q = bytearray(q)
                    for _ in range(rng.randrange(1, 4)):
                        q[rng.randrange(len(q))] = rng.randrange(256)
                    if rng.random() < 0.2:
                        q = q[:rng.randrange(len(q))]
                    elif rng.random() < 0.2:
                        q += rng.randbytes(rng.randrange(1, 30))
                    s.sendto(bytes(q), (self.srv.host, self.srv.port))
                self.drain_and_check(s, 'mutated queries (batch %d)' % batch)
                self.assertServing('after mutated batch %d' % batch)

    def test_random_bytes_tcp(self):
        rng = random.Random(SEED + 2)
        for i in range(200):
            try:
                with self.srv.tcp_connect() as s:
                    kind = rng.random()
                    if kind < 0.4:
                        # framed garbage, then a valid query: answered unless the server
                        # gave up on the connection
                        s.sendall(tcp_frame(rng.randbytes(rng.randrange(0, 600))))
                        qid, q = make_query('web.example.test', 'A', qid=i)
                        s.sendall(tcp_frame(q))
                        while True:
                            data = tcp_read_message(s)
                            if data is None:
                                break
                            r = parse_message(data)
                            self.assertIn('qr', r.flags)
                            if r.id == qid and r.question and r.rcode == 'NOERROR':
                                break
                    elif kind < 0.7:
                        # unframed garbage
                        s.sendall(rng.randbytes(rng.randrange(1, 3000)))
                    else:
                        # a length prefix promising more than is sent, then hang up
                        s.sendall(struct.pack('!H', rng.randrange(1, 65536)) +
                                  rng.randbytes(rng.randrange(0, 100)))
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                pass
            if i % 50 == 49:
                self.assertServing('after %d random TCP connections' % (i + 1))
        self.assertServing('after random TCP input')

    # -- crafted input ------------------------------------------------------------------

    def test_short_headers(self):
        rng = random.Random(SEED + 3)
        for n in range(12):
            for content in (bytes(n), rng.randbytes(n), header(0x1234)[:n]):
                self.assertNoUdpReply(content, '%d-byte datagram' % n, wait=0.2)
        for n in range(12):
            try:
                with self.srv.tcp_connect() as s:
                    s.sendall(tcp_frame(header(0x1234)[:n]))
                    s.settimeout(1)
                    try:
                        data = s.recv(4096)
                    except socket.timeout:
                        data = b''
                    self.assertEqual(data, b'', 'reply to a %d-byte TCP message' % n)
            except ConnectionResetError:
                pass
        self.assertServing('after short headers')

    def test_compression_pointer_loops(self):
        # a question name pointing at itself
        p = header(0x0101) + b'\xc0\x0c' + struct.pack('!HH', 1, 1)
        self.assertFormerr(p, 0x0101, 'a qname that is a pointer to itself')
        # a label, then a pointer back to it: a.a.a.a...
        p = header(0x0102) + b'\x01a\xc0\x0c' + struct.pack('!HH', 1, 1)
        self.assertFormerr(p, 0x0102, 'a qname looping through a label')
        # two pointers pointing at each other
        p = header(0x0103) + b'\xc0\x0e\xc0\x0c' + struct.pack('!HH', 1, 1)
        self.assertFormerr(p, 0x0103, 'two pointers pointing at each other')
        # a pointer past the end
        p = header(0x0104) + b'\xc3\xff' + struct.pack('!HH', 1, 1)
        self.assertFormerr(p, 0x0104, 'a pointer past the end')
        self.assertServing('after pointer loops')

    def test_compression_pointer_loop_in_a_record(self):
        # a valid question, then an additional record whose owner is a pointer to itself:
        # the message cannot be parsed, whatever the record is for
        p = header(0x0105, ar=1) + QUESTION
        off = len(p)
        p += struct.pack('!H', 0xc000 | off) + struct.pack('!HHIH', 1, 1, 0, 4) + bytes(4)
        self.assertFormerr(p, 0x0105, 'an additional record whose owner loops')
        # the same with the loop in an OPT's owner
        p = header(0x0106, ar=1) + QUESTION
        off = len(p)
        p += struct.pack('!H', 0xc000 | off) + opt_rr()[1:]
        self.assertFormerr(p, 0x0106, 'an OPT whose owner loops')
        self.assertServing('after pointer loops in records')

    def test_qdcount_0(self):
        self.assertFormerr(header(0x0201, qd=0), 0x0201, 'qdcount 0')
        self.assertFormerr(header(0x0202, qd=0, ar=1) + opt_rr(), 0x0202, 'qdcount 0 with OPT')
        self.assertServing('after qdcount 0')

    def test_qdcount_2(self):
        p = header(0x0301, qd=2) + QUESTION + QUESTION
        self.assertFormerr(p, 0x0301, 'qdcount 2 (two questions)')
        p = header(0x0302, qd=2) + QUESTION
        self.assertFormerr(p, 0x0302, 'qdcount 2 with one question present')
        p = header(0x0303, qd=0xffff) + QUESTION
        self.assertFormerr(p, 0x0303, 'qdcount 65535')
        self.assertServing('after qdcount 2')

    def test_oversized_labels_and_names(self):
        qt = struct.pack('!HH', 1, 1)
        p = header(0x0401) + b'\x40' + b'a' * 64 + b'\x07example\x04test\x00' + qt
        self.assertFormerr(p, 0x0401, 'a 64-byte label')
        p = header(0x0402) + b'\x80' + b'a' * 0x80 + b'\x00' + qt
        self.assertFormerr(p, 0x0402, 'label type 10')
        p = header(0x0403) + b'\x41\x00' + qt
        self.assertFormerr(p, 0x0403, 'extended label type 01')
        # 4 x 63-byte labels + root = 257 bytes: over the 255 limit
        long_name = (b'\x3f' + b'a' * 63) * 4 + b'\x00'
        p = header(0x0404) + long_name + qt
        self.assertFormerr(p, 0x0404, 'a 257-byte name')
        # 255 bytes exactly is a legal name (in no zone here: REFUSED)
        name255 = (b'\x3f' + b'a' * 63) * 3 + b'\x3d' + b'b' * 61 + b'\x00'
        self.assertEqual(len(name255), 255)
        p = header(0x0405) + name255 + qt
        data = self.srv.udp(p, 0x0405)
        self.assertIsNotNone(data, 'no reply to a 255-byte name')
        self.assertEqual(parse_message(data).rcode, 'REFUSED')
        # 255 bytes ending in example.test: NXDOMAIN from the zone
        tail = b'\x07example\x04test\x00'
        name = (b'\x3f' + b'c' * 63) * 3 + b'\x30' + b'd' * 48 + tail
        self.assertEqual(len(name), 255)
        data = self.srv.udp(header(0x0406) + name + qt, 0x0406)
        r = parse_message(data)
        self.assertEqual(r.rcode, 'NXDOMAIN', repr(r))
        self.assertIn('aa', r.flags)
        self.assertServing('after oversized labels')

    def test_truncated_question(self):
        full = header(0x0500) + QUESTION
        for cut in range(13, len(full)):
            qid = 0x0500 + cut
            p = struct.pack('!H', qid) + full[2:cut]
            self.assertFormerr(p, qid, 'a question cut at byte %d' % cut)
        self.assertServing('after truncated questions')

    def test_counts_beyond_the_data(self):
        for i, (an, ns, ar) in enumerate(((1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 2),
                                          (0xffff, 0xffff, 0xffff))):
            qid = 0x0600 + i
            p = header(qid, an=an, ns=ns, ar=ar) + QUESTION
            if ar == 2:
                p += opt_rr()
            self.assertFormerr(p, qid, 'counts an=%d ns=%d ar=%d with no records' % (an, ns, ar))
        self.assertServing('after bad counts')

    def test_bad_opt(self):
        # an option whose length runs past the OPT's rdata
        opt = struct.pack('!HHH', 10, 40, 0xabcd)   # COOKIE of 40 bytes, 2 present
        p = header(0x0701, ar=1) + QUESTION + opt_rr(options=opt)
        self.assertFormerr(p, 0x0701, 'an option longer than the OPT rdata')
        # an option header cut short
        p = header(0x0702, ar=1) + QUESTION + opt_rr(options=b'\x00\x0a\x00')
        self.assertFormerr(p, 0x0702, 'a 3-byte option')
        # rdlength past the end of the message
        p = header(0x0703, ar=1) + QUESTION + b'\x00' + struct.pack('!HHIH', 41, 1232, 0, 50)
        self.assertFormerr(p, 0x0703, 'OPT rdlength past the end')
        # two OPT records
        p = header(0x0704, ar=2) + QUESTION + opt_rr() + opt_rr()
        self.assertFormerr(p, 0x0704, 'two OPT records')
        # OPT owned by a name other than the root
        p = header(0x0705, ar=1) + QUESTION + encode_name('example.test') + opt_rr()[1:]
        self.assertFormerr(p, 0x0705, 'OPT owned by example.test')
        # a well-formed unknown option is fine
        p = header(0x0706, ar=1) + QUESTION + opt_rr(options=struct.pack('!HH', 65001, 3) + b'xyz')
        data = self.srv.udp(p, 0x0706)
        r = parse_message(data)
        self.assertEqual(r.rcode, 'NOERROR', repr(r))
        self.assertEqual([rr.key() for rr in r.answer], [('web.example.test.', 'A', '127.0.0.14')])
        self.assertServing('after bad OPT records')

    def test_responses_get_no_reply(self):
        qid, q = make_query('web.example.test', 'A')
        # the server's own answer, sent back to it
        answer = self.srv.udp(q, qid)
        self.assertIsNotNone(answer)
        self.assertNoUdpReply(answer, 'its own answer sent back')
        resp = bytearray(q)
        resp[2] |= 0x80
        self.assertNoUdpReply(bytes(resp), 'a query with QR=1')
        # malformed responses get nothing either (no FORMERR to a response)
        self.assertNoUdpReply(header(0x0801, flags=0x8000, qd=0), 'a response with qdcount 0')
        self.assertNoUdpReply(header(0x0802, flags=0x8000) + b'\xc0\x0c', 'a broken response')
        # over TCP: nothing for the response, then the next query is answered
        with self.srv.tcp_connect() as s:
            qid2, q2 = make_query('web.example.test', 'A')
            s.sendall(tcp_frame(answer) + tcp_frame(bytes(resp)) + tcp_frame(q2))
            data = tcp_read_message(s)
            self.assertIsNotNone(data, 'TCP connection closed')
            self.assertEqual(parse_message(data).id, qid2,
                             'the first reply on the connection is for the query')
        self.assertServing('after responses')

    def test_many_abandoned_tcp_connections(self):
        socks = []
        try:
            for _ in range(200):
                socks.append(self.srv.tcp_connect())
            self.assertServing('with 200 idle TCP connections open')
        finally:
            for s in socks:
                s.close()
        time.sleep(0.2)
        self.assertServing('after 200 TCP connections closed')

    def test_zz_alive_at_end(self):
        # runs last (alphabetical order): the process survived everything above
        self.assertServing('at the end')


if __name__ == '__main__':
    signet_test.main()
