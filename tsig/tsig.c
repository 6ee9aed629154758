/* SPDX-License-Identifier: MIT */
/* TSIG signing and verification over wire messages (RFC 8945 4-5), streams included. */
#include "tsig/tsig.h"
#include "common/errors.h"
#include "common/log.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string.h>

#define TYPE_TSIG 250
#define CLASS_ANY 255
#define ARCOUNT_OFF 10

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static uint64_t rd48(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++)
        v = v << 8 | p[i];
    return v;
}
static void wr48(uint8_t *p, uint64_t v)
{
    for (int i = 5; i >= 0; i--, v >>= 8)
        p[i] = v & 0xff;
}

static const char *digest_name(enum sg_tsig_alg a)
{
    switch (a) {
    case SG_TSIG_HMAC_SHA1: return "SHA1";
    case SG_TSIG_HMAC_SHA256: return "SHA256";
    case SG_TSIG_HMAC_SHA384: return "SHA384";
    case SG_TSIG_HMAC_SHA512: return "SHA512";
    }
    return NULL;
}

/* Read a possibly compressed name at off into out (lower case); returns the offset after
 * it in the message, 0 if malformed. */
static size_t read_name(const uint8_t *m, size_t len, size_t off, uint8_t out[SG_NAME_MAX])
{
    size_t o = off, after = 0, n = 0;
    int jumps = 0;
    for (;;) {
        if (o >= len)
            return 0;
        uint8_t l = m[o];
        if ((l & 0xc0) == 0xc0) {
            if (o + 1 >= len || ++jumps > 64)
                return 0;
            if (!after)
                after = o + 2;
            o = (size_t)(l & 0x3f) << 8 | m[o + 1];
            continue;
        }
        if (l & 0xc0)
            return 0;
        if (o + 1 + l > len || n + l + 1 > SG_NAME_MAX)
            return 0;
        out[n++] = l;
        for (uint8_t i = 0; i < l; i++) {
            uint8_t c = m[o + 1 + i];
            out[n++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        }
        o += l + 1u;
        if (l == 0)
            break;
    }
    return after ? after : o;
}

static size_t skip_name(const uint8_t *m, size_t len, size_t off)
{
    uint8_t tmp[SG_NAME_MAX];
    return read_name(m, len, off, tmp);
}

/* A parsed TSIG RR. Pointers into the message. */
typedef struct tsig_rr {
    size_t start;          /* offset of the RR (its owner name) */
    uint8_t key[SG_NAME_MAX];
    uint8_t alg[SG_NAME_MAX];
    uint64_t time;
    uint16_t fudge;
    uint16_t mac_size;
    const uint8_t *mac;
    uint16_t orig_id;
    uint16_t error;
    uint16_t other_len;
    const uint8_t *other;
} tsig_rr;

/* Find the TSIG RR: SG_ENOTFOUND without one, SG_EMALFORMED when it is not the last
 * record, or broken. */
static int find_tsig(const uint8_t *m, size_t len, tsig_rr *t)
{
    if (len < 12)
        return SG_EMALFORMED;
    unsigned qd = rd16(m + 4), an = rd16(m + 6), ns = rd16(m + 8), ar = rd16(m + 10);
    size_t off = 12;
    for (unsigned i = 0; i < qd; i++) {
        off = skip_name(m, len, off);
        if (!off || off + 4 > len)
            return SG_EMALFORMED;
        off += 4;
    }
    unsigned total = an + ns + ar;
    for (unsigned i = 0; i < total; i++) {
        size_t start = off;
        uint8_t owner[SG_NAME_MAX];
        size_t o = read_name(m, len, off, owner);
        if (!o || o + 10 > len)
            return SG_EMALFORMED;
        uint16_t type = rd16(m + o), cls = rd16(m + o + 2);
        size_t rdl = rd16(m + o + 8);
        if (o + 10 + rdl > len)
            return SG_EMALFORMED;
        if (type == TYPE_TSIG) {
            /* RFC 8945 5.1: the last record of the additional section, once */
            if (i != total - 1 || i < an + ns || cls != CLASS_ANY)
                return SG_EMALFORMED;
            memcpy(t->key, owner, sg_name_len(owner));
            t->start = start;
            size_t p = o + 10, end = p + rdl;
            /* the algorithm name is never compressed */
            size_t ae = p, an_len = 0;
            for (;;) {
                if (ae >= end)
                    return SG_EMALFORMED;
                uint8_t l = m[ae];
                if (l & 0xc0 || ae + 1 + l > end || an_len + l + 1 > SG_NAME_MAX)
                    return SG_EMALFORMED;
                t->alg[an_len++] = l;
                for (uint8_t k = 0; k < l; k++) {
                    uint8_t c = m[ae + 1 + k];
                    t->alg[an_len++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
                }
                ae += l + 1u;
                if (l == 0)
                    break;
            }
            p = ae;
            if (p + 10 > end)
                return SG_EMALFORMED;
            t->time = rd48(m + p);
            t->fudge = rd16(m + p + 6);
            t->mac_size = rd16(m + p + 8);
            p += 10;
            if (p + t->mac_size + 6 > end)
                return SG_EMALFORMED;
            t->mac = m + p;
            p += t->mac_size;
            t->orig_id = rd16(m + p);
            t->error = rd16(m + p + 2);
            t->other_len = rd16(m + p + 4);
            p += 6;
            if (p + t->other_len != end)
                return SG_EMALFORMED;
            t->other = m + p;
            return 0;
        }
        off = o + 10 + rdl;
    }
    return SG_ENOTFOUND;
}

static EVP_MAC_CTX *mac_new(const sg_tsig_key *key)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!mac)
        return NULL;
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!c)
        return NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest_name(key->alg), 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_init(c, key->secret, key->secret_len, params)) {
        EVP_MAC_CTX_free(c);
        return NULL;
    }
    return c;
}

static int mac_upd(EVP_MAC_CTX *c, const void *p, size_t n)
{
    return EVP_MAC_update(c, p, n) ? 0 : SG_ELIB;
}

static int lib_fail(const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    sg_log(SG_LOG_ERR, "tsig", NULL, "%s: %s", what, e ? buf : "failed");
    return SG_ELIB;
}

/* Feed the prior MAC (length-prefixed), as every response and stream message does. */
static int feed_prior(EVP_MAC_CTX *c, const sg_tsig_ctx *ctx)
{
    if (!ctx->mac_len)
        return 0;
    uint8_t l[2];
    wr16(l, (uint16_t)ctx->mac_len);
    if (mac_upd(c, l, 2) || mac_upd(c, ctx->mac, ctx->mac_len))
        return SG_ELIB;
    return 0;
}

/* Feed a message without its TSIG RR: the header gets the original ID and the ARCOUNT
 * it had before the TSIG RR was added. */
static int feed_message(EVP_MAC_CTX *c, const uint8_t *m, size_t body_len, uint16_t orig_id,
                        int drop_one)
{
    uint8_t h[12];
    memcpy(h, m, 12);
    wr16(h, orig_id);
    if (drop_one)
        wr16(h + ARCOUNT_OFF, rd16(h + ARCOUNT_OFF) - 1);
    if (mac_upd(c, h, 12) || mac_upd(c, m + 12, body_len - 12))
        return SG_ELIB;
    return 0;
}

/* The TSIG variables (RFC 8945 4.3.3), or only the timers for a stream's later messages. */
static int feed_vars(EVP_MAC_CTX *c, const uint8_t *key, const uint8_t *alg, uint64_t time,
                     uint16_t fudge, uint16_t error, uint16_t other_len, const uint8_t *other,
                     int timers_only)
{
    uint8_t b[16];
    if (!timers_only) {
        if (mac_upd(c, key, sg_name_len(key)))
            return SG_ELIB;
        wr16(b, CLASS_ANY);
        memset(b + 2, 0, 4); /* TTL */
        if (mac_upd(c, b, 6) || mac_upd(c, alg, sg_name_len(alg)))
            return SG_ELIB;
    }
    wr48(b, time);
    wr16(b + 6, fudge);
    if (mac_upd(c, b, 8))
        return SG_ELIB;
    if (timers_only)
        return 0;
    wr16(b, error);
    wr16(b + 2, other_len);
    if (mac_upd(c, b, 4) || (other_len && mac_upd(c, other, other_len)))
        return SG_ELIB;
    return 0;
}

void sg_tsig_ctx_init(sg_tsig_ctx *ctx, const sg_tsig_key *key)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->key = key;
    ctx->fudge = SG_TSIG_FUDGE;
    if (key) {
        memcpy(ctx->key_name, key->name, sg_name_len(key->name));
        memcpy(ctx->alg_wire, key->alg_wire, sg_name_len(key->alg_wire));
    }
}

void sg_tsig_ctx_deinit(sg_tsig_ctx *ctx)
{
    if (!ctx)
        return;
    EVP_MAC_CTX_free(ctx->pending);
    OPENSSL_cleanse(ctx, sizeof *ctx);
}

size_t sg_tsig_rr_size(const sg_tsig_key *key)
{
    if (!key)
        return 0;
    return sg_name_len(key->name) + 10 + sg_name_len(key->alg_wire) + 10 +
           sg_tsig_alg_mac_len(key->alg) + 6 + 6;
}

/* RFC 8945 5.2.2.1: a MAC longer than the hash, or shorter than both 10 octets and half
 * the hash, is a format error. */
static int mac_size_ok(enum sg_tsig_alg alg, uint16_t size)
{
    size_t full = sg_tsig_alg_mac_len(alg);
    size_t min = full / 2 > 10 ? full / 2 : 10;
    return size <= full && size >= min;
}

/* Compute the MAC of a received signed message (after the prior MAC and any unsigned
 * messages already in c) and compare it with the one it carries. */
static int check_mac(EVP_MAC_CTX *c, const uint8_t *msg, const tsig_rr *t, int timers_only,
                     int *match)
{
    int rc = feed_message(c, msg, t->start, t->orig_id, 1);
    if (!rc)
        rc = feed_vars(c, t->key, t->alg, t->time, t->fudge, t->error, t->other_len, t->other,
                       timers_only);
    uint8_t out[SG_TSIG_MAC_MAX];
    size_t ol = 0;
    if (rc || !EVP_MAC_final(c, out, &ol, sizeof out))
        return lib_fail("TSIG MAC");
    *match = t->mac_size <= ol && CRYPTO_memcmp(out, t->mac, t->mac_size) == 0;
    OPENSSL_cleanse(out, sizeof out);
    return 0;
}

static uint16_t time_check(const tsig_rr *t, uint64_t now)
{
    uint64_t d = now > t->time ? now - t->time : t->time - now;
    return d > t->fudge ? SG_TSIG_BADTIME : SG_TSIG_NOERROR;
}

static uint16_t trunc_check(const sg_tsig_ctx *ctx, const tsig_rr *t)
{
    return ctx->min_mac_len && t->mac_size < ctx->min_mac_len ? SG_TSIG_BADTRUNC
                                                                : SG_TSIG_NOERROR;
}

int sg_tsig_verify_request(sg_tsig_ctx *ctx, const sg_tsig_keyring *kr, const uint8_t *msg,
                           size_t len, uint64_t now, uint16_t *error_out)
{
    if (!ctx || !msg || !error_out)
        return SG_EINVAL;
    tsig_rr t;
    int rc = find_tsig(msg, len, &t);
    if (rc)
        return rc;
    /* whatever the outcome, the reply's TSIG RR names the request's key and algorithm */
    memcpy(ctx->key_name, t.key, sg_name_len(t.key));
    memcpy(ctx->alg_wire, t.alg, sg_name_len(t.alg));
    ctx->req_time = t.time;
    ctx->mac_len = 0;
    ctx->nmsg = 0;
    const sg_tsig_key *key = sg_tsig_find_wire(kr, t.key);
    if (!key || !sg_name_eq(key->alg_wire, t.alg)) {
        ctx->key = NULL;
        ctx->error = *error_out = SG_TSIG_BADKEY;
        return 0;
    }
    if (!mac_size_ok(key->alg, t.mac_size))
        return SG_EMALFORMED;
    ctx->key = key;
    EVP_MAC_CTX *c = mac_new(key);
    if (!c)
        return lib_fail("TSIG HMAC setup");
    int match = 0;
    rc = check_mac(c, msg, &t, 0, &match);
    EVP_MAC_CTX_free(c);
    if (rc)
        return rc;
    if (!match) {
        ctx->error = *error_out = SG_TSIG_BADSIG;
        return 0;
    }
    /* the request's MAC (as sent, truncated or not) starts the response's digest */
    memcpy(ctx->mac, t.mac, t.mac_size);
    ctx->mac_len = t.mac_size;
    uint16_t e = time_check(&t, now);
    if (!e)
        e = trunc_check(ctx, &t);
    ctx->error = *error_out = e;
    return 0;
}

int sg_tsig_verify_response(sg_tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now,
                            uint16_t *error_out)
{
    if (!ctx || !ctx->key || !msg || !error_out)
        return SG_EINVAL;
    tsig_rr t;
    int rc = find_tsig(msg, len, &t);
    if (rc && rc != SG_ENOTFOUND)
        return rc;
    int is_signed = rc == 0;
    if (!is_signed && (ctx->nmsg == 0 || ctx->unsigned_run >= 99))
        return SG_ENOTFOUND;
    if (!ctx->pending) {
        ctx->pending = mac_new(ctx->key);
        if (!ctx->pending || feed_prior(ctx->pending, ctx))
            return lib_fail("TSIG HMAC setup");
    }
    EVP_MAC_CTX *c = ctx->pending;
    if (!is_signed) {
        /* folded into the next signed message's MAC (RFC 8945 5.3.1) */
        if (feed_message(c, msg, len, rd16(msg), 0))
            return lib_fail("TSIG MAC");
        ctx->unsigned_run++;
        ctx->nmsg++;
        *error_out = SG_TSIG_NOERROR;
        return 0;
    }
    ctx->pending = NULL;
    if (!sg_name_eq(t.key, ctx->key->name) || !sg_name_eq(t.alg, ctx->key->alg_wire)) {
        EVP_MAC_CTX_free(c);
        *error_out = SG_TSIG_BADKEY;
        return 0;
    }
    if (t.error == SG_TSIG_BADKEY || t.error == SG_TSIG_BADSIG) {
        /* the server could not check us and said so without a MAC */
        EVP_MAC_CTX_free(c);
        *error_out = t.error;
        return 0;
    }
    if (!mac_size_ok(ctx->key->alg, t.mac_size)) {
        EVP_MAC_CTX_free(c);
        return SG_EMALFORMED;
    }
    int match = 0;
    rc = check_mac(c, msg, &t, ctx->nmsg > 0, &match);
    EVP_MAC_CTX_free(c);
    if (rc)
        return rc;
    if (!match) {
        *error_out = SG_TSIG_BADSIG;
        return 0;
    }
    memcpy(ctx->mac, t.mac, t.mac_size);
    ctx->mac_len = t.mac_size;
    ctx->nmsg++;
    ctx->unsigned_run = 0;
    uint16_t e = time_check(&t, now);
    if (!e)
        e = trunc_check(ctx, &t);
    if (!e && t.error)
        e = t.error; /* BADTIME/BADTRUNC reported by the server, authentic */
    *error_out = e;
    return 0;
}

int sg_tsig_sign(sg_tsig_ctx *ctx, uint8_t *msg, size_t *len, size_t cap, uint64_t now)
{
    if (!ctx || !msg || !len || *len < 12 || (!ctx->key_name[0] && !ctx->key))
        return SG_EINVAL;
    int is_response = (msg[2] & 0x80) != 0;
    int no_mac = ctx->error == SG_TSIG_BADKEY || ctx->error == SG_TSIG_BADSIG;
    if (!no_mac && !ctx->key)
        return SG_EINVAL;
    const uint8_t *kn = ctx->key_name, *alg = ctx->alg_wire;
    size_t kl = sg_name_len(kn), al = sg_name_len(alg);
    uint64_t t_signed = now;
    uint8_t other[6];
    uint16_t other_len = 0;
    if (ctx->error == SG_TSIG_BADTIME) {
        /* RFC 8945 5.2.3: sign with the request's time, tell ours in Other Data */
        t_signed = ctx->req_time;
        wr48(other, now);
        other_len = 6;
    }
    int timers_only = is_response && ctx->nmsg > 0;
    uint8_t mac[SG_TSIG_MAC_MAX];
    size_t mac_len = 0;
    if (!no_mac) {
        EVP_MAC_CTX *c = mac_new(ctx->key);
        if (!c)
            return lib_fail("TSIG HMAC setup");
        int rc = feed_prior(c, ctx);
        if (!rc)
            rc = feed_message(c, msg, *len, rd16(msg), 0);
        if (!rc)
            rc = feed_vars(c, kn, alg, t_signed, ctx->fudge, ctx->error, other_len, other,
                           timers_only);
        if (rc || !EVP_MAC_final(c, mac, &mac_len, sizeof mac)) {
            EVP_MAC_CTX_free(c);
            return lib_fail("TSIG MAC");
        }
        EVP_MAC_CTX_free(c);
    }
    size_t need = kl + 10 + al + 10 + mac_len + 6 + other_len;
    if (*len + need > cap || *len + need > 65535)
        return SG_ESPACE;
    uint8_t *p = msg + *len;
    memcpy(p, kn, kl);
    p += kl;
    wr16(p, TYPE_TSIG);
    wr16(p + 2, CLASS_ANY);
    memset(p + 4, 0, 4);
    wr16(p + 8, (uint16_t)(al + 10 + mac_len + 6 + other_len));
    p += 10;
    memcpy(p, alg, al);
    p += al;
    wr48(p, t_signed);
    wr16(p + 6, ctx->fudge);
    wr16(p + 8, (uint16_t)mac_len);
    p += 10;
    memcpy(p, mac, mac_len);
    p += mac_len;
    wr16(p, rd16(msg));
    wr16(p + 2, ctx->error);
    wr16(p + 4, other_len);
    p += 6;
    memcpy(p, other, other_len);
    *len += need;
    wr16(msg + ARCOUNT_OFF, rd16(msg + ARCOUNT_OFF) + 1);
    memcpy(ctx->mac, mac, mac_len);
    ctx->mac_len = mac_len;
    if (is_response)
        ctx->nmsg++;
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}
