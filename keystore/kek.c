/* SPDX-License-Identifier: MIT */
/* The key-encryption key: read from the environment once, AES-256-GCM wrapping of PEM
 * private keys, the start-up check and rekeying. */
#include "keystore/kek.h"
#include "keystore/internal.h"

#include "common/errors.h"
#include "common/log.h"
#include "common/secure_heap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define MAGIC "SGK1"
#define HEAD (4 + SG_KS_KEK_ID_LEN)          /* the additional data */
#define NONCE 12
#define TAG 16
#define OVERHEAD (HEAD + NONCE + TAG)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int loaded;            /* the environment was read (or a KEK set) */
static uint8_t *kek;          /* secure heap, NULL: none */
static uint8_t kek_id[SG_KS_KEK_ID_LEN];
static char load_err[256];    /* why the environment's KEK was refused */

static void id_bytes(const uint8_t k[SG_KS_KEK_LEN], uint8_t id[SG_KS_KEK_ID_LEN])
{
    uint8_t in[10 + SG_KS_KEK_LEN], md[32];
    memcpy(in, "signet-kek", 10);
    memcpy(in + 10, k, SG_KS_KEK_LEN);
    EVP_Digest(in, sizeof in, md, NULL, EVP_sha256(), NULL);
    OPENSSL_cleanse(in, sizeof in);
    memcpy(id, md, SG_KS_KEK_ID_LEN);
}

static void id_hex(const uint8_t id[SG_KS_KEK_ID_LEN], char out[17])
{
    for (int i = 0; i < SG_KS_KEK_ID_LEN; i++)
        sprintf(out + 2 * i, "%02x", id[i]);
}

void sg_ks_kek_id_of(const uint8_t k[SG_KS_KEK_LEN], char id[17])
{
    uint8_t b[SG_KS_KEK_ID_LEN];
    id_bytes(k, b);
    id_hex(b, id);
}

int sg_ks_kek_parse(const char *text, uint8_t out[SG_KS_KEK_LEN])
{
    if (!text)
        return SG_KS_EKEK;
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    if (n == 2 * SG_KS_KEK_LEN) {
        for (size_t i = 0; i < SG_KS_KEK_LEN; i++) {
            int hi = text[2 * i], lo = text[2 * i + 1];
            if (!isxdigit(hi) || !isxdigit(lo))
                return SG_KS_EKEK;
            hi = isdigit(hi) ? hi - '0' : tolower(hi) - 'a' + 10;
            lo = isdigit(lo) ? lo - '0' : tolower(lo) - 'a' + 10;
            out[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
    }
    if (n == 44) { /* base64 of 32 bytes */
        char b64[45];
        memcpy(b64, text, 44);
        b64[44] = 0;
        uint8_t buf[48];
        size_t len = 0;
        int r = ks_b64_decode(b64, buf, sizeof buf, &len);
        OPENSSL_cleanse(b64, sizeof b64);
        if (r || len != SG_KS_KEK_LEN) {
            OPENSSL_cleanse(buf, sizeof buf);
            return SG_KS_EKEK;
        }
        memcpy(out, buf, SG_KS_KEK_LEN);
        OPENSSL_cleanse(buf, sizeof buf);
        return 0;
    }
    return SG_KS_EKEK;
}

int sg_ks_kek_read_file(const char *path, uint8_t out[SG_KS_KEK_LEN], char *why, size_t cap)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return sg_say(why, cap, SG_KS_EKEK, "cannot read the key-encryption key file %s: %s", path,
                   strerror(e));
    }
    if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
        close(fd);
        return sg_say(why, cap, SG_KS_EKEK, "the key-encryption key file %s must be a regular file "
                   "only its owner can read (chmod 600)", path);
    }
    char *buf = sg_secure_alloc(256);
    if (!buf) {
        close(fd);
        return SG_ENOMEM;
    }
    ssize_t n = read(fd, buf, 255);
    close(fd);
    int r = n > 0 ? sg_ks_kek_parse(buf, out) : SG_KS_EKEK;
    sg_secure_free(buf, 256);
    if (r)
        return sg_say(why, cap, SG_KS_EKEK, "the key-encryption key file %s holds no KEK (64 hex "
                   "digits or the base64 of 32 bytes)", path);
    return 0;
}

static int install(const uint8_t *k)
{
    if (kek)
        sg_secure_free(kek, SG_KS_KEK_LEN);
    kek = NULL;
    if (!k)
        return 0;
    if (!(kek = sg_secure_alloc(SG_KS_KEK_LEN)))
        return SG_ENOMEM;
    memcpy(kek, k, SG_KS_KEK_LEN);
    id_bytes(kek, kek_id);
    return 0;
}

/* Read the environment once (mu held). */
static void load_env(void)
{
    if (loaded)
        return;
    loaded = 1;
    load_err[0] = 0;
    uint8_t k[SG_KS_KEK_LEN];
    const char *file = getenv("SIGNET_KEK_FILE"), *text = getenv("SIGNET_KEK");
    int r = 0;
    if (file && *file)
        r = sg_ks_kek_read_file(file, k, load_err, sizeof load_err);
    else if (text && *text)
        r = sg_ks_kek_parse(text, k) ? sg_say(load_err, sizeof load_err, SG_KS_EKEK,
                                           "SIGNET_KEK holds no KEK (64 hex digits or the "
                                           "base64 of 32 bytes)") : 0;
    else
        return;
    if (!r)
        r = install(k);
    OPENSSL_cleanse(k, sizeof k);
    if (r && !load_err[0])
        snprintf(load_err, sizeof load_err, "%s", sg_strerror(r));
}

int sg_ks_kek_set(const uint8_t *k)
{
    pthread_mutex_lock(&mu);
    loaded = 1;
    load_err[0] = 0;
    int r = install(k);
    pthread_mutex_unlock(&mu);
    return r;
}

int sg_ks_kek_id(char id[17], char *why, size_t cap)
{
    pthread_mutex_lock(&mu);
    load_env();
    int r = load_err[0] ? sg_say(why, cap, SG_KS_EKEK, "%s", load_err) : kek != NULL;
    if (r == 1)
        id_hex(kek_id, id);
    else if (id)
        id[0] = 0;
    pthread_mutex_unlock(&mu);
    return r;
}

/* ---- wrapping ---- */

static int gcm(int enc, const uint8_t *k, const uint8_t *aad, const uint8_t *nonce,
               uint8_t *tag, const uint8_t *in, size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
                   EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE, NULL) == 1 &&
                   EVP_CipherInit_ex(c, NULL, NULL, k, nonce, enc) == 1 &&
                   EVP_CipherUpdate(c, NULL, &n, aad, HEAD) == 1 &&
                   EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1;
    int fin = 0;
    if (ok)
        ok = EVP_CipherFinal_ex(c, out + n, &fin) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

/* Wrap plain (len bytes) under k: a new secure-heap blob. */
static int wrap_with(const uint8_t *k, const uint8_t *plain, size_t len, uint8_t **blob_out,
                     size_t *len_out)
{
    uint8_t *b = sg_secure_alloc(OVERHEAD + len);
    if (!b)
        return SG_ENOMEM;
    memcpy(b, MAGIC, 4);
    id_bytes(k, b + 4);
    if (RAND_bytes(b + HEAD, NONCE) != 1 ||
        gcm(1, k, b, b + HEAD, b + HEAD + NONCE, plain, len, b + OVERHEAD) != 0) {
        sg_secure_free(b, OVERHEAD + len);
        return SG_ELIB;
    }
    *blob_out = b;
    *len_out = OVERHEAD + len;
    return 0;
}

/* Unwrap blob with k (NULL: the process KEK): a new secure-heap buffer (len + 1, NUL). */
static int unwrap_with(const uint8_t *k, const uint8_t *blob, size_t len, uint8_t **plain_out,
                       size_t *len_out, char *why, size_t cap)
{
    if (len < OVERHEAD || memcmp(blob, MAGIC, 4) != 0)
        return sg_say(why, cap, SG_KS_ECORRUPT, "an encrypted private key is malformed");
    uint8_t id[SG_KS_KEK_ID_LEN];
    id_bytes(k, id);
    char need[17];
    id_hex(blob + 4, need);
    if (memcmp(id, blob + 4, SG_KS_KEK_ID_LEN) != 0)
        return sg_say(why, cap, SG_KS_EKEK, "a private key is encrypted with key-encryption key %s, "
                   "not the one given", need);
    size_t n = len - OVERHEAD;
    uint8_t *p = sg_secure_alloc(n + 1);
    if (!p)
        return SG_ENOMEM;
    uint8_t tag[TAG];
    memcpy(tag, blob + HEAD + NONCE, TAG);
    if (gcm(0, k, blob, blob + HEAD, tag, blob + OVERHEAD, n, p) != 0) {
        sg_secure_free(p, n + 1);
        return sg_say(why, cap, SG_KS_EKEK, "a private key encrypted with key-encryption key %s "
                   "fails its authentication (damaged, or not that KEK)", need);
    }
    *plain_out = p;
    *len_out = n;
    return 0;
}

int ks_kek_state(char *why, size_t cap)
{
    char id[17];
    return sg_ks_kek_id(id, why, cap);
}

int ks_kek_wrap(sg_keystore *ks, const uint8_t *plain, size_t len, uint8_t **blob_out,
                size_t *len_out)
{
    pthread_mutex_lock(&mu);
    load_env();
    int r = kek ? wrap_with(kek, plain, len, blob_out, len_out) : SG_KS_EKEK;
    pthread_mutex_unlock(&mu);
    if (r)
        ks_set_err(ks, "cannot encrypt a private key: %s", sg_strerror(r));
    return r;
}

int ks_kek_unwrap(sg_keystore *ks, const uint8_t *blob, size_t len, uint8_t **plain_out,
                  size_t *len_out)
{
    char why[256];
    pthread_mutex_lock(&mu);
    load_env();
    int r;
    if (load_err[0])
        r = sg_say(why, sizeof why, SG_KS_EKEK, "%s", load_err);
    else if (!kek)
        r = sg_say(why, sizeof why, SG_KS_EKEK, "the private keys are encrypted and no "
                "key-encryption key is given (SIGNET_KEK_FILE or SIGNET_KEK)");
    else
        r = unwrap_with(kek, blob, len, plain_out, len_out, why, sizeof why);
    pthread_mutex_unlock(&mu);
    if (r)
        ks_set_err(ks, "%s", why);
    return r;
}

/* ---- checks ---- */

int sg_ks_kek_check_db(struct sqlite3 *db, const char *path, char *why, size_t cap)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT substr(private_key, 5, 8) FROM keys"
                               " WHERE storage = '" KS_STORAGE_WRAPPED "'", -1, &q, NULL) != SQLITE_OK)
        return sg_say(why, cap, SG_ELIB, "keystore %s: %s", path, sqlite3_errmsg(db));
    char have[17], need[17], err[256];
    int state = sg_ks_kek_id(have, err, sizeof err);
    int r = 0, rc;
    if (state < 0) /* named but unusable: keys made now could not be written either */
        r = sg_say(why, cap, SG_KS_EKEK, "keystore %s: %s", path, err);
    while (!r && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(q, 0) != SG_KS_KEK_ID_LEN) {
            r = sg_say(why, cap, SG_KS_ECORRUPT, "keystore %s: an encrypted private key is malformed",
                    path);
            break;
        }
        id_hex(sqlite3_column_blob(q, 0), need);
        if (state < 0)
            r = sg_say(why, cap, SG_KS_EKEK, "keystore %s: its private keys are encrypted with "
                    "key-encryption key %s, and %s", path, need, err);
        else if (state == 0)
            r = sg_say(why, cap, SG_KS_EKEK, "keystore %s: its private keys are encrypted with "
                    "key-encryption key %s; give it in SIGNET_KEK_FILE (or SIGNET_KEK)", path, need);
        else if (strcmp(have, need))
            r = sg_say(why, cap, SG_KS_EKEK, "keystore %s: private keys are encrypted with "
                    "key-encryption key %s, but the KEK given is %s (signetctl keystore rekey "
                    "--old-kek-file moves them to a new KEK)", path, need, have);
    }
    sqlite3_finalize(q);
    return r;
}

int sg_ks_kek_check(sg_keystore *ks, char *why, size_t cap)
{
    if (!ks)
        return SG_EINVAL;
    return sg_ks_kek_check_db(ks->db, ks->path, why, cap);
}

/* ---- rekey ---- */

int sg_ks_rekey(sg_keystore *ks, const uint8_t *old, int64_t now, size_t *n_out, char *why,
                size_t cap)
{
    if (!ks || !n_out)
        return SG_EINVAL;
    *n_out = 0;
    char id[17], err[256];
    int state = sg_ks_kek_id(id, err, sizeof err);
    if (state < 0)
        return sg_say(why, cap, SG_KS_EKEK, "%s", err);
    if (state == 0)
        return sg_say(why, cap, SG_KS_EKEK, "no key-encryption key to rekey to: set "
                   "SIGNET_KEK_FILE (or SIGNET_KEK)");
    int r = sg_ks_begin(ks);
    if (r)
        return sg_say(why, cap, r, "%s", sg_strerror(r));
    sqlite3_stmt *q = NULL, *u = NULL;
    if ((r = ks_prepare(ks, "SELECT k.id, k.storage, k.private_key, z.name, k.key_tag FROM keys k"
                            " JOIN zones z ON z.id = k.zone_id WHERE k.storage IN ('"
                            KS_STORAGE_PEM "', '" KS_STORAGE_WRAPPED "') ORDER BY k.id", &q)) ||
        (r = ks_prepare(ks, "UPDATE keys SET storage = ?2, private_key = ?3 WHERE id = ?1", &u))) {
        sg_say(why, cap, r, "%s", sg_strerror(r));
        goto fail;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t kid = sqlite3_column_int64(q, 0);
        const char *st = (const char *)sqlite3_column_text(q, 1);
        const uint8_t *blob = sqlite3_column_blob(q, 2);
        size_t blen = (size_t)sqlite3_column_bytes(q, 2);
        char zone[SG_KS_ZONE_MAX];
        ks_col_text(q, 3, zone, sizeof zone);
        unsigned tag = (unsigned)sqlite3_column_int(q, 4);
        uint8_t *plain = NULL, *wrapped = NULL;
        size_t plen = 0, wlen = 0;
        int wrapped_before = st && !strcmp(st, KS_STORAGE_WRAPPED);
        if (wrapped_before && blen >= HEAD && !memcmp(blob + 4, kek_id, SG_KS_KEK_ID_LEN)) {
            continue; /* already under this KEK */
        }
        if (wrapped_before) {
            if (!old) {
                char need[17] = "?";
                if (blen >= HEAD)
                    id_hex(blob + 4, need);
                r = sg_say(why, cap, SG_KS_EKEK, "key %lld (%s tag %u) is encrypted with "
                        "key-encryption key %s: give it with --old-kek-file", (long long)kid,
                        zone, tag, need);
                goto fail;
            }
            if ((r = unwrap_with(old, blob, blen, &plain, &plen, why, cap)))
                goto fail;
        } else {
            if (!(plain = sg_secure_alloc(blen + 1))) {
                r = SG_ENOMEM;
                goto fail;
            }
            memcpy(plain, blob, blen);
            plen = blen;
        }
        pthread_mutex_lock(&mu);
        r = kek ? wrap_with(kek, plain, plen, &wrapped, &wlen) : SG_KS_EKEK;
        pthread_mutex_unlock(&mu);
        sg_secure_free(plain, plen + 1);
        if (r) {
            sg_say(why, cap, r, "cannot encrypt key %lld: %s", (long long)kid, sg_strerror(r));
            goto fail;
        }
        sqlite3_reset(u);
        sqlite3_bind_int64(u, 1, kid);
        sqlite3_bind_text(u, 2, KS_STORAGE_WRAPPED, -1, SQLITE_STATIC);
        sqlite3_bind_blob(u, 3, wrapped, (int)wlen, SQLITE_STATIC);
        rc = sqlite3_step(u);
        sqlite3_clear_bindings(u);
        sg_secure_free(wrapped, wlen);
        if (rc != SQLITE_DONE) {
            r = ks_sql_fail(ks, rc, "rewrite a private key");
            sg_say(why, cap, r, "%s", ks->errmsg);
            goto fail;
        }
        char reason[128];
        snprintf(reason, sizeof reason, "private key %s key-encryption key %s",
                 wrapped_before ? "moved to" : "encrypted with", id);
        if ((r = sg_ks_event_add(ks, now, zone, kid, NULL, NULL, reason))) {
            sg_say(why, cap, r, "%s", sg_strerror(r));
            goto fail;
        }
        (*n_out)++;
    }
    if (rc != SQLITE_DONE) {
        r = ks_sql_fail(ks, rc, "read private keys");
        sg_say(why, cap, r, "%s", ks->errmsg);
        goto fail;
    }
    ks_finish(ks, q);
    ks_finish(ks, u);
    if ((r = sg_ks_commit(ks)))
        return sg_say(why, cap, r, "%s", sg_strerror(r));
    return 0;
fail:
    ks_finish(ks, q);
    ks_finish(ks, u);
    sg_ks_rollback(ks);
    *n_out = 0;
    return r;
}
