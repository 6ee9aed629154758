#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.tcp: DNS over TCP per RFC 7766 - pipelined queries on one connection, queries
split across segments, half-close, the idle timeout and the connection cap; clients that
dribble bytes to hold slots (tcp-io-timeout)."""

import socket
import struct
import time

import signet_test
from signet_test import (ServerCase, make_query, parse_message, tcp_frame, tcp_read_message,
                         wait_closed)

ZONE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
}
'''

# name, type -> (rcode, what the answer must hold)
PIPELINE = [
    ('web.example.test', 'A', 'NOERROR', ('web.example.test.', 'A', '127.0.0.14')),
    ('big.example.test', 'TXT', 'NOERROR', 6),
    ('nothere.example.test', 'A', 'NXDOMAIN', 0),
    ('www.example.test', 'AAAA', 'NOERROR', ('web.example.test.', 'AAAA', '::14')),
    ('example.test', 'MX', 'NOERROR', ('example.test.', 'MX', '10 mail.example.test.')),
]


class TcpBasics(ServerCase):
    COREFILE = ZONE

    def check(self, r, expect):
        rcode, want = expect
        self.assertEqual(r.rcode, rcode, repr(r))
        if isinstance(want, tuple):
            self.assertIn(want, [rr.key() for rr in r.answer], repr(r))
        else:
            self.assertEqual(len(r.answer), want, repr(r))

    def test_pipelined_queries_one_write(self):
        expected = {}
        blob = b''
        for i, (name, rtype, rcode, want) in enumerate(PIPELINE):
            qid, q = make_query(name, rtype, qid=0x1000 + i)
            expected[qid] = (rcode, want)
            blob += tcp_frame(q)
        with self.srv.tcp_connect() as s:
            s.sendall(blob)   # all five in one segment
            seen = set()
            for _ in PIPELINE:
                data = tcp_read_message(s)
                self.assertIsNotNone(data, 'connection closed after %d of %d answers'
                                     % (len(seen), len(PIPELINE)))
                r = parse_message(data)
                self.assertIn(r.id, expected, 'unexpected ID %#x' % r.id)
                self.assertNotIn(r.id, seen, 'ID %#x answered twice' % r.id)
                seen.add(r.id)
                self.check(r, expected[r.id])
            self.assertEqual(seen, set(expected))
            # the connection is still usable afterwards
            qid, q = make_query('web.example.test', 'A')
            s.sendall(tcp_frame(q))
            r = parse_message(tcp_read_message(s))
            self.assertEqual(r.id, qid)
            self.check(r, PIPELINE[0][2:])

    def test_many_sequential_queries_one_connection(self):
        with self.srv.tcp_connect() as s:
            for i in range(100):
                name, rtype, rcode, want = PIPELINE[i % len(PIPELINE)]
                qid, q = make_query(name, rtype, qid=i)
                s.sendall(tcp_frame(q))
                data = tcp_read_message(s)
                self.assertIsNotNone(data, 'closed after %d queries' % i)
                r = parse_message(data)
                self.assertEqual(r.id, qid)
                self.check(r, (rcode, want))

    def test_query_split_across_segments(self):
        qid, q = make_query('web.example.test', 'A')
        frame = tcp_frame(q)
        with self.srv.tcp_connect() as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # length prefix in two pieces, then the message in three
            for piece in (frame[:1], frame[1:2], frame[2:7], frame[7:20], frame[20:]):
                s.sendall(piece)
                time.sleep(0.05)
            r = parse_message(tcp_read_message(s))
            self.assertEqual(r.id, qid)
            self.check(r, PIPELINE[0][2:])

    def test_two_and_a_half_queries(self):
        # two whole queries and the first half of a third in one write, the rest later
        frames = [tcp_frame(make_query('web.example.test', 'A', qid=i)[1]) for i in (1, 2, 3)]
        half = len(frames[2]) // 2
        with self.srv.tcp_connect() as s:
            s.sendall(frames[0] + frames[1] + frames[2][:half])
            ids = {parse_message(tcp_read_message(s)).id for _ in range(2)}
            self.assertEqual(ids, {1, 2})
            s.sendall(frames[2][half:])
            self.assertEqual(parse_message(tcp_read_message(s)).id, 3)

    def test_half_closed_client_still_answered(self):
        qid, q = make_query('web.example.test', 'A')
        with self.srv.tcp_connect() as s:
            s.sendall(tcp_frame(q))
            s.shutdown(socket.SHUT_WR)
            data = tcp_read_message(s)
            self.assertIsNotNone(data, 'no answer after the client half-closed')
            self.assertEqual(parse_message(data).id, qid)
            self.assertTrue(wait_closed(s, 5), 'the server closes its side afterwards')

    def test_large_answer_over_tcp_with_dig(self):
        r = self.dig('big.example.test', 'TXT', tcp=True)
        self.assertFlag(r, 'tc', False)
        self.assertEqual(len(r.rrs('answer', 'TXT')), 6, repr(r))

    def test_default_idle_timeout_not_immediate(self):
        # the default is 10s: a connection idle for 2s is still served
        with self.srv.tcp_connect() as s:
            time.sleep(2)
            qid, q = make_query('web.example.test', 'A')
            s.sendall(tcp_frame(q))
            data = tcp_read_message(s)
            self.assertIsNotNone(data, 'closed before the default idle timeout')
            self.assertEqual(parse_message(data).id, qid)


class TcpLimits(ServerCase):
    """tcp-idle-timeout 2s and tcp-max-connections 2."""

    COREFILE = '''
{
    tcp-idle-timeout 2s
    tcp-max-connections 2
}
''' + ZONE

    def query_on(self, s, name='web.example.test'):
        qid, q = make_query(name, 'A')
        s.sendall(tcp_frame(q))
        data = tcp_read_message(s)
        if data is None:
            return None
        r = parse_message(data)
        self.assertEqual(r.id, qid)
        return r

    def served_connection(self, timeout=10):
        """A connection that gets an answer, retrying while earlier connections are still
        being released by the server."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.srv.tcp_connect()
            try:
                if self.query_on(s) is not None:
                    return s
            except OSError:
                pass
            s.close()
            if time.monotonic() > deadline:
                self.fail('no TCP connection was served within %ss' % timeout)
            time.sleep(0.2)

    def test_idle_connection_closed(self):
        s = self.served_connection()
        with s:
            t0 = time.monotonic()
            # still open shortly after the last query
            s.settimeout(0.5)
            try:
                self.assertNotEqual(s.recv(1), b'', 'closed 0.5s after a query with a 2s timeout')
            except socket.timeout:
                pass
            self.assertTrue(wait_closed(s, 8), 'idle connection still open after 8s')
            self.assertGreaterEqual(time.monotonic() - t0, 0.9, 'closed too early')

    def test_silent_connection_closed(self):
        # connected but never sent a byte
        s = self.served_connection()
        s.close()
        with self.srv.tcp_connect() as s:
            self.assertTrue(wait_closed(s, 8), 'silent connection still open after 8s')

    def test_active_connection_not_closed(self):
        with self.served_connection() as s:
            end = time.monotonic() + 4.5
            n = 0
            while time.monotonic() < end:
                self.assertIsNotNone(self.query_on(s), 'an active connection was closed '
                                     'after %d queries' % n)
                n += 1
                time.sleep(0.5)

    def test_connection_cap(self):
        a = self.served_connection()
        b = self.served_connection()
        try:
            # a and b are open and served: a third is closed at once, unanswered
            with self.srv.tcp_connect() as c:
                qid, q = make_query('web.example.test', 'A')
                try:
                    c.sendall(tcp_frame(q))
                except OSError:
                    pass
                c.settimeout(2)
                try:
                    data = c.recv(4096)
                except socket.timeout:
                    self.fail('a connection over the cap was neither answered nor closed')
                except ConnectionResetError:
                    data = b''
                self.assertEqual(data, b'', 'a connection over the cap was served')
            # the two below the cap still work
            self.assertIsNotNone(self.query_on(a))
            self.assertIsNotNone(self.query_on(b))
        finally:
            a.close()
        try:
            # one slot is free again once the server sees a's close
            with self.served_connection() as d:
                self.assertIsNotNone(self.query_on(d))
        finally:
            b.close()
        # UDP is not affected by the TCP cap
        r = self.dig('web.example.test', 'A')
        self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])


SLOW = '''
{
    tcp-max-connections 8
    tcp-idle-timeout 30s
    tcp-io-timeout 1s
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
}
'''


class TcpSlowloris(ServerCase):
    """Clients that hold TCP slots by dribbling bytes (issue 15: 64 connections sending a
    byte every 2 s held every slot; each byte restarted the idle timer). A message, once
    begun, and a connection's first query must arrive whole within tcp-io-timeout."""
    COREFILE = SLOW

    def test_dribbling_clients_do_not_hold_the_slots(self):
        slow = []
        try:
            for _ in range(8):
                s = self.srv.tcp_connect()
                s.sendall(b'\x00\x40')    # a 64-byte message announced, never finished
                slow.append(s)
            qid, q = make_query('web.example.test', 'A')
            frame = tcp_frame(q)
            t0 = time.monotonic()
            served = None
            while time.monotonic() - t0 < 10 and served is None:
                for s in slow:             # a byte now and then: never a whole message
                    try:
                        s.sendall(b'\x01')
                    except OSError:
                        pass
                time.sleep(0.4)
                try:
                    with self.srv.tcp_connect() as c:
                        c.settimeout(1)
                        c.sendall(frame)
                        data = tcp_read_message(c)
                        if data:
                            served = time.monotonic() - t0
                except OSError:
                    pass
            # the slots free within tcp-io-timeout (1s) and a sweep (1s); the idle timeout
            # (30s), which every dribbled byte restarts, would never free them
            self.assertIsNotNone(served, 'a real client was refused for 10 s while 8 slots dribbled')
            self.assertLess(served, 6, 'served only after %.1fs' % served)
            # each is closed by the sweep within tcp-io-timeout + a sweep of its last byte:
            # give all of them together that long (0.5 s each missed one under ASan)
            deadline = time.monotonic() + 3
            closed = sum(1 for s in slow if wait_closed(s, max(0.1, deadline - time.monotonic())))
            self.assertEqual(closed, 8, 'dribbling connections still open')
        finally:
            for s in slow:
                s.close()

    def test_message_shorter_than_a_header_closes(self):
        for frame in (b'\x00\x00', b'\x00\x05hello'):
            with self.srv.tcp_connect() as s:
                s.sendall(frame)
                self.assertTrue(wait_closed(s, 3), 'a %r frame kept the connection' % frame)

    def test_prompt_queries_are_served(self):
        with self.srv.tcp_connect() as s:
            for _ in range(5):
                qid, q = make_query('web.example.test', 'A')
                s.sendall(tcp_frame(q))
                self.assertIsNotNone(tcp_read_message(s))
                time.sleep(0.3)


if __name__ == '__main__':
    signet_test.main()
