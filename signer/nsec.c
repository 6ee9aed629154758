/* SPDX-License-Identifier: MIT */
/* The NSEC chain, derived from the zone's canonical node order at load, so that queries
 * only look records up (binary search) and never build them. */
#include "signer/denial.h"
#include "common/errors.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return x < y ? -1 : x > y;
}

size_t sg_type_bitmap(const uint16_t *types_in, int n, uint8_t *out)
{
    uint16_t types[1024];
    if (n > 1024)
        n = 1024;
    memcpy(types, types_in, (size_t)n * sizeof *types);
    qsort(types, (size_t)n, sizeof *types, cmp_u16);
    size_t o = 0;
    int i = 0;
    while (i < n) {
        uint8_t window = types[i] >> 8;
        uint8_t bits[32] = { 0 };
        int maxbyte = 0;
        for (; i < n && (types[i] >> 8) == window; i++) {
            uint8_t low = types[i] & 0xff;
            bits[low / 8] |= (uint8_t)(0x80 >> (low % 8));
            if (low / 8 > maxbyte)
                maxbyte = low / 8;
        }
        out[o++] = window;
        out[o++] = (uint8_t)(maxbyte + 1);
        memcpy(out + o, bits, (size_t)maxbyte + 1);
        o += (size_t)maxbyte + 1;
    }
    return o;
}

static int in_chain(const sg_node *n)
{
    return n->nrrsets > 0 && !(n->flags & SG_NODE_NONAUTH);
}

/* prev and peer (sg_denial_delta against prev's zone) may be NULL: a build from scratch */
static int build(const sg_zone *z, const sg_nsec_chain *prev, const uint32_t *peer,
                 const uint16_t *apex_types, int napex, sg_nsec_chain **out)
{
    sg_nsec_chain *c = calloc(1, sizeof *c);
    if (!c)
        return SG_ENOMEM;
    c->zone = z;
    sg_arena_init_growing(&c->mem, 1 << 20);
    c->nsec = calloc(z->nnodes, sizeof *c->nsec);
    c->chain_at = calloc(z->nnodes, sizeof *c->chain_at);
    if (!c->nsec || !c->chain_at) {
        sg_nsec_free(c);
        return SG_ENOMEM;
    }
    size_t last = 0; /* the apex is node 0 and always in the chain */
    for (size_t i = 0; i < z->nnodes; i++) {
        if (in_chain(&z->nodes[i]))
            last = i;
        c->chain_at[i] = (uint32_t)last;
    }
    uint16_t types[1100];
    uint8_t bitmap[8704];
    for (size_t i = 0; i < z->nnodes; i++) {
        const sg_node *n = &z->nodes[i];
        if (!in_chain(n))
            continue;
        size_t j = i + 1;
        while (j < z->nnodes && !in_chain(&z->nodes[j]))
            j++;
        const sg_node *next = j < z->nnodes ? &z->nodes[j] : z->apex_node;
        const uint8_t *bm = bitmap;
        size_t bl;
        if (peer && (peer[i] & SG_DELTA_SAME)) {
            /* same types and flags: the bitmap the last version made for the name */
            const sg_rrset *old = &prev->nsec[peer[i] & ~SG_DELTA_SAME];
            assert(old->count == 1);
            size_t onl = sg_name_len(old->rdata + 2);
            bm = old->rdata + 2 + onl;
            bl = sg_rdlen(old->rdata) - onl;
        } else {
            int nt = 0;
            int cut = (n->flags & SG_NODE_DELEG) != 0;
            for (uint16_t k = 0; k < n->nrrsets && nt < 1000; k++) {
                uint16_t t = n->rrsets[k].type;
                /* at a cut only NS and DS belong to this zone */
                if (cut && t != SG_TYPE_NS && t != SG_TYPE_DS)
                    continue;
                types[nt++] = t;
            }
            types[nt++] = SG_TYPE_NSEC;
            types[nt++] = SG_TYPE_RRSIG;
            if (n == z->apex_node)
                for (int k = 0; k < napex && nt < 1090; k++)
                    types[nt++] = apex_types[k];
            bl = sg_type_bitmap(types, nt, bitmap);
        }
        size_t rdlen = next->name_len + bl;
        uint8_t *rd = sg_arena_alloc(&c->mem, 2 + rdlen);
        if (!rd) {
            sg_nsec_free(c);
            return SG_ENOMEM;
        }
        rd[0] = (uint8_t)(rdlen >> 8);
        rd[1] = (uint8_t)rdlen;
        memcpy(rd + 2, next->name, next->name_len);
        memcpy(rd + 2 + next->name_len, bm, bl);
        sg_rrset *rs = &c->nsec[i];
        rs->type = SG_TYPE_NSEC;
        rs->count = 1;
        rs->ttl = z->neg_ttl;
        rs->rdata_len = (uint32_t)(2 + rdlen);
        rs->rdata = rd;
    }
    *out = c;
    return 0;
}

int sg_nsec_build(const sg_zone *z, const uint16_t *apex_types, int napex, sg_nsec_chain **out)
{
    return build(z, NULL, NULL, apex_types, napex, out);
}

int sg_nsec_build_from(const sg_zone *z, const sg_nsec_chain *prev, const uint16_t *apex_types,
                       int napex, sg_nsec_chain **out)
{
    if (!prev)
        return build(z, NULL, NULL, apex_types, napex, out);
    uint32_t *peer = malloc((z->nnodes ? z->nnodes : 1) * sizeof *peer);
    if (!peer)
        return SG_ENOMEM;
    sg_denial_delta(prev->zone, z, peer);
    int rc = build(z, prev, peer, apex_types, napex, out);
    free(peer);
    return rc;
}

void sg_nsec_free(sg_nsec_chain *c)
{
    if (!c)
        return;
    sg_arena_deinit(&c->mem);
    free(c->nsec);
    free(c->chain_at);
    free(c);
}

const sg_node *sg_nsec_cover(const sg_nsec_chain *c, const uint8_t *name)
{
    const sg_zone *z = c->zone;
    size_t lo = 0, hi = z->nnodes; /* find the last node <= name */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sg_name_canon_cmp(z->nodes[mid].name, name) <= 0)
            lo = mid;
        else
            hi = mid;
    }
    return &z->nodes[c->chain_at[lo]];
}
