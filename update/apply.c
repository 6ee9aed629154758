/* SPDX-License-Identifier: MIT */
/* RFC 2136 on an immutable zone version: the names an UPDATE touches are copied into a
 * small working set, changed there, compared with the version, and the difference is
 * applied as an IXFR would be (secondary/ixfr.h), so that a new version is made the one
 * way versions from differences are made. */
#include "update/apply.h"
#include "secondary/ixfr.h"
#include "common/errors.h"
#include "common/rrset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 10000 /* names one UPDATE may touch: a bound on the working set */

typedef struct wrd {
    uint16_t len;
    uint8_t *rd;
} wrd;

typedef struct wset {
    uint16_t type;
    uint32_t ttl;
    int n, cap;
    wrd *rr;
} wset;

typedef struct wname {
    uint8_t name[SG_NAME_MAX];
    const sg_node *node; /* in the base version, or NULL */
    wset *sets;
    int n, cap;
} wname;

typedef struct work {
    const sg_zone *z;
    wname *names;
    int n, cap;
    ldns_buffer *buf;
} work;

static int say(char *why, size_t cap, int rcode, const char *fmt, ...)
{
    if (why && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return rcode;
}

static void work_free(work *w)
{
    for (int i = 0; i < w->n; i++) {
        for (int k = 0; k < w->names[i].n; k++) {
            for (int j = 0; j < w->names[i].sets[k].n; j++)
                free(w->names[i].sets[k].rr[j].rd);
            free(w->names[i].sets[k].rr);
        }
        free(w->names[i].sets);
    }
    free(w->names);
    if (w->buf)
        ldns_buffer_free(w->buf);
}

static wset *set_find(wname *wn, uint16_t type)
{
    for (int i = 0; i < wn->n; i++)
        if (wn->sets[i].type == type)
            return &wn->sets[i];
    return NULL;
}

static wset *set_get(wname *wn, uint16_t type, uint32_t ttl)
{
    wset *s = set_find(wn, type);
    if (s)
        return s;
    if (wn->n == wn->cap) {
        int nc = wn->cap ? wn->cap * 2 : 4;
        wset *ns = realloc(wn->sets, (size_t)nc * sizeof *ns);
        if (!ns)
            return NULL;
        wn->sets = ns;
        wn->cap = nc;
    }
    s = &wn->sets[wn->n++];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->ttl = ttl;
    return s;
}

static int set_has(const wset *s, const uint8_t *rd, uint16_t len)
{
    for (int i = 0; s && i < s->n; i++)
        if (s->rr[i].len == len && !memcmp(s->rr[i].rd, rd, len))
            return i;
    return -1;
}

static int set_add(wset *s, const uint8_t *rd, uint16_t len)
{
    if (set_has(s, rd, len) >= 0)
        return 0;
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 4;
        wrd *nr = realloc(s->rr, (size_t)nc * sizeof *nr);
        if (!nr)
            return SG_ENOMEM;
        s->rr = nr;
        s->cap = nc;
    }
    uint8_t *c = malloc(len ? len : 1);
    if (!c)
        return SG_ENOMEM;
    memcpy(c, rd, len);
    s->rr[s->n++] = (wrd){ len, c };
    return 0;
}

static void set_del(wset *s, int i)
{
    free(s->rr[i].rd);
    s->rr[i] = s->rr[--s->n];
}

static void set_clear(wset *s)
{
    while (s->n)
        set_del(s, 0);
}

/* The working copy of owner (lower-case wire), made from the base version on first use. */
static wname *name_get(work *w, const uint8_t *owner, int *rc)
{
    for (int i = 0; i < w->n; i++)
        if (sg_name_eq(w->names[i].name, owner))
            return &w->names[i];
    if (w->n == MAX_NAMES) {
        *rc = SG_ESPACE;
        return NULL;
    }
    if (w->n == w->cap) {
        int nc = w->cap ? w->cap * 2 : 8;
        wname *nn = realloc(w->names, (size_t)nc * sizeof *nn);
        if (!nn) {
            *rc = SG_ENOMEM;
            return NULL;
        }
        w->names = nn;
        w->cap = nc;
    }
    wname *wn = &w->names[w->n++];
    memset(wn, 0, sizeof *wn);
    memcpy(wn->name, owner, sg_name_len(owner));
    wn->node = sg_zone_find(w->z, owner, sg_name_len(owner));
    for (uint16_t k = 0; wn->node && k < wn->node->nrrsets; k++) {
        const sg_rrset *rs = &wn->node->rrsets[k];
        wset *s = set_get(wn, rs->type, rs->ttl);
        if (!s) {
            *rc = SG_ENOMEM;
            return NULL;
        }
        const uint8_t *p = rs->rdata;
        for (uint16_t j = 0; j < rs->count; j++, p += 2 + sg_rdlen(p))
            if (set_add(s, p + 2, sg_rdlen(p))) {
                *rc = SG_ENOMEM;
                return NULL;
            }
    }
    return wn;
}

/* Owner (lower case) and canonical RDATA of a record, as the zone holds them. The RDATA
 * is in w->buf. */
static int canon(work *w, const ldns_rr *rr, uint8_t owner[SG_NAME_MAX])
{
    ldns_rr *c = ldns_rr_clone(rr);
    if (!c)
        return SG_ENOMEM;
    ldns_rr2canonical(c);
    const ldns_rdf *o = ldns_rr_owner(c);
    int rc = 0;
    ldns_buffer_clear(w->buf);
    if (!o || ldns_rdf_size(o) > SG_NAME_MAX ||
        ldns_rr_rdata2buffer_wire(w->buf, c) != LDNS_STATUS_OK ||
        ldns_buffer_position(w->buf) > 65535)
        rc = SG_EMALFORMED;
    else
        memcpy(owner, ldns_rdf_data(o), ldns_rdf_size(o));
    ldns_rr_free(c);
    if (!rc)
        sg_name_lower(owner);
    return rc;
}

static int meta_type(uint16_t t)
{
    return t == SG_TYPE_OPT || t >= 128;
}

/* ---- prerequisites (RFC 2136 3.2) ---------------------------------------------------- */

static const sg_rrset *base_rrset(const sg_zone *z, const uint8_t *owner, uint16_t type)
{
    const sg_node *n = sg_zone_find(z, owner, sg_name_len(owner));
    return n ? sg_node_rrset(n, type) : NULL;
}

static int rrset_has(const sg_rrset *rs, const uint8_t *rd, uint16_t len)
{
    const uint8_t *p = rs->rdata;
    for (uint16_t j = 0; j < rs->count; j++, p += 2 + sg_rdlen(p))
        if (sg_rdlen(p) == len && !memcmp(p + 2, rd, len))
            return 1;
    return 0;
}

static int prerequisites(work *w, const ldns_rr_list *pre, char *why, size_t cap)
{
    const sg_zone *z = w->z;
    size_t n = pre ? ldns_rr_list_rr_count(pre) : 0;
    /* value-dependent ones are compared as whole RRsets: gathered first (3.2.5) */
    work vals = { .z = z };
    int rcode = SG_RCODE_NOERROR, rc = 0;
    char text[1024];
    for (size_t i = 0; i < n && rcode == SG_RCODE_NOERROR; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(pre, i);
        uint16_t type = (uint16_t)ldns_rr_get_type(rr), cls = (uint16_t)ldns_rr_get_class(rr);
        uint8_t owner[SG_NAME_MAX];
        if ((rc = canon(w, rr, owner)))
            return say(why, cap, SG_RCODE_FORMERR, "prerequisite %zu cannot be read", i + 1);
        sg_name_to_str(owner, text, sizeof text);
        size_t rdlen = ldns_buffer_position(w->buf);
        if (ldns_rr_ttl(rr) != 0)
            return say(why, cap, SG_RCODE_FORMERR, "prerequisite %zu (%s): TTL not 0", i + 1, text);
        if (!sg_name_is_sub(owner, z->apex))
            return say(why, cap, SG_RCODE_NOTZONE, "prerequisite %zu: %s is not in the zone", i + 1, text);
        const sg_node *nd = sg_zone_find(z, owner, sg_name_len(owner));
        if (cls == SG_CLASS_ANY || cls == SG_CLASS_NONE) {
            if (rdlen)
                return say(why, cap, SG_RCODE_FORMERR, "prerequisite %zu (%s): RDATA not empty", i + 1, text);
            int exists = type == SG_TYPE_ANY ? nd && nd->nrrsets > 0 : nd && sg_node_rrset(nd, type) != NULL;
            if (cls == SG_CLASS_ANY && !exists)
                rcode = type == SG_TYPE_ANY ? say(why, cap, SG_RCODE_NXDOMAIN, "prerequisite: %s is not in use", text)
                                            : say(why, cap, SG_RCODE_NXRRSET, "prerequisite: %s has no RRset of type %u", text, type);
            else if (cls == SG_CLASS_NONE && exists)
                rcode = type == SG_TYPE_ANY ? say(why, cap, SG_RCODE_YXDOMAIN, "prerequisite: %s is in use", text)
                                            : say(why, cap, SG_RCODE_YXRRSET, "prerequisite: %s has an RRset of type %u", text, type);
        } else if (cls == SG_CLASS_IN) {
            if (meta_type(type))
                return say(why, cap, SG_RCODE_FORMERR, "prerequisite %zu (%s): meta type %u", i + 1, text, type);
            wname *wn = NULL;
            for (int k = 0; k < vals.n && !wn; k++)
                if (sg_name_eq(vals.names[k].name, owner))
                    wn = &vals.names[k];
            if (!wn) {
                /* a bare entry (name_get would copy the zone's RRsets in) */
                if (vals.n == vals.cap) {
                    int nc = vals.cap ? vals.cap * 2 : 4;
                    wname *nn = realloc(vals.names, (size_t)nc * sizeof *nn);
                    if (!nn) {
                        rc = SG_ENOMEM;
                        break;
                    }
                    vals.names = nn;
                    vals.cap = nc;
                }
                wn = &vals.names[vals.n++];
                memset(wn, 0, sizeof *wn);
                memcpy(wn->name, owner, sg_name_len(owner));
            }
            wset *s = set_get(wn, type, 0);
            if (!s || set_add(s, ldns_buffer_begin(w->buf), (uint16_t)rdlen)) {
                rc = SG_ENOMEM;
                break;
            }
        } else {
            return say(why, cap, SG_RCODE_FORMERR, "prerequisite %zu (%s): class %u", i + 1, text, cls);
        }
    }
    for (int k = 0; k < vals.n && rcode == SG_RCODE_NOERROR && !rc; k++) {
        wname *wn = &vals.names[k];
        for (int t = 0; t < wn->n && rcode == SG_RCODE_NOERROR; t++) {
            const wset *s = &wn->sets[t];
            const sg_rrset *rs = base_rrset(z, wn->name, s->type);
            int same = rs && rs->count == s->n;
            for (int j = 0; same && j < s->n; j++)
                same = rrset_has(rs, s->rr[j].rd, s->rr[j].len);
            if (!same) {
                sg_name_to_str(wn->name, text, sizeof text);
                rcode = say(why, cap, SG_RCODE_NXRRSET, "prerequisite: the RRset %s type %u is not as given", text,
                            s->type);
            }
        }
    }
    work_free(&vals);
    if (rc)
        return say(why, cap, SG_RCODE_SERVFAIL, "out of memory");
    return rcode;
}

/* ---- the update section (3.4) -------------------------------------------------------- */

static int prescan(work *w, const ldns_rr_list *up, const sg_upd_policy *pol, int key, char *why, size_t cap)
{
    size_t n = up ? ldns_rr_list_rr_count(up) : 0;
    char text[1024];
    for (size_t i = 0; i < n; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(up, i);
        uint16_t type = (uint16_t)ldns_rr_get_type(rr), cls = (uint16_t)ldns_rr_get_class(rr);
        uint8_t owner[SG_NAME_MAX];
        if (canon(w, rr, owner))
            return say(why, cap, SG_RCODE_FORMERR, "update record %zu cannot be read", i + 1);
        sg_name_to_str(owner, text, sizeof text);
        size_t rdlen = ldns_buffer_position(w->buf);
        if (!sg_name_is_sub(owner, w->z->apex))
            return say(why, cap, SG_RCODE_NOTZONE, "update record %zu: %s is not in the zone", i + 1, text);
        if (cls == SG_CLASS_IN) {
            if (meta_type(type))
                return say(why, cap, SG_RCODE_FORMERR, "update record %zu (%s): meta type %u", i + 1, text, type);
        } else if (cls == SG_CLASS_ANY) {
            if (ldns_rr_ttl(rr) || rdlen || (meta_type(type) && type != SG_TYPE_ANY))
                return say(why, cap, SG_RCODE_FORMERR, "update record %zu (%s): a deletion with TTL, RDATA or a meta type",
                           i + 1, text);
        } else if (cls == SG_CLASS_NONE) {
            if (ldns_rr_ttl(rr) || meta_type(type))
                return say(why, cap, SG_RCODE_FORMERR, "update record %zu (%s): a deletion with TTL or a meta type",
                           i + 1, text);
        } else {
            return say(why, cap, SG_RCODE_FORMERR, "update record %zu (%s): class %u", i + 1, text, cls);
        }
    }
    /* 3.3: permissions, once the message is known to be well formed */
    for (size_t i = 0; i < n; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(up, i);
        uint16_t type = (uint16_t)ldns_rr_get_type(rr);
        uint8_t owner[SG_NAME_MAX];
        canon(w, rr, owner);
        sg_name_to_str(owner, text, sizeof text);
        if (sg_upd_signer_type(type))
            return say(why, cap, SG_RCODE_REFUSED, "%s type %u: DNSSEC records are the signer's", text, type);
        if (!sg_upd_policy_permits(pol, key, w->z->apex, owner, type))
            return say(why, cap, SG_RCODE_REFUSED, "the key may not change %s type %u", text, type);
    }
    return SG_RCODE_NOERROR;
}

/* The serial field of canonical SOA RDATA. */
static uint8_t *soa_serial_at(uint8_t *rd, size_t len)
{
    size_t o = sg_name_len(rd);
    if (o >= len)
        return NULL;
    o += sg_name_len(rd + o);
    return o + 20 <= len ? rd + o : NULL;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct soa_state {
    uint8_t rd[SG_NAME_MAX * 2 + 20];
    size_t len;
    uint32_t ttl;
    int replaced;
} soa_state;

static int apply_one(work *w, const ldns_rr *rr, soa_state *soa)
{
    uint16_t type = (uint16_t)ldns_rr_get_type(rr), cls = (uint16_t)ldns_rr_get_class(rr);
    uint8_t owner[SG_NAME_MAX];
    int rc = canon(w, rr, owner);
    if (rc)
        return rc;
    const uint8_t *rd = ldns_buffer_begin(w->buf);
    uint16_t rdlen = (uint16_t)ldns_buffer_position(w->buf);
    int apex = sg_name_eq(owner, w->z->apex);
    if (type == SG_TYPE_SOA) {
        /* 3.4.2.2: an SOA replaces the apex's when its serial is newer; deleting it is
         * ignored (3.4.2.3, 3.4.2.4) */
        if (cls != SG_CLASS_IN || !apex || rdlen > sizeof soa->rd)
            return 0;
        uint8_t tmp[sizeof soa->rd];
        memcpy(tmp, rd, rdlen);
        const uint8_t *ns = soa_serial_at(tmp, rdlen), *cs = soa_serial_at(soa->rd, soa->len);
        if (ns && cs && sg_serial_newer(rd32(ns), rd32(cs))) {
            memcpy(soa->rd, rd, rdlen);
            soa->len = rdlen;
            soa->ttl = ldns_rr_ttl(rr);
            soa->replaced = 1;
        }
        return 0;
    }
    wname *wn = name_get(w, owner, &rc);
    if (!wn)
        return rc;
    if (cls == SG_CLASS_IN) {
        /* 3.4.2.2: CNAME and other data do not mix; the add that would mix them is
         * ignored (DNSSEC types may sit beside a CNAME) */
        for (int i = 0; i < wn->n; i++) {
            const wset *s = &wn->sets[i];
            if (!s->n || sg_upd_signer_type(s->type))
                continue;
            if (type == SG_TYPE_CNAME && s->type != SG_TYPE_CNAME)
                return 0;
            if (type != SG_TYPE_CNAME && s->type == SG_TYPE_CNAME)
                return 0;
        }
        wset *s = set_get(wn, type, ldns_rr_ttl(rr));
        if (!s)
            return SG_ENOMEM;
        if (type == SG_TYPE_CNAME && s->n)
            set_clear(s); /* a CNAME replaces the CNAME */
        s->ttl = ldns_rr_ttl(rr); /* an RRset has one TTL: the newest record's */
        return set_add(s, rd, rdlen);
    }
    if (cls == SG_CLASS_ANY) {
        for (int i = 0; i < wn->n; i++) {
            wset *s = &wn->sets[i];
            if (sg_upd_signer_type(s->type) || (apex && (s->type == SG_TYPE_NS || s->type == SG_TYPE_SOA)))
                continue; /* 3.4.2.3 */
            if (type == SG_TYPE_ANY || s->type == type)
                set_clear(s);
        }
        return 0;
    }
    /* class NONE: one record */
    wset *s = set_find(wn, type);
    int at = set_has(s, rd, rdlen);
    if (at < 0)
        return 0;
    if (apex && type == SG_TYPE_NS && s->n == 1)
        return 0; /* 3.4.2.4: the apex keeps its last NS */
    set_del(s, at);
    return 0;
}

/* ---- the difference --------------------------------------------------------------- */

static int push_rr(ldns_rr_list *l, const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
                   uint16_t rdlen)
{
    size_t ol = sg_name_len(owner), len = ol + 10 + rdlen;
    uint8_t *b = malloc(len);
    if (!b)
        return SG_ENOMEM;
    memcpy(b, owner, ol);
    uint8_t *p = b + ol;
    p[0] = (uint8_t)(type >> 8);
    p[1] = (uint8_t)type;
    p[2] = 0;
    p[3] = SG_CLASS_IN;
    p[4] = (uint8_t)(ttl >> 24);
    p[5] = (uint8_t)(ttl >> 16);
    p[6] = (uint8_t)(ttl >> 8);
    p[7] = (uint8_t)ttl;
    p[8] = (uint8_t)(rdlen >> 8);
    p[9] = (uint8_t)rdlen;
    memcpy(p + 10, rd, rdlen);
    ldns_rr *rr = NULL;
    size_t pos = 0;
    ldns_status st = ldns_wire2rr(&rr, b, len, &pos, LDNS_SECTION_ANSWER);
    free(b);
    if (st != LDNS_STATUS_OK)
        return SG_EMALFORMED;
    if (!ldns_rr_list_push_rr(l, rr)) {
        ldns_rr_free(rr);
        return SG_ENOMEM;
    }
    return 0;
}

/* Deletions and additions of every touched name against the base version. */
static int differences(const work *w, ldns_rr_list *del, ldns_rr_list *add)
{
    int rc = 0;
    for (int i = 0; i < w->n && !rc; i++) {
        const wname *wn = &w->names[i];
        /* the working copy holds every type of the base node, so its sets are all */
        for (int k = 0; k < wn->n && !rc; k++) {
            const wset *s = &wn->sets[k];
            const sg_rrset *b = wn->node ? sg_node_rrset(wn->node, s->type) : NULL;
            int ttl_moved = b && s->n && b->ttl != s->ttl;
            const uint8_t *p = b ? b->rdata : NULL;
            for (uint16_t j = 0; b && j < b->count && !rc; j++, p += 2 + sg_rdlen(p))
                if (ttl_moved || set_has(s, p + 2, sg_rdlen(p)) < 0)
                    rc = push_rr(del, wn->name, s->type, b->ttl, p + 2, sg_rdlen(p));
            for (int j = 0; j < s->n && !rc; j++)
                if (ttl_moved || !b || !rrset_has(b, s->rr[j].rd, s->rr[j].len))
                    rc = push_rr(add, wn->name, s->type, s->ttl, s->rr[j].rd, s->rr[j].len);
        }
    }
    return rc;
}

static int append_all(ldns_rr_list *to, ldns_rr_list *from)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(from); i++)
        if (!ldns_rr_list_push_rr(to, ldns_rr_list_rr(from, i)))
            return SG_ENOMEM;
    ldns_rr_list_free(from); /* the records now belong to `to` */
    return 0;
}

int sg_upd_replay(const sg_zone *base, ldns_rr_list *diff, sg_zone **zone_out, char *why, size_t why_cap)
{
    if (!base || !diff || !zone_out)
        return SG_EINVAL;
    return sg_ixfr_apply(base, diff, "UPDATE", zone_out, why, why_cap);
}

int sg_upd_apply(const sg_zone *base, const ldns_pkt *pkt, const sg_upd_policy *pol, int key,
                 enum sg_serial_policy serial, int64_t now, sg_zone **zone_out, ldns_rr_list **diff_out,
                 char *why, size_t why_cap)
{
    if (!base || !pkt || !zone_out || !diff_out || !base->soa)
        return SG_RCODE_SERVFAIL;
    *zone_out = NULL;
    *diff_out = NULL;
    if (why && why_cap)
        why[0] = 0;
    work w = { .z = base, .buf = ldns_buffer_new(65536) };
    ldns_rr_list *del = ldns_rr_list_new(), *add = ldns_rr_list_new(), *diff = ldns_rr_list_new();
    int rcode = SG_RCODE_SERVFAIL;
    if (!w.buf || !del || !add || !diff)
        goto out;
    /* 3.2, then 3.3 and 3.4.1: nothing changes unless all of them pass */
    if ((rcode = prerequisites(&w, ldns_pkt_answer(pkt), why, why_cap)) != SG_RCODE_NOERROR)
        goto out;
    if ((rcode = prescan(&w, ldns_pkt_authority(pkt), pol, key, why, why_cap)) != SG_RCODE_NOERROR)
        goto out;
    soa_state soa = { .ttl = base->soa->ttl };
    soa.len = sg_rdlen(base->soa->rdata);
    if (soa.len > sizeof soa.rd) {
        rcode = say(why, why_cap, SG_RCODE_SERVFAIL, "the zone's SOA is too large");
        goto out;
    }
    memcpy(soa.rd, base->soa->rdata + 2, soa.len);
    const ldns_rr_list *up = ldns_pkt_authority(pkt);
    for (size_t i = 0; up && i < ldns_rr_list_rr_count(up); i++) {
        int rc = apply_one(&w, ldns_rr_list_rr(up, i), &soa);
        if (rc) {
            rcode = say(why, why_cap, rc == SG_ESPACE ? SG_RCODE_REFUSED : SG_RCODE_SERVFAIL,
                        rc == SG_ESPACE ? "more than %d names in one update" : "cannot apply the update (%d)",
                        rc == SG_ESPACE ? MAX_NAMES : rc);
            goto out;
        }
    }
    if (differences(&w, del, add)) {
        rcode = say(why, why_cap, SG_RCODE_SERVFAIL, "cannot build the difference");
        goto out;
    }
    rcode = SG_RCODE_NOERROR;
    if (!soa.replaced && ldns_rr_list_rr_count(del) == 0 && ldns_rr_list_rr_count(add) == 0)
        goto out; /* 3.4.2.7: nothing changed, the serial stays */
    uint8_t *sp = soa_serial_at(soa.rd, soa.len);
    if (!sp) {
        rcode = say(why, why_cap, SG_RCODE_SERVFAIL, "the zone's SOA is malformed");
        goto out;
    }
    if (!soa.replaced) {
        uint32_t ns = sg_serial_next(serial, 1, base->serial, base->serial, now);
        sp[0] = (uint8_t)(ns >> 24);
        sp[1] = (uint8_t)(ns >> 16);
        sp[2] = (uint8_t)(ns >> 8);
        sp[3] = (uint8_t)ns;
    }
    const uint8_t *old = base->soa->rdata;
    int rc = push_rr(diff, base->apex, SG_TYPE_SOA, soa.ttl, soa.rd, (uint16_t)soa.len);
    if (!rc)
        rc = push_rr(diff, base->apex, SG_TYPE_SOA, base->soa->ttl, old + 2, sg_rdlen(old));
    if (!rc)
        rc = append_all(diff, del);
    del = NULL;
    if (!rc)
        rc = push_rr(diff, base->apex, SG_TYPE_SOA, soa.ttl, soa.rd, (uint16_t)soa.len);
    if (!rc)
        rc = append_all(diff, add);
    add = NULL;
    if (!rc)
        rc = push_rr(diff, base->apex, SG_TYPE_SOA, soa.ttl, soa.rd, (uint16_t)soa.len);
    if (rc) {
        rcode = say(why, why_cap, SG_RCODE_SERVFAIL, "cannot build the difference");
        goto out;
    }
    char ixwhy[256];
    if (sg_ixfr_apply(base, diff, "UPDATE", zone_out, ixwhy, sizeof ixwhy)) {
        rcode = say(why, why_cap, SG_RCODE_REFUSED, "the zone would not hold the result: %s", ixwhy);
        goto out;
    }
    *diff_out = diff;
    diff = NULL;
out:
    if (del)
        ldns_rr_list_deep_free(del);
    if (add)
        ldns_rr_list_deep_free(add);
    if (diff)
        ldns_rr_list_deep_free(diff);
    work_free(&w);
    return rcode;
}

char *sg_upd_diff_text(const ldns_rr_list *diff)
{
    ldns_buffer *b = ldns_buffer_new(4096);
    if (!b)
        return NULL;
    for (size_t i = 0; i < ldns_rr_list_rr_count(diff); i++)
        if (ldns_rr2buffer_str(b, ldns_rr_list_rr(diff, i)) != LDNS_STATUS_OK) {
            ldns_buffer_free(b);
            return NULL;
        }
    char *s = ldns_buffer_export2str(b);
    ldns_buffer_free(b);
    return s;
}

int sg_upd_diff_parse(const char *text, ldns_rr_list **diff_out)
{
    ldns_rr_list *l = ldns_rr_list_new();
    char *copy = strdup(text ? text : "");
    if (!l || !copy) {
        free(copy);
        if (l)
            ldns_rr_list_free(l);
        return SG_ENOMEM;
    }
    int rc = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        if (!*line)
            continue;
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
            rc = SG_EMALFORMED;
        else if (!ldns_rr_list_push_rr(l, rr))
            rc = SG_ENOMEM;
    }
    free(copy);
    if (rc || ldns_rr_list_rr_count(l) < 3) {
        ldns_rr_list_deep_free(l);
        return rc ? rc : SG_EMALFORMED;
    }
    *diff_out = l;
    return 0;
}

void sg_upd_replay_init(sg_upd_replay_set *r)
{
    memset(r, 0, sizeof *r);
}

int sg_upd_replay_add(sg_upd_replay_set *r, uint32_t from, uint32_t to, const char *text, char *why,
                      size_t why_cap)
{
    if (r->failed)
        return SG_EZONE;
    if (r->n && from != r->last) {
        r->failed = 1;
        return say(why, why_cap, SG_EZONE, "update %d starts at serial %u, not at %u", r->n + 1, from, r->last);
    }
    ldns_rr_list *d = NULL;
    if (sg_upd_diff_parse(text, &d)) {
        r->failed = 1;
        return say(why, why_cap, SG_EZONE, "update %d cannot be read", r->n + 1);
    }
    size_t n = ldns_rr_list_rr_count(d);
    if (!r->all && !(r->all = ldns_rr_list_new())) {
        ldns_rr_list_deep_free(d);
        r->failed = 1;
        return SG_ENOMEM;
    }
    /* the inner records: SOA(from) deletions SOA(to) additions; the first and last
     * records (SOA(to)) frame a whole response and are made once at the end */
    for (size_t i = 1; i + 1 < n; i++)
        if (!ldns_rr_list_push_rr(r->all, ldns_rr_clone(ldns_rr_list_rr(d, i)))) {
            ldns_rr_list_deep_free(d);
            r->failed = 1;
            return SG_ENOMEM;
        }
    if (r->last_soa)
        ldns_rr_free(r->last_soa);
    r->last_soa = ldns_rr_clone(ldns_rr_list_rr(d, 0));
    ldns_rr_list_deep_free(d);
    if (!r->n)
        r->first = from;
    r->last = to;
    r->n++;
    return 0;
}

int sg_upd_replay_finish(sg_upd_replay_set *r, const sg_zone *base, sg_zone **zone_out, char *why,
                         size_t why_cap)
{
    int rc = 0;
    ldns_rr_list *l = NULL;
    *zone_out = NULL;
    if (r->failed) {
        rc = SG_EZONE;
        goto out;
    }
    if (!r->n) {
        rc = SG_ENOTFOUND;
        goto out;
    }
    if (r->first != base->serial) {
        rc = say(why, why_cap, SG_EZONE, "the journal starts at serial %u, the zone file is at %u", r->first,
                 base->serial);
        goto out;
    }
    if (!(l = ldns_rr_list_new()) || !ldns_rr_list_push_rr(l, ldns_rr_clone(r->last_soa)) ||
        !ldns_rr_list_cat(l, r->all) || !ldns_rr_list_push_rr(l, ldns_rr_clone(r->last_soa))) {
        rc = SG_ENOMEM;
        goto out;
    }
    ldns_rr_list_free(r->all); /* its records are l's now */
    r->all = NULL;
    char ixwhy[256];
    if (sg_ixfr_apply(base, l, "journal", zone_out, ixwhy, sizeof ixwhy))
        rc = say(why, why_cap, SG_EZONE, "the journal does not apply: %s", ixwhy);
    else if ((*zone_out)->serial != r->last)
        rc = say(why, why_cap, SG_EZONE, "the journal leads to serial %u, not %u", (*zone_out)->serial, r->last);
    if (rc && *zone_out) {
        sg_zone_free(*zone_out);
        *zone_out = NULL;
    }
out:
    if (l)
        ldns_rr_list_deep_free(l);
    if (r->all)
        ldns_rr_list_deep_free(r->all);
    if (r->last_soa)
        ldns_rr_free(r->last_soa);
    memset(r, 0, sizeof *r);
    return rc;
}
