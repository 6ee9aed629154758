/* SPDX-License-Identifier: MIT */
/* Limits on making signatures on the query path: how many may be in progress at once
 * across the workers, and how long a query may have been in the server before it starts
 * one more. Over either, the query fails (SERVFAIL through the chain) instead of waiting. */
#ifndef SG_SIGN_GATE_H
#define SG_SIGN_GATE_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/metrics.h"

/* Refusals, by index in the gate's counter set. */
enum { SG_GATE_BUSY, SG_GATE_LATE, SG_GATE_COUNTERS };

typedef struct sg_sign_gate {
    uint32_t max_pending;        /* signatures in progress at once; 0: no cap */
    uint64_t budget_ns;          /* since the query arrived; 0: no budget */
    _Atomic uint32_t pending;
    /* refusals: [SG_GATE_BUSY] max_pending reached, [SG_GATE_LATE] budget spent. Set by
     * the owner (the dnssec plugin: a set kept across reloads), who frees it; NULL: not
     * counted. */
    sg_counters *shed;
    const char *label;           /* the dnssec block, for metrics (its first zone) */
} sg_sign_gate;

#define SG_SIGN_BUDGET_DEFAULT_NS 2000000000ull /* 2 s */

/* Defaults: no cap, a 2 s budget. */
void sg_sign_gate_init(sg_sign_gate *g);

/* Parse `max-pending-signatures N` or `query-time-budget DURATION` (DURATION: 250ms, 2s;
 * 0 turns it off) into g. Returns 1 when d is neither (not ours), 0, or SG_ESYNTAX with
 * a file:line error. */
int sg_sign_gate_option(const sg_cfg_block *d, sg_sign_gate *g);

/* Before making one signature for a query that arrived at start_ns (monotonic ns; 0:
 * unknown, no budget), now_ns being the time now: 0 (then call sg_sign_gate_leave once
 * done), SG_EBUSY or SG_ETIMEOUT. */
int sg_sign_gate_enter(sg_sign_gate *g, uint64_t start_ns, uint64_t now_ns);
void sg_sign_gate_leave(sg_sign_gate *g);

struct sg_metrics_out;
/* Metric source (sg_metrics_register(sg_sign_gate_metrics, gate)):
 * signet_dnssec_signatures_shed_total{block, reason="busy"|"late"} and
 * signet_dnssec_signatures_pending{block}. */
int sg_sign_gate_metrics(struct sg_metrics_out *out, void *gate);

#endif
