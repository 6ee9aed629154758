/* SPDX-License-Identifier: MIT */
/* The dnssec plugin's metrics: its counters and cache, then its keyman's reading. */
#include "dnssec/dnssec_metrics.h"
#include "common/errors.h"

#include <stdio.h>
#include <string.h>

int sg_dnssec_metrics_init(sg_dnssec_metrics *m, const char *label)
{
    memset(m, 0, sizeof *m);
    snprintf(m->label, sizeof m->label, "%s", label ? label : "");
    char key[1100];
    snprintf(key, sizeof key, "dnssec %s", m->label);
    if (!(m->count = sg_counters_keep(key, SG_DM_COUNTERS)))
        return SG_ENOMEM;
    return 0;
}

void sg_dnssec_metrics_deinit(sg_dnssec_metrics *m)
{
    sg_counters_drop(m->count);
    memset(m, 0, sizeof *m);
}

int sg_dnssec_metrics_source(sg_metrics_out *o, void *ctx)
{
    sg_dnssec_metrics *m = ctx;
    const char *bl[] = { "block", m->label, NULL };
    sg_sigcache *c = m->cache ? atomic_load(m->cache) : NULL;
    if (c) {
        uint64_t hits = sg_counters_sum(m->count, SG_DM_SIGCACHE_HITS);
        uint64_t misses = sg_counters_sum(m->count, SG_DM_SIGCACHE_MISSES);
        sg_metrics_family(o, "signet_sigcache_hits_total", SG_METRIC_COUNTER, "Signature cache hits.");
        sg_metrics_family(o, "signet_sigcache_misses_total", SG_METRIC_COUNTER, "Signature cache misses.");
        sg_metrics_family(o, "signet_sigcache_capacity", SG_METRIC_GAUGE, "Signature cache entries.");
        sg_metrics_add_u64(o, "signet_sigcache_hits_total", NULL, bl, hits);
        sg_metrics_add_u64(o, "signet_sigcache_misses_total", NULL, bl, misses);
        sg_metrics_add_u64(o, "signet_sigcache_capacity", NULL, bl, sg_sigcache_capacity(c));
    }
    sg_metrics_family(o, "signet_dnssec_signatures_total", SG_METRIC_COUNTER,
                      "RRSIGs made (signature cache misses and uncacheable records).");
    sg_metrics_add_u64(o, "signet_dnssec_signatures_total", NULL, bl, sg_counters_sum(m->count, SG_DM_MADE));
    sg_metrics_family(o, "signet_denial_chain_builds_total", SG_METRIC_COUNTER,
                      "NSEC/NSEC3 chains built: before a zone version was published (prepare), "
                      "before a key set was (keys), or by a query (query: should stay 0).");
    static const char *where[] = { "prepare", "keys", "query" };
    for (int i = 0; i < 3; i++) {
        const char *l[] = { "block", m->label, "where", where[i], NULL };
        sg_metrics_add_u64(o, "signet_denial_chain_builds_total", NULL, l,
                           sg_counters_sum(m->count, SG_DM_CHAIN_PREPARE + i));
    }
    sg_metrics_family(o, "signet_signing_errors_total", SG_METRIC_COUNTER,
                      "RRSIGs that could not be made on a signature cache miss: the key's "
                      "PKCS#11 token failed (token) or another failure (other).");
    static const char *why[] = { "token", "other" };
    for (int i = 0; i < 2; i++) {
        const char *l[] = { "block", m->label, "reason", why[i], NULL };
        sg_metrics_add_u64(o, "signet_signing_errors_total", NULL, l,
                           sg_counters_sum(m->count, SG_DM_SIGN_ERR_TOKEN + i));
    }
    sg_metrics_family(o, "signet_dnssec_presign_signatures_total", SG_METRIC_COUNTER,
                      "RRSIGs made by background presigning after a zone version was loaded "
                      "(also counted in signet_dnssec_signatures_total).");
    sg_metrics_add_u64(o, "signet_dnssec_presign_signatures_total", NULL, bl,
                       sg_counters_sum(m->count, SG_DM_PRESIGNED));
    sg_metrics_family(o, "signet_dnssec_presign_rrsets_total", SG_METRIC_COUNTER,
                      "RRsets background presigning went through, signed or found cached.");
    sg_metrics_add_u64(o, "signet_dnssec_presign_rrsets_total", NULL, bl,
                       sg_counters_sum(m->count, SG_DM_PRESIGN_RRSETS));
    sg_metrics_family(o, "signet_dnssec_presign_passes_total", SG_METRIC_COUNTER,
                      "Zone versions background presigning finished.");
    sg_metrics_add_u64(o, "signet_dnssec_presign_passes_total", NULL, bl,
                       sg_counters_sum(m->count, SG_DM_PRESIGN_PASSES));
    /* one source per block, the keys' families after ours: the order a scrape has always had */
    return m->km ? sg_keyman_metrics(m->km, o) : 0;
}
