/* SPDX-License-Identifier: MIT */
/* Building a zone: records are collected, sorted canonically, checked, grouped into
 * nodes and RRsets, and indexed by a hash of the lower-case owner name. */
#include "zones/zone.h"
#include "common/errors.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec {
    const uint8_t *owner;
    const uint8_t *rdata;
    uint32_t ttl;
    uint16_t type;
    uint16_t rdlen;
    unsigned line;
    const char *file;
} rec;

struct sg_zone_builder {
    sg_zone *z;
    rec *recs;
    size_t n, cap;
    int errors;
};

sg_zone_builder *sg_zone_builder_new(const uint8_t *apex)
{
    sg_zone_builder *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->z = calloc(1, sizeof *b->z);
    if (!b->z) {
        free(b);
        return NULL;
    }
    sg_arena_init(&b->z->mem, 1 << 20);
    size_t l = sg_name_len(apex);
    memcpy(b->z->apex, apex, l);
    sg_name_lower(b->z->apex);
    b->z->apex_len = (uint8_t)l;
    b->z->apex_labels = (uint8_t)sg_name_labels(apex);
    sg_name_to_str(b->z->apex, b->z->apex_str, sizeof b->z->apex_str);
    return b;
}

void sg_zone_builder_free(sg_zone_builder *b)
{
    if (!b)
        return;
    sg_zone_free(b->z);
    free(b->recs);
    free(b);
}

void sg_zone_free(sg_zone *z)
{
    if (!z)
        return;
    void *ext = atomic_load(&z->ext);
    void (*ext_free)(void *) = atomic_load(&z->ext_free);
    if (ext && ext_free)
        ext_free(ext);
    sg_arena_deinit(&z->mem);
    free(z->nodes);
    free(z->slots);
    free(z->path);
    for (int i = 0; i < z->nfiles; i++)
        free(z->files[i].path);
    free(z->files);
    free(z);
}

static int zerr(const char *file, unsigned line, const sg_zone *z, const char *fmt, const char *arg)
{
    char msg[1200];
    snprintf(msg, sizeof msg, fmt, arg);
    sg_log(SG_LOG_ERR, "zone", z->apex_str, "%s:%u: %s", file ? file : "?", line, msg);
    return SG_EZONE;
}

int sg_zone_builder_add(sg_zone_builder *b, const uint8_t *owner, uint16_t type,
                        uint16_t rrclass, uint32_t ttl, const uint8_t *rdata,
                        uint16_t rdlen, const char *file, unsigned line)
{
    if (!b || !owner || (!rdata && rdlen))
        return SG_EINVAL;
    char nbuf[1024];
    if (rrclass != SG_CLASS_IN) {
        b->errors++;
        return zerr(file, line, b->z, "%s", "only class IN is supported");
    }
    if (!sg_name_is_sub(owner, b->z->apex)) {
        sg_name_to_str(owner, nbuf, sizeof nbuf);
        b->errors++;
        return zerr(file, line, b->z, "record for %s is outside the zone", nbuf);
    }
    if (type == SG_TYPE_OPT || type == SG_TYPE_TSIG || (type >= 249 && type <= 255) || type == 0) {
        b->errors++;
        return zerr(file, line, b->z, "%s", "meta type not allowed in a zone");
    }
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        rec *nr = realloc(b->recs, nc * sizeof *nr);
        if (!nr)
            return SG_ENOMEM;
        b->recs = nr;
        b->cap = nc;
    }
    size_t ol = sg_name_len(owner);
    uint8_t *o = sg_arena_dup(&b->z->mem, owner, ol);
    const uint8_t *rd = sg_arena_dup(&b->z->mem, rdata, rdlen);
    if (!o || !rd)
        return SG_ENOMEM;
    sg_name_lower(o);
    rec *r = &b->recs[b->n++];
    r->owner = o;
    r->rdata = rd;
    r->rdlen = rdlen;
    r->ttl = ttl;
    r->type = type;
    r->line = line;
    r->file = file;
    return 0;
}

/* Of two clashing records, the one met later in the file is the one to blame. */
static const rec *later_of(const rec *a, const rec *b)
{
    return b->line > a->line ? b : a;
}

static int rdata_cmp(const uint8_t *a, uint16_t al, const uint8_t *b, uint16_t bl)
{
    uint16_t m = al < bl ? al : bl;
    int c = memcmp(a, b, m);
    if (c)
        return c;
    return al == bl ? 0 : (al < bl ? -1 : 1);
}

static int rec_cmp(const void *pa, const void *pb)
{
    const rec *a = pa, *b = pb;
    int c = a->owner == b->owner ? 0 : sg_name_canon_cmp(a->owner, b->owner);
    if (c)
        return c;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    c = rdata_cmp(a->rdata, a->rdlen, b->rdata, b->rdlen);
    if (c)
        return c;
    /* stable for identical records: keep the first one's line */
    return a->line < b->line ? -1 : (a->line > b->line);
}

static int name_ptr_cmp(const void *pa, const void *pb)
{
    const uint8_t *const *a = pa, *const *b = pb;
    return sg_name_canon_cmp(*a, *b);
}

/* Temporary hash set of names used while finding empty non-terminals. */
typedef struct nameset {
    const uint8_t **slots;
    size_t mask;
} nameset;

static int nameset_insert(nameset *s, const uint8_t *name)
{
    size_t len = sg_name_len(name);
    size_t i = sg_name_hash(name, len) & s->mask;
    while (s->slots[i]) {
        if (memcmp(s->slots[i], name, len) == 0)
            return 0;
        i = (i + 1) & s->mask;
    }
    s->slots[i] = name;
    return 1;
}

static int nameset_has(const nameset *s, const uint8_t *name)
{
    size_t len = sg_name_len(name);
    size_t i = sg_name_hash(name, len) & s->mask;
    while (s->slots[i]) {
        if (memcmp(s->slots[i], name, len) == 0)
            return 1;
        i = (i + 1) & s->mask;
    }
    return 0;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

int sg_zone_builder_finish(sg_zone_builder *b, sg_zone **zone_out)
{
    if (!b || !zone_out)
        return SG_EINVAL;
    sg_zone *z = b->z;
    int rc = SG_EZONE;
    const uint8_t **names = NULL;
    size_t *set_first = NULL;
    nameset set = { 0 };
    if (b->errors)
        goto fail;
    if (b->n == 0) {
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "the zone has no records");
        goto fail;
    }
    /* Intern owners first so that sorting compares pointers for equal names. */
    set.mask = pow2_at_least(b->n * 2) - 1;
    set.slots = calloc(set.mask + 1, sizeof *set.slots);
    if (!set.slots) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < b->n; i++) {
        size_t len = sg_name_len(b->recs[i].owner);
        size_t h = sg_name_hash(b->recs[i].owner, len) & set.mask;
        while (set.slots[h] && memcmp(set.slots[h], b->recs[i].owner, len))
            h = (h + 1) & set.mask;
        if (set.slots[h])
            b->recs[i].owner = set.slots[h];
        else
            set.slots[h] = b->recs[i].owner;
    }
    qsort(b->recs, b->n, sizeof *b->recs, rec_cmp);

    /* drop duplicate records (RFC 2181 5) */
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (w > 0) {
            rec *p = &b->recs[w - 1], *c = &b->recs[i];
            if (p->owner == c->owner && p->type == c->type &&
                rdata_cmp(p->rdata, p->rdlen, c->rdata, c->rdlen) == 0)
                continue;
        }
        b->recs[w++] = b->recs[i];
    }
    b->n = w;
    z->nrecords = w;

    /* names: every owner plus every empty non-terminal between it and the apex */
    size_t nnames = 0, cap_names = 1024;
    names = malloc(cap_names * sizeof *names);
    if (!names) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (i > 0 && b->recs[i].owner == b->recs[i - 1].owner)
            continue;
        if (nnames == cap_names) {
            cap_names *= 2;
            const uint8_t **nn = realloc(names, cap_names * sizeof *names);
            if (!nn) {
                rc = SG_ENOMEM;
                goto fail;
            }
            names = nn;
        }
        names[nnames++] = b->recs[i].owner;
    }
    size_t nowners = nnames;
    if (set.mask + 1 < nowners * 4) {
        free(set.slots);
        set.mask = pow2_at_least(nowners * 4) - 1;
        set.slots = calloc(set.mask + 1, sizeof *set.slots);
        if (!set.slots) {
            rc = SG_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < nowners; i++)
            nameset_insert(&set, names[i]);
    }
    for (size_t i = 0; i < nowners; i++) {
        const uint8_t *p = names[i];
        int labels = sg_name_labels(p);
        while (labels > z->apex_labels) {
            p = sg_name_parent(p);
            labels--;
            if (nameset_has(&set, p))
                break;
            if (nnames == cap_names) {
                cap_names *= 2;
                const uint8_t **nn = realloc(names, cap_names * sizeof *names);
                if (!nn) {
                    rc = SG_ENOMEM;
                    goto fail;
                }
                names = nn;
            }
            names[nnames++] = p;
            if ((nnames * 2) > set.mask) {
                /* grow: rebuild the set */
                free(set.slots);
                set.mask = pow2_at_least(nnames * 4) - 1;
                set.slots = calloc(set.mask + 1, sizeof *set.slots);
                if (!set.slots) {
                    rc = SG_ENOMEM;
                    goto fail;
                }
                for (size_t k = 0; k < nnames; k++)
                    nameset_insert(&set, names[k]);
            } else {
                nameset_insert(&set, p);
            }
        }
    }
    free(set.slots);
    set.slots = NULL;
    if (nnames > nowners)
        qsort(names, nnames, sizeof *names, name_ptr_cmp);

    z->nnodes = nnames;
    z->nodes = calloc(nnames, sizeof *z->nodes);
    z->slot_mask = pow2_at_least(nnames * 2) - 1;
    z->slots = calloc(z->slot_mask + 1, sizeof *z->slots);
    if (!z->nodes || !z->slots) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < nnames; i++) {
        sg_node *n = &z->nodes[i];
        n->name = names[i];
        n->name_len = (uint8_t)sg_name_len(names[i]);
        n->labels = (uint8_t)sg_name_labels(names[i]);
        n->index = (uint32_t)i;
        if (names[i][0] == 1 && names[i][1] == '*')
            n->flags |= SG_NODE_WILDCARD;
        size_t h = sg_name_hash(n->name, n->name_len) & z->slot_mask;
        while (z->slots[h])
            h = (h + 1) & z->slot_mask;
        z->slots[h] = (uint32_t)i + 1;
    }
    z->apex_node = sg_zone_find(z, z->apex, z->apex_len);
    if (!z->apex_node || z->apex_node != &z->nodes[0]) {
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "no records at the zone apex");
        goto fail;
    }

    /* RRsets: one pass over the sorted records */
    size_t nsets = 0;
    for (size_t i = 0; i < b->n; i++)
        if (i == 0 || b->recs[i].owner != b->recs[i - 1].owner || b->recs[i].type != b->recs[i - 1].type)
            nsets++;
    sg_rrset *sets = sg_arena_alloc(&z->mem, nsets * sizeof *sets);
    if (!sets) {
        rc = SG_ENOMEM;
        goto fail;
    }
    int errors = 0;
    size_t si = 0;
    /* first record of each RRset, for error lines */
    set_first = malloc(nsets * sizeof *set_first);
    if (!set_first) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < b->n;) {
        size_t j = i, bytes = 0;
        uint32_t ttl = b->recs[i].ttl;
        while (j < b->n && b->recs[j].owner == b->recs[i].owner && b->recs[j].type == b->recs[i].type) {
            bytes += 2 + b->recs[j].rdlen;
            if (b->recs[j].ttl != ttl) {
                char nb[1024];
                sg_name_to_str(b->recs[j].owner, nb, sizeof nb);
                sg_log(SG_LOG_WARN, "zone", z->apex_str,
                       "%s:%u: TTL differs within the RRset of %s, using the lowest",
                       b->recs[j].file, b->recs[j].line, nb);
                if (b->recs[j].ttl < ttl)
                    ttl = b->recs[j].ttl;
            }
            j++;
        }
        if (j - i > 65535) {
            zerr(b->recs[i].file, b->recs[i].line, z, "%s", "RRset has more than 65535 records");
            errors++;
        }
        uint8_t *blob = sg_arena_alloc(&z->mem, bytes ? bytes : 1);
        if (!blob) {
            rc = SG_ENOMEM;
            goto fail;
        }
        size_t o = 0;
        for (size_t k = i; k < j; k++) {
            blob[o] = b->recs[k].rdlen >> 8;
            blob[o + 1] = b->recs[k].rdlen & 0xff;
            memcpy(blob + o + 2, b->recs[k].rdata, b->recs[k].rdlen);
            o += 2 + b->recs[k].rdlen;
        }
        set_first[si] = i;
        sg_rrset *rs = &sets[si++];
        if (ttl > z->max_ttl)
            z->max_ttl = ttl;
        rs->type = b->recs[i].type;
        rs->count = (uint16_t)(j - i);
        rs->ttl = ttl;
        rs->rdata_len = (uint32_t)bytes;
        rs->rdata = blob;
        sg_node *n = (sg_node *)sg_zone_find(z, b->recs[i].owner, sg_name_len(b->recs[i].owner));
        if (n->nrrsets == 0)
            n->rrsets = rs;
        n->nrrsets++;

        /* per-type checks, with the line of the offending record */
        if (rs->type == SG_TYPE_SOA) {
            if (n != z->apex_node) {
                errors++;
                zerr(b->recs[i].file, b->recs[i].line, z, "%s", "SOA record not at the zone apex");
            } else if (rs->count != 1) {
                const rec *r = later_of(&b->recs[i], &b->recs[i + 1]);
                errors++;
                zerr(r->file, r->line, z, "%s", "more than one SOA record");
            }
        }
        if (rs->type == SG_TYPE_CNAME && rs->count != 1) {
            errors++;
            const rec *r = later_of(&b->recs[i], &b->recs[i + 1]);
            zerr(r->file, r->line, z, "%s", "more than one CNAME record at a name");
        }
        i = j;
    }

    /* tree links, cuts, wildcards */
    for (size_t i = 0; i < z->nnodes; i++) {
        sg_node *n = &z->nodes[i];
        if (i > 0) {
            const uint8_t *p = sg_name_parent(n->name);
            n->parent = sg_zone_find(z, p, sg_name_len(p));
        }
        /* canonical order puts parents before children, so parent flags are final */
        if (n->parent && (n->parent->flags & (SG_NODE_DELEG | SG_NODE_NONAUTH))) {
            n->flags |= SG_NODE_NONAUTH;
            n->cut = n->parent->cut;
        } else if (n != z->apex_node && sg_node_rrset(n, SG_TYPE_NS)) {
            n->flags |= SG_NODE_DELEG;
            n->cut = n;
        }
        if ((n->flags & SG_NODE_WILDCARD) && n->parent)
            ((sg_node *)n->parent)->wildcard = n;
        const sg_rrset *cn = sg_node_rrset(n, SG_TYPE_CNAME);
        if (cn) {
            for (uint16_t k = 0; k < n->nrrsets; k++) {
                uint16_t t = n->rrsets[k].type;
                if (t != SG_TYPE_CNAME && t != SG_TYPE_RRSIG && t != SG_TYPE_NSEC) {
                    const rec *r = &b->recs[set_first[cn - sets]];
                    errors++;
                    zerr(r->file, r->line, z, "%s", "CNAME and other data at the same name");
                    break;
                }
            }
        }
        if (n->flags & SG_NODE_DELEG) {
            for (uint16_t k = 0; k < n->nrrsets; k++) {
                uint16_t t = n->rrsets[k].type;
                if (t != SG_TYPE_NS && t != SG_TYPE_DS && t != SG_TYPE_NSEC && t != SG_TYPE_RRSIG) {
                    char nb[1024];
                    sg_name_to_str(n->name, nb, sizeof nb);
                    sg_log(SG_LOG_WARN, "zone", z->apex_str,
                           "data beside the delegation at %s is occluded", nb);
                    break;
                }
            }
        }
    }
    z->soa = sg_node_rrset(z->apex_node, SG_TYPE_SOA);
    if (!z->soa) {
        errors++;
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "%s: no SOA record at the zone apex",
               b->recs[0].file ? b->recs[0].file : "?");
    }
    if (!sg_node_rrset(z->apex_node, SG_TYPE_NS)) {
        errors++;
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "%s: no NS records at the zone apex",
               b->recs[0].file ? b->recs[0].file : "?");
    }
    if (z->soa) {
        const uint8_t *rd = z->soa->rdata + 2;
        uint16_t rdlen = sg_rdlen(z->soa->rdata);
        size_t p = sg_name_len(rd);
        p += sg_name_len(rd + p);
        if (p + 20 != rdlen) {
            errors++;
            sg_log(SG_LOG_ERR, "zone", z->apex_str, "malformed SOA record");
        } else {
            const uint8_t *f = rd + p;
            z->serial = (uint32_t)f[0] << 24 | f[1] << 16 | f[2] << 8 | f[3];
            uint32_t min = (uint32_t)f[16] << 24 | f[17] << 16 | f[18] << 8 | f[19];
            z->neg_ttl = min < z->soa->ttl ? min : z->soa->ttl;
        }
    }
    if (errors)
        goto fail;
    free(set_first);
    static _Atomic uint64_t next_gen = 1;
    z->gen = atomic_fetch_add(&next_gen, 1);
    free(names);
    free(b->recs);
    free(b);
    *zone_out = z;
    return 0;
fail:
    free(set_first);
    free(set.slots);
    free(names);
    sg_zone_builder_free(b);
    return rc;
}
