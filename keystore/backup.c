/* SPDX-License-Identifier: MIT */
/* Keystore backups: online copy, packing, CMS encryption, and checked, atomic restores. */
#include "keystore/backup.h"
#include "keystore/internal.h"

#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define BACKUP_MAX ((uint64_t)1 << 32)  /* 4 GiB: far beyond any keystore, refused above */
#define PWRI_ITERATIONS 200000          /* PBKDF2 rounds for a passphrase recipient */
#define SQLITE_MAGIC "SQLite format 3"  /* the first 16 bytes of a database, NUL included */
/* SQLite's unix VFS: every connection with the WAL index open holds a shared lock on this
 * byte of the -shm file (the "dead man switch", os_unix.c UNIX_SHM_DMS). */
#define SHM_DMS_BYTE 128

/* The OpenSSL error queue as text (never key material: OpenSSL does not put it there). */
static const char *ssl_text(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "failed");
    ERR_clear_error();
    return buf;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* SHA-256 of the header's first 32 bytes and the payload. */
static int header_digest(const uint8_t *head, const uint8_t *payload, size_t len, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(md, head, 32) && EVP_DigestUpdate(md, payload, len) &&
             EVP_DigestFinal_ex(md, out, &n) && n == 32;
    EVP_MD_CTX_free(md);
    return ok ? 0 : SG_ELIB;
}

int sg_ks_backup_verify(const uint8_t *buf, size_t len, sg_ks_backup_header *h_out, char *why,
                        size_t cap)
{
    if (!buf && len)
        return SG_EINVAL;
    sg_ks_backup_header h;
    memset(&h, 0, sizeof h);
    if (len < 8 || memcmp(buf, SG_KS_BACKUP_MAGIC, 8) != 0)
        return sg_say(why, cap, SG_EMALFORMED, "not a Signet keystore backup (no %s header)",
                   SG_KS_BACKUP_MAGIC);
    if (len < SG_KS_BACKUP_HEADER_LEN)
        return sg_say(why, cap, SG_KS_ECORRUPT, "truncated: %zu bytes, shorter than the %d-byte header",
                   len, SG_KS_BACKUP_HEADER_LEN);
    h.format = (uint16_t)get_be(buf + 8, 2);
    h.flags = (uint16_t)get_be(buf + 10, 2);
    h.schema = (uint32_t)get_be(buf + 12, 4);
    h.created = (int64_t)get_be(buf + 16, 8);
    h.payload_len = get_be(buf + 24, 8);
    memcpy(h.sha256, buf + 32, 32);
    if (h_out)
        *h_out = h;
    if (h.format != SG_KS_BACKUP_FORMAT)
        return sg_say(why, cap, h.format > SG_KS_BACKUP_FORMAT ? SG_EMALFORMED : SG_KS_ECORRUPT,
                   "backup format version %u, this program reads version %d", h.format,
                   SG_KS_BACKUP_FORMAT);
    uint64_t have = len - SG_KS_BACKUP_HEADER_LEN;
    if (h.payload_len < have)
        return sg_say(why, cap, SG_KS_ECORRUPT, "%llu bytes after a payload of %llu",
                   (unsigned long long)(have - h.payload_len), (unsigned long long)h.payload_len);
    if (h.payload_len > have)
        return sg_say(why, cap, SG_KS_ECORRUPT, "truncated: %llu of %llu payload bytes present",
                   (unsigned long long)have, (unsigned long long)h.payload_len);
    uint8_t d[32];
    if (header_digest(buf, buf + SG_KS_BACKUP_HEADER_LEN, (size_t)have, d))
        return sg_say(why, cap, SG_ELIB, "SHA-256 failed");
    if (CRYPTO_memcmp(d, h.sha256, 32) != 0)
        return sg_say(why, cap, SG_KS_ECORRUPT, "the SHA-256 checksum does not match");
    if ((h.flags & ~7u) || (!(h.flags & SG_KS_BACKUP_ENCRYPTED) && h.flags))
        return sg_say(why, cap, SG_KS_ECORRUPT, "unknown flags 0x%x", h.flags);
    return 0;
}

/* ---- files ---------------------------------------------------------------------------- */

static int read_file(const char *path, uint8_t **buf_out, size_t *len_out, char *why, size_t cap)
{
    *buf_out = NULL;
    *len_out = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sg_say(why, cap, errno == ENOENT ? SG_ENOTFOUND : SG_EIO, "cannot open %s: %s", path,
                   strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sg_say(why, cap, SG_EIO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > BACKUP_MAX + SG_KS_BACKUP_HEADER_LEN) {
        close(fd);
        return sg_say(why, cap, SG_EMALFORMED, "%s is too large for a keystore backup", path);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return sg_say(why, cap, SG_ENOMEM, "out of memory");
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *buf_out = buf;
    *len_out = got;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The directory part of path ("." when none). */
static void dir_of(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, cap, ".");
}

static int sync_dir(const char *path)
{
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

/* A new file (mode 0600, must not exist) holding the pieces, synced. */
static int write_new_file(const char *path, const uint8_t *a, size_t alen, const uint8_t *b,
                          size_t blen, char *why, size_t cap)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return sg_say(why, cap, errno == EEXIST ? SG_EEXIST : SG_EIO, "cannot create %s: %s", path,
                   strerror(errno));
    if (write_all(fd, a, alen) || write_all(fd, b, blen) || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return sg_say(why, cap, SG_EIO, "cannot write %s: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

static void unlink_db(const char *path)
{
    char p[PATH_MAX];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-journal", path);
    unlink(p);
}

/* ---- encryption ----------------------------------------------------------------------- */

static int load_cert(const char *path, X509 **out, char *why, size_t cap)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return sg_say(why, cap, SG_EIO, "cannot open certificate %s: %s", path, strerror(errno));
    *out = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!*out) {
        char e[200];
        return sg_say(why, cap, SG_ESYNTAX, "%s: not a PEM certificate (%s)", path,
                   ssl_text(e, sizeof e));
    }
    return 0;
}

/* CMS EnvelopedData (AES-256-CBC) of plain for the certificate and/or passphrase; the DER
 * in *der_out (OPENSSL_free). */
static int seal(const uint8_t *plain, size_t len, const sg_ks_backup_secret *sec,
                   uint8_t **der_out, size_t *der_len_out, char *why, size_t cap)
{
    char e[200];
    int r = SG_ELIB;
    X509 *cert = NULL;
    STACK_OF(X509) *certs = sk_X509_new_null();
    CMS_ContentInfo *cms = NULL;
    BIO *in = NULL, *out = NULL;
    *der_out = NULL;
    if (!certs)
        return sg_say(why, cap, SG_ENOMEM, "out of memory");
    if (sec->cert_path) {
        if ((r = load_cert(sec->cert_path, &cert, why, cap)) != 0)
            goto out;
        if (!sk_X509_push(certs, cert)) {
            r = sg_say(why, cap, SG_ENOMEM, "out of memory");
            goto out;
        }
    }
    unsigned flags = CMS_BINARY | CMS_PARTIAL;
    cms = CMS_encrypt(certs, NULL, EVP_aes_256_cbc(), flags);
    if (!cms) {
        r = sg_say(why, cap, SG_ELIB, "cannot encrypt for %s: %s", sec->cert_path ? sec->cert_path : "a passphrase",
                ssl_text(e, sizeof e));
        goto out;
    }
    if (sec->passphrase) {
        /* CMS owns the copy and clears it when freed */
        unsigned char *pw = OPENSSL_memdup(sec->passphrase, sec->passphrase_len);
        if (!pw || !CMS_add0_recipient_password(cms, PWRI_ITERATIONS, NID_undef, NID_undef, pw,
                                                (ossl_ssize_t)sec->passphrase_len, NULL)) {
            OPENSSL_clear_free(pw, sec->passphrase_len);
            r = sg_say(why, cap, SG_ELIB, "cannot add the passphrase recipient: %s",
                    ssl_text(e, sizeof e));
            goto out;
        }
    }
    in = BIO_new_mem_buf(plain, (int)len);
    out = BIO_new(BIO_s_mem());
    if (!in || !out || !CMS_final(cms, in, NULL, flags) || i2d_CMS_bio(out, cms) != 1) {
        r = sg_say(why, cap, SG_ELIB, "encryption failed: %s", ssl_text(e, sizeof e));
        goto out;
    }
    char *data;
    long n = BIO_get_mem_data(out, &data);
    *der_out = OPENSSL_memdup(data, (size_t)n);
    if (!*der_out) {
        r = sg_say(why, cap, SG_ENOMEM, "out of memory");
        goto out;
    }
    *der_len_out = (size_t)n;
    r = 0;
out:
    BIO_free(in);
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    sk_X509_pop_free(certs, X509_free);
    return r;
}

/* Decrypt the CMS payload into *plain_out (malloc; the caller cleanses and frees). */
static int unseal(const uint8_t *der, size_t len, const sg_ks_backup_secret *sec,
                   uint8_t **plain_out, size_t *plain_len_out, char *why, size_t cap)
{
    char e[200];
    int r;
    X509 *cert = NULL;
    EVP_PKEY *pkey = NULL;
    CMS_ContentInfo *cms = NULL;
    BIO *in = BIO_new_mem_buf(der, (int)len), *out = BIO_new(BIO_s_mem());
    *plain_out = NULL;
    if (!in || !out) {
        r = sg_say(why, cap, SG_ENOMEM, "out of memory");
        goto out;
    }
    cms = d2i_CMS_bio(in, NULL);
    if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
        r = sg_say(why, cap, SG_KS_ECORRUPT, "the payload is not CMS EnvelopedData");
        goto out;
    }
    if (sec->key_path) {
        if (!sec->cert_path) {
            r = sg_say(why, cap, SG_EINVAL, "a private key needs its certificate (--cert)");
            goto out;
        }
        if ((r = load_cert(sec->cert_path, &cert, why, cap)) != 0)
            goto out;
        FILE *f = fopen(sec->key_path, "re");
        if (!f) {
            r = sg_say(why, cap, SG_EIO, "cannot open %s: %s", sec->key_path, strerror(errno));
            goto out;
        }
        pkey = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
        fclose(f);
        if (!pkey) {
            ERR_clear_error();
            r = sg_say(why, cap, SG_ESYNTAX, "%s: not an unencrypted PEM private key", sec->key_path);
            goto out;
        }
        if (!CMS_decrypt(cms, pkey, cert, NULL, out, CMS_BINARY)) {
            r = sg_say(why, cap, SG_KS_EDECRYPT, "the backup is not encrypted for %s, or the key does "
                    "not fit (%s)", sec->cert_path, ssl_text(e, sizeof e));
            goto out;
        }
    } else if (sec->passphrase) {
        if (!CMS_decrypt_set1_password(cms, (unsigned char *)sec->passphrase,
                                       (ossl_ssize_t)sec->passphrase_len) ||
            !CMS_decrypt(cms, NULL, NULL, NULL, out, CMS_BINARY)) {
            ERR_clear_error();
            r = sg_say(why, cap, SG_KS_EDECRYPT, "wrong passphrase, or the backup has no "
                    "passphrase recipient");
            goto out;
        }
    } else {
        r = sg_say(why, cap, SG_KS_EDECRYPT, "the backup is encrypted: give its passphrase or the "
                "recipient's key and certificate");
        goto out;
    }
    char *data;
    long n = BIO_get_mem_data(out, &data);
    *plain_out = malloc(n > 0 ? (size_t)n : 1);
    if (!*plain_out) {
        r = sg_say(why, cap, SG_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*plain_out, data, (size_t)n);
    *plain_len_out = (size_t)n;
    r = 0;
out:
    BIO_free(in);
    BIO_free(out); /* a memory BIO clears its buffer when freed */
    CMS_ContentInfo_free(cms);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return r;
}

/* ---- backup --------------------------------------------------------------------------- */

static int one_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* "ok" from PRAGMA integrity_check and no row from foreign_key_check. */
static int check_db(sqlite3 *db, char *why, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sg_say(why, cap, SG_KS_ECORRUPT, "not a readable SQLite database (%s)",
                   sqlite3_errmsg(db));
    rc = sqlite3_step(st);
    const char *t = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (!t || strcmp(t, "ok") != 0) {
        int r = sg_say(why, cap, SG_KS_ECORRUPT, "integrity_check says: %s",
                    t ? t : sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return r;
    }
    sqlite3_finalize(st);
    rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sg_say(why, cap, SG_KS_ECORRUPT, "%s", sqlite3_errmsg(db));
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sg_say(why, cap, SG_KS_ECORRUPT, "rows refer to missing zones or policies");
    return 0;
}

static void count_rows(sqlite3 *db, size_t *zones, size_t *keys)
{
    int64_t n = 0;
    *zones = one_int(db, "SELECT count(*) FROM zones", &n) == SQLITE_OK ? (size_t)n : 0;
    n = 0;
    *keys = one_int(db, "SELECT count(*) FROM keys", &n) == SQLITE_OK ? (size_t)n : 0;
}

/* The whole database in one read transaction (step -1), retried while busy. */
static int copy_online(sg_keystore *ks, sqlite3 *mem, char *why, size_t cap)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        sqlite3_backup *b = sqlite3_backup_init(mem, "main", ks->db, "main");
        if (!b)
            return sg_say(why, cap, SG_ELIB, "backup: %s", sqlite3_errmsg(mem));
        int rc = sqlite3_backup_step(b, -1);
        int fin = sqlite3_backup_finish(b);
        if (rc == SQLITE_DONE && fin == SQLITE_OK)
            return 0;
        int prim = rc & 0xff;
        if (prim != SQLITE_BUSY && prim != SQLITE_LOCKED)
            return sg_say(why, cap, SG_ELIB, "backup: %s", sqlite3_errstr(rc));
        sqlite3_sleep(100);
    }
    return sg_say(why, cap, SG_KS_EBUSY, "the keystore stayed busy for 5 s");
}

int sg_ks_backup(sg_keystore *ks, const char *out_path, const sg_ks_backup_secret *sec,
                 int64_t now, sg_ks_backup_info *info_out, char *why, size_t cap)
{
    static const sg_ks_backup_secret none;
    if (!ks || !out_path || !*out_path)
        return SG_EINVAL;
    if (!sec)
        sec = &none;
    sqlite3 *mem = NULL;
    unsigned char *image = NULL;
    sqlite3_int64 image_len = 0;
    uint8_t *der = NULL;
    size_t der_len = 0;
    char tmp[PATH_MAX];
    tmp[0] = 0;
    int r;
    if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        r = sg_say(why, cap, SG_ENOMEM, "cannot open an in-memory database");
        goto out;
    }
    if ((r = copy_online(ks, mem, why, cap)) != 0 || (r = check_db(mem, why, cap)) != 0)
        goto out;
    int64_t schema = 0;
    if (one_int(mem, "PRAGMA user_version", &schema) != SQLITE_OK) {
        r = sg_say(why, cap, SG_ELIB, "cannot read the schema version: %s", sqlite3_errmsg(mem));
        goto out;
    }
    sg_ks_backup_info info;
    memset(&info, 0, sizeof info);
    count_rows(mem, &info.zones, &info.keys);
    image = sqlite3_serialize(mem, "main", &image_len, 0);
    if (!image || image_len < 100) {
        r = sg_say(why, cap, SG_ENOMEM, "cannot serialise the copy");
        goto out;
    }
    /* The image says WAL (bytes 18, 19): a restored file opens in WAL mode, as keystores do. */
    uint16_t flags = 0;
    const uint8_t *payload = image;
    size_t payload_len = (size_t)image_len;
    if (sec->passphrase || sec->cert_path) {
        if ((r = seal(image, (size_t)image_len, sec, &der, &der_len, why, cap)) != 0)
            goto out;
        flags = SG_KS_BACKUP_ENCRYPTED | (sec->passphrase ? SG_KS_BACKUP_PASSPHRASE : 0) |
                (sec->cert_path ? SG_KS_BACKUP_RECIPIENT : 0);
        payload = der;
        payload_len = der_len;
    }
    uint8_t head[SG_KS_BACKUP_HEADER_LEN];
    memset(head, 0, sizeof head);
    memcpy(head, SG_KS_BACKUP_MAGIC, 8);
    put_be(head + 8, SG_KS_BACKUP_FORMAT, 2);
    put_be(head + 10, flags, 2);
    put_be(head + 12, (uint64_t)schema, 4);
    put_be(head + 16, (uint64_t)now, 8);
    put_be(head + 24, payload_len, 8);
    if (header_digest(head, payload, payload_len, head + 32)) {
        r = sg_say(why, cap, SG_ELIB, "SHA-256 failed");
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out_path, (long)getpid());
    unlink(tmp); /* a leftover of an earlier run of this pid */
    if ((r = write_new_file(tmp, head, sizeof head, payload, payload_len, why, cap)) != 0) {
        tmp[0] = 0;
        goto out;
    }
    if (rename(tmp, out_path) != 0) {
        r = sg_say(why, cap, SG_EIO, "cannot rename %s to %s: %s", tmp, out_path, strerror(errno));
        goto out;
    }
    tmp[0] = 0;
    sync_dir(out_path);
    if (info_out) {
        info.header.format = SG_KS_BACKUP_FORMAT;
        info.header.flags = flags;
        info.header.schema = (uint32_t)schema;
        info.header.created = now;
        info.header.payload_len = payload_len;
        memcpy(info.header.sha256, head + 32, 32);
        info.file_len = sizeof head + payload_len;
        *info_out = info;
    }
    r = 0;
out:
    if (tmp[0])
        unlink(tmp);
    if (image) {
        OPENSSL_cleanse(image, (size_t)image_len);
        sqlite3_free(image);
    }
    OPENSSL_clear_free(der, der_len);
    sqlite3_close(mem);
    return r;
}

/* ---- restore -------------------------------------------------------------------------- */

static int check_keys(const char *stage, sg_ks_backup_info *info, char *why, size_t cap)
{
    sg_keystore *ks = NULL;
    int r = sg_ks_open_existing(stage, "restore", &ks);
    if (r)
        return sg_say(why, cap, r == SG_KS_ESCHEMA ? r : SG_KS_ECORRUPT,
                   "the restored database does not open as a keystore: %s", sg_strerror(r));
    int v = 0;
    sg_ks_schema_version(ks, &v);
    info->schema_now = v;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    if ((r = sg_ks_key_list(ks, NULL, &keys, &n)) != 0) {
        r = sg_say(why, cap, SG_KS_ECORRUPT, "cannot list the keys: %s", sg_ks_errmsg(ks));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        /* a token key's row holds only its reference: nothing here to check against */
        if (sg_ks_key_in_token(&keys[i]) || sg_ks_key_public_only(&keys[i]))
            continue;
        EVP_PKEY *pkey = NULL;
        r = sg_ks_key_load_private(ks, keys[i].id, &pkey);
        if (r == 0)
            r = ks_key_check_pair(ks, pkey, &keys[i]);
        EVP_PKEY_free(pkey);
        if (r) {
            r = sg_say(why, cap, SG_KS_ECORRUPT, "key %lld (%s tag %u): %s", (long long)keys[i].id,
                    keys[i].zone, keys[i].tag,
                    *sg_ks_errmsg(ks) ? sg_ks_errmsg(ks) : "the private key does not load");
            goto out;
        }
    }
    r = 0;
out:
    free(keys);
    sg_ks_free(ks); /* the last handle: SQLite checkpoints and removes the -wal and -shm */
    return r;
}

int sg_ks_restore_check(const char *file, const sg_ks_backup_secret *sec,
                        const char *stage_path, sg_ks_backup_info *info_out, char *why,
                        size_t cap)
{
    static const sg_ks_backup_secret none;
    if (!file || !stage_path)
        return SG_EINVAL;
    if (!sec)
        sec = &none;
    sg_ks_backup_info info;
    memset(&info, 0, sizeof info);
    uint8_t *buf = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    int staged = 0;
    sqlite3 *db = NULL;
    int r = read_file(file, &buf, &len, why, cap);
    if (r)
        return r;
    info.file_len = len;
    if ((r = sg_ks_backup_verify(buf, len, &info.header, why, cap)) != 0)
        goto out;
    const sg_ks_backup_header *h = &info.header;
    if (h->schema > SG_KS_SCHEMA_VERSION) {
        r = sg_say(why, cap, SG_KS_ESCHEMA, "the backup's keystore schema %u is newer than this "
                "program's %d: restore it with a newer signetctl", h->schema, SG_KS_SCHEMA_VERSION);
        goto out;
    }
    const uint8_t *image = buf + SG_KS_BACKUP_HEADER_LEN;
    size_t image_len = (size_t)h->payload_len;
    if (h->flags & SG_KS_BACKUP_ENCRYPTED) {
        if ((r = unseal(image, image_len, sec, &plain, &plain_len, why, cap)) != 0)
            goto out;
        image = plain;
        image_len = plain_len;
    }
    if (image_len < 100 || memcmp(image, SQLITE_MAGIC, 16) != 0) {
        r = sg_say(why, cap, SG_KS_ECORRUPT, "the payload is not an SQLite database");
        goto out;
    }
    if ((r = write_new_file(stage_path, image, image_len, NULL, 0, why, cap)) != 0)
        goto out;
    staged = 1;
    if (sqlite3_open_v2(stage_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        r = sg_say(why, cap, SG_KS_ECORRUPT, "%s", sqlite3_errmsg(db));
        goto out;
    }
    if ((r = check_db(db, why, cap)) != 0)
        goto out;
    int64_t v = -1;
    if (one_int(db, "PRAGMA user_version", &v) != SQLITE_OK || v != (int64_t)h->schema) {
        r = sg_say(why, cap, SG_KS_ECORRUPT, "the database says schema %lld, the header %u",
                (long long)v, h->schema);
        goto out;
    }
    count_rows(db, &info.zones, &info.keys);
    sqlite3_close(db);
    db = NULL;
    if ((r = check_keys(stage_path, &info, why, cap)) != 0)
        goto out;
    /* check_keys wrote (migrations, WAL mode): sync what the rename will publish */
    int fd = open(stage_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        r = sg_say(why, cap, SG_EIO, "cannot sync %s: %s", stage_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    close(fd);
    if (info_out)
        *info_out = info;
    r = 0;
out:
    sqlite3_close(db);
    if (r && staged)
        unlink_db(stage_path);
    if (plain) {
        OPENSSL_cleanse(plain, plain_len);
        free(plain);
    }
    free(buf);
    return r;
}

int sg_ks_holder(const char *path, pid_t *pid_out)
{
    if (!path)
        return SG_EINVAL;
    char shm[PATH_MAX];
    snprintf(shm, sizeof shm, "%s-shm", path);
    int fd = open(shm, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : SG_EIO;
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = SHM_DMS_BYTE;
    fl.l_len = 1;
    int rc = fcntl(fd, F_GETLK, &fl);
    close(fd);
    if (rc != 0)
        return SG_EIO;
    if (fl.l_type == F_UNLCK)
        return 0;
    if (pid_out)
        *pid_out = fl.l_pid;
    return 1;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Move without replacing: link, then unlink (both paths in one directory). */
static int move_noreplace(const char *from, const char *to)
{
    if (link(from, to) != 0)
        return -1;
    return unlink(from);
}

int sg_ks_restore(const char *stage_path, const char *target, const char *keep_as, int force,
                  int wait_ms, char *why, size_t cap)
{
    if (!stage_path || !target || !keep_as)
        return SG_EINVAL;
    char wal[PATH_MAX], shm[PATH_MAX], keep_wal[PATH_MAX];
    snprintf(wal, sizeof wal, "%s-wal", target);
    snprintf(shm, sizeof shm, "%s-shm", target);
    snprintf(keep_wal, sizeof keep_wal, "%s-wal", keep_as);
    pid_t pid = 0;
    int held = sg_ks_holder(target, &pid);
    if (held < 0)
        return sg_say(why, cap, held, "cannot tell whether %s is in use", target);
    if (held && !force)
        return sg_say(why, cap, SG_KS_EINUSE, "process %ld has %s open", (long)pid, target);
    int had_target = exists(target);
    if (had_target) {
        if (exists(keep_as) || exists(keep_wal))
            return sg_say(why, cap, SG_EEXIST, "%s is already there", keep_as);
        if (move_noreplace(target, keep_as) != 0)
            return sg_say(why, cap, SG_EIO, "cannot move %s to %s: %s", target, keep_as,
                       strerror(errno));
    }
    /* A holder of the old file notices it moved (signetd checks every second) and closes
     * it, which checkpoints its log into the old file and removes target-wal and -shm. */
    struct timespec step = { 0, 50 * 1000 * 1000 };
    for (int waited = 0; held && waited < wait_ms; waited += 50) {
        nanosleep(&step, NULL);
        held = sg_ks_holder(target, &pid) == 1;
    }
    if (held) {
        if (had_target && move_noreplace(keep_as, target) != 0)
            return sg_say(why, cap, SG_EIO, "process %ld still has the keystore open and it could "
                       "not be put back: it is at %s", (long)pid, keep_as);
        return sg_say(why, cap, SG_KS_EINUSE, "process %ld still has %s open after %d ms; nothing "
                   "was replaced", (long)pid, target, wait_ms);
    }
    /* No one holds it: a -wal left now is the old file's (a crash), never the new one's. */
    if (exists(wal)) {
        if (had_target) {
            if (move_noreplace(wal, keep_wal) != 0)
                return sg_say(why, cap, SG_EIO, "cannot move %s beside %s: %s", wal, keep_as,
                           strerror(errno));
        } else if (unlink(wal) != 0) {
            return sg_say(why, cap, SG_EIO, "cannot remove the stale %s: %s", wal, strerror(errno));
        }
    }
    if (exists(shm) && unlink(shm) != 0)
        return sg_say(why, cap, SG_EIO, "cannot remove the stale %s: %s", shm, strerror(errno));
    if (rename(stage_path, target) != 0)
        return sg_say(why, cap, SG_EIO, "cannot rename %s to %s: %s", stage_path, target,
                   strerror(errno));
    sync_dir(target);
    if (had_target && exists(keep_wal)) {
        /* fold the old log into the kept file, so that it stands alone (best effort) */
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(keep_as, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK)
            sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    return 0;
}
