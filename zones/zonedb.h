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
int sg_zonedb_acquire(const char *path, const char *apex, int check_only, sg_zone **zone_out);
/* Limit the next reloads to one zone: while apex is set (presentation name, NULL for
 * all), sg_zonedb_acquire keeps the loaded version of every other zone even if its file
 * changed. The caller serialises reloads. */
void sg_zonedb_set_only(const char *apex);
/* Drop a reference taken by sg_zonedb_acquire; frees the zone with the last one. */
void sg_zonedb_release(sg_zone *z);

#endif
