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
/* An arena whose chunks start at 4 KiB and double up to max_chunk: for data kept per
 * zone version (a small zone must not hold a 1 MiB chunk; 10^5 of them would). */
void sg_arena_init_growing(sg_arena *a, size_t max_chunk);
/* Free every chunk; the arena can be used again afterwards. */
void sg_arena_deinit(sg_arena *a);
/* Free all but the first chunk and rewind it: cheap reuse per query. */
void sg_arena_reset(sg_arena *a);
/* Allocate size bytes aligned to 8; NULL when out of memory. Freed with the arena. */
void *sg_arena_alloc(sg_arena *a, size_t size);
/* Copy len bytes into the arena. */
void *sg_arena_dup(sg_arena *a, const void *src, size_t len);

#endif
