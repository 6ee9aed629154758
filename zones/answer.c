/* SPDX-License-Identifier: MIT */
/* Authoritative answers (RFC 1034 4.3.2, RFC 4592 wildcards, RFC 6604 CNAME chains,
 * RFC 8482 ANY): fills the query's sections with references into the zone. */
#include "zones/zone.h"
#include "common/wire.h"

#define CNAME_CHAIN_MAX 8

/* Name of the target in an NS, MX, SRV, SVCB, HTTPS or CNAME record's RDATA. */
static const uint8_t *rdata_target(uint16_t type, const uint8_t *rd)
{
    switch (type) {
    case SG_TYPE_NS: case SG_TYPE_CNAME: return rd;
    case SG_TYPE_MX: case SG_TYPE_SVCB: case SG_TYPE_HTTPS: return rd + 2;
    case SG_TYPE_SRV: return rd + 6;
    default: return NULL;
    }
}

static int wants_additional(uint16_t type)
{
    return type == SG_TYPE_NS || type == SG_TYPE_MX || type == SG_TYPE_SRV ||
           type == SG_TYPE_SVCB || type == SG_TYPE_HTTPS;
}

static void add_addresses(sg_query *q, const sg_node *n, uint16_t flags)
{
    for (uint16_t i = 0; i < n->nrrsets; i++) {
        const sg_rrset *rs = &n->rrsets[i];
        if (rs->type == SG_TYPE_A || rs->type == SG_TYPE_AAAA) {
            /* the same target may be named twice (MX and NS): add once */
            int dup = 0;
            for (uint16_t k = 0; k < q->ar.n; k++)
                if (q->ar.refs[k].rrset == rs)
                    dup = 1;
            if (!dup)
                sg_section_add(&q->ar, n->name, rs, rs->ttl, flags);
        }
    }
}

/* A/AAAA for the targets of NS, MX, SRV (RFC 1034 3.6.2) and SVCB/HTTPS (RFC 9460 4.2)
 * records in the zone; owner: the RRset's owner, which an SVCB target "." names. */
static void additional_for(const sg_zone *z, sg_query *q, const sg_rrset *rs, const sg_node *cut,
                           const uint8_t *owner)
{
    const uint8_t *p = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++, p += 2 + sg_rdlen(p)) {
        const uint8_t *t = rdata_target(rs->type, p + 2);
        /* ServiceMode with TargetName "." is the owner itself (RFC 9460 2.5.2) */
        if (t && (rs->type == SG_TYPE_SVCB || rs->type == SG_TYPE_HTTPS) && t[0] == 0 &&
            (p[2] | p[3]) != 0)
            t = owner;
        if (!t || !sg_name_is_sub(t, z->apex))
            continue;
        const sg_node *tn = sg_zone_find(z, t, sg_name_len(t));
        if (!tn)
            continue;
        if (cut) {
            /* glue for a referral: in-domain glue is required (RFC 9471) */
            int below = (tn->flags & (SG_NODE_NONAUTH | SG_NODE_DELEG)) && tn->cut == cut;
            add_addresses(q, tn, SG_REF_GLUE | (below ? SG_REF_REQUIRED : 0));
        } else if (!(tn->flags & SG_NODE_NONAUTH)) {
            add_addresses(q, tn, 0);
        }
    }
}

static void referral(const sg_zone *z, sg_query *q, const sg_node *cut)
{
    const sg_rrset *ns = sg_node_rrset(cut, SG_TYPE_NS);
    q->aa = 0;
    q->kind = SG_KIND_DELEGATION;
    q->node = cut;
    sg_section_add(&q->ns, cut->name, ns, ns->ttl, SG_REF_GLUE);
    /* RFC 4035 3.1.4: the DS goes with a referral only for a resolver that asked for
     * DNSSEC records (DO), as Knot and BIND do */
    const sg_rrset *ds = sg_node_rrset(cut, SG_TYPE_DS);
    if (ds && q->do_bit)
        sg_section_add(&q->ns, cut->name, ds, ds->ttl, 0);
    additional_for(z, q, ns, cut, cut->name);
}

/* RFC 1034 4.3.2 step 3b for a CNAME chain that enters a child zone: the referral to the
 * child goes with the CNAMEs (as Knot gives it), and the answer stays authoritative. */
static void referral_after_cname(const sg_zone *z, sg_query *q, const sg_node *cut)
{
    const sg_rrset *ns = sg_node_rrset(cut, SG_TYPE_NS);
    sg_section_add(&q->ns, cut->name, ns, ns->ttl, SG_REF_GLUE);
    const sg_rrset *ds = sg_node_rrset(cut, SG_TYPE_DS);
    if (ds && q->do_bit)
        sg_section_add(&q->ns, cut->name, ds, ds->ttl, 0);
    additional_for(z, q, ns, cut, cut->name);
}

static void negative(const sg_zone *z, sg_query *q, int nxdomain)
{
    if (nxdomain)
        q->rcode = SG_RCODE_NXDOMAIN;
    sg_section_add(&q->ns, z->apex, z->soa, z->neg_ttl, 0);
}

/* RFC 8482: answer ANY with one RRset of the node rather than all of them. */
static const sg_rrset *any_pick(const sg_node *n)
{
    for (uint16_t i = 0; i < n->nrrsets; i++) {
        uint16_t t = n->rrsets[i].type;
        if (t != SG_TYPE_RRSIG && t != SG_TYPE_NSEC && t != SG_TYPE_NSEC3)
            return &n->rrsets[i];
    }
    return NULL;
}

void sg_zone_answer(const sg_zone *z, sg_query *q)
{
    const uint8_t *name = q->qname;
    size_t len = q->qname_len;
    const uint16_t qtype = q->qtype;
    q->zone = z;
    q->aa = 1;
    q->rcode = SG_RCODE_NOERROR;
    for (int hops = 0;; hops++) {
        const sg_node *n = sg_zone_find(z, name, len);
        const sg_node *ce = n;
        if (!n) {
            const uint8_t *p = name;
            size_t l = len;
            do {
                l -= p[0] + 1u;
                p += p[0] + 1u;
                ce = sg_zone_find(z, p, l);
            } while (!ce && l > z->apex_len);
            if (!ce)
                ce = z->apex_node;
        }

        /* zone cuts: at or above the name, except DS which the parent side answers */
        if (ce->flags & (SG_NODE_DELEG | SG_NODE_NONAUTH)) {
            int ds_at_cut = n && (n->flags & SG_NODE_DELEG) && qtype == SG_TYPE_DS;
            if (!ds_at_cut) {
                if (hops == 0)
                    referral(z, q, ce->cut);
                else
                    referral_after_cname(z, q, ce->cut);
                return;
            }
        }

        const sg_node *src = n;  /* the node holding the data */
        const uint8_t *owner = name;
        int synth = 0;
        if (!n) {
            if (!ce->wildcard) {
                q->kind = SG_KIND_NXDOMAIN;
                q->node = NULL;
                q->encloser = ce;
                negative(z, q, 1);
                return;
            }
            src = ce->wildcard;
            synth = 1;
            q->encloser = ce;
        }
        q->node = src;

        const sg_rrset *rs = qtype == SG_TYPE_ANY ? any_pick(src) : sg_node_rrset(src, qtype);
        if (rs) {
            sg_section_add(&q->an, owner, rs, rs->ttl, synth ? SG_REF_SYNTH : 0);
            if (synth)
                q->an.refs[q->an.n - 1].source = src->name;
            q->kind = synth ? SG_KIND_WILDCARD : SG_KIND_ANSWER;
            if (wants_additional(rs->type))
                additional_for(z, q, rs, NULL, owner);
            return;
        }
        const sg_rrset *cn = sg_node_rrset(src, SG_TYPE_CNAME);
        if (cn && qtype != SG_TYPE_CNAME) {
            /* a loop ends when a CNAME repeats */
            for (uint16_t k = 0; k < q->an.n; k++)
                if (q->an.refs[k].rrset == cn)
                    return;
            sg_section_add(&q->an, owner, cn, cn->ttl, synth ? SG_REF_SYNTH : 0);
            if (synth)
                q->an.refs[q->an.n - 1].source = src->name;
            q->kind = synth ? SG_KIND_WILDCARD : SG_KIND_ANSWER;
            const uint8_t *target = cn->rdata + 2;
            if (!sg_name_is_sub(target, z->apex) || hops + 1 >= CNAME_CHAIN_MAX)
                return;
            name = target;
            len = sg_name_len(target);
            continue;
        }
        q->kind = synth ? SG_KIND_WILDCARD_NODATA : SG_KIND_NODATA;
        negative(z, q, 0);
        return;
    }
}

/* Better match for q: the longest zone containing the name, except that the DS at a zone's
 * apex belongs to the parent zone when the parent is served too. */
int sg_zone_better_match(const sg_zone *z, const sg_zone *best, const sg_query *q)
{
    if (z->apex_labels > q->qlabels || !sg_name_is_sub(q->qname, z->apex))
        return 0;
    if (!best)
        return 1;
    int ds_at_apex = q->qtype == SG_TYPE_DS && z->apex_labels == q->qlabels && z->apex_labels > 0;
    int best_ds_at_apex = q->qtype == SG_TYPE_DS && best->apex_labels == q->qlabels;
    if (best_ds_at_apex && !ds_at_apex)
        return 1;
    if (ds_at_apex && !best_ds_at_apex)
        return 0;
    return z->apex_labels > best->apex_labels;
}
