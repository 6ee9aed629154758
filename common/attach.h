/* SPDX-License-Identifier: MIT */
/* Per-version attachments: what a plugin prepares for one zone version (a denial chain,
 * say) travels with that version in a slot of its own, and goes when the version goes. */
#ifndef SG_ATTACH_H
#define SG_ATTACH_H

#include <stdatomic.h>
#include <stddef.h>

/* Slots per version: one per plugin of the program's list (plugin.cfg), by its place in
 * it (sg_handler.slot); instances of a repeatable plugin share theirs. */
#define SG_ATTACH_MAX 16

/* One plugin's attachment to a version. Written only by background work (the plugin's
 * prepare hook, its own tasks), read lock-free by queries. */
typedef struct sg_attach {
    _Atomic(void *) data;
    void (*_Atomic free_fn)(void *);
} sg_attach;

/* What the slot holds, or NULL. Lock-free. */
static inline void *sg_attach_get(const sg_attach *a)
{
    return a ? atomic_load_explicit(&((sg_attach *)a)->data, memory_order_acquire) : NULL;
}

/* Put data (freed with free_fn when the version is freed) in the slot; returns what it
 * held before, which the caller frees itself, after a grace period if queries may still
 * read it (the version was already published). */
static inline void *sg_attach_swap(sg_attach *a, void *data, void (*free_fn)(void *))
{
    atomic_store(&a->free_fn, free_fn);
    return atomic_exchange_explicit(&a->data, data, memory_order_acq_rel);
}

/* Free every slot's data (the version's free: no reader is left). */
static inline void sg_attach_free_all(sg_attach *a, int n)
{
    for (int i = 0; i < n; i++) {
        void *d = atomic_exchange(&a[i].data, NULL);
        void (*fn)(void *) = atomic_load(&a[i].free_fn);
        if (d && fn)
            fn(d);
    }
}

#endif
