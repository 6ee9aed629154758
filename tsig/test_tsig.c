/* SPDX-License-Identifier: MIT */
/* TSIG: our signer and verifier against each other and against ldns, keyring and config. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tsig/tsig.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/secure_heap.h"

#include <ldns/ldns.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NOW 1764115200u /* fixed, so that the tests do not depend on the clock */
#define SECRET "c2lnbmV0LXRzaWctdGVzdC1zZWNyZXQtMzItYnl0ZXMhIQ=="

/* A query for example.test AXFR, id 0x1234; returns its length. */
static size_t make_query(uint8_t *m, uint16_t qtype)
{
    static const uint8_t q[] = { 0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0 };
    memcpy(m, q, sizeof q);
    m[sizeof q] = qtype >> 8;
    m[sizeof q + 1] = qtype & 0xff;
    m[sizeof q + 2] = 0;
    m[sizeof q + 3] = 1;
    return sizeof q + 4;
}

/* A response to it carrying one A record (answer count n), QR and AA set. */
static size_t make_response(uint8_t *m, uint16_t qtype, uint8_t last_octet)
{
    size_t l = make_query(m, qtype);
    m[2] = 0x84;
    m[7] = 1;
    static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2 };
    memcpy(m + l, rr, sizeof rr);
    l += sizeof rr;
    m[l++] = last_octet;
    return l;
}

static sg_tsig_keyring *ring(void)
{
    sg_tsig_keyring *kr = sg_tsig_keyring_new();
    assert_non_null(kr);
    assert_int_equal(sg_tsig_keyring_add(kr, "xfr.key", "hmac-sha256", SECRET), 0);
    assert_int_equal(sg_tsig_keyring_add(kr, "other.key.", "HMAC-SHA512.",
                                         "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="), 0);
    assert_int_equal(sg_tsig_keyring_add(kr, "sha1.key", "hmac-sha1", "c2hhMS1rZXktc2VjcmV0"), 0);
    return kr;
}

static void test_keyring(void **st)
{
    (void)st;
    sg_tsig_keyring *kr = ring();
    const sg_tsig_key *k = sg_tsig_find(kr, "XFR.Key.");
    assert_non_null(k);
    assert_string_equal(k->name_text, "xfr.key.");
    assert_string_equal(k->alg_name, "hmac-sha256.");
    assert_int_equal(k->alg, SG_TSIG_HMAC_SHA256);
    assert_string_equal(k->secret_b64, SECRET);
    assert_int_equal(k->secret_len, 34);
    assert_memory_equal(k->secret, "signet-tsig-test-secret-32-bytes!!", 34);
    assert_null(sg_tsig_find(kr, "nope.key"));
    assert_null(sg_tsig_find(NULL, "xfr.key"));
    assert_int_equal(sg_tsig_keyring_add(kr, "xfr.KEY.", "hmac-sha384", SECRET), SG_EEXIST);
    assert_int_equal(sg_tsig_keyring_add(kr, "bad.key", "hmac-md5", SECRET), SG_EINVAL);
    assert_int_equal(sg_tsig_keyring_add(kr, "bad.key", "hmac-sha256", "not*base64"), SG_EINVAL);
    assert_int_equal(sg_tsig_keyring_add(kr, "bad.key", "hmac-sha256", "abc"), SG_EINVAL);
    assert_int_equal(sg_tsig_keyring_add(kr, "bad.key", "hmac-sha256", ""), SG_EINVAL);
    assert_int_equal(sg_tsig_keyring_count(kr), 3);
    sg_tsig_keyring_free(kr);
}

/* TSIG secrets are keys: in the secure heap (no core dumps, cleansed) once signetd has one */
static void test_secret_memory(void **st)
{
    (void)st;
    sg_secure_heap_init(1 << 16);
    assert_true(CRYPTO_secure_malloc_initialized());
    size_t used0 = CRYPTO_secure_used();
    sg_tsig_keyring *kr = ring();
    const sg_tsig_key *k = sg_tsig_find(kr, "xfr.key");
    assert_non_null(k);
    assert_true(CRYPTO_secure_allocated(k->secret));
    assert_true(CRYPTO_secure_allocated(k->secret_b64));
    sg_tsig_key *c = sg_tsig_key_dup(k);
    assert_non_null(c);
    assert_true(CRYPTO_secure_allocated(c->secret));
    assert_true(CRYPTO_secure_allocated(c->secret_b64));
    assert_memory_equal(c->secret, k->secret, k->secret_len);
    assert_string_equal(c->secret_b64, k->secret_b64);
    assert_true(CRYPTO_secure_used() > used0);
    sg_tsig_key_free(c);
    sg_tsig_keyring_free(kr);
    assert_int_equal(CRYPTO_secure_used(), used0);
}

static void test_key_file(void **st)
{
    (void)st;
    char path[] = "/tmp/sg-tsig-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# made by signetctl\nhmac-sha384 " SECRET "\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    sg_tsig_keyring *kr = sg_tsig_keyring_new();
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(sg_tsig_keyring_add_file(kr, "f.key", path), SG_EINVAL);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(sg_tsig_keyring_add_file(kr, "f.key", path), SG_EINVAL);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(sg_tsig_keyring_add_file(kr, "f.key", path), 0);
    const sg_tsig_key *k = sg_tsig_find(kr, "f.key");
    assert_non_null(k);
    assert_int_equal(k->alg, SG_TSIG_HMAC_SHA384);
    assert_int_equal(sg_tsig_keyring_add_file(kr, "g.key", "/nonexistent/key"), SG_EIO);
    unlink(path);
    sg_tsig_keyring_free(kr);
}

static void test_config(void **st)
{
    (void)st;
    static const struct {
        const char *text;
        int ok;
    } cases[] = {
        { "{\n tsig-key a.key hmac-sha256 " SECRET "\n}\n. { }\n", 1 },
        { "{\n tsig-key a.key hmac-sha512 " SECRET "\n tsig-key b.key hmac-sha1 " SECRET "\n}\n. { }\n", 1 },
        { "{\n tsig-key a.key hmac-sha256\n}\n. { }\n", 0 },
        { "{\n tsig-key a.key hmac-md5 " SECRET "\n}\n. { }\n", 0 },
        { "{\n tsig-key a.key hmac-sha256 !!!!\n}\n. { }\n", 0 },
        { "{\n tsig-key a.key file /nonexistent/key\n}\n. { }\n", 0 },
        { "{\n tsig-key a.key hmac-sha256 " SECRET "\n tsig-key A.KEY. hmac-sha256 " SECRET "\n}\n. { }\n", 0 },
    };
    sg_log_set_level(SG_LOG_ERR + 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sg_cfg *cfg = NULL;
        assert_int_equal(sg_cfg_parse_string(cases[i].text, "t", &cfg), 0);
        assert_non_null(cfg->global);
        sg_tsig_keyring *kr = sg_tsig_keyring_new();
        int rc = 0;
        for (int c = 0; c < cfg->global->nchildren && !rc; c++)
            rc = sg_tsig_config_directive(kr, &cfg->global->children[c]);
        if (cases[i].ok)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, SG_ESYNTAX);
        sg_tsig_keyring_free(kr);
        sg_cfg_free(cfg);
    }
}

/* request signed by us, checked by our verifier and by ldns; response signed by us with
 * the request MAC, checked by ldns */
static void test_sign_verify_ldns(void **st)
{
    (void)st;
    sg_tsig_keyring *kr = ring();
    const char *names[] = { "xfr.key", "other.key", "sha1.key" };
    for (int n = 0; n < 3; n++) {
        const sg_tsig_key *k = sg_tsig_find(kr, names[n]);
        uint8_t m[1024];
        size_t len = make_query(m, 252);
        sg_tsig_ctx cli;
        sg_tsig_ctx_init(&cli, k);
        size_t qlen = len;
        assert_int_equal(sg_tsig_sign(&cli, m, &len, sizeof m, NOW), 0);
        assert_int_equal(len - qlen, sg_tsig_rr_size(k) - 6); /* no Other Data */
        assert_int_equal(m[11], 1);

        ldns_pkt *p = NULL;
        assert_int_equal(ldns_wire2pkt(&p, m, len), LDNS_STATUS_OK);
        assert_true(ldns_pkt_tsig_verify(p, m, len, k->name_text, k->secret_b64, NULL));
        assert_false(ldns_pkt_tsig_verify(p, m, len, k->name_text, "d3Jvbmctc2VjcmV0", NULL));
        ldns_pkt_free(p);

        sg_tsig_ctx srv;
        sg_tsig_ctx_init(&srv, NULL);
        uint16_t err = 99;
        assert_int_equal(sg_tsig_verify_request(&srv, kr, m, len, NOW + 10, &err), 0);
        assert_int_equal(err, SG_TSIG_NOERROR);
        assert_ptr_equal(srv.key, k);

        uint8_t r[1024];
        size_t rl = make_response(r, 252, 1);
        assert_int_equal(sg_tsig_sign(&srv, r, &rl, sizeof r, NOW + 10), 0);
        uint8_t macbuf[2 + SG_TSIG_MAC_MAX];
        macbuf[0] = 0;
        macbuf[1] = (uint8_t)cli.mac_len;
        memcpy(macbuf + 2, cli.mac, cli.mac_len);
        ldns_rdf *reqmac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, cli.mac_len + 2, macbuf);
        assert_int_equal(ldns_wire2pkt(&p, r, rl), LDNS_STATUS_OK);
        assert_true(ldns_pkt_tsig_verify(p, r, rl, k->name_text, k->secret_b64, reqmac));
        ldns_pkt_free(p);
        ldns_rdf_deep_free(reqmac);

        /* and the client's verifier agrees */
        assert_int_equal(sg_tsig_verify_response(&cli, r, rl, NOW + 20, &err), 0);
        assert_int_equal(err, SG_TSIG_NOERROR);
        sg_tsig_ctx_deinit(&cli);
        sg_tsig_ctx_deinit(&srv);
    }
    sg_tsig_keyring_free(kr);
}

/* a request signed by ldns verifies with ours */
static void test_ldns_signed_request(void **st)
{
    (void)st;
    sg_tsig_keyring *kr = ring();
    const sg_tsig_key *k = sg_tsig_find(kr, "xfr.key");
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_pkt_query_new_frm_str(&p, "example.test.", LDNS_RR_TYPE_AXFR,
                                                LDNS_RR_CLASS_IN, 0), LDNS_STATUS_OK);
    ldns_pkt_set_id(p, 4242);
    assert_int_equal(ldns_pkt_tsig_sign(p, k->name_text, k->secret_b64, 300, k->alg_name, NULL),
                     LDNS_STATUS_OK);
    uint8_t *wire = NULL;
    size_t wl = 0;
    assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
    sg_tsig_ctx srv;
    sg_tsig_ctx_init(&srv, NULL);
    uint16_t err = 99;
    assert_int_equal(sg_tsig_verify_request(&srv, kr, wire, wl, (uint64_t)time(NULL), &err), 0);
    assert_int_equal(err, SG_TSIG_NOERROR);
    /* a flipped bit in the question breaks it */
    wire[15] ^= 1;
    assert_int_equal(sg_tsig_verify_request(&srv, kr, wire, wl, (uint64_t)time(NULL), &err), 0);
    assert_int_equal(err, SG_TSIG_BADSIG);
    free(wire);
    ldns_pkt_free(p);
    sg_tsig_ctx_deinit(&srv);
    sg_tsig_keyring_free(kr);
}

static void test_rejections(void **st)
{
    (void)st;
    sg_tsig_keyring *kr = ring();
    const sg_tsig_key *k = sg_tsig_find(kr, "xfr.key");
    uint8_t m[1024];
    size_t len = make_query(m, 252);
    sg_tsig_ctx cli, srv;
    sg_tsig_ctx_init(&cli, k);
    assert_int_equal(sg_tsig_sign(&cli, m, &len, sizeof m, NOW), 0);
    uint16_t err;

    sg_tsig_ctx_init(&srv, NULL);
    /* time: inside the fudge both ways, outside it BADTIME */
    assert_int_equal(sg_tsig_verify_request(&srv, kr, m, len, NOW - 300, &err), 0);
    assert_int_equal(err, SG_TSIG_NOERROR);
    assert_int_equal(sg_tsig_verify_request(&srv, kr, m, len, NOW + 301, &err), 0);
    assert_int_equal(err, SG_TSIG_BADTIME);
    /* the BADTIME reply is signed, carries our time, and the client sees BADTIME */
    uint8_t r[1024];
    size_t rl = make_response(r, 252, 1);
    r[3] = 9; /* NOTAUTH */
    assert_int_equal(sg_tsig_sign(&srv, r, &rl, sizeof r, NOW + 301), 0);
    assert_int_equal(sg_tsig_verify_response(&cli, r, rl, NOW, &err), 0);
    assert_int_equal(err, SG_TSIG_BADTIME);
    sg_tsig_ctx_deinit(&srv);

    /* tampered message: BADSIG, and the reply has no MAC */
    uint8_t t[1024];
    memcpy(t, m, len);
    t[14] ^= 0x20;
    sg_tsig_ctx_init(&srv, NULL);
    assert_int_equal(sg_tsig_verify_request(&srv, kr, t, len, NOW, &err), 0);
    assert_int_equal(err, SG_TSIG_BADSIG);
    rl = make_response(r, 252, 1);
    size_t before = rl;
    assert_int_equal(sg_tsig_sign(&srv, r, &rl, sizeof r, NOW), 0);
    /* owner + fixed + alg + time/fudge/macsize + no MAC + id/error/otherlen */
    assert_int_equal(rl - before, 9 + 10 + 13 + 10 + 0 + 6);
    assert_int_equal(r[rl - 4], 0);
    assert_int_equal(r[rl - 3], SG_TSIG_BADSIG);
    sg_tsig_ctx_deinit(&srv);

    /* a tampered MAC */
    memcpy(t, m, len);
    t[len - 10] ^= 1;
    sg_tsig_ctx_init(&srv, NULL);
    assert_int_equal(sg_tsig_verify_request(&srv, kr, t, len, NOW, &err), 0);
    assert_int_equal(err, SG_TSIG_BADSIG);
    sg_tsig_ctx_deinit(&srv);

    /* wrong key: same name, different secret */
    sg_tsig_keyring *other = sg_tsig_keyring_new();
    assert_int_equal(sg_tsig_keyring_add(other, "xfr.key", "hmac-sha256", "d3Jvbmctc2VjcmV0"), 0);
    sg_tsig_ctx_init(&srv, NULL);
    assert_int_equal(sg_tsig_verify_request(&srv, other, m, len, NOW, &err), 0);
    assert_int_equal(err, SG_TSIG_BADSIG);
    sg_tsig_ctx_deinit(&srv);
    sg_tsig_keyring_free(other);
    /* unknown name, or the name with another algorithm: BADKEY */
    other = sg_tsig_keyring_new();
    assert_int_equal(sg_tsig_keyring_add(other, "xfr.key", "hmac-sha512", SECRET), 0);
    sg_tsig_ctx_init(&srv, NULL);
    assert_int_equal(sg_tsig_verify_request(&srv, other, m, len, NOW, &err), 0);
    assert_int_equal(err, SG_TSIG_BADKEY);
    sg_tsig_ctx_deinit(&srv);
    sg_tsig_keyring_free(other);
    other = sg_tsig_keyring_new();
    sg_tsig_ctx_init(&srv, NULL);
    assert_int_equal(sg_tsig_verify_request(&srv, other, m, len, NOW, &err), 0);
    assert_int_equal(err, SG_TSIG_BADKEY);
    sg_tsig_ctx_deinit(&srv);
    sg_tsig_keyring_free(other);

    /* no TSIG at all; TSIG not last; truncated message */
    size_t ql = make_query(t, 252);
    assert_int_equal(sg_tsig_verify_request(&srv, kr, t, ql, NOW, &err), SG_ENOTFOUND);
    assert_int_equal(sg_tsig_verify_request(&srv, kr, m, len - 3, NOW, &err), SG_EMALFORMED);
    sg_tsig_ctx_deinit(&cli);
    sg_tsig_keyring_free(kr);
}

/* Truncated MACs (RFC 8945 5.2.2.1 and 5.2.4): re-sign by hand with a short MAC size. */
static void test_truncation(void **st)
{
    (void)st;
    sg_tsig_keyring *kr = ring();
    const sg_tsig_key *k = sg_tsig_find(kr, "xfr.key"); /* sha256: 32 bytes, min 16 */
    /* ldns signs only full MACs, so truncate ours: the MAC size is not among the digested
     * variables, so a truncated MAC stays valid. */
    for (int size = 8; size <= 33; size++) {
        uint8_t m[1024];
        size_t len = make_query(m, 252);
        sg_tsig_ctx cli;
        sg_tsig_ctx_init(&cli, k);
        assert_int_equal(sg_tsig_sign(&cli, m, &len, sizeof m, NOW), 0);
        /* the TSIG RDATA tail: macsize(2) mac(32) origid(2) error(2) otherlen(2) */
        size_t tail = 2 + 32 + 6;
        size_t ms = len - tail;
        int keep = size > 32 ? 32 : size;
        uint8_t t[1024];
        memcpy(t, m, ms);
        t[ms] = 0;
        t[ms + 1] = (uint8_t)size;
        memcpy(t + ms + 2, m + ms + 2, keep);
        size_t tl = ms + 2 + keep;
        if (size > 32)
            t[tl++] = 0; /* one byte more than the hash gives */
        memcpy(t + tl, m + len - 6, 6);
        tl += 6;
        /* fix RDLENGTH */
        size_t rdl_off = ms - 8 - 13 - 2; /* before time+fudge, alg name */
        uint16_t rdl = (uint16_t)((t[rdl_off] << 8 | t[rdl_off + 1]) - 32 + size);
        t[rdl_off] = rdl >> 8;
        t[rdl_off + 1] = rdl & 0xff;
        sg_tsig_ctx srv;
        sg_tsig_ctx_init(&srv, NULL);
        uint16_t err = 99;
        int rc = sg_tsig_verify_request(&srv, kr, t, tl, NOW, &err);
        if (size < 16 || size > 32) {
            assert_int_equal(rc, SG_EMALFORMED);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(err, SG_TSIG_NOERROR);
            srv.min_mac_len = 32; /* a local policy that wants full MACs */
            assert_int_equal(sg_tsig_verify_request(&srv, kr, t, tl, NOW, &err), 0);
            assert_int_equal(err, size < 32 ? SG_TSIG_BADTRUNC : SG_TSIG_NOERROR);
        }
        sg_tsig_ctx_deinit(&srv);
        sg_tsig_ctx_deinit(&cli);
    }
    sg_tsig_keyring_free(kr);
}

/* A stream: every message signed, cross-checked with ldns' timers-only verifier; then a
 * stream with unsigned messages between signed ones. */
static void test_stream(void **st)
{
    (void)st;
    sg_tsig_keyring *kr = ring();
    const sg_tsig_key *k = sg_tsig_find(kr, "other.key");
    uint8_t m[1024];
    size_t len = make_query(m, 252);
    sg_tsig_ctx cli, srv;
    sg_tsig_ctx_init(&cli, k);
    assert_int_equal(sg_tsig_sign(&cli, m, &len, sizeof m, NOW), 0);
    sg_tsig_ctx_init(&srv, NULL);
    uint16_t err;
    assert_int_equal(sg_tsig_verify_request(&srv, kr, m, len, NOW, &err), 0);
    assert_int_equal(err, 0);

    uint8_t prev[2 + SG_TSIG_MAC_MAX];
    prev[0] = 0;
    prev[1] = (uint8_t)cli.mac_len;
    memcpy(prev + 2, cli.mac, cli.mac_len);
    for (int i = 0; i < 4; i++) {
        uint8_t r[1024];
        size_t rl = make_response(r, 252, (uint8_t)i);
        assert_int_equal(sg_tsig_sign(&srv, r, &rl, sizeof r, NOW + i), 0);
        ldns_pkt *p = NULL;
        assert_int_equal(ldns_wire2pkt(&p, r, rl), LDNS_STATUS_OK);
        ldns_rdf *pm = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, prev[1] + 2u, prev);
        assert_true(ldns_pkt_tsig_verify_next(p, r, rl, k->name_text, k->secret_b64, pm, i > 0));
        ldns_rdf_deep_free(pm);
        ldns_pkt_free(p);
        assert_int_equal(sg_tsig_verify_response(&cli, r, rl, NOW + i, &err), 0);
        assert_int_equal(err, SG_TSIG_NOERROR);
        prev[1] = (uint8_t)srv.mac_len;
        memcpy(prev + 2, srv.mac, srv.mac_len);
        /* replaying the same message out of order fails: it MACs another prior MAC */
        if (i == 2) {
            sg_tsig_ctx copy = cli;
            copy.pending = NULL;
            assert_int_equal(sg_tsig_verify_response(&copy, r, rl, NOW + i, &err), 0);
            assert_int_equal(err, SG_TSIG_BADSIG);
            sg_tsig_ctx_deinit(&copy);
        }
    }
    sg_tsig_ctx_deinit(&cli);
    sg_tsig_ctx_deinit(&srv);

    /* Unsigned messages in between: r2 goes unsigned, so r3's MAC covers prior MAC + r2 +
     * r3 + timers. Our signer signs every message, so the right r3 MAC is computed here
     * with a one-shot HMAC, and r3 signed as if r2 were absent must fail. */
    for (int good = 0; good < 2; good++) {
        len = make_query(m, 252);
        sg_tsig_ctx_init(&cli, k);
        assert_int_equal(sg_tsig_sign(&cli, m, &len, sizeof m, NOW), 0);
        sg_tsig_ctx_init(&srv, NULL);
        assert_int_equal(sg_tsig_verify_request(&srv, kr, m, len, NOW, &err), 0);
        uint8_t r1[1024], r2[1024], r3[1024];
        size_t l1 = make_response(r1, 252, 1), l2 = make_response(r2, 252, 2),
               l3 = make_response(r3, 252, 3);
        assert_int_equal(sg_tsig_sign(&srv, r1, &l1, sizeof r1, NOW), 0);
        size_t l3_plain = l3;
        uint8_t digest_in[4096];
        size_t dl = 0;
        digest_in[dl++] = 0;
        digest_in[dl++] = (uint8_t)srv.mac_len;
        memcpy(digest_in + dl, srv.mac, srv.mac_len);
        dl += srv.mac_len;
        memcpy(digest_in + dl, r2, l2);
        dl += l2;
        memcpy(digest_in + dl, r3, l3);
        dl += l3;
        uint8_t timers[8] = { 0 };
        uint64_t tv = NOW;
        for (int b = 5; b >= 0; b--, tv >>= 8)
            timers[b] = tv & 0xff;
        timers[6] = 300 >> 8;
        timers[7] = 300 & 0xff;
        memcpy(digest_in + dl, timers, 8);
        dl += 8;
        assert_int_equal(sg_tsig_sign(&srv, r3, &l3, sizeof r3, NOW), 0);
        if (good) {
            uint8_t mac[64];
            size_t ml = 0;
            assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA512", NULL, k->secret, k->secret_len,
                                      digest_in, dl, mac, sizeof mac, &ml));
            assert_int_equal(ml, 64);
            /* the MAC sits after owner, fixed part, algorithm, time/fudge/size */
            memcpy(r3 + l3_plain + sg_name_len(k->name) + 10 + sg_name_len(k->alg_wire) + 10, mac, 64);
        }
        assert_int_equal(sg_tsig_verify_response(&cli, r1, l1, NOW, &err), 0);
        assert_int_equal(err, 0);
        assert_int_equal(sg_tsig_verify_response(&cli, r2, l2, NOW, &err), 0);
        assert_int_equal(err, 0);
        assert_int_equal(cli.unsigned_run, 1);
        assert_int_equal(sg_tsig_verify_response(&cli, r3, l3, NOW, &err), 0);
        assert_int_equal(err, good ? SG_TSIG_NOERROR : SG_TSIG_BADSIG);
        sg_tsig_ctx_deinit(&cli);
        sg_tsig_ctx_deinit(&srv);
    }
    sg_tsig_keyring_free(kr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyring),
        cmocka_unit_test(test_key_file),
        cmocka_unit_test(test_secret_memory),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_sign_verify_ldns),
        cmocka_unit_test(test_ldns_signed_request),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
