/* SPDX-License-Identifier: MIT */
/* INWX DomRobot JSON-RPC (api.domrobot.com/jsonrpc/): account.login opens a session (a
 * cookie; an account with two-factor authentication answers tfa "GOOGLE-AUTH" and the
 * session is unlocked by account.unlock with the TOTP code of the account's shared
 * secret), then dnssec.listkeys, dnssec.adddnskey (the DNSKEY; INWX computes the digest)
 * and dnssec.deletednskey (by key id). Every reply is HTTP 200 with a code: 1000 and 1001
 * are success; account.logout ends the session. API documentation:
 * https://www.inwx.com/en/help/apidoc (chapters 2.1 account, 2.8 dnssec); the 2FA flow as
 * INWX's own clients (github.com/inwx/python-client) do it. */
#include "registrar/internal.h"

#include <openssl/crypto.h>

#include <stdatomic.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const keys[] = { "user", "password", NULL };

char *sg_reg_inwx_request(const char *method, json_t *params)
{
    json_t *o = json_object();
    json_object_set_new(o, "method", json_string(method));
    json_object_set_new(o, "params", params ? params : json_object());
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int sg_reg_inwx_parse_keys(const json_t *res, sg_reg_dsset *out, char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    const json_t *list;
    int rc = sg_reg_listing_array(res, "dnskey", "resData.dnskey is not a list", &list, err, cap);
    if (rc || !list)
        return rc;
    size_t i;
    const json_t *k;
    json_array_foreach(list, i, k) {
        const char *st = json_string_value(json_object_get(k, "status"));
        if (st && !strcmp(st, "DELETED"))
            continue; /* kept in the listing for history; not at the registry */
        sg_reg_ds d;
        memset(&d, 0, sizeof d);
        long id = sg_reg_json_uint(json_object_get(k, "id"), 0x7fffffffUL);
        long tag = sg_reg_json_uint(json_object_get(k, "keyTag"), 65535);
        long flags = sg_reg_json_uint(json_object_get(k, "flagId"), 65535);
        long alg = sg_reg_json_uint(json_object_get(k, "algorithmId"), 255);
        long dt = sg_reg_json_uint(json_object_get(k, "digestTypeId"), 255);
        const char *pk = json_string_value(json_object_get(k, "publicKey"));
        const char *dg = json_string_value(json_object_get(k, "digest"));
        if (id < 0 || alg < 0 || !pk ||
            sg_reg_b64_decode(pk, d.pubkey, sizeof d.pubkey, &d.pubkey_len))
            return sg_reg_listing_bad(out, err, cap, "a key without id, algorithmId or a base64 publicKey");
        d.algorithm = (uint8_t)alg;
        sg_reg_listing_fill(&d, flags, tag, dt, dg);
        snprintf(d.id, sizeof d.id, "%ld", id);
        if ((rc = sg_reg_listing_add(out, &d)))
            return rc;
    }
    return 0;
}

/* One JSON-RPC call; *res_out (may be NULL) gets resData (json_decref). */
static int rpc(sg_reg_ctx *ctx, const char *method, json_t *params, json_t **res_out)
{
    if (res_out)
        *res_out = NULL;
    char *body = sg_reg_inwx_request(method, params);
    if (!body)
        return SG_ENOMEM;
    char cookie[600];
    const char *h[1];
    int nh = 0;
    if (ctx->cookie[0]) {
        snprintf(cookie, sizeof cookie, "Cookie: %s", ctx->cookie);
        h[nh++] = cookie;
    }
    sg_reg_note_add(ctx->journal, "reg-call", "INWX %s", method);
    json_t *j = NULL;
    char url[600];
    snprintf(url, sizeof url, "%s/", ctx->base);
    int rc = sg_reg_call(ctx, "POST", url, h, nh, body, NULL, &j);
    OPENSSL_cleanse(body, strlen(body)); /* account.login's holds the password */
    free(body);
    OPENSSL_cleanse(cookie, sizeof cookie);
    if (rc)
        return rc;
    long code = sg_reg_json_uint(json_object_get(j, "code"), 9999);
    const char *msg = json_string_value(json_object_get(j, "msg"));
    const char *reason = json_string_value(json_object_get(j, "reason"));
    /* 1500: "completed successfully; ending session" (account.logout) */
    if (code == 1000 || code == 1001 || code == 1500) {
        if (res_out) {
            *res_out = json_object_get(j, "resData");
            json_incref(*res_out);
        }
    } else {
        /* 2400 "command failed" and 2500-range server-side trouble may pass; the rest
         * are refusals (bad parameters, authentication, authorisation) */
        int retry = code < 0 || code == 2400 || (code >= 2500 && code < 2600);
        rc = sg_reg_fail(ctx, retry ? SG_REG_ERETRY : SG_REG_EREJECT, "INWX %s: code %ld%s%s%s%s",
                         method, code, msg ? ": " : "", msg ? msg : "", reason ? " - " : "",
                         reason ? reason : "");
    }
    json_decref(j);
    return rc;
}

/* The second factor: account.unlock with the current TOTP code (30 s steps, 6 digits,
 * HMAC-SHA1: what INWX's mobile TAN is) of the base32 shared secret. */
static int unlock(sg_reg_ctx *ctx, const char *tfa)
{
    const char *secret = sg_reg_cred_get(ctx->cred, "shared-secret");
    if (!secret)
        return sg_reg_fail(ctx, SG_REG_EREJECT,
                           "INWX account.login: the account asks for a second factor (tfa %s); "
                           "put its shared secret in the credentials as shared-secret", tfa);
    /* INWX takes a TAN once: a second login in the same 30 s step waits for the next */
    static _Atomic int64_t last_step;
    int64_t now = (int64_t)time(NULL);
    while (now / 30 <= atomic_load(&last_step)) {
        if (ctx->stopping && atomic_load(ctx->stopping))
            return sg_reg_fail(ctx, SG_REG_ERETRY, "INWX account.unlock: stopping");
        struct timespec ts = { 0, 250 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        now = (int64_t)time(NULL);
    }
    atomic_store(&last_step, now / 30);
    uint8_t key[128];
    size_t kl = 0;
    char tan[16];
    int rc = sg_reg_base32_decode(secret, key, sizeof key, &kl);
    if (!rc)
        rc = sg_reg_totp(key, kl, now, 30, 6, tan, sizeof tan);
    OPENSSL_cleanse(key, sizeof key);
    if (rc)
        return sg_reg_fail(ctx, SG_REG_ECRED, "INWX: the shared-secret credential is not a "
                                              "base32 TOTP secret");
    json_t *p = json_object();
    json_object_set_new(p, "tan", json_string(tan));
    OPENSSL_cleanse(tan, sizeof tan);
    return rpc(ctx, "account.unlock", p, NULL);
}

/* A session for this push: the cookie account.login set, unlocked when the account has
 * two-factor authentication. */
static int login(sg_reg_ctx *ctx)
{
    if (ctx->cookie[0])
        return 0;
    json_t *p = json_object();
    json_object_set_new(p, "user", json_string(sg_reg_cred_get(ctx->cred, "user")));
    json_object_set_new(p, "pass", json_string(sg_reg_cred_get(ctx->cred, "password")));
    json_t *res = NULL;
    int rc = rpc(ctx, "account.login", p, &res);
    if (!rc && !ctx->cookie[0])
        rc = sg_reg_fail(ctx, SG_REG_ERETRY, "INWX account.login: no session cookie in the reply");
    const char *tfa = json_string_value(json_object_get(res, "tfa"));
    if (!rc && tfa && *tfa && strcmp(tfa, "0"))
        rc = unlock(ctx, tfa);
    json_decref(res);
    if (rc && ctx->cookie[0]) {
        /* a session opened but not unlocked is ended here, the unlock's failure kept */
        char err[sizeof ctx->err];
        memcpy(err, ctx->err, sizeof err);
        rpc(ctx, "account.logout", NULL, NULL);
        memcpy(ctx->err, err, sizeof err);
        OPENSSL_cleanse(ctx->cookie, sizeof ctx->cookie);
    }
    return rc;
}

/* The end of a push or a listing: account.logout, so that no session is left open at
 * INWX until it expires. Its outcome is journalled only (the work is done either way). */
static void inwx_end(sg_reg_ctx *ctx)
{
    if (!ctx->cookie[0])
        return;
    rpc(ctx, "account.logout", NULL, NULL);
    OPENSSL_cleanse(ctx->cookie, sizeof ctx->cookie);
}

static int inwx_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    sg_reg_dsset_init(out);
    int rc = login(ctx);
    if (rc)
        return rc;
    json_t *p = json_object();
    json_object_set_new(p, "domainName", json_string(ctx->domain));
    json_t *res = NULL;
    if ((rc = rpc(ctx, "dnssec.listkeys", p, &res)))
        return rc;
    char err[200];
    rc = sg_reg_inwx_parse_keys(res, out, err, sizeof err);
    json_decref(res);
    return rc ? sg_reg_fail(ctx, SG_REG_ERETRY, "dnssec.listkeys: %s", err) : 0;
}

static int inwx_add(sg_reg_ctx *ctx, const sg_reg_ds *ds)
{
    int rc = login(ctx);
    if (rc)
        return rc;
    char b64[2 * SG_KS_PUBKEY_MAX], rr[2 * SG_KS_PUBKEY_MAX + 600];
    if (sg_reg_b64_encode(ds->pubkey, ds->pubkey_len, b64, sizeof b64))
        return SG_ESPACE;
    snprintf(rr, sizeof rr, "%s. IN DNSKEY %u 3 %u %s", ctx->domain, ds->flags, ds->algorithm, b64);
    json_t *p = json_object();
    json_object_set_new(p, "domainName", json_string(ctx->domain));
    json_object_set_new(p, "dnskey", json_string(rr));
    json_object_set_new(p, "calculateDigest", json_true());
    json_object_set_new(p, "digestType", json_integer(ds->digest_type ? ds->digest_type : 2));
    return rpc(ctx, "dnssec.adddnskey", p, NULL);
}

static int inwx_remove(sg_reg_ctx *ctx, const sg_reg_ds *have)
{
    int rc = login(ctx);
    if (rc)
        return rc;
    long id = strtol(have->id, NULL, 10);
    json_t *p = json_object();
    json_object_set_new(p, "key", json_integer(id));
    return rpc(ctx, "dnssec.deletednskey", p, NULL);
}

const sg_reg_provider sg_reg_provider_inwx = {
    .name = "inwx",
    .default_base = "https://api.domrobot.com/jsonrpc",
    .cred_keys = keys,
    .list = inwx_list,
    .add = inwx_add,
    .remove = inwx_remove,
    .end = inwx_end,
    .takes_dnskey = 1,
};
