/* SPDX-License-Identifier: MIT */
/* The `errors` plugin: logs what failed further down the chain and answers SERVFAIL. */
#include "daemon/plugins.h"
#include "common/log.h"

static int errors_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    (void)ctx;
    if (blk->nargs > 0 || blk->nchildren > 0)
        return sg_cfg_error(blk, "errors: takes no arguments");
    *state_out = NULL;
    return 0;
}

static int errors_handle(sg_handler *self, sg_query *q)
{
    int rc = sg_next(self, q);
    if (rc == 0)
        return 0;
    if (rc == SG_ENOHANDLER) {
        q->rcode = SG_RCODE_REFUSED;
        return 0;
    }
    char name[1100], type[32];
    sg_name_to_str(q->qname, name, sizeof name);
    sg_type_name(q->qtype, type, sizeof type);
    sg_log(SG_LOG_ERR, "errors", q->zone ? NULL : NULL, "%s %s: %s", name, type, sg_strerror(rc));
    q->rcode = SG_RCODE_SERVFAIL;
    q->an.n = q->ns.n = q->ar.n = 0;
    q->out_len = 0;
    return 0;
}

const sg_plugin sg_plugin_errors = {
    .name = "errors",
    .setup = errors_setup,
    .handle = errors_handle,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
