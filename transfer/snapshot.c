/* SPDX-License-Identifier: MIT */
/* A version of a zone as transferred: the signed zone's records with the version's SOA,
 * reusing the previous version's signatures where nothing changed. */
#include "transfer/transfer.h"
#include "common/errors.h"
#include "common/log.h"
#include "signer/signer.h"
#include "signer/zonesign.h"

#include <stdlib.h>
#include <string.h>

#define INCEPTION_SKEW 3600

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct build {
    sg_xfr_snap *s;
    const sg_zone *z;
    const sg_keyset *k;
    const sg_xfr_snap *prev;
    uint32_t now;
    sg_rrset soa;               /* the version's SOA */
    const uint8_t *last_owner;  /* arena copy of the previous owner */
    int sign_soa;               /* the next RRSIG set is the SOA's: replace it with ours */
    sg_arena scratch;           /* reused RRSIG RRsets, until the walk ends */
    uint32_t min_exp;
} build;

static int grow(sg_xfr_snap *s)
{
    if (s->n < s->cap_)
        return 0;
    size_t nc = s->cap_ ? s->cap_ * 2 : 16; /* doubled: a big zone pays a few reallocs */
    sg_xfr_rr *nr = realloc(s->rrs, nc * sizeof *nr);
    if (!nr)
        return SG_ENOMEM;
    s->rrs = nr;
    s->cap_ = nc;
    return 0;
}

static int emit(build *b, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                uint16_t rdlen, int copy_rdata)
{
    sg_xfr_snap *s = b->s;
    if (grow(s))
        return SG_ENOMEM;
    size_t ol = sg_name_len(owner);
    if (!b->last_owner || sg_name_len(b->last_owner) != ol || memcmp(b->last_owner, owner, ol)) {
        b->last_owner = sg_arena_dup(&s->mem, owner, ol);
        if (!b->last_owner)
            return SG_ENOMEM;
    }
    const uint8_t *rd = copy_rdata ? sg_arena_dup(&s->mem, rdata, rdlen ? rdlen : 1) : rdata;
    if (!rd)
        return SG_ENOMEM;
    if (type == SG_TYPE_SOA && sg_name_eq(owner, b->z->apex))
        s->soa_index = s->n;
    s->rrs[s->n++] = (sg_xfr_rr){ .owner = b->last_owner, .rdata = rd, .ttl = ttl, .type = type,
                                  .rdlen = rdlen };
    s->bytes += ol + 10 + rdlen;
    if (type == SG_TYPE_RRSIG && rdlen >= 12) {
        uint32_t exp = rd32(rd + 8);
        if (!b->min_exp || sg_serial_newer(b->min_exp, exp))
            b->min_exp = exp;
    }
    return 0;
}

static int emit_set(build *b, const uint8_t *owner, const sg_rrset *rs)
{
    const uint8_t *p = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t l = sg_rdlen(p);
        int rc = emit(b, owner, rs->type, rs->ttl, p + 2, l, 1);
        if (rc)
            return rc;
        p += 2 + l;
    }
    return 0;
}

static size_t idx_hash(const uint8_t *owner, uint16_t type)
{
    return (size_t)(sg_name_hash(owner, sg_name_len(owner)) ^ (uint64_t)type * 0x9e3779b97f4a7c15ULL);
}

/* The index of the first record of (owner, type) in s, or (size_t)-1. */
static size_t find_set(const sg_xfr_snap *s, const uint8_t *owner, uint16_t type)
{
    if (!s || !s->idx)
        return (size_t)-1;
    for (size_t i = idx_hash(owner, type) & s->idx_mask;; i = (i + 1) & s->idx_mask) {
        uint32_t v = s->idx[i];
        if (!v)
            return (size_t)-1;
        const sg_xfr_rr *r = &s->rrs[v - 1];
        if (r->type == type && sg_name_eq(r->owner, owner))
            return v - 1;
    }
}

static uint64_t signers_fp(const sg_sign_key *keys, int n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < n; i++)
        h = (h ^ (uint64_t)keys[i].id ^ ((uint64_t)keys[i].key_tag << 48)) * 0x100000001b3ULL;
    return h;
}

/* Does prev hold exactly this RRset, with signatures by the same keys that stay fresh?
 * Then its RRSIGs are reused (the walk signs nothing): a key published or withdrawn
 * changes DNSKEY and its signatures, not the rest. */
static const sg_rrset *reuse(void *arg, const uint8_t *owner, const sg_rrset *rs, int keyset)
{
    build *b = arg;
    const sg_xfr_snap *p = b->prev;
    if (!p || !b->k || (keyset ? p->ksk_fp != b->s->ksk_fp : p->zsk_fp != b->s->zsk_fp))
        return NULL;
    size_t i = find_set(p, owner, rs->type);
    if (i == (size_t)-1)
        return NULL;
    const uint8_t *d = rs->rdata;
    size_t j = i;
    for (uint16_t c = 0; c < rs->count; c++, j++) {
        uint16_t l = sg_rdlen(d);
        if (j >= p->n || p->rrs[j].type != rs->type || p->rrs[j].owner != p->rrs[i].owner ||
            p->rrs[j].ttl != rs->ttl || p->rrs[j].rdlen != l || memcmp(p->rrs[j].rdata, d + 2, l))
            return NULL;
        d += 2 + l;
    }
    if (j < p->n && p->rrs[j].type == rs->type && p->rrs[j].owner == p->rrs[i].owner)
        return NULL; /* prev had more records */
    size_t from = j, n = 0, bytes = 0;
    uint32_t fresh = b->now + b->k->policy.sig_refresh;
    while (j < p->n && p->rrs[j].type == SG_TYPE_RRSIG && p->rrs[j].owner == p->rrs[i].owner &&
           p->rrs[j].rdlen >= 12 && rd16(p->rrs[j].rdata) == rs->type) {
        if (!sg_serial_newer(rd32(p->rrs[j].rdata + 8), fresh))
            return NULL; /* due for refresh: sign again */
        bytes += 2u + p->rrs[j].rdlen;
        j++;
        n++;
    }
    if (n == 0 || n != (size_t)(keyset ? b->k->nksk : b->k->nzsk))
        return NULL;
    sg_rrset *out = sg_arena_alloc(&b->scratch, sizeof *out);
    uint8_t *blob = sg_arena_alloc(&b->scratch, bytes);
    if (!out || !blob)
        return NULL; /* sign it then */
    size_t o = 0;
    for (size_t k = from; k < from + n; k++) {
        blob[o] = (uint8_t)(p->rrs[k].rdlen >> 8);
        blob[o + 1] = (uint8_t)p->rrs[k].rdlen;
        memcpy(blob + o + 2, p->rrs[k].rdata, p->rrs[k].rdlen);
        o += 2u + p->rrs[k].rdlen;
    }
    *out = (sg_rrset){ .type = SG_TYPE_RRSIG, .count = (uint16_t)n, .ttl = p->rrs[from].ttl,
                       .rdata_len = (uint32_t)bytes, .rdata = blob };
    return out;
}

static int sign_soa(build *b)
{
    const sg_keyset *k = b->k;
    /* the same SOA (same serial) as prev: its signatures stay (a restart that changed
     * nothing is the same version) */
    const sg_rrset *old = reuse(b, b->z->apex, &b->soa, 0);
    if (old)
        return emit_set(b, b->z->apex, old);
    uint8_t sig[SG_RRSIG_MAX];
    for (int i = 0; i < k->nzsk; i++) {
        size_t len = 0;
        int rc = sg_rrsig_make(&k->zsk[i], b->z->apex, b->z->apex, (uint8_t)sg_name_labels(b->z->apex),
                               &b->soa, b->now - INCEPTION_SKEW, b->now + k->policy.sig_validity,
                               sig, &len);
        if (rc)
            return rc;
        if ((rc = emit(b, b->z->apex, SG_TYPE_RRSIG, b->soa.ttl, sig, (uint16_t)len, 1)))
            return rc;
    }
    return 0;
}

static int on_rrset(void *arg, const uint8_t *owner, const sg_rrset *rs)
{
    build *b = arg;
    if (rs->type == SG_TYPE_RRSIG) {
        if (b->sign_soa) {
            b->sign_soa = 0;
            return sign_soa(b);
        }
        return emit_set(b, owner, rs);
    }
    if (rs->type == SG_TYPE_SOA && sg_name_eq(owner, b->z->apex)) {
        b->sign_soa = b->k != NULL;
        return emit_set(b, owner, &b->soa);
    }
    return emit_set(b, owner, rs);
}

/* The unsigned zone: what a transfer carries without DNSSEC. */
static int walk_unsigned(build *b)
{
    const sg_zone *z = b->z;
    for (size_t i = 0; i < z->nnodes; i++) {
        const sg_node *n = &z->nodes[i];
        int cut = (n->flags & SG_NODE_DELEG) != 0, below = (n->flags & SG_NODE_NONAUTH) != 0;
        for (uint16_t j = 0; j < n->nrrsets; j++) {
            const sg_rrset *rs = &n->rrsets[j];
            if (below && rs->type != SG_TYPE_A && rs->type != SG_TYPE_AAAA)
                continue;
            if (cut && rs->type != SG_TYPE_NS && rs->type != SG_TYPE_DS)
                continue;
            int rc = on_rrset(b, n->name, rs);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int sg_xfr_snap_index(sg_xfr_snap *s)
{
    size_t sz = 16;
    while (sz < s->n * 2)
        sz *= 2;
    s->idx = calloc(sz, sizeof *s->idx);
    if (!s->idx)
        return SG_ENOMEM;
    s->idx_mask = sz - 1;
    for (size_t i = 0; i < s->n; i++) {
        const sg_xfr_rr *r = &s->rrs[i];
        if (r->type == SG_TYPE_RRSIG)
            continue;
        if (i > 0 && s->rrs[i - 1].type == r->type && s->rrs[i - 1].owner == r->owner)
            continue; /* not the first of its set */
        size_t h = idx_hash(r->owner, r->type) & s->idx_mask;
        while (s->idx[h])
            h = (h + 1) & s->idx_mask;
        s->idx[h] = (uint32_t)(i + 1);
    }
    return 0;
}

int sg_xfr_snap_build(const sg_zone *z, const sg_keyset *k, const sg_xfr_snap *prev,
                      uint32_t serial, uint32_t now, sg_xfr_snap **out)
{
    if (!z || !out || !z->soa || z->soa->count != 1)
        return SG_EINVAL;
    if (k && k->nzsk == 0)
        k = NULL; /* gone insecure: served unsigned, so transferred unsigned */
    sg_xfr_snap *s = calloc(1, sizeof *s);
    if (!s)
        return SG_ENOMEM;
    atomic_init(&s->refs, 1);
    sg_arena_init_growing(&s->mem, 1 << 20); /* a small zone: a small version */
    s->serial = serial;
    s->zone_gen = z->gen;
    s->key_fp = k ? k->fingerprint : 0;
    s->zsk_fp = k ? signers_fp(k->zsk, k->nzsk) : 0;
    s->ksk_fp = k ? signers_fp(k->ksk, k->nksk) : 0;
    s->denial = k ? (int)k->policy.denial : -1;
    build b = { .s = s, .z = z, .k = k, .prev = prev, .now = now };
    sg_arena_init(&b.scratch, 1 << 20);
    /* the SOA with this version's serial: after MNAME and RNAME */
    const uint8_t *srd = z->soa->rdata + 2;
    uint16_t sl = sg_rdlen(z->soa->rdata);
    size_t names = sg_name_len(srd);
    names += sg_name_len(srd + names);
    uint8_t *blob = sg_arena_alloc(&s->mem, 2u + sl);
    int rc = SG_ENOMEM;
    if (!blob || names + 20 != sl)
        goto fail;
    memcpy(blob, z->soa->rdata, 2u + sl);
    blob[2 + names] = (uint8_t)(serial >> 24);
    blob[3 + names] = (uint8_t)(serial >> 16);
    blob[4 + names] = (uint8_t)(serial >> 8);
    blob[5 + names] = (uint8_t)serial;
    b.soa = (sg_rrset){ .type = SG_TYPE_SOA, .count = 1, .ttl = z->soa->ttl,
                        .rdata_len = 2u + sl, .rdata = blob };
    rc = k ? sg_zonesign_walk_reuse(z, k, now, reuse, on_rrset, &b) : walk_unsigned(&b);
    if (rc)
        goto fail;
    if (s->cap_ > s->n && s->n) {
        /* kept as long as the version is served: no room left for records never added */
        sg_xfr_rr *fit = realloc(s->rrs, s->n * sizeof *fit);
        if (fit) {
            s->rrs = fit;
            s->cap_ = s->n;
        }
    }
    if ((rc = sg_xfr_snap_index(s)))
        goto fail;
    if (k && b.min_exp) {
        uint32_t r = b.min_exp - k->policy.sig_refresh;
        s->resign_at = r ? r : 1;
    }
    sg_arena_deinit(&b.scratch);
    *out = s;
    return 0;
fail:
    sg_arena_deinit(&b.scratch);
    sg_xfr_snap_unref(s);
    return rc;
}

uint32_t sg_xfr_snap_min_expiry(sg_xfr_snap *s)
{
    uint32_t m = atomic_load_explicit(&s->min_expiry_, memory_order_relaxed);
    if (m)
        return m == 1 ? 0 : m;
    /* a scrape asks, not the version builder: a version read back from disk knows it too */
    for (size_t i = 0; i < s->n; i++)
        if (s->rrs[i].type == SG_TYPE_RRSIG && s->rrs[i].rdlen >= 12) {
            uint32_t exp = rd32(s->rrs[i].rdata + 8);
            if (!m || sg_serial_newer(m, exp))
                m = exp;
        }
    atomic_store_explicit(&s->min_expiry_, m > 1 ? m : 1, memory_order_relaxed);
    return m > 1 ? m : 0;
}

void sg_xfr_snap_ref(sg_xfr_snap *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void sg_xfr_snap_unref(sg_xfr_snap *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    free(s->rrs);
    free(s->idx);
    sg_arena_deinit(&s->mem);
    free(s);
}

int sg_xfr_rr_cmp(const sg_xfr_rr *a, const sg_xfr_rr *b)
{
    if (a->owner != b->owner) {
        int c = sg_name_canon_cmp(a->owner, b->owner);
        if (c)
            return c;
    }
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    size_t l = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
    int c = memcmp(a->rdata, b->rdata, l);
    if (c)
        return c;
    if (a->rdlen != b->rdlen)
        return a->rdlen < b->rdlen ? -1 : 1;
    if (a->ttl != b->ttl)
        return a->ttl < b->ttl ? -1 : 1;
    return 0;
}
