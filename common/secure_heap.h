/* SPDX-License-Identifier: MIT */
/* The process's secure heap (OpenSSL's): locked in memory, left out of core dumps,
 * cleansed on free. It holds every secret above the config parser: private keys (the
 * keystore), TSIG secrets (the tsig keyring), registrar credential values. Secrets held
 * before it exists or below OpenSSL (config text, cookie secrets) use common/secret.h. */
#ifndef SG_SECURE_HEAP_H
#define SG_SECURE_HEAP_H

#include <stddef.h>

/* What signetd and signetctl set up: room for some thousands of private keys (an
 * RSA-4096 key takes about 2.5 KiB of it, an ECDSA key well under 1 KiB). */
#define SG_SECURE_HEAP_BYTES (8u << 20)

/* Set up OpenSSL's secure heap of at least `bytes` (rounded up to a power of two) for
 * private keys: locked in memory (mlock), left out of core dumps (MADV_DONTDUMP), cleansed
 * on free. Call once at start, before any key is loaded. Returns 0, 1 when it works but
 * is not fully protected (RLIMIT_MEMLOCK; logged), or SG_ELIB (logged). */
int sg_secure_heap_init(size_t bytes);
/* n zeroed bytes for secret material: from the secure heap when it is set up and has
 * room, else ordinary memory. Free with sg_secure_free. NULL when out of memory. */
void *sg_secure_alloc(size_t n);
/* Cleanse len bytes of p and free it (from either heap above). NULL is fine. */
void sg_secure_free(void *p, size_t len);

#endif
