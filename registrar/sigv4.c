/* SPDX-License-Identifier: MIT */
/* AWS Signature Version 4 (HMAC-SHA256 over a canonical request), for Route 53 Domains:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html */
#include "registrar/internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static int sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int ml = 0;
    if (!EVP_Digest(data, len, md, &ml, EVP_sha256(), NULL) || ml != 32)
        return SG_ELIB;
    sg_reg_hex_encode(md, 32, out, 0);
    return 0;
}

static int hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int ol = 0;
    return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &ol) &&
                   ol == 32
               ? 0
               : SG_ELIB;
}

typedef struct hdr {
    char name[64];
    const char *value;   /* after "name:" */
} hdr;

static int hdr_cmp(const void *a, const void *b)
{
    return strcmp(((const hdr *)a)->name, ((const hdr *)b)->name);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A header value as SigV4 signs it: outer blanks trimmed, inner runs of blanks as one. */
static void put_value(sbuf *b, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    int space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = 1;
            continue;
        }
        if (space)
            put(b, " ", 1);
        space = 0;
        put(b, v, 1);
    }
}

/* The signed-headers list ("host;x-amz-date") into b. */
static int signed_headers(const sg_sigv4_req *req, hdr *h, sbuf *list)
{
    for (int i = 0; i < req->nheaders; i++) {
        const char *colon = strchr(req->headers[i], ':');
        size_t n = colon ? (size_t)(colon - req->headers[i]) : 0;
        if (!colon || n == 0 || n >= sizeof h[i].name)
            return SG_EINVAL;
        for (size_t k = 0; k < n; k++)
            h[i].name[k] = (char)tolower((unsigned char)req->headers[i][k]);
        h[i].name[n] = 0;
        h[i].value = colon + 1;
    }
    qsort(h, (size_t)req->nheaders, sizeof *h, hdr_cmp);
    for (int i = 0; i < req->nheaders; i++) {
        if (i)
            put(list, ";", 1);
        puts_(list, h[i].name);
    }
    return list->oom ? SG_ENOMEM : 0;
}

int sg_sigv4_canonical(const sg_sigv4_req *req, char **creq_out, char **sts_out)
{
    *creq_out = *sts_out = NULL;
    if (!req->method || !req->path || !req->amz_date || strlen(req->amz_date) != 16 ||
        req->nheaders < 1 || req->nheaders > 32)
        return SG_EINVAL;
    hdr h[32];
    sbuf c = { 0 }, list = { 0 }, sts = { 0 };
    int rc = signed_headers(req, h, &list);
    if (rc)
        goto out;
    puts_(&c, req->method);
    put(&c, "\n", 1);
    puts_(&c, req->path[0] ? req->path : "/");
    put(&c, "\n", 1);
    /* the query: its parameters sorted by name (then value), as given (encoded) */
    if (req->query && req->query[0]) {
        char *q = strdup(req->query), *parts[64], *save = NULL;
        int n = 0;
        if (!q) {
            rc = SG_ENOMEM;
            goto out;
        }
        for (char *p = strtok_r(q, "&", &save); p && n < 64; p = strtok_r(NULL, "&", &save))
            parts[n++] = p;
        qsort(parts, (size_t)n, sizeof parts[0], str_cmp);
        for (int i = 0; i < n; i++) {
            if (i)
                put(&c, "&", 1);
            puts_(&c, parts[i]);
            if (!strchr(parts[i], '='))
                put(&c, "=", 1);
        }
        free(q);
    }
    put(&c, "\n", 1);
    for (int i = 0; i < req->nheaders; i++) {
        puts_(&c, h[i].name);
        put(&c, ":", 1);
        put_value(&c, h[i].value);
        put(&c, "\n", 1);
    }
    put(&c, "\n", 1);
    if (list.s)
        puts_(&c, list.s);
    put(&c, "\n", 1);
    char hex[65];
    if ((rc = sha256_hex(req->body ? req->body : "", req->body ? req->body_len : 0, hex)))
        goto out;
    puts_(&c, hex);
    if (c.oom) {
        rc = SG_ENOMEM;
        goto out;
    }
    if ((rc = sha256_hex(c.s, c.n, hex)))
        goto out;
    char scope[160];
    snprintf(scope, sizeof scope, "%.8s/%s/%s/aws4_request", req->amz_date, req->region,
             req->service);
    puts_(&sts, "AWS4-HMAC-SHA256\n");
    puts_(&sts, req->amz_date);
    put(&sts, "\n", 1);
    puts_(&sts, scope);
    put(&sts, "\n", 1);
    puts_(&sts, hex);
    if (sts.oom) {
        rc = SG_ENOMEM;
        goto out;
    }
    *creq_out = c.s;
    *sts_out = sts.s;
    c.s = sts.s = NULL;
out:
    free(c.s);
    free(sts.s);
    free(list.s);
    return rc;
}

int sg_sigv4_authorization(const sg_sigv4_req *req, char *out, size_t cap)
{
    if (!req || !out || !req->access_key || !req->secret_key || !req->region || !req->service)
        return SG_EINVAL;
    char *creq, *sts;
    int rc = sg_sigv4_canonical(req, &creq, &sts);
    if (rc)
        return rc;
    /* the signing key: HMAC chain from "AWS4" + secret over date, region, service */
    size_t sl = strlen(req->secret_key);
    unsigned char *k0 = malloc(sl + 5);
    unsigned char k[32], sig[32];
    char date[9];
    snprintf(date, sizeof date, "%.8s", req->amz_date);
    if (!k0) {
        rc = SG_ENOMEM;
        goto out;
    }
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, req->secret_key, sl);
    if ((rc = hmac(k0, sl + 4, date, k)) || (rc = hmac(k, 32, req->region, k)) ||
        (rc = hmac(k, 32, req->service, k)) || (rc = hmac(k, 32, "aws4_request", k)) ||
        (rc = hmac(k, 32, sts, sig)))
        goto out;
    char hex[65];
    sg_reg_hex_encode(sig, 32, hex, 0);
    hdr h[32];
    sbuf list = { 0 };
    if ((rc = signed_headers(req, h, &list)))
        goto out;
    int n = snprintf(out, cap, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                               "SignedHeaders=%s, Signature=%s",
                     req->access_key, date, req->region, req->service, list.s, hex);
    free(list.s);
    if (n < 0 || (size_t)n >= cap)
        rc = SG_ESPACE;
out:
    if (k0) {
        OPENSSL_cleanse(k0, sl + 4);
        free(k0);
    }
    OPENSSL_cleanse(k, sizeof k);
    free(creq);
    free(sts);
    return rc;
}
