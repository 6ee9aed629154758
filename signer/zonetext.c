/* SPDX-License-Identifier: MIT */
/* Master-file text for the records a signed zone holds, written directly: a signed zone
 * has millions of records and ldns's general printer costs more than signing them. Types
 * not known here go through ldns. */
#include "signer/zonetext.h"
#include "signer/denial.h"
#include "common/name.h"
#include "common/rrset.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>

typedef struct out {
    char *p;
    size_t left;
    int bad;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->bad || n >= o->left) {
        o->bad = 1;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
    o->left -= n;
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static void putf(out *o, const char *fmt, unsigned long v)
{
    char b[32];
    int n = snprintf(b, sizeof b, fmt, v);
    put(o, b, (size_t)n);
}

static void put_name(out *o, const uint8_t *n)
{
    char b[1024];
    put(o, b, sg_name_to_str(n, b, sizeof b));
}

static void put_type(out *o, uint16_t t)
{
    const ldns_rr_descriptor *d = ldns_rr_descript(t);
    if (d && d->_name)
        puts_(o, d->_name);
    else
        putf(o, "TYPE%lu", t);
}

static void put_b64(out *o, const uint8_t *d, size_t n)
{
    if (o->bad || (n + 2) / 3 * 4 + 1 >= o->left) {
        o->bad = 1;
        return;
    }
    int w = EVP_EncodeBlock((unsigned char *)o->p, d, (int)n);
    o->p += w;
    o->left -= (size_t)w;
}

static void put_hex(out *o, const uint8_t *d, size_t n)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n && !o->bad; i++) {
        char b[2] = { hx[d[i] >> 4], hx[d[i] & 15] };
        put(o, b, 2);
    }
}

static void put_time(out *o, uint32_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char b[16];
    strftime(b, sizeof b, "%Y%m%d%H%M%S", &tm);
    put(o, b, 14);
}

static void put_bitmap(out *o, const uint8_t *bm, size_t len)
{
    size_t i = 0;
    while (i + 2 <= len) {
        uint8_t win = bm[i], bl = bm[i + 1];
        if (i + 2 + bl > len)
            return;
        for (int b = 0; b < bl * 8; b++)
            if (bm[i + 2 + b / 8] & (0x80 >> (b % 8))) {
                put(o, " ", 1);
                put_type(o, (uint16_t)(win * 256 + b));
            }
        i += 2u + bl;
    }
}

static uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* RDATA of the types we print ourselves; 0 when the type is not one of them or malformed. */
static int put_rdata(out *o, uint16_t type, const uint8_t *rd, uint16_t len)
{
    char b[64];
    size_t nl;
    switch (type) {
    case SG_TYPE_A:
        if (len != 4 || !inet_ntop(AF_INET, rd, b, sizeof b))
            return 0;
        puts_(o, b);
        return 1;
    case SG_TYPE_AAAA:
        if (len != 16 || !inet_ntop(AF_INET6, rd, b, sizeof b))
            return 0;
        puts_(o, b);
        return 1;
    case SG_TYPE_NS: case SG_TYPE_CNAME: case SG_TYPE_PTR:
        put_name(o, rd);
        return 1;
    case SG_TYPE_MX:
        putf(o, "%lu ", u16(rd));
        put_name(o, rd + 2);
        return 1;
    case SG_TYPE_SOA:
        nl = sg_name_len(rd);
        put_name(o, rd);
        put(o, " ", 1);
        put_name(o, rd + nl);
        nl += sg_name_len(rd + nl);
        for (int i = 0; i < 5; i++)
            putf(o, " %lu", u32(rd + nl + 4 * i));
        return 1;
    case SG_TYPE_TXT: {
        size_t i = 0;
        while (i < len) {
            uint8_t sl = rd[i++];
            if (i + sl > len)
                return 0;
            put(o, i > 1 ? " \"" : "\"", i > 1 ? 2 : 1);
            for (uint8_t k = 0; k < sl; k++) {
                uint8_t c = rd[i + k];
                if (c == '"' || c == '\\') {
                    char e[2] = { '\\', (char)c };
                    put(o, e, 2);
                } else if (c < 0x20 || c > 0x7e) {
                    putf(o, "\\%03lu", c);
                } else {
                    put(o, (const char *)&c, 1);
                }
            }
            put(o, "\"", 1);
            i += sl;
        }
        return 1;
    }
    case SG_TYPE_DS: case SG_TYPE_CDS:
        if (len < 4)
            return 0;
        putf(o, "%lu", u16(rd));
        putf(o, " %lu", rd[2]);
        putf(o, " %lu ", rd[3]);
        put_hex(o, rd + 4, len - 4u);
        return 1;
    case SG_TYPE_DNSKEY: case SG_TYPE_CDNSKEY:
        if (len < 4)
            return 0;
        putf(o, "%lu", u16(rd));
        putf(o, " %lu", rd[2]);
        putf(o, " %lu ", rd[3]);
        put_b64(o, rd + 4, len - 4u);
        return 1;
    case SG_TYPE_RRSIG:
        if (len < 19)
            return 0;
        put_type(o, u16(rd));
        putf(o, " %lu", rd[2]);
        putf(o, " %lu", rd[3]);
        putf(o, " %lu ", u32(rd + 4));
        put_time(o, u32(rd + 8));
        put(o, " ", 1);
        put_time(o, u32(rd + 12));
        putf(o, " %lu ", u16(rd + 16));
        nl = sg_name_len(rd + 18);
        put_name(o, rd + 18);
        put(o, " ", 1);
        put_b64(o, rd + 18 + nl, len - 18u - nl);
        return 1;
    case SG_TYPE_NSEC:
        nl = sg_name_len(rd);
        put_name(o, rd);
        put_bitmap(o, rd + nl, len - nl);
        return 1;
    case SG_TYPE_NSEC3: case SG_TYPE_NSEC3PARAM: {
        putf(o, "%lu", rd[0]);
        putf(o, " %lu", rd[1]);
        putf(o, " %lu ", u16(rd + 2));
        uint8_t sl = rd[4];
        if (sl)
            put_hex(o, rd + 5, sl);
        else
            put(o, "-", 1);
        if (type == SG_TYPE_NSEC3PARAM)
            return 1;
        size_t p = 5u + sl;
        uint8_t hl = rd[p];
        char h32[64];
        if (hl > 32)
            return 0;
        sg_base32hex(rd + p + 1, hl, h32);
        put(o, " ", 1);
        puts_(o, h32);
        put_bitmap(o, rd + p + 1 + hl, len - (p + 1 + hl));
        return 1;
    }
    default:
        return 0;
    }
}

size_t sg_zonetext_rr(char *buf, size_t cap, const uint8_t *owner, uint16_t type, uint32_t ttl,
                      const uint8_t *rdata, uint16_t rdlen)
{
    out o = { buf, cap, 0 };
    put_name(&o, owner);
    putf(&o, "\t%lu\tIN\t", ttl);
    put_type(&o, type);
    put(&o, "\t", 1);
    if (!put_rdata(&o, type, rdata, rdlen) || o.bad) {
        /* everything else in RFC 3597 form, always valid master-file syntax */
        o = (out){ buf, cap, 0 };
        put_name(&o, owner);
        putf(&o, "\t%lu\tIN\t", ttl);
        putf(&o, "TYPE%lu\t", type);
        putf(&o, "\\# %lu ", rdlen);
        put_hex(&o, rdata, rdlen);
    }
    put(&o, "\n", 1);
    return o.bad ? 0 : (size_t)(o.p - buf);
}
