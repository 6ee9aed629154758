/* SPDX-License-Identifier: MIT */
/* The whole signed zone at once: every RRset with its RRSIGs and the full NSEC or NSEC3
 * chain, for zone transfers and `signetctl zone sign`. */
#ifndef SG_ZONESIGN_H
#define SG_ZONESIGN_H

#include <stdio.h>

#include "signer/keyset.h"
#include "signer/prove.h"
#include "zones/zone.h"

/* Called for each RRset of the signed zone in canonical order (RRSIGs right after the set
 * they cover). owner and rrset are valid only during the call. Return non-zero to stop. */
typedef int (*sg_zonesign_cb)(void *arg, const uint8_t *owner, const sg_rrset *rrset);

/* Signatures an earlier signed version already has for an RRset (keyset: one signed by
 * the key-signing keys), or NULL to sign it. The RRSIG RRset returned must stay valid
 * until the walk returns. Called from the walking thread only. */
typedef const sg_rrset *(*sg_zonesign_reuse_cb)(void *arg, const uint8_t *owner,
                                                const sg_rrset *rrset, int keyset);

/* Walk the signed form of z with the key set k at time now, taking the signatures reuse
 * offers instead of signing (incremental versions for zone transfers; reuse may be NULL:
 * sign everything). Compact-denial policies get a real NSEC chain here (a transfer needs
 * one). Returns 0, the callback's value, or an SG_E* error. */
int sg_zonesign_walk_reuse(const sg_zone *z, const sg_keyset *k, uint32_t now,
                           sg_zonesign_reuse_cb reuse, sg_zonesign_cb cb, void *arg);

/* Write the signed zone as a master file. Returns 0 or an SG_E* error. */
int sg_zonesign_write(const sg_zone *z, const sg_keyset *k, uint32_t now, FILE *out);

struct sg_phases;
typedef struct sg_zonesign_opts {
    int threads;               /* signing threads, the caller's included (0: one per CPU) */
    struct sg_phases *phases;  /* NULL, or "chain" and "sign+write" appended (common/phase.h) */
} sg_zonesign_opts;
/* sg_zonesign_write with options; the output is the same whatever the threads (but for
 * the signatures' random part). */
int sg_zonesign_write_opts(const sg_zone *z, const sg_keyset *k, uint32_t now,
                           const sg_zonesign_opts *o, FILE *out);

#endif
