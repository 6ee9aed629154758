/* SPDX-License-Identifier: MIT */
/* Transfer responses into zone versions: the end of an AXFR/IXFR stream, a whole zone
 * from a full response, and RFC 1995 differences applied to the version we serve. */
#include "secondary/ixfr.h"
#include "zones/serial.h"
#include "common/errors.h"
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_xfr_track_init(sg_xfr_track *t, int ixfr, uint32_t ours)
{
    memset(t, 0, sizeof *t);
    t->ixfr = ixfr;
    t->ours = ours;
    t->kind = SG_XFR_UNKNOWN;
}

int sg_xfr_track_rr(sg_xfr_track *t, uint16_t type, uint32_t serial)
{
    int soa = type == SG_TYPE_SOA;
    if (t->done)
        return SG_EMALFORMED;
    t->n++;
    if (t->n == 1) {
        if (!soa)
            return SG_EMALFORMED;
        t->first = serial;
        return 0;
    }
    if (t->kind == SG_XFR_UNKNOWN) {
        /* RFC 1995 4: an SOA with our serial right after the first starts the differences */
        if (soa && t->ixfr && serial == t->ours && t->first != t->ours) {
            t->kind = SG_XFR_INCREMENTAL;
            t->cur = serial;
            t->adding = 0;
            return 0;
        }
        t->kind = SG_XFR_FULL;
    }
    if (t->kind == SG_XFR_FULL) {
        if (!soa)
            return 0;
        if (serial != t->first)
            return SG_EMALFORMED;
        t->done = 1;
        return 1;
    }
    /* incremental: SOA(from) deletions SOA(to) additions, repeated, then SOA(first) */
    if (!soa)
        return 0;
    if (!t->adding) {
        t->adding = 1;
        t->cur = serial;
        return 0;
    }
    if (t->cur == t->first) {
        if (serial != t->first)
            return SG_EMALFORMED;
        t->done = 1;
        return 1;
    }
    if (serial != t->cur)
        return SG_EMALFORMED; /* the next difference must start where the last one ended */
    t->adding = 0;
    return 0;
}

int sg_xfr_track_message_end(sg_xfr_track *t)
{
    if (!t->done && t->n == 1 && t->ixfr && !sg_serial_newer(t->first, t->ours)) {
        t->kind = SG_XFR_UPTODATE;
        t->done = 1;
    }
    return t->done;
}

uint32_t sg_xfr_soa_serial(const ldns_rr *rr)
{
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 3)
        return 0;
    const ldns_rdf *f = ldns_rr_rdf(rr, 2);
    if (ldns_rdf_size(f) != 4)
        return 0;
    return ldns_rdf2native_int32(f);
}

uint64_t sg_xfr_zone_bytes(const sg_zone *z)
{
    uint64_t n = 0;
    for (size_t i = 0; i < z->nnodes; i++) {
        const sg_node *nd = &z->nodes[i];
        size_t ol = sg_name_len(nd->name);
        for (uint16_t k = 0; k < nd->nrrsets; k++) {
            const sg_rrset *rs = &nd->rrsets[k];
            const uint8_t *p = rs->rdata;
            for (uint16_t j = 0; j < rs->count; j++, p += 2 + sg_rdlen(p))
                n += ol + 10 + sg_rdlen(p);
        }
    }
    return n;
}

/* Owner and canonical RDATA of a record in the form the zone builder takes. */
static int canon_rdata(ldns_rr *rr, ldns_buffer *buf)
{
    ldns_rr2canonical(rr);
    ldns_buffer_clear(buf);
    if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK || ldns_buffer_position(buf) > 65535)
        return SG_EMALFORMED;
    return 0;
}

int sg_xfr_build_full(const uint8_t *apex, ldns_rr_list *rrs, const char *source,
                      sg_zone **zone_out)
{
    size_t n = ldns_rr_list_rr_count(rrs);
    if (n < 2 || !apex || !zone_out)
        return SG_EINVAL;
    sg_zone_builder *b = sg_zone_builder_new(apex);
    ldns_buffer *buf = ldns_buffer_new(65536);
    if (!b || !buf) {
        sg_zone_builder_free(b);
        ldns_buffer_free(buf);
        return SG_ENOMEM;
    }
    int errors = 0, rc = 0;
    /* the last record repeats the first SOA */
    for (size_t i = 0; i + 1 < n && rc != SG_ENOMEM; i++) {
        ldns_rr *rr = ldns_rr_list_rr(rrs, i);
        if (canon_rdata(rr, buf)) {
            sg_log(SG_LOG_ERR, "zone", NULL, "%s:%zu: cannot encode the record data", source, i + 1);
            errors++;
            continue;
        }
        rc = sg_zone_builder_add(b, ldns_rdf_data(ldns_rr_owner(rr)), (uint16_t)ldns_rr_get_type(rr),
                                 (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr), ldns_buffer_begin(buf),
                                 (uint16_t)ldns_buffer_position(buf), source, (unsigned)(i + 1));
        if (rc)
            errors++;
    }
    ldns_buffer_free(buf);
    if (rc == SG_ENOMEM) {
        sg_zone_builder_free(b);
        return rc;
    }
    if (errors) {
        sg_zone_builder_free(b);
        return SG_EZONE;
    }
    return sg_zone_builder_finish(b, zone_out);
}

/* ---- differences ---------------------------------------------------------------------- */

typedef struct xrec {
    const uint8_t *owner;
    const uint8_t *rd;
    uint32_t ttl;
    uint16_t type;
    uint16_t rdlen;
    uint8_t alive;
} xrec;

/* The records of the version being built, hashed by (owner, type, RDATA); records from
 * the base point into it, added ones into mem. */
typedef struct xset {
    xrec *recs;
    size_t n, cap;
    uint32_t *slots; /* index + 1 */
    size_t mask;
    sg_arena mem;
} xset;

static uint64_t rec_hash(const uint8_t *owner, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
    uint64_t h = sg_name_hash(owner, sg_name_len(owner)) ^ ((uint64_t)type * 0x9e3779b97f4a7c15ULL);
    for (uint16_t i = 0; i < rdlen; i++)
        h = (h ^ rd[i]) * 0x100000001b3ULL;
    return h;
}

static xrec *xset_find(const xset *s, const uint8_t *owner, uint16_t type, const uint8_t *rd,
                       uint16_t rdlen)
{
    size_t ol = sg_name_len(owner);
    for (size_t i = rec_hash(owner, type, rd, rdlen) & s->mask;; i = (i + 1) & s->mask) {
        uint32_t k = s->slots[i];
        if (!k)
            return NULL;
        xrec *r = &s->recs[k - 1];
        if (r->type == type && r->rdlen == rdlen && sg_name_len(r->owner) == ol &&
            !memcmp(r->owner, owner, ol) && !memcmp(r->rd, rd, rdlen))
            return r;
    }
}

static void xset_slot(xset *s, size_t idx)
{
    const xrec *r = &s->recs[idx];
    size_t i = rec_hash(r->owner, r->type, r->rd, r->rdlen) & s->mask;
    while (s->slots[i])
        i = (i + 1) & s->mask;
    s->slots[i] = (uint32_t)idx + 1;
}

static int xset_add(xset *s, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
                    uint16_t rdlen)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        xrec *nr = realloc(s->recs, nc * sizeof *nr);
        if (!nr)
            return SG_ENOMEM;
        s->recs = nr;
        s->cap = nc;
    }
    if ((s->n + 1) * 2 > s->mask + 1) {
        size_t nsz = s->mask ? (s->mask + 1) * 2 : 2048;
        while (nsz < (s->n + 1) * 2)
            nsz *= 2;
        uint32_t *ns = calloc(nsz, sizeof *ns);
        if (!ns)
            return SG_ENOMEM;
        free(s->slots);
        s->slots = ns;
        s->mask = nsz - 1;
        for (size_t i = 0; i < s->n; i++)
            xset_slot(s, i);
    }
    s->recs[s->n] = (xrec){ owner, rd, ttl, type, rdlen, 1 };
    xset_slot(s, s->n);
    s->n++;
    return 0;
}

static void xset_free(xset *s)
{
    free(s->recs);
    free(s->slots);
    sg_arena_deinit(&s->mem);
}

/* The zone builder's order: canonical owner, type, RDATA (memcmp, shorter first). */
static int xrec_cmp(const xrec *a, const xrec *b)
{
    int c = a->owner == b->owner ? 0 : sg_name_canon_cmp(a->owner, b->owner);
    if (c)
        return c;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    uint16_t m = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
    c = memcmp(a->rd, b->rd, m);
    return c ? c : a->rdlen == b->rdlen ? 0 : (a->rdlen < b->rdlen ? -1 : 1);
}

/* qsort has no context argument: the set being sorted, per thread */
static _Thread_local const xset *g_sort_set;

static int xrec_idx_cmp(const void *pa, const void *pb)
{
    return xrec_cmp(&g_sort_set->recs[*(const uint32_t *)pa], &g_sort_set->recs[*(const uint32_t *)pb]);
}

/* The base version's records, found through its own name index instead of a copy of them
 * all in a hash set: a version made from it costs a pass over its records, not a hash of
 * each. first[i] is the number of the first record of node i (records numbered in the
 * base's canonical order); dead[] marks the ones deleted or replaced. */
typedef struct xbase {
    const sg_zone *z;
    uint32_t *first;
    uint8_t *dead;
    size_t n;
} xbase;

static int xbase_init(xbase *b, const sg_zone *z)
{
    b->z = z;
    b->first = malloc((z->nnodes + 1) * sizeof *b->first);
    if (!b->first)
        return SG_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < z->nnodes; i++) {
        b->first[i] = (uint32_t)n;
        for (uint16_t k = 0; k < z->nodes[i].nrrsets; k++)
            n += z->nodes[i].rrsets[k].count;
    }
    b->first[z->nnodes] = (uint32_t)n;
    b->n = n;
    b->dead = calloc(n ? n : 1, 1);
    return b->dead ? 0 : SG_ENOMEM;
}

static void xbase_free(xbase *b)
{
    free(b->first);
    free(b->dead);
}

/* The number of a base record, or -1 when base has none such. */
static long xbase_find(const xbase *b, const uint8_t *owner, uint16_t type, const uint8_t *rd,
                       uint16_t rdlen)
{
    const sg_node *nd = sg_zone_find(b->z, owner, sg_name_len(owner));
    if (!nd)
        return -1;
    size_t at = b->first[nd->index];
    for (uint16_t k = 0; k < nd->nrrsets; k++) {
        const sg_rrset *rs = &nd->rrsets[k];
        if (rs->type != type) {
            at += rs->count;
            continue;
        }
        const uint8_t *p = rs->rdata;
        for (uint16_t j = 0; j < rs->count; j++, at++, p += 2 + sg_rdlen(p))
            if (sg_rdlen(p) == rdlen && !memcmp(p + 2, rd, rdlen))
                return (long)at;
        return -1;
    }
    return -1;
}

int sg_ixfr_apply(const sg_zone *base, ldns_rr_list *rrs, const char *source,
                  sg_zone **zone_out, char *why, size_t why_cap)
{
    if (!base || !rrs || !zone_out)
        return SG_EINVAL;
    size_t n = ldns_rr_list_rr_count(rrs);
    xset s = { 0 }; /* the added records */
    xbase xb = { 0 };
    sg_arena_init(&s.mem, 64 * 1024);
    ldns_buffer *buf = ldns_buffer_new(65536);
    sg_zone_builder *b = NULL;
    int rc = buf ? xbase_init(&xb, base) : SG_ENOMEM;
    if (rc)
        goto out;
    if (n < 3 || ldns_rr_get_type(ldns_rr_list_rr(rrs, 0)) != LDNS_RR_TYPE_SOA ||
        ldns_rr_get_type(ldns_rr_list_rr(rrs, n - 1)) != LDNS_RR_TYPE_SOA) {
        rc = sg_say(why, why_cap, SG_EZONE, "not an incremental response");
        goto out;
    }
    uint32_t target = sg_xfr_soa_serial(ldns_rr_list_rr(rrs, 0));
    uint32_t cur = base->serial;
    enum { OPEN, DELETING, ADDING } state = OPEN;
    char text[1024];
    for (size_t i = 1; i + 1 < n; i++) {
        ldns_rr *rr = ldns_rr_list_rr(rrs, i);
        uint16_t type = (uint16_t)ldns_rr_get_type(rr);
        if (type == SG_TYPE_SOA && state != DELETING) {
            /* SOA(from) opens a difference: it must start at the version we have */
            uint32_t serial = sg_xfr_soa_serial(rr);
            if (serial != cur) {
                rc = sg_say(why, why_cap, SG_EZONE, "a difference starts at serial %u, not at %u", serial, cur);
                goto out;
            }
            /* only the serial identifies the old SOA; its other fields may differ */
            for (size_t k = 0; k < s.n; k++)
                if (s.recs[k].type == SG_TYPE_SOA)
                    s.recs[k].alive = 0;
            const sg_rrset *soa = sg_node_rrset(base->apex_node, SG_TYPE_SOA);
            if (soa) {
                size_t at = xb.first[0];
                for (uint16_t k = 0; &base->apex_node->rrsets[k] != soa; k++)
                    at += base->apex_node->rrsets[k].count;
                memset(xb.dead + at, 1, soa->count);
            }
            state = DELETING;
            continue;
        }
        if (state == OPEN) {
            rc = sg_say(why, why_cap, SG_EZONE, "record %zu is outside any difference", i + 1);
            goto out;
        }
        if (type == SG_TYPE_SOA) {
            cur = sg_xfr_soa_serial(rr); /* SOA(to): the additions follow, this SOA is one */
            state = ADDING;
        }
        if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
            rc = sg_say(why, why_cap, SG_EZONE, "class not IN in record %zu", i + 1);
            goto out;
        }
        const ldns_rdf *o = ldns_rr_owner(rr);
        uint8_t owner[SG_NAME_MAX];
        if (canon_rdata(rr, buf) || ldns_rdf_size(o) > SG_NAME_MAX) {
            rc = sg_say(why, why_cap, SG_EZONE, "cannot encode record %zu", i + 1);
            goto out;
        }
        memcpy(owner, ldns_rdf_data(o), ldns_rdf_size(o));
        sg_name_lower(owner);
        const uint8_t *rd = ldns_buffer_begin(buf);
        uint16_t rdlen = (uint16_t)ldns_buffer_position(buf);
        /* a record is alive in at most one of the two: the added set or the base */
        xrec *r = s.n ? xset_find(&s, owner, type, rd, rdlen) : NULL;
        long bi = r ? -1 : xbase_find(&xb, owner, type, rd, rdlen);
        if (state == DELETING) {
            if (r ? !r->alive : bi < 0 || xb.dead[bi]) {
                sg_name_to_str(owner, text, sizeof text);
                rc = sg_say(why, why_cap, SG_EZONE, "the difference deletes a record of %s (type %u) that is not in the zone",
                              text, type);
                goto out;
            }
            if (r)
                r->alive = 0;
            else
                xb.dead[bi] = 1;
        } else if (r) {
            r->alive = 1;
            r->ttl = ldns_rr_ttl(rr);
        } else {
            /* a base record added again (its TTL may change) moves to the added set */
            if (bi >= 0)
                xb.dead[bi] = 1;
            const uint8_t *oc = sg_arena_dup(&s.mem, owner, sg_name_len(owner));
            const uint8_t *rdc = sg_arena_dup(&s.mem, rd, rdlen ? rdlen : 1);
            if (!oc || !rdc || xset_add(&s, oc, type, ldns_rr_ttl(rr), rdc, rdlen)) {
                rc = SG_ENOMEM;
                goto out;
            }
        }
    }
    if (state != ADDING || cur != target || sg_xfr_soa_serial(ldns_rr_list_rr(rrs, n - 1)) != target) {
        rc = sg_say(why, why_cap, SG_EZONE, "the differences do not lead to serial %u", target);
        goto out;
    }
    if (!(b = sg_zone_builder_new(base->apex))) {
        rc = SG_ENOMEM;
        goto out;
    }
    /* the base's records are in canonical order and the added ones follow them: sorted
     * and merged in, the builder gets them all in order and need not sort the zone */
    size_t nadd = 0;
    uint32_t *adds = s.n ? malloc(s.n * sizeof *adds) : NULL;
    if (s.n && !adds) {
        sg_zone_builder_free(b);
        rc = SG_ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < s.n; k++)
        if (s.recs[k].alive)
            adds[nadd++] = (uint32_t)k;
    g_sort_set = &s;
    qsort(adds, nadd, sizeof *adds, xrec_idx_cmp);
    size_t a = 0, at = 0;
    for (size_t i = 0; i < base->nnodes && !rc; i++) {
        const sg_node *nd = &base->nodes[i];
        for (uint16_t k = 0; k < nd->nrrsets && !rc; k++) {
            const sg_rrset *rs = &nd->rrsets[k];
            const uint8_t *p = rs->rdata;
            for (uint16_t j = 0; j < rs->count && !rc; j++, at++, p += 2 + sg_rdlen(p)) {
                if (xb.dead[at])
                    continue;
                xrec br = { nd->name, p + 2, rs->ttl, rs->type, sg_rdlen(p), 1 };
                while (a < nadd && xrec_cmp(&s.recs[adds[a]], &br) < 0 && !rc) {
                    const xrec *r = &s.recs[adds[a++]];
                    rc = sg_zone_builder_add(b, r->owner, r->type, SG_CLASS_IN, r->ttl, r->rd, r->rdlen, source, 0);
                }
                if (!rc)
                    rc = sg_zone_builder_add(b, br.owner, br.type, SG_CLASS_IN, br.ttl, br.rd, br.rdlen, source, 0);
            }
        }
    }
    for (; a < nadd && !rc; a++) {
        const xrec *r = &s.recs[adds[a]];
        rc = sg_zone_builder_add(b, r->owner, r->type, SG_CLASS_IN, r->ttl, r->rd, r->rdlen, source, 0);
    }
    free(adds);
    if (rc) {
        sg_zone_builder_free(b);
        sg_say(why, why_cap, SG_EZONE, "the new version has a record the zone cannot hold");
        goto out;
    }
    rc = sg_zone_builder_finish(b, zone_out);
    if (rc)
        sg_say(why, why_cap, SG_EZONE, "the new version fails the zone checks");
out:
    ldns_buffer_free(buf);
    xset_free(&s);
    xbase_free(&xb);
    return rc;
}
