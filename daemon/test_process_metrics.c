/* SPDX-License-Identifier: MIT */
/* Unit tests for the process's own metrics: /proc/self/stat parsing (a command name with
 * spaces and parentheses), the boot time, and a real scrape of this test process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/process_metrics.h"
#include "common/errors.h"
#include "common/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void test_stat_parse(void **st)
{
    (void)st;
    /* fields as Linux prints them; utime 250, stime 150, starttime 12345, vsize, rss */
    const char *line = "4242 (sg) (x y)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 "
                       "20 0 7 0 12345 123456789 2048 18446744073709551615 1 1 0 0 0\n";
    sg_proc_stat ps;
    assert_int_equal(sg_proc_stat_parse(line, 100, &ps), 0);
    assert_true(ps.cpu_seconds > 3.999 && ps.cpu_seconds < 4.001);
    assert_true(ps.start_after_boot > 123.449 && ps.start_after_boot < 123.451);
    assert_int_equal(ps.vsize, 123456789);
    assert_int_equal(ps.rss_pages, 2048);
    assert_int_equal(sg_proc_stat_parse("4242 (sg) S 1 2", 100, &ps), SG_EINVAL);
    assert_int_equal(sg_proc_stat_parse("no parenthesis", 100, &ps), SG_EINVAL);
    assert_int_equal(sg_proc_stat_parse(NULL, 100, &ps), SG_EINVAL);

    int64_t boot = 0;
    assert_int_equal(sg_proc_boot_time("cpu  1 2 3\nintr 5\nbtime 1764950400\nprocesses 9\n", &boot), 0);
    assert_int_equal(boot, 1764950400);
    assert_int_equal(sg_proc_boot_time("cpu 1\n", &boot), SG_EINVAL);
}

static double sample(const char *text, const char *name)
{
    char key[256];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static void test_scrape(void **st)
{
    (void)st;
    assert_int_equal(sg_process_metrics_register(), 0);
    sg_buf b;
    sg_buf_init(&b);
    assert_int_equal(sg_metrics_render(&b), 0);
    const char *t = b.data;
    assert_non_null(strstr(t, "# TYPE signet_build_info gauge\nsignet_build_info{version=\""));
    assert_non_null(strstr(t, "# TYPE process_cpu_seconds_total counter\n"));
    double start = sample(t, "process_start_time_seconds"), now = (double)time(NULL);
    assert_true(start > now - 3600 && start <= now + 1); /* this test started just now */
    assert_true(sample(t, "process_cpu_seconds_total") >= 0);
    assert_true(sample(t, "process_resident_memory_bytes") > 100000);
    assert_true(sample(t, "process_virtual_memory_bytes") >= sample(t, "process_resident_memory_bytes"));
    assert_true(sample(t, "process_open_fds") >= 3);
    assert_true(sample(t, "process_max_fds") >= sample(t, "process_open_fds"));
    sg_buf_deinit(&b);
    sg_process_metrics_unregister();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_parse),
        cmocka_unit_test(test_scrape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
