/* SPDX-License-Identifier: MIT */
/* AXFR (RFC 5936) and IXFR (RFC 1995) replies as a stream of messages, each TSIG-signed
 * when the request was (RFC 8945 5.3.1), rendered from a version or journal diffs that
 * the stream holds references to, so that reloads and new versions do not disturb it. */
#include "transfer/stream.h"
#include "common/errors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = (v >> 16) & 0xff;
    p[2] = (v >> 8) & 0xff;
    p[3] = v & 0xff;
}

/* The records in order: AXFR is SOA, everything else, SOA; IXFR is SOA(new), then per
 * diff SOA(from), deleted, SOA(to), added, then SOA(new); a current secondary gets the
 * SOA alone. */
static const sg_xfr_rr *next_rr(sg_xfr_stream *s)
{
    const sg_xfr_snap *v = s->snap;
    const sg_xfr_rr *soa = &v->rrs[v->soa_index];
    switch (s->mode) {
    case SG_XFR_SOA_ONLY:
        return s->pos++ == 0 ? soa : NULL;
    case SG_XFR_AXFR:
        if (s->pos == 0) {
            s->pos = 1;
            return soa;
        }
        while (s->pos - 1 < v->n) {
            size_t i = s->pos - 1;
            s->pos++;
            if (i != v->soa_index)
                return &v->rrs[i];
        }
        if (s->pos - 1 == v->n) {
            s->pos++;
            return soa;
        }
        return NULL;
    case SG_XFR_IXFR:
        if (s->pos == 0) {
            s->pos = 1;
            return soa;
        }
        while (s->di < s->nd) {
            const sg_xfr_diff *d = s->diffs[s->di];
            size_t p = s->pos - 1; /* 0: SOA from, 1..ndel, ndel+1: SOA to, then added */
            s->pos++;
            if (p == 0)
                return &d->soa_from;
            if (p <= d->ndel)
                return &d->del[p - 1];
            if (p == d->ndel + 1)
                return &d->soa_to;
            if (p - d->ndel - 2 < d->nadd)
                return &d->add[p - d->ndel - 2];
            s->di++;
            s->pos = 1;
        }
        if (s->pos == 1) {
            s->pos = 2;
            return soa;
        }
        return NULL;
    }
    return NULL;
}

/* Write one record at m[off]; 0 when it does not fit before limit. */
static size_t put_rr(sg_xfr_stream *s, uint8_t *m, size_t off, size_t limit, const sg_xfr_rr *r)
{
    size_t ol = sg_name_len(r->owner);
    size_t al = sg_name_len(s->snap_apex);
    uint8_t name[SG_NAME_MAX + 2];
    size_t nl;
    if (s->last_owner_off && s->last_owner == r->owner) {
        /* the same owner as the record before it in this message */
        name[0] = 0xc0 | (uint8_t)(s->last_owner_off >> 8);
        name[1] = (uint8_t)s->last_owner_off;
        nl = 2;
    } else if (s->q_is_apex && ol >= al && sg_name_eq(r->owner + ol - al, s->snap_apex)) {
        /* labels above the apex, then a pointer to the question's name */
        nl = ol - al;
        memcpy(name, r->owner, nl);
        name[nl] = 0xc0;
        name[nl + 1] = 12;
        nl += 2;
    } else {
        memcpy(name, r->owner, ol);
        nl = ol;
    }
    size_t need = nl + 10 + r->rdlen;
    if (off + need > limit)
        return 0;
    if (nl > 2 || name[0] < 0xc0) {
        s->last_owner = r->owner;
        s->last_owner_off = off < 0x3fff ? off : 0;
    }
    memcpy(m + off, name, nl);
    uint8_t *p = m + off + nl;
    wr16(p, r->type);
    wr16(p + 2, SG_CLASS_IN);
    wr32(p + 4, r->ttl);
    wr16(p + 8, r->rdlen);
    memcpy(p + 10, r->rdata, r->rdlen);
    return need;
}

long sg_xfr_stream_next(void *ctx, uint8_t *out, size_t cap)
{
    sg_xfr_stream *s = ctx;
    if (s->finished)
        return 0;
    size_t reserve = s->signed_ ? sg_tsig_rr_size(s->key) : 0;
    if (cap < 12 + s->qlen + reserve + 64)
        return SG_ESPACE;
    size_t limit = cap - reserve;
    memset(out, 0, 12);
    wr16(out, s->id);
    out[2] = 0x84; /* QR, AA */
    out[5] = 1;
    memcpy(out + 12, s->question, s->qlen);
    size_t off = 12 + s->qlen;
    s->last_owner = NULL;
    s->last_owner_off = 0;
    unsigned count = 0;
    for (;;) {
        const sg_xfr_rr *r = s->pending ? s->pending : next_rr(s);
        s->pending = NULL;
        if (!r) {
            s->finished = 1;
            break;
        }
        size_t w = put_rr(s, out, off, limit, r);
        if (!w) {
            if (!count) {
                sg_log(SG_LOG_ERR, "transfer", s->zone, "a record does not fit in a message");
                return SG_ESPACE;
            }
            s->pending = r;
            break;
        }
        off += w;
        count++;
    }
    wr16(out + 6, (uint16_t)count);
    s->records += count;
    s->messages++;
    if (s->signed_) {
        int rc = sg_tsig_sign(&s->tc, out, &off, cap, (uint64_t)time(NULL));
        if (rc)
            return rc;
    }
    s->bytes += off;
    return (long)off;
}

void sg_xfr_stream_free(void *ctx)
{
    sg_xfr_stream *s = ctx;
    if (!s)
        return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double ms = (double)(t.tv_sec - s->t0.tv_sec) * 1e3 + (double)(t.tv_nsec - s->t0.tv_nsec) / 1e6;
    if (s->kind[0]) /* SOA replies (kind "") are too frequent to log */
        sg_log(SG_LOG_INFO, "transfer", s->zone, "%s to %s serial %u: %s%zu records, %zu "
               "messages, %zu bytes in %.0f ms", s->kind, s->peer, s->snap->serial,
               s->finished ? "" : "aborted after ", s->records, s->messages, s->bytes, ms);
    sg_xfr_snap_unref(s->snap);
    for (size_t i = 0; i < s->nd; i++)
        sg_xfr_diff_unref(s->diffs[i]);
    free(s->diffs);
    sg_tsig_ctx_deinit(&s->tc);
    sg_tsig_key_free(s->key);
    free(s);
}

sg_xfr_stream *sg_xfr_stream_new(sg_xfr_snap *snap, enum sg_xfr_mode mode, sg_xfr_diff **diffs,
                                 size_t nd, const sg_query *q, const sg_tsig_ctx *tc,
                                 const char *kind, const char *peer)
{
    sg_xfr_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &s->t0);
    s->snap = snap;
    s->mode = mode;
    s->diffs = diffs;
    s->nd = nd;
    s->id = q->id;
    s->qlen = q->question_len;
    memcpy(s->question, q->wire + 12, s->qlen);
    const uint8_t *apex = snap->rrs[snap->soa_index].owner;
    memcpy(s->snap_apex, apex, sg_name_len(apex));
    /* compress to the question's name only when it is the apex byte for byte */
    s->q_is_apex = s->qlen > 4 && s->qlen - 4 == sg_name_len(apex) &&
                   !memcmp(s->question, apex, s->qlen - 4);
    sg_name_to_str(apex, s->zone, sizeof s->zone);
    snprintf(s->kind, sizeof s->kind, "%s", kind);
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    if (tc && tc->key) {
        s->key = sg_tsig_key_dup(tc->key);
        if (!s->key) {
            free(s);
            return NULL;
        }
        s->tc = *tc;
        s->tc.key = s->key;
        s->tc.pending = NULL;
        s->signed_ = 1;
    }
    return s;
}
