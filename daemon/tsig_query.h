/* SPDX-License-Identifier: MIT */
/* TSIG (RFC 8945) on ordinary queries: a signed query is verified before routing, the
 * chain sees it without its TSIG, and the final reply (after the answer cache and the
 * cookie) is signed with the same key. */
#ifndef SG_DAEMON_TSIG_QUERY_H
#define SG_DAEMON_TSIG_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/query.h"
#include "tsig/tsig.h"

enum sg_tsigq_state {
    SG_TSIGQ_NONE = 0,  /* unsigned, or not ours to check: answer as usual */
    SG_TSIGQ_SIGNED,    /* authentic: answer, then sign the reply */
    SG_TSIGQ_REJECTED,  /* q->rcode set (NOTAUTH, FORMERR, SERVFAIL): no chain, render, sign */
};

/* One query's TSIG exchange. Caller-owned: sg_tsigq_check, sg_tsigq_sign, sg_tsigq_done. */
typedef struct sg_tsigq {
    sg_tsig_ctx ctx;
    int state;          /* enum sg_tsigq_state */
    size_t limit;       /* the reply's size limit before room was kept for the TSIG RR */
} sg_tsigq;

/* A parsed query (sg_wire_parse_query): when it is an ordinary query (opcode QUERY, not
 * AXFR/IXFR, whose TSIG the transfer plugin checks over the whole stream) and carries a
 * TSIG, verify it with any key of kr (RFC 8945 5.2). Authentic: q->wire becomes a copy
 * without the TSIG in q->arena (so no plugin answers or signs it a second time) and
 * q->max_size keeps room for the reply's TSIG RR (a reply that must be truncated keeps its
 * TSIG, 5.3.1). Otherwise q->rcode is NOTAUTH (the TSIG error in t->ctx: BADKEY, BADSIG,
 * BADTIME, BADTRUNC) or FORMERR (a MAC size out of bounds). Returns t->state. */
int sg_tsigq_check(sg_tsigq *t, const sg_tsig_keyring *kr, sg_query *q, uint64_t now);

/* After the reply is rendered in q->out (and its cookie added): append the TSIG RR, signed
 * with the request's key and MAC, or MAC-less for BADKEY/BADSIG. Nothing for an unsigned
 * request, a dropped reply or a FORMERR; a reply that cannot take it goes unsigned. */
void sg_tsigq_sign(sg_tsigq *t, sg_query *q, uint64_t now);

/* Wipe the exchange's MAC state (always, once sg_tsigq_check ran). */
void sg_tsigq_done(sg_tsigq *t);

#endif
