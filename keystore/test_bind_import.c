/* SPDX-License-Identifier: MIT */
/* BIND key import: the RFC example keys, and keys from dnssec-keygen checked against
 * dnssec-dsfromkey. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keystore/internal.h"
#include "tests/support/temp_keystore.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static sg_keystore *ks;

static int setup(void **state)
{
    (void)state;
    if (sg_test_keystore_open("bind", dir, sizeof dir, &ks))
        return -1;
    return sg_ks_zone_add(ks, "example.net", NULL, 1) || sg_ks_zone_add(ks, "example.com", NULL, 1) ||
           sg_ks_zone_add(ks, "example.test", NULL, 1);
}

static int teardown(void **state)
{
    (void)state;
    return sg_test_keystore_close(ks, dir);
}

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The private keys published in RFC 6605 6.1/6.2 and RFC 8080 6.1/6.2, as BIND writes
 * them; importing checks each private key against its DNSKEY, and the DS must be the RFC's. */
static const struct {
    const char *base, *key, *priv, *ds;
    uint8_t digest;
} rfc[] = {
    { "Kexample.net.+013+55648",
      "example.net. 3600 IN DNSKEY 257 3 13 ( GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n"
      " krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n",
      "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"
      "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n",
      "55648 13 2 B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17", 2 },
    { "Kexample.net.+014+10771",
      "example.net. 3600 IN DNSKEY 257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1"
      "w/egsXvSADtNJhyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI37m40\n",
      "Private-key-format: v1.2\nAlgorithm: 14 (ECDSAP384SHA384)\n"
      "PrivateKey: WURgWHCcYIYUPWgeLmiPY2DJJk02vgrmTfitxgqcL4vwW7BOrbawVmVe0d9V94SR\n",
      "10771 14 4 72D7B62976CE06438E9C0BF319013CF801F09ECC84B8D7E9495F27E305C6A9B0563A9B5F4D2884"
      "05C3008A946DF983D6", 4 },
    { "Kexample.com.+015+03613",
      "example.com. 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n",
      "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\n"
      "PrivateKey: ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=\n",
      "3613 15 2 3AA5AB37EFCE57F737FC1627013FEE07BDF241BD10F3B1964AB55C78E79A304B", 2 },
    { "Kexample.com.+016+09713",
      "example.com. 3600 IN DNSKEY 257 3 16 3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBV"
      "HHSfPodx1FYYUcJKm1MDpJtIA\n",
      "Private-key-format: v1.2\nAlgorithm: 16 (ED448)\n"
      "PrivateKey: xZ+5Cgm463xugtkY5B0Jx6erFTXp13rYegst0qRtNsOYnaVpMx0Z/c5EiA9x8wWbDDct/U3FhYWA\n",
      "9713 16 2 6CCF18D5BC5D7FC2FCEB1D59D17321402F2AA8D368048DB93DD811F5CB2B19C7", 2 },
};

static void rdata_of(const char *line, char *out, size_t cap)
{
    /* "owner [ttl] IN DS|CDS rdata": keep what follows the type. */
    const char *p = strstr(line, " DS ");
    const char *src = p ? p + 4 : line;
    size_t n = strnlen(src, cap - 1); /* a longer line is cut: the comparison then fails */
    memcpy(out, src, n);
    out[n] = 0;
    while (n && isspace((unsigned char)out[n - 1]))
        out[--n] = 0;
}

static void test_rfc_keys(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
        char name[128], path[256], text[512], got[256];
        snprintf(name, sizeof name, "%s.key", rfc[i].base);
        write_file(name, rfc[i].key);
        snprintf(name, sizeof name, "%s.private", rfc[i].base);
        write_file(name, rfc[i].priv);
        snprintf(path, sizeof path, "%s/%s", dir, rfc[i].base);
        const char *zone = strstr(rfc[i].base, "example.net") ? "example.net" : "example.com";
        sg_ks_key k;
        assert_int_equal(sg_ks_key_import_bind(ks, zone, path, -1, 0, NULL, 100, &k), 0);
        assert_int_equal(k.role, SG_KS_ROLE_KSK);
        /* no timing metadata (as pdnsutil export-zone-key writes): in use from the import,
         * so that the zone's current key is this one and no key of our own is made */
        assert_int_equal(k.state, SG_KS_ACTIVE);
        assert_int_equal(k.publish, 100);
        assert_int_equal(k.active, 100);
        assert_int_equal(sg_ks_key_public_only(&k), 0);
        assert_int_equal(sg_ks_key_ds_text(&k, 3600, rfc[i].digest, "DS", text, sizeof text), 0);
        rdata_of(text, got, sizeof got);
        assert_string_equal(got, rfc[i].ds);
        /* The stored private key is the RFC's: it signs what the DNSKEY verifies. */
        EVP_PKEY *priv = NULL, *pub = NULL;
        assert_int_equal(sg_ks_key_load_private(ks, k.id, &priv), 0);
        assert_int_equal(sg_ks_pkey_from_dnskey(k.algorithm, k.pubkey, k.pubkey_len, &pub), 0);
        assert_int_equal(EVP_PKEY_eq(priv, pub), 1);
        EVP_PKEY_free(priv);
        EVP_PKEY_free(pub);
    }
    /* The same key twice is a tag collision. */
    char path[256];
    snprintf(path, sizeof path, "%s/%s.private", dir, rfc[0].base);
    assert_int_equal(sg_ks_key_import_bind(ks, "example.net", path, -1, 0, NULL, 100, NULL), SG_EEXIST);
    /* A key for another zone is refused. */
    assert_int_equal(sg_ks_key_import_bind(ks, "example.test", path, -1, 0, NULL, 100, NULL), SG_EINVAL);
}

/* A private key that is not the DNSKEY's other half is refused. */
static void test_mismatch(void **state)
{
    (void)state;
    write_file("Kbad.key", rfc[2].key);
    write_file("Kbad.private", "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\n"
                               "PrivateKey: DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=\n");
    char path[256];
    snprintf(path, sizeof path, "%s/Kbad", dir);
    assert_int_equal(sg_ks_key_import_bind(ks, "example.com", path, -1, 0, NULL, 100, NULL), SG_EINVAL);
    write_file("Kbad.private", "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n"
                               "PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n");
    assert_int_equal(sg_ks_key_import_bind(ks, "example.com", path, -1, 0, NULL, 100, NULL), SG_EINVAL);
    snprintf(path, sizeof path, "%s/Kmissing", dir);
    assert_int_equal(sg_ks_key_import_bind(ks, "example.com", path, -1, 0, NULL, 100, NULL), SG_EIO);
    sg_ks_key *list;
    size_t n;
    assert_int_equal(sg_ks_key_list(ks, "example.com", &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
}

static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    return pclose(p);
}

/* Keys made by dnssec-keygen give, once imported, the DS dnssec-dsfromkey computes. */
static void test_dnssec_keygen(void **state)
{
    (void)state;
    if (system("command -v dnssec-keygen >/dev/null && command -v dnssec-dsfromkey >/dev/null")) {
        print_message("dnssec-keygen not installed (bind9-utils): skipped\n");
        skip();
    }
    static const struct { const char *alg, *extra; int ksk; } gen[] = {
        { "ECDSAP256SHA256", "", 1 }, { "ECDSAP256SHA256", "", 0 }, { "ECDSAP384SHA384", "", 1 },
        { "ED25519", "", 1 },         { "ED448", "", 0 },           { "RSASHA256", "-b 2048", 1 },
        { "RSASHA512", "-b 2048", 0 },
    };
    for (size_t i = 0; i < sizeof gen / sizeof gen[0]; i++) {
        char cmd[1024], base[256], path[512], ours[512], theirs[1024];
        snprintf(cmd, sizeof cmd, "dnssec-keygen -q -K %s -a %s %s %s -n ZONE example.test 2>/dev/null",
                 dir, gen[i].alg, gen[i].extra, gen[i].ksk ? "-f KSK" : "");
        assert_int_equal(run(cmd, base, sizeof base), 0);
        base[strcspn(base, "\r\n")] = 0;
        snprintf(path, sizeof path, "%s/%s.key", dir, base);
        sg_ks_key k;
        assert_int_equal(sg_ks_key_import_bind(ks, "example.test", path, -1, 0, NULL, 2000000000, &k), 0);
        assert_int_equal(k.role, gen[i].ksk ? SG_KS_ROLE_KSK : SG_KS_ROLE_ZSK);
        /* dnssec-keygen sets Publish and Activate to its own now; we are past them. */
        assert_true(k.publish > 0 && k.active > 0);
        assert_int_equal(k.state, SG_KS_ACTIVE);
        for (int d = 0; d < 2; d++) {
            uint8_t digest = d ? SG_KS_DIGEST_SHA384 : SG_KS_DIGEST_SHA256;
            snprintf(cmd, sizeof cmd, "dnssec-dsfromkey -a %s %s", d ? "SHA-384" : "SHA-256", path);
            assert_int_equal(run(cmd, theirs, sizeof theirs), 0);
            char a[256], b[256];
            rdata_of(theirs, b, sizeof b);
            assert_int_equal(sg_ks_key_ds_text(&k, 3600, digest, "DS", ours, sizeof ours), 0);
            rdata_of(ours, a, sizeof a);
            assert_string_equal(a, b);
        }
        /* And the key signs: what the private key signs, the DNSKEY verifies. */
        EVP_PKEY *priv = NULL, *pub = NULL;
        assert_int_equal(sg_ks_key_load_private(ks, k.id, &priv), 0);
        assert_int_equal(sg_ks_pkey_from_dnskey(k.algorithm, k.pubkey, k.pubkey_len, &pub), 0);
        assert_int_equal(EVP_PKEY_eq(priv, pub), 1);
        EVP_PKEY_free(priv);
        EVP_PKEY_free(pub);
    }
}

/* Real K*.state files written by named 9.18 (dnssec-policy, first minute of a zone: DNSKEY
 * rumoured, DS hidden) and the same KSK once `rndc dnssec -checkds published` ran. */
static const char state_ksk_new[] =
    "; This is the state of key 53508, for bind.test.\n"
    "Algorithm: 13\nLength: 256\nLifetime: 0\nKSK: yes\nZSK: no\n"
    "Generated: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "Published: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "Active: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "PublishCDS: 20261208130531 (Tue Dec  8 13:05:31 2026)\n"
    "DNSKEYChange: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "KRRSIGChange: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "DSChange: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "DNSKEYState: rumoured\nKRRSIGState: rumoured\nDSState: hidden\nGoalState: omnipresent\n";
static const char state_zsk[] =
    "; This is the state of key 49445, for bind.test.\n"
    "Algorithm: 13\nLength: 256\nLifetime: 0\nKSK: no\nZSK: yes\n"
    "Generated: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "Published: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "Active: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "Retired: 20270107120031 (Thu Jan  7 12:00:31 2027)\n"
    "Removed: 20270117120031 (Sun Jan 17 12:00:31 2027)\n"
    "DNSKEYChange: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "ZRRSIGChange: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "DNSKEYState: rumoured\nZRRSIGState: rumoured\nGoalState: omnipresent\n";
static const char state_ksk_seen[] =
    "; This is the state of key 53508, for bind.test.\n"
    "Algorithm: 13\nLength: 256\nLifetime: 0\nKSK: yes\nZSK: no\n"
    "Generated: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "Published: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "Active: 20261207120031 (Mon Dec  7 12:00:31 2026)\n"
    "PublishCDS: 20261208130531 (Tue Dec  8 13:05:31 2026)\n"
    "DSPublish: 20261209000000 (Wed Dec  9 00:00:00 2026)\n"
    "DSChange: 20261209000000 (Wed Dec  9 00:00:00 2026)\n"
    "DNSKEYState: omnipresent\nKRRSIGState: omnipresent\nDSState: omnipresent\n"
    "GoalState: omnipresent\n";

static void test_bind_state(void **state)
{
    (void)state;
    char buf[2048];
    sg_ks_import_times t;
    enum sg_ks_role role;
    const int64_t dec7 = 1796644831; /* 2026-12-07 12:00:31 UTC */
    snprintf(buf, sizeof buf, "%s", state_ksk_new);
    assert_int_equal(sg_ks_bind_state_parse(buf, &t, &role), 0);
    assert_int_equal(role, SG_KS_ROLE_KSK);
    assert_true(t.known);
    assert_int_equal(t.publish, dec7);
    assert_int_equal(t.active, dec7);
    assert_int_equal(t.ds_submitted, 0); /* hidden: not at the parent */
    assert_int_equal(t.ds_seen, 0);
    snprintf(buf, sizeof buf, "%s", state_zsk);
    assert_int_equal(sg_ks_bind_state_parse(buf, &t, &role), 0);
    assert_int_equal(role, SG_KS_ROLE_ZSK);
    assert_int_equal(t.retire, dec7 + 31 * 86400);
    assert_int_equal(t.remove, dec7 + 41 * 86400);
    snprintf(buf, sizeof buf, "%s", state_ksk_seen);
    assert_int_equal(sg_ks_bind_state_parse(buf, &t, &role), 0);
    assert_int_equal(t.ds_submitted, 1796774400); /* DSPublish 2026-12-09 00:00:00 */
    assert_int_equal(t.ds_seen, 1796774400);
    /* rumoured: submitted (the CDS is out), not yet seen */
    char *r = strstr(state_ksk_seen, "DSState: omnipresent");
    snprintf(buf, sizeof buf, "%.*sDSState: rumoured\n", (int)(r - state_ksk_seen), state_ksk_seen);
    assert_int_equal(sg_ks_bind_state_parse(buf, &t, &role), 0);
    assert_true(t.ds_submitted > 0);
    assert_int_equal(t.ds_seen, 0);
    snprintf(buf, sizeof buf, "Private-key-format: v1.3\nAlgorithm: 13\n");
    assert_int_equal(sg_ks_bind_state_parse(buf, &t, &role), SG_ESYNTAX);
}

/* A K*.key with no .private beside it is public-only (multi-signer); with a .state beside
 * it the key gets named's times; --public ignores a .private that is there. */
static void test_public_only(void **state)
{
    (void)state;
    write_file("Kpub.key", rfc[0].key);
    char path[256];
    snprintf(path, sizeof path, "%s/Kpub.key", dir);
    const char *zone = strstr(rfc[0].base, "example.net") ? "example.net" : "example.com";
    sg_ks_key k;
    assert_int_equal(sg_ks_key_import_bind(ks, zone, path, -1, 0, NULL, 100, &k), 0);
    assert_true(sg_ks_key_public_only(&k));
    assert_int_equal(k.publish, 100);
    assert_int_equal(k.active, 0);
    assert_int_equal(k.state, SG_KS_PUBLISHED);
    EVP_PKEY *p = NULL;
    assert_int_equal(sg_ks_key_load_private(ks, k.id, &p), SG_ENOTFOUND);
    assert_int_equal(sg_ks_key_delete(ks, k.id, 1, 100), 0);
    /* named's state beside it */
    write_file("Kpub.state", state_ksk_seen);
    assert_int_equal(sg_ks_key_import_bind(ks, zone, path, -1, 0, NULL, 1796800000, &k), 0);
    assert_true(sg_ks_key_public_only(&k));
    assert_int_equal(k.publish, 1796644831);
    assert_int_equal(k.ds_seen, 1796774400);
    assert_int_equal(sg_ks_key_delete(ks, k.id, 1, 100), 0);
    /* a private half there, but --public */
    write_file("Kpub.private", rfc[0].priv);
    assert_int_equal(sg_ks_key_import_bind(ks, zone, path, -1, SG_KS_IMPORT_PUBLIC, NULL, 1796800000, &k), 0);
    assert_true(sg_ks_key_public_only(&k));
    assert_int_equal(sg_ks_key_delete(ks, k.id, 1, 100), 0);
    unlink("Kpub.state");
    char sp[256];
    snprintf(sp, sizeof sp, "%s/Kpub.state", dir);
    unlink(sp);
    assert_int_equal(sg_ks_key_import_bind(ks, zone, path, -1, 0, NULL, 100, &k), 0);
    assert_false(sg_ks_key_public_only(&k));
}

/* `keymgr -d KASP knot.test list -e` and `list` of Knot DNS 3.2.6. */
static const char knot_list_e[] =
    "7d4ebb9f4caba689b9c858ee5b109ff1df404b38 ksk=yes zsk=no  tag=41168 algorithm=13 size=256  "
    "public-only=no  pre-active=0 publish=1796644812 ready=1796644812 active=1796644812 "
    "retire-active=0 retire=0 post-active=0 revoke=0 remove=0\n"
    "aefcaf132973af00638746cef7cce08d12a9d1ee ksk=no  zsk=yes tag=05210 algorithm=13 size=256  "
    "public-only=no  pre-active=0 publish=1796648412 ready=0 active=1796652012 retire-active=0 "
    "retire=0 post-active=0 revoke=0 remove=0\n";
static const char knot_list[] =
    "7d4ebb9f4caba689b9c858ee5b109ff1df404b38 41168 KSK ECDSAP256SHA256 publish=1796644812 "
    "ready=1796644812 active=1796644812\n"
    "aefcaf132973af00638746cef7cce08d12a9d1ee  5210 ZSK ECDSAP256SHA256 publish=1796648412 "
    "active=1796652012\n";

static void test_knot_list(void **state)
{
    (void)state;
    const char *texts[] = { knot_list_e, knot_list };
    for (int i = 0; i < 2; i++) {
        sg_ks_knot_key *k;
        size_t n;
        assert_int_equal(sg_ks_knot_list_parse(texts[i], &k, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(k[0].id, "7d4ebb9f4caba689b9c858ee5b109ff1df404b38");
        assert_int_equal(k[0].tag, 41168);
        assert_true(k[0].ksk && !k[0].zsk);
        assert_int_equal(k[0].algorithm, 13);
        assert_int_equal(k[1].tag, 5210);
        assert_true(k[1].zsk && !k[1].ksk);
        assert_int_equal(k[1].publish, 1796648412);
        assert_int_equal(k[1].active, 1796652012);
        sg_ks_import_times t;
        sg_ks_knot_times(&k[1], &t);
        assert_true(t.known);
        assert_int_equal(t.publish, 1796648412);
        assert_int_equal(t.active, 1796652012);
        assert_int_equal(t.ds_submitted, 0);
        /* a KSK whose submission Knot confirmed later than ready: DS submitted, then seen */
        k[0].active = k[0].ready + 3600;
        sg_ks_knot_times(&k[0], &t);
        assert_int_equal(t.active, 1796644812);
        assert_int_equal(t.ds_submitted, 1796644812);
        assert_int_equal(t.ds_seen, 1796644812 + 3600);
        free(k);
    }
    sg_ks_knot_key *k;
    size_t n;
    assert_int_equal(sg_ks_knot_list_parse("2026-12-07T12:00:00+0100 oops\n", &k, &n), SG_ESYNTAX);
    assert_int_equal(sg_ks_knot_list_parse(
        "aefcaf132973af00638746cef7cce08d12a9d1ee ksk=no zsk=yes tag=1 algorithm=13 "
        "publish=2026-12-07T12:00:00+0100 active=2026-12-07T11:00:00Z\n", &k, &n), 0);
    assert_int_equal(k[0].publish, 1796641200);
    assert_int_equal(k[0].active, 1796641200);
    free(k);
}

/* `pdnsutil list-keys pdns.test` of PowerDNS 4.7: an active published CSK and an inactive,
 * unpublished one. */
static void test_pdns_list(void **state)
{
    (void)state;
    static const char text[] =
        "Zone                          Type Act Pub Size    Algorithm       ID   Location    Keytag\n"
        "------------------------------------------------------------------------------------------\n"
        "pdns.test                     CSK  Act Pub 256     ECDSAP256SHA256 1    cryptokeys  28346\n"
        "pdns.test                     CSK          256     ECDSAP256SHA256 2    cryptokeys  30748\n"
        "other.test                    ZSK  Act Pub 256     ECDSAP256SHA256 3    cryptokeys  1234\n";
    sg_ks_pdns_key *k;
    size_t n;
    assert_int_equal(sg_ks_pdns_list_parse(text, "pdns.test.", &k, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(k[0].id, 1);
    assert_int_equal(k[0].tag, 28346);
    assert_int_equal(k[0].role, SG_KS_ROLE_CSK);
    assert_true(k[0].active && k[0].published);
    assert_int_equal(k[1].id, 2);
    assert_int_equal(k[1].tag, 30748);
    assert_false(k[1].active || k[1].published);
    sg_ks_import_times t;
    sg_ks_pdns_times(&k[0], 500, &t);
    assert_true(t.known && t.publish == 500 && t.active == 500);
    sg_ks_pdns_times(&k[1], 500, &t);
    assert_true(t.known && !t.publish && !t.active);
    free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rfc_keys, setup, teardown),
        cmocka_unit_test(test_bind_state),
        cmocka_unit_test(test_knot_list),
        cmocka_unit_test(test_pdns_list),
        cmocka_unit_test_setup_teardown(test_public_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dnssec_keygen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
