/* SPDX-License-Identifier: MIT */
/* Zones by apex: open addressing on the lower-case apex's hash (see zone_index.h). */
#include "zones/zone_index.h"
#include "common/errors.h"
#include "common/name.h"

#include <stdlib.h>
#include <string.h>

_Thread_local unsigned long sg_zone_index_compares;

struct sg_zone_index {
    const sg_zone **slots;  /* NULL: empty; a removed entry is moved back (no tombstones) */
    size_t mask;            /* slots - 1, a power of two kept at least twice the count */
    size_t count;
};

sg_zone_index *sg_zone_index_new(void)
{
    sg_zone_index *idx = calloc(1, sizeof *idx);
    if (!idx)
        return NULL;
    idx->mask = 15;
    if (!(idx->slots = calloc(idx->mask + 1, sizeof *idx->slots))) {
        free(idx);
        return NULL;
    }
    return idx;
}

void sg_zone_index_free(sg_zone_index *idx)
{
    if (!idx)
        return;
    free(idx->slots);
    free(idx);
}

size_t sg_zone_index_count(const sg_zone_index *idx)
{
    return idx ? idx->count : 0;
}

/* sg_name_hash, mixed (murmur3's finaliser): apexes share their last labels, and
 * linear probing wants the low bits spread, or long runs form */
static uint64_t home_hash(const uint8_t *name, size_t len)
{
    uint64_t h = sg_name_hash(name, len);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* name: lower-case wire form of length len */
static size_t find_slot(const sg_zone_index *idx, const uint8_t *name, size_t len)
{
    size_t i = home_hash(name, len) & idx->mask;
    for (;;) {
        const sg_zone *z = idx->slots[i];
        if (!z)
            return i;
        sg_zone_index_compares++;
        if (z->apex_len == len && memcmp(z->apex, name, len) == 0)
            return i;
        i = (i + 1) & idx->mask;
    }
}

static void lower_copy(const uint8_t *name, uint8_t out[SG_NAME_MAX], size_t *len_out)
{
    size_t len = sg_name_len(name);
    memcpy(out, name, len);
    sg_name_lower(out);
    *len_out = len;
}

static int grow(sg_zone_index *idx)
{
    size_t nmask = idx->mask * 2 + 1;
    const sg_zone **ns = calloc(nmask + 1, sizeof *ns);
    if (!ns)
        return SG_ENOMEM;
    sg_zone_index n = { ns, nmask, 0 };
    for (size_t i = 0; i <= idx->mask; i++) {
        const sg_zone *z = idx->slots[i];
        if (z) {
            ns[find_slot(&n, z->apex, z->apex_len)] = z;
            n.count++;
        }
    }
    free(idx->slots);
    *idx = n;
    return 0;
}

int sg_zone_index_add(sg_zone_index *idx, const sg_zone *z)
{
    if (!idx || !z)
        return SG_EINVAL;
    if ((idx->count + 1) * 2 > idx->mask + 1 && grow(idx))
        return SG_ENOMEM;
    /* zone apexes are lower case (the builder's) */
    size_t i = find_slot(idx, z->apex, z->apex_len);
    if (!idx->slots[i]) {
        idx->slots[i] = z;
        idx->count++;
    }
    return 0;
}

int sg_zone_index_remove(sg_zone_index *idx, const uint8_t *apex)
{
    if (!idx || !apex)
        return SG_EINVAL;
    uint8_t a[SG_NAME_MAX];
    size_t len;
    lower_copy(apex, a, &len);
    size_t i = find_slot(idx, a, len);
    if (!idx->slots[i])
        return SG_ENOTFOUND;
    idx->slots[i] = NULL;
    idx->count--;
    /* linear probing without tombstones: move back what the hole would cut off */
    for (size_t j = (i + 1) & idx->mask; idx->slots[j]; j = (j + 1) & idx->mask) {
        const sg_zone *z = idx->slots[j];
        size_t home = home_hash(z->apex, z->apex_len) & idx->mask;
        /* z stays unless its home lies cyclically in (i, j] */
        if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
            continue;
        idx->slots[i] = z;
        idx->slots[j] = NULL;
        i = j;
    }
    return 0;
}

const sg_zone *sg_zone_index_get(const sg_zone_index *idx, const uint8_t *apex)
{
    if (!idx || !apex)
        return NULL;
    uint8_t a[SG_NAME_MAX];
    size_t len;
    lower_copy(apex, a, &len);
    return idx->slots[find_slot(idx, a, len)];
}

const sg_zone *sg_zone_index_match(const sg_zone_index *idx, const sg_query *q)
{
    if (!idx || !q || !idx->count)
        return NULL;
    /* q->qname is lower case: its suffixes are apexes as the index holds them */
    const uint8_t *name = q->qname;
    size_t len = q->qname_len ? q->qname_len : sg_name_len(name);
    const sg_zone *first = NULL;
    for (;;) {
        const sg_zone *z = idx->slots[find_slot(idx, name, len)];
        if (z) {
            /* the DS at a zone's apex is the parent's, when the parent is here too */
            if (!(q->qtype == SG_TYPE_DS && name == q->qname && name[0]))
                return z;
            first = z;
        }
        if (!name[0])
            break;
        len -= name[0] + 1u;
        name += name[0] + 1;
    }
    return first;
}
