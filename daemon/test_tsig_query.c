/* SPDX-License-Identifier: MIT */
/* Unit tests for TSIG on ordinary queries (tsig_query.c): a client signs with tsig/, the
 * server side checks, answers and signs, the client verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/secure_heap.h"
#include "common/wire.h"
#include "daemon/tsig_query.h"

static sg_tsig_keyring *g_server;   /* what signetd holds */
static sg_tsig_keyring *g_client;   /* what clients sign with: the right key, and one unknown */
static sg_arena g_arena;
static uint8_t g_out[4096];

static int setup(void **st)
{
    (void)st;
    g_server = sg_tsig_keyring_new();
    g_client = sg_tsig_keyring_new();
    assert_int_equal(sg_tsig_keyring_add(g_server, "q.key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0"), 0);
    assert_int_equal(sg_tsig_keyring_add(g_client, "q.key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0"), 0);
    assert_int_equal(sg_tsig_keyring_add(g_client, "other.key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0"), 0);
    sg_arena_init(&g_arena, 64 * 1024);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    sg_tsig_keyring_free(g_server);
    sg_tsig_keyring_free(g_client);
    sg_arena_deinit(&g_arena);
    return 0;
}

/* example.test/qtype, ID 0x1234, with an OPT record when edns; returns its length */
static size_t make_query(uint8_t *pkt, uint16_t qtype, int edns)
{
    static const uint8_t head[] = { 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0 };
    size_t n = sizeof head;
    memcpy(pkt, head, n);
    pkt[n++] = (uint8_t)(qtype >> 8);
    pkt[n++] = (uint8_t)qtype;
    pkt[n++] = 0;
    pkt[n++] = 1;
    if (edns) {
        static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };
        memcpy(pkt + n, opt, sizeof opt);
        n += sizeof opt;
        pkt[11] = 1;
    }
    return n;
}

/* Sign pkt with the client's key at time t (ctx keeps the request MAC for the reply). */
static size_t sign_query(sg_tsig_ctx *ctx, const sg_tsig_key *key, uint8_t *pkt, size_t len,
                         uint64_t t)
{
    sg_tsig_ctx_init(ctx, key);
    assert_int_equal(sg_tsig_sign(ctx, pkt, &len, 600, t), 0);
    return len;
}

static void parse(sg_query *q, const uint8_t *pkt, size_t len)
{
    memset(q, 0, sizeof *q);
    sg_arena_reset(&g_arena);
    q->transport = SG_TRANSPORT_UDP;
    q->out = g_out;
    q->out_cap = sizeof g_out;
    q->arena = &g_arena;
    assert_int_equal(sg_wire_parse_query(q, pkt, len, 1232), SG_PARSE_OK);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The TSIG error of a reply whose TSIG has no Other Data (the last RDATA fields). */
static uint16_t reply_tsig_error(const sg_query *q, size_t other_len)
{
    return rd16(q->out + q->out_len - 4 - other_len);
}

static void test_signed_query_signed_reply(void **st)
{
    (void)st;
    uint8_t pkt[600];
    size_t plain = make_query(pkt, SG_TYPE_SOA, 1);
    sg_tsig_ctx cli;
    uint64_t now = (uint64_t)time(NULL);
    size_t len = sign_query(&cli, sg_tsig_find(g_client, "q.key"), pkt, plain, now);
    sg_query q;
    parse(&q, pkt, len);
    assert_int_not_equal(q.tsig_at, 0);
    uint16_t max_before = q.max_size;
    sg_tsigq t;
    assert_int_equal(sg_tsigq_check(&t, g_server, &q, now), SG_TSIGQ_SIGNED);
    /* the chain sees the query without its TSIG, and the reply keeps room for one */
    assert_int_equal(q.wire_len, plain);
    assert_int_equal(rd16(q.wire + 10), 1);
    assert_int_equal(q.tsig_at, 0);
    assert_int_equal(q.max_size, max_before - sg_tsig_rr_size(t.ctx.key));
    q.aa = 1;
    sg_wire_render(&q);
    size_t unsigned_len = q.out_len;
    sg_tsigq_sign(&t, &q, now);
    sg_tsigq_done(&t);
    assert_true(q.out_len > unsigned_len);
    assert_int_equal(rd16(q.out + 10), 2); /* OPT, TSIG */
    uint16_t err = 0xffff;
    assert_int_equal(sg_tsig_verify_response(&cli, q.out, q.out_len, now, &err), 0);
    assert_int_equal(err, SG_TSIG_NOERROR);
    sg_tsig_ctx_deinit(&cli);
}

/* A key of the right name with another secret, a key signetd does not have, a request
 * signed too long ago: NOTAUTH, no chain, the TSIG error said in the reply's TSIG. */
static void test_rejected(void **st)
{
    (void)st;
    static const struct {
        const char *key;
        const char *secret; /* the client's, when it differs from the server's */
        int64_t skew;
        uint16_t error;
        size_t other_len;
    } cases[] = {
        { "q.key", "d3JvbmdzZWNyZXR3cm9uZw==", 0, SG_TSIG_BADSIG, 0 },
        { "other.key", NULL, 0, SG_TSIG_BADKEY, 0 },
        { "q.key", NULL, -1000, SG_TSIG_BADTIME, 6 },
        { "q.key", NULL, 1000, SG_TSIG_BADTIME, 6 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sg_tsig_keyring *kr = g_client;
        if (cases[i].secret) {
            kr = sg_tsig_keyring_new();
            assert_int_equal(sg_tsig_keyring_add(kr, cases[i].key, "hmac-sha256", cases[i].secret), 0);
        }
        uint8_t pkt[600];
        size_t plain = make_query(pkt, SG_TYPE_SOA, i & 1);
        uint64_t now = (uint64_t)time(NULL);
        sg_tsig_ctx cli;
        size_t len = sign_query(&cli, sg_tsig_find(kr, cases[i].key), pkt, plain,
                                (uint64_t)((int64_t)now + cases[i].skew));
        sg_query q;
        parse(&q, pkt, len);
        sg_tsigq t;
        assert_int_equal(sg_tsigq_check(&t, g_server, &q, now), SG_TSIGQ_REJECTED);
        assert_int_equal(q.rcode, SG_RCODE_NOTAUTH);
        assert_int_equal(q.wire_len, len); /* untouched */
        sg_wire_render(&q);
        sg_tsigq_sign(&t, &q, now);
        sg_tsigq_done(&t);
        assert_int_equal(q.out[3] & 0xf, SG_RCODE_NOTAUTH);
        assert_int_equal(rd16(q.out + 10), (unsigned)(i & 1) + 1u);
        assert_int_equal(reply_tsig_error(&q, cases[i].other_len), cases[i].error);
        if (cases[i].error == SG_TSIG_BADTIME) {
            /* signed with the key, our time in Other Data: the client can check it */
            uint16_t err = 0;
            assert_int_equal(sg_tsig_verify_response(&cli, q.out, q.out_len, now, &err), 0);
        } else {
            /* no MAC: MAC size 0 just before original id, error, other length */
            assert_int_equal(rd16(q.out + q.out_len - 8), 0);
        }
        sg_tsig_ctx_deinit(&cli);
        if (kr != g_client)
            sg_tsig_keyring_free(kr);
    }
}

/* Unsigned queries and transfers (the transfer plugin checks their TSIG over the whole
 * stream) are left as they are. */
static void test_left_alone(void **st)
{
    (void)st;
    uint8_t pkt[600];
    size_t len = make_query(pkt, SG_TYPE_SOA, 1);
    sg_query q;
    parse(&q, pkt, len);
    sg_tsigq t;
    uint16_t max_before = q.max_size;
    assert_int_equal(sg_tsigq_check(&t, g_server, &q, (uint64_t)time(NULL)), SG_TSIGQ_NONE);
    assert_int_equal(q.max_size, max_before);
    sg_wire_render(&q);
    size_t n = q.out_len;
    sg_tsigq_sign(&t, &q, (uint64_t)time(NULL));
    sg_tsigq_done(&t);
    assert_int_equal(q.out_len, n);

    len = make_query(pkt, SG_TYPE_AXFR, 0);
    sg_tsig_ctx cli;
    len = sign_query(&cli, sg_tsig_find(g_client, "q.key"), pkt, len, (uint64_t)time(NULL));
    parse(&q, pkt, len);
    assert_int_equal(sg_tsigq_check(&t, g_server, &q, (uint64_t)time(NULL)), SG_TSIGQ_NONE);
    assert_int_equal(q.wire_len, len);
    sg_tsigq_done(&t);
    sg_tsig_ctx_deinit(&cli);
}

/* RFC 8945 5.3.1: a signed reply too large for UDP is truncated and keeps its TSIG. An
 * answer that fits 512 octets unsigned does not fit with the TSIG: TC=1, signed. */
static void test_truncated_reply_signed(void **st)
{
    (void)st;
    static uint8_t rd[2 + 450];
    rd[0] = 450 >> 8;
    rd[1] = 450 & 0xff;
    memset(rd + 2, 'x', 450);
    rd[2] = 255;
    rd[2 + 256] = 193;
    sg_rrset txt = { .type = SG_TYPE_TXT, .count = 1, .ttl = 60, .rdata_len = sizeof rd, .rdata = rd };
    uint8_t pkt[600];
    size_t plain = make_query(pkt, SG_TYPE_TXT, 0);
    uint64_t now = (uint64_t)time(NULL);

    sg_query q;
    parse(&q, pkt, plain);
    assert_int_equal(sg_section_add(&q.an, q.qname, &txt, 60, 0), 0);
    sg_wire_render(&q);
    assert_int_equal(q.tc, 0); /* unsigned it fits */
    assert_true(q.out_len <= 512);

    sg_tsig_ctx cli;
    size_t len = sign_query(&cli, sg_tsig_find(g_client, "q.key"), pkt, plain, now);
    parse(&q, pkt, len);
    sg_tsigq t;
    assert_int_equal(sg_tsigq_check(&t, g_server, &q, now), SG_TSIGQ_SIGNED);
    assert_int_equal(sg_section_add(&q.an, q.qname, &txt, 60, 0), 0);
    sg_wire_render(&q);
    sg_tsigq_sign(&t, &q, now);
    sg_tsigq_done(&t);
    assert_int_equal(q.tc, 1);
    assert_true(q.out_len <= 512);
    assert_int_equal(rd16(q.out + 6), 0);
    uint16_t err = 0xffff;
    assert_int_equal(sg_tsig_verify_response(&cli, q.out, q.out_len, now, &err), 0);
    assert_int_equal(err, SG_TSIG_NOERROR);
    sg_tsig_ctx_deinit(&cli);
}

int main(void)
{
    sg_secure_heap_init(1 << 16);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_query_signed_reply),
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_left_alone),
        cmocka_unit_test(test_truncated_reply_signed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
