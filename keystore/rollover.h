/* SPDX-License-Identifier: MIT */
/* The rollover engine: moves a zone's keys through their lives on RFC 7583 timelines.
 * Start here: rollover_figures.h holds what the waits rest on, rollover_decide.h the pure
 * decisions; this header the engine's step, the plan, and what the operator and the
 * registrar tell the engine. */
#ifndef SG_ROLLOVER_H
#define SG_ROLLOVER_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/keystore.h"
#include "keystore/rollover_decide.h"
#include "keystore/rollover_figures.h"

/* Carry out every event of zone that is due at now, each in its own transaction with an
 * events row; *next_out (may be NULL) is the next event after them. A crash between two
 * events leaves the stored state consistent, and the next call goes on from it.
 * Returns 0 or an SG_E* / SG_KS_E* error. On an error, *next_out is the event that
 * failed and saying so is the caller's (a failure that lasts, such as a token gone, is
 * met every second: the keyman says it once a minute); without next_out it is logged
 * here. */
int sg_roll_step(sg_keystore *ks, const char *zone, const sg_roll_figures *f, int64_t now,
                 sg_roll_event *next_out);

/* The transitions that would be made from now until `until` if nothing outside changed:
 * the table (sg_roll_decide) applied to a copy of the zone's keys, now advanced to each
 * next event, the parent showing each DS as soon as it is submitted, secondaries and the
 * parent's removal of a withdrawn DS following at once. Keys the plan generates get
 * negative ids (-1, -2, ... in order). Nothing is written. *out is freed with free(). */
int sg_roll_plan_transitions(sg_keystore *ks, const char *zone, const sg_roll_figures *f,
                             int64_t now, int64_t until, sg_roll_transition **out, size_t *n_out);

/* The events of sg_roll_plan_transitions (each one's when is when it is made). Nothing is
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
/* Record that the parent already serves the DS of a key Signet never submitted (a key
 * imported from the zone's previous signer, a DS the operator added by hand): key_id's
 * (0: while no DS of the zone is recorded seen, every published and signing KSK/CSK of the
 * zone whose DS is not withdrawn: a takeover; never a successor on a guess) DS is
 * recorded as submitted (if it was not) and seen now, journalled with `source` (who says
 * so: "operator", "parent 192.0.2.1"); the engine then treats it as the key's DS at the
 * parent. *n_out: keys marked. SG_EINVAL for key_id that is a ZSK, not of zone, or whose
 * DS was withdrawn. */
int sg_roll_ds_at_parent(sg_keystore *ks, const char *zone, int64_t key_id, const char *source,
                         int64_t now, int *n_out);

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

#endif
