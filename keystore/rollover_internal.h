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

/* Write tr, made at `at`, into the keystore inside the caller's transaction: keys to
 * generate are generated, every changed key is stored with its journal row (the event's
 * reason), then the zone's state. keys are the zone's keys tr was decided on (updated in
 * place). *first_out (may be NULL) gets the first changed key as stored. */
int ks_roll_write(sg_keystore *ks, const char *zone, sg_ks_key *keys, size_t n,
                  const sg_roll_transition *tr, int64_t at, sg_ks_key *first_out);

#endif
