# SPDX-License-Identifier: MIT
"""A scripted primary server on loopback for Signet's secondary tests: it serves one zone
by SOA (UDP, always truncated so that the SOA is asked again over TCP), AXFR (one record
per message) and IXFR (whatever difference the test sets, right or wrong), without TSIG.

    p = FakePrimary('fake.test', records).start()
    p.set_version(2, records2, ixfr=[...])   # the IXFR answer: a list of records
    p.queries                                # ['SOA/udp', 'SOA/tcp', 'AXFR', 'IXFR', ...]
    p.stop()

Records are (owner, type, ttl, rdata wire bytes); helpers build SOA, NS and A RDATA.
Python 3 standard library only.
"""

import socket
import struct
import threading
import time

import signet_test
from signet_test import encode_name

TYPES = {'A': 1, 'NS': 2, 'SOA': 6, 'TXT': 16, 'IXFR': 251, 'AXFR': 252}


def soa(serial, refresh=3600, retry=600, expire=86400, minimum=30, mname='ns1', zone='fake.test'):
    return ('SOA', encode_name('%s.%s' % (mname, zone)) + encode_name('hostmaster.' + zone) +
            struct.pack('!IIIII', serial, refresh, retry, expire, minimum))


def a(addr):
    return ('A', socket.inet_aton(addr))


def ns(name):
    return ('NS', encode_name(name))


def txt(text):
    b = text.encode()
    return ('TXT', bytes([len(b)]) + b)


def rr_wire(owner, rtype, ttl, rdata):
    return encode_name(owner) + struct.pack('!HHIH', TYPES[rtype], 1, ttl, len(rdata)) + rdata


class FakePrimary:
    def __init__(self, zone, serial, records):
        """records: [(owner, (type, rdata)), ...] without the SOA."""
        self.zone = zone
        self.lock = threading.Lock()
        self.queries = []
        self.set_version(serial, records)
        self.refresh, self.retry, self.expire = 3600, 600, 86400  # the SOA timers it serves
        self.axfr_delay = 0.0  # seconds an AXFR takes before its first message
        self.udp, self.tcp = signet_test.bind_pair()
        self.port = self.udp.getsockname()[1]
        self.running = True

    def set_version(self, serial, records, ixfr=None):
        """ixfr: the answer records of an IXFR, [(owner, (type, rdata))...]; None: answer
        IXFR with the whole zone."""
        with self.lock:
            self.serial = serial
            self.records = list(records)
            self.ixfr = ixfr

    def soa_rr(self, serial=None):
        return rr_wire(self.zone, 'SOA', 60, soa(self.serial if serial is None else serial, refresh=self.refresh,
                                                 retry=self.retry, expire=self.expire,
                                                 zone=self.zone)[1])

    def start(self):
        for target in (self._udp_loop, self._tcp_loop):
            threading.Thread(target=target, daemon=True).start()
        return self

    def stop(self):
        self.running = False
        self.udp.close()
        self.tcp.close()

    @staticmethod
    def _question(msg):
        off = 12
        while msg[off]:
            off += msg[off] + 1
        qtype = struct.unpack('!H', msg[off + 1:off + 3])[0]
        return msg[12:off + 5], qtype

    def _reply(self, query, question, answers, tc=False):
        qid = struct.unpack('!H', query[:2])[0]
        flags = 0x8400 | (0x0200 if tc else 0)  # QR AA
        return struct.pack('!HHHHHH', qid, flags, 1, len(answers), 0, 0) + question + b''.join(answers)

    def _udp_loop(self):
        while self.running:
            try:
                msg, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            question, qtype = self._question(msg)
            with self.lock:
                self.queries.append('%s/udp' % {6: 'SOA'}.get(qtype, qtype))
            # truncated: the client must ask again over TCP
            self.udp.sendto(self._reply(msg, question, [], tc=True), peer)

    def _tcp_loop(self):
        while self.running:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    self._serve(conn)
                except OSError:
                    pass

    def _serve(self, conn):
        hdr = conn.recv(2)
        if len(hdr) < 2:
            return
        ln = struct.unpack('!H', hdr)[0]
        msg = b''
        while len(msg) < ln:
            chunk = conn.recv(ln - len(msg))
            if not chunk:
                return
            msg += chunk
        question, qtype = self._question(msg)
        with self.lock:
            name = {6: 'SOA/tcp', 251: 'IXFR', 252: 'AXFR'}.get(qtype, str(qtype))
            self.queries.append(name)
            soa_rr = self.soa_rr()
            body = [rr_wire(o, t, 60, rd) for o, (t, rd) in self.records]
            ixfr = self.ixfr
        if qtype == 6:
            msgs = [[soa_rr]]
        elif qtype == 251 and ixfr is not None:
            msgs = [[rr_wire(o, t, 60, rd) for o, (t, rd) in ixfr]]
        else:
            # one record per message: the client must put the stream together
            msgs = [[soa_rr]] + [[b] for b in body] + [[soa_rr]]
            if qtype == 252 and self.axfr_delay:
                time.sleep(self.axfr_delay)
        for answers in msgs:
            reply = self._reply(msg, question, answers)
            conn.sendall(struct.pack('!H', len(reply)) + reply)
