/* SPDX-License-Identifier: MIT */
/* The keys' metrics: the stepping thread stores what it read, a scrape prints it. */
#include "keyman/key_metrics.h"
#include "common/errors.h"
#include "common/log.h"
#include "keystore/skr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sg_key_metrics_init(sg_key_metrics *m, int nzones)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    m->zones = calloc(nzones > 0 ? (size_t)nzones : 1, sizeof *m->zones);
    if (!m->zones) {
        sg_key_metrics_deinit(m);
        return SG_ENOMEM;
    }
    m->nzones = nzones;
    return 0;
}

void sg_key_metrics_deinit(sg_key_metrics *m)
{
    free(m->zones);
    pthread_mutex_destroy(&m->lock);
    memset(m, 0, sizeof *m);
}

void sg_key_metrics_read(sg_key_metrics *m, int i, sg_keystore *ks, int64_t now,
                         const sg_roll_event *next, int have_next)
{
    sg_km_zone fresh;
    sg_ks_key *keys = NULL;
    size_t n = 0;
    if (i < 0 || i >= m->nzones || sg_ks_key_list(ks, m->zones[i].name, &keys, &n))
        return;
    memset(fresh.keys, 0, sizeof fresh.keys);
    memset(fresh.ds, 0, sizeof fresh.ds);
    fresh.ds_pending_since = 0;
    for (size_t k = 0; k < n; k++) {
        const sg_ks_key *key = &keys[k];
        if ((unsigned)key->role < SG_KM_ROLES && (unsigned)key->state < SG_KM_STATES)
            fresh.keys[key->role][key->state]++;
        if (key->role == SG_KS_ROLE_ZSK || key->ds_submitted == SG_KS_UNSET)
            continue;
        if (key->ds_withdrawn != SG_KS_UNSET && key->ds_withdrawn <= now)
            fresh.ds[SG_KM_DS_WITHDRAWN]++;
        else if (key->ds_seen != SG_KS_UNSET)
            fresh.ds[SG_KM_DS_SEEN]++;
        else {
            fresh.ds[SG_KM_DS_SUBMITTED]++;
            if (!fresh.ds_pending_since || key->ds_submitted < fresh.ds_pending_since)
                fresh.ds_pending_since = key->ds_submitted;
        }
    }
    free(keys);
    int64_t skr_until = 0;
    int gaps = 0, offline = sg_ks_skr_offline(ks, m->zones[i].name) > 0;
    if (offline && sg_ks_skr_valid_until(ks, m->zones[i].name, now, &skr_until, &gaps))
        offline = 0;
    pthread_mutex_lock(&m->lock);
    sg_km_zone *z = &m->zones[i];
    if (offline) {
        /* said once on each change, well before the end: the signed bundles are the
         * offline KSK's work and take the operator time to renew */
        int say = skr_until <= now ? 2 : (skr_until - now < SG_SKR_WARN_SECONDS || gaps) ? 1 : 0;
        if (say != z->skr_said || !z->skr_offline) {
            if (say == 2 && !skr_until)
                sg_log(SG_LOG_ERR, "dnssec", z->name, "offline KSK: no signed key response "
                       "imported: the DNSKEY RRset is served unsigned (signetctl skr import)");
            else if (say == 2)
                sg_log(SG_LOG_ERR, "dnssec", z->name, "offline KSK: the signed key bundles ran out "
                       "%lld s ago: the last one is served until its signatures expire; import a "
                       "new signed key response now", (long long)(now - skr_until));
            else if (say == 1)
                sg_log(SG_LOG_WARN, "dnssec", z->name, "offline KSK: %s; the signed key bundles "
                       "end in %lld s: generate, sign and import the next key signing request",
                       gaps ? "a planned slot has no signed bundle" : "running out",
                       (long long)(skr_until - now));
        }
        z->skr_said = say;
    }
    z->skr_offline = offline;
    z->skr_until = skr_until;
    memcpy(z->keys, fresh.keys, sizeof z->keys);
    memcpy(z->ds, fresh.ds, sizeof z->ds);
    z->ds_pending_since = fresh.ds_pending_since;
    z->next_event = have_next && next->action != SG_ROLL_NONE && next->action != SG_ROLL_WAIT ? next->when : 0;
    z->read = 1;
    pthread_mutex_unlock(&m->lock);
}

typedef struct reg_emit {
    sg_metrics_out *out;
    const char *zone, *provider;
} reg_emit;

static void reg_count(void *arg, const char *state, uint64_t count)
{
    reg_emit *e = arg;
    const char *outcome = !strncmp(state, "reg-", 4) ? state + 4 : state;
    const char *l[] = { "zone", e->zone, "provider", e->provider, "outcome", outcome, NULL };
    sg_metrics_add_u64(e->out, "signet_registrar_events_total", NULL, l, count);
}

int sg_key_metrics_render(sg_key_metrics *m, sg_metrics_out *o)
{
    sg_metrics_family(o, "signet_dnssec_keys", SG_METRIC_GAUGE, "Keys in the keystore by zone, role and state.");
    sg_metrics_family(o, "signet_dnssec_parent_ds", SG_METRIC_GAUGE,
                      "KSK/CSK keys by where their DS is: submitted (not yet seen at every parent server), seen, withdrawn.");
    sg_metrics_family(o, "signet_dnssec_next_key_event_seconds", SG_METRIC_GAUGE,
                      "Seconds until the zone's next key event (negative: overdue).");
    sg_metrics_family(o, "signet_dnssec_ds_submitted_timestamp_seconds", SG_METRIC_GAUGE,
                      "When the oldest DS submitted to the parent and not yet seen there was submitted "
                      "(unix time); absent while none waits.");
    sg_metrics_family(o, "signet_skr_valid_until_seconds", SG_METRIC_GAUGE,
                      "Offline KSK: seconds until the last imported signed key bundle ends "
                      "(negative: ran out, the last one is served until its signatures expire).");
    sg_metrics_family(o, "signet_registrar_events_total", SG_METRIC_COUNTER,
                      "Registrar calls and parent checks by provider and outcome (the events journal's states).");
    static const char *ds_names[SG_KM_DS_N] = { "submitted", "seen", "withdrawn" };
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->nzones; i++) {
        const sg_km_zone *z = &m->zones[i];
        if (!z->read)
            continue;
        for (int r = 0; r < SG_KM_ROLES; r++)
            for (int s = 0; s < SG_KM_STATES; s++) {
                if (!z->keys[r][s])
                    continue;
                const char *l[] = { "zone", z->name, "role", sg_ks_role_name(r), "state",
                                    sg_ks_state_name(s), NULL };
                sg_metrics_add_u64(o, "signet_dnssec_keys", NULL, l, z->keys[r][s]);
            }
        for (int d = 0; d < SG_KM_DS_N; d++) {
            const char *l[] = { "zone", z->name, "state", ds_names[d], NULL };
            sg_metrics_add_u64(o, "signet_dnssec_parent_ds", NULL, l, z->ds[d]);
        }
        if (z->next_event) {
            const char *l[] = { "zone", z->name, NULL };
            sg_metrics_add_double(o, "signet_dnssec_next_key_event_seconds", NULL, l,
                                  (double)(z->next_event - now));
        }
        if (z->skr_offline) {
            const char *l[] = { "zone", z->name, NULL };
            sg_metrics_add_double(o, "signet_skr_valid_until_seconds", NULL, l,
                                  (double)(z->skr_until - now));
        }
        if (z->ds_pending_since > 0) {
            const char *l[] = { "zone", z->name, NULL };
            sg_metrics_add_u64(o, "signet_dnssec_ds_submitted_timestamp_seconds", NULL, l,
                               (uint64_t)z->ds_pending_since);
        }
        if (z->reg) {
            reg_emit e = { o, z->name, z->provider };
            sg_reg_counts(z->reg, reg_count, &e);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return 0;
}
