/* SPDX-License-Identifier: MIT */
/* The whole signed zone, checked by an independent verifier (ldns-verify-zone) for NSEC,
 * NSEC3 and a compact-denial policy (which gets a real NSEC chain for transfers); on many
 * threads the same as on one. */
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

/* A zone of many batches: names with A, AAAA, TXT, delegations with glue, a wildcard. */
static sg_zone *big_zone(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("$ORIGIN big.test.\n$TTL 300\n"
          "@ SOA ns1 host 1 3600 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"
          "*.wild A 192.0.2.9\n", f);
    for (int i = 0; i < 6000; i++) {
        fprintf(f, "h%d A 10.0.%d.%d\n", i, i / 256, i % 256);
        if (i % 3 == 0)
            fprintf(f, "h%d AAAA 2001:db8::%x\n", i, i);
        if (i % 5 == 0)
            fprintf(f, "h%d TXT \"text %d\"\n", i, i);
        if (i % 50 == 0)
            fprintf(f, "d%d NS ns.d%d\nns.d%d.d%d A 192.0.2.%d\n", i, i, i, i, i % 250);
    }
    fclose(f);
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_load_file(path, "big.test.", &z), 0);
    return z;
}

/* The signed text with each RRSIG's signature field cut (ECDSA signatures are random). */
static char *strip_sigs(const char *path)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "sed -E '/\tRRSIG\t/s/ [^ ]+$/ SIG/' %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, len = 0;
    char *s = malloc(cap);
    size_t r;
    while (s && (r = fread(s + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 2)
            s = realloc(s, cap *= 2);
    }
    pclose(p);
    assert_non_null(s);
    s[len] = 0;
    return s;
}

/* Signing on many threads writes what one thread writes (but for the signatures, which
 * ldns-verify-zone checks), for NSEC and NSEC3. */
static void threads_same_output(enum sg_ks_denial denial, const char *label)
{
    int64_t now = (int64_t)time(NULL);
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, label);
    p.denial = denial;
    assert_int_equal(sg_ks_policy_add(g_ks, &p, now), 0);
    assert_int_equal(sg_keyset_ensure(g_ks, "big.test.", label, now), 0);
    sg_keyset *k = NULL;
    assert_int_equal(sg_keyset_load(g_ks, "big.test.", now, 0, &k), 0);
    char zpath[128], path[3][128];
    snprintf(zpath, sizeof zpath, "%s/big.zone", g_dir);
    sg_zone *z = big_zone(zpath);
    const int threads[3] = { 1, 2, 5 };
    char *text[3];
    for (int t = 0; t < 3; t++) {
        snprintf(path[t], sizeof path[t], "%s/big-%s-%d.signed", g_dir, label, threads[t]);
        FILE *f = fopen(path[t], "w");
        assert_non_null(f);
        sg_zonesign_opts o = { .threads = threads[t] };
        assert_int_equal(sg_zonesign_write_opts(z, k, (uint32_t)now, &o, f), 0);
        fclose(f);
        text[t] = strip_sigs(path[t]);
        assert_true(strlen(text[t]) > 6000 * 100);
    }
    assert_string_equal(text[1], text[0]);
    assert_string_equal(text[2], text[0]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "ldns-verify-zone -V 1 %s", path[2]);
    if (system(cmd) != 0)
        fail_msg("ldns-verify-zone rejected %s", path[2]);
    for (int t = 0; t < 3; t++) {
        free(text[t]);
        unlink(path[t]);
    }
    unlink(zpath);
    sg_zone_free(z);
    sg_keyset_free(k);
    assert_int_equal(sg_ks_zone_remove(g_ks, "big.test.", 1, now), 0);
}

static void test_threads_nsec(void **st) { (void)st; threads_same_output(SG_KS_DENIAL_NSEC, "tnsec"); }
static void test_threads_nsec3(void **st) { (void)st; threads_same_output(SG_KS_DENIAL_NSEC3, "tnsec3"); }

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
        cmocka_unit_test(test_threads_nsec),
        cmocka_unit_test(test_threads_nsec3),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
