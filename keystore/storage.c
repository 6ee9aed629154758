/* SPDX-License-Identifier: MIT */
/* Private key storage backends: "pem" keeps PKCS#8 PEM in the database row, "pem-aes256gcm"
 * that PEM wrapped with the process's key-encryption key (kek.c). */
#include "keystore/internal.h"

#include "common/errors.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

static int pem_encode(sg_keystore *ks, EVP_PKEY *pkey, uint8_t **blob_out, size_t *len_out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return SG_ENOMEM;
    int r = 0;
    char *data;
    if (!PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
        r = ks_ssl_fail(ks, "encode private key");
        goto out;
    }
    long n = BIO_get_mem_data(bio, &data);
    uint8_t *blob = n > 0 ? sg_secure_alloc((size_t)n) : NULL;
    if (!blob) {
        r = SG_ENOMEM;
        goto out;
    }
    memcpy(blob, data, (size_t)n);
    *blob_out = blob;
    *len_out = (size_t)n;
out:
    /* A memory BIO's buffer is freed with OPENSSL_clear_free, so the PEM does not linger. */
    BIO_free(bio);
    return r;
}

static int pem_decode(sg_keystore *ks, const uint8_t *blob, size_t len, EVP_PKEY **pkey_out)
{
    BIO *bio = BIO_new_mem_buf(blob, (int)len);
    if (!bio)
        return SG_ENOMEM;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!k)
        return ks_ssl_fail(ks, "decode private key");
    *pkey_out = k;
    return 0;
}

const ks_storage ks_storage_pem = { KS_STORAGE_PEM, pem_encode, pem_decode };

static int wrapped_encode(sg_keystore *ks, EVP_PKEY *pkey, uint8_t **blob_out, size_t *len_out)
{
    uint8_t *pem = NULL;
    size_t n = 0;
    int r = pem_encode(ks, pkey, &pem, &n);
    if (!r)
        r = ks_kek_wrap(ks, pem, n, blob_out, len_out);
    sg_secure_free(pem, n);
    return r;
}

static int wrapped_decode(sg_keystore *ks, const uint8_t *blob, size_t len, EVP_PKEY **pkey_out)
{
    uint8_t *pem = NULL;
    size_t n = 0;
    int r = ks_kek_unwrap(ks, blob, len, &pem, &n);
    if (!r)
        r = pem_decode(ks, pem, n, pkey_out);
    sg_secure_free(pem, n + 1);
    return r;
}

const ks_storage ks_storage_wrapped = { KS_STORAGE_WRAPPED, wrapped_encode, wrapped_decode };

const ks_storage *ks_storage_find(const char *name)
{
    if (name && strcmp(name, ks_storage_pem.name) == 0)
        return &ks_storage_pem;
    if (name && strcmp(name, ks_storage_wrapped.name) == 0)
        return &ks_storage_wrapped;
    return NULL;
}

const ks_storage *ks_storage_for_new(sg_keystore *ks)
{
    char why[256];
    int s = ks_kek_state(why, sizeof why);
    if (s < 0) {
        ks_set_err(ks, "%s", why);
        return NULL;
    }
    return s ? &ks_storage_wrapped : &ks_storage_pem;
}
