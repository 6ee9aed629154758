/* SPDX-License-Identifier: MIT */
/* RRSIGs we make must verify with an independent verifier (ldns) for every algorithm,
 * including wildcard-expanded owners; the signature cache must never return a torn or
 * stale entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/signer.h"
#include "signer/sigcache.h"
#include "common/name.h"

#include <pthread.h>
#include <string.h>

#include <ldns/ldns.h>
#include <openssl/core_names.h>

static ldns_rr *dnskey_rr(EVP_PKEY *pk, uint8_t alg, uint16_t flags, uint16_t *tag_out)
{
    uint8_t pub[600], rd[700];
    size_t plen = 0;
    if (alg == SG_ALG_RSASHA256) {
        /* RFC 3110: exponent length, exponent, modulus */
        BIGNUM *n = NULL, *e = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
        assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e), 1);
        int el = BN_num_bytes(e);
        pub[0] = (uint8_t)el;
        BN_bn2bin(e, pub + 1);
        plen = 1 + (size_t)el + (size_t)BN_bn2bin(n, pub + 1 + el);
        BN_free(n);
        BN_free(e);
    } else {
        assert_int_equal(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &plen), 1);
        if (alg == SG_ALG_ECDSAP256SHA256 || alg == SG_ALG_ECDSAP384SHA384) {
            memmove(pub, pub + 1, plen - 1); /* drop the 0x04 point prefix */
            plen--;
        }
    }
    rd[0] = flags >> 8; rd[1] = flags & 0xff; rd[2] = 3; rd[3] = alg;
    memcpy(rd + 4, pub, plen);
    *tag_out = ldns_calc_keytag_raw(rd, 4 + plen);
    ldns_rr *rr = ldns_rr_new();
    ldns_rr_set_type(rr, LDNS_RR_TYPE_DNSKEY);
    ldns_rr_set_owner(rr, ldns_dname_new_frm_str("example.test."));
    ldns_rr_set_ttl(rr, 3600);
    ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, flags));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 3));
    ldns_rr_push_rdf(rr, ldns_native2rdf_int8(LDNS_RDF_TYPE_ALG, alg));
    ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, plen, pub));
    return rr;
}

static EVP_PKEY *keygen(uint8_t alg)
{
    switch (alg) {
    case SG_ALG_ECDSAP256SHA256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case SG_ALG_ECDSAP384SHA384: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    case SG_ALG_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    case SG_ALG_RSASHA256: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    }
    return NULL;
}

/* An A RRset of two records in canonical order. */
static const uint8_t A_RDATA[] = { 0, 4, 192, 0, 2, 1, 0, 4, 192, 0, 2, 2 };
static const sg_rrset A_SET = { .type = SG_TYPE_A, .count = 2, .ttl = 300, .rdata_len = sizeof A_RDATA, .rdata = A_RDATA };

/* Whole-zone signing's per-thread context (NULL: plain sg_rrsig_make). */
static sg_sign_ctx *g_ctx;

static void check_alg(uint8_t alg, const char *owner_str, const char *signed_owner, uint8_t labels)
{
    EVP_PKEY *pk = keygen(alg);
    assert_non_null(pk);
    uint16_t tag;
    ldns_rr *key = dnskey_rr(pk, alg, 256, &tag);
    sg_sign_key k = { .pkey = pk, .algorithm = alg, .key_tag = tag, .flags = 256, .id = 1 };
    uint8_t apex[SG_NAME_MAX], owner[SG_NAME_MAX];
    sg_name_from_str("example.test.", NULL, apex);
    sg_name_from_str(signed_owner, NULL, owner);
    uint8_t rd[SG_RRSIG_MAX];
    size_t len = 0;
    uint32_t now = (uint32_t)time(NULL);
    assert_int_equal(sg_rrsig_make_ctx(g_ctx, &k, apex, owner, labels, &A_SET, now - 3600, now + 86400, rd, &len), 0);
    assert_int_equal(len, 18 + sg_name_len(apex) + sg_sig_size(&k));

    /* the answer as a resolver sees it: the query name as owner */
    ldns_rr_list *set = ldns_rr_list_new();
    for (int i = 1; i <= 2; i++) {
        char s[200];
        snprintf(s, sizeof s, "%s 300 IN A 192.0.2.%d", owner_str, i);
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL), LDNS_STATUS_OK);
        ldns_rr_list_push_rr(set, rr);
    }
    /* wrap our RDATA in an RRSIG record for ldns */
    uint8_t wire[1024];
    size_t o = 0, ol = strlen(owner_str);
    uint8_t ow[SG_NAME_MAX];
    sg_name_from_str(owner_str, NULL, ow);
    ol = sg_name_len(ow);
    memcpy(wire, ow, ol);
    o = ol;
    uint8_t hdr[10] = { 0, 46, 0, 1, 0, 0, 1, 44, (uint8_t)(len >> 8), (uint8_t)len };
    memcpy(wire + o, hdr, 10);
    o += 10;
    memcpy(wire + o, rd, len);
    o += len;
    ldns_rr *sig = NULL;
    size_t pos = 0;
    assert_int_equal(ldns_wire2rr(&sig, wire, o, &pos, LDNS_SECTION_ANSWER), LDNS_STATUS_OK);
    ldns_rr_list *keys = ldns_rr_list_new();
    ldns_rr_list_push_rr(keys, key);
    ldns_rr_list *good = ldns_rr_list_new();
    ldns_status st = ldns_verify_rrsig_keylist(set, sig, keys, good);
    if (st != LDNS_STATUS_OK)
        fail_msg("alg %u owner %s: %s", alg, owner_str, ldns_get_errorstr_by_id(st));
    /* a changed record must not verify */
    ldns_rr_set_ttl(ldns_rr_list_rr(set, 0), 300);
    ldns_rdf_deep_free(ldns_rr_pop_rdf(ldns_rr_list_rr(set, 0)));
    ldns_rr_push_rdf(ldns_rr_list_rr(set, 0), ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "192.0.2.9"));
    assert_int_not_equal(ldns_verify_rrsig_keylist(set, sig, keys, good), LDNS_STATUS_OK);
    ldns_rr_list_free(good);
    ldns_rr_list_deep_free(keys);
    ldns_rr_list_deep_free(set);
    ldns_rr_free(sig);
    EVP_PKEY_free(pk);
}

static void test_algorithms(void **st)
{
    (void)st;
    check_alg(SG_ALG_ECDSAP256SHA256, "www.example.test.", "www.example.test.", 3);
    check_alg(SG_ALG_ECDSAP384SHA384, "www.example.test.", "www.example.test.", 3);
    check_alg(SG_ALG_ED25519, "www.example.test.", "www.example.test.", 3);
    check_alg(SG_ALG_RSASHA256, "www.example.test.", "www.example.test.", 3);
}

/* The same through a signing context that keeps each key's OpenSSL context (new keys
 * after the first round: the context must tell them apart). */
static void test_algorithms_ctx(void **st)
{
    g_ctx = sg_sign_ctx_new();
    assert_non_null(g_ctx);
    for (int round = 0; round < 2; round++)
        test_algorithms(st);
    sg_sign_ctx_free(g_ctx);
    g_ctx = NULL;
}

/* RFC 4035 5.3.2: a wildcard answer verifies with the wildcard's label count. */
static void test_wildcard(void **st)
{
    (void)st;
    check_alg(SG_ALG_ECDSAP256SHA256, "a.b.wild.example.test.", "*.wild.example.test.", 3);
}

/* RFC 8080 section 6.1: Ed25519 signatures are deterministic, so ours must be the RFC's,
 * byte for byte. */
static void test_rfc8080_vector(void **st)
{
    (void)st;
    static const char priv_b64[] = "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=";
    static const char pub_b64[] = "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=";
    static const char sig_b64[] = "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==";
    uint8_t priv[64], pub[64], want[96];
    assert_int_equal(EVP_DecodeBlock(priv, (const unsigned char *)priv_b64, (int)strlen(priv_b64)), 33);
    assert_int_equal(EVP_DecodeBlock(pub, (const unsigned char *)pub_b64, (int)strlen(pub_b64)), 33);
    assert_int_equal(EVP_DecodeBlock(want, (const unsigned char *)sig_b64, (int)strlen(sig_b64)), 66);
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
    assert_non_null(pk);
    uint8_t derived[32];
    size_t dl = sizeof derived;
    assert_int_equal(EVP_PKEY_get_raw_public_key(pk, derived, &dl), 1);
    assert_memory_equal(derived, pub, 32);
    /* example.com. 3600 IN MX 10 mail.example.com. */
    static const uint8_t mx[] = { 0, 20, 0, 10, 4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0 };
    sg_rrset rs = { .type = SG_TYPE_MX, .count = 1, .ttl = 3600, .rdata_len = sizeof mx, .rdata = mx };
    sg_sign_key k = { .pkey = pk, .algorithm = SG_ALG_ED25519, .key_tag = 3613, .flags = 257, .id = 1 };
    uint8_t apex[SG_NAME_MAX], out[SG_RRSIG_MAX];
    sg_name_from_str("example.com.", NULL, apex);
    size_t len;
    assert_int_equal(sg_rrsig_make(&k, apex, apex, 2, &rs, 1438207200, 1440021600, out, &len), 0);
    size_t head = 18 + sg_name_len(apex);
    assert_int_equal(len, head + 64);
    assert_memory_equal(out + head, want, 64);
    EVP_PKEY_free(pk);
}

static void test_cache_basics(void **st)
{
    (void)st;
    sg_sigcache *c = sg_sigcache_new(1000, 200);
    uint8_t out[200], data[100];
    memset(data, 7, sizeof data);
    sg_sigkey k1 = { { 11, 12 } }, k2 = { { 11, 13 } }, k3 = { { 21, 12 } };
    assert_int_equal(sg_sigcache_get(c, &k1, 5, 10, 1000, out), 0);
    sg_sigcache_put(c, &k1, 5, 10, 2000, data, sizeof data);
    assert_int_equal(sg_sigcache_get(c, &k1, 5, 10, 1000, out), sizeof data);
    assert_memory_equal(out, data, sizeof data);
    /* another signer, or content differing in either half of its key: a miss */
    assert_int_equal(sg_sigcache_get(c, &k1, 6, 10, 1000, out), 0);
    assert_int_equal(sg_sigcache_get(c, &k2, 5, 10, 1000, out), 0);
    assert_int_equal(sg_sigcache_get(c, &k3, 5, 10, 1000, out), 0);
    /* due for refresh: a miss */
    assert_int_equal(sg_sigcache_get(c, &k1, 5, 10, 2000, out), 0);
    /* too big for a slot: not stored */
    uint8_t big[300] = { 0 };
    sg_sigcache_put(c, &k2, 5, 10, 2000, big, sizeof big);
    assert_int_equal(sg_sigcache_get(c, &k2, 5, 10, 1000, out), 0);
    sg_sigcache_free(c);
}

/* Both sets of a new key full, but an entry there has room in its other set: it moves,
 * and nothing is lost (with signer 0, a half's top four bits are its set of 16: the set
 * is the half times the number of sets, shifted down 64 bits). */
#define IN_SET(set, n) (((uint64_t)(set) << 60) | (uint64_t)(n))
static void test_cache_makes_room(void **st)
{
    (void)st;
    sg_sigcache *c = sg_sigcache_new(64, 32);
    assert_int_equal(sg_sigcache_capacity(c), 64);
    uint8_t data[8] = { 1 }, out[32];
    sg_sigkey k[9];
    for (uint64_t i = 0; i < 3; i++)          /* set 0, else set 2 */
        k[i] = (sg_sigkey){ { IN_SET(0, i + 1), IN_SET(2, i + 1) } };
    k[3] = (sg_sigkey){ { IN_SET(0, 4), IN_SET(1, 4) } };  /* set 0, else set 1 */
    for (uint64_t i = 4; i < 8; i++)          /* set 1 only */
        k[i] = (sg_sigkey){ { IN_SET(1, i + 1), IN_SET(1, i + 101) } };
    k[8] = (sg_sigkey){ { IN_SET(0, 9), IN_SET(1, 9) } };  /* sets 0 and 1, both full */
    for (int i = 0; i < 9; i++)
        sg_sigcache_put(c, &k[i], 0, 100, 900000, data, sizeof data);
    for (int i = 0; i < 9; i++)
        assert_int_not_equal(sg_sigcache_get(c, &k[i], 0, 100, 2000, out), 0);
    sg_sigcache_free(c);
}

/* A cache sized for what it must hold, not a power of two: 1,000 slots are 1,000 (250
 * sets), and 800 keys (splitmix64 from a fixed seed, as the content keys' hash would
 * spread them) all stay in it at 80% load. */
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void test_cache_any_size(void **st)
{
    (void)st;
    sg_sigcache *c = sg_sigcache_new(1000, 32);
    assert_int_equal(sg_sigcache_capacity(c), 1000);
    uint8_t data[8], out[32];
    uint64_t seed = 17;
    sg_sigkey *k = calloc(800, sizeof *k);
    assert_non_null(k);
    for (int i = 0; i < 800; i++) {
        k[i].h[0] = splitmix(&seed);
        k[i].h[1] = splitmix(&seed);
        memcpy(data, &i, sizeof i);
        sg_sigcache_put(c, &k[i], 7, 100, 900000, data, sizeof data);
    }
    for (int i = 0; i < 800; i++) {
        assert_int_equal(sg_sigcache_get(c, &k[i], 7, 100, 2000, out), sizeof data);
        int j;
        memcpy(&j, out, sizeof j);
        assert_int_equal(j, i);
    }
    free(k);
    sg_sigcache_free(c);
}

/* A bigger cache replacing a full one starts with everything the old one held. */
static void test_cache_move(void **st)
{
    (void)st;
    sg_sigcache *small = sg_sigcache_new(256, 40), *big = sg_sigcache_new(4096, 40);
    uint8_t data[40], out[40];
    int stored = 0;
    for (int i = 0; i < 200; i++) {
        sg_sigkey k = { { 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1), (uint64_t)i * 0xc2b2ae3d27d4eb4fULL } };
        memset(data, i, sizeof data);
        sg_sigcache_put(small, &k, 7, 100, 5000, data, 20 + (size_t)(i % 20));
    }
    sg_sigcache_move(big, small);
    for (int i = 0; i < 200; i++) {
        sg_sigkey k = { { 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1), (uint64_t)i * 0xc2b2ae3d27d4eb4fULL } };
        size_t a = sg_sigcache_get(small, &k, 7, 100, 1000, out);
        size_t b = sg_sigcache_get(big, &k, 7, 100, 1000, out);
        assert_int_equal(a, b);
        if (b) {
            assert_int_equal(b, 20 + (size_t)(i % 20));
            assert_int_equal(out[0], (uint8_t)i);
            stored++;
        }
    }
    assert_true(stored >= 190); /* 200 keys in 256 slots: next to none evicted */
    sg_sigcache_move(big, NULL);
    sg_sigcache_free(small);
    sg_sigcache_free(big);
}

/* A full set gives up the entry used least recently: what a reload replaced (never asked
 * for again) goes before what is still served, however old the latter's signature is. */
static void test_cache_evicts_unused(void **st)
{
    (void)st;
    sg_sigcache *c = sg_sigcache_new(64, 32); /* 16 sets of 4 */
    uint8_t data[8] = { 1 }, out[32];
    /* five keys whose two sets are both set 0 (with signer 0 a set comes from the key's
     * halves alone): four places for five */
    sg_sigkey k[5];
    for (int i = 0; i < 5; i++)
        k[i] = (sg_sigkey){ { 0x100000ULL * (uint64_t)(i + 1), 0x100000ULL * (uint64_t)(i + 1) } };
    for (int i = 0; i < 4; i++)
        sg_sigcache_put(c, &k[i], 0, 100 + (uint32_t)i, 900000, data, sizeof data);
    /* k[0], the oldest, is still served; k[1] is not asked for again */
    assert_int_not_equal(sg_sigcache_get(c, &k[0], 0, 1000, 2000, out), 0);
    assert_int_not_equal(sg_sigcache_get(c, &k[2], 0, 1000, 2000, out), 0);
    assert_int_not_equal(sg_sigcache_get(c, &k[3], 0, 1000, 2000, out), 0);
    sg_sigcache_put(c, &k[4], 0, 1001, 900000, data, sizeof data);
    assert_int_not_equal(sg_sigcache_get(c, &k[4], 0, 1001, 2000, out), 0);
    assert_int_not_equal(sg_sigcache_get(c, &k[0], 0, 1001, 2000, out), 0);
    assert_int_equal(sg_sigcache_get(c, &k[1], 0, 1001, 2000, out), 0);
    sg_sigcache_free(c);
}

/* Two threads write and read the same few slots; every hit must be whole and belong to
 * the RRset asked for (the content encodes the RRset's index). */
static sg_sigcache *g_c;
static int g_objs[64];
static _Atomic int g_bad, g_hits;
static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    uint8_t data[150], out[150];
    for (int i = 0; i < 300000; i++) {
        seed = seed * 1103515245 + 12345;
        int k = (seed >> 16) % 64;
        if (seed & 1) {
            memset(data, k, sizeof data);
            sg_sigkey key = { { (uint64_t)k, (uint64_t)(uintptr_t)&g_objs[k] } };
            sg_sigcache_put(g_c, &key, 1, 1, 5000, data, (size_t)(50 + k));
        } else {
            sg_sigkey key = { { (uint64_t)k, (uint64_t)(uintptr_t)&g_objs[k] } };
            size_t n = sg_sigcache_get(g_c, &key, 1, 1, 100, out);
            if (n)
                g_hits++;
            if (n && n != (size_t)(50 + k))
                g_bad++;
            for (size_t j = 0; j < n; j++)
                if (out[j] != k)
                    g_bad++;
        }
    }
    return NULL;
}

static void test_cache_concurrent(void **st)
{
    (void)st;
    g_c = sg_sigcache_new(16, 150); /* few slots: many collisions */
    pthread_t a, b;
    pthread_create(&a, NULL, hammer, (void *)1);
    pthread_create(&b, NULL, hammer, (void *)2);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    assert_int_equal(g_bad, 0);
    assert_true(g_hits > 0);
    sg_sigcache_free(g_c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_algorithms),
        cmocka_unit_test(test_algorithms_ctx),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_rfc8080_vector),
        cmocka_unit_test(test_cache_basics),
        cmocka_unit_test(test_cache_evicts_unused),
        cmocka_unit_test(test_cache_move),
        cmocka_unit_test(test_cache_makes_room),
        cmocka_unit_test(test_cache_any_size),
        cmocka_unit_test(test_cache_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
