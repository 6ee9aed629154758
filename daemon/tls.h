/* SPDX-License-Identifier: MIT */
/* DNS over TLS (RFC 7858): the server certificate of a listener and non-blocking TLS
 * connections that the workers' epoll loops drive like TCP ones. */
#ifndef SG_TLS_H
#define SG_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/cfg.h"

typedef struct sg_tls_ctx sg_tls_ctx;   /* one certificate and key; shared, refcounted */
typedef struct sg_tls_conn sg_tls_conn; /* one connection */

/* Parse `tls CERT KEY` and load them: the key file must not be readable by group or
 * others. Errors are logged with file:line. Returns 0 and a context, or SG_E*. */
int sg_tls_ctx_from_cfg(const sg_cfg_block *d, sg_tls_ctx **ctx_out);
/* The files a context was made from (to tell two `tls` lines apart). */
const char *sg_tls_ctx_cert(const sg_tls_ctx *ctx);
/* Drop a reference; connections hold their own. NULL does nothing. */
void sg_tls_ctx_free(sg_tls_ctx *ctx);

/* Server side of a TLS connection on the non-blocking socket fd; NULL on failure. */
sg_tls_conn *sg_tls_conn_new(sg_tls_ctx *ctx, int fd);
/* Like read(2)/write(2): bytes, 0 at the peer's close_notify or EOF, or -1 with errno
 * EAGAIN (see sg_tls_wants_write) or EIO. The handshake happens inside them. */
ssize_t sg_tls_read(sg_tls_conn *t, void *buf, size_t n);
ssize_t sg_tls_write(sg_tls_conn *t, const void *buf, size_t n);
/* Non-zero when the last read or write waits for the socket to be writable. */
int sg_tls_wants_write(const sg_tls_conn *t);
/* Decrypted bytes buffered inside TLS that read(2) on the socket would not announce. */
int sg_tls_pending(const sg_tls_conn *t);
/* Send close_notify if it can go at once, then free. NULL does nothing. */
void sg_tls_conn_free(sg_tls_conn *t);

#endif
