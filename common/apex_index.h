/* SPDX-License-Identifier: MIT */
/* An index from a zone's apex to its place in a table of zones: the tables that come and
 * go with zones at run time (the key manager's, dynamic's, transfer's) find a zone in
 * O(1) instead of walking them all. Open addressing over sg_name_hash; built once per
 * table, read lock-free with it. */
#ifndef SG_APEX_INDEX_H
#define SG_APEX_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* The apex (lower-case wire form) of item i of the caller's table. */
typedef const uint8_t *(*sg_apex_of_fn)(const void *table, int i);

typedef struct sg_apex_index {
    uint32_t mask;  /* slots - 1 (a power of two, at least twice the items) */
    int32_t *slot;  /* item number, or -1 for an empty slot */
    int n;
} sg_apex_index;

/* Index the n items of table (their apexes distinct). 0 or SG_ENOMEM. */
int sg_apex_index_build(sg_apex_index *ix, const void *table, int n, sg_apex_of_fn apex_of);

/* The item whose apex is apex (lower-case wire form of length len), or -1. */
int sg_apex_index_find(const sg_apex_index *ix, const void *table, sg_apex_of_fn apex_of,
                       const uint8_t *apex, size_t len);

void sg_apex_index_free(sg_apex_index *ix);

#endif
