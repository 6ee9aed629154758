/* SPDX-License-Identifier: MIT */
/* Keystore backups: the header, every kind of damage refused before anything is replaced,
 * decryption, schema and key-pair checks, the atomic swap and a holder seen. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "keystore/backup.h"
#include "keystore/internal.h"
#include "tests/support/temp_keystore.h"

#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW 1700000000
#define PASS "correct horse battery staple"

static char dir[64];
static sg_keystore *ks;
static char plain[128], sealed[128], stage[128], target[128];

static void path(char *out, const char *name)
{
    snprintf(out, 128, "%s/%s", dir, name);
}

static uint8_t *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *p, const uint8_t *b, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

/* The header's SHA-256 made right again after a deliberate change. */
static void rehash(uint8_t *b, size_t len)
{
    unsigned n;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, b, 32);
    EVP_DigestUpdate(md, b + SG_KS_BACKUP_HEADER_LEN, len - SG_KS_BACKUP_HEADER_LEN);
    EVP_DigestFinal_ex(md, b + 32, &n);
    EVP_MD_CTX_free(md);
}

static int gone(const char *p)
{
    struct stat st;
    return stat(p, &st) != 0;
}

static int setup(void **state)
{
    (void)state;
    if (sg_test_keystore_open("backup", dir, sizeof dir, &ks) ||
        sg_ks_zone_add(ks, "example.test", NULL, NOW) ||
        sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_KSK, 0, 0, NOW, NULL) ||
        sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_ZSK, SG_KS_ALG_ED25519, 0, NOW, NULL))
        return -1;
    path(plain, "plain.bak");
    path(sealed, "sealed.bak");
    path(stage, "stage.db");
    path(target, "target.db");
    sg_ks_backup_secret sec = { PASS, strlen(PASS), NULL, NULL };
    char why[512];
    if (sg_ks_backup(ks, plain, NULL, NOW, NULL, why, sizeof why) ||
        sg_ks_backup(ks, sealed, &sec, NOW, NULL, why, sizeof why)) {
        fprintf(stderr, "backup: %s\n", why);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return sg_test_keystore_close(ks, dir);
}

static void test_header(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = slurp(plain, &len);
    struct stat st;
    assert_int_equal(stat(plain, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_memory_equal(b, "SIGNETKB\0\1\0\0", 12);
    sg_ks_backup_header h;
    char why[256];
    assert_int_equal(sg_ks_backup_verify(b, len, &h, why, sizeof why), 0);
    assert_int_equal(h.format, SG_KS_BACKUP_FORMAT);
    assert_int_equal(h.flags, 0);
    assert_int_equal(h.schema, SG_KS_SCHEMA_VERSION);
    assert_int_equal(h.created, NOW);
    assert_int_equal(h.payload_len, len - SG_KS_BACKUP_HEADER_LEN);
    assert_memory_equal(b + SG_KS_BACKUP_HEADER_LEN, "SQLite format 3", 16);
    free(b);
    b = slurp(sealed, &len);
    assert_int_equal(sg_ks_backup_verify(b, len, &h, why, sizeof why), 0);
    assert_int_equal(h.flags, SG_KS_BACKUP_ENCRYPTED | SG_KS_BACKUP_PASSPHRASE);
    /* no page of the database in the clear */
    assert_null(memmem(b, len, "SQLite format 3", 15));
    assert_null(memmem(b, len, "PRIVATE KEY", 11));
    free(b);
}

/* Truncated, lengthened or changed anywhere: refused by the header check and by the
 * restore check, which leaves no stage file behind. */
static void test_damage_refused(void **state)
{
    (void)state;
    size_t len;
    uint8_t *orig = slurp(plain, &len);
    enum { TRUNC, APPEND, FLIP };
    const struct {
        const char *what;
        int how;
        long at; /* byte offset (negative: from the end), or the length kept */
        int err;
    } cases[] = {
        { "empty", TRUNC, 0, SG_EMALFORMED },
        { "half a magic", TRUNC, 4, SG_EMALFORMED },
        { "half a header", TRUNC, 40, SG_KS_ECORRUPT },
        { "header only", TRUNC, SG_KS_BACKUP_HEADER_LEN, SG_KS_ECORRUPT },
        { "last byte gone", TRUNC, -1, SG_KS_ECORRUPT },
        { "half the payload", TRUNC, -20000, SG_KS_ECORRUPT },
        { "a byte more", APPEND, 0, SG_KS_ECORRUPT },
        { "magic", FLIP, 0, SG_EMALFORMED },
        { "format (a newer one)", FLIP, 8, SG_EMALFORMED },
        { "flags", FLIP, 11, SG_KS_ECORRUPT },
        { "schema", FLIP, 15, SG_KS_ECORRUPT },
        { "time", FLIP, 23, SG_KS_ECORRUPT },
        { "length", FLIP, 31, SG_KS_ECORRUPT },
        { "checksum", FLIP, 40, SG_KS_ECORRUPT },
        { "first payload byte", FLIP, SG_KS_BACKUP_HEADER_LEN, SG_KS_ECORRUPT },
        { "a page in the middle", FLIP, 20000, SG_KS_ECORRUPT },
        { "last byte", FLIP, -1, SG_KS_ECORRUPT },
    };
    char bad[128];
    path(bad, "bad.bak");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *b = malloc(len + 1);
        memcpy(b, orig, len);
        size_t n = len;
        long at = cases[i].at < 0 ? (long)len + cases[i].at : cases[i].at;
        if (cases[i].how == TRUNC)
            n = (size_t)at;
        else if (cases[i].how == APPEND)
            b[n++] = 0;
        else
            b[at] ^= 0x01;
        spit(bad, b, n);
        char why[512] = "";
        int r = sg_ks_backup_verify(b, n, NULL, why, sizeof why);
        if (r != cases[i].err)
            fail_msg("%s: verify gives %d (%s), want %d", cases[i].what, r, why, cases[i].err);
        r = sg_ks_restore_check(bad, NULL, stage, NULL, why, sizeof why);
        if (r != cases[i].err)
            fail_msg("%s: restore check gives %d (%s), want %d", cases[i].what, r, why,
                     cases[i].err);
        assert_true(gone(stage));
        free(b);
    }
    free(orig);
}

static void test_restore_plain(void **state)
{
    (void)state;
    sg_ks_backup_info info;
    char why[512] = "";
    int r = sg_ks_restore_check(plain, NULL, stage, &info, why, sizeof why);
    if (r)
        fail_msg("restore check: %s", why);
    assert_int_equal(info.zones, 1);
    assert_int_equal(info.keys, 2);
    assert_int_equal(info.schema_now, SG_KS_SCHEMA_VERSION);
    struct stat st;
    assert_int_equal(stat(stage, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char keep[128];
    path(keep, "target.db.before");
    assert_int_equal(sg_ks_restore(stage, target, keep, 0, 0, why, sizeof why), 0);
    assert_true(gone(stage));
    assert_true(gone(keep)); /* there was no keystore before */

    sg_keystore *k2;
    assert_int_equal(sg_ks_open_existing(target, "test", &k2), 0);
    sg_ks_key *a, *b;
    size_t na, nb;
    assert_int_equal(sg_ks_key_list(ks, NULL, &a, &na), 0);
    assert_int_equal(sg_ks_key_list(k2, NULL, &b, &nb), 0);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].tag, b[i].tag);
        assert_memory_equal(a[i].pubkey, b[i].pubkey, a[i].pubkey_len);
    }
    free(a);
    free(b);
    sg_ks_free(k2);

    /* again over it: the old one kept beside, no -wal or -shm of it left at target */
    char wal[140];
    snprintf(wal, sizeof wal, "%s-wal", target);
    spit(wal, (const uint8_t *)"not a log of the new file", 25);
    assert_int_equal(sg_ks_restore_check(plain, NULL, stage, NULL, why, sizeof why), 0);
    assert_int_equal(sg_ks_restore(stage, target, keep, 0, 0, why, sizeof why), 0);
    assert_false(gone(keep));
    assert_true(gone(wal));
    assert_int_equal(sg_ks_open_existing(target, "test", &k2), 0);
    sg_ks_free(k2);
    /* the kept name is never overwritten */
    assert_int_equal(sg_ks_restore_check(plain, NULL, stage, NULL, why, sizeof why), 0);
    assert_int_equal(sg_ks_restore(stage, target, keep, 0, 0, why, sizeof why), SG_EEXIST);
    unlink(stage);
}

static void test_passphrase(void **state)
{
    (void)state;
    char why[512] = "";
    sg_ks_backup_secret wrong = { "incorrect horse", 15, NULL, NULL };
    assert_int_equal(sg_ks_restore_check(sealed, &wrong, stage, NULL, why, sizeof why),
                     SG_KS_EDECRYPT);
    assert_true(gone(stage));
    assert_int_equal(sg_ks_restore_check(sealed, NULL, stage, NULL, why, sizeof why),
                     SG_KS_EDECRYPT);
    assert_true(gone(stage));
    sg_ks_backup_secret right = { PASS, strlen(PASS), NULL, NULL };
    sg_ks_backup_info info;
    int r = sg_ks_restore_check(sealed, &right, stage, &info, why, sizeof why);
    if (r)
        fail_msg("restore check: %s", why);
    assert_int_equal(info.keys, 2);
    unlink(stage);
}

/* A change the checksum cannot see (it was made again): the database checks catch it. */
static void test_inner_checks(void **state)
{
    (void)state;
    size_t len;
    uint8_t *orig = slurp(plain, &len);
    char bad[128], why[512];
    path(bad, "bad.bak");

    /* a schema newer than this program: refused before anything else */
    uint8_t *b = malloc(len);
    memcpy(b, orig, len);
    b[15] = SG_KS_SCHEMA_VERSION + 1;
    rehash(b, len);
    spit(bad, b, len);
    assert_int_equal(sg_ks_restore_check(bad, NULL, stage, NULL, why, sizeof why), SG_KS_ESCHEMA);
    assert_true(gone(stage));

    /* a header that disagrees with the database */
    memcpy(b, orig, len);
    b[15] = SG_KS_SCHEMA_VERSION - 1;
    rehash(b, len);
    spit(bad, b, len);
    assert_int_equal(sg_ks_restore_check(bad, NULL, stage, NULL, why, sizeof why), SG_KS_ECORRUPT);
    assert_true(gone(stage));

    /* a page of the database zeroed: integrity_check */
    memcpy(b, orig, len);
    uint32_t page = (uint32_t)b[SG_KS_BACKUP_HEADER_LEN + 16] << 8 | b[SG_KS_BACKUP_HEADER_LEN + 17];
    if (page == 1)
        page = 65536;
    assert_true(len > SG_KS_BACKUP_HEADER_LEN + 3 * page);
    memset(b + SG_KS_BACKUP_HEADER_LEN + page, 0, page);
    rehash(b, len);
    spit(bad, b, len);
    assert_int_equal(sg_ks_restore_check(bad, NULL, stage, NULL, why, sizeof why), SG_KS_ECORRUPT);
    assert_true(gone(stage));
    free(b);
    free(orig);
}

/* A backup of an older schema (here 0: a database no keystore migration has touched) is
 * migrated when the restore opens it, as the keystore does on every open. */
static void test_older_schema_migrated(void **state)
{
    (void)state;
    char raw[128], old[128], why[512] = "";
    path(raw, "raw.db");
    path(old, "old.bak");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(raw, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE notes(x); INSERT INTO notes VALUES (1)",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    size_t ilen, blen;
    uint8_t *image = slurp(raw, &ilen);
    uint8_t *b = slurp(plain, &blen);
    uint8_t *nb = malloc(SG_KS_BACKUP_HEADER_LEN + ilen);
    memcpy(nb, b, SG_KS_BACKUP_HEADER_LEN);
    memcpy(nb + SG_KS_BACKUP_HEADER_LEN, image, ilen);
    nb[12] = nb[13] = nb[14] = nb[15] = 0; /* schema 0 */
    for (int i = 0; i < 8; i++)
        nb[24 + i] = (uint8_t)((uint64_t)ilen >> (56 - 8 * i));
    rehash(nb, SG_KS_BACKUP_HEADER_LEN + ilen);
    spit(old, nb, SG_KS_BACKUP_HEADER_LEN + ilen);
    sg_ks_backup_info info;
    int r = sg_ks_restore_check(old, NULL, stage, &info, why, sizeof why);
    if (r)
        fail_msg("restore check: %s", why);
    assert_int_equal(info.header.schema, 0);
    assert_int_equal(info.schema_now, SG_KS_SCHEMA_VERSION);
    unlink(stage);
    free(nb);
    free(b);
    free(image);
}

/* A private key that is not the DNSKEY's other half is refused. */
static void test_key_mismatch(void **state)
{
    (void)state;
    char other[128], bad[128], why[512] = "";
    path(other, "other.db");
    path(bad, "mismatch.bak");
    sg_keystore *k2;
    assert_int_equal(sg_ks_new(other, "test", &k2), 0);
    assert_int_equal(sg_ks_zone_add(k2, "example.test", NULL, NOW), 0);
    assert_int_equal(sg_ks_key_generate(k2, "example.test", SG_KS_ROLE_CSK, 0, 0, NOW, NULL), 0);
    assert_int_equal(sg_ks_key_generate(k2, "example.test", SG_KS_ROLE_ZSK, 0, 0, NOW, NULL), 0);
    /* the first key's private key swapped for the second's */
    assert_int_equal(ks_exec(k2, "UPDATE keys SET private_key ="
                                 " (SELECT private_key FROM keys WHERE id = 2) WHERE id = 1"), 0);
    assert_int_equal(sg_ks_backup(k2, bad, NULL, NOW, NULL, why, sizeof why), 0);
    sg_ks_free(k2);
    assert_int_equal(sg_ks_restore_check(bad, NULL, stage, NULL, why, sizeof why), SG_KS_ECORRUPT);
    assert_non_null(strstr(why, "does not match"));
    assert_true(gone(stage));
}

/* Another process holding the target: seen, and refused without force; with force and
 * a holder that never lets go, the old file is put back. */
static void test_holder(void **state)
{
    (void)state;
    char why[512];
    int go[2], ready[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* the parent's end closed: a parent that fails and exits lets this one go too */
        close(go[1]);
        close(ready[0]);
        alarm(30);
        sg_keystore *k;
        sg_ks_key *keys;
        size_t n;
        char c = sg_ks_open_existing(target, "test", &k) == 0 &&
                 sg_ks_key_list(k, NULL, &keys, &n) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    pid_t pid = 0;
    assert_int_equal(sg_ks_holder(target, &pid), 1);
    assert_int_equal(pid, child);
    struct stat before, after;
    assert_int_equal(stat(target, &before), 0);
    assert_int_equal(sg_ks_restore_check(plain, NULL, stage, NULL, why, sizeof why), 0);
    char keep[128];
    path(keep, "target.db.held");
    assert_int_equal(sg_ks_restore(stage, target, keep, 0, 0, why, sizeof why), SG_KS_EINUSE);
    assert_int_equal(sg_ks_restore(stage, target, keep, 1, 200, why, sizeof why), SG_KS_EINUSE);
    assert_int_equal(stat(target, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_true(gone(keep));
    assert_int_equal(write(go[1], "x", 1), 1);
    int status;
    waitpid(child, &status, 0);
    assert_int_equal(sg_ks_holder(target, NULL), 0);
    assert_int_equal(sg_ks_restore(stage, target, keep, 0, 0, why, sizeof why), 0);
    close(go[1]);
    close(ready[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_damage_refused),
        cmocka_unit_test(test_restore_plain),
        cmocka_unit_test(test_passphrase),
        cmocka_unit_test(test_inner_checks),
        cmocka_unit_test(test_older_schema_migrated),
        cmocka_unit_test(test_key_mismatch),
        cmocka_unit_test(test_holder),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
