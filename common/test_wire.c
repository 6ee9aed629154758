/* SPDX-License-Identifier: MIT */
/* Unit tests for query parsing (FORMERR, BADVERS, NOTIMP, drops, EDNS) and reply rendering
 * (compression, truncation), checked by parsing our output with ldns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/wire.h"

#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

/* Build a query: header + question (+ optional OPT). Returns its length. */
static size_t mkquery(uint8_t *b, const char *qname_wire, size_t qlen, uint16_t qtype,
                      int edns, uint16_t payload, uint8_t version, int do_bit)
{
    memset(b, 0, 12);
    b[0] = 0xbe; b[1] = 0xef;   /* id */
    b[2] = 0x01;                /* RD */
    b[5] = 1;                   /* qdcount */
    size_t o = 12;
    memcpy(b + o, qname_wire, qlen);
    o += qlen;
    b[o++] = qtype >> 8; b[o++] = qtype & 0xff;
    b[o++] = 0; b[o++] = 1;
    if (edns) {
        b[11] = 1;
        b[o++] = 0;
        b[o++] = 0; b[o++] = 41;
        b[o++] = payload >> 8; b[o++] = payload & 0xff;
        b[o++] = 0; b[o++] = version;
        b[o++] = do_bit ? 0x80 : 0; b[o++] = 0;
        b[o++] = 0; b[o++] = 0;
    }
    return o;
}

#define WWW "\3www\7example\4test"
#define WWW_LEN 18

static void test_parse_ok(void **st)
{
    (void)st;
    uint8_t b[512];
    sg_query q = { .transport = SG_TRANSPORT_UDP };
    size_t len = mkquery(b, "\3WwW\7example\4TEST", WWW_LEN, SG_TYPE_A, 1, 4096, 0, 1);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    assert_int_equal(q.id, 0xbeef);
    assert_int_equal(q.qtype, SG_TYPE_A);
    assert_int_equal(q.qclass, SG_CLASS_IN);
    assert_int_equal(q.qlabels, 3);
    assert_memory_equal(q.qname, WWW, WWW_LEN); /* lower-cased copy */
    assert_true(q.has_edns);
    assert_true(q.do_bit);
    assert_int_equal(q.edns_payload, 4096);
    assert_int_equal(q.max_size, 1232);          /* capped by the server */
    /* small payloads count as 512 */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 1, 100, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    assert_int_equal(q.max_size, 512);
    assert_false(q.do_bit);
    /* no EDNS: 512 over UDP, 65535 over TCP */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 0, 0, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    assert_int_equal(q.max_size, 512);
    q.transport = SG_TRANSPORT_TCP;
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    assert_int_equal(q.max_size, 65535);
}

static void test_parse_errors(void **st)
{
    (void)st;
    uint8_t b[600];
    sg_query q = { .transport = SG_TRANSPORT_UDP };
    size_t len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 1, 1232, 0, 0);

    /* short header: dropped */
    for (size_t l = 0; l < 12; l++)
        assert_int_equal(sg_wire_parse_query(&q, b, l, 1232), SG_PARSE_DROP);
    /* a response: dropped */
    b[2] |= 0x80;
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_DROP);
    b[2] &= 0x7f;
    /* EDNS version 1: BADVERS */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 1, 1232, 1, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_BADVERS);
    /* unknown opcode: NOTIMP */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 0, 0, 0, 0);
    b[2] = (uint8_t)(b[2] | (3 << 3));
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_NOTIMP);
    /* NOTIFY goes on to routing (whoever serves the zone decides), with or without the
     * new SOA in the answer section; without a question it is malformed */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_SOA, 0, 0, 0, 0);
    b[2] = (uint8_t)((b[2] & 0x87) | (SG_OPCODE_NOTIFY << 3));
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    assert_int_equal(q.opcode, SG_OPCODE_NOTIFY);
    assert_int_equal(q.qtype, SG_TYPE_SOA);
    static const uint8_t soa_an[] = { 0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 22,
                                      0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6 };
    memcpy(b + len, soa_an, sizeof soa_an);
    b[7] = 1;
    assert_int_equal(sg_wire_parse_query(&q, b, len + sizeof soa_an, 1232), SG_PARSE_OK);
    b[5] = 0;
    b[7] = 0;
    assert_int_equal(sg_wire_parse_query(&q, b, 12, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);

    /* qdcount 0 and 2 */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 0, 0, 0, 0);
    b[5] = 0;
    assert_int_equal(sg_wire_parse_query(&q, b, 12, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    b[5] = 2;
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    b[5] = 1;
    /* truncated question */
    assert_int_equal(sg_wire_parse_query(&q, b, len - 2, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    /* compression pointer in the question (a loop onto itself) */
    uint8_t ptr[] = { 0xc0, 12 };
    len = mkquery(b, (const char *)ptr, 2, SG_TYPE_A, 0, 0, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    /* oversized label (64) */
    uint8_t big[80];
    big[0] = 64;
    memset(big + 1, 'a', 64);
    big[65] = 0;
    len = mkquery(b, (const char *)big, 66, SG_TYPE_A, 0, 0, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
    /* name longer than 255 */
    uint8_t lname[320];
    size_t o = 0;
    for (int i = 0; i < 5; i++) {
        lname[o++] = 60;
        memset(lname + o, 'b', 60);
        o += 60;
    }
    lname[o++] = 0;
    len = mkquery(b, (const char *)lname, o, SG_TYPE_A, 0, 0, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    /* trailing garbage */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 0, 0, 0, 0);
    b[len] = 0x55;
    assert_int_equal(sg_wire_parse_query(&q, b, len + 1, 1232), SG_PARSE_ERROR);
    /* two OPT records */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 1, 1232, 0, 0);
    memcpy(b + len, b + len - 11, 11);
    b[11] = 2;
    assert_int_equal(sg_wire_parse_query(&q, b, len + 11, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    /* OPT with an option longer than its RDATA */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 1, 1232, 0, 0);
    b[len - 1] = 4; /* rdlen 4 */
    b[len++] = 0; b[len++] = 10; b[len++] = 0; b[len++] = 40; /* cookie, length 40 */
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    /* qtype OPT in the question */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_OPT, 0, 0, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
}

/* A fuzz-style pass: random packets never crash the parser or the renderer. */
/* RFC 8945 5.1: a TSIG that is not the last record, or is malformed, is FORMERR (issue
 * 14: it was ignored). */
static void test_parse_tsig_placement(void **st)
{
    (void)st;
    uint8_t b[512];
    sg_query q;
    /* owner xfr.key., type TSIG, class ANY, TTL 0, then hmac-sha256., time, fudge 300,
     * a 32-byte MAC, original id, error 0, no other data */
    uint8_t tsig[200];
    size_t t = 0;
    static const uint8_t head[] = { 3, 'x', 'f', 'r', 3, 'k', 'e', 'y', 0, 0, 250, 0, 255, 0, 0, 0, 0 };
    memcpy(tsig, head, sizeof head);
    t = sizeof head;
    size_t rdl_at = t;
    t += 2;
    static const uint8_t alg[] = { 11, 'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2', '5', '6', 0 };
    memcpy(tsig + t, alg, sizeof alg);
    t += sizeof alg;
    memset(tsig + t, 0, 6); t += 6;                    /* time */
    tsig[t++] = 1; tsig[t++] = 44;                     /* fudge 300 */
    tsig[t++] = 0; tsig[t++] = 32;                     /* MAC size */
    memset(tsig + t, 0xab, 32); t += 32;
    tsig[t++] = 0xbe; tsig[t++] = 0xef;                /* original id */
    tsig[t++] = 0; tsig[t++] = 0;                      /* error */
    tsig[t++] = 0; tsig[t++] = 0;                      /* other len */
    size_t rdl = t - rdl_at - 2;
    tsig[rdl_at] = (uint8_t)(rdl >> 8);
    tsig[rdl_at + 1] = (uint8_t)rdl;

    /* well formed and last: parsed (the transfer plugin verifies it) */
    size_t len = mkquery(b, WWW, WWW_LEN, SG_TYPE_AXFR, 0, 0, 0, 0);
    memcpy(b + len, tsig, t);
    b[11] = 1;
    assert_int_equal(sg_wire_parse_query(&q, b, len + t, 1232), SG_PARSE_OK);
    /* followed by an OPT: the TSIG is not last */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 0, 0, 0, 0);
    memcpy(b + len, tsig, t);
    static const uint8_t opt[] = { 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0 };
    memcpy(b + len + t, opt, sizeof opt);
    b[11] = 2;
    assert_int_equal(sg_wire_parse_query(&q, b, len + t + sizeof opt, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    /* class IN instead of ANY */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 0, 0, 0, 0);
    memcpy(b + len, tsig, t);
    b[len + 12] = 1;
    b[11] = 1;
    assert_int_equal(sg_wire_parse_query(&q, b, len + t, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
    /* a MAC size that runs past the RDATA */
    memcpy(b + len, tsig, t);
    b[len + rdl_at + 2 + sizeof alg + 8 + 1] = 200;
    assert_int_equal(sg_wire_parse_query(&q, b, len + t, 1232), SG_PARSE_ERROR);
    assert_int_equal(q.rcode, SG_RCODE_FORMERR);
}

static void test_parse_random(void **st)
{
    (void)st;
    uint8_t b[600], out[1232];
    srand(42);
    for (int i = 0; i < 200000; i++) {
        size_t len = (size_t)(rand() % 120);
        for (size_t k = 0; k < len; k++)
            b[k] = (uint8_t)rand();
        if (len > 5 && (i & 1)) {
            b[2] &= 0x07; /* mostly plausible headers: QR=0, opcode 0 */
            b[4] = 0; b[5] = 1;
        }
        sg_query q = { .transport = SG_TRANSPORT_UDP, .out = out, .out_cap = sizeof out };
        enum sg_parse_result r = sg_wire_parse_query(&q, b, len, 1232);
        if (r != SG_PARSE_DROP) {
            sg_wire_render(&q);
            assert_true(q.out_len >= 12 && q.out_len <= q.max_size);
            ldns_pkt *p = NULL;
            assert_int_equal(ldns_wire2pkt(&p, out, q.out_len), LDNS_STATUS_OK);
            ldns_pkt_free(p);
        }
    }
}

/* Render a reply and read it back with ldns. */
static void test_render_compression_and_tc(void **st)
{
    (void)st;
    uint8_t b[512], out[65535];
    sg_query q = { .transport = SG_TRANSPORT_UDP, .out = out, .out_cap = sizeof out };
    size_t len = mkquery(b, "\3WWW\7example\4test", WWW_LEN, SG_TYPE_CNAME, 0, 0, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    /* CNAME www -> web.example.test, plus an NS set with names to compress */
    static const uint8_t cname_rd[] = { 0, 18, 3, 'w', 'e', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0 };
    sg_rrset cn = { .type = SG_TYPE_CNAME, .count = 1, .ttl = 300, .rdata_len = sizeof cname_rd, .rdata = cname_rd };
    assert_int_equal(sg_section_add(&q.an, q.qname, &cn, 300, 0), 0);
    q.aa = 1;
    sg_wire_render(&q);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, q.out_len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_id(p), 0xbeef);
    ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
    char *s = ldns_rdf2str(ldns_rr_owner(rr));
    assert_string_equal(s, "WWW.example.test."); /* the question's case, by compression */
    free(s);
    s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    assert_string_equal(s, "web.example.test.");
    free(s);
    ldns_pkt_free(p);
    /* owner + rdata compressed: 12 + question 22 + owner ptr 2 + 10 + "web"+ptr 6 */
    assert_int_equal(q.out_len, 12 + 22 + 2 + 10 + 6);

    /* a large TXT set overflows 512 bytes without EDNS: TC=1, empty answer */
    uint8_t txt[2000];
    size_t o = 0;
    for (int i = 0; i < 8; i++) {
        txt[o++] = 0; txt[o++] = 101; txt[o++] = 100;
        memset(txt + o, 'a' + i, 100);
        o += 100;
    }
    sg_rrset big = { .type = SG_TYPE_TXT, .count = 8, .ttl = 60, .rdata_len = (uint32_t)o, .rdata = txt };
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_TXT, 0, 0, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    sg_section_add(&q.an, q.qname, &big, 60, 0);
    sg_wire_render(&q);
    assert_true(q.tc);
    assert_true(q.out_len <= 512);
    assert_int_equal(ldns_wire2pkt(&p, out, q.out_len), LDNS_STATUS_OK);
    assert_true(ldns_pkt_tc(p));
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_qdcount(p), 1);
    ldns_pkt_free(p);
    /* the same over TCP fits */
    q.transport = SG_TRANSPORT_TCP;
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    sg_section_add(&q.an, q.qname, &big, 60, 0);
    sg_wire_render(&q);
    assert_false(q.tc);
    assert_int_equal(ldns_wire2pkt(&p, out, q.out_len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_ancount(p), 8);
    ldns_pkt_free(p);
    /* additional data that does not fit is left out without TC; required glue sets TC */
    q.transport = SG_TRANSPORT_UDP;
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    sg_section_add(&q.an, q.qname, &cn, 300, 0);
    sg_section_add(&q.ar, q.qname, &big, 60, 0);
    sg_wire_render(&q);
    assert_false(q.tc);
    assert_int_equal(ldns_wire2pkt(&p, out, q.out_len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    assert_int_equal(ldns_pkt_arcount(p), 0);
    ldns_pkt_free(p);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    sg_section_add(&q.an, q.qname, &cn, 300, 0);
    sg_section_add(&q.ar, q.qname, &big, 60, SG_REF_REQUIRED);
    sg_wire_render(&q);
    assert_true(q.tc);
}

static void test_render_edns(void **st)
{
    (void)st;
    uint8_t b[512], out[4096];
    sg_query q = { .transport = SG_TRANSPORT_UDP, .out = out, .out_cap = sizeof out };
    size_t len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 1, 4096, 0, 1);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    sg_wire_render(&q);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, q.out_len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
    assert_true(ldns_pkt_edns_do(p));
    ldns_pkt_free(p);
    /* BADVERS: extended rcode 16 = header 0 + OPT high bits 1 */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 1, 4096, 1, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_ERROR);
    sg_wire_render(&q);
    assert_int_equal(out[3] & 0xf, 0);
    assert_int_equal(ldns_wire2pkt(&p, out, q.out_len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
    assert_int_equal(ldns_pkt_edns_version(p), 0);
    ldns_pkt_free(p);
}

/* RFC 8914: an Extended DNS Error goes in the OPT (option 15, the INFO-CODE, no text), and
 * only when the query had EDNS. */
static void test_render_ede(void **st)
{
    (void)st;
    uint8_t b[512], out[4096];
    sg_query q = { .transport = SG_TRANSPORT_UDP, .out = out, .out_cap = sizeof out };
    size_t len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 1, 4096, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    q.rcode = SG_RCODE_REFUSED;
    q.has_ede = 1;
    q.ede_code = SG_EDE_PROHIBITED;
    sg_wire_render(&q);
    static const uint8_t want[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 6, 0, 15, 0, 2, 0, 18 };
    assert_int_equal(q.out_len, (size_t)q.opt_at + sizeof want);
    assert_memory_equal(out + q.opt_at, want, sizeof want);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, q.out_len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
    assert_int_equal(ldns_pkt_arcount(p), 0); /* ldns keeps the OPT apart */
    ldns_pkt_free(p);
    /* without EDNS there is nowhere to say it */
    len = mkquery(b, WWW, WWW_LEN, SG_TYPE_A, 0, 0, 0, 0);
    assert_int_equal(sg_wire_parse_query(&q, b, len, 1232), SG_PARSE_OK);
    assert_int_equal(q.has_ede, 0); /* the parse clears the last reply's */
    q.has_ede = 1;
    q.ede_code = SG_EDE_FILTERED;
    sg_wire_render(&q);
    assert_int_equal(out[11], 0);
    assert_int_equal(q.opt_at, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_tsig_placement),
        cmocka_unit_test(test_parse_random),
        cmocka_unit_test(test_render_compression_and_tc),
        cmocka_unit_test(test_render_edns),
        cmocka_unit_test(test_render_ede),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
