/* SPDX-License-Identifier: MIT */
/* The `rrl` plugin: on the way back up, classify the UDP reply and drop it, or send it
 * truncated (slip), when its bucket is over the rate. TCP is never limited: a client that
 * completes a handshake is not spoofed. */
#include "daemon/plugins.h"
#include "daemon/rrl.h"
#include "common/cookie.h"
#include "common/metrics.h"
#include "common/name.h"
#include "zones/zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_LIMITED, C_SLIPPED, C_DROPPED, C_N };

typedef struct rrl_state {
    sg_rrl *table;
    uint8_t (*zones)[SG_NAME_MAX]; /* the server block's zones: NXDOMAIN/referral keys */
    int nzones;
    sg_counters *counters; /* kept across reloads under "rrl BLOCK" (common/metrics.h) */
    int registered;
    char label[1100]; /* the block's first zone: label block="..." as the other per-block series */
} rrl_state;

static int rrl_metrics(sg_metrics_out *out, void *ctx)
{
    rrl_state *st = ctx;
    const char *l[] = { "block", st->label, NULL };
    static const struct {
        const char *name, *help;
    } fam[C_N] = {
        { "signet_rrl_limited_total", "UDP replies over their rate limit (slipped + dropped)" },
        { "signet_rrl_slipped_total", "Limited replies sent empty with TC=1" },
        { "signet_rrl_dropped_total", "Limited replies not sent" },
    };
    for (int i = 0; i < C_N; i++) {
        int rc = sg_metrics_family(out, fam[i].name, SG_METRIC_COUNTER, fam[i].help);
        if (!rc)
            rc = sg_metrics_add_u64(out, fam[i].name, NULL, l, sg_counters_sum(st->counters, i));
        if (rc)
            return rc;
    }
    return 0;
}

static void rrl_teardown(void *state)
{
    rrl_state *st = state;
    if (!st)
        return;
    if (st->registered)
        sg_metrics_unregister(rrl_metrics, st);
    sg_rrl_free(st->table);
    sg_counters_drop(st->counters);
    free(st->zones);
    free(st);
}

static int rrl_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    sg_rrl_cfg cfg;
    int rc = sg_rrl_parse(blk, &cfg);
    if (rc)
        return rc;
    char key[1100] = "rrl ";
    if (ctx->nzones)
        sg_name_to_str(ctx->zones[0], key + 4, sizeof key - 4);
    rrl_state *st = calloc(1, sizeof *st);
    if (!st || !(st->table = sg_rrl_new(&cfg)) || !(st->counters = sg_counters_keep(key, C_N)) ||
        !(st->zones = calloc(ctx->nzones ? (size_t)ctx->nzones : 1, sizeof *st->zones))) {
        rrl_teardown(st);
        return SG_ENOMEM;
    }
    for (int i = 0; i < ctx->nzones; i++) {
        memcpy(st->zones[i], ctx->zones[i], sg_name_len(ctx->zones[i]));
        sg_name_lower(st->zones[i]);
    }
    st->nzones = ctx->nzones;
    snprintf(st->label, sizeof st->label, "%s", key + 4);
    if (!ctx->check_only) {
        if ((rc = sg_metrics_register(rrl_metrics, st))) {
            rrl_teardown(st);
            return rc;
        }
        st->registered = 1;
    }
    *state_out = st;
    return 0;
}

/* RFC 7873 5.2.3: a client that sent a cookie but not a valid server cookie of ours is
 * told BADCOOKIE with a fresh one instead of being slipped a truncated reply; with it, its
 * retry is exempt from the limit (it has shown it receives our replies). */
static void bad_cookie(sg_query *q)
{
    q->an.n = q->ns.n = q->ar.n = 0;
    q->rcode = SG_RCODE_BADCOOKIE;
    q->aa = 0;
    q->tc = 0;
    q->out_len = 0; /* rendered again, with the OPT that carries the extended rcode */
}

/* The reply made smaller than any amplification: header and question, TC=1. */
static void slip(sg_query *q)
{
    q->an.n = q->ns.n = q->ar.n = 0;
    q->tc = 1;
    if (q->out_len) {
        /* already rendered (cache): cut it back to the question */
        size_t keep = 12 + (size_t)q->question_len;
        if (keep > q->out_len)
            keep = q->out_len < 12 ? q->out_len : 12;
        q->out[2] |= 0x02;
        memset(q->out + 6, 0, 6);
        q->out_len = keep;
    }
}

/* The longest of the block's zones that qname is in (NULL if none). */
static const uint8_t *zone_of(const rrl_state *st, const uint8_t *qname, size_t *len_out)
{
    const uint8_t *best = NULL;
    size_t best_len = 0;
    for (int i = 0; i < st->nzones; i++) {
        size_t zl = sg_name_len(st->zones[i]);
        if (zl > best_len && sg_name_is_sub(qname, st->zones[i])) {
            best = st->zones[i];
            best_len = zl;
        }
    }
    *len_out = best_len;
    return best;
}

/* Which bucket the reply debits. Classified from what a cached reply also carries
 * (rcode, AA), so that a reply from the cache and the same reply made afresh debit the
 * same bucket. */
static sg_rrl_action account(rrl_state *st, const sg_query *q, int rc)
{
    sg_rrl_class cls;
    const uint8_t *name = NULL;
    size_t name_len = 0;
    uint16_t type = 0;
    if (rc < 0 || (q->rcode != SG_RCODE_NOERROR && q->rcode != SG_RCODE_NXDOMAIN)) {
        cls = SG_RRL_ERROR;
    } else if (q->rcode == SG_RCODE_NXDOMAIN || q->kind == SG_KIND_NXDOMAIN || !q->aa) {
        /* keyed by zone, as BIND and Knot do: a flood of random names under one zone
         * fills one bucket, not a bucket per name. NOERROR without AA from an
         * authoritative server is a referral. A name that does not exist is an NXDOMAIN
         * even where compact denial (RFC 9824) answers it NOERROR (issue 15: random names
         * in a compact zone were never limited). */
        cls = q->rcode == SG_RCODE_NXDOMAIN || q->kind == SG_KIND_NXDOMAIN ? SG_RRL_NXDOMAIN
                                                                         : SG_RRL_REFERRAL;
        name = zone_of(st, q->qname, &name_len);
    } else {
        cls = SG_RRL_ANSWER;
        name = q->qname;
        name_len = q->qname_len;
        type = q->qtype;
        /* an answer made from a wildcard is keyed by the wildcard, as BIND and Knot key
         * it: random names under it are one bucket, not a bucket each (issue 15) */
        const uint8_t *wild = NULL;
        if (q->an.n && (q->an.refs[0].flags & SG_REF_SYNTH) && q->an.refs[0].source)
            wild = q->an.refs[0].source;
        else if (q->kind == SG_KIND_WILDCARD_NODATA && q->node)
            wild = q->node->name;
        if (wild) {
            name = wild;
            name_len = sg_name_len(wild);
        }
    }
    sg_rrl_action act = sg_rrl_account(st->table, q->client, cls, name, name_len, type, q->start_ns);
    if (act != SG_RRL_PASS)
        sg_counters_add(st->counters, C_LIMITED, 1);
    if (act == SG_RRL_SLIP)
        sg_counters_add(st->counters, C_SLIPPED, 1);
    else if (act != SG_RRL_PASS)
        sg_counters_add(st->counters, C_DROPPED, 1);
    return act;
}

/* The signer asks before it signs a reply made afresh: decided there, a reply that will
 * be dropped or slipped costs no signature (bench/dos.sh compact-rrl: a signature per
 * dropped query). */
static int before_sign(void *ctx, sg_query *q)
{
    sg_rrl_action act = account(ctx, q, 0);
    q->limited = (uint8_t)(1 + act);
    return act != SG_RRL_PASS;
}

static int rrl_handle(sg_handler *self, sg_query *q)
{
    rrl_state *st = self->state;
    /* a valid server cookie proves the source address is not spoofed (RFC 7873 5.1) */
    int limits = q->transport == SG_TRANSPORT_UDP && !q->cookie_valid &&
                 !sg_rrl_exempt(st->table, q->client);
    q->limited = 0;
    q->before_sign = limits ? before_sign : NULL;
    q->before_sign_ctx = st;
    int rc = sg_next(self, q);
    q->before_sign = NULL;
    if (!limits || q->drop)
        return rc;
    sg_rrl_action act = q->limited && rc >= 0 ? (sg_rrl_action)(q->limited - 1) : account(st, q, rc);
    switch (act) {
    case SG_RRL_PASS:
        return rc;
    case SG_RRL_SLIP:
        if (rc < 0)
            return rc; /* the errors plugin answers SERVFAIL: small already */
        if (q->cookie_len && q->has_edns)
            bad_cookie(q);
        else
            slip(q);
        return 0;
    case SG_RRL_DROP:
    default:
        q->drop = 1;
        return rc;
    }
}

const sg_plugin sg_plugin_rrl = {
    .name = "rrl",
    .setup = rrl_setup,
    .handle = rrl_handle,
    .teardown = rrl_teardown,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
