/* SPDX-License-Identifier: MIT */
#include "common/task.h"
#include "common/errors.h"

#include <string.h>
#include <time.h>

void sg_task_init(sg_task *t)
{
    memset(t, 0, sizeof *t);
    atomic_init(&t->stop, 0);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
}

int sg_task_start(sg_task *t, const char *name, void *(*fn)(void *), void *arg)
{
    if (pthread_create(&t->thread, NULL, fn, arg) != 0)
        return SG_EIO;
    pthread_setname_np(t->thread, name);
    t->started = 1;
    return 0;
}

void sg_task_stop(sg_task *t)
{
    pthread_mutex_lock(&t->lock);
    atomic_store(&t->stop, 1);
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    if (t->started) {
        pthread_join(t->thread, NULL);
        t->started = 0;
    }
}

void sg_task_destroy(sg_task *t)
{
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
}

int sg_task_sleep(sg_task *t, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (!t->kicked && !atomic_load(&t->stop)) {
        if (pthread_cond_timedwait(&t->wake, &t->lock, &ts) != 0)
            break; /* timed out */
    }
    t->kicked = 0;
    pthread_mutex_unlock(&t->lock);
    return atomic_load(&t->stop);
}

void sg_task_wake(sg_task *t)
{
    pthread_mutex_lock(&t->lock);
    t->kicked = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
}
