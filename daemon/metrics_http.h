/* SPDX-License-Identifier: MIT */
/* The /metrics HTTP endpoint: one small server thread per listening address, shared by
 * every server block (and configuration generation) that names the address. */
#ifndef SG_METRICS_HTTP_H
#define SG_METRICS_HTTP_H

typedef struct sg_metrics_http sg_metrics_http;

/* Parse "HOST:PORT" (HOST: an IPv4 address, [IPv6], localhost, or empty for every IPv4
 * address). Returns 0 or SG_EINVAL. */
int sg_metrics_http_check_addr(const char *addr);
/* A reference to the listener on addr: the running one, or a new one bound now whose
 * thread serves GET /metrics (sg_metrics_render) and 404 for anything else. Returns 0,
 * SG_EINVAL (bad address) or SG_EIO (cannot bind, logged). */
int sg_metrics_http_acquire(const char *addr, sg_metrics_http **out);
/* Drop a reference; the last one stops the thread and closes the socket. */
void sg_metrics_http_release(sg_metrics_http *h);

#endif
