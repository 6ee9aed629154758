/* SPDX-License-Identifier: MIT */
/* Definitions shared by the keystore's files, not part of its public header. */
#ifndef SG_KS_INTERNAL_H
#define SG_KS_INTERNAL_H

#include "keystore/keystore.h"

#include <sqlite3.h>
#include <stdint.h>
#include <sys/types.h>

/* Prepared statements kept for the handle's life (ks_prepare / ks_finish): parsing the
 * same SQL again for every zone was half of a 30,000-zone start. */
#define KS_STMT_CACHE 64
typedef struct ks_stmt_slot {
    sqlite3_stmt *st;    /* NULL: free slot */
    uint32_t hash;       /* of the SQL text */
    int taken;           /* handed out by ks_prepare, not yet given back */
} ks_stmt_slot;

struct sg_keystore {
    sqlite3 *db;
    ks_stmt_slot stmts[KS_STMT_CACHE];
    char actor[16];
    int tx_depth;        /* sg_ks_begin nesting; savepoints below the outermost */
    char errmsg[256];    /* last library failure, for callers that print it */
    char path[1024];     /* as opened, and the file it was then (dev, inode) */
    dev_t dev;
    ino_t ino;
};

/* Turn a SQLite result into ours, logging the library message once (what says what we
 * were doing). SQLITE_BUSY/LOCKED become SG_KS_EBUSY, a constraint SG_EEXIST. */
int ks_sql_fail(sg_keystore *ks, int rc, const char *what);
/* Log the OpenSSL error queue as one line and clear it; returns SG_ELIB. */
int ks_ssl_fail(sg_keystore *ks, const char *what);
/* Set the handle's error text (truncation is fine: it is for humans). */
void ks_set_err(sg_keystore *ks, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepare a statement, mapping failure through ks_sql_fail. The statement may be one the
 * handle keeps (reset, no bindings): give it back with ks_finish, never sqlite3_finalize.
 * The same SQL taken twice at once (nested calls) gets a second statement. */
int ks_prepare(sg_keystore *ks, const char *sql, sqlite3_stmt **st_out);
/* Give back a statement from ks_prepare (reset and kept, or finalized if not kept);
 * NULL is fine. Any other statement is finalized. */
void ks_finish(sg_keystore *ks, sqlite3_stmt *st);
/* Finalize every kept statement (before the connection closes). */
void ks_stmt_cache_clear(sg_keystore *ks);
/* Run SQL without results. */
int ks_exec(sg_keystore *ks, const char *sql);
/* Copy a text column into a fixed buffer ("" for NULL). */
void ks_col_text(sqlite3_stmt *st, int col, char *buf, size_t cap);

/* Say, inside the write's transaction, that it was for zone (zone_writes.c): the keyman
 * of another connection steps that zone rather than every zone. */
int ks_zone_wrote(sg_keystore *ks, const char *zone);

/* Migrations: bring the open database to SG_KS_SCHEMA_VERSION. */
int ks_schema_migrate(sg_keystore *ks);

/* Private key storage backends: how a private key becomes the bytes of the `private_key`
 * column and back. "pem" keeps PKCS#8 PEM; a PKCS#11 backend would keep a URI. */
typedef struct ks_storage {
    const char *name;
    int (*encode)(sg_keystore *ks, EVP_PKEY *pkey, uint8_t **blob_out, size_t *len_out);
    int (*decode)(sg_keystore *ks, const uint8_t *blob, size_t len, EVP_PKEY **pkey_out);
} ks_storage;
const ks_storage *ks_storage_find(const char *name);
extern const ks_storage ks_storage_pem;
/* PEM wrapped with the process's key-encryption key (keystore/kek.h) */
extern const ks_storage ks_storage_wrapped;
/* The backend new private keys are written with: wrapped when the process has a KEK, else
 * pem; NULL (with the handle's error set) when the environment names a KEK that fails. */
const ks_storage *ks_storage_for_new(sg_keystore *ks);
#define KS_STORAGE_PEM "pem"
#define KS_STORAGE_WRAPPED "pem-aes256gcm"

/* kek.c: 1 with a KEK, 0 without, SG_KS_EKEK (why) when the environment's is bad. */
int ks_kek_state(char *why, size_t cap);
/* Wrap / unwrap with the process KEK; the result is in the secure heap (unwrap: len + 1
 * bytes, NUL-terminated). Errors set the handle's message. */
int ks_kek_wrap(sg_keystore *ks, const uint8_t *plain, size_t len, uint8_t **blob_out,
                size_t *len_out);
int ks_kek_unwrap(sg_keystore *ks, const uint8_t *blob, size_t len, uint8_t **plain_out,
                  size_t *len_out);

/* The storage name of a public-only key (no private half: another signer holds it). */
#define KS_STORAGE_NONE "none"
/* Public-only too, marked as a multi-signer peer's key (keystore/foreign.c). */
#define KS_STORAGE_FOREIGN "foreign"
/* The storage name of a key held in a PKCS#11 token: private_key is its RFC 7512
 * reference (token, CKA_ID, CKA_LABEL, module-path, pin-source), never key material. */
#define KS_STORAGE_PKCS11 "pkcs11"

/* Set an imported key's timing points from what its source knows (t NULL or not known:
 * published, and unless public_only active, from now) and its state at now. */
void ks_import_times_apply(sg_ks_key *k, const sg_ks_import_times *t, int public_only,
                           int64_t now);

/* Insert an imported key (DNSKEY, tag and timings filled in; pkey NULL: public-only) in its
 * own transaction;
 * SG_EEXIST, with the keystore's error message set, when the zone already has its tag. */
int ks_key_import_insert(sg_keystore *ks, const sg_ks_zone *z, sg_ks_key *k, EVP_PKEY *pkey,
                         const char *reason, int64_t now);
/* A new key's identity: zone, algorithm, role and the DNSKEY flags the role implies. */
void ks_key_init(sg_ks_key *k, const char *zone, enum sg_ks_role role, uint8_t alg);
/* 0 if pkey is the private half of k's DNSKEY (the public key recomputed from it equals
 * the stored one, and OpenSSL's pairwise check passes); SG_EINVAL with the handle's error
 * set otherwise. */
int ks_key_check_pair(sg_keystore *ks, EVP_PKEY *pkey, const sg_ks_key *k);
/* Non-zero if a resolver may still need the key: it is (or may be) in the DNSKEY RRset,
 * or its DS may be at the parent. */
int ks_key_in_use(const sg_ks_key *k);

/* Base64 (RFC 4648) and hex helpers for presentation formats. */
int ks_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int ks_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len_out);
void ks_hex_encode(const uint8_t *in, size_t len, char *out, int upper);

#endif
