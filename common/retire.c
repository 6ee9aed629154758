/* SPDX-License-Identifier: MIT */
#include "common/retire.h"

#include <stdlib.h>

struct sg_retired {
    void *p;
    void (*free_fn)(void *);
    time_t at;
    struct sg_retired *next;
};

void sg_retire_init(sg_retire_list *l)
{
    pthread_mutex_init(&l->lock, NULL);
    l->head = NULL;
}

void sg_retire(sg_retire_list *l, void *p, void (*free_fn)(void *), time_t now)
{
    sg_retired *r = malloc(sizeof *r);
    if (!r)
        return;
    r->p = p;
    r->free_fn = free_fn;
    r->at = now;
    pthread_mutex_lock(&l->lock);
    r->next = l->head;
    l->head = r;
    pthread_mutex_unlock(&l->lock);
}

void sg_retire_reap(sg_retire_list *l, time_t now, int all)
{
    /* freed outside the lock: a free function may take locks of its own */
    sg_retired *due = NULL;
    pthread_mutex_lock(&l->lock);
    for (sg_retired **rp = &l->head; *rp;) {
        sg_retired *r = *rp;
        if (all || now - r->at >= SG_RETIRE_GRACE_SECONDS) {
            *rp = r->next;
            r->next = due;
            due = r;
        } else {
            rp = &r->next;
        }
    }
    pthread_mutex_unlock(&l->lock);
    while (due) {
        sg_retired *n = due->next;
        due->free_fn(due->p);
        free(due);
        due = n;
    }
}

void sg_retire_destroy(sg_retire_list *l)
{
    sg_retire_reap(l, 0, 1);
    pthread_mutex_destroy(&l->lock);
}
