/* SPDX-License-Identifier: MIT */
/* DNSSEC policies: defaults, consistency checks and their rows. */
#include "keystore/internal.h"

#include "common/errors.h"
#include "keystore/pkcs11.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400u

void sg_ks_policy_defaults(sg_ks_policy *p, const char *name)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name ? name : SG_KS_DEFAULT_POLICY);
    p->algorithm = SG_KS_ALG_ECDSAP256SHA256;
    p->csk = 1;
    p->zsk_lifetime = 90 * DAY;
    p->ksk_lifetime = 0;  /* a CSK/KSK rolls only when asked: each roll involves the parent */
    p->dnskey_ttl = 3600;
    p->zone_propagation_delay = 300;
    p->zone_max_ttl = 0;
    p->parent_ds_ttl = DAY;
    p->parent_propagation_delay = 3600;
    p->sig_validity = 14 * DAY;
    p->sig_refresh = 5 * DAY;
    p->sig_jitter = DAY / 2;
    p->denial = SG_KS_DENIAL_NSEC;
    p->nsec3_iterations = 0;  /* RFC 9276 */
    p->nsec3_salt_len = 0;
    p->nsec3_opt_out = 0;
    p->publish_cds = 1;
    p->publish_cdnskey = 1;
    p->ds_digest = SG_KS_DIGEST_SHA256;
}

static int why(char *buf, size_t cap, const char *msg)
{
    if (buf && cap)
        snprintf(buf, cap, "%s", msg);
    return SG_EINVAL;
}

int sg_ks_policy_check(const sg_ks_policy *p, char *w, size_t cap)
{
    if (!p)
        return SG_EINVAL;
    size_t n = strlen(p->name);
    if (n == 0 || n >= SG_KS_NAME_MAX)
        return why(w, cap, "policy name must be 1 to 63 characters");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p->name[i]) && !strchr("-_.", p->name[i]))
            return why(w, cap, "policy name may only hold letters, digits, '-', '_', '.'");
    if (!sg_ks_alg_name(p->algorithm))
        return why(w, cap, "unsupported algorithm");
    int rsa = p->algorithm == SG_KS_ALG_RSASHA256 || p->algorithm == SG_KS_ALG_RSASHA512;
    if (rsa && (p->key_bits < 2048 || p->key_bits > 4096))
        return why(w, cap, "RSA key size must be 2048 to 4096 bits");
    if (!rsa && p->key_bits != 0)
        return why(w, cap, "key size applies to RSA only");
    if (p->sig_validity == 0 || p->sig_refresh >= p->sig_validity)
        return why(w, cap, "signature refresh must be shorter than the validity");
    if (p->sig_jitter >= p->sig_refresh && p->sig_jitter)
        return why(w, cap, "signature jitter must be shorter than the refresh");
    if (p->ds_digest != SG_KS_DIGEST_SHA256 && p->ds_digest != SG_KS_DIGEST_SHA384)
        return why(w, cap, "DS digest must be SHA-256 or SHA-384");
    if ((unsigned)p->denial > SG_KS_DENIAL_COMPACT)
        return why(w, cap, "denial must be nsec, nsec3 or compact");
    /* Validators may treat more than 100 iterations as insecure (RFC 9276 3.2). */
    if (p->nsec3_iterations > 100)
        return why(w, cap, "NSEC3 iterations above 100 break validation (RFC 9276)");
    /* a salt is never used: an online signer's chain is rebuilt with every version, so a
     * salt protects nothing, and it costs every validator (RFC 9276 3.1: SHOULD NOT) */
    if (p->nsec3_salt_len != 0)
        return why(w, cap, "NSEC3 salt is not supported: RFC 9276 3.1 says operators SHOULD "
                           "NOT use a salt (use --nsec3-salt-length 0)");
    if (p->dnskey_ttl == 0)
        return why(w, cap, "DNSKEY TTL must not be 0");
    if (p->key_store[0]) {
        char uw[200];
        if (sg_p11_uri_check(p->key_store, uw, sizeof uw)) {
            if (w && cap)
                snprintf(w, cap, "key store: %s", uw);
            return SG_EINVAL;
        }
        if (!sg_p11_alg_supported(p->algorithm))
            return why(w, cap, "this algorithm cannot be kept in a PKCS#11 token here "
                               "(RSASHA256, RSASHA512, ECDSAP256SHA256, ECDSAP384SHA384, ED25519)");
    }
    return 0;
}

static const char *denial_name(enum sg_ks_denial d)
{
    return d == SG_KS_DENIAL_NSEC3 ? "nsec3" : d == SG_KS_DENIAL_COMPACT ? "compact" : "nsec";
}

#define POLICY_COLS                                                                       \
    "id, name, algorithm, key_bits, csk, zsk_lifetime, ksk_lifetime, dnskey_ttl,"        \
    " zone_propagation_delay, zone_max_ttl, parent_ds_ttl, parent_propagation_delay,"   \
    " sig_validity, sig_refresh, sig_jitter, denial, nsec3_iterations, nsec3_salt_len,"  \
    " nsec3_opt_out, publish_cds, publish_cdnskey, ds_digest, ksk_double_ds, key_store"

static void row_to_policy(sqlite3_stmt *st, sg_ks_policy *p)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(st, 0);
    ks_col_text(st, 1, p->name, sizeof p->name);
    p->algorithm = (uint8_t)sqlite3_column_int(st, 2);
    p->key_bits = (uint16_t)sqlite3_column_int(st, 3);
    p->csk = sqlite3_column_int(st, 4);
    p->zsk_lifetime = (uint32_t)sqlite3_column_int64(st, 5);
    p->ksk_lifetime = (uint32_t)sqlite3_column_int64(st, 6);
    p->dnskey_ttl = (uint32_t)sqlite3_column_int64(st, 7);
    p->zone_propagation_delay = (uint32_t)sqlite3_column_int64(st, 8);
    p->zone_max_ttl = (uint32_t)sqlite3_column_int64(st, 9);
    p->parent_ds_ttl = (uint32_t)sqlite3_column_int64(st, 10);
    p->parent_propagation_delay = (uint32_t)sqlite3_column_int64(st, 11);
    p->sig_validity = (uint32_t)sqlite3_column_int64(st, 12);
    p->sig_refresh = (uint32_t)sqlite3_column_int64(st, 13);
    p->sig_jitter = (uint32_t)sqlite3_column_int64(st, 14);
    const char *d = (const char *)sqlite3_column_text(st, 15);
    p->denial = d && !strcmp(d, "nsec3") ? SG_KS_DENIAL_NSEC3
              : d && !strcmp(d, "compact") ? SG_KS_DENIAL_COMPACT : SG_KS_DENIAL_NSEC;
    p->nsec3_iterations = (uint16_t)sqlite3_column_int(st, 16);
    p->nsec3_salt_len = (uint8_t)sqlite3_column_int(st, 17);
    p->nsec3_opt_out = sqlite3_column_int(st, 18);
    p->publish_cds = sqlite3_column_int(st, 19);
    p->publish_cdnskey = sqlite3_column_int(st, 20);
    p->ds_digest = (uint8_t)sqlite3_column_int(st, 21);
    p->ksk_double_ds = sqlite3_column_int(st, 22);
    ks_col_text(st, 23, p->key_store, sizeof p->key_store);
}

/* Bind fields 1..21 in POLICY_COLS order, name first (the id is not bound). */
static void bind_policy(sqlite3_stmt *st, const sg_ks_policy *p)
{
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, p->algorithm);
    sqlite3_bind_int(st, 3, p->key_bits);
    sqlite3_bind_int(st, 4, p->csk ? 1 : 0);
    sqlite3_bind_int64(st, 5, p->zsk_lifetime);
    sqlite3_bind_int64(st, 6, p->ksk_lifetime);
    sqlite3_bind_int64(st, 7, p->dnskey_ttl);
    sqlite3_bind_int64(st, 8, p->zone_propagation_delay);
    sqlite3_bind_int64(st, 9, p->zone_max_ttl);
    sqlite3_bind_int64(st, 10, p->parent_ds_ttl);
    sqlite3_bind_int64(st, 11, p->parent_propagation_delay);
    sqlite3_bind_int64(st, 12, p->sig_validity);
    sqlite3_bind_int64(st, 13, p->sig_refresh);
    sqlite3_bind_int64(st, 14, p->sig_jitter);
    sqlite3_bind_text(st, 15, denial_name(p->denial), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 16, p->nsec3_iterations);
    sqlite3_bind_int(st, 17, p->nsec3_salt_len);
    sqlite3_bind_int(st, 18, p->nsec3_opt_out ? 1 : 0);
    sqlite3_bind_int(st, 19, p->publish_cds ? 1 : 0);
    sqlite3_bind_int(st, 20, p->publish_cdnskey ? 1 : 0);
    sqlite3_bind_int(st, 21, p->ds_digest);
    sqlite3_bind_int(st, 22, p->ksk_double_ds ? 1 : 0);
    sqlite3_bind_text(st, 23, p->key_store, -1, SQLITE_TRANSIENT);
}

int sg_ks_policy_get(sg_keystore *ks, const char *name, sg_ks_policy *p_out)
{
    if (!ks || !name || !p_out)
        return SG_EINVAL;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT " POLICY_COLS " FROM policies WHERE name = ?1", &st);
    if (r)
        return r;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        row_to_policy(st, p_out);
    else
        r = rc == SQLITE_DONE ? SG_ENOTFOUND : ks_sql_fail(ks, rc, "read policy");
    ks_finish(ks, st);
    return r;
}

int sg_ks_policy_list(sg_keystore *ks, sg_ks_policy **list_out, size_t *n_out)
{
    if (!ks || !list_out || !n_out)
        return SG_EINVAL;
    *list_out = NULL;
    *n_out = 0;
    sqlite3_stmt *st;
    int r = ks_prepare(ks, "SELECT " POLICY_COLS " FROM policies ORDER BY name", &st);
    if (r)
        return r;
    sg_ks_policy *list = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sg_ks_policy *nl = realloc(list, (n + 1) * sizeof *list);
        if (!nl) {
            r = SG_ENOMEM;
            break;
        }
        list = nl;
        row_to_policy(st, &list[n++]);
    }
    if (!r && rc != SQLITE_DONE)
        r = ks_sql_fail(ks, rc, "list policies");
    ks_finish(ks, st);
    if (r) {
        free(list);
        return r;
    }
    *list_out = list;
    *n_out = n;
    return 0;
}

static int write_policy(sg_keystore *ks, const sg_ks_policy *p, int64_t now, int add)
{
    if (!ks || !p)
        return SG_EINVAL;
    char w[128];
    if (sg_ks_policy_check(p, w, sizeof w)) {
        ks_set_err(ks, "%s", w);
        return SG_EINVAL;
    }
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    sqlite3_stmt *st;
    r = ks_prepare(ks, add ? "INSERT INTO policies (" POLICY_COLS ") VALUES (NULL, ?1, ?2, ?3,"
                             " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
                             " ?18, ?19, ?20, ?21, ?22, ?23)"
                           : "UPDATE policies SET algorithm = ?2, key_bits = ?3, csk = ?4,"
                             " zsk_lifetime = ?5, ksk_lifetime = ?6, dnskey_ttl = ?7,"
                             " zone_propagation_delay = ?8, zone_max_ttl = ?9,"
                             " parent_ds_ttl = ?10, parent_propagation_delay = ?11,"
                             " sig_validity = ?12, sig_refresh = ?13, sig_jitter = ?14,"
                             " denial = ?15, nsec3_iterations = ?16, nsec3_salt_len = ?17,"
                             " nsec3_opt_out = ?18, publish_cds = ?19, publish_cdnskey = ?20,"
                             " ds_digest = ?21, ksk_double_ds = ?22, key_store = ?23 WHERE name = ?1",
                   &st);
    if (r)
        goto fail;
    bind_policy(st, p);
    int rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, add ? "add policy" : "update policy");
        goto fail;
    }
    if (!add && sqlite3_changes(ks->db) == 0) {
        r = SG_ENOTFOUND;
        goto fail;
    }
    char reason[128];
    snprintf(reason, sizeof reason, "policy %s %s", p->name, add ? "added" : "changed");
    if ((r = sg_ks_event_add(ks, now, NULL, 0, NULL, NULL, reason)) != 0)
        goto fail;
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
}

int sg_ks_policy_add(sg_keystore *ks, const sg_ks_policy *p, int64_t now)
{
    return write_policy(ks, p, now, 1);
}

int sg_ks_policy_update(sg_keystore *ks, const sg_ks_policy *p, int64_t now)
{
    return write_policy(ks, p, now, 0);
}

int sg_ks_policy_delete(sg_keystore *ks, const char *name, int64_t now)
{
    if (!ks || !name)
        return SG_EINVAL;
    if (strcmp(name, SG_KS_DEFAULT_POLICY) == 0) {
        ks_set_err(ks, "the built-in default policy stays");
        return SG_KS_EINUSE;
    }
    int r = sg_ks_begin(ks);
    if (r)
        return r;
    sqlite3_stmt *st;
    if ((r = ks_prepare(ks, "SELECT count(*) FROM zones JOIN policies p ON p.id = policy_id"
                            " WHERE p.name = ?1", &st)) != 0)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int users = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    ks_finish(ks, st);
    if (users < 0) {
        r = ks_sql_fail(ks, rc, "count policy users");
        goto fail;
    }
    if (users > 0) {
        ks_set_err(ks, "policy %s is used by %d zone(s)", name, users);
        r = SG_KS_EINUSE;
        goto fail;
    }
    if ((r = ks_prepare(ks, "DELETE FROM policies WHERE name = ?1", &st)) != 0)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    ks_finish(ks, st);
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "delete policy");
        goto fail;
    }
    if (sqlite3_changes(ks->db) == 0) {
        r = SG_ENOTFOUND;
        goto fail;
    }
    char reason[128];
    snprintf(reason, sizeof reason, "policy %s deleted", name);
    if ((r = sg_ks_event_add(ks, now, NULL, 0, NULL, NULL, reason)) != 0)
        goto fail;
    return sg_ks_commit(ks);
fail:
    sg_ks_rollback(ks);
    return r;
}
