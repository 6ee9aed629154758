/* SPDX-License-Identifier: MIT */
/* Keys held in a PKCS#11 token (an HSM, SoftHSM2): generation, DNSKEY export and DNSSEC
 * signing through the token; the private key never leaves it. */
#ifndef SG_KS_PKCS11_H
#define SG_KS_PKCS11_H

#include <stddef.h>
#include <stdint.h>

/*
 * A token is named by an RFC 7512 PKCS#11 URI, with two query attributes that say how to
 * reach it:
 *
 *     pkcs11:token=LABEL?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/signet/pin
 *
 * pin-source is `file:PATH` (a file only its owner can read or write; one trailing newline
 * is dropped) or `env:NAME` (an environment variable, a Signet extension). A key adds its
 * CKA_ID and CKA_LABEL to its token's URI (`;id=%01...;object=...`): that reference is all
 * the keystore keeps of it.
 *
 * Threads: the process opens one session per token, logged in once, and a mutex per token
 * serialises every operation on it (signing included), because a PKCS#11 session may be
 * used by one thread at a time. The module is initialised with CKF_OS_LOCKING_OK.
 * A token that fails (removed, module error, session lost) makes every call fail at once
 * with SG_KS_ETOKEN until a reconnection, tried at most once a second, succeeds; the
 * failure is logged on its change of state and then at most once a minute.
 */

typedef struct sg_p11_key sg_p11_key;

/* The parts of a token URI or key reference. */
typedef struct sg_p11_uri {
    char token[33];         /* CKA token label (at most 32 bytes) */
    uint8_t id[32];         /* CKA_ID, id_len 0: none */
    size_t id_len;
    char object[128];       /* CKA_LABEL, "" : none */
    char module[1024];      /* module-path */
    char pin_source[1024];  /* file:PATH or env:NAME */
} sg_p11_uri;

/* Parse a pkcs11: URI. 0, or SG_EINVAL with a reason in why (may be NULL). */
int sg_p11_uri_parse(const char *text, sg_p11_uri *u, char *why, size_t cap);
/* Write a URI (token, id and object when set, module-path, pin-source). SG_ESPACE. */
int sg_p11_uri_format(const sg_p11_uri *u, char *out, size_t cap);
/* Check a policy's token URI: token, module-path and pin-source present and well formed.
 * 0 or SG_EINVAL with a reason. Does not touch the module. */
int sg_p11_uri_check(const char *text, char *why, size_t cap);

/* Whether keys of DNSSEC algorithm alg can be made and used in a token (RSA/SHA-256,
 * RSA/SHA-512, ECDSA P-256, P-384, Ed25519). */
int sg_p11_alg_supported(uint8_t alg);

/* Generate a key pair of algorithm alg (bits: RSA modulus, 0: 2048) in the token the URI
 * names: private key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE; both
 * halves get a fresh random CKA_ID and the CKA_LABEL label. Writes the key's reference to
 * ref_out and its DNSKEY public key (RFC 3110/6605/8080 format, read back from the token)
 * to pub. 0, SG_EINVAL (bad URI or algorithm), SG_KS_EPIN (PIN unreadable or refused),
 * SG_KS_ETOKEN (module, token or generation failed), SG_ESPACE; the reason is in why. */
int sg_p11_generate(const char *token_uri, uint8_t alg, uint16_t bits, const char *label,
                    char *ref_out, size_t ref_cap, uint8_t *pub, size_t pub_cap,
                    size_t *pub_len_out, char *why, size_t cap);

/* Destroy both halves of the key a reference names (a key given up or deleted). 0,
 * SG_ENOTFOUND (nothing had that CKA_ID), or as sg_p11_generate. */
int sg_p11_destroy(const char *ref, char *why, size_t cap);

/* Find the private key a reference names, for signing with DNSSEC algorithm alg. The
 * handle is reference counted (sg_p11_key_ref) and freed by sg_p11_key_free. Errors as
 * sg_p11_generate; SG_ENOTFOUND when the token has no such private key. */
int sg_p11_key_open(const char *ref, uint8_t alg, sg_p11_key **out, char *why, size_t cap);
/* One more owner of k; returns k. */
sg_p11_key *sg_p11_key_ref(sg_p11_key *k);
/* Drop one owner (NULL: nothing). */
void sg_p11_key_free(sg_p11_key *k);

/* The key's DNSKEY public key, read from the token (its public object, else what the
 * private object shows). 0, SG_ESPACE, SG_ENOTFOUND or SG_KS_ETOKEN. */
int sg_p11_key_public(sg_p11_key *k, uint8_t *pub, size_t cap, size_t *len_out);

/* Sign data the DNSSEC way for the key's algorithm: ECDSA hashes here (OpenSSL) and the
 * token signs the digest (CKM_ECDSA: r | s, RFC 6605's format); RSA signs with
 * CKM_SHA256_RSA_PKCS / CKM_SHA512_RSA_PKCS; Ed25519 with CKM_EDDSA. 0 and *len_out, or
 * SG_KS_ETOKEN (logged on a change of state), SG_ESPACE. Thread-safe: up to 4 threads sign
 * at once, each in a session of its own. */
int sg_p11_sign(sg_p11_key *k, const uint8_t *data, size_t len, uint8_t *sig, size_t cap,
                size_t *len_out);

/* How many signing sessions the token of k has lent out now and keeps idle (tests). */
int sg_p11_sessions(sg_p11_key *k, int *busy_out, int *idle_out);

/* What the token says of the private key: CKA_SENSITIVE, CKA_EXTRACTABLE, and whether
 * its CKA_VALUE could be read (it must not). 0 or SG_KS_ETOKEN. */
int sg_p11_key_custody(sg_p11_key *k, int *sensitive_out, int *extractable_out,
                       int *value_readable_out);

/* Close every session and finalise every module (tests; a process may just exit). */
void sg_p11_shutdown(void);

#endif
