/* SPDX-License-Identifier: MIT */
/* Signature cache: a set-associative table of fixed-size slots (4 ways, each key in one
 * of two sets), each guarded by its own sequence counter (a seqlock), so that readers
 * never block and never allocate and memory is fixed at creation. Eight places per key
 * keep conflict misses rare when the cache holds about as many signatures as it has slots
 * (a zone's whole NSEC chain, say).
 *
 * Entries are keyed by content, so a new zone version finds the signatures of what it
 * did not change, and what it did change leaves entries nobody asks for again. Those go
 * first when a set is full: each entry carries when it was last used (refreshed by a hit
 * at most once every USED_STEP seconds, so that hits on a hot slot do not keep writing
 * its cache line), and a full set gives up its least recently used entry. */
#include "signer/sigcache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define USED_STEP 60

typedef struct slot {
    _Atomic uint32_t seq;      /* odd while a writer fills the slot */
    uint32_t expiration;
    _Atomic uint32_t used;     /* seconds; a hint for eviction, outside the seqlock */
    uint16_t len;              /* 0: empty */
    uint64_t k0, k1;           /* the content key */
    uint64_t signer;
    uint8_t data[];
} slot;

#define WAYS 4

struct sg_sigcache {
    size_t nsets;              /* any number: a set is chosen by multiply-shift, so the
                                * table is sized for what it must hold, not the next
                                * power of two (up to twice that) */
    size_t slot_size;
    size_t max_rdata;
    uint8_t *slots;
};

sg_sigcache *sg_sigcache_new(size_t entries, size_t max_rdata)
{
    sg_sigcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    size_t sets = (entries + WAYS - 1) / WAYS;
    if (sets < 16)
        sets = 16;
    c->nsets = sets;
    c->max_rdata = max_rdata;
    c->slot_size = (sizeof(slot) + max_rdata + 7) & ~(size_t)7;
    c->slots = calloc(sets * WAYS, c->slot_size);
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

/* The content key is already a keyed hash: its halves choose two sets, and an entry may
 * live in either (ways 0..WAYS-1 in the first, WAYS..2*WAYS-1 in the second). New entries
 * go to the first set while it has room, so that a hit usually looks at one or two slots
 * (the table is far larger than the CPU's caches: each slot looked at is a memory
 * access), and make_room keeps a full pair of sets from thrashing. */
static inline slot *way(const sg_sigcache *c, const sg_sigkey *k, uint64_t signer, int w)
{
    uint64_t h = k->h[w >= WAYS] ^ (signer * 0x9e3779b97f4a7c15ULL);
    size_t set = (size_t)(((unsigned __int128)h * c->nsets) >> 64);
    return (slot *)(c->slots + (set * WAYS + (size_t)(w % WAYS)) * c->slot_size);
}

static inline int is(const slot *s, const sg_sigkey *k, uint64_t signer)
{
    return s->len && s->k0 == k->h[0] && s->k1 == k->h[1] && s->signer == signer;
}

size_t sg_sigcache_get(sg_sigcache *c, const sg_sigkey *key, uint64_t signer, uint32_t now,
                       uint32_t fresh_until, uint8_t *out)
{
    size_t len = 0;
    for (int w = 0; w < 2 * WAYS && !len; w++) {
        slot *s = way(c, key, signer, w);
        uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if ((s1 & 1) || !is(s, key, signer))
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
        else if ((uint32_t)(now - atomic_load_explicit(&s->used, memory_order_relaxed)) > USED_STEP)
            atomic_store_explicit(&s->used, now, memory_order_relaxed);
        break;
    }
    return len;
}

/* Write an entry into slot s; a concurrent writer of s makes this a no-op (0). */
static int fill(slot *s, uint64_t k0, uint64_t k1, uint64_t signer, uint32_t used,
                uint32_t expiration, const uint8_t *rdata, size_t len)
{
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((seq & 1) || !atomic_compare_exchange_strong(&s->seq, &seq, seq + 1))
        return 0;
    atomic_thread_fence(memory_order_release);
    s->k0 = k0;
    s->k1 = k1;
    s->signer = signer;
    s->expiration = expiration;
    s->len = (uint16_t)len;
    memcpy(s->data, rdata, len);
    atomic_store_explicit(&s->used, used, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
    return 1;
}

#define MOVE_MAX 1024 /* RRSIG bytes a relocation copies on the stack */

/* Both sets of a new key are full: move one of their entries to a free way of its other
 * set (one step of cuckoo hashing) and return the slot it left, or NULL when none can
 * move. Without it, sets that draw five or more of the entries in use thrash: a pass over
 * the zone (the presigner's, a resolver's walk) missed on each of them, 3.6% of a 100k-name
 * zone in a cache three times its size with one set per key; 69 signatures after a
 * one-record reload with two sets and no moves; none with the move. */
static slot *make_room(sg_sigcache *c, const sg_sigkey *key, uint64_t signer)
{
    uint8_t buf[MOVE_MAX];
    for (int w = 0; w < 2 * WAYS; w++) {
        slot *t = way(c, key, signer, w);
        uint32_t s1 = atomic_load_explicit(&t->seq, memory_order_acquire);
        if ((s1 & 1) || !t->len || t->len > MOVE_MAX)
            continue;
        sg_sigkey tk = { { t->k0, t->k1 } };
        uint64_t tsigner = t->signer;
        uint32_t exp = t->expiration, used = atomic_load_explicit(&t->used, memory_order_relaxed);
        size_t len = t->len;
        memcpy(buf, t->data, len);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&t->seq, memory_order_relaxed) != s1)
            continue;
        for (int v = 0; v < 2 * WAYS; v++) {
            slot *u = way(c, &tk, tsigner, v);
            if (u == t || u->len)
                continue;
            if (fill(u, tk.h[0], tk.h[1], tsigner, used, exp, buf, len))
                return t; /* readers find it in either place meanwhile */
            break;
        }
    }
    return NULL;
}

void sg_sigcache_put(sg_sigcache *c, const sg_sigkey *key, uint64_t signer, uint32_t now,
                     uint32_t expiration, const uint8_t *rdata, size_t len)
{
    if (!len || len > c->max_rdata)
        return;
    /* the same key, else the first empty way (the first set's first: where a get looks
     * first), else room made by moving an entry, else the one used least recently */
    slot *s = NULL, *oldest = NULL, *empty = NULL;
    for (int w = 0; w < 2 * WAYS; w++) {
        slot *t = way(c, key, signer, w);
        if (is(t, key, signer)) {
            s = t;
            break;
        }
        if (!t->len && !empty)
            empty = t;
        if (!oldest || (int32_t)(atomic_load_explicit(&t->used, memory_order_relaxed) -
                                 atomic_load_explicit(&oldest->used, memory_order_relaxed)) < 0)
            oldest = t;
    }
    if (!s && !empty)
        s = make_room(c, key, signer);
    if (!s)
        s = empty ? empty : oldest;
    fill(s, key->h[0], key->h[1], signer, now, expiration, rdata, len);
}

void sg_sigcache_move(sg_sigcache *to, sg_sigcache *from)
{
    if (!to || !from)
        return;
    uint8_t *buf = malloc(from->max_rdata ? from->max_rdata : 1);
    if (!buf)
        return; /* the new cache starts empty: queries sign again */
    for (size_t i = 0; i < from->nsets * WAYS; i++) {
        slot *s = (slot *)(from->slots + i * from->slot_size);
        uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if ((s1 & 1) || !s->len || s->len > from->max_rdata || s->len > to->max_rdata)
            continue;
        sg_sigkey k = { { s->k0, s->k1 } };
        uint64_t signer = s->signer;
        uint32_t exp = s->expiration, used = atomic_load_explicit(&s->used, memory_order_relaxed);
        size_t len = s->len;
        memcpy(buf, s->data, len);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
            continue;
        sg_sigcache_put(to, &k, signer, used, exp, buf, len);
    }
    free(buf);
}

size_t sg_sigcache_capacity(const sg_sigcache *c)
{
    return c ? c->nsets * WAYS : 0;
}
