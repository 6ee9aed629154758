/* SPDX-License-Identifier: MIT */
/* The keys of a keyman's zones as a scrape shows them: per zone the keys by role and
 * state, the parent DS state, the next key event and the registrar's calls, as the
 * background thread last read them after its step (a scrape never touches the keystore).
 * Internal to keyman/; callers use sg_keyman_metrics (keyman.h). */
#ifndef SG_KEY_METRICS_H
#define SG_KEY_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include "common/metrics.h"
#include "keystore/rollover.h"
#include "registrar/registrar.h"

#define SG_KM_ROLES 3
#define SG_KM_STATES 6

enum { SG_KM_DS_SUBMITTED, SG_KM_DS_SEEN, SG_KM_DS_WITHDRAWN, SG_KM_DS_N };

typedef struct sg_km_zone {
    const char *name;          /* the keyman zone's (valid while the table holds it) */
    uint32_t keys[SG_KM_ROLES][SG_KM_STATES];
    uint32_t ds[SG_KM_DS_N];     /* KSK/CSK keys by where their DS is */
    int64_t next_event;          /* UNIX time of the engine's next event; 0: none */
    int64_t ds_pending_since;    /* UNIX time the oldest DS still not seen was submitted; 0: none */
    int read;                    /* the thread has read this zone at least once */
    /* offline KSK (keystore/skr.h): the end of the last imported signed bundle (0: none
     * imported), what was last said of it (0 fine, 1 runs out soon or a gap, 2 ran out) */
    int skr_offline;
    int64_t skr_until;
    int skr_said;
    const sg_registrar *reg;     /* counts read at scrape (atomics), or NULL */
    const char *provider;
} sg_km_zone;

typedef struct sg_key_metrics {
    pthread_mutex_t lock;        /* the thread's writes against a scrape's reads */
    sg_km_zone *zones;
    int nzones;
} sg_key_metrics;

/* Prepare for nzones zones (names, registrars and provider set by the caller).
 * 0 or SG_ENOMEM. */
int sg_key_metrics_init(sg_key_metrics *m, int nzones);
void sg_key_metrics_deinit(sg_key_metrics *m);
/* The reading of zone i after an engine step: keys by role and state at now, DS states,
 * the next event (have_next: the step succeeded and next is its answer). Runs on the
 * thread that steps, with its keystore handle. */
void sg_key_metrics_read(sg_key_metrics *m, int i, sg_keystore *ks, int64_t now,
                         const sg_roll_event *next, int have_next);
/* Declare the families and add the samples of every zone read so far. */
int sg_key_metrics_render(sg_key_metrics *m, sg_metrics_out *out);

#endif
