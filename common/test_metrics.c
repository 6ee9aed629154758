/* SPDX-License-Identifier: MIT */
/* Unit tests for per-worker counters, the source registry and the exposition format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/errors.h"
#include "common/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct tharg {
    sg_counters *c;
    int id;
} tharg;

static void *adder(void *p)
{
    tharg *a = p;
    if (a->id >= 0)
        sg_metrics_thread_slot(a->id);
    for (int i = 0; i < 100000; i++) {
        sg_counters_add(a->c, 0, 1);
        sg_counters_add(a->c, 9, 2);
    }
    return NULL;
}

/* Workers with their own row, and threads past the rows or without one (shared, atomic
 * row) all count exactly. */
static void test_counters_sum_over_threads(void **st)
{
    (void)st;
    sg_metrics_set_workers(2);
    sg_counters *c = sg_counters_new(10);
    assert_non_null(c);
    assert_int_equal(c->nslots, 3);
    assert_true(c->stride >= 10 && c->stride % 8 == 0);
    pthread_t th[5];
    tharg args[5] = { { c, 0 }, { c, 1 }, { c, 5 }, { c, -1 }, { c, -1 } };
    for (int i = 0; i < 5; i++)
        assert_int_equal(pthread_create(&th[i], NULL, adder, &args[i]), 0);
    for (int i = 0; i < 5; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(sg_counters_sum(c, 0), 500000);
    assert_int_equal(sg_counters_sum(c, 9), 1000000);
    assert_int_equal(sg_counters_sum(c, 5), 0);
    sg_counters_free(c);
    sg_counters_free(NULL);
}

/* A kept set is shared by key while one holder remains, so counts carry over from the
 * instance a reload replaces to the new one; the last drop frees it, and a set kept again
 * under that key starts from 0 (a zone removed and added back). */
static void test_kept_sets_outlive_their_first_holder(void **st)
{
    (void)st;
    sg_counters *old = sg_counters_keep("cache a.test.", 4);
    assert_non_null(old);
    sg_counters_add(old, 2, 5);
    sg_counters *other = sg_counters_keep("cache b.test.", 4);
    assert_non_null(other);
    assert_ptr_not_equal(other, old);
    assert_int_equal(sg_counters_sum(other, 2), 0);
    /* the reload: the new instance keeps its set before the old one drops it */
    sg_counters *fresh = sg_counters_keep("cache a.test.", 4);
    assert_ptr_equal(fresh, old);
    sg_counters_drop(old);
    sg_counters_add(fresh, 2, 1);
    assert_int_equal(sg_counters_sum(fresh, 2), 6);
    /* one key, two shapes: a bug refused, the set itself untouched */
    assert_null(sg_counters_keep("cache a.test.", 3));
    assert_null(sg_counters_keep(NULL, 3));
    assert_int_equal(sg_counters_sum(fresh, 2), 6);
    sg_counters_drop(fresh);
    sg_counters *again = sg_counters_keep("cache a.test.", 3);
    assert_non_null(again);
    assert_int_equal(again->n, 3);
    assert_int_equal(sg_counters_sum(again, 2), 0);
    sg_counters_drop(again);
    sg_counters_drop(other);
    sg_counters_drop(NULL);
}

static int src_a(sg_metrics_out *o, void *ctx)
{
    const char *zone = ctx;
    sg_metrics_family(o, "signet_test_total", SG_METRIC_COUNTER, "Test counter.");
    const char *l[] = { "zone", zone, NULL };
    sg_metrics_add_u64(o, "signet_test_total", NULL, l, 7);
    sg_metrics_family(o, "signet_test_gauge", SG_METRIC_GAUGE, "A gauge\\with \"text\"\nand lines.");
    sg_metrics_add_double(o, "signet_test_gauge", NULL, NULL, 1.5);
    return 0;
}

static int src_hist(sg_metrics_out *o, void *ctx)
{
    (void)ctx;
    sg_metrics_family(o, "signet_test_seconds", SG_METRIC_HISTOGRAM, "Latency.");
    const char *l[] = { "le", "0.001", NULL };
    sg_metrics_add_u64(o, "signet_test_seconds", "_bucket", l, 3);
    const char *inf[] = { "le", "+Inf", NULL };
    sg_metrics_add_u64(o, "signet_test_seconds", "_bucket", inf, 4);
    sg_metrics_add_double(o, "signet_test_seconds", "_sum", NULL, 0.25);
    sg_metrics_add_u64(o, "signet_test_seconds", "_count", NULL, 4);
    /* a sample of an undeclared family is refused, not printed */
    assert_int_equal(sg_metrics_add_u64(o, "signet_nope", NULL, NULL, 1), SG_ENOTFOUND);
    return 0;
}

/* Two sources adding to one family give one HELP/TYPE and grouped samples; a series both
 * render (the unlabeled gauge) is printed once; label values and help text are escaped. */
static void test_render_groups_and_escapes(void **st)
{
    (void)st;
    char z1[] = "a.test", z2[] = "we\"ird\\zone\n";
    assert_int_equal(sg_metrics_register(src_a, z1), 0);
    assert_int_equal(sg_metrics_register(src_hist, NULL), 0);
    assert_int_equal(sg_metrics_register(src_a, z2), 0);
    sg_buf b;
    sg_buf_init(&b);
    assert_int_equal(sg_metrics_render(&b), 0);
    const char *want =
        "# HELP signet_test_total Test counter.\n"
        "# TYPE signet_test_total counter\n"
        "signet_test_total{zone=\"a.test\"} 7\n"
        "signet_test_total{zone=\"we\\\"ird\\\\zone\\n\"} 7\n"
        "# HELP signet_test_gauge A gauge\\\\with \"text\"\\nand lines.\n"
        "# TYPE signet_test_gauge gauge\n"
        "signet_test_gauge 1.5\n"
        "# HELP signet_test_seconds Latency.\n"
        "# TYPE signet_test_seconds histogram\n"
        "signet_test_seconds_bucket{le=\"0.001\"} 3\n"
        "signet_test_seconds_bucket{le=\"+Inf\"} 4\n"
        "signet_test_seconds_sum 0.25\n"
        "signet_test_seconds_count 4\n";
    assert_string_equal(b.data, want);
    sg_buf_deinit(&b);

    sg_metrics_unregister(src_a, z1);
    sg_metrics_unregister(src_a, z2);
    sg_buf_init(&b);
    assert_int_equal(sg_metrics_render(&b), 0);
    assert_null(strstr(b.data, "signet_test_total"));
    assert_non_null(strstr(b.data, "signet_test_seconds_count 4\n"));
    sg_buf_deinit(&b);
    sg_metrics_unregister(src_hist, NULL);
    sg_buf_init(&b);
    assert_int_equal(sg_metrics_render(&b), 0);
    assert_int_equal(b.len, 0);
    sg_buf_deinit(&b);
}

static int src_many(sg_metrics_out *o, void *ctx)
{
    int *value = ctx;
    sg_metrics_family(o, "signet_test_many_total", SG_METRIC_COUNTER, "Many series.");
    for (int i = 0; i < 1000; i++) {
        char z[32];
        snprintf(z, sizeof z, "z%d.test", i);
        const char *l[] = { "zone", z, NULL };
        sg_metrics_add_u64(o, "signet_test_many_total", NULL, l, (uint64_t)*value);
    }
    return 0;
}

/* During a reload the old and the new instance of a plugin both render the same series:
 * each series appears once (the first source's value), else Prometheus rejects the scrape. */
static void test_render_each_series_once(void **st)
{
    (void)st;
    int old_v = 5, new_v = 6;
    assert_int_equal(sg_metrics_register(src_hist, NULL), 0);
    assert_int_equal(sg_metrics_register(src_many, &old_v), 0);
    assert_int_equal(sg_metrics_register(src_hist, NULL), 0);
    assert_int_equal(sg_metrics_register(src_many, &new_v), 0);
    sg_buf b;
    sg_buf_init(&b);
    assert_int_equal(sg_metrics_render(&b), 0);
    size_t lines = 0;
    for (size_t i = 0; i < b.len; i++)
        lines += b.data[i] == '\n';
    assert_int_equal(lines, 2 + 4 + 2 + 1000);
    assert_non_null(strstr(b.data, "signet_test_many_total{zone=\"z0.test\"} 5\n"));
    assert_non_null(strstr(b.data, "signet_test_many_total{zone=\"z999.test\"} 5\n"));
    assert_null(strstr(b.data, "} 6\n"));
    const char *c = strstr(b.data, "signet_test_seconds_count 4\n");
    assert_non_null(c);
    assert_null(strstr(c + 1, "signet_test_seconds_count"));
    sg_buf_deinit(&b);
    sg_metrics_unregister(src_many, &old_v);
    sg_metrics_unregister(src_many, &new_v);
    sg_metrics_unregister(src_hist, NULL);
    sg_metrics_unregister(src_hist, NULL);
}

static void test_buf_grows(void **st)
{
    (void)st;
    sg_buf b;
    sg_buf_init(&b);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (int i = 0; i < 50; i++)
        assert_int_equal(sg_buf_printf(&b, "%d:%s\n", i, big), 0);
    assert_int_equal(b.len, 50 * 1001 + 90);
    assert_int_equal(strlen(b.data), b.len);
    sg_buf_deinit(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_sum_over_threads),
        cmocka_unit_test(test_kept_sets_outlive_their_first_holder),
        cmocka_unit_test(test_render_groups_and_escapes),
        cmocka_unit_test(test_render_each_series_once),
        cmocka_unit_test(test_buf_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
