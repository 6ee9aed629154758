/* SPDX-License-Identifier: MIT */
/* Online signing: RRSIG making over our RRsets, authenticated denial, the signature cache. */
#ifndef SG_SIGNER_H
#define SG_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/rrset.h"

enum {
    SG_ALG_RSASHA256 = 8, SG_ALG_RSASHA512 = 10, SG_ALG_ECDSAP256SHA256 = 13,
    SG_ALG_ECDSAP384SHA384 = 14, SG_ALG_ED25519 = 15, SG_ALG_ED448 = 16,
};

struct sg_p11_key;

/* A key the signer can use: the private key and what goes into its RRSIGs. The signer
 * borrows pkey (shared read-only by all threads; OpenSSL allows concurrent signing).
 * A key held in a PKCS#11 token has token set: it signs, and pkey is only the public key
 * (for its size); keystore/pkcs11.h serialises the token's use. */
typedef struct sg_sign_key {
    EVP_PKEY *pkey;
    struct sg_p11_key *token;
    /* A software ECDSA/EdDSA key of a key set is held compact instead (pkey NULL): its
     * object is built when it signs (signer/compact_key.h). */
    struct sg_compact_key *compact;
    uint8_t algorithm;
    uint16_t key_tag;
    uint16_t flags;        /* DNSKEY flags: 257 KSK/CSK, 256 ZSK */
    int64_t id;            /* keystore id */
    uint64_t cache_id;     /* what the signature cache keys its signatures on
                            * (sg_sigkey_signer); 0: id */
} sg_sign_key;

/* The largest RRSIG RDATA we make: 18 fixed + signer name + RSA-4096 signature. */
#define SG_RRSIG_MAX (18 + 255 + 512)

/* Make the RRSIG RDATA for an RRset (RFC 4034 3.1, 6.2): owner is the name as signed
 * (lower case; "*.x" for wildcard answers), labels its label count without a leading "*",
 * signer the zone apex. out needs SG_RRSIG_MAX bytes. Returns 0 and *len_out, or
 * SG_ELIB (OpenSSL failure, logged) / SG_KS_ETOKEN (the key's token failed; logged by
 * keystore/pkcs11.c on its change of state) / SG_EINVAL. */
int sg_rrsig_make(const sg_sign_key *key, const uint8_t *signer, const uint8_t *owner,
                  uint8_t labels, const sg_rrset *rs, uint32_t inception,
                  uint32_t expiration, uint8_t *out, size_t *len_out);

/* One thread's signing state for many signatures in a row (whole-zone signing): the digest
 * and each key's OpenSSL context are set up once instead of per signature (which takes
 * OpenSSL's global locks each time). Never shared between threads; the keys it saw must
 * outlive it. */
typedef struct sg_sign_ctx sg_sign_ctx;
/* NULL when out of memory. */
sg_sign_ctx *sg_sign_ctx_new(void);
/* Frees the contexts (not the keys). NULL does nothing. */
void sg_sign_ctx_free(sg_sign_ctx *c);
/* sg_rrsig_make through c (NULL: as sg_rrsig_make). The same RRSIG; ECDSA, RSA keys use the
 * cached contexts, EdDSA and token keys sign as sg_rrsig_make does. */
int sg_rrsig_make_ctx(sg_sign_ctx *c, const sg_sign_key *key, const uint8_t *signer,
                      const uint8_t *owner, uint8_t labels, const sg_rrset *rs,
                      uint32_t inception, uint32_t expiration, uint8_t *out, size_t *len_out);

/* The signature size of an algorithm in bytes (RSA: of this key), or 0. */
size_t sg_sig_size(const sg_sign_key *key);

#endif
