/* SPDX-License-Identifier: MIT */
/* Building a zone: records are collected, sorted canonically, checked, grouped into
 * nodes and RRsets, and indexed by a hash of the lower-case owner name. */
#include "zones/zone.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/phase.h"
#include "common/psort.h"

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
    int threads;
    sg_phases *phases;
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
    sg_arena_init_growing(&b->z->mem, 1 << 20);
    size_t l = sg_name_len(apex);
    memcpy(b->z->apex, apex, l);
    sg_name_lower(b->z->apex);
    b->z->apex_len = (uint8_t)l;
    b->z->apex_labels = (uint8_t)sg_name_labels(apex);
    char buf[1024];
    sg_name_to_str(b->z->apex, buf, sizeof buf);
    /* at its length, in the zone's arena: 10^5 small zones must not hold 1 KiB each */
    if (!(b->z->apex_str = sg_arena_dup(&b->z->mem, buf, strlen(buf) + 1))) {
        sg_zone_builder_free(b);
        return NULL;
    }
    return b;
}

void sg_zone_builder_set_threads(sg_zone_builder *b, int threads, sg_phases *phases)
{
    if (!b)
        return;
    b->threads = threads;
    b->phases = phases;
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
    sg_attach_free_all(z->attach, SG_ATTACH_MAX);
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

/* a equals the name b of length len. Lengths first: a shorter a may end its arena chunk,
 * so memcmp over len bytes would read past it. */
static int same_name(const uint8_t *a, const uint8_t *b, size_t len)
{
    return sg_name_len(a) == len && memcmp(a, b, len) == 0;
}

static int nameset_insert(nameset *s, const uint8_t *name)
{
    size_t len = sg_name_len(name);
    size_t i = sg_name_hash(name, len) & s->mask;
    while (s->slots[i]) {
        if (same_name(s->slots[i], name, len))
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
        if (same_name(s->slots[i], name, len))
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

/* A fresh set sized for n names (load factor at most 1/4), holding names[0..n). */
static int nameset_rebuild(nameset *s, const uint8_t **names, size_t n)
{
    free(s->slots);
    s->mask = pow2_at_least(n * 4) - 1;
    s->slots = calloc(s->mask + 1, sizeof *s->slots);
    if (!s->slots)
        return SG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        nameset_insert(s, names[i]);
    return 0;
}

/* What sg_zone_builder_finish works on, handed from phase to phase. */
typedef struct finish {
    sg_zone_builder *b;
    sg_zone *z;
    nameset set;            /* owners (interned), then owners and empty non-terminals */
    const uint8_t **names;  /* every node's name; canonical order once collected */
    size_t nnames, cap_names, nowners;
    sg_rrset *sets;         /* every RRset, in record order */
    size_t nsets;
    size_t *set_first;      /* first record of each RRset, for error lines */
    int errors;             /* content errors found (each logged); the zone is refused */
} finish;

/* Phase 1. Intern owners first so that sorting compares pointers for equal names. */
static int intern_and_sort(finish *f)
{
    sg_zone_builder *b = f->b;
    f->set.mask = pow2_at_least(b->n * 2) - 1;
    f->set.slots = calloc(f->set.mask + 1, sizeof *f->set.slots);
    if (!f->set.slots)
        return SG_ENOMEM;
    for (size_t i = 0; i < b->n; i++) {
        size_t len = sg_name_len(b->recs[i].owner);
        size_t h = sg_name_hash(b->recs[i].owner, len) & f->set.mask;
        while (f->set.slots[h] && !same_name(f->set.slots[h], b->recs[i].owner, len))
            h = (h + 1) & f->set.mask;
        if (f->set.slots[h])
            b->recs[i].owner = f->set.slots[h];
        else
            f->set.slots[h] = b->recs[i].owner;
    }
    /* a producer that adds records in canonical order (a version made from the one before
     * it and a few changes: sg_ixfr_apply) costs one pass here instead of a sort; rec_cmp
     * is a total order (the line breaks ties), so any thread count sorts alike */
    size_t sorted = 1;
    while (sorted < b->n && rec_cmp(&b->recs[sorted - 1], &b->recs[sorted]) <= 0)
        sorted++;
    if (sorted < b->n)
        sg_psort(b->recs, b->n, sizeof *b->recs, rec_cmp, b->threads);
    return 0;
}

/* Phase 2. Drop duplicate records (RFC 2181 5); sorting put them side by side. */
static void drop_duplicates(sg_zone_builder *b)
{
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
    b->z->nrecords = w;
}

static int names_push(finish *f, const uint8_t *name)
{
    if (f->nnames == f->cap_names) {
        f->cap_names *= 2;
        const uint8_t **nn = realloc(f->names, f->cap_names * sizeof *f->names);
        if (!nn)
            return SG_ENOMEM;
        f->names = nn;
    }
    f->names[f->nnames++] = name;
    return 0;
}

/* Phase 3. Names: every owner, once (the records are sorted, so in canonical order). */
static int collect_owners(finish *f)
{
    sg_zone_builder *b = f->b;
    f->cap_names = 1024;
    f->names = malloc(f->cap_names * sizeof *f->names);
    if (!f->names)
        return SG_ENOMEM;
    for (size_t i = 0; i < b->n; i++) {
        if (i > 0 && b->recs[i].owner == b->recs[i - 1].owner)
            continue;
        if (names_push(f, b->recs[i].owner))
            return SG_ENOMEM;
    }
    f->nowners = f->nnames;
    return 0;
}

/* Phase 4. Every empty non-terminal between an owner and the apex becomes a name too
 * (RFC 4592 2.2.2: it exists, with no data); then all names are put in canonical order. */
static int add_empty_non_terminals(finish *f)
{
    int rc;
    if (f->set.mask + 1 < f->nowners * 4 &&
        (rc = nameset_rebuild(&f->set, f->names, f->nowners)) != 0)
        return rc;
    for (size_t i = 0; i < f->nowners; i++) {
        const uint8_t *p = f->names[i];
        int labels = sg_name_labels(p);
        while (labels > f->z->apex_labels) {
            p = sg_name_parent(p);
            labels--;
            if (nameset_has(&f->set, p))
                break; /* its own ancestors are in the set already */
            if ((rc = names_push(f, p)) != 0)
                return rc;
            if ((f->nnames * 2) > f->set.mask) {
                if ((rc = nameset_rebuild(&f->set, f->names, f->nnames)) != 0)
                    return rc;
            } else {
                nameset_insert(&f->set, p);
            }
        }
    }
    free(f->set.slots);
    f->set.slots = NULL;
    if (f->nnames > f->nowners)
        sg_psort(f->names, f->nnames, sizeof *f->names, name_ptr_cmp, f->b->threads);
    return 0;
}

/* Phase 5. One node per name and the hash index over them; the apex must be the first. */
static int index_nodes(finish *f)
{
    sg_zone *z = f->z;
    z->nnodes = f->nnames;
    z->nodes = calloc(f->nnames, sizeof *z->nodes);
    z->slot_mask = pow2_at_least(f->nnames * 2) - 1;
    z->slots = calloc(z->slot_mask + 1, sizeof *z->slots);
    if (!z->nodes || !z->slots)
        return SG_ENOMEM;
    for (size_t i = 0; i < f->nnames; i++) {
        sg_node *n = &z->nodes[i];
        n->name = f->names[i];
        n->name_len = (uint8_t)sg_name_len(f->names[i]);
        n->labels = (uint8_t)sg_name_labels(f->names[i]);
        n->index = (uint32_t)i;
        if (f->names[i][0] == 1 && f->names[i][1] == '*')
            n->flags |= SG_NODE_WILDCARD;
        size_t h = sg_name_hash(n->name, n->name_len) & z->slot_mask;
        while (z->slots[h])
            h = (h + 1) & z->slot_mask;
        z->slots[h] = (uint32_t)i + 1;
    }
    z->apex_node = sg_zone_find(z, z->apex, z->apex_len);
    if (!z->apex_node || z->apex_node != &z->nodes[0]) {
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "no records at the zone apex");
        return SG_EZONE;
    }
    return 0;
}

/* The TTL of the RRset of records r[0..n): the lowest, each difference warned about. */
static uint32_t rrset_ttl(const sg_zone *z, const rec *r, size_t n)
{
    uint32_t ttl = r[0].ttl;
    for (size_t j = 0; j < n; j++) {
        if (r[j].ttl != ttl) {
            char nb[1024];
            sg_name_to_str(r[j].owner, nb, sizeof nb);
            sg_log(SG_LOG_WARN, "zone", z->apex_str,
                   "%s:%u: TTL differs within the RRset of %s, using the lowest",
                   r[j].file, r[j].line, nb);
            if (r[j].ttl < ttl)
                ttl = r[j].ttl;
        }
    }
    return ttl;
}

/* Per-type checks on a new RRset whose first record is r, with the offending record's line. */
static void check_rrset(finish *f, const sg_node *n, const sg_rrset *rs, const rec *r)
{
    sg_zone *z = f->z;
    if (rs->type == SG_TYPE_SOA) {
        if (n != z->apex_node) {
            f->errors++;
            zerr(r->file, r->line, z, "%s", "SOA record not at the zone apex");
        } else if (rs->count != 1) {
            const rec *l = later_of(&r[0], &r[1]);
            f->errors++;
            zerr(l->file, l->line, z, "%s", "more than one SOA record");
        }
    }
    if (rs->type == SG_TYPE_CNAME && rs->count != 1) {
        f->errors++;
        const rec *l = later_of(&r[0], &r[1]);
        zerr(l->file, l->line, z, "%s", "more than one CNAME record at a name");
    }
}

/* The RRset si of the sorted records [i, j): rdata packed into one blob (each with its
 * length), attached to its owner's node. */
static int make_rrset(finish *f, size_t i, size_t j, size_t si)
{
    sg_zone *z = f->z;
    const rec *r = &f->b->recs[i];
    size_t bytes = 0;
    for (size_t k = 0; k < j - i; k++)
        bytes += 2 + r[k].rdlen;
    uint32_t ttl = rrset_ttl(z, r, j - i);
    if (j - i > 65535) {
        zerr(r->file, r->line, z, "%s", "RRset has more than 65535 records");
        f->errors++;
    }
    uint8_t *blob = sg_arena_alloc(&z->mem, bytes ? bytes : 1);
    if (!blob)
        return SG_ENOMEM;
    size_t o = 0;
    for (size_t k = 0; k < j - i; k++) {
        blob[o] = r[k].rdlen >> 8;
        blob[o + 1] = r[k].rdlen & 0xff;
        memcpy(blob + o + 2, r[k].rdata, r[k].rdlen);
        o += 2 + r[k].rdlen;
    }
    f->set_first[si] = i;
    sg_rrset *rs = &f->sets[si];
    if (ttl > z->max_ttl)
        z->max_ttl = ttl;
    rs->type = r->type;
    rs->count = (uint16_t)(j - i);
    rs->ttl = ttl;
    rs->rdata_len = (uint32_t)bytes;
    rs->rdata = blob;
    sg_node *n = (sg_node *)sg_zone_find(z, r->owner, sg_name_len(r->owner));
    if (n->nrrsets == 0)
        n->rrsets = rs;
    n->nrrsets++;
    check_rrset(f, n, rs, r);
    return 0;
}

/* Phase 6. RRsets: one pass over the sorted records. */
static int build_rrsets(finish *f)
{
    sg_zone_builder *b = f->b;
    for (size_t i = 0; i < b->n; i++)
        if (i == 0 || b->recs[i].owner != b->recs[i - 1].owner || b->recs[i].type != b->recs[i - 1].type)
            f->nsets++;
    f->sets = sg_arena_alloc(&f->z->mem, f->nsets * sizeof *f->sets);
    if (!f->sets)
        return SG_ENOMEM;
    f->set_first = malloc(f->nsets * sizeof *f->set_first);
    if (!f->set_first)
        return SG_ENOMEM;
    size_t si = 0;
    for (size_t i = 0; i < b->n;) {
        size_t j = i;
        while (j < b->n && b->recs[j].owner == b->recs[i].owner && b->recs[j].type == b->recs[i].type)
            j++;
        int rc = make_rrset(f, i, j, si++);
        if (rc)
            return rc;
        i = j;
    }
    return 0;
}

/* A node's parent, and whether it is a zone cut or below one. Canonical order puts parents
 * before children, so the parent's flags are final when its children are met. */
static void link_node(sg_zone *z, sg_node *n, size_t i)
{
    if (i > 0) {
        const uint8_t *p = sg_name_parent(n->name);
        n->parent = sg_zone_find(z, p, sg_name_len(p));
    }
    if (n->parent && (n->parent->flags & (SG_NODE_DELEG | SG_NODE_NONAUTH))) {
        n->flags |= SG_NODE_NONAUTH;
        n->cut = n->parent->cut;
    } else if (n != z->apex_node && sg_node_rrset(n, SG_TYPE_NS)) {
        n->flags |= SG_NODE_DELEG;
        n->cut = n;
    }
    if ((n->flags & SG_NODE_WILDCARD) && n->parent)
        ((sg_node *)n->parent)->wildcard = n;
}

/* RFC 1034 3.6.2: a CNAME stands alone (its DNSSEC records aside). */
static void check_cname_alone(finish *f, const sg_node *n)
{
    const sg_rrset *cn = sg_node_rrset(n, SG_TYPE_CNAME);
    if (!cn)
        return;
    for (uint16_t k = 0; k < n->nrrsets; k++) {
        uint16_t t = n->rrsets[k].type;
        if (t != SG_TYPE_CNAME && t != SG_TYPE_RRSIG && t != SG_TYPE_NSEC) {
            const rec *r = &f->b->recs[f->set_first[cn - f->sets]];
            f->errors++;
            zerr(r->file, r->line, f->z, "%s", "CNAME and other data at the same name");
            return;
        }
    }
}

/* Data beside NS at a cut is not served (the child's); a warning, not an error. */
static void warn_occluded(const sg_zone *z, const sg_node *n)
{
    if (!(n->flags & SG_NODE_DELEG))
        return;
    for (uint16_t k = 0; k < n->nrrsets; k++) {
        uint16_t t = n->rrsets[k].type;
        if (t != SG_TYPE_NS && t != SG_TYPE_DS && t != SG_TYPE_NSEC && t != SG_TYPE_RRSIG) {
            char nb[1024];
            sg_name_to_str(n->name, nb, sizeof nb);
            sg_log(SG_LOG_WARN, "zone", z->apex_str,
                   "data beside the delegation at %s is occluded", nb);
            return;
        }
    }
}

/* Phase 7. Tree links, cuts, wildcards, and the checks that need a node's whole data. */
static void link_and_check_nodes(finish *f)
{
    for (size_t i = 0; i < f->z->nnodes; i++) {
        sg_node *n = &f->z->nodes[i];
        link_node(f->z, n, i);
        check_cname_alone(f, n);
        warn_occluded(f->z, n);
    }
}

/* Phase 8. The apex has a SOA and NS; the SOA gives the serial and the negative TTL
 * (RFC 2308 5: the lower of its TTL and MINIMUM). */
static void check_apex(finish *f)
{
    sg_zone *z = f->z;
    const char *file = f->b->recs[0].file ? f->b->recs[0].file : "?";
    z->soa = sg_node_rrset(z->apex_node, SG_TYPE_SOA);
    if (!z->soa) {
        f->errors++;
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "%s: no SOA record at the zone apex", file);
    }
    if (!sg_node_rrset(z->apex_node, SG_TYPE_NS)) {
        f->errors++;
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "%s: no NS records at the zone apex", file);
    }
    if (!z->soa)
        return;
    const uint8_t *rd = z->soa->rdata + 2;
    uint16_t rdlen = sg_rdlen(z->soa->rdata);
    size_t p = sg_name_len(rd);
    p += sg_name_len(rd + p);
    if (p + 20 != rdlen) {
        f->errors++;
        sg_log(SG_LOG_ERR, "zone", z->apex_str, "malformed SOA record");
        return;
    }
    const uint8_t *fl = rd + p;
    z->serial = (uint32_t)fl[0] << 24 | fl[1] << 16 | fl[2] << 8 | fl[3];
    uint32_t min = (uint32_t)fl[16] << 24 | fl[17] << 16 | fl[18] << 8 | fl[19];
    z->neg_ttl = min < z->soa->ttl ? min : z->soa->ttl;
}

int sg_zone_set_serial(sg_zone *z, uint32_t serial)
{
    if (!z || !z->soa || z->soa->count != 1)
        return SG_EINVAL;
    /* the RDATA lives in the zone's own arena: writable until the zone is published */
    uint8_t *rd = (uint8_t *)z->soa->rdata + 2;
    uint16_t rdlen = sg_rdlen(z->soa->rdata);
    size_t p = sg_name_len(rd);
    p += sg_name_len(rd + p);
    if (p + 20 != rdlen)
        return SG_EINVAL;
    rd[p] = (uint8_t)(serial >> 24);
    rd[p + 1] = (uint8_t)(serial >> 16);
    rd[p + 2] = (uint8_t)(serial >> 8);
    rd[p + 3] = (uint8_t)serial;
    z->serial = serial;
    return 0;
}

int sg_zone_builder_finish(sg_zone_builder *b, sg_zone **zone_out)
{
    if (!b || !zone_out)
        return SG_EINVAL;
    finish f = { .b = b, .z = b->z };
    int rc = SG_EZONE;
    if (b->errors)
        goto fail;
    if (b->n == 0) {
        sg_log(SG_LOG_ERR, "zone", f.z->apex_str, "the zone has no records");
        goto fail;
    }
    sg_phase_begin(b->phases);
    if ((rc = intern_and_sort(&f)) != 0)
        goto fail;
    drop_duplicates(b);
    if ((rc = collect_owners(&f)) != 0 || (rc = add_empty_non_terminals(&f)) != 0 ||
        (rc = index_nodes(&f)) != 0 || (rc = build_rrsets(&f)) != 0)
        goto fail;
    link_and_check_nodes(&f);
    check_apex(&f);
    sg_phase_end(b->phases, "sort");
    rc = SG_EZONE;
    if (f.errors)
        goto fail;
    free(f.set_first);
    static _Atomic uint64_t next_gen = 1;
    f.z->gen = atomic_fetch_add(&next_gen, 1);
    free(f.names);
    free(b->recs);
    free(b);
    *zone_out = f.z;
    return 0;
fail:
    free(f.set_first);
    free(f.set.slots);
    free(f.names);
    sg_zone_builder_free(b);
    return rc;
}
