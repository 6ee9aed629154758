/* SPDX-License-Identifier: MIT */
/* Query parsing and reply rendering: the hot path, so no allocation and no library calls. */
#include "common/wire.h"
#include "common/cookie.h"

#include <string.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static inline void wr32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff; p[3] = v & 0xff;
}

void sg_query_reset_reply(sg_query *q)
{
    q->rcode = 0;
    q->aa = q->tc = q->drop = 0;
    q->has_ede = 0;
    q->ede_code = 0;
    q->opt_at = 0;
    q->valid_until = 0;
    q->an.n = q->ns.n = q->ar.n = 0;
    q->kind = SG_KIND_NONE;
    q->zone = NULL;
    q->node = q->encloser = NULL;
    q->out_len = 0;
}

int sg_section_add(sg_section *s, const uint8_t *owner, const sg_rrset *rrset,
                   uint32_t ttl, uint16_t flags)
{
    if (s->n >= SG_SECTION_MAX)
        return -7; /* SG_ESPACE */
    sg_rr_ref *r = &s->refs[s->n++];
    r->owner = owner;
    r->rrset = rrset;
    r->ttl = ttl;
    r->flags = flags;
    r->source = NULL;
    return 0;
}

/* Skip a possibly compressed name, checking where its pointers lead: each must point
 * backwards (so no loop), and the whole name must be well formed and at most 255 bytes.
 * Returns the offset after the name in place, or 0 when malformed. */
static size_t skip_name(const uint8_t *pkt, size_t len, size_t off)
{
    size_t end = 0, total = 0, pos = off;
    for (int hops = 0; pos < len;) {
        uint8_t l = pkt[pos];
        if (l == 0)
            return end ? end : pos + 1;
        if ((l & 0xc0) == 0xc0) {
            if (pos + 2 > len)
                return 0;
            size_t target = ((size_t)(l & 0x3f) << 8) | pkt[pos + 1];
            if (!end)
                end = pos + 2;
            if (target >= pos || ++hops > 127)
                return 0;
            pos = target;
            continue;
        }
        if (l & 0xc0)
            return 0;
        total += l + 1u;
        if (total > 254)
            return 0;
        pos += l + 1u;
    }
    return 0;
}

/* The TSIG record whose type is at pkt[o]: class ANY, TTL 0, an uncompressed algorithm
 * name, then time (48 bits), fudge, MAC size and MAC, original id, error, other length
 * and other data, exactly filling its RDATA. */
static int tsig_well_formed(const uint8_t *pkt, size_t o, size_t rdl)
{
    if (rd16(pkt + o + 2) != 255 || rd16(pkt + o + 4) || rd16(pkt + o + 6))
        return 0;
    size_t p = o + 10, end = p + rdl;
    for (int labels = 0; p < end && pkt[p]; labels++) {
        if (pkt[p] > 63 || labels > 127)
            return 0; /* a pointer or a bad label: the algorithm name is never compressed */
        p += 1u + pkt[p];
    }
    if (p >= end)
        return 0;
    p++;
    if (p + 10 > end)
        return 0;
    size_t mac = rd16(pkt + p + 8);
    p += 10 + mac;
    if (p + 6 > end)
        return 0;
    size_t other = rd16(pkt + p + 4);
    return p + 6 + other == end;
}

/* Every field the parse sets, cleared first: a worker's query struct is reused. */
static void query_reset(sg_query *q, const uint8_t *pkt, size_t len, uint16_t max_udp)
{
    q->wire = pkt;
    q->wire_len = len;
    q->question_len = 0;
    q->has_edns = q->do_bit = q->edns_version = 0;
    q->cookie_len = q->cookie_valid = 0;
    q->tsig_at = 0;
    q->edns_payload = 0;
    q->qname_len = 0;
    q->qname[0] = 0;
    q->qlabels = 0;
    q->qtype = q->qclass = 0;
    q->server_payload = max_udp;
    q->max_size = q->transport == SG_TRANSPORT_UDP ? 512 : 65535;
    sg_query_reset_reply(q);
}

static enum sg_parse_result formerr(sg_query *q, int question_ok)
{
    if (!question_ok)
        q->question_len = 0;
    q->rcode = SG_RCODE_FORMERR;
    return SG_PARSE_ERROR;
}

/* The one question at off: its name lower-cased into q. Returns the offset after it, or 0
 * when malformed. */
static size_t parse_question(sg_query *q, const uint8_t *pkt, size_t len, size_t off)
{
    size_t o = off, nl = 0;
    uint8_t labels = 0;
    for (;;) {
        if (o >= len)
            return 0;
        uint8_t l = pkt[o];
        if (l & 0xc0)
            return 0; /* no pointers or extended labels in a question */
        if (nl + l + 1 > SG_NAME_MAX)
            return 0;
        if (o + 1 + l > len)
            return 0;
        q->qname[nl++] = l;
        for (uint8_t i = 0; i < l; i++) {
            uint8_t c = pkt[o + 1 + i];
            q->qname[nl++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        }
        o += l + 1;
        if (l == 0)
            break;
        labels++;
    }
    if (o + 4 > len)
        return 0;
    q->qname_len = (uint8_t)nl;
    q->qlabels = labels;
    q->qtype = rd16(pkt + o);
    q->qclass = rd16(pkt + o + 2);
    o += 4;
    q->question_len = (uint16_t)(o - off);
    return o;
}

/* Answer and authority are only for other opcodes: n records skipped to reach OPT.
 * Returns the offset after them, or 0 when malformed. */
static size_t skip_records(const uint8_t *pkt, size_t len, size_t off, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        size_t o = skip_name(pkt, len, off);
        if (!o || o + 10 > len)
            return 0;
        size_t rdl = rd16(pkt + o + 8);
        if (o + 10 + rdl > len || rd16(pkt + o) == SG_TYPE_TSIG)
            return 0; /* RFC 8945 5.1: a TSIG anywhere but last in additional */
        off = o + 10 + rdl;
    }
    return off;
}

/* The OPT record whose type is at pkt[o]: payload, version, DO, and a client cookie; its
 * options must be well formed. -1 when they are not. */
static int parse_opt(sg_query *q, const uint8_t *pkt, size_t o, size_t rdl)
{
    q->has_edns = 1;
    q->edns_payload = rd16(pkt + o + 2);
    q->edns_version = pkt[o + 5];
    q->do_bit = (rd16(pkt + o + 6) & SG_EDNS_DO) != 0;
    size_t p = o + 10, end = o + 10 + rdl;
    while (p < end) {
        if (p + 4 > end || p + 4 + rd16(pkt + p + 2) > end)
            return -1;
        uint16_t code = rd16(pkt + p), olen = rd16(pkt + p + 2);
        if (code == SG_COOKIE_OPTION) {
            /* RFC 7873 5.2.2: 8 (client) or 16..40 (client and server) octets,
             * anything else is FORMERR */
            if (olen != 8 && (olen < 16 || olen > 40))
                return -1;
            q->cookie_len = (uint8_t)olen;
            memcpy(q->cookie, pkt + p + 4, olen);
        }
        p += 4u + olen;
    }
    return 0;
}

/* The additional section's ar records at off: OPT read, TSIG checked for its place and
 * form. Returns the offset after them, or 0 when malformed. */
static size_t parse_additional(sg_query *q, const uint8_t *pkt, size_t len, size_t off,
                               unsigned ar)
{
    int opt_seen = 0;
    for (unsigned i = 0; i < ar; i++) {
        size_t o = skip_name(pkt, len, off);
        if (!o || o + 10 > len)
            return 0;
        uint16_t type = rd16(pkt + o);
        size_t rdl = rd16(pkt + o + 8);
        if (o + 10 + rdl > len)
            return 0;
        /* RFC 8945 5.1: one TSIG, the last record, class ANY, TTL 0, its fields intact;
         * anything else is FORMERR, not a message whose TSIG is ignored */
        if (type == SG_TYPE_TSIG && (i != ar - 1u || !tsig_well_formed(pkt, o, rdl)))
            return 0;
        if (type == SG_TYPE_TSIG)
            q->tsig_at = (uint16_t)off;
        if (type == SG_TYPE_OPT) {
            if (opt_seen || o != off + 1 || pkt[off] != 0)
                return 0; /* RFC 6891: one OPT, owner root */
            opt_seen = 1;
            if (parse_opt(q, pkt, o, rdl))
                return 0;
        }
        off = o + 10 + rdl;
    }
    return off;
}

/* A well-formed message: is it a query (or NOTIFY) we answer, and how large may the
 * reply be? */
static enum sg_parse_result check_query(sg_query *q, uint16_t max_udp, int question_ok,
                                        uint16_t an, uint16_t ns)
{
    if (q->has_edns) {
        uint16_t p = q->edns_payload < 512 ? 512 : q->edns_payload;
        if (q->transport == SG_TRANSPORT_UDP)
            q->max_size = p < max_udp ? p : max_udp;
        if (q->edns_version != 0) {
            q->rcode = SG_RCODE_BADVERS;
            return SG_PARSE_ERROR;
        }
    }
    if (q->opcode == SG_OPCODE_NOTIFY) {
        /* RFC 1996: the zone in the question, maybe its new SOA in the answer; whether
         * anyone takes it is decided once the zone is known */
        if (!question_ok || ns)
            return formerr(q, question_ok);
        return SG_PARSE_OK;
    }
    if (q->opcode == SG_OPCODE_UPDATE) {
        /* RFC 2136 3.1.1: one zone, in the question; its prerequisites and updates (answer
         * and authority) are read by whoever takes it */
        if (!question_ok)
            return formerr(q, question_ok);
        return SG_PARSE_OK;
    }
    if (q->opcode != 0) {
        q->rcode = SG_RCODE_NOTIMP;
        return SG_PARSE_ERROR;
    }
    if (!question_ok || an || (ns && !(q->qtype == SG_TYPE_IXFR && ns == 1)))
        return formerr(q, question_ok); /* RFC 1995: an IXFR query carries the client's SOA in authority */
    if (q->qtype == SG_TYPE_OPT || q->qtype == SG_TYPE_TSIG)
        return formerr(q, question_ok);
    return SG_PARSE_OK;
}

enum sg_parse_result sg_wire_parse_query(sg_query *q, const uint8_t *pkt, size_t len,
                                         uint16_t max_udp)
{
    query_reset(q, pkt, len, max_udp);
    if (len < SG_HEADER_LEN)
        return SG_PARSE_DROP;
    q->id = rd16(pkt);
    q->hflags = rd16(pkt + 2);
    q->opcode = (q->hflags >> 11) & 0xf;
    if (q->hflags & SG_FLAG_QR)
        return SG_PARSE_DROP;
    uint16_t qd = rd16(pkt + 4), an = rd16(pkt + 6), ns = rd16(pkt + 8), ar = rd16(pkt + 10);
    size_t off = SG_HEADER_LEN;
    int question_ok = 0;
    if (qd == 1) {
        if (!(off = parse_question(q, pkt, len, off)))
            return formerr(q, 0);
        question_ok = 1;
    }
    if (!(off = skip_records(pkt, len, off, (unsigned)an + ns)) ||
        !(off = parse_additional(q, pkt, len, off, ar)) || off != len)
        return formerr(q, question_ok); /* off != len: trailing garbage */
    return check_query(q, max_udp, question_ok, an, ns);
}

/* ---- rendering ---------------------------------------------------------------- */

#define CT_MAX 96

typedef struct writer {
    uint8_t *buf;
    size_t cap;   /* hard limit: min(out_cap, max_size - reserved) */
    size_t len;
    uint16_t ct_off[CT_MAX];
    uint8_t ct_labels[CT_MAX];
    int ct_n;
} writer;

static inline uint8_t lc(uint8_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Does the name at packet offset off (possibly compressed) equal the uncompressed suffix? */
static int ct_match(const writer *w, size_t off, const uint8_t *name)
{
    const uint8_t *b = w->buf;
    for (int hops = 0; hops < 64;) {
        uint8_t l = b[off];
        if ((l & 0xc0) == 0xc0) {
            off = ((l & 0x3f) << 8) | b[off + 1];
            hops++;
            continue;
        }
        if (l != *name)
            return 0;
        if (l == 0)
            return 1;
        for (uint8_t i = 1; i <= l; i++)
            if (lc(b[off + i]) != lc(name[i]))
                return 0;
        off += l + 1;
        name += l + 1;
    }
    return 0;
}

static void ct_add(writer *w, size_t off, uint8_t labels)
{
    if (w->ct_n < CT_MAX && off < 0x4000) {
        w->ct_off[w->ct_n] = (uint16_t)off;
        w->ct_labels[w->ct_n] = labels;
        w->ct_n++;
    }
}

/* Write a name with compression; returns 0 or -1 when it does not fit. */
static int put_name(writer *w, const uint8_t *name)
{
    uint8_t offs[SG_LABELS_MAX];
    int n = sg_name_label_offsets(name, offs);
    int match = -1, at = n;
    for (int i = 0; i < n && match < 0; i++) {
        uint8_t want = (uint8_t)(n - i);
        for (int k = 0; k < w->ct_n; k++) {
            if (w->ct_labels[k] == want && ct_match(w, w->ct_off[k], name + offs[i])) {
                match = k;
                at = i;
                break;
            }
        }
    }
    size_t need = (at < n ? offs[at] : sg_name_len(name)) + (match >= 0 ? 2 : 0);
    if (w->len + need > w->cap)
        return -1;
    size_t start = w->len;
    size_t plain = at < n ? offs[at] : sg_name_len(name);
    memcpy(w->buf + w->len, name, plain);
    w->len += plain;
    if (match >= 0) {
        wr16(w->buf + w->len, 0xc000 | w->ct_off[match]);
        w->len += 2;
    }
    for (int i = 0; i < at; i++)
        ct_add(w, start + offs[i], (uint8_t)(n - i));
    return 0;
}

/* Write RDATA, compressing the names of the RFC 1035 types (RFC 3597 section 4). */
static int put_rdata(writer *w, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
    size_t name_at = 0;
    int names = 0;
    switch (type) {
    case SG_TYPE_NS: case SG_TYPE_CNAME: case SG_TYPE_PTR:
        names = 1; break;
    case SG_TYPE_MX:
        names = 1; name_at = 2; break;
    case SG_TYPE_SOA:
        names = 2; break;
    default:
        break;
    }
    if (!names) {
        if (w->len + rdlen > w->cap)
            return -1;
        memcpy(w->buf + w->len, rd, rdlen);
        w->len += rdlen;
        return 0;
    }
    if (w->len + name_at > w->cap)
        return -1;
    memcpy(w->buf + w->len, rd, name_at);
    w->len += name_at;
    size_t p = name_at;
    for (int i = 0; i < names; i++) {
        if (put_name(w, rd + p))
            return -1;
        p += sg_name_len(rd + p);
    }
    if (w->len + (rdlen - p) > w->cap)
        return -1;
    memcpy(w->buf + w->len, rd + p, rdlen - p);
    w->len += rdlen - p;
    return 0;
}

/* Write a whole RRset; on overflow rolls back and returns -1. */
static int put_rrset(writer *w, const sg_rr_ref *ref, uint16_t qclass, uint16_t *count)
{
    size_t save = w->len;
    int save_ct = w->ct_n;
    const sg_rrset *rs = ref->rrset;
    const uint8_t *p = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t rdlen = sg_rdlen(p);
        if (put_name(w, ref->owner))
            goto undo;
        if (w->len + 10 > w->cap)
            goto undo;
        uint8_t *h = w->buf + w->len;
        wr16(h, rs->type);
        wr16(h + 2, qclass);
        wr32(h + 4, ref->ttl);
        w->len += 10;
        size_t rd_start = w->len;
        if (put_rdata(w, rs->type, p + 2, rdlen))
            goto undo;
        wr16(h + 8, (uint16_t)(w->len - rd_start));
        p += 2 + rdlen;
    }
    *count += rs->count;
    return 0;
undo:
    w->len = save;
    w->ct_n = save_ct;
    return -1;
}

void sg_wire_render(sg_query *q)
{
    writer w;
    size_t limit = q->max_size;
    int ede = q->has_edns && q->has_ede;
    size_t opt_len = q->has_edns ? 11u + (ede ? 6u : 0u) : 0;
    if (limit > q->out_cap)
        limit = q->out_cap;
    w.buf = q->out;
    w.cap = limit - opt_len;
    w.ct_n = 0;
    w.len = SG_HEADER_LEN;

    uint16_t counts[3] = { 0, 0, 0 };
    uint16_t qd = 0;
    if (q->question_len && (size_t)SG_HEADER_LEN + q->question_len <= w.cap) {
        memcpy(w.buf + SG_HEADER_LEN, q->wire + SG_HEADER_LEN, q->question_len);
        w.len += q->question_len;
        qd = 1;
        /* every suffix of the question name can be pointed to */
        size_t off = 0;
        for (uint8_t l = q->qlabels; l > 0; l--) {
            ct_add(&w, SG_HEADER_LEN + off, l);
            off += q->qname[off] + 1u;
        }
    }
    size_t after_question = w.len;
    int after_ct = w.ct_n;
    const sg_section *secs[3] = { &q->an, &q->ns, &q->ar };
    uint16_t qclass = q->qclass ? q->qclass : SG_CLASS_IN;
    if (qclass == SG_CLASS_ANY)
        qclass = SG_CLASS_IN;
    int tc = q->tc;
    for (int s = 0; s < 3 && !tc; s++) {
        for (uint16_t i = 0; i < secs[s]->n; i++) {
            const sg_rr_ref *ref = &secs[s]->refs[i];
            if (put_rrset(&w, ref, qclass, &counts[s]) == 0)
                continue;
            if (s < 2 || (ref->flags & SG_REF_REQUIRED)) {
                tc = 1;
                w.len = after_question;
                w.ct_n = after_ct;
                counts[0] = counts[1] = counts[2] = 0;
            }
            break; /* additional data that does not fit is just left out */
        }
    }

    uint8_t *h = w.buf;
    uint16_t flags = SG_FLAG_QR | (q->hflags & (0x7800 | SG_FLAG_RD | SG_FLAG_CD));
    if (q->aa)
        flags |= SG_FLAG_AA;
    if (tc)
        flags |= SG_FLAG_TC;
    flags |= q->rcode & 0xf;
    wr16(h, q->id);
    wr16(h + 2, flags);
    wr16(h + 4, qd);
    wr16(h + 6, counts[0]);
    wr16(h + 8, counts[1]);
    uint16_t ar = counts[2];
    if (q->has_edns) {
        uint8_t *o = w.buf + w.len;
        o[0] = 0;
        wr16(o + 1, SG_TYPE_OPT);
        wr16(o + 3, q->server_payload);
        o[5] = (uint8_t)(q->rcode >> 4);
        o[6] = 0; /* version */
        wr16(o + 7, q->do_bit ? SG_EDNS_DO : 0);
        wr16(o + 9, ede ? 6 : 0);
        q->opt_at = (uint16_t)w.len;
        w.len += 11;
        if (ede) {
            /* RFC 8914 2: option 15, INFO-CODE, no EXTRA-TEXT (the code says it all) */
            wr16(o + 11, SG_EDNS_EDE);
            wr16(o + 13, 2);
            wr16(o + 15, q->ede_code);
            w.len += 6;
        }
        ar++;
    }
    wr16(h + 10, ar);
    q->tc = (uint8_t)tc;
    q->out_len = w.len;
}
