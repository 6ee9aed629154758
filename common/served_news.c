/* SPDX-License-Identifier: MIT */
/* News that the served zones changed: a list of tasks to wake, under one lock. */
#include "common/served_news.h"
#include "common/errors.h"

#include <stdatomic.h>
#include <stdlib.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static sg_task **g_tasks;
static size_t g_n, g_cap;
static atomic_ulong g_told;
static atomic_uint g_poll_ms;

int sg_served_news_subscribe(sg_task *t)
{
    if (!t)
        return SG_EINVAL;
    pthread_mutex_lock(&g_lock);
    if (g_n == g_cap) {
        size_t cap = g_cap ? g_cap * 2 : 8;
        sg_task **nt = realloc(g_tasks, cap * sizeof *nt);
        if (!nt) {
            pthread_mutex_unlock(&g_lock);
            return SG_ENOMEM;
        }
        g_tasks = nt;
        g_cap = cap;
    }
    g_tasks[g_n++] = t;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

void sg_served_news_unsubscribe(sg_task *t)
{
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_n; i++)
        if (g_tasks[i] == t) {
            g_tasks[i] = g_tasks[--g_n];
            break;
        }
    if (!g_n) {
        free(g_tasks); /* nothing left behind at exit */
        g_tasks = NULL;
        g_cap = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

void sg_served_news_tell(void)
{
    atomic_fetch_add(&g_told, 1);
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_n; i++)
        sg_task_wake(g_tasks[i]);
    pthread_mutex_unlock(&g_lock);
}

unsigned long sg_served_news_count(void)
{
    return atomic_load(&g_told);
}

void sg_served_news_set_poll_ms(unsigned ms)
{
    atomic_store(&g_poll_ms, ms);
}

unsigned sg_served_news_poll_ms(void)
{
    unsigned ms = atomic_load(&g_poll_ms);
    return ms ? ms : SG_SERVED_POLL_MS_DEFAULT;
}
