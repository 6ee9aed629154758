/* SPDX-License-Identifier: MIT */
/* The key lifecycle of one `dnssec` block: once a second per zone, the rollover engine's
 * step, the registrar's tick and a fresh key-set snapshot swapped in for the signer.
 *
 *   keystore ──> engine step (sg_roll_step) ──> registrar tick (sg_reg_tick) ──>
 *       key-set snapshot (sg_keyset_load) ──> atomic swap ──> the dnssec plugin reads it
 *
 * The plugin's side of this header is lock-free (sg_keyman_keys, sg_keyman_epoch,
 * sg_keyman_served) and safe on every worker; the rest is for setup, the background
 * thread and a metrics scrape. Start here: sg_keyman_new. */
#ifndef SG_KEYMAN_H
#define SG_KEYMAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "registrar/registrar.h"
#include "signer/keyset.h"

typedef struct sg_keyman sg_keyman;

/* One zone of a keyman (opaque), for the plugin's lookups by apex. */
typedef struct sg_keyman_zone sg_keyman_zone;

/* What a keyman is made from (a dnssec block); copied by sg_keyman_new. */
typedef struct sg_keyman_cfg {
    const char *keystore;          /* path of the keystore database */
    const char *policy;            /* the policy of zones not yet in the keystore */
    const uint8_t *const *zones;   /* the zones, wire form; zone i is index i below */
    int nzones;
    const sg_reg_cfg *registrar;   /* pushes and confirms the DS at the parent; NULL: none;
                                       kept (not copied): it must outlive the keyman */
    /* Zones at run time (issue 17): the zones above are scopes, not zones; the keyman's
     * zones are the keystore's served zones (sg_ks_served_list) inside them, followed
     * within a second as they are added and removed (sg_keyman_find). */
    int dynamic;
    /* Optional: zone z's key set k is about to replace cur (published = 0: the plugin
     * prepares what k needs, e.g. a denial chain for its parameters, before any query can
     * see k) or has (published = 1: what only cur needed may go); also called with k ==
     * cur, published = 1, after sg_keyman_wake_zone(z). On the keyman's thread; z is a
     * zone of the current table (sg_keyman_zone_apex names it). */
    void (*keys_changing)(void *arg, sg_keyman_zone *z, const sg_keyset *k,
                          const sg_keyset *cur, int published);
    void *arg;
} sg_keyman_cfg;

/* Open the keystore at cfg->keystore (made if missing) and, per zone: give it keys from
 * the policy when it has none that sign (sg_keyset_ensure), record whether a registrar
 * confirms the parent's DS set (the parent-checks fact), load its first key set (at the
 * keystore's last recorded time when the clock is behind it) and make its registrar.
 * Nothing runs in the background until sg_keyman_start. On failure returns an SG_E*
 * code, writes into why (cap bytes) what a config error says ("cannot open keystore
 * PATH: ...", "zone NAME: ...", "zone NAME: registrar PROVIDER: ..."; "" when there is
 * nothing to say, e.g. out of memory) and *km_out is NULL. Free with sg_keyman_free. */
int sg_keyman_new(const sg_keyman_cfg *cfg, int64_t now, char *why, size_t cap,
                  sg_keyman **km_out);

/* Stop the thread if it runs, then free everything: the key sets, the registrars (each
 * waits for a running call), whatever waits on the retire list. NULL does nothing. */
void sg_keyman_free(sg_keyman *km);

/* Start the background thread (sg-dnssec): sg_keyman_step(km, time(NULL)) once a second
 * and the retire list reaped. 0 or SG_EIO. */
int sg_keyman_start(sg_keyman *km);
/* Stop the thread and wait for it; it closes its keystore handle. NULL does nothing. */
void sg_keyman_stop(sg_keyman *km);

/* One round of the lifecycle at time now, on the caller's thread (the background thread
 * calls it; tests call it directly, never both at once): reopen the keystore when it is
 * missing (never make an empty one in place of a deleted or replaced file, whose keys
 * keep serving), then per zone that is due record the TTLs served as facts, take the
 * engine's step, tick the registrar, read the zone's metrics, and swap in a new key set
 * when the keys' fingerprint changed (the epoch moves; the old set is retired; the
 * keys_changing hook runs before and after). A zone is due at its next timed event, its
 * registrar's next tick, its key set's next timing point, when woken, at least once an
 * hour, and every zone when another connection changed the keystore (signetctl): an idle
 * step touches no zone. Failures are logged on their change of state and then once a
 * minute; nothing is returned. */
void sg_keyman_step(sg_keyman *km, int64_t now);

/* Make zone i of the current table due at the next step (which calls keys_changing
 * with its current set). Lock-free, any thread, cheap when already woken. */
void sg_keyman_wake(sg_keyman *km, int i);

/* From now on changed(apex) is called on the stepping thread right after any zone's key
 * set is replaced (apex: the zone's, lower-case wire form), whatever changed it: the
 * engine's step, a timing point, a write by another process noticed through the
 * keystore's data_version. For siblings that read the keys themselves (transfer), so
 * that they need not look every second. changed must stay callable for the program's
 * life and be quick; NULL stops the calls. One function per keyman; lock-free, any
 * thread. km NULL does nothing. */
void sg_keyman_watch(sg_keyman *km, void (*changed)(const uint8_t *apex));

/* Zones the steps have looked at so far: for tests (an idle step adds none). */
uint64_t sg_keyman_zones_stepped(const sg_keyman *km);

/* How many zones the keyman has now (a dynamic keyman's change; i below is in the
 * current table, for tests and static blocks). */
int sg_keyman_nzones(const sg_keyman *km);

/* The zone whose apex is apex (wire form, any case), or NULL. Lock-free (a hash lookup);
 * the zone stays valid for SG_RETIRE_GRACE_SECONDS after a dynamic keyman drops it. */
sg_keyman_zone *sg_keyman_find(const sg_keyman *km, const uint8_t *apex);
/* The zone's current key set; what sg_keyman_served and sg_keyman_serial_floor are for a
 * zone found by sg_keyman_find. Lock-free. A new served max TTL wakes the zone. */
const sg_keyset *sg_keyman_zone_keys(const sg_keyman_zone *z);
void sg_keyman_zone_served(sg_keyman_zone *z, uint32_t max_ttl);
int sg_keyman_zone_floor(const sg_keyman_zone *z, uint32_t *floor_out);
/* The zone's apex, lower-case wire form (valid as long as the zone). */
const uint8_t *sg_keyman_zone_apex(const sg_keyman_zone *z);
/* What sg_keyman_wake is for a zone found by sg_keyman_find: due at the next step, which
 * calls keys_changing with its current set. Lock-free, any thread; a zone dropped
 * meanwhile is never looked at again, woken or not. */
void sg_keyman_wake_zone(sg_keyman_zone *z);

/* Zone i's current key set (NULL when i is out of range or km is NULL). Lock-free; the
 * snapshot stays valid for SG_RETIRE_GRACE_SECONDS after it is replaced. */
const sg_keyset *sg_keyman_keys(const sg_keyman *km, int i);

/* Zone i's serial floor (the keystore fact "serial-floor", SG_KS_FACT_SERIAL_FLOOR), as
 * read by sg_keyman_new: 0 and *floor_out, SG_ENOTFOUND when the zone has none, SG_EINVAL
 * for a bad i. Constant for the keyman's life (a new floor is read at the next reload). */
int sg_keyman_serial_floor(const sg_keyman *km, int i, uint32_t *floor_out);

/* 0 when the last step found the keystore gone (deleted or replaced under us, or not
 * openable: no key changes until it is back), else 1; 0 for NULL. Lock-free. */
int sg_keyman_keystore_ok(const sg_keyman *km);

/* A number that moves whenever any zone's key set is replaced (the plugin's version).
 * Lock-free. 0 for NULL. */
uint64_t sg_keyman_epoch(const sg_keyman *km);

/* What the signer serves of zone i: the largest TTL of the zone version it signs, for the
 * engine's waits (recorded as a fact by the next step). Lock-free. */
void sg_keyman_served(sg_keyman *km, int i, uint32_t max_ttl);

/* Free p with free_fn(p) once no reader can hold it (SG_RETIRE_GRACE_SECONDS), on the
 * background thread with the replaced key sets: for the plugin's replaced signature
 * caches and denial chains. Without memory for the entry p is leaked, never freed early. */
void sg_keyman_retire(sg_keyman *km, void *p, void (*free_fn)(void *));

/* Add to a scrape what the last step read, per zone: signet_dnssec_keys{zone,role,state},
 * signet_dnssec_parent_ds{zone,state}, signet_dnssec_next_key_event_seconds{zone} and
 * signet_registrar_events_total{zone,provider,outcome}. Never touches the keystore.
 * The plugin calls it from its own metrics source, after its signature-cache families,
 * so that a block's families keep one order. Returns 0. */
int sg_keyman_metrics(sg_keyman *km, sg_metrics_out *out);

#endif
