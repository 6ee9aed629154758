/* SPDX-License-Identifier: MIT */
/* Response rate limiting: the bucket table and its arithmetic, and the `rrl` block parser. */
#include "daemon/rrl.h"
#include "common/errors.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Balances count in hundredths of a reply and time in hundredths of a second, so that a
 * bucket refills by exactly `rate` units per tick: integer arithmetic, no drift. */
#define UNIT 100
#define TICK_NS 10000000ull

/* A bucket is two words updated on their own: the key says whose it is, the state holds
 * the balance (high 32 bits, signed) and the last tick (low 32 bits). A lost update under
 * contention or a bucket taken over by another key only ever lets a reply through or
 * drops one too many: the price of not locking on the query path. */
typedef struct bucket {
    _Atomic uint64_t key;
    _Atomic uint64_t state;
    _Atomic uint32_t limited;  /* replies over the limit, for slip */
} bucket;

struct sg_rrl {
    sg_rrl_cfg cfg;
    uint64_t seed;
    size_t mask;
    bucket *b;
};

/* ---- parsing ------------------------------------------------------------------------ */

int sg_rrl_parse_net(const char *s, sg_rrl_net *out)
{
    char buf[64];
    memset(out, 0, sizeof *out);
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof buf)
        return SG_ESYNTAX;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (inet_pton(AF_INET, buf, out->addr) == 1)
        out->family = AF_INET, out->bits = 32;
    else if (inet_pton(AF_INET6, buf, out->addr) == 1)
        out->family = AF_INET6, out->bits = 128;
    else
        return SG_ESYNTAX;
    if (slash) {
        uint64_t bits;
        if (sg_cfg_parse_uint(slash + 1, 0, out->bits, &bits))
            return SG_ESYNTAX;
        out->bits = (uint8_t)bits;
    }
    return 0;
}

static int want_args(const sg_cfg_block *c, int n)
{
    if (c->nargs != n || c->nchildren)
        return sg_cfg_error(c, "rrl: %s takes %d argument%s", c->name, n, n == 1 ? "" : "s");
    return 0;
}

int sg_rrl_parse(const sg_cfg_block *blk, sg_rrl_cfg *out)
{
    memset(out, 0, sizeof *out);
    if (blk->nargs)
        return sg_cfg_error(blk, "rrl: takes no arguments, only a { } block of options");
    int64_t rate[SG_RRL_NCLASS] = { 20, -1, -1, -1 };
    out->slip = 2;
    out->window = 15;
    out->ipv4_prefix = 24;
    out->ipv6_prefix = 56;
    out->table_size = 65536;
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *c = &blk->children[i];
        uint64_t v;
        static const struct {
            const char *name;
            int cls;
        } rates[] = {
            { "responses-per-second", SG_RRL_ANSWER },
            { "nxdomains-per-second", SG_RRL_NXDOMAIN },
            { "referrals-per-second", SG_RRL_REFERRAL },
            { "errors-per-second", SG_RRL_ERROR },
        };
        int done = 0;
        for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
            if (strcmp(c->name, rates[k].name))
                continue;
            if (want_args(c, 1))
                return SG_ESYNTAX;
            if (sg_cfg_parse_uint(c->args[0], 0, 1000000, &v))
                return sg_cfg_error(c, "rrl: %s: expected a rate from 0 (no limit) to 1000000, "
                                       "got '%s'", c->name, c->args[0]);
            rate[rates[k].cls] = (int64_t)v;
            done = 1;
        }
        if (done)
            continue;
        if (!strcmp(c->name, "slip")) {
            if (want_args(c, 1))
                return SG_ESYNTAX;
            if (sg_cfg_parse_uint(c->args[0], 0, 10, &v))
                return sg_cfg_error(c, "rrl: slip: expected 0 (never) to 10, got '%s'", c->args[0]);
            out->slip = (uint32_t)v;
        } else if (!strcmp(c->name, "window")) {
            if (want_args(c, 1))
                return SG_ESYNTAX;
            if (sg_cfg_parse_duration(c->args[0], &v) || v < 1 || v > 3600)
                return sg_cfg_error(c, "rrl: window: expected 1s to 3600s, got '%s'", c->args[0]);
            out->window = (uint32_t)v;
        } else if (!strcmp(c->name, "ipv4-prefix") || !strcmp(c->name, "ipv6-prefix")) {
            int v6 = c->name[3] == '6';
            if (want_args(c, 1))
                return SG_ESYNTAX;
            if (sg_cfg_parse_uint(c->args[0], 1, v6 ? 128 : 32, &v))
                return sg_cfg_error(c, "rrl: %s: expected 1 to %d, got '%s'", c->name,
                                    v6 ? 128 : 32, c->args[0]);
            if (v6)
                out->ipv6_prefix = (uint8_t)v;
            else
                out->ipv4_prefix = (uint8_t)v;
        } else if (!strcmp(c->name, "table-size")) {
            if (want_args(c, 1))
                return SG_ESYNTAX;
            if (sg_cfg_parse_uint(c->args[0], 64, 1u << 24, &v))
                return sg_cfg_error(c, "rrl: table-size: expected 64 to 16777216, got '%s'",
                                    c->args[0]);
            out->table_size = (uint32_t)v;
        } else if (!strcmp(c->name, "exempt")) {
            if (c->nargs < 1 || c->nchildren)
                return sg_cfg_error(c, "rrl: exempt takes one or more ADDR[/BITS]");
            for (int a = 0; a < c->nargs; a++) {
                if (out->nexempt == SG_RRL_EXEMPT_MAX)
                    return sg_cfg_error(c, "rrl: more than %d exempt networks", SG_RRL_EXEMPT_MAX);
                if (sg_rrl_parse_net(c->args[a], &out->exempt[out->nexempt]))
                    return sg_cfg_error(c, "rrl: exempt: '%s' is not ADDR or ADDR/BITS",
                                        c->args[a]);
                out->nexempt++;
            }
        } else {
            return sg_cfg_error(c, "rrl: unknown option '%s'", c->name);
        }
    }
    out->rate[SG_RRL_ANSWER] = (uint32_t)rate[SG_RRL_ANSWER];
    out->rate[SG_RRL_ERROR] = (uint32_t)(rate[SG_RRL_ERROR] >= 0 ? rate[SG_RRL_ERROR]
                                                                 : rate[SG_RRL_ANSWER]);
    out->rate[SG_RRL_NXDOMAIN] = (uint32_t)(rate[SG_RRL_NXDOMAIN] >= 0 ? rate[SG_RRL_NXDOMAIN]
                                                                       : out->rate[SG_RRL_ERROR]);
    out->rate[SG_RRL_REFERRAL] = (uint32_t)(rate[SG_RRL_REFERRAL] >= 0 ? rate[SG_RRL_REFERRAL]
                                                                       : rate[SG_RRL_ANSWER]);
    return 0;
}

/* ---- the table ---------------------------------------------------------------------- */

sg_rrl *sg_rrl_new(const sg_rrl_cfg *cfg)
{
    sg_rrl *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = *cfg;
    size_t n = 64;
    while (n < cfg->table_size)
        n <<= 1;
    r->mask = n - 1;
    r->b = calloc(n, sizeof *r->b);
    /* a secret seed: a client cannot aim its keys at another's bucket */
    if (!r->b || getrandom(&r->seed, sizeof r->seed, 0) != sizeof r->seed) {
        sg_rrl_free(r);
        return NULL;
    }
    return r;
}

void sg_rrl_free(sg_rrl *r)
{
    if (!r)
        return;
    free(r->b);
    free(r);
}

/* The client's address as (family, masked bytes); IPv4-mapped IPv6 counts as IPv4. */
static int client_bytes(const struct sockaddr *sa, uint8_t out[16], int *len_out)
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        *len_out = 4;
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(out, a->s6_addr + 12, 4);
            *len_out = 4;
            return AF_INET;
        }
        memcpy(out, a->s6_addr, 16);
        *len_out = 16;
        return AF_INET6;
    }
    return -1;
}

static void mask_bits(uint8_t *a, int len, unsigned bits)
{
    for (int i = 0; i < len; i++) {
        unsigned keep = bits >= 8 ? 8 : bits;
        a[i] &= (uint8_t)(0xff00u >> keep);
        bits -= keep;
    }
}

int sg_rrl_exempt(const sg_rrl *r, const struct sockaddr *client)
{
    uint8_t a[16];
    int len, fam = client_bytes(client, a, &len);
    for (int i = 0; fam > 0 && i < r->cfg.nexempt; i++) {
        const sg_rrl_net *n = &r->cfg.exempt[i];
        if (n->family != fam)
            continue;
        uint8_t x[16], y[16];
        memcpy(x, a, (size_t)len);
        memcpy(y, n->addr, (size_t)len);
        mask_bits(x, len, n->bits);
        mask_bits(y, len, n->bits);
        if (!memcmp(x, y, (size_t)len))
            return 1;
    }
    return 0;
}

/* Seeded 64-bit hash: FNV-1a over the bytes, then a splitmix finaliser for avalanche. */
static uint64_t mix(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t finish(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

static inline uint64_t pack(int32_t balance, uint32_t tick)
{
    return (uint64_t)(uint32_t)balance << 32 | tick;
}

sg_rrl_action sg_rrl_account(sg_rrl *r, const struct sockaddr *client, sg_rrl_class cls,
                             const uint8_t *name, size_t name_len, uint16_t qtype,
                             uint64_t now_ns)
{
    if ((unsigned)cls >= SG_RRL_NCLASS)
        return SG_RRL_PASS;
    uint32_t rate = r->cfg.rate[cls];
    if (!rate)
        return SG_RRL_PASS;
    uint8_t a[16];
    int len, fam = client_bytes(client, a, &len);
    if (fam < 0)
        return SG_RRL_PASS;
    mask_bits(a, len, fam == AF_INET ? r->cfg.ipv4_prefix : r->cfg.ipv6_prefix);

    uint8_t head[4] = { (uint8_t)cls, (uint8_t)fam, (uint8_t)(qtype >> 8), (uint8_t)qtype };
    uint64_t h = mix(r->seed ^ 0xcbf29ce484222325ull, head, sizeof head);
    h = mix(h, a, (size_t)len);
    if (name)
        h = mix(h, name, name_len);
    uint64_t key = finish(h) | 1; /* 0 marks an empty bucket */

    uint32_t tick = (uint32_t)(now_ns / TICK_NS);
    int64_t max = (int64_t)rate * UNIT;           /* one second's worth: the burst */
    int64_t min = -(int64_t)r->cfg.window * rate * UNIT;
    if (min < INT32_MIN / 2)
        min = INT32_MIN / 2;

    /* two candidate buckets; a new key takes the one idle longer */
    bucket *b0 = &r->b[key & r->mask], *b1 = &r->b[(key & r->mask) ^ 1], *b;
    if (atomic_load_explicit(&b0->key, memory_order_relaxed) == key) {
        b = b0;
    } else if (atomic_load_explicit(&b1->key, memory_order_relaxed) == key) {
        b = b1;
    } else {
        uint32_t t0 = (uint32_t)atomic_load_explicit(&b0->state, memory_order_relaxed);
        uint32_t t1 = (uint32_t)atomic_load_explicit(&b1->state, memory_order_relaxed);
        int empty0 = !atomic_load_explicit(&b0->key, memory_order_relaxed);
        b = empty0 || (uint32_t)(tick - t0) >= (uint32_t)(tick - t1) ? b0 : b1;
        atomic_store_explicit(&b->state, pack((int32_t)max, tick), memory_order_relaxed);
        atomic_store_explicit(&b->limited, 0, memory_order_relaxed);
        atomic_store_explicit(&b->key, key, memory_order_relaxed);
    }

    uint64_t s = atomic_load_explicit(&b->state, memory_order_relaxed);
    int64_t bal;
    for (;;) {
        bal = (int32_t)(uint32_t)(s >> 32);
        uint32_t elapsed = tick - (uint32_t)s;
        if (elapsed > 0x80000000u)
            elapsed = 0; /* another thread wrote a later tick: no credit, no going back */
        bal += (int64_t)elapsed * rate;
        if (bal > max)
            bal = max;
        bal -= UNIT;
        if (bal < min)
            bal = min;
        uint32_t t = elapsed ? tick : (uint32_t)s;
        if (atomic_compare_exchange_weak_explicit(&b->state, &s, pack((int32_t)bal, t),
                                                  memory_order_relaxed, memory_order_relaxed))
            break;
    }
    if (bal >= 0)
        return SG_RRL_PASS;
    uint32_t n = atomic_fetch_add_explicit(&b->limited, 1, memory_order_relaxed) + 1;
    return r->cfg.slip && n % r->cfg.slip == 0 ? SG_RRL_SLIP : SG_RRL_DROP;
}
