/* SPDX-License-Identifier: MIT */
/* Deferred frees for data that queries read without locks: a replaced zone version, key
 * set, signature cache or transfer version is put on a list and freed only after a grace
 * period far longer than any query holds a pointer it loaded. */
#ifndef SG_RETIRE_H
#define SG_RETIRE_H

#include <pthread.h>
#include <time.h>

#define SG_RETIRE_GRACE_SECONDS 30

typedef struct sg_retired sg_retired;

typedef struct sg_retire_list {
    pthread_mutex_t lock;
    sg_retired *head;
} sg_retire_list;

void sg_retire_init(sg_retire_list *l);
/* Free p with free_fn(p) once the grace period from now has passed. Without memory for
 * the entry p is leaked, never freed under a reader. */
void sg_retire(sg_retire_list *l, void *p, void (*free_fn)(void *), time_t now);
/* Free what has waited long enough (all: everything, when no reader can remain). */
void sg_retire_reap(sg_retire_list *l, time_t now, int all);
/* Free everything and the list's lock. */
void sg_retire_destroy(sg_retire_list *l);

#endif
