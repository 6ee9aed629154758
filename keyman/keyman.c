/* SPDX-License-Identifier: MIT */
/* The key lifecycle of a dnssec block: engine step, registrar tick, key-set snapshots. */
#include "keyman/keyman.h"
#include "keyman/key_metrics.h"
#include "common/apex_index.h"
#include "keystore/rollover.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/name.h"
#include "common/retire.h"
#include "common/served_news.h"
#include "common/task.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sg_keyman_zone {
    char *name;                /* at its length: 10^5 zones must not hold 1 KiB each */
    uint8_t apex[SG_NAME_MAX]; /* lower case wire form: what the plugin looks up */
    _Atomic(sg_keyset *) keys;
    _Atomic uint32_t max_ttl;  /* of the zone version last served, for rollover timing */
    sg_registrar *reg;         /* pushes and confirms its DS at the parent, or NULL */
    char *next_reason;         /* the engine's last word, logged when it changes; */
    char *wait_reason;         /* NULL until it has said something */
    uint32_t seen_max_ttl;     /* the TTLs last recorded as facts for the engine */
    uint32_t seen_dnskey_ttl;
    int last_err;              /* the keystore failure last logged, and when: a failure */
    int64_t last_err_at;       /* is said on its change, then once a minute */
    int has_floor;             /* the serial-floor fact, read at sg_keyman_new */
    uint32_t floor;
    struct sg_keyman *km;      /* its keyman (sg_keyman_wake_zone) */
    /* the stepping thread's own: the due heap (see struct sg_keyman) */
    int64_t due;               /* when the step looks at the zone again (the heap's key) */
    int heap_at;               /* its place in the heap */
    int at;                    /* its place in the current table (the metrics' index) */
    _Atomic int wake;          /* look at once (sg_keyman_wake_zone, a new max TTL) */
};
typedef struct sg_keyman_zone kzone;

/* Zones whose keystore writes share one transaction (one fsync) at a first start and in
 * a step's facts: a few hundred milliseconds of the write lock at most. */
#define KS_BATCH 256

/* The zones, as one immutable table the plugin reads lock-free: a static block's are
 * fixed at sg_keyman_new; a dynamic one's (issue 17) are replaced, on the stepping thread,
 * whenever the keystore's served zones change (the old table and the zones it alone held
 * are retired). Looked up by apex through a hash index. */
typedef struct ktab {
    int n;
    kzone **z;
    sg_apex_index ix;          /* apex -> position in z */
} ktab;

struct sg_keyman {
    char keystore[1024];
    char provider[32];         /* the registrar's, for metrics; "" without one */
    char policy[64];           /* for zones not yet in the keystore */
    const sg_reg_cfg *registrar; /* each zone's registrar is made from it; or NULL */
    _Atomic(ktab *) tab;
    /* dynamic: the block's zones are scopes; the zones are the keystore's served zones
     * (sg_ks_served_list) inside them, followed through the served-zones counter */
    int dynamic;
    uint8_t (*scopes)[SG_NAME_MAX];
    int nscopes;
    int64_t served_counter;    /* the counter the table was made at; -1: not yet */
    int subscribed;            /* to sg_served_news (a dynamic keyman's thread) */
    sg_task task;              /* once a second, or at once to stop */
    sg_retire_list retired;    /* replaced key sets, and what the plugin hands over */
    _Atomic uint64_t epoch;    /* bumped at every key set swap */
    sg_key_metrics metrics;    /* what the last step read from the keystore */
    /* the stepping thread's own: its keystore handle, and whether the file was lost */
    sg_keystore *ks;
    int lost;
    _Atomic int ks_missing;    /* the last step found no keystore to open (readiness) */
    int64_t said;              /* when the keystore's absence was last logged */
    /* which zones are due: a min-heap of the current table's zones on kzone.due, so that
     * an idle second costs O(1) and a due zone O(log n), whatever the number of zones;
     * made again from the table whenever follow() replaces it (a dropped zone leaves the
     * heap with its table, a new one is due at once) */
    kzone **heap;
    int nheap;
    int have_version;          /* the keystore's data_version at the last step */
    int64_t data_version;
    int64_t writes_seen;       /* sg_ks_zone_writes's count at the last look */
    int64_t all_at;            /* every zone due then (0: not planned), see zones_written */
    _Atomic int woken;         /* some zone's wake is set */
    _Atomic uint64_t stepped;  /* zones looked at (sg_keyman_zones_stepped) */
    void (*keys_changing)(void *arg, sg_keyman_zone *z, const sg_keyset *k,
                          const sg_keyset *cur, int published);
    void *arg;
    void (*_Atomic changed)(const uint8_t *apex); /* sg_keyman_watch */
};

/* ---- the due heap (the stepping thread's) ------------------------------------------- */

static void heap_set(sg_keyman *km, int at, kzone *z)
{
    km->heap[at] = z;
    z->heap_at = at;
}

static void heap_fix(sg_keyman *km, int at)
{
    int n = km->nheap;
    kzone *z = km->heap[at];
    int64_t due = z->due;
    while (at > 0 && km->heap[(at - 1) / 2]->due > due) {
        heap_set(km, at, km->heap[(at - 1) / 2]);
        at = (at - 1) / 2;
    }
    for (;;) {
        int c = 2 * at + 1;
        if (c >= n)
            break;
        if (c + 1 < n && km->heap[c + 1]->due < km->heap[c]->due)
            c++;
        if (km->heap[c]->due >= due)
            break;
        heap_set(km, at, km->heap[c]);
        at = c;
    }
    heap_set(km, at, z);
}

/* Zone z (in the heap) is due at when (sooner or later than it was). */
static void set_due(sg_keyman *km, kzone *z, int64_t when)
{
    z->due = when;
    heap_fix(km, z->heap_at);
}

/* The heap made again over table t's zones in h (room for t->n, taken; their due
 * times kept; a zone new to the keyman has due 0: at once). The old heap's zones that t
 * does not hold are simply not in it any more: a dropped zone is never stepped again. */
static void heap_build(sg_keyman *km, const struct ktab *t, kzone **h);

/* the longest a zone goes unseen: a safety net for what no timing point foretells */
#define RECHECK_SECONDS 3600

static void keyset_free_v(void *p) { sg_keyset_free(p); }

static void kzone_free(kzone *z)
{
    if (!z)
        return;
    sg_reg_free(z->reg);
    sg_keyset_free(atomic_load(&z->keys));
    free(z->name);
    free(z->next_reason);
    free(z->wait_reason);
    free(z);
}

static void kzone_free_v(void *p) { kzone_free(p); }

static const uint8_t *kzone_apex(const void *table, int i)
{
    return ((kzone *const *)table)[i]->apex;
}

/* A table over the n zones z (taken; the zones themselves are shared with other tables). */
static ktab *ktab_new(kzone **z, int n)
{
    ktab *t = calloc(1, sizeof *t);
    if (!t || sg_apex_index_build(&t->ix, z, n, kzone_apex)) {
        free(t);
        return NULL;
    }
    t->z = z;
    t->n = n;
    return t;
}

/* The table alone (its zones are freed by whoever drops them). */
static void ktab_free(ktab *t)
{
    if (!t)
        return;
    free(t->z);
    sg_apex_index_free(&t->ix);
    free(t);
}

static void ktab_free_v(void *p) { ktab_free(p); }

static int ktab_find(const ktab *t, const uint8_t *apex)
{
    if (!t || !apex)
        return -1;
    uint8_t low[SG_NAME_MAX];
    size_t len = sg_name_len(apex);
    if (len > sizeof low)
        return -1;
    memcpy(low, apex, len);
    sg_name_lower(low);
    return sg_apex_index_find(&t->ix, t->z, kzone_apex, low, len);
}

static ktab *cur_tab(const sg_keyman *km)
{
    return atomic_load(&((sg_keyman *)km)->tab);
}

static kzone **heap_alloc(const ktab *t)
{
    return malloc((t && t->n > 0 ? (size_t)t->n : 1) * sizeof(kzone *));
}

static void heap_build(sg_keyman *km, const ktab *t, kzone **h)
{
    free(km->heap);
    km->heap = h;
    km->nheap = t->n;
    for (int i = 0; i < t->n; i++) {
        t->z[i]->at = i;
        heap_set(km, i, t->z[i]);
    }
    for (int i = t->n / 2 - 1; i >= 0; i--)
        heap_fix(km, i);
}

/* A keystore failure of the zone's, worth a log line now? On its change, then at most
 * once a minute (issue 15: a keystore deleted under signetd logged every second per zone). */
static int say_failure(kzone *z, int err, int64_t now)
{
    if (err == z->last_err && now - z->last_err_at < 60 && now >= z->last_err_at)
        return 0;
    z->last_err = err;
    z->last_err_at = now;
    return 1;
}

/* Record what zone z serves now as facts (zone-max-ttl, dnskey-ttl) when it changed
 * since they were last recorded: the engine's waits rest on them. */
static int served_changed(const kzone *z)
{
    uint32_t mt = atomic_load(&z->max_ttl);
    const sg_keyset *served = atomic_load(&((kzone *)z)->keys);
    return (mt && mt != z->seen_max_ttl) ||
           (served && served->dnskey.count && served->dnskey.ttl != z->seen_dnskey_ttl);
}

static void observe_served(sg_keystore *ks, kzone *z, int64_t now)
{
    uint32_t mt = atomic_load(&z->max_ttl);
    if (mt && mt != z->seen_max_ttl &&
        !sg_ks_fact_observe(ks, z->name, SG_KS_FACT_ZONE_MAX_TTL, mt, "served zone", now))
        z->seen_max_ttl = mt;
    sg_keyset *served = atomic_load(&z->keys);
    if (served && served->dnskey.count && served->dnskey.ttl != z->seen_dnskey_ttl &&
        !sg_ks_fact_observe(ks, z->name, SG_KS_FACT_DNSKEY_TTL, served->dnskey.ttl,
                            "served DNSKEY RRset", now))
        z->seen_dnskey_ttl = served->dnskey.ttl;
}

/* The facts of the due zones, KS_BATCH zones per transaction, before any of them is
 * stepped (the first step after a start records two facts for every zone: a commit, an
 * fsync, each, before). The engine steps after the commit, so it never acts on a fact a
 * crash could take back; a batch that does not commit is forgotten (seen_* reset) and
 * written by each zone's own step, one transaction at a time, as before. */
typedef struct facts_batch {
    sg_keystore *ks;
    int64_t now;
    int tx;                    /* a transaction is open */
    int n;
    kzone *z[KS_BATCH];
    uint32_t seen_mt[KS_BATCH], seen_dk[KS_BATCH];
} facts_batch;

static void facts_flush(facts_batch *b)
{
    if (b->tx && sg_ks_commit(b->ks))
        for (int i = 0; i < b->n; i++) {
            b->z[i]->seen_max_ttl = b->seen_mt[i];
            b->z[i]->seen_dnskey_ttl = b->seen_dk[i];
        }
    b->tx = 0;
    b->n = 0;
}

/* the heap's due zones: a node not due has no due child */
static void facts_due(sg_keyman *km, facts_batch *b, int i)
{
    if (i >= km->nheap || km->heap[i]->due > b->now)
        return;
    kzone *z = km->heap[i];
    if (served_changed(z)) {
        if (!b->tx && sg_ks_begin(b->ks) == 0)
            b->tx = 1;
        if (b->tx) {
            b->z[b->n] = z;
            b->seen_mt[b->n] = z->seen_max_ttl;
            b->seen_dk[b->n] = z->seen_dnskey_ttl;
            b->n++;
            observe_served(b->ks, z, b->now);
            if (b->n == KS_BATCH)
                facts_flush(b);
        }
    }
    facts_due(km, b, 2 * i + 1);
    facts_due(km, b, 2 * i + 2);
}

/* Look at zone z: facts, engine step, registrar tick, metrics, and a new key set when
 * its fingerprint changed. Returns when it is due again: its next timed event, the
 * registrar's next tick, the next timing point that changes its key set, whichever is
 * first (and at most RECHECK_SECONDS away). */
static int64_t refresh_zone(sg_keyman *km, sg_keystore *ks, kzone *z, int64_t now)
{
    atomic_fetch_add(&km->stepped, 1);
    int64_t due = now + RECHECK_SECONDS;
    /* what we serve is what caches hold: the engine's waits rest on it (facts kept
     * in the keystore, so that a restart or signetctl sees them too) */
    uint32_t mt = atomic_load(&z->max_ttl);
    observe_served(ks, z, now);
    /* first the engine: whatever it changes is in the key set read below */
    sg_roll_figures fig = { .max_ttl = mt };
    sg_roll_event next = { .action = SG_ROLL_NONE };
    int er = sg_roll_step(ks, z->name, &fig, now, &next);
    if (er && say_failure(z, er, now))
        sg_log(SG_LOG_ERR, "rollover", z->name, "%s failed: %s (said again in a minute if it lasts)",
               next.action == SG_ROLL_NONE ? "step" : sg_roll_action_name(next.action),
               sg_strerror(er));
    /* a clock stepped back: keys are what the keystore last recorded, not what the
     * timing points say at a time before them */
    int64_t keys_at = !er && next.action == SG_ROLL_CLOCK ? next.when : now;
    /* then the parent side: push what the engine now wants, confirm what it waits for */
    int rr = z->reg ? sg_reg_tick(z->reg, ks, z->name, now) : 0;
    if (rr)
        sg_log(SG_LOG_WARN, "registrar", z->name, "tick failed: %s", sg_strerror(rr));
    if (z->reg && sg_reg_next_tick(z->reg) < due)
        due = sg_reg_next_tick(z->reg);
    /* waiting on the parent with a registrar: its tick records the DS seen (or gone)
     * through our own handle, which data_version does not show, and the engine must
     * take the next step a second later, as it always did */
    if (z->reg && !er && (next.action == SG_ROLL_WAIT || next.wait_key_id))
        due = now + 1;
    if (er || next.action == SG_ROLL_CLOCK)
        due = now + 1; /* as before: every second until it works again */
    else if (next.action != SG_ROLL_NONE && next.action != SG_ROLL_WAIT && next.when < due)
        due = next.when;
    sg_key_metrics_read(&km->metrics, z->at, ks, now, &next, !er);
    if (!er && (strcmp(next.reason, z->next_reason ? z->next_reason : "") ||
                strcmp(next.wait_reason, z->wait_reason ? z->wait_reason : ""))) {
        /* kept only once said (a zone's reasons change rarely; most zones say one) */
        free(z->next_reason);
        free(z->wait_reason);
        z->next_reason = next.reason[0] ? strdup(next.reason) : NULL;
        z->wait_reason = next.wait_reason[0] ? strdup(next.wait_reason) : NULL;
        sg_log(next.action == SG_ROLL_CLOCK ? SG_LOG_WARN : SG_LOG_INFO, "rollover", z->name,
               "next: %s%s%s", next.reason,
               next.wait_reason[0] && next.action != SG_ROLL_WAIT ? "; also " : "",
               next.action != SG_ROLL_WAIT ? next.wait_reason : "");
    }
    sg_keyset *cur = atomic_load(&z->keys);
    sg_keyset *nk = NULL;
    int64_t change = INT64_MAX;
    int rc = sg_keyset_load_next(ks, z->name, keys_at, cur ? cur->fingerprint : 0, &nk, &change);
    if (change < due)
        due = change;
    if (due <= now)
        due = now + 1;
    if (rc && rc != SG_EEXIST) {
        if (say_failure(z, rc, now))
            sg_log(SG_LOG_WARN, "signer", z->name, "keystore read failed (%s); keeping the current keys",
                   sg_strerror(rc));
        return now + 1;
    }
    if (!er && z->last_err) {
        sg_log(SG_LOG_INFO, "signer", z->name, "the keystore works again");
        z->last_err = 0;
    }
    if (rc == SG_EEXIST)
        return due;
    /* what the new set needs (a denial chain for its parameters) is made before it is
     * served, by the plugin, here on this thread */
    if (km->keys_changing)
        km->keys_changing(km->arg, z, nk, cur, 0);
    atomic_store(&z->keys, nk);
    atomic_fetch_add_explicit(&km->epoch, 1, memory_order_release);
    sg_log(SG_LOG_INFO, "signer", z->name, "key set changed: %d signing, %d key-signing, %u published",
           nk->nzsk, nk->nksk, nk->dnskey.count);
    if (km->keys_changing)
        km->keys_changing(km->arg, z, nk, cur, 1);
    void (*changed)(const uint8_t *) = atomic_load(&km->changed);
    if (changed)
        changed(z->apex);
    if (cur)
        sg_retire(&km->retired, cur, keyset_free_v, (time_t)now);
    return due;
}

/* The keystore file was deleted or replaced under us: what we would write through the
 * old handle goes into a file nobody will read again, so the handle goes, and the file at
 * the path is opened only if it exists (a new empty keystore would give every zone new
 * keys whose DS no parent has). Until then no key changes; the keys in use keep serving.
 * Said on each change of state, then once a minute (issue 15). */
static sg_keystore *keystore_check(sg_keyman *km, int64_t now)
{
    sg_keystore *ks = km->ks;
    if (ks && sg_ks_file_moved(ks)) {
        sg_log(SG_LOG_ERR, "signer", NULL, "keystore %s was deleted or replaced while in use: no key "
               "changes until a keystore is there again; the keys in use keep serving", km->keystore);
        sg_ks_free(ks);
        ks = km->ks = NULL;
        km->lost = 1;
        km->said = now;
    }
    if (ks)
        return ks;
    /* sg_keyman_new made the keystore; from then on it is only opened, never made: a new
     * empty file at the path (moved away before the first step) would hold none of the
     * zones' keys, and the engine would make new ones that no DS matches */
    int rc = sg_ks_open_existing(km->keystore, "daemon", &ks);
    if (rc && !km->lost) {
        sg_log(SG_LOG_ERR, "signer", NULL, "keystore %s: %s: no key changes until a keystore is "
               "there again; the keys in use keep serving", km->keystore,
               rc == SG_ENOTFOUND ? "deleted or moved away" : sg_strerror(rc));
        km->lost = 1;
        km->said = now;
        return NULL;
    }
    if (rc) {
        if (now - km->said >= 60) {
            sg_log(SG_LOG_ERR, "signer", NULL, "keystore %s: %s; no key changes, the keys in use keep serving",
                   km->keystore, rc == SG_ENOTFOUND ? "still missing" : sg_strerror(rc));
            km->said = now;
        }
        return NULL;
    }
    if (km->lost)
        sg_log(SG_LOG_WARN, "signer", NULL, "keystore %s is there again: key changes go on from it",
               km->keystore);
    km->lost = 0;
    return km->ks = ks;
}

/* One zone's first key set, facts and registrar (sg_keyman_new, and a zone a dynamic
 * keyman starts following): 0, or an error with why filled in. */
static int kzone_open(sg_keyman *km, sg_keystore *ks, kzone *z, int64_t now, char *why,
                      size_t cap)
{
    sg_keyset *k = NULL;
    int64_t last = 0;
    int rc;
    z->km = km;
    /* whether the parent's DS set is confirmed by a registrar: waits after a DS
     * withdrawal then count from when it was seen gone (written before the first
     * step the engine takes for the zone) */
    int checks = km->registrar && (strcmp(km->registrar->provider, "manual") ||
                                   km->registrar->nparent_ns > 0);
    if ((rc = sg_keyset_ensure(ks, z->name, km->policy, now)) ||
        (rc = sg_ks_fact_observe(ks, z->name, SG_KS_FACT_PARENT_CHECKS, (uint32_t)checks,
                                 checks ? km->registrar->provider : "no registrar", now)) ||
        (rc = sg_ks_zone_last_time(ks, z->name, &last)) ||
        /* a clock stepped back: the keys the keystore last recorded (see refresh) */
        (rc = sg_keyset_load(ks, z->name, last > now ? last : now, 0, &k))) {
        snprintf(why, cap, "zone %s: %s", z->name, sg_strerror(rc));
        return rc;
    }
    /* the serial its previous server served (zone adopt): read once, here, so that
     * the block's zone sources set up after us (file, transfer) see it at their setup */
    sg_ks_fact f;
    int fr = sg_ks_fact_get(ks, z->name, SG_KS_FACT_SERIAL_FLOOR, &f);
    if (fr == 0) {
        z->has_floor = 1;
        z->floor = f.value;
    } else if (fr != SG_ENOTFOUND) {
        snprintf(why, cap, "zone %s: serial floor: %s", z->name, sg_strerror(fr));
        sg_keyset_free(k);
        return fr;
    }
    atomic_store(&z->keys, k);
    if (km->registrar && (rc = sg_reg_new(km->registrar, &z->reg))) {
        snprintf(why, cap, "zone %s: registrar %s: %s", z->name, km->registrar->provider,
                 sg_strerror(rc));
        return rc;
    }
    if (z->reg && (rc = sg_reg_keep_counts(z->reg, z->name))) {
        snprintf(why, cap, "zone %s: %s", z->name, sg_strerror(rc));
        return rc;
    }
    return 0;
}

static kzone *kzone_new(const char *name)
{
    kzone *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    if (!(z->name = strdup(name)) || sg_name_from_str(name, (const uint8_t *)"", z->apex)) {
        free(z->name);
        free(z);
        return NULL;
    }
    sg_name_lower(z->apex);
    return z;
}

/* The metrics' zones follow the table (the scrape reads them under the lock): readings
 * of zones kept are carried over. */
static int metrics_follow(sg_keyman *km, const ktab *t)
{
    sg_km_zone *nz = calloc(t->n > 0 ? (size_t)t->n : 1, sizeof *nz);
    if (!nz)
        return SG_ENOMEM;
    sg_key_metrics *m = &km->metrics;
    pthread_mutex_lock(&m->lock);
    int from = 0;
    for (int i = 0; i < t->n; i++) {
        /* tables keep their order: look after the last match first (O(n) for a table
         * that gained or lost a few zones, not O(n^2)) */
        int j = -1;
        for (int k = 0; k < m->nzones; k++) {
            int c = (from + k) % m->nzones;
            if (!strcmp(m->zones[c].name, t->z[i]->name)) {
                j = c;
                break;
            }
        }
        if (j >= 0) {
            nz[i] = m->zones[j];
            from = j + 1;
        }
        /* the zone's own name: the table replaced here is retired, its zones freed no
         * sooner than the next step, by which time this list follows the new table */
        nz[i].name = t->z[i]->name;
        nz[i].reg = t->z[i]->reg;
        nz[i].provider = km->provider;
    }
    free(m->zones);
    m->zones = nz;
    m->nzones = t->n;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int in_scope(const sg_keyman *km, const uint8_t *apex)
{
    for (int i = 0; i < km->nscopes; i++)
        if (sg_name_is_sub(apex, km->scopes[i]))
            return 1;
    return 0;
}

/* A dynamic keyman: when the keystore's served-zones counter moved, the zones served now
 * (inside the block's zones) become the table; a new zone gets its keys (from its policy
 * when it has none), its facts and its registrar first, a zone no longer served is retired
 * with the table that held it. A zone that fails to open is left out, said, and tried
 * again at the next change or step. */
static void follow(sg_keyman *km, sg_keystore *ks, int64_t now)
{
    int64_t counter;
    if (!km->dynamic || sg_ks_served_counter(ks, &counter) || counter == km->served_counter)
        return;
    sg_ks_served *list = NULL;
    size_t n = 0;
    if (sg_ks_served_list(ks, &list, &n))
        return;
    ktab *old = cur_tab(km);
    kzone **z = calloc(n ? n : 1, sizeof *z);
    int failed = 0, nn = 0, added = 0;
    if (!z) {
        free(list);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t apex[SG_NAME_MAX];
        if (sg_name_from_str(list[i].name, (const uint8_t *)"", apex))
            continue;
        sg_name_lower(apex);
        if (!in_scope(km, apex))
            continue;
        int at = ktab_find(old, apex);
        if (at >= 0) {
            z[nn++] = old->z[at];
            continue;
        }
        kzone *k = kzone_new(list[i].name);
        char why[1400];
        if (!k || kzone_open(km, ks, k, now, why, sizeof why)) {
            if (k)
                sg_log(SG_LOG_ERR, "signer", list[i].name, "not signed yet: %s", why);
            kzone_free(k);
            failed = 1;
            continue;
        }
        z[nn++] = k;
        added++;
    }
    free(list);
    ktab *t = ktab_new(z, nn);
    kzone **h = heap_alloc(t);
    if (!t || !h || metrics_follow(km, t)) {
        free(h);
        for (int i = 0; i < nn; i++)
            if (ktab_find(old, z[i]->apex) < 0)
                kzone_free(z[i]);
        if (t)
            t->z = NULL;
        else
            free(z);
        ktab_free(t);
        return;
    }
    heap_build(km, t, h);
    atomic_store(&km->tab, t);
    atomic_fetch_add_explicit(&km->epoch, 1, memory_order_release);
    int removed = 0;
    for (int i = 0; i < old->n; i++)
        if (ktab_find(t, old->z[i]->apex) < 0) {
            sg_log(SG_LOG_INFO, "signer", old->z[i]->name, "no longer served: its key set "
                   "goes (its keys stay in the keystore)");
            sg_retire(&km->retired, old->z[i], kzone_free_v, (time_t)now);
            removed++;
        }
    sg_retire(&km->retired, old, ktab_free_v, (time_t)now);
    if (added || removed)
        sg_log(SG_LOG_INFO, "signer", NULL, "served zones: %d (+%d, -%d)", nn, added, removed);
    if (added)
        sg_served_news_tell(); /* `dynamic` waits for a new zone's keys: they are here */
    if (!failed)
        km->served_counter = counter;
}

/* Zones whose wake was set (a query found no chain for its key set, a new served max
 * TTL): the plugin's hook once more with the set in use, and the zone due now. Walks the
 * current table only when one woke; a dropped zone's wake is never looked at. */
static void wakes(sg_keyman *km, int64_t now)
{
    if (!atomic_exchange(&km->woken, 0))
        return;
    ktab *t = cur_tab(km);
    for (int i = 0; i < t->n; i++) {
        kzone *z = t->z[i];
        if (!atomic_exchange(&z->wake, 0))
            continue;
        const sg_keyset *k = atomic_load(&z->keys);
        if (km->keys_changing && k)
            km->keys_changing(km->arg, z, k, k, 1);
        set_due(km, z, now);
    }
}

/* Every zone due now (the heap made again: its order may have changed). */
static void all_due(sg_keyman *km, int64_t now)
{
    for (int i = 0; i < km->nheap; i++)
        if (km->heap[i]->due > now)
            km->heap[i]->due = now;
    for (int i = km->nheap / 2 - 1; i >= 0; i--)
        heap_fix(km, i);
}

/* Another connection wrote: when what it wrote said its zones (sg_ks_zone_writes), those
 * zones are due now and 1 is returned; 0 when the change said nothing (a signetctl
 * command: every zone is looked at). The count seen is kept either way. */
#define ZONE_WRITES_ALL_S 30
static int zones_written(sg_keyman *km, sg_keystore *ks, int64_t now)
{
    int64_t count = 0;
    char (*zones)[SG_KS_ZONE_MAX] = NULL;
    size_t n = 0;
    if (sg_ks_zone_writes(ks, km->writes_seen, &count, &zones, &n))
        return 0;
    int told = count != km->writes_seen;
    km->writes_seen = count;
    const ktab *t = cur_tab(km);
    for (size_t i = 0; told && i < n; i++) {
        uint8_t apex[SG_NAME_MAX];
        if (sg_name_from_str(zones[i], (const uint8_t *)"", apex))
            continue;
        sg_name_lower(apex);
        int at = ktab_find(t, apex);
        if (at >= 0 && t->z[at]->due > now)
            set_due(km, t->z[at], now);
    }
    free(zones);
    if (told && !km->all_at)
        km->all_at = now + ZONE_WRITES_ALL_S;
    return told;
}

/* with_follow: the served zones are looked at too (the thread does that when told and at
 * the poll interval instead, see watch). */
static void step(sg_keyman *km, int64_t now, int with_follow)
{
    int had = km->ks != NULL;
    sg_keystore *ks = keystore_check(km, now);
    atomic_store(&km->ks_missing, ks == NULL);
    if (!ks)
        return;
    if (with_follow)
        follow(km, ks, now);
    /* someone else changed the keystore (signetctl: a rollover started, `ds seen`, a
     * policy, a zone added), or it was opened again: every zone is looked at, as each was
     * every second before the heap; a quiet keystore costs one PRAGMA. A change that said
     * its zone (transfer's propagation rows: ten thousand at a start) steps that zone only,
     * and every zone at most ZONE_WRITES_ALL_S later in case another write hid behind it */
    int64_t v = 0;
    int vr = sg_ks_data_version(ks, &v);
    int fresh = vr || !had || !km->have_version;
    if (fresh || v != km->data_version) {
        if (fresh || !zones_written(km, ks, now)) {
            all_due(km, now);
            km->all_at = 0;
        }
        if (fresh) {
            /* what was said before is seen by this look at every zone */
            int64_t count = 0;
            char (*none)[SG_KS_ZONE_MAX] = NULL;
            size_t nn = 0;
            if (!sg_ks_zone_writes(ks, INT64_MAX, &count, &none, &nn))
                km->writes_seen = count;
            free(none);
        }
    }
    if (km->all_at && now >= km->all_at) {
        all_due(km, now);
        km->all_at = 0;
    }
    km->have_version = !vr;
    km->data_version = v;
    wakes(km, now);
    if (km->nheap > 1 && km->heap[0]->due <= now) {
        facts_batch *b = calloc(1, sizeof *b);
        if (b) {
            b->ks = ks;
            b->now = now;
            facts_due(km, b, 0);
            facts_flush(b);
            free(b);
        }
    }
    /* a first pass over 100,000 zones takes a minute: a stop asked meanwhile is not kept
     * waiting for it (the zones left are due at the next start's first pass) */
    while (km->nheap && km->heap[0]->due <= now && !sg_task_stopping(&km->task)) {
        kzone *z = km->heap[0];
        set_due(km, z, refresh_zone(km, ks, z, now));
    }
}

void sg_keyman_step(sg_keyman *km, int64_t now)
{
    if (km)
        step(km, now, 1);
}

void sg_keyman_wake_zone(sg_keyman_zone *zone)
{
    kzone *z = zone;
    if (!z || !z->km)
        return;
    if (!atomic_load_explicit(&z->wake, memory_order_relaxed) && !atomic_exchange(&z->wake, 1))
        atomic_store(&z->km->woken, 1);
}

void sg_keyman_watch(sg_keyman *km, void (*changed)(const uint8_t *apex))
{
    if (km)
        atomic_store(&km->changed, changed);
}

uint64_t sg_keyman_zones_stepped(const sg_keyman *km)
{
    return km ? atomic_load(&((sg_keyman *)km)->stepped) : 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The step runs once a second. A dynamic keyman looks at the served-zones counter when
 * told (sg_served_news: `signetctl zone add` over the control socket), so that a new zone
 * has its keys at once, and untold at the served-news poll interval (a fallback: twice a
 * second by default, `dynamic { poll }`), not five times a second. */
static void *watch(void *arg)
{
    sg_keyman *km = arg;
    int64_t next_step = mono_ms() + 1000, next_follow = mono_ms() + sg_served_news_poll_ms();
    while (!sg_task_stopping(&km->task)) {
        int64_t now_ms = mono_ms();
        int64_t until = km->dynamic && next_follow < next_step ? next_follow : next_step;
        if (until > now_ms && sg_task_sleep(&km->task, (unsigned)(until - now_ms)))
            break;
        now_ms = mono_ms();
        if (now_ms < next_step || (km->dynamic && now_ms >= next_follow)) {
            /* woken, or the poll's turn: the served zones may have changed */
            if (km->dynamic) {
                sg_keystore *ks = keystore_check(km, (int64_t)time(NULL));
                if (ks)
                    follow(km, ks, (int64_t)time(NULL));
                if (now_ms >= next_follow)
                    next_follow = now_ms + sg_served_news_poll_ms();
            }
            continue;
        }
        next_step = now_ms + 1000;
        step(km, (int64_t)time(NULL), 0);
        sg_retire_reap(&km->retired, time(NULL), 0);
    }
    sg_ks_free(km->ks);
    km->ks = NULL;
    return NULL;
}

void sg_keyman_free(sg_keyman *km)
{
    if (!km)
        return;
    sg_keyman_stop(km);
    /* what is retired goes first: removed zones and old tables, never the current ones */
    sg_retire_destroy(&km->retired);
    ktab *t = atomic_load(&km->tab);
    for (int i = 0; t && i < t->n; i++)
        kzone_free(t->z[i]);
    ktab_free(t);
    free(km->heap);
    free(km->scopes);
    sg_ks_free(km->ks);
    if (km->metrics.zones)
        sg_key_metrics_deinit(&km->metrics);
    sg_task_destroy(&km->task);
    free(km);
}

int sg_keyman_new(const sg_keyman_cfg *cfg, int64_t now, char *why, size_t cap,
                  sg_keyman **km_out)
{
    if (why && cap)
        why[0] = 0;
    if (!km_out)
        return SG_EINVAL;
    *km_out = NULL;
    if (!cfg || !cfg->keystore || !cfg->policy || cfg->nzones < 0 || (cfg->nzones && !cfg->zones) ||
        strlen(cfg->keystore) >= sizeof ((sg_keyman *)0)->keystore ||
        strlen(cfg->policy) >= sizeof ((sg_keyman *)0)->policy)
        return SG_EINVAL;
    char dummy[1];
    if (!why) {
        why = dummy;
        cap = sizeof dummy;
    }
    sg_keyman *km = calloc(1, sizeof *km);
    if (!km)
        return SG_ENOMEM;
    sg_retire_init(&km->retired);
    sg_task_init(&km->task);
    snprintf(km->keystore, sizeof km->keystore, "%s", cfg->keystore);
    snprintf(km->policy, sizeof km->policy, "%s", cfg->policy);
    km->registrar = cfg->registrar;
    km->dynamic = cfg->dynamic;
    km->served_counter = -1;
    km->keys_changing = cfg->keys_changing;
    km->arg = cfg->arg;
    if (cfg->registrar)
        snprintf(km->provider, sizeof km->provider, "%s", cfg->registrar->provider);
    int rc = SG_ENOMEM;
    int n = km->dynamic ? 0 : cfg->nzones;
    kzone **z = calloc(n > 0 ? (size_t)n : 1, sizeof *z);
    if (!z)
        goto fail;
    if (km->dynamic) {
        if (!(km->scopes = calloc(cfg->nzones > 0 ? (size_t)cfg->nzones : 1, sizeof *km->scopes))) {
            free(z);
            goto fail;
        }
        for (int i = 0; i < cfg->nzones; i++) {
            memcpy(km->scopes[i], cfg->zones[i], sg_name_len(cfg->zones[i]));
            sg_name_lower(km->scopes[i]);
        }
        km->nscopes = cfg->nzones;
    }
    for (int i = 0; i < n; i++) {
        char name[1024];
        sg_name_to_str(cfg->zones[i], name, sizeof name);
        if (!(z[i] = kzone_new(name))) {
            for (int k = 0; k < i; k++)
                kzone_free(z[k]);
            free(z);
            goto fail;
        }
    }
    ktab *t = ktab_new(z, n);
    if (!t) {
        for (int k = 0; k < n; k++)
            kzone_free(z[k]);
        free(z);
        goto fail;
    }
    atomic_store(&km->tab, t);
    kzone **h = heap_alloc(t);
    if (!h)
        goto fail;
    heap_build(km, t, h); /* all due at 0: the first step looks at every zone */
    if ((rc = sg_key_metrics_init(&km->metrics, 0)))
        goto fail;
    sg_keystore *ks = NULL;
    if ((rc = sg_ks_new(km->keystore, "daemon", &ks))) {
        snprintf(why, cap, "cannot open keystore %s: %s", km->keystore, sg_strerror(rc));
        goto fail;
    }
    /* first start: a transaction per KS_BATCH zones, not per zone (each commit is an
     * fsync; 10^4 zones made 10^4 of them). A crash before a commit leaves none of that
     * batch's zones and keys in the keystore (they are made again at the next start),
     * and nothing is served from them before sg_keyman_new returns, after the commit. A
     * zone that fails ends the setup as before; the zones opened before it are kept. */
    for (int i = 0; i < t->n && !rc; i += KS_BATCH) {
        int tx = t->n > 1 && sg_ks_begin(ks) == 0; /* busy: one transaction per change */
        for (int k = i; k < t->n && k < i + KS_BATCH && !rc; k++)
            rc = kzone_open(km, ks, t->z[k], now, why, cap);
        int cr = tx ? sg_ks_commit(ks) : 0;
        if (cr && !rc) {
            snprintf(why, cap, "keystore %s: %s", km->keystore, sg_strerror(cr));
            rc = cr;
        }
    }
    /* a dynamic keyman's zones: those served now, before anything serves them */
    if (!rc)
        follow(km, ks, now);
    sg_ks_free(ks);
    if (rc)
        goto fail;
    /* scrapes read what the steps stored and the registrars' counts, never the keystore */
    if ((rc = metrics_follow(km, cur_tab(km))))
        goto fail;
    *km_out = km;
    return 0;
fail:
    sg_keyman_free(km);
    return rc;
}

int sg_keyman_start(sg_keyman *km)
{
    if (!km)
        return SG_EINVAL;
    if (km->dynamic && !km->subscribed)
        km->subscribed = !sg_served_news_subscribe(&km->task);
    /* the thread keeps the name it had inside the plugin: ps, gdb and integ.ops know it */
    return sg_task_start(&km->task, "sg-dnssec", watch, km);
}

void sg_keyman_stop(sg_keyman *km)
{
    if (!km)
        return;
    if (km->subscribed)
        sg_served_news_unsubscribe(&km->task);
    km->subscribed = 0;
    sg_task_stop(&km->task);
}

int sg_keyman_nzones(const sg_keyman *km)
{
    return km ? cur_tab(km)->n : 0;
}

static kzone *zone_at(const sg_keyman *km, int i)
{
    ktab *t = km ? cur_tab(km) : NULL;
    return t && i >= 0 && i < t->n ? t->z[i] : NULL;
}

const sg_keyset *sg_keyman_keys(const sg_keyman *km, int i)
{
    kzone *z = zone_at(km, i);
    return z ? atomic_load(&z->keys) : NULL;
}

int sg_keyman_serial_floor(const sg_keyman *km, int i, uint32_t *floor_out)
{
    kzone *z = zone_at(km, i);
    if (!z || !floor_out)
        return SG_EINVAL;
    if (!z->has_floor)
        return SG_ENOTFOUND;
    *floor_out = z->floor;
    return 0;
}

void sg_keyman_served(sg_keyman *km, int i, uint32_t max_ttl)
{
    sg_keyman_zone_served(zone_at(km, i), max_ttl);
}

void sg_keyman_wake(sg_keyman *km, int i)
{
    sg_keyman_wake_zone(zone_at(km, i));
}

sg_keyman_zone *sg_keyman_find(const sg_keyman *km, const uint8_t *apex)
{
    ktab *t = km ? cur_tab(km) : NULL;
    int i = ktab_find(t, apex);
    return i >= 0 ? t->z[i] : NULL;
}

const sg_keyset *sg_keyman_zone_keys(const sg_keyman_zone *z)
{
    return z ? atomic_load(&((kzone *)z)->keys) : NULL;
}

void sg_keyman_zone_served(sg_keyman_zone *z, uint32_t max_ttl)
{
    if (z && atomic_exchange(&((kzone *)z)->max_ttl, max_ttl) != max_ttl)
        sg_keyman_wake_zone(z); /* the engine's waits rest on it: recorded by the next step */
}

const uint8_t *sg_keyman_zone_apex(const sg_keyman_zone *z)
{
    return z ? ((const kzone *)z)->apex : NULL;
}

int sg_keyman_zone_floor(const sg_keyman_zone *z, uint32_t *floor_out)
{
    const kzone *k = (const kzone *)z;
    if (!k || !floor_out)
        return SG_EINVAL;
    if (!k->has_floor)
        return SG_ENOTFOUND;
    *floor_out = k->floor;
    return 0;
}

uint64_t sg_keyman_epoch(const sg_keyman *km)
{
    return km ? atomic_load_explicit(&((sg_keyman *)km)->epoch, memory_order_acquire) : 0;
}

void sg_keyman_retire(sg_keyman *km, void *p, void (*free_fn)(void *))
{
    if (km && p && free_fn)
        sg_retire(&km->retired, p, free_fn, time(NULL));
}

int sg_keyman_metrics(sg_keyman *km, sg_metrics_out *out)
{
    if (!km || !out)
        return SG_EINVAL;
    return sg_key_metrics_render(&km->metrics, out);
}

int sg_keyman_keystore_ok(const sg_keyman *km)
{
    return km && !atomic_load(&((sg_keyman *)km)->ks_missing);
}
