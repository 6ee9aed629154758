/* SPDX-License-Identifier: MIT */
/* The rollover engine: moves a zone's keys through their lives on RFC 7583 timelines. */
#ifndef SG_ROLLOVER_H
#define SG_ROLLOVER_H

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

enum sg_roll_action {
    SG_ROLL_NONE = 0,       /* nothing planned (no lifetime set) */
    SG_ROLL_WAIT,           /* blocked on something outside (the parent's DS) */
    SG_ROLL_INITIAL,        /* generate a key, publish and activate it now */
    SG_ROLL_PREPUBLISH,     /* generate a successor and publish it */
    SG_ROLL_SUBMIT_DS,      /* the key's DNSKEY has propagated: its DS goes to the parent */
    SG_ROLL_SWITCH,         /* the successor starts signing, the current key retires */
    SG_ROLL_REMOVE,         /* a retired key leaves the DNSKEY RRset */
    /* KSK double-DS (RFC 7583 3.3.2): the new DS first, then a DNSKEY swap */
    SG_ROLL_PRE_DS,         /* generate a successor and submit its DS; not published */
    SG_ROLL_SWAP,           /* its DS is everywhere: it replaces the old KSK in DNSKEY */
    SG_ROLL_OLD_DS_OUT,     /* the old DNSKEY RRset has left caches: withdraw the old DS */
    /* algorithm rollover, RFC 6781 4.1.4: signatures first, then keys, then DS */
    SG_ROLL_ALG_START,      /* new-algorithm keys sign (not yet published) */
    SG_ROLL_ALG_PUBLISH,    /* their signatures are everywhere: publish the new keys */
    SG_ROLL_ALG_WITHDRAW,   /* the new DS is at the parent: withdraw the old DS */
    SG_ROLL_ALG_UNPUBLISH,  /* the old DS has left caches: old keys leave the DNSKEY RRset */
    SG_ROLL_ALG_RETIRE,     /* the old DNSKEYs have left caches: old signatures stop */
    /* going back to insecure (signetctl zone unsign), RFC 8078 */
    SG_ROLL_UNSIGN_WITHDRAW,/* every DS is withdrawn: CDS/CDNSKEY show the delete form */
    SG_ROLL_UNSIGN_FINISH,  /* the parent's DS is gone from caches: stop signing */
    SG_ROLL_CLOCK,          /* the clock is behind the keystore's last record: no change */
};

/* Zone states the engine reads and writes (sg_ks_zone.state). */
#define SG_ROLL_STATE_UNSIGNING "unsigning"         /* set by signetctl zone unsign */
#define SG_ROLL_STATE_DS_GONE   "unsigning-ds-gone" /* the parent removed the DS (+ "@time") */
#define SG_ROLL_STATE_UNSIGNED  "unsigned"


typedef struct sg_roll_event {
    enum sg_roll_action action;
    int64_t when;           /* when it is due (may be in the past: due now) */
    int64_t key_id;         /* the key it is about (successor for SWITCH); 0 for INITIAL */
    int64_t other_id;       /* SWITCH: the key that retires */
    enum sg_ks_role role;
    char reason[200];
    /* a role that is blocked on the outside while another has a timed event: both must
     * be told (status) and planned for */
    int64_t wait_key_id;
    char wait_reason[200];
} sg_roll_event;

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

void sg_roll_intervals_of(const sg_ks_policy *p, const sg_roll_figures *f, sg_roll_intervals *out);

/* Non-zero when now is more than a few seconds behind the keystore's last record for the
 * zone (f->clock_floor, from sg_roll_figures_load): the clock was stepped back and no key
 * may change; *ev_out (may be NULL) gets the SG_ROLL_CLOCK event that says so. */
int sg_roll_clock_behind(const sg_roll_figures *f, int64_t now, sg_roll_event *ev_out);

/* The earliest next event for a zone's keys at time now, computed from the zone's state,
 * the policy and the keys alone (nothing is written). zone_state may be NULL or "".
 * Returns the event in *ev_out (SG_ROLL_NONE if none). */
void sg_roll_next(const char *zone_state, const sg_ks_policy *p, const sg_ks_key *keys, size_t n,
                  const sg_roll_figures *f, int64_t now, sg_roll_event *ev_out);

/* Carry out every event of zone that is due at now, each in its own transaction with an
 * events row; *next_out (may be NULL) is the next event after them. A crash between two
 * events leaves the stored state consistent, and the next call goes on from it.
 * Returns 0 or an SG_E* / SG_KS_E* error. */
int sg_roll_step(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                 sg_roll_event *next_out);

/* The events that would happen from now until `until` if nothing outside changed and the
 * parent showed each DS at once when submitted (marked in the reason). Nothing is
 * written. *events_out is freed with free(). */
int sg_roll_plan(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                 int64_t until, sg_roll_event **events_out, size_t *n_out);

/* Start a rollover of the given role now: generate a successor and publish it (one
 * transaction). SG_EEXIST if a successor is already on its way. */
int sg_roll_start(sg_keystore *ks, const char *zone, enum sg_ks_role role, int64_t now,
                  int64_t *key_id_out);

/* Record that every parent server serves the zone's DS set without the DS of its withdrawn
 * keys (ds_gone). Returns the number of keys marked in *n_out (may be NULL). */
int sg_roll_ds_withdrawn_gone(sg_keystore *ks, const char *zone, int64_t now, int *n_out);

/* Record that the parent serves the DS of the zone's submitted keys (all of them, or key_id).
 * Returns the number of keys marked in *n_out. */
int sg_roll_ds_seen(sg_keystore *ks, const char *zone, int64_t key_id, int64_t now, int *n_out);

/* A key is compromised: start its replacement now (skipping the lifetime) and write into
 * report what cannot be skipped and why. The key stays until the replacement is safe.
 * Returns 0, SG_ENOTFOUND, or SG_EINVAL for a key that is not in use. */
int sg_roll_compromise(sg_keystore *ks, int64_t key_id, const sg_roll_figures *f, int64_t now,
                       char *report, size_t cap);

/* Start walking the zone back to insecure (RFC 8078 delete CDS/CDNSKEY, DS withdrawn,
 * then signing stops once the parent's DS is gone). */
int sg_roll_unsign(sg_keystore *ks, const char *zone, int64_t now);
/* Record that the parent no longer serves the zone's DS (the manual path). SG_EINVAL when
 * the zone is not being unsigned. */
int sg_roll_ds_gone(sg_keystore *ks, const char *zone, int64_t now);

/* Text for an action ("publish successor", ...). */
const char *sg_roll_action_name(enum sg_roll_action a);

#endif
