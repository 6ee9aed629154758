/* SPDX-License-Identifier: MIT */
/* The plugin interface: a const descriptor per plugin, a handler per configured instance. */
#ifndef SG_PLUGIN_H
#define SG_PLUGIN_H

#include "common/cfg.h"
#include "common/errors.h"
#include "common/query.h"

struct sg_tsig_keyring;

/* What setup knows about the server block its directive sits in. */
typedef struct sg_setup_ctx {
    const uint8_t *const *zones; /* the server block's zones, wire form */
    int nzones;
    int check_only;              /* signetd -t: check, don't start anything */
    /* TSIG keys of the global options block (tsig/tsig.h, sg_tsig_find); owned by the
     * runtime, valid until the plugin's teardown (a reload brings a new keyring). */
    const struct sg_tsig_keyring *tsig;
    const sg_cfg_block *block;   /* the whole server block, for a plugin that reads a sibling */
} sg_setup_ctx;

typedef struct sg_handler sg_handler;

typedef struct sg_plugin {
    const char *name;  /* config directive */
    /* Parse the directive (and its block); file:line errors via sg_cfg_error. */
    int (*setup)(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out);
    /* Optional: start background tasks once the server runs. */
    int (*start)(void *state);
    /* Answer q, or call sg_next(self, q) and work on the reply on the way back.
     * Returns 0, or a negative SG_E* (the errors plugin turns it into SERVFAIL). */
    int (*handle)(sg_handler *self, sg_query *q);
    /* Optional: a number that changes whenever this plugin's part of the answer to q can
     * change without a reload (a new key set, a transferred zone version). The cache
     * keys stored replies on the versions of the plugins after it. Lock-free, cheap. */
    uint64_t (*version)(void *state, const sg_query *q);
    /* Optional: stop background tasks. */
    void (*stop)(void *state);
    void (*teardown)(void *state);
} sg_plugin;

struct sg_handler {
    const sg_plugin *plugin;
    void *state;
    sg_handler *next;
};

/* Pass the query to the next handler in the chain. */
static inline int sg_next(sg_handler *self, sg_query *q)
{
    sg_handler *n = self->next;
    if (!n)
        return SG_ENOHANDLER;
    return n->plugin->handle(n, q);
}

#endif
