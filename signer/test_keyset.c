/* SPDX-License-Identifier: MIT */
/* The key set snapshot follows the keys' timing points: DNSKEY membership, who signs, and
 * the CDS/CDNSKEY set - including a double-DS successor whose DS goes to the parent
 * before its DNSKEY is published (integ.rollover scenario H found it missing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/keyset.h"
#include "common/log.h"
#include "tests/support/temp_keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char g_dir[64];
static sg_keystore *g_ks;

static int setup(void **st)
{
    (void)st;
    sg_log_set_level(SG_LOG_WARN);
    return sg_test_keystore_open("keyset", g_dir, sizeof g_dir, &g_ks);
}

static int teardown(void **st)
{
    (void)st;
    return sg_test_keystore_close(g_ks, g_dir);
}

static sg_keyset *load(int64_t now)
{
    sg_keyset *k = NULL;
    assert_int_equal(sg_keyset_load(g_ks, "dds.test.", now, 0, &k), 0);
    return k;
}

static int find_key(uint16_t tag, enum sg_ks_role role, sg_ks_key *out)
{
    sg_ks_key *keys = NULL;
    size_t n = 0;
    assert_int_equal(sg_ks_key_list(g_ks, "dds.test.", &keys, &n), 0);
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if ((tag && keys[i].tag == tag) || (!tag && keys[i].role == role && !found)) {
            *out = keys[i];
            found = 1;
        }
    free(keys);
    return found;
}

static void test_double_ds_membership(void **st)
{
    (void)st;
    int64_t t = 1800000000;
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, "dds");
    p.csk = 0;
    p.ksk_double_ds = 1;
    assert_int_equal(sg_ks_policy_add(g_ks, &p, t), 0);
    assert_int_equal(sg_keyset_ensure(g_ks, "dds.test.", "dds", t), 0);
    sg_ks_key old;
    assert_true(find_key(0, SG_KS_ROLE_KSK, &old));
    old.ds_submitted = old.ds_seen = t;
    assert_int_equal(sg_ks_key_update(g_ks, &old, "test: DS at the parent", t), 0);

    sg_keyset *k = load(t + 10);
    assert_int_equal(k->dnskey.count, 2);   /* KSK + ZSK */
    assert_int_equal(k->cds.count, 1);
    assert_int_equal(k->cdnskey.count, 1);
    sg_keyset_free(k);

    /* the successor: DS submitted, not published, not signing */
    sg_ks_key nk;
    assert_int_equal(sg_ks_key_generate(g_ks, "dds.test.", SG_KS_ROLE_KSK, 0, 0, t + 20, &nk), 0);
    nk.ds_submitted = t + 20;
    assert_int_equal(sg_ks_key_update(g_ks, &nk, "test: pre-DS", t + 20), 0);
    k = load(t + 21);
    assert_int_equal(k->dnskey.count, 2);   /* not published yet */
    assert_int_equal(k->nksk, 1);           /* nor signing */
    assert_int_equal(k->cds.count, 2);      /* but its DS is asked for */
    assert_int_equal(k->cdnskey.count, 2);
    uint64_t fp_pre = k->fingerprint;
    sg_keyset_free(k);

    /* the swap: new published and signing, old out of DNSKEY but still signing and in the
     * DS set until its DS is withdrawn */
    assert_true(find_key(nk.tag, 0, &nk));
    assert_true(find_key(old.tag, 0, &old));
    nk.ds_seen = t + 25;
    nk.publish = nk.active = t + 30;
    old.remove = t + 30;
    assert_int_equal(sg_ks_key_update(g_ks, &nk, "test: swap", t + 30), 0);
    assert_int_equal(sg_ks_key_update(g_ks, &old, "test: swap", t + 30), 0);
    k = load(t + 31);
    assert_int_not_equal(k->fingerprint, fp_pre);
    assert_int_equal(k->dnskey.count, 2);   /* new KSK + ZSK: never both KSKs */
    assert_int_equal(k->nksk, 2);
    assert_int_equal(k->cds.count, 2);
    sg_keyset_free(k);

    /* old DS out: the old key retires */
    old.ds_withdrawn = old.retire = t + 40;
    assert_int_equal(sg_ks_key_update(g_ks, &old, "test: old DS out", t + 40), 0);
    k = load(t + 41);
    assert_int_equal(k->dnskey.count, 2);
    assert_int_equal(k->nksk, 1);
    assert_int_equal(k->cds.count, 1);
    assert_int_equal(k->cdnskey.count, 1);
    sg_keyset_free(k);
}


/* A public-only key (another signer's) is in the DNSKEY RRset and never signs; the zone's
 * own key still does. */
static void test_public_only(void **st)
{
    (void)st;
    const char *z = "pub.test.";
    assert_int_equal(sg_ks_zone_add(g_ks, z, "default", 100), 0);
    sg_ks_key own;
    assert_int_equal(sg_ks_key_generate(g_ks, z, SG_KS_ROLE_CSK, 0, 0, 100, &own), 0);
    own.publish = own.active = 100;
    own.state = SG_KS_ACTIVE;
    assert_int_equal(sg_ks_key_update(g_ks, &own, "test", 100), 0);
    EVP_PKEY *pk = NULL;
    uint8_t pub[SG_KS_PUBKEY_MAX], rd[SG_KS_RDATA_MAX];
    size_t pl, rl;
    assert_int_equal(sg_ks_pkey_generate(SG_KS_ALG_ECDSAP256SHA256, 0, &pk), 0);
    assert_int_equal(sg_ks_pkey_to_dnskey(pk, SG_KS_ALG_ECDSAP256SHA256, pub, sizeof pub, &pl), 0);
    EVP_PKEY_free(pk);
    assert_int_equal(sg_ks_dnskey_rdata(257, SG_KS_ALG_ECDSAP256SHA256, pub, pl, rd, sizeof rd, &rl), 0);
    /* its source said it signs there: here it still does not */
    sg_ks_import_times t = { .known = 1, .publish = 100, .active = 100 };
    sg_ks_key other;
    assert_int_equal(sg_ks_key_import_public(g_ks, z, rd, rl, -1, &t, 100, &other), 0);
    sg_keyset *k = NULL;
    assert_int_equal(sg_keyset_load(g_ks, z, 200, 0, &k), 0);
    assert_int_equal(k->dnskey.count, 2);
    assert_int_equal(k->nksk, 1);
    assert_int_equal(k->nzsk, 1);
    assert_int_equal(k->ksk[0].key_tag, own.tag);
    assert_int_equal(k->zsk[0].key_tag, own.tag);
    sg_keyset_free(k);
    /* the zone has a key of its own that signs: nothing to generate */
    assert_int_equal(sg_keyset_ensure(g_ks, z, "default", 200), 0);
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    assert_int_equal(n, 2);
    free(keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_ds_membership),
        cmocka_unit_test(test_public_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
