/* SPDX-License-Identifier: MIT */
/* The NSEC3 chain: every name hashed once when the zone version is built; queries hash
 * only the names that do not exist (next closer, wildcard) and binary-search the chain. */
#include "signer/denial.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/psort.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* the first 8 bytes of an NSEC3 hash as a number that sorts as the bytes do */
static inline uint64_t hash_prefix(const uint8_t *h)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return v;
}

#include <openssl/evp.h>

static EVP_MD *g_sha1;

static const EVP_MD *sha1(void)
{
    /* fetch once: an implicit fetch per digest costs more than the digest */
    if (!g_sha1)
        g_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    return g_sha1;
}

void sg_nsec3_hash(const sg_nsec3_chain *c, const uint8_t *name, uint8_t out[SG_NSEC3_HASH_LEN])
{
    uint8_t buf[SG_NAME_MAX + 255];
    size_t nl = sg_name_len(name);
    memcpy(buf, name, nl);
    sg_name_lower(buf);
    memcpy(buf + nl, c->salt, c->salt_len);
    unsigned int len;
    EVP_Digest(buf, nl + c->salt_len, out, &len, sha1(), NULL);
    for (uint16_t i = 0; i < c->iterations; i++) {
        memcpy(buf, out, SG_NSEC3_HASH_LEN);
        memcpy(buf + SG_NSEC3_HASH_LEN, c->salt, c->salt_len);
        EVP_Digest(buf, SG_NSEC3_HASH_LEN + c->salt_len, out, &len, sha1(), NULL);
    }
}

void sg_base32hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = digits[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = digits[(acc << (5 - bits)) & 31];
    out[o] = 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const sg_nsec3_entry *)a)->hash, ((const sg_nsec3_entry *)b)->hash, SG_NSEC3_HASH_LEN);
}

/* Entries [from, to) hashed on one thread. */
typedef struct hash_part {
    sg_nsec3_chain *c;
    size_t from, to;
} hash_part;

static void *hash_range(void *arg)
{
    hash_part *h = arg;
    for (size_t i = h->from; i < h->to; i++)
        sg_nsec3_hash(h->c, h->c->e[i].node->name, h->c->e[i].hash);
    return NULL;
}

/* Every entry's hash, the range split between threads (the calling one included). */
static void hash_all(sg_nsec3_chain *c, int threads)
{
    enum { PARTS_MAX = 64 };
    if (threads > PARTS_MAX)
        threads = PARTS_MAX;
    if (threads < 2 || c->n < 4096) {
        hash_part all = { c, 0, c->n };
        hash_range(&all);
        return;
    }
    hash_part part[PARTS_MAX];
    pthread_t th[PARTS_MAX];
    int started[PARTS_MAX] = { 0 };
    for (int t = 0; t < threads; t++)
        part[t] = (hash_part){ c, c->n * (size_t)t / (size_t)threads,
                               c->n * (size_t)(t + 1) / (size_t)threads };
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&th[t], NULL, hash_range, &part[t]) == 0;
    hash_range(&part[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            hash_range(&part[t]); /* no thread: this one does it */
    }
}

static int eligible(const sg_node *n, int optout)
{
    if (n->flags & SG_NODE_NONAUTH)
        return 0;
    return !(optout && (n->flags & SG_NODE_DELEG) && !sg_node_rrset(n, SG_TYPE_DS));
}

/* The entries of c (c->e, c->n) in hash order. From scratch: every name hashed, then
 * sorted. From prev (peer: sg_denial_delta): the names prev had keep their hash and
 * prev's order, the new ones are hashed, sorted among themselves and merged in;
 * *reused_out (c->n entries) is then the prev entry each came from, or UINT32_MAX. */
static int order_entries(sg_nsec3_chain *c, const sg_nsec3_chain *prev, const uint32_t *peer,
                         int threads, uint32_t **reused_out)
{
    const sg_zone *z = c->zone;
    if (!prev) {
        for (size_t i = 0; i < z->nnodes; i++) {
            const sg_node *n = &z->nodes[i];
            if (eligible(n, c->optout))
                c->e[c->n++].node = n;
        }
        hash_all(c, threads);
        sg_psort(c->e, c->n, sizeof *c->e, cmp_entry, threads);
        return 0;
    }
    /* kept[k]: the node of z that prev's entry k stands for now, or none */
    uint32_t *kept = malloc((prev->n ? prev->n : 1) * sizeof *kept);
    sg_nsec3_entry *fresh = calloc(z->nnodes ? z->nnodes : 1, sizeof *fresh);
    uint32_t *reused = malloc((z->nnodes ? z->nnodes : 1) * sizeof *reused);
    if (!kept || !fresh || !reused) {
        free(kept);
        free(fresh);
        free(reused);
        return SG_ENOMEM;
    }
    for (size_t k = 0; k < prev->n; k++)
        kept[k] = UINT32_MAX;
    size_t nfresh = 0;
    for (size_t i = 0; i < z->nnodes; i++) {
        const sg_node *n = &z->nodes[i];
        if (!eligible(n, c->optout))
            continue;
        uint32_t pi = peer[i] == SG_DELTA_NONE ? UINT32_MAX : prev->by_node[peer[i] & ~SG_DELTA_SAME];
        if (pi != UINT32_MAX) {
            kept[pi] = (uint32_t)i;
            continue;
        }
        sg_nsec3_entry *e = &fresh[nfresh++];
        e->node = n;
        sg_nsec3_hash(c, n->name, e->hash);
    }
    qsort(fresh, nfresh, sizeof *fresh, cmp_entry);
    size_t k = 0, f = 0;
    for (;;) {
        while (k < prev->n && kept[k] == UINT32_MAX)
            k++;
        if (k == prev->n && f == nfresh)
            break;
        sg_nsec3_entry *e = &c->e[c->n];
        if (k < prev->n && (f == nfresh || memcmp(prev->e[k].hash, fresh[f].hash, SG_NSEC3_HASH_LEN) < 0)) {
            memcpy(e->hash, prev->e[k].hash, SG_NSEC3_HASH_LEN);
            e->node = &z->nodes[kept[k]];
            reused[c->n++] = (uint32_t)k++;
        } else {
            *e = fresh[f++];
            reused[c->n++] = UINT32_MAX;
        }
    }
    free(kept);
    free(fresh);
    *reused_out = reused;
    return 0;
}

/* prev and peer may be NULL: a build from scratch */
static int build(const sg_zone *z, const sg_nsec3_chain *prev, const uint32_t *peer,
                 uint16_t iterations, const uint8_t *salt, uint8_t salt_len, int optout,
                 const uint16_t *apex_types, int napex, int threads, sg_nsec3_chain **out)
{
    if (!sha1()) {
        sg_log(SG_LOG_ERR, "signer", z->apex_str, "SHA-1 is not available for NSEC3");
        return SG_ELIB;
    }
    sg_nsec3_chain *c = calloc(1, sizeof *c);
    if (!c)
        return SG_ENOMEM;
    c->zone = z;
    c->iterations = iterations;
    c->salt_len = salt_len;
    if (salt_len)
        memcpy(c->salt, salt, salt_len);
    c->optout = optout ? 1 : 0;
    sg_arena_init_growing(&c->mem, 1 << 20);
    uint32_t *reused = NULL;
    c->e = calloc(z->nnodes, sizeof *c->e);
    c->by_node = malloc(z->nnodes * sizeof *c->by_node);
    if (!c->e || !c->by_node || order_entries(c, prev, peer, threads, &reused)) {
        sg_nsec3_free(c);
        return SG_ENOMEM;
    }
    for (size_t i = 0; i < z->nnodes; i++)
        c->by_node[i] = UINT32_MAX;
    /* binary search touches 17 entries of 60+ bytes each; 8-byte prefixes side by side,
     * compared as numbers, cost far fewer cache misses than the entries or 20-byte keys
     * through memcmp (8% of an NSEC3 NXDOMAIN's CPU) */
    c->pfx = malloc((c->n ? c->n : 1) * sizeof *c->pfx);
    if (!c->pfx) {
        free(reused);
        sg_nsec3_free(c);
        return SG_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++)
        c->pfx[i] = hash_prefix(c->e[i].hash);

    uint16_t types[1100];
    uint8_t bitmap[8704];
    char label[40];
    size_t bm_at = 2 + 5 + salt_len + 1 + SG_NSEC3_HASH_LEN; /* in an NSEC3's rdata */
    for (size_t i = 0; i < c->n; i++) {
        sg_nsec3_entry *e = &c->e[i];
        const sg_node *n = e->node;
        const sg_nsec3_entry *old = reused && reused[i] != UINT32_MAX ? &prev->e[reused[i]] : NULL;
        /* the index from the address: reading the node is a cache miss per entry, in
         * hash order, that a name whose bitmap is reused never needs */
        size_t ni = (size_t)(n - z->nodes);
        c->by_node[ni] = (uint32_t)i;
        size_t ll = 32; /* base32hex of 20 bytes */
        e->owner = sg_arena_alloc(&c->mem, 1 + ll + z->apex_len);
        if (!e->owner) {
            free(reused);
            sg_nsec3_free(c);
            return SG_ENOMEM;
        }
        if (old) {
            memcpy(e->owner, old->owner, 1 + ll + z->apex_len);
        } else {
            sg_base32hex(e->hash, SG_NSEC3_HASH_LEN, label);
            e->owner[0] = (uint8_t)ll;
            memcpy(e->owner + 1, label, ll);
            memcpy(e->owner + 1 + ll, z->apex, z->apex_len);
        }

        const uint8_t *bm = bitmap;
        size_t bl;
        if (old && (peer[ni] & SG_DELTA_SAME)) {
            /* same types and flags: the bitmap the last version made for the name */
            bm = old->rrset.rdata + bm_at;
            bl = 2 + sg_rdlen(old->rrset.rdata) - bm_at;
        } else {
            int nt = 0, cut = (n->flags & SG_NODE_DELEG) != 0, signed_data = 0;
            for (uint16_t k = 0; k < n->nrrsets && nt < 1000; k++) {
                uint16_t t = n->rrsets[k].type;
                if (cut && t != SG_TYPE_NS && t != SG_TYPE_DS)
                    continue;
                types[nt++] = t;
                if (!cut || t == SG_TYPE_DS)
                    signed_data = 1;
            }
            if (n == z->apex_node) {
                for (int k = 0; k < napex && nt < 1090; k++)
                    types[nt++] = apex_types[k];
                types[nt++] = SG_TYPE_NSEC3PARAM;
            }
            if (signed_data)
                types[nt++] = SG_TYPE_RRSIG;
            bl = sg_type_bitmap(types, nt, bitmap);
        }
        const sg_nsec3_entry *next = &c->e[(i + 1) % c->n];
        size_t rdlen = 5 + salt_len + 1 + SG_NSEC3_HASH_LEN + bl;
        uint8_t *rd = sg_arena_alloc(&c->mem, 2 + rdlen);
        if (!rd) {
            free(reused);
            sg_nsec3_free(c);
            return SG_ENOMEM;
        }
        rd[0] = (uint8_t)(rdlen >> 8);
        rd[1] = (uint8_t)rdlen;
        uint8_t *p = rd + 2;
        p[0] = 1; /* SHA-1 */
        p[1] = c->optout;
        p[2] = (uint8_t)(iterations >> 8);
        p[3] = (uint8_t)iterations;
        p[4] = salt_len;
        if (salt_len)
            memcpy(p + 5, salt, salt_len);
        p += 5 + salt_len;
        *p++ = SG_NSEC3_HASH_LEN;
        memcpy(p, next->hash, SG_NSEC3_HASH_LEN);
        p += SG_NSEC3_HASH_LEN;
        memcpy(p, bm, bl);
        e->rrset.type = SG_TYPE_NSEC3;
        e->rrset.count = 1;
        e->rrset.ttl = z->neg_ttl;
        e->rrset.rdata_len = (uint32_t)(2 + rdlen);
        e->rrset.rdata = rd;
    }
    free(reused);
    /* NSEC3PARAM: flags are 0 there (RFC 5155 4.1.2) */
    size_t plen = 5 + salt_len;
    uint8_t *pr = sg_arena_alloc(&c->mem, 2 + plen);
    if (!pr) {
        sg_nsec3_free(c);
        return SG_ENOMEM;
    }
    pr[0] = 0;
    pr[1] = (uint8_t)plen;
    pr[2] = 1;
    pr[3] = 0;
    pr[4] = (uint8_t)(iterations >> 8);
    pr[5] = (uint8_t)iterations;
    pr[6] = salt_len;
    if (salt_len)
        memcpy(pr + 7, salt, salt_len);
    c->param.type = SG_TYPE_NSEC3PARAM;
    c->param.count = 1;
    c->param.ttl = z->soa->ttl;
    c->param.rdata_len = (uint32_t)(2 + plen);
    c->param.rdata = pr;
    *out = c;
    return 0;
}

int sg_nsec3_build(const sg_zone *z, uint16_t iterations, const uint8_t *salt, uint8_t salt_len,
                   int optout, const uint16_t *apex_types, int napex, sg_nsec3_chain **out)
{
    return build(z, NULL, NULL, iterations, salt, salt_len, optout, apex_types, napex, 1, out);
}

int sg_nsec3_build_threads(const sg_zone *z, uint16_t iterations, const uint8_t *salt,
                           uint8_t salt_len, int optout, const uint16_t *apex_types, int napex,
                           int threads, sg_nsec3_chain **out)
{
    return build(z, NULL, NULL, iterations, salt, salt_len, optout, apex_types, napex, threads,
                 out);
}

int sg_nsec3_build_from(const sg_zone *z, const sg_nsec3_chain *prev, const uint16_t *apex_types,
                        int napex, sg_nsec3_chain **out)
{
    if (!prev)
        return SG_EINVAL;
    uint32_t *peer = malloc((z->nnodes ? z->nnodes : 1) * sizeof *peer);
    if (!peer)
        return SG_ENOMEM;
    sg_denial_delta(prev->zone, z, peer);
    int rc = build(z, prev, peer, prev->iterations, prev->salt, prev->salt_len, prev->optout,
                   apex_types, napex, 1, out);
    free(peer);
    return rc;
}

void sg_nsec3_free(sg_nsec3_chain *c)
{
    if (!c)
        return;
    sg_arena_deinit(&c->mem);
    free(c->e);
    free(c->pfx);
    free(c->by_node);
    free(c);
}

/* entry i against hash h (whose prefix is hp): <0, 0, >0 */
static inline int cmp_at(const sg_nsec3_chain *c, size_t i, uint64_t hp,
                            const uint8_t h[SG_NSEC3_HASH_LEN])
{
    if (c->pfx[i] != hp)
        return c->pfx[i] < hp ? -1 : 1;
    return memcmp(c->e[i].hash, h, SG_NSEC3_HASH_LEN);
}

const sg_nsec3_entry *sg_nsec3_find(const sg_nsec3_chain *c, const uint8_t h[SG_NSEC3_HASH_LEN],
                                    int *match_out)
{
    /* the last entry with hash <= h; below the first one the last entry covers (wrap) */
    uint64_t hp = hash_prefix(h);
    size_t lo = 0, hi = c->n;
    if (cmp_at(c, 0, hp, h) > 0) {
        *match_out = 0;
        return &c->e[c->n - 1];
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_at(c, mid, hp, h) <= 0)
            lo = mid;
        else
            hi = mid;
    }
    *match_out = cmp_at(c, lo, hp, h) == 0;
    return &c->e[lo];
}
