/* SPDX-License-Identifier: MIT */
/* NSEC and NSEC3 chains built from the fixture zone; NSEC3 hashes against RFC 5155. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/denial.h"
#include "common/name.h"
#include "tests/support/fixture_zone.h"

#include <string.h>

static const sg_node *node(const char *s)
{
    uint8_t w[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str(s, NULL, w), 0);
    return sg_zone_find(sg_test_zone, w, sg_name_len(w));
}

/* Does the bitmap in rdata (after skip bytes) have type t? */
static int bitmap_has(const uint8_t *bm, size_t len, uint16_t t)
{
    size_t o = 0;
    while (o + 2 <= len) {
        uint8_t win = bm[o], bl = bm[o + 1];
        if (win == (t >> 8)) {
            uint8_t low = t & 0xff;
            return low / 8 < bl && (bm[o + 2 + low / 8] & (0x80 >> (low % 8)));
        }
        o += 2 + bl;
    }
    return 0;
}

static void test_bitmap(void **st)
{
    (void)st;
    uint16_t types[] = { SG_TYPE_A, SG_TYPE_MX, SG_TYPE_RRSIG, SG_TYPE_NSEC, 1234 };
    uint8_t out[100];
    size_t n = sg_type_bitmap(types, 5, out);
    /* RFC 4034 4.3 example (window 0), then window 4 for type 1234 = 0x04d2: bit 210 */
    uint8_t expect[8 + 2 + 27] = { 0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 27 };
    expect[10 + 26] = 0x20;
    assert_int_equal(n, sizeof expect);
    assert_memory_equal(out, expect, n);
}

static void test_nsec_chain(void **st)
{
    (void)st;
    uint16_t apex_types[] = { SG_TYPE_DNSKEY };
    sg_nsec_chain *c = NULL;
    assert_int_equal(sg_nsec_build(sg_test_zone, apex_types, 1, &c), 0);
    /* walk the chain from the apex: every name with data once, back to the apex */
    const sg_node *n = sg_test_zone->apex_node;
    int count = 0;
    do {
        const sg_rrset *rs = sg_nsec_of(c, n);
        assert_non_null(rs);
        assert_int_equal(rs->ttl, 300);
        const uint8_t *next = rs->rdata + 2;
        const sg_node *nn = sg_zone_find(sg_test_zone, next, sg_name_len(next));
        assert_non_null(nn);
        if (nn != sg_test_zone->apex_node)
            assert_true(sg_name_canon_cmp(n->name, nn->name) < 0);
        n = nn;
        count++;
    } while (n != sg_test_zone->apex_node && count < 1000);
    size_t expect = 0;
    for (size_t i = 0; i < sg_test_zone->nnodes; i++)
        if (sg_test_zone->nodes[i].nrrsets && !(sg_test_zone->nodes[i].flags & SG_NODE_NONAUTH))
            expect++;
    assert_int_equal(count, expect);
    /* no NSEC for empty non-terminals and glue */
    assert_null(sg_nsec_of(c, node("c.ent.example.test.")));
    assert_null(sg_nsec_of(c, node("ns1.sub.example.test.")));
    /* bitmaps */
    const sg_rrset *apex = sg_nsec_of(c, sg_test_zone->apex_node);
    const uint8_t *bm = apex->rdata + 2 + sg_name_len(apex->rdata + 2);
    size_t bl = sg_rdlen(apex->rdata) - sg_name_len(apex->rdata + 2);
    assert_true(bitmap_has(bm, bl, SG_TYPE_SOA));
    assert_true(bitmap_has(bm, bl, SG_TYPE_DNSKEY));
    assert_true(bitmap_has(bm, bl, SG_TYPE_NSEC));
    assert_true(bitmap_has(bm, bl, SG_TYPE_RRSIG));
    assert_false(bitmap_has(bm, bl, SG_TYPE_AAAA));
    const sg_rrset *sub = sg_nsec_of(c, node("sub.example.test."));
    bm = sub->rdata + 2 + sg_name_len(sub->rdata + 2);
    bl = sg_rdlen(sub->rdata) - sg_name_len(sub->rdata + 2);
    assert_true(bitmap_has(bm, bl, SG_TYPE_NS));
    assert_true(bitmap_has(bm, bl, SG_TYPE_DS));
    /* covering: a missing name is covered by its predecessor with data */
    uint8_t w[SG_NAME_MAX];
    sg_name_from_str("webz.example.test.", NULL, w);
    assert_ptr_equal(sg_nsec_cover(c, w), node("web.example.test."));
    sg_name_from_str("x.c.ent.example.test.", NULL, w);
    assert_ptr_equal(sg_nsec_cover(c, w), node("a.b.c.ent.example.test."));
    sg_name_from_str("example.test.", NULL, w);
    assert_ptr_equal(sg_nsec_cover(c, w), sg_test_zone->apex_node);
    sg_nsec_free(c);
}

static void test_nsec3_vectors(void **st)
{
    (void)st;
    /* RFC 5155 Appendix A: salt aabbccdd, 12 iterations */
    sg_nsec3_chain c = { .iterations = 12, .salt = { 0xaa, 0xbb, 0xcc, 0xdd }, .salt_len = 4 };
    static const struct { const char *name, *hash; } v[] = {
        { "example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom" },
        { "a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl" },
        { "ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr" },
        { "*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en" },
        { "x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t w[SG_NAME_MAX], h[SG_NSEC3_HASH_LEN];
        char txt[40];
        sg_name_from_str(v[i].name, NULL, w);
        sg_nsec3_hash(&c, w, h);
        sg_base32hex(h, sizeof h, txt);
        assert_string_equal(txt, v[i].hash);
    }
}

static void test_nsec3_chain(void **st)
{
    (void)st;
    sg_nsec3_chain *c = NULL;
    assert_int_equal(sg_nsec3_build(sg_test_zone, 0, NULL, 0, 0, NULL, 0, &c), 0);
    /* authoritative names, empty non-terminals included, glue excluded */
    assert_non_null(sg_nsec3_of(c, node("c.ent.example.test.")));
    assert_non_null(sg_nsec3_of(c, node("nods.example.test.")));
    assert_null(sg_nsec3_of(c, node("ns1.sub.example.test.")));
    for (size_t i = 1; i < c->n; i++)
        assert_true(memcmp(c->e[i - 1].hash, c->e[i].hash, SG_NSEC3_HASH_LEN) < 0);
    /* each record's next hash is its successor's, the last wraps */
    for (size_t i = 0; i < c->n; i++) {
        const uint8_t *rd = c->e[i].rrset.rdata + 2;
        assert_int_equal(rd[0], 1);
        assert_int_equal(rd[4], 0);   /* empty salt */
        assert_int_equal(rd[5], 20);
        assert_memory_equal(rd + 6, c->e[(i + 1) % c->n].hash, 20);
    }
    int match;
    uint8_t h[20];
    sg_nsec3_hash(c, node("web.example.test.")->name, h);
    const sg_nsec3_entry *e = sg_nsec3_find(c, h, &match);
    assert_true(match);
    assert_ptr_equal(e->node, node("web.example.test."));
    uint8_t w[SG_NAME_MAX];
    sg_name_from_str("nothere.example.test.", NULL, w);
    sg_nsec3_hash(c, w, h);
    e = sg_nsec3_find(c, h, &match);
    assert_false(match);
    const uint8_t *next = e->rrset.rdata + 2 + 6;
    int wraps = memcmp(e->hash, next, 20) >= 0;
    assert_true(wraps || (memcmp(e->hash, h, 20) < 0 && memcmp(h, next, 20) < 0));
    /* opt-out leaves the insecure delegation out */
    sg_nsec3_chain *o = NULL;
    assert_int_equal(sg_nsec3_build(sg_test_zone, 0, NULL, 0, 1, NULL, 0, &o), 0);
    assert_null(sg_nsec3_of(o, node("nods.example.test.")));
    assert_non_null(sg_nsec3_of(o, node("sub.example.test.")));
    assert_int_equal(o->e[0].rrset.rdata[3], 1);
    sg_nsec3_free(o);
    sg_nsec3_free(c);
}

/* sg_nsec3_find compares 8-byte prefixes as numbers and goes to the whole hash only on a
 * tie: hashes that share their first 8 bytes are still told apart, and a hash below the
 * first entry is covered by the last (the wrap). */
static void test_nsec3_find_prefix_ties(void **state)
{
    (void)state;
    sg_nsec3_entry e[4];
    uint64_t pfx[4];
    memset(e, 0, sizeof e);
    e[0].hash[19] = 1;                 /* prefix 0 */
    e[1].hash[8] = 5;                  /* prefix 0 */
    e[2].hash[8] = 9;                  /* prefix 0 */
    memset(e[3].hash, 0xff, 20);       /* prefix all ones */
    for (int i = 0; i < 4; i++) {
        pfx[i] = 0;
        for (int k = 0; k < 8; k++)
            pfx[i] = pfx[i] << 8 | e[i].hash[k];
    }
    sg_nsec3_chain c = { .e = e, .n = 4, .pfx = pfx };
    uint8_t h[20] = { 0 };
    int match = -1;
    h[8] = 6; /* between e[1] and e[2], same prefix as both */
    assert_ptr_equal(sg_nsec3_find(&c, h, &match), &e[1]);
    assert_false(match);
    h[8] = 9; /* e[2] itself */
    assert_ptr_equal(sg_nsec3_find(&c, h, &match), &e[2]);
    assert_true(match);
    h[8] = 9;
    h[19] = 1; /* just above e[2] */
    assert_ptr_equal(sg_nsec3_find(&c, h, &match), &e[2]);
    assert_false(match);
    memset(h, 0, sizeof h); /* below e[0]: the last entry covers it */
    assert_ptr_equal(sg_nsec3_find(&c, h, &match), &e[3]);
    assert_false(match);
    h[0] = 0x80; /* between the prefixes of e[2] and e[3] */
    assert_ptr_equal(sg_nsec3_find(&c, h, &match), &e[2]);
    assert_false(match);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitmap),
        cmocka_unit_test(test_nsec_chain),
        cmocka_unit_test(test_nsec3_vectors),
        cmocka_unit_test(test_nsec3_chain),
        cmocka_unit_test(test_nsec3_find_prefix_ties),
    };
    return cmocka_run_group_tests(tests, sg_test_zone_setup, sg_test_zone_teardown);
}
