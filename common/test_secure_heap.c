/* SPDX-License-Identifier: MIT */
/* Unit tests for secret memory: the secure heap is set up, left out of core dumps, holds
 * our key buffers and OpenSSL's private keys, and is cleansed on free. */
#include "common/secure_heap.h"
#include "common/log.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The VmFlags line of the mapping that holds p, from /proc/self/smaps. */
static int vmflags_of(const void *p, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return -1;
    char line[512];
    int in = 0, found = -1;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && line[strspn(line, "0123456789abcdef")] == '-') {
            in = a >= lo && a < hi;
        } else if (in && !strncmp(line, "VmFlags:", 8)) {
            snprintf(out, cap, "%s", line + 8);
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

static void heap(void **unused)
{
    (void)unused;
    sg_log_set_level(SG_LOG_SILENT);
    int r = sg_secure_heap_init(1 << 16);
    assert_true(r == 0 || r == 1);
    assert_true(CRYPTO_secure_malloc_initialized());
    /* a second call keeps the first heap */
    assert_int_equal(sg_secure_heap_init(1 << 20), 0);

    size_t used0 = CRYPTO_secure_used();
    uint8_t *p = sg_secure_alloc(100);
    assert_non_null(p);
    assert_true(CRYPTO_secure_allocated(p));
    assert_true(CRYPTO_secure_used() > used0);
    char flags[512];
    assert_int_equal(vmflags_of(p, flags, sizeof flags), 0);
    assert_non_null(strstr(flags, " dd")); /* MADV_DONTDUMP: not in a core dump */
    if (r == 0)
        assert_non_null(strstr(flags, " lo")); /* locked: never swapped out */
    memset(p, 0xa5, 100);
    sg_secure_free(p, 100);
    assert_int_equal(CRYPTO_secure_used(), used0);

    /* a full heap: ordinary memory instead, still cleansed on free */
    uint8_t *big = sg_secure_alloc(1 << 17);
    assert_non_null(big);
    assert_false(CRYPTO_secure_allocated(big));
    sg_secure_free(big, 1 << 17);
    sg_secure_free(NULL, 5);
}

static void openssl_keys_in_the_heap(void **unused)
{
    (void)unused;
    assert_true(CRYPTO_secure_malloc_initialized());
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
    EVP_PKEY_free(k);
    size_t used0 = CRYPTO_secure_used();
    /* what the keystore does when it loads a key */
    EVP_PKEY *loaded = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    assert_non_null(loaded);
    assert_true(CRYPTO_secure_used() > used0);
    EVP_PKEY_free(loaded);
    assert_int_equal(CRYPTO_secure_used(), used0);
    BIO_free(b);
}

/* Our secrets fill at most three quarters of the heap: with 64 KiB and 4,000 buffers of 32
 * bytes (125 KiB) OpenSSL can still load a private key, which it must place there (a full
 * heap made its decoder fail at 32,766 zones' keys). */
static void room_left_for_openssl(void **unused)
{
    (void)unused;
    assert_true(CRYPTO_secure_malloc_initialized());
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    BIO *b = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
    EVP_PKEY_free(k);
    enum { N = 4000 };
    static uint8_t *v[N];
    size_t in_heap = 0;
    for (int i = 0; i < N; i++) {
        v[i] = sg_secure_alloc(32);
        assert_non_null(v[i]);
        in_heap += CRYPTO_secure_allocated(v[i]) != 0;
    }
    assert_true(in_heap > 0);
    assert_true(in_heap < N);
    assert_true(CRYPTO_secure_used() <= (1u << 16) / 4 * 3);
    EVP_PKEY *loaded = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    assert_non_null(loaded);
    EVP_PKEY_free(loaded);
    for (int i = 0; i < N; i++)
        sg_secure_free(v[i], 32);
    BIO_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heap),
        cmocka_unit_test(openssl_keys_in_the_heap),
        cmocka_unit_test(room_left_for_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
