/* SPDX-License-Identifier: MIT */
/* Amazon Route 53 Domains (route53domains.us-east-1.amazonaws.com, JSON 1.1 protocol,
 * AWS Signature Version 4): the registrar takes the DNSKEY (flags, algorithm, public key),
 * computes the DS itself, and answers each change with an operation that is polled until
 * it ends. API reference:
 * https://docs.aws.amazon.com/Route53/latest/APIReference/API_domains_AssociateDelegationSignerToDomain.html */
#include "registrar/internal.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const keys[] = { "access-key-id", "secret-access-key", NULL };

#define TARGET_PREFIX "Route53Domains_v20140515."
/* Route 53 Domains lives in one region only */
#define REGION "us-east-1"
#define SERVICE "route53domains"

char *sg_reg_route53_associate_body(const char *domain, const sg_reg_ds *ds)
{
    char b64[2 * SG_KS_PUBKEY_MAX];
    if (sg_reg_b64_encode(ds->pubkey, ds->pubkey_len, b64, sizeof b64))
        return NULL;
    json_t *attr = json_object();
    json_object_set_new(attr, "Algorithm", json_integer(ds->algorithm));
    json_object_set_new(attr, "Flags", json_integer(ds->flags));
    json_object_set_new(attr, "PublicKey", json_string(b64));
    json_t *o = json_object();
    json_object_set_new(o, "DomainName", json_string(domain));
    json_object_set_new(o, "SigningAttributes", attr);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int sg_reg_route53_parse_detail(const json_t *root, sg_reg_dsset *out, char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    /* a domain without DNSSEC keys has no DnssecKeys member */
    const json_t *list;
    int rc = sg_reg_listing_array(root, "DnssecKeys", "DnssecKeys is not a list", &list, err, cap);
    if (rc || !list)
        return rc;
    size_t i;
    const json_t *k;
    json_array_foreach(list, i, k) {
        sg_reg_ds d;
        memset(&d, 0, sizeof d);
        long alg = sg_reg_json_uint(json_object_get(k, "Algorithm"), 255);
        long flags = sg_reg_json_uint(json_object_get(k, "Flags"), 65535);
        long tag = sg_reg_json_uint(json_object_get(k, "KeyTag"), 65535);
        long dt = sg_reg_json_uint(json_object_get(k, "DigestType"), 255);
        const char *pk = json_string_value(json_object_get(k, "PublicKey"));
        const char *dg = json_string_value(json_object_get(k, "Digest"));
        const char *id = json_string_value(json_object_get(k, "Id"));
        if (alg < 0 || !id || !pk ||
            sg_reg_b64_decode(pk, d.pubkey, sizeof d.pubkey, &d.pubkey_len))
            return sg_reg_listing_bad(out, err, cap, "a DnssecKey without Id, Algorithm or a base64 PublicKey");
        d.algorithm = (uint8_t)alg;
        sg_reg_listing_fill(&d, flags, tag, dt, dg);
        snprintf(d.id, sizeof d.id, "%s", id);
        if ((rc = sg_reg_listing_add(out, &d)))
            return rc;
    }
    return 0;
}

static void free_token(char *h)
{
    if (h) {
        OPENSSL_cleanse(h, strlen(h));
        free(h);
    }
}

/* One signed action: POST / with X-Amz-Target, the JSON 1.1 body, SigV4 over the
 * content type, host, date and target (and the session token, when there is one). */
static int aws_call(sg_reg_ctx *ctx, const char *action, const char *body, json_t **out)
{
    /* the host and path as curl sends them: what is signed must be what goes out */
    const char *hs = strstr(ctx->base, "://");
    hs = hs ? hs + 3 : ctx->base;
    const char *slash = strchr(hs, '/');
    char host[256], path[512];
    snprintf(host, sizeof host, "%.*s", slash ? (int)(slash - hs) : (int)strlen(hs), hs);
    snprintf(path, sizeof path, "%s/", slash ? slash : "");
    char date[20];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    char h_type[64], h_host[300], h_date[40], h_target[128], h_auth[512];
    /* temporary credentials (STS): the session token travels in X-Amz-Security-Token,
     * added before signing so that it is among the signed headers, as AWS's SDKs send it
     * (the test suite's post-sts-header-before case) */
    const char *token = sg_reg_cred_get(ctx->cred, "session-token");
    char *h_token = NULL;
    if (token && *token) {
        size_t tl = strlen(token) + 32;
        if (!(h_token = malloc(tl)))
            return SG_ENOMEM;
        snprintf(h_token, tl, "X-Amz-Security-Token: %s", token);
    }
    snprintf(h_type, sizeof h_type, "Content-Type: application/x-amz-json-1.1");
    snprintf(h_host, sizeof h_host, "Host: %s", host);
    snprintf(h_date, sizeof h_date, "X-Amz-Date: %s", date);
    snprintf(h_target, sizeof h_target, "X-Amz-Target: " TARGET_PREFIX "%s", action);
    const char *signed_h[] = { h_type, h_host, h_date, h_target, h_token };
    int nh = h_token ? 5 : 4;
    sg_sigv4_req req = {
        .method = "POST", .path = path, .query = "", .headers = signed_h, .nheaders = nh,
        .body = body, .body_len = strlen(body),
        .access_key = sg_reg_cred_get(ctx->cred, "access-key-id"),
        .secret_key = sg_reg_cred_get(ctx->cred, "secret-access-key"),
        .region = REGION, .service = SERVICE, .amz_date = date,
    };
    memcpy(h_auth, "Authorization: ", 15);
    int rc = sg_sigv4_authorization(&req, h_auth + 15, sizeof h_auth - 15);
    if (rc) {
        free_token(h_token);
        return sg_reg_fail(ctx, rc, "%s: signature: %s", action, sg_strerror(rc));
    }
    const char *h[] = { h_type, h_host, h_date, h_target, h_auth, h_token };
    char url[600];
    snprintf(url, sizeof url, "%s/", ctx->base);
    sg_reg_note_add(ctx->journal, "reg-call", "Route 53 Domains %s", action);
    rc = sg_reg_call(ctx, "POST", url, h, nh + 1, body, NULL, out);
    OPENSSL_cleanse(h_auth, sizeof h_auth);
    free_token(h_token);
    return rc;
}

static int r53_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    sg_reg_dsset_init(out);
    json_t *o = json_object();
    json_object_set_new(o, "DomainName", json_string(ctx->domain));
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!body)
        return SG_ENOMEM;
    json_t *j = NULL;
    int rc = aws_call(ctx, "GetDomainDetail", body, &j);
    free(body);
    if (rc)
        return rc;
    char err[200];
    rc = sg_reg_route53_parse_detail(j, out, err, sizeof err);
    json_decref(j);
    return rc ? sg_reg_fail(ctx, SG_REG_ERETRY, "GetDomainDetail: %s", err) : 0;
}

typedef struct r53_op {
    char id[128];
} r53_op;

/* GetOperationDetail: SUBMITTED and IN_PROGRESS are under way, SUCCESSFUL is done, ERROR
 * and FAILED (and anything else) failed, with AWS's message. */
static int r53_op_check(sg_reg_ctx *ctx, void *arg, int *done, char *state, size_t cap)
{
    const r53_op *op = arg;
    json_t *o = json_object();
    json_object_set_new(o, "OperationId", json_string(op->id));
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!body)
        return SG_ENOMEM;
    json_t *j = NULL;
    int rc = aws_call(ctx, "GetOperationDetail", body, &j);
    free(body);
    if (rc)
        return rc;
    const char *st = json_string_value(json_object_get(j, "Status"));
    const char *msg = json_string_value(json_object_get(j, "Message"));
    snprintf(state, cap, "%s", st ? st : "?");
    sg_reg_note_add(ctx->journal, "reg-call", "Route 53 Domains operation %s: %s", op->id, state);
    if (st && !strcmp(st, "SUCCESSFUL"))
        *done = 1;
    else if (!st || (strcmp(st, "SUBMITTED") && strcmp(st, "IN_PROGRESS")))
        rc = sg_reg_fail(ctx, SG_REG_EREJECT, "Route 53 Domains operation %s ended %s%s%s",
                         op->id, state, msg ? ": " : "", msg ? msg : "");
    json_decref(j);
    return rc;
}

static int r53_change(sg_reg_ctx *ctx, const char *action, char *body)
{
    if (!body)
        return SG_ENOMEM;
    json_t *j = NULL;
    int rc = aws_call(ctx, action, body, &j);
    free(body);
    if (rc)
        return rc;
    r53_op op;
    const char *id = json_string_value(json_object_get(j, "OperationId"));
    snprintf(op.id, sizeof op.id, "%s", id ? id : "");
    json_decref(j);
    if (!op.id[0])
        return sg_reg_fail(ctx, SG_REG_ERETRY, "%s: no OperationId in the reply", action);
    char what[200];
    snprintf(what, sizeof what, "Route 53 Domains operation %s", op.id);
    return sg_reg_wait_task(ctx, what, r53_op_check, &op);
}

static int r53_add(sg_reg_ctx *ctx, const sg_reg_ds *ds)
{
    return r53_change(ctx, "AssociateDelegationSignerToDomain",
                      sg_reg_route53_associate_body(ctx->domain, ds));
}

static int r53_remove(sg_reg_ctx *ctx, const sg_reg_ds *have)
{
    json_t *o = json_object();
    json_object_set_new(o, "DomainName", json_string(ctx->domain));
    json_object_set_new(o, "Id", json_string(have->id));
    char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return r53_change(ctx, "DisassociateDelegationSignerFromDomain", body);
}

const sg_reg_provider sg_reg_provider_route53 = {
    .name = "route53",
    .default_base = "https://route53domains." REGION ".amazonaws.com",
    .cred_keys = keys,
    .list = r53_list,
    .add = r53_add,
    .remove = r53_remove,
    .takes_dnskey = 1,
};
