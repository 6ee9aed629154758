/* SPDX-License-Identifier: MIT */
/* Records of a master file parsed on several threads: the reader (load.c) gathers each
 * entry's text with everything it depends on made explicit (an absolute owner, the default
 * TTL, the origin), and a pool of threads turns batches of them into wire form for the
 * builder. The zone does not depend on the order they are added in (the builder sorts). */
#ifndef SG_PARSE_POOL_H
#define SG_PARSE_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "zones/zone.h"

typedef struct sg_parse_pool sg_parse_pool;

/* A pool adding to b on `threads` threads, the caller's included (1: the caller parses
 * each batch itself when it is full). Parse errors are logged (with the zone's name
 * apex_str and file:line) and counted in *errors. NULL when out of memory. */
sg_parse_pool *sg_parse_pool_new(sg_zone_builder *b, int threads, const char *apex_str,
                                 _Atomic int *errors);
/* Queue one record: text ("OWNER [TTL] [CLASS] TYPE RDATA", the owner absolute), the TTL it
 * takes when it gives none, the origin its RDATA names are relative to (kept alive by the
 * caller until sg_parse_pool_finish), its file (kept alive until the builder is finished)
 * and line. 0, or SG_ENOMEM. */
int sg_parse_pool_add(sg_parse_pool *p, const char *text, size_t len, uint32_t default_ttl,
                      const ldns_rdf *origin, const char *file, unsigned line);
/* Wait until every queued record is in the builder. 0, or SG_ENOMEM (a batch was lost). */
int sg_parse_pool_finish(sg_parse_pool *p);
/* Stop the threads (after sg_parse_pool_finish, or to give up) and free the pool. */
void sg_parse_pool_free(sg_parse_pool *p);

#endif
