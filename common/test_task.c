/* SPDX-License-Identifier: MIT */
/* sg_task: a wake is never lost (one that comes while the thread works ends its next
 * sleep), and stop ends a long sleep and joins. The sleeps asked for are a minute long,
 * so a lost wake shows as a hang (ctest's timeout), not as a slow pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/task.h"

#include <unistd.h>

static void test_wake_before_sleep(void **st)
{
    (void)st;
    sg_task t;
    sg_task_init(&t);
    sg_task_wake(&t);                         /* as if it came while the thread was busy */
    assert_int_equal(sg_task_sleep(&t, 60000), 0);
    assert_int_equal(t.kicked, 0);            /* consumed: the next sleep would wait */
    sg_task_stop(&t);                         /* never started: only marks it */
    assert_int_equal(sg_task_sleep(&t, 60000), 1);
    assert_true(sg_task_stopping(&t));
    sg_task_destroy(&t);
}

struct loop {
    sg_task task;
    atomic_int rounds;
};

static void *run(void *arg)
{
    struct loop *l = arg;
    while (!sg_task_sleep(&l->task, 60000))
        atomic_fetch_add(&l->rounds, 1);
    return NULL;
}

static void test_thread_wake_and_stop(void **st)
{
    (void)st;
    struct loop l;
    sg_task_init(&l.task);
    atomic_init(&l.rounds, 0);
    assert_int_equal(sg_task_start(&l.task, "test-task", run, &l), 0);
    for (int want = 1; want <= 3; want++) {
        sg_task_wake(&l.task);
        while (atomic_load(&l.rounds) < want)
            usleep(1000);
    }
    sg_task_stop(&l.task);                    /* ends the minute-long sleep and joins */
    assert_int_equal(l.task.started, 0);
    assert_int_equal(atomic_load(&l.rounds), 3);
    sg_task_destroy(&l.task);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wake_before_sleep),
        cmocka_unit_test(test_thread_wake_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
