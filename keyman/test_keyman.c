/* SPDX-License-Identifier: MIT */
/* The key lifecycle on a real keystore: a zone gets its keys when the keyman is made, a
 * change made as signetctl makes it is picked up by one step (new snapshot, epoch moves),
 * no change moves nothing, the TTLs served become facts, the keystore deleted or replaced
 * under a running keyman keeps the keys in use serving and writes nothing into a new
 * file, the config errors say what they said in the plugin, a registrar is ticked by the
 * step, the thread does the same work once a second, and a scrape shows the keys.
 * KM_LOG=1 in the environment prints the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keyman/keyman.h"
#include "keystore/rollover.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/name.h"
#include "tests/support/temp_keystore.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ZONE "km.test."
#define T0 1800000000

typedef struct fixture {
    char dir[64];
    char path[128];          /* the keystore keyman opens: DIR/ks.db */
    sg_keystore *ks;         /* the operator's handle, as signetctl has one */
    uint8_t apex[SG_NAME_MAX];
    const uint8_t *zones[1];
    sg_keyman *km;
} fixture;

static int setup(void **state)
{
    sg_log_set_level(getenv("KM_LOG") ? SG_LOG_DEBUG : SG_LOG_SILENT); /* the keystore-gone cases log errors by design */
    fixture *f = calloc(1, sizeof *f);
    if (!f || sg_test_keystore_open("keyman", f->dir, sizeof f->dir, &f->ks))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/ks.db", f->dir);
    if (sg_name_from_str(ZONE, NULL, f->apex))
        return -1;
    f->zones[0] = f->apex;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sg_keyman_free(f->km);
    int rc = sg_test_keystore_close(f->ks, f->dir);
    free(f);
    return rc;
}

static sg_keyman_cfg cfg_of(fixture *f, const char *policy)
{
    return (sg_keyman_cfg){ .keystore = f->path, .policy = policy, .zones = f->zones, .nzones = 1 };
}

static void make(fixture *f, int64_t now)
{
    sg_keyman_cfg c = cfg_of(f, "default");
    char why[512];
    assert_int_equal(sg_keyman_new(&c, now, why, sizeof why, &f->km), 0);
    assert_string_equal(why, "");
}

static size_t count_keys(sg_keystore *ks)
{
    sg_ks_key *keys = NULL;
    size_t n = 0;
    if (sg_ks_key_list(ks, ZONE, &keys, &n))
        return 0;
    free(keys);
    return n;
}

/* Made: the zone has its policy's key (one CSK) in the keystore and in the first key
 * set; the parent-checks fact says there is no registrar; the epoch has not moved. */
static void test_new_gives_keys(void **state)
{
    fixture *f = *state;
    assert_int_equal(count_keys(f->ks), 0);
    make(f, T0);
    assert_int_equal(count_keys(f->ks), 1);
    const sg_keyset *k = sg_keyman_keys(f->km, 0);
    assert_non_null(k);
    assert_int_equal(k->dnskey.count, 1);
    assert_int_equal(k->nzsk, 1);
    assert_int_equal(k->nksk, 1);
    assert_true(sg_name_eq(k->apex, f->apex));
    assert_null(sg_keyman_keys(f->km, 1));
    assert_null(sg_keyman_keys(f->km, -1));
    assert_int_equal(sg_keyman_epoch(f->km), 0);
    sg_ks_fact fact;
    assert_int_equal(sg_ks_fact_get(f->ks, ZONE, SG_KS_FACT_PARENT_CHECKS, &fact), 0);
    assert_int_equal(fact.value, 0);
    assert_string_equal(fact.source, "no registrar");
}

/* What a watcher (transfer) is told: each zone whose key set changed. */
static int g_told;
static uint8_t g_told_apex[SG_NAME_MAX];
static void told(const uint8_t *apex)
{
    g_told++;
    memcpy(g_told_apex, apex, sg_name_len(apex));
}

/* signetctl zone roll: a successor is published in the keystore; one step swaps in a key
 * set with both keys in DNSKEY (the old one still the only signer), moves the epoch and
 * tells the watcher. A step with nothing changed keeps the snapshot and the epoch and
 * tells no one. */
static void test_step_picks_up_change(void **state)
{
    fixture *f = *state;
    make(f, T0);
    g_told = 0;
    sg_keyman_watch(f->km, told);
    const sg_keyset *before = sg_keyman_keys(f->km, 0);
    sg_keyman_step(f->km, T0 + 1);
    assert_ptr_equal(sg_keyman_keys(f->km, 0), before);
    assert_int_equal(sg_keyman_epoch(f->km), 0);
    assert_int_equal(g_told, 0);

    int64_t id = 0;
    assert_int_equal(sg_roll_start(f->ks, ZONE, SG_KS_ROLE_CSK, T0 + 2, &id), 0);
    sg_keyman_step(f->km, T0 + 3);
    const sg_keyset *after = sg_keyman_keys(f->km, 0);
    assert_non_null(after);
    assert_ptr_not_equal(after, before);
    assert_int_equal(sg_keyman_epoch(f->km), 1);
    assert_int_equal(after->dnskey.count, 2);
    assert_int_equal(after->nzsk, 1);
    assert_int_not_equal(after->fingerprint, before->fingerprint);
    /* the replaced set is retired, not freed: a worker may still read it */
    assert_int_equal(before->dnskey.count, 1);
    assert_int_equal(g_told, 1);
    uint8_t want[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str(ZONE, NULL, want), 0);
    assert_true(sg_name_eq(g_told_apex, want));

    sg_keyman_step(f->km, T0 + 4);
    assert_ptr_equal(sg_keyman_keys(f->km, 0), after);
    assert_int_equal(sg_keyman_epoch(f->km), 1);
    assert_int_equal(g_told, 1);
}

/* n zones <prefix>0.km.test. .. in wire form (apex) and the pointers a keyman config
 * takes (returned); the caller frees both */
static const uint8_t **zone_names(int n, const char *prefix, uint8_t (**apex_out)[SG_NAME_MAX])
{
    uint8_t (*apex)[SG_NAME_MAX] = calloc((size_t)n, sizeof *apex);
    const uint8_t **zones = calloc((size_t)n, sizeof *zones);
    assert_non_null(apex);
    assert_non_null(zones);
    for (int i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s%d.km.test.", prefix, i);
        assert_int_equal(sg_name_from_str(name, NULL, apex[i]), 0);
        zones[i] = apex[i];
    }
    *apex_out = apex;
    return zones;
}

/* Issue 17: a step touches only due zones. With many zones and none due, a step looks at
 * none of them (counted by sg_keyman_zones_stepped, not timed); a woken zone is the only
 * one looked at; a change another connection commits (signetctl) makes every zone due
 * once, and is picked up. */
#define MANY 1000
static void test_idle_step_touches_no_zone(void **state)
{
    fixture *f = *state;
    uint8_t (*apex)[SG_NAME_MAX] = NULL;
    const uint8_t **zones = zone_names(MANY, "z", &apex);
    sg_keyman_cfg c = { .keystore = f->path, .policy = "default", .zones = zones, .nzones = MANY };
    char why[512];
    assert_int_equal(sg_keyman_new(&c, T0, why, sizeof why, &f->km), 0);
    sg_keyman_step(f->km, T0 + 1); /* the first step looks at every zone once */
    assert_int_equal(sg_keyman_zones_stepped(f->km), MANY);
    for (int s = 2; s < 60; s++)
        sg_keyman_step(f->km, T0 + s);
    assert_int_equal(sg_keyman_zones_stepped(f->km), MANY); /* idle: none touched */

    sg_keyman_wake(f->km, 17);
    sg_keyman_wake(f->km, 17);
    sg_keyman_step(f->km, T0 + 60);
    assert_int_equal(sg_keyman_zones_stepped(f->km), MANY + 1);
    sg_keyman_served(f->km, 3, 3600); /* a new served TTL: that zone only */
    sg_keyman_step(f->km, T0 + 61);
    assert_int_equal(sg_keyman_zones_stepped(f->km), MANY + 2);
    sg_keyman_served(f->km, 3, 3600); /* the same again: nothing to record */
    sg_keyman_step(f->km, T0 + 62);
    assert_int_equal(sg_keyman_zones_stepped(f->km), MANY + 2);

    /* signetctl zone roll z5: picked up by the next step */
    const sg_keyset *before = sg_keyman_keys(f->km, 5);
    int64_t id = 0;
    assert_int_equal(sg_roll_start(f->ks, "z5.km.test.", SG_KS_ROLE_CSK, T0 + 63, &id), 0);
    sg_keyman_step(f->km, T0 + 64);
    assert_ptr_not_equal(sg_keyman_keys(f->km, 5), before);
    assert_int_equal(sg_keyman_keys(f->km, 5)->dnskey.count, 2);
    uint64_t after_change = sg_keyman_zones_stepped(f->km);
    assert_true(after_change >= MANY + 2 + MANY);
    sg_keyman_step(f->km, T0 + 65);
    sg_keyman_step(f->km, T0 + 66);
    /* at most the rolling zone, whose next event may be soon */
    assert_true(sg_keyman_zones_stepped(f->km) <= after_change + 2);
    free(apex);
    free(zones);
}

/* A stop asked during the first pass over many zones ends the pass (100,000 zones made
 * SIGTERM wait a minute for it): the thread, started, has stepped some zones but not all
 * when the stop returns. The zones are made due at once by the first step. */
#define STOPPED 3000
static void test_stop_ends_first_pass(void **state)
{
    fixture *f = *state;
    uint8_t (*apex)[SG_NAME_MAX] = NULL;
    const uint8_t **zones = zone_names(STOPPED, "s", &apex);
    sg_keyman_cfg c = { .keystore = f->path, .policy = "default", .zones = zones,
                        .nzones = STOPPED };
    char why[512];
    assert_int_equal(sg_keyman_new(&c, time(NULL), why, sizeof why, &f->km), 0);
    assert_int_equal(sg_keyman_start(f->km), 0);
    /* the thread's first step comes a second after the start */
    for (int i = 0; i < 30000 && sg_keyman_zones_stepped(f->km) == 0; i++)
        usleep(200);
    assert_true(sg_keyman_zones_stepped(f->km) > 0);
    sg_keyman_stop(f->km);
    uint64_t n = sg_keyman_zones_stepped(f->km);
    assert_true(n < STOPPED);
    /* the thread is gone: nothing more is stepped */
    usleep(20000);
    assert_int_equal(sg_keyman_zones_stepped(f->km), n);
    free(apex);
    free(zones);
}

/* Another connection's write that says its zone (transfer's propagation row, its
 * secondaries fact) steps that zone only; every zone is looked at once
 * ZONE_WRITES_ALL_S (30 s) later in case another write hid behind it; a write that says
 * nothing (signetctl) still steps every zone at once. */
#define WRITERS 200
static void test_zone_write_steps_that_zone(void **state)
{
    fixture *f = *state;
    uint8_t (*apex)[SG_NAME_MAX] = NULL;
    const uint8_t **zones = zone_names(WRITERS, "w", &apex);
    sg_keyman_cfg c = { .keystore = f->path, .policy = "default", .zones = zones, .nzones = WRITERS };
    char why[512];
    assert_int_equal(sg_keyman_new(&c, T0, why, sizeof why, &f->km), 0);
    for (int s = 1; s < 5; s++)
        sg_keyman_step(f->km, T0 + s);
    uint64_t base = sg_keyman_zones_stepped(f->km);
    assert_true(base >= WRITERS);

    /* transfer: every secondary serves w7's new version */
    assert_int_equal(sg_ks_propagation_add(f->ks, "w7.km.test.", 2, T0 + 5, T0 + 5), 0);
    sg_keyman_step(f->km, T0 + 6);
    assert_int_equal(sg_keyman_zones_stepped(f->km), base + 1);
    /* transfer set up for w8 and w9: its secondaries fact */
    assert_int_equal(sg_ks_fact_observe(f->ks, "w8.km.test.", SG_KS_FACT_SECONDARIES, 2,
                                        "transfer notify", T0 + 7), 0);
    assert_int_equal(sg_ks_fact_observe(f->ks, "w9.km.test.", SG_KS_FACT_SECONDARIES, 2,
                                        "transfer notify", T0 + 7), 0);
    sg_keyman_step(f->km, T0 + 8);
    assert_int_equal(sg_keyman_zones_stepped(f->km), base + 3);
    for (int s = 9; s < 36; s++)
        sg_keyman_step(f->km, T0 + s);
    assert_int_equal(sg_keyman_zones_stepped(f->km), base + 3);
    /* the safety net: every zone once, 30 s after the first of those writes */
    sg_keyman_step(f->km, T0 + 36);
    assert_int_equal(sg_keyman_zones_stepped(f->km), base + 3 + WRITERS);

    /* signetctl zone roll w5: says nothing, so every zone at once */
    uint64_t before = sg_keyman_zones_stepped(f->km);
    int64_t id = 0;
    assert_int_equal(sg_roll_start(f->ks, "w5.km.test.", SG_KS_ROLE_CSK, T0 + 37, &id), 0);
    sg_keyman_step(f->km, T0 + 38);
    assert_true(sg_keyman_zones_stepped(f->km) >= before + WRITERS);
    assert_int_equal(sg_keyman_keys(f->km, 5)->dnskey.count, 2);
    free(apex);
    free(zones);
}

/* A first start writes zones and keys a batch of zones per transaction, and the first
 * step the served facts likewise (issue 17): every zone, across batch boundaries, has its
 * full key set and, after one step, both facts; a step after that writes nothing. */
#define BATCHED 600
static void test_first_start_in_batches(void **state)
{
    fixture *f = *state;
    uint8_t (*apex)[SG_NAME_MAX] = NULL;
    const uint8_t **zones = zone_names(BATCHED, "b", &apex);
    sg_keyman_cfg c = { .keystore = f->path, .policy = "default", .zones = zones, .nzones = BATCHED };
    char why[512];
    assert_int_equal(sg_keyman_new(&c, T0, why, sizeof why, &f->km), 0);
    for (int i = 0; i < BATCHED; i++)
        sg_keyman_served(f->km, i, 600 + (uint32_t)i);
    sg_keyman_step(f->km, T0 + 1);
    int64_t v0 = 0, v1 = 0;
    for (int i = 0; i < BATCHED; i++) {
        char name[64];
        snprintf(name, sizeof name, "b%d.km.test.", i);
        sg_ks_key *keys = NULL;
        size_t n = 0;
        assert_int_equal(sg_ks_key_list(f->ks, name, &keys, &n), 0);
        assert_true(n >= 1);
        free(keys);
        const sg_keyset *k = sg_keyman_keys(f->km, i);
        assert_non_null(k);
        assert_true(k->nzsk >= 1 && k->nksk >= 1);
        sg_ks_fact fact;
        assert_int_equal(sg_ks_fact_get(f->ks, name, SG_KS_FACT_ZONE_MAX_TTL, &fact), 0);
        assert_int_equal(fact.value, 600 + i);
        assert_int_equal(sg_ks_fact_get(f->ks, name, SG_KS_FACT_DNSKEY_TTL, &fact), 0);
        assert_int_equal(fact.value, k->dnskey.ttl);
    }
    /* nothing new served: the next steps record nothing */
    assert_int_equal(sg_ks_data_version(f->ks, &v0), 0);
    sg_keyman_step(f->km, T0 + 2);
    assert_int_equal(sg_ks_data_version(f->ks, &v1), 0);
    assert_true(v0 == v1);
    free(apex);
    free(zones);
}

/* What the signer serves becomes the engine's facts on the next step: the zone's largest
 * TTL (sg_keyman_served) and the DNSKEY RRset's TTL. */
static void test_served_ttls_become_facts(void **state)
{
    fixture *f = *state;
    make(f, T0);
    sg_ks_fact fact;
    assert_int_equal(sg_ks_fact_get(f->ks, ZONE, SG_KS_FACT_ZONE_MAX_TTL, &fact), SG_ENOTFOUND);
    sg_keyman_served(f->km, 0, 86400);
    sg_keyman_served(f->km, 7, 1); /* out of range: ignored */
    sg_keyman_step(f->km, T0 + 1);
    assert_int_equal(sg_ks_fact_get(f->ks, ZONE, SG_KS_FACT_ZONE_MAX_TTL, &fact), 0);
    assert_int_equal(fact.value, 86400);
    assert_string_equal(fact.source, "served zone");
    assert_int_equal(sg_ks_fact_get(f->ks, ZONE, SG_KS_FACT_DNSKEY_TTL, &fact), 0);
    assert_int_equal(fact.value, sg_keyman_keys(f->km, 0)->dnskey.ttl);
    assert_string_equal(fact.source, "served DNSKEY RRset");
}

/* The keystore replaced by another file under a running keyman (integ.keystore_gone):
 * the handle goes, the new file has not this zone, so the keys in use keep serving, the
 * epoch stays, and nothing gives the zone keys in the new file. */
static void test_keystore_replaced_keeps_keys(void **state)
{
    fixture *f = *state;
    make(f, T0);
    sg_keyman_step(f->km, T0 + 1); /* the step's own keystore handle is open now */
    const sg_keyset *before = sg_keyman_keys(f->km, 0);
    uint64_t epoch = sg_keyman_epoch(f->km);

    /* another keystore put in its place, as an operator restores one: the file renamed
     * over the path, the old file's -wal and -shm removed (SQLite does not checkpoint a
     * moved database when closing it, so a -wal left behind would carry the old keys) */
    sg_ks_free(f->ks);
    f->ks = NULL;
    char other[160], side[160];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    sg_keystore *o = NULL;
    assert_int_equal(sg_ks_new(other, "test", &o), 0);
    sg_ks_free(o);
    assert_int_equal(rename(other, f->path), 0);
    snprintf(side, sizeof side, "%s-wal", f->path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", f->path);
    unlink(side);

    for (int s = 2; s < 5; s++)
        sg_keyman_step(f->km, T0 + s);
    assert_ptr_equal(sg_keyman_keys(f->km, 0), before);
    assert_int_equal(sg_keyman_epoch(f->km), epoch);
    assert_int_equal(before->dnskey.count, 1);
    assert_int_equal(before->nzsk, 1);
    assert_int_equal(sg_ks_open_existing(f->path, "test", &f->ks), 0);
    assert_int_equal(count_keys(f->ks), 0);
    sg_ks_zone z;
    assert_int_equal(sg_ks_zone_get(f->ks, ZONE, &z), SG_ENOTFOUND);
}

/* The keystore moved away: no empty keystore is made at the path and the keys keep
 * serving; moved back, the next step reads it again, and a change made then is picked up
 * by the step after. */
/* Moved away between the setup and the thread's first step (the setup's handle is closed
 * by then): the step must not make a new empty keystore at the path, whose empty key
 * table would have the engine make keys that no DS matches. */
static void test_keystore_gone_before_first_step(void **state)
{
    fixture *f = *state;
    make(f, T0);
    const sg_keyset *before = sg_keyman_keys(f->km, 0);
    sg_ks_free(f->ks);
    f->ks = NULL;
    char away[160];
    snprintf(away, sizeof away, "%s/away.db", f->dir);
    assert_int_equal(rename(f->path, away), 0);
    sg_keyman_step(f->km, T0 + 1);
    sg_keyman_step(f->km, T0 + 2);
    assert_int_not_equal(access(f->path, F_OK), 0); /* no new empty keystore */
    assert_ptr_equal(sg_keyman_keys(f->km, 0), before);
    assert_int_equal(rename(away, f->path), 0);
    sg_keyman_step(f->km, T0 + 3);
    assert_ptr_equal(sg_keyman_keys(f->km, 0), before);
    assert_int_equal(sg_ks_open_existing(f->path, "test", &f->ks), 0);
    assert_int_equal(count_keys(f->ks), 1);
}

static void test_keystore_gone_and_back(void **state)
{
    fixture *f = *state;
    make(f, T0);
    sg_keyman_step(f->km, T0 + 1);
    const sg_keyset *before = sg_keyman_keys(f->km, 0);
    sg_ks_free(f->ks); /* the operator's handle, so that only the keyman has the file */
    f->ks = NULL;

    char away[160];
    snprintf(away, sizeof away, "%s/away.db", f->dir);
    assert_int_equal(rename(f->path, away), 0);
    sg_keyman_step(f->km, T0 + 2);
    sg_keyman_step(f->km, T0 + 3);
    assert_int_not_equal(access(f->path, F_OK), 0); /* no new empty keystore */
    assert_ptr_equal(sg_keyman_keys(f->km, 0), before);
    assert_int_equal(sg_keyman_epoch(f->km), 0);

    /* restored (its -wal is still beside the path: nothing was checkpointed meanwhile) */
    assert_int_equal(rename(away, f->path), 0);
    sg_keyman_step(f->km, T0 + 4);
    assert_ptr_equal(sg_keyman_keys(f->km, 0), before);
    assert_int_equal(sg_ks_open_existing(f->path, "test", &f->ks), 0);
    assert_int_equal(count_keys(f->ks), 1);
    assert_int_equal(sg_roll_start(f->ks, ZONE, SG_KS_ROLE_CSK, T0 + 5, NULL), 0);
    sg_keyman_step(f->km, T0 + 6);
    const sg_keyset *after = sg_keyman_keys(f->km, 0);
    assert_ptr_not_equal(after, before);
    assert_int_equal(after->dnskey.count, 2);
    assert_int_equal(sg_keyman_epoch(f->km), 1);
}

/* A keystore that cannot be opened and a policy the keystore lacks: the messages the
 * dnssec plugin puts after "dnssec: " at the config line. */
static void test_new_errors(void **state)
{
    fixture *f = *state;
    char why[512];
    sg_keyman_cfg c = cfg_of(f, "default");
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/ks.db", f->dir);
    c.keystore = bad;
    sg_keyman *km = (sg_keyman *)1;
    assert_int_not_equal(sg_keyman_new(&c, T0, why, sizeof why, &km), 0);
    assert_null(km);
    char want[300];
    snprintf(want, sizeof want, "cannot open keystore %s: ", bad);
    assert_memory_equal(why, want, strlen(want));

    c = cfg_of(f, "no-such-policy");
    assert_int_not_equal(sg_keyman_new(&c, T0, why, sizeof why, &km), 0);
    assert_null(km);
    assert_memory_equal(why, "zone " ZONE ": ", strlen("zone " ZONE ": "));
    assert_int_equal(count_keys(f->ks), 0); /* a refused config makes no key */

    /* a registrar whose credentials are not there */
    sg_reg_cfg reg;
    memset(&reg, 0, sizeof reg);
    snprintf(reg.provider, sizeof reg.provider, "porkbun");
    snprintf(reg.credentials, sizeof reg.credentials, "%s/no-such.cred", f->dir);
    c = cfg_of(f, "default");
    c.registrar = &reg;
    assert_int_equal(sg_keyman_new(&c, T0, why, sizeof why, &km), SG_REG_ECRED);
    assert_null(km);
    snprintf(want, sizeof want, "zone " ZONE ": registrar porkbun: %s", sg_strerror(SG_REG_ECRED));
    assert_string_equal(why, want);

    assert_int_equal(sg_keyman_new(NULL, T0, why, sizeof why, &km), SG_EINVAL);
}

static char *scrape(sg_keyman *km);

/* A manual registrar confirms nothing at the parent (the parent-checks fact says so, as
 * without one); one that checks the parent is recorded with its provider's name. */
static void test_parent_checks_fact(void **state)
{
    fixture *f = *state;
    sg_reg_cfg reg;
    memset(&reg, 0, sizeof reg);
    snprintf(reg.provider, sizeof reg.provider, "manual");
    sg_keyman_cfg c = cfg_of(f, "default");
    c.registrar = &reg;
    char why[512];
    assert_int_equal(sg_keyman_new(&c, T0, why, sizeof why, &f->km), 0);
    sg_ks_fact fact;
    assert_int_equal(sg_ks_fact_get(f->ks, ZONE, SG_KS_FACT_PARENT_CHECKS, &fact), 0);
    assert_int_equal(fact.value, 0);
    assert_string_equal(fact.source, "no registrar");
    /* the registrar has something to say once a DS is submitted (before that it keeps
     * quiet: an empty set is never announced for a zone that is not being unsigned) */
    sg_ks_key *keys = NULL;
    size_t n = 0;
    assert_int_equal(sg_ks_key_list(f->ks, ZONE, &keys, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (keys[i].role != SG_KS_ROLE_ZSK) {
            keys[i].ds_submitted = T0;
            assert_int_equal(sg_ks_key_update(f->ks, &keys[i], "test", T0), 0);
        }
    free(keys);
    sg_keyman_step(f->km, T0 + 1); /* the registrar's tick runs with the step */
    char *m = scrape(f->km);
    assert_non_null(strstr(m, "signet_registrar_events_total{zone=\"" ZONE "\",provider=\"manual\""));
    free(m);
}

static int scrape_keyman(sg_metrics_out *out, void *ctx) { return sg_keyman_metrics(ctx, out); }

static char *scrape(sg_keyman *km)
{
    assert_int_equal(sg_metrics_register(scrape_keyman, km), 0);
    sg_buf b;
    sg_buf_init(&b);
    assert_int_equal(sg_metrics_render(&b), 0);
    sg_metrics_unregister(scrape_keyman, km);
    char *s = strdup(b.data ? b.data : "");
    sg_buf_deinit(&b);
    return s;
}

/* A scrape shows nothing of a zone before its first step, then its keys by role and state
 * and where its DS is, from what the step read. */
static void test_metrics_after_step(void **state)
{
    fixture *f = *state;
    make(f, T0);
    char *s = scrape(f->km);
    assert_null(strstr(s, "signet_dnssec_keys{"));
    free(s);
    sg_keyman_step(f->km, T0 + 1);
    s = scrape(f->km);
    assert_non_null(strstr(s, "# TYPE signet_dnssec_keys gauge\n"));
    assert_non_null(strstr(s, "signet_dnssec_keys{zone=\"" ZONE "\",role=\"csk\",state=\"active\"} 1\n"));
    assert_non_null(strstr(s, "signet_dnssec_parent_ds{zone=\"" ZONE "\",state=\"submitted\"} 0\n"));
    assert_null(strstr(s, "signet_registrar_events_total{")); /* no registrar */
    free(s);
}

/* Is a thread of this process named name? */
static int thread_named(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        char p[300], comm[32] = "";
        snprintf(p, sizeof p, "/proc/self/task/%s/comm", e->d_name);
        FILE *fp = fopen(p, "r");
        if (fp && fgets(comm, sizeof comm, fp))
            found = !strncmp(comm, name, strlen(name)) && comm[strlen(name)] == '\n';
        if (fp)
            fclose(fp);
    }
    closedir(d);
    return found;
}

/* The thread (sg-dnssec) steps once a second on the real clock: a rollover started by
 * the operator is in the served key set within a few seconds; stop ends the thread. */
static void test_thread_follows_keystore(void **state)
{
    fixture *f = *state;
    int64_t now = (int64_t)time(NULL);
    make(f, now);
    assert_int_equal(sg_keyman_start(f->km), 0);
    assert_true(thread_named("sg-dnssec"));
    assert_int_equal(sg_roll_start(f->ks, ZONE, SG_KS_ROLE_CSK, now, NULL), 0);
    for (int i = 0; i < 100 && sg_keyman_epoch(f->km) == 0; i++)
        usleep(50 * 1000);
    assert_int_equal(sg_keyman_epoch(f->km), 1);
    assert_int_equal(sg_keyman_keys(f->km, 0)->dnskey.count, 2);
    sg_keyman_stop(f->km);
    assert_false(thread_named("sg-dnssec"));
}

/* Issue 17: a dynamic keyman's zones are the keystore's served zones inside the block's
 * zones (scopes), followed at each step: keys made for a zone added with a file, a zone
 * unserved dropped (its keys stay in the keystore), zones outside the scopes and zones
 * without a file never taken. */
static void test_dynamic_follows_served_zones(void **state)
{
    fixture *f = *state;
    uint8_t scope[SG_NAME_MAX], a[SG_NAME_MAX], b[SG_NAME_MAX], c[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str("test.", NULL, scope), 0);
    assert_int_equal(sg_name_from_str("A.Test.", NULL, a), 0);
    assert_int_equal(sg_name_from_str("b.test.", NULL, b), 0);
    assert_int_equal(sg_name_from_str("c.other.", NULL, c), 0);
    assert_int_equal(sg_ks_zone_add(f->ks, "a.test", NULL, T0), 0);
    assert_int_equal(sg_ks_zone_set_file(f->ks, "a.test", "/z/a", T0), 0);
    assert_int_equal(sg_ks_zone_add(f->ks, "b.test", NULL, T0), 0);
    assert_int_equal(sg_ks_zone_add(f->ks, "c.other", NULL, T0), 0);
    assert_int_equal(sg_ks_zone_set_file(f->ks, "c.other", "/z/c", T0), 0);
    const uint8_t *zones[] = { scope };
    sg_keyman_cfg cfg = { .keystore = f->path, .policy = "default", .zones = zones,
                          .nzones = 1, .dynamic = 1 };
    char why[512];
    assert_int_equal(sg_keyman_new(&cfg, T0, why, sizeof why, &f->km), 0);
    assert_int_equal(sg_keyman_nzones(f->km), 1);
    assert_null(sg_keyman_find(f->km, scope)); /* a scope is not a zone: no keys for it */
    sg_keyman_zone *za = sg_keyman_find(f->km, a);
    assert_non_null(za);
    assert_non_null(sg_keyman_zone_keys(za));
    assert_int_equal(sg_keyman_zone_keys(za)->nzsk, 1);
    assert_null(sg_keyman_find(f->km, b));
    assert_null(sg_keyman_find(f->km, c));
    uint64_t e0 = sg_keyman_epoch(f->km);
    /* b.test served: keys made by the step, a new epoch */
    assert_int_equal(sg_ks_zone_set_file(f->ks, "b.test", "/z/b", T0 + 1), 0);
    sg_keyman_step(f->km, T0 + 1);
    assert_int_equal(sg_keyman_nzones(f->km), 2);
    sg_keyman_zone *zb = sg_keyman_find(f->km, b);
    assert_non_null(zb);
    assert_non_null(sg_keyman_zone_keys(zb));
    assert_ptr_equal(sg_keyman_find(f->km, a), za); /* a kept, not made again */
    assert_true(sg_keyman_epoch(f->km) > e0);
    sg_keyman_zone_served(zb, 3600);
    sg_keyman_step(f->km, T0 + 2);
    sg_ks_fact fact;
    assert_int_equal(sg_ks_fact_get(f->ks, "b.test.", SG_KS_FACT_ZONE_MAX_TTL, &fact), 0);
    assert_int_equal(fact.value, 3600);
    /* a.test unserved: gone from the keyman, its keys kept */
    assert_int_equal(sg_ks_zone_set_file(f->ks, "a.test", "", T0 + 3), 0);
    sg_keyman_step(f->km, T0 + 3);
    assert_null(sg_keyman_find(f->km, a));
    assert_int_equal(sg_keyman_nzones(f->km), 1);
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(f->ks, "a.test", &keys, &n), 0);
    assert_int_equal(n, 1);
    free(keys);
}

/* The due heap with zones at run time: a zone the keyman starts following is looked at by
 * the next step, the hook and wakes take the zone's handle, and a zone dropped (unserved)
 * leaves the heap with its table: woken afterwards, it is never stepped nor handed to the
 * hook. */
static int g_changes;
static const sg_keyman_zone *g_changed;
static void count_changes(void *arg, sg_keyman_zone *z, const sg_keyset *k, const sg_keyset *cur,
                          int published)
{
    (void)arg;
    (void)k;
    (void)cur;
    (void)published;
    g_changes++;
    g_changed = z;
}

static void test_dynamic_heap_follows_zones(void **state)
{
    fixture *f = *state;
    uint8_t scope[SG_NAME_MAX], a[SG_NAME_MAX], b[SG_NAME_MAX];
    assert_int_equal(sg_name_from_str("test.", NULL, scope), 0);
    assert_int_equal(sg_name_from_str("a.test.", NULL, a), 0);
    assert_int_equal(sg_name_from_str("b.test.", NULL, b), 0);
    assert_int_equal(sg_ks_zone_add(f->ks, "a.test", NULL, T0), 0);
    assert_int_equal(sg_ks_zone_set_file(f->ks, "a.test", "/z/a", T0), 0);
    assert_int_equal(sg_ks_zone_add(f->ks, "b.test", NULL, T0), 0);
    const uint8_t *zones[] = { scope };
    sg_keyman_cfg cfg = { .keystore = f->path, .policy = "default", .zones = zones,
                          .nzones = 1, .dynamic = 1, .keys_changing = count_changes };
    char why[512];
    assert_int_equal(sg_keyman_new(&cfg, T0, why, sizeof why, &f->km), 0);
    sg_keyman_step(f->km, T0 + 1);
    assert_int_equal(sg_keyman_zones_stepped(f->km), 1);
    sg_keyman_step(f->km, T0 + 2);
    assert_int_equal(sg_keyman_zones_stepped(f->km), 1); /* idle */
    sg_keyman_zone *za = sg_keyman_find(f->km, a);
    assert_non_null(za);
    assert_true(sg_name_eq(sg_keyman_zone_apex(za), a));
    /* woken: the hook gets the zone's handle, and only that zone is looked at */
    g_changes = 0;
    sg_keyman_wake_zone(za);
    sg_keyman_step(f->km, T0 + 3);
    assert_int_equal(g_changes, 1);
    assert_ptr_equal(g_changed, za);
    assert_int_equal(sg_keyman_zones_stepped(f->km), 2);
    /* b.test served: in the heap, looked at by the step that follows it */
    assert_int_equal(sg_ks_zone_set_file(f->ks, "b.test", "/z/b", T0 + 4), 0);
    uint64_t before = sg_keyman_zones_stepped(f->km);
    sg_keyman_step(f->km, T0 + 4);
    sg_keyman_zone *zb = sg_keyman_find(f->km, b);
    assert_non_null(zb);
    assert_true(sg_keyman_zones_stepped(f->km) >= before + 1);
    sg_keyman_step(f->km, T0 + 5);
    before = sg_keyman_zones_stepped(f->km);
    sg_keyman_step(f->km, T0 + 6);
    assert_int_equal(sg_keyman_zones_stepped(f->km), before); /* idle again */
    /* a.test unserved: dropped from the table and the heap; a wake through a handle kept
     * from before (a query in flight) touches nothing */
    assert_int_equal(sg_ks_zone_set_file(f->ks, "a.test", "", T0 + 7), 0);
    sg_keyman_step(f->km, T0 + 7);
    assert_null(sg_keyman_find(f->km, a));
    sg_keyman_step(f->km, T0 + 8);
    before = sg_keyman_zones_stepped(f->km);
    g_changes = 0;
    sg_keyman_wake_zone(za); /* retired, not freed: still readable for the grace period */
    sg_keyman_step(f->km, T0 + 9);
    assert_int_equal(g_changes, 0);
    assert_int_equal(sg_keyman_zones_stepped(f->km), before);
    /* the zone left is stepped as before */
    sg_keyman_wake_zone(zb);
    sg_keyman_step(f->km, T0 + 10);
    assert_int_equal(g_changes, 1);
    assert_ptr_equal(g_changed, zb);
    assert_int_equal(sg_keyman_zones_stepped(f->km), before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_gives_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_picks_up_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_served_ttls_become_facts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keystore_replaced_keeps_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keystore_gone_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keystore_gone_before_first_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_checks_fact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_after_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_follows_keystore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_step_touches_no_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_ends_first_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_start_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zone_write_steps_that_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamic_follows_served_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dynamic_heap_follows_zones, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
