/* SPDX-License-Identifier: MIT */
/* The `transfer` plugin: AXFR/IXFR out to listed secondaries (TSIG when keyed), NOTIFY
 * when the serial changes, and the served SOA kept in step with the transferred one. */
#include "transfer/catalog.h"
#include "transfer/stream.h"
#include "transfer/transfer.h"
#include "common/apex_index.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/retire.h"
#include "common/served_news.h"
#include "common/task.h"
#include "keystore/keystore.h"
#include "zones/zonedb.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tzone {
    uint8_t apex[SG_NAME_MAX];
    sg_xfr_zone *xz;          /* NULL under signetd -t */
} tzone;

/* The zones an instance transfers: an immutable table with a hash index by apex, replaced
 * whole when zones come and go at run time (read by queries without locks). */
typedef struct ttab {
    int n;
    tzone *z;
    sg_apex_index ix;
} ttab;

typedef struct tstate {
    sg_xfr_cfg cfg;
    const sg_tsig_keyring *kr;
    const sg_tsig_key *key;   /* the configured key, or NULL */
    const sg_key_provider *keys;
    char keystore[1024];      /* "" : the zones are not signed */
    _Atomic(ttab *) tab;
    int check_only;
    /* a block whose zones come and go (`dynamic`): its zones are scopes, and the zones
     * followed are the keystore's served zones inside them */
    int runtime;
    uint8_t (*scopes)[SG_NAME_MAX];
    int nscopes;
    /* the catalog zone (RFC 9432), when the block publishes one */
    int has_catalog;
    tzone cat;
    sg_zone_slot *cat_slot;   /* where its rendering is, for zonedb and queries */
    uint64_t cat_fp;          /* the member list rendered last (0: none yet) */
    int cat_published;
    int64_t started;
    /* the follower thread's own */
    sg_task task;
    sg_retire_list retired;   /* replaced tables, transfer states of zones gone */
    sg_keystore *ks;
    int64_t counter;          /* the served-zones counter the table is at */
    /* what the follow thread last looked at: the table, the process's count of first
     * versions, and whether every zone of it had one; nothing moved, nothing is walked */
    const void *seen_tab;
    uint64_t seen_first;
    int seen_all;
    int64_t said;
} tstate;

/* ---- config ------------------------------------------------------------------------ */

static int parse_net(const char *s, sg_xfr_net *n)
{
    memset(n, 0, sizeof *n);
    if (!strcmp(s, "*")) {
        n->prefix = -1;
        return 0;
    }
    char buf[80];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    long prefix = -2;
    if (slash) {
        char *end;
        *slash = 0;
        prefix = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end)
            return -1;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&n->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&n->addr;
    if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        n->prefix = prefix == -2 ? 32 : (int)prefix;
        return n->prefix >= 0 && n->prefix <= 32 ? 0 : -1;
    }
    if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        n->prefix = prefix == -2 ? 128 : (int)prefix;
        return n->prefix >= 0 && n->prefix <= 128 ? 0 : -1;
    }
    return -1;
}

/* ADDR, ADDR:PORT, [V6]:PORT, V6 */
static int parse_hostport(const char *s, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    char buf[80];
    snprintf(buf, sizeof buf, "%s", s);
    long port = 53;
    char *host = buf;
    char *colon = strrchr(buf, ':');
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close)
            return -1;
        *close = 0;
        host = buf + 1;
        if (close[1] == ':')
            colon = close + 1;
        else if (close[1])
            return -1;
        else
            colon = NULL;
    } else if (colon && strchr(buf, ':') != colon) {
        colon = NULL; /* a bare IPv6 address */
    }
    if (colon) {
        char *end;
        *colon = 0;
        port = strtol(colon + 1, &end, 10);
        if (!colon[1] || *end || port < 1 || port > 65535)
            return -1;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    return -1;
}

static int parse_size(const char *s, size_t *out)
{
    uint64_t v;
    if (sg_cfg_parse_size(s, &v))
        return -1;
    *out = (size_t)v;
    return 0;
}

int sg_xfr_parse(const sg_cfg_block *blk, sg_xfr_cfg *out)
{
    memset(out, 0, sizeof *out);
    out->serial = SG_SERIAL_INCREMENT;
    out->journal_bytes = 16u << 20;
    out->journal_age = 7 * 86400;
    out->workers = SG_XFR_WORKERS_DEFAULT;
    if (!blk->has_block)
        return sg_cfg_error(blk, "transfer: expected a { } block with at least one 'to' line");
    if (blk->nargs > 0)
        return sg_cfg_error(blk, "transfer: takes no arguments; it serves the block's zones");
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *d = &blk->children[i];
        if (d->has_block)
            return sg_cfg_error(d, "transfer: '%s' takes no block", d->name);
        if (!strcmp(d->name, "to")) {
            if (d->nargs < 1)
                return sg_cfg_error(d, "to: expected addresses or networks (ADDR[/PREFIX]) or *");
            for (int k = 0; k < d->nargs; k++) {
                if (out->nto == SG_XFR_MAX_PEERS)
                    return sg_cfg_error(d, "to: at most %d entries", SG_XFR_MAX_PEERS);
                if (parse_net(d->args[k], &out->to[out->nto++]))
                    return sg_cfg_error(d, "to: '%s' is not an address, ADDR/PREFIX or *", d->args[k]);
            }
        } else if (!strcmp(d->name, "key")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->key)
                return sg_cfg_error(d, "key: expected the name of a tsig-key of the options block");
            snprintf(out->key, sizeof out->key, "%s", d->args[0]);
        } else if (!strcmp(d->name, "notify")) {
            if (d->nargs < 1)
                return sg_cfg_error(d, "notify: expected ADDR[:PORT]...");
            for (int k = 0; k < d->nargs; k++) {
                if (out->nnotify == SG_XFR_MAX_PEERS)
                    return sg_cfg_error(d, "notify: at most %d targets", SG_XFR_MAX_PEERS);
                if (parse_hostport(d->args[k], &out->notify[out->nnotify++]))
                    return sg_cfg_error(d, "notify: '%s' is not ADDR, ADDR:PORT or [ADDR]:PORT",
                                        d->args[k]);
            }
        } else if (!strcmp(d->name, "serial")) {
            if (d->nargs != 1 || sg_serial_policy_parse(d->args[0], &out->serial))
                return sg_cfg_error(d, "serial: expected keep, increment, unixtime or dateserial");
        } else if (!strcmp(d->name, "journal")) {
            uint64_t age = 0;
            if (d->nargs < 1 || d->nargs > 2 || parse_size(d->args[0], &out->journal_bytes) ||
                (d->nargs == 2 && sg_cfg_parse_duration(d->args[1], &age)))
                return sg_cfg_error(d, "journal: expected SIZE [AGE] (e.g. 16m 1w; 0: no IXFR)");
            if (d->nargs == 2)
                out->journal_age = (int64_t)age;
        } else if (!strcmp(d->name, "compact-as-nsec")) {
            if (d->nargs)
                return sg_cfg_error(d, "compact-as-nsec: takes no arguments");
            out->compact_as_nsec = 1;
        } else if (!strcmp(d->name, "catalog")) {
            uint8_t wire[SG_NAME_MAX];
            if ((d->nargs != 1 && d->nargs != 3) || strlen(d->args[0]) >= sizeof out->catalog ||
                sg_name_from_str(d->args[0], (const uint8_t *)"", wire) ||
                (d->nargs == 3 && strcmp(d->args[1], "group")))
                return sg_cfg_error(d, "catalog: expected NAME [group GROUP] (the catalog zone "
                                    "listing the block's zones, RFC 9432)");
            if (out->catalog[0])
                return sg_cfg_error(d, "catalog: given twice; one catalog zone per block");
            if (d->nargs == 3 && (!d->args[2][0] || strlen(d->args[2]) > 255))
                return sg_cfg_error(d, "catalog: a group is 1 to 255 characters");
            snprintf(out->catalog, sizeof out->catalog, "%s", d->args[0]);
            if (d->nargs == 3)
                snprintf(out->catalog_group, sizeof out->catalog_group, "%s", d->args[2]);
        } else if (!strcmp(d->name, "version-workers")) {
            char *end = NULL;
            long n = d->nargs == 1 ? strtol(d->args[0], &end, 10) : 0;
            if (d->nargs != 1 || !end || *end || n < 1 || n > SG_XFR_WORKERS_MAX)
                return sg_cfg_error(d, "version-workers: expected a number of threads, 1 to %d",
                                    SG_XFR_WORKERS_MAX);
            out->workers = (int)n;
        } else if (!strcmp(d->name, "state-dir")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->state_dir)
                return sg_cfg_error(d, "state-dir: expected a directory");
            snprintf(out->state_dir, sizeof out->state_dir, "%s", d->args[0]);
        } else {
            return sg_cfg_error(d, "transfer: unknown option '%s' (to, key, notify, serial, "
                                "journal, compact-as-nsec, state-dir, catalog, version-workers)", d->name);
        }
    }
    if (out->nto == 0)
        return sg_cfg_error(blk, "transfer: a 'to' line is required (who may transfer the zones)");
    return 0;
}

int sg_xfr_net_match(const sg_xfr_net *nets, int n, const struct sockaddr *addr)
{
    if (!addr)
        return 0;
    for (int i = 0; i < n; i++) {
        const sg_xfr_net *x = &nets[i];
        if (x->prefix < 0)
            return 1;
        const uint8_t *a, *b;
        int bits;
        if (addr->sa_family == AF_INET && x->addr.ss_family == AF_INET) {
            a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
            b = (const uint8_t *)&((const struct sockaddr_in *)&x->addr)->sin_addr;
            bits = 32;
        } else if (addr->sa_family == AF_INET6 && x->addr.ss_family == AF_INET6) {
            a = (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
            b = (const uint8_t *)&((const struct sockaddr_in6 *)&x->addr)->sin6_addr;
            bits = 128;
        } else {
            continue;
        }
        int p = x->prefix < bits ? x->prefix : bits, k = 0;
        for (; p >= 8; p -= 8, k++)
            if (a[k] != b[k])
                break;
        if (p >= 8)
            continue;
        if (p == 0 || ((a[k] ^ b[k]) & (0xff00 >> p)) == 0)
            return 1;
    }
    return 0;
}

/* ---- the zones followed -------------------------------------------------------------- */

/* How often the follower looks while something is under way (a zone waits for its first
 * version, the catalog is not published yet): a zone added is in the catalog within a
 * second. Idle, it sleeps the served-news poll (500 ms by default) and is woken by news
 * (`signetctl zone add/remove`, `dynamic` taking a new table): 10,000 idle zones cost no
 * keystore read five times a second. */
#define FOLLOW_MS 200
/* After a start, the catalog waits this long for the versions of zones already served
 * before it lists fewer: a consumer deletes a zone that leaves the catalog. */
#define CATALOG_SETTLE_S 10

static void xz_release_v(void *p) { sg_xfr_zone_release(p); }

static const uint8_t *tzone_apex(const void *table, int i)
{
    return ((const tzone *)table)[i].apex;
}

static ttab *ttab_new(tzone *z, int n)
{
    ttab *t = calloc(1, sizeof *t);
    if (!t || sg_apex_index_build(&t->ix, z, n, tzone_apex)) {
        free(t);
        return NULL;
    }
    t->z = z;
    t->n = n;
    return t;
}

/* The table alone: its zones' states are moved on or released by the caller. */
static void ttab_free(ttab *t)
{
    if (!t)
        return;
    free(t->z);
    sg_apex_index_free(&t->ix);
    free(t);
}

static void ttab_free_v(void *p) { ttab_free(p); }

/* The entry for apex (lower-case wire form of length len) in t, or NULL. */
static tzone *ttab_find(const ttab *t, const uint8_t *apex, size_t len)
{
    int i = t ? sg_apex_index_find(&t->ix, t->z, tzone_apex, apex, len) : -1;
    return i < 0 ? NULL : &t->z[i];
}

/* The transfer state of one zone (not under -t). */
static int zone_acquire(tstate *st, tzone *z)
{
    if (st->check_only)
        return 0;
    /* an adopted zone's floor (the provider, dnssec, is set up before us: plugin.cfg) */
    sg_xfr_cfg zc = st->cfg;
    zc.catalog[0] = 0;
    if (st->keys && st->keys->serial_floor &&
        st->keys->serial_floor(st->keys->self, z->apex, &zc.floor) == 0)
        zc.has_floor = 1;
    return sg_xfr_zone_acquire(z->apex, &zc, st->key, st->keystore, &z->xz);
}

static int in_scope(const tstate *st, const uint8_t *apex)
{
    for (int i = 0; i < st->nscopes; i++)
        if (sg_name_is_sub(apex, st->scopes[i]))
            return 1;
    return 0;
}

/* The keystore's served zones in the block's scopes now into a new table: a zone still
 * served keeps its transfer state, a new one gets one (its thread makes the first version
 * once `dynamic` has loaded it), and the state of one no longer served is let go after
 * the grace period (a query may still hold it). */
static int follow_rebuild(tstate *st, sg_keystore *ks)
{
    sg_ks_served *list = NULL;
    size_t n = 0;
    int rc = sg_ks_served_list(ks, &list, &n);
    if (rc)
        return rc;
    ttab *old = atomic_load(&st->tab);
    tzone *z = calloc(n ? n : 1, sizeof *z);
    char *moved = old && old->n ? calloc((size_t)old->n, 1) : NULL;
    if (!z || (old && old->n && !moved)) {
        free(z);
        free(moved);
        free(list);
        return SG_ENOMEM;
    }
    int nn = 0, added = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t apex[SG_NAME_MAX];
        if (sg_name_from_str(list[i].name, (const uint8_t *)"", apex))
            continue;
        sg_name_lower(apex);
        /* names at or below the catalog are its own (transfer answers them first) */
        if (!in_scope(st, apex) || (st->has_catalog && sg_name_is_sub(apex, st->cat.apex)))
            continue;
        int dup = 0;
        for (int k = 0; k < nn && !dup; k++)
            dup = sg_name_eq(z[k].apex, apex);
        if (dup)
            continue;
        tzone *was = ttab_find(old, apex, sg_name_len(apex));
        if (was) {
            z[nn++] = *was;
            moved[was - old->z] = 1;
            continue;
        }
        memcpy(z[nn].apex, apex, sg_name_len(apex));
        if ((rc = zone_acquire(st, &z[nn]))) {
            sg_log(SG_LOG_ERR, "transfer", list[i].name, "cannot follow the zone: %s; it is "
                   "not transferred", sg_strerror(rc));
            continue;
        }
        nn++;
        added++;
    }
    free(list);
    ttab *t = ttab_new(z, nn);
    if (!t) {
        for (int i = 0; i < nn; i++)
            if (!ttab_find(old, z[i].apex, sg_name_len(z[i].apex)))
                sg_xfr_zone_release(z[i].xz);
        free(z);
        free(moved);
        return SG_ENOMEM;
    }
    atomic_store(&st->tab, t);
    int removed = 0;
    time_t now = time(NULL);
    for (int i = 0; old && i < old->n; i++)
        if (!moved[i]) {
            char name[1024];
            sg_name_to_str(old->z[i].apex, name, sizeof name);
            sg_ks_zone kz;
            int purged = sg_ks_zone_get(ks, name, &kz) == SG_ENOTFOUND;
            sg_log(SG_LOG_INFO, "transfer", name, "no longer served: no longer transferred%s",
                   purged ? "; purged from the keystore, its transfer state goes too" : "");
            if (old->z[i].xz && purged)
                sg_xfr_zone_purge(old->z[i].xz);
            if (old->z[i].xz)
                sg_retire(&st->retired, old->z[i].xz, xz_release_v, now);
            removed++;
        }
    free(moved);
    if (old)
        sg_retire(&st->retired, old, ttab_free_v, now);
    if (added || removed)
        sg_log(SG_LOG_INFO, "transfer", NULL, "%d zones followed (+%d, -%d)", nn, added, removed);
    return 0;
}

static uint64_t member_fp(const ttab *t, int *ready_out, int *all_out)
{
    uint64_t fp = 0x9e3779b97f4a7c15ull;
    int ready = 0;
    for (int i = 0; t && i < t->n; i++)
        if (t->z[i].xz && sg_xfr_zone_peek(t->z[i].xz)) {
            /* order-free: the table's order is the keystore's */
            uint64_t h = sg_name_hash(t->z[i].apex, sg_name_len(t->z[i].apex));
            fp += h * 0xff51afd7ed558ccdull ^ (h >> 29);
            ready++;
        }
    *ready_out = ready;
    *all_out = t ? ready == t->n : 1;
    return fp + (uint64_t)ready;
}

/* The catalog lists the zones that can be transferred (a version is built): a consumer
 * told of a zone asks for it at once. A zone that goes leaves it at once. */
static void catalog_update(tstate *st, int64_t now)
{
    const ttab *t = atomic_load(&st->tab);
    int ready, all;
    uint64_t fp = member_fp(t, &ready, &all);
    if (st->cat_published && fp == st->cat_fp)
        return;
    if (!st->cat_published && !all && now - st->started < CATALOG_SETTLE_S)
        return; /* just started: the zones served before are building their versions */
    const uint8_t **m = calloc(ready ? (size_t)ready : 1, sizeof *m);
    if (!m)
        return;
    int k = 0;
    for (int i = 0; t && i < t->n; i++)
        if (t->z[i].xz && sg_xfr_zone_peek(t->z[i].xz))
            m[k++] = t->z[i].apex;
    sg_zone *z = NULL;
    int rc = sg_catalog_build(st->cat.apex, m, k, st->cfg.catalog_group[0] ? st->cfg.catalog_group
                                                                          : NULL,
                              (uint32_t)now, &z);
    free(m);
    if (rc) {
        if (now - st->said >= 60) {
            sg_log(SG_LOG_ERR, "transfer", st->cfg.catalog, "cannot build the catalog zone: %s",
                   sg_strerror(rc));
            st->said = now;
        }
        return;
    }
    st->cat_fp = fp;
    st->cat_published = 1;
    const sg_zone *cur = sg_zonedb_slot_zone(st->cat_slot);
    if (cur && sg_catalog_same(cur, z)) {
        sg_zone_free(z); /* a reload: the members did not change, nor does the serial */
        return;
    }
    if (sg_zonedb_slot_publish(st->cat_slot, z))
        return;
    sg_log(SG_LOG_INFO, "transfer", st->cfg.catalog, "catalog: %d member zones", k);
    sg_xfr_zone_wake(st->cat.xz);
}

static void *follow_thread(void *arg)
{
    tstate *st = arg;
    for (;;) {
        int busy = !st->seen_all || (st->has_catalog && !st->cat_published);
        unsigned idle_ms = sg_served_news_poll_ms();
        if (sg_task_sleep(&st->task, busy || idle_ms < FOLLOW_MS ? FOLLOW_MS : idle_ms))
            break;
        int64_t now = (int64_t)time(NULL);
        if (st->runtime) {
            if (!st->ks && sg_ks_open_existing(st->keystore, "transfer", &st->ks)) {
                st->ks = NULL;
                if (now - st->said >= 60) {
                    sg_log(SG_LOG_ERR, "transfer", NULL, "keystore %s cannot be read; the zones "
                           "transferred stay as they are", st->keystore);
                    st->said = now;
                }
            } else if (sg_ks_file_moved(st->ks)) {
                sg_ks_free(st->ks);
                st->ks = NULL;
            } else {
                int64_t c;
                if (!sg_ks_served_counter(st->ks, &c) && c != st->counter &&
                    !follow_rebuild(st, st->ks))
                    st->counter = c;
            }
        }
        /* a zone without a version yet: look again now rather than at its next second
         * (`dynamic` loads a zone added at run time within a few hundred ms). Walked only
         * while some zone lacks one or something moved (a new table, a first version
         * somewhere): an idle block of many thousand zones walks none five times a second
         * (a table's address is not reused while the follow thread can still see it: a
         * replaced one is retired, here, after the grace period) */
        const ttab *t = atomic_load(&st->tab);
        uint64_t first = sg_xfr_first_versions();
        int moved = (const void *)t != st->seen_tab || first != st->seen_first;
        if (moved || !st->seen_all) {
            int all = 1;
            for (int i = 0; t && i < t->n; i++)
                if (t->z[i].xz && !sg_xfr_zone_peek(t->z[i].xz)) {
                    sg_xfr_zone_wake(t->z[i].xz);
                    all = 0;
                }
            st->seen_all = all;
        }
        if (st->has_catalog && (moved || !st->cat_published))
            catalog_update(st, now);
        st->seen_tab = t;
        st->seen_first = first;
        sg_retire_reap(&st->retired, (time_t)now, 0);
    }
    return NULL;
}

static void teardown(void *state)
{
    tstate *st = state;
    if (!st)
        return;
    sg_served_news_unsubscribe(&st->task);
    sg_task_stop(&st->task);
    sg_retire_destroy(&st->retired);
    ttab *t = atomic_load(&st->tab);
    for (int i = 0; t && i < t->n; i++)
        sg_xfr_zone_release(t->z[i].xz);
    ttab_free(t);
    sg_xfr_zone_release(st->cat.xz);
    sg_zonedb_slot_release(st->cat_slot);
    sg_ks_free(st->ks);
    sg_task_destroy(&st->task);
    free(st->scopes);
    free(st);
}

/* The catalog zone's own transfer state: unsigned, its serial the time (never behind the
 * last served one, kept in state-dir), under the block's TSIG key and NOTIFY targets. */
static int catalog_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, tstate *st)
{
    const sg_cfg_block *line = blk;
    for (int i = 0; i < blk->nchildren; i++)
        if (!strcmp(blk->children[i].name, "catalog"))
            line = &blk->children[i];
    if (sg_name_from_str(st->cfg.catalog, (const uint8_t *)"", st->cat.apex))
        return sg_cfg_error(line, "catalog: '%s' is not a domain name", st->cfg.catalog);
    sg_name_lower(st->cat.apex);
    int reached = 0;
    for (int i = 0; i < ctx->nzones && !reached; i++)
        reached = sg_name_is_sub(st->cat.apex, ctx->zones[i]);
    if (!reached)
        return sg_cfg_error(line, "catalog: %s is not inside the block's zones, so its "
                            "transfers would not reach this block; name it inside them (a "
                            "block for '.' takes any name, e.g. catalog.invalid)", st->cfg.catalog);
    /* a static block may name the catalog as one of its zones (it is then not a member);
     * a zone below it would be hidden by it */
    for (int i = 0; i < ctx->nzones && !st->runtime; i++)
        if (sg_name_is_sub(ctx->zones[i], st->cat.apex) && !sg_name_eq(ctx->zones[i], st->cat.apex))
            return sg_cfg_error(line, "catalog: %s would hide the block's zone below it",
                                st->cfg.catalog);
    sg_xfr_cfg cc = st->cfg;
    cc.serial = SG_SERIAL_UNIXTIME;
    cc.has_floor = 0;
    cc.compact_as_nsec = 0;
    if (!cc.state_dir[0]) {
        if (!st->keystore[0])
            return sg_cfg_error(line, "catalog: needs a 'state-dir' (where its serial is kept) "
                                "in a block without a dnssec keystore");
        snprintf(cc.state_dir, sizeof cc.state_dir, "%s", st->keystore);
        char *slash = strrchr(cc.state_dir, '/');
        if (slash && slash != cc.state_dir)
            *slash = 0;
        else
            snprintf(cc.state_dir, sizeof cc.state_dir, "%s", slash ? "/" : ".");
    }
    st->has_catalog = 1;
    if (ctx->check_only)
        return 0;
    int rc = sg_zonedb_slot_acquire(st->cfg.catalog, &st->cat_slot);
    if (!rc)
        rc = sg_xfr_zone_acquire(st->cat.apex, &cc, st->key, "", &st->cat.xz);
    return rc;
}

static int setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    tstate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    sg_task_init(&st->task);
    sg_retire_init(&st->retired);
    st->counter = -1;
    st->check_only = ctx->check_only;
    st->started = (int64_t)time(NULL);
    int rc = sg_xfr_parse(blk, &st->cfg);
    if (rc)
        goto fail;
    st->kr = ctx->tsig;
    if (st->cfg.key[0] && !(st->key = sg_tsig_find(ctx->tsig, st->cfg.key))) {
        rc = sg_cfg_error(blk, "transfer: no tsig-key '%s' in the options block", st->cfg.key);
        goto fail;
    }
    /* the keys of a signed zone are where the block's key provider (dnssec) keeps them */
    st->keys = sg_setup_service(ctx, SG_SERVICE_KEYS);
    snprintf(st->keystore, sizeof st->keystore, "%s",
             st->keys && st->keys->keystore ? st->keys->keystore : "");
    /* the provider tells of key changes: a signed zone then takes a turn when its keys
     * change, not every second to see whether they did (issue 17) */
    if (st->keys && st->keys->watch && !ctx->check_only) {
        st->keys->watch(st->keys->self, sg_xfr_keys_changed);
        st->cfg.keys_told = 1;
    }
    st->runtime = ctx->runtime_zones;
    if (st->runtime && !st->keystore[0]) {
        rc = sg_cfg_error(blk, "transfer: the block's zones come and go at run time: they are "
                          "the zones of its dnssec keystore, and the block has none");
        goto fail;
    }
    if (st->cfg.catalog[0] && (rc = catalog_setup(blk, ctx, st)))
        goto fail;
    if (st->runtime) {
        rc = SG_ENOMEM;
        if (!(st->scopes = calloc(ctx->nzones ? (size_t)ctx->nzones : 1, sizeof *st->scopes)))
            goto fail;
        for (int i = 0; i < ctx->nzones; i++) {
            memcpy(st->scopes[i], ctx->zones[i], sg_name_len(ctx->zones[i]));
            sg_name_lower(st->scopes[i]);
        }
        st->nscopes = ctx->nzones;
        ttab *empty = ttab_new(NULL, 0);
        if (!empty)
            goto fail;
        atomic_store(&st->tab, empty);
        if (!ctx->check_only) {
            /* the zones served now, so that a reload or a start transfers them at once */
            sg_keystore *ks = NULL;
            int64_t c = -1;
            if ((rc = sg_ks_new(st->keystore, "transfer", &ks)) ||
                (rc = sg_ks_served_counter(ks, &c)) || (rc = follow_rebuild(st, ks))) {
                sg_ks_free(ks);
                rc = sg_cfg_error(blk, "transfer: cannot read the served zones of %s: %s",
                                  st->keystore, sg_strerror(rc));
                goto fail;
            }
            sg_ks_free(ks);
            st->counter = c;
        }
    } else {
        tzone *z = calloc(ctx->nzones ? (size_t)ctx->nzones : 1, sizeof *z);
        int n = 0;
        rc = SG_ENOMEM;
        if (!z)
            goto fail;
        rc = 0;
        for (int i = 0; rc == 0 && i < ctx->nzones; i++) {
            memcpy(z[n].apex, ctx->zones[i], sg_name_len(ctx->zones[i]));
            sg_name_lower(z[n].apex);
            if (st->has_catalog && sg_name_eq(z[n].apex, st->cat.apex))
                continue; /* the catalog itself */
            rc = zone_acquire(st, &z[n++]);
        }
        ttab *t = rc ? NULL : ttab_new(z, n);
        if (!rc && !t)
            rc = SG_ENOMEM;
        if (t)
            atomic_store(&st->tab, t);
        if (rc) {
            for (int i = 0; i < n; i++)
                sg_xfr_zone_release(z[i].xz);
            free(z);
            goto fail;
        }
    }
    *state_out = st;
    return 0;
fail:
    teardown(st);
    return rc;
}

static int start(void *state)
{
    tstate *st = state;
    if (!st->runtime && !st->has_catalog)
        return 0; /* the zones were fixed at setup: nothing to follow */
    st->started = (int64_t)time(NULL);
    if (st->runtime)
        sg_served_news_subscribe(&st->task); /* on failure it only polls */
    return sg_task_start(&st->task, "sg-xfr-follow", follow_thread, st);
}

static void stop(void *state)
{
    tstate *st = state;
    if (st) {
        sg_served_news_unsubscribe(&st->task);
        sg_task_stop(&st->task);
    }
}
/* ---- the query path ------------------------------------------------------------------ */

/* The zone state for apex (an AXFR/IXFR's or SOA query's name, a reply's zone). */
static tzone *zone_of(tstate *st, const uint8_t *apex)
{
    if (st->has_catalog && sg_name_eq(apex, st->cat.apex))
        return &st->cat;
    return ttab_find(atomic_load(&st->tab), apex, sg_name_len(apex));
}

static void peer_text(const sg_query *q, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (q->client && q->client->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)q->client)->sin_addr, ip, sizeof ip);
    else if (q->client && q->client->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)q->client)->sin6_addr, ip, sizeof ip);
    snprintf(buf, cap, "%s", ip);
}

/* The serial of the SOA in an IXFR query's authority section; 0 if it has none. */
static int ixfr_serial(const sg_query *q, uint32_t *serial)
{
    const uint8_t *m = q->wire;
    size_t len = q->wire_len, o = 12 + q->question_len;
    if (len < 12 || !(m[8] | m[9]))
        return 0;
    /* owner: a pointer to the question, or the name itself */
    while (o < len && m[o] && (m[o] & 0xc0) != 0xc0)
        o += m[o] + 1u;
    if (o >= len)
        return 0;
    o += (m[o] & 0xc0) == 0xc0 ? 2 : 1;
    if (o + 10 > len || m[o] != 0 || m[o + 1] != SG_TYPE_SOA)
        return 0;
    size_t rdl = (size_t)m[o + 8] << 8 | m[o + 9], p = o + 10;
    if (p + rdl > len || rdl < 22)
        return 0;
    for (int n = 0; n < 2; n++) { /* MNAME and RNAME, maybe compressed */
        while (p < len && m[p] && (m[p] & 0xc0) != 0xc0)
            p += m[p] + 1u;
        if (p >= len)
            return 0;
        p += (m[p] & 0xc0) == 0xc0 ? 2 : 1;
    }
    if (p + 20 > o + 10 + rdl)
        return 0;
    *serial = (uint32_t)m[p] << 24 | (uint32_t)m[p + 1] << 16 | (uint32_t)m[p + 2] << 8 | m[p + 3];
    return 1;
}

/* A reply without records (errors), TSIG-signed through tc when it carries a key or an
 * error to report. */
static int reply_empty(sg_query *q, uint16_t rcode, sg_tsig_ctx *tc)
{
    if (!tc || (!tc->key && !tc->error)) {
        q->rcode = rcode;
        return 0;
    }
    uint8_t *m = q->out;
    memset(m, 0, 12);
    m[0] = q->id >> 8;
    m[1] = q->id & 0xff;
    m[2] = 0x80 | (q->opcode << 3) | 0x04;
    m[3] = rcode & 0xf;
    m[5] = q->question_len ? 1 : 0;
    memcpy(m + 12, q->wire + 12, q->question_len);
    size_t len = 12 + q->question_len;
    if (sg_tsig_sign(tc, m, &len, q->out_cap, (uint64_t)time(NULL))) {
        q->rcode = rcode;
        return 0;
    }
    q->out_len = len;
    return 0;
}

static int xfr_answer(tstate *st, tzone *tz, sg_query *q)
{
    char peer[64];
    peer_text(q, peer, sizeof peer);
    const char *kind = q->qtype == SG_TYPE_AXFR ? "AXFR" : "IXFR";
    char zname[1024];
    sg_name_to_str(q->qname, zname, sizeof zname);
    if (!tz) {
        q->rcode = SG_RCODE_NOTAUTH; /* not a zone apex we serve (RFC 5936 2.2.1) */
        return 0;
    }
    if (!sg_xfr_net_match(st->cfg.to, st->cfg.nto, q->client)) {
        sg_log(SG_LOG_WARN, "transfer", zname, "%s from %s refused: not in 'to'", kind, peer);
        q->rcode = SG_RCODE_REFUSED;
        return 0;
    }
    sg_tsig_ctx tc;
    sg_tsig_ctx_init(&tc, NULL);
    uint16_t terr = 0;
    int rc = sg_tsig_verify_request(&tc, st->kr, q->wire, q->wire_len, (uint64_t)time(NULL), &terr);
    int out = 0;
    if (rc == SG_EMALFORMED) {
        q->rcode = SG_RCODE_FORMERR;
        goto done;
    }
    if (rc == 0 && terr) {
        sg_log(SG_LOG_WARN, "transfer", zname, "%s from %s refused: TSIG %s", kind, peer,
               terr == SG_TSIG_BADKEY ? "BADKEY (unknown key)" : terr == SG_TSIG_BADSIG ? "BADSIG"
               : terr == SG_TSIG_BADTIME ? "BADTIME" : "BADTRUNC");
        out = reply_empty(q, SG_RCODE_NOTAUTH, &tc);
        goto done;
    }
    int authentic = rc == 0;
    if (st->key && (!authentic || !sg_name_eq(tc.key->name, st->key->name))) {
        sg_log(SG_LOG_WARN, "transfer", zname, "%s from %s refused: %s", kind, peer,
               authentic ? "signed with another key" : "not signed with the transfer key");
        out = reply_empty(q, SG_RCODE_REFUSED, authentic ? &tc : NULL);
        goto done;
    }
    sg_tsig_ctx *sign = authentic ? &tc : NULL;
    sg_xfr_snap *snap = sg_xfr_zone_current(tz->xz);
    if (!snap) {
        sg_log(SG_LOG_WARN, "transfer", zname, "%s from %s: no version built yet", kind, peer);
        out = reply_empty(q, SG_RCODE_SERVFAIL, sign);
        goto done;
    }
    if (snap->denial == SG_KS_DENIAL_COMPACT && !st->cfg.compact_as_nsec) {
        sg_log(SG_LOG_ERR, "transfer", zname, "%s from %s refused: the zone uses compact denial "
               "(RFC 9824), which has no NSEC chain to transfer; add 'compact-as-nsec' to the "
               "transfer block to send one", kind, peer);
        sg_xfr_snap_unref(snap);
        out = reply_empty(q, SG_RCODE_REFUSED, sign);
        goto done;
    }
    enum sg_xfr_mode mode = SG_XFR_AXFR;
    sg_xfr_diff **diffs = NULL;
    size_t nd = 0;
    uint32_t have = 0;
    if (q->qtype == SG_TYPE_IXFR && ixfr_serial(q, &have)) {
        if (!sg_serial_newer(snap->serial, have))
            mode = SG_XFR_SOA_ONLY; /* current (or ahead of us): nothing to send */
        else if (q->transport == SG_TRANSPORT_UDP)
            mode = SG_XFR_SOA_ONLY; /* RFC 1995 2: the SOA tells it to come over TCP */
        else if (sg_xfr_journal_chain(sg_xfr_zone_journal(tz->xz), have, snap->serial,
                                      (int64_t)time(NULL), &diffs, &nd) == 0)
            mode = SG_XFR_IXFR;
        else
            kind = "IXFR->AXFR"; /* RFC 1995 4: the journal has no path from its serial */
    } else if (q->transport == SG_TRANSPORT_UDP) {
        /* AXFR is TCP only (RFC 5936 4.2); an IXFR without SOA is malformed */
        sg_xfr_snap_unref(snap);
        out = reply_empty(q, q->qtype == SG_TYPE_AXFR ? SG_RCODE_REFUSED : SG_RCODE_FORMERR, sign);
        goto done;
    }
    if (mode == SG_XFR_SOA_ONLY)
        kind = "IXFR (up to date)";
    sg_xfr_stream *s = sg_xfr_stream_new(snap, mode, diffs, nd, q, sign, kind, peer);
    if (!s) {
        sg_xfr_snap_unref(snap);
        for (size_t i = 0; i < nd; i++)
            sg_xfr_diff_unref(diffs[i]);
        free(diffs);
        out = SG_ENOMEM;
        goto done;
    }
    size_t cap = q->transport == SG_TRANSPORT_UDP ? q->max_size : q->out_cap;
    long n = sg_xfr_stream_next(s, q->out, cap);
    if (n < 0) {
        sg_xfr_stream_free(s);
        out = (int)n;
        goto done;
    }
    q->out_len = (size_t)n;
    if (s->finished)
        sg_xfr_stream_free(s);
    else
        q->stream = (sg_stream){ .next = sg_xfr_stream_next, .done = sg_xfr_stream_free, .ctx = s };
done:
    sg_tsig_ctx_deinit(&tc);
    return out;
}

/* A TSIG-signed SOA query at the apex (a secondary's refresh check) gets a signed reply
 * (RFC 8945 5.3) with the version's SOA; 1 when answered here. */
static int soa_answer(tstate *st, tzone *tz, sg_query *q, int *rc_out)
{
    const uint8_t *m = q->wire;
    if (!tz || !tz->xz || q->wire_len < 12 || !(m[10] | m[11]))
        return 0;
    sg_tsig_ctx tc;
    sg_tsig_ctx_init(&tc, NULL);
    uint16_t terr = 0;
    int rc = sg_tsig_verify_request(&tc, st->kr, m, q->wire_len, (uint64_t)time(NULL), &terr);
    int answered = 1;
    *rc_out = 0;
    if (rc == SG_ENOTFOUND) {
        answered = 0;
    } else if (rc == SG_EMALFORMED) {
        q->rcode = SG_RCODE_FORMERR;
    } else if (rc == 0 && terr) {
        char peer[64], zname[1024];
        peer_text(q, peer, sizeof peer);
        sg_name_to_str(q->qname, zname, sizeof zname);
        sg_log(SG_LOG_WARN, "transfer", zname, "SOA query from %s: TSIG %s", peer,
               terr == SG_TSIG_BADKEY ? "BADKEY (unknown key)" : terr == SG_TSIG_BADSIG ? "BADSIG"
               : terr == SG_TSIG_BADTIME ? "BADTIME" : "BADTRUNC");
        *rc_out = reply_empty(q, SG_RCODE_NOTAUTH, &tc);
    } else {
        sg_xfr_snap *snap = sg_xfr_zone_current(tz->xz);
        sg_xfr_stream *s = snap ? sg_xfr_stream_new(snap, SG_XFR_SOA_ONLY, NULL, 0, q, &tc, "", "")
                                : NULL;
        long n = s ? sg_xfr_stream_next(s, q->out, q->transport == SG_TRANSPORT_UDP ? q->max_size
                                                                                    : q->out_cap)
                   : SG_ENOMEM;
        if (s)
            sg_xfr_stream_free(s);
        else
            sg_xfr_snap_unref(snap);
        if (n > 0)
            q->out_len = (size_t)n;
        else
            *rc_out = reply_empty(q, SG_RCODE_SERVFAIL, &tc);
    }
    sg_tsig_ctx_deinit(&tc);
    return answered;
}

static int handle(sg_handler *self, sg_query *q)
{
    tstate *st = self->state;
    if (q->qtype == SG_TYPE_AXFR || q->qtype == SG_TYPE_IXFR)
        return xfr_answer(st, zone_of(st, q->qname), q);
    int src;
    if (q->qtype == SG_TYPE_SOA && soa_answer(st, zone_of(st, q->qname), q, &src))
        return src;
    int rc = 0;
    if (st->has_catalog && sg_name_is_sub(q->qname, st->cat.apex)) {
        /* the catalog is ours: answered here, unsigned (no key provider has it) */
        const sg_zone *cz = st->cat_slot ? sg_zonedb_slot_zone(st->cat_slot) : NULL;
        if (!cz) {
            q->rcode = SG_RCODE_SERVFAIL; /* not rendered yet (the first second) */
            return 0;
        }
        sg_zone_answer(cz, q);
    } else {
        rc = sg_next(self, q);
    }
    if (rc || !q->zone)
        return rc;
    tzone *tz = zone_of(st, q->zone->apex);
    const sg_rrset *soa = tz && tz->xz ? sg_xfr_zone_soa(tz->xz, q->zone) : NULL;
    if (!soa)
        return 0;
    /* the served SOA is the transferred one: same serial over UDP, TCP and AXFR */
    sg_section *secs[2] = { &q->an, &q->ns };
    for (int s = 0; s < 2; s++)
        for (uint16_t i = 0; i < secs[s]->n; i++)
            if (secs[s]->refs[i].rrset == q->zone->soa)
                secs[s]->refs[i].rrset = soa;
    return 0;
}

/* The served SOA changes with each version, also without a reload (new keys, refreshed
 * signatures): the cache keys replies on it. The longest zone holding the name is found
 * by hashing each of its suffixes. */
static uint64_t version(void *state, const sg_query *q)
{
    tstate *st = state;
    if (st->has_catalog && sg_name_is_sub(q->qname, st->cat.apex)) {
        const sg_zone *cz = st->cat_slot ? sg_zonedb_slot_zone(st->cat_slot) : NULL;
        const sg_xfr_snap *s = st->cat.xz ? sg_xfr_zone_peek(st->cat.xz) : NULL;
        return (cz ? cz->gen << 32 : 0) ^ (s ? s->serial : 0);
    }
    const ttab *t = atomic_load(&st->tab);
    const uint8_t *p = q->qname;
    size_t len = sg_name_len(p);
    while (t && t->n) {
        const tzone *z = ttab_find(t, p, len);
        if (z) {
            const sg_xfr_snap *s = z->xz ? sg_xfr_zone_peek(z->xz) : NULL;
            return s ? s->serial : 0;
        }
        if (!*p)
            break;
        len -= (size_t)p[0] + 1;
        p += p[0] + 1;
    }
    return 0;
}

/* What `signetctl status` lists: the catalog zone, rendered here. */
static int nzones(const void *state)
{
    const tstate *st = state;
    return st && st->has_catalog ? 1 : 0;
}

static const sg_zone *zone_at(const void *state, int i)
{
    const tstate *st = state;
    return st && st->has_catalog && i == 0 && st->cat_slot ? sg_zonedb_slot_zone(st->cat_slot)
                                                           : NULL;
}

const sg_plugin sg_plugin_transfer = {
    .name = "transfer",
    .setup = setup,
    .start = start,
    .handle = handle,
    .version = version,
    .stop = stop,
    .teardown = teardown,
    /* in a `dynamic` block it follows the keystore's served zones (follow_rebuild) */
    .flags = SG_PLUGIN_TRANSFERS | SG_PLUGIN_FOLLOWS_ZONES,
    .nzones = nzones,
    .zone = zone_at,
};
