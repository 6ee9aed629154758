/* SPDX-License-Identifier: MIT */
/* The rollover engine on a simulated clock: ZSK pre-publication, CSK/KSK rollovers that
 * wait for the parent, removal after caches expire, plan == what the engine then does. */
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
