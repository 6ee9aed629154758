/* SPDX-License-Identifier: MIT */
/* Outgoing transfers: versions and their diffs (signature reuse), the journal's bounds
 * and fallback, the AXFR/IXFR message stream, config. (Serial policies: zones/test_serial.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "transfer/stream.h"
#include "transfer/transfer.h"
#include "common/errors.h"
#include "common/log.h"
#include "keystore/rollover.h"
#include "zones/zonedb.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <ldns/ldns.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char g_dir[64];

static const char *ZONE1 =
    "$ORIGIN example.test.\n$TTL 3600\n"
    "@ SOA ns hostmaster 10 7200 3600 1209600 300\n"
    "@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\nmail MX 10 www\n"
    "sub NS ns.sub\nns.sub A 192.0.2.9\n";
/* www changed, new added, mail gone */
static const char *ZONE2 =
    "$ORIGIN example.test.\n$TTL 3600\n"
    "@ SOA ns hostmaster 11 7200 3600 1209600 300\n"
    "@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.3\nnew A 192.0.2.4\n"
    "sub NS ns.sub\nns.sub A 192.0.2.9\n";

static sg_zone *load(const char *text, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_load_file(path, "example.test.", &z), 0);
    return z;
}

static int setup(void **st)
{
    (void)st;
    sg_log_set_level(SG_LOG_ERR);
    snprintf(g_dir, sizeof g_dir, "/tmp/sg-test-transfer-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

/* ---- versions and diffs ------------------------------------------------------------- */

static uint32_t soa_serial(const sg_xfr_rr *r)
{
    size_t n = sg_name_len(r->rdata);
    n += sg_name_len(r->rdata + n);
    const uint8_t *p = r->rdata + n;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int has(const sg_xfr_rr *v, size_t n, const char *owner, uint16_t type)
{
    uint8_t w[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str(owner, NULL, w), 0);
    for (size_t i = 0; i < n; i++)
        if (v[i].type == type && sg_name_eq(v[i].owner, w))
            return 1;
    return 0;
}

static void test_unsigned_versions(void **st)
{
    (void)st;
    sg_zone *z1 = load(ZONE1, "z1"), *z2 = load(ZONE2, "z2");
    sg_xfr_snap *a = NULL, *b = NULL;
    assert_int_equal(sg_xfr_snap_build(z1, NULL, NULL, 100, 1000, &a), 0);
    assert_int_equal(a->n, 7);
    assert_int_equal(a->rrs[a->soa_index].type, SG_TYPE_SOA);
    assert_int_equal(soa_serial(&a->rrs[a->soa_index]), 100); /* the version's, not the file's */
    assert_int_equal(a->denial, -1);
    assert_int_equal(a->resign_at, 0);
    assert_int_equal(sg_xfr_snap_build(z2, NULL, a, 101, 1000, &b), 0);
    sg_xfr_diff *d = NULL;
    assert_int_equal(sg_xfr_diff_make(a, b, 1000, &d), 0);
    assert_int_equal(d->from, 100);
    assert_int_equal(d->to, 101);
    assert_int_equal(soa_serial(&d->soa_from), 100);
    assert_int_equal(soa_serial(&d->soa_to), 101);
    /* deleted: old www A, mail MX; added: new www A, new A; SOAs are not in the lists */
    assert_int_equal(d->ndel, 2);
    assert_int_equal(d->nadd, 2);
    assert_true(has(d->del, d->ndel, "www.example.test.", SG_TYPE_A));
    assert_true(has(d->del, d->ndel, "mail.example.test.", SG_TYPE_MX));
    assert_true(has(d->add, d->nadd, "www.example.test.", SG_TYPE_A));
    assert_true(has(d->add, d->nadd, "new.example.test.", SG_TYPE_A));
    assert_false(has(d->add, d->nadd, "example.test.", SG_TYPE_SOA));
    sg_xfr_diff_unref(d);
    /* a version against itself: nothing */
    assert_int_equal(sg_xfr_diff_make(b, b, 1000, &d), 0);
    assert_int_equal(d->ndel + d->nadd, 0);
    sg_xfr_diff_unref(d);
    sg_xfr_snap_unref(a);
    sg_xfr_snap_unref(b);
    sg_zone_free(z1);
    sg_zone_free(z2);
}

static sg_keyset *keys(sg_keystore **ks_out, enum sg_ks_denial denial, const char *policy)
{
    char db[128];
    snprintf(db, sizeof db, "%s/ks-%s.db", g_dir, policy);
    assert_int_equal(sg_ks_new(db, "test", ks_out), 0);
    int64_t now = (int64_t)time(NULL);
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, policy);
    p.denial = denial;
    assert_int_equal(sg_ks_policy_add(*ks_out, &p, now), 0);
    assert_int_equal(sg_keyset_ensure(*ks_out, "example.test.", policy, now), 0);
    sg_keyset *k = NULL;
    assert_int_equal(sg_keyset_load(*ks_out, "example.test.", now, 0, &k), 0);
    return k;
}

static size_t count_type(const sg_xfr_rr *v, size_t n, uint16_t type)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += v[i].type == type;
    return c;
}

/* Signatures of unchanged RRsets are carried over, so a version's diff holds only what
 * changed: the data, its NSEC neighbours, and the SOA's signature. */
/* A small zone's version and diff hold little memory: ten thousand zones each with a
 * version must not each hold a 1 MiB arena chunk (mapped: ~8 KiB touched per zone) nor
 * a 64 KiB one per diff. */
static void test_small_version_small_heap(void **st)
{
    (void)st;
    sg_zone *z1 = load(ZONE1, "s1"), *z2 = load(ZONE2, "s2");
    struct mallinfo2 m0 = mallinfo2();
    sg_xfr_snap *a = NULL, *b = NULL;
    assert_int_equal(sg_xfr_snap_build(z1, NULL, NULL, 100, 1000, &a), 0);
    assert_int_equal(sg_xfr_snap_build(z2, NULL, a, 101, 1000, &b), 0);
    sg_xfr_diff *d = NULL;
    assert_int_equal(sg_xfr_diff_make(a, b, 1000, &d), 0);
    struct mallinfo2 m1 = mallinfo2();
    /* heap and mapped blocks alike (0 under a sanitizer's allocator, which it does not see) */
    size_t used = (m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd);
    if (m1.uordblks + m1.hblkhd < m0.uordblks + m0.hblkhd)
        used = 0;
    print_message("two 7-record versions and their diff: %zu bytes\n", used);
    assert_true(used <= 8192);
    sg_xfr_diff_unref(d);
    sg_xfr_snap_unref(b);
    sg_xfr_snap_unref(a);
    sg_zone_free(z1);
    sg_zone_free(z2);
}

static void test_signed_versions_reuse(void **st)
{
    (void)st;
    sg_keystore *ks = NULL;
    sg_keyset *k = keys(&ks, SG_KS_DENIAL_NSEC, "nsec");
    assert_int_equal(k->nzsk, 1);
    sg_zone *z1 = load(ZONE1, "s1"), *z2 = load(ZONE2, "s2");
    uint32_t now = (uint32_t)time(NULL);
    sg_xfr_snap *a = NULL, *b = NULL, *c = NULL, *late = NULL;
    assert_int_equal(sg_xfr_snap_build(z1, k, NULL, 1, now, &a), 0);
    assert_int_equal(a->denial, SG_KS_DENIAL_NSEC);
    assert_true(a->resign_at > now);
    assert_true(count_type(a->rrs, a->n, SG_TYPE_RRSIG) > 0);
    assert_true(count_type(a->rrs, a->n, SG_TYPE_DNSKEY) > 0);
    /* same zone, new serial: only the SOA's RRSIG differs */
    assert_int_equal(sg_xfr_snap_build(z1, k, a, 2, now + 5, &c), 0);
    sg_xfr_diff *d = NULL;
    assert_int_equal(sg_xfr_diff_make(a, c, now, &d), 0);
    assert_int_equal(d->ndel, 1);
    assert_int_equal(d->nadd, 1);
    assert_int_equal(d->del[0].type, SG_TYPE_RRSIG);
    assert_true(sg_name_eq(d->del[0].owner, z1->apex));
    assert_int_equal(d->del[0].rdata[0] << 8 | d->del[0].rdata[1], SG_TYPE_SOA);
    sg_xfr_diff_unref(d);
    /* the data change: www A (+RRSIG) replaced, mail MX (+RRSIG, NSEC, RRSIG) gone,
     * new A (+RRSIG, NSEC, RRSIG) added, the NSEC before each changed name (+RRSIG)
     * rewritten, and the SOA RRSIG */
    assert_int_equal(sg_xfr_snap_build(z2, k, c, 3, now + 5, &b), 0);
    assert_int_equal(sg_xfr_diff_make(c, b, now, &d), 0);
    assert_true(has(d->del, d->ndel, "mail.example.test.", SG_TYPE_MX));
    assert_true(has(d->add, d->nadd, "new.example.test.", SG_TYPE_NSEC));
    assert_false(has(d->del, d->ndel, "ns.example.test.", SG_TYPE_A));
    assert_false(has(d->add, d->nadd, "ns.example.test.", SG_TYPE_A));
    assert_false(has(d->add, d->nadd, "example.test.", SG_TYPE_DNSKEY));
    /* del: SOA sig, www A+sig, mail MX+sig+NSEC+sig, apex NSEC+sig (next was mail) */
    assert_int_equal(d->ndel, 1 + 2 + 4 + 2);
    /* add: SOA sig, www A+sig, new A+sig+NSEC+sig, apex NSEC+sig (next is new) */
    assert_int_equal(d->nadd, 1 + 2 + 4 + 2);
    sg_xfr_diff_unref(d);
    /* past the refresh point every signature is made again */
    assert_int_equal(sg_xfr_snap_build(z2, k, b, 4, now + k->policy.sig_validity, &late), 0);
    assert_int_equal(sg_xfr_diff_make(b, late, now, &d), 0);
    assert_int_equal(d->ndel, count_type(b->rrs, b->n, SG_TYPE_RRSIG));
    sg_xfr_diff_unref(d);
    sg_xfr_snap_unref(a);
    sg_xfr_snap_unref(b);
    sg_xfr_snap_unref(c);
    sg_xfr_snap_unref(late);
    sg_keyset_free(k);
    sg_ks_free(ks);
    sg_zone_free(z1);
    sg_zone_free(z2);
}

/* ---- the journal --------------------------------------------------------------------- */

static sg_xfr_diff *fake_diff(uint32_t from, uint32_t to, size_t bytes, int64_t at)
{
    sg_xfr_diff *d = calloc(1, sizeof *d);
    atomic_init(&d->refs, 1);
    sg_arena_init(&d->mem, 4096);
    d->from = from;
    d->to = to;
    d->bytes = bytes;
    d->at = at;
    return d;
}

static void test_journal(void **st)
{
    (void)st;
    sg_xfr_journal j;
    sg_xfr_journal_init(&j, 1000, 3600);
    sg_xfr_journal_add(&j, fake_diff(1, 2, 100, 0), 0);
    sg_xfr_journal_add(&j, fake_diff(2, 3, 100, 10), 10);
    sg_xfr_journal_add(&j, fake_diff(3, 4, 100, 20), 20);
    sg_xfr_diff **v = NULL;
    size_t n = 0;
    assert_int_equal(sg_xfr_journal_chain(&j, 1, 4, 30, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(v[0]->from, 1);
    assert_int_equal(v[2]->to, 4);
    /* the stream's references keep a diff alive after the journal drops it */
    sg_xfr_diff *held = v[0];
    for (size_t i = 1; i < n; i++)
        sg_xfr_diff_unref(v[i]);
    free(v);
    assert_int_equal(sg_xfr_journal_chain(&j, 2, 4, 30, &v, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        sg_xfr_diff_unref(v[i]);
    free(v);
    assert_int_equal(sg_xfr_journal_chain(&j, 4, 4, 30, &v, &n), 0);
    assert_int_equal(n, 0);
    /* a serial the journal never had, or one ahead of the target: AXFR fallback */
    assert_int_equal(sg_xfr_journal_chain(&j, 7, 4, 30, &v, &n), SG_ENOTFOUND);
    assert_int_equal(sg_xfr_journal_chain(&j, 1, 9, 30, &v, &n), SG_ENOTFOUND);
    /* size: a 850-byte diff pushes the two oldest out */
    sg_xfr_journal_add(&j, fake_diff(4, 5, 850, 40), 40);
    assert_int_equal(j.n, 2);
    assert_int_equal(j.bytes, 950);
    assert_int_equal(sg_xfr_journal_chain(&j, 1, 5, 40, &v, &n), SG_ENOTFOUND);
    assert_int_equal(sg_xfr_journal_chain(&j, 3, 5, 40, &v, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        sg_xfr_diff_unref(v[i]);
    free(v);
    assert_int_equal(held->from, 1); /* still readable */
    sg_xfr_diff_unref(held);
    /* age: an hour after diff 3->4 was made, it is gone */
    assert_int_equal(sg_xfr_journal_chain(&j, 3, 5, 20 + 3601, &v, &n), SG_ENOTFOUND);
    assert_int_equal(sg_xfr_journal_chain(&j, 4, 5, 20 + 3601, &v, &n), 0);
    sg_xfr_diff_unref(v[0]);
    free(v);
    /* a diff that does not continue the chain starts it again */
    sg_xfr_journal_add(&j, fake_diff(9, 10, 10, 4000), 4000);
    assert_int_equal(j.n, 1);
    assert_int_equal(sg_xfr_journal_chain(&j, 4, 5, 4000, &v, &n), SG_ENOTFOUND);
    /* a diff larger than the whole journal is not kept */
    sg_xfr_journal_add(&j, fake_diff(10, 11, 5000, 4000), 4000);
    assert_int_equal(j.n, 0);
    assert_int_equal(j.bytes, 0);
    sg_xfr_journal_deinit(&j);
}

/* ---- the message stream ------------------------------------------------------------- */

static uint8_t g_qwire[512];

static void make_q(sg_query *q, uint16_t qtype)
{
    memset(q, 0, sizeof *q);
    static const uint8_t name[] = "\x07" "example" "\x04" "test";
    memset(g_qwire, 0, 12);
    g_qwire[0] = 0xab;
    g_qwire[1] = 0xcd;
    g_qwire[5] = 1;
    memcpy(g_qwire + 12, name, sizeof name);
    size_t o = 12 + sizeof name;
    g_qwire[o++] = qtype >> 8;
    g_qwire[o++] = qtype & 0xff;
    g_qwire[o++] = 0;
    g_qwire[o++] = 1;
    q->wire = g_qwire;
    q->wire_len = o;
    q->id = 0xabcd;
    q->question_len = (uint16_t)(o - 12);
    q->qtype = qtype;
}

/* Run a stream to its end with messages of at most cap bytes; the records as ldns RRs. */
static ldns_rr_list *drain(sg_xfr_stream *s, size_t cap, int *messages, sg_tsig_ctx *verify)
{
    ldns_rr_list *all = ldns_rr_list_new();
    uint8_t *buf = malloc(65535);
    long n;
    *messages = 0;
    while ((n = sg_xfr_stream_next(s, buf, cap)) > 0) {
        assert_true((size_t)n <= cap);
        (*messages)++;
        if (verify) {
            uint16_t err = 99;
            assert_int_equal(sg_tsig_verify_response(verify, buf, (size_t)n, (uint64_t)time(NULL), &err), 0);
            assert_int_equal(err, 0);
        }
        ldns_pkt *p = NULL;
        assert_int_equal(ldns_wire2pkt(&p, buf, (size_t)n), LDNS_STATUS_OK);
        assert_int_equal(ldns_pkt_id(p), 0xabcd);
        assert_true(ldns_pkt_aa(p) && ldns_pkt_qr(p));
        ldns_rr_list *an = ldns_pkt_answer(p);
        for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
            ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_rr_list_rr(an, i)));
        ldns_pkt_free(p);
    }
    assert_int_equal(n, 0);
    free(buf);
    return all;
}

static void test_stream_axfr_ixfr(void **st)
{
    (void)st;
    sg_keystore *ks = NULL;
    sg_keyset *k = keys(&ks, SG_KS_DENIAL_NSEC3, "nsec3");
    sg_zone *z1 = load(ZONE1, "t1"), *z2 = load(ZONE2, "t2");
    uint32_t now = (uint32_t)time(NULL);
    sg_xfr_snap *a = NULL, *b = NULL;
    assert_int_equal(sg_xfr_snap_build(z1, k, NULL, 20, now, &a), 0);
    assert_int_equal(sg_xfr_snap_build(z2, k, a, 21, now, &b), 0);
    assert_true(count_type(b->rrs, b->n, SG_TYPE_NSEC3) == 5); /* one per authoritative name */
    sg_query q;
    make_q(&q, SG_TYPE_AXFR);

    /* AXFR in small messages: SOA, every record once, SOA */
    sg_xfr_snap_ref(b);
    sg_xfr_stream *s = sg_xfr_stream_new(b, SG_XFR_AXFR, NULL, 0, &q, NULL, "AXFR", "test");
    assert_non_null(s);
    int msgs = 0;
    ldns_rr_list *l = drain(s, 700, &msgs, NULL);
    assert_true(msgs > 3);
    assert_int_equal(ldns_rr_list_rr_count(l), b->n + 1);
    assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(l, 0)), LDNS_RR_TYPE_SOA);
    assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(l, b->n)), LDNS_RR_TYPE_SOA);
    assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(l, 0), 2)), 21);
    ldns_rr_list_deep_free(l);
    sg_xfr_stream_free(s);

    /* IXFR: SOA 21, SOA 20, deleted, SOA 21, added, SOA 21; TSIG on every message */
    sg_xfr_diff *d = NULL;
    assert_int_equal(sg_xfr_diff_make(a, b, now, &d), 0);
    sg_xfr_diff **dv = malloc(sizeof *dv);
    dv[0] = d;
    sg_tsig_keyring *kr = sg_tsig_keyring_new();
    assert_int_equal(sg_tsig_keyring_add(kr, "xfr.key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0"), 0);
    sg_tsig_ctx cli, srv;
    sg_tsig_ctx_init(&cli, sg_tsig_find(kr, "xfr.key"));
    make_q(&q, SG_TYPE_IXFR);
    size_t ql = q.wire_len;
    assert_int_equal(sg_tsig_sign(&cli, g_qwire, &ql, sizeof g_qwire, (uint64_t)time(NULL)), 0);
    q.wire_len = ql;
    sg_tsig_ctx_init(&srv, NULL);
    uint16_t err = 99;
    assert_int_equal(sg_tsig_verify_request(&srv, kr, g_qwire, ql, (uint64_t)time(NULL), &err), 0);
    assert_int_equal(err, 0);
    sg_xfr_snap_ref(b);
    s = sg_xfr_stream_new(b, SG_XFR_IXFR, dv, 1, &q, &srv, "IXFR", "test");
    sg_tsig_ctx_deinit(&srv);
    /* the stream signs with its own copy of the key: the server side may go */
    assert_non_null(s);
    l = drain(s, 600, &msgs, &cli);
    assert_true(msgs >= 2);
    size_t total = ldns_rr_list_rr_count(l);
    assert_int_equal(total, 4 + d->ndel + d->nadd);
    uint32_t want[4] = { 21, 20, 21, 21 };
    size_t at[4] = { 0, 1, 2 + d->ndel, total - 1 };
    for (int i = 0; i < 4; i++) {
        ldns_rr *r = ldns_rr_list_rr(l, at[i]);
        assert_int_equal(ldns_rr_get_type(r), LDNS_RR_TYPE_SOA);
        assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(r, 2)), want[i]);
    }
    ldns_rr_list_deep_free(l);
    sg_xfr_stream_free(s);
    sg_tsig_ctx_deinit(&cli);
    sg_tsig_keyring_free(kr);

    /* up to date: the SOA alone */
    sg_xfr_snap_ref(b);
    s = sg_xfr_stream_new(b, SG_XFR_SOA_ONLY, NULL, 0, &q, NULL, "IXFR", "test");
    l = drain(s, 512, &msgs, NULL);
    assert_int_equal(msgs, 1);
    assert_int_equal(ldns_rr_list_rr_count(l), 1);
    ldns_rr_list_deep_free(l);
    sg_xfr_stream_free(s);

    sg_xfr_snap_unref(a);
    sg_xfr_snap_unref(b);
    sg_keyset_free(k);
    sg_ks_free(ks);
    sg_zone_free(z1);
    sg_zone_free(z2);
}

/* ---- on disk ------------------------------------------------------------------------ */

static void test_persist(void **st)
{
    (void)st;
    sg_keystore *ks = NULL;
    sg_keyset *k = keys(&ks, SG_KS_DENIAL_NSEC, "persist");
    sg_zone *z1 = load(ZONE1, "p1"), *z2 = load(ZONE2, "p2");
    uint32_t now = (uint32_t)time(NULL);
    sg_xfr_snap *a = NULL, *b = NULL, *l = NULL, *same = NULL;
    assert_int_equal(sg_xfr_snap_build(z1, k, NULL, 20, now, &a), 0);
    assert_int_equal(sg_xfr_snap_build(z2, k, a, 21, now, &b), 0);
    sg_xfr_journal j, j2;
    sg_xfr_journal_init(&j, 1 << 20, 0);
    sg_xfr_journal_init(&j2, 1 << 20, 0);
    sg_xfr_diff *d = NULL;
    assert_int_equal(sg_xfr_diff_make(a, b, now, &d), 0);
    size_t ndel = d->ndel, nadd = d->nadd;
    sg_xfr_journal_add(&j, d, now);
    char path[128];
    snprintf(path, sizeof path, "%s/example.test.xfr-journal", g_dir);
    assert_int_equal(sg_xfr_persist_save(path, b, &j), 0);
    assert_int_equal(sg_xfr_persist_load(path, &j2, now, &l), 0);
    /* the same version, record for record */
    assert_int_equal(l->serial, 21);
    assert_int_equal(l->n, b->n);
    assert_int_equal(l->soa_index, b->soa_index);
    assert_int_equal(l->zsk_fp, b->zsk_fp);
    assert_int_equal(l->denial, SG_KS_DENIAL_NSEC);
    for (size_t i = 0; i < b->n; i++)
        assert_int_equal(sg_xfr_rr_cmp(&l->rrs[i], &b->rrs[i]), 0);
    /* and the journal still bridges 20 -> 21 */
    sg_xfr_diff **v = NULL;
    size_t n = 0;
    assert_int_equal(sg_xfr_journal_chain(&j2, 20, 21, now, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0]->ndel, ndel);
    assert_int_equal(v[0]->nadd, nadd);
    sg_xfr_diff_unref(v[0]);
    free(v);
    /* after a restart the zone and keys are the same: so is the version (signatures, SOA) */
    assert_int_equal(sg_xfr_snap_build(z2, k, l, 21, now + 60, &same), 0);
    assert_int_equal(sg_xfr_diff_make(l, same, now, &d), 0);
    assert_int_equal(d->ndel + d->nadd, 0);
    sg_xfr_diff_unref(d);
    /* damage: a truncated file is refused whole, a missing one is just missing */
    sg_xfr_journal j3;
    sg_xfr_journal_init(&j3, 1 << 20, 0);
    sg_xfr_snap *bad = NULL;
    assert_int_equal(truncate(path, 100), 0);
    assert_int_equal(sg_xfr_persist_load(path, &j3, now, &bad), SG_EMALFORMED);
    assert_null(bad);
    assert_int_equal(j3.n, 0);
    unlink(path);
    assert_int_equal(sg_xfr_persist_load(path, &j3, now, &bad), SG_ENOTFOUND);
    sg_xfr_journal_deinit(&j);
    sg_xfr_journal_deinit(&j2);
    sg_xfr_journal_deinit(&j3);
    sg_xfr_snap_unref(a);
    sg_xfr_snap_unref(b);
    sg_xfr_snap_unref(l);
    sg_xfr_snap_unref(same);
    sg_keyset_free(k);
    sg_ks_free(ks);
    sg_zone_free(z1);
    sg_zone_free(z2);
}

/* ---- config ------------------------------------------------------------------------- */

static void test_parse(void **st)
{
    (void)st;
    static const struct { const char *text; int ok; } cases[] = {
        { "transfer {\n to 192.0.2.1 10.0.0.0/8 2001:db8::/32\n}\n", 1 },
        { "transfer {\n to *\n key xfr.key\n notify 192.0.2.1 192.0.2.2:5353 [2001:db8::1]:53 2001:db8::2\n"
          " serial dateserial\n journal 4m 2d\n compact-as-nsec\n state-dir /tmp\n}\n", 1 },
        { "transfer\n", 0 },                                  /* no block */
        { "transfer {\n}\n", 0 },                             /* no 'to' */
        { "transfer {\n to 192.0.2.300\n}\n", 0 },
        { "transfer {\n to 10.0.0.0/33\n}\n", 0 },
        { "transfer {\n to *\n notify 192.0.2.1:0\n}\n", 0 },
        { "transfer {\n to *\n serial sometimes\n}\n", 0 },
        { "transfer {\n to *\n journal big\n}\n", 0 },
        { "transfer {\n to *\n bogus 1\n}\n", 0 },
        { "transfer example.test {\n to *\n}\n", 0 },
        { "transfer {\n to *\n version-workers 4\n}\n", 1 },
        { "transfer {\n to *\n version-workers 0\n}\n", 0 },
        { "transfer {\n to *\n version-workers 17\n}\n", 0 },
        { "transfer {\n to *\n version-workers two\n}\n", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "example.test {\n%s}\n", cases[i].text);
        sg_cfg *cfg = NULL;
        assert_int_equal(sg_cfg_parse_string(text, "t", &cfg), 0);
        sg_xfr_cfg c;
        int rc = sg_xfr_parse(&cfg->servers[0].children[0], &c);
        if (cases[i].ok != (rc == 0))
            fail_msg("case %zu: %s gave %d", i, cases[i].text, rc);
        if (i == 1) {
            assert_int_equal(c.nnotify, 4);
            assert_int_equal(ntohs(((struct sockaddr_in *)&c.notify[1])->sin_port), 5353);
            assert_int_equal(ntohs(((struct sockaddr_in6 *)&c.notify[2])->sin6_port), 53);
            assert_int_equal(c.serial, SG_SERIAL_DATESERIAL);
            assert_int_equal(c.journal_bytes, 4u << 20);
            assert_int_equal(c.journal_age, 2 * 86400);
            assert_true(c.compact_as_nsec);
            assert_string_equal(c.key, "xfr.key");
            assert_int_equal(c.workers, SG_XFR_WORKERS_DEFAULT);
        }
        if (i == 11)
            assert_int_equal(c.workers, 4);
        sg_cfg_free(cfg);
    }
}

static void test_acl(void **st)
{
    (void)st;
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string("a.test {\n transfer {\n to 192.0.2.1 10.1.0.0/17 2001:db8::/33\n }\n}\n",
                                         "t", &cfg), 0);
    sg_xfr_cfg c;
    assert_int_equal(sg_xfr_parse(&cfg->servers[0].children[0], &c), 0);
    static const struct { const char *addr; int ok; } cases[] = {
        { "192.0.2.1", 1 }, { "192.0.2.2", 0 }, { "10.1.127.255", 1 }, { "10.1.128.0", 0 },
        { "10.2.0.1", 0 }, { "2001:db8::1", 1 }, { "2001:db8:7fff::1", 1 },
        { "2001:db8:8000::1", 0 }, { "::ffff:192.0.2.1", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        if (strchr(cases[i].addr, ':')) {
            ss.ss_family = AF_INET6;
            inet_pton(AF_INET6, cases[i].addr, &((struct sockaddr_in6 *)&ss)->sin6_addr);
        } else {
            ss.ss_family = AF_INET;
            inet_pton(AF_INET, cases[i].addr, &((struct sockaddr_in *)&ss)->sin_addr);
        }
        if (sg_xfr_net_match(c.to, c.nto, (struct sockaddr *)&ss) != cases[i].ok)
            fail_msg("%s: expected %d", cases[i].addr, cases[i].ok);
    }
    sg_cfg_free(cfg);
}

/* A secondary on loopback that answers the SOA query with a compressed SOA (as NSD and
 * Knot do), one that answers REFUSED, and silence: the serial, SG_ENOTFOUND, a timeout. */
typedef struct soa_srv {
    int fd;
    int mode;              /* 0: SOA serial 2021, 1: REFUSED, 2: say nothing */
} soa_srv;

static void *soa_answer(void *arg)
{
    soa_srv *s = arg;
    uint8_t q[512], a[512];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(s->fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
    if (n < 12 || s->mode == 2)
        return NULL;
    memcpy(a, q, (size_t)n);
    a[2] = 0x84;                      /* QR, AA */
    a[3] = s->mode == 1 ? 5 : 0;
    size_t o = (size_t)n;
    if (s->mode == 0) {
        a[7] = 1;
        static const uint8_t rr[] = { 0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 26,
                                      2, 'n', 's', 0xc0, 12,      /* ns.<zone> */
                                      0xc0, 12,                   /* <zone> */
                                      0, 0, 0x07, 0xe5,           /* serial 2021 */
                                      0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 };
        memcpy(a + o, rr, sizeof rr);
        o += sizeof rr;
    }
    sendto(s->fd, a, o, 0, (struct sockaddr *)&from, fl);
    return NULL;
}

static void test_served_serial(void **st)
{
    (void)st;
    uint8_t apex[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str("late.test.", NULL, apex), 0);
    for (int mode = 0; mode < 3; mode++) {
        soa_srv s = { socket(AF_INET, SOCK_DGRAM, 0), mode };
        struct sockaddr_in sin = { .sin_family = AF_INET };
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(s.fd, (struct sockaddr *)&sin, sizeof sin), 0);
        socklen_t l = sizeof sin;
        getsockname(s.fd, (struct sockaddr *)&sin, &l);
        struct sockaddr_storage to;
        memset(&to, 0, sizeof to);
        memcpy(&to, &sin, sizeof sin);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, soa_answer, &s), 0);
        uint32_t serial = 0;
        int rc = sg_xfr_served_serial(&to, apex, 300, &serial);
        if (mode == 2) {
            assert_int_equal(rc, SG_ETIMEOUT); /* the silent one read our query, said nothing */
        } else if (mode == 1) {
            assert_int_equal(rc, SG_ENOTFOUND);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(serial, 2021);
        }
        pthread_join(t, NULL);
        close(s.fd);
    }
    assert_true(sg_xfr_serves(2021, 2021));
    assert_true(sg_xfr_serves(5, 4294967295u));   /* RFC 1982: 5 is after the wrap */
    assert_false(sg_xfr_serves(2020, 2021));
}

/* ---- when a zone takes its next turn ------------------------------------------------ */

/* The due time after a turn, case by case: only what is pending runs every second. */
static void test_next_turn(void **st)
{
    (void)st;
    const int64_t now = 1700000000, ms = 5000000;
    struct {
        sg_xfr_due d;
        int64_t in_ms;
        const char *why;
    } cases[] = {
        { { 0 }, 1000, "no version yet" },
        { { .has_version = 1 }, 600000, "idle unsigned zone: the safety net" },
        { { .has_version = 1, .pending = 1 }, 1000, "secondaries not yet serving" },
        { { .has_version = 1, .signed_zone = 1 }, 1000, "signed, key changes untold (as before)" },
        { { .has_version = 1, .signed_zone = 1, .keys_told = 1, .keys_next = INT64_MAX },
          600000, "idle signed zone: not due every second" },
        { { .has_version = 1, .signed_zone = 1, .keys_told = 1, .keys_next = now + 20 }, 20000,
          "the keys' next timing point" },
        { { .has_version = 1, .signed_zone = 1, .keys_told = 1, .resign_at = now + 7,
            .keys_next = now + 20 }, 7000, "signatures refreshed first" },
        { { .has_version = 1, .signed_zone = 1, .keys_told = 1, .resign_at = now - 5 }, 1000,
          "refresh overdue: in a second, not at once again" },
        { { .has_version = 1, .signed_zone = 1, .keys_told = 1, .recheck_at = now + 10 }, 10000,
          "a propagation row recorded again" },
        { { .has_version = 1, .resign_at = (uint32_t)(now + 3600) }, 600000, "far refresh" },
        { { .has_version = 1, .keys_next = now + 5 }, 600000, "unsigned: keys do not count" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = sg_xfr_next_turn(&cases[i].d, now, ms) - ms;
        if (got != cases[i].in_ms)
            fail_msg("%s: due in %lld ms, want %lld", cases[i].why, (long long)got,
                     (long long)cases[i].in_ms);
    }
}

static sg_xfr_snap *wait_version(sg_xfr_zone *xz, uint64_t not_fp, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        sg_xfr_snap *s = sg_xfr_zone_current(xz);
        if (s && s->key_fp != not_fp)
            return s;
        sg_xfr_snap_unref(s);
        usleep(20000);
    }
    return NULL;
}

/* A signed zone whose key changes are told takes no turn while idle, and one at once when
 * told; untold (the old way), it takes one every second. On the real pool and clock. */
static void test_idle_signed_zone(void **st)
{
    (void)st;
    sg_keystore *ks = NULL;
    sg_keyset *k = keys(&ks, SG_KS_DENIAL_NSEC, "idle");
    char db[128], path[128];
    snprintf(db, sizeof db, "%s/ks-idle.db", g_dir);
    snprintf(path, sizeof path, "%s/idle.zone", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(ZONE1, f);
    fclose(f);
    sg_zone *z = NULL;
    assert_int_equal(sg_zonedb_acquire(path, "example.test.", 0, 0, &z), 0);
    sg_xfr_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.workers = 2;
    snprintf(cfg.state_dir, sizeof cfg.state_dir, "%s", g_dir);
    for (int told = 1; told >= 0; told--) {
        cfg.keys_told = told;
        sg_xfr_zone *xz = NULL;
        assert_int_equal(sg_xfr_zone_acquire(z->apex, &cfg, NULL, db, &xz), 0);
        sg_xfr_snap *v1 = wait_version(xz, 1, 5000);
        assert_non_null(v1);
        assert_int_not_equal(v1->key_fp, 0);
        usleep(200000); /* the turn that made it has put the zone back */
        uint64_t t0 = sg_xfr_zone_turns(xz);
        usleep(2500000);
        uint64_t idle = sg_xfr_zone_turns(xz) - t0;
        if (told) {
            assert_int_equal(idle, 0); /* the safety net is a minute away */
            /* a rollover started (signetctl zone roll): the key provider tells */
            int64_t id = 0;
            assert_int_equal(sg_roll_start(ks, "example.test.", SG_KS_ROLE_CSK,
                                           (int64_t)time(NULL), &id), 0);
            usleep(1200000);
            sg_xfr_snap *same = sg_xfr_zone_current(xz); /* untold: nothing yet */
            assert_int_equal(same->key_fp, v1->key_fp);
            sg_xfr_snap_unref(same);
            uint8_t upper[SG_NAME_MAX];
            assert_int_equal(sg_name_from_str("EXAMPLE.Test.", NULL, upper), 0);
            struct timespec a, b;
            clock_gettime(CLOCK_MONOTONIC, &a);
            sg_xfr_keys_changed(upper);
            sg_xfr_snap *v2 = wait_version(xz, v1->key_fp, 3000);
            clock_gettime(CLOCK_MONOTONIC, &b);
            assert_non_null(v2);
            assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 900);
            assert_int_not_equal(v2->serial, v1->serial);
            sg_xfr_snap_unref(v2);
        } else {
            assert_true(idle >= 2); /* every second */
        }
        sg_xfr_snap_unref(v1);
        sg_xfr_zone_release(xz);
    }
    sg_zonedb_release(z);
    sg_keyset_free(k);
    sg_ks_free(ks);
}


/* Ten thousand zones in one block: each zone's state is small and the block's config (64
 * addresses, paths, the TSIG key) is held once, whatever the zones' own serial floors;
 * a reload's new config is shared again and the old copy goes with its last zone. */
static void test_shared_block_state(void **st)
{
    (void)st;
    assert_true(sg_xfr_zone_state_size() <= 2048);
    sg_xfr_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.workers = 1;
    snprintf(cfg.state_dir, sizeof cfg.state_dir, "%s", g_dir);
    cfg.nto = cfg.nnotify = SG_XFR_MAX_PEERS;
    for (int i = 0; i < SG_XFR_MAX_PEERS; i++) {
        struct sockaddr_in *a = (struct sockaddr_in *)&cfg.to[i].addr;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(0x7f000100u + (uint32_t)i);
        cfg.to[i].prefix = 32;
        a = (struct sockaddr_in *)&cfg.notify[i];
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(0x7f000100u + (uint32_t)i);
        a->sin_port = htons(9);
    }
    enum { N = 300 };
    static sg_xfr_zone *xz[N];
    size_t b0 = sg_xfr_blocks();
    struct mallinfo2 m0 = mallinfo2();
    for (int i = 0; i < N; i++) {
        char name[64];
        uint8_t apex[SG_NAME_MAX];
        snprintf(name, sizeof name, "z%d.shared.test.", i);
        assert_int_equal(sg_name_from_str(name, NULL, apex), 0);
        cfg.has_floor = i & 1;
        cfg.floor = (uint32_t)i;
        assert_int_equal(sg_xfr_zone_acquire(apex, &cfg, NULL, "", &xz[i]), 0);
    }
    struct mallinfo2 m1 = mallinfo2();
    assert_int_equal(sg_xfr_blocks(), b0 + 1);
    /* the heap the zones took (0 under a sanitizer, whose allocator mallinfo2 does not see) */
    size_t per_zone = m1.uordblks > m0.uordblks ? (m1.uordblks - m0.uordblks) / N : 0;
    print_message("transfer state: %zu bytes per zone on the heap, %zu in the struct\n",
                  per_zone, sg_xfr_zone_state_size());
    assert_true(per_zone <= 4096);
    /* a reload with another journal bound: every zone moves to one new copy, and the
     * old one goes with the last zone that held it */
    cfg.journal_bytes = 12345;
    for (int i = 0; i < N; i++) {
        char name[64];
        uint8_t apex[SG_NAME_MAX];
        snprintf(name, sizeof name, "z%d.shared.test.", i);
        assert_int_equal(sg_name_from_str(name, NULL, apex), 0);
        sg_xfr_zone *again = NULL;
        assert_int_equal(sg_xfr_zone_acquire(apex, &cfg, NULL, "", &again), 0);
        assert_ptr_equal(again, xz[i]);
        assert_true(sg_xfr_blocks() <= b0 + 2);
    }
    assert_int_equal(sg_xfr_blocks(), b0 + 1);
    for (int i = 0; i < N; i++) {
        sg_xfr_zone_release(xz[i]);
        sg_xfr_zone_release(xz[i]);
    }
    assert_int_equal(sg_xfr_blocks(), b0);
}

/* ---- probes and NOTIFY in the background ------------------------------------------- */

static int udp_socket(struct sockaddr_storage *to)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t l = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &l);
    memset(to, 0, sizeof *to);
    memcpy(to, &sin, sizeof sin);
    return fd;
}

typedef struct probe_result {
    pthread_mutex_t lock;
    int calls[4], rc[4];
    uint32_t serial[4];
} probe_result;

static void probe_done(void *arg, int i, int rc, uint32_t serial)
{
    probe_result *r = arg;
    pthread_mutex_lock(&r->lock);
    r->calls[i]++;
    r->rc[i] = rc;
    r->serial[i] = serial;
    pthread_mutex_unlock(&r->lock);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A probe never makes its caller wait: the answer of a secondary, a silent one's
 * timeout, each handed to done once; a zone's probes stopped by the reap are never. */
static void test_probe(void **st)
{
    (void)st;
    uint8_t apex[SG_NAME_MAX], other[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str("late.test.", NULL, apex), 0);
    assert_int_equal(sg_name_from_str("gone.test.", NULL, other), 0);
    struct sockaddr_storage good, silent;
    soa_srv s = { udp_socket(&good), 0 };
    int quiet = udp_socket(&silent);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, soa_answer, &s), 0);
    probe_result r = { .lock = PTHREAD_MUTEX_INITIALIZER };
    int64_t t0 = mono_ms();
    sg_xfr_probe(apex, &silent, 300, probe_done, &r, 0);
    sg_xfr_probe(apex, &good, 300, probe_done, &r, 1);
    sg_xfr_probe(other, &silent, 300, probe_done, &r, 2);
    assert_true(mono_ms() - t0 < 100); /* sent in the background */
    sg_xfr_notify_reap(other, 1);
    pthread_join(t, NULL);
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&r.lock);
        int got = r.calls[0] && r.calls[1];
        pthread_mutex_unlock(&r.lock);
        if (got)
            break;
        usleep(20000);
    }
    usleep(500000); /* past the stopped probe's own timeout */
    pthread_mutex_lock(&r.lock);
    assert_int_equal(r.calls[0], 1);
    assert_int_equal(r.rc[0], SG_ETIMEOUT);
    assert_int_equal(r.calls[1], 1);
    assert_int_equal(r.rc[1], 0);
    assert_int_equal(r.serial[1], 2021);
    assert_int_equal(r.calls[2], 0);
    pthread_mutex_unlock(&r.lock);
    close(s.fd);
    close(quiet);
}

typedef struct notify_rx {
    int fd;
    int64_t at;            /* when the first NOTIFY came (ms) */
} notify_rx;

static void *notify_receive(void *arg)
{
    notify_rx *x = arg;
    uint8_t m[512];
    struct timeval tv = { 10, 0 };
    setsockopt(x->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (recv(x->fd, m, sizeof m, 0) >= 12)
        x->at = mono_ms();
    return NULL;
}

/* A target that never answers, with more NOTIFYs than may be in flight at once, does not
 * hold up the NOTIFY to another target queued after them all. */
static void test_notify_fair(void **st)
{
    (void)st;
    struct sockaddr_storage dead, live;
    int quiet = udp_socket(&dead);
    notify_rx x = { udp_socket(&live), 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, notify_receive, &x), 0);
    char name[64];
    uint8_t apex[SG_NAME_MAX];
    for (int i = 0; i < 1100; i++) {
        snprintf(name, sizeof name, "z%d.dead.test.", i);
        assert_int_equal(sg_name_from_str(name, NULL, apex), 0);
        sg_xfr_notify(apex, 1, NULL, &dead, 1, NULL);
    }
    assert_int_equal(sg_name_from_str("live.test.", NULL, apex), 0);
    int64_t t0 = mono_ms();
    sg_xfr_notify(apex, 1, NULL, &live, 1, NULL);
    pthread_join(t, NULL);
    assert_true(x.at != 0);
    assert_true(x.at - t0 < 2000);
    sg_xfr_notify_reap(NULL, 1);
    close(quiet);
    close(x.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsigned_versions),
        cmocka_unit_test(test_small_version_small_heap),
        cmocka_unit_test(test_signed_versions_reuse),
        cmocka_unit_test(test_journal),
        cmocka_unit_test(test_stream_axfr_ixfr),
        cmocka_unit_test(test_persist),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_acl),
        cmocka_unit_test(test_served_serial),
        cmocka_unit_test(test_next_turn),
        cmocka_unit_test(test_idle_signed_zone),
        cmocka_unit_test(test_shared_block_state),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_notify_fair),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
