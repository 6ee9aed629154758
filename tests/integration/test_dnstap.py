#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.dnstap: the `dnstap` plugin (issue 22) with real Frame Streams readers:
fstrm_capture (fstrm-bin) listens on a Unix socket and writes what it gets to a file,
dnstap-ldns (the reference decoder) prints it.

- `full`: every query kdig sends over UDP, TCP and DNS over TLS shows up as AUTH_QUERY and
  AUTH_RESPONSE with its name, type, the client's address and port, the protocol, the
  identity and version configured; counted in signet_dnstap_sent_total{block};
- a reader on TCP, `responses` alone, without `full`: AUTH_RESPONSE frames without the
  message;
- `sample N` with `queries`: about one query in N is mirrored, and no AUTH_RESPONSE;
- no reader, or a reader that stops reading (SIGSTOP): every query is still answered at
  once, and the frames that cannot go are counted in signet_dnstap_dropped_total; a
  reader started again gets frames again;
- a reload keeps the counters and connects the new instance, quickly even when the
  reader is stopped;
- config errors named with file:line by `signetd -t`.
"""

import os
import re
import signal
import socket
import string
import subprocess
import time
import unittest
import urllib.request

import signet_test
from signet_test import ServerCase, make_query, wait_for

import test_dot

SLOW = signet_test.SLOWDOWN


def scrape(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=10) as r:
        return r.read().decode()


def counter(text, name, block):
    m = re.search(r'^%s\{block="%s"\} (\d+)$' % (re.escape(name), re.escape(block)), text, re.M)
    return int(m.group(1)) if m else 0


class Reader:
    """fstrm_capture on a Unix socket, writing the frames it reads to a file."""

    def __init__(self, sock, out, log, tcp_port=None):
        self.sock, self.out, self.log_path, self.tcp_port = sock, out, log, tcp_port
        self.proc = None

    def start(self):
        for p in (self.sock, self.out):
            if p and os.path.exists(p):
                os.unlink(p)
        self._log = open(self.log_path, 'ab')
        where = ['-a', '127.0.0.1', '-p', str(self.tcp_port)] if self.tcp_port else ['-u', self.sock]
        self.proc = signet_test.spawn(['fstrm_capture', '-t', 'protobuf:dnstap.Dnstap'] + where
                                      + ['-w', self.out], self._log)
        if self.tcp_port:
            return self  # the server's connection says when it listens
        if not wait_for(lambda: os.path.exists(self.sock), 10):
            raise RuntimeError('fstrm_capture did not listen; log:\n%s'
                               % signet_test.read_logs(self.log_path))
        return self

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def read_until(self, pred, timeout):
        """The frames written so far, decoded, once pred(frames) holds (SIGHUP makes it
        flush its file), or when timeout seconds have passed."""
        frames = []

        def ready():
            nonlocal frames
            self.proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)
            frames = decode(self.out)
            return pred(frames)
        wait_for(ready, timeout, 0.1)
        return frames

    def stop(self, decoded=True):
        """Stop it (it closes its file) and return the frames it wrote, decoded by
        dnstap-ldns (decoded false: nothing)."""
        self.resume()
        signet_test.terminate(self.proc, 10, signal.SIGINT)
        self._log.close()
        return decode(self.out) if decoded else None


def decode(path):
    """dnstap-ldns -y on a capture file: a dict per frame (identity, version, type,
    socket_protocol, query_address, query_port, qname, qtype)."""
    if not os.path.exists(path):
        return []
    p = subprocess.run(['dnstap-ldns', '-y', '-r', path], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError('dnstap-ldns failed: %s%s' % (p.stdout, p.stderr))
    frames = []
    for doc in p.stdout.split('\n---'):
        if 'type: MESSAGE' not in doc:
            continue
        f = {}
        for key in ('identity', 'version'):
            m = re.search(r'^%s: "(.*)"$' % key, doc, re.M)
            f[key] = m.group(1) if m else None
        for key in ('type', 'socket_family', 'socket_protocol', 'query_address', 'query_port'):
            m = re.search(r'^  %s: "?([^"\n]*)"?$' % key, doc, re.M)
            f[key] = m.group(1) if m else None
        m = re.search(r'QUESTION SECTION:\n\s*;(\S+)\s+IN\s+(\S+)', doc)
        f['qname'], f['qtype'] = (m.group(1), m.group(2)) if m else (None, None)
        f['has_message'] = 'query_message:' in doc or 'response_message:' in doc
        frames.append(f)
    return frames


def _fields(buf):
    """The fields of a protobuf message: {number: [value, ...]} (varints as ints,
    length-delimited fields as bytes, fixed32/64 as ints)."""
    out, i = {}, 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                return v
    while i < len(buf):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            v = varint()
        elif wt == 2:
            n = varint()
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = int.from_bytes(buf[i:i + 4], 'little'), i + 4
        elif wt == 1:
            v, i = int.from_bytes(buf[i:i + 8], 'little'), i + 8
        else:
            raise ValueError('wire type %d' % wt)
        out.setdefault(num, []).append(v)
    return out


def decode_raw(path):
    """A Frame Streams file read by hand, each data frame decoded with the published
    dnstap field numbers (dnstap-ldns 0.2 stops at a DoT frame: its schema predates
    DOT): a dict per frame (identity, type, socket_protocol, query_address)."""
    with open(path, 'rb') as f:
        data = f.read()
    frames, i = [], 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i:i + 4], 'big')
        i += 4
        if n == 0:  # a control frame: its length, then it
            n = int.from_bytes(data[i:i + 4], 'big')
            i += 4 + n
            continue
        d = _fields(data[i:i + n])
        i += n
        m = _fields(d[14][0])
        frames.append({'identity': d.get(1, [b''])[0].decode(), 'type': m[1][0],
                       'socket_protocol': m.get(3, [None])[0],
                       'query_address': m.get(4, [b''])[0]})
    return frames


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class DnstapCase(ServerCase):
    BLOCK = 'example.test.'

    @classmethod
    def prepare(cls, srv):
        cls.reader = None
        cls.nreader = 0

    @classmethod
    def tearDownClass(cls):
        if cls.reader and cls.reader.proc and cls.reader.proc.poll() is None:
            cls.reader.stop(decoded=False)
        super().tearDownClass()

    def new_reader(self, sock='tap.sock'):
        type(self).nreader += 1
        n = self.nreader
        r = Reader(self.srv.path(sock), self.srv.path('tap%d.fstrm' % n),
                   self.srv.path('reader%d.log' % n))
        if sock == 'tap.sock':
            type(self).reader = r
        return r.start()

    def counts(self, block=None):
        text = scrape(self.srv.port2)
        b = block or self.BLOCK
        return (counter(text, 'signet_dnstap_sent_total', b),
                counter(text, 'signet_dnstap_dropped_total', b))

    def wait_connected(self, since, n=1):
        """Until n dnstap instances have logged their connection since log offset since
        (a server started before its reader retries every second)."""
        def connected():
            return len(re.findall(r'dnstap: \S+: connected', self.srv.log()[since:])) >= n
        self.assertTrue(wait_for(connected, 30 * SLOW), 'no connection; log:\n' + self.srv.log()[-3000:])

    def wait_flowing(self):
        """Until the server writes to the reader now listening: it reconnects within
        seconds (the first frames after a reader's restart go to the old connection and
        are dropped), and writes within a second of a query."""
        def flowing():
            sent = self.counts()[0]
            qid, q = make_query('probe.example.test', 'A')
            self.srv.udp(q, qid)
            return wait_for(lambda: self.counts()[0] > sent, 3 * SLOW, 0.1)
        self.assertTrue(wait_for(flowing, 40 * SLOW, 0), 'frames never reached the reader; log:\n'
                        + self.srv.log()[-3000:])

    def wait_written(self, frames):
        """Until sent + dropped has grown by `frames` since the last call (the I/O thread
        has dealt with every frame made so far)."""
        def done():
            s, d = self.counts()
            return s + d >= self.base + frames
        self.assertTrue(wait_for(done, 20 * SLOW), 'frames never written: %r' % (self.counts(),))

    def mark(self):
        self.base = sum(self.counts())


class Full(DnstapCase):
    COREFILE = '''
{
    workers 2
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    prometheus 127.0.0.1:$port2
    dnstap unix://$dir/tap.sock full {
        identity signet-integ
        version "signet under test"
        queue 64
    }
}
tls://dot.test:$port3 {
    bind 127.0.0.1
    tls $dir/server.pem $dir/server.key
    file $dir/dot.test.zone
    dnstap unix://$dir/tap-dot.sock full {
        identity signet-dot
    }
}
'''

    @classmethod
    def prepare(cls, srv):
        super().prepare(srv)
        cls.port3 = signet_test.free_port()
        srv.template = string.Template(cls.COREFILE.replace('$port3', str(cls.port3)))
        test_dot.make_ca(srv.dir)
        test_dot.make_cert(srv.dir, 'dns.example.test')
        with open(srv.path('dot.test.zone'), 'w') as f:
            f.write('$ORIGIN dot.test.\n$TTL 300\n'
                    '@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 192.0.2.53\n'
                    'www A 192.0.2.80\n')

    def test_1_udp_tcp_dot(self):
        since = self.srv.log_size()
        reader = self.new_reader()
        dot_reader = self.new_reader('tap-dot.sock')
        self.wait_connected(since, 2)  # this block's and the DoT block's
        self.wait_flowing()
        self.mark()
        port = free_udp_port()
        r = self.kdig('www.example.test', 'A', '-b', '127.0.0.1#%d' % port)
        self.assertEqual(r.rcode, 'NOERROR')
        r = self.kdig('web.example.test', 'AAAA', tcp=True)
        self.assertEqual(r.rcode, 'NOERROR')
        r = self.kdig('nothere.example.test', 'TXT')
        self.assertEqual(r.rcode, 'NXDOMAIN')
        p, r = self.kdig_tls('www.dot.test', 'A')
        self.assertIsNotNone(r, p.stdout + p.stderr)
        self.assertEqual(r.rcode, 'NOERROR')
        self.wait_written(6)
        self.assertTrue(wait_for(lambda: self.counts('dot.test.')[0] >= 2, 20 * SLOW))
        want = {'www.example.test.', 'web.example.test.', 'nothere.example.test.'}
        frames = reader.read_until(
            lambda fr: len([f for f in fr if f['qname'] in want]) >= 6, 20 * SLOW)
        reader.stop()
        dot_reader.stop(decoded=False)
        dot = decode_raw(dot_reader.out)
        self.assertEqual(sorted(f['type'] for f in dot), [1, 2], dot)  # AUTH_QUERY, AUTH_RESPONSE
        for f in dot:
            self.assertEqual(f['socket_protocol'], 3, dot)  # DOT
            self.assertEqual(f['identity'], 'signet-dot')
            self.assertEqual(f['query_address'], bytes([127, 0, 0, 1]))

        def find(qname, qtype, kind):
            got = [f for f in frames if f['qname'] == qname and f['qtype'] == qtype
                   and f['type'] == kind]
            self.assertEqual(len(got), 1, '%s %s %s in\n%r' % (qname, qtype, kind, frames))
            return got[0]

        for kind in ('AUTH_QUERY', 'AUTH_RESPONSE'):
            f = find('www.example.test.', 'A', kind)
            self.assertEqual((f['socket_family'], f['socket_protocol']), ('INET', 'UDP'))
            self.assertEqual((f['query_address'], f['query_port']), ('127.0.0.1', str(port)))
            self.assertEqual((f['identity'], f['version']), ('signet-integ', 'signet under test'))
            self.assertTrue(f['has_message'])
            f = find('web.example.test.', 'AAAA', kind)
            self.assertEqual((f['socket_protocol'], f['query_address']), ('TCP', '127.0.0.1'))
            find('nothere.example.test.', 'TXT', kind)
        # the response is the reply sent: its rcode is in the message dnstap-ldns printed
        p = subprocess.run(['dnstap-ldns', '-y', '-r', reader.out], capture_output=True,
                           text=True, timeout=60)
        self.assertRegex(p.stdout, r'AUTH_RESPONSE[\s\S]*?rcode: NXDOMAIN[\s\S]*?;nothere\.example\.test\.')

    def kdig_tls(self, name, rtype):
        cmd = ['kdig', '@127.0.0.1', '-p', str(self.port3), '+tls',
               '+tls-ca=' + self.srv.path('ca.pem'), '+tls-hostname=dns.example.test',
               '+norec', '+json', '+timeout=3', '+retry=1', name, rtype]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        ok = p.returncode == 0 and p.stdout.strip()
        return p, (signet_test.parse_kdig_json(p.stdout) if ok else None)

    def flood(self, n, timeout=2.0):
        """n UDP queries one after the other: the slowest reply's time (None: one lost)."""
        worst = 0.0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.connect((self.srv.host, self.srv.port))
            for i in range(n):
                qid, q = make_query('www.example.test', 'A', qid=i & 0xffff)
                t = time.monotonic()
                s.send(q)
                while True:
                    try:
                        data = s.recv(4096)
                    except socket.timeout:
                        return None
                    if data[:2] == q[:2]:
                        break
                worst = max(worst, time.monotonic() - t)
        return worst

    def test_2_no_reader_then_stopped_reader(self):
        # no reader at all: answered at once, every frame dropped
        if self.reader and self.reader.proc.poll() is None:
            self.reader.stop()
        if os.path.exists(self.srv.path('tap.sock')):
            os.unlink(self.srv.path('tap.sock'))
        self.mark()
        sent0 = self.counts()[0]
        worst = self.flood(200)
        self.assertIsNotNone(worst, 'a query went unanswered without a reader')
        self.assertLess(worst, 0.5 * SLOW)
        self.wait_written(400)
        sent, dropped = self.counts()
        self.assertLessEqual(sent - sent0, 2)  # at most a frame on a dying connection
        # a reader that stops reading: the socket buffer and the queues fill, the rest is
        # dropped, and no query waits for it
        reader = self.new_reader()
        self.wait_flowing()
        reader.pause()
        self.mark()
        worst = self.flood(5000)
        self.assertIsNotNone(worst, 'a query went unanswered with a stopped reader')
        self.assertLess(worst, 0.5 * SLOW, 'a query waited for the stopped reader')
        self.assertTrue(wait_for(lambda: self.counts()[1] > dropped + 1000, 20 * SLOW),
                        'drops not counted: %r' % (self.counts(),))
        # the reader comes back: frames flow again
        reader.resume()
        reader.stop()
        reader = self.new_reader()
        self.wait_flowing()
        self.mark()
        r = self.kdig('back.example.test', 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN')
        self.wait_written(2)
        frames = reader.read_until(
            lambda fr: len([f for f in fr if f['qname'] == 'back.example.test.']) >= 2, 20 * SLOW)
        reader.stop()
        kinds = sorted(f['type'] for f in frames if f['qname'] == 'back.example.test.')
        self.assertEqual(kinds, ['AUTH_QUERY', 'AUTH_RESPONSE'], frames)

    def test_3_reload(self):
        # a reload replaces the instance: the counters go on, the new one connects, and
        # a stopped reader does not hold the old one's stop for long
        reader = self.new_reader()
        self.wait_flowing()
        sent, dropped = self.counts()
        reader.pause()
        since = self.srv.log_size()
        t = time.monotonic()
        self.srv.send_signal(signal.SIGHUP)
        self.assertTrue(self.srv.wait_log('reload done', since, 30 * SLOW), self.srv.log()[-3000:])
        self.assertLess(time.monotonic() - t, 10 * SLOW)
        s2, d2 = self.counts()
        self.assertGreaterEqual(s2 + d2, sent + dropped)  # not reset
        reader.resume()
        reader.stop(decoded=False)
        reader = self.new_reader()
        self.wait_flowing()
        r = self.kdig('after-reload.example.test', 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN')
        frames = reader.read_until(
            lambda fr: len([f for f in fr if f['qname'] == 'after-reload.example.test.']) >= 2, 20 * SLOW)
        reader.stop(decoded=False)
        self.assertEqual(len([f for f in frames if f['qname'] == 'after-reload.example.test.']), 2, frames)


class Sampled(DnstapCase):
    """One query in 10 mirrored, queries only."""
    COREFILE = '''
{
    workers 2
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    prometheus 127.0.0.1:$port2
    dnstap unix://$dir/tap.sock full queries {
        sample 10
    }
}
'''

    def test_sampled(self):
        since = self.srv.log_size()
        reader = self.new_reader()
        self.wait_connected(since)
        self.mark()
        sent0 = self.counts()[0]
        n = 400
        for i in range(n):
            qid, q = make_query('s%d.example.test' % i, 'A')
            self.assertIsNotNone(self.srv.udp(q, qid))
        def ours(frames):
            return [f for f in frames if f['qname'] and re.match(r's\d+\.example\.test\.$', f['qname'])]
        # every frame made is written, then the reader has them all
        self.assertTrue(wait_for(lambda: sum(self.counts()) >= self.base + n // 10 - 2, 20 * SLOW))
        # the reader has every frame sent to it (the readiness probe's too, when its frame
        # waited in the queue for the connection)
        sent = self.counts()[0] - sent0
        frames = reader.read_until(lambda fr: len(fr) >= sent, 20 * SLOW)
        mine = ours(frames)
        reader.stop()
        self.assertEqual(self.counts()[1], 0)  # nothing dropped: every frame made is here
        # each worker mirrors its 1st, 11th, 21st... query: n/10 give or take a query each
        self.assertGreaterEqual(len(mine), n // 10 - 2, frames)
        self.assertLessEqual(len(mine), n // 10 + 2, frames)
        self.assertLessEqual(len(frames) - len(mine), 1, frames)
        self.assertEqual({f['type'] for f in mine}, {'AUTH_QUERY'})


class Tcp(DnstapCase):
    """A reader on TCP, messages left out (CoreDNS's default)."""
    COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    prometheus 127.0.0.1:$port2
    dnstap tcp://127.0.0.1:$port3 responses
}
'''

    @classmethod
    def prepare(cls, srv):
        super().prepare(srv)
        cls.port3 = signet_test.free_port()
        srv.template = string.Template(cls.COREFILE.replace('$port3', str(cls.port3)))

    def test_tcp(self):
        since = self.srv.log_size()
        reader = Reader(None, self.srv.path('tcp.fstrm'), self.srv.path('reader-tcp.log'),
                        tcp_port=self.port3).start()
        type(self).reader = reader
        self.wait_connected(since)
        self.mark()
        port = free_udp_port()
        r = self.kdig('www.example.test', 'A', '-b', '127.0.0.1#%d' % port)
        self.assertEqual(r.rcode, 'NOERROR')
        self.wait_written(1)
        frames = reader.read_until(lambda fr: any(f['query_port'] == str(port) for f in fr), 20 * SLOW)
        reader.stop(decoded=False)
        got = [f for f in frames if f['query_port'] == str(port)]
        # one AUTH_RESPONSE, no message in it (so no question to print), the client's address
        self.assertEqual([(f['type'], f['has_message'], f['query_address']) for f in got],
                         [('AUTH_RESPONSE', False, '127.0.0.1')], frames)


class DnstapConfigErrors(unittest.TestCase):
    def check(self, directive, says):
        rc, err = signet_test.config_error(directive)
        self.assertNotEqual(rc, 0, err)
        self.assertIn(says, err)

    def test_errors(self):
        self.check('dnstap', 'Corefile:3: dnstap: expected a socket')
        self.check('dnstap tap.sock', "Corefile:3: dnstap: 'tap.sock': a Unix socket path must be absolute")
        self.check('dnstap tcp://dnstap.example:6000', 'not an IP address')
        self.check('dnstap /tmp/t.sock everything', "Corefile:3: dnstap: unknown option 'everything'")
        self.check('dnstap /tmp/t.sock {\n  sample 0\n    }', 'Corefile:4: dnstap: sample takes N')
        self.check('dnstap /tmp/t.sock {\n  queue 100000\n    }', 'Corefile:4: dnstap: queue takes')
        # and a good one passes -t without a reader (nothing is connected at check time)
        rc, err = signet_test.config_error('dnstap /nonexistent/t.sock full')
        self.assertEqual(rc, 0, err)


if __name__ == '__main__':
    signet_test.main()
