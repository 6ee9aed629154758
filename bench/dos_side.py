#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The legitimate side stream of bench/dos.sh: queries from a dnsperf query file, one at
a time over UDP with DO, paced at --rate per second, each with its own latency (a reply
later than --timeout counts as lost); meanwhile the RSS of --pid is sampled every 0.25 s.
--source binds the socket to that address (e.g. 127.0.1.2), so that a server's response
rate limiting sees the side stream as another client than a flood from 127.0.0.1.
Prints one JSON object: sent, answered, lost, tc (answers with TC=1: an RRL slip, or too
large for UDP), p50/p99/p999 (ms, over the answered), rss_kb min/max/last, and the RSS
every 5 s (MiB)."""

import argparse
import json
import os
import random
import socket
import struct
import threading
import time

TYPES = {'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'MX': 15, 'TXT': 16, 'AAAA': 28}


def query(name, qtype, qid):
    msg = struct.pack('!HHHHHH', qid, 0, 1, 0, 0, 1)
    for label in name.rstrip('.').split('.'):
        msg += bytes([len(label)]) + label.encode()
    msg += b'\0' + struct.pack('!HH', TYPES.get(qtype, 1), 1)
    # OPT: payload 1232, DO
    msg += b'\0' + struct.pack('!HHIH', 41, 1232, 0x8000, 0)
    return msg


def rss_kb(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        return None


def pct(sorted_ms, p):
    if not sorted_ms:
        return None
    i = min(len(sorted_ms) - 1, int(p * len(sorted_ms)))
    return round(sorted_ms[i], 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--queries', required=True)
    ap.add_argument('--rate', type=float, default=200)
    ap.add_argument('--seconds', type=float, default=10)
    ap.add_argument('--timeout', type=float, default=1.0)
    ap.add_argument('--pid', type=int, default=0)
    ap.add_argument('--names', type=int, default=100000, help='use the first N queries only')
    ap.add_argument('--source', default='', help='local address to send from (default: any)')
    a = ap.parse_args()
    with open(a.queries) as f:
        qs = [l.split() for l in f if l.strip() and not l.startswith(';')][:a.names]
    random.shuffle(qs)
    rss = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            v = rss_kb(a.pid) if a.pid else None
            if v:
                rss.append(v)
            stop.wait(0.25)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if a.source:
        s.bind((a.source, 0))
    s.connect(('127.0.0.1', a.port))
    lat, lost, sent, tc = [], 0, 0, 0
    start = time.monotonic()
    end = start + a.seconds
    i = 0
    while time.monotonic() < end:
        name, qtype = qs[i % len(qs)][:2]
        i += 1
        qid = random.randrange(0x10000)
        t0 = time.monotonic()
        s.send(query(name, qtype, qid))
        sent += 1
        deadline = t0 + a.timeout
        got = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data = s.recv(65535)
            except (socket.timeout, ConnectionRefusedError):
                break
            if len(data) >= 3 and struct.unpack('!H', data[:2])[0] == qid:
                got = True
                tc += bool(data[2] & 0x02)
                break
        if got:
            lat.append((time.monotonic() - t0) * 1000)
        else:
            lost += 1
        nxt = start + sent / a.rate
        pause = nxt - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    stop.set()
    t.join()
    lat.sort()
    print(json.dumps({'sent': sent, 'answered': len(lat), 'lost': lost, 'tc': tc,
                      'p50_ms': pct(lat, 0.50), 'p99_ms': pct(lat, 0.99),
                      'p999_ms': pct(lat, 0.999), 'max_ms': round(lat[-1], 3) if lat else None,
                      'rss_kb_min': min(rss) if rss else None,
                      'rss_kb_max': max(rss) if rss else None,
                      'rss_kb_last': rss[-1] if rss else None,
                      'rss_mib_every_5s': [round(v / 1024, 1) for v in rss[::20]]}))


if __name__ == '__main__':
    main()
