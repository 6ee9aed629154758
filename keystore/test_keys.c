/* SPDX-License-Identifier: MIT */
/* Key generation for every algorithm, private key loading, timings, states and deletion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keystore/internal.h"
#include "tests/support/temp_keystore.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static sg_keystore *ks;

static int setup(void **state)
{
    (void)state;
    if (sg_test_keystore_open("keys", dir, sizeof dir, &ks) ||
        sg_ks_zone_add(ks, "example.test", NULL, 1000))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return sg_test_keystore_close(ks, dir);
}

static const EVP_MD *md_for(uint8_t alg)
{
    switch (alg) {
    case SG_KS_ALG_RSASHA256:
    case SG_KS_ALG_ECDSAP256SHA256: return EVP_sha256();
    case SG_KS_ALG_RSASHA512: return EVP_sha512();
    case SG_KS_ALG_ECDSAP384SHA384: return EVP_sha384();
    }
    return NULL;  /* EdDSA hashes internally */
}

/* A signature made with the stored private key verifies with the published DNSKEY. */
static void test_generate_all_algorithms(void **state)
{
    (void)state;
    static const struct { uint8_t alg; uint16_t bits, want_bits, pub_len; } algs[] = {
        { SG_KS_ALG_RSASHA256, 2048, 2048, 4 + 256 }, { SG_KS_ALG_RSASHA512, 2048, 2048, 4 + 256 },
        { SG_KS_ALG_ECDSAP256SHA256, 0, 256, 64 },   { SG_KS_ALG_ECDSAP384SHA384, 0, 384, 96 },
        { SG_KS_ALG_ED25519, 0, 256, 32 },           { SG_KS_ALG_ED448, 0, 456, 57 },
    };
    static const unsigned char msg[] = "the data an RRSIG covers";
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        sg_ks_key k;
        assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_ZSK, algs[i].alg,
                                            algs[i].bits, 2000, &k), 0);
        assert_int_equal(k.algorithm, algs[i].alg);
        assert_int_equal(k.bits, algs[i].want_bits);
        assert_int_equal(k.pubkey_len, algs[i].pub_len);
        assert_int_equal(k.flags, 256);
        assert_int_equal(k.state, SG_KS_GENERATED);
        uint8_t rd[SG_KS_RDATA_MAX];
        size_t rdlen;
        assert_int_equal(sg_ks_key_dnskey_rdata(&k, rd, sizeof rd, &rdlen), 0);
        assert_int_equal(sg_ks_key_tag(rd, rdlen), k.tag);

        sg_ks_key back;
        assert_int_equal(sg_ks_key_get(ks, k.id, &back), 0);
        assert_int_equal(back.tag, k.tag);
        assert_int_equal(back.pubkey_len, k.pubkey_len);
        assert_memory_equal(back.pubkey, k.pubkey, k.pubkey_len);
        assert_string_equal(back.storage, "pem");
        assert_int_equal(back.created, 2000);

        EVP_PKEY *priv = NULL, *pub = NULL;
        assert_int_equal(sg_ks_key_load_private(ks, k.id, &priv), 0);
        assert_int_equal(sg_ks_pkey_from_dnskey(k.algorithm, back.pubkey, back.pubkey_len, &pub), 0);
        unsigned char sig[1024];
        size_t siglen = sizeof sig;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit(c, NULL, md_for(k.algorithm), NULL, priv), 1);
        assert_int_equal(EVP_DigestSign(c, sig, &siglen, msg, sizeof msg), 1);
        EVP_MD_CTX_free(c);
        c = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit(c, NULL, md_for(k.algorithm), NULL, pub), 1);
        assert_int_equal(EVP_DigestVerify(c, sig, siglen, msg, sizeof msg), 1);
        EVP_MD_CTX_free(c);
        /* ...and not with some other key. */
        if (i > 0) {
            EVP_PKEY *other = NULL;
            sg_ks_key *list;
            size_t n;
            assert_int_equal(sg_ks_key_list(ks, "example.test.", &list, &n), 0);
            assert_int_equal(n, i + 1);
            if (list[0].algorithm == k.algorithm) {
                assert_int_equal(sg_ks_pkey_from_dnskey(k.algorithm, list[0].pubkey,
                                                        list[0].pubkey_len, &other), 0);
                c = EVP_MD_CTX_new();
                EVP_DigestVerifyInit(c, NULL, md_for(k.algorithm), NULL, other);
                assert_int_not_equal(EVP_DigestVerify(c, sig, siglen, msg, sizeof msg), 1);
                EVP_MD_CTX_free(c);
                EVP_PKEY_free(other);
            }
            free(list);
        }
        EVP_PKEY_free(priv);
        EVP_PKEY_free(pub);
    }
    /* Policy defaults: the default policy's algorithm, and KSK/CSK get the SEP flag. */
    sg_ks_key k;
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_CSK, 0, 0, 2001, &k), 0);
    assert_int_equal(k.algorithm, SG_KS_ALG_ECDSAP256SHA256);
    assert_int_equal(k.flags, 257);
    assert_int_equal(sg_ks_key_generate(ks, "nowhere.test", SG_KS_ROLE_CSK, 0, 0, 2001, &k),
                     SG_ENOTFOUND);
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_CSK, 5, 0, 2001, &k),
                     SG_EINVAL);
}

static void test_tags_unique(void **state)
{
    (void)state;
    for (int i = 0; i < 40; i++)
        assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_ZSK,
                                            SG_KS_ALG_ED25519, 0, 3000 + i, NULL), 0);
    sg_ks_key *list;
    size_t n;
    assert_int_equal(sg_ks_key_list(ks, "example.test", &list, &n), 0);
    assert_int_equal(n, 40);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(list[i].tag, list[j].tag);
    free(list);
    /* Every key has its "generated" event, in the same transaction as its row. */
    sg_ks_event *ev;
    assert_int_equal(sg_ks_event_list(ks, "example.test.", &ev, &n), 0);
    size_t gen = 0;
    for (size_t i = 0; i < n; i++)
        gen += !strcmp(ev[i].new_state, "generated") && ev[i].key_id > 0;
    assert_int_equal(gen, 40);
    free(ev);
}

/* Stepping through a key's life by its timing points, without sleeping. */
static void test_state_at(void **state)
{
    (void)state;
    sg_ks_key k;
    memset(&k, 0, sizeof k);
    assert_int_equal(sg_ks_key_state_at(&k, 5000), SG_KS_GENERATED);
    k.publish = 100;
    k.active = 200;
    k.retire = 300;
    k.remove = 400;
    assert_int_equal(sg_ks_key_state_at(&k, 99), SG_KS_GENERATED);
    assert_int_equal(sg_ks_key_state_at(&k, 100), SG_KS_PUBLISHED);
    assert_int_equal(sg_ks_key_state_at(&k, 250), SG_KS_ACTIVE);
    assert_int_equal(sg_ks_key_state_at(&k, 300), SG_KS_RETIRED);
    assert_int_equal(sg_ks_key_state_at(&k, 401), SG_KS_REMOVED);
}

/* A rollover step: two keys change together with their events, or not at all. */
static void test_update_transaction(void **state)
{
    (void)state;
    sg_ks_key a, b;
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_ZSK, 13, 0, 10, &a), 0);
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_ZSK, 13, 0, 10, &b), 0);
    a.state = SG_KS_ACTIVE;
    a.publish = a.active = 20;
    assert_int_equal(sg_ks_key_update(ks, &a, "initial", 20), 0);

    assert_int_equal(sg_ks_begin(ks), 0);
    a.state = SG_KS_RETIRED;
    a.retire = 30;
    b.state = SG_KS_ACTIVE;
    b.publish = 25;
    b.active = 30;
    assert_int_equal(sg_ks_key_update(ks, &a, "zsk roll", 30), 0);
    assert_int_equal(sg_ks_key_update(ks, &b, "zsk roll", 30), 0);
    sg_ks_rollback(ks);
    sg_ks_key x;
    assert_int_equal(sg_ks_key_get(ks, a.id, &x), 0);
    assert_int_equal(x.state, SG_KS_ACTIVE);
    assert_int_equal(x.retire, 0);
    assert_int_equal(sg_ks_key_get(ks, b.id, &x), 0);
    assert_int_equal(x.state, SG_KS_GENERATED);

    assert_int_equal(sg_ks_begin(ks), 0);
    assert_int_equal(sg_ks_key_update(ks, &a, "zsk roll", 30), 0);
    assert_int_equal(sg_ks_key_update(ks, &b, "zsk roll", 30), 0);
    assert_int_equal(sg_ks_commit(ks), 0);
    assert_int_equal(sg_ks_key_get(ks, a.id, &x), 0);
    assert_int_equal(x.state, SG_KS_RETIRED);
    assert_int_equal(x.retire, 30);
    assert_int_equal(sg_ks_key_get(ks, b.id, &x), 0);
    assert_int_equal(x.state, SG_KS_ACTIVE);
    assert_int_equal(x.active, 30);

    sg_ks_event *ev;
    size_t n, rolls = 0;
    assert_int_equal(sg_ks_event_list(ks, "example.test.", &ev, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ev[i].reason, "zsk roll")) {
            rolls++;
            assert_string_equal(ev[i].old_state, ev[i].key_id == a.id ? "active" : "generated");
        }
    assert_int_equal(rolls, 2);
    free(ev);
}

static void test_delete_and_export(void **state)
{
    (void)state;
    sg_ks_key k;
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_KSK, 15, 0, 10, &k), 0);
    char *pem = NULL;
    size_t len = 0;
    assert_int_equal(sg_ks_key_export_private(ks, k.id, &pem, &len), 0);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    sg_secure_free(pem, len);

    /* A generated key whose DS went to the parent must stay. */
    k.ds_submitted = 11;
    assert_int_equal(sg_ks_key_update(ks, &k, "ds submitted", 11), 0);
    assert_int_equal(sg_ks_key_delete(ks, k.id, 0, 12), SG_KS_EINUSE);
    assert_non_null(strstr(sg_ks_errmsg(ks), "DS"));
    k.ds_submitted = 0;
    k.state = SG_KS_PUBLISHED;
    assert_int_equal(sg_ks_key_update(ks, &k, "published", 12), 0);
    assert_int_equal(sg_ks_key_delete(ks, k.id, 0, 12), SG_KS_EINUSE);
    assert_int_equal(sg_ks_zone_remove(ks, "example.test", 0, 12), SG_KS_EINUSE);
    k.state = SG_KS_REMOVED;
    assert_int_equal(sg_ks_key_update(ks, &k, "removed", 13), 0);
    assert_int_equal(sg_ks_key_delete(ks, k.id, 0, 14), 0);
    assert_int_equal(sg_ks_key_get(ks, k.id, &k), SG_ENOTFOUND);
    EVP_PKEY *p = NULL;
    assert_int_equal(sg_ks_key_load_private(ks, k.id, &p), SG_ENOTFOUND);

    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_ZSK, 13, 0, 15, &k), 0);
    k.state = SG_KS_ACTIVE;
    assert_int_equal(sg_ks_key_update(ks, &k, "active", 16), 0);
    assert_int_equal(sg_ks_key_delete(ks, k.id, 1, 17), 0);
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_ZSK, 13, 0, 15, &k), 0);
    k.state = SG_KS_ACTIVE;
    assert_int_equal(sg_ks_key_update(ks, &k, "active", 16), 0);
    assert_int_equal(sg_ks_zone_remove(ks, "example.test", 1, 18), 0);
    sg_ks_key *list;
    size_t n;
    assert_int_equal(sg_ks_key_list(ks, NULL, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
}

/* VM steps of the kept statement whose SQL holds `needle` (0: none kept) */
static long long steps_of(const char *needle)
{
    for (int i = 0; i < KS_STMT_CACHE; i++)
        if (ks->stmts[i].st && strstr(sqlite3_sql(ks->stmts[i].st), needle))
            return sqlite3_stmt_status(ks->stmts[i].st, SQLITE_STMTSTATUS_VM_STEP, 0);
    return 0;
}

/* One zone's keys and events cost the same with 10 zones or 1,000: the lookups go through
 * the name's index ("?1 IS NULL OR name = ?1" scanned every zone, and a start of 100,000
 * zones took 22 minutes). Counted in SQLite's own VM steps, not timed; the statement is
 * kept by the handle between calls, so its counter is there to read. */
static void one_zone_cost(long long *keys, long long *events)
{
    sg_ks_key *list = NULL;
    sg_ks_event *ev = NULL;
    size_t n = 0;
    long long k0 = steps_of("z.name = ?1 ORDER BY"), e0 = steps_of("zone = ?1 ORDER BY time");
    assert_int_equal(sg_ks_key_list(ks, "example.test", &list, &n), 0);
    assert_int_equal(n, 1);
    free(list);
    assert_int_equal(sg_ks_event_list(ks, "example.test", &ev, &n), 0);
    assert_true(n >= 1);
    free(ev);
    *keys = steps_of("z.name = ?1 ORDER BY") - k0;
    *events = steps_of("zone = ?1 ORDER BY time") - e0;
    assert_true(*keys > 0);
    assert_true(*events > 0);
}

/* zones a<from>.test .. a<to-1>.test, each with a key and an event */
static void add_zones(int from, int to)
{
    sg_ks_key k;
    for (int i = from; i < to; i++) {
        char z[64];
        snprintf(z, sizeof z, "a%d.test", i);
        assert_int_equal(sg_ks_zone_add(ks, z, NULL, 10), 0);
        assert_int_equal(sg_ks_key_generate(ks, z, SG_KS_ROLE_CSK, 13, 0, 10, &k), 0);
        assert_int_equal(sg_ks_event_add(ks, 11, z, k.id, "", "", "test"), 0);
    }
}

static void test_one_zone_lookup_indexed(void **state)
{
    (void)state;
    sg_ks_key k;
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_CSK, 13, 0, 10, &k), 0);
    assert_int_equal(sg_ks_event_add(ks, 11, "example.test", k.id, "", "", "test"), 0);
    add_zones(0, 10);
    long long keys_few, events_few;
    one_zone_cost(&keys_few, &events_few);
    assert_int_equal(sg_ks_begin(ks), 0);
    add_zones(10, 1000);
    assert_int_equal(sg_ks_commit(ks), 0);
    long long keys_many, events_many;
    one_zone_cost(&keys_many, &events_many);
    /* the same rows read: a few steps more at most for a deeper B-tree */
    assert_true(keys_many <= keys_few + 8);
    assert_true(events_many <= events_few + 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_generate_all_algorithms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tags_unique, setup, teardown),
        cmocka_unit_test(test_state_at),
        cmocka_unit_test_setup_teardown(test_update_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_zone_lookup_indexed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
