/* SPDX-License-Identifier: MIT */
/* One message from bytes to reply: parse, answer the cases no zone owns, route to the
 * zone's chain, turn chain failures into SERVFAIL, render. */
#include "daemon/server.h"
#include "daemon/plugins.h"
#include "daemon/tsig_query.h"
#include "common/arena.h"
#include "common/cookie.h"
#include "common/wire.h"

#include <string.h>
#include <time.h>

static int hands_out_zones(const sg_handler *h)
{
    for (; h; h = h->next)
        if (h->plugin->flags & SG_PLUGIN_TRANSFERS)
            return 1;
    return 0;
}

size_t sg_server_answer(const sg_runtime *rt, int listen_idx, sg_query *q,
                        const uint8_t *pkt, size_t len)
{
    if (q->arena)
        sg_arena_reset(q->arena);
    q->stream = (sg_stream){ 0 };
    q->before_sign = NULL;
    q->limited = 0;
    enum sg_parse_result pr = sg_wire_parse_query(q, pkt, len, rt->opt.udp_max_payload);
    if (pr == SG_PARSE_DROP)
        return 0;
    if (pr == SG_PARSE_ERROR) {
        sg_wire_render(q);
        sg_prometheus_unrouted(NULL, q);
        return q->out_len;
    }
    uint32_t now = q->cookie_len ? (uint32_t)time(NULL) : 0;
    if (q->cookie_len)
        sg_cookie_check(q, now); /* before the chain: rate limiting exempts a valid one */
    /* a reply larger than the operator allows is truncated (TC=1) on every transport;
     * transfers stream their own messages */
    if (q->max_size > rt->opt.max_answer_size && q->qtype != SG_TYPE_AXFR && q->qtype != SG_TYPE_IXFR)
        q->max_size = rt->opt.max_answer_size;
    /* a signed query is checked before anything answers it (RFC 8945 5.2) */
    uint64_t tsig_now = q->tsig_at ? (uint64_t)time(NULL) : 0;
    sg_tsigq tq;
    sg_tsigq_check(&tq, rt->tsig, q, tsig_now);
    sg_handler *chain = NULL, *routed = NULL;
    if (tq.state == SG_TSIGQ_REJECTED)
        ; /* NOTAUTH with the TSIG error, or FORMERR: no chain sees it */
    else if (q->qclass != SG_CLASS_IN)
        q->rcode = SG_RCODE_REFUSED;
    else if (q->qtype == SG_TYPE_MAILA || q->qtype == SG_TYPE_MAILB)
        q->rcode = SG_RCODE_NOTIMP;
    else if (!(chain = routed = sg_runtime_route(rt, listen_idx, q)))
        q->rcode = q->opcode == SG_OPCODE_NOTIFY ? SG_RCODE_NOTIMP
                   : q->opcode == SG_OPCODE_UPDATE ? SG_RCODE_NOTAUTH /* RFC 2136 3.1.1 */
                                                   : SG_RCODE_REFUSED;
    else if ((q->qtype == SG_TYPE_AXFR || q->qtype == SG_TYPE_IXFR) && !hands_out_zones(chain)) {
        q->rcode = SG_RCODE_REFUSED; /* only a plugin that says so hands zones out */
        chain = NULL;
    }
    if (chain && q->opcode == SG_OPCODE_NOTIFY) {
        /* only a plugin that takes NOTIFY (a zone fed by transfers) sees it */
        sg_handler *h = chain;
        while (h && !h->plugin->notify)
            h = h->next;
        if (h)
            h->plugin->notify(h->state, q);
        else
            q->rcode = SG_RCODE_NOTIMP;
        chain = NULL;
    }
    if (chain && q->opcode == SG_OPCODE_UPDATE) {
        /* as NOTIFY: only a plugin that takes UPDATE (`update`) sees it */
        sg_handler *h = chain;
        while (h && !h->plugin->update)
            h = h->next;
        if (h)
            h->plugin->update(h->state, q);
        else
            q->rcode = SG_RCODE_NOTIMP;
        chain = NULL;
    }
    if (chain) {
        int rc = chain->plugin->handle(chain, q);
        if (rc == SG_ENOHANDLER) {
            q->rcode = SG_RCODE_REFUSED;
        } else if (rc < 0) {
            q->rcode = SG_RCODE_SERVFAIL;
            q->an.n = q->ns.n = q->ar.n = 0;
            q->out_len = 0;
        }
    }
    if (q->stream.next && (q->transport == SG_TRANSPORT_UDP || q->rcode == SG_RCODE_SERVFAIL)) {
        q->stream.done(q->stream.ctx); /* streams are for TCP only */
        q->stream = (sg_stream){ 0 };
    }
    if (!q->drop && !q->out_len)
        sg_wire_render(q);
    if (q->cookie_len)
        sg_cookie_reply(q, now); /* after the cache too: a stored reply has no cookie */
    sg_tsigq_sign(&tq, q, tsig_now); /* last: the MAC covers the whole reply, cookie included */
    sg_tsigq_done(&tq);
    if (!chain)
        sg_prometheus_unrouted(routed, q); /* a chain's prometheus plugin counts the rest */
    return q->drop ? 0 : q->out_len;
}
