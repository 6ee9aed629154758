/* SPDX-License-Identifier: MIT */
/* Offline KSK: the keystore's record of a zone's pre-signed key schedule (skr_slots). */
#ifndef SG_KS_SKR_H
#define SG_KS_SKR_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/keystore.h"

/* One time slot [from, to) of a zone's key signing request: the ZSK DNSKEYs published
 * in it (request, presentation lines) and, once imported, the offline KSK's signed
 * bundle (response: DNSKEY, CDS, CDNSKEY and their RRSIGs as presentation lines; NULL
 * until imported). */
typedef struct sg_ks_skr_slot {
    int64_t id;
    int64_t from, to;
    int64_t imported;      /* when the response was stored; 0: not yet */
    char *request;
    char *response;        /* NULL when not imported */
} sg_ks_skr_slot;

/* How long before the signed bundles run out signetd warns (log, and what `skr status`
 * calls soon by default): two weeks, the time an offline KSK ceremony may take. */
#define SG_SKR_WARN_SECONDS (14 * 86400)

/* Free a list from sg_ks_skr_list (NULL: nothing). */
void sg_ks_skr_list_free(sg_ks_skr_slot *l, size_t n);

/* 1 when zone is signed with an offline KSK (it has planned slots), 0 when not, or a
 * negative SG_E* error. The rollover engine makes no transition in such a zone. */
int sg_ks_skr_offline(sg_keystore *ks, const char *zone);

/* The zone's slots by start time. with_text 0 leaves request/response NULL (imported
 * tells whether a bundle is there). Free with sg_ks_skr_list_free. */
int sg_ks_skr_list(sg_keystore *ks, const char *zone, int with_text, sg_ks_skr_slot **out,
                   size_t *n_out);

/* Replace the zone's slots starting at or after slots[0].from by slots[0..n) (their
 * request text; responses empty), in the caller's transaction or its own. */
int sg_ks_skr_plan(sg_keystore *ks, const char *zone, const sg_ks_skr_slot *slots, size_t n,
                   int64_t now);

/* Store the response of the slot [from, to) of zone. SG_ENOTFOUND when no such slot was
 * planned. */
int sg_ks_skr_store(sg_keystore *ks, const char *zone, int64_t from, int64_t to,
                    const char *response, int64_t now);

/* The bundle to serve at now: the imported slot covering now, else the latest imported
 * slot that began before now (a missing or past-the-end bundle: *stale_out 1). Without
 * any imported slot begun by now: SG_ENOTFOUND. *next_out (may be NULL) is when the
 * answer changes next (a slot's start or end after now; INT64_MAX: never). Free with
 * sg_ks_skr_list_free(out, 1). */
int sg_ks_skr_at(sg_keystore *ks, const char *zone, int64_t now, sg_ks_skr_slot *out,
                 int *stale_out, int64_t *next_out);

/* The end of the last imported slot of zone, or 0 when none, and whether a planned slot
 * not yet over at now lacks its bundle (*gaps_out, may be NULL). */
int sg_ks_skr_valid_until(sg_keystore *ks, const char *zone, int64_t now, int64_t *until_out,
                          int *gaps_out);

#endif
