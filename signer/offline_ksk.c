/* SPDX-License-Identifier: MIT */
/* Offline KSK: the key signing request (online), its signing (offline), the check and
 * import of the signed response (online), and a stored bundle read back for serving. */
#include "signer/offline_ksk.h"
#include "common/errors.h"
#include "common/name.h"
#include "keystore/pkcs11.h"
#include "keystore/rollover.h"
#include "keystore/rollover_figures.h"
#include "keystore/skr.h"
#include "signer/signer.h"

#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KSR_MAGIC ";; signet key signing request 1"
#define SKR_MAGIC ";; signet signed key response 1"
#define SLOT_MAX 4096
#define INCEPTION_SKEW 3600
#define BUNDLE_RRS_MAX 64 /* records of one type (and RRSIGs over one RRset) in a slot */

static void fmt_time(int64_t t, char out[16])
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

static int parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (strlen(s) != 14 || sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return SG_EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* A growing text buffer. */
typedef struct text {
    char *s;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if (t->s && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t nc = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
        char *ns = realloc(t->s, nc);
        if (!ns) {
            t->oom = 1;
            return;
        }
        t->s = ns;
        t->cap = nc;
    }
}

/* ------------------------------------------------------------------ the documents */

typedef struct slot {
    int64_t from, to;
    int line;
    ldns_rr_list *rrs;
} slot;

typedef struct doc {
    char zone[SG_KS_ZONE_MAX];
    slot *slots;
    size_t n;
} doc;

static void doc_free(doc *d)
{
    for (size_t i = 0; i < d->n; i++)
        ldns_rr_list_deep_free(d->slots[i].rrs);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

/* Parse a KSR or SKR (magic): ";; zone", ";; slot FROM TO" and records, one a line. */
static int doc_parse(const char *in, const char *magic, doc *d, char *why, size_t cap)
{
    memset(d, 0, sizeof *d);
    int lineno = 0, rc = 0, seen_magic = 0;
    const char *p = in;
    char line[8192];
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        lineno++;
        if (len >= sizeof line) {
            rc = sg_say(why, cap, SG_EINVAL, "line %d: longer than %zu bytes", lineno, sizeof line - 1);
            goto fail;
        }
        memcpy(line, p, len);
        line[len] = 0;
        if (len && line[len - 1] == '\r')
            line[--len] = 0;
        p = e ? e + 1 : p + len;
        const char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            continue;
        if (!strcmp(s, magic)) {
            seen_magic = 1;
            continue;
        }
        if (!seen_magic) {
            rc = sg_say(why, cap, SG_EINVAL, "line %d: not a%s (expected \"%s\" first)", lineno,
                     !strcmp(magic, KSR_MAGIC) ? " key signing request" : " signed key response", magic);
            goto fail;
        }
        char a[64], b[64];
        if (!strncmp(s, ";; zone ", 8)) {
            if (sg_ks_zone_normalize(s + 8, d->zone)) {
                rc = sg_say(why, cap, SG_EINVAL, "line %d: bad zone name '%s'", lineno, s + 8);
                goto fail;
            }
            continue;
        }
        if (!strncmp(s, ";; slot ", 8)) {
            slot sl = { .line = lineno };
            if (sscanf(s + 8, "%63s %63s", a, b) != 2 || parse_time(a, &sl.from) || parse_time(b, &sl.to) ||
                sl.to <= sl.from || (d->n && sl.from < d->slots[d->n - 1].to)) {
                rc = sg_say(why, cap, SG_EINVAL, "line %d: a slot is \";; slot FROM TO\" "
                         "(YYYYMMDDHHMMSS, FROM < TO, after the previous slot)", lineno);
                goto fail;
            }
            if (d->n == SLOT_MAX) {
                rc = sg_say(why, cap, SG_EINVAL, "line %d: more than %d slots", lineno, SLOT_MAX);
                goto fail;
            }
            slot *ns = realloc(d->slots, (d->n + 1) * sizeof *ns);
            if (ns)
                d->slots = ns;
            if (!ns || !(sl.rrs = ldns_rr_list_new())) {
                rc = SG_ENOMEM;
                goto fail;
            }
            d->slots[d->n++] = sl;
            continue;
        }
        if (*s == ';')
            continue;
        if (!d->n || !d->zone[0]) {
            rc = sg_say(why, cap, SG_EINVAL, "line %d: a record before \";; zone\" and \";; slot\"", lineno);
            goto fail;
        }
        ldns_rr *rr = NULL;
        ldns_status st = ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL);
        if (st != LDNS_STATUS_OK) {
            rc = sg_say(why, cap, SG_EINVAL, "line %d: %s: %.80s", lineno, ldns_get_errorstr_by_id(st), s);
            goto fail;
        }
        if (!ldns_rr_list_push_rr(d->slots[d->n - 1].rrs, rr)) {
            ldns_rr_free(rr);
            rc = SG_ENOMEM;
            goto fail;
        }
    }
    if (!seen_magic || !d->zone[0] || !d->n) {
        rc = sg_say(why, cap, SG_EINVAL, "no %s with a \";; zone\" and at least one slot",
                 !strcmp(magic, KSR_MAGIC) ? "key signing request" : "signed key response");
        goto fail;
    }
    return 0;
fail:
    doc_free(d);
    return rc;
}

/* "owner TTL IN TYPE ..." of rr, without the newline, for messages and output */
static char *rr_text(const ldns_rr *rr)
{
    char *s = ldns_rr2str_fmt(ldns_output_format_nocomments, rr);
    if (s) {
        size_t l = strlen(s);
        while (l && (s[l - 1] == '\n' || s[l - 1] == ' '))
            s[--l] = 0;
    }
    return s;
}

static int owner_is(const ldns_rr *rr, const char *zone)
{
    char *o = ldns_rdf2str(ldns_rr_owner(rr));
    char z[SG_KS_ZONE_MAX];
    int ok = o && !sg_ks_zone_normalize(o, z) && !strcmp(z, zone);
    free(o);
    return ok;
}

/* ------------------------------------------------------------------ online: the request */

static int in_dnskey(const sg_ks_key *k, int64_t t)
{
    return k->publish && k->publish <= t && !(k->remove && k->remove <= t);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int is_zsk(const sg_ks_key *k) { return k->role == SG_KS_ROLE_ZSK; }

/* Pre-plan the ZSK chain through `to`: each successor published Ipub before its
 * predecessor's lifetime ends, signing from then; the predecessor leaves once its
 * signatures are gone from caches. Keys already planned are kept. */
static int pregenerate(sg_keystore *ks, const char *zone, const sg_ks_policy *p,
                       const sg_roll_intervals *iv, int64_t from, int64_t to, int64_t now,
                       char *why, size_t cap)
{
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int rc = sg_ks_key_list(ks, zone, &keys, &n);
    if (rc)
        return sg_say(why, cap, rc, "keys of %s not read: %s", zone, sg_strerror(rc));
    sg_ks_key cur;
    int have = 0;
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (!is_zsk(k) || sg_ks_key_public_only(k) || k->algorithm != p->algorithm || !k->active ||
            (k->remove && k->remove <= from))
            continue;
        if (!have || k->active > cur.active) {
            cur = *k;
            have = 1;
        }
    }
    free(keys);
    if (!have) {
        if ((rc = sg_ks_key_generate(ks, zone, SG_KS_ROLE_ZSK, 0, 0, now, &cur)))
            return sg_say(why, cap, rc, "ZSK not generated: %s", sg_strerror(rc));
        cur.publish = cur.active = from;
        cur.state = sg_ks_key_state_at(&cur, now);
        if ((rc = sg_ks_key_update(ks, &cur, "key signing request: first ZSK", now)))
            return sg_say(why, cap, rc, "ZSK %u not written: %s", cur.tag, sg_strerror(rc));
    }
    if (!p->zsk_lifetime)
        return 0;
    for (int guard = 0; guard < SLOT_MAX; guard++) {
        int64_t end = cur.retire ? cur.retire : cur.active + (int64_t)p->zsk_lifetime;
        if (end >= to || cur.retire)
            return 0; /* far enough, or a successor was planned by an earlier request */
        int64_t pub = end - (int64_t)iv->ipub;
        if (pub < now)
            pub = now;
        if (end < pub + (int64_t)iv->ipub)
            end = pub + (int64_t)iv->ipub;
        sg_ks_key next;
        if ((rc = sg_ks_key_generate(ks, zone, SG_KS_ROLE_ZSK, 0, 0, now, &next)))
            return sg_say(why, cap, rc, "ZSK not generated: %s", sg_strerror(rc));
        next.publish = pub;
        next.active = end;
        next.state = sg_ks_key_state_at(&next, now);
        cur.retire = end;
        cur.remove = end + (int64_t)iv->zsk_gone;
        cur.state = sg_ks_key_state_at(&cur, now);
        if ((rc = sg_ks_key_update(ks, &next, "key signing request: pre-planned ZSK", now)) ||
            (rc = sg_ks_key_update(ks, &cur, "key signing request: retirement planned", now)))
            return sg_say(why, cap, rc, "ZSK timing points not written: %s", sg_strerror(rc));
        cur = next;
    }
    return sg_say(why, cap, SG_EINVAL, "more than %d ZSKs in the period: a longer ZSK lifetime?", SLOT_MAX);
}

int sg_ksr_generate(sg_keystore *ks, const char *zone_in, int64_t from, int64_t to, int64_t now,
                    char **ksr_out, char *why, size_t cap)
{
    char zone[SG_KS_ZONE_MAX];
    if (!ks || !zone_in || !ksr_out || sg_ks_zone_normalize(zone_in, zone))
        return sg_say(why, cap, SG_EINVAL, "bad zone name");
    if (to <= from)
        return sg_say(why, cap, SG_EINVAL, "the period ends before it starts");
    sg_ks_zone zr;
    sg_ks_policy p;
    int rc = sg_ks_zone_get(ks, zone, &zr);
    if (rc)
        return sg_say(why, cap, rc, "zone %s: %s", zone, sg_strerror(rc));
    if ((rc = sg_ks_policy_get(ks, zr.policy, &p)))
        return sg_say(why, cap, rc, "policy %s: %s", zr.policy, sg_strerror(rc));
    if (p.csk)
        return sg_say(why, cap, SG_EINVAL, "policy %s signs with a CSK: an offline KSK needs "
                   "separate KSK and ZSK (a policy without --csk)", p.name);
    sg_roll_figures fig;
    memset(&fig, 0, sizeof fig);
    if ((rc = sg_roll_figures_load(ks, zone, now, &fig)))
        return sg_say(why, cap, rc, "figures of %s: %s", zone, sg_strerror(rc));
    sg_roll_intervals iv;
    sg_roll_intervals_of(&p, &fig, &iv);
    /* a slot's RRSIGs run over the slot and a margin: keep them within the policy's
     * signature validity */
    int64_t slot_max = p.sig_validity > p.sig_refresh + 3600 ? (int64_t)(p.sig_validity - p.sig_refresh)
                                                              : (int64_t)p.sig_validity / 2 + 1;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    int64_t *pts = NULL;
    sg_ks_skr_slot *slots = NULL;
    size_t ns = 0;
    text req = { 0 };
    if ((rc = sg_ks_begin(ks)))
        return sg_say(why, cap, rc, "keystore: %s", sg_strerror(rc));
    if ((rc = pregenerate(ks, zone, &p, &iv, from, to, now, why, cap)))
        goto fail;
    if ((rc = sg_ks_key_list(ks, zone, &keys, &n))) {
        sg_say(why, cap, rc, "keys of %s not read: %s", zone, sg_strerror(rc));
        goto fail;
    }
    /* slot boundaries: wherever the ZSK part of the DNSKEY RRset changes */
    size_t np = 0;
    pts = calloc(2 * n + 2, sizeof *pts);
    if (!pts) {
        rc = SG_ENOMEM;
        goto fail;
    }
    pts[np++] = from;
    pts[np++] = to;
    for (size_t i = 0; i < n; i++) {
        if (!is_zsk(&keys[i]))
            continue;
        if (keys[i].publish > from && keys[i].publish < to)
            pts[np++] = keys[i].publish;
        if (keys[i].remove > from && keys[i].remove < to)
            pts[np++] = keys[i].remove;
    }
    qsort(pts, np, sizeof *pts, cmp_i64);
    for (size_t i = 0; i + 1 < np; i++) {
        int64_t a = pts[i], b = pts[i + 1];
        while (a < b) {
            int64_t e = b - a > slot_max ? a + slot_max : b;
            if (ns == SLOT_MAX) {
                rc = sg_say(why, cap, SG_EINVAL, "more than %d slots: a shorter period?", SLOT_MAX);
                goto fail;
            }
            sg_ks_skr_slot *nsl = realloc(slots, (ns + 1) * sizeof *nsl);
            if (!nsl) {
                rc = SG_ENOMEM;
                goto fail;
            }
            slots = nsl;
            memset(&slots[ns], 0, sizeof slots[ns]);
            slots[ns].from = a;
            slots[ns].to = e;
            text t = { 0 };
            for (size_t k = 0; k < n; k++) {
                char line[2048];
                if (!is_zsk(&keys[k]) || !in_dnskey(&keys[k], a))
                    continue;
                if ((rc = sg_ks_key_dnskey_text(&keys[k], p.dnskey_ttl, "DNSKEY", line, sizeof line))) {
                    free(t.s);
                    goto fail;
                }
                put(&t, "%s\n", line);
            }
            put(&t, "%s", "");
            if (t.oom) {
                free(t.s);
                rc = SG_ENOMEM;
                goto fail;
            }
            slots[ns++].request = t.s;
            a = e;
        }
    }
    if ((rc = sg_ks_skr_plan(ks, zone, slots, ns, now))) {
        sg_say(why, cap, rc, "slots not recorded: %s", sg_strerror(rc));
        goto fail;
    }
    if ((rc = sg_ks_commit(ks))) {
        sg_say(why, cap, rc, "keystore: %s", sg_strerror(rc));
        goto fail_nocommit;
    }
    put(&req, "%s\n;; zone %s\n", KSR_MAGIC, zone);
    for (size_t i = 0; i < ns; i++) {
        char a[16], b[16];
        fmt_time(slots[i].from, a);
        fmt_time(slots[i].to, b);
        put(&req, ";; slot %s %s\n%s", a, b, slots[i].request);
    }
    sg_ks_skr_list_free(slots, ns);
    free(keys);
    free(pts);
    if (req.oom) {
        free(req.s);
        return SG_ENOMEM;
    }
    *ksr_out = req.s;
    return 0;
fail:
    sg_ks_rollback(ks);
fail_nocommit:
    sg_ks_skr_list_free(slots, ns);
    free(keys);
    free(pts);
    free(req.s);
    if (why && cap && !*why)
        sg_say(why, cap, rc, "%s", sg_strerror(rc));
    return rc;
}

/* ------------------------------------------------------------------ offline: the signing */

static int cmp_rd(const void *x, const void *y)
{
    const uint8_t *const *a = x, *const *b = y;
    uint16_t la = sg_rdlen(*a), lb = sg_rdlen(*b);
    int c = memcmp(*a + 2, *b + 2, la < lb ? la : lb);
    return c ? c : (la < lb ? -1 : la > lb);
}

/* An RRset of type from n RDATA (each 2-byte length first), canonical order, duplicates
 * dropped; the blob is malloc'd into *blob. */
static int rrset_of(uint16_t type, uint32_t ttl, uint8_t **rds, int n, sg_rrset *out, uint8_t **blob)
{
    memset(out, 0, sizeof *out);
    *blob = NULL;
    qsort(rds, (size_t)n, sizeof *rds, cmp_rd);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += 2u + sg_rdlen(rds[i]);
    if (!(*blob = malloc(total ? total : 1)))
        return SG_ENOMEM;
    size_t o = 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (i && !cmp_rd(&rds[i - 1], &rds[i]))
            continue;
        memcpy(*blob + o, rds[i], 2u + sg_rdlen(rds[i]));
        o += 2u + sg_rdlen(rds[i]);
        m++;
    }
    out->type = type;
    out->count = (uint16_t)m;
    out->ttl = ttl;
    out->rdata_len = (uint32_t)o;
    out->rdata = *blob;
    return 0;
}

/* Append the records of rs (owner apex) to t as presentation lines, through ldns. */
static int put_rrset(text *t, const uint8_t *apex, const sg_rrset *rs)
{
    const uint8_t *d = rs->rdata;
    size_t alen = sg_name_len(apex);
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t l = sg_rdlen(d);
        uint8_t wire[SG_NAME_MAX + 10 + 65535];
        memcpy(wire, apex, alen);
        size_t o = alen;
        wire[o++] = (uint8_t)(rs->type >> 8);
        wire[o++] = (uint8_t)rs->type;
        wire[o++] = 0;
        wire[o++] = 1; /* IN */
        wire[o++] = (uint8_t)(rs->ttl >> 24);
        wire[o++] = (uint8_t)(rs->ttl >> 16);
        wire[o++] = (uint8_t)(rs->ttl >> 8);
        wire[o++] = (uint8_t)rs->ttl;
        memcpy(wire + o, d, 2u + l);
        o += 2u + l;
        ldns_rr *rr = NULL;
        size_t pos = 0;
        if (ldns_wire2rr(&rr, wire, o, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
            return SG_EINVAL;
        char *s = rr_text(rr);
        ldns_rr_free(rr);
        if (!s)
            return SG_ENOMEM;
        put(t, "%s\n", s);
        free(s);
        d += 2u + l;
    }
    return t->oom ? SG_ENOMEM : 0;
}

/* The RDATA (2-byte length first) of an ldns record, malloc'd. */
static uint8_t *rdata_of(const ldns_rr *rr)
{
    ldns_buffer *b = ldns_buffer_new(512);
    uint8_t *out = NULL;
    if (b && ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK && ldns_buffer_position(b) <= 65535) {
        size_t l = ldns_buffer_position(b);
        if ((out = malloc(2 + l))) {
            out[0] = (uint8_t)(l >> 8);
            out[1] = (uint8_t)l;
            memcpy(out + 2, ldns_buffer_begin(b), l);
        }
    }
    ldns_buffer_free(b);
    return out;
}

typedef struct signer_keys {
    sg_sign_key *sk;
    int n;
} signer_keys;

static void signers_free(signer_keys *s)
{
    for (int i = 0; i < s->n; i++) {
        EVP_PKEY_free(s->sk[i].pkey);
        sg_p11_key_free(s->sk[i].token);
    }
    free(s->sk);
    memset(s, 0, sizeof *s);
}

static int ksk_role(const sg_ks_key *k) { return k->role == SG_KS_ROLE_KSK || k->role == SG_KS_ROLE_CSK; }
static int signs_at(const sg_ks_key *k, int64_t t)
{
    return k->active && k->active <= t && !(k->retire && k->retire <= t) && !sg_ks_key_public_only(k);
}

/* Sign rs with every signer into a RRSIG RRset (blob malloc'd). */
static int sign_rrset(const signer_keys *s, const uint8_t *apex, const sg_rrset *rs, uint32_t inc,
                      uint32_t exp, sg_rrset *out, uint8_t **blob)
{
    *blob = malloc((size_t)s->n * (2 + SG_RRSIG_MAX));
    if (!*blob)
        return SG_ENOMEM;
    size_t o = 0;
    for (int i = 0; i < s->n; i++) {
        size_t len;
        int rc = sg_rrsig_make(&s->sk[i], apex, apex, (uint8_t)sg_name_labels(apex), rs, inc, exp,
                               *blob + o + 2, &len);
        if (rc)
            return rc;
        (*blob)[o] = (uint8_t)(len >> 8);
        (*blob)[o + 1] = (uint8_t)len;
        o += 2 + len;
    }
    *out = (sg_rrset){ .type = SG_TYPE_RRSIG, .count = (uint16_t)s->n, .ttl = rs->ttl,
                       .rdata_len = (uint32_t)o, .rdata = *blob };
    return 0;
}

/* One slot's bundle: KSKs in the DNSKEY RRset at its start, the requested ZSKs, the DS
 * set the parent should have, all signed by the KSKs active then. */
static int sign_slot(sg_keystore *ks, const sg_ks_policy *p, const uint8_t *apex, const char *zone,
                     const sg_ks_key *keys, size_t n, const slot *sl, text *out, char *why, size_t cap)
{
    char a[16], b[16];
    fmt_time(sl->from, a);
    fmt_time(sl->to, b);
    size_t nz = ldns_rr_list_rr_count(sl->rrs);
    uint8_t **dk = calloc(n + nz + 1, sizeof *dk), **cds = calloc(n + 1, sizeof *cds),
            **cdk = calloc(n + 1, sizeof *cdk);
    uint8_t *blobs[6] = { 0 };
    signer_keys sg = { .sk = calloc(n + 1, sizeof(sg_sign_key)) };
    int ndk = 0, ncds = 0, ncdk = 0, rc = 0;
    if (!dk || !cds || !cdk || !sg.sk) {
        rc = SG_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nz; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(sl->rrs, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY || !owner_is(rr, zone) ||
            (ldns_rdf2native_int16(ldns_rr_dnskey_flags(rr)) & SG_KS_FLAG_SEP)) {
            char *s = rr_text(rr);
            rc = sg_say(why, cap, SG_EINVAL, "slot %s %s: only the zone's ZSK DNSKEYs may be requested, "
                     "not %.120s", a, b, s ? s : "?");
            free(s);
            goto done;
        }
        if (!(dk[ndk++] = rdata_of(rr))) {
            rc = SG_ENOMEM;
            goto done;
        }
    }
    int in_ds = 0;
    for (size_t i = 0; i < n; i++)
        in_ds |= ksk_role(&keys[i]) && sg_ks_key_in_ds_set(&keys[i], sl->from);
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if (!ksk_role(k))
            continue;
        int pub = in_dnskey(k, sl->from), act = signs_at(k, sl->from);
        /* CDS: the parent's DS set; a KSK whose DS was never recorded: the signing ones */
        int ds = in_ds ? sg_ks_key_in_ds_set(k, sl->from) : act;
        if (!pub && !act && !ds)
            continue;
        uint8_t rd[2 + SG_KS_RDATA_MAX];
        size_t len;
        if ((rc = sg_ks_key_dnskey_rdata(k, rd + 2, sizeof rd - 2, &len)))
            goto done;
        rd[0] = (uint8_t)(len >> 8);
        rd[1] = (uint8_t)len;
        if (pub || act) {
            if (!(dk[ndk] = malloc(2 + len))) {
                rc = SG_ENOMEM;
                goto done;
            }
            memcpy(dk[ndk++], rd, 2 + len);
        }
        if (ds && p->publish_cdnskey) {
            if (!(cdk[ncdk] = malloc(2 + len))) {
                rc = SG_ENOMEM;
                goto done;
            }
            memcpy(cdk[ncdk++], rd, 2 + len);
        }
        if (ds && p->publish_cds) {
            uint8_t dsr[2 + 4 + 64];
            size_t dl;
            if ((rc = sg_ks_ds_rdata(apex, rd + 2, len, p->ds_digest, dsr + 2, sizeof dsr - 2, &dl)))
                goto done;
            dsr[0] = (uint8_t)(dl >> 8);
            dsr[1] = (uint8_t)dl;
            if (!(cds[ncds] = malloc(2 + dl))) {
                rc = SG_ENOMEM;
                goto done;
            }
            memcpy(cds[ncds++], dsr, 2 + dl);
        }
        if (act) {
            sg_sign_key sk = { .algorithm = k->algorithm, .key_tag = k->tag, .flags = k->flags, .id = k->id };
            if (sg_ks_key_in_token(k)) {
                rc = sg_ks_key_open_token(ks, k->id, &sk.token);
                if (!rc)
                    rc = sg_ks_pkey_from_dnskey(k->algorithm, k->pubkey, k->pubkey_len, &sk.pkey);
            } else {
                rc = sg_ks_key_load_private(ks, k->id, &sk.pkey);
            }
            if (rc) {
                sg_p11_key_free(sk.token);
                EVP_PKEY_free(sk.pkey);
                sg_say(why, cap, rc, "KSK %u: private key not loaded: %s", k->tag, sg_strerror(rc));
                goto done;
            }
            sg.sk[sg.n++] = sk;
        }
    }
    if (sg.n == 0) {
        rc = sg_say(why, cap, SG_ENOTFOUND, "slot %s %s: no KSK of %s with its private key is active "
                 "at %s in this keystore", a, b, zone, a);
        goto done;
    }
    sg_rrset sets[6];
    uint32_t ttl = p->dnskey_ttl;
    uint32_t margin = p->sig_refresh > 2 * ttl ? p->sig_refresh : 2 * ttl;
    uint32_t inc = (uint32_t)(sl->from - INCEPTION_SKEW), exp = (uint32_t)(sl->to + margin);
    if ((rc = rrset_of(SG_TYPE_DNSKEY, ttl, dk, ndk, &sets[0], &blobs[0])) ||
        (rc = rrset_of(SG_TYPE_CDS, ttl, cds, ncds, &sets[1], &blobs[1])) ||
        (rc = rrset_of(SG_TYPE_CDNSKEY, ttl, cdk, ncdk, &sets[2], &blobs[2])))
        goto done;
    put(out, ";; slot %s %s\n", a, b);
    for (int i = 0; i < 3; i++) {
        if (!sets[i].count)
            continue;
        if ((rc = sign_rrset(&sg, apex, &sets[i], inc, exp, &sets[3 + i], &blobs[3 + i])) ||
            (rc = put_rrset(out, apex, &sets[i])) || (rc = put_rrset(out, apex, &sets[3 + i]))) {
            sg_say(why, cap, rc, "slot %s %s: not signed: %s", a, b, sg_strerror(rc));
            goto done;
        }
    }
done:
    for (int i = 0; dk && i < ndk; i++)
        free(dk[i]);
    for (int i = 0; cds && i < ncds; i++)
        free(cds[i]);
    for (int i = 0; cdk && i < ncdk; i++)
        free(cdk[i]);
    free(dk);
    free(cds);
    free(cdk);
    for (int i = 0; i < 6; i++)
        free(blobs[i]);
    signers_free(&sg);
    return rc;
}

int sg_ksr_sign(sg_keystore *ks, const char *zone, const char *ksr, char **skr_out, char *why,
                size_t cap)
{
    char want[SG_KS_ZONE_MAX];
    if (!ks || !ksr || !skr_out || (zone && sg_ks_zone_normalize(zone, want)))
        return sg_say(why, cap, SG_EINVAL, "bad zone name");
    doc d;
    int rc = doc_parse(ksr, KSR_MAGIC, &d, why, cap);
    if (rc)
        return rc;
    if (zone && strcmp(want, d.zone)) {
        sg_say(why, cap, SG_EINVAL, "the request is for %s, not %s", d.zone, want);
        doc_free(&d);
        return SG_EINVAL;
    }
    sg_ks_zone zr;
    sg_ks_policy p;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    text out = { 0 };
    uint8_t apex[SG_NAME_MAX];
    if ((rc = sg_ks_zone_get(ks, d.zone, &zr))) {
        sg_say(why, cap, rc, "zone %s is not in this keystore: %s", d.zone, sg_strerror(rc));
        goto done;
    }
    if ((rc = sg_ks_policy_get(ks, zr.policy, &p)) || (rc = sg_ks_key_list(ks, d.zone, &keys, &n))) {
        sg_say(why, cap, rc, "zone %s: %s", d.zone, sg_strerror(rc));
        goto done;
    }
    if (sg_name_from_str(zr.name, NULL, apex)) {
        rc = sg_say(why, cap, SG_EINVAL, "zone name %s", zr.name);
        goto done;
    }
    put(&out, "%s\n;; zone %s\n", SKR_MAGIC, d.zone);
    for (size_t i = 0; i < d.n; i++)
        if ((rc = sign_slot(ks, &p, apex, d.zone, keys, n, &d.slots[i], &out, why, cap)))
            goto done;
    if (out.oom) {
        rc = SG_ENOMEM;
        goto done;
    }
    *skr_out = out.s;
    out.s = NULL;
done:
    free(out.s);
    free(keys);
    doc_free(&d);
    return rc;
}

/* ------------------------------------------------------------------ online: the import */

static ldns_rr_list *rrset_in(const ldns_rr_list *l, ldns_rr_type t)
{
    ldns_rr_list *o = ldns_rr_list_new();
    for (size_t i = 0; o && i < ldns_rr_list_rr_count(l); i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t)
            ldns_rr_list_push_rr(o, ldns_rr_list_rr(l, i));
    return o;
}

static int rr_in(const ldns_rr_list *l, const ldns_rr *rr)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
        if (ldns_rr_compare(ldns_rr_list_rr(l, i), rr) == 0)
            return 1;
    return 0;
}

/* Every check of one slot; the refused record is named in why. */
static int check_slot(const char *zone, const sg_ks_skr_slot *plan, const slot *sl,
                      const ldns_rr_list *ksks, char *why, size_t cap)
{
    char a[16], b[16];
    fmt_time(sl->from, a);
    fmt_time(sl->to, b);
    int rc = 0;
    char *s = NULL;
    ldns_rr_list *req = ldns_rr_list_new(), *sets[3] = { 0 };
    const ldns_rr_type types[3] = { LDNS_RR_TYPE_DNSKEY, LDNS_RR_TYPE_CDS, LDNS_RR_TYPE_CDNSKEY };
    if (!req)
        return SG_ENOMEM;
    /* the request as planned here */
    for (const char *p = plan->request; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[4096];
        if (len && len < sizeof line) {
            memcpy(line, p, len);
            line[len] = 0;
            ldns_rr *rr = NULL;
            if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) == LDNS_STATUS_OK)
                ldns_rr_list_push_rr(req, rr);
        }
        p = e ? e + 1 : p + len;
    }
    for (size_t i = 0; i < ldns_rr_list_rr_count(sl->rrs); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(sl->rrs, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (!owner_is(rr, zone) || (t != LDNS_RR_TYPE_DNSKEY && t != LDNS_RR_TYPE_CDS &&
                                    t != LDNS_RR_TYPE_CDNSKEY && t != LDNS_RR_TYPE_RRSIG)) {
            s = rr_text(rr);
            rc = sg_say(why, cap, SG_EINVAL, "slot %s %s: record not for %s's apex key RRsets: %.160s",
                     a, b, zone, s ? s : "?");
            goto done;
        }
        /* every DNSKEY: a requested ZSK or a KSK held here */
        if (t == LDNS_RR_TYPE_DNSKEY && !rr_in(req, rr) && !rr_in(ksks, rr)) {
            s = rr_text(rr);
            rc = sg_say(why, cap, SG_EINVAL, "slot %s %s: DNSKEY neither requested nor a KSK of %s "
                     "held here: %.160s", a, b, zone, s ? s : "?");
            goto done;
        }
    }
    for (int i = 0; i < 3; i++)
        if (!(sets[i] = rrset_in(sl->rrs, types[i]))) {
            rc = SG_ENOMEM;
            goto done;
        }
    for (size_t i = 0; i < ldns_rr_list_rr_count(req); i++)
        if (!rr_in(sets[0], ldns_rr_list_rr(req, i))) {
            s = rr_text(ldns_rr_list_rr(req, i));
            rc = sg_say(why, cap, SG_EINVAL, "slot %s %s: the requested ZSK is missing from the DNSKEY "
                     "RRset: %.160s", a, b, s ? s : "?");
            goto done;
        }
    if (ldns_rr_list_rr_count(sets[0]) == 0) {
        rc = sg_say(why, cap, SG_EINVAL, "slot %s %s: no DNSKEY RRset", a, b);
        goto done;
    }
    /* what the signer can hold of one slot (sg_skr_bundle_rrsets) */
    for (int i = 0; i < 3; i++)
        if (ldns_rr_list_rr_count(sets[i]) > BUNDLE_RRS_MAX ||
            ldns_rr_list_rr_count(sl->rrs) > 6 * BUNDLE_RRS_MAX) {
            rc = sg_say(why, cap, SG_EINVAL, "slot %s %s: more than %d records of a type", a, b,
                     BUNDLE_RRS_MAX);
            goto done;
        }
    int good[3] = { 0, 0, 0 };
    uint32_t ttl = ldns_rr_ttl(ldns_rr_list_rr(sets[0], 0));
    for (size_t i = 0; i < ldns_rr_list_rr_count(sl->rrs); i++) {
        ldns_rr *sig = ldns_rr_list_rr(sl->rrs, i);
        if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG)
            continue;
        ldns_rr_type cov = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
        int w = cov == LDNS_RR_TYPE_DNSKEY ? 0 : cov == LDNS_RR_TYPE_CDS ? 1 : cov == LDNS_RR_TYPE_CDNSKEY ? 2 : -1;
        ldns_status st = LDNS_STATUS_CRYPTO_NO_MATCHING_KEYTAG_DNSKEY;
        if (w >= 0 && ldns_rr_list_rr_count(sets[w])) {
            ldns_rr_list *goodk = ldns_rr_list_new();
            st = ldns_verify_rrsig_keylist_time(sets[w], sig, ksks, (time_t)sl->from, goodk);
            ldns_rr_list_free(goodk);
        }
        uint32_t inc = ldns_rdf2native_time_t(ldns_rr_rrsig_inception(sig));
        uint32_t exp = ldns_rdf2native_time_t(ldns_rr_rrsig_expiration(sig));
        const char *what = NULL;
        if (w < 0)
            what = "covers no apex key RRset here";
        else if (st != LDNS_STATUS_OK)
            what = ldns_get_errorstr_by_id(st);
        else if ((int64_t)inc > sl->from || (int64_t)exp < sl->to + (int64_t)ttl)
            what = "its validity does not cover the slot and the DNSKEY TTL after it";
        if (what) {
            s = rr_text(sig);
            rc = sg_say(why, cap, SG_EINVAL, "slot %s %s: RRSIG refused (%s): %.200s", a, b, what, s ? s : "?");
            goto done;
        }
        good[w] = 1;
    }
    for (int i = 0; i < 3; i++)
        if (ldns_rr_list_rr_count(sets[i]) && !good[i]) {
            char *t = ldns_rr_type2str(types[i]);
            rc = sg_say(why, cap, SG_EINVAL, "slot %s %s: the %s RRset has no signature by a KSK of %s",
                     a, b, t ? t : "?", zone);
            free(t);
            goto done;
        }
done:
    free(s);
    for (int i = 0; i < 3; i++)
        ldns_rr_list_free(sets[i]);
    ldns_rr_list_deep_free(req);
    return rc;
}

int sg_skr_import(sg_keystore *ks, const char *zone_in, const char *skr, int64_t now,
                  size_t *nslots_out, char *why, size_t cap)
{
    char zone[SG_KS_ZONE_MAX];
    if (!ks || !zone_in || !skr || sg_ks_zone_normalize(zone_in, zone))
        return sg_say(why, cap, SG_EINVAL, "bad zone name");
    doc d;
    int rc = doc_parse(skr, SKR_MAGIC, &d, why, cap);
    if (rc)
        return rc;
    sg_ks_key *keys = NULL;
    size_t n = 0, np = 0;
    sg_ks_skr_slot *plan = NULL;
    ldns_rr_list *ksks = ldns_rr_list_new();
    char **texts = calloc(d.n, sizeof *texts);
    if (!ksks || !texts) {
        rc = SG_ENOMEM;
        goto done;
    }
    if (strcmp(d.zone, zone)) {
        rc = sg_say(why, cap, SG_EINVAL, "the response is for %s, not %s", d.zone, zone);
        goto done;
    }
    if ((rc = sg_ks_key_list(ks, zone, &keys, &n)) || (rc = sg_ks_skr_list(ks, zone, 1, &plan, &np))) {
        sg_say(why, cap, rc, "zone %s: %s", zone, sg_strerror(rc));
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char line[2048];
        ldns_rr *rr = NULL;
        if (!ksk_role(&keys[i]) || sg_ks_key_dnskey_text(&keys[i], 0, "DNSKEY", line, sizeof line) ||
            ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
            continue;
        ldns_rr_list_push_rr(ksks, rr);
    }
    if (!ldns_rr_list_rr_count(ksks)) {
        rc = sg_say(why, cap, SG_ENOTFOUND, "%s has no KSK here to check the signatures with "
                 "(signetctl key import %s KSK.key --public)", zone, zone);
        goto done;
    }
    for (size_t i = 0; i < d.n; i++) {
        const slot *sl = &d.slots[i];
        const sg_ks_skr_slot *pl = NULL;
        for (size_t j = 0; j < np; j++)
            if (plan[j].from == sl->from && plan[j].to == sl->to)
                pl = &plan[j];
        char a[16], b[16];
        fmt_time(sl->from, a);
        fmt_time(sl->to, b);
        if (!pl) {
            rc = sg_say(why, cap, SG_EINVAL, "slot %s %s (line %d) was not requested for %s: "
                     "signetctl ksr generate first", a, b, sl->line, zone);
            goto done;
        }
        if ((rc = check_slot(zone, pl, sl, ksks, why, cap)))
            goto done;
        text t = { 0 };
        for (size_t k = 0; k < ldns_rr_list_rr_count(sl->rrs); k++) {
            char *s = rr_text(ldns_rr_list_rr(sl->rrs, k));
            if (s)
                put(&t, "%s\n", s);
            else
                t.oom = 1;
            free(s);
        }
        if (t.oom) {
            free(t.s);
            rc = SG_ENOMEM;
            goto done;
        }
        texts[i] = t.s;
    }
    if ((rc = sg_ks_begin(ks)))
        goto store_failed;
    for (size_t i = 0; i < d.n; i++)
        if ((rc = sg_ks_skr_store(ks, zone, d.slots[i].from, d.slots[i].to, texts[i], now))) {
            sg_ks_rollback(ks);
            goto store_failed;
        }
    char ev[96];
    snprintf(ev, sizeof ev, "signed key response: %zu bundles imported", d.n);
    if ((rc = sg_ks_event_add(ks, now, zone, 0, "", "", ev))) {
        sg_ks_rollback(ks);
        goto store_failed;
    }
    if ((rc = sg_ks_commit(ks)))
        goto store_failed;
    if (nslots_out)
        *nslots_out = d.n;
    goto done;
store_failed:
    sg_say(why, cap, rc, "bundles not stored: %s", sg_strerror(rc));
done:
    for (size_t i = 0; texts && i < d.n; i++)
        free(texts[i]);
    free(texts);
    ldns_rr_list_deep_free(ksks);
    sg_ks_skr_list_free(plan, np);
    free(keys);
    doc_free(&d);
    return rc;
}

/* ------------------------------------------------------------------ serving */

int sg_skr_bundle_rrsets(const char *txt, sg_arena *mem, sg_rrset out[6])
{
    memset(out, 0, 6 * sizeof *out);
    uint8_t *rds[6][BUNDLE_RRS_MAX];
    int cnt[6] = { 0 };
    uint32_t ttl[6] = { 0 };
    int rc = 0;
    for (const char *p = txt; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char line[8192];
        if (len && len < sizeof line && *p != ';') {
            memcpy(line, p, len);
            line[len] = 0;
            ldns_rr *rr = NULL;
            if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK) {
                rc = SG_EINVAL;
                goto done;
            }
            ldns_rr_type t = ldns_rr_get_type(rr);
            int w = -1;
            if (t == LDNS_RR_TYPE_RRSIG)
                t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)), w = 3;
            else
                w = 0;
            w += t == LDNS_RR_TYPE_DNSKEY ? 0 : t == LDNS_RR_TYPE_CDS ? 1 : t == LDNS_RR_TYPE_CDNSKEY ? 2 : 100;
            if (w < 6 && cnt[w] == BUNDLE_RRS_MAX) {
                ldns_rr_free(rr);
                rc = SG_ESPACE; /* never cut an RRset: its signatures would not verify */
                goto done;
            }
            if (w < 6) {
                ttl[w] = ldns_rr_ttl(rr);
                if (!(rds[w][cnt[w]] = rdata_of(rr))) {
                    ldns_rr_free(rr);
                    rc = SG_ENOMEM;
                    goto done;
                }
                cnt[w]++;
            }
            ldns_rr_free(rr);
        }
        p = e ? e + 1 : p + len;
    }
    for (int w = 0; w < 6; w++) {
        if (!cnt[w])
            continue;
        sg_rrset rs;
        uint8_t *blob;
        if ((rc = rrset_of(w < 3 ? (uint16_t[]){ SG_TYPE_DNSKEY, SG_TYPE_CDS, SG_TYPE_CDNSKEY }[w]
                                 : SG_TYPE_RRSIG, ttl[w], rds[w], cnt[w], &rs, &blob)))
            goto done;
        uint8_t *copy = sg_arena_dup(mem, blob, rs.rdata_len ? rs.rdata_len : 1);
        free(blob);
        if (!copy) {
            rc = SG_ENOMEM;
            goto done;
        }
        rs.rdata = copy;
        out[w] = rs;
    }
    /* the RRSIGs are served with their RRset's TTL */
    for (int w = 0; w < 3; w++)
        if (out[w].count && out[3 + w].count)
            out[3 + w].ttl = out[w].ttl;
    if (!out[0].count || !out[3].count)
        rc = SG_EINVAL; /* a bundle without a signed DNSKEY RRset serves nothing */
done:
    for (int w = 0; w < 6; w++)
        for (int i = 0; i < cnt[w]; i++)
            free(rds[w][i]);
    return rc;
}
