/* SPDX-License-Identifier: MIT */
/* Content keys for the signature cache: SipHash-2-4 with its 128-bit output (Aumasson and
 * Bernstein, "SipHash: a fast short-input PRF"), fed incrementally so that the pieces of
 * an RRset are hashed where they lie. */
#include "signer/sigkey.h"
#include "common/name.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t g_k0, g_k1;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void draw_key(void)
{
    uint64_t k[2] = { 0, 0 };
    if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
        /* no entropy source: still a per-process key, only a guessable one */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        k[0] ^= (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
        k[1] ^= (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)(uintptr_t)&k;
    }
    g_k0 = k[0];
    g_k1 = k[1];
}

typedef struct sip {
    uint64_t v0, v1, v2, v3;
    uint64_t tail;        /* bytes not yet in a whole word, little-endian */
    size_t total;
} sip;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void sipround(sip *s)
{
    s->v0 += s->v1; s->v1 = ROTL(s->v1, 13); s->v1 ^= s->v0; s->v0 = ROTL(s->v0, 32);
    s->v2 += s->v3; s->v3 = ROTL(s->v3, 16); s->v3 ^= s->v2;
    s->v0 += s->v3; s->v3 = ROTL(s->v3, 21); s->v3 ^= s->v0;
    s->v2 += s->v1; s->v1 = ROTL(s->v1, 17); s->v1 ^= s->v2; s->v2 = ROTL(s->v2, 32);
}

static void sip_init_key(sip *s, uint64_t k0, uint64_t k1)
{
    s->v0 = 0x736f6d6570736575ULL ^ k0;
    s->v1 = 0x646f72616e646f6dULL ^ k1 ^ 0xee; /* 0xee: the 128-bit output variant */
    s->v2 = 0x6c7967656e657261ULL ^ k0;
    s->v3 = 0x7465646279746573ULL ^ k1;
    s->tail = 0;
    s->total = 0;
}

static void sip_init(sip *s)
{
    pthread_once(&g_once, draw_key);
    sip_init_key(s, g_k0, g_k1);
}

static inline void sip_word(sip *s, uint64_t m)
{
    s->v3 ^= m;
    sipround(s);
    sipround(s);
    s->v0 ^= m;
}

static inline uint64_t le64(const uint8_t *p)
{
    uint64_t m;
    memcpy(&m, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    m = __builtin_bswap64(m);
#endif
    return m;
}

static void sip_update(sip *s, const uint8_t *p, size_t n)
{
    while (n && (s->total & 7)) {
        s->tail |= (uint64_t)*p++ << (8 * (s->total & 7));
        s->total++;
        n--;
        if (!(s->total & 7)) {
            sip_word(s, s->tail);
            s->tail = 0;
        }
    }
    for (; n >= 8; n -= 8, p += 8) {
        sip_word(s, le64(p));
        s->total += 8;
    }
    while (n--) {
        s->tail |= (uint64_t)*p++ << (8 * (s->total & 7));
        s->total++;
    }
}

static void sip_final(sip *s, uint64_t out[2])
{
    sip_word(s, s->tail | (uint64_t)(s->total & 0xff) << 56);
    s->v2 ^= 0xee;
    for (int i = 0; i < 4; i++)
        sipround(s);
    out[0] = s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
    s->v1 ^= 0xdd;
    for (int i = 0; i < 4; i++)
        sipround(s);
    out[1] = s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* Whole words from p (n bytes, a multiple of 8 not required): the one-piece path. */
static void sip_bytes(sip *s, const uint8_t *p, size_t n)
{
    for (; n >= 8; n -= 8, p += 8)
        sip_word(s, le64(p));
    s->total = 0;
    for (size_t i = 0; i < n; i++)
        s->tail |= (uint64_t)p[i] << (8 * i);
}

#define ONE_PIECE 512

void sg_sigkey_rrset(const uint8_t *apex, const uint8_t *owner, const sg_rrset *rs,
                     sg_sigkey *out)
{
    sip s;
    sip_init(&s);
    size_t al = sg_name_len(apex), ol = sg_name_len(owner);
    uint8_t fixed[14] = { (uint8_t)(rs->type >> 8), (uint8_t)rs->type, 0, 1 /* IN */,
                          (uint8_t)(rs->ttl >> 24), (uint8_t)(rs->ttl >> 16),
                          (uint8_t)(rs->ttl >> 8), (uint8_t)rs->ttl,
                          (uint8_t)(rs->count >> 8), (uint8_t)rs->count,
                          (uint8_t)(rs->rdata_len >> 24), (uint8_t)(rs->rdata_len >> 16),
                          (uint8_t)(rs->rdata_len >> 8), (uint8_t)rs->rdata_len };
    size_t n = al + ol + sizeof fixed + rs->rdata_len;
    if (n <= ONE_PIECE) {
        /* the common case on the query path: one buffer, hashed a word at a time (the
         * piecewise path below goes byte by byte through every unaligned piece) */
        uint8_t buf[ONE_PIECE];
        memcpy(buf, apex, al);
        memcpy(buf + al, owner, ol);
        memcpy(buf + al + ol, fixed, sizeof fixed);
        memcpy(buf + al + ol + sizeof fixed, rs->rdata, rs->rdata_len);
        sip_bytes(&s, buf, n);
        s.total = n;
        sip_final(&s, out->h);
        return;
    }
    /* names are self-delimiting in wire form, the rest is fixed-size or counted */
    sip_update(&s, apex, al);
    sip_update(&s, owner, ol);
    sip_update(&s, fixed, sizeof fixed);
    sip_update(&s, rs->rdata, rs->rdata_len);
    sip_final(&s, out->h);
}

uint64_t sg_sigkey_signer(const uint8_t *dnskey_rdata, size_t len, uint32_t validity,
                          uint32_t jitter)
{
    sip s;
    sip_init(&s);
    uint8_t v[9] = { 'k', (uint8_t)(validity >> 24), (uint8_t)(validity >> 16),
                     (uint8_t)(validity >> 8), (uint8_t)validity, (uint8_t)(jitter >> 24),
                     (uint8_t)(jitter >> 16), (uint8_t)(jitter >> 8), (uint8_t)jitter };
    sip_update(&s, v, sizeof v);
    sip_update(&s, dnskey_rdata, len);
    uint64_t h[2];
    sip_final(&s, h);
    return h[0] ? h[0] : 1;
}

void sg_siphash128(const uint8_t key[16], const void *msg, size_t n, size_t piece,
                   uint8_t out[16])
{
    sip s;
    sip_init_key(&s, le64(key), le64(key + 8));
    if (!piece) {
        sip_bytes(&s, msg, n);
        s.total = n;
    } else {
        for (size_t o = 0; o < n; o += piece)
            sip_update(&s, (const uint8_t *)msg + o, n - o < piece ? n - o : piece);
    }
    uint64_t h[2];
    sip_final(&s, h);
    for (int i = 0; i < 16; i++)
        out[i] = (uint8_t)(h[i / 8] >> (8 * (i % 8)));
}
