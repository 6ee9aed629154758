/* SPDX-License-Identifier: MIT */
/* Bump allocator in chunks. */
#include "common/arena.h"

#include <stdlib.h>
#include <string.h>

struct sg_arena_chunk {
    sg_arena_chunk *next;
    size_t size;
    size_t used;
    max_align_t data[];
};

void sg_arena_init(sg_arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 65536;
    a->total = 0;
    a->next_chunk = 0;
}

void sg_arena_init_growing(sg_arena *a, size_t max_chunk)
{
    sg_arena_init(a, max_chunk);
    a->next_chunk = a->chunk_size < SG_ARENA_FIRST_CHUNK ? a->chunk_size : SG_ARENA_FIRST_CHUNK;
}

void sg_arena_deinit(sg_arena *a)
{
    sg_arena_chunk *c = a->head;
    while (c) {
        sg_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}

void sg_arena_reset(sg_arena *a)
{
    if (!a->head)
        return;
    sg_arena_chunk *c = a->head;
    /* keep the oldest chunk (the last in the list) */
    while (c->next) {
        sg_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    c->used = 0;
    a->head = c;
    a->total = 0;
}

void *sg_arena_alloc(sg_arena *a, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    sg_arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t want = a->next_chunk ? a->next_chunk : a->chunk_size;
        size_t cs = size > want ? size : want;
        if (a->next_chunk && a->next_chunk < a->chunk_size)
            a->next_chunk *= 2;
        sg_arena_chunk *n = malloc(sizeof *n + cs);
        if (!n)
            return NULL;
        n->size = cs;
        n->used = 0;
        if (c && size > a->chunk_size) {
            /* a big one-off: keep the current chunk in front for small allocations */
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    a->total += size;
    return p;
}

size_t sg_arena_reserved(const sg_arena *a)
{
    size_t n = 0;
    for (const sg_arena_chunk *c = a->head; c; c = c->next)
        n += c->size;
    return n;
}

void *sg_arena_dup(sg_arena *a, const void *src, size_t len)
{
    void *p = sg_arena_alloc(a, len ? len : 1);
    if (p && len)
        memcpy(p, src, len);
    return p;
}
