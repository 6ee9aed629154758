/* SPDX-License-Identifier: MIT */
/* The signature cache: bounded, shared by all workers, no lock on the hit path. */
#ifndef SG_SIGCACHE_H
#define SG_SIGCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sg_sigcache sg_sigcache;

/* A cache of `entries` slots (rounded up to a power of two), each holding one RRSIG RDATA
 * of up to max_rdata bytes. Returns NULL when out of memory. */
sg_sigcache *sg_sigcache_new(size_t entries, size_t max_rdata);
void sg_sigcache_free(sg_sigcache *c);

/* The RRSIG made by key_id over the RRset `rrset` of zone generation gen, if cached and
 * still valid at `fresh_until` (its expiration is later). Copies it to out (max_rdata
 * bytes); returns its length, or 0 on a miss. */
size_t sg_sigcache_get(sg_sigcache *c, uint64_t gen, const void *rrset, int64_t key_id,
                       uint32_t fresh_until, uint8_t *out);
/* Store an RRSIG; a concurrent writer of the same slot makes this a no-op. */
void sg_sigcache_put(sg_sigcache *c, uint64_t gen, const void *rrset, int64_t key_id,
                     uint32_t expiration, const uint8_t *rdata, size_t len);
/* Number of slots. */
size_t sg_sigcache_capacity(const sg_sigcache *c);

#endif
