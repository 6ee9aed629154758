/* SPDX-License-Identifier: MIT */
/* The registrar's state between ticks: per zone what was pushed and confirmed, and the
 * one job the worker thread runs at a time. */
#ifndef SG_REG_TICK_H
#define SG_REG_TICK_H

#include "registrar/internal.h"

#include <pthread.h>
#include <stdatomic.h>

enum { SG_REG_JOB_PUSH = 1, SG_REG_JOB_CHECK = 2 };

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
    int alerted;
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
    sg_reg_job *job;
    sg_reg_zstate *zones;
};

#endif
