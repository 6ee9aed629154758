/* SPDX-License-Identifier: MIT */
/* The version workers: one small pool of threads (`sg-xfr-version`) for every zone with a
 * transfer state, and the queue of jobs ordered by when each is next due. */
#ifndef SG_XFRSCHED_H
#define SG_XFRSCHED_H

#include <stddef.h>
#include <stdint.h>

/* A job: embedded in what it works for (a zone's transfer state). The fields are the
 * scheduler's, under its lock; the owner only sets `turn` and `arg` before adding it. */
typedef struct sg_xfr_job sg_xfr_job;
struct sg_xfr_job {
    /* One turn of work at now_ms (CLOCK_MONOTONIC, ms), on a worker thread; returns when
     * the job is next due (ms, same clock). Bounded work: other jobs wait meanwhile. */
    int64_t (*turn)(sg_xfr_job *j, int64_t now_ms);
    void *arg;
    int64_t due;
    uint64_t seq;           /* ties broken first come, first served */
    size_t pos;             /* index in the queue + 1; 0: not queued */
    int busy;               /* a worker runs its turn */
    int kicked;             /* woken during its turn: due again at once */
    int gone;               /* removed during its turn: never queued again */
};

/* The queue: a binary min-heap by (due, seq). Not locked (the scheduler locks it); public
 * for the unit tests. */
typedef struct sg_xfr_queue {
    sg_xfr_job **h;
    size_t n, cap;
    uint64_t seq;
} sg_xfr_queue;

void sg_xfr_queue_init(sg_xfr_queue *q);
void sg_xfr_queue_deinit(sg_xfr_queue *q);
/* Room for n jobs in all, so that sg_xfr_queue_set never allocates. 0 or SG_ENOMEM. */
int sg_xfr_queue_reserve(sg_xfr_queue *q, size_t n);
/* Queue j due at `due`, or move it there when queued already (behind the jobs due at the
 * same time). Needs room (sg_xfr_queue_reserve) for a job not queued yet. */
void sg_xfr_queue_set(sg_xfr_queue *q, sg_xfr_job *j, int64_t due);
/* Take j out of the queue (nothing when it is not in it). */
void sg_xfr_queue_del(sg_xfr_queue *q, sg_xfr_job *j);
/* The job due first, or NULL when the queue is empty. */
sg_xfr_job *sg_xfr_queue_top(const sg_xfr_queue *q);
/* Take out and return the job due first if it is due at now (due <= now), else NULL. */
sg_xfr_job *sg_xfr_queue_pop_due(sg_xfr_queue *q, int64_t now);

/* ---- the process-wide pool ------------------------------------------------------------ */

#define SG_XFR_WORKERS_DEFAULT 2
#define SG_XFR_WORKERS_MAX 16

/* Add j (turn and arg set), due at once; the pool runs at least `workers` threads from
 * now on (1..SG_XFR_WORKERS_MAX; it grows, never shrinks while jobs remain). 0, SG_ENOMEM,
 * or SG_EIO when not even one worker thread can be made. */
int sg_xfr_sched_add(sg_xfr_job *j, int workers);
/* At least `workers` threads from now on while any job is there (a reload that asks for
 * more). */
void sg_xfr_sched_grow(int workers);
/* Run j's turn before every job that is merely due (a new zone version, new keys, a zone
 * just loaded); during its turn, once more right after it. */
void sg_xfr_sched_wake(sg_xfr_job *j);
/* Take j out for good: when this returns, its turn is not running and never runs again,
 * so its owner may free it. Never from a turn. The last job out stops the workers. */
void sg_xfr_sched_remove(sg_xfr_job *j);
/* The number of worker threads running (for tests and status). */
int sg_xfr_sched_workers(void);
/* Milliseconds of CLOCK_MONOTONIC, the clock of due times. */
int64_t sg_xfr_sched_now_ms(void);

#endif
