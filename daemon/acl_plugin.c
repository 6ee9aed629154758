/* SPDX-License-Identifier: MIT */
/* The `acl` plugin (CoreDNS's): per server block, rules on the client's address and the
 * query type decide before the cache whether a query is answered (allow), refused
 * (block), answered empty (filter) or not answered at all (drop). */
#include "daemon/acl.h"
#include "daemon/plugins.h"
#include "common/metrics.h"
#include "common/name.h"
#include "common/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct astate {
    sg_acl *acl;
    uint8_t (*zones)[SG_NAME_MAX]; /* acl ZONES...: the rules apply only below these */
    int nzones;
    sg_counters *counters;         /* by action; kept across reloads under "acl BLOCK" */
    int registered;
    char label[1100];              /* block="..." as the other per-block series */
} astate;

static int acl_metrics(sg_metrics_out *out, void *ctx)
{
    astate *st = ctx;
    const char *l[] = { "block", st->label, NULL };
    static const struct {
        const char *name, *help;
    } fam[SG_ACL_NACTIONS] = {
        { "signet_acl_allowed_requests_total", "Requests an acl rule allowed (or none matched)" },
        { "signet_acl_blocked_requests_total", "Requests an acl rule refused (REFUSED)" },
        { "signet_acl_filtered_requests_total", "Requests an acl rule answered empty (NOERROR)" },
        { "signet_acl_dropped_requests_total", "Requests an acl rule left unanswered" },
    };
    for (int i = 0; i < SG_ACL_NACTIONS; i++) {
        int rc = sg_metrics_family(out, fam[i].name, SG_METRIC_COUNTER, fam[i].help);
        if (!rc)
            rc = sg_metrics_add_u64(out, fam[i].name, NULL, l, sg_counters_sum(st->counters, (size_t)i));
        if (rc)
            return rc;
    }
    return 0;
}

static void acl_teardown(void *state)
{
    astate *st = state;
    if (!st)
        return;
    if (st->registered)
        sg_metrics_unregister(acl_metrics, st);
    sg_acl_free(st->acl);
    sg_counters_drop(st->counters);
    free(st->zones);
    free(st);
}

static int acl_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    astate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    int rc = sg_acl_parse(blk, &st->acl);
    if (!rc && blk->nargs && !(st->zones = calloc((size_t)blk->nargs, sizeof *st->zones)))
        rc = SG_ENOMEM;
    for (int i = 0; !rc && i < blk->nargs; i++) {
        uint8_t *z = st->zones[st->nzones];
        int inside = 0;
        if (sg_name_from_str(blk->args[i], (const uint8_t *)"", z)) {
            rc = sg_cfg_error(blk, "acl: '%s' is not a domain name", blk->args[i]);
            break;
        }
        sg_name_lower(z);
        for (int k = 0; k < ctx->nzones && !inside; k++)
            inside = sg_name_is_sub(z, ctx->zones[k]);
        if (!inside) {
            rc = sg_cfg_error(blk, "acl: zone '%s' is not inside the server block's zones", blk->args[i]);
            break;
        }
        st->nzones++;
    }
    char key[1100] = "acl ";
    if (ctx->nzones)
        sg_name_to_str(ctx->zones[0], key + 4, sizeof key - 4);
    snprintf(st->label, sizeof st->label, "%s", key + 4);
    if (!rc && !(st->counters = sg_counters_keep(key, SG_ACL_NACTIONS)))
        rc = SG_ENOMEM;
    /* several acl lines in a block share their counters: the first one shows them */
    int first = 1;
    for (int i = 0; i < ctx->nset_up; i++)
        first &= ctx->set_up[i].plugin != &sg_plugin_acl;
    if (!rc && first && !ctx->check_only) {
        if (!(rc = sg_metrics_register(acl_metrics, st)))
            st->registered = 1;
    }
    if (rc) {
        acl_teardown(st);
        return rc;
    }
    *state_out = st;
    return 0;
}

static int acl_handle(sg_handler *self, sg_query *q)
{
    astate *st = self->state;
    if (st->nzones) {
        int inside = 0;
        for (int i = 0; i < st->nzones && !inside; i++)
            inside = sg_name_is_sub(q->qname, st->zones[i]);
        if (!inside)
            return sg_next(self, q);
    }
    sg_acl_action act = sg_acl_match(st->acl, q->client, q->qtype);
    sg_counters_add(st->counters, (size_t)act, 1);
    switch (act) {
    case SG_ACL_ALLOW:
        return sg_next(self, q);
    case SG_ACL_BLOCK:
    case SG_ACL_FILTER:
        /* as CoreDNS: an empty reply without AA, REFUSED or NOERROR */
        sg_query_reset_reply(q);
        q->rcode = act == SG_ACL_BLOCK ? SG_RCODE_REFUSED : SG_RCODE_NOERROR;
        q->aa = 0;
        /* RFC 8914 4.18, 4.19: say why (in the OPT, so only to a client that sent one) */
        q->has_ede = 1;
        q->ede_code = act == SG_ACL_BLOCK ? SG_EDE_PROHIBITED : SG_EDE_FILTERED;
        return 0;
    case SG_ACL_DROP:
    default:
        q->drop = 1;
        return 0;
    }
}

const sg_plugin sg_plugin_acl = {
    .name = "acl",
    .setup = acl_setup,
    .handle = acl_handle,
    .teardown = acl_teardown,
    .flags = SG_PLUGIN_REPEATABLE | SG_PLUGIN_FOLLOWS_ZONES,
};
