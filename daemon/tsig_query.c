/* SPDX-License-Identifier: MIT */
/* TSIG on ordinary queries (RFC 8945 5.2-5.4): verify before the chain, sign the reply
 * after the answer cache, so that no stored reply carries another client's TSIG. */
#include "daemon/tsig_query.h"
#include "common/arena.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/wire.h"

#include <string.h>

static const char *error_name(uint16_t e)
{
    return e == SG_TSIG_BADKEY ? "BADKEY (unknown key)" : e == SG_TSIG_BADSIG ? "BADSIG"
           : e == SG_TSIG_BADTIME ? "BADTIME" : "BADTRUNC";
}

int sg_tsigq_check(sg_tsigq *t, const sg_tsig_keyring *kr, sg_query *q, uint64_t now)
{
    sg_tsig_ctx_init(&t->ctx, NULL);
    t->state = SG_TSIGQ_NONE;
    t->limit = q->max_size < q->out_cap ? q->max_size : q->out_cap;
    if (!q->tsig_at || q->opcode != 0 || q->qtype == SG_TYPE_AXFR || q->qtype == SG_TYPE_IXFR)
        return t->state;
    uint16_t err = SG_TSIG_NOERROR;
    int rc = sg_tsig_verify_request(&t->ctx, kr, q->wire, q->wire_len, now, &err);
    if (rc == SG_ENOTFOUND)
        return t->state; /* the parser saw one; kept only as a guard */
    t->state = SG_TSIGQ_REJECTED;
    if (rc) {
        /* FORMERR (or a library failure) goes unsigned: the MAC could not be checked */
        q->rcode = rc == SG_EMALFORMED ? SG_RCODE_FORMERR : SG_RCODE_SERVFAIL;
        t->ctx.key = NULL;
        t->ctx.error = 0;
        return t->state;
    }
    if (err) {
        /* a client's mistake, or someone probing keys: at debug level, as a flood could be */
        if (sg_log_enabled(SG_LOG_DEBUG)) {
            char kn[SG_NAME_MAX * 4 + 2], qn[SG_NAME_MAX * 4 + 2];
            sg_name_to_str(t->ctx.key_name, kn, sizeof kn);
            sg_name_to_str(q->qname, qn, sizeof qn);
            sg_log(SG_LOG_DEBUG, "tsig", qn, "query signed with key %s: NOTAUTH, TSIG %s", kn,
                   error_name(err));
        }
        q->rcode = SG_RCODE_NOTAUTH;
        return t->state;
    }
    /* the chain sees the query as if unsigned: a plugin that checks TSIG itself (the
     * transfer plugin's signed SOA answer) must not answer and sign it a second time */
    uint8_t *copy = q->arena ? sg_arena_dup(q->arena, q->wire, q->tsig_at) : NULL;
    if (!copy) {
        q->rcode = SG_RCODE_SERVFAIL; /* signed: the client learns it is ours */
        return t->state;
    }
    uint16_t ar = (uint16_t)(copy[10] << 8 | copy[11]) - 1u;
    copy[10] = (uint8_t)(ar >> 8);
    copy[11] = (uint8_t)ar;
    q->wire = copy;
    q->wire_len = q->tsig_at;
    q->tsig_at = 0;
    size_t room = sg_tsig_rr_size(t->ctx.key);
    if (q->max_size > room + SG_HEADER_LEN)
        q->max_size = (uint16_t)(q->max_size - room);
    t->state = SG_TSIGQ_SIGNED;
    return t->state;
}

void sg_tsigq_sign(sg_tsigq *t, sg_query *q, uint64_t now)
{
    if (t->state == SG_TSIGQ_NONE || q->drop || q->out_len < SG_HEADER_LEN)
        return;
    if (!t->ctx.key && !t->ctx.error)
        return; /* FORMERR: nothing to sign with */
    size_t len = q->out_len;
    if (sg_tsig_sign(&t->ctx, q->out, &len, t->limit, now) == 0)
        q->out_len = len;
    /* else: no room even for the TSIG we kept room for (a key name near 255 octets and a
     * BADKEY reply over UDP); it goes unsigned, as an unsigned reply tells as much */
}

void sg_tsigq_done(sg_tsigq *t)
{
    sg_tsig_ctx_deinit(&t->ctx);
}
