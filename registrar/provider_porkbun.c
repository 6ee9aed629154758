/* SPDX-License-Identifier: MIT */
/* Porkbun (api.porkbun.com/api/json/v3): every call is a POST with the API key pair in
 * the JSON body; DS records are listed as an object keyed by key tag and deleted by tag. */
#include "registrar/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const keys[] = { "apikey", "secretapikey", NULL };

static json_t *auth_body(const sg_reg_cred *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "apikey", json_string(sg_reg_cred_get(c, "apikey")));
    json_object_set_new(o, "secretapikey", json_string(sg_reg_cred_get(c, "secretapikey")));
    return o;
}

char *sg_reg_porkbun_create_body(const sg_reg_cred *c, const sg_reg_ds *ds)
{
    json_t *o = auth_body(c);
    char v[16], hex[2 * SG_REG_DIGEST_MAX + 1];
    /* Porkbun takes every field as a string */
    snprintf(v, sizeof v, "%u", ds->tag);
    json_object_set_new(o, "keyTag", json_string(v));
    snprintf(v, sizeof v, "%u", ds->algorithm);
    json_object_set_new(o, "alg", json_string(v));
    snprintf(v, sizeof v, "%u", ds->digest_type);
    json_object_set_new(o, "digestType", json_string(v));
    sg_reg_hex_encode(ds->digest, ds->digest_len, hex, 1);
    json_object_set_new(o, "digest", json_string(hex));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static int parse_one(const json_t *r, sg_reg_ds *d, char *err, size_t cap)
{
    memset(d, 0, sizeof *d);
    long tag = sg_reg_json_uint(json_object_get(r, "keyTag"), 65535);
    long alg = sg_reg_json_uint(json_object_get(r, "alg"), 255);
    long dt = sg_reg_json_uint(json_object_get(r, "digestType"), 255);
    const char *dg = json_string_value(json_object_get(r, "digest"));
    if (tag < 0 || alg < 0 || dt < 0 || !dg ||
        sg_reg_hex_decode(dg, d->digest, sizeof d->digest, &d->digest_len)) {
        snprintf(err, cap, "a DS record without keyTag, alg, digestType or a hex digest");
        return SG_EMALFORMED;
    }
    d->tag = (uint16_t)tag;
    d->algorithm = (uint8_t)alg;
    d->digest_type = (uint8_t)dt;
    snprintf(d->id, sizeof d->id, "%ld", tag);
    return 0;
}

int sg_reg_porkbun_parse_list(const json_t *root, sg_reg_dsset *out, char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    const char *st = json_string_value(json_object_get(root, "status"));
    if (!st || strcmp(st, "SUCCESS")) {
        const char *m = json_string_value(json_object_get(root, "message"));
        snprintf(err, cap, "status %s%s%s", st ? st : "missing", m ? ": " : "", m ? m : "");
        return SG_REG_EREJECT;
    }
    const json_t *recs = json_object_get(root, "records");
    sg_reg_ds d;
    int rc = 0;
    if (json_is_object(recs)) {
        const char *k;
        const json_t *r;
        json_object_foreach((json_t *)recs, k, r) {
            if ((rc = parse_one(r, &d, err, cap)) || (rc = sg_reg_dsset_add(out, &d)))
                break;
        }
    } else if (json_is_array(recs)) {
        /* no records come back as [] (a PHP empty array), some as a list */
        size_t i;
        const json_t *r;
        json_array_foreach(recs, i, r) {
            if ((rc = parse_one(r, &d, err, cap)) || (rc = sg_reg_dsset_add(out, &d)))
                break;
        }
    } else if (recs && !json_is_null(recs)) {
        snprintf(err, cap, "records is neither an object nor a list");
        rc = SG_EMALFORMED;
    }
    if (rc)
        sg_reg_dsset_deinit(out);
    return rc;
}

/* Porkbun answers 200 with status ERROR for some refusals. */
static int post(sg_reg_ctx *ctx, const char *path, char *body, json_t **out)
{
    json_t *j = NULL;
    int rc = body ? sg_reg_call(ctx, "POST", path, NULL, 0, body, NULL, &j) : SG_ENOMEM;
    if (body) {
        memset(body, 0, strlen(body)); /* it held the API keys */
        free(body);
    }
    if (rc)
        return rc;
    const char *st = json_string_value(json_object_get(j, "status"));
    if (!st || strcmp(st, "SUCCESS")) {
        const char *m = json_string_value(json_object_get(j, "message"));
        rc = sg_reg_fail(ctx, SG_REG_EREJECT, "POST %s: status %s%s%s", path, st ? st : "missing",
                         m ? ": " : "", m ? m : "");
        json_decref(j);
        return rc;
    }
    if (out)
        *out = j;
    else
        json_decref(j);
    return 0;
}

static char *auth_only(const sg_reg_cred *c)
{
    json_t *o = auth_body(c);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static int pb_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    char path[512];
    snprintf(path, sizeof path, "/dns/getDnssecRecords/%s", ctx->domain);
    json_t *j;
    int rc = post(ctx, path, auth_only(ctx->cred), &j);
    if (rc)
        return rc;
    char err[200];
    rc = sg_reg_porkbun_parse_list(j, out, err, sizeof err);
    json_decref(j);
    return rc ? sg_reg_fail(ctx, rc == SG_EMALFORMED ? SG_REG_ERETRY : rc, "list: %s", err) : 0;
}

static int pb_add(sg_reg_ctx *ctx, const sg_reg_ds *ds)
{
    char path[512];
    snprintf(path, sizeof path, "/dns/createDnssecRecord/%s", ctx->domain);
    return post(ctx, path, sg_reg_porkbun_create_body(ctx->cred, ds), NULL);
}

static int pb_remove(sg_reg_ctx *ctx, const sg_reg_ds *have)
{
    char path[512];
    snprintf(path, sizeof path, "/dns/deleteDnssecRecord/%s/%u", ctx->domain, have->tag);
    return post(ctx, path, auth_only(ctx->cred), NULL);
}

const sg_reg_provider sg_reg_provider_porkbun = {
    .name = "porkbun",
    .default_base = "https://api.porkbun.com/api/json/v3",
    .cred_keys = keys,
    .list = pb_list,
    .add = pb_add,
    .remove = pb_remove,
};
