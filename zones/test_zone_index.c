/* SPDX-License-Identifier: MIT */
/* Unit tests for the zones-by-apex index (the `file` plugin's lookup) and the zone set's
 * apex index: right answers with many zones, nested zones, any case, removal, and a
 * lookup cost (apex comparisons, counted by test hooks) that does not grow with zones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zones/zone_index.h"
#include "zones/zonedb.h"
#include "common/errors.h"
#include "common/name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NZONES 1000

static char g_dir[64];

static const char *zone_file(const char *apex)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s.zone", g_dir, apex);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "$ORIGIN %s.\n$TTL 600\n@ IN SOA ns hostmaster 1 3600 600 86400 120\n"
               "  IN NS ns\nns IN A 192.0.2.1\n", apex);
    fclose(f);
    return path;
}

static sg_zone *load(const char *apex)
{
    sg_zone *z = NULL;
    assert_int_equal(sg_zone_load_file(zone_file(apex), apex, &z), 0);
    return z;
}

static sg_query *question(const char *name, uint16_t type)
{
    static sg_query q;
    memset(&q, 0, sizeof q);
    assert_int_equal(sg_name_from_str(name, (const uint8_t *)"", q.qname), 0);
    sg_name_lower(q.qname); /* as the wire parser does */
    q.qname_len = (uint8_t)sg_name_len(q.qname);
    q.qlabels = (uint8_t)sg_name_labels(q.qname);
    q.qtype = type;
    return &q;
}

static const char *answer_of(const sg_zone_index *idx, const char *name, uint16_t type)
{
    const sg_zone *z = sg_zone_index_match(idx, question(name, type));
    return z ? z->apex_str : "(none)";
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/sg-zidx-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_index_many_nested(void **state)
{
    (void)state;
    sg_zone_index *idx = sg_zone_index_new();
    assert_non_null(idx);
    static sg_zone *zs[NZONES];
    for (int i = 0; i < NZONES; i++) {
        char apex[64];
        snprintf(apex, sizeof apex, "z%d.test", i);
        zs[i] = load(apex);
        assert_int_equal(sg_zone_index_add(idx, zs[i]), 0);
    }
    sg_zone *a = load("a.test"), *ba = load("b.a.test");
    assert_int_equal(sg_zone_index_add(idx, ba), 0); /* child first: order must not matter */
    assert_int_equal(sg_zone_index_add(idx, a), 0);
    assert_int_equal(sg_zone_index_count(idx), NZONES + 2);

    assert_string_equal(answer_of(idx, "www.z517.test", SG_TYPE_A), "z517.test.");
    assert_string_equal(answer_of(idx, "z999.test", SG_TYPE_SOA), "z999.test.");
    assert_string_equal(answer_of(idx, "x.y.b.a.test", SG_TYPE_A), "b.a.test.");
    assert_string_equal(answer_of(idx, "b.a.test", SG_TYPE_NS), "b.a.test.");
    assert_string_equal(answer_of(idx, "c.a.test", SG_TYPE_A), "a.test.");
    /* the DS at a child's apex is the parent's; at a zone without its parent here, its own */
    assert_string_equal(answer_of(idx, "b.a.test", SG_TYPE_DS), "a.test.");
    assert_string_equal(answer_of(idx, "a.test", SG_TYPE_DS), "a.test.");
    assert_string_equal(answer_of(idx, "x.b.a.test", SG_TYPE_DS), "b.a.test.");
    /* not ours */
    assert_string_equal(answer_of(idx, "test", SG_TYPE_SOA), "(none)");
    assert_string_equal(answer_of(idx, "z1000.test", SG_TYPE_A), "(none)");
    assert_string_equal(answer_of(idx, "example.org", SG_TYPE_A), "(none)");

    /* any case */
    uint8_t w[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str("B.A.Test", (const uint8_t *)"", w), 0);
    assert_ptr_equal(sg_zone_index_get(idx, w), ba);
    /* a second zone for an apex does not displace the first */
    sg_zone *dup = load("a.test");
    assert_int_equal(sg_zone_index_add(idx, dup), 0);
    assert_ptr_equal(sg_zone_index_match(idx, question("a.test", SG_TYPE_SOA)), a);
    assert_int_equal(sg_zone_index_count(idx), NZONES + 2);
    sg_zone_free(dup);

    /* the cost: a handful of comparisons per lookup, not one per zone */
    sg_zone_index_compares = 0;
    for (int i = 0; i < NZONES; i++) {
        char name[64], apex[64];
        snprintf(name, sizeof name, "deep.www.z%d.test", i);
        snprintf(apex, sizeof apex, "z%d.test.", i);
        assert_string_equal(answer_of(idx, name, SG_TYPE_A), apex);
    }
    /* 5 suffixes probed at most per name, a short probe run each (load <= 1/2) */
    assert_true(sg_zone_index_compares < NZONES * 5 * 2);
    sg_zone_index_compares = 0;
    answer_of(idx, "x.y.b.a.test", SG_TYPE_A);
    assert_true(sg_zone_index_compares <= 16);

    /* removal: the child goes, the parent answers below it; half the zones go, the rest
     * are all still found (the probe runs were mended) */
    assert_int_equal(sg_name_from_str("b.a.TEST", (const uint8_t *)"", w), 0);
    assert_int_equal(sg_zone_index_remove(idx, w), 0);
    assert_int_equal(sg_zone_index_remove(idx, w), SG_ENOTFOUND);
    assert_string_equal(answer_of(idx, "x.y.b.a.test", SG_TYPE_A), "a.test.");
    assert_string_equal(answer_of(idx, "b.a.test", SG_TYPE_DS), "a.test.");
    for (int i = 0; i < NZONES; i += 2)
        assert_int_equal(sg_zone_index_remove(idx, zs[i]->apex), 0);
    for (int i = 0; i < NZONES; i++) {
        char name[64];
        snprintf(name, sizeof name, "www.z%d.test", i);
        const sg_zone *z = sg_zone_index_match(idx, question(name, SG_TYPE_A));
        if (i % 2)
            assert_ptr_equal(z, zs[i]);
        else
            assert_null(z);
    }
    assert_int_equal(sg_zone_index_count(idx), NZONES / 2 + 1);

    sg_zone_index_free(idx);
    for (int i = 0; i < NZONES; i++)
        sg_zone_free(zs[i]);
    sg_zone_free(a);
    sg_zone_free(ba);
}

static void test_zonedb_many(void **state)
{
    (void)state;
    static sg_zone *zs[NZONES];
    char apex[64];
    for (int i = 0; i < NZONES; i++) {
        snprintf(apex, sizeof apex, "d%d.test", i);
        const char *path = zone_file(apex);
        assert_int_equal(sg_zonedb_acquire(path, apex, 0, 0, &zs[i]), 0);
    }
    /* an unchanged file is the same version, found without a walk */
    unsigned long c0 = sg_zonedb_test_compares();
    sg_zone *again = NULL;
    snprintf(apex, sizeof apex, "d%d.test", 777);
    char path[256];
    snprintf(path, sizeof path, "%s/%s.zone", g_dir, apex);
    assert_int_equal(sg_zonedb_acquire(path, "D777.Test", 0, 0, &again), 0);
    assert_ptr_equal(again, zs[777]);
    assert_true(sg_zonedb_test_compares() - c0 <= 8);
    sg_zonedb_release(again);

    uint8_t w[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str("d5.TEST", (const uint8_t *)"", w), 0);
    c0 = sg_zonedb_test_compares();
    sg_zone *got = NULL;
    assert_int_equal(sg_zonedb_acquire_apex(w, &got), 0);
    assert_ptr_equal(got, zs[5]);
    assert_true(sg_zonedb_test_compares() - c0 <= 8);
    sg_zonedb_release(got);

    /* a slot's version is found by apex too, and wins when newer */
    sg_zone_slot *slot = NULL;
    assert_int_equal(sg_zonedb_slot_acquire("d5.test", &slot), 0);
    sg_zone *xfr = load("d5.test");
    assert_int_equal(sg_zonedb_slot_publish(slot, xfr), 0);
    assert_int_equal(sg_zonedb_acquire_apex(w, &got), 0);
    assert_ptr_equal(got, xfr);
    sg_zonedb_release(got);
    sg_zonedb_slot_release(slot);

    /* released: gone from the set */
    c0 = sg_zonedb_test_compares();
    for (int i = 0; i < NZONES; i++)
        sg_zonedb_release(zs[i]);
    assert_true(sg_zonedb_test_compares() - c0 <= (unsigned long)NZONES * 4);
    assert_int_equal(sg_zonedb_acquire_apex(w, &got), SG_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_many_nested),
        cmocka_unit_test(test_zonedb_many),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
