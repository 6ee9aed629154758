/* SPDX-License-Identifier: MIT */
/* The key lifecycle of a dnssec block: engine step, registrar tick, key-set snapshots. */
#include "keyman/keyman.h"
#include "keyman/key_metrics.h"
#include "keystore/rollover.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/name.h"
#include "common/retire.h"
#include "common/task.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct kzone {
    char name[1024];
    _Atomic(sg_keyset *) keys;
    _Atomic uint32_t max_ttl;  /* of the zone version last served, for rollover timing */
    sg_registrar *reg;         /* pushes and confirms its DS at the parent, or NULL */
    char next_reason[200];     /* the engine's last word, logged when it changes */
    char wait_reason[200];
    uint32_t seen_max_ttl;     /* the TTLs last recorded as facts for the engine */
    uint32_t seen_dnskey_ttl;
    int last_err;              /* the keystore failure last logged, and when: a failure */
    int64_t last_err_at;       /* is said on its change, then once a minute */
    int has_floor;             /* the serial-floor fact, read at sg_keyman_new */
    uint32_t floor;
} kzone;

struct sg_keyman {
    char keystore[1024];
    char provider[32];         /* the registrar's, for metrics; "" without one */
    kzone *zones;
    int nzones;
    sg_task task;              /* once a second, or at once to stop */
    sg_retire_list retired;    /* replaced key sets, and what the plugin hands over */
    _Atomic uint64_t epoch;    /* bumped at every key set swap */
    sg_key_metrics metrics;    /* what the last step read from the keystore */
    /* the stepping thread's own: its keystore handle, and whether the file was lost */
    sg_keystore *ks;
    int lost;
    int64_t said;              /* when the keystore's absence was last logged */
};

static void keyset_free_v(void *p) { sg_keyset_free(p); }

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

/* Re-read the keystore; swap in key sets that changed. */
static void refresh(sg_keyman *km, sg_keystore *ks, int64_t now)
{
    for (int i = 0; i < km->nzones; i++) {
        kzone *z = &km->zones[i];
        /* what we serve is what caches hold: the engine's waits rest on it (facts kept
         * in the keystore, so that a restart or signetctl sees them too) */
        uint32_t mt = atomic_load(&z->max_ttl);
        if (mt && mt != z->seen_max_ttl &&
            !sg_ks_fact_observe(ks, z->name, SG_KS_FACT_ZONE_MAX_TTL, mt, "served zone", now))
            z->seen_max_ttl = mt;
        sg_keyset *served = atomic_load(&z->keys);
        if (served && served->dnskey.count && served->dnskey.ttl != z->seen_dnskey_ttl &&
            !sg_ks_fact_observe(ks, z->name, SG_KS_FACT_DNSKEY_TTL, served->dnskey.ttl,
                                "served DNSKEY RRset", now))
            z->seen_dnskey_ttl = served->dnskey.ttl;
        /* first the engine: whatever it changes is in the key set read below */
        sg_roll_figures fig = { .max_ttl = mt };
        sg_roll_event next;
        int er = sg_roll_step(ks, z->name, &fig, now, &next);
        if (er && say_failure(z, er, now))
            sg_log(SG_LOG_WARN, "rollover", z->name, "step failed: %s (said again in a minute if it lasts)",
                   sg_strerror(er));
        /* a clock stepped back: keys are what the keystore last recorded, not what the
         * timing points say at a time before them */
        int64_t keys_at = !er && next.action == SG_ROLL_CLOCK ? next.when : now;
        /* then the parent side: push what the engine now wants, confirm what it waits for */
        int rr = z->reg ? sg_reg_tick(z->reg, ks, z->name, now) : 0;
        if (rr)
            sg_log(SG_LOG_WARN, "registrar", z->name, "tick failed: %s", sg_strerror(rr));
        sg_key_metrics_read(&km->metrics, i, ks, now, &next, !er);
        if (!er && (strcmp(next.reason, z->next_reason) || strcmp(next.wait_reason, z->wait_reason))) {
            snprintf(z->next_reason, sizeof z->next_reason, "%s", next.reason);
            snprintf(z->wait_reason, sizeof z->wait_reason, "%s", next.wait_reason);
            sg_log(next.action == SG_ROLL_CLOCK ? SG_LOG_WARN : SG_LOG_INFO, "rollover", z->name,
                   "next: %s%s%s", next.reason,
                   next.wait_reason[0] && next.action != SG_ROLL_WAIT ? "; also " : "",
                   next.action != SG_ROLL_WAIT ? next.wait_reason : "");
        }
        sg_keyset *cur = atomic_load(&z->keys);
        sg_keyset *nk = NULL;
        int rc = sg_keyset_load(ks, z->name, keys_at, cur ? cur->fingerprint : 0, &nk);
        if (rc && rc != SG_EEXIST) {
            if (say_failure(z, rc, now))
                sg_log(SG_LOG_WARN, "signer", z->name, "keystore read failed (%s); keeping the current keys",
                       sg_strerror(rc));
            continue;
        }
        if (!er && z->last_err) {
            sg_log(SG_LOG_INFO, "signer", z->name, "the keystore works again");
            z->last_err = 0;
        }
        if (rc == SG_EEXIST)
            continue;
        atomic_store(&z->keys, nk);
        atomic_fetch_add(&km->epoch, 1);
        sg_log(SG_LOG_INFO, "signer", z->name, "key set changed: %d signing, %d key-signing, %u published",
               nk->nzsk, nk->nksk, nk->dnskey.count);
        if (cur)
            sg_retire(&km->retired, cur, keyset_free_v, (time_t)now);
    }
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
    int rc = km->lost ? sg_ks_open_existing(km->keystore, "daemon", &ks)
                      : sg_ks_new(km->keystore, "daemon", &ks);
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

void sg_keyman_step(sg_keyman *km, int64_t now)
{
    if (!km)
        return;
    sg_keystore *ks = keystore_check(km, now);
    if (ks)
        refresh(km, ks, now);
}

static void *watch(void *arg)
{
    sg_keyman *km = arg;
    while (!sg_task_stopping(&km->task)) {
        if (sg_task_sleep(&km->task, 1000))
            break;
        sg_keyman_step(km, (int64_t)time(NULL));
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
    for (int i = 0; i < km->nzones; i++) {
        sg_reg_free(km->zones[i].reg);
        sg_keyset_free(atomic_load(&km->zones[i].keys));
    }
    free(km->zones);
    sg_ks_free(km->ks);
    if (km->metrics.zones)
        sg_key_metrics_deinit(&km->metrics);
    sg_retire_destroy(&km->retired);
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
        strlen(cfg->keystore) >= sizeof ((sg_keyman *)0)->keystore)
        return SG_EINVAL;
    if (!why)
        cap = 0;
    sg_keyman *km = calloc(1, sizeof *km);
    if (!km)
        return SG_ENOMEM;
    sg_retire_init(&km->retired);
    sg_task_init(&km->task);
    snprintf(km->keystore, sizeof km->keystore, "%s", cfg->keystore);
    if (cfg->registrar)
        snprintf(km->provider, sizeof km->provider, "%s", cfg->registrar->provider);
    int rc = SG_ENOMEM;
    if (!(km->zones = calloc(cfg->nzones > 0 ? (size_t)cfg->nzones : 1, sizeof *km->zones)))
        goto fail;
    km->nzones = cfg->nzones;
    for (int i = 0; i < km->nzones; i++)
        sg_name_to_str(cfg->zones[i], km->zones[i].name, sizeof km->zones[i].name);
    sg_keystore *ks = NULL;
    if ((rc = sg_ks_new(km->keystore, "daemon", &ks))) {
        snprintf(why, cap, "cannot open keystore %s: %s", km->keystore, sg_strerror(rc));
        goto fail;
    }
    for (int i = 0; i < km->nzones && !rc; i++) {
        kzone *z = &km->zones[i];
        sg_keyset *k = NULL;
        int64_t last = 0;
        /* whether the parent's DS set is confirmed by a registrar: waits after a DS
         * withdrawal then count from when it was seen gone (written before the first
         * step the engine takes for the zone) */
        int checks = cfg->registrar && strcmp(cfg->registrar->provider, "manual");
        if ((rc = sg_keyset_ensure(ks, z->name, cfg->policy, now)) ||
            (rc = sg_ks_fact_observe(ks, z->name, SG_KS_FACT_PARENT_CHECKS, (uint32_t)checks,
                                     checks ? cfg->registrar->provider : "no registrar", now)) ||
            (rc = sg_ks_zone_last_time(ks, z->name, &last)) ||
            /* a clock stepped back: the keys the keystore last recorded (see refresh) */
            (rc = sg_keyset_load(ks, z->name, last > now ? last : now, 0, &k))) {
            snprintf(why, cap, "zone %s: %s", z->name, sg_strerror(rc));
            break;
        }
        /* the serial its previous server served (zone adopt): read once, here, so that
         * the block's zone sources set up after us (file, transfer) see it at their setup */
        sg_ks_fact f;
        int fr = sg_ks_fact_get(ks, z->name, SG_KS_FACT_SERIAL_FLOOR, &f);
        if (fr == 0) {
            z->has_floor = 1;
            z->floor = f.value;
        } else if (fr != SG_ENOTFOUND) {
            rc = fr;
            snprintf(why, cap, "zone %s: serial floor: %s", z->name, sg_strerror(rc));
            sg_keyset_free(k);
            break;
        }
        atomic_store(&z->keys, k);
        if (cfg->registrar && (rc = sg_reg_new(cfg->registrar, &z->reg))) {
            snprintf(why, cap, "zone %s: registrar %s: %s", z->name, cfg->registrar->provider,
                     sg_strerror(rc));
            break;
        }
    }
    sg_ks_free(ks);
    if (rc)
        goto fail;
    /* scrapes read what the steps stored and the registrars' counts, never the keystore */
    if ((rc = sg_key_metrics_init(&km->metrics, km->nzones)))
        goto fail;
    for (int i = 0; i < km->nzones; i++) {
        sg_km_zone *m = &km->metrics.zones[i];
        snprintf(m->name, sizeof m->name, "%s", km->zones[i].name);
        m->reg = km->zones[i].reg;
        m->provider = km->provider;
        if (m->reg && (rc = sg_reg_keep_counts(km->zones[i].reg, km->zones[i].name)))
            goto fail;
    }
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
    /* the thread keeps the name it had inside the plugin: ps, gdb and integ.ops know it */
    return sg_task_start(&km->task, "sg-dnssec", watch, km);
}

void sg_keyman_stop(sg_keyman *km)
{
    if (km)
        sg_task_stop(&km->task);
}

const sg_keyset *sg_keyman_keys(const sg_keyman *km, int i)
{
    if (!km || i < 0 || i >= km->nzones)
        return NULL;
    return atomic_load(&((sg_keyman *)km)->zones[i].keys);
}

int sg_keyman_serial_floor(const sg_keyman *km, int i, uint32_t *floor_out)
{
    if (!km || i < 0 || i >= km->nzones || !floor_out)
        return SG_EINVAL;
    if (!km->zones[i].has_floor)
        return SG_ENOTFOUND;
    *floor_out = km->zones[i].floor;
    return 0;
}

uint64_t sg_keyman_epoch(const sg_keyman *km)
{
    return km ? atomic_load_explicit(&((sg_keyman *)km)->epoch, memory_order_acquire) : 0;
}

void sg_keyman_served(sg_keyman *km, int i, uint32_t max_ttl)
{
    if (km && i >= 0 && i < km->nzones)
        atomic_store(&km->zones[i].max_ttl, max_ttl);
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
