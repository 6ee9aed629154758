/* SPDX-License-Identifier: MIT */
/* Zones by apex: a hash table a zone source holding many zones finds the zone for a query
 * in, by the query name's suffixes (longest first), in O(labels) whatever the number of
 * zones. */
#ifndef SG_ZONE_INDEX_H
#define SG_ZONE_INDEX_H

#include "zones/zone.h"

typedef struct sg_zone_index sg_zone_index;

/* An empty index, or NULL when out of memory. Free with sg_zone_index_free (NULL: no-op). */
sg_zone_index *sg_zone_index_new(void);
void sg_zone_index_free(sg_zone_index *idx);
/* Add z under its apex; the index does not own it. A zone already there for that apex
 * stays (the first one given answers, as with a walk over the zones in order).
 * 0, SG_EINVAL, or SG_ENOMEM (nothing changed). Not while queries read the index. */
int sg_zone_index_add(sg_zone_index *idx, const sg_zone *z);
/* Remove the zone at apex (wire form, any case); 0, or SG_ENOTFOUND. Not while queries
 * read the index. */
int sg_zone_index_remove(sg_zone_index *idx, const uint8_t *apex);
/* The zone whose apex is exactly apex (wire form, any case), or NULL. */
const sg_zone *sg_zone_index_get(const sg_zone_index *idx, const uint8_t *apex);
/* The zone that answers q (sg_zone_better_match's rule: the longest apex holding q's
 * name, except that the DS at a zone's apex is the parent's when the parent is there
 * too), or NULL. Lock-free; one hash probe per label of the name at most. */
const sg_zone *sg_zone_index_match(const sg_zone_index *idx, const sg_query *q);
/* Zones in the index. */
size_t sg_zone_index_count(const sg_zone_index *idx);

/* Test hook: apex comparisons made by this thread's lookups, so that a unit test can show
 * a lookup's cost does not grow with the number of zones. */
extern _Thread_local unsigned long sg_zone_index_compares;

#endif
