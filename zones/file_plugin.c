/* SPDX-License-Identifier: MIT */
/* The `file` plugin: serves zones loaded from master files. */
#include "zones/file_plugin.h"
#include "zones/zonedb.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

typedef struct file_zone {
    uint8_t apex[SG_NAME_MAX];
    sg_zone *zone;
} file_zone;

typedef struct file_state {
    file_zone *zones;
    int nzones;
} file_state;

static void file_teardown(void *state)
{
    file_state *st = state;
    if (!st)
        return;
    for (int i = 0; i < st->nzones; i++)
        sg_zonedb_release(st->zones[i].zone);
    free(st->zones);
    free(st);
}

/* A `file` directive: the zones it loads (the block's zones when none are given), as
 * presentation names in *zones_out (caller frees each and the array), and the bound on a
 * zone's text (`max-size`; 0: unlimited). */
static int file_parse(const sg_cfg_block *blk, const sg_setup_ctx *ctx, char ***zones_out,
                      int *nzones_out, uint64_t *max_size_out)
{
    if (blk->nargs < 1)
        return sg_cfg_error(blk, "file: expected a zone file path: file PATH [ZONE...]");
    *max_size_out = SG_ZONE_FILE_MAX_DEFAULT;
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *d = &blk->children[i];
        if (strcmp(d->name, "max-size"))
            return sg_cfg_error(d, "file: unknown option '%s' (max-size)", d->name);
        uint64_t v;
        if (d->nargs == 1 && !strcmp(d->args[0], "unlimited"))
            *max_size_out = 0;
        else if (d->nargs != 1 || sg_cfg_parse_size(d->args[0], &v) || v == 0)
            return sg_cfg_error(d, "max-size: expected a size (e.g. 64M, 2G) or 'unlimited'");
        else
            *max_size_out = v;
    }
    int n = blk->nargs > 1 ? blk->nargs - 1 : ctx->nzones;
    if (n == 0)
        return sg_cfg_error(blk, "file: no zone to load the file for");
    char **zones = calloc(n, sizeof *zones);
    if (!zones)
        return SG_ENOMEM;
    for (int i = 0; i < n; i++) {
        uint8_t w[SG_NAME_MAX];
        char buf[1024];
        if (blk->nargs > 1) {
            if (sg_name_from_str(blk->args[i + 1], (const uint8_t *)"", w)) {
                for (int k = 0; k < i; k++)
                    free(zones[k]);
                free(zones);
                return sg_cfg_error(blk, "file: bad zone name '%s'", blk->args[i + 1]);
            }
            int inside = 0;
            for (int k = 0; k < ctx->nzones; k++)
                inside |= sg_name_is_sub(w, ctx->zones[k]);
            if (!inside) {
                for (int k = 0; k < i; k++)
                    free(zones[k]);
                free(zones);
                return sg_cfg_error(blk, "file: zone '%s' is not within the server block's zones",
                                    blk->args[i + 1]);
            }
        } else {
            memcpy(w, ctx->zones[i], sg_name_len(ctx->zones[i]));
        }
        sg_name_to_str(w, buf, sizeof buf);
        zones[i] = strdup(buf);
    }
    *zones_out = zones;
    *nzones_out = n;
    return 0;
}

static int file_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    char **names = NULL;
    int n = 0;
    uint64_t max_size = 0;
    int rc = file_parse(blk, ctx, &names, &n, &max_size);
    if (rc)
        return rc;
    file_state *st = calloc(1, sizeof *st);
    if (st)
        st->zones = calloc(n, sizeof *st->zones);
    if (!st || !st->zones) {
        rc = SG_ENOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        sg_zone *z = NULL;
        rc = sg_zonedb_acquire(blk->args[0], names[i], max_size, ctx->check_only, &z);
        if (rc) {
            sg_cfg_error(blk, "file: zone %s from %s not loaded: %s", names[i], blk->args[0],
                         sg_strerror(rc));
            goto out;
        }
        memcpy(st->zones[i].apex, z->apex, z->apex_len);
        st->zones[i].zone = z;
        st->nzones++;
    }
    *state_out = st;
    st = NULL;
out:
    file_teardown(st);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int file_handle(sg_handler *self, sg_query *q)
{
    /* Several `file` lines of one block are consecutive in the chain: the first one
     * chooses among all their zones, so that a child zone wins over its parent. */
    const sg_zone *best = NULL;
    sg_handler *h = self;
    for (; h && h->plugin == &sg_plugin_file; h = h->next) {
        const file_state *st = h->state;
        for (int i = 0; i < st->nzones; i++)
            if (sg_zone_better_match(st->zones[i].zone, best, q))
                best = st->zones[i].zone;
    }
    if (!best) {
        if (!h)
            return SG_ENOHANDLER;
        return h->plugin->handle(h, q);
    }
    sg_zone_answer(best, q);
    return 0;
}

static int file_nzones(const void *state)
{
    return state ? ((const file_state *)state)->nzones : 0;
}

static const sg_zone *file_zone_at(const void *state, int i)
{
    const file_state *st = state;
    return st && i >= 0 && i < st->nzones ? st->zones[i].zone : NULL;
}

const sg_plugin sg_plugin_file = {
    .name = "file",
    .setup = file_setup,
    .handle = file_handle,
    .teardown = file_teardown,
    /* one line per zone file; consecutive in the chain (file_handle) */
    .flags = SG_PLUGIN_REPEATABLE,
    .nzones = file_nzones,
    .zone = file_zone_at,
};
