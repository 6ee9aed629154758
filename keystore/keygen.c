/* SPDX-License-Identifier: MIT */
/* Key generation and the DNSKEY public key formats (RFC 3110, 6605, 8080), OpenSSL 3 EVP. */
#include "keystore/internal.h"

#include "common/errors.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <string.h>

static int is_rsa(uint8_t alg)
{
    return alg == SG_KS_ALG_RSASHA256 || alg == SG_KS_ALG_RSASHA512;
}

int sg_ks_pkey_generate(uint8_t alg, uint16_t bits, EVP_PKEY **pkey_out)
{
    if (!pkey_out)
        return SG_EINVAL;
    EVP_PKEY *k = NULL;
    switch (alg) {
    case SG_KS_ALG_RSASHA256:
    case SG_KS_ALG_RSASHA512:
        if (bits == 0)
            bits = 2048;
        if (bits < 1024 || bits > 4096)
            return SG_EINVAL;
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
        break;
    case SG_KS_ALG_ECDSAP256SHA256: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
    case SG_KS_ALG_ECDSAP384SHA384: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"); break;
    case SG_KS_ALG_ED25519: k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); break;
    case SG_KS_ALG_ED448: k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448"); break;
    default: return SG_EINVAL;
    }
    if (!k)
        return ks_ssl_fail(NULL, "generate key");
    *pkey_out = k;
    return 0;
}

uint16_t sg_ks_pkey_bits(const EVP_PKEY *pkey)
{
    /* DNSSEC tools count an Ed25519 key as 256 bits, not the curve's 253. */
    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return 256;
    return (uint16_t)EVP_PKEY_get_bits(pkey);
}

/* Field size of the curve for an ECDSA algorithm, 0 if not ECDSA. */
static size_t ec_size(uint8_t alg)
{
    return alg == SG_KS_ALG_ECDSAP256SHA256 ? 32 : alg == SG_KS_ALG_ECDSAP384SHA384 ? 48 : 0;
}

static int bn_param(const EVP_PKEY *pkey, const char *name, uint8_t *buf, size_t cap,
                    size_t *len_out)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
        return ks_ssl_fail(NULL, "read RSA parameter");
    int n = BN_num_bytes(bn);
    int r = 0;
    if ((size_t)n > cap)
        r = SG_ESPACE;
    else
        BN_bn2bin(bn, buf);
    *len_out = (size_t)n;
    BN_free(bn);
    return r;
}

int sg_ks_pkey_to_dnskey(const EVP_PKEY *pkey, uint8_t alg, uint8_t *buf, size_t cap,
                         size_t *len_out)
{
    if (!pkey || !buf || !len_out)
        return SG_EINVAL;
    size_t fs = ec_size(alg);
    if (fs) {
        uint8_t pt[1 + 2 * 48];
        size_t n = 0;
        if (!EVP_PKEY_is_a(pkey, "EC") || EVP_PKEY_get_bits(pkey) != (int)(fs * 8))
            return SG_EINVAL;
        if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
                                             sizeof pt, &n))
            return ks_ssl_fail(NULL, "read EC public key");
        /* RFC 6605 4: the point as x | y, without the uncompressed-form 0x04 prefix. */
        if (n != 1 + 2 * fs || pt[0] != 4)
            return SG_EMALFORMED;
        if (cap < 2 * fs)
            return SG_ESPACE;
        memcpy(buf, pt + 1, 2 * fs);
        *len_out = 2 * fs;
        return 0;
    }
    if (alg == SG_KS_ALG_ED25519 || alg == SG_KS_ALG_ED448) {
        if (!EVP_PKEY_is_a(pkey, alg == SG_KS_ALG_ED25519 ? "ED25519" : "ED448"))
            return SG_EINVAL;
        size_t n = cap;
        if (!EVP_PKEY_get_raw_public_key(pkey, buf, &n))
            return ks_ssl_fail(NULL, "read EdDSA public key");
        *len_out = n;
        return 0;
    }
    if (is_rsa(alg)) {
        if (!EVP_PKEY_is_a(pkey, "RSA"))
            return SG_EINVAL;
        /* RFC 3110 2: exponent length (1 octet, or 0 then 2 octets), exponent, modulus. */
        uint8_t e[512], n[512];
        size_t elen = 0, nlen = 0;
        int r = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, e, sizeof e, &elen);
        if (!r)
            r = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, n, sizeof n, &nlen);
        if (r)
            return r;
        size_t hdr = elen <= 255 ? 1 : 3;
        if (cap < hdr + elen + nlen)
            return SG_ESPACE;
        if (hdr == 1) {
            buf[0] = (uint8_t)elen;
        } else {
            buf[0] = 0;
            buf[1] = elen >> 8;
            buf[2] = elen & 0xff;
        }
        memcpy(buf + hdr, e, elen);
        memcpy(buf + hdr + elen, n, nlen);
        *len_out = hdr + elen + nlen;
        return 0;
    }
    return SG_EINVAL;
}

static int from_params(const char *type, OSSL_PARAM_BLD *bld, int selection, EVP_PKEY **out)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    int ok = params && ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
             EVP_PKEY_fromdata(ctx, out, selection, params) > 0;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return ok ? 0 : ks_ssl_fail(NULL, "build key");
}

int sg_ks_pkey_from_dnskey(uint8_t alg, const uint8_t *pub, size_t len, EVP_PKEY **pkey_out)
{
    if (!pub || !pkey_out)
        return SG_EINVAL;
    *pkey_out = NULL;
    size_t fs = ec_size(alg);
    if (fs) {
        if (len != 2 * fs)
            return SG_EMALFORMED;
        uint8_t pt[1 + 2 * 48];
        pt[0] = 4;
        memcpy(pt + 1, pub, len);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        if (!bld)
            return SG_ENOMEM;
        int r = SG_ELIB;
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                            fs == 32 ? "P-256" : "P-384", 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + len))
            r = from_params("EC", bld, EVP_PKEY_PUBLIC_KEY, pkey_out);
        OSSL_PARAM_BLD_free(bld);
        return r;
    }
    if (alg == SG_KS_ALG_ED25519 || alg == SG_KS_ALG_ED448) {
        EVP_PKEY *k = EVP_PKEY_new_raw_public_key(
            alg == SG_KS_ALG_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448, NULL, pub, len);
        if (!k)
            return ks_ssl_fail(NULL, "read EdDSA DNSKEY");
        *pkey_out = k;
        return 0;
    }
    if (is_rsa(alg)) {
        size_t hdr = 1, elen;
        if (len < 3)
            return SG_EMALFORMED;
        elen = pub[0];
        if (elen == 0) {
            hdr = 3;
            elen = (size_t)pub[1] << 8 | pub[2];
        }
        if (elen == 0 || hdr + elen >= len)
            return SG_EMALFORMED;
        BIGNUM *e = BN_bin2bn(pub + hdr, (int)elen, NULL);
        BIGNUM *n = BN_bin2bn(pub + hdr + elen, (int)(len - hdr - elen), NULL);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        int r = SG_ENOMEM;
        if (e && n && bld) {
            r = SG_ELIB;
            if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
                OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
                r = from_params("RSA", bld, EVP_PKEY_PUBLIC_KEY, pkey_out);
        }
        OSSL_PARAM_BLD_free(bld);
        BN_free(e);
        BN_free(n);
        return r;
    }
    return SG_EINVAL;
}
