/* SPDX-License-Identifier: MIT */
/* Definitions shared by the rollover engine's files (rollover_*.c), not public. */
#ifndef SG_ROLLOVER_INTERNAL_H
#define SG_ROLLOVER_INTERNAL_H

#include "keystore/rollover.h"

#include <string.h>

/* A timing point is set and has passed at now. */
static inline int ks_roll_is_set(int64_t t, int64_t now) { return t && t <= now; }
/* The key's signatures are served at now. */
static inline int ks_roll_signing(const sg_ks_key *k, int64_t now)
{
    return ks_roll_is_set(k->active, now) && !ks_roll_is_set(k->retire, now);
}
/* The key is in the DNSKEY RRset at now. */
static inline int ks_roll_published(const sg_ks_key *k, int64_t now)
{
    return ks_roll_is_set(k->publish, now) && !ks_roll_is_set(k->remove, now);
}
static inline int ks_roll_starts_with(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

/* The key of keys with this id, or NULL. */
sg_ks_key *ks_roll_find(sg_ks_key *keys, size_t n, int64_t id);
/* The zone's row (zr may be NULL), its policy and its keys (*keys freed with free()). */
int ks_roll_load(sg_keystore *ks, const char *zone, sg_ks_zone *zr, sg_ks_policy *p,
                 sg_ks_key **keys, size_t *n);
/* The caller's figures (f may be NULL) with what the keystore observed for zone. */
int ks_roll_figures(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                    sg_roll_figures *out);

/* The state a key's timing points imply at now, stored in k->state. */
void ks_roll_set_state(sg_ks_key *k, int64_t now);
/* The timing points an algorithm step writes, on keys in memory. Returns which keys
 * changed (a bit per index, up to 64 keys) for the caller to store. */
uint64_t ks_roll_alg_mutate(const sg_ks_policy *p, sg_ks_key *keys, size_t n,
                            enum sg_roll_action a, int64_t now);
uint64_t ks_roll_unsign_mutate(sg_ks_key *keys, size_t n, enum sg_roll_action a, int64_t now);
/* Roles an algorithm rollover must bring in the new algorithm that are missing. */
int ks_roll_alg_missing(const sg_ks_policy *p, const sg_ks_key *keys, size_t n, int64_t now,
                        enum sg_ks_role out[2]);

#endif
