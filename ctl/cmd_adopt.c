/* SPDX-License-Identifier: MIT */
/* signetctl zone adopt: take a signed zone over from BIND, Knot DNS or PowerDNS with the
 * parent's DS untouched: import the keys the old server signs with, check that they give
 * exactly the DNSKEY RRset it serves and that the parent's DS validates what Signet would
 * serve, record the DS as seen and the old serial as the floor - all in one transaction,
 * rolled back on a refusal or for --check. */
#include "ctl/ctl.h"
#include "ctl/import.h"

#include "common/rrset.h"
#include "keystore/rollover.h"
#include "registrar/query.h"
#include "registrar/registrar.h"
#include "signer/signer.h"

#include <ldns/ldns.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADOPT_MAX_NS 16
#define ADOPT_TIMEOUT_MS 3000

typedef struct adopt_opts {
    char zone[SG_KS_ZONE_MAX];
    const char *from;          /* bind, knot, pdns */
    const char *server;        /* ADDR[@PORT] of the old server */
    const char *parent_ns[ADOPT_MAX_NS];
    int nparent;
    const char *key_dir;       /* bind */
    const char *kasp;          /* knot: the KASP directory (its keys/ hold PEM files) */
    const char *knot_conf;     /* knot: its config, for keymgr -c (optional) */
    const char *pdns_dir;      /* pdns: the config dir pdnsutil reads (any backend) */
    const char *policy;
    int check;
} adopt_opts;

/* What the old server serves. */
typedef struct served {
    ldns_rr_list *dnskeys;     /* the DNSKEY RRset (owner = zone) */
    ldns_rr *soa;
    uint32_t serial;
} served;

/* Why adopt refuses (or what --check would refuse), one line each. */
typedef struct reasons {
    char text[4096];
    size_t len;
} reasons;

static void why(reasons *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why(reasons *r, const char *fmt, ...)
{
    if (r->len >= sizeof r->text - 2)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->text + r->len, sizeof r->text - r->len - 1, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->len += (size_t)n < sizeof r->text - r->len - 1 ? (size_t)n : sizeof r->text - r->len - 2;
    r->text[r->len++] = '\n';
    r->text[r->len] = 0;
}

/* "ADDR", "ADDR@PORT", "ADDR:PORT" (IPv4), "[V6]:PORT", "V6@PORT" -> address and port. */
static int split_addr(const char *s, char *addr, size_t cap, uint16_t *port)
{
    *port = 53;
    const char *at = strrchr(s, '@');
    const char *end = at ? at : s + strlen(s);
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb)
            return SG_EINVAL;
        snprintf(addr, cap, "%.*s", (int)(rb - s - 1), s + 1);
        if (rb[1] == ':')
            *port = (uint16_t)atoi(rb + 2);
    } else if (!at && strchr(s, ':') && strchr(s, ':') == strrchr(s, ':')) {
        const char *colon = strchr(s, ':');
        snprintf(addr, cap, "%.*s", (int)(colon - s), s);
        *port = (uint16_t)atoi(colon + 1);
    } else {
        snprintf(addr, cap, "%.*s", (int)(end - s), s);
        if (at)
            *port = (uint16_t)atoi(at + 1);
    }
    return *addr && *port ? 0 : SG_EINVAL;
}

/* The registrar's form of a server address: "ADDR:PORT" or "[V6]:PORT". */
static int reg_addr(const char *s, char *out, size_t cap)
{
    char addr[128];
    uint16_t port;
    if (split_addr(s, addr, sizeof addr, &port))
        return SG_EINVAL;
    snprintf(out, cap, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
    return 0;
}

/* One authoritative answer of server (the operator's form) for zone/type: the records of
 * that type owned by zone (caller frees). */
static int query(const char *server, const char *zone, ldns_rr_type type, ldns_rr_list **rrs_out,
                 char *err, size_t cap)
{
    *rrs_out = NULL;
    char ra[160], why_not[256];
    if (reg_addr(server, ra, sizeof ra)) {
        snprintf(err, cap, "bad server address '%s'", server);
        return SG_EINVAL;
    }
    int rc = sg_reg_auth_query(ra, zone, type, ADOPT_TIMEOUT_MS, rrs_out, NULL, why_not,
                               sizeof why_not);
    if (rc)
        snprintf(err, cap, "%s, asked for the %s of %s: %s", server,
                 type == LDNS_RR_TYPE_SOA ? "SOA" : "DNSKEY RRset", zone, why_not);
    return rc;
}

static int served_fetch(const adopt_opts *o, served *sv, char *err, size_t cap)
{
    memset(sv, 0, sizeof *sv);
    ldns_rr_list *soa = NULL;
    int rc = query(o->server, o->zone, LDNS_RR_TYPE_SOA, &soa, err, cap);
    if (rc)
        return rc;
    if (ldns_rr_list_rr_count(soa) != 1) {
        snprintf(err, cap, "%s serves no SOA for %s", o->server, o->zone);
        ldns_rr_list_deep_free(soa);
        return SG_ENOTFOUND;
    }
    sv->soa = ldns_rr_clone(ldns_rr_list_rr(soa, 0));
    sv->serial = ldns_rdf2native_int32(ldns_rr_rdf(sv->soa, 2));
    ldns_rr_list_deep_free(soa);
    if ((rc = query(o->server, o->zone, LDNS_RR_TYPE_DNSKEY, &sv->dnskeys, err, cap)))
        return rc;
    if (ldns_rr_list_rr_count(sv->dnskeys) == 0) {
        snprintf(err, cap, "%s serves no DNSKEY RRset for %s: the zone is not signed there",
                 o->server, o->zone);
        return SG_ENOTFOUND;
    }
    return 0;
}

static void served_free(served *sv)
{
    ldns_rr_list_deep_free(sv->dnskeys);
    ldns_rr_free(sv->soa);
}

/* DNSKEY RDATA of a served record, in wire form. */
static int rr_rdata(const ldns_rr *rr, uint8_t *buf, size_t cap, size_t *len_out)
{
    ldns_buffer *b = ldns_buffer_new(SG_KS_RDATA_MAX);
    if (!b)
        return SG_ENOMEM;
    int rc = 0;
    if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK || ldns_buffer_position(b) > cap)
        rc = SG_ESPACE;
    else {
        *len_out = ldns_buffer_position(b);
        memcpy(buf, ldns_buffer_begin(b), *len_out);
    }
    ldns_buffer_free(b);
    return rc;
}

/* The served DNSKEY whose algorithm and public key are pub: its flags, or -1. */
static int served_flags_of(const served *sv, uint8_t alg, const uint8_t *pub, size_t len)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(sv->dnskeys); i++) {
        uint8_t rd[SG_KS_RDATA_MAX];
        size_t n;
        if (rr_rdata(ldns_rr_list_rr(sv->dnskeys, i), rd, sizeof rd, &n) || n < 4)
            continue;
        if (rd[3] == alg && n - 4 == len && !memcmp(rd + 4, pub, len))
            return rd[0] << 8 | rd[1];
    }
    return -1;
}

static int served_has_zsk(const served *sv)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(sv->dnskeys); i++)
        if (!(ldns_rdf2native_int16(ldns_rr_rdf(ldns_rr_list_rr(sv->dnskeys, i), 0)) & SG_KS_FLAG_SEP))
            return 1;
    return 0;
}

/* ---- The import ---------------------------------------------------------------------- */

/* The keys of the old server into the open transaction, with their real states where the
 * source keeps them (ctl/import.c: BIND's .state and .private times, Knot's keymgr
 * timers, PowerDNS's flags; a key with none is published and active from now). */
static int adopt_import(ctl *c, const adopt_opts *o, const served *sv, reasons *r)
{
    int n = 0;
    int rc = !strcmp(o->from, "bind")
                 ? ctl_import_bind_dir(c->ks, o->zone, o->key_dir, c->now, NULL, &n)
             : !strcmp(o->from, "knot")
                 ? ctl_import_knot(c->ks, o->zone, o->kasp, o->knot_conf, NULL, c->now, NULL, &n)
                 : ctl_import_pdns(c->ks, o->zone, o->pdns_dir, NULL, c->now, NULL, &n);
    if (rc) {
        why(r, "the keys of %s could not be imported from %s: %s", o->zone, o->from, sg_strerror(rc));
        return rc;
    }
    if (n == 0) {
        why(r, "%s holds no key of %s", o->from, o->zone);
        return SG_ENOTFOUND;
    }
    if (served_has_zsk(sv))
        return 0;
    /* a zone served with one SEP key and no ZSK is signed by a CSK, which BIND's files
     * without a .state do not say (their SEP flag makes it a KSK) */
    sg_ks_key *keys = NULL;
    size_t nk = 0;
    if ((rc = sg_ks_key_list(c->ks, o->zone, &keys, &nk)))
        return rc;
    for (size_t i = 0; i < nk && !rc; i++) {
        sg_ks_key *k = &keys[i];
        if (k->role != SG_KS_ROLE_KSK || sg_ks_key_public_only(k) ||
            served_flags_of(sv, k->algorithm, k->pubkey, k->pubkey_len) < 0)
            continue;
        k->role = SG_KS_ROLE_CSK;
        rc = sg_ks_key_update(c->ks, k, "zone adopt: the old server signs everything with it (CSK)",
                              c->now);
    }
    free(keys);
    return rc;
}

/* ---- What Signet would serve, checked ------------------------------------------------ */

static int in_rrset(const sg_ks_key *k)
{
    return k->state == SG_KS_PUBLISHED || k->state == SG_KS_READY || k->state == SG_KS_ACTIVE ||
           k->state == SG_KS_RETIRED;
}

static ldns_rr *key_rr(const sg_ks_key *k, uint32_t ttl, const char *type)
{
    char line[4096];
    ldns_rr *rr = NULL;
    if (!strcmp(type, "DS") ? sg_ks_key_ds_text(k, ttl, SG_KS_DIGEST_SHA256, "DS", line, sizeof line)
                            : sg_ks_key_dnskey_text(k, ttl, "DNSKEY", line, sizeof line))
        return NULL;
    if (ldns_rr_new_frm_str(&rr, line, ttl, NULL, NULL) != LDNS_STATUS_OK)
        return NULL;
    return rr;
}

/* An RRSIG over rrs (one RRset, owner zone) made by Signet's signer with key k. */
static ldns_rr *sign(ctl *c, const sg_ks_key *k, const ldns_rr_list *rrs, int64_t now)
{
    EVP_PKEY *pk = NULL;
    if (sg_ks_key_load_private(c->ks, k->id, &pk))
        return NULL;
    ldns_rr_list *canon = ldns_rr_list_clone(rrs);
    for (size_t i = 0; i < ldns_rr_list_rr_count(canon); i++)
        ldns_rr2canonical(ldns_rr_list_rr(canon, i));
    ldns_rr_list_sort(canon);
    /* RDATA blob: [rdlength][rdata]... in canonical order */
    ldns_buffer *b = ldns_buffer_new(4096);
    ldns_rr *out = NULL;
    for (size_t i = 0; i < ldns_rr_list_rr_count(canon); i++) {
        size_t at = ldns_buffer_position(b);
        ldns_buffer_write_u16(b, 0);
        ldns_rr_rdata2buffer_wire(b, ldns_rr_list_rr(canon, i));
        ldns_buffer_write_u16_at(b, at, (uint16_t)(ldns_buffer_position(b) - at - 2));
    }
    ldns_rr *first = ldns_rr_list_rr(canon, 0);
    sg_rrset rs = { .type = (uint16_t)ldns_rr_get_type(first),
                    .count = (uint16_t)ldns_rr_list_rr_count(canon),
                    .ttl = ldns_rr_ttl(first),
                    .rdata_len = (uint32_t)ldns_buffer_position(b),
                    .rdata = ldns_buffer_begin(b) };
    sg_sign_key sk = { .pkey = pk, .algorithm = k->algorithm, .key_tag = k->tag,
                       .flags = k->flags, .id = k->id };
    const ldns_rdf *owner = ldns_rr_owner(first);
    uint8_t sig[SG_RRSIG_MAX + 1024];
    size_t siglen = 0;
    if (!ldns_buffer_status_ok(b) ||
        sg_rrsig_make(&sk, ldns_rdf_data(owner), ldns_rdf_data(owner),
                      (uint8_t)ldns_dname_label_count(owner), &rs, (uint32_t)(now - 3600),
                      (uint32_t)(now + 86400), sig, &siglen))
        goto done;
    /* owner, type RRSIG, class IN, TTL, rdlength, rdata: parsed back by ldns */
    uint8_t wire[sizeof sig + 300];
    size_t ol = ldns_rdf_size(owner), pos = 0;
    memcpy(wire, ldns_rdf_data(owner), ol);
    uint8_t *p = wire + ol;
    uint32_t ttl = rs.ttl;
    *p++ = 0, *p++ = LDNS_RR_TYPE_RRSIG, *p++ = 0, *p++ = 1;
    *p++ = (uint8_t)(ttl >> 24), *p++ = (uint8_t)(ttl >> 16), *p++ = (uint8_t)(ttl >> 8),
    *p++ = (uint8_t)ttl;
    *p++ = (uint8_t)(siglen >> 8), *p++ = (uint8_t)siglen;
    memcpy(p, sig, siglen);
    if (ldns_wire2rr(&out, wire, ol + 10 + siglen, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
        out = NULL;
done:
    ldns_buffer_free(b);
    ldns_rr_list_deep_free(canon);
    EVP_PKEY_free(pk);
    return out;
}

/* One parent server's DS RRset: each DS names a key, the DNSKEY RRset Signet would serve
 * is signed by an active KSK/CSK and that signature verifies (ldns) with a DNSKEY that
 * the parent's DS authenticates; the served SOA verifies with an active ZSK/CSK. */
static int validates(ctl *c, const adopt_opts *o, const served *sv, const sg_ks_key *keys,
                     size_t n, const sg_reg_dsset *ds, const char *server, uint32_t dnskey_ttl,
                     reasons *r, char *ok, size_t okcap)
{
    ldns_rr_list *rrset = ldns_rr_list_new(), *anchors = ldns_rr_list_new();
    int good = 0, bad = 0;
    for (size_t i = 0; i < n; i++)
        if (in_rrset(&keys[i])) {
            ldns_rr *rr = key_rr(&keys[i], dnskey_ttl, "DNSKEY");
            if (rr)
                ldns_rr_list_push_rr(rrset, rr);
        }
    /* which keys the parent's DS authenticates */
    for (size_t j = 0; j < ds->n; j++) {
        const sg_reg_ds *d = &ds->v[j];
        int matched = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t dk[SG_KS_RDATA_MAX], owner[256], rd[128];
            size_t dl, rl;
            ldns_rdf *on = ldns_dname_new_frm_str(o->zone);
            if (!on)
                continue;
            memcpy(owner, ldns_rdf_data(on), ldns_rdf_size(on));
            ldns_rdf_deep_free(on);
            if (keys[i].tag != d->tag || keys[i].algorithm != d->algorithm ||
                sg_ks_key_dnskey_rdata(&keys[i], dk, sizeof dk, &dl) ||
                sg_ks_ds_rdata(owner, dk, dl, d->digest_type, rd, sizeof rd, &rl) ||
                rl != 4 + d->digest_len || memcmp(rd + 4, d->digest, d->digest_len))
                continue;
            matched = 1;
            if (!in_rrset(&keys[i])) {
                why(r, "%s: DS %u %u %u is key %lld's, which is %s: not in the DNSKEY RRset",
                    server, d->tag, d->algorithm, d->digest_type, (long long)keys[i].id,
                    sg_ks_state_name(keys[i].state));
                continue;
            }
            ldns_rr *rr = key_rr(&keys[i], dnskey_ttl, "DNSKEY");
            if (rr)
                ldns_rr_list_push_rr(anchors, rr);
        }
        if (!matched) {
            why(r, "%s: the parent's DS %u %u %u matches no key of the old server", server,
                d->tag, d->algorithm, d->digest_type);
            bad++;
        }
    }
    /* each active KSK/CSK signs the DNSKEY RRset; one signature must verify through a DS */
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (k->state != SG_KS_ACTIVE || k->role == SG_KS_ROLE_ZSK)
            continue;
        ldns_rr *sig = sign(c, k, rrset, c->now);
        ldns_rr_list *sigs = ldns_rr_list_new(), *goodk = ldns_rr_list_new();
        if (sig)
            ldns_rr_list_push_rr(sigs, sig);
        if (sig && ldns_rr_list_rr_count(anchors) &&
            ldns_verify_rrsig_keylist_time(rrset, sig, anchors, (time_t)c->now, goodk) ==
                LDNS_STATUS_OK) {
            good++;
            size_t len = strlen(ok);
            snprintf(ok + len, okcap - len, "%sDNSKEY RRset signed by %u verifies with the DS at %s",
                     len ? "; " : "", k->tag, server);
        }
        ldns_rr_list_free(goodk);
        ldns_rr_list_deep_free(sigs);
    }
    if (!good)
        why(r, "%s: no DNSKEY RRSIG made with an active KSK/CSK verifies with the parent's DS "
               "(%zu DS)", server, ds->n);
    /* the zone's data: the served SOA, signed by each active ZSK (CSK) */
    int zsigned = 0;
    ldns_rr_list *soa = ldns_rr_list_new();
    ldns_rr_list_push_rr(soa, ldns_rr_clone(sv->soa));
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (k->state != SG_KS_ACTIVE || k->role == SG_KS_ROLE_KSK)
            continue;
        ldns_rr *sig = sign(c, k, soa, c->now);
        ldns_rr_list *goodk = ldns_rr_list_new();
        if (sig && ldns_verify_rrsig_keylist_time(soa, sig, rrset, (time_t)c->now, goodk) ==
                       LDNS_STATUS_OK)
            zsigned++;
        else
            why(r, "the SOA signed with key %u does not verify with the DNSKEY RRset", k->tag);
        ldns_rr_free(sig);
        ldns_rr_list_free(goodk);
    }
    if (!zsigned)
        why(r, "no active ZSK or CSK would sign the zone's data");
    ldns_rr_list_deep_free(soa);
    ldns_rr_list_deep_free(rrset);
    ldns_rr_list_deep_free(anchors);
    return good && zsigned && !bad;
}

/* ---- The command --------------------------------------------------------------------- */

static const char adopt_help[] =
    "usage: signetctl zone adopt ZONE --from bind|knot|pdns --server ADDR[@PORT]\n"
    "           [--parent-ns ADDR[@PORT]]... [--key-dir DIR] [--kasp DIR]\n"
    "           [--knot-config FILE] [--pdns-config-dir DIR] [--policy P] [--check]\n"
    "\n"
    "Take over a signed zone with the parent's DS untouched. Asks the old server (--server)\n"
    "for the SOA and DNSKEY RRset, imports its keys with their states (BIND: --key-dir with\n"
    "K*.key, .private and .state; Knot DNS: --kasp, its KASP directory, timers through\n"
    "keymgr [-c --knot-config]; PowerDNS: pdnsutil [--config-dir --pdns-config-dir], any\n"
    "backend), and refuses unless\n"
    "  - the imported keys give exactly the DNSKEY RRset the old server serves,\n"
    "  - every parent server (--parent-ns, repeatable) serves a DS RRset whose every DS\n"
    "    matches a key, and a DNSKEY RRSIG made with an active KSK/CSK verifies with it,\n"
    "  - an active ZSK (or CSK) signs the zone's data.\n"
    "Then it records the matching keys as DS seen (with the parent's DS TTL) and the served\n"
    "SOA serial as the serial floor. One transaction: a refusal changes nothing.\n"
    "--check prints what would be served and whether it validates, and changes nothing.\n"
    "--policy P: the zone's policy when it is added (default: 'default').\n";

static int parse_adopt(int argc, char **argv, adopt_opts *o)
{
    memset(o, 0, sizeof *o);
    const char *zone = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(adopt_help, stdout);
            return CTL_DONE;
        }
        if (!strcmp(a, "--check")) {
            o->check = 1;
            continue;
        }
        if (!strcmp(a, "--from"))
            dst = &o->from;
        else if (!strcmp(a, "--server"))
            dst = &o->server;
        else if (!strcmp(a, "--key-dir"))
            dst = &o->key_dir;
        else if (!strcmp(a, "--kasp") || !strcmp(a, "--knot-kasp"))
            dst = &o->kasp;
        else if (!strcmp(a, "--pdns-config-dir"))
            dst = &o->pdns_dir;
        else if (!strcmp(a, "--knot-config"))
            dst = &o->knot_conf;
        else if (!strcmp(a, "--policy"))
            dst = &o->policy;
        else if (!strcmp(a, "--parent-ns")) {
            if (o->nparent >= ADOPT_MAX_NS)
                return ctl_usage("zone adopt ", "at most %d --parent-ns", ADOPT_MAX_NS);
            dst = &o->parent_ns[o->nparent++];
        } else if (a[0] == '-' && a[1] == '-')
            return ctl_usage("zone adopt ", "unknown option '%s'", a);
        else if (zone)
            return ctl_usage("zone adopt ", "one ZONE only");
        else {
            zone = a;
            continue;
        }
        if (i + 1 >= argc)
            return ctl_usage("zone adopt ", "option '%s' needs a value", a);
        *dst = argv[++i];
    }
    if (!zone || sg_ks_zone_normalize(zone, o->zone))
        return ctl_usage("zone adopt ", "needs one valid ZONE");
    if (!o->from || (strcmp(o->from, "bind") && strcmp(o->from, "knot") && strcmp(o->from, "pdns")))
        return ctl_usage("zone adopt ", "--from bind|knot|pdns is required");
    if (!o->server)
        return ctl_usage("zone adopt ", "--server ADDR[@PORT] (the old server) is required");
    if (!o->nparent)
        return ctl_usage("zone adopt ", "--parent-ns ADDR[@PORT] is required (each parent server)");
    if (!strcmp(o->from, "bind") && !o->key_dir)
        return ctl_usage("zone adopt ", "--from bind needs --key-dir DIR");
    if (!strcmp(o->from, "knot") && !o->kasp)
        return ctl_usage("zone adopt ", "--from knot needs --kasp DIR");
    return CTL_OK;
}

static void print_keys(const sg_ks_key *keys, size_t n, const served *sv, const sg_reg_dsset *ds,
                       int nds)
{
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        int dsm = 0;
        for (int s = 0; s < nds; s++)
            for (size_t j = 0; j < ds[s].n; j++)
                dsm |= ds[s].v[j].tag == k->tag && ds[s].v[j].algorithm == k->algorithm;
        int srv = served_flags_of(sv, k->algorithm, k->pubkey, k->pubkey_len) == k->flags;
        printf("key %-4lld tag %-5u %-3s %-16s %-9s %s%s\n", (long long)k->id, k->tag,
               sg_ks_role_name(k->role), sg_ks_alg_name(k->algorithm) ? sg_ks_alg_name(k->algorithm) : "?",
               sg_ks_state_name(k->state), srv ? "served" : "NOT served",
               dsm ? ", DS at the parent" : "");
    }
}

int cmd_zone_adopt(ctl *c, int argc, char **argv)
{
    adopt_opts o;
    int rc = parse_adopt(argc, argv, &o);
    if (rc)
        return rc == CTL_DONE ? CTL_OK : rc;
    char err[2048] = "";
    served sv;
    /* the network first: no write lock is held while servers are asked */
    if ((rc = served_fetch(&o, &sv, err, sizeof err))) {
        served_free(&sv);
        fprintf(stderr, "signetctl: zone adopt %s: %s\n", o.zone, err);
        return CTL_ERR;
    }
    sg_reg_dsset ds[ADOPT_MAX_NS];
    int nds = 0;
    for (int i = 0; i < o.nparent; i++) {
        char ra[160];
        if (reg_addr(o.parent_ns[i], ra, sizeof ra)) {
            served_free(&sv);
            return ctl_usage("zone adopt ", "bad --parent-ns '%s'", o.parent_ns[i]);
        }
        if ((rc = sg_reg_parent_query(ra, o.zone, ADOPT_TIMEOUT_MS, &ds[nds], err, sizeof err))) {
            fprintf(stderr, "signetctl: zone adopt %s: parent server %s: %s\n", o.zone,
                    o.parent_ns[i], err);
            for (int j = 0; j < nds; j++)
                sg_reg_dsset_deinit(&ds[j]);
            served_free(&sv);
            return CTL_ERR;
        }
        nds++;
    }
    if ((rc = ctl_open(c)) != CTL_OK)
        goto out_net;
    reasons r = { "", 0 };
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int ok = 0;
    char okmsg[2048] = "";
    if ((rc = sg_ks_begin(c->ks))) {
        rc = ctl_fail(c, rc, "zone adopt %s", o.zone);
        goto out_net;
    }
    sg_ks_zone z;
    int kr = sg_ks_zone_get(c->ks, o.zone, &z);
    if (kr == SG_ENOTFOUND)
        kr = sg_ks_zone_add(c->ks, o.zone, o.policy, c->now);
    else if (!kr && (kr = sg_ks_key_list(c->ks, o.zone, &keys, &n)) == 0 && n) {
        why(&r, "%s already has %zu keys in the keystore: adopt takes over a zone once", o.zone, n);
        kr = SG_EEXIST;
    }
    free(keys);
    keys = NULL;
    sg_ks_policy pol;
    if (!kr)
        kr = sg_ks_zone_get(c->ks, o.zone, &z);
    if (!kr)
        kr = sg_ks_policy_get(c->ks, z.policy, &pol);
    if (!kr && !r.len)
        kr = adopt_import(c, &o, &sv, &r);
    if (!kr)
        kr = sg_ks_key_list(c->ks, o.zone, &keys, &n);
    if (kr && !r.len)
        why(&r, "%s%s%s", sg_strerror(kr), *sg_ks_errmsg(c->ks) ? ": " : "", sg_ks_errmsg(c->ks));
    if (!kr) {
        /* exactly the served DNSKEY RRset */
        for (size_t i = 0; i < ldns_rr_list_rr_count(sv.dnskeys); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(sv.dnskeys, i);
            uint8_t rd[SG_KS_RDATA_MAX];
            size_t rl;
            int found = 0;
            if (rr_rdata(rr, rd, sizeof rd, &rl))
                continue;
            for (size_t j = 0; j < n; j++) {
                uint8_t kd[SG_KS_RDATA_MAX];
                size_t kl;
                found |= in_rrset(&keys[j]) && !sg_ks_key_dnskey_rdata(&keys[j], kd, sizeof kd, &kl) &&
                         kl == rl && !memcmp(kd, rd, rl);
            }
            if (!found)
                why(&r, "missing: the old server serves DNSKEY %u (flags %u) and no imported key "
                        "gives it", ldns_calc_keytag(rr), ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)));
        }
        for (size_t j = 0; j < n; j++)
            if (in_rrset(&keys[j]) &&
                served_flags_of(&sv, keys[j].algorithm, keys[j].pubkey, keys[j].pubkey_len) !=
                    keys[j].flags)
                why(&r, "extra: imported key %u (%s, %s) would be in the DNSKEY RRset but the old "
                        "server does not serve it", keys[j].tag, sg_ks_role_name(keys[j].role),
                    sg_ks_state_name(keys[j].state));
        /* the parent's DS, per server */
        int valid = !r.len;
        for (int s = 0; s < nds && !r.len; s++)
            valid &= validates(c, &o, &sv, keys, n, &ds[s], o.parent_ns[s], pol.dnskey_ttl, &r,
                               okmsg, sizeof okmsg);
        ok = valid && !r.len;
    }
    /* record what the world does: DS seen with its TTL, the old serial */
    uint32_t ds_ttl = 0;
    for (int s = 0; s < nds; s++)
        ds_ttl = ds[s].ttl > ds_ttl ? ds[s].ttl : ds_ttl;
    for (size_t i = 0; ok && i < n && !kr; i++) {
        sg_ks_key *k = &keys[i];
        int everywhere = k->role != SG_KS_ROLE_ZSK;
        for (int s = 0; s < nds && everywhere; s++) {
            int here = 0;
            for (size_t j = 0; j < ds[s].n; j++)
                here |= ds[s].v[j].tag == k->tag && ds[s].v[j].algorithm == k->algorithm;
            everywhere &= here;
        }
        if (!everywhere)
            continue;
        if (!k->ds_submitted) {
            k->ds_submitted = c->now;
            kr = sg_ks_key_update(c->ks, k, "zone adopt: the parent already serves its DS", c->now);
        }
        if (!kr)
            kr = sg_roll_ds_seen(c->ks, o.zone, k->id, c->now, NULL);
        if (!kr)
            kr = sg_ks_key_get(c->ks, k->id, k);
    }
    char src[256];
    snprintf(src, sizeof src, "zone adopt: parent %s", o.parent_ns[0]);
    if (ok && !kr && ds_ttl)
        kr = sg_ks_fact_observe(c->ks, o.zone, SG_KS_FACT_PARENT_DS_TTL, ds_ttl, src, c->now);
    snprintf(src, sizeof src, "zone adopt: %s at %s", o.from, o.server);
    if (ok && !kr)
        kr = sg_ks_serial_floor_set(c->ks, o.zone, sv.serial, src, c->now);
    if (ok && !kr) {
        char ev[300];
        snprintf(ev, sizeof ev, "adopted from %s at %s (serial %u)", o.from, o.server, sv.serial);
        kr = sg_ks_event_add(c->ks, c->now, o.zone, 0, NULL, NULL, ev);
    }
    if (kr && ok) {
        why(&r, "%s", sg_strerror(kr));
        ok = 0;
    }
    /* the report */
    printf("zone %s from %s at %s: SOA serial %u, DNSKEY RRset of %zu keys\n", o.zone, o.from,
           o.server, sv.serial, ldns_rr_list_rr_count(sv.dnskeys));
    print_keys(keys, n, &sv, ds, nds);
    for (int s = 0; s < nds; s++) {
        printf("parent %s: DS TTL %u:", o.parent_ns[s], ds[s].ttl);
        for (size_t j = 0; j < ds[s].n; j++)
            printf(" %u/%u/%u", ds[s].v[j].tag, ds[s].v[j].algorithm, ds[s].v[j].digest_type);
        printf("%s\n", ds[s].n ? "" : " none (the zone is insecure at the parent)");
    }
    printf("serial floor: %u (Signet serves serials after it)\n", sv.serial);
    printf("validates: %s%s%s\n", ok ? "yes" : "no", *okmsg ? " - " : "", okmsg);
    if (ok && !o.check) {
        if ((kr = sg_ks_commit(c->ks))) {
            rc = ctl_fail(c, kr, "zone adopt %s", o.zone);
            goto out_keys;
        }
        printf("adopted: %zu keys; start signetd with this keystore, then switch the service\n", n);
        rc = CTL_OK;
    } else {
        sg_ks_rollback(c->ks);
        if (o.check) {
            printf("check only: nothing changed%s", ok ? "\n" : "; adopt would refuse:\n");
            fputs(r.text, stdout);
            rc = ok ? CTL_OK : CTL_ERR;
        } else {
            fprintf(stderr, "signetctl: zone adopt %s: refused, nothing changed:\n%s", o.zone, r.text);
            rc = CTL_ERR;
        }
    }
out_keys:
    free(keys);
out_net:
    for (int j = 0; j < nds; j++)
        sg_reg_dsset_deinit(&ds[j]);
    served_free(&sv);
    return rc;
}
