/* SPDX-License-Identifier: MIT */
/* Signing a whole zone: the same RRSIG maker and chains as online signing, in one pass. */
#include "signer/zonesign.h"
#include "common/errors.h"

#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

typedef struct walker {
    const sg_zone *z;
    const sg_keyset *k;
    uint32_t now;
    sg_zonesign_cb cb;
    void *arg;
    uint8_t *sigbuf;
} walker;

/* Emit an RRset and, unless it is unsigned data, its RRSIG set. */
static int emit(walker *w, const uint8_t *owner, const sg_rrset *rs, int sign, int keyset)
{
    int rc = w->cb(w->arg, owner, rs);
    if (rc || !sign)
        return rc;
    const sg_sign_key *keys = keyset ? w->k->ksk : w->k->zsk;
    int nkeys = keyset ? w->k->nksk : w->k->nzsk;
    if (nkeys == 0)
        return SG_ENOTFOUND;
    const sg_ks_policy *p = &w->k->policy;
    uint8_t labels = (uint8_t)(sg_name_labels(owner) - (owner[0] == 1 && owner[1] == '*'));
    size_t o = 0;
    for (int i = 0; i < nkeys; i++) {
        size_t len;
        /* spread expirations over the jitter window, deterministically per RRset */
        uint32_t spread = p->sig_jitter ? (uint32_t)(((uintptr_t)rs >> 4) % p->sig_jitter) : 0;
        rc = sg_rrsig_make(&keys[i], w->z->apex, owner, labels, rs, w->now - 3600,
                           w->now + p->sig_validity - spread, w->sigbuf + o + 2, &len);
        if (rc)
            return rc;
        w->sigbuf[o] = (uint8_t)(len >> 8);
        w->sigbuf[o + 1] = (uint8_t)len;
        o += 2 + len;
    }
    sg_rrset sig = { .type = SG_TYPE_RRSIG, .count = (uint16_t)nkeys, .ttl = rs->ttl,
                     .rdata_len = (uint32_t)o, .rdata = w->sigbuf };
    return w->cb(w->arg, owner, &sig);
}

int sg_zonesign_walk(const sg_zone *z, const sg_keyset *k, uint32_t now, sg_zonesign_cb cb,
                     void *arg)
{
    const sg_ks_policy *p = &k->policy;
    enum sg_ks_denial kind = p->denial == SG_KS_DENIAL_NSEC3 ? SG_KS_DENIAL_NSEC3 : SG_KS_DENIAL_NSEC;
    sg_denial *d = NULL;
    int rc = sg_denial_build(z, kind, p->nsec3_iterations, p->nsec3_opt_out, k->apex_types,
                             k->napex, &d);
    if (rc)
        return rc;
    walker w = { z, k, now, cb, arg, malloc((size_t)(k->nzsk + k->nksk + 1) * (2 + SG_RRSIG_MAX)) };
    if (!w.sigbuf) {
        sg_denial_free(d);
        return SG_ENOMEM;
    }
    for (size_t i = 0; i < z->nnodes && !rc; i++) {
        const sg_node *n = &z->nodes[i];
        int cut = (n->flags & SG_NODE_DELEG) != 0, below = (n->flags & SG_NODE_NONAUTH) != 0;
        for (uint16_t j = 0; j < n->nrrsets && !rc; j++) {
            const sg_rrset *rs = &n->rrsets[j];
            if (below && rs->type != SG_TYPE_A && rs->type != SG_TYPE_AAAA)
                continue; /* occluded data is not part of the zone */
            if (cut && rs->type != SG_TYPE_NS && rs->type != SG_TYPE_DS)
                continue;
            if (rs->type == SG_TYPE_DNSKEY || rs->type == SG_TYPE_CDS || rs->type == SG_TYPE_CDNSKEY ||
                rs->type == SG_TYPE_RRSIG || rs->type == SG_TYPE_NSEC || rs->type == SG_TYPE_NSEC3 ||
                rs->type == SG_TYPE_NSEC3PARAM)
                continue; /* the signer's own, below */
            int sign = !below && !(cut && rs->type == SG_TYPE_NS);
            rc = emit(&w, n->name, rs, sign, 0);
        }
        if (n == z->apex_node && !rc) {
            const sg_rrset *own[3] = { &k->dnskey, &k->cds, &k->cdnskey };
            for (int j = 0; j < 3 && !rc; j++)
                if (own[j]->count)
                    rc = emit(&w, n->name, own[j], 1, 1);
            if (!rc && d->nsec3)
                rc = emit(&w, n->name, &d->nsec3->param, 1, 0);
        }
        if (!rc && d->nsec) {
            const sg_rrset *nsec = sg_nsec_of(d->nsec, n);
            if (nsec)
                rc = emit(&w, n->name, nsec, 1, 0);
        }
    }
    for (size_t i = 0; d->nsec3 && i < d->nsec3->n && !rc; i++)
        rc = emit(&w, d->nsec3->e[i].owner, &d->nsec3->e[i].rrset, 1, 0);
    free(w.sigbuf);
    sg_denial_free(d);
    return rc;
}

/* Print one RRset through ldns, record by record. */
static int print_rrset(void *arg, const uint8_t *owner, const sg_rrset *rs)
{
    FILE *out = arg;
    uint8_t wire[65535 + SG_NAME_MAX + 10];
    size_t ol = sg_name_len(owner);
    const uint8_t *p = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t rdlen = sg_rdlen(p);
        memcpy(wire, owner, ol);
        uint8_t *h = wire + ol;
        h[0] = (uint8_t)(rs->type >> 8); h[1] = (uint8_t)rs->type;
        h[2] = 0; h[3] = 1;
        h[4] = (uint8_t)(rs->ttl >> 24); h[5] = (uint8_t)(rs->ttl >> 16);
        h[6] = (uint8_t)(rs->ttl >> 8); h[7] = (uint8_t)rs->ttl;
        memcpy(h + 8, p, 2u + rdlen);
        ldns_rr *rr = NULL;
        size_t pos = 0;
        if (ldns_wire2rr(&rr, wire, ol + 10 + rdlen, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
            return SG_EMALFORMED;
        ldns_rr_print(out, rr);
        ldns_rr_free(rr);
        p += 2 + rdlen;
    }
    return ferror(out) ? SG_EIO : 0;
}

int sg_zonesign_write(const sg_zone *z, const sg_keyset *k, uint32_t now, FILE *out)
{
    fprintf(out, "; %s signed by Signet, serial %u\n", z->apex_str, z->serial);
    int rc = sg_zonesign_walk(z, k, now, print_rrset, out);
    if (!rc && fflush(out))
        rc = SG_EIO;
    return rc;
}
