/* SPDX-License-Identifier: MIT */
/* Unit tests for the registrar's event counts: by state, and carried over to the
 * registrar that a reload makes for the same provider and zone. */
#include "registrar/tick.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

typedef struct seen {
    uint64_t ok, retry, other;
    int calls;
} seen;

static void collect(void *arg, const char *state, uint64_t n)
{
    seen *s = arg;
    s->calls++;
    if (!strcmp(state, "reg-ok"))
        s->ok = n;
    else if (!strcmp(state, "reg-retry"))
        s->retry = n;
    else if (!strcmp(state, "other"))
        s->other = n;
}

static sg_registrar *manual(void)
{
    sg_reg_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.provider, "manual");
    sg_registrar *r = NULL;
    assert_int_equal(sg_reg_new(&cfg, &r), 0);
    return r;
}

static void test_counts_carry_over_a_reload(void **unused)
{
    (void)unused;
    sg_registrar *old = manual();
    assert_int_equal(sg_reg_keep_counts(old, "example.test."), 0);
    sg_reg_count(old, "reg-ok");
    sg_reg_count(old, "reg-retry");
    sg_reg_count(old, "reg-retry");
    sg_reg_count(old, "something-new");
    /* the reload: the new registrar takes the set before the old one is freed */
    sg_registrar *fresh = manual();
    assert_int_equal(sg_reg_keep_counts(fresh, "example.test."), 0);
    sg_reg_free(old);
    sg_reg_count(fresh, "reg-ok");
    seen s = { 0 };
    sg_reg_counts(fresh, collect, &s);
    assert_int_equal(s.ok, 2);
    assert_int_equal(s.retry, 2);
    assert_int_equal(s.other, 1);
    assert_int_equal(s.calls, 3); /* states with no event are not reported */

    /* another zone has its own counts; one that was not kept counts only its own */
    sg_registrar *z2 = manual();
    assert_int_equal(sg_reg_keep_counts(z2, "other.test."), 0);
    sg_registrar *alone = manual();
    sg_reg_count(alone, "reg-ok");
    seen s2 = { 0 }, s3 = { 0 };
    sg_reg_counts(z2, collect, &s2);
    sg_reg_counts(alone, collect, &s3);
    assert_int_equal(s2.calls, 0);
    assert_int_equal(s3.ok, 1);
    assert_int_equal(sg_reg_keep_counts(alone, NULL), SG_EINVAL);
    sg_reg_free(alone);
    sg_reg_free(z2);
    sg_reg_free(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_carry_over_a_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
