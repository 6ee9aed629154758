/* SPDX-License-Identifier: MIT */
/* What the dnssec plugin tells a metrics scrape: signature cache and signing counts from
 * memory, then what its keyman last read of the zones' keys (keyman/keyman.h,
 * sg_keyman_metrics; a scrape never touches the keystore). */
#ifndef SG_DNSSEC_METRICS_H
#define SG_DNSSEC_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/metrics.h"
#include "keyman/keyman.h"
#include "signer/sigcache.h"

typedef struct sg_dnssec_metrics {
    char label[1024];            /* the block's first zone: label block="..." */
    _Atomic(sg_sigcache *) *cache;
    sg_counters *count;          /* SG_DM_*: kept across reloads as "dnssec BLOCK" */
    sg_keyman *km;               /* the block's keys, or NULL */
} sg_dnssec_metrics;

/* The block's counters. The signature cache's hits and misses are counted here rather
 * than in the sigcache, which a reload or a bigger cache replaces. */
enum { SG_DM_MADE, SG_DM_SIGCACHE_HITS, SG_DM_SIGCACHE_MISSES,
       /* denial chains built, by where (signet_denial_chain_builds_total{where}): before a
        * version is published (prepare), before a key set is (keys), by a query (query:
        * a version nobody prepared; should stay 0) */
       SG_DM_CHAIN_PREPARE, SG_DM_CHAIN_KEYS, SG_DM_CHAIN_QUERY,
       /* RRSIGs that could not be made, by reason (signet_signing_errors_total{reason}):
        * the key's PKCS#11 token failed (token), anything else (other) */
       SG_DM_SIGN_ERR_TOKEN, SG_DM_SIGN_ERR_OTHER,
       /* background presigning: RRSIGs it made (also in SG_DM_MADE), RRsets it went
        * through (signed or found cached), passes over a zone version it finished */
       SG_DM_PRESIGNED, SG_DM_PRESIGN_RRSETS, SG_DM_PRESIGN_PASSES, SG_DM_COUNTERS };

/* Prepare for the block labelled label (its first zone), holding the block's counters
 * (sg_counters_keep) until deinit, so that the instance a reload makes continues them.
 * 0 or SG_ENOMEM. */
int sg_dnssec_metrics_init(sg_dnssec_metrics *m, const char *label);
void sg_dnssec_metrics_deinit(sg_dnssec_metrics *m);
/* The metrics source (sg_metrics_register(sg_dnssec_metrics_source, m)). */
int sg_dnssec_metrics_source(sg_metrics_out *out, void *ctx);

#endif
