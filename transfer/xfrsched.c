/* SPDX-License-Identifier: MIT */
/* The version workers: a min-heap of jobs by due time and a few threads taking turns on
 * it, so that a hosting block of many thousand zones runs a fixed number of threads and an
 * idle second costs only the zones that are due. */
#include "transfer/xfrsched.h"
#include "common/errors.h"
#include "common/log.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* ---- the queue ------------------------------------------------------------------------ */

void sg_xfr_queue_init(sg_xfr_queue *q)
{
    q->h = NULL;
    q->n = q->cap = 0;
    q->seq = 0;
}

void sg_xfr_queue_deinit(sg_xfr_queue *q)
{
    free(q->h);
    sg_xfr_queue_init(q);
}

int sg_xfr_queue_reserve(sg_xfr_queue *q, size_t n)
{
    if (n <= q->cap)
        return 0;
    size_t cap = q->cap ? q->cap : 64;
    while (cap < n)
        cap *= 2;
    sg_xfr_job **h = realloc(q->h, cap * sizeof *h);
    if (!h)
        return SG_ENOMEM;
    q->h = h;
    q->cap = cap;
    return 0;
}

static int before(const sg_xfr_job *a, const sg_xfr_job *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void place(sg_xfr_queue *q, size_t i, sg_xfr_job *j)
{
    q->h[i] = j;
    j->pos = i + 1;
}

static void sift_up(sg_xfr_queue *q, size_t i)
{
    sg_xfr_job *j = q->h[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(j, q->h[p]))
            break;
        place(q, i, q->h[p]);
        i = p;
    }
    place(q, i, j);
}

static void sift_down(sg_xfr_queue *q, size_t i)
{
    sg_xfr_job *j = q->h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && before(q->h[c + 1], q->h[c]))
            c++;
        if (!before(q->h[c], j))
            break;
        place(q, i, q->h[c]);
        i = c;
    }
    place(q, i, j);
}

void sg_xfr_queue_set(sg_xfr_queue *q, sg_xfr_job *j, int64_t due)
{
    j->due = due;
    j->seq = ++q->seq;
    if (j->pos) {
        /* moved: either way may be right; one of the two does nothing */
        size_t i = j->pos - 1;
        sift_up(q, i);
        sift_down(q, j->pos - 1);
        return;
    }
    assert(q->n < q->cap);
    place(q, q->n++, j);
    sift_up(q, q->n - 1);
}

void sg_xfr_queue_del(sg_xfr_queue *q, sg_xfr_job *j)
{
    if (!j->pos)
        return;
    size_t i = j->pos - 1;
    j->pos = 0;
    sg_xfr_job *last = q->h[--q->n];
    if (i == q->n)
        return;
    place(q, i, last);
    sift_up(q, i);
    sift_down(q, last->pos - 1);
}

sg_xfr_job *sg_xfr_queue_top(const sg_xfr_queue *q)
{
    return q->n ? q->h[0] : NULL;
}

sg_xfr_job *sg_xfr_queue_pop_due(sg_xfr_queue *q, int64_t now)
{
    sg_xfr_job *j = sg_xfr_queue_top(q);
    if (!j || j->due > now)
        return NULL;
    sg_xfr_queue_del(q, j);
    return j;
}

/* ---- the pool ------------------------------------------------------------------------- */

/* g_life orders the pool's start and stop (add, remove); g_lock guards the queue and every
 * job's scheduler fields; workers take only g_lock. */
static pthread_mutex_t g_life = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_work;     /* the top of the queue changed, or stop */
static pthread_cond_t g_done;     /* a turn ended (sg_xfr_sched_remove waits for it) */
static int g_cond_ready;
static sg_xfr_queue g_q;
static size_t g_jobs;             /* jobs added and not removed */
static pthread_t g_threads[SG_XFR_WORKERS_MAX];
static int g_nthreads;
static int g_stop;

int64_t sg_xfr_sched_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conds_init(void)
{
    if (g_cond_ready)
        return;
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&g_work, &a);
    pthread_condattr_destroy(&a);
    pthread_cond_init(&g_done, NULL);
    g_cond_ready = 1;
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_lock);
    while (!g_stop) {
        int64_t now = sg_xfr_sched_now_ms();
        sg_xfr_job *j = sg_xfr_queue_pop_due(&g_q, now);
        if (!j) {
            sg_xfr_job *top = sg_xfr_queue_top(&g_q);
            if (!top) {
                pthread_cond_wait(&g_work, &g_lock);
            } else {
                struct timespec ts = { .tv_sec = top->due / 1000,
                                       .tv_nsec = (long)(top->due % 1000) * 1000000L };
                pthread_cond_timedwait(&g_work, &g_lock, &ts);
            }
            continue;
        }
        j->busy = 1;
        j->kicked = 0;
        /* the next job may be due too: another worker takes it meanwhile */
        if (sg_xfr_queue_top(&g_q))
            pthread_cond_signal(&g_work);
        pthread_mutex_unlock(&g_lock);
        int64_t next = j->turn(j, now);
        pthread_mutex_lock(&g_lock);
        j->busy = 0;
        if (!j->gone) {
            sg_xfr_queue_set(&g_q, j, j->kicked ? 0 : next);
            if (sg_xfr_queue_top(&g_q) == j)
                pthread_cond_signal(&g_work);
        }
        pthread_cond_broadcast(&g_done);
    }
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

static int grow(int workers);

int sg_xfr_sched_add(sg_xfr_job *j, int workers)
{
    if (!j || !j->turn)
        return SG_EINVAL;
    pthread_mutex_lock(&g_life);
    pthread_mutex_lock(&g_lock);
    conds_init();
    int rc = sg_xfr_queue_reserve(&g_q, g_jobs + 1);
    if (rc) {
        pthread_mutex_unlock(&g_lock);
        pthread_mutex_unlock(&g_life);
        return rc;
    }
    g_stop = 0;
    j->pos = 0;
    j->busy = j->kicked = j->gone = 0;
    g_jobs++;
    sg_xfr_queue_set(&g_q, j, 0);
    pthread_cond_signal(&g_work);
    pthread_mutex_unlock(&g_lock);
    rc = grow(workers);
    if (rc) {
        pthread_mutex_lock(&g_lock);
        sg_xfr_queue_del(&g_q, j);
        g_jobs--;
        pthread_mutex_unlock(&g_lock);
    }
    pthread_mutex_unlock(&g_life);
    return rc;
}

/* At least `workers` threads (g_life held). SG_EIO when there is none at all. */
static int grow(int workers)
{
    if (workers < 1)
        workers = 1;
    if (workers > SG_XFR_WORKERS_MAX)
        workers = SG_XFR_WORKERS_MAX;
    while (g_nthreads < workers) {
        if (pthread_create(&g_threads[g_nthreads], NULL, worker, NULL) != 0) {
            if (g_nthreads == 0)
                return SG_EIO;
            sg_log(SG_LOG_WARN, "transfer", NULL, "only %d version worker threads", g_nthreads);
            break;
        }
        pthread_setname_np(g_threads[g_nthreads], "sg-xfr-version");
        g_nthreads++;
    }
    return 0;
}

void sg_xfr_sched_grow(int workers)
{
    pthread_mutex_lock(&g_life);
    pthread_mutex_lock(&g_lock);
    int any = g_jobs > 0;
    pthread_mutex_unlock(&g_lock);
    if (any)
        grow(workers);
    pthread_mutex_unlock(&g_life);
}

void sg_xfr_sched_wake(sg_xfr_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&g_lock);
    if (j->busy) {
        j->kicked = 1;
    } else if (j->pos && j->due > 0) {
        sg_xfr_queue_set(&g_q, j, 0);
        pthread_cond_signal(&g_work);
    }
    pthread_mutex_unlock(&g_lock);
}

void sg_xfr_sched_remove(sg_xfr_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&g_life);
    pthread_mutex_lock(&g_lock);
    int counted = j->pos || j->busy;
    sg_xfr_queue_del(&g_q, j);
    j->gone = 1;
    while (j->busy)
        pthread_cond_wait(&g_done, &g_lock);
    if (counted && g_jobs)
        g_jobs--;
    int last = g_jobs == 0 && g_nthreads > 0;
    if (last) {
        g_stop = 1;
        pthread_cond_broadcast(&g_work);
    }
    pthread_mutex_unlock(&g_lock);
    if (last) {
        for (int i = 0; i < g_nthreads; i++)
            pthread_join(g_threads[i], NULL);
        g_nthreads = 0;
        pthread_mutex_lock(&g_lock);
        sg_xfr_queue_deinit(&g_q);
        pthread_mutex_unlock(&g_lock);
    }
    pthread_mutex_unlock(&g_life);
}

int sg_xfr_sched_workers(void)
{
    pthread_mutex_lock(&g_life);
    int n = g_nthreads;
    pthread_mutex_unlock(&g_life);
    return n;
}
