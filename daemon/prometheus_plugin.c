/* SPDX-License-Identifier: MIT */
/* The `prometheus` plugin: counts every reply of its server block by zone, query type,
 * rcode and transport, times it, measures request and reply sizes, and serves /metrics on
 * its address. Queries that reach no chain (no zone, other class, malformed) are counted
 * by sg_prometheus_unrouted() from the server core in families of their own
 * (signet_dns_unrouted_*), so that the label `zone` only ever holds a zone's name. */
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
/* request and reply size buckets, upper bounds in bytes: the boundaries CoreDNS uses, so
 * that dashboards written for its dns_request_size_bytes read ours the same way */
static const uint32_t size_le[] = { 0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291,
                                    16000, 32000, 48000, 64000 };
#define NSIZES ((int)(sizeof size_le / sizeof size_le[0]) + 1)
#define QCOUNT (NTYPES * NRCODES * NPROTO)
/* per transport: request sizes (buckets, sum), then reply sizes (buckets, sum) */
#define SIZES_AT (QCOUNT + NBUCKETS + 1)
#define SIZE_ROW (NSIZES + 1)
#define SIZE_INDEX(proto, reply) (SIZES_AT + ((size_t)(proto) * 2 + (size_t)(reply)) * SIZE_ROW)
#define PER_ZONE (SIZES_AT + NPROTO * 2 * SIZE_ROW) /* counts, buckets, sum in ns, sizes */

/* One zone's counters. They live in a process-wide list, so that a reload (a new runtime
 * with new plugin instances) keeps counting where the old one stopped, as Prometheus
 * expects of a counter. */
typedef struct zstats {
    char name[1024];
    uint8_t apex[SG_NAME_MAX];
    sg_counters *c;
    int refs;
    struct zstats *next;
} zstats;

typedef struct pstate {
    zstats **zones;
    int nzones;
    sg_metrics_http *http;
} pstate;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static zstats *g_zones;
static atomic_int g_registered;
static _Atomic(zstats *) g_unrouted; /* zone "dropped", made with the first prometheus block */

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

static void observe_size(zstats *s, size_t at, size_t bytes)
{
    int b = 0;
    while (b < NSIZES - 1 && bytes > size_le[b])
        b++;
    sg_counters_add(s->c, at + (size_t)b, 1);
    sg_counters_add(s->c, at + NSIZES, bytes);
}

static void observe(zstats *s, const sg_query *q, int rc_index)
{
    size_t base = 0;
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
    observe_size(s, SIZE_INDEX(proto, 0), q->wire_len);
    if (rc_index != RC_NOREPLY && q->out_len)
        observe_size(s, SIZE_INDEX(proto, 1), q->out_len);
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
    sg_metrics_family(o, "signet_dns_unrouted_requests_total", SG_METRIC_COUNTER,
                      "DNS requests no zone's chain saw (no zone served, other class, malformed), "
                      "by transport and query type.");
    sg_metrics_family(o, "signet_dns_unrouted_responses_total", SG_METRIC_COUNTER,
                      "Responses to requests no zone's chain saw, by transport, query type and rcode.");
    sg_metrics_family(o, "signet_dns_requests_total", SG_METRIC_COUNTER,
                      "DNS requests by zone, transport and query type.");
    sg_metrics_family(o, "signet_dns_responses_total", SG_METRIC_COUNTER,
                      "DNS responses by zone, transport, query type and rcode.");
    sg_metrics_family(o, "signet_dns_request_duration_seconds", SG_METRIC_HISTOGRAM,
                      "Time from a request's arrival to its reply being ready, by zone.");
    sg_metrics_family(o, "signet_dns_request_size_bytes", SG_METRIC_HISTOGRAM,
                      "Size of DNS requests in bytes, by zone and transport.");
    sg_metrics_family(o, "signet_dns_response_size_bytes", SG_METRIC_HISTOGRAM,
                      "Size of DNS responses in bytes (the first message of a transfer), by zone and transport.");
}

static void emit_sizes(sg_metrics_out *o, const zstats *s, int proto, int reply)
{
    const char *fam = reply ? "signet_dns_response_size_bytes" : "signet_dns_request_size_bytes";
    size_t at = SIZE_INDEX(proto, reply);
    uint64_t cum = 0;
    for (int b = 0; b < NSIZES; b++) {
        cum += sg_counters_sum(s->c, at + (size_t)b);
        char le[32];
        if (b == NSIZES - 1)
            snprintf(le, sizeof le, "+Inf");
        else
            snprintf(le, sizeof le, "%u", size_le[b]);
        const char *l[] = { "zone", s->name, "proto", proto_name(proto), "le", le, NULL };
        sg_metrics_add_u64(o, fam, "_bucket", l, cum);
    }
    const char *l[] = { "zone", s->name, "proto", proto_name(proto), NULL };
    sg_metrics_add_u64(o, fam, "_sum", l, sg_counters_sum(s->c, at + NSIZES));
    sg_metrics_add_u64(o, fam, "_count", l, cum);
}

/* A zone's samples; unrouted: the requests no chain saw, without a zone label, counts only. */
static void emit(sg_metrics_out *o, const zstats *s, int unrouted)
{
    const char *f_resp = unrouted ? "signet_dns_unrouted_responses_total" : "signet_dns_responses_total";
    const char *f_req = unrouted ? "signet_dns_unrouted_requests_total" : "signet_dns_requests_total";
    {
        size_t base = 0;
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
                    const char *l[] = { "zone", s->name, "proto", proto_name(p), "type", tl, "rcode", rl, NULL };
                    sg_metrics_add_u64(o, f_resp, NULL, unrouted ? l + 2 : l, v);
                }
                if (req) {
                    const char *l[] = { "zone", s->name, "proto", proto_name(p), "type", tl, NULL };
                    sg_metrics_add_u64(o, f_req, NULL, unrouted ? l + 2 : l, req);
                }
            }
        if (unrouted)
            return;
        uint64_t cum = 0;
        for (int b = 0; b < NBUCKETS; b++) {
            cum += sg_counters_sum(s->c, base + QCOUNT + (size_t)b);
            char le[32];
            if (b == NBUCKETS - 1)
                snprintf(le, sizeof le, "+Inf");
            else
                snprintf(le, sizeof le, "%g", bucket_us[b] / 1e6);
            const char *l[] = { "zone", s->name, "le", le, NULL };
            sg_metrics_add_u64(o, "signet_dns_request_duration_seconds", "_bucket", l, cum);
        }
        const char *l[] = { "zone", s->name, NULL };
        sg_metrics_add_double(o, "signet_dns_request_duration_seconds", "_sum", l,
                              (double)sg_counters_sum(s->c, base + QCOUNT + NBUCKETS) / 1e9);
        sg_metrics_add_u64(o, "signet_dns_request_duration_seconds", "_count", l, cum);
        for (int p = 0; p < NPROTO; p++)
            for (int reply = 0; reply < 2; reply++)
                if (sg_counters_sum(s->c, SIZE_INDEX(p, 0) + NSIZES)) /* a transport in use */
                    emit_sizes(o, s, p, reply);
    }
}

/* The one source for every zone's counters. */
static int zones_source(sg_metrics_out *o, void *ctx)
{
    (void)ctx;
    declare(o);
    pthread_mutex_lock(&g_lock);
    zstats *u = atomic_load(&g_unrouted);
    if (u)
        emit(o, u, 1);
    for (zstats *z = g_zones; z; z = z->next)
        if (z != u)
            emit(o, z, 0);
    pthread_mutex_unlock(&g_lock);
    return 0;
}

/* The counters of a zone (wire apex; NULL for the unrouted requests), shared and counted. */
static zstats *zstats_acquire(const uint8_t *apex, const char *name)
{
    pthread_mutex_lock(&g_lock);
    zstats *z;
    for (z = g_zones; z; z = z->next)
        if (!strcmp(z->name, name))
            break;
    if (!z && (z = calloc(1, sizeof *z))) {
        snprintf(z->name, sizeof z->name, "%s", name);
        if (apex)
            memcpy(z->apex, apex, sg_name_len(apex));
        if (!(z->c = sg_counters_new(PER_ZONE))) {
            free(z);
            z = NULL;
        } else {
            z->next = g_zones;
            g_zones = z;
        }
    }
    if (z)
        z->refs++;
    pthread_mutex_unlock(&g_lock);
    /* outside g_lock: a scrape holds the registry's lock and then takes g_lock */
    if (z && !atomic_exchange(&g_registered, 1))
        sg_metrics_register(zones_source, NULL);
    return z;
}

static void zstats_release(zstats *z)
{
    if (!z)
        return;
    pthread_mutex_lock(&g_lock);
    if (--z->refs == 0) {
        for (zstats **p = &g_zones; *p; p = &(*p)->next)
            if (*p == z) {
                *p = z->next;
                break;
            }
        sg_counters_free(z->c);
        free(z);
    }
    pthread_mutex_unlock(&g_lock);
}

/* ---- queries no chain saw ------------------------------------------------------------ */

static int unrouted_enable(void)
{
    if (atomic_load(&g_unrouted))
        return 0;
    /* kept for the process's life; a name no zone can have (zone names end in a dot) */
    zstats *z = zstats_acquire(NULL, "(unrouted)");
    if (!z)
        return SG_ENOMEM;
    zstats *none = NULL;
    if (!atomic_compare_exchange_strong(&g_unrouted, &none, z))
        zstats_release(z);
    return 0;
}

static zstats *zone_of(const struct pstate *st, const sg_query *q);

void sg_prometheus_unrouted(const sg_handler *routed, const sg_query *q)
{
    int rci = q->drop ? RC_NOREPLY : rcode_index(q->rcode);
    for (const sg_handler *h = routed; h; h = h->next)
        if (h->plugin == &sg_plugin_prometheus) {
            const struct pstate *st = h->state;
            if (st->nzones) {
                observe(zone_of(st, q), q, rci);
                return;
            }
        }
    zstats *s = atomic_load_explicit(&g_unrouted, memory_order_acquire);
    if (s)
        observe(s, q, rci);
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

static void prom_teardown(void *state)
{
    pstate *st = state;
    if (!st)
        return;
    sg_metrics_http_release(st->http);
    for (int i = 0; i < st->nzones; i++)
        zstats_release(st->zones[i]);
    free(st->zones);
    free(st);
}

static int prom_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    char addr[128];
    int rc = sg_prometheus_parse(blk, addr, sizeof addr);
    if (rc)
        return rc;
    pstate *st = calloc(1, sizeof *st);
    if (!st || !(st->zones = calloc((size_t)(ctx->nzones ? ctx->nzones : 1), sizeof *st->zones))) {
        free(st);
        return SG_ENOMEM;
    }
    if (ctx->check_only) {
        *state_out = st;
        return 0;
    }
    for (int i = 0; i < ctx->nzones; i++) {
        char name[1024];
        sg_name_to_str(ctx->zones[i], name, sizeof name);
        if (!(st->zones[i] = zstats_acquire(ctx->zones[i], name))) {
            prom_teardown(st);
            return SG_ENOMEM;
        }
        st->nzones++;
    }
    if ((rc = unrouted_enable())) {
        prom_teardown(st);
        return rc;
    }
    if ((rc = sg_metrics_http_acquire(addr, &st->http))) {
        prom_teardown(st);
        return sg_cfg_error(blk, "prometheus: cannot serve metrics on %s", addr);
    }
    *state_out = st;
    return 0;
}

/* The block's zone q belongs to: the longest apex above the name (a DS at an apex goes
 * to the parent when the block serves it, as routing does). */
static zstats *zone_of(const pstate *st, const sg_query *q)
{
    zstats *best = NULL;
    int best_labels = -100000;
    for (int i = 0; i < st->nzones; i++) {
        const uint8_t *apex = st->zones[i]->apex;
        if (!sg_name_is_sub(q->qname, apex))
            continue;
        int labels = sg_name_labels(apex);
        if (q->qtype == SG_TYPE_DS && labels == q->qlabels && labels > 0 && st->nzones > 1)
            labels -= 1000; /* rank the apex's own zone last for DS */
        if (labels > best_labels) {
            best = st->zones[i];
            best_labels = labels;
        }
    }
    return best ? best : st->zones[0];
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
    if (st->nzones)
        observe(zone_of(st, q), q, rci);
    return rc;
}

const sg_plugin sg_plugin_prometheus = {
    .name = "prometheus",
    .setup = prom_setup,
    .handle = prom_handle,
    .teardown = prom_teardown,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
