/* SPDX-License-Identifier: MIT */
/* Denial chains derived from the last version's equal those built from scratch: random
 * sequences of changes (names at every depth, empty non-terminals made and removed,
 * delegations with and without DS, glue, wildcards), compared byte for byte after each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/denial.h"
#include "signer/prove.h"
#include "common/log.h"
#include "common/name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXREC 4000

typedef struct rec {
    uint8_t owner[SG_NAME_MAX];
    uint16_t type;
    uint16_t rdlen;
    uint8_t rd[40];
} rec;

typedef struct zset {
    rec r[MAXREC];
    int n;
} zset;

static uint64_t g_rng = 0x853c49e6748fea9bULL;

static uint32_t rnd(uint32_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng % n);
}

static const char *APEX = "ex.test.";

/* A name 1..4 labels below the apex from a small pool, so that names meet and nest:
 * the same names come and go, parents become empty non-terminals, "*" makes wildcards. */
static void rand_name(uint8_t *w)
{
    static const char *labels[] = { "a", "b", "*", "c", "x1", "zz" };
    char s[256] = "";
    int depth = 1 + (int)rnd(4);
    for (int i = 0; i < depth; i++) {
        strcat(s, labels[rnd(6)]);
        strcat(s, ".");
    }
    strcat(s, APEX);
    assert_int_equal(sg_name_from_str(s, NULL, w), 0);
}

static int find(const zset *z, const uint8_t *owner, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
    for (int i = 0; i < z->n; i++)
        if (z->r[i].type == type && sg_name_eq(z->r[i].owner, owner) &&
            (!rd || (z->r[i].rdlen == rdlen && !memcmp(z->r[i].rd, rd, rdlen))))
            return i;
    return -1;
}

static void add(zset *z, const uint8_t *owner, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
    if (z->n == MAXREC || find(z, owner, type, rd, rdlen) >= 0)
        return;
    rec *r = &z->r[z->n++];
    memcpy(r->owner, owner, sg_name_len(owner));
    r->type = type;
    r->rdlen = rdlen;
    memcpy(r->rd, rd, rdlen);
}

static void del(zset *z, int i)
{
    z->r[i] = z->r[--z->n];
}

static void rand_change(zset *z)
{
    uint8_t w[SG_NAME_MAX], rd[40];
    static const uint8_t ns[] = "\x02ns\x05other\x00";
    switch (rnd(10)) {
    case 0: case 1: case 2: /* an address, a new name or one more at a name */
        rand_name(w);
        rd[0] = 192, rd[1] = 0, rd[2] = 2, rd[3] = (uint8_t)rnd(4);
        add(z, w, SG_TYPE_A, rd, 4);
        break;
    case 3: /* another type at a name (changes its bitmap only) */
        if (z->n > 2) {
            const rec *r = &z->r[2 + rnd((uint32_t)z->n - 2)];
            memcpy(w, r->owner, sg_name_len(r->owner));
            rd[0] = 3, memcpy(rd + 1, "txt", 3);
            add(z, w, rnd(2) ? SG_TYPE_TXT : SG_TYPE_AAAA, rd, 4);
            if (z->r[z->n - 1].type == SG_TYPE_AAAA)
                z->r[z->n - 1].rdlen = 16, memset(z->r[z->n - 1].rd, 0x20, 16);
        }
        break;
    case 4: /* a delegation: what is below it becomes glue or occluded */
        rand_name(w);
        add(z, w, SG_TYPE_NS, ns, sizeof ns - 1);
        break;
    case 5: /* a secure delegation (DS where an NS is) */
        for (int t = 0; t < 8; t++) {
            const rec *r = &z->r[rnd((uint32_t)z->n)];
            if (r->type == SG_TYPE_NS && !sg_name_eq(r->owner, z->r[0].owner)) {
                memcpy(w, r->owner, sg_name_len(r->owner));
                memset(rd, 0x11, 36);
                rd[2] = 13, rd[3] = 2;
                add(z, w, SG_TYPE_DS, rd, 36);
                break;
            }
        }
        break;
    default: /* a deletion; the apex SOA and NS (records 0 and 1) stay */
        if (z->n > 2) {
            int i = 2 + (int)rnd((uint32_t)z->n - 2);
            /* a whole name at times, so that names and empty non-terminals go */
            if (rnd(3) == 0) {
                memcpy(w, z->r[i].owner, sg_name_len(z->r[i].owner));
                for (int k = z->n - 1; k >= 2; k--)
                    if (sg_name_eq(z->r[k].owner, w))
                        del(z, k);
            } else {
                del(z, i);
            }
        }
        break;
    }
}

static int build(const zset *s, sg_zone **out)
{
    uint8_t apex[SG_NAME_MAX];
    sg_name_from_str(APEX, NULL, apex);
    sg_zone_builder *b = sg_zone_builder_new(apex);
    assert_non_null(b);
    for (int i = 0; i < s->n; i++) {
        const rec *r = &s->r[i];
        if (sg_zone_builder_add(b, r->owner, r->type, SG_CLASS_IN, 300, r->rd, r->rdlen, "test", (unsigned)i + 1)) {
            sg_zone_builder_free(b);
            return -1;
        }
    }
    return sg_zone_builder_finish(b, out);
}

static void start(zset *s)
{
    s->n = 0;
    uint8_t apex[SG_NAME_MAX], soa[64];
    sg_name_from_str(APEX, NULL, apex);
    static const uint8_t ns[] = "\x02ns\x05other\x00";
    size_t o = 0;
    memcpy(soa, ns, sizeof ns - 1);
    o += sizeof ns - 1;
    memcpy(soa + o, ns, sizeof ns - 1);
    o += sizeof ns - 1;
    memset(soa + o, 0, 20);
    soa[o + 3] = 1;
    soa[o + 19] = 60;
    o += 20;
    add(s, apex, SG_TYPE_SOA, soa, (uint16_t)o);
    add(s, apex, SG_TYPE_NS, ns, sizeof ns - 1);
    for (int i = 0; i < 80; i++)
        rand_change(s);
}

static void same_rrset(const sg_rrset *a, const sg_rrset *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->ttl, b->ttl);
    assert_int_equal(a->rdata_len, b->rdata_len);
    if (a->count)
        assert_memory_equal(a->rdata, b->rdata, a->rdata_len);
}

static void same_nsec(const sg_nsec_chain *a, const sg_nsec_chain *b)
{
    const sg_zone *z = a->zone;
    assert_ptr_equal(a->zone, b->zone);
    for (size_t i = 0; i < z->nnodes; i++) {
        same_rrset(&a->nsec[i], &b->nsec[i]);
        assert_int_equal(a->chain_at[i], b->chain_at[i]);
    }
}

static void same_nsec3(const sg_nsec3_chain *a, const sg_nsec3_chain *b)
{
    const sg_zone *z = a->zone;
    assert_ptr_equal(a->zone, b->zone);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->optout, b->optout);
    for (size_t i = 0; i < a->n; i++) {
        assert_memory_equal(a->e[i].hash, b->e[i].hash, SG_NSEC3_HASH_LEN);
        assert_true(a->pfx[i] == b->pfx[i]);
        uint64_t want = 0;
        for (int k = 0; k < 8; k++)
            want = want << 8 | a->e[i].hash[k];
        assert_true(a->pfx[i] == want);
        assert_ptr_equal(a->e[i].node, b->e[i].node);
        size_t ol = sg_name_len(a->e[i].owner);
        assert_int_equal(ol, sg_name_len(b->e[i].owner));
        assert_memory_equal(a->e[i].owner, b->e[i].owner, ol);
        same_rrset(&a->e[i].rrset, &b->e[i].rrset);
    }
    for (size_t i = 0; i < z->nnodes; i++)
        assert_int_equal(a->by_node[i], b->by_node[i]);
    same_rrset(&a->param, &b->param);
}

/* mode: 0 NSEC, 1 NSEC3, 2 NSEC3 with opt-out, 3 NSEC3 with a salt and iterations */
static void run(int mode, int steps)
{
    static const uint16_t apex_types[] = { SG_TYPE_DNSKEY, 59, 60 };
    static const uint8_t salt[] = { 0xab, 0xcd, 0xef };
    static zset cur, next;
    start(&cur);
    sg_zone *z = NULL;
    assert_int_equal(build(&cur, &z), 0);
    sg_nsec_chain *nc = NULL;
    sg_nsec3_chain *n3 = NULL;
    if (mode == 0)
        assert_int_equal(sg_nsec_build(z, apex_types, 3, &nc), 0);
    else
        assert_int_equal(sg_nsec3_build(z, mode == 3 ? 2 : 0, mode == 3 ? salt : NULL, mode == 3 ? 3 : 0,
                                        mode == 2, apex_types, 3, &n3), 0);
    int applied = 0, ents = 0, cuts = 0;
    for (int step = 0; step < steps; step++) {
        next = cur;
        int nch = 1 + (int)rnd(4);
        for (int k = 0; k < nch; k++)
            rand_change(&next);
        sg_zone *nz = NULL;
        if (build(&next, &nz)) {
            sg_zone_free(nz);
            continue; /* a version the zone checks refuse is never served */
        }
        applied++;
        for (size_t i = 0; i < nz->nnodes; i++) {
            ents += nz->nodes[i].nrrsets == 0;
            cuts += (nz->nodes[i].flags & SG_NODE_DELEG) != 0;
        }
        if (mode == 0) {
            sg_nsec_chain *inc = NULL, *full = NULL;
            assert_int_equal(sg_nsec_build_from(nz, nc, apex_types, 3, &inc), 0);
            assert_int_equal(sg_nsec_build(nz, apex_types, 3, &full), 0);
            same_nsec(inc, full);
            sg_nsec_free(full);
            sg_nsec_free(nc);
            nc = inc;
        } else {
            sg_nsec3_chain *inc = NULL, *full = NULL;
            assert_int_equal(sg_nsec3_build_from(nz, n3, apex_types, 3, &inc), 0);
            assert_int_equal(sg_nsec3_build(nz, mode == 3 ? 2 : 0, mode == 3 ? salt : NULL, mode == 3 ? 3 : 0,
                                            mode == 2, apex_types, 3, &full), 0);
            same_nsec3(inc, full);
            sg_nsec3_free(full);
            sg_nsec3_free(n3);
            n3 = inc;
        }
        sg_zone_free(z);
        z = nz;
        cur = next;
    }
    /* the walk met what it is meant to: most steps served, names coming and going under
     * empty non-terminals and delegations */
    assert_true(applied > steps / 2);
    assert_true(ents > 0);
    assert_true(cuts > 0);
    sg_nsec_free(nc);
    sg_nsec3_free(n3);
    sg_zone_free(z);
}

/* one random walk per denial mode (run's modes: 0 NSEC, 1 NSEC3, 2 opt-out, 3 salt) */
typedef struct walk {
    int mode, steps;
} walk;
static walk walk_nsec = { 0, 400 }, walk_nsec3 = { 1, 400 }, walk_optout = { 2, 400 },
                  walk_salt = { 3, 200 };

static void test_walk(void **st)
{
    const walk *w = *st;
    run(w->mode, w->steps);
}

/* sg_denial_build_from derives only from a chain of the same parameters and zone; for
 * anything else it builds from scratch, with the same result either way. */
static void test_denial_from(void **st)
{
    (void)st;
    static const uint16_t apex_types[] = { SG_TYPE_DNSKEY };
    static zset s;
    start(&s);
    sg_zone *z1 = NULL, *z2 = NULL;
    assert_int_equal(build(&s, &z1), 0);
    rand_change(&s);
    rand_change(&s);
    assert_int_equal(build(&s, &z2), 0);
    sg_denial *p = NULL, *a = NULL, *b = NULL;
    assert_int_equal(sg_denial_build(z1, SG_KS_DENIAL_NSEC3, 0, 0, apex_types, 1, &p), 0);
    /* another opt-out: not derived, and still right */
    assert_int_equal(sg_denial_build_from(z2, p, SG_KS_DENIAL_NSEC3, 0, 1, apex_types, 1, &a), 0);
    assert_int_equal(sg_denial_build(z2, SG_KS_DENIAL_NSEC3, 0, 1, apex_types, 1, &b), 0);
    assert_int_equal(a->nsec3->optout, 1);
    same_nsec3(a->nsec3, b->nsec3);
    sg_denial_free(a);
    sg_denial_free(b);
    assert_int_equal(sg_denial_build_from(z2, p, SG_KS_DENIAL_NSEC3, 0, 0, apex_types, 1, &a), 0);
    assert_int_equal(sg_denial_build(z2, SG_KS_DENIAL_NSEC3, 0, 0, apex_types, 1, &b), 0);
    same_nsec3(a->nsec3, b->nsec3);
    assert_ptr_equal(a->nsec3->zone, z2); /* a new chain, of the new version */
    sg_denial_free(a);
    sg_denial_free(b);
    sg_denial_free(p);
    sg_zone_free(z1);
    sg_zone_free(z2);
}

int main(void)
{
    sg_log_set_level(SG_LOG_SILENT); /* refused versions are logged as zone errors */
    const struct CMUnitTest tests[] = {
        { "test_nsec", test_walk, NULL, NULL, &walk_nsec },
        { "test_nsec3", test_walk, NULL, NULL, &walk_nsec3 },
        { "test_nsec3_optout", test_walk, NULL, NULL, &walk_optout },
        { "test_nsec3_salt", test_walk, NULL, NULL, &walk_salt },
        cmocka_unit_test(test_denial_from),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
