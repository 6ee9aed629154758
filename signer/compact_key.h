/* SPDX-License-Identifier: MIT */
/* Software keys held compact: an OpenSSL key object of an ECDSA key costs ~2.3 KiB of heap,
 * its private scalar and public point ~100 bytes. Ten thousand small zones each holding their
 * keys as objects made the keys a fifth of signetd's memory (issue 17), though a zone whose
 * signatures are cached signs nothing for hours. So a key set holds the raw material (secure
 * heap) and an object is built (EVP_PKEY_fromdata, ~16 us, a tenth of a DER decode) when the
 * key signs, kept in one process-wide cache of the most recently used objects. */
#ifndef SG_COMPACT_KEY_H
#define SG_COMPACT_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

typedef struct sg_compact_key sg_compact_key;

/* How many key objects the process keeps built by default (~2.3 MiB of ECDSA objects). */
#define SG_KEY_OBJECTS_DEFAULT 1024

/* The compact form of pk when it is an ECDSA (P-256, P-384) or EdDSA private key, with one
 * reference. SG_EINVAL for any other key (RSA, public-only: the caller keeps the object),
 * SG_ENOMEM, SG_ELIB. pk is not consumed. */
int sg_compact_key_from(EVP_PKEY *pk, sg_compact_key **out);
/* Another reference (a CSK is in a key set twice: ZSK and KSK). */
sg_compact_key *sg_compact_key_ref(sg_compact_key *c);
/* Drop a reference; the last one drops the built object and cleanses the material. */
void sg_compact_key_free(sg_compact_key *c);
/* The key object, built now or taken from the cache: a reference of the caller's own,
 * EVP_PKEY_free it after signing (the cache may drop its own meanwhile). NULL when
 * OpenSSL fails (logged). Any thread. */
EVP_PKEY *sg_compact_key_get(sg_compact_key *c);

/* How many objects the cache keeps (0: every key's, as before compact keys); process-wide,
 * the global option `key-objects`. Lowering it drops the least recently used at once. */
void sg_compact_key_set_cache(size_t n);
/* How many objects are built and held by the cache now, and how many were built since the
 * start (tests, /metrics). */
size_t sg_compact_key_cached(void);
unsigned long sg_compact_key_builds(void);

#endif
