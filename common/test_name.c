/* SPDX-License-Identifier: MIT */
/* Unit tests for wire-format names: conversion, comparison and RFC 4034 canonical order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/errors.h"
#include "common/name.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t *W(const char *s)
{
    static uint8_t bufs[16][SG_NAME_MAX];
    static int k;
    uint8_t *b = bufs[k++ % 16];
    if (sg_name_from_str(s, (const uint8_t *)"", b))
        fail_msg("bad name %s", s);
    return b;
}

static void test_from_to_str(void **st)
{
    (void)st;
    uint8_t w[SG_NAME_MAX];
    char buf[1100];
    assert_int_equal(sg_name_from_str("www.Example.TEST.", NULL, w), 0);
    assert_memory_equal(w, "\3www\7Example\4TEST", 18);
    assert_int_equal(sg_name_len(w), 18);
    assert_int_equal(sg_name_labels(w), 3);
    sg_name_to_str(w, buf, sizeof buf);
    assert_string_equal(buf, "www.Example.TEST.");
    /* relative names and @ */
    uint8_t origin[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str("example.test.", NULL, origin), 0);
    assert_int_equal(sg_name_from_str("www", origin, w), 0);
    sg_name_to_str(w, buf, sizeof buf);
    assert_string_equal(buf, "www.example.test.");
    assert_int_equal(sg_name_from_str("@", origin, w), 0);
    assert_true(sg_name_eq(w, origin));
    assert_int_equal(sg_name_from_str("www", NULL, w), SG_ESYNTAX);
    /* escapes round-trip */
    assert_int_equal(sg_name_from_str("a\\.b.c\\032d.", NULL, w), 0);
    assert_int_equal(w[0], 3);
    assert_memory_equal(w + 1, "a.b", 3);
    sg_name_to_str(w, buf, sizeof buf);
    assert_string_equal(buf, "a\\.b.c\\032d.");
    /* limits */
    char lbl[70];
    memset(lbl, 'a', 64);
    lbl[64] = 0;
    assert_int_equal(sg_name_from_str(lbl, (const uint8_t *)"", w), SG_ESYNTAX);
    char longname[400] = "";
    for (int i = 0; i < 60; i++)
        strcat(longname, "abcd.");
    assert_int_equal(sg_name_from_str(longname, NULL, w), SG_ESYNTAX);
    assert_int_equal(sg_name_from_str("a..b.", NULL, w), SG_ESYNTAX);
    assert_int_equal(sg_name_from_str(".", NULL, w), 0);
    assert_int_equal(w[0], 0);
}

static void test_relations(void **st)
{
    (void)st;
    assert_true(sg_name_eq(W("A.example.TEST."), W("a.EXAMPLE.test.")));
    assert_false(sg_name_eq(W("a.example.test."), W("b.example.test.")));
    assert_true(sg_name_is_sub(W("x.y.Example.test."), W("example.TEST.")));
    assert_true(sg_name_is_sub(W("example.test."), W("example.test.")));
    assert_false(sg_name_is_sub(W("example.test."), W("x.example.test.")));
    assert_false(sg_name_is_sub(W("badexample.test."), W("example.test.")));
    assert_true(sg_name_is_sub(W("anything."), W(".")));
    const uint8_t *n = W("a.b.c.");
    assert_true(sg_name_eq(sg_name_parent(n), W("b.c.")));
    uint8_t l[SG_NAME_MAX];
    memcpy(l, W("MiXeD.CaSe."), 13);
    sg_name_lower(l);
    assert_memory_equal(l, "\5mixed\4case", 12);
}

/* RFC 4034 section 6.1 gives this exact order. */
static void test_canonical_order(void **st)
{
    (void)st;
    static const char *order[] = {
        "example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
        "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.",
        "\\200.z.example.",
    };
    size_t n = sizeof order / sizeof order[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int c = sg_name_canon_cmp(W(order[i]), W(order[j]));
            if (i < j)
                assert_true(c < 0);
            else if (i > j)
                assert_true(c > 0);
            else
                assert_int_equal(c, 0);
        }
    }
}

static void test_hash_case(void **st)
{
    (void)st;
    uint8_t a[SG_NAME_MAX], b[SG_NAME_MAX];
    memcpy(a, W("www.example.test."), 18);
    memcpy(b, W("www.example.tesu."), 18);
    assert_int_not_equal(sg_name_hash(a, 18), sg_name_hash(b, 18));
    assert_int_equal(sg_name_hash(a, 18), sg_name_hash(W("www.example.test."), 18));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_to_str),
        cmocka_unit_test(test_relations),
        cmocka_unit_test(test_canonical_order),
        cmocka_unit_test(test_hash_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
