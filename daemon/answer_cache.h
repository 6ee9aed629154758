/* SPDX-License-Identifier: MIT */
/* The answer cache's store: whole rendered replies in a fixed byte budget, read by every
 * worker without locks or allocation. */
#ifndef SG_ANSWER_CACHE_H
#define SG_ANSWER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/name.h"

/* Everything a stored reply depends on besides the client's ID, case and RD/CD bits. */
typedef struct sg_acache_key {
    const uint8_t *qname;   /* lower-case wire name */
    uint8_t qname_len;
    uint16_t qtype;
    uint16_t qclass;
    uint16_t max_size;      /* the largest reply the client takes (truncation) */
    uint8_t flags;          /* SG_ACACHE_DO | SG_ACACHE_EDNS */
    uint64_t version;       /* of the zone and keys that made the reply */
} sg_acache_key;

#define SG_ACACHE_DO   0x01
#define SG_ACACHE_EDNS 0x02

/* What the chain's callers read from a reply besides its bytes. */
typedef struct sg_acache_meta {
    uint16_t rcode;
    uint8_t aa, tc;
} sg_acache_meta;

typedef struct sg_acache sg_acache;
struct sg_counters;

/* The cache's counters, by index in the set it counts into. */
enum { SG_ACACHE_HITS, SG_ACACHE_MISSES, SG_ACACHE_INSERTS, SG_ACACHE_EVICTIONS,
       SG_ACACHE_COUNTERS };

/* A cache of about `bytes` bytes in all (ring of replies plus its index); at least 64 KiB.
 * counts: where hits, misses, inserts and evictions are added (at least
 * SG_ACACHE_COUNTERS counters; the caller keeps it alive longer than the cache, e.g. a
 * set kept across reloads), or NULL for a set of the cache's own. Hits and misses count
 * in the worker's own row; inserts and evictions under the writer's lock.
 * NULL when out of memory (or counts too small). */
sg_acache *sg_acache_new(size_t bytes, struct sg_counters *counts);
void sg_acache_free(sg_acache *c);

/* Look k up at monotonic time now_ns. On a hit copies the reply into out (cap bytes),
 * fills meta and returns its length; 0 on a miss (or a reply overwritten while read).
 * Counts a hit or a miss. */
size_t sg_acache_get(sg_acache *c, const sg_acache_key *k, uint64_t now_ns, uint8_t *out,
                     size_t cap, sg_acache_meta *meta);
/* Store a reply valid until expire_ns (monotonic). Never blocks: when another worker is
 * storing, this one skips. Replies larger than an eighth of the cache are not stored.
 * Returns 1 if stored. */
int sg_acache_put(sg_acache *c, const sg_acache_key *k, uint64_t now_ns, uint64_t expire_ns,
                  const uint8_t *reply, size_t len, const sg_acache_meta *meta);

typedef struct sg_acache_stats {
    uint64_t hits, misses, inserts, evictions; /* evictions: live entries pushed out; all
                                                * four from the counts set given at _new */
    uint64_t entries;                          /* entries held (expired ones until reused) */
    uint64_t capacity;                         /* bytes */
} sg_acache_stats;
void sg_acache_get_stats(const sg_acache *c, sg_acache_stats *out);

#endif
