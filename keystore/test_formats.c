/* SPDX-License-Identifier: MIT */
/* Key tags, DS digests and DNSKEY formats against the RFCs' published examples. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/name.h"
#include "keystore/internal.h"

#include <string.h>
#include <strings.h>

/* owner, DNSKEY presentation RDATA, key tag, digest type, digest: from RFC 4034 5.4 (SHA-1),
 * RFC 4509 2.3 (SHA-256 of the same key), RFC 6605 6.1 and 6.2, RFC 8080 6.1 and 6.2. */
static const struct vec {
    const char *owner;
    unsigned flags, alg;
    const char *pub;
    unsigned tag, dtype;
    const char *digest;
} vecs[] = {
    { "dskey.example.com.", 256, 5,
      "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMm"
      "mAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
      60485, 1, "2BB183AF5F22588179A53B0A98631FAD1A292118" },
    { "dskey.example.com.", 256, 5,
      "AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMm"
      "mAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
      60485, 2, "D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A" },
    { "example.net.", 257, 13,
      "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
      55648, 2, "B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17" },
    { "example.net.", 257, 14,
      "xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8"
      "/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40",
      10771, 4,
      "72D7B62976CE06438E9C0BF319013CF801F09ECC84B8D7E9495F27E305C6A9B0563A9B5F4D288405C3008A94"
      "6DF983D6" },
    { "example.com.", 257, 15, "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=", 3613, 2,
      "3AA5AB37EFCE57F737FC1627013FEE07BDF241BD10F3B1964AB55C78E79A304B" },
    { "example.com.", 257, 16, "3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA",
      9713, 2, "6CCF18D5BC5D7FC2FCEB1D59D17321402F2AA8D368048DB93DD811F5CB2B19C7" },
};

static void test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        const struct vec *v = &vecs[i];
        uint8_t pub[SG_KS_PUBKEY_MAX], rd[SG_KS_RDATA_MAX], owner[SG_NAME_MAX], ds[4 + 64];
        size_t plen, rdlen, dslen;
        assert_int_equal(ks_b64_decode(v->pub, pub, sizeof pub, &plen), 0);
        assert_int_equal(sg_ks_dnskey_rdata((uint16_t)v->flags, (uint8_t)v->alg, pub, plen, rd,
                                            sizeof rd, &rdlen), 0);
        assert_int_equal(sg_ks_key_tag(rd, rdlen), v->tag);
        assert_int_equal(sg_name_from_str(v->owner, NULL, owner), 0);
        assert_int_equal(sg_ks_ds_rdata(owner, rd, rdlen, (uint8_t)v->dtype, ds, sizeof ds,
                                        &dslen), 0);
        assert_int_equal(ds[0] << 8 | ds[1], v->tag);
        assert_int_equal(ds[2], v->alg);
        assert_int_equal(ds[3], v->dtype);
        char hex[129];
        ks_hex_encode(ds + 4, dslen - 4, hex, 1);
        assert_string_equal(hex, v->digest);
    }
}

/* The owner name is hashed in canonical (lower-case) form, RFC 4034 6.2. */
static void test_ds_owner_case(void **state)
{
    (void)state;
    const struct vec *v = &vecs[2];
    uint8_t pub[128], rd[256], owner[SG_NAME_MAX], ds[68];
    size_t plen, rdlen, dslen;
    ks_b64_decode(v->pub, pub, sizeof pub, &plen);
    sg_ks_dnskey_rdata(257, 13, pub, plen, rd, sizeof rd, &rdlen);
    sg_name_from_str("EXAMPLE.Net.", NULL, owner);
    assert_int_equal(sg_ks_ds_rdata(owner, rd, rdlen, 2, ds, sizeof ds, &dslen), 0);
    char hex[129];
    ks_hex_encode(ds + 4, dslen - 4, hex, 1);
    assert_string_equal(hex, v->digest);
    assert_int_equal(sg_ks_ds_rdata(owner, rd, rdlen, 3, ds, sizeof ds, &dslen), SG_EINVAL);
    assert_int_equal(sg_ks_ds_rdata(owner, rd, rdlen, 2, ds, 20, &dslen), SG_ESPACE);
}

/* Presentation text of a stored key, as `signetctl ds` / `dnskey` print it. */
static void test_text(void **state)
{
    (void)state;
    sg_ks_key k;
    memset(&k, 0, sizeof k);
    strcpy(k.zone, "example.com.");
    k.flags = 257;
    k.algorithm = 15;
    ks_b64_decode(vecs[4].pub, k.pubkey, sizeof k.pubkey, &k.pubkey_len);
    char buf[512];
    assert_int_equal(sg_ks_key_dnskey_text(&k, 3600, "DNSKEY", buf, sizeof buf), 0);
    assert_string_equal(buf, "example.com. 3600 IN DNSKEY 257 3 15 "
                             "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=");
    assert_int_equal(sg_ks_key_ds_text(&k, 86400, 2, "CDS", buf, sizeof buf), 0);
    assert_string_equal(buf, "example.com. 86400 IN CDS 3613 15 2 "
                             "3AA5AB37EFCE57F737FC1627013FEE07BDF241BD10F3B1964AB55C78E79A304B");
    assert_int_equal(sg_ks_key_ds_text(&k, 86400, 2, "DS", buf, 20), SG_ESPACE);
}

/* Public keys survive DNSKEY -> OpenSSL -> DNSKEY for every family. */
static void test_pubkey_roundtrip(void **state)
{
    (void)state;
    static const int idx[] = { 0, 2, 3, 4, 5 };
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
        const struct vec *v = &vecs[idx[i]];
        uint8_t alg = v->alg == 5 ? SG_KS_ALG_RSASHA256 : (uint8_t)v->alg;
        uint8_t pub[SG_KS_PUBKEY_MAX], back[SG_KS_PUBKEY_MAX];
        size_t plen, blen;
        ks_b64_decode(v->pub, pub, sizeof pub, &plen);
        EVP_PKEY *pk = NULL;
        assert_int_equal(sg_ks_pkey_from_dnskey(alg, pub, plen, &pk), 0);
        assert_int_equal(sg_ks_pkey_to_dnskey(pk, alg, back, sizeof back, &blen), 0);
        assert_int_equal(blen, plen);
        assert_memory_equal(back, pub, plen);
        EVP_PKEY_free(pk);
    }
    EVP_PKEY *pk = NULL;
    uint8_t shortkey[10] = { 0 };
    assert_int_equal(sg_ks_pkey_from_dnskey(13, shortkey, sizeof shortkey, &pk), SG_EMALFORMED);
}

static void test_names(void **state)
{
    (void)state;
    uint8_t a, d;
    assert_int_equal(sg_ks_alg_parse("ed25519", &a), 0);
    assert_int_equal(a, 15);
    assert_int_equal(sg_ks_alg_parse("ECDSAP384SHA384", &a), 0);
    assert_int_equal(a, 14);
    assert_int_equal(sg_ks_alg_parse("13", &a), 0);
    assert_int_equal(a, 13);
    assert_int_equal(sg_ks_alg_parse("5", &a), SG_EINVAL);  /* RSASHA1: not for signing */
    assert_int_equal(sg_ks_alg_parse("dsa", &a), SG_EINVAL);
    assert_string_equal(sg_ks_alg_name(8), "RSASHA256");
    assert_int_equal(sg_ks_digest_parse("SHA-384", &d), 0);
    assert_int_equal(d, 4);
    assert_int_equal(sg_ks_digest_parse("md5", &d), SG_EINVAL);
    enum sg_ks_role r;
    assert_int_equal(sg_ks_role_parse("CSK", &r), 0);
    assert_int_equal(r, SG_KS_ROLE_CSK);
    enum sg_ks_key_state s;
    assert_int_equal(sg_ks_state_parse("retired", &s), 0);
    assert_int_equal(s, SG_KS_RETIRED);
}

static void test_base64(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n;
    assert_int_equal(ks_b64_decode("Zm9v YmE=", out, sizeof out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "fooba", 5);
    assert_int_equal(ks_b64_decode("Zm9", out, sizeof out, &n), SG_ESYNTAX);
    char enc[16];
    assert_int_equal(ks_b64_encode((const uint8_t *)"fo", 2, enc, sizeof enc), 0);
    assert_string_equal(enc, "Zm8=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),      cmocka_unit_test(test_ds_owner_case),
        cmocka_unit_test(test_text),         cmocka_unit_test(test_pubkey_roundtrip),
        cmocka_unit_test(test_names),        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
