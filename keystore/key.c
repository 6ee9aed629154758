/* SPDX-License-Identifier: MIT */
/* Key rows: generation, reading, private key loading, timing and state changes, deletion. */
#include "keystore/internal.h"

#include "common/errors.h"
#include "common/log.h"
#include "keystore/pkcs11.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SELECT                                                                         \
    "SELECT k.id, z.name, k.key_tag, k.algorithm, k.role, k.flags, k.bits, k.public_key,"  \
    " k.storage, k.created, k.t_publish, k.t_active, k.t_retire, k.t_remove,"             \
    " k.t_ds_submitted, k.t_ds_seen, k.state, k.t_ds_withdrawn, k.t_ds_gone"               \
    " FROM keys k JOIN zones z ON z.id = k.zone_id"

static void row_to_key(sqlite3_stmt *st, sg_ks_key *k)
{
    memset(k, 0, sizeof *k);
    k->id = sqlite3_column_int64(st, 0);
    ks_col_text(st, 1, k->zone, sizeof k->zone);
    k->tag = (uint16_t)sqlite3_column_int(st, 2);
    k->algorithm = (uint8_t)sqlite3_column_int(st, 3);
    sg_ks_role_parse((const char *)sqlite3_column_text(st, 4), &k->role);
    k->flags = (uint16_t)sqlite3_column_int(st, 5);
    k->bits = (uint16_t)sqlite3_column_int(st, 6);
    int n = sqlite3_column_bytes(st, 7);
    if (n > 0 && (size_t)n <= sizeof k->pubkey) {
        memcpy(k->pubkey, sqlite3_column_blob(st, 7), (size_t)n);
        k->pubkey_len = (size_t)n;
    }
    ks_col_text(st, 8, k->storage, sizeof k->storage);
    k->created = sqlite3_column_int64(st, 9);
    k->publish = sqlite3_column_int64(st, 10);
    k->active = sqlite3_column_int64(st, 11);
    k->retire = sqlite3_column_int64(st, 12);
    k->remove = sqlite3_column_int64(st, 13);
    k->ds_submitted = sqlite3_column_int64(st, 14);
    k->ds_seen = sqlite3_column_int64(st, 15);
    sg_ks_state_parse((const char *)sqlite3_column_text(st, 16), &k->state);
    k->ds_withdrawn = sqlite3_column_int64(st, 17);
    k->ds_gone = sqlite3_column_int64(st, 18);
}

int sg_ks_key_list(sg_keystore *ks, const char *zone, sg_ks_key **list_out, size_t *n_out)
{
    if (!ks || !list_out || !n_out)
        return SG_EINVAL;
    *list_out = NULL;
    *n_out = 0;
    char name[SG_KS_ZONE_MAX];
    if (zone && sg_ks_zone_normalize(zone, name) != 0)
        return SG_EINVAL;
    sqlite3_stmt *st;
    /* two statements, not "?1 IS NULL OR z.name = ?1": SQLite cannot use the zone name's
     * index through the OR, and every zone's key list scanned all zones (100,000 zones
     * took 22 minutes to start) */
    int r = ks_prepare(ks, zone ? KEY_SELECT " WHERE z.name = ?1 ORDER BY k.id"
                                : KEY_SELECT " ORDER BY z.name, k.id",
                       &st);
    if (r)
        return r;
    if (zone)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sg_ks_key *list = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sg_ks_key *nl = realloc(list, (n + 1) * sizeof *list);
        if (!nl) {
            r = SG_ENOMEM;
            break;
        }
        list = nl;
        row_to_key(st, &list[n++]);
    }
    if (!r && rc != SQLITE_DONE)
        r = ks_sql_fail(ks, rc, "list keys");
    ks_finish(ks, st);
    if (r) {
        free(list);
        return r;
    }
    *list_out = list;
    *n_out = n;
    return 0;
}

int sg_ks_key_get(sg_keystore *ks, int64_t id, sg_ks_key *k_out)
{
    if (!ks || !k_out)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, KEY_SELECT " WHERE k.id = ?1", &st);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_key(st, k_out);
    else
        r = rc == SQLITE_DONE ? SG_ENOTFOUND : ks_sql_fail(ks, rc, "read key");
    ks_finish(ks, st);
    return r;
}

/* *taken_out: non-zero if the zone already has a key with this tag. */
static int tag_taken(sg_keystore *ks, int64_t zone_id, uint16_t tag, int *taken_out)
{
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT 1 FROM keys WHERE zone_id = ?1 AND key_tag = ?2", &st);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, zone_id);
    sqlite3_bind_int(st, 2, tag);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        *taken_out = rc == SQLITE_ROW;
    else
        r = ks_sql_fail(ks, rc, "check key tag");
    ks_finish(ks, st);
    return r;
}

/* A key row and its "generated"/"imported" event (caller holds a transaction). k->zone,
 * tag, algorithm, role, flags, bits, pubkey, timings and state are used; k->id and
 * k->created are filled in. The private half: pkey (kept as PEM), or token_ref (a key in a
 * PKCS#11 token: only its reference is kept), or neither (public-only). */
static int key_insert(sg_keystore *ks, int64_t zone_id, sg_ks_key *k, EVP_PKEY *pkey,
                      const char *token_ref, const char *reason, int64_t now)
{
    const ks_storage *stg = pkey ? ks_storage_for_new(ks) : &ks_storage_pem;
    if (!stg)
        return SG_KS_EKEK;
    uint8_t *blob = NULL;
    size_t blen = 0;
    int r = pkey ? stg->encode(ks, pkey, &blob, &blen) : 0;
    if (r)
        return r;
    const char *storage = pkey ? stg->name : token_ref ? KS_STORAGE_PKCS11 : KS_STORAGE_NONE;
    sqlite3_stmt *st;
    r = ks_prepare(ks, "INSERT INTO keys (zone_id, key_tag, algorithm, role, flags, bits,"
                       " public_key, storage, private_key, created, t_publish, t_active,"
                       " t_retire, t_remove, t_ds_submitted, t_ds_seen, state, t_ds_withdrawn,"
                       " t_ds_gone)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                       " ?15, ?16, ?17, ?18, ?19)", &st);
    if (r)
        goto out;
    sqlite3_bind_int64(st, 1, zone_id);
    sqlite3_bind_int(st, 2, k->tag);
    sqlite3_bind_int(st, 3, k->algorithm);
    sqlite3_bind_text(st, 4, sg_ks_role_name(k->role), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, k->flags);
    sqlite3_bind_int(st, 6, k->bits);
    sqlite3_bind_blob(st, 7, k->pubkey, (int)k->pubkey_len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, storage, -1, SQLITE_STATIC);
    /* SQLITE_STATIC: SQLite reads the secret from our buffer, which we cleanse below. */
    if (pkey)
        sqlite3_bind_blob(st, 9, blob, (int)blen, SQLITE_STATIC);
    else if (token_ref)
        sqlite3_bind_blob(st, 9, token_ref, (int)strlen(token_ref), SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(st, 9, 0); /* public-only: the column stays NOT NULL */
    sqlite3_bind_int64(st, 10, now);
    sqlite3_bind_int64(st, 11, k->publish);
    sqlite3_bind_int64(st, 12, k->active);
    sqlite3_bind_int64(st, 13, k->retire);
    sqlite3_bind_int64(st, 14, k->remove);
    sqlite3_bind_int64(st, 15, k->ds_submitted);
    sqlite3_bind_int64(st, 16, k->ds_seen);
    sqlite3_bind_text(st, 17, sg_ks_state_name(k->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 18, k->ds_withdrawn);
    sqlite3_bind_int64(st, 19, k->ds_gone);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "insert key");
        goto out;
    }
    k->id = sqlite3_last_insert_rowid(ks->db);
    k->created = now;
    snprintf(k->storage, sizeof k->storage, "%s", storage);
    char why[200];
    snprintf(why, sizeof why, "%s %s %s tag %u%s", reason, sg_ks_role_name(k->role),
             sg_ks_alg_name(k->algorithm) ? sg_ks_alg_name(k->algorithm) : "?", k->tag,
             pkey ? "" : token_ref ? " in a PKCS#11 token"
                               : " (public-only: another signer holds its private key)");
    r = sg_ks_event_add(ks, now, k->zone, k->id, "", sg_ks_state_name(k->state), why);
out:
    sg_secure_free(blob, blen);
    return r;
}

void ks_key_init(sg_ks_key *k, const char *zone, enum sg_ks_role role, uint8_t alg)
{
    memset(k, 0, sizeof *k);
    snprintf(k->zone, sizeof k->zone, "%s", zone);
    k->algorithm = alg;
    k->role = role;
    k->flags = SG_KS_FLAG_ZONE | (role == SG_KS_ROLE_ZSK ? 0 : SG_KS_FLAG_SEP);
}

int sg_ks_key_public_only(const sg_ks_key *k)
{
    return k && (!strcmp(k->storage, KS_STORAGE_NONE) || !strcmp(k->storage, KS_STORAGE_FOREIGN));
}

void ks_import_times_apply(sg_ks_key *k, const sg_ks_import_times *t, int public_only,
                           int64_t now)
{
    if (t && t->known) {
        k->publish = t->publish;
        k->active = t->active;
        k->retire = t->retire;
        k->remove = t->remove;
        k->ds_submitted = t->ds_submitted;
        k->ds_seen = t->ds_seen;
        k->ds_withdrawn = t->ds_withdrawn;
    } else {
        /* nothing said: the key is in use where it comes from, so it is in use here now
         * (a key left "generated" would be replaced by a key of our own, which no DS at
         * the parent vouches for) */
        k->publish = now;
        k->active = public_only ? 0 : now;
    }
    if (k->role == SG_KS_ROLE_ZSK)
        k->ds_submitted = k->ds_seen = k->ds_withdrawn = 0;
    if (k->ds_seen && (!k->ds_submitted || k->ds_submitted > k->ds_seen))
        k->ds_submitted = k->ds_seen;
    k->state = sg_ks_key_state_at(k, now);
}

int sg_ks_key_import_public(sg_keystore *ks, const char *zone, const uint8_t *rdata,
                            size_t rdlen, int role_override, const sg_ks_import_times *times,
                            int64_t now, sg_ks_key *key_out)
{
    if (!ks || !zone || !rdata || rdlen < 5 || rdlen - 4 > SG_KS_PUBKEY_MAX || rdata[2] != 3)
        return SG_EINVAL;
    sg_ks_zone z;
    int r = sg_ks_zone_get(ks, zone, &z);
    if (r)
        return r;
    sg_ks_key k;
    memset(&k, 0, sizeof k);
    snprintf(k.zone, sizeof k.zone, "%s", z.name);
    k.flags = (uint16_t)(rdata[0] << 8 | rdata[1]);
    k.algorithm = rdata[3];
    if (!sg_ks_alg_name(k.algorithm) || !(k.flags & SG_KS_FLAG_ZONE)) {
        ks_set_err(ks, "unsupported algorithm %u or not a zone key", k.algorithm);
        return SG_EINVAL;
    }
    k.pubkey_len = rdlen - 4;
    memcpy(k.pubkey, rdata + 4, k.pubkey_len);
    k.role = role_override >= 0 ? (enum sg_ks_role)role_override
           : (k.flags & SG_KS_FLAG_SEP) ? SG_KS_ROLE_KSK : SG_KS_ROLE_ZSK;
    EVP_PKEY *pub = NULL;
    if ((r = sg_ks_pkey_from_dnskey(k.algorithm, k.pubkey, k.pubkey_len, &pub)) != 0) {
        ks_set_err(ks, "the DNSKEY's public key is malformed");
        return r;
    }
    k.bits = sg_ks_pkey_bits(pub);
    EVP_PKEY_free(pub);
    k.tag = sg_ks_key_tag(rdata, rdlen);
    ks_import_times_apply(&k, times, 1, now);
    r = ks_key_import_insert(ks, &z, &k, NULL, "imported public-only", now);
    if (!r && key_out)
        *key_out = k;
    return r;
}

int ks_key_import_insert(sg_keystore *ks, const sg_ks_zone *z, sg_ks_key *k, EVP_PKEY *pkey,
                         const char *reason, int64_t now)
{
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    int taken = 0;
    r = tag_taken(ks, z->id, k->tag, &taken);
    if (!r && taken) {
        ks_set_err(ks, "zone %s already has a key with tag %u", z->name, k->tag);
        r = SG_EEXIST;
    }
    if (!r)
        r = key_insert(ks, z->id, k, pkey, NULL, reason, now);
    if (!r)
        r = sg_ks_commit(ks);
    else
        sg_ks_rollback(ks);
    return r;
}

/* sg_ks_key_generate for a policy whose keys live in a token: the pair is made there, the
 * row keeps its reference; a key not kept (tag taken, insert failed) leaves the token. */
static int key_generate_in_token(sg_keystore *ks, const sg_ks_zone *z, const sg_ks_policy *p,
                                 sg_ks_key *k, uint16_t bits, int64_t now, sg_ks_key *key_out)
{
    if (!sg_p11_alg_supported(k->algorithm)) {
        ks_set_err(ks, "algorithm %s cannot be kept in a PKCS#11 token here",
                   sg_ks_alg_name(k->algorithm));
        return SG_EINVAL;
    }
    char label[SG_KS_ZONE_MAX + 16], why[300];
    snprintf(label, sizeof label, "signet %s %s", z->name, sg_ks_role_name(k->role));
    int r = SG_EEXIST;
    for (int attempt = 0; attempt < 16 && r == SG_EEXIST; attempt++) {
        char ref[2048];
        r = sg_p11_generate(p->key_store, k->algorithm, bits ? bits : p->key_bits, label, ref,
                            sizeof ref, k->pubkey, sizeof k->pubkey, &k->pubkey_len, why,
                            sizeof why);
        if (r) {
            ks_set_err(ks, "%s", why);
            sg_log(r == SG_KS_ETOKEN || r == SG_KS_EPIN ? SG_LOG_DEBUG : SG_LOG_ERR, "keystore",
                   z->name, "key generation in the token failed: %s", why);
            return r;
        }
        uint8_t rd[SG_KS_RDATA_MAX];
        size_t rdlen;
        EVP_PKEY *pub = NULL;
        if (!(r = sg_ks_key_dnskey_rdata(k, rd, sizeof rd, &rdlen)) &&
            !(r = sg_ks_pkey_from_dnskey(k->algorithm, k->pubkey, k->pubkey_len, &pub))) {
            k->tag = sg_ks_key_tag(rd, rdlen);
            k->bits = sg_ks_pkey_bits(pub);
        }
        EVP_PKEY_free(pub);
        int taken = 0;
        if (!r && !(r = sg_ks_begin(ks))) {
            r = tag_taken(ks, z->id, k->tag, &taken);
            if (!r && !taken)
                r = key_insert(ks, z->id, k, NULL, ref, "generated", now);
            if (!r && taken)
                r = SG_EEXIST;
            if (!r)
                r = sg_ks_commit(ks);
            else
                sg_ks_rollback(ks);
        }
        if (r && sg_p11_destroy(ref, why, sizeof why) != 0)
            sg_log(SG_LOG_WARN, "keystore", z->name, "an unused key stays in the token: %s", why);
        if (r == SG_EEXIST)
            sg_log(SG_LOG_DEBUG, "keystore", z->name, "key tag %u taken, generating again", k->tag);
    }
    if (!r && key_out)
        *key_out = *k;
    return r;
}

int sg_ks_key_generate(sg_keystore *ks, const char *zone, enum sg_ks_role role, uint8_t alg,
                       uint16_t bits, int64_t now, sg_ks_key *key_out)
{
    if (!ks || !zone || (unsigned)role > SG_KS_ROLE_CSK)
        return SG_EINVAL;
    sg_ks_zone z;
    sg_ks_policy p;
    int r = sg_ks_zone_get(ks, zone, &z);
    if (!r)
        r = sg_ks_policy_get(ks, z.policy, &p);
    if (r)
        return r;
    if (alg == 0) {
        alg = p.algorithm;
        if (bits == 0)
            bits = p.key_bits;
    }
    if (!sg_ks_alg_name(alg))
        return SG_EINVAL;
    sg_ks_key k;
    ks_key_init(&k, z.name, role, alg);
    k.state = SG_KS_GENERATED;
    if (p.key_store[0])
        return key_generate_in_token(ks, &z, &p, &k, bits, now, key_out);
    /* Generate outside the transaction (RSA can take seconds) and retry on a tag collision,
     * which the check and insert below decide under the write lock. */
    for (int attempt = 0; attempt < 16; attempt++) {
        EVP_PKEY *pkey = NULL;
        if ((r = sg_ks_pkey_generate(alg, bits, &pkey)) != 0)
            return r;
        uint8_t rd[SG_KS_RDATA_MAX];
        size_t rdlen;
        r = sg_ks_pkey_to_dnskey(pkey, alg, k.pubkey, sizeof k.pubkey, &k.pubkey_len);
        if (!r)
            r = sg_ks_key_dnskey_rdata(&k, rd, sizeof rd, &rdlen);
        if (r) {
            EVP_PKEY_free(pkey);
            return r;
        }
        k.tag = sg_ks_key_tag(rd, rdlen);
        k.bits = sg_ks_pkey_bits(pkey);
        int taken = 0;
        if ((r = sg_ks_begin(ks)) != 0) {
            EVP_PKEY_free(pkey);
            return r;
        }
        r = tag_taken(ks, z.id, k.tag, &taken);
        if (!r && !taken)
            r = key_insert(ks, z.id, &k, pkey, NULL, "generated", now);
        EVP_PKEY_free(pkey);
        if (!r && taken) {
            sg_ks_rollback(ks);
            sg_log(SG_LOG_DEBUG, "keystore", z.name, "key tag %u taken, generating again", k.tag);
            continue;
        }
        if (!r)
            r = sg_ks_commit(ks);
        else
            sg_ks_rollback(ks);
        if (!r && key_out)
            *key_out = k;
        return r;
    }
    return SG_EEXIST;
}

static int read_private(sg_keystore *ks, int64_t id, char *storage, size_t scap,
                        uint8_t **blob_out, size_t *len_out)
{
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT storage, private_key FROM keys WHERE id = ?1", &st);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ks_col_text(st, 0, storage, scap);
        int n = sqlite3_column_bytes(st, 1);
        uint8_t *b = sg_secure_alloc((size_t)n + 1);
        if (!b) {
            r = SG_ENOMEM;
        } else {
            if (n > 0) /* a public-only key has no blob (NULL): nothing to copy */
                memcpy(b, sqlite3_column_blob(st, 1), (size_t)n);
            b[n] = 0;
            *blob_out = b;
            *len_out = (size_t)n;
        }
    } else {
        r = rc == SQLITE_DONE ? SG_ENOTFOUND : ks_sql_fail(ks, rc, "read private key");
    }
    ks_finish(ks, st);
    return r;
}

/* The private key must be the other half of the DNSKEY, or signatures would not verify
 * (BIND import, restore). */
int ks_key_check_pair(sg_keystore *ks, EVP_PKEY *pkey, const sg_ks_key *k)
{
    uint8_t pub[SG_KS_PUBKEY_MAX];
    size_t len;
    int r = sg_ks_pkey_to_dnskey(pkey, k->algorithm, pub, sizeof pub, &len);
    if (r || len != k->pubkey_len || memcmp(pub, k->pubkey, len) != 0)
        goto mismatch;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = ctx && EVP_PKEY_pairwise_check(ctx) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (ok)
        return 0;
mismatch:
    ks_set_err(ks, "the private key does not match the DNSKEY");
    sg_log(SG_LOG_ERR, "keystore", k->zone, "%s", ks->errmsg);
    return SG_EINVAL;
}

int sg_ks_key_load_private(sg_keystore *ks, int64_t id, EVP_PKEY **pkey_out)
{
    if (!ks || !pkey_out)
        return SG_EINVAL;
    char storage[16];
    uint8_t *blob = NULL;
    size_t len = 0;
    int r = read_private(ks, id, storage, sizeof storage, &blob, &len);
    if (r)
        return r;
    const ks_storage *stg = ks_storage_find(storage);
    if (!strcmp(storage, KS_STORAGE_NONE) || !strcmp(storage, KS_STORAGE_FOREIGN)) {
        ks_set_err(ks, "key %lld is public-only: its private key is held elsewhere", (long long)id);
        r = SG_ENOTFOUND;
    } else if (!strcmp(storage, KS_STORAGE_PKCS11)) {
        ks_set_err(ks, "key %lld is held in a PKCS#11 token and never leaves it", (long long)id);
        r = SG_ENOTFOUND;
    } else if (!stg) {
        ks_set_err(ks, "unknown key storage '%s'", storage);
        r = SG_EINVAL;
    } else {
        r = stg->decode(ks, blob, len, pkey_out);
    }
    sg_secure_free(blob, len + 1);
    return r;
}

int sg_ks_key_in_token(const sg_ks_key *k)
{
    return k && !strcmp(k->storage, KS_STORAGE_PKCS11);
}

int sg_ks_key_open_token(sg_keystore *ks, int64_t id, struct sg_p11_key **out)
{
    if (!ks || !out)
        return SG_EINVAL;
    sg_ks_key k;
    int r = sg_ks_key_get(ks, id, &k);
    if (r)
        return r;
    char storage[16];
    uint8_t *blob = NULL;
    size_t len = 0;
    if ((r = read_private(ks, id, storage, sizeof storage, &blob, &len)) != 0)
        return r;
    if (strcmp(storage, KS_STORAGE_PKCS11) != 0) {
        ks_set_err(ks, "key %lld is not held in a PKCS#11 token", (long long)id);
        r = SG_EINVAL;
    } else {
        char why[300];
        r = sg_p11_key_open((const char *)blob, k.algorithm, out, why, sizeof why);
        if (r)
            ks_set_err(ks, "key %lld (tag %u): %s", (long long)id, k.tag, why);
    }
    sg_secure_free(blob, len + 1);
    return r;
}

int sg_ks_key_export_private(sg_keystore *ks, int64_t id, char **pem_out, size_t *len_out)
{
    if (!ks || !pem_out || !len_out)
        return SG_EINVAL;
    char storage[16];
    uint8_t *blob = NULL;
    size_t len = 0;
    int r = read_private(ks, id, storage, sizeof storage, &blob, &len);
    if (r)
        return r;
    if (!strcmp(storage, KS_STORAGE_WRAPPED)) {
        uint8_t *pem = NULL;
        size_t n = 0;
        r = ks_kek_unwrap(ks, blob, len, &pem, &n);
        sg_secure_free(blob, len + 1);
        if (r)
            return r;
        blob = pem;
        len = n;
    } else if (strcmp(storage, KS_STORAGE_PEM) != 0) {
        sg_secure_free(blob, len + 1);
        return SG_EINVAL;
    }
    *pem_out = (char *)blob;
    *len_out = len + 1;
    return 0;
}

enum sg_ks_key_state sg_ks_key_state_at(const sg_ks_key *k, int64_t now)
{
    if (k->remove && now >= k->remove)
        return SG_KS_REMOVED;
    if (k->retire && now >= k->retire)
        return SG_KS_RETIRED;
    if (k->active && now >= k->active)
        return SG_KS_ACTIVE;
    if (k->publish && now >= k->publish)
        return SG_KS_PUBLISHED;
    return SG_KS_GENERATED;
}

int ks_key_in_use(const sg_ks_key *k)
{
    if (k->state == SG_KS_REMOVED)
        return 0;
    return k->state != SG_KS_GENERATED || k->ds_submitted || k->ds_seen;
}

int sg_ks_key_update(sg_keystore *ks, const sg_ks_key *k, const char *reason, int64_t now)
{
    if (!ks || !k || !reason || (unsigned)k->state > SG_KS_REMOVED)
        return SG_EINVAL;
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    sg_ks_key old;
    if ((r = sg_ks_key_get(ks, k->id, &old)) != 0)
        goto fail;
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "UPDATE keys SET t_publish = ?2, t_active = ?3, t_retire = ?4,"
                            " t_remove = ?5, t_ds_submitted = ?6, t_ds_seen = ?7, state = ?8,"
                            " t_ds_withdrawn = ?9, t_ds_gone = ?10 WHERE id = ?1", &st)) != 0)
        goto fail;
    sqlite3_bind_int64(st, 1, k->id);
    sqlite3_bind_int64(st, 2, k->publish);
    sqlite3_bind_int64(st, 3, k->active);
    sqlite3_bind_int64(st, 4, k->retire);
    sqlite3_bind_int64(st, 5, k->remove);
    sqlite3_bind_int64(st, 6, k->ds_submitted);
    sqlite3_bind_int64(st, 7, k->ds_seen);
    sqlite3_bind_text(st, 8, sg_ks_state_name(k->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, k->ds_withdrawn);
    sqlite3_bind_int64(st, 10, k->ds_gone);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "update key");
        goto fail;
    }
    if ((r = sg_ks_event_add(ks, now, old.zone, k->id, sg_ks_state_name(old.state),
                             sg_ks_state_name(k->state), reason)) != 0)
        goto fail;
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
}

int sg_ks_key_delete(sg_keystore *ks, int64_t id, int force, int64_t now)
{
    if (!ks)
        return SG_EINVAL;
    uint8_t *ref = NULL; /* a token key's reference */
    size_t reflen = 0;
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    sg_ks_key k;
    if ((r = sg_ks_key_get(ks, id, &k)) != 0)
        goto fail;
    char storage[16];
    if (sg_ks_key_in_token(&k) &&
        (r = read_private(ks, id, storage, sizeof storage, &ref, &reflen)) != 0)
        goto fail;
    if (!force && ks_key_in_use(&k)) {
        ks_set_err(ks,
                 "key %lld (tag %u) is %s%s; use --force to delete anyway", (long long)id,
                 k.tag, sg_ks_state_name(k.state),
                 (k.ds_submitted || k.ds_seen) ? " and its DS may be at the parent" : "");
        r = SG_KS_EINUSE;
        goto fail;
    }
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "DELETE FROM keys WHERE id = ?1", &st)) != 0)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "delete key");
        goto fail;
    }
    char why[96];
    snprintf(why, sizeof why, "key tag %u deleted%s", k.tag, force ? " (forced)" : "");
    if ((r = sg_ks_event_add(ks, now, k.zone, id, sg_ks_state_name(k.state), "", why)) != 0)
        goto fail;
    if ((r = sg_ks_commit(ks)) != 0)
        goto out;
    /* a deleted token key leaves the token too, once the deletion is durable (an outer
     * transaction could still roll it back: then the token keeps it) */
    if (ref && ks->tx_depth == 0) {
        char w[300];
        if (sg_p11_destroy((const char *)ref, w, sizeof w) != 0)
            sg_log(SG_LOG_WARN, "keystore", k.zone, "key tag %u stays in the token: %s", k.tag, w);
    }
    goto out;
fail:
    sg_ks_rollback(ks);
out:
    sg_secure_free(ref, reflen + 1);
    return r;
}
