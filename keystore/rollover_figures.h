/* SPDX-License-Identifier: MIT */
/* What the rollover timelines rest on: the zone's figures (policy and observed), the waits. */
#ifndef SG_ROLLOVER_FIGURES_H
#define SG_ROLLOVER_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/keystore.h"

/* The zone's real figures that the timelines depend on, as the world was seen to use
 * them. Every wait rests on the larger of the policy's figure and the observed one. */
typedef struct sg_roll_figures {
    uint32_t max_ttl;       /* largest TTL in the zone as the caller serves it (0: unknown) */
    /* observed and kept in the keystore (facts), filled in by sg_roll_figures_load: what
     * caches may hold now; 0 when never observed */
    uint32_t parent_ds_ttl; /* the DS RRset's TTL at the parent's servers */
    uint32_t dnskey_ttl;    /* the DNSKEY RRset's TTL as served */
    uint32_t zone_max_ttl;  /* the largest TTL of the zone as served */
    char parent_ds_src[128], dnskey_src[128], zone_max_src[128]; /* where each was seen */
    /* secondaries that must serve a change of the zone before the waits after it count
     * (transfer's NOTIFY targets), and when they last did, newest first */
    uint32_t secondaries;
    uint32_t parent_checks; /* 1: a registrar confirms what the parent serves, so waits after
                             * a DS withdrawal count from when it was gone everywhere */
    size_t nprop;
    sg_ks_propagation prop[16];
    int64_t clock_floor;    /* the keystore's last recorded time for the zone */
    /* multi-signer (RFC 8901): peer signers whose DNSKEY RRset must hold a successor ZSK
     * before it signs (0: none), their DNSKEY TTL, and our keys they were seen serving */
    uint32_t peers;
    uint32_t peer_dnskey_ttl;
    size_t npeer_seen;
    sg_ks_peer_seen_key peer_seen[16];
} sg_roll_figures;

/* Fill the observed figures of f from the keystore's facts for zone (f->max_ttl is kept).
 * With SIGNET_ROLL_IGNORE_OBSERVED set in the environment the facts are not read: only
 * the policy's figures count (the negative control of the tests; never in production). */
int sg_roll_figures_load(sg_keystore *ks, const char *zone, int64_t now, sg_roll_figures *f);

/* One wait the engine uses, and the figure it rests on: the policy's, the observed one
 * (and where it was seen), the one used (the larger), plus the propagation delay. */
#define SG_ROLL_NWAITS 3
typedef struct sg_roll_wait {
    const char *name, *label;           /* "ds-wait", "DS wait" */
    const char *figure, *figure_label;  /* "parent-ds-ttl", "parent DS TTL" */
    uint32_t seconds;                   /* used + propagation */
    uint32_t policy, observed, used;    /* observed 0: never seen; policy 0: not set */
    const char *source;                 /* where observed ("" if not); points into f */
    const char *delay_label;
    uint32_t propagation;
} sg_roll_wait;

/* Ipub, signatures gone and the DS wait for p and f (f may be NULL). */
void sg_roll_waits(const sg_ks_policy *p, const sg_roll_figures *f, sg_roll_wait out[SG_ROLL_NWAITS]);

/* sg_roll_waits as text, one line each, e.g.
 * "DS wait 26s = parent DS TTL 25s (observed at 127.0.0.1:5300; policy 5s) + parent propagation 1s".
 * Writes up to cap bytes; lines end with '\n'. */
void sg_roll_waits_text(const sg_ks_policy *p, const sg_roll_figures *f, char *buf, size_t cap);

/* The intervals the engine uses, derived from the policy and figures (seconds). */
typedef struct sg_roll_intervals {
    uint32_t max_ttl;       /* the largest of the policy's, the zone's and the observed max
                             * TTL; 1 day when none is known */
    uint32_t dnskey_ttl;    /* policy's or observed, the larger */
    uint32_t ds_ttl;        /* policy's or observed at the parent, the larger */
    uint32_t ipub;          /* DNSKEY TTL + zone propagation: a new DNSKEY is everywhere */
    uint32_t zsk_gone;      /* max TTL + propagation: a retired ZSK's signatures are gone */
    uint32_t ds_wait;       /* parent DS TTL + parent propagation */
} sg_roll_intervals;

/* The intervals for p and f (f may be NULL: the policy's figures alone). */
void sg_roll_intervals_of(const sg_ks_policy *p, const sg_roll_figures *f, sg_roll_intervals *out);

#endif
