/* SPDX-License-Identifier: MIT */
/* RFC 9615 signals: the owner name, which children and servers give records, the version
 * built with them, and the `file` plugin serving it (serial up, kept across a restart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zones/file_plugin.h"
#include "zones/signal.h"
#include "zones/zone.h"
#include "zones/zonedb.h"
#include "common/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];

static void name(const char *s, uint8_t out[SG_NAME_MAX])
{
    assert_int_equal(sg_name_from_str(s, (const uint8_t *)"", out), 0);
}

static void write_file(const char *path, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

/* ---- the owner name ------------------------------------------------------------------ */

static void test_owner(void **st)
{
    (void)st;
    static const struct { const char *child, *ns, *want; } cases[] = {
        /* RFC 9615 section 2.1's form, every label of the child kept */
        { "child.test.", "ns1.example.net.", "_dsboot.child.test._signal.ns1.example.net." },
        { "Example.CO.UK.", "NS.Provider.NET.", "_dsboot.example.co.uk._signal.ns.provider.net." },
        { "a.", "b.", "_dsboot.a._signal.b." },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t c[SG_NAME_MAX], n[SG_NAME_MAX], o[SG_NAME_MAX];
        char got[1024];
        name(cases[i].child, c);
        name(cases[i].ns, n);
        assert_int_equal(sg_signal_owner(c, n, o), 0);
        sg_name_to_str(o, got, sizeof got);
        assert_string_equal(got, cases[i].want);
    }
    /* 255 octets at most: a long child and a long server name together do not fit */
    char longname[300] = "";
    for (int i = 0; i < 4; i++)
        strcat(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
    uint8_t c[SG_NAME_MAX], n[SG_NAME_MAX], o[SG_NAME_MAX];
    name(longname, c);
    name("ns1.example.net.", n);
    assert_int_equal(sg_signal_owner(c, n, o), SG_EINVAL);
}

/* ---- a child's records from a fake key side ------------------------------------------ */

/* CDS 12345 13 2 <32 octets>, CDNSKEY 257 3 13 <64 octets>; or the RFC 8078 delete form */
static int g_delete, g_calls;
static uint8_t g_digest_byte = 0xab;

static int fake_records(const void *self, const uint8_t *child, sg_arena *mem, sg_rrset *cds,
                        sg_rrset *cdnskey)
{
    (void)self;
    (void)child;
    g_calls++;
    uint8_t *a = sg_arena_alloc(mem, 2 + 36), *b = sg_arena_alloc(mem, 2 + 68);
    if (!a || !b)
        return SG_ENOMEM;
    if (g_delete) {
        static const uint8_t d[] = { 0, 5, 0, 0, 0, 0, 0 }, k[] = { 0, 5, 0, 0, 3, 0, 0 };
        *cds = (sg_rrset){ .type = SG_TYPE_CDS, .count = 1, .ttl = 60, .rdata_len = 7, .rdata = d };
        *cdnskey = (sg_rrset){ .type = SG_TYPE_CDNSKEY, .count = 1, .ttl = 60, .rdata_len = 7, .rdata = k };
        return 0;
    }
    a[0] = 0, a[1] = 36, a[2] = 0x30, a[3] = 0x39, a[4] = 13, a[5] = 2;
    memset(a + 6, g_digest_byte, 32);
    b[0] = 0, b[1] = 68, b[2] = 1, b[3] = 1, b[4] = 3, b[5] = 13;
    memset(b + 6, 0x11, 64);
    *cds = (sg_rrset){ .type = SG_TYPE_CDS, .count = 1, .ttl = 60, .rdata_len = 38, .rdata = a };
    *cdnskey = (sg_rrset){ .type = SG_TYPE_CDNSKEY, .count = 1, .ttl = 60, .rdata_len = 70, .rdata = b };
    return 0;
}

static const char NET_ZONE[] =
    "$ORIGIN example.net.\n$TTL 600\n@ SOA ns1 hostmaster 5 3600 600 86400 120\n"
    "@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n"
    /* a delegation: a server below it is not this zone's to signal for */
    "sub NS ns.sub\nns.sub A 192.0.2.3\n";

static const char CHILD_ZONE[] =
    "$ORIGIN child.test.\n$TTL 600\n@ SOA ns1.example.net. hostmaster 1 3600 600 86400 120\n"
    /* signalled at ns1 only: ns.sub is below a cut of example.net, ns.child.test is the
     * child's own (in-bailiwick), ns.other.org is not in example.net */
    "@ NS ns1.example.net.\n@ NS ns.sub.example.net.\n@ NS ns.child.test.\n@ NS ns.other.org.\n"
    "ns A 192.0.2.9\n";

static const uint8_t *find_rrset(const sg_zone *z, const char *owner, uint16_t type)
{
    uint8_t w[SG_NAME_MAX];
    name(owner, w);
    const sg_node *n = sg_zone_find(z, w, sg_name_len(w));
    const sg_rrset *rs = n ? sg_node_rrset(n, type) : NULL;
    return rs && rs->count ? rs->rdata : NULL;
}

static sg_zone *g_child;

static void load_child(void)
{
    char path[160];
    snprintf(path, sizeof path, "%s/child.test.zone", g_dir);
    write_file(path, CHILD_ZONE);
    assert_int_equal(sg_zonedb_acquire(path, "child.test.", 0, 0, &g_child), 0);
}

static void test_collect_and_apply(void **st)
{
    (void)st;
    char path[160];
    snprintf(path, sizeof path, "%s/example.net.zone", g_dir);
    write_file(path, NET_ZONE);
    sg_zone *base = NULL;
    assert_int_equal(sg_zone_load_file(path, "example.net.", &base), 0);
    uint8_t child[SG_NAME_MAX];
    name("child.test.", child);
    int self = 0;
    sg_signal_source src = { .records = fake_records, .self = &self };
    g_delete = 0;

    /* nothing registered: nothing to add */
    sg_signal_set set;
    assert_int_equal(sg_signal_collect(base, &set), 0);
    assert_int_equal(set.n, 0);
    assert_int_equal(set.fingerprint, 0);
    sg_signal_set_deinit(&set);

    assert_int_equal(sg_signal_register(child, &src), 0);
    assert_int_equal(sg_signal_collect(base, &set), 0);
    assert_int_equal(set.n, 2); /* CDS and CDNSKEY at the one signalling name */
    assert_int_not_equal(set.fingerprint, 0);
    uint64_t fp = set.fingerprint;
    sg_zone *v = NULL;
    assert_int_equal(sg_signal_apply(base, &set, &v), 0);
    sg_signal_set_deinit(&set);
    const uint8_t *cds = find_rrset(v, "_dsboot.child.test._signal.ns1.example.net.", SG_TYPE_CDS);
    assert_non_null(cds);
    assert_int_equal(sg_rdlen(cds), 36);
    assert_int_equal(cds[2 + 4], 0xab);
    assert_non_null(find_rrset(v, "_dsboot.child.test._signal.ns1.example.net.", SG_TYPE_CDNSKEY));
    /* the rest of the zone is there, the cut still a cut, nothing signalled below it */
    assert_non_null(find_rrset(v, "www.example.net.", SG_TYPE_A));
    assert_non_null(find_rrset(v, "sub.example.net.", SG_TYPE_NS));
    assert_null(find_rrset(v, "_dsboot.child.test._signal.ns.sub.example.net.", SG_TYPE_CDS));
    /* names of the version: the empty non-terminal _signal.ns1 too (the denial chain
     * built from the version's names covers them) */
    uint8_t ent[SG_NAME_MAX];
    name("_signal.ns1.example.net.", ent);
    assert_non_null(sg_zone_find(v, ent, sg_name_len(ent)));
    assert_int_equal(v->serial, base->serial);
    assert_int_equal(v->nrecords, base->nrecords + 2);
    sg_zone_free(v);

    /* a new CDS: another fingerprint */
    g_digest_byte = 0xcd;
    assert_int_equal(sg_signal_collect(base, &set), 0);
    assert_int_not_equal(set.fingerprint, fp);
    sg_signal_set_deinit(&set);
    g_digest_byte = 0xab;

    /* the delete form bootstraps nothing */
    g_delete = 1;
    assert_int_equal(sg_signal_collect(base, &set), 0);
    assert_int_equal(set.n, 0);
    sg_signal_set_deinit(&set);
    g_delete = 0;

    /* the zone whose server names are the child's own: nothing (in-bailiwick) */
    assert_int_equal(sg_signal_collect(g_child, &set), 0);
    assert_int_equal(set.n, 0);
    sg_signal_set_deinit(&set);

    /* a replaced instance's unregister leaves its successor's registration */
    int other = 0;
    sg_signal_unregister(child, &other);
    assert_int_equal(sg_signal_collect(base, &set), 0);
    assert_int_equal(set.n, 2);
    sg_signal_set_deinit(&set);
    sg_signal_unregister(child, &self);
    g_calls = 0;
    assert_int_equal(sg_signal_collect(base, &set), 0);
    assert_int_equal(set.n, 0);
    assert_int_equal(g_calls, 0);
    sg_signal_set_deinit(&set);
    sg_zone_free(base);
}

/* ---- the file plugin ----------------------------------------------------------------- */

/* A sibling offering a key provider that says every zone is signed, as `dnssec` does. */
static char g_keystore[256];

static const struct sg_keyset *fake_keys(const void *self, const uint8_t *apex)
{
    (void)self;
    (void)apex;
    return (const struct sg_keyset *)g_keystore; /* only "signed or not" is asked */
}

static const sg_key_provider g_provider = { .keystore = g_keystore, .keys = fake_keys };

static const void *fake_service(const void *state, const char *n)
{
    (void)state;
    return !strcmp(n, SG_SERVICE_KEYS) ? &g_provider : NULL;
}

static const sg_plugin g_fake = { .name = "fake", .service = fake_service };

static void *file_setup(const char *path)
{
    char text[600];
    snprintf(text, sizeof text, "example.net {\n file %s {\n  serial keep\n }\n}\n", path);
    sg_cfg *cfg = NULL;
    assert_int_equal(sg_cfg_parse_string(text, "test", &cfg), 0);
    uint8_t apex[SG_NAME_MAX];
    name("example.net.", apex);
    const uint8_t *zones[] = { apex };
    sg_handler fake = { .plugin = &g_fake, .slot = -1 };
    sg_setup_ctx ctx = { .zones = zones, .nzones = 1, .block = &cfg->servers[0],
                         .set_up = &fake, .nset_up = 1, .slot = 3 };
    void *state = NULL;
    assert_int_equal(sg_plugin_file.setup(&cfg->servers[0].children[0], &ctx, &state), 0);
    sg_cfg_free(cfg);
    return state;
}

static void test_file_plugin(void **st)
{
    (void)st;
    char path[160];
    snprintf(path, sizeof path, "%s/example.net.zone", g_dir);
    snprintf(g_keystore, sizeof g_keystore, "%s/keystore.db", g_dir);
    write_file(path, NET_ZONE);
    uint8_t child[SG_NAME_MAX], apex[SG_NAME_MAX];
    name("child.test.", child);
    name("example.net.", apex);
    int self = 0;
    sg_signal_source src = { .records = fake_records, .self = &self };
    assert_int_equal(sg_signal_register(child, &src), 0);
    g_digest_byte = 0xab;

    /* the version served carries the signal, at the file's serial */
    void *a = file_setup(path);
    const sg_zone *z = sg_plugin_file.zone(a, 0);
    assert_non_null(find_rrset(z, "_dsboot.child.test._signal.ns1.example.net.", SG_TYPE_CDS));
    assert_int_equal(z->serial, 5);
    uint64_t v0 = sg_plugin_file.version(a, NULL);
    /* and is what zonedb gives transfers */
    sg_zone *newest = NULL;
    assert_int_equal(sg_zonedb_acquire_apex(apex, &newest), 0);
    assert_ptr_equal(newest, z);
    sg_zonedb_release(newest);

    /* a reload with nothing changed: the same version */
    void *b = file_setup(path);
    assert_ptr_equal(sg_plugin_file.zone(b, 0), z);
    sg_plugin_file.teardown(a);

    /* the child's CDS changes: a new version, serial up, the plugin's version moves */
    g_digest_byte = 0xcd;
    void *c = file_setup(path);
    z = sg_plugin_file.zone(c, 0);
    assert_int_equal(z->serial, 6);
    assert_int_equal(find_rrset(z, "_dsboot.child.test._signal.ns1.example.net.", SG_TYPE_CDS)[2 + 4], 0xcd);
    assert_true(sg_plugin_file.version(c, NULL) != v0);
    sg_plugin_file.teardown(b);
    sg_plugin_file.teardown(c);

    /* a restart serves the same file at 6 again, never back at 5 */
    c = file_setup(path);
    assert_int_equal(sg_plugin_file.zone(c, 0)->serial, 6);
    /* the child gone: a version without the signal, serial up again */
    sg_signal_unregister(child, &self);
    void *d = file_setup(path);
    z = sg_plugin_file.zone(d, 0);
    assert_null(find_rrset(z, "_dsboot.child.test._signal.ns1.example.net.", SG_TYPE_CDS));
    assert_int_equal(z->serial, 7);
    sg_plugin_file.teardown(c);
    sg_plugin_file.teardown(d);
}

static int setup(void **st)
{
    (void)st;
    snprintf(g_dir, sizeof g_dir, "/tmp/sg-test-signal-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    load_child();
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    sg_zonedb_release(g_child);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner),
        cmocka_unit_test(test_collect_and_apply),
        cmocka_unit_test(test_file_plugin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
