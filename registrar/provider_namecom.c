/* SPDX-License-Identifier: MIT */
/* Name.com API v4 (api.name.com/v4): HTTP Basic with the user name and an API token;
 * the DS records of a domain under /domains/{domain}/dnssec, created from key tag,
 * algorithm, digest type and digest, deleted by digest. API documentation:
 * https://www.name.com/api-docs/DNSSECs */
#include "registrar/internal.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = { "username", "token", NULL };

char *sg_reg_namecom_create_body(const sg_reg_ds *ds)
{
    char hex[2 * SG_REG_DIGEST_MAX + 1];
    sg_reg_hex_encode(ds->digest, ds->digest_len, hex, 1);
    json_t *o = json_object();
    json_object_set_new(o, "algorithm", json_integer(ds->algorithm));
    json_object_set_new(o, "digest", json_string(hex));
    json_object_set_new(o, "digestType", json_integer(ds->digest_type));
    json_object_set_new(o, "keyTag", json_integer(ds->tag));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int sg_reg_namecom_parse_list(const json_t *root, sg_reg_dsset *out, char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    /* an empty listing is {} */
    const json_t *list;
    int rc = sg_reg_listing_array(root, "dnssec", "dnssec is not a list", &list, err, cap);
    if (rc || !list)
        return rc;
    size_t i;
    const json_t *r;
    json_array_foreach(list, i, r) {
        sg_reg_ds d;
        memset(&d, 0, sizeof d);
        long tag = sg_reg_json_uint(json_object_get(r, "keyTag"), 65535);
        long alg = sg_reg_json_uint(json_object_get(r, "algorithm"), 255);
        long dt = sg_reg_json_uint(json_object_get(r, "digestType"), 255);
        const char *dg = json_string_value(json_object_get(r, "digest"));
        if (tag < 0 || alg < 0 || dt < 0 || !dg ||
            sg_reg_hex_decode(dg, d.digest, sizeof d.digest, &d.digest_len))
            return sg_reg_listing_bad(out, err, cap,
                                      "a record without keyTag, algorithm, digestType or a hex digest");
        d.tag = (uint16_t)tag;
        d.algorithm = (uint8_t)alg;
        d.digest_type = (uint8_t)dt;
        if (strlen(dg) < sizeof d.id) /* deleted by digest, as Name.com wrote it */
            snprintf(d.id, sizeof d.id, "%s", dg);
        if ((rc = sg_reg_listing_add(out, &d)))
            return rc;
    }
    return 0;
}

static int nc_call(sg_reg_ctx *ctx, const char *method, const char *path, const char *body,
                   json_t **out)
{
    char up[600];
    snprintf(up, sizeof up, "%s:%s", sg_reg_cred_get(ctx->cred, "username"),
             sg_reg_cred_get(ctx->cred, "token"));
    int rc = sg_reg_call(ctx, method, path, NULL, 0, body, up, out);
    OPENSSL_cleanse(up, sizeof up);
    return rc;
}

static int nc_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    sg_reg_dsset_init(out);
    char path[512];
    snprintf(path, sizeof path, "/domains/%s/dnssec", ctx->domain);
    json_t *j = NULL;
    int rc = nc_call(ctx, "GET", path, NULL, &j);
    if (rc)
        return rc;
    char err[200];
    rc = sg_reg_namecom_parse_list(j, out, err, sizeof err);
    json_decref(j);
    return rc ? sg_reg_fail(ctx, SG_REG_ERETRY, "GET %s: %s", path, err) : 0;
}

static int nc_add(sg_reg_ctx *ctx, const sg_reg_ds *ds)
{
    char path[512];
    snprintf(path, sizeof path, "/domains/%s/dnssec", ctx->domain);
    char *body = sg_reg_namecom_create_body(ds);
    int rc = body ? nc_call(ctx, "POST", path, body, NULL) : SG_ENOMEM;
    free(body);
    return rc;
}

static int nc_remove(sg_reg_ctx *ctx, const sg_reg_ds *have)
{
    char path[512], hex[2 * SG_REG_DIGEST_MAX + 1];
    sg_reg_hex_encode(have->digest, have->digest_len, hex, 1);
    snprintf(path, sizeof path, "/domains/%s/dnssec/%s", ctx->domain, have->id[0] ? have->id : hex);
    return nc_call(ctx, "DELETE", path, NULL, NULL);
}

const sg_reg_provider sg_reg_provider_namecom = {
    .name = "namecom",
    .default_base = "https://api.name.com/v4",
    .cred_keys = keys,
    .list = nc_list,
    .add = nc_add,
    .remove = nc_remove,
};
