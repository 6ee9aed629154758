/* SPDX-License-Identifier: MIT */
/* Unit tests: which statuses are retried, the backoff schedule and Retry-After. */
#include "registrar/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static void retryable(void **st)
{
    (void)st;
    static const struct { long status; int retry; } t[] = {
        { 0, 1 }, { 429, 1 }, { 500, 1 }, { 502, 1 }, { 503, 1 }, { 599, 1 },
        { 400, 0 }, { 401, 0 }, { 403, 0 }, { 404, 0 }, { 409, 0 }, { 422, 0 }, { 200, 0 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(sg_reg_retryable(t[i].status), t[i].retry);
}

static void schedule(void **st)
{
    (void)st;
    /* rnd 0: the lower edge (half); rnd max: the whole delay */
    static const struct { unsigned attempt; uint32_t lo, hi; } t[] = {
        { 1, 3, 5 }, { 2, 5, 10 }, { 3, 10, 20 }, { 4, 20, 40 }, { 5, 40, 80 },
        { 10, 50, 100 }, { 40, 50, 100 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_int_equal(sg_reg_backoff(t[i].attempt, 5, 100, 0, 0), t[i].lo);
        uint32_t top = sg_reg_backoff(t[i].attempt, 5, 100, 0, 0xffffffffu);
        assert_true(top >= t[i].lo && top <= t[i].hi);
        for (uint32_t r = 0; r < 1000; r += 37) {
            uint32_t d = sg_reg_backoff(t[i].attempt, 5, 100, 0, r * 2654435761u);
            assert_true(d >= t[i].lo && d <= t[i].hi);
        }
    }
    /* Retry-After wins when it asks for more */
    assert_int_equal(sg_reg_backoff(1, 5, 100, 30, 0), 30);
    assert_int_equal(sg_reg_backoff(4, 5, 100, 2, 0), 20);
}

static void retry_after(void **st)
{
    (void)st;
    assert_int_equal(sg_reg_retry_after("2", 0), 2);
    assert_int_equal(sg_reg_retry_after(" 120 ", 0), 120);
    assert_int_equal(sg_reg_retry_after("999999", 0), 86400);
    assert_int_equal(sg_reg_retry_after("soon", 0), 0);
    assert_int_equal(sg_reg_retry_after(NULL, 0), 0);
    /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
    assert_int_equal(sg_reg_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 90), 90);
    assert_int_equal(sg_reg_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(retryable), cmocka_unit_test(schedule), cmocka_unit_test(retry_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
