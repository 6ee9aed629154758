/* SPDX-License-Identifier: MIT */
/* The /metrics HTTP endpoint (daemon/http_endpoint.h serving sg_metrics_render). */
#ifndef SG_METRICS_HTTP_H
#define SG_METRICS_HTTP_H

#include "daemon/http_endpoint.h"

typedef sg_http_ref sg_metrics_http;

/* Parse "HOST:PORT" (sg_http_check_addr). Returns 0 or SG_EINVAL. */
int sg_metrics_http_check_addr(const char *addr);
/* A hold on GET /metrics (sg_metrics_render) at addr: the running listener, or a new one
 * bound now. Returns 0, SG_EINVAL (bad address), SG_EEXIST or SG_EIO (cannot bind, logged). */
int sg_metrics_http_acquire(const char *addr, sg_metrics_http **out);
/* Drop a hold; the last one on the address stops its thread and closes the socket. */
void sg_metrics_http_release(sg_metrics_http *h);

#endif
