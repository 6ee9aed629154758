/* SPDX-License-Identifier: MIT */
/* Signature cache: a 4-way set-associative table of fixed-size slots, each guarded by its
 * own sequence counter (a seqlock), so that readers never block and never allocate and
 * memory is fixed at creation. Four ways keep conflict misses rare when the cache holds
 * about as many signatures as it has slots (a zone's whole NSEC chain, say). */
#include "signer/sigcache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    _Atomic uint32_t seq;      /* odd while a writer fills the slot */
    uint32_t expiration;
    uint64_t gen;
    const void *rrset;
    int64_t key_id;
    uint16_t len;
    uint8_t data[];
} slot;

#define WAYS 4

struct sg_sigcache {
    size_t mask;
    size_t slot_size;
    size_t max_rdata;
    uint8_t *slots;
};

sg_sigcache *sg_sigcache_new(size_t entries, size_t max_rdata)
{
    sg_sigcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    size_t n = 64; /* a power of two, so whole sets of WAYS */
    while (n < entries)
        n <<= 1;
    c->mask = n - 1;
    c->max_rdata = max_rdata;
    c->slot_size = (sizeof(slot) + max_rdata + 7) & ~(size_t)7;
    c->slots = calloc(n, c->slot_size);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    return c;
}

void sg_sigcache_free(sg_sigcache *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c);
}

static inline uint64_t key_hash(uint64_t gen, const void *rrset, int64_t key_id)
{
    uint64_t h = (uint64_t)(uintptr_t)rrset * 0x9e3779b97f4a7c15ULL;
    h ^= gen * 0xc2b2ae3d27d4eb4fULL;
    h ^= (uint64_t)key_id * 0x165667b19e3779f9ULL;
    return h ^ (h >> 31);
}

static inline slot *way(const sg_sigcache *c, uint64_t h, int w)
{
    size_t set = (size_t)(h & (c->mask / WAYS));
    return (slot *)(c->slots + (set * WAYS + (size_t)w) * c->slot_size);
}

size_t sg_sigcache_get(sg_sigcache *c, uint64_t gen, const void *rrset, int64_t key_id,
                       uint32_t fresh_until, uint8_t *out)
{
    uint64_t h = key_hash(gen, rrset, key_id);
    size_t len = 0;
    for (int w = 0; w < WAYS && !len; w++) {
        slot *s = way(c, h, w);
        uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if ((s1 & 1) || s->rrset != rrset || s->gen != gen || s->key_id != key_id)
            continue;
        if ((int32_t)(s->expiration - fresh_until) <= 0)
            break; /* ours, but due for refresh */
        len = s->len;
        if (len > c->max_rdata)
            len = 0;
        else
            memcpy(out, s->data, len);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
            len = 0; /* overwritten while we read: treat as a miss */
        break;
    }
    return len;
}

void sg_sigcache_put(sg_sigcache *c, uint64_t gen, const void *rrset, int64_t key_id,
                     uint32_t expiration, const uint8_t *rdata, size_t len)
{
    if (len > c->max_rdata)
        return;
    uint64_t h = key_hash(gen, rrset, key_id);
    /* the same key, else an empty way, else the one expiring first */
    slot *s = NULL, *soonest = NULL;
    for (int w = 0; w < WAYS; w++) {
        slot *t = way(c, h, w);
        if (t->rrset == rrset && t->gen == gen && t->key_id == key_id) {
            s = t;
            break;
        }
        if (!t->rrset && !s)
            s = t;
        if (!soonest || (int32_t)(t->expiration - soonest->expiration) < 0)
            soonest = t;
    }
    if (!s)
        s = soonest;
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((seq & 1) || !atomic_compare_exchange_strong(&s->seq, &seq, seq + 1))
        return;
    atomic_thread_fence(memory_order_release);
    s->gen = gen;
    s->rrset = rrset;
    s->key_id = key_id;
    s->expiration = expiration;
    s->len = (uint16_t)len;
    memcpy(s->data, rdata, len);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

size_t sg_sigcache_capacity(const sg_sigcache *c)
{
    return c ? c->mask + 1 : 0;
}
