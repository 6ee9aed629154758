/* SPDX-License-Identifier: MIT */
/* The plugin interface: a const descriptor per plugin, a handler per configured instance. */
#ifndef SG_PLUGIN_H
#define SG_PLUGIN_H

#include "common/attach.h"
#include "common/cfg.h"
#include "common/errors.h"
#include "common/query.h"

struct sg_tsig_keyring;
struct sg_buf;

/* What setup knows about the server block its directive sits in. */
typedef struct sg_setup_ctx {
    const uint8_t *const *zones; /* the server block's zones, wire form */
    int nzones;
    int check_only;              /* signetd -t: check, don't start anything */
    /* TSIG keys of the global options block (tsig/tsig.h, sg_tsig_find); owned by the
     * runtime, valid until the plugin's teardown (a reload brings a new keyring). */
    const struct sg_tsig_keyring *tsig;
    const sg_cfg_block *block;   /* the whole server block */
    /* The handlers of this block set up so far (those before this one in the chain's
     * order): sg_setup_service looks through them. */
    const struct sg_handler *set_up;
    int nset_up;
    /* The attachment slot of the plugin being set up on zone versions (sg_handler.slot):
     * what its prepare hook is handed, kept for its own background work; -1: none. */
    int slot;
    /* The block has a plugin that serves zones added and removed at run time
     * (SG_PLUGIN_RUNTIME_ZONES): `zones` above are then where such zones may be, not
     * zones themselves (a block for `.` serves none of its own). The core has refused the
     * block if a plugin in it lacks SG_PLUGIN_FOLLOWS_ZONES. */
    int runtime_zones;
} sg_setup_ctx;

typedef struct sg_handler sg_handler;
struct sg_zone;

/* Services a plugin can offer its siblings (sg_plugin.service, sg_setup_service): a name
 * and the type the returned pointer has. A plugin that needs another's work asks for it
 * by service, never by the other plugin's name or config. */
#define SG_SERVICE_KEYS "keys" /* const sg_key_provider *: a signed zone's keys */

typedef struct sg_key_provider {
    const char *keystore; /* the keystore the keys live in (a path; others open it too) */
    /* The zone's current key set (struct sg_keyset, signer/keyset.h), NULL when the
     * zone is not signed; valid until the provider's next version (see sg_plugin.version). */
    const struct sg_keyset *(*keys)(const void *self, const uint8_t *apex);
    /* Optional (NULL: no floors): the serial floor the keystore records for the zone
     * (keystore fact "serial-floor": the serial its previous server served, `signetctl
     * zone serial-floor`). 0 and *floor set when there is one, SG_ENOTFOUND otherwise.
     * Read when the provider was set up: a sibling set up after it (`transfer`, `file`:
     * the chain's order) sees the floor of the keystore at that setup; a new floor takes
     * effect at the next reload. */
    int (*serial_floor)(const void *self, const uint8_t *apex, uint32_t *floor);
    /* Optional (NULL: changes are not told; a sibling must look for itself): from now on
     * changed(apex) is called, on the provider's background thread, whenever a zone's
     * key set changes (a key published, activated, retired, removed; CDS/CDNSKEY), be it
     * by the provider's own rollover steps or a write by another process (signetctl) it
     * noticed. changed must be callable for the program's life (a plain function that
     * looks the zone up by apex) and quick (it wakes work; it does none). One at a time:
     * a second call replaces the first. */
    void (*watch)(const void *self, void (*changed)(const uint8_t *apex));
    const void *self;
} sg_key_provider;

enum sg_plugin_flags {
    SG_PLUGIN_REPEATABLE = 1u << 0, /* may be given more than once in a server block */
    SG_PLUGIN_TRANSFERS = 1u << 1,  /* hands zones out (AXFR/IXFR); without one in a
                                       chain the core refuses them */
    SG_PLUGIN_RUNTIME_ZONES = 1u << 2, /* serves zones that come and go at run time inside
                                          the block's zones (`dynamic`) */
    SG_PLUGIN_FOLLOWS_ZONES = 1u << 3, /* right in a block whose zones come and go at run
                                          time (nothing per zone fixed at setup, or it
                                          follows ctx->runtime_zones); the core refuses a
                                          block with a runtime-zones plugin and one
                                          without this flag, at config time */
};

/* What sg_plugin.writes reports: a file the instance writes while running, e.g. so that
 * signetd can warn when the service user it drops to could not write it. */
typedef void (*sg_file_fn)(void *arg, const char *path, const char *what);

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

    unsigned flags; /* enum sg_plugin_flags */
    /* Optional: take a NOTIFY (RFC 1996) for one of the block's zones and set q's reply.
     * The core hands NOTIFY to the first handler of a chain that has this, and to no
     * other handler; a chain without one answers NOTIMP. */
    void (*notify)(void *state, sg_query *q);
    /* Optional: the zones this instance serves from data of its own (a file, a
     * transfer): zone i of n, NULL for one not loaded (yet). For `signetctl status`. */
    int (*nzones)(const void *state);
    const struct sg_zone *(*zone)(const void *state, int i);
    /* Optional: a service offered to siblings (SG_SERVICE_*), NULL when not offered. */
    const void *(*service)(const void *state, const char *name);
    /* Optional: report each file the instance writes while running through fn. */
    void (*writes)(const void *state, sg_file_fn fn, void *arg);
    /* Optional: the per-version work this plugin needs for a zone version z (a denial
     * chain, a cache sized for it), done before the version is served, never by a query.
     * The zone's producer (the `file` plugin at setup, `secondary` after a transfer) calls
     * it through sg_prepare on every new version before publishing it, and on every
     * version a new instance will serve (a reload keeps unchanged versions, so the hook
     * must be cheap when its work is already there). slot is this plugin's attachment on
     * z (sg_handler.slot): store the result with sg_attach_swap; the query path reads it
     * with sg_attach_get on q->zone's slot. Runs on a background thread, never at once
     * with another prepare of the same instance and version. z is not ours: ignore it
     * (return 0). 0, or an SG_E* (logged by the producer, who still publishes: the
     * plugin must then cope without its attachment). */
    int (*prepare)(void *state, const struct sg_zone *z, sg_attach *slot);
    /* Optional: is this instance ready to serve (the `ready` endpoint, CoreDNS's
     * Readiness)? 1: ready; 0: not, with what is missing appended to why as lines of the
     * form "PLUGIN: what\n" ("file: zone example.test. not loaded"). Called on the ready
     * endpoint's thread while the instance is running, at any time: lock-free or brief,
     * no I/O (read what the plugin's own background work last saw). A plugin without it
     * that serves zones (nzones, zone) is ready once every zone(i) is not NULL. */
    int (*ready)(const void *state, struct sg_buf *why);
    /* Optional: the process is about to stop (SIGTERM, SIGINT): how long (ms) it should
     * go on serving first, 0 for no wait (CoreDNS's lameduck). Called once per instance
     * of the running configuration, on the signal thread, before anything stops; the
     * longest wait wins. */
    unsigned (*stopping)(void *state);
    /* Optional: take an UPDATE (RFC 2136) for one of the block's zones and set q's reply
     * (rendered and TSIG-signed by the plugin when it signs). As NOTIFY: the core hands
     * UPDATE to the first handler of the chain that has this; a chain without one
     * answers NOTIMP. Runs on the worker that read the message; the reply waits for it. */
    void (*update)(void *state, sg_query *q);
} sg_plugin;

struct sg_handler {
    const sg_plugin *plugin;
    void *state;
    sg_handler *next;
    /* this plugin's attachment slot on zone versions (its place in the program's plugin
     * list), or -1 for none; set by the core */
    int slot;
};

/* The service `name` that a sibling set up before the caller offers, or NULL (the
 * chain's fixed order decides who comes first: a plugin asks only those before it). */
static inline const void *sg_setup_service(const sg_setup_ctx *ctx, const char *name)
{
    for (int i = 0; ctx && i < ctx->nset_up; i++) {
        const struct sg_handler *h = &ctx->set_up[i];
        const void *s = h->plugin->service ? h->plugin->service(h->state, name) : NULL;
        if (s)
            return s;
    }
    return NULL;
}

/* The prepare hooks a zone producer runs on each new version: those of the handlers set
 * up before it (sg_setup_ctx.set_up), taken at its setup and valid until its teardown
 * (the runtime owns them; a producer stops its tasks in `stop`, before any teardown). */
typedef struct sg_preparer {
    const struct sg_handler *h;
    int n;
} sg_preparer;

static inline sg_preparer sg_setup_preparer(const sg_setup_ctx *ctx)
{
    sg_preparer p = { ctx ? ctx->set_up : NULL, ctx ? ctx->nset_up : 0 };
    return p;
}

/* Run every prepare hook of p on version z, whose attachment slots are att (SG_ATTACH_MAX
 * of them, the version's own). Every hook runs; returns 0 or the first failure. */
static inline int sg_prepare(const sg_preparer *p, const struct sg_zone *z, sg_attach *att)
{
    int first = 0;
    for (int i = 0; p && i < p->n; i++) {
        const struct sg_handler *h = &p->h[i];
        if (!h->plugin->prepare || h->slot < 0 || h->slot >= SG_ATTACH_MAX)
            continue;
        int rc = h->plugin->prepare(h->state, z, &att[h->slot]);
        if (rc && !first)
            first = rc;
    }
    return first;
}

/* Pass the query to the next handler in the chain. */
static inline int sg_next(sg_handler *self, sg_query *q)
{
    sg_handler *n = self->next;
    if (!n)
        return SG_ENOHANDLER;
    return n->plugin->handle(n, q);
}

#endif
