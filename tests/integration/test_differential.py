#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.differential: signetd's answers compared with Knot DNS's on a realistic zone.

One generated zone (realistic_zone.py, about 2000 owner names: secure and insecure
delegations, glue in and below cuts, sibling glue, out-of-bailiwick NS, occluded data,
wildcards also below empty non-terminals and as CNAMEs, CNAME chains in and out of the
zone and into a delegation, escaped and upper-case names, long TXT, CAA, SVCB/HTTPS, TLSA,
NAPTR, SSHFP, SRV, an unknown type) is served by signetd, signing online (NSEC, its own
keystore), and by knotd, signing it itself (`dnssec-signing: on`, NSEC), each on its own
loopback port. Every owner name and empty non-terminal, names below the cuts and about
300 random names (below wildcards, below hosts, case-mixed copies) are asked for A, AAAA,
TXT, MX, NS, DS, CNAME, SOA and the name's own types, without EDNS, with EDNS (1232) and
with EDNS and DO, over UDP (pipelined; truncated replies again over TCP). Compared: the
rcode, AA, TC, the OPT's presence and DO bit, and every RRset (owner, type, TTL, rdata, names case-insensitively) in answer,
authority and additional, except RRSIG, NSEC/NSEC3 and DNSKEY/CDS/CDNSKEY (the keys and
signatures differ by design) and the SOA serial (Knot counts its own signing changes).

A difference fails the test unless KNOWN_DIFFERENCES explains it: Knot wrong or both
allowed, with the RFC text, or a signetd defect left for its own fix (marked so).
$DIFF_VERBOSE=1 prints every difference with both replies; $DIFF_SHOW="name type,..." both
replies to those queries.

signetd from $SIGNETD, knotd from $KNOTD or the PATH. Python 3 standard library only.
"""

import os
import random
import select
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest

import realistic_zone
import signet_test
from secondaries import KNOT_SERVER_CONF, start_knotd
from signet_test import Signetd
from test_dnssec import ctl

ORIGIN = 'diff.test.'
QTYPES = ('A', 'AAAA', 'TXT', 'MX', 'NS', 'DS', 'CNAME', 'SOA')
TYPE_CODES = {'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'PTR': 12, 'HINFO': 13, 'MX': 15,
              'TXT': 16, 'AAAA': 28, 'SRV': 33, 'NAPTR': 35, 'DNAME': 39, 'OPT': 41, 'DS': 43,
              'SSHFP': 44, 'RRSIG': 46, 'NSEC': 47, 'DNSKEY': 48, 'NSEC3': 50,
              'NSEC3PARAM': 51, 'TLSA': 52, 'CDS': 59, 'CDNSKEY': 60, 'SVCB': 64,
              'HTTPS': 65, 'CAA': 257}
CODE_TYPES = {v: k for k, v in TYPE_CODES.items()}
# left out of the comparison: signatures, denial records, keys (each server has its own)
SKIPPED = {46, 47, 50, 48, 59, 60, 51}
# $DIFF_SHOW="name type,name type": print both replies to these queries
SHOW = {(signet_test.fqdn(x.split()[0]).lower(), x.split()[1].upper())
        for x in os.environ.get('DIFF_SHOW', '').split(',') if x.strip()}
MODES = ('plain', 'edns', 'do')     # no EDNS; EDNS 1232; EDNS 1232 with DO

COREFILE = '''
{
    workers 2
}
diff.test:$port {
    bind 127.0.0.1
    file $dir/diff.test.zone diff.test
    dnssec {
        keystore $dir/keystore.db
        policy p
    }
    cache 32M
}
'''

KNOT_ZONE_CONF = """policy:
  - id: p
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: off
    cds-cdnskey-publish: none
    ksk-lifetime: 0
    zsk-lifetime: 0
template:
  - id: default
    storage: "%(dir)s"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: diff.test
    file: "%(dir)s/diff.test.zone"
    dnssec-signing: on
    dnssec-policy: p
"""


# ---- wire: queries and a reply reduced to what is compared ----------------------------

def wire_name(text):
    """Presentation name (with \\. and \\DDD escapes) -> wire."""
    out = b''
    label = b''
    i = 0
    t = text.rstrip('.') if text not in ('.', '') else ''
    if text.endswith('\\.'):
        t = text
    while i < len(t):
        c = t[i]
        if c == '\\':
            if t[i + 1:i + 4].isdigit():
                label += bytes([int(t[i + 1:i + 4])])
                i += 4
            else:
                label += t[i + 1].encode('latin-1')
                i += 2
            continue
        if c == '.':
            out += bytes([len(label)]) + label
            label = b''
        else:
            label += c.encode('latin-1')
        i += 1
    if label:
        out += bytes([len(label)]) + label
    return out + b'\x00'


def make_query(qid, name, qtype, mode):
    msg = struct.pack('!HHHHHH', qid, 0, 1, 0, 0, 1 if mode != 'plain' else 0)
    msg += wire_name(name) + struct.pack('!HH', TYPE_CODES.get(qtype) or int(qtype[4:]), 1)
    if mode != 'plain':
        msg += b'\x00' + struct.pack('!HHIH', 41, 1232, 0x8000 if mode == 'do' else 0, 0)
    return msg


def _label_text(b):
    out = ''
    for ch in b:
        if ch in b'.\\();"@$ ' or ch < 33 or ch > 126:
            out += '\\%03d' % ch if (ch < 33 or ch > 126) else '\\' + chr(ch)
        else:
            out += chr(ch).lower()
    return out


def read_name(msg, off):
    """(canonical lower-case presentation name, offset after it)."""
    labels, end, jumps = [], None, 0
    while True:
        ln = msg[off]
        if ln & 0xc0 == 0xc0:
            if end is None:
                end = off + 2
            off = ((ln & 0x3f) << 8) | msg[off + 1]
            jumps += 1
            if jumps > 100:
                raise ValueError('pointer loop')
            continue
        off += 1
        if ln == 0:
            break
        labels.append(_label_text(msg[off:off + ln]))
        off += ln
    return '.'.join(labels) + '.', end if end is not None else off


def _strings(rd, i, n):
    out = []
    for _ in range(n):
        ln = rd[i]
        out.append(rd[i + 1:i + 1 + ln].hex())
        i += 1 + ln
    return out, i


def rdata_canon(msg, off, rtype, rdlen):
    """Rdata as comparable text: names decompressed and lower-cased, the rest in hex.
    The SOA serial is left out (each server counts its own versions)."""
    rd = msg[off:off + rdlen]
    if rtype in (2, 5, 12, 39):
        return read_name(msg, off)[0]
    if rtype == 6:
        m, o = read_name(msg, off)
        r, o = read_name(msg, o)
        return '%s %s serial %s' % (m, r, msg[o + 4:o + 20].hex())
    if rtype == 15:
        return '%d %s' % (struct.unpack('!H', rd[:2])[0], read_name(msg, off + 2)[0])
    if rtype == 33:
        return '%s %s' % (rd[:6].hex(), read_name(msg, off + 6)[0])
    if rtype == 35:
        s, i = _strings(rd, 4, 3)
        return '%s %s %s' % (rd[:4].hex(), ' '.join(s), read_name(msg, off + i)[0])
    if rtype in (64, 65):
        n, o = read_name(msg, off + 2)
        return '%s %s %s' % (rd[:2].hex(), n, msg[o:off + rdlen].hex())
    return rd.hex()


class Reply:
    def __init__(self, msg):
        self.raw = msg
        qid, flags, qd, an, ns, ar = struct.unpack('!HHHHHH', msg[:12])
        self.id = qid
        self.rcode = flags & 0xf
        self.aa = bool(flags & 0x0400)
        self.tc = bool(flags & 0x0200)
        self.edns = None
        off = 12
        qname, off = read_name(msg, off)
        self.question = msg[12:off + 4]
        off += 4
        self.sections = {}
        for sec, n in (('answer', an), ('authority', ns), ('additional', ar)):
            sets = {}
            for _ in range(n):
                owner, off = read_name(msg, off)
                t, c, ttl, rdlen = struct.unpack('!HHIH', msg[off:off + 10])
                off += 10
                if t == 41:
                    self.rcode |= (ttl >> 24) << 4
                    self.edns = 'do' if ttl & 0x8000 else 'edns'
                elif t not in SKIPPED:
                    s = sets.setdefault((owner, CODE_TYPES.get(t, 'TYPE%d' % t)), [set(), []])
                    s[0].add(ttl)
                    s[1].append(rdata_canon(msg, off, t, rdlen))
                off += rdlen
            self.sections[sec] = {k: (tuple(sorted(v[0])), tuple(sorted(v[1])))
                                  for k, v in sets.items()}

    def text(self):
        return dig_text(self.raw)


def dig_text(msg):
    """A readable rendering of a reply (for failure messages), via signet_test's parser."""
    try:
        r = signet_test.parse_message(msg)
    except Exception as e:   # noqa: BLE001 - only for display
        return '<unparsable: %s> %s' % (e, msg.hex())
    lines = ['rcode %s flags %s edns %s' % (r.rcode, ' '.join(sorted(r.flags)), r.edns and
                                               sorted(r.edns['flags']))]
    for sec in ('answer', 'authority', 'additional'):
        for rr in r.section(sec):
            lines.append('  %-10s %r' % (sec, rr))
    return '\n'.join(lines)


# ---- many queries at once -------------------------------------------------------------

def bulk_udp(port, packets, window=64, timeout=1.0, tries=4):
    """Send every packet to 127.0.0.1:port, at most `window` outstanding, each retried up to
    tries times; returns the replies (bytes, or None) in order."""
    replies = [None] * len(packets)
    pending = {}      # qid -> (index, sent at, tries left)
    nxt = 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect(('127.0.0.1', port))
    try:
        while nxt < len(packets) or pending:
            while nxt < len(packets) and len(pending) < window:
                qid = struct.unpack('!H', packets[nxt][:2])[0]
                s.send(packets[nxt])
                pending[qid] = (nxt, time.monotonic(), tries - 1)
                nxt += 1
            r, _, _ = select.select([s], [], [], 0.05)
            if r:
                while True:
                    try:
                        data = s.recv(65535, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    qid = struct.unpack('!H', data[:2])[0]
                    p = pending.get(qid)
                    if p:
                        q = packets[p[0]]
                        qlen = len(q) - 12 - (11 if q[11] else 0)
                        if data[12:12 + qlen].lower() != q[12:12 + qlen].lower():
                            continue
                        replies[p[0]] = data
                        del pending[qid]
            now = time.monotonic()
            for qid, (i, at, left) in list(pending.items()):
                if now - at > timeout:
                    if left <= 0:
                        del pending[qid]
                    else:
                        s.send(packets[i])
                        pending[qid] = (i, now, left - 1)
    finally:
        s.close()
    return replies


def tcp_query(port, packet):
    try:
        return signet_test.tcp_exchange('127.0.0.1', port, packet)
    except Exception:   # noqa: BLE001 - no reply is compared as such
        return None


# ---- the comparison ------------------------------------------------------------------

def compare(a, b):
    """Differences between two Replies as a list of (kind, detail) tuples; kind is one of
    rcode, aa, tc, edns, question, or SECTION:missing-in-signetd / SECTION:extra-in-signetd
    / SECTION:different (detail: (owner, type))."""
    out = []
    if a.rcode != b.rcode:
        out.append(('rcode', (a.rcode, b.rcode)))
    if a.aa != b.aa:
        out.append(('aa', (a.aa, b.aa)))
    if a.tc != b.tc:
        out.append(('tc', (a.tc, b.tc)))
    if a.edns != b.edns:
        out.append(('edns', (a.edns, b.edns)))
    if a.question != b.question:
        out.append(('question', None))
    if a.tc and b.tc:
        return out     # the sections of truncated replies are compared over TCP
    for sec in ('answer', 'authority', 'additional'):
        sa, sb = a.sections[sec], b.sections[sec]
        for k in sorted(set(sa) | set(sb)):
            if k not in sa:
                out.append((sec + ':missing-in-signetd', k))
            elif k not in sb:
                out.append((sec + ':extra-in-signetd', k))
            elif sa[k] != sb[k]:
                what = 'ttl' if sa[k][1] == sb[k][1] else 'rdata'
                out.append((sec + ':different-' + what, k))
    return out


# ---- what is allowed to differ -------------------------------------------------------
#
# Each entry: (name, predicate(diff kind, detail, qname, qtype, mode, signetd reply, knot
# reply) -> bool, why). A difference matched by an entry is counted and reported, not
# failed. Entries whose `why` starts with "SIGNETD DEFECT" are bugs in signetd left for
# their own fix (issue 14); the others say why Knot is wrong or why both are allowed.

def _svcb_self_target(kind, detail, qname, qtype, mode, a, b):
    # signetd adds the owner's A/AAAA for an SVCB/HTTPS whose TargetName is "."; Knot 3.2
    # adds nothing for it (it does for a named target, e.g. svc.diff.test SVCB)
    return (kind == 'additional:extra-in-signetd' and qtype in ('SVCB', 'HTTPS') and
            detail[1] in ('A', 'AAAA') and detail[0] == signet_test.fqdn(qname).lower())


KNOT_CNAME_MAX = 5      # Knot DNS 3.2 follows at most this many CNAMEs in one answer
CHAIN = {}              # lower-case owner -> its in-zone CNAME target (filled by the test)


def _chain_length(qname):
    n, hops = signet_test.fqdn(qname).lower(), 0
    while n in CHAIN and hops < 50:
        n, hops = CHAIN[n], hops + 1
    return hops


def _cname_chain_cap(kind, detail, qname, qtype, mode, a, b):
    # a chain longer than Knot's cap: signetd goes on (up to its own cap of 8); where it
    # reaches the end it adds what the end calls for (the data, or the SOA of NODATA)
    return (_chain_length(qname) > KNOT_CNAME_MAX and
            kind in ('answer:extra-in-signetd', 'authority:extra-in-signetd'))


KNOWN_DIFFERENCES = [
    ('cname-chain-cap', _cname_chain_cap,
     'both allowed: RFC 1034 4.3.2 step 3a restarts at the CNAME target with no limit, and '
     'the resolver goes on from the last CNAME it got (RFC 1034 5.3.3, RFC 2308 2.1: "the '
     'resolver ... will need to ... restart"); a server caps the chain against loops, Knot '
     'at 5 links, signetd at 8 (zones/answer.c CNAME_CHAIN_MAX)'),
    ('svcb-dot-target-additional', _svcb_self_target,
     'Knot omits, both allowed. RFC 9460 2.5.2: "For ServiceMode SVCB RRs, if TargetName has '
     'the value ".", then the owner name of this record MUST be used as the effective '
     'TargetName"; 4.2: "authoritative DNS servers SHOULD return A, AAAA, and SVCB records '
     'in the Additional section for any TargetNames that are in the zone ... MAY omit some '
     'or all of these additional records" (signetd follows the SHOULD)'),
]


def classify(kind, detail, qname, qtype, mode, a, b):
    for name, pred, why in KNOWN_DIFFERENCES:
        if pred(kind, detail, qname, qtype, mode, a, b):
            return name
    return None


# ---- the queries ---------------------------------------------------------------------

def query_plan(zone, rng):
    names = list(zone.names)
    lower = {n.lower() for n in names}
    # empty non-terminals: every ancestor of an owner inside the zone
    for n in list(names):
        labels = n[:-len(ORIGIN)].rstrip('.').split('.') if n != ORIGIN else []
        for k in range(1, len(labels)):
            anc = '.'.join(labels[k:]) + '.' + ORIGIN
            if anc.lower() not in lower and '\\' not in anc:
                lower.add(anc.lower())
                names.append(anc)
    extra = list(zone.below_cuts) + ['deeper.' + c for c in zone.cuts]
    # random names: plain misses, below wildcards, below existing names, case-mixed copies
    pool = [n for n in zone.names if '\\' not in n]
    for i in range(300):
        k = i % 6
        lab = ''.join(rng.choice('abcdefghijklmnopqrstuvwxyz0123456789-') for _ in
                      range(rng.randrange(1, 12))).strip('-') or 'x'
        if k == 0:
            extra.append('%s.%s' % (lab, ORIGIN))
        elif k == 1:
            extra.append('%s.%s.%s' % (lab, rng.choice(zone.wildcards), ORIGIN))
        elif k == 2:
            extra.append('%s.x.%s.%s' % (lab, rng.choice(zone.wildcards), ORIGIN))
        elif k == 3:
            extra.append('%s.%s' % (lab, rng.choice(pool)))
        elif k == 4:
            n = rng.choice(pool)
            extra.append(''.join(c.upper() if rng.random() < 0.5 else c for c in n))
        else:
            extra.append('%s.%s.%s' % (lab, rng.choice(['region0', 'region1', 'l2.ent-wild',
                                                        'dept3.region0']), ORIGIN))
    plan = []
    for n in names + extra:
        own = zone.types.get(n.lower(), set())
        for t in list(QTYPES) + sorted(own - set(QTYPES) - {'SOA'}):
            plan.append((n, t))
    return plan


# ---- the test ------------------------------------------------------------------------

class Differential(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-differential-')
        cls.srv = cls.knot = None
        cls.knot_log = None
        try:
            cls.zone = realistic_zone.generate(ORIGIN, hosts=1800, seed=14)
            sdir = os.path.join(cls.dir, 'signetd')
            kdir = os.path.join(cls.dir, 'knot')
            os.makedirs(sdir)
            os.makedirs(kdir)
            for d in (sdir, kdir):
                with open(os.path.join(d, 'diff.test.zone'), 'w') as f:
                    f.write(cls.zone.text)
            db = os.path.join(sdir, 'keystore.db')
            ctl(db, 'policy', 'add', 'p', '--denial', 'nsec', '--algorithm', 'ecdsap256sha256',
                '--csk')
            cls.srv = Signetd(COREFILE, (), ready_name='diff.test', workdir=sdir)
            cls.srv.start()
            cls.knot_port = signet_test.free_port()
            conf = os.path.join(kdir, 'knot.conf')
            with open(conf, 'w') as f:
                f.write(KNOT_SERVER_CONF % {'dir': kdir, 'port': cls.knot_port} +
                        KNOT_ZONE_CONF % {'dir': kdir})
            cls.knot, cls.knot_log = start_knotd(conf, cls.knot_port, 'diff.test',
                                                 os.path.join(kdir, 'knot.log'))
            # both sign: wait until each serves the apex DNSKEY
            for port in (cls.srv.port, cls.knot_port):
                deadline = time.monotonic() + 60
                while True:
                    q = make_query(1, ORIGIN, 'DNSKEY', 'do')
                    r = signet_test.udp_exchange('127.0.0.1', port, q, 1)
                    if r and Reply(r).rcode == 0 and b'\x00\x30\x00\x01' in r[12 + 15:]:
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError('no DNSKEY from port %d' % port)
                    time.sleep(0.2)
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        if cls.knot is not None:
            signet_test.terminate(cls.knot, 10)
            cls.knot_log.close()
        signet_test.stop_and_remove(cls.dir, cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def test_same_answers_as_knot(self):
        rng = random.Random(1414)
        CHAIN.clear()
        for line in self.zone.lines:
            f = line.split()
            if f[-2] == 'CNAME' and f[-1].lower().endswith(ORIGIN):
                CHAIN[f[0].lower()] = f[-1].lower()
        plan = query_plan(self.zone, rng)
        t0 = time.monotonic()
        packets = []
        for mode in MODES:
            for i, (n, t) in enumerate(plan):
                packets.append(make_query(len(packets) & 0xffff, n, t, mode))
        results = {}

        def run(which, port):
            results[which] = bulk_udp(port, packets)
        th = [threading.Thread(target=run, args=('signetd', self.srv.port)),
              threading.Thread(target=run, args=('knot', self.knot_port))]
        for t in th:
            t.start()
        for t in th:
            t.join()
        elapsed = time.monotonic() - t0
        # the comparison itself can see a difference: two different answers differ
        i1, i2 = plan.index(('h0001.' + ORIGIN, 'A')), plan.index(('h0002.' + ORIGIN, 'A'))
        self.assertTrue(compare(Reply(results['knot'][i1]), Reply(results['knot'][i2])))
        failures, known, kinds, tcp = [], {}, {}, 0
        for i, pkt in enumerate(packets):
            n, t = plan[i % len(plan)]
            mode = MODES[i // len(plan)]
            ra, rb = results['signetd'][i], results['knot'][i]
            if ra is None or rb is None:
                failures.append('%s %s %s: no reply from %s' % (
                    n, t, mode, 'signetd' if ra is None else 'knot'))
                continue
            a, b = Reply(ra), Reply(rb)
            kind = ('NXDOMAIN' if a.rcode == 3 else 'referral' if not a.aa and a.rcode == 0
                    else 'answer' if a.sections['answer'] else 'NODATA' if a.rcode == 0
                    else 'rcode %d' % a.rcode)
            kinds[kind] = kinds.get(kind, 0) + 1
            if (n.lower(), t) in SHOW:
                print('%s %s (%s)\n signetd: %s\n knot:    %s' % (
                    n, t, mode, a.text().replace('\n', '\n    '),
                    b.text().replace('\n', '\n    ')), file=sys.stderr)
            diffs = compare(a, b)
            if a.tc or b.tc:
                tcp += 1
                ta, tb = tcp_query(self.srv.port, pkt), tcp_query(self.knot_port, pkt)
                if ta is None or tb is None:
                    failures.append('%s %s %s: no TCP reply' % (n, t, mode))
                else:
                    a2, b2 = Reply(ta), Reply(tb)
                    diffs += [('tcp/' + k, d) for k, d in compare(a2, b2)]
                    a, b = a2, b2
            unexplained = []
            for kind, detail in diffs:
                name = classify(kind.replace('tcp/', ''), detail, n, t, mode, a, b)
                if name:
                    known[name] = known.get(name, 0) + 1
                else:
                    unexplained.append((kind, detail))
            if unexplained:
                failures.append('%s %s (%s): %s\n signetd: %s\n knot:    %s' % (
                    n, t, mode, unexplained, a.text().replace('\n', '\n    '),
                    b.text().replace('\n', '\n    ')))
        print('\n%d queries to each server (%d names x types, modes %s) in %.1fs, %d again '
              'over TCP; signetd replies: %s; known differences: %s; unexplained: %d' % (
                  len(packets), len(plan), '/'.join(MODES), elapsed, tcp,
                  ', '.join('%s %d' % kv for kv in sorted(kinds.items())), known or 'none',
                  len(failures)), file=sys.stderr)
        if os.environ.get('DIFF_VERBOSE'):
            print('\n'.join(failures), file=sys.stderr)
        if failures:
            self.fail('%d of %d queries differ from Knot DNS:\n%s%s' % (
                len(failures), len(packets), '\n'.join(failures[:40]),
                '\n...' if len(failures) > 40 else ''))


if __name__ == '__main__':
    signet_test.main()
