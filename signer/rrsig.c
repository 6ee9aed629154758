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

int sg_rrsig_make(const sg_sign_key *key, const uint8_t *signer, const uint8_t *owner,
                  uint8_t labels, const sg_rrset *rs, uint32_t inception,
                  uint32_t expiration, uint8_t *out, size_t *len_out)
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
    pk = key->pkey ? key->pkey : sg_compact_key_get(key->compact);
    if (!pk) {
        rc = SG_ELIB; /* logged */
        goto out;
    }
    ctx = EVP_MD_CTX_new();
    uint8_t der[1024];
    size_t der_len = sizeof der;
    if (!ctx || EVP_DigestSignInit(ctx, NULL, alg_md(key->algorithm), NULL, pk) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, data, o) != 1) {
        rc = ossl_fail("signing failed");
        goto out;
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
