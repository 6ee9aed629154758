/* SPDX-License-Identifier: MIT */
/* RRSIG making with OpenSSL 3 EVP: the signed data of RFC 4034 3.1.8.1 and the DNSSEC
 * signature encodings (ECDSA r|s per RFC 6605, EdDSA per RFC 8080, RSA per RFC 5702). */
#include "signer/signer.h"
#include "signer/compact_key.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/name.h"
#include "keystore/pkcs11.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

static void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff; p[3] = v & 0xff;
}

size_t sg_sig_size(const sg_sign_key *key)
{
    switch (key->algorithm) {
    case SG_ALG_ECDSAP256SHA256: return 64;
    case SG_ALG_ECDSAP384SHA384: return 96;
    case SG_ALG_ED25519: return 64;
    case SG_ALG_ED448: return 114;
    case SG_ALG_RSASHA256: case SG_ALG_RSASHA512: return (size_t)EVP_PKEY_get_size(key->pkey);
    }
    return 0;
}

static const EVP_MD *alg_md(uint8_t alg)
{
    switch (alg) {
    case SG_ALG_RSASHA256: case SG_ALG_ECDSAP256SHA256: return EVP_sha256();
    case SG_ALG_RSASHA512: return EVP_sha512();
    case SG_ALG_ECDSAP384SHA384: return EVP_sha384();
    default: return NULL; /* EdDSA signs the message itself */
    }
}

static int ossl_fail(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    sg_log(SG_LOG_ERR, "signer", NULL, "%s: %s", what, buf);
    return SG_ELIB;
}

#define SIGN_CTX_KEYS 8

struct sg_sign_ctx {
    EVP_MD *md[3];              /* SHA-256, -384, -512, fetched once */
    EVP_MD_CTX *mctx;
    int nkeys;
    struct {
        const void *id;         /* the key's pkey, or its compact form */
        EVP_PKEY_CTX *pctx;     /* sign_init done, padding and digest set; holds its own
                                 * reference to the key object */
    } keys[SIGN_CTX_KEYS];
};

sg_sign_ctx *sg_sign_ctx_new(void)
{
    sg_sign_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->md[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
    c->md[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
    c->mctx = EVP_MD_CTX_new();
    if (!c->md[0] || !c->md[1] || !c->md[2] || !c->mctx) {
        sg_sign_ctx_free(c);
        return NULL;
    }
    return c;
}

void sg_sign_ctx_free(sg_sign_ctx *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nkeys; i++)
        EVP_PKEY_CTX_free(c->keys[i].pctx);
    for (int i = 0; i < 3; i++)
        EVP_MD_free(c->md[i]);
    EVP_MD_CTX_free(c->mctx);
    free(c);
}

static EVP_MD *ctx_md(sg_sign_ctx *c, uint8_t alg)
{
    switch (alg) {
    case SG_ALG_RSASHA256: case SG_ALG_ECDSAP256SHA256: return c->md[0];
    case SG_ALG_ECDSAP384SHA384: return c->md[1];
    case SG_ALG_RSASHA512: return c->md[2];
    default: return NULL;
    }
}

/* The key's signing context in c, made on first use; NULL when c cannot hold another or
 * OpenSSL refuses (the caller signs the usual way). */
static EVP_PKEY_CTX *ctx_key(sg_sign_ctx *c, const sg_sign_key *key, EVP_MD *md)
{
    const void *id = key->pkey ? (const void *)key->pkey : (const void *)key->compact;
    for (int i = 0; i < c->nkeys; i++)
        if (c->keys[i].id == id)
            return c->keys[i].pctx;
    if (c->nkeys == SIGN_CTX_KEYS)
        return NULL;
    /* a compact key's object is taken once per context: the context keeps it */
    EVP_PKEY *pk = key->pkey ? key->pkey : sg_compact_key_get(key->compact);
    if (!pk)
        return NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (!key->pkey)
        EVP_PKEY_free(pk);
    int rsa = key->algorithm == SG_ALG_RSASHA256 || key->algorithm == SG_ALG_RSASHA512;
    if (!pc || EVP_PKEY_sign_init(pc) != 1 ||
        (rsa && (EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1 ||
                 EVP_PKEY_CTX_set_signature_md(pc, md) != 1))) {
        EVP_PKEY_CTX_free(pc);
        ERR_clear_error();
        return NULL;
    }
    c->keys[c->nkeys].id = id;
    c->keys[c->nkeys].pctx = pc;
    return c->keys[c->nkeys++].pctx;
}

/* The DER (ECDSA) or raw (RSA) signature of data through c's cached contexts: 1 when done,
 * 0 when this key cannot go this way, -1 on an OpenSSL failure. */
static int ctx_sign(sg_sign_ctx *c, const sg_sign_key *key, const uint8_t *data, size_t len,
                    uint8_t *der, size_t *der_len)
{
    EVP_MD *md = c ? ctx_md(c, key->algorithm) : NULL;
    EVP_PKEY_CTX *pc = md ? ctx_key(c, key, md) : NULL;
    if (!pc)
        return 0;
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_DigestInit_ex2(c->mctx, md, NULL) != 1 || EVP_DigestUpdate(c->mctx, data, len) != 1 ||
        EVP_DigestFinal_ex(c->mctx, dig, &dlen) != 1 ||
        EVP_PKEY_sign(pc, der, der_len, dig, dlen) != 1)
        return -1;
    return 1;
}

int sg_rrsig_make(const sg_sign_key *key, const uint8_t *signer, const uint8_t *owner,
                  uint8_t labels, const sg_rrset *rs, uint32_t inception,
                  uint32_t expiration, uint8_t *out, size_t *len_out)
{
    return sg_rrsig_make_ctx(NULL, key, signer, owner, labels, rs, inception, expiration, out,
                             len_out);
}

int sg_rrsig_make_ctx(sg_sign_ctx *c, const sg_sign_key *key, const uint8_t *signer,
                      const uint8_t *owner, uint8_t labels, const sg_rrset *rs,
                      uint32_t inception, uint32_t expiration, uint8_t *out, size_t *len_out)
{
    if (!key || (!key->pkey && !key->compact) || !signer || !owner || !rs || !out || !len_out)
        return SG_EINVAL;
    size_t sig_len = sg_sig_size(key);
    size_t signer_len = sg_name_len(signer);
    if (!sig_len || 18 + signer_len + sig_len > SG_RRSIG_MAX)
        return SG_EINVAL;

    /* RRSIG RDATA without the signature */
    uint8_t *p = out;
    wr16(p, rs->type);
    p[2] = key->algorithm;
    p[3] = labels;
    wr32(p + 4, rs->ttl);
    wr32(p + 8, expiration);
    wr32(p + 12, inception);
    wr16(p + 16, key->key_tag);
    memcpy(p + 18, signer, signer_len);
    sg_name_lower(p + 18);
    size_t head = 18 + signer_len;

    /* signed data: the head, then each RR in canonical form and order */
    size_t owner_len = sg_name_len(owner);
    size_t total = head + (size_t)rs->count * (owner_len + 10) + rs->rdata_len;
    uint8_t stackbuf[4096];
    uint8_t *data = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (!data)
        return SG_ENOMEM;
    memcpy(data, out, head);
    size_t o = head;
    const uint8_t *rd = rs->rdata;
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t rdlen = sg_rdlen(rd);
        memcpy(data + o, owner, owner_len);
        sg_name_lower(data + o);
        o += owner_len;
        wr16(data + o, rs->type);
        wr16(data + o + 2, SG_CLASS_IN);
        wr32(data + o + 4, rs->ttl);
        memcpy(data + o + 8, rd, 2 + (size_t)rdlen);
        o += 10 + rdlen;
        rd += 2 + rdlen;
    }

    int rc = 0;
    EVP_MD_CTX *ctx = NULL;
    EVP_PKEY *pk = NULL;
    if (key->token) {
        size_t got = 0;
        rc = sg_p11_sign(key->token, data, o, out + head, SG_RRSIG_MAX - head, &got);
        if (!rc && got != sig_len) {
            sg_log(SG_LOG_ERR, "signer", NULL, "the token's signature is %zu bytes, not %zu",
                   got, sig_len);
            rc = SG_ELIB;
        }
        if (!rc)
            *len_out = head + sig_len;
        goto out;
    }
    uint8_t der[1024];
    size_t der_len = sizeof der;
    int fast = ctx_sign(c, key, data, o, der, &der_len);
    if (fast < 0) {
        rc = ossl_fail("signing failed");
        goto out;
    }
    if (!fast) {
        pk = key->pkey ? key->pkey : sg_compact_key_get(key->compact);
        if (!pk) {
            rc = SG_ELIB; /* logged */
            goto out;
        }
        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestSignInit(ctx, NULL, alg_md(key->algorithm), NULL, pk) != 1 ||
            EVP_DigestSign(ctx, der, &der_len, data, o) != 1) {
            rc = ossl_fail("signing failed");
            goto out;
        }
    }
    uint8_t *sig = out + head;
    if (key->algorithm == SG_ALG_ECDSAP256SHA256 || key->algorithm == SG_ALG_ECDSAP384SHA384) {
        /* DER SEQUENCE { r, s } -> r | s, each padded to the curve size */
        const unsigned char *dp = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
        if (!es) {
            rc = ossl_fail("bad ECDSA signature encoding");
            goto out;
        }
        const BIGNUM *r, *s;
        ECDSA_SIG_get0(es, &r, &s);
        int half = (int)sig_len / 2;
        if (BN_bn2binpad(r, sig, half) != half || BN_bn2binpad(s, sig + half, half) != half) {
            ECDSA_SIG_free(es);
            rc = ossl_fail("ECDSA signature too long");
            goto out;
        }
        ECDSA_SIG_free(es);
    } else {
        if (der_len != sig_len) {
            rc = ossl_fail("unexpected signature length");
            goto out;
        }
        memcpy(sig, der, der_len);
    }
    *len_out = head + sig_len;
out:
    EVP_MD_CTX_free(ctx);
    if (pk && !key->pkey)
        EVP_PKEY_free(pk); /* our reference to the compact key's object */
    if (data != stackbuf)
        free(data);
    return rc;
}
