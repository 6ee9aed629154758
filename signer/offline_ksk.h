/* SPDX-License-Identifier: MIT */
/* Offline KSK (issue 19): key signing requests (KSR) and signed key responses (SKR).
 *
 * Online, the zone's keystore holds the ZSKs and only the public half of the KSK:
 * sg_ksr_generate pre-plans the ZSKs for a period and writes, per time slot, the ZSK
 * DNSKEYs that will be published. Offline, a keystore holding the KSK signs each slot's
 * DNSKEY RRset (its KSKs + the requested ZSKs) and CDS/CDNSKEY (sg_ksr_sign). Online
 * again, sg_skr_import checks every signature against the KSK it holds and stores the
 * bundles; the signer then serves the bundle of the slot current at query time
 * (sg_skr_bundle_rrsets, from signer/keyset.c).
 *
 * Both texts are zone-file records between ";; slot FROM TO" lines (YYYYMMDDHHMMSS,
 * UTC), after ";; zone NAME"; see docs/key-custody.md. */
#ifndef SG_OFFLINE_KSK_H
#define SG_OFFLINE_KSK_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/rrset.h"
#include "keystore/keystore.h"

/* Online: pre-plan zone's ZSKs from `from` to `to` (generating the successors the
 * policy's ZSK lifetime calls for, with every timing point set), record the slots in
 * the keystore (zone then counts as offline-KSK: the rollover engine leaves it alone) and
 * write the request into *ksr_out (malloc'd text). On failure why says what. */
int sg_ksr_generate(sg_keystore *ks, const char *zone, int64_t from, int64_t to, int64_t now,
                    char **ksr_out, char *why, size_t cap);

/* Offline: sign the request ksr (for zone; NULL: whichever it names) with the KSKs that
 * ks holds for its zone (active at each
 * slot's start); *skr_out (malloc'd) is the response. RRSIGs run from the slot's start
 * (less an hour) to its end plus the policy's refresh margin. */
int sg_ksr_sign(sg_keystore *ks, const char *zone, const char *ksr, char **skr_out, char *why,
                size_t cap);

/* Online: check the response skr for zone (every slot one that was requested, its
 * DNSKEY set the requested ZSKs plus KSKs held here, every RRSIG verifying with a KSK held
 * here over the slot, every RRset signed) and store its bundles, all or none.
 * *nslots_out: how many were stored. A refused record is named in why (SG_EINVAL). */
int sg_skr_import(sg_keystore *ks, const char *zone, const char *skr, int64_t now,
                  size_t *nslots_out, char *why, size_t cap);

/* The RRsets of a stored bundle (sg_ks_skr_slot.response): out[0..2] DNSKEY, CDS,
 * CDNSKEY, out[3..5] the RRSIGs over each (count 0 when absent), RDATA in mem. */
int sg_skr_bundle_rrsets(const char *text, sg_arena *mem, sg_rrset out[6]);

#endif
