/* SPDX-License-Identifier: MIT */
/* Memory for secrets: OpenSSL's secure heap (locked, left out of core dumps, cleansed on
 * free) for our own buffers and for the private parts of OpenSSL's keys. */
#include "common/secure_heap.h"
#include "common/errors.h"
#include "common/log.h"

#include <openssl/crypto.h>
#include <string.h>

static size_t g_size;  /* the heap's size, once set up */
static int g_spilled; /* said that our secrets went to ordinary memory */

int sg_secure_heap_init(size_t bytes)
{
    if (CRYPTO_secure_malloc_initialized())
        return 0;
    size_t size = 4096;
    while (size < bytes)
        size <<= 1; /* OpenSSL wants a power of two */
    int r = CRYPTO_secure_malloc_init(size, 16);
    if (r)
        g_size = size;
    if (r == 0) {
        sg_log(SG_LOG_WARN, "keystore", NULL,
               "cannot set up a secure heap of %zu bytes: private keys live in ordinary memory "
               "(and in core dumps)", size);
        return SG_ELIB;
    }
    if (r == 2) {
        /* mlock failed (RLIMIT_MEMLOCK) or MADV_DONTDUMP did: the heap works, less well */
        sg_log(SG_LOG_WARN, "keystore", NULL,
               "secure heap of %zu bytes not fully protected (locked in memory and left out "
               "of core dumps): raise RLIMIT_MEMLOCK (ulimit -l) for signetd", size);
        return 1;
    }
    return 0;
}

void *sg_secure_alloc(size_t n)
{
    /* the secure heap while three quarters of it are free for us; the last quarter is
     * OpenSSL's own: a key decoded or signed with needs its private parts there, and a
     * full heap makes the decoder fail ("unsupported": 32,766 zones' compact keys filled
     * 8 MiB and the next key did not load). Beyond, ordinary memory, which sg_secure_free
     * still cleanses; signetd is not dumpable unless `core-dumps on`. */
    void *p = NULL;
    if (CRYPTO_secure_malloc_initialized() && CRYPTO_secure_used() + n <= g_size / 4 * 3)
        p = OPENSSL_secure_zalloc(n);
    if (!p) {
        if (g_size && !__atomic_exchange_n(&g_spilled, 1, __ATOMIC_RELAXED))
            sg_log(SG_LOG_WARN, "keystore", NULL, "the secure heap (%zu bytes) is three "
                   "quarters full: further private keys are held in ordinary memory", g_size);
        p = OPENSSL_zalloc(n);
    }
    return p;
}

void sg_secure_free(void *p, size_t len)
{
    if (!p)
        return;
    /* cleanses len bytes, then returns it to whichever heap it came from */
    OPENSSL_secure_clear_free(p, len);
}
