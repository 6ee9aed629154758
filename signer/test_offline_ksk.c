/* SPDX-License-Identifier: MIT */
/* Offline KSK: a request written online, signed in a second keystore that holds the KSK,
 * checked and imported online; the key set then serves the bundle of the slot current at
 * each time. Tampered, unrequested and misaddressed responses are refused naming what. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/offline_ksk.h"
#include "signer/keyset.h"
#include "common/errors.h"
#include "common/log.h"
#include "keystore/rollover.h"
#include "keystore/skr.h"
#include "tests/support/temp_keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1800000000LL
#define DAY 86400

static char g_don[64], g_doff[64];
static sg_keystore *g_on, *g_off;

static void add_zone(const char *zone)
{
    assert_int_equal(sg_ks_zone_add(g_on, zone, "split", T0 - 100), 0);
    assert_int_equal(sg_ks_zone_add(g_off, zone, "split", T0 - 100), 0);
    sg_ks_key k;
    assert_int_equal(sg_ks_key_generate(g_off, zone, SG_KS_ROLE_KSK, 0, 0, T0 - 100, &k), 0);
    k.publish = k.active = T0 - 100;
    k.state = SG_KS_ACTIVE;
    assert_int_equal(sg_ks_key_update(g_off, &k, "test", T0 - 100), 0);
    uint8_t rd[SG_KS_RDATA_MAX];
    size_t len;
    assert_int_equal(sg_ks_key_dnskey_rdata(&k, rd, sizeof rd, &len), 0);
    assert_int_equal(sg_ks_key_import_public(g_on, zone, rd, len, SG_KS_ROLE_KSK, NULL, T0 - 100, NULL), 0);
}

static int setup(void **st)
{
    (void)st;
    sg_log_set_level(SG_LOG_SILENT);
    if (sg_test_keystore_open("ksr-on", g_don, sizeof g_don, &g_on) ||
        sg_test_keystore_open("ksr-off", g_doff, sizeof g_doff, &g_off))
        return -1;
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, "split");
    p.csk = 0;
    p.zsk_lifetime = 30 * DAY;
    if (sg_ks_policy_add(g_on, &p, T0 - 200) || sg_ks_policy_add(g_off, &p, T0 - 200))
        return -1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    return sg_test_keystore_close(g_on, g_don) | sg_test_keystore_close(g_off, g_doff);
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++)
        n++;
    return n;
}

/* request 90 days from T0, signed offline; the response text */
static char *round_trip(const char *zone)
{
    char why[512] = "", *ksr = NULL, *skr = NULL;
    assert_int_equal(sg_ksr_generate(g_on, zone, T0, T0 + 90 * DAY, T0, &ksr, why, sizeof why), 0);
    assert_int_equal(sg_ksr_sign(g_off, zone, ksr, &skr, why, sizeof why), 0);
    assert_int_equal(count(skr, ";; slot"), count(ksr, ";; slot"));
    free(ksr);
    return skr;
}

static void test_request_signed_imported_served(void **st)
{
    (void)st;
    add_zone("a.test");
    char why[512] = "";
    char *ksr = NULL;
    assert_int_equal(sg_ksr_generate(g_on, "a.test", T0, T0 + 90 * DAY, T0, &ksr, why, sizeof why), 0);
    assert_non_null(strstr(ksr, ";; signet key signing request 1\n;; zone a.test.\n;; slot 20270115080000 "));
    /* lifetime 30 d over 90 d: the first ZSK and two successors, each published
     * Ipub before its predecessor retires and removed once its signatures are gone */
    sg_ks_key *keys = NULL;
    size_t n = 0;
    assert_int_equal(sg_ks_key_list(g_on, "a.test", &keys, &n), 0);
    int zsks = 0;
    for (size_t i = 0; i < n; i++)
        if (keys[i].role == SG_KS_ROLE_ZSK) {
            zsks++;
            assert_true(keys[i].publish > 0 && keys[i].active >= keys[i].publish);
            if (keys[i].retire)
                assert_true(keys[i].remove > keys[i].retire);
        }
    free(keys);
    assert_int_equal(zsks, 3);
    assert_int_equal(sg_ks_skr_offline(g_on, "a.test"), 1);
    char *skr = NULL;
    assert_int_equal(sg_ksr_sign(g_off, "a.test", ksr, &skr, why, sizeof why), 0);
    size_t slots = count(ksr, ";; slot");
    assert_true(slots >= 7); /* 3 rollovers x (publish, remove) + validity splits */
    assert_int_equal(count(skr, "\tRRSIG\tDNSKEY "), slots);
    assert_int_equal(count(skr, "\tRRSIG\tCDS "), slots);
    size_t got = 0;
    assert_int_equal(sg_skr_import(g_on, "a.test", skr, T0, &got, why, sizeof why), 0);
    assert_int_equal(got, slots);
    int64_t until;
    int gaps;
    assert_int_equal(sg_ks_skr_valid_until(g_on, "a.test", T0, &until, &gaps), 0);
    assert_int_equal(until, T0 + 90 * DAY);
    assert_int_equal(gaps, 0);

    /* served: at each time the DNSKEY RRset holds the KSK and the ZSKs the plan
     * publishes then, with the offline signature; the ZSK that signs is in it */
    for (int64_t t = T0; t < T0 + 90 * DAY; t += 5 * DAY + 3600) {
        sg_keyset *k = NULL;
        int64_t next;
        assert_int_equal(sg_keyset_load_next(g_on, "a.test", t, 0, &k, &next), 0);
        assert_true(k->presigned);
        assert_int_equal(k->nksk, 0);
        assert_int_equal(k->nzsk, 1);
        assert_int_equal(k->presigned_sig[0].count, 1);
        assert_true(k->dnskey.count >= 2 && k->dnskey.count <= 3);
        assert_int_equal(k->cds.count, 1);
        assert_true(next > t && next <= k->skr_until);
        assert_non_null(sg_keyset_presigned(k, &k->dnskey));
        sg_keyset_free(k);
    }
    /* past the end: the last bundle, stale */
    sg_keyset *k = NULL;
    assert_int_equal(sg_keyset_load(g_on, "a.test", T0 + 91 * DAY, 0, &k), 0);
    assert_true(k->presigned && k->skr_until == T0 + 90 * DAY);
    sg_keyset_free(k);
    free(ksr);
    free(skr);
}

static void test_engine_leaves_offline_zone_alone(void **st)
{
    (void)st;
    add_zone("e.test");
    char *skr = round_trip("e.test");
    free(skr);
    sg_ks_key *keys = NULL;
    size_t n = 0, m = 0;
    assert_int_equal(sg_ks_key_list(g_on, "e.test", &keys, &n), 0);
    free(keys);
    /* the state people read follows the planned points, journalled: 45 days in, the
     * first ZSK is gone, the second signs, the third is still to come */
    sg_roll_event ev;
    assert_int_equal(sg_roll_step(g_on, "e.test", NULL, T0 + 45 * DAY, &ev), 0);
    assert_int_equal(ev.action, SG_ROLL_NONE);
    assert_int_equal(sg_ks_key_list(g_on, "e.test", &keys, &m), 0);
    int seen[6] = { 0 };
    for (size_t i = 0; i < m; i++)
        if (keys[i].role == SG_KS_ROLE_ZSK)
            seen[keys[i].state]++;
    free(keys);
    assert_int_equal(m, n);
    assert_int_equal(seen[SG_KS_REMOVED], 1);
    assert_int_equal(seen[SG_KS_ACTIVE], 1);
    assert_int_equal(seen[SG_KS_GENERATED], 1);
    /* far past the plan, with no KSK private key here: no KSK made, no ZSK rolled */
    assert_int_equal(sg_roll_step(g_on, "e.test", NULL, T0 + 200 * DAY, &ev), 0);
    assert_int_equal(ev.action, SG_ROLL_NONE);
    assert_int_equal(sg_ks_key_list(g_on, "e.test", &keys, &m), 0);
    free(keys);
    assert_int_equal(m, n);
}

static void tamper(char *text, const char *what)
{
    char *l = strstr(text, what);
    assert_non_null(l);
    char *e = strchr(l, '\n');
    assert_non_null(e);
    e[-6] = e[-6] == 'A' ? 'B' : 'A'; /* inside the signature, not its padding bits */
}

static void test_tampered_refused_naming_the_record(void **st)
{
    (void)st;
    add_zone("t.test");
    char *skr = round_trip("t.test");
    char why[512] = "";
    char *bad = strdup(skr);
    tamper(bad, "\tRRSIG\tCDS ");
    assert_int_equal(sg_skr_import(g_on, "t.test", bad, T0, NULL, why, sizeof why), SG_EINVAL);
    assert_non_null(strstr(why, "RRSIG refused"));
    assert_non_null(strstr(why, "RRSIG\tCDS 13 2 3600"));
    int64_t until;
    assert_int_equal(sg_ks_skr_valid_until(g_on, "t.test", T0, &until, NULL), 0);
    assert_int_equal(until, 0); /* nothing stored */
    free(bad);

    /* a changed ZSK: not the one requested, named */
    bad = strdup(skr);
    char *z = strstr(bad, "\tDNSKEY\t256 3 13 ");
    assert_non_null(z);
    z += strlen("\tDNSKEY\t256 3 13 ") + 5;
    *z = *z == 'A' ? 'B' : 'A';
    why[0] = 0;
    assert_int_equal(sg_skr_import(g_on, "t.test", bad, T0, NULL, why, sizeof why), SG_EINVAL);
    assert_non_null(strstr(why, "DNSKEY neither requested nor a KSK"));
    free(bad);

    /* a slot never requested */
    bad = strdup(skr);
    char *s = strstr(bad, ";; slot 2027");
    assert_non_null(s);
    s[strlen(";; slot 2027")] = '9'; /* another month */
    why[0] = 0;
    int rc = sg_skr_import(g_on, "t.test", bad, T0, NULL, why, sizeof why);
    assert_int_equal(rc, SG_EINVAL);
    assert_true(strstr(why, "was not requested") || strstr(why, "slot is"));
    free(bad);

    /* another zone's response, and not a response at all */
    why[0] = 0;
    assert_int_equal(sg_skr_import(g_on, "a2.test", skr, T0, NULL, why, sizeof why), SG_EINVAL);
    assert_non_null(strstr(why, "is for t.test."));
    assert_int_equal(sg_skr_import(g_on, "t.test", "t.test. 60 IN A 192.0.2.1\n", T0, NULL, why,
                                   sizeof why), SG_EINVAL);
    assert_non_null(strstr(why, "line 1: not a signed key response"));

    /* untouched, it goes in */
    assert_int_equal(sg_skr_import(g_on, "t.test", skr, T0, NULL, why, sizeof why), 0);
    free(skr);
}

static void test_offline_side_needs_its_ksk(void **st)
{
    (void)st;
    add_zone("k.test");
    char why[512] = "", *ksr = NULL, *skr = NULL;
    assert_int_equal(sg_ksr_generate(g_on, "k.test", T0, T0 + 10 * DAY, T0, &ksr, why, sizeof why), 0);
    /* signed for the wrong zone, or in a keystore without that zone */
    assert_int_equal(sg_ksr_sign(g_off, "other.test", ksr, &skr, why, sizeof why), SG_EINVAL);
    assert_non_null(strstr(why, "the request is for k.test."));
    assert_int_not_equal(sg_ksr_sign(g_on, "k.test", ksr, &skr, why, sizeof why), 0);
    assert_non_null(strstr(why, "no KSK of k.test. with its private key"));
    assert_null(skr);
    free(ksr);
}

static void test_missing_bundle_is_a_gap(void **st)
{
    (void)st;
    add_zone("g.test");
    char *skr = round_trip("g.test");
    /* drop the second slot */
    char *s1 = strstr(skr, ";; slot");
    char *s2 = strstr(s1 + 1, ";; slot");
    char *s3 = strstr(s2 + 1, ";; slot");
    assert_non_null(s3);
    memmove(s2, s3, strlen(s3) + 1);
    char why[512];
    size_t got = 0;
    assert_int_equal(sg_skr_import(g_on, "g.test", skr, T0, &got, why, sizeof why), 0);
    int64_t until;
    int gaps;
    assert_int_equal(sg_ks_skr_valid_until(g_on, "g.test", T0, &until, &gaps), 0);
    assert_int_equal(gaps, 1);
    free(skr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_signed_imported_served),
        cmocka_unit_test(test_engine_leaves_offline_zone_alone),
        cmocka_unit_test(test_tampered_refused_naming_the_record),
        cmocka_unit_test(test_offline_side_needs_its_ksk),
        cmocka_unit_test(test_missing_bundle_is_a_gap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
