/* SPDX-License-Identifier: MIT */
/* sg_retire: nothing is freed before its grace period has passed, everything after it,
 * and destroy frees what is left. Times are given, not waited for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/retire.h"

static int freed[4];

static void count_free(void *p) { freed[*(int *)p]++; }

static void test_grace(void **st)
{
    (void)st;
    static int ids[4] = { 0, 1, 2, 3 };
    sg_retire_list l;
    sg_retire_init(&l);
    sg_retire(&l, &ids[0], count_free, 1000);
    sg_retire(&l, &ids[1], count_free, 1010);
    sg_retire(&l, &ids[2], count_free, 1020);
    sg_retire_reap(&l, 1000 + SG_RETIRE_GRACE_SECONDS - 1, 0);
    assert_int_equal(freed[0] + freed[1] + freed[2], 0);
    sg_retire_reap(&l, 1010 + SG_RETIRE_GRACE_SECONDS, 0);
    assert_int_equal(freed[0], 1);
    assert_int_equal(freed[1], 1);
    assert_int_equal(freed[2], 0);
    sg_retire(&l, &ids[3], count_free, 2000);
    sg_retire_destroy(&l);                   /* the rest, once each */
    assert_int_equal(freed[0], 1);
    assert_int_equal(freed[1], 1);
    assert_int_equal(freed[2], 1);
    assert_int_equal(freed[3], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_grace) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
