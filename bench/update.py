#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Dynamic updates (issue 22): UPDATE-to-signed-answer latency and UPDATE throughput.

signetd serves a signed zone of -n names (NSEC or NSEC3, ECDSA P-256 CSK) with an
`update` block. Latency: -N times, one TSIG-signed UPDATE adds a TXT at a new name, then
a DO query for it is repeated (no sleep) until the answer carries the TXT and its RRSIG;
the time from sending the UPDATE to that answer, and the UPDATE's own round trip
(NOERROR: journal fsync'ed, version built and prepared), p50/p99/max. Throughput: -T
sequential UPDATEs of one change each, then -B UPDATEs of 100 changes each: changes/s
(every UPDATE is committed to disk before its reply). The UPDATE timing lines of signetd's
log (version built / journaled / prepared, ms) are summarised too.

    bench/update.py                     # 1,000 names, NSEC
    bench/update.py -n 100000 -d nsec3  # a 100k-name zone: what one new version costs
Environment: SIGNETD, SIGNETCTL (default build/daemon/signetd, build/ctl/signetctl).
"""

import argparse
import base64
import hashlib
import hmac
import os
import random
import re
import socket
import statistics
import struct
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))

import signet_test  # noqa: E402
from signet_test import Signetd, ctl, encode_name, make_query, parse_message  # noqa: E402

COREFILE = '''
{
    tsig-key ddns-key hmac-sha256 %(secret)s
}
bench.test:$port {
    bind 127.0.0.1
    update {
        key ddns-key
    }
    file $dir/bench.test.zone
    dnssec {
        keystore $dir/keystore.db
        policy p
    }
}
'''


def rr(name, rtype, ttl, rdata, rclass=1):
    return encode_name(name) + struct.pack('!HHIH', rtype, rclass, ttl, len(rdata)) + rdata


def txt(s):
    b = s.encode()
    return bytes([len(b)]) + b


def signed_update(zone, records, keyname, secret):
    """An UPDATE of zone adding records [(name, type, ttl, rdata)], TSIG hmac-sha256."""
    qid = random.randrange(0x10000)
    body = encode_name(zone) + struct.pack('!HH', 6, 1)
    for name, rtype, ttl, rdata in records:
        body += rr(name, rtype, ttl, rdata)
    msg = struct.pack('!HHHHHH', qid, 5 << 11, 1, 0, len(records), 0) + body
    alg = encode_name('hmac-sha256')
    now = int(time.time())
    tvars = (encode_name(keyname) + struct.pack('!HI', 255, 0) + alg +
             struct.pack('!HIHHH', now >> 32, now & 0xffffffff, 300, 0, 0))
    mac = hmac.new(secret, msg + tvars, hashlib.sha256).digest()
    trd = alg + struct.pack('!HIHH', now >> 32, now & 0xffffffff, 300, len(mac)) + mac + \
        struct.pack('!HHH', qid, 0, 0)
    signed = msg[:10] + struct.pack('!H', 1) + msg[12:] + rr(keyname, 250, 0, trd, 255)
    return qid, signed


def exchange(port, packet, qid, timeout=30):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, ('127.0.0.1', port))
        while True:
            data, _ = s.recvfrom(65535)
            if data[:2] == struct.pack('!H', qid):
                return data


def rcode_of(reply):
    return reply[3] & 0xf


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-n', type=int, default=1000, help='names in the zone')
    ap.add_argument('-d', default='nsec', choices=('nsec', 'nsec3'), help='denial')
    ap.add_argument('-N', type=int, default=200, help='updates timed to the signed answer')
    ap.add_argument('-T', type=int, default=500, help='one-change updates for throughput')
    ap.add_argument('-B', type=int, default=20, help='100-change updates for throughput')
    args = ap.parse_args()
    os.environ.setdefault('SIGNETD', os.path.join(REPO, 'build', 'daemon', 'signetd'))
    os.environ.setdefault('SIGNETCTL', os.path.join(REPO, 'build', 'ctl', 'signetctl'))
    d = tempfile.mkdtemp(prefix='signet-bench-update-')
    secret = os.urandom(32)
    with open(os.path.join(d, 'bench.test.zone'), 'w') as f:
        f.write('$ORIGIN bench.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n'
                '@ NS ns\nns A 192.0.2.1\n')
        for i in range(args.n):
            f.write('h%d A 10.%d.%d.%d\n' % (i, i >> 16 & 255, i >> 8 & 255, i & 255))
    db = os.path.join(d, 'keystore.db')
    ctl(db, 'policy', 'add', 'p', '--denial', args.d, '--algorithm', 'ecdsap256sha256', '--csk')
    srv = Signetd(COREFILE % {'secret': base64.b64encode(secret).decode()}, workdir=d,
                  ready_name='bench.test')
    srv.start()
    try:
        port = srv.port
        lat, rtt = [], []
        for i in range(args.N):
            name = 'lat%d.bench.test' % i
            qid, pkt = signed_update('bench.test', [(name, 16, 60, txt('token-%d' % i))], 'ddns-key', secret)
            t0 = time.monotonic()
            rep = exchange(port, pkt, qid)
            t1 = time.monotonic()
            assert rcode_of(rep) == 0, 'UPDATE rcode %d; log:\n%s' % (rcode_of(rep), srv.log()[-2000:])
            while True:
                q, msg = make_query(name, 'TXT', edns=True, do=True)
                r = parse_message(exchange(port, msg, q))
                if r.rrs('answer', 'TXT') and r.rrs('answer', 'RRSIG'):
                    break
            lat.append((time.monotonic() - t0) * 1000)
            rtt.append((t1 - t0) * 1000)
        t0 = time.monotonic()
        for i in range(args.T):
            qid, pkt = signed_update('bench.test', [('tp%d.bench.test' % i, 1, 300, bytes([192, 0, 2, i & 255]))],
                                     'ddns-key', secret)
            assert rcode_of(exchange(port, pkt, qid)) == 0
        single = args.T / (time.monotonic() - t0)
        t0 = time.monotonic()
        for b in range(args.B):
            recs = [('b%d-%d.bench.test' % (b, k), 1, 300, bytes([192, 0, 2, k])) for k in range(100)]
            qid, pkt = signed_update('bench.test', recs, 'ddns-key', secret)
            assert rcode_of(exchange(port, pkt, qid)) == 0
        batch = args.B * 100 / (time.monotonic() - t0)
        times = [tuple(float(x) for x in m) for m in
                 re.findall(r'version built in ([\d.]+) ms, journaled in ([\d.]+) ms, prepared in ([\d.]+) ms',
                            srv.log())]
        print('# bench/update.py: %d names, %s, %d latency samples, machine shared (nice 10)' % (args.n, args.d, args.N))
        print('| figure | p50 | p99 | max |')
        print('|---|---|---|---|')
        print('| UPDATE sent -> signed answer seen (ms) | %.1f | %.1f | %.1f |' % (pct(lat, 50), pct(lat, 99), max(lat)))
        print('| UPDATE round trip, NOERROR (ms) | %.1f | %.1f | %.1f |' % (pct(rtt, 50), pct(rtt, 99), max(rtt)))
        for k, what in enumerate(('new version built', 'journal commit (fsync)', 'prepared (denial chain)')):
            v = [t[k] for t in times]
            print('| %s (ms, signetd log) | %.1f | %.1f | %.1f |' % (what, pct(v, 50), pct(v, 99), max(v)))
        print()
        print('throughput: %.0f changes/s (one change per UPDATE), %.0f changes/s (100 per UPDATE)' % (single, batch))
        # a restart replays the whole journal on the zone file, in one build
        srv.stop()
        mark = srv.log_size()
        t0 = time.monotonic()
        srv.start()
        m = srv.wait_log(r'(\d+) journaled updates replayed on .* in (\d+) ms', mark, 600)
        print('restart: %s journaled updates replayed in %s ms; answering after %.1f s'
              % (m.group(1), m.group(2), time.monotonic() - t0) if m else 'restart: no replay line in the log')
    finally:
        signet_test.stop_and_remove(d, srv)


if __name__ == '__main__':
    main()
