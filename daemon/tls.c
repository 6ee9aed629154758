/* SPDX-License-Identifier: MIT */
/* DNS over TLS with OpenSSL 3: TLS 1.2 or newer (1.3 preferred by OpenSSL's own order),
 * non-blocking, so that a worker serves TLS connections in the same epoll loop and with
 * the same framing, pipelining and idle rules as plain TCP. */
#include "daemon/tls.h"
#include "common/errors.h"
#include "common/log.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WRITE_CHUNK 16384  /* one record; a retried SSL_write never shrinks below it */

struct sg_tls_ctx {
    SSL_CTX *ssl;
    char cert[1024];
};

struct sg_tls_conn {
    SSL *ssl;
    int want_write;
};

/* The library's reason in one line (the queue is emptied). */
static void lib_error(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "unknown error");
    ERR_clear_error();
}

/* RFC 7858 names no ALPN token, but RFC 9103 (XoT) uses "dot": agree to it if offered. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg)
{
    for (unsigned i = 0; i < inlen; i += 1u + in[i])
        if (in[i] == 3 && i + 4 <= inlen && !memcmp(in + i + 1, "dot", 3)) {
            *out = in + i + 1;
            *outlen = 3;
            return SSL_TLSEXT_ERR_OK;
        }
    return SSL_TLSEXT_ERR_NOACK;
}

int sg_tls_ctx_from_cfg(const sg_cfg_block *d, sg_tls_ctx **ctx_out)
{
    if (d->nargs != 2 || d->has_block)
        return sg_cfg_error(d, "tls: expected a certificate (chain) file and a key file: tls CERT KEY");
    const char *cert = d->args[0], *key = d->args[1];
    struct stat st;
    if (stat(key, &st) != 0)
        return sg_cfg_error(d, "tls: key file %s: %s", key, strerror(errno));
    if (st.st_mode & 077)
        return sg_cfg_error(d, "tls: key file %s is readable by group or others (mode %04o); "
                            "chmod 600 it, owned by the service user", key, (unsigned)(st.st_mode & 07777));
    sg_tls_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return SG_ENOMEM;
    snprintf(c->cert, sizeof c->cert, "%s", cert);
    char why[256];
    c->ssl = SSL_CTX_new(TLS_server_method());
    if (!c->ssl) {
        lib_error(why, sizeof why);
        free(c);
        return sg_cfg_error(d, "tls: %s", why);
    }
    SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION);
    /* our write buffer may move (realloc) between a WANT_WRITE and the retry */
    SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                     SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_alpn_select_cb(c->ssl, alpn_select, NULL);
    if (SSL_CTX_use_certificate_chain_file(c->ssl, cert) != 1) {
        lib_error(why, sizeof why);
        sg_tls_ctx_free(c);
        return sg_cfg_error(d, "tls: certificate %s: %s", cert, why);
    }
    if (SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            sg_tls_ctx_free(c);
            return sg_cfg_error(d, "tls: key %s does not belong to certificate %s", key, cert);
        }
        lib_error(why, sizeof why);
        sg_tls_ctx_free(c);
        return sg_cfg_error(d, "tls: key %s: %s", key, why);
    }
    if (SSL_CTX_check_private_key(c->ssl) != 1) {
        ERR_clear_error();
        sg_tls_ctx_free(c);
        return sg_cfg_error(d, "tls: key %s does not belong to certificate %s", key, cert);
    }
    *ctx_out = c;
    return 0;
}

const char *sg_tls_ctx_cert(const sg_tls_ctx *ctx) { return ctx->cert; }

void sg_tls_ctx_free(sg_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl); /* live connections keep their own reference */
    free(ctx);
}

sg_tls_conn *sg_tls_conn_new(sg_tls_ctx *ctx, int fd)
{
    sg_tls_conn *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ssl = SSL_new(ctx->ssl);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    SSL_set_accept_state(t->ssl);
    return t;
}

static ssize_t result(sg_tls_conn *t, int r)
{
    int e = SSL_get_error(t->ssl, r);
    t->want_write = 0;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        t->want_write = 1;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (errno == 0)
            return 0; /* EOF without close_notify: the same to us */
        return -1;
    default:
        if (sg_log_enabled(SG_LOG_DEBUG)) {
            char why[256];
            lib_error(why, sizeof why);
            sg_log(SG_LOG_DEBUG, "tls", NULL, "connection failed: %s", why);
        }
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
}

ssize_t sg_tls_read(sg_tls_conn *t, void *buf, size_t n)
{
    size_t got = 0;
    errno = 0;
    int r = SSL_read_ex(t->ssl, buf, n, &got);
    if (r == 1) {
        t->want_write = 0;
        return (ssize_t)got;
    }
    return result(t, r);
}

ssize_t sg_tls_write(sg_tls_conn *t, const void *buf, size_t n)
{
    size_t done = 0;
    errno = 0;
    int r = SSL_write_ex(t->ssl, buf, n < WRITE_CHUNK ? n : WRITE_CHUNK, &done);
    if (r == 1) {
        t->want_write = 0;
        return (ssize_t)done;
    }
    return result(t, r);
}

int sg_tls_wants_write(const sg_tls_conn *t) { return t && t->want_write; }
int sg_tls_pending(const sg_tls_conn *t) { return t ? SSL_pending(t->ssl) : 0; }

void sg_tls_conn_free(sg_tls_conn *t)
{
    if (!t)
        return;
    if (SSL_is_init_finished(t->ssl))
        SSL_shutdown(t->ssl); /* best effort: the socket is non-blocking */
    ERR_clear_error();
    SSL_free(t->ssl);
    free(t);
}
