/* SPDX-License-Identifier: MIT */
/* Gandi v5 domain API (api.gandi.net/v5/domain): a personal access token as Bearer; the
 * DNSSEC keys of a domain under /domains/{fqdn}/dnskeys, given as DNSKEY (algorithm, key
 * type "ksk"/"zsk", public key; Gandi computes the DS), deleted by id. API documentation:
 * https://api.gandi.net/docs/domains/ (DNSSEC keys); the members as Gandi's own clients
 * send and read them (go-gandi domain/types.go DNSSECKeyCreateRequest, its Terraform
 * provider's gandi_dnssec_key): no "flags" member, "type" instead. */
#include "registrar/internal.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = { "token", NULL };

char *sg_reg_gandi_create_body(const sg_reg_ds *ds)
{
    char b64[2 * SG_KS_PUBKEY_MAX];
    if (sg_reg_b64_encode(ds->pubkey, ds->pubkey_len, b64, sizeof b64))
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "algorithm", json_integer(ds->algorithm));
    /* the SEP bit is what "ksk" stands for (RFC 4034 2.1.1) */
    json_object_set_new(o, "type", json_string(ds->flags & 1 ? "ksk" : "zsk"));
    json_object_set_new(o, "public_key", json_string(b64));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int sg_reg_gandi_parse_list(const json_t *root, sg_reg_dsset *out, char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    const json_t *list;
    int rc = sg_reg_listing_array(root, NULL, "the reply is not a list of keys", &list, err, cap);
    if (rc)
        return rc;
    size_t i;
    const json_t *k;
    json_array_foreach(list, i, k) {
        if (json_is_true(json_object_get(k, "deleted")))
            continue; /* on its way out at the registry */
        sg_reg_ds d;
        memset(&d, 0, sizeof d);
        long alg = sg_reg_json_uint(json_object_get(k, "algorithm"), 255);
        long flags = sg_reg_json_uint(json_object_get(k, "flags"), 65535);
        long tag = sg_reg_json_uint(json_object_get(k, "keytag"), 65535);
        long dt = sg_reg_json_uint(json_object_get(k, "digest_type"), 255);
        const char *pk = json_string_value(json_object_get(k, "public_key"));
        const char *dg = json_string_value(json_object_get(k, "digest"));
        const json_t *id = json_object_get(k, "id");
        const char *type = json_string_value(json_object_get(k, "type"));
        if (alg < 0 || !pk || !(json_is_string(id) || json_is_integer(id)) ||
            sg_reg_b64_decode(pk, d.pubkey, sizeof d.pubkey, &d.pubkey_len))
            return sg_reg_listing_bad(out, err, cap, "a key without id, algorithm or a base64 public_key");
        d.algorithm = (uint8_t)alg;
        /* Gandi lists "type"; a "flags" member, should one come, is taken as it is */
        if (flags <= 0)
            flags = type && !strcmp(type, "ksk") ? 257 : type && !strcmp(type, "zsk") ? 256 : 0;
        sg_reg_listing_fill(&d, flags, tag, dt, dg);
        if (json_is_string(id))
            snprintf(d.id, sizeof d.id, "%s", json_string_value(id));
        else
            snprintf(d.id, sizeof d.id, "%lld", (long long)json_integer_value(id));
        if ((rc = sg_reg_listing_add(out, &d)))
            return rc;
    }
    return 0;
}

static int gandi_call(sg_reg_ctx *ctx, const char *method, const char *path, const char *body,
                      json_t **out)
{
    char auth[600];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", sg_reg_cred_get(ctx->cred, "token"));
    const char *h[] = { auth };
    int rc = sg_reg_call(ctx, method, path, h, 1, body, NULL, out);
    OPENSSL_cleanse(auth, sizeof auth);
    return rc;
}

static int gandi_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    sg_reg_dsset_init(out);
    char path[512];
    snprintf(path, sizeof path, "/domains/%s/dnskeys", ctx->domain);
    json_t *j = NULL;
    int rc = gandi_call(ctx, "GET", path, NULL, &j);
    if (rc)
        return rc;
    char err[200];
    rc = sg_reg_gandi_parse_list(j, out, err, sizeof err);
    json_decref(j);
    return rc ? sg_reg_fail(ctx, SG_REG_ERETRY, "GET %s: %s", path, err) : 0;
}

static int gandi_add(sg_reg_ctx *ctx, const sg_reg_ds *ds)
{
    char path[512];
    snprintf(path, sizeof path, "/domains/%s/dnskeys", ctx->domain);
    char *body = sg_reg_gandi_create_body(ds);
    int rc = body ? gandi_call(ctx, "POST", path, body, NULL) : SG_ENOMEM;
    free(body);
    return rc;
}

static int gandi_remove(sg_reg_ctx *ctx, const sg_reg_ds *have)
{
    char path[512];
    snprintf(path, sizeof path, "/domains/%s/dnskeys/%s", ctx->domain, have->id);
    return gandi_call(ctx, "DELETE", path, NULL, NULL);
}

const sg_reg_provider sg_reg_provider_gandi = {
    .name = "gandi",
    .default_base = "https://api.gandi.net/v5/domain",
    .cred_keys = keys,
    .list = gandi_list,
    .add = gandi_add,
    .remove = gandi_remove,
    .takes_dnskey = 1,
};
