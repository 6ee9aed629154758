/* SPDX-License-Identifier: MIT */
/* The `ready` plugin (CoreDNS's): GET /ready answers 200 "OK" once every plugin of the
 * server blocks that name the address says it is ready (sg_plugin.ready: zones loaded,
 * keys that sign, the keystore there), else 503 with what is not; 503 "Shutting down"
 * from SIGTERM on (a lameduck's wait). The daemon knows no plugin: each says for itself. */
#include "daemon/http_endpoint.h"
#include "daemon/plugins.h"
#include "common/log.h"
#include "common/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ADDR "localhost:8181"

typedef struct rstate {
    char addr[128];
    sg_http_ref *http;
    int continuously;          /* monitor continuously: ask every plugin every time */
    const sg_handler *block;   /* the block's first handler: the chain from there */
    const sg_handler *self;
    uint8_t *seen;             /* until-ready: handler i said ready once (by chain place) */
    int nseen;
    int registered;
    struct rstate *next;       /* g_list, under g_lock */
} rstate;

/* The running instances: what each /ready request asks. An instance is in the list from
 * its start to its stop, while its chain's handlers are all set up. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static rstate *g_list;
static atomic_int g_stopping;

/* One handler: its own readiness, or for a plugin that serves zones and says nothing,
 * every zone loaded. */
static int handler_ready(const sg_handler *h, sg_buf *why)
{
    const sg_plugin *p = h->plugin;
    if (p->ready)
        return p->ready(h->state, why);
    if (!p->nzones || !p->zone)
        return 1;
    int n = p->nzones(h->state), missing = 0;
    for (int i = 0; i < n; i++)
        missing += p->zone(h->state, i) == NULL;
    if (missing)
        sg_buf_printf(why, "%s: %d of %d zones not loaded\n", p->name, missing, n);
    return !missing;
}

static const char *ready_page(const char *addr, sg_buf *body, const char **ctype)
{
    if (atomic_load(&g_stopping)) {
        sg_buf_printf(body, "Shutting down\n");
        return "503 Service Unavailable";
    }
    int ok = 1;
    pthread_mutex_lock(&g_lock);
    for (rstate *st = g_list; st; st = st->next) {
        if (strcmp(st->addr, addr))
            continue;
        int i = 0;
        for (const sg_handler *h = st->block; h; h = h->next, i++) {
            if (i < st->nseen && st->seen[i] && !st->continuously)
                continue;
            if (!handler_ready(h, body)) {
                ok = 0;
                continue;
            }
            if (i < st->nseen)
                st->seen[i] = 1;
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (ok) {
        body->len = 0; /* nothing said: the plugins that were not ready before are now */
        sg_buf_printf(body, "OK");
        return "200 OK";
    }
    return "503 Service Unavailable";
}

int sg_ready_parse(const sg_cfg_block *blk, char *addr, size_t cap, int *continuously)
{
    *continuously = 0;
    if (blk->nargs > 1)
        return sg_cfg_error(blk, "ready: expected at most one ADDRESS (default %s)", DEFAULT_ADDR);
    const char *a = blk->nargs ? blk->args[0] : DEFAULT_ADDR;
    if (strlen(a) >= cap || sg_http_check_addr(a))
        return sg_cfg_error(blk, "ready: '%s' is not HOST:PORT (an IPv4 address, [IPv6], "
                            "localhost, or :PORT for every address)", a);
    snprintf(addr, cap, "%s", a);
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *c = &blk->children[i];
        if (strcmp(c->name, "monitor"))
            return sg_cfg_error(c, "ready: unknown option '%s' (expected monitor "
                                "until-ready|continuously)", c->name);
        if (c->nargs != 1 || c->nchildren ||
            (strcmp(c->args[0], "until-ready") && strcmp(c->args[0], "continuously")))
            return sg_cfg_error(c, "ready: monitor takes until-ready or continuously");
        *continuously = !strcmp(c->args[0], "continuously");
    }
    return 0;
}

static void ready_teardown(void *state)
{
    rstate *st = state;
    if (!st)
        return;
    sg_http_release(st->http);
    free(st->seen);
    free(st);
}

static int ready_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    rstate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    int rc = sg_ready_parse(blk, st->addr, sizeof st->addr, &st->continuously);
    if (rc) {
        free(st);
        return rc;
    }
    /* the block's handlers are one array in chain order: those set up before us, then
     * us, then the rest, linked by the time the runtime starts */
    st->block = ctx->set_up;
    st->self = ctx->set_up ? &ctx->set_up[ctx->nset_up] : NULL;
    if (!ctx->check_only && (rc = sg_http_acquire(st->addr, "/ready", ready_page, "ready", &st->http))) {
        ready_teardown(st);
        return rc == SG_ENOMEM ? rc : sg_cfg_error(blk, "ready: cannot serve /ready on %s", st->addr);
    }
    *state_out = st;
    return 0;
}

static int ready_start(void *state)
{
    rstate *st = state;
    if (!st->block || st->self->state != st) {
        sg_log(SG_LOG_ERR, "ready", NULL, "ready: cannot find its server block's chain");
        return SG_EINVAL;
    }
    int n = 0;
    for (const sg_handler *h = st->block; h; h = h->next)
        n++;
    if (!(st->seen = calloc((size_t)n, 1)))
        return SG_ENOMEM;
    st->nseen = n;
    pthread_mutex_lock(&g_lock);
    st->next = g_list;
    g_list = st;
    st->registered = 1;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static void ready_stop(void *state)
{
    rstate *st = state;
    pthread_mutex_lock(&g_lock);
    for (rstate **p = &g_list; st->registered && *p; p = &(*p)->next)
        if (*p == st) {
            *p = st->next;
            break;
        }
    st->registered = 0;
    pthread_mutex_unlock(&g_lock);
}

static unsigned ready_stopping(void *state)
{
    atomic_store(&g_stopping, 1);
    return 0;
}

static int ready_handle(sg_handler *self, sg_query *q)
{
    return sg_next(self, q);
}

const sg_plugin sg_plugin_ready = {
    .name = "ready",
    .setup = ready_setup,
    .start = ready_start,
    .handle = ready_handle,
    .stop = ready_stop,
    .teardown = ready_teardown,
    .stopping = ready_stopping,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
