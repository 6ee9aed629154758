/* SPDX-License-Identifier: MIT */
/* The transfer state of a zone, shared by the plugin instances of successive reloads: the
 * current signed version, the journal, the last served serial, and the background thread
 * that makes a new version when the zone, its keys or its signatures' age call for one. */
#include "transfer/transfer.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/retire.h"
#include "zones/zonedb.h"

#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>



/* SOA RRsets handed to queries. The signature cache keys on an RRset's address, so one is
 * never freed while the zone state lives (a new one per version: ~100 bytes each). */
typedef struct soa_rec {
    sg_rrset rs;
    struct soa_rec *next;
} soa_rec;

struct sg_xfr_zone {
    struct sg_xfr_zone *next, **pprev; /* in g_zones */
    struct sg_xfr_zone *hnext;    /* in g_index's bucket */
    int refs;                     /* plugin instances; under g_lock */
    uint8_t apex[SG_NAME_MAX];
    char *name;                   /* text form, at its length */
    pthread_mutex_t lock;         /* blk, floor, keystore; one update at a time */
    struct xfr_block *blk;        /* the block's config and TSIG key, shared by its zones */
    int has_floor;                /* the zone's own serial floor (sg_xfr_cfg.floor) */
    uint32_t floor;
    char *keystore;               /* "" : unsigned */
    struct ks_share *kss;         /* the keystore's handle, shared with the other zones */
    int ks_ok;                    /* the last use of it worked */
    int ks_lost;                  /* the keystore file went while in use: reopen, never create */
    sg_keyset *keys;
    _Atomic(sg_xfr_snap *) cur;
    _Atomic(const sg_rrset *) soa; /* the current version's SOA, when it is not the file's */
    soa_rec *soas;
    sg_retire_list retired;       /* replaced versions, freed after the grace period */
    sg_xfr_journal journal;
    uint32_t last_serial;
    int have_last;
    char *state_path;             /* NULL until known */
    char *journal_path;           /* the version and journal on disk (persist.c) */
    int load_tried;
    sg_xfr_snap *loaded;          /* read back at start, until the first version is made */
    int64_t last_error_log;
    sg_xfr_job job;               /* its turns on the version workers (xfrsched.c) */
    atomic_int zone_event;        /* a new version of the zone was loaded since the last look */
    int64_t last_look;            /* when the zone database was last asked for the zone */
    /* the newest version the NOTIFY targets must serve, until they all do (signed zones:
     * the rollover engine counts its waits from there) */
    uint32_t prop_serial;
    int64_t prop_made;            /* 0: nothing pending */
    int prop_warned;
    int64_t keys_as_of;           /* the current version holds the key state of this time */
    int64_t keys_next;            /* the keys' next timing point (INT64_MAX: none) */
    int purge;                    /* the zone left the keystore: its files go with the state */
    _Atomic uint64_t turns;       /* sg_xfr_zone_turns */
    int64_t prop_recorded;        /* the as_of last recorded for prop_serial (0: none) */
    int prop_extended;            /* prop_serial's as_of recorded again once (see below) */
    /* the secondaries asked what they serve (sg_xfr_probe), a round at a time: no worker
     * waits for an answer, however many targets never give one */
    _Atomic int probe_out;        /* probes of the round in flight */
    _Atomic int probe_rc[SG_XFR_MAX_PEERS];
    _Atomic uint32_t probe_serial[SG_XFR_MAX_PEERS];
    int64_t probe_made;           /* the prop_made the last round asked for (0: none) */
    int probe_n;                  /* its targets */
    int64_t probe_sent_ms;        /* when it was sent */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static sg_xfr_zone *g_zones;
static _Atomic uint64_t g_first_versions; /* sg_xfr_first_versions */
/* the zones by apex, for the zone database's news of a loaded version (many thousand
 * zones: no list walk per zone); chained buckets, grown at twice as many zones */
static sg_xfr_zone **g_index;
static size_t g_index_cap, g_count;

/* A transfer block's config and TSIG key, one copy for all its zones (ten thousand zones
 * must not hold ten thousand copies of 64 addresses and a key); read-only once made, so a
 * zone reads it under its own lock only to swap it. Found by content: successive zones of
 * one block (and of the block a reload makes again) share the same one. */
typedef struct xfr_block {
    struct xfr_block *next;       /* in g_blocks */
    int refs;                     /* under g_block_lock */
    sg_xfr_cfg cfg;               /* the floor fields are the zones' own (unused here) */
    sg_tsig_key *key;             /* NULL: none */
} xfr_block;

static pthread_mutex_t g_block_lock = PTHREAD_MUTEX_INITIALIZER;
static xfr_block *g_blocks;

static int net_eq(const sg_xfr_net *a, const sg_xfr_net *b)
{
    return a->prefix == b->prefix && !memcmp(&a->addr, &b->addr, sizeof a->addr);
}

static int key_eq(const sg_tsig_key *a, const sg_tsig_key *b)
{
    if (!a || !b)
        return a == b;
    return sg_name_eq(a->name, b->name) && a->alg == b->alg && a->secret_len == b->secret_len &&
           !memcmp(a->secret, b->secret, a->secret_len);
}

/* Field by field: a struct copy need not copy padding, so memcmp of two configs could see
 * two equal ones as different. */
static int cfg_eq(const sg_xfr_cfg *a, const sg_xfr_cfg *b)
{
    if (a->nto != b->nto || a->nnotify != b->nnotify || a->serial != b->serial ||
        a->journal_bytes != b->journal_bytes || a->journal_age != b->journal_age ||
        a->compact_as_nsec != b->compact_as_nsec || a->workers != b->workers ||
        a->keys_told != b->keys_told || strcmp(a->key, b->key) ||
        strcmp(a->state_dir, b->state_dir) || strcmp(a->catalog, b->catalog) ||
        strcmp(a->catalog_group, b->catalog_group))
        return 0;
    for (int i = 0; i < a->nto; i++)
        if (!net_eq(&a->to[i], &b->to[i]))
            return 0;
    for (int i = 0; i < a->nnotify; i++)
        if (memcmp(&a->notify[i], &b->notify[i], sizeof a->notify[i]))
            return 0;
    return 1;
}

/* A reference to the shared copy of (cfg, key); NULL: no memory. */
static xfr_block *block_get(const sg_xfr_cfg *cfg, const sg_tsig_key *key)
{
    pthread_mutex_lock(&g_block_lock);
    for (xfr_block **p = &g_blocks; *p; p = &(*p)->next) {
        xfr_block *b = *p;
        if (cfg_eq(&b->cfg, cfg) && key_eq(b->key, key)) {
            *p = b->next; /* to the front: the next zone is most likely of the same block */
            b->next = g_blocks;
            g_blocks = b;
            b->refs++;
            pthread_mutex_unlock(&g_block_lock);
            return b;
        }
    }
    xfr_block *b = calloc(1, sizeof *b);
    if (b) {
        b->cfg = *cfg;
        b->cfg.has_floor = 0;
        b->cfg.floor = 0;
        if (key && !(b->key = sg_tsig_key_dup(key))) {
            free(b);
            b = NULL;
        }
    }
    if (b) {
        b->refs = 1;
        b->next = g_blocks;
        g_blocks = b;
    }
    pthread_mutex_unlock(&g_block_lock);
    return b;
}

static void block_put(xfr_block *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&g_block_lock);
    if (--b->refs > 0) {
        pthread_mutex_unlock(&g_block_lock);
        return;
    }
    for (xfr_block **p = &g_blocks; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    pthread_mutex_unlock(&g_block_lock);
    sg_tsig_key_free(b->key);
    free(b);
}

size_t sg_xfr_blocks(void)
{
    size_t n = 0;
    pthread_mutex_lock(&g_block_lock);
    for (xfr_block *b = g_blocks; b; b = b->next)
        n++;
    pthread_mutex_unlock(&g_block_lock);
    return n;
}

size_t sg_xfr_zone_state_size(void)
{
    return sizeof(struct sg_xfr_zone);
}

/* "FMT" printed into a string of its own length; NULL: no memory. */
static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static size_t apex_hash(const uint8_t *apex)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0, n = sg_name_len(apex); i < n; i++) {
        uint8_t c = apex[i];
        h = (h ^ (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c)) * 1099511628211ULL;
    }
    return (size_t)h;
}

/* g_lock held. */
static void index_add(sg_xfr_zone *xz)
{
    if (g_count + 1 > g_index_cap) {
        size_t cap = g_index_cap ? g_index_cap * 2 : 256;
        sg_xfr_zone **ni = calloc(cap, sizeof *ni);
        if (ni) {
            for (size_t i = 0; i < g_index_cap; i++)
                for (sg_xfr_zone *x = g_index[i], *nx; x; x = nx) {
                    nx = x->hnext;
                    size_t b = apex_hash(x->apex) & (cap - 1);
                    x->hnext = ni[b];
                    ni[b] = x;
                }
            free(g_index);
            g_index = ni;
            g_index_cap = cap;
        }
    }
    g_count++;
    if (!g_index_cap)
        return; /* no memory for an index: such a zone is found by its one-second look */
    size_t b = apex_hash(xz->apex) & (g_index_cap - 1);
    xz->hnext = g_index[b];
    g_index[b] = xz;
}

static void index_del(sg_xfr_zone *xz)
{
    g_count--;
    if (!g_index_cap)
        return;
    for (sg_xfr_zone **p = &g_index[apex_hash(xz->apex) & (g_index_cap - 1)]; *p; p = &(*p)->hnext)
        if (*p == xz) {
            *p = xz->hnext;
            return;
        }
}

/* The zone database loaded a new version of apex: its transfer state (if any) looks at
 * it now, not at its next turn (which for an idle zone may be a minute away). */
static void zone_loaded(const uint8_t *apex)
{
    pthread_mutex_lock(&g_lock);
    if (g_index_cap)
        for (sg_xfr_zone *x = g_index[apex_hash(apex) & (g_index_cap - 1)]; x; x = x->hnext)
            if (sg_name_eq(x->apex, apex)) {
                atomic_store(&x->zone_event, 1);
                sg_xfr_sched_wake(&x->job);
            }
    pthread_mutex_unlock(&g_lock);
}

void sg_xfr_keys_changed(const uint8_t *apex)
{
    /* the turn reads the keys again whatever woke it: a wake is all it takes */
    pthread_mutex_lock(&g_lock);
    if (g_index_cap)
        for (sg_xfr_zone *x = g_index[apex_hash(apex) & (g_index_cap - 1)]; x; x = x->hnext)
            if (sg_name_eq(x->apex, apex))
                sg_xfr_sched_wake(&x->job);
    pthread_mutex_unlock(&g_lock);
}

/* ---- the last served serial, kept across restarts ---------------------------------- */

static void state_path_for(sg_xfr_zone *xz, const sg_zone *z)
{
    if (xz->state_path)
        return;
    const char *state_dir = xz->blk->cfg.state_dir;
    if (!z && !state_dir[0] && !xz->keystore[0])
        return; /* an unsigned zone never loaded: its files would be beside a file unknown */
    char dir[1024];
    if (state_dir[0])
        snprintf(dir, sizeof dir, "%s", state_dir);
    else {
        /* beside the keystore (signetd writes there already), else beside the zone file */
        snprintf(dir, sizeof dir, "%s",
                 xz->keystore[0] ? xz->keystore : z && z->path ? z->path : ".");
        char *d = dirname(dir);
        memmove(dir, d, strlen(d) + 1);
    }
    char *sp = str_printf("%s/%sxfr-serial", dir, xz->name);
    char *jp = str_printf("%s/%sxfr-journal", dir, xz->name);
    if (!sp || !jp) {
        free(sp); /* asked again at the next turn */
        free(jp);
        return;
    }
    xz->state_path = sp;
    xz->journal_path = jp;
    FILE *f = fopen(xz->state_path, "r");
    unsigned long v;
    if (f) {
        if (fscanf(f, "serial %lu", &v) == 1 && v <= 0xffffffffUL) {
            xz->last_serial = (uint32_t)v;
            xz->have_last = 1;
        }
        fclose(f);
    }
}

static void state_save(sg_xfr_zone *xz)
{
    char tmp[2300];
    snprintf(tmp, sizeof tmp, "%s.tmp", xz->state_path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "serial %u\n", xz->last_serial) < 0 || fclose(f) != 0 ||
        rename(tmp, xz->state_path) != 0) {
        sg_log(SG_LOG_WARN, "transfer", xz->name, "cannot save the served serial in %s: %s",
               xz->state_path, strerror(errno));
        return;
    }
}

/* ---- versions ---------------------------------------------------------------------- */

static void snap_unref_v(void *p) { sg_xfr_snap_unref(p); }

static const char *denial_name(int d)
{
    return d == SG_KS_DENIAL_NSEC3 ? "NSEC3" : d == SG_KS_DENIAL_COMPACT ? "compact (as NSEC)"
                                             : d == SG_KS_DENIAL_NSEC ? "NSEC" : "unsigned";
}

/* One keystore handle per keystore path, shared by every zone state that reads it: ten
 * thousand zones must not hold ten thousand SQLite connections (a file descriptor and a
 * page cache each: "Too many open files" and gigabytes). Used by one thread at a time
 * (its lock, taken under a zone's lock, never the other way round). */
typedef struct ks_share {
    char path[1024];
    pthread_mutex_t lock;
    sg_keystore *ks;
    int lost;                     /* the file went while in use: reopen only an existing one */
    int refs;                     /* under g_share_lock */
    struct ks_share *next;
} ks_share;

static pthread_mutex_t g_share_lock = PTHREAD_MUTEX_INITIALIZER;
static ks_share *g_shares;

static ks_share *share_get(const char *path)
{
    if (!path || !path[0])
        return NULL;
    pthread_mutex_lock(&g_share_lock);
    ks_share *sh = g_shares;
    while (sh && strcmp(sh->path, path))
        sh = sh->next;
    if (!sh && (sh = calloc(1, sizeof *sh)) != NULL) {
        snprintf(sh->path, sizeof sh->path, "%s", path);
        pthread_mutex_init(&sh->lock, NULL);
        sh->next = g_shares;
        g_shares = sh;
    }
    if (sh)
        sh->refs++;
    pthread_mutex_unlock(&g_share_lock);
    return sh;
}

static void share_put(ks_share *sh)
{
    if (!sh)
        return;
    pthread_mutex_lock(&g_share_lock);
    if (--sh->refs > 0) {
        pthread_mutex_unlock(&g_share_lock);
        return;
    }
    for (ks_share **p = &g_shares; *p; p = &(*p)->next)
        if (*p == sh) {
            *p = sh->next;
            break;
        }
    pthread_mutex_unlock(&g_share_lock);
    sg_ks_free(sh->ks);
    pthread_mutex_destroy(&sh->lock);
    free(sh);
}

/* The zone's keystore handle, opened (again) when needed, with the share's lock held
 * (ks_unlock) whatever it returns; NULL when it cannot be opened. Zone lock held. */
static sg_keystore *ks_lock(sg_xfr_zone *xz, int64_t now)
{
    if (!xz->kss && !(xz->kss = share_get(xz->keystore)))
        return NULL;
    ks_share *sh = xz->kss;
    pthread_mutex_lock(&sh->lock);
    int rc;
    if (sh->ks && sg_ks_file_moved(sh->ks)) {
        /* deleted or replaced under us (issue 15): reading through the old handle would
         * hand out keys from a file nobody writes any more; the versions served keep the
         * keys they have until a keystore is at the path again */
        sg_log(SG_LOG_WARN, "transfer", xz->name, "keystore %s was deleted or replaced; "
               "transfers keep the current keys until it is there again", xz->keystore);
        sg_ks_free(sh->ks);
        sh->ks = NULL;
        sh->lost = 1;
        xz->last_error_log = now;
    }
    if (!sh->ks && (rc = sh->lost ? sg_ks_open_existing(sh->path, "transfer", &sh->ks)
                                  : sg_ks_new(sh->path, "transfer", &sh->ks))) {
        sh->ks = NULL;
        if (now - xz->last_error_log >= 60) {
            sg_log(SG_LOG_WARN, "transfer", xz->name, "cannot open keystore %s: %s",
                   xz->keystore, sg_strerror(rc));
            xz->last_error_log = now;
        }
    }
    if (sh->ks && sh->lost) {
        sg_log(SG_LOG_INFO, "transfer", xz->name, "keystore %s is there again", xz->keystore);
        sh->lost = 0;
    }
    xz->ks_lost = sh->lost;
    xz->ks_ok = sh->ks != NULL;
    return sh->ks;
}

static void ks_unlock(sg_xfr_zone *xz)
{
    if (xz->kss)
        pthread_mutex_unlock(&xz->kss->lock);
}

/* The zone's keys as the keystore says now (a signed zone's only). Lock held. */
static void refresh_keys(sg_xfr_zone *xz, int64_t now)
{
    if (!xz->keystore[0])
        return;
    sg_keystore *ks = ks_lock(xz, now);
    if (!ks) {
        ks_unlock(xz);
        return;
    }
    sg_keyset *nk = NULL;
    int64_t next = INT64_MAX;
    int rc = sg_keyset_load_next(ks, xz->name, now, xz->keys ? xz->keys->fingerprint : 0, &nk,
                                 &next);
    ks_unlock(xz);
    if (rc == 0) {
        sg_keyset_free(xz->keys); /* only this thread uses it */
        xz->keys = nk;
    }
    /* read now, changed or not: a version built below, or the current one when
     * nothing changed, holds the key state of now */
    if (rc == 0 || rc == SG_EEXIST) {
        xz->keys_as_of = now;
        xz->keys_next = next;
    }
}

/* The rows of the secondaries' propagation, through the shared handle. Lock held. */
static int propagation_add(sg_xfr_zone *xz, uint32_t serial, int64_t as_of, int64_t now)
{
    sg_keystore *ks = xz->keystore[0] ? ks_lock(xz, now) : NULL;
    int rc = ks ? sg_ks_propagation_add(ks, xz->name, serial, as_of, now) : SG_EINVAL;
    ks_unlock(xz);
    return rc;
}

/* Once, before the first version: the version served before a restart, and its journal
 * (both dropped when they do not lead to the last served serial). Lock held. */
static void load_previous(sg_xfr_zone *xz, int64_t now)
{
    xz->load_tried = 1;
    sg_xfr_snap *l = NULL;
    int lr = sg_xfr_persist_load(xz->journal_path, &xz->journal, now, &l);
    if (lr == SG_EMALFORMED)
        sg_log(SG_LOG_WARN, "transfer", xz->name, "%s is damaged; starting a new journal",
               xz->journal_path);
    if (lr == 0 && (!xz->have_last || l->serial != xz->last_serial)) {
        sg_log(SG_LOG_WARN, "transfer", xz->name, "%s holds serial %u, not the last served "
               "%u; starting a new journal", xz->journal_path, l->serial, xz->last_serial);
        sg_xfr_snap_unref(l);
        l = NULL;
    }
    if (!l)
        sg_xfr_journal_clear(&xz->journal); /* diffs that lead to no version we have */
    xz->loaded = l;
}

/* Why a new version is due (for the log line), or NULL when the current one stands. */
static const char *version_due(const sg_xfr_snap *cur, const sg_zone *z, uint64_t fp, int64_t now)
{
    if (!cur)
        return "first version";
    if (cur->zone_gen != z->gen)
        return "zone changed";
    if (cur->key_fp != fp)
        return "keys changed";
    if (cur->resign_at && sg_serial_newer((uint32_t)now, cur->resign_at - 1))
        return "signatures refreshed";
    return NULL;
}

/* The serial of the new version, by the configured serial policy. */
static uint32_t next_serial(const sg_xfr_zone *xz, const sg_xfr_snap *cur, const sg_zone *z,
                            int64_t now)
{
    uint32_t serial = sg_serial_next(xz->blk->cfg.serial, xz->have_last, xz->last_serial, z->serial, now);
    if (xz->blk->cfg.serial == SG_SERIAL_KEEP && serial != z->serial && cur && cur->zone_gen != z->gen)
        sg_log(SG_LOG_WARN, "transfer", xz->name, "zone file serial %u is not above the served "
               "serial %u; serving %u", z->serial, xz->last_serial, serial);
    /* an adopted zone: above what its previous server served, whatever the policy */
    uint32_t raised = sg_serial_above_floor(serial, xz->has_floor, xz->floor);
    if (raised != serial)
        sg_log(SG_LOG_WARN, "transfer", xz->name, "serial %u is not above the serial floor %u "
               "(the zone's previous server); serving %u", serial, xz->floor, raised);
    return raised;
}

/* After a restart, the zone and keys as before: the loaded version itself (rebuilt, with
 * the same serial and SOA) when nothing differs, else NULL. Secondaries that hold it then
 * need no transfer. */
static sg_xfr_snap *restore_loaded(sg_xfr_zone *xz, const sg_zone *z, const sg_keyset *k,
                                   int64_t now)
{
    sg_xfr_snap *same = NULL, *ns = NULL;
    sg_xfr_diff *d = NULL;
    const sg_xfr_rr *ls = &xz->loaded->rrs[xz->loaded->soa_index];
    if (sg_xfr_snap_build(z, k, xz->loaded, xz->loaded->serial, (uint32_t)now, &same) == 0 &&
        sg_xfr_diff_make(xz->loaded, same, now, &d) == 0 && d->ndel + d->nadd == 0 &&
        same->rrs[same->soa_index].rdlen == ls->rdlen &&
        !memcmp(same->rrs[same->soa_index].rdata, ls->rdata, ls->rdlen)) {
        ns = same;
        same = NULL;
    }
    sg_xfr_diff_unref(d);
    sg_xfr_snap_unref(same);
    return ns;
}

/* The SOA for queries, kept for the zone's lifetime (see soa_rec). */
static void publish_soa(sg_xfr_zone *xz, const sg_xfr_snap *ns)
{
    soa_rec *sr = malloc(sizeof *sr);
    uint8_t *blob = sr ? malloc(ns->rrs[ns->soa_index].rdlen + 2u) : NULL;
    if (!blob) {
        free(sr);
        atomic_store(&xz->soa, NULL);
        return;
    }
    const sg_xfr_rr *r = &ns->rrs[ns->soa_index];
    blob[0] = (uint8_t)(r->rdlen >> 8);
    blob[1] = (uint8_t)r->rdlen;
    memcpy(blob + 2, r->rdata, r->rdlen);
    sr->rs = (sg_rrset){ .type = SG_TYPE_SOA, .count = 1, .ttl = r->ttl,
                         .rdata_len = r->rdlen + 2u, .rdata = blob };
    sr->next = xz->soas;
    xz->soas = sr;
    atomic_store(&xz->soa, &sr->rs);
}

/* ns becomes current (cur is retired after the grace period) and is saved with its serial;
 * returns whether the served serial changed. */
static int publish_version(sg_xfr_zone *xz, sg_xfr_snap *cur, sg_xfr_snap *ns, uint32_t serial,
                           int restored)
{
    atomic_store(&xz->cur, ns);
    if (!cur)
        atomic_fetch_add(&g_first_versions, 1);
    if (cur) {
        sg_retire(&xz->retired, cur, snap_unref_v, time(NULL));
    }
    sg_retire_reap(&xz->retired, time(NULL), 0);
    int changed = !xz->have_last || xz->last_serial != serial;
    xz->last_serial = serial;
    xz->have_last = 1;
    state_save(xz);
    if (!restored && sg_xfr_persist_save(xz->journal_path, ns, &xz->journal))
        sg_log(SG_LOG_WARN, "transfer", xz->name, "cannot write %s: %s", xz->journal_path,
               strerror(errno));
    return changed;
}

/* NOTIFY the secondaries of a new serial; for a signed zone, follow_secondaries then waits
 * until they all serve it. The version stays current (and alive) while the lock is held. */
static void notify_new_serial(sg_xfr_zone *xz, const sg_xfr_snap *ns, uint32_t serial,
                              int changed, int64_t now)
{
    struct sockaddr_storage targets[SG_XFR_MAX_PEERS];
    int nt = xz->blk->cfg.nnotify;
    memcpy(targets, xz->blk->cfg.notify, sizeof targets);
    sg_tsig_key *key = xz->blk->key ? sg_tsig_key_dup(xz->blk->key) : NULL;
    if (changed && nt) {
        sg_xfr_notify(xz->apex, serial, &ns->rrs[ns->soa_index], targets, nt, key);
        if (xz->keystore[0]) {
            xz->prop_serial = serial;
            xz->prop_made = now;
            xz->prop_warned = 0;
            xz->prop_recorded = 0;
            xz->prop_extended = 0;
        }
    }
    sg_tsig_key_free(key);
}

/* A zone with nothing pending is looked at this often when nothing wakes it (a safety
 * net: new versions of the zone wake it, see zone_loaded, and the key provider tells of
 * key changes). Ten minutes, not one: a look reads the zone's keys, and ten thousand
 * zones looked at together once a minute were 8-12 % of a core when idle (many-zones -x). */
#define IDLE_MS 600000

/* Build a new version now if one is due. */
static int zone_update(sg_xfr_zone *xz, int64_t now)
{
    pthread_mutex_lock(&xz->lock);
    sg_xfr_snap *cur0 = atomic_load(&xz->cur);
    /* taken before the zone is looked up below: a version loaded after that tells again */
    int loaded = atomic_exchange(&xz->zone_event, 0);
    if (cur0 && xz->ks_lost == 0 && !loaded && now - xz->last_look < IDLE_MS / 1000) {
        /* the zone is as the current version has it (the zone database says when a new
         * version is loaded): only its keys, their signatures' age and the floor can call
         * for a new version, and asking the database for the zone is not needed */
        refresh_keys(xz, now);
        const sg_keyset *k0 = xz->keys && xz->keys->nzsk ? xz->keys : NULL;
        if ((!xz->keystore[0] || xz->keys) && cur0->key_fp == (k0 ? k0->fingerprint : 0) &&
            !(cur0->resign_at && sg_serial_newer((uint32_t)now, cur0->resign_at - 1)) &&
            !(xz->has_floor && !sg_serial_newer(cur0->serial, xz->floor))) {
            sg_retire_reap(&xz->retired, time(NULL), 0);
            pthread_mutex_unlock(&xz->lock);
            return 0;
        }
    }
    sg_zone *z = NULL;
    xz->last_look = now; /* and at least once a minute: a safety net for news not told */
    int rc = sg_zonedb_acquire_apex(xz->apex, &z);
    if (rc) {
        pthread_mutex_unlock(&xz->lock);
        return rc == SG_ENOTFOUND ? 0 : rc; /* not served by a file (yet) */
    }
    state_path_for(xz, z);
    if (!xz->state_path) {
        sg_zonedb_release(z);
        pthread_mutex_unlock(&xz->lock);
        return SG_ENOMEM; /* tried again at the next turn */
    }
    refresh_keys(xz, now);
    sg_xfr_snap *cur = atomic_load(&xz->cur);
    const sg_keyset *k = xz->keys && xz->keys->nzsk ? xz->keys : NULL;
    if (xz->keystore[0] && !xz->keys) {
        /* signed zone whose keys we could not read: never transfer it unsigned */
        sg_zonedb_release(z);
        pthread_mutex_unlock(&xz->lock);
        return SG_ENOTFOUND;
    }
    if (!cur && !xz->load_tried)
        load_previous(xz, now);
    const char *why = version_due(cur, z, k ? k->fingerprint : 0, now);
    if (!why && cur && xz->has_floor && !sg_serial_newer(cur->serial, xz->floor))
        why = "serial floor"; /* recorded since the current version was made */
    if (!why) {
        sg_zonedb_release(z);
        sg_retire_reap(&xz->retired, time(NULL), 0);
        pthread_mutex_unlock(&xz->lock);
        return 0;
    }
    uint32_t serial = next_serial(xz, cur, z, now);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sg_xfr_snap *ns = NULL, *prev = cur ? cur : xz->loaded;
    int restored = 0;
    if (!cur && xz->loaded &&
        sg_serial_above_floor(xz->loaded->serial, xz->has_floor, xz->floor) ==
            xz->loaded->serial &&
        (ns = restore_loaded(xz, z, k, now)) != NULL) {
        serial = xz->loaded->serial;
        restored = 1;
        why = "as before the restart";
    }
    rc = ns ? 0 : sg_xfr_snap_build(z, k, prev, serial, (uint32_t)now, &ns);
    sg_zonedb_release(z);
    if (rc) {
        pthread_mutex_unlock(&xz->lock);
        sg_log(SG_LOG_ERR, "transfer", xz->name, "cannot build the signed version: %s",
               sg_strerror(rc));
        return rc;
    }
    if (prev && !restored) {
        sg_xfr_diff *d = NULL;
        if (xz->journal.max_bytes && sg_xfr_diff_make(prev, ns, now, &d) == 0)
            sg_xfr_journal_add(&xz->journal, d, now);
    }
    sg_xfr_snap_unref(xz->loaded);
    xz->loaded = NULL;
    publish_soa(xz, ns);
    int changed = publish_version(xz, cur, ns, serial, restored);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    sg_log(SG_LOG_INFO, "transfer", xz->name, "serial %u (%s): %zu records, %s, built in %.0f ms",
           serial, why, ns->n, denial_name(ns->denial), ms);
    notify_new_serial(xz, ns, serial, changed, now);
    pthread_mutex_unlock(&xz->lock);
    return 0;
}

/* A probe's answer: stored, and the zone woken when it was the round's last. On the
 * NOTIFY sender's thread with its lock held: atomics and a wake only, no zone lock. */
static void probed(void *arg, int i, int rc, uint32_t serial)
{
    sg_xfr_zone *xz = arg;
    if (i >= 0 && i < SG_XFR_MAX_PEERS) {
        atomic_store(&xz->probe_serial[i], serial);
        atomic_store(&xz->probe_rc[i], rc);
    }
    if (atomic_fetch_sub(&xz->probe_out, 1) == 1)
        sg_xfr_sched_wake(&xz->job);
}

/* How long a probe waits for its answer, and how often the secondaries are asked while
 * they lag: every second for the first half minute after a version, then every 10 s (a
 * secondary down for long costs a probe per zone every 10 s, not every second). */
#define PROBE_MS 1000
static int64_t probe_every_ms(int64_t now, int64_t made)
{
    return now - made < 30 ? 1000 : 10000;
}

/* Every NOTIFY target serves the newest version? Then the keystore records when, and the
 * rollover engine's waits after a change count from there. A target that lags (or does
 * not answer) holds the rollover; that is said once, after 30 s. The targets are asked in
 * the background (sg_xfr_probe): a turn sends a round or reads the answers of one, and
 * never waits for them. */
static void follow_secondaries(sg_xfr_zone *xz, int64_t now, int64_t now_ms)
{
    pthread_mutex_lock(&xz->lock);
    int nt = xz->blk->cfg.nnotify;
    uint32_t serial = xz->prop_serial;
    int64_t made = xz->prop_made;
    if (!made && !xz->prop_extended && xz->prop_recorded && xz->keys_as_of >= xz->prop_recorded + 10 &&
        xz->ks_ok) {
        /* a key change made in the very second its version was read and confirmed is not
         * counted by that row (the engine wants keys read strictly after the change); the
         * keys still being the same 10 s later, the row is recorded once more with the
         * later time, so that such a change is not left waiting for the next version */
        if (!propagation_add(xz, serial, xz->keys_as_of, now)) {
            xz->prop_recorded = xz->keys_as_of;
            xz->prop_extended = 1;
        }
    }
    if (!made || !nt || atomic_load(&xz->probe_out) > 0) {
        pthread_mutex_unlock(&xz->lock); /* nothing to follow, or a round in flight */
        return;
    }
    if (xz->probe_made == made && xz->probe_n == nt) {
        /* the answers of the last round, for this version */
        char lag[300] = "";
        int all = 1;
        for (int i = 0; i < nt; i++) {
            uint32_t s = atomic_load(&xz->probe_serial[i]);
            int rc = atomic_load(&xz->probe_rc[i]);
            if (!rc && sg_xfr_serves(s, serial))
                continue;
            all = 0;
            if (!lag[0]) {
                char at[INET6_ADDRSTRLEN + 8];
                sg_xfr_addr_text(&xz->blk->cfg.notify[i], at, sizeof at);
                if (rc)
                    snprintf(lag, sizeof lag, "%s does not answer for the zone (%s)", at,
                             sg_strerror(rc));
                else
                    snprintf(lag, sizeof lag, "%s serves serial %u", at, s);
            }
        }
        xz->probe_made = 0; /* read: the next round asks again */
        if (all) {
            int rc = propagation_add(xz, serial, xz->keys_as_of, now);
            if (!rc) {
                xz->prop_made = 0;
                xz->prop_recorded = xz->keys_as_of;
                /* a slow secondary is worth a line; the usual quick one is not */
                sg_log(xz->prop_warned ? SG_LOG_WARN : now - made >= 10 ? SG_LOG_INFO : SG_LOG_DEBUG,
                       "transfer", xz->name,
                       "every secondary (%d) serves serial %u, %llds after it was made", nt, serial,
                       (long long)(now - made));
                pthread_mutex_unlock(&xz->lock);
                return;
            }
        } else if (!xz->prop_warned && now - made >= 30) {
            xz->prop_warned = 1;
            sg_log(SG_LOG_WARN, "transfer", xz->name,
                   "%s, not %u (made %llds ago): key rollovers wait until every secondary serves it",
                   lag, serial, (long long)(now - made));
        }
    }
    if (now_ms - xz->probe_sent_ms >= probe_every_ms(now, made)) {
        /* a new round: every answer (or give-up) lands before the last wakes the zone */
        xz->probe_made = made;
        xz->probe_n = nt;
        xz->probe_sent_ms = now_ms;
        atomic_store(&xz->probe_out, nt);
        for (int i = 0; i < nt; i++)
            sg_xfr_probe(xz->apex, &xz->blk->cfg.notify[i], PROBE_MS, probed, xz, i);
    }
    pthread_mutex_unlock(&xz->lock);
}

int64_t sg_xfr_next_turn(const sg_xfr_due *d, int64_t now, int64_t now_ms)
{
    if (!d->has_version || d->pending || (d->signed_zone && !d->keys_told))
        return now_ms + 1000;
    if (d->follow_ms > 0)
        /* lagging secondaries: their next round (an answered round wakes the zone) */
        return d->follow_ms > now_ms + 1000 ? d->follow_ms : now_ms + 1000;
    int64_t in = IDLE_MS;
    if (d->resign_at) {
        /* serial arithmetic: resign_at is a 32-bit time */
        int64_t r = (int64_t)(int32_t)(d->resign_at - (uint32_t)now) * 1000;
        if (r < in)
            in = r;
    }
    if (d->signed_zone && d->keys_next > 0 && d->keys_next != INT64_MAX &&
        (d->keys_next - now) * 1000 < in)
        in = (d->keys_next - now) * 1000;
    if (d->recheck_at > 0 && (d->recheck_at - now) * 1000 < in)
        in = (d->recheck_at - now) * 1000;
    return now_ms + (in > 1000 ? in : 1000);
}

/* One turn on a version worker: a new version if one is due, the secondaries followed.
 * Next turn (sg_xfr_next_turn): in a second while something is pending; else at the
 * first of its signatures' refresh time, its keys' next timing point and IDLE_MS, unless
 * woken before (a new zone version, a key change told by the key provider). */
static int64_t turn(sg_xfr_job *j, int64_t now_ms)
{
    sg_xfr_zone *xz = j->arg;
    int64_t now = (int64_t)time(NULL);
    atomic_fetch_add_explicit(&xz->turns, 1, memory_order_relaxed);
    zone_update(xz, now);
    follow_secondaries(xz, now, now_ms);
    pthread_mutex_lock(&xz->lock);
    const sg_xfr_snap *cur = atomic_load(&xz->cur);
    int sz = xz->keystore[0] != 0;
    sg_xfr_due d = {
        .has_version = cur != NULL,
        .pending = xz->ks_lost || (sz && (!xz->ks_ok || !xz->keys)),
        /* a round in flight wakes the zone with its last answer; this is a fallback */
        .follow_ms = !xz->prop_made || !xz->blk->cfg.nnotify ? 0
                     : atomic_load(&xz->probe_out) > 0 ? now_ms + PROBE_MS + 1000
                     : xz->probe_sent_ms + probe_every_ms(now, xz->prop_made),
        .signed_zone = sz,
        .keys_told = xz->blk->cfg.keys_told,
        .resign_at = cur ? cur->resign_at : 0,
        .keys_next = xz->keys_next,
        /* follow_secondaries records a confirmed version once more 10 s on (below) */
        .recheck_at = sz && xz->prop_recorded && !xz->prop_extended ? xz->prop_recorded + 10 : 0,
    };
    pthread_mutex_unlock(&xz->lock);
    return sg_xfr_next_turn(&d, now, now_ms);
}

uint64_t sg_xfr_first_versions(void)
{
    return atomic_load(&g_first_versions);
}

uint64_t sg_xfr_zone_turns(const sg_xfr_zone *xz)
{
    return xz ? atomic_load_explicit(&((sg_xfr_zone *)xz)->turns, memory_order_relaxed) : 0;
}

/* The rollover engine follows the secondaries only while a transfer block names them:
 * their number is a keystore fact, set when the zone's transfer state is configured and
 * 0 when the last plugin instance lets it go. */
/* One handle for these records, kept while zones are set up or let go one after another
 * (ten thousand zones at a start or a stop: one open, not one per zone); closed when the
 * last zone state goes, or when the file was replaced. */
static pthread_mutex_t g_rec_lock = PTHREAD_MUTEX_INITIALIZER;
static sg_keystore *g_rec_ks;
static char g_rec_path[1024];

static void record_secondaries(const char *keystore, const char *zone, int n)
{
    if (!keystore || !keystore[0])
        return;
    pthread_mutex_lock(&g_rec_lock);
    if (g_rec_ks && (strcmp(g_rec_path, keystore) || sg_ks_file_moved(g_rec_ks))) {
        sg_ks_free(g_rec_ks);
        g_rec_ks = NULL;
    }
    int rc = 0;
    if (!g_rec_ks && !(rc = sg_ks_new(keystore, "transfer", &g_rec_ks)))
        snprintf(g_rec_path, sizeof g_rec_path, "%s", keystore);
    if (!rc)
        rc = sg_ks_fact_observe(g_rec_ks, zone, SG_KS_FACT_SECONDARIES, (uint32_t)n,
                                "transfer notify", (int64_t)time(NULL));
    if (rc) {
        sg_ks_free(g_rec_ks); /* opened again for the next record */
        g_rec_ks = NULL;
    }
    pthread_mutex_unlock(&g_rec_lock);
    if (rc)
        sg_log(SG_LOG_WARN, "transfer", zone, "cannot record the secondaries in %s: %s", keystore,
               sg_strerror(rc));
}

/* The last zone state is gone: no handle outlives them. */
static void record_close(void)
{
    pthread_mutex_lock(&g_rec_lock);
    sg_ks_free(g_rec_ks);
    g_rec_ks = NULL;
    pthread_mutex_unlock(&g_rec_lock);
}

/* The zone takes the block's shared config and key, its own floor and keystore path;
 * SG_ENOMEM leaves it as it was. */
static int configure(sg_xfr_zone *xz, const sg_xfr_cfg *cfg, const sg_tsig_key *key,
                     const char *keystore)
{
    const char *ksp = keystore ? keystore : "";
    int same_ks = xz->keystore && !strcmp(xz->keystore, ksp);
    xfr_block *nb = block_get(cfg, key);
    char *nks = same_ks ? NULL : strdup(ksp);
    if (!nb || (!same_ks && !nks)) {
        block_put(nb);
        free(nks);
        return SG_ENOMEM;
    }
    pthread_mutex_lock(&xz->lock);
    xfr_block *ob = xz->blk;
    xz->blk = nb;
    xz->has_floor = cfg->has_floor;
    xz->floor = cfg->floor;
    if (nks) {
        free(xz->keystore);
        xz->keystore = nks;
        share_put(xz->kss); /* the new one's is taken at the next use */
        xz->kss = NULL;
        xz->ks_ok = 0;
    }
    pthread_mutex_lock(&xz->journal.lock);
    xz->journal.max_bytes = cfg->journal_bytes;
    xz->journal.max_age = cfg->journal_age;
    pthread_mutex_unlock(&xz->journal.lock);
    pthread_mutex_unlock(&xz->lock);
    block_put(ob);
    record_secondaries(keystore, xz->name, cfg->nnotify);
    return 0;
}

/* Per zone, the earliest RRSIG expiry of the version secondaries get: an alert's view of
 * signatures that run out while new versions are not being made. */
static int xfr_metrics(sg_metrics_out *o, void *ctx)
{
    (void)ctx;
    sg_metrics_family(o, "signet_dnssec_rrsig_expiry_earliest_timestamp_seconds", SG_METRIC_GAUGE,
                      "Earliest RRSIG expiration (unix time) in the zone's current signed version "
                      "for transfers: when what the secondaries serve stops validating.");
    pthread_mutex_lock(&g_lock);
    for (sg_xfr_zone *x = g_zones; x; x = x->next) {
        sg_xfr_snap *s = sg_xfr_zone_current(x);
        if (!s)
            continue;
        uint32_t exp = s->key_fp ? sg_xfr_snap_min_expiry(s) : 0;
        if (exp) {
            const char *l[] = { "zone", x->name, NULL };
            sg_metrics_add_u64(o, "signet_dnssec_rrsig_expiry_earliest_timestamp_seconds", NULL, l, exp);
        }
        sg_xfr_snap_unref(s);
    }
    pthread_mutex_unlock(&g_lock);
    return 0;
}

int sg_xfr_zone_acquire(const uint8_t *apex, const sg_xfr_cfg *cfg, const sg_tsig_key *key,
                        const char *keystore, sg_xfr_zone **out)
{
    static atomic_int registered;
    /* outside g_lock: a scrape holds the registry's lock and then takes g_lock */
    if (!atomic_exchange(&registered, 1) && sg_metrics_register(xfr_metrics, NULL))
        atomic_store(&registered, 0);
    pthread_mutex_lock(&g_lock);
    for (sg_xfr_zone *x = g_index_cap ? g_index[apex_hash(apex) & (g_index_cap - 1)] : g_zones; x;
         x = g_index_cap ? x->hnext : x->next)
        if (sg_name_eq(x->apex, apex)) {
            x->refs++;
            pthread_mutex_unlock(&g_lock);
            if (configure(x, cfg, key, keystore))
                sg_log(SG_LOG_ERR, "transfer", x->name, "out of memory: the transfer block's "
                       "previous settings stay");
            sg_xfr_sched_grow(cfg->workers);
            /* a reload: new targets, floor, policy, perhaps another file */
            atomic_store(&x->zone_event, 1);
            sg_xfr_sched_wake(&x->job);
            pthread_mutex_lock(&x->lock);
            x->purge = 0; /* served again before the purged state went: it stays */
            pthread_mutex_unlock(&x->lock);
            *out = x;
            return 0;
        }
    sg_xfr_zone *xz = calloc(1, sizeof *xz);
    if (!xz) {
        pthread_mutex_unlock(&g_lock);
        return SG_ENOMEM;
    }
    memcpy(xz->apex, apex, sg_name_len(apex));
    char name[SG_NAME_MAX * 4 + 2];
    sg_name_to_str(apex, name, sizeof name);
    pthread_mutex_init(&xz->lock, NULL);
    if (!(xz->name = strdup(name)) || configure(xz, cfg, key, keystore)) {
        pthread_mutex_unlock(&g_lock);
        pthread_mutex_destroy(&xz->lock);
        free(xz->name);
        free(xz);
        return SG_ENOMEM;
    }
    sg_retire_init(&xz->retired);
    xz->job.turn = turn;
    xz->job.arg = xz;
    atomic_init(&xz->zone_event, 1);
    xz->keys_next = INT64_MAX;
    sg_xfr_journal_init(&xz->journal, cfg->journal_bytes, cfg->journal_age);
    xz->refs = 1;
    xz->next = g_zones;
    xz->pprev = &g_zones;
    if (g_zones)
        g_zones->pprev = &xz->next;
    g_zones = xz;
    index_add(xz);
    pthread_mutex_unlock(&g_lock);
    sg_zonedb_watch(zone_loaded);
    if (sg_xfr_sched_add(&xz->job, cfg->workers))
        sg_log(SG_LOG_ERR, "transfer", xz->name, "no version worker: new versions will not be made");
    *out = xz;
    return 0;
}

void sg_xfr_zone_release(sg_xfr_zone *xz)
{
    if (!xz)
        return;
    pthread_mutex_lock(&g_lock);
    if (--xz->refs > 0) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    *xz->pprev = xz->next; /* no walk of ten thousand zones per zone at a shutdown */
    if (xz->next)
        xz->next->pprev = xz->pprev;
    index_del(xz);
    pthread_mutex_unlock(&g_lock);
    sg_xfr_sched_remove(&xz->job); /* waits for a turn in progress */
    if (xz->purge) {
        /* no turn runs or will: nothing writes the files again */
        state_path_for(xz, NULL);
        char tmp[2300];
        const char *files[] = { xz->state_path, xz->journal_path };
        for (int i = 0; i < 2; i++) {
            if (!files[i])
                continue;
            snprintf(tmp, sizeof tmp, "%s.tmp", files[i]);
            if ((unlink(files[i]) && errno != ENOENT) || (unlink(tmp) && errno != ENOENT))
                sg_log(SG_LOG_WARN, "transfer", xz->name, "cannot remove %s of the purged zone: %s",
                       files[i], strerror(errno));
        }
    } else {
        record_secondaries(xz->keystore, xz->name, 0);
    }
    pthread_mutex_lock(&g_lock);
    int none = g_count == 0;
    pthread_mutex_unlock(&g_lock);
    if (none)
        record_close();
    sg_xfr_notify_reap(xz->apex, 1);
    sg_retire_destroy(&xz->retired);
    sg_xfr_snap_unref(xz->loaded);
    sg_xfr_snap_unref(atomic_load(&xz->cur));
    for (soa_rec *s = xz->soas, *n; s; s = n) {
        n = s->next;
        free((void *)s->rs.rdata);
        free(s);
    }
    sg_xfr_journal_deinit(&xz->journal);
    sg_keyset_free(xz->keys);
    share_put(xz->kss);
    block_put(xz->blk);
    free(xz->keystore);
    free(xz->state_path);
    free(xz->journal_path);
    free(xz->name);
    pthread_mutex_destroy(&xz->lock);
    free(xz);
}

sg_xfr_snap *sg_xfr_zone_current(sg_xfr_zone *xz)
{
    /* a replaced version is released only after SG_RETIRE_GRACE_SECONDS, so it cannot go between
     * the load and the reference */
    sg_xfr_snap *s = atomic_load(&xz->cur);
    if (s)
        sg_xfr_snap_ref(s);
    return s;
}

const sg_xfr_snap *sg_xfr_zone_peek(sg_xfr_zone *xz)
{
    return atomic_load(&xz->cur);
}

const sg_rrset *sg_xfr_zone_soa(sg_xfr_zone *xz, const sg_zone *z)
{
    const sg_rrset *rs = atomic_load(&xz->soa);
    if (!rs || (z->soa && z->soa->rdata_len == rs->rdata_len &&
                !memcmp(z->soa->rdata, rs->rdata, rs->rdata_len) && z->soa->ttl == rs->ttl))
        return NULL; /* the file's own: keep its RRset (and its cached signature) */
    return rs;
}

sg_xfr_journal *sg_xfr_zone_journal(sg_xfr_zone *xz)
{
    return &xz->journal;
}

void sg_xfr_zone_purge(sg_xfr_zone *xz)
{
    if (!xz)
        return;
    pthread_mutex_lock(&xz->lock);
    xz->purge = 1;
    pthread_mutex_unlock(&xz->lock);
}

void sg_xfr_zone_wake(sg_xfr_zone *xz)
{
    if (xz)
        sg_xfr_sched_wake(&xz->job);
}
