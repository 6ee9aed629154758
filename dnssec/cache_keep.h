/* SPDX-License-Identifier: MIT */
/* A block's signature cache kept across reloads: a reload makes a new `dnssec` instance,
 * which takes over the cache of the one it replaces, so that a new zone version finds the
 * signatures of everything it did not change (signer/sigkey.h). */
#ifndef SG_CACHE_KEEP_H
#define SG_CACHE_KEEP_H

#include <stdatomic.h>
#include <stddef.h>

#include "signer/sigcache.h"

typedef struct sg_cache_keep sg_cache_keep;

/* The holder of block `key`'s cache, made (empty) when no instance holds one; each call
 * is one hold. NULL when out of memory. The new instance of a reload takes its hold before
 * the old one drops its own. */
sg_cache_keep *sg_cache_keep_get(const char *key);
/* The cache itself: swap in a bigger one with a compare-exchange and retire the old. */
_Atomic(sg_sigcache *) *sg_cache_keep_cache(sg_cache_keep *k);
/* The RRSIG size the cache in it was made for (0: none yet); set with the cache. */
size_t *sg_cache_keep_slot(sg_cache_keep *k);
/* Drop one hold; the last frees the holder and the cache in it. */
void sg_cache_keep_drop(sg_cache_keep *k);

#endif
