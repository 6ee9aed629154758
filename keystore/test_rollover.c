/* SPDX-License-Identifier: MIT */
/* The rollover engine on a simulated clock: ZSK pre-publication, CSK/KSK rollovers that
 * wait for the parent, removal after caches expire, plan == what the engine then does;
 * the transition table alone on hand-made keys; the plan cannot drift from the engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keystore/rollover.h"
#include "common/errors.h"
#include "common/log.h"
#include "tests/support/temp_keystore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];
static sg_keystore *g_ks;
static const sg_roll_figures FIG = { .max_ttl = 599 };

static int setup(void **st)
{
    (void)st;
    sg_log_set_level(SG_LOG_WARN);
    return sg_test_keystore_open("roll", g_dir, sizeof g_dir, &g_ks);
}

static int teardown(void **st)
{
    (void)st;
    return sg_test_keystore_close(g_ks, g_dir);
}

/* A policy with short, distinct figures so that each interval is recognisable. */
static void policy(const char *name, int csk, uint32_t zsk_life, uint32_t ksk_life)
{
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, name);
    p.csk = csk;
    p.zsk_lifetime = zsk_life;
    p.ksk_lifetime = ksk_life;
    p.dnskey_ttl = 99;                /* ipub = 99 + 10 + 1 (whole-second margin) = 110 */
    p.zone_propagation_delay = 10;
    p.zone_max_ttl = 0;               /* from the figures: 599, zsk_gone = 599 + 10 + 1 = 610 */
    p.parent_ds_ttl = 299;            /* ds_wait = 299 + 20 + 1 = 320 */
    p.parent_propagation_delay = 20;
    p.sig_validity = 3600;
    p.sig_refresh = 600;
    p.sig_jitter = 0;
    assert_int_equal(sg_ks_policy_add(g_ks, &p, 0), 0);
}

/* The zone's keys of this role (or any role, when role < 0) and this algorithm (or any,
 * when alg is 0) that are published at now - or, with signing, that sign at now. */
static int count_keys(const char *zone, int role, uint8_t alg, int64_t now, int signing)
{
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(g_ks, zone, &keys, &n), 0);
    int c = 0;
    for (size_t i = 0; i < n; i++) {
        const sg_ks_key *k = &keys[i];
        if ((role >= 0 && (int)k->role != role) || (alg && k->algorithm != alg))
            continue;
        int pub = k->publish && k->publish <= now && !(k->remove && k->remove <= now);
        int act = k->active && k->active <= now && !(k->retire && k->retire <= now);
        c += signing ? act : pub;
    }
    free(keys);
    return c;
}

static int count(const char *zone, enum sg_ks_role role, int64_t now, int signing)
{
    return count_keys(zone, (int)role, 0, now, signing);
}

static sg_roll_event step(const char *zone, int64_t now)
{
    sg_roll_event ev;
    assert_int_equal(sg_roll_step(g_ks, zone, &FIG, now, &ev), 0);
    return ev;
}

static void test_zsk_prepublication(void **st)
{
    (void)st;
    const char *z = "zsk.test.";
    policy("pzsk", 0, 1000, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pzsk", 0), 0);
    int64_t t0 = 1000000;
    sg_roll_event ev = step(z, t0);
    /* initial: one KSK and one ZSK sign at once; the KSK's DS goes out after ipub */
    assert_int_equal(count(z, SG_KS_ROLE_KSK, t0, 1), 1);
    assert_int_equal(count(z, SG_KS_ROLE_ZSK, t0, 1), 1);
    assert_int_equal(ev.action, SG_ROLL_SUBMIT_DS);
    assert_int_equal(ev.when, t0 + 110);
    ev = step(z, t0 + 110);
    /* next: the ZSK's successor, ipub before the end of its life */
    assert_int_equal(ev.action, SG_ROLL_PREPUBLISH);
    assert_int_equal(ev.when, t0 + 1000 - 110);
    assert_int_equal(step(z, t0 + 889).action, SG_ROLL_PREPUBLISH); /* not a second early */
    assert_int_equal(count(z, SG_KS_ROLE_ZSK, t0 + 889, 0), 1);
    ev = step(z, t0 + 890);
    assert_int_equal(count(z, SG_KS_ROLE_ZSK, t0 + 890, 0), 2);      /* both published */
    assert_int_equal(count(z, SG_KS_ROLE_ZSK, t0 + 890, 1), 1);      /* one signs */
    assert_int_equal(ev.action, SG_ROLL_SWITCH);
    assert_int_equal(ev.when, t0 + 890 + 110);
    ev = step(z, t0 + 1000);
    assert_int_equal(count(z, SG_KS_ROLE_ZSK, t0 + 1000, 1), 1);
    assert_int_equal(ev.action, SG_ROLL_REMOVE);                    /* the old one, later */
    assert_int_equal(ev.when, t0 + 1000 + 610);
    ev = step(z, t0 + 1610);
    assert_int_equal(count(z, SG_KS_ROLE_ZSK, t0 + 1610, 0), 1);
    /* and the next rollover is already planned: successor at 1000 + 1000 - 110 */
    assert_int_equal(ev.action, SG_ROLL_PREPUBLISH);
    assert_int_equal(ev.when, t0 + 1890);
}

static void test_csk_waits_for_parent(void **st)
{
    (void)st;
    const char *z = "csk.test.";
    policy("pcsk", 1, 0, 2000);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pcsk", 0), 0);
    int64_t t0 = 2000000;
    step(z, t0);
    step(z, t0 + 110);                       /* DS submitted */
    sg_roll_event ev = step(z, t0 + 1890);   /* lifetime - ipub: successor published */
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0 + 1890, 0), 2);
    assert_int_equal(ev.action, SG_ROLL_SUBMIT_DS);
    ev = step(z, t0 + 2000);
    assert_int_equal(ev.action, SG_ROLL_WAIT);
    assert_non_null(strstr(ev.reason, "waiting for the parent"));
    /* the parent never shows the DS: months later the old key still signs */
    ev = step(z, t0 + 100 * 86400);
    assert_int_equal(ev.action, SG_ROLL_WAIT);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0 + 100 * 86400, 1), 1);
    sg_ks_key *keys;
    size_t n;
    sg_ks_key_list(g_ks, z, &keys, &n);
    int64_t old_id = keys[0].id;
    free(keys);
    /* the parent shows it: switch after its DS TTL and propagation, not before */
    int64_t seen = t0 + 100 * 86400 + 5;
    int marked = 0;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, seen, &marked), 0);
    assert_int_equal(marked, 2); /* the old key's DS and the new one */
    ev = step(z, seen + 319);
    assert_int_equal(ev.action, SG_ROLL_SWITCH);
    assert_int_equal(ev.when, seen + 320);
    ev = step(z, seen + 320);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, seen + 320, 1), 1);
    sg_ks_key old;
    assert_int_equal(sg_ks_key_get(g_ks, old_id, &old), 0);
    assert_int_equal(old.retire, seen + 320);
    /* removed once both its DS and its signatures are gone from caches */
    assert_int_equal(ev.action, SG_ROLL_REMOVE);
    assert_int_equal(ev.when, seen + 320 + 610);
}

/* The plan is what the engine then does, event for event. */
static void test_plan_matches_engine(void **st)
{
    (void)st;
    const char *z = "plan.test.";
    policy("pplan", 0, 3000, 5000);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pplan", 0), 0);
    int64_t t0 = 3000000, until = t0 + 12000;
    sg_roll_event *plan;
    size_t np;
    assert_int_equal(sg_roll_plan(g_ks, z, &FIG, t0, until, &plan, &np), 0);
    assert_true(np >= 8);
    /* run the engine second by second, telling it the parent saw each DS at once */
    size_t done = 0;
    for (int64_t t = t0; t <= until && done < np; t++) {
        sg_roll_event ev;
        do {
            assert_int_equal(sg_roll_step(g_ks, z, &FIG, t, &ev), 0);
            int marked = 0;
            if (ev.action == SG_ROLL_WAIT || ev.wait_key_id)
                assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t, &marked), 0);
            if (!marked)
                break;
        } while (1);
        sg_ks_event *evs;
        size_t ne;
        assert_int_equal(sg_ks_event_list(g_ks, z, &evs, &ne), 0);
        free(evs);
        /* compare by counting engine transitions through the plan's times */
        while (done < np && plan[done].when <= t)
            done++;
    }
    assert_int_equal(done, np);
    /* the stored history has the planned transitions at the planned times */
    sg_ks_event *evs;
    size_t ne;
    assert_int_equal(sg_ks_event_list(g_ks, z, &evs, &ne), 0);
    for (size_t i = 0; i < np; i++) {
        if (plan[i].action == SG_ROLL_WAIT)
            continue;
        /* the same moment, the same kind of step (tags of keys not yet made are unknown
         * to the plan, which names them "(new)": the reasons are compared up to the first
         * key tag or "(new)") */
        size_t cmp = strcspn(plan[i].reason, "0123456789(");
        int found = 0;
        for (size_t j = 0; j < ne && !found; j++)
            found = evs[j].time == plan[i].when && !strncmp(evs[j].reason, plan[i].reason, cmp);
        if (!found)
            fail_msg("planned '%s' at %lld not done", plan[i].reason, (long long)plan[i].when);
    }
    free(evs);
    free(plan);
}

/* RFC 6781 4.1.4: signatures first, then keys, then the DS, then the old ones go. */
static int count_alg(const char *zone, uint8_t alg, int64_t now, int signing)
{
    return count_keys(zone, -1, alg, now, signing);
}

static void test_algorithm_rollover(void **st)
{
    (void)st;
    const char *z = "alg.test.";
    policy("palg", 1, 0, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "palg", 0), 0);
    int64_t t0 = 4000000;
    step(z, t0);
    step(z, t0 + 110);
    int marked;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t0 + 200, &marked), 0);
    assert_int_equal(step(z, t0 + 300).action, SG_ROLL_NONE);
    /* the operator switches the policy to Ed25519 */
    sg_ks_policy p;
    assert_int_equal(sg_ks_policy_get(g_ks, "palg", &p), 0);
    p.algorithm = SG_KS_ALG_ED25519;
    assert_int_equal(sg_ks_policy_update(g_ks, &p, t0 + 1000), 0);
    int64_t t1 = t0 + 1000;
    sg_roll_event ev = step(z, t1);
    /* new signatures first: Ed25519 signs, unpublished; ECDSA still signs and is published */
    assert_int_equal(count_alg(z, 15, t1, 1), 1);
    assert_int_equal(count_alg(z, 15, t1, 0), 0);
    assert_int_equal(count_alg(z, 13, t1, 1), 1);
    assert_int_equal(ev.action, SG_ROLL_ALG_PUBLISH);
    assert_int_equal(ev.when, t1 + 610);
    ev = step(z, t1 + 610);
    assert_int_equal(count_alg(z, 15, t1 + 610, 0), 1);
    assert_int_equal(ev.action, SG_ROLL_SUBMIT_DS);
    assert_int_equal(ev.when, t1 + 720);
    ev = step(z, t1 + 720);
    assert_int_equal(ev.action, SG_ROLL_WAIT);
    assert_int_equal(step(z, t1 + 5000).action, SG_ROLL_WAIT);    /* the parent is slow */
    assert_int_equal(count_alg(z, 13, t1 + 5000, 1), 1);            /* nothing old goes */
    int64_t seen = t1 + 5000;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, seen, &marked), 0);
    assert_int_equal(marked, 1);
    ev = step(z, seen);
    assert_int_equal(ev.action, SG_ROLL_ALG_WITHDRAW);
    assert_int_equal(ev.when, seen + 320);
    ev = step(z, seen + 320);
    assert_int_equal(count_alg(z, 13, seen + 320, 0), 1);           /* still published */
    assert_int_equal(ev.action, SG_ROLL_ALG_UNPUBLISH);
    assert_int_equal(ev.when, seen + 640);
    ev = step(z, seen + 640);
    assert_int_equal(count_alg(z, 13, seen + 640, 0), 0);           /* out of DNSKEY */
    assert_int_equal(count_alg(z, 13, seen + 640, 1), 1);           /* still signing */
    assert_int_equal(ev.action, SG_ROLL_ALG_RETIRE);
    assert_int_equal(ev.when, seen + 750);
    ev = step(z, seen + 750);
    assert_int_equal(count_alg(z, 13, seen + 750, 1), 0);
    assert_int_equal(count_alg(z, 15, seen + 750, 1), 1);
    assert_int_equal(count_alg(z, 15, seen + 750, 0), 1);
    assert_int_equal(ev.action, SG_ROLL_NONE);
}

/* Going insecure: DS withdrawn first, signing stops only after the parent's DS is gone
 * and its TTL has passed, and no new key is ever made for an unsigned zone. */
static void test_unsign(void **st)
{
    (void)st;
    const char *z = "unsign.test.";
    policy("punsign", 1, 0, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "punsign", 0), 0);
    int64_t t0 = 5000000;
    step(z, t0);
    step(z, t0 + 110);
    int marked;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t0 + 200, &marked), 0);
    assert_int_equal(sg_roll_ds_gone(g_ks, z, t0 + 250), SG_EINVAL); /* not unsigning */
    assert_int_equal(sg_roll_unsign(g_ks, z, t0 + 300), 0);
    sg_roll_event ev = step(z, t0 + 300);
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    assert_int_equal(keys[0].ds_withdrawn, t0 + 300);
    free(keys);
    assert_int_equal(ev.action, SG_ROLL_WAIT);                       /* for the parent */
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0 + 9000, 1), 1);    /* still signing */
    assert_int_equal(step(z, t0 + 9000).action, SG_ROLL_WAIT);
    assert_int_equal(sg_roll_ds_gone(g_ks, z, t0 + 9000), 0);
    ev = step(z, t0 + 9000);
    assert_int_equal(ev.action, SG_ROLL_UNSIGN_FINISH);
    assert_int_equal(ev.when, t0 + 9000 + 320);
    ev = step(z, t0 + 9320);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0 + 9320, 1), 0);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0 + 9320, 0), 0);
    sg_ks_zone zr;
    assert_int_equal(sg_ks_zone_get(g_ks, z, &zr), 0);
    assert_string_equal(zr.state, SG_ROLL_STATE_UNSIGNED);
    assert_int_equal(step(z, t0 + 20000).action, SG_ROLL_NONE);     /* no new key */
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0 + 20000, 1), 0);
}

/* RFC 7583 3.3.2 double-DS: the new DS first, then the DNSKEY swap, then the old DS goes. */
static void test_double_ds(void **st)
{
    (void)st;
    const char *z = "dds.test.";
    sg_ks_policy p;
    policy("pdds", 0, 0, 2000);
    assert_int_equal(sg_ks_policy_get(g_ks, "pdds", &p), 0);
    p.ksk_double_ds = 1;
    assert_int_equal(sg_ks_policy_update(g_ks, &p, 0), 0);
    assert_int_equal(sg_ks_policy_get(g_ks, "pdds", &p), 0);
    assert_int_equal(p.ksk_double_ds, 1);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pdds", 0), 0);
    int64_t t0 = 6000000;
    step(z, t0);
    step(z, t0 + 110);                                  /* first KSK's DS submitted */
    int marked;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t0 + 150, &marked), 0);
    sg_roll_event ev = step(z, t0 + 1890);              /* lifetime - ipub */
    /* the successor's DS is out, the key itself is not published */
    assert_int_equal(count(z, SG_KS_ROLE_KSK, t0 + 1890, 0), 1);
    sg_ks_key *keys;
    size_t n, in_ds = 0;
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    for (size_t i = 0; i < n; i++)
        in_ds += (size_t)sg_ks_key_in_ds_set(&keys[i], t0 + 1890);
    free(keys);
    assert_int_equal(in_ds, 2);
    assert_int_equal(ev.action, SG_ROLL_WAIT);
    assert_int_equal(step(z, t0 + 9000).action, SG_ROLL_WAIT);  /* the parent is slow */
    assert_int_equal(count(z, SG_KS_ROLE_KSK, t0 + 9000, 1), 1);
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t0 + 9000, &marked), 0);
    ev = step(z, t0 + 9000);
    assert_int_equal(ev.action, SG_ROLL_SWAP);
    assert_int_equal(ev.when, t0 + 9320);
    ev = step(z, t0 + 9320);
    /* swapped: only the new KSK is published; the old one retires with its DS */
    assert_int_equal(count(z, SG_KS_ROLE_KSK, t0 + 9320, 0), 1);
    assert_int_equal(count(z, SG_KS_ROLE_KSK, t0 + 9320, 1), 2);
    assert_int_equal(ev.action, SG_ROLL_OLD_DS_OUT);
    assert_int_equal(ev.when, t0 + 9320 + 110);
    ev = step(z, t0 + 9430);
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    in_ds = 0;
    for (size_t i = 0; i < n; i++)
        in_ds += (size_t)sg_ks_key_in_ds_set(&keys[i], t0 + 9430);
    free(keys);
    assert_int_equal(in_ds, 1);
    assert_int_equal(count(z, SG_KS_ROLE_KSK, t0 + 9430, 1), 1);
}

/* A fact that went down is kept until caches can no longer hold the old value. */
static void test_fact_decay(void **st)
{
    (void)st;
    const char *z = "facts.test.";
    sg_ks_fact f;
    assert_int_equal(sg_ks_fact_get(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, &f), SG_ENOTFOUND);
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, 3600, "192.0.2.1:53", 100), 0);
    /* the same value again writes nothing: its `since` stays */
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, 3600, "192.0.2.2:53", 200), 0);
    assert_int_equal(sg_ks_fact_get(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, &f), 0);
    assert_int_equal(f.since, 100);
    assert_string_equal(f.source, "192.0.2.1:53");
    /* down to 60 at 1000: a cache may have fetched the 3600 at 999 */
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, 60, "192.0.2.3:53", 1000), 0);
    assert_int_equal(sg_ks_fact_get(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, &f), 0);
    const char *src = NULL;
    assert_int_equal(sg_ks_fact_effective(&f, 1000, &src), 3600);
    assert_string_equal(src, "192.0.2.1:53");
    assert_int_equal(sg_ks_fact_effective(&f, 4599, NULL), 3600);
    assert_int_equal(sg_ks_fact_effective(&f, 4600, &src), 60);
    assert_string_equal(src, "192.0.2.3:53");
    /* up to 300 at 2000, then down to 10 at 2100: the 3600 still rules until 4600, the
     * 300 is merged in (the larger value, the later end) */
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, 300, "a", 2000), 0);
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, 10, "b", 2100), 0);
    assert_int_equal(sg_ks_fact_get(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, &f), 0);
    assert_int_equal(sg_ks_fact_effective(&f, 4599, NULL), 3600);
    assert_int_equal(sg_ks_fact_effective(&f, 4600, NULL), 10);
    /* facts of another zone are another zone's */
    assert_int_equal(sg_ks_fact_get(g_ks, "other.test.", SG_KS_FACT_PARENT_DS_TTL, &f), SG_ENOTFOUND);
}

/* The parent serves the DS with a longer TTL than the policy says: the switch waits for
 * the observed TTL (issue 13: a fixed 3600 at the parent and a 5 s policy went bogus). */
static void test_observed_ds_ttl_rules(void **st)
{
    (void)st;
    const char *z = "obs.test.";
    policy("pobs", 1, 0, 2000);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pobs", 0), 0);
    int64_t t0 = 3000000;
    step(z, t0);
    step(z, t0 + 110);                        /* first DS submitted */
    int marked = 0;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t0 + 120, &marked), 0);
    /* the parent check saw the DS RRset served with TTL 3600 */
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PARENT_DS_TTL, 3600, "192.0.2.1:53", t0 + 120), 0);
    step(z, t0 + 1890);                       /* successor published */
    step(z, t0 + 2000);                       /* its DS submitted */
    int64_t seen = t0 + 2010;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, seen, &marked), 0);
    sg_roll_event ev = step(z, seen + 320);   /* the policy's wait alone: not yet */
    assert_int_equal(ev.action, SG_ROLL_SWITCH);
    assert_int_equal(ev.when, seen + 3600 + 20 + 1);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, seen + 320, 1), 1);
    /* the plan and the waits say what the wait rests on */
    sg_ks_policy p;
    assert_int_equal(sg_ks_policy_get(g_ks, "pobs", &p), 0);
    sg_roll_figures fig = FIG;
    assert_int_equal(sg_roll_figures_load(g_ks, z, seen, &fig), 0);
    assert_int_equal(fig.parent_ds_ttl, 3600);
    char text[1024];
    sg_roll_waits_text(&p, &fig, text, sizeof text);
    assert_non_null(strstr(text, "DS wait 3620s = parent DS TTL 3600s (observed at 192.0.2.1:53; policy 299s)"));
    /* the negative control of the tests: the engine told to trust the policy alone */
    setenv("SIGNET_ROLL_IGNORE_OBSERVED", "1", 1);
    sg_roll_figures blind = FIG;
    assert_int_equal(sg_roll_figures_load(g_ks, z, seen, &blind), 0);
    unsetenv("SIGNET_ROLL_IGNORE_OBSERVED");
    assert_int_equal(blind.parent_ds_ttl, 0);
    ev = step(z, seen + 3621);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, seen + 3621, 1), 1);
    /* a shorter observed TTL never shortens the policy's wait */
    const char *z2 = "obs2.test.";
    assert_int_equal(sg_ks_zone_add(g_ks, z2, "pobs", 0), 0);
    assert_int_equal(sg_ks_fact_observe(g_ks, z2, SG_KS_FACT_PARENT_DS_TTL, 5, "192.0.2.1:53", t0), 0);
    step(z2, t0);
    step(z2, t0 + 110);
    assert_int_equal(sg_roll_ds_seen(g_ks, z2, 0, t0 + 120, &marked), 0);
    step(z2, t0 + 1890);
    step(z2, t0 + 2000);
    assert_int_equal(sg_roll_ds_seen(g_ks, z2, 0, seen, &marked), 0);
    ev = step(z2, seen);
    assert_int_equal(ev.action, SG_ROLL_SWITCH);
    assert_int_equal(ev.when, seen + 320);
}

/* A served DNSKEY TTL above the policy's (the policy was lowered) lengthens Ipub. */
static void test_observed_dnskey_ttl(void **st)
{
    (void)st;
    const char *z = "obsk.test.";
    policy("pobsk", 0, 20000, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pobsk", 0), 0);
    int64_t t0 = 4000000;
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_DNSKEY_TTL, 500, "served DNSKEY RRset", t0), 0);
    sg_roll_event ev = step(z, t0);
    assert_int_equal(ev.action, SG_ROLL_SUBMIT_DS);
    assert_int_equal(ev.when, t0 + 500 + 10 + 1);
    /* and a zone served with a larger max TTL than the figures lengthens the ZSK's end */
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_ZONE_MAX_TTL, 7200, "served zone", t0), 0);
    step(z, t0 + 511);
    ev = step(z, t0 + 20000 - 511);            /* the ZSK successor, Ipub before its end */
    assert_int_equal(ev.action, SG_ROLL_SWITCH);
    assert_int_equal(ev.when, t0 + 20000);
    ev = step(z, t0 + 20000);
    assert_int_equal(ev.action, SG_ROLL_REMOVE);
    assert_int_equal(ev.when, t0 + 20000 + 7200 + 10 + 1);
}

/* A clock stepped back (faketime -40d): timing points "in the future" must not read as
 * keys never made. Nothing happens until time catches up; no second key signs. */
static void test_clock_stepped_back(void **st)
{
    (void)st;
    const char *z = "clock.test.";
    policy("pclock", 1, 0, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pclock", 0), 0);
    int64_t t0 = 5000000, back = t0 - 40 * 86400;
    step(z, t0);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0, 1), 1);
    sg_roll_event ev = step(z, back);
    assert_int_equal(ev.action, SG_ROLL_CLOCK);
    assert_true(ev.when >= t0);
    assert_non_null(strstr(ev.reason, "clock is behind"));
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    free(keys);
    assert_int_equal(n, 1);                   /* no key was made */
    assert_int_equal(sg_roll_start(g_ks, z, SG_KS_ROLE_CSK, back, NULL), SG_ETIMEOUT);
    /* a few seconds behind is another writer in the same moment, not a step */
    ev = step(z, t0 - 3);
    assert_int_not_equal(ev.action, SG_ROLL_CLOCK);
    /* time catches up: the engine goes on from where it was */
    ev = step(z, t0 + 200);
    assert_int_not_equal(ev.action, SG_ROLL_CLOCK);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0 + 200, 1), 1);
}

/* With secondaries to follow (transfer's NOTIFY targets), a wait after a change counts
 * from when they all served it, and nothing moves while one has not. */
static void test_secondaries_hold(void **st)
{
    (void)st;
    const char *z = "sec.test.";
    policy("psec", 0, 0, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "psec", 0), 0);
    int64_t t0 = 6000000;
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_SECONDARIES, 1, "transfer notify", t0), 0);
    sg_roll_event ev = step(z, t0);
    /* the first KSK's DS waits until the secondary serves the zone with the key */
    ev = step(z, t0 + 110);
    assert_int_equal(ev.action, SG_ROLL_WAIT);
    assert_non_null(strstr(ev.wait_reason, "waiting for every secondary (1)"));
    ev = step(z, t0 + 10000);
    assert_int_not_equal(ev.action, SG_ROLL_SUBMIT_DS);
    /* keys read in the same second as the key was made may predate it: does not count */
    assert_int_equal(sg_ks_propagation_add(g_ks, z, 1, t0, t0 + 20), 0);
    ev = step(z, t0 + 10000);
    assert_int_equal(ev.action, SG_ROLL_WAIT);
    /* serial 2 holds keys read a second later, served by the secondary from t0 + 300: the
     * DS goes its TTL after that; recorded again later, it keeps its first confirmation */
    assert_int_equal(sg_ks_propagation_add(g_ks, z, 2, t0 + 1, t0 + 300), 0);
    assert_int_equal(sg_ks_propagation_add(g_ks, z, 2, t0 + 290, t0 + 9000), 0);
    sg_ks_propagation pr[4];
    size_t npr;
    assert_int_equal(sg_ks_propagation_list(g_ks, z, pr, 4, &npr), 0);
    assert_int_equal(npr, 2);
    assert_int_equal(pr[0].serial, 2);
    assert_int_equal(pr[0].as_of, t0 + 290);
    assert_int_equal(pr[0].confirmed_at, t0 + 300);
    sg_roll_figures fig = FIG;
    assert_int_equal(sg_roll_figures_load(g_ks, z, t0 + 301, &fig), 0);
    assert_int_equal(fig.secondaries, 1);
    assert_int_equal(fig.nprop, 2);
    sg_ks_policy p;
    assert_int_equal(sg_ks_policy_get(g_ks, "psec", &p), 0);
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    sg_roll_next("", &p, keys, n, &fig, t0 + 301, &ev);
    free(keys);
    assert_int_equal(ev.action, SG_ROLL_SUBMIT_DS);
    assert_int_equal(ev.when, t0 + 300 + 99 + 1);
    /* the plan assumes the secondaries follow at once, as it assumes the parent does */
    sg_roll_event *evs;
    size_t nev;
    assert_int_equal(sg_roll_plan(g_ks, z, &FIG, t0 + 301, t0 + 20000, &evs, &nev), 0);
    assert_true(nev >= 1);
    assert_int_equal(evs[0].action, SG_ROLL_SUBMIT_DS);
    assert_int_equal(evs[0].when, t0 + 301);   /* due already, without the secondaries */
    free(evs);
    /* without the secondaries fact, the policy's figures alone */
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_SECONDARIES, 0, "transfer notify", t0 + 301), 0);
    assert_int_equal(sg_roll_figures_load(g_ks, z, t0 + 301, &fig), 0);
    assert_int_equal(fig.secondaries, 0);
}

/* Where a registrar checks the parent, the old CSK leaves only once every parent server
 * was seen without its DS, and the DS TTL after that (issue 13: the waits after a
 * withdrawal counted from the engine's own decision, not from the parent). */
static void test_withdrawn_ds_seen_gone(void **st)
{
    (void)st;
    const char *z = "wgone.test.";
    policy("pwgone", 1, 0, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pwgone", 0), 0);
    int64_t t0 = 7000000;
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PARENT_CHECKS, 1, "update", t0), 0);
    step(z, t0);
    step(z, t0 + 110);
    int marked = 0;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t0 + 120, &marked), 0);
    assert_int_equal(sg_roll_start(g_ks, z, SG_KS_ROLE_CSK, t0 + 1890, NULL), 0);
    step(z, t0 + 2000);
    int64_t seen = t0 + 2010;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, seen, &marked), 0);
    sg_roll_event ev = step(z, seen + 320);            /* switch: the old DS is withdrawn */
    assert_int_equal(count(z, SG_KS_ROLE_CSK, seen + 320, 1), 1);
    /* the parent still serves the old DS: no removal, however long */
    ev = step(z, seen + 320 + 100000);
    assert_int_equal(ev.action, SG_ROLL_WAIT);
    assert_non_null(strstr(ev.reason, "waiting for every parent server to drop the DS"));
    assert_int_equal(count(z, SG_KS_ROLE_CSK, seen + 320 + 100000, 0), 2);
    /* seen gone much later: removed the DS TTL + propagation after that */
    int64_t gone = seen + 320 + 100000;
    assert_int_equal(sg_roll_ds_withdrawn_gone(g_ks, z, gone, &marked), 0);
    assert_int_equal(marked, 1);
    ev = step(z, gone);
    assert_int_equal(ev.action, SG_ROLL_REMOVE);
    assert_int_equal(ev.when, gone + 320);
    step(z, gone + 320);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, gone + 320, 0), 1);
}

/* A zone with a long history (more than 64 keys, most of them removed long ago): a step
 * that changes every live key reaches keys past the 64th (the engine once kept which keys
 * changed in a 64-bit mask and went round in circles, changing none). */
static void test_long_history(void **st)
{
    (void)st;
    const char *z = "history.test.";
    policy("phist", 1, 0, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "phist", 0), 0);
    for (int i = 0; i < 70; i++) {
        sg_ks_key k;
        assert_int_equal(sg_ks_key_generate(g_ks, z, SG_KS_ROLE_CSK, 0, 0, 100 + i, &k), 0);
        k.publish = k.active = 100 + i;
        k.retire = k.remove = 200 + i;
        k.state = SG_KS_REMOVED;
        assert_int_equal(sg_ks_key_update(g_ks, &k, "history", 300), 0);
    }
    int64_t t0 = 8000000;
    step(z, t0);
    step(z, t0 + 110);
    int marked = 0;
    assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t0 + 200, &marked), 0);
    assert_int_equal(marked, 1);
    assert_int_equal(sg_roll_unsign(g_ks, z, t0 + 300), 0);
    sg_roll_event ev = step(z, t0 + 300);
    assert_int_equal(ev.action, SG_ROLL_WAIT);          /* for the parent to drop the DS */
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    assert_int_equal(n, 71);
    assert_int_equal(keys[70].ds_withdrawn, t0 + 300);
    free(keys);
    assert_int_equal(sg_roll_ds_gone(g_ks, z, t0 + 400), 0);
    step(z, t0 + 400 + 320);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0 + 720, 1), 0);
}

/* ---- the transition table, pure, on hand-made keys ---------------------------------- */

/* The test policy's figures, not stored: ipub 110, zsk_gone 610, ds_wait 320 with FIG. */
static sg_ks_policy table_policy(int csk, uint32_t zsk_life, uint32_t ksk_life)
{
    sg_ks_policy p;
    sg_ks_policy_defaults(&p, "table");
    p.csk = csk;
    p.zsk_lifetime = zsk_life;
    p.ksk_lifetime = ksk_life;
    p.dnskey_ttl = 99;
    p.zone_propagation_delay = 10;
    p.zone_max_ttl = 0;
    p.parent_ds_ttl = 299;
    p.parent_propagation_delay = 20;
    return p;
}

static sg_ks_key table_key(int64_t id, enum sg_ks_role role, uint8_t alg, int64_t publish,
                           int64_t active, enum sg_ks_key_state state)
{
    sg_ks_key k;
    memset(&k, 0, sizeof k);
    k.id = id;
    k.tag = (uint16_t)(1000 + id);
    k.role = role;
    k.algorithm = alg;
    k.publish = publish;
    k.active = active;
    k.state = state;
    return k;
}

static void assert_change(const sg_roll_change *c, int64_t key_id, enum sg_ks_role role,
                          unsigned points, enum sg_ks_key_state from, enum sg_ks_key_state to)
{
    assert_int_equal(c->key_id, key_id);
    assert_int_equal(c->role, role);
    assert_int_equal(c->points, points);
    assert_int_equal(c->from, from);
    assert_int_equal(c->to, to);
}

static void test_table_zsk_switch(void **st)
{
    (void)st;
    sg_ks_policy p = table_policy(0, 5000, 0);
    int64_t t = 10000;
    sg_ks_key keys[3] = {
        table_key(1, SG_KS_ROLE_KSK, p.algorithm, t - 9000, t - 9000, SG_KS_ACTIVE),
        table_key(2, SG_KS_ROLE_ZSK, p.algorithm, t - 9000, t - 9000, SG_KS_ACTIVE),
        table_key(3, SG_KS_ROLE_ZSK, p.algorithm, t - 110, 0, SG_KS_PUBLISHED),
    };
    keys[0].ds_submitted = keys[0].ds_seen = t - 8000;
    sg_roll_event ev;
    sg_roll_transition tr;
    /* a second before the successor has been published for Ipub: nothing due, and the
     * next time anything can change is that second */
    assert_int_equal(sg_roll_decide("", &p, keys, 3, &FIG, t - 1, &ev, &tr), 0);
    assert_int_equal(ev.action, SG_ROLL_SWITCH);
    assert_int_equal(ev.when, t);
    /* at that second: the successor signs, the old ZSK retires, nothing else */
    assert_int_equal(sg_roll_decide("", &p, keys, 3, &FIG, t, &ev, &tr), 1);
    assert_int_equal(tr.event.action, SG_ROLL_SWITCH);
    assert_int_equal(tr.event.when, t);
    assert_null(tr.zone_state);
    assert_int_equal(tr.n, 2);
    assert_change(&tr.change[0], 3, SG_KS_ROLE_ZSK, SG_ROLL_PT_ACTIVE, SG_KS_PUBLISHED, SG_KS_ACTIVE);
    assert_change(&tr.change[1], 2, SG_KS_ROLE_ZSK, SG_ROLL_PT_RETIRE, SG_KS_ACTIVE, SG_KS_RETIRED);
    /* made in memory, then asked again: the old ZSK's removal, after its signatures left */
    sg_roll_change_apply(&tr.change[0], t, &keys[2]);
    sg_roll_change_apply(&tr.change[1], t, &keys[1]);
    assert_int_equal(keys[2].active, t);
    assert_int_equal(keys[1].retire, t);
    assert_int_equal(sg_roll_decide("", &p, keys, 3, &FIG, t, &ev, &tr), 0);
    assert_int_equal(ev.action, SG_ROLL_REMOVE);
    assert_int_equal(ev.key_id, 2);
    assert_int_equal(ev.when, t + 610);
    assert_int_equal(sg_roll_decide("", &p, keys, 3, &FIG, t + 610, &ev, &tr), 1);
    assert_int_equal(tr.n, 1);
    assert_change(&tr.change[0], 2, SG_KS_ROLE_ZSK, SG_ROLL_PT_REMOVE, SG_KS_RETIRED, SG_KS_REMOVED);
}

static void test_table_csk(void **st)
{
    (void)st;
    sg_ks_policy p = table_policy(1, 0, 2000);
    int64_t t = 20000;
    /* no key: the first CSK is generated, published and signs at once */
    sg_roll_event ev;
    sg_roll_transition tr;
    assert_int_equal(sg_roll_decide(NULL, &p, NULL, 0, &FIG, t, &ev, &tr), 1);
    assert_int_equal(tr.event.action, SG_ROLL_INITIAL);
    assert_int_equal(tr.n, 1);
    assert_change(&tr.change[0], 0, SG_KS_ROLE_CSK, SG_ROLL_PT_PUBLISH | SG_ROLL_PT_ACTIVE,
                  SG_KS_GENERATED, SG_KS_ACTIVE);
    assert_int_equal(tr.change[0].algorithm, p.algorithm);
    /* a published successor that does not sign yet: its DS goes out, it is ready */
    sg_ks_key keys[2] = {
        table_key(7, SG_KS_ROLE_CSK, p.algorithm, t - 3000, t - 3000, SG_KS_ACTIVE),
        table_key(8, SG_KS_ROLE_CSK, p.algorithm, t - 200, 0, SG_KS_PUBLISHED),
    };
    keys[0].ds_submitted = keys[0].ds_seen = t - 2800;
    assert_int_equal(sg_roll_decide("", &p, keys, 2, &FIG, t, &ev, &tr), 1);
    assert_int_equal(tr.event.action, SG_ROLL_SUBMIT_DS);
    assert_int_equal(tr.n, 1);
    assert_change(&tr.change[0], 8, SG_KS_ROLE_CSK, SG_ROLL_PT_DS_SUBMITTED, SG_KS_PUBLISHED, SG_KS_READY);
    sg_roll_change_apply(&tr.change[0], t, &keys[1]);
    /* the parent serves it: after the DS wait it signs, and the old CSK retires with its
     * DS withdrawn */
    keys[1].ds_seen = t + 5;
    assert_int_equal(sg_roll_decide("", &p, keys, 2, &FIG, t + 5 + 320, &ev, &tr), 1);
    assert_int_equal(tr.event.action, SG_ROLL_SWITCH);
    assert_int_equal(tr.n, 2);
    assert_change(&tr.change[0], 8, SG_KS_ROLE_CSK, SG_ROLL_PT_ACTIVE, SG_KS_READY, SG_KS_ACTIVE);
    assert_change(&tr.change[1], 7, SG_KS_ROLE_CSK, SG_ROLL_PT_RETIRE | SG_ROLL_PT_DS_WITHDRAWN,
                  SG_KS_ACTIVE, SG_KS_RETIRED);
    /* what is not a change has no row; a key that is not there is not found */
    sg_roll_event wait = { .action = SG_ROLL_WAIT };
    assert_int_equal(sg_roll_transition_of(&p, keys, 2, &wait, t, &tr), SG_EINVAL);
    sg_roll_event gone = { .action = SG_ROLL_REMOVE, .key_id = 99 };
    assert_int_equal(sg_roll_transition_of(&p, keys, 2, &gone, t, &tr), SG_ENOTFOUND);
}

static void test_table_algorithm_and_unsign(void **st)
{
    (void)st;
    sg_ks_policy p = table_policy(0, 0, 0);
    p.algorithm = SG_KS_ALG_ED25519;
    int64_t t = 30000;
    sg_ks_key keys[2] = {
        table_key(1, SG_KS_ROLE_KSK, SG_KS_ALG_ECDSAP256SHA256, t - 900, t - 900, SG_KS_ACTIVE),
        table_key(2, SG_KS_ROLE_ZSK, SG_KS_ALG_ECDSAP256SHA256, t - 900, t - 900, SG_KS_ACTIVE),
    };
    keys[0].ds_submitted = keys[0].ds_seen = t - 700;
    /* the policy names another algorithm: a KSK and a ZSK of it sign, unpublished */
    sg_roll_event ev;
    sg_roll_transition tr;
    assert_int_equal(sg_roll_decide("", &p, keys, 2, &FIG, t, &ev, &tr), 1);
    assert_int_equal(tr.event.action, SG_ROLL_ALG_START);
    assert_int_equal(tr.n, 2);
    assert_change(&tr.change[0], 0, SG_KS_ROLE_KSK, SG_ROLL_PT_ACTIVE, SG_KS_GENERATED, SG_KS_ACTIVE);
    assert_change(&tr.change[1], 0, SG_KS_ROLE_ZSK, SG_ROLL_PT_ACTIVE, SG_KS_GENERATED, SG_KS_ACTIVE);
    assert_int_equal(tr.change[0].algorithm, SG_KS_ALG_ED25519);
    /* going insecure instead: every DS is withdrawn (the KSK's; a ZSK has none) */
    p.algorithm = SG_KS_ALG_ECDSAP256SHA256;
    assert_int_equal(sg_roll_decide(SG_ROLL_STATE_UNSIGNING, &p, keys, 2, &FIG, t, &ev, &tr), 1);
    assert_int_equal(tr.event.action, SG_ROLL_UNSIGN_WITHDRAW);
    assert_int_equal(tr.n, 1);
    assert_change(&tr.change[0], 1, SG_KS_ROLE_KSK, SG_ROLL_PT_DS_WITHDRAWN, SG_KS_ACTIVE, SG_KS_ACTIVE);
    sg_roll_change_apply(&tr.change[0], t, &keys[0]);
    /* the parent dropped it at t + 50: once its DS TTL has passed, every key goes, and
     * the zone is unsigned */
    char state[64];
    snprintf(state, sizeof state, "%s@%lld", SG_ROLL_STATE_DS_GONE, (long long)(t + 50));
    assert_int_equal(sg_roll_decide(state, &p, keys, 2, &FIG, t + 50 + 319, &ev, &tr), 0);
    assert_int_equal(ev.action, SG_ROLL_UNSIGN_FINISH);
    assert_int_equal(ev.when, t + 50 + 320);
    assert_int_equal(sg_roll_decide(state, &p, keys, 2, &FIG, t + 50 + 320, &ev, &tr), 1);
    assert_string_equal(tr.zone_state, SG_ROLL_STATE_UNSIGNED);
    assert_int_equal(tr.n, 2);
    assert_change(&tr.change[0], 1, SG_KS_ROLE_KSK, SG_ROLL_PT_RETIRE | SG_ROLL_PT_REMOVE,
                  SG_KS_ACTIVE, SG_KS_REMOVED);
    assert_change(&tr.change[1], 2, SG_KS_ROLE_ZSK, SG_ROLL_PT_RETIRE | SG_ROLL_PT_REMOVE,
                  SG_KS_ACTIVE, SG_KS_REMOVED);
}

/* ---- the plan cannot drift from the engine ------------------------------------------ */

/* One key's change as the journal records it. */
typedef struct row {
    int64_t time, key;
    char from[16], to[16];
} row;

static int parent_row(const sg_ks_event *e)
{
    return !strcmp(e->reason, "the parent serves the DS") ||
           !strcmp(e->reason, "the parent no longer serves the withdrawn DS");
}

/* The journal rows of zone's key changes after the first `skip` events: state changes of
 * keys, without the generation rows and what the registrar marked. *rows freed by free(). */
static size_t engine_rows(const char *zone, size_t skip, row **rows)
{
    sg_ks_event *evs;
    size_t ne, m = 0;
    assert_int_equal(sg_ks_event_list(g_ks, zone, &evs, &ne), 0);
    *rows = calloc(ne + 1, sizeof **rows);
    assert_non_null(*rows);
    for (size_t i = skip; i < ne; i++) {
        const sg_ks_event *e = &evs[i];
        if (!e->key_id || !e->old_state[0] || parent_row(e))
            continue;
        row *r = &(*rows)[m++];
        r->time = e->time;
        r->key = e->key_id;
        snprintf(r->from, sizeof r->from, "%s", e->old_state);
        snprintf(r->to, sizeof r->to, "%s", e->new_state);
    }
    free(evs);
    return m;
}

static size_t journal_length(const char *zone)
{
    sg_ks_event *evs;
    size_t ne;
    assert_int_equal(sg_ks_event_list(g_ks, zone, &evs, &ne), 0);
    free(evs);
    return ne;
}

static int plan_has(const sg_roll_transition *trs, size_t n, enum sg_roll_action a)
{
    for (size_t i = 0; i < n; i++)
        if (trs[i].event.action == a)
            return 1;
    return 0;
}

/* Plan zone from t to until, then run the engine at each next event it names, a registrar
 * telling it at once what it waits for at the parent (the DS is served; a withdrawn DS is
 * gone), and check that what the engine wrote is the plan: the same changes of the same
 * keys from the same state to the same state at the same times, in the same order. Keys
 * the plan generated (negative ids) must be keys the engine generated, one for one.
 * Checks that the plan holds every action of want (ended by SG_ROLL_NONE). */
static void engine_follows_plan(const char *z, int64_t t, int64_t until, const enum sg_roll_action *want)
{
    sg_roll_transition *trs;
    size_t ntr;
    assert_int_equal(sg_roll_plan_transitions(g_ks, z, &FIG, t, until, &trs, &ntr), 0);
    for (; *want != SG_ROLL_NONE; want++)
        if (!plan_has(trs, ntr, *want))
            fail_msg("the plan of %s has no '%s'", z, sg_roll_action_name(*want));
    size_t skip = journal_length(z);
    for (int guard = 0; guard < 1000; guard++) {
        sg_roll_event ev = step(z, t);
        int seen = 0, gone = 0;
        if (ev.action == SG_ROLL_WAIT || ev.wait_key_id) {
            assert_int_equal(sg_roll_ds_seen(g_ks, z, ev.wait_key_id, t, &seen), 0);
            assert_int_equal(sg_roll_ds_withdrawn_gone(g_ks, z, t, &gone), 0);
        }
        if (seen || gone)
            continue; /* the engine decides again at the same moment */
        if (ev.action == SG_ROLL_NONE || ev.action == SG_ROLL_WAIT || ev.when > until)
            break;
        t = ev.when;
    }
    row *rows;
    size_t nrows = engine_rows(z, skip, &rows), k = 0;
    int64_t made[64] = { 0 }; /* made[-id - 1]: the engine's key for the plan's new key id */
    for (size_t i = 0; i < ntr; i++) {
        for (size_t j = 0; j < trs[i].n; j++, k++) {
            const sg_roll_change *c = &trs[i].change[j];
            if (k >= nrows)
                fail_msg("%s: the plan's '%s' at %lld was not done", z,
                         sg_roll_action_name(trs[i].event.action), (long long)trs[i].event.when);
            const row *r = &rows[k];
            int64_t key = c->key_id;
            if (key < 0) {
                assert_true(-key <= 64);
                if (!made[-key - 1])
                    made[-key - 1] = r->key;
                key = made[-key - 1];
            }
            if (r->time != trs[i].event.when || r->key != key ||
                strcmp(r->from, sg_ks_state_name(c->from)) || strcmp(r->to, sg_ks_state_name(c->to)))
                fail_msg("%s: '%s' planned at %lld: key %lld %s -> %s; done at %lld: key %lld %s -> %s", z,
                         sg_roll_action_name(trs[i].event.action), (long long)trs[i].event.when,
                         (long long)key, sg_ks_state_name(c->from), sg_ks_state_name(c->to),
                         (long long)r->time, (long long)r->key, r->from, r->to);
        }
    }
    if (k != nrows)
        fail_msg("%s: the engine made %zu changes, the plan %zu", z, nrows, k);
    /* and every timing point the plan set is the one the engine stored (no point is set
     * twice) */
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    for (size_t i = 0; i < ntr; i++) {
        for (size_t j = 0; j < trs[i].n; j++) {
            const sg_roll_change *c = &trs[i].change[j];
            int64_t id = c->key_id < 0 ? made[-c->key_id - 1] : c->key_id;
            const sg_ks_key *key = NULL;
            for (size_t m = 0; m < n; m++)
                if (keys[m].id == id)
                    key = &keys[m];
            assert_non_null(key);
            int64_t at = trs[i].event.when;
            assert_true(!(c->points & SG_ROLL_PT_PUBLISH) || key->publish == at);
            assert_true(!(c->points & SG_ROLL_PT_ACTIVE) || key->active == at);
            assert_true(!(c->points & SG_ROLL_PT_RETIRE) || key->retire == at);
            assert_true(!(c->points & SG_ROLL_PT_REMOVE) || key->remove == at);
            assert_true(!(c->points & SG_ROLL_PT_DS_SUBMITTED) || key->ds_submitted == at);
            assert_true(!(c->points & SG_ROLL_PT_DS_WITHDRAWN) || key->ds_withdrawn == at);
        }
    }
    free(keys);
    /* a new key of the plan is a different new key of the engine each time */
    for (int a = 0; a < 64 && made[a]; a++)
        for (int b = a + 1; b < 64 && made[b]; b++)
            assert_int_not_equal(made[a], made[b]);
    assert_true(nrows >= 8);
    free(rows);
    free(trs);
}

static void test_plan_cannot_drift(void **st)
{
    (void)st;
    /* ZSK pre-publication, three rollovers */
    policy("pdzsk", 0, 1000, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, "dzsk.test.", "pdzsk", 0), 0);
    const enum sg_roll_action zsk[] = { SG_ROLL_INITIAL, SG_ROLL_SUBMIT_DS, SG_ROLL_PREPUBLISH,
                                        SG_ROLL_SWITCH, SG_ROLL_REMOVE, SG_ROLL_NONE };
    engine_follows_plan("dzsk.test.", 9000000, 9000000 + 8000, zsk); /* 8 rollovers */

    /* KSK double-KSK: the successor's DNSKEY, then its DS, then the switch */
    policy("pdksk", 0, 0, 2000);
    assert_int_equal(sg_ks_zone_add(g_ks, "dksk.test.", "pdksk", 0), 0);
    engine_follows_plan("dksk.test.", 9100000, 9100000 + 7000, zsk);

    /* KSK double-DS: the successor's DS, then the DNSKEY swap, then the old DS out */
    sg_ks_policy p;
    policy("pddds", 0, 0, 2000);
    assert_int_equal(sg_ks_policy_get(g_ks, "pddds", &p), 0);
    p.ksk_double_ds = 1;
    assert_int_equal(sg_ks_policy_update(g_ks, &p, 0), 0);
    assert_int_equal(sg_ks_zone_add(g_ks, "ddds.test.", "pddds", 0), 0);
    const enum sg_roll_action dds[] = { SG_ROLL_PRE_DS, SG_ROLL_SWAP, SG_ROLL_OLD_DS_OUT, SG_ROLL_NONE };
    engine_follows_plan("ddds.test.", 9200000, 9200000 + 7000, dds);

    /* CSK, with a registrar that checks the parent: the old key goes once the parent was
     * seen without its DS */
    policy("pdcsk", 1, 0, 2000);
    assert_int_equal(sg_ks_zone_add(g_ks, "dcsk.test.", "pdcsk", 0), 0);
    assert_int_equal(sg_ks_fact_observe(g_ks, "dcsk.test.", SG_KS_FACT_PARENT_CHECKS, 1, "update", 9300000), 0);
    const enum sg_roll_action csk[] = { SG_ROLL_INITIAL, SG_ROLL_PREPUBLISH, SG_ROLL_SUBMIT_DS,
                                        SG_ROLL_SWITCH, SG_ROLL_REMOVE, SG_ROLL_NONE };
    engine_follows_plan("dcsk.test.", 9300000, 9300000 + 7000, csk);

    /* algorithm rollover of a KSK + ZSK zone, planned once the policy names Ed25519 */
    policy("pdalg", 0, 0, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, "dalg.test.", "pdalg", 0), 0);
    int64_t t0 = 9400000, t1 = t0 + 1000;
    step("dalg.test.", t0);
    step("dalg.test.", t0 + 110);
    int marked;
    assert_int_equal(sg_roll_ds_seen(g_ks, "dalg.test.", 0, t0 + 200, &marked), 0);
    assert_int_equal(sg_ks_policy_get(g_ks, "pdalg", &p), 0);
    p.algorithm = SG_KS_ALG_ED25519;
    assert_int_equal(sg_ks_policy_update(g_ks, &p, t1), 0);
    const enum sg_roll_action alg[] = { SG_ROLL_ALG_START, SG_ROLL_ALG_PUBLISH, SG_ROLL_SUBMIT_DS,
                                        SG_ROLL_ALG_WITHDRAW, SG_ROLL_ALG_UNPUBLISH, SG_ROLL_ALG_RETIRE,
                                        SG_ROLL_NONE };
    engine_follows_plan("dalg.test.", t1, t1 + 10000, alg);
    assert_int_equal(count_alg("dalg.test.", SG_KS_ALG_ED25519, t1 + 10000, 1), 2);
    assert_int_equal(count_alg("dalg.test.", SG_KS_ALG_ECDSAP256SHA256, t1 + 10000, 0), 0);
}


/* A public-only key (another signer's, RFC 8901; imported without its private half): it is
 * not the zone's signing key, so the engine makes one of its own, and in a year of
 * rollovers never retires, removes or rolls it. `ds seen` of a DS the parent already
 * serves for an imported key that Signet never submitted records it submitted and seen. */
/* Multi-signer (RFC 8901): while a peer signer is configured, a successor ZSK signs only
 * once the peer serves it, the larger of our Ipub and the peer's DNSKEY TTL after; the
 * peer's keys (public-only, marked foreign) never sign and are never rolled. */
static void test_multi_signer_peer_holds_zsk(void **st)
{
    (void)st;
    const char *z = "ms.test.";
    policy("pms", 0, 0, 0);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "pms", 0), 0);
    int64_t t0 = 7000000;
    step(z, t0);
    /* the peer's ZSK, marked foreign; our own key cannot be */
    EVP_PKEY *pk = NULL;
    uint8_t pub[SG_KS_PUBKEY_MAX], rd[SG_KS_RDATA_MAX];
    size_t pl, rl;
    assert_int_equal(sg_ks_pkey_generate(SG_KS_ALG_ECDSAP256SHA256, 0, &pk), 0);
    assert_int_equal(sg_ks_pkey_to_dnskey(pk, SG_KS_ALG_ECDSAP256SHA256, pub, sizeof pub, &pl), 0);
    EVP_PKEY_free(pk);
    assert_int_equal(sg_ks_dnskey_rdata(256, SG_KS_ALG_ECDSAP256SHA256, pub, pl, rd, sizeof rd, &rl), 0);
    sg_ks_key peer;
    assert_int_equal(sg_ks_key_import_public(g_ks, z, rd, rl, -1, NULL, t0, &peer), 0);
    assert_false(sg_ks_key_foreign(&peer));
    assert_int_equal(sg_ks_key_mark_foreign(g_ks, peer.id, "127.0.0.1:53", t0), 0);
    assert_int_equal(sg_ks_key_get(g_ks, peer.id, &peer), 0);
    assert_true(sg_ks_key_foreign(&peer));
    assert_true(sg_ks_key_public_only(&peer));
    EVP_PKEY *none = NULL;
    assert_int_equal(sg_ks_key_load_private(g_ks, peer.id, &none), SG_ENOTFOUND);
    sg_ks_key *keys;
    size_t n;
    assert_int_equal(sg_ks_key_list(g_ks, z, &keys, &n), 0);
    int64_t own = 0;
    for (size_t i = 0; i < n; i++)
        if (!sg_ks_key_public_only(&keys[i]))
            own = keys[i].id;
    free(keys);
    assert_int_equal(sg_ks_key_mark_foreign(g_ks, own, "x", t0), SG_EINVAL);

    /* a peer is configured: our successor ZSK waits for it, however long */
    int64_t t1 = t0 + 1000;
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PEERS, 1, "127.0.0.1:53", t1), 0);
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PEER_DNSKEY_TTL, 300, "127.0.0.1:53", t1), 0);
    int64_t succ_id;
    assert_int_equal(sg_roll_start(g_ks, z, SG_KS_ROLE_ZSK, t1, &succ_id), 0);
    sg_ks_key succ;
    assert_int_equal(sg_ks_key_get(g_ks, succ_id, &succ), 0);
    sg_roll_event ev = step(z, t1 + 5000);
    assert_int_equal(ev.action, SG_ROLL_WAIT);
    assert_non_null(strstr(ev.wait_reason, "multi-signer peer"));
    assert_int_equal(sg_ks_key_get(g_ks, succ_id, &succ), 0);
    assert_int_equal(succ.active, 0);
    assert_int_equal(count(z, SG_KS_ROLE_ZSK, t1 + 5000, 1), 1);
    /* the peer serves it from t2: it signs after the peer's DNSKEY TTL (300 + 10 + 1 >
     * our Ipub 110), not before */
    int64_t t2 = t1 + 6000;
    assert_int_equal(sg_ks_peer_seen(g_ks, z, succ.tag, 1, "127.0.0.1:53", t2), 0);
    sg_ks_peer_seen_key seen[4];
    size_t ns;
    assert_int_equal(sg_ks_peer_seen_list(g_ks, z, seen, 4, &ns), 0);
    assert_int_equal(ns, 1);
    assert_int_equal(seen[0].tag, succ.tag);
    assert_int_equal(seen[0].since, t2);
    step(z, t2 + 310);
    assert_int_equal(sg_ks_key_get(g_ks, succ_id, &succ), 0);
    assert_int_equal(succ.active, 0);
    step(z, t2 + 311);
    assert_int_equal(sg_ks_key_get(g_ks, succ_id, &succ), 0);
    assert_int_equal(succ.active, t2 + 311);
    assert_int_equal(count(z, SG_KS_ROLE_ZSK, t2 + 311, 1), 1);
    /* the peer's key never signed and was never rolled */
    assert_int_equal(sg_ks_key_get(g_ks, peer.id, &peer), 0);
    assert_int_equal(peer.active, 0);
    assert_int_equal(peer.retire, 0);

    /* no peer any more: the next successor signs after our Ipub alone */
    int64_t t3 = t2 + 5000;
    assert_int_equal(sg_ks_fact_observe(g_ks, z, SG_KS_FACT_PEERS, 0, "127.0.0.1:53", t3), 0);
    assert_int_equal(sg_roll_start(g_ks, z, SG_KS_ROLE_ZSK, t3, &succ_id), 0);
    step(z, t3 + 110);
    assert_int_equal(sg_ks_key_get(g_ks, succ_id, &succ), 0);
    assert_int_equal(succ.active, t3 + 110);
}

static void test_public_only_and_ds_at_parent(void **st)
{
    (void)st;
    const char *z = "pub.test.";
    policy("ppub", 1, 0, 30 * 86400);
    assert_int_equal(sg_ks_zone_add(g_ks, z, "ppub", 0), 0);
    EVP_PKEY *pk = NULL;
    uint8_t pub[SG_KS_PUBKEY_MAX], rd[SG_KS_RDATA_MAX];
    size_t pl, rl;
    assert_int_equal(sg_ks_pkey_generate(SG_KS_ALG_ED25519, 0, &pk), 0);
    assert_int_equal(sg_ks_pkey_to_dnskey(pk, SG_KS_ALG_ED25519, pub, sizeof pub, &pl), 0);
    EVP_PKEY_free(pk);
    assert_int_equal(sg_ks_dnskey_rdata(257, SG_KS_ALG_ED25519, pub, pl, rd, sizeof rd, &rl), 0);
    int64_t t0 = 5000000;
    sg_ks_key other;
    assert_int_equal(sg_ks_key_import_public(g_ks, z, rd, rl, -1, NULL, t0, &other), 0);
    assert_true(sg_ks_key_public_only(&other));
    assert_int_equal(other.role, SG_KS_ROLE_KSK);
    assert_int_equal(other.publish, t0);
    assert_int_equal(other.active, 0);
    EVP_PKEY *none = NULL;
    assert_int_equal(sg_ks_key_load_private(g_ks, other.id, &none), SG_ENOTFOUND);
    /* not the zone's key: our own CSK is made at once; no algorithm rollover for its ED25519 */
    sg_roll_event ev = step(z, t0);
    assert_int_equal(count(z, SG_KS_ROLE_CSK, t0, 1), 1);
    for (int64_t t = t0; t < t0 + 365 * 86400; t += 3600) {
        ev = step(z, t);
        assert_int_not_equal(ev.action, SG_ROLL_ALG_START);
        if (ev.action == SG_ROLL_WAIT && strstr(ev.wait_reason, "parent"))
            assert_int_equal(sg_roll_ds_seen(g_ks, z, 0, t, NULL), 0);
    }
    sg_ks_key k;
    assert_int_equal(sg_ks_key_get(g_ks, other.id, &k), 0);
    assert_int_equal(k.retire, 0);
    assert_int_equal(k.remove, 0);
    assert_int_equal(k.active, 0);
    assert_true(count(z, SG_KS_ROLE_CSK, t0 + 365 * 86400, 0) >= 1);
    /* a key whose DS the parent serves though Signet never submitted it */
    assert_int_equal(k.ds_submitted, 0);
    int marked = 0;
    assert_int_equal(sg_roll_ds_at_parent(g_ks, z, other.id, "operator", t0 + 400 * 86400, &marked), 0);
    assert_int_equal(marked, 1);
    assert_int_equal(sg_ks_key_get(g_ks, other.id, &k), 0);
    assert_int_equal(k.ds_submitted, t0 + 400 * 86400);
    assert_int_equal(k.ds_seen, t0 + 400 * 86400);
    assert_true(sg_ks_key_in_ds_set(&k, t0 + 400 * 86400));
    /* without a key named, never a key that does not sign (a successor on its way) */
    assert_int_equal(sg_roll_ds_at_parent(g_ks, z, 0, "operator", t0 + 400 * 86400, &marked), 0);
    sg_ks_key *all;
    size_t na;
    assert_int_equal(sg_ks_key_list(g_ks, z, &all, &na), 0);
    for (size_t i = 0; i < na; i++)
        if (!all[i].active)
            assert_true(all[i].ds_seen == 0 || all[i].id == other.id);
    free(all);
    /* a ZSK has no DS */
    sg_ks_key zsk;
    assert_int_equal(sg_ks_key_generate(g_ks, z, SG_KS_ROLE_ZSK, 0, 0, t0, &zsk), 0);
    assert_int_equal(sg_roll_ds_at_parent(g_ks, z, zsk.id, "operator", t0, NULL), SG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zsk_prepublication),
        cmocka_unit_test(test_csk_waits_for_parent),
        cmocka_unit_test(test_plan_matches_engine),
        cmocka_unit_test(test_algorithm_rollover),
        cmocka_unit_test(test_unsign),
        cmocka_unit_test(test_double_ds),
        cmocka_unit_test(test_fact_decay),
        cmocka_unit_test(test_observed_ds_ttl_rules),
        cmocka_unit_test(test_observed_dnskey_ttl),
        cmocka_unit_test(test_clock_stepped_back),
        cmocka_unit_test(test_secondaries_hold),
        cmocka_unit_test(test_withdrawn_ds_seen_gone),
        cmocka_unit_test(test_long_history),
        cmocka_unit_test(test_table_zsk_switch),
        cmocka_unit_test(test_table_csk),
        cmocka_unit_test(test_table_algorithm_and_unsign),
        cmocka_unit_test(test_plan_cannot_drift),
        cmocka_unit_test(test_public_only_and_ds_at_parent),
        cmocka_unit_test(test_multi_signer_peer_holds_zsk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
