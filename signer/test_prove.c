/* SPDX-License-Identifier: MIT */
/* Which denial records each kind of reply gets, for NSEC, NSEC3 and compact denial. The
 * end-to-end proof (a validating resolver accepts them) is in tests/integration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/prove.h"
#include "common/wire.h"
#include "tests/support/fixture_zone.h"
#include "tests/support/question.h"

#include <string.h>

static uint8_t g_pkt[512];
static sg_query g_q;
static sg_arena g_arena;

static sg_query *ask(const char *name, uint16_t qtype)
{
    sg_test_question(&g_q, g_pkt, sizeof g_pkt, name, qtype, SG_TRANSPORT_UDP);
    sg_arena_reset(&g_arena);
    g_q.arena = &g_arena;
    sg_zone_answer(sg_test_zone, &g_q);
    return &g_q;
}

static int count_type(const sg_section *s, uint16_t t)
{
    int n = 0;
    for (uint16_t i = 0; i < s->n; i++)
        n += s->refs[i].rrset->type == t;
    return n;
}

static int has_owner(const sg_section *s, uint16_t t, const char *owner)
{
    uint8_t w[SG_NAME_MAX];
    sg_name_from_str(owner, NULL, w);
    for (uint16_t i = 0; i < s->n; i++)
        if (s->refs[i].rrset->type == t && sg_name_eq(s->refs[i].owner, w))
            return 1;
    return 0;
}

static int setup(void **st)
{
    sg_arena_init(&g_arena, 8192);
    return sg_test_zone_setup(st);
}

static int teardown(void **st)
{
    sg_arena_deinit(&g_arena);
    return sg_test_zone_teardown(st);
}

static const uint16_t APEX[] = { SG_TYPE_DNSKEY };

static void test_nsec(void **st)
{
    (void)st;
    sg_denial *d = NULL;
    assert_int_equal(sg_denial_build(sg_test_zone, SG_KS_DENIAL_NSEC, 0, 0, APEX, 1, &d), 0);
    /* NXDOMAIN: the name is covered, and so is the wildcard at the closest encloser */
    sg_query *q = ask("nothere.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC), 2);
    assert_true(has_owner(&q->ns, SG_TYPE_NSEC, "nods.example.test."));   /* nods < nothere < ns1 */
    assert_true(has_owner(&q->ns, SG_TYPE_NSEC, "example.test."));        /* covers *.example.test */
    /* NODATA: the node's own NSEC */
    q = ask("web.example.test.", SG_TYPE_MX);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC), 1);
    assert_true(has_owner(&q->ns, SG_TYPE_NSEC, "web.example.test."));
    /* empty non-terminal: the covering NSEC */
    q = ask("c.ent.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC), 1);
    /* wildcard answer: proof that the exact name does not exist */
    q = ask("x.wild.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC), 1);
    assert_true(has_owner(&q->ns, SG_TYPE_NSEC, "*.wild.example.test."));
    /* insecure delegation: the NSEC at the cut (NS, no DS) */
    q = ask("a.nods.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    assert_true(has_owner(&q->ns, SG_TYPE_NSEC, "nods.example.test."));
    /* secure delegation: the DS is enough */
    q = ask("a.sub.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC), 0);
    /* positive answers need no proof */
    q = ask("web.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(q->ns.n, 0);
    sg_denial_free(d);
}

static void test_nsec3(void **st)
{
    (void)st;
    sg_denial *d = NULL;
    assert_int_equal(sg_denial_build(sg_test_zone, SG_KS_DENIAL_NSEC3, 0, 0, APEX, 1, &d), 0);
    /* closest encloser proof: up to three records (fewer when one covers two) */
    sg_query *q = ask("a.b.nothere.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    int n3 = count_type(&q->ns, SG_TYPE_NSEC3);
    assert_true(n3 >= 2 && n3 <= 3);
    /* the encloser's own record is there: the apex hash */
    const sg_nsec3_entry *apex = sg_nsec3_of(d->nsec3, sg_test_zone->apex_node);
    int found = 0;
    for (uint16_t i = 0; i < q->ns.n; i++)
        found |= q->ns.refs[i].rrset == &apex->rrset;
    assert_true(found);
    /* NODATA: exactly the node's record */
    q = ask("web.example.test.", SG_TYPE_MX);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC3), 1);
    /* empty non-terminals have their own NSEC3 */
    q = ask("c.ent.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC3), 1);
    sg_denial_free(d);
}

static void test_compact(void **st)
{
    (void)st;
    sg_denial *d = NULL;
    assert_int_equal(sg_denial_build(sg_test_zone, SG_KS_DENIAL_COMPACT, 0, 0, APEX, 1, &d), 0);
    sg_query *q = ask("nothere.example.test.", SG_TYPE_A);
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);      /* RFC 9824: NXDOMAIN becomes NODATA */
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC), 1);
    const sg_rr_ref *r = &q->ns.refs[q->ns.n - 1];
    assert_true(has_owner(&q->ns, SG_TYPE_NSEC, "nothere.example.test."));
    assert_true(r->flags & SG_REF_NOCACHE);
    /* next name \000.nothere.example.test, then a bitmap with NXNAME (128) */
    const uint8_t *rd = r->rrset->rdata + 2;
    assert_memory_equal(rd, "\1\0\7nothere\7example\4test", 24);
    const uint8_t *bm = rd + 24;
    assert_int_equal(bm[0], 0);              /* window 0 */
    assert_int_equal(bm[1], 17);             /* up to type 128 */
    assert_true(bm[2 + 16] & 0x80);          /* NXNAME */
    /* NODATA at the apex: the NSEC lists DNSKEY, which the signer adds and the zone file
     * does not hold (issue 14: DNSViz called the proof a lie) */
    q = ask("example.test.", 52); /* TLSA */
    assert_int_equal(sg_prove(d, q), 0);
    assert_int_equal(count_type(&q->ns, SG_TYPE_NSEC), 1);
    r = &q->ns.refs[q->ns.n - 1];
    rd = r->rrset->rdata + 2;
    assert_memory_equal(rd, "\1\0\7example\4test", 16);
    bm = rd + 16;
    assert_int_equal(bm[0], 0);
    assert_true(bm[1] >= 7);                 /* DNSKEY is type 48: byte 6 of the window */
    assert_true(bm[2 + 6] & 0x80);           /* DNSKEY */
    assert_int_equal(bm[2 + 0] & 0x22, 0x22);  /* NS (2) and SOA (6) from the zone file */
    sg_denial_free(d);
}

/* Every kind of reply in every mode: how many denial records, and the rcode. */
static void test_every_case(void **st)
{
    (void)st;
    static const struct {
        enum sg_ks_denial mode;
        const char *name;
        uint16_t qtype;
        int min, max;       /* NSEC or NSEC3 records in authority */
        int rcode;
    } cases[] = {
        { SG_KS_DENIAL_NSEC, "nothere.example.test.", SG_TYPE_A, 2, 2, SG_RCODE_NXDOMAIN },
        { SG_KS_DENIAL_NSEC, "web.example.test.", SG_TYPE_MX, 1, 1, 0 },
        { SG_KS_DENIAL_NSEC, "b.c.ent.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_NSEC, "x.wild.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_NSEC, "x.wild.example.test.", SG_TYPE_MX, 1, 2, 0 },
        { SG_KS_DENIAL_NSEC, "a.nods.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_NSEC, "a.sub.example.test.", SG_TYPE_A, 0, 0, 0 },
        { SG_KS_DENIAL_NSEC, "dangling.example.test.", SG_TYPE_A, 2, 2, SG_RCODE_NXDOMAIN },
        { SG_KS_DENIAL_NSEC3, "nothere.example.test.", SG_TYPE_A, 2, 3, SG_RCODE_NXDOMAIN },
        { SG_KS_DENIAL_NSEC3, "web.example.test.", SG_TYPE_MX, 1, 1, 0 },
        { SG_KS_DENIAL_NSEC3, "b.c.ent.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_NSEC3, "x.wild.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_NSEC3, "x.wild.example.test.", SG_TYPE_MX, 2, 3, 0 },
        { SG_KS_DENIAL_NSEC3, "a.nods.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_NSEC3, "a.sub.example.test.", SG_TYPE_A, 0, 0, 0 },
        { SG_KS_DENIAL_NSEC3, "nods.example.test.", SG_TYPE_DS, 1, 1, 0 },
        { SG_KS_DENIAL_COMPACT, "nothere.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_COMPACT, "web.example.test.", SG_TYPE_MX, 1, 1, 0 },
        { SG_KS_DENIAL_COMPACT, "b.c.ent.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_COMPACT, "x.wild.example.test.", SG_TYPE_A, 0, 0, 0 },
        { SG_KS_DENIAL_COMPACT, "x.wild.example.test.", SG_TYPE_MX, 1, 1, 0 },
        { SG_KS_DENIAL_COMPACT, "a.nods.example.test.", SG_TYPE_A, 1, 1, 0 },
        { SG_KS_DENIAL_COMPACT, "a.sub.example.test.", SG_TYPE_A, 0, 0, 0 },
    };
    sg_denial *d[3] = { NULL, NULL, NULL };
    for (int m = 0; m < 3; m++)
        assert_int_equal(sg_denial_build(sg_test_zone, (enum sg_ks_denial)m, 0, 0, APEX, 1, &d[m]), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sg_query *q = ask(cases[i].name, cases[i].qtype);
        assert_int_equal(sg_prove(d[cases[i].mode], q), 0);
        int n = count_type(&q->ns, SG_TYPE_NSEC) + count_type(&q->ns, SG_TYPE_NSEC3);
        if (n < cases[i].min || n > cases[i].max || q->rcode != cases[i].rcode)
            fail_msg("case %zu (%s %u, mode %d): %d denial records, rcode %u", i, cases[i].name,
                     cases[i].qtype, cases[i].mode, n, q->rcode);
    }
    for (int m = 0; m < 3; m++)
        sg_denial_free(d[m]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nsec),
        cmocka_unit_test(test_nsec3),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_every_case),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
