/* SPDX-License-Identifier: MIT */
/* The `cache` plugin: whole rendered replies of the plugins after it (signed, since it
 * sits before dnssec), replayed with the client's ID, case and RD/CD bits. */
#include "daemon/plugins.h"
#include "daemon/answer_cache.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BYTES (64u << 20)

typedef struct cstate {
    sg_acache *c;
    sg_counters *counts; /* kept across reloads under "cache BLOCK" (common/metrics.h) */
    size_t bytes;
    char label[1024]; /* the block's first zone: label block="..." as the other per-block series */
    int registered;
} cstate;

int sg_cache_parse(const sg_cfg_block *blk, size_t *bytes_out)
{
    *bytes_out = DEFAULT_BYTES;
    if (blk->nchildren > 0)
        return sg_cfg_error(&blk->children[0], "cache: takes no block, only an optional SIZE");
    if (blk->nargs > 1)
        return sg_cfg_error(blk, "cache: expected at most one SIZE (e.g. 64M)");
    if (blk->nargs == 1) {
        uint64_t v;
        if (sg_cfg_parse_size(blk->args[0], &v))
            return sg_cfg_error(blk, "cache: '%s' is not a size (e.g. 512K, 64M, 2G)", blk->args[0]);
        if (v < (64u << 10) || v > (64ull << 30))
            return sg_cfg_error(blk, "cache: size must be from 64K to 64G");
        *bytes_out = (size_t)v;
    }
    return 0;
}

static int cache_metrics(sg_metrics_out *o, void *ctx)
{
    cstate *st = ctx;
    sg_acache_stats s;
    sg_acache_get_stats(st->c, &s);
    const char *l[] = { "block", st->label, NULL };
    sg_metrics_family(o, "signet_cache_hits_total", SG_METRIC_COUNTER, "Replies served from the answer cache.");
    sg_metrics_family(o, "signet_cache_misses_total", SG_METRIC_COUNTER, "Answer cache lookups that found nothing.");
    sg_metrics_family(o, "signet_cache_inserts_total", SG_METRIC_COUNTER, "Replies stored in the answer cache.");
    sg_metrics_family(o, "signet_cache_evictions_total", SG_METRIC_COUNTER,
                      "Unexpired replies pushed out of the answer cache to make room.");
    sg_metrics_family(o, "signet_cache_entries", SG_METRIC_GAUGE, "Replies held in the answer cache.");
    sg_metrics_family(o, "signet_cache_size_bytes", SG_METRIC_GAUGE, "Memory budget of the answer cache.");
    sg_metrics_add_u64(o, "signet_cache_hits_total", NULL, l, s.hits);
    sg_metrics_add_u64(o, "signet_cache_misses_total", NULL, l, s.misses);
    sg_metrics_add_u64(o, "signet_cache_inserts_total", NULL, l, s.inserts);
    sg_metrics_add_u64(o, "signet_cache_evictions_total", NULL, l, s.evictions);
    sg_metrics_add_u64(o, "signet_cache_entries", NULL, l, s.entries);
    sg_metrics_add_u64(o, "signet_cache_size_bytes", NULL, l, s.capacity);
    return 0;
}

static void cache_teardown(void *state)
{
    cstate *st = state;
    if (!st)
        return;
    if (st->registered)
        sg_metrics_unregister(cache_metrics, st);
    sg_acache_free(st->c);
    sg_counters_drop(st->counts);
    free(st);
}

static int cache_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    size_t bytes;
    int rc = sg_cache_parse(blk, &bytes);
    if (rc)
        return rc;
    cstate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    st->bytes = bytes;
    if (ctx->nzones)
        sg_name_to_str(ctx->zones[0], st->label, sizeof st->label);
    if (!ctx->check_only) {
        /* the counters outlive this instance: the one a reload makes continues them */
        char key[1100];
        snprintf(key, sizeof key, "cache %s", st->label);
        if (!(st->counts = sg_counters_keep(key, SG_ACACHE_COUNTERS))) {
            cache_teardown(st);
            return SG_ENOMEM;
        }
        /* pages are touched as the ring fills, so an idle cache costs little RSS */
        if (!(st->c = sg_acache_new(bytes, st->counts))) {
            cache_teardown(st);
            return sg_cfg_error(blk, "cache: cannot allocate %zu bytes", bytes);
        }
        if ((rc = sg_metrics_register(cache_metrics, st))) {
            cache_teardown(st);
            return rc;
        }
        st->registered = 1;
    }
    *state_out = st;
    return 0;
}

/* The versions of the plugins after us: a stored reply is only valid for the same. */
static uint64_t chain_version(const sg_handler *h, const sg_query *q)
{
    uint64_t v = 0;
    for (; h; h = h->next)
        if (h->plugin->version)
            v = v * 0x100000001b3ULL + h->plugin->version(h->state, q) + 1;
    return v;
}

static uint32_t min_ttl(const sg_query *q)
{
    uint32_t m = UINT32_MAX;
    const sg_section *secs[3] = { &q->an, &q->ns, &q->ar };
    for (int s = 0; s < 3; s++)
        for (uint16_t i = 0; i < secs[s]->n; i++)
            if (secs[s]->refs[i].ttl < m)
                m = secs[s]->refs[i].ttl;
    return m;
}

static int cache_handle(sg_handler *self, sg_query *q)
{
    cstate *st = self->state;
    /* only plain queries; transfers and other opcodes are never answered from here */
    if (q->opcode != 0 || q->qtype == SG_TYPE_AXFR || q->qtype == SG_TYPE_IXFR || !q->question_len)
        return sg_next(self, q);
    sg_acache_key k = {
        .qname = q->qname,
        .qname_len = q->qname_len,
        .qtype = q->qtype,
        .qclass = q->qclass,
        .max_size = q->max_size,
        .flags = (uint8_t)((q->do_bit ? SG_ACACHE_DO : 0) | (q->has_edns ? SG_ACACHE_EDNS : 0)),
        .version = chain_version(self->next, q),
    };
    sg_acache_meta meta;
    size_t n = sg_acache_get(st->c, &k, q->start_ns, q->out, q->out_cap, &meta);
    if (n >= SG_HEADER_LEN + (size_t)q->question_len) {
        /* the client's ID, RD/CD bits and the case of its question */
        q->out[0] = (uint8_t)(q->id >> 8);
        q->out[1] = (uint8_t)q->id;
        uint16_t fl = (uint16_t)(q->out[2] << 8 | q->out[3]);
        fl = (uint16_t)((fl & ~(SG_FLAG_RD | SG_FLAG_CD)) | (q->hflags & (SG_FLAG_RD | SG_FLAG_CD)));
        q->out[2] = (uint8_t)(fl >> 8);
        q->out[3] = (uint8_t)fl;
        memcpy(q->out + SG_HEADER_LEN, q->wire + SG_HEADER_LEN, q->qname_len);
        q->out_len = n;
        q->rcode = meta.rcode;
        q->aa = meta.aa;
        q->tc = meta.tc;
        return 0;
    }
    q->valid_until = 0;
    int rc = sg_next(self, q);
    if (rc || q->drop || q->out_len || q->limited > 1)
        return rc; /* failures, drops, rate-limited (unsigned) replies, and replies a
                    * later plugin wrote itself */
    if (q->rcode != SG_RCODE_NOERROR && q->rcode != SG_RCODE_NXDOMAIN)
        return 0; /* REFUSED, SERVFAIL, ... say nothing worth keeping */
    uint32_t ttl = min_ttl(q);
    if (ttl == UINT32_MAX || ttl == 0)
        return 0;
    sg_wire_render(q);
    uint64_t life = (uint64_t)ttl * 1000000000ull;
    if (q->valid_until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t left = ((int64_t)q->valid_until - (int64_t)ts.tv_sec) * 1000000000ll - ts.tv_nsec;
        if (left <= 0)
            return 0;
        if ((uint64_t)left < life)
            life = (uint64_t)left;
    }
    meta.rcode = q->rcode;
    meta.aa = q->aa;
    meta.tc = q->tc;
    sg_acache_put(st->c, &k, q->start_ns, q->start_ns + life, q->out, q->out_len, &meta);
    return 0;
}

const sg_plugin sg_plugin_cache = {
    .name = "cache",
    .setup = cache_setup,
    .handle = cache_handle,
    .teardown = cache_teardown,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
