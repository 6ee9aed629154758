/* SPDX-License-Identifier: MIT */
/* sg_apex_index: every zone of a large table found at its own place, names that are not
 * there (a parent, a child, another length) not found, an empty table finds nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/apex_index.h"
#include "common/name.h"

#define N 5000

static uint8_t apexes[N][SG_NAME_MAX];

static const uint8_t *apex_of(const void *table, int i)
{
    return ((const uint8_t (*)[SG_NAME_MAX])table)[i];
}

static void name(const char *s, uint8_t out[SG_NAME_MAX])
{
    assert_int_equal(sg_name_from_str(s, NULL, out), 0);
}

static void test_many(void **st)
{
    (void)st;
    char s[64];
    for (int i = 0; i < N; i++) {
        snprintf(s, sizeof s, "z%d.example.", i);
        name(s, apexes[i]);
    }
    sg_apex_index ix;
    assert_int_equal(sg_apex_index_build(&ix, apexes, N, apex_of), 0);
    assert_true(ix.mask + 1 >= 2u * N);
    for (int i = 0; i < N; i++)
        assert_int_equal(sg_apex_index_find(&ix, apexes, apex_of, apexes[i], sg_name_len(apexes[i])), i);
    uint8_t other[SG_NAME_MAX];
    const char *absent[] = { "example.", "a.z1.example.", "z5000.example.", "z1.example.net." };
    for (size_t k = 0; k < sizeof absent / sizeof absent[0]; k++) {
        name(absent[k], other);
        assert_int_equal(sg_apex_index_find(&ix, apexes, apex_of, other, sg_name_len(other)), -1);
    }
    sg_apex_index_free(&ix);
    assert_null(ix.slot);
}

static void test_empty(void **st)
{
    (void)st;
    sg_apex_index ix;
    assert_int_equal(sg_apex_index_build(&ix, apexes, 0, apex_of), 0);
    uint8_t a[SG_NAME_MAX];
    name("example.", a);
    assert_int_equal(sg_apex_index_find(&ix, apexes, apex_of, a, sg_name_len(a)), -1);
    sg_apex_index_free(&ix);
    assert_int_equal(sg_apex_index_find(NULL, apexes, apex_of, a, sg_name_len(a)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
