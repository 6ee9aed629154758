/* SPDX-License-Identifier: MIT */
/* The registrar's state between ticks: per zone what was pushed and confirmed, and the
 * one job the worker thread runs at a time. */
#ifndef SG_REG_TICK_H
#define SG_REG_TICK_H

#include "registrar/internal.h"
#include "common/metrics.h"

#include <pthread.h>
#include <stdatomic.h>

enum { SG_REG_JOB_PUSH = 1, SG_REG_JOB_CHECK = 2 };
#define SG_REG_COUNT_STATES 17

typedef struct sg_reg_job {
    int kind;
    char zone[SG_KS_ZONE_MAX];
    uint64_t fp;             /* of want, to drop results that a newer set overtook */
    sg_reg_dsset want;
    int gone;                /* check: the DS must be gone everywhere */
    /* results */
    int rc;
    uint32_t retry_after;
    int changed;
    int matched, total;      /* check: servers serving want / asked */
    uint32_t ttl_seen;       /* the longest DS TTL a parent server served (0: none seen) */
    char ttl_src[128];       /* the server that served it */
    char err[256];
    sg_reg_journal journal;
} sg_reg_job;

typedef struct sg_reg_zstate {
    char zone[SG_KS_ZONE_MAX];
    uint64_t want_fp;        /* the desired set last seen */
    uint64_t pushed_fp;      /* the set the registrar is known to have */
    int64_t next_push;
    unsigned attempts;
    int64_t next_check;
    int64_t waiting_since;   /* the parent check started (alert timeout) */
    int64_t failing_since;   /* the first failed push of the current set (alert timeout) */
    int verify;              /* a push changed the registrar's set: look at the parent once
                              * (its TTL), even when no key waits for ds-seen */
    int alerted;
    uint64_t said_err;       /* the failing push's error last logged (hash); 0: none */
    uint32_t ttl_warned;     /* the served DS TTL last warned about (above the policy's) */
    struct sg_reg_zstate *next;
} sg_reg_zstate;

struct sg_registrar {
    sg_reg_cfg cfg;
    sg_reg_cred cred;
    const sg_reg_provider *prov;   /* NULL for manual */
    int manual;
    unsigned seed;                 /* jitter */
    pthread_mutex_t lock;          /* running/joined, against sg_reg_drain from another thread */
    pthread_t thread;
    int running, joined;
    atomic_int done;
    atomic_int stopping;           /* sg_reg_free: a running task poll stops waiting */
    sg_reg_job *job;
    sg_reg_zstate *zones;
    int64_t next_tick;             /* when a tick has work again (sg_reg_next_tick) */
    /* events written, by state (counts.c): own_counts, or after sg_reg_keep_counts a set
     * kept across reloads */
    sg_counters *counts, *own_counts;
};

/* Count one event row of state for sg_reg_counts. */
void sg_reg_count(sg_registrar *r, const char *state);
/* Free the own set and drop a kept one (sg_reg_free). */
void sg_reg_counts_deinit(sg_registrar *r);

/* The provider context of a call for zone (absolute name), its journal in journal. */
void sg_reg_ctx_setup(const sg_registrar *r, sg_reg_ctx *ctx, const char *zone,
                      sg_reg_journal *journal);
/* Ends what the provider's calls opened (a session), keeping ctx's outcome (err,
 * retry_after) as the work left it: the end's own failure is only journalled. */
void sg_reg_ctx_end(const sg_registrar *r, sg_reg_ctx *ctx);
/* A worker's journal as events rows. */
int sg_reg_write_journal(sg_registrar *r, sg_keystore *ks, const char *zone, int64_t now,
                         sg_reg_journal *j);
/* The tick's rule for what to push: 1 with *want set (sg_reg_dsset_deinit it) when there
 * is a set to push (a DS was submitted, or the zone is being unsigned and its DS is not
 * recorded gone), 0 when there is nothing to push yet, or a keystore error. */
int sg_reg_zone_want(sg_keystore *ks, const char *zn, int64_t now, sg_reg_dsset *want,
                     int *unsigning, int *pending_seen);
/* reg-want rows for want (and to note, if not NULL). */
int sg_reg_want_events(sg_registrar *r, sg_keystore *ks, const char *zn, int64_t now,
                       const sg_reg_dsset *want, sg_reg_note_fn note, void *arg);

#endif
