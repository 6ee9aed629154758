/* SPDX-License-Identifier: MIT */
/* The answer cache's store.
 *
 * Replies live in one ring of bytes written in order (FIFO eviction, no fragmentation,
 * memory fixed at creation); a 4-way set-associative index maps a key hash to the ring
 * position of its newest reply. Positions are absolute byte counts, so a reader can tell
 * that the bytes it copied were not overwritten: a writer moves `head` past the region it
 * reuses before writing into it, and a reader checks `head` again after copying (the
 * seqlock idea of signer/sigcache.c, with the ring head as the sequence). The index is
 * only a hint: every hit is checked against the full key stored with the reply.
 *
 * Writers take a mutex with trylock: a worker that finds another one storing skips
 * caching that reply instead of waiting, so the query path never blocks. The single
 * writer also walks the entries it overwrites to drop their index slots and count the
 * live ones as evictions. */
#include "daemon/answer_cache.h"
#include "common/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define WAYS 4
#define PAD_FLAG 0x80000000u
#define MIN_BYTES (64 * 1024)
#define A8(x) (((size_t)(x) + 7) & ~(size_t)7)
#define HUGE (2u << 20)

/* Every hit touches a random index way and a random place in the ring: with 4 KiB pages
 * both are TLB misses (a profile showed them as most of the hit's cost), so the regions
 * are mapped on 2 MiB boundaries and offered to transparent huge pages. Pages are still
 * touched lazily: an idle cache costs little RSS. */
static void *region_new(size_t bytes)
{
    size_t len = (bytes + HUGE - 1) / HUGE * HUGE;
    void *p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
    size_t head = a - (uintptr_t)p;
    if (head)
        munmap(p, head);
    if (HUGE - head)
        munmap((uint8_t *)a + len, HUGE - head);
#ifdef MADV_HUGEPAGE
    madvise((void *)a, len, MADV_HUGEPAGE);
#endif
    return (void *)a;
}

static void region_free(void *p, size_t bytes)
{
    if (p)
        munmap(p, (bytes + HUGE - 1) / HUGE * HUGE);
}

/* The head of each entry in the ring; qname (padded to 8) and the reply follow. */
typedef struct ehdr {
    uint32_t total;     /* bytes to the next entry; PAD_FLAG: filler to the ring's end */
    uint16_t reply_len;
    uint16_t rcode;
    uint64_t hash;
    uint64_t version;
    uint64_t expire_ns;
    uint16_t qtype, qclass, max_size;
    uint8_t flags, meta, qname_len;
    uint8_t pad_[7];
} ehdr;

typedef struct way {
    _Atomic uint64_t hash; /* 0: empty */
    _Atomic uint64_t pos;
} way;

struct sg_acache {
    uint8_t *ring;
    size_t ring_size;
    way *ways;
    size_t set_mask;
    size_t max_entry;
    _Atomic uint64_t head; /* absolute position of the next write */
    uint64_t tail;         /* writer only: oldest entry not yet reclaimed */
    pthread_mutex_t wlock;
    int wlock_ready;
    sg_counters *count;    /* SG_ACACHE_COUNTERS, the caller's or own_count */
    sg_counters *own_count;
    _Atomic uint64_t entries;
    size_t capacity;
    size_t index_bytes;
};

sg_acache *sg_acache_new(size_t bytes, sg_counters *counts)
{
    if (bytes < MIN_BYTES)
        bytes = MIN_BYTES;
    sg_acache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    /* about one index way (16 bytes) per 128 bytes of budget: more ways than replies
     * that fit even when they are small (unsigned, ~100 bytes), for 1/8 of the memory */
    size_t nsets = 1;
    while (nsets * 2 * WAYS * 128 <= bytes)
        nsets *= 2;
    size_t index_bytes = nsets * WAYS * sizeof(way);
    c->set_mask = nsets - 1;
    c->ring_size = (bytes - index_bytes) & ~(size_t)7;
    c->max_entry = c->ring_size / 8;
    c->capacity = bytes;
    c->index_bytes = index_bytes;
    c->ways = region_new(index_bytes); /* zero-filled */
    c->ring = region_new(c->ring_size);
    c->count = counts;
    if (!counts)
        c->count = c->own_count = sg_counters_new(SG_ACACHE_COUNTERS);
    if (!c->ways || !c->ring || !c->count || (counts && counts->n < SG_ACACHE_COUNTERS)) {
        sg_acache_free(c);
        return NULL;
    }
    pthread_mutex_init(&c->wlock, NULL);
    c->wlock_ready = 1;
    return c;
}

void sg_acache_free(sg_acache *c)
{
    if (!c)
        return;
    if (c->wlock_ready)
        pthread_mutex_destroy(&c->wlock);
    region_free(c->ways, c->index_bytes);
    region_free(c->ring, c->ring_size);
    sg_counters_free(c->own_count);
    free(c);
}

static inline uint64_t key_hash(const sg_acache_key *k)
{
    uint64_t h = sg_name_hash(k->qname, k->qname_len);
    h ^= ((uint64_t)k->qtype << 48 | (uint64_t)k->qclass << 32 | (uint64_t)k->max_size << 16 |
          k->flags) * 0x9e3779b97f4a7c15ULL;
    h ^= k->version * 0xc2b2ae3d27d4eb4fULL;
    h ^= h >> 31;
    return h ? h : 1;
}

static inline int key_matches(const ehdr *e, const uint8_t *qname, const sg_acache_key *k, uint64_t h)
{
    return e->hash == h && e->qtype == k->qtype && e->qclass == k->qclass &&
           e->max_size == k->max_size && e->flags == k->flags && e->version == k->version &&
           e->qname_len == k->qname_len && !memcmp(qname, k->qname, k->qname_len);
}

size_t sg_acache_get(sg_acache *c, const sg_acache_key *k, uint64_t now_ns, uint8_t *out,
                     size_t cap, sg_acache_meta *meta)
{
    uint64_t h = key_hash(k);
    way *set = &c->ways[(h & c->set_mask) * WAYS];
    for (int w = 0; w < WAYS; w++) {
        if (atomic_load_explicit(&set[w].hash, memory_order_acquire) != h)
            continue;
        uint64_t pos = atomic_load_explicit(&set[w].pos, memory_order_acquire);
        uint64_t head = atomic_load_explicit(&c->head, memory_order_acquire);
        if (pos >= head || head - pos > c->ring_size)
            continue;
        const uint8_t *e = c->ring + pos % c->ring_size;
        ehdr hd;
        memcpy(&hd, e, sizeof hd);
        if (hd.qname_len != k->qname_len || hd.reply_len > cap ||
            !key_matches(&hd, e + sizeof hd, k, h) || hd.expire_ns <= now_ns)
            continue;
        memcpy(out, e + sizeof hd + A8(hd.qname_len), hd.reply_len);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&c->head, memory_order_relaxed) - pos > c->ring_size)
            break; /* overwritten while we copied */
        meta->rcode = hd.rcode;
        meta->aa = hd.meta & 1;
        meta->tc = (hd.meta >> 1) & 1;
        sg_counters_add(c->count, SG_ACACHE_HITS, 1);
        return hd.reply_len;
    }
    sg_counters_add(c->count, SG_ACACHE_MISSES, 1);
    return 0;
}

static inline uint8_t *at(sg_acache *c, uint64_t pos) { return c->ring + pos % c->ring_size; }

/* The index way of the entry at pos with hash h, or NULL when no longer indexed. */
static way *indexed(sg_acache *c, uint64_t h, uint64_t pos)
{
    way *set = &c->ways[(h & c->set_mask) * WAYS];
    for (int w = 0; w < WAYS; w++)
        if (atomic_load_explicit(&set[w].hash, memory_order_relaxed) == h &&
            atomic_load_explicit(&set[w].pos, memory_order_relaxed) == pos)
            return &set[w];
    return NULL;
}

/* Drop every entry that writing up to new_head overwrites. Writer only. */
static void reclaim(sg_acache *c, uint64_t head, uint64_t new_head, uint64_t now_ns)
{
    while (c->tail < head && c->tail + c->ring_size < new_head) {
        ehdr hd;
        memcpy(&hd, at(c, c->tail), sizeof hd.total);
        if (hd.total & PAD_FLAG) {
            c->tail += hd.total & ~PAD_FLAG;
            continue;
        }
        memcpy(&hd, at(c, c->tail), sizeof hd);
        way *w = indexed(c, hd.hash, c->tail);
        if (w) {
            atomic_store_explicit(&w->hash, 0, memory_order_relaxed);
            atomic_fetch_sub_explicit(&c->entries, 1, memory_order_relaxed);
            if (hd.expire_ns > now_ns)
                sg_counters_add(c->count, SG_ACACHE_EVICTIONS, 1);
        }
        c->tail += hd.total;
    }
}

int sg_acache_put(sg_acache *c, const sg_acache_key *k, uint64_t now_ns, uint64_t expire_ns,
                  const uint8_t *reply, size_t len, const sg_acache_meta *meta)
{
    size_t need = sizeof(ehdr) + A8(k->qname_len) + A8(len);
    if (need > c->max_entry || len > UINT16_MAX || expire_ns <= now_ns)
        return 0;
    if (pthread_mutex_trylock(&c->wlock))
        return 0;
    uint64_t h = key_hash(k);
    uint64_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    size_t off = head % c->ring_size;
    uint64_t pad = off + need > c->ring_size ? c->ring_size - off : 0;
    uint64_t start = head + pad, new_head = start + need;
    reclaim(c, head, new_head, now_ns);
    /* readers of what we are about to overwrite see the new head after their copy */
    atomic_store_explicit(&c->head, new_head, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (pad) {
        uint32_t t = (uint32_t)pad | PAD_FLAG;
        memcpy(at(c, head), &t, sizeof t);
    }
    uint8_t *e = at(c, start);
    ehdr hd;
    memset(&hd, 0, sizeof hd);
    hd.total = (uint32_t)need;
    hd.reply_len = (uint16_t)len;
    hd.rcode = meta->rcode;
    hd.hash = h;
    hd.version = k->version;
    hd.expire_ns = expire_ns;
    hd.qtype = k->qtype;
    hd.qclass = k->qclass;
    hd.max_size = k->max_size;
    hd.flags = k->flags;
    hd.meta = (uint8_t)((meta->aa ? 1 : 0) | (meta->tc ? 2 : 0));
    hd.qname_len = k->qname_len;
    memcpy(e, &hd, sizeof hd);
    memcpy(e + sizeof hd, k->qname, k->qname_len);
    memcpy(e + sizeof hd + A8(k->qname_len), reply, len);

    /* the index: the same key, else an empty way, else the oldest entry of the set */
    way *set = &c->ways[(h & c->set_mask) * WAYS];
    way *slot = NULL, *empty = NULL, *oldest = NULL;
    for (int w = 0; w < WAYS; w++) {
        uint64_t wh = atomic_load_explicit(&set[w].hash, memory_order_relaxed);
        if (wh == h) {
            slot = &set[w];
            break;
        }
        if (!wh && !empty)
            empty = &set[w];
        if (wh && (!oldest || atomic_load_explicit(&set[w].pos, memory_order_relaxed) <
                                  atomic_load_explicit(&oldest->pos, memory_order_relaxed)))
            oldest = &set[w];
    }
    if (slot) {
        atomic_fetch_sub_explicit(&c->entries, 1, memory_order_relaxed); /* replaced */
    } else if (empty) {
        slot = empty;
    } else {
        slot = oldest;
        ehdr old;
        memcpy(&old, at(c, atomic_load_explicit(&slot->pos, memory_order_relaxed)), sizeof old);
        if (old.expire_ns > now_ns)
            sg_counters_add(c->count, SG_ACACHE_EVICTIONS, 1);
        atomic_fetch_sub_explicit(&c->entries, 1, memory_order_relaxed);
    }
    atomic_store_explicit(&slot->hash, 0, memory_order_relaxed);
    atomic_store_explicit(&slot->pos, start, memory_order_release);
    atomic_store_explicit(&slot->hash, h, memory_order_release);
    atomic_fetch_add_explicit(&c->entries, 1, memory_order_relaxed);
    sg_counters_add(c->count, SG_ACACHE_INSERTS, 1);
    pthread_mutex_unlock(&c->wlock);
    return 1;
}

void sg_acache_get_stats(const sg_acache *c, sg_acache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    out->hits = sg_counters_sum(c->count, SG_ACACHE_HITS);
    out->misses = sg_counters_sum(c->count, SG_ACACHE_MISSES);
    out->inserts = sg_counters_sum(c->count, SG_ACACHE_INSERTS);
    out->evictions = sg_counters_sum(c->count, SG_ACACHE_EVICTIONS);
    out->entries = atomic_load(&((sg_acache *)c)->entries);
    out->capacity = c->capacity;
}
