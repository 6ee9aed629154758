/* SPDX-License-Identifier: MIT */
/* Server cookies (RFC 9018): SipHash-2-4 over the client cookie, version, timestamp and
 * client address with a secret shared by every worker and rotated every hour. */
#include "common/cookie.h"

#include "common/query.h"
#include "common/secret.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define ROTATE_EVERY 3600
#define PAST_OK 3600      /* RFC 9018 4.3: a cookie older than an hour is not accepted */
#define FUTURE_OK 300     /* ... nor one from more than five minutes ahead */

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static inline uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

#define SIPROUND                                                                           \
    do {                                                                                   \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                          \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                             \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                             \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                          \
    } while (0)

uint64_t sg_siphash24(const uint8_t key[16], const uint8_t *in, size_t len)
{
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = le64(in + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* Two secrets: the current one, and the one before it, which still validates cookies
 * handed out in the hour before a rotation. A rotation writes the slot not in use and
 * then flips `cur`; a reader racing with it at worst fails one validation (and the client
 * gets a fresh cookie). They live in pages left out of core dumps (made on first use). */
static uint8_t (*g_secret)[16];
static atomic_int g_cur;
static _Atomic int64_t g_rotated;
static atomic_int g_fixed;         /* the operator's secret (cookie-secret): never rotated */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void fill(uint8_t *s)
{
    if (getrandom(s, 16, 0) != 16) {
        /* no entropy from the kernel: never a fixed secret; the clock and address are
         * a poor but unpredictable-enough fallback until the next rotation */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t a = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)s;
        memcpy(s, &a, 8);
        a = rotl(a, 29) * 0x9e3779b97f4a7c15ULL;
        memcpy(s + 8, &a, 8);
    }
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void secrets_init(void)
{
    g_secret = sg_secret_alloc(sizeof *g_secret * 2);
    if (!g_secret) /* no page to spare: a heap copy still works, only not out of dumps */
        g_secret = calloc(2, sizeof *g_secret);
}

/* Under g_lock. */
static void rotate_locked(void)
{
    int next = atomic_load(&g_cur) ^ 1;
    fill(g_secret[next]);
    if (!atomic_load(&g_rotated))
        fill(g_secret[next ^ 1]); /* first use: no cookie was made with the other one */
    atomic_store(&g_cur, next);
    atomic_store(&g_rotated, (int64_t)time(NULL));
}

void sg_cookie_rotate(void)
{
    pthread_once(&g_once, secrets_init);
    pthread_mutex_lock(&g_lock);
    rotate_locked();
    pthread_mutex_unlock(&g_lock);
}

static int due(uint32_t now)
{
    int64_t last = atomic_load(&g_rotated);
    return !atomic_load(&g_fixed) && (!last || (int64_t)now - last >= ROTATE_EVERY || (int64_t)now < last);
}

/* At most one worker rotates, and only once: the check is made again under the lock. */
static void maybe_rotate(uint32_t now)
{
    if (!due(now) || pthread_mutex_trylock(&g_lock))
        return;
    pthread_once(&g_once, secrets_init);
    if (due(now))
        rotate_locked();
    pthread_mutex_unlock(&g_lock);
}

static size_t addr_bytes(const struct sockaddr *a, uint8_t out[16])
{
    if (a && a->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)a)->sin_addr, 4);
        return 4;
    }
    if (a && a->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
        return 16;
    }
    return 0;
}

static void make_with(const uint8_t *secret, const uint8_t client[SG_COOKIE_CLIENT_LEN],
                      const struct sockaddr *addr, uint32_t ts, uint8_t out[SG_COOKIE_SERVER_LEN])
{
    uint8_t in[SG_COOKIE_CLIENT_LEN + 8 + 16];
    memcpy(in, client, SG_COOKIE_CLIENT_LEN);
    uint8_t *p = in + SG_COOKIE_CLIENT_LEN;
    p[0] = 1; /* version */
    p[1] = p[2] = p[3] = 0;
    p[4] = (uint8_t)(ts >> 24);
    p[5] = (uint8_t)(ts >> 16);
    p[6] = (uint8_t)(ts >> 8);
    p[7] = (uint8_t)ts;
    size_t al = addr_bytes(addr, p + 8);
    uint64_t h = sg_siphash24(secret, in, SG_COOKIE_CLIENT_LEN + 8 + al);
    memcpy(out, p, 8);
    for (int i = 0; i < 8; i++)
        out[8 + i] = (uint8_t)(h >> (8 * i)); /* SipHash's output, little-endian */
}

void sg_cookie_make(const uint8_t client[SG_COOKIE_CLIENT_LEN], const struct sockaddr *addr,
                    uint32_t now, uint8_t out[SG_COOKIE_SERVER_LEN])
{
    maybe_rotate(now);
    if (!atomic_load(&g_rotated))
        sg_cookie_rotate(); /* the very first cookie, while another worker held the lock */
    make_with(g_secret[atomic_load(&g_cur)], client, addr, now, out);
}

int sg_cookie_valid(const uint8_t client[SG_COOKIE_CLIENT_LEN], const uint8_t *server,
                    size_t len, const struct sockaddr *addr, uint32_t now)
{
    if (len != SG_COOKIE_SERVER_LEN || server[0] != 1 || !atomic_load(&g_rotated))
        return 0;
    uint32_t ts = (uint32_t)server[4] << 24 | (uint32_t)server[5] << 16 |
                  (uint32_t)server[6] << 8 | server[7];
    int32_t age = (int32_t)(now - ts); /* RFC 1982 arithmetic, as RFC 9018 asks */
    if (age > PAST_OK || age < -FUTURE_OK)
        return 0;
    int cur = atomic_load(&g_cur);
    for (int i = 0; i < 2; i++) {
        uint8_t want[SG_COOKIE_SERVER_LEN];
        make_with(g_secret[cur ^ i], client, addr, ts, want);
        uint8_t diff = 0;
        for (int k = 8; k < SG_COOKIE_SERVER_LEN; k++)
            diff |= (uint8_t)(want[k] ^ server[k]);
        if (!diff)
            return 1;
    }
    return 0;
}

#define REUSE_YOUNGER 1800 /* RFC 9018 4.3: a cookie of ours under half an hour is sent back */

void sg_cookie_check(sg_query *q, uint32_t now)
{
    q->cookie_valid = q->cookie_len >= SG_COOKIE_CLIENT_LEN + SG_COOKIE_SERVER_LEN &&
                      sg_cookie_valid(q->cookie, q->cookie + SG_COOKIE_CLIENT_LEN,
                                      q->cookie_len - SG_COOKIE_CLIENT_LEN, q->client, now);
}

void sg_cookie_reply(sg_query *q, uint32_t now)
{
    if (!q->cookie_len || !q->has_edns || q->drop || q->out_len < 12 + 11 || !q->out)
        return;
    /* our renderer writes the OPT record last (maybe with an Extended DNS Error); a reply
     * replayed from the answer cache has it as its last 11 octets, without options */
    size_t at = q->opt_at ? q->opt_at : q->out_len - 11;
    if (at + 11 > q->out_len)
        return;
    uint8_t *o = q->out + at;
    size_t rdlen = (size_t)o[9] << 8 | o[10];
    if (o[0] != 0 || o[1] != 0 || o[2] != 41 || at + 11 + rdlen != q->out_len)
        return;
    size_t limit = q->max_size < q->out_cap ? q->max_size : q->out_cap;
    if (q->out_len + SG_COOKIE_OPT_LEN > limit)
        return; /* no room: the reply goes without (the client asks again) */
    uint8_t *p = q->out + q->out_len;
    p[0] = 0;
    p[1] = SG_COOKIE_OPTION;
    p[2] = 0;
    p[3] = SG_COOKIE_CLIENT_LEN + SG_COOKIE_SERVER_LEN;
    memcpy(p + 4, q->cookie, SG_COOKIE_CLIENT_LEN);
    const uint8_t *sc = q->cookie + SG_COOKIE_CLIENT_LEN;
    uint32_t ts = q->cookie_valid ? ((uint32_t)sc[4] << 24 | (uint32_t)sc[5] << 16 |
                                     (uint32_t)sc[6] << 8 | sc[7]) : 0;
    if (q->cookie_valid && (int32_t)(now - ts) < REUSE_YOUNGER && (int32_t)(now - ts) >= 0)
        memcpy(p + 4 + SG_COOKIE_CLIENT_LEN, sc, SG_COOKIE_SERVER_LEN);
    else
        sg_cookie_make(q->cookie, q->client, now, p + 4 + SG_COOKIE_CLIENT_LEN);
    rdlen += SG_COOKIE_OPT_LEN;
    o[9] = (uint8_t)(rdlen >> 8);
    o[10] = (uint8_t)rdlen;
    q->out_len += SG_COOKIE_OPT_LEN;
}

int sg_cookie_set_secret(const char *hex)
{
    uint8_t s[16];
    pthread_once(&g_once, secrets_init);
    if (!hex) {
        /* back to secrets of our own, rotated */
        if (atomic_exchange(&g_fixed, 0) || !atomic_load(&g_rotated))
            sg_cookie_rotate();
        return 0;
    }
    if (strlen(hex) != 32)
        return -1;
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0)
                return -1;
            v = v << 4 | (unsigned)d;
        }
        s[i] = (uint8_t)v;
    }
    pthread_mutex_lock(&g_lock);
    memcpy(g_secret[0], s, 16);
    memcpy(g_secret[1], s, 16);
    atomic_store(&g_cur, 0);
    atomic_store(&g_fixed, 1);
    atomic_store(&g_rotated, (int64_t)time(NULL));
    pthread_mutex_unlock(&g_lock);
    sg_secret_wipe(s, sizeof s);
    return 0;
}
