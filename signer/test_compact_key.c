/* SPDX-License-Identifier: MIT */
/* Compact keys: the object built from the material signs as the original key, other keys
 * are refused, the cache keeps its bound and a signer's own reference outlives eviction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "signer/compact_key.h"
#include "common/errors.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

static EVP_PKEY *gen(const char *type, const char *curve)
{
    EVP_PKEY *pk = curve ? EVP_PKEY_Q_keygen(NULL, NULL, type, curve)
                         : EVP_PKEY_Q_keygen(NULL, NULL, type);
    assert_non_null(pk);
    return pk;
}

/* signs with the compact key's object, verifies with the original key */
static void sign_verify(EVP_PKEY *orig, EVP_PKEY *built, const EVP_MD *md)
{
    static const unsigned char msg[] = "example.test. 3600 IN SOA";
    unsigned char sig[256];
    size_t slen = sizeof sig;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(c, NULL, md, NULL, built), 1);
    assert_int_equal(EVP_DigestSign(c, sig, &slen, msg, sizeof msg), 1);
    EVP_MD_CTX_free(c);
    c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(c, NULL, md, NULL, orig), 1);
    assert_int_equal(EVP_DigestVerify(c, sig, slen, msg, sizeof msg), 1);
    EVP_MD_CTX_free(c);
}

static void test_signs_as_original(void **state)
{
    (void)state;
    struct { const char *type, *curve; const EVP_MD *md; } k[] = {
        { "EC", "P-256", EVP_sha256() }, { "EC", "P-384", EVP_sha384() },
        { "ED25519", NULL, NULL }, { "ED448", NULL, NULL },
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        EVP_PKEY *orig = gen(k[i].type, k[i].curve);
        sg_compact_key *c;
        assert_int_equal(sg_compact_key_from(orig, &c), 0);
        EVP_PKEY *b = sg_compact_key_get(c);
        assert_non_null(b);
        assert_ptr_not_equal(b, orig);
        assert_int_equal(EVP_PKEY_eq(orig, b), 1); /* the same public key */
        sign_verify(orig, b, k[i].md);
        EVP_PKEY_free(b);
        sg_compact_key_free(c);
        EVP_PKEY_free(orig);
    }
}

static void test_refuses_others(void **state)
{
    (void)state;
    sg_compact_key *c = (sg_compact_key *)1;
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    assert_non_null(rsa);
    assert_int_equal(sg_compact_key_from(rsa, &c), SG_EINVAL);
    assert_null(c);
    EVP_PKEY_free(rsa);
    /* public only: what a token key's set holds */
    EVP_PKEY *ec = gen("EC", "P-256");
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(ec, &der);
    assert_true(len > 0);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, len);
    assert_non_null(pub);
    assert_int_equal(sg_compact_key_from(pub, &c), SG_EINVAL);
    OPENSSL_free(der);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(ec);
    assert_int_equal(sg_compact_key_from(NULL, &c), SG_EINVAL);
}

static void test_cache_bound(void **state)
{
    (void)state;
    enum { N = 5 };
    sg_compact_key_set_cache(2);
    EVP_PKEY *orig[N];
    sg_compact_key *c[N];
    for (int i = 0; i < N; i++) {
        orig[i] = gen("EC", "P-256");
        assert_int_equal(sg_compact_key_from(orig[i], &c[i]), 0);
    }
    size_t cached0 = sg_compact_key_cached();
    assert_int_equal(cached0, 0); /* the tests before freed their keys */
    unsigned long b0 = sg_compact_key_builds();
    EVP_PKEY *held = sg_compact_key_get(c[0]); /* a signer still holds key 0's object */
    EVP_PKEY_free(sg_compact_key_get(c[0]));
    assert_int_equal(sg_compact_key_builds() - b0, 1); /* the second get was a hit */
    for (int i = 1; i < N; i++)
        EVP_PKEY_free(sg_compact_key_get(c[i]));
    assert_int_equal(sg_compact_key_builds() - b0, N);
    assert_int_equal(sg_compact_key_cached(), 2);
    /* the two most recent are kept: no build */
    EVP_PKEY_free(sg_compact_key_get(c[N - 1]));
    EVP_PKEY_free(sg_compact_key_get(c[N - 2]));
    assert_int_equal(sg_compact_key_builds() - b0, N);
    /* key 0's was dropped from the cache, but the held reference still signs */
    sign_verify(orig[0], held, EVP_sha256());
    EVP_PKEY_free(held);
    EVP_PKEY_free(sg_compact_key_get(c[0]));
    assert_int_equal(sg_compact_key_builds() - b0, N + 1);
    /* freeing a key takes its object out of the cache */
    size_t before = sg_compact_key_cached();
    sg_compact_key_free(c[0]);
    assert_int_equal(sg_compact_key_cached(), before - 1);
    for (int i = 1; i < N; i++)
        sg_compact_key_free(c[i]);
    assert_int_equal(sg_compact_key_cached(), cached0);
    for (int i = 0; i < N; i++)
        EVP_PKEY_free(orig[i]);
    sg_compact_key_set_cache(SG_KEY_OBJECTS_DEFAULT);
}

/* a CSK is in a key set twice: the material lives until the last reference */
static void test_refs(void **state)
{
    (void)state;
    EVP_PKEY *orig = gen("EC", "P-256");
    sg_compact_key *c;
    assert_int_equal(sg_compact_key_from(orig, &c), 0);
    assert_ptr_equal(sg_compact_key_ref(c), c);
    EVP_PKEY_free(sg_compact_key_get(c));
    sg_compact_key_free(c);
    EVP_PKEY *b = sg_compact_key_get(c);
    assert_non_null(b);
    sign_verify(orig, b, EVP_sha256());
    EVP_PKEY_free(b);
    sg_compact_key_free(c);
    EVP_PKEY_free(orig);
}

enum { TN = 8, TKEYS = 6 };
static sg_compact_key *t_keys[TKEYS];

static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    for (int i = 0; i < 2000; i++) {
        seed = seed * 1103515245u + 12345u;
        EVP_PKEY *pk = sg_compact_key_get(t_keys[(seed >> 16) % TKEYS]);
        if (!pk)
            return (void *)1;
        EVP_PKEY_free(pk);
    }
    return NULL;
}

/* threads getting and evicting at once (ASan: no use after free; the bound holds) */
static void test_threads(void **state)
{
    (void)state;
    sg_compact_key_set_cache(3);
    size_t cached0 = sg_compact_key_cached();
    EVP_PKEY *orig[TKEYS];
    for (int i = 0; i < TKEYS; i++) {
        orig[i] = gen("EC", "P-256");
        assert_int_equal(sg_compact_key_from(orig[i], &t_keys[i]), 0);
    }
    pthread_t t[TN];
    for (int i = 0; i < TN; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)(size_t)(i + 1)), 0);
    for (int i = 0; i < TN; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    assert_true(sg_compact_key_cached() <= 3);
    for (int i = 0; i < TKEYS; i++) {
        sg_compact_key_free(t_keys[i]);
        EVP_PKEY_free(orig[i]);
    }
    assert_true(sg_compact_key_cached() <= cached0);
    sg_compact_key_set_cache(SG_KEY_OBJECTS_DEFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signs_as_original),
        cmocka_unit_test(test_refuses_others),
        cmocka_unit_test(test_cache_bound),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
