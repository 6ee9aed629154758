/* SPDX-License-Identifier: MIT */
/* A bump allocator: many small allocations freed together (zone data, per-query scratch). */
#ifndef SG_ARENA_H
#define SG_ARENA_H

#include <stddef.h>

typedef struct sg_arena_chunk sg_arena_chunk;

typedef struct sg_arena {
    sg_arena_chunk *head;
    size_t chunk_size;
    size_t total;          /* bytes handed out, for accounting */
    size_t next_chunk;     /* growing arenas: the next chunk's size (0: chunk_size) */
} sg_arena;

/* Prepare an empty arena whose chunks are chunk_size bytes (larger requests get their own). */
void sg_arena_init(sg_arena *a, size_t chunk_size);
/* An arena whose chunks start at SG_ARENA_FIRST_CHUNK bytes and double up to max_chunk:
 * for data kept per zone version. A small zone must not hold a 1 MiB chunk (10^5 of them
 * would), nor a 4 KiB one: a 10-record zone's data is ~1.5 KiB and its NSEC chain ~150
 * bytes, and with 10,000 zones 4 KiB first chunks were a third of the heap (massif). Never
 * more than twice what is used (plus one chunk header per doubling); a big zone reaches
 * max_chunk after a dozen small chunks. */
#define SG_ARENA_FIRST_CHUNK 256
void sg_arena_init_growing(sg_arena *a, size_t max_chunk);
/* Free every chunk; the arena can be used again afterwards. */
void sg_arena_deinit(sg_arena *a);
/* Free all but the first chunk and rewind it: cheap reuse per query. */
void sg_arena_reset(sg_arena *a);
/* Allocate size bytes aligned to 8; NULL when out of memory. Freed with the arena. */
void *sg_arena_alloc(sg_arena *a, size_t size);
/* Bytes the arena holds from malloc (its chunks' capacity): what it costs, as against
 * `total`, what it handed out. */
size_t sg_arena_reserved(const sg_arena *a);
/* Copy len bytes into the arena. */
void *sg_arena_dup(sg_arena *a, const void *src, size_t len);

#endif
