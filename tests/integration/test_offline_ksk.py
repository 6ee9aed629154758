# SPDX-License-Identifier: MIT
"""integ.offline_ksk: the KSK lives in another keystore and signs ahead of time (issue 19).

Two keystores, as an operator would run them: offline.db holds the KSK (made there, its
private key never leaves), online.db holds the ZSKs and the KSK's public half only. On the
online side `signetctl ksr generate` plans the ZSKs for a period and writes the request;
the offline side signs it (`ksr sign`); the online side checks and imports the response
(`skr import`) and signetd serves the bundle of the current slot. unbound, whose trust
anchor is the offline KSK's DS, validates every answer through the ZSK rollovers the
request planned; libfaketime moves signetd and unbound into a later slot and past the end.
`zone sign` output and an AXFR pass ldns-verify-zone trusting the offline KSK, and kdig
sees its signature. A tampered response is refused naming the record; a missing bundle makes the
warning fire.
"""

import os
import re
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import signet_test
from signet_test import Signetd, ctl, ctl_run
from unbound_resolver import Unbound

FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1'
ZONE = 'offline.test'
POLICY = ['--ksk-zsk', '--zsk-lifetime', '20s', '--dnskey-ttl', '2s',
          '--zone-propagation-delay', '1s', '--zone-max-ttl', '2s',
          '--signature-validity', '1h', '--signature-refresh', '20m', '--signature-jitter', '1m']

COREFILE = """
offline.test:$port {
    bind 127.0.0.1
    file $dir/offline.test.zone
    dnssec {
        keystore $dir/online.db
        policy split
    }
    transfer {
        to 127.0.0.1
    }
    prometheus 127.0.0.1:$port2
    ready 127.0.0.1:$port2 {
        monitor continuously
    }
}
"""

ZONE_TEXT = """$ORIGIN offline.test.
$TTL 2
@ SOA ns hostmaster 1 60 60 600 2
@ NS ns
ns A 127.0.0.1
www A 192.0.2.1
mail A 192.0.2.2
"""


def record_lines(text):
    return [' '.join(l.split()) for l in text.splitlines() if l.strip() and not l.startswith(';')]


class OfflineKsk(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='signet-offline-ksk-')
        self.off = os.path.join(self.dir, 'offline.db')
        self.on = os.path.join(self.dir, 'online.db')
        self.srv = self.ub = None
        for db in (self.off, self.on):
            ctl(db, 'policy', 'add', 'split', *POLICY)
            ctl(db, 'zone', 'add', ZONE, '--policy', 'split')
        # offline: the KSK, published and active now; only its DNSKEY leaves
        ctl(self.off, 'key', 'generate', ZONE, '--role', 'ksk')
        ksk = ctl(self.off, 'key', 'list', ZONE, as_json=True)[0]
        self.ksk_tag = ksk['tag']
        ctl(self.off, 'key', 'set', str(ksk['id']), '--publish', 'now', '--activate', 'now')
        self.write('ksk.key', ctl(self.off, 'key', 'export', str(ksk['id'])))
        ctl(self.on, 'key', 'import', ZONE, self.path('ksk.key'), '--public', '--role', 'ksk')
        self.ds = record_lines(ctl(self.off, 'ds', ZONE))
        self.write('offline.test.zone', ZONE_TEXT)

    def tearDown(self):
        if self.ub:
            self.ub.stop()
        signet_test.stop_and_remove(self.dir, *[s for s in (self.srv,) if s])

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), 'w') as f:
            f.write(text)

    def round_trip(self, to='now+10m', edit=None):
        """KSR online -> signed offline -> (edit) -> imported online; the import's process."""
        self.write('ksr', ctl(self.on, 'ksr', 'generate', ZONE, '--to', to))
        skr = ctl(self.off, 'ksr', 'sign', ZONE, self.path('ksr'))
        if edit:
            skr = edit(skr)
        self.write('skr', skr)
        return ctl_run(self.on, 'skr', 'import', ZONE, self.path('skr'))

    def with_faketime(self, offset, start):
        saved = dict(os.environ)
        if offset:
            os.environ['LD_PRELOAD'] = FAKETIME_LIB
            os.environ['FAKETIME'] = '+%ds' % offset
            os.environ['FAKETIME_DONT_FAKE_MONOTONIC'] = '1'
            os.environ['ASAN_OPTIONS'] = ':'.join(filter(None, [os.environ.get('ASAN_OPTIONS'),
                                                                'verify_asan_link_order=0']))
        try:
            start()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def start(self, offset=0):
        self.srv = Signetd(COREFILE, workdir=self.dir, ready_name=ZONE)
        self.with_faketime(offset, self.srv.start)
        self.ub = Unbound(self.dir, [(ZONE, self.srv.port)], self.ds)
        self.with_faketime(offset, self.ub.start)

    def stop(self):
        self.ub.stop()
        self.ub = None
        self.assertEqual(self.srv.stop(), 0)
        self.srv = None

    def scrape(self):
        url = 'http://127.0.0.1:%d/metrics' % self.srv.port2
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()

    @staticmethod
    def http_status(url):
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    @staticmethod
    def http_body(url):
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            return e.read().decode()

    def skr_seconds(self):
        for line in self.scrape().splitlines():
            if line.startswith('signet_skr_valid_until_seconds{'):
                return float(line.split()[-1])
        return None

    def rrsig_tags(self, name, rtype='A'):
        r = self.srv.dig(name, rtype, '+dnssec')
        return sorted(int(rr.rdata.split()[6]) for rr in r.rrs('answer', 'RRSIG'))

    def zsk_at(self, t):
        """The ZSK tags the plan has signing at time t."""
        return [k['tag'] for k in ctl(self.on, 'key', 'list', ZONE, as_json=True)
                if k['role'] == 'zsk' and k['active'] and k['active'] <= t < (k['retire'] or 2**62)]

    def test_rollovers_inside_the_schedule(self):
        p = self.round_trip()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('signed bundles imported', p.stdout)
        # the online keystore never held the KSK's private key
        rows = subprocess.run(['sqlite3', self.on, "SELECT role, storage FROM keys WHERE role = 'ksk'"],
                              capture_output=True, text=True, check=True).stdout.split()
        self.assertEqual(rows, ['ksk|none'])
        zsks = [k['tag'] for k in ctl(self.on, 'key', 'list', ZONE, as_json=True) if k['role'] == 'zsk']
        self.assertGreater(len(zsks), 10, 'the request did not pre-plan the ZSKs')
        self.start()
        # ready: the zone signs with its ZSKs and serves the pre-signed DNSKEY set, though no
        # KSK private key is online (it said 'no active signing keys' before)
        url = 'http://127.0.0.1:%d/ready' % self.srv.port2
        ok = signet_test.wait_for(lambda: self.http_status(url) == 200, 10)
        self.assertTrue(ok, 'not ready: %s' % self.http_body(url))
        # DNSKEY, CDS and CDNSKEY are signed by the offline KSK alone
        for t in ('DNSKEY', 'CDS', 'CDNSKEY'):
            self.assertEqual(self.rrsig_tags(ZONE, t), [self.ksk_tag], t)
        r = self.ub.dig(ZONE, 'DNSKEY')
        self.assertIn('ad', r.flags, 'unbound did not validate the DNSKEY RRset: %r' % r)
        # ZSK rollovers as planned, every answer validated
        deadline = time.monotonic() + 60 * signet_test.SLOWDOWN
        bogus, seen = [], []
        queries = [('www.' + ZONE, 'A'), ('mail.' + ZONE, 'A'), (ZONE, 'SOA'), (ZONE, 'DNSKEY')]
        i = 0
        while time.monotonic() < deadline and len(seen) < 3:
            qn, rtype = queries[i % len(queries)]
            i += 1
            r = self.ub.dig(qn, rtype)
            if r.rcode != 'NOERROR' or 'ad' not in r.flags:
                bogus.append((qn, rtype, r.rcode, r.flags))
            tags = self.rrsig_tags('www.' + ZONE)
            for t in tags:
                if t not in seen:
                    seen.append(t)
            time.sleep(0.3)
        self.assertEqual(bogus, [], 'answers not validated:\n%s\n%s' %
                         (self.ub.log()[-2000:], self.srv.log()[-2000:]))
        self.assertGreaterEqual(len(seen), 3, 'fewer than two ZSK rollovers seen: %s' % seen)
        self.assertTrue(set(seen) <= set(zsks), 'a ZSK outside the plan signed: %s' % seen)
        # the bundles end in ten minutes: the gauge says so, and the log warned once
        self.assertTrue(signet_test.wait_for(lambda: self.skr_seconds() is not None, 10), self.scrape())
        secs = self.skr_seconds()
        self.assertTrue(0 < secs <= 600, secs)
        self.assertIsNotNone(self.srv.wait_log(r'\[WARN\] dnssec: offline\.test\.: offline KSK: '
                                               r'running out', 0, 5), self.srv.log()[-2000:])
        self.assertEqual(len(re.findall(r'offline KSK: running out', self.srv.log())), 1)

    @unittest.skipUnless(os.path.exists(FAKETIME_LIB), 'libfaketime (package faketime) is not installed')
    def test_later_slot_and_past_the_end(self):
        p = self.round_trip(to='now+10m')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        t0 = time.time()
        # six minutes on: a later slot, a ZSK many rollovers on
        self.start(offset=360)
        # the ZSK the plan has signing then (a rollover may fall between the two reads)
        before = self.zsk_at(time.time() + 360)
        tags = self.rrsig_tags('www.' + ZONE)
        after = self.zsk_at(time.time() + 360)
        self.assertTrue(tags in (before, after), (tags, before, after))
        self.assertNotIn(self.zsk_at(t0)[0], tags)
        for name in ('www', 'mail'):
            r = self.ub.dig(name + '.' + ZONE, 'A')
            self.assertIn('ad', r.flags, 'not validated in a later slot: %r\n%s' % (r, self.ub.log()[-2000:]))
        self.assertEqual(self.rrsig_tags(ZONE, 'DNSKEY'), [self.ksk_tag])
        self.stop()
        # past the end: the last bundle is still served (its RRSIGs run 20 minutes longer),
        # and that is said loudly
        self.start(offset=15 * 60)
        r = self.ub.dig('www.' + ZONE, 'A')
        self.assertIn('ad', r.flags, r)
        r = self.ub.dig(ZONE, 'DNSKEY')
        self.assertIn('ad', r.flags, r)
        self.assertIsNotNone(self.srv.wait_log(r'\[ERROR\] .*offline KSK: (no signed bundle for now|'
                                               r'the signed key bundles ran out)', 0, 10),
                             self.srv.log()[-2000:])
        # the gauge comes with the keyman's first reading after the step
        self.assertTrue(signet_test.wait_for(lambda: self.skr_seconds() is not None, 10), self.scrape())
        self.assertLess(self.skr_seconds(), 0)
        st = ctl_run(self.on, 'skr', 'status', ZONE, now=time.time() + 15 * 60)
        self.assertEqual(st.returncode, 1, st.stdout)
        self.assertIn('run out', st.stdout)

    def test_whole_zone_signed_and_verified(self):
        """`zone sign` of the online keystore: the offline KSK's bundle signs the key
        RRsets, the ZSK the rest; ldns-verify-zone (trusting the offline KSK) and kdig
        agree."""
        p = self.round_trip()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = self.path('signed.zone')
        ctl(self.on, 'zone', 'sign', ZONE, '--zonefile', self.path('offline.test.zone'), '--out', out)
        v = subprocess.run(['ldns-verify-zone', '-k', self.path('ksk.key'), out],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        with open(out) as f:
            signed = f.read()
        sigs = [x for x in (l.split() for l in signed.splitlines()) if len(x) > 10 and x[3] == 'RRSIG']
        self.assertEqual({int(x[10]) for x in sigs if x[4] == 'DNSKEY'}, {self.ksk_tag})
        self.assertNotIn(self.ksk_tag, {int(x[10]) for x in sigs if x[4] == 'A'})
        # served: kdig +dnssec sees the offline signature over DNSKEY
        self.srv = Signetd(COREFILE, workdir=self.dir, ready_name=ZONE)
        self.srv.start()
        k = subprocess.run(['kdig', '@127.0.0.1', '-p', str(self.srv.port), '+dnssec', '+norec',
                            ZONE, 'DNSKEY'], capture_output=True, text=True, timeout=30)
        self.assertRegex(k.stdout, r'RRSIG\s+DNSKEY 13 2 2 \d+ \d+ %d offline\.test\.' % self.ksk_tag,
                         k.stdout)
        # and what a secondary gets by AXFR verifies the same way
        x = subprocess.run(['kdig', '@127.0.0.1', '-p', str(self.srv.port), '+nocomments',
                            '+nostats', '+noquestion', ZONE, 'AXFR'],
                           capture_output=True, text=True, timeout=60)
        self.write('axfr.zone', x.stdout)
        self.assertRegex(x.stdout, r'RRSIG\s+DNSKEY 13 2 2 \d+ \d+ %d offline\.test\.' % self.ksk_tag,
                         x.stdout[:3000])
        v = subprocess.run(['ldns-verify-zone', '-k', self.path('ksk.key'), self.path('axfr.zone')],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr + x.stdout[:3000])

    def test_tampered_response_refused(self):
        def flip_sig(skr):
            lines = skr.splitlines(True)
            for i, l in enumerate(lines):
                if '\tRRSIG\tDNSKEY' in l or ' RRSIG DNSKEY' in l:
                    sig = l.rstrip('\n')
                    c = sig[-6]
                    lines[i] = sig[:-6] + ('A' if c != 'A' else 'B') + sig[-5:] + '\n'
                    return ''.join(lines)
            self.fail('no RRSIG DNSKEY in the response')
        p = self.round_trip(edit=flip_sig)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertRegex(p.stderr, r'slot \d{14} \d{14}: RRSIG refused \(.*\): offline\.test\.\s+2\s+IN\s+RRSIG\s+DNSKEY')
        self.assertIn('nothing stored', p.stderr)
        st = ctl_run(self.on, 'skr', 'status', ZONE)
        self.assertNotRegex(st.stdout, r'Z\s+signed')
        self.assertIn('none imported', st.stdout)

        def swap_zsk(skr):
            # a DNSKEY the online side never requested (here: the KSK's, as a ZSK)
            key = ctl(self.off, 'key', 'list', ZONE, as_json=True)[0]
            dnskey = record_lines(ctl(self.off, 'key', 'export', str(key['id'])))[0].split()
            extra = '%s 2 IN DNSKEY 256 3 13 %s\n' % (dnskey[0], dnskey[-1])
            return skr.replace(';; slot', extra + ';; slot', 2).replace(extra, '', 1)
        p = self.round_trip(edit=swap_zsk)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn('DNSKEY neither requested nor a KSK', p.stderr)

    def test_missing_bundle_warns(self):
        # the negative control: a slot still to come without its bundle
        def drop_third_slot(skr):
            parts = skr.split(';; slot')
            del parts[3]
            return ';; slot'.join(parts)
        p = self.round_trip(edit=drop_third_slot)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        st = ctl_run(self.on, 'skr', 'status', ZONE, '--warn', '1m')
        self.assertEqual(st.returncode, 1, st.stdout)
        self.assertIn('MISSING', st.stdout)
        self.assertIn('a slot still to come has no signed bundle', st.stdout)
        self.start()
        self.assertIsNotNone(self.srv.wait_log(r'offline KSK: a planned slot has no signed bundle', 0, 10),
                             self.srv.log()[-2000:])



if __name__ == '__main__':
    unittest.main(verbosity=2)
