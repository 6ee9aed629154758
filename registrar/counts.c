/* SPDX-License-Identifier: MIT */
/* Events counted by state in memory, so that metrics never read the events table. */
#include "registrar/tick.h"

#include <string.h>

/* The states the registrar writes (events.new_state); the last slot counts the rest. */
static const char *const states[SG_REG_COUNT_STATES] = {
    "reg-want", "reg-call", "reg-diff", "reg-ok", "reg-retry", "reg-error", "reg-manual",
    "parent-ns", "parent-query", "parent-wait", "parent-seen", "parent-gone", "parent-alert",
    NULL, NULL, "other",
};

void sg_reg_count(sg_registrar *r, const char *state)
{
    int i = SG_REG_COUNT_STATES - 1;
    for (int k = 0; k < SG_REG_COUNT_STATES - 1; k++)
        if (states[k] && state && !strcmp(states[k], state)) {
            i = k;
            break;
        }
    atomic_fetch_add_explicit(&r->counts[i], 1, memory_order_relaxed);
}

void sg_reg_counts(const sg_registrar *r, void (*fn)(void *arg, const char *state, uint64_t n),
                   void *arg)
{
    if (!r || !fn)
        return;
    for (int i = 0; i < SG_REG_COUNT_STATES; i++) {
        uint64_t n = atomic_load_explicit(&((sg_registrar *)r)->counts[i], memory_order_relaxed);
        if (n && states[i])
            fn(arg, states[i], n);
    }
}
