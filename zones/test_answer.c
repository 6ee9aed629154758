/* SPDX-License-Identifier: MIT */
/* Unit tests for the authoritative answer logic on the fixture zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zones/zone.h"
#include "common/errors.h"
#include "common/wire.h"
#include "tests/support/fixture_zone.h"
#include "tests/support/question.h"

#include <string.h>

static uint8_t g_pkt[512];
static sg_query g_q;

static int g_do = 1; /* DNSSEC OK, as a validating resolver asks */

static sg_query *ask(const char *name, uint16_t qtype)
{
    sg_test_question(&g_q, g_pkt, sizeof g_pkt, name, qtype, SG_TRANSPORT_UDP);
    g_q.do_bit = (uint8_t)g_do;
    sg_zone_answer(sg_test_zone, &g_q);
    return &g_q;
}

static int has(const sg_section *s, const char *owner, uint16_t type)
{
    uint8_t w[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str(owner, NULL, w), 0);
    for (uint16_t i = 0; i < s->n; i++)
        if (s->refs[i].rrset->type == type && sg_name_eq(s->refs[i].owner, w))
            return 1;
    return 0;
}

static void test_positive(void **st)
{
    (void)st;
    sg_query *q = ask("web.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_true(q->aa);
    assert_int_equal(q->kind, SG_KIND_ANSWER);
    assert_int_equal(q->an.n, 1);
    assert_true(has(&q->an, "web.example.test.", SG_TYPE_A));
    assert_int_equal(q->ns.n, 0);
    /* MX at the apex: the exchanger's address in additional */
    q = ask("example.test.", SG_TYPE_MX);
    assert_int_equal(q->an.n, 1);
    assert_true(has(&q->ar, "mail.example.test.", SG_TYPE_A));
    /* NS at the apex: addresses of both name servers */
    q = ask("example.test.", SG_TYPE_NS);
    assert_true(has(&q->ar, "ns1.example.test.", SG_TYPE_A));
    assert_true(has(&q->ar, "ns1.example.test.", SG_TYPE_AAAA));
    assert_true(has(&q->ar, "ns2.example.test.", SG_TYPE_A));
    /* SRV target */
    q = ask("_sip._udp.example.test.", SG_TYPE_SRV);
    assert_true(has(&q->ar, "sip.example.test.", SG_TYPE_A));
    /* unknown type */
    q = ask("unknown.example.test.", 65534);
    assert_int_equal(q->an.n, 1);
}

static void test_negative(void **st)
{
    (void)st;
    sg_query *q = ask("nothere.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NXDOMAIN);
    assert_true(q->aa);
    assert_int_equal(q->kind, SG_KIND_NXDOMAIN);
    assert_int_equal(q->an.n, 0);
    assert_int_equal(q->ns.n, 1);
    assert_int_equal(q->ns.refs[0].rrset->type, SG_TYPE_SOA);
    assert_int_equal(q->ns.refs[0].ttl, 300);
    assert_ptr_equal(q->encloser, sg_test_zone->apex_node);
    /* NODATA */
    q = ask("web.example.test.", SG_TYPE_MX);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_int_equal(q->kind, SG_KIND_NODATA);
    assert_int_equal(q->an.n, 0);
    assert_int_equal(q->ns.refs[0].rrset->type, SG_TYPE_SOA);
    /* empty non-terminals: NODATA, not NXDOMAIN */
    q = ask("b.c.ent.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_int_equal(q->kind, SG_KIND_NODATA);
    q = ask("ent.example.test.", SG_TYPE_A);
    assert_int_equal(q->kind, SG_KIND_NODATA);
    /* below an existing name: NXDOMAIN with that name as closest encloser */
    q = ask("x.web.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NXDOMAIN);
    assert_non_null(q->encloser);
    assert_memory_equal(q->encloser->name, "\3web\7example\4test", 18);
}

static void test_cname(void **st)
{
    (void)st;
    sg_query *q = ask("chain1.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_int_equal(q->an.n, 4);
    assert_true(has(&q->an, "chain1.example.test.", SG_TYPE_CNAME));
    assert_true(has(&q->an, "chain3.example.test.", SG_TYPE_CNAME));
    assert_true(has(&q->an, "web.example.test.", SG_TYPE_A));
    /* a CNAME query returns the CNAME itself */
    q = ask("www.example.test.", SG_TYPE_CNAME);
    assert_int_equal(q->an.n, 1);
    /* dangling: NXDOMAIN with the CNAME (RFC 6604) */
    q = ask("dangling.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NXDOMAIN);
    assert_int_equal(q->an.n, 1);
    assert_int_equal(q->ns.refs[0].rrset->type, SG_TYPE_SOA);
    /* out of zone: stops after the CNAME */
    q = ask("outside.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_int_equal(q->an.n, 1);
    assert_int_equal(q->ns.n, 0);
    /* loop: ends, each CNAME once */
    q = ask("loop1.example.test.", SG_TYPE_A);
    assert_int_equal(q->an.n, 2);
}

static void test_wildcard(void **st)
{
    (void)st;
    sg_query *q = ask("anything.wild.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_int_equal(q->kind, SG_KIND_WILDCARD);
    assert_int_equal(q->an.n, 1);
    assert_true(has(&q->an, "anything.wild.example.test.", SG_TYPE_A));
    assert_true(q->an.refs[0].flags & SG_REF_SYNTH);
    assert_memory_equal(q->an.refs[0].source, "\1*\4wild\7example\4test", 20);
    /* more labels under the wildcard still match */
    q = ask("a.b.wild.example.test.", SG_TYPE_TXT);
    assert_int_equal(q->kind, SG_KIND_WILDCARD);
    /* wildcard NODATA */
    q = ask("x.wild.example.test.", SG_TYPE_MX);
    assert_int_equal(q->kind, SG_KIND_WILDCARD_NODATA);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    /* the wildcard name itself is an ordinary name */
    q = ask("*.wild.example.test.", SG_TYPE_A);
    assert_int_equal(q->kind, SG_KIND_ANSWER);
    /* a wildcard CNAME is followed */
    q = ask("foo.cwild.example.test.", SG_TYPE_A);
    assert_int_equal(q->an.n, 2);
    assert_true(has(&q->an, "foo.cwild.example.test.", SG_TYPE_CNAME));
    assert_true(has(&q->an, "web.example.test.", SG_TYPE_A));
    /* the wildcard does not cover existing names or their empty parents */
    q = ask("wild.example.test.", SG_TYPE_A);
    assert_int_equal(q->kind, SG_KIND_NODATA);
}

/* SVCB/HTTPS targets in the zone get their addresses (RFC 9460 4.2), "." the owner's */
static void test_svcb_additional(void **st)
{
    (void)st;
    sg_query *q = ask("svc.example.test.", SG_TYPE_HTTPS);
    assert_true(has(&q->an, "svc.example.test.", SG_TYPE_HTTPS));
    assert_true(has(&q->ar, "web.example.test.", SG_TYPE_A));
    assert_true(has(&q->ar, "web.example.test.", SG_TYPE_AAAA));
    q = ask("svcself.example.test.", SG_TYPE_HTTPS);
    assert_true(has(&q->ar, "svcself.example.test.", SG_TYPE_A));
}

static void test_delegation(void **st)
{
    (void)st;
    sg_query *q = ask("www.sub.example.test.", SG_TYPE_A);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_false(q->aa);
    assert_int_equal(q->kind, SG_KIND_DELEGATION);
    assert_int_equal(q->an.n, 0);
    assert_true(has(&q->ns, "sub.example.test.", SG_TYPE_NS));
    assert_true(has(&q->ns, "sub.example.test.", SG_TYPE_DS));
    assert_true(has(&q->ar, "ns1.sub.example.test.", SG_TYPE_A));
    assert_true(q->ar.refs[0].flags & SG_REF_REQUIRED);
    /* a CNAME into the child: the chain goes on with the referral (RFC 1034 4.3.2 3b) */
    q = ask("tochild.example.test.", SG_TYPE_A);
    assert_true(q->aa);
    assert_true(has(&q->an, "tochild.example.test.", SG_TYPE_CNAME));
    assert_true(has(&q->ns, "sub.example.test.", SG_TYPE_NS));
    assert_true(has(&q->ns, "sub.example.test.", SG_TYPE_DS));
    assert_true(has(&q->ar, "ns1.sub.example.test.", SG_TYPE_A));
    /* without DO the referral has no DS (RFC 4035 3.1.4; issue 14) */
    g_do = 0;
    q = ask("www.sub.example.test.", SG_TYPE_A);
    g_do = 1;
    assert_int_equal(q->kind, SG_KIND_DELEGATION);
    assert_true(has(&q->ns, "sub.example.test.", SG_TYPE_NS));
    assert_false(has(&q->ns, "sub.example.test.", SG_TYPE_DS));
    /* at the cut itself */
    q = ask("sub.example.test.", SG_TYPE_A);
    assert_int_equal(q->kind, SG_KIND_DELEGATION);
    /* glue names are not answered authoritatively */
    q = ask("ns1.sub.example.test.", SG_TYPE_A);
    assert_int_equal(q->kind, SG_KIND_DELEGATION);
    assert_false(q->aa);
    /* DS at the cut comes from the parent side, authoritatively */
    q = ask("sub.example.test.", SG_TYPE_DS);
    assert_true(q->aa);
    assert_int_equal(q->kind, SG_KIND_ANSWER);
    assert_true(has(&q->an, "sub.example.test.", SG_TYPE_DS));
    q = ask("nods.example.test.", SG_TYPE_DS);
    assert_true(q->aa);
    assert_int_equal(q->kind, SG_KIND_NODATA);
    /* no DS: referral without DS */
    q = ask("nods.example.test.", SG_TYPE_NS);
    assert_int_equal(q->kind, SG_KIND_DELEGATION);
    assert_false(has(&q->ns, "nods.example.test.", SG_TYPE_DS));
    /* DS below the cut is the child's business: referral */
    q = ask("x.sub.example.test.", SG_TYPE_DS);
    assert_int_equal(q->kind, SG_KIND_DELEGATION);
}

static void test_any(void **st)
{
    (void)st;
    sg_query *q = ask("example.test.", SG_TYPE_ANY);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_int_equal(q->an.n, 1); /* RFC 8482: one RRset */
    q = ask("c.ent.example.test.", SG_TYPE_ANY);
    assert_int_equal(q->kind, SG_KIND_NODATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positive),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_cname),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_delegation),
        cmocka_unit_test(test_svcb_additional),
        cmocka_unit_test(test_any),
    };
    return cmocka_run_group_tests(tests, sg_test_zone_setup, sg_test_zone_teardown);
}
