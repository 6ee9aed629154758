/* SPDX-License-Identifier: MIT */
/* signetctl key sync-foreign: follow a multi-signer peer's DNSKEY RRset (RFC 8901 model 2):
 * its keys published here public-only, and ours seen there, which a ZSK rollover waits on. */
#include "ctl/ctl.h"
#include "registrar/query.h"

#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYNC_TIMEOUT_MS 5000
#define SYNC_MAX_KEYS 64

static void help(void)
{
    printf("usage: signetctl key sync-foreign ZONE --from SERVER [--no-wait]\n"
           "Ask SERVER (ADDR, ADDR:PORT, ADDR@PORT, [V6]:PORT), another signer of ZONE\n"
           "(multi-signer, RFC 8901 model 2), for its DNSKEY RRset, and follow it:\n"
           "  - a key it serves that is not here is imported public-only and marked\n"
           "    foreign: published in our DNSKEY RRset (signed by our KSK), never signing;\n"
           "    a foreign KSK also joins our CDS/CDNSKEY (the parent's DS set: the union);\n"
           "  - a foreign key it no longer serves leaves our DNSKEY RRset now;\n"
           "  - which of our keys it serves is recorded: from then on a successor ZSK of\n"
           "    ours signs only once the peer has served it for the larger of both DNSKEY\n"
           "    TTLs (--no-wait: record, but do not hold rollovers for the peer).\n"
           "Run it periodically (a timer), and after each rollover step on either side.\n");
}

/* "ADDR:PORT" or "[V6]:PORT", as sg_reg_auth_query takes it, from the operator's forms
 * (ADDR, ADDR:PORT, ADDR@PORT, [V6], [V6]:PORT, V6, V6@PORT). */
static int peer_addr(const char *s, char *out, size_t cap)
{
    char host[256];
    const char *port = "53", *at = strrchr(s, '@'), *colon = strchr(s, ':');
    size_t hl;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || (rb[1] && rb[1] != ':'))
            return -1;
        hl = (size_t)(rb - s - 1);
        s++;
        if (rb[1])
            port = rb + 2;
    } else if (at) {
        hl = (size_t)(at - s);
        port = at + 1;
    } else if (colon && colon == strrchr(s, ':')) {
        hl = (size_t)(colon - s);
        port = colon + 1;
    } else {
        hl = strlen(s);
    }
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, s, hl);
    host[hl] = 0;
    char *end;
    long p = strtol(port, &end, 10);
    if (*port < '0' || *port > '9' || *end || p < 1 || p > 65535)
        return -1;
    int n = snprintf(out, cap, strchr(host, ':') ? "[%s]:%ld" : "%s:%ld", host, p);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

typedef struct served_key {
    uint8_t rd[SG_KS_RDATA_MAX];
    size_t len;
    int matched;
} served_key;

/* The peer's DNSKEY records as RDATA. */
static int fetch(const char *server, const char *zone, served_key *out, size_t *n_out,
                 uint32_t *ttl_out, char *err, size_t cap)
{
    ldns_rr_list *rrs = NULL;
    char why[256];
    *n_out = 0;
    int rc = sg_reg_auth_query(server, zone, LDNS_RR_TYPE_DNSKEY, SYNC_TIMEOUT_MS, &rrs, ttl_out,
                               why, sizeof why);
    if (rc) {
        snprintf(err, cap, "%s, asked for the DNSKEY RRset of %s: %s", server, zone, why);
        return rc;
    }
    ldns_buffer *b = ldns_buffer_new(SG_KS_RDATA_MAX);
    for (size_t i = 0; b && !rc && i < ldns_rr_list_rr_count(rrs); i++) {
        ldns_buffer_clear(b);
        if (ldns_rr_rdata2buffer_wire(b, ldns_rr_list_rr(rrs, i)) != LDNS_STATUS_OK ||
            ldns_buffer_position(b) > SG_KS_RDATA_MAX || ldns_buffer_position(b) < 5) {
            snprintf(err, cap, "%s serves a malformed DNSKEY for %s", server, zone);
            rc = SG_EINVAL;
        } else if (*n_out == SYNC_MAX_KEYS) {
            snprintf(err, cap, "%s serves more than %d DNSKEYs for %s", server, SYNC_MAX_KEYS, zone);
            rc = SG_EINVAL;
        } else {
            served_key *s = &out[(*n_out)++];
            s->len = ldns_buffer_position(b);
            memcpy(s->rd, ldns_buffer_begin(b), s->len);
            s->matched = 0;
        }
    }
    if (!b) {
        snprintf(err, cap, "out of memory");
        rc = SG_ENOMEM;
    }
    ldns_buffer_free(b);
    ldns_rr_list_deep_free(rrs);
    return rc;
}

typedef struct sync_report {
    FILE *out; /* NULL under --json */
    int imported, removed, republished, ours_served, ours_missing;
} sync_report;

static void say(const sync_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const sync_report *r, const char *fmt, ...)
{
    if (!r->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->out, fmt, ap);
    va_end(ap);
}

static int published(const sg_ks_key *k, int64_t now)
{
    return k->publish && k->publish <= now && !(k->remove && k->remove <= now);
}

/* One transaction: the peer's keys in, its dropped keys out, ours seen or not. */
static int sync_keys(ctl *c, const char *zone, const char *server, served_key *sv, size_t nsv,
                     uint32_t ttl, int wait, sync_report *rep)
{
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int rc = sg_ks_begin(c->ks);
    if (rc)
        return ctl_fail(c, rc, "keystore");
    if ((rc = sg_ks_key_list(c->ks, zone, &keys, &n)))
        goto fail;
    int64_t now = c->now;
    for (size_t i = 0; i < n; i++) {
        sg_ks_key *k = &keys[i];
        uint8_t rd[SG_KS_RDATA_MAX];
        size_t len;
        if ((rc = sg_ks_key_dnskey_rdata(k, rd, sizeof rd, &len)))
            goto fail;
        served_key *s = NULL;
        for (size_t j = 0; j < nsv && !s; j++)
            if (sv[j].len == len && !memcmp(sv[j].rd, rd, len))
                s = &sv[j];
        if (s)
            s->matched = 1;
        if (!sg_ks_key_public_only(k)) {
            /* ours: does the peer's RRset hold it? (written only when that changes) */
            if ((rc = sg_ks_peer_seen(c->ks, zone, k->tag, s != NULL, server, now)))
                goto fail;
            if (published(k, now)) {
                say(rep, "our %s %u: %s\n", sg_ks_role_name(k->role), k->tag,
                    s ? "served by the peer" : "NOT served by the peer");
                if (s)
                    rep->ours_served++;
                else
                    rep->ours_missing++;
            }
            continue;
        }
        if (s && !sg_ks_key_foreign(k)) {
            /* imported by hand with --public before: it is the peer's */
            if ((rc = sg_ks_key_mark_foreign(c->ks, k->id, server, now)))
                goto fail;
            say(rep, "foreign %s %u: marked as the peer's\n", sg_ks_role_name(k->role), k->tag);
        }
        if (!sg_ks_key_foreign(k) && !s)
            continue; /* another public-only key: not the peer's to take away */
        if (s && !published(k, now)) {
            k->publish = now;
            k->retire = k->remove = 0;
            if (k->role != SG_KS_ROLE_ZSK && !k->ds_submitted)
                k->ds_submitted = now;
            k->ds_withdrawn = 0;
            k->state = sg_ks_key_state_at(k, now);
            if ((rc = sg_ks_key_update(c->ks, k, "the multi-signer peer serves it again", now)))
                goto fail;
            say(rep, "foreign %s %u: published again\n", sg_ks_role_name(k->role), k->tag);
            rep->republished++;
        } else if (!s && published(k, now)) {
            k->remove = now;
            if (k->ds_submitted && !k->ds_withdrawn)
                k->ds_withdrawn = now;
            k->state = sg_ks_key_state_at(k, now);
            if ((rc = sg_ks_key_update(c->ks, k, "the multi-signer peer no longer serves it", now)))
                goto fail;
            say(rep, "foreign %s %u: removed (the peer no longer serves it)\n",
                sg_ks_role_name(k->role), k->tag);
            rep->removed++;
        }
    }
    /* a key of ours deleted since: its tag may come again with another key, which the
     * peer has not seen */
    sg_ks_peer_seen_key seen[SYNC_MAX_KEYS];
    size_t nseen;
    if ((rc = sg_ks_peer_seen_list(c->ks, zone, seen, SYNC_MAX_KEYS, &nseen)))
        goto fail;
    for (size_t j = 0; j < nseen; j++) {
        int here = 0;
        for (size_t i = 0; i < n && !here; i++)
            here = keys[i].tag == seen[j].tag && !sg_ks_key_public_only(&keys[i]);
        if (!here && (rc = sg_ks_peer_seen(c->ks, zone, seen[j].tag, 0, server, now)))
            goto fail;
    }
    for (size_t j = 0; j < nsv; j++) {
        if (sv[j].matched)
            continue;
        sg_ks_key k;
        if ((rc = sg_ks_key_import_public(c->ks, zone, sv[j].rd, sv[j].len, -1, NULL, now, &k)) ||
            (rc = sg_ks_key_mark_foreign(c->ks, k.id, server, now)))
            goto fail;
        if (k.role != SG_KS_ROLE_ZSK) {
            /* its DS belongs in the parent's set beside ours: CDS/CDNSKEY say the union */
            k.ds_submitted = now;
            k.state = sg_ks_key_state_at(&k, now);
            if ((rc = sg_ks_key_update(c->ks, &k, "the multi-signer peer's KSK: its DS joins ours", now)))
                goto fail;
        }
        say(rep, "foreign %s %u: imported, published (id %lld)\n", sg_ks_role_name(k.role), k.tag,
            (long long)k.id);
        rep->imported++;
    }
    if ((rc = sg_ks_fact_observe(c->ks, zone, SG_KS_FACT_PEERS, wait ? 1 : 0, server, now)) ||
        (rc = sg_ks_fact_observe(c->ks, zone, SG_KS_FACT_PEER_DNSKEY_TTL, ttl, server, now)) ||
        (rc = sg_ks_commit(c->ks)))
        goto fail;
    free(keys);
    return CTL_OK;
fail:
    sg_ks_rollback(c->ks);
    free(keys);
    return ctl_fail(c, rc, "sync-foreign %s from %s", zone, server);
}

int cmd_key_sync_foreign(ctl *c, int argc, char **argv)
{
    ctl_opt o[] = { { "from", 1, 0, 0 }, { "no-wait", 0, 0, 0 } };
    char zone[SG_KS_ZONE_MAX];
    int rc = ctl_zone_cmd("key sync-foreign ", argc, argv, o, 2, "", zone);
    if (rc == CTL_DONE) {
        help();
        return CTL_OK;
    }
    if (rc)
        return rc;
    if (!o[0].set)
        return ctl_usage("key sync-foreign ", "--from SERVER is needed");
    char server[300];
    if (peer_addr(o[0].val, server, sizeof server))
        return ctl_usage("key sync-foreign ", "bad server address '%s'", o[0].val);
    if ((rc = ctl_open(c)))
        return rc;
    sg_ks_zone z;
    if ((rc = sg_ks_zone_get(c->ks, zone, &z)))
        return ctl_fail(c, rc, "zone %s", zone);
    static served_key sv[SYNC_MAX_KEYS];
    size_t nsv;
    uint32_t ttl = 0;
    char err[2048];
    if ((rc = fetch(server, zone, sv, &nsv, &ttl, err, sizeof err))) {
        fprintf(stderr, "signetctl: %s\n", err);
        const char *code;
        int ex = ctl_error_class(rc, &code);
        ctl_error_set(code);
        return ex;
    }
    if (nsv == 0) {
        /* an empty answer would take every foreign key away: refuse it */
        fprintf(stderr, "signetctl: %s serves no DNSKEY for %s: nothing changed\n", server, zone);
        return CTL_ERR;
    }
    sync_report rep = { .out = c->json ? NULL : stdout };
    say(&rep, "peer %s: %zu DNSKEY%s, TTL %u\n", server, nsv, nsv == 1 ? "" : "s", ttl);
    if ((rc = sync_keys(c, zone, server, sv, nsv, ttl, !o[1].set, &rep)))
        return rc;
    if (c->json) {
        printf("{\"zone\":");
        json_str(stdout, zone);
        printf(",\"peer\":");
        json_str(stdout, server);
        printf(",\"dnskeys\":%zu,\"ttl\":%u,\"imported\":%d,\"removed\":%d,"
               "\"republished\":%d,\"ours_served\":%d,\"ours_missing\":%d,\"wait\":%s}\n",
               nsv, ttl, rep.imported, rep.removed, rep.republished, rep.ours_served,
               rep.ours_missing, o[1].set ? "false" : "true");
    }
    return CTL_OK;
}
