/* SPDX-License-Identifier: MIT */
/* The `dynamic` plugin on a real keystore: the served zones inside the block's zones at
 * setup, answers by the longest apex, REFUSED (no handler) outside them, zones added and
 * removed while the thread runs, a zone served only once its keys are there, a file that
 * does not load never served, and the config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dynamic/dynamic_plugin.h"
#include "keystore/keystore.h"
#include "zones/zone.h"
#include "common/log.h"
#include "tests/support/question.h"
#include "tests/support/temp_keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char g_dir[256], g_path[300];
static sg_keystore *g_ks;
static int g_signed = 1; /* the fake signer has keys for every zone */

static const struct sg_keyset *fake_keys(const void *self, const uint8_t *apex)
{
    (void)self;
    (void)apex;
    return g_signed ? (const struct sg_keyset *)&g_signed : NULL; /* only tested for NULL */
}

static sg_key_provider g_provider = { .keystore = g_path, .keys = fake_keys };

static const void *fake_service(const void *state, const char *name)
{
    (void)state;
    return !strcmp(name, SG_SERVICE_KEYS) ? &g_provider : NULL;
}

static const sg_plugin g_fake = { .name = "fake", .service = fake_service };

static void write_zone(const char *zone, const char *extra)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s.zone", g_dir, zone);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "$ORIGIN %s.\n$TTL 300\n@ SOA ns1 admin 1 3600 600 86400 300\n@ NS ns1\n"
               "ns1 A 192.0.2.1\nwww A 192.0.2.2\n%s", zone, extra);
    fclose(f);
}

static void serve(const char *zone)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s.zone", g_dir, zone);
    int r = sg_ks_zone_add(g_ks, zone, NULL, 100);
    assert_true(r == 0 || r == SG_EEXIST);
    assert_int_equal(sg_ks_zone_set_file(g_ks, zone, p, 100), 0);
}

static int setup(void **st)
{
    (void)st;
    sg_log_set_level(getenv("DYN_LOG") ? SG_LOG_DEBUG : SG_LOG_SILENT);
    if (sg_test_keystore_open("dynamic", g_dir, sizeof g_dir, &g_ks))
        return -1;
    snprintf(g_path, sizeof g_path, "%s/ks.db", g_dir);
    g_signed = 1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    return sg_test_keystore_close(g_ks, g_dir);
}

static sg_cfg *g_cfg;

/* The plugin set up in a block for scope, behind the fake signer; NULL and *rc on error. */
static void *make(const char *scope, const char *line, int with_provider, int *rc)
{
    char text[512];
    snprintf(text, sizeof text, "%s {\n %s\n}\n", scope, line);
    assert_int_equal(sg_cfg_parse_string(text, "test", &g_cfg), 0);
    uint8_t apex[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str(scope, (const uint8_t *)"", apex), 0);
    const uint8_t *zones[] = { apex };
    /* kept after setup: the plugin holds the handlers set up before it (sg_preparer) */
    static sg_handler fake;
    fake = (sg_handler){ .plugin = &g_fake, .slot = -1 };
    sg_setup_ctx ctx = { .zones = zones, .nzones = 1, .block = &g_cfg->servers[0],
                         .set_up = &fake, .nset_up = with_provider, .runtime_zones = 1 };
    void *state = NULL;
    *rc = sg_plugin_dynamic.setup(&g_cfg->servers[0].children[0], &ctx, &state);
    sg_cfg_free(g_cfg);
    return *rc ? NULL : state;
}

static uint8_t g_pkt[512];
static sg_query g_q;

/* The zone that answers name (its apex as text), or "" when none does (REFUSED). */
static const char *who(void *state, const char *name)
{
    sg_handler h = { .plugin = &sg_plugin_dynamic, .state = state };
    sg_test_question(&g_q, g_pkt, sizeof g_pkt, name, SG_TYPE_A, SG_TRANSPORT_UDP);
    int rc = sg_plugin_dynamic.handle(&h, &g_q);
    if (rc == SG_ENOHANDLER)
        return "";
    assert_int_equal(rc, 0);
    assert_non_null(g_q.zone);
    return g_q.zone->apex_str;
}

static void test_setup_serves_keystore_zones(void **st)
{
    (void)st;
    write_zone("a.test", "");
    write_zone("sub.a.test", "");
    write_zone("c.other", "");
    serve("a.test");
    serve("sub.a.test");
    serve("c.other");                          /* outside the block: not here */
    assert_int_equal(sg_ks_zone_add(g_ks, "b.test", NULL, 100), 0); /* no file: not served */
    int rc;
    void *s = make("test.", "dynamic", 1, &rc);
    assert_non_null(s);
    assert_int_equal(sg_plugin_dynamic.nzones(s), 2);
    assert_string_equal(who(s, "www.a.test."), "a.test.");
    assert_string_equal(who(s, "x.sub.a.test."), "sub.a.test.");
    assert_string_equal(who(s, "WWW.A.TEST."), "a.test.");
    assert_string_equal(who(s, "www.b.test."), "");
    assert_string_equal(who(s, "www.c.other."), "");
    assert_string_equal(who(s, "test."), "");
    sg_plugin_dynamic.teardown(s);
}

static int wait_for(void *s, const char *name, const char *want)
{
    for (int i = 0; i < 30; i++) {
        if (!strcmp(who(s, name), want))
            return 1;
        usleep(50 * 1000);
    }
    return 0;
}

static void test_follows_changes(void **st)
{
    (void)st;
    write_zone("a.test", "");
    write_zone("d.test", "");
    write_zone("bad.test", "oops IN A not-an-address\n");
    serve("a.test");
    int rc;
    void *s = make(".", "dynamic { max-size 1M }", 1, &rc);
    assert_non_null(s);
    assert_int_equal(sg_plugin_dynamic.start(s), 0);
    uint64_t v0 = sg_plugin_dynamic.version(s, &g_q);
    /* added while running: served within a second */
    serve("d.test");
    assert_true(wait_for(s, "www.d.test.", "d.test."));
    assert_true(sg_plugin_dynamic.version(s, &g_q) != v0);
    /* removed: no longer answered */
    assert_int_equal(sg_ks_zone_set_file(g_ks, "a.test", "", 101), 0);
    assert_true(wait_for(s, "www.a.test.", ""));
    /* a zone whose keys are not there yet waits for them (never answers unsigned) */
    g_signed = 0;
    serve("a.test");
    usleep(600 * 1000);
    assert_string_equal(who(s, "www.a.test."), "");
    g_signed = 1;
    assert_true(wait_for(s, "www.a.test.", "a.test."));
    /* a file that does not load is not served; the others stay */
    serve("bad.test");
    usleep(600 * 1000);
    assert_string_equal(who(s, "www.bad.test."), "");
    assert_string_equal(who(s, "www.d.test."), "d.test.");
    sg_plugin_dynamic.stop(s);
    sg_plugin_dynamic.teardown(s);
}

static void test_config_errors(void **st)
{
    (void)st;
    int rc;
    assert_null(make(".", "dynamic", 0, &rc)); /* no dnssec before it */
    assert_int_equal(rc, SG_ESYNTAX);
    assert_null(make(".", "dynamic extra", 1, &rc));
    assert_int_equal(rc, SG_ESYNTAX);
    assert_null(make(".", "dynamic { colour blue }", 1, &rc));
    assert_int_equal(rc, SG_ESYNTAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_setup_serves_keystore_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follows_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
