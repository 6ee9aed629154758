/* SPDX-License-Identifier: MIT */
/* RFC 9615 signalling records: which children are signalled, and what a nameserver's zone
 * carries for them, as records of its own versions (so that its denial chains cover them). */
#include "zones/signal.h"
#include "zones/zonedb.h"
#include "common/errors.h"
#include "common/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct child {
    uint8_t apex[SG_NAME_MAX];
    sg_signal_source src;
} child;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static child *g_children;
static size_t g_n, g_cap;
static uint64_t g_changes;      /* registrations and removals */

int sg_signal_register(const uint8_t *apex, const sg_signal_source *src)
{
    if (!apex || !src || !src->records)
        return SG_EINVAL;
    uint8_t l[SG_NAME_MAX];
    memcpy(l, apex, sg_name_len(apex));
    sg_name_lower(l);
    int rc = 0;
    pthread_mutex_lock(&g_lock);
    size_t i = 0;
    while (i < g_n && !sg_name_eq(g_children[i].apex, l))
        i++;
    if (i == g_n) {
        if (g_n == g_cap) {
            size_t nc = g_cap ? g_cap * 2 : 8;
            child *nw = realloc(g_children, nc * sizeof *nw);
            if (!nw) {
                rc = SG_ENOMEM;
                goto out;
            }
            g_children = nw;
            g_cap = nc;
        }
        memcpy(g_children[i].apex, l, sg_name_len(l));
        g_n++;
    }
    g_children[i].src = *src;
    g_changes++;
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void sg_signal_unregister(const uint8_t *apex, const void *self)
{
    if (!apex)
        return;
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_n; i++)
        if (sg_name_eq(g_children[i].apex, apex) && g_children[i].src.self == self) {
            g_children[i] = g_children[--g_n];
            g_changes++;
            break;
        }
    if (!g_n) {
        free(g_children);
        g_children = NULL;
        g_cap = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

int sg_signal_owner(const uint8_t *c, const uint8_t *ns, uint8_t out[SG_NAME_MAX])
{
    static const uint8_t dsboot[] = "\7_dsboot", signal[] = "\7_signal";
    size_t cl = sg_name_len(c) - 1, nl = sg_name_len(ns); /* the child without its root */
    size_t len = 8 + cl + 8 + nl;
    if (len > SG_NAME_MAX)
        return SG_EINVAL;
    memcpy(out, dsboot, 8);
    memcpy(out + 8, c, cl);
    memcpy(out + 8 + cl, signal, 8);
    memcpy(out + 16 + cl, ns, nl);
    sg_name_lower(out);
    return 0;
}

void sg_signal_set_deinit(sg_signal_set *s)
{
    if (!s)
        return;
    sg_arena_deinit(&s->mem);
    free(s->rr);
    memset(s, 0, sizeof *s);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static int add_rrset(sg_signal_set *s, const uint8_t *owner, const sg_rrset *rs)
{
    const uint8_t *p = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++, p += 2 + sg_rdlen(p)) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 16;
            sg_signal_rr *nw = realloc(s->rr, nc * sizeof *nw);
            if (!nw)
                return SG_ENOMEM;
            s->rr = nw;
            s->cap = nc;
        }
        s->rr[s->n++] = (sg_signal_rr){ .owner = owner, .type = rs->type, .ttl = rs->ttl,
                                        .rdlen = sg_rdlen(p), .rdata = p + 2 };
        uint8_t t[6] = { (uint8_t)(rs->type >> 8), (uint8_t)rs->type, (uint8_t)(rs->ttl >> 24),
                         (uint8_t)(rs->ttl >> 16), (uint8_t)(rs->ttl >> 8), (uint8_t)rs->ttl };
        s->fingerprint = fnv(fnv(fnv(s->fingerprint, owner, sg_name_len(owner)), t, sizeof t),
                             p, 2u + sg_rdlen(p));
    }
    return 0;
}

/* RFC 8078 section 4's delete form: CDS 0 0 0 00, CDNSKEY 0 3 0 AA== (algorithm 0) */
static int is_delete(const sg_rrset *cds, const sg_rrset *cdnskey)
{
    if (cds->count && cds->rdata_len >= 2 + 3 && cds->rdata[2 + 2] == 0)
        return 1;
    return cdnskey->count && cdnskey->rdata_len >= 2 + 4 && cdnskey->rdata[2 + 3] == 0;
}

/* Would a record at owner be base's own data (not at or below one of its zone cuts)? */
static int authoritative_in(const sg_zone *base, const uint8_t *owner)
{
    for (const uint8_t *p = owner; sg_name_len(p) > base->apex_len; p = sg_name_parent(p)) {
        const sg_node *n = sg_zone_find(base, p, sg_name_len(p));
        if (n && (n->flags & (SG_NODE_DELEG | SG_NODE_NONAUTH)))
            return 0;
    }
    return 1;
}

/* The records one child gives base, appended to s. */
static int collect_child(const sg_zone *base, const child *c, sg_signal_set *s)
{
    sg_zone *v = NULL;
    if (sg_zonedb_acquire_apex(c->apex, &v))
        return 0; /* not loaded (yet): its NS names are unknown */
    const sg_rrset *ns = v->apex_node ? sg_node_rrset(v->apex_node, SG_TYPE_NS) : NULL;
    int rc = 0, any = 0;
    const uint8_t *p = ns ? ns->rdata : NULL;
    for (uint16_t i = 0; ns && i < ns->count && !any; i++, p += 2 + sg_rdlen(p))
        any = sg_name_is_sub(p + 2, base->apex) && !sg_name_is_sub(p + 2, c->apex);
    sg_rrset cds = { 0 }, cdnskey = { 0 };
    if (!any || c->src.records(c->src.self, c->apex, &s->mem, &cds, &cdnskey) ||
        (!cds.count && !cdnskey.count) || is_delete(&cds, &cdnskey))
        goto out;
    p = ns->rdata;
    for (uint16_t i = 0; i < ns->count && !rc; i++, p += 2 + sg_rdlen(p)) {
        const uint8_t *target = p + 2;
        if (!sg_name_is_sub(target, base->apex) || sg_name_is_sub(target, c->apex))
            continue;
        uint8_t owner[SG_NAME_MAX];
        if (sg_signal_owner(c->apex, target, owner) || !authoritative_in(base, owner))
            continue;
        uint8_t *o = sg_arena_dup(&s->mem, owner, sg_name_len(owner));
        if (!o) {
            rc = SG_ENOMEM;
            break;
        }
        if ((cds.count && (rc = add_rrset(s, o, &cds))) ||
            (cdnskey.count && (rc = add_rrset(s, o, &cdnskey))))
            break;
    }
out:
    sg_zonedb_release(v);
    return rc;
}

uint64_t sg_signal_state(void)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    sg_arena mem;
    sg_arena_init(&mem, 4096);
    pthread_mutex_lock(&g_lock);
    h = fnv(h, &g_changes, sizeof g_changes);
    for (size_t i = 0; i < g_n; i++) {
        const child *c = &g_children[i];
        sg_zone *v = NULL;
        uint64_t gen = sg_zonedb_acquire_apex(c->apex, &v) ? 0 : v->gen;
        sg_zonedb_release(v);
        h = fnv(h, &gen, sizeof gen);
        sg_rrset rs[2] = { { 0 }, { 0 } };
        if (c->src.records(c->src.self, c->apex, &mem, &rs[0], &rs[1]) == 0)
            for (int k = 0; k < 2; k++)
                if (rs[k].count)
                    h = fnv(fnv(h, &rs[k].ttl, sizeof rs[k].ttl), rs[k].rdata, rs[k].rdata_len);
        h = fnv(h, "|", 1);
        sg_arena_reset(&mem);
    }
    pthread_mutex_unlock(&g_lock);
    sg_arena_deinit(&mem);
    return h;
}

int sg_signal_collect(const sg_zone *base, sg_signal_set *out)
{
    if (!base || !out)
        return SG_EINVAL;
    memset(out, 0, sizeof *out);
    sg_arena_init_growing(&out->mem, 1 << 16);
    out->fingerprint = 0xcbf29ce484222325ULL;
    int rc = 0;
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_n && !rc; i++)
        rc = collect_child(base, &g_children[i], out);
    pthread_mutex_unlock(&g_lock);
    if (!out->n)
        out->fingerprint = 0;
    return rc;
}

int sg_signal_apply(const sg_zone *base, const sg_signal_set *s, sg_zone **zone_out)
{
    if (!base || !s || !zone_out)
        return SG_EINVAL;
    static const char what[] = "(signal records)";
    sg_zone_builder *b = sg_zone_builder_new(base->apex);
    if (!b)
        return SG_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < base->nnodes && !rc; i++) {
        const sg_node *n = &base->nodes[i];
        for (uint16_t j = 0; j < n->nrrsets && !rc; j++) {
            const sg_rrset *rs = &n->rrsets[j];
            const uint8_t *p = rs->rdata;
            for (uint16_t k = 0; k < rs->count && !rc; k++, p += 2 + sg_rdlen(p))
                rc = sg_zone_builder_add(b, n->name, rs->type, SG_CLASS_IN, rs->ttl, p + 2,
                                         sg_rdlen(p), base->path ? base->path : what, 0);
        }
    }
    for (size_t i = 0; i < s->n && !rc; i++)
        rc = sg_zone_builder_add(b, s->rr[i].owner, s->rr[i].type, SG_CLASS_IN, s->rr[i].ttl,
                                 s->rr[i].rdata, s->rr[i].rdlen, what, 0);
    if (rc) {
        sg_zone_builder_free(b);
        return rc;
    }
    sg_zone *z = NULL;
    if ((rc = sg_zone_builder_finish(b, &z)))
        return rc;
    if (base->path && !(z->path = strdup(base->path))) {
        sg_zone_free(z);
        return SG_ENOMEM;
    }
    z->loaded_at = base->loaded_at;
    *zone_out = z;
    return 0;
}
