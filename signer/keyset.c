/* SPDX-License-Identifier: MIT */
/* Keystore -> signer: which keys are published, which sign what, and the apex DNSKEY,
 * CDS and CDNSKEY RRsets, rebuilt whenever the keystore changes. */
#include "signer/keyset.h"
#include "signer/compact_key.h"
#include "signer/sigkey.h"
#include "common/errors.h"
#include "common/log.h"
#include "keystore/pkcs11.h"
#include "keystore/rollover.h"
#include "keystore/skr.h"
#include "signer/offline_ksk.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Membership follows the timing points (the engine writes each when it happens, and an
 * operator may set one ahead): in the DNSKEY RRset between publish and remove, signing
 * between active and retire, in the parent's DS set from submission until withdrawal or retirement. */
static int reached(int64_t t, int64_t now) { return t && t <= now; }
static int in_dnskey(const sg_ks_key *k, int64_t now)
{
    return reached(k->publish, now) && !reached(k->remove, now);
}
/* a public-only key (another signer's) never signs here, whatever its points say */
static int signs(const sg_ks_key *k, int64_t now)
{
    return reached(k->active, now) && !reached(k->retire, now) && !sg_ks_key_public_only(k);
}
/* the parent's DS set: one rule, shared with the registrar (keystore/dsset.c) */
static int in_ds_set(const sg_ks_key *k, int64_t now) { return sg_ks_key_in_ds_set(k, now); }

static int cmp_rdata(const void *a, const void *b)
{
    const uint8_t *const *x = a, *const *y = b;
    uint16_t lx = sg_rdlen(*x), ly = sg_rdlen(*y);
    int c = memcmp(*x + 2, *y + 2, lx < ly ? lx : ly);
    return c ? c : (lx < ly ? -1 : lx > ly);
}

/* An RRset from n RDATA blobs (each with its 2-byte length), sorted canonically. */
static int make_rrset(sg_arena *mem, uint16_t type, uint32_t ttl, uint8_t **rds, int n, sg_rrset *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    qsort(rds, (size_t)n, sizeof *rds, cmp_rdata);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += 2u + sg_rdlen(rds[i]);
    uint8_t *blob = sg_arena_alloc(mem, total);
    if (!blob)
        return SG_ENOMEM;
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        memcpy(blob + o, rds[i], 2u + sg_rdlen(rds[i]));
        o += 2u + sg_rdlen(rds[i]);
    }
    out->type = type;
    out->count = (uint16_t)n;
    out->ttl = ttl;
    out->rdata_len = (uint32_t)total;
    out->rdata = blob;
    return 0;
}

const sg_rrset *sg_keyset_presigned(const sg_keyset *k, const sg_rrset *rs)
{
    if (!k || !k->presigned)
        return NULL;
    const sg_rrset *sets[3] = { &k->dnskey, &k->cds, &k->cdnskey };
    for (int i = 0; i < 3; i++)
        if (rs == sets[i] || (rs->type == sets[i]->type && sets[i]->count))
            return k->presigned_sig[i].count ? &k->presigned_sig[i] : NULL;
    return NULL;
}

static void sign_key_free(sg_sign_key *sk)
{
    EVP_PKEY_free(sk->pkey);
    sg_compact_key_free(sk->compact);
    sg_p11_key_free(sk->token);
}

void sg_keyset_free(sg_keyset *k)
{
    if (!k)
        return;
    for (int i = 0; i < k->nzsk; i++)
        sign_key_free(&k->zsk[i]);
    for (int i = 0; i < k->nksk; i++)
        sign_key_free(&k->ksk[i]);
    free(k->zsk);
    free(k->ksk);
    sg_arena_deinit(&k->mem);
    free(k);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

int sg_keyset_load(sg_keystore *ks, const char *zone, int64_t now, uint64_t prev_fp,
                   sg_keyset **out)
{
    return sg_keyset_load_next(ks, zone, now, prev_fp, out, NULL);
}

/* the first timing point after now: membership (above) only moves at one */
static void next_point(const sg_ks_key *k, int64_t now, int64_t *next)
{
    const int64_t t[] = { k->publish, k->active, k->retire, k->remove, k->ds_submitted,
                          k->ds_seen, k->ds_withdrawn, k->ds_gone };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i] > now && t[i] < *next)
            *next = t[i];
}

static int keyset_policy_get(sg_keystore *ks, const char *name, sg_keyset_policy *out)
{
    sg_ks_policy p;
    int rc = sg_ks_policy_get(ks, name, &p);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->id = p.id;
    memcpy(out->name, p.name, sizeof out->name);
    out->denial = p.denial;
    out->dnskey_ttl = p.dnskey_ttl;
    out->sig_validity = p.sig_validity;
    out->sig_refresh = p.sig_refresh;
    out->sig_jitter = p.sig_jitter;
    out->nsec3_iterations = p.nsec3_iterations;
    out->nsec3_opt_out = p.nsec3_opt_out;
    out->publish_cds = p.publish_cds;
    out->publish_cdnskey = p.publish_cdnskey;
    out->ds_digest = p.ds_digest;
    return 0;
}

int sg_keyset_load_next(sg_keystore *ks, const char *zone, int64_t now, uint64_t prev_fp,
                        sg_keyset **out, int64_t *next_change_out)
{
    int64_t next_change = INT64_MAX;
    sg_ks_skr_slot bundle = { 0 };
    int stale = 0;
    if (next_change_out)
        *next_change_out = now + 1; /* on failure: look again soon */
    sg_ks_zone zr;
    int rc = sg_ks_zone_get(ks, zone, &zr);
    if (rc)
        return rc;
    sg_keyset *k = calloc(1, sizeof *k);
    if (!k)
        return SG_ENOMEM;
    /* one per zone: a CSK's DNSKEY and CDS take a few hundred bytes (fixed 16 KiB chunks
     * were most of a small zone's memory at 10^4 zones, fixed 1 KiB ones still half
     * empty); a bigger set (a rollover's keys) gets doubling chunks */
    sg_arena_init_growing(&k->mem, 16 * 1024);
    sg_ks_key *keys = NULL;
    size_t n = 0;
    uint8_t **dnskeys = NULL, **cds = NULL, **cdnskey = NULL;
    int ndk = 0, ncds = 0, ncdk = 0;
    if ((rc = keyset_policy_get(ks, zr.policy, &k->policy)) ||
        (rc = sg_ks_key_list(ks, zone, &keys, &n)))
        goto fail;
    if (sg_name_from_str(zr.name, NULL, k->apex)) {
        rc = SG_EINVAL;
        goto fail;
    }
    k->zsk = calloc(n ? n : 1, sizeof *k->zsk);
    k->ksk = calloc(n ? n : 1, sizeof *k->ksk);
    dnskeys = calloc(n ? n : 1, sizeof *dnskeys);
    cds = calloc(n ? n : 1, sizeof *cds);
    cdnskey = calloc(n ? n : 1, sizeof *cdnskey);
    if (!k->zsk || !k->ksk || !dnskeys || !cds || !cdnskey) {
        rc = SG_ENOMEM;
        goto fail;
    }
    /* the fingerprint first: an unchanged keyset loads no private key */
    uint64_t fp = 1469598103934665603ULL;
    fp = mix(fp, (uint64_t)k->policy.id);
    fp = mix(fp, (uint64_t)k->policy.denial << 32 | (uint64_t)k->policy.publish_cds << 1 |
                 (uint64_t)k->policy.publish_cdnskey);
    fp = mix(fp, (uint64_t)k->policy.nsec3_iterations << 8 | (uint64_t)k->policy.nsec3_opt_out);
    fp = mix(fp, (uint64_t)k->policy.dnskey_ttl << 32 | k->policy.sig_validity);
    fp = mix(fp, (uint64_t)k->policy.sig_refresh << 32 | k->policy.sig_jitter);
    fp = mix(fp, k->policy.ds_digest);
    for (const char *c = zr.state; *c; c++)
        fp = mix(fp, (uint8_t)*c);
    for (size_t i = 0; i < n; i++)
        next_point(&keys[i], now, &next_change);
    if (next_change_out)
        *next_change_out = next_change;
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *key = &keys[i];
        /* a double-DS successor is in the DS set before it is published or signs */
        if (in_dnskey(key, now) || signs(key, now) || in_ds_set(key, now)) {
            fp = mix(fp, (uint64_t)key->id);
            fp = mix(fp, (uint64_t)(in_dnskey(key, now) | signs(key, now) << 1 | in_ds_set(key, now) << 2));
        }
    }
    /* offline KSK: the bundle of the slot current at now, from the keystore */
    int offline = sg_ks_skr_offline(ks, zone);
    if (offline < 0) {
        rc = offline;
        goto fail;
    }
    if (offline > 0) {
        int64_t bnext = INT64_MAX;
        int brc = sg_ks_skr_at(ks, zone, now, &bundle, &stale, &bnext);
        if (brc && brc != SG_ENOTFOUND) {
            rc = brc;
            goto fail;
        }
        if (bnext < next_change)
            next_change = bnext;
        if (next_change_out)
            *next_change_out = next_change;
        fp = mix(fp, (uint64_t)bundle.id << 1 | (uint64_t)stale);
    }
    if (fp == prev_fp) {
        rc = SG_EEXIST;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *key = &keys[i];
        int pub = in_dnskey(key, now), act = signs(key, now);
        if (!pub && !act && !in_ds_set(key, now))
            continue;
        uint8_t rd[2 + SG_KS_RDATA_MAX];
        size_t len;
        if ((rc = sg_ks_key_dnskey_rdata(key, rd + 2, sizeof rd - 2, &len)))
            goto fail;
        rd[0] = (uint8_t)(len >> 8);
        rd[1] = (uint8_t)len;
        uint8_t *stored = sg_arena_dup(&k->mem, rd, 2 + len);
        if (!stored) {
            rc = SG_ENOMEM;
            goto fail;
        }
        if (pub)
            dnskeys[ndk++] = stored;
        if (act) {
            sg_sign_key sk = { .algorithm = key->algorithm, .key_tag = key->tag,
                               .flags = key->flags, .id = key->id,
                               .cache_id = sg_sigkey_signer(rd + 2, len, k->policy.sig_validity,
                                                            k->policy.sig_jitter) };
            if (sg_ks_key_in_token(key)) {
                /* the token signs; the public key gives the signature size */
                rc = sg_ks_key_open_token(ks, key->id, &sk.token);
                if (!rc)
                    rc = sg_ks_pkey_from_dnskey(key->algorithm, key->pubkey, key->pubkey_len,
                                                &sk.pkey);
                if (rc) {
                    /* a failing token was said by keystore/pkcs11.c on its change of state */
                    sg_log(rc == SG_KS_ETOKEN || rc == SG_KS_EPIN ? SG_LOG_DEBUG : SG_LOG_ERR,
                           "signer", zone, "key %lld: token key not opened: %s (%s)",
                           (long long)key->id, sg_strerror(rc), sg_ks_errmsg(ks));
                    sg_p11_key_free(sk.token);
                    EVP_PKEY_free(sk.pkey);
                    goto fail;
                }
            } else if ((rc = sg_ks_key_load_private(ks, key->id, &sk.pkey))) {
                sg_log(SG_LOG_ERR, "signer", zone, "key %lld: private key not loaded: %s",
                       (long long)key->id, sg_strerror(rc));
                goto fail;
            } else if (!sg_compact_key_from(sk.pkey, &sk.compact)) {
                EVP_PKEY_free(sk.pkey); /* built again when it signs */
                sk.pkey = NULL;
            }
            if (key->role != SG_KS_ROLE_KSK)
                k->zsk[k->nzsk++] = sk;
            if (key->role != SG_KS_ROLE_ZSK) {
                if (key->role == SG_KS_ROLE_CSK && sk.pkey && !EVP_PKEY_up_ref(sk.pkey)) {
                    rc = SG_ELIB;
                    goto fail;
                }
                if (key->role == SG_KS_ROLE_CSK) {
                    sg_p11_key_ref(sk.token);
                    sg_compact_key_ref(sk.compact);
                }
                k->ksk[k->nksk++] = sk;
            }
        }
        /* CDS/CDNSKEY: the DS set the parent should have */
        if (in_ds_set(key, now)) {
            if (k->policy.publish_cdnskey)
                cdnskey[ncdk++] = stored;
            if (k->policy.publish_cds) {
                uint8_t ds[2 + 4 + 64];
                size_t dl;
                if ((rc = sg_ks_ds_rdata(k->apex, rd + 2, len, k->policy.ds_digest, ds + 2,
                                         sizeof ds - 2, &dl)))
                    goto fail;
                ds[0] = (uint8_t)(dl >> 8);
                ds[1] = (uint8_t)dl;
                if (!(cds[ncds++] = sg_arena_dup(&k->mem, ds, 2 + dl))) {
                    rc = SG_ENOMEM;
                    goto fail;
                }
            }
        }
    }
    /* going insecure and no DS left to ask for: RFC 8078 delete records */
    static uint8_t cds_delete[] = { 0, 5, 0, 0, 0, 0, 0 };        /* 0 0 0 00 */
    static uint8_t cdnskey_delete[] = { 0, 5, 0, 0, 3, 0, 0 };    /* 0 3 0 AA== */
    if (!strncmp(zr.state, "unsigning", 9) && ncds == 0 && ncdk == 0) {
        if (k->policy.publish_cds)
            cds[ncds++] = cds_delete;
        if (k->policy.publish_cdnskey)
            cdnskey[ncdk++] = cdnskey_delete;
    }
    uint32_t ttl = k->policy.dnskey_ttl;
    if ((rc = make_rrset(&k->mem, SG_TYPE_DNSKEY, ttl, dnskeys, ndk, &k->dnskey)) ||
        (rc = make_rrset(&k->mem, SG_TYPE_CDS, ttl, cds, ncds, &k->cds)) ||
        (rc = make_rrset(&k->mem, SG_TYPE_CDNSKEY, ttl, cdnskey, ncdk, &k->cdnskey)))
        goto fail;
    if (bundle.response) {
        /* the KSK signed these offline: serve them as they are, sign nothing with a KSK */
        sg_rrset b[6];
        rc = sg_skr_bundle_rrsets(bundle.response, &k->mem, b);
        free(bundle.request);
        free(bundle.response);
        bundle.request = bundle.response = NULL;
        if (rc) {
            sg_log(SG_LOG_ERR, "signer", zone, "the offline KSK's bundle for the slot "
                   "from %lld does not parse: %s", (long long)bundle.from, sg_strerror(rc));
            goto fail;
        }
        k->dnskey = b[0];
        k->cds = b[1];
        k->cdnskey = b[2];
        memcpy(k->presigned_sig, b + 3, sizeof k->presigned_sig);
        ncds = b[1].count;
        ncdk = b[2].count;
        k->presigned = 1;
        k->skr_until = bundle.to;
        for (int i = 0; i < k->nksk; i++)
            sign_key_free(&k->ksk[i]);
        k->nksk = 0;
        if (stale)
            sg_log(SG_LOG_ERR, "signer", zone, "offline KSK: no signed bundle for now; serving "
                   "the last one (its slot ended at %lld): import a new signed key response "
                   "before its signatures expire", (long long)bundle.to);
    }
    k->apex_types[k->napex++] = SG_TYPE_DNSKEY;
    if (ncds)
        k->apex_types[k->napex++] = SG_TYPE_CDS;
    if (ncdk)
        k->apex_types[k->napex++] = SG_TYPE_CDNSKEY;
    k->fingerprint = fp;
    static _Atomic uint64_t next_gen = 1;
    k->gen = atomic_fetch_add(&next_gen, 1);
    free(keys);
    free(dnskeys);
    free(cds);
    free(cdnskey);
    (void)now;
    *out = k;
    return 0;
fail:
    free(bundle.request);
    free(bundle.response);
    free(keys);
    free(dnskeys);
    free(cds);
    free(cdnskey);
    sg_keyset_free(k);
    return rc;
}

int sg_keyset_ensure(sg_keystore *ks, const char *zone, const char *policy, int64_t now)
{
    sg_ks_zone zr;
    int rc = sg_ks_zone_get(ks, zone, &zr);
    if (rc == SG_ENOTFOUND) {
        rc = sg_ks_zone_add(ks, zone, policy, now);
        if (rc == 0)
            sg_log(SG_LOG_INFO, "signer", zone, "added to the keystore with policy %s", policy);
    }
    /* a zone already there keeps its own policy (`signetctl zone add --policy`, `zone
     * set`): the block's `policy` is for zones new to the keystore */
    if (rc) {
        sg_log(SG_LOG_ERR, "signer", zone, "keystore: %s", sg_strerror(rc));
        return rc;
    }
    /* a zone without keys gets them here: the engine's initial signing. Only then: other
     * events are the watcher's, which starts once every plugin is set up (the transfer
     * plugin after this one tells the engine which secondaries to wait for). */
    sg_ks_key *keys = NULL;
    size_t n = 0;
    if ((rc = sg_ks_key_list(ks, zone, &keys, &n)))
        return rc;
    int live = 0;
    for (size_t i = 0; i < n; i++)
        live |= keys[i].active && keys[i].active <= now && !(keys[i].retire && keys[i].retire <= now) &&
                !sg_ks_key_public_only(&keys[i]);
    free(keys);
    return live ? 0 : sg_roll_step(ks, zone, NULL, now, NULL);
}
