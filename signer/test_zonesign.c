/* SPDX-License-Identifier: MIT */
/* The whole signed zone, checked by an independent verifier (ldns-verify-zone) for NSEC,
 * NSEC3 and a compact-denial policy (which gets a real NSEC chain for transfers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signer/zonesign.h"
#include "common/log.h"
#include "tests/support/fixture_zone.h"
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
    sg_log_set_level(SG_LOG_WARN);
    if (sg_test_keystore_open("zonesign", g_dir, sizeof g_dir, &g_ks))
        return -1;
    return sg_test_zone_setup(st);
}

static int teardown(void **st)
{
    sg_test_zone_teardown(st);
    return sg_test_keystore_close(g_ks, g_dir);
}

static void sign_and_verify(enum sg_ks_denial denial, int csk, const char *label)
{
    int64_t now = (int64_t)time(NULL);
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, label);
    p.denial = denial;
    p.csk = csk;
    assert_int_equal(sg_ks_policy_add(g_ks, &p, now), 0);
    char zone[64];
    snprintf(zone, sizeof zone, "example.test.");
    assert_int_equal(sg_keyset_ensure(g_ks, zone, label, now), 0);
    sg_keyset *k = NULL;
    assert_int_equal(sg_keyset_load(g_ks, zone, now, 0, &k), 0);
    assert_true(k->nzsk >= 1 && k->nksk >= 1);
    char path[128];
    snprintf(path, sizeof path, "%s/%s.signed", g_dir, label);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(sg_zonesign_write(sg_test_zone, k, (uint32_t)now, f), 0);
    fclose(f);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ldns-verify-zone -V 1 %s", path);
    int rc = system(cmd);
    if (rc != 0)
        fail_msg("ldns-verify-zone rejected the %s zone (%s)", label, path);
    /* the chain type is the one asked for */
    snprintf(cmd, sizeof cmd, "grep -q 'IN\tNSEC3\t' %s", path);
    assert_int_equal(system(cmd) == 0, denial == SG_KS_DENIAL_NSEC3);
    snprintf(cmd, sizeof cmd, "grep -q 'IN\tNSEC\t' %s", path);
    assert_int_equal(system(cmd) == 0, denial != SG_KS_DENIAL_NSEC3);
    /* and it does reject a changed record: the check has teeth */
    snprintf(cmd, sizeof cmd, "sed -i 's/127\\.0\\.0\\.14$/127.0.0.99/' %s && ! ldns-verify-zone %s >/dev/null 2>&1", path, path);
    assert_int_equal(system(cmd), 0);
    sg_keyset_free(k);
    /* the next policy starts with fresh keys */
    assert_int_equal(sg_ks_zone_remove(g_ks, zone, 1, now), 0);
}

static void test_nsec(void **st) { (void)st; sign_and_verify(SG_KS_DENIAL_NSEC, 1, "pnsec"); }
static void test_nsec3(void **st) { (void)st; sign_and_verify(SG_KS_DENIAL_NSEC3, 0, "pnsec3"); }
static void test_compact(void **st) { (void)st; sign_and_verify(SG_KS_DENIAL_COMPACT, 1, "pcompact"); }

/* CDS/CDNSKEY below the apex are the zone's data (RFC 9615 signals at _dsboot names), not
 * the key set's: written and signed, where the apex's come from the key set alone. */
static void test_cds_below_apex(void **st)
{
    (void)st;
    int64_t now = (int64_t)time(NULL);
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, "psignal");
    p.csk = 1;
    assert_int_equal(sg_ks_policy_add(g_ks, &p, now), 0);
    assert_int_equal(sg_keyset_ensure(g_ks, "signal.test.", "psignal", now), 0);
    sg_keyset *k = NULL;
    assert_int_equal(sg_keyset_load(g_ks, "signal.test.", now, 0, &k), 0);
    char zpath[128], out[128], cmd[600];
    snprintf(zpath, sizeof zpath, "%s/signal.zone", g_dir);
    snprintf(out, sizeof out, "%s/signal.signed", g_dir);
    FILE *f = fopen(zpath, "w");
    assert_non_null(f);
    fputs("$ORIGIN signal.test.\n$TTL 300\n@ SOA ns h 1 3600 600 86400 300\n@ NS ns\n"
          "ns A 192.0.2.1\n"
          "_dsboot.child.example._signal.ns CDS 12345 13 2 "
          "0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20\n", f);
    fclose(f);
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_load_file(zpath, "signal.test.", &z), 0);
    assert_non_null(f = fopen(out, "w"));
    assert_int_equal(sg_zonesign_write(z, k, (uint32_t)now, f), 0);
    fclose(f);
    snprintf(cmd, sizeof cmd, "grep -q '^_dsboot.child.example._signal.ns.signal.test.\t.*\tCDS\t12345 13 2' %s && "
             "grep -q '^_dsboot.child.example._signal.ns.signal.test.\t.*\tRRSIG\tCDS ' %s && "
             "ldns-verify-zone %s >/dev/null", out, out, out);
    if (system(cmd) != 0)
        fail_msg("the CDS below the apex is missing, unsigned or does not verify (%s)", out);
    sg_zone_free(z);
    sg_keyset_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nsec),
        cmocka_unit_test(test_nsec3),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_cds_below_apex),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
