/* SPDX-License-Identifier: MIT */
/* Unit tests for the parallel merge sort: the same order as qsort, on any thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/psort.h"

#include <stdlib.h>
#include <string.h>

typedef struct elem {
    uint32_t key;       /* few distinct values: many ties */
    uint32_t id;        /* unique: with it the order is total */
    char pad[12];       /* an odd size, as real records have */
} elem;

static int cmp_total(const void *pa, const void *pb)
{
    const elem *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_key(const void *pa, const void *pb)
{
    const elem *a = pa, *b = pb;
    return a->key < b->key ? -1 : a->key > b->key;
}

static elem *make(size_t n, unsigned seed, uint32_t keys)
{
    elem *e = calloc(n ? n : 1, sizeof *e);
    assert_non_null(e);
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        e[i].key = (uint32_t)rand() % keys;
        e[i].id = (uint32_t)i * 2654435761u; /* distinct, not in order */
        memcpy(e[i].pad, &e[i].id, sizeof e[i].id);
    }
    return e;
}

static void test_total_order_equals_qsort(void **state)
{
    (void)state;
    const size_t sizes[] = { 0, 1, 2, 8191, 8192, 20000, 100003 };
    const int threads[] = { 1, 2, 3, 4, 7 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        elem *want = make(sizes[s], (unsigned)s + 1, 50);
        qsort(want, sizes[s], sizeof *want, cmp_total);
        for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
            elem *got = make(sizes[s], (unsigned)s + 1, 50);
            assert_int_equal(sg_psort(got, sizes[s], sizeof *got, cmp_total, threads[t]), 0);
            assert_memory_equal(got, want, (sizes[s] ? sizes[s] : 1) * sizeof *got);
            free(got);
        }
        free(want);
    }
}

/* With ties the order of equal elements is free, but the keys' order and the elements
 * (as a whole) are qsort's. */
static void test_ties(void **state)
{
    (void)state;
    size_t n = 50000;
    elem *got = make(n, 9, 3);
    assert_int_equal(sg_psort(got, n, sizeof *got, cmp_key, 4), 0);
    for (size_t i = 1; i < n; i++)
        assert_true(got[i - 1].key <= got[i].key);
    elem *want = make(n, 9, 3);
    qsort(want, n, sizeof *want, cmp_total);
    qsort(got, n, sizeof *got, cmp_total);
    assert_memory_equal(got, want, n * sizeof *got);
    free(got);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_order_equals_qsort),
        cmocka_unit_test(test_ties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
