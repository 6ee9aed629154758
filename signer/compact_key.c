/* SPDX-License-Identifier: MIT */
/* Compact software keys and the process's cache of built key objects (a list in use order
 * under one lock: taken only when a key signs, never on a signature-cache hit). */
#include "signer/compact_key.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/secure_heap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>

enum { KIND_EC, KIND_RAW };

struct sg_compact_key {
    atomic_int refs;
    int kind;
    /* the cache's object and the key's place in the use order: under g_lock */
    EVP_PKEY *obj;
    sg_compact_key *prev, *next;
    char type[16];      /* "EC", "ED25519", "ED448" */
    char group[16];     /* EC: the curve's name */
    size_t priv_len, pub_len;
    /* EC: the scalar in native byte order (OSSL_PARAM_BN); EdDSA: raw. Alone in the
     * secure heap (32 or 64 bytes there: 100,000 zones' keys take 3.2 MiB of its 8) */
    uint8_t *priv;
    uint8_t pub[97];    /* EC: the uncompressed point */
};

#define PRIV_MAX 57

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static sg_compact_key *g_head, *g_tail; /* most recently used first */
static size_t g_cached;
static size_t g_max = SG_KEY_OBJECTS_DEFAULT;
static atomic_ulong g_builds;

static void unlink_locked(sg_compact_key *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        g_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        g_tail = c->prev;
    c->prev = c->next = NULL;
}

static void push_front_locked(sg_compact_key *c)
{
    c->prev = NULL;
    c->next = g_head;
    if (g_head)
        g_head->prev = c;
    g_head = c;
    if (!g_tail)
        g_tail = c;
}

/* Drop least recently used objects beyond the bound; a signer holding one keeps its own
 * reference, so freeing the cache's is safe. */
static void trim_locked(void)
{
    while (g_max && g_cached > g_max && g_tail) {
        sg_compact_key *c = g_tail;
        unlink_locked(c);
        EVP_PKEY_free(c->obj);
        c->obj = NULL;
        g_cached--;
    }
}

static int ossl_fail(const char *what)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    ERR_clear_error();
    sg_log(SG_LOG_ERR, "signer", NULL, "%s: %s", what, buf);
    return SG_ELIB;
}

int sg_compact_key_from(EVP_PKEY *pk, sg_compact_key **out)
{
    if (!pk || !out)
        return SG_EINVAL;
    *out = NULL;
    int id = EVP_PKEY_get_base_id(pk);
    const char *type = id == EVP_PKEY_EC ? "EC" : id == EVP_PKEY_ED25519 ? "ED25519"
                     : id == EVP_PKEY_ED448 ? "ED448" : NULL;
    if (!type)
        return SG_EINVAL;
    sg_compact_key *c = calloc(1, sizeof *c);
    uint8_t priv[PRIV_MAX];
    if (!c)
        return SG_ENOMEM;
    atomic_init(&c->refs, 1);
    snprintf(c->type, sizeof c->type, "%s", type);
    int rc = 0;
    if (id == EVP_PKEY_EC) {
        c->kind = KIND_EC;
        BIGNUM *d = NULL;
        size_t glen = 0;
        int bytes = (EVP_PKEY_get_bits(pk) + 7) / 8;
        if (bytes <= 0 || (size_t)bytes > sizeof priv ||
            !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, c->group,
                                            sizeof c->group, &glen) ||
            !EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, c->pub,
                                             sizeof c->pub, &c->pub_len))
            rc = SG_EINVAL; /* public-only or a curve we do not sign with */
        else if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d))
            rc = SG_EINVAL;
        else if (BN_bn2nativepad(d, priv, bytes) != bytes)
            rc = ossl_fail("compact key: private scalar");
        else
            c->priv_len = (size_t)bytes;
        BN_clear_free(d);
    } else {
        c->kind = KIND_RAW;
        c->priv_len = sizeof priv;
        if (!EVP_PKEY_get_raw_private_key(pk, priv, &c->priv_len))
            rc = SG_EINVAL;
    }
    ERR_clear_error(); /* a public-only key leaves "no private key" on the queue */
    if (!rc && !(c->priv = sg_secure_alloc(c->priv_len)))
        rc = SG_ENOMEM;
    if (!rc)
        memcpy(c->priv, priv, c->priv_len);
    OPENSSL_cleanse(priv, sizeof priv);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

sg_compact_key *sg_compact_key_ref(sg_compact_key *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void sg_compact_key_free(sg_compact_key *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    pthread_mutex_lock(&g_lock);
    if (c->obj) {
        unlink_locked(c);
        EVP_PKEY_free(c->obj);
        g_cached--;
    }
    pthread_mutex_unlock(&g_lock);
    sg_secure_free(c->priv, c->priv_len);
    free(c);
}

static EVP_PKEY *build(const sg_compact_key *c)
{
    EVP_PKEY *pk = NULL;
    if (c->kind == KIND_RAW) {
        pk = EVP_PKEY_new_raw_private_key_ex(NULL, c->type, NULL, c->priv, c->priv_len);
        if (!pk)
            ossl_fail("compact key: EdDSA key object");
        return pk;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)c->group, 0),
        OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, (unsigned char *)c->priv, c->priv_len),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)c->pub, c->pub_len),
        OSSL_PARAM_construct_end(),
    };
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, p) != 1) {
        ossl_fail("compact key: ECDSA key object");
        pk = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pk;
}

EVP_PKEY *sg_compact_key_get(sg_compact_key *c)
{
    if (!c)
        return NULL;
    pthread_mutex_lock(&g_lock);
    if (c->obj) {
        if (g_head != c) {
            unlink_locked(c);
            push_front_locked(c);
        }
        EVP_PKEY *pk = c->obj;
        EVP_PKEY_up_ref(pk);
        pthread_mutex_unlock(&g_lock);
        return pk;
    }
    pthread_mutex_unlock(&g_lock);
    /* built outside the lock: 16 us that another key's signer need not wait for */
    EVP_PKEY *pk = build(c);
    if (!pk)
        return NULL;
    atomic_fetch_add(&g_builds, 1);
    pthread_mutex_lock(&g_lock);
    if (c->obj) { /* another thread built it meanwhile: use the cached one */
        EVP_PKEY_free(pk);
        pk = c->obj;
        EVP_PKEY_up_ref(pk);
    } else if (EVP_PKEY_up_ref(pk)) {
        c->obj = pk;
        push_front_locked(c);
        g_cached++;
        trim_locked();
    }
    pthread_mutex_unlock(&g_lock);
    return pk;
}

void sg_compact_key_set_cache(size_t n)
{
    pthread_mutex_lock(&g_lock);
    g_max = n;
    trim_locked();
    pthread_mutex_unlock(&g_lock);
}

size_t sg_compact_key_cached(void)
{
    pthread_mutex_lock(&g_lock);
    size_t n = g_cached;
    pthread_mutex_unlock(&g_lock);
    return n;
}

unsigned long sg_compact_key_builds(void)
{
    return atomic_load(&g_builds);
}
