/* SPDX-License-Identifier: MIT */
/* The `health` plugin (CoreDNS's): GET /health answers 200 "OK" while the process runs;
 * `lameduck DURATION` keeps the process serving that long after SIGTERM, /health still OK,
 * so that a load balancer sees /ready fail and moves traffic away before the sockets go. */
#include "daemon/http_endpoint.h"
#include "daemon/plugins.h"
#include "common/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ADDR "localhost:8080"
#define LAMEDUCK_MAX_MS (10u * 60u * 1000u)

typedef struct hstate {
    sg_http_ref *http;
    unsigned lameduck_ms;
} hstate;

/* Answering at all is the health: the thread runs in the process it speaks for. */
static const char *health_page(const char *addr, sg_buf *body, const char **ctype)
{
    sg_buf_append(body, "OK", 2);
    return "200 OK";
}

/* "5s", "2m", "1500ms": what Go's durations say for these, as CoreDNS users write them. */
static int parse_ms(const char *s, unsigned *ms_out)
{
    size_t n = strlen(s);
    uint64_t v;
    if (n > 2 && !strcmp(s + n - 2, "ms")) {
        char num[32];
        if (n - 2 >= sizeof num)
            return SG_ESYNTAX;
        memcpy(num, s, n - 2);
        num[n - 2] = 0;
        if (sg_cfg_parse_uint(num, 0, LAMEDUCK_MAX_MS, &v))
            return SG_ESYNTAX;
    } else {
        if (sg_cfg_parse_duration(s, &v) || v > LAMEDUCK_MAX_MS / 1000)
            return SG_ESYNTAX;
        v *= 1000;
    }
    *ms_out = (unsigned)v;
    return 0;
}

int sg_health_parse(const sg_cfg_block *blk, char *addr, size_t cap, unsigned *lameduck_ms)
{
    *lameduck_ms = 0;
    if (blk->nargs > 1)
        return sg_cfg_error(blk, "health: expected at most one ADDRESS (default %s)", DEFAULT_ADDR);
    const char *a = blk->nargs ? blk->args[0] : DEFAULT_ADDR;
    if (strlen(a) >= cap || sg_http_check_addr(a))
        return sg_cfg_error(blk, "health: '%s' is not HOST:PORT (an IPv4 address, [IPv6], "
                            "localhost, or :PORT for every address)", a);
    snprintf(addr, cap, "%s", a);
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *c = &blk->children[i];
        if (strcmp(c->name, "lameduck"))
            return sg_cfg_error(c, "health: unknown option '%s' (expected lameduck DURATION)", c->name);
        if (c->nargs != 1 || c->nchildren || parse_ms(c->args[0], lameduck_ms))
            return sg_cfg_error(c, "health: lameduck takes one DURATION up to 10m (\"5s\", "
                                "\"1500ms\")");
    }
    return 0;
}

static void health_teardown(void *state)
{
    hstate *st = state;
    if (!st)
        return;
    sg_http_release(st->http);
    free(st);
}

static int health_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    char addr[128];
    unsigned ms;
    int rc = sg_health_parse(blk, addr, sizeof addr, &ms);
    if (rc)
        return rc;
    hstate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    st->lameduck_ms = ms;
    if (!ctx->check_only && (rc = sg_http_acquire(addr, "/health", health_page, "health", &st->http))) {
        health_teardown(st);
        return rc == SG_ENOMEM ? rc : sg_cfg_error(blk, "health: cannot serve /health on %s", addr);
    }
    *state_out = st;
    return 0;
}

static int health_handle(sg_handler *self, sg_query *q)
{
    return sg_next(self, q);
}

static unsigned health_stopping(void *state)
{
    const hstate *st = state;
    return st ? st->lameduck_ms : 0;
}

const sg_plugin sg_plugin_health = {
    .name = "health",
    .setup = health_setup,
    .handle = health_handle,
    .teardown = health_teardown,
    .stopping = health_stopping,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
