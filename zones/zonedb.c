/* SPDX-License-Identifier: MIT */
/* Loaded zones shared between configuration generations, with reference counts that
 * change only at reload (never on the query path). */
#include "zones/zonedb.h"
#include "zones/serial.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/retire.h"
#include "common/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Entries and slots are found by their apex's hash (issue 17: 10^4 zones made every
 * acquire and release a walk over all of them): chained tables of hnode, the first
 * member of both. A version's reference count is in the version (sg_zone.db_refs). */
typedef struct hnode {
    struct hnode *next;
    uint64_t hash;              /* of the lower-case wire apex */
} hnode;

typedef struct htab {
    hnode **b;
    size_t mask;                /* buckets - 1; 0 with b NULL: empty */
    size_t count;
} htab;

/* Test hook (sg_zonedb_test_compares): nodes looked at by this thread's searches. */
static _Thread_local unsigned long t_compares;
unsigned long sg_zonedb_test_compares(void) { return t_compares; }

static uint64_t apex_hash(const uint8_t *apex)
{
    uint8_t l[SG_NAME_MAX];
    size_t len = sg_name_len(apex);
    memcpy(l, apex, len);
    sg_name_lower(l);
    uint64_t h = sg_name_hash(l, len);
    /* spread into the low bits, which pick the bucket (murmur3's finaliser) */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

/* hash of a presentation apex; 0 and *ok 0 when it is not a name */
static uint64_t str_hash(const char *apex, uint8_t wire_out[SG_NAME_MAX])
{
    if (sg_name_from_str(apex, (const uint8_t *)"", wire_out))
        wire_out[0] = 0;
    return apex_hash(wire_out);
}

static hnode *htab_first(const htab *t, uint64_t hash)
{
    return t->b ? t->b[hash & t->mask] : NULL;
}

static int htab_add(htab *t, hnode *n)
{
    if (t->count + 1 > (t->b ? t->mask + 1 : 0)) {
        size_t nb = t->b ? (t->mask + 1) * 2 : 64;
        hnode **b = calloc(nb, sizeof *b);
        if (!b)
            return SG_ENOMEM;
        for (size_t i = 0; t->b && i <= t->mask; i++)
            for (hnode *x = t->b[i], *nx; x; x = nx) {
                nx = x->next;
                x->next = b[x->hash & (nb - 1)];
                b[x->hash & (nb - 1)] = x;
            }
        free(t->b);
        t->b = b;
        t->mask = nb - 1;
    }
    n->next = t->b[n->hash & t->mask];
    t->b[n->hash & t->mask] = n;
    t->count++;
    return 0;
}

static void htab_remove(htab *t, hnode *n)
{
    for (hnode **p = &t->b[n->hash & t->mask]; *p; p = &(*p)->next)
        if (*p == n) {
            *p = n->next;
            t->count--;
            return;
        }
}

typedef struct entry {
    hnode h;
    char *apex;
    char *path;
    sg_zone *zone;        /* the newest version */
    int load_failed;      /* the file's last load failed: an older version is served */
    /* loaded under sg_zonedb_hold_news and not yet prepared: sg_zonedb_acquire_apex does
     * not hand it out (the transfer plugin made a version of a file without its journaled
     * updates, replayed by the update plugin's prepare hook a moment later) */
    int hidden;
} entry;

/* slots: zones fed by transfers (below) */
struct sg_zone_slot {
    hnode h;
    char *apex;
    int refs;                   /* under g_lock */
    _Atomic(sg_zone *) zone;
    _Atomic time_t confirmed;
    sg_retire_list retired;     /* replaced versions in their grace period */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static htab g_slots;
static htab g_entries;
static char *g_only;    /* reload just this zone, or NULL */

void sg_zonedb_set_only(const char *apex)
{
    pthread_mutex_lock(&g_lock);
    free(g_only);
    g_only = apex ? strdup(apex) : NULL;
    pthread_mutex_unlock(&g_lock);
}

static int other_zone(const char *apex)
{
    if (!g_only)
        return 0;
    size_t a = strlen(apex), o = strlen(g_only);
    /* "example.test" and "example.test." name the same zone */
    if (a && apex[a - 1] == '.')
        a--;
    if (o && g_only[o - 1] == '.')
        o--;
    return a != o || strncasecmp(apex, g_only, a) != 0;
}

static entry *find_entry(const char *apex, const char *path)
{
    uint8_t w[SG_NAME_MAX];
    uint64_t h = str_hash(apex, w);
    for (hnode *n = htab_first(&g_entries, h); n; n = n->next) {
        entry *e = (entry *)n;
        t_compares++;
        if (n->hash == h && !strcasecmp(e->apex, apex) && !strcmp(e->path, path))
            return e;
    }
    return NULL;
}

static int unchanged(const sg_zone *z, const char *path)
{
    if (!z->nfiles || strcmp(z->files[0].path, path))
        return 0;
    for (int i = 0; i < z->nfiles; i++) {
        const struct sg_zone_file *f = &z->files[i];
        struct stat st;
        if (stat(f->path, &st) != 0 || st.st_dev != f->dev || st.st_ino != f->ino ||
            st.st_size != f->size || st.st_mtim.tv_sec != f->mtime.tv_sec ||
            st.st_mtim.tv_nsec != f->mtime.tv_nsec)
            return 0;
    }
    return 1;
}

/* Metrics source: every zone's serving version, read under the set's lock at scrape. */
static int zones_metrics(sg_metrics_out *o, void *ctx)
{
    (void)ctx;
    sg_metrics_family(o, "signet_zone_serial", SG_METRIC_GAUGE, "SOA serial of the loaded zone.");
    sg_metrics_family(o, "signet_zone_loaded_timestamp_seconds", SG_METRIC_GAUGE,
                      "UNIX time the serving version of the zone was loaded.");
    sg_metrics_family(o, "signet_zone_records", SG_METRIC_GAUGE, "Records in the loaded zone.");
    sg_metrics_family(o, "signet_zone_load_failed", SG_METRIC_GAUGE,
                      "1 when the zone file's last load failed and an older version is served.");
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; g_entries.b && i <= g_entries.mask; i++)
    for (hnode *n = g_entries.b[i]; n; n = n->next) {
        const entry *e = (const entry *)n;
        const char *l[] = { "zone", e->zone->apex_str, NULL };
        sg_metrics_add_u64(o, "signet_zone_serial", NULL, l, e->zone->serial);
        sg_metrics_add_u64(o, "signet_zone_loaded_timestamp_seconds", NULL, l,
                           (uint64_t)e->zone->loaded_at);
        sg_metrics_add_u64(o, "signet_zone_records", NULL, l, e->zone->nrecords);
        sg_metrics_add_u64(o, "signet_zone_load_failed", NULL, l, (uint64_t)e->load_failed);
    }
    for (size_t i = 0; g_slots.b && i <= g_slots.mask; i++)
    for (hnode *n = g_slots.b[i]; n; n = n->next) {
        const sg_zone *z = sg_zonedb_slot_zone((const sg_zone_slot *)n);
        if (!z)
            continue; /* not transferred yet, or expired */
        const char *l[] = { "zone", z->apex_str, NULL };
        sg_metrics_add_u64(o, "signet_zone_serial", NULL, l, z->serial);
        sg_metrics_add_u64(o, "signet_zone_loaded_timestamp_seconds", NULL, l, (uint64_t)z->loaded_at);
        sg_metrics_add_u64(o, "signet_zone_records", NULL, l, z->nrecords);
    }
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static void register_metrics(void)
{
    static atomic_int registered;
    if (!atomic_exchange(&registered, 1))
        sg_metrics_register(zones_metrics, NULL); /* once; the set lives as long as the process */
}

int sg_zonedb_acquire(const char *path, const char *apex, uint64_t max_size, int check_only,
                      sg_zone **zone_out)
{
    return sg_zonedb_acquire_served(path, apex, max_size, check_only, NULL, zone_out);
}

/* Is the loaded version e still the one to serve? Its files are unchanged (or the reload
 * is for another zone), and a floor does not ask for a serial above the one it has. */
static int keep_loaded(const entry *e, const char *path, const char *apex,
                       const sg_zone_serving *srv)
{
    if (other_zone(apex))
        return 1;
    if (!unchanged(e->zone, path))
        return 0;
    return !srv || !srv->has_floor || sg_serial_newer(e->zone->serial, srv->floor);
}

static void (*_Atomic g_watch)(const uint8_t *apex);

void sg_zonedb_watch(void (*fn)(const uint8_t *apex))
{
    atomic_store(&g_watch, fn);
}

static void tell_watcher(const uint8_t *apex)
{
    void (*fn)(const uint8_t *) = atomic_load(&g_watch);
    if (fn)
        fn(apex);
}

/* sg_zonedb_hold_news: the one load held back on this thread */
static _Thread_local int t_hold;
static _Thread_local int t_held;
static _Thread_local uint8_t t_held_apex[SG_NAME_MAX];

static void tell_loaded(const uint8_t *apex)
{
    if (!t_hold) {
        tell_watcher(apex);
        return;
    }
    if (t_held && !sg_name_eq(t_held_apex, apex))
        tell_watcher(t_held_apex);
    memcpy(t_held_apex, apex, sg_name_len(apex));
    t_held = 1;
}

static void unhide(const uint8_t *apex)
{
    pthread_mutex_lock(&g_lock);
    uint64_t h = apex_hash(apex);
    for (hnode *n = htab_first(&g_entries, h); n; n = n->next) {
        entry *e = (entry *)n;
        if (n->hash == h && sg_name_eq(e->zone->apex, apex))
            e->hidden = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

void sg_zonedb_hold_news(int hold)
{
    t_hold = hold;
    if (!hold && t_held) {
        t_held = 0;
        unhide(t_held_apex);
        tell_watcher(t_held_apex);
    }
}

int sg_zonedb_acquire_served(const char *path, const char *apex, uint64_t max_size,
                             int check_only, const sg_zone_serving *srv, sg_zone **zone_out)
{
    if (!path || !apex || !zone_out)
        return SG_EINVAL;
    if (check_only)
        return sg_zone_load_file_max(path, apex, max_size, zone_out);
    register_metrics();
    pthread_mutex_lock(&g_lock);
    entry *e = find_entry(apex, path);
    if (e && keep_loaded(e, path, apex, srv)) {
        e->zone->db_refs++;
        *zone_out = e->zone;
        pthread_mutex_unlock(&g_lock);
        return 0;
    }
    pthread_mutex_unlock(&g_lock);

    sg_zone *z = NULL;
    int rc = sg_zone_load_file_max(path, apex, max_size, &z);
    uint32_t file_serial = z ? z->serial : 0;
    if (!rc && srv && srv->serial && (rc = sg_zone_set_serial(z, srv->serial(srv->arg, z)))) {
        sg_zone_free(z);
        z = NULL;
    }

    pthread_mutex_lock(&g_lock);
    e = find_entry(apex, path);
    if (rc) {
        if (e) {
            sg_log(SG_LOG_ERR, "zone", apex, "%s failed to load; still serving serial %u",
                   path, e->zone->serial);
            e->load_failed = 1;
            e->zone->db_refs++;
            *zone_out = e->zone;
            rc = 0;
        }
        pthread_mutex_unlock(&g_lock);
        return rc;
    }
    if (!e) {
        if (!(e = calloc(1, sizeof *e)) || !(e->apex = strdup(apex)) ||
            !(e->path = strdup(path)) || (e->h.hash = apex_hash(z->apex), htab_add(&g_entries, &e->h))) {
            if (e) {
                free(e->apex);
                free(e->path);
                free(e);
            }
            pthread_mutex_unlock(&g_lock);
            sg_zone_free(z);
            return SG_ENOMEM;
        }
    }
    /* a serial that goes backwards loads (the file is what the operator wants served) but
     * is said, as BIND does: secondaries that follow the SOA serial stop following; a
     * `transfer` block keeps its own serial moving forward */
    uint32_t old_serial = e->zone ? e->zone->serial : 0;
    int backwards = e->zone && sg_serial_cmp(z->serial, old_serial) < 0;
    e->zone = z;
    e->load_failed = 0;
    e->hidden = t_hold;
    z->db_refs = 1;
    pthread_mutex_unlock(&g_lock);
    if (z->serial != file_serial)
        sg_log(SG_LOG_INFO, "zone", z->apex_str, "loaded %s: serial %u (served as %u), %zu "
               "records, %zu names", path, file_serial, z->serial, z->nrecords, z->nnodes);
    else
        sg_log(SG_LOG_INFO, "zone", z->apex_str, "loaded %s: serial %u, %zu records, %zu names",
               path, z->serial, z->nrecords, z->nnodes);
    if (backwards)
        sg_log(SG_LOG_WARN, "zone", z->apex_str,
               "%s: serial %u is older than the %u served before (RFC 1982): secondaries that "
               "follow the SOA serial will not take this version", path, z->serial, old_serial);
    tell_loaded(z->apex);
    *zone_out = z;
    return 0;
}

int sg_zonedb_acquire_apex(const uint8_t *apex, sg_zone **zone_out)
{
    if (!apex || !zone_out)
        return SG_EINVAL;
    pthread_mutex_lock(&g_lock);
    sg_zone *best = NULL;
    uint64_t h = apex_hash(apex);
    for (hnode *n = htab_first(&g_entries, h); n; n = n->next) {
        entry *e = (entry *)n;
        t_compares++;
        if (n->hash == h && !e->hidden && sg_name_eq(e->zone->apex, apex) &&
            (!best || e->zone->gen > best->gen))
            best = e->zone;
    }
    for (hnode *n = htab_first(&g_slots, h); n; n = n->next) {
        /* a replaced version keeps the slot's reference for its grace period, and that
         * is dropped under g_lock: what we read here is counted */
        sg_zone *z = atomic_load(&((sg_zone_slot *)n)->zone);
        t_compares++;
        if (z && n->hash == h && sg_name_eq(z->apex, apex) && (!best || z->gen > best->gen))
            best = z;
    }
    if (best)
        best->db_refs++;
    pthread_mutex_unlock(&g_lock);
    *zone_out = best;
    return best ? 0 : SG_ENOTFOUND;
}

void sg_zonedb_release(sg_zone *z)
{
    if (!z)
        return;
    pthread_mutex_lock(&g_lock);
    if (!z->db_refs) {
        /* loaded with check_only: never in the set */
        pthread_mutex_unlock(&g_lock);
        sg_zone_free(z);
        return;
    }
    if (--z->db_refs > 0) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    uint64_t h = apex_hash(z->apex);
    for (hnode *n = htab_first(&g_entries, h); n; n = n->next) {
        entry *e = (entry *)n;
        t_compares++;
        if (e->zone == z) {
            htab_remove(&g_entries, n);
            free(e->apex);
            free(e->path);
            free(e);
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
    sg_zone_free(z);
}

/* ---- slots -------------------------------------------------------------------------- */



int sg_zonedb_slot_acquire(const char *apex, sg_zone_slot **slot_out)
{
    if (!apex || !slot_out)
        return SG_EINVAL;
    register_metrics();
    uint8_t w[SG_NAME_MAX];
    uint64_t h = str_hash(apex, w);
    pthread_mutex_lock(&g_lock);
    for (hnode *n = htab_first(&g_slots, h); n; n = n->next) {
        sg_zone_slot *s = (sg_zone_slot *)n;
        t_compares++;
        if (n->hash == h && !strcasecmp(s->apex, apex)) {
            s->refs++;
            pthread_mutex_unlock(&g_lock);
            *slot_out = s;
            return 0;
        }
    }
    sg_zone_slot *s = calloc(1, sizeof *s);
    if (!s || !(s->apex = strdup(apex))) {
        free(s);
        pthread_mutex_unlock(&g_lock);
        return SG_ENOMEM;
    }
    s->h.hash = h;
    if (htab_add(&g_slots, &s->h)) {
        free(s->apex);
        free(s);
        pthread_mutex_unlock(&g_lock);
        return SG_ENOMEM;
    }
    sg_retire_init(&s->retired);
    s->refs = 1;
    pthread_mutex_unlock(&g_lock);
    *slot_out = s;
    return 0;
}

/* A slot holds one reference to each of its versions (the current one and the replaced
 * ones in their grace period), counted in the version (db_refs) like the file versions, so that a background
 * task may hold a version with sg_zonedb_acquire_apex; queries hold none. */
static void release_v(void *z) { sg_zonedb_release(z); }

void sg_zonedb_slot_release(sg_zone_slot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&g_lock);
    if (--s->refs > 0) {
        pthread_mutex_unlock(&g_lock);
        return;
    }
    htab_remove(&g_slots, &s->h);
    pthread_mutex_unlock(&g_lock);
    sg_retire_destroy(&s->retired);
    sg_zonedb_release(atomic_load(&s->zone));
    free(s->apex);
    free(s);
}

const sg_zone *sg_zonedb_slot_zone(const sg_zone_slot *s)
{
    return atomic_load(&((sg_zone_slot *)s)->zone);
}

sg_zone *sg_zonedb_slot_hold(sg_zone_slot *s)
{
    pthread_mutex_lock(&g_lock);
    sg_zone *z = atomic_load(&s->zone);
    if (z)
        z->db_refs++; /* counted: the slot's own reference is dropped under g_lock */
    pthread_mutex_unlock(&g_lock);
    return z;
}

int sg_zonedb_slot_publish(sg_zone_slot *s, sg_zone *z)
{
    if (z) {
        /* counted before anyone can see it in the slot */
        pthread_mutex_lock(&g_lock);
        z->db_refs = 1;
        pthread_mutex_unlock(&g_lock);
    }
    sg_zone *old = atomic_exchange(&s->zone, z);
    if (old)
        sg_retire(&s->retired, old, release_v, time(NULL));
    if (z)
        tell_watcher(z->apex);
    return 0;
}

void sg_zonedb_slot_reap(sg_zone_slot *s)
{
    if (s)
        sg_retire_reap(&s->retired, time(NULL), 0);
}

time_t sg_zonedb_slot_confirmed(const sg_zone_slot *s)
{
    return atomic_load(&((sg_zone_slot *)s)->confirmed);
}

void sg_zonedb_slot_set_confirmed(sg_zone_slot *s, time_t when)
{
    atomic_store(&s->confirmed, when);
}

int sg_zonedb_load_failed(const sg_zone *z)
{
    if (!z)
        return 0;
    int failed = 0;
    uint64_t h = apex_hash(z->apex);
    pthread_mutex_lock(&g_lock);
    for (hnode *n = htab_first(&g_entries, h); n; n = n->next)
        if (n->hash == h && ((entry *)n)->zone == z) {
            failed = ((entry *)n)->load_failed;
            break;
        }
    pthread_mutex_unlock(&g_lock);
    return failed;
}
