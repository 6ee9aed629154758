/* SPDX-License-Identifier: MIT */
/* A background thread that wakes every so often or when told, and stops on request: the
 * shape of every watcher (dnssec keys, secondary refresh, transfer versions). */
#ifndef SG_TASK_H
#define SG_TASK_H

#include <pthread.h>
#include <stdatomic.h>

typedef struct sg_task {
    pthread_t thread;
    int started;
    atomic_int stop;       /* long calls (transfers) may poll it through &task.stop */
    int kicked;            /* under lock: sg_task_wake() since the last sleep */
    pthread_mutex_t lock;
    pthread_cond_t wake;
} sg_task;

void sg_task_init(sg_task *t);
/* Run fn(arg) on its own thread. SG_EIO when the thread cannot be made. */
/* name: the thread name shown by top -H, ps -L and gdb (at most 15 characters). */
int sg_task_start(sg_task *t, const char *name, void *(*fn)(void *), void *arg);
/* Ask the thread to stop, wake it and wait for it (nothing when it never started). */
void sg_task_stop(sg_task *t);
void sg_task_destroy(sg_task *t);
/* From the thread: sleep up to ms, or less when woken or stopping (a wake that came while
 * the thread was busy ends the next sleep at once, so none is lost). Returns non-zero
 * when the thread should stop. */
int sg_task_sleep(sg_task *t, unsigned ms);
/* From anywhere: end the thread's current or next sleep. */
void sg_task_wake(sg_task *t);

static inline int sg_task_stopping(sg_task *t) { return atomic_load(&t->stop); }

#endif
