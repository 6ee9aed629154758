/* SPDX-License-Identifier: MIT */
/* The `transfer` plugin: AXFR/IXFR out to listed secondaries (TSIG when keyed), NOTIFY
 * when the serial changes, and the served SOA kept in step with the transferred one. */
#include "transfer/stream.h"
#include "transfer/transfer.h"
#include "common/errors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tzone {
    uint8_t apex[SG_NAME_MAX];
    sg_xfr_zone *xz;
} tzone;

typedef struct tstate {
    sg_xfr_cfg cfg;
    const sg_tsig_keyring *kr;
    const sg_tsig_key *key;   /* the configured key, or NULL */
    tzone *zones;
    int nzones;
} tstate;

/* ---- config ------------------------------------------------------------------------ */

static int parse_net(const char *s, sg_xfr_net *n)
{
    memset(n, 0, sizeof *n);
    if (!strcmp(s, "*")) {
        n->prefix = -1;
        return 0;
    }
    char buf[80];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    long prefix = -2;
    if (slash) {
        char *end;
        *slash = 0;
        prefix = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end)
            return -1;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&n->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&n->addr;
    if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        n->prefix = prefix == -2 ? 32 : (int)prefix;
        return n->prefix >= 0 && n->prefix <= 32 ? 0 : -1;
    }
    if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        n->prefix = prefix == -2 ? 128 : (int)prefix;
        return n->prefix >= 0 && n->prefix <= 128 ? 0 : -1;
    }
    return -1;
}

/* ADDR, ADDR:PORT, [V6]:PORT, V6 */
static int parse_hostport(const char *s, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    char buf[80];
    snprintf(buf, sizeof buf, "%s", s);
    long port = 53;
    char *host = buf;
    char *colon = strrchr(buf, ':');
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close)
            return -1;
        *close = 0;
        host = buf + 1;
        if (close[1] == ':')
            colon = close + 1;
        else if (close[1])
            return -1;
        else
            colon = NULL;
    } else if (colon && strchr(buf, ':') != colon) {
        colon = NULL; /* a bare IPv6 address */
    }
    if (colon) {
        char *end;
        *colon = 0;
        port = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || port < 1 || port > 65535)
            return -1;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    return -1;
}

static int parse_size(const char *s, size_t *out)
{
    uint64_t v;
    if (sg_cfg_parse_size(s, &v))
        return -1;
    *out = (size_t)v;
    return 0;
}

int sg_xfr_parse(const sg_cfg_block *blk, sg_xfr_cfg *out)
{
    memset(out, 0, sizeof *out);
    out->serial = SG_SERIAL_INCREMENT;
    out->journal_bytes = 16u << 20;
    out->journal_age = 7 * 86400;
    if (!blk->has_block)
        return sg_cfg_error(blk, "transfer: expected a { } block with at least one 'to' line");
    if (blk->nargs > 0)
        return sg_cfg_error(blk, "transfer: takes no arguments; it serves the block's zones");
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *d = &blk->children[i];
        if (d->has_block)
            return sg_cfg_error(d, "transfer: '%s' takes no block", d->name);
        if (!strcmp(d->name, "to")) {
            if (d->nargs < 1)
                return sg_cfg_error(d, "to: expected addresses or networks (ADDR[/PREFIX]) or *");
            for (int k = 0; k < d->nargs; k++) {
                if (out->nto == SG_XFR_MAX_PEERS)
                    return sg_cfg_error(d, "to: at most %d entries", SG_XFR_MAX_PEERS);
                if (parse_net(d->args[k], &out->to[out->nto++]))
                    return sg_cfg_error(d, "to: '%s' is not an address, ADDR/PREFIX or *", d->args[k]);
            }
        } else if (!strcmp(d->name, "key")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->key)
                return sg_cfg_error(d, "key: expected the name of a tsig-key of the options block");
            snprintf(out->key, sizeof out->key, "%s", d->args[0]);
        } else if (!strcmp(d->name, "notify")) {
            if (d->nargs < 1)
                return sg_cfg_error(d, "notify: expected ADDR[:PORT]...");
            for (int k = 0; k < d->nargs; k++) {
                if (out->nnotify == SG_XFR_MAX_PEERS)
                    return sg_cfg_error(d, "notify: at most %d targets", SG_XFR_MAX_PEERS);
                if (parse_hostport(d->args[k], &out->notify[out->nnotify++]))
                    return sg_cfg_error(d, "notify: '%s' is not ADDR, ADDR:PORT or [ADDR]:PORT",
                                        d->args[k]);
            }
        } else if (!strcmp(d->name, "serial")) {
            if (d->nargs != 1 || sg_serial_policy_parse(d->args[0], &out->serial))
                return sg_cfg_error(d, "serial: expected keep, increment, unixtime or dateserial");
        } else if (!strcmp(d->name, "journal")) {
            uint64_t age = 0;
            if (d->nargs < 1 || d->nargs > 2 || parse_size(d->args[0], &out->journal_bytes) ||
                (d->nargs == 2 && sg_cfg_parse_duration(d->args[1], &age)))
                return sg_cfg_error(d, "journal: expected SIZE [AGE] (e.g. 16m 1w; 0: no IXFR)");
            if (d->nargs == 2)
                out->journal_age = (int64_t)age;
        } else if (!strcmp(d->name, "compact-as-nsec")) {
            if (d->nargs)
                return sg_cfg_error(d, "compact-as-nsec: takes no arguments");
            out->compact_as_nsec = 1;
        } else if (!strcmp(d->name, "state-dir")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->state_dir)
                return sg_cfg_error(d, "state-dir: expected a directory");
            snprintf(out->state_dir, sizeof out->state_dir, "%s", d->args[0]);
        } else {
            return sg_cfg_error(d, "transfer: unknown option '%s' (to, key, notify, serial, "
                                "journal, compact-as-nsec, state-dir)", d->name);
        }
    }
    if (out->nto == 0)
        return sg_cfg_error(blk, "transfer: a 'to' line is required (who may transfer the zones)");
    return 0;
}

int sg_xfr_net_match(const sg_xfr_net *nets, int n, const struct sockaddr *addr)
{
    if (!addr)
        return 0;
    for (int i = 0; i < n; i++) {
        const sg_xfr_net *x = &nets[i];
        if (x->prefix < 0)
            return 1;
        const uint8_t *a, *b;
        int bits;
        if (addr->sa_family == AF_INET && x->addr.ss_family == AF_INET) {
            a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
            b = (const uint8_t *)&((const struct sockaddr_in *)&x->addr)->sin_addr;
            bits = 32;
        } else if (addr->sa_family == AF_INET6 && x->addr.ss_family == AF_INET6) {
            a = (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
            b = (const uint8_t *)&((const struct sockaddr_in6 *)&x->addr)->sin6_addr;
            bits = 128;
        } else {
            continue;
        }
        int p = x->prefix < bits ? x->prefix : bits, k = 0;
        for (; p >= 8; p -= 8, k++)
            if (a[k] != b[k])
                break;
        if (p >= 8)
            continue;
        if (p == 0 || ((a[k] ^ b[k]) & (0xff00 >> p)) == 0)
            return 1;
    }
    return 0;
}

static void teardown(void *state)
{
    tstate *st = state;
    if (!st)
        return;
    for (int i = 0; i < st->nzones; i++)
        sg_xfr_zone_release(st->zones[i].xz);
    free(st->zones);
    free(st);
}

static int setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    tstate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    int rc = sg_xfr_parse(blk, &st->cfg);
    if (rc)
        goto fail;
    st->kr = ctx->tsig;
    if (st->cfg.key[0] && !(st->key = sg_tsig_find(ctx->tsig, st->cfg.key))) {
        rc = sg_cfg_error(blk, "transfer: no tsig-key '%s' in the options block", st->cfg.key);
        goto fail;
    }
    /* the keys of a signed zone are where the block's key provider (dnssec) keeps them */
    const sg_key_provider *keys = sg_setup_service(ctx, SG_SERVICE_KEYS);
    const char *keystore = keys ? keys->keystore : "";
    st->zones = calloc((size_t)ctx->nzones, sizeof *st->zones);
    if (!st->zones) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < ctx->nzones; i++) {
        tzone *z = &st->zones[st->nzones];
        memcpy(z->apex, ctx->zones[i], sg_name_len(ctx->zones[i]));
        /* an adopted zone's floor (the provider, dnssec, is set up before us: plugin.cfg) */
        sg_xfr_cfg zc = st->cfg;
        if (keys && keys->serial_floor && keys->serial_floor(keys->self, z->apex, &zc.floor) == 0)
            zc.has_floor = 1;
        if (!ctx->check_only &&
            (rc = sg_xfr_zone_acquire(z->apex, &zc, st->key, keystore, &z->xz)))
            goto fail;
        st->nzones++;
    }
    *state_out = st;
    return 0;
fail:
    teardown(st);
    return rc;
}

/* ---- the query path ------------------------------------------------------------------ */

static tzone *zone_of(tstate *st, const uint8_t *apex)
{
    for (int i = 0; i < st->nzones; i++)
        if (sg_name_eq(st->zones[i].apex, apex))
            return &st->zones[i];
    return NULL;
}

static void peer_text(const sg_query *q, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (q->client && q->client->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)q->client)->sin_addr, ip, sizeof ip);
    else if (q->client && q->client->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)q->client)->sin6_addr, ip, sizeof ip);
    snprintf(buf, cap, "%s", ip);
}

/* The serial of the SOA in an IXFR query's authority section; 0 if it has none. */
static int ixfr_serial(const sg_query *q, uint32_t *serial)
{
    const uint8_t *m = q->wire;
    size_t len = q->wire_len, o = 12 + q->question_len;
    if (len < 12 || !(m[8] | m[9]))
        return 0;
    /* owner: a pointer to the question, or the name itself */
    while (o < len && m[o] && (m[o] & 0xc0) != 0xc0)
        o += m[o] + 1u;
    if (o >= len)
        return 0;
    o += (m[o] & 0xc0) == 0xc0 ? 2 : 1;
    if (o + 10 > len || m[o] != 0 || m[o + 1] != SG_TYPE_SOA)
        return 0;
    size_t rdl = (size_t)m[o + 8] << 8 | m[o + 9], p = o + 10;
    if (p + rdl > len || rdl < 22)
        return 0;
    for (int n = 0; n < 2; n++) { /* MNAME and RNAME, maybe compressed */
        while (p < len && m[p] && (m[p] & 0xc0) != 0xc0)
            p += m[p] + 1u;
        if (p >= len)
            return 0;
        p += (m[p] & 0xc0) == 0xc0 ? 2 : 1;
    }
    if (p + 20 > o + 10 + rdl)
        return 0;
    *serial = (uint32_t)m[p] << 24 | (uint32_t)m[p + 1] << 16 | (uint32_t)m[p + 2] << 8 | m[p + 3];
    return 1;
}

/* A reply without records (errors), TSIG-signed through tc when it carries a key or an
 * error to report. */
static int reply_empty(sg_query *q, uint16_t rcode, sg_tsig_ctx *tc)
{
    if (!tc || (!tc->key && !tc->error)) {
        q->rcode = rcode;
        return 0;
    }
    uint8_t *m = q->out;
    memset(m, 0, 12);
    m[0] = q->id >> 8;
    m[1] = q->id & 0xff;
    m[2] = 0x80 | (q->opcode << 3) | 0x04;
    m[3] = rcode & 0xf;
    m[5] = q->question_len ? 1 : 0;
    memcpy(m + 12, q->wire + 12, q->question_len);
    size_t len = 12 + q->question_len;
    if (sg_tsig_sign(tc, m, &len, q->out_cap, (uint64_t)time(NULL))) {
        q->rcode = rcode;
        return 0;
    }
    q->out_len = len;
    return 0;
}

static int xfr_answer(tstate *st, tzone *tz, sg_query *q)
{
    char peer[64];
    peer_text(q, peer, sizeof peer);
    const char *kind = q->qtype == SG_TYPE_AXFR ? "AXFR" : "IXFR";
    char zname[1024];
    sg_name_to_str(q->qname, zname, sizeof zname);
    if (!tz) {
        q->rcode = SG_RCODE_NOTAUTH; /* not a zone apex we serve (RFC 5936 2.2.1) */
        return 0;
    }
    if (!sg_xfr_net_match(st->cfg.to, st->cfg.nto, q->client)) {
        sg_log(SG_LOG_WARN, "transfer", zname, "%s from %s refused: not in 'to'", kind, peer);
        q->rcode = SG_RCODE_REFUSED;
        return 0;
    }
    sg_tsig_ctx tc;
    sg_tsig_ctx_init(&tc, NULL);
    uint16_t terr = 0;
    int rc = sg_tsig_verify_request(&tc, st->kr, q->wire, q->wire_len, (uint64_t)time(NULL), &terr);
    int out = 0;
    if (rc == SG_EMALFORMED) {
        q->rcode = SG_RCODE_FORMERR;
        goto done;
    }
    if (rc == 0 && terr) {
        sg_log(SG_LOG_WARN, "transfer", zname, "%s from %s refused: TSIG %s", kind, peer,
               terr == SG_TSIG_BADKEY ? "BADKEY (unknown key)" : terr == SG_TSIG_BADSIG ? "BADSIG"
               : terr == SG_TSIG_BADTIME ? "BADTIME" : "BADTRUNC");
        out = reply_empty(q, SG_RCODE_NOTAUTH, &tc);
        goto done;
    }
    int authentic = rc == 0;
    if (st->key && (!authentic || !sg_name_eq(tc.key->name, st->key->name))) {
        sg_log(SG_LOG_WARN, "transfer", zname, "%s from %s refused: %s", kind, peer,
               authentic ? "signed with another key" : "not signed with the transfer key");
        out = reply_empty(q, SG_RCODE_REFUSED, authentic ? &tc : NULL);
        goto done;
    }
    sg_tsig_ctx *sign = authentic ? &tc : NULL;
    sg_xfr_snap *snap = sg_xfr_zone_current(tz->xz);
    if (!snap) {
        sg_log(SG_LOG_WARN, "transfer", zname, "%s from %s: no version built yet", kind, peer);
        out = reply_empty(q, SG_RCODE_SERVFAIL, sign);
        goto done;
    }
    if (snap->denial == SG_KS_DENIAL_COMPACT && !st->cfg.compact_as_nsec) {
        sg_log(SG_LOG_ERR, "transfer", zname, "%s from %s refused: the zone uses compact denial "
               "(RFC 9824), which has no NSEC chain to transfer; add 'compact-as-nsec' to the "
               "transfer block to send one", kind, peer);
        sg_xfr_snap_unref(snap);
        out = reply_empty(q, SG_RCODE_REFUSED, sign);
        goto done;
    }
    enum sg_xfr_mode mode = SG_XFR_AXFR;
    sg_xfr_diff **diffs = NULL;
    size_t nd = 0;
    uint32_t have = 0;
    if (q->qtype == SG_TYPE_IXFR && ixfr_serial(q, &have)) {
        if (!sg_serial_newer(snap->serial, have))
            mode = SG_XFR_SOA_ONLY; /* current (or ahead of us): nothing to send */
        else if (q->transport == SG_TRANSPORT_UDP)
            mode = SG_XFR_SOA_ONLY; /* RFC 1995 2: the SOA tells it to come over TCP */
        else if (sg_xfr_journal_chain(sg_xfr_zone_journal(tz->xz), have, snap->serial,
                                      (int64_t)time(NULL), &diffs, &nd) == 0)
            mode = SG_XFR_IXFR;
        else
            kind = "IXFR->AXFR"; /* RFC 1995 4: the journal has no path from its serial */
    } else if (q->transport == SG_TRANSPORT_UDP) {
        /* AXFR is TCP only (RFC 5936 4.2); an IXFR without SOA is malformed */
        sg_xfr_snap_unref(snap);
        out = reply_empty(q, q->qtype == SG_TYPE_AXFR ? SG_RCODE_REFUSED : SG_RCODE_FORMERR, sign);
        goto done;
    }
    if (mode == SG_XFR_SOA_ONLY)
        kind = "IXFR (up to date)";
    sg_xfr_stream *s = sg_xfr_stream_new(snap, mode, diffs, nd, q, sign, kind, peer);
    if (!s) {
        sg_xfr_snap_unref(snap);
        for (size_t i = 0; i < nd; i++)
            sg_xfr_diff_unref(diffs[i]);
        free(diffs);
        out = SG_ENOMEM;
        goto done;
    }
    size_t cap = q->transport == SG_TRANSPORT_UDP ? q->max_size : q->out_cap;
    long n = sg_xfr_stream_next(s, q->out, cap);
    if (n < 0) {
        sg_xfr_stream_free(s);
        out = (int)n;
        goto done;
    }
    q->out_len = (size_t)n;
    if (s->finished)
        sg_xfr_stream_free(s);
    else
        q->stream = (sg_stream){ .next = sg_xfr_stream_next, .done = sg_xfr_stream_free, .ctx = s };
done:
    sg_tsig_ctx_deinit(&tc);
    return out;
}

/* A TSIG-signed SOA query at the apex (a secondary's refresh check) gets a signed reply
 * (RFC 8945 5.3) with the version's SOA; 1 when answered here. */
static int soa_answer(tstate *st, tzone *tz, sg_query *q, int *rc_out)
{
    const uint8_t *m = q->wire;
    if (!tz || !tz->xz || q->wire_len < 12 || !(m[10] | m[11]))
        return 0;
    sg_tsig_ctx tc;
    sg_tsig_ctx_init(&tc, NULL);
    uint16_t terr = 0;
    int rc = sg_tsig_verify_request(&tc, st->kr, m, q->wire_len, (uint64_t)time(NULL), &terr);
    int answered = 1;
    *rc_out = 0;
    if (rc == SG_ENOTFOUND) {
        answered = 0;
    } else if (rc == SG_EMALFORMED) {
        q->rcode = SG_RCODE_FORMERR;
    } else if (rc == 0 && terr) {
        char peer[64], zname[1024];
        peer_text(q, peer, sizeof peer);
        sg_name_to_str(q->qname, zname, sizeof zname);
        sg_log(SG_LOG_WARN, "transfer", zname, "SOA query from %s: TSIG %s", peer,
               terr == SG_TSIG_BADKEY ? "BADKEY (unknown key)" : terr == SG_TSIG_BADSIG ? "BADSIG"
               : terr == SG_TSIG_BADTIME ? "BADTIME" : "BADTRUNC");
        *rc_out = reply_empty(q, SG_RCODE_NOTAUTH, &tc);
    } else {
        sg_xfr_snap *snap = sg_xfr_zone_current(tz->xz);
        sg_xfr_stream *s = snap ? sg_xfr_stream_new(snap, SG_XFR_SOA_ONLY, NULL, 0, q, &tc, "", "")
                                : NULL;
        long n = s ? sg_xfr_stream_next(s, q->out, q->transport == SG_TRANSPORT_UDP ? q->max_size
                                                                                    : q->out_cap)
                   : SG_ENOMEM;
        if (s)
            sg_xfr_stream_free(s);
        else
            sg_xfr_snap_unref(snap);
        if (n > 0)
            q->out_len = (size_t)n;
        else
            *rc_out = reply_empty(q, SG_RCODE_SERVFAIL, &tc);
    }
    sg_tsig_ctx_deinit(&tc);
    return answered;
}

static int handle(sg_handler *self, sg_query *q)
{
    tstate *st = self->state;
    if (q->qtype == SG_TYPE_AXFR || q->qtype == SG_TYPE_IXFR)
        return xfr_answer(st, zone_of(st, q->qname), q);
    int src;
    if (q->qtype == SG_TYPE_SOA && soa_answer(st, zone_of(st, q->qname), q, &src))
        return src;
    int rc = sg_next(self, q);
    if (rc || !q->zone)
        return rc;
    tzone *tz = zone_of(st, q->zone->apex);
    const sg_rrset *soa = tz && tz->xz ? sg_xfr_zone_soa(tz->xz, q->zone) : NULL;
    if (!soa)
        return 0;
    /* the served SOA is the transferred one: same serial over UDP, TCP and AXFR */
    sg_section *secs[2] = { &q->an, &q->ns };
    for (int s = 0; s < 2; s++)
        for (uint16_t i = 0; i < secs[s]->n; i++)
            if (secs[s]->refs[i].rrset == q->zone->soa)
                secs[s]->refs[i].rrset = soa;
    return 0;
}

/* The served SOA changes with each version, also without a reload (new keys, refreshed
 * signatures): the cache keys replies on it. */
static uint64_t version(void *state, const sg_query *q)
{
    tstate *st = state;
    const tzone *best = NULL;
    for (int i = 0; i < st->nzones; i++)
        if (st->zones[i].xz && sg_name_is_sub(q->qname, st->zones[i].apex) &&
            (!best || sg_name_len(st->zones[i].apex) > sg_name_len(best->apex)))
            best = &st->zones[i];
    const sg_xfr_snap *s = best ? sg_xfr_zone_peek(best->xz) : NULL;
    return s ? s->serial : 0;
}

const sg_plugin sg_plugin_transfer = {
    .name = "transfer",
    .setup = setup,
    .handle = handle,
    .version = version,
    .teardown = teardown,
    .flags = SG_PLUGIN_TRANSFERS,
};
