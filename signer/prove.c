/* SPDX-License-Identifier: MIT */
/* Choosing the denial records for a reply from the facts the lookup recorded. */
#include "signer/prove.h"
#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

#define SG_TYPE_NXNAME 128 /* RFC 9824 */

static int build(const sg_zone *z, const sg_denial *prev, enum sg_ks_denial kind,
                 uint16_t iterations, int optout, const uint16_t *apex_types, int napex,
                 int threads, sg_denial **out);

int sg_denial_build(const sg_zone *z, enum sg_ks_denial kind, uint16_t iterations, int optout,
                    const uint16_t *apex_types, int napex, sg_denial **out)
{
    return build(z, NULL, kind, iterations, optout, apex_types, napex, 1, out);
}

int sg_denial_build_threads(const sg_zone *z, enum sg_ks_denial kind, uint16_t iterations,
                            int optout, const uint16_t *apex_types, int napex, int threads,
                            sg_denial **out)
{
    return build(z, NULL, kind, iterations, optout, apex_types, napex, threads, out);
}

int sg_denial_build_from(const sg_zone *z, const sg_denial *prev, enum sg_ks_denial kind,
                         uint16_t iterations, int optout, const uint16_t *apex_types, int napex,
                         sg_denial **out)
{
    return build(z, prev, kind, iterations, optout, apex_types, napex, 1, out);
}

static int build(const sg_zone *z, const sg_denial *prev, enum sg_ks_denial kind,
                 uint16_t iterations, int optout, const uint16_t *apex_types, int napex,
                 int threads, sg_denial **out)
{
    sg_denial *d = calloc(1, sizeof *d);
    if (!d)
        return SG_ENOMEM;
    d->kind = kind;
    d->iterations = iterations;
    d->optout = optout ? 1 : 0;
    d->napex = napex;
    if (napex)
        memcpy(d->apex_types, apex_types, (size_t)napex * sizeof *apex_types);
    int rc = 0;
    /* a chain of another version of this zone with these parameters: derived from it */
    if (prev && !sg_denial_matches(prev, kind, iterations, optout, apex_types, napex))
        prev = NULL;
    const sg_zone *pz = !prev ? NULL : prev->nsec ? prev->nsec->zone : prev->nsec3 ? prev->nsec3->zone : NULL;
    if (pz && (pz == z || pz->apex_len != z->apex_len || memcmp(pz->apex, z->apex, z->apex_len)))
        prev = NULL;
    if (kind == SG_KS_DENIAL_NSEC && prev && prev->nsec)
        rc = sg_nsec_build_from(z, prev->nsec, apex_types, napex, &d->nsec);
    else if (kind == SG_KS_DENIAL_NSEC)
        rc = sg_nsec_build(z, apex_types, napex, &d->nsec);
    else if (kind == SG_KS_DENIAL_NSEC3 && prev && prev->nsec3)
        rc = sg_nsec3_build_from(z, prev->nsec3, apex_types, napex, &d->nsec3);
    else if (kind == SG_KS_DENIAL_NSEC3)
        rc = sg_nsec3_build_threads(z, iterations, NULL, 0, optout, apex_types, napex, threads,
                                    &d->nsec3);
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void sg_denial_free(void *p)
{
    sg_denial *d = p;
    if (!d)
        return;
    sg_nsec_free(d->nsec);
    sg_nsec3_free(d->nsec3);
    free(d);
}

int sg_denial_matches(const sg_denial *d, enum sg_ks_denial kind, uint16_t iterations,
                      int optout, const uint16_t *apex_types, int napex)
{
    if (d->kind != kind || d->napex != napex ||
        memcmp(d->apex_types, apex_types, (size_t)napex * sizeof *apex_types))
        return 0;
    if (kind == SG_KS_DENIAL_NSEC3 && (d->iterations != iterations || d->optout != (optout ? 1 : 0)))
        return 0;
    return 1;
}

static int add(sg_query *q, const uint8_t *owner, const sg_rrset *rs, uint16_t flags)
{
    for (uint16_t i = 0; i < q->ns.n; i++)
        if (q->ns.refs[i].rrset == rs)
            return 0; /* one record can prove two things */
    return sg_section_add(&q->ns, owner, rs, rs->ttl, flags);
}

/* The name whose absence or emptiness the reply is about: the end of a CNAME chain. */
static const uint8_t *subject(const sg_query *q)
{
    if (q->an.n > 0) {
        const sg_rr_ref *last = &q->an.refs[q->an.n - 1];
        if (last->rrset->type == SG_TYPE_CNAME && q->qtype != SG_TYPE_CNAME)
            return last->rrset->rdata + 2;
    }
    return q->qname;
}

/* ---- NSEC -------------------------------------------------------------------------- */

static int nsec_cover(const sg_nsec_chain *c, sg_query *q, const uint8_t *name)
{
    const sg_node *n = sg_nsec_cover(c, name);
    const sg_rrset *rs = sg_nsec_of(c, n);
    return rs ? add(q, n->name, rs, SG_REF_DENIAL) : 0;
}

static int nsec_node(const sg_nsec_chain *c, sg_query *q, const sg_node *n)
{
    const sg_rrset *rs = sg_nsec_of(c, n);
    if (!rs) /* an empty non-terminal: the record covering it shows it holds nothing */
        return nsec_cover(c, q, n->name);
    return add(q, n->name, rs, SG_REF_DENIAL);
}

static int prove_nsec(const sg_nsec_chain *c, sg_query *q)
{
    int rc = 0;
    const uint8_t *sname = subject(q);
    for (uint16_t i = 0; i < q->an.n && !rc; i++)
        if (q->an.refs[i].flags & SG_REF_SYNTH)
            rc = nsec_cover(c, q, q->an.refs[i].owner); /* no exact match exists */
    if (rc)
        return rc;
    switch (q->kind) {
    case SG_KIND_NXDOMAIN: {
        if ((rc = nsec_cover(c, q, sname)))
            return rc;
        uint8_t wc[SG_NAME_MAX];
        const sg_node *ce = q->encloser;
        if (!ce || ce->name_len + 2 > SG_NAME_MAX)
            return 0;
        wc[0] = 1;
        wc[1] = '*';
        memcpy(wc + 2, ce->name, ce->name_len);
        return nsec_cover(c, q, wc);
    }
    case SG_KIND_NODATA:
        return q->node ? nsec_node(c, q, q->node) : 0;
    case SG_KIND_WILDCARD_NODATA:
        if ((rc = nsec_cover(c, q, sname)))
            return rc;
        return q->node ? nsec_node(c, q, q->node) : 0;
    case SG_KIND_DELEGATION:
        if (q->node && !sg_node_rrset(q->node, SG_TYPE_DS))
            return nsec_node(c, q, q->node);
        return 0;
    default:
        return 0;
    }
}

/* ---- NSEC3 ------------------------------------------------------------------------- */

static int nsec3_add(const sg_nsec3_chain *c, sg_query *q, const uint8_t *name, int want_match)
{
    uint8_t h[SG_NSEC3_HASH_LEN];
    int match;
    sg_nsec3_hash(c, name, h);
    const sg_nsec3_entry *e = sg_nsec3_find(c, h, &match);
    if (want_match && !match)
        return 0;
    return add(q, e->owner, &e->rrset, SG_REF_DENIAL);
}

/* The name one label longer than the encloser on the way to name. */
static const uint8_t *next_closer(const uint8_t *name, int ce_labels)
{
    int extra = sg_name_labels(name) - ce_labels - 1;
    for (int i = 0; i < extra; i++)
        name += *name + 1;
    return name;
}

/* RFC 5155 7.2.1: the closest encloser's NSEC3, the one covering the next closer name,
 * and optionally the one covering the wildcard at the closest encloser. */
static int nsec3_ce_proof(const sg_nsec3_chain *c, sg_query *q, const uint8_t *name,
                          const sg_node *ce, int wildcard)
{
    /* with opt-out the encloser may have no record: go up to one that has */
    while (ce && !sg_nsec3_of(c, ce))
        ce = ce->parent;
    if (!ce)
        return 0;
    const sg_nsec3_entry *e = sg_nsec3_of(c, ce);
    int rc = add(q, e->owner, &e->rrset, SG_REF_DENIAL);
    if (!rc && sg_name_labels(name) > ce->labels)
        rc = nsec3_add(c, q, next_closer(name, ce->labels), 0);
    if (!rc && wildcard) {
        uint8_t wc[SG_NAME_MAX];
        if (ce->name_len + 2 <= SG_NAME_MAX) {
            wc[0] = 1;
            wc[1] = '*';
            memcpy(wc + 2, ce->name, ce->name_len);
            rc = nsec3_add(c, q, wc, 0);
        }
    }
    return rc;
}

static int prove_nsec3(const sg_nsec3_chain *c, const sg_zone *z, sg_query *q)
{
    int rc = 0;
    const uint8_t *sname = subject(q);
    for (uint16_t i = 0; i < q->an.n && !rc; i++) {
        const sg_rr_ref *r = &q->an.refs[i];
        if (!(r->flags & SG_REF_SYNTH) || !r->source)
            continue;
        /* RFC 5155 7.2.6: the next closer name of the expanded wildcard is covered */
        int ce_labels = sg_name_labels(r->source) - 1;
        rc = nsec3_add(c, q, next_closer(r->owner, ce_labels), 0);
    }
    if (rc)
        return rc;
    const sg_nsec3_entry *e;
    switch (q->kind) {
    case SG_KIND_NXDOMAIN:
        return nsec3_ce_proof(c, q, sname, q->encloser ? q->encloser : z->apex_node, 1);
    case SG_KIND_NODATA:
        if (!q->node)
            return 0;
        if ((e = sg_nsec3_of(c, q->node)))
            return add(q, e->owner, &e->rrset, SG_REF_DENIAL);
        /* DS query at an opt-out delegation (RFC 5155 7.2.4) */
        return nsec3_ce_proof(c, q, q->node->name, q->node->parent, 0);
    case SG_KIND_WILDCARD_NODATA:
        if ((rc = nsec3_ce_proof(c, q, sname, q->encloser, 0)))
            return rc;
        if (q->node && (e = sg_nsec3_of(c, q->node)))
            return add(q, e->owner, &e->rrset, SG_REF_DENIAL);
        return 0;
    case SG_KIND_DELEGATION:
        if (!q->node || sg_node_rrset(q->node, SG_TYPE_DS))
            return 0;
        if ((e = sg_nsec3_of(c, q->node)))
            return add(q, e->owner, &e->rrset, SG_REF_DENIAL);
        return nsec3_ce_proof(c, q, q->node->name, q->node->parent, 0);
    default:
        return 0;
    }
}

/* ---- compact denial (RFC 9824) ----------------------------------------------------- */

/* An NSEC at name for this reply only: next name "\000.name", the types of node n, and at
 * the apex the key-set types the signer adds (DNSKEY, CDS, CDNSKEY): the zone file does
 * not hold them, but a proof that they do not exist where they do is a lie (issue 14). */
static int compact_nsec(sg_query *q, sg_section *sec, const sg_denial *d, const uint8_t *name,
                        const sg_node *n, int nxname, uint32_t ttl)
{
    uint16_t types[1100];
    int nt = 0;
    if (n) {
        int cut = (n->flags & SG_NODE_DELEG) != 0;
        for (uint16_t k = 0; k < n->nrrsets && nt < 1000; k++) {
            uint16_t t = n->rrsets[k].type;
            if (!cut || t == SG_TYPE_NS || t == SG_TYPE_DS)
                types[nt++] = t;
        }
        if (q->zone && n == q->zone->apex_node)
            for (int k = 0; k < d->napex; k++)
                types[nt++] = d->apex_types[k];
    }
    if (nxname)
        types[nt++] = SG_TYPE_NXNAME;
    types[nt++] = SG_TYPE_NSEC;
    types[nt++] = SG_TYPE_RRSIG;
    uint8_t bitmap[8704];
    size_t bl = sg_type_bitmap(types, nt, bitmap);
    size_t nl = sg_name_len(name);
    size_t next_len = nl + 2 <= SG_NAME_MAX ? nl + 2 : nl;
    size_t rdlen = next_len + bl;
    uint8_t *rd = sg_arena_alloc(q->arena, 2 + rdlen);
    sg_rrset *rs = sg_arena_alloc(q->arena, sizeof *rs);
    if (!rd || !rs)
        return SG_ENOMEM;
    rd[0] = (uint8_t)(rdlen >> 8);
    rd[1] = (uint8_t)rdlen;
    uint8_t *p = rd + 2;
    if (next_len > nl) {
        *p++ = 1;
        *p++ = 0;
    }
    memcpy(p, name, nl);
    memcpy(p + nl, bitmap, bl);
    rs->type = SG_TYPE_NSEC;
    rs->count = 1;
    rs->ttl = ttl;
    rs->rdata_len = (uint32_t)(2 + rdlen);
    rs->rdata = rd;
    return sg_section_add(sec, name, rs, ttl, SG_REF_NOCACHE);
}

static int prove_compact(const sg_denial *d, const sg_zone *z, sg_query *q)
{
    const uint8_t *sname = subject(q);
    switch (q->kind) {
    case SG_KIND_NXDOMAIN:
        q->rcode = SG_RCODE_NOERROR; /* the name "exists" with only NSEC and RRSIG */
        return compact_nsec(q, &q->ns, d, sname, NULL, 1, z->neg_ttl);
    case SG_KIND_NODATA:
    case SG_KIND_WILDCARD_NODATA:
        return compact_nsec(q, &q->ns, d, sname, q->node, 0, z->neg_ttl);
    case SG_KIND_DELEGATION:
        if (q->node && !sg_node_rrset(q->node, SG_TYPE_DS))
            return compact_nsec(q, &q->ns, d, q->node->name, q->node, 0, z->neg_ttl);
        return 0;
    default:
        return 0;
    }
}

int sg_prove(const sg_denial *d, sg_query *q)
{
    if (!d || !q->zone)
        return 0;
    switch (d->kind) {
    case SG_KS_DENIAL_NSEC: return prove_nsec(d->nsec, q);
    case SG_KS_DENIAL_NSEC3: return prove_nsec3(d->nsec3, q->zone, q);
    case SG_KS_DENIAL_COMPACT: return prove_compact(d, q->zone, q);
    }
    return 0;
}

int sg_denial_answer(const sg_denial *d, sg_query *q)
{
    /* at the name asked for: not at the end of a CNAME chain, whose NODATA stays one */
    if (!d || !q->zone || q->kind != SG_KIND_NODATA || !q->node || q->an.n)
        return 0;
    const sg_rrset *rs = NULL;
    if (q->qtype == SG_TYPE_NSEC3PARAM && d->kind == SG_KS_DENIAL_NSEC3 && q->node == q->zone->apex_node)
        rs = &d->nsec3->param;
    else if (q->qtype == SG_TYPE_NSEC && d->kind == SG_KS_DENIAL_NSEC)
        rs = sg_nsec_of(d->nsec, q->node);
    else if (q->qtype != SG_TYPE_NSEC || d->kind != SG_KS_DENIAL_COMPACT)
        return 0;
    q->an.n = 0;
    q->ns.n = 0;
    int rc = rs ? sg_section_add(&q->an, q->qname, rs, rs->ttl, SG_REF_DENIAL)
                /* compact: the NSEC made for the name is the answer to a query for it */
                : compact_nsec(q, &q->an, d, q->qname, q->node, 0, q->zone->neg_ttl);
    q->kind = SG_KIND_ANSWER;
    return rc;
}
