/* SPDX-License-Identifier: MIT */
/* One-time passwords for registrar accounts with two-factor authentication: TOTP
 * (RFC 6238) over HOTP (RFC 4226) with HMAC-SHA1, and the base32 (RFC 4648) in which
 * authenticator apps and registrars hand out the shared secret. */
#include "registrar/internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int sg_reg_base32_decode(const char *in, uint8_t *out, size_t cap, size_t *len_out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        /* apps show the secret in groups, sometimes in lower case, padded or not */
        if (*p == ' ' || *p == '-' || *p == '=')
            continue;
        int c = toupper((unsigned char)*p), v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return SG_EMALFORMED;
        acc = acc << 5 | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (n == cap)
                return SG_ESPACE;
            out[n++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    *len_out = n;
    return n ? 0 : SG_EMALFORMED;
}

int sg_reg_totp(const uint8_t *key, size_t keylen, int64_t now, unsigned step, unsigned digits,
                char *out, size_t cap)
{
    if (!key || !keylen || !step || digits < 6 || digits > 9 || cap < digits + 1 || now < 0)
        return SG_EINVAL;
    uint64_t t = (uint64_t)now / step; /* RFC 6238 4.2: T0 = 0 */
    uint8_t msg[8];
    for (int i = 7; i >= 0; i--, t >>= 8)
        msg[i] = (uint8_t)t;
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, mac, &maclen) || maclen != 20)
        return SG_ELIB;
    /* RFC 4226 5.3: dynamic truncation */
    unsigned off = mac[19] & 0x0f;
    uint32_t bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
                   (uint32_t)mac[off + 2] << 8 | mac[off + 3];
    OPENSSL_cleanse(mac, sizeof mac);
    uint32_t mod = 1;
    for (unsigned i = 0; i < digits; i++)
        mod *= 10;
    snprintf(out, cap, "%0*u", (int)digits, bin % mod);
    return 0;
}
