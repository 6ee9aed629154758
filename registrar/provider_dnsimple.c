/* SPDX-License-Identifier: MIT */
/* DNSimple API v2: Bearer token; delegation signer records under
 * /{account}/domains/{domain}/ds_records, paged, deleted by record id. */
#include "registrar/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = { "token", NULL };

char *sg_reg_dnsimple_create_body(const sg_reg_ds *ds)
{
    json_t *o = json_object();
    char v[16], hex[2 * SG_REG_DIGEST_MAX + 1];
    /* the API documents every field as a string holding the number */
    snprintf(v, sizeof v, "%u", ds->algorithm);
    json_object_set_new(o, "algorithm", json_string(v));
    sg_reg_hex_encode(ds->digest, ds->digest_len, hex, 0);
    json_object_set_new(o, "digest", json_string(hex));
    snprintf(v, sizeof v, "%u", ds->digest_type);
    json_object_set_new(o, "digest_type", json_string(v));
    snprintf(v, sizeof v, "%u", ds->tag);
    json_object_set_new(o, "keytag", json_string(v));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int sg_reg_dnsimple_parse_list(const json_t *root, sg_reg_dsset *out, char *err, size_t cap)
{
    const json_t *data = json_object_get(root, "data");
    if (!json_is_array(data)) {
        snprintf(err, cap, "no data list in the response");
        return SG_EMALFORMED;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(data, i, r) {
        sg_reg_ds d;
        memset(&d, 0, sizeof d);
        long tag = sg_reg_json_uint(json_object_get(r, "keytag"), 65535);
        long alg = sg_reg_json_uint(json_object_get(r, "algorithm"), 255);
        long dt = sg_reg_json_uint(json_object_get(r, "digest_type"), 255);
        long id = sg_reg_json_uint(json_object_get(r, "id"), 0x7fffffffUL);
        const char *dg = json_string_value(json_object_get(r, "digest"));
        if (tag < 0 || alg < 0 || id < 0) {
            snprintf(err, cap, "a record without id, keytag or algorithm");
            return SG_EMALFORMED;
        }
        d.tag = (uint16_t)tag;
        d.algorithm = (uint8_t)alg;
        if (dt >= 0 && dg && sg_reg_hex_decode(dg, d.digest, sizeof d.digest, &d.digest_len) == 0)
            d.digest_type = (uint8_t)dt;
        else
            d.digest_len = 0;
        const char *pk = json_string_value(json_object_get(r, "public_key"));
        if (pk && sg_reg_b64_decode(pk, d.pubkey, sizeof d.pubkey, &d.pubkey_len))
            d.pubkey_len = 0;
        snprintf(d.id, sizeof d.id, "%ld", id);
        if (sg_reg_dsset_add(out, &d))
            return SG_ENOMEM;
    }
    return 0;
}

static int auth(sg_reg_ctx *ctx, char *hdr, size_t cap, char *acct, size_t acap)
{
    const char *tok = sg_reg_cred_get(ctx->cred, "token");
    const char *a = ctx->cfg->account[0] ? ctx->cfg->account : sg_reg_cred_get(ctx->cred, "account");
    if (!tok || !a)
        return sg_reg_fail(ctx, SG_REG_ECRED, "dnsimple needs a token and an account id");
    snprintf(hdr, cap, "Authorization: Bearer %s", tok);
    snprintf(acct, acap, "%s", a);
    return 0;
}

static int ds_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    sg_reg_dsset_init(out);
    char hdr[1024], acct[64];
    int rc = auth(ctx, hdr, sizeof hdr, acct, sizeof acct);
    const char *h[] = { hdr };
    for (long page = 1, pages = 1; !rc && page <= pages && page <= 100; page++) {
        char path[512];
        snprintf(path, sizeof path, "/%s/domains/%s/ds_records?page=%ld", acct, ctx->domain, page);
        json_t *j;
        if ((rc = sg_reg_call(ctx, "GET", path, h, 1, NULL, NULL, &j)))
            break;
        char err[200];
        if ((rc = sg_reg_dnsimple_parse_list(j, out, err, sizeof err)))
            rc = sg_reg_fail(ctx, SG_REG_ERETRY, "list: %s", err);
        long tp = sg_reg_json_uint(json_object_get(json_object_get(j, "pagination"), "total_pages"), 1000);
        pages = tp > 0 ? tp : 1;
        json_decref(j);
    }
    memset(hdr, 0, sizeof hdr);
    if (rc)
        sg_reg_dsset_deinit(out);
    return rc;
}

static int ds_add(sg_reg_ctx *ctx, const sg_reg_ds *ds)
{
    char hdr[1024], acct[64], path[512];
    int rc = auth(ctx, hdr, sizeof hdr, acct, sizeof acct);
    if (rc)
        return rc;
    const char *h[] = { hdr };
    char *body = sg_reg_dnsimple_create_body(ds);
    snprintf(path, sizeof path, "/%s/domains/%s/ds_records", acct, ctx->domain);
    rc = body ? sg_reg_call(ctx, "POST", path, h, 1, body, NULL, NULL) : SG_ENOMEM;
    free(body);
    memset(hdr, 0, sizeof hdr);
    return rc;
}

static int ds_remove(sg_reg_ctx *ctx, const sg_reg_ds *have)
{
    char hdr[1024], acct[64], path[512];
    int rc = auth(ctx, hdr, sizeof hdr, acct, sizeof acct);
    if (rc)
        return rc;
    const char *h[] = { hdr };
    snprintf(path, sizeof path, "/%s/domains/%s/ds_records/%s", acct, ctx->domain, have->id);
    rc = sg_reg_call(ctx, "DELETE", path, h, 1, NULL, NULL, NULL);
    memset(hdr, 0, sizeof hdr);
    return rc;
}

const sg_reg_provider sg_reg_provider_dnsimple = {
    .name = "dnsimple",
    .default_base = "https://api.dnsimple.com/v2",
    .cred_keys = keys,
    .list = ds_list,
    .add = ds_add,
    .remove = ds_remove,
};
