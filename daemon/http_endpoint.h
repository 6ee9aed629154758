/* SPDX-License-Identifier: MIT */
/* Small HTTP endpoints (/metrics, /health, /ready): one server thread per listening
 * address, shared by every plugin instance (and configuration generation) that names the
 * address, each path answered by the function its plugin gave. */
#ifndef SG_HTTP_ENDPOINT_H
#define SG_HTTP_ENDPOINT_H

#include <stddef.h>

struct sg_buf;

/* A path's answer on the listener at addr (as given to sg_http_acquire): fill body and
 * return the status line ("200 OK", "503 Service Unavailable"); *ctype may be set
 * (default "text/plain; charset=utf-8"). Runs on the address's thread, one request at a
 * time: it must not block for long. */
typedef const char *(*sg_http_fn)(const char *addr, struct sg_buf *body, const char **ctype);

/* One plugin instance's hold on a path of an address. */
typedef struct sg_http_ref sg_http_ref;

/* Parse "HOST:PORT" (HOST: an IPv4 address, [IPv6], localhost, or empty for every IPv4
 * address). Returns 0 or SG_EINVAL. */
int sg_http_check_addr(const char *addr);

/* Serve path (e.g. "/health") on addr with fn: on the address's running listener, or a
 * new one bound now. who names the plugin in log lines. A path already served on addr by
 * another function is SG_EEXIST; the same path and function are shared (a reload keeps
 * the listener). Returns 0 and *out, SG_EINVAL (bad address), SG_EIO (cannot bind,
 * logged) or SG_ENOMEM. Anything else on the address answers 404. */
int sg_http_acquire(const char *addr, const char *path, sg_http_fn fn, const char *who,
                    sg_http_ref **out);

/* Drop a hold (NULL does nothing); the last one on an address stops its thread and closes
 * the socket. */
void sg_http_release(sg_http_ref *ref);

#endif
