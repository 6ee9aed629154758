/* SPDX-License-Identifier: MIT */
/* Keystore backups: a consistent copy of the whole keystore in one file, optionally
 * encrypted (CMS), and restoring one only after every check passed. */
#ifndef SG_KS_BACKUP_H
#define SG_KS_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keystore/keystore.h"

/*
 * A backup file is a fixed header followed by the payload:
 *
 *   offset  size  field (integers big-endian)
 *        0     8  magic "SIGNETKB"
 *        8     2  format version (SG_KS_BACKUP_FORMAT)
 *       10     2  flags: SG_KS_BACKUP_ENCRYPTED, _PASSPHRASE, _RECIPIENT
 *       12     4  keystore schema version (PRAGMA user_version of the copy)
 *       16     8  creation time (Unix seconds)
 *       24     8  payload length
 *       32    32  SHA-256 of bytes 0..31 followed by the payload
 *
 * The payload is the SQLite database image, or, encrypted, a DER CMS EnvelopedData
 * (AES-256-CBC) of it with a recipient certificate (key transport or agreement) and/or
 * a passphrase (RFC 3211 password recipient info, PBKDF2). The SHA-256 detects truncation
 * and damage before anything is decrypted or replaced; it is a checksum, not a signature.
 */

#define SG_KS_BACKUP_MAGIC "SIGNETKB"
#define SG_KS_BACKUP_FORMAT 1      /* the format version this code writes and reads */
#define SG_KS_BACKUP_HEADER_LEN 64

enum {
    SG_KS_BACKUP_ENCRYPTED = 1,    /* the payload is CMS EnvelopedData */
    SG_KS_BACKUP_PASSPHRASE = 2,   /* ... with a passphrase recipient */
    SG_KS_BACKUP_RECIPIENT = 4,    /* ... with a certificate recipient */
};

typedef struct sg_ks_backup_header {
    uint16_t format;
    uint16_t flags;
    uint32_t schema;
    int64_t created;
    uint64_t payload_len;
    uint8_t sha256[32];
} sg_ks_backup_header;

/* What encrypts a backup or decrypts it. Any field may be NULL. Backup: passphrase and/or
 * cert_path (the recipient's PEM certificate); none: not encrypted. Restore: passphrase,
 * or key_path (the recipient's unencrypted PEM private key) with cert_path. The caller
 * keeps the passphrase in the secure heap. */
typedef struct sg_ks_backup_secret {
    const char *passphrase;
    size_t passphrase_len;
    const char *cert_path;
    const char *key_path;
} sg_ks_backup_secret;

/* What a backup holds, as sg_ks_backup wrote or sg_ks_restore_check found it. */
typedef struct sg_ks_backup_info {
    sg_ks_backup_header header;
    uint64_t file_len;        /* bytes of the whole backup file */
    size_t zones, keys;       /* rows in the copy */
    int schema_now;           /* the schema after opening (migrated), restore only */
} sg_ks_backup_info;

/* Check the header and the checksum of a backup held in buf (len bytes): magic, a format
 * version this program reads, a payload length that matches len, and the SHA-256. Fills
 * *h_out (may be NULL) even when only the checksum fails. 0, SG_EMALFORMED (not a Signet
 * backup, or a newer format), SG_KS_ECORRUPT (truncated, longer, or damaged), with why
 * (may be NULL) saying which. */
int sg_ks_backup_verify(const uint8_t *buf, size_t len, sg_ks_backup_header *h_out, char *why,
                        size_t cap);

/* Write a backup of the keystore ks to out_path: the SQLite online backup API copies the
 * whole database in one read transaction (signetd may go on writing) into an in-memory
 * database, which is checked (integrity_check), serialised, optionally encrypted (sec),
 * and written to a new file beside out_path (mode 0600, fsync), renamed over out_path.
 * info_out may be NULL. 0, or an SG_E* error with why (may be NULL) filled in. */
int sg_ks_backup(sg_keystore *ks, const char *out_path, const sg_ks_backup_secret *sec,
                 int64_t now, sg_ks_backup_info *info_out, char *why, size_t cap);

/* Check a backup file completely without touching any keystore but stage_path: header,
 * checksum, the schema version (newer than SG_KS_SCHEMA_VERSION: SG_KS_ESCHEMA), then
 * decryption (SG_KS_EDECRYPT), the image written to stage_path (must not exist; created
 * 0600), PRAGMA integrity_check and foreign_key_check (SG_KS_ECORRUPT), opening it as a
 * keystore (older schemas are migrated), and that every key's private key matches its
 * DNSKEY (SG_KS_ECORRUPT). On success stage_path holds the verified keystore, synced to
 * disk; on failure stage_path is removed. info_out may be NULL. */
int sg_ks_restore_check(const char *file, const sg_ks_backup_secret *sec,
                        const char *stage_path, sg_ks_backup_info *info_out, char *why,
                        size_t cap);

/* Whether another process has the keystore at path open (it holds SQLite's shared-memory
 * lock). 1 with *pid_out (may be NULL) the process id, 0 when none, or an SG_E* error.
 * Processes' own locks are invisible to themselves: a handle of the caller's is not seen. */
int sg_ks_holder(const char *path, pid_t *pid_out);

/* Replace the keystore at target with the verified keystore at stage_path (from
 * sg_ks_restore_check). The keystore at target (if any) is kept as keep_as (must not
 * exist), with its write-ahead log moved beside it and checkpointed into it, so that no
 * stale -wal or -shm is left beside the restored file. When another process holds target
 * open: SG_KS_EINUSE unless force; with force, wait up to wait_ms for it to let go (a
 * running signetd does within a second when its keystore is moved away), and if it does
 * not, put the old keystore back and fail with SG_KS_EINUSE. Finally stage_path is
 * renamed to target and the directory synced. 0, or an SG_E* error with why. */
int sg_ks_restore(const char *stage_path, const char *target, const char *keep_as, int force,
                  int wait_ms, char *why, size_t cap);

#endif
