/* SPDX-License-Identifier: MIT */
/* Unit tests for the signing gate: the cap on signatures in progress and the time budget,
 * on a simulated clock, and its two options. */
#include "signer/sign_gate.h"
#include "common/cfg.h"
#include "common/errors.h"
#include "common/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#define MS 1000000ull

static void cap(void **unused)
{
    (void)unused;
    sg_sign_gate g;
    sg_sign_gate_init(&g);
    g.shed = sg_counters_new(SG_GATE_COUNTERS);
    g.max_pending = 2;
    assert_int_equal(sg_sign_gate_enter(&g, 0, 5 * MS), 0);
    assert_int_equal(sg_sign_gate_enter(&g, 0, 5 * MS), 0);
    /* a third at once is refused, not queued, and leaves the count as it was */
    assert_int_equal(sg_sign_gate_enter(&g, 0, 5 * MS), SG_EBUSY);
    assert_int_equal(atomic_load(&g.pending), 2);
    assert_int_equal(sg_counters_sum(g.shed, SG_GATE_BUSY), 1);
    assert_int_equal(sg_counters_sum(g.shed, SG_GATE_LATE), 0);
    sg_sign_gate_leave(&g);
    assert_int_equal(sg_sign_gate_enter(&g, 0, 5 * MS), 0);
    sg_sign_gate_leave(&g);
    sg_sign_gate_leave(&g);
    assert_int_equal(atomic_load(&g.pending), 0);
    /* 0: no cap */
    g.max_pending = 0;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sg_sign_gate_enter(&g, 0, 5 * MS), 0);
    assert_int_equal(atomic_load(&g.pending), 1000);
    sg_counters_free(g.shed);
}

static void budget(void **unused)
{
    (void)unused;
    sg_sign_gate g;
    sg_sign_gate_init(&g);
    g.shed = sg_counters_new(SG_GATE_COUNTERS);
    assert_int_equal(g.budget_ns, 2000 * MS);
    g.budget_ns = 100 * MS;
    uint64_t start = 1000 * MS;
    assert_int_equal(sg_sign_gate_enter(&g, start, start + 100 * MS), 0);
    sg_sign_gate_leave(&g);
    assert_int_equal(sg_sign_gate_enter(&g, start, start + 101 * MS), SG_ETIMEOUT);
    assert_int_equal(atomic_load(&g.pending), 0);
    assert_int_equal(sg_counters_sum(g.shed, SG_GATE_LATE), 1);
    /* unknown arrival time: no budget */
    assert_int_equal(sg_sign_gate_enter(&g, 0, start + 5000 * MS), 0);
    sg_sign_gate_leave(&g);
    /* off */
    g.budget_ns = 0;
    assert_int_equal(sg_sign_gate_enter(&g, start, start + 3600000 * MS), 0);
    sg_sign_gate_leave(&g);
    sg_counters_free(g.shed);
}

static int option(const char *line, sg_sign_gate *g)
{
    sg_cfg *cfg = NULL;
    char text[200];
    snprintf(text, sizeof text, "a.test {\n %s\n}\n", line);
    int rc = sg_cfg_parse_string(text, "t", &cfg);
    if (rc)
        return rc;
    rc = sg_sign_gate_option(&cfg->servers[0].children[0], g);
    sg_cfg_free(cfg);
    return rc;
}

static void options(void **unused)
{
    (void)unused;
    sg_log_set_level(SG_LOG_SILENT);
    sg_sign_gate g;
    sg_sign_gate_init(&g);
    assert_int_equal(option("max-pending-signatures 8", &g), 0);
    assert_int_equal(g.max_pending, 8);
    assert_int_equal(option("query-time-budget 250ms", &g), 0);
    assert_int_equal(g.budget_ns, 250 * MS);
    assert_int_equal(option("query-time-budget 3s", &g), 0);
    assert_int_equal(g.budget_ns, 3000 * MS);
    assert_int_equal(option("query-time-budget 0", &g), 0);
    assert_int_equal(g.budget_ns, 0);
    assert_int_equal(option("keystore x", &g), 1);
    assert_int_equal(option("max-pending-signatures", &g), SG_ESYNTAX);
    assert_int_equal(option("max-pending-signatures -1", &g), SG_ESYNTAX);
    assert_int_equal(option("query-time-budget 2h", &g), SG_ESYNTAX);
    assert_int_equal(option("query-time-budget fast", &g), SG_ESYNTAX);
    assert_int_equal(option("query-time-budget ms", &g), SG_ESYNTAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cap),
        cmocka_unit_test(budget),
        cmocka_unit_test(options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
