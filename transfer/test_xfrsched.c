/* SPDX-License-Identifier: MIT */
/* cmocka: the version workers' due queue (order, moves, removal) and the pool (a fixed
 * number of threads for many jobs, wakes that jump the queue, removal during a turn). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "transfer/xfrsched.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void check_heap(const sg_xfr_queue *q)
{
    for (size_t i = 0; i < q->n; i++) {
        assert_int_equal(q->h[i]->pos, i + 1);
        if (i) {
            const sg_xfr_job *p = q->h[(i - 1) / 2], *c = q->h[i];
            assert_true(p->due < c->due || (p->due == c->due && p->seq < c->seq));
        }
    }
}

static void test_order(void **st)
{
    (void)st;
    static const struct { int64_t due; int want; } cases[] = {
        { 50, 4 }, { 10, 1 }, { 30, 2 }, { 30, 3 }, { 90, 6 }, { 70, 5 }, { 0, 0 },
    };
    enum { N = sizeof cases / sizeof cases[0] };
    sg_xfr_job j[N];
    memset(j, 0, sizeof j);
    sg_xfr_queue q;
    sg_xfr_queue_init(&q);
    assert_int_equal(sg_xfr_queue_reserve(&q, N), 0);
    for (int i = 0; i < N; i++) {
        sg_xfr_queue_set(&q, &j[i], cases[i].due);
        check_heap(&q);
    }
    /* nothing is due before its time */
    assert_ptr_equal(sg_xfr_queue_pop_due(&q, -1), NULL);
    assert_ptr_equal(sg_xfr_queue_top(&q), &j[6]);
    for (int k = 0; k < N; k++) {
        sg_xfr_job *got = sg_xfr_queue_pop_due(&q, 1000);
        assert_non_null(got);
        assert_int_equal(cases[got - j].want, k); /* equal due times: first set, first out */
        assert_int_equal(got->pos, 0);
        check_heap(&q);
    }
    assert_ptr_equal(sg_xfr_queue_pop_due(&q, 1000), NULL);
    sg_xfr_queue_deinit(&q);
}

static void test_move_and_remove(void **st)
{
    (void)st;
    sg_xfr_job j[5];
    memset(j, 0, sizeof j);
    sg_xfr_queue q;
    sg_xfr_queue_init(&q);
    assert_int_equal(sg_xfr_queue_reserve(&q, 5), 0);
    for (int i = 0; i < 5; i++)
        sg_xfr_queue_set(&q, &j[i], 100 + 10 * i);
    /* a woken job jumps ahead of every job that is merely due */
    sg_xfr_queue_set(&q, &j[4], 0);
    check_heap(&q);
    assert_ptr_equal(sg_xfr_queue_pop_due(&q, 100), &j[4]);
    /* one moved later goes behind the others */
    sg_xfr_queue_set(&q, &j[0], 500);
    check_heap(&q);
    assert_ptr_equal(sg_xfr_queue_top(&q), &j[1]);
    /* removal from the middle keeps the order; removing twice does nothing */
    sg_xfr_queue_del(&q, &j[2]);
    sg_xfr_queue_del(&q, &j[2]);
    check_heap(&q);
    assert_int_equal(q.n, 3);
    assert_ptr_equal(sg_xfr_queue_pop_due(&q, 1000), &j[1]);
    assert_ptr_equal(sg_xfr_queue_pop_due(&q, 1000), &j[3]);
    assert_ptr_equal(sg_xfr_queue_pop_due(&q, 499), NULL); /* j[0] at 500 */
    assert_ptr_equal(sg_xfr_queue_pop_due(&q, 500), &j[0]);
    sg_xfr_queue_deinit(&q);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_random_against_sort(void **st)
{
    (void)st;
    enum { N = 2000 };
    sg_xfr_job *j = calloc(N, sizeof *j);
    int64_t *want = calloc(N, sizeof *want);
    assert_non_null(j);
    assert_non_null(want);
    sg_xfr_queue q;
    sg_xfr_queue_init(&q);
    assert_int_equal(sg_xfr_queue_reserve(&q, N), 0);
    srand(17);
    for (int i = 0; i < N; i++)
        sg_xfr_queue_set(&q, &j[i], rand() % 5000);
    for (int i = 0; i < N; i++) /* every job moved once, some removed and put back */
        sg_xfr_queue_set(&q, &j[rand() % N], rand() % 5000);
    for (int i = 0; i < N / 4; i++) {
        sg_xfr_job *x = &j[rand() % N];
        sg_xfr_queue_del(&q, x);
        sg_xfr_queue_set(&q, x, rand() % 5000);
    }
    check_heap(&q);
    for (int i = 0; i < N; i++)
        want[i] = j[i].due;
    qsort(want, N, sizeof *want, cmp_i64);
    for (int i = 0; i < N; i++) {
        sg_xfr_job *got = sg_xfr_queue_pop_due(&q, 5000);
        assert_non_null(got);
        assert_int_equal(got->due, want[i]);
    }
    assert_int_equal(q.n, 0);
    sg_xfr_queue_deinit(&q);
    free(j);
    free(want);
}

/* ---- the pool ------------------------------------------------------------------------- */

typedef struct item {
    sg_xfr_job job;
    atomic_int turns;
    atomic_int in_turn;
    int slow_ms;
} item;

static int64_t count_turn(sg_xfr_job *j, int64_t now_ms)
{
    item *it = j->arg;
    atomic_store(&it->in_turn, 1);
    atomic_fetch_add(&it->turns, 1);
    if (it->slow_ms)
        usleep((useconds_t)it->slow_ms * 1000);
    atomic_store(&it->in_turn, 0);
    return now_ms + 60000; /* next turn far away: only wakes bring one sooner */
}

static void wait_turns(item *it, int n)
{
    for (int i = 0; i < 500 && atomic_load(&it->turns) < n; i++)
        usleep(10000);
    assert_true(atomic_load(&it->turns) >= n);
}

static void test_pool_many_jobs_few_threads(void **st)
{
    (void)st;
    enum { N = 1000 };
    item *it = calloc(N, sizeof *it);
    assert_non_null(it);
    for (int i = 0; i < N; i++) {
        it[i].job.turn = count_turn;
        it[i].job.arg = &it[i];
        assert_int_equal(sg_xfr_sched_add(&it[i].job, 2), 0);
    }
    assert_int_equal(sg_xfr_sched_workers(), 2);
    for (int i = 0; i < N; i++)
        wait_turns(&it[i], 1); /* each added job runs at once */
    usleep(100000);
    for (int i = 0; i < N; i++)
        assert_int_equal(atomic_load(&it[i].turns), 1); /* and not again before it is due */
    /* a wake brings the next turn at once */
    sg_xfr_sched_wake(&it[500].job);
    wait_turns(&it[500], 2);
    assert_int_equal(atomic_load(&it[499].turns), 1);
    for (int i = 0; i < N; i++)
        sg_xfr_sched_remove(&it[i].job);
    assert_int_equal(sg_xfr_sched_workers(), 0); /* the last job out stops the workers */
    free(it);
}

typedef struct remover {
    item *it;
    atomic_int returned;
} remover;

static void *remove_thread(void *arg)
{
    remover *r = arg;
    sg_xfr_sched_remove(&r->it->job);
    atomic_store(&r->returned, 1);
    return NULL;
}

static void test_pool_remove_during_turn(void **st)
{
    (void)st;
    item keep = { .job = { .turn = count_turn, .arg = &keep } };
    item slow = { .job = { .turn = count_turn, .arg = &slow }, .slow_ms = 300 };
    keep.job.arg = &keep;
    slow.job.arg = &slow;
    assert_int_equal(sg_xfr_sched_add(&keep.job, 1), 0);
    assert_int_equal(sg_xfr_sched_add(&slow.job, 1), 0);
    for (int i = 0; i < 500 && !atomic_load(&slow.in_turn); i++)
        usleep(1000);
    assert_true(atomic_load(&slow.in_turn));
    remover r = { .it = &slow };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, remove_thread, &r), 0);
    usleep(50000);
    assert_false(atomic_load(&r.returned)); /* waits while the turn runs */
    pthread_join(t, NULL);
    assert_false(atomic_load(&slow.in_turn));
    int turns = atomic_load(&slow.turns);
    sg_xfr_sched_wake(&slow.job); /* gone: a wake must not bring it back */
    sg_xfr_sched_wake(&keep.job);
    wait_turns(&keep, 2);
    usleep(50000);
    assert_int_equal(atomic_load(&slow.turns), turns);
    sg_xfr_sched_remove(&keep.job);
    assert_int_equal(sg_xfr_sched_workers(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_move_and_remove),
        cmocka_unit_test(test_random_against_sort),
        cmocka_unit_test(test_pool_many_jobs_few_threads),
        cmocka_unit_test(test_pool_remove_during_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
