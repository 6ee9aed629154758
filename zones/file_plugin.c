/* SPDX-License-Identifier: MIT */
/* The `file` plugin: serves zones loaded from master files. */
#include "zones/file_plugin.h"
#include "zones/serial.h"
#include "zones/signal.h"
#include "zones/zone_index.h"
#include "zones/zonedb.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/task.h"

#include <stdatomic.h>

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The options of a `file` directive. */
typedef struct file_opts {
    uint64_t max_size;              /* bound on a zone's text (0: unlimited) */
    int has_serial;                 /* a `serial` line was given */
    enum sg_serial_policy serial;
    char state_dir[1024];           /* "" : beside the keystore, else the zone file */
} file_opts;

/* How one zone's newly loaded versions get their served serial (zonedb calls serve_serial
 * while it loads): the policy, the floor and the state file that remembers what was
 * served for which file serial. */
typedef struct file_serving {
    enum sg_serial_policy policy;
    int has_floor;
    uint32_t floor;
    char path[2200];                /* DIR/ZONE.file-serial */
} file_serving;

/* The zones of all the `file` lines of one server block, by apex: the first `file`
 * handler of the chain answers for all of them (file_handle), so that a child zone wins
 * over its parent, in O(labels) per query whatever the number of lines. Each line's
 * setup adds its zones (the lines before it made the set, sg_setup_ctx.set_up); shared,
 * counted, read-only once the chain serves. */
typedef struct file_set {
    sg_zone_index *idx;
    int refs;                       /* the handlers sharing it (setup and teardown only) */
    /* the first handler after the block's `file` lines (a miss goes there), found by the
     * first miss: NULL with after_known set means none */
    _Atomic(sg_handler *) after;
    atomic_int after_known;
    int slot;                       /* the plugin's attachment slot on versions (or -1) */
} file_set;

/* A signed zone's versions with RFC 9615 signal records (zones/signal.h): built from the
 * file's version (the base) and published in a zonedb slot, which the base's attachment
 * points queries to. */
typedef struct file_signal {
    sg_zone_slot *slot;             /* NULL: the zone is not signed, nothing signalled */
    int published;                  /* a signal version went into the slot: reap it */
    char serial_path[2200];         /* the served-serial state file, "" when none */
} file_signal;

/* What the file plugin attaches to a version it built: where it came from. */
typedef struct signal_meta {
    uint64_t base_gen;              /* the file's version it was built from */
    uint64_t fingerprint;           /* of its signal records */
    uint64_t seq;                   /* the instance that built it (file_state.seq) */
} signal_meta;

typedef struct file_state {
    sg_zone **zones;                /* this line's zones, one reference each */
    int nzones;
    file_set *set;
    file_signal *sig;               /* per zone */
    int nsigned;
    sg_preparer prep;
    /* instances made later (a reload) take over the slots from earlier ones, which defer
     * to them until they stop */
    uint64_t seq;
    uint64_t signal_state;          /* sg_signal_state() the versions were last made for */
    _Atomic int any_published;      /* some zone's sig[].published: the thread reaps */
    int following;                  /* in the signal thread's list (g_sig) */
    size_t at;                      /* where in that list, while following */
} file_state;

/* Moves whenever a signal version is published: the plugin's version (the answer cache). */
static _Atomic uint64_t g_signal_epoch;
static _Atomic uint64_t g_next_seq = 1;

static void file_set_release(file_set *set)
{
    if (set && --set->refs == 0) {
        sg_zone_index_free(set->idx);
        free(set);
    }
}

static void file_stop(void *state);

static void file_teardown(void *state)
{
    file_state *st = state;
    if (!st)
        return;
    file_stop(st); /* a teardown without a stop (a later plugin's setup failed) */
    for (int i = 0; i < st->nzones; i++)
        sg_zonedb_release(st->zones[i]);
    for (int i = 0; st->sig && i < st->nzones; i++)
        sg_zonedb_slot_release(st->sig[i].slot);
    free(st->sig);
    free(st->zones);
    file_set_release(st->set);
    free(st);
}

/* The set of the block's `file` lines set up before this one, with a new reference, or a
 * new one for the first line; NULL when out of memory. */
static file_set *file_set_join(const sg_setup_ctx *ctx)
{
    for (int i = ctx->nset_up - 1; i >= 0; i--) {
        const sg_handler *h = &ctx->set_up[i];
        if (h->plugin == &sg_plugin_file && h->state) {
            file_set *set = ((file_state *)h->state)->set;
            set->refs++;
            return set;
        }
    }
    file_set *set = calloc(1, sizeof *set);
    if (set)
        set->slot = ctx->slot;
    if (set && !(set->idx = sg_zone_index_new())) {
        free(set);
        return NULL;
    }
    if (set)
        set->refs = 1;
    return set;
}

/* A `file` directive: the zones it loads (the block's zones when none are given), as
 * presentation names in *zones_out (caller frees each and the array), and the bound on a
 * zone's text (`max-size`; 0: unlimited). */
static int file_parse(const sg_cfg_block *blk, const sg_setup_ctx *ctx, char ***zones_out,
                      int *nzones_out, file_opts *opts)
{
    if (blk->nargs < 1)
        return sg_cfg_error(blk, "file: expected a zone file path: file PATH [ZONE...]");
    memset(opts, 0, sizeof *opts);
    opts->max_size = SG_ZONE_FILE_MAX_DEFAULT;
    opts->serial = SG_SERIAL_KEEP;
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *d = &blk->children[i];
        if (!strcmp(d->name, "serial")) {
            if (d->nargs != 1 || sg_serial_policy_parse(d->args[0], &opts->serial))
                return sg_cfg_error(d, "serial: expected keep, increment, unixtime or dateserial");
            opts->has_serial = 1;
            continue;
        }
        if (!strcmp(d->name, "state-dir")) {
            if (d->nargs != 1 || !d->args[0][0] || strlen(d->args[0]) >= sizeof opts->state_dir)
                return sg_cfg_error(d, "state-dir: expected a directory");
            snprintf(opts->state_dir, sizeof opts->state_dir, "%s", d->args[0]);
            continue;
        }
        if (strcmp(d->name, "max-size"))
            return sg_cfg_error(d, "file: unknown option '%s' (max-size, serial, state-dir)",
                                d->name);
        uint64_t v;
        if (d->nargs == 1 && !strcmp(d->args[0], "unlimited"))
            opts->max_size = 0;
        else if (d->nargs != 1 || sg_cfg_parse_size(d->args[0], &v) || v == 0)
            return sg_cfg_error(d, "max-size: expected a size (e.g. 64M, 2G) or 'unlimited'");
        else
            opts->max_size = v;
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
            /* a block of 100,000 zones has 100,000 `file` lines, usually in the block's
             * order: the look starts after the zone the last line matched (setup is one
             * thread), so that the check is not O(zones) per line */
            static const uint8_t *const *hint_zones;
            static int hint;
            if (hint_zones != ctx->zones || hint >= ctx->nzones)
                hint = 0;
            hint_zones = ctx->zones;
            for (int j = 0; j < ctx->nzones && !inside; j++) {
                int k = (hint + j) % ctx->nzones;
                if (sg_name_is_sub(w, ctx->zones[k])) {
                    inside = 1;
                    hint = k + 1;
                }
            }
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

/* zonedb's hook (sg_zone_serving.serial): the serial a newly loaded version of the zone
 * is served with, recorded in the state file so that a restart or a reload of the same
 * file serves the same serial again. */
static uint32_t serve_serial(void *arg, const sg_zone *z)
{
    const file_serving *fs = arg;
    sg_serial_state st;
    int lr = sg_serial_state_load(fs->path, &st);
    if (lr == SG_EMALFORMED)
        sg_log(SG_LOG_WARN, "zone", z->apex_str, "%s is not a served-serial record; starting "
               "a new one", fs->path);
    else if (lr && lr != SG_ENOTFOUND)
        sg_log(SG_LOG_WARN, "zone", z->apex_str, "cannot read %s: %s", fs->path, strerror(errno));
    uint32_t file = z->serial;
    uint32_t s = sg_serial_serve(fs->policy, &st, fs->has_floor, fs->floor, file, (int64_t)time(NULL));
    /* behind: the floor (the previous server's serial), or, keeping the file's serial, the
     * serial served for an earlier file */
    if (s != file && fs->has_floor && !sg_serial_newer(file, fs->floor))
        sg_log(SG_LOG_WARN, "zone", z->apex_str, "%s: serial %u is not above the serial floor "
               "%u (the zone's previous server); serving %u", z->path, file, fs->floor, s);
    else if (s != file && fs->policy == SG_SERIAL_KEEP && st.have && st.file != file &&
             !sg_serial_newer(file, st.served))
        sg_log(SG_LOG_WARN, "zone", z->apex_str, "%s: serial %u is not above the served serial "
               "%u; serving %u", z->path, file, st.served, s);
    if (!st.have || st.file != file || st.served != s) {
        sg_serial_state ns = { .have = 1, .file = file, .served = s };
        if (sg_serial_state_save(fs->path, &ns))
            sg_log(SG_LOG_WARN, "zone", z->apex_str, "cannot save the served serial in %s: %s "
                   "(a restart may serve another serial)", fs->path, strerror(errno));
    }
    return s;
}

/* How zone apex's versions are served: NULL (the file's serial, nothing kept) without a
 * `serial` line and without a floor; else *fs filled. The floor comes from the block's key
 * provider (the `dnssec` plugin), which the chain's fixed order sets up before `file`
 * (plugin.cfg): sg_setup_service sees it here, and it read the floor from the keystore
 * when it was set up. */
static const sg_zone_serving *serving_for(const file_opts *o, const sg_key_provider *keys,
                                          const char *path, const uint8_t *apex,
                                          file_serving *fs, sg_zone_serving *srv)
{
    memset(fs, 0, sizeof *fs);
    fs->policy = o->serial;
    if (keys && keys->serial_floor && keys->serial_floor(keys->self, apex, &fs->floor) == 0)
        fs->has_floor = 1;
    if (!o->has_serial && !fs->has_floor)
        return NULL;
    char dir[1024];
    if (o->state_dir[0]) {
        snprintf(dir, sizeof dir, "%s", o->state_dir);
    } else {
        /* transfer's rule: beside the keystore (signetd writes there already), else
         * beside the zone file */
        snprintf(dir, sizeof dir, "%s", keys && keys->keystore && keys->keystore[0] ? keys->keystore : path);
        char *d = dirname(dir);
        memmove(dir, d, strlen(d) + 1);
    }
    char name[1024];
    sg_name_to_str(apex, name, sizeof name);
    snprintf(fs->path, sizeof fs->path, "%s/%sfile-serial", dir, name);
    *srv = (sg_zone_serving){ .serial = serve_serial, .arg = fs, .has_floor = fs->has_floor,
                              .floor = fs->floor };
    return srv;
}

/* The serial of a new signal version of base after prev (NULL: none yet): base's while
 * it is ahead (a new file), else one more than prev's, so that secondaries see every
 * change. */
static uint32_t signal_serial(const sg_zone *base, const sg_zone *prev)
{
    if (!prev || sg_serial_newer(base->serial, prev->serial))
        return base->serial;
    return prev->serial + 1;
}

/* One refresh at a time: an instance a reload replaces may still be looking at a slot
 * its successor has just published to, and must see that version before it decides. */
static pthread_mutex_t g_refresh_lock = PTHREAD_MUTEX_INITIALIZER;

static int signal_refresh_locked(file_state *st, int i);

/* Zone i's signal version brought up to date with its base and the signalled children
 * (zones/signal.h): nothing when the slot's version already is, or an instance made
 * after this one looks after it; else a new version (base's records and the signal
 * records), its serial up, the chain's prepare hooks run, published in the slot (and so
 * in zonedb, for transfers). A zone that never had signal records keeps its base. */
static int signal_refresh(file_state *st, int i)
{
    if (!st->sig[i].slot)
        return 0;
    pthread_mutex_lock(&g_refresh_lock);
    int rc = signal_refresh_locked(st, i);
    pthread_mutex_unlock(&g_refresh_lock);
    return rc;
}

static int signal_refresh_locked(file_state *st, int i)
{
    file_signal *g = &st->sig[i];
    const sg_zone *base = st->zones[i];
    sg_signal_set set;
    int rc = sg_signal_collect(base, &set);
    if (rc)
        goto out;
    const sg_zone *prev = sg_zonedb_slot_zone(g->slot);
    const signal_meta *pm = prev && st->set->slot >= 0 ?
                            sg_attach_get(&prev->attach[st->set->slot]) : NULL;
    /* a version in the slot that no file instance built is the `update` plugin's (a
     * dynamic update, or its journal replayed): built on the file plus the updates, it
     * must not be replaced by the file plus signals; such a zone carries no signals */
    if (prev && !pm)
        goto out;
    if ((!prev && !set.n) || (pm && pm->seq > st->seq) ||
        (pm && pm->base_gen == base->gen && pm->fingerprint == set.fingerprint))
        goto out;
    sg_zone *z = NULL;
    signal_meta *m = malloc(sizeof *m);
    if (!m) {
        rc = SG_ENOMEM;
        goto out;
    }
    *m = (signal_meta){ .base_gen = base->gen, .fingerprint = set.fingerprint, .seq = st->seq };
    if ((rc = sg_signal_apply(base, &set, &z))) {
        free(m);
        goto out;
    }
    uint32_t serial = signal_serial(base, prev);
    sg_zone_set_serial(z, serial);
    if (st->set->slot >= 0)
        sg_attach_swap(&z->attach[st->set->slot], m, free);
    else
        free(m);
    int pr = sg_prepare(&st->prep, z, z->attach);
    if (pr)
        sg_log(SG_LOG_WARN, "zone", z->apex_str, "preparing serial %u failed: %s", serial,
               sg_strerror(pr));
    /* a restart serves the same file with this serial again, never an older one */
    sg_serial_state ss;
    if (serial != base->serial && g->serial_path[0] &&
        sg_serial_state_load(g->serial_path, &ss) == 0 && ss.have) {
        ss.served = serial;
        if (sg_serial_state_save(g->serial_path, &ss))
            sg_log(SG_LOG_WARN, "zone", z->apex_str, "cannot save the served serial in %s: %s",
                   g->serial_path, strerror(errno));
    }
    size_t n = set.n;
    g->published = 1;
    atomic_store(&st->any_published, 1);
    if ((rc = sg_zonedb_slot_publish(g->slot, z)))
        goto out;
    atomic_fetch_add(&g_signal_epoch, 1);
    sg_log(SG_LOG_INFO, "zone", base->apex_str, "serial %u: %zu RFC 9615 signal record%s",
           serial, n, n == 1 ? "" : "s");
out:
    if (rc)
        sg_log(SG_LOG_WARN, "zone", base->apex_str, "signal records not updated: %s",
               sg_strerror(rc));
    sg_signal_set_deinit(&set);
    return rc;
}

/* The children's CDS/CDNSKEY change with their key sets (another block's, another
 * instance's) and their NS sets with their files: looked at once a second. */
#define SIGNAL_POLL_MS 1000

/* One thread for the whole process (a thread per `file` line was a thread per zone where
 * each zone has its own line: 10,000 zones, 10,000 threads): the signed zones of every
 * started instance, in a list under g_sig.lock. */
static struct {
    pthread_mutex_t lock;
    file_state **st;
    size_t n, cap;
    sg_task task;
    int running;
} g_sig = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *signal_main(void *arg)
{
    (void)arg;
    while (!sg_task_sleep(&g_sig.task, SIGNAL_POLL_MS)) {
        /* taken before the zones are looked at: a change while they are is seen next time */
        uint64_t now = sg_signal_state();
        pthread_mutex_lock(&g_sig.lock);
        for (size_t k = 0; k < g_sig.n; k++) {
            file_state *st = g_sig.st[k];
            /* nothing changed and nothing to reap: 100,000 `file` lines are 100,000
             * instances, looked at every second */
            if (now == st->signal_state && !atomic_load_explicit(&st->any_published,
                                                                 memory_order_relaxed))
                continue;
            int failed = 0;
            for (int i = 0; i < st->nzones; i++) {
                if (now != st->signal_state && signal_refresh(st, i))
                    failed = 1; /* logged; tried again next time */
                if (st->sig[i].published)
                    sg_zonedb_slot_reap(st->sig[i].slot);
            }
            if (!failed)
                st->signal_state = now;
        }
        pthread_mutex_unlock(&g_sig.lock);
    }
    return NULL;
}

static int file_start(void *state)
{
    file_state *st = state;
    if (!st || !st->nsigned || st->following)
        return 0;
    pthread_mutex_lock(&g_sig.lock);
    int rc = 0;
    if (g_sig.n == g_sig.cap) {
        size_t cap = g_sig.cap ? g_sig.cap * 2 : 16;
        file_state **nv = realloc(g_sig.st, cap * sizeof *nv);
        if (!nv)
            rc = SG_ENOMEM;
        else {
            g_sig.st = nv;
            g_sig.cap = cap;
        }
    }
    if (!rc) {
        st->at = g_sig.n;
        g_sig.st[g_sig.n++] = st;
        st->following = 1;
        if (!g_sig.running) {
            sg_task_init(&g_sig.task);
            if ((rc = sg_task_start(&g_sig.task, "sg-signal", signal_main, NULL)) == 0)
                g_sig.running = 1;
            else
                sg_task_destroy(&g_sig.task);
        }
    }
    pthread_mutex_unlock(&g_sig.lock);
    return rc;
}

static void file_stop(void *state)
{
    file_state *st = state;
    if (!st || !st->following)
        return;
    int last = 0;
    pthread_mutex_lock(&g_sig.lock);
    /* by its place, not a search: 100,000 instances stopping one after another */
    g_sig.st[st->at] = g_sig.st[--g_sig.n];
    g_sig.st[st->at]->at = st->at;
    st->following = 0;
    if (!g_sig.n && g_sig.running) {
        g_sig.running = 0;
        last = 1;
        free(g_sig.st); /* nothing left behind at exit */
        g_sig.st = NULL;
        g_sig.cap = 0;
    }
    pthread_mutex_unlock(&g_sig.lock);
    if (last) {
        /* setup, start and stop run on the main thread: no start meanwhile */
        sg_task_stop(&g_sig.task);
        sg_task_destroy(&g_sig.task);
    }
}

/* What a query is answered from: the signal version of z's zone when there is one. */
static const sg_zone *served_version(const file_set *set, const sg_zone *z)
{
    if (set->slot < 0)
        return z;
    const sg_zone_slot *slot = sg_attach_get(&z->attach[set->slot]);
    const sg_zone *v = slot ? sg_zonedb_slot_zone(slot) : NULL;
    return v ? v : z;
}

static uint64_t file_version(void *state, const sg_query *q)
{
    (void)state;
    (void)q;
    return atomic_load_explicit(&g_signal_epoch, memory_order_relaxed);
}

static int file_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    char **names = NULL;
    int n = 0;
    file_opts opts;
    int rc = file_parse(blk, ctx, &names, &n, &opts);
    if (rc)
        return rc;
    const sg_key_provider *keys = sg_setup_service(ctx, SG_SERVICE_KEYS);
    sg_preparer prep = sg_setup_preparer(ctx);
    file_state *st = calloc(1, sizeof *st);
    if (st) {
        st->zones = calloc(n, sizeof *st->zones);
        st->sig = calloc(n, sizeof *st->sig);
        st->set = file_set_join(ctx);
        st->prep = prep;
        st->seq = atomic_fetch_add(&g_next_seq, 1);
        st->signal_state = ctx->check_only ? 0 : sg_signal_state();
    }
    if (!st || !st->zones || !st->sig || !st->set) {
        rc = SG_ENOMEM;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        sg_zone *z = NULL;
        uint8_t apex[SG_NAME_MAX];
        file_serving fs;
        sg_zone_serving srv;
        const sg_zone_serving *sp = NULL;
        if (!sg_name_from_str(names[i], (const uint8_t *)"", apex))
            sp = serving_for(&opts, keys, blk->args[0], apex, &fs, &srv);
        sg_zonedb_hold_news(1); /* told once prepared, below */
        rc = sg_zonedb_acquire_served(blk->args[0], names[i], opts.max_size, ctx->check_only,
                                      sp, &z);
        if (rc) {
            sg_zonedb_hold_news(0);
            sg_cfg_error(blk, "file: zone %s from %s not loaded: %s", names[i], blk->args[0],
                         sg_strerror(rc));
            goto out;
        }
        /* before this instance serves it (a new version, or one a reload kept): the
         * chain's per-version work (denial chains, cache sizes), here on the thread that
         * builds the runtime, never on a query */
        int pr = ctx->check_only ? 0 : sg_prepare(&prep, z, z->attach);
        if (pr)
            sg_log(SG_LOG_WARN, "zone", z->apex_str, "preparing the version failed: %s",
                   sg_strerror(pr));
        sg_zonedb_hold_news(0);
        st->zones[i] = z;
        st->nzones++;
        if ((rc = sg_zone_index_add(st->set->idx, z)))
            goto out;
        /* a signed zone may carry RFC 9615 signal records for children it names servers
         * of: its versions with them go through a slot the base points queries to */
        if (!ctx->check_only && st->set->slot >= 0) {
            if (keys && keys->keys && keys->keys(keys->self, z->apex)) {
                if ((rc = sg_zonedb_slot_acquire(z->apex_str, &st->sig[i].slot)))
                    goto out;
                if (sp)
                    snprintf(st->sig[i].serial_path, sizeof st->sig[i].serial_path, "%s", fs.path);
                signal_refresh(st, i);
                st->nsigned++;
            }
            /* the same slot an earlier instance's queries may follow, or none */
            sg_attach_swap(&z->attach[st->set->slot], st->sig[i].slot, NULL);
        }
    }
    if (st->nsigned) {
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
     * chooses among all their zones (one index, file_set), so that a child zone wins
     * over its parent. */
    file_set *set = ((file_state *)self->state)->set;
    const sg_zone *best = sg_zone_index_match(set->idx, q);
    if (best) {
        sg_zone_answer(served_version(set, best), q);
        return 0;
    }
    sg_handler *h;
    if (atomic_load_explicit(&set->after_known, memory_order_acquire)) {
        h = atomic_load_explicit(&set->after, memory_order_relaxed);
    } else {
        /* every worker that gets here first finds the same handler */
        for (h = self; h && h->plugin == &sg_plugin_file; h = h->next)
            ;
        atomic_store_explicit(&set->after, h, memory_order_relaxed);
        atomic_store_explicit(&set->after_known, 1, memory_order_release);
    }
    if (!h)
        return SG_ENOHANDLER;
    return h->plugin->handle(h, q);
}

static int file_nzones(const void *state)
{
    return state ? ((const file_state *)state)->nzones : 0;
}

static const sg_zone *file_zone_at(const void *state, int i)
{
    const file_state *st = state;
    return st && i >= 0 && i < st->nzones ? served_version(st->set, st->zones[i]) : NULL;
}

/* Ready once every zone is loaded from its file as configured: a zone still served from an
 * older version because its file failed to load is not. */
static int file_ready(const void *state, sg_buf *why)
{
    const file_state *st = state;
    int ok = 1;
    for (int i = 0; st && i < st->nzones; i++)
        if (!st->zones[i] || sg_zonedb_load_failed(st->zones[i])) {
            ok = 0;
            if (st->zones[i])
                sg_buf_printf(why, "file: zone %s: its file failed to load (serving serial %u)\n",
                              st->zones[i]->apex_str, st->zones[i]->serial);
            else
                sg_buf_printf(why, "file: a zone is not loaded\n");
        }
    return ok;
}

const sg_plugin sg_plugin_file = {
    .name = "file",
    .setup = file_setup,
    .start = file_start,
    .handle = file_handle,
    .version = file_version,
    .stop = file_stop,
    .teardown = file_teardown,
    /* one line per zone file; consecutive in the chain (file_handle) */
    .flags = SG_PLUGIN_REPEATABLE,
    .nzones = file_nzones,
    .zone = file_zone_at,
    .ready = file_ready,
};
