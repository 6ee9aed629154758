/* SPDX-License-Identifier: MIT */
/* The `dynamic` plugin: serves the keystore's zones that have a file (`signetctl zone add
 * ZONE --file PATH`), inside the block's zones, following additions and removals at run
 * time without a reload. */
#include "dynamic/dynamic_plugin.h"
#include "keystore/keystore.h"
#include "zones/zonedb.h"
#include "common/apex_index.h"
#include "common/log.h"
#include "common/retire.h"
#include "common/served_news.h"
#include "common/task.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often the served-zones counter is looked at untold: `signetctl zone add/remove`
 * tells (sg_served_news, over the control socket), so this is a fallback
 * (sg_served_news_poll_ms, `poll`). A zone loaded but waiting for its keys is looked at
 * again this often (the keyman also tells when it has made a new zone's keys). */
#define WAIT_POLL_MS 200

typedef struct dzone {
    sg_zone *zone;                  /* one zonedb reference, owned by the table it is in */
    char file[SG_KS_PATH_MAX];
} dzone;

/* What queries read: an immutable table of zones with a hash index by apex. */
typedef struct dtab {
    int n;
    dzone *z;
    sg_apex_index ix;
} dtab;

typedef struct dyn_state {
    char keystore[1024];
    const sg_key_provider *keys;    /* the block's dnssec: a zone is served once signed */
    sg_preparer prep;               /* the chain's per-version work (sg_prepare) */
    uint8_t (*scopes)[SG_NAME_MAX];
    int nscopes;
    uint64_t max_size;
    _Atomic(dtab *) tab;
    _Atomic uint64_t gen;           /* moves with every new table: the plugin's version */
    /* the thread's own */
    sg_task task;
    sg_retire_list retired;         /* replaced tables, removed zones */
    sg_keystore *ks;
    int64_t counter;                /* the served-zones counter the table is at; -1: none */
    int waiting;                    /* zones loaded but not yet signed: look again */
    int64_t said;                   /* keystore failures: said once a minute */
    unsigned poll_ms;               /* `poll` (0: the default) */
    int subscribed;                 /* to sg_served_news */
} dyn_state;

static const uint8_t *dzone_apex(const void *table, int i)
{
    return ((const dzone *)table)[i].zone->apex;
}

static dtab *dtab_new(dzone *z, int n)
{
    dtab *t = calloc(1, sizeof *t);
    if (!t || sg_apex_index_build(&t->ix, z, n, dzone_apex)) {
        free(t);
        return NULL;
    }
    t->z = z;
    t->n = n;
    return t;
}

/* The table alone: its zones' references are moved on or released by the caller. */
static void dtab_free(dtab *t)
{
    if (!t)
        return;
    free(t->z);
    sg_apex_index_free(&t->ix);
    free(t);
}

static void dtab_free_v(void *p) { dtab_free(p); }
static void zone_release_v(void *p) { sg_zonedb_release(p); }

/* The zone of apex (lower-case wire form) in t, or -1. */
static int dtab_find(const dtab *t, const uint8_t *apex, size_t len)
{
    return t ? sg_apex_index_find(&t->ix, t->z, dzone_apex, apex, len) : -1;
}

static int in_scope(const dyn_state *st, const uint8_t *apex)
{
    for (int i = 0; i < st->nscopes; i++)
        if (sg_name_is_sub(apex, st->scopes[i]))
            return 1;
    return 0;
}

/* The keystore's served zones now into a new table: a zone whose file is the same keeps
 * its loaded version (moved from the old table), a new one or one with a new file is
 * loaded (a failure is logged with file:line and the zone is not served: its previous
 * version, if any, stays); a zone is served only once the block's signer has its keys,
 * so that it never answers unsigned. Returns 0 when the table matches the keystore. */
static int rebuild(dyn_state *st, sg_keystore *ks, int check_only)
{
    sg_ks_served *list = NULL;
    size_t n = 0;
    int rc = sg_ks_served_list(ks, &list, &n);
    if (rc)
        return rc;
    dtab *old = atomic_load(&st->tab);
    dzone *z = calloc(n ? n : 1, sizeof *z);
    char *moved = old && old->n ? calloc((size_t)old->n, 1) : NULL;
    if (!z || (old && old->n && !moved)) {
        free(z);
        free(moved);
        free(list);
        return SG_ENOMEM;
    }
    int nn = 0, waiting = 0, added = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t apex[SG_NAME_MAX];
        if (sg_name_from_str(list[i].name, (const uint8_t *)"", apex))
            continue;
        sg_name_lower(apex);
        if (!in_scope(st, apex))
            continue;
        int at = dtab_find(old, apex, sg_name_len(apex));
        if (at >= 0 && !strcmp(old->z[at].file, list[i].file)) {
            z[nn++] = old->z[at];
            moved[at] = 1;
            continue;
        }
        if (st->keys && !st->keys->keys(st->keys->self, apex)) {
            waiting = 1; /* not signed yet: the keyman picks it up within a second */
            if (at >= 0) {
                z[nn++] = old->z[at]; /* a new file for a served zone: the old version meanwhile */
                moved[at] = 1;
            }
            continue;
        }
        sg_zone *zone = NULL;
        int lr = sg_zonedb_acquire(list[i].file, list[i].name, st->max_size, check_only, &zone);
        if (lr) {
            sg_log(SG_LOG_ERR, "zone", list[i].name, "%s not loaded: %s; the zone is not served "
                   "(signetctl zone add checks a file before it is used)", list[i].file,
                   sg_strerror(lr));
            if (at >= 0) {
                z[nn++] = old->z[at];
                moved[at] = 1;
            }
            continue;
        }
        /* before it is served (a new version, or one a reload kept for this instance):
         * the chain's per-version work (denial chains, cache sizes), on this thread or at
         * setup, never on a query */
        int pr = check_only ? 0 : sg_prepare(&st->prep, zone, zone->attach);
        if (pr)
            sg_log(SG_LOG_WARN, "zone", zone->apex_str, "preparing serial %u failed: %s",
                   zone->serial, sg_strerror(pr));
        z[nn].zone = zone;
        snprintf(z[nn].file, sizeof z[nn].file, "%s", list[i].file);
        nn++;
        added++;
        if (at >= 0) /* replaced: its old version goes after the grace period */
            sg_retire(&st->retired, old->z[at].zone, zone_release_v, time(NULL)), moved[at] = 1;
    }
    free(list);
    dtab *t = dtab_new(z, nn);
    if (!t) {
        for (int i = 0; i < nn; i++) {
            int at = dtab_find(old, z[i].zone->apex, z[i].zone->apex_len);
            if (at < 0 || old->z[at].zone != z[i].zone)
                sg_zonedb_release(z[i].zone);
        }
        free(z);
        free(moved);
        return SG_ENOMEM;
    }
    atomic_store(&st->tab, t);
    atomic_fetch_add(&st->gen, 1);
    int removed = 0;
    for (int i = 0; old && i < old->n; i++)
        if (!moved[i]) {
            sg_log(SG_LOG_INFO, "zone", old->z[i].zone->apex_str, "no longer served");
            sg_retire(&st->retired, old->z[i].zone, zone_release_v, time(NULL));
            removed++;
        }
    free(moved);
    if (old)
        sg_retire(&st->retired, old, dtab_free_v, time(NULL));
    if (added || removed)
        sg_log(SG_LOG_INFO, "zone", NULL, "dynamic: %d zones served (+%d, -%d)", nn, added, removed);
    st->waiting = waiting;
    return 0;
}

static void *poll_thread(void *arg)
{
    dyn_state *st = arg;
    while (!sg_task_stopping(&st->task)) {
        unsigned ms = sg_served_news_poll_ms();
        if (sg_task_sleep(&st->task, st->waiting && ms > WAIT_POLL_MS ? WAIT_POLL_MS : ms))
            break;
        time_t now = time(NULL);
        if (!st->ks && sg_ks_open_existing(st->keystore, "daemon", &st->ks)) {
            if (now - st->said >= 60) {
                sg_log(SG_LOG_ERR, "zone", NULL, "dynamic: keystore %s cannot be read; the "
                       "zones served stay as they are", st->keystore);
                st->said = now;
            }
            continue;
        }
        if (sg_ks_file_moved(st->ks)) {
            sg_ks_free(st->ks);
            st->ks = NULL;
            continue;
        }
        int64_t c;
        if (!sg_ks_served_counter(st->ks, &c) && (c != st->counter || st->waiting) &&
            !rebuild(st, st->ks, 0))
            st->counter = c;
        sg_retire_reap(&st->retired, now, 0);
    }
    sg_ks_free(st->ks);
    st->ks = NULL;
    return NULL;
}

static void dyn_stop(void *state);

static void dyn_teardown(void *state)
{
    dyn_state *st = state;
    if (!st)
        return;
    dyn_stop(st);
    sg_retire_destroy(&st->retired);
    dtab *t = atomic_load(&st->tab);
    for (int i = 0; t && i < t->n; i++)
        sg_zonedb_release(t->z[i].zone);
    dtab_free(t);
    sg_ks_free(st->ks);
    sg_task_destroy(&st->task);
    free(st->scopes);
    free(st);
}

static int dyn_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    dyn_state *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    sg_task_init(&st->task);
    sg_retire_init(&st->retired);
    st->counter = -1;
    st->max_size = SG_ZONE_FILE_MAX_DEFAULT;
    int rc = SG_ESYNTAX;
    if (blk->nargs > 0) {
        sg_cfg_error(blk, "dynamic: takes no arguments (options go in a { } block: max-size, poll)");
        goto fail;
    }
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *d = &blk->children[i];
        uint64_t v;
        if (!strcmp(d->name, "poll")) {
            if (d->nargs != 1 || sg_cfg_parse_duration(d->args[0], &v) || v == 0 || v > 3600) {
                sg_cfg_error(d, "poll: expected a duration from 1s to 1h (e.g. 1s, 30s)");
                goto fail;
            }
            st->poll_ms = (unsigned)v * 1000;
            continue;
        }
        if (strcmp(d->name, "max-size")) {
            sg_cfg_error(d, "dynamic: unknown option '%s' (max-size, poll)", d->name);
            goto fail;
        }
        if (d->nargs == 1 && !strcmp(d->args[0], "unlimited"))
            st->max_size = 0;
        else if (d->nargs != 1 || sg_cfg_parse_size(d->args[0], &v) || v == 0) {
            sg_cfg_error(d, "max-size: expected a size (e.g. 64M, 2G) or 'unlimited'");
            goto fail;
        } else
            st->max_size = v;
    }
    /* the zones live in the keystore of the block's dnssec, which signs them by their
     * policies: without one there is nothing to serve them from, and nothing unsigned */
    st->keys = sg_setup_service(ctx, SG_SERVICE_KEYS);
    st->prep = sg_setup_preparer(ctx);
    if (!st->keys || !st->keys->keystore || !st->keys->keystore[0]) {
        sg_cfg_error(blk, "dynamic: serves the zones of a keystore: the block needs a 'dnssec' "
                     "block with its 'keystore'");
        goto fail;
    }
    snprintf(st->keystore, sizeof st->keystore, "%s", st->keys->keystore);
    rc = SG_ENOMEM;
    if (!(st->scopes = calloc(ctx->nzones ? (size_t)ctx->nzones : 1, sizeof *st->scopes)))
        goto fail;
    for (int i = 0; i < ctx->nzones; i++) {
        memcpy(st->scopes[i], ctx->zones[i], sg_name_len(ctx->zones[i]));
        sg_name_lower(st->scopes[i]);
    }
    st->nscopes = ctx->nzones;
    if (ctx->check_only) {
        /* -t: nothing is read (dnssec checked the keystore); an empty table */
        dtab *empty = dtab_new(NULL, 0);
        if (!empty)
            goto fail;
        atomic_store(&st->tab, empty);
        *state_out = st;
        return 0;
    }
    /* the zones served now, before anything serves: a restart serves what was added
     * while signetd was down */
    sg_keystore *ks = NULL;
    if ((rc = sg_ks_new(st->keystore, "daemon", &ks))) {
        sg_cfg_error(blk, "dynamic: cannot open keystore %s: %s", st->keystore, sg_strerror(rc));
        goto fail;
    }
    int64_t c = -1;
    rc = sg_ks_served_counter(ks, &c);
    if (!rc)
        rc = rebuild(st, ks, 0);
    sg_ks_free(ks);
    if (rc) {
        sg_cfg_error(blk, "dynamic: cannot read the served zones of %s: %s", st->keystore,
                     sg_strerror(rc));
        goto fail;
    }
    if (!atomic_load(&st->tab)) {
        dtab *empty = dtab_new(NULL, 0);
        if (!empty) {
            rc = SG_ENOMEM;
            goto fail;
        }
        atomic_store(&st->tab, empty);
    }
    st->counter = c;
    *state_out = st;
    return 0;
fail:
    dyn_teardown(st);
    return rc;
}

static int dyn_start(void *state)
{
    dyn_state *st = state;
    /* process-wide, read by the keymen too: the last block set up decides */
    sg_served_news_set_poll_ms(st->poll_ms);
    if (!st->subscribed)
        st->subscribed = !sg_served_news_subscribe(&st->task);
    return sg_task_start(&st->task, "sg-dynamic", poll_thread, st);
}

static void dyn_stop(void *state)
{
    dyn_state *st = state;
    if (!st)
        return;
    if (st->subscribed)
        sg_served_news_unsubscribe(&st->task);
    st->subscribed = 0;
    sg_task_stop(&st->task);
}

/* The served zone holding qname (the longest; a DS at an apex from the parent when both
 * are served), found by hashing each of qname's suffixes. Not one: the next handler, or
 * REFUSED. */
static int dyn_handle(sg_handler *self, sg_query *q)
{
    const dyn_state *st = self->state;
    const dtab *t = atomic_load(&((dyn_state *)st)->tab);
    const sg_zone *best = NULL;
    const uint8_t *p = q->qname;
    size_t len = q->qname_len;
    while (t && t->n) {
        int at = dtab_find(t, p, len);
        if (at >= 0 && sg_zone_better_match(t->z[at].zone, best, q))
            best = t->z[at].zone;
        if (!*p)
            break;
        len -= (size_t)p[0] + 1;
        p += p[0] + 1;
    }
    if (!best)
        return sg_next(self, q);
    sg_zone_answer(best, q);
    return 0;
}

static uint64_t dyn_version(void *state, const sg_query *q)
{
    (void)q;
    return atomic_load(&((dyn_state *)state)->gen);
}

static int dyn_nzones(const void *state)
{
    const dtab *t = state ? atomic_load(&((dyn_state *)state)->tab) : NULL;
    return t ? t->n : 0;
}

static const sg_zone *dyn_zone_at(const void *state, int i)
{
    const dtab *t = state ? atomic_load(&((dyn_state *)state)->tab) : NULL;
    return t && i >= 0 && i < t->n ? t->z[i].zone : NULL;
}

const sg_plugin sg_plugin_dynamic = {
    .name = "dynamic",
    .setup = dyn_setup,
    .start = dyn_start,
    .handle = dyn_handle,
    .version = dyn_version,
    .stop = dyn_stop,
    .teardown = dyn_teardown,
    .flags = SG_PLUGIN_RUNTIME_ZONES,
    .nzones = dyn_nzones,
    .zone = dyn_zone_at,
};
