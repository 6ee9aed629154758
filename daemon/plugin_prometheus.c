/* SPDX-License-Identifier: MIT */
/* The `prometheus` plugin: counts every reply of its server block by zone, query type,
 * rcode and transport, times it, and serves /metrics on its address. Queries that reach
 * no chain (no zone, other class, malformed) are counted by sg_prometheus_unrouted() from
 * the server core under zone "dropped", as CoreDNS does. */
#include "daemon/plugins.h"
#include "daemon/clock.h"
#include "daemon/metrics_http.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ADDR "localhost:9153"

/* Query types with their own label; the rest are "other". */
static const uint16_t types[] = {
    SG_TYPE_A, SG_TYPE_NS, SG_TYPE_CNAME, SG_TYPE_SOA, SG_TYPE_PTR, SG_TYPE_MX, SG_TYPE_TXT,
    SG_TYPE_AAAA, SG_TYPE_SRV, SG_TYPE_DNAME, SG_TYPE_DS, SG_TYPE_RRSIG, SG_TYPE_NSEC,
    SG_TYPE_DNSKEY, SG_TYPE_NSEC3, SG_TYPE_NSEC3PARAM, SG_TYPE_CDS, SG_TYPE_CDNSKEY,
    64 /* SVCB */, 65 /* HTTPS */, 257 /* CAA */, SG_TYPE_IXFR, SG_TYPE_AXFR, SG_TYPE_ANY,
};
#define NTYPES ((int)(sizeof types / sizeof types[0]) + 1)
#define NRCODES 19 /* 0..15, BADVERS (16), other, and "no reply" (dropped) */
#define RC_OTHER 17
#define RC_NOREPLY 18
#define NPROTO 3
/* latency buckets, upper bounds in microseconds */
static const uint32_t bucket_us[] = { 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000,
                                      50000, 100000, 250000, 500000, 1000000, 2500000 };
#define NBUCKETS ((int)(sizeof bucket_us / sizeof bucket_us[0]) + 1)
#define QCOUNT (NTYPES * NRCODES * NPROTO)
#define PER_ZONE (QCOUNT + NBUCKETS + 1) /* counts, buckets, sum in ns */

typedef struct qstats {
    int nzones;
    uint8_t (*apex)[SG_NAME_MAX];
    char (*name)[1024];
    sg_counters *c;
} qstats;

typedef struct pstate {
    qstats qs;
    sg_metrics_http *http;
    int registered;
} pstate;

static inline int type_index(uint16_t t)
{
    for (int i = 0; i < NTYPES - 1; i++)
        if (types[i] == t)
            return i;
    return NTYPES - 1;
}

static inline int rcode_index(uint16_t rc)
{
    return rc <= 16 ? rc : RC_OTHER;
}

static void observe(qstats *s, int zi, const sg_query *q, int rc_index)
{
    size_t base = (size_t)zi * PER_ZONE;
    int proto = q->transport < NPROTO ? q->transport : 0;
    sg_counters_add(s->c, base + ((size_t)type_index(q->qtype) * NRCODES + (size_t)rc_index) * NPROTO + (size_t)proto, 1);
    uint64_t ns = sg_now_ns() - q->start_ns;
    if (!q->start_ns || ns > (1ull << 62))
        ns = 0;
    uint64_t us = ns / 1000;
    int b = 0;
    while (b < NBUCKETS - 1 && us > bucket_us[b])
        b++;
    sg_counters_add(s->c, base + QCOUNT + (size_t)b, 1);
    sg_counters_add(s->c, base + QCOUNT + NBUCKETS, ns);
}

static const char *proto_name(int p) { return p == 0 ? "udp" : p == 1 ? "tcp" : "tls"; }

static void rcode_label(int r, char *buf, size_t cap)
{
    if (r == RC_OTHER)
        snprintf(buf, cap, "other");
    else if (r == 16)
        snprintf(buf, cap, "BADVERS");
    else if (r <= 10)
        snprintf(buf, cap, "%s", sg_rcode_name((uint16_t)r));
    else
        snprintf(buf, cap, "RCODE%d", r);
}

static void type_label(int t, char *buf, size_t cap)
{
    if (t == NTYPES - 1)
        snprintf(buf, cap, "other");
    else
        sg_type_name(types[t], buf, cap);
}

static void declare(sg_metrics_out *o)
{
    sg_metrics_family(o, "signet_dns_requests_total", SG_METRIC_COUNTER,
                      "DNS requests by zone, transport and query type.");
    sg_metrics_family(o, "signet_dns_responses_total", SG_METRIC_COUNTER,
                      "DNS responses by zone, transport, query type and rcode.");
    sg_metrics_family(o, "signet_dns_request_duration_seconds", SG_METRIC_HISTOGRAM,
                      "Time from a request's arrival to its reply being ready, by zone.");
}

static void emit(sg_metrics_out *o, const qstats *s)
{
    declare(o);
    for (int z = 0; z < s->nzones; z++) {
        size_t base = (size_t)z * PER_ZONE;
        for (int p = 0; p < NPROTO; p++)
            for (int t = 0; t < NTYPES; t++) {
                uint64_t req = 0;
                char tl[32];
                type_label(t, tl, sizeof tl);
                for (int r = 0; r < NRCODES; r++) {
                    uint64_t v = sg_counters_sum(s->c, base + ((size_t)t * NRCODES + (size_t)r) * NPROTO + (size_t)p);
                    req += v;
                    if (!v || r == RC_NOREPLY)
                        continue;
                    char rl[32];
                    rcode_label(r, rl, sizeof rl);
                    const char *l[] = { "zone", s->name[z], "proto", proto_name(p), "type", tl, "rcode", rl, NULL };
                    sg_metrics_add_u64(o, "signet_dns_responses_total", NULL, l, v);
                }
                if (req) {
                    const char *l[] = { "zone", s->name[z], "proto", proto_name(p), "type", tl, NULL };
                    sg_metrics_add_u64(o, "signet_dns_requests_total", NULL, l, req);
                }
            }
        uint64_t cum = 0;
        for (int b = 0; b < NBUCKETS; b++) {
            cum += sg_counters_sum(s->c, base + QCOUNT + (size_t)b);
            char le[32];
            if (b == NBUCKETS - 1)
                snprintf(le, sizeof le, "+Inf");
            else
                snprintf(le, sizeof le, "%g", bucket_us[b] / 1e6);
            const char *l[] = { "zone", s->name[z], "le", le, NULL };
            sg_metrics_add_u64(o, "signet_dns_request_duration_seconds", "_bucket", l, cum);
        }
        const char *l[] = { "zone", s->name[z], NULL };
        sg_metrics_add_double(o, "signet_dns_request_duration_seconds", "_sum", l,
                              (double)sg_counters_sum(s->c, base + QCOUNT + NBUCKETS) / 1e9);
        sg_metrics_add_u64(o, "signet_dns_request_duration_seconds", "_count", l, cum);
    }
}

static int qstats_init(qstats *s, int nzones)
{
    memset(s, 0, sizeof *s);
    s->apex = calloc((size_t)nzones, sizeof *s->apex);
    s->name = calloc((size_t)nzones, sizeof *s->name);
    s->c = sg_counters_new((size_t)nzones * PER_ZONE);
    if (!s->apex || !s->name || !s->c)
        return SG_ENOMEM;
    s->nzones = nzones;
    return 0;
}

static void qstats_deinit(qstats *s)
{
    free(s->apex);
    free(s->name);
    sg_counters_free(s->c);
    memset(s, 0, sizeof *s);
}

/* ---- queries no chain saw ------------------------------------------------------------ */

static _Atomic(qstats *) g_unrouted; /* made with the first prometheus block, kept */

static int unrouted_source(sg_metrics_out *o, void *ctx)
{
    (void)ctx;
    qstats *s = atomic_load(&g_unrouted);
    if (s)
        emit(o, s);
    return 0;
}

static int unrouted_enable(void)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (!atomic_load(&g_unrouted)) {
        qstats *s = calloc(1, sizeof *s);
        if (!s || qstats_init(s, 1)) {
            if (s)
                qstats_deinit(s);
            free(s);
            rc = SG_ENOMEM;
        } else {
            snprintf(s->name[0], sizeof s->name[0], "dropped");
            atomic_store(&g_unrouted, s);
            rc = sg_metrics_register(unrouted_source, NULL);
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void sg_prometheus_unrouted(const sg_query *q)
{
    qstats *s = atomic_load_explicit(&g_unrouted, memory_order_acquire);
    if (s)
        observe(s, 0, q, q->drop ? RC_NOREPLY : rcode_index(q->rcode));
}

/* ---- the plugin ---------------------------------------------------------------------- */

int sg_prometheus_parse(const sg_cfg_block *blk, char *addr, size_t cap)
{
    if (blk->nchildren > 0)
        return sg_cfg_error(&blk->children[0], "prometheus: takes no block, only an optional ADDRESS");
    if (blk->nargs > 1)
        return sg_cfg_error(blk, "prometheus: expected at most one ADDRESS (default %s)", DEFAULT_ADDR);
    const char *a = blk->nargs ? blk->args[0] : DEFAULT_ADDR;
    if (strlen(a) >= cap || sg_metrics_http_check_addr(a))
        return sg_cfg_error(blk, "prometheus: '%s' is not HOST:PORT (an IPv4 address, [IPv6], "
                            "localhost, or :PORT for every address)", a);
    snprintf(addr, cap, "%s", a);
    return 0;
}

static int prom_source(sg_metrics_out *o, void *ctx)
{
    pstate *st = ctx;
    emit(o, &st->qs);
    return 0;
}

static void prom_teardown(void *state)
{
    pstate *st = state;
    if (!st)
        return;
    if (st->registered)
        sg_metrics_unregister(prom_source, st);
    sg_metrics_http_release(st->http);
    qstats_deinit(&st->qs);
    free(st);
}

static int prom_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    char addr[128];
    int rc = sg_prometheus_parse(blk, addr, sizeof addr);
    if (rc)
        return rc;
    pstate *st = calloc(1, sizeof *st);
    if (!st || qstats_init(&st->qs, ctx->nzones)) {
        prom_teardown(st);
        return SG_ENOMEM;
    }
    for (int i = 0; i < ctx->nzones; i++) {
        memcpy(st->qs.apex[i], ctx->zones[i], sg_name_len(ctx->zones[i]));
        sg_name_to_str(ctx->zones[i], st->qs.name[i], sizeof st->qs.name[i]);
    }
    if (!ctx->check_only) {
        if ((rc = sg_metrics_http_acquire(addr, &st->http))) {
            prom_teardown(st);
            return sg_cfg_error(blk, "prometheus: cannot serve metrics on %s", addr);
        }
        if ((rc = unrouted_enable()) || (rc = sg_metrics_register(prom_source, st))) {
            prom_teardown(st);
            return rc;
        }
        st->registered = 1;
    }
    *state_out = st;
    return 0;
}

/* The block's zone q belongs to: the longest apex above the name (a DS at an apex goes
 * to the parent when the block serves it, as routing does). */
static int zone_of(const qstats *s, const sg_query *q)
{
    int best = 0, best_labels = -100000;
    for (int i = 0; i < s->nzones; i++) {
        const uint8_t *apex = s->apex[i];
        if (!sg_name_is_sub(q->qname, apex))
            continue;
        int labels = sg_name_labels(apex);
        if (q->qtype == SG_TYPE_DS && labels == q->qlabels && labels > 0 && s->nzones > 1)
            labels -= 1000; /* rank the apex's own zone last for DS */
        if (labels > best_labels) {
            best = i;
            best_labels = labels;
        }
    }
    return best;
}

static int prom_handle(sg_handler *self, sg_query *q)
{
    pstate *st = self->state;
    int rc = sg_next(self, q);
    int rci;
    if (rc == SG_ENOHANDLER)
        rci = SG_RCODE_REFUSED;
    else if (rc < 0)
        rci = SG_RCODE_SERVFAIL;
    else if (q->drop)
        rci = RC_NOREPLY;
    else {
        if (!q->out_len)
            sg_wire_render(q); /* so that the time includes it, as a client sees it */
        rci = rcode_index(q->rcode);
    }
    observe(&st->qs, zone_of(&st->qs, q), q, rci);
    return rc;
}

const sg_plugin sg_plugin_prometheus = {
    .name = "prometheus",
    .setup = prom_setup,
    .handle = prom_handle,
    .teardown = prom_teardown,
};
