/* SPDX-License-Identifier: MIT */
/* OVHcloud (eu.api.ovh.com/1.0, or ca./us. by name): signed requests (application key,
 * application secret, consumer key); the domain's DS set is given as DNSKEYs and replaced
 * as a whole by a task, which is polled until it ends. */
#include "registrar/internal.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const keys[] = { "application-key", "application-secret", "consumer-key", NULL };

int sg_reg_ovh_signature(const char *as, const char *ck, const char *method, const char *url,
                         const char *body, int64_t ts, char out[45])
{
    char tsbuf[32];
    snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)ts);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int ok = m && EVP_DigestInit_ex(m, EVP_sha1(), NULL);
    const char *parts[] = { as, ck, method, url, body ? body : "", tsbuf };
    for (int i = 0; ok && i < 6; i++)
        ok = (i == 0 || EVP_DigestUpdate(m, "+", 1)) && EVP_DigestUpdate(m, parts[i], strlen(parts[i]));
    ok = ok && EVP_DigestFinal_ex(m, md, &mdlen);
    EVP_MD_CTX_free(m);
    if (!ok || mdlen != 20)
        return SG_ELIB;
    memcpy(out, "$1$", 3);
    sg_reg_hex_encode(md, 20, out + 3, 0);
    return 0;
}

char *sg_reg_ovh_keys_body(const sg_reg_dsset *want)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < want->n; i++) {
        const sg_reg_ds *d = &want->v[i];
        char b64[2 * SG_KS_PUBKEY_MAX];
        if (sg_reg_b64_encode(d->pubkey, d->pubkey_len, b64, sizeof b64)) {
            json_decref(arr);
            return NULL;
        }
        json_t *k = json_object();
        json_object_set_new(k, "algorithm", json_integer(d->algorithm));
        json_object_set_new(k, "flags", json_integer(d->flags));
        json_object_set_new(k, "publicKey", json_string(b64));
        json_object_set_new(k, "tag", json_integer(d->tag));
        json_array_append_new(arr, k);
    }
    json_t *o = json_object();
    json_object_set_new(o, "keys", arr);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int sg_reg_ovh_parse_key(const json_t *r, sg_reg_ds *d, char *err, size_t cap)
{
    memset(d, 0, sizeof *d);
    long tag = sg_reg_json_uint(json_object_get(r, "tag"), 65535);
    long alg = sg_reg_json_uint(json_object_get(r, "algorithm"), 255);
    long flags = sg_reg_json_uint(json_object_get(r, "flags"), 65535);
    long id = sg_reg_json_uint(json_object_get(r, "id"), 0x7fffffffUL);
    const char *pk = json_string_value(json_object_get(r, "publicKey"));
    if (tag < 0 || alg < 0 || flags < 0 || !pk ||
        sg_reg_b64_decode(pk, d->pubkey, sizeof d->pubkey, &d->pubkey_len)) {
        snprintf(err, cap, "a key without tag, algorithm, flags or a base64 publicKey");
        return SG_EMALFORMED;
    }
    d->tag = (uint16_t)tag;
    d->algorithm = (uint8_t)alg;
    d->flags = (uint16_t)flags;
    if (id >= 0)
        snprintf(d->id, sizeof d->id, "%ld", id);
    return 0;
}

/* A signed call. The timestamp is the server's clock (GET /auth/time), as OVH's own
 * clients do, so that a skewed local clock does not get every request refused. */
static int ovh_call(sg_reg_ctx *ctx, const char *method, const char *path, const char *body,
                    json_t **out)
{
    json_t *t = NULL;
    int rc = sg_reg_call(ctx, "GET", "/auth/time", NULL, 0, NULL, NULL, &t);
    if (rc)
        return rc;
    int64_t ts = json_is_integer(t) ? (int64_t)json_integer_value(t) : (int64_t)time(NULL);
    json_decref(t);
    char url[2048], sig[45];
    snprintf(url, sizeof url, "%s%s", ctx->base, path);
    if ((rc = sg_reg_ovh_signature(sg_reg_cred_get(ctx->cred, "application-secret"),
                                   sg_reg_cred_get(ctx->cred, "consumer-key"), method, url, body,
                                   ts, sig)))
        return sg_reg_fail(ctx, rc, "signature: %s", sg_strerror(rc));
    char h1[512], h2[512], h3[64], h4[80];
    snprintf(h1, sizeof h1, "X-Ovh-Application: %s", sg_reg_cred_get(ctx->cred, "application-key"));
    snprintf(h2, sizeof h2, "X-Ovh-Consumer: %s", sg_reg_cred_get(ctx->cred, "consumer-key"));
    snprintf(h3, sizeof h3, "X-Ovh-Timestamp: %lld", (long long)ts);
    snprintf(h4, sizeof h4, "X-Ovh-Signature: %s", sig);
    const char *h[] = { h1, h2, h3, h4 };
    rc = sg_reg_call(ctx, method, url, h, 4, body, NULL, out);
    memset(h2, 0, sizeof h2);
    return rc;
}

static int ovh_list(sg_reg_ctx *ctx, sg_reg_dsset *out)
{
    sg_reg_dsset_init(out);
    char path[512];
    snprintf(path, sizeof path, "/domain/%s/dsRecord", ctx->domain);
    json_t *ids;
    int rc = ovh_call(ctx, "GET", path, NULL, &ids);
    if (rc)
        return rc;
    if (!json_is_array(ids)) {
        json_decref(ids);
        return sg_reg_fail(ctx, SG_REG_ERETRY, "GET %s: not a list of ids", path);
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        long id = sg_reg_json_uint(v, 0x7fffffffUL);
        if (id < 0) {
            rc = sg_reg_fail(ctx, SG_REG_ERETRY, "GET %s: a bad id", path);
            break;
        }
        char p2[600];
        snprintf(p2, sizeof p2, "%s/%ld", path, id);
        json_t *k;
        if ((rc = ovh_call(ctx, "GET", p2, NULL, &k)))
            break;
        sg_reg_ds d;
        char err[200];
        rc = sg_reg_ovh_parse_key(k, &d, err, sizeof err);
        json_decref(k);
        if (rc) {
            rc = sg_reg_fail(ctx, SG_REG_ERETRY, "GET %s: %s", p2, err);
            break;
        }
        if ((rc = sg_reg_dsset_add(out, &d)))
            break;
    }
    json_decref(ids);
    if (rc)
        sg_reg_dsset_deinit(out);
    return rc;
}

const char *sg_reg_ovh_endpoint(const char *name)
{
    /* the regional APIs of OVHcloud's own clients (python-ovh ENDPOINTS) */
    static const char *const map[][2] = {
        { "ovh-eu", "https://eu.api.ovh.com/1.0" },
        { "ovh-ca", "https://ca.api.ovh.com/1.0" },
        { "ovh-us", "https://api.us.ovhcloud.com/1.0" },
    };
    for (size_t i = 0; name && i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(name, map[i][0]))
            return map[i][1];
    return NULL;
}

char *sg_reg_ovh_task_path(const char *domain, long id)
{
    char *p = malloc(strlen(domain) + 48);
    if (p)
        sprintf(p, "/domain/%s/task/%ld", domain, id);
    return p;
}

typedef struct ovh_task {
    long id;
} ovh_task;

/* GET /domain/{d}/task/{id}: todo, doing, init are under way; done is done; error,
 * cancelled (and anything else) failed, with OVHcloud's comment. */
static int ovh_task_check(sg_reg_ctx *ctx, void *arg, int *done, char *state, size_t cap)
{
    const ovh_task *t = arg;
    char *path = sg_reg_ovh_task_path(ctx->domain, t->id);
    if (!path)
        return SG_ENOMEM;
    json_t *j = NULL;
    int rc = ovh_call(ctx, "GET", path, NULL, &j);
    free(path);
    if (rc)
        return rc;
    const char *st = json_string_value(json_object_get(j, "status"));
    const char *comment = json_string_value(json_object_get(j, "comment"));
    snprintf(state, cap, "%s", st ? st : "?");
    sg_reg_note_add(ctx->journal, "reg-call", "OVHcloud task %ld: %s", t->id, state);
    if (st && !strcmp(st, "done")) {
        *done = 1;
    } else if (!st || (strcmp(st, "todo") && strcmp(st, "doing") && strcmp(st, "init"))) {
        rc = sg_reg_fail(ctx, SG_REG_EREJECT, "OVHcloud task %ld ended %s%s%s", t->id, state,
                         comment ? ": " : "", comment ? comment : "");
    }
    json_decref(j);
    return rc;
}

static int ovh_replace(sg_reg_ctx *ctx, const sg_reg_dsset *want)
{
    for (size_t i = 0; i < want->n; i++)
        if (!want->v[i].pubkey_len)
            return sg_reg_fail(ctx, SG_EINVAL, "OVHcloud needs the DNSKEY of DS %u", want->v[i].tag);
    char path[512];
    snprintf(path, sizeof path, "/domain/%s/dsRecord", ctx->domain);
    char *body = sg_reg_ovh_keys_body(want);
    if (!body)
        return SG_ENOMEM;
    json_t *task = NULL;
    int rc = ovh_call(ctx, "POST", path, body, &task);
    free(body);
    if (rc)
        return rc;
    ovh_task t = { sg_reg_json_uint(json_object_get(task, "id"), 0x7fffffffUL) };
    const char *st = json_string_value(json_object_get(task, "status"));
    sg_reg_note_add(ctx->journal, "reg-call", "OVHcloud task %ld: %s", t.id, st ? st : "?");
    int finished = st && !strcmp(st, "done");
    json_decref(task);
    if (t.id < 0)
        return sg_reg_fail(ctx, SG_REG_ERETRY, "POST %s: no task id in the reply", path);
    if (finished)
        return 0;
    /* the POST only queues the change: the set is the registrar's once the task is done,
     * and only then does listing it again say anything */
    char what[64];
    snprintf(what, sizeof what, "OVHcloud task %ld", t.id);
    return sg_reg_wait_task(ctx, what, ovh_task_check, &t);
}

const sg_reg_provider sg_reg_provider_ovh = {
    .name = "ovh",
    .default_base = "https://eu.api.ovh.com/1.0",
    .cred_keys = keys,
    .list = ovh_list,
    .replace = ovh_replace,
    .takes_dnskey = 1,
};
