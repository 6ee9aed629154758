/* SPDX-License-Identifier: MIT */
/* The `dnstap` plugin: each query and its reply mirrored as AUTH_QUERY / AUTH_RESPONSE
 * dnstap frames to a Frame Streams reader, all or one query in N, without ever making the
 * query wait (a frame the reader cannot take in time is dropped and counted). */
#include "dnstap/dnstap_plugin.h"
#include "dnstap/dnstap_message.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/name.h"
#include "common/plugin.h"
#include "common/wire.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern const sg_plugin sg_plugin_dnstap;

typedef struct dstate {
    sg_dnstap_config cfg;
    sg_dnstap_header hdr;
    sg_dnstap_output *out;   /* from start to stop */
    sg_counters *counters;   /* sent, dropped: kept across reloads under "dnstap BLOCK" */
    /* sampling: a query count per worker row (as sg_counters: one cache line each, a
     * worker writes its own with plain stores, other threads share row 0 atomically) */
    _Atomic uint64_t *ticks;
    unsigned nticks;
    int registered;
    char label[1100];        /* block="..." as the other per-block series */
} dstate;

#define TICK_STRIDE 8 /* uint64 per cache line */

static int text_arg(const sg_cfg_block *c, char *dst)
{
    if (c->nargs != 1 || c->nchildren)
        return sg_cfg_error(c, "dnstap: %s takes one value (quote text with spaces)", c->name);
    if (strlen(c->args[0]) >= SG_DNSTAP_TEXT_MAX)
        return sg_cfg_error(c, "dnstap: %s is longer than %d bytes", c->name, SG_DNSTAP_TEXT_MAX - 1);
    memcpy(dst, c->args[0], strlen(c->args[0]) + 1);
    return 0;
}

int sg_dnstap_parse(const sg_cfg_block *blk, sg_dnstap_config *out)
{
    memset(out, 0, sizeof *out);
    out->sample = 1;
    out->queue = SG_DNSTAP_QUEUE_DEFAULT;
    if (gethostname(out->identity, sizeof out->identity - 1))
        out->identity[0] = 0;
    snprintf(out->version, sizeof out->version, "signet %s", SIGNET_VERSION);
    if (blk->nargs < 1)
        return sg_cfg_error(blk, "dnstap: expected a socket (unix:///PATH or tcp://ADDRESS:PORT)");
    const char *why = NULL;
    if (sg_dnstap_endpoint_parse(blk->args[0], &out->endpoint, &why))
        return sg_cfg_error(blk, "dnstap: '%s': %s", blk->args[0], why);
    int only_q = 0, only_r = 0;
    for (int i = 1; i < blk->nargs; i++) {
        const char *a = blk->args[i];
        int *flag = !strcmp(a, "full") ? &out->full : !strcmp(a, "queries") ? &only_q
                                                    : !strcmp(a, "responses") ? &only_r : NULL;
        if (!flag)
            return sg_cfg_error(blk, "dnstap: unknown option '%s' (expected full, queries or responses)", a);
        if (*flag)
            return sg_cfg_error(blk, "dnstap: '%s' given twice", a);
        *flag = 1;
    }
    if (only_q && only_r)
        return sg_cfg_error(blk, "dnstap: give queries or responses, not both (neither sends both)");
    out->queries = !only_r;
    out->responses = !only_q;
    unsigned seen = 0;
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *c = &blk->children[i];
        static const char *const keys[] = { "identity", "version", "extra", "sample", "queue" };
        int k = 0;
        while (k < 5 && strcmp(c->name, keys[k]))
            k++;
        if (k == 5)
            return sg_cfg_error(c, "dnstap: unknown setting '%s' (expected identity, version, extra, sample or queue)",
                                c->name);
        if (seen & (1u << k))
            return sg_cfg_error(c, "dnstap: %s given twice", c->name);
        seen |= 1u << k;
        int rc = 0;
        uint64_t v = 0;
        switch (k) {
        case 0:
            rc = text_arg(c, out->identity);
            break;
        case 1:
            rc = text_arg(c, out->version);
            break;
        case 2:
            rc = text_arg(c, out->extra);
            break;
        case 3:
            if (c->nargs != 1 || c->nchildren || sg_cfg_parse_uint(c->args[0], 1, 1000000, &v))
                return sg_cfg_error(c, "dnstap: sample takes N, one query in N mirrored (1-1000000)");
            out->sample = (unsigned)v;
            break;
        case 4:
            if (c->nargs != 1 || c->nchildren || sg_cfg_parse_uint(c->args[0], 2, 16384, &v))
                return sg_cfg_error(c, "dnstap: queue takes the frames each worker may have waiting (2-16384)");
            out->queue = 2;
            while (out->queue < v)
                out->queue *= 2; /* fstrm's queues are rings of a power of two */
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int dnstap_metrics(sg_metrics_out *out, void *ctx)
{
    dstate *st = ctx;
    const char *l[] = { "block", st->label, NULL };
    int rc = sg_metrics_family(out, "signet_dnstap_sent_total", SG_METRIC_COUNTER,
                               "dnstap frames written to the reader");
    if (!rc)
        rc = sg_metrics_add_u64(out, "signet_dnstap_sent_total", NULL, l,
                                sg_counters_sum(st->counters, SG_DNSTAP_SENT));
    if (!rc)
        rc = sg_metrics_family(out, "signet_dnstap_dropped_total", SG_METRIC_COUNTER,
                               "dnstap frames dropped: queue full, no reader, or a reader too slow");
    if (!rc)
        rc = sg_metrics_add_u64(out, "signet_dnstap_dropped_total", NULL, l,
                                sg_counters_sum(st->counters, SG_DNSTAP_DROPPED));
    return rc;
}

static void dnstap_teardown(void *state)
{
    dstate *st = state;
    if (!st)
        return;
    if (st->registered)
        sg_metrics_unregister(dnstap_metrics, st);
    sg_dnstap_output_free(st->out);
    sg_counters_drop(st->counters);
    free((void *)st->ticks);
    free(st);
}

static int dnstap_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    dstate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    int rc = sg_dnstap_parse(blk, &st->cfg);
    st->hdr.identity = st->cfg.identity;
    st->hdr.version = st->cfg.version;
    st->hdr.extra = st->cfg.extra;
    char key[1100] = "dnstap ";
    if (ctx->nzones)
        sg_name_to_str(ctx->zones[0], key + 7, sizeof key - 7);
    snprintf(st->label, sizeof st->label, "%s", key + 7);
    if (!rc && !(st->counters = sg_counters_keep(key, SG_DNSTAP_NCOUNTERS)))
        rc = SG_ENOMEM;
    if (!rc) {
        st->nticks = st->counters->nslots;
        st->ticks = aligned_alloc(64, (size_t)st->nticks * TICK_STRIDE * sizeof *st->ticks);
        if (!st->ticks)
            rc = SG_ENOMEM;
        for (unsigned i = 0; !rc && i < st->nticks * TICK_STRIDE; i++)
            atomic_init(&st->ticks[i], 0);
    }
    if (!rc && !ctx->check_only) {
        if (!(rc = sg_metrics_register(dnstap_metrics, st)))
            st->registered = 1;
    }
    if (rc) {
        dnstap_teardown(st);
        return rc;
    }
    *state_out = st;
    return 0;
}

static int dnstap_start(void *state)
{
    dstate *st = state;
    sg_dnstap_output_cfg oc = {
        .endpoint = st->cfg.endpoint,
        .queue = st->cfg.queue,
        .nqueues = st->counters->nslots, /* one per worker row (row 0: other threads) */
        .timeout_ms = 1000,
        .counters = st->counters,
    };
    return sg_dnstap_output_new(&oc, &st->out);
}

static void dnstap_stop(void *state)
{
    dstate *st = state;
    sg_dnstap_output_free(st->out);
    st->out = NULL;
}

/* This query is one of the `sample` in N mirrored. */
static int sampled(dstate *st)
{
    if (st->cfg.sample == 1)
        return 1;
    unsigned s = sg_metrics_tls_slot;
    uint64_t n;
    if (s && s < st->nticks) {
        _Atomic uint64_t *p = &st->ticks[(size_t)s * TICK_STRIDE];
        n = atomic_load_explicit(p, memory_order_relaxed);
        atomic_store_explicit(p, n + 1, memory_order_relaxed);
    } else {
        n = atomic_fetch_add_explicit(&st->ticks[0], 1, memory_order_relaxed);
    }
    return n % st->cfg.sample == 0;
}

static void emit(dstate *st, const sg_dnstap_event *ev)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (sg_dnstap_encode(&st->hdr, ev, &buf, &len)) {
        sg_counters_add(st->counters, SG_DNSTAP_DROPPED, 1); /* out of memory */
        return;
    }
    sg_dnstap_output_send(st->out, buf, len);
}

static int dnstap_handle(sg_handler *self, sg_query *q)
{
    dstate *st = self->state;
    int rc = sg_next(self, q);
    if (!st->out || !sampled(st))
        return rc;
    /* the reply the server core will make of the outcome, so that the one mirrored is the
     * one sent (as `log` does) */
    if (rc == SG_ENOHANDLER) {
        q->rcode = SG_RCODE_REFUSED;
        rc = 0;
    }
    if (rc < 0) {
        q->rcode = SG_RCODE_SERVFAIL;
        q->an.n = q->ns.n = q->ar.n = 0;
        q->out_len = 0;
        rc = 0;
    }
    if (!q->drop && !q->out_len)
        sg_wire_render(q);

    struct timespec wall, mono;
    clock_gettime(CLOCK_REALTIME, &wall);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    uint64_t mono_ns = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
    uint64_t took = q->start_ns && q->start_ns <= mono_ns ? mono_ns - q->start_ns : 0;
    uint64_t wall_ns = (uint64_t)wall.tv_sec * 1000000000ull + (uint64_t)wall.tv_nsec;
    uint64_t arrived = wall_ns > took ? wall_ns - took : 0;
    sg_dnstap_event ev = {
        .client = q->client,
        .transport = q->transport,
        .query_time = { .tv_sec = (time_t)(arrived / 1000000000ull), .tv_nsec = (long)(arrived % 1000000000ull) },
        .response_time = wall,
    };
    if (st->cfg.queries) {
        ev.response = 0;
        ev.message = st->cfg.full ? q->wire : NULL;
        ev.message_len = st->cfg.full ? q->wire_len : 0;
        emit(st, &ev);
    }
    if (st->cfg.responses && !q->drop) {
        ev.response = 1;
        ev.message = st->cfg.full ? q->out : NULL;
        ev.message_len = st->cfg.full ? q->out_len : 0;
        emit(st, &ev);
    }
    return rc;
}

const sg_plugin sg_plugin_dnstap = {
    .name = "dnstap",
    .setup = dnstap_setup,
    .start = dnstap_start,
    .handle = dnstap_handle,
    .stop = dnstap_stop,
    .teardown = dnstap_teardown,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
