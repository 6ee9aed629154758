/* SPDX-License-Identifier: MIT */
/* The signature cache: bounded, shared by all workers, no lock on the hit path. Keyed by
 * content (signer/sigkey.h), so a signature outlives the zone version it was made for. */
#ifndef SG_SIGCACHE_H
#define SG_SIGCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "signer/sigkey.h"

typedef struct sg_sigcache sg_sigcache;

/* A cache of `entries` slots (rounded up to whole sets of four, at least 64), each holding one RRSIG RDATA
 * of up to max_rdata bytes. Returns NULL when out of memory. */
sg_sigcache *sg_sigcache_new(size_t entries, size_t max_rdata);
void sg_sigcache_free(sg_sigcache *c);

/* The RRSIG made by the signer `signer` (sg_sigkey_signer) over the content `key`, if
 * cached and still valid at `fresh_until` (its expiration is later). Copies it to out
 * (max_rdata bytes); returns its length, or 0 on a miss. now (seconds) marks the entry
 * used, for eviction. */
size_t sg_sigcache_get(sg_sigcache *c, const sg_sigkey *key, uint64_t signer, uint32_t now,
                       uint32_t fresh_until, uint8_t *out);
/* Store an RRSIG made at now; a concurrent writer of the same slot makes this a no-op.
 * A full set gives up the entry used least recently. */
void sg_sigcache_put(sg_sigcache *c, const sg_sigkey *key, uint64_t signer, uint32_t now,
                     uint32_t expiration, const uint8_t *rdata, size_t len);
/* Copy every entry of from that fits into to (a bigger cache replacing it; entries are
 * keyed by content, so they stay good). from may be NULL or still in use by readers and
 * writers: an entry being written is left out. */
void sg_sigcache_move(sg_sigcache *to, sg_sigcache *from);
/* Number of slots. */
size_t sg_sigcache_capacity(const sg_sigcache *c);

#endif
