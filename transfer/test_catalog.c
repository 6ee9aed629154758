/* SPDX-License-Identifier: MIT */
/* Catalog zones (RFC 9432): member ids, the rendered zone, the `catalog` option, and the
 * catalog's served serial through the `transfer` plugin (moves with the members only,
 * never backwards across a restart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "transfer/catalog.h"
#include "transfer/transfer.h"
#include "common/errors.h"
#include "common/log.h"
#include "tests/support/question.h"
#include "zones/zonedb.h"

#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char g_dir[64];

static int setup(void **st)
{
    (void)st;
    sg_log_set_level(SG_LOG_ERR);
    snprintf(g_dir, sizeof g_dir, "/tmp/sg-test-catalog-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void wire(const char *s, uint8_t out[SG_NAME_MAX])
{
    assert_int_equal(sg_name_from_str(s, (const uint8_t *)"", out), 0);
}

static void test_ids(void **st)
{
    (void)st;
    uint8_t a[SG_NAME_MAX], b[SG_NAME_MAX];
    char id[SG_CATALOG_ID_MAX], id2[SG_CATALOG_ID_MAX];
    /* SHA-256 of \x07example\x03com\x00 is 902e9c464fa43fcab109d1a6b95ddf83... */
    wire("example.com.", a);
    sg_catalog_id(a, 0, id);
    assert_string_equal(id, "902e9c464fa43fca");
    sg_catalog_id(a, 1, id);
    assert_string_equal(id, "902e9c464fa43fcab109d1a6b95ddf83");
    /* the id is the name's, whatever its case */
    wire("EXAMPLE.Com.", b);
    sg_catalog_id(b, 0, id2);
    assert_string_equal(id2, "902e9c464fa43fca");
    wire("example.org.", b);
    sg_catalog_id(b, 0, id2);
    assert_string_not_equal(id2, "902e9c464fa43fca");
    assert_int_equal(strlen(id2), 16);
}

/* The RRset of type at name in z, or fail. */
static const sg_rrset *rrset_at(const sg_zone *z, const char *name, uint16_t type)
{
    uint8_t w[SG_NAME_MAX];
    wire(name, w);
    sg_name_lower(w);
    const sg_node *n = sg_zone_find(z, w, sg_name_len(w));
    if (!n)
        fail_msg("%s: no such name", name);
    const sg_rrset *rs = sg_node_rrset(n, type);
    if (!rs)
        fail_msg("%s: no RRset of type %u", name, type);
    return rs;
}

static void test_render(void **st)
{
    (void)st;
    uint8_t apex[SG_NAME_MAX], m[5][SG_NAME_MAX];
    wire("catalog.invalid.", apex);
    const char *names[5] = { "b.test.", "A.test.", "a.test.", "x.catalog.invalid.", "sub.a.test." };
    const uint8_t *mp[5];
    for (int i = 0; i < 5; i++) {
        wire(names[i], m[i]);
        mp[i] = m[i];
    }
    sg_zone *z = NULL;
    assert_int_equal(sg_catalog_build(apex, mp, 5, "hosted", 1234, &z), 0);
    assert_int_equal(z->serial, 1234);
    /* SOA invalid. invalid. 1234 3600 600 2147483646 0, NS invalid., TTL 0 */
    const sg_rrset *soa = rrset_at(z, "catalog.invalid.", SG_TYPE_SOA);
    static const uint8_t soa_rd[] = { 0, 38, 7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0,
                                      7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0,
                                      0, 0, 0x04, 0xd2, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58,
                                      0x7f, 0xff, 0xff, 0xfe, 0, 0, 0, 0 };
    assert_int_equal(soa->rdata_len, sizeof soa_rd);
    assert_memory_equal(soa->rdata, soa_rd, sizeof soa_rd);
    assert_int_equal(soa->ttl, 0);
    const sg_rrset *ns = rrset_at(z, "catalog.invalid.", SG_TYPE_NS);
    assert_int_equal(ns->rdata_len, 2 + 9);
    assert_memory_equal(ns->rdata + 2, "\007invalid", 9);
    const sg_rrset *v = rrset_at(z, "version.catalog.invalid.", SG_TYPE_TXT);
    assert_int_equal(v->rdata_len, 4);
    assert_memory_equal(v->rdata, "\0\002\0012", 4);
    /* a.test once (case and duplicates fold), b.test, sub.a.test; not the catalog's own */
    const char *members[3] = { "a.test.", "b.test.", "sub.a.test." };
    for (int i = 0; i < 3; i++) {
        uint8_t w[SG_NAME_MAX];
        char id[SG_CATALOG_ID_MAX], owner[128];
        wire(members[i], w);
        sg_catalog_id(w, 0, id);
        snprintf(owner, sizeof owner, "%s.zones.catalog.invalid.", id);
        const sg_rrset *ptr = rrset_at(z, owner, SG_TYPE_PTR);
        assert_int_equal(ptr->count, 1);
        assert_int_equal(sg_rdlen(ptr->rdata), sg_name_len(w));
        assert_memory_equal(ptr->rdata + 2, w, sg_name_len(w));
        snprintf(owner, sizeof owner, "group.%s.zones.catalog.invalid.", id);
        const sg_rrset *g = rrset_at(z, owner, SG_TYPE_TXT);
        assert_int_equal(g->rdata_len, 2 + 7);
        assert_memory_equal(g->rdata + 2, "\006hosted", 7);
    }
    /* apex, version, zones (an empty non-terminal), 3 ids, 3 group names */
    assert_int_equal(z->nnodes, 9);
    assert_int_equal(z->nrecords, 2 + 1 + 3 + 3);

    /* the same members at another serial: the same catalog; one member less: not */
    sg_zone *same = NULL, *less = NULL, *nogroup = NULL;
    assert_int_equal(sg_catalog_build(apex, mp, 5, "hosted", 99999, &same), 0);
    assert_true(sg_catalog_same(z, same));
    assert_int_equal(sg_catalog_build(apex, mp, 2, "hosted", 1234, &less), 0);
    assert_false(sg_catalog_same(z, less));
    assert_int_equal(sg_catalog_build(apex, mp, 5, NULL, 1234, &nogroup), 0);
    assert_false(sg_catalog_same(z, nogroup));
    assert_int_equal(nogroup->nrecords, 2 + 1 + 3);
    sg_zone_free(z);
    sg_zone_free(same);
    sg_zone_free(less);
    sg_zone_free(nogroup);

    /* no members: SOA, NS, version */
    assert_int_equal(sg_catalog_build(apex, NULL, 0, NULL, 1, &z), 0);
    assert_int_equal(z->nrecords, 3);
    sg_zone_free(z);
}

static void test_parse(void **st)
{
    (void)st;
    static const struct { const char *text; int ok; const char *name, *group; } cases[] = {
        { " catalog catalog.invalid\n", 1, "catalog.invalid", "" },
        { " catalog catalog.invalid group hosted\n", 1, "catalog.invalid", "hosted" },
        { " catalog\n", 0, NULL, NULL },
        { " catalog a b\n", 0, NULL, NULL },
        { " catalog catalog.invalid groups x\n", 0, NULL, NULL },
        { " catalog catalog.invalid group\n", 0, NULL, NULL },
        { " catalog a..b\n", 0, NULL, NULL },
        { " catalog a.invalid\n catalog b.invalid\n", 0, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "example.test {\ntransfer {\n to *\n%s}\n}\n", cases[i].text);
        sg_cfg *cfg = NULL;
        assert_int_equal(sg_cfg_parse_string(text, "t", &cfg), 0);
        sg_xfr_cfg c;
        int rc = sg_xfr_parse(&cfg->servers[0].children[0], &c);
        if (cases[i].ok != (rc == 0))
            fail_msg("case %zu: %s gave %d", i, cases[i].text, rc);
        if (cases[i].ok) {
            assert_string_equal(c.catalog, cases[i].name);
            assert_string_equal(c.catalog_group, cases[i].group);
        }
        sg_cfg_free(cfg);
    }
}

/* ---- the served catalog, through the plugin ----------------------------------------- */

static void write_zone(const char *zone)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.zone", g_dir, zone);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "$ORIGIN %s.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n"
               "@ NS ns\nns A 192.0.2.1\n", zone);
    fclose(f);
}

static sg_zone *load_zone(const char *zone)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.zone", g_dir, zone);
    sg_zone *z = NULL;
    assert_int_equal(sg_zonedb_acquire(path, zone, 0, 0, &z), 0);
    return z;
}

typedef struct plug {
    sg_cfg *cfg;
    void *state;
    uint8_t zones[4][SG_NAME_MAX];
} plug;

/* A static block for the catalog and the given zones, set up and started. */
static void plug_start(plug *p, const char *const *zones, int n)
{
    char text[1024];
    int o = snprintf(text, sizeof text, "catalog.invalid");
    for (int i = 0; i < n; i++)
        o += snprintf(text + o, sizeof text - (size_t)o, " %s", zones[i]);
    snprintf(text + o, sizeof text - (size_t)o, " {\ntransfer {\n to *\n catalog catalog.invalid "
             "group g\n state-dir %s\n}\n}\n", g_dir);
    assert_int_equal(sg_cfg_parse_string(text, "t", &p->cfg), 0);
    const uint8_t *zp[4];
    wire("catalog.invalid.", p->zones[0]);
    zp[0] = p->zones[0];
    for (int i = 0; i < n; i++) {
        wire(zones[i], p->zones[i + 1]);
        zp[i + 1] = p->zones[i + 1];
    }
    sg_setup_ctx ctx = { .zones = zp, .nzones = n + 1, .block = &p->cfg->servers[0] };
    assert_int_equal(sg_plugin_transfer.setup(&p->cfg->servers[0].children[0], &ctx, &p->state), 0);
    assert_int_equal(sg_plugin_transfer.start(p->state), 0);
}

static void plug_stop(plug *p)
{
    sg_plugin_transfer.stop(p->state);
    sg_plugin_transfer.teardown(p->state);
    sg_cfg_free(p->cfg);
}

/* The catalog's transferred serial, once an AXFR of it has `members` PTR records (parsed
 * with ldns); fails after 10 s. */
static uint32_t served_catalog(plug *p, int members)
{
    int last_rcode = -1, last_ptrs = -1;
    for (int tries = 0; tries < 200; tries++) {
        sg_handler h = { .plugin = &sg_plugin_transfer, .state = p->state };
        sg_query q;
        uint8_t pkt[512];
        sg_test_question(&q, pkt, sizeof pkt, "catalog.invalid.", SG_TYPE_AXFR, SG_TRANSPORT_TCP);
        static uint8_t out[65535];
        struct sockaddr_in client = { .sin_family = AF_INET };
        q.client = (const struct sockaddr *)&client;
        q.out = out;
        q.out_cap = sizeof out;
        assert_int_equal(sg_plugin_transfer.handle(&h, &q), 0);
        if (q.stream.done)
            q.stream.done(q.stream.ctx);
        last_rcode = q.rcode;
        ldns_pkt *pk = NULL;
        if (q.out_len && ldns_wire2pkt(&pk, out, q.out_len) == LDNS_STATUS_OK) {
            ldns_rr_list *an = ldns_pkt_answer(pk);
            uint32_t serial = 0;
            int ptrs = 0;
            for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
                ldns_rr *rr = ldns_rr_list_rr(an, i);
                if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_PTR)
                    ptrs++;
                if (i == 0 && ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
                    serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
            }
            ldns_pkt_free(pk);
            last_ptrs = ptrs;
            if (serial && ptrs == members)
                return serial;
        }
        usleep(50 * 1000);
    }
    fail_msg("the catalog did not reach %d members (last: rcode %d, %d PTRs)", members,
             last_rcode, last_ptrs);
    return 0;
}

static void test_served_serial(void **st)
{
    (void)st;
    write_zone("a.test");
    write_zone("b.test");
    sg_zone *za = load_zone("a.test"), *zb = load_zone("b.test");
    const char *two[] = { "a.test.", "b.test." }, *one[] = { "a.test." };

    plug p = { 0 };
    plug_start(&p, two, 2);
    uint32_t s1 = served_catalog(&p, 2);
    assert_true(s1 >= (uint32_t)time(NULL) - 60); /* unixtime */
    plug_stop(&p);

    /* a restart with the same members serves the same version, serial included */
    plug_start(&p, two, 2);
    uint32_t s2 = served_catalog(&p, 2);
    assert_int_equal(s2, s1);
    plug_stop(&p);

    /* a member less: a new serial */
    plug_start(&p, one, 1);
    uint32_t s3 = served_catalog(&p, 1);
    assert_true(sg_serial_newer(s3, s2));
    plug_stop(&p);

    /* the last served serial far ahead of the clock (a clock stepped back since): still
     * above it */
    char path[256];
    snprintf(path, sizeof path, "%s/catalog.invalid.xfr-serial", g_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "serial %u\n", s3 + 100000);
    fclose(f);
    plug_start(&p, two, 2);
    uint32_t s4 = served_catalog(&p, 2);
    assert_int_equal(s4, s3 + 100001);
    plug_stop(&p);

    sg_zonedb_release(za);
    sg_zonedb_release(zb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_served_serial),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
