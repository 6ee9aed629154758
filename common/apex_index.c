/* SPDX-License-Identifier: MIT */
/* The apex index (apex_index.h). */
#include "common/apex_index.h"
#include "common/errors.h"
#include "common/name.h"

#include <stdlib.h>
#include <string.h>

int sg_apex_index_build(sg_apex_index *ix, const void *table, int n, sg_apex_of_fn apex_of)
{
    uint32_t size = 4;
    while (size < 2u * (uint32_t)n)
        size <<= 1;
    int32_t *slot = malloc(size * sizeof *slot);
    if (!slot)
        return SG_ENOMEM;
    memset(slot, 0xff, size * sizeof *slot);
    for (int i = 0; i < n; i++) {
        const uint8_t *a = apex_of(table, i);
        uint32_t h = (uint32_t)sg_name_hash(a, sg_name_len(a)) & (size - 1);
        while (slot[h] >= 0)
            h = (h + 1) & (size - 1);
        slot[h] = i;
    }
    ix->slot = slot;
    ix->mask = size - 1;
    ix->n = n;
    return 0;
}

int sg_apex_index_find(const sg_apex_index *ix, const void *table, sg_apex_of_fn apex_of,
                       const uint8_t *apex, size_t len)
{
    if (!ix || !ix->slot || !ix->n || !apex)
        return -1;
    for (uint32_t h = (uint32_t)sg_name_hash(apex, len) & ix->mask;; h = (h + 1) & ix->mask) {
        int32_t i = ix->slot[h];
        if (i < 0)
            return -1;
        const uint8_t *a = apex_of(table, i);
        if (sg_name_len(a) == len && !memcmp(a, apex, len))
            return i;
    }
}

void sg_apex_index_free(sg_apex_index *ix)
{
    if (!ix)
        return;
    free(ix->slot);
    ix->slot = NULL;
    ix->n = 0;
}
