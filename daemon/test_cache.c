/* SPDX-License-Identifier: MIT */
/* Unit tests for the answer cache: its store (key fields, versions, the size bound and
 * eviction) and the `cache` plugin in front of a stand-in zone plugin (TTL and signature
 * expiry, the client's ID and case, what is never cached). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/answer_cache.h"
#include "daemon/plugins.h"
#include "common/cfg.h"
#include "common/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEC 1000000000ull

/* ---- the store ------------------------------------------------------------------------ */

static sg_acache_key key_for(const uint8_t *qname, uint16_t qtype, uint8_t flags, uint64_t version)
{
    sg_acache_key k = { .qname = qname, .qname_len = (uint8_t)sg_name_len(qname), .qtype = qtype,
                        .qclass = 1, .max_size = 1232, .flags = flags, .version = version };
    return k;
}

static void test_store_key_fields(void **st)
{
    (void)st;
    sg_acache *c = sg_acache_new(1 << 20, NULL);
    assert_non_null(c);
    uint8_t name[SG_NAME_MAX];
    sg_name_from_str("www.example.test.", NULL, name);
    uint8_t reply[100], out[4096];
    for (size_t i = 0; i < sizeof reply; i++)
        reply[i] = (uint8_t)i;
    sg_acache_meta m = { .rcode = 3, .aa = 1, .tc = 0 }, got;
    sg_acache_key k = key_for(name, SG_TYPE_A, SG_ACACHE_DO | SG_ACACHE_EDNS, 7);
    uint64_t now = 1000 * SEC;
    assert_int_equal(sg_acache_put(c, &k, now, now + 60 * SEC, reply, sizeof reply, &m), 1);
    assert_int_equal(sg_acache_get(c, &k, now + SEC, out, sizeof out, &got), sizeof reply);
    assert_memory_equal(out, reply, sizeof reply);
    assert_int_equal(got.rcode, 3);
    assert_int_equal(got.aa, 1);

    /* every field of the key tells replies apart */
    sg_acache_key other = k;
    other.flags = SG_ACACHE_EDNS; /* DO clear */
    assert_int_equal(sg_acache_get(c, &other, now, out, sizeof out, &got), 0);
    other = k;
    other.flags = SG_ACACHE_DO;   /* no EDNS */
    assert_int_equal(sg_acache_get(c, &other, now, out, sizeof out, &got), 0);
    other = k;
    other.qtype = SG_TYPE_AAAA;
    assert_int_equal(sg_acache_get(c, &other, now, out, sizeof out, &got), 0);
    other = k;
    other.max_size = 512;
    assert_int_equal(sg_acache_get(c, &other, now, out, sizeof out, &got), 0);
    other = k;
    other.version = 8;            /* a new key set or zone version */
    assert_int_equal(sg_acache_get(c, &other, now, out, sizeof out, &got), 0);
    uint8_t name2[SG_NAME_MAX];
    sg_name_from_str("www.example.tesu.", NULL, name2);
    other = key_for(name2, SG_TYPE_A, SG_ACACHE_DO | SG_ACACHE_EDNS, 7);
    assert_int_equal(sg_acache_get(c, &other, now, out, sizeof out, &got), 0);
    /* expiry is exact, and a reply larger than the caller's buffer is a miss */
    assert_int_equal(sg_acache_get(c, &k, now + 60 * SEC - 1, out, sizeof out, &got), sizeof reply);
    assert_int_equal(sg_acache_get(c, &k, now + 60 * SEC, out, sizeof out, &got), 0);
    assert_int_equal(sg_acache_get(c, &k, now, out, 50, &got), 0);

    sg_acache_stats s;
    sg_acache_get_stats(c, &s);
    assert_int_equal(s.hits, 2);
    assert_int_equal(s.misses, 8);
    assert_int_equal(s.entries, 1);
    sg_acache_free(c);
}

/* Far more replies than fit: memory stays at the budget, the newest are kept, the oldest
 * go and are counted as evictions while unexpired. */
static void test_store_eviction_bound(void **st)
{
    (void)st;
    size_t budget = 64 * 1024;
    sg_acache *c = sg_acache_new(budget, NULL);
    assert_non_null(c);
    uint8_t reply[600], out[4096];
    memset(reply, 0xab, sizeof reply);
    sg_acache_meta m = { 0 }, got;
    uint64_t now = 5 * SEC;
    char text[64];
    uint8_t names[2000][SG_NAME_MAX];
    for (int i = 0; i < 2000; i++) {
        snprintf(text, sizeof text, "n%d.example.test.", i);
        sg_name_from_str(text, NULL, names[i]);
        sg_acache_key k = key_for(names[i], SG_TYPE_A, 0, 1);
        memcpy(reply, &i, sizeof i);
        assert_int_equal(sg_acache_put(c, &k, now, now + 3600 * SEC, reply, sizeof reply, &m), 1);
    }
    sg_acache_stats s;
    sg_acache_get_stats(c, &s);
    assert_int_equal(s.capacity, budget);
    assert_int_equal(s.inserts, 2000);
    /* what is held fits the budget (each entry: 600 bytes of reply and its header) */
    assert_true(s.entries * 600 < budget);
    assert_true(s.entries >= 50);
    assert_int_equal(s.evictions, 2000 - s.entries);
    /* the newest is there with its own bytes; the first ones are gone */
    sg_acache_key last = key_for(names[1999], SG_TYPE_A, 0, 1);
    assert_int_equal(sg_acache_get(c, &last, now, out, sizeof out, &got), sizeof reply);
    int v;
    memcpy(&v, out, sizeof v);
    assert_int_equal(v, 1999);
    for (int i = 0; i < 100; i++) {
        sg_acache_key k = key_for(names[i], SG_TYPE_A, 0, 1);
        assert_int_equal(sg_acache_get(c, &k, now, out, sizeof out, &got), 0);
    }
    /* expired entries pushed out are not evictions */
    sg_acache_free(c);
    c = sg_acache_new(budget, NULL);
    for (int i = 0; i < 500; i++) {
        sg_acache_key k = key_for(names[i], SG_TYPE_A, 0, 1);
        sg_acache_put(c, &k, now + (uint64_t)i * SEC, now + (uint64_t)i * SEC + SEC / 2, reply, sizeof reply, &m);
    }
    sg_acache_get_stats(c, &s);
    assert_int_equal(s.evictions, 0);
    /* a reply too large for the budget is refused, not stored over everything */
    static uint8_t big[16000];
    sg_acache_key k = key_for(names[0], SG_TYPE_TXT, 0, 1);
    assert_int_equal(sg_acache_put(c, &k, now, now + SEC, big, sizeof big, &m), 0);
    sg_acache_free(c);
}

/* ---- the plugin ----------------------------------------------------------------------- */

static int g_calls;           /* queries that reached the stand-in zone */
static uint16_t g_rcode;
static uint32_t g_ttl_a = 300, g_ttl_ns = 60;
static uint32_t g_valid_until; /* what a signer would set */
static uint64_t g_version;
static int g_fail;

static const uint8_t a_rdata[] = { 0, 4, 192, 0, 2, 1 };
static sg_rrset g_a = { SG_TYPE_A, 1, 300, sizeof a_rdata, a_rdata };
static const uint8_t ns_rdata[] = { 0, 3, 2, 'n', 's' }; /* a TXT record */
static sg_rrset g_ns;

static int zone_handle(sg_handler *self, sg_query *q)
{
    (void)self;
    g_calls++;
    if (g_fail)
        return SG_ENOMEM;
    q->rcode = g_rcode;
    q->aa = 1;
    g_a.ttl = g_ttl_a;
    sg_section_add(&q->an, q->qname, &g_a, g_ttl_a, 0);
    g_ns = (sg_rrset){ SG_TYPE_TXT, 1, g_ttl_ns, sizeof ns_rdata, ns_rdata };
    sg_section_add(&q->ns, q->qname, &g_ns, g_ttl_ns, 0);
    if (g_valid_until)
        q->valid_until = g_valid_until;
    return 0;
}

static uint64_t zone_version(void *state, const sg_query *q)
{
    (void)state;
    (void)q;
    return g_version;
}

static const sg_plugin zone_plugin = { .name = "zone", .handle = zone_handle, .version = zone_version };

static sg_handler g_cache, g_zone;
static sg_cfg *g_cfg;
static sg_query g_q;
static uint8_t g_pkt[512], g_out[4096];
static int g_rc;

static int setup_chain(void **st)
{
    (void)st;
    assert_int_equal(sg_cfg_parse_string("example.test {\n cache 1M\n}\n", "Corefile", &g_cfg), 0);
    static uint8_t apex[SG_NAME_MAX];
    sg_name_from_str("example.test.", NULL, apex);
    const uint8_t *zones[1] = { apex };
    sg_setup_ctx ctx = { .zones = zones, .nzones = 1 };
    g_cache.plugin = &sg_plugin_cache;
    assert_int_equal(sg_plugin_cache.setup(&g_cfg->servers[0].children[0], &ctx, &g_cache.state), 0);
    g_zone.plugin = &zone_plugin;
    g_cache.next = &g_zone;
    g_calls = 0;
    g_rcode = SG_RCODE_NOERROR;
    g_ttl_a = 300;
    g_ttl_ns = 60;
    g_valid_until = 0;
    g_version = 1;
    g_fail = 0;
    return 0;
}

static int teardown_chain(void **st)
{
    (void)st;
    sg_plugin_cache.teardown(g_cache.state);
    sg_cfg_free(g_cfg);
    return 0;
}

/* Ask name/qtype (as written, case kept) with the given id, DO bit, at monotonic t. */
static sg_query *ask(const char *name, uint16_t qtype, uint16_t id, int do_bit, uint64_t t)
{
    uint8_t w[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str(name, NULL, w), 0);
    /* sg_name_from_str keeps the case as written */
    size_t nl = sg_name_len(w);
    memset(g_pkt, 0, 12);
    g_pkt[0] = (uint8_t)(id >> 8);
    g_pkt[1] = (uint8_t)id;
    g_pkt[2] = 0x01; /* RD */
    g_pkt[5] = 1;
    g_pkt[11] = 1;
    memcpy(g_pkt + 12, w, nl);
    size_t o = 12 + nl;
    g_pkt[o++] = (uint8_t)(qtype >> 8);
    g_pkt[o++] = (uint8_t)qtype;
    g_pkt[o++] = 0;
    g_pkt[o++] = 1;
    /* OPT: payload 1232, DO as asked */
    const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, (uint8_t)(do_bit ? 0x80 : 0), 0, 0, 0 };
    memcpy(g_pkt + o, opt, sizeof opt);
    o += sizeof opt;
    memset(&g_q, 0, sizeof g_q);
    g_q.transport = SG_TRANSPORT_UDP;
    assert_int_equal(sg_wire_parse_query(&g_q, g_pkt, o, 1232), SG_PARSE_OK);
    g_q.out = g_out;
    g_q.out_cap = sizeof g_out;
    g_q.start_ns = t;
    g_rc = g_cache.plugin->handle(&g_cache, &g_q);
    if (!g_q.out_len && !g_rc)
        sg_wire_render(&g_q);
    return &g_q;
}

static void test_plugin_hit_echoes_client(void **st)
{
    (void)st;
    uint64_t t = 100 * SEC;
    ask("www.example.test.", SG_TYPE_A, 0x1111, 1, t);
    assert_int_equal(g_calls, 1);
    uint8_t first[4096];
    size_t first_len = g_q.out_len;
    memcpy(first, g_out, first_len);
    sg_query *q = ask("WwW.ExAmPlE.test.", SG_TYPE_A, 0x2222, 1, t + SEC);
    assert_int_equal(g_calls, 1); /* from the cache */
    assert_int_equal(q->out_len, first_len);
    assert_int_equal(g_out[0], 0x22);
    assert_int_equal(g_out[1], 0x22);
    assert_memory_equal(g_out + 12, g_pkt + 12, 19); /* the client's case */
    assert_memory_equal(g_out + 2, first + 2, 10);   /* same flags and counts */
    assert_memory_equal(g_out + 12 + 19, first + 12 + 19, first_len - 12 - 19);
    assert_int_equal(q->rcode, SG_RCODE_NOERROR);
    assert_int_equal(q->aa, 1);
    /* DO is part of the key */
    ask("www.example.test.", SG_TYPE_A, 3, 0, t + SEC);
    assert_int_equal(g_calls, 2);
    ask("www.example.test.", SG_TYPE_A, 4, 0, t + 2 * SEC);
    assert_int_equal(g_calls, 2);
}

/* The entry goes at the shortest TTL in the reply (the authority's 60 here). */
static void test_plugin_expires_at_shortest_ttl(void **st)
{
    (void)st;
    uint64_t t = 100 * SEC;
    ask("www.example.test.", SG_TYPE_A, 1, 1, t);
    ask("www.example.test.", SG_TYPE_A, 1, 1, t + 60 * SEC - 1);
    assert_int_equal(g_calls, 1);
    ask("www.example.test.", SG_TYPE_A, 1, 1, t + 60 * SEC);
    assert_int_equal(g_calls, 2);
    /* a TTL of zero is never cached */
    g_ttl_ns = 0;
    ask("zero.example.test.", SG_TYPE_A, 1, 1, t);
    ask("zero.example.test.", SG_TYPE_A, 1, 1, t);
    assert_int_equal(g_calls, 4);
}

/* A signature's refresh point earlier than the TTL ends the entry there. */
static void test_plugin_expires_at_signature_refresh(void **st)
{
    (void)st;
    uint64_t t = 100 * SEC;
    g_valid_until = (uint32_t)time(NULL) + 5;
    ask("www.example.test.", SG_TYPE_A, 1, 1, t);
    ask("www.example.test.", SG_TYPE_A, 1, 1, t + 3 * SEC);
    assert_int_equal(g_calls, 1);
    ask("www.example.test.", SG_TYPE_A, 1, 1, t + 6 * SEC);
    assert_int_equal(g_calls, 2);
    /* a signature already at its refresh point: not cached at all */
    g_valid_until = (uint32_t)time(NULL) - 1;
    ask("old.example.test.", SG_TYPE_A, 1, 1, t);
    ask("old.example.test.", SG_TYPE_A, 1, 1, t);
    assert_int_equal(g_calls, 4);
}

static void test_plugin_version_change_misses(void **st)
{
    (void)st;
    uint64_t t = 100 * SEC;
    ask("www.example.test.", SG_TYPE_A, 1, 1, t);
    ask("www.example.test.", SG_TYPE_A, 1, 1, t);
    assert_int_equal(g_calls, 1);
    g_version = 2; /* the key set changed */
    ask("www.example.test.", SG_TYPE_A, 1, 1, t);
    assert_int_equal(g_calls, 2);
    ask("www.example.test.", SG_TYPE_A, 1, 1, t);
    assert_int_equal(g_calls, 2);
}

static void test_plugin_never_caches_errors(void **st)
{
    (void)st;
    uint64_t t = 100 * SEC;
    g_rcode = SG_RCODE_REFUSED;
    ask("www.example.test.", SG_TYPE_A, 1, 1, t);
    ask("www.example.test.", SG_TYPE_A, 1, 1, t);
    assert_int_equal(g_calls, 2);
    g_rcode = SG_RCODE_NXDOMAIN; /* negative answers are cached */
    ask("nx.example.test.", SG_TYPE_A, 1, 1, t);
    ask("nx.example.test.", SG_TYPE_A, 1, 1, t);
    assert_int_equal(g_calls, 3);
    g_rcode = SG_RCODE_NOERROR;
    g_fail = 1; /* a chain failure (SERVFAIL) */
    for (int i = 0; i < 2; i++) {
        ask("fail.example.test.", SG_TYPE_A, 1, 1, t);
        assert_true(g_rc < 0);
    }
    assert_int_equal(g_calls, 5);
    g_fail = 0;
    ask("fail.example.test.", SG_TYPE_A, 1, 1, t);
    assert_int_equal(g_rc, 0);
    assert_int_equal(g_calls, 6);
    /* transfers go past the cache every time */
    for (int i = 0; i < 2; i++) {
        memset(&g_q, 0, sizeof g_q);
        ask("www.example.test.", SG_TYPE_AXFR, 1, 0, t);
    }
    assert_int_equal(g_calls, 8);
}

static void test_parse_sizes(void **st)
{
    (void)st;
    struct { const char *line; int ok; size_t bytes; } cases[] = {
        { "cache", 1, 64u << 20 }, { "cache 64M", 1, 64u << 20 }, { "cache 512K", 1, 512u << 10 },
        { "cache 2G", 1, 2ull << 30 }, { "cache 100000", 1, 100000 }, { "cache 1K", 0, 0 },
        { "cache 12X", 0, 0 }, { "cache M", 0, 0 }, { "cache 1M 2M", 0, 0 }, { "cache 65G", 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "example.test {\n %s\n}\n", cases[i].line);
        sg_cfg *cfg = NULL;
        assert_int_equal(sg_cfg_parse_string(text, "Corefile", &cfg), 0);
        size_t bytes = 0;
        int rc = sg_cache_parse(&cfg->servers[0].children[0], &bytes);
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            assert_int_equal(bytes, cases[i].bytes);
        } else {
            assert_int_not_equal(rc, 0);
        }
        sg_cfg_free(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_key_fields),
        cmocka_unit_test(test_store_eviction_bound),
        cmocka_unit_test_setup_teardown(test_plugin_hit_echoes_client, setup_chain, teardown_chain),
        cmocka_unit_test_setup_teardown(test_plugin_expires_at_shortest_ttl, setup_chain, teardown_chain),
        cmocka_unit_test_setup_teardown(test_plugin_expires_at_signature_refresh, setup_chain, teardown_chain),
        cmocka_unit_test_setup_teardown(test_plugin_version_change_misses, setup_chain, teardown_chain),
        cmocka_unit_test_setup_teardown(test_plugin_never_caches_errors, setup_chain, teardown_chain),
        cmocka_unit_test(test_parse_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
