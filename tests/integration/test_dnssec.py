#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.dnssec.*: signetd's online signing, validated end to end by a real resolver.

Groups (one CTest test each; `test_dnssec.py --group NAME`, or unittest names):
  modes       nsec, nsec3 and compact denial with ECDSAP256SHA256: every answer kind asked
              through a validating unbound (AD, the right rcode, never SERVFAIL), and the
              same names asked of signetd directly (RRSIGs, TTLs, signer, unsigned glue)
  algorithms  nsec3 with each algorithm (CSK, or KSK+ZSK for some), the same checks; and
              KSK+ZSK with one key object kept (`key-objects 1`)
  delegation  a signed parent and signed, unsigned and bogus children: chain of trust
  keychange   a key published and activated with signetctl while signetd runs
  zonesign    `signetctl zone sign` output accepted by ldns-verify-zone

signetd comes from $SIGNETD, signetctl from $SIGNETCTL (CTest passes the built targets),
unbound from $UNBOUND or the PATH. Python 3 standard library only.
"""

import base64
import calendar
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from signet_test import (FIXTURES, Signetd, ctl, ctl_run, fqdn, remove_workdir,  # noqa: F401
                         stop_servers)  # ctl: others import it from here
from unbound_resolver import Unbound

ZONE = 'example.test.'
ZONE_FILES = ('example.test.zone', 'example.test.inc')
SOA_TTL = 3600     # the SOA's TTL in example.test.zone
NEG_TTL = 300      # min(SOA TTL, MINIMUM): negative answers and NSEC/NSEC3 records
PICKUP = 5.0       # seconds signetd may take to serve a keystore change

ALGORITHMS = {'ECDSAP256SHA256': 13, 'ECDSAP384SHA384': 14, 'ED25519': 15, 'ED448': 16,
              'RSASHA256': 8, 'RSASHA512': 10}

COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore $dir/keystore.db
        policy %s
    }
    file $dir/example.test.zone example.test
    errors
}
'''


# ---- signetctl ---------------------------------------------------------------------

def record_lines(text):
    return [' '.join(l.split()) for l in text.splitlines() if l.strip() and
            not l.startswith(';')]


def rdata_of(line):
    """'owner ttl IN TYPE rdata' -> normalised rdata (upper-case hex/base64 untouched)."""
    f = line.split(None, 4)
    return ' '.join(f[4].split())


# ---- DNSSEC record helpers -----------------------------------------------------------

def key_tag(rdata):
    """RFC 4034 appendix B key tag of a DNSKEY given as presentation rdata."""
    f = rdata.split(None, 3)
    key = base64.b64decode(''.join(f[3].split()))
    wire = struct.pack('!HBB', int(f[0]), int(f[1]), int(f[2])) + key
    ac = 0
    for i, b in enumerate(wire):
        ac += b if i & 1 else b << 8
    ac += (ac >> 16) & 0xffff
    return ac & 0xffff


def parse_rrsig(rr):
    f = rr.rdata.split()
    return {'covered': f[0].upper(), 'alg': int(f[1]), 'labels': int(f[2]),
            'orig_ttl': int(f[3]),
            'expiration': calendar.timegm(time.strptime(f[4], '%Y%m%d%H%M%S')),
            'inception': calendar.timegm(time.strptime(f[5], '%Y%m%d%H%M%S')),
            'tag': int(f[6]), 'signer': f[7].lower()}


def labels(name):
    n = fqdn(name).rstrip('.')
    return len(n.split('.')) if n else 0


def under(name, parent):
    name, parent = fqdn(name).lower(), fqdn(parent).lower()
    return name == parent or name.endswith('.' + parent)


DNSSEC_TYPES = ('RRSIG', 'NSEC', 'NSEC3', 'NSEC3PARAM')


# ---- one signed zone behind one validating unbound -----------------------------------

class SignedZoneBase(unittest.TestCase):
    """signetd serving tests/fixtures/example.test.zone with a fresh keystore and policy,
    and an unbound validating it from our DS. Subclasses set DENIAL, ALGORITHM, KEYS."""

    DENIAL = 'nsec3'
    ALGORITHM = 'ECDSAP256SHA256'
    KEYS = 'csk'       # or 'ksk-zsk'
    POLICY = 'p'
    GLOBAL = ''        # a global options block put before the server block

    @classmethod
    def setUpClass(cls):
        if cls is SignedZoneBase:
            raise unittest.SkipTest('base class')
        cls.dir = tempfile.mkdtemp(prefix='signet-dnssec-')
        cls.srv = cls.ub = None
        try:
            cls.db = os.path.join(cls.dir, 'keystore.db')
            ctl(cls.db, 'policy', 'add', cls.POLICY, '--denial', cls.DENIAL,
                '--algorithm', cls.ALGORITHM.lower(), '--' + cls.KEYS)
            cls.srv = Signetd(cls.GLOBAL + COREFILE % cls.POLICY, ZONE_FILES, workdir=cls.dir)
            cls.srv.start()
            cls.ds = record_lines(ctl(cls.db, 'ds', 'example.test'))
            if not cls.ds:
                raise AssertionError('signetctl ds printed no DS')
            # the DS went to "the parent" (our trust anchor): say so, so that CDS/CDNSKEY
            # are published for it
            for k in ctl(cls.db, 'key', 'list', 'example.test', as_json=True):
                if k['role'] in ('ksk', 'csk'):
                    ctl(cls.db, 'key', 'set', str(k['id']), '--ds-submitted', 'now')
            cls._wait_direct('example.test', 'CDS', lambda r: r.rrs('answer', 'CDS'))
            cls.ub = Unbound(cls.dir, [('example.test', cls.srv.port)], cls.ds)
            cls.ub.start()
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _wait_direct(cls, name, rtype, pred, timeout=PICKUP):
        deadline = time.monotonic() + timeout
        while True:
            r = cls.srv.dig(name, rtype, '+dnssec')
            if pred(r) or time.monotonic() > deadline:
                return r
            time.sleep(0.1)

    @classmethod
    def _teardown(cls):
        if cls.ub is not None:
            cls.ub.stop()
        errors = stop_servers(cls.srv)
        remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    # -- helpers ------------------------------------------------------------------------

    def keys(self):
        return ctl(self.db, 'key', 'list', 'example.test', as_json=True)

    def resolve(self, name, rtype, rcode='NOERROR', ad=True, *opts):
        """Ask unbound; assert the rcode and the AD bit; return the Reply."""
        r = self.ub.dig(name, rtype, *opts)
        why = '%s %s via unbound\n%r\nunbound log tail:\n%s' % (
            name, rtype, r, self.ub.log()[-2500:])
        self.assertNotEqual(r.rcode, 'SERVFAIL', 'SERVFAIL: ' + why)
        self.assertEqual(r.rcode, rcode, 'rcode: ' + why)
        if ad:
            self.assertIn('ad', r.flags, 'AD missing: ' + why)
        else:
            self.assertNotIn('ad', r.flags, 'AD set: ' + why)
        return r

    def assertAnswer(self, r, owner, rtype, rdatas):
        got = sorted(rr.rdata.lower() for rr in r.rrs('answer', rtype, owner))
        self.assertEqual(got, sorted(' '.join(d.split()).lower() for d in rdatas),
                         '%s %s in the answer\n%r' % (owner, rtype, r))

    def assertNoAnswer(self, r, rtype):
        self.assertEqual(r.rrs('answer', rtype), [], 'no %s in the answer\n%r' % (rtype, r))

    def negative_rcode(self):
        return 'NOERROR' if self.DENIAL == 'compact' else 'NXDOMAIN'

    def assertSigned(self, r, zone=ZONE):
        """Every RRset in answer and authority has RRSIGs made by the zone's keys with the
        RRset's TTL as original TTL and as their own TTL; delegation NS and glue have none;
        no RRSIG stands alone."""
        now = time.time()
        dnskey_tags = {key_tag(rr.rdata) for rr in self.dnskeys}
        referral = 'aa' not in r.flags
        for section in ('answer', 'authority', 'additional'):
            sets, sigs = {}, {}
            for rr in r.section(section):
                if rr.type == 'RRSIG':
                    sigs.setdefault((rr.name.lower(), parse_rrsig(rr)['covered']), []).append(rr)
                else:
                    sets.setdefault((rr.name.lower(), rr.type), []).append(rr)
            for (owner, rtype), rrs in sets.items():
                ctx = '%s %s in %s\n%r' % (owner, rtype, section, r)
                mine = sigs.get((owner, rtype), [])
                delegation_ns = rtype == 'NS' and owner != zone.lower() and section == 'authority'
                glue = section == 'additional' and referral
                if delegation_ns or glue:
                    self.assertEqual(mine, [], 'delegation NS and glue are not signed: ' + ctx)
                    continue
                if section == 'additional':
                    continue   # authoritative additional data: signed or not, both fine
                self.assertTrue(mine, 'no RRSIG over ' + ctx)
                ttl = rrs[0].ttl
                for rr in rrs:
                    self.assertEqual(rr.ttl, ttl, 'one TTL per RRset: ' + ctx)
                for s in mine:
                    f = parse_rrsig(s)
                    self.assertEqual(f['signer'], zone.lower(), 'signer: ' + ctx)
                    self.assertEqual(f['alg'], ALGORITHMS[self.ALGORITHM], 'algorithm: ' + ctx)
                    self.assertIn(f['tag'], dnskey_tags, 'key tag not in DNSKEY: ' + ctx)
                    self.assertEqual(s.ttl, ttl, 'RRSIG TTL is the RRset TTL: ' + ctx)
                    if rtype == 'SOA' and section == 'authority':
                        # a negative answer's SOA is served with the negative TTL
                        self.assertEqual(f['orig_ttl'], SOA_TTL, 'original TTL: ' + ctx)
                        self.assertLessEqual(ttl, SOA_TTL, ctx)
                    else:
                        self.assertEqual(f['orig_ttl'], ttl, 'original TTL: ' + ctx)
                    self.assertLessEqual(f['labels'], labels(owner), 'labels: ' + ctx)
                    self.assertLessEqual(f['inception'], now - 1800,
                                         'inception set back for clock skew: ' + ctx)
                    self.assertGreater(f['expiration'], now + 86400, 'expiration: ' + ctx)
            for key in sigs:
                if key not in sets:
                    self.fail('RRSIG over %s %s with no RRset in %s\n%r'
                              % (key[0], key[1], section, r))

    @property
    def dnskeys(self):
        r = self.srv.dig('example.test', 'DNSKEY', '+dnssec')
        return r.rrs('answer', 'DNSKEY')



class ValidationTests:
    """Every answer kind of example.test, through unbound and directly (a mixin for
    SignedZoneBase subclasses)."""

    # -- through unbound ----------------------------------------------------------------

    def test_positive(self):
        r = self.resolve('web.example.test', 'A')
        self.assertAnswer(r, 'web.example.test', 'A', ['127.0.0.14'])
        r = self.resolve('example.test', 'MX')
        self.assertAnswer(r, 'example.test', 'MX', ['10 mail.example.test.'])

    def test_cname_chain(self):
        r = self.resolve('chain1.example.test', 'A')
        self.assertAnswer(r, 'chain1.example.test', 'CNAME', ['chain2.example.test.'])
        self.assertAnswer(r, 'chain2.example.test', 'CNAME', ['chain3.example.test.'])
        self.assertAnswer(r, 'chain3.example.test', 'CNAME', ['web.example.test.'])
        self.assertAnswer(r, 'web.example.test', 'A', ['127.0.0.14'])

    def test_nxdomain(self):
        r = self.resolve('nothere.example.test', 'A', self.negative_rcode())
        self.assertNoAnswer(r, 'A')
        r = self.resolve('deep.er.nothere.example.test', 'TXT', self.negative_rcode())
        self.assertNoAnswer(r, 'TXT')

    def test_nodata(self):
        r = self.resolve('web.example.test', 'MX')
        self.assertNoAnswer(r, 'MX')
        r = self.resolve('example.test', 'SRV')
        self.assertNoAnswer(r, 'SRV')

    def test_empty_non_terminal(self):
        for name in ('b.c.ent.example.test', 'c.ent.example.test'):
            r = self.resolve(name, 'A')
            self.assertNoAnswer(r, 'A')
        r = self.resolve('a.b.c.ent.example.test', 'A')
        self.assertAnswer(r, 'a.b.c.ent.example.test', 'A', ['127.0.0.21'])

    def test_wildcard(self):
        r = self.resolve('x.wild.example.test', 'A')
        self.assertAnswer(r, 'x.wild.example.test', 'A', ['127.0.0.20'])
        r = self.resolve('deeper.y.wild.example.test', 'TXT')
        self.assertAnswer(r, 'deeper.y.wild.example.test', 'TXT', ['"wildcard"'])

    def test_wildcard_nodata(self):
        r = self.resolve('x.wild.example.test', 'MX')
        self.assertNoAnswer(r, 'MX')

    def test_wildcard_cname(self):
        r = self.resolve('foo.cwild.example.test', 'A')
        self.assertAnswer(r, 'foo.cwild.example.test', 'CNAME', ['web.example.test.'])
        self.assertAnswer(r, 'web.example.test', 'A', ['127.0.0.14'])

    def test_apex_dnskey_cds_cdnskey(self):
        r = self.resolve('example.test', 'DNSKEY')
        want = [rdata_of(l) for l in record_lines(ctl(self.db, 'dnskey', 'example.test'))]
        self.assertAnswer(r, 'example.test', 'DNSKEY', want)
        r = self.resolve('example.test', 'CDS')
        want = [rdata_of(l) for l in record_lines(ctl(self.db, 'ds', 'example.test', '--cds'))]
        self.assertTrue(want)
        self.assertAnswer(r, 'example.test', 'CDS', want)
        r = self.resolve('example.test', 'CDNSKEY')
        want = [rdata_of(l) for l in
                record_lines(ctl(self.db, 'dnskey', 'example.test', '--cdnskey'))]
        self.assertTrue(want)
        self.assertAnswer(r, 'example.test', 'CDNSKEY', want)

    def test_ds_at_delegations(self):
        r = self.resolve('sub.example.test', 'DS')
        self.assertAnswer(r, 'sub.example.test', 'DS', [
            '12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF'])
        r = self.resolve('nods.example.test', 'DS')
        self.assertNoAnswer(r, 'DS')

    def test_srv(self):
        r = self.resolve('_sip._udp.example.test', 'SRV')
        self.assertAnswer(r, '_sip._udp.example.test', 'SRV', ['0 5 5060 sip.example.test.'])
        r = self.resolve('sip.example.test', 'A')
        self.assertAnswer(r, 'sip.example.test', 'A', ['127.0.0.22'])

    # -- directly against signetd -------------------------------------------------------

    QUERIES = (('example.test', 'SOA'), ('example.test', 'NS'), ('example.test', 'DNSKEY'),
               ('example.test', 'CDS'), ('example.test', 'CDNSKEY'),
               ('web.example.test', 'A'), ('www.example.test', 'A'),
               ('chain1.example.test', 'A'), ('nothere.example.test', 'A'),
               ('web.example.test', 'MX'), ('b.c.ent.example.test', 'A'),
               ('x.wild.example.test', 'A'), ('x.wild.example.test', 'MX'),
               ('foo.cwild.example.test', 'A'), ('sub.example.test', 'DS'),
               ('nods.example.test', 'DS'), ('www.sub.example.test', 'A'),
               ('www.nods.example.test', 'A'), ('_sip._udp.example.test', 'SRV'),
               ('dangling.example.test', 'A'), ('example.test', 'NSEC3PARAM'))

    def test_direct_without_do_no_dnssec_records(self):
        for name, rtype in self.QUERIES:
            r = self.srv.dig(name, rtype)
            for sec in ('answer', 'authority', 'additional'):
                for rr in r.section(sec):
                    if sec == 'answer' and rr.type == rtype:
                        continue  # RFC 3225 3: a type asked for by name is answered
                    self.assertNotIn(rr.type, DNSSEC_TYPES,
                                     'DNSSEC record without DO: %s %s\n%r' % (name, rtype, r))
            self.assertNotEqual(r.rcode, 'SERVFAIL', '%s %s\n%r' % (name, rtype, r))
        r = self.srv.dig('example.test', 'DNSKEY')
        self.assertTrue(r.rrs('answer', 'DNSKEY'), 'DNSKEY without DO\n%r' % r)

    def test_direct_explicit_dnssec_types(self):
        """NSEC, RRSIG and NSEC3PARAM asked for by name are answered, as BIND and Knot do
        (issue 14: NODATA whose own NSEC listed the type)."""
        r = self.srv.dig('web.example.test', 'RRSIG')
        self.assertEqual(r.rcode, 'NOERROR', r)
        self.assertTrue(r.answer and all(rr.type == 'RRSIG' for rr in r.answer), r)
        covered = {parse_rrsig(rr)['covered'] for rr in r.answer}
        self.assertLessEqual({'A', 'AAAA'}, covered, r)
        r = self.srv.dig('example.test', 'RRSIG', '+dnssec')
        covered = {parse_rrsig(rr)['covered'] for rr in r.rrs('answer', 'RRSIG')}
        self.assertLessEqual({'SOA', 'NS', 'DNSKEY'}, covered, r)
        self.assertEqual(r.rrs('authority', 'SOA'), [], r)
        r = self.srv.dig('web.example.test', 'NSEC', '+dnssec')
        self.assertNotEqual(r.rcode, 'SERVFAIL', r)
        if self.DENIAL in ('nsec', 'compact'):
            # the name's NSEC (compact: the one made for this reply) is the answer
            nsec = r.rrs('answer', 'NSEC', 'web.example.test')
            self.assertEqual(len(nsec), 1, r)
            self.assertEqual(r.rrs('authority', 'SOA'), [], r)
            self.assertSigned(r)
        else:
            # no NSEC at the name: a NODATA whose proof does not claim one
            self.assertEqual(r.rrs('answer', 'NSEC'), [], r)
            for rr in r.rrs('authority', 'NSEC', 'web.example.test'):
                self.assertNotIn(' NSEC ', ' %s ' % rr.rdata.upper(), r)
        r = self.srv.dig('example.test', 'NSEC3PARAM')
        if self.DENIAL == 'nsec3':
            self.assertEqual(len(r.rrs('answer', 'NSEC3PARAM')), 1, 'NSEC3PARAM without DO\n%r' % r)
        self.assertNotEqual(r.rcode, 'SERVFAIL', r)

    def test_direct_with_do_every_rrset_signed(self):
        for name, rtype in self.QUERIES:
            r = self.srv.dig(name, rtype, '+dnssec')
            self.assertNotEqual(r.rcode, 'SERVFAIL', '%s %s\n%r' % (name, rtype, r))
            self.assertSigned(r)

    def test_direct_delegation_ns_and_glue_unsigned(self):
        r = self.srv.dig('www.sub.example.test', 'A', '+dnssec')
        self.assertNotIn('aa', r.flags, 'a referral\n%r' % r)
        self.assertTrue(r.rrs('authority', 'NS', 'sub.example.test'), r)
        self.assertTrue(r.rrs('authority', 'DS', 'sub.example.test'), r)
        self.assertTrue([s for s in r.rrs('authority', 'RRSIG', 'sub.example.test')
                         if parse_rrsig(s)['covered'] == 'DS'], 'RRSIG over the DS\n%r' % r)
        self.assertTrue(r.rrs('additional', 'A', 'ns1.sub.example.test'), 'glue\n%r' % r)
        self.assertSigned(r)
        r = self.srv.dig('www.nods.example.test', 'A', '+dnssec')
        self.assertNotIn('aa', r.flags, 'a referral\n%r' % r)
        self.assertTrue(r.rrs('authority', 'NS', 'nods.example.test'), r)
        self.assertEqual(r.rrs('authority', 'DS'), [], r)
        proof = r.rrs('authority', 'NSEC3' if self.DENIAL == 'nsec3' else 'NSEC')
        self.assertTrue(proof, 'the proof that nods has no DS\n%r' % r)
        self.assertTrue(r.rrs('additional', 'A', 'ns1.nods.example.test'), 'glue\n%r' % r)
        self.assertSigned(r)

    def test_direct_dnskey_holds_published_keys(self):
        tags = sorted(key_tag(rr.rdata) for rr in self.dnskeys)
        published = sorted(k['tag'] for k in self.keys()
                           if k['state'] in ('published', 'ready', 'active', 'retired'))
        self.assertEqual(tags, published, 'DNSKEY RRset vs the keystore\n%r' % self.keys())
        self.assertEqual({k['algorithm'] for k in self.keys()}, {ALGORITHMS[self.ALGORITHM]})
        roles = sorted(k['role'] for k in self.keys())
        self.assertEqual(roles, ['csk'] if self.KEYS == 'csk' else ['ksk', 'zsk'])
        r = self.srv.dig('example.test', 'DNSKEY', '+dnssec')
        self.assertSigned(r)
        sig_tags = {parse_rrsig(s)['tag'] for s in r.rrs('answer', 'RRSIG')}
        ksk_tags = {k['tag'] for k in self.keys() if k['role'] in ('ksk', 'csk')}
        self.assertTrue(sig_tags & ksk_tags, 'DNSKEY RRset signed by the KSK/CSK\n%r' % r)
        if self.KEYS == 'ksk-zsk':
            r = self.srv.dig('web.example.test', 'A', '+dnssec')
            zsk_tags = {k['tag'] for k in self.keys() if k['role'] == 'zsk'}
            self.assertEqual({parse_rrsig(s)['tag'] for s in r.rrs('answer', 'RRSIG')},
                             zsk_tags, 'other RRsets signed by the ZSK only\n%r' % r)

    def test_direct_denial_shape(self):
        r = self.srv.dig('nothere.example.test', 'A', '+dnssec')
        self.assertSigned(r)
        self.assertEqual(r.rrs('authority', 'SOA')[0].ttl, NEG_TTL, r)
        if self.DENIAL == 'nsec':
            self.assertEqual(r.rcode, 'NXDOMAIN', r)
            self.assertTrue(r.rrs('authority', 'NSEC'), r)
            self.assertEqual(r.rrs('authority', 'NSEC3'), [], r)
        elif self.DENIAL == 'nsec3':
            self.assertEqual(r.rcode, 'NXDOMAIN', r)
            n3 = r.rrs('authority', 'NSEC3')
            self.assertTrue(n3, r)
            self.assertEqual(r.rrs('authority', 'NSEC'), [], r)
            for rr in n3:
                # RFC 9276: SHA-1, no opt-out, 0 extra iterations, empty salt
                self.assertEqual(rr.rdata.split()[:4], ['1', '0', '0', '-'], r)
                self.assertEqual(rr.ttl, NEG_TTL, r)
        else:
            # RFC 9824: NOERROR, one NSEC at the name, next \000.name, bitmap with NXNAME
            self.assertEqual(r.rcode, 'NOERROR', r)
            nsec = r.rrs('authority', 'NSEC')
            self.assertEqual(len(nsec), 1, r)
            self.assertEqual(nsec[0].name.lower(), 'nothere.example.test.', r)
            f = nsec[0].rdata.split()
            self.assertEqual(f[0].lower(), '\\000.nothere.example.test.', r)
            types = {t.upper() for t in f[1:]}
            self.assertIn(types, ({'RRSIG', 'NSEC', 'TYPE128'}, {'RRSIG', 'NSEC', 'NXNAME'}),
                          'NSEC bitmap: NXNAME, RRSIG, NSEC only\n%r' % r)
        for rr in r.rrs('authority', 'NSEC') + r.rrs('authority', 'NSEC3'):
            self.assertEqual(rr.ttl, NEG_TTL, r)

    def test_direct_wildcard_signatures(self):
        r = self.srv.dig('x.wild.example.test', 'A', '+dnssec')
        self.assertSigned(r)
        sigs = r.rrs('answer', 'RRSIG', 'x.wild.example.test')
        self.assertTrue(sigs, r)
        if self.DENIAL == 'compact':
            # compact denial signs each expansion as itself (no chain to prove it with)
            for s in sigs:
                self.assertIn(parse_rrsig(s)['labels'], (3, 4), r)
        else:
            # RFC 4035 5.3.4: the wildcard's label count, and the proof that the exact
            # name does not exist (NSEC covering it, or the NSEC3 covering the next closer)
            for s in sigs:
                self.assertEqual(parse_rrsig(s)['labels'], 3, r)
            self.assertTrue(r.rrs('authority', 'NSEC3' if self.DENIAL == 'nsec3' else 'NSEC'),
                            'no proof that x.wild does not exist\n%r' % r)

    def test_direct_srv_additional(self):
        r = self.srv.dig('_sip._udp.example.test', 'SRV', '+dnssec')
        self.assertSigned(r)
        self.assertEqual([rr.rdata for rr in r.rrs('additional', 'A', 'sip.example.test')],
                         ['127.0.0.22'], 'SRV target address in additional\n%r' % r)


def _case(name, denial, algorithm, keys='csk', glob=''):
    return type(name, (ValidationTests, SignedZoneBase), {'DENIAL': denial, 'ALGORITHM': algorithm,
                                          'KEYS': keys, 'GLOBAL': glob, '__module__': __name__})


ModeNsec = _case('ModeNsec', 'nsec', 'ECDSAP256SHA256')
ModeNsec3 = _case('ModeNsec3', 'nsec3', 'ECDSAP256SHA256')
ModeCompact = _case('ModeCompact', 'compact', 'ECDSAP256SHA256')
AlgEcdsaP256 = _case('AlgEcdsaP256', 'nsec3', 'ECDSAP256SHA256', 'ksk-zsk')
AlgEcdsaP384 = _case('AlgEcdsaP384', 'nsec3', 'ECDSAP384SHA384')
AlgEd25519 = _case('AlgEd25519', 'nsec3', 'ED25519')
AlgEd448 = _case('AlgEd448', 'nsec3', 'ED448', 'ksk-zsk')
AlgRsaSha256 = _case('AlgRsaSha256', 'nsec3', 'RSASHA256', 'ksk-zsk')
AlgRsaSha512 = _case('AlgRsaSha512', 'nsec3', 'RSASHA512')
# one key object kept for a KSK and a ZSK: every DNSKEY signature and every other one
# builds its key's object again from the compact form (signer/compact_key.c)
KeyObjectsOne = _case('KeyObjectsOne', 'nsec', 'ECDSAP256SHA256', 'ksk-zsk',
                      '{\n    key-objects 1\n}\n')


# ---- a chain of trust: signed parent, signed / unsigned / bogus children -------------

CHILD_COREFILE = '''
sub.example.test:$port bad.example.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore %s
        policy child
    }
    file $dir/dnssec-child.zone sub.example.test
    file $dir/dnssec-child.zone bad.example.test
    errors
}
nods.example.test:$port {
    bind 127.0.0.1
    file $dir/dnssec-child.zone nods.example.test
    errors
}
'''

PARENT_COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    dnssec {
        keystore %s
        policy parent
    }
    file $dir/example.test.zone example.test
    errors
}
'''

FIXTURE_SUB_DS = ('IN DS   12345 13 2 '
                  '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF')


class Delegation(unittest.TestCase):
    """example.test (nsec, P-256 CSK) delegates to sub (signed: nsec3, Ed25519 KSK+ZSK, DS
    from `signetctl ds` written into the parent at test time), nods (unsigned, no DS) and
    bad (signed, but the parent's DS does not match). Two signetd: the children's first,
    so that their DS exist when the parent's zone file is written."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix='signet-dnssec-deleg-')
        cls.children = cls.parent = cls.ub = None
        try:
            child_dir = os.path.join(cls.dir, 'child')
            parent_dir = os.path.join(cls.dir, 'parent')
            os.mkdir(child_dir)
            os.mkdir(parent_dir)
            cls.child_db = os.path.join(cls.dir, 'child.db')
            cls.parent_db = os.path.join(cls.dir, 'parent.db')
            ctl(cls.child_db, 'policy', 'add', 'child', '--denial', 'nsec3',
                '--algorithm', 'ed25519', '--ksk-zsk')
            ctl(cls.parent_db, 'policy', 'add', 'parent', '--denial', 'nsec',
                '--algorithm', 'ecdsap256sha256', '--csk')
            cls.children = Signetd(CHILD_COREFILE % cls.child_db, ('dnssec-child.zone',),
                                   workdir=child_dir, ready_name='sub.example.test')
            cls.children.start()
            cls.sub_ds = record_lines(ctl(cls.child_db, 'ds', 'sub.example.test'))
            bad_ds = record_lines(ctl(cls.child_db, 'ds', 'bad.example.test'))
            if not cls.sub_ds or not bad_ds:
                raise AssertionError('signetctl ds printed no DS for the children')
            # bad: a DS whose digest matches no key of the child
            f = bad_ds[0].split()
            f[-1] = f[-1][:-1] + ('0' if f[-1][-1] != '0' else '1')
            bad_ds = [' '.join(f)]
            with open(os.path.join(FIXTURES, 'example.test.zone')) as z:
                text = z.read()
            if FIXTURE_SUB_DS not in text:
                raise AssertionError('example.test.zone changed: no "%s" line' % FIXTURE_SUB_DS)
            text = text.replace(FIXTURE_SUB_DS, '; the DS, from signetctl ds:\n' +
                                '\n'.join(cls.sub_ds))
            text += ('\n; added by test_dnssec.py: a delegation whose DS is wrong\n'
                     'bad.example.test. 3600 IN NS ns1.bad.example.test.\n'
                     'ns1.bad.example.test. 3600 IN A 127.0.0.32\n' + '\n'.join(bad_ds) + '\n')
            with open(os.path.join(parent_dir, 'example.test.zone'), 'w') as z:
                z.write(text)
            shutil.copy(os.path.join(FIXTURES, 'example.test.inc'), parent_dir)
            cls.parent = Signetd(PARENT_COREFILE % cls.parent_db, (), workdir=parent_dir)
            cls.parent.start()
            cls.parent_ds = record_lines(ctl(cls.parent_db, 'ds', 'example.test'))
            stubs = [('example.test', cls.parent.port)] + [
                (z, cls.children.port) for z in
                ('sub.example.test', 'nods.example.test', 'bad.example.test')]
            cls.ub = Unbound(cls.dir, stubs, cls.parent_ds)
            cls.ub.start()
        except Exception:
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        if cls.ub is not None:
            cls.ub.stop()
        errors = stop_servers(cls.children, cls.parent)
        remove_workdir(cls.dir)
        if errors:
            raise AssertionError('\n'.join(errors))

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    resolve = SignedZoneBase.resolve
    assertAnswer = SignedZoneBase.assertAnswer
    assertNoAnswer = SignedZoneBase.assertNoAnswer

    def test_parent_validates(self):
        r = self.resolve('web.example.test', 'A')
        self.assertAnswer(r, 'web.example.test', 'A', ['127.0.0.14'])
        r = self.resolve('nothere.example.test', 'A', 'NXDOMAIN')
        self.assertNoAnswer(r, 'A')

    def test_child_ds_at_parent(self):
        r = self.resolve('sub.example.test', 'DS')
        self.assertAnswer(r, 'sub.example.test', 'DS', [rdata_of(l) for l in self.sub_ds])
        # what the parent serves at the delegation, directly
        d = self.parent.dig('www.sub.example.test', 'A', '+dnssec')
        self.assertEqual(sorted(rr.rdata.lower() for rr in d.rrs('authority', 'DS')),
                         sorted(rdata_of(l).lower() for l in self.sub_ds), d)

    def test_child_positive(self):
        r = self.resolve('www.sub.example.test', 'A')
        self.assertAnswer(r, 'www.sub.example.test', 'A', ['127.0.0.50'])
        r = self.resolve('www.sub.example.test', 'TXT')
        self.assertAnswer(r, 'www.sub.example.test', 'TXT', ['"child"'])
        r = self.resolve('sub.example.test', 'SOA')
        self.assertTrue(r.rrs('answer', 'SOA', 'sub.example.test'), r)

    def test_child_dnskey(self):
        r = self.resolve('sub.example.test', 'DNSKEY')
        want = [rdata_of(l) for l in record_lines(ctl(self.child_db, 'dnskey', 'sub.example.test'))]
        self.assertEqual(len(want), 2)
        self.assertAnswer(r, 'sub.example.test', 'DNSKEY', want)

    def test_child_negative_and_wildcard(self):
        r = self.resolve('nothere.sub.example.test', 'A', 'NXDOMAIN')
        self.assertNoAnswer(r, 'A')
        r = self.resolve('www.sub.example.test', 'MX')
        self.assertNoAnswer(r, 'MX')
        r = self.resolve('x.wild.sub.example.test', 'A')
        self.assertAnswer(r, 'x.wild.sub.example.test', 'A', ['127.0.0.51'])

    def test_insecure_delegation(self):
        # the parent proves there is no DS: that answer is itself validated...
        r = self.resolve('nods.example.test', 'DS')
        self.assertNoAnswer(r, 'DS')
        # ...so the child's answers are insecure: no AD, and not SERVFAIL
        r = self.resolve('www.nods.example.test', 'A', 'NOERROR', False)
        self.assertAnswer(r, 'www.nods.example.test', 'A', ['127.0.0.50'])
        r = self.resolve('nothere.nods.example.test', 'A', 'NXDOMAIN', False)
        self.assertNoAnswer(r, 'A')

    def test_bogus_delegation_fails_validation(self):
        # the guard that proves validation is real: a DS that matches no key is SERVFAIL
        r = self.ub.dig('www.bad.example.test', 'A')
        self.assertEqual(r.rcode, 'SERVFAIL', 'a wrong DS must not validate\n%r' % r)
        r = self.ub.dig('www.bad.example.test', 'A', '+cd')
        self.assertEqual(r.rcode, 'NOERROR', 'with CD the data is there\n%r' % r)
        self.assertAnswer(r, 'www.bad.example.test', 'A', ['127.0.0.50'])


# ---- keys changed while signetd runs ------------------------------------------------

class KeyChange(SignedZoneBase):
    """nsec3, P-256 CSK; a ZSK is generated, published, activated and retired with
    signetctl while signetd and unbound run."""

    DENIAL = 'nsec3'
    ALGORITHM = 'ECDSAP256SHA256'
    KEYS = 'csk'

    def wait_for(self, name, rtype, pred, what, timeout=PICKUP):
        t0 = time.monotonic()
        while True:
            r = self.srv.dig(name, rtype, '+dnssec')
            if pred(r):
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                self.fail('%s not served within %.0fs\n%r\nsignetd log:\n%s'
                          % (what, timeout, r, self.srv.log()[-3000:]))
            time.sleep(0.1)

    def sig_tags(self, r, section='answer'):
        return {parse_rrsig(s)['tag'] for s in r.rrs(section, 'RRSIG')}

    def validates(self):
        r = self.resolve('web.example.test', 'A')
        self.assertAnswer(r, 'web.example.test', 'A', ['127.0.0.14'])
        self.resolve('nothere.example.test', 'A', 'NXDOMAIN')
        self.resolve('x.wild.example.test', 'A')
        self.resolve('web.example.test', 'MX')
        return self.resolve('example.test', 'DNSKEY')

    def test_key_changes_picked_up(self):
        csk = [k['tag'] for k in self.keys()]
        self.assertEqual(len(csk), 1)
        k = ctl(self.db, 'key', 'generate', 'example.test', '--role', 'zsk', as_json=True)
        kid, tag = str(k['id']), k['tag']
        self.assertEqual(k['state'], 'generated', k)
        self.assertNotIn(tag, {key_tag(rr.rdata) for rr in self.dnskeys})

        ctl(self.db, 'key', 'set', kid, '--publish', 'now')
        self.wait_for('example.test', 'DNSKEY',
                      lambda r: tag in {key_tag(rr.rdata) for rr in r.rrs('answer', 'DNSKEY')},
                      'the published key %d in DNSKEY' % tag)
        r = self.validates()
        self.assertIn(tag, {key_tag(rr.rdata) for rr in r.rrs('answer', 'DNSKEY')}, r)
        d = self.srv.dig('web.example.test', 'A', '+dnssec')
        self.assertEqual(self.sig_tags(d), set(csk), 'published, not yet signing\n%r' % d)

        ctl(self.db, 'key', 'set', kid, '--activate', 'now')
        self.wait_for('web.example.test', 'A', lambda r: tag in self.sig_tags(r),
                      'an RRSIG by the activated key %d' % tag)
        self.validates()
        d = self.srv.dig('nothere.example.test', 'A', '+dnssec')
        self.assertIn(tag, self.sig_tags(d, 'authority'), d)
        d = self.srv.dig('example.test', 'DNSKEY', '+dnssec')
        self.assertEqual(self.sig_tags(d), set(csk), 'DNSKEY signed by the CSK only\n%r' % d)

        ctl(self.db, 'key', 'set', kid, '--retire', 'now')
        self.wait_for('web.example.test', 'A', lambda r: tag not in self.sig_tags(r),
                      'no RRSIG by the retired key %d' % tag)
        self.validates()
        tags = sorted(key_tag(rr.rdata) for rr in self.dnskeys)
        published = sorted(k['tag'] for k in self.keys()
                           if k['state'] in ('published', 'ready', 'active', 'retired'))
        self.assertEqual(tags, published, 'DNSKEY RRset vs the keystore\n%r' % self.keys())


# ---- the whole zone signed offline --------------------------------------------------

class ZoneSign(unittest.TestCase):
    """`signetctl zone sign` writes a master file that ldns-verify-zone accepts."""

    def sign(self, denial, algorithm='ecdsap256sha256', keys='csk', extra=()):
        d = tempfile.mkdtemp(prefix='signet-zonesign-')
        self.addCleanup(shutil.rmtree, d, True)
        db = os.path.join(d, 'keystore.db')
        ctl(db, 'policy', 'add', 'p', '--denial', denial, '--algorithm', algorithm, '--' + keys)
        ctl(db, 'zone', 'add', 'example.test', '--policy', 'p')
        for role in (('csk',) if keys == 'csk' else ('ksk', 'zsk')):
            k = ctl(db, 'key', 'generate', 'example.test', '--role', role, as_json=True)
            ctl(db, 'key', 'set', str(k['id']), '--publish', 'now', '--activate', 'now')
        out = os.path.join(d, 'signed.zone')
        self.sign_out = ctl_run(db, 'zone', 'sign', 'example.test', '--zonefile',
                                os.path.join(FIXTURES, 'example.test.zone'), '--out', out,
                                *extra)
        self.assertEqual(self.sign_out.returncode, 0, self.sign_out.stderr)
        self.db = db
        p = subprocess.run(['ldns-verify-zone', out], capture_output=True, text=True,
                           timeout=300)
        with open(out) as f:
            text = f.read()
        self.assertEqual(p.returncode, 0, 'ldns-verify-zone %s: exit %d\n%s%s\n%s'
                         % (out, p.returncode, p.stdout, p.stderr, text[:6000]))
        types = [l.split()[3] for l in text.splitlines()
                 if l.strip() and not l.startswith(';') and len(l.split()) > 3]
        self.assertIn('DNSKEY', types)
        self.assertIn('RRSIG', types)
        return types

    def test_nsec(self):
        types = self.sign('nsec')
        self.assertIn('NSEC', types)
        self.assertNotIn('NSEC3', types)

    def test_nsec3(self):
        types = self.sign('nsec3')
        self.assertIn('NSEC3', types)
        self.assertIn('NSEC3PARAM', types)
        self.assertNotIn('NSEC', types)

    def test_nsec3_ksk_zsk_ed25519(self):
        types = self.sign('nsec3', 'ed25519', 'ksk-zsk')
        self.assertIn('NSEC3', types)

    def test_compact_policy_gets_nsec_chain(self):
        types = self.sign('compact')
        self.assertIn('NSEC', types)

    def test_threads_verbose(self):
        """--threads N signs on N threads; --verbose gives each phase's wall and CPU time;
        a thread count that is not a number from 1 to 64 is a usage error, nothing written."""
        types = self.sign('nsec3', extra=('--threads', '3', '--verbose'))
        self.assertIn('NSEC3', types)
        err = self.sign_out.stderr
        self.assertIn('3 threads', err)
        for phase in ('parse', 'sort', 'chain', 'sign+write', 'total'):
            self.assertRegex(err, r'\n  %s +wall +[0-9.]+ s  cpu +[0-9.]+ s' % re.escape(phase))
        for bad in ('0', '65', 'x', '2x'):
            out = os.path.join(os.path.dirname(self.db), 'bad-%s.zone' % bad)
            p = ctl_run(self.db, 'zone', 'sign', 'example.test', '--zonefile',
                        os.path.join(FIXTURES, 'example.test.zone'), '--out', out,
                        '--threads', bad)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn('--threads takes a number from 1 to 64', p.stderr)
            self.assertFalse(os.path.exists(out))


# ---- running ---------------------------------------------------------------------------

GROUPS = {
    'modes': (ModeNsec, ModeNsec3, ModeCompact),
    'algorithms': (AlgEcdsaP256, AlgEcdsaP384, AlgEd25519, AlgEd448, AlgRsaSha256,
                   AlgRsaSha512, KeyObjectsOne),
    'delegation': (Delegation,),
    'keychange': (KeyChange,),
    'zonesign': (ZoneSign,),
}


def load_tests(loader, standard_tests, pattern):
    suite = unittest.TestSuite()
    for classes in GROUPS.values():
        for c in classes:
            suite.addTests(loader.loadTestsFromTestCase(c))
    return suite


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == '--group':
        if args[1] not in GROUPS:
            sys.exit('unknown group %r (%s)' % (args[1], ', '.join(GROUPS)))
        loader = unittest.TestLoader()
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in GROUPS[args[1]])
        result = unittest.TextTestRunner(verbosity=2).run(suite)
        sys.exit(0 if result.wasSuccessful() else 1)
    unittest.main(verbosity=2)


if __name__ == '__main__':
    main()
