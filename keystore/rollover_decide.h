/* SPDX-License-Identifier: MIT */
/* The rollover transition table: from a zone's keys, policy, figures and `now`, the next
 * event and what it writes. Pure: no keystore, no clock, no log. The engine (sg_roll_step)
 * writes its transitions to the keystore; the plan (sg_roll_plan) applies them to a copy of
 * the keys in memory; neither decides anything of its own. */
#ifndef SG_ROLLOVER_DECIDE_H
#define SG_ROLLOVER_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/keystore.h"
#include "keystore/rollover_figures.h"

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

/* Non-zero when now is more than a few seconds behind the keystore's last record for the
 * zone (f->clock_floor, from sg_roll_figures_load): the clock was stepped back and no key
 * may change; *ev_out (may be NULL) gets the SG_ROLL_CLOCK event that says so. */
int sg_roll_clock_behind(const sg_roll_figures *f, int64_t now, sg_roll_event *ev_out);

/* The earliest next event for a zone's keys at time now, computed from the zone's state,
 * the policy and the keys alone (nothing is written). zone_state may be NULL or "".
 * Returns the event in *ev_out (SG_ROLL_NONE if none). */
void sg_roll_next(const char *zone_state, const sg_ks_policy *p, const sg_ks_key *keys, size_t n,
                  const sg_roll_figures *f, int64_t now, sg_roll_event *ev_out);

/* The timing points a transition sets on a key, each to the transition's time. */
enum sg_roll_point {
    SG_ROLL_PT_PUBLISH = 1 << 0,
    SG_ROLL_PT_ACTIVE = 1 << 1,
    SG_ROLL_PT_RETIRE = 1 << 2,
    SG_ROLL_PT_REMOVE = 1 << 3,
    SG_ROLL_PT_DS_SUBMITTED = 1 << 4,
    SG_ROLL_PT_DS_WITHDRAWN = 1 << 5,
};

/* One key's part in a transition: the points set on it and the state it goes to (the
 * journal row: from -> to, with the event's reason). */
typedef struct sg_roll_change {
    int64_t key_id;                 /* the key; 0: a key to generate (in a plan's output,
                                     * the negative id the plan gave it) */
    enum sg_ks_role role;           /* the key's (or the new key's) role */
    uint8_t algorithm;              /* the key's (a new key: the policy's) algorithm */
    unsigned points;                /* SG_ROLL_PT_* */
    enum sg_ks_key_state from, to;  /* a new key is GENERATED before */
} sg_roll_change;

#define SG_ROLL_MAX_CHANGES 64

/* Everything one event writes, at one moment, in one transaction. */
typedef struct sg_roll_transition {
    sg_roll_event event;            /* what and why; event.when: the time it is made at */
    const char *zone_state;         /* the zone's state after it (static), or NULL: unchanged */
    size_t n;
    sg_roll_change change[SG_ROLL_MAX_CHANGES]; /* in the order they are written */
} sg_roll_transition;

/* The transition table. At now, for the zone's state (NULL or ""), policy, keys and
 * figures: the earliest next event in *next_out (as sg_roll_next), and when its time has
 * come (a change due at or before now), the transition it makes at now in *tr_out.
 * Returns 1 when a transition is due, 0 when none is (next_out->when is then the next time
 * anything can change, unless the action is NONE or WAIT), or a negative SG_E* error
 * (SG_ESPACE: more than SG_ROLL_MAX_CHANGES keys change at once). */
int sg_roll_decide(const char *zone_state, const sg_ks_policy *p, const sg_ks_key *keys, size_t n,
                   const sg_roll_figures *f, int64_t now, sg_roll_event *next_out,
                   sg_roll_transition *tr_out);

/* The transition event ev makes when carried out at `at` on keys (the row of the table that
 * sg_roll_decide uses; also for a rollover the operator starts). Returns 0, SG_EINVAL for an
 * event that changes nothing (NONE, WAIT, CLOCK), SG_ENOTFOUND when ev's key is not in keys,
 * SG_ESPACE. */
int sg_roll_transition_of(const sg_ks_policy *p, const sg_ks_key *keys, size_t n,
                          const sg_roll_event *ev, int64_t at, sg_roll_transition *tr_out);

/* Make change c, part of a transition made at `at`, on the key k in memory: its points
 * and its state. For a key to generate, k holds the new key. */
void sg_roll_change_apply(const sg_roll_change *c, int64_t at, sg_ks_key *k);

/* Text for an action ("publish successor", ...). */
const char *sg_roll_action_name(enum sg_roll_action a);

#endif
