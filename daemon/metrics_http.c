/* SPDX-License-Identifier: MIT */
/* The /metrics endpoint: the registry's text on the shared HTTP listener. */
#include "daemon/metrics_http.h"
#include "common/errors.h"
#include "common/metrics.h"

static const char *metrics_page(const char *addr, sg_buf *body, const char **ctype)
{
    if (sg_metrics_render(body))
        return "500 Internal Server Error";
    *ctype = "text/plain; version=0.0.4; charset=utf-8";
    return "200 OK";
}

int sg_metrics_http_check_addr(const char *addr)
{
    return sg_http_check_addr(addr);
}

int sg_metrics_http_acquire(const char *addr, sg_metrics_http **out)
{
    return sg_http_acquire(addr, "/metrics", metrics_page, "prometheus", out);
}

void sg_metrics_http_release(sg_metrics_http *h)
{
    sg_http_release(h);
}
