/* SPDX-License-Identifier: MIT */
/* The `dnssec` plugin. It lets the zone answer, then adds the apex DNSKEY/CDS/CDNSKEY, the
 * denial proofs and an RRSIG after every RRset that needs one. Signatures come from the
 * shared cache, so that in steady state a reply costs no cryptography. The key sets come
 * from the block's keyman (keyman/), whose thread follows the keystore and swaps in a new
 * key set within a second of a change. */
#include "dnssec/dnssec_plugin.h"
#include "keyman/keyman.h"
#include "signer/keyset.h"
#include "signer/prove.h"
#include "signer/sigcache.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/metrics.h"
#include "dnssec/cache_keep.h"
#include "dnssec/dnssec_metrics.h"
#include "zones/signal.h"
#include "zones/zonedb.h"
#include "common/task.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define INCEPTION_SKEW 3600
#define DEFAULT_CACHE 65536     /* until the zone is seen; then one per record and name */
#define AUTO_CACHE_MAX (1u << 20)
/* zones up to this many records are presigned: what the automatic cache holds at most */
#define DEFAULT_PRESIGN (1u << 19)

typedef struct dzone {
    uint8_t apex[SG_NAME_MAX]; /* the block's zones (a dynamic block's: its scopes) */
} dzone;

/* What each zone's version last prepared needs in the signature cache (fit_cache), by
 * the apex's hash: zones come and go in a dynamic block, so no index of the keyman's
 * is kept; 16 bytes a zone. Under grow_lock. */
typedef struct dwant {
    uint64_t h;                /* the apex's hash (0 taken as 1); 0: empty */
    size_t want;
} dwant;

typedef struct dstate {
    sg_dnssec_cfg cfg;
    dzone *zones;             /* the block's zones (a dynamic block's: its scopes) */
    int nzones;
    int dynamic;              /* ctx->runtime_zones: the keyman follows the keystore */
    int slot;                 /* our attachment on zone versions (sg_setup_ctx.slot) */
    sg_keyman *km;            /* the zones' keys: NULL under -t */
    sg_cache_keep *keep;      /* the block's cache, kept across reloads */
    _Atomic(sg_sigcache *) *cache; /* in keep; NULL under -t */
    size_t cache_slot;        /* bytes per cached RRSIG */
    size_t cache_want;        /* the sum of wants[].want */
    dwant *wants;             /* open addressing, a power of two, at most half full */
    size_t nwants, wants_cap;
    pthread_mutex_t grow_lock;
    sg_dnssec_metrics metrics; /* counters, and the scrape's view of km */
    int metrics_registered;
    sg_key_provider provider; /* SG_SERVICE_KEYS, for the transfer plugin and status */
    int signalling;           /* the zones are registered as RFC 9615 signalled children */
    /* background presigning (presign-max): the versions prepare handed over, by apex and
     * generation, signed by one idle-priority thread */
    sg_task presign;
    int presign_started;
    pthread_mutex_t pq_lock;
    struct dpending { uint8_t apex[SG_NAME_MAX]; uint64_t gen; } *pq;
    size_t npq, pq_cap;
} dstate;

/* What this plugin attaches to a zone version (sg_plugin.prepare): its denial chains.
 * Two places: the chain for the key set served now and, while a key-set change that
 * needs other denial parameters is on its way, the chain for the next one, built before
 * the new set is published (keys_changing). Written under g_build_lock by background
 * work only; the query path picks the one that matches its key set, lock-free. */
typedef struct dattach {
    _Atomic(sg_denial *) d[2];
} dattach;

static pthread_mutex_t g_build_lock = PTHREAD_MUTEX_INITIALIZER;

/* What the signature cache keys a key's signatures on besides their content. */
static inline uint64_t cache_id(const sg_sign_key *key)
{
    return key->cache_id ? key->cache_id : (uint64_t)key->id;
}

static void dattach_free(void *p)
{
    dattach *a = p;
    for (int i = 0; a && i < 2; i++)
        sg_denial_free(atomic_load(&a->d[i]));
    free(a);
}

static int keys_fit(const sg_denial *d, const sg_keyset *k)
{
    const sg_keyset_policy *p = &k->policy;
    return d && sg_denial_matches(d, p->denial, p->nsec3_iterations, p->nsec3_opt_out,
                                  k->apex_types, k->napex);
}

/* The wants entry of the zone at apex (made when missing), or NULL without memory.
 * Under grow_lock. */
static dwant *want_of(dstate *st, const uint8_t *apex)
{
    uint64_t h = sg_name_hash(apex, sg_name_len(apex));
    if (!h)
        h = 1;
    if (2 * (st->nwants + 1) > st->wants_cap) {
        size_t cap = st->wants_cap ? 2 * st->wants_cap : 64;
        dwant *w = calloc(cap, sizeof *w);
        if (!w)
            return NULL;
        for (size_t i = 0; i < st->wants_cap; i++) {
            if (!st->wants[i].h)
                continue;
            size_t j = st->wants[i].h & (cap - 1);
            while (w[j].h)
                j = (j + 1) & (cap - 1);
            w[j] = st->wants[i];
        }
        free(st->wants);
        st->wants = w;
        st->wants_cap = cap;
    }
    size_t j = h & (st->wants_cap - 1);
    while (st->wants[j].h && st->wants[j].h != h)
        j = (j + 1) & (st->wants_cap - 1);
    if (!st->wants[j].h) {
        st->wants[j].h = h;
        st->nwants++;
    }
    return &st->wants[j];
}

/* The `dnssec` directive and its { } block into out (defaults for what it leaves out). */
static int dnssec_parse(const sg_cfg_block *blk, sg_dnssec_cfg *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->policy, sizeof out->policy, "default");
    out->cache_entries = 0; /* sized from the zone when it is first signed */
    out->presign_max = DEFAULT_PRESIGN;
    sg_sign_gate_init(&out->gate);
    if (blk->nargs > 0)
        return sg_cfg_error(blk, "dnssec: options go in a { } block");
    for (int i = 0; i < blk->nchildren; i++) {
        const sg_cfg_block *d = &blk->children[i];
        uint64_t v;
        int grc;
        if (!strcmp(d->name, "keystore")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->keystore)
                return sg_cfg_error(d, "keystore: expected the path of the keystore database");
            snprintf(out->keystore, sizeof out->keystore, "%s", d->args[0]);
        } else if (!strcmp(d->name, "policy")) {
            if (d->nargs != 1 || strlen(d->args[0]) >= sizeof out->policy)
                return sg_cfg_error(d, "policy: expected a policy name");
            snprintf(out->policy, sizeof out->policy, "%s", d->args[0]);
        } else if (!strcmp(d->name, "signature-cache")) {
            if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 64, 100000000, &v))
                return sg_cfg_error(d, "signature-cache: expected a number of entries (64..100000000)");
            out->cache_entries = (size_t)v;
        } else if (!strcmp(d->name, "presign-max")) {
            if (d->nargs != 1 || sg_cfg_parse_uint(d->args[0], 0, 100000000, &v))
                return sg_cfg_error(d, "presign-max: expected a number of records (0..100000000; 0: off)");
            out->presign_max = (size_t)v;
        } else if (!strcmp(d->name, "registrar")) {
            if (out->has_registrar)
                return sg_cfg_error(d, "dnssec: only one registrar per zone");
            int rc = sg_reg_parse(d, &out->registrar);
            if (rc)
                return rc;
            out->has_registrar = 1;
        } else if ((grc = sg_sign_gate_option(d, &out->gate)) != 1) {
            if (grc)
                return grc;
        } else {
            return sg_cfg_error(d, "dnssec: unknown option '%s'", d->name);
        }
    }
    if (!out->keystore[0])
        return sg_cfg_error(blk, "dnssec: a 'keystore PATH' line is required");
    return 0;
}

/* Replaced caches and denial chains are freed after the grace period, on the keyman's
 * thread with the replaced key sets. */
static void retire(dstate *st, void *p, void (*fn)(void *))
{
    sg_keyman_retire(st->km, p, fn);
}

static void cache_free_v(void *p) { sg_sigcache_free(p); }

/* Without a configured size the cache grows to hold every signature of the block's zones
 * (their records and denial records), so that steady state costs no crypto: the sum over
 * the zones of what each prepared version needs, grown in steps of at least a quarter (a
 * block of 10^5 small zones grows it a few dozen times, not once per zone). Called by
 * prepare, never by a query. */
static void fit_cache(dstate *st, const sg_zone *z)
{
    if (st->cfg.cache_entries)
        return;
    pthread_mutex_lock(&st->grow_lock);
    /* a signature per record (an overestimate: per RRset) and per name (its NSEC or
     * NSEC3), and the apex's DNSKEY, CDS and CDNSKEY, which the KSK signs */
    size_t need = z->nrecords + z->nnodes + 3;
    dwant *w = want_of(st, z->apex);
    if (w) {
        st->cache_want += need - w->want;
        w->want = need;
    } else if (st->cache_want < need) {
        st->cache_want = need; /* no memory for the entry: at least this zone fits */
    }
    size_t want = st->cache_want > AUTO_CACHE_MAX ? AUTO_CACHE_MAX : st->cache_want;
    sg_sigcache *cur = atomic_load(st->cache);
    size_t have = sg_sigcache_capacity(cur);
    if (have < want) {
        /* room for what is wanted and an eighth (two sets of four per key fill to ~95%),
         * and at least a quarter more than now, so that 100,000 zones seen one by one
         * move the cache a few dozen times, not once per zone; not the next power of two,
         * which was up to twice the need (36 MiB for 10,000 small zones' 180,000
         * signatures where 26 MiB hold them) */
        size_t cap = want + want / 8;
        if (cap < have + have / 4)
            cap = have + have / 4;
        if (cap < DEFAULT_CACHE)
            cap = DEFAULT_CACHE;
        if (cap > AUTO_CACHE_MAX)
            cap = AUTO_CACHE_MAX;
        sg_sigcache *bigger = sg_sigcache_new(cap, st->cache_slot);
        /* the instance a reload replaces shares the cache: one of us grows it */
        if (bigger)
            sg_sigcache_move(bigger, cur); /* what it holds is still good: keyed by content */
        if (bigger && !atomic_compare_exchange_strong(st->cache, &cur, bigger)) {
            sg_sigcache_free(bigger);
            bigger = NULL;
        }
        if (bigger) {
            retire(st, cur, cache_free_v);
            sg_log(SG_LOG_INFO, "signer", z->apex_str, "signature cache sized for %zu signatures",
                   sg_sigcache_capacity(bigger));
        }
    }
    pthread_mutex_unlock(&st->grow_lock);
}

static void dnssec_teardown(void *state)
{
    dstate *st = state;
    if (!st)
        return;
    sg_task_stop(&st->presign); /* it reads the keyman and the cache freed below */
    if (st->metrics_registered) {
        sg_metrics_unregister(sg_dnssec_metrics_source, &st->metrics);
        sg_metrics_unregister(sg_sign_gate_metrics, &st->cfg.gate);
    }
    if (st->metrics.count && st->cache)
        /* the block's counts since the process started (they outlive reloads) */
        sg_log(SG_LOG_INFO, "signer", NULL, "signature cache: %llu hits, %llu misses",
               (unsigned long long)sg_counters_sum(st->metrics.count, SG_DM_SIGCACHE_HITS),
               (unsigned long long)sg_counters_sum(st->metrics.count, SG_DM_SIGCACHE_MISSES));
    if (st->metrics.count)
        sg_dnssec_metrics_deinit(&st->metrics);
    sg_counters_drop(st->cfg.gate.shed);
    for (int i = 0; st->signalling && i < st->nzones; i++)
        sg_signal_unregister(st->zones[i].apex, st);
    /* its thread stops; the key sets and everything retired (old caches too) go with it */
    sg_keyman_free(st->km);
    free(st->zones);
    free(st->wants);
    sg_cache_keep_drop(st->keep);
    pthread_mutex_destroy(&st->grow_lock);
    sg_task_destroy(&st->presign);
    pthread_mutex_destroy(&st->pq_lock);
    free(st->pq);
    free(st);
}

/* Scrapes read what the keyman's thread stored and the in-memory counters, never the
 * keystore. */
static int metrics_setup(dstate *st)
{
    char first[1024] = "";
    if (st->nzones)
        sg_name_to_str(st->zones[0].apex, first, sizeof first);
    int rc = sg_dnssec_metrics_init(&st->metrics, first);
    if (rc)
        return rc;
    st->metrics.km = st->km;
    /* like the block's counters above, the gate's outlive this instance */
    char key[1100];
    snprintf(key, sizeof key, "dnssec-gate %s", st->metrics.label);
    if (!(st->cfg.gate.shed = sg_counters_keep(key, SG_GATE_COUNTERS)))
        return SG_ENOMEM;
    st->metrics.cache = st->cache;
    if ((rc = sg_metrics_register(sg_dnssec_metrics_source, &st->metrics)))
        return rc;
    st->cfg.gate.label = st->metrics.label;
    if ((rc = sg_metrics_register(sg_sign_gate_metrics, &st->cfg.gate))) {
        sg_metrics_unregister(sg_dnssec_metrics_source, &st->metrics);
        return rc;
    }
    st->metrics_registered = 1;
    return 0;
}

/* The block's signature cache: the one the instance this reload replaces used, when its
 * slots hold our signatures and its size is still the configured one, else a new one
 * (the old instance keeps serving from the one it loaded until its teardown; it is retired
 * through our keyman's grace period). */
static int cache_setup(dstate *st)
{
    char key[1100], first[1024] = "";
    if (st->nzones)
        sg_name_to_str(st->zones[0].apex, first, sizeof first);
    snprintf(key, sizeof key, "dnssec %s", first);
    if (!(st->keep = sg_cache_keep_get(key)))
        return SG_ENOMEM;
    st->cache = sg_cache_keep_cache(st->keep);
    size_t *kept_slot = sg_cache_keep_slot(st->keep);
    size_t want = st->cfg.cache_entries ? st->cfg.cache_entries : DEFAULT_CACHE;
    sg_sigcache *cur = atomic_load(st->cache);
    size_t cap = sg_sigcache_capacity(cur);
    int fits = cur && *kept_slot >= st->cache_slot &&
               (st->cfg.cache_entries ? cap >= want && cap < 2 * want + 64 : 1);
    if (fits)
        return 0;
    sg_sigcache *c = sg_sigcache_new(want, st->cache_slot);
    if (!c)
        return SG_ENOMEM;
    sg_sigcache_move(c, cur);
    if (!atomic_compare_exchange_strong(st->cache, &cur, c)) {
        sg_sigcache_free(c); /* another instance of the block just made one */
        return 0;
    }
    *kept_slot = st->cache_slot;
    if (cur)
        retire(st, cur, cache_free_v);
    return 0;
}

static const sg_keyset *dnssec_keys(const void *state, const uint8_t *apex);
static void keys_changing(void *arg, sg_keyman_zone *kz, const sg_keyset *k, const sg_keyset *cur,
                          int published);
static int dnssec_serial_floor(const void *state, const uint8_t *apex, uint32_t *floor);
static void dnssec_watch(const void *state, void (*changed)(const uint8_t *apex));

/* sg_signal_source.records: the child's CDS and CDNSKEY as its current key set has them */
static int signal_records(const void *self, const uint8_t *child, sg_arena *mem,
                          sg_rrset *cds_out, sg_rrset *cdnskey_out)
{
    const sg_keyset *k = dnssec_keys(self, child);
    if (!k)
        return SG_ENOTFOUND;
    const sg_rrset *from[2] = { &k->cds, &k->cdnskey };
    sg_rrset *to[2] = { cds_out, cdnskey_out };
    for (int i = 0; i < 2; i++) {
        *to[i] = *from[i];
        if (from[i]->count && !(to[i]->rdata = sg_arena_dup(mem, from[i]->rdata, from[i]->rdata_len)))
            return SG_ENOMEM;
    }
    return 0;
}

static int dnssec_setup(const sg_cfg_block *blk, const sg_setup_ctx *ctx, void **state_out)
{
    dstate *st = calloc(1, sizeof *st);
    if (!st)
        return SG_ENOMEM;
    pthread_mutex_init(&st->grow_lock, NULL);
    pthread_mutex_init(&st->pq_lock, NULL);
    sg_task_init(&st->presign);
    int rc = dnssec_parse(blk, &st->cfg);
    if (rc)
        goto fail;
    st->provider = (sg_key_provider){ .keystore = st->cfg.keystore, .keys = dnssec_keys,
                                      .serial_floor = dnssec_serial_floor,
                                      .watch = dnssec_watch, .self = st };
    st->zones = calloc((size_t)ctx->nzones, sizeof *st->zones);
    if (!st->zones) {
        rc = SG_ENOMEM;
        goto fail;
    }
    for (int i = 0; i < ctx->nzones; i++)
        memcpy(st->zones[i].apex, ctx->zones[i], sg_name_len(ctx->zones[i]));
    st->nzones = ctx->nzones;
    st->slot = ctx->slot;
    st->dynamic = ctx->runtime_zones;
    /* the keystore and the policy, as a start needs them, before anything is written:
     * -t says what a start would hit, and a refused config makes no key (issue 15) */
    const sg_cfg_block *ks_line = blk, *policy_line = blk;
    for (int i = 0; i < blk->nchildren; i++) {
        if (!strcmp(blk->children[i].name, "policy"))
            policy_line = &blk->children[i];
        else if (!strcmp(blk->children[i].name, "keystore"))
            ks_line = &blk->children[i];
    }
    char why[1400];
    if ((rc = sg_ks_check(st->cfg.keystore, st->cfg.policy, why, sizeof why))) {
        sg_cfg_error(!strncmp(why, "policy", 6) ? policy_line : ks_line, "dnssec: %s", why);
        goto fail;
    }
    if (ctx->check_only) {
        *state_out = st;
        return 0;
    }
    /* the keys: every zone's first key set and its registrar, before anything serves */
    sg_keyman_cfg kc = { .keystore = st->cfg.keystore, .policy = st->cfg.policy,
                         .zones = ctx->zones, .nzones = ctx->nzones,
                         .registrar = st->cfg.has_registrar ? &st->cfg.registrar : NULL,
                         .dynamic = st->dynamic,
                         .keys_changing = keys_changing, .arg = st };
    char kwhy[2200];
    if ((rc = sg_keyman_new(&kc, (int64_t)time(NULL), kwhy, sizeof kwhy, &st->km))) {
        if (kwhy[0])
            sg_cfg_error(blk, "dnssec: %s", kwhy);
        goto fail;
    }
    size_t max_sig = 0;
    for (int i = 0; i < sg_keyman_nzones(st->km); i++) {
        const sg_keyset *k = sg_keyman_keys(st->km, i);
        for (int j = 0; k && j < k->nzsk; j++)
            if (sg_sig_size(&k->zsk[j]) > max_sig)
                max_sig = sg_sig_size(&k->zsk[j]);
    }
    /* slots sized for our signer names and the largest signature: small for ECDSA */
    size_t max_apex = 1;
    for (int i = 0; i < st->nzones; i++)
        if (sg_name_len(st->zones[i].apex) > max_apex)
            max_apex = sg_name_len(st->zones[i].apex);
    if (st->dynamic) {
        /* zones to come: any name, and up to Ed448's signature (an RSA zone added later is
         * signed correctly but its larger signatures are not cached) */
        max_apex = SG_NAME_MAX;
        if (max_sig < 114)
            max_sig = 114;
    }
    size_t slot = 18 + max_apex + (max_sig ? max_sig : 64);
    st->cache_slot = slot;
    if ((rc = cache_setup(st))) {
        if (rc == SG_ENOMEM)
            sg_cfg_error(blk, "dnssec: no memory for the signature cache");
        goto fail;
    }
    if ((rc = metrics_setup(st))) {
        rc = rc ? rc : SG_ENOMEM;
        goto fail;
    }
    /* a registry that scans CDS/CDNSKEY: the zones of the nameservers we serve carry
     * them as RFC 9615 signals too (zones/signal.h; a dynamic block's zones are not
     * signalled) */
    if (st->cfg.has_registrar && !strcmp(st->cfg.registrar.provider, "cds") && !st->dynamic) {
        sg_signal_source src = { .records = signal_records, .self = st };
        st->signalling = 1;
        for (int i = 0; i < st->nzones && !rc; i++)
            rc = sg_signal_register(st->zones[i].apex, &src);
        if (rc)
            goto fail;
    }
    *state_out = st;
    return 0;
fail:
    dnssec_teardown(st);
    return rc;
}

static void *presign_main(void *arg);

static int dnssec_start(void *state)
{
    dstate *st = state;
    int rc = sg_keyman_start(st->km);
    if (!rc && st->cfg.presign_max && !st->presign_started) {
        if ((rc = sg_task_start(&st->presign, "sg-presign", presign_main, st)))
            sg_keyman_stop(st->km);
        else
            st->presign_started = 1;
    }
    return rc;
}

static void dnssec_stop(void *state)
{
    dstate *st = state;
    if (!st)
        return;
    sg_task_stop(&st->presign);
    st->presign_started = 0;
    sg_keyman_stop(st->km);
}

/* ---- the query path ----------------------------------------------------------------- */

static _Thread_local uint64_t t_rng;

/* the query path's clock: the one the server stamps q->start_ns with */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t jitter(uint32_t max)
{
    if (!max)
        return 0;
    if (!t_rng)
        t_rng = (uint64_t)(uintptr_t)&t_rng ^ (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
    t_rng ^= t_rng << 13;
    t_rng ^= t_rng >> 7;
    t_rng ^= t_rng << 17;
    return (uint32_t)(t_rng % max);
}

/* ---- per-version work: before a version or a key set is served -------------------- */

/* The chain of version prev (in our attachment slot `slot` on it) that fits key set k,
 * or NULL. Under g_build_lock. */
static const sg_denial *prev_chain(const sg_zone *prev, int slot, const sg_keyset *k)
{
    const dattach *a = prev && slot >= 0 && slot < SG_ATTACH_MAX ? sg_attach_get(&prev->attach[slot]) : NULL;
    for (int i = 0; a && i < 2; i++) {
        const sg_denial *d = atomic_load(&((dattach *)a)->d[i]);
        if (keys_fit(d, k))
            return d;
    }
    return NULL;
}

/* Make sure the version z (our attachment slot on it) has a denial chain for key set k,
 * building it if not. keep: the key set served now, whose chain stays while the one for k
 * is added (NULL: any chain not for k may go). where: SG_DM_CHAIN_* for the metric.
 * Background threads only (prepare, the keyman's thread); the query path's last resort
 * comes here too, counted as such. */
static int ensure_chain(dstate *st, const sg_zone *z, sg_attach *slot, const sg_keyset *k,
                        const sg_keyset *keep, int where)
{
    if (!k || k->nzsk == 0 || !slot)
        return 0; /* an unsigned zone proves nothing */
    const sg_keyset_policy *p = &k->policy;
    int rc = 0;
    /* the version served now, if z is a newer one (an UPDATE, an IXFR, a reload): z's
     * chain is derived from its chain, held until the build is done */
    sg_zone *prev = NULL;
    if (sg_zonedb_acquire_apex(z->apex, &prev) == 0 && prev == z) {
        sg_zonedb_release(prev);
        prev = NULL;
    }
    pthread_mutex_lock(&g_build_lock);
    dattach *a = sg_attach_get(slot);
    if (!a) {
        if (!(a = calloc(1, sizeof *a))) {
            rc = SG_ENOMEM;
            goto out;
        }
        sg_attach_swap(slot, a, dattach_free); /* the slot was empty: nothing to free */
    }
    for (int i = 0; i < 2; i++)
        if (keys_fit(atomic_load(&a->d[i]), k))
            goto out;
    sg_denial *nd = NULL;
    if ((rc = sg_denial_build_from(z, prev_chain(prev, st->slot, k), p->denial,
                                   p->nsec3_iterations, p->nsec3_opt_out, k->apex_types,
                                   k->napex, &nd)))
        goto out;
    /* the place of a chain nobody serves: not the one for the set in use */
    int j = keep && keys_fit(atomic_load(&a->d[0]), keep) ? 1 : 0;
    if (j == 0 && atomic_load(&a->d[0]) && !atomic_load(&a->d[1]))
        j = 1;
    sg_denial *old = atomic_exchange(&a->d[j], nd);
    if (old)
        retire(st, old, sg_denial_free);
    sg_counters_add(st->metrics.count, where, 1);
out:
    pthread_mutex_unlock(&g_build_lock);
    sg_zonedb_release(prev);
    return rc;
}

/* Once a key set is served, a chain for another one has no reader left to come. */
static void drop_stale(dstate *st, sg_attach *slot, const sg_keyset *k)
{
    pthread_mutex_lock(&g_build_lock);
    dattach *a = sg_attach_get(slot);
    int fits = a && (keys_fit(atomic_load(&a->d[0]), k) || keys_fit(atomic_load(&a->d[1]), k));
    for (int i = 0; fits && i < 2; i++) {
        sg_denial *d = atomic_load(&a->d[i]);
        if (d && !keys_fit(d, k)) {
            atomic_store(&a->d[i], NULL);
            retire(st, d, sg_denial_free);
        }
    }
    pthread_mutex_unlock(&g_build_lock);
}

/* Hand version z to the presigning thread (when presign-max lets it). Appended, never
 * searched: a block may prepare 10^5 zones at once; the thread skips an entry whose zone
 * has a newer version by then (that version has its own entry). */
static void presign_enqueue(dstate *st, const sg_zone *z)
{
    if (!st->cfg.presign_max || z->nrecords > st->cfg.presign_max)
        return;
    pthread_mutex_lock(&st->pq_lock);
    size_t i = st->npq;
    if (st->npq == st->pq_cap) {
        size_t cap = st->pq_cap ? 2 * st->pq_cap : 8;
        struct dpending *n = realloc(st->pq, cap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&st->pq_lock);
            return; /* not presigned: queries sign it */
        }
        st->pq = n;
        st->pq_cap = cap;
    }
    memcpy(st->pq[i].apex, z->apex, z->apex_len);
    st->pq[i].gen = z->gen;
    st->npq++;
    pthread_mutex_unlock(&st->pq_lock);
    sg_task_wake(&st->presign);
}

/* sg_plugin.prepare: a version one of our zones will be served with (a new one, or one a
 * reload kept for this instance): the engine learns its TTLs, the signature cache grows
 * for it, and its denial chain is built for the zone's key set, all before any query. */
static int dnssec_prepare(void *state, const sg_zone *z, sg_attach *slot)
{
    dstate *st = state;
    /* a static block's zone, or one a dynamic block serves now (the dynamic plugin loads
     * a zone only once the keyman has its keys) */
    sg_keyman_zone *kz = st && st->km ? sg_keyman_find(st->km, z->apex) : NULL;
    if (!kz)
        return 0;
    sg_keyman_zone_served(kz, z->max_ttl);
    fit_cache(st, z);
    const sg_keyset *k = sg_keyman_zone_keys(kz);
    int rc = ensure_chain(st, z, slot, k, NULL, SG_DM_CHAIN_PREPARE);
    if (!rc && k && k->nzsk)
        presign_enqueue(st, z);
    return rc;
}

/* Does key set k sign with other keys (or another validity) than cur? */
static int signers_changed(const sg_keyset *k, const sg_keyset *cur)
{
    if (!k || !k->nzsk)
        return 0;
    if (!cur || cur->nzsk != k->nzsk)
        return 1;
    for (int i = 0; i < k->nzsk; i++)
        if (cache_id(&k->zsk[i]) != cache_id(&cur->zsk[i]))
            return 1;
    return 0;
}

/* Hand the version of kz served now to the presigning thread. */
static void presign_current(dstate *st, sg_keyman_zone *kz)
{
    sg_zone *z = NULL;
    if (!st->cfg.presign_max || sg_zonedb_acquire_apex(sg_keyman_zone_apex(kz), &z))
        return;
    presign_enqueue(st, z);
    sg_zonedb_release(z);
}

/* The keyman's hook (its thread): zone kz's key set k is about to replace cur
 * (published = 0) or has (published = 1), or a query found no chain for the set in use
 * (sg_keyman_wake_zone; published = 1). The newest version gets the chain k needs before k
 * is served; once it is, chains for other sets go. */
static void keys_changing(void *arg, sg_keyman_zone *kz, const sg_keyset *k, const sg_keyset *cur,
                          int published)
{
    dstate *st = arg;
    if (st->slot < 0 || st->slot >= SG_ATTACH_MAX)
        return;
    if (published && k != cur && signers_changed(k, cur))
        presign_current(st, kz); /* a new signing key: the zone signed anew, in the background */
    /* most changes (a key published, one retired) keep the denial parameters and the
     * apex types: the chain in place fits, and the zone set is not even looked at */
    if (k != cur && cur && k->nzsk && cur->nzsk && k->policy.denial == cur->policy.denial &&
        k->policy.nsec3_iterations == cur->policy.nsec3_iterations &&
        k->policy.nsec3_opt_out == cur->policy.nsec3_opt_out && k->napex == cur->napex &&
        !memcmp(k->apex_types, cur->apex_types, sizeof k->apex_types))
        return;
    sg_zone *z = NULL;
    if (sg_zonedb_acquire_apex(sg_keyman_zone_apex(kz), &z))
        return; /* not loaded (yet): its producer prepares it */
    sg_attach *slot = &z->attach[st->slot];
    int rc = ensure_chain(st, z, slot, k, published ? NULL : cur, SG_DM_CHAIN_KEYS);
    if (rc)
        sg_log(SG_LOG_WARN, "signer", z->apex_str, "denial chain for the new keys: %s",
               sg_strerror(rc));
    else if (published)
        drop_stale(st, slot, k);
    sg_zonedb_release(z);
}

/* The denial chain for a reply: the one prepared for this version and key set. A version
 * that has only a chain for another key set (a change not yet prepared for the version a
 * query sees) is answered with it, still a valid chain of this version, while the keyman's
 * thread builds the right one. A version nothing prepared (a producer without
 * sg_prepare) is the last resort that builds here, counted as where="query". */
static const sg_denial *denial_for(dstate *st, sg_keyman_zone *kz, const sg_zone *z,
                                   const sg_keyset *k)
{
    const sg_attach *slot = st->slot >= 0 && st->slot < SG_ATTACH_MAX ? &z->attach[st->slot] : NULL;
    const dattach *a = sg_attach_get(slot);
    const sg_denial *other = NULL;
    for (int i = 0; a && i < 2; i++) {
        const sg_denial *d = atomic_load(&((dattach *)a)->d[i]);
        if (keys_fit(d, k))
            return d;
        if (d && !other)
            other = d;
    }
    sg_keyman_wake_zone(kz);
    if (other)
        return other;
    if (!slot)
        return NULL;
    sg_log(SG_LOG_WARN, "signer", z->apex_str, "serial %u was not prepared: building its denial "
           "chain for a query", z->serial);
    if (ensure_chain(st, z, (sg_attach *)slot, k, NULL, SG_DM_CHAIN_QUERY))
        return NULL;
    a = sg_attach_get(slot);
    for (int i = 0; a && i < 2; i++) {
        const sg_denial *d = atomic_load(&((dattach *)a)->d[i]);
        if (keys_fit(d, k))
            return d;
    }
    return NULL;
}

/* A cached RRSIG's fixed fields against what signing rs now would write (type covered,
 * algorithm, labels, original TTL, key tag): a last check, as cheap as a compare, that a
 * content key never hands out a signature over something else. */
static inline int sig_fits(const uint8_t *sig, size_t len, const sg_rrset *rs,
                           const sg_sign_key *key, uint8_t labels)
{
    return len > 18 && sig[0] == (uint8_t)(rs->type >> 8) && sig[1] == (uint8_t)rs->type &&
           sig[2] == key->algorithm && sig[3] == labels &&
           sig[4] == (uint8_t)(rs->ttl >> 24) && sig[5] == (uint8_t)(rs->ttl >> 16) &&
           sig[6] == (uint8_t)(rs->ttl >> 8) && sig[7] == (uint8_t)rs->ttl &&
           sig[16] == (uint8_t)(key->key_tag >> 8) && sig[17] == (uint8_t)key->key_tag;
}

/* One RRSIG by key over rs (owner and labels as signed) into out (SG_RRSIG_MAX bytes):
 * from the cache when ck (NULL: not cacheable) finds it, else made and stored. q: the
 * query it is for, whose admission gate and counters apply; NULL for presigning, which
 * only fills the cache. 0 and *len_out, or the signer's or the gate's error. */
static int sig_one(dstate *st, const sg_keyset *k, const uint8_t *apex, const sg_sign_key *key,
                   const uint8_t *owner, uint8_t labels, const sg_rrset *rs,
                   const sg_sigkey *ck, uint32_t now, const sg_query *q, uint8_t *out,
                   size_t *len_out)
{
    const sg_keyset_policy *p = &k->policy;
    sg_sigcache *cache = atomic_load(st->cache);
    size_t len = 0;
    if (ck) {
        len = sg_sigcache_get(cache, ck, cache_id(key), now, now + p->sig_refresh, out);
        if (len && !sig_fits(out, len, rs, key, labels))
            len = 0; /* not what this RRset needs: signed anew (never seen to happen) */
        if (q)
            sg_counters_add(st->metrics.count, len ? SG_DM_SIGCACHE_HITS : SG_DM_SIGCACHE_MISSES, 1);
    }
    if (!len) {
        int rc = q ? sg_sign_gate_enter(&st->cfg.gate, q->start_ns, now_ns()) : 0;
        if (rc)
            return rc; /* shed: SERVFAIL now rather than a reply too late or a queue */
        uint32_t exp = now + p->sig_validity - jitter(p->sig_jitter);
        rc = sg_rrsig_make(key, apex, owner, labels, rs, now - INCEPTION_SKEW, exp, out, &len);
        if (q)
            sg_sign_gate_leave(&st->cfg.gate);
        if (rc) {
            sg_counters_add(st->metrics.count, rc == SG_KS_ETOKEN ? SG_DM_SIGN_ERR_TOKEN
                                                                  : SG_DM_SIGN_ERR_OTHER, 1);
            return rc;
        }
        if (ck)
            sg_sigcache_put(cache, ck, cache_id(key), now, exp, out, len);
        sg_counters_add(st->metrics.count, SG_DM_MADE, 1);
        if (!q)
            sg_counters_add(st->metrics.count, SG_DM_PRESIGNED, 1);
    }
    *len_out = len;
    return 0;
}

/* RRSIGs for one reference: one per signing key, as one RRSIG RRset in the arena. */
static int sign_ref(dstate *st, const sg_keyset *k, const sg_denial *d, sg_query *q,
                    const sg_rr_ref *r, sg_rr_ref *out)
{
    const sg_rrset *rs = r->rrset;
    int keyset_rr = (r->flags & SG_REF_KEYSET) != 0;
    const sg_rrset *presigned = keyset_rr ? sg_keyset_presigned(k, rs) : NULL;
    if (presigned) {
        /* an offline KSK signed this RRset ahead of time: served as imported */
        *out = (sg_rr_ref){ .owner = r->owner, .rrset = presigned, .ttl = r->ttl };
        return 0;
    }
    const sg_sign_key *keys = keyset_rr ? k->ksk : k->zsk;
    int nkeys = keyset_rr ? k->nksk : k->nzsk;
    if (nkeys == 0)
        return SG_ENOTFOUND;
    const uint8_t *owner = r->owner;
    uint8_t labels;
    int cacheable = !(r->flags & SG_REF_NOCACHE);
    if ((r->flags & SG_REF_SYNTH) && r->source && d && d->kind != SG_KS_DENIAL_COMPACT) {
        owner = r->source; /* RFC 4034 3.1.3: signed as the wildcard, labels without "*" */
        labels = (uint8_t)(sg_name_labels(owner) - 1);
    } else {
        /* RFC 4034 3.1.3: a leading "*" label is never counted */
        labels = (uint8_t)(sg_name_labels(owner) - (owner[0] == 1 && owner[1] == '*'));
        if (r->flags & SG_REF_SYNTH)
            cacheable = 0; /* compact denial signs each expansion as itself */
    }
    /* the cache key: by content, so that a new version finds what it did not change; the
     * key set's own records by snapshot (a key set changes without a new zone version) */
    sg_sigkey ck = { { 0, 0 } };
    if (keyset_rr) {
        ck.h[0] = k->gen | (1ULL << 63);
        ck.h[1] = (uint64_t)(uintptr_t)rs;
    } else if (cacheable) {
        sg_sigkey_rrset(q->zone->apex, owner, rs, &ck);
    }
    uint32_t now = (uint32_t)time(NULL);
    const sg_keyset_policy *p = &k->policy;
    uint8_t *blob = sg_arena_alloc(q->arena, (size_t)nkeys * (2 + SG_RRSIG_MAX));
    sg_rrset *sig = sg_arena_alloc(q->arena, sizeof *sig);
    if (!blob || !sig)
        return SG_ENOMEM;
    size_t o = 0;
    for (int i = 0; i < nkeys; i++) {
        size_t len = 0;
        int rc = sig_one(st, k, q->zone->apex, &keys[i], owner, labels, rs,
                         cacheable ? &ck : NULL, now, q, blob + o + 2, &len);
        if (rc)
            return rc;
        /* a stored reply must go when the sigcache would stop serving this signature */
        const uint8_t *x = blob + o + 2 + 8; /* RRSIG expiration */
        uint32_t refresh_at = ((uint32_t)x[0] << 24 | (uint32_t)x[1] << 16 | (uint32_t)x[2] << 8 | x[3]) - p->sig_refresh;
        if (!q->valid_until || (int32_t)(refresh_at - q->valid_until) < 0)
            q->valid_until = refresh_at;
        blob[o] = (uint8_t)(len >> 8);
        blob[o + 1] = (uint8_t)len;
        o += 2 + len;
    }
    sig->type = SG_TYPE_RRSIG;
    sig->count = (uint16_t)nkeys;
    sig->ttl = r->ttl;
    sig->rdata_len = (uint32_t)o;
    sig->rdata = blob;
    out->owner = r->owner;
    out->rrset = sig;
    out->ttl = r->ttl;
    out->flags = 0;
    out->source = NULL;
    return 0;
}

static int sign_section(dstate *st, const sg_keyset *k, const sg_denial *d, sg_query *q,
                        sg_section *s, int additional)
{
    sg_rr_ref orig[SG_SECTION_MAX];
    uint16_t n = s->n;
    memcpy(orig, s->refs, n * sizeof *orig);
    s->n = 0;
    for (uint16_t i = 0; i < n; i++) {
        const sg_rr_ref *r = &orig[i];
        if (s->n >= SG_SECTION_MAX)
            return additional ? 0 : SG_ESPACE;
        s->refs[s->n++] = *r;
        if ((r->flags & SG_REF_GLUE) || r->rrset->type == SG_TYPE_RRSIG)
            continue;
        if (s->n >= SG_SECTION_MAX)
            return additional ? 0 : SG_ESPACE;
        int rc = sign_ref(st, k, d, q, r, &s->refs[s->n]);
        if (rc)
            return rc;
        s->n++;
    }
    return 0;
}

/* DNSKEY, CDS and CDNSKEY at the apex come from the key set, not the zone file. */
static void apex_keys(const sg_keyset *k, sg_query *q)
{
    const sg_rrset *rs = NULL;
    switch (q->qtype) {
    case SG_TYPE_DNSKEY: rs = &k->dnskey; break;
    case SG_TYPE_CDS: rs = &k->cds; break;
    case SG_TYPE_CDNSKEY: rs = &k->cdnskey; break;
    default: return;
    }
    if (!rs->count || q->qname_len != q->zone->apex_len || memcmp(q->qname, q->zone->apex, q->qname_len))
        return;
    q->an.n = 0;
    q->ns.n = 0;
    q->rcode = SG_RCODE_NOERROR;
    q->kind = SG_KIND_ANSWER;
    sg_section_add(&q->an, q->qname, rs, rs->ttl, SG_REF_KEYSET);
}

/* The RRSIG RRsets of the node a NODATA answer for qtype RRSIG is about, in the answer
 * section alone, as BIND and Knot answer an explicit RRSIG query (issue 14: NODATA whose
 * own NSEC listed RRSIG). */
static int answer_rrsigs(dstate *st, const sg_keyset *k, const sg_denial *d, sg_query *q)
{
    const sg_node *n = q->node;
    sg_section tmp;
    tmp.n = 0;
    int cut = (n->flags & SG_NODE_DELEG) != 0;
    for (uint16_t i = 0; i < n->nrrsets && tmp.n < SG_SECTION_MAX / 2; i++) {
        const sg_rrset *rs = &n->rrsets[i];
        if (rs->type == SG_TYPE_RRSIG || (cut && rs->type != SG_TYPE_DS))
            continue; /* a delegation's NS is the child's, never signed here */
        sg_section_add(&tmp, n->name, rs, rs->ttl, 0);
    }
    if (n == q->zone->apex_node) {
        const sg_rrset *ks[] = { &k->dnskey, &k->cds, &k->cdnskey };
        for (size_t i = 0; i < 3; i++)
            if (ks[i]->count)
                sg_section_add(&tmp, n->name, ks[i], ks[i]->ttl, SG_REF_KEYSET);
    }
    const sg_rrset *own = d->kind == SG_KS_DENIAL_NSEC ? sg_nsec_of(d->nsec, n) : NULL;
    if (own)
        sg_section_add(&tmp, n->name, own, own->ttl, SG_REF_DENIAL);
    if (tmp.n == 0)
        return 0; /* nothing signed here (an empty non-terminal): NODATA stays */
    int rc = sign_section(st, k, d, q, &tmp, 0);
    if (rc)
        return rc;
    q->an.n = 0;
    q->ns.n = 0;
    for (uint16_t i = 0; i < tmp.n; i++)
        if (tmp.refs[i].rrset->type == SG_TYPE_RRSIG)
            q->an.refs[q->an.n++] = tmp.refs[i];
    q->kind = SG_KIND_ANSWER;
    q->rcode = SG_RCODE_NOERROR;
    return 1;
}

static int dnssec_handle(sg_handler *self, sg_query *q)
{
    dstate *st = self->state;
    int rc = sg_next(self, q);
    if (rc || !q->zone)
        return rc;
    /* the keyman's zones by apex (a hash lookup): a static block's, or the zones a
     * dynamic block serves now */
    sg_keyman_zone *kz = sg_keyman_find(st->km, q->zone->apex);
    const sg_keyset *k = sg_keyman_zone_keys(kz);
    if (!k)
        return 0;
    apex_keys(k, q);
    if (k->nzsk == 0)
        return 0; /* an unsigned zone (gone insecure) is served as it is */
    int named = q->kind == SG_KIND_NODATA && (q->qtype == SG_TYPE_NSEC3PARAM ||
                q->qtype == SG_TYPE_NSEC || q->qtype == SG_TYPE_RRSIG);
    if (!q->do_bit && !named)
        return 0;
    if (q->before_sign && q->before_sign(q->before_sign_ctx, q))
        return 0; /* rate limited: the reply goes out cut back or not at all */
    const sg_denial *d = denial_for(st, kz, q->zone, k);
    if (!d)
        return SG_ENOMEM;
    if ((rc = sg_denial_answer(d, q)))
        return rc;
    if (q->kind == SG_KIND_NODATA && q->qtype == SG_TYPE_RRSIG && q->node &&
        (rc = answer_rrsigs(st, k, d, q)))
        return rc < 0 ? rc : 0;
    if (!q->do_bit) {
        /* the records asked for by name, without their signatures */
        return 0;
    }
    if ((rc = sg_prove(d, q)) ||
        (rc = sign_section(st, k, d, q, &q->an, 0)) ||
        (rc = sign_section(st, k, d, q, &q->ns, 0)) ||
        (rc = sign_section(st, k, d, q, &q->ar, 1)))
        return rc;
    return 0;
}

static const sg_keyset *dnssec_keys(const void *state, const uint8_t *apex)
{
    const dstate *st = state;
    return st ? sg_keyman_zone_keys(sg_keyman_find(st->km, apex)) : NULL;
}

/* Under -t there is no keyman (nothing is read): no floor, the file's serials are checked. */
static int dnssec_serial_floor(const void *state, const uint8_t *apex, uint32_t *floor)
{
    const dstate *st = state;
    sg_keyman_zone *kz = st ? sg_keyman_find(st->km, apex) : NULL;
    return kz ? sg_keyman_zone_floor(kz, floor) : SG_ENOTFOUND;
}

/* The keyman tells of each zone's new key set (transfer: a new version, no polling). Under
 * -t there is no keyman and nothing to tell. */
static void dnssec_watch(const void *state, void (*changed)(const uint8_t *apex))
{
    const dstate *st = state;
    if (st)
        sg_keyman_watch(st->km, changed);
}

/* Replies change with the key sets, and in a dynamic block with the zones the keyman
 * follows (the epoch moves for both). */
static uint64_t dnssec_version(void *state, const sg_query *q)
{
    (void)q;
    const dstate *st = state;
    return sg_keyman_epoch(st->km);
}

static const void *dnssec_service(const void *state, const char *name)
{
    const dstate *st = state;
    return st && !strcmp(name, SG_SERVICE_KEYS) ? &st->provider : NULL;
}

/* SQLite writes the keystore and its directory (journal, -wal files). */
static void dnssec_writes(const void *state, sg_file_fn fn, void *arg)
{
    const dstate *st = state;
    if (st && st->cfg.keystore[0])
        fn(arg, st->cfg.keystore, "keystore");
}

/* Ready when the keystore is there and every zone has keys that sign: the signatures are
 * made at query time with an inception in the past and an expiration a validity period
 * ahead, so a zone with an active ZSK and KSK serves signatures within their validity.
 * Reads what the keyman's thread stored; never the keystore. */
static int dnssec_ready(const void *state, sg_buf *why)
{
    const dstate *st = state;
    if (!st || !st->km)
        return 1;
    int ok = 1;
    if (!sg_keyman_keystore_ok(st->km)) {
        sg_buf_printf(why, "dnssec: keystore %s is not reachable\n", st->cfg.keystore);
        ok = 0;
    }
    for (int i = 0; i < sg_keyman_nzones(st->km) && !st->dynamic; i++) {
        const sg_keyset *k = sg_keyman_keys(st->km, i);
        /* an offline-KSK zone has no KSK online: its key RRsets come signed ahead */
        if (k && k->nzsk > 0 && (k->nksk > 0 || k->presigned))
            continue;
        char name[1024] = "?";
        if (i < st->nzones)
            sg_name_to_str(st->zones[i].apex, name, sizeof name);
        sg_buf_printf(why, "dnssec: zone %s has no active signing keys\n", name);
        ok = 0;
    }
    return ok;
}

/* ---- background presigning -------------------------------------------------------- */

/* Sign one RRset of z into the cache with every signing key of the zone's set now (a key
 * set the keyman swaps meanwhile is picked up by the next RRset). 0, or an error that ends
 * the pass (the signer's, or the thread stopping). */
static int presign_rrset(dstate *st, const sg_zone *z, const uint8_t *owner, const sg_rrset *rs,
                         const sg_sigkey *ck, uint8_t *buf)
{
    if (sg_task_stopping(&st->presign))
        return SG_EBUSY;
    sg_keyman_zone *kz = sg_keyman_find(st->km, z->apex);
    const sg_keyset *k = sg_keyman_zone_keys(kz);
    if (!k || !k->nzsk)
        return SG_ENOTFOUND;
    uint8_t labels = (uint8_t)(sg_name_labels(owner) - (owner[0] == 1 && owner[1] == '*'));
    uint32_t now = (uint32_t)time(NULL);
    for (int i = 0; i < k->nzsk; i++) {
        size_t len;
        int rc = sig_one(st, k, z->apex, &k->zsk[i], owner, labels, rs, ck, now, NULL, buf, &len);
        if (rc)
            return rc;
    }
    sg_counters_add(st->metrics.count, SG_DM_PRESIGN_RRSETS, 1);
    return 0;
}

/* The denial chain version z serves with the zone's key set now, or NULL. */
static const sg_denial *presign_denial(dstate *st, const sg_zone *z)
{
    const sg_keyset *k = sg_keyman_zone_keys(sg_keyman_find(st->km, z->apex));
    dattach *a = st->slot >= 0 && st->slot < SG_ATTACH_MAX ? sg_attach_get(&z->attach[st->slot]) : NULL;
    for (int i = 0; a && k && i < 2; i++) {
        const sg_denial *d = atomic_load(&a->d[i]);
        if (keys_fit(d, k))
            return d;
    }
    return NULL;
}

/* Every RRSIG a reply from version z can carry, into the cache: what is cached already (a
 * version after a reload: all it did not change) costs a probe. */
static int presign_version(dstate *st, const sg_zone *z)
{
    uint8_t buf[SG_RRSIG_MAX];
    sg_sigkey ck;
    int rc = 0;
    for (size_t i = 0; i < z->nnodes && !rc; i++) {
        const sg_node *n = &z->nodes[i];
        if (n->flags & SG_NODE_NONAUTH)
            continue;
        int cut = (n->flags & SG_NODE_DELEG) != 0;
        for (uint16_t j = 0; j < n->nrrsets && !rc; j++) {
            const sg_rrset *rs = &n->rrsets[j];
            if (rs->type == SG_TYPE_RRSIG || (cut && rs->type != SG_TYPE_DS))
                continue; /* a delegation's NS and glue are never signed */
            sg_sigkey_rrset(z->apex, n->name, rs, &ck);
            rc = presign_rrset(st, z, n->name, rs, &ck, buf);
        }
        /* the chain is looked up per name: a key-set change may replace it meanwhile */
        const sg_denial *d = rc ? NULL : presign_denial(st, z);
        const sg_rrset *dr = NULL;
        const uint8_t *downer = n->name;
        if (d && d->kind == SG_KS_DENIAL_NSEC) {
            dr = sg_nsec_of(d->nsec, n);
        } else if (d && d->kind == SG_KS_DENIAL_NSEC3) {
            const sg_nsec3_entry *e = sg_nsec3_of(d->nsec3, n);
            if (e) {
                dr = &e->rrset;
                downer = e->owner;
            }
            if (n == z->apex_node && !rc) {
                sg_sigkey_rrset(z->apex, z->apex, &d->nsec3->param, &ck);
                rc = presign_rrset(st, z, z->apex, &d->nsec3->param, &ck, buf);
            }
        }
        if (dr && !rc) {
            sg_sigkey_rrset(z->apex, downer, dr, &ck);
            rc = presign_rrset(st, z, downer, dr, &ck, buf);
        }
    }
    return rc;
}

/* The thread: below every query worker (SCHED_IDLE: it runs only on a core nobody else
 * wants, so at most one core's share and never ahead of a query), it takes the versions
 * prepare handed over and signs them into the cache. */
static void *presign_main(void *arg)
{
    dstate *st = arg;
    struct sched_param sp = { 0 };
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp))
        (void)setpriority(PRIO_PROCESS, 0, 19); /* no SCHED_IDLE: the lowest nice value */
    struct dpending *batch = NULL;
    size_t nbatch = 0, next = 0;
    while (!sg_task_stopping(&st->presign)) {
        if (next == nbatch) {
            /* the whole queue at once, in the order prepare handed it over */
            free(batch);
            pthread_mutex_lock(&st->pq_lock);
            batch = st->pq;
            nbatch = st->npq;
            st->pq = NULL;
            st->npq = st->pq_cap = 0;
            pthread_mutex_unlock(&st->pq_lock);
            next = 0;
            if (!nbatch) {
                sg_task_sleep(&st->presign, 1000);
                continue;
            }
        }
        struct dpending *item = &batch[next++];
        /* prepare runs before its version is published: wait for it (a version that never
         * is, a refused reload say, is given up after a while); generations grow with
         * every version built, so a newer one served means a newer entry follows */
        sg_zone *z = NULL;
        for (int tries = 0; tries < 250 && !sg_task_stopping(&st->presign); tries++) {
            if (sg_zonedb_acquire_apex(item->apex, &z))
                z = NULL;
            else if (z->gen != item->gen) {
                uint64_t served = z->gen;
                sg_zonedb_release(z);
                z = NULL;
                if (served > item->gen)
                    break;
            }
            if (z)
                break;
            sg_task_sleep(&st->presign, 20);
        }
        if (!z)
            continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        uint64_t made0 = sg_counters_sum(st->metrics.count, SG_DM_PRESIGNED);
        int rc = presign_version(st, z);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (!rc) {
            sg_counters_add(st->metrics.count, SG_DM_PRESIGN_PASSES, 1);
            sg_log(SG_LOG_INFO, "signer", z->apex_str, "presigned serial %u: %llu signatures "
                   "made in %.3f s", z->serial,
                   (unsigned long long)(sg_counters_sum(st->metrics.count, SG_DM_PRESIGNED) - made0),
                   (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        } else if (rc != SG_EBUSY && rc != SG_ENOTFOUND) {
            sg_log(SG_LOG_WARN, "signer", z->apex_str, "presigning serial %u stopped: %s",
                   z->serial, sg_strerror(rc));
        }
        sg_zonedb_release(z);
    }
    free(batch);
    return NULL;
}

const sg_plugin sg_plugin_dnssec = {
    .name = "dnssec",
    .setup = dnssec_setup,
    .start = dnssec_start,
    .handle = dnssec_handle,
    .version = dnssec_version,
    .stop = dnssec_stop,
    .teardown = dnssec_teardown,
    .service = dnssec_service,
    .writes = dnssec_writes,
    .prepare = dnssec_prepare,
    .ready = dnssec_ready,
    .flags = SG_PLUGIN_FOLLOWS_ZONES,
};
