/* SPDX-License-Identifier: MIT */
/* Per-client TCP connection counts: one process-wide table, since connections outlive a
 * reload's runtime. */
#include "daemon/tcp_clients.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

#define SLOTS 8192u

static _Atomic uint32_t counts[SLOTS];
static uint64_t seed;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

/* a secret seed, so that a client cannot pick addresses that share a victim's slot */
static void seed_init(void)
{
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
        seed = 0x9e3779b97f4a7c15ull;
}

static size_t slot_of(const struct sockaddr *sa)
{
    pthread_once(&seed_once, seed_init);
    const uint8_t *a;
    size_t n;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        a = IN6_IS_ADDR_V4MAPPED(x) ? x->s6_addr + 12 : x->s6_addr;
        n = IN6_IS_ADDR_V4MAPPED(x) ? 4 : 16;
    } else if (sa->sa_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        n = 4;
    } else {
        return 0;
    }
    uint64_t h = seed ^ 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ a[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    return (size_t)(h % SLOTS);
}

int sg_tcp_client_acquire(const struct sockaddr *peer, uint32_t max)
{
    _Atomic uint32_t *c = &counts[slot_of(peer)];
    uint32_t n = atomic_load_explicit(c, memory_order_relaxed);
    do {
        if (max && n >= max)
            return -1;
    } while (!atomic_compare_exchange_weak_explicit(c, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 0;
}

void sg_tcp_client_release(const struct sockaddr *peer)
{
    _Atomic uint32_t *c = &counts[slot_of(peer)];
    uint32_t n = atomic_load_explicit(c, memory_order_relaxed);
    while (n && !atomic_compare_exchange_weak_explicit(c, &n, n - 1, memory_order_relaxed,
                                                       memory_order_relaxed))
        ;
}

uint32_t sg_tcp_client_count(const struct sockaddr *peer)
{
    return atomic_load_explicit(&counts[slot_of(peer)], memory_order_relaxed);
}
