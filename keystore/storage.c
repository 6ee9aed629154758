/* SPDX-License-Identifier: MIT */
/* Private key storage backends; "pem" keeps unencrypted PKCS#8 PEM in the database row. */
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

const ks_storage ks_storage_pem = { "pem", pem_encode, pem_decode };

const ks_storage *ks_storage_find(const char *name)
{
    if (name && strcmp(name, ks_storage_pem.name) == 0)
        return &ks_storage_pem;
    return NULL;
}
