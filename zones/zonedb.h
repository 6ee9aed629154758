/* SPDX-License-Identifier: MIT */
/* The process-wide set of loaded zones, so that a reload reuses unchanged files and keeps
 * serving the previous version of a zone whose new file fails to load. */
#ifndef SG_ZONEDB_H
#define SG_ZONEDB_H

#include "zones/zone.h"

/* Get the zone for (apex, path): the loaded one if the file is unchanged, else a fresh
 * load; when that fails and an earlier version exists, the earlier version (the error is
 * logged with file:line). check_only loads without touching the set.
 * Returns 0 and a reference in *zone_out, or the load error. */
int sg_zonedb_acquire(const char *path, const char *apex, uint64_t max_size, int check_only,
                      sg_zone **zone_out);
/* How the versions of a zone file are served when the served serial is not simply the
 * file's (the `file` plugin's `serial` option, a serial floor). */
typedef struct sg_zone_serving {
    /* Called, without the set's lock, with each newly loaded version before anyone sees
     * it (its SOA still the file's): the serial to serve it with, which the set writes
     * into it (sg_zone_set_serial). */
    uint32_t (*serial)(void *arg, const sg_zone *z);
    void *arg;
    /* A loaded version served at or below floor (RFC 1982) is loaded again even when its
     * files did not change: a floor recorded since it was loaded must move it. */
    int has_floor;
    uint32_t floor;
} sg_zone_serving;

/* sg_zonedb_acquire, with the served serial of newly loaded versions chosen by srv (NULL:
 * the file's, as sg_zonedb_acquire). check_only never calls srv. */
int sg_zonedb_acquire_served(const char *path, const char *apex, uint64_t max_size,
                             int check_only, const sg_zone_serving *srv, sg_zone **zone_out);
/* Limit the next reloads to one zone: while apex is set (presentation name, NULL for
 * all), sg_zonedb_acquire keeps the loaded version of every other zone even if its file
 * changed. The caller serialises reloads. */
void sg_zonedb_set_only(const char *apex);
/* A reference to the newest loaded version of the zone apex (wire form), from
 * whichever file or transfer serves it; SG_ENOTFOUND when none is loaded. For background tasks that
 * follow a zone across reloads (outgoing transfers). */
int sg_zonedb_acquire_apex(const uint8_t *apex, sg_zone **zone_out);
/* Drop a reference taken by sg_zonedb_acquire; frees the zone with the last one. */
void sg_zonedb_release(sg_zone *z);
/* 1 when z is the version of a zone file that is still served because the file's
 * last load failed (a reload met a broken file), else 0. Brief lock; for readiness. */
int sg_zonedb_load_failed(const sg_zone *z);

/* ---- zones fed by transfers ------------------------------------------------------
 * A slot holds the version of a zone that a transfer made last. Slots outlive a config
 * reload (the new chain takes the same slot, so a reload transfers nothing), and a
 * replaced version is freed only after a grace period, since queries read the slot
 * without locks. */
typedef struct sg_zone_slot sg_zone_slot;

/* The slot for apex (presentation form), created empty on first use; counted reference.
 * Returns 0 and *slot_out, or SG_ENOMEM. */
int sg_zonedb_slot_acquire(const char *apex, sg_zone_slot **slot_out);
/* Drop a reference; the last one frees the slot and its versions. */
void sg_zonedb_slot_release(sg_zone_slot *s);
/* The version to serve, or NULL (none yet, or expired). Lock-free; the zone stays valid
 * for the grace period after it is replaced. */
const sg_zone *sg_zonedb_slot_zone(const sg_zone_slot *s);
/* The version served now with a counted reference (drop it with sg_zonedb_release), or
 * NULL: for a task that works on it for longer than the grace period could last. */
sg_zone *sg_zonedb_slot_hold(sg_zone_slot *s);
/* Make z the version served (takes ownership; NULL stops serving). It is then also what
 * sg_zonedb_acquire_apex returns for the zone. 0, or SG_ENOMEM (z freed, nothing changed). */
int sg_zonedb_slot_publish(sg_zone_slot *s, sg_zone *z);
/* Be told of every new version of a zone that sg_zonedb_acquire_apex returns from then on
 * (a file loaded, a slot published): fn(apex) runs on the thread that made it, after it is
 * visible and without the set's lock, so that the transfer's version workers look at that
 * zone then instead of asking for every zone every second. One watcher (NULL: none). */
void sg_zonedb_watch(void (*fn)(const uint8_t *apex));
/* While hold is set, the news of a version this thread loads from a file (sg_zonedb_acquire)
 * waits until hold is cleared: a producer runs the chain's prepare hooks on it first, so
 * that a watcher (the transfer's version worker) never looks at the zone before a hook
 * that publishes a version of its own made from it (`update` replaying its journal) has
 * run. Per thread; the news of a slot publication is never held. */
void sg_zonedb_hold_news(int hold);
/* Free replaced versions older than the grace period (call now and then). */
void sg_zonedb_slot_reap(sg_zone_slot *s);
/* When the primary last confirmed the version (a transfer or an equal serial); 0: never.
 * Kept in the slot so that the expire timer survives a reload. */
time_t sg_zonedb_slot_confirmed(const sg_zone_slot *s);
void sg_zonedb_slot_set_confirmed(sg_zone_slot *s, time_t when);

/* Test hook: how many entries and slots this thread's searches of the set have looked at
 * since it started (a unit test shows a lookup does not walk every zone). */
unsigned long sg_zonedb_test_compares(void);

#endif
