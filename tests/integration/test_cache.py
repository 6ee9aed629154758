#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.cache: the answer cache in front of online signing. With a 12 s signature
validity and an 8 s refresh, names are asked over and over across several refresh points:
every RRSIG served must expire in the future (and not be past its refresh point), fresh
signatures must appear, and the cache must really serve (hits counted). Then the zone
file changes and SIGHUP reloads it: the new data is served at once, signed."""

import os
import re
import signal
import time
import urllib.request

import signet_test
from test_dnssec import ctl, key_tag, parse_rrsig

VALIDITY = 12
REFRESH = 8

COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    prometheus 127.0.0.1:$port2
    cache 8M
    dnssec {
        keystore $dir/keystore.db
        policy fast
    }
    file $dir/example.test.zone example.test
    errors
}
'''


class CacheSigned(signet_test.ServerCase):

    COREFILE = COREFILE

    @classmethod
    def prepare(cls, srv):
        ctl(srv.path('keystore.db'), 'policy', 'add', 'fast', '--csk',
            '--signature-validity', '%ds' % VALIDITY, '--signature-refresh', '%ds' % REFRESH,
            '--signature-jitter', '0')

    def cache_counts(self):
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        out = {}
        for name in ('hits', 'misses'):
            m = re.search(r'^signet_cache_%s_total\{block="example.test."\} (\d+)$' % name, text, re.M)
            out[name] = int(m.group(1)) if m else 0
        return out

    def signed(self, name, rtype, tcp=False):
        r = self.srv.dig(name, rtype, '+dnssec', tcp=tcp)
        now = time.time()
        sigs = [parse_rrsig(rr) for rr in r.rrs('answer', 'RRSIG') + r.rrs('authority', 'RRSIG')]
        self.assertTrue(sigs, 'no RRSIG for %s %s:\n%r' % (name, rtype, r))
        for s in sigs:
            # never an expired signature, and never one past its refresh point (whole
            # seconds on both sides: one second of slack)
            self.assertGreater(s['expiration'], now, '%s %s: expired RRSIG served' % (name, rtype))
            self.assertGreaterEqual(s['expiration'] - now, REFRESH - 1.5,
                                    '%s %s: RRSIG past its refresh point' % (name, rtype))
        return r, sigs

    def test_1_signatures_across_refresh(self):
        before = self.cache_counts()
        seen = {}
        names = [('web.example.test', 'A', False), ('www.example.test', 'A', True),
                 ('nothere.example.test', 'A', False), ('web.example.test', 'MX', False)]
        deadline = time.monotonic() + 3 * (VALIDITY - REFRESH) + 3
        asked = 0
        while time.monotonic() < deadline:
            for name, rtype, tcp in names:
                _, sigs = self.signed(name, rtype, tcp)
                asked += 1
                seen.setdefault((name, rtype), set()).update(s['expiration'] for s in sigs)
            time.sleep(0.1)
        after = self.cache_counts()
        # fresh signatures appeared for every name: one set per refresh period
        for key, exps in seen.items():
            self.assertGreaterEqual(len(exps), 3, '%s: signatures never refreshed: %s' % (key, sorted(exps)))
        hits = after['hits'] - before['hits']
        misses = after['misses'] - before['misses']
        self.assertEqual(hits + misses, asked)
        self.assertGreater(hits, asked // 2, 'the cache served too little: %d of %d' % (hits, asked))

    def test_2_reload_serves_new_data_at_once(self):
        r, _ = self.signed('web.example.test', 'A')
        self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.14'])
        self.signed('web.example.test', 'A')  # now from the cache
        path = self.srv.path('example.test.zone')
        with open(path) as f:
            text = f.read()
        text = text.replace('2026112501', '2026112502')
        text = re.sub(r'(?m)^web(\s+IN\s+A\s+)127\.0\.0\.14', r'web\g<1>127.0.0.99', text)
        with open(path + '.new', 'w') as f:
            f.write(text)
        os.replace(path + '.new', path)
        since = self.srv.log_size()
        self.srv.send_signal(signal.SIGHUP)
        self.srv.wait_log('reload done', since)
        r, sigs = self.signed('web.example.test', 'A')
        self.assertEqual([rr.rdata for rr in r.rrs('answer', 'A')], ['127.0.0.99'])
        r, _ = self.signed('example.test', 'SOA')
        self.assertIn('2026112502', r.rrs('answer', 'SOA')[0].rdata)

    def test_3_dnssec_metrics(self):
        self.signed('mail.example.test', 'A')
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        deadline = time.monotonic() + 5
        while True:
            text = urllib.request.urlopen(url, timeout=5).read().decode()
            if 'signet_dnssec_keys{' in text or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        keys = ctl(self.srv.path('keystore.db'), 'key', 'list', 'example.test', as_json=True)
        active = [k for k in keys if k['role'] == 'csk' and k['state'] == 'active']
        self.assertEqual(len(active), 1, keys)
        self.assertRegex(text, r'(?m)^signet_dnssec_keys\{zone="example.test.",role="csk",state="active"\} 1$')
        m = re.search(r'(?m)^signet_dnssec_signatures_total\{block="example.test."\} (\d+)$', text)
        self.assertTrue(m and int(m.group(1)) > 0, text)
        m = re.search(r'(?m)^signet_sigcache_hits_total\{block="example.test."\} (\d+)$', text)
        self.assertTrue(m, text)
        # the next event: the new CSK's DS goes to the parent once its DNSKEY has
        # propagated (DNSKEY TTL 1h + zone propagation delay 5m after publication)
        m = re.search(r'(?m)^signet_dnssec_next_key_event_seconds\{zone="example.test."\} (\S+)$', text)
        self.assertTrue(m, text)
        self.assertGreater(float(m.group(1)), 3900 - 120)
        self.assertLessEqual(float(m.group(1)), 3900 + 1)


class CacheKeyChange(signet_test.ServerCase):
    """With the default signature validity (14 days) a cached reply would live its TTL
    (an hour): a key set change must still reach the answers within the watcher's
    second, because the dnssec plugin's version is part of the cache key."""

    COREFILE = COREFILE.replace('policy fast', 'policy slow')

    @classmethod
    def prepare(cls, srv):
        cls.db = srv.path('keystore.db')
        ctl(cls.db, 'policy', 'add', 'slow', '--csk')

    def tags(self):
        r = self.srv.dig('example.test', 'DNSKEY', '+dnssec')
        return {key_tag(rr.rdata) for rr in r.rrs('answer', 'DNSKEY')}

    def hits(self):
        text = urllib.request.urlopen('http://127.0.0.1:%d/metrics' % self.srv.port2,
                                      timeout=5).read().decode()
        m = re.search(r'(?m)^signet_cache_hits_total\{block="example.test."\} (\d+)$', text)
        return int(m.group(1)) if m else 0

    def test_published_key_reaches_cached_dnskey(self):
        before = self.tags()
        h0 = self.hits()
        self.assertEqual(self.tags(), before)
        self.assertEqual(self.hits(), h0 + 1, 'the second DNSKEY answer came from the cache')
        k = ctl(self.db, 'key', 'generate', 'example.test', '--role', 'zsk', as_json=True)
        ctl(self.db, 'key', 'set', str(k['id']), '--publish', 'now')
        deadline = time.monotonic() + 5
        while k['tag'] not in self.tags():
            self.assertLess(time.monotonic(), deadline, 'the cached DNSKEY RRset outlived the key change')
            time.sleep(0.2)
        self.assertEqual(self.tags(), before | {k['tag']})


if __name__ == '__main__':
    signet_test.main()
