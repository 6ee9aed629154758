/* SPDX-License-Identifier: MIT */
/* Catalog zones (RFC 9432, schema version 2): the zone that lists a transfer block's
 * zones for secondaries that configure their zones from it (catalog consumers). */
#ifndef SG_XFR_CATALOG_H
#define SG_XFR_CATALOG_H

#include <stdint.h>

#include "zones/zone.h"

/* The longest unique id: 32 hex digits (the short form is 16). */
#define SG_CATALOG_ID_MAX 33

/* The unique id (RFC 9432 4.1) of member zone `member` (wire form, any case): the first
 * 8 bytes of SHA-256 over its lower-case wire form, in lower-case hex; `wide` gives 16
 * bytes (the id of a member whose short id another member already has). Stable: the
 * same name always gets the same id, across restarts and servers. Writes the text,
 * NUL-terminated, to out (SG_CATALOG_ID_MAX bytes). */
void sg_catalog_id(const uint8_t *member, int wide, char out[SG_CATALOG_ID_MAX]);

/* Build the catalog zone `apex` (wire form) listing members[0..n) (wire forms; order and
 * case do not matter, duplicates are listed once): the SOA (invalid. invalid. serial
 * 3600 600 2147483646 0), NS invalid., version TXT "2", and per member
 * `<id>.zones.<apex> PTR <member>` with, when group is given, `group.<id>.zones.<apex>
 * TXT "<group>"`; every record has TTL 0. A member at or below the apex is left out.
 * Returns 0 and *zone_out (the caller owns it: sg_zone_free, or a zonedb slot), or
 * SG_ENOMEM / SG_EINVAL (a group longer than 255 bytes). */
int sg_catalog_build(const uint8_t *apex, const uint8_t *const *members, int n,
                     const char *group, uint32_t serial, sg_zone **zone_out);

/* Non-zero when two catalog zones hold the same records, their SOA serials aside (a new
 * rendering that changes nothing is not published: the serial moves only with the
 * members). */
int sg_catalog_same(const sg_zone *a, const sg_zone *b);

#endif
