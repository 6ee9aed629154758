#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.metrics: the `prometheus` plugin's /metrics endpoint - exact query counts by
zone, type, rcode and transport after a known set of queries (REFUSED for names no zone
owns included), cache hits and misses after repeated queries, the exposition format,
one listener shared by two server blocks, the HTTP edge cases (404, 405, oversized and
silent clients), counters that carry over every kind of reload with exact totals,
`promtool check metrics` on the whole exposition, the process_* and build families, size
histograms, and the operator's gauges (earliest RRSIG expiry of a transferred version,
the oldest DS waiting for the parent, a zone file that failed to load) - issue 21."""

import re
import shutil
import signal
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import signet_test
from signet_test import ServerCase, make_query

SIGNETCTL = os.environ.get('SIGNETCTL', os.path.join(signet_test.REPO, 'build', 'ctl', 'signetctl'))

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def promtool_check(test, text):
    """`promtool check metrics` (Debian package prometheus) must find nothing to say."""
    promtool = shutil.which('promtool')
    test.assertIsNotNone(promtool, 'promtool not found (scripts/deps.sh installs prometheus)')
    p = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True,
                       text=True, timeout=60)
    test.assertEqual(p.returncode, 0, 'promtool check metrics:\n%s%s' % (p.stdout, p.stderr))
    test.assertEqual((p.stdout + p.stderr).strip(), '', 'promtool check metrics complains')


def scrape_text(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=10) as r:
        return r.read().decode()


def parse_exposition(text):
    """Prometheus text format -> ({(name, frozenset(labels)): value}, {family: type}).
    Fails on anything malformed, and on a family whose samples are not together."""
    samples, types, seen_families, current = {}, {}, [], None
    for line in text.splitlines():
        if line.startswith('# HELP '):
            continue
        if line.startswith('# TYPE '):
            _, _, fam, typ = line.split(' ', 3)
            if fam in types:
                raise AssertionError('family %s has two TYPE lines' % fam)
            types[fam] = typ
            current = fam
            seen_families.append(fam)
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError('malformed line %r' % line)
        name, labels = m.group(1), frozenset(LABEL.findall(m.group(3) or ''))
        fam = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
        if fam != current:
            raise AssertionError('sample %r outside its family block' % line)
        samples[(name, labels)] = float(m.group(4))
    return samples, types


class Metrics(ServerCase):
    COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    prometheus 127.0.0.1:$port2
    cache 4M
}
other.test:$port {
    bind 127.0.0.1
    file $dir/other.test.zone
    prometheus 127.0.0.1:$port2
}
'''
    FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone')

    def scrape(self):
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        with urllib.request.urlopen(url, timeout=5) as r:
            self.assertEqual(r.status, 200)
            self.assertIn('text/plain', r.headers['Content-Type'])
            return parse_exposition(r.read().decode())

    def value(self, samples, name, **labels):
        return samples.get((name, frozenset(labels.items())), 0)

    def ask(self, name, qtype, tcp, n):
        for _ in range(n):
            qid, q = make_query(name, qtype)
            data = self.srv.tcp(q) if tcp else self.srv.udp(q, qid)
            self.assertIsNotNone(data, 'no reply to %s %s' % (name, qtype))

    def test_exact_counts(self):
        before, _ = self.scrape()
        plan = [  # name, type, tcp, times, zone, rcode
            ('web.example.test', 'A', False, 7, 'example.test.', 'NOERROR'),
            ('web.example.test', 'AAAA', False, 3, 'example.test.', 'NOERROR'),
            ('nothere.example.test', 'A', False, 4, 'example.test.', 'NXDOMAIN'),
            ('web.example.test', 'A', True, 2, 'example.test.', 'NOERROR'),
            ('web.example.test', 'AAAA', True, 5, 'example.test.', 'NOERROR'),
            ('nothere.example.test', 'A', True, 1, 'example.test.', 'NXDOMAIN'),
            ('www.other.test', 'A', False, 2, 'other.test.', 'NOERROR'),
            ('www.nowhere.org', 'A', False, 6, None, 'REFUSED'),
            ('www.nowhere.org', 'AAAA', True, 3, None, 'REFUSED'),
        ]
        for name, qtype, tcp, n, _, _ in plan:
            self.ask(name, qtype, tcp, n)
        after, types = self.scrape()
        self.assertEqual(types['signet_dns_requests_total'], 'counter')
        self.assertEqual(types['signet_dns_request_duration_seconds'], 'histogram')
        want = {}
        for name, qtype, tcp, n, zone, rcode in plan:
            key = (zone, 'tcp' if tcp else 'udp', qtype, rcode)
            want[key] = want.get(key, 0) + n
        for (zone, proto, qtype, rcode), n in want.items():
            # names no zone owns: in families of their own, never under a made-up zone
            fam, zl = ('signet_dns_responses_total', {'zone': zone}) if zone else \
                ('signet_dns_unrouted_responses_total', {})
            got = (self.value(after, fam, proto=proto, type=qtype, rcode=rcode, **zl) -
                   self.value(before, fam, proto=proto, type=qtype, rcode=rcode, **zl))
            self.assertEqual(got, n, '%s %s %s %s' % (zone, proto, qtype, rcode))
        for proto, qtype, n in (('udp', 'A', 6), ('tcp', 'AAAA', 3)):
            self.assertEqual(self.value(after, 'signet_dns_unrouted_requests_total', proto=proto, type=qtype) -
                             self.value(before, 'signet_dns_unrouted_requests_total', proto=proto, type=qtype), n)
        self.assertEqual([l for (_, l) in after if ('zone', 'dropped') in l], [])
        # requests (all rcodes) and the histogram count move by exactly the queries sent
        for zone in ('example.test.', 'other.test.'):
            sent = sum(n for (z, _, _, _), n in want.items() if z == zone)
            reqs = sum(v for (nm, l), v in after.items()
                       if nm == 'signet_dns_requests_total' and ('zone', zone) in l) - \
                sum(v for (nm, l), v in before.items()
                    if nm == 'signet_dns_requests_total' and ('zone', zone) in l)
            self.assertEqual(reqs, sent, zone)
            cnt = self.value(after, 'signet_dns_request_duration_seconds_count', zone=zone) - \
                self.value(before, 'signet_dns_request_duration_seconds_count', zone=zone)
            self.assertEqual(cnt, sent, zone)
            inf = self.value(after, 'signet_dns_request_duration_seconds_bucket', zone=zone, le='+Inf')
            self.assertEqual(inf, self.value(after, 'signet_dns_request_duration_seconds_count', zone=zone))
            # sizes: one request size per query, by transport
            for proto in ('udp', 'tcp'):
                sent_p = sum(n for (z, p, _, _), n in want.items() if z == zone and p == proto)
                if not sent_p:
                    continue
                for fam in ('signet_dns_request_size_bytes', 'signet_dns_response_size_bytes'):
                    c = self.value(after, fam + '_count', zone=zone, proto=proto) - \
                        self.value(before, fam + '_count', zone=zone, proto=proto)
                    self.assertEqual(c, sent_p, '%s %s %s' % (fam, zone, proto))
                # these questions are 30 to 45 bytes (no EDNS): all in the le="100" bucket
                d = lambda le: self.value(after, 'signet_dns_request_size_bytes_bucket', zone=zone,
                                          proto=proto, le=le) - \
                    self.value(before, 'signet_dns_request_size_bytes_bucket', zone=zone, proto=proto, le=le)
                self.assertEqual(d('0'), 0)
                self.assertEqual(d('100'), sent_p)

    def test_promtool_process_and_build(self):
        text = scrape_text(self.srv.port2)
        promtool_check(self, text)
        s, types = parse_exposition(text)
        self.assertEqual(types['process_cpu_seconds_total'], 'counter')
        self.assertEqual(types['signet_dns_request_size_bytes'], 'histogram')
        self.assertEqual(types['signet_dns_response_size_bytes'], 'histogram')
        build = [dict(l) for (n, l) in s if n == 'signet_build_info']
        self.assertEqual(len(build), 1)
        self.assertRegex(build[0]['version'], r'^\d+\.\d+')
        self.assertIn('OpenSSL'.lower(), ('openssl ' + build[0]['openssl']).lower())
        start = self.value(s, 'process_start_time_seconds')
        self.assertLessEqual(start, time.time() + 1)
        self.assertGreater(start, time.time() - 600)  # this class started it
        self.assertGreater(self.value(s, 'process_resident_memory_bytes'), 1 << 20)
        self.assertGreaterEqual(self.value(s, 'process_virtual_memory_bytes'),
                                self.value(s, 'process_resident_memory_bytes'))
        # sockets per worker and listener, the log, the scrape's own connection
        self.assertGreaterEqual(self.value(s, 'process_open_fds'), 5)
        self.assertGreater(self.value(s, 'process_max_fds'), self.value(s, 'process_open_fds'))
        # the process's own utime+stime: a start that used under a clock tick (10 ms)
        # reads 0, so the figure is checked against /proc, not against zero
        cpu = self.value(s, 'process_cpu_seconds_total')
        with open('/proc/%d/stat' % self.srv.proc.pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        ticks = os.sysconf('SC_CLK_TCK')
        after = (int(fields[11]) + int(fields[12])) / ticks
        self.assertGreaterEqual(cpu, 0)
        self.assertLessEqual(cpu, after)
        self.assertGreater(cpu, after - 0.5, 'process_cpu_seconds_total %r, /proc %r' % (cpu, after))

    def test_cache_hits_and_misses(self):
        before, _ = self.scrape()
        zl = {'block': 'example.test.'}
        # distinct keys: UDP and TCP differ (truncation), so do DO and EDNS
        self.ask('mail.example.test', 'A', False, 5)      # 1 miss, 4 hits
        self.ask('mail.example.test', 'A', True, 4)       # 1 miss, 3 hits
        self.ask('nada.example.test', 'TXT', False, 3)    # NXDOMAIN: 1 miss, 2 hits
        self.ask('www.other.test', 'A', False, 3)         # no cache in that block
        self.ask('www.nowhere.org', 'A', False, 2)        # REFUSED: never reaches a cache
        after, _ = self.scrape()
        d = lambda n: self.value(after, n, **zl) - self.value(before, n, **zl)
        self.assertEqual(d('signet_cache_hits_total'), 9)
        self.assertEqual(d('signet_cache_misses_total'), 3)
        self.assertEqual(d('signet_cache_inserts_total'), 3)
        self.assertGreaterEqual(self.value(after, 'signet_cache_entries', **zl), 3)
        self.assertEqual(self.value(after, 'signet_cache_size_bytes', **zl), 4 << 20)
        # the cached replies are the real ones: the client's ID and case come back
        qid, q = make_query('MaIl.ExAmPlE.TeSt', 'A', qid=0x4242)
        data = self.srv.udp(q, qid)
        self.assertEqual(data[:2], b'\x42\x42')
        self.assertIn(b'\x04MaIl\x07ExAmPlE\x04TeSt\x00', data)
        r = signet_test.parse_message(data)
        self.assertEqual(r.rcode, 'NOERROR')
        self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.13'])

    def test_zone_metrics(self):
        s, _ = self.scrape()
        self.assertEqual(self.value(s, 'signet_zone_serial', zone='example.test.'), 2026112501)
        loaded = self.value(s, 'signet_zone_loaded_timestamp_seconds', zone='other.test.')
        self.assertLessEqual(abs(loaded - time.time()), 600)

    def raw_http(self, data, read=True):
        with socket.create_connection(('127.0.0.1', self.srv.port2), timeout=5) as s:
            s.sendall(data)
            if not read:
                return b''
            out = b''
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk

    def test_http_edges(self):
        self.assertTrue(self.raw_http(b'GET /other HTTP/1.1\r\nHost: x\r\n\r\n')
                        .startswith(b'HTTP/1.1 404'))
        self.assertTrue(self.raw_http(b'POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
                        .startswith(b'HTTP/1.1 405'))
        self.assertTrue(self.raw_http(b'garbage\r\n\r\n').startswith(b'HTTP/1.1 400'))
        self.assertTrue(self.raw_http(b'GET /metrics HTTP/1.1\r\nX: ' + b'a' * 9000)
                        .startswith(b'HTTP/1.1 431'))
        # a client that sends nothing is cut off, and others are served meanwhile
        silent = socket.create_connection(('127.0.0.1', self.srv.port2), timeout=5)
        try:
            t0 = time.monotonic()
            s, _ = self.scrape()
            self.assertLess(time.monotonic() - t0, 4.5)
            self.assertIn(('signet_zone_serial', frozenset({('zone', 'example.test.')})), s)
            silent.settimeout(5)
            self.assertEqual(silent.recv(10), b'')  # closed by the server
        finally:
            silent.close()
        # and the DNS side never noticed
        self.ask('web.example.test', 'A', False, 1)

    def test_slow_clients_do_not_hold_the_endpoint(self):
        """Twenty clients that send half a request and then a byte now and then: a real
        scrape is served at once (issue 15: one slow client made /metrics unreachable)."""
        slow = []
        try:
            for _ in range(20):
                c = socket.create_connection(('127.0.0.1', self.srv.port2), timeout=5)
                c.sendall(b'GET /met')
                slow.append(c)
            for i in range(3):
                for c in slow:
                    try:
                        c.sendall(b'r')
                    except OSError:
                        pass
                t0 = time.monotonic()
                s, _ = self.scrape()
                self.assertLess(time.monotonic() - t0, 1.0, 'a scrape waited behind slow clients')
                self.assertIn(('signet_zone_serial', frozenset({('zone', 'example.test.')})), s)
        finally:
            for c in slow:
                c.close()


class MetricsReload(ServerCase):
    """Counters are monotonic for the process's life: every kind of reload (SIGHUP,
    `signetctl reload`, `signetctl reload ZONE`) builds new plugin instances, which must
    continue the old ones' counts instead of starting at 0."""
    COREFILE = '''
{
    control $dir/signetd.sock
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    prometheus 127.0.0.1:$port2
    cache 4M
    dnssec {
        keystore $dir/keystore.db
    }
}
other.test:$port {
    bind 127.0.0.1
    file $dir/other.test.zone
    prometheus 127.0.0.1:$port2
    rrl {
        responses-per-second 5
        slip 2
        window 2
        exempt 127.0.0.1
    }
}
'''
    FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone')

    # (name, type, transport, times): after a full reload the answer cache starts empty
    # (see daemon/README.md), so each phase has one miss per distinct key, then hits
    PHASE = [
        ('web.example.test', 'A', 'udp', 3),
        ('web.example.test', 'A', 'tcp', 2),
        ('nothere.example.test', 'A', 'udp', 2),
        ('web.example.test', 'A', 'do', 2),       # signed: the dnssec counters move
    ]
    CACHE_MISSES = len(PHASE)
    CACHE_HITS = sum(n - 1 for _, _, _, n in PHASE)

    def scrape(self):
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        with urllib.request.urlopen(url, timeout=10) as r:
            return parse_exposition(r.read().decode())[0]

    def total(self, s, name, **want):
        """The sum of a family's samples whose labels include want."""
        items = set(want.items())
        return sum(v for (n, l), v in s.items() if n == name and items <= l)

    def run_phase(self, source):
        for name, qtype, how, n in self.PHASE:
            for _ in range(n):
                qid, q = make_query(name, qtype, edns=how == 'do', do=how == 'do')
                data = self.srv.tcp(q) if how == 'tcp' else self.srv.udp(q, qid)
                self.assertIsNotNone(data, 'no reply to %s %s' % (name, qtype))
        # a burst over the other block's rate: replies that come back with TC=1 were
        # counted as slipped by the server (a lost reply could only add to its count)
        from test_rrl import queries, udp_burst
        got = udp_burst(self.srv, source, queries(30, name='www.other.test'))
        return sum(1 for m in got.values() if 'tc' in m.flags)

    def reload(self, how):
        since = self.srv.log_size()
        if how == 'sighup':
            self.srv.send_signal(signal.SIGHUP)
            self.srv.wait_log('reload done', since, timeout=30)
            return
        cmd = [SIGNETCTL, '--socket', self.srv.path('signetd.sock'), 'reload']
        if how != 'all':
            cmd.append(how)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, '%s: %s%s' % (' '.join(cmd), p.stdout, p.stderr))

    def test_counters_survive_every_reload(self):
        base = self.scrape()
        blk = {'block': 'example.test.'}
        ex = {'zone': 'example.test.'}
        sent = sum(n for _, _, _, n in self.PHASE)
        slipped_seen = 0
        prev = base
        for k, (how, source) in enumerate([(None, '127.0.11.2'), ('sighup', '127.0.12.2'),
                                           ('all', '127.0.13.2'), ('example.test', '127.0.14.2')]):
            if how:
                self.reload(how)
            slipped_seen += self.run_phase(source)
            now = self.scrape()
            phases = k + 1
            what = 'after %d phases (last reload: %s)' % (phases, how)
            d = lambda name, **l: self.total(now, name, **l) - self.total(base, name, **l)
            # exact: the fixed queries of every phase so far, across the reloads
            self.assertEqual(d('signet_dns_requests_total', **ex), phases * sent, what)
            self.assertEqual(d('signet_dns_request_duration_seconds_count', **ex), phases * sent, what)
            self.assertEqual(d('signet_dns_responses_total', rcode='NXDOMAIN', **ex), phases * 2, what)
            self.assertEqual(d('signet_cache_hits_total', **blk), phases * self.CACHE_HITS, what)
            self.assertEqual(d('signet_cache_misses_total', **blk), phases * self.CACHE_MISSES, what)
            self.assertEqual(d('signet_cache_inserts_total', **blk), phases * self.CACHE_MISSES, what)
            self.assertEqual(d('signet_dns_requests_total', zone='other.test.'), phases * 30, what)
            # the signer and rrl counts depend on timing, but never go down, and each phase
            # adds to the signature cache's probes (its hits and misses: the cache and what
            # it holds survive reloads, issue 23, and presigning may have signed everything
            # before the first query, so whether a phase signs is not fixed)
            self.assertGreaterEqual(self.total(now, 'signet_rrl_slipped_total'), slipped_seen, what)
            self.assertGreaterEqual(self.total(now, 'signet_rrl_limited_total'),
                                    self.total(now, 'signet_rrl_slipped_total'), what)
            probes = lambda m: (self.total(m, 'signet_sigcache_hits_total', **blk) +
                                self.total(m, 'signet_sigcache_misses_total', **blk))
            self.assertGreater(probes(now), probes(prev), 'signature cache probes ' + what)
            self.assertGreaterEqual(self.total(now, 'signet_dnssec_signatures_total', **blk),
                                    self.total(prev, 'signet_dnssec_signatures_total', **blk), what)
            for (name, labels), v in prev.items():
                if name.endswith('_total') or name.endswith('_count'):
                    self.assertGreaterEqual(now.get((name, labels), 0), v,
                                            '%s%s went down %s' % (name, dict(labels), what))
            prev = now
        self.assertNotIn('cannot listen', self.srv.log())


class OperatorGauges(ServerCase):
    """The gauges the alert rules in dist/prometheus/signet.rules.yml read, from a signed
    zone that is transferred: the earliest RRSIG expiry of the version secondaries get,
    when the oldest DS still waiting for the parent was submitted, and a zone file whose
    last load failed."""
    COREFILE = '''
{
    control $dir/signetd.sock
}
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
    prometheus 127.0.0.1:$port2
    dnssec {
        keystore $dir/keystore.db
    }
    transfer {
        to 127.0.0.1
    }
}
'''
    FILES = ('example.test.zone', 'example.test.inc')

    def scrape(self):
        text = scrape_text(self.srv.port2)
        return text, parse_exposition(text)[0]

    def gauge(self, name, timeout=20):
        """The gauge's example.test. value once it is there."""
        key = (name, frozenset({('zone', 'example.test.')}))
        deadline = time.monotonic() + timeout
        while True:
            text, s = self.scrape()
            if key in s or time.monotonic() > deadline:
                return s.get(key), text
            time.sleep(0.2)

    def test_rrsig_expiry(self):
        self.assertTrue(self.srv.wait_log(r'transfer: example\.test\.: serial \d+', timeout=30),
                        self.srv.log())
        exp, text = self.gauge('signet_dnssec_rrsig_expiry_earliest_timestamp_seconds')
        self.assertIsNotNone(exp, 'no RRSIG expiry gauge:\n' + text)
        # the default policy: 14 days of validity, re-signed when 5 are left
        now = time.time()
        self.assertGreater(exp, now + 5 * 86400)
        self.assertLessEqual(exp, now + 14 * 86400 + 3600)
        # it is the version's own: the earliest RRSIG an AXFR carries
        axfr = subprocess.run(['kdig', '-p', str(self.srv.port), '@127.0.0.1', 'AXFR', 'example.test',
                               '+nocomments', '+nostats'], capture_output=True, text=True, timeout=30)
        exps = [l.split()[8] for l in axfr.stdout.splitlines() if len(l.split()) > 8 and l.split()[3] == 'RRSIG']
        self.assertTrue(exps, axfr.stdout + axfr.stderr)
        import calendar
        first = min(calendar.timegm(time.strptime(e, '%Y%m%d%H%M%S')) for e in exps)
        self.assertEqual(exp, first)
        promtool_check(self, text)

    def test_ds_submitted(self):
        db = self.srv.path('keystore.db')
        self.assertIsNone(self.gauge('signet_dnssec_ds_submitted_timestamp_seconds', timeout=2)[0])
        keys = signet_test.ctl(db, 'key', 'list', 'example.test', as_json=True)
        ksk = [k for k in keys if k['role'] in ('ksk', 'csk')]
        self.assertTrue(ksk, keys)
        when = int(time.time()) - 3 * 86400
        signet_test.ctl(db, 'key', 'set', str(ksk[0]['id']), '--ds-submitted', '@%d' % when)
        got, text = self.gauge('signet_dnssec_ds_submitted_timestamp_seconds')
        self.assertEqual(got, when, text)
        # seen at the parent: no longer waiting, the gauge goes
        signet_test.ctl(db, 'key', 'set', str(ksk[0]['id']), '--ds-seen', 'now')
        deadline = time.monotonic() + 20
        while self.gauge('signet_dnssec_ds_submitted_timestamp_seconds', timeout=0)[0] is not None:
            self.assertLess(time.monotonic(), deadline, 'the gauge stays after ds-seen')
            time.sleep(0.2)

    def reload_zone(self):
        p = subprocess.run([SIGNETCTL, '--socket', self.srv.path('signetd.sock'), 'reload', 'example.test'],
                           capture_output=True, text=True, timeout=120)
        return p

    def test_zone_load_failed(self):
        self.assertEqual(self.gauge('signet_zone_load_failed')[0], 0)
        path = self.srv.path('example.test.zone')
        with open(path) as f:
            good = f.read()
        try:
            with open(path, 'w') as f:
                f.write(good + '\nbroken IN A not-an-address\n')
            self.reload_zone()
            self.assertEqual(self.gauge('signet_zone_load_failed')[0], 1)
            # still serving the old version
            self.assertEqual(self.srv.dig('web.example.test', 'A').rcode, 'NOERROR')
        finally:
            with open(path, 'w') as f:
                f.write(good + '\n; fixed\n')
        p = self.reload_zone()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.gauge('signet_zone_load_failed')[0], 0)


if __name__ == '__main__':
    signet_test.main()
