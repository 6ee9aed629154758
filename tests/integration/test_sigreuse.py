#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.sigreuse (issue 23): a reload keeps the signatures of what did not change. A
signed zone of 1,000 names (NSEC, one CSK) is queried whole with DO (every name, and an
NXDOMAIN beside each so that every NSEC is served); a reload that changes one address
makes exactly two signatures (that A RRset and the SOA, whose serial moved) when the
whole zone is asked again, a name added makes four (its A, its NSEC, its predecessor's
NSEC, the SOA), a changed TTL two again with the new original TTL; a new signing key
signs every RRset anew (no reuse across keys). Every answer of the reloaded zone
validates through unbound. Background presigning is off there (presign-max 0) so that
only queries sign.

Presign: with presigning on (the default), the zone is signed in the background after
the start (signet_dnssec_presign_passes_total, signet_dnssec_presign_signatures_total);
then every answer with DO is a cache hit (no query signs), after a one-record reload the
presigner alone makes the two new signatures, and a new signing key has the presigner
sign the zone with it."""

import os
import re
import signal
import struct
import tempfile
import time
import unittest
import urllib.request

from signet_test import Signetd, ctl, make_query, parse_message, remove_workdir, udp_exchange
from test_metrics import parse_exposition
from unbound_resolver import Unbound

NAMES = 1000
SERIAL = 2026010101
WAIT = 60.0

COREFILE = '''
big.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
        policy p
        presign-max 0
    }
    file $dir/big.test.zone
    prometheus 127.0.0.1:$port2
    errors
}
'''


def zone_text(serial, change=None, ttl_of=None, extra=''):
    lines = ['$ORIGIN big.test.', '$TTL 3600',
             '@ SOA ns1 hostmaster %d 7200 3600 1209600 300' % serial,
             '@ NS ns1', 'ns1 A 192.0.2.53']
    for i in range(NAMES):
        addr = '198.51.100.7' if i == change else '192.0.2.%d' % (i % 250 + 1)
        lines.append('h%d %s A %s' % (i, '60' if i == ttl_of else '', addr))
    return '\n'.join(lines) + '\n' + extra


class SigReuse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-sigreuse-')
        cls.srv = cls.ub = None
        try:
            cls.db = os.path.join(cls.dir, 'keystore.db')
            ctl(cls.db, 'policy', 'add', 'p', '--denial', 'nsec', '--algorithm',
                'ecdsap256sha256', '--csk')
            cls.zone = os.path.join(cls.dir, 'big.test.zone')
            with open(cls.zone, 'w') as f:
                f.write(zone_text(SERIAL))
            cls.srv = Signetd(COREFILE, workdir=cls.dir, ready_name='big.test')
            cls.srv.start()
            ds = [l for l in ctl(cls.db, 'ds', 'big.test').splitlines() if l.strip()]
            cls.ub = Unbound(cls.dir, [('big.test', cls.srv.port)], ds)
            cls.ub.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.ub:
            cls.ub.stop()
        if cls.srv:
            cls.srv.cleanup()
        remove_workdir(cls.dir)

    def made(self):
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        with urllib.request.urlopen(url, timeout=10) as r:
            samples, _ = parse_exposition(r.read().decode())
        for (name, _labels), v in samples.items():
            if name == 'signet_dnssec_signatures_total':
                return int(v)
        self.fail('no signet_dnssec_signatures_total')

    def ask(self, name, rtype='A', port=None, rd=False):
        qid, q = make_query(name, rtype, edns=True, do=True, rd=rd)
        return parse_message(udp_exchange('127.0.0.1', port or self.srv.port, q, qid, timeout=5))

    def ask_all(self, extra=()):
        """Every name with DO, and an NXDOMAIN beside each (every NSEC of the chain)."""
        for i in range(NAMES):
            r = self.ask('h%d.big.test' % i)
            self.assertEqual(r.rcode, 'NOERROR', r)
            self.assertTrue(r.rrs('answer', 'RRSIG'), r)
            r = self.ask('h%d-.big.test' % i)   # right after h<i>: its NSEC
            self.assertEqual(r.rcode, 'NXDOMAIN', r)
            self.assertTrue(r.rrs('authority', 'NSEC'), r)
        for n in extra:
            self.assertEqual(self.ask(n).rcode, 'NOERROR')
            first, rest = n.split('.', 1)
            self.assertEqual(self.ask('%s-.%s' % (first, rest)).rcode, 'NXDOMAIN')
        self.assertEqual(self.ask('big.test', 'SOA').rcode, 'NOERROR')

    def reload(self, text, serial):
        with open(self.zone, 'w') as f:
            f.write(text)
        self.srv.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            r = self.ask('big.test', 'SOA')
            if r.answer and int(r.rrs('answer', 'SOA')[0].rdata.split()[2]) == serial:
                return
            time.sleep(0.02)
        self.fail('serial %d not served\n%s' % (serial, self.srv.log()[-3000:]))

    def validate(self, names):
        for n in names:
            r = self.ask(n, port=self.ub.port, rd=True)
            why = '%s via unbound\n%r\n%s' % (n, r, self.ub.log()[-2000:])
            self.assertIn(r.rcode, ('NOERROR', 'NXDOMAIN'), why)
            self.assertIn('ad', r.flags, why)

    def test_reload_reuses(self):
        self.ask_all()
        m0 = self.made()
        self.assertGreaterEqual(m0, 2 * NAMES, 'the whole zone signed once')
        self.ask_all()
        self.assertEqual(self.made(), m0, 'steady state: every signature from the cache')

        # one address changed: that A RRset and the SOA
        self.reload(zone_text(SERIAL + 1, change=500), SERIAL + 1)
        self.ask_all()
        m1 = self.made()
        self.assertEqual(m1 - m0, 2, 'one record changed (plus the SOA)')
        r = self.ask('h500.big.test')
        self.assertEqual(r.rrs('answer', 'A')[0].rdata, '198.51.100.7', r)

        # a name added: its A, its NSEC and its predecessor's NSEC, and the SOA
        self.reload(zone_text(SERIAL + 2, change=500, extra='h500a A 192.0.2.99\n'), SERIAL + 2)
        self.ask_all(extra=['h500a.big.test'])
        m2 = self.made()
        self.assertEqual(m2 - m1, 4, 'a name added')

        # a TTL changed: signed anew with the new original TTL, never the cached one
        self.reload(zone_text(SERIAL + 3, change=500, ttl_of=7,
                              extra='h500a A 192.0.2.99\n'), SERIAL + 3)
        self.ask_all(extra=['h500a.big.test'])
        m3 = self.made()
        self.assertEqual(m3 - m2, 2, 'a TTL changed (plus the SOA)')
        r = self.ask('h7.big.test')
        sig = bytes.fromhex(r.rrs('answer', 'RRSIG')[0].rdata.split()[2])  # \# LEN HEX
        self.assertEqual(struct.unpack('!I', sig[4:8])[0], 60,
                         'original TTL of the new signature\n%r' % r)

        # what the reloaded versions serve validates: every name, the changed ones, denial
        self.validate(['h%d.big.test' % i for i in range(NAMES)] +
                      ['h500a.big.test', 'h500.big.test', 'h7.big.test',
                       'h500-.big.test', 'nothere.big.test'])
        print('signatures: %d for the whole zone, then %d, %d, %d after the reloads'
              % (m0, m1 - m0, m2 - m1, m3 - m2))

        # a new signing key: every RRset asked for gets its signature (no reuse across keys)
        k = ctl(self.db, 'key', 'generate', 'big.test', '--role', 'zsk', as_json=True)
        ctl(self.db, 'key', 'set', str(k['id']), '--publish', 'now')
        ctl(self.db, 'key', 'set', str(k['id']), '--activate', 'now')
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            r = self.ask('h1.big.test')
            if len(r.rrs('answer', 'RRSIG')) == 2:
                break
            time.sleep(0.1)
        m4 = self.made()
        self.ask_all(extra=['h500a.big.test'])
        m5 = self.made()
        self.assertGreaterEqual(m5 - m4, 2 * NAMES - 5, 'every RRset signed by the new key')
        for i in (0, 500, 999):
            r = self.ask('h%d.big.test' % i)
            self.assertEqual(len(r.rrs('answer', 'RRSIG')), 2, r)


PRESIGN_COREFILE = COREFILE.replace('        presign-max 0\n', '')


class Presign(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-presign-')
        cls.srv = None
        try:
            cls.db = os.path.join(cls.dir, 'keystore.db')
            ctl(cls.db, 'policy', 'add', 'p', '--denial', 'nsec3', '--algorithm',
                'ecdsap256sha256', '--csk')
            cls.zone = os.path.join(cls.dir, 'big.test.zone')
            with open(cls.zone, 'w') as f:
                f.write(zone_text(SERIAL))
            cls.srv = Signetd(PRESIGN_COREFILE, workdir=cls.dir, ready_name='big.test')
            cls.srv.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.srv:
            cls.srv.cleanup()
        remove_workdir(cls.dir)

    def metrics(self):
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        with urllib.request.urlopen(url, timeout=10) as r:
            samples, _ = parse_exposition(r.read().decode())
        return {name: int(v) for (name, _l), v in samples.items()
                if name.startswith('signet_dnssec_')}

    def wait_passes(self, n):
        deadline = time.monotonic() + WAIT * 3
        while time.monotonic() < deadline:
            m = self.metrics()
            if m.get('signet_dnssec_presign_passes_total', 0) >= n:
                return m
            time.sleep(0.1)
        self.fail('presigning did not finish pass %d: %r\n%s' % (n, self.metrics(),
                                                                 self.srv.log()[-2000:]))

    def ask_all(self):
        for i in range(NAMES):
            qid, q = make_query('h%d.big.test' % i, 'A', edns=True, do=True)
            r = parse_message(udp_exchange('127.0.0.1', self.srv.port, q, qid, timeout=5))
            self.assertTrue(r.rrs('answer', 'RRSIG'), r)
            qid, q = make_query('h%d-.big.test' % i, 'A', edns=True, do=True)
            r = parse_message(udp_exchange('127.0.0.1', self.srv.port, q, qid, timeout=5))
            self.assertEqual(r.rcode, 'NXDOMAIN', r)
            self.assertTrue(r.rrs('authority', 'NSEC3'), r)

    def test_presigned(self):
        m = self.wait_passes(1)
        # every A, NS, SOA, NSEC3 and NSEC3PARAM of the zone, by the background
        self.assertGreaterEqual(m['signet_dnssec_presign_signatures_total'], 2 * NAMES, m)
        self.assertEqual(m['signet_dnssec_signatures_total'],
                         m['signet_dnssec_presign_signatures_total'], 'only presigning signed')
        self.ask_all()
        m1 = self.metrics()
        self.assertEqual(m1['signet_dnssec_signatures_total'], m['signet_dnssec_signatures_total'],
                         'every query answered from the cache')
        self.assertIn('presigned serial %d' % SERIAL, self.srv.log())

        with open(self.zone, 'w') as f:
            f.write(zone_text(SERIAL + 1, change=3))
        self.srv.send_signal(signal.SIGHUP)
        m2 = self.wait_passes(2)
        self.assertEqual(m2['signet_dnssec_presign_signatures_total'] -
                         m1['signet_dnssec_presign_signatures_total'], 2, 'A and SOA re-signed')
        self.ask_all()
        m3 = self.metrics()
        self.assertEqual(m3['signet_dnssec_signatures_total'], m2['signet_dnssec_signatures_total'],
                         'no query signed after the reload either')

        # a new signing key: the presigner signs the zone with it as soon as it signs
        k = ctl(self.db, 'key', 'generate', 'big.test', '--role', 'zsk', as_json=True)
        ctl(self.db, 'key', 'set', str(k['id']), '--publish', 'now')
        ctl(self.db, 'key', 'set', str(k['id']), '--activate', 'now')
        m4 = self.wait_passes(3)
        self.assertGreaterEqual(m4['signet_dnssec_presign_signatures_total'] -
                                m3['signet_dnssec_presign_signatures_total'], 2 * NAMES, m4)
        made = m4['signet_dnssec_signatures_total']
        self.ask_all()
        # queries that raced the presigner may have made a few; nearly all were presigned
        self.assertLess(self.metrics()['signet_dnssec_signatures_total'] - made, NAMES // 10)


if __name__ == '__main__':
    unittest.main()
