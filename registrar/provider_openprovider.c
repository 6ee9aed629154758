/* SPDX-License-Identifier: MIT */
/* Openprovider REST API v1beta (api.openprovider.eu): POST /auth/login gives a Bearer
 * token; the domain is found by full name (GET /domains?full_name=), its DNSSEC keys read
 * from GET /domains/{id} (dnssec_keys: flags, alg, protocol, pub_key) and replaced as a
 * whole by PUT /domains/{id}. API documentation: https://docs.openprovider.com/doc/all
 * (swagger: github.com/openprovider/api-documentation, swagger/domain.swagger.json:
 * ListDomains, GetDomain, UpdateDomain, domainDnssecKey). */
#include "registrar/internal.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = { "username", "password", NULL };

char *sg_reg_openprovider_update_body(const sg_reg_dsset *want)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < want->n; i++) {
        char b64[2 * SG_KS_PUBKEY_MAX];
        if (sg_reg_b64_encode(want->v[i].pubkey, want->v[i].pubkey_len, b64, sizeof b64)) {
            json_decref(arr);
            return NULL;
        }
        json_t *k = json_object();
        json_object_set_new(k, "alg", json_integer(want->v[i].algorithm));
        json_object_set_new(k, "flags", json_integer(want->v[i].flags));
        json_object_set_new(k, "protocol", json_integer(3));
        json_object_set_new(k, "pub_key", json_string(b64));
        json_array_append_new(arr, k);
    }
    json_t *o = json_object();
    json_object_set_new(o, "dnssec_keys", arr);
    json_object_set_new(o, "is_dnssec_enabled", json_boolean(want->n > 0));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int sg_reg_openprovider_parse_keys(const json_t *data, sg_reg_dsset *out, char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    const json_t *list;
    int rc = sg_reg_listing_array(data, "dnssec_keys", "dnssec_keys is not a list", &list, err, cap);
    if (rc || !list)
        return rc;
    size_t i;
    const json_t *k;
    json_array_foreach(list, i, k) {
        sg_reg_ds d;
        memset(&d, 0, sizeof d);
        long alg = sg_reg_json_uint(json_object_get(k, "alg"), 255);
        long flags = sg_reg_json_uint(json_object_get(k, "flags"), 65535);
        const char *pk = json_string_value(json_object_get(k, "pub_key"));
        if (alg < 0 || !pk || sg_reg_b64_decode(pk, d.pubkey, sizeof d.pubkey, &d.pubkey_len))
            return sg_reg_listing_bad(out, err, cap, "a key without alg or a base64 pub_key");
        d.algorithm = (uint8_t)alg;
        sg_reg_listing_fill(&d, flags, 0, 0, NULL);
        if ((rc = sg_reg_listing_add(out, &d)))
            return rc;
    }
    return 0;
}

static int op_call(sg_reg_ctx *ctx, const char *method, const char *path, const char *body,
                   json_t **data_out)
{
    char auth[600];
    const char *h[1];
    int nh = 0;
    if (ctx->cookie[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", ctx->cookie);
        h[nh++] = auth;
    }
    json_t *j = NULL;
    int rc = sg_reg_call(ctx, method, path, h, nh, body, NULL, &j);
    OPENSSL_cleanse(auth, sizeof auth);
    if (rc)
        return rc;
    long code = sg_reg_json_uint(json_object_get(j, "code"), 1000000);
    if (code != 0) {
        const char *desc = json_string_value(json_object_get(j, "desc"));
        rc = sg_reg_fail(ctx, SG_REG_EREJECT, "%s %s: code %ld%s%s", method, path, code,
                         desc ? ": " : "", desc ? desc : "");
    } else if (data_out) {
        *data_out = json_object_get(j, "data");
        json_incref(*data_out);
    }
    json_decref(j);
    return rc;
}

/* The token and the domain's id, once per push. */
static int session(sg_reg_ctx *ctx)
{
    int rc = 0;
    if (!ctx->cookie[0]) {
        json_t *o = json_object();
        json_object_set_new(o, "username", json_string(sg_reg_cred_get(ctx->cred, "username")));
        json_object_set_new(o, "password", json_string(sg_reg_cred_get(ctx->cred, "password")));
        json_object_set_new(o, "ip", json_string("0.0.0.0"));
        char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        if (!body)
            return SG_ENOMEM;
        json_t *data = NULL;
        rc = op_call(ctx, "POST", "/auth/login", body, &data);
        OPENSSL_cleanse(body, strlen(body));
        free(body);
        const char *tok = json_string_value(json_object_get(data, "token"));
        if (!rc && (!tok || strlen(tok) >= sizeof ctx->cookie))
            rc = sg_reg_fail(ctx, SG_REG_ERETRY, "POST /auth/login: no token in the reply");
        else if (!rc)
            snprintf(ctx->cookie, sizeof ctx->cookie, "%s", tok);
        json_decref(data);
        if (rc)
            return rc;
    }
    if (!ctx->domain_id[0]) {
        char path[512];
        snprintf(path, sizeof path, "/domains?full_name=%s&limit=1", ctx->domain);
        json_t *data = NULL;
        if ((rc = op_call(ctx, "GET", path, NULL, &data)))
            return rc;
        long id = sg_reg_json_uint(json_object_get(json_array_get(json_object_get(data, "results"), 0), "id"),
                                   0x7fffffffUL);
        json_decref(data);
        if (id < 0)
            return sg_reg_fail(ctx, SG_REG_EREJECT, "Openprovider: no domain %s in this account",
                               ctx->domain);
        snprintf(ctx->domain_id, sizeof ctx->domain_id, "%ld", id);
    }
    return 0;
}

static int op_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    sg_reg_dsset_init(out);
    int rc = session(ctx);
    if (rc)
        return rc;
    char path[128];
    snprintf(path, sizeof path, "/domains/%s", ctx->domain_id);
    json_t *data = NULL;
    if ((rc = op_call(ctx, "GET", path, NULL, &data)))
        return rc;
    char err[200];
    rc = sg_reg_openprovider_parse_keys(data, out, err, sizeof err);
    json_decref(data);
    return rc ? sg_reg_fail(ctx, SG_REG_ERETRY, "GET %s: %s", path, err) : 0;
}

static int op_replace(sg_reg_ctx *ctx, const sg_reg_dsset *want)
{
    int rc = session(ctx);
    if (rc)
        return rc;
    char *body = sg_reg_openprovider_update_body(want);
    if (!body)
        return SG_ENOMEM;
    char path[128];
    snprintf(path, sizeof path, "/domains/%s", ctx->domain_id);
    rc = op_call(ctx, "PUT", path, body, NULL);
    free(body);
    return rc;
}

const sg_reg_provider sg_reg_provider_openprovider = {
    .name = "openprovider",
    .default_base = "https://api.openprovider.eu/v1beta",
    .cred_keys = keys,
    .list = op_list,
    .replace = op_replace,
    .takes_dnskey = 1,
};
