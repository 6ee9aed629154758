/* SPDX-License-Identifier: MIT */
/* Events counted by state in memory, so that metrics never read the events table. */
#include "registrar/tick.h"

#include <stdio.h>
#include <string.h>

/* The states the registrar writes (events.new_state); the last slot counts the rest. */
static const char *const states[SG_REG_COUNT_STATES] = {
    "reg-want", "reg-call", "reg-diff", "reg-ok", "reg-retry", "reg-error", "reg-manual",
    "parent-ns", "parent-query", "parent-wait", "parent-seen", "parent-gone", "parent-alert",
    "reg-push", "parent-ttl", "reg-scan", "other",
};

void sg_reg_count(sg_registrar *r, const char *state)
{
    int i = SG_REG_COUNT_STATES - 1;
    for (int k = 0; k < SG_REG_COUNT_STATES - 1; k++)
        if (states[k] && state && !strcmp(states[k], state)) {
            i = k;
            break;
        }
    sg_counters_add(r->counts, (size_t)i, 1);
}

int sg_reg_keep_counts(sg_registrar *r, const char *zone)
{
    if (!r || !zone)
        return SG_EINVAL;
    char key[SG_KS_ZONE_MAX + 128];
    snprintf(key, sizeof key, "registrar %s %s", r->cfg.provider, zone);
    sg_counters *kept = sg_counters_keep(key, SG_REG_COUNT_STATES);
    if (!kept)
        return SG_ENOMEM;
    if (r->counts != r->own_counts)
        sg_counters_drop(r->counts);
    r->counts = kept;
    return 0;
}

void sg_reg_counts_deinit(sg_registrar *r)
{
    if (r->counts != r->own_counts)
        sg_counters_drop(r->counts);
    sg_counters_free(r->own_counts);
    r->counts = r->own_counts = NULL;
}

void sg_reg_counts(const sg_registrar *r, void (*fn)(void *arg, const char *state, uint64_t n),
                   void *arg)
{
    if (!r || !fn)
        return;
    for (int i = 0; i < SG_REG_COUNT_STATES; i++) {
        uint64_t n = sg_counters_sum(r->counts, (size_t)i);
        if (n && states[i])
            fn(arg, states[i], n);
    }
}
