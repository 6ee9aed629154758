/* SPDX-License-Identifier: MIT */
/* The `hello` plugin: `hello NAME [TEXT]` answers TXT "TEXT" (default "hello") at NAME. It
 * exists to prove the plugin contract (issue 18): a folder, a library and one line in a
 * plugin list make a plugin, without a change to daemon/. */
#include "common/plugin.h"

#include <stdlib.h>
#include <string.h>

typedef struct hello_state {
    uint8_t owner[SG_NAME_MAX];
    uint8_t rdata[2 + 1 + 255]; /* one TXT record: rdlength, then one character-string */
    sg_rrset rrset;
} hello_state;

static int hello_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    if (blk->nargs < 1 || blk->nargs > 2 || blk->has_block)
        return sg_cfg_error(blk, "hello: expected a name and an optional text");
    const char *text = blk->nargs > 1 ? blk->args[1] : "hello";
    size_t len = strlen(text);
    if (len > 255)
        return sg_cfg_error(blk, "hello: the text is longer than 255 bytes");
    hello_state *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    /* relative names are under the block's first zone, as in a zone file */
    if (sg_name_from_str(blk->args[0], ctx->nzones ? ctx->zones[0] : (const uint8_t *)"", st->owner)) {
        free(st);
        return sg_cfg_error(blk, "hello: '%s' is not a domain name", blk->args[0]);
    }
    sg_name_lower(st->owner);
    st->rdata[0] = 0;
    st->rdata[1] = (uint8_t)(len + 1);
    st->rdata[2] = (uint8_t)len;
    memcpy(st->rdata + 3, text, len);
    st->rrset = (sg_rrset){ .type = SG_TYPE_TXT, .count = 1, .ttl = 300,
                            .rdata_len = (uint32_t)(len + 3), .rdata = st->rdata };
    *state_out = st;
    return 0;
}

/* On the way back: the zone's own lookup has run (it finds no such name), so the reply
 * keeps its zone, and the signer before this plugin signs the TXT like any answer. */
static int hello_handle(sg_handler *self, sg_query *q)
{
    const hello_state *st = self->state;
    int rc = sg_next(self, q);
    if (rc || !q->zone || q->qtype != SG_TYPE_TXT || !sg_name_eq(q->qname, st->owner))
        return rc;
    const struct sg_zone *zone = q->zone;
    sg_query_reset_reply(q);
    q->zone = zone;
    q->rcode = SG_RCODE_NOERROR;
    q->aa = 1;
    q->kind = SG_KIND_ANSWER;
    return sg_section_add(&q->an, st->owner, &st->rrset, st->rrset.ttl, 0);
}

static void hello_teardown(void *state)
{
    free(state);
}

const sg_plugin sg_plugin_hello = {
    .name = "hello",
    .setup = hello_setup,
    .handle = hello_handle,
    .teardown = hello_teardown,
};
