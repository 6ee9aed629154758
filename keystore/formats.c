/* SPDX-License-Identifier: MIT */
/* DNSKEY, DS, CDS and CDNSKEY: wire RDATA, key tags, presentation text. */
#include "keystore/internal.h"

#include "common/errors.h"
#include "common/name.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int sg_ks_dnskey_rdata(uint16_t flags, uint8_t alg, const uint8_t *pub, size_t pub_len,
                       uint8_t *buf, size_t cap, size_t *len_out)
{
    if (!pub || !buf || !len_out)
        return SG_EINVAL;
    if (cap < 4 + pub_len)
        return SG_ESPACE;
    buf[0] = flags >> 8;
    buf[1] = flags & 0xff;
    buf[2] = 3;  /* protocol, always 3 (RFC 4034 2.1.2) */
    buf[3] = alg;
    memcpy(buf + 4, pub, pub_len);
    *len_out = 4 + pub_len;
    return 0;
}

int sg_ks_key_dnskey_rdata(const sg_ks_key *k, uint8_t *buf, size_t cap, size_t *len_out)
{
    if (!k)
        return SG_EINVAL;
    return sg_ks_dnskey_rdata(k->flags, k->algorithm, k->pubkey, k->pubkey_len, buf, cap,
                              len_out);
}

uint16_t sg_ks_key_tag(const uint8_t *rdata, size_t len)
{
    if (!rdata || len < 4)
        return 0;
    /* Algorithm 1 (RSA/MD5) takes its tag from the modulus (RFC 4034 B.1). */
    if (rdata[3] == 1)
        return len >= 3 ? (uint16_t)(rdata[len - 3] << 8 | rdata[len - 2]) : 0;
    uint32_t ac = 0;
    for (size_t i = 0; i < len; i++)
        ac += (i & 1) ? rdata[i] : (uint32_t)rdata[i] << 8;
    ac += (ac >> 16) & 0xffff;
    return ac & 0xffff;
}

int sg_ks_ds_rdata(const uint8_t *owner, const uint8_t *dnskey, size_t dnskey_len,
                   uint8_t digest_type, uint8_t *buf, size_t cap, size_t *len_out)
{
    if (!owner || !dnskey || dnskey_len < 4 || !buf || !len_out)
        return SG_EINVAL;
    const EVP_MD *md = digest_type == SG_KS_DIGEST_SHA256 ? EVP_sha256()
                     : digest_type == SG_KS_DIGEST_SHA384 ? EVP_sha384()
                     : digest_type == SG_KS_DIGEST_SHA1 ? EVP_sha1() : NULL;
    if (!md)
        return SG_EINVAL;
    size_t dlen = (size_t)EVP_MD_get_size(md);
    if (cap < 4 + dlen)
        return SG_ESPACE;
    /* digest = hash(canonical owner name | DNSKEY RDATA), RFC 4034 5.1.4 */
    uint8_t name[SG_NAME_MAX];
    size_t nlen = sg_name_len(owner);
    memcpy(name, owner, nlen);
    sg_name_lower(name);
    unsigned int outl = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, name, nlen) &&
             EVP_DigestUpdate(ctx, dnskey, dnskey_len) &&
             EVP_DigestFinal_ex(ctx, buf + 4, &outl);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ks_ssl_fail(NULL, "DS digest");
    uint16_t tag = sg_ks_key_tag(dnskey, dnskey_len);
    buf[0] = tag >> 8;
    buf[1] = tag & 0xff;
    buf[2] = dnskey[3];
    buf[3] = digest_type;
    *len_out = 4 + outl;
    return 0;
}

int ks_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
    if (cap < 4 * ((len + 2) / 3) + 1)
        return SG_ESPACE;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return 0;
}

int ks_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len_out)
{
    /* EVP_DecodeBlock wants no whitespace and counts padding as zero bytes. */
    char clean[4096];
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            continue;
        if (n + 1 >= sizeof clean)
            return SG_ESPACE;
        clean[n++] = *p;
    }
    clean[n] = 0;
    if (n == 0 || n % 4)
        return SG_ESYNTAX;
    if (cap < n / 4 * 3)
        return SG_ESPACE;
    int got = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)n);
    if (got < 0)
        return SG_ESYNTAX;
    size_t pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
    *len_out = (size_t)got - pad;
    return 0;
}

void ks_hex_encode(const uint8_t *in, size_t len, char *out, int upper)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * len] = 0;
}

int sg_ks_key_dnskey_text(const sg_ks_key *k, uint32_t ttl, const char *type, char *buf,
                          size_t cap)
{
    if (!k || !type || !buf)
        return SG_EINVAL;
    char b64[SG_KS_PUBKEY_MAX * 2];
    int r = ks_b64_encode(k->pubkey, k->pubkey_len, b64, sizeof b64);
    if (r)
        return r;
    int n = snprintf(buf, cap, "%s %u IN %s %u 3 %u %s", k->zone, ttl, type, k->flags,
                     k->algorithm, b64);
    return n < 0 || (size_t)n >= cap ? SG_ESPACE : 0;
}

int sg_ks_key_ds_text(const sg_ks_key *k, uint32_t ttl, uint8_t digest_type, const char *type,
                      char *buf, size_t cap)
{
    if (!k || !type || !buf)
        return SG_EINVAL;
    uint8_t owner[SG_NAME_MAX], rd[SG_KS_RDATA_MAX], ds[4 + 64];
    size_t rdlen, dslen;
    if (sg_name_from_str(k->zone, NULL, owner) != 0)
        return SG_EINVAL;
    int r = sg_ks_key_dnskey_rdata(k, rd, sizeof rd, &rdlen);
    if (!r)
        r = sg_ks_ds_rdata(owner, rd, rdlen, digest_type, ds, sizeof ds, &dslen);
    if (r)
        return r;
    char hex[2 * 64 + 1];
    ks_hex_encode(ds + 4, dslen - 4, hex, 1);
    int n = snprintf(buf, cap, "%s %u IN %s %u %u %u %s", k->zone, ttl, type,
                     (unsigned)(ds[0] << 8 | ds[1]), ds[2], ds[3], hex);
    return n < 0 || (size_t)n >= cap ? SG_ESPACE : 0;
}
