/* SPDX-License-Identifier: MIT */
/* Admission for fresh signatures on the query path (see sign_gate.h). */
#include "signer/sign_gate.h"
#include "common/errors.h"
#include "common/metrics.h"

#include <stdlib.h>
#include <string.h>

void sg_sign_gate_init(sg_sign_gate *g)
{
    memset(g, 0, sizeof *g);
    g->budget_ns = SG_SIGN_BUDGET_DEFAULT_NS;
}

/* "250ms", "2s", "1m", "3" (seconds) -> nanoseconds */
static int parse_ns(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n > 2 && !strcmp(s + n - 2, "ms")) {
        char tmp[32];
        uint64_t v;
        if (n - 2 >= sizeof tmp)
            return SG_ESYNTAX;
        memcpy(tmp, s, n - 2);
        tmp[n - 2] = 0;
        if (sg_cfg_parse_uint(tmp, 0, 3600000, &v))
            return SG_ESYNTAX;
        *out = v * 1000000ull;
        return 0;
    }
    uint64_t secs;
    if (sg_cfg_parse_duration(s, &secs) || secs > 3600)
        return SG_ESYNTAX;
    *out = secs * 1000000000ull;
    return 0;
}

int sg_sign_gate_option(const sg_cfg_block *d, sg_sign_gate *g)
{
    if (!strcmp(d->name, "max-pending-signatures")) {
        uint64_t v;
        if (d->nargs != 1 || d->nchildren || sg_cfg_parse_uint(d->args[0], 0, 1000000, &v))
            return sg_cfg_error(d, "max-pending-signatures: expected a number from 0 (no cap) "
                                   "to 1000000");
        g->max_pending = (uint32_t)v;
        return 0;
    }
    if (!strcmp(d->name, "query-time-budget")) {
        if (d->nargs != 1 || d->nchildren || parse_ns(d->args[0], &g->budget_ns))
            return sg_cfg_error(d, "query-time-budget: expected a duration such as 250ms or "
                                   "2s (at most 1h; 0 turns it off)");
        return 0;
    }
    return 1;
}

int sg_sign_gate_enter(sg_sign_gate *g, uint64_t start_ns, uint64_t now_ns)
{
    if (g->budget_ns && start_ns && now_ns > start_ns && now_ns - start_ns > g->budget_ns) {
        if (g->shed)
            sg_counters_add(g->shed, SG_GATE_LATE, 1);
        return SG_ETIMEOUT;
    }
    uint32_t n = atomic_fetch_add_explicit(&g->pending, 1, memory_order_acq_rel);
    if (g->max_pending && n >= g->max_pending) {
        atomic_fetch_sub_explicit(&g->pending, 1, memory_order_acq_rel);
        if (g->shed)
            sg_counters_add(g->shed, SG_GATE_BUSY, 1);
        return SG_EBUSY;
    }
    return 0;
}

void sg_sign_gate_leave(sg_sign_gate *g)
{
    atomic_fetch_sub_explicit(&g->pending, 1, memory_order_acq_rel);
}

int sg_sign_gate_metrics(sg_metrics_out *out, void *gate)
{
    sg_sign_gate *g = gate;
    const char *block = g->label ? g->label : "";
    int rc = sg_metrics_family(out, "signet_dnssec_signatures_shed_total", SG_METRIC_COUNTER,
                               "Queries answered SERVFAIL instead of signing: busy "
                               "(max-pending-signatures) or late (query-time-budget)");
    const char *busy[] = { "block", block, "reason", "busy", NULL };
    const char *late[] = { "block", block, "reason", "late", NULL };
    const char *lb[] = { "block", block, NULL };
    if (!rc)
        rc = sg_metrics_add_u64(out, "signet_dnssec_signatures_shed_total", NULL, busy,
                                g->shed ? sg_counters_sum(g->shed, SG_GATE_BUSY) : 0);
    if (!rc)
        rc = sg_metrics_add_u64(out, "signet_dnssec_signatures_shed_total", NULL, late,
                                g->shed ? sg_counters_sum(g->shed, SG_GATE_LATE) : 0);
    if (!rc)
        rc = sg_metrics_family(out, "signet_dnssec_signatures_pending", SG_METRIC_GAUGE,
                               "Signatures being made now");
    if (!rc)
        rc = sg_metrics_add_u64(out, "signet_dnssec_signatures_pending", NULL, lb,
                                atomic_load_explicit(&g->pending, memory_order_relaxed));
    return rc;
}
