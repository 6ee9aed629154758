/* SPDX-License-Identifier: MIT */
/* Private keys encrypted at rest: KEK parsing and files, wrapped rows, loading with the
 * right, wrong or no KEK, tampering, the start-up check and rekeying. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/errors.h"
#include "common/secure_heap.h"
#include "keystore/internal.h"
#include "keystore/kek.h"
#include "tests/support/temp_keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[128];
static sg_keystore *ks;
static uint8_t k1[32], k2[32];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 32; i++) {
        k1[i] = (uint8_t)i;
        k2[i] = (uint8_t)(0xa0 + i);
    }
    sg_ks_kek_set(NULL);
    if (sg_test_keystore_open("kek", dir, sizeof dir, &ks) ||
        sg_ks_zone_add(ks, "example.test", NULL, 1000))
        return -1;
    snprintf(path, sizeof path, "%s/ks.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sg_ks_kek_set(NULL);
    return sg_test_keystore_close(ks, dir);
}

/* The key's row as stored: storage and private_key bytes. */
static void row(int64_t id, char *storage, uint8_t *blob, size_t cap, size_t *len)
{
    sqlite3_stmt *st;
    assert_int_equal(ks_prepare(ks, "SELECT storage, private_key FROM keys WHERE id = ?1", &st), 0);
    sqlite3_bind_int64(st, 1, id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    ks_col_text(st, 0, storage, 32);
    *len = (size_t)sqlite3_column_bytes(st, 1);
    assert_true(*len <= cap);
    memcpy(blob, sqlite3_column_blob(st, 1), *len);
    ks_finish(ks, st);
}

static int loads(int64_t id)
{
    EVP_PKEY *pk = NULL;
    int r = sg_ks_key_load_private(ks, id, &pk);
    EVP_PKEY_free(pk);
    return r;
}

static void test_parse(void **state)
{
    (void)state;
    uint8_t k[32];
    assert_int_equal(sg_ks_kek_parse(" 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", k), 0);
    assert_memory_equal(k, k1, 32);
    assert_int_equal(sg_ks_kek_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", k), 0);
    assert_memory_equal(k, k1, 32);
    assert_int_equal(sg_ks_kek_parse("00010203", k), SG_KS_EKEK);
    assert_int_equal(sg_ks_kek_parse("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", k),
                     SG_KS_EKEK);
    char f[160], why[256];
    snprintf(f, sizeof f, "%s/kek", dir);
    FILE *fp = fopen(f, "w");
    fputs("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", fp);
    fclose(fp);
    chmod(f, 0640);
    assert_int_equal(sg_ks_kek_read_file(f, k, why, sizeof why), SG_KS_EKEK);
    assert_non_null(strstr(why, "chmod 600"));
    chmod(f, 0600);
    assert_int_equal(sg_ks_kek_read_file(f, k, why, sizeof why), 0);
    assert_memory_equal(k, k1, 32);
    /* the id names the KEK without giving it away, and differs between KEKs */
    char a[17], b[17];
    sg_ks_kek_id_of(k1, a);
    sg_ks_kek_id_of(k2, b);
    assert_int_equal(strlen(a), 16);
    assert_string_not_equal(a, b);
}

static void test_wrapped_rows(void **state)
{
    (void)state;
    assert_int_equal(sg_ks_kek_set(k1), 0);
    sg_ks_key k;
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_CSK, 0, 0, 2000, &k), 0);
    assert_string_equal(k.storage, "pem-aes256gcm");
    char storage[32];
    uint8_t blob[4096];
    size_t len;
    row(k.id, storage, blob, sizeof blob, &len);
    assert_string_equal(storage, "pem-aes256gcm");
    assert_memory_equal(blob, "SGK1", 4);
    assert_null(memmem(blob, len, "PRIVATE KEY", 11));
    /* it loads, and is the DNSKEY's private half */
    EVP_PKEY *pk = NULL;
    assert_int_equal(sg_ks_key_load_private(ks, k.id, &pk), 0);
    uint8_t pub[128];
    size_t plen;
    assert_int_equal(sg_ks_pkey_to_dnskey(pk, k.algorithm, pub, sizeof pub, &plen), 0);
    assert_memory_equal(pub, k.pubkey, plen);
    EVP_PKEY_free(pk);
    char *pem;
    size_t pl;
    assert_int_equal(sg_ks_key_export_private(ks, k.id, &pem, &pl), 0);
    assert_non_null(strstr(pem, "BEGIN PRIVATE KEY"));
    sg_secure_free(pem, pl);

    /* without the KEK, or with another: refused, saying which KEK the keys need */
    char id1[17], why[512];
    sg_ks_kek_id_of(k1, id1);
    assert_int_equal(sg_ks_kek_set(NULL), 0);
    assert_int_equal(loads(k.id), SG_KS_EKEK);
    assert_non_null(strstr(sg_ks_errmsg(ks), "no key-encryption key"));
    assert_int_equal(sg_ks_check(path, NULL, why, sizeof why), SG_KS_EKEK);
    assert_non_null(strstr(why, id1));
    assert_non_null(strstr(why, "SIGNET_KEK_FILE"));
    assert_int_equal(sg_ks_kek_set(k2), 0);
    assert_int_equal(loads(k.id), SG_KS_EKEK);
    assert_int_equal(sg_ks_check(path, NULL, why, sizeof why), SG_KS_EKEK);
    assert_non_null(strstr(why, "but the KEK given is"));
    assert_int_equal(sg_ks_kek_set(k1), 0);
    assert_int_equal(sg_ks_check(path, NULL, why, sizeof why), 0);

    /* a flipped ciphertext bit fails authentication */
    blob[len - 1] ^= 1;
    sqlite3_stmt *st;
    assert_int_equal(ks_prepare(ks, "UPDATE keys SET private_key = ?2 WHERE id = ?1", &st), 0);
    sqlite3_bind_int64(st, 1, k.id);
    sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    ks_finish(ks, st);
    assert_int_equal(loads(k.id), SG_KS_EKEK);
    assert_non_null(strstr(sg_ks_errmsg(ks), "authentication"));
}

static void test_rekey(void **state)
{
    (void)state;
    /* two plain keys, then a KEK */
    sg_ks_key a, b;
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_KSK, 0, 0, 2000, &a), 0);
    assert_int_equal(sg_ks_key_generate(ks, "example.test", SG_KS_ROLE_ZSK, 0, 0, 2000, &b), 0);
    assert_string_equal(a.storage, "pem");
    size_t n = 0;
    char why[512], storage[32];
    uint8_t blob[4096];
    size_t len;
    assert_int_equal(sg_ks_rekey(ks, NULL, 3000, &n, why, sizeof why), SG_KS_EKEK);
    assert_non_null(strstr(why, "no key-encryption key"));
    assert_int_equal(sg_ks_kek_set(k1), 0);
    assert_int_equal(sg_ks_rekey(ks, NULL, 3000, &n, why, sizeof why), 0);
    assert_int_equal(n, 2);
    row(a.id, storage, blob, sizeof blob, &len);
    assert_string_equal(storage, "pem-aes256gcm");
    assert_int_equal(loads(a.id), 0);
    assert_int_equal(loads(b.id), 0);
    /* again: nothing to do */
    assert_int_equal(sg_ks_rekey(ks, NULL, 3001, &n, why, sizeof why), 0);
    assert_int_equal(n, 0);

    /* to k2: without the old KEK refused and nothing changed; with it, moved */
    assert_int_equal(sg_ks_kek_set(k2), 0);
    assert_int_equal(sg_ks_rekey(ks, NULL, 3002, &n, why, sizeof why), SG_KS_EKEK);
    assert_non_null(strstr(why, "--old-kek-file"));
    uint8_t before[4096];
    size_t blen;
    row(a.id, storage, before, sizeof before, &blen);
    assert_int_equal(sg_ks_rekey(ks, k2, 3002, &n, why, sizeof why), SG_KS_EKEK); /* wrong old */
    row(a.id, storage, blob, sizeof blob, &len);
    assert_int_equal(len, blen);
    assert_memory_equal(blob, before, len);
    assert_int_equal(sg_ks_rekey(ks, k1, 3003, &n, why, sizeof why), 0);
    assert_int_equal(n, 2);
    assert_int_equal(loads(a.id), 0);
    assert_int_equal(sg_ks_kek_set(k1), 0);
    assert_int_equal(loads(b.id), SG_KS_EKEK);
    /* the journal says what happened, per key */
    sg_ks_event *ev = NULL;
    size_t nev = 0;
    assert_int_equal(sg_ks_event_list(ks, "example.test.", &ev, &nev), 0);
    int moved = 0;
    for (size_t i = 0; i < nev; i++)
        moved += strstr(ev[i].reason, "moved to key-encryption key") != NULL;
    assert_int_equal(moved, 2);
    free(ev);
}

int main(void)
{
    sg_secure_heap_init(1 << 16);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrapped_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
