/* SPDX-License-Identifier: MIT */
/* What the dnssec plugin tells a metrics scrape: signature cache and signing counts from
 * memory, and per zone the keys by role and state, the parent DS state, the next key
 * event and the registrar's calls, as the keystore watcher last read them (a scrape never
 * touches the keystore). */
#ifndef SG_DNSSEC_METRICS_H
#define SG_DNSSEC_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/metrics.h"
#include "keystore/rollover.h"
#include "registrar/registrar.h"
#include "signer/sigcache.h"

#define SG_DM_ROLES 3
#define SG_DM_STATES 6

enum { SG_DM_DS_SUBMITTED, SG_DM_DS_SEEN, SG_DM_DS_WITHDRAWN, SG_DM_DS_N };

typedef struct sg_dm_zone {
    char name[1024];
    uint32_t keys[SG_DM_ROLES][SG_DM_STATES];
    uint32_t ds[SG_DM_DS_N];     /* KSK/CSK keys by where their DS is */
    int64_t next_event;          /* UNIX time of the engine's next event; 0: none */
    int read;                    /* the watcher has read this zone at least once */
    const sg_registrar *reg;     /* counts read at scrape (atomics), or NULL */
    const char *provider;
} sg_dm_zone;

typedef struct sg_dnssec_metrics {
    pthread_mutex_t lock;        /* the watcher's writes against a scrape's reads */
    sg_dm_zone *zones;
    int nzones;
    char label[1024];            /* the block's first zone: label block="..." */
    _Atomic(sg_sigcache *) *cache;
    sg_counters *count;          /* SG_DM_*: kept across reloads as "dnssec BLOCK" */
} sg_dnssec_metrics;

/* The block's counters. The signature cache's hits and misses are counted here rather
 * than in the sigcache, which a reload or a bigger cache replaces. */
enum { SG_DM_MADE, SG_DM_SIGCACHE_HITS, SG_DM_SIGCACHE_MISSES, SG_DM_COUNTERS };

/* Prepare for nzones zones (names set by the caller) of the block labelled label (its
 * first zone), holding the block's counters (sg_counters_keep) until deinit, so that the
 * instance a reload makes continues them. 0 or SG_ENOMEM. */
int sg_dnssec_metrics_init(sg_dnssec_metrics *m, int nzones, const char *label);
void sg_dnssec_metrics_deinit(sg_dnssec_metrics *m);
/* The watcher's reading of zone i after an engine step: keys by role and state at now,
 * DS states, the next event. Runs on the watcher thread with its keystore handle. */
void sg_dnssec_metrics_read(sg_dnssec_metrics *m, int i, sg_keystore *ks, int64_t now,
                            const sg_roll_event *next, int have_next);
/* The metrics source (sg_metrics_register(sg_dnssec_metrics_source, m)). */
int sg_dnssec_metrics_source(sg_metrics_out *out, void *ctx);

#endif
