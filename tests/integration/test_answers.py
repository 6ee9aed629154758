#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""integ.answers: authoritative answers from tests/fixtures/example.test.zone, one test per
behaviour of issue 2, asked with dig over UDP and again with kdig over TCP."""

import struct

import signet_test
from signet_test import ServerCase

COREFILE = '''
example.test:$port other.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone example.test
    file $dir/other.test.zone other.test
    errors
}
'''

NEG_TTL = 300  # min(SOA TTL 3600, MINIMUM 300) in example.test


class AnswersUDP(ServerCase):
    """Each test queries like a resolver would; this class with dig over UDP."""

    COREFILE = COREFILE
    FILES = ('example.test.zone', 'example.test.inc', 'other.test.zone')
    TCP = False

    def q(self, name, rtype='A', *opts):
        return self.dig(name, rtype, *opts, tcp=self.TCP)

    # -- plain answers ------------------------------------------------------------------

    def test_aa_bit_and_noerror_answer(self):
        r = self.q('example.test', 'A')
        self.assertAnswered(r, 'example.test', 'A', ['127.0.0.10'])
        self.assertEqual(r.answer[0].ttl, 3600)
        self.assertFlag(r, 'qr')
        self.assertEqual(r.question[0][0].lower(), 'example.test.')
        self.assertEqual(r.question[0][2], 'A')

    def test_rd_copied_ra_not_set(self):
        r = self.q('web.example.test', 'AAAA', '+rec')
        self.assertAnswered(r, 'web.example.test', 'AAAA', ['::14'])
        self.assertFlag(r, 'rd')
        self.assertFlag(r, 'ra', False)
        r = self.q('web.example.test', 'AAAA')
        self.assertFlag(r, 'rd', False)

    def test_soa_at_apex(self):
        r = self.q('example.test', 'SOA')
        self.assertAnswered(r, 'example.test', 'SOA', [
            'ns1.example.test. hostmaster.example.test. 2026112501 7200 3600 1209600 300'])

    def test_nxdomain_with_soa(self):
        r = self.q('nothere.example.test', 'A')
        self.assertNegative(r, 'NXDOMAIN', 'example.test', NEG_TTL)
        r = self.q('deep.er.nothere.example.test', 'TXT')
        self.assertNegative(r, 'NXDOMAIN', 'example.test', NEG_TTL)

    def test_nodata_with_soa(self):
        r = self.q('web.example.test', 'MX')
        self.assertNegative(r, 'NOERROR', 'example.test', NEG_TTL)
        r = self.q('example.test', 'SRV')
        self.assertNegative(r, 'NOERROR', 'example.test', NEG_TTL)

    def test_negative_ttl_is_soa_ttl_when_lower(self):
        # other.test: SOA TTL 60 < MINIMUM 3600
        r = self.q('nothere.other.test', 'A')
        self.assertNegative(r, 'NXDOMAIN', 'other.test', 60)
        r = self.q('www.other.test', 'MX')
        self.assertNegative(r, 'NOERROR', 'other.test', 60)

    # -- CNAME --------------------------------------------------------------------------

    def test_cname(self):
        r = self.q('www.example.test', 'A')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertRRs(r, 'answer', ['www.example.test CNAME web.example.test.',
                                     'web.example.test A 127.0.0.14'])
        self.assertEqual(r.answer[0].type, 'CNAME', 'the CNAME comes first\n%r' % r)

    def test_cname_query_for_cname_type(self):
        r = self.q('www.example.test', 'CNAME')
        self.assertAnswered(r, 'www.example.test', 'CNAME', ['web.example.test.'])

    def test_cname_chain_in_zone(self):
        r = self.q('chain1.example.test', 'AAAA')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertEqual([(rr.name.lower(), rr.type, rr.rdata.lower()) for rr in r.answer], [
            ('chain1.example.test.', 'CNAME', 'chain2.example.test.'),
            ('chain2.example.test.', 'CNAME', 'chain3.example.test.'),
            ('chain3.example.test.', 'CNAME', 'web.example.test.'),
            ('web.example.test.', 'AAAA', '::14'),
        ], 'the chain, in order\n%r' % r)

    def test_dangling_cname_nxdomain(self):
        # RFC 6604: the rcode is the one of the last name in the chain
        r = self.q('dangling.example.test', 'A')
        self.assertRcode(r, 'NXDOMAIN')
        self.assertFlag(r, 'aa')
        self.assertRRs(r, 'answer', ['dangling.example.test CNAME nothere.example.test.'])
        soas = r.rrs('authority', 'SOA')
        self.assertEqual([s.name.lower() for s in soas], ['example.test.'], repr(r))
        self.assertEqual(soas[0].ttl, NEG_TTL)

    def test_cname_into_child_zone_gets_referral(self):
        """RFC 1034 4.3.2 step 3b: the chain enters a delegated child; the referral follows
        the CNAME, as Knot answers (issue 14: it ended at the CNAME)."""
        r = self.q('tochild.example.test', 'A', '+dnssec')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertEqual([(rr.name.lower(), rr.type) for rr in r.answer if rr.type == 'CNAME'],
                         [('tochild.example.test.', 'CNAME')], repr(r))
        self.assertEqual(sorted(rr.rdata for rr in r.rrs('authority', 'NS')), sorted(self.SUB_NS), repr(r))
        self.assertEqual([rr.rdata for rr in r.rrs('authority', 'DS')], [self.SUB_DS], repr(r))
        self.assertRRs(r, 'additional', self.SUB_GLUE)

    def test_https_target_addresses_in_additional(self):
        """RFC 9460 4.2: the A/AAAA of an SVCB/HTTPS target in the zone go in additional
        (issue 14); TargetName "." is the owner."""
        r = self.q('svc.example.test', 'HTTPS')
        self.assertRcode(r, 'NOERROR')
        self.assertRRs(r, 'additional', ['web.example.test A 127.0.0.14', 'web.example.test AAAA ::14'])
        r = self.q('svcself.example.test', 'HTTPS')
        self.assertRRs(r, 'additional', ['svcself.example.test A 127.0.0.23'])

    def test_cname_chain_to_nodata(self):
        r = self.q('www.example.test', 'MX')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertRRs(r, 'answer', ['www.example.test CNAME web.example.test.'])
        self.assertEqual(len(r.rrs('authority', 'SOA')), 1, repr(r))

    def test_cname_out_of_zone(self):
        r = self.q('outside.example.test', 'A')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertRRs(r, 'answer', ['outside.example.test CNAME www.example.org.'])
        self.assertEqual(r.authority, [], 'nothing to say about example.org\n%r' % r)

    def test_cname_loop_terminates(self):
        r = self.q('loop1.example.test', 'A')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        # each CNAME of the loop once, then stop
        self.assertRRs(r, 'answer', ['loop1.example.test CNAME loop2.example.test.',
                                     'loop2.example.test CNAME loop1.example.test.'])

    # -- wildcards (RFC 4592) -----------------------------------------------------------

    def test_wildcard_synthesis(self):
        r = self.q('foo.wild.example.test', 'A')
        self.assertAnswered(r, 'foo.wild.example.test', 'A', ['127.0.0.20'])
        r = self.q('foo.wild.example.test', 'TXT')
        self.assertAnswered(r, 'foo.wild.example.test', 'TXT', ['"wildcard"'])
        # closest encloser wild.example.test: two labels below still match
        r = self.q('a.b.wild.example.test', 'A')
        self.assertAnswered(r, 'a.b.wild.example.test', 'A', ['127.0.0.20'])

    def test_wildcard_owner_queried_literally(self):
        r = self.q('*.wild.example.test', 'A')
        self.assertAnswered(r, '*.wild.example.test', 'A', ['127.0.0.20'])

    def test_wildcard_nodata(self):
        r = self.q('foo.wild.example.test', 'MX')
        self.assertNegative(r, 'NOERROR', 'example.test', NEG_TTL)

    def test_wildcard_cname(self):
        r = self.q('foo.cwild.example.test', 'A')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertRRs(r, 'answer', ['foo.cwild.example.test CNAME web.example.test.',
                                     'web.example.test A 127.0.0.14'])
        self.assertEqual(r.answer[0].type, 'CNAME')

    def test_wildcard_parent_is_empty_non_terminal(self):
        # wild.example.test exists only as the parent of *.wild: NODATA, not NXDOMAIN
        r = self.q('wild.example.test', 'A')
        self.assertNegative(r, 'NOERROR', 'example.test', NEG_TTL)

    def test_no_wildcard_match_outside_its_parent(self):
        r = self.q('foo.example.test', 'A')
        self.assertNegative(r, 'NXDOMAIN', 'example.test', NEG_TTL)

    # -- empty non-terminals ------------------------------------------------------------

    def test_empty_non_terminal_nodata(self):
        for name in ('c.ent.example.test', 'b.c.ent.example.test', 'ent.example.test'):
            r = self.q(name, 'A')
            self.assertNegative(r, 'NOERROR', 'example.test', NEG_TTL)
        r = self.q('a.b.c.ent.example.test', 'A')
        self.assertAnswered(r, 'a.b.c.ent.example.test', 'A', ['127.0.0.21'])

    def test_below_empty_non_terminal_nxdomain(self):
        r = self.q('x.c.ent.example.test', 'A')
        self.assertNegative(r, 'NXDOMAIN', 'example.test', NEG_TTL)
        r = self.q('x.b.c.ent.example.test', 'A')
        self.assertNegative(r, 'NXDOMAIN', 'example.test', NEG_TTL)

    # -- delegations --------------------------------------------------------------------

    def assertReferral(self, r, cut, ns, glue, ds=None, ttl=None):
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa', False)
        self.assertEqual(r.answer, [], 'a referral has no answer\n%r' % r)
        want = [(cut, 'NS', n) for n in ns] + ([(cut, 'DS', ds)] if ds else [])
        self.assertRRs(r, 'authority', want)
        if ttl is not None:
            self.assertEqual({rr.ttl for rr in r.rrs('authority', 'NS')}, {ttl}, repr(r))
        self.assertRRs(r, 'additional', glue)

    SUB_NS = ('ns1.sub.example.test.', 'ns.elsewhere.org.')
    SUB_GLUE = ['ns1.sub.example.test A 127.0.0.30']
    SUB_DS = '12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF'

    def test_referral_ns_and_glue(self):
        r = self.q('sub.example.test', 'A')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa', False)
        self.assertEqual(r.answer, [])
        # without DO there is no DS (RFC 4035 3.1.4 adds it only with DO; Knot and BIND
        # leave it out; issue 14), with EDNS or without
        ns = sorted(rr.key() for rr in r.authority)
        self.assertEqual(ns, sorted(('sub.example.test.', 'NS', n) for n in self.SUB_NS), repr(r))
        r = self.q('sub.example.test', 'NS', '+noedns')
        self.assertEqual(r.rrs('authority', 'DS'), [], repr(r))
        self.assertRRs(r, 'additional', self.SUB_GLUE)
        self.assertEqual(r.rrs('authority', 'SOA'), [])

    def test_referral_with_ds_when_do(self):
        r = self.q('sub.example.test', 'A', '+dnssec')
        self.assertReferral(r, 'sub.example.test', self.SUB_NS, self.SUB_GLUE, ds=self.SUB_DS)

    def test_referral_without_ds(self):
        r = self.q('nods.example.test', 'A', '+dnssec')
        self.assertReferral(r, 'nods.example.test', ['ns1.nods.example.test.'],
                            ['ns1.nods.example.test A 127.0.0.31'], ttl=86400)
        self.assertEqual(r.rrs('authority', 'DS'), [])

    def test_ns_query_at_cut_is_referral(self):
        r = self.q('sub.example.test', 'NS')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa', False)
        self.assertEqual(r.answer, [], 'the parent is not authoritative for the child NS\n%r' % r)
        self.assertEqual(len(r.rrs('authority', 'NS')), 2, repr(r))

    def test_below_delegation_gets_referral(self):
        for name in ('www.sub.example.test', 'a.b.c.sub.example.test'):
            r = self.q(name, 'A', '+dnssec')
            self.assertReferral(r, 'sub.example.test', self.SUB_NS, self.SUB_GLUE,
                                ds=self.SUB_DS)
        r = self.q('x.nods.example.test', 'MX')
        self.assertReferral(r, 'nods.example.test', ['ns1.nods.example.test.'],
                            ['ns1.nods.example.test A 127.0.0.31'])

    def test_glue_name_gets_referral(self):
        # ns1.sub is glue, not authoritative data
        r = self.q('ns1.sub.example.test', 'A', '+dnssec')
        self.assertReferral(r, 'sub.example.test', self.SUB_NS, self.SUB_GLUE, ds=self.SUB_DS)

    def test_ds_at_delegation_point_from_parent(self):
        r = self.q('sub.example.test', 'DS')
        self.assertAnswered(r, 'sub.example.test', 'DS', [self.SUB_DS])
        self.assertEqual(r.rrs('authority', 'NS'), [], 'no referral for DS\n%r' % r)

    def test_ds_absent_at_delegation_point_nodata(self):
        r = self.q('nods.example.test', 'DS')
        self.assertNegative(r, 'NOERROR', 'example.test', NEG_TTL)

    # -- additional section processing --------------------------------------------------

    def test_additional_for_mx(self):
        r = self.q('example.test', 'MX')
        self.assertAnswered(r, 'example.test', 'MX', ['10 mail.example.test.'])
        self.assertRRs(r, 'additional', ['mail.example.test A 127.0.0.13'])

    def test_additional_for_ns(self):
        r = self.q('example.test', 'NS')
        self.assertAnswered(r, 'example.test', 'NS', ['ns1.example.test.', 'ns2.example.test.'])
        self.assertRRs(r, 'additional', ['ns1.example.test A 127.0.0.11',
                                         'ns1.example.test AAAA ::1',
                                         'ns2.example.test A 127.0.0.12'])

    def test_additional_for_srv(self):
        r = self.q('_sip._udp.example.test', 'SRV')
        self.assertAnswered(r, '_sip._udp.example.test', 'SRV', ['0 5 5060 sip.example.test.'])
        self.assertRRs(r, 'additional', ['sip.example.test A 127.0.0.22'])

    # -- ANY (RFC 8482) -----------------------------------------------------------------

    def test_any_one_rrset(self):
        r = self.q('example.test', 'ANY')
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertTrue(r.answer, 'ANY gets an answer\n%r' % r)
        types = {rr.type for rr in r.answer}
        owners = {rr.name.lower() for rr in r.answer}
        self.assertEqual(owners, {'example.test.'}, repr(r))
        if not self.TCP:
            # the apex holds SOA, NS, MX, TXT, A: over UDP only one RRset comes back
            self.assertEqual(len(types), 1, 'RFC 8482: one RRset, not all\n%r' % r)

    def test_any_nxdomain_and_ent(self):
        r = self.q('nothere.example.test', 'ANY')
        self.assertNegative(r, 'NXDOMAIN', 'example.test', NEG_TTL)
        r = self.q('c.ent.example.test', 'ANY')
        self.assertNegative(r, 'NOERROR', 'example.test', NEG_TTL)

    # -- question handling --------------------------------------------------------------

    def test_question_case_preserved(self):
        # kdig lowers names when it prints them; dig does not
        r = self.dig('WwW.ExAmPlE.tEsT', 'A', tcp=self.TCP)
        self.assertRcode(r, 'NOERROR')
        self.assertFlag(r, 'aa')
        self.assertEqual(r.question[0][0], 'WwW.ExAmPlE.tEsT.', repr(r))
        self.assertIn(('web.example.test.', 'A', '127.0.0.14'), [rr.key() for rr in r.answer],
                      repr(r))
        r = self.dig('NoThErE.eXaMpLe.TeSt', 'A', tcp=self.TCP)
        self.assertEqual(r.question[0][0], 'NoThErE.eXaMpLe.TeSt.', repr(r))
        self.assertRcode(r, 'NXDOMAIN')

    def test_refused_outside_zones(self):
        for name in ('www.example.org', 'test', 'example', 'xexample.test'):
            r = self.q(name, 'A')
            self.assertRcode(r, 'REFUSED')
            self.assertFlag(r, 'aa', False)
            self.assertEqual(r.answer + r.authority + r.additional, [], repr(r))

    def test_notimp_unknown_opcode(self):
        for opcode in ('15', '3', 'STATUS', 'IQUERY'):
            r = self.dig('www.example.test', 'A', '+opcode=' + opcode, tcp=self.TCP)
            self.assertRcode(r, 'NOTIMP')
            self.assertFlag(r, 'aa', False)
            self.assertEqual(r.answer, [], repr(r))

    def test_formerr_no_question(self):
        r = self.dig('www.example.test', 'A', '+header-only', tcp=self.TCP)
        self.assertRcode(r, 'FORMERR')
        self.assertEqual(r.answer, [])

    def test_formerr_two_questions_same_id(self):
        q = struct.pack('!HHHHHH', 0x4242, 0, 2, 0, 0, 0)
        for name in ('www.example.test', 'web.example.test'):
            q += signet_test.encode_name(name) + struct.pack('!HH', 1, 1)
        data = self.srv.tcp(q) if self.TCP else self.srv.udp(q, 0x4242)
        self.assertIsNotNone(data, 'no reply to a query with two questions')
        r = signet_test.parse_message(data)
        self.assertEqual(r.id, 0x4242)
        self.assertFlag(r, 'qr')
        self.assertRcode(r, 'FORMERR')

    # -- zone file features -------------------------------------------------------------

    def test_include_and_multiline(self):
        r = self.q('included.example.test', 'A')
        self.assertAnswered(r, 'included.example.test', 'A', ['127.0.0.40'])
        r = self.q('multi.example.test', 'TXT')
        self.assertAnswered(r, 'multi.example.test', 'TXT', ['"part one" "part two"'])

    def test_unknown_type_rfc3597(self):
        r = self.q('unknown.example.test', 'TYPE65534')
        self.assertAnswered(r, 'unknown.example.test', 'TYPE65534', ['\\# 4 0A000001'])
        r = self.q('web.example.test', 'TYPE65534')
        self.assertNegative(r, 'NOERROR', 'example.test', NEG_TTL)

    def test_txt_at_apex(self):
        r = self.q('example.test', 'TXT')
        self.assertAnswered(r, 'example.test', 'TXT', ['"v=spf1 -all"'])


class AnswersTCP(AnswersUDP):
    """The same behaviours asked with kdig over TCP."""

    TCP = True

    def q(self, name, rtype='A', *opts):
        opts = [('+rdflag' if o == '+rec' else o) for o in opts]
        return self.kdig(name, rtype, *opts, tcp=True)


class ParentAndChildSeparateBlocks(ServerCase):
    """example.test and its child sub.example.test in one server: the DS of the child's apex
    comes from the parent, everything else at and below the cut from the child. Here each
    zone has its own server block."""

    COREFILE = '''
example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone
}
sub.example.test:$port {
    bind 127.0.0.1
    file $dir/sub.example.test.zone
}
'''
    FILES = ('example.test.zone', 'example.test.inc', 'sub.example.test.zone')

    def test_ds_at_child_apex_answered_by_parent(self):
        for tcp in (False, True):
            r = self.dig('sub.example.test', 'DS', tcp=tcp)
            self.assertAnswered(r, 'sub.example.test', 'DS', [AnswersUDP.SUB_DS])
            self.assertEqual(r.rrs('authority', 'NS'), [], repr(r))

    def test_child_data_answered_by_child(self):
        r = self.dig('www.sub.example.test', 'A')
        self.assertAnswered(r, 'www.sub.example.test', 'A', ['127.0.0.31'])
        r = self.dig('sub.example.test', 'NS')
        self.assertAnswered(r, 'sub.example.test', 'NS', ['ns1.sub.example.test.'])
        r = self.dig('sub.example.test', 'SOA')
        self.assertEqual(len(r.answer), 1, repr(r))
        self.assertTrue(r.answer[0].rdata.startswith('ns1.sub.example.test.'), repr(r))
        self.assertFlag(r, 'aa')

    def test_child_negative_answers_use_child_soa(self):
        r = self.dig('nothere.sub.example.test', 'A')
        self.assertNegative(r, 'NXDOMAIN', 'sub.example.test', 300)

    def test_parent_still_answers_its_own_names(self):
        r = self.dig('web.example.test', 'A')
        self.assertAnswered(r, 'web.example.test', 'A', ['127.0.0.14'])
        r = self.dig('nods.example.test', 'A')
        self.assertFlag(r, 'aa', False)
        self.assertEqual(len(r.rrs('authority', 'NS')), 1, repr(r))


class ParentAndChildOneBlock(ParentAndChildSeparateBlocks):
    """The same with both zones in one server block, parent's file line first."""

    COREFILE = '''
example.test:$port sub.example.test:$port {
    bind 127.0.0.1
    file $dir/example.test.zone example.test
    file $dir/sub.example.test.zone sub.example.test
}
'''


class ParentAndChildOneBlockChildFirst(ParentAndChildSeparateBlocks):
    """The same with both zones in one server block, child's file line first (the order
    of lines in a block must not matter)."""

    COREFILE = '''
sub.example.test:$port example.test:$port {
    bind 127.0.0.1
    file $dir/sub.example.test.zone sub.example.test
    file $dir/example.test.zone example.test
}
'''


if __name__ == '__main__':
    signet_test.main()
