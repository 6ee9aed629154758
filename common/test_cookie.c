/* SPDX-License-Identifier: MIT */
/* DNS cookies: SipHash-2-4 against the reference vectors, server cookies (RFC 9018) made
 * and checked, rotation, and the COOKIE option's parsing (RFC 7873 5.2.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/cookie.h"
#include "common/query.h"
#include "common/wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static void test_siphash_vectors(void **st)
{
    (void)st;
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    /* the SipHash paper, Appendix A: 15 bytes 00..0e */
    assert_true(sg_siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
    /* the reference implementation's vectors (little-endian output bytes) */
    static const uint8_t empty[8] = { 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 };
    static const uint8_t one[8] = { 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 };
    uint64_t h = sg_siphash24(key, msg, 0), g = sg_siphash24(key, msg, 1);
    for (int i = 0; i < 8; i++) {
        assert_int_equal((uint8_t)(h >> (8 * i)), empty[i]);
        assert_int_equal((uint8_t)(g >> (8 * i)), one[i]);
    }
}

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static void test_server_cookie(void **st)
{
    (void)st;
    assert_int_equal(sg_cookie_set_secret("e5e973e5a6b2a43f48e7dc849e37bfcf"), 0);
    static const uint8_t client[8] = { 0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57 };
    struct sockaddr_in a = v4("198.51.100.100"), b = v4("198.51.100.101");
    uint32_t now = 1559731985;
    uint8_t sc[16];
    sg_cookie_make(client, (struct sockaddr *)&a, now, sc);
    /* RFC 9018 4: version 1, three reserved zeros, the timestamp */
    /* RFC 9018 Appendix A.1: this client, address, time and secret give this cookie */
    static const uint8_t rfc[16] = { 0x01, 0x00, 0x00, 0x00, 0x5c, 0xf7, 0x9f, 0x11,
                                     0x1f, 0x81, 0x30, 0xc3, 0xee, 0xe2, 0x94, 0x80 };
    assert_memory_equal(sc, rfc, 16);
    assert_true(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now));
    assert_true(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now + 3600));
    assert_false(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now + 3601)); /* old */
    assert_true(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now - 300));
    assert_false(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now - 301)); /* future */
    assert_false(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&b, now)); /* other address */
    uint8_t other[8];
    memcpy(other, client, 8);
    other[7] ^= 1;
    assert_false(sg_cookie_valid(other, sc, 16, (struct sockaddr *)&a, now));
    uint8_t bad[16];
    memcpy(bad, sc, 16);
    bad[15] ^= 0x80;
    assert_false(sg_cookie_valid(client, bad, 16, (struct sockaddr *)&a, now));
    assert_false(sg_cookie_valid(client, sc, 8, (struct sockaddr *)&a, now));
    /* another secret does not take it; back to secrets of our own, rotated: a cookie made
     * before one rotation still passes, not after two */
    assert_int_equal(sg_cookie_set_secret("00000000000000000000000000000000"), 0);
    assert_false(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now));
    assert_int_equal(sg_cookie_set_secret("xyz"), -1);
    assert_int_equal(sg_cookie_set_secret(NULL), 0);
    sg_cookie_make(client, (struct sockaddr *)&a, now, sc);
    assert_true(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now));
    sg_cookie_rotate();
    assert_true(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now));
    sg_cookie_rotate();
    assert_false(sg_cookie_valid(client, sc, 16, (struct sockaddr *)&a, now));
}

/* A query for www.example.test A with an OPT holding one COOKIE option of len bytes. */
static size_t query_with_cookie(uint8_t *b, size_t len)
{
    static const uint8_t q[] = { 0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1,
                                 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
                                 0, 1, 0, 1 };
    memcpy(b, q, sizeof q);
    size_t o = sizeof q;
    static const uint8_t opt[] = { 0, 0, 41, 4, 0xd0, 0, 0, 0, 0 };
    memcpy(b + o, opt, sizeof opt);
    o += sizeof opt;
    b[o++] = 0;
    b[o++] = (uint8_t)(4 + len);
    b[o++] = 0;
    b[o++] = SG_COOKIE_OPTION;
    b[o++] = 0;
    b[o++] = (uint8_t)len;
    for (size_t i = 0; i < len; i++)
        b[o++] = (uint8_t)(0xa0 + i);
    return o;
}

static void test_cookie_option_parse(void **st)
{
    (void)st;
    uint8_t b[200];
    sg_query q;
    static const struct { size_t len; int ok; } cases[] = {
        { 8, 1 }, { 16, 1 }, { 24, 1 }, { 40, 1 },
        { 0, 0 }, { 7, 0 }, { 9, 0 }, { 15, 0 }, { 41, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&q, 0, sizeof q);
        size_t n = query_with_cookie(b, cases[i].len);
        enum sg_parse_result r = sg_wire_parse_query(&q, b, n, 1232);
        if (cases[i].ok) {
            assert_int_equal(r, SG_PARSE_OK);
            assert_int_equal(q.cookie_len, cases[i].len);
            assert_int_equal(q.cookie[0], 0xa0);
        } else {
            /* RFC 7873 5.2.2: a malformed COOKIE option is FORMERR */
            assert_int_equal(r, SG_PARSE_ERROR);
            assert_int_equal(q.rcode, SG_RCODE_FORMERR);
        }
    }
}

/* The reply gets our COOKIE option after its OPT; a valid young cookie comes back as it is. */
static void test_cookie_reply(void **st)
{
    (void)st;
    assert_int_equal(sg_cookie_set_secret("000102030405060708090a0b0c0d0e0f"), 0);
    uint8_t b[200], out[512];
    sg_query q;
    memset(&q, 0, sizeof q);
    struct sockaddr_in a = v4("192.0.2.7");
    size_t n = query_with_cookie(b, 8);
    assert_int_equal(sg_wire_parse_query(&q, b, n, 1232), SG_PARSE_OK);
    q.client = (struct sockaddr *)&a;
    q.out = out;
    q.out_cap = sizeof out;
    q.server_payload = 1232;
    sg_cookie_check(&q, 1000000);
    assert_false(q.cookie_valid);
    sg_wire_render(&q);
    size_t plain = q.out_len;
    sg_cookie_reply(&q, 1000000);
    assert_int_equal(q.out_len, plain + SG_COOKIE_OPT_LEN);
    assert_int_equal(out[plain - 1], SG_COOKIE_OPT_LEN);         /* OPT RDLENGTH */
    assert_int_equal(out[plain + 1], SG_COOKIE_OPTION);
    assert_memory_equal(out + plain + 4, b + n - 8, 8);          /* the client cookie */
    uint8_t server[16];
    memcpy(server, out + plain + 12, 16);
    assert_true(sg_cookie_valid(out + plain + 4, server, 16, (struct sockaddr *)&a, 1000000));
    /* the client comes back with it ten minutes later: valid, and sent back unchanged */
    uint8_t b2[200];
    size_t n2 = query_with_cookie(b2, 24);
    memcpy(b2 + n2 - 24, b + n - 8, 8);
    memcpy(b2 + n2 - 16, server, 16);
    memset(&q, 0, sizeof q);
    assert_int_equal(sg_wire_parse_query(&q, b2, n2, 1232), SG_PARSE_OK);
    q.client = (struct sockaddr *)&a;
    q.out = out;
    q.out_cap = sizeof out;
    sg_cookie_check(&q, 1000600);
    assert_true(q.cookie_valid);
    sg_wire_render(&q);
    plain = q.out_len;
    sg_cookie_reply(&q, 1000600);
    assert_memory_equal(out + plain + 12, server, 16);
    /* no room in the reply: it goes without */
    memset(&q, 0, sizeof q);
    assert_int_equal(sg_wire_parse_query(&q, b, n, 1232), SG_PARSE_OK);
    q.client = (struct sockaddr *)&a;
    q.out = out;
    q.out_cap = sizeof out;
    sg_wire_render(&q);
    q.max_size = (uint16_t)q.out_len;
    plain = q.out_len;
    sg_cookie_reply(&q, 1000000);
    assert_int_equal(q.out_len, plain);
    /* an OPT that already holds an Extended DNS Error: the cookie follows it */
    memset(&q, 0, sizeof q);
    assert_int_equal(sg_wire_parse_query(&q, b, n, 1232), SG_PARSE_OK);
    q.client = (struct sockaddr *)&a;
    q.out = out;
    q.out_cap = sizeof out;
    q.has_ede = 1;
    q.ede_code = 18;
    sg_wire_render(&q);
    plain = q.out_len;
    assert_int_equal(out[q.opt_at + 10], 6);
    sg_cookie_reply(&q, 1000000);
    assert_int_equal(q.out_len, plain + SG_COOKIE_OPT_LEN);
    assert_int_equal(out[q.opt_at + 10], 6 + SG_COOKIE_OPT_LEN);
    assert_int_equal(out[q.opt_at + 12], 15);                   /* EDE first */
    assert_int_equal(out[plain + 1], SG_COOKIE_OPTION);         /* then the cookie */
    sg_cookie_set_secret(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_server_cookie),
        cmocka_unit_test(test_cookie_option_parse),
        cmocka_unit_test(test_cookie_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
