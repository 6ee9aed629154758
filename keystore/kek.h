/* SPDX-License-Identifier: MIT */
/* Private keys encrypted at rest: the process's key-encryption key (KEK) and rekeying. */
#ifndef SG_KS_KEK_H
#define SG_KS_KEK_H

#include <stddef.h>
#include <stdint.h>

#include "keystore/keystore.h"

/*
 * With a KEK, every `pem` private key the keystore writes is wrapped with AES-256-GCM
 * (OpenSSL EVP) and stored as `pem-aes256gcm`:
 *
 *     "SGK1" | KEK id (8 bytes) | nonce (12) | tag (16) | ciphertext of the PKCS#8 PEM
 *
 * the first 12 bytes being the GCM additional data. The KEK id is the first 8 bytes of
 * SHA-256("signet-kek" | KEK): it names the KEK a key needs without revealing it.
 *
 * The KEK comes from the environment, read once at first use: SIGNET_KEK_FILE names a
 * file only its owner can read (mode 0600 or stricter) holding the KEK as 64 hex digits
 * or the base64 of its 32 bytes; SIGNET_KEK holds the same text directly. It lives in the
 * secure heap. `openssl rand -hex 32 > kek; chmod 600 kek` makes one.
 */

#define SG_KS_KEK_LEN 32
#define SG_KS_KEK_ID_LEN 8

/* Parse a KEK's text (64 hex digits or base64 of 32 bytes; surrounding white space is
 * ignored). 0 or SG_KS_EKEK. */
int sg_ks_kek_parse(const char *text, uint8_t kek[SG_KS_KEK_LEN]);
/* Read a KEK file (regular, mode 0600 or stricter). 0, or SG_KS_EKEK with why. */
int sg_ks_kek_read_file(const char *path, uint8_t kek[SG_KS_KEK_LEN], char *why, size_t cap);
/* Use kek as the process's KEK from now on (NULL: none; the environment is then no longer
 * read). 0 or SG_ENOMEM. */
int sg_ks_kek_set(const uint8_t *kek);
/* The process's KEK id as 16 hex digits in id (17 bytes): 1 if there is a KEK, 0 if none
 * is configured, SG_KS_EKEK (why filled in) if the environment names a bad one. */
int sg_ks_kek_id(char id[17], char *why, size_t cap);
/* The id of a given KEK, 16 hex digits. */
void sg_ks_kek_id_of(const uint8_t kek[SG_KS_KEK_LEN], char id[17]);

/* Whether every wrapped private key in the keystore file can be unwrapped with the
 * process's KEK (its id): 0, or SG_KS_EKEK with why naming the KEK id the keys need.
 * Reads through db (an open SQLite handle). */
struct sqlite3;
int sg_ks_kek_check_db(struct sqlite3 *db, const char *path, char *why, size_t cap);
/* The same through a keystore handle. */
int sg_ks_kek_check(sg_keystore *ks, char *why, size_t cap);

/* Rewrap every `pem` and `pem-aes256gcm` private key under the process's KEK, in one
 * transaction, each journalled: plain PEM keys are wrapped, keys wrapped under another
 * KEK are unwrapped with old (NULL: none given; such a key then fails the whole rekey).
 * With no process KEK, SG_KS_EKEK. *n_out: keys rewritten. 0, or an error with why. */
int sg_ks_rekey(sg_keystore *ks, const uint8_t *old, int64_t now, size_t *n_out, char *why,
                size_t cap);

#endif
