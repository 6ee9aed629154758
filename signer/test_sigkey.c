/* SPDX-License-Identifier: MIT */
/* Content keys of the signature cache: SipHash-128 against its published vectors; the
 * same RRset in two zone versions has one key, a changed TTL, RDATA, owner, zone or
 * signing key another; a denial chain's unchanged records keep theirs across versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/prove.h"
#include "signer/sigkey.h"
#include "common/name.h"

#include <stdio.h>
#include <string.h>

static void test_siphash_vectors(void **st)
{
    (void)st;
    /* veorq/SipHash vectors.h, vectors_sip128: key 00..0f, message 00..(len-1) */
    static const uint8_t want0[16] = { 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
                                       0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 };
    static const uint8_t want1[16] = { 0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44,
                                       0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45 };
    static const uint8_t want15[16] = { 0x54, 0x93, 0xe9, 0x99, 0x33, 0xb0, 0xa8, 0x11,
                                        0x7e, 0x08, 0xec, 0x0f, 0x97, 0xcf, 0xc3, 0xd9 };
    uint8_t key[16], msg[15], out[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    /* in one piece, and in pieces of every size (the unaligned path) */
    for (size_t piece = 0; piece <= 15; piece++) {
        sg_siphash128(key, msg, 0, piece, out);
        assert_memory_equal(out, want0, 16);
        sg_siphash128(key, msg, 1, piece, out);
        assert_memory_equal(out, want1, 16);
        sg_siphash128(key, msg, 15, piece, out);
        assert_memory_equal(out, want15, 16);
    }
}

static void wire(const char *s, uint8_t *w)
{
    assert_int_equal(sg_name_from_str(s, NULL, w), 0);
}

/* A zone of names h0..h(n-1) with an A each; `change` (>= 0) gets another address,
 * `ttl_of` (>= 0) another TTL, `extra` (>= 0) adds the name x<extra>. */
static sg_zone *make_zone(const char *apex, int n, int change, int ttl_of, int extra)
{
    uint8_t a[SG_NAME_MAX], o[SG_NAME_MAX];
    wire(apex, a);
    sg_zone_builder *b = sg_zone_builder_new(a);
    assert_non_null(b);
    uint8_t soa[64] = { 0 };
    size_t sl = 0;
    uint8_t mname[SG_NAME_MAX];
    wire(apex, mname);
    memcpy(soa, mname, sg_name_len(mname));
    sl = sg_name_len(mname);
    memcpy(soa + sl, mname, sg_name_len(mname));
    sl += sg_name_len(mname);
    uint8_t nums[20] = { 0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 3, 132, 0, 9, 58, 128, 0, 0, 1, 44 };
    memcpy(soa + sl, nums, 20);
    sl += 20;
    assert_int_equal(sg_zone_builder_add(b, a, SG_TYPE_SOA, 1, 3600, soa, (uint16_t)sl, "t", 1), 0);
    uint8_t ns[SG_NAME_MAX + 8];
    char buf[300];
    snprintf(buf, sizeof buf, "ns.%s", apex);
    wire(buf, ns);
    assert_int_equal(sg_zone_builder_add(b, a, SG_TYPE_NS, 1, 3600, ns, (uint16_t)sg_name_len(ns), "t", 2), 0);
    uint8_t addr[4] = { 192, 0, 2, 1 };
    assert_int_equal(sg_zone_builder_add(b, ns, SG_TYPE_A, 1, 3600, addr, 4, "t", 3), 0);
    for (int i = 0; i < n + (extra >= 0); i++) {
        if (i < n)
            snprintf(buf, sizeof buf, "h%d.%s", i, apex);
        else
            snprintf(buf, sizeof buf, "x%d.%s", extra, apex);
        wire(buf, o);
        uint8_t rd[4] = { 10, 0, (uint8_t)(i >> 8), (uint8_t)(i == change ? 255 : i) };
        uint32_t ttl = i == ttl_of ? 60 : 300;
        assert_int_equal(sg_zone_builder_add(b, o, SG_TYPE_A, 1, ttl, rd, 4, "t", 4), 0);
    }
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_builder_finish(b, &z), 0);
    return z;
}

/* How many RRsets of z2 have a content key that the RRset of the same owner and type in
 * z1 has not (a cache miss after the reload from z1 to z2). */
static int changed(const sg_zone *z1, const sg_zone *z2)
{
    int diff = 0;
    for (size_t i = 0; i < z2->nnodes; i++) {
        const sg_node *n2 = &z2->nodes[i];
        const sg_node *n1 = sg_zone_find(z1, n2->name, n2->name_len);
        for (uint16_t j = 0; j < n2->nrrsets; j++) {
            const sg_rrset *r2 = &n2->rrsets[j];
            const sg_rrset *r1 = n1 ? sg_node_rrset(n1, r2->type) : NULL;
            sg_sigkey k1, k2;
            sg_sigkey_rrset(z2->apex, n2->name, r2, &k2);
            if (r1)
                sg_sigkey_rrset(z1->apex, n1->name, r1, &k1);
            if (!r1 || memcmp(&k1, &k2, sizeof k1))
                diff++;
        }
    }
    return diff;
}

static void test_zone_versions(void **st)
{
    (void)st;
    sg_zone *v1 = make_zone("example.test.", 200, -1, -1, -1);
    sg_zone *v1b = make_zone("example.test.", 200, -1, -1, -1);  /* reloaded as it was */
    sg_zone *rd = make_zone("example.test.", 200, 17, -1, -1);   /* one address changed */
    sg_zone *ttl = make_zone("example.test.", 200, -1, 42, -1);  /* one TTL changed */
    sg_zone *other = make_zone("other.test.", 200, -1, -1, -1);
    /* same content, another version: every key the same (a cache hit) */
    assert_int_equal(changed(v1, v1b), 0);
    /* one RDATA or one TTL changed: that RRset alone misses */
    assert_int_equal(changed(v1, rd), 1);
    assert_int_equal(changed(v1, ttl), 1);
    /* another zone (signer name): the same RDATA under the same relative name misses */
    sg_sigkey a, b;
    const sg_node *n1 = &v1->nodes[v1->nnodes - 1], *n2 = &other->nodes[other->nnodes - 1];
    assert_int_equal(n1->rrsets[0].rdata_len, n2->rrsets[0].rdata_len);
    assert_memory_equal(n1->rrsets[0].rdata, n2->rrsets[0].rdata, n1->rrsets[0].rdata_len);
    sg_sigkey_rrset(v1->apex, n1->name, &n1->rrsets[0], &a);
    sg_sigkey_rrset(other->apex, n2->name, &n2->rrsets[0], &b);
    assert_memory_not_equal(&a, &b, sizeof a);
    /* the owner alone differs (a wildcard's expansion is signed as the wildcard) */
    sg_sigkey_rrset(v1->apex, v1->apex, &n1->rrsets[0], &b);
    assert_memory_not_equal(&a, &b, sizeof a);
    /* a big RRset (hashed piecewise) is keyed by its content too */
    static uint8_t big[2 + 1000];
    big[0] = 1000 >> 8;
    big[1] = 1000 & 0xff;
    sg_rrset r1 = { .type = SG_TYPE_TXT, .count = 1, .ttl = 300, .rdata_len = sizeof big, .rdata = big };
    sg_rrset r2 = r1;
    sg_sigkey_rrset(v1->apex, n1->name, &r1, &a);
    sg_sigkey_rrset(v1->apex, n1->name, &r2, &b);
    assert_memory_equal(&a, &b, sizeof a);
    big[900] ^= 1;
    sg_sigkey_rrset(v1->apex, n1->name, &r2, &b);
    assert_memory_not_equal(&a, &b, sizeof a);
    sg_zone *zs[] = { v1, v1b, rd, ttl, other };
    for (int i = 0; i < 5; i++)
        sg_zone_free(zs[i]);
}

static void test_signer_identity(void **st)
{
    (void)st;
    uint8_t dk[36] = { 1, 0, 3, 13 }, dk2[36] = { 1, 0, 3, 13 };
    dk2[35] = 1;
    uint64_t a = sg_sigkey_signer(dk, sizeof dk, 1209600, 43200);
    assert_true(a != 0);
    assert_true(a == sg_sigkey_signer(dk, sizeof dk, 1209600, 43200));
    assert_true(a != sg_sigkey_signer(dk2, sizeof dk2, 1209600, 43200)); /* another key */
    assert_true(a != sg_sigkey_signer(dk, sizeof dk, 604800, 43200));    /* validity */
    assert_true(a != sg_sigkey_signer(dk, sizeof dk, 1209600, 3600));    /* jitter */
}

/* A name added: in NSEC mode the new name's record and its predecessor's change, in NSEC3
 * mode the new hash's record and the one before it in hash order; every other record of
 * the chain keeps its key. */
static void test_denial_spans(void **st)
{
    (void)st;
    sg_zone *v1 = make_zone("example.test.", 300, -1, -1, -1);
    sg_zone *v2 = make_zone("example.test.", 300, -1, -1, 7);
    uint16_t apex_types[] = { SG_TYPE_DNSKEY };
    for (int kind = 0; kind < 2; kind++) {
        enum sg_ks_denial dk = kind ? SG_KS_DENIAL_NSEC3 : SG_KS_DENIAL_NSEC;
        sg_denial *d1, *d2;
        assert_int_equal(sg_denial_build(v1, dk, 0, 0, apex_types, 1, &d1), 0);
        assert_int_equal(sg_denial_build(v2, dk, 0, 0, apex_types, 1, &d2), 0);
        int same = 0, total = 0;
        for (size_t i = 0; i < v2->nnodes; i++) {
            const sg_node *n2 = &v2->nodes[i];
            const sg_node *n1 = sg_zone_find(v1, n2->name, n2->name_len);
            const sg_nsec3_entry *e2 = kind ? sg_nsec3_of(d2->nsec3, n2) : NULL;
            const sg_nsec3_entry *e1 = kind && n1 ? sg_nsec3_of(d1->nsec3, n1) : NULL;
            const sg_rrset *r2 = kind ? (e2 ? &e2->rrset : NULL) : sg_nsec_of(d2->nsec, n2);
            const sg_rrset *r1 = !n1 ? NULL : kind ? (e1 ? &e1->rrset : NULL) : sg_nsec_of(d1->nsec, n1);
            if (!r2)
                continue;
            total++;
            sg_sigkey k1, k2;
            sg_sigkey_rrset(v2->apex, kind ? e2->owner : n2->name, r2, &k2);
            if (r1)
                sg_sigkey_rrset(v1->apex, kind ? e1->owner : n1->name, r1, &k1);
            same += r1 && !memcmp(&k1, &k2, sizeof k1);
        }
        assert_int_equal(total - same, 2);
        if (kind) {
            sg_sigkey p1, p2;
            sg_sigkey_rrset(v1->apex, v1->apex, &d1->nsec3->param, &p1);
            sg_sigkey_rrset(v2->apex, v2->apex, &d2->nsec3->param, &p2);
            assert_memory_equal(&p1, &p2, sizeof p1);
        }
        sg_denial_free(d1);
        sg_denial_free(d2);
    }
    sg_zone_free(v1);
    sg_zone_free(v2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_zone_versions),
        cmocka_unit_test(test_signer_identity),
        cmocka_unit_test(test_denial_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
