/* SPDX-License-Identifier: MIT */
/* The generic JSON provider for registries and resellers with their own APIs: methods,
 * URLs, headers and bodies are templates in the config. */
#include "registrar/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const no_keys[] = { NULL };

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static int put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return -1;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

static int put_value(buf *b, const char *v, int json_escape)
{
    if (!json_escape)
        return put(b, v, strlen(v));
    for (const char *c = v; *c; c++) {
        char e[8];
        if (*c == '"' || *c == '\\') {
            e[0] = '\\';
            e[1] = *c;
            if (put(b, e, 2))
                return -1;
        } else if ((unsigned char)*c < 0x20) {
            snprintf(e, sizeof e, "\\u%04x", (unsigned char)*c);
            if (put(b, e, 6))
                return -1;
        } else if (put(b, c, 1)) {
            return -1;
        }
    }
    return 0;
}

char *sg_reg_rest_expand(const char *tmpl, const sg_reg_ctx *ctx, const sg_reg_ds *ds,
                         int json_escape)
{
    buf b = { 0 };
    if (put(&b, "", 0))
        return NULL;
    for (const char *p = tmpl; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        if (!close || close - p > 64) {
            if (put(&b, p, 1))
                goto nomem;
            p++;
            continue;
        }
        char name[80], v[2 * SG_KS_PUBKEY_MAX];
        snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
        const char *val = NULL;
        v[0] = 0;
        if (!strcmp(name, "domain"))
            val = ctx->domain;
        else if (!strncmp(name, "cred:", 5))
            val = sg_reg_cred_get(ctx->cred, name + 5);
        else if (ds && !strcmp(name, "tag"))
            snprintf(v, sizeof v, "%u", ds->tag), val = v;
        else if (ds && !strcmp(name, "alg"))
            snprintf(v, sizeof v, "%u", ds->algorithm), val = v;
        else if (ds && !strcmp(name, "digest_type"))
            snprintf(v, sizeof v, "%u", ds->digest_type), val = v;
        else if (ds && !strcmp(name, "digest"))
            sg_reg_hex_encode(ds->digest, ds->digest_len, v, 1), val = v;
        else if (ds && !strcmp(name, "flags"))
            snprintf(v, sizeof v, "%u", ds->flags), val = v;
        else if (ds && !strcmp(name, "pubkey"))
            val = sg_reg_b64_encode(ds->pubkey, ds->pubkey_len, v, sizeof v) ? "" : v;
        else if (ds && !strcmp(name, "id"))
            val = ds->id;
        else if (!strcmp(name, "ttl"))
            snprintf(v, sizeof v, "%u", ctx->ds_ttl), val = v;
        if (!val) {
            /* not a placeholder of ours (JSON braces in a body): copy it as it is */
            if (put(&b, p, 1))
                goto nomem;
            p++;
            continue;
        }
        if (put_value(&b, val, json_escape))
            goto nomem;
        p = close + 1;
    }
    return b.s;
nomem:
    free(b.s);
    return NULL;
}

static const json_t *at_path(const json_t *root, const char *path)
{
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%s", path);
    const json_t *cur = root;
    for (char *save = NULL, *seg = strtok_r(tmp, ".", &save); seg && cur;
         seg = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, seg);
    return cur;
}

static const char *field(const sg_reg_cfg *cfg, int i)
{
    static const char *const def[] = { "tag", "algorithm", "digest_type", "digest", "id" };
    return cfg->rest_fields[i][0] ? cfg->rest_fields[i] : def[i];
}

static int parse_one(const sg_reg_cfg *cfg, const json_t *r, sg_reg_ds *d, char *err, size_t cap)
{
    memset(d, 0, sizeof *d);
    long tag = sg_reg_json_uint(json_object_get(r, field(cfg, 0)), 65535);
    long alg = sg_reg_json_uint(json_object_get(r, field(cfg, 1)), 255);
    long dt = sg_reg_json_uint(json_object_get(r, field(cfg, 2)), 255);
    const char *dg = json_string_value(json_object_get(r, field(cfg, 3)));
    if (tag < 0 || alg < 0 || dt < 0 || !dg ||
        sg_reg_hex_decode(dg, d->digest, sizeof d->digest, &d->digest_len)) {
        snprintf(err, cap, "a record without %s, %s, %s or a hex %s", field(cfg, 0),
                 field(cfg, 1), field(cfg, 2), field(cfg, 3));
        return SG_EMALFORMED;
    }
    d->tag = (uint16_t)tag;
    d->algorithm = (uint8_t)alg;
    d->digest_type = (uint8_t)dt;
    const json_t *id = json_object_get(r, field(cfg, 4));
    if (json_is_string(id))
        snprintf(d->id, sizeof d->id, "%s", json_string_value(id));
    else if (json_is_integer(id))
        snprintf(d->id, sizeof d->id, "%lld", (long long)json_integer_value(id));
    return 0;
}

int sg_reg_rest_parse_list(const sg_reg_cfg *cfg, const json_t *root, sg_reg_dsset *out,
                           char *err, size_t cap)
{
    sg_reg_dsset_init(out);
    const json_t *list = cfg->rest_list_path[0] ? at_path(root, cfg->rest_list_path) : root;
    sg_reg_ds d;
    int rc = 0;
    if (json_is_array(list)) {
        size_t i;
        const json_t *r;
        json_array_foreach(list, i, r) {
            if ((rc = parse_one(cfg, r, &d, err, cap)) || (rc = sg_reg_dsset_add(out, &d)))
                break;
        }
    } else if (json_is_object(list)) {
        const char *k;
        const json_t *r;
        json_object_foreach((json_t *)list, k, r) {
            if ((rc = parse_one(cfg, r, &d, err, cap)) || (rc = sg_reg_dsset_add(out, &d)))
                break;
        }
    } else if (list && !json_is_null(list)) {
        snprintf(err, cap, "'%s' is not a list", cfg->rest_list_path[0] ? cfg->rest_list_path : "the response");
        rc = SG_EMALFORMED;
    }
    if (rc)
        sg_reg_dsset_deinit(out);
    return rc;
}

/* A call from a METHOD URL [BODY] triple, with the configured headers. */
static int rest_call(sg_reg_ctx *ctx, const char *method, const char *url_t, const char *body_t,
                     const sg_reg_ds *ds, json_t **out)
{
    const sg_reg_cfg *cfg = ctx->cfg;
    char *url = sg_reg_rest_expand(url_t, ctx, ds, 0);
    char *body = body_t && body_t[0] ? sg_reg_rest_expand(body_t, ctx, ds, 1) : NULL;
    char *hv[SG_REG_MAX_HEADERS] = { 0 };
    int rc = url && (!body_t || !body_t[0] || body) ? 0 : SG_ENOMEM;
    for (int i = 0; !rc && i < cfg->nrest_headers; i++)
        if (!(hv[i] = sg_reg_rest_expand(cfg->rest_headers[i], ctx, ds, 0)))
            rc = SG_ENOMEM;
    if (!rc)
        rc = sg_reg_call(ctx, method, url, (const char *const *)hv, cfg->nrest_headers, body,
                         NULL, out);
    for (int i = 0; i < cfg->nrest_headers; i++) {
        if (hv[i])
            memset(hv[i], 0, strlen(hv[i])); /* they may hold a token */
        free(hv[i]);
    }
    if (body)
        memset(body, 0, strlen(body));
    free(body);
    free(url);
    return rc;
}

static int rest_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    json_t *j = NULL;
    int rc = rest_call(ctx, ctx->cfg->rest_list[0], ctx->cfg->rest_list[1], NULL, NULL, &j);
    if (rc)
        return rc;
    char err[200];
    rc = sg_reg_rest_parse_list(ctx->cfg, j, out, err, sizeof err);
    json_decref(j);
    return rc ? sg_reg_fail(ctx, SG_REG_ERETRY, "list: %s", err) : 0;
}

static int rest_add(sg_reg_ctx *ctx, const sg_reg_ds *ds)
{
    return rest_call(ctx, ctx->cfg->rest_add[0], ctx->cfg->rest_add[1], ctx->cfg->rest_add[2], ds, NULL);
}

static int rest_remove(sg_reg_ctx *ctx, const sg_reg_ds *have)
{
    return rest_call(ctx, ctx->cfg->rest_remove[0], ctx->cfg->rest_remove[1],
                     ctx->cfg->rest_remove[2], have, NULL);
}

const sg_reg_provider sg_reg_provider_rest = {
    .name = "rest",
    .default_base = "",
    .cred_keys = no_keys,
    .list = rest_list,
    .add = rest_add,
    .remove = rest_remove,
};
